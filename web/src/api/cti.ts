// The live CTI stream: one WebSocket to /api/v1/events?token=… (protocol: ADR 0012).
// Every frame is {"seq","type","at","data"}; `hello` comes first (with the server's `epoch`),
// then a `snapshot`, then live events. After a drop the client reconnects with exponential
// back-off and `since=<last seq>&epoch=<epoch>` so the server replays what was missed — or
// sends a fresh snapshot when it cannot (restart, too old, lagging). The server sends
// `heartbeat` every interval; silence for two intervals counts as a dead connection.

import { API_BASE, getToken } from './http'

export interface CtiFrame<T = Record<string, unknown>> {
  seq: number
  type: string
  at: string
  data: T
}

export interface HelloData {
  user?: { id: string; username?: string; display_name?: string } | string
  role?: string
  seq?: number
  epoch?: string | number
  heartbeat_secs?: number
  heartbeat_interval_secs?: number
  heartbeat_ms?: number
}

/** The screen-pop (cti.md): everything the desktop shows when a call rings. */
export interface OfferData {
  call: string
  agent?: string
  caller?: string | null
  queue?: string | null
  queue_name?: string | null
  wait_ms?: number | null
  waited_ms?: number | null
  ivr_path?: string[] | null
  digits?: string | null
  customer?: ScreenPopCustomer | null
  customers?: ScreenPopCustomer[]
  [k: string]: unknown
}

export interface ScreenPopCustomer {
  id: string
  name?: string
  tier?: string | null
  tags?: string[]
  phone?: string | null
  phones?: string[]
  assets?: Array<Record<string, unknown>>
  interactions?: Array<Record<string, unknown>>
  last_interactions?: Array<Record<string, unknown>>
  open_tickets?: Array<Record<string, unknown>>
  open_work_orders?: Array<Record<string, unknown>>
  [k: string]: unknown
}

export type CtiStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'

type Listener = (frame: CtiFrame<any>) => void

export interface CtiOptions {
  /** The socket URL without query (default: this origin's /api/v1/events). */
  url?: string
  /** First reconnect delay, ms (doubles up to maxDelayMs, with jitter). */
  minDelayMs?: number
  maxDelayMs?: number
  /** Called when the server refuses the token: the session is over. */
  onUnauthorized?: () => void
}

function defaultUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${proto}//${location.host}${API_BASE}/events`
}

export class CtiClient {
  private ws: WebSocket | null = null
  private listeners = new Map<string, Set<Listener>>()
  private statusListeners = new Set<(s: CtiStatus) => void>()
  private lastSeq: number | null = null
  private epoch: string | null = null
  private attempt = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private watchdog: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private heartbeatMs = 15_000
  private stopped = true
  private openedAt = 0
  status: CtiStatus = 'idle'

  constructor(public opts: CtiOptions = {}) {}

  /** Subscribes to a frame type ('*' for all); returns the unsubscribe function. */
  on<T = Record<string, unknown>>(type: string, fn: (frame: CtiFrame<T>) => void): () => void {
    let set = this.listeners.get(type)
    if (!set) this.listeners.set(type, (set = new Set()))
    set.add(fn as Listener)
    return () => set!.delete(fn as Listener)
  }

  onStatus(fn: (s: CtiStatus) => void): () => void {
    this.statusListeners.add(fn)
    return () => this.statusListeners.delete(fn)
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.attempt = 0
    this.connect()
  }

  /** Closes for good (logout); a later start() begins without resume. */
  stop(): void {
    this.stopped = true
    this.clearTimers()
    if (this.ws) {
      const ws = this.ws
      this.ws = null
      ws.onclose = null
      ws.close(1000, 'bye')
    }
    this.lastSeq = null
    this.epoch = null
    this.setStatus('closed')
  }

