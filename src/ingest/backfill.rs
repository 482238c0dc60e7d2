//! `sync-now --all`: every session under the given roots, read on several threads.
//!
//! Reading threads take one session at a time, largest first (a large session started last
//! would finish alone while the other threads idle), read it in slices and encode its new
//! conversation items. This thread is the only one that writes the store: it gathers what the
//! readers send and writes it in short transactions, so a hook writing at the same moment
//! waits milliseconds, never the length of the import. A session's reading state is saved with
//! its last events, in the same transaction: after a crash the next run reads again from the
//! last saved state, and the events it had already stored are recognised by their ids.
//!
//! Memory stays flat whatever the size of the tree: a reader holds one session's tally and
//! one slice's events, and the bounded channels and the writer's batch hold a few more slices.
//!
//! The result does not depend on the number of threads: each session is read the same way,
//! whatever thread reads it, and the figures of forks (which need their parent's) are applied
//! at the end, once every session is read. Only the order of the rows differs.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Metadata, covered, error_lines, figures, load_state, queue_summary, read, summarize, transcript_path};
use crate::event::EncodedEvent;
use crate::privacy::Privacy;
use crate::store::Store;
use crate::transcript::{self, PriceTable, SessionFiles, SessionState, SessionSummary};

/// Transcript bytes a reader reads before it hands their events over: bounds the events one
/// reader holds, whatever the size of a session.
const SLICE_BYTES: u64 = 8 << 20;
/// Payload bytes the writer gathers before it commits them.
const COMMIT_BYTES: usize = 8 << 20;
/// The longest the writer keeps what it gathered before committing it (the progress shown is
/// what is committed).
const COMMIT_AFTER: Duration = Duration::from_millis(100);

pub struct BackfillOptions<'a> {
    /// Config dirs, project dirs or transcript files.
    pub roots: &'a [PathBuf],
    /// Only sessions whose project folder is this name (Claude Code's folder is the working
    /// directory with `/` as `-`).
    pub project: Option<&'a str>,
    /// Reading threads (at least one).
    pub jobs: usize,
    pub now: i64,
    /// Slice size; tests make it small to read sessions in several slices.
    pub slice_bytes: u64,
}

impl<'a> BackfillOptions<'a> {
    pub fn new(roots: &'a [PathBuf], project: Option<&'a str>, jobs: usize, now: i64) -> BackfillOptions<'a> {
        BackfillOptions { roots, project, jobs, now, slice_bytes: SLICE_BYTES }
    }
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

/// How far a backfill is, each time it stored something.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub sessions: usize,
    /// Sessions stored, or found to have nothing new.
    pub done: usize,
    /// Bytes of the transcripts (all of them, read or not).
    pub total_bytes: u64,
    /// New bytes read and stored so far.
    pub bytes: u64,
}

