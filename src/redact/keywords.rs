//! The keyword prefilter: one pass over a text tells which rules may match it.
//!
//! Every rule names keywords (ASCII case-insensitive literals) of which each of its matches
//! contains one ([`super::rules`]). A multi-keyword automaton finds them all in a single linear
//! scan, so text without any keyword costs that scan and nothing else.
//!
//! The automaton is built ahead of time, not in the process that uses it: a hook process scans
//! a few kilobytes once, and building an automaton of the ~200 keyword forms (with their
//! percent-encoded and JSON-escaped spellings) would cost far more than that scan.
//! It is a dense DFA (regex-automata, leftmost-first over the keywords longest first, on an
//! ASCII-folded copy of the text) generated from [`super::rules::RULES`] and committed beside
//! this file as `keywords.dfa` (330 KB), with `keyword_patterns.rs` saying which rules each of
//! its patterns enables. A process deserializes it in place: no copy, no construction. The
//! test `committed_automaton_matches_the_rules` rebuilds both from the rules and fails when
//! they are stale; `CCS_REGENERATE_KEYWORDS=1 cargo test --lib committed_automaton` rewrites
//! them.
//!
//! Besides the rules, the prefilter records where the keywords of the keyword-anchored rules
//! start ([`Hits::starts`]), so those rules try their regex there instead of searching the
//! whole text.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use regex_automata::dfa::{Automaton, dense};
use regex_automata::{Anchored, Input};

use super::overlaps_marker;
use super::rules::{KEYWORD_ANCHORED, RULES, rule_set};
use super::trigrams::Trigrams;

// The committed automaton is little-endian; so is every platform Claude Code runs on.
#[cfg(not(target_endian = "little"))]
compile_error!("the committed keyword automaton (src/redact/keywords.dfa) is little-endian");

/// `(keyword, rules it enables)` for each pattern of the automaton, in pattern-id order:
/// `const PATTERNS: [(&str, u128); N]`.
mod patterns {
    include!("keyword_patterns.rs");
}
use patterns::PATTERNS;

/// `include_bytes!` with the 4-byte alignment that zero-copy deserialization requires.
#[repr(C)]
struct Aligned<B: ?Sized> {
    _align: [u32; 0],
    bytes: B,
}

static DFA_BYTES: &Aligned<[u8]> = &Aligned { _align: [], bytes: *include_bytes!("keywords.dfa") };

/// `None` if the committed bytes do not deserialize (cannot happen with a build whose tests
/// pass); [`keyword_hits`] then enables every rule, so nothing goes unredacted.
static DFA: LazyLock<Option<dense::DFA<&'static [u32]>>> = LazyLock::new(|| {
    // SAFETY: the bytes are this crate's own, not input: `committed_automaton_matches_the_rules`
    // fails unless they equal what the locked regex-automata serializes from the rules today,
    // and deserializes them with every check. Skipping the transition-table check here
    // (`from_bytes` walks all ~80,000 transitions) is what makes the automaton free for a hook,
    // which would otherwise pay for that walk on every start.
    let dfa = unsafe { dense::DFA::from_bytes_unchecked(&DFA_BYTES.bytes) };
    dfa.ok().map(|(dfa, _)| dfa)
});

/// A process that scans more than a hook does (the `redact` command on a file, a long
/// transcript) builds a trigram index of the same keywords ([`Trigrams`]): tens of
/// microseconds once, then several times fewer instructions per byte than a DFA and no folded
/// copy of the text. Both engines report the same rules at the same keyword starts, checked by
/// `both_engines_see_the_same_keywords`.
static BUILT: LazyLock<Option<Trigrams>> = LazyLock::new(|| Trigrams::new(&PATTERNS.map(|(w, _)| w)));
static SCANNED: AtomicUsize = AtomicUsize::new(0);
const BUILD_AFTER_BYTES: usize = 1 << 20;

/// What the prefilter found in a text: the rules whose keywords occur (at most 128 rules), and
/// where keywords of the rules that are only tried at their keywords start
/// ([`super::rules::KEYWORD_ANCHORED`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) struct Hits {
    rules: u128,
    /// Keyword start offsets, ascending, each with the keyword-anchored rules enabled there.
    starts: Vec<(usize, u128)>,
    /// The search failed: every rule is enabled and `starts` is not known.
    failed: bool,
}

