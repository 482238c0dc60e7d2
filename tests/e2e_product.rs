//! The product end to end: the real Claude Code CLI (pinned) runs scripted sessions against a
//! fake Messages API with this repository loaded as a plugin (`--plugin-dir`), its hooks call
//! the built binary, and the events land in the project's real Convex functions on loopback.

mod common;

use std::path::Path;
use std::time::Duration;

use common::backend::{Backend, BackendOptions};
use common::claude_code::*;
use common::sandbox::{BIN, built_plugin, plugin_root, repo_root, wait_for};
use serde_json::Value;

const PROMPT_SECRET: &str = "ghp_PromptSecret0123456789abcdefghijKLMN";

/// The hook events a `multi` session must produce at the backend, in order.
const EXPECTED: &[(&str, Option<&str>)] = &[
    ("session_start", None),
    ("user_prompt", None),
    ("tool_use", Some("Bash")),
    ("tool_use", Some("Write")),
    ("tool_use", Some("Read")),
    ("tool_use", Some("Edit")),
    ("tool_failure", Some("Bash")),
    ("tool_use", Some("Bash")),
    ("tool_use", Some("Write")),
    ("response_complete", None),
    ("session_end", None),
];

fn product_env(data: &Path, url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CLAUDE_SYNC_DATA_DIR", data.display().to_string()),
        ("CLAUDE_SYNC_CONVEX_URL", url.to_string()),
        ("CLAUDE_SYNC_RETRY_BASE_MS", "100".to_string()),
        ("CLAUDE_SYNC_RETRY_MAX_MS", "500".to_string()),
        ("CLAUDE_SYNC_HTTP_TIMEOUT_MS", "3000".to_string()),
    ]
}

