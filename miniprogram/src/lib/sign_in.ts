// WeChat sign-in: a `wx.login` code for a session. A returning user is signed in by the code
// alone; a new one first chooses the enterprise, then registers with the token they get.
import { call, remember, type Schemas } from './api'
import { config } from '../config'
import { save, session } from './session'
import { loginCode } from './wechat'

export type SignInOutcome =
  | { kind: 'signed_in' }
  | { kind: 'registration_required'; registrationToken: string }
  | { kind: 'choose_enterprise' }

/**
 * Signs in with a fresh `wx.login` code, under `enterprise` when given (a new user's choice) or
 * else the one remembered on this phone, if any.
 */
export async function signInWithWechat(enterprise?: { code: string; name: string }): Promise<SignInOutcome> {
  const remembered = session()
  const chosen = enterprise ?? (remembered.enterpriseCode
    ? { code: remembered.enterpriseCode, name: remembered.enterpriseName ?? '' }
    : undefined)
  const answer = await call('post', '/api/v1/sessions/wechat-mini-program', {
    body: { app_id: config.appId, code: await loginCode(), enterprise_code: chosen?.code ?? null },
  })
  switch (answer.status) {
    case 'signed_in':
      remember(answer as Schemas['UserSession'], chosen)
      // Signed in by the code alone (a new phone): learn which enterprise, for the pages.
      if (!chosen) await rememberEnterprise()
      return { kind: 'signed_in' }
    case 'registration_required':
      return { kind: 'registration_required', registrationToken: answer.registration_token }
    default:
      return { kind: 'choose_enterprise' }
  }
}


async function rememberEnterprise(): Promise<void> {
  try {
    const e = await call('get', '/api/v1/directory/my-enterprise')
    save({ enterpriseCode: e.code, enterpriseName: e.name })
  } catch {
    // Only a name on the "me" page is missing; the session works.
  }
}
