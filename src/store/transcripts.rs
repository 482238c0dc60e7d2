//! What the transcript engine keeps per session: how far each transcript file was read (with
//! the accounting state, as JSON), and the exact figures it computed for the session row.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::transcript::TokenUsage;

/// A session's figures as computed from its transcript; they replace the hook path's running
/// counts. Text fields only fill gaps (the hook path's values, redacted, come first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranscriptFigures {
    pub project_name: Option<String>,
    pub working_directory: Option<String>,
    pub git_branch: Option<String>,
    pub transcript_path: Option<String>,
    pub models: Vec<String>,
    pub started_at: Option<i64>,
    /// Set for a session known to be over (backfill); a running session's end is its
    /// `session_end` event.
    pub ended_at: Option<i64>,
    pub prompts: u64,
    pub messages: u64,
    pub tool_calls: u64,
    pub tokens: TokenUsage,
    pub cost: Option<f64>,
}

impl Store {
    /// The saved reading state of a session's transcript (JSON of `transcript::SessionState`).
    pub fn transcript_state(&self, session_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT state FROM transcript_state WHERE session_id = ?1")?
            .query_row([session_id], |r| r.get(0))
            .optional()?)
    }

    pub fn save_transcript_state(&self, session_id: &str, state: &str, now: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO transcript_state (session_id, state, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            )?
            .execute(params![session_id, state, now])?;
        Ok(())
    }

    /// Writes the transcript's exact figures into the session's row (creating it if needed).
    pub fn apply_transcript_figures(&self, session_id: &str, f: &TranscriptFigures, now: i64) -> Result<()> {
        let models = serde_json::to_string(&f.models)?;
        let main_model = f.models.first();
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (session_id, started_at, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (session_id) DO NOTHING",
            )?
            .execute(params![session_id, f.started_at, now])?;
        self.conn
            .prepare_cached(
                "UPDATE sessions SET
                project_name      = COALESCE(project_name, ?2),
                working_directory = COALESCE(working_directory, ?3),
                git_branch        = COALESCE(git_branch, ?4),
                transcript_path   = COALESCE(?5, transcript_path),
                model             = COALESCE(model, ?6),
                models            = ?7,
                started_at        = COALESCE(MIN(started_at, ?8), started_at, ?8),
                ended_at          = CASE WHEN ?9 IS NULL THEN ended_at ELSE MAX(COALESCE(ended_at, ?9), ?9) END,
                prompt_count      = ?10,
                message_count     = ?11,
                tool_call_count   = ?12,
                input_tokens      = ?13,
                output_tokens     = ?14,
                cache_creation_tokens = ?15,
                cache_read_tokens = ?16,
                cost_usd          = ?17,
                updated_at        = ?18
             WHERE session_id = ?1",
            )?
            .execute(params![
                session_id,
                f.project_name,
                f.working_directory,
                f.git_branch,
                f.transcript_path,
                main_model,
                models,
                f.started_at,
                f.ended_at,
                f.prompts as i64,
                f.messages as i64,
                f.tool_calls as i64,
                f.tokens.input as i64,
                f.tokens.output as i64,
                f.tokens.cache_creation as i64,
                f.tokens.cache_read as i64,
                f.cost,
                now,
            ])?;
        Ok(())
    }
}
