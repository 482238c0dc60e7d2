//! Catching up on a session: read every file of the session from its saved cursor, feed the
//! tally, and hand out the new conversation items. The state is one serde value for the store.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::conversation::{self, ConversationItem, ConversationOptions, Privacy};
use super::discover::SessionFiles;
use super::line;
use super::reader::{self, FileCursor, Restart};
use super::tally::{FileRole, SessionTally};

/// Everything to persist between two catch-ups of one session.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SessionState {
    /// Cursor per file, keyed by path.
    pub cursors: BTreeMap<String, FileCursor>,
    pub tally: SessionTally,
}

/// How much to do in one catch-up.
#[derive(Clone, Copy, Default)]
pub struct CatchUpOptions<'a> {
    /// Conversation items are produced only with a privacy filter.
    pub privacy: Option<&'a dyn Privacy>,
    pub conversation: ConversationOptions,
    /// Bytes to read at most over all files (a hook's time budget); the rest waits.
    pub max_bytes: Option<u64>,
}

/// What one catch-up did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CatchUpReport {
    pub bytes: u64,
    pub lines: u64,
    /// Files that were read again from the start (replaced, shrunk, rewritten).
    pub restarted: Vec<(String, Restart)>,
    /// Files that could not be read (path, error); the others were.
    pub errors: Vec<(String, String)>,
    /// False when `max_bytes` left unread bytes.
    pub complete: bool,
}

/// Reads what is new in `files` since `state`, updates the tally, and calls `on_item` with each
/// new conversation item. Safe to call any number of times with any budget: the result after
/// the last call is the same as one full read.
pub fn catch_up(
    state: &mut SessionState,
    files: &SessionFiles,
    opts: &CatchUpOptions<'_>,
    mut on_item: impl FnMut(ConversationItem),
) -> CatchUpReport {
    let mut report = CatchUpReport { complete: true, ..Default::default() };
    for (path, role) in files.files() {
        let remaining = opts.max_bytes.map(|m| m.saturating_sub(report.bytes));
        if remaining == Some(0) {
            report.complete = false;
            break;
        }
        let key = path.to_string_lossy().into_owned();
        let cursor = state.cursors.entry(key.clone()).or_default();
        match read_file(&path, role, cursor, &mut state.tally, opts, remaining, &mut on_item) {
            Ok(r) => {
                report.bytes += r.bytes;
                report.lines += r.lines;
                if let Some(restart) = r.restarted {
                    report.restarted.push((key, restart));
                }
                report.complete &= r.complete;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => report.errors.push((key, e.to_string())),
        }
    }
    report
}

/// True when the saved `state` (JSON of a [`SessionState`]) covers every byte of `files`: each
/// file is the one it read (same device and inode) and has not grown, or is gone. Only the
/// cursors are decoded, not the tally, so finding that nothing is new costs a stat call per
/// file. A file rewritten in place to the very same length is not noticed here; it is once it
/// grows (its first bytes are compared then).
pub fn is_current(state: &str, files: &SessionFiles) -> bool {
    let Some(raw) = line::top_level_field(state.as_bytes(), "cursors") else { return false };
    let Ok(cursors) = serde_json::from_slice::<BTreeMap<String, FileCursor>>(raw) else { return false };
    files.files().iter().all(|(path, _)| match std::fs::metadata(path) {
        Ok(meta) => cursors.get(path.to_string_lossy().as_ref()).is_some_and(|c| {
            c.offset == meta.len() && c.identity.as_ref().is_some_and(|id| (id.dev, id.ino) == reader::dev_ino(&meta))
        }),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    })
}

fn read_file(
    path: &Path,
    role: FileRole,
    cursor: &mut FileCursor,
    tally: &mut SessionTally,
    opts: &CatchUpOptions<'_>,
    max_bytes: Option<u64>,
    on_item: &mut impl FnMut(ConversationItem),
) -> io::Result<reader::ReadReport> {
    reader::read_new(path, cursor, max_bytes, |bytes, offset| {
        if tally.skip_bookkeeping(bytes) {
            return;
        }
        let parsed = tally.observe_raw(bytes, role);
        // The line is parsed as bytes: only the values an item keeps are decoded (invalid UTF-8
        // in them becomes U+FFFD), never the whole line.
        if let (Some(parsed), Some(privacy)) = (parsed, opts.privacy) {
            for item in conversation::items(&parsed, role, offset, privacy, &opts.conversation) {
                on_item(item);
            }
        }
    })
}
