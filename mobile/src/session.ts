// Who is signed in, kept across reloads; the access token refreshes itself when it expires.
import { reactive } from 'vue'

export interface Session {
  enterpriseCode: string
  enterpriseName: string
  accessToken: string
  refreshToken: string
  accessExpiresAt: number
}

const KEY = 'yunyin.session'

function load(): Partial<Session> {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Session>
  } catch {
    return {}
  }
}

export const session = reactive<Partial<Session>>(load())

export function save(patch: Partial<Session>) {
  Object.assign(session, patch)
  localStorage.setItem(KEY, JSON.stringify(session))
}

export function signOut() {
  const code = session.enterpriseCode
  const name = session.enterpriseName
  for (const k of Object.keys(session)) delete (session as Record<string, unknown>)[k]
  save({ enterpriseCode: code, enterpriseName: name })
}

export const signedIn = () => Boolean(session.accessToken)
