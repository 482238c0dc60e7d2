//! `sessions`: the sessions recorded locally, newest first, as a table or as JSON. Works with
//! no backend at all: the local store is the product's embedded default.

use std::io::Write;

use anyhow::Result;

use super::Context;
use crate::report::{self, Query, QueryText};
use crate::store::Store;
use crate::time;

pub fn run(ctx: &Context, text: QueryText, json: bool) -> Result<()> {
    let query = Query::parse(&text)?;
    let (store, _) = Store::open(&ctx.data_dir)?;
    let sessions = report::local_sessions(&store, &query)?;
    let rows: Vec<_> = sessions.iter().map(|s| &s.row).collect();
    let mut out = std::io::stdout().lock();
    if json {
        let sessions: Vec<_> = sessions.iter().map(report::session_json).collect();
        serde_json::to_writer_pretty(&mut out, &sessions)?;
        writeln!(out)?;
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(
            out,
            "No sessions recorded yet. Import past ones with `claude-code-sync sync-now --all`; new ones are \
             recorded as you use Claude Code with the plugin."
        )?;
        return Ok(());
    }
    let table: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.project_name.clone().unwrap_or_else(|| "-".into()),
                r.started_at.map(|ms| time::iso8601(ms)[..16].replace('T', " ")).unwrap_or_else(|| "-".into()),
                r.models.first().cloned().or_else(|| r.model.clone()).unwrap_or_else(|| "-".into()),
                r.prompt_count.to_string(),
                r.tool_call_count.to_string(),
                human_tokens(r.input_tokens + r.output_tokens + r.cache_creation_tokens + r.cache_read_tokens),
                r.cost_usd.map_or_else(|| "unpriced".into(), |c| format!("${c:.2}")),
            ]
        })
        .collect();
    let header = ["PROJECT", "STARTED (UTC)", "MODEL", "PROMPTS", "TOOLS", "TOKENS", "COST"];
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| if i >= 3 { format!("{c:>w$}") } else { format!("{c:<w$}") })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(&header.map(String::from)))?;
    for row in &table {
        writeln!(out, "{}", line(row))?;
    }
    let total_cost: f64 = rows.iter().filter_map(|r| r.cost_usd).sum();
    writeln!(out, "{} session(s), ${total_cost:.2} priced", rows.len())?;
    Ok(())
}

/// 1234 -> "1.2k", 3_400_000 -> "3.4M".
fn human_tokens(n: i64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
