//! The IVR on live calls: every call a trunk route hands to `ivr:FLOW` gets a task that runs
//! the flow's interpreter (`kefu_core::ivr::Session`) against the SIP leg — prompts from the
//! prompt library, keys from RFC 4733 / INFO, tokio timers, HTTP lookups — and then the queue
//! experience: hold music, position and wait announcements, "1 voicemail / 2 callback" while
//! waiting, the ACD's offers and overflow steps, and the post-call survey.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kefu_core::acd::{Input as AcdInput, OverflowAction, Priority};
use kefu_core::event::{Event, EventKind};
use kefu_core::ivr::{
    Action, CallInfo, Flow, HttpMethod, HttpResult, Input, IvrEvent, Language, Outcome, Session, say,
};
use kefu_core::{EventId, InteractionId, QueueId, UserId};
use kefu_sip::server::{CallId, EndCause, IvrCall, IvrSignal, SipHandle};
use kefu_store::Store;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::acd::{Acd, CallNote};
use crate::clock::Clock;
use crate::event_sink::EventSink;
use crate::prompts::PromptLibrary;

/// Largest HTTP answer an HTTP node reads.
const HTTP_MAX_BODY: usize = 256 * 1024;
/// Tokens of the runner's own prompts (the interpreter counts up from 1).
const OWN_TOKENS: u64 = 1 << 40;

/// Calls an agent transferred back into a queue (call id → queue name): the HTTP route notes
/// the queue, then takes the agent off the call; the call's task, told the agent left,
/// queues the caller there instead of playing the survey.
#[derive(Debug, Default)]
pub struct Requeues(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl Requeues {
    /// Notes that `call` goes to `queue` when its agent leaves.
    pub fn put(&self, call: &str, queue: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(call.to_owned(), queue.to_owned());
        }
    }

    /// The queue noted for `call`, forgetting it.
    pub fn take(&self, call: &str) -> Option<String> {
        self.0.lock().ok().and_then(|mut m| m.remove(call))
    }
}

/// What every call's task shares.
pub struct IvrContext {
    /// The database.
    pub store: Store,
    /// Call control.
    pub sip: SipHandle,
    /// Voice prompts (replaceable while running).
    pub prompts: Arc<PromptLibrary>,
    /// The live ACD.
    pub acd: Acd,
    /// The event log.
    pub events: EventSink,
    /// The time.
    pub clock: Clock,
    /// Where voicemails are written.
    pub voicemails_dir: PathBuf,
    /// For HTTP nodes.
    pub http: reqwest::Client,
    /// Calls transferred back into a queue.
    pub requeues: Arc<Requeues>,
}

/// Takes the SIP server's IVR calls and runs each in its own task.
pub fn start(ctx: Arc<IvrContext>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<IvrCall>();
    ctx.sip.attach_ivr(tx);
    tokio::spawn(async move {
        while let Some(call) = rx.recv().await {
            tokio::spawn(run(ctx.clone(), call));
        }
    });
}

/// What the runner's own prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Own {
    /// "Please hold" on entering the queue.
    Hold,
    /// Position and wait.
    Announce,
    /// The voicemail prompt and beep; record when done.
    VoicemailPrompt,
    /// Last words; hang up when done.
    Closing,
}

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The flow's interpreter has the caller.
    Flow,
    /// Waiting in a queue.
    Queued,
    /// Talking to an agent.
    Agent,
    /// Answering the post-call survey.
    Survey,
    /// Recording a voicemail.
    Voicemail,
    /// Being transferred, or saying goodbye: nothing more to decide.
    Leaving,
}

enum Internal {
    Timer(u64),
    Http(u64, HttpResult),
}

struct Run {
    ctx: Arc<IvrContext>,
    call: CallId,
    interaction: Option<InteractionId>,
    flow: Arc<Flow>,
    info: CallInfo,
    session: Option<Session>,
    stage: Stage,
    internal: mpsc::UnboundedSender<Internal>,
    notes: mpsc::UnboundedSender<CallNote>,
    own_token: u64,
    playing: Option<(u64, Own)>,
    deferred_announce: Option<Vec<String>>,
    /// The queue the call waits in (name, id).
    queue: Option<(String, QueueId)>,
    /// The queue named for voicemails and callbacks when there is no queue yet.
    box_queue: Option<String>,
    offered: Option<UserId>,
    agent: Option<UserId>,
    answers: Vec<(String, u8)>,
}

