// The console's view of the floor: queues and agents as the wallboard shows them, read from
// GET /wallboard (or GET /acd on a server without it) and from the CTI stream's snapshot,
// queue.stats and agent.state frames. The server's field names are normalised here once, so
// the pages only deal with these shapes.

import type { AgentStateName, NotReadyReason } from '@/api/types'

export interface QueueRow {
  id: string
  name: string
  description: string
  waiting: number
  /** Longest current wait, seconds. */
  longestWaitSecs: number
  /** 0–1, null before any call counted. */
  serviceLevel: number | null
  asaSecs: number | null
  /** 0–1. */
  abandonRate: number | null
  offered: number
  answered: number
  abandoned: number
  /** Qualified agents by state. */
  agents: Partial<Record<AgentStateName, number>>
  /** Queue this one is merged into, if the server says so. */
  mergedInto: string | null
  /** When these figures were received (ms, local clock) — for the ticking longest wait. */
  receivedAt: number
}

export interface AgentRow {
  id: string
  name: string
  username: string
  extension: string | null
  teamId: string | null
  teamName: string | null
  state: AgentStateName
  reason: NotReadyReason | null
  /** Epoch ms the state began. */
  since: number
  call: string | null
  queue: string | null
  /** The caller's number as the server shows it to this user (masked or not). */
  caller: string | null
  /** A supervisor's phone is on the call. */
  monitored: boolean
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : null)
const numOr = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d)
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

function first(o: Obj, keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k]
  return undefined
}

/** A 0–1 share from either a share or a percentage field. */
function share(o: Obj, shareKeys: string[], pctKeys: string[]): number | null {
  const s = numOrNull(first(o, shareKeys))
  if (s !== null) return s > 1.0001 ? s / 100 : s
  const p = numOrNull(first(o, pctKeys))
  return p === null ? null : p / 100
}

function agentsByState(v: unknown): Partial<Record<AgentStateName, number>> {
  const out: Partial<Record<AgentStateName, number>> = {}
  if (Array.isArray(v)) {
    for (const e of v) {
      if (Array.isArray(e) && typeof e[0] === 'string') out[e[0] as AgentStateName] = numOr(e[1], 0)
      else if (isObj(e) && typeof e.state === 'string') out[e.state as AgentStateName] = numOr(e.count ?? e.n, 0)
    }
  } else if (isObj(v)) {
    for (const [k, n] of Object.entries(v)) out[k as AgentStateName] = numOr(n, 0)
  }
  return out
}

/**
 * A queue row from a wallboard / acd / stream body, on top of the previous one. `liveOnly`
 * takes just what waits now and the agents (the stream's counters start with the server,
 * not at midnight like the wallboard's).
 */
