//! Delivery to OpenSync (the fake in tests/opensync/, faithful to backend-protocols.md part 2):
//! what the dashboard would show — title, tokens, cost, ordered messages, no secret — and the
//! backend's quirks: auth errors, 500s, the no-op windows, idempotent re-sends.
//!
//! Transcript items are queued straight into the outbox the way the transcript wiring
//! (src/ingest/) queues them: `message` events keyed `msg:<item id>`,
//! `payload.detail` = the item without id/sessionId/timestampMs/model ({role, kind, text,
//! toolName, toolInput, toolUseId, outcome, resultChars, …}), `payload.model` = the item's model,
//! original timestamps; the session summary on `session_end`.

mod common;

use std::time::Duration;

use common::opensync::{FakeOpenSync, FakeOptions};
use common::sandbox::{BIN, Sandbox, assert_hook_ok, run_with_stdin, wait_for};
use serde_json::{Value, json};

const KEY: &str = "osk_0123456789abcdefghijklmnopqrstuv";
const SECRET: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
/// Short no-op windows on both sides, so the window tests do not take 10 s each.
const WINDOW_MS: u64 = 1500;

fn fake(keys: &[&str]) -> FakeOpenSync {
    FakeOpenSync::start(FakeOptions { keys, session_window_ms: WINDOW_MS, ..FakeOptions::default() })
}

fn sandbox_for(url: &str, key: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.write_config(&json!({ "convex_url": url, "api_key": key }));
    sb.set_env("CLAUDE_SYNC_RETRY_BASE_MS", "100");
    sb.set_env("CLAUDE_SYNC_RETRY_MAX_MS", "400");
    sb.set_env("CLAUDE_SYNC_HTTP_TIMEOUT_MS", "3000");
    sb.set_env("CLAUDE_SYNC_OPENSYNC_WINDOW_MS", &WINDOW_MS.to_string());
    // A Claude Code config dir (empty): `sync-now --all` imports from it instead of installing
    // the bundled example sessions, which would land on the dashboard too.
    std::fs::create_dir_all(sb.home.join(".claude/projects")).unwrap();
    std::fs::create_dir_all(sb.home.join("my-app/.git")).unwrap();
    std::fs::write(sb.home.join("my-app/.git/HEAD"), "ref: refs/heads/main\n").unwrap();
    sb
}

fn hook(sb: &Sandbox, sub: &str, session: &str, fields: Value) {
    let mut input = json!({
        "session_id": session,
        "transcript_path": sb.home.join("transcript.jsonl"),
        "cwd": sb.home.join("my-app"),
    });
    input.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    assert_hook_ok(&sb.hook(sub, &serde_json::to_vec(&input).unwrap()), sub);
}

/// Queues an event as the transcript wiring does.
fn queue(sb: &Sandbox, session: &str, event_id: &str, event_type: &str, timestamp: i64, payload: Value) {
    let db = sb.db();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute(
        "INSERT INTO outbox (event_id, session_id, event_type, timestamp, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
        rusqlite::params![event_id, session, event_type, timestamp, payload.to_string()],
    )
    .unwrap();
}

/// A transcript item: `uuid` (the item id of text items) and `model` move out of the detail.
fn item(sb: &Sandbox, session: &str, ts: i64, mut detail: Value) {
    let fields = detail.as_object_mut().unwrap();
    let uuid = fields.remove("uuid");
    let model = fields.remove("model");
    let id = match (fields.get("kind").and_then(Value::as_str), fields.get("toolUseId").and_then(Value::as_str)) {
        (Some("tool_use"), Some(t)) => t.to_string(),
        (Some("tool_result"), Some(t)) => format!("{t}:result"),
        _ => uuid.unwrap().as_str().unwrap().to_string(),
    };
    let mut payload = json!({ "detail": detail });
    if let Some(m) = model {
        payload["model"] = m;
    }
    queue(sb, session, &format!("msg:{id}"), "message", ts, payload);
}

fn summary(input: u64, output: u64, cost: f64, duration_ms: i64) -> Value {
    json!({
        "endReason": "prompt_input_exit",
        "tokenUsage": { "input": input, "output": output, "cacheCreation": 9000, "cacheRead": 250000 },
        "cost": cost,
        "durationMs": duration_ms,
        "messageCount": 2,
        "toolCallCount": 1,
    })
}

