//! A lenient view of one transcript line.
//!
//! Claude Code adds line types and fields with every release, so nothing here is strict: every
//! field is optional, and a field of an unexpected JSON type reads as absent instead of failing
//! the line. Speed matters too (a backfill reads gigabytes): a line's top-level fields are found
//! by a scanner that skips values with a vectorised search for quotes, so the large values the
//! engine never needs (tool output copies, file contents, request blobs) are neither validated
//! nor copied; only the small values it uses go through serde, and nested objects (`content`,
//! `usage`, `data`, `modelUsage`) stay raw text until a caller asks for them.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

/// Parses one line. `None` when it is not a JSON object (counted by the caller). Works on bytes:
/// only the small values the engine reads are checked for UTF-8 (invalid bytes in them become
/// U+FFFD), so a line is never dropped for a bad byte and large values are never validated.
pub fn parse(line: &[u8]) -> Option<RawLine<'_>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
    let mut parsed = RawLine::default();
    let end = object_values(line, skip_ws(line, 0), |key, at| {
        if key == Some("message") {
            // Parsed where it stands: its content (tool output, file contents) is scanned once.
            let (message, end) = ApiMessage::parse_at(line, at)?;
            parsed.message = message;
            return Some(end);
        }
        let end = skip_value(line, at)?;
        let value = &line[at..end];
        match key {
            Some("type") => parsed.kind = str_value(value),
            Some("sessionId") => parsed.session_id = str_value(value),
            Some("uuid") => parsed.uuid = str_value(value),
            Some("timestamp") => parsed.timestamp = str_value(value),
            Some("requestId") => parsed.request_id = str_value(value),
            Some("requestSessionId") => parsed.request_session_id = str_value(value),
            Some("cwd") => parsed.cwd = str_value(value),
            Some("gitBranch") => parsed.git_branch = str_value(value),
            Some("version") => parsed.version = str_value(value),
            Some("agentId") => parsed.agent_id = str_value(value),
            Some("promptSource") => parsed.prompt_source = str_value(value),
            Some("subtype") => parsed.subtype = str_value(value),
            Some("summary") => parsed.summary = str_value(value),
            Some("isSidechain") => parsed.is_sidechain = Flag(value == b"true"),
            Some("isMeta") => parsed.is_meta = Flag(value == b"true"),
            Some("isCompactSummary") => parsed.is_compact_summary = Flag(value == b"true"),
            Some("isApiErrorMessage") => parsed.is_api_error_message = Flag(value == b"true"),
            Some("hasUnknownModelCost") => parsed.has_unknown_model_cost = Flag(value == b"true"),
            Some("costUSD") => parsed.cost_usd = num_value(value),
            Some("totalCostUSD") => parsed.total_cost_usd = num_value(value),
            Some("totalDuration") => parsed.total_duration = num_value(value),
            Some("startTime") => parsed.start_time = num_value(value),
            Some("data") => parsed.data = object_value(value),
            Some("modelUsage") => parsed.model_usage = object_value(value),
            _ => {}
        }
        Some(end)
    })?;
    (skip_ws(line, end) == line.len()).then_some(parsed)
}

/// The raw value of the top-level field `key` of the JSON object `json`, found by the scanner
/// (the other values are skipped, not parsed).
pub fn top_level_field<'t>(json: &'t [u8], key: &str) -> Option<&'t [u8]> {
    let mut found = None;
    for_each_field(json, |k, v| {
        if found.is_none() && k == key {
            found = Some(v);
        }
    })?;
    found
}

/// Calls `f(key, raw value)` for each top-level field of the object in `text` (keys with escapes
/// are skipped: no field the engine reads has one). `None` when `text` is not a well-formed
/// object at the top level; nested values are delimited, not validated.
fn for_each_field<'t>(b: &'t [u8], f: impl FnMut(&'t str, &'t [u8])) -> Option<()> {
    let end = object_fields(b, skip_ws(b, 0), f)?;
    (skip_ws(b, end) == b.len()).then_some(())
}

/// [`for_each_field`] of the object that starts at `i`; returns the index just past it.
fn object_fields<'t>(b: &'t [u8], i: usize, mut f: impl FnMut(&'t str, &'t [u8])) -> Option<usize> {
    object_values(b, i, |key, at| {
        let end = skip_value(b, at)?;
        if let Some(key) = key {
            f(key, &b[at..end]);
        }
        Some(end)
    })
}

