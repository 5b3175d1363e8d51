// The agent's live situation for the desktop: ACD state (with when it began and the ACW
// deadline), the ringing/current call, its screen-pop, and the wrap-up still to file.
// Sources: the CTI stream (snapshot, agent.state, call.offer, call.progress) and the REST API
// (GET /agents/me/state, GET /calls/{id}) — REST on start and whenever the socket was down,
// so the desktop is right even without the stream.

import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import { http, ApiError } from '@/api/http'
import { cti, type CtiFrame } from '@/api/cti'
import { useSession } from './session'
import { maskNumber } from '@/utils/html'
import type { AgentRow, AgentStateName, AgentView, CallProgress, LiveCall, NotReadyReason, Offer } from '@/api/types'

export interface WrapUp {
  call: string
  offer: Offer | null
  /** The caller's number as shown (masked for agents). */
  caller: string | null
  /** When the call ended (null while it lasts: the wrap-up may be filed during the call). */
  endedAt: number | null
  /** The work order filed for this call, once filed (later submits update it). */
  ticketId?: string
  ticketNumber?: string
  ticketVersion?: number
}

const CALL_STATES: AgentStateName[] = ['reserved', 'talking', 'on_hold']

export const useAgent = defineStore('agent', () => {
  const session = useSession()
  const state = ref<AgentStateName>('logged_out')
  const reason = ref<NotReadyReason | null>(null)
  const since = ref<number>(Date.now())
  const acwUntil = ref<number | null>(null)
  const callId = ref<string | null>(null)
  /** A call this agent placed (click-to-dial): not an ACD call, followed by polling. */
  const dialledId = ref<string | null>(null)
  const call = ref<LiveCall | null>(null)
  const progress = ref<CallProgress | null>(null)
  const offer = ref<Offer | null>(null)
  /** Wrap-ups not filed yet (the current call's, and calls that ended), oldest first. */
  const wraps = ref<WrapUp[]>([])
  const chosenWrap = ref<string | null>(null)
  const loaded = ref(false)
  const available = ref(true) // the ACD answers (false when telephony/ACD is off)
  const lastNotReady = ref<NotReadyReason>((localStorage.getItem('kefu.lastReason') as NotReadyReason) || 'break')

  const me = computed(() => session.user?.id ?? null)
  const activeCall = computed(() => callId.value ?? dialledId.value)
  const inCall = computed(() => CALL_STATES.includes(state.value) || !!dialledId.value)
  const signedIn = computed(() => state.value !== 'logged_out')
  /** A live call's far end as this user may see it (GET /calls shows it unmasked). */
  function shownNumber(n: string | null | undefined): string | null {
    if (!n) return null
    return session.can('PiiRead') || n.includes('*') ? n : maskNumber(n)
  }
  /** The state to show: the ACD does not hear of holds (the call does), so a held call shows as on hold. */
  const shownState = computed<AgentStateName>(() =>
    state.value === 'talking' && (call.value?.state === 'held' || progress.value === 'held') ? 'on_hold' : state.value,
  )
  /** The wrap-up on screen: the one picked, else the current call's, else the oldest ended one. */
  const wrapUp = computed<WrapUp | null>(
    () =>
      wraps.value.find((w) => w.call === chosenWrap.value) ??
      wraps.value.find((w) => w.call === activeCall.value) ??
      wraps.value.find((w) => w.endedAt !== null) ??
      null,
  )

  function applyView(v: AgentView) {
    state.value = v.state
    reason.value = v.reason ?? null
    since.value = v.since
    acwUntil.value = v.state === 'after_call_work' ? (v.until ?? null) : null
    setCall(v.call ?? null)
  }

  function applyRow(r: AgentRow) {
    const prev = state.value
    state.value = r.state
    reason.value = r.reason ?? null
    since.value = r.since
    if (r.state !== 'after_call_work') acwUntil.value = null
    else if (prev !== 'after_call_work') void refresh() // the deadline comes with the REST view
    setCall(r.call ?? null)
  }

  function setCall(id: string | null) {
    const prev = callId.value
    if (id && CALL_STATES.includes(state.value)) {
      callId.value = id
    } else {
      callId.value = null
    }
    if (prev && prev !== callId.value) onCallGone(prev)
    else if (id && state.value === 'after_call_work') onCallGone(id) // e.g. the page loaded during ACW
    if (callId.value && callId.value !== prev) void loadCall()
    if (callId.value && (state.value === 'talking' || state.value === 'on_hold')) ensureWrap(callId.value)
    if (!callId.value && !dialledId.value) {
      call.value = null
      progress.value = null
    }
  }

  /** A wrap-up for a call that was answered (idempotent). */
  function ensureWrap(id: string) {
    if (wraps.value.some((w) => w.call === id)) return
    const o = offer.value?.call === id ? offer.value : null
    const far = call.value?.id === id ? call.value.customer : null
    wraps.value.push({ call: id, offer: o, caller: o?.caller ?? shownNumber(far), endedAt: null })
    if (wraps.value.length > 10) wraps.value.splice(0, wraps.value.length - 10)
  }

  /** A call of ours is over: its wrap-up (if it was answered) now waits to be filed. */
  function onCallGone(id: string) {
    const w = wraps.value.find((x) => x.call === id)
    if (w) {
      if (w.endedAt === null) w.endedAt = Date.now()
      if (!w.caller) w.caller = shownNumber(call.value?.id === id ? call.value.customer : null)
      if (!w.offer && offer.value?.call === id) w.offer = offer.value
      return
    }
    // ring-no-answer is not a handled call: nothing to wrap up
    const answered = !!call.value?.answered_at || (progress.value !== null && progress.value !== 'ringing')
    if (!answered && state.value !== 'after_call_work') return
    ensureWrap(id)
    const added = wraps.value.find((x) => x.call === id)
    if (added) added.endedAt = Date.now()
  }

  async function refresh() {
    try {
      const v = await http.get<AgentView>('/agents/me/state', { quiet: [404, 503] })
      applyView(v)
      available.value = true
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        state.value = 'logged_out'
        reason.value = null
        setCall(null)
      } else if (e instanceof ApiError && e.status === 503) {
        available.value = false
      }
    } finally {
      loaded.value = true
    }
  }

  async function loadCall() {
    const id = activeCall.value
    if (!id) return
    try {
      call.value = await http.get<LiveCall>(`/calls/${encodeURIComponent(id)}`, { quiet: [404, 503] })
      if (call.value.answered_at && !progress.value) progress.value = 'answered'
      if (call.value.answered_at) ensureWrap(id)
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        if (dialledId.value === id) {
          // the placed call is over
          if (call.value?.answered_at) onCallGone(id)
          dialledId.value = null
        }
        if (callId.value !== id) call.value = null
      }
    }
  }

  async function setState(want: 'ready' | 'not_ready' | 'logged_out', why?: NotReadyReason) {
    const body: Record<string, unknown> = { state: want }
    if (want === 'not_ready') {
      body.reason = why ?? lastNotReady.value
      lastNotReady.value = body.reason as NotReadyReason
      localStorage.setItem('kefu.lastReason', lastNotReady.value)
    }
    const v = await http.put<AgentView>('/agents/me/state', body)
    applyView(v)
  }

  const callPath = (suffix: string) => `/calls/${encodeURIComponent(activeCall.value ?? '')}${suffix}`
  async function hold() {
    await http.post(callPath('/hold'))
    progress.value = 'held'
    await loadCall()
  }
  async function resume() {
    await http.post(callPath('/unhold'))
    progress.value = 'resumed'
    await loadCall()
  }
  async function hangup() {
    await http.post(callPath('/hangup'))
    await loadCall()
  }
  async function transfer(target: string, mode: 'blind' | 'attended') {
    await http.post(callPath('/transfer'), { target, mode })
    await loadCall()
  }
  async function completeTransfer() {
    await http.post(callPath('/transfer/complete'))
    await loadCall()
  }
  async function cancelTransfer() {
    await http.post(callPath('/transfer/cancel'))
    await loadCall()
  }
  /** Makes the current consultation a three-way call (customer, agent, consulted party). */
  async function conference() {
    await http.post(callPath('/conference'))
    await loadCall()
  }
  async function placed(r: { id: string }) {
    dialledId.value = r.id
    progress.value = 'ringing'
    await loadCall()
    return r.id
  }
  async function dial(number: string) {
    return placed(await http.post<{ id: string }>('/calls', { number }))
  }
  /** Calls a customer's phone `phone` (0-based) by id: the server dials the clear number, the agent never sees it. */
  async function dialCustomer(customerId: string, phone: number) {
    return placed(await http.post<{ id: string }>('/calls', { customer_id: customerId, phone }))
  }

  /** The wrap-up of `call` is filed (or dropped): off the list. */
  function finishWrapUp(callId?: string) {
    const id = callId ?? wrapUp.value?.call
    wraps.value = wraps.value.filter((w) => w.call !== id)
    if (chosenWrap.value === id) chosenWrap.value = null
  }
  function chooseWrap(id: string | null) {
    chosenWrap.value = id
  }

  // ---- the stream
  const offs: Array<() => void> = []
  function listen() {
    if (offs.length) return
    offs.push(
      cti.on<{ agents: AgentRow[]; offer: Offer | null }>('snapshot', (f) => {
        const mine = f.data.agents?.find((a) => a.id === me.value)
        if (f.data.offer && f.data.offer.agent === me.value) offer.value = f.data.offer
        if (mine) applyRow(mine)
      }),
      cti.on<AgentRow>('agent.state', (f) => {
        if (f.data.id === me.value) applyRow(f.data)
      }),
      cti.on<Offer>('call.offer', (f: CtiFrame<Offer>) => {
        if (f.data.agent !== me.value) return
        offer.value = f.data
        progress.value = 'ringing'
      }),
      cti.on<{ call: string; agent: string; what: CallProgress }>('call.progress', (f) => {
        if (f.data.agent !== me.value) return
        if (f.data.call === activeCall.value || f.data.call === callId.value) {
          progress.value = f.data.what
          if (f.data.what === 'answered') ensureWrap(f.data.call)
          if (f.data.what === 'ended') {
            if (dialledId.value === f.data.call) {
              if (call.value?.answered_at) onCallGone(f.data.call)
              dialledId.value = null
            }
          } else {
            void loadCall()
          }
        } else if (f.data.what === 'ringing' || f.data.what === 'answered') {
          progress.value = f.data.what
        }
      }),
      cti.onStatus((s) => {
        if (s === 'open') void refresh()
      }),
    )
  }
  function unlisten() {
    offs.splice(0).forEach((off) => off())
  }

  // a placed call has no ACD state: follow it by polling while it lasts
  let poll: ReturnType<typeof setInterval> | null = null
  watch(
    () => [activeCall.value, cti.status] as const,
    ([id]) => {
      if (poll) clearInterval(poll)
      poll = null
      if (id) poll = setInterval(() => void loadCall(), dialledId.value || cti.status !== 'open' ? 2000 : 5000)
    },
  )
  // without the stream, poll the state too
  let statePoll: ReturnType<typeof setInterval> | null = null
  cti.onStatus((s) => {
    if (s !== 'open' && !statePoll && session.signedIn) statePoll = setInterval(() => void refresh(), 5000)
    if (s === 'open' && statePoll) {
      clearInterval(statePoll)
      statePoll = null
    }
    if (s === 'closed' && statePoll) {
      clearInterval(statePoll)
      statePoll = null
    }
  })

  function reset() {
    unlisten()
    state.value = 'logged_out'
    callId.value = dialledId.value = null
    call.value = null
    offer.value = null
    wraps.value = []
    chosenWrap.value = null
    progress.value = null
    loaded.value = false
  }

  // another user in this tab (sign-out, sign-in): nothing of the previous one may show
  watch(
    () => session.user?.id,
    (id, old) => {
      if (old && id !== old) reset()
    },
  )

  return {
    state,
    shownState,
    reason,
    since,
    acwUntil,
    callId,
    dialledId,
    activeCall,
    call,
    progress,
    offer,
    wrapUp,
    wraps,
    loaded,
    available,
    lastNotReady,
    inCall,
    signedIn,
    refresh,
    loadCall,
    setState,
    hold,
    resume,
    hangup,
    transfer,
    completeTransfer,
    cancelTransfer,
    dial,
    dialCustomer,
    conference,
    finishWrapUp,
    chooseWrap,
    shownNumber,
    listen,
    unlisten,
    reset,
  }
})
