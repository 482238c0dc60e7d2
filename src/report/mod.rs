//! The figures users see, computed once for every view of them: `sessions --json`, the
//! dashboard's API (local store or remote deployment) and its exports all go through here, so
//! a total on the page is the sum of the rows `sessions --json` prints for the same filter.

pub mod export;
pub mod timeline;
pub mod tools;

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::{Value, json};

use crate::store::{SessionFilter, SessionRow, Store};
use crate::time;

/// Where a session was recorded: this product records Claude Code; a shared deployment may
/// also hold OpenCode sessions (written by the OpenCode plugin).
pub const CLAUDE_CODE: &str = "claude-code";
pub const OPENCODE: &str = "opencode";

/// A session as every view shows it: the store's row plus the tool that recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub row: SessionRow,
    pub source: String,
    /// Remote sessions: the machine that synced it, when the deployment knows.
    pub machine: Option<String>,
}

/// The filters of `sessions` and of every dashboard view, as the user wrote them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub filter: SessionFilter,
    /// `claude-code` or `opencode`.
    pub source: Option<String>,
}

impl Query {
    /// Builds a query from the textual filters (CLI flags or URL parameters); dates are
    /// `YYYY-MM-DD` or ISO 8601, UTC; a plain `until` date includes that whole day.
    pub fn parse(fields: &QueryText) -> Result<Query> {
        let date = |name: &str, text: Option<&str>, whole_day: bool| -> Result<Option<i64>> {
            let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
            match time::parse_iso8601(text) {
                Some(ms) if whole_day && !text.contains('T') => Ok(Some(ms + 86_400_000)),
                Some(ms) => Ok(Some(ms)),
                None => bail!("{name} {text:?} is not a date (YYYY-MM-DD or ISO 8601)"),
            }
        };
        let source = match fields.source.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("all") => None,
            Some(s @ (CLAUDE_CODE | OPENCODE)) => Some(s.to_owned()),
            Some(other) => bail!("source {other:?} is not one of claude-code, opencode"),
        };
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(Query {
            filter: SessionFilter {
                project: text(&fields.project),
                branch: text(&fields.branch),
                model: text(&fields.model),
                since: date("since", fields.since.as_deref(), false)?,
                until: date("until", fields.until.as_deref(), true)?,
                search: text(&fields.search),
                limit: fields.limit,
            },
            source,
        })
    }

    /// Whether a session of `source` can match (the store filters the rest).
    pub fn admits_source(&self, source: &str) -> bool {
        self.source.as_deref().is_none_or(|s| s == source)
    }
}

/// The filters as text, before they are checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryText {
    pub source: Option<String>,
    pub project: Option<String>,
    pub branch: Option<String>,
    pub model: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub search: Option<String>,
    pub limit: Option<usize>,
}

impl QueryText {
    /// From URL query pairs (`?project=app&since=2026-11-01`); unknown keys are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> QueryText {
        let mut q = QueryText::default();
        for (k, v) in pairs {
            let v = Some(v.to_owned());
            match k {
                "source" => q.source = v,
                "project" => q.project = v,
                "branch" => q.branch = v,
                "model" => q.model = v,
                "since" => q.since = v,
                "until" => q.until = v,
                "q" => q.search = v,
                _ => {}
            }
        }
        q
    }
}

/// The local store's sessions that match `query`, newest first: what `sessions` prints and the
/// dashboard shows for this machine. Everything recorded here is a Claude Code session.
pub fn local_sessions(store: &Store, query: &Query) -> Result<Vec<Session>> {
    if !query.admits_source(CLAUDE_CODE) {
        return Ok(Vec::new());
    }
    let rows = store.sessions(&query.filter)?;
    Ok(rows.into_iter().map(|row| Session { row, source: CLAUDE_CODE.into(), machine: None }).collect())
}

