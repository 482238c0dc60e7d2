//! The privacy rules, applied to everything before it is stored or sent:
//! prompts truncated; file contents (Write, Edit, MultiEdit, Read, NotebookEdit) replaced by path
//! and length; tool output reduced to its outcome and lengths unless `sync_tool_output`; tool
//! details only with `sync_tool_calls`; every kept string redacted.
//!
//! Order matters: a string is redacted BEFORE it is truncated, so a cut never leaves the first
//! half of a secret that no rule recognises any more.

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::redact::Redactor;

/// Tools whose input or output carries whole file contents.
const FILE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "Read", "NotebookEdit"];

/// Keys that hold file contents in those tools' inputs and outputs.
const CONTENT_KEYS: &[&str] = &[
    "content",
    "old_string",
    "new_string",
    "new_source",
    "oldString",
    "newString",
    "originalFile",
    "structuredPatch",
    "edits",
];

/// Text past the visible limit that is still scanned, so a secret straddling the cut is
/// recognised whole before the cut is made. Longer than any single secret (PEM blocks included).
const REDACT_MARGIN: usize = 16 * 1024;

/// Bounds for generic structures (tool inputs of unknown tools).
const MAX_DEPTH: usize = 8;
const MAX_ITEMS: usize = 50;

pub struct Privacy<'a> {
    pub redactor: &'a Redactor,
    pub max_prompt_chars: usize,
    pub max_text_chars: usize,
    pub sync_tool_calls: bool,
    pub sync_tool_output: bool,
    pub sync_thinking: bool,
}

