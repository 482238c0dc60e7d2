//! Starting delivery from a hook: whether an uploader should start, starting it, and the lock
//! that keeps it to one at a time.
//!
//! This is the part of delivery the hook path runs, so it imports nothing of the network
//! layer: the uploader it starts is a separate process that does the sending.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::state;
use crate::config::Config;
use crate::log::Log;
use crate::store::Store;

/// Hidden subcommand the detached uploader runs as.
pub const DETACHED_SUBCOMMAND: &str = "__upload";

/// Called by every hook after it recorded its event: whether to start the background
/// uploader (`spawn_detached`). Cheap: a few store reads and a lock probe. The hook starts it
/// only after its last write, since a starting uploader soon writes to the store too.
pub fn wanted(data_dir: &Path, store: &mut Store, config: &Config, log: &Log) -> bool {
    if config.backend_url().is_none() || !config.auto_sync.value {
        return false;
    }
    let result = (|| -> Result<bool> {
        state::refresh_on_config_change(store, config)?;
        if state::blocked_reason(store)?.is_some() || state::on_hold(store)? {
            return Ok(false);
        }
        Ok(!UploaderLock::is_held(data_dir))
    })();
    result.unwrap_or_else(|e| {
        log.error(&format!("could not start the background uploader: {e:#}"));
        false
    })
}

/// Starts `claude-code-sync __upload --detach` in the background, without waiting for it.
///
/// The hook only spawns (posix_spawn: no copy of its memory, and it resumes as soon as the
/// child has exec'd, stdio on /dev/null, cwd `/`); the uploader then leaves the hook's
/// process tree itself (`leave_process_tree`). Forking twice here instead would make the hook
/// wait for the intermediate child, that is for two other processes to be scheduled, which on
/// a busy machine costs the hook several times its own run.
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