/// Walks the object that starts at `i`: `value(key, at)` gets each key (`None` when it has
/// escapes) and where its value starts, and returns where the value ends (parsing it on the way
/// or skipping it). Returns the index just past the object.
fn object_values<'t>(
    b: &'t [u8],
    mut i: usize,
    mut value: impl FnMut(Option<&'t str>, usize) -> Option<usize>,
) -> Option<usize> {
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i + 1)?;
        let key = std::str::from_utf8(&b[i + 1..key_end]).ok().filter(|k| !k.contains('\\'));
        i = skip_ws(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let end = value(key, i)?;
        if end == i {
            return None;
        }
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// A raw JSON value as a string field: borrowed when it is a plain string without escapes.
pub fn str_value(value: &[u8]) -> Str<'_> {
    if value.len() >= 2 && value[0] == b'"' && memchr::memchr(b'\\', value).is_none() {
        return Str(Some(utf8_lossy(&value[1..value.len() - 1])));
    }
    match utf8_lossy(value) {
        Cow::Borrowed(text) => serde_json::from_str(text).unwrap_or_default(),
        Cow::Owned(text) => {
            serde_json::from_str::<Str>(&text).map(|s| Str(s.0.map(|c| Cow::Owned(c.into_owned())))).unwrap_or_default()
        }
    }
}

/// Text from bytes, invalid UTF-8 replaced by U+FFFD (validated with SIMD first: the common case).
pub fn utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn num_value(value: &[u8]) -> Num {
    serde_json::from_slice(value).unwrap_or_default()
}

/// A token count: plain digits read directly, anything else as [`Count`] reads it.
fn count_value(value: &[u8]) -> Count {
    if !value.is_empty() && value.len() <= 19 && value.iter().all(u8::is_ascii_digit) {
        return Count(value.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')));
    }
    serde_json::from_slice(value).unwrap_or_default()
}

/// A JSON string's text; `None` for any other value.
fn string_value(value: &[u8]) -> Option<String> {
    value.starts_with(b"\"").then(|| serde_json::from_slice(value).ok()).flatten()
}

fn object_value(value: &[u8]) -> Option<&[u8]> {
    value.starts_with(b"{").then_some(value)
}

/// The value of the top-level `type` key, found without parsing the line: strings are skipped
/// with a vectorised search, nothing is validated or allocated. Lets readers drop the
/// bookkeeping lines (most of a transcript's bytes) before a full parse. `None` when the line
/// does not look like an object with a plain `type` string.
pub fn peek_type(line: &[u8]) -> Option<&str> {
    let b = line;
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
            let value = std::str::from_utf8(&b[i + 1..end]).ok()?;
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

/// Index of the closing quote of a string whose content starts at `i`: the first quote not
/// escaped by a backslash. Looks at 64 bytes at a time, as bit masks of their quotes and
/// backslashes: text and code in transcripts are full of escaped quotes and `\n`, which made a
/// search that stops at every quote (or every backslash) slow.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    // Bit 0 set: the first byte of the next block is escaped.
    let mut carry = 0u64;
    while let Some(block) = b.get(i..i + 64) {
        let (quotes, backslashes) = masks64(block);
        let escaped = escaped_bits(backslashes, &mut carry);
        let unescaped = quotes & !escaped;
        if unescaped != 0 {
            return Some(i + unescaped.trailing_zeros() as usize);
        }
        i += 64;
    }
    let mut escaped = carry != 0;
    for (k, &c) in b[i..].iter().enumerate() {
        if escaped {
            escaped = false;
        } else if c == b'\\' {
            escaped = true;
        } else if c == b'"' {
            return Some(i + k);
        }
    }
    None
}

/// The bytes of a 64-byte block escaped by a backslash, given the block's backslashes; `carry`
/// says whether the block's first byte is escaped, and is set for the next block. Branch-free
/// (simdjson's method): a run of backslashes escapes the byte after it when its length is odd,
/// found with one addition per block.
fn escaped_bits(backslashes: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslashes = backslashes & !*carry;
    let follows_escape = (backslashes << 1) | *carry;
    let odd_starts = backslashes & !EVEN & !follows_escape;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslashes);
    *carry = u64::from(overflow);
    (EVEN ^ (even_starts << 1)) & follows_escape
}

