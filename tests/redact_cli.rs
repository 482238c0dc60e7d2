//! `claude-code-sync redact [FILE] [--explain]` from the outside, as users and scripts call it.

use std::io::Write;
use std::process::{Command, Stdio};

const TOKEN: &str = "ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi";

fn run(args: &[&str], stdin: &[u8]) -> (Vec<u8>, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_claude-code-sync"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.stdout, out.status.success())
}

#[test]
fn stdin_is_redacted_to_stdout() {
    let input = format!("line 1\nexport GITHUB_TOKEN={TOKEN}\nDB_PASSWORD=hunter2x\n");
    let (out, ok) = run(&["redact"], input.as_bytes());
    assert!(ok);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "line 1\nexport GITHUB_TOKEN=[REDACTED:github-pat]\nDB_PASSWORD=[REDACTED:password]\n"
    );
}

#[test]
fn input_without_secrets_comes_back_byte_for_byte() {
    let mut input = b"commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39\r\n\xff\xfe not utf-8 \xc3\n".to_vec();
    input.extend_from_slice("uuid 4393a4ec-3239-4206-97e6-49e5a86ce22c é\n".as_bytes());
    let (out, ok) = run(&["redact"], &input);
    assert!(ok);
    assert_eq!(out, input);
}

#[test]
fn a_file_argument_is_read_instead_of_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.log");
    std::fs::write(&path, format!("token {TOKEN}\n")).unwrap();
    let (out, ok) = run(&["redact", path.to_str().unwrap()], b"ignored");
    assert!(ok);
    assert_eq!(out, b"token [REDACTED:github-pat]\n");
}

#[test]
fn explain_lists_findings_without_the_secret() {
    let input = format!("first\n  x={TOKEN}\n");
    let (out, ok) = run(&["redact", "--explain"], input.as_bytes());
    assert!(ok);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out, "2:5\tgithub-pat\trule github-pat\tlength 40\n1 secret(s) found\n");
    assert!(!out.contains("ghp_"));
}

/// `--explain` names the rule that fired, so a user can tell why a span went: a password in a
/// sentence is found by the prose rule, the same password assigned by the assignment rule.
#[test]
fn explain_names_the_rule_that_fired() {
    let input = "my password is Xk9-plover-Quartz77 if the console asks
export DB_PASSWORD='Xk9-plover-Quartz77'
";
    let (out, ok) = run(&["redact", "--explain"], input.as_bytes());
    assert!(ok);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("1:16\tpassword\trule prose-password\tlength 19\n"), "{out}");
    assert!(out.contains("2:21\tpassword\trule secret-assignment\tlength 19\n"), "{out}");
    assert!(!out.contains("Xk9"), "{out}");
    // And the redacted text keeps the sentence.
    let (red, _) = run(&["redact"], input.as_bytes());
    assert!(String::from_utf8(red).unwrap().starts_with("my password is [REDACTED:password] if the console asks\n"));
}

#[test]
fn a_missing_file_is_an_error() {
    let (out, ok) = run(&["redact", "/nonexistent/file"], b"");
    assert!(!ok);
    assert!(out.is_empty());
}
