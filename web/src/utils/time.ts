// Clocks and formats. One shared 1-second tick drives every timer on screen.
import { ref, type Ref } from 'vue'

const now = ref(Date.now())
let timer: ReturnType<typeof setInterval> | null = null
/** The current time in ms, updated every second (shared). */
export function useNow(): Ref<number> {
  if (!timer) timer = setInterval(() => (now.value = Date.now()), 1000)
  return now
}

/** 75 s → "01:15", 3725 s → "1:02:05". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  const s = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const mm = String(m).padStart(2, '0')
  const ss = String(sec).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

function pad(n: number) {
  return String(n).padStart(2, '0')
}
/** Epoch ms → "2026-11-22 14:05" (local time). */
export function dateTime(ms: number | null | undefined): string {
  if (!ms) return '—'
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}
/** Epoch ms → "14:05:09". */
export function clock(ms: number | null | undefined): string {
  if (!ms) return '—'
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}
/** Epoch ms → "11-22 14:05" (short, same year assumed). */
export function shortDateTime(ms: number | null | undefined): string {
  if (!ms) return '—'
  const d = new Date(ms)
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}