/// Bit masks of the quotes and the backslashes of a 64-byte block.
#[cfg(target_arch = "x86_64")]
fn masks64(block: &[u8]) -> (u64, u64) {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    assert!(block.len() >= 64);
    let (mut quotes, mut backslashes) = (0u64, 0u64);
    // SAFETY: SSE2 is part of the x86_64 baseline, and the four unaligned 16-byte loads are
    // within `block` (asserted above).
    unsafe {
        let (quote, backslash) = (_mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b'\\' as i8));
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            quotes |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u16) << (16 * k);
            backslashes |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) as u16) << (16 * k);
        }
    }
    (quotes, backslashes)
}

#[cfg(not(target_arch = "x86_64"))]
fn masks64(block: &[u8]) -> (u64, u64) {
    block[..64]
        .iter()
        .enumerate()
        .fold((0, 0), |(q, b), (k, &c)| (q | (u64::from(c == b'"') << k), b | (u64::from(c == b'\\') << k)))
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
#[derive(Default, Debug)]
pub struct RawLine<'a> {
    pub kind: Str<'a>,
    pub session_id: Str<'a>,
    pub uuid: Str<'a>,
    pub timestamp: Str<'a>,
    pub request_id: Str<'a>,
    /// Set only on lines copied into a forked session: the session they were copied from.
    pub request_session_id: Str<'a>,
    pub cwd: Str<'a>,
    pub git_branch: Str<'a>,
    pub version: Str<'a>,
    pub agent_id: Str<'a>,
    pub prompt_source: Str<'a>,
    pub subtype: Str<'a>,
    /// `summary` lines (1.0.x): the session's title.
    pub summary: Str<'a>,
    pub is_sidechain: Flag,
    pub is_meta: Flag,
    pub is_compact_summary: Flag,
    pub is_api_error_message: Flag,
    /// Claude Code ≤ 1.0.8 wrote its own per-line cost.
    pub cost_usd: Num,
    /// The API message of `assistant`/`user` lines.
    pub message: Option<ApiMessage<'a>>,
    /// `progress` lines: `{type: "agent_progress", message: <a subagent's transcript line>, …}`
    /// (raw JSON).
    pub data: Option<&'a [u8]>,
    // `cost-state` lines.
    pub total_cost_usd: Num,
    pub total_duration: Num,
    pub has_unknown_model_cost: Flag,
    pub start_time: Num,
    /// Raw JSON `{model: {inputTokens, …}}`.
    pub model_usage: Option<&'a [u8]>,
}

impl RawLine<'_> {
    pub fn kind(&self) -> &str {
        self.kind.as_str().unwrap_or("")
    }

    /// The API message of an `assistant`/`user` line.
    pub fn api_message(&self) -> Option<&ApiMessage<'_>> {
        self.message.as_ref()
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

/// `message` of an assistant or user line.
#[derive(Default, Debug)]
pub struct ApiMessage<'a> {
    pub id: Str<'a>,
    pub model: Str<'a>,
    pub role: Str<'a>,
    /// Raw JSON of `usage`.
    pub usage: Option<&'a [u8]>,
    /// Raw JSON of `content`: a string or an array of blocks.
    pub content: Option<&'a [u8]>,
    /// The content as blocks (a string is one text block), delimited as the message is parsed.
    blocks: Vec<Block<'a>>,
}

impl<'a> ApiMessage<'a> {
    /// The message whose JSON starts at `b[at]`, and the index just past it. The message is
    /// `None` when the value is not an object the scanner can read.
    fn parse_at(b: &'a [u8], at: usize) -> Option<(Option<ApiMessage<'a>>, usize)> {
        let mut m = ApiMessage::default();
        let end = object_values(b, at, |key, i| {
            if key == Some("content") && b.get(i) == Some(&b'[') {
                let (blocks, end) = blocks_at(b, i)?;
                (m.blocks, m.content) = (blocks, Some(&b[i..end]));
                return Some(end);
            }
            let end = skip_value(b, i)?;
            let v = &b[i..end];
            match key {
                Some("id") => m.id = str_value(v),
                Some("model") => m.model = str_value(v),
                Some("role") => m.role = str_value(v),
                Some("usage") => m.usage = object_value(v),
                Some("content") => (m.blocks, m.content) = (content_blocks(v), Some(v)),
                _ => {}
            }
            Some(end)
        });
        match end {
            Some(end) => Some((Some(m), end)),
            None => Some((None, skip_value(b, at)?)),
        }
    }

