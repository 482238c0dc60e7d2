//! Reading and parsing a hook's stdin without ever failing on it: the size is capped, invalid
//! UTF-8 is replaced, unknown fields and events are kept as they are, and input that is not
//! JSON at all still yields the session id when it can be found.

use std::io::{self, IsTerminal, Read};

use serde_json::{Map, Value};

/// Larger inputs are not parsed (a hook must stay fast); the event is recorded as oversized.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Past the cap, stdin is still drained (so Claude Code's write never fails) up to this much.
const MAX_DRAIN_BYTES: u64 = 256 * 1024 * 1024;

pub struct RawInput {
    pub bytes: Vec<u8>,
    /// Bytes offered on stdin (up to the drain limit).
    pub total: u64,
}

impl RawInput {
    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }
}

/// Reads stdin, unless it is a terminal (a person running a hook subcommand by hand).
pub fn read_stdin() -> io::Result<RawInput> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Ok(RawInput { bytes: Vec::new(), total: 0 });
    }
    read_capped(stdin.lock(), MAX_INPUT_BYTES)
}

pub fn read_capped(reader: impl Read, cap: usize) -> io::Result<RawInput> {
    let mut bytes = Vec::new();
    let mut limited = reader.take(cap as u64);
    limited.read_to_end(&mut bytes)?;
    let mut rest = limited.into_inner();
    let drained = io::copy(&mut (&mut rest).take(MAX_DRAIN_BYTES), &mut io::sink())?;
    Ok(RawInput { total: bytes.len() as u64 + drained, bytes })
}

/// The hook's JSON object, looked at field by field.
pub struct HookInput {
    fields: Map<String, Value>,
    /// Why the input could not be read as a JSON object, if it could not.
    pub problem: Option<String>,
}

impl HookInput {
    pub fn parse(raw: &RawInput) -> HookInput {
        if raw.truncated() {
            return HookInput::sniffed(
                raw,
                format!("input of {} bytes exceeds the {} byte cap", raw.total, raw.bytes.len()),
            );
        }
        let text = String::from_utf8_lossy(&raw.bytes);
        if text.trim().is_empty() {
            return HookInput { fields: Map::new(), problem: Some("empty input".into()) };
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(fields)) => HookInput { fields, problem: None },
            Ok(other) => HookInput {
                fields: Map::new(),
                problem: Some(format!("input is JSON but not an object ({})", type_name(&other))),
            },
            Err(e) => HookInput::sniffed(raw, format!("input is not valid JSON ({e})")),
        }
    }

    /// Best effort for unparseable input: pick the common string fields out of the raw text.
    fn sniffed(raw: &RawInput, problem: String) -> HookInput {
        let text = String::from_utf8_lossy(&raw.bytes[..raw.bytes.len().min(64 * 1024)]);
        let mut fields = Map::new();
        for key in ["session_id", "transcript_path", "cwd", "hook_event_name"] {
            if let Some(value) = sniff_string(&text, key) {
                fields.insert(key.to_string(), Value::String(value));
            }
        }
        HookInput { fields, problem: Some(problem) }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    pub fn value(&self, key: &str) -> Option<&Value> {
        self.fields.get(key).filter(|v| !v.is_null())
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.fields.get(key).and_then(Value::as_bool)
    }

    pub fn number(&self, key: &str) -> Option<f64> {
        self.fields.get(key).and_then(Value::as_f64)
    }
}

/// Finds `"key":"value"` (simple strings, no escapes) in raw text.
fn sniff_string(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let after = &text[text.find(&needle)? + needle.len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let end = after.find(['"', '\\'])?;
    let value = &after[..end];
    (!value.is_empty() && value.len() <= 4096).then(|| value.to_string())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bytes: &[u8]) -> RawInput {
        read_capped(bytes, 1024).unwrap()
    }

    #[test]
    fn parses_real_payload_and_keeps_unknown_fields() {
        let input = HookInput::parse(&raw(br#"{"session_id":"s1","cwd":"/w","brand_new":{"x":1}}"#));
        assert!(input.problem.is_none());
        assert_eq!(input.str("session_id"), Some("s1"));
        assert_eq!(input.value("brand_new").unwrap()["x"], 1);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut bytes = br#"{"session_id":"s1","prompt":"bad "#.to_vec();
        bytes.extend([0xff, 0xfe]);
        bytes.extend(br#" end"}"#);
        let input = HookInput::parse(&raw(&bytes));
        assert!(input.problem.is_none());
        assert_eq!(input.str("prompt"), Some("bad \u{fffd}\u{fffd} end"));
    }

    #[test]
    fn truncated_or_broken_json_still_yields_the_session() {
        let input = HookInput::parse(&raw(br#"{"session_id":"abc-123","cwd":"/w","tool_input":{"x"#));
        assert!(input.problem.as_deref().unwrap().contains("not valid JSON"));
        assert_eq!(input.str("session_id"), Some("abc-123"));
        assert_eq!(input.str("cwd"), Some("/w"));
    }

    #[test]
    fn oversized_input_is_drained_and_flagged() {
        let mut big = br#"{"session_id":"s9","x":""#.to_vec();
        big.extend(vec![b'a'; 5000]);
        let input = read_capped(&big[..], 100).unwrap();
        assert!(input.truncated());
        assert_eq!(input.total, big.len() as u64);
        let parsed = HookInput::parse(&input);
        assert!(parsed.problem.as_deref().unwrap().contains("exceeds"));
        assert_eq!(parsed.str("session_id"), Some("s9"));
    }

    #[test]
    fn deep_nesting_and_non_objects_are_problems_not_crashes() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let input = HookInput::parse(&read_capped(deep.as_bytes(), 1 << 20).unwrap());
        assert!(input.problem.is_some());
        assert!(HookInput::parse(&raw(b"[1,2]")).problem.unwrap().contains("array"));
        assert!(HookInput::parse(&raw(b"")).problem.unwrap().contains("empty"));
    }
}
