//! From transcripts to the store. New conversation items become `message` events (redacted and
//! reduced by the privacy rules), the session row gets the transcript's exact figures, and the
//! reading state is saved so the next read starts where this one stopped. Used by the `stop`
//! and `session-end` hooks (within a byte budget) and by `sync-now --all` (backfill).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

use crate::event::{self, Event, EventType, Payload};
use crate::privacy::Privacy;
use crate::project;
use crate::store::{Store, TranscriptFigures};
use crate::transcript::{
    self, CatchUpOptions, ConversationItem, ConversationOptions, CostState, PriceTable, SessionFiles, SessionState,
    SessionSummary,
};

impl transcript::Privacy for Privacy<'_> {
    fn text(&self, text: &str) -> String {
        Privacy::text(self, text)
    }

    fn tool_input(&self, tool_name: &str, input: Value) -> Option<Value> {
        Privacy::tool_input(self, tool_name, &input)
    }
}

/// What one catch-up did.
pub struct CaughtUp {
    pub summary: SessionSummary,
    /// New `message` events queued.
    pub queued: usize,
    /// Bytes of transcript read.
    pub bytes: u64,
    /// False when the byte budget left part of the transcript for a later read.
    pub complete: bool,
    /// Files that could not be read (path: reason); the others were.
    pub errors: Vec<String>,
}

/// Reads what is new in `files` since the saved state (at most `max_bytes`), queues the new
/// conversation items, and saves the state and the session's figures. `finished`: the session
/// is over (backfill), so its last line's time is its end.
pub fn catch_up(
    store: &mut Store,
    privacy: &Privacy,
    prices: &PriceTable,
    files: &SessionFiles,
    max_bytes: Option<u64>,
    finished: bool,
    now: i64,
) -> Result<CaughtUp> {
    let session_id = files.session_id.as_str();
    let mut state = load_state(store, session_id)?;
    let mut items = Vec::new();
    let opts = CatchUpOptions {
        privacy: Some(privacy),
        conversation: ConversationOptions { include_thinking: privacy.sync_thinking },
        max_bytes,
    };
    let report = transcript::catch_up(&mut state, files, &opts, |item| items.push(item));
    let errors: Vec<String> = report.errors.iter().map(|(path, e)| format!("{path}: {e}")).collect();
    let parent = match state.tally.fork_parent() {
        Some(parent) => Some(load_state(store, parent)?.tally.cost_states().to_vec()),
        None => None,
    };
    let summary = state.tally.summary(prices, parent.as_deref().filter(|p: &&[CostState]| !p.is_empty()));
    let metadata = metadata(&summary, privacy);
    let transcript_path = files.main.as_deref().map(|p| p.to_string_lossy().into_owned());
    let events: Vec<Event> = items.into_iter().map(|item| message_event(item, session_id, &metadata, now)).collect();
    let queued = store.record_batch(&events, transcript_path.as_deref(), now)?;
    store.save_transcript_state(session_id, &serde_json::to_string(&state)?, now)?;
    if report.bytes == 0 {
        // Nothing new (or no transcript yet): the row keeps what it has, hook counts included.
        return Ok(CaughtUp { summary, queued, bytes: 0, complete: report.complete, errors });
    }
    let figures = TranscriptFigures {
        project_name: metadata.project_name.clone(),
        working_directory: metadata.working_directory.clone(),
        git_branch: metadata.git_branch.clone(),
        transcript_path,
        models: models_by_use(&summary),
        started_at: summary.started_ms,
        ended_at: summary.ended_ms.filter(|_| finished),
        prompts: summary.prompts,
        messages: summary.message_count,
        tool_calls: summary.tool_call_count,
        tokens: summary.token_usage,
        cost: summary.cost,
    };
    store.apply_transcript_figures(session_id, &figures, now)?;
    Ok(CaughtUp { summary, queued, bytes: report.bytes, complete: report.complete, errors })
}