/// Imports every session under `opts.roots`, only what is new since the last import, newest
/// data kept with its original timestamps.
pub fn backfill(
    store: &mut Store,
    privacy: &Privacy,
    prices: &PriceTable,
    opts: &BackfillOptions,
    on_progress: &mut dyn FnMut(&Progress),
) -> Backfill {
    let mut sessions = transcript::discover_sessions(opts.roots);
    if let Some(project) = opts.project {
        sessions.retain(|s| in_project(s, project));
    }
    let sizes: Vec<u64> = sessions.iter().map(SessionFiles::size).collect();
    let mut order: Vec<usize> = (0..sessions.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let progress = Progress { sessions: sessions.len(), total_bytes: sizes.iter().sum(), ..Progress::default() };
    let mut report = Backfill { sessions: sessions.len(), ..Backfill::default() };
    if let Err(e) = store.import_mode(true) {
        report.failures.push(format!("store settings: {e:#}"));
    }
    let mut writer = Writer {
        store,
        sessions: &sessions,
        now: opts.now,
        batch: Vec::new(),
        batch_bytes: 0,
        since: None,
        failed: HashSet::new(),
        forks: Vec::new(),
        report,
        progress,
        on_progress,
    };
    (writer.on_progress)(&writer.progress);

    let jobs = opts.jobs.max(1);
    // Sessions handed out and not yet done; the job channel holds them all, so handing one out
    // never blocks this thread.
    let max_in_flight = 2 * jobs;
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(max_in_flight);
    let job_rx = Mutex::new(job_rx);
    // Room for what readers produce while the writer commits (a slice's events are a small
    // fraction of its bytes), so that they rarely wait for it.
    let (out_tx, out_rx) = mpsc::sync_channel::<Output>(4 * jobs);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (jobs, out) = (&job_rx, out_tx.clone());
            let sessions = &sessions;
            scope.spawn(move || read_sessions(jobs, out, sessions, privacy, prices, opts));
        }
        drop(out_tx);
        let mut job_tx = Some(job_tx);
        let (mut next, mut in_flight) = (0, 0);
        loop {
            while in_flight < max_in_flight
                && let Some(&index) = order.get(next)
            {
                next += 1;
                if let Some(state) = writer.saved_state(index)
                    && let Some(tx) = &job_tx
                    && tx.send(Job { index, state }).is_ok()
                {
                    in_flight += 1;
                }
            }
            if next == order.len() {
                // No more sessions: readers stop once the channel is empty.
                job_tx = None;
            }
            let received = match writer.since {
                None => out_rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(since) => out_rx.recv_timeout(COMMIT_AFTER.saturating_sub(since.elapsed())),
            };
            match received {
                Ok(output) => {
                    in_flight -= usize::from(matches!(output, Output::Done(_)));
                    writer.push(output);
                }
                Err(RecvTimeoutError::Timeout) => writer.commit(),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        writer.commit();
    });
    writer.finish_forks(privacy, prices);
    if let Err(e) = writer.store.import_mode(false) {
        writer.report.failures.push(format!("store settings: {e:#}"));
    }
    writer.report
}

/// A session to read, with its saved state (JSON) if any.
struct Job {
    index: usize,
    state: Option<String>,
}

/// What a reader sends the writer.
enum Output {
    /// New events of session `index`, in reading order.
    Events { index: usize, events: Vec<EncodedEvent> },
    /// Session `index` is read to its end.
    Done(Box<Done>),
}

struct Done {
    index: usize,
    /// The reading state to save (JSON).
    state: String,
    bytes: u64,
    covered: u64,
    errors: Vec<String>,
    /// `None` for a fork: its figures wait for its parent's.
    summary: Option<SessionSummary>,
    metadata: Metadata,
}

/// A reading thread: takes sessions until there are none left.
fn read_sessions(
    jobs: &Mutex<Receiver<Job>>,
    out: SyncSender<Output>,
    sessions: &[SessionFiles],
    privacy: &Privacy,
    prices: &PriceTable,
    opts: &BackfillOptions,
) {
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(Job { index, state }) = job else { return };
        let files = &sessions[index];
        // A state this build cannot read is dropped: reading from the start is safe (dedup).
        let mut state: SessionState = state.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        let (mut bytes, mut errors) = (0, Vec::new());
        let metadata = loop {
            let slice = read(&mut state, files, privacy, Some(opts.slice_bytes), opts.now);
            bytes += slice.report.bytes;
            errors.extend(error_lines(&slice.report));
            if !slice.events.is_empty() && out.send(Output::Events { index, events: slice.events }).is_err() {
                return;
            }
            if slice.report.complete {
                break slice.metadata;
            }
        };
        let summary = state.tally.fork_parent().is_none().then(|| state.tally.summary(prices, None));
        let done = Done {
            index,
            state: serde_json::to_string(&state).unwrap_or_default(),
            bytes,
            covered: covered(&state),
            errors,
            summary,
            metadata,
        };
        if out.send(Output::Done(Box::new(done))).is_err() {
            return;
        }
    }
}

