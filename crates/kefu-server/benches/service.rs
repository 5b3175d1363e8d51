//! The service side at scale: 1,000,000 customers and 1,000,000 work orders, then
//! 1. customer lookup by phone (the screen-pop path) — in the store, and over HTTP as an agent;
//! 2. the work-order list/filter API under a fixed arrival rate (open loop: latency counts
//!    from each request's scheduled send time, so queueing is not hidden), with a mix of the
//!    filters a desk uses (my orders, my group's open orders, a category subtree, a customer's
//!    orders, urgent ones, breached ones, a group by priority).
//!
//! `cargo bench -p kefu-server --bench service` — SQLite in a temporary directory.
//! Environment: BENCH_CUSTOMERS, BENCH_TICKETS (1,000,000 each), BENCH_RPS (200),
//! BENCH_SECS (30), BENCH_LOOKUPS (20,000), BENCH_SKIP_CATEGORY=1 (leave out the category
//! filter), BENCH_DATABASE_URL=postgres://… (PostgreSQL; an
//! empty database, or one an earlier run filled), BENCH_DATA_DIR=DIR (keep the SQLite data there and reuse it
//! on the next run when it is already filled).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use hdrhistogram::Histogram;
use kefu_core::service::ticket::{Channel, TicketStatus};
use kefu_core::{CustomerId, TeamId, UserId};
use kefu_server::Settings;
use kefu_server::clock::Clock;
use kefu_store::{NewCustomer, NewPhone, NewTicketBulk, PageRequest, Store};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗",
];
const GIVEN: [&str; 20] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华",
    "平",
];
const SUMMARIES: [&str; 8] = [
    "鲜花送达时花瓣发蔫，要求补发",
    "物流三天未更新，询问配送进度",
    "扫地机器人无法回充，申请上门维修",
    "账户出现异常登录，要求冻结",
    "下单时支付失败，页面报错",
    "对配送员态度不满，要求道歉",
    "咨询智能音箱如何连接蓝牙",
    "申请退货，询问运费由谁承担",
];

