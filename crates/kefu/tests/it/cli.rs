//! The command line: check-config, migrate, user management and the demo.

use crate::{login, run, start};

#[tokio::test]
async fn check_config_reports_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kefu.toml"), "htp = \"127.0.0.1:1\"\ntoken_ttl_secs = 0\nlog = \"info\"\n")
        .unwrap();
    let (code, _out, err) = run(dir.path(), &["check-config", "--database-url", "mysql://x"], "").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(err.contains("htp: unknown setting (did you mean `http`?)"), "{err}");
    assert!(err.contains("token_ttl_secs: must be greater than 0"), "{err}");
    assert!(err.contains("--database-url: unsupported scheme `mysql`"), "{err}");

    std::fs::write(dir.path().join("kefu.toml"), "http = \"127.0.0.1:9999\"\n").unwrap();
    let (code, out, err) =
        run(dir.path(), &["check-config", "--explain", "--database-url", "postgres://kefu:hunter2@db/kefu"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("configuration OK"));
    assert!(out.contains("127.0.0.1:9999"));
    assert!(out.contains("postgres://kefu:***@db/kefu"), "password redacted: {out}");
    assert!(!out.contains("hunter2"));
    assert!(out.contains("KEFU_TOKEN_TTL_SECS"), "explains env names: {out}");
    for key in ["sip", "sip_realm", "sip_public_ip", "rtp_port_min", "rtp_port_max", "recording", "recordings_dir"] {
        assert!(out.contains(&format!("KEFU_{}", key.to_ascii_uppercase())), "{key} explained: {out}");
    }
    assert!(out.lines().any(|l| l.trim_start().starts_with("sip ") && l.trim_end().ends_with("= off")), "{out}");

    let (code, out, err) = run(dir.path(), &["check-config", "--sip", "127.0.0.1:5070"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("127.0.0.1:5070"), "{out}");
    let (code, _, err) =
        run(dir.path(), &["check-config", "--sip", "5070", "--database-url", "postgres://db/kefu"], "").await;
    assert_eq!(code, 2);
    assert!(err.contains("--sip: expected an address"), "{err}");
}

/// The SIP credentials stored for `extension`, read from the SQLite database in `dir`.
async fn sip_secret(dir: &std::path::Path, extension: &str) -> Option<kefu_store::SipSecret> {
    let options = kefu_store::StoreOptions {
        database_url: None,
        data_dir: dir.join("data"),
        max_connections: 1,
        sqlite_sync: kefu_store::SqliteSync::Normal,
        field_key: None,
    };
    let store = kefu_store::Store::open(&options).await.unwrap();
    let secret = store.sip_secret(extension).await.unwrap();
    store.close().await;
    secret
}

fn expect_sip(secret: Option<kefu_store::SipSecret>, extension: &str, password: &str) {
    let secret = secret.unwrap_or_else(|| panic!("no SIP credentials for {extension}"));
    let want = kefu_server::auth::sip::credentials("kefu", extension, password);
    assert_eq!((secret.extension.as_str(), secret.realm.as_str()), (extension, "kefu"));
    assert_eq!((secret.ha1_md5, secret.ha1_sha256), (want.ha1_md5, want.ha1_sha256));
}

#[tokio::test]
async fn user_commands_set_sip_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) =
        run(dir.path(), &["user", "add", "wang", "--extension", "2001", "--password-stdin"], "phone-pass-1\n").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created wang (agent)"), "{out}");
    expect_sip(sip_secret(dir.path(), "2001").await, "2001", "phone-pass-1");

    let (code, _, err) = run(dir.path(), &["user", "passwd", "wang", "--password-stdin"], "phone-pass-2\n").await;
    assert_eq!(code, 0, "{err}");
    expect_sip(sip_secret(dir.path(), "2001").await, "2001", "phone-pass-2");

    let (code, _, err) = run(dir.path(), &["user", "add", "li", "--extension", "12ab"], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("extension must be 2–16 digits"), "{err}");
}