impl<'a> Privacy<'a> {
    pub fn new(config: &Config, redactor: &'a Redactor) -> Privacy<'a> {
        Privacy {
            redactor,
            max_prompt_chars: config.max_prompt_chars.value,
            max_text_chars: config.max_text_chars.value,
            sync_tool_calls: config.sync_tool_calls.value,
            sync_tool_output: config.sync_tool_output.value,
            sync_thinking: config.sync_thinking.value,
        }
    }

    /// The rules with every setting at its default (tests of the code that applies them).
    #[cfg(test)]
    pub fn defaults(redactor: &'a Redactor) -> Privacy<'a> {
        Privacy {
            redactor,
            max_prompt_chars: crate::config::DEFAULT_MAX_PROMPT_CHARS,
            max_text_chars: crate::config::DEFAULT_MAX_TEXT_CHARS,
            sync_tool_calls: true,
            sync_tool_output: false,
            sync_thinking: false,
        }
    }

    /// Redacts, then truncates to `limit` characters with a marker saying how much was cut.
    pub fn clip(&self, text: &str, limit: usize) -> String {
        let scan_end = char_boundary(text, limit.saturating_mul(4).saturating_add(REDACT_MARGIN));
        let redacted = self.redactor.redact(&text[..scan_end]);
        let total_chars = if scan_end == text.len() {
            redacted.chars().count()
        } else {
            redacted.chars().count() + text[scan_end..].chars().count()
        };
        if total_chars <= limit {
            return redacted.into_owned();
        }
        let mut out: String = redacted.chars().take(limit).collect();
        out.push_str(&format!("… [truncated {} chars]", total_chars - limit));
        out
    }

    pub fn prompt(&self, text: &str) -> Value {
        json!({ "text": self.clip(text, self.max_prompt_chars), "length": text.chars().count() })
    }

    pub fn text(&self, text: &str) -> String {
        self.clip(text, self.max_text_chars)
    }

    /// A tool's input as it may leave the machine, or `None` when tool details are off.
    pub fn tool_input(&self, tool: &str, input: &Value) -> Option<Value> {
        if !self.sync_tool_calls {
            return None;
        }
        if FILE_TOOLS.contains(&tool) {
            return Some(self.without_contents(input));
        }
        Some(self.generic(input, 0))
    }

    /// A tool's response reduced to outcome and lengths; the text itself (redacted, truncated)
    /// only with `sync_tool_output`, and never file contents.
    pub fn tool_output(&self, tool: &str, response: &Value) -> Value {
        let mut out = Map::new();
        out.insert("outcome".into(), "success".into());
        out.insert("responseLength".into(), json_len(response).into());
        if !self.sync_tool_calls {
            return Value::Object(out);
        }
        if FILE_TOOLS.contains(&tool) {
            if let Value::Object(fields) = self.without_contents(response) {
                out.extend(fields);
            }
            return Value::Object(out);
        }
        match response {
            Value::Object(fields) if tool == "Bash" => {
                for key in ["stdout", "stderr"] {
                    if let Some(s) = fields.get(key).and_then(Value::as_str) {
                        out.insert(format!("{key}Length"), s.chars().count().into());
                        if self.sync_tool_output {
                            out.insert(key.into(), self.text(s).into());
                        }
                    }
                }
                for key in ["interrupted", "isImage", "returnCodeInterpretation"] {
                    if let Some(v) = fields.get(key) {
                        out.insert(key.into(), v.clone());
                    }
                }
            }
            other if self.sync_tool_output => {
                let text = match other {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                out.insert("output".into(), self.text(&text).into());
            }
            _ => {}
        }
        Value::Object(out)
    }

    /// Replaces content-bearing keys by their length; paths and flags stay (redacted).
    fn without_contents(&self, value: &Value) -> Value {
        let Value::Object(fields) = value else {
            return json!({ "length": json_len(value) });
        };
        let mut out = Map::new();
        for (key, v) in fields {
            if CONTENT_KEYS.contains(&key.as_str()) {
                let len = match v {
                    Value::String(s) => s.chars().count(),
                    Value::Array(items) => items.len(),
                    Value::Null => continue,
                    other => json_len(other),
                };
                out.insert(format!("{key}Length"), len.into());
            } else if key == "file" {
                // Read's response: {file: {filePath, content, numLines, ...}}
                out.insert(key.clone(), self.without_contents(v));
            } else {
                out.insert(key.clone(), self.generic(v, MAX_DEPTH - 1));
            }
        }
        Value::Object(out)
    }

    /// Bounded copy of an arbitrary value with every string redacted and truncated.
    fn generic(&self, value: &Value, depth: usize) -> Value {
        match value {
            Value::String(s) => self.text(s).into(),
            Value::Array(items) if depth < MAX_DEPTH => {
                let mut out: Vec<Value> = items.iter().take(MAX_ITEMS).map(|v| self.generic(v, depth + 1)).collect();
                if items.len() > MAX_ITEMS {
                    out.push(format!("… {} more items", items.len() - MAX_ITEMS).into());
                }
                Value::Array(out)
            }
            Value::Object(fields) if depth < MAX_DEPTH => Value::Object(
                fields.iter().take(MAX_ITEMS).map(|(k, v)| (k.clone(), self.generic(v, depth + 1))).collect(),
            ),
            Value::Array(_) | Value::Object(_) => format!("[{} bytes nested too deep]", json_len(value)).into(),
            scalar => scalar.clone(),
        }
    }
}

/// The largest char boundary at or below `at`.
fn char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

fn json_len(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        other => serde_json::to_string(other).map(|s| s.len()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privacy(redactor: &Redactor) -> Privacy<'_> {
        Privacy {
            redactor,
            max_prompt_chars: 20,
            max_text_chars: 30,
            sync_tool_calls: true,
            sync_tool_output: false,
            sync_thinking: false,
        }
    }

    #[test]
    fn clip_redacts_before_cutting_so_no_half_secret_survives() {
        let (r, _) = Redactor::new(&[], &[]);
        let p = privacy(&r);
        let text = format!("{} AKIAQ7XN3VBTR5KLM2PW and more", "x".repeat(14));
        let out = p.clip(&text, 20);
        assert!(!out.contains("AKIA"), "{out}");
        assert!(out.starts_with("xxxxxxxxxxxxxx [RED"), "{out}");
        assert!(out.contains("[truncated"), "{out}");
        assert_eq!(p.clip("short", 20), "short");
    }

    #[test]
    fn clip_counts_characters_not_bytes() {
        let (r, _) = Redactor::new(&[], &[]);
        let p = privacy(&r);
        let text = "é".repeat(25);
        let out = p.clip(&text, 20);
        assert!(out.starts_with(&"é".repeat(20)));
        assert!(out.ends_with("[truncated 5 chars]"), "{out}");
    }

    #[test]
    fn file_contents_become_lengths() {
        let (r, _) = Redactor::new(&[], &[]);
        let p = privacy(&r);
        let input = json!({"file_path": "/w/a.txt", "content": "secret body\n"});
        assert_eq!(p.tool_input("Write", &input).unwrap(), json!({"file_path": "/w/a.txt", "contentLength": 12}));
        let edit = json!({"file_path": "/w/a.txt", "old_string": "ab", "new_string": "abc", "replace_all": false});
        assert_eq!(
            p.tool_input("Edit", &edit).unwrap(),
            json!({"file_path": "/w/a.txt", "old_stringLength": 2, "new_stringLength": 3, "replace_all": false})
        );
        let read = json!({"type": "text", "file": {"filePath": "/w/a.txt", "content": "one\ntwo\n", "numLines": 2}});
        let out = p.tool_output("Read", &read);
        assert_eq!(out["file"], json!({"filePath": "/w/a.txt", "contentLength": 8, "numLines": 2}));
        assert!(!out.to_string().contains("one\\ntwo"));
    }

    #[test]
    fn tool_output_is_outcome_and_lengths_unless_asked() {
        let (r, _) = Redactor::new(&[], &[]);
        let mut p = privacy(&r);
        let bash =
            json!({"stdout": "hello ghp_R8fK2mQ9xLp4Tt7Vw1Yz3Bc6Dn0Hj5Gs2Ea9", "stderr": "", "interrupted": false});
        let out = p.tool_output("Bash", &bash);
        assert_eq!(out["stdoutLength"], 46);
        assert!(out.get("stdout").is_none());
        p.sync_tool_output = true;
        let out = p.tool_output("Bash", &bash);
        assert_eq!(out["stdout"], "hello [REDACTED:github-pat]");
    }

    #[test]
    fn tool_details_off_keeps_only_the_outcome() {
        let (r, _) = Redactor::new(&[], &[]);
        let mut p = privacy(&r);
        p.sync_tool_calls = false;
        assert_eq!(p.tool_input("Bash", &json!({"command": "ls"})), None);
        let out = p.tool_output("Bash", &json!({"stdout": "x"}));
        assert_eq!(out, json!({"outcome": "success", "responseLength": 14}));
    }

    #[test]
    fn generic_inputs_are_bounded() {
        let (r, _) = Redactor::new(&[], &[]);
        let p = privacy(&r);
        let mut deep = json!("leaf");
        for _ in 0..20 {
            deep = json!([deep]);
        }
        let out = p.tool_input("Mystery", &json!({"list": (0..80).collect::<Vec<_>>(), "deep": deep})).unwrap();
        assert_eq!(out["list"].as_array().unwrap().len(), MAX_ITEMS + 1);
        assert!(out.to_string().contains("nested too deep"));
    }
}