fn load_state(store: &Store, session_id: &str) -> Result<SessionState> {
    // A state this build cannot read is dropped: re-reading from the start is safe (dedup).
    Ok(store.transcript_state(session_id)?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
}

/// Models, most used (by responses) first.
fn models_by_use(summary: &SessionSummary) -> Vec<String> {
    let mut models: Vec<(&String, u64)> =
        summary.by_model.iter().filter(|(m, _)| !m.is_empty()).map(|(m, t)| (m, t.messages)).collect();
    models.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    models.into_iter().map(|(m, _)| m.clone()).collect()
}

/// Session metadata for events built from the transcript, redacted like the hook path's.
fn metadata(summary: &SessionSummary, privacy: &Privacy) -> Payload {
    let info = summary.working_directory.as_deref().map(|cwd| project::detect(Path::new(cwd))).unwrap_or_default();
    Payload {
        project_name: info.name.or_else(|| summary.project_name.clone()).map(|n| privacy.text(&n)),
        working_directory: summary.working_directory.as_deref().map(|c| privacy.text(c)),
        git_branch: info.git_branch.or_else(|| summary.git_branch.clone()).map(|b| privacy.text(&b)),
        ..Payload::default()
    }
}

/// A conversation item as a `message` event. Its id comes from the transcript (uuid, tool_use
/// id), so re-reading never queues it twice, and a fork's copies of its parent's lines collapse
/// into the parent's events.
fn message_event(item: ConversationItem, session_id: &str, metadata: &Payload, now: i64) -> Event {
    let event_id = format!("msg:{}", item.id);
    let timestamp = item.timestamp_ms.unwrap_or(now);
    let model = item.model.clone();
    let mut detail = serde_json::to_value(&item).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut detail {
        for key in ["id", "sessionId", "timestampMs", "model"] {
            fields.remove(key);
        }
    }
    Event {
        event_id,
        session_id: session_id.to_string(),
        event_type: EventType::Message,
        timestamp,
        payload: Payload { model, detail: Some(detail), ..metadata.clone() },
    }
}

/// Puts the session's exact figures into a `session_end` (or backfill) payload; the backend
/// lets them overwrite its running counters.
pub fn add_summary(payload: &mut Payload, summary: &SessionSummary) {
    let t = &summary.token_usage;
    payload.message_count = Some(summary.message_count);
    payload.tool_call_count = Some(summary.tool_call_count);
    payload.prompt_count = Some(summary.prompts);
    payload.token_usage = Some(event::TokenUsage {
        input: t.input,
        output: t.output,
        cache_creation: Some(t.cache_creation),
        cache_read: Some(t.cache_read),
    });
    payload.cost = summary.cost;
    payload.duration_ms = summary.duration_ms.map(|d| d as i64);
    let models = models_by_use(summary);
    if payload.model.is_none() {
        payload.model = models.first().cloned();
    }
    let mut detail = match payload.detail.take() {
        Some(Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    detail.insert("models".into(), models.into());
    detail.insert("subagentTokenUsage".into(), serde_json::to_value(summary.subagent_token_usage).unwrap_or_default());
    detail.insert("costSource".into(), serde_json::to_value(summary.cost_source).unwrap_or_default());
    if !summary.unpriced_models.is_empty() {
        detail.insert("unpricedModels".into(), summary.unpriced_models.clone().into());
    }
    payload.detail = Some(Value::Object(detail));
}

/// Meta key prefix of sessions whose transcript a hook could only read in part: the detached
/// uploader finishes them (value: the transcript path).
const BACKLOG: &str = "transcript_backlog:";

/// Notes whether a hook left part of a session's transcript unread.
pub fn note_backlog(store: &Store, files: &SessionFiles, done: &CaughtUp) -> Result<()> {
    let key = format!("{BACKLOG}{}", files.session_id);
    match (&files.main, done.complete) {
        (Some(path), false) => store.meta_set(&key, &path.to_string_lossy()),
        _ => store.meta_delete(&key),
    }
}

/// Finishes the transcripts hooks left unread (run by the detached uploader, off the hook's
/// clock). A session that already ended gets its final figures queued again.
pub fn catch_up_backlog(store: &mut Store, privacy: &Privacy, prices: &PriceTable, now: i64) -> Result<usize> {
    let pending = store.meta_with_prefix(BACKLOG)?;
    for (key, path) in &pending {
        let mut files = transcript::session_files(Path::new(path));
        files.session_id = key[BACKLOG.len()..].to_string();
        let done = catch_up(store, privacy, prices, &files, None, false, now)?;
        if store.session(&files.session_id)?.is_some_and(|row| row.end_reason.is_some()) {
            queue_summary(store, &files, &done, now)?;
        }
        store.meta_delete(key)?;
    }
    Ok(pending.len())
}

/// What a backfill did.
#[derive(Debug, Default)]
pub struct Backfill {
    pub sessions: usize,
    /// Sessions with something new.
    pub updated: usize,
    pub queued: usize,
    pub bytes: u64,
    /// Transcripts that could not be read, with the reason.
    pub failures: Vec<String>,
}

/// Imports every session under `roots` (idempotent: a second run queues nothing), newest
/// data kept with its original timestamps. `project` keeps only sessions whose project folder
/// is that name (Claude Code's folder is the working directory with `/` as `-`). Progress goes
/// to stderr: a bar on a terminal, plain lines when piped.
pub fn backfill(
    store: &mut Store,
    privacy: &Privacy,
    prices: &PriceTable,
    roots: &[PathBuf],
    project: Option<&str>,
    now: i64,
) -> Backfill {
    let mut sessions = transcript::discover_sessions(roots);
    if let Some(project) = project {
        sessions.retain(|s| in_project(s, project));
    }
    let total: u64 = sessions.iter().map(SessionFiles::size).sum();
    let mut progress = Progress::new(sessions.len(), total);
    let mut report = Backfill { sessions: sessions.len(), ..Backfill::default() };
    for files in &sessions {
        match catch_up(store, privacy, prices, files, None, true, now) {
            Ok(done) => {
                report.failures.extend(done.errors.iter().cloned());
                report.bytes += done.bytes;
                report.queued += done.queued;
                if done.bytes > 0 {
                    report.updated += 1;
                    if let Err(e) = queue_summary(store, files, &done, now) {
                        report.failures.push(format!("{}: {e:#}", files.session_id));
                    }
                }
                progress.advance(done.bytes);
            }
            Err(e) => report.failures.push(format!("{}: {e:#}", files.session_id)),
        }
    }
    progress.finish();
    report
}

/// A backfilled session's figures as one `manual_sync` event, keyed by how much of the
/// transcript they cover (the same content never queues it twice).
fn queue_summary(store: &mut Store, files: &SessionFiles, done: &CaughtUp, now: i64) -> Result<()> {
    let state = load_state(store, &files.session_id)?;
    let covered: u64 = state.cursors.values().map(|c| c.offset).sum();
    let row = store.session(&files.session_id)?.unwrap_or_default();
    let mut payload = Payload {
        project_name: row.project_name,
        working_directory: row.working_directory,
        git_branch: row.git_branch,
        ..Payload::default()
    };
    add_summary(&mut payload, &done.summary);
    let event = Event {
        event_id: format!("{}:transcript:{covered}", files.session_id),
        session_id: files.session_id.clone(),
        event_type: EventType::ManualSync,
        timestamp: done.summary.ended_ms.unwrap_or(now),
        payload,
    };
    store.record(&event, files.main.as_deref().and_then(Path::to_str), now)?;
    Ok(())
}

fn in_project(files: &SessionFiles, project: &str) -> bool {
    let folder = files
        .main
        .iter()
        .chain(files.subagents.iter())
        .find_map(|p| p.ancestors().find(|a| a.parent().is_some_and(|pp| pp.ends_with("projects"))))
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    folder == project || folder.ends_with(&format!("-{project}"))
}

/// Example transcripts written by the real Claude Code 2.1.331 (a multi-tool session and one
/// with a subagent; bookkeeping lines removed, project renamed), for a first run on a machine
/// with no Claude Code history: `sync-now --all` imports them so `sessions` shows something.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "3c420acd-f7ce-4f4d-a482-4af2de79d118.jsonl",
        include_str!(
            "../examples/transcripts/-home-dev-claude-code-sync-example/3c420acd-f7ce-4f4d-a482-4af2de79d118.jsonl"
        ),
    ),
    (
        "4393a4ec-3239-4206-97e6-49e5a86ce22c.jsonl",
        include_str!(
            "../examples/transcripts/-home-dev-claude-code-sync-example/4393a4ec-3239-4206-97e6-49e5a86ce22c.jsonl"
        ),
    ),
    (
        "4393a4ec-3239-4206-97e6-49e5a86ce22c/subagents/agent-a0094f20103808832.jsonl",
        include_str!(
            "../examples/transcripts/-home-dev-claude-code-sync-example/4393a4ec-3239-4206-97e6-49e5a86ce22c/subagents/agent-a0094f20103808832.jsonl"
        ),
    ),
];

/// The project name the example sessions are recorded under (`forget --project` removes them).
pub const EXAMPLE_PROJECT: &str = "claude-code-sync-example";

/// Writes the bundled example transcripts under `data_dir/examples` and returns that root.
pub fn install_examples(data_dir: &Path) -> std::io::Result<PathBuf> {
    let root = data_dir.join("examples");
    let project = root.join("projects").join(format!("-home-dev-{EXAMPLE_PROJECT}"));
    for (name, text) in EXAMPLES {
        let path = project.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&project))?;
        std::fs::write(&path, text)?;
    }
    Ok(root)
}

