//! Proves the end-to-end harness: the real Claude Code, driven by the scripted fake Messages
//! API, fires a plugin's hooks (loaded with `--plugin-dir`, exec form with `args`) for every
//! scripted step, in order, and writes the transcript the helpers read.
//!
//! The plugin here is a throwaway recorder made by the test: each hook appends its stdin (one
//! JSON payload) to `<plugin>/events.jsonl`. The product's own end-to-end tests build on the
//! same harness with the real plugin.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::claude_code::*;
use serde_json::{Value, json};

const RECORDED_EVENTS: [&str; 10] = [
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "Stop",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "SessionEnd",
];

/// Writes a plugin whose hooks append their stdin to `<dir>/events.jsonl`. The path reaches
/// the hook through `${CLAUDE_PLUGIN_ROOT}` in `args`, so the test also proves Claude Code
/// substitutes placeholders per argument in the exec form.
fn recorder_plugin(dir: &Path) -> PathBuf {
    let hook = json!([{"hooks": [{
        "type": "command",
        "command": "/bin/sh",
        "args": ["-c", "cat >> \"$0\"", "${CLAUDE_PLUGIN_ROOT}/events.jsonl"],
    }]}]);
    let hooks: serde_json::Map<String, Value> =
        RECORDED_EVENTS.iter().map(|event| (event.to_string(), hook.clone())).collect();
    write_plugin(dir, "e2e-recorder", &json!({ "hooks": hooks }))
}

fn write_plugin(dir: &Path, name: &str, hooks: &Value) -> PathBuf {
    fs::create_dir_all(dir.join(".claude-plugin")).unwrap();
    fs::create_dir_all(dir.join("hooks")).unwrap();
    let manifest = json!({"name": name, "version": "0.1.0", "description": "end-to-end test plugin",
                          "author": {"name": "e2e"}});
    fs::write(dir.join(".claude-plugin/plugin.json"), manifest.to_string()).unwrap();
    fs::write(dir.join("hooks/hooks.json"), serde_json::to_string_pretty(hooks).unwrap()).unwrap();
    dir.join("events.jsonl")
}

/// `(hook_event_name, tool_name, tool_use_id)` of each recorded payload, in order.
fn sequence(events: &[Value]) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    events.iter().map(|e| (s(&e["hook_event_name"]), s(&e["tool_name"]), s(&e["tool_use_id"]))).collect()
}

fn expect(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
}

fn event<'a>(events: &'a [Value], name: &str, tool_use_id: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["hook_event_name"] == name && e["tool_use_id"].as_str().unwrap_or_default() == tool_use_id)
        .unwrap_or_else(|| panic!("no {name} for {tool_use_id:?}"))
}

