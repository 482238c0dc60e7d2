//! A throwaway HOME and data dir, and the built binary run inside them (for hooks, exactly as
//! Claude Code runs it: the binary itself, exec form, payload on stdin).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

pub const BIN: &str = env!("CARGO_BIN_EXE_claude-code-sync");

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A checkout as a contributor has it after `cargo build --release`: the real plugin folder
/// (its parts symlinked) beside `target/release/claude-code-sync`, which the launcher execs and
/// which points at the binary under test (a debug build under `cargo test`). Returns the plugin
/// folder, for `--plugin-dir`.
pub fn built_plugin(dir: &Path) -> PathBuf {
    let plugin = dir.join("plugin");
    std::fs::create_dir_all(&plugin).unwrap();
    for part in [".claude-plugin", "hooks", "commands", "bin", "libexec"] {
        std::os::unix::fs::symlink(plugin_root().join(part), plugin.join(part)).unwrap();
    }
    std::fs::create_dir_all(dir.join("target/release")).unwrap();
    std::os::unix::fs::symlink(BIN, dir.join("target/release/claude-code-sync")).unwrap();
    plugin
}

/// A recursive copy of a folder (files copied, not linked), as an install or a fixture needs.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The plugin folder Claude Code installs (what marketplace.json names).
pub fn plugin_root() -> PathBuf {
    repo_root().join("plugin")
}

pub fn samples_dir() -> PathBuf {
    repo_root().join("tests/fixtures/claude-code")
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub data: PathBuf,
    env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let data = dir.path().join("data");
        Sandbox { home, data, dir, env: Vec::new() }
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Writes the seed's config file.
    pub fn write_config(&self, config: &serde_json::Value) {
        std::fs::write(self.home.join(".claude-code-sync.json"), config.to_string()).unwrap();
    }

    /// The binary with a clean environment: no CLAUDE_SYNC_* or Claude Code variables leak
    /// in from whoever runs the tests.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        for (key, _) in std::env::vars() {
            if key.starts_with("CLAUDE") || key == "XDG_DATA_HOME" || key == "XDG_CONFIG_HOME" {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", &self.home)
            .env("CLAUDE_SYNC_DATA_DIR", &self.data)
            .env("CLAUDE_SYNC_BIN", BIN)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs a hook subcommand with `stdin`, as hooks.json has Claude Code run it.
    pub fn hook(&self, subcommand: &str, stdin: &[u8]) -> Output {
        let mut cmd = self.command(Path::new(BIN));
        cmd.arg(subcommand);
        run_with_stdin(cmd, stdin)
    }

    /// Runs a user command (status, sync-now, …) directly.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(Path::new(BIN));
        cmd.args(args);
        run_with_stdin(cmd, b"")
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.data.join("store.db")).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("claude-code-sync.log")).unwrap_or_default()
    }

    /// Every byte the product wrote under its data dir (store, WAL, log), for leak checks.
    pub fn all_data_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.data).into_iter().flatten().flatten() {
            if entry.path().is_file() {
                all.extend(std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        all
    }

    /// (event_type, state) of every outbox row of `session`, in order.
    pub fn outbox(&self, session: &str) -> Vec<(String, String)> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT event_type, state FROM outbox WHERE session_id = ?1 ORDER BY seq").unwrap();
        stmt.query_map([session], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Records that the running test could not run (cargo counts it as passed): one file per test
/// under `target/tmp/skipped/`, which the test command counts and lists at the end.
pub fn note_skipped(why: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped");
    let _ = std::fs::create_dir_all(&dir);
    let name = std::thread::current().name().unwrap_or("unnamed").replace("::", "-");
    let _ = std::fs::write(dir.join(format!("{}-{name}", env!("CARGO_CRATE_NAME"))), why);
}

/// Milliseconds since the epoch, as the store's timestamps count them.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A real sample payload with its session id replaced (so tests don't share sessions).
pub fn sample_payload(name: &str, session: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(samples_dir().join("hook-payloads").join(name)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["session_id"] = session.into();
    serde_json::to_vec(&v).unwrap()
}

pub fn assert_hook_ok(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: exit status; stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "{what}: stdout must be empty, got {:?}", String::from_utf8_lossy(&out.stdout));
}
