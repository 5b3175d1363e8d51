//! Tests of the `kefu` binary as a user runs it: commands, the demo, and a crash mid-write.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod crash;

use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_kefu");

/// A `kefu` command with a clean environment (no stray `KEFU_*`) working in `dir`.
pub fn kefu(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    c.kill_on_drop(true);
    c
}

/// Runs `kefu args…` to completion, feeding `stdin`; returns (exit code, stdout, stderr).
pub async fn run(dir: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child =
        kefu(dir).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Starts a long-running `kefu` command and waits for the line announcing its address.
pub async fn start(dir: &Path, args: &[&str]) -> (Child, String) {
    let mut child = kefu(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("kefu did not announce its address in time")
            .unwrap()
            .expect("kefu exited before announcing its address");
        // the HTTP announcement; log lines (e.g. "SIP listening on UDP and TCP") go to stdout too
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break format!("http://{}", rest.trim());
        }
    };
    // keep draining stdout so the child never blocks on a full pipe
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

pub async fn login(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let resp = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}
