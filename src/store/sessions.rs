//! The sessions table: one row per Claude Code session, kept current as events arrive, so
//! the local view (`status`, `sessions`) needs no backend.

use anyhow::Result;
use rusqlite::{Connection, params};

use super::Store;
use crate::event::{EncodedEvent, EventType, SessionFold};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionRow {
    pub session_id: String,
    pub project_name: Option<String>,
    pub working_directory: Option<String>,
    pub git_branch: Option<String>,
    pub transcript_path: Option<String>,
    pub model: Option<String>,
    pub start_type: Option<String>,
    pub end_reason: Option<String>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub prompt_count: i64,
    pub message_count: i64,
    pub tool_call_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_creation_tokens: i64,
    pub cache_read_tokens: i64,
    pub cost_usd: Option<f64>,
    /// Models seen in the transcript, most used first (empty before it was read).
    pub models: Vec<String>,
}

/// Which sessions `sessions` (CLI) and the dashboard show: every field narrows the set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFilter {
    /// Project name or working directory.
    pub project: Option<String>,
    pub branch: Option<String>,
    /// The session's main model or any model it used.
    pub model: Option<String>,
    /// Started at or after (ms).
    pub since: Option<i64>,
    /// Started before (ms).
    pub until: Option<i64>,
    /// Words in a prompt or an assistant text (case-insensitive for ASCII letters).
    pub search: Option<String>,
    pub limit: Option<usize>,
}

/// The distinct values the filters can take, for the dashboard's menus.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Facets {
    pub projects: Vec<String>,
    pub branches: Vec<String>,
    pub models: Vec<String>,
}

/// Folds newly recorded events (in recording order) into their sessions' rows, inside the
/// recording transaction. A run of consecutive events of one session is folded in one update,
/// which leaves the row exactly as folding them one by one would: text fields take the last
/// value given, the start the earliest time, counts add up. Session starts and ends change the
/// row's state, so each is folded on its own.
pub(super) fn fold_events(
    tx: &Connection,
    events: &[&EncodedEvent],
    transcript_path: Option<&str>,
    now: i64,
) -> Result<()> {
    let boundary = |e: &EncodedEvent| matches!(e.event_type, EventType::SessionStart | EventType::SessionEnd);
    let mut rest = events;
    while let Some(first) = rest.first() {
        let len = if boundary(first) {
            1
        } else {
            1 + rest[1..].iter().take_while(|e| e.session_id == first.session_id && !boundary(e)).count()
        };
        fold_run(tx, &rest[..len], transcript_path, now)?;
        rest = &rest[len..];
    }
    Ok(())
}

fn fold_run(tx: &Connection, run: &[&EncodedEvent], transcript_path: Option<&str>, now: i64) -> Result<()> {
    let first = run[0];
    let ty = first.event_type;
    let latest = |field: fn(&SessionFold) -> &Option<String>| run.iter().rev().find_map(|e| field(&e.fold).as_deref());
    let earliest = run.iter().map(|e| e.timestamp).min().unwrap_or(first.timestamp);
    let count = |f: fn(EventType) -> bool| run.iter().filter(|e| f(e.event_type)).count() as i64;
    tx.prepare_cached(
        "INSERT INTO sessions (session_id, started_at, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (session_id) DO NOTHING",
    )?
    .execute(params![first.session_id, first.timestamp, now])?;
    tx.prepare_cached(
        "UPDATE sessions SET
            project_name      = COALESCE(?2, project_name),
            working_directory = COALESCE(?3, working_directory),
            git_branch        = COALESCE(?4, git_branch),
            transcript_path   = COALESCE(?5, transcript_path),
            model             = COALESCE(?6, model),
            start_type        = CASE WHEN ?7 THEN COALESCE(?8, start_type) ELSE start_type END,
            started_at        = MIN(COALESCE(started_at, ?9), ?9),
            ended_at          = CASE WHEN ?10 THEN ?9 WHEN ?7 THEN NULL ELSE ended_at END,
            end_reason        = CASE WHEN ?10 THEN ?11 WHEN ?7 THEN NULL ELSE end_reason END,
            prompt_count      = prompt_count + ?12,
            tool_call_count   = tool_call_count + ?13,
            updated_at        = ?14
         WHERE session_id = ?1",
    )?
    .execute(params![
        first.session_id,
        latest(|f| &f.project_name),
        latest(|f| &f.working_directory),
        latest(|f| &f.git_branch),
        transcript_path,
        latest(|f| &f.model),
        ty == EventType::SessionStart,
        first.fold.start_type,
        earliest,
        ty == EventType::SessionEnd,
        first.fold.end_reason,
        count(|t| t == EventType::UserPrompt),
        count(EventType::counts_as_tool_call),
        now,
    ])?;
    Ok(())
}

