//! Fault injection against the project's real Convex functions on loopback (tests/backend/).
//!
//! Each scenario tries hard to break one promise of delivery (docs/architecture.md) — a hook never
//! hurts the host, every event is kept locally, and every kept event reaches the backend exactly
//! once whatever the network did — and then checks it event by event: every hook fired here
//! carries a unique marker (its `prompt_id`, copied into the event's `detail.promptId`), so the
//! backend's `events` table can be compared with the local outbox marker by marker.
//!
//! Backoff and timeouts are shortened through the uploader's test knobs so the whole file stays
//! within a couple of minutes. No assertion is about speed: "fast" is checked as "returns at all
//! within a generous bound, with the uploader still busy in the background".

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::backend::{Backend, BackendOptions};
use common::sandbox::{BIN, Sandbox, assert_hook_ok, wait_for};
use serde_json::{Value, json};

/// Every hook subcommand the plugin registers, with the event-specific fields of a payload the
/// real Claude Code 2.1.331 sent for it (tests/fixtures/claude-code/hook-payloads/; inlined so the suite does
/// not depend on where that folder sits — tests/hooks.rs runs the sample files themselves).
const SCRIPT: &[(&str, &str)] = &[
    ("session-start", r#"{"hook_event_name":"SessionStart","source":"startup"}"#),
    ("prompt-submit", r#"{"hook_event_name":"UserPromptSubmit","prompt":"SCENARIO:agent spawn a subagent"}"#),
    (
        "post-tool-use",
        r#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"echo hello-from-bash","description":"say hello"},"tool_response":{"stdout":"hello-from-bash","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},"tool_use_id":"toolu_multi_0_47_1","duration_ms":42}"#,
    ),
    (
        "post-tool-use-failure",
        r#"{"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"echo to-stderr >&2; exit 3","description":"failing command"},"tool_use_id":"toolu_fail_0_13_0","error":"Exit code 3\nto-stderr","is_interrupt":false,"duration_ms":70}"#,
    ),
    (
        "subagent-stop",
        r#"{"hook_event_name":"SubagentStop","agent_id":"a0094f20103808832","agent_type":"general-purpose","stop_hook_active":false,"last_assistant_message":"Subagent result: from-subagent","background_tasks":[],"session_crons":[]}"#,
    ),
    (
        "pre-compact",
        r#"{"hook_event_name":"PreCompact","trigger":"manual","custom_instructions":"keep the probe details"}"#,
    ),
    (
        "stop",
        r#"{"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"Subagent finished; main done.","background_tasks":[],"session_crons":[]}"#,
    ),
    ("session-end", r#"{"hook_event_name":"SessionEnd","reason":"other"}"#),
];

/// A generous bound for one hook to return at all, on a loaded machine with a debug build.
const HOOK_RETURNS_WITHIN: Duration = Duration::from_secs(20);

fn fault_sandbox(url: &str, key: Option<&str>) -> Sandbox {
    let mut sb = Sandbox::new();
    let mut config = json!({ "convex_url": url });
    if let Some(k) = key {
        config["api_key"] = k.into();
    }
    sb.write_config(&config);
    sb.set_env("CLAUDE_SYNC_RETRY_BASE_MS", "50");
    sb.set_env("CLAUDE_SYNC_RETRY_MAX_MS", "400");
    // Long enough that the background uploader outlasts every fault phase of a test.
    sb.set_env("CLAUDE_SYNC_RETRY_TOTAL_MS", "60000");
    sb.set_env("CLAUDE_SYNC_HTTP_TIMEOUT_MS", "1000");
    sb
}

/// The payload of script step `step` for `session`, tagged with `marker`.
fn marked_payload(step: usize, session: &str, marker: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(SCRIPT[step].1).unwrap();
    v["session_id"] = session.into();
    v["transcript_path"] = format!("/nonexistent/{session}.jsonl").into();
    v["cwd"] = "/home/dev/work".into();
    v["permission_mode"] = "default".into();
    v["prompt_id"] = marker.into();
    if v.get("tool_use_id").is_some() {
        // Tool events are keyed by their tool_use_id: make each one a distinct call.
        v["tool_use_id"] = format!("toolu_{marker}").into();
    }
    serde_json::to_vec(&v).unwrap()
}

/// Spawns one hook as Claude Code does, without waiting for it.
fn spawn_hook(sb: &Sandbox, subcommand: &str, stdin: Vec<u8>) -> std::process::Child {
    let mut cmd = sb.command(Path::new(BIN));
    cmd.arg(subcommand).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn hook");
    let mut pipe = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = pipe.write_all(&stdin);
    });
    child
}

/// Runs one hook and insists it returns — exits, and closes its stdout and stderr — within
/// `limit`. A hook whose detached uploader kept the pipes open would fail here.
fn run_bounded(sb: &Sandbox, subcommand: &str, stdin: Vec<u8>, limit: Duration) -> Output {
    let child = spawn_hook(sb, subcommand, stdin);
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = kill9(pid);
            panic!("{subcommand} hook did not return within {limit:?}");
        }
    }
}