  send(msg: unknown): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg))
  }

  private setStatus(s: CtiStatus) {
    if (this.status === s) return
    this.status = s
    this.statusListeners.forEach((fn) => fn(s))
  }

  private clearTimers() {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.watchdog) clearTimeout(this.watchdog)
    if (this.pingTimer) clearInterval(this.pingTimer)
    this.reconnectTimer = this.watchdog = this.pingTimer = null
  }

  private connect() {
    const token = getToken()
    if (!token) {
      this.stop()
      return
    }
    const params = new URLSearchParams({ token })
    if (this.lastSeq !== null) params.set('since', String(this.lastSeq))
    if (this.epoch !== null) params.set('epoch', this.epoch)
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting')
    let ws: WebSocket
    try {
      ws = new WebSocket(`${this.opts.url ?? defaultUrl()}?${params}`)
    } catch {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    this.openedAt = Date.now()
    ws.onopen = () => {
      this.setStatus('open')
      this.armWatchdog()
      // the client's own keep-alive, so proxies that drop idle sockets do not
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), this.heartbeatMs)
    }
    ws.onmessage = (ev) => this.receive(ev.data)
    ws.onerror = () => {
      /* onclose follows */
    }
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = null
      this.clearTimers()
      if (this.stopped) return
      // 1008 policy / 4401: the token is no longer valid; 4403 forbidden
      if (ev.code === 1008 || ev.code === 4401 || ev.code === 4403) {
        this.stopped = true
        this.setStatus('closed')
        this.opts.onUnauthorized?.()
        return
      }
      // a socket that never opened: the upgrade was refused (401) or the server is away.
      // Probe the token cheaply so a dead session does not retry forever.
      if (Date.now() - this.openedAt < 2000 && ev.code === 1006) void this.probe()
      this.scheduleReconnect()
    }
  }

  private async probe() {
    try {
      const r = await fetch(`${API_BASE}/users/me`, { headers: { authorization: `Bearer ${getToken() ?? ''}` } })
      if (r.status === 401) {
        this.stop()
        this.opts.onUnauthorized?.()
      }
    } catch {
      /* offline: keep retrying */
    }
  }

  private scheduleReconnect() {
    if (this.stopped) return
    const min = this.opts.minDelayMs ?? 500
    const max = this.opts.maxDelayMs ?? 30_000
    const base = Math.min(max, min * 2 ** this.attempt)
    const delay = base / 2 + Math.random() * (base / 2)
    this.attempt++
    this.setStatus('reconnecting')
    this.reconnectTimer = setTimeout(() => this.connect(), delay)
  }

  private armWatchdog() {
    if (this.watchdog) clearTimeout(this.watchdog)
    this.watchdog = setTimeout(() => {
      // two heartbeats missed: the connection is dead even if TCP has not noticed
      this.ws?.close(4000, 'heartbeat timeout')
      if (this.ws) {
        const ws = this.ws
        this.ws = null
        ws.onclose = null
        this.clearTimers()
        this.scheduleReconnect()
      }
    }, this.heartbeatMs * 2 + 5000)
  }

  private receive(raw: unknown) {
    if (typeof raw !== 'string') return
    let frame: CtiFrame
    try {
      frame = JSON.parse(raw)
    } catch {
      return
    }
    if (!frame || typeof frame.type !== 'string') return
    this.armWatchdog()
    if (frame.type === 'hello') {
      const d = (frame.data ?? {}) as HelloData
      const secs = d.heartbeat_secs ?? d.heartbeat_interval_secs
      if (typeof secs === 'number' && secs > 0) this.heartbeatMs = secs * 1000
      else if (typeof d.heartbeat_ms === 'number' && d.heartbeat_ms > 0) this.heartbeatMs = d.heartbeat_ms
      if (d.epoch !== undefined && d.epoch !== null) {
        const epoch = String(d.epoch)
        if (this.epoch !== null && this.epoch !== epoch) this.lastSeq = null // server restarted
        this.epoch = epoch
      }
      this.attempt = 0
    }
    if (typeof frame.seq === 'number' && frame.type !== 'pong' && frame.type !== 'hello' && frame.type !== 'heartbeat') {
      // hello and heartbeats tell the server's position, not what this client has seen
      if (this.lastSeq === null || frame.seq > this.lastSeq) this.lastSeq = frame.seq
    }
    this.emit(frame.type, frame)
    this.emit('*', frame)
  }

  private emit(type: string, frame: CtiFrame) {
    this.listeners.get(type)?.forEach((fn) => {
      try {
        fn(frame)
      } catch (e) {
        console.error('cti listener failed', type, e)
      }
    })
  }
}

/** The app's one connection (started after login, stopped at logout). */
export const cti = new CtiClient()