#[tokio::test]
async fn migrate_and_user_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(dir.path(), &["migrate"], "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("foundation") && out.contains("applied"), "{out}");
    assert!(dir.path().join("data/kefu.db").exists(), "SQLite file in ./data by default");

    let (code, out, err) =
        run(dir.path(), &["user", "add", "boss", "--role", "admin", "--password-stdin"], "boss-pass-1\n").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created boss (admin)"), "{out}");
    assert!(!out.contains("boss-pass-1"));

    let (code, _, err) = run(dir.path(), &["user", "add", "boss", "--role", "admin"], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("a user named `boss` already exists"), "{err}");
    let (code, _, err) = run(dir.path(), &["user", "add", "x", "--role", "root"], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("unknown role `root`"), "{err}");
    let (code, _, err) = run(dir.path(), &["user", "add", "y", "--password-stdin"], "short\n").await;
    assert_eq!(code, 1);
    assert!(err.contains("password must be between 8"), "{err}");

    let (code, out, _) = run(dir.path(), &["user", "passwd", "boss"], "").await;
    assert_eq!(code, 0);
    let generated = out.lines().find_map(|l| l.strip_prefix("password: ")).unwrap().to_owned();
    assert_eq!(generated.len(), 14);

    let (mut child, base) = start(dir.path(), &["serve", "--http", "127.0.0.1:0"]).await;
    let client = reqwest::Client::new();
    login(&client, &base, "boss", &generated).await;
    child.kill().await.unwrap();

    let (code, out, _) = run(dir.path(), &["user", "disable", "boss"], "").await;
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = run(dir.path(), &["user", "disable", "nobody"], "").await;
    assert_eq!(code, 1);
    assert!(err.contains("no user named `nobody`"), "{err}");
}

