//! Small real HTTP servers on 127.0.0.1 for the install tests: one serving a folder of release
//! assets (and counting what is fetched), one serving git repositories over smart HTTP through
//! `git http-backend`, as GitHub serves a marketplace.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What a handler answers: status, headers, body.
type Reply = (u16, Vec<(String, String)>, Vec<u8>);

struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A server on a loopback port until dropped; `requests()` lists "METHOD /path" seen so far.
pub struct HttpServer {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    fn start(port: u16, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let (log2, stop2) = (log.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, log) = (handler.clone(), log2.clone());
                thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        HttpServer { port, log, stop }
    }

    /// Serves the files of `dir` by name (GET only).
    pub fn files(dir: &Path) -> HttpServer {
        HttpServer::files_on(dir, 0)
    }

    /// The same on a given port (to bring a "host" back where clients expect it).
    pub fn files_on(dir: &Path, port: u16) -> HttpServer {
        let dir = dir.to_path_buf();
        HttpServer::start(port, move |req| {
            let name = req.target.trim_start_matches('/');
            match std::fs::read(dir.join(name)) {
                Ok(body) if req.method == "GET" && !name.contains("..") && !name.is_empty() => (200, vec![], body),
                _ => (404, vec![], b"not found".to_vec()),
            }
        })
    }

    /// Serves the bare repositories under `root` over git's smart HTTP protocol.
    pub fn git(root: &Path) -> HttpServer {
        let root = root.to_path_buf();
        HttpServer::start(0, move |req| git_http_backend(&root, req))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// How many GETs of `/<name>` were served.
    pub fn fetches(&self, name: &str) -> usize {
        let want = format!("GET /{name}");
        self.requests().iter().filter(|r| **r == want).count()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and closes the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A loopback port with nothing listening on it (for a host that is down).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(mut stream: TcpStream, handler: &dyn Fn(&Request) -> Reply, log: &Mutex<Vec<String>>) {
    let Some(req) = read_request(&mut stream) else { return };
    let path = req.target.split('?').next().unwrap_or("").to_string();
    log.lock().unwrap().push(format!("{} {path}", req.method));
    let (status, headers, body) = handler(&req);
    let mut head =
        format!("HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n", reason(status), body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Status",
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if let Some(len) = headers.get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    } else if headers.get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Some(Request { method, target, headers, body })
}

/// One request through `git http-backend` (CGI), as a web server runs it.
fn git_http_backend(root: &Path, req: &Request) -> Reply {
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &req.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", req.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (header, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ] {
        if let Some(v) = req.headers.get(header) {
            cmd.env(var, v);
        }
    }
    let Ok(mut child) = cmd.spawn() else { return (500, vec![], b"no git".to_vec()) };
    let mut stdin = child.stdin.take().unwrap();
    let body = req.body.clone();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    // CGI output: headers, a blank line, the body.
    let split = out.stdout.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let split = split.or_else(|| out.stdout.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, skip)) = split else { return (500, vec![], out.stdout) };
    let mut status = 200;
    let mut headers = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout[..at]).lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("status") {
                status = v.trim().split(' ').next().and_then(|s| s.parse().ok()).unwrap_or(500);
            } else {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    (status, headers, out.stdout[at + skip..].to_vec())
}

/// A bare clone of the committed repository at `repo` under `root/<name>.git`, served as is.
pub fn bare_clone(repo: &Path, root: &Path, name: &str) -> PathBuf {
    let bare = root.join(format!("{name}.git"));
    let status = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(repo)
        .arg(&bare)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .expect("git clone --bare");
    assert!(status.success(), "git clone --bare {}", repo.display());
    bare
}
