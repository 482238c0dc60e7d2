//! A marketplace install with no Rust toolchain: the launcher fetches the release binary on
//! the first hook, verifies it, and loses nothing meanwhile. Run as Claude Code runs hooks,
//! against real HTTP servers on loopback (the end-to-end run with the real Claude Code is in
//! tests/e2e_install.rs).

mod common;

use std::path::Path;
use std::time::Duration;

use common::http_server::{HttpServer, free_port};
use common::install::{Installed, asset_name, release_assets, versions, write_sums};
use common::sandbox::{assert_hook_ok, sample_payload, wait_for};

const SESSION: &str = "install-session";

fn payload(name: &str) -> Vec<u8> {
    sample_payload(name, SESSION)
}

#[test]
fn every_manifest_and_the_launcher_name_one_version() {
    let all = versions();
    assert!(all.iter().all(|(_, v)| *v == all[0].1), "{all:?}");
}

#[test]
fn the_installed_plugin_folder_is_lean() {
    // What Claude Code copies is the committed plugin folder: no package.json (which would make
    // it run npm ci there), no build output, and small.
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z", "plugin"])
        .current_dir(common::sandbox::repo_root())
        .output()
        .unwrap();
    let files: Vec<String> =
        out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()).map(|f| String::from_utf8_lossy(f).into()).collect();
    assert!(files.iter().any(|f| f == "plugin/hooks/hooks.json"), "{files:?}");
    assert!(!files.iter().any(|f| f.ends_with("package.json") || f.contains("node_modules")), "{files:?}");
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(common::sandbox::repo_root().join(f)).unwrap().len()).sum();
    assert!(bytes < 25 << 20, "{bytes} bytes");
}

/// Offline at first: every hook keeps its event and returns; once the host is back, the next
/// hook installs the binary and the store holds every event, in order, with its own time.
#[test]
fn events_are_kept_while_the_host_is_down_then_recorded_in_order() {
    let scratch = tempfile::tempdir().unwrap();
    let assets = release_assets(scratch.path());
    let port = free_port();
    let inst = Installed::new(&format!("http://127.0.0.1:{port}"));

    for (sub, file) in [
        ("session-start", "SessionStart-startup.json"),
        ("prompt-submit", "UserPromptSubmit.json"),
        ("post-tool-use", "PostToolUse-Bash.json"),
    ] {
        assert_hook_ok(&inst.hook(sub, &payload(file)), sub);
    }
    assert!(inst.wait_for_state("offline"), "state {:?}, log:\n{}", inst.state(), inst.log());
    assert_eq!(inst.spooled(), 3);
    assert!(!inst.binary().exists());
    assert!(inst.log().contains("could not download"), "{}", inst.log());
    let host_back = common::sandbox::now_ms();

    let server = HttpServer::files_on(&assets, port);
    assert_hook_ok(&inst.hook("stop", &payload("Stop.json")), "stop");
    assert!(wait_for(Duration::from_secs(60), || inst.events().len() == 4), "{:?}\n{}", inst.events(), inst.log());
    let events = inst.events();
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["session_start", "user_prompt", "tool_use", "response_complete"]);
    assert!(events.windows(2).all(|w| w[0].1 <= w[1].1), "timestamps in order: {events:?}");
    assert!(events[..3].iter().all(|(_, t)| *t < host_back), "the spooled events keep their own time: {events:?}");
    assert_eq!(inst.spooled(), 0);
    assert_eq!(server.fetches(&asset_name()), 1);

    // From now on the launcher's fast path runs the binary: nothing more is fetched.
    assert_hook_ok(&inst.hook("post-tool-use", &payload("PostToolUse-Read.json")), "after install");
    assert_eq!(inst.events().len(), 5);
    assert_eq!(server.fetches(&asset_name()), 1);
    assert_eq!(server.fetches("SHA256SUMS"), 1);
    assert!(
        std::fs::read_link(inst.plugin_data.join("bin/current"))
            .is_ok_and(|t| t == Path::new(env!("CARGO_PKG_VERSION")))
    );

    // status, run by a user, says where the binary is and how to put it on PATH.
    let out = inst.command(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("last install       installed"), "{text}");
    assert!(text.contains("ln -sf"), "{text}");
}

