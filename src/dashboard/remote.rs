//! The deployment's sessions, for `--source remote`: every machine that syncs to it. The
//! queries are `convex/dashboard.ts`, protected by the deployment's API key, which this process
//! adds to each call and never hands to the page. Sessions come back in the store's row shape,
//! so the page and `report` see one shape whatever the source.

use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};

use crate::config::Config;
use crate::report::tools::ToolIndex;
use crate::report::{self, Query, Session};
use crate::store::{SessionEvent, SessionRow, ToolItem, ToolItemKind};
use crate::transport::RecordEvent;

/// The most sessions one overview reads from the deployment (`dashboard:sessions` caps there too).
const MAX_SESSIONS: usize = 10_000;
/// Tool statistics read the events of this many newest sessions at most: each 50 is one call.
const MAX_TOOL_SESSIONS: usize = 2_000;

pub struct Remote {
    client: RecordEvent,
    host: String,
}

impl Remote {
    pub fn from_config(config: &Config) -> Option<Remote> {
        let url = config.backend_url()?;
        let host = url::Url::parse(url).ok()?.host_str()?.to_owned();
        Some(Remote { client: RecordEvent::new(url, config.api_key().cloned()), host })
    }

    /// The deployment's host name, to tell the user which deployment the page shows.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn query(&self, path: &str, args: Value) -> Result<Value> {
        self.client.query(path, args).map_err(|e| anyhow!("the deployment answered: {e}"))
    }

    /// The deployment's sessions that match `query`, newest first.
    pub fn sessions(&self, query: &Query) -> Result<Vec<Session>> {
        if query.filter.search.is_some() {
            bail!("text search runs on this machine's store only; switch to Local to search");
        }
        let mut args = json!({ "limit": MAX_SESSIONS });
        if let Some(source) = &query.source {
            args["source"] = json!(source);
        }
        let docs = self.query("dashboard:sessions", args)?;
        let mut sessions: Vec<Session> = docs
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(session_from_doc)
            .filter(|s| report::matches(&query.filter, &s.row))
            .collect();
        sessions.sort_by(|a, b| b.row.started_at.cmp(&a.row.started_at).then(a.row.session_id.cmp(&b.row.session_id)));
        if let Some(limit) = query.filter.limit {
            sessions.truncate(limit);
        }
        Ok(sessions)
    }

    /// One session and its events, oldest first.
    pub fn session(&self, id: &str) -> Result<(Option<Session>, Vec<SessionEvent>)> {
        let v = self.query("dashboard:session", json!({ "sessionId": id }))?;
        let session = session_from_doc(&v["session"]);
        let events = v["events"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, e)| event_from_doc(i, e))
            .collect();
        Ok((session, events))
    }

    /// The tool calls of these sessions, from their events on the deployment.
    pub fn tool_index(&self, sessions: &[Session]) -> Result<ToolIndex> {
        let mut index = ToolIndex::default();
        for chunk in sessions[..sessions.len().min(MAX_TOOL_SESSIONS)].chunks(50) {
            let ids: Vec<&str> = chunk.iter().map(|s| s.row.session_id.as_str()).collect();
            let items = self.query("dashboard:toolItems", json!({ "sessionIds": ids }))?;
            for (i, item) in items.as_array().into_iter().flatten().enumerate() {
                if let Some(item) = tool_item_from_doc(i, item) {
                    index.add(item);
                }
            }
        }
        Ok(index)
    }
}

/// A `sessions` document of the deployment as a store row.
fn session_from_doc(d: &Value) -> Option<Session> {
    let id = d["sessionId"].as_str()?;
    let text = |k: &str| d[k].as_str().map(str::to_owned);
    let int = |v: &Value| v.as_f64().map(|f| f as i64);
    let u = &d["tokenUsage"];
    let row = SessionRow {
        session_id: id.to_owned(),
        project_name: text("projectName"),
        working_directory: text("workingDirectory"),
        git_branch: text("gitBranch"),
        model: text("model"),
        start_type: text("startType"),
        end_reason: text("endReason"),
        started_at: int(&d["startedAt"]),
        ended_at: int(&d["endedAt"]),
        prompt_count: int(&d["promptCount"]).unwrap_or(0),
        message_count: int(&d["messageCount"]).unwrap_or(0),
        tool_call_count: int(&d["toolCallCount"]).unwrap_or(0),
        input_tokens: int(&u["input"]).unwrap_or(0),
        output_tokens: int(&u["output"]).unwrap_or(0),
        cache_creation_tokens: int(&u["cacheCreation"]).unwrap_or(0),
        cache_read_tokens: int(&u["cacheRead"]).unwrap_or(0),
        cost_usd: d["cost"].as_f64(),
        models: d["models"].as_array().into_iter().flatten().filter_map(|m| m.as_str().map(str::to_owned)).collect(),
        transcript_path: None,
    };
    // Sessions written before `source` existed are OpenCode's (convex/migrations.ts).
    let source = d["source"].as_str().unwrap_or(report::OPENCODE).to_owned();
    Some(Session { row, source, machine: text("machine") })
}

fn event_from_doc(i: usize, e: &Value) -> Option<SessionEvent> {
    Some(SessionEvent {
        seq: i as i64,
        event_type: e["eventType"].as_str()?.to_owned(),
        timestamp: e["timestamp"].as_f64()? as i64,
        payload: e["payload"].to_string(),
    })
}

fn tool_item_from_doc(i: usize, e: &Value) -> Option<ToolItem> {
    let d = &e["payload"]["detail"];
    let kind = match (e["eventType"].as_str()?, d["kind"].as_str()) {
        ("tool_use", _) => ToolItemKind::HookOk,
        ("tool_failure", _) => ToolItemKind::HookFailure,
        ("message", Some("tool_use")) => ToolItemKind::Use,
        ("message", Some("tool_result")) => ToolItemKind::Result,
        _ => return None,
    };
    let text = |k: &str| d[k].as_str().map(str::to_owned);
    Some(ToolItem {
        seq: i as i64,
        session_id: e["sessionId"].as_str()?.to_owned(),
        timestamp: e["timestamp"].as_f64()? as i64,
        kind,
        tool_name: text("toolName"),
        tool_use_id: text("toolUseId"),
        outcome: text("outcome"),
        duration_ms: d["durationMs"].as_f64(),
    })
}
