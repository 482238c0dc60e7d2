//! The install a user without Rust makes, end to end with the real Claude Code: the committed
//! repository served as a git marketplace over smart HTTP on loopback, the release assets
//! served through `CLAUDE_SYNC_DOWNLOAD_URL`, a fresh HOME, `PATH` without cargo, no backend.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::claude_code::*;
use common::http_server::{HttpServer, bare_clone};
use common::install::{MARKETPLACE, VERSION, asset_name, release_assets};
use common::sandbox::{repo_root, wait_for};
use serde_json::Value;

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| if e.file_type().unwrap().is_dir() { dir_size(&e.path()) } else { e.metadata().unwrap().len() })
        .sum()
}

fn contains_named(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .any(|e| e.file_name() == name || (e.file_type().unwrap().is_dir() && contains_named(&e.path(), name)))
}

fn sessions_json(binary: &Path, home: &Path) -> Vec<Value> {
    let out = std::process::Command::new(binary)
        .args(["sessions", "--json"])
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_git_marketplace_install_without_rust_records_both_sessions() {
    let Some(cc) = ClaudeCode::start() else { return };
    let sandbox = SessionSandbox::new();
    let git_root = sandbox.root().join("git");
    bare_clone(&repo_root(), &git_root, "claude-code-sync");
    let git = HttpServer::git(&git_root);
    let assets = HttpServer::files(&release_assets(sandbox.root()));
    let env = [("PATH", "/usr/bin:/bin".to_string()), ("CLAUDE_SYNC_DOWNLOAD_URL", assets.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let url = format!("{}/claude-code-sync.git", git.url());
    let added = cc.run_cli(&sandbox.home, &["plugin", "marketplace", "add", &url], &env);
    assert!(added.status.success(), "{added:?}");
    let installed = cc.run_cli(&sandbox.home, &["plugin", "install", &format!("claude-code-sync@{MARKETPLACE}")], &env);
    assert!(installed.status.success(), "{installed:?}");

    let plugin: PathBuf = sandbox.home.join(format!(".claude/plugins/cache/{MARKETPLACE}/claude-code-sync/{VERSION}"));
    assert!(plugin.join("hooks/hooks.json").is_file(), "installed at {}", plugin.display());
    assert!(!contains_named(&plugin, "node_modules"), "npm ran in the plugin folder");
    assert!(!contains_named(&plugin, "Cargo.toml"), "the whole repository was installed");
    assert!(dir_size(&plugin) < 25 << 20);
    let binary = sandbox
        .home
        .join(format!(".claude/plugins/data/claude-code-sync-{MARKETPLACE}/bin/{VERSION}/claude-code-sync"));
    assert!(!binary.exists());

    let mut ids = Vec::new();
    for (n, prompt) in ["SCENARIO:multi first session", "SCENARIO:multi second session"].iter().enumerate() {
        let out = cc.run_session(&sandbox.home, &sandbox.work, prompt, &[], &env, &[]);
        out.assert_success();
        let id = out.session_id();
        let transcript = read_jsonl(&transcript_path(&sandbox.home, &id));
        assert!(
            hook_attachments(&transcript).is_empty(),
            "hook trouble in session {n}: {:#?}",
            hook_attachments(&transcript)
        );
        assert!(out.hook_failures().is_empty(), "{:?}", out.hook_failures());
        if n == 0 {
            // The first session's hooks ran before the binary was there: its events wait on disk
            // and are recorded once the background download has verified and installed it.
            assert!(
                wait_for(Duration::from_secs(90), || binary.is_file()
                    && sessions_json(&binary, &sandbox.home).iter().any(|s| s["sessionId"] == id.as_str())
                    && !sandbox.home.join(".local/share/claude-code-sync/spool").exists()),
                "first session not recorded; log:\n{}",
                std::fs::read_to_string(sandbox.home.join(".local/share/claude-code-sync/claude-code-sync.log"))
                    .unwrap_or_default()
            );
        }
        ids.push(id);
    }
    assert_eq!(assets.fetches(&asset_name()), 1, "the second session downloads nothing: {:?}", assets.requests());

    let sessions = sessions_json(&binary, &sandbox.home);
    for id in &ids {
        let s =
            sessions.iter().find(|s| s["sessionId"] == id.as_str()).unwrap_or_else(|| panic!("{id} in {sessions:#?}"));
        assert!(s["prompts"].as_i64() >= Some(1), "{s}");
        assert!(s["toolCallCount"].as_i64() >= Some(5), "{s}");
    }
    // The first event of the first session, SessionStart, is there with the prompt after it.
    let db = rusqlite::Connection::open(sandbox.home.join(".local/share/claude-code-sync/store.db")).unwrap();
    let first: Vec<String> = db
        .prepare("SELECT event_type FROM outbox WHERE session_id = ?1 ORDER BY seq LIMIT 2")
        .unwrap()
        .query_map([&ids[0]], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(first, ["session_start", "user_prompt"]);
    let prompt: String = db
        .query_row(
            "SELECT payload FROM outbox WHERE session_id = ?1 AND event_type = 'user_prompt' ORDER BY seq LIMIT 1",
            [&ids[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert!(prompt.contains("first session"), "{prompt}");
}
