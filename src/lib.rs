//! claude-code-sync: records Claude Code sessions locally and syncs them to a backend.

pub mod transcript;