impl Hits {
    pub(super) fn is_empty(&self) -> bool {
        self.rules == 0
    }
    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..128).filter(move |i| self.rules & (1u128 << i) != 0)
    }
    /// Where keywords of rule `i` start, ascending (only for keyword-anchored rules); `None`
    /// when unknown, and then the rule must search the whole text.
    pub(super) fn starts(&self, i: usize) -> Option<impl Iterator<Item = usize> + '_> {
        let at = self.starts.iter().filter(move |(_, r)| r & (1u128 << i) != 0).map(|&(at, _)| at);
        (!self.failed).then_some(at)
    }
    /// What a failed search answers: every rule, searched through the whole text.
    pub(super) fn all() -> Hits {
        Hits { rules: all_rules(), starts: Vec::new(), failed: true }
    }
}

/// Every built-in rule.
fn all_rules() -> u128 {
    if RULES.len() == 128 { u128::MAX } else { (1u128 << RULES.len()) - 1 }
}

/// Whether rules that read text line by line (Kubernetes Secrets, .netrc, command lines that
/// start a line) may match: they need the JSON-unescaped view even for plain `\n` escapes.
pub(super) fn has_line_rules(hits: &Hits) -> bool {
    static LINE_RULES: LazyLock<u128> = LazyLock::new(|| {
        rule_set(&[
            "kubernetes-secret",
            "netrc-password",
            "cli-password-flag",
            "mysql-password-flag",
            "sshpass-flag",
            "curl-user-flag",
        ])
    });
    hits.rules & *LINE_RULES != 0
}

/// One pass of the automaton: which rules may match this text. Keywords inside existing
/// `[REDACTED:kind]` markers do not count (a kind name such as `netrc-password` would otherwise
/// wake rules on a second pass that the first pass never ran, breaking idempotence).
pub(super) fn keyword_hits(text: &[u8], markers: &[(usize, usize)]) -> Hits {
    let scanned = SCANNED.fetch_add(text.len(), Ordering::Relaxed) + text.len();
    let mut hits = match BUILT.as_ref() {
        Some(index) if scanned > BUILD_AFTER_BYTES => built_hits(index, text, markers),
        _ => committed_hits(text, markers),
    };
    if !text.is_ascii() {
        non_ascii_hits(text, markers, &mut hits);
    }
    hits
}

/// Keywords written in other scripts (`пароль`, `密码`, `contraseña`), with the rules each
/// enables and the offset of their first non-ASCII byte.
///
/// They are not in the automaton: their UTF-8 bytes would double its alphabet and so its size,
/// which every hook process pays for in page faults. They are looked for only where the text
/// has a non-ASCII character: each keyword is compared where its first non-ASCII character
/// could stand.
static NON_ASCII: LazyLock<Vec<(&'static str, u128, usize)>> = LazyLock::new(|| {
    let mut out: Vec<(&'static str, u128, usize)> = Vec::new();
    for (i, r) in RULES.iter().enumerate() {
        for &k in r.keywords.iter().filter(|k| !k.is_ascii()) {
            match out.iter_mut().find(|(w, _, _)| *w == k) {
                Some((_, rules, _)) => *rules |= 1 << i,
                None => out.push((k, 1 << i, k.bytes().position(|b| !b.is_ascii()).unwrap_or(0))),
            }
        }
    }
    out
});

fn non_ascii_hits(text: &[u8], markers: &[(usize, usize)], hits: &mut Hits) {
    let anchored = *KEYWORD_ANCHORED;
    let words = &*NON_ASCII;
    let mut added = false;
    let mut p = 0;
    while p < text.len() {
        // Eight ASCII bytes at a time.
        if let Some(chunk) = text.get(p..p + 8)
            && u64::from_le_bytes(chunk.try_into().unwrap()) & 0x8080_8080_8080_8080 == 0
        {
            p += 8;
            continue;
        }
        let b = text[p];
        if b >= 0xC0 {
            for &(word, rules, k) in words.iter().filter(|(w, _, k)| w.as_bytes()[*k] == b) {
                let Some(start) = p.checked_sub(k) else { continue };
                let w = word.as_bytes();
                if text.len() - start < w.len() || !text[start..start + w.len()].eq_ignore_ascii_case(w) {
                    continue;
                }
                if overlaps_marker(markers, start, start + w.len()) {
                    continue;
                }
                hits.rules |= rules;
                if rules & anchored != 0 && !hits.failed {
                    hits.starts.push((start, rules & anchored));
                    added = true;
                }
            }
        }
        p += 1;
    }
    if added {
        hits.starts.sort_by_key(|&(at, _)| at);
        hits.starts.dedup_by(|next, prev| {
            let same = next.0 == prev.0;
            if same {
                prev.1 |= next.1;
            }
            same
        });
    }
}

