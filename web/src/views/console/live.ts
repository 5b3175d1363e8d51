// The live floor shared by the wallboard and the agent grid: one copy, started by the first
// page that needs it and stopped when the last one leaves. It loads GET /wallboard (GET /acd
// on a server without it), then follows the CTI stream (snapshot, queue.stats, agent.state);
// while the socket is down it polls every 5 s instead. The directory (users, teams, queues)
// fills in names the live data does not carry, and lists agents who have not signed in.

import { computed, reactive, ref, shallowRef } from 'vue'
import { http, ApiError, type Page } from '@/api/http'
import { cti, type CtiFrame, type CtiStatus } from '@/api/cti'
import type { User } from '@/api/types'
import { toAgent, toQueue, listsOf, type AgentRow, type QueueRow } from './model'

export const POLL_MS = 5000
/** Even with the stream up, re-read the day's figures now and then. */
const RESYNC_MS = 30_000

interface Team {
  id: string
  name: string
}
interface QueueConfig {
  id: string
  name: string
  description: string
}

/** Reads every page of a cursor-paginated list. */
export async function fetchAll<T>(path: string, query: Record<string, string | number> = {}, max = 5000): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  do {
    const page = await http.get<Page<T>>(path, { query: { ...query, limit: 500, cursor }, silent: true })
    out.push(...page.items)
    cursor = page.next_cursor ?? undefined
  } while (cursor && out.length < max)
  return out
}

const queues = reactive(new Map<string, QueueRow>())
const agents = reactive(new Map<string, AgentRow>())
const users = shallowRef(new Map<string, User>())
const teams = shallowRef(new Map<string, Team>())
const queueConfigs = shallowRef(new Map<string, QueueConfig>())
const status = reactive({
  loaded: false,
  error: '' as string,
  /** 'stream' while the socket delivers, 'poll' while we poll. */
  source: 'poll' as 'stream' | 'poll',
  /** The server has GET /wallboard (else GET /acd). */
  wallboardApi: true,
  updatedAt: 0,
})
/** Ticks every second so durations on screen count up. */
const now = ref(Date.now())

let refs = 0
let pollTimer: ReturnType<typeof setInterval> | null = null
let resyncTimer: ReturnType<typeof setInterval> | null = null
let tickTimer: ReturnType<typeof setInterval> | null = null
let offs: Array<() => void> = []
let inflight: Promise<void> | null = null

function enrich(a: AgentRow): AgentRow {
  const u = users.value.get(a.id)
  if (u) {
    if (!a.name) a.name = u.display_name
    if (!a.username) a.username = u.username
    if (!a.extension) a.extension = u.extension
    if (!a.teamId) a.teamId = u.team_id
  }
  if (a.teamId && !a.teamName) a.teamName = teams.value.get(a.teamId)?.name ?? null
  return a
}

function enrichQueue(q: QueueRow): QueueRow {
  const c = queueConfigs.value.get(q.id) ?? [...queueConfigs.value.values()].find((x) => x.name === q.name)
  if (c && !q.description) q.description = c.description
  return q
}

/** All queues together as the wallboard reports them (null from GET /acd). */
const total = shallowRef<QueueRow | null>(null)

function apply(body: unknown, replace: boolean, liveOnly = false) {
  const lists = listsOf(body)
  const tot = (body as Record<string, unknown> | null)?.total
  if (tot && typeof tot === 'object') total.value = toQueue({ id: '*', ...(tot as object) })
  if (replace || lists.queues.length) {
    const seen = new Set<string>()
    for (const raw of lists.queues) {
      const probe = toQueue(raw)
      const prev = probe ? (queues.get(probe.id) ?? [...queues.values()].find((q) => q.name === probe.name)) : undefined
      const row = toQueue(raw, prev, liveOnly)
      if (!row) continue
      seen.add(row.id)
      queues.set(row.id, enrichQueue(row))
    }
    if (replace) for (const k of [...queues.keys()]) if (!seen.has(k)) queues.delete(k)
  }
  for (const raw of lists.agents) {
    const r = raw as Record<string, unknown>
    const id = String(r.agent_id ?? r.agent ?? r.user_id ?? r.id ?? '')
    const row = toAgent(raw, agents.get(id))
    if (row) agents.set(row.id, enrich(row))
  }
  status.updatedAt = Date.now()
}

