//! The hook path: what runs inside Claude Code on every lifecycle event.
//!
//! read stdin (capped) -> parse leniently -> build one `Event` (privacy rules, redaction) ->
//! append to the local store -> wake the uploader -> exit 0 with empty stdout.
//! No network here. Whatever goes wrong — bad input, a broken config, an unwritable data dir, a
//! panic — is written to the log and the hook still exits 0 without a byte on stdout.

mod input;
pub mod spool;

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::event::{Event, EventType, Payload};
use crate::log::Log;
use crate::privacy::Privacy;
use crate::redact::Redactor;
use crate::store::Store;
use crate::transcript::{self, PriceTable};
use crate::{ingest, paths, project, time, uploader};

pub use input::HookInput;

/// The lifecycle events the plugin registers, one subcommand each (flattened into the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum HookKind {
    /// Hook: SessionStart
    SessionStart,
    /// Hook: UserPromptSubmit
    PromptSubmit,
    /// Hook: PostToolUse
    PostToolUse,
    /// Hook: PostToolUseFailure
    PostToolUseFailure,
    /// Hook: Stop
    Stop,
    /// Hook: SubagentStop
    SubagentStop,
    /// Hook: PreCompact
    PreCompact,
    /// Hook: SessionEnd
    SessionEnd,
}

impl HookKind {
    pub const ALL: [HookKind; 8] = [
        HookKind::SessionStart,
        HookKind::PromptSubmit,
        HookKind::PostToolUse,
        HookKind::PostToolUseFailure,
        HookKind::Stop,
        HookKind::SubagentStop,
        HookKind::PreCompact,
        HookKind::SessionEnd,
    ];

    /// The subcommand name, as clap spells it (`tests` check the two agree); lets the hook path
    /// skip building the CLI parser.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::SessionStart => "session-start",
            HookKind::PromptSubmit => "prompt-submit",
            HookKind::PostToolUse => "post-tool-use",
            HookKind::PostToolUseFailure => "post-tool-use-failure",
            HookKind::Stop => "stop",
            HookKind::SubagentStop => "subagent-stop",
            HookKind::PreCompact => "pre-compact",
            HookKind::SessionEnd => "session-end",
        }
    }

    pub fn from_name(name: &str) -> Option<HookKind> {
        HookKind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn event_type(self) -> EventType {
        match self {
            HookKind::SessionStart => EventType::SessionStart,
            HookKind::PromptSubmit => EventType::UserPrompt,
            HookKind::PostToolUse => EventType::ToolUse,
            HookKind::PostToolUseFailure => EventType::ToolFailure,
            HookKind::Stop => EventType::ResponseComplete,
            HookKind::SubagentStop => EventType::SubagentStop,
            HookKind::PreCompact => EventType::PreCompact,
            HookKind::SessionEnd => EventType::SessionEnd,
        }
    }
}

/// Runs one hook. Never panics, never prints, always returns (the caller exits 0).
pub fn run(kind: HookKind, started: Instant) {
    panic::set_hook(Box::new(|_| {}));
    let data_dir = paths::data_dir();
    // Events kept on disk before the binary was installed go first, so the store sees every
    // event in the order it happened.
    let _replay = spool::replay_if_any(&data_dir);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let raw = input::read_stdin().context("cannot read stdin")?;
        let env_session = std::env::var("CLAUDE_CODE_SESSION_ID").ok();
        record(kind, &raw, &data_dir, time::now_ms(), env_session.as_deref(), Some(started))
    }));
    log_failure(kind, &data_dir, outcome);
}

/// Logs what went wrong in one hook's recording, if anything did.
fn log_failure(kind: HookKind, data_dir: &Path, outcome: std::thread::Result<Result<()>>) {
    let failure = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(e)) => format!("{kind:?} hook failed: {e:#}"),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!("{kind:?} hook panicked: {what}")
        }
    };
    let (redactor, _) = Redactor::new(&[], &[]);
    Log::new(data_dir, &redactor).error(&failure);
}

/// A hook subcommand called with arguments it does not take: log it, do nothing else.
pub fn log_bad_invocation(message: &str) {
    let (redactor, _) = Redactor::new(&[], &[]);
    let first_line = message.lines().next().unwrap_or(message);
    Log::new(&paths::data_dir(), &redactor).error(&format!("hook called with bad arguments: {first_line}"));
}

