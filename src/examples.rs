//! The example sessions: two real transcripts bundled in the binary, for a first run on a
//! machine with no Claude Code history (`sync-now --all` imports them so `sessions` shows
//! something).

use std::path::{Path, PathBuf};

/// Transcripts written by the real Claude Code 2.1.331 (a multi-tool session and one with a
/// subagent; bookkeeping lines removed, project renamed).
const EXAMPLES: &[(&str, &str)] = &[
    (
        "3c420acd-f7ce-4f4d-a482-4af2de79d118.jsonl",
        include_str!(
            "../examples/transcripts/-home-dev-claude-code-sync-example/3c420acd-f7ce-4f4d-a482-4af2de79d118.jsonl"
        ),
    ),
    (
        "4393a4ec-3239-4206-97e6-49e5a86ce22c.jsonl",
        include_str!(
            "../examples/transcripts/-home-dev-claude-code-sync-example/4393a4ec-3239-4206-97e6-49e5a86ce22c.jsonl"
        ),
    ),
    (
        "4393a4ec-3239-4206-97e6-49e5a86ce22c/subagents/agent-a0094f20103808832.jsonl",
        include_str!(
            "../examples/transcripts/-home-dev-claude-code-sync-example/4393a4ec-3239-4206-97e6-49e5a86ce22c/subagents/agent-a0094f20103808832.jsonl"
        ),
    ),
];

/// The project name the example sessions are recorded under (`forget --project` removes them).
pub const PROJECT: &str = "claude-code-sync-example";

/// Writes the bundled example transcripts under `data_dir/examples` and returns that root.
pub fn install(data_dir: &Path) -> std::io::Result<PathBuf> {
    let root = data_dir.join("examples");
    let project = root.join("projects").join(format!("-home-dev-{PROJECT}"));
    for (name, text) in EXAMPLES {
        let path = project.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&project))?;
        std::fs::write(&path, text)?;
    }
    Ok(root)
}
