//! Recall and false positives of the built-in rules on the repo corpus
//! (`tests/redaction/*.jsonl`, written by `tests/redaction/generate.py`).
//!
//! Recall: a positive is caught when no 8-character window of any of its secrets (the whole
//! secret when shorter) survives redaction. False positive: a negative whose output differs from
//! its input. The thresholds are the issue's: recall >= 99 %, false positives <= 1 %.

use std::collections::BTreeMap;

use claude_code_sync::redact::{Redactor, kinds};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/redaction/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).expect("corpus line is JSON"))
        .collect()
}

/// The part of `secret` that survived in `out`, if any.
fn survivor<'a>(secret: &'a str, out: &str) -> Option<&'a str> {
    let chars: Vec<(usize, char)> = secret.char_indices().collect();
    let w = chars.len().min(8);
    (0..=chars.len() - w).find_map(|i| {
        let start = chars[i].0;
        let end = chars.get(i + w).map_or(secret.len(), |c| c.0);
        out.contains(&secret[start..end]).then(|| &secret[start..end])
    })
}

#[test]
fn corpus_recall_and_false_positive_rate() {
    let (r, problems) = Redactor::new(&[], &[]);
    assert!(problems.is_empty());
    let positives = load("positives.jsonl");
    let negatives = load("negatives.jsonl");
    assert!(positives.len() >= 300, "corpus has {} positives", positives.len());
    assert!(negatives.len() >= 200, "corpus has {} negatives", negatives.len());

    let mut missed = Vec::new();
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for p in &positives {
        let text = p["text"].as_str().unwrap();
        let out = r.redact(text);
        let kind = p["kind"].as_str().unwrap().to_string();
        let e = per_kind.entry(kind).or_default();
        e.0 += 1;
        let leaked: Vec<&str> =
            p["secrets"].as_array().unwrap().iter().filter_map(|s| survivor(s.as_str().unwrap(), &out)).collect();
        if leaked.is_empty() {
            e.1 += 1;
        } else {
            missed.push(format!(
                "{} [{} / {}] leaked {:?}\n  in:  {}\n  out: {}",
                p["id"], p["kind"], p["context"], leaked, text, out
            ));
        }
    }
    let mut false_pos = Vec::new();
    for n in &negatives {
        let text = n["text"].as_str().unwrap();
        let out = r.redact(text);
        if out != text {
            false_pos.push(format!("{} [{}]\n  in:  {}\n  out: {}", n["id"], n["what"], text, out));
        }
    }
    let recall = 1.0 - missed.len() as f64 / positives.len() as f64;
    let fp_rate = false_pos.len() as f64 / negatives.len() as f64;
    println!(
        "recall {:.2} % ({} of {} positives), false positives {:.2} % ({} of {} negatives)",
        recall * 100.0,
        positives.len() - missed.len(),
        positives.len(),
        fp_rate * 100.0,
        false_pos.len(),
        negatives.len()
    );
    for m in missed.iter().chain(&false_pos) {
        println!("{m}");
    }
    assert!(recall >= 0.99, "recall {recall:.4} below 99 %");
    assert!(fp_rate <= 0.01, "false-positive rate {fp_rate:.4} above 1 %");
}

#[test]
fn readme_privacy_table_lists_every_kind() {
    let doc = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    for (kind, _) in kinds() {
        assert!(doc.contains(&format!("| `{kind}` |")), "README.md's kinds table has no row for {kind}");
    }
    assert!(doc.contains("| `password` |"));
}
