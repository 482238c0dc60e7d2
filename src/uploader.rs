//! Background delivery of the outbox.
//!
//! A hook never touches the network: when no uploader runs, it starts one, a detached process
//! (spawned, then fork and setsid by itself, stdio on /dev/null, so Claude Code neither waits
//! for it nor kills it with the hook's process tree) that drains the outbox in order, in
//! batches, and exits when it is empty. One
//! instance at a time (an exclusive lock on `uploader.lock`). Passing failures are retried with
//! exponential backoff and jitter; rejections are parked with their reason and retried only when
//! the configuration changes or the user runs `sync-now` or `login`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::ingest;
use crate::log::Log;
use crate::privacy::Privacy;
use crate::redact::Redactor;
use crate::store::Store;
use crate::time;
use crate::transcript::PriceTable;
use crate::transport::{self, EventOutcome, SendError, Transport};

/// Hidden subcommand the detached uploader runs as.
pub const DETACHED_SUBCOMMAND: &str = "__upload";

/// Meta keys in the store.
const META_FINGERPRINT: &str = "delivery_fingerprint";
const META_HOLD_UNTIL: &str = "hold_until";
const META_BLOCKED: &str = "blocked";
pub const META_LAST_SUCCESS: &str = "last_success_at";
pub const META_LAST_ERROR: &str = "last_error";
pub const META_LAST_ERROR_AT: &str = "last_error_at";

/// Backoff settings; the env overrides exist for the fault-injection tests.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// The background uploader gives up (and leaves a hold for the next hook) after waiting this
    /// long in total.
    pub max_total_wait: Duration,
}

impl Backoff {
    pub fn from_env() -> Backoff {
        Backoff {
            base: transport::env_ms("CLAUDE_SYNC_RETRY_BASE_MS").unwrap_or(Duration::from_secs(1)),
            max: transport::env_ms("CLAUDE_SYNC_RETRY_MAX_MS").unwrap_or(Duration::from_secs(60)),
            max_total_wait: transport::env_ms("CLAUDE_SYNC_RETRY_TOTAL_MS").unwrap_or(Duration::from_secs(600)),
        }
    }

