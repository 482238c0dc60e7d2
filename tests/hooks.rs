//! The hook contract, run exactly as Claude Code runs it (hooks.json's exec form):
//! every path exits 0 with empty stdout, records what it can, and leaks no secret.

mod common;

use std::path::Path;
use std::time::Duration;

use common::sandbox::{Sandbox, assert_hook_ok, plugin_root, sample_payload, samples_dir, wait_for};
use serde_json::json;

/// hooks.json event name -> our subcommand, read from the real hooks.json.
fn registered_hooks() -> Vec<(String, String)> {
    let hooks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plugin_root().join("hooks/hooks.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for (event, groups) in hooks["hooks"].as_object().unwrap() {
        for group in groups.as_array().unwrap() {
            for h in group["hooks"].as_array().unwrap() {
                // Exec form (no shell in between): the launcher, which execs the binary.
                assert_eq!(h["command"], "${CLAUDE_PLUGIN_ROOT}/bin/claude-code-sync");
                assert_eq!(h["args"].as_array().map(Vec::len), Some(1), "{h}");
                out.push((event.clone(), h["args"][0].as_str().unwrap().to_string()));
            }
        }
    }
    out
}

#[test]
fn every_sample_payload_is_recorded_silently_with_the_right_event_type() {
    let sb = Sandbox::new();
    let expected_type = |event: &str| match event {
        "SessionStart" => "session_start",
        "UserPromptSubmit" => "user_prompt",
        "PostToolUse" => "tool_use",
        "PostToolUseFailure" => "tool_failure",
        "Stop" => "response_complete",
        "SubagentStop" => "subagent_stop",
        "PreCompact" => "pre_compact",
        "SessionEnd" => "session_end",
        other => panic!("unexpected hook {other}"),
    };
    let hooks = registered_hooks();
    assert_eq!(hooks.len(), 8, "{hooks:?}");
    let mut fired = 0;
    for entry in std::fs::read_dir(samples_dir().join("hook-payloads")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let event = name.split(['-', '.']).next().unwrap().to_string();
        for (_, sub) in hooks.iter().filter(|(e, _)| *e == event) {
            let session = format!("s-{name}");
            let out = sb.hook(sub, &sample_payload(&name, &session));
            assert_hook_ok(&out, &name);
            let rows = sb.outbox(&session);
            assert_eq!(rows, vec![(expected_type(&event).to_string(), "pending".to_string())], "{name}");
            fired += 1;
        }
    }
    assert!(fired >= 15, "only {fired} sample payloads matched a registered hook");
    assert!(sb.log().is_empty(), "clean inputs must log nothing: {}", sb.log());
}

