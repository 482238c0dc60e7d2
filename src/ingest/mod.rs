//! From transcripts to the store. New conversation items become `message` events (redacted and
//! reduced by the privacy rules), the session row gets the transcript's exact figures, and the
//! reading state is saved so the next read starts where this one stopped. Used by the `stop`
//! and `session-end` hooks (within a byte budget, [`catch_up`]) and by `sync-now --all`
//! ([`backfill`], which reads sessions on several threads).

mod backfill;

use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

pub use backfill::{Backfill, BackfillOptions, Progress, backfill};

use crate::event::{self, EncodedEvent, Event, EventType, Payload, SessionFold};
use crate::privacy::Privacy;
use crate::project;
use crate::store::{Store, TranscriptFigures};
use crate::transcript::{
    self, CatchUpOptions, CatchUpReport, ConversationItem, ConversationOptions, CostState, ItemKind, Outcome,
    PriceTable, Role, SessionFiles, SessionState, SessionSummary, SessionTally,
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
    let read = read(&mut state, files, privacy, max_bytes, now);
    let errors = error_lines(&read.report);
    let summary = summarize(store, &state.tally, prices)?;
    let transcript_path = transcript_path(files);
    let queued = store.record_encoded(&read.events, transcript_path.as_deref(), now)?;
    store.save_transcript_state(session_id, &serde_json::to_string(&state)?, now)?;
    let (bytes, complete) = (read.report.bytes, read.report.complete);
    if bytes == 0 {
        // Nothing new (or no transcript yet): the row keeps what it has, hook counts included.
        return Ok(CaughtUp { summary, queued, bytes: 0, complete, errors });
    }
    let figures = figures(&summary, &read.metadata, transcript_path, finished);
    store.apply_transcript_figures(session_id, &figures, now)?;
    Ok(CaughtUp { summary, queued, bytes, complete, errors })
}

/// What one read of a session produced, ready for the store.
struct Read {
    /// The new conversation items as `message` events.
    events: Vec<EncodedEvent>,
    report: CatchUpReport,
    /// The session's metadata as the events carry it.
    metadata: Metadata,
}

/// Reads what is new in `files` since `state` (at most `max_bytes`) and encodes the new items.
/// Touches no store: the backfill runs it on its reading threads.
fn read(state: &mut SessionState, files: &SessionFiles, privacy: &Privacy, max_bytes: Option<u64>, now: i64) -> Read {
    let mut items = Vec::new();
    let opts = CatchUpOptions {
        privacy: Some(privacy),
        conversation: ConversationOptions { include_thinking: privacy.sync_thinking },
        max_bytes,
    };
    let report = transcript::catch_up(state, files, &opts, |item| items.push(item));
    let metadata = Metadata::of(&state.tally, privacy);
    let events = items.iter().map(|item| message_event(item, &files.session_id, &metadata, now)).collect();
    Read { events, report, metadata }
}

fn error_lines(report: &CatchUpReport) -> Vec<String> {
    report.errors.iter().map(|(path, e)| format!("{path}: {e}")).collect()
}

fn transcript_path(files: &SessionFiles) -> Option<String> {
    files.main.as_deref().map(|p| p.to_string_lossy().into_owned())
}

/// The session's figures, a fork's cost net of its parent's as far as the store knows it.
fn summarize(store: &Store, tally: &SessionTally, prices: &PriceTable) -> Result<SessionSummary> {
    let parent = match tally.fork_parent() {
        Some(parent) => Some(load_state(store, parent)?.tally.cost_states().to_vec()),
        None => None,
    };
    Ok(tally.summary(prices, parent.as_deref().filter(|p: &&[CostState]| !p.is_empty())))
}