#[test]
fn multi_tool_scenario_fires_every_hook_once_in_order() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let plugin = sandbox.root().join("plugin");
    let events_file = recorder_plugin(&plugin);
    let prompt_secret = "ghp_PromptSecret0123456789abcdefghijKLMN";
    let prompt = format!("SCENARIO:multi please do the multi tool scenario, token {prompt_secret}");

    let out = cc.run_session(&sandbox.home, &sandbox.work, &prompt, &[&plugin], &[], &[]);
    out.assert_success();
    let session_id = out.session_id();
    eprintln!("multi scenario: claude ran {:?}", out.elapsed);

    let events = read_jsonl(&events_file);
    assert_eq!(
        sequence(&events),
        expect(&[
            ("SessionStart", "", ""),
            ("UserPromptSubmit", "", ""),
            ("PreToolUse", "Bash", "toolu_multi_1_0"),
            ("PostToolUse", "Bash", "toolu_multi_1_0"),
            ("PreToolUse", "Write", "toolu_multi_1_1"),
            ("PostToolUse", "Write", "toolu_multi_1_1"),
            ("PreToolUse", "Read", "toolu_multi_1_2"),
            ("PostToolUse", "Read", "toolu_multi_1_2"),
            ("PreToolUse", "Edit", "toolu_multi_1_3"),
            ("PostToolUse", "Edit", "toolu_multi_1_3"),
            ("PreToolUse", "Bash", "toolu_multi_1_4"),
            ("PostToolUseFailure", "Bash", "toolu_multi_1_4"),
            ("PreToolUse", "Bash", "toolu_multi_1_5"),
            ("PostToolUse", "Bash", "toolu_multi_1_5"),
            ("PreToolUse", "Write", "toolu_multi_1_6"),
            ("PostToolUse", "Write", "toolu_multi_1_6"),
            ("Stop", "", ""),
            ("SessionEnd", "", ""),
        ])
    );
    let work = fs::canonicalize(&sandbox.work).unwrap();
    for e in &events {
        assert_eq!(e["session_id"], session_id.as_str(), "{e}");
        assert_eq!(fs::canonicalize(e["cwd"].as_str().unwrap()).unwrap(), work, "{e}");
    }
    assert_eq!(events[0]["source"], "startup");
    assert_eq!(events[17]["reason"], "other");
    assert_eq!(events[1]["prompt"], prompt.as_str(), "the prompt reaches the hook verbatim, secret included");
    assert_eq!(events[16]["last_assistant_message"], "Done: bash, write, read, edit, a failure, and two secrets.");

    // What the tools did, as the hooks saw it and on disk.
    assert_eq!(event(&events, "PostToolUse", "toolu_multi_1_0")["tool_response"]["stdout"], "hello-from-bash");
    assert_eq!(fs::read_to_string(sandbox.work.join("hello.txt")).unwrap(), "line one\nline 2\n");
    let failure = event(&events, "PostToolUseFailure", "toolu_multi_1_4");
    assert!(failure["error"].as_str().unwrap().starts_with("Exit code 3"), "{failure}");
    let printed = event(&events, "PostToolUse", "toolu_multi_1_5");
    let stdout = printed["tool_response"]["stdout"].as_str().unwrap();
    let command = printed["tool_input"]["command"].as_str().unwrap();
    for secret in [FAKE_AWS_KEY, FAKE_GITHUB_TOKEN] {
        assert!(stdout.contains(secret), "tool output carries {secret}: {stdout}");
        assert!(!command.contains(secret), "the command line holds {secret} only in halves: {command}");
    }
    let written = event(&events, "PostToolUse", "toolu_multi_1_6");
    assert!(written["tool_input"]["content"].as_str().unwrap().contains(FAKE_FILE_SECRET));
    assert!(fs::read_to_string(sandbox.work.join("settings.env")).unwrap().contains(FAKE_FILE_SECRET));

    // The transcript agrees, and shows no hook trouble or hook output.
    let transcript = read_jsonl(&transcript_path(&sandbox.home, &session_id));
    let ids = |n: &[(&str, &str)]| n.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(
        tool_uses(&transcript),
        ids(&[
            ("toolu_multi_1_0", "Bash"),
            ("toolu_multi_1_1", "Write"),
            ("toolu_multi_1_2", "Read"),
            ("toolu_multi_1_3", "Edit"),
            ("toolu_multi_1_4", "Bash"),
            ("toolu_multi_1_5", "Bash"),
            ("toolu_multi_1_6", "Write"),
        ])
    );
    let results = tool_results(&transcript);
    let failed: Vec<&str> = results.iter().filter(|(_, err)| *err).map(|(id, _)| id.as_str()).collect();
    assert_eq!(results.len(), 7);
    assert_eq!(failed, ["toolu_multi_1_4"]);
    assert_eq!(hook_attachments(&transcript), Vec::<&Value>::new());
    assert_eq!(out.hook_failures(), Vec::<&str>::new());

    // Where the secrets landed: the transcript has them all; the work dir only the written one.
    let transcript_file = transcript_path(&sandbox.home, &session_id);
    let all_secrets = [prompt_secret, FAKE_AWS_KEY, FAKE_GITHUB_TOKEN, FAKE_FILE_SECRET];
    let in_transcript: Vec<String> = find_in_tree(transcript_file.parent().unwrap(), &all_secrets)
        .into_iter()
        .filter(|(path, _)| *path == transcript_file)
        .map(|(_, secret)| secret)
        .collect();
    assert_eq!(in_transcript.len(), 4, "{in_transcript:?}");
    assert_eq!(
        find_in_tree(&sandbox.work, &all_secrets),
        [(sandbox.work.join("settings.env"), FAKE_FILE_SECRET.to_string())]
    );

    // The fake's usage figures are what Claude Code accounted: the oracle for token checks.
    let replies = cc.api.replies();
    let steps: Vec<i64> = replies.iter().map(|r| r["_plan"]["step"].as_i64().unwrap()).collect();
    assert_eq!(steps, (0..8).collect::<Vec<_>>());
    let total = |field: &str| replies.iter().map(|r| r["usage"][field].as_i64().unwrap()).sum::<i64>();
    let usage = &out.result()["usage"];
    for field in ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"] {
        assert_eq!(usage[field].as_i64(), Some(total(field)), "{field}");
    }
    // The fake never records the API key the client sends.
    assert!(!fs::read_to_string(cc.api.log_path()).unwrap().contains("sk-ant-test"));
}

