//! Test support for end-to-end runs of the REAL Claude Code CLI (pinned, see
//! `tests/e2e/install-claude-code.sh`) against the scripted fake Messages API
//! (`tests/e2e/fake_anthropic.py`), offline, with plugins loaded through `--plugin-dir`.
//!
//! Typical use:
//! ```ignore
//! let Some(cc) = ClaudeCode::start() else { return }; // not installed here: skipped (CI panics)
//! let sandbox = SessionSandbox::new();
//! let out = cc.run_session(&sandbox.home, &sandbox.work, "SCENARIO:multi go", &[&plugin], &[], &[]);
//! let transcript = read_jsonl(&transcript_path(&sandbox.home, &out.session_id()));
//! assert!(hook_attachments(&transcript).is_empty());
//! ```
//!
//! The fake's scenarios (marker `SCENARIO:<name>` in the prompt) and the ids they produce are
//! described in `tests/e2e/README.md`.

use std::env;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::sandbox::repo_root;

/// The Claude Code version the harness is written against (pinned in the install script).
pub const CLAUDE_CODE_VERSION: &str = "2.1.331";

/// Fake secrets the `multi` scenario makes a Bash command print (the command line holds each
/// only in two halves, so a test can tell output redaction from input redaction).
/// Mirrors `SECRET_AWS_KEY` / `SECRET_GITHUB_TOKEN` in fake_anthropic.py.
pub const FAKE_AWS_KEY: &str = "AKIAQ7XN3VBTR5KLM2PW";
pub const FAKE_GITHUB_TOKEN: &str = "ghp_R8fK2mQ9xLp4Tt7Vw1Yz3Bc6Dn0Hj5Gs2Ea9";
/// Fake secret the `multi` scenario writes into `settings.env` with the Write tool.
/// Mirrors `SECRET_IN_FILE` in fake_anthropic.py.
pub const FAKE_FILE_SECRET: &str = "sk_live_51Hx9QpLmN4vB7cR2tY6wZ8kJ3fD0sA";

/// Tools the sessions may use without asking (root refuses `--dangerously-skip-permissions`).
pub const ALLOWED_TOOLS: [&str; 5] = ["Bash", "Write", "Read", "Edit", "Agent"];

/// How long one session may take before it is killed and the test fails. A scenario takes
/// about a second; the margin is for a machine busy with parallel builds.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(120);

/// npm's platform package that carries the native binary for this machine.
fn platform_package() -> &'static str {
    match (env::consts::OS, env::consts::ARCH) {
        ("linux", "aarch64") => "claude-code-linux-arm64",
        ("macos", "aarch64") => "claude-code-darwin-arm64",
        ("macos", _) => "claude-code-darwin-x64",
        _ => "claude-code-linux-x64",
    }
}

/// The installed Claude Code binary: `$CCS_CLAUDE_BIN`, else the install script's cache
/// (`$CCS_CLAUDE_CACHE`, default `<repo>/.cache/claude-code`).
///
/// When it is absent: panics if `CI` is set (CI must run the end-to-end tests), otherwise
/// prints a notice and returns `None` so the caller can skip.
pub fn locate_claude() -> Option<PathBuf> {
    if let Some(bin) = env::var_os("CCS_CLAUDE_BIN") {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "CCS_CLAUDE_BIN={} is not a file", bin.display());
        return Some(bin);
    }
    let cache =
        env::var_os("CCS_CLAUDE_CACHE").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".cache/claude-code"));
    let bin = cache.join("node_modules/@anthropic-ai").join(platform_package()).join("claude");
    if bin.is_file() {
        return Some(bin);
    }
    let hint = "install it with tests/e2e/install-claude-code.sh (or point CCS_CLAUDE_BIN at it)";
    if env::var_os("CI").is_some() {
        panic!("Claude Code {CLAUDE_CODE_VERSION} not found at {}: {hint}", bin.display());
    }
    eprintln!("SKIPPED end-to-end test: Claude Code {CLAUDE_CODE_VERSION} not found at {}; {hint}", bin.display());
    super::sandbox::note_skipped(&format!("Claude Code {CLAUDE_CODE_VERSION} not installed"));
    None
}

