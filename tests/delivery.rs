//! Delivery to the project's real Convex functions (convex/, hosted in memory on loopback):
//! every event arrives exactly once, in order, whatever the backend did in between.

mod common;

use std::time::Duration;

use common::backend::{Backend, BackendOptions};
use common::sandbox::{Sandbox, assert_hook_ok, sample_payload, wait_for};
use serde_json::json;

const SESSION_SCRIPT: &[(&str, &str)] = &[
    ("session-start", "SessionStart-startup.json"),
    ("prompt-submit", "UserPromptSubmit.json"),
    ("post-tool-use", "PostToolUse-Bash.json"),
    ("post-tool-use", "PostToolUse-Write.json"),
    ("post-tool-use", "PostToolUse-Read.json"),
    ("post-tool-use", "PostToolUse-Edit.json"),
    ("post-tool-use-failure", "PostToolUseFailure-Bash.json"),
    ("stop", "Stop.json"),
    ("session-end", "SessionEnd-other.json"),
];

const EXPECTED_TYPES: &[&str] = &[
    "session_start",
    "user_prompt",
    "tool_use",
    "tool_use",
    "tool_use",
    "tool_use",
    "tool_failure",
    "response_complete",
    "session_end",
];

fn run_session(sb: &Sandbox, session: &str) {
    for (sub, sample) in SESSION_SCRIPT {
        assert_hook_ok(&sb.hook(sub, &sample_payload(sample, session)), sample);
    }
}

fn sandbox_for(backend_url: &str, key: Option<&str>) -> Sandbox {
    let mut sb = Sandbox::new();
    let mut config = json!({ "convex_url": backend_url });
    if let Some(k) = key {
        config["api_key"] = k.into();
    }
    sb.write_config(&config);
    sb.set_env("CLAUDE_SYNC_RETRY_BASE_MS", "100");
    sb.set_env("CLAUDE_SYNC_RETRY_MAX_MS", "400");
    sb.set_env("CLAUDE_SYNC_HTTP_TIMEOUT_MS", "3000");
    sb
}

fn delivered(sb: &Sandbox, session: &str) -> bool {
    let rows = sb.outbox(session);
    !rows.is_empty() && rows.iter().all(|(_, state)| state == "delivered")
}

