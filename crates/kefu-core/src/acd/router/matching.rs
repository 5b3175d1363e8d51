//! Queueing and matching: putting calls in order, picking agents by strategy, offers, and
//! what happens when a call is answered, rings out, is abandoned or ends.

use super::*;

impl Router {
    // ---------------------------------------------------------------- queueing

    /// Puts a (new or moved) call into its queue, offers it if an agent is free, otherwise
    /// announces its position and arms its timers.
    pub(super) fn enqueue(&mut self, now: Timestamp, call: InteractionId, from: Option<usize>, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let (q, level, seq) = (c.queue, usize::from(c.priority), c.seq);
        let fifo = &mut self.queues[q].waiting[level];
        // keep arrival order (a moved call keeps its original arrival)
        let pos = fifo.iter().position(|other| self.calls.get(other).is_some_and(|o| !o.head && o.seq > seq));
        match pos {
            Some(p) => fifo.insert(p, call),
            None => fifo.push_back(call),
        }
        self.queues[q].counters.offered += 1;
        let position = self.position_of(call, now);
        let (priority, customer) = (Priority(self.calls[&call].priority), self.calls[&call].customer);
        out.push(event(
            now,
            D::CallQueued {
                call,
                queue: self.queues[q].cfg.id,
                priority,
                position,
                customer,
                overflowed_from: from.map(|f| self.queues[f].cfg.id),
            },
        ));
        // overflow timers of this queue
        let queued_at = now;
        for step in &self.queues[q].cfg.overflow {
            let at = queued_at.plus_millis(i64::from(step.after_secs) * 1000);
            self.timers.insert((at, Timer::Overflow { call, queue: q, queued_at }));
        }
        if self.offer_call(now, call, out) {
            return;
        }
        if self.check_overflow(now, call, out) {
            return;
        }
        if self.settings.announce_every_ms > 0 {
            self.announce(now, call, out);
        }
    }

    pub(super) fn position_of(&self, call: InteractionId, now: Timestamp) -> usize {
        let Some(c) = self.calls.get(&call) else {
            return 0;
        };
        let key = self.key(c, now);
        let q = &self.queues[c.queue];
        1 + q
            .waiting
            .iter()
            .flatten()
            .filter(|other| **other != call)
            .filter_map(|other| self.calls.get(other))
            .filter(|o| self.key(o, now) > key)
            .count()
    }

    /// Ordering key of a waiting call at `now`: larger is served first.
    pub(super) fn key(&self, c: &CallEntry, now: Timestamp) -> CallKey {
        let aged = now.millis_since(c.arrived).max(0) / self.settings.priority_aging_ms.max(1);
        (i64::from(c.priority) + aged, c.head, std::cmp::Reverse(c.seq))
    }

