use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use claude_code_sync::transcript::{self, scan, PriceTable};

#[derive(Parser)]
#[command(name = "claude-code-sync", version, about = "Records Claude Code sessions and syncs them")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Token usage and cost of transcripts, read in full (diagnostics and benchmarks).
    #[command(hide = true)]
    Usage {
        /// Transcript files or directories (default: the Claude config dirs).
        paths: Vec<PathBuf>,
        /// Print JSON (the `sessions --json` objects plus totals).
        #[arg(long)]
        json: bool,
        /// Reader threads.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// A prices.json that extends the bundled price table.
        #[arg(long)]
        prices: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Usage { paths, json, jobs, prices } => usage(paths, json, jobs, prices),
    }
}

fn usage(paths: Vec<PathBuf>, json: bool, jobs: usize, prices: Option<PathBuf>) -> anyhow::Result<()> {
    let roots = if paths.is_empty() {
        let env = std::env::var("CLAUDE_CONFIG_DIR").ok();
        transcript::config_dirs(env.as_deref(), dirs::home_dir().as_deref())
    } else {
        paths
    };
    let (table, problem) = PriceTable::load(prices.as_deref());
    if let Some(problem) = problem {
        eprintln!("price table override ignored: {problem}");
    }
    let sessions = transcript::discover_sessions(&roots);
    let summaries = scan::summarize(&sessions, &table, jobs, &|_| {});
    let mut total = transcript::TokenUsage::default();
    let mut cost = 0.0;
    let mut unpriced = 0;
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
    } else {
        for s in &summaries {
            let cost = s.cost.map_or("unpriced".to_owned(), |c| format!("${c:.4}"));
            writeln!(
                out,
                "{}  {}  in {} out {} cache+ {} cache> {}  {}",
                s.session_id,
                s.project_name.as_deref().unwrap_or("-"),
                s.token_usage.input,
                s.token_usage.output,
                s.token_usage.cache_creation,
                s.token_usage.cache_read,
                cost
            )?;
        }
        writeln!(out, "{} sessions, {} tokens, ${cost:.4} ({unpriced} unpriced)", summaries.len(), total.total())?;
    }
    Ok(())
}