/// The store's filter applied to a row already in memory (the remote source's sessions):
/// the same rules as `Store::sessions`, text search aside (it needs the events).
pub fn matches(f: &SessionFilter, r: &SessionRow) -> bool {
    let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    (f.project.is_none() || eq(&f.project, &r.project_name) || eq(&f.project, &r.working_directory))
        && eq(&f.branch, &r.git_branch)
        && (f.model.is_none() || eq(&f.model, &r.model) || f.model.as_ref().is_some_and(|m| r.models.contains(m)))
        && f.since.is_none_or(|t| r.started_at.is_some_and(|s| s >= t))
        && f.until.is_none_or(|t| r.started_at.is_some_and(|s| s < t))
}

/// The distinct projects, branches and models of these sessions, each sorted.
pub fn facets(sessions: &[Session]) -> crate::store::Facets {
    let mut f = crate::store::Facets::default();
    for s in sessions {
        f.projects.extend(s.row.project_name.clone());
        f.branches.extend(s.row.git_branch.clone());
        f.models.extend(models(&s.row));
    }
    for list in [&mut f.projects, &mut f.branches, &mut f.models] {
        list.sort();
        list.dedup();
    }
    f
}

/// One session as `sessions --json` prints it and the dashboard receives it (tokens include
/// subagents; `cost` is null when a model has no known price).
pub fn session_json(s: &Session) -> Value {
    let r = &s.row;
    json!({
        "sessionId": r.session_id,
        "source": s.source,
        "machine": s.machine,
        "projectName": r.project_name,
        "workingDirectory": r.working_directory,
        "startedAt": r.started_at.map(time::iso8601),
        "endedAt": r.ended_at.map(time::iso8601),
        "models": models(r),
        "prompts": r.prompt_count,
        "messageCount": r.message_count,
        "toolCallCount": r.tool_call_count,
        "tokenUsage": {
            "input": r.input_tokens,
            "output": r.output_tokens,
            "cacheCreation": r.cache_creation_tokens,
            "cacheRead": r.cache_read_tokens,
        },
        "cost": r.cost_usd,
        "gitBranch": r.git_branch,
        "endReason": r.end_reason,
    })
}

/// The models a session used, most used first; the hook's model when the transcript was not read.
pub fn models(r: &SessionRow) -> Vec<String> {
    if r.models.is_empty() { r.model.iter().cloned().collect() } else { r.models.clone() }
}

/// Token figures by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub input: i64,
    pub output: i64,
    pub cache_creation: i64,
    pub cache_read: i64,
}

impl Tokens {
    fn of(r: &SessionRow) -> Tokens {
        Tokens {
            input: r.input_tokens,
            output: r.output_tokens,
            cache_creation: r.cache_creation_tokens,
            cache_read: r.cache_read_tokens,
        }
    }

    fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.output += o.output;
        self.cache_creation += o.cache_creation;
        self.cache_read += o.cache_read;
    }

    pub fn total(&self) -> i64 {
        self.input + self.output + self.cache_creation + self.cache_read
    }

    /// Share of prompt tokens served from the cache; `None` with no prompt tokens.
    pub fn cache_hit_rate(&self) -> Option<f64> {
        let prompt = self.input + self.cache_creation + self.cache_read;
        (prompt > 0).then(|| self.cache_read as f64 / prompt as f64)
    }
}

/// Sums over a set of sessions. `cost` is the list-price estimate of the priced sessions;
/// sessions of a model with no known price are counted apart, never as $0.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub sessions: i64,
    pub prompts: i64,
    pub messages: i64,
    pub tool_calls: i64,
    pub tokens: Tokens,
    pub cost: f64,
    pub unpriced_sessions: i64,
}

impl Totals {
    fn add(&mut self, r: &SessionRow) {
        self.sessions += 1;
        self.prompts += r.prompt_count;
        self.messages += r.message_count;
        self.tool_calls += r.tool_call_count;
        self.tokens.add(&Tokens::of(r));
        match r.cost_usd {
            Some(c) => self.cost += c,
            None => self.unpriced_sessions += 1,
        }
    }

    pub fn of<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> Totals {
        let mut t = Totals::default();
        for s in sessions {
            t.add(&s.row);
        }
        t
    }

    fn json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["cacheHitRate"] = json!(self.tokens.cache_hit_rate());
        v
    }
}