#[test]
fn agent_scenario_runs_a_foreground_subagent() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let plugin = sandbox.root().join("plugin");
    let events_file = recorder_plugin(&plugin);

    let out = cc.run_session(&sandbox.home, &sandbox.work, "SCENARIO:agent spawn a subagent", &[&plugin], &[], &[]);
    out.assert_success();

    let events = read_jsonl(&events_file);
    assert_eq!(
        sequence(&events),
        expect(&[
            ("SessionStart", "", ""),
            ("UserPromptSubmit", "", ""),
            ("PreToolUse", "Agent", "toolu_agent_1_0"),
            ("PreToolUse", "Bash", "toolu_sub_1_0"),
            ("PostToolUse", "Bash", "toolu_sub_1_0"),
            ("SubagentStop", "", ""),
            ("PostToolUse", "Agent", "toolu_agent_1_0"),
            ("Stop", "", ""),
            ("SessionEnd", "", ""),
        ])
    );
    let agent_id = events[5]["agent_id"].as_str().expect("SubagentStop has agent_id");
    for inside in &events[3..6] {
        assert_eq!(inside["agent_id"], agent_id, "hooks fired inside the subagent say so: {inside}");
    }
    assert_eq!(events[5]["last_assistant_message"], "Subagent result: from-subagent");

    let transcript = transcript_path(&sandbox.home, &out.session_id());
    let subagents = subagent_transcripts(&transcript);
    assert_eq!(subagents, [PathBuf::from(events[5]["agent_transcript_path"].as_str().unwrap())]);
    let sub_lines = read_jsonl(&subagents[0]);
    assert_eq!(tool_uses(&sub_lines), [("toolu_sub_1_0".to_string(), "Bash".to_string())]);
    assert_eq!(tool_uses(&read_jsonl(&transcript)), [("toolu_agent_1_0".to_string(), "Agent".to_string())]);
    assert_eq!(hook_attachments(&read_jsonl(&transcript)), Vec::<&Value>::new());
    assert_eq!(hook_attachments(&sub_lines), Vec::<&Value>::new());
}

#[test]
fn agentbg_scenario_ends_the_turn_then_reports_the_background_subagent() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let plugin = sandbox.root().join("plugin");
    let events_file = recorder_plugin(&plugin);

    let out = cc.run_session(&sandbox.home, &sandbox.work, "SCENARIO:agentbg go", &[&plugin], &[], &[]);
    out.assert_success();

    // The subagent runs concurrently with the end of the main turn: its hooks interleave with
    // the main thread's, so each thread's order is checked on its own.
    let events = read_jsonl(&events_file);
    let (sub, main): (Vec<Value>, Vec<Value>) = events.into_iter().partition(|e| e.get("agent_id").is_some());
    assert_eq!(
        sequence(&main),
        expect(&[
            ("SessionStart", "", ""),
            ("UserPromptSubmit", "", ""),
            ("PreToolUse", "Agent", "toolu_agentbg_1_0"),
            ("PostToolUse", "Agent", "toolu_agentbg_1_0"),
            ("Stop", "", ""),
            ("UserPromptSubmit", "", ""),
            ("Stop", "", ""),
            ("SessionEnd", "", ""),
        ])
    );
    assert_eq!(
        sequence(&sub),
        expect(&[
            ("PreToolUse", "Bash", "toolu_sub_1_0"),
            ("PostToolUse", "Bash", "toolu_sub_1_0"),
            ("SubagentStop", "", "")
        ])
    );
    let notification = main[5]["prompt"].as_str().unwrap();
    assert!(notification.contains("<task-notification>"), "{notification}");
    assert_eq!(main[6]["last_assistant_message"], "The background task has finished.");
    // The transcript writes the notification as a user line that the system, not a person, wrote.
    let transcript = read_jsonl(&transcript_path(&sandbox.home, &out.session_id()));
    let system_prompts = transcript.iter().filter(|l| l["type"] == "user" && l["promptSource"] == "system").count();
    assert_eq!(system_prompts, 1);
}