fn kill9(pid: i32) -> nix::Result<()> {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL)
}

/// The pid of the running background uploader, if one holds the lock.
fn uploader_pid(sb: &Sandbox) -> Option<i32> {
    let path = sb.data.join("uploader.lock");
    let file = std::fs::File::open(&path).ok()?;
    match file.try_lock_shared() {
        Err(std::fs::TryLockError::WouldBlock) => {}
        _ => return None,
    }
    let pid: i32 = std::fs::read_to_string(&path).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline).contains("__upload").then_some(pid)
}

/// How many uploader processes run for this sandbox (found by their CLAUDE_SYNC_DATA_DIR).
fn uploaders_running(sb: &Sandbox) -> usize {
    let ours = format!("CLAUDE_SYNC_DATA_DIR={}", sb.data.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains("__upload")
                && environ.split(|&b| b == 0).any(|var| var == ours.as_bytes())
        })
        .count()
}

fn fault_state(backend: &Backend) -> Value {
    reqwest::blocking::get(format!("{}/_test/fault", backend.url)).unwrap().json().unwrap()
}

fn requests(backend: &Backend) -> i64 {
    backend.stats()["requests"].as_i64().unwrap()
}

fn integrity(sb: &Sandbox) -> String {
    sb.db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

fn not_delivered(sb: &Sandbox) -> i64 {
    sb.count("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'")
}

/// Runs `sync-now --all` until it reports nothing left (the background uploader may still be
/// asleep in a backoff when the fault ends); returns its last report.
fn drain_to_end(sb: &Sandbox) -> String {
    let mut last = String::new();
    for _ in 0..6 {
        let out = sb.run(&["sync-now", "--all"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        last = String::from_utf8(out.stdout).unwrap();
        if last.contains("Nothing left to send") {
            return last;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("sync-now never emptied the outbox; last report:\n{last}\nlog:\n{}", sb.log());
}

/// Sets its flag when dropped, also while a panic unwinds, so helper threads of a failed test
/// stop instead of keeping `thread::scope` waiting forever.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// One scenario's line of the fault matrix.
#[derive(Debug, Default)]
struct Tally {
    fired: usize,
    acknowledged: usize,
    killed: usize,
    delivered: usize,
    duplicated: usize,
    lost: usize,
}

/// Compares the backend with the local outbox marker by marker and asserts exactly-once
/// delivery of every acknowledged event: present locally once, delivered, stored at the backend
/// once under the outbox's own event id. Killed hooks may have recorded their event or not, but
/// never twice. Prints the scenario's fault-matrix line.
fn assert_exactly_once(
    scenario: &str,
    sb: &Sandbox,
    backend: &Backend,
    acknowledged: &[String],
    killed: &[String],
) -> Tally {
    let marker_of = |payload: &Value| payload["detail"]["promptId"].as_str().map(str::to_string);

    let db = sb.db();
    let mut stmt = db.prepare("SELECT event_id, state, payload FROM outbox").unwrap();
    let local: Vec<(String, String, Value)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, serde_json::from_str(&r.get::<_, String>(2)?).unwrap())))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let stuck: Vec<_> = local.iter().filter(|(_, state, _)| state != "delivered").collect();
    assert!(stuck.is_empty(), "{scenario}: {} event(s) not delivered, e.g. {:?}", stuck.len(), stuck.first());

    let remote = backend.table("events");
    let remote_ids: Vec<&str> = remote.iter().map(|e| e["eventId"].as_str().unwrap()).collect();
    let unique: HashSet<&str> = remote_ids.iter().copied().collect();
    assert_eq!(unique.len(), remote_ids.len(), "{scenario}: an event id stored twice at the backend");
    let local_ids: HashSet<&str> = local.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(unique, local_ids, "{scenario}: the backend and the outbox disagree on the set of event ids");

    let mut local_by_marker: HashMap<String, usize> = HashMap::new();
    for (_, _, payload) in &local {
        if let Some(m) = marker_of(payload) {
            *local_by_marker.entry(m).or_default() += 1;
        }
    }
    let mut remote_by_marker: HashMap<String, usize> = HashMap::new();
    for e in &remote {
        if let Some(m) = marker_of(&e["payload"]) {
            *remote_by_marker.entry(m).or_default() += 1;
        }
    }
    let mut tally = Tally {
        fired: acknowledged.len() + killed.len(),
        acknowledged: acknowledged.len(),
        killed: killed.len(),
        ..Tally::default()
    };
    for m in acknowledged.iter().chain(killed) {
        match remote_by_marker.get(m).copied().unwrap_or(0) {
            0 => {}
            1 => tally.delivered += 1,
            _ => tally.duplicated += 1,
        }
    }
    tally.lost = acknowledged.iter().filter(|m| !remote_by_marker.contains_key(*m)).count();
    println!(
        "FAULT-MATRIX {scenario}: fired {} (acknowledged {}, killed {}), delivered {}, duplicated {}, lost {}",
        tally.fired, tally.acknowledged, tally.killed, tally.delivered, tally.duplicated, tally.lost
    );
    for m in acknowledged {
        assert_eq!(
            local_by_marker.get(m),
            Some(&1),
            "{scenario}: acknowledged event {m} recorded locally {:?} times; log:\n{}",
            local_by_marker.get(m),
            sb.log()
        );
        assert_eq!(
            remote_by_marker.get(m),
            Some(&1),
            "{scenario}: acknowledged event {m} at the backend {:?} times",
            remote_by_marker.get(m)
        );
    }
    for m in killed {
        assert!(local_by_marker.get(m).copied().unwrap_or(0) <= 1, "{scenario}: killed hook {m} recorded twice");
        assert!(remote_by_marker.get(m).copied().unwrap_or(0) <= 1, "{scenario}: killed hook {m} stored twice");
    }
    let log = sb.log();
    assert!(!log.contains("hook failed") && !log.contains("hook panicked"), "{scenario}: hooks failed:\n{log}");
    tally
}

/// Fires `per_worker` hooks from each of `workers` threads (one process at a time per thread,
/// so `workers` hook processes run at once), walking through the script in sessions of its
/// own. Returns the markers of the hooks fired (all must exit 0 with empty stdout).
fn fire_concurrently(
    sb: &Sandbox,
    tag: &str,
    workers: usize,
    per_worker: usize,
    progress: &AtomicUsize,
) -> Vec<String> {
    fire_until(sb, tag, workers, per_worker, &AtomicBool::new(true), progress)
}

/// Like `fire_concurrently`, and each thread goes on firing past `at_least` until `stop` is set.
fn fire_until(
    sb: &Sandbox,
    tag: &str,
    workers: usize,
    at_least: usize,
    stop: &AtomicBool,
    progress: &AtomicUsize,
) -> Vec<String> {
    let fired = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for w in 0..workers {
            let fired = &fired;
            s.spawn(move || {
                let mut i = 0;
                while i < at_least || !stop.load(Ordering::SeqCst) {
                    let step = i % SCRIPT.len();
                    let session = format!("{tag}-{w}-{}", i / SCRIPT.len());
                    let marker = format!("{tag}-{w}-{i}");
                    let out =
                        run_bounded(sb, SCRIPT[step].0, marked_payload(step, &session, &marker), HOOK_RETURNS_WITHIN);
                    assert_hook_ok(&out, &marker);
                    fired.lock().unwrap().push(marker);
                    progress.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                }
            });
        }
    });
    fired.into_inner().unwrap()
}