async fn run(ctx: Arc<IvrContext>, call: IvrCall) {
    let IvrCall { call: id, caller, dialled, flow: flow_name, mut signals } = call;
    let flow = match find_flow(&ctx.store, &flow_name, &dialled).await {
        Some(f) => f,
        None => {
            warn!(call = %id, flow = %flow_name, %dialled, "no IVR flow for this call; hanging up");
            let _ = ctx.sip.hangup(&id.0).await;
            return;
        }
    };
    let (internal_tx, mut internal_rx) = mpsc::unbounded_channel();
    let (notes_tx, mut notes_rx) = mpsc::unbounded_channel();
    let mut r = Run {
        interaction: InteractionId::from_str(&id.0).ok(),
        call: id,
        flow: flow.clone(),
        info: CallInfo { caller, dialled },
        session: None,
        stage: Stage::Flow,
        internal: internal_tx,
        notes: notes_tx,
        own_token: OWN_TOKENS,
        playing: None,
        deferred_announce: None,
        queue: None,
        box_queue: None,
        offered: None,
        agent: None,
        answers: Vec::new(),
        ctx,
    };
    r.log(EventKind::IvrStarted, json!({ "flow": flow.name, "caller": r.info.caller, "dialled": r.info.dialled }));
    let now = r.ctx.clock.now();
    // a caller on the approved blocklist goes to the harassment treatment (screening.rs)
    match crate::screening::check(&r.ctx.store, &r.ctx.acd, Some(&flow), &r.info.caller, now).await {
        crate::screening::Verdict::Clear => {
            let (session, actions) = Session::start(flow, r.info.clone(), now);
            r.session = Some(session);
            r.perform(actions).await;
        }
        crate::screening::Verdict::Divert { entry, to } => {
            info!(call = %r.call, %entry, "blocklisted caller diverted");
            let event =
                crate::screening::blocked_event(now, r.interaction, entry, &r.info.caller, &r.info.dialled, "diverted");
            r.ctx.events.send(event);
            match to {
                crate::screening::Divert::Node(node) => {
                    let (session, actions) = Session::start_at(flow, &node, r.info.clone(), now);
                    r.session = Some(session);
                    r.perform(actions).await;
                }
                crate::screening::Divert::Queue => r.enqueue(crate::screening::HARASSMENT_QUEUE.to_owned(), 0).await,
            }
        }
        crate::screening::Verdict::Decline { entry } => {
            info!(call = %r.call, %entry, "blocklisted caller hung up (no harassment treatment)");
            let event =
                crate::screening::blocked_event(now, r.interaction, entry, &r.info.caller, &r.info.dialled, "declined");
            r.ctx.events.send(event);
            r.hangup().await;
        }
    }
    loop {
        tokio::select! {
            signal = signals.recv() => {
                match signal {
                    Some(IvrSignal::Ended { cause }) => {
                        r.ended(Some(cause)).await;
                        return;
                    }
                    Some(s) => r.signal(s).await,
                    None => {
                        r.ended(None).await;
                        return;
                    }
                }
            }
            Some(i) = internal_rx.recv() => r.internal(i).await,
            Some(n) = notes_rx.recv() => r.note(n).await,
        }
    }
}

/// The flow named by the route; a bare `ivr:` route finds it by the number dialled.
pub(crate) async fn find_flow(store: &Store, name: &str, dialled: &str) -> Option<Arc<Flow>> {
    let row = if name.is_empty() { store.flow_for_number(dialled).await } else { store.flow_by_name(name).await };
    match row {
        Ok(Some(row)) => Some(Arc::new(row.flow)),
        Ok(None) => None,
        Err(e) => {
            warn!(error = %e, "IVR flow lookup failed");
            None
        }
    }
}

fn http_method(m: HttpMethod) -> reqwest::Method {
    match m {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
    }
}

