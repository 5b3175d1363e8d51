//! The SLA worker: keeps each open work order's timers (rows with a due time) in step with its
//! state and fires each due timer exactly once — warnings, breaches and escalations. Firing is
//! one store transaction per timer (`Store::fire_timer`), so a restart continues from the rows
//! and several nodes on one database never fire a timer twice. Also opens the follow-up
//! callback of a resolved order.

use crate::state::AppState;
use kefu_core::TicketId;
use kefu_core::service::ticket::TicketStatus;
use kefu_store::{FireOutcome, ServiceConfig, SlaKind, StoreError};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Timers fired per round before the worker looks again.
const BATCH: u32 = 200;
/// Work orders whose timers are recomputed per batch after a configuration change.
const RECOMPUTE_BATCH: u32 = 500;

/// What request handlers share with the SLA worker: a wake-up call and the service
/// configuration (cached; the worker reloads it from the database every round, so a change
/// made on another node arrives within `sla_poll_ms`).
#[derive(Debug)]
pub struct SlaShared {
    wake: Notify,
    config: RwLock<Arc<ServiceConfig>>,
}

impl Default for SlaShared {
    fn default() -> Self {
        SlaShared { wake: Notify::new(), config: RwLock::new(Arc::new(ServiceConfig::default())) }
    }
}

impl SlaShared {
    /// The service configuration in force.
    pub fn config(&self) -> Arc<ServiceConfig> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the cached configuration.
    pub fn set_config(&self, cfg: ServiceConfig) {
        let cfg = Arc::new(cfg);
        match self.config.write() {
            Ok(mut c) => *c = cfg,
            Err(poisoned) => *poisoned.into_inner() = cfg,
        }
    }

    /// Wakes the worker: timers changed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Called after every change to a work order, so its timers follow its new state (and a
/// resolved order gets its callback). Failures are logged: the change itself is committed,
/// and the order's next change or a configuration change brings its timers back in step.
pub async fn ticket_changed(state: &AppState, ticket: TicketId) {
    if let Err(e) = follow(state, ticket).await {
        tracing::warn!(ticket = %ticket, error = %e, "could not update the work order's SLA timers");
    }
}

async fn follow(state: &AppState, id: TicketId) -> Result<(), StoreError> {
    let cfg = state.sla.config();
    let now = state.clock.now();
    let ticket = state.store.sync_ticket_timers(id, &cfg, now).await?;
    let after_ms = i64::from(state.settings.followup_after_mins).saturating_mul(60_000);
    state.store.sync_followup(&ticket, after_ms, now).await?;
    state.sla.wake();
    Ok(())
}

/// Loads the service configuration into the cache (at start); on failure logs it and keeps
/// what the cache holds (the defaults at start).
pub async fn load_config(state: &AppState) {
    match state.store.service_config().await {
        Ok(cfg) => state.sla.set_config(cfg),
        Err(e) => tracing::error!(error = %e, "could not read the service configuration; using the cached one"),
    }
}

/// Starts the worker; it stops when `stop` turns true or its sender is dropped.
pub fn start(state: AppState, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run(state, stop))
}

async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let poll_ms = i64::try_from(state.settings.sla_poll_ms.max(1)).unwrap_or(i64::MAX);
    tracing::debug!(poll_ms, "sla worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        load_config(&state).await;
        let wait_ms = match fire_due(&state).await {
            // sleep until the next timer is due, at most poll_ms; if something is still due
            // (a timer that failed to fire), retry only after poll_ms
            Ok(Some(next)) => {
                let until = next.millis_since(state.clock.now());
                if until <= 0 { poll_ms } else { until.min(poll_ms) }
            }
            Ok(None) => poll_ms,
            Err(e) => {
                tracing::warn!(error = %e, "sla worker: could not read due timers");
                poll_ms
            }
        };
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.sla.wake.notified() => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::debug!("sla worker stopped");
}

/// Fires every timer due now, batch by batch; returns when the next armed timer is due.
async fn fire_due(state: &AppState) -> Result<Option<kefu_core::Timestamp>, StoreError> {
    let cfg = state.sla.config();
    loop {
        let now = state.clock.now();
        let due = state.store.due_timers(now, BATCH).await?;
        let mut progress = false;
        for timer in &due {
            match state.store.fire_timer(timer, now, &cfg).await {
                Ok(FireOutcome::Fired(event)) => {
                    progress = true;
                    tracing::info!(ticket = %event.ticket_id, kind = %event.kind, rule = %event.rule, "sla timer fired");
                    if event.kind == SlaKind::Escalation {
                        // a new tier may bring other rules into play (or end some)
                        ticket_changed(state, event.ticket_id).await;
                    }
                }
                Ok(FireOutcome::Retry) => {}
                Ok(FireOutcome::Moved(_) | FireOutcome::Dropped | FireOutcome::Taken) => progress = true,
                Err(e) => {
                    tracing::warn!(ticket = %timer.ticket_id, kind = %timer.kind, error = %e, "could not fire an sla timer")
                }
            }
        }
        if due.len() < BATCH as usize || !progress {
            break;
        }
    }
    state.store.next_timer_due().await
}

/// Recomputes the timers of every open work order under the configuration in force (after
/// a configuration change), in batches, in the background; the task returns how many orders
/// it brought in step.
pub fn recompute_open_tickets(state: &AppState) -> JoinHandle<u64> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut done = 0u64;
        for status in TicketStatus::ALL.iter().copied().filter(|s| s.is_open()) {
            let mut after = None;
            loop {
                let batch = match state.store.tickets_in_status(status, after, RECOMPUTE_BATCH).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::error!(error = %e, %status, "could not list open work orders to recompute their timers");
                        break;
                    }
                };
                for (_, id) in &batch {
                    ticket_changed(&state, *id).await;
                    done += 1;
                }
                if batch.len() < RECOMPUTE_BATCH as usize {
                    break;
                }
                after = batch.last().copied();
            }
        }
        tracing::info!(tickets = done, "sla timers recomputed after a configuration change");
        done
    })
}