#[test]
fn eight_concurrent_hook_processes_while_the_backend_cycles_through_every_fault() {
    let backend = Backend::start();
    let sb = fault_sandbox(&backend.url, None);
    const WORKERS: usize = 8;
    const AT_LEAST: usize = 16;
    // Each mode stays until it has met requests of the background uploader (or a bound passes,
    // which fails the test below); the hooks keep firing through all of them.
    // `unauthorized` last: it stops delivery until `sync-now` (as designed).
    let modes = [
        json!({ "mode": "http500" }),
        json!({ "mode": "rate_limited", "retryAfterSeconds": 1 }),
        json!({ "mode": "reset_half" }),
        json!({ "mode": "slow", "delayMs": 1500 }),
        json!({ "mode": "black_hole" }),
        json!({ "mode": "lost_reply" }),
        json!({ "mode": "healthy" }),
        json!({ "mode": "unauthorized" }),
    ];
    let progress = AtomicUsize::new(0);
    let cycled = AtomicBool::new(false);
    let faulted = Mutex::new(Vec::new());
    let markers = std::thread::scope(|s| {
        s.spawn(|| {
            let _done = SetOnDrop(&cycled);
            for mode in &modes {
                backend.set_fault(mode.clone());
                let name = mode["mode"].as_str().unwrap();
                // Two requests per mode, the first and a retry; one for `unauthorized`, after
                // which the uploader rightly stops.
                let wanted = if name == "unauthorized" { 1 } else { 2 };
                if name == "healthy" {
                    std::thread::sleep(Duration::from_millis(500));
                } else {
                    wait_for(Duration::from_secs(15), || fault_state(&backend)["faulted"].as_i64().unwrap() >= wanted);
                }
                let hit = fault_state(&backend)["faulted"].as_i64().unwrap();
                faulted.lock().unwrap().push((name.to_string(), hit));
            }
        });
        fire_until(&sb, "conc", WORKERS, AT_LEAST, &cycled, &progress)
    });
    backend.set_fault(json!({ "mode": "healthy" }));
    let faulted = faulted.into_inner().unwrap();
    println!("requests faulted per mode: {faulted:?}");
    let missed: Vec<_> = faulted.iter().filter(|(mode, n)| mode != "healthy" && *n == 0).collect();
    assert!(missed.is_empty(), "modes no request met: {missed:?}\n{}", sb.log());

    drain_to_end(&sb);
    assert_eq!(integrity(&sb), "ok");
    let scenario = format!(
        "8 concurrent hooks, cycling faults ({} faulted requests)",
        faulted.iter().map(|(_, n)| n).sum::<i64>()
    );
    let tally = assert_exactly_once(&scenario, &sb, &backend, &markers, &[]);
    assert_eq!(tally.delivered, markers.len());
    assert!(markers.len() >= WORKERS * AT_LEAST);
    let local_sessions = sb.count("SELECT COUNT(DISTINCT session_id) FROM outbox");
    assert_eq!(backend.table("sessions").len() as i64, local_sessions, "every session arrived");
}