#[test]
fn a_session_is_folded_into_one_local_row() {
    let sb = Sandbox::new();
    let s = "fold-1";
    for (sub, name) in [
        ("session-start", "SessionStart-startup.json"),
        ("prompt-submit", "UserPromptSubmit.json"),
        ("post-tool-use", "PostToolUse-Bash.json"),
        ("post-tool-use", "PostToolUse-Write.json"),
        ("post-tool-use-failure", "PostToolUseFailure-Bash.json"),
        ("stop", "Stop.json"),
        ("session-end", "SessionEnd-other.json"),
    ] {
        assert_hook_ok(&sb.hook(sub, &sample_payload(name, s)), name);
    }
    // The same tool call reported twice is one call (its tool_use_id is the idempotency key).
    assert_hook_ok(&sb.hook("post-tool-use", &sample_payload("PostToolUse-Bash.json", s)), "repeat");
    let row: (i64, i64, String, String, String) = sb
        .db()
        .query_row(
            "SELECT prompt_count, tool_call_count, start_type, end_reason, working_directory FROM sessions WHERE session_id = ?1",
            [s],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(row, (1, 3, "startup".into(), "other".into(), "/home/dev/work".into()));
    assert_eq!(sb.outbox(s).len(), 7);
}

#[test]
fn secrets_reach_neither_the_store_nor_the_log() {
    let sb = Sandbox::new();
    let aws = "AKIAQ7XN3VBTR5KLM2PW";
    let gh = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3s00";
    let prompt = json!({"session_id": "leak-1", "cwd": "/w", "hook_event_name": "UserPromptSubmit",
        "prompt": format!("use key {aws} and token {gh} please")});
    assert_hook_ok(&sb.hook("prompt-submit", prompt.to_string().as_bytes()), "prompt");
    let tool = json!({"session_id": "leak-1", "cwd": "/w", "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_use_id": "toolu_1", "tool_input": {"command": format!("export GITHUB_TOKEN={gh}")},
        "tool_response": {"stdout": format!("aws_access_key_id = {aws}"), "stderr": ""}});
    assert_hook_ok(&sb.hook("post-tool-use", tool.to_string().as_bytes()), "tool");
    // Garbage around a secret goes to the log as a parse problem: still redacted.
    let broken = format!("{{\"session_id\":\"leak-1\",\"prompt\":\"{gh}");
    assert_hook_ok(&sb.hook("prompt-submit", broken.as_bytes()), "broken");

    assert_eq!(sb.outbox("leak-1").len(), 3);
    let all = String::from_utf8_lossy(&sb.all_data_bytes()).into_owned();
    assert!(!all.contains(aws), "AWS key leaked into the data dir");
    assert!(!all.contains(gh), "GitHub token leaked into the data dir");
    let payloads: String = sb
        .db()
        .prepare("SELECT payload FROM outbox")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(payloads.contains("[REDACTED:"), "{payloads}");
}

#[test]
fn hostile_input_never_breaks_the_hook_and_is_logged() {
    let sb = Sandbox::new();
    let mut deep = "[".repeat(100_000);
    deep.push_str(&"]".repeat(100_000));
    let mut big = br#"{"session_id":"big-1","cwd":"/w","prompt":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 20 * 1024 * 1024));
    big.extend(br#""}"#);
    let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", br#"{"session_id":"t-1","cwd":"/w","prom"#.to_vec()),
        ("not json", b"hello there".to_vec()),
        ("random bytes", random),
        ("invalid utf8", b"{\"session_id\":\"u-1\",\"prompt\":\"\xff\xfe\"}".to_vec()),
        ("deep nesting", deep.into_bytes()),
        ("20 MB", big),
        ("unknown event", br#"{"session_id":"x-1","hook_event_name":"FutureEvent","new":{"a":[1]}}"#.to_vec()),
        ("missing transcript", br#"{"session_id":"m-1","transcript_path":"/nonexistent/x.jsonl"}"#.to_vec()),
        ("dev zero transcript", br#"{"session_id":"z-1","transcript_path":"/dev/zero"}"#.to_vec()),
    ];
    for (what, input) in &cases {
        for sub in ["session-start", "prompt-submit", "post-tool-use", "stop", "session-end"] {
            assert_hook_ok(&sb.hook(sub, input), &format!("{what} / {sub}"));
        }
    }
    let log = sb.log();
    assert!(log.contains("not valid JSON"), "{log}");
    assert!(log.contains("empty input"), "{log}");
    assert!(log.contains("exceeds"), "{log}");
    // Every call still recorded an event (nothing is lost, even when the input is junk).
    assert_eq!(sb.count("SELECT COUNT(*) FROM outbox"), (cases.len() * 5) as i64);
    assert_eq!(sb.count("SELECT COUNT(*) FROM outbox WHERE session_id = 'big-1'"), 5);
}

#[test]
fn hostile_environment_never_breaks_the_hook() {
    // A config file that is not JSON: hooks still record, status names the problem.
    let sb = Sandbox::new();
    std::fs::write(sb.home.join(".claude-code-sync.json"), "{ not json").unwrap();
    assert_hook_ok(&sb.hook("session-start", &sample_payload("SessionStart-startup.json", "cfg-1")), "broken config");
    assert_eq!(sb.outbox("cfg-1").len(), 1);
    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("PROBLEM") && status.contains("not valid JSON"), "{status}");

    // A data dir that cannot be created: nothing to record into, but still silent and 0.
    let mut sb2 = Sandbox::new();
    let blocker = sb2.dir.path().join("file-not-dir");
    std::fs::write(&blocker, "x").unwrap();
    sb2.set_env("CLAUDE_SYNC_DATA_DIR", blocker.join("data").to_str().unwrap());
    assert_hook_ok(
        &sb2.hook("prompt-submit", &sample_payload("UserPromptSubmit.json", "nodir")),
        "unwritable data dir",
    );

    // A store that is garbage: moved aside (kept), a new one started, the event recorded.
    let sb3 = Sandbox::new();
    std::fs::create_dir_all(&sb3.data).unwrap();
    std::fs::write(sb3.data.join("store.db"), vec![0x42u8; 8192]).unwrap();
    assert_hook_ok(&sb3.hook("session-start", &sample_payload("SessionStart-startup.json", "g-1")), "garbage store");
    assert_eq!(sb3.outbox("g-1").len(), 1);
    let aside: Vec<_> = std::fs::read_dir(&sb3.data)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".unusable-"))
        .collect();
    assert_eq!(aside.len(), 1, "the garbage store must be kept aside");
    assert!(sb3.log().contains("moved it to"), "{}", sb3.log());
}

#[test]
fn bad_arguments_still_exit_zero_silently() {
    let sb = Sandbox::new();
    let mut cmd = sb.command(&plugin_root().join("bin/claude-code-sync"));
    cmd.args(["stop", "--no-such-flag"]);
    let out = common::sandbox::run_with_stdin(cmd, b"{}");
    assert_hook_ok(&out, "bad flag");
    assert!(sb.log().contains("bad arguments"), "{}", sb.log());
}

/// The launcher called by a path relative to the plugin folder (`bin/claude-code-sync`, as a
/// user types it there) finds the checkout's build, as it does by an absolute path.
#[test]
fn the_launcher_called_by_a_relative_path_finds_the_build() {
    let sb = Sandbox::new();
    let checkout = sb.dir.path().join("checkout");
    let plugin = common::sandbox::built_plugin(&checkout);
    let mut cmd = sb.command(Path::new("bin/claude-code-sync"));
    cmd.current_dir(&plugin).env_remove("CLAUDE_SYNC_BIN").env("PATH", "/usr/bin:/bin").arg("--version");
    let out = common::sandbox::run_with_stdin(cmd, b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("claude-code-sync "), "{out:?}");
    assert!(sb.log().is_empty(), "{}", sb.log());
}

#[test]
fn with_no_backend_no_uploader_runs_and_status_says_local_only() {
    let sb = Sandbox::new();
    assert_hook_ok(&sb.hook("session-start", &sample_payload("SessionStart-startup.json", "local-1")), "start");
    assert!(!wait_for(Duration::from_millis(300), || sb.data.join("uploader.lock").exists()));
    let out = sb.run(&["status"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("No Convex URL configured"), "{text}");
    assert!(text.contains("1 pending"), "{text}");
    assert!(text.contains("1 recorded locally"), "{text}");
}

#[test]
fn status_shows_hook_cost_and_forget_removes_a_session_locally() {
    let sb = Sandbox::new();
    for s in ["keep-1", "drop-1"] {
        assert_hook_ok(&sb.hook("session-start", &sample_payload("SessionStart-startup.json", s)), s);
        assert_hook_ok(&sb.hook("prompt-submit", &sample_payload("UserPromptSubmit.json", s)), s);
    }
    let status = String::from_utf8(sb.run(&["status"]).stdout).unwrap();
    assert!(status.contains("hook time (24 h)") && status.contains("over 4 hooks"), "{status}");

    let out = sb.run(&["forget", "--session", "drop-1"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 session(s) and 2 event(s)"));
    assert!(sb.outbox("drop-1").is_empty());
    assert_eq!(sb.outbox("keep-1").len(), 2);
    let out = sb.run(&["forget"]);
    assert_eq!(out.status.code(), Some(2), "forget needs --session or --project");
}
