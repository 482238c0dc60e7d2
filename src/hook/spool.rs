//! Events kept on disk before the binary was in place.
//!
//! A marketplace install has no binary until the plugin's launcher has fetched it
//! (`plugin/libexec/fetch-binary.sh`). Meanwhile the launcher writes each hook's stdin to
//! `<data dir>/spool/<nanoseconds since the epoch>-<pid>.<hook subcommand>.json` and returns at
//! once. Once the binary runs, every hook first records what is spooled, oldest first, each as
//! the event of the moment it was spooled, so the store holds the session in the order it
//! happened. `replay-spool` does the same from the launcher right after an install, so a session
//! that has already ended is recorded too.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{HookKind, input, log_failure, record};

pub fn spool_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("spool")
}

/// Where spooled events that could not be recorded are set aside: beside the spool, not in it,
/// so an emptied spool can still be removed.
fn failed_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("spool-failed")
}

/// One spooled hook: when it fired, and which hook it was.
#[derive(Debug)]
struct Spooled {
    nanos: u128,
    pid: u64,
    kind: HookKind,
    path: PathBuf,
}

impl Spooled {
    /// `1765000000123456789-4242.post-tool-use.json`; anything else (temp files) is not one.
    fn parse(path: PathBuf) -> Option<Spooled> {
        let name = path.file_name()?.to_str()?.strip_suffix(".json")?;
        let (stamp, hook) = name.split_once('.')?;
        let kind = HookKind::from_name(hook)?;
        let (nanos, pid) = stamp.split_once('-')?;
        Some(Spooled { nanos: nanos.parse().ok()?, pid: pid.parse().ok()?, kind, path })
    }
}

/// Records and removes every spooled event, oldest first. Cheap when there is none: one failed
/// `stat` on the hook path. Returns how many were recorded.
pub fn replay_if_any(data_dir: &Path) -> Result<usize> {
    let dir = spool_dir(data_dir);
    if !dir.is_dir() {
        return Ok(0);
    }
    replay(data_dir, &dir)
}

fn replay(data_dir: &Path, dir: &Path) -> Result<usize> {
    // One replay at a time; a hook that finds one under way waits for it, so its own event
    // lands after the spooled ones.
    let lock =
        crate::paths::open_private_append(&data_dir.join("spool.lock")).context("cannot create the spool lock")?;
    lock.lock().context("cannot lock the spool")?;
    let mut spooled: Vec<Spooled> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| Spooled::parse(entry.ok()?.path()))
        .collect();
    spooled.sort_by_key(|s| (s.nanos, s.pid));
    let mut recorded = 0;
    for item in &spooled {
        let kind = item.kind;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let file = File::open(&item.path).with_context(|| format!("cannot open {}", item.path.display()))?;
            let raw = input::read_capped(file, input::MAX_INPUT_BYTES)
                .with_context(|| format!("cannot read {}", item.path.display()))?;
            let millis = (item.nanos / 1_000_000) as i64;
            record(kind, &raw, data_dir, millis, None, None)
        }));
        let ok = matches!(outcome, Ok(Ok(())));
        log_failure(kind, data_dir, outcome);
        // A spooled event that cannot be recorded is logged and set aside, never retried in a
        // loop on every hook; one that was recorded is gone.
        if ok {
            fs::remove_file(&item.path).ok();
            recorded += 1;
        } else {
            let failed = failed_dir(data_dir);
            let _ = crate::paths::ensure_private_dir(&failed);
            let _ = fs::rename(&item.path, failed.join(item.path.file_name().unwrap_or_default()));
        }
    }
    // Gone once empty, so later hooks pay a single failed stat. A launcher spooling this very
    // moment re-creates it (it retries its write once).
    let _ = fs::remove_dir(dir);
    Ok(recorded)
}

/// Spooled events not yet recorded, for `status`.
pub fn pending(data_dir: &Path) -> usize {
    fs::read_dir(spool_dir(data_dir))
        .map(|entries| entries.filter_map(|e| Spooled::parse(e.ok()?.path())).count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_names_parse_and_sort_by_time_then_pid() {
        let parse = |n: &str| Spooled::parse(PathBuf::from(n));
        let a = parse("1765000000000000001-9.session-start.json").unwrap();
        let b = parse("1765000000000000001-10.prompt-submit.json").unwrap();
        let c = parse("1765000000000000002-1.stop.json").unwrap();
        assert_eq!((a.nanos, a.pid, a.kind), (1765000000000000001, 9, HookKind::SessionStart));
        let mut all = [c, b, a];
        all.sort_by_key(|s| (s.nanos, s.pid));
        assert_eq!(all.iter().map(|s| s.kind.name()).collect::<Vec<_>>(), ["session-start", "prompt-submit", "stop"]);
        assert!(parse(".1765000000000000001-9.stop.json.tmp").is_none());
        assert!(parse("1765000000000000001-9.not-a-hook.json").is_none());
        assert!(parse("failed").is_none());
    }
}