/// The scripted fake Anthropic Messages API, a child process killed on drop.
pub struct FakeApi {
    child: Child,
    url: String,
    dir: TempDir,
}

impl FakeApi {
    /// Starts `tests/e2e/fake_anthropic.py` on a free loopback port (python from `$CCS_PYTHON`,
    /// default `python3`) and waits for its `LISTENING` line.
    pub fn start() -> FakeApi {
        let dir = TempDir::new().expect("temp dir for the fake API");
        let python = env::var_os("CCS_PYTHON").unwrap_or_else(|| "python3".into());
        let script = repo_root().join("tests/e2e/fake_anthropic.py");
        let stderr = fs::File::create(dir.path().join("stderr.txt")).expect("fake API stderr file");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--host", "127.0.0.1", "--port", "0", "--log"])
            .arg(dir.path().join("requests.jsonl"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} {}: {e}", python.display(), script.display()));
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        let url = match line.trim().strip_prefix("LISTENING ") {
            Some(url) if read.is_ok() => url.to_owned(),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let err = fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
                panic!("fake API did not start: stdout {line:?}, stderr:\n{err}");
            }
        };
        FakeApi { child, url, dir }
    }

    /// `http://127.0.0.1:<port>`, for ANTHROPIC_BASE_URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Path of the request log: one JSON object per request with `method`, `path`, `status`,
    /// `headers` (credentials masked), `body` and `reply` (the full assistant message for
    /// /v1/messages, with its `usage` and a `_plan` {scenario, step, turn, workdir}).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("requests.jsonl")
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let path = self.log_path();
        if path.exists() { read_jsonl(&path) } else { Vec::new() }
    }

    /// The assistant messages the fake answered /v1/messages with, oldest first: the oracle for
    /// token accounting (`usage`) and message ids.
    pub fn replies(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter_map(|mut r| Some(r.get_mut("reply")?.take()))
            .filter(|reply| reply["type"] == "message")
            .collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway HOME and work dir (a git repo on branch `main` with one commit).
pub struct SessionSandbox {
    dir: TempDir,
    pub home: PathBuf,
    pub work: PathBuf,
}

impl SessionSandbox {
    pub fn new() -> SessionSandbox {
        let dir = TempDir::new().expect("sandbox temp dir");
        let (home, work) = (dir.path().join("home"), dir.path().join("work"));
        for d in [&home, &work] {
            fs::create_dir_all(d).expect("sandbox subdir");
        }
        init_git_repo(&work);
        SessionSandbox { dir, home, work }
    }

    /// The sandbox's root directory (parent of home/ and work/), free for the test's own files.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Makes `dir` a git repo on branch `main` with one empty commit, as a session's work dir:
/// Claude Code and the product read the branch from it.
pub fn init_git_repo(dir: &Path) {
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "--allow-empty", "-m", "init"],
    ] {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .status()
            .expect("git must be installed for the end-to-end tests");
        assert!(status.success(), "git {args:?} failed in {}", dir.display());
    }
}

