//! Tool statistics: calls, failures, failure rate and duration percentiles per tool and per
//! MCP server. A call is one tool-use id: the transcript's `tool_use` item and its
//! `tool_result` (outcome), merged with the hook's event for the same id, which carries the
//! duration Claude Code measured; without a hook event the duration is the time between the
//! two transcript items.
//!
//! The index is built once from the outbox and then extended with the rows added since, so
//! each request aggregates a few compact records per call instead of parsing JSON.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use serde_json::{Value, json};

use crate::store::{ToolItem, ToolItemKind};

/// One call, in 32 bytes (a large store has hundreds of thousands): `NONE` marks a time not
/// seen, NaN a duration the hooks did not report.
#[derive(Debug, Clone)]
struct Call {
    used_at: i64,
    result_at: i64,
    hook_ms: f32,
    name: u32,
    failed: bool,
}

const NONE: i64 = i64::MIN;

impl Default for Call {
    fn default() -> Call {
        Call { used_at: NONE, result_at: NONE, hook_ms: f32::NAN, name: u32::MAX, failed: false }
    }
}

impl Call {
    fn duration_ms(&self) -> Option<f64> {
        if !self.hook_ms.is_nan() {
            return Some(f64::from(self.hook_ms));
        }
        (self.used_at != NONE && self.result_at != NONE && self.result_at >= self.used_at)
            .then(|| (self.result_at - self.used_at) as f64)
    }
}

#[derive(Debug, Default)]
struct SessionCalls {
    calls: Vec<Call>,
    /// Tool-use id (hashed: ids are long and only matched within a session) -> index in
    /// `calls`, sorted by hash: a session has tens of calls, and a sorted vector has no
    /// spare buckets to carry for each of thousands of sessions.
    by_id: Vec<(u64, u32)>,
}

/// Every tool call of the store, by session.
#[derive(Debug, Default)]
pub struct ToolIndex {
    sessions: HashMap<String, SessionCalls>,
    names: Vec<String>,
    name_ids: HashMap<String, u32>,
    hasher: std::collections::hash_map::RandomState,
    /// The outbox's last sequence number this index reflects.
    pub mark: i64,
}

impl ToolIndex {
    /// Folds one outbox item in (items arrive in queue order).
    pub fn add(&mut self, item: ToolItem) {
        let name = item.tool_name.as_deref().map(|n| self.name_id(n));
        let id = item.tool_use_id.as_deref().map(|id| {
            let mut h = self.hasher.build_hasher();
            h.write(id.as_bytes());
            h.finish()
        });
        let session = self.sessions.entry(item.session_id).or_default();
        let found = id.map(|id| session.by_id.binary_search_by_key(&id, |&(h, _)| h));
        let slot = match found {
            Some(Ok(at)) => session.by_id[at].1 as usize,
            _ => {
                session.calls.push(Call::default());
                let i = session.calls.len() - 1;
                if let (Some(id), Some(Err(at))) = (id, found) {
                    session.by_id.insert(at, (id, i as u32));
                }
                i
            }
        };
        let call = &mut session.calls[slot];
        if let Some(name) = name {
            call.name = name;
        }
        let hook_ms = item.duration_ms.map_or(call.hook_ms, |ms| ms as f32);
        match item.kind {
            ToolItemKind::Use => call.used_at = item.timestamp,
            ToolItemKind::Result => {
                call.result_at = item.timestamp;
                call.failed |= item.outcome.as_deref() == Some("error");
            }
            ToolItemKind::HookOk => call.hook_ms = hook_ms,
            ToolItemKind::HookFailure => {
                call.hook_ms = hook_ms;
                call.failed = true;
            }
        }
    }

    /// Gives back the spare capacity the vectors grew with (after a large read).
    pub fn shrink(&mut self) {
        for s in self.sessions.values_mut() {
            s.calls.shrink_to_fit();
            s.by_id.shrink_to_fit();
        }
    }

    fn name_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.name_ids.insert(name.to_owned(), id);
        id
    }

    /// Calls, failures and durations of every tool together, over the given sessions (the
    /// overview's line): one accumulator, no per-tool copies.
    pub fn summary<'a>(&self, session_ids: impl IntoIterator<Item = &'a str>) -> Value {
        let mut all = Acc::default();
        for id in session_ids {
            let Some(s) = self.sessions.get(id) else { continue };
            for call in &s.calls {
                all.push(call);
            }
        }
        all.json("tool", "all")
    }

    /// Per tool and per MCP server, over the given sessions; plus the overall summary.
    pub fn stats<'a>(&self, session_ids: impl IntoIterator<Item = &'a str>) -> ToolStats {
        let mut per_name: HashMap<u32, Acc> = HashMap::new();
        for id in session_ids {
            let Some(s) = self.sessions.get(id) else { continue };
            for call in &s.calls {
                per_name.entry(call.name).or_default().push(call);
            }
        }
        let mut tools = BTreeMap::new();
        let mut servers: BTreeMap<String, Acc> = BTreeMap::new();
        let mut all = Acc::default();
        for (name, acc) in per_name {
            let name = self.names.get(name as usize).cloned().unwrap_or_else(|| "unknown".into());
            if let Some(server) = mcp_server(&name) {
                servers.entry(server.to_owned()).or_default().merge(&acc);
            }
            all.merge(&acc);
            tools.insert(name, acc);
        }
        ToolStats { tools, servers, all }
    }
}