    pub fn usage(&self) -> Option<Usage> {
        self.usage.and_then(Usage::parse)
    }

    /// The content as blocks; a plain string becomes one text block. Invalid UTF-8 in a text
    /// reads as U+FFFD.
    pub fn blocks(&self) -> &[Block<'a>] {
        &self.blocks
    }

    /// The `type` of the first content block, when the content is an array.
    pub fn first_block_type(&self) -> Option<&str> {
        self.content.filter(|c| c.starts_with(b"[")).and_then(|_| self.blocks.first()).and_then(|b| b.kind.as_str())
    }

    /// The ids of the `tool_use` blocks.
    pub fn tool_use_ids(&self) -> impl Iterator<Item = &str> {
        self.blocks.iter().filter(|b| b.kind() == "tool_use").filter_map(|b| b.id.as_str())
    }
}

/// Content that is either a string or an array of blocks (messages, tool results), from its
/// raw JSON. Blocks are delimited by the scanner, so the large values they carry (tool inputs,
/// tool output, thinking) are neither validated nor copied until a caller asks for them;
/// elements that are not objects are skipped.
pub fn content_blocks(raw: &[u8]) -> Vec<Block<'_>> {
    let i = skip_ws(raw, 0);
    match raw.get(i) {
        Some(b'"') => match str_value(&raw[i..]) {
            Str(Some(text)) => {
                vec![Block { kind: Str(Some(Cow::Borrowed("text"))), text: Str(Some(text)), ..Block::default() }]
            }
            Str(None) => Vec::new(),
        },
        Some(b'[') => blocks_at(raw, i).map(|(blocks, _)| blocks).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The blocks of the array that starts at `b[i]`, and the index just past it. An element the
/// scanner cannot read ends the blocks (the array is then skipped as a whole).
fn blocks_at(b: &[u8], mut i: usize) -> Option<(Vec<Block<'_>>, usize)> {
    let start = i;
    let mut blocks = Vec::new();
    i = skip_ws(b, i + 1);
    loop {
        match b.get(i) {
            Some(b']') => return Some((blocks, i + 1)),
            Some(b'{') => {
                let mut block = Block::default();
                let end = object_fields(b, i, |key, v| match key {
                    "type" => block.kind = str_value(v),
                    "text" => block.text = str_value(v),
                    "thinking" => block.thinking = Some(v),
                    "id" => block.id = str_value(v),
                    "name" => block.name = str_value(v),
                    "input" => block.input = Some(v),
                    "tool_use_id" => block.tool_use_id = str_value(v),
                    "content" => block.content = Some(v),
                    "is_error" => block.is_error = Flag(v == b"true"),
                    _ => {}
                });
                let Some(end) = end else { break };
                blocks.push(block);
                i = skip_ws(b, end);
            }
            Some(_) => {
                let Some(end) = skip_value(b, i) else { break };
                i = skip_ws(b, end);
            }
            None => break,
        }
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => {}
            _ => break,
        }
    }
    Some((blocks, skip_value(b, start)?))
}

/// One content block: text, thinking, tool_use, tool_result, image…
#[derive(Default, Debug)]
pub struct Block<'a> {
    pub kind: Str<'a>,
    pub text: Str<'a>,
    /// Raw JSON of a thinking block's text: decoded ([`str_value`]) only when thinking is kept.
    pub thinking: Option<&'a [u8]>,
    /// tool_use id.
    pub id: Str<'a>,
    pub name: Str<'a>,
    /// Raw JSON of a tool_use input.
    pub input: Option<&'a [u8]>,
    pub tool_use_id: Str<'a>,
    /// Raw JSON of a tool_result's content: a string or blocks.
    pub content: Option<&'a [u8]>,
    pub is_error: Flag,
}

