//! What the outbox knows about one session as a whole, for transports whose backend keeps one
//! session record that each call overwrites (OpenSync) rather than a log of events.
//!
//! Derived from the session's outbox rows — delivered ones included, they are never deleted —
//! so any uploader process, at any point of the session, can send the complete current state
//! (title from the first prompt, first timestamp, latest totals) and a re-send is harmless.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::event::TokenUsage;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFacts {
    /// Earliest event time (transcript items carry their original times).
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    /// The first prompt's text (already redacted and truncated when it was recorded).
    pub first_prompt: Option<String>,
    pub project_name: Option<String>,
    pub working_directory: Option<String>,
    /// The latest model named by an event or an assistant message (`<synthetic>` skipped).
    pub model: Option<String>,
    /// The session's totals, absolute: the session row's transcript figures when it has any
    /// (kept current at every `stop`), else the latest a payload carried (the summary).
    pub token_usage: Option<TokenUsage>,
    pub cost: Option<f64>,
    pub duration_ms: Option<i64>,
    /// The latest delivery time of any of the session's events: an upper bound on when the
    /// backend last wrote this session.
    pub last_delivered_at: Option<i64>,
    /// The session's last row that is not a transcript message: the one whose session update
    /// carries the latest state.
    pub last_session_seq: i64,
    /// That row is a `session_end`: the session is over and its figures are final.
    pub ended: bool,
}

/// How many early prompt candidates to look at for a non-empty one.
const PROMPT_CANDIDATES: usize = 8;

