//! Where the product keeps its files, and how they are created.
//!
//! Everything lives in one data directory that both the hooks and a terminal user find:
//! `$CLAUDE_SYNC_DATA_DIR`, else the XDG data dir (`~/.local/share/claude-code-sync`).
//! Not `CLAUDE_PLUGIN_DATA`: it differs between `--plugin-dir` and marketplace installs and
//! is unknown to a shell, so `status` run by hand would see another store.
//! Directories are created 0700 and files 0600: the store holds prompts and the config holds a key.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const DATA_DIR_ENV: &str = "CLAUDE_SYNC_DATA_DIR";

/// The data directory (not created here).
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::data_dir().unwrap_or_else(|| home_dir().join(".local/share")).join("claude-code-sync")
}

/// `$HOME`, falling back to `/` so a broken environment still yields a path (never a panic).
pub fn home_dir() -> PathBuf {
    dirs::home_dir().unwrap_or_else(|| PathBuf::from("/"))
}

pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("store.db")
}

pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("claude-code-sync.log")
}

pub fn uploader_lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("uploader.lock")
}

/// Creates `dir` (and parents) with mode 0700, and tightens it if it already exists with
/// looser bits.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens `path` for appending, creating it 0600.
pub fn open_private_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

/// Writes `contents` to `path` atomically (temp file + rename) with mode 0600, so a reader
/// never sees half a config and the key is never world-readable, not even for a moment.
pub fn write_private_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_dir_exists(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

/// Like `create_dir_all`, without changing the mode of directories the user owns (e.g. `$HOME`).
fn ensure_dir_exists(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dir_and_files_get_tight_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);

        let log = dir.join("x.log");
        open_private_append(&log).unwrap();
        assert_eq!(fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);

        let cfg = tmp.path().join("cfg.json");
        write_private_atomic(&cfg, b"{}").unwrap();
        assert_eq!(fs::metadata(&cfg).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&cfg).unwrap(), b"{}");
    }
}
