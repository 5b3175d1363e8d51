//! Overflow rules, merge groups, timers and the bookkeeping self-check.

use super::*;

impl Router {
    // ---------------------------------------------------------------- overflow

    /// Fires the first due overflow step of a waiting call whose condition holds.
    /// Returns whether the call left its queue.
    pub(super) fn check_overflow(&mut self, now: Timestamp, call: InteractionId, out: &mut Vec<Action>) -> bool {
        let Some(c) = self.calls.get(&call) else {
            return false;
        };
        if c.state != CallState::Waiting {
            return false;
        }
        let q = c.queue;
        let waited = now.millis_since(c.queued_at);
        let steps = self.queues[q].cfg.overflow.clone();
        for (i, step) in steps.iter().enumerate() {
            let fired = self.calls.get(&call).is_none_or(|c| c.fired.get(i).copied().unwrap_or(true));
            if fired || waited < i64::from(step.after_secs) * 1000 || !self.condition_holds(q, &step.when) {
                continue;
            }
            if let Some(c) = self.calls.get_mut(&call) {
                c.fired[i] = true;
            }
            out.push(event(
                now,
                D::CallOverflowed {
                    call,
                    queue: self.queues[q].cfg.id,
                    step: i,
                    action: step.action.clone(),
                    wait_ms: waited,
                },
            ));
            out.push(Action::Overflow { call, queue: self.queues[q].cfg.id, step: i, action: step.action.clone() });
            self.queues[q].counters.overflowed += 1;
            match &step.action {
                OverflowAction::Widen { queues } => {
                    let targets: Vec<usize> = queues.iter().filter_map(|t| self.queue_index.get(t).copied()).collect();
                    if let Some(c) = self.calls.get_mut(&call) {
                        for t in targets {
                            if !c.widened.contains(&t) {
                                c.widened.push(t);
                            }
                        }
                    }
                    if !self.widened_calls.contains(&call) {
                        self.widened_calls.push(call);
                    }
                    if self.offer_call(now, call, out) {
                        return false;
                    }
                }
                OverflowAction::Queue { queue } => {
                    let Some(&target) = self.queue_index.get(queue) else {
                        continue;
                    };
                    self.remove_waiting(call);
                    self.cancel_queue_timers(call);
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.queue = target;
                        c.queued_at = now;
                        c.head = false;
                        c.widened.clear();
                        c.fired = vec![false; self.queues[target].cfg.overflow.len()];
                    }
                    self.enqueue(now, call, Some(q), out);
                    return true;
                }
                _ => {
                    self.remove_waiting(call);
                    self.cancel_queue_timers(call);
                    self.calls.remove(&call);
                    return true;
                }
            }
        }
        false
    }

    pub(super) fn condition_holds(&self, q: usize, when: &OverflowWhen) -> bool {
        match when {
            OverflowWhen::Always => true,
            OverflowWhen::QueueLongerThan { max } => {
                self.queues[q].waiting.iter().map(VecDeque::len).sum::<usize>() > *max as usize
            }
            OverflowWhen::NoAgentsLoggedIn => {
                let mut any = false;
                self.for_each_eligible(q, &[], |a| any |= self.agents[a].agent.state() != AgentState::LoggedOut);
                !any
            }
            OverflowWhen::AllAgentsNotReady => {
                let (mut logged_in, mut not_ready) = (0usize, 0usize);
                self.for_each_eligible(q, &[], |a| match self.agents[a].agent.state() {
                    AgentState::LoggedOut => {}
                    AgentState::NotReady { .. } => {
                        logged_in += 1;
                        not_ready += 1;
                    }
                    _ => logged_in += 1,
                });
                logged_in > 0 && logged_in == not_ready
            }
        }
    }

    /// Re-checks armed conditional steps of waiting calls in these queues (after agents
    /// left or went not ready).
    pub(super) fn check_conditional_overflow(&mut self, now: Timestamp, queues: &[usize], out: &mut Vec<Action>) {
        for &q in queues {
            if !self.queues[q].cfg.overflow.iter().any(|s| s.when != OverflowWhen::Always) {
                continue;
            }
            let calls: Vec<InteractionId> = self.queues[q].waiting.iter().flatten().copied().collect();
            for call in calls {
                self.check_overflow(now, call, out);
            }
        }
    }

    // ---------------------------------------------------------------- merge groups

    pub(super) fn merge(&mut self, now: Timestamp, queues: &[QueueId], out: &mut Vec<Action>) -> Result<(), AcdError> {
        let mut members = Vec::new();
        for id in queues {
            let q = *self.queue_index.get(id).ok_or(AcdError::UnknownQueue(*id))?;
            if !members.contains(&q) {
                members.push(q);
            }
        }
        if members.len() < 2 {
            return Err(AcdError::Merge("merging needs at least two different queues".into()));
        }
        if let Some(&q) = members.iter().find(|&&q| self.queues[q].group.is_some()) {
            return Err(AcdError::Merge(format!(
                "queue {} is already merged; split it first",
                self.queues[q].cfg.name
            )));
        }
        members.sort_unstable();
        let g = self.groups.len();
        self.groups.push(Some(members.clone()));
        for &q in &members {
            self.queues[q].group = Some(g);
        }
        out.push(event(now, D::QueuesMerged { queues: members.iter().map(|&q| self.queues[q].cfg.id).collect() }));
        // agents of any member may now take the others' waiting calls, oldest first
        let mut free: Vec<usize> = Vec::new();
        for &q in &members {
            for &a in &self.queues[q].qualified {
                if self.agents[a].agent.state() == AgentState::Ready && !free.contains(&a) {
                    free.push(a);
                }
            }
        }
        free.sort_by_key(|&a| (self.agents[a].agent.idle_since(), self.agents[a].id));
        for a in free {
            self.assign_agent(now, a, out);
        }
        Ok(())
    }

    pub(super) fn split(&mut self, now: Timestamp, queue: QueueId, out: &mut Vec<Action>) -> Result<(), AcdError> {
        let q = *self.queue_index.get(&queue).ok_or(AcdError::UnknownQueue(queue))?;
        let g = self.queues[q]
            .group
            .ok_or_else(|| AcdError::Merge(format!("queue {} is not merged", self.queues[q].cfg.name)))?;
        let members = self.groups.get_mut(g).and_then(Option::take).unwrap_or_default();
        for &m in &members {
            self.queues[m].group = None;
        }
        out.push(event(now, D::QueuesSplit { queues: members.iter().map(|&m| self.queues[m].cfg.id).collect() }));
        Ok(())
    }

    // ---------------------------------------------------------------- timers

    pub(super) fn tick(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::Ring { call, agent, since } => {
                    let still =
                        self.calls.get(&call).is_some_and(|c| c.offers.iter().any(|&(a, s)| a == agent && s == since));
                    if still {
                        self.ring_out(at.max(since), call, agent, false, out);
                    }
                }
                Timer::Acw { agent } => {
                    if matches!(self.agents[agent].agent.state(), AgentState::AfterCallWork { until, .. } if until <= now)
                    {
                        self.force(now, agent, AgentInput::Tick, out);
                        self.assign_agent(now, agent, out);
                    }
                }
                Timer::Overflow { call, queue, queued_at } => {
                    if self.calls.get(&call).is_some_and(|c| c.queue == queue && c.queued_at == queued_at) {
                        self.check_overflow(now, call, out);
                    }
                }
                Timer::Announce { call } => {
                    if self.calls.get(&call).is_some_and(|c| c.next_announce == Some(at)) {
                        self.announce(now, call, out);
                    }
                }
            }
        }
    }

    /// Checks the router's internal bookkeeping; used by tests and debug builds.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut bound: HashMap<InteractionId, Vec<usize>> = HashMap::new();
        for (i, e) in self.agents.iter().enumerate() {
            if let Some(call) = e.outside {
                // a call the router did not route: the agent is on it, and on nothing else
                if !matches!(e.agent.state(), AgentState::Talking { call: c } | AgentState::OnHold { call: c } if c == call)
                {
                    return Err(format!("agent {i} outside the queue on {call} but {:?}", e.agent.state()));
                }
                continue;
            }
            if let Some(call) = e.agent.state().call()
                && !matches!(e.agent.state(), AgentState::AfterCallWork { .. })
            {
                bound.entry(call).or_default().push(i);
            }
        }
        let mut waiting_seen = std::collections::HashSet::new();
        for (qi, q) in self.queues.iter().enumerate() {
            for (level, fifo) in q.waiting.iter().enumerate() {
                for call in fifo {
                    let c = self.calls.get(call).ok_or(format!("queued call {call} unknown"))?;
                    if c.state != CallState::Waiting || c.queue != qi || usize::from(c.priority) != level {
                        return Err(format!("call {call} misfiled in queue {qi} level {level}: {:?}", c.state));
                    }
                    if !waiting_seen.insert(*call) {
                        return Err(format!("call {call} is queued twice"));
                    }
                }
            }
        }
        for (id, c) in &self.calls {
            let agents = bound.remove(id).unwrap_or_default();
            match c.state {
                CallState::Waiting => {
                    if !waiting_seen.contains(id) || !agents.is_empty() || !c.offers.is_empty() {
                        return Err(format!("waiting call {id} not queued or bound to agents"));
                    }
                }
                CallState::Ringing => {
                    let mut offered: Vec<usize> = c.offers.iter().map(|(a, _)| *a).collect();
                    offered.sort_unstable();
                    let mut agents = agents.clone();
                    agents.sort_unstable();
                    if offered.is_empty() || offered != agents {
                        return Err(format!("ringing call {id}: offers {offered:?} vs reserved agents {agents:?}"));
                    }
                    if self.queues[c.queue].cfg.strategy != QueueStrategy::RingAll && offered.len() > 1 {
                        return Err(format!("call {id} rings {} agents without ring-all", offered.len()));
                    }
                }
                CallState::Connected { agent, .. } => {
                    if agents != vec![agent] {
                        return Err(format!("connected call {id} bound to {agents:?}, expected [{agent}]"));
                    }
                }
            }
        }
        if let Some((call, agents)) = bound.into_iter().next() {
            return Err(format!("agents {agents:?} bound to unknown call {call}"));
        }
        Ok(())
    }

    /// Calls the router still holds (waiting, ringing or connected).
    pub fn calls_in_progress(&self) -> usize {
        self.calls.len()
    }

    /// Not-ready reason an agent asked for during a call, if any.
    pub fn pending_not_ready(&self, agent: UserId) -> Option<NotReadyReason> {
        self.agent(agent).and_then(Agent::pending_not_ready)
    }
}
