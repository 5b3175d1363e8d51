// The REST client: base /api/v1, the bearer token from sessionStorage, JSON in and out.
// Failures become an ApiError (the server's {"error":{"code","message"}}); a 401 ends the
// session and sends the user to the login page.

export const API_BASE = '/api/v1'
const TOKEN_KEY = 'kefu.token'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: string[]
  constructor(status: number, code: string, message: string, details: string[] = []) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }
  /** The route does not exist (yet) on this server, or the thing is gone. */
  get notFound(): boolean {
    return this.status === 404
  }
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token)
  else sessionStorage.removeItem(TOKEN_KEY)
}

type Handler = (err: ApiError) => void
let onUnauthorized: Handler = () => {}
let onError: Handler = () => {}
/** Wires what a 401 and other failures do (set once in main.ts: router, ElMessage). */
export function configureHttp(h: { unauthorized: Handler; error: Handler }): void {
  onUnauthorized = h.unauthorized
  onError = h.error
}

export type Query = Record<string, string | number | boolean | null | undefined | Array<string | number>>

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** Raw body (Blob, string) with its own content type instead of JSON. */
  raw?: BodyInit
  contentType?: string
  /** Do not show the error to the user (the caller handles it); 401 still logs out. */
  silent?: boolean
  /** Statuses the caller expects and handles itself without a message (e.g. [404]). */
  quiet?: number[]
  signal?: AbortSignal
  /** Return the Response instead of parsing JSON (downloads, audio). */
  response?: boolean
}

export function buildUrl(path: string, query?: Query): string {
  const url = path.startsWith('/api/') ? path : API_BASE + path
  if (!query) return url
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue
    if (Array.isArray(v)) v.forEach((x) => params.append(k, String(x)))
    else params.append(k, String(v))
  }
  const qs = params.toString()
  return qs ? `${url}?${qs}` : url
}

async function toError(resp: Response): Promise<ApiError> {
  let code = `http_${resp.status}`
  let message = resp.statusText || `HTTP ${resp.status}`
  let details: string[] = []
  try {
    const body = await resp.json()
    if (body && typeof body === 'object' && body.error) {
      code = body.error.code ?? code
      message = body.error.message ?? message
      details = Array.isArray(body.error.details) ? body.error.details : []
    }
  } catch {
    /* not JSON: keep the status text */
  }
  return new ApiError(resp.status, code, message, details)
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  const token = getToken()
  if (token) headers.authorization = `Bearer ${token}`
  let body: BodyInit | undefined
  if (opts.raw !== undefined) {
    body = opts.raw
    if (opts.contentType) headers['content-type'] = opts.contentType
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body)
    headers['content-type'] = 'application/json'
  }
  let resp: Response
  try {
    resp = await fetch(buildUrl(path, opts.query), { method, headers, body, signal: opts.signal })
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    const err = new ApiError(0, 'network', (e as Error).message || 'network error')
    if (!opts.silent) onError(err)
    throw err
  }
  if (!resp.ok) {
    const err = await toError(resp)
    if (resp.status === 401 && !path.endsWith('/auth/login')) {
      onUnauthorized(err)
    } else if (!opts.silent && !(opts.quiet ?? []).includes(resp.status)) {
      onError(err)
    }
    throw err
  }
  if (opts.response) return resp as unknown as T
  if (resp.status === 204) return undefined as T
  const text = await resp.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export const http = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, { ...opts, body }),
  put: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PUT', path, { ...opts, body }),
  patch: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PATCH', path, { ...opts, body }),
  del: <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
}

/** A page of a paginated list (GET /users and co.). */
export interface Page<T> {
  items: T[]
  next_cursor?: string | null
  total?: number
}