    /// Delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter"
    /// (half fixed, half random) so several uploaders never retry in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(20)).min(self.max);
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Called by every hook after it recorded its event: whether to start the background
/// uploader (`spawn_detached`). Cheap: a few store reads and a lock probe. The hook starts it
/// only after its last write, since a starting uploader soon writes to the store too.
pub fn wanted(data_dir: &Path, store: &mut Store, config: &Config, log: &Log) -> bool {
    if config.backend_url().is_none() || !config.auto_sync.value {
        return false;
    }
    let result = (|| -> Result<bool> {
        refresh_on_config_change(store, config)?;
        if store.meta_get(META_BLOCKED)?.is_some() {
            return Ok(false);
        }
        let hold_until: i64 = store.meta_get(META_HOLD_UNTIL)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        if time::now_ms() < hold_until {
            return Ok(false);
        }
        Ok(!UploaderLock::is_held(data_dir))
    })();
    result.unwrap_or_else(|e| {
        log.error(&format!("could not start the background uploader: {e:#}"));
        false
    })
}

/// When the URL or key changed since the last delivery attempt, rejected events get another
/// chance: the change may be the fix.
pub fn refresh_on_config_change(store: &mut Store, config: &Config) -> Result<()> {
    let fingerprint = config.delivery_fingerprint();
    if store.meta_get(META_FINGERPRINT)?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    retry_rejected(store, None)?;
    store.meta_set(META_FINGERPRINT, &fingerprint)
}

/// Puts parked events back in the queue and lifts every hold (`sync-now`, `login`, a config
/// change): the fix may have been made on either side.
pub fn retry_rejected(store: &mut Store, session: Option<&str>) -> Result<usize> {
    store.meta_delete(META_BLOCKED)?;
    store.meta_delete(META_HOLD_UNTIL)?;
    store.unpark(session)
}

/// Why delivery is stopped until something changes, if it is.
pub fn blocked_reason(store: &Store) -> Result<Option<String>> {
    store.meta_get(META_BLOCKED)
}

/// Starts `claude-code-sync __upload --detach` in the background, without waiting for it.
///
/// The hook only spawns (posix_spawn: no copy of its memory, and it resumes as soon as the
/// child has exec'd, stdio on /dev/null, cwd `/`); the uploader then leaves the hook's
/// process tree itself (`leave_process_tree`). The hook used to double-fork and wait for the
/// intermediate child: on a busy machine that wait for two other processes to be scheduled
/// cost the hook ~10 ms (self-measured median 12.7 ms vs 2.2 ms for a hook that starts none).
pub fn spawn_detached() -> Result<()> {
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().context("cannot find the running binary")?;
    // The Child is dropped, not waited for: it is reaped by init once this process exits.
    Command::new(exe)
        .args([DETACHED_SUBCOMMAND, "--detach"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        .spawn()
        .context("cannot start the background uploader")?;
    Ok(())
}

/// The uploader's first step when a hook started it: fork, let the parent exit, and start a
/// new session in the child, so it is no longer in the hook's process tree (Claude Code kills
/// a timed-out hook's whole tree, setsid children included; an orphan survives). Called while
/// the process is still single-threaded. If fork fails the uploader runs where it is.
pub fn leave_process_tree() {
    use nix::unistd::{ForkResult, fork, setsid};
    // SAFETY: no other thread exists yet (nothing has been spawned); the parent only _exits.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => unsafe { nix::libc::_exit(0) },
        Ok(ForkResult::Child) => {
            let _ = setsid();
        }
        Err(_) => {}
    }
}

/// The single-instance lock. Held for the uploader's whole life; the file names its pid so
/// `sync-now` can ask a sleeping background uploader to make way.
pub struct UploaderLock {
    _file: File,
}

impl UploaderLock {
    pub fn try_acquire(data_dir: &Path) -> Result<Option<UploaderLock>> {
        let path = crate::paths::uploader_lock_path(data_dir);
        let mut file = crate::paths::open_private_append(&path)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                let _ = write!(file, "{}", std::process::id());
                Ok(Some(UploaderLock { _file: file }))
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    pub fn is_held(data_dir: &Path) -> bool {
        let path = crate::paths::uploader_lock_path(data_dir);
        let Ok(file) = File::open(&path) else { return false };
        match file.try_lock_shared() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => false,
        }
    }

    /// The pid written by the current holder, if any.
    pub fn holder_pid(data_dir: &Path) -> Option<i32> {
        std::fs::read_to_string(crate::paths::uploader_lock_path(data_dir)).ok()?.trim().parse().ok()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub recorded: u64,
    pub duplicates: u64,
    pub parked: u64,
    /// Why the drain stopped before the outbox was empty, if it did.
    pub stopped: Option<String>,
}

pub struct DrainOptions {
    pub session: Option<String>,
    /// Wait and retry on passing failures (background), or stop at the first one (foreground).
    pub retry: Option<Backoff>,
}

/// Sends pending events until none is left, delivery is blocked, or retries are exhausted.
pub fn drain(store: &mut Store, transport: &mut dyn Transport, opts: &DrainOptions, log: &Log) -> Result<DrainReport> {
    let mut report = DrainReport::default();
    let mut failures: u32 = 0;
    let mut waited = Duration::ZERO;
    loop {
        let mut batch = store.pending(transport.max_batch(), opts.session.as_deref())?;
        let mut bytes = 0;
        let fits = batch
            .iter()
            .take_while(|e| {
                bytes += e.payload.len();
                bytes <= transport.max_batch_bytes()
            })
            .count();
        batch.truncate(fits.max(1));
        if batch.is_empty() {
            return Ok(report);
        }
        let seqs: Vec<i64> = batch.iter().map(|e| e.seq).collect();
        match transport.send(&batch) {
            Ok(outcomes) => {
                failures = 0;
                let mut delivered = Vec::new();
                for (event, outcome) in batch.iter().zip(&outcomes) {
                    match outcome {
                        EventOutcome::Recorded => {
                            report.recorded += 1;
                            delivered.push(event.seq);
                        }
                        EventOutcome::Duplicate => {
                            report.duplicates += 1;
                            delivered.push(event.seq);
                        }
                        EventOutcome::Rejected(reason) => {
                            report.parked += 1;
                            log.warn(&format!("event {} rejected by the backend, parked: {reason}", event.event_id));
                            store.park(&[event.seq], &format!("rejected: {reason}"))?;
                        }
                    }
                }
                let now = time::now_ms();
                store.mark_delivered(&delivered, now)?;
                store.meta_set(META_LAST_SUCCESS, &now.to_string())?;
            }
            Err(SendError::Transient { message, retry_after }) => {
                store.note_attempt_failed(&seqs, &message)?;
                note_error(store, &message)?;
                let Some(backoff) = opts.retry else {
                    report.stopped = Some(message);
                    return Ok(report);
                };
                let delay = retry_after.map(|d| d.min(backoff.max * 5)).unwrap_or_else(|| backoff.delay(failures));
                failures += 1;
                if waited + delay > backoff.max_total_wait {
                    let until = time::now_ms() + delay.as_millis() as i64;
                    store.meta_set(META_HOLD_UNTIL, &until.to_string())?;
                    log.warn(&format!(
                        "backend unreachable, giving up for now and retrying after {}s: {message}",
                        delay.as_secs()
                    ));
                    report.stopped = Some(message);
                    return Ok(report);
                }
                std::thread::sleep(delay);
                waited += delay;
            }
            Err(SendError::Unauthorized(message) | SendError::Misconfigured(message)) => {
                store.park(&seqs, &message)?;
                report.parked += seqs.len() as u64;
                store.meta_set(META_BLOCKED, &message)?;
                note_error(store, &message)?;
                log.error(&format!("delivery stopped until the configuration is fixed: {message}"));
                report.stopped = Some(message);
                return Ok(report);
            }
        }
    }
}

fn note_error(store: &Store, message: &str) -> Result<()> {
    store.meta_set(META_LAST_ERROR, message)?;
    store.meta_set(META_LAST_ERROR_AT, &time::now_ms().to_string())
}

/// How long an uploader that emptied the outbox stays for more. A turn fires its hooks in a
/// burst (10–20 of them); while the lock is held a hook spawns nothing, so one uploader serves
/// the whole burst instead of one process start, store open and connection per hook, all
/// competing with the next hook for the CPU.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_POLL: Duration = Duration::from_millis(100);

/// The detached uploader's main: take the lock, drain, linger for more, release, and look once
/// more so an event recorded while the lock was being released is not left waiting.
pub fn run_detached(data_dir: &Path, config: &Config, log: &Log) -> Result<()> {
    // The lock comes first: building the transport may probe the deployment (`protocol: auto`),
    // and an unreachable one holds each probe until its timeout. Probing before the lock let
    // every hook of a burst start an uploader that probed at once, none of them holding the
    // lock that tells the next hook one is already running.
    let Some(first_lock) = UploaderLock::try_acquire(data_dir)? else { return Ok(()) };
    let Some(mut transport) = transport::from_config(config) else { return Ok(()) };
    let opts = DrainOptions { session: None, retry: Some(Backoff::from_env()) };
    let mut held = Some(first_lock);
    loop {
        let lock = match held.take() {
            Some(lock) => lock,
            None => match UploaderLock::try_acquire(data_dir)? {
                Some(lock) => lock,
                None => return Ok(()),
            },
        };
        let (mut store, _) = Store::open(data_dir)?;
        // Transcripts a hook could only read in part are finished here, off the hook's clock.
        let (redactor, _) = Redactor::new(&config.redact_patterns, &config.redact_allowlist);
        let (prices, _) = PriceTable::for_data_dir(data_dir);
        let stopped = loop {
            if store.meta_get(META_BLOCKED)?.is_some() {
                return Ok(());
            }
            if let Err(e) =
                ingest::catch_up_backlog(&mut store, &Privacy::new(config, &redactor), &prices, time::now_ms())
            {
                log.warn(&format!("transcript backlog: {e:#}"));
            }
            let report = drain(&mut store, transport.as_mut(), &opts, log)?;
            if report.stopped.is_some() || !wait_for_pending(&store, LINGER)? {
                break report.stopped.is_some();
            }
        };
        // Housekeeping belongs here, off the hook path.
        store.prune(config.retention_days.value as u64, time::now_ms())?;
        drop(lock);
        if stopped || !store.has_pending()? {
            return Ok(());
        }
    }
}

/// Polls the store (a cheap indexed read) until an event is pending or `patience` has passed.
fn wait_for_pending(store: &Store, patience: Duration) -> Result<bool> {
    let deadline = std::time::Instant::now() + patience;
    while std::time::Instant::now() < deadline {
        if store.has_pending()? {
            return Ok(true);
        }
        std::thread::sleep(LINGER_POLL);
    }
    store.has_pending()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_within_bounds() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            max_total_wait: Duration::ZERO,
        };
        for attempt in 0..12 {
            let full = Duration::from_millis(100 * (1u64 << attempt)).min(Duration::from_millis(1000));
            for _ in 0..50 {
                let d = b.delay(attempt);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?} outside [{:?}, {full:?}]", full / 2);
            }
        }
        let distinct: std::collections::HashSet<_> = (0..20).map(|_| b.delay(5)).collect();
        assert!(distinct.len() > 1, "jitter must vary the delay");
    }
}