/// The one thread that writes the store.
struct Writer<'s, 'p> {
    store: &'s mut Store,
    sessions: &'s [SessionFiles],
    now: i64,
    /// What the readers sent, not yet committed, in the order it came.
    batch: Vec<Output>,
    batch_bytes: usize,
    /// When the first output of the batch came.
    since: Option<Instant>,
    /// Sessions whose events could not be stored: their state is not saved either, so the
    /// next run reads them again.
    failed: HashSet<usize>,
    /// Forks read in full, whose figures wait for every other session.
    forks: Vec<usize>,
    report: Backfill,
    progress: Progress,
    on_progress: &'p mut dyn FnMut(&Progress),
}

impl Writer<'_, '_> {
    /// The saved state of session `index` for a reader, or `None` when there is nothing new to
    /// read (the session is then done).
    fn saved_state(&mut self, index: usize) -> Option<Option<String>> {
        let files = &self.sessions[index];
        match self.store.transcript_state(&files.session_id) {
            Ok(Some(state)) if transcript::is_current(&state, files) => {
                self.progress.done += 1;
                (self.on_progress)(&self.progress);
                None
            }
            Ok(state) => Some(state),
            Err(e) => {
                self.report.failures.push(format!("{}: {e:#}", files.session_id));
                self.progress.done += 1;
                None
            }
        }
    }

    fn push(&mut self, output: Output) {
        self.batch_bytes += match &output {
            Output::Events { events, .. } => events.iter().map(|e| e.payload.len()).sum(),
            Output::Done(done) => done.state.len(),
        };
        self.batch.push(output);
        let since = *self.since.get_or_insert_with(Instant::now);
        if self.batch_bytes >= COMMIT_BYTES || since.elapsed() >= COMMIT_AFTER {
            self.commit();
        }
    }

    /// Writes the batch in one transaction.
    fn commit(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        (self.batch_bytes, self.since) = (0, None);
        if batch.is_empty() {
            return;
        }
        let (sessions, now, failed) = (self.sessions, self.now, &self.failed);
        let mut forks = Vec::new();
        let result = self.store.in_transaction(|store| {
            let mut queued = 0;
            for output in &batch {
                match output {
                    Output::Events { index, events } if !failed.contains(index) => {
                        queued += store.record_encoded(events, transcript_path(&sessions[*index]).as_deref(), now)?;
                    }
                    Output::Done(done) if !failed.contains(&done.index) => {
                        let fork = finish_session(store, &sessions[done.index], done, now)?;
                        forks.extend(fork.then_some(done.index));
                    }
                    _ => {}
                }
            }
            Ok(queued)
        });
        match result {
            Ok(queued) => {
                self.report.queued += queued;
                self.forks.extend(forks);
            }
            Err(e) => {
                for output in &batch {
                    let index = match output {
                        Output::Events { index, .. } => *index,
                        Output::Done(done) => done.index,
                    };
                    if self.failed.insert(index) {
                        self.report.failures.push(format!("{}: {e:#}", sessions[index].session_id));
                    }
                }
            }
        }
        for output in batch {
            if let Output::Done(done) = output {
                self.report.failures.extend(done.errors);
                self.report.bytes += done.bytes;
                self.report.updated += usize::from(done.bytes > 0);
                self.progress.done += 1;
                self.progress.bytes += done.bytes;
            }
        }
        (self.on_progress)(&self.progress);
    }

    /// Forks' figures, now that their parents' cost-states are stored.
    fn finish_forks(&mut self, privacy: &Privacy, prices: &PriceTable) {
        let (sessions, now) = (self.sessions, self.now);
        for &index in &std::mem::take(&mut self.forks) {
            let files = &sessions[index];
            let result = self.store.in_transaction(|store| {
                let state = load_state(store, &files.session_id)?;
                let summary = summarize(store, &state.tally, prices)?;
                let metadata = Metadata::of(&state.tally, privacy);
                apply_figures(store, files, &summary, &metadata, covered(&state), now)
            });
            if let Err(e) = result {
                self.report.failures.push(format!("{}: {e:#}", files.session_id));
            }
        }
    }
}

