//! Incremental, streaming reading of a JSONL file from a saved cursor.
//!
//! Claude Code appends to a transcript while the session runs, and a hook fires after every
//! turn: re-reading the whole file each time is quadratic over a session. The cursor remembers
//! how many bytes of complete lines were consumed, plus enough of the file's identity (device,
//! inode, a hash of its first bytes) to notice a file that was replaced, truncated or rewritten;
//! such a file is read again from the start, which is safe because the accounting deduplicates
//! on message ids. A last line without its newline is still being written: it is left for the
//! next read. Memory stays bounded by the longest line, never the file size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// How many leading bytes identify a file's content.
const HEAD_LEN: u64 = 4096;
/// Lines longer than this are skipped (and counted): a pathological line must not take the
/// host's memory. Real lines with large tool inputs stay far below it.
pub const MAX_LINE: usize = 64 << 20;
/// Lines shorter than the buffer are handed over where they lie; one that straddles a refill is
/// copied. Tool output makes lines of tens of kilobytes: a buffer of 256 KiB copies few.
const READ_BUF: usize = 256 << 10;

/// Where reading of one file stopped. Persist it between reads.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FileCursor {
    /// Bytes of complete lines consumed so far.
    pub offset: u64,
    /// Identity of the file those bytes came from; `None` before the first read.
    pub identity: Option<FileIdentity>,
}

/// What makes "the same file": same inode on the same device, same first bytes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    /// How many leading bytes `head_hash` covers (grows up to 4 KiB as the file grows).
    pub head_len: u64,
    /// FNV-1a 64 of those bytes (stable across builds, unlike std's hasher).
    pub head_hash: u64,
}

/// Why a read started over from the beginning of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Another file now has this path (new inode).
    Replaced,
    /// The file is shorter than what was already read.
    Shrunk,
    /// The first bytes changed in place.
    Rewritten,
}

/// What one read did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReadReport {
    pub restarted: Option<Restart>,
    /// Complete lines handed to the callback (empty lines excluded).
    pub lines: u64,
    /// Bytes consumed by this read (the cursor advanced by this much, after any restart).
    pub bytes: u64,
    /// Lines longer than [`MAX_LINE`], skipped.
    pub oversized_lines: u64,
    /// Bytes of a last line still being written, left for the next read.
    pub pending_bytes: u64,
    /// False when `max_bytes` stopped the read before the end of the file.
    pub complete: bool,
}

/// Reads the complete lines after `cursor`, calls `on_line` with each (without its `\n`;
/// a `\r` is the caller's to strip) and its byte offset, and advances the cursor.
///
/// `max_bytes` bounds the work of one call (a hook with a time budget reads a slice and leaves
/// the rest to a later read); the read still ends on a line boundary.
pub fn read_new(
    path: &Path,
    cursor: &mut FileCursor,
    max_bytes: Option<u64>,
    mut on_line: impl FnMut(&[u8], u64),
) -> io::Result<ReadReport> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        // A device (/dev/zero), FIFO or directory never ends or never reads: not a transcript.
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    let (dev, ino) = dev_ino(&meta);
    let len = meta.len();
    let mut report = ReadReport::default();

    let head_len = len.min(HEAD_LEN);
    let head_hash = hash_prefix(&mut file, head_len)?;
    if let Some(id) = &cursor.identity {
        let restart = if id.dev != dev || id.ino != ino {
            Some(Restart::Replaced)
        } else if len < cursor.offset {
            Some(Restart::Shrunk)
        } else if id.head_len > head_len || prefix_hash(&mut file, id.head_len, head_len, head_hash)? != id.head_hash {
            Some(Restart::Rewritten)
        } else {
            None
        };
        if restart.is_some() {
            cursor.offset = 0;
            report.restarted = restart;
        }
    } else if cursor.offset > len {
        cursor.offset = 0;
        report.restarted = Some(Restart::Shrunk);
    }
    cursor.identity = Some(FileIdentity { dev, ino, head_len, head_hash });

    file.seek(SeekFrom::Start(cursor.offset))?;
    // Up to the length seen at open: what is appended meanwhile is the next read's.
    // No larger than what there is to read: a hook reading a few new lines allocates little.
    let buffer = (len - cursor.offset).clamp(8 << 10, READ_BUF as u64) as usize;
    let mut reader = BufReader::with_capacity(buffer, file.take(len - cursor.offset));
    // Holds a line only when it spans buffer refills; lines inside one buffer are not copied.
    let mut partial: Vec<u8> = Vec::new();
    let mut partial_len: u64 = 0; // bytes of the current line seen so far (even if skipped)
    let mut oversized = false;
    report.complete = true;
    loop {
        if let Some(limit) = max_bytes
            && partial_len == 0
            && report.bytes >= limit
        {
            report.complete = false;
            break;
        }
        let available = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            report.pending_bytes = partial_len;
            break;
        }
        match memchr::memchr(b'\n', available) {
            Some(i) => {
                let line_start = cursor.offset + report.bytes;
                if oversized {
                    report.oversized_lines += 1;
                } else if partial_len == 0 {
                    if !available[..i].is_empty() {
                        report.lines += 1;
                        on_line(&available[..i], line_start);
                    }
                } else if partial.len() + i > MAX_LINE {
                    report.oversized_lines += 1;
                } else {
                    partial.extend_from_slice(&available[..i]);
                    report.lines += 1;
                    on_line(&partial, line_start);
                }
                report.bytes += partial_len + i as u64 + 1;
                reader.consume(i + 1);
                partial_len = 0;
                oversized = false;
                partial.clear();
                if partial.capacity() > 1 << 20 {
                    partial = Vec::new();
                }
            }
            None => {
                let n = available.len();
                if !oversized {
                    if partial.len() + n > MAX_LINE {
                        oversized = true;
                        partial = Vec::new();
                    } else {
                        partial.extend_from_slice(available);
                    }
                }
                partial_len += n as u64;
                reader.consume(n);
            }
        }
    }
    cursor.offset += report.bytes;
    Ok(report)
}

