//! Decoded copies of a text ("views") with a map back to the original bytes.
//!
//! Secrets arrive escaped: a private key inside a JSON string has `\n` between its lines, a tool
//! result that holds a JSON file holds `\"password\": \"…\"`, a logged URL carries
//! `password%3Dhunter2`. The rules run on the decoded copies too; each decoded byte remembers the
//! original byte range it came from, so a match in a view is redacted in the original text.

use std::borrow::Cow;

/// Decoded bytes, and for each the original range it came from.
type Decoded = (Vec<u8>, Vec<(u32, u32)>);

/// A decoded view of the original text.
pub(super) struct View<'a> {
    bytes: Cow<'a, [u8]>,
    /// For decoded byte `i`, the original range `[map[i].0, map[i].1)` it came from. Empty for
    /// the identity view.
    map: Vec<(u32, u32)>,
}

impl<'a> View<'a> {
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(super) fn is_identity(&self) -> bool {
        matches!(self.bytes, Cow::Borrowed(_))
    }

    /// Maps a non-empty byte range of this view onto the original text.
    pub(super) fn to_original(&self, s: usize, e: usize) -> (usize, usize) {
        if self.is_identity() {
            return (s, e);
        }
        let last = e.saturating_sub(1).max(s);
        (self.map[s].0 as usize, self.map[last].1 as usize)
    }

    /// Decodes, line by line, only the lines `decode` changes: the other lines are identical to
    /// the original and were scanned there already. A line stays whole, so a `\n`-escaped key
    /// block or a URL-encoded query (each on one original line) stays whole in the view.
    ///
    /// `decode` changes only lines holding an `escape` byte at which `changes` holds, so only
    /// those lines are handed to it: one vectorised search over a transcript, most of whose
    /// lines have no escape that matters, instead of a visit to every line.
    fn decoded(
        &self,
        escape: u8,
        changes: &dyn Fn(&[u8], usize) -> bool,
        decode: &dyn Fn(&[u8]) -> Option<Decoded>,
    ) -> Option<View<'a>> {
        let src: &[u8] = &self.bytes;
        let mut bytes = Vec::new();
        let mut local: Vec<(u32, u32)> = Vec::new();
        // Lines before `done` were decoded or hold no escape that matters.
        let mut done = 0;
        for at in memchr::memchr_iter(escape, src) {
            if at < done || !changes(src, at) {
                continue;
            }
            let start = memchr::memrchr(b'\n', &src[done..at]).map_or(done, |p| done + p + 1);
            let end = memchr::memchr(b'\n', &src[at..]).map_or(src.len(), |p| at + p + 1);
            if let Some((b, m)) = decode(&src[start..end]) {
                bytes.extend_from_slice(&b);
                local.extend(m.into_iter().map(|(s, e)| (s + start as u32, e + start as u32)));
            }
            done = end;
        }
        if bytes.is_empty() {
            return None;
        }
        let map = if self.is_identity() {
            local
        } else {
            local
                .into_iter()
                .map(|(s, e)| (self.map[s as usize].0, self.map[(e as usize - 1).max(s as usize)].1))
                .collect()
        };
        Some(View { bytes: Cow::Owned(bytes), map })
    }
}

/// Views beyond this size are not built: the maps cost 8 bytes per byte. Rules still run on the
/// original text.
const MAX_VIEW_INPUT: usize = 64 << 20;

/// The original text, then its JSON-unescaped form (twice, for JSON inside a JSON string), then
/// its percent-decoded form, each only when the text contains such encodings that matter.
///
/// Single-level `\"` and `\n` escapes are everywhere in transcripts, and the rules' regexes
/// already accept them (`\\?"` around values, `\n` inside key bodies), so the unescaped view is
/// built for them only when a line-structured rule (`line_rules`: Kubernetes Secrets, .netrc)
/// may match; escapes the regexes cannot see through (`\\`, `\/`, `\uXXXX`) always build it.
pub(super) fn views(text: &[u8], line_rules: bool) -> Vec<View<'_>> {
    let mut out = vec![View { bytes: Cow::Borrowed(text), map: Vec::new() }];
    if text.len() > MAX_VIEW_INPUT || u32::try_from(text.len()).is_err() {
        return out;
    }
    // Plain `\n`/`\"` escapes matter only when a line-structured rule may match.
    let unescape = |b: &[u8]| if needs_unescape(b, line_rules) { json_unescape(b) } else { None };
    // The escapes `needs_unescape` may act on.
    let unescapes = |b: &[u8], at: usize| escape_matters(b.get(at + 1), line_rules);
    let percents = |b: &[u8], at: usize| is_percent_seq(b, at);
    if let Some(v1) = out[0].decoded(b'\\', &unescapes, &unescape) {
        let v2 = v1.decoded(b'\\', &unescapes, &unescape);
        let p1 = v1.decoded(b'%', &percents, &percent_decode);
        out.push(v1);
        out.extend(v2);
        out.extend(p1);
    }
    if let Some(p) = out[0].decoded(b'%', &percents, &percent_decode) {
        out.push(p);
    }
    out
}

