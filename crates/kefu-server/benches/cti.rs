//! The live CTI stream under load, end to end over real sockets:
//! 1. screen-pop latency — from the caller's INVITE to the `call.offer` frame on the offered
//!    agent's WebSocket — with 200 agents signed in, ready, phones registered and desktops
//!    open, calls at a fixed rate (open loop) from SIP callers through a trunk into a queue;
//!    every caller is a known customer (with an asset), so each pop does the full lookup. The
//!    caller hangs up once the pop has arrived, so agents stay available;
//! 2. wallboard fan-out — with 100 supervisor sockets open, the time from an agent's state
//!    change (the REST call) to the `agent.state` delta on all 100 sockets.
//!
//! `cargo bench -p kefu-server --bench cti` — SQLite in a temporary directory. Environment:
//! BENCH_AGENTS (200), BENCH_SUPERVISORS (100), BENCH_CPS (50 calls/s), BENCH_SECS (20),
//! BENCH_CALLERS (100 caller phones), BENCH_CHANGES (200 state changes).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use kefu_core::Role;
use kefu_core::ivr::Flow;
use kefu_core::org::{Proficiency, QueueStrategy, ServiceTargets};
use kefu_core::service::customer::AssetKind;
use kefu_server::Settings;
use kefu_server::clock::Clock;
use kefu_sip::testing::{TestUa, Transport};
use kefu_store::{
    NewAsset, NewCustomer, NewPhone, NewQueue, NewSkill, NewTrunk, NewUser, QueueSkill, Store, TrunkTransport,
    UserSkill,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "bench-password-1";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn line(h: &Histogram<u64>) -> String {
    format!(
        "n {}  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2} ms",
        h.len(),
        ms(h, 0.5),
        ms(h, 0.9),
        ms(h, 0.99),
        h.max() as f64 / 1000.0
    )
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// The caller phone of the i-th caller (unique last four digits, so the masked number an
/// agent sees, `139****0042`, tells the calls apart).
fn caller_number(i: u64) -> String {
    format!("1390000{i:04}")
}

async fn seed(store: &Store, agents: u64, callers: u64) {
    let now = Clock::default().now();
    let hash = kefu_server::auth::password::hash(PASSWORD).unwrap();
    let skill = store.create_skill(&NewSkill { name: "bench".into(), description: String::new() }, now).await.unwrap();
    let queue = NewQueue {
        name: "bench".into(),
        description: String::new(),
        strategy: QueueStrategy::LongestIdle,
        targets: ServiceTargets::default(),
        skills: vec![QueueSkill { skill_id: skill.id, min_proficiency: Proficiency::new(1).unwrap() }],
        overflow: vec![],
    };
    store.create_queue(&queue, now).await.unwrap();
    for i in 0..agents {
        let ext = format!("{}", 3000 + i);
        let user = NewUser {
            username: format!("a{i}"),
            display_name: format!("Agent {i}"),
            role: Role::Agent,
            password_hash: hash.clone(),
            team_id: None,
            extension: Some(ext.clone()),
            skills: vec![UserSkill { skill_id: skill.id, proficiency: Proficiency::new(5).unwrap() }],
            sip: kefu_server::auth::sip::for_user("kefu", Some(&ext), PASSWORD),
        };
        store.create_user(&user, now).await.unwrap();
    }
    let sup = NewUser {
        username: "sup".into(),
        display_name: "Supervisor".into(),
        role: Role::Supervisor,
        password_hash: hash.clone(),
        team_id: None,
        extension: None,
        skills: vec![],
        sip: None,
    };
    store.create_user(&sup, now).await.unwrap();
    let flow = Flow::from_yaml("name: bench\nstart: q\nnodes:\n  q:\n    type: queue\n    queue: bench\n").unwrap();
    store.save_flow(&flow, &["4000".into()], now).await.unwrap();
    let trunk = NewTrunk {
        name: "carrier".into(),
        host: "127.0.0.1".into(),
        port: 5080,
        transport: TrunkTransport::Udp,
        auth_username: None,
        auth_password: None,
        allow_from: vec!["127.0.0.1".into()],
        inbound_routes: BTreeMap::from([("4000".to_owned(), "ivr:bench".to_owned())]),
        caller_id: None,
        enabled: true,
    };
    store.create_trunk(&trunk, now).await.unwrap();
    for i in 0..callers {
        let new = NewCustomer {
            name: format!("客户{i}"),
            phones: vec![NewPhone::new(caller_number(i))],
            tags: vec!["bench".into()],
            ..Default::default()
        };
        let c = store.create_customer(&new, now).await.unwrap();
        let asset = NewAsset {
            kind: AssetKind::Product,
            name: "扫地机器人".into(),
            number: Some(format!("SN{i:08}")),
            fields: Default::default(),
        };
        store.add_customer_asset(c.id, &asset, now).await.unwrap();
    }
}

async fn login(http: &reqwest::Client, base: &str, username: &str) -> String {
    let resp: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["token"].as_str().unwrap_or_else(|| panic!("login {username}: {resp}")).to_owned()
}

async fn set_state(http: &reqwest::Client, base: &str, token: &str, state: &str) {
    let resp = http
        .put(format!("{base}/api/v1/agents/me/state"))
        .bearer_auth(token)
        .json(&json!({ "state": state }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "state {state}: {}", resp.status());
}

type Stream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(base: &str, token: &str) -> Stream {
    let url = format!("{}/api/v1/events?token={token}", base.replacen("http://", "ws://", 1));
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Screen-pops waited for, by the masked caller number.
type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Instant>>>>;

/// A wallboard frame: agent, state, seq, when it arrived.
type Seen = (String, String, u64, Instant);

#[tokio::main]
async fn main() {
    let n_agents = env_num("BENCH_AGENTS", 200);
    let n_sups = env_num("BENCH_SUPERVISORS", 100);
    let cps = env_num("BENCH_CPS", 50).max(1);
    let secs = env_num("BENCH_SECS", 20);
    let n_callers = env_num("BENCH_CALLERS", 100).clamp(1, 9999);
    let n_changes = env_num("BENCH_CHANGES", 200);

    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        http: "127.0.0.1:0".parse().unwrap(),
        sip: Some("127.0.0.1:0".parse().unwrap()),
        recording: false,
        acw_secs: 0,
        max_no_answer: 0,
        announce_every_secs: 0,
        login_max_attempts_per_ip: 1_000_000,
        log: "warn".into(),
        ..Settings::default()
    };
    let store = Store::open(&settings.store_options().unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    let t = Instant::now();
    seed(&store, n_agents, n_callers).await;
    println!("seeded {n_agents} agents, 1 supervisor, {n_callers} customers in {:.1}s", t.elapsed().as_secs_f64());
    let app = kefu_server::build_with_store(settings, store, Clock::default()).await.unwrap();
    let base = format!("http://{}", app.http_addr());
    let sip: SocketAddr = app.sip_addr().unwrap();
    let stop = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();

    // agents: phone registered (rings, then waits for the CANCEL), desktop open, ready
    let waiting: Waiting = Arc::default();
    let offers = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let mut agent_tokens = Vec::new();
    let mut phones = Vec::new();
    for i in 0..n_agents {
        let ext = format!("{}", 3000 + i);
        let phone = Arc::new(TestUa::start(&ext, Some(PASSWORD), sip, Transport::Udp).await.unwrap());
        assert_eq!(phone.register(3600).await.unwrap(), 200);
        let p = phone.clone();
        tokio::spawn(async move {
            while let Ok(inc) = p.incoming(Duration::from_secs(3600)).await {
                tokio::spawn(async move {
                    let _ = inc.ring().await;
                    let _ = inc.wait_cancelled(Duration::from_secs(30)).await;
                });
            }
        });
        phones.push(phone);
        let token = login(&http, &base, &format!("a{i}")).await;
        let mut ws = open(&base, &token).await;
        let (waiting, offers) = (waiting.clone(), offers.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let at = Instant::now();
                if !text.as_str().contains(r#""type":"call.offer""#) {
                    continue;
                }
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                offers.fetch_add(1, Ordering::Relaxed);
                let caller = v["data"]["caller"].as_str().unwrap_or_default().to_owned();
                if let Some(tx) = waiting.lock().unwrap().remove(&caller) {
                    let _ = tx.send(at);
                }
            }
        });
        set_state(&http, &base, &token, "ready").await;
        agent_tokens.push(token);
    }
    println!("{n_agents} agents ready with phones and desktops in {:.1}s", t.elapsed().as_secs_f64());

    // wallboards: supervisor sockets, reporting agent.state frames while `watch` is on
    let watch = Arc::new(AtomicBool::new(false));
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    for _ in 0..n_sups {
        let token = login(&http, &base, "sup").await;
        let mut ws = open(&base, &token).await;
        let (watch, seen_tx) = (watch.clone(), seen_tx.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(text) = msg else { continue };
                let at = Instant::now();
                if !watch.load(Ordering::Relaxed) || !text.as_str().contains(r#""type":"agent.state""#) {
                    continue;
                }
                let v: Value = serde_json::from_str(text.as_str()).unwrap();
                let agent = v["data"]["id"].as_str().unwrap_or_default().to_owned();
                let state = v["data"]["state"].as_str().unwrap_or_default().to_owned();
                let _ = seen_tx.send((agent, state, v["seq"].as_u64().unwrap_or(0), at));
            }
        });
    }
    println!("{n_sups} supervisor sockets open");

    // 1. calls at a fixed rate; each caller phone has one call at a time
    let callers: Vec<Arc<TestUa>> = {
        let mut v = Vec::new();
        for i in 0..n_callers {
            v.push(Arc::new(TestUa::start(&caller_number(i), None, sip, Transport::Udp).await.unwrap()));
        }
        v
    };
    let busy: Arc<Vec<AtomicBool>> = Arc::new((0..n_callers).map(|_| AtomicBool::new(false)).collect());
    let pops = Arc::new(Mutex::new(histogram()));
    let failed = Arc::new(AtomicU64::new(0));
    let total = cps * secs;
    let every = Duration::from_secs_f64(1.0 / cps as f64);
    let start = tokio::time::Instant::now();
    let mut skipped = 0u64;
    let mut next_caller = 0usize;
    let mut calls = tokio::task::JoinSet::new();
    for k in 0..total {
        tokio::time::sleep_until(start + every * u32::try_from(k).unwrap()).await;
        let Some(i) = (0..callers.len())
            .map(|d| (next_caller + d) % callers.len())
            .find(|&i| !busy[i].swap(true, Ordering::AcqRel))
        else {
            skipped += 1;
            continue;
        };
        next_caller = (i + 1) % callers.len();
        let (ua, busy, waiting, pops, failed) =
            (callers[i].clone(), busy.clone(), waiting.clone(), pops.clone(), failed.clone());
        let key = kefu_core::service::customer::show_number(&caller_number(i as u64), true);
        calls.spawn(async move {
            let (tx, rx) = oneshot::channel();
            waiting.lock().unwrap().insert(key.clone(), tx);
            let t0 = Instant::now();
            match ua.call("4000").await {
                Ok(call) => {
                    match tokio::time::timeout(Duration::from_secs(10), rx).await {
                        Ok(Ok(at)) => {
                            let us = u64::try_from(at.saturating_duration_since(t0).as_micros()).unwrap_or(u64::MAX);
                            pops.lock().unwrap().record(us.max(1)).unwrap();
                        }
                        _ => {
                            waiting.lock().unwrap().remove(&key);
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let _ = call.hangup().await;
                }
                Err(_) => {
                    waiting.lock().unwrap().remove(&key);
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            // let the agent's phone hear its CANCEL before this number calls again
            tokio::time::sleep(Duration::from_millis(200)).await;
            busy[i].store(false, Ordering::Release);
        });
    }
    while calls.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    let pops = pops.lock().unwrap().clone();
    println!(
        "screen-pop (INVITE sent → call.offer on the agent's socket), {} calls in {elapsed:.1}s ({:.1}/s offered to kefu), \
         {n_agents} desktops + {n_sups} wallboards open: {}",
        total - skipped,
        (total - skipped) as f64 / elapsed,
        line(&pops)
    );
    println!(
        "  offers seen {}, calls without a pop within 10 s {}, calls skipped (every caller phone busy) {skipped}",
        offers.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );

    // 2. wallboard fan-out: one agent's state flips; time until all supervisors have it
    tokio::time::sleep(Duration::from_secs(2)).await;
    let agent_id: String = {
        let me: Value = http
            .get(format!("{base}/api/v1/users/me"))
            .bearer_auth(&agent_tokens[0])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        me["id"].as_str().unwrap().to_owned()
    };
    while seen_rx.try_recv().is_ok() {}
    watch.store(true, Ordering::Relaxed);
    let mut all = histogram();
    let mut each = histogram();
    let mut state = "ready";
    for _ in 0..n_changes {
        state = if state == "ready" { "not_ready" } else { "ready" };
        let t0 = Instant::now();
        set_state(&http, &base, &agent_tokens[0], state).await;
        let mut got = 0u64;
        let mut seq = None;
        let mut last = t0;
        while got < n_sups {
            let (agent, st, s, at) =
                tokio::time::timeout(Duration::from_secs(10), seen_rx.recv()).await.expect("all wallboards").unwrap();
            if agent != agent_id || st != state || seq.is_some_and(|q| q != s) {
                continue;
            }
            seq = Some(s);
            got += 1;
            last = last.max(at);
            each.record(u64::try_from(at.saturating_duration_since(t0).as_micros()).unwrap_or(u64::MAX).max(1))
                .unwrap();
        }
        all.record(u64::try_from(last.saturating_duration_since(t0).as_micros()).unwrap_or(u64::MAX).max(1)).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("wallboard fan-out (PUT state → agent.state on the last of {n_sups} sockets): {}", line(&all));
    println!("  per socket: {}", line(&each));
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    for l in metrics.lines().filter(|l| l.starts_with("kefu_cti_")) {
        println!("  {l}");
    }
    stop.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(20), server).await;
    drop(phones);
}
