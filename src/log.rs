//! The product's log file in the data dir: where hooks report what went wrong, since they
//! must print nothing. Every line is redacted first; the file is rotated by size so it never
//! grows without bound (one previous generation is kept as `.log.1`).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::paths;
use crate::redact::Redactor;
use crate::time;

/// Rotate when the log passes this size.
const MAX_LOG_BYTES: u64 = 1024 * 1024;

pub struct Log<'a> {
    path: PathBuf,
    redactor: &'a Redactor,
}

impl<'a> Log<'a> {
    pub fn new(data_dir: &Path, redactor: &'a Redactor) -> Log<'a> {
        Log { path: paths::log_path(data_dir), redactor }
    }

    pub fn error(&self, message: &str) {
        self.write("ERROR", message);
    }

    pub fn warn(&self, message: &str) {
        self.write("WARN", message);
    }

    pub fn info(&self, message: &str) {
        self.write("INFO", message);
    }

    /// Appends one line. Failures are swallowed: there is nowhere left to report them, and a
    /// hook must never fail because its log could not be written.
    fn write(&self, level: &str, message: &str) {
        let clean = self.redactor.redact(message);
        let one_line = clean.replace(['\n', '\r'], " ⏎ ");
        let line = format!("{} {level} [{}] {one_line}\n", time::iso8601(time::now_ms()), std::process::id());
        if let Some(dir) = self.path.parent() {
            let _ = paths::ensure_private_dir(dir);
        }
        self.rotate_if_large();
        if let Ok(mut file) = paths::open_private_append(&self.path) {
            let _ = file.write_all(line.as_bytes());
        }
    }

    fn rotate_if_large(&self) {
        if std::fs::metadata(&self.path).map(|m| m.len() > MAX_LOG_BYTES).unwrap_or(false) {
            let _ = std::fs::rename(&self.path, self.path.with_extension("log.1"));
        }
    }
}