fn needs_unescape(b: &[u8], line_rules: bool) -> bool {
    memchr::memchr_iter(b'\\', b).any(|i| escape_matters(b.get(i + 1), line_rules))
}

/// Whether a backslash followed by `next` calls for the unescaped view.
fn escape_matters(next: Option<&u8>, line_rules: bool) -> bool {
    match next {
        Some(b'\\' | b'/' | b'u') => true,
        Some(b'n' | b'r' | b't' | b'"') => line_rules,
        _ => false,
    }
}

/// Decodes JSON string escapes (`\n`, `\"`, `\\`, `\/`, `\uXXXX` …). Unknown escapes stay as they
/// are. `None` when there is nothing to decode.
fn json_unescape(b: &[u8]) -> Option<Decoded> {
    if !memchr::memchr_iter(b'\\', b).any(|i| b.get(i + 1).is_some_and(|c| b"nrt\"\\/bfu".contains(c))) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    let mut map = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let simple = match b[i + 1] {
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                b'b' => Some(0x08),
                b'f' => Some(0x0c),
                _ => None,
            };
            if let Some(c) = simple {
                out.push(c);
                map.push((i as u32, i as u32 + 2));
                i += 2;
                continue;
            }
            if let Some((ch, used)) = (b[i + 1] == b'u').then(|| unicode_escape(&b[i..])).flatten() {
                let mut buf = [0u8; 4];
                for &x in ch.encode_utf8(&mut buf).as_bytes() {
                    out.push(x);
                    map.push((i as u32, (i + used) as u32));
                }
                i += used;
                continue;
            }
        }
        out.push(b[i]);
        map.push((i as u32, i as u32 + 1));
        i += 1;
    }
    Some((out, map))
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`; returns the char and the bytes consumed.
fn unicode_escape(b: &[u8]) -> Option<(char, usize)> {
    let hex4 = |s: &[u8]| -> Option<u32> {
        let s = std::str::from_utf8(s.get(..4)?).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    let hi = hex4(b.get(2..)?)?;
    if (0xD800..0xDC00).contains(&hi) {
        if b.get(6..8)? != b"\\u" {
            return None;
        }
        let lo = hex4(b.get(8..)?)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return None;
        }
        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        return Some((char::from_u32(c)?, 12));
    }
    Some((char::from_u32(hi)?, 6))
}

/// Decodes `%XX` sequences that stand for ASCII (secret formats are ASCII; decoding `%DB` in
/// `%DB_PASS%` would only invent bytes). `None` when there are none.
fn percent_decode(b: &[u8]) -> Option<Decoded> {
    let is_seq = |i: usize| is_percent_seq(b, i);
    if !memchr::memchr_iter(b'%', b).any(is_seq) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    let mut map = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if is_seq(i) {
            out.push((hex_val(b[i + 1]) << 4) | hex_val(b[i + 2]));
            map.push((i as u32, i as u32 + 3));
            i += 3;
        } else {
            out.push(b[i]);
            map.push((i as u32, i as u32 + 1));
            i += 1;
        }
    }
    Some((out, map))
}

/// `%XX` at `i` standing for an ASCII byte.
fn is_percent_seq(b: &[u8], i: usize) -> bool {
    i + 2 < b.len() && b[i] == b'%' && matches!(b[i + 1], b'0'..=b'7') && b[i + 2].is_ascii_hexdigit()
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_view_maps_back_to_escaped_bytes() {
        let text = br#"a\nb\u00e9c"#;
        let vs = views(text, true);
        assert_eq!(vs.len(), 2);
        let v = &vs[1];
        assert_eq!(v.bytes(), "a\nb\u{e9}c".as_bytes());
        // "\n" in the view is bytes 1..3 of the original; "é" (2 bytes) is the 6-byte escape.
        assert_eq!(v.to_original(1, 2), (1, 3));
        assert_eq!(v.to_original(3, 5), (4, 10));
    }

    #[test]
    fn double_escaped_json_gets_a_second_view() {
        // A .netrc inside a JSON string inside a JSON string.
        let text = br#"{\"f\": \"machine h password\\nx\"}"#;
        let vs = views(text, true);
        assert!(vs.iter().any(|v| v.bytes() == b"{\"f\": \"machine h password\nx\"}"));
        // Without a line-structured rule in play, plain \n escapes need no second view.
        let vs = views(br#"{\"k\": \"a\\nb\"}"#, false);
        assert!(!vs.iter().any(|v| v.bytes() == b"{\"k\": \"a\nb\"}"));
    }

    #[test]
    fn percent_view_decodes_and_maps() {
        let text = b"x%3Dy%2";
        let vs = views(text, true);
        assert_eq!(vs.len(), 2);
        assert_eq!(vs[1].bytes(), b"x=y%2");
        assert_eq!(vs[1].to_original(1, 3), (1, 5));
    }

    #[test]
    fn plain_text_has_only_the_identity_view() {
        assert_eq!(views(b"hello 100% sure\\q", true).len(), 1);
        // Single-level escapes alone need no view unless a line-structured rule may match.
        assert_eq!(views(br#"say \"hi\"\n"#, false).len(), 1);
    }
}
