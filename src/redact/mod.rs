//! The redaction engine: nothing that looks like a secret leaves the machine, and nothing else is
//! touched.
//!
//! Every string of every event goes through [`Redactor::redact`] (or [`Redactor::redact_json`])
//! before it reaches the store, the log or the network (docs/architecture.md). Only the secret part
//! of a match is replaced by `[REDACTED:<kind>]`; key names, URL hosts and header names stay so
//! the dashboard remains readable.
//!
//! How a string is scanned:
//! 1. One pass of a precompiled keyword automaton ([`keywords`]) finds the rules' keywords
//!    (ASCII case-insensitive). Text without any keyword costs that single pass and comes back
//!    borrowed.
//! 2. Only the rules whose keywords occurred run their regex, compiled on first use and cached
//!    for the life of the process ([`rules`]). Hook processes thus compile two or three regexes,
//!    not sixty.
//! 3. When the text carries JSON escapes (`\n`, `\"`) or percent-encoding, the rules also run on
//!    decoded copies ([`views`]) and their matches are mapped back onto the original bytes, so a
//!    private key inside a JSON string or a password in a URL-encoded query is found too.
//! 4. Candidates pass the rule's checks ([`checks`]: placeholders, entropy, code-likeness) and the
//!    user's allowlist, existing `[REDACTED:…]` markers are left alone (idempotence), overlapping
//!    spans merge, and the spans are widened to character boundaries (UTF-8 safety).
//!
//! Only the `regex` crate is used: its matching is linear in the input, so no input can make a
//! hook hang.

mod checks;
mod json;
mod keywords;
mod prose;
mod rules;
mod structured;
mod trigrams;
mod views;

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

pub use rules::kinds;

/// A user-supplied pattern from the config's `redact_patterns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPattern {
    /// Shown as `[REDACTED:<kind>]`; sanitized to `[A-Za-z0-9_.-]`.
    pub kind: String,
    /// A `regex` crate pattern. If it has a group named `secret`, only that group is redacted.
    pub regex: String,
}

/// One secret found in a text: what kind, which rule found it, and where (byte offsets into the
/// text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: String,
    /// The built-in rule's id (`rules.rs`), or `redact_patterns[i]` for a user pattern.
    pub rule: String,
    pub start: usize,
    pub len: usize,
}

/// The compiled engine. Cheap to build: built-in rules compile lazily and are shared by every
/// `Redactor` of the process; only the user's own patterns compile here.
pub struct Redactor {
    user: Vec<(String, Regex)>,
    allow_exact: HashSet<String>,
    allow_patterns: Vec<String>,
    /// Compiled on the first candidate that needs checking, so an unused allowlist costs nothing.
    allow_set: OnceLock<Option<RegexSet>>,
}

/// A candidate or final span in original-text coordinates.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: KindRef,
    /// Id of the rule that found it (`""` for a user pattern, named by its index then).
    rule: &'static str,
}

/// Kind of a span without allocating: a built-in kind or the index of a user pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KindRef {
    Builtin(&'static str),
    User(usize),
}

/// Longest accepted user regex (compiled program size), so a config cannot make a hook slow.
const USER_REGEX_SIZE_LIMIT: usize = 1 << 20;

const MARKER_PREFIX: &str = "[REDACTED:";

/// Re-scans of the output after the first redaction (see [`Redactor::redact`]).
const MAX_EXTRA_ROUNDS: usize = 3;

impl Redactor {
    /// Builds a redactor with the user's extra patterns and allowlist. Patterns that do not
    /// compile (or would match the empty string) are skipped and described in the returned
    /// problems, so a bad config line never breaks a hook.
    pub fn new(extra: &[UserPattern], allowlist: &[String]) -> (Redactor, Vec<String>) {
        let mut problems = Vec::new();
        let mut user = Vec::new();
        for (i, p) in extra.iter().enumerate() {
            let kind = sanitize_kind(&p.kind);
            if kind.is_empty() {
                problems.push(format!("redact_patterns[{i}]: empty kind name; pattern skipped"));
                continue;
            }
            match RegexBuilder::new(&p.regex).size_limit(USER_REGEX_SIZE_LIMIT).build() {
                Ok(re) if re.is_match(b"") => {
                    problems.push(format!("redact_patterns[{i}] ({kind}): matches the empty string; pattern skipped"))
                }
                Ok(re) => user.push((kind, re)),
                Err(e) => problems.push(format!(
                    "redact_patterns[{i}] ({kind}): invalid regex, pattern skipped: {}",
                    first_line(&e.to_string())
                )),
            }
        }
        let allow_exact = allowlist.iter().cloned().collect();
        let allow_patterns = allowlist.to_vec();
        let r = Redactor { user, allow_exact, allow_patterns, allow_set: OnceLock::new() };
        (r, problems)
    }

