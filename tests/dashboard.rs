//! The dashboard's server, as a user starts it: the real binary on 127.0.0.1 serving a store
//! imported from the real fixture transcripts. HTTP is spoken by hand here so that each test
//! controls the Host header and sees the raw answer.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

use common::sandbox::{BIN, Sandbox, repo_root};
use serde_json::Value;

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn imported_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    import_fixtures(&sb);
    sb
}

/// `sync-now --all` of the real fixture transcripts (and delivery, when a backend is configured).
fn import_fixtures(sb: &Sandbox) {
    let out = sb
        .command(Path::new(BIN))
        .args(["sync-now", "--all"])
        .arg(repo_root().join("tests/fixtures/claude-code/transcripts"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn start(sb: &Sandbox, extra: &[&str]) -> Server {
    let mut child = sb
        .command(Path::new(BIN))
        .args(["dashboard", "--no-open"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("first line is not the URL: {line:?}"))
        .parse()
        .unwrap();
    Server { child, port }
}

fn request(port: u16, method: &str, path: &str, host: &str, extra: &str) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().into(), v.trim().into())).collect();
    Answer { status, headers, body: body.to_string() }
}

fn get(server: &Server, path: &str) -> Answer {
    request(server.port, "GET", path, &format!("127.0.0.1:{}", server.port), "")
}

fn cli_json(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb.command(Path::new(BIN)).arg("sessions").arg("--json").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn prints_its_loopback_url_first_and_refuses_foreign_hosts() {
    let sb = imported_sandbox();
    let server = start(&sb, &[]);
    let ok = get(&server, "/");
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("<script type=\"module\" src=\"/app.js\">"));
    // DNS rebinding: a name that resolves to 127.0.0.1 but is not ours.
    for host in ["evil.example", &format!("evil.example:{}", server.port), &format!("127.0.0.1:{}", server.port + 1)] {
        let a = request(server.port, "GET", "/api/overview", host, "");
        assert_eq!(a.status, 421, "Host {host}");
        assert!(!a.body.contains("sessions"), "nothing of the data for Host {host}");
    }
    assert_eq!(request(server.port, "GET", "/", &format!("localhost:{}", server.port), "").status, 200);
    let cross = request(
        server.port,
        "GET",
        "/api/overview",
        &format!("127.0.0.1:{}", server.port),
        "Sec-Fetch-Site: cross-site\r\n",
    );
    assert_eq!(cross.status, 403);
    let post =
        request(server.port, "POST", "/api/overview", &format!("127.0.0.1:{}", server.port), "Content-Length: 0\r\n");
    assert_eq!(post.status, 405);
}

#[test]
fn ctrl_c_stops_it() {
    let sb = Sandbox::new();
    let mut server = start(&sb, &[]);
    assert_eq!(get(&server, "/api/info").status, 200);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.child.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(nix::libc::SIGINT), "{status:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still serving 5 s after SIGINT");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err(), "the port is closed");
}

