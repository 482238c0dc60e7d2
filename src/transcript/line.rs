//! A lenient view of one transcript line.
//!
//! Claude Code adds line types and fields with every release, so nothing here is strict: every
//! field is optional, a field of an unexpected JSON type reads as absent instead of failing the
//! line, and nested objects that only some lines need (`message`, `data`, `modelUsage`) stay raw
//! until a caller asks for them. Strings borrow from the line when they have no escapes, so the
//! hot path (reading hundreds of MB of bookkeeping lines) allocates almost nothing.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Visitor methods that accept every other JSON shape (numbers, null, arrays, objects) as the
/// given "absent" value, consuming nested content.
macro_rules! other_shapes_as_absent {
    ($absent:expr) => {
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($absent)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($absent)
        }
    };
}

/// Decodes a raw line: strips a trailing `\r` (CRLF files) and a UTF-8 BOM, and replaces invalid
/// UTF-8 with U+FFFD instead of dropping the line (its usage still counts).
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    String::from_utf8_lossy(bytes)
}

/// Parses one decoded line. `None` when it is not a JSON object (counted by the caller).
pub fn parse(text: &str) -> Option<RawLine<'_>> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    serde_json::from_str(trimmed).ok()
}

/// The value of the top-level `type` key, found without parsing the line: strings are skipped
/// with a vectorised search, nothing is validated or allocated. Lets readers drop the
/// bookkeeping lines (most of a transcript's bytes) before a full parse. `None` when the line
/// does not look like an object with a plain `type` string.
pub fn peek_type(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i + 1)?;
        let key = &b[i + 1..key_end];
        i = skip_ws(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if key == b"type" {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let end = string_end(b, i + 1)?;
            let value = &text[i + 1..end];
            return (!value.contains('\\')).then_some(value);
        }
        i = skip_value(b, i)?;
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b',') => i += 1,
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Index of the closing quote of a string whose content starts at `i`.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += memchr::memchr2(b'"', b'\\', &b[i..])?;
        if b[i] == b'"' {
            return Some(i);
        }
        i += 2;
    }
}

/// Index just past the value starting at `i`.
fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => Some(string_end(b, i + 1)? + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match *b.get(i)? {
                    b'"' => i = string_end(b, i + 1)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while !matches!(b.get(i), None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                i += 1;
            }
            Some(i)
        }
    }
}

/// The top-level fields the engine uses, across all line types.
#[derive(Deserialize, Default, Debug)]
#[serde(default, rename_all = "camelCase")]
pub struct RawLine<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub session_id: Str<'a>,
    #[serde(borrow)]
    pub uuid: Str<'a>,
    #[serde(borrow)]
    pub timestamp: Str<'a>,
    #[serde(borrow)]
    pub request_id: Str<'a>,
    /// Set only on lines copied into a forked session: the session they were copied from.
    #[serde(borrow)]
    pub request_session_id: Str<'a>,
    #[serde(borrow)]
    pub cwd: Str<'a>,
    #[serde(borrow)]
    pub git_branch: Str<'a>,
    #[serde(borrow)]
    pub version: Str<'a>,
    #[serde(borrow)]
    pub agent_id: Str<'a>,
    #[serde(borrow)]
    pub prompt_source: Str<'a>,
    #[serde(borrow)]
    pub subtype: Str<'a>,
    pub is_sidechain: Flag,
    pub is_meta: Flag,
    pub is_compact_summary: Flag,
    pub is_api_error_message: Flag,
    /// Claude Code ≤ 1.0.8 wrote its own per-line cost.
    #[serde(rename = "costUSD")]
    pub cost_usd: Num,
    /// The API message of `assistant`/`user` lines, parsed in the same pass as the line.
    #[serde(borrow)]
    pub message: Message<'a>,
    /// `progress` lines: `{type: "agent_progress", message: <a subagent's transcript line>, …}`.
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
    /// `system` lines carry their text here.
    #[serde(borrow)]
    pub content: Option<&'a RawValue>,
    #[serde(borrow)]
    pub summary: Str<'a>,
    // `cost-state` lines.
    #[serde(rename = "totalCostUSD")]
    pub total_cost_usd: Num,
    pub total_duration: Num,
    pub has_unknown_model_cost: Flag,
    pub start_time: Num,
    #[serde(borrow)]
    pub model_usage: Option<&'a RawValue>,
}

