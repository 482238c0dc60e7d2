//! The outbox: every event, in order, with its delivery state.
//!
//! States: `pending` (to send), `delivered` (the backend acknowledged it), `parked` (the
//! backend rejected it — bad key, validation — kept with the reason until the cause is fixed;
//! never deleted, never retried in a loop).

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::event::{EncodedEvent, Event};

/// One queued event as the uploader reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub event_id: String,
    pub session_id: String,
    pub event_type: String,
    pub timestamp: i64,
    /// The redacted payload, as JSON text.
    pub payload: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub parked: u64,
    pub delivered: u64,
}

/// Parked events grouped by the reason the backend gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedGroup {
    pub reason: String,
    pub count: u64,
    pub oldest: i64,
}

impl Store {
    /// Appends `event` to the outbox and folds it into its session's row, in one transaction.
    /// Returns false when an event with the same id was already recorded (nothing changes).
    pub fn record(&mut self, event: &Event, transcript_path: Option<&str>, now: i64) -> Result<bool> {
        Ok(self.record_encoded(&[event.encode()?], transcript_path, now)? == 1)
    }

    /// Records several events in one transaction (transcript catch-up and backfill queue
    /// hundreds at once). Returns how many were new.
    pub fn record_batch(&mut self, events: &[Event], transcript_path: Option<&str>, now: i64) -> Result<usize> {
        let encoded = events.iter().map(Event::encode).collect::<serde_json::Result<Vec<_>>>()?;
        self.record_encoded(&encoded, transcript_path, now)
    }

    /// Records encoded events: in a transaction of their own, or in the caller's (see
    /// [`Store::in_transaction`]). Returns how many were new.
    pub fn record_encoded(
        &mut self,
        events: &[EncodedEvent],
        transcript_path: Option<&str>,
        now: i64,
    ) -> Result<usize> {
        if events.is_empty() {
            // A `stop` hook whose transcript has no new line: no write lock, no statement.
            return Ok(0);
        }
        if self.conn.is_autocommit() {
            return self.in_transaction(|store| store.record_encoded(events, transcript_path, now));
        }
        let mut inserted = Vec::with_capacity(events.len());
        {
            let mut insert = self.conn.prepare_cached(
                "INSERT INTO outbox (event_id, session_id, event_type, timestamp, payload, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (event_id) DO NOTHING",
            )?;
            for event in events {
                let params = params![
                    event.event_id,
                    event.session_id,
                    event.event_type.as_str(),
                    event.timestamp,
                    event.payload,
                    now
                ];
                if insert.execute(params)? == 1 {
                    inserted.push(event);
                }
            }
        }
        super::sessions::fold_events(&self.conn, &inserted, transcript_path, now)?;
        Ok(inserted.len())
    }

    /// The oldest pending events, in order; only one session's when `session` is given.
    pub fn pending(&self, limit: usize, session: Option<&str>) -> Result<Vec<OutboxEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, event_id, session_id, event_type, timestamp, payload, attempts FROM outbox
             WHERE state = 'pending' AND (?1 IS NULL OR session_id = ?1) ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![session, limit as i64], |r| {
            Ok(OutboxEvent {
                seq: r.get(0)?,
                event_id: r.get(1)?,
                session_id: r.get(2)?,
                event_type: r.get(3)?,
                timestamp: r.get(4)?,
                payload: r.get(5)?,
                attempts: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn has_pending(&self) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM outbox WHERE state = 'pending' LIMIT 1", [], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub fn mark_delivered(&mut self, seqs: &[i64], now: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET state = 'delivered', delivered_at = ?2, attempts = attempts + 1, last_error = NULL
                 WHERE seq = ?1 AND state = 'pending'",
            )?;
            for seq in seqs {
                stmt.execute(params![seq, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The backend rejected these events: keep them, with the reason, out of the send queue.
    pub fn park(&mut self, seqs: &[i64], reason: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ?2
                 WHERE seq = ?1 AND state = 'pending'",
            )?;
            for seq in seqs {
                stmt.execute(params![seq, reason])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A try that failed for a passing reason: count it, keep the events pending.
    pub fn note_attempt_failed(&mut self, seqs: &[i64], reason: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE seq = ?1 AND state = 'pending'",
            )?;
            for seq in seqs {
                stmt.execute(params![seq, reason])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Puts parked events (of one session, or all) back in the queue; returns how many.
    pub fn unpark(&mut self, session: Option<&str>) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'parked' AND (?1 IS NULL OR session_id = ?1)",
            params![session],
        )?)
    }

    pub fn outbox_counts(&self, session: Option<&str>) -> Result<OutboxCounts> {
        let mut counts = OutboxCounts::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, COUNT(*) FROM outbox WHERE (?1 IS NULL OR session_id = ?1) GROUP BY state",
        )?;
        let rows = stmt.query_map(params![session], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        for row in rows {
            let (state, n) = row?;
            match state.as_str() {
                "pending" => counts.pending = n,
                "parked" => counts.parked = n,
                _ => counts.delivered = n,
            }
        }
        Ok(counts)
    }

    pub fn parked_groups(&self) -> Result<Vec<ParkedGroup>> {
        let mut stmt = self.conn.prepare(
            "SELECT COALESCE(last_error, 'rejected'), COUNT(*), MIN(created_at) FROM outbox
             WHERE state = 'parked' GROUP BY 1 ORDER BY 3",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ParkedGroup { reason: r.get(0)?, count: r.get::<_, i64>(1)? as u64, oldest: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