/// Records one hook's input as the event of `now` (when the hook fired). `started` is the
/// process start of a live hook, whose own cost `status` reports; a replayed one has none.
fn record(
    kind: HookKind,
    raw: &input::RawInput,
    data_dir: &Path,
    now: i64,
    env_session: Option<&str>,
    started: Option<Instant>,
) -> Result<()> {
    let config = Config::load();
    let (redactor, _pattern_problems) = Redactor::new(&config.redact_patterns, &config.redact_allowlist);
    let log = Log::new(data_dir, &redactor);
    let input = HookInput::parse(raw);
    if let Some(problem) = &input.problem {
        log.warn(&format!("{kind:?} hook: {problem}; recording what could be read"));
    }
    let privacy = Privacy::new(&config, &redactor);
    let mut event = build_event(kind, &input, &privacy, env_session, now);

    let (mut store, moved) = Store::open(data_dir)?;
    if let Err(e) = store.leave_wal_on_close() {
        log.warn(&format!("{kind:?} hook: {e:#}"));
    }
    if let Some(moved) = moved {
        log.error(&format!(
            "the store could not be used ({}); moved it to {} and started a new one",
            moved.why,
            moved.to.display()
        ));
    }
    if matches!(kind, HookKind::Stop | HookKind::SessionEnd) {
        read_transcript(kind, &input, &mut event, &mut store, &privacy, data_dir, &log, now);
    }
    store.record(&event, input.str("transcript_path"), now)?;
    let start_uploader = uploader::wanted(data_dir, &mut store, &config, &log);
    // The hook's own cost, for `status`: everything above, process start to here (the
    // uploader's start below, a posix_spawn once per burst of hooks, is not in it).
    if let Some(started) = started {
        let micros = started.elapsed().as_micros() as i64;
        store.record_hook_time(kind.event_type().as_str(), micros, now)?;
    }
    if let Err(e) = store.checkpoint_if_large() {
        log.warn(&format!("{kind:?} hook: store checkpoint: {e:#}"));
    }
    // Last: a starting uploader writes to the store soon, and a hook write after this point
    // would wait for it (SQLite's busy handler sleeps in steps of milliseconds).
    if start_uploader && let Err(e) = uploader::spawn_detached() {
        log.error(&format!("could not start the background uploader: {e:#}"));
    }
    Ok(())
}

/// Turns a hook input into the event that is stored and sent.
/// Transcript bytes one hook reads at most (measured: ~40 MB/s with conversation items,
/// redaction and store writes, so ≤ 0.2 s for `stop`, which Claude Code waits for, and ≤ 0.4 s
/// of SessionEnd's 1.5 s). A turn is far smaller; only a first read of a long session hits
/// this, and the detached uploader reads the rest.
const STOP_BUDGET: u64 = 8 << 20;
const SESSION_END_BUDGET: u64 = 16 << 20;

/// `stop` and `session-end`: catch up on the transcript from the saved cursor (new messages,
/// tool results, exact tokens and cost); `session-end` also puts the session's figures into
/// its own event. A failure here is logged and the hook event is recorded regardless.
#[allow(clippy::too_many_arguments)]
fn read_transcript(
    kind: HookKind,
    input: &HookInput,
    event: &mut Event,
    store: &mut Store,
    privacy: &Privacy,
    data_dir: &Path,
    log: &Log,
    now: i64,
) {
    let Some(path) = input.str("transcript_path").filter(|p| !p.is_empty()) else { return };
    let mut files = transcript::session_files(Path::new(path));
    files.session_id = event.session_id.clone();
    let (prices, problem) = PriceTable::for_data_dir(data_dir);
    if let Some(problem) = problem {
        log.warn(&format!("price file ignored: {problem}"));
    }
    let budget = if kind == HookKind::SessionEnd { SESSION_END_BUDGET } else { STOP_BUDGET };
    match ingest::catch_up(store, privacy, &prices, &files, Some(budget), false, now) {
        Ok(done) => {
            if let Err(e) = ingest::note_backlog(store, &files, &done) {
                log.warn(&format!("{kind:?} hook: {e:#}"));
            }
            for error in &done.errors {
                log.warn(&format!("{kind:?} hook: transcript not read: {}", privacy.text(error)));
            }
            if kind == HookKind::SessionEnd {
                ingest::add_summary(&mut event.payload, &done.summary);
            }
        }
        Err(e) => log.warn(&format!("{kind:?} hook: transcript not read: {e:#}")),
    }
}