/// `mcp__github__create_issue` -> `github`.
pub fn mcp_server(tool: &str) -> Option<&str> {
    let rest = tool.strip_prefix("mcp__")?;
    Some(rest.split_once("__").map_or(rest, |(server, _)| server))
}

#[derive(Debug, Default, Clone)]
struct Acc {
    calls: u64,
    failures: u64,
    /// f32: a duration in ms needs no more, and a large set holds hundreds of thousands.
    durations: Vec<f32>,
}

impl Acc {
    fn push(&mut self, c: &Call) {
        self.calls += 1;
        self.failures += u64::from(c.failed);
        if let Some(d) = c.duration_ms() {
            self.durations.push(d as f32);
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.calls += o.calls;
        self.failures += o.failures;
        self.durations.extend_from_slice(&o.durations);
    }

    fn json(&mut self, key: &str, name: &str) -> Value {
        self.durations.sort_unstable_by(f32::total_cmp);
        json!({
            key: name,
            "calls": self.calls,
            "failures": self.failures,
            "failureRate": (self.calls > 0).then(|| self.failures as f64 / self.calls as f64),
            "p50Ms": percentile(&self.durations, 0.50),
            "p95Ms": percentile(&self.durations, 0.95),
            "timedCalls": self.durations.len(),
        })
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(f64::from(sorted[rank.min(sorted.len()) - 1]))
}

pub struct ToolStats {
    tools: BTreeMap<String, Acc>,
    servers: BTreeMap<String, Acc>,
    all: Acc,
}

impl ToolStats {
    /// The Tools view: every tool and MCP server, most called first, and all of them together.
    pub fn json(mut self) -> Value {
        let rank = |map: BTreeMap<String, Acc>, key: &str| -> Vec<Value> {
            let mut rows: Vec<(String, Acc)> = map.into_iter().collect();
            rows.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then(a.0.cmp(&b.0)));
            rows.into_iter().map(|(name, mut acc)| acc.json(key, &name)).collect()
        };
        let summary = self.all.json("tool", "all");
        json!({ "summary": summary, "tools": rank(self.tools, "tool"), "servers": rank(self.servers, "server") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: i64, ts: i64, kind: ToolItemKind, name: Option<&str>, id: &str, outcome: Option<&str>) -> ToolItem {
        ToolItem {
            seq,
            session_id: "s".into(),
            timestamp: ts,
            kind,
            tool_name: name.map(Into::into),
            tool_use_id: Some(id.into()),
            outcome: outcome.map(Into::into),
            duration_ms: None,
        }
    }

    #[test]
    fn merges_transcript_and_hook_items_of_one_call() {
        let mut index = ToolIndex::default();
        index.add(item(1, 1_000, ToolItemKind::Use, Some("Bash"), "t1", None));
        index.add(item(2, 1_400, ToolItemKind::Result, None, "t1", Some("ok")));
        index.add(item(3, 2_000, ToolItemKind::Use, Some("mcp__github__search"), "t2", None));
        index.add(item(4, 2_100, ToolItemKind::Result, None, "t2", Some("error")));
        // The hook's event for t1 arrives later with Claude Code's own measurement.
        let mut hook = item(5, 1_500, ToolItemKind::HookOk, Some("Bash"), "t1", None);
        hook.duration_ms = Some(350.0);
        index.add(hook);
        let stats = index.stats(["s"]).json();
        assert_eq!(stats["summary"]["calls"], 2);
        assert_eq!(stats["summary"]["failures"], 1);
        let bash = stats["tools"].as_array().unwrap().iter().find(|t| t["tool"] == "Bash").unwrap();
        assert_eq!((bash["calls"].as_u64(), bash["p50Ms"].as_f64()), (Some(1), Some(350.0)));
        let github = &stats["servers"][0];
        assert_eq!((github["server"].as_str(), github["failureRate"].as_f64()), (Some("github"), Some(1.0)));
        assert_eq!(github["p95Ms"], 100.0);
        assert_eq!(index.stats(["other"]).json()["summary"]["calls"], 0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f32> = (1..=20u8).map(f32::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(10.0));
        assert_eq!(percentile(&v, 0.95), Some(19.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
