//! Property tests of the redaction engine: idempotent, no change without a match, no panic on
//! any input, and a secret spliced anywhere into text is removed.

use std::borrow::Cow;

use claude_code_sync::redact::Redactor;
use proptest::prelude::*;

fn redactor() -> Redactor {
    Redactor::new(&[], &[]).0
}

/// Pieces that make the rules fire, half-fire and interact: names, separators, quotes, escapes,
/// encodings, markers, key frames, URLs, multi-byte characters.
const FRAGMENTS: &[&str] = &[
    "password",
    "DB_PASSWORD",
    "token",
    "api_key",
    "secret",
    "Authorization",
    "Cookie",
    "=",
    ":",
    ": ",
    " ",
    "\n",
    "\"",
    "'",
    "`",
    "\\",
    "\\n",
    "\\\"",
    "%3D",
    "%3A",
    "%2F",
    "&",
    ";",
    ",",
    "$",
    "${X}",
    "<",
    ">",
    "*",
    "[REDACTED:password]",
    "[REDACTED:",
    "]",
    "Bearer ",
    "Basic ",
    "hunter2",
    "Zq8kL2pW9x",
    "ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi",
    "AKIA2E3F4G5H6J7K2L3M",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
    "postgres://u:",
    "@db/x",
    "https://",
    "kind: Secret\n",
    "data:\n",
    "  k: ",
    "mysql -p",
    "sshpass -p ",
    "curl -u a:",
    "--password ",
    "é",
    "✓",
    "日本",
    "🙂",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.",
    "sig=",
    "AccountKey=",
    "machine h login u password ",
    "{\"auth\": \"",
    "xoxb-",
    "sk-ant-api03-",
    "hooks.slack.com/services/",
];

fn fragment_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..24).prop_map(|v| v.concat())
}

/// Secrets in their real formats, one per family of rules.
const SECRETS: &[&str] = &[
    "ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi",
    "github_pat_11ABCDEFG0123456789abc_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210ZyXwVuTsRqPoNmLkJiHgFeDcBa98765",
    "glpat-x7Qm2Lp9Rk4Vt8Wn3Ys6",
    "AKIA2E3F4G5H6J7K2L3M",
    "AIzaSyD3kR9mX2pQ7vL4nT8wB6cF1hJ5sG0eK9u",
    "xoxb-123456789012-1234567890123-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dcX9aB2kLm",
    "sk-proj-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7T3BlbkFJAb3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3",
    "sk-ant-api03-Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab3Cd5Ef7Gh9AA",
    "SG.Ab3Cd5Ef7Gh9Ij1Kl3Mn5O.Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab3Cd5E",
    "npm_Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wxy",
    "hf_Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3W",
    "dop_v1_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "hvs.Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "123456789:AAb3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3W",
    "dckr_pat_Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9",
    "PMAK-0a1b2c3d4e5f60718293a4b5-0a1b2c3d4e5f60718293a4b5c6d7e8f90a",
];

/// Random prose-and-code-like text: words, punctuation and multi-byte characters.
fn random_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-z]{1,10}",
        "[A-Z][a-z]{1,8}",
        "[0-9]{1,6}",
        Just("é".to_string()),
        Just("日本語".to_string()),
        Just("{".to_string()),
        Just("}\n".to_string()),
        Just(",".to_string()),
        Just("\"".to_string()),
        Just("=".to_string()),
        Just(":".to_string()),
        Just("\n".to_string()),
    ];
    prop::collection::vec(word, 0..40).prop_map(|w| w.join(" "))
}

proptest! {
    // 512 cases by default; PROPTEST_CASES=20000 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn redaction_is_idempotent(text in fragment_text()) {
        let r = redactor();
        let once = r.redact(&text).into_owned();
        let twice = r.redact(&once).into_owned();
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn idempotent_on_arbitrary_strings(text in ".{0,200}") {
        let r = redactor();
        let once = r.redact(&text).into_owned();
        prop_assert_eq!(r.redact(&once).into_owned(), once);
    }

    #[test]
    fn no_finding_means_unchanged_and_borrowed(text in prop_oneof![fragment_text(), random_text(), ".{0,120}"]) {
        let r = redactor();
        if r.findings(&text).is_empty() {
            prop_assert!(matches!(r.redact(&text), Cow::Borrowed(_)));
        } else {
            let out = r.redact(&text).into_owned();
            prop_assert_ne!(out, text);
        }
    }

    #[test]
    fn text_without_keywords_is_untouched(text in "[0-9 \\n.,;!?()ÀÉÎõüß日本語🙂-]{0,300}") {
        let r = redactor();
        prop_assert!(matches!(r.redact(&text), Cow::Borrowed(_)));
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let r = redactor();
        let text = String::from_utf8_lossy(&bytes);
        let out = r.redact(&text);
        for f in r.findings(&text) {
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.start + f.len));
        }
        let mut v = serde_json::json!({"a": [text.as_ref(), {"b": out.as_ref()}]});
        r.redact_json(&mut v);
    }

    #[test]
    fn spliced_secret_is_removed(
        text in random_text(),
        which in 0..SECRETS.len(),
        at in any::<prop::sample::Index>(),
    ) {
        let r = redactor();
        let secret = SECRETS[which];
        let bounds: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let pos = bounds[at.index(bounds.len())];
        let spliced = format!("{} {} {}", &text[..pos], secret, &text[pos..]);
        let out = r.redact(&spliced);
        // No 8-character window of the secret survives.
        for w in secret.as_bytes().windows(8) {
            let w = std::str::from_utf8(w).unwrap();
            prop_assert!(!out.contains(w), "{:?} survived in {:?}", w, out);
        }
    }
}
