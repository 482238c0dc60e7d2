//! claude-code-sync: records Claude Code sessions, redacts secrets, stores them locally and
//! delivers them to the user's backend.

pub mod commands;
pub mod redact;
