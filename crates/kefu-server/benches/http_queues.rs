//! `GET /api/v1/queues` latency under a fixed arrival rate (open loop, so a slow response
//! cannot hold back the next request and hide queueing: latency is measured from each
//! request's scheduled send time). The server runs in this process on SQLite with the demo
//! tenant; the client has its own runtime thread.
//!
//! `cargo bench -p kefu-server --bench http_queues` (BENCH_RPS=500, BENCH_SECS=30 by default)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use hdrhistogram::Histogram;
use kefu_server::Settings;
use kefu_server::clock::Clock;
use kefu_store::Store;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would too: only run when benched.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rps = env_num("BENCH_RPS", 500);
    let secs = env_num("BENCH_SECS", 30);
    let warmup_secs = 3;

    let dir = tempfile::tempdir().unwrap();
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (addr, shutdown, rss_idle) = server_rt.block_on(async {
        let settings = Settings {
            http: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            log: "warn".into(),
            ..Settings::default()
        };
        let store = Store::open(&settings.store_options().unwrap()).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Clock::default();
        kefu_server::demo::seed(&store, &clock, "bench-password", "kefu").await.unwrap();
        let app = kefu_server::build_with_store(settings, store, clock).await.unwrap();
        let addr = app.http_addr();
        let shutdown = app.shutdown_handle();
        tokio::spawn(app.run_until_stopped());
        (addr, shutdown, rss_kib())
    });

    let client_rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (hist, errors, sent) = client_rt.block_on(async move {
        let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
        let base = format!("http://{addr}");
        let login: serde_json::Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": "1001", "password": "bench-password" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_owned();
        let url = format!("{base}/api/v1/queues");

        let hist = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap()));
        let errors = Arc::new(Mutex::new(0u64));
        let interval = Duration::from_nanos(1_000_000_000 / rps);
        let total = rps * (secs + warmup_secs);
        let warmup = rps * warmup_secs;
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            let scheduled = start + interval * u32::try_from(i).unwrap();
            tokio::time::sleep_until(scheduled).await;
            let (client, url, token, hist, errors) =
                (client.clone(), url.clone(), token.clone(), hist.clone(), errors.clone());
            tasks.push(tokio::spawn(async move {
                let ok = match client.get(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    _ => false,
                };
                let micros = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
                if i >= warmup {
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
        (h, e, total - warmup)
    });
    let rss_after = rss_kib();
    shutdown.shutdown();
    drop(server_rt);

    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!("GET /api/v1/queues at {rps} req/s for {secs} s (after {warmup_secs} s warm-up), SQLite, demo tenant");
    println!("  requests {sent}, ok {}, errors {errors}", hist.len());
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        ms(0.50),
        ms(0.90),
        ms(0.99),
        ms(0.999),
        hist.max() as f64 / 1000.0
    );
    println!("  process RSS: {} MiB idle after seeding, {} MiB after the run", rss_idle / 1024, rss_after / 1024);
}