#[test]
fn kill_9_of_the_uploader_in_the_middle_of_a_batch_loses_and_duplicates_nothing() {
    let backend = Backend::start();
    let mut sb = fault_sandbox(&backend.url, None);
    // The client waits for the slow backend, so a batch is in flight when the kill comes.
    sb.set_env("CLAUDE_SYNC_HTTP_TIMEOUT_MS", "20000");
    backend.set_fault(json!({ "mode": "slow", "delayMs": 700 }));
    let progress = AtomicUsize::new(0);
    let mut markers = Vec::new();
    let mut kills = 0;
    for round in 0..3 {
        markers.extend(fire_concurrently(&sb, &format!("up{round}"), 4, 12, &progress));
        let faulted_before = fault_state(&backend)["faulted"].as_i64().unwrap();
        // A hook after the burst makes sure an uploader is running for what is queued.
        let marker = format!("up{round}-wake");
        assert_hook_ok(
            &run_bounded(
                &sb,
                "prompt-submit",
                marked_payload(1, &format!("up{round}-w"), &marker),
                HOOK_RETURNS_WITHIN,
            ),
            &marker,
        );
        markers.push(marker);
        // Wait for a request that is held in the server's delay, then kill its sender.
        assert!(
            wait_for(Duration::from_secs(20), || fault_state(&backend)["faulted"].as_i64().unwrap() > faulted_before
                && uploader_pid(&sb).is_some()),
            "no batch in flight; log:\n{}",
            sb.log()
        );
        std::thread::sleep(Duration::from_millis(150));
        let Some(pid) = uploader_pid(&sb) else { continue };
        kill9(pid).unwrap();
        kills += 1;
        assert!(wait_for(Duration::from_secs(5), || uploader_pid(&sb).is_none()), "the lock outlived its holder");
        // The next round's hooks must start a fresh uploader: a dead holder leaves no lock.
    }
    // (The server reads a slow request only after its delay, so the orphaned batch is dropped;
    // the stored-but-unacknowledged case is `a_reply_lost_after_the_backend_stored_a_batch...`.)
    assert!(kills >= 2, "the uploader was killed only {kills} time(s)");
    assert_eq!(integrity(&sb), "ok");
    backend.set_fault(json!({ "mode": "healthy" }));
    drain_to_end(&sb);
    let tally = assert_exactly_once("kill -9 of the uploader mid-batch", &sb, &backend, &markers, &[]);
    assert_eq!(tally.delivered, markers.len());
}