    /// Returns `text` with every secret part replaced by `[REDACTED:<kind>]`; borrowed (and thus
    /// byte for byte identical) when nothing was found. Idempotent.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let spans = self.spans(text);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = self.apply(text, &spans);
        // A check may have rejected a candidate because of text that this pass then replaced
        // (`pass:x::y` reads as a code path until `:y` is gone). Scanning the output again until
        // nothing new is found makes the result a fixed point, hence idempotent, and can only
        // redact more. Rarely takes a second round, practically never a third.
        for _ in 0..MAX_EXTRA_ROUNDS {
            let more = self.spans(&out);
            if more.is_empty() {
                break;
            }
            out = self.apply(&out, &more);
        }
        Cow::Owned(out)
    }

    fn apply(&self, text: &str, spans: &[Span]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in spans {
            out.push_str(&text[at..s.start]);
            out.push_str(MARKER_PREFIX);
            out.push_str(self.kind_name(s.kind));
            out.push(']');
            at = s.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Redacts every string value of a JSON document in place (object keys stay as they are).
    /// Iterative, so arbitrarily deep documents cannot overflow the stack.
    pub fn redact_json(&self, v: &mut serde_json::Value) {
        json::redact_strings(v, |s| match self.redact(s) {
            Cow::Borrowed(_) => None,
            Cow::Owned(o) => Some(o),
        });
    }

    /// What [`Redactor::redact`] would replace, in order: kind, byte offset and byte length.
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        self.spans(text)
            .into_iter()
            .map(|s| Finding {
                kind: self.kind_name(s.kind).to_string(),
                rule: match s.kind {
                    KindRef::User(i) if s.rule.is_empty() => format!("redact_patterns[{i}]"),
                    _ => s.rule.to_string(),
                },
                start: s.start,
                len: s.end - s.start,
            })
            .collect()
    }

    fn kind_name(&self, k: KindRef) -> &str {
        match k {
            KindRef::Builtin(s) => s,
            KindRef::User(i) => &self.user[i].0,
        }
    }

    /// Final spans: found, checked, allowlisted, clear of existing markers, merged, and on
    /// character boundaries.
    fn spans(&self, text: &str) -> Vec<Span> {
        let bytes = text.as_bytes();
        let hits = keywords::keyword_hits(bytes, &markers(bytes));
        if hits.is_empty() && self.user.is_empty() {
            return Vec::new();
        }
        let mut cands: Vec<Span> = Vec::new();
        for view in views::views(bytes, keywords::has_line_rules(&hits)) {
            let view_hits;
            let hits_here = if view.is_identity() {
                &hits
            } else {
                view_hits = keywords::keyword_hits(view.bytes(), &markers(view.bytes()));
                &view_hits
            };
            let mut found = Vec::new();
            for r in hits_here.iter() {
                rules::scan(r, view.bytes(), hits_here.starts(r), &mut found);
            }
            for (i, (_, re)) in self.user.iter().enumerate() {
                scan_user(re, view.bytes(), i, &mut found);
            }
            for (s, e, kind, rule) in found {
                if self.allowed(&view.bytes()[s..e]) {
                    continue;
                }
                let (os, oe) = view.to_original(s, e);
                cands.push(Span { start: os, end: oe, kind, rule });
            }
        }
        if cands.is_empty() {
            return cands;
        }
        for c in cands.iter_mut() {
            c.start = floor_char_boundary(text, c.start);
            c.end = ceil_char_boundary(text, c.end);
        }
        let cands = drop_marker_overlaps(text, cands);
        merge(cands)
    }

    fn allowed(&self, secret: &[u8]) -> bool {
        if self.allow_patterns.is_empty() {
            return false;
        }
        if std::str::from_utf8(secret).is_ok_and(|s| self.allow_exact.contains(s)) {
            return true;
        }
        let set = self.allow_set.get_or_init(|| {
            // Anchored: an allowlist entry exempts a secret only when it matches all of it.
            let anchored: Vec<String> = self
                .allow_patterns
                .iter()
                .filter(|p| RegexBuilder::new(p).size_limit(USER_REGEX_SIZE_LIMIT).build().is_ok())
                .map(|p| format!("^(?:{p})$"))
                .collect();
            RegexSetBuilder::new(anchored).size_limit(USER_REGEX_SIZE_LIMIT * 4).build().ok()
        });
        set.as_ref().is_some_and(|s| s.is_match(secret))
    }
}

