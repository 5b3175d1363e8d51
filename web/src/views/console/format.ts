// Small display helpers shared by the console pages: durations, rates, state colours, and
// the readable label of a queue in the current language.

import type { AgentStateName } from '@/api/types'

/** 75 → "1:15", 3725 → "1:02:05". Negative or missing → "–". */
export function clock(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs) || secs < 0) return '–'
  const s = Math.floor(secs)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m)
  return `${h > 0 ? h + ':' : ''}${mm}:${String(r).padStart(2, '0')}`
}

/** A 0–1 share as "83.5%" (one decimal below 100). */
export function pct(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '–'
  const v = share * 100
  return `${v >= 99.95 ? '100' : v.toFixed(digits)}%`
}

export function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  return digits ? v.toFixed(digits) : String(Math.round(v))
}

/** Epoch ms → "2025-03-04 14:05" in local time. */
export function dateTime(ms: number | null | undefined, withSeconds = false): string {
  if (!ms) return '–'
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  const base = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
  return withSeconds ? `${base}:${p(d.getSeconds())}` : base
}

/** Element Plus tag type and our colour for each agent state. */
export const STATE_COLOR: Record<AgentStateName, string> = {
  ready: 'var(--kf-ready)',
  not_ready: 'var(--kf-notready)',
  reserved: 'var(--kf-ring)',
  talking: 'var(--kf-busy)',
  on_hold: '#b91c1c',
  after_call_work: 'var(--kf-acw)',
  logged_out: 'var(--kf-off)',
}

export const STATE_ORDER: AgentStateName[] = [
  'ready',
  'reserved',
  'talking',
  'on_hold',
  'after_call_work',
  'not_ready',
  'logged_out',
]

/** Whether an agent in this state is on (or being offered) a call. */
export function onCall(state: AgentStateName): boolean {
  return state === 'talking' || state === 'on_hold' || state === 'reserved'
}

const CJK = /[\u3400-\u9fff]/

/**
 * The demo describes queues bilingually ("投诉 Complaints"): show the part in the user's
 * language; any other description is shown as it is, and without one the name.
 */
export function queueLabel(name: string, description: string | undefined | null, locale: string): string {
  const d = (description ?? '').trim()
  if (!d) return name
  let last = -1
  for (let i = 0; i < d.length; i++) if (CJK.test(d[i]!)) last = i
  const en = d.slice(last + 1).trim()
  if (last < 0 || !/^[A-Za-z]/.test(en)) return d
  return locale.startsWith('zh') ? d.slice(0, last + 1).trim() : en
}
