//! The user-facing commands. Each takes its own struct of arguments (`crate::cli`) and runs
//! with a `Context`: the loaded configuration, a redactor built from it, and the data dir.
//! Failures become one clear line on stderr and exit 1.

mod dashboard;
mod forget;
mod install_report;
mod login;
mod progress;
mod redact;
mod replay_spool;
mod sessions;
mod status;
mod sync_now;
mod upload;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;
use crate::config::Config;
use crate::log::Log;
use crate::paths;
use crate::redact::Redactor;

pub struct Context {
    pub config: Config,
    pub redactor: Redactor,
    /// Problems with the user's redaction patterns (shown by `status`).
    pub pattern_problems: Vec<String>,
    pub data_dir: PathBuf,
}

impl Context {
    pub fn load() -> Context {
        let config = Config::load();
        let (redactor, pattern_problems) = Redactor::new(&config.redact_patterns, &config.redact_allowlist);
        Context { config, redactor, pattern_problems, data_dir: paths::data_dir() }
    }

    pub fn log(&self) -> Log<'_> {
        Log::new(&self.data_dir, &self.redactor)
    }
}

/// A command: its arguments, and what running them does.
pub trait Run {
    fn run(self, ctx: &Context) -> Result<()>;
}

pub fn run(command: Command) -> ExitCode {
    let ctx = Context::load();
    // The slash commands' `!` lines abort on a non-zero exit: these two report and exit 0.
    let always_zero = matches!(command, Command::Status(_) | Command::SyncNow(_));
    let result = match command {
        Command::Status(cmd) => cmd.run(&ctx),
        Command::SyncNow(cmd) => cmd.run(&ctx),
        Command::Sessions(cmd) => cmd.run(&ctx),
        Command::Dashboard(cmd) => cmd.run(&ctx),
        Command::Login(cmd) => cmd.run(&ctx),
        Command::Forget(cmd) => cmd.run(&ctx),
        Command::Redact(cmd) => cmd.run(&ctx),
        Command::Usage(cmd) => cmd.run(&ctx),
        Command::ReplaySpool(cmd) => cmd.run(&ctx),
        Command::Upload(cmd) => cmd.run(&ctx),
        Command::Hook(kind) => unreachable!("hook subcommand {kind:?} is dispatched before commands"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = ctx.redactor.redact(&format!("{e:#}")).into_owned();
            ctx.log().error(&message);
            if always_zero {
                println!("claude-code-sync: {message}");
                return ExitCode::SUCCESS;
            }
            eprintln!("claude-code-sync: {message}");
            ExitCode::FAILURE
        }
    }
}
