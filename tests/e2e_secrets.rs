//! A password typed in a prompt never leaves the machine: the real Claude Code CLI (pinned) runs
//! the scripted `multi` session with this repository as a plugin, and the user's prompt carries a
//! password in a plain sentence. Every byte the product sends to the backend goes through a
//! recording proxy on loopback; the password must be in none of them, nor in the backend's
//! stored data, nor anywhere in the data dir (store, spool, log). The sentence around it must
//! arrive intact ("my password is [REDACTED:password] if the console asks"), which also proves
//! the prompt was sent at all. Both backends: the project's Convex functions and OpenSync.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::backend::Backend;
use common::claude_code::*;
use common::opensync::{FakeOpenSync, FakeOptions};
use common::sandbox::{built_plugin, wait_for};

/// The password of the report that opened the redaction work: it reached the backend in plain
/// text, in the `user_prompt` event and in the OpenSync message body.
const PASSWORD: &str = "Xk9-plover-Quartz77";
const SENTENCE_AFTER: &str = "my password is [REDACTED:password] if the console asks";
const OSK: &str = "osk_e2eE2Ee2eE2Ee2eE2Ee2eE2Ee2eE2E";

/// A TCP proxy on loopback that forwards to `upstream` and keeps every byte clients sent.
struct RecordingProxy {
    url: String,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl RecordingProxy {
    fn start(upstream: &str) -> RecordingProxy {
        let addr = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&addr) else { continue };
                let log = log.clone();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                thread::spawn(move || pump(client, server, Some(log)));
                thread::spawn(move || pump(s2, c2, None));
            }
        });
        RecordingProxy { url: format!("http://127.0.0.1:{port}"), sent }
    }

    fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, log: Option<Arc<Mutex<Vec<u8>>>>) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(log) = &log {
                    log.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn all_delivered(data: &Path) -> bool {
    let Ok(db) = rusqlite::Connection::open(data.join("store.db")) else { return false };
    db.query_row("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'", [], |r| r.get::<_, i64>(0))
        .map(|n| n == 0)
        .unwrap_or(false)
}

/// Runs the `multi` session with the password in its prompt, delivering through `url`.
fn run(cc: &ClaudeCode, sandbox: &SessionSandbox, url: &str, extra: &[(&str, &str)]) -> String {
    let data = sandbox.root().join("data");
    let mut env = vec![
        ("CLAUDE_SYNC_DATA_DIR", data.display().to_string()),
        ("CLAUDE_SYNC_CONVEX_URL", url.to_string()),
        ("CLAUDE_SYNC_RETRY_BASE_MS", "100".to_string()),
        ("CLAUDE_SYNC_RETRY_MAX_MS", "500".to_string()),
        ("CLAUDE_SYNC_HTTP_TIMEOUT_MS", "3000".to_string()),
        ("CLAUDE_SYNC_TOOL_OUTPUT", "true".to_string()),
        ("CLAUDE_SYNC_THINKING", "true".to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let prompt =
        format!("SCENARIO:multi please do the multi tool scenario, and my password is {PASSWORD} if the console asks");
    let out = cc.run_session(&sandbox.home, &sandbox.work, &prompt, &[&built_plugin(sandbox.root())], &env, &[]);
    out.assert_success();
    assert_eq!(out.hook_failures(), Vec::<&str>::new(), "stderr: {}", out.stderr);
    assert!(wait_for(Duration::from_secs(30), || all_delivered(&data)), "outbox not drained");
    out.session_id()
}

/// Nothing of the password anywhere the product wrote or sent; the sentence around it sent.
fn assert_password_nowhere(proxy: &RecordingProxy, stored: &str, data: &Path) {
    let sent = proxy.sent();
    assert!(!sent.is_empty(), "nothing went through the proxy");
    assert!(!sent.contains(PASSWORD), "the password was in a request to the backend");
    assert!(sent.contains(SENTENCE_AFTER), "the prompt's sentence did not arrive intact: {sent}");
    assert!(!stored.contains(PASSWORD), "the password is stored in the backend");
    let found = find_in_tree(data, &[PASSWORD]);
    assert!(found.is_empty(), "the password is in the store, spool or log: {found:?}");
    assert!(data.join("store.db").exists());
}

#[test]
fn a_prose_password_reaches_neither_convex_nor_the_store_nor_the_log() {
    let Some(cc) = ClaudeCode::start() else { return };
    let backend = Backend::start();
    let proxy = RecordingProxy::start(&backend.url);
    let sandbox = SessionSandbox::new();
    let session = run(&cc, &sandbox, &proxy.url, &[("CLAUDE_SYNC_PROTOCOL", "record-event")]);
    let events = backend.events(&session);
    assert!(events.iter().any(|e| e["eventType"] == "user_prompt"), "no user_prompt event");
    let stored = format!(
        "{}{}",
        serde_json::to_string(&backend.table("events")).unwrap(),
        serde_json::to_string(&backend.table("sessions")).unwrap()
    );
    assert!(stored.contains(SENTENCE_AFTER), "the redacted prompt is not in the backend");
    assert_password_nowhere(&proxy, &stored, &sandbox.root().join("data"));
}

#[test]
fn a_prose_password_reaches_neither_opensync_nor_the_store_nor_the_log() {
    let Some(cc) = ClaudeCode::start() else { return };
    let fake = FakeOpenSync::start(FakeOptions { keys: &[OSK], session_window_ms: 1500, ..FakeOptions::default() });
    let proxy = RecordingProxy::start(&fake.url);
    let sandbox = SessionSandbox::new();
    let session = run(
        &cc,
        &sandbox,
        &proxy.url,
        &[
            ("CLAUDE_SYNC_API_KEY", OSK),
            ("CLAUDE_SYNC_PROTOCOL", "opensync"),
            ("CLAUDE_SYNC_OPENSYNC_WINDOW_MS", "1500"),
        ],
    );
    let title = fake.session(&session).expect("the session is on the dashboard")["title"].to_string();
    assert!(!title.contains(PASSWORD), "{title}");
    let stored = fake.state().to_string();
    assert!(stored.contains(SENTENCE_AFTER), "the redacted prompt is not in OpenSync");
    assert_password_nowhere(&proxy, &stored, &sandbox.root().join("data"));
    // The OpenSync key itself went only as the bearer header, never in a body or the store.
    assert!(find_in_tree(&sandbox.root().join("data"), &[OSK]).is_empty());
}