/// `text` as the product's redactor leaves it.
fn redacted(sb: &Sandbox, text: &str) -> String {
    let mut cmd = sb.command(std::path::Path::new(BIN));
    cmd.arg("redact");
    let out = run_with_stdin(cmd, text.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn delivered(sb: &Sandbox, session: &str) -> bool {
    let rows = sb.outbox(session);
    !rows.is_empty() && rows.iter().all(|(_, state)| state == "delivered")
}

fn sync_now(sb: &Sandbox) -> String {
    let out = sb.run(&["sync-now", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A whole session: hooks, then the transcript's items and summary.
fn run_session(sb: &Sandbox, session: &str) {
    hook(
        sb,
        "session-start",
        session,
        json!({ "hook_event_name": "SessionStart", "source": "startup", "model": "claude-opus-5-5" }),
    );
    let prompt = format!("Fix the login bug, my token is {SECRET}");
    hook(sb, "prompt-submit", session, json!({ "hook_event_name": "UserPromptSubmit", "prompt": prompt }));
    hook(
        sb,
        "post-tool-use",
        session,
        json!({
            "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "toolu_01",
            "tool_input": { "command": "ls" }, "tool_response": { "stdout": "a\nb", "stderr": "" },
        }),
    );
    hook(sb, "stop", session, json!({ "hook_event_name": "Stop" }));
    let t0 = now_ms();
    // The transcript wiring redacts items as the hook path does.
    let redacted = redacted(sb, &prompt);
    item(sb, session, t0 + 100, json!({ "role": "user", "kind": "prompt", "text": redacted, "uuid": "u1" }));
    item(
        sb,
        session,
        t0 + 200,
        json!({ "role": "assistant", "kind": "text", "text": "Let me look.", "uuid": "a1", "model": "claude-opus-5-5" }),
    );
    item(
        sb,
        session,
        t0 + 300,
        json!({
            "role": "assistant", "kind": "tool_use", "toolName": "Bash", "toolInput": { "command": "ls" },
            "toolUseId": "toolu_01", "uuid": "a2", "model": "claude-opus-5-5",
        }),
    );
    item(
        sb,
        session,
        t0 + 400,
        json!({ "role": "user", "kind": "tool_result", "toolUseId": "toolu_01", "outcome": "ok", "resultChars": 3, "uuid": "u2" }),
    );
    item(
        sb,
        session,
        t0 + 500,
        json!({ "role": "assistant", "kind": "text", "text": "Fixed.", "uuid": "a3", "model": "claude-opus-5-5" }),
    );
    queue(sb, session, &format!("{session}:end"), "session_end", t0 + 600, summary(120, 3400, 1.25, 80_000));
}

#[test]
fn a_session_reaches_the_dashboard_complete_ordered_and_without_secrets() {
    let fake = fake(&[KEY]);
    let sb = sandbox_for(&fake.url, KEY);
    run_session(&sb, "os-1");
    let out = sync_now(&sb);
    assert!(wait_for(Duration::from_secs(20), || delivered(&sb, "os-1")), "{out}\n{:?}", sb.outbox("os-1"));

    let session = fake.session("os-1").expect("the session exists");
    let prompt = redacted(&sb, &format!("Fix the login bug, my token is {SECRET}"));
    assert!(prompt.starts_with("Fix the login bug, my token is [REDACTED:"), "{prompt}");
    assert_eq!(session["title"], prompt.as_str());
    assert_eq!(session["source"], "claude-code");
    assert_eq!(session["provider"], "anthropic");
    assert_eq!(session["projectName"], "my-app");
    assert_eq!(session["projectPath"], sb.home.join("my-app").to_str().unwrap());
    assert_eq!(session["model"], "claude-opus-5-5");
    // input + cache creation; cache reads are not prompt tokens; message tokens not added twice.
    assert_eq!(session["promptTokens"], 9120);
    assert_eq!(session["completionTokens"], 3400);
    assert_eq!(session["cost"], 1.25);
    assert_eq!(session["durationMs"], 80_000);
    assert!(session.get("autoCreated").is_none(), "the session is written before its first message");
    let first_hook_time = sb.count("SELECT MIN(timestamp) FROM outbox WHERE session_id = 'os-1'");
    assert_eq!(session["createdAt"], first_hook_time);

    let messages = fake.messages("os-1");
    let ids: Vec<&str> = messages.iter().map(|m| m["externalId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["os-1:u1", "os-1:a1", "os-1:toolu_01", "os-1:toolu_01:result", "os-1:a3"], "transcript order");
    let created: Vec<i64> = messages.iter().map(|m| m["createdAt"].as_i64().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] < w[1]), "original createdAt in order: {created:?}");
    let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "assistant", "tool", "assistant"]);
    assert_eq!(messages[1]["model"], "claude-opus-5-5");
    assert_eq!(messages[0]["parts"], json!([{ "type": "text", "content": prompt }]));
    assert_eq!(
        messages[2]["parts"],
        json!([{ "type": "tool-call", "content": { "name": "Bash", "args": { "command": "ls" } } }])
    );
    assert_eq!(messages[3]["parts"][0]["type"], "tool-result");
    assert_eq!(messages[4]["parts"], json!([{ "type": "text", "content": "Fixed." }]));
    assert_eq!(session["messageCount"], 5);

    // Nothing secret reached OpenSync — not in what it stored, not in any request body — and
    // the key is nowhere in the product's files.
    let everything = fake.state().to_string();
    assert!(!everything.contains(SECRET), "a secret reached OpenSync");
    assert!(!everything.contains(KEY), "the key travelled in a body");
    assert!(!String::from_utf8_lossy(&sb.all_data_bytes()).contains(KEY), "the key is in the store or log");
    // Only the per-item endpoints: /sync/batch drops parts on update.
    assert!(fake.requests().iter().all(|(r, _)| !r.ends_with("/sync/batch")));
}

#[test]
fn re_sends_and_backfill_are_idempotent_with_full_parts() {
    // Message window 0: every re-send takes OpenSync's update path (fields and ALL parts replaced).
    let fake = FakeOpenSync::start(FakeOptions {
        keys: &[KEY],
        session_window_ms: WINDOW_MS,
        message_window_ms: 0,
        ..Default::default()
    });
    let sb = sandbox_for(&fake.url, KEY);
    run_session(&sb, "os-2");
    sync_now(&sb);
    assert!(wait_for(Duration::from_secs(20), || delivered(&sb, "os-2")));
    let before_session = fake.session("os-2").unwrap();
    let before_messages = fake.messages("os-2");

    // Everything again, as a backfill would send it.
    sb.db().execute("UPDATE outbox SET state = 'pending' WHERE session_id = 'os-2'", []).unwrap();
    let out = sync_now(&sb);
    assert!(out.contains("Nothing left to send"), "{out}");
    let after_messages = fake.messages("os-2");
    assert!(
        after_messages.iter().all(|m| m["updates"].as_u64().unwrap() >= 1),
        "the re-send went through the update path"
    );
    let strip = |ms: &[Value]| -> Vec<Value> {
        ms.iter().map(|m| json!([m["externalId"], m["role"], m["textContent"], m["parts"], m["createdAt"]])).collect()
    };
    assert_eq!(strip(&after_messages), strip(&before_messages), "same messages, same parts, nothing doubled");
    let after_session = fake.session("os-2").unwrap();
    for field in ["title", "promptTokens", "completionTokens", "cost", "durationMs", "createdAt", "messageCount"] {
        assert_eq!(after_session[field], before_session[field], "{field}");
    }
    assert_eq!(fake.state()["sessions"].as_array().unwrap().len(), 1);
}

#[test]
fn a_bad_key_parks_events_with_a_clear_reason_until_the_key_is_fixed() {
    let fake = fake(&[KEY]);
    let wrong = "osk_wrongwrongwrongwrongwrongwrong00";
    let sb = sandbox_for(&fake.url, wrong);
    hook(&sb, "session-start", "os-3", json!({ "hook_event_name": "SessionStart", "source": "startup" }));
    assert!(wait_for(Duration::from_secs(20), || sb.count("SELECT COUNT(*) FROM outbox WHERE state = 'parked'") > 0));
    assert!(fake.session("os-3").is_none());
    let reason: String =
        sb.db().query_row("SELECT last_error FROM outbox WHERE session_id = 'os-3'", [], |r| r.get(0)).unwrap();
    assert!(
        reason.contains("401") && reason.contains("Invalid API key") && reason.contains("refused the API key"),
        "{reason}"
    );

    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("REJECTS the API key"), "{status}");
    assert!(status.contains("DELIVERY STOPPED"), "{status}");
    assert!(status.contains("OpenSync key (osk_"), "the protocol and why: {status}");
    assert!(!status.contains(wrong) && status.contains("osk_…ng00"), "the key is masked: {status}");

    // Fixing the key (with stray whitespace, trimmed) is enough: the next hook delivers it all.
    sb.write_config(&json!({ "convex_url": format!("{}/", fake.url), "api_key": format!(" {KEY}\n") }));
    hook(&sb, "prompt-submit", "os-3", json!({ "hook_event_name": "UserPromptSubmit", "prompt": "hello there" }));
    assert!(wait_for(Duration::from_secs(20), || delivered(&sb, "os-3")), "{:?}", sb.outbox("os-3"));
    assert_eq!(fake.session("os-3").unwrap()["title"], "hello there");
    assert!(!sb.log().contains(wrong) && !sb.log().contains(KEY));
}

#[test]
fn server_errors_are_retried_and_a_bad_request_parks_only_its_event() {
    let fake = fake(&[KEY]);
    fake.fault("/sync/session", 500, 2);
    fake.fault("/sync/message", 503, 1);
    let sb = sandbox_for(&fake.url, KEY);
    run_session(&sb, "os-4");
    // The background uploader's code path (retrying with backoff), run here in the foreground.
    sb.run(&["__upload"]);
    assert!(wait_for(Duration::from_secs(30), || delivered(&sb, "os-4")), "{:?}", sb.outbox("os-4"));
    let statuses: Vec<u64> = fake.requests().iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s >= 500).count(), 3, "{statuses:?}");
    assert_eq!(fake.messages("os-4").len(), 5);
    assert_eq!(fake.session("os-4").unwrap()["promptTokens"], 9120);

    // A 400 is about that one event: it is parked with the reason, the rest goes on.
    fake.fault("/sync/session", 400, 1);
    let t = now_ms();
    queue(&sb, "os-5", "os-5:start", "session_start", t, json!({ "projectName": "p5" }));
    item(&sb, "os-5", t + 1, json!({ "role": "user", "kind": "prompt", "text": "second session", "uuid": "u9" }));
    let out = sync_now(&sb);
    assert!(out.contains("1 event(s) parked"), "{out}");
    assert_eq!(
        sb.outbox("os-5"),
        [("session_start".to_string(), "parked".to_string()), ("message".to_string(), "delivered".to_string())]
    );
    assert_eq!(fake.session("os-5").unwrap()["title"], "second session");

    // A 500 that is a validation error is that event's fault: parked, the queue goes on.
    fake.fault_with("/sync/message", 500, 1, "Error: ArgumentValidationError: Object contains extra field `x`");
    item(&sb, "os-5", t + 2, json!({ "role": "assistant", "kind": "text", "text": "first", "uuid": "a8" }));
    item(&sb, "os-5", t + 3, json!({ "role": "assistant", "kind": "text", "text": "second", "uuid": "a9" }));
    let out = sync_now(&sb);
    assert!(out.contains("event(s) parked"), "{out}");
    let states: Vec<String> = sb.outbox("os-5").into_iter().map(|(_, s)| s).collect();
    // (sync-now retried the earlier rejection: it went through this time.)
    assert_eq!(states, ["delivered", "delivered", "parked", "delivered"]);
    let texts: Vec<Value> = fake.messages("os-5").iter().map(|m| m["textContent"].clone()).collect();
    assert_eq!(texts, [json!("second session"), json!("second")]);
}