/// What one `claude -p` run left behind.
#[derive(Debug)]
pub struct SessionOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl SessionOutput {
    /// The `--output-format json` result object.
    pub fn result(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!("claude stdout is not one JSON object ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    /// The session id Claude Code reported.
    pub fn session_id(&self) -> String {
        let result = self.result();
        result["session_id"].as_str().unwrap_or_else(|| panic!("no session_id in {result}")).to_owned()
    }

    /// Hook failures Claude Code reported on its stderr, one per line, e.g.
    /// `SessionEnd hook [<command>] failed: Hook cancelled`. SessionEnd trouble shows only here
    /// (it leaves nothing in the transcript).
    pub fn hook_failures(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|line| {
                line.split_once(" hook [").is_some_and(|(event, rest)| {
                    !event.is_empty() && event.chars().all(|c| c.is_ascii_alphanumeric()) && rest.contains("] failed")
                })
            })
            .collect()
    }

    /// Panics with everything known unless claude exited 0 with a non-error result.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success() && self.result()["is_error"] == Value::Bool(false),
            "claude failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The installed client plus a running fake API: everything a session needs.
pub struct ClaudeCode {
    pub bin: PathBuf,
    pub api: FakeApi,
}

impl ClaudeCode {
    /// `None` (after a printed notice) when Claude Code is not installed and `CI` is unset.
    pub fn start() -> Option<ClaudeCode> {
        let bin = locate_claude()?;
        Some(ClaudeCode { bin, api: FakeApi::start() })
    }

    /// Runs `claude -p <prompt> --plugin-dir <each> --allowedTools Bash Write Read Edit Agent
    /// --output-format json <extra_args>` in `workdir`, offline against the fake API, and waits
    /// for it (at most [`SESSION_TIMEOUT`], then its process group is killed and this panics).
    ///
    /// Environment: the test's own, minus every `CLAUDE*`, `ANTHROPIC*` and `XDG_*` variable
    /// (so nothing of the developer's real setup leaks in), plus HOME=`home`,
    /// TMPDIR=`<home>/.tmp` (Claude Code writes `claude-<uid>/` and `cc-socks/` there), the fake's
    /// ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY=sk-ant-test, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC,
    /// DISABLE_TELEMETRY, DISABLE_AUTOUPDATER; then `extra_env`, which wins.
    /// `extra_args` go last, e.g. `["--continue"]`, `["--resume", id]`, `["--session-id", uuid]`.
    pub fn run_session(
        &self,
        home: &Path,
        workdir: &Path,
        prompt: &str,
        plugin_dirs: &[&Path],
        extra_env: &[(&str, &str)],
        extra_args: &[&str],
    ) -> SessionOutput {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-p").arg(prompt);
        for dir in plugin_dirs {
            cmd.arg("--plugin-dir").arg(dir);
        }
        cmd.arg("--allowedTools").args(ALLOWED_TOOLS);
        cmd.args(["--output-format", "json"]).args(extra_args);
        cmd.current_dir(workdir);
        self.apply_env(&mut cmd, home);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        run_bounded(cmd, SESSION_TIMEOUT)
    }

    /// `claude plugin validate --json <dir>` (plus `extra_args`, e.g. `--strict`): exit status
    /// and the parsed report. The report has `success`, `manifest` {errors, warnings, notes},
    /// `contents` [{file, type, errors, warnings}] (hooks.json, commands) and `directory`
    /// {findings: [{code, severity, blocking, message}]} (README, LICENSE, icon: catalog checks
    /// that do not change the exit status unless `--profile directory` is given).
    pub fn validate_plugin(&self, home: &Path, dir: &Path, extra_args: &[&str]) -> (ExitStatus, Value) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["plugin", "validate", "--json"]).args(extra_args).arg(dir);
        cmd.current_dir(home);
        self.apply_env(&mut cmd, home);
        let out = run_bounded(cmd, SESSION_TIMEOUT);
        let report = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("validate output is not JSON ({e}):\n{}\nstderr:\n{}", out.stdout, out.stderr));
        (out.status, report)
    }

    /// Any other `claude` command line (`plugin marketplace add …`, `plugin install …`) in
    /// `home`, with the same environment as a session plus `extra_env`.
    pub fn run_cli(&self, home: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> SessionOutput {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).current_dir(home);
        self.apply_env(&mut cmd, home);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        run_bounded(cmd, SESSION_TIMEOUT)
    }

    fn apply_env(&self, cmd: &mut Command, home: &Path) {
        for (key, _) in env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("CLAUDE") || k.starts_with("ANTHROPIC") || k.starts_with("XDG_") {
                cmd.env_remove(&key);
            }
        }
        let tmp = home.join(".tmp");
        fs::create_dir_all(&tmp).expect("TMPDIR for claude");
        cmd.env("HOME", home)
            .env("TMPDIR", tmp)
            .env("ANTHROPIC_BASE_URL", self.api.url())
            .env("ANTHROPIC_API_KEY", "sk-ant-test")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_AUTOUPDATER", "1");
    }
}