/// The worst moment to lose an uploader or its connection: the backend has stored the batch and
/// the answer never arrives. The events are still pending locally; the re-send must be
/// recognised as duplicates, and nothing may be stored twice.
#[test]
fn a_reply_lost_after_the_backend_stored_a_batch_is_resent_without_duplicates() {
    let backend = Backend::start();
    let sb = fault_sandbox(&backend.url, None);
    // Foreground delivery only, so the moment between the lost reply and the re-send is ours;
    // the protocol set, so no `auto` probe meets the one lost reply instead of the batch.
    sb.write_config(&json!({ "convex_url": backend.url, "auto_sync": false, "protocol": "record-event" }));
    let progress = AtomicUsize::new(0);
    let markers = fire_concurrently(&sb, "lost", 4, 10, &progress);
    backend.set_fault(json!({ "mode": "lost_reply", "count": 1 }));
    let first = String::from_utf8(sb.run(&["sync-now", "--all"]).stdout).unwrap();
    assert!(first.contains("Stopped early"), "{first}");
    let remote: HashSet<String> =
        backend.table("events").iter().map(|e| e["eventId"].as_str().unwrap().to_string()).collect();
    let pending = sb.count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'");
    assert_eq!(remote.len() as i64, pending, "the whole batch is stored remotely and still pending locally");
    // Everything recorded (the hooks' events and what the product derives from them) went in
    // that one batch: all of it is stored remotely, none of it acknowledged locally.
    let total = sb.count("SELECT COUNT(*) FROM outbox");
    assert!(total >= markers.len() as i64 && total <= 100, "{total} events: more than one batch");
    assert_eq!(pending, total, "nothing was acknowledged");

    let second = String::from_utf8(sb.run(&["sync-now", "--all"]).stdout).unwrap();
    assert!(second.contains(&format!("(0 new, {total} already there)")), "{second}");
    assert!(second.contains("Nothing left to send"), "{second}");
    let tally = assert_exactly_once("reply lost after the backend stored the batch", &sb, &backend, &markers, &[]);
    assert_eq!(tally.delivered, markers.len());
}