async function loadDirectory() {
  const [u, t, q] = await Promise.allSettled([
    fetchAll<User>('/users'),
    fetchAll<Team>('/teams'),
    fetchAll<QueueConfig>('/queues'),
  ])
  if (u.status === 'fulfilled') users.value = new Map(u.value.map((x) => [x.id, x]))
  if (t.status === 'fulfilled') teams.value = new Map(t.value.map((x) => [x.id, x]))
  if (q.status === 'fulfilled') queueConfigs.value = new Map(q.value.map((x) => [x.id, x]))
  // agents who never signed in still belong on the grid
  for (const user of users.value.values()) {
    if (user.role !== 'agent' || !user.enabled || agents.has(user.id)) continue
    const row = toAgent({ agent: user.id, state: 'logged_out' })
    if (row) agents.set(user.id, enrich(row))
  }
  for (const a of agents.values()) enrich(a)
  for (const q of queues.values()) enrichQueue(q)
}

/** Reads the whole board over REST. */
export function refresh(): Promise<void> {
  if (inflight) return inflight
  inflight = (async () => {
    try {
      let body: unknown
      if (status.wallboardApi) {
        try {
          body = await http.get('/wallboard', { silent: true })
        } catch (e) {
          if (e instanceof ApiError && (e.status === 404 || e.status === 405)) status.wallboardApi = false
          else throw e
        }
      }
      if (!status.wallboardApi) body = await http.get('/acd', { silent: true })
      apply(body, true)
      status.loaded = true
      status.error = ''
    } catch (e) {
      status.error = e instanceof Error ? e.message : String(e)
    } finally {
      inflight = null
    }
  })()
  return inflight
}

let throttle: ReturnType<typeof setTimeout> | null = null
/** A REST read soon after stream frames (today's figures, the live calls' numbers). */
function refreshSoon() {
  if (throttle) return
  throttle = setTimeout(() => {
    throttle = null
    void refresh()
  }, 2500)
}

function setPolling(on: boolean) {
  if (on && !pollTimer) {
    status.source = 'poll'
    pollTimer = setInterval(() => void refresh(), POLL_MS)
  } else if (!on && pollTimer) {
    clearInterval(pollTimer)
    pollTimer = null
  }
  if (!on) status.source = 'stream'
}

function onStatus(s: CtiStatus) {
  setPolling(s !== 'open')
  if (s === 'open') void refresh()
}

function subscribe() {
  offs = [
    cti.on('snapshot', (f: CtiFrame) => {
      apply(f.data, false, status.wallboardApi)
      // the snapshot's queue figures count since the server started; re-read the day's
      void refresh()
    }),
    cti.on('queue.stats', (f: CtiFrame) => {
      const d = f.data as Record<string, unknown>
      const list = Array.isArray(d.queues) ? d.queues : [d]
      apply({ queues: list }, false, status.wallboardApi)
      if (status.wallboardApi) refreshSoon()
    }),
    cti.on('agent.state', (f: CtiFrame) => {
      apply({ agents: [f.data] }, false)
      if (status.wallboardApi) refreshSoon()
    }),
    cti.onStatus(onStatus),
  ]
}

/** Starts (or joins) the live board; call the returned function to leave. */
export function useLiveFloor() {
  refs++
  if (refs === 1) {
    subscribe()
    setPolling(cti.status !== 'open')
    resyncTimer = setInterval(() => void refresh(), RESYNC_MS)
    tickTimer = setInterval(() => (now.value = Date.now()), 1000)
    void loadDirectory().then(() => refresh())
  }
  let left = false
  const leave = () => {
    if (left) return
    left = true
    refs--
    if (refs > 0) return
    offs.forEach((off) => off())
    offs = []
    setPolling(false)
    if (resyncTimer) clearInterval(resyncTimer)
    if (tickTimer) clearInterval(tickTimer)
    if (throttle) clearTimeout(throttle)
    resyncTimer = tickTimer = throttle = null
  }
  return {
    queues: computed(() => [...queues.values()].sort((a, b) => a.name.localeCompare(b.name))),
    agents: computed(() =>
      [...agents.values()]
        // supervisors and leads show up only while they work as agents (signed in)
        .filter((a) => a.state !== 'logged_out' || (users.value.get(a.id)?.role ?? 'agent') === 'agent')
        .sort((a, b) => (a.extension ?? a.username).localeCompare(b.extension ?? b.username, undefined, { numeric: true })),
    ),
    teams: computed(() => [...teams.value.values()].sort((a, b) => a.name.localeCompare(b.name))),
    queueConfigs: computed(() => [...queueConfigs.value.values()].sort((a, b) => a.name.localeCompare(b.name))),
    total,
    status,
    now,
    refresh,
    leave,
  }
}