impl Block<'_> {
    pub fn kind(&self) -> &str {
        self.kind.as_str().unwrap_or("")
    }
}

/// The number of characters of the JSON string `raw` (quotes included) once decoded, counted
/// without decoding it: tool output is most of a transcript's conversation bytes and only its
/// length is kept. `None` when `raw` is not a plain, well-formed JSON string in valid UTF-8
/// (the caller then decodes it the lenient way).
pub fn json_string_chars(raw: &[u8]) -> Option<u64> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    simdutf8::basic::from_utf8(inner).ok()?;
    // 64 bytes at a time: every byte that starts a character counts, except the backslash of an
    // escape; a `\uXXXX` escape counts one (its four digits are taken off below). The last
    // block is padded with plain letters, not counted.
    let (mut chars, mut carry, mut at, mut pair_end) = (0u64, 0u64, 0usize, 0usize);
    let mut padded = [b'a'; 64];
    while at < inner.len() {
        let n = (inner.len() - at).min(64);
        let block = match inner.get(at..at + 64) {
            Some(block) => block,
            None => {
                padded[..n].copy_from_slice(&inner[at..]);
                &padded[..]
            }
        };
        let m = text_masks64(block);
        let escaped = escaped_bits(m.backslashes, &mut carry);
        // Control characters must be escaped in JSON, and only some characters can be: a
        // decoder refuses the string otherwise (the caller then decodes it the lenient way).
        if m.controls != 0 || escaped & !m.escapes != 0 {
            return None;
        }
        let within = if n == 64 { u64::MAX } else { (1 << n) - 1 };
        chars += u64::from((m.starts & !(m.backslashes & !escaped) & within).count_ones());
        let mut unicode = escaped & m.u;
        while unicode != 0 {
            let u = at + unicode.trailing_zeros() as usize;
            unicode &= unicode - 1;
            if u < pair_end {
                continue; // the second half of a pair, counted with the first
            }
            let code = hex4(inner.get(u + 1..u + 5)?)?;
            chars -= 4;
            if (0xD800..0xDC00).contains(&code) {
                // A surrogate pair is one character; a lone half is refused by decoders.
                if inner.get(u + 5..u + 7)? != b"\\u" || !(0xDC00..0xE000).contains(&hex4(inner.get(u + 7..u + 11)?)?) {
                    return None;
                }
                chars -= 5;
                pair_end = u + 11;
            } else if (0xDC00..0xE000).contains(&code) {
                return None;
            }
        }
        at += 64;
    }
    Some(chars)
}

/// Bit masks of a 64-byte block of a JSON string's text.
struct TextMasks {
    backslashes: u64,
    /// Bytes that start a character (not UTF-8 continuation bytes).
    starts: u64,
    /// Bytes below 0x20.
    controls: u64,
    /// Bytes that may follow a backslash: `"\/bfnrtu`.
    escapes: u64,
    u: u64,
}

