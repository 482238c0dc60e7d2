//! The fake OpenSync deployment (tests/opensync/fake_opensync.py) on 127.0.0.1, with its
//! test-only routes to read what it stored and to inject faults.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::sandbox::repo_root;

pub struct FakeOpenSync {
    child: Child,
    pub url: String,
    pub port: u16,
}

pub struct FakeOptions<'a> {
    pub keys: &'a [&'a str],
    pub port: u16,
    pub session_window_ms: u64,
    pub message_window_ms: u64,
}

impl Default for FakeOptions<'_> {
    fn default() -> Self {
        FakeOptions { keys: &[], port: 0, session_window_ms: 10_000, message_window_ms: 5_000 }
    }
}

impl FakeOpenSync {
    pub fn start(opts: FakeOptions) -> FakeOpenSync {
        let mut cmd = Command::new("python3");
        cmd.arg(repo_root().join("tests/opensync/fake_opensync.py"))
            .args(["--port", &opts.port.to_string()])
            .args(["--session-window-ms", &opts.session_window_ms.to_string()])
            .args(["--message-window-ms", &opts.message_window_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for key in opts.keys {
            cmd.args(["--key", key]);
        }
        let mut child = cmd.spawn().expect("start python3 tests/opensync/fake_opensync.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("LISTENING ").unwrap_or_else(|| panic!("fake said {line:?}")).to_string();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        FakeOpenSync { child, url, port }
    }

    fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
    }

    /// Everything stored: `sessions`, `messages` (arrival order, with parts), `requests`.
    pub fn state(&self) -> Value {
        Self::client().get(format!("{}/_test/state", self.url)).send().unwrap().json().unwrap()
    }

    pub fn session(&self, external_id: &str) -> Option<Value> {
        let state = self.state();
        state["sessions"].as_array().unwrap().iter().find(|s| s["externalId"] == external_id).cloned()
    }

    /// The session's messages in arrival order.
    pub fn messages(&self, session: &str) -> Vec<Value> {
        let state = self.state();
        state["messages"].as_array().unwrap().iter().filter(|m| m["sessionExternalId"] == session).cloned().collect()
    }

    /// (method path, status) of every request, in order.
    pub fn requests(&self) -> Vec<(String, u64)> {
        let state = self.state();
        state["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    format!("{} {}", r["method"].as_str().unwrap(), r["path"].as_str().unwrap()),
                    r["status"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// The next `times` requests to `path` get `status`.
    pub fn fault(&self, path: &str, status: u16, times: u32) {
        self.fault_with(path, status, times, "injected fault");
    }

    /// Same, answering `{"error": error}`.
    pub fn fault_with(&self, path: &str, status: u16, times: u32, error: &str) {
        let body = serde_json::json!({ "path": path, "status": status, "times": times, "error": error });
        let r = Self::client().post(format!("{}/_test/fault", self.url)).json(&body).send().unwrap();
        assert!(r.status().is_success());
    }
}

impl Drop for FakeOpenSync {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