/// Saves a session's reading state and, when something new was read, its figures. Returns
/// true for a fork, whose figures wait.
fn finish_session(store: &mut Store, files: &SessionFiles, done: &Done, now: i64) -> Result<bool> {
    store.save_transcript_state(&files.session_id, &done.state, now)?;
    if done.bytes == 0 {
        return Ok(false);
    }
    match &done.summary {
        Some(summary) => apply_figures(store, files, summary, &done.metadata, done.covered, now).map(|()| false),
        None => Ok(true),
    }
}

fn apply_figures(
    store: &mut Store,
    files: &SessionFiles,
    summary: &SessionSummary,
    metadata: &Metadata,
    covered: u64,
    now: i64,
) -> Result<()> {
    let path = transcript_path(files);
    store.apply_transcript_figures(&files.session_id, &figures(summary, metadata, path.clone(), true), now)?;
    queue_summary(store, &files.session_id, path.as_deref(), summary, covered, now)
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::types::Value;

    use super::*;
    use crate::redact::Redactor;
    use crate::transcript::scan;

    /// Every fixture transcript (the real Claude Code sessions, a fork whose file sorts before
    /// its parent's, edge cases, pricing cases) under one config dir, plus a session with a
    /// secret in a prompt.
    fn tree(dir: &Path) -> PathBuf {
        let projects = dir.join("projects");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for set in ["claude-code/transcripts/multi-tools", "claude-code/transcripts/subagent", "transcripts/fork"]
            .into_iter()
            .chain(["transcripts/edge", "transcripts/pricing"])
        {
            copy_dir(&fixtures.join(set), &projects);
        }
        // Line ids are unique across real sessions (uuids); two fixtures share `c1`, which would
        // make the stored item depend on which session is written first.
        let child = projects.join("-home-dev-fork/child.jsonl");
        let text = std::fs::read_to_string(&child).unwrap().replace(r#""uuid":"c1""#, r#""uuid":"fork-c1""#);
        std::fs::write(&child, text).unwrap();
        let secret = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
        let line = format!(
            r#"{{"type":"user","uuid":"u-secret","sessionId":"secret","cwd":"/home/dev/app","timestamp":"2026-11-24T11:40:00.000Z","message":{{"role":"user","content":"use key {secret} please"}}}}"#
        );
        std::fs::create_dir_all(projects.join("-home-dev-app")).unwrap();
        std::fs::write(projects.join("-home-dev-app/secret.jsonl"), format!("{line}\n")).unwrap();
        dir.to_path_buf()
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    fn import(root: &Path, data: &Path, jobs: usize, slice_bytes: u64) -> (Store, Backfill, Vec<Progress>) {
        let (mut store, _) = Store::open(data).unwrap();
        let (redactor, _) = Redactor::new(&[], &[]);
        let privacy = Privacy::defaults(&redactor);
        let roots = [root.to_path_buf()];
        let opts = BackfillOptions { slice_bytes, ..BackfillOptions::new(&roots, None, jobs, 1) };
        let mut shown = Vec::new();
        let report = backfill(&mut store, &privacy, &PriceTable::bundled(), &opts, &mut |p| shown.push(p.clone()));
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        (store, report, shown)
    }

    /// Every row of the store's tables, sorted; the outbox without its sequence numbers, which
    /// follow the order rows were written in.
    fn dump(store: &Store) -> Vec<(String, Vec<Vec<Value>>)> {
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        [
            ("sessions", "SELECT * FROM sessions"),
            ("outbox", "SELECT event_id, session_id, event_type, timestamp, payload, created_at, state FROM outbox"),
            ("transcript_state", "SELECT * FROM transcript_state"),
            ("meta", "SELECT * FROM meta"),
        ]
        .into_iter()
        .map(|(table, sql)| {
            let mut stmt = conn.prepare(sql).unwrap();
            let columns = stmt.column_count();
            let mut rows: Vec<Vec<Value>> = stmt
                .query_map([], |r| (0..columns).map(|i| r.get::<_, Value>(i)).collect())
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            (table.to_string(), rows)
        })
        .collect()
    }

    #[test]
    fn parallel_and_serial_imports_store_the_same_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tree(&tmp.path().join("tree"));
        // Small slices: every session is read in several, handed over by whichever thread.
        let (serial, first, _) = import(&root, &tmp.path().join("serial"), 1, 4096);
        let (parallel, second, shown) = import(&root, &tmp.path().join("parallel"), 4, 4096);
        assert_eq!((first.sessions, first.updated, first.queued), (second.sessions, second.updated, second.queued));
        assert!(first.queued > 20 && first.sessions >= 8, "{first:?}");
        // Progress goes one way, to every session and every byte read.
        assert!(shown.windows(2).all(|w| w[0].done <= w[1].done && w[0].bytes <= w[1].bytes), "{shown:?}");
        let last = shown.last().unwrap();
        assert_eq!((last.done, last.sessions, last.bytes), (second.sessions, second.sessions, second.bytes));
        assert!(last.total_bytes >= second.bytes);
        let (serial, parallel) = (dump(&serial), dump(&parallel));
        assert!(serial[..3].iter().all(|(_, rows)| !rows.is_empty()), "sessions, events and states stored");
        for ((table, a), (_, b)) in serial.iter().zip(&parallel) {
            assert_eq!(a.len(), b.len(), "{table}");
            for (a, b) in a.iter().zip(b) {
                assert_eq!(a, b, "{table}");
            }
        }

        let text = format!("{serial:?}");
        assert!(!text.contains("sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"), "redacted before it is stored");
        assert!(text.contains("[REDACTED:anthropic-api-key]"));
    }

    #[test]
    fn imported_figures_are_those_of_one_full_single_threaded_read() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tree(&tmp.path().join("tree"));
        let (store, _, _) = import(&root, &tmp.path().join("data"), 3, 4096);
        let sessions = transcript::discover_sessions(&[root]);
        for summary in scan::summarize(&sessions, &PriceTable::bundled(), 1) {
            let row = store.session(&summary.session_id).unwrap().expect("every session has a row");
            let t = &summary.token_usage;
            assert_eq!(
                (row.input_tokens, row.output_tokens, row.cache_creation_tokens, row.cache_read_tokens),
                (t.input as i64, t.output as i64, t.cache_creation as i64, t.cache_read as i64),
                "{}",
                summary.session_id
            );
            assert_eq!(row.cost_usd, summary.cost, "{}", summary.session_id);
            assert_eq!(
                (row.prompt_count, row.message_count, row.tool_call_count),
                (summary.prompts as i64, summary.message_count as i64, summary.tool_call_count as i64),
                "{}",
                summary.session_id
            );
            assert_eq!(
                (row.started_at, row.ended_at),
                (summary.started_ms, summary.ended_ms),
                "{}",
                summary.session_id
            );
        }
    }

    #[test]
    fn a_second_import_reads_only_what_is_new() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tree(&tmp.path().join("tree"));
        let data = tmp.path().join("data");
        let (store, first, _) = import(&root, &data, 2, SLICE_BYTES);
        let before = dump(&store);
        drop(store);
        let (store, again, _) = import(&root, &data, 2, SLICE_BYTES);
        assert_eq!((again.sessions, again.updated, again.queued, again.bytes), (first.sessions, 0, 0, 0));
        assert_eq!(dump(&store), before, "nothing changed");

        let path = root.join("projects/-home-dev-app/secret.jsonl");
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        use std::io::Write as _;
        writeln!(file, r#"{{"type":"user","uuid":"u-2","sessionId":"secret","timestamp":"2026-11-24T11:41:00.000Z","message":{{"role":"user","content":"and more"}}}}"#).unwrap();
        drop(store);
        let (store, more, _) = import(&root, &data, 2, SLICE_BYTES);
        assert_eq!((more.updated, more.queued), (1, 1));
        assert_eq!(store.session("secret").unwrap().unwrap().prompt_count, 2);
    }
}
