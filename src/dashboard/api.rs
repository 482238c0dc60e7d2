//! The JSON API the page calls. Every endpoint takes the filters of `sessions` as URL
//! parameters (`report::QueryText::from_pairs`) and `from=local|remote`; local and remote
//! answers have one shape, built by `report`.

use anyhow::Result;
use serde_json::{Value, json};

use super::State;
use super::http::Reply;
use crate::report::{self, Query, QueryText, Session, export, timeline};
use crate::store::Store;

/// Sessions per page unless the page asks otherwise, and the most it may ask for.
const PAGE: usize = 50;
const MAX_PAGE: usize = 500;

pub fn handle(state: &State, store: &mut Option<Store>, endpoint: &str, query: &str) -> Reply {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let remote = match param("from") {
        Some("remote") => true,
        Some("local") | None => false,
        Some(other) => return Reply::error(400, &format!("from={other:?}: use local or remote")),
    };
    let text = QueryText::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let query = match Query::parse(&text) {
        Ok(q) => q,
        Err(e) => return Reply::error(400, &format!("{e:#}")),
    };
    if remote && state.remote.is_none() {
        return Reply::error(404, "No Convex deployment is configured (`claude-code-sync login`).");
    }
    if !remote && store.is_none() {
        match state.open_store() {
            Ok(s) => *store = s,
            Err(e) => return Reply::error(500, &format!("{e:#}")),
        }
    }
    let source = if remote { Source::Remote(state) } else { Source::Local(store.as_ref()) };
    let result = match endpoint {
        "info" => Ok(info(state, store.is_some())),
        "facets" => source.facets().map(|f| Reply::json(200, &f)),
        "overview" => overview(state, &source, &query),
        "sessions" => {
            let offset = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
            let limit = param("limit").and_then(|v| v.parse().ok()).unwrap_or(PAGE).clamp(1, MAX_PAGE);
            source.sessions(&query).map(|s| Reply::json(200, &report::session_page(&s, offset, limit)))
        }
        "session" => match param("id") {
            Some(id) => session(state, &source, id),
            None => Ok(Reply::error(400, "id is required")),
        },
        "tools" => tools(state, &source, &query).map(|v| Reply::json(200, &v)),
        "export" => export_reply(&source, &query, param("format").unwrap_or("csv")),
        _ => Ok(Reply::error(404, "no such API endpoint")),
    };
    result.unwrap_or_else(|e| Reply::error(if remote { 502 } else { 500 }, &format!("{e:#}")))
}

/// Where the sessions come from.
enum Source<'a> {
    Local(Option<&'a Store>),
    Remote(&'a State),
}

impl Source<'_> {
    fn sessions(&self, query: &Query) -> Result<Vec<Session>> {
        match self {
            Source::Local(None) => Ok(Vec::new()),
            Source::Local(Some(store)) => report::local_sessions(store, query),
            Source::Remote(state) => state.remote.as_ref().expect("checked").sessions(query),
        }
    }

    fn facets(&self) -> Result<Value> {
        match self {
            Source::Local(None) => Ok(serde_json::to_value(crate::store::Facets::default())?),
            Source::Local(Some(store)) => Ok(serde_json::to_value(store.facets()?)?),
            Source::Remote(state) => {
                let all = state.remote.as_ref().expect("checked").sessions(&Query::default())?;
                Ok(serde_json::to_value(report::facets(&all))?)
            }
        }
    }
}

fn info(state: &State, has_store: bool) -> Reply {
    Reply::json(
        200,
        &json!({
            "version": env!("CARGO_PKG_VERSION"),
            "localStore": has_store,
            "remote": state.remote.as_ref().map(|r| r.host()),
            "remoteFirst": state.remote_first && state.remote.is_some(),
        }),
    )
}

fn overview(state: &State, source: &Source, query: &Query) -> Result<Reply> {
    let sessions = source.sessions(query)?;
    // The tool summary needs the tool index (locally) or every session's events (remotely):
    // the overview does not wait for either; the page fetches /api/tools for the card.
    let ready = match source {
        Source::Local(Some(_)) => state.tools_ready.load(std::sync::atomic::Ordering::Acquire),
        Source::Local(None) => true,
        Source::Remote(_) => false,
    };
    let tools = match source {
        Source::Local(Some(store)) if ready => {
            state.refresh_tools(store)?;
            let index = state.tools.lock().unwrap_or_else(|e| e.into_inner());
            index.summary(sessions.iter().map(|s| s.row.session_id.as_str()))
        }
        _ => Value::Null,
    };
    let mut v = report::overview(&sessions, tools);
    v["toolsPending"] = json!(!ready);
    Ok(Reply::json(200, &v))
}

fn tools(state: &State, source: &Source, query: &Query) -> Result<Value> {
    let sessions = source.sessions(query)?;
    Ok(match tool_stats(state, source, &sessions)? {
        Some(stats) => stats.json(),
        None => json!({ "summary": null, "tools": [], "servers": [] }),
    })
}

/// Tool statistics of these sessions: from the local tool index, or from the deployment's
/// tool items of these sessions.
fn tool_stats(state: &State, source: &Source, sessions: &[Session]) -> Result<Option<report::tools::ToolStats>> {
    let ids = sessions.iter().map(|s| s.row.session_id.as_str());
    match source {
        Source::Local(None) => Ok(None),
        Source::Local(Some(store)) => {
            state.refresh_tools(store)?;
            let index = state.tools.lock().unwrap_or_else(|e| e.into_inner());
            Ok(Some(index.stats(ids)))
        }
        Source::Remote(state) => {
            let index = state.remote.as_ref().expect("checked").tool_index(sessions)?;
            Ok(Some(index.stats(ids)))
        }
    }
}

fn session(state: &State, source: &Source, id: &str) -> Result<Reply> {
    let (session, events) = match source {
        Source::Local(None) => (None, Vec::new()),
        Source::Local(Some(store)) => {
            let row = store.session(id)?;
            let session = row.map(|row| Session { row, source: report::CLAUDE_CODE.into(), machine: None });
            (session, store.session_events(id)?)
        }
        Source::Remote(state) => state.remote.as_ref().expect("checked").session(id)?,
    };
    let Some(session) = session else { return Ok(Reply::error(404, "no such session")) };
    Ok(Reply::json(
        200,
        &json!({
            "session": report::session_json(&session),
            "turns": timeline::turns(&events, &state.prices),
        }),
    ))
}

fn export_reply(source: &Source, query: &Query, format: &str) -> Result<Reply> {
    let sessions = source.sessions(query)?;
    let (body, content_type, ext) = match format {
        "csv" => (export::csv(&sessions), "text/csv; charset=utf-8", "csv"),
        "jsonl" => (export::jsonl(&sessions), "application/x-ndjson; charset=utf-8", "jsonl"),
        other => return Ok(Reply::error(400, &format!("format={other:?}: use csv or jsonl"))),
    };
    Ok(Reply {
        status: 200,
        content_type,
        body: body.into_bytes(),
        attachment: Some(format!("claude-code-sessions.{ext}")),
        cacheable: false,
    })
}
