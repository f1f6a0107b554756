// The admin console's API client: the same generated client as the user app, with the admin's
// tokens. Refresh and sign-out are shared with users under /sessions.
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from '../../../openapi/client/schema'
import { lang } from '../i18n'
import { adminSession, forgetAdmin, saveAdmin } from './session'

export type Schemas = components['schemas']

const bare = createClient<paths>({ baseUrl: '' })
let refreshing: Promise<boolean> | null = null

async function refresh(): Promise<boolean> {
  const refreshToken = adminSession.refreshToken
  if (!refreshToken) return false
  refreshing ??= bare
    .POST('/api/v1/sessions/refresh', { body: { refresh_token: refreshToken } })
    .then(({ data }) => {
      if (!data) return false
      saveAdmin({ accessToken: data.access_token, refreshToken: data.refresh_token, accessExpiresAt: data.access_expires_at })
      return true
    })
    .finally(() => (refreshing = null))
  return refreshing
}

/** A valid access token, refreshed first when it is about to expire. */
export async function adminToken(): Promise<string | undefined> {
  if (adminSession.accessToken && (adminSession.accessExpiresAt ?? 0) - Date.now() < 30_000) {
    if (!(await refresh())) forgetAdmin()
  }
  return adminSession.accessToken
}

const auth: Middleware = {
  async onRequest({ request }) {
    const t = await adminToken()
    if (t) request.headers.set('authorization', `Bearer ${t}`)
    request.headers.set('accept-language', lang.value)
    return request
  },
  async onResponse({ response }) {
    // A revoked session (signed out everywhere, password reset by an upper admin) ends here.
    if (response.status === 401) forgetAdmin()
    return response
  },
}

export const adminApi = createClient<paths>({ baseUrl: '' })
adminApi.use(auth)

/** The message of an API error (already in the admin's language: the server localises it). */
export function errorText(error: unknown): string {
  const e = error as { message?: string; code?: string } | undefined
  return e?.message ?? String(error)
}

/** A binary resource the API guards with the bearer token (QR codes, sticker sheets), as an object URL. */
export async function blobUrl(path: string): Promise<string | undefined> {
  const t = await adminToken()
  const r = await fetch(path, { headers: t ? { authorization: `Bearer ${t}`, 'accept-language': lang.value } : {} })
  return r.ok ? URL.createObjectURL(await r.blob()) : undefined
}