#[test]
fn thinking_scenario_then_continue_keeps_the_session() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let plugin = sandbox.root().join("plugin");
    let events_file = recorder_plugin(&plugin);

    let first = cc.run_session(&sandbox.home, &sandbox.work, "SCENARIO:thinking think first", &[&plugin], &[], &[]);
    first.assert_success();
    let transcript = transcript_path(&sandbox.home, &first.session_id());
    let lines = read_jsonl(&transcript);
    // One reply with thinking + text + tool_use is written as three assistant lines sharing
    // one message id, each with the full usage.
    let first_reply = &cc.api.replies()[0];
    let copies: Vec<&Value> = lines.iter().filter(|l| l["message"]["id"] == first_reply["id"]).collect();
    let kinds: Vec<&str> = copies.iter().map(|l| l["message"]["content"][0]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["thinking", "text", "tool_use"]);
    for copy in &copies {
        assert_eq!(copy["message"]["usage"]["output_tokens"], first_reply["usage"]["output_tokens"]);
    }
    assert_eq!(copies[0]["message"]["content"][0]["thinking"], "I should run a shell command first.");

    fs::remove_file(&events_file).unwrap();
    let second =
        cc.run_session(&sandbox.home, &sandbox.work, "SCENARIO:thinking again", &[&plugin], &[], &["--continue"]);
    second.assert_success();
    assert_eq!(second.session_id(), first.session_id(), "--continue keeps the session id");
    let events = read_jsonl(&events_file);
    assert_eq!(events[0]["hook_event_name"], "SessionStart");
    assert_eq!(events[0]["source"], "resume");
    assert_eq!(event(&events, "PostToolUse", "toolu_thinking_2_0")["tool_response"]["stdout"], "thought-through");
    let ids: Vec<String> = tool_uses(&read_jsonl(&transcript)).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["toolu_thinking_1_0", "toolu_thinking_2_0"], "the same transcript file is appended to");
}

#[test]
fn resume_keeps_the_session_and_fork_starts_a_new_one() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let plugin = sandbox.root().join("plugin");
    let events_file = recorder_plugin(&plugin);
    let run = |prompt: &str, args: &[&str]| {
        let _ = fs::remove_file(&events_file);
        let out = cc.run_session(&sandbox.home, &sandbox.work, prompt, &[&plugin], &[], args);
        out.assert_success();
        (out.session_id(), read_jsonl(&events_file))
    };

    let (parent, _) = run("SCENARIO:thinking first", &[]);
    let (resumed, events) = run("SCENARIO:plain resumed", &["--resume", &parent]);
    assert_eq!(resumed, parent);
    assert_eq!(events[0]["source"], "resume");
    let (fork, events) = run("SCENARIO:plain forked", &["--resume", &parent, "--fork-session"]);
    assert_ne!(fork, parent);
    assert_eq!(events[0]["source"], "fork");
    assert!(events.iter().all(|e| e["session_id"] == fork.as_str()));

    // The fork's file begins with a copy of the parent's history, marked by requestSessionId.
    let fork_lines = read_jsonl(&transcript_path(&sandbox.home, &fork));
    let copied: Vec<&Value> =
        fork_lines.iter().filter(|l| l["type"] == "assistant" && l["requestSessionId"] == parent.as_str()).collect();
    let parent_assistant =
        read_jsonl(&transcript_path(&sandbox.home, &parent)).into_iter().filter(|l| l["type"] == "assistant").count();
    assert_eq!(copied.len(), parent_assistant);
    assert_eq!(tool_uses(&fork_lines), [("toolu_thinking_1_0".to_string(), "Bash".to_string())]);
}

#[test]
fn compact_fires_precompact_and_a_compact_session_start() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let plugin = sandbox.root().join("plugin");
    let events_file = recorder_plugin(&plugin);

    let first = cc.run_session(&sandbox.home, &sandbox.work, "SCENARIO:thinking first", &[&plugin], &[], &[]);
    first.assert_success();
    fs::remove_file(&events_file).unwrap();
    let compact = cc.run_session(&sandbox.home, &sandbox.work, "/compact", &[&plugin], &[], &["--continue"]);
    compact.assert_success();
    assert_eq!(compact.session_id(), first.session_id(), "compaction keeps the session id");

    // A built-in slash command fires no UserPromptSubmit. The compaction runs as an unnamed
    // subagent: it fires SubagentStop (agent_type "") whose agent_transcript_path is never written.
    let events = read_jsonl(&events_file);
    let names: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            let detail = e.get("source").or(e.get("trigger")).or(e.get("reason"));
            (e["hook_event_name"].as_str().unwrap(), detail.and_then(Value::as_str).unwrap_or_default())
        })
        .collect();
    assert_eq!(
        names,
        [
            ("SessionStart", "resume"),
            ("PreCompact", "manual"),
            ("SubagentStop", ""),
            ("SessionStart", "compact"),
            ("PostCompact", "manual"),
            ("SessionEnd", "other"),
        ]
    );
    let summary = "<analysis>Fake analysis.</analysis>\n<summary>Fake summary of the session.</summary>";
    assert_eq!(events[4]["compact_summary"], summary);
    assert_eq!(events[2]["agent_type"], "");
    assert_eq!(events[2]["last_assistant_message"], summary);
    assert!(!Path::new(events[2]["agent_transcript_path"].as_str().unwrap()).exists());

    // One compaction request; it writes no assistant line, only a boundary and a summary line.
    let plans: Vec<String> =
        cc.api.replies().iter().map(|r| r["_plan"]["scenario"].as_str().unwrap().to_owned()).collect();
    assert_eq!(plans, ["thinking", "thinking", "compaction"]);
    let lines = read_jsonl(&transcript_path(&sandbox.home, &first.session_id()));
    let boundaries = lines.iter().filter(|l| l["subtype"] == "compact_boundary").count();
    assert_eq!(boundaries, 1);
    let summary_line = lines.iter().find(|l| l["isCompactSummary"] == true).expect("compact summary line");
    assert!(summary_line.to_string().contains("Fake summary of the session."));
    let compaction_id = cc.api.replies()[2]["id"].clone();
    assert!(lines.iter().all(|l| l["message"]["id"] != compaction_id));
}

