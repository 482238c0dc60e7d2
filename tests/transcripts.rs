//! Transcripts through the real binary: the `stop` and `session-end` hooks catch up from the
//! saved cursor, `sync-now --all` imports past sessions once, `sessions` shows them.

mod common;

use std::path::{Path, PathBuf};

use common::sandbox::{Sandbox, assert_hook_ok};
use serde_json::Value;

const SESSION: &str = "4393a4ec-3239-4206-97e6-49e5a86ce22c";

/// What the real Claude Code 2.1.331 wrote: hook payloads and transcripts.
fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code")
}

/// The real subagent session under the sandbox's ~/.claude; returns its transcript path.
fn install_sample(sb: &Sandbox) -> PathBuf {
    let project = sb.home.join(".claude/projects/-home-dev-work");
    common::sandbox::copy_tree(&samples().join("transcripts/subagent/-home-dev-work"), &project);
    project.join(format!("{SESSION}.jsonl"))
}

/// A real hook payload pointed at the sandbox's transcript.
fn payload(name: &str, transcript: &Path) -> Vec<u8> {
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(samples().join("hook-payloads").join(name)).unwrap()).unwrap();
    v["transcript_path"] = transcript.to_string_lossy().into_owned().into();
    serde_json::to_vec(&v).unwrap()
}

fn payloads_of(sb: &Sandbox, event_type: &str) -> Vec<Value> {
    let db = sb.db();
    let mut stmt = db.prepare("SELECT payload FROM outbox WHERE event_type = ?1 ORDER BY seq").unwrap();
    stmt.query_map([event_type], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|p| serde_json::from_str(&p.unwrap()).unwrap())
        .collect()
}

#[test]
fn stop_and_session_end_read_the_transcript_once() {
    let sb = Sandbox::new();
    let transcript = install_sample(&sb);

    assert_hook_ok(&sb.hook("stop", &payload("Stop.json", &transcript)), "stop");
    let messages = payloads_of(&sb, "message");
    // Prompt, Agent call and result, final text; the subagent's prompt, Bash call and result, text.
    assert_eq!(messages.len(), 8);
    let kinds: Vec<&str> = messages.iter().map(|m| m["detail"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "tool_use").count(), 2);
    assert!(messages.iter().all(|m| m["projectName"] == "work"));

    assert_hook_ok(&sb.hook("stop", &payload("Stop.json", &transcript)), "second stop");
    assert_eq!(payloads_of(&sb, "message").len(), 8, "nothing new, nothing queued");

    assert_hook_ok(&sb.hook("session-end", &payload("SessionEnd-other.json", &transcript)), "session-end");
    let end = &payloads_of(&sb, "session_end")[0];
    assert_eq!(end["endReason"], "other");
    assert_eq!(end["messageCount"], 4);
    assert_eq!(end["toolCallCount"], 2);
    assert_eq!(end["promptCount"], 1);
    assert_eq!(
        end["tokenUsage"],
        serde_json::json!({"input": 4088, "output": 288, "cacheCreation": 888, "cacheRead": 12088})
    );
    assert_eq!(end["cost"], 0.028969599999999998, "Claude Code's own cost-state");
    assert_eq!(end["model"], "claude-opus-5-5");
    assert!(sb.log().is_empty(), "{}", sb.log());

    let out = sb.run(&["sessions", "--json"]);
    assert!(out.status.success());
    let sessions: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &sessions.as_array().unwrap()[0];
    for key in [
        "sessionId",
        "projectName",
        "workingDirectory",
        "startedAt",
        "endedAt",
        "models",
        "prompts",
        "messageCount",
        "toolCallCount",
        "tokenUsage",
        "cost",
    ] {
        assert!(s.get(key).is_some(), "missing {key}: {s}");
    }
    assert_eq!(s["sessionId"], SESSION);
    assert_eq!(s["models"], serde_json::json!(["claude-opus-5-5"]));
    assert_eq!(s["tokenUsage"]["cacheRead"], 12088);
    assert!(s["endedAt"].is_string());
}

#[test]
fn sync_now_all_imports_past_sessions_once_and_sessions_shows_them() {
    let sb = Sandbox::new();
    install_sample(&sb);

    let out = sb.run(&["sync-now", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 session(s) found, 1 with new data"), "{stdout}");
    assert!(stderr.contains("imported 1/1 sessions"), "plain progress lines when piped: {stderr}");
    let queued = sb.count("SELECT COUNT(*) FROM outbox");
    assert_eq!(queued, 9, "8 messages and the session's figures");

    let again = sb.run(&["sync-now", "--all"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 with new data"));
    assert_eq!(sb.count("SELECT COUNT(*) FROM outbox"), queued, "idempotent");

    let table = sb.run(&["sessions"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("PROJECT"), "{text}");
    assert!(text.contains("work") && text.contains("claude-opus-5-5") && text.contains("$0.03"), "{text}");
    let none = sb.run(&["sessions", "--project", "elsewhere", "--json"]);
    assert_eq!(serde_json::from_slice::<Value>(&none.stdout).unwrap(), serde_json::json!([]));
    let old = sb.run(&["sessions", "--since", "2030-01-01", "--json"]);
    assert_eq!(serde_json::from_slice::<Value>(&old.stdout).unwrap(), serde_json::json!([]));
}

#[test]
fn a_machine_without_claude_code_history_imports_the_bundled_examples() {
    let sb = Sandbox::new();
    let out = sb.run(&["sync-now", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("importing two example sessions"), "{stdout}");
    assert!(
        stdout.contains("new event(s) recorded locally, never sent"),
        "the examples are not said to be queued: {stdout}"
    );
    let table = String::from_utf8_lossy(&sb.run(&["sessions"]).stdout).into_owned();
    assert_eq!(table.matches("claude-code-sync-example").count(), 2, "{table}");
    // Shown locally, never queued for a backend: configuring one later sends none of it.
    assert_eq!(sb.count("SELECT COUNT(*) FROM outbox"), 0);
    let mut with_backend = Sandbox::new();
    with_backend.set_env("CLAUDE_SYNC_CONVEX_URL", "http://127.0.0.1:9");
    let out = with_backend.run(&["sync-now", "--all"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("example"), "no examples once a backend is set");

    let forget = sb.run(&["forget", "--project", "claude-code-sync-example"]);
    assert!(forget.status.success());
    assert_eq!(sb.count("SELECT COUNT(*) FROM sessions"), 0);
    // A later import brings them back: forgetting also forgot how far they were read.
    sb.run(&["sync-now", "--all"]);
    assert_eq!(sb.count("SELECT COUNT(*) FROM sessions"), 2);
}
