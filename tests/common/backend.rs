//! The project's real Convex functions (convex/), hosted in memory by tests/backend/start.mjs
//! on 127.0.0.1, with test-only routes to read tables and inject faults.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::sandbox::repo_root;

pub struct Backend {
    child: Child,
    pub url: String,
    pub port: u16,
}

#[derive(Default)]
pub struct BackendOptions<'a> {
    pub api_key: Option<&'a str>,
    pub port: u16,
    pub without_record_events: bool,
}

impl Backend {
    pub fn start() -> Backend {
        Backend::start_with(BackendOptions::default())
    }

    pub fn start_with(opts: BackendOptions) -> Backend {
        let root = repo_root();
        assert!(
            root.join("node_modules/convex-test").is_dir(),
            "node_modules missing: run `npm ci` in {} (the README's test command does)",
            root.display()
        );
        let mut cmd = Command::new("node");
        cmd.current_dir(&root)
            .arg("tests/backend/start.mjs")
            .args(["--port", &opts.port.to_string(), "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if opts.without_record_events {
            cmd.args(["--without", "recordEvents"]);
        }
        match opts.api_key {
            Some(key) => cmd.env("CLAUDE_SYNC_API_KEY", key),
            None => cmd.env_remove("CLAUDE_SYNC_API_KEY"),
        };
        let mut child = cmd.spawn().expect("start node tests/backend/start.mjs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("LISTENING ").unwrap_or_else(|| panic!("backend said {line:?}")).to_string();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Backend { child, url, port }
    }

    fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
    }

    pub fn table(&self, name: &str) -> Vec<Value> {
        let v: Value = Self::client().get(format!("{}/_test/tables/{name}", self.url)).send().unwrap().json().unwrap();
        v.as_array().cloned().unwrap_or_default()
    }

    /// Events stored for `session`, ordered as the backend stored them.
    pub fn events(&self, session: &str) -> Vec<Value> {
        self.table("events").into_iter().filter(|e| e["sessionId"] == session).collect()
    }

    pub fn session(&self, session: &str) -> Option<Value> {
        self.table("sessions").into_iter().find(|s| s["sessionId"] == session)
    }

    pub fn set_fault(&self, fault: Value) {
        let r = Self::client().post(format!("{}/_test/fault", self.url)).json(&fault).send().unwrap();
        assert!(r.status().is_success());
    }

    pub fn set_deployment_key(&self, key: Option<&str>) {
        let body = json!({ "CLAUDE_SYNC_API_KEY": key });
        let r = Self::client().post(format!("{}/_test/env", self.url)).json(&body).send().unwrap();
        assert!(r.status().is_success());
    }

    pub fn stats(&self) -> Value {
        Self::client().get(format!("{}/_test/stats", self.url)).send().unwrap().json().unwrap()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
