//! The client against the project's real Convex functions (convex/, hosted in memory on
//! loopback) on what the deployment tells about itself: its key and contract version
//! (`status`), a key made by `login --generate-key`, and a refused event parked alone.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::backend::Backend;
use common::sandbox::{Sandbox, assert_hook_ok, sample_payload};
use serde_json::{Value, json};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn saved_config(sb: &Sandbox) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sb.home.join(".claude-code-sync.json")).unwrap()).unwrap()
}

#[test]
fn status_shows_both_contract_versions_and_warns_while_the_deployment_has_no_key() {
    let backend = Backend::start();
    let sb = Sandbox::new();
    sb.write_config(&json!({ "convex_url": backend.url, "auto_sync": false }));

    let open = stdout(&sb.run(&["status"]));
    assert!(open.contains("contract           client 2, deployment 2, it knows 10 event types"), "{open}");
    let warning = open.lines().find(|l| l.trim_start().starts_with("WARNING")).unwrap_or_else(|| panic!("{open}"));
    assert!(warning.contains("anyone with its URL can write"), "{warning}");
    assert!(warning.contains("claude-code-sync login --generate-key"), "{warning}");

    // Once the deployment has a key (and the client the same one) the warning is gone.
    backend.set_deployment_key(Some("status-key-0123456789"));
    sb.write_config(&json!({ "convex_url": backend.url, "auto_sync": false, "api_key": "status-key-0123456789" }));
    let keyed = stdout(&sb.run(&["status"]));
    assert!(keyed.contains("the API key is accepted"), "{keyed}");
    assert!(keyed.contains("client 2, deployment 2"), "{keyed}");
    assert!(!keyed.contains("WARNING"), "{keyed}");
    assert!(!keyed.contains("status-key-0123456789"), "{keyed}");
}

#[test]
fn login_generate_key_saves_a_strong_key_privately_and_prints_the_one_command_that_sets_it() {
    let backend = Backend::start();
    let sb = Sandbox::new();
    let out = sb.run(&["login", "--generate-key", "--url", &backend.url]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let path = sb.home.join(".claude-code-sync.json");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let config = saved_config(&sb);
    assert_eq!(config["convex_url"], backend.url.as_str());
    let key = config["api_key"].as_str().unwrap().to_string();
    let hex = key.strip_prefix("ccs_").unwrap_or_else(|| panic!("{key}"));
    assert!(hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()), "{key}");

    // The one command, with the key piped from the shell's printf rather than an argument.
    let printed = stdout(&out);
    let command = format!("printf '%s' '{key}' | npx convex env set CLAUDE_SYNC_API_KEY");
    assert_eq!(printed.lines().filter(|l| l.trim() == command).count(), 1, "{printed}");
    assert_eq!(printed.matches(&key).count(), 1, "the key is printed once, in the command: {printed}");
    assert!(printed.contains("has no key yet"), "{printed}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key));

    // A saved key is not replaced by accident.
    let again = sb.run(&["login", "--generate-key"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(saved_config(&sb)["api_key"], key.as_str());
    let replaced = sb.run(&["login", "--generate-key", "--force"]);
    assert_eq!(replaced.status.code(), Some(0));
    let new_key = saved_config(&sb)["api_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    assert_eq!(saved_config(&sb)["convex_url"], backend.url.as_str(), "the configured URL is kept");

    // The user runs the command; the deployment now refuses anything else and takes this key.
    backend.set_deployment_key(Some(&new_key));
    let status = stdout(&sb.run(&["status"]));
    assert!(status.contains("the API key is accepted"), "{status}");
    assert!(!status.contains("WARNING"), "{status}");
    let session = "generated-key-session";
    assert_hook_ok(&sb.hook("session-start", &sample_payload("SessionStart-startup.json", session)), "session-start");
    let sent = sb.run(&["sync-now", "--session", session]);
    assert_eq!(sent.status.code(), Some(0));
    assert_eq!(backend.events(session).len(), sb.outbox(session).len());
    assert!(!backend.events(session).is_empty());

    // Never in the log, the store, or anything the deployment keeps.
    let leaks = |bytes: &[u8], k: &str| bytes.windows(k.len()).any(|w| w == k.as_bytes());
    for k in [&key, &new_key] {
        assert!(!sb.log().contains(k.as_str()));
        assert!(!leaks(&sb.all_data_bytes(), k));
        assert!(!serde_json::to_string(&backend.table("events")).unwrap().contains(k.as_str()));
        assert!(!status.contains(k.as_str()));
    }
}

/// Outbox rows written straight into the store: the client never sends a wrong type itself,
/// and this is how one from elsewhere (an older store, a hand edit) would look.
fn queue(sb: &Sandbox, session: &str, rows: &[(&str, &str, Value)]) {
    let db = sb.db();
    for (i, (id, event_type, payload)) in rows.iter().enumerate() {
        db.execute(
            "INSERT INTO outbox (event_id, session_id, event_type, timestamp, payload, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
            rusqlite::params![id, session, event_type, 1_800_000_000_000i64 + i as i64, payload.to_string()],
        )
        .unwrap();
    }
}

#[test]
fn an_event_the_deployment_refuses_is_parked_alone_with_its_reason_and_the_batch_is_delivered() {
    let backend = Backend::start();
    let sb = Sandbox::new();
    sb.write_config(&json!({ "convex_url": backend.url, "auto_sync": false }));
    let session = "refused-event-session";
    // A first hook creates the store.
    assert_hook_ok(&sb.hook("session-start", &sample_payload("SessionStart-startup.json", session)), "session-start");
    queue(
        &sb,
        session,
        &[
            ("good-1", "user_prompt", json!({ "projectName": "p", "detail": { "text": "hi" } })),
            ("bad-cost", "response_complete", json!({ "cost": "0.10" })),
            ("newer-type", "permission_request", json!({ "futureField": { "x": 1 } })),
            ("good-2", "tool_use", json!({ "toolCallCount": 3 })),
        ],
    );
    let out = sb.run(&["sync-now", "--session", session]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let states: Vec<(String, String)> = {
        let db = sb.db();
        let mut stmt = db.prepare("SELECT event_id, state FROM outbox WHERE session_id = ?1 ORDER BY seq").unwrap();
        stmt.query_map([session], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    for (id, state) in &states {
        assert_eq!(state, if id == "bad-cost" { "parked" } else { "delivered" }, "{id}: {states:?}");
    }
    let reason: String =
        sb.db().query_row("SELECT last_error FROM outbox WHERE event_id = 'bad-cost'", [], |r| r.get(0)).unwrap();
    assert!(reason.ends_with("INVALID_EVENT: payload.cost must be a number, got string"), "{reason}");
    let stored: Vec<String> =
        backend.events(session).iter().map(|e| e["eventId"].as_str().unwrap().to_string()).collect();
    assert!(!stored.contains(&"bad-cost".to_string()));
    for id in ["good-1", "newer-type", "good-2"] {
        assert!(stored.contains(&id.to_string()), "{id} not stored: {stored:?}");
    }
    // One refused batch, then the rest in one more: not one call per event.
    assert_eq!(backend.stats()["byFunction"]["sync:recordEvents"], 2, "{}", backend.stats());
    assert!(backend.stats()["byFunction"]["sync:recordEvent"].is_null(), "{}", backend.stats());

    let status = stdout(&sb.run(&["status"]));
    assert!(status.contains("payload.cost must be a number"), "{status}");
}