#[test]
fn hook_trouble_and_hook_output_show_in_the_transcript() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let plugin = sandbox.root().join("plugin");
    let sh = |script: &str| json!([{"hooks": [{"type": "command", "command": "/bin/sh", "args": ["-c", script]}]}]);
    write_plugin(
        &plugin,
        "e2e-noisy",
        &json!({"hooks": {
            "UserPromptSubmit": sh("cat >/dev/null; echo boom >&2; exit 1"),
            "PostToolUse": sh("cat >/dev/null; echo chatty"),
            "SessionEnd": sh("cat >/dev/null; echo gone >&2; exit 1"),
        }}),
    );

    let out = cc.run_session(&sandbox.home, &sandbox.work, "SCENARIO:thinking", &[&plugin], &[], &[]);
    out.assert_success();
    let transcript = read_jsonl(&transcript_path(&sandbox.home, &out.session_id()));
    let found: Vec<(String, String)> = hook_attachments(&transcript)
        .iter()
        .map(|l| {
            let a = &l["attachment"];
            (a["type"].as_str().unwrap().to_owned(), a["hookEvent"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        found,
        [
            ("hook_non_blocking_error".to_string(), "UserPromptSubmit".to_string()),
            ("hook_success".to_string(), "PostToolUse".to_string()),
        ]
    );
    // SessionEnd trouble leaves nothing in the transcript, only a line on Claude Code's stderr.
    let failures = out.hook_failures();
    assert_eq!(failures.len(), 1, "{}", out.stderr);
    assert!(
        failures[0].starts_with("SessionEnd hook [/bin/sh -c cat >/dev/null; echo gone >&2; exit 1] failed: gone"),
        "{failures:?}"
    );
}

#[test]
fn plugin_validate_reports_findings_as_json() {
    let Some(cc) = ClaudeCode::start() else {
        return;
    };
    let sandbox = SessionSandbox::new();
    let good = sandbox.root().join("good");
    recorder_plugin(&good);
    let (status, report) = cc.validate_plugin(&sandbox.home, &good, &[]);
    assert!(status.success(), "{report:#}");
    assert_eq!(report["success"], true);
    assert_eq!(report["manifest"]["errors"], json!([]));
    assert_eq!(report["manifest"]["warnings"], json!([]));
    assert_eq!(report["contents"], json!([]), "only files with findings are listed");
    // `provides.hooks` lists what Claude Code will register: one entry per event and hook.
    let mut provided: Vec<&str> =
        report["provides"]["hooks"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap()).collect();
    provided.sort_unstable();
    let mut expected = RECORDED_EVENTS;
    expected.sort_unstable();
    assert_eq!(provided, expected);
    assert_eq!(report["provides"]["hooks"][0]["args"][2], "${CLAUDE_PLUGIN_ROOT}/events.jsonl");

    let bad = sandbox.root().join("bad");
    write_plugin(
        &bad,
        "e2e-bad",
        &json!({"hooks": {"SesionStart": [{"hooks": [{"type": "command", "command": "true"}]}]}}),
    );
    let (status, report) = cc.validate_plugin(&sandbox.home, &bad, &["--strict"]);
    assert_eq!(status.code(), Some(1), "{report:#}");
    assert_eq!(report["success"], false);
    let hooks_file =
        report["contents"].as_array().unwrap().iter().find(|c| c["type"] == "hooks").expect("hooks.json findings");
    assert_eq!(hooks_file["errors"], json!([]), "a misspelled event is only a warning");
    let warnings = hooks_file["warnings"].to_string();
    assert!(warnings.contains("SesionStart: unknown hook event"), "{warnings}");
}