pub fn build_event(kind: HookKind, input: &HookInput, privacy: &Privacy, env_session: Option<&str>, now: i64) -> Event {
    let event_type = kind.event_type();
    let session_id = input.str("session_id").or(env_session).unwrap_or("unknown").to_string();
    let mut payload = session_metadata(input, privacy);
    let mut detail = Map::new();
    let mut put = |key: &str, value: Value| {
        detail.insert(key.to_string(), value);
    };
    if let Some(p) = &input.problem {
        put("inputProblem", privacy.text(p).into());
    }
    for (from, to) in
        [("hook_event_name", "hookEvent"), ("prompt_id", "promptId"), ("permission_mode", "permissionMode")]
    {
        if let Some(v) = input.str(from) {
            put(to, privacy.text(v).into());
        }
    }
    if let Some(agent) = input.str("agent_id") {
        put("agentId", privacy.text(agent).into());
        if let Some(t) = input.str("agent_type") {
            put("agentType", privacy.text(t).into());
        }
    }

    let mut event_id = None;
    match kind {
        HookKind::SessionStart => {
            payload.start_type = input.str("source").map(|s| privacy.text(s));
            payload.model = input.str("model").map(|s| privacy.text(s));
        }
        HookKind::PromptSubmit => {
            if let Some(prompt) = input.str("prompt") {
                put("prompt", privacy.prompt(prompt));
            }
        }
        HookKind::PostToolUse | HookKind::PostToolUseFailure => {
            let tool = input.str("tool_name").unwrap_or("unknown");
            put("toolName", privacy.text(tool).into());
            if let Some(id) = input.str("tool_use_id") {
                put("toolUseId", privacy.text(id).into());
                // One tool call succeeds or fails once: its id is the natural idempotency key.
                event_id = Some(format!("{session_id}:tool:{id}"));
            }
            if let Some(ms) = input.number("duration_ms") {
                put("durationMs", json!(ms));
            }
            if let Some(tool_input) = input.value("tool_input").and_then(|v| privacy.tool_input(tool, v)) {
                put("input", tool_input);
            }
            if kind == HookKind::PostToolUse {
                let response = input.value("tool_response").cloned().unwrap_or(Value::Null);
                put("output", privacy.tool_output(tool, &response));
            } else {
                let mut failure = Map::new();
                failure.insert("outcome".into(), "error".into());
                if let Some(e) = input.str("error") {
                    failure.insert("error".into(), privacy.text(e).into());
                }
                failure.insert("isInterrupt".into(), input.bool("is_interrupt").unwrap_or(false).into());
                put("output", Value::Object(failure));
            }
        }
        HookKind::Stop | HookKind::SubagentStop => {
            if let Some(text) = input.str("last_assistant_message") {
                put("lastAssistantMessage", privacy.text(text).into());
            }
            if let Some(active) = input.bool("stop_hook_active") {
                put("stopHookActive", active.into());
            }
        }
        HookKind::PreCompact => {
            if let Some(t) = input.str("trigger") {
                put("trigger", privacy.text(t).into());
            }
            if let Some(t) = input.str("custom_instructions") {
                put("customInstructions", privacy.text(t).into());
            }
        }
        HookKind::SessionEnd => {
            payload.end_reason = input.str("reason").map(|s| privacy.text(s));
        }
    }
    // Every string above went through `privacy` (redacted, then truncated).
    payload.detail = Some(Value::Object(detail));
    Event {
        event_id: event_id.unwrap_or_else(|| Event::fresh_id(&session_id, event_type)),
        session_id,
        event_type,
        timestamp: now,
        payload,
    }
}

fn session_metadata(input: &HookInput, privacy: &Privacy) -> Payload {
    let cwd = input.str("cwd").map(str::to_string).or_else(|| std::env::var("CLAUDE_PROJECT_DIR").ok());
    let info = cwd.as_deref().map(|c| project::detect(Path::new(c))).unwrap_or_default();
    Payload {
        project_name: info.name.map(|n| privacy.text(&n)),
        working_directory: cwd.map(|c| privacy.text(&c)),
        git_branch: info.git_branch.map(|b| privacy.text(&b)),
        ..Payload::default()
    }
}

#[cfg(test)]
mod tests;
