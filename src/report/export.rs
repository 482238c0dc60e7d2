//! Exports of a filtered set of sessions: JSONL (one `sessions --json` object a line) and CSV
//! (the same fields, flat, for spreadsheets).

use super::{Session, models, session_json};
use crate::time;

pub fn jsonl(sessions: &[Session]) -> String {
    let mut out = String::new();
    for s in sessions {
        out.push_str(&session_json(s).to_string());
        out.push('\n');
    }
    out
}

pub const CSV_HEADER: &str = "session_id,source,machine,project,working_directory,git_branch,started_at,ended_at,models,\
prompts,messages,tool_calls,input_tokens,output_tokens,cache_creation_tokens,cache_read_tokens,cost_usd";

pub fn csv(sessions: &[Session]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for s in sessions {
        let r = &s.row;
        let text = |v: Option<&str>| field(v.unwrap_or(""));
        let cells = [
            field(&r.session_id),
            field(&s.source),
            text(s.machine.as_deref()),
            text(r.project_name.as_deref()),
            text(r.working_directory.as_deref()),
            text(r.git_branch.as_deref()),
            r.started_at.map(time::iso8601).unwrap_or_default(),
            r.ended_at.map(time::iso8601).unwrap_or_default(),
            field(&models(r).join(" ")),
            r.prompt_count.to_string(),
            r.message_count.to_string(),
            r.tool_call_count.to_string(),
            r.input_tokens.to_string(),
            r.output_tokens.to_string(),
            r.cache_creation_tokens.to_string(),
            r.cache_read_tokens.to_string(),
            // Empty, not 0, for a session with no known price.
            r.cost_usd.map(|c| c.to_string()).unwrap_or_default(),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet
/// does not run a project name as a formula.
fn field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionRow;

    #[test]
    fn csv_quotes_and_defuses_formulas_and_leaves_unpriced_empty() {
        let s = Session {
            row: SessionRow {
                session_id: "s1".into(),
                project_name: Some("=cmd,\"x\"".into()),
                cost_usd: None,
                ..SessionRow::default()
            },
            source: "claude-code".into(),
            machine: None,
        };
        let text = csv(std::slice::from_ref(&s));
        let line = text.lines().nth(1).unwrap();
        assert!(line.starts_with("s1,claude-code,,\"'=cmd,\"\"x\"\"\","), "{line}");
        assert!(line.ends_with(",0,0,0,0,"), "{line}");
        let j: serde_json::Value = serde_json::from_str(jsonl(&[s]).trim()).unwrap();
        assert_eq!(j["cost"], serde_json::Value::Null);
    }
}
