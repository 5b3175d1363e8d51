// GET /wallboard/trend?hours=N: per queue and 15-minute interval, calls offered, answered and
// abandoned and the service level. Read into one list of points whatever the nesting.

export interface TrendPoint {
  queue: string
  /** Interval start, epoch ms. */
  at: number
  offered: number
  answered: number
  abandoned: number
  /** 0–1 or null (no call in the interval). */
  sl: number | null
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v)
const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)

function time(v: unknown): number | null {
  if (typeof v === 'number') return v < 1e12 ? v * 1000 : v
  if (typeof v === 'string') {
    const t = Date.parse(v)
    return Number.isNaN(t) ? null : t
  }
  return null
}

function point(o: Obj, queue: string): TrendPoint | null {
  const at = time(o.start ?? o.at ?? o.from ?? o.interval_start ?? o.t ?? o.time)
  if (at === null) return null
  let sl: number | null = null
  const raw = o.service_level ?? o.sl ?? o.service_level_pct
  if (typeof raw === 'number' && Number.isFinite(raw)) sl = raw > 1.0001 || 'service_level_pct' in o ? raw / 100 : raw
  return {
    queue: String(o.queue_id ?? o.queue ?? o.name ?? queue),
    at,
    offered: n(o.offered),
    answered: n(o.answered),
    abandoned: n(o.abandoned),
    sl,
  }
}

export function toTrend(body: unknown): TrendPoint[] {
  const out: TrendPoint[] = []
  const walk = (v: unknown, queue: string) => {
    if (Array.isArray(v)) {
      v.forEach((x) => walk(x, queue))
      return
    }
    if (!isObj(v)) return
    const q = String(v.queue_id ?? v.queue ?? v.id ?? v.name ?? queue)
    const inner = v.points ?? v.buckets ?? v.intervals ?? v.series ?? v.trend
    if (Array.isArray(inner)) {
      inner.forEach((x) => isObj(x) && (() => {
        const p = point(x, q)
        if (p) out.push(p)
      })())
      return
    }
    if (Array.isArray(v.queues)) {
      walk(v.queues, queue)
      return
    }
    const p = point(v, queue)
    if (p) out.push(p)
  }
  if (isObj(body) && isObj(body.total) && Array.isArray(body.total.points)) {
    // the server's all-queue line: used as it is for "all queues"
    walk(body.queues ?? [], '')
    walk({ ...body.total, id: '*' }, '*')
  } else {
    walk(body, '')
  }
  return out.sort((a, b) => a.at - b.at)
}

/** Sums the points of the chosen queues per interval (SL weighted by answered + abandoned). */
export function aggregate(points: TrendPoint[], queue: string | null): TrendPoint[] {
  if (!queue && points.some((p) => p.queue === '*')) return points.filter((p) => p.queue === '*')
  if (!queue) points = points.filter((p) => p.queue !== '*')
  const by = new Map<number, TrendPoint & { slWeight: number; slSum: number }>()
  for (const p of points) {
    if (queue && p.queue !== queue) continue
    let a = by.get(p.at)
    if (!a) by.set(p.at, (a = { queue: queue ?? '*', at: p.at, offered: 0, answered: 0, abandoned: 0, sl: null, slWeight: 0, slSum: 0 }))
    a.offered += p.offered
    a.answered += p.answered
    a.abandoned += p.abandoned
    if (p.sl !== null) {
      const w = Math.max(1, p.answered + p.abandoned)
      a.slWeight += w
      a.slSum += p.sl * w
    }
  }
  return [...by.values()]
    .sort((x, y) => x.at - y.at)
    .map(({ slWeight, slSum, ...p }) => ({ ...p, sl: slWeight ? slSum / slWeight : null }))
}