impl Store {
    pub fn session(&self, session_id: &str) -> Result<Option<SessionRow>> {
        Ok(self.query_sessions("WHERE session_id = ?1", params![session_id])?.into_iter().next())
    }

    /// Sessions newest first.
    pub fn sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionRow>> {
        let limit = filter.limit.map(|l| l as i64).unwrap_or(-1);
        let search = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let pattern = search.map(like_pattern);
        // One pass over the outbox in table order (not a lookup per session: a search that
        // matches few sessions would read every row through the index in random order).
        // The stored payload is JSON: text free of quotes, backslashes, control and non-ASCII
        // characters appears in it verbatim, so a LIKE over the whole payload can discard rows
        // before the JSON is parsed. Other text is matched on the extracted strings only.
        let prefilter = search.filter(|s| s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' '));
        let prefilter = prefilter.map(like_pattern);
        self.query_sessions(
            "WHERE (?1 IS NULL OR project_name = ?1 OR working_directory = ?1)
               AND (?2 IS NULL OR started_at >= ?2)
               AND (?3 IS NULL OR started_at < ?3)
               AND (?4 IS NULL OR git_branch = ?4)
               AND (?5 IS NULL OR model = ?5 OR EXISTS (SELECT 1 FROM json_each(sessions.models) WHERE value = ?5))
               AND (?6 IS NULL OR session_id IN (
                   SELECT o.session_id FROM outbox o
                   WHERE o.event_type IN ('message', 'user_prompt')
                     AND (?7 IS NULL OR o.payload LIKE ?7 ESCAPE '\\')
                     AND CASE o.event_type
                           WHEN 'user_prompt' THEN json_extract(o.payload, '$.detail.prompt.text')
                           ELSE CASE WHEN json_extract(o.payload, '$.detail.kind') IN ('prompt', 'text')
                                     THEN json_extract(o.payload, '$.detail.text') END
                         END LIKE ?6 ESCAPE '\\'))
             ORDER BY COALESCE(started_at, updated_at) DESC, session_id LIMIT ?8",
            params![filter.project, filter.since, filter.until, filter.branch, filter.model, pattern, prefilter, limit],
        )
    }

    /// The projects, branches and models of every recorded session, each sorted.
    pub fn facets(&self) -> Result<Facets> {
        let column = |sql: &str| -> Result<Vec<String>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok(Facets {
            projects: column("SELECT DISTINCT project_name FROM sessions WHERE project_name IS NOT NULL ORDER BY 1")?,
            branches: column("SELECT DISTINCT git_branch FROM sessions WHERE git_branch IS NOT NULL ORDER BY 1")?,
            models: column(
                "SELECT DISTINCT value FROM sessions, json_each(COALESCE(sessions.models, '[]'))
                 UNION SELECT model FROM sessions WHERE model IS NOT NULL ORDER BY 1",
            )?,
        })
    }

    pub fn session_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn query_sessions(&self, clause: &str, args: impl rusqlite::Params) -> Result<Vec<SessionRow>> {
        let sql = format!(
            "SELECT session_id, project_name, working_directory, git_branch, transcript_path, model,
                    start_type, end_reason, started_at, ended_at, prompt_count, message_count,
                    tool_call_count, input_tokens, output_tokens, cache_creation_tokens,
                    cache_read_tokens, cost_usd, models
             FROM sessions {clause}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args, |r| {
            Ok(SessionRow {
                session_id: r.get(0)?,
                project_name: r.get(1)?,
                working_directory: r.get(2)?,
                git_branch: r.get(3)?,
                transcript_path: r.get(4)?,
                model: r.get(5)?,
                start_type: r.get(6)?,
                end_reason: r.get(7)?,
                started_at: r.get(8)?,
                ended_at: r.get(9)?,
                prompt_count: r.get(10)?,
                message_count: r.get(11)?,
                tool_call_count: r.get(12)?,
                input_tokens: r.get(13)?,
                output_tokens: r.get(14)?,
                cache_creation_tokens: r.get(15)?,
                cache_read_tokens: r.get(16)?,
                cost_usd: r.get(17)?,
                models: r.get::<_, Option<String>>(18)?.and_then(|m| serde_json::from_str(&m).ok()).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// `%text%` for LIKE with `\` as the escape character.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
