//! A `kill -9` of `kefu serve` in the middle of writes loses no write it acknowledged.

use crate::{login, run, start};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test]
async fn kill_9_during_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) =
        run(dir.path(), &["user", "add", "admin", "--role", "admin", "--password-stdin"], "admin-pass-1\n").await;
    assert_eq!(code, 0, "{err}");

    let (mut child, base) = start(dir.path(), &["serve", "--http", "127.0.0.1:0"]).await;
    let client = reqwest::Client::new();
    let token = login(&client, &base, "admin", "admin-pass-1").await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, base, token, acked) = (client.clone(), base.clone(), token.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..100_000 {
                let name = format!("w{w}-{i}");
                let resp = client
                    .post(format!("{base}/api/v1/skills"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "name": name }))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 201 => acked.lock().unwrap().push(name),
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // let writes flow, then kill -9 while they are in flight
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 300 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "only {} writes before the kill", acked.len());

    // restart on the same data directory and read everything back
    let (mut child, base) = start(dir.path(), &["serve", "--http", "127.0.0.1:0"]).await;
    let token = login(&client, &base, "admin", "admin-pass-1").await;
    let mut stored = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/skills?limit=500");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: serde_json::Value = client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        for s in page["items"].as_array().unwrap() {
            stored.insert(s["name"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let lost: Vec<&String> = acked.iter().filter(|n| !stored.contains(*n)).collect();
    assert!(lost.is_empty(), "{} acknowledged writes lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    eprintln!(
        "acknowledged {} writes before kill -9; all {} found after restart ({} stored)",
        acked.len(),
        acked.len(),
        stored.len()
    );
    child.kill().await.unwrap();
}