/// Matches of a user pattern: the `secret` group when present, else the whole match.
fn scan_user(re: &Regex, hay: &[u8], idx: usize, out: &mut Vec<(usize, usize, KindRef, &'static str)>) {
    let has_group = re.capture_names().any(|n| n == Some("secret"));
    if has_group {
        for c in re.captures_iter(hay) {
            if let Some(m) = c.name("secret").filter(|m| !m.is_empty()) {
                out.push((m.start(), m.end(), KindRef::User(idx), ""));
            }
        }
    } else {
        for m in re.find_iter(hay).filter(|m| !m.is_empty()) {
            out.push((m.start(), m.end(), KindRef::User(idx), ""));
        }
    }
}

fn sanitize_kind(k: &str) -> String {
    k.chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

fn first_line(s: &str) -> String {
    // The regex crate's errors are multi-line drawings; the last line says what is wrong.
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(s).trim().to_string()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Whether `[start, end)` overlaps one of the sorted, disjoint `markers` (binary search: a
/// text dense with secrets has thousands of markers on a re-scan).
fn overlaps_marker(markers: &[(usize, usize)], start: usize, end: usize) -> bool {
    // The first marker that ends after `start` is the only one that can overlap first.
    let i = markers.partition_point(|&(_, e)| e <= start);
    markers.get(i).is_some_and(|&(s, _)| s < end.max(start + 1))
}

/// Byte ranges of `[REDACTED:kind]` markers already in the text, in order.
fn markers(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let starts = memchr::memmem::find_iter(b, MARKER_PREFIX.as_bytes());
    for i in starts {
        let mut j = i + MARKER_PREFIX.len();
        while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'.' | b'-')) {
            j += 1;
        }
        if j < b.len() && b[j] == b']' {
            out.push((i, j + 1));
        }
    }
    out
}

/// Drops candidates that overlap or touch an existing marker, so redacting twice changes nothing
/// (a value cut short by a marker, `pw:x[REDACTED:…]`, reads differently from the original): a marker
/// is never nested in another, and `[REDACTED:kind]` (which contains a colon) never turns the
/// text around it into a `user:password@` or a `name: value`. Text is only ever marked by this
/// engine's first pass, so what touches a marker was redacted then.
fn drop_marker_overlaps(text: &str, cands: Vec<Span>) -> Vec<Span> {
    let ms = markers(text.as_bytes());
    if ms.is_empty() {
        return cands;
    }
    cands.into_iter().filter(|c| !overlaps_marker(&ms, c.start.saturating_sub(1), c.end + 1)).collect()
}

/// Sorts and unions overlapping spans. A merged span is named by its most specific member
/// (`github-pat` rather than the generic `secret` of `GITHUB_TOKEN=ghp_…`), else its earliest.
fn merge(mut v: Vec<Span>) -> Vec<Span> {
    v.retain(|s| s.end > s.start);
    v.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Span> = Vec::with_capacity(v.len());
    for s in v {
        match out.last_mut() {
            Some(last) if s.start < last.end => {
                last.end = last.end.max(s.end);
                if is_generic(last.kind) && !is_generic(s.kind) {
                    last.kind = s.kind;
                    last.rule = s.rule;
                }
            }
            _ => out.push(s),
        }
    }
    out
}

fn is_generic(k: KindRef) -> bool {
    matches!(k, KindRef::Builtin(checks::PASSWORD | checks::SECRET))
}

#[cfg(test)]
mod tests;