/// The phone number of the i-th generated customer (unique, valid mobile numbers).
fn phone_of(i: u64) -> String {
    format!("139{:08}", i)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn line(h: &Histogram<u64>) -> String {
    format!(
        "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms",
        ms(h, 0.5),
        ms(h, 0.9),
        ms(h, 0.99),
        ms(h, 0.999),
        h.max() as f64 / 1000.0
    )
}

struct Fixture {
    customers: Vec<CustomerId>,
    teams: Vec<TeamId>,
    agents: Vec<(String, UserId)>,
    categories: Vec<kefu_core::CategoryId>,
}

async fn fill(store: &Store, clock: &Clock, n_customers: u64, n_tickets: u64) -> Fixture {
    kefu_server::demo::seed(store, clock, "bench-password", "kefu").await.unwrap();
    let now = clock.now();
    let agents: Vec<(String, UserId)> = store
        .list_users(&PageRequest { limit: Some(500), cursor: None })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|u| u.role == kefu_core::Role::Agent)
        .map(|u| (u.username, u.id))
        .collect();
    let tree = store.category_tree().await.unwrap();
    let leaves: Vec<_> = tree.iter().filter(|c| c.takes_orders()).cloned().collect();
    let top: Vec<kefu_core::CategoryId> = tree.iter().filter(|c| c.level == 1).map(|c| c.id).collect();
    let teams: Vec<TeamId> = leaves.iter().filter_map(|c| c.defaults.as_ref().map(|d| d.team_id)).collect();

    // a filled database (BENCH_DATA_DIR / BENCH_DATABASE_URL from an earlier run) is reused
    let filled = store.count_customers().await.unwrap() as u64 >= n_customers;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut customers: Vec<CustomerId> = Vec::with_capacity(n_customers as usize);
    if filled {
        let mut page = PageRequest { limit: Some(500), cursor: None };
        let filter = kefu_store::CustomerFilter::default();
        while customers.len() < 100_000 {
            let p = store.list_customers(&filter, &page).await.unwrap();
            customers.extend(p.items.iter().map(|c| c.id));
            match p.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        println!("reusing the filled database ({} customer ids read for the work-order filters)", customers.len());
        return Fixture { customers, teams, agents, categories: top };
    }
    let t = Instant::now();
    let chunk = 5_000u64;
    let mut i = 0;
    while i < n_customers {
        let end = (i + chunk).min(n_customers);
        let batch: Vec<NewCustomer> = (i..end)
            .map(|k| NewCustomer {
                name: format!("{}{}", SURNAMES[(rng.next_u32() % 20) as usize], GIVEN[(rng.next_u32() % 20) as usize]),
                phones: vec![NewPhone::new(phone_of(k))],
                tier: match k % 20 {
                    0 => kefu_core::service::customer::CustomerTier::Vip,
                    1 | 2 => kefu_core::service::customer::CustomerTier::Gold,
                    _ => kefu_core::service::customer::CustomerTier::Regular,
                },
                ..Default::default()
            })
            .collect();
        customers.extend(store.insert_customers_bulk(&batch, now).await.unwrap());
        i = end;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("inserted {n_customers} customers in {secs:.1} s ({:.0}/s)", n_customers as f64 / secs);

    let t = Instant::now();
    let creator = agents[0].1;
    let day = 86_400_000i64;
    let mut i = 0;
    while i < n_tickets {
        let end = (i + chunk).min(n_tickets);
        let batch: Vec<NewTicketBulk> = (i..end)
            .map(|_| {
                let leaf = &leaves[(rng.next_u32() as usize) % leaves.len()];
                let d = leaf.defaults.as_ref().unwrap();
                // spread over 180 days; most orders are closed, some still open
                let created = now.plus_millis(-((rng.next_u64() % (180 * day as u64)) as i64));
                let status = match rng.next_u32() % 100 {
                    0..=4 => TicketStatus::New,
                    5..=9 => TicketStatus::Assigned,
                    10..=14 => TicketStatus::InProgress,
                    15..=17 => TicketStatus::Pending,
                    18..=24 => TicketStatus::Resolved,
                    _ => TicketStatus::Closed,
                };
                let done = matches!(status, TicketStatus::Resolved | TicketStatus::Closed);
                let owner = (status != TicketStatus::New).then(|| agents[(rng.next_u32() as usize) % agents.len()].1);
                NewTicketBulk {
                    customer_id: Some(customers[(rng.next_u32() as usize) % customers.len()]),
                    channel: Channel::Phone,
                    category_id: leaf.id,
                    ticket_type: d.ticket_type,
                    priority: d.priority,
                    summary: SUMMARIES[(rng.next_u32() % 8) as usize].to_owned(),
                    details: String::new(),
                    status,
                    owner_id: owner,
                    team_id: Some(d.team_id),
                    sla_targets: d.sla,
                    sla_breached: rng.next_u32() % 50 == 0,
                    created_by: creator,
                    created_at: created,
                    updated_at: created.plus_millis(3_600_000),
                    resolved_at: done.then(|| created.plus_millis(7_200_000)),
                    closed_at: (status == TicketStatus::Closed).then(|| created.plus_millis(86_400_000)),
                }
            })
            .collect();
        store.insert_tickets_bulk(&batch, kefu_store::DEFAULT_LOCAL_OFFSET_MIN).await.unwrap();
        i = end;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("inserted {n_tickets} work orders in {secs:.1} s ({:.0}/s)", n_tickets as f64 / secs);
    // as an import would: the planner's statistics of the freshly loaded tables (PostgreSQL)
    let t = Instant::now();
    store.refresh_statistics().await.unwrap();
    println!("refreshed planner statistics in {:.1} s", t.elapsed().as_secs_f64());
    customers.truncate(100_000);
    Fixture { customers, teams, agents, categories: top }
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n_customers = env_num("BENCH_CUSTOMERS", 1_000_000);
    let n_tickets = env_num("BENCH_TICKETS", 1_000_000);
    let rps = env_num("BENCH_RPS", 200);
    let secs = env_num("BENCH_SECS", 30);
    let lookups = env_num("BENCH_LOOKUPS", 20_000);
    let warmup_secs = 3;
    let database_url = std::env::var("BENCH_DATABASE_URL").ok();

    let tmp = tempfile::tempdir().unwrap();
    let data_dir = std::env::var("BENCH_DATA_DIR").map_or_else(|_| tmp.path().to_owned(), std::path::PathBuf::from);
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let settings = Settings {
        http: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.clone(),
        database_url: database_url.clone(),
        log: "warn".into(),
        ..Settings::default()
    };
    let engine = if database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    let (addr, shutdown, fixture, store, rss_filled) = server_rt.block_on(async {
        let store = Store::open(&settings.store_options().unwrap()).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Clock::default();
        let fixture = fill(&store, &clock, n_customers, n_tickets).await;
        let app = kefu_server::build_with_store(settings.clone(), store.clone(), clock).await.unwrap();
        let addr = app.http_addr();
        let shutdown = app.shutdown_handle();
        tokio::spawn(async move {
            if let Err(e) = app.run_until_stopped().await {
                eprintln!("the app stopped: {e:#}");
            }
        });
        (addr, shutdown, fixture, store, status_kib("VmRSS:"))
    });
    println!(
        "{engine}: {} customers, {} work orders (data in {})",
        n_customers,
        n_tickets,
        if database_url.is_some() { "the database".to_owned() } else { data_dir.display().to_string() }
    );

    // 1. lookup by phone in the store (one indexed query on the blind index, then decrypt)
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut store_hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    server_rt.block_on(async {
        for _ in 0..lookups {
            let i = rng.next_u64() % n_customers;
            let phone = kefu_core::service::customer::PhoneNumber::parse(&format!("+86 {}", phone_of(i))).unwrap();
            let t = Instant::now();
            let found = store.customers_by_phone(&phone).await.unwrap();
            store_hist.record(t.elapsed().as_micros().max(1) as u64).unwrap();
            assert_eq!(found.len(), 1, "phone {} finds its customer", phone.as_str());
        }
    });
    println!("customer lookup by phone, store, {lookups} random numbers: {}", line(&store_hist));

    let client_rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let login = |user: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let v: serde_json::Value = client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&serde_json::json!({ "username": user, "password": "bench-password" }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["token"].as_str().unwrap().to_owned()
        }
    };
    let (agent_token, lead_token) = client_rt.block_on(async { (login("1001").await, login("lead1").await) });

    // the same lookup over HTTP as an agent (masked answer), open loop at `rps`
    let phone_urls: Vec<String> = (0..(rps * (secs.min(10) + warmup_secs)))
        .map(|_| format!("{base}/api/v1/customers?phone={}", phone_of(rng.next_u64() % n_customers)))
        .collect();
    let (http_lookup, lookup_errors) = open_loop(&client_rt, &client, &agent_token, phone_urls, rps, warmup_secs);
    println!(
        "customer lookup by phone, HTTP as agent at {rps}/s for {} s: {} ({} errors)",
        secs.min(10),
        line(&http_lookup),
        lookup_errors
    );

    // 2. the work-order list under load: a desk's mix of filters, as a team lead (sees all)
    let mut urls = Vec::new();
    let skip_category = std::env::var("BENCH_SKIP_CATEGORY").is_ok_and(|v| v == "1");
    let n = rps * (secs + warmup_secs);
    for k in 0..n {
        let team = fixture.teams[(k as usize) % fixture.teams.len()];
        let owner = fixture.agents[(k as usize) % fixture.agents.len()].1;
        let customer = fixture.customers[(rng.next_u64() as usize) % fixture.customers.len()];
        let category = fixture.categories[(k as usize) % fixture.categories.len()];
        // BENCH_SKIP_CATEGORY=1 leaves out the category-subtree shape (see BENCHMARKS.md)
        let shape = if skip_category && k % 8 == 2 { 3 } else { k % 8 };
        let q = match shape {
            0 => format!("status=new,assigned,in_progress&team={team}"),
            1 => format!("owner={owner}&status=assigned,in_progress,pending"),
            2 => format!("category={category}&status=new,assigned,in_progress"),
            3 => format!("customer={customer}"),
            4 => "priority=p1&status=new,assigned,in_progress&sort=created_at".to_owned(),
            5 => "breached=true&status=new,assigned,in_progress,pending&sort=updated_at".to_owned(),
            6 => format!("team={team}&sort=priority&order=asc"),
            _ => "status=pending&sort=updated_at".to_owned(),
        };
        urls.push(format!("{base}/api/v1/tickets?{q}&limit=20"));
    }
    let (list_hist, list_errors) = open_loop(&client_rt, &client, &lead_token, urls, rps, warmup_secs);
    println!(
        "work-order list/filter, HTTP at {rps}/s for {secs} s, 8 filter shapes: {} ({} errors)",
        line(&list_hist),
        list_errors
    );
    println!(
        "process memory: RSS {} MiB after filling, {} MiB now, peak {} MiB",
        rss_filled / 1024,
        status_kib("VmRSS:") / 1024,
        status_kib("VmHWM:") / 1024
    );
    shutdown.shutdown();
    drop(server_rt);
}

/// Sends one GET per url at `rps`, measuring each from its scheduled send time; the first
/// `warmup_secs` seconds are not counted.
fn open_loop(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    token: &str,
    urls: Vec<String>,
    rps: u64,
    warmup_secs: u64,
) -> (Histogram<u64>, u64) {
    rt.block_on(async {
        let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()));
        let errors = Arc::new(Mutex::new(0u64));
        let interval = Duration::from_nanos(1_000_000_000 / rps);
        let warmup = rps * warmup_secs;
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(urls.len());
        for (i, url) in urls.into_iter().enumerate() {
            let scheduled = start + interval * u32::try_from(i).unwrap();
            tokio::time::sleep_until(scheduled).await;
            let (client, token, hist, errors) = (client.clone(), token.to_owned(), hist.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                let ok = match client.get(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    Ok(r) => {
                        eprintln!("{url}: {}", r.status());
                        false
                    }
                    Err(_) => false,
                };
                let micros = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
                if (i as u64) >= warmup {
                    if ok {
                        hist.lock().unwrap().record(micros).unwrap();
                    } else {
                        *errors.lock().unwrap() += 1;
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let h = hist.lock().unwrap().clone();
        let e = *errors.lock().unwrap();
        (h, e)
    })
}
