//! Hook events built from the real payloads Claude Code 2.1.331 wrote (tests/fixtures/claude-code).

use super::*;
use crate::hook::input::{RawInput, read_capped};

fn sample(name: &str) -> RawInput {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code/hook-payloads").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_capped(&bytes[..], input::MAX_INPUT_BYTES).unwrap()
}

fn privacy(redactor: &Redactor) -> Privacy<'_> {
    Privacy::defaults(redactor)
}

fn build(kind: HookKind, name: &str) -> Event {
    let (r, _) = Redactor::new(&[], &[]);
    build_event(kind, &HookInput::parse(&sample(name)), &privacy(&r), None, 1_000)
}

#[test]
fn session_start_carries_source_and_metadata() {
    let e = build(HookKind::SessionStart, "SessionStart-compact.json");
    assert_eq!(e.event_type, EventType::SessionStart);
    assert_eq!(e.session_id, "3c420acd-f7ce-4f4d-a482-4af2de79d118");
    assert_eq!(e.payload.start_type.as_deref(), Some("compact"));
    assert_eq!(e.payload.model.as_deref(), Some("claude-opus-5-5"));
    assert_eq!(e.payload.working_directory.as_deref(), Some("/home/dev/work"));
    assert_eq!(e.payload.project_name.as_deref(), Some("work"));
    assert!(e.event_id.starts_with("3c420acd-f7ce-4f4d-a482-4af2de79d118:session_start:"));
}

#[test]
fn prompt_is_kept_with_its_length() {
    let e = build(HookKind::PromptSubmit, "UserPromptSubmit.json");
    let detail = e.payload.detail.unwrap();
    assert_eq!(detail["prompt"]["text"], "SCENARIO:agent spawn a subagent");
    assert_eq!(detail["prompt"]["length"], 31);
    assert_eq!(detail["promptId"], "fe50922e-adbd-474e-a63f-ba8a751ddc00");
}

#[test]
fn write_keeps_path_and_length_never_the_content() {
    let e = build(HookKind::PostToolUse, "PostToolUse-Write.json");
    assert_eq!(e.event_id, "b78465cc-75ba-4386-99ff-233201aa50f6:tool:toolu_multi_1_49_0");
    let detail = e.payload.detail.unwrap();
    assert_eq!(detail["toolName"], "Write");
    assert_eq!(detail["input"]["file_path"], "/home/dev/ws/hello.txt");
    assert_eq!(detail["input"]["contentLength"], 18);
    assert_eq!(detail["output"]["outcome"], "success");
    assert!(!detail.to_string().contains("line one"), "file content leaked: {detail}");
}

#[test]
fn bash_output_is_reduced_to_lengths() {
    let e = build(HookKind::PostToolUse, "PostToolUse-Bash.json");
    let detail = e.payload.detail.unwrap();
    assert_eq!(detail["input"]["command"], "echo hello-from-bash");
    assert_eq!(detail["output"]["stdoutLength"], 15);
    assert_eq!(detail["durationMs"], 42.0);
    assert!(detail["output"].get("stdout").is_none());
}

#[test]
fn failure_keeps_error_text_and_tool_id_key() {
    let e = build(HookKind::PostToolUseFailure, "PostToolUseFailure-Bash.json");
    assert_eq!(e.event_type, EventType::ToolFailure);
    assert_eq!(e.event_id, "2fe11c66-6446-455e-bf14-4700d9a8355c:tool:toolu_fail_0_13_0");
    let detail = e.payload.detail.unwrap();
    assert_eq!(detail["output"]["outcome"], "error");
    assert_eq!(detail["output"]["error"], "Exit code 3\nto-stderr");
}

#[test]
fn subagent_and_end_events_carry_their_fields() {
    let e = build(HookKind::SubagentStop, "SubagentStop-subagent.json");
    let detail = e.payload.detail.unwrap();
    assert_eq!(detail["agentId"], "a0094f20103808832");
    assert_eq!(detail["lastAssistantMessage"], "Subagent result: from-subagent");
    let e = build(HookKind::SessionEnd, "SessionEnd-prompt-input-exit.json");
    assert_eq!(e.payload.end_reason.as_deref(), Some("prompt_input_exit"));
    let e = build(HookKind::PreCompact, "PreCompact-manual.json");
    assert_eq!(e.payload.detail.unwrap()["customInstructions"], "keep the probe details");
}

#[test]
fn secrets_in_prompts_and_tool_inputs_are_redacted() {
    let (r, _) = Redactor::new(&[], &[]);
    let raw = br#"{"session_id":"s","cwd":"/w","prompt":"deploy with AKIAQ7XN3VBTR5KLM2PW now","tool_name":"Bash","tool_input":{"command":"curl -H 'Authorization: Bearer abcdef0123456789abcdef' x"}}"#;
    let input = HookInput::parse(&read_capped(&raw[..], 1 << 20).unwrap());
    for kind in [HookKind::PromptSubmit, HookKind::PostToolUse] {
        let e = build_event(kind, &input, &privacy(&r), None, 1);
        let text = serde_json::to_string(&e.payload).unwrap();
        assert!(!text.contains("AKIAQ7XN3VBTR5KLM2PW"), "{text}");
        assert!(!text.contains("abcdef0123456789abcdef"), "{text}");
    }
}

#[test]
fn unreadable_input_still_makes_an_event_for_the_env_session() {
    let (r, _) = Redactor::new(&[], &[]);
    let input = HookInput::parse(&read_capped(&b"\xff\xfe not json"[..], 1024).unwrap());
    let e = build_event(HookKind::Stop, &input, &privacy(&r), Some("env-session"), 5);
    assert_eq!(e.session_id, "env-session");
    assert!(e.payload.detail.unwrap()["inputProblem"].as_str().unwrap().contains("not valid JSON"));
}
