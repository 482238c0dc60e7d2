//! `usage` (hidden): reads transcripts in full, without the store, and prints each session's
//! tokens and cost. For diagnostics and the transcript benchmark (bench/transcripts.py).

use std::io::Write;

use anyhow::Result;

use super::{Context, Run};
use crate::cli::Usage;
use crate::paths;
use crate::transcript::{self, PriceTable, TokenUsage, scan};

impl Run for Usage {
    fn run(self, ctx: &Context) -> Result<()> {
        let Usage { paths, json, jobs } = self;
        let roots = if paths.is_empty() {
            let env = std::env::var("CLAUDE_CONFIG_DIR").ok();
            transcript::config_dirs(env.as_deref(), Some(&paths::home_dir()))
        } else {
            paths
        };
        let (prices, problem) = PriceTable::for_data_dir(&ctx.data_dir);
        if let Some(problem) = problem {
            eprintln!("claude-code-sync: price file ignored: {problem}");
        }
        let sessions = transcript::discover_sessions(&roots);
        let summaries = scan::summarize(&sessions, &prices, jobs);
        let mut total = TokenUsage::default();
        let (mut cost, mut unpriced) = (0.0, 0);
        for s in &summaries {
            total.add(&s.token_usage);
            match s.cost {
                Some(c) => cost += c,
                None => unpriced += 1,
            }
        }
        let mut out = std::io::stdout().lock();
        if json {
            let doc = serde_json::json!({
                "sessions": summaries.iter().map(scan::session_json).collect::<Vec<_>>(),
                "totals": { "tokenUsage": total, "cost": cost, "unpricedSessions": unpriced },
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
            return Ok(());
        }
        for s in &summaries {
            let t = &s.token_usage;
            let cost = s.cost.map_or("unpriced".to_owned(), |c| format!("${c:.4}"));
            writeln!(
                out,
                "{}  {}  in {} out {} cache-write {} cache-read {}  {cost}",
                s.session_id,
                s.project_name.as_deref().unwrap_or("-"),
                t.input,
                t.output,
                t.cache_creation,
                t.cache_read
            )?;
        }
        writeln!(out, "{} sessions, {} tokens, ${cost:.4} ({unpriced} unpriced)", summaries.len(), total.total())?;
        Ok(())
    }
}