/// The committed DFA, leftmost-first over the keywords longest first, restarted one byte
/// after each keyword's start: every position where a keyword starts is seen, and there the
/// longest keyword, whose rules include those of the keywords that are its prefixes.
fn committed_hits(text: &[u8], markers: &[(usize, usize)]) -> Hits {
    let Some(dfa) = DFA.as_ref() else { return Hits::all() };
    let anchored = *KEYWORD_ANCHORED;
    // The keywords are lower case; ASCII folding keeps every offset.
    let folded = text.to_ascii_lowercase();
    let mut hits = Hits::default();
    let mut pos = 0;
    while pos < folded.len() {
        let input = Input::new(&folded).range(pos..).anchored(Anchored::No);
        // The DFA has no quit bytes and no look-around, so a search cannot fail; if it ever
        // did, every rule over the whole text is the safe answer.
        let m = match dfa.try_search_fwd(&input) {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(_) => return Hits::all(),
        };
        let (word, rules) = PATTERNS[m.pattern().as_usize()];
        let start = m.offset() - word.len();
        if !overlaps_marker(markers, start, m.offset()) {
            hits.rules |= rules;
            if rules & anchored != 0 {
                hits.starts.push((start, rules & anchored));
            }
        }
        pos = start + 1;
    }
    hits
}

