//! `sync-now`: deliver in the foreground and say what happened. Rejected events get another
//! try (the user may have fixed the cause); a background uploader sleeping in backoff is asked
//! to make way. Always exits 0 when it could report (it also runs as a slash command).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Context;
use super::progress::ProgressBar;
use crate::event::{Event, EventType, Payload};
use crate::ingest::{self, BackfillOptions};
use crate::privacy::Privacy;
use crate::store::Store;
use crate::transcript::{self, PriceTable};
use crate::uploader::{self, DrainOptions, UploaderLock};
use crate::{examples, time, transport};

pub fn run(
    ctx: &Context,
    session: Option<String>,
    all: bool,
    project: Option<&str>,
    paths: &[PathBuf],
    jobs: Option<usize>,
) -> Result<()> {
    let session = if all { None } else { session.or_else(|| std::env::var("CLAUDE_CODE_SESSION_ID").ok()) };
    let session = session.filter(|s| !s.trim().is_empty());
    let (mut store, _) = Store::open(&ctx.data_dir)?;
    if all {
        import_transcripts(ctx, &mut store, project, paths, jobs);
    }
    if let Some(id) = &session {
        record_manual_sync(&mut store, id)?;
    }
    let scope = match &session {
        Some(id) => format!("session {id}"),
        None => "all sessions".to_string(),
    };
    let Some(mut transport) = transport::from_config(&ctx.config) else {
        let counts = store.outbox_counts(session.as_deref())?;
        println!(
            "No Convex URL configured: nothing sent. {} event(s) of {scope} are kept locally and will be sent once a \
             backend is configured (`claude-code-sync login`).",
            counts.pending + counts.parked
        );
        return Ok(());
    };
    let retried = uploader::retry_rejected(&mut store, session.as_deref())?;
    let Some(lock) = take_over_lock(ctx)? else {
        println!("A background upload is busy and did not make way; try again in a moment.");
        return Ok(());
    };
    let opts = DrainOptions { session: session.clone(), retry: None };
    let report = uploader::drain(&mut store, transport.as_mut(), &opts, &ctx.log())?;
    drop(lock);
    let left = store.outbox_counts(session.as_deref())?;
    let sent = report.recorded + report.duplicates;
    println!(
        "Synced {scope}: {sent} event(s) sent ({} new, {} already there){}.",
        report.recorded,
        report.duplicates,
        if retried > 0 { format!(", {retried} earlier rejection(s) retried") } else { String::new() }
    );
    if left.parked > 0 {
        println!("{} event(s) parked: the backend rejected them (see `claude-code-sync status`).", left.parked);
    }
    if let Some(why) = report.stopped {
        println!(
            "Stopped early: {}. {} event(s) still queued; they are kept and retried.",
            ctx.redactor.redact(&why),
            left.pending
        );
    } else if left.pending == 0 && left.parked == 0 {
        println!("Nothing left to send.");
    }
    Ok(())
}

/// `--all`: imports every transcript (only what is new since the last import) and says so.
/// Transcripts are read on `jobs` threads, one per CPU core (at most four) unless told.
fn import_transcripts(ctx: &Context, store: &mut Store, project: Option<&str>, paths: &[PathBuf], jobs: Option<usize>) {
    let mut roots = if paths.is_empty() {
        let env = std::env::var("CLAUDE_CONFIG_DIR").ok();
        transcript::config_dirs(env.as_deref(), Some(&crate::paths::home_dir()))
    } else {
        paths.to_vec()
    };
    // The examples show a new user what the local store holds; they must never reach a real
    // dashboard, so they are only offered when no backend is configured.
    let mut local_only_examples = false;
    if roots.is_empty() && ctx.config.backend_url().is_none() {
        match examples::install(&ctx.data_dir) {
            Ok(examples) => {
                println!(
                    "No Claude Code history here (CLAUDE_CONFIG_DIR, ~/.claude, ~/.config/claude): importing two \
                     example sessions as project {} (`claude-code-sync forget --project {}` removes them).",
                    examples::PROJECT,
                    examples::PROJECT
                );
                roots.push(examples);
                local_only_examples = true;
            }
            Err(e) => println!("No Claude Code history here, and the examples could not be written: {e}"),
        }
    }
    let (prices, problem) = PriceTable::for_data_dir(&ctx.data_dir);
    if let Some(problem) = problem {
        println!("Price file ignored: {problem}");
    }
    let privacy = Privacy::new(&ctx.config, &ctx.redactor);
    // Past a few readers the one thread that writes the store is the limit, and each reader
    // holds a session's state in memory.
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)));
    let opts = BackfillOptions::new(&roots, project, jobs, time::now_ms());
    let mut bar = ProgressBar::new();
    let report = ingest::backfill(store, &privacy, &prices, &opts, &mut |p| bar.show(p));
    bar.finish();
    if local_only_examples && let Err(e) = store.keep_local_only(examples::PROJECT) {
        println!("Could not keep the example sessions local: {e:#}");
    }
    // The examples' events were recorded, then taken out of the queue just above.
    let fate = if local_only_examples { "recorded locally, never sent" } else { "queued" };
    println!(
        "Imported transcripts: {} session(s) found, {} with new data ({:.1} MB read), {} new event(s) {fate}.",
        report.sessions,
        report.updated,
        report.bytes as f64 / 1e6,
        report.queued
    );
    for failure in &report.failures {
        println!("Could not import {}", ctx.redactor.redact(failure));
    }
}

/// Records that the user asked for a sync, with the session's known metadata.
fn record_manual_sync(store: &mut Store, session_id: &str) -> Result<()> {
    let row = store.session(session_id)?.unwrap_or_default();
    let now = time::now_ms();
    let event = Event {
        event_id: Event::fresh_id(session_id, EventType::ManualSync),
        session_id: session_id.to_string(),
        event_type: EventType::ManualSync,
        timestamp: now,
        payload: Payload {
            project_name: row.project_name,
            working_directory: row.working_directory,
            git_branch: row.git_branch,
            model: row.model,
            ..Payload::default()
        },
    };
    store.record(&event, None, now)?;
    Ok(())
}

/// Takes the uploader lock, asking a background uploader (likely asleep in backoff) to stop:
/// stopping it mid-batch is safe, every event is idempotent.
fn take_over_lock(ctx: &Context) -> Result<Option<UploaderLock>> {
    if let Some(lock) = UploaderLock::try_acquire(&ctx.data_dir)? {
        return Ok(Some(lock));
    }
    if let Some(pid) = UploaderLock::holder_pid(&ctx.data_dir).filter(|&pid| is_our_uploader(pid)) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(lock) = UploaderLock::try_acquire(&ctx.data_dir)? {
            return Ok(Some(lock));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(None)
}

/// The pid runs this very binary (a stale pid file must never make us signal a stranger).
fn is_our_uploader(pid: i32) -> bool {
    let ours = std::env::current_exe().ok();
    pid > 1
        && pid != std::process::id() as i32
        && std::fs::read_link(format!("/proc/{pid}/exe")).ok().is_some_and(|exe| Some(exe) == ours)
}
