// Every call to the yunyin API goes through `call`, typed by the paths of the spec
// (openapi/client/schema.d.ts, generated from openapi/openapi.json): a path, its method and its
// parameters are checked at compile time, and the answer has the spec's type.
import type { components, paths } from '../../../openapi/client/schema'
import { config } from '../config'
import { lang } from './i18n'
import { save, session, signOut } from './session'

export type Schemas = components['schemas']
export type Job = Schemas['JobView']

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>
type JsonContent<T> = T extends { content: { [type: string]: infer R } } ? R : undefined
type Answer<O> = O extends { responses: infer R }
  ? R extends { 200: infer A } ? JsonContent<A> : R extends { 201: infer B } ? JsonContent<B> : undefined
  : never
type Body<O> = O extends { requestBody: { content: { [type: string]: infer B } } }
  ? B
  : O extends { requestBody?: { content: { [type: string]: infer B } } } ? B | undefined : undefined
type Params<O> = O extends { parameters: infer Q } ? Q : never
type PathParams<O> = Params<O> extends { path: infer A } ? A : undefined
type QueryParams<O> = Params<O> extends { query?: infer Q } ? Q : undefined

/** The paths with an operation for `M`. */
export type PathsWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends undefined ? never : P }[keyof paths]

export interface Request<O> {
  path?: PathParams<O>
  query?: QueryParams<O>
  body?: Body<O>
}

/** An error the API answered with: its stable `code` and a message in the user's language. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

function url(path: string, params?: object, query?: object): string {
  let p = path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(String((params as Record<string, unknown> | undefined)?.[name] ?? '')))
  const q = Object.entries(query ?? {})
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  if (q.length) p += `?${q.join('&')}`
  return config.apiBase + p
}

interface Raw {
  status: number
  data: unknown
}

/** One HTTP exchange with wx.request; network failures become `network` errors. */
export function send(method: string, target: string, body: unknown, token?: string): Promise<Raw> {
  const header: Record<string, string> = { 'accept-language': lang() }
  if (token) header.authorization = `Bearer ${token}`
  if (body !== undefined) header['content-type'] = 'application/json'
  return new Promise((resolve, reject) => {
    wx.request({
      url: target,
      method: method.toUpperCase() as 'GET',
      header,
      data: body === undefined ? undefined : JSON.stringify(body),
      dataType: 'json',
      success: (r) => resolve({ status: r.statusCode, data: r.data }),
      fail: (e) => reject(new ApiError(0, 'network', e.errMsg || 'network error')),
    })
  })
}

function failure(r: Raw): ApiError {
  const e = (r.data ?? {}) as { code?: string; message?: string }
  return new ApiError(r.status, e.code ?? `http_${r.status}`, e.message ?? `HTTP ${r.status}`)
}

let refreshing: Promise<boolean> | null = null

/** Rotates the refresh token once, however many calls are waiting on it. */
function refresh(): Promise<boolean> {
  const refreshToken = session().refreshToken
  if (!refreshToken) return Promise.resolve(false)
  refreshing ??= send('post', url('/api/v1/sessions/refresh'), { refresh_token: refreshToken })
    .then((r) => {
      if (r.status !== 200) return false
      const t = r.data as Schemas['SessionTokens']
      save({ accessToken: t.access_token, refreshToken: t.refresh_token, accessExpiresAt: t.access_expires_at })
      return true
    })
    .catch(() => false)
    .finally(() => (refreshing = null))
  return refreshing
}

/** A valid access token, refreshed first when it is about to expire. */
export async function token(): Promise<string | undefined> {
  const s = session()
  if (s.accessToken && (s.accessExpiresAt ?? 0) - Date.now() < 30_000 && !(await refresh())) {
    signOut()
    return undefined
  }
  return session().accessToken
}

/** Calls one operation of the API. Throws `ApiError` for any answer but 2xx. */
export async function call<M extends Method, P extends PathsWith<M>>(
  method: M,
  path: P,
  request: Request<Operation<P, M>> = {},
): Promise<Answer<Operation<P, M>>> {
  const target = url(path as string, request.path as object, request.query as object)
  let r = await send(method, target, request.body, await token())
  if (r.status === 401 && session().refreshToken && (await refresh())) {
    r = await send(method, target, request.body, session().accessToken)
  }
  if (r.status === 401) signOut()
  if (r.status < 200 || r.status >= 300) throw failure(r)
  return r.data as Answer<Operation<P, M>>
}

/** Keeps the tokens of a session the server just opened. */
export function remember(s: Schemas['UserSession'], enterprise?: { code: string; name: string }): void {
  save({
    accessToken: s.tokens.access_token,
    refreshToken: s.tokens.refresh_token,
    accessExpiresAt: s.tokens.access_expires_at,
    ...(enterprise ? { enterpriseCode: enterprise.code, enterpriseName: enterprise.name } : {}),
  })
}

/** The message to show for an error, in the user's language. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Uploads a file the user picked (a chat file or a photo) as a new job, reporting progress
 * (0-100) as it goes.
 */
export async function upload(filePath: string, fileName: string, onProgress: (percent: number) => void): Promise<Job> {
  const t = await token()
  return new Promise((resolve, reject) => {
    const task = wx.uploadFile({
      url: url('/api/v1/jobs/multipart', undefined, { file_name: fileName }),
      filePath,
      name: 'file',
      header: { authorization: `Bearer ${t ?? ''}`, 'accept-language': lang() },
      success: (r) => {
        let body: unknown
        try {
          body = JSON.parse(r.data)
        } catch {
          body = {}
        }
        if (r.statusCode === 201) resolve(body as Job)
        else reject(failure({ status: r.statusCode, data: body }))
      },
      fail: (e) => reject(new ApiError(0, 'network', e.errMsg || 'network error')),
    })
    task.onProgressUpdate((p) => onProgress(p.progress))
  })
}

/** An authenticated image (a thumbnail) downloaded to a local file for `<image src>`. */
export async function image(path: string): Promise<string | undefined> {
  const t = await token()
  return new Promise((resolve) => {
    wx.downloadFile({
      url: config.apiBase + path,
      header: { authorization: `Bearer ${t ?? ''}` },
      success: (r) => resolve(r.statusCode === 200 ? r.tempFilePath : undefined),
      fail: () => resolve(undefined),
    })
  })
}

/**
 * A file of the user's (a scan) downloaded to a local file with the user's token: its local
 * path, or the API's error (read from what was downloaded in its place).
 */
export async function download(path: string): Promise<string> {
  const t = await token()
  const r = await new Promise<WechatMiniprogram.DownloadFileSuccessCallbackResult>((resolve, reject) => {
    wx.downloadFile({
      url: config.apiBase + path,
      header: { authorization: `Bearer ${t ?? ''}`, 'accept-language': lang() },
      success: resolve,
      fail: (e) => reject(new ApiError(0, 'network', e.errMsg || 'network error')),
    })
  })
  if (r.statusCode === 200) return r.tempFilePath
  let body: unknown = {}
  try {
    body = JSON.parse(wx.getFileSystemManager().readFileSync(r.tempFilePath, 'utf8') as string)
  } catch {
    // Not JSON: the status says it.
  }
  throw failure({ status: r.statusCode, data: body })
}