impl RawLine<'_> {
    pub fn kind(&self) -> &str {
        self.kind.as_str().unwrap_or("")
    }

    /// The API message of an `assistant`/`user` line.
    pub fn api_message(&self) -> Option<&ApiMessage<'_>> {
        self.message.0.as_ref()
    }

    /// True when this line was copied from another session into a fork (rule 3).
    pub fn is_fork_copy(&self) -> bool {
        match (self.request_session_id.as_str(), self.session_id.as_str()) {
            (Some(origin), Some(own)) => origin != own,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// `message`: an [`ApiMessage`] when it is an object, absent otherwise (never fails the line).
#[derive(Default, Debug)]
pub struct Message<'a>(pub Option<ApiMessage<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Message<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Message<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ApiMessage::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|m| Message(Some(m)))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Message(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Message(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(self)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Message(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Message(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Message(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Message(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Message(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Message(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `message` of an assistant or user line.
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct ApiMessage<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub model: Str<'a>,
    #[serde(borrow)]
    pub role: Str<'a>,
    #[serde(borrow)]
    pub usage: Option<&'a RawValue>,
    #[serde(borrow)]
    pub content: Option<&'a RawValue>,
}

impl ApiMessage<'_> {
    pub fn usage(&self) -> Option<Usage> {
        self.usage.and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// The content as blocks; a plain string becomes one text block.
    pub fn blocks(&self) -> Vec<Block<'_>> {
        let Some(raw) = self.content else { return Vec::new() };
        content_blocks(raw)
    }
}

/// Content that is either a string or an array of blocks (messages, tool results).
pub fn content_blocks(raw: &RawValue) -> Vec<Block<'_>> {
    let text = raw.get().trim_start();
    if text.starts_with('"') {
        let Ok(s) = serde_json::from_str::<Cow<'_, str>>(text) else { return Vec::new() };
        return vec![Block { kind: Str(Some(Cow::Borrowed("text"))), text: Str(Some(s)), ..Block::default() }];
    }
    if text.starts_with('[') {
        // One pass when every element is an object (the norm); element by element otherwise.
        if let Ok(blocks) = serde_json::from_str::<Vec<Block<'_>>>(text) {
            return blocks;
        }
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) else { return Vec::new() };
        return items.into_iter().filter_map(|item| serde_json::from_str(item.get()).ok()).collect();
    }
    Vec::new()
}

/// One content block: text, thinking, tool_use, tool_result, image…
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct Block<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub text: Str<'a>,
    #[serde(borrow)]
    pub thinking: Str<'a>,
    /// tool_use id.
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub name: Str<'a>,
    #[serde(borrow)]
    pub input: Option<&'a RawValue>,
    #[serde(borrow)]
    pub tool_use_id: Str<'a>,
    /// tool_result content: a string or blocks.
    #[serde(borrow)]
    pub content: Option<&'a RawValue>,
    pub is_error: Flag,
}

impl Block<'_> {
    pub fn kind(&self) -> &str {
        self.kind.as_str().unwrap_or("")
    }
}

/// `message.usage` of an assistant line.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct Usage {
    pub input_tokens: Count,
    pub output_tokens: Count,
    pub cache_creation_input_tokens: Count,
    pub cache_read_input_tokens: Count,
    #[serde(deserialize_with = "lenient")]
    pub cache_creation: Option<CacheCreation>,
    #[serde(deserialize_with = "lenient")]
    pub server_tool_use: Option<ServerToolUse>,
    #[serde(deserialize_with = "lenient")]
    pub inference_geo: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub speed: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub iterations: Option<Vec<serde_json::Value>>,
}

/// The 5-minute / 1-hour split of cache writes.
#[derive(Deserialize, Default, Debug, Clone, Copy)]
#[serde(default)]
pub struct CacheCreation {
    pub ephemeral_5m_input_tokens: Count,
    pub ephemeral_1h_input_tokens: Count,
}

#[derive(Deserialize, Default, Debug, Clone, Copy)]
#[serde(default)]
pub struct ServerToolUse {
    pub web_search_requests: Count,
}

/// An entry of `usage.iterations[]` of type `advisor_message`: tokens spent by the advisor
/// model, not included in the top-level usage (rule 6).
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct AdvisorIteration {
    #[serde(deserialize_with = "lenient")]
    pub model: Option<String>,
    pub input_tokens: Count,
    pub output_tokens: Count,
    pub cache_creation_input_tokens: Count,
    pub cache_read_input_tokens: Count,
    #[serde(deserialize_with = "lenient")]
    pub cache_creation: Option<CacheCreation>,
}

impl Usage {
    /// Advisor iterations (rule 6); other iteration types are already in the top-level figures.
    pub fn advisor_iterations(&self) -> Vec<AdvisorIteration> {
        let Some(items) = &self.iterations else { return Vec::new() };
        items
            .iter()
            .filter(|it| it.get("type").and_then(|t| t.as_str()) == Some("advisor_message"))
            .filter_map(|it| AdvisorIteration::deserialize(it).ok())
            .collect()
    }
}

