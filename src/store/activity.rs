//! What happened inside sessions, read back from the outbox for the dashboard: a session's
//! events in time order (its timeline) and the tool calls of every session (tool statistics).
//! The outbox keeps delivered rows, so these are complete whatever was sent.

use anyhow::Result;

use super::Store;

/// One recorded event as stored: its payload is the redacted JSON that was (or will be) sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEvent {
    pub seq: i64,
    pub event_type: String,
    pub timestamp: i64,
    pub payload: String,
}

/// A row that says something about a tool call: the transcript's `tool_use` or `tool_result`
/// item, or the hook's `tool_use` / `tool_failure` event (which carries the duration).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolItem {
    pub seq: i64,
    pub session_id: String,
    pub timestamp: i64,
    /// `tool_use`, `tool_result` (transcript) or `hook_ok`, `hook_failure` (hooks).
    pub kind: ToolItemKind,
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
    /// Transcript results: `ok` or `error`.
    pub outcome: Option<String>,
    pub duration_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolItemKind {
    Use,
    Result,
    HookOk,
    HookFailure,
}

impl Store {
    /// The session's events, oldest first (transcript items carry their original times).
    pub fn session_events(&self, session_id: &str) -> Result<Vec<SessionEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, event_type, timestamp, payload FROM outbox WHERE session_id = ?1 ORDER BY timestamp, seq",
        )?;
        let rows = stmt.query_map([session_id], |r| {
            Ok(SessionEvent { seq: r.get(0)?, event_type: r.get(1)?, timestamp: r.get(2)?, payload: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every tool item recorded after `after_seq`, in queue order; `visit` sees each one, so a
    /// reader of a million events keeps only what it folds them into.
    pub fn tool_items_after(&self, after_seq: i64, mut visit: impl FnMut(ToolItem)) -> Result<()> {
        // The LIKEs discard the other transcript items before their JSON is parsed: payloads are
        // compact JSON written by serde, so the kind appears exactly so.
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, session_id, timestamp, event_type,
                    json_extract(payload, '$.detail.kind'), json_extract(payload, '$.detail.toolName'),
                    json_extract(payload, '$.detail.toolUseId'), json_extract(payload, '$.detail.outcome'),
                    json_extract(payload, '$.detail.durationMs')
             FROM outbox
             WHERE seq > ?1
               AND (event_type IN ('tool_use', 'tool_failure')
                    OR (event_type = 'message'
                        AND (payload LIKE '%\"kind\":\"tool_use\"%' OR payload LIKE '%\"kind\":\"tool_result\"%')))
             ORDER BY seq",
        )?;
        let mut rows = stmt.query([after_seq])?;
        while let Some(r) = rows.next()? {
            let event_type: String = r.get(3)?;
            let detail_kind: Option<String> = r.get(4)?;
            let kind = match (event_type.as_str(), detail_kind.as_deref()) {
                ("tool_use", _) => ToolItemKind::HookOk,
                ("tool_failure", _) => ToolItemKind::HookFailure,
                (_, Some("tool_use")) => ToolItemKind::Use,
                (_, Some("tool_result")) => ToolItemKind::Result,
                _ => continue,
            };
            visit(ToolItem {
                seq: r.get(0)?,
                session_id: r.get(1)?,
                timestamp: r.get(2)?,
                kind,
                tool_name: r.get(5)?,
                tool_use_id: r.get(6)?,
                outcome: r.get(7)?,
                duration_ms: r.get(8)?,
            });
        }
        Ok(())
    }
}