#[test]
fn kill_9_of_hooks_in_the_middle_of_a_write_keeps_the_store_sound_and_every_acknowledged_event() {
    let backend = Backend::start();
    let sb = fault_sandbox(&backend.url, None);
    const PROCESSES: usize = 240;
    const AT_ONCE: usize = 8;
    let acknowledged = Mutex::new(Vec::new());
    let killed = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let stop_killing_uploaders = AtomicBool::new(false);
    let uploader_kills = AtomicUsize::new(0);
    // A running average of how long an unkilled hook lives here, so kills land across it.
    let lifetime_micros = AtomicU64::new(50_000);
    std::thread::scope(|s| {
        let _stop = SetOnDrop(&stop_killing_uploaders);
        // Meanwhile the background uploader is shot whenever it is seen.
        s.spawn(|| {
            while !stop_killing_uploaders.load(Ordering::SeqCst) {
                if let Some(pid) = uploader_pid(&sb)
                    && kill9(pid).is_ok()
                {
                    uploader_kills.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(fastrand::u64(20..120)));
            }
        });
        let workers: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= PROCESSES {
                            return;
                        }
                        let step = i % SCRIPT.len();
                        let marker = format!("kill-{i}");
                        let started = Instant::now();
                        let mut child = spawn_hook(
                            &sb,
                            SCRIPT[step].0,
                            marked_payload(step, &format!("kill-s{}", i % 16), &marker),
                        );
                        // Two out of three get a SIGKILL at a random moment of their life as long as
                        // the hooks that finish take here (some before the store is open, some inside
                        // the transaction, some after it).
                        let doomed = fastrand::u8(0..3) != 0;
                        if doomed {
                            let life = lifetime_micros.load(Ordering::SeqCst);
                            std::thread::sleep(Duration::from_micros(fastrand::u64(0..life * 5 / 4)));
                            let _ = child.kill();
                        }
                        let out = child.wait_with_output().unwrap();
                        if !doomed {
                            let took = started.elapsed().as_micros() as u64;
                            let life = lifetime_micros.load(Ordering::SeqCst);
                            lifetime_micros.store((life * 3 + took) / 4, Ordering::SeqCst);
                        }
                        match out.status.code() {
                            Some(0) => {
                                assert!(
                                    out.stdout.is_empty(),
                                    "{marker}: stdout {:?}",
                                    String::from_utf8_lossy(&out.stdout)
                                );
                                acknowledged.lock().unwrap().push(marker);
                            }
                            None => killed.lock().unwrap().push(marker),
                            Some(code) => panic!("{marker}: exit {code}: {}", String::from_utf8_lossy(&out.stderr)),
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    let killed = killed.into_inner().unwrap();
    let recorded: HashSet<String> = sb
        .db()
        .prepare("SELECT payload FROM outbox")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|p| {
            serde_json::from_str::<Value>(&p.unwrap()).unwrap()["detail"]["promptId"].as_str().unwrap().to_string()
        })
        .collect();
    println!(
        "uploader killed {} time(s) during the storm; {} of {} killed hooks had committed their event",
        uploader_kills.load(Ordering::SeqCst),
        killed.iter().filter(|m| recorded.contains(*m)).count(),
        killed.len()
    );
    assert!(killed.len() >= PROCESSES / 4, "only {} hooks were killed before exiting: the storm missed", killed.len());
    assert!(acknowledged.len() >= PROCESSES / 10, "only {} hooks finished", acknowledged.len());

    assert_eq!(integrity(&sb), "ok");
    let aside: Vec<_> = std::fs::read_dir(&sb.data)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("unusable"))
        .collect();
    assert!(aside.is_empty(), "the store was moved aside: {aside:?}\n{}", sb.log());
    drain_to_end(&sb);
    let tally =
        assert_exactly_once("kill -9 of hooks (and the uploader) mid-write", &sb, &backend, &acknowledged, &killed);
    assert!(tally.delivered >= tally.acknowledged, "{tally:?}");
}

#[test]
fn a_key_going_bad_mid_stream_parks_without_a_hot_loop_and_everything_arrives_once_it_is_fixed() {
    const OLD_KEY: &str = "old-key-0123456789abcdef";
    const NEW_KEY: &str = "new-key-fedcba9876543210";
    let backend = Backend::start_with(BackendOptions { api_key: Some(OLD_KEY), ..Default::default() });
    let sb = fault_sandbox(&backend.url, Some(OLD_KEY));
    let progress = AtomicUsize::new(0);

    let mut markers = fire_concurrently(&sb, "before", 2, 8, &progress);
    assert!(wait_for(Duration::from_secs(30), || not_delivered(&sb) == 0), "{}", sb.log());

    // The deployment's key is rotated while sessions go on: the uploader meets UNAUTHORIZED in
    // the middle of the stream.
    backend.set_deployment_key(Some(NEW_KEY));
    markers.extend(fire_concurrently(&sb, "during", 4, 10, &progress));
    assert!(
        wait_for(Duration::from_secs(20), || sb.count("SELECT COUNT(*) FROM outbox WHERE state = 'parked'") > 0),
        "nothing parked; log:\n{}",
        sb.log()
    );
    assert!(
        wait_for(Duration::from_secs(10), || uploader_pid(&sb).is_none()),
        "the uploader keeps running with a rejected key"
    );

    // No hot loop: more hooks and time pass, and the backend hears nothing.
    let before = requests(&backend);
    markers.extend(fire_concurrently(&sb, "blocked", 4, 4, &progress));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(requests(&backend), before, "requests sent while delivery is stopped by a rejected key");

    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("DELIVERY STOPPED"), "{status}");
    assert!(status.contains("UNAUTHORIZED"), "{status}");
    assert!(status.contains("REJECTS the configured API key"), "{status}");
    assert!(status.contains("parked"), "{status}");
    assert!(!status.contains(OLD_KEY) && !status.contains(NEW_KEY), "status shows a whole key");

    // sync-now with the key still wrong: one try, a clear answer, then quiet again.
    let before = requests(&backend);
    let out = String::from_utf8(sb.run(&["sync-now", "--all"]).stdout).unwrap();
    assert!(out.contains("parked") || out.contains("UNAUTHORIZED"), "{out}");
    let after_sync_now = requests(&backend);
    assert!(after_sync_now - before <= 2, "sync-now with a bad key sent {} requests", after_sync_now - before);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(requests(&backend), after_sync_now, "requests after sync-now with a bad key");
    let kept = sb.count("SELECT COUNT(*) FROM outbox WHERE state != 'delivered'");
    assert!(kept >= 16, "events waiting for the key: {kept}");

    // The user puts the new key in the config; the next hook retries everything.
    sb.write_config(&json!({ "convex_url": backend.url, "api_key": NEW_KEY }));
    markers.extend(fire_concurrently(&sb, "fixed", 1, 1, &progress));
    assert!(
        wait_for(Duration::from_secs(30), || not_delivered(&sb) == 0),
        "outbox not drained after the fix:\n{}",
        sb.log()
    );
    let tally = assert_exactly_once("key rotated mid-stream, then fixed", &sb, &backend, &markers, &[]);
    assert_eq!(tally.delivered, markers.len());
    let log = sb.log();
    assert!(!log.contains(OLD_KEY) && !log.contains(NEW_KEY), "a key reached the log");
    let bytes = sb.all_data_bytes();
    for key in [OLD_KEY, NEW_KEY] {
        assert!(!bytes.windows(key.len()).any(|w| w == key.as_bytes()), "a key reached the data dir");
    }
}

