//! The "Binary" part of `status`: where this binary runs from, what the plugin's launcher did
//! when it last fetched one (`plugin/libexec/fetch-binary.sh` writes `binary-install.state` in
//! the data dir), hook events still waiting in the spool, and how to run the CLI from a shell.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::hook::spool;

/// The launcher's last word, `key=value` lines.
struct InstallState {
    state: String,
    detail: String,
    at: Option<i64>,
}

fn read_state(data_dir: &Path) -> Option<InstallState> {
    let text = std::fs::read_to_string(data_dir.join("binary-install.state")).ok()?;
    let get = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('='))).unwrap_or("").to_string()
    };
    Some(InstallState { state: get("state"), detail: get("detail"), at: get("at").parse().ok() })
}

/// A `current` link beside a downloaded binary's version folder: a stable path across updates.
fn stable_path(exe: &Path) -> Option<PathBuf> {
    let version_dir = exe.parent()?;
    let current = version_dir.parent()?.join("current").join(exe.file_name()?);
    current.exists().then_some(current)
}

pub fn write(out: &mut String, data_dir: &Path) {
    let _ = writeln!(out, "Binary");
    let exe = std::env::current_exe().ok();
    if let Some(exe) = &exe {
        let _ = writeln!(out, "  running            {}", exe.display());
    }
    if let Some(s) = read_state(data_dir) {
        let when = s.at.map(|at| crate::time::iso8601(at * 1000)).unwrap_or_default();
        let advice = match s.state.as_str() {
            "installed" => "",
            "offline" => " — hooks keep their events on disk; the next hook retries the download",
            "mismatch" => {
                " — the download did not match SHA256SUMS and was deleted, never run; check \
                 CLAUDE_SYNC_DOWNLOAD_URL or the mirror, or build from source"
            }
            "unsupported" => " — build from source (cargo build --release) or put claude-code-sync on PATH",
            _ => " — see the log",
        };
        let _ = writeln!(out, "  last install       {} at {when}: {}{advice}", s.state, s.detail);
    }
    let pending = spool::pending(data_dir);
    if pending > 0 {
        let _ = writeln!(
            out,
            "  PENDING: {pending} hook event(s) kept on disk until the binary is installed; they are recorded, \
             in order, by the next hook once it is"
        );
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("claude-code-sync").is_file()));
    if !on_path && let Some(exe) = &exe {
        let target = stable_path(exe).unwrap_or_else(|| exe.clone());
        let _ = writeln!(
            out,
            "  To run it from your own shell: ln -sf '{}' ~/.local/bin/claude-code-sync",
            target.display()
        );
    }
    let _ = writeln!(out);
}