#[cfg(target_arch = "x86_64")]
fn text_masks64(block: &[u8]) -> TextMasks {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    assert!(block.len() >= 64);
    let mut m = TextMasks { backslashes: 0, starts: 0, controls: 0, escapes: 0, u: 0 };
    // SAFETY: SSE2 is part of the x86_64 baseline, and the four unaligned 16-byte loads are
    // within `block` (asserted above).
    unsafe {
        let splat = |c: u8| _mm_set1_epi8(c as i8);
        let bits = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let shift = 16 * k;
            let backslash = _mm_cmpeq_epi8(v, splat(b'\\'));
            let u = _mm_cmpeq_epi8(v, splat(b'u'));
            let mut escapes = _mm_or_si128(backslash, u);
            for c in *b"\"/bfnrt" {
                escapes = _mm_or_si128(escapes, _mm_cmpeq_epi8(v, splat(c)));
            }
            m.backslashes |= bits(backslash) << shift;
            m.u |= bits(u) << shift;
            m.escapes |= bits(escapes) << shift;
            m.starts |= (!bits(_mm_cmpeq_epi8(_mm_and_si128(v, splat(0xC0)), splat(0x80))) & 0xFFFF) << shift;
            m.controls |= (!bits(_mm_cmpeq_epi8(_mm_max_epu8(v, splat(0x20)), v)) & 0xFFFF) << shift;
        }
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
fn text_masks64(block: &[u8]) -> TextMasks {
    let mut m = TextMasks { backslashes: 0, starts: 0, controls: 0, escapes: 0, u: 0 };
    for (k, &c) in block[..64].iter().enumerate() {
        m.backslashes |= u64::from(c == b'\\') << k;
        m.u |= u64::from(c == b'u') << k;
        m.escapes |= u64::from(b"\"\\/bfnrtu".contains(&c)) << k;
        m.starts |= u64::from(c & 0xC0 != 0x80) << k;
        m.controls |= u64::from(c < 0x20) << k;
    }
    m
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| Some(n * 16 + (d as char).to_digit(16)?))
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
    /// Reads a raw `usage` object with the scanner; the same as deserializing it, without the
    /// detour of its lenient fields through `serde_json::Value`. `None` when it is not an object.
    fn parse(raw: &[u8]) -> Option<Usage> {
        let mut u = Usage::default();
        for_each_field(raw, |key, v| match key {
            "input_tokens" => u.input_tokens = count_value(v),
            "output_tokens" => u.output_tokens = count_value(v),
            "cache_creation_input_tokens" => u.cache_creation_input_tokens = count_value(v),
            "cache_read_input_tokens" => u.cache_read_input_tokens = count_value(v),
            "cache_creation" => u.cache_creation = serde_json::from_slice(v).ok(),
            "server_tool_use" => u.server_tool_use = serde_json::from_slice(v).ok(),
            "inference_geo" => u.inference_geo = string_value(v),
            "speed" => u.speed = string_value(v),
            "iterations" => u.iterations = serde_json::from_slice(v).ok(),
            _ => {}
        })?;
        Some(u)
    }

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
        let line =
            parse(br#"{"type":"assistant","isSidechain":"yes","timestamp":12,"uuid":{"a":[1]},"sessionId":"s"}"#)
                .expect("still a line");
        assert_eq!(line.kind(), "assistant");
        assert!(!line.is_sidechain.0);
        assert_eq!(line.timestamp.as_str(), None);
        assert_eq!(line.uuid.as_str(), None);
        assert_eq!(line.session_id.as_str(), Some("s"));
    }

    #[test]
    fn escaped_strings_are_owned_and_plain_ones_borrowed() {
        let line = parse(br#"{"type":"user","cwd":"/a\"b","uuid":"u1"}"#).unwrap();
        assert_eq!(line.cwd.as_str(), Some("/a\"b"));
        assert!(matches!(line.uuid.0, Some(Cow::Borrowed("u1"))));
    }

    #[test]
    fn peek_type_finds_the_top_level_type_only() {
        let line = r#"{"attachment":{"type":"x","text":"a \"type\":\"user\" {[ b"},"list":[1,{"type":"y"}],"n":-1.5e3,"ok":true,"type":"attachment"}"#;
        assert_eq!(peek_type(line.as_bytes()), Some("attachment"));
        assert_eq!(peek_type(br#" { "type" : "user" , "x": 1}"#), Some("user"));
        assert_eq!(peek_type(br#"{"a":"x\\","type":"user"}"#), Some("user"), "escaped backslash ends the string");
        assert_eq!(peek_type(br#"{"a":1}"#), None);
        assert_eq!(peek_type(br#"{"a":"unterminated"#), None);
        assert_eq!(peek_type(b"garbage \xff"), None);
        assert_eq!(peek_type(br#"{"type":"a\u0062"}"#), None);
    }

    #[test]
    fn non_objects_are_not_lines() {
        assert!(parse(b"not json").is_none());
        assert!(parse(b"[1,2]").is_none());
        assert!(parse(br#"{"type":"assistant","#).is_none());
    }

    #[test]
    fn crlf_bom_and_invalid_utf8_keep_the_line_and_its_text() {
        let line = parse(
            b"\xef\xbb\xbf{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\xffb\"}]}}\r",
        )
        .unwrap();
        let blocks = line.api_message().unwrap().blocks();
        assert_eq!(blocks[0].text.as_str(), Some("a\u{fffd}b"));
    }

    #[test]
    fn json_string_chars_counts_what_a_decoder_gives() {
        for raw in [
            r#""""#,
            r#""plain""#,
            r#""a\nb\t\"q\" \\ \/""#,
            r#""caf\u00e9 \ud83e\udd16 🤖 日本語""#,
            "\"naïve — “quoted”\"",
        ] {
            let decoded: String = serde_json::from_str(raw).unwrap();
            assert_eq!(json_string_chars(raw.as_bytes()), Some(decoded.chars().count() as u64), "{raw}");
        }
        for refused in [&br#""lone \ud800 half""#[..], br#""bad \x escape""#, b"\"tab\tinside\"", b"\"\xff\"", b"[1]"] {
            assert_eq!(json_string_chars(refused), None, "{}", String::from_utf8_lossy(refused));
        }
    }

    /// The first unescaped quote, byte by byte: what `string_end` must find.
    fn string_end_reference(b: &[u8], i: usize) -> Option<usize> {
        let mut escaped = false;
        for (k, &c) in b.iter().enumerate().skip(i) {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => return Some(k),
                _ => {}
            }
        }
        None
    }

    proptest::proptest! {
        #[test]
        fn string_end_finds_the_first_unescaped_quote(
            text in proptest::collection::vec(proptest::sample::select(vec![b'"', b'\\', b'a', b'\n', 0xe2]), 0..300),
            start in 0usize..8,
        ) {
            let start = start.min(text.len());
            proptest::prop_assert_eq!(string_end(&text, start), string_end_reference(&text, start));
        }
    }

    proptest::proptest! {
        #[test]
        fn json_string_chars_is_the_decoded_length(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "a", "é", "日本", "🤖", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83e\\udd16", "\\ud800", "\\x", "\t", " ",
            ]), 0..120),
        ) {
            let raw = format!("\"{}\"", parts.concat());
            let decoded: Option<String> = serde_json::from_str(&raw).ok();
            proptest::prop_assert_eq!(json_string_chars(raw.as_bytes()), decoded.map(|d| d.chars().count() as u64));
        }
    }

    #[test]
    fn string_end_carries_an_escape_across_blocks() {
        for len in 60..70 {
            let mut text = vec![b'a'; len];
            text.extend_from_slice(b"\\\"x\"");
            assert_eq!(string_end(&text, 0), Some(len + 3), "{len}");
            let mut text = vec![b'a'; len];
            text.extend_from_slice(b"\\\\\"x");
            assert_eq!(string_end(&text, 0), Some(len + 2), "{len}");
        }
    }

    #[test]
    fn the_usage_scanner_reads_what_serde_reads() {
        for raw in [
            r#"{"input_tokens":10,"output_tokens":-3,"cache_read_input_tokens":null,"cache_creation_input_tokens":"7",
                "cache_creation":"bogus","iterations":[{"type":"advisor_message","model":"claude-haiku-5-5","input_tokens":5,"output_tokens":2}]}"#,
            r#"{"input_tokens":3004,"cache_creation_input_tokens":12,"cache_read_input_tokens":149058,"output_tokens":256,
                "server_tool_use":{"web_search_requests":2,"web_fetch_requests":0},"service_tier":"standard",
                "cache_creation":{"ephemeral_1h_input_tokens":4,"ephemeral_5m_input_tokens":8},"inference_geo":"us","iterations":[],"speed":"fast"}"#,
            r#"{"input_tokens":1.5e3,"output_tokens":"12","speed":3,"inference_geo":null,"server_tool_use":[1]}"#,
            "{}",
        ] {
            let scanned = Usage::parse(raw.as_bytes()).unwrap();
            let serde: Usage = serde_json::from_str(raw).unwrap();
            assert_eq!(format!("{scanned:?}"), format!("{serde:?}"), "{raw}");
        }
        assert!(Usage::parse(b"[1]").is_none());
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
        let line = parse(br#"{"type":"user","message":{"role":"user","content":"hi"}}"#).unwrap();
        let msg = line.api_message().unwrap();
        let blocks = msg.blocks();
        assert_eq!(msg.first_block_type(), None);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].kind(), "text");
        assert_eq!(blocks[0].text.as_str(), Some("hi"));
    }
}