fn run_multi(cc: &ClaudeCode, sandbox: &SessionSandbox, env: &[(&'static str, String)]) -> SessionOutput {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let prompt = format!("SCENARIO:multi please do the multi tool scenario, token {PROMPT_SECRET}");
    let out = cc.run_session(&sandbox.home, &sandbox.work, &prompt, &[&built_plugin(sandbox.root())], &env, &[]);
    out.assert_success();
    out
}

/// The backend's hook events of a session, in stored order: not the transcript's messages, nor
/// the figures `sync-now --all` adds when the transcript grew after the session's end (Claude
/// Code writes its final cost-state on exit).
fn hook_events(backend: &Backend, session: &str) -> Vec<Value> {
    let from_transcript =
        |e: &Value| e["eventType"] == "message" || e["eventId"].as_str().is_some_and(|id| id.contains(":transcript:"));
    let mut events: Vec<Value> = backend.events(session).into_iter().filter(|e| !from_transcript(e)).collect();
    events.sort_by(|a, b| a["_creationTime"].as_f64().partial_cmp(&b["_creationTime"].as_f64()).unwrap());
    events
}

fn shape(events: &[Value]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .map(|e| {
            let tool = e["payload"]["detail"]["toolName"].as_str().map(str::to_string);
            (e["eventType"].as_str().unwrap().to_string(), tool)
        })
        .collect()
}

fn expected_shape() -> Vec<(String, Option<String>)> {
    EXPECTED.iter().map(|(t, tool)| (t.to_string(), tool.map(str::to_string))).collect()
}

fn all_delivered(data: &Path) -> bool {
    let Ok(db) = rusqlite::Connection::open(data.join("store.db")) else { return false };
    db.query_row("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'", [], |r| r.get::<_, i64>(0))
        .map(|n| n == 0)
        .unwrap_or(false)
}

fn assert_no_secret_anywhere(backend: &Backend, data: &Path) {
    let secrets = [FAKE_AWS_KEY, FAKE_GITHUB_TOKEN, FAKE_FILE_SECRET, PROMPT_SECRET];
    let tables = format!("{:?}{:?}", backend.table("events"), backend.table("sessions"));
    for s in secrets {
        assert!(!tables.contains(s), "secret {s} reached the backend");
    }
    let found = find_in_tree(data, &secrets);
    assert!(found.is_empty(), "secrets in the store or log: {found:?}");
}

fn assert_transcript_clean(sandbox: &SessionSandbox, out: &SessionOutput) {
    let transcript = read_jsonl(&transcript_path(&sandbox.home, &out.session_id()));
    assert_eq!(hook_attachments(&transcript), Vec::<&Value>::new(), "hooks must leave no error and no output");
    assert_eq!(out.hook_failures(), Vec::<&str>::new(), "stderr: {}", out.stderr);
}

#[test]
fn a_real_session_reaches_the_backend_once_in_order_without_secrets() {
    let Some(cc) = ClaudeCode::start() else { return };
    let backend = Backend::start();
    let sandbox = SessionSandbox::new();
    let data = sandbox.root().join("data");
    let out = run_multi(&cc, &sandbox, &product_env(&data, &backend.url));
    let session = out.session_id();
    assert_transcript_clean(&sandbox, &out);

    assert!(wait_for(Duration::from_secs(30), || all_delivered(&data)), "outbox not drained");
    let events = hook_events(&backend, &session);
    assert_eq!(shape(&events), expected_shape());
    let mut ids: Vec<&str> = events.iter().map(|e| e["eventId"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), EXPECTED.len(), "no event twice");
    let row = backend.session(&session).expect("session row");
    assert_eq!(row["gitBranch"], "main");
    assert_eq!(row["projectName"], "work");
    assert_eq!(row["endReason"], "other");

    // Tokens at the backend equal what the (fake) API billed, reply by reply.
    let billed = cc.api.replies().iter().fold([0u64; 4], |mut sum, reply| {
        let u = &reply["usage"];
        for (i, key) in ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
            .iter()
            .enumerate()
        {
            sum[i] += u[key].as_u64().unwrap_or(0);
        }
        sum
    });
    let t = &row["tokenUsage"];
    let stored = [&t["input"], &t["output"], &t["cacheCreation"], &t["cacheRead"]].map(|v| v.as_u64().unwrap_or(0));
    assert_eq!(stored, billed, "session tokenUsage {t}");
    assert!(row["messageCount"].as_u64().unwrap() >= 8, "{row}");
    assert_eq!(row["toolCallCount"], 7, "{row}");

    // The conversation arrives too: the prompt, tool calls with their results, the final text.
    let messages: Vec<Value> = backend.events(&session).into_iter().filter(|e| e["eventType"] == "message").collect();
    let kinds: Vec<&str> = messages.iter().filter_map(|m| m["payload"]["detail"]["kind"].as_str()).collect();
    for kind in ["prompt", "text", "tool_use", "tool_result"] {
        assert!(kinds.contains(&kind), "no {kind} message in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "tool_use").count(), 7, "{kinds:?}");
    assert_no_secret_anywhere(&backend, &data);
}

#[test]
fn with_the_backend_down_during_the_session_everything_arrives_afterwards_once() {
    let Some(cc) = ClaudeCode::start() else { return };
    let port = Backend::start().port; // a free port, closed again when the server drops
    let url = format!("http://127.0.0.1:{port}");
    let sandbox = SessionSandbox::new();
    let data = sandbox.root().join("data");
    let out = run_multi(&cc, &sandbox, &product_env(&data, &url));
    let session = out.session_id();
    assert_transcript_clean(&sandbox, &out);
    assert!(!all_delivered(&data));

    let backend = Backend::start_with(BackendOptions { port, ..Default::default() });
    let mut cmd = std::process::Command::new(BIN);
    for (k, v) in product_env(&data, &url) {
        cmd.env(k, v);
    }
    let synced = cmd.env("HOME", &sandbox.home).args(["sync-now", "--all"]).output().unwrap();
    assert!(synced.status.success(), "{synced:?}");
    assert!(wait_for(Duration::from_secs(30), || all_delivered(&data)), "outbox not drained");
    assert_eq!(shape(&hook_events(&backend, &session)), expected_shape());
    assert_no_secret_anywhere(&backend, &data);
}

#[test]
fn the_plugin_validates_with_only_the_reserved_name_finding() {
    let Some(cc) = ClaudeCode::start() else { return };
    let sandbox = SessionSandbox::new();
    // The repository root is the marketplace; plugin/ is the plugin it names. Each reports the
    // reserved name once, and nothing else.
    for dir in [repo_root(), plugin_root()] {
        let (status, report) = cc.validate_plugin(&sandbox.home, &dir, &[]);
        assert_eq!(status.code(), Some(1), "the reserved name is an error: {report:#}");
        let mut errors: Vec<Value> = report["manifest"]["errors"].as_array().unwrap().clone();
        for content in report["contents"].as_array().unwrap() {
            errors.extend(content["errors"].as_array().unwrap().iter().cloned());
            assert_eq!(content["warnings"], serde_json::json!([]), "{content:#}");
        }
        assert_eq!(errors.len(), 1, "{}: {errors:#?}", dir.display());
        assert!(errors[0]["message"].as_str().unwrap().contains("\"claude-code-sync\" is reserved"), "{errors:?}");
        assert_eq!(report["manifest"]["warnings"], serde_json::json!([]), "{report:#}");
        if dir == plugin_root() {
            assert_eq!(report["directory"]["findings"], serde_json::json!([]), "README, LICENSE, icon: {report:#}");
        }
    }
}
