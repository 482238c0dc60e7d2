//! Keeping the store small for years: delivered events are pruned after the retention period
//! (sessions and their summaries stay), hook timings after a week, and `forget` removes a
//! session or a project on request.

use anyhow::Result;
use rusqlite::params;

use super::Store;

/// Hook timings older than this are of no use to `status`.
const TIMING_RETENTION_MS: i64 = 7 * 86_400_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookTimes {
    pub count: u64,
    pub p50_micros: i64,
    pub p95_micros: i64,
    pub max_micros: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub sessions: u64,
    pub events: u64,
}

impl Store {
    pub fn record_hook_time(&self, hook: &str, micros: i64, now: i64) -> Result<()> {
        self.conn
            .execute("INSERT INTO hook_timings (at, hook, micros) VALUES (?1, ?2, ?3)", params![now, hook, micros])?;
        Ok(())
    }

    /// p50 / p95 / max of hook wall time since `since` (ms epoch).
    pub fn hook_times(&self, since: i64) -> Result<HookTimes> {
        let mut stmt = self.conn.prepare("SELECT micros FROM hook_timings WHERE at >= ?1 ORDER BY micros")?;
        let all: Vec<i64> = stmt.query_map([since], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let Some(&max) = all.last() else { return Ok(HookTimes::default()) };
        let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
        Ok(HookTimes { count: all.len() as u64, p50_micros: at(0.5), p95_micros: at(0.95), max_micros: max })
    }

    /// Deletes delivered events older than the retention, and old hook timings. Pending and
    /// parked events are never pruned: they are not safe anywhere else yet.
    pub fn prune(&self, retention_days: u64, now: i64) -> Result<u64> {
        let cutoff = now - (retention_days as i64) * 86_400_000;
        let events =
            self.conn.execute("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?1", [cutoff])?;
        self.conn.execute("DELETE FROM hook_timings WHERE at < ?1", [now - TIMING_RETENTION_MS])?;
        Ok(events as u64)
    }

    /// Drops the queued events of a project's sessions but keeps the sessions: for data that is
    /// shown locally and must never be delivered (the bundled example sessions).
    pub fn keep_local_only(&self, project: &str) -> Result<u64> {
        Ok(self.conn.execute(
            "DELETE FROM outbox WHERE state != 'delivered'
               AND session_id IN (SELECT session_id FROM sessions WHERE project_name = ?1)",
            [project],
        )? as u64)
    }

    /// Deletes one session, or every session of a project (by name or working directory),
    /// with all their events, delivered or not.
    pub fn forget(&mut self, session: Option<&str>, project: Option<&str>) -> Result<Forgotten> {
        let tx = self.conn.transaction()?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT session_id FROM sessions WHERE session_id = ?1 OR project_name = ?2 OR working_directory = ?2
                 UNION SELECT DISTINCT session_id FROM outbox WHERE session_id = ?1",
            )?;
            stmt.query_map(params![session, project], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        let mut gone = Forgotten::default();
        for id in &ids {
            gone.events += tx.execute("DELETE FROM outbox WHERE session_id = ?1", [id])? as u64;
            gone.sessions += tx.execute("DELETE FROM sessions WHERE session_id = ?1", [id])? as u64;
            // Forgotten transcripts are read again from the start by a later import.
            tx.execute("DELETE FROM transcript_state WHERE session_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventType, Payload};

    fn event(session: &str, n: u32) -> Event {
        Event {
            event_id: format!("{session}:{n}"),
            session_id: session.into(),
            event_type: EventType::UserPrompt,
            timestamp: 1_000 + i64::from(n),
            payload: Payload { project_name: Some(format!("proj-{session}")), ..Payload::default() },
        }
    }

    #[test]
    fn prune_keeps_pending_parked_recent_and_sessions() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(tmp.path()).unwrap();
        for n in 0..4 {
            store.record(&event("a", n), None, 0).unwrap();
        }
        let seqs: Vec<i64> = store.pending(10, None).unwrap().iter().map(|e| e.seq).collect();
        let day = 86_400_000;
        store.mark_delivered(&seqs[0..1], 0).unwrap(); // delivered long ago
        store.mark_delivered(&seqs[1..2], 40 * day).unwrap(); // delivered recently
        store.park(&seqs[2..3], "rejected").unwrap();
        let pruned = store.prune(30, 45 * day).unwrap();
        assert_eq!(pruned, 1);
        let counts = store.outbox_counts(None).unwrap();
        assert_eq!((counts.pending, counts.parked, counts.delivered), (1, 1, 1));
        assert_eq!(store.session_count().unwrap(), 1, "the session summary stays");
    }

    #[test]
    fn forget_removes_a_session_or_a_project_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(tmp.path()).unwrap();
        for s in ["a", "b", "c"] {
            for n in 0..3 {
                store.record(&event(s, n), None, 0).unwrap();
            }
        }
        assert_eq!(store.forget(Some("a"), None).unwrap(), Forgotten { sessions: 1, events: 3 });
        assert_eq!(store.forget(None, Some("proj-b")).unwrap(), Forgotten { sessions: 1, events: 3 });
        assert_eq!(store.forget(Some("nope"), None).unwrap(), Forgotten::default());
        assert_eq!(store.session_count().unwrap(), 1);
        assert_eq!(store.outbox_counts(None).unwrap().pending, 3);
    }

    #[test]
    fn hook_times_report_percentiles() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(tmp.path()).unwrap();
        for micros in 1..=100 {
            store.record_hook_time("stop", micros * 10, 5_000).unwrap();
        }
        store.record_hook_time("stop", 999_999, 1).unwrap(); // too old for the window
        let t = store.hook_times(1_000).unwrap();
        assert_eq!(t, HookTimes { count: 100, p50_micros: 510, p95_micros: 950, max_micros: 1000 });
    }
}
