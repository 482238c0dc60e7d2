//! Draining the outbox through a transport: batches in order, per-event outcomes written back,
//! passing failures retried with backoff; and the detached uploader's main around it.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::backlog::Backlog;
use super::launch::UploaderLock;
use super::state::{self, META_BLOCKED, META_HOLD_UNTIL, META_LAST_SUCCESS};
use crate::config::Config;
use crate::log::Log;
use crate::store::{OutboxEvent, SessionFacts, Store};
use crate::time;
use crate::transport::{self, EventOutcome, SendError, Transport};

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
        // Read before every send: they include the batch itself and what earlier ones delivered.
        let sessions = if transport.needs_session_facts() { session_facts(store, &batch)? } else { HashMap::new() };
        match transport.send(&batch, &sessions) {
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
                state::note_error(store, &message)?;
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
                state::note_error(store, &message)?;
                log.error(&format!("delivery stopped until the configuration is fixed: {message}"));
                report.stopped = Some(message);
                return Ok(report);
            }
        }
    }
}

/// The facts of each session the batch touches, for a transport that sends whole sessions.
fn session_facts(store: &Store, batch: &[OutboxEvent]) -> Result<HashMap<String, SessionFacts>> {
    let mut sessions = HashMap::new();
    for event in batch {
        if !sessions.contains_key(&event.session_id) {
            sessions.insert(event.session_id.clone(), store.session_facts(&event.session_id)?);
        }
    }
    Ok(sessions)
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
    // and an unreachable one holds each probe until its timeout. Probing before the lock would
    // let every hook of a burst start an uploader that probes at once, none of them holding the
    // lock that tells the next hook one is already running.
    let Some(first_lock) = UploaderLock::try_acquire(data_dir)? else { return Ok(()) };
    let Some(mut transport) = transport::from_config(config) else { return Ok(()) };
    let opts = DrainOptions { session: None, retry: Some(Backoff::from_env()) };
    let backlog = Backlog::new(data_dir, config);
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
        let stopped = loop {
            if state::blocked_reason(&store)?.is_some() {
                return Ok(());
            }
            backlog.catch_up(&mut store, config, log);
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
