//! The local store: one SQLite file in the data dir (WAL, busy timeout), safe with several
//! Claude Code sessions writing at once. It is the embedded default — with no backend the
//! product still keeps every session — and the outbox the uploader drains.

mod activity;
mod hygiene;
mod outbox;
mod schema;
mod session_facts;
mod sessions;
mod transcripts;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

pub use activity::{SessionEvent, ToolItem, ToolItemKind};
pub use outbox::OutboxEvent;
pub use session_facts::SessionFacts;
pub use sessions::{Facets, SessionFilter, SessionRow};
pub use transcripts::TranscriptFigures;

use crate::paths;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// WAL size (pages) at which a hook's commit checkpoints it (see `leave_wal_on_close`).
const HOOK_WAL_CHECKPOINT_PAGES: i64 = 256;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What `open` had to do with a database it could not use; the caller logs it.
#[derive(Debug)]
pub struct MovedAside {
    pub to: PathBuf,
    pub why: String,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`. A file that is not a SQLite
    /// database, or was written by a newer version of this product, is moved aside — never
    /// deleted — and a fresh store is started; the move is reported so it can be logged.
    pub fn open(data_dir: &Path) -> Result<(Store, Option<MovedAside>)> {
        paths::ensure_private_dir(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let path = paths::store_path(data_dir);
        match Store::open_at_patiently(&path) {
            Ok(store) => Ok((store, None)),
            Err(e) if is_unusable(&e) => {
                let why = format!("{e:#}");
                let to = aside_path(&path);
                std::fs::rename(&path, &to)
                    .with_context(|| format!("cannot move the unusable store {} aside", path.display()))?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    let _ = std::fs::rename(&side, format!("{}{suffix}", to.display()));
                }
                let store = Store::open_at(&path)?;
                Ok((store, Some(MovedAside { to, why })))
            }
            Err(e) => Err(e),
        }
    }

    /// `open_at`, again while the file is busy. Opening is where SQLite answers SQLITE_BUSY
    /// without calling the busy handler (https://sqlite.org/wal.html, "Sometimes queries return
    /// SQLITE_BUSY in WAL mode"): while the last connection to close cleans up the WAL, and
    /// while the first connection after a crash (a hook killed by Claude Code's timeout)
    /// recovers it. Both last milliseconds; without this a hook that opened the store at that
    /// moment lost its event (tests/faults.rs, the kill -9 storm).
    fn open_at_patiently(path: &Path) -> Result<Store> {
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let mut pause = Duration::from_millis(2);
        loop {
            match Store::open_at(path) {
                Err(e) if is_busy(&e) && std::time::Instant::now() + pause < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn open_at(path: &Path) -> Result<Store> {
        let existed = path.exists();
        let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        if !existed {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers (status, the uploader) run beside writers (hooks); NORMAL sync keeps
        // a commit cheap and is still safe against a crash of any process.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!("could not switch {} to WAL (got {mode})", path.display());
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut store = Store { conn, path: path.to_path_buf() };
        store.migrate()?;
        Ok(store)
    }

    /// Opens the store for reading only, as the dashboard does while hooks keep writing: no
    /// file is created, no migration runs, and `query_only` makes any write an error. `None`
    /// when nothing has been recorded yet. WAL lets this reader see a consistent snapshot
    /// beside the writers.
    pub fn open_read_only(data_dir: &Path) -> Result<Option<Store>> {
        use rusqlite::OpenFlags;
        let path = paths::store_path(data_dir);
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn =
            Connection::open_with_flags(&path, flags).with_context(|| format!("cannot open {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        // The OS caches the file for every reader; a small cache per connection keeps a
        // long-running reader's memory low (the default is 2 MB each).
        conn.pragma_update(None, "cache_size", -512)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let target = schema::MIGRATIONS.len() as i64;
        if version != target {
            bail!(
                "the store {} has schema version {version}, this build reads version {target}: run \
                 `claude-code-sync status` once (it upgrades the store), then start the dashboard again",
                path.display()
            );
        }
        Ok(Some(Store { conn, path }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For the short-lived hook processes: closing does not checkpoint; the hook calls
    /// `checkpoint_if_large` after its writes instead.
    ///
    /// Why: SQLite's last connection to close checkpoints the WAL into the database with
    /// fsyncs and deletes the WAL and -shm files, which the next hook then creates again. With
    /// no backend configured (no uploader keeping a connection open), and for the first hooks
    /// of a turn, every hook was that last connection: 4 fsyncs, 2 unlinks and the files made
    /// again, per hook: 0.6 ms at rest on this machine's disk, tens of ms when the disk is
    /// busy. A WAL left in place is read back by the next process that opens the store with no
    /// other connection open (SQLite rebuilds its index from the whole WAL, ~2 µs a page), so
    /// it is kept small: past `HOOK_WAL_CHECKPOINT_PAGES` (1 MB; a hook writes 3–6 pages, so
    /// once in 40–80 hooks, under 5% so off the p95) the hook checkpoints and truncates it.
    /// SQLite's automatic checkpoint is off on these connections:
    /// after that rebuild SQLite counts every page of the WAL as not yet copied, so it would
    /// copy the whole WAL again at each commit and never restart it.
    /// Durability is unchanged in kind: with `synchronous = NORMAL` a commit was never synced
    /// by itself (a power loss may lose the last events, never corrupt the store), and a crash
    /// of any process loses nothing (tests/faults.rs). The background uploader keeps SQLite's
    /// defaults, so when it closes last it checkpoints and removes the WAL, off the hook path.
    pub fn leave_wal_on_close(&self) -> Result<()> {
        self.conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    /// Checkpoints the WAL into the database and truncates it, when it has grown past
    /// `HOOK_WAL_CHECKPOINT_PAGES`; never waits: when another process is writing or reading
    /// an older snapshot, the pages that can be copied are, and a later hook finishes the job.
    pub fn checkpoint_if_large(&self) -> Result<()> {
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        let Ok(meta) = std::fs::metadata(&wal) else { return Ok(()) };
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        if meta.len() < (HOOK_WAL_CHECKPOINT_PAGES * (page_size + 24)) as u64 {
            return Ok(());
        }
        // SQLite answers "blocked" in the pragma's first column, not with an error.
        self.conn.busy_timeout(Duration::ZERO)?;
        let result = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(result?)
    }

    fn migrate(&mut self) -> Result<()> {
        let target = schema::MIGRATIONS.len() as i64;
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == target {
            return Ok(());
        }
        if version > target {
            bail!(FutureSchema(version));
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).with_context(|| format!("store migration {} failed", i + 1))?;
        }
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
        Ok(())
    }

    /// Settings for an import of many transactions in a row (`true`), or back to the defaults
    /// (`false`, which also checkpoints what the import left in the WAL, so that no hook pays
    /// for it). During an import SQLite keeps up to 16 MB of pages in memory, and checkpoints
    /// the WAL every 16 MB instead of every 4 MB: fewer checkpoints (each with its fsyncs),
    /// each copying a page once however often the import rewrote it since the last one.
    /// Durability is the same: commits are as safe as ever, only checkpoints are fewer.
    pub fn import_mode(&self, on: bool) -> Result<()> {
        let (cache_kib, checkpoint_pages) = if on { (16 << 10, 4 << 10) } else { (2000, 1000) };
        self.conn.pragma_update(None, "cache_size", -cache_kib)?;
        self.conn.pragma_update(None, "wal_autocheckpoint", checkpoint_pages)?;
        if !on {
            // Never waits: pages another process still reads are left for a later checkpoint.
            self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Runs `f` in one write transaction (taken at once, so it never fails half-way on a busy
    /// lock): committed when `f` returns `Ok`, rolled back otherwise. Writes that make their own
    /// transaction (`record_encoded`, `record_batch`, `record`) join it instead.
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(value) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Every meta entry whose key starts with `prefix`, in key order.
    pub fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let mut stmt =
            self.conn.prepare("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")?;
        let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn meta_delete(&self, key: &str) -> Result<()> {
        self.conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    #[cfg(test)]
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Bytes on disk: the database and its WAL.
    pub fn size_on_disk(&self) -> u64 {
        ["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", self.path.display())).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// The store was written by a newer version of the product.
#[derive(Debug)]
struct FutureSchema(i64);

impl std::fmt::Display for FutureSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the store has schema version {}, newer than this build knows ({})", self.0, schema::MIGRATIONS.len())
    }
}

impl std::error::Error for FutureSchema {}

fn is_unusable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<FutureSchema>().is_some()
            || matches!(
                cause.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code),
                Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
            )
    })
}

fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    })
}

fn aside_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.unusable-{}", path.display(), crate::time::now_ms()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_store_and_reopens_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, moved) = Store::open(tmp.path()).unwrap();
        assert!(moved.is_none());
        store.meta_set("k", "v").unwrap();
        drop(store);
        let (store, _) = Store::open(tmp.path()).unwrap();
        assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("v"));
        assert_eq!(store.integrity_check().unwrap(), "ok");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// Hook connections close without checkpointing, yet the WAL stays bounded and every
    /// event is there for the next process, including one that must rebuild the WAL index.
    #[test]
    fn hook_connections_leave_the_wal_but_keep_it_bounded() {
        use crate::event::{Event, EventType, Payload};
        let tmp = tempfile::tempdir().unwrap();
        let wal = tmp.path().join("store.db-wal");
        let mut largest = 0;
        for n in 0..600 {
            let (mut store, _) = Store::open(tmp.path()).unwrap();
            store.leave_wal_on_close().unwrap();
            let event = Event {
                event_id: format!("e{n}"),
                session_id: format!("s{}", n % 7),
                event_type: EventType::ToolUse,
                timestamp: n,
                payload: Payload { project_name: Some("p".repeat(300)), ..Payload::default() },
            };
            assert!(store.record(&event, None, n).unwrap());
            store.checkpoint_if_large().unwrap();
            drop(store);
            assert!(wal.exists(), "closing a hook connection must not checkpoint and remove the WAL");
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        // Checkpointed past HOOK_WAL_CHECKPOINT_PAGES: one hook's commit may carry it a few pages beyond.
        let page = 4096 + 24;
        assert!(largest <= (HOOK_WAL_CHECKPOINT_PAGES as u64 + 16) * page, "WAL grew to {largest} bytes");
        let (store, _) = Store::open(tmp.path()).unwrap();
        assert_eq!(store.outbox_counts(None).unwrap().pending, 600);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        // A default connection closing last checkpoints and removes the WAL, as before.
        drop(store);
        assert!(!wal.exists());
    }

    #[test]
    fn read_only_store_refuses_writes_and_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(Store::open_read_only(tmp.path()).unwrap().is_none());
        assert!(!paths::store_path(tmp.path()).exists());
        let (writer, _) = Store::open(tmp.path()).unwrap();
        writer.meta_set("k", "v").unwrap();
        let reader = Store::open_read_only(tmp.path()).unwrap().unwrap();
        assert_eq!(reader.meta_get("k").unwrap().as_deref(), Some("v"));
        assert!(reader.meta_set("k", "w").is_err(), "a read-only store must refuse writes");
        // The writer goes on beside it, and the reader sees its commits.
        writer.meta_set("k", "x").unwrap();
        assert_eq!(reader.meta_get("k").unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn garbage_file_is_moved_aside_not_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let garbage = b"this is not sqlite at all, just some bytes that are long enough".repeat(100);
        std::fs::write(tmp.path().join("store.db"), &garbage).unwrap();
        let (store, moved) = Store::open(tmp.path()).unwrap();
        let moved = moved.expect("garbage must be moved aside");
        assert_eq!(std::fs::read(&moved.to).unwrap(), garbage);
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn future_schema_is_moved_aside() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(tmp.path().join("store.db")).unwrap();
            conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;").unwrap();
        }
        let (_store, moved) = Store::open(tmp.path()).unwrap();
        let moved = moved.expect("a future schema must be moved aside");
        assert!(moved.why.contains("99"), "{}", moved.why);
        let old = Connection::open(&moved.to).unwrap();
        let v: i64 = old.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 99);
    }
}