export function toQueue(raw: unknown, prev?: QueueRow, liveOnly = false): QueueRow | null {
  if (!isObj(raw)) return null
  const full = isObj(raw.stats) ? { ...raw.stats, ...raw } : raw
  const stats: Obj = liveOnly && prev
    ? Object.fromEntries(Object.entries(full).filter(([k]) => ['queue', 'queue_id', 'id', 'name', 'waiting', 'longest_wait_ms', 'agents'].includes(k)))
    : full
  const id = str(first(stats, ['queue_id', 'queue', 'id'])) ?? prev?.id
  const name = str(first(stats, ['name', 'queue_name'])) ?? prev?.name ?? id
  if (!id || !name) return null
  const base: QueueRow = prev ?? {
    id,
    name,
    description: '',
    waiting: 0,
    longestWaitSecs: 0,
    serviceLevel: null,
    asaSecs: null,
    abandonRate: null,
    offered: 0,
    answered: 0,
    abandoned: 0,
    agents: {},
    mergedInto: null,
    receivedAt: Date.now(),
  }
  const has = (...keys: string[]) => keys.some((k) => k in stats)
  const longestMs = numOrNull(first(stats, ['longest_wait_ms']))
  const longestS = numOrNull(first(stats, ['longest_wait_secs', 'longest_wait_s']))
  return {
    id,
    name,
    description: str(first(stats, ['description'])) ?? base.description,
    waiting: has('waiting') ? numOr(stats.waiting, 0) : base.waiting,
    longestWaitSecs: longestMs !== null ? longestMs / 1000 : longestS !== null ? longestS : base.longestWaitSecs,
    serviceLevel: has('service_level', 'service_level_pct', 'sl')
      ? share(stats, ['service_level', 'sl'], ['service_level_pct'])
      : base.serviceLevel,
    asaSecs: has('asa_secs', 'asa_ms', 'asa')
      ? (numOrNull(stats.asa_secs) ?? (numOrNull(stats.asa_ms) !== null ? numOrNull(stats.asa_ms)! / 1000 : numOrNull(stats.asa)))
      : base.asaSecs,
    abandonRate: has('abandon_rate', 'abandon_pct')
      ? share(stats, ['abandon_rate'], ['abandon_pct'])
      : base.abandonRate,
    offered: numOr(first(stats, ['offered_today', 'offered']), base.offered),
    answered: numOr(first(stats, ['answered_today', 'answered']), base.answered),
    abandoned: numOr(first(stats, ['abandoned_today', 'abandoned']), base.abandoned),
    agents: has('agents', 'agents_by_state') ? agentsByState(first(stats, ['agents_by_state', 'agents'])) : base.agents,
    mergedInto: has('merged_into', 'merge_into')
      ? str(first(stats, ['merged_into', 'merge_into']))
      : base.mergedInto,
    receivedAt: Date.now(),
  }
}

function stateName(v: unknown): AgentStateName {
  const s = typeof v === 'string' ? v : isObj(v) && typeof v.state === 'string' ? v.state : 'logged_out'
  return s as AgentStateName
}

export function toAgent(raw: unknown, prev?: AgentRow): AgentRow | null {
  if (!isObj(raw)) return null
  const id = str(first(raw, ['agent_id', 'agent', 'user_id', 'id'])) ?? prev?.id
  if (!id) return null
  const base: AgentRow = prev ?? {
    id,
    name: '',
    username: '',
    extension: null,
    teamId: null,
    teamName: null,
    state: 'logged_out',
    reason: null,
    since: Date.now(),
    call: null,
    queue: null,
    caller: null,
    monitored: false,
  }
  const stateObj = isObj(raw.state) ? raw.state : raw
  const state = 'state' in raw ? stateName(raw.state) : base.state
  const stateChanged = 'state' in raw
  const callObj = isObj(raw.live_call) ? raw.live_call : isObj(raw.call) ? raw.call : null
  const acdCall = str(first(stateObj, ['call', 'call_id']))
  const call = stateChanged ? ((callObj ? str(first(callObj, ['id', 'call_id'])) : null) ?? acdCall) : base.call
  const queueRaw = first(raw, ['queue_name', 'queue'])
  const queueName = isObj(queueRaw) ? str(first(queueRaw, ['name', 'id'])) : str(queueRaw)
  const sinceRaw = first(raw, ['since', 'state_since', 'since_ms'])
  let since = base.since
  if (typeof sinceRaw === 'number') since = sinceRaw
  else if (typeof sinceRaw === 'string' && !Number.isNaN(Date.parse(sinceRaw))) since = Date.parse(sinceRaw)
  else if (typeof raw.time_in_state_ms === 'number') since = Date.now() - raw.time_in_state_ms
  else if (typeof raw.time_in_state_secs === 'number') since = Date.now() - raw.time_in_state_secs * 1000
  const team = first(raw, ['team'])
  return {
    id,
    name: str(first(raw, ['name', 'display_name'])) ?? base.name,
    username: str(first(raw, ['username'])) ?? base.username,
    extension: 'extension' in raw ? str(raw.extension) : base.extension,
    teamId: str(first(raw, ['team_id'])) ?? (isObj(team) ? str(team.id) : null) ?? base.teamId,
    teamName: str(first(raw, ['team_name'])) ?? (isObj(team) ? str(team.name) : str(team)) ?? base.teamName,
    state,
    reason: stateChanged ? ((str(first(stateObj, ['reason'])) as NotReadyReason | null) ?? null) : base.reason,
    since,
    call,
    queue: stateChanged ? (queueName ?? (callObj ? str(first(callObj, ['queue_name', 'queue'])) : null)) : (queueName ?? base.queue),
    caller: stateChanged
      ? (str(first(raw, ['caller', 'customer'])) ??
        (callObj ? str(first(callObj, ['caller', 'customer'])) : null) ??
        (call && call === base.call ? base.caller : null))
      : base.caller,
    monitored: callObj && typeof callObj.monitored === 'boolean' ? callObj.monitored : stateChanged && call !== base.call ? false : base.monitored,
  }
}