#[test]
fn every_answer_carries_a_strict_csp_and_assets_are_embedded() {
    let sb = imported_sandbox();
    let server = start(&sb, &[]);
    for path in ["/", "/app.js", "/charts.js", "/style.css", "/favicon.svg", "/api/overview", "/nope"] {
        let a = get(&server, path);
        let csp = a.header("Content-Security-Policy").unwrap_or_else(|| panic!("{path}: no CSP"));
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(a.header("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(a.header("X-Frame-Options"), Some("DENY"));
    }
    // No asset names another origin: the page works offline.
    for path in ["/", "/app.js", "/charts.js", "/style.css"] {
        let body = get(&server, path).body;
        for needle in ["http://", "https://", "//cdn"] {
            let hits: Vec<_> = body.match_indices(needle).map(|(i, _)| &body[i..(i + 40).min(body.len())]).collect();
            assert!(hits.iter().all(|h| h.starts_with("http://www.w3.org/2000/svg")), "{path}: {hits:?}");
        }
    }
    assert_eq!(get(&server, "/api/info").header("Cache-Control"), Some("no-store"));
}

#[test]
fn api_figures_equal_sessions_json_for_the_same_filters() {
    let sb = imported_sandbox();
    let server = start(&sb, &[]);
    let all = cli_json(&sb, &[]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    let overview = get(&server, "/api/overview").json();
    let sum = |f: &dyn Fn(&Value) -> i64| all.iter().map(f).sum::<i64>();
    let t = &overview["totals"];
    assert_eq!(t["sessions"].as_i64(), Some(2));
    assert_eq!(t["prompts"].as_i64().unwrap(), sum(&|s| s["prompts"].as_i64().unwrap()));
    assert_eq!(t["toolCalls"].as_i64().unwrap(), sum(&|s| s["toolCallCount"].as_i64().unwrap()));
    for key in ["input", "output", "cacheCreation", "cacheRead"] {
        assert_eq!(t["tokens"][key].as_i64().unwrap(), sum(&|s| s["tokenUsage"][key].as_i64().unwrap()), "{key}");
    }
    let cost: f64 = all.iter().map(|s| s["cost"].as_f64().unwrap()).sum();
    assert!((t["cost"].as_f64().unwrap() - cost).abs() < 1e-12);
    // The tool index counts the same calls as the session rows.
    let tools = get(&server, "/api/tools").json();
    assert_eq!(tools["summary"]["calls"].as_i64().unwrap(), t["toolCalls"].as_i64().unwrap());
    // Once the index is built, the overview carries the same summary.
    let overview = get(&server, "/api/overview").json();
    assert_eq!(overview["toolsPending"], false);
    assert_eq!(overview["tools"], tools["summary"]);

    let page = get(&server, "/api/sessions").json();
    assert_eq!(page["sessions"].as_array().unwrap(), all, "the page's rows are sessions --json's");

    for (query, args) in [
        ("q=spawn%20a%20subagent", vec!["--search", "spawn a subagent"]),
        ("until=2020-01-01", vec!["--until", "2020-01-01"]),
        ("since=2026-11-24", vec!["--since", "2026-11-24"]),
        ("source=opencode", vec!["--source", "opencode"]),
        ("model=claude-opus-5-5&branch=HEAD", vec!["--model", "claude-opus-5-5", "--branch", "HEAD"]),
    ] {
        let api = get(&server, &format!("/api/sessions?{query}")).json();
        let cli = cli_json(&sb, &args);
        assert_eq!(&api["sessions"], &cli, "{query}");
        assert_eq!(api["total"].as_u64().unwrap() as usize, cli.as_array().unwrap().len());
    }
    assert_eq!(get(&server, "/api/sessions?q=spawn%20a%20subagent").json()["total"], 1);
    assert_eq!(get(&server, "/api/sessions?source=opencode").json()["total"], 0);
    let bad = get(&server, "/api/sessions?since=yesterday");
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("not a date"));
}

#[test]
fn session_detail_and_exports() {
    let sb = imported_sandbox();
    let server = start(&sb, &[]);
    let id = "4393a4ec-3239-4206-97e6-49e5a86ce22c";
    let detail = get(&server, &format!("/api/session?id={id}")).json();
    assert_eq!(detail["session"]["sessionId"], id);
    let turn = &detail["turns"][0];
    assert_eq!(turn["prompt"]["text"], "SCENARIO:agent spawn a subagent");
    let agent = turn["items"].as_array().unwrap().iter().find(|i| i["tool"] == "Agent").unwrap();
    assert_eq!(agent["outcome"], "ok");
    assert_eq!(agent["subagents"][0]["items"][1]["tool"], "Bash");
    // Per-turn tokens: each message once; this session's are its own plus the subagent's.
    let tokens = &detail["session"]["tokenUsage"];
    assert_eq!(turn["tokens"]["output"], tokens["output"]);
    assert_eq!(get(&server, "/api/session?id=nope").status, 404);

    let csv = get(&server, "/api/export?format=csv");
    assert_eq!(csv.status, 200);
    assert!(csv.header("Content-Disposition").unwrap().contains("attachment"));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("session_id,source,"));
    let jsonl = get(&server, "/api/export?format=jsonl&since=2026-11-24");
    let rows: Vec<Value> = jsonl.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(Value::Array(rows), cli_json(&sb, &["--since", "2026-11-24"]));
    assert_eq!(get(&server, "/api/export?format=xml").status, 400);
}

#[test]
fn reads_the_store_read_only_while_hooks_keep_writing() {
    let sb = Sandbox::new();
    // No store yet: the dashboard serves empty figures and creates nothing.
    let server = start(&sb, &[]);
    assert_eq!(get(&server, "/api/overview").json()["totals"]["sessions"], 0);
    assert!(!sb.data.join("store.db").exists(), "the dashboard must not create the store");
    // A hook records a session while the dashboard runs; the next request sees it.
    let payload =
        std::fs::read(repo_root().join("tests/fixtures/claude-code/hook-payloads/SessionStart-startup.json")).unwrap();
    let out = sb.hook("session-start", &payload);
    assert!(out.status.success());
    let overview = get(&server, "/api/overview").json();
    assert_eq!(overview["totals"]["sessions"], 1);
    let id = cli_json(&sb, &[])[0]["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(get(&server, &format!("/api/session?id={id}")).status, 200);
    assert_eq!(get(&server, "/api/tools").json()["summary"]["calls"], 0);
    let failure =
        std::fs::read(repo_root().join("tests/fixtures/claude-code/hook-payloads/PostToolUseFailure-Bash.json"))
            .unwrap();
    let out = sb.hook("post-tool-use-failure", &failure);
    assert!(out.status.success(), "hooks write beside the open dashboard");
    // The tool index catches up with the new row.
    let tools = get(&server, "/api/tools").json();
    assert_eq!((tools["summary"]["calls"].as_i64(), tools["summary"]["failures"].as_i64()), (Some(1), Some(1)));
    drop(server);
    let after_hook = std::fs::read(sb.data.join("store.db")).unwrap();
    // The main file only changes through checkpoints of hook writes, never by the dashboard:
    // reading again after stopping it leaves it as the hooks left it.
    let server = start(&sb, &[]);
    for path in ["/api/overview", "/api/sessions", "/api/tools", "/api/facets"] {
        assert_eq!(get(&server, path).status, 200, "{path}");
    }
    drop(server);
    assert_eq!(std::fs::read(sb.data.join("store.db")).unwrap(), after_hook);
}

/// `--source remote`: the project's real Convex functions on loopback (tests/backend), fed by
/// `sync-now --all`; the page's API answers in the local shape, and the key never leaves.
#[test]
fn remote_source_reads_the_deployment_with_the_key_kept_in_the_server() {
    use common::backend::{Backend, BackendOptions};
    const KEY: &str = "dashboard-remote-key-0123456789";
    let backend = Backend::start_with(BackendOptions { api_key: Some(KEY), ..Default::default() });
    let sb = Sandbox::new();
    sb.write_config(&serde_json::json!({ "convex_url": backend.url, "api_key": KEY }));
    import_fixtures(&sb);
    let server = start(&sb, &["--source", "remote"]);
    let no_key = |a: &Answer| assert!(!a.body.contains(KEY), "the key reached the page: {}", a.body);

    let info = get(&server, "/api/info");
    no_key(&info);
    assert_eq!(info.json()["remote"], "127.0.0.1");
    assert_eq!(info.json()["remoteFirst"], true);

    let local = get(&server, "/api/sessions?from=local").json();
    let remote = get(&server, "/api/sessions?from=remote");
    no_key(&remote);
    let remote = remote.json();
    assert_eq!(remote["total"], local["total"]);
    for (l, r) in local["sessions"].as_array().unwrap().iter().zip(remote["sessions"].as_array().unwrap()) {
        for key in ["sessionId", "source", "projectName", "tokenUsage", "cost", "prompts", "toolCallCount"] {
            assert_eq!(l[key], r[key], "{key} of {}", l["sessionId"]);
        }
    }
    let overview = get(&server, "/api/overview?from=remote").json();
    assert_eq!(overview["totals"]["tokens"], get(&server, "/api/overview").json()["totals"]["tokens"]);
    assert_eq!(get(&server, "/api/sessions?from=remote&source=opencode").json()["total"], 0);

    let id = "4393a4ec-3239-4206-97e6-49e5a86ce22c";
    let detail = get(&server, &format!("/api/session?from=remote&id={id}"));
    no_key(&detail);
    let detail = detail.json();
    let agent = detail["turns"][0]["items"].as_array().unwrap().iter().find(|i| i["tool"] == "Agent").cloned().unwrap();
    assert_eq!(agent["subagents"][0]["items"][1]["tool"], "Bash");
    let tools = get(&server, "/api/tools?from=remote").json();
    assert_eq!(tools["summary"]["calls"], get(&server, "/api/tools").json()["summary"]["calls"]);
    drop(server);

    // A wrong key: the deployment refuses, the page gets the reason, never a key.
    sb.write_config(&serde_json::json!({ "convex_url": backend.url, "api_key": "wrong-key-0123456789-abcdef" }));
    let server = start(&sb, &[]);
    let refused = get(&server, "/api/sessions?from=remote");
    assert_eq!(refused.status, 502);
    assert!(!refused.body.contains("wrong-key-0123456789-abcdef") && !refused.body.contains(KEY), "{}", refused.body);
    assert!(refused.body.contains("not accepted"), "{}", refused.body);
}