fn built_hits(index: &Trigrams, text: &[u8], markers: &[(usize, usize)]) -> Hits {
    // One pass reporting every keyword, overlapping ones included: no restart per keyword
    // (a transcript has one every few hundred bytes). Keywords come in the order of their
    // starts: one entry per start.
    let anchored = *KEYWORD_ANCHORED;
    let mut hits = Hits::default();
    index.find(text, |start, pattern| {
        let (word, rules) = PATTERNS[pattern];
        if overlaps_marker(markers, start, start + word.len()) {
            return;
        }
        hits.rules |= rules;
        if rules & anchored != 0 {
            match hits.starts.last_mut() {
                Some((at, r)) if *at == start => *r |= rules & anchored,
                _ => hits.starts.push((start, rules & anchored)),
            }
        }
    });
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::MatchKind;
    use regex_automata::dfa::StartKind;
    use regex_automata::nfa::thompson;
    use regex_automata::util::syntax;

    /// Each rule keyword in the forms it can take in a text: as is, percent-encoded and
    /// JSON-escaped (the decoded views are only built after a hit, so the encoded forms must hit
    /// too). Duplicates merge, their rule sets united.
    fn keyword_table() -> Vec<(String, u128)> {
        let mut table: Vec<(String, u128)> = Vec::new();
        for (i, r) in RULES.iter().enumerate() {
            for &k in r.keywords {
                if !k.is_ascii() {
                    continue; // searched apart: `NON_ASCII`
                }
                let forms = [k.to_string(), percent_encoded(k), json_escaped(k)];
                for w in forms {
                    match table.iter_mut().find(|(x, _)| *x == w) {
                        Some((_, rules)) => *rules |= 1 << i,
                        None => table.push((w, 1 << i)),
                    }
                }
            }
        }
        // Longest first: at a position where several keywords start, a leftmost-first search
        // reports the longest; the keywords that are its prefixes start there too, so their
        // rules are folded into its set.
        table.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        let closed: Vec<u128> = table
            .iter()
            .map(|(w, _)| table.iter().filter(|(p, _)| w.starts_with(p.as_str())).fold(0, |m, (_, r)| m | r))
            .collect();
        table.iter().zip(closed).map(|((w, _), r)| (w.clone(), r)).collect()
    }

    /// `k` with the characters that URLs encode written as `%xx` (lower case: matching ignores
    /// case).
    fn percent_encoded(k: &str) -> String {
        k.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    /// `k` as it appears inside a JSON string.
    fn json_escaped(k: &str) -> String {
        k.replace('\\', "\\\\").replace('"', "\\\"")
    }

    /// The automaton's bytes and the Rust source of its pattern table.
    fn generate() -> (Vec<u8>, String) {
        let table = keyword_table();
        let patterns: Vec<String> = table.iter().map(|(w, _)| regex::escape(w)).collect();
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .start_kind(StartKind::Unanchored)
                    // Smaller bytes: fewer pages for a hook process to fault in.
                    .minimize(true),
            )
            .syntax(syntax::Config::new().case_insensitive(false).unicode(false).utf8(false))
            .thompson(thompson::Config::new().utf8(false))
            .build_many(&patterns)
            .expect("the rules' keywords form a DFA");
        let bytes = dfa.to_bytes_little_endian().0;
        let mut src = String::from(
            "// @generated from the rules' keywords by `CCS_REGENERATE_KEYWORDS=1 cargo test --lib\n\
             // committed_automaton` (src/redact/keywords.rs); do not edit.\n\
             pub(super) const PATTERNS: [(&str, u128); ",
        );
        src.push_str(&format!("{}] = [\n", table.len()));
        for (w, rules) in &table {
            src.push_str(&format!("    ({w:?}, {rules:#x}),\n"));
        }
        src.push_str("];\n");
        (bytes, src)
    }

    #[test]
    fn committed_automaton_matches_the_rules() {
        let (bytes, src) = generate();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/redact");
        if std::env::var_os("CCS_REGENERATE_KEYWORDS").is_some() {
            std::fs::write(dir.join("keywords.dfa"), &bytes).unwrap();
            std::fs::write(dir.join("keyword_patterns.rs"), &src).unwrap();
            return;
        }
        assert_eq!(
            std::fs::read_to_string(dir.join("keyword_patterns.rs")).unwrap(),
            src,
            "src/redact/keyword_patterns.rs is stale: run CCS_REGENERATE_KEYWORDS=1 cargo test --lib committed_automaton"
        );
        assert!(
            DFA_BYTES.bytes == bytes[..],
            "src/redact/keywords.dfa is stale: run CCS_REGENERATE_KEYWORDS=1 cargo test --lib committed_automaton"
        );
        assert!(dense::DFA::from_bytes(&DFA_BYTES.bytes).is_ok(), "the committed automaton passes every check");
        assert!(DFA.is_some());
    }

    /// Every keyword, in any case, in any of its encoded forms, anywhere in a text, enables its
    /// rules; text without keywords enables none.
    #[test]
    fn every_keyword_enables_its_rules() {
        for (w, rules) in keyword_table() {
            let shouted = format!("see: {}!", w.to_ascii_uppercase());
            let hits = keyword_hits(shouted.as_bytes(), &[]);
            assert_eq!(hits.rules & rules, rules, "{w:?} in {shouted:?}");
            assert_eq!(keyword_hits(w.as_bytes(), &[]).rules & rules, rules, "{w:?} alone");
        }
        // Keywords of other scripts, searched apart, enable their rules and record their starts.
        for &(w, rules, _) in NON_ASCII.iter() {
            let text = format!("voilà: {w} x");
            let hits = keyword_hits(text.as_bytes(), &[]);
            assert_eq!(hits.rules & rules, rules, "{w:?}");
            if rules & *KEYWORD_ANCHORED != 0 {
                assert!(hits.starts.iter().any(|&(at, r)| at == "voilà: ".len() && r & rules != 0), "{w:?}");
            }
        }
        assert!(NON_ASCII.iter().any(|(w, _, _)| *w == "пароль"));
        // ASCII letters of such a keyword in any case: "Contraseña".
        assert!(keyword_hits("la Contraseña es".as_bytes(), &[]).rules != 0);
        assert!(keyword_hits(b"hello world, nothing to see here 1234", &[]).is_empty());
        assert!(!keyword_hits(b"export GITHUB_TOKEN=abc", &[]).is_empty());
        assert!(keyword_hits(b"[REDACTED:netrc-password]", &[(0, 25)]).is_empty());
    }

    /// The committed DFA and the trigram index built at run time report the same rules and
    /// the same keyword starts, on every corpus text and on texts made of keywords in mixed
    /// case, run together, overlapping, alone and at the end of a text.
    #[test]
    fn both_engines_see_the_same_keywords() {
        let index = BUILT.as_ref().expect("the keywords build a trigram index");
        let mut texts = super::super::tests::corpus_texts();
        let words: Vec<&str> = PATTERNS.iter().map(|(w, _)| *w).collect();
        for (n, w) in words.iter().enumerate() {
            let next = words[(n * 7 + 3) % words.len()];
            let mixed: String =
                w.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect();
            let half = (0..=next.len() / 2).rev().find(|&i| next.is_char_boundary(i)).unwrap_or(0);
            texts.push(format!("{w}{next} x{mixed}_{}", &next[..half]));
            texts.push(mixed.clone());
            texts.push(format!("{next} {mixed}"));
        }
        for t in &texts {
            assert!(committed_hits(t.as_bytes(), &[]) == built_hits(index, t.as_bytes(), &[]), "{t:?}");
        }
    }
}
