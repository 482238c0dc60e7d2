//! `claude-code-sync redact [FILE] [--explain]`: the engine from the outside, for users testing
//! their patterns. Output is byte for byte the input wherever nothing matched (invalid UTF-8
//! included: only valid text runs are scanned).

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::redact::Redactor;

pub fn run(file: Option<&Path>, explain: bool, redactor: &Redactor) -> Result<()> {
    let input = match file {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).context("cannot read stdin")?;
            buf
        }
    };
    let mut out = std::io::stdout().lock();
    if explain {
        explain_findings(&input, redactor, &mut out)?;
    } else {
        for chunk in input.utf8_chunks() {
            out.write_all(redactor.redact(chunk.valid()).as_bytes())?;
            out.write_all(chunk.invalid())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// One line per finding: where and what, never the secret itself.
fn explain_findings(input: &[u8], redactor: &Redactor, out: &mut impl Write) -> Result<()> {
    let mut total = 0;
    let mut offset = 0;
    for chunk in input.utf8_chunks() {
        let text = chunk.valid();
        for f in redactor.findings(text) {
            let before = &input[..offset + f.start];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before.iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0);
            let column = String::from_utf8_lossy(&input[line_start..offset + f.start]).chars().count() + 1;
            let chars = text[f.start..f.start + f.len].chars().count();
            writeln!(out, "line {line}, column {column}: {} ({chars} chars)", f.kind)?;
            total += 1;
        }
        offset += text.len() + chunk.invalid().len();
    }
    writeln!(out, "{total} finding{}", if total == 1 { "" } else { "s" })?;
    Ok(())
}
