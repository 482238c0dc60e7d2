//! claude-code-sync: the binary every hook of the plugin calls, and the user's CLI.

use std::process::ExitCode;

use clap::Parser;
use claude_code_sync::{cli, commands, hook};

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    // The hook path skips clap: building the whole CLI's parser costs more than the rest of
    // the process start, and a hook runs 10–20 times a turn. Only the exact form hooks.json
    // uses (one argument, a hook's name) takes this path; anything else goes through clap.
    if let Some(kind) = hook_fast_path(std::env::args_os()) {
        hook::run(kind, started);
        return ExitCode::SUCCESS;
    }
    // A hook must exit 0 with empty stdout even when its arguments are wrong: decide that
    // before clap, which would print usage and exit 2 (and exit 2 blocks Claude Code).
    let args: Vec<String> = std::env::args().collect();
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if is_hook_invocation(&args) => {
            hook::log_bad_invocation(&e.to_string());
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    if let Some(kind) = cli.command.hook_kind() {
        hook::run(kind, started);
        return ExitCode::SUCCESS;
    }
    commands::run(cli.command)
}

/// The hook named by the only argument, if that is all there is.
fn hook_fast_path(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<hook::HookKind> {
    let (_, name, None) = (args.next()?, args.next()?, args.next()) else { return None };
    hook::HookKind::from_name(name.to_str()?)
}

/// The first argument names a hook subcommand.
fn is_hook_invocation(args: &[String]) -> bool {
    args.get(1).is_some_and(|a| <hook::HookKind as clap::Subcommand>::has_subcommand(a))
}