/// A turn fires its hooks in a burst; the uploader that delivered the first event stays for the
/// next ones, so the burst does not start one uploader per hook (each start costs the hook a
/// fork and competes with the next hook for the CPU). The pid in uploader.lock names each
/// uploader that took the lock.
#[test]
fn a_burst_of_hooks_is_served_by_one_uploader() {
    let backend = Backend::start();
    let sb = fault_sandbox(&backend.url, None);
    let mut uploaders = HashSet::new();
    let mut markers = Vec::new();
    for i in 0..12 {
        let marker = format!("burst-{i}");
        let step = i % SCRIPT.len();
        assert_hook_ok(
            &run_bounded(&sb, SCRIPT[step].0, marked_payload(step, "burst", &marker), HOOK_RETURNS_WITHIN),
            &marker,
        );
        markers.push(marker);
        let upload_of_this_event = wait_for(Duration::from_secs(10), || not_delivered(&sb) == 0);
        assert!(upload_of_this_event, "event {i} not delivered:\n{}", sb.log());
        if let Ok(pid) = std::fs::read_to_string(sb.data.join("uploader.lock")) {
            uploaders.insert(pid);
        }
    }
    // One uploader; a second only if the machine stalled past the linger between two hooks.
    assert!(uploaders.len() <= 2, "{} uploaders for a burst of 12 hooks: {uploaders:?}", uploaders.len());
    assert_exactly_once("a burst of hooks", &sb, &backend, &markers, &[]);
}