const DAY: i64 = 86_400_000;
/// Up to this many days the per-day series has every day; longer spans only days with sessions.
const MAX_DENSE_DAYS: i64 = 400;

/// The overview: totals, then the same sums per day (UTC, by session start), per main model
/// and per project. `tools` is the tool-call summary of the same sessions.
pub fn overview(sessions: &[Session], tools: Value) -> Value {
    let mut by_day: BTreeMap<String, Totals> = BTreeMap::new();
    let mut by_model: BTreeMap<String, Totals> = BTreeMap::new();
    let mut by_project: BTreeMap<String, Totals> = BTreeMap::new();
    for s in sessions {
        let r = &s.row;
        let day = r.started_at.map(|ms| time::iso8601(ms)[..10].to_owned()).unwrap_or_else(|| "unknown".into());
        by_day.entry(day).or_default().add(r);
        let model = models(r).into_iter().next().unwrap_or_else(|| "unknown".into());
        by_model.entry(model).or_default().add(r);
        let project = r.project_name.clone().unwrap_or_else(|| "unknown".into());
        by_project.entry(project).or_default().add(r);
    }
    let ranked = |map: BTreeMap<String, Totals>, key: &str| -> Vec<Value> {
        let mut rows: Vec<(String, Totals)> = map.into_iter().collect();
        rows.sort_by(|a, b| b.1.cost.total_cmp(&a.1.cost).then(b.1.tokens.total().cmp(&a.1.tokens.total())));
        rows.into_iter()
            .map(|(name, t)| {
                let mut v = t.json();
                v[key] = json!(name);
                v
            })
            .collect()
    };
    // Days with no session are drawn too, so the chart's gaps are real gaps.
    let known: Vec<i64> = by_day.keys().filter_map(|d| time::parse_iso8601(d)).collect();
    if let (Some(&first), Some(&last)) = (known.first(), known.last())
        && (last - first) / DAY <= MAX_DENSE_DAYS
    {
        let mut day = first;
        while day < last {
            by_day.entry(time::iso8601(day)[..10].to_owned()).or_default();
            day += DAY;
        }
    }
    let days: Vec<Value> = by_day
        .into_iter()
        .map(|(day, t)| {
            let mut v = t.json();
            v["day"] = json!(day);
            v
        })
        .collect();
    json!({
        "totals": Totals::of(sessions).json(),
        "byDay": days,
        "byModel": ranked(by_model, "model"),
        "byProject": ranked(by_project, "project"),
        "tools": tools,
    })
}