/// Backfill progress on stderr.
struct Progress {
    sessions: usize,
    done: usize,
    total_bytes: u64,
    bytes: u64,
    terminal: bool,
    last_decile: u64,
}

impl Progress {
    fn new(sessions: usize, total_bytes: u64) -> Progress {
        Progress { sessions, done: 0, total_bytes, bytes: 0, terminal: std::io::stderr().is_terminal(), last_decile: 0 }
    }

    fn advance(&mut self, bytes: u64) {
        self.done += 1;
        self.bytes += bytes;
        let fraction = if self.sessions == 0 { 1.0 } else { self.done as f64 / self.sessions as f64 };
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let filled = (fraction * 30.0) as usize;
            let _ = write!(
                err,
                "\r[{}{}] {:>3.0}% {}/{} sessions, {:.1} MB read",
                "#".repeat(filled),
                " ".repeat(30 - filled),
                fraction * 100.0,
                self.done,
                self.sessions,
                self.bytes as f64 / 1e6
            );
        } else {
            let decile = (fraction * 10.0) as u64;
            if decile > self.last_decile || self.done == self.sessions {
                self.last_decile = decile;
                let _ = writeln!(
                    err,
                    "imported {}/{} sessions ({:.1} of {:.1} MB new)",
                    self.done,
                    self.sessions,
                    self.bytes as f64 / 1e6,
                    self.total_bytes as f64 / 1e6
                );
            }
        }
    }

    fn finish(&mut self) {
        if self.terminal && self.sessions > 0 {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::redact::Redactor;

    fn privacy(redactor: &Redactor) -> Privacy<'_> {
        Privacy::defaults(redactor)
    }

    /// The real 2.1.331 subagent session, copied so the test can grow it.
    fn copy_sample(dir: &Path) -> PathBuf {
        let samples = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/claude-code/transcripts/subagent/-home-dev-work");
        let id = "4393a4ec-3239-4206-97e6-49e5a86ce22c";
        let project = dir.join("projects/-home-dev-work");
        std::fs::create_dir_all(project.join(id).join("subagents")).unwrap();
        std::fs::copy(samples.join(format!("{id}.jsonl")), project.join(format!("{id}.jsonl"))).unwrap();
        let agent = "agent-a0094f20103808832.jsonl";
        std::fs::copy(samples.join(id).join("subagents").join(agent), project.join(id).join("subagents").join(agent))
            .unwrap();
        project.join(format!("{id}.jsonl"))
    }

    fn messages(store: &Store) -> Vec<Value> {
        store
            .pending(10_000, None)
            .unwrap()
            .into_iter()
            .filter(|e| e.event_type == "message")
            .map(|e| serde_json::from_str(&e.payload).unwrap())
            .collect()
    }

    #[test]
    fn catch_up_queues_each_item_once_and_keeps_exact_figures() {
        let tmp = tempfile::tempdir().unwrap();
        let main = copy_sample(tmp.path());
        let (mut store, _) = Store::open(&tmp.path().join("data")).unwrap();
        let (redactor, _) = Redactor::new(&[], &[]);
        let privacy = privacy(&redactor);
        let prices = PriceTable::bundled();
        let files = transcript::session_files(&main);

        let first = catch_up(&mut store, &privacy, &prices, &files, Some(32 << 20), false, 1).unwrap();
        assert!(first.complete);
        // Prompt, Agent call, its result, final text; the subagent's prompt, Bash call, result, text.
        assert_eq!(first.queued, 8);
        let row = store.session(&files.session_id).unwrap().unwrap();
        assert_eq!((row.prompt_count, row.message_count, row.tool_call_count), (1, 4, 2));
        assert_eq!(
            (row.input_tokens, row.output_tokens, row.cache_creation_tokens, row.cache_read_tokens),
            (4088, 288, 888, 12088)
        );
        assert_eq!(row.cost_usd, Some(0.028969599999999998), "Claude Code's own cost-state, to the last bit");
        assert_eq!(row.models, vec!["claude-opus-5-5".to_string()]);
        assert_eq!(row.project_name.as_deref(), Some("work"));

        let again = catch_up(&mut store, &privacy, &prices, &files, None, false, 2).unwrap();
        assert_eq!((again.queued, again.bytes), (0, 0), "nothing new, nothing queued");

        // The session goes on: a new prompt carrying a secret, and an answer.
        let secret = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
        let mut f = std::fs::OpenOptions::new().append(true).open(&main).unwrap();
        writeln!(f, r#"{{"type":"user","uuid":"u-new","sessionId":"{}","timestamp":"2026-11-24T11:40:00.000Z","message":{{"role":"user","content":"use key {secret} please"}}}}"#, files.session_id).unwrap();
        writeln!(f, r#"{{"type":"assistant","uuid":"a-new","sessionId":"{}","timestamp":"2026-11-24T11:40:01.000Z","message":{{"id":"msg_new","model":"claude-opus-5-5","content":[{{"type":"text","text":"done"}}],"usage":{{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}"#, files.session_id).unwrap();
        let more = catch_up(&mut store, &privacy, &prices, &files, None, false, 3).unwrap();
        assert_eq!(more.queued, 2);
        let row = store.session(&files.session_id).unwrap().unwrap();
        assert_eq!((row.prompt_count, row.message_count, row.input_tokens), (2, 5, 4098));

        let queued = messages(&store);
        assert_eq!(queued.len(), 10);
        let text = serde_json::to_string(&queued).unwrap();
        assert!(!text.contains(secret), "redacted before it is stored");
        assert!(text.contains("[REDACTED:anthropic-api-key]"));
        let prompt =
            queued.iter().find(|p| p["detail"]["kind"] == "prompt" && p["detail"]["agentId"].is_null()).unwrap();
        assert_eq!(prompt["projectName"], "work");

        let mut payload = Payload::default();
        add_summary(&mut payload, &more.summary);
        assert_eq!((payload.message_count, payload.tool_call_count, payload.prompt_count), (Some(5), Some(2), Some(2)));
        assert_eq!(payload.token_usage.as_ref().unwrap().cache_read, Some(12088));
        assert_eq!(payload.model.as_deref(), Some("claude-opus-5-5"));
        assert_eq!(payload.detail.as_ref().unwrap()["subagentTokenUsage"]["input"], 2044);
    }

    #[test]
    fn reading_in_slices_ends_where_one_read_does() {
        let tmp = tempfile::tempdir().unwrap();
        let main = copy_sample(tmp.path());
        let (redactor, _) = Redactor::new(&[], &[]);
        let (privacy, prices, files) = (privacy(&redactor), PriceTable::bundled(), transcript::session_files(&main));

        let (mut whole, _) = Store::open(&tmp.path().join("whole")).unwrap();
        let one = catch_up(&mut whole, &privacy, &prices, &files, None, false, 1).unwrap();
        let (mut sliced, _) = Store::open(&tmp.path().join("sliced")).unwrap();
        let mut queued = 0;
        let mut calls = 0;
        loop {
            let step = catch_up(&mut sliced, &privacy, &prices, &files, Some(20_000), false, 1).unwrap();
            queued += step.queued;
            calls += 1;
            if step.complete {
                assert_eq!(step.summary, one.summary);
                break;
            }
        }
        assert!(calls > 5, "the budget was honoured ({calls} reads)");
        assert_eq!(queued, one.queued);
        assert_eq!(whole.session(&files.session_id).unwrap(), sliced.session(&files.session_id).unwrap());
    }

    #[test]
    fn a_transcript_read_in_part_is_finished_from_the_backlog() {
        let tmp = tempfile::tempdir().unwrap();
        let main = copy_sample(tmp.path());
        let (mut store, _) = Store::open(&tmp.path().join("data")).unwrap();
        let (redactor, _) = Redactor::new(&[], &[]);
        let (privacy, prices, files) = (privacy(&redactor), PriceTable::bundled(), transcript::session_files(&main));

        let part = catch_up(&mut store, &privacy, &prices, &files, Some(10_000), false, 1).unwrap();
        assert!(!part.complete);
        note_backlog(&store, &files, &part).unwrap();
        assert_eq!(catch_up_backlog(&mut store, &privacy, &prices, 2).unwrap(), 1);
        let row = store.session(&files.session_id).unwrap().unwrap();
        assert_eq!((row.message_count, row.input_tokens), (4, 4088), "the rest was read");
        assert_eq!(messages(&store).len(), 8);
        assert_eq!(catch_up_backlog(&mut store, &privacy, &prices, 3).unwrap(), 0, "done once");
    }

    #[test]
    fn backfill_is_idempotent_and_filters_by_project() {
        let tmp = tempfile::tempdir().unwrap();
        copy_sample(tmp.path());
        let (mut store, _) = Store::open(&tmp.path().join("data")).unwrap();
        let (redactor, _) = Redactor::new(&[], &[]);
        let (privacy, prices) = (privacy(&redactor), PriceTable::bundled());
        let roots = [tmp.path().to_path_buf()];

        let none = backfill(&mut store, &privacy, &prices, &roots, Some("other"), 1);
        assert_eq!(none.sessions, 0);
        let first = backfill(&mut store, &privacy, &prices, &roots, Some("work"), 1);
        assert_eq!((first.sessions, first.updated, first.queued), (1, 1, 8));
        assert!(first.failures.is_empty());
        let summary = store.pending(100, None).unwrap().into_iter().find(|e| e.event_type == "manual_sync").unwrap();
        let payload: Value = serde_json::from_str(&summary.payload).unwrap();
        assert_eq!(payload["tokenUsage"]["input"], 4088);
        assert_eq!(payload["cost"], 0.028969599999999998);
        assert_eq!(summary.timestamp, crate::time::parse_iso8601("2026-11-24T11:38:47.768Z").unwrap(), "original time");

        let before = store.pending(10_000, None).unwrap().len();
        let second = backfill(&mut store, &privacy, &prices, &roots, None, 2);
        assert_eq!((second.sessions, second.updated, second.queued), (1, 0, 0));
        assert_eq!(store.pending(10_000, None).unwrap().len(), before);
    }
}