/// Hooks against an unreachable backend: every subcommand exits 0, silent, and returns while
/// the detached uploader — not the hook — is the one waiting on the network. Then the backend
/// recovers and everything arrives once.
fn hooks_stay_silent_while_the_uploader_waits(scenario: &str, sb: &Sandbox, tag: &str) -> Vec<String> {
    let mut markers = Vec::new();
    for round in 0..3 {
        for (step, (sub, _)) in SCRIPT.iter().enumerate() {
            let marker = format!("{tag}-{round}-{step}");
            let out =
                run_bounded(sb, sub, marked_payload(step, &format!("{tag}-{round}"), &marker), HOOK_RETURNS_WITHIN);
            assert_hook_ok(&out, &format!("{scenario}: {sub}"));
            assert!(
                out.stderr.is_empty(),
                "{scenario}: {sub} wrote to stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            markers.push(marker);
        }
    }
    markers
}

#[test]
fn black_hole_slow_and_closed_port_backends_never_hold_a_hook() {
    let backend = Backend::start();
    for (scenario, fault) in [
        ("black hole", json!({ "mode": "black_hole" })),
        ("slower than the client timeout", json!({ "mode": "slow", "delayMs": 2500 })),
    ] {
        backend.set_fault(fault);
        let sb = fault_sandbox(&backend.url, None);
        let tag = if scenario == "black hole" { "hole" } else { "slow" };
        let markers = hooks_stay_silent_while_the_uploader_waits(scenario, &sb, tag);
        // Every hook has returned; the uploader is still there, and the backend holds its request.
        assert!(uploader_pid(&sb).is_some(), "{scenario}: no uploader is waiting on the backend; log:\n{}", sb.log());
        assert!(fault_state(&backend)["faulted"].as_i64().unwrap() > 0, "{scenario}: the backend never saw a request");
        // One instance at a time, even while each request hangs.
        assert_eq!(uploaders_running(&sb), 1, "{scenario}: uploaders running at once");
        assert!(not_delivered(&sb) > 0, "{scenario}: events delivered through a dead backend?");
        backend.set_fault(json!({ "mode": "healthy" }));
        // The uploader recovers on its own once its request times out.
        assert!(
            wait_for(Duration::from_secs(30), || not_delivered(&sb) == 0),
            "{scenario}: not delivered after recovery\n{}",
            sb.log()
        );
        assert_eq!(integrity(&sb), "ok");
        let tally = assert_exactly_once(scenario, &sb, &backend, &markers, &[]);
        assert_eq!(tally.delivered, markers.len());
        // Each sandbox has its own sessions; clear the backend for the next scenario.
        reqwest::blocking::Client::new().post(format!("{}/_test/reset", backend.url)).send().unwrap();
    }

    // Down: nothing listens on the port at all.
    let port = backend.port;
    drop(backend);
    let sb = fault_sandbox(&format!("http://127.0.0.1:{port}"), None);
    let markers = hooks_stay_silent_while_the_uploader_waits("closed port", &sb, "down");
    assert!(not_delivered(&sb) == markers.len() as i64);
    let backend = Backend::start_with(BackendOptions { port, ..Default::default() });
    drain_to_end(&sb);
    let tally = assert_exactly_once("closed port, then up", &sb, &backend, &markers, &[]);
    assert_eq!(tally.delivered, markers.len());
}
