//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::hook::HookKind;

#[derive(Parser, Debug)]
#[command(
    name = "claude-code-sync",
    version,
    about = "Records every Claude Code session locally, redacts secrets, and syncs it to your Convex backend",
    long_about = "Records every Claude Code session locally, redacts secrets, and syncs it to your Convex backend.\n\n\
Claude Code runs the hook subcommands through the plugin's hooks; you run the others.\n\
With no backend configured every session is still kept in the local store (see `sessions`).\n\n\
Configuration: ~/.claude-code-sync.json (convex_url, api_key, protocol, auto_sync, sync_tool_calls,\n\
sync_thinking, sync_tool_output, max_prompt_chars, max_text_chars, redact_patterns,\n\
redact_allowlist) or the CLAUDE_SYNC_* environment variables; `status` shows what is in effect.\n\
Data: $CLAUDE_SYNC_DATA_DIR, default ~/.local/share/claude-code-sync (store.db, claude-code-sync.log)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the configuration, test the connection, and show what is queued, parked and recorded
    Status,

    /// Deliver queued events now, in the foreground, and say what was sent
    #[command(long_about = "Deliver queued events now, in the foreground, and say what was sent.\n\n\
Sends the current session's events (CLAUDE_CODE_SESSION_ID, as set inside Claude Code, or \
--session); from a terminal with neither, everything pending. Events the backend rejected \
earlier are retried: the cause may have been fixed.\n\n\
With --all, first imports every past session from the transcripts under the Claude config dirs \
(CLAUDE_CONFIG_DIR, ~/.claude, ~/.config/claude) or the given paths: messages, tool calls, exact \
tokens and cost, with their original timestamps. Running it again imports only what is new.")]
    SyncNow {
        /// Only this session's events
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// Import every past transcript, then send everything pending, even inside a Claude Code session
        #[arg(long, conflicts_with = "session")]
        all: bool,
        /// With --all: only the project with this name (its folder under projects/)
        #[arg(long, value_name = "NAME", requires = "all")]
        project: Option<String>,
        /// With --all: transcript files or folders to import instead of the config dirs
        #[arg(value_name = "PATH", requires = "all")]
        paths: Vec<PathBuf>,
        /// With --all: threads reading transcripts (default: one per CPU core, at most 4)
        #[arg(long, value_name = "N", requires = "all", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
    },

    /// The sessions recorded locally, newest first: project, start, model, prompts, tool calls, tokens, cost
    Sessions {
        #[command(flatten)]
        filters: SessionFilters,
        /// At most this many sessions
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// One JSON array, one object per session
        #[arg(long)]
        json: bool,
    },

    /// Open the dashboard: sessions, tool use and token spend, served on 127.0.0.1 from this binary
    #[command(long_about = "Open the dashboard: sessions, tool use and token spend, served on 127.0.0.1 \
