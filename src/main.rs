//! Minimal command line for the redaction work; the lead's main.rs carries the real CLI.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use claude_code_sync::{commands, redact::Redactor};

#[derive(Parser)]
#[command(
    name = "claude-code-sync",
    version,
    about = "Record Claude Code sessions, redacted"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read text (stdin by default) and write it with secrets redacted.
    Redact {
        /// File to read instead of stdin.
        file: Option<PathBuf>,
        /// List what was found (kind, line, column, length) instead of the text; never prints a secret.
        #[arg(long)]
        explain: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Redact { file, explain } => {
            let (redactor, problems) = Redactor::new(&[], &[]);
            for p in problems {
                eprintln!("claude-code-sync: {p}");
            }
            commands::redact::run(file.as_deref(), explain, &redactor)
        }
    }
}