#[tokio::test]
async fn demo_serves_health_and_a_demo_user_lists_queues() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) =
        start(dir.path(), &["demo", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--demo-password", "demo-pass-1"])
            .await;
    let client = reqwest::Client::new();
    let health: serde_json::Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");

    for user in ["1001", "1010", "lead1", "lead2", "super", "admin"] {
        let token = login(&client, &base, user, "demo-pass-1").await;
        let queues: serde_json::Value =
            client.get(format!("{base}/api/v1/queues")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let mut names: Vec<&str> =
            queues["items"].as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, vec!["after_sales", "complaints", "general", "harassment", "product", "vip"], "{user}");
    }
    let token = login(&client, &base, "admin", "demo-pass-1").await;
    let users: serde_json::Value = client
        .get(format!("{base}/api/v1/users?limit=500"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = users["items"].as_array().unwrap();
    assert_eq!(items.len(), 14);
    let agent = items.iter().find(|u| u["username"] == "1001").unwrap();
    assert_eq!(agent["extension"], "1001");
    assert!(!agent["skills"].as_array().unwrap().is_empty());

    // the demo trunk and the agents' phones
    let trunks: serde_json::Value =
        client.get(format!("{base}/api/v1/trunks")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let local = &trunks["items"][0];
    assert_eq!(trunks["items"].as_array().unwrap().len(), 1, "{trunks}");
    assert_eq!(
        (local["name"].as_str(), local["host"].as_str(), local["port"].as_i64()),
        (Some("local"), Some("127.0.0.1"), Some(5080))
    );
    assert_eq!(local["transport"], "udp");
    assert_eq!(local["allow_from"], serde_json::json!(["127.0.0.1"]));
    assert_eq!(local["inbound_routes"], serde_json::json!({ "4000": "ivr:hotline", "*": "1001" }));
    assert_eq!(local["caller_id"], "4000");
    let patched = client
        .patch(format!("{base}/api/v1/trunks/{}", local["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "port": 5999, "enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);

    // the demo IVR flow for calls to 4000
    let hotline: serde_json::Value = client
        .get(format!("{base}/api/v1/ivr/flows/hotline"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (hotline["version"].as_i64(), &hotline["numbers"]),
        (Some(1), &serde_json::json!(["4000"])),
        "{hotline}"
    );
    assert_eq!(hotline["flow"]["start"], "welcome");
    let saved = client
        .put(format!("{base}/api/v1/ivr/flows/hotline"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "flow": hotline["flow"], "numbers": ["4000", "4001"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    child.kill().await.unwrap();
    for ext in ["1001", "1005", "1010"] {
        expect_sip(sip_secret(dir.path(), ext).await, ext, "demo-pass-1");
    }
    assert!(sip_secret(dir.path(), "1011").await.is_none());

    // running the demo again keeps the data and resets passwords, phones and the trunk
    let (mut child, base) =
        start(dir.path(), &["demo", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--demo-password", "demo-pass-2"])
            .await;
    login(&client, &base, "1005", "demo-pass-2").await;
    let admin = login(&client, &base, "admin", "demo-pass-2").await;
    let trunks: serde_json::Value =
        client.get(format!("{base}/api/v1/trunks")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (trunks["items"][0]["port"].as_i64(), trunks["items"][0]["enabled"].as_bool()),
        (Some(5080), Some(true))
    );
    // … but keeps an edited hotline as it is
    let hotline: serde_json::Value = client
        .get(format!("{base}/api/v1/ivr/flows/hotline"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((hotline["version"].as_i64(), &hotline["numbers"]), (Some(2), &serde_json::json!(["4000", "4001"])));
    child.kill().await.unwrap();
    expect_sip(sip_secret(dir.path(), "1005").await, "1005", "demo-pass-2");
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start(dir.path(), &["serve", "--http", "127.0.0.1:0"]).await;
    let client = reqwest::Client::new();
    assert_eq!(client.get(format!("{base}/readyz")).send().await.unwrap().status(), 200);
    let pid = child.id().unwrap().to_string();
    let status = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("stops within 10 s")
        .unwrap();
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "no longer listening");
}

#[tokio::test]
async fn sim_prints_the_documented_json_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "sim",
        "--agents",
        "12",
        "--calls-per-hour",
        "200",
        "--aht-secs",
        "180",
        "--patience-secs",
        "120",
        "--hours",
        "4",
        "--seed",
        "7",
        "--json",
    ];
    let (code, out, err) = run(dir.path(), &args, "").await;
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "offered",
        "answered",
        "abandoned",
        "abandon_rate",
        "service_level",
        "asa_secs",
        "aht_secs",
        "occupancy",
        "intervals",
    ] {
        assert!(json.get(key).is_some(), "missing `{key}` in {out}");
    }
    assert!(json["offered"].as_u64().unwrap() > 600);
    assert!(json["intervals"].as_array().unwrap().len() >= 8);
    let (_, again, _) = run(dir.path(), &args, "").await;
    assert_eq!(out, again, "same seed, same output");
    let mut other = args.to_vec();
    other[12] = "8";
    let (_, different, _) = run(dir.path(), &other, "").await;
    assert_ne!(out, different);

    let (code, table, _) = run(dir.path(), &args[..args.len() - 1], "").await;
    assert_eq!(code, 0);
    assert!(table.contains("day") && table.contains("SL"), "{table}");
}

#[tokio::test]
async fn sim_rejects_a_bad_scenario_naming_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.yaml");
    std::fs::write(
        &scenario,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../kefu-sim/scenarios/center.yaml")).unwrap(),
    )
    .unwrap();
    let (code, out, err) = run(dir.path(), &["sim", "--scenario", scenario.to_str().unwrap(), "--json"], "").await;
    assert_eq!(code, 0, "the shipped example runs: {err}");
    assert!(out.contains("\"queues\""));

    let bad = "hours: 8
skills: [a]
queues:
  - name: q
    skills: { nope: 3 }
    overflow:
      - after_secs: -5
        action: { kind: queue, queue: r }
  - name: r
    skills: { a: 1 }
    overflow:
      - after_secs: 10
        action: { kind: queue, queue: q }
agent_groups:
  - { name: g, count: 2, skills: { a: 3 }, shift: { start: 0, end: 8 } }
call_types:
  - { name: c, queue: q, calls_per_hour: 10, handle_time: { dist: exponential, mean_secs: 100 } }
";
    std::fs::write(&scenario, bad).unwrap();
    let (code, _, err) = run(dir.path(), &["sim", "--scenario", scenario.to_str().unwrap()], "").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("3 problem(s)"), "every problem at once: {err}");
    assert!(err.contains(r#"queues[0].skills.nope: unknown skill "nope""#), "{err}");
    assert!(err.contains("queues[0].overflow[0].after_secs: must be between 0"), "{err}");
    assert!(err.contains("overflow targets form a cycle: q → r → q"), "{err}");
}