from this binary.\n\n\
Prints the URL (http://127.0.0.1:PORT/) as the first line, opens it in the browser unless --no-open, \
and serves until Ctrl-C. It reads the local store read-only while hooks keep writing. With \
--source remote it shows every machine that syncs to the configured Convex deployment; the API key \
stays in this process and never reaches the browser. See docs/dashboard.md.")]
    Dashboard {
        /// Port on 127.0.0.1 (0 or none: a free port)
        #[arg(long, value_name = "N", default_value_t = 0)]
        port: u16,
        /// Do not open a browser; just print the URL
        #[arg(long)]
        no_open: bool,
        /// Where the sessions come from first (the page can switch)
        #[arg(long, value_enum, default_value_t = DashboardSource::Local)]
        source: DashboardSource,
    },

    /// Set the Convex URL and API key, test them, and save them to ~/.claude-code-sync.json
    #[command(long_about = "Set the Convex URL and API key, test them, and save them to \
~/.claude-code-sync.json (mode 0600).\n\n\
The key is never taken as a command-line argument (other users can read process arguments): \
type it at the prompt, pipe it with --key-stdin, or set CLAUDE_SYNC_API_KEY.\n\n\
--generate-key makes a new strong key instead, saves it, and prints the one command that sets it \
on the deployment.")]
    Login {
        /// Deployment URL, e.g. https://your-deployment.convex.cloud
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Read the API key from standard input (one line)
        #[arg(long)]
        key_stdin: bool,
        /// Save without a key (deployments that require none)
        #[arg(long, conflicts_with = "key_stdin")]
        no_key: bool,
        /// Make a new strong key, save it, and print the command that sets it on the deployment
        #[arg(long, conflicts_with_all = ["key_stdin", "no_key"])]
        generate_key: bool,
        /// Save even when the connection test fails
        #[arg(long)]
        force: bool,
        /// Backend protocol, saved with the URL (default: the configured one, `auto` unless set)
        #[arg(long, value_enum)]
        protocol: Option<ProtocolArg>,
    },

    /// Delete a session, or all sessions of a project, from the local store
    #[command(group(clap::ArgGroup::new("what").required(true).args(["session", "project"])))]
    Forget {
        /// The session id to delete
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// Delete every session of this project (its name or working directory)
        #[arg(long, value_name = "NAME")]
        project: Option<String>,
    },

    /// Redact secrets from text: reads FILE or stdin, writes the redacted text to stdout
    Redact {
        /// File to read (default: stdin)
        file: Option<PathBuf>,
        /// List what was found (kind, line, column, length) instead of the text; never prints a secret
        #[arg(long)]
        explain: bool,
    },

    /// The hook subcommands Claude Code runs (session-start, prompt-submit, …)
    #[command(flatten)]
    Hook(HookKind),

    /// Token usage and cost of transcripts, read in full without the store (diagnostics, benchmarks)
    #[command(hide = true)]
    Usage {
        /// Transcript files or directories (default: the Claude config dirs)
        paths: Vec<PathBuf>,
        /// Print JSON: the `sessions --json` objects plus totals
        #[arg(long)]
        json: bool,
        /// Reader threads
        #[arg(long, default_value_t = 1)]
        jobs: usize,
    },

    /// Record the hook events the plugin's launcher kept on disk before the binary was installed
    #[command(name = "replay-spool", hide = true)]
    ReplaySpool,

    /// The detached background uploader (started by hooks)
    #[command(name = "__upload", hide = true)]
    Upload {
        /// Leave the starting process's tree first (fork, setsid): how hooks start it
        #[arg(long)]
        detach: bool,
    },
}

/// The filters `sessions` and the dashboard share (see `report::Query`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SessionFilters {
    /// Only this project (name or working directory)
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// Only sessions started on or after this date (YYYY-MM-DD or ISO 8601, UTC)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only sessions started on or before this date (a plain date includes the whole day)
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Only this git branch
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Only sessions that used this model
    #[arg(long, value_name = "ID")]
    pub model: Option<String>,
    /// Only sessions recorded by this tool: claude-code or opencode
    #[arg(long = "source", value_name = "TOOL", id = "tool")]
    pub tool: Option<String>,
    /// Only sessions whose prompts or assistant texts contain this text
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
}

impl SessionFilters {
    pub fn into_query_text(self, limit: Option<usize>) -> crate::report::QueryText {
        crate::report::QueryText {
            source: self.tool,
            project: self.project,
            branch: self.branch,
            model: self.model,
            since: self.since,
            until: self.until,
            search: self.search,
            limit,
        }
    }
}

/// `dashboard --source`: this machine's store, or the configured deployment (every machine).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DashboardSource {
    Local,
    Remote,
}

/// `--protocol` values; the same words as the `protocol` setting.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ProtocolArg {
    Auto,
    RecordEvent,
    Opensync,
}

impl From<ProtocolArg> for crate::config::Protocol {
    fn from(p: ProtocolArg) -> Self {
        match p {
            ProtocolArg::Auto => crate::config::Protocol::Auto,
            ProtocolArg::RecordEvent => crate::config::Protocol::RecordEvent,
            ProtocolArg::Opensync => crate::config::Protocol::OpenSync,
        }
    }
}

impl Command {
    pub fn hook_kind(&self) -> Option<HookKind> {
        match self {
            Command::Hook(kind) => Some(*kind),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The hook path matches hook names without clap (main.rs): the two spellings must agree,
    /// for every hook subcommand clap knows.
    #[test]
    fn hook_names_match_the_clap_subcommands() {
        let clap_names: Vec<String> = <HookKind as clap::Subcommand>::augment_subcommands(clap::Command::new("x"))
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        assert_eq!(clap_names.len(), HookKind::ALL.len());
        for name in &clap_names {
            let kind = HookKind::from_name(name).unwrap_or_else(|| panic!("{name} has no HookKind::from_name"));
            let parsed = Cli::try_parse_from(["claude-code-sync", name.as_str()]).unwrap();
            assert_eq!(parsed.command.hook_kind(), Some(kind), "{name}");
            assert_eq!(kind.name(), name);
        }
        assert_eq!(HookKind::from_name("status"), None);
        assert_eq!(HookKind::from_name("Stop"), None);
    }
}