#[test]
fn a_tampered_asset_is_never_executed() {
    let scratch = tempfile::tempdir().unwrap();
    let genuine = release_assets(scratch.path());
    let tampered = scratch.path().join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    std::fs::copy(genuine.join("SHA256SUMS"), tampered.join("SHA256SUMS")).unwrap();
    let marker = scratch.path().join("executed");
    std::fs::write(tampered.join(asset_name()), format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
    let server = HttpServer::files(&tampered);
    let inst = Installed::new(&server.url());

    assert_hook_ok(&inst.hook("session-start", &payload("SessionStart-startup.json")), "session-start");
    assert!(inst.wait_for_state("mismatch"), "state {:?}, log:\n{}", inst.state(), inst.log());
    assert!(!marker.exists(), "the tampered download ran");
    assert!(!inst.binary().exists());
    assert_eq!(inst.log().matches("checksum mismatch").count(), 1, "{}", inst.log());
    assert_eq!(inst.spooled(), 1, "the event is kept");
    // Later hooks keep their events and do not fetch the bad asset again right away: one line.
    for _ in 0..3 {
        let mut cmd = inst.command(&["post-tool-use"]);
        cmd.env_remove("CLAUDE_SYNC_DOWNLOAD_RETRY_SECS");
        assert_hook_ok(&common::sandbox::run_with_stdin(cmd, &payload("PostToolUse-Bash.json")), "later hook");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(inst.spooled(), 4);
    assert_eq!(server.fetches(&asset_name()), 1, "{:?}", server.requests());
    assert_eq!(inst.log().matches("checksum mismatch").count(), 1, "{}", inst.log());
    assert!(
        std::fs::read_dir(inst.plugin_data.join("bin"))
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".partial")),
        "nothing of the download is left"
    );

    // A user asking for status is told, and still nothing runs.
    let out = inst.command(&["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checksum mismatch"), "{out:?}");
    assert!(!marker.exists());
}

#[test]
fn sessions_starting_together_cause_one_download() {
    let scratch = tempfile::tempdir().unwrap();
    let server = HttpServer::files(&release_assets(scratch.path()));
    let inst = Installed::new(&server.url());
    let sessions: Vec<String> = (0..6).map(|i| format!("together-{i}")).collect();
    std::thread::scope(|s| {
        for session in &sessions {
            let inst = &inst;
            s.spawn(move || {
                let out = inst.hook("session-start", &sample_payload("SessionStart-startup.json", session));
                assert_hook_ok(&out, session);
            });
        }
    });
    assert!(wait_for(Duration::from_secs(60), || inst.events().len() == 6), "{:?}\n{}", inst.events(), inst.log());
    assert_eq!(server.fetches(&asset_name()), 1, "{:?}", server.requests());
}

#[test]
fn a_binary_of_the_same_version_on_path_is_used_without_downloading() {
    let scratch = tempfile::tempdir().unwrap();
    let server = HttpServer::files(&release_assets(scratch.path()));
    let mut inst = Installed::new(&server.url());
    let bin_dir = scratch.path().join("path-bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(common::sandbox::BIN, bin_dir.join("claude-code-sync")).unwrap();
    inst.path = format!("{}:/usr/bin:/bin", bin_dir.display());

    assert_hook_ok(&inst.hook("session-start", &payload("SessionStart-startup.json")), "session-start");
    assert!(wait_for(Duration::from_secs(60), || inst.events().len() == 1), "{}", inst.log());
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert_eq!(std::fs::read_link(inst.binary()).unwrap(), bin_dir.join("claude-code-sync"));
}

#[test]
fn no_asset_for_the_platform_or_a_refused_url_leaves_hooks_silent() {
    let scratch = tempfile::tempdir().unwrap();
    // A platform with no release asset: `uname` says so.
    let fake = scratch.path().join("fake-uname");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("uname"), "#!/bin/sh\necho Plan9\n").unwrap();
    std::fs::set_permissions(fake.join("uname"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut inst = Installed::new("http://127.0.0.1:9");
    inst.path = format!("{}:/usr/bin:/bin", fake.display());
    assert_hook_ok(&inst.hook("session-start", &payload("SessionStart-startup.json")), "unsupported");
    assert!(inst.wait_for_state("unsupported"), "{}", inst.log());
    assert!(inst.log().contains("no release asset for Plan9"), "{}", inst.log());
    assert_eq!(inst.spooled(), 1);

    // Plain http to anything but this machine is refused before any connection.
    let inst = Installed::new("http://downloads.example.invalid/mirror");
    assert_hook_ok(&inst.hook("session-start", &payload("SessionStart-startup.json")), "refused url");
    assert!(inst.wait_for_state("error"), "{}", inst.log());
    assert!(inst.log().contains("download URL refused"), "{}", inst.log());
}

#[test]
fn an_older_version_is_removed_once_this_one_is_installed() {
    let scratch = tempfile::tempdir().unwrap();
    let assets = release_assets(scratch.path());
    // A mirror holding extra assets of other platforms still verifies this one.
    let mirror = scratch.path().join("mirror");
    common::sandbox::copy_tree(&assets, &mirror);
    std::fs::write(mirror.join("claude-code-sync-aarch64-apple-darwin"), b"another platform").unwrap();
    write_sums(&mirror);
    let server = HttpServer::files(&mirror);
    let inst = Installed::new(&server.url());
    let old = inst.plugin_data.join("bin/0.0.1");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("claude-code-sync"), b"old").unwrap();

    let out = inst.command(&["--version"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("claude-code-sync {}", env!("CARGO_PKG_VERSION")));
    assert!(inst.binary().is_file());
    assert!(!old.exists(), "the old version is removed");
}
