//! The product end to end over OpenSync: the real Claude Code CLI (pinned) runs the scripted
//! `multi` session with this repository as a plugin, its hooks call the built binary, and the
//! session lands in the fake OpenSync (tests/opensync/) — checked as the dashboard would show it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::claude_code::*;
use common::opensync::{FakeOpenSync, FakeOptions};
use common::sandbox::{built_plugin, wait_for};

const KEY: &str = "osk_e2eE2Ee2eE2Ee2eE2Ee2eE2Ee2eE2E";
const PROMPT_SECRET: &str = "ghp_PromptSecret0123456789abcdefghijKLMN";
const WINDOW_MS: u64 = 1500;

fn all_delivered(data: &Path) -> bool {
    let Ok(db) = rusqlite::Connection::open(data.join("store.db")) else { return false };
    db.query_row("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'", [], |r| r.get::<_, i64>(0))
        .map(|n| n == 0)
        .unwrap_or(false)
}

/// The build reads transcripts (the store has the transcript engine's table).
fn transcript_wired(data: &Path) -> bool {
    let db = rusqlite::Connection::open(data.join("store.db")).unwrap();
    db.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'transcript_state'", [], |r| r.get::<_, i64>(0))
        .unwrap()
        == 1
}

/// What the dashboard shows of the `multi` conversation: every item in order with its original
/// time, tool calls with their inputs and results, and token figures equal to what the fake API
/// billed (input + cache creation as prompt tokens; cache reads left out).
fn assert_conversation(cc: &ClaudeCode, session: &serde_json::Value, messages: &[serde_json::Value], id: &str) {
    let replies: Vec<serde_json::Value> =
        cc.api.replies().into_iter().filter(|r| r["_plan"]["scenario"] == "multi").collect();
    let sum = |f: &dyn Fn(&serde_json::Value) -> i64| replies.iter().map(|r| f(&r["usage"])).sum::<i64>();
    let prompt = sum(&|u| u["input_tokens"].as_i64().unwrap() + u["cache_creation_input_tokens"].as_i64().unwrap());
    let completion = sum(&|u| u["output_tokens"].as_i64().unwrap());
    assert_eq!(session["promptTokens"], prompt, "{session}");
    assert_eq!(session["completionTokens"], completion);
    assert_eq!(session["model"], replies[0]["model"]);
    assert!(session["cost"].as_f64().unwrap() > 0.0);
    assert_eq!(session["messageCount"], messages.len());

    let created: Vec<i64> = messages.iter().map(|m| m["createdAt"].as_i64().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
    let first = &messages[0];
    assert_eq!(first["role"], "user");
    assert!(first["externalId"].as_str().unwrap().starts_with(&format!("{id}:")), "session-scoped key: {first}");
    assert!(first["parts"][0]["content"].as_str().unwrap().contains("[REDACTED:"));
    let calls: Vec<(&str, &str)> = messages
        .iter()
        .filter(|m| m["parts"][0]["type"] == "tool-call")
        .map(|m| (m["parts"][0]["content"]["name"].as_str().unwrap(), m["externalId"].as_str().unwrap()))
        .collect();
    let names: Vec<&str> = calls.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["Bash", "Write", "Read", "Edit", "Bash", "Bash", "Write"]);
    for (i, (_, external)) in calls.iter().enumerate() {
        assert_eq!(*external, format!("{id}:toolu_multi_1_{i}"));
        let result = messages.iter().find(|m| m["externalId"] == format!("{external}:result")).expect("its result");
        assert_eq!(result["parts"][0]["type"], "tool-result");
    }
    let failed = messages.iter().find(|m| m["externalId"] == format!("{id}:toolu_multi_1_4:result")).unwrap();
    assert!(failed["parts"][0]["content"]["result"].as_str().unwrap().starts_with("Error: Exit code 3"));
    let last = messages.last().unwrap();
    assert_eq!((last["role"].as_str(), last["parts"][0]["type"].as_str()), (Some("assistant"), Some("text")));
}

#[test]
fn a_real_session_reaches_opensync_titled_from_its_prompt_without_secrets() {
    let Some(cc) = ClaudeCode::start() else { return };
    let fake =
        FakeOpenSync::start(FakeOptions { keys: &[KEY], session_window_ms: WINDOW_MS, ..FakeOptions::default() });
    let sandbox = SessionSandbox::new();
    let data = sandbox.root().join("data");
    let env = [
        ("CLAUDE_SYNC_DATA_DIR", data.display().to_string()),
        ("CLAUDE_SYNC_CONVEX_URL", fake.url.clone()),
        ("CLAUDE_SYNC_API_KEY", KEY.to_string()),
        ("CLAUDE_SYNC_RETRY_BASE_MS", "100".to_string()),
        ("CLAUDE_SYNC_RETRY_MAX_MS", "500".to_string()),
        ("CLAUDE_SYNC_HTTP_TIMEOUT_MS", "3000".to_string()),
        ("CLAUDE_SYNC_OPENSYNC_WINDOW_MS", WINDOW_MS.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let prompt = format!("SCENARIO:multi please do the multi tool scenario, token {PROMPT_SECRET}");
    let out = cc.run_session(&sandbox.home, &sandbox.work, &prompt, &[&built_plugin(sandbox.root())], &env, &[]);
    out.assert_success();
    assert_eq!(out.hook_failures(), Vec::<&str>::new(), "stderr: {}", out.stderr);
    let session_id = out.session_id();

    assert!(wait_for(Duration::from_secs(30), || all_delivered(&data)), "outbox not drained");
    let session = fake.session(&session_id).expect("the session is on the dashboard");
    let title = session["title"].as_str().unwrap();
    assert!(title.starts_with("SCENARIO:multi please do the multi tool scenario, token [REDACTED:"), "{title}");
    assert_eq!(session["source"], "claude-code");
    assert_eq!(session["provider"], "anthropic");
    assert_eq!(session["projectName"], "work");
    assert_eq!(session["projectPath"], sandbox.work.display().to_string());
    assert!(session.get("autoCreated").is_none(), "written as a session before any message");
    assert!(session["durationMs"].as_i64().unwrap() > 0);

    let messages = fake.messages(&session_id);
    if transcript_wired(&data) {
        assert_conversation(&cc, &session, &messages, &session_id);
    } else {
        // A build without the transcript wiring queues hook events only: no messages, no totals.
        assert_eq!(messages, Vec::<serde_json::Value>::new());
    }

    let state = fake.state().to_string();
    for secret in [FAKE_AWS_KEY, FAKE_GITHUB_TOKEN, FAKE_FILE_SECRET, PROMPT_SECRET, KEY] {
        assert!(!state.contains(secret), "{secret} reached OpenSync (stored or in a request body)");
    }
    let found = find_in_tree(&data, &[FAKE_AWS_KEY, FAKE_GITHUB_TOKEN, FAKE_FILE_SECRET, PROMPT_SECRET, KEY]);
    assert!(found.is_empty(), "secrets in the store or log: {found:?}");
    let requests = fake.requests();
    assert!(
        requests.iter().all(|(r, status)| *status == 200 && (r == "POST /sync/session" || r == "POST /sync/message")),
        "{requests:?}"
    );
}
