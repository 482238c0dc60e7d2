//! `claude-code-sync redact [FILE] [--explain]`: the engine from the outside.
//!
//! Users test their `redact_patterns` and `redact_allowlist` with it, and the test suite and the
//! benchmark check the engine through it. Output is byte for byte the input wherever nothing
//! matched, invalid UTF-8 included (such bytes pass through untouched).

use std::ffi::c_void;
use std::fs::File;
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::ptr::NonNull;

use anyhow::Context as _;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};

use super::{Context, Run};
use crate::cli::Redact;
use crate::redact::{Finding, Redactor};

/// Reads `file` (stdin when `None`) and writes it redacted to stdout, or with `explain` lists
/// what was found (line, column, kind, the rule that fired, length) without printing any secret.
impl Run for Redact {
    fn run(self, ctx: &Context) -> anyhow::Result<()> {
        match write_out(self.file.as_deref(), self.explain, &ctx.redactor) {
            // `claude-code-sync redact big.log | head` is not an error.
            Err(e)
                if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
            {
                Ok(())
            }
            other => other,
        }
    }
}

fn write_out(file: Option<&Path>, explain: bool, redactor: &Redactor) -> anyhow::Result<()> {
    let mapped;
    let mut read = Vec::new();
    let input: &[u8] = match file {
        Some(p) => {
            let cannot_read = || format!("cannot read {}", p.display());
            let f = File::open(p).with_context(cannot_read)?;
            match Mapped::new(&f) {
                Some(m) => {
                    mapped = m;
                    &mapped
                }
                None => {
                    (&f).read_to_end(&mut read).with_context(cannot_read)?;
                    &read
                }
            }
        }
        None => {
            std::io::stdin().lock().read_to_end(&mut read).context("cannot read stdin")?;
            &read
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if explain {
        let found = explain_findings(input, redactor);
        for f in &found {
            writeln!(out, "{}:{}\t{}\trule {}\tlength {}", f.line, f.column, f.kind, f.rule, f.len)?;
        }
        writeln!(out, "{} secret(s) found", found.len())?;
    } else {
        redact_bytes(input, redactor, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// A regular file mapped into memory, read-only. Reading a large file into a buffer costs a
/// page fault per 4 KiB of fresh memory and a copy of every byte, a large share of the
/// command's time on a big file (BENCHMARKS.md); the mapping shares the page cache's pages.
///
/// Like every reader of mapped files (ripgrep's default), it trusts the file not to change
/// while the command runs: a file truncated meanwhile ends the process with SIGBUS, and bytes
/// changed meanwhile are undefined behaviour in Rust's terms (in practice, a redaction of a
/// mix of old and new text). The command redacts files users hand it, not files in use.
struct Mapped {
    ptr: NonNull<c_void>,
    len: NonZeroUsize,
}

impl Mapped {
    /// `None` for what cannot be mapped (pipes, devices, empty files): those are read.
    fn new(f: &File) -> Option<Mapped> {
        let meta = f.metadata().ok()?;
        let len = NonZeroUsize::new(usize::try_from(meta.len()).ok()?)?;
        if !meta.is_file() {
            return None;
        }
        // SAFETY: a fresh private read-only mapping of a whole regular file, unmapped only on
        // drop; its bytes are only read through `Deref`, for as long as `self` lives.
        let ptr = unsafe { mmap(None, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE, f, 0) };
        Some(Mapped { ptr: ptr.ok()?, len })
    }
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until drop (see `new` on changes to the file).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>(), self.len.get()) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, no longer borrowed once `self` is dropped.
        let _ = unsafe { munmap(self.ptr, self.len.get()) };
    }
}

/// Redacts each valid UTF-8 run of `input`; bytes that are not UTF-8 are copied as they are.
pub fn redact_bytes(input: &[u8], redactor: &Redactor, out: &mut impl Write) -> std::io::Result<()> {
    if let Ok(text) = std::str::from_utf8(input) {
        // The common case, and std's validation is faster than walking chunks.
        return out.write_all(redactor.redact(text).as_bytes());
    }
    for chunk in input.utf8_chunks() {
        out.write_all(redactor.redact(chunk.valid()).as_bytes())?;
        out.write_all(chunk.invalid())?;
    }
    Ok(())
}

/// A finding located for people: 1-based line, 1-based column in characters, length in bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Located {
    pub kind: String,
    pub rule: String,
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

pub fn explain_findings(input: &[u8], redactor: &Redactor) -> Vec<Located> {
    let mut out = Vec::new();
    let mut offset = 0;
    for chunk in input.utf8_chunks() {
        let text = chunk.valid();
        for Finding { kind, rule, start, len } in redactor.findings(text) {
            let abs = offset + start;
            let before = &input[..abs];
            let line = before.iter().filter(|c| **c == b'\n').count() + 1;
            let line_start = before.iter().rposition(|c| *c == b'\n').map_or(0, |p| p + 1);
            let column = String::from_utf8_lossy(&input[line_start..abs]).chars().count() + 1;
            out.push(Located { kind, rule, line, column, len });
        }
        offset += text.len() + chunk.invalid().len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_passes_through_and_secrets_around_it_are_redacted() {
        let (r, _) = Redactor::new(&[], &[]);
        let tok = "ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi";
        let input = [b"\xff\xfe token ".as_slice(), tok.as_bytes(), b" \xc3"].concat();
        let mut out = Vec::new();
        redact_bytes(&input, &r, &mut out).unwrap();
        assert_eq!(out, b"\xff\xfe token [REDACTED:github-pat] \xc3");
    }

    #[test]
    fn explain_reports_line_column_and_length() {
        let (r, _) = Redactor::new(&[], &[]);
        let text = "first line\n  é GH=ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi\n";
        let found = explain_findings(text.as_bytes(), &r);
        assert_eq!(
            found,
            vec![Located { kind: "github-pat".into(), rule: "github-pat".into(), line: 2, column: 8, len: 40 }]
        );
    }
}