/// One HTTP node's request, always answered within `timeout_ms`.
async fn http_request(
    client: reqwest::Client,
    method: HttpMethod,
    url: String,
    body: Option<String>,
    timeout_ms: u64,
) -> HttpResult {
    let work = async {
        let mut req = client.request(http_method(method), &url);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        let mut resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if bytes.len() + chunk.len() > HTTP_MAX_BODY {
                return Err(format!("answer larger than {HTTP_MAX_BODY} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = String::from_utf8(bytes).map_err(|_| "answer is not UTF-8".to_owned())?;
        Ok(HttpResult::Response { status, body })
    };
    match tokio::time::timeout(Duration::from_millis(timeout_ms), work).await {
        Ok(Ok(r)) => r,
        Ok(Err(reason)) => HttpResult::Failed { reason },
        Err(_) => HttpResult::Failed { reason: format!("no answer within {timeout_ms} ms") },
    }
}

impl Run {
    fn lang(&self) -> Language {
        self.flow.language
    }

    fn now(&self) -> kefu_core::Timestamp {
        self.ctx.clock.now()
    }

    fn log(&self, kind: EventKind, data: serde_json::Value) {
        self.log_with(kind, data, |_| {});
    }

    fn log_with(&self, kind: EventKind, data: serde_json::Value, more: impl FnOnce(&mut Event)) {
        let mut e = Event::new(EventId::from_uuid(uuid::Uuid::now_v7()), self.now(), kind);
        e.interaction = self.interaction;
        e.queue = self.queue.as_ref().map(|(_, id)| *id);
        e.agent = self.agent;
        e.data = data;
        more(&mut e);
        self.ctx.events.send(e);
    }

    fn log_ivr(&self, ev: IvrEvent) {
        let (kind, data) = match ev {
            IvrEvent::Entered { node, kind } => (EventKind::IvrNode, json!({ "node": node, "type": kind })),
            IvrEvent::Chose { node, key, next } => {
                (EventKind::IvrChoice, json!({ "node": node, "key": key.to_string(), "next": next }))
            }
            IvrEvent::Invalid { node, attempt } => (EventKind::IvrInvalid, json!({ "node": node, "attempt": attempt })),
            IvrEvent::NoInput { node, attempt } => (EventKind::IvrNoInput, json!({ "node": node, "attempt": attempt })),
            IvrEvent::Collected { node, var, digits } => {
                (EventKind::IvrCollected, json!({ "node": node, "var": var, "digits": digits }))
            }
            IvrEvent::Http { node, ok, detail } => {
                (EventKind::IvrHttp, json!({ "node": node, "ok": ok, "detail": detail }))
            }
            IvrEvent::SayFailed { node, value } => (EventKind::IvrSayFailed, json!({ "node": node, "value": value })),
            IvrEvent::Ended { node, outcome } => {
                let path = self.session.as_ref().map(|s| s.path().to_vec()).unwrap_or_default();
                (EventKind::IvrEnded, json!({ "node": node, "outcome": outcome.as_str(), "path": path }))
            }
        };
        self.log(kind, data);
    }

    /// Plays prompts by name; with none to play, reports the end at once.
    async fn play(&mut self, token: u64, names: &[String]) {
        let (samples, missing) = self.ctx.prompts.current().concat(self.lang(), names);
        if !missing.is_empty() {
            warn!(call = %self.call, ?missing, "prompts missing; left out");
        }
        if samples.is_empty() {
            self.playback_done(token).await;
            return;
        }
        if let Err(e) = self.ctx.sip.play(&self.call.0, token, samples).await {
            debug!(call = %self.call, error = %e, "play refused");
        }
    }

    /// Plays the runner's own prompts for `purpose`.
    async fn play_own(&mut self, purpose: Own, names: Vec<String>) {
        self.own_token += 1;
        let token = self.own_token;
        self.playing = Some((token, purpose));
        Box::pin(self.play(token, &names)).await;
    }

    async fn music(&mut self) {
        self.playing = None;
        if let Err(e) = self.ctx.sip.play_music(&self.call.0).await {
            debug!(call = %self.call, error = %e, "hold music refused");
        }
    }

    async fn hangup(&mut self) {
        self.stage = Stage::Leaving;
        let _ = self.ctx.sip.hangup(&self.call.0).await;
    }

    /// Says goodbye with `names`, then hangs up.
    async fn close(&mut self, names: &[&str]) {
        self.stage = Stage::Leaving;
        self.play_own(Own::Closing, names.iter().map(|n| (*n).to_owned()).collect()).await;
    }

    // ------------------------------------------------------------ the interpreter

    async fn feed(&mut self, input: Input) {
        let now = self.now();
        let Some(session) = self.session.as_mut() else { return };
        let actions = session.on_input(input, now);
        Box::pin(self.perform(actions)).await;
    }

    async fn perform(&mut self, actions: Vec<Action>) {
        let mut ended_by_action = false;
        // the log first: what the flow decided is written before what it leads to (the
        // queue's events, the call's end)
        let (logs, actions): (Vec<Action>, Vec<Action>) =
            actions.into_iter().partition(|a| matches!(a, Action::Log(_)));
        for action in logs.into_iter().chain(actions) {
            match action {
                Action::Play { token, prompts, .. } => self.play(token, &prompts).await,
                Action::StopPlayback => {
                    let _ = self.ctx.sip.stop_playback(&self.call.0).await;
                }
                Action::StartTimer { token, after_ms } => {
                    let tx = self.internal.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(after_ms)).await;
                        let _ = tx.send(Internal::Timer(token));
                    });
                }
                Action::Http { token, method, url, body, timeout_ms } => {
                    let (tx, client) = (self.internal.clone(), self.ctx.http.clone());
                    tokio::spawn(async move {
                        let result = http_request(client, method, url, body, timeout_ms).await;
                        let _ = tx.send(Internal::Http(token, result));
                    });
                }
                Action::Queue { queue, priority, .. } => {
                    ended_by_action = true;
                    self.enqueue(queue, priority).await;
                }
                Action::Transfer { number } => {
                    ended_by_action = true;
                    self.transfer(&number).await;
                }
                Action::Voicemail { queue, max_secs } => {
                    ended_by_action = true;
                    self.box_queue = queue.or(self.box_queue.take());
                    self.record_voicemail(max_secs).await;
                }
                Action::Callback { queue, number } => {
                    self.box_queue = queue.clone().or(self.box_queue.take());
                    self.store_callback(queue, number).await;
                }
                Action::SurveyScore { question, score } => self.answers.push((question, score)),
                Action::Hangup => {
                    ended_by_action = true;
                    if self.stage == Stage::Survey {
                        self.save_survey().await;
                    }
                    self.hangup().await;
                }
                Action::Log(ev) => self.log_ivr(ev),
            }
        }
        // a flow that failed (a broken node) ends without an action of its own
        if !ended_by_action
            && matches!(self.stage, Stage::Flow | Stage::Survey)
            && self.session.as_ref().and_then(Session::outcome) == Some(Outcome::Failed)
        {
            self.close(&["goodbye"]).await;
        }
    }

    // ------------------------------------------------------------ the queue

    async fn enqueue(&mut self, queue: String, priority: i32) {
        let level = Priority(u8::try_from(priority.clamp(0, i32::from(Priority::MAX))).unwrap_or(0));
        let Some(interaction) = self.interaction else {
            warn!(call = %self.call, "call id is not an interaction id; cannot queue");
            self.close(&["all_busy", "goodbye"]).await;
            return;
        };
        if let Some(session) = &self.session {
            // the screen-pop shows the digits collected (the log keeps only their count)
            self.ctx.events.call_vars(interaction, session.vars());
        }
        match self.ctx.acd.enqueue(interaction, &queue, level, self.notes.clone()).await {
            Ok(id) => {
                self.stage = Stage::Queued;
                self.queue = Some((queue, id));
                self.play_own(Own::Hold, vec!["please_hold".into()]).await;
            }
            Err(e) => {
                warn!(call = %self.call, %queue, error = %e, "cannot queue the call");
                self.close(&["all_busy", "goodbye"]).await;
            }
        }
    }

    fn announcement(&self, position: usize, ewt_secs: u32) -> Vec<String> {
        let lang = self.lang();
        let mut names: Vec<String> = vec!["queue_position_pre".into()];
        let pos = i64::try_from(position).unwrap_or(i64::MAX);
        names.extend(say::number(lang, pos).into_iter().map(str::to_owned));
        names.push("queue_position_post".into());
        names.push("queue_wait_pre".into());
        names.extend(say::wait_minutes(lang, u64::from(ewt_secs)).into_iter().map(str::to_owned));
        names.push("queue_options".into());
        names
    }

    async fn announce(&mut self, position: usize, ewt_secs: u32) {
        let names = self.announcement(position, ewt_secs);
        self.log(EventKind::CallAnnounced, json!({ "position": position, "ewt_secs": ewt_secs, "prompts": names }));
        if matches!(self.playing, Some((_, Own::Hold))) {
            self.deferred_announce = Some(names);
        } else {
            self.play_own(Own::Announce, names).await;
        }
    }

    /// The caller leaves the queue by a key (1 voicemail, 2 callback).
    async fn leave_queue(&mut self, action: OverflowAction) {
        let Some(interaction) = self.interaction else { return };
        if self.offered.is_some() {
            return; // an agent is ringing: too late to leave
        }
        let left = self.ctx.acd.input(AcdInput::CallLeft { call: interaction, action: action.clone() }).await;
        if let Err(e) = left {
            debug!(call = %self.call, error = %e, "leaving the queue refused");
            return;
        }
        self.after_queue(action).await;
    }

    /// Voicemail or callback after the queue (by the caller's choice or an overflow rule).
    async fn after_queue(&mut self, action: OverflowAction) {
        match action {
            OverflowAction::Voicemail => {
                self.stage = Stage::Voicemail;
                self.play_own(Own::VoicemailPrompt, vec!["voicemail".into(), "beep".into()]).await;
            }
            OverflowAction::Callback => {
                let queue = self.queue.as_ref().map(|(n, _)| n.clone());
                let number = self.info.caller.clone();
                self.store_callback(queue, number).await;
                self.close(&["callback_confirm", "goodbye"]).await;
            }
            OverflowAction::External { number } => self.transfer(&number).await,
            OverflowAction::Ivr { node } => {
                self.stage = Stage::Flow;
                let now = self.now();
                let (session, actions) = Session::start_at(self.flow.clone(), &node, self.info.clone(), now);
                self.session = Some(session);
                Box::pin(self.perform(actions)).await;
            }
            OverflowAction::Widen { .. } | OverflowAction::Queue { .. } => {}
        }
    }

    async fn transfer(&mut self, number: &str) {
        self.stage = Stage::Leaving;
        if let Err(e) = self.ctx.sip.transfer(&self.call.0, number).await {
            warn!(call = %self.call, %number, error = %e, "transfer failed; hanging up");
            self.hangup().await;
        }
    }

    // ------------------------------------------------------------ voicemail, callback, survey

    async fn record_voicemail(&mut self, max_secs: u32) {
        self.stage = Stage::Voicemail;
        // call ids are UUIDv7: the files sort by time
        let path = self.ctx.voicemails_dir.join(format!("{}.wav", self.call.0));
        let max_ms = u64::from(max_secs.max(1)) * 1000;
        if let Err(e) = self.ctx.sip.record_voicemail(&self.call.0, path, max_ms).await {
            warn!(call = %self.call, error = %e, "voicemail could not start");
            self.close(&["goodbye"]).await;
        }
    }

    /// The id of a queue named by the flow (the queue the call waited in, else the ACD's).
    async fn queue_id_by_name(&self, name: Option<&str>) -> Option<QueueId> {
        let name = name?;
        match &self.queue {
            Some((n, id)) if n == name => Some(*id),
            _ => self.ctx.acd.queue_id(name).await,
        }
    }

    async fn save_voicemail(&mut self, path: PathBuf, duration_ms: u64, size_bytes: u64) {
        let queue_name = self.box_queue.clone().or_else(|| self.queue.as_ref().map(|(n, _)| n.clone()));
        let queue_id = self.queue_id_by_name(queue_name.as_deref()).await;
        let new = kefu_store::NewVoicemail {
            call_id: self.call.0.clone(),
            caller: self.info.caller.clone(),
            dialled: self.info.dialled.clone(),
            flow: self.flow.name.clone(),
            queue_id,
            path: path.display().to_string(),
            duration_ms: i64::try_from(duration_ms).unwrap_or(i64::MAX),
            size_bytes: i64::try_from(size_bytes).unwrap_or(i64::MAX),
            created_at: self.now(),
        };
        match self.ctx.store.insert_voicemail(&new).await {
            Ok(v) => self.log_with(
                EventKind::VoicemailSaved,
                json!({ "voicemail": v.id, "duration_ms": duration_ms, "queue": queue_name }),
                |e| e.queue = queue_id,
            ),
            Err(e) => warn!(call = %self.call, error = %e, path = %path.display(), "voicemail not indexed"),
        }
    }

    async fn store_callback(&mut self, queue: Option<String>, number: String) {
        let queue_id = self.queue_id_by_name(queue.as_deref()).await;
        let new = kefu_store::NewCallbackRequest {
            call_id: self.call.0.clone(),
            number,
            caller: self.info.caller.clone(),
            queue_id,
            flow: self.flow.name.clone(),
            created_at: self.now(),
        };
        match self.ctx.store.insert_callback_request(&new).await {
            Ok(c) => self.log_with(EventKind::CallbackRequested, json!({ "callback": c.id, "queue": queue }), |e| {
                e.queue = queue_id
            }),
            Err(e) => warn!(call = %self.call, error = %e, "callback request not stored"),
        }
    }

    async fn save_survey(&mut self) {
        if self.answers.is_empty() {
            return;
        }
        let answers = std::mem::take(&mut self.answers);
        let now = self.now();
        match self.ctx.store.insert_survey_answers(&self.call.0, self.agent, &answers, now).await {
            Ok(()) => {
                let data: serde_json::Map<String, serde_json::Value> =
                    answers.iter().map(|(q, s)| (q.clone(), json!(s))).collect();
                self.log(EventKind::SurveyAnswered, json!({ "answers": data }));
            }
            Err(e) => warn!(call = %self.call, error = %e, "survey answers not stored"),
        }
    }

    // ------------------------------------------------------------ inputs

    async fn playback_done(&mut self, token: u64) {
        if token < OWN_TOKENS {
            self.feed(Input::PlaybackDone { token }).await;
            return;
        }
        let Some((playing, purpose)) = self.playing else { return };
        if playing != token {
            return;
        }
        self.playing = None;
        match purpose {
            Own::Hold | Own::Announce if self.stage == Stage::Queued => {
                if let Some(names) = self.deferred_announce.take() {
                    self.play_own(Own::Announce, names).await;
                } else {
                    self.music().await;
                }
            }
            Own::Hold | Own::Announce => {}
            Own::VoicemailPrompt => self.record_voicemail(120).await,
            Own::Closing => self.hangup().await,
        }
    }

    async fn signal(&mut self, signal: IvrSignal) {
        match signal {
            IvrSignal::Key(key) => match self.stage {
                Stage::Flow | Stage::Survey => self.feed(Input::Key(key)).await,
                Stage::Queued => match key {
                    '1' => self.leave_queue(OverflowAction::Voicemail).await,
                    '2' => self.leave_queue(OverflowAction::Callback).await,
                    _ => {}
                },
                Stage::Voicemail if key == '#' => {
                    let _ = self.ctx.sip.stop_voicemail(&self.call.0).await;
                }
                _ => {}
            },
            IvrSignal::PlaybackDone { token } => self.playback_done(token).await,
            IvrSignal::AgentAnswered { extension } => {
                let (Some(call), Some(agent)) = (self.interaction, self.offered.take()) else { return };
                info!(call = %self.call, %extension, "agent answered");
                self.stage = Stage::Agent;
                self.agent = Some(agent);
                self.playing = None;
                self.ctx.acd.tell(AcdInput::CallAnswered { call, agent });
            }
            IvrSignal::AgentFailed { extension, cause, sip_code } => {
                debug!(call = %self.call, %extension, ?cause, sip_code, "agent did not answer");
                if let (Some(call), Some(agent)) = (self.interaction, self.offered.take()) {
                    self.ctx.acd.tell(AcdInput::CallRejected { call, agent });
                }
            }
            IvrSignal::AgentLeft { extension } => {
                debug!(call = %self.call, %extension, "agent hung up first");
                if let Some(call) = self.interaction {
                    self.ctx.acd.tell(AcdInput::CallEnded { call });
                }
                if let Some(queue) = self.ctx.requeues.take(&self.call.0) {
                    info!(call = %self.call, %queue, "transferred back into a queue");
                    self.agent = None;
                    self.offered = None;
                    let priority = self
                        .session
                        .as_ref()
                        .and_then(|s| s.vars().get("priority"))
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    self.enqueue(queue, priority).await;
                    return;
                }
                match self.flow.survey.clone() {
                    Some(node) => {
                        self.stage = Stage::Survey;
                        let now = self.now();
                        let (session, actions) = Session::start_at(self.flow.clone(), &node, self.info.clone(), now);
                        self.session = Some(session);
                        self.perform(actions).await;
                    }
                    None => self.hangup().await,
                }
            }
            IvrSignal::Transferred { to } => {
                debug!(call = %self.call, %to, "transferred");
                self.stage = Stage::Leaving;
            }
            IvrSignal::AgentTransferred { to } => {
                // the agent's conversation is over (after-call work follows); the caller goes
                // on with the target outside the ACD
                info!(call = %self.call, %to, "the agent transferred the caller");
                if self.stage == Stage::Agent
                    && let Some(call) = self.interaction
                {
                    self.ctx.acd.tell(AcdInput::CallEnded { call });
                }
                self.agent = None;
                self.stage = Stage::Leaving;
            }
            IvrSignal::VoicemailRecorded { path, duration_ms, size_bytes } => {
                self.save_voicemail(path, duration_ms, size_bytes).await;
                if self.stage == Stage::Voicemail {
                    self.close(&["voicemail_saved", "goodbye"]).await;
                }
            }
            IvrSignal::VoicemailFailed { message } => {
                warn!(call = %self.call, %message, "voicemail failed");
                if self.stage == Stage::Voicemail {
                    self.close(&["goodbye"]).await;
                }
            }
            IvrSignal::Ended { .. } => {}
        }
    }

    async fn internal(&mut self, i: Internal) {
        match i {
            Internal::Timer(token) => self.feed(Input::Timer { token }).await,
            Internal::Http(token, result) => self.feed(Input::HttpDone { token, result }).await,
        }
    }

    async fn note(&mut self, note: CallNote) {
        if self.stage != Stage::Queued {
            // a decision that crossed the caller's own move (a key, a hang-up)
            if let CallNote::Offer { agent, .. } = note
                && let Some(call) = self.interaction
            {
                self.ctx.acd.tell(AcdInput::CallRejected { call, agent });
            }
            return;
        }
        match note {
            CallNote::Offer { agent, extension } => {
                let Some(call) = self.interaction else { return };
                let Some(ext) = extension else {
                    self.ctx.acd.tell(AcdInput::CallRejected { call, agent });
                    return;
                };
                let back = self.flow.survey.is_some();
                match self.ctx.sip.connect(&self.call.0, &ext, back).await {
                    Ok(()) => self.offered = Some(agent),
                    Err(e) => {
                        debug!(call = %self.call, %ext, error = %e, "agent cannot be rung");
                        self.ctx.acd.tell(AcdInput::CallRejected { call, agent });
                    }
                }
            }
            CallNote::CancelOffer { agent } => {
                if self.offered == Some(agent) {
                    self.offered = None;
                    let _ = self.ctx.sip.cancel_agent(&self.call.0).await;
                }
            }
            CallNote::Announce { position, ewt_secs } => self.announce(position, ewt_secs).await,
            CallNote::Overflow { action } => {
                if action.leaves_router() {
                    self.offered = None;
                    let _ = self.ctx.sip.cancel_agent(&self.call.0).await;
                    self.after_queue(action).await;
                }
            }
        }
    }

    /// The call is over (`cause` is `None` if the SIP side went away without saying).
    async fn ended(&mut self, cause: Option<EndCause>) {
        debug!(call = %self.call, ?cause, stage = ?self.stage, "IVR call ended");
        self.ctx.requeues.take(&self.call.0);
        match self.stage {
            Stage::Flow => self.feed(Input::CallerHangup).await,
            Stage::Queued => {
                if let Some(call) = self.interaction {
                    self.ctx.acd.tell(AcdInput::CallAbandoned { call });
                }
            }
            Stage::Agent => {
                if let Some(call) = self.interaction {
                    self.ctx.acd.tell(AcdInput::CallEnded { call });
                }
            }
            Stage::Survey => {
                self.feed(Input::CallerHangup).await;
                self.save_survey().await;
            }
            Stage::Voicemail | Stage::Leaving => {}
        }
    }
}