#[cfg(unix)]
pub(crate) fn dev_ino(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
pub(crate) fn dev_ino(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Hash of the first `len` bytes of the file.
fn hash_prefix(file: &mut File, len: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; len as usize];
    file.read_exact(&mut buf)?;
    Ok(fnv(FNV_OFFSET, &buf))
}

/// Hash of the first `len` bytes, reusing `full_hash` (of `full_len` bytes) when they match.
fn prefix_hash(file: &mut File, len: u64, full_len: u64, full_hash: u64) -> io::Result<u64> {
    if len == full_len { Ok(full_hash) } else { hash_prefix(file, len) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(path: &Path, cursor: &mut FileCursor, max: Option<u64>) -> (Vec<String>, ReadReport) {
        let mut lines = Vec::new();
        let report = read_new(path, cursor, max, |l, _| lines.push(String::from_utf8_lossy(l).into_owned())).unwrap();
        (lines, report)
    }

    #[test]
    fn half_written_last_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":").unwrap();
        let mut cursor = FileCursor::default();
        let (lines, report) = collect(&path, &mut cursor, None);
        assert_eq!(lines, vec!["{\"a\":1}"]);
        assert_eq!(report.pending_bytes, 5);
        assert_eq!(cursor.offset, 8);

        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"2}\n").unwrap();
        let (lines, report) = collect(&path, &mut cursor, None);
        assert_eq!(lines, vec!["{\"b\":2}"]);
        assert_eq!(report.restarted, None);
        assert_eq!(cursor.offset, 16);
    }

    #[test]
    fn shrunk_replaced_and_rewritten_files_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let mut cursor = FileCursor::default();
        collect(&path, &mut cursor, None);

        // Truncated and rewritten shorter, same inode.
        std::fs::OpenOptions::new().write(true).truncate(true).open(&path).unwrap().write_all(b"x\n").unwrap();
        let (lines, report) = collect(&path, &mut cursor, None);
        assert_eq!(report.restarted, Some(Restart::Shrunk));
        assert_eq!(lines, vec!["x"]);

        // Same length prefix rewritten in place, then grown.
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all(b"y\nmore\n").unwrap();
        let (lines, report) = collect(&path, &mut cursor, None);
        assert_eq!(report.restarted, Some(Restart::Rewritten));
        assert_eq!(lines, vec!["y", "more"]);

        // Replaced by another file (new inode) that happens to be longer.
        let other = dir.path().join("new.jsonl");
        std::fs::write(&other, "a\nb\nc\nd\n").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let (lines, report) = collect(&path, &mut cursor, None);
        assert_eq!(report.restarted, Some(Restart::Replaced));
        assert_eq!(lines, vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn devices_and_directories_are_refused_not_read_forever() {
        let mut cursor = FileCursor::default();
        for path in ["/dev/zero", "/tmp"] {
            let err = read_new(Path::new(path), &mut cursor, None, |_, _| panic!("no line from {path}")).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{path}");
        }
    }

    #[test]
    fn max_bytes_stops_on_a_line_boundary_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "aaaa\nbbbb\ncccc\n").unwrap();
        let mut cursor = FileCursor::default();
        let (lines, report) = collect(&path, &mut cursor, Some(6));
        assert_eq!(lines, vec!["aaaa", "bbbb"]);
        assert!(!report.complete);
        let (lines, report) = collect(&path, &mut cursor, Some(6));
        assert_eq!(lines, vec!["cccc"]);
        assert!(report.complete);
    }

    #[test]
    fn lines_spanning_buffer_refills_arrive_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let long = "x".repeat(READ_BUF * 3 + 17);
        std::fs::write(&path, format!("{long}\nshort\n\n{long}\n")).unwrap();
        let mut cursor = FileCursor::default();
        let (lines, report) = collect(&path, &mut cursor, None);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], long);
        assert_eq!(lines[1], "short");
        assert_eq!(lines[2], long);
        assert_eq!(report.bytes, std::fs::metadata(&path).unwrap().len());
    }
}
