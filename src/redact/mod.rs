//! Secret redaction (interim core; the full rule engine replaces this module).
//!
//! Contract used by the rest of the product: `Redactor::new(extra, allowlist)`,
//! `redact(&str) -> Cow<str>`, `redact_json(&mut Value)`, `findings(&str)`.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPattern {
    pub kind: String,
    pub regex: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: String,
    pub start: usize,
    pub len: usize,
}

struct Rule {
    kind: String,
    regex: Regex,
}

pub struct Redactor {
    extra: Vec<Rule>,
    allowlist: Vec<String>,
}

/// Built-in rules: (kind, regex). The secret is capture group `s` when present, else the match.
const BUILTIN: &[(&str, &str)] = &[
    ("private-key", r"-----BEGIN[A-Z ]*PRIVATE KEY-----(?:.|\n|\\n)*?-----END[A-Z ]*PRIVATE KEY-----"),
    ("aws-access-key-id", r"\b(?P<s>(?:AKIA|ASIA)[A-Z0-9]{16})\b"),
    ("github-token", r"\b(?P<s>(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}))"),
    ("anthropic-key", r"\b(?P<s>sk-ant-[A-Za-z0-9_\-]{20,})"),
    ("openai-key", r"\b(?P<s>sk-(?:proj-)?[A-Za-z0-9_\-]{32,})"),
    ("slack-token", r"\b(?P<s>xox[abposr]-[A-Za-z0-9\-]{10,})"),
    ("authorization-header", r"(?i)\bauthorization\s*:\s*(?:bearer|basic)\s+(?P<s>[A-Za-z0-9._~+/=\-]{8,})"),
    ("url-credentials", r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:(?P<s>[^\s@/]+)@"),
    (
        "generic-secret",
        r#"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|client_secret|access[_-]?key)["']?\s*[:=]\s*["']?(?P<s>[^\s"'$<{*][^\s"',;]{5,})"#,
    ),
];

fn builtin_rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        BUILTIN
            .iter()
            .map(|(kind, re)| Rule { kind: kind.to_string(), regex: Regex::new(re).expect("builtin rule compiles") })
            .collect()
    })
}

impl Redactor {
    /// Builds a redactor with the user's extra patterns; a pattern that does not compile is
    /// skipped and described in the returned problems.
    pub fn new(extra: &[UserPattern], allowlist: &[String]) -> (Redactor, Vec<String>) {
        let mut problems = Vec::new();
        let extra = extra
            .iter()
            .filter_map(|p| match Regex::new(&p.regex) {
                Ok(regex) => Some(Rule { kind: p.kind.clone(), regex }),
                Err(e) => {
                    problems.push(format!("redact_patterns: pattern for \"{}\" skipped: {e}", p.kind));
                    None
                }
            })
            .collect();
        (Redactor { extra, allowlist: allowlist.to_vec() }, problems)
    }

    pub fn findings(&self, text: &str) -> Vec<Finding> {
        let mut found: Vec<Finding> = Vec::new();
        for rule in builtin_rules().iter().chain(&self.extra) {
            for caps in rule.regex.captures_iter(text) {
                let m = caps.name("s").or_else(|| caps.get(0)).expect("group 0 exists");
                let secret = m.as_str();
                if secret.starts_with("[REDACTED:") || self.allowlist.iter().any(|a| a == secret) {
                    continue;
                }
                if found.iter().any(|f| m.start() < f.start + f.len && f.start < m.end()) {
                    continue;
                }
                found.push(Finding { kind: rule.kind.clone(), start: m.start(), len: m.len() });
            }
        }
        found.sort_by_key(|f| f.start);
        found
    }

    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let found = self.findings(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            out.push_str(&text[at..f.start]);
            out.push_str(&format!("[REDACTED:{}]", f.kind));
            at = f.start + f.len;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Redacts every string value (keys stay), iteratively so deep nesting cannot overflow.
    pub fn redact_json(&self, value: &mut Value) {
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => {
                    if let Cow::Owned(clean) = self.redact(s) {
                        *s = clean;
                    }
                }
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(map) => stack.extend(map.values_mut()),
                _ => {}
            }
        }
    }
}
