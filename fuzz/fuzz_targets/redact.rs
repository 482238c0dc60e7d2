//! Fuzz target: any bytes, read the way hooks read them (lossy UTF-8, and as JSON when they
//! parse), must never panic, must keep findings on character boundaries and must redact
//! idempotently.
#![no_main]

use claude_code_sync::redact::Redactor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (r, _) = Redactor::new(&[], &[]);
    let text = String::from_utf8_lossy(data);
    let once = r.redact(&text).into_owned();
    assert_eq!(r.redact(&once), once.as_str(), "redaction is not idempotent");
    for f in r.findings(&text) {
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.start + f.len));
    }
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data) {
        r.redact_json(&mut v);
    }
});
