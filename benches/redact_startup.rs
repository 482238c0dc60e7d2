//! Cold cost of redaction in a hook process: build a `Redactor` and redact one typical 2 KB hook
//! payload, in a fresh process each time (lazy statics and regexes start cold, as in a hook).
//!
//! `cargo bench --bench redact_startup` runs itself as a child 200 times per payload and prints
//! the median and 90th percentile. Payloads: a PostToolUse without secrets, and the same with
//! a GitHub token and a password in the command output (so regexes get compiled).

use std::process::Command;
use std::time::Instant;

use claude_code_sync::redact::Redactor;

const RUNS: usize = 200;

fn payload(with_secret: bool) -> serde_json::Value {
    let mut out = String::new();
    for i in 0..18 {
        out.push_str(&format!(
            "test redact::tests::case_{i:02} ... ok (commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b{i:04})\n"
        ));
    }
    if with_secret {
        out.push_str("export GITHUB_TOKEN=ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi\nDB_PASSWORD=Zq8#kL2pW9\n");
    }
    serde_json::json!({
        "session_id": "b78465cc-75ba-4386-99ff-233201aa50f6",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-ws/b78465cc-75ba-4386-99ff-233201aa50f6.jsonl",
        "cwd": "/home/dev/ws", "prompt_id": "f75839cf-9e06-4859-9cd3-1823bb84d235",
        "permission_mode": "default", "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_input": {"command": "cargo test --workspace 2>&1 | tail -20", "description": "Run the tests"},
        "tool_response": {"stdout": out, "stderr": "", "interrupted": false, "isImage": false},
        "tool_use_id": "toolu_01ABCDEFGHJKLMNPQRSTUVWX", "duration_ms": 4242
    })
}

fn child(with_secret: bool) {
    let text = serde_json::to_string(&payload(with_secret)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = Instant::now();
    let (r, _) = Redactor::new(&[], &[]);
    r.redact_json(&mut v);
    let ns = t.elapsed().as_nanos();
    std::hint::black_box(&v);
    println!("{ns}");
}

fn main() {
    if let Ok(mode) = std::env::var("REDACT_STARTUP_CHILD") {
        child(mode == "secret");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for (label, mode) in [("2 KB payload, no secret", "clean"), ("2 KB payload, 2 secrets", "secret")] {
        let size = serde_json::to_string(&payload(mode == "secret")).unwrap().len();
        let mut times: Vec<u128> = (0..RUNS)
            .map(|_| {
                let out = Command::new(&exe).env("REDACT_STARTUP_CHILD", mode).output().unwrap();
                String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
            })
            .collect();
        times.sort();
        let us = |ns: u128| ns as f64 / 1000.0;
        println!(
            "Redactor::new + first redact_json, {label} ({size} bytes), cold process: median {:.0} µs, p90 {:.0} µs, max {:.0} µs ({RUNS} runs)",
            us(times[RUNS / 2]),
            us(times[RUNS * 9 / 10]),
            us(times[RUNS - 1])
        );
    }
}