#[test]
fn the_final_totals_land_even_inside_the_session_no_op_window() {
    let fake = fake(&[KEY]);
    let sb = sandbox_for(&fake.url, KEY);
    hook(&sb, "session-start", "os-6", json!({ "hook_event_name": "SessionStart", "source": "startup" }));
    let t0 = now_ms();
    item(&sb, "os-6", t0 + 1, json!({ "role": "user", "kind": "prompt", "text": "count to three", "uuid": "u1" }));
    queue(&sb, "os-6", "os-6:stop", "response_complete", t0 + 2, summary(100, 50, 0.10, 5_000));
    sync_now(&sb);
    assert_eq!(fake.session("os-6").unwrap()["cost"], 0.10);

    // Right away (inside the window): the end, with the same tokens but the final cost and
    // duration. OpenSync would drop such a write; the uploader waits the window out instead.
    queue(&sb, "os-6", "os-6:end", "session_end", t0 + 3, summary(100, 50, 0.25, 9_000));
    sync_now(&sb);
    let session = fake.session("os-6").unwrap();
    assert_eq!(session["cost"], 0.25, "{session}");
    assert_eq!(session["durationMs"], 9_000);
}

#[test]
fn status_and_login_check_the_key_with_an_authenticated_call() {
    let fake = fake(&[KEY]);
    let sb = Sandbox::new();
    let login = |stdin: &[u8], extra: &[&str]| {
        let mut cmd = sb.command(std::path::Path::new(BIN));
        cmd.args(["login", "--url", &fake.url, "--key-stdin"]).args(extra);
        run_with_stdin(cmd, stdin)
    };
    let out = login(b"osk_not-the-right-key-000000000000\n", &[]);
    assert_eq!(out.status.code(), Some(1), "a rejected key is not saved");
    assert!(String::from_utf8_lossy(&out.stdout).contains("REJECTS the API key"));
    assert!(!sb.home.join(".claude-code-sync.json").exists());

    let out = login(format!("  {KEY} \n").as_bytes(), &["--protocol", "opensync"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.home.join(".claude-code-sync.json")).unwrap()).unwrap();
    assert_eq!(saved, json!({ "convex_url": fake.url, "api_key": KEY, "protocol": "opensync" }));

    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("the API key is accepted"), "{status}");
    assert!(status.contains("OpenSync HTTP actions"), "{status}");
    assert!(!status.contains(KEY));
    // /health answers without a key and proves nothing: the check used the key-checking route.
    let paths: Vec<String> = fake.requests().into_iter().map(|(p, _)| p).collect();
    assert!(paths.iter().all(|p| p == "GET /sync/sessions/list"), "{paths:?}");

    // A loopback URL and a key that is not osk_: auto asks the deployment, which answers as
    // OpenSync; the check then says what is wrong with the key.
    let mut sb = Sandbox::new();
    sb.write_config(&json!({ "convex_url": fake.url, "api_key": "not-an-opensync-key" }));
    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("auto: the deployment answers OpenSync"), "{status}");
    assert!(status.contains("OpenSync keys start with osk_"), "{status}");
    sb.set_env("CLAUDE_SYNC_PROTOCOL", "record-event");
    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("set in env CLAUDE_SYNC_PROTOCOL"), "{status}");
}

