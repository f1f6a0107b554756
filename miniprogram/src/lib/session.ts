// Who is signed in, kept in the mini-program's storage across launches.

export interface Session {
  enterpriseCode: string
  enterpriseName: string
  accessToken: string
  refreshToken: string
  /** Epoch ms. */
  accessExpiresAt: number
}

const KEY = 'yunyin.session'

export function session(): Partial<Session> {
  const stored = wx.getStorageSync(KEY) as Partial<Session> | ''
  return stored || {}
}

export function save(patch: Partial<Session>): void {
  wx.setStorageSync(KEY, { ...session(), ...patch })
}

/** Forgets the tokens; the enterprise stays, so the next sign-in needs no choosing. */
export function signOut(): void {
  const { enterpriseCode, enterpriseName } = session()
  wx.setStorageSync(KEY, { enterpriseCode, enterpriseName })
}

export const signedIn = (): boolean => Boolean(session().accessToken)