fn event_types(backend: &Backend, session: &str) -> Vec<String> {
    let mut events = backend.events(session);
    events.sort_by_key(|e| (e["timestamp"].as_i64(), e["_creationTime"].as_f64().map(|t| t as i64)));
    events.iter().map(|e| e["eventType"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_session_is_delivered_in_the_background_exactly_once_and_in_order() {
    let backend = Backend::start();
    let sb = sandbox_for(&backend.url, None);
    run_session(&sb, "deliver-1");
    assert!(wait_for(Duration::from_secs(20), || delivered(&sb, "deliver-1")), "outbox: {:?}", sb.outbox("deliver-1"));
    let events = backend.events("deliver-1");
    assert_eq!(events.len(), EXPECTED_TYPES.len());
    let mut ids: Vec<&str> = events.iter().map(|e| e["eventId"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EXPECTED_TYPES.len(), "every event once, under one id");
    assert_eq!(event_types(&backend, "deliver-1"), EXPECTED_TYPES);
    let session = backend.session("deliver-1").expect("session row");
    assert_eq!(session["source"], "claude-code");
    assert_eq!(session["startType"], "startup");
    assert_eq!(session["endReason"], "other");
    assert_eq!(session["projectName"], "work");
    // Payloads are what the privacy rules allow: the Write content never arrives.
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains("line one\\nline two"), "file content reached the backend");

    // sync-now with nothing left: says so, sends nothing twice.
    let out = sb.run(&["sync-now", "--session", "deliver-1"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Nothing left to send"), "{text}");
    assert_eq!(backend.events("deliver-1").len(), EXPECTED_TYPES.len() + 1, "plus the manual_sync event");
}

#[test]
fn with_the_backend_down_everything_arrives_after_it_comes_back_without_duplicates() {
    // Learn a free port, then stop the server: the session runs against a closed port.
    let port = {
        let first = Backend::start();
        first.port
    };
    let url = format!("http://127.0.0.1:{port}");
    let sb = sandbox_for(&url, None);
    run_session(&sb, "down-1");
    assert!(wait_for(Duration::from_secs(3), || sb.count("SELECT COUNT(*) FROM outbox WHERE attempts > 0") > 0));
    assert!(!delivered(&sb, "down-1"));
    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("connection failed"), "{status}");

    let backend = Backend::start_with(BackendOptions { port, ..Default::default() });
    // The detached uploader is still retrying with backoff and delivers on its own.
    assert!(wait_for(Duration::from_secs(30), || delivered(&sb, "down-1")), "outbox: {:?}", sb.outbox("down-1"));
    assert_eq!(event_types(&backend, "down-1"), EXPECTED_TYPES);
    let out = String::from_utf8(sb.run(&["sync-now", "--all"]).stdout).unwrap();
    assert!(out.contains("Nothing left to send"), "{out}");
    assert_eq!(backend.events("down-1").len(), EXPECTED_TYPES.len());
}

#[test]
fn a_bad_key_parks_events_with_the_reason_and_a_fixed_key_delivers_them_all() {
    let backend = Backend::start_with(BackendOptions { api_key: Some("right-key-0123456789"), ..Default::default() });
    let sb = sandbox_for(&backend.url, Some("wrong-key-0123456789"));
    run_session(&sb, "key-1");
    assert!(wait_for(Duration::from_secs(20), || sb.count("SELECT COUNT(*) FROM outbox WHERE state = 'parked'") > 0));
    std::thread::sleep(Duration::from_millis(500));
    let requests_when_blocked = backend.stats()["requests"].as_i64().unwrap();
    assert!(backend.events("key-1").is_empty());

    // More hooks while the key is wrong: recorded, not sent, no retry loop.
    assert_hook_ok(&sb.hook("prompt-submit", &sample_payload("UserPromptSubmit.json", "key-1")), "prompt");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(backend.stats()["requests"].as_i64().unwrap(), requests_when_blocked, "no hot retry loop");

    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("UNAUTHORIZED"), "{status}");
    assert!(status.contains("REJECTS the configured API key"), "{status}");
    assert!(!status.contains("wrong-key-0123456789"), "status must mask the key");
    assert!(status.contains("wron…6789"), "{status}");

    // Fixing the key in the config is enough: the next hook retries everything.
    sb.write_config(&json!({ "convex_url": backend.url, "api_key": "right-key-0123456789" }));
    assert_hook_ok(&sb.hook("stop", &sample_payload("Stop.json", "key-1")), "stop");
    assert!(wait_for(Duration::from_secs(20), || delivered(&sb, "key-1")), "outbox: {:?}", sb.outbox("key-1"));
    assert_eq!(backend.events("key-1").len(), EXPECTED_TYPES.len() + 2);
    assert!(!sb.log().contains("wrong-key-0123456789") && !sb.log().contains("right-key-0123456789"));
}

#[test]
fn an_older_deployment_without_record_events_gets_events_one_by_one() {
    let backend = Backend::start_with(BackendOptions { without_record_events: true, ..Default::default() });
    let sb = sandbox_for(&backend.url, None);
    for (sub, sample) in SESSION_SCRIPT {
        assert_hook_ok(&sb.hook(sub, &sample_payload(sample, "old-1")), sample);
    }
    let out = sb.run(&["sync-now", "--all"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(wait_for(Duration::from_secs(20), || delivered(&sb, "old-1")), "{text}");
    assert_eq!(event_types(&backend, "old-1"), EXPECTED_TYPES);
}

#[test]
fn login_tests_and_saves_the_key_privately_and_status_reports_the_connection() {
    let backend = Backend::start_with(BackendOptions { api_key: Some("login-key-abcdef123456"), ..Default::default() });
    let sb = Sandbox::new();
    let mut cmd = sb.command(std::path::Path::new(common::sandbox::BIN));
    cmd.args(["login", "--url", &backend.url, "--key-stdin"]);
    let out = common::sandbox::run_with_stdin(cmd, b"wrong-key-abcdef123456\n");
    assert_eq!(out.status.code(), Some(1), "a rejected key is not saved");
    assert!(!sb.home.join(".claude-code-sync.json").exists());

    let mut cmd = sb.command(std::path::Path::new(common::sandbox::BIN));
    cmd.args(["login", "--url", &format!("{}/", backend.url), "--key-stdin"]);
    let out = common::sandbox::run_with_stdin(cmd, b"  login-key-abcdef123456 \n");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let path = sb.home.join(".claude-code-sync.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved, json!({ "convex_url": backend.url, "api_key": "login-key-abcdef123456" }));

    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("the API key is accepted"), "{status}");
    assert!(!status.contains("login-key-abcdef123456"));

    // Plain http to a non-loopback host is refused before anything is sent.
    let out = sb.run(&["login", "--url", "http://example.com", "--no-key"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain http://"));
}