/// A page of sessions, newest first, with the totals of the whole filtered set.
pub fn session_page(sessions: &[Session], offset: usize, limit: usize) -> Value {
    let page: Vec<Value> = sessions.iter().skip(offset).take(limit).map(session_json).collect();
    json!({
        "total": sessions.len(),
        "offset": offset,
        "limit": limit,
        "totals": Totals::of(sessions).json(),
        "sessions": page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, day: &str, model: &str, cost: Option<f64>) -> Session {
        Session {
            row: SessionRow {
                session_id: id.into(),
                project_name: Some("app".into()),
                started_at: time::parse_iso8601(day),
                models: vec![model.into()],
                prompt_count: 2,
                tool_call_count: 3,
                input_tokens: 10,
                output_tokens: 20,
                cache_creation_tokens: 30,
                cache_read_tokens: 60,
                cost_usd: cost,
                ..SessionRow::default()
            },
            source: CLAUDE_CODE.into(),
            machine: None,
        }
    }

    #[test]
    fn totals_keep_unpriced_sessions_apart_and_days_sum_to_the_total() {
        let rows = vec![
            session("a", "2026-11-24T10:00:00Z", "claude-opus-5-5", Some(1.5)),
            session("b", "2026-11-24T12:00:00Z", "mystery-model", None),
            session("c", "2026-11-25T09:00:00Z", "claude-opus-5-5", Some(0.25)),
        ];
        let v = overview(&rows, Value::Null);
        assert_eq!(v["totals"]["sessions"], 3);
        assert_eq!(v["totals"]["cost"], 1.75);
        assert_eq!(v["totals"]["unpricedSessions"], 1);
        assert_eq!(v["totals"]["tokens"]["cacheRead"], 180);
        assert_eq!(v["totals"]["cacheHitRate"], 0.6);
        let days = v["byDay"].as_array().unwrap();
        assert_eq!(days.len(), 2);
        let gap = overview(&[rows[0].clone(), session("d", "2026-11-27T09:00:00Z", "m", None)], Value::Null);
        let gap_days: Vec<&str> = gap["byDay"].as_array().unwrap().iter().map(|d| d["day"].as_str().unwrap()).collect();
        assert_eq!(gap_days, ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]);
        assert_eq!((days[0]["day"].as_str(), days[0]["sessions"].as_i64()), (Some("2026-11-24"), Some(2)));
        let unpriced = v["byModel"].as_array().unwrap().iter().find(|m| m["model"] == "mystery-model").unwrap();
        assert_eq!((unpriced["cost"].as_f64(), unpriced["unpricedSessions"].as_i64()), (Some(0.0), Some(1)));
    }

    /// The remote source filters rows in memory: it must pick what the store's query picks.
    #[test]
    fn in_memory_filter_matches_the_store_query() {
        use crate::store::TranscriptFigures;
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(tmp.path()).unwrap();
        for (i, (project, branch, models, day)) in [
            ("app", "main", vec!["claude-opus-5-5"], "2026-11-20"),
            ("app", "dev", vec!["claude-sonnet-5-5", "claude-haiku-5-5"], "2026-11-22"),
            ("web", "main", vec!["claude-haiku-5-5"], "2026-11-24"),
        ]
        .into_iter()
        .enumerate()
        {
            let f = TranscriptFigures {
                project_name: Some(project.into()),
                working_directory: Some(format!("/w/{project}")),
                git_branch: Some(branch.into()),
                models: models.into_iter().map(String::from).collect(),
                started_at: time::parse_iso8601(&format!("{day}T10:00:00Z")),
                ..TranscriptFigures::default()
            };
            store.apply_transcript_figures(&format!("s{i}"), &f, 0).unwrap();
        }
        let all = store.sessions(&SessionFilter::default()).unwrap();
        let texts = [
            QueryText { project: Some("app".into()), ..QueryText::default() },
            QueryText { project: Some("/w/web".into()), ..QueryText::default() },
            QueryText { branch: Some("main".into()), ..QueryText::default() },
            QueryText { model: Some("claude-haiku-5-5".into()), ..QueryText::default() },
            QueryText { since: Some("2026-11-22".into()), until: Some("2026-11-23".into()), ..QueryText::default() },
            QueryText {
                until: Some("2026-11-22".into()),
                model: Some("claude-opus-5-5".into()),
                ..QueryText::default()
            },
        ];
        for text in texts {
            let q = Query::parse(&text).unwrap();
            let sql: Vec<String> = store.sessions(&q.filter).unwrap().into_iter().map(|r| r.session_id).collect();
            let mem: Vec<String> = all.iter().filter(|r| matches(&q.filter, r)).map(|r| r.session_id.clone()).collect();
            assert_eq!(sql, mem, "{text:?}");
            assert!(!mem.is_empty(), "{text:?} selects something");
        }
    }

    #[test]
    fn query_parsing_checks_dates_and_sources() {
        let q = Query::parse(&QueryText {
            until: Some("2026-11-24".into()),
            since: Some("2026-11-20".into()),
            source: Some("opencode".into()),
            ..QueryText::default()
        })
        .unwrap();
        assert_eq!(q.filter.until, time::parse_iso8601("2026-11-25"));
        assert_eq!(q.filter.since, time::parse_iso8601("2026-11-20"));
        assert!(!q.admits_source(CLAUDE_CODE));
        assert!(Query::parse(&QueryText { since: Some("yesterday".into()), ..QueryText::default() }).is_err());
        assert!(Query::parse(&QueryText { source: Some("cursor".into()), ..QueryText::default() }).is_err());
    }
}