/// Runs `cmd` in its own process group with stdin closed, collecting stdout and stderr; kills
/// the whole group (hooks included) and panics if it outlives `timeout`.
fn run_bounded(mut cmd: Command, timeout: Duration) -> SessionOutput {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for claude") {
            break status;
        }
        if started.elapsed() > timeout {
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!("{cmd:?} still running after {timeout:?}; killed. stderr:\n{}", stderr.join().unwrap_or_default());
        }
        thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    SessionOutput {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        elapsed,
    }
}

/// `<home>/.claude/projects/<slug>/<session_id>.jsonl`; panics when there is none.
pub fn transcript_path(home: &Path, session_id: &str) -> PathBuf {
    let projects = home.join(".claude/projects");
    let file = format!("{session_id}.jsonl");
    fs::read_dir(&projects)
        .unwrap_or_else(|e| panic!("no {}: {e}", projects.display()))
        .filter_map(|entry| Some(entry.ok()?.path().join(&file)))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no transcript {file} under {}", projects.display()))
}

/// The subagent transcripts of a session (`<session>/subagents/agent-*.jsonl`), sorted.
pub fn subagent_transcripts(transcript: &Path) -> Vec<PathBuf> {
    let dir = transcript.with_extension("").join("subagents");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every file under `root` whose bytes contain one of `needles`, as `(path, needle)` pairs:
/// for proving a secret reached no store, log or spool file (SQLite keeps text as plain
/// UTF-8 bytes, so a byte search finds it there too).
pub fn find_in_tree(root: &Path, needles: &[&str]) -> Vec<(PathBuf, String)> {
    assert!(needles.iter().all(|n| !n.is_empty()), "empty needle");
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let bytes = fs::read(&path).unwrap_or_default();
                for needle in needles {
                    if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        found.push((path.clone(), needle.to_string()));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

/// Every line of a JSON-lines file, parsed; panics on a line that is not JSON (after a session
/// has ended, a transcript has no half-written line).
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{} line {}: {e}: {line}", path.display(), i + 1))
        })
        .collect()
}

/// The transcript's records of hook trouble or hook output: `attachment` lines whose type starts
/// with `hook_` (`hook_non_blocking_error` for a non-zero exit, `hook_success` for non-empty
/// stdout, `hook_cancelled`, `hook_blocking_error`, ...) and `stop_hook_summary` lines with a
/// non-empty `hookErrors`. A clean, silent hook leaves none of them.
pub fn hook_attachments(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|line| {
            let is_hook_attachment = line["type"] == "attachment"
                && line["attachment"]["type"].as_str().is_some_and(|t| t.starts_with("hook_"));
            let stop_summary_errors = line["type"] == "system"
                && line["subtype"] == "stop_hook_summary"
                && line["hookErrors"].as_array().is_some_and(|e| !e.is_empty());
            is_hook_attachment || stop_summary_errors
        })
        .collect()
}

/// `(id, name)` of every distinct `tool_use` block the assistant lines carry, in order.
pub fn tool_uses(lines: &[Value]) -> Vec<(String, String)> {
    let mut seen = Vec::<(String, String)>::new();
    for block in content_blocks(lines, "assistant").filter(|b| b["type"] == "tool_use") {
        let id = block["id"].as_str().unwrap_or_default().to_owned();
        if !seen.iter().any(|(known, _)| *known == id) {
            seen.push((id, block["name"].as_str().unwrap_or_default().to_owned()));
        }
    }
    seen
}

/// `(tool_use_id, is_error)` of every `tool_result` block the user lines carry, in order.
pub fn tool_results(lines: &[Value]) -> Vec<(String, bool)> {
    content_blocks(lines, "user")
        .filter(|b| b["type"] == "tool_result")
        .map(|b| (b["tool_use_id"].as_str().unwrap_or_default().to_owned(), b["is_error"] == Value::Bool(true)))
        .collect()
}

fn content_blocks<'a>(lines: &'a [Value], line_type: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    lines
        .iter()
        .filter(move |line| line["type"] == line_type)
        .filter_map(|line| line["message"]["content"].as_array())
        .flatten()
}