fn figures(
    summary: &SessionSummary,
    metadata: &Metadata,
    transcript_path: Option<String>,
    finished: bool,
) -> TranscriptFigures {
    TranscriptFigures {
        project_name: metadata.project_name.clone(),
        working_directory: metadata.working_directory.clone(),
        git_branch: metadata.git_branch.clone(),
        transcript_path,
        models: models_by_use(summary),
        started_at: summary.started_ms,
        ended_at: summary.ended_ms.filter(|_| finished),
        prompts: summary.prompts,
        messages: summary.message_count,
        tool_calls: summary.tool_call_count,
        tokens: summary.token_usage,
        cost: summary.cost,
    }
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
#[derive(Debug, Clone, Default, PartialEq)]
struct Metadata {
    project_name: Option<String>,
    working_directory: Option<String>,
    git_branch: Option<String>,
}

impl Metadata {
    fn of(tally: &SessionTally, privacy: &Privacy) -> Metadata {
        let cwd = tally.cwd();
        let info = cwd.map(|cwd| project::detect(Path::new(cwd))).unwrap_or_default();
        Metadata {
            project_name: info.name.or_else(|| cwd.and_then(transcript::tally::project_name)).map(|n| privacy.text(&n)),
            working_directory: cwd.map(|c| privacy.text(c)),
            git_branch: info.git_branch.or_else(|| tally.git_branch().map(str::to_owned)).map(|b| privacy.text(&b)),
        }
    }
}

/// A conversation item as a `message` event. Its id comes from the transcript (uuid, tool_use
/// id), so re-reading never queues it twice, and a fork's copies of its parent's lines collapse
/// into the parent's events.
fn message_event(item: &ConversationItem, session_id: &str, metadata: &Metadata, now: i64) -> EncodedEvent {
    let payload = MessagePayload {
        project_name: metadata.project_name.as_deref(),
        working_directory: metadata.working_directory.as_deref(),
        git_branch: metadata.git_branch.as_deref(),
        model: item.model.as_deref(),
        detail: MessageDetail {
            agent_id: item.agent_id.as_deref(),
            kind: item.kind,
            message_id: item.message_id.as_deref(),
            outcome: item.outcome,
            result_chars: item.result_chars,
            role: item.role,
            text: item.text.as_deref(),
            tool_input: item.tool_input.as_ref(),
            tool_name: item.tool_name.as_deref(),
            tool_use_id: item.tool_use_id.as_deref(),
            usage: item.usage.map(|u| Usage {
                cache_creation: u.cache_creation,
                cache_read: u.cache_read,
                input: u.input,
                output: u.output,
            }),
        },
    };
    EncodedEvent {
        event_id: format!("msg:{}", item.id),
        session_id: session_id.to_string(),
        event_type: EventType::Message,
        timestamp: item.timestamp_ms.unwrap_or(now),
        // Borrowed strings and numbers only: serializing cannot fail.
        payload: serde_json::to_string(&payload).unwrap_or_default(),
        fold: SessionFold {
            project_name: metadata.project_name.clone(),
            working_directory: metadata.working_directory.clone(),
            git_branch: metadata.git_branch.clone(),
            model: item.model.clone(),
            ..SessionFold::default()
        },
    }
}

/// A `message` event's payload: the [`Payload`] fields it uses, and the item without what the
/// event carries itself (id, session, time, model), serialized straight from the item. Keys are
/// in the order a [`Payload`] with a JSON-object `detail` gives (the detail's sorted).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessagePayload<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    project_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_directory: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    git_branch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    detail: MessageDetail<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageDetail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
    kind: ItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_chars: Option<u64>,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_input: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_use_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Usage {
    cache_creation: u64,
    cache_read: u64,
    input: u64,
    output: u64,
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
            let covered = covered(&load_state(store, &files.session_id)?);
            queue_summary(store, &files.session_id, transcript_path(&files).as_deref(), &done.summary, covered, now)?;
        }
        store.meta_delete(key)?;
    }
    Ok(pending.len())
}

/// Bytes of the session's transcripts read so far.
fn covered(state: &SessionState) -> u64 {
    state.cursors.values().map(|c| c.offset).sum()
}

