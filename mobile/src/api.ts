// Every API call goes through the client generated from openapi/openapi.json
// (`npm run gen:api`). Three kinds of transfer cannot: uploads (XMLHttpRequest, for progress
// events), thumbnails (binary, as object URLs) and the event stream (read as it arrives).
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from '../../openapi/client/schema'
import { lang } from './i18n'
import { save, session, signOut } from './session'

export type Schemas = components['schemas']
export type Job = Schemas['JobView']
export type Scan = Schemas['ScanRecordView']

let refreshing: Promise<boolean> | null = null

// Refreshing must not go through the auth middleware (it would wait on itself).
const bare = createClient<paths>({ baseUrl: '' })

async function refresh(): Promise<boolean> {
  const refreshToken = session.refreshToken
  if (!refreshToken) return false
  refreshing ??= bare
    .POST('/api/v1/sessions/refresh', { body: { refresh_token: refreshToken } })
    .then(({ data }) => {
      if (!data) return false
      save({ accessToken: data.access_token, refreshToken: data.refresh_token, accessExpiresAt: data.access_expires_at })
      return true
    })
    .finally(() => (refreshing = null))
  return refreshing
}

export function remember(s: Schemas['UserSession']) {
  save({
    accessToken: s.tokens.access_token,
    refreshToken: s.tokens.refresh_token,
    accessExpiresAt: s.tokens.access_expires_at,
  })
}

/** A valid access token, refreshed first when it is about to expire. */
export async function token(): Promise<string | undefined> {
  if (session.accessToken && (session.accessExpiresAt ?? 0) - Date.now() < 30_000) {
    if (!(await refresh())) signOut()
  }
  return session.accessToken
}

const auth: Middleware = {
  async onRequest({ request }) {
    const t = await token()
    if (t) request.headers.set('authorization', `Bearer ${t}`)
    request.headers.set('accept-language', lang.value)
    return request
  },
}

export const api = createClient<paths>({ baseUrl: '' })
api.use(auth)

/** The message of an API error, in the user's language. */
export function message(error: unknown): string {
  const e = error as { message?: string } | undefined
  return e?.message ?? String(error)
}

/** Uploads a file as a raw body, reporting progress (0-100). */
export async function upload(file: File, onProgress: (percent: number) => void): Promise<Job> {
  const t = await token()
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', `/api/v1/jobs?file_name=${encodeURIComponent(file.name)}`)
    if (t) xhr.setRequestHeader('authorization', `Bearer ${t}`)
    xhr.setRequestHeader('accept-language', lang.value)
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(Math.round((e.loaded / e.total) * 100))
    xhr.onload = () => {
      const body = JSON.parse(xhr.responseText || '{}')
      if (xhr.status === 201) resolve(body as Job)
      else reject(body)
    }
    xhr.onerror = () => reject({ message: 'network error' })
    xhr.send(file)
  })
}

/** An authenticated image (thumbnails need the bearer token) as an object URL. */
export async function imageUrl(path: string): Promise<string | undefined> {
  const t = await token()
  const r = await fetch(path, { headers: t ? { authorization: `Bearer ${t}` } : {} })
  return r.ok ? URL.createObjectURL(await r.blob()) : undefined
}

/** A file the API guards with the bearer token, as a blob; or the server's error message. */
export async function fetchBlob(path: string): Promise<{ blob?: Blob; error?: string }> {
  const t = await token()
  const r = await fetch(path, { headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), 'accept-language': lang.value } })
  if (r.ok) return { blob: await r.blob() }
  const body = await r.json().catch(() => ({ message: r.statusText }))
  return { error: message(body) }
}

/** The user's live events (server-sent events over fetch, so the token can go in a header). */
export function events(onEvent: (e: Schemas['UserEvent']) => void): () => void {
  const controller = new AbortController()
  ;(async () => {
    while (!controller.signal.aborted) {
      try {
        const t = await token()
        const r = await fetch('/api/v1/events', {
          headers: t ? { authorization: `Bearer ${t}` } : {},
          signal: controller.signal,
        })
        if (!r.body) throw new Error('no stream')
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const chunk = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const data = chunk
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trim())
              .join('\n')
            if (data) onEvent(JSON.parse(data))
          }
        }
      } catch {
        // Reconnect after a pause unless we were stopped.
      }
      await new Promise((ok) => setTimeout(ok, 2000))
    }
  })()
  return () => controller.abort()
}
