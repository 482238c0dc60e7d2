//! Claude Code transcripts: incremental reading, exact token and cost accounting, conversation
//! items. Pure and store-agnostic: the store persists [`SessionState`] (cursors + tally) as
//! serde values; `crate::ingest` is the glue to the store. The rules implemented are those of
//! the team's `shared/docs/transcripts-and-usage.md` (rule numbers in comments refer to it).
//!
//! Typical use from a hook (`stop`, `session-end`):
//! ```no_run
//! # use claude_code_sync::transcript::*;
//! # let (mut state, prices) = (SessionState::default(), PriceTable::bundled());
//! let files = session_files(std::path::Path::new("/home/me/.claude/projects/p/s.jsonl"));
//! let _report = catch_up(&mut state, &files, &CatchUpOptions::default(), |_item| { /* queue it */ });
//! let summary = state.tally.summary(&prices, None);
//! ```

pub mod conversation;
pub mod discover;
pub mod line;
pub mod prices;
pub mod reader;
pub mod scan;
pub mod session;
pub mod tally;

pub use conversation::{ConversationItem, ConversationOptions, ItemKind, Outcome, Privacy, Role};
pub use discover::{SessionFiles, config_dirs, discover_sessions, session_files};
pub use prices::{ModelPrices, PriceTable};
pub use reader::{FileCursor, FileIdentity, ReadReport, Restart, read_new};
pub use session::{CatchUpOptions, CatchUpReport, SessionState, catch_up, is_current};
pub use tally::{CostSource, CostState, FileRole, ModelTotals, SessionSummary, SessionTally, TokenUsage};

#[cfg(test)]
mod tests;