/// A session's figures as one `manual_sync` event, keyed by how much of the transcript they
/// cover (the same content never queues it twice).
fn queue_summary(
    store: &mut Store,
    session_id: &str,
    transcript_path: Option<&str>,
    summary: &SessionSummary,
    covered: u64,
    now: i64,
) -> Result<()> {
    let row = store.session(session_id)?.unwrap_or_default();
    let mut payload = Payload {
        project_name: row.project_name,
        working_directory: row.working_directory,
        git_branch: row.git_branch,
        ..Payload::default()
    };
    add_summary(&mut payload, summary);
    let event = Event {
        event_id: format!("{session_id}:transcript:{covered}"),
        session_id: session_id.to_string(),
        event_type: EventType::ManualSync,
        timestamp: summary.ended_ms.unwrap_or(now),
        payload,
    };
    store.record(&event, transcript_path, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::path::PathBuf;

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

    /// A `message` payload serialized straight from the item is the JSON a [`Payload`] whose
    /// detail is the item as a JSON object (without id, session, time, model) gives.
    #[test]
    fn message_payloads_are_those_of_the_item_as_a_json_object() {
        let tmp = tempfile::tempdir().unwrap();
        let main = copy_sample(tmp.path());
        let (redactor, _) = Redactor::new(&[], &[]);
        let privacy = Privacy { sync_thinking: true, ..privacy(&redactor) };
        let mut items = Vec::new();
        let opts = CatchUpOptions {
            privacy: Some(&privacy),
            conversation: ConversationOptions { include_thinking: true },
            max_bytes: None,
        };
        let files = transcript::session_files(&main);
        transcript::catch_up(&mut SessionState::default(), &files, &opts, |item| items.push(item));
        let metadata = Metadata {
            project_name: Some("work".into()),
            working_directory: Some("/home/dev/\"work\"".into()),
            git_branch: None,
        };
        assert!(items.len() >= 8);
        for item in &items {
            let mut detail = serde_json::to_value(item).unwrap();
            for key in ["id", "sessionId", "timestampMs", "model"] {
                detail.as_object_mut().unwrap().remove(key);
            }
            let payload = Payload {
                project_name: metadata.project_name.clone(),
                working_directory: metadata.working_directory.clone(),
                model: item.model.clone(),
                detail: Some(detail),
                ..Payload::default()
            };
            let event = message_event(item, "s", &metadata, 7);
            assert_eq!(event.payload, serde_json::to_string(&payload).unwrap());
            assert_eq!(event.timestamp, item.timestamp_ms.unwrap_or(7));
            assert_eq!(event.event_id, format!("msg:{}", item.id));
        }
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

        let import = |store: &mut Store, project, now| {
            backfill(store, &privacy, &prices, &BackfillOptions::new(&roots, project, 2, now), &mut |_| {})
        };
        let none = import(&mut store, Some("other"), 1);
        assert_eq!(none.sessions, 0);
        let first = import(&mut store, Some("work"), 1);
        assert_eq!((first.sessions, first.updated, first.queued), (1, 1, 8));
        assert!(first.failures.is_empty());
        let summary = store.pending(100, None).unwrap().into_iter().find(|e| e.event_type == "manual_sync").unwrap();
        let payload: Value = serde_json::from_str(&summary.payload).unwrap();
        assert_eq!(payload["tokenUsage"]["input"], 4088);
        assert_eq!(payload["cost"], 0.028969599999999998);
        assert_eq!(summary.timestamp, crate::time::parse_iso8601("2026-11-24T11:38:47.768Z").unwrap(), "original time");

        let before = store.pending(10_000, None).unwrap().len();
        let second = import(&mut store, None, 2);
        assert_eq!((second.sessions, second.updated, second.queued), (1, 0, 0));
        assert_eq!(store.pending(10_000, None).unwrap().len(), before);
    }
}
