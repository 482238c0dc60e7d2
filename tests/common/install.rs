//! The plugin as a marketplace install leaves it: the committed plugin folder copied into
//! `~/.claude/plugins/cache/<marketplace>/claude-code-sync/<version>/`, no binary anywhere, and
//! release assets served on loopback. Hooks run the launcher as Claude Code does (exec form,
//! `CLAUDE_PLUGIN_ROOT` and `CLAUDE_PLUGIN_DATA` set, `PATH` without cargo).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::sandbox::{BIN, copy_tree, plugin_root, repo_root, run_with_stdin, wait_for};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const MARKETPLACE: &str = "claude-code-sync";

/// The asset this machine downloads (the tests run on x86_64 Linux, as CI does).
pub fn asset_name() -> String {
    let arch = if cfg!(target_arch = "aarch64") { "aarch64" } else { "x86_64" };
    format!("claude-code-sync-{arch}-unknown-linux-gnu")
}

/// The release assets to serve: `$CCS_RELEASE_DIR` when `scripts/release` wrote them (the test
/// command does), else the binary under test under the same name, with its SHA256SUMS.
pub fn release_assets(scratch: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CCS_RELEASE_DIR").map(PathBuf::from) {
        assert!(dir.join(asset_name()).is_file(), "CCS_RELEASE_DIR={} has no {}", dir.display(), asset_name());
        return dir;
    }
    let dir = scratch.join("release");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(BIN, dir.join(asset_name())).unwrap();
    write_sums(&dir);
    dir
}

/// SHA256SUMS for every asset in `dir`, as `scripts/release` writes it.
pub fn write_sums(dir: &Path) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("sha256sum claude-code-sync-* > SHA256SUMS")
        .current_dir(dir)
        .output()
        .expect("sha256sum");
    assert!(out.status.success(), "{out:?}");
}

pub struct Installed {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    /// `${CLAUDE_PLUGIN_ROOT}`: the cache copy.
    pub plugin: PathBuf,
    /// `${CLAUDE_PLUGIN_DATA}`.
    pub plugin_data: PathBuf,
    /// The product's data dir (the default under HOME).
    pub data: PathBuf,
    pub download_url: String,
    pub path: String,
}

impl Installed {
    pub fn new(download_url: &str) -> Installed {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let claude = home.join(".claude/plugins");
        let plugin = claude.join(format!("cache/{MARKETPLACE}/claude-code-sync/{VERSION}"));
        copy_tree(&plugin_root(), &plugin);
        let plugin_data = claude.join(format!("data/claude-code-sync-{MARKETPLACE}"));
        let data = home.join(".local/share/claude-code-sync");
        Installed {
            dir,
            home,
            plugin,
            plugin_data,
            data,
            download_url: download_url.to_string(),
            path: "/usr/bin:/bin".into(),
        }
    }

    /// Where the launcher puts the downloaded binary.
    pub fn binary(&self) -> PathBuf {
        self.plugin_data.join("bin").join(VERSION).join("claude-code-sync")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.plugin.join("bin/claude-code-sync"));
        cmd.env_clear()
            .env("HOME", &self.home)
            .env("PATH", &self.path)
            .env("CLAUDE_PLUGIN_ROOT", &self.plugin)
            .env("CLAUDE_PLUGIN_DATA", &self.plugin_data)
            .env("CLAUDE_SYNC_DOWNLOAD_URL", &self.download_url)
            .env("CLAUDE_SYNC_DOWNLOAD_RETRY_SECS", "0")
            .args(args);
        cmd
    }

    /// One hook, as Claude Code runs it.
    pub fn hook(&self, subcommand: &str, payload: &[u8]) -> Output {
        run_with_stdin(self.command(&[subcommand]), payload)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("claude-code-sync.log")).unwrap_or_default()
    }

    /// The launcher's last install state (`state=` line), or "".
    pub fn state(&self) -> String {
        std::fs::read_to_string(self.data.join("binary-install.state"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("state=").map(str::to_string))
            .unwrap_or_default()
    }

    pub fn wait_for_state(&self, want: &str) -> bool {
        wait_for(Duration::from_secs(60), || self.state() == want && !self.plugin_data.join("bin/.fetch.lock").exists())
    }

    pub fn spooled(&self) -> usize {
        std::fs::read_dir(self.data.join("spool"))
            .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count())
            .unwrap_or(0)
    }

    /// (event_type, timestamp) of every recorded event, in recording order.
    pub fn events(&self) -> Vec<(String, i64)> {
        let path = self.data.join("store.db");
        let Ok(db) = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY) else { return Vec::new() };
        let Ok(mut stmt) = db.prepare("SELECT event_type, timestamp FROM outbox ORDER BY seq") else {
            return Vec::new();
        };
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }
}

/// The version every manifest and the launcher name.
pub fn versions() -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(repo_root().join(p)).unwrap();
    let json = |p: &str| serde_json::from_str::<serde_json::Value>(&read(p)).unwrap();
    let launcher =
        read("plugin/bin/claude-code-sync").lines().find_map(|l| l.strip_prefix("version=")).unwrap().to_string();
    vec![
        ("Cargo.toml".into(), VERSION.to_string()),
        ("plugin/bin/claude-code-sync".into(), launcher),
        (
            "plugin/.claude-plugin/plugin.json".into(),
            json("plugin/.claude-plugin/plugin.json")["version"].as_str().unwrap().to_string(),
        ),
        (
            ".claude-plugin/marketplace.json".into(),
            json(".claude-plugin/marketplace.json")["plugins"][0]["version"].as_str().unwrap().to_string(),
        ),
    ]
}