/// Reads a value of type `T`, or `None` when the JSON has another shape.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// A string field that reads as absent when it holds anything but a string.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Option<Cow<'a, str>>);

impl Str<'_> {
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            other_shapes_as_absent!(Str(None));
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A boolean field; anything but `true` reads as false.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Flag(v))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Flag(false))
            }
            other_shapes_as_absent!(Flag(false));
        }
        d.deserialize_any(V)
    }
}

/// A token count: negative, fractional or non-numeric values read as 0 (never fail the line).
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Num::deserialize(d).map(|n| Count(n.0.filter(|v| v.is_finite() && *v > 0.0).map_or(0, |v| v as u64)))
    }
}

/// A numeric field that reads as absent when it holds anything but a number.
#[derive(Default, Debug, Clone, Copy, PartialEq)]
pub struct Num(pub Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Num(Some(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Num(v.trim().parse().ok()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Num(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Num(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Num(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(V)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_field_types_read_as_absent_not_as_a_failed_line() {
        let line = parse(r#"{"type":"assistant","isSidechain":"yes","timestamp":12,"uuid":{"a":[1]},"sessionId":"s"}"#)
            .expect("still a line");
        assert_eq!(line.kind(), "assistant");
        assert!(!line.is_sidechain.0);
        assert_eq!(line.timestamp.as_str(), None);
        assert_eq!(line.uuid.as_str(), None);
        assert_eq!(line.session_id.as_str(), Some("s"));
    }

    #[test]
    fn escaped_strings_are_owned_and_plain_ones_borrowed() {
        let line = parse(r#"{"type":"user","cwd":"/a\"b","uuid":"u1"}"#).unwrap();
        assert_eq!(line.cwd.as_str(), Some("/a\"b"));
        assert!(matches!(line.uuid.0, Some(Cow::Borrowed("u1"))));
    }

    #[test]
    fn peek_type_finds_the_top_level_type_only() {
        let line = r#"{"attachment":{"type":"x","text":"a \"type\":\"user\" {[ b"},"list":[1,{"type":"y"}],"n":-1.5e3,"ok":true,"type":"attachment"}"#;
        assert_eq!(peek_type(line), Some("attachment"));
        assert_eq!(peek_type(r#" { "type" : "user" , "x": 1}"#), Some("user"));
        assert_eq!(peek_type(r#"{"a":1}"#), None);
        assert_eq!(peek_type(r#"{"a":"unterminated"#), None);
        assert_eq!(peek_type("garbage"), None);
        assert_eq!(peek_type(r#"{"type":"a\u0062"}"#), None);
    }

    #[test]
    fn non_objects_are_not_lines() {
        assert!(parse("not json").is_none());
        assert!(parse("[1,2]").is_none());
        assert!(parse(r#"{"type":"assistant","#).is_none());
    }

    #[test]
    fn decode_strips_crlf_and_bom_and_keeps_invalid_utf8() {
        assert_eq!(decode(b"{}\r"), "{}");
        assert_eq!(decode("\u{feff}{}".as_bytes()), "{}");
        let text = decode(b"{\"t\":\"a\xffb\"}");
        assert_eq!(text, "{\"t\":\"a\u{fffd}b\"}");
    }

    #[test]
    fn usage_counts_are_lenient() {
        let u: Usage = serde_json::from_str(
            r#"{"input_tokens":10,"output_tokens":-3,"cache_read_input_tokens":null,"cache_creation_input_tokens":"7",
                "cache_creation":"bogus","iterations":[{"type":"advisor_message","model":"claude-haiku-5-5","input_tokens":5,"output_tokens":2},{"type":"message","input_tokens":10}]}"#,
        )
        .unwrap();
        assert_eq!((u.input_tokens.0, u.output_tokens.0, u.cache_read_input_tokens.0), (10, 0, 0));
        assert_eq!(u.cache_creation_input_tokens.0, 7);
        assert!(u.cache_creation.is_none());
        let adv = u.advisor_iterations();
        assert_eq!(adv.len(), 1);
        assert_eq!(adv[0].model.as_deref(), Some("claude-haiku-5-5"));
        assert_eq!(adv[0].input_tokens.0, 5);
    }

    #[test]
    fn string_content_is_one_text_block() {
        let line = parse(r#"{"type":"user","message":{"role":"user","content":"hi"}}"#).unwrap();
        let msg = line.api_message().unwrap();
        let blocks = msg.blocks();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].kind(), "text");
        assert_eq!(blocks[0].text.as_str(), Some("hi"));
    }
}