    pub(super) fn remove_waiting(&mut self, call: InteractionId) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let fifo = &mut self.queues[c.queue].waiting[usize::from(c.priority)];
        if let Some(p) = fifo.iter().position(|x| *x == call) {
            fifo.remove(p);
        }
        if !c.widened.is_empty() {
            self.widened_calls.retain(|x| *x != call);
        }
    }

    pub(super) fn ring_deadline(&self, since: Timestamp) -> Timestamp {
        since.plus_millis(self.settings.ring_timeout_ms)
    }

    pub(super) fn cancel_ring_timer(&mut self, call: InteractionId, agent: usize, since: Timestamp) {
        let at = self.ring_deadline(since);
        self.timers.remove(&(at, Timer::Ring { call, agent, since }));
    }

    pub(super) fn cancel_announce_timer(&mut self, call: InteractionId) {
        if let Some(c) = self.calls.get_mut(&call)
            && let Some(at) = c.next_announce.take()
        {
            self.timers.remove(&(at, Timer::Announce { call }));
        }
    }

    /// Drops the call's overflow and announcement timers (it was answered or left its queue).
    pub(super) fn cancel_queue_timers(&mut self, call: InteractionId) {
        self.cancel_announce_timer(call);
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let (queue, queued_at) = (c.queue, c.queued_at);
        for step in &self.queues[queue].cfg.overflow {
            let at = queued_at.plus_millis(i64::from(step.after_secs) * 1000);
            self.timers.remove(&(at, Timer::Overflow { call, queue, queued_at }));
        }
    }

    pub(super) fn ewt_ms(&self, q: usize, position: usize) -> i64 {
        let mut staffed = 0usize;
        self.for_each_eligible(q, &[], |a| {
            if self.agents[a].agent.state().is_staffed() {
                staffed += 1;
            }
        });
        let aht = self.queues[q].aht_ms;
        (position as f64 * aht / staffed.max(1) as f64) as i64
    }

    pub(super) fn announce(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        if c.state != CallState::Waiting {
            return;
        }
        let q = c.queue;
        let position = self.position_of(call, now);
        let ewt_secs = (self.ewt_ms(q, position) / 1000).clamp(0, i64::from(u32::MAX)) as u32;
        out.push(Action::Announce { call, position, ewt_secs });
        let next = now.plus_millis(self.settings.announce_every_ms);
        if let Some(c) = self.calls.get_mut(&call) {
            c.next_announce = Some(next);
        }
        self.timers.insert((next, Timer::Announce { call }));
    }

    // ---------------------------------------------------------------- matching

    /// Queues whose agents may take calls of queue `q`: itself and its merge group.
    pub(super) fn group_of(&self, q: usize) -> &[usize] {
        match self.queues[q].group.and_then(|g| self.groups.get(g)).and_then(Option::as_deref) {
            Some(members) => members,
            None => &self.queues[q].me,
        }
    }

    /// Calls `f` once for every agent that may take a call of queue `q` widened to `extra`.
    pub(super) fn for_each_eligible(&self, q: usize, extra: &[usize], mut f: impl FnMut(usize)) {
        let group = self.group_of(q);
        if extra.is_empty() && group.len() == 1 {
            for &a in &self.queues[group[0]].qualified {
                f(a);
            }
            return;
        }
        let mut queues: Vec<usize> = group.to_vec();
        for &w in extra {
            for &g in self.group_of(w) {
                if !queues.contains(&g) {
                    queues.push(g);
                }
            }
        }
        let mut seen = vec![false; self.agents.len()];
        for qq in queues {
            for &a in &self.queues[qq].qualified {
                if !seen[a] {
                    seen[a] = true;
                    f(a);
                }
            }
        }
    }

    /// The strategy's view of agent `a` for a call of queue `cfg`; the costlier fields are
    /// filled only for the strategies that use them.
    pub(super) fn candidate(&self, a: usize, cfg: &QueueConfig) -> Candidate {
        let e = &self.agents[a];
        Candidate {
            idx: a,
            id: e.id,
            idle_since: e.agent.idle_since(),
            calls_answered: e.agent.calls_answered(),
            skill_score: if cfg.strategy == QueueStrategy::SkillWeighted { score_for(&e.skills, cfg) } else { 0 },
            order_rank: if cfg.strategy == QueueStrategy::TopDown {
                cfg.agent_order.iter().position(|x| *x == e.id).unwrap_or(usize::MAX)
            } else {
                0
            },
        }
    }

    /// The free agent(s) a waiting call should ring, by its queue's strategy.
    pub(super) fn choose(&self, c: &CallEntry) -> Vec<usize> {
        let q = c.queue;
        let cfg = &self.queues[q].cfg;
        let ready = |a: usize| self.agents[a].agent.state() == AgentState::Ready;
        match cfg.strategy {
            QueueStrategy::RingAll => {
                let mut all: Vec<Candidate> = Vec::new();
                self.for_each_eligible(q, &c.widened, |a| {
                    if ready(a) {
                        all.push(self.candidate(a, cfg));
                    }
                });
                all.sort_by(|x, y| strategy::compare(QueueStrategy::RingAll, x, y));
                all.iter().map(|x| x.idx).collect()
            }
            strategy => {
                let mut picker = strategy::Picker::new(strategy, self.queues[q].rr_last);
                self.for_each_eligible(q, &c.widened, |a| {
                    if ready(a) {
                        picker.consider(self.candidate(a, cfg));
                    }
                });
                picker.finish().map(|b| vec![b.idx]).unwrap_or_default()
            }
        }
    }

    /// Offers a waiting call to the best free agent(s). Returns whether it was offered.
    pub(super) fn offer_call(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) -> bool {
        let chosen = match self.calls.get(&call) {
            Some(c) if c.state == CallState::Waiting => self.choose(c),
            _ => return false,
        };
        if chosen.is_empty() {
            return false;
        }
        for a in chosen {
            self.offer(now, call, a, out);
        }
        true
    }

    pub(super) fn offer(&mut self, now: Timestamp, call: InteractionId, a: usize, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let q = c.queue;
        let was_waiting = c.state == CallState::Waiting;
        let wait_ms = now.millis_since(c.queued_at);
        if was_waiting {
            self.remove_waiting(call);
            self.cancel_announce_timer(call);
        }
        self.force(now, a, AgentInput::Offer(call), out);
        let agent = self.agents[a].id;
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Ringing;
            c.offers.push((a, now));
        }
        self.queues[q].rr_last = Some(agent);
        self.timers.insert((self.ring_deadline(now), Timer::Ring { call, agent: a, since: now }));
        out.push(Action::Offer { call, agent, queue: self.queues[q].cfg.id });
        out.push(event(now, D::CallOffered { call, queue: self.queues[q].cfg.id, agent, wait_ms }));
    }

    /// Gives a newly free agent the best waiting call they may take.
    pub(super) fn assign_agent(&mut self, now: Timestamp, a: usize, out: &mut Vec<Action>) {
        if self.agents[a].agent.state() != AgentState::Ready {
            return;
        }
        let mut best: Option<(CallKey, InteractionId)> = None;
        let consider = |router: &Router, call: InteractionId, best: &mut Option<_>| {
            if let Some(c) = router.calls.get(&call) {
                let k = router.key(c, now);
                if best.as_ref().is_none_or(|(bk, _)| k > *bk) {
                    *best = Some((k, call));
                }
            }
        };
        let mut reachable: Vec<usize> = Vec::new();
        for &q in &self.agents[a].queues {
            for &g in self.group_of(q) {
                if !reachable.contains(&g) {
                    reachable.push(g);
                }
            }
        }
        for &q in &reachable {
            for fifo in &self.queues[q].waiting {
                if let Some(&front) = fifo.front() {
                    consider(self, front, &mut best);
                }
            }
        }
        for &call in &self.widened_calls {
            if let Some(c) = self.calls.get(&call)
                && c.state == CallState::Waiting
                && !reachable.contains(&c.queue)
                && c.widened.iter().any(|w| self.group_of(*w).iter().any(|g| self.agents[a].queues.contains(g)))
            {
                consider(self, call, &mut best);
            }
        }
        if let Some((_, call)) = best {
            self.offer(now, call, a, out);
        }
    }

    // ---------------------------------------------------------------- call outcomes

    pub(super) fn answer(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        agent: UserId,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        let Some(&(_, rang_since)) = c.offers.iter().find(|(x, _)| *x == a) else {
            return Err(AcdError::NotOffered { call, agent });
        };
        let offers = c.offers.clone();
        let others: Vec<usize> = offers.iter().map(|(x, _)| *x).filter(|x| *x != a).collect();
        let (q, queued_at) = (c.queue, c.queued_at);
        self.transition(now, a, AgentInput::Answer, out)?;
        for (x, since) in offers {
            self.cancel_ring_timer(call, x, since);
        }
        self.cancel_queue_timers(call);
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Connected { agent: a, answered_at: now, hold_ms: 0, hold_since: None };
            c.offers.clear();
        }
        let wait_ms = now.millis_since(queued_at);
        let sl = self.queues[q].cfg.sl_threshold_ms;
        let counters = &mut self.queues[q].counters;
        counters.answered += 1;
        counters.answer_wait_ms += wait_ms;
        if wait_ms <= sl {
            counters.answered_in_sl += 1;
        }
        out.push(event(
            now,
            D::CallAnswered {
                call,
                queue: self.queues[q].cfg.id,
                agent,
                wait_ms,
                ring_ms: now.millis_since(rang_since),
            },
        ));
        for o in others {
            out.push(Action::CancelOffer { call, agent: self.agents[o].id });
            self.force(now, o, AgentInput::OfferCancelled, out);
            self.assign_agent(now, o, out);
        }
        Ok(())
    }

    /// An offer to agent `a` ended without an answer (rang out or declined).
    pub(super) fn ring_out(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        a: usize,
        declined: bool,
        out: &mut Vec<Action>,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(p) = c.offers.iter().position(|(x, _)| *x == a) else {
            return;
        };
        let (_, since) = c.offers.remove(p);
        let (q, no_more_offers) = (c.queue, c.offers.is_empty());
        self.cancel_ring_timer(call, a, since);
        let agent = self.agents[a].id;
        if !declined {
            out.push(Action::CancelOffer { call, agent });
        }
        self.force(now, a, AgentInput::NoAnswer, out);
        out.push(event(
            now,
            D::CallNoAnswer { call, queue: self.queues[q].cfg.id, agent, ring_ms: now.millis_since(since), declined },
        ));
        let max = self.settings.max_no_answer;
        if max > 0 && self.agents[a].agent.consecutive_no_answers() >= max {
            self.force(now, a, AgentInput::ForceLogout, out);
        }
        if no_more_offers {
            self.requeue_head(now, call, out);
        }
    }

    /// An offer withdrawn without the agent's fault (agent logged out while ringing).
    pub(super) fn withdraw_offer(&mut self, now: Timestamp, call: InteractionId, a: usize, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let since = c.offers.iter().find(|(x, _)| *x == a).map(|(_, s)| *s);
        c.offers.retain(|(x, _)| *x != a);
        let requeue = c.offers.is_empty() && c.state == CallState::Ringing;
        if let Some(since) = since {
            self.cancel_ring_timer(call, a, since);
        }
        if requeue {
            self.requeue_head(now, call, out);
        }
    }

    /// Back to the front of its queue, then straight to the next free agent if there is one.
    pub(super) fn requeue_head(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.state = CallState::Waiting;
        c.head = true;
        let (q, level) = (c.queue, usize::from(c.priority));
        let widened = !c.widened.is_empty();
        self.queues[q].waiting[level].push_front(call);
        if widened && !self.widened_calls.contains(&call) {
            self.widened_calls.push(call);
        }
        if self.offer_call(now, call, out) || self.check_overflow(now, call, out) {
            return;
        }
        if self.settings.announce_every_ms > 0 && self.calls.get(&call).is_some_and(|c| c.next_announce.is_none()) {
            self.announce(now, call, out);
        }
    }

    /// The caller hung up (`left` is `None`) or chose to leave the queue for `left` (a
    /// voicemail or a callback): either way the call is gone; only a hang-up is an abandon.
    pub(super) fn abandon(
        &mut self,
        now: Timestamp,
        call: InteractionId,
        left: Option<OverflowAction>,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        if let CallState::Connected { .. } = c.state {
            return Err(AcdError::CallState { call, state: "connected", expected: "waiting or ringing" });
        }
        let position = self.position_of(call, now);
        let c = &self.calls[&call];
        let (q, wait_ms, offers) = (c.queue, now.millis_since(c.queued_at), c.offers.clone());
        self.remove_waiting(call);
        self.cancel_queue_timers(call);
        for (a, since) in &offers {
            self.cancel_ring_timer(call, *a, *since);
        }
        self.calls.remove(&call);
        let sl = self.queues[q].cfg.sl_threshold_ms;
        let queue = self.queues[q].cfg.id;
        let counters = &mut self.queues[q].counters;
        if let Some(action) = left {
            counters.left += 1;
            out.push(event(now, D::CallLeftQueue { call, queue, action, wait_ms, position }));
        } else {
            if wait_ms < self.settings.short_abandon_ms {
                counters.short_abandoned += 1;
            } else {
                counters.abandoned += 1;
                if wait_ms > sl {
                    counters.abandoned_after_sl += 1;
                }
            }
            out.push(event(now, D::CallAbandoned { call, queue, wait_ms, position }));
        }
        for (a, _) in offers {
            out.push(Action::CancelOffer { call, agent: self.agents[a].id });
            self.force(now, a, AgentInput::OfferCancelled, out);
            self.assign_agent(now, a, out);
        }
        Ok(())
    }

    pub(super) fn end(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) -> Result<(), AcdError> {
        let c = self.calls.get(&call).ok_or(AcdError::UnknownCall(call))?;
        let CallState::Connected { agent: a, answered_at, hold_ms, hold_since } = c.state else {
            return Err(AcdError::CallState { call, state: c.state.name(), expected: "connected" });
        };
        let q = c.queue;
        let hold_ms = hold_ms + hold_since.map_or(0, |s| now.millis_since(s));
        let talk_ms = now.millis_since(answered_at) - hold_ms;
        self.transition(now, a, AgentInput::CallEnded, out)?;
        self.calls.remove(&call);
        let handle = (talk_ms + hold_ms + self.settings.acw_ms) as f64;
        let alpha = self.settings.aht_smoothing;
        let qs = &mut self.queues[q];
        qs.aht_ms = alpha * handle + (1.0 - alpha) * qs.aht_ms;
        qs.counters.completed += 1;
        out.push(event(now, D::CallCompleted { call, queue: qs.cfg.id, agent: self.agents[a].id, talk_ms, hold_ms }));
        self.assign_agent(now, a, out);
        Ok(())
    }

    /// [`Input::OutsideCallStarted`](super::Input::OutsideCallStarted).
    pub(super) fn outside_call_started(
        &mut self,
        now: Timestamp,
        agent: UserId,
        call: InteractionId,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        let routed = self.calls.get(&call).is_some_and(|c| {
            c.offers.iter().any(|(x, _)| *x == a) || matches!(c.state, CallState::Connected { agent, .. } if agent == a)
        });
        if routed {
            return Ok(());
        }
        let offered = match self.agents[a].agent.state() {
            AgentState::LoggedOut | AgentState::Talking { .. } | AgentState::OnHold { .. } => return Ok(()),
            AgentState::Reserved { call } => Some(call),
            AgentState::Ready | AgentState::NotReady { .. } | AgentState::AfterCallWork { .. } => None,
        };
        if let Some(offered) = offered {
            // the phone took another call while a queue call rang at it: that offer is over,
            // and the queue call goes back to the front once the agent is busy (not to them)
            out.push(Action::CancelOffer { call: offered, agent });
            self.force(now, a, AgentInput::OfferCancelled, out);
            self.transition(now, a, AgentInput::Direct(call), out)?;
            self.agents[a].outside = Some(call);
            self.withdraw_offer(now, offered, a, out);
        } else {
            self.transition(now, a, AgentInput::Direct(call), out)?;
            self.agents[a].outside = Some(call);
        }
        let queues = self.agents[a].queues.clone();
        self.check_conditional_overflow(now, &queues, out);
        Ok(())
    }

    /// [`Input::OutsideCallEnded`](super::Input::OutsideCallEnded).
    pub(super) fn outside_call_ended(
        &mut self,
        now: Timestamp,
        agent: UserId,
        call: InteractionId,
        out: &mut Vec<Action>,
    ) -> Result<(), AcdError> {
        let a = self.agent_idx(agent)?;
        if self.agents[a].outside != Some(call) {
            return Ok(());
        }
        self.transition(now, a, AgentInput::CallEnded, out)?;
        self.agents[a].outside = None;
        self.assign_agent(now, a, out);
        Ok(())
    }
}