/// The fake is only worth its tests if it is as strict as OpenSync: these are the quirks the
/// transport must work around (backend-protocols.md part 2), checked on the fake directly.
#[test]
fn the_fake_is_as_strict_as_opensync() {
    let fake =
        FakeOpenSync::start(FakeOptions { keys: &[KEY, "osk_second_user_key_0000000000000000"], ..Default::default() });
    let http = reqwest::blocking::Client::new();
    let post = |path: &str, key: Option<&str>, body: Value| {
        let mut r = http.post(format!("{}{path}", fake.url)).json(&body);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        let r = r.send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap_or(Value::Null))
    };
    let msg = |external: &str, extra: Value| {
        let mut m = json!({ "sessionExternalId": "q-1", "externalId": external, "role": "user" });
        m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        m
    };
    // Auth: no header, an unknown key, an untrimmed key; /health checks nothing.
    assert_eq!(post("/sync/session", None, json!({ "externalId": "q-1" })).0, 401);
    assert_eq!(
        post("/sync/session", Some("osk_unknown"), json!({ "externalId": "q-1" })).1["error"],
        "Invalid API key"
    );
    assert_eq!(post("/sync/session", Some(&format!("{KEY} ")), json!({ "externalId": "q-1" })).0, 401);
    assert_eq!(http.get(format!("{}/health", fake.url)).send().unwrap().status().as_u16(), 200);
    // Session: id required (400); null and wrong types are 500.
    assert_eq!(post("/sync/session", Some(KEY), json!({ "title": "x" })).0, 400);
    assert_eq!(post("/sync/session", Some(KEY), json!({ "externalId": "q-1", "title": null })).0, 500);
    assert_eq!(post("/sync/session", Some(KEY), json!({ "externalId": "q-1", "cost": "1" })).0, 500);
    // Message: strict parts, bad role, null field → 500; a missing session is auto-created.
    let bad_part = msg("q-1:m0", json!({ "parts": [{ "type": "text", "content": "x", "order": 0 }] }));
    assert_eq!(post("/sync/message", Some(KEY), bad_part).0, 500);
    assert_eq!(post("/sync/message", Some(KEY), msg("q-1:m0", json!({ "role": "human" }))).0, 500);
    assert_eq!(post("/sync/message", Some(KEY), msg("q-1:m0", json!({ "textContent": null }))).0, 500);
    assert_eq!(post("/sync/message", Some(KEY), msg("q-1:m1", json!({ "promptTokens": 5, "parts": [] }))).0, 200);
    let auto = fake.session("q-1").unwrap();
    assert_eq!(
        (auto["source"].as_str(), auto["autoCreated"].as_bool(), auto["promptTokens"].as_i64()),
        (Some("opencode"), Some(true), Some(5))
    );
    // The message key is global: another user's write with the same key lands on this message.
    let other = "osk_second_user_key_0000000000000000";
    post("/sync/message", Some(other), msg("q-1:m1", json!({ "textContent": "hijacked" })));
    assert_eq!(fake.messages("q-1")[0]["noops"], 1, "inside the 5 s window: a no-op");
    // The session window: a cost-only change right after a write is dropped.
    assert_eq!(post("/sync/session", Some(KEY), json!({ "externalId": "q-1", "cost": 2.5 })).0, 200);
    assert_eq!(fake.session("q-1").unwrap()["cost"], 0);
}
