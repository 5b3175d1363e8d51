// Shapes of the REST API's JSON (see /api/v1/openapi.json). Only what the UI reads.

export type Role = 'agent' | 'team_lead' | 'qa' | 'supervisor' | 'admin'

export interface User {
  id: string
  username: string
  display_name: string
  role: Role
  enabled: boolean
  team_id: string | null
  extension: string | null
  skills: Array<{ skill_id: string; proficiency: number }>
  created_at: number
  updated_at: number
}

export interface LoginResponse {
  token: string
  token_type: string
  expires_at: number
  user: User
}

export type AgentStateName =
  | 'logged_out'
  | 'ready'
  | 'not_ready'
  | 'reserved'
  | 'talking'
  | 'on_hold'
  | 'after_call_work'

export type NotReadyReason = 'break' | 'meal' | 'meeting' | 'training' | 'other' | 'no_answer'

/** One agent as the ACD sees them (GET /agents/me/state, GET /acd). */
export interface AgentView {
  agent: string
  extension: string | null
  state: AgentStateName
  reason?: NotReadyReason
  call?: string
  until?: number
  since: number
}

export interface QueueStats {
  name: string
  queue: string
  waiting: number
  longest_wait_ms: number
  offered: number
  answered: number
  abandoned: number
  short_abandoned: number
  overflowed: number
  left: number
  sl_threshold_ms: number
  service_level: number | null
  abandon_rate: number | null
  asa_secs: number | null
  aht_estimate_secs: number
  agents: Array<[string, number]>
}

/** A colleague signed in to the ACD (GET /agents/colleagues): no contact details or calls. */
export interface Colleague {
  id: string
  name: string
  extension: string | null
  state: AgentStateName
  reason: NotReadyReason | null
  since: number
}

export interface AcdStatus {
  agents: AgentView[]
  queues: QueueStats[]
}

/** A live call (GET /calls/{id}). */
export interface LiveCall {
  id: string
  state: 'ringing' | 'talking' | 'held' | 'consulting' | 'conference' | 'transferring' | 'ended' | string
  customer: string
  agent: string | null
  started_at: number
  answered_at: number | null
  recording: boolean
  legs: Array<{ id: number; role: string; direction: string; party: string; state: string }>
}

export interface PhoneView {
  number: string
  label: string
}

export interface AssetView {
  id: string
  customer_id: string
  kind: 'product' | 'order' | 'account'
  name: string
  number: string | null
  fields: Record<string, unknown>
  created_at?: number
}

export interface TimelineEntry {
  at: number
  kind: 'call' | 'work_order' | 'note'
  id: string
  title: string
  detail: Record<string, unknown>
}

export interface OpenOrder {
  id: string
  number: string
  status: string
  priority: string
  type: string
  summary: string
  category: string | null
  created_at: number
}

export interface Customer {
  id: string
  name: string
  tier: 'regular' | 'silver' | 'gold' | 'vip'
  phones: PhoneView[]
  email: string | null
  id_card: string | null
  birthday: string | null
  gender: string | null
  tags: string[]
  custom: Record<string, unknown>
  created_at: number
  updated_at: number
  erased_at: number | null
  masked: boolean
  /** Only in a screen-pop: */
  assets?: AssetView[]
  recent?: TimelineEntry[]
  open_orders?: OpenOrder[]
}

export interface QueueRef {
  id: string
  name: string | null
}

/** The screen-pop frame's data (call.offer; snapshot.offer). */
export interface Offer {
  call: string
  agent: string
  queue: QueueRef | null
  wait_ms: number
  caller: string | null
  caller_masked: boolean
  dialled: string | null
  customer: Customer | null
  also_matched: Array<{ id: string; name: string; tier: string; tags: string[] }>
  ivr: {
    flow: string | null
    path: string[] | null
    collected: Array<{ var: string; length: number; digits: string | null }>
    vip_tier: string | null
  } | null
}

/** An agent row as the CTI stream shows it (snapshot.agents, agent.state). */
export interface AgentRow {
  id: string
  username: string | null
  name: string | null
  extension: string | null
  team_id: string | null
  team: string | null
  state: AgentStateName
  reason: NotReadyReason | null
  since: number
  call: string | null
  queue: QueueRef | null
  from?: AgentStateName | null
}

export type CallProgress = 'ringing' | 'answered' | 'held' | 'resumed' | 'transferred' | 'conferenced' | 'ended'

export interface CategoryNode {
  id: string
  name: string
  path: string
  level: number
  active: boolean
  defaults: {
    type: string
    priority: string
    team_id: string
    solutions: string[]
    sla: Record<string, unknown>
  } | null
  team_name: string | null
  children: CategoryNode[]
}

export interface Ticket {
  id: string
  number: string
  customer_id: string | null
  channel: string
  category_id: string
  type: string
  priority: string
  summary: string
  details: string
  solutions: string[]
  result: string
  status: string
  pending_reason: string | null
  owner_id: string | null
  team_id: string | null
  tier: number
  created_by: string
  created_at: number
  updated_at: number
  resolved_at: number | null
  closed_at: number | null
  sla_breached: boolean
  version: number
}

export interface TicketDetail extends Ticket {
  sla: Record<string, unknown>
  category_path: string
  calls: Array<Record<string, unknown>>
}

export interface KbHit {
  id: string
  score: number
  kind: 'article' | 'faq' | 'case'
  category: string
  title: string
  title_highlight: string
  snippet: string
}

export interface KbArticle {
  id: string
  kind: 'article' | 'faq' | 'case'
  title: string
  body: string
  category: string
  tags: string[]
  product: string | null
  status: string
  updated_at: number
  version: number
}
