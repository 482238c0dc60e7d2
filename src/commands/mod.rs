//! The user-facing commands. Each gets a `Context` with the loaded configuration, a redactor
//! built from it, and the data dir; failures become one clear line on stderr and exit 1.

mod dashboard;
mod forget;
mod install_report;
mod login;
mod progress;
mod redact;
mod sessions;
mod status;
mod sync_now;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Command;
use crate::config::Config;
use crate::log::Log;
use crate::redact::Redactor;
use crate::{paths, uploader};

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

pub fn run(command: Command) -> ExitCode {
    let ctx = Context::load();
    // The slash commands' `!` lines abort on a non-zero exit: these two report and exit 0.
    let always_zero = matches!(command, Command::Status | Command::SyncNow { .. });
    let result = match command {
        Command::Status => status::run(&ctx),
        Command::SyncNow { session, all, project, paths, jobs } => {
            sync_now::run(&ctx, session, all, project.as_deref(), &paths, jobs.map(usize::from))
        }
        Command::Sessions { filters, limit, json } => sessions::run(&ctx, filters.into_query_text(limit), json),
        Command::Dashboard { port, no_open, source } => dashboard::run(&ctx, port, !no_open, source),
        Command::Login { url, key_stdin, no_key, generate_key, force, protocol } => {
            let protocol = protocol.map(Into::into);
            if generate_key {
                login::generate_key(&ctx, url, force, protocol)
            } else {
                login::run(&ctx, url, key_stdin, no_key, force, protocol)
            }
        }
        Command::Forget { session, project } => forget::run(&ctx, session.as_deref(), project.as_deref()),
        Command::Redact { file, explain } => redact::run(file.as_deref(), explain, &ctx.redactor),
        Command::Usage { paths, json, jobs } => usage::run(&ctx, paths, json, jobs),
        Command::ReplaySpool => crate::hook::spool::replay_command(&ctx.data_dir).map(|n| {
            if n > 0 {
                ctx.log().info(&format!("recorded {n} event(s) kept on disk before the binary was installed"));
            }
        }),
        Command::Upload { detach } => {
            if detach {
                uploader::leave_process_tree();
            }
            uploader::run_detached(&ctx.data_dir, &ctx.config, &ctx.log())
        }
        hook => unreachable!("hook subcommand {hook:?} is dispatched before commands"),
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