impl Store {
    pub fn session_facts(&self, session_id: &str) -> Result<SessionFacts> {
        let mut facts = self.conn.query_row(
            "SELECT MIN(timestamp), MAX(timestamp), MAX(delivered_at),
                    COALESCE(MAX(CASE WHEN event_type != 'message' THEN seq END), 0)
             FROM outbox WHERE session_id = ?1",
            [session_id],
            |r| {
                Ok(SessionFacts {
                    first_timestamp: r.get(0)?,
                    last_timestamp: r.get(1)?,
                    last_delivered_at: r.get(2)?,
                    last_session_seq: r.get(3)?,
                    ..SessionFacts::default()
                })
            },
        )?;

        facts.ended = self
            .conn
            .prepare_cached("SELECT event_type FROM outbox WHERE seq = ?1")?
            .query_row([facts.last_session_seq], |r| r.get::<_, String>(0))
            .optional()?
            .is_some_and(|t| t == "session_end");

        // A prompt from the hook (`detail.prompt.text`) or from the transcript (a user message):
        // the first few of each in queue order (an index scan that stops early), then the
        // earliest non-empty one in time.
        let mut stmt = self.conn.prepare_cached(
            "SELECT timestamp, seq, text FROM (
                 SELECT timestamp, seq, json_extract(payload, '$.detail.prompt.text') AS text FROM outbox
                 WHERE session_id = ?1 AND event_type = 'user_prompt' ORDER BY seq LIMIT ?2)
             UNION ALL
             SELECT timestamp, seq, text FROM (
                 SELECT timestamp, seq, json_extract(payload, '$.detail.text') AS text FROM outbox
                 WHERE session_id = ?1 AND event_type = 'message'
                   AND json_extract(payload, '$.detail.role') = 'user'
                   AND json_extract(payload, '$.detail.kind') IN ('prompt', 'text')
                 ORDER BY seq LIMIT ?2)",
        )?;
        let candidates = stmt.query_map(params![session_id, PROMPT_CANDIDATES as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?))
        })?;
        let mut earliest: Option<(i64, i64, String)> = None;
        for candidate in candidates {
            let (ts, seq, text) = candidate?;
            let Some(text) = text.filter(|t| !t.trim().is_empty()) else { continue };
            if earliest.as_ref().is_none_or(|(t, s, _)| (ts, seq) < (*t, *s)) {
                earliest = Some((ts, seq, text));
            }
        }
        facts.first_prompt = earliest.map(|(_, _, text)| text);

        facts.project_name = self.latest_text(session_id, "json_extract(payload, '$.projectName')")?;
        facts.working_directory = self.latest_text(session_id, "json_extract(payload, '$.workingDirectory')")?;
        facts.model = self.latest_text(
            session_id,
            "COALESCE(json_extract(payload, '$.model'),
                      CASE WHEN event_type = 'message' AND json_extract(payload, '$.detail.role') = 'assistant'
                           THEN json_extract(payload, '$.detail.model') END)",
        )?;
        facts.token_usage = self.latest(session_id, "json_extract(payload, '$.tokenUsage')")?.and_then(|v| match v {
            rusqlite::types::Value::Text(t) => serde_json::from_str(&t).ok(),
            _ => None,
        });
        facts.cost = self.latest(session_id, "json_extract(payload, '$.cost')")?.and_then(|v| match v {
            rusqlite::types::Value::Real(f) => Some(f),
            rusqlite::types::Value::Integer(i) => Some(i as f64),
            _ => None,
        });
        facts.duration_ms = self.latest(session_id, "json_extract(payload, '$.durationMs')")?.and_then(|v| match v {
            rusqlite::types::Value::Integer(i) => Some(i),
            rusqlite::types::Value::Real(f) => Some(f as i64),
            _ => None,
        });

        // The transcript's exact figures on the session row are newer than any payload while
        // the session runs (only `session_end` carries a summary).
        let row = self
            .conn
            .prepare_cached(
                "SELECT input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd
                 FROM sessions WHERE session_id = ?1",
            )?
            .query_row([session_id], |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok((
                    TokenUsage { input: n(0)?, output: n(1)?, cache_creation: Some(n(2)?), cache_read: Some(n(3)?) },
                    r.get::<_, Option<f64>>(4)?,
                ))
            })
            .optional()?;
        if let Some((usage, cost)) = row {
            if usage.input + usage.output > 0 {
                facts.token_usage = Some(usage);
            }
            if cost.is_some() {
                facts.cost = cost;
            }
        }
        Ok(facts)
    }

    /// The value of `expr` on the session's latest row where it is not null.
    fn latest(&self, session_id: &str, expr: &str) -> Result<Option<rusqlite::types::Value>> {
        let sql = format!(
            "SELECT v FROM (SELECT seq, {expr} AS v FROM outbox WHERE session_id = ?1)
             WHERE v IS NOT NULL AND v != '<synthetic>' ORDER BY seq DESC LIMIT 1"
        );
        Ok(self.conn.prepare_cached(&sql)?.query_row([session_id], |r| r.get(0)).optional()?)
    }

    fn latest_text(&self, session_id: &str, expr: &str) -> Result<Option<String>> {
        Ok(self.latest(session_id, expr)?.and_then(|v| match v {
            rusqlite::types::Value::Text(t) if !t.trim().is_empty() => Some(t),
            _ => None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventType, Payload};
    use serde_json::json;

    fn record(store: &mut Store, id: &str, ty: EventType, ts: i64, payload: Payload) {
        let event = Event { event_id: id.into(), session_id: "s1".into(), event_type: ty, timestamp: ts, payload };
        assert!(store.record(&event, None, ts).unwrap());
    }

    #[test]
    fn facts_take_the_first_prompt_the_earliest_time_and_the_latest_figures() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(tmp.path()).unwrap();
        let meta = |model: Option<&str>| Payload {
            project_name: Some("app".into()),
            working_directory: Some("/w/app".into()),
            model: model.map(Into::into),
            ..Payload::default()
        };
        record(&mut store, "a", EventType::SessionStart, 2_000, meta(Some("claude-opus-5-5")));
        record(
            &mut store,
            "b",
            EventType::UserPrompt,
            3_000,
            Payload { detail: Some(json!({ "prompt": { "text": "   " } })), ..meta(None) },
        );
        record(
            &mut store,
            "c",
            EventType::UserPrompt,
            4_000,
            Payload { detail: Some(json!({ "prompt": { "text": "second prompt" } })), ..meta(None) },
        );
        // A transcript item queued later but older than the hook's prompt: it is the first.
        record(
            &mut store,
            "d",
            EventType::Message,
            2_500,
            Payload {
                detail: Some(json!({ "role": "user", "kind": "prompt", "text": "fix the login bug" })),
                ..Payload::default()
            },
        );
        record(
            &mut store,
            "e",
            EventType::Message,
            4_500,
            Payload {
                detail: Some(
                    json!({ "role": "assistant", "kind": "text", "text": "ok", "model": "claude-sonnet-5-5" }),
                ),
                ..Payload::default()
            },
        );
        record(
            &mut store,
            "f",
            EventType::Message,
            4_600,
            Payload {
                detail: Some(json!({ "role": "assistant", "kind": "text", "text": "x", "model": "<synthetic>" })),
                ..Payload::default()
            },
        );
        let totals = |input, cost| Payload {
            token_usage: Some(TokenUsage { input, output: 7, cache_creation: Some(3), cache_read: Some(1000) }),
            cost: Some(cost),
            duration_ms: Some(9_000),
            ..Payload::default()
        };
        record(&mut store, "g", EventType::ResponseComplete, 5_000, totals(10, 0.5));
        record(&mut store, "h", EventType::SessionEnd, 6_000, totals(20, 0.75));

        let facts = store.session_facts("s1").unwrap();
        assert_eq!(facts.first_timestamp, Some(2_000));
        assert_eq!(facts.last_timestamp, Some(6_000));
        assert_eq!(facts.first_prompt.as_deref(), Some("fix the login bug"));
        assert_eq!(facts.project_name.as_deref(), Some("app"));
        assert_eq!(facts.working_directory.as_deref(), Some("/w/app"));
        assert_eq!(facts.model.as_deref(), Some("claude-sonnet-5-5"));
        assert_eq!(facts.token_usage.unwrap().input, 20);
        assert_eq!(facts.cost, Some(0.75));
        assert_eq!(facts.duration_ms, Some(9_000));
        assert_eq!(facts.last_delivered_at, None);
        assert!(facts.ended);
        let end_seq = facts.last_session_seq;
        record(
            &mut store,
            "i",
            EventType::Message,
            6_100,
            Payload {
                detail: Some(json!({ "role": "assistant", "kind": "text", "text": "late item" })),
                ..Payload::default()
            },
        );
        record(&mut store, "j", EventType::Message, 6_200, Payload::default());
        let facts = store.session_facts("s1").unwrap();
        assert!(facts.ended, "transcript items after the end do not reopen the session");
        assert_eq!(facts.last_session_seq, end_seq);
        record(&mut store, "k", EventType::SessionStart, 7_000, Payload::default());
        assert!(!store.session_facts("s1").unwrap().ended, "a resumed session is open again");
        assert_eq!(store.session_facts("other").unwrap(), SessionFacts::default());

        // Figures the transcript put on the session row win: they are kept current.
        store
            .conn
            .execute(
                "UPDATE sessions SET input_tokens = 500, output_tokens = 60, cost_usd = 2.5 WHERE session_id = 's1'",
                [],
            )
            .unwrap();
        let facts = store.session_facts("s1").unwrap();
        assert_eq!((facts.token_usage.unwrap().input, facts.cost), (500, Some(2.5)));
    }
}