/** The lists inside a wallboard / acd / snapshot body. */
export function listsOf(body: unknown): { queues: unknown[]; agents: unknown[] } {
  if (!isObj(body)) return { queues: [], agents: [] }
  const q = body.queues
  const a = body.agents
  return {
    queues: Array.isArray(q) ? q : isObj(q) ? Object.values(q) : [],
    agents: Array.isArray(a) ? a : isObj(a) ? Object.values(a) : [],
  }
}

// ---- thresholds ----

/** The metrics that can turn amber or red. */
export type Metric = 'waiting' | 'longest_wait' | 'service_level' | 'asa' | 'abandon'

/** For each metric: the amber and red limits, and whether lower values are worse. */
export interface Limit {
  amber: number
  red: number
  lowerIsWorse: boolean
}
export type Thresholds = Record<Metric, Limit>

/** The seeds' figures: SL 80 % in 20 s, ASA ≤ 20 s, abandon ≤ 5 %. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  waiting: { amber: 5, red: 10, lowerIsWorse: false },
  longest_wait: { amber: 60, red: 120, lowerIsWorse: false },
  service_level: { amber: 0.8, red: 0.7, lowerIsWorse: true },
  asa: { amber: 20, red: 30, lowerIsWorse: false },
  abandon: { amber: 0.05, red: 0.1, lowerIsWorse: false },
}

const METRIC_KEYS: Record<Metric, string[]> = {
  waiting: ['waiting'],
  longest_wait: ['longest_wait_secs', 'longest_wait', 'longest_wait_ms'],
  service_level: ['service_level', 'service_level_pct', 'sl'],
  asa: ['asa_secs', 'asa', 'asa_ms'],
  abandon: ['abandon_rate', 'abandon_pct', 'abandon'],
}

/** Reads the server's thresholds (amber/red per metric), keeping defaults for the rest. */
export function toThresholds(raw: unknown): Thresholds {
  const out: Thresholds = structuredClone(DEFAULT_THRESHOLDS)
  if (!isObj(raw)) return out
  const src = isObj(raw.thresholds) ? raw.thresholds : isObj(raw.metrics) ? raw.metrics : raw
  for (const metric of Object.keys(METRIC_KEYS) as Metric[]) {
    for (const key of METRIC_KEYS[metric]) {
      const v = src[key]
      if (!isObj(v)) continue
      let amber = numOrNull(v.amber)
      let red = numOrNull(v.red)
      if (amber === null || red === null) continue
      const scale = key.endsWith('_ms') ? 1 / 1000 : key.endsWith('_pct') || ((metric === 'service_level' || metric === 'abandon') && (amber > 1 || red > 1)) ? 1 / 100 : 1
      amber *= scale
      red *= scale
      const dir = typeof v.direction === 'string' ? v.direction : ''
      out[metric] = { amber, red, lowerIsWorse: dir ? dir === 'lower_is_worse' : metric === 'service_level' || red < amber }
      break
    }
  }
  return out
}

export type Level = 'ok' | 'amber' | 'red'

export function level(t: Thresholds, metric: Metric, value: number | null): Level {
  if (value === null || !Number.isFinite(value)) return 'ok'
  const l = t[metric]
  if (l.lowerIsWorse) return value <= l.red ? 'red' : value <= l.amber ? 'amber' : 'ok'
  return value >= l.red ? 'red' : value >= l.amber ? 'amber' : 'ok'
}
