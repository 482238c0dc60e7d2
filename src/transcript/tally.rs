//! Token, message, tool-call and prompt accounting for one session, per
//! `docs/transcripts-and-usage.md`.
//!
//! A [`SessionTally`] is fed every line of every file of a session (main transcript, subagent
//! files, in any order and in any chunking) and is serde-serializable, so the store can keep it
//! between incremental reads. Everything in it is keyed so that seeing a line twice changes
//! nothing: responses by message id (keeping the copy with the largest total, an original over
//! an `agent_progress` copy), tool calls by tool_use id, prompts by uuid, cost-states by value.
//! That makes re-reading a replaced file, or a file shared by two config dirs, harmless.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::line::{self, Count, RawLine, Str, Usage};
use super::prices::{Billable, PriceTable};
use crate::time;

/// Which file of the session a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `<session>.jsonl`.
    Main,
    /// `<session>/subagents/agent-*.jsonl` or a flat `agent-*.jsonl` of 2.0.x.
    Subagent,
}

/// The four token figures, named as in the recordEvent contract.
#[derive(Serialize, Deserialize, Clone, Copy, Default, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
}

impl TokenUsage {
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_creation + self.cache_read
    }

    pub fn add(&mut self, other: &TokenUsage) {
        self.input += other.input;
        self.output += other.output;
        self.cache_creation += other.cache_creation;
        self.cache_read += other.cache_read;
    }

    fn fits_in(&self, other: &TokenUsage) -> bool {
        self.input <= other.input
            && self.output <= other.output
            && self.cache_creation <= other.cache_creation
            && self.cache_read <= other.cache_read
    }
}

/// One deduplicated API response. Short serde names: a long session holds thousands of these.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Response {
    #[serde(rename = "m")]
    model: String,
    #[serde(rename = "t")]
    tokens: TokenUsage,
    /// Part of `tokens.cache_creation` written with a 1-hour TTL.
    #[serde(rename = "h", default, skip_serializing_if = "is_zero")]
    cache_1h: u64,
    #[serde(rename = "w", default, skip_serializing_if = "is_zero")]
    web_search: u64,
    #[serde(rename = "f", default, skip_serializing_if = "is_false")]
    fast: bool,
    #[serde(rename = "g", default, skip_serializing_if = "is_false")]
    us_geo: bool,
    /// Seen only as an `agent_progress` copy so far.
    #[serde(rename = "c", default, skip_serializing_if = "is_false")]
    progress_copy: bool,
    #[serde(rename = "s", default, skip_serializing_if = "is_false")]
    subagent: bool,
    /// `costUSD` of Claude Code ≤ 1.0.8, used as is.
    #[serde(rename = "$", default, skip_serializing_if = "Option::is_none")]
    cost_usd: Option<f64>,
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    advisors: Vec<Advisor>,
}

/// Tokens of an advisor model within a response (rule 6).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Advisor {
    #[serde(rename = "m")]
    model: String,
    #[serde(rename = "t")]
    tokens: TokenUsage,
    #[serde(rename = "h", default, skip_serializing_if = "is_zero")]
    cache_1h: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

impl Response {
    /// Whether `self` should replace `kept` under the same message id (rule 2).
    fn supersedes(&self, kept: &Response) -> bool {
        if self.progress_copy != kept.progress_copy {
            return kept.progress_copy;
        }
        self.tokens.total() > kept.tokens.total()
    }

    fn billable(&self) -> Billable {
        billable(&self.tokens, self.cache_1h, self.web_search, self.fast, self.us_geo)
    }
}

fn billable(tokens: &TokenUsage, cache_1h: u64, web_search: u64, fast: bool, us_geo: bool) -> Billable {
    Billable {
        input: tokens.input,
        output: tokens.output,
        cache_creation: tokens.cache_creation,
        cache_creation_1h: cache_1h,
        cache_read: tokens.cache_read,
        web_search_requests: web_search,
        fast,
        us_geo,
    }
}

/// Claude Code's own running totals, from a `cost-state` line.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CostState {
    pub total_cost_usd: f64,
    pub has_unknown_model_cost: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_ms: Option<i64>,
    pub models: BTreeMap<String, TokenUsage>,
}

impl CostState {
    /// True when every model's figures here are within `later`'s (a prefix of its history).
    fn fits_in(&self, later: &CostState) -> bool {
        self.models.iter().all(|(model, t)| later.models.get(model).is_some_and(|l| t.fits_in(l)))
    }
}

/// Accounting state of one session. Feed it lines with [`SessionTally::observe_bytes`] (or
/// [`SessionTally::observe`]), read it with [`SessionTally::summary`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SessionTally {
    session_id: Option<String>,
    #[serde(serialize_with = "sorted_map")]
    responses: HashMap<String, Response>,
    /// Counter giving a key to responses with neither message id, request id nor uuid.
    anonymous: u64,
    #[serde(serialize_with = "sorted_set")]
    tool_use_ids: HashSet<String>,
    #[serde(serialize_with = "sorted_set")]
    prompts: HashSet<String>,
    /// Prompts seen before this session's first own response: in a fork they may still turn out
    /// to be copies of the parent's history (rule 9).
    unconfirmed_prompts: Vec<String>,
    own_response_seen: bool,
    /// Prompts found to be copies of a fork parent's history.
    #[serde(serialize_with = "sorted_set")]
    copied_prompts: HashSet<String>,
    prompts_without_uuid: u64,
    fork_parent: Option<String>,
    cost_states: Vec<CostState>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    cwd: Option<String>,
    git_branch: Option<String>,
    version: Option<String>,
    title: Option<String>,
    lines: u64,
    invalid_lines: u64,
}

// Hash order differs from one process to the next; the saved state is written in key order, so
// the same transcripts always give the same stored bytes.
fn sorted_map<S: serde::Serializer>(map: &HashMap<String, Response>, s: S) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    s.collect_map(entries)
}

fn sorted_set<S: serde::Serializer>(set: &HashSet<String>, s: S) -> Result<S::Ok, S::Error> {
    let mut items: Vec<_> = set.iter().collect();
    items.sort_unstable();
    s.collect_seq(items)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProgressData<'a> {
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ModelUsageRaw {
    input_tokens: Count,
    output_tokens: Count,
    cache_read_input_tokens: Count,
    cache_creation_input_tokens: Count,
}

impl SessionTally {
    pub fn new() -> SessionTally {
        SessionTally::default()
    }

    /// Decodes and accounts one raw line (CRLF, invalid UTF-8 and non-JSON tolerated; the
    /// latter is counted in [`SessionSummary::invalid_lines`]).
    pub fn observe_bytes(&mut self, bytes: &[u8], role: FileRole) {
        if !self.skip_bookkeeping(bytes) {
            self.observe_raw(bytes, role);
        }
    }

    /// Counts and skips a line of a bookkeeping type (attachments, api-request blobs, queue
    /// operations…: most of a transcript's bytes, never usage), recognised without decoding or
    /// parsing it. False for every other line.
    pub fn skip_bookkeeping(&mut self, bytes: &[u8]) -> bool {
        let skip = line::peek_type(bytes).is_some_and(|t| !is_accounted_type(t));
        self.lines += u64::from(skip);
        skip
    }

    /// Accounts one line and returns it parsed (`None` when blank or not JSON).
    pub fn observe_raw<'t>(&mut self, bytes: &'t [u8], role: FileRole) -> Option<RawLine<'t>> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        match line::parse(bytes) {
            Some(parsed) => {
                self.observe(&parsed, role);
                Some(parsed)
            }
            None => {
                self.lines += 1;
                self.invalid_lines += 1;
                None
            }
        }
    }

    /// Accounts one parsed line.
    pub fn observe(&mut self, line: &RawLine<'_>, role: FileRole) {
        self.lines += 1;
        let fork_copy = line.is_fork_copy();
        if fork_copy && self.fork_parent.is_none() {
            self.fork_parent = line.request_session_id.as_str().map(str::to_owned);
        }
        if self.session_id.is_none()
            && let Some(id) = line.session_id.as_str()
        {
            self.session_id = Some(id.to_owned());
        }
        if !fork_copy {
            self.note_context(line);
        }
        match line.kind() {
            "assistant" => self.assistant(line, role, fork_copy, false),
            "user" => self.user(line, role),
            "progress" => self.progress(line, fork_copy),
            "cost-state" if role == FileRole::Main => self.cost_state(line),
            "summary" => {
                if let Some(title) = line.summary.as_str() {
                    self.title = Some(title.to_owned());
                }
            }
            _ => {}
        }
    }

    fn note_context(&mut self, line: &RawLine<'_>) {
        if let Some(ms) = line.timestamp.as_str().and_then(time::parse_iso8601) {
            self.first_ms = Some(self.first_ms.map_or(ms, |f| f.min(ms)));
            self.last_ms = Some(self.last_ms.map_or(ms, |l| l.max(ms)));
        }
        if self.cwd.is_none() {
            self.cwd = line.cwd.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        }
        if let Some(branch) = line.git_branch.as_str().filter(|s| !s.is_empty())
            && self.git_branch.as_deref() != Some(branch)
        {
            self.git_branch = Some(branch.to_owned());
        }
        if let Some(version) = line.version.as_str().filter(|s| !s.is_empty())
            && self.version.as_deref() != Some(version)
        {
            self.version = Some(version.to_owned());
        }
    }

    fn progress(&mut self, line: &RawLine<'_>, fork_copy: bool) {
        let Some(data) = line.data else { return };
        let Ok(data) = serde_json::from_slice::<ProgressData>(data) else { return };
        if data.kind.as_str() != Some("agent_progress") {
            return;
        }
        let Some(inner) = data.message.and_then(|m| line::parse(m.get().as_bytes())) else { return };
        if inner.kind() == "assistant" {
            let fork_copy = fork_copy || inner.is_fork_copy();
            self.assistant(&inner, FileRole::Subagent, fork_copy, true);
        }
    }

    fn assistant(&mut self, line: &RawLine<'_>, role: FileRole, fork_copy: bool, progress_copy: bool) {
        if fork_copy {
            // The parent's history: prompts seen so far in this file are the parent's too.
            if !self.own_response_seen {
                self.copied_prompts.extend(self.unconfirmed_prompts.drain(..));
            }
            return;
        }
        let Some(message) = line.api_message() else { return };
        let model = message.model.as_str().unwrap_or("");
        if model == "<synthetic>" || line.is_api_error_message.0 {
            return;
        }
        if role == FileRole::Main && !progress_copy && !line.is_sidechain.0 && !self.own_response_seen {
            self.own_response_seen = true;
            for uuid in std::mem::take(&mut self.unconfirmed_prompts) {
                self.prompts.insert(uuid);
            }
        }
        for id in message.tool_use_ids() {
            if !self.tool_use_ids.contains(id) {
                self.tool_use_ids.insert(id.to_owned());
            }
        }
        let key = match (message.id.as_str(), line.request_id.as_str(), line.uuid.as_str()) {
            (Some(id), _, _) => id.to_owned(),
            (None, Some(req), _) => format!("req:{req}"),
            (None, None, Some(uuid)) => format!("uuid:{uuid}"),
            (None, None, None) => {
                self.anonymous += 1;
                format!("line:{}", self.anonymous)
            }
        };
        let usage = message.usage().unwrap_or_default();
        let response = response_from(model, &usage, line, role, progress_copy);
        match self.responses.get_mut(&key) {
            Some(kept) => {
                if response.supersedes(kept) {
                    *kept = response;
                }
            }
            None => {
                self.responses.insert(key, response);
            }
        }
    }

    fn user(&mut self, line: &RawLine<'_>, role: FileRole) {
        if role == FileRole::Subagent || !is_typed_prompt(line) {
            return;
        }
        match line.uuid.as_str() {
            Some(uuid) if self.copied_prompts.contains(uuid) => {}
            Some(uuid) if self.own_response_seen => {
                if !self.prompts.contains(uuid) {
                    self.prompts.insert(uuid.to_owned());
                }
            }
            Some(uuid) => {
                if !self.unconfirmed_prompts.iter().any(|u| u == uuid) && !self.prompts.contains(uuid) {
                    self.unconfirmed_prompts.push(uuid.to_owned());
                }
            }
            None => self.prompts_without_uuid += 1,
        }
    }

    fn cost_state(&mut self, line: &RawLine<'_>) {
        let Some(total) = line.total_cost_usd.0 else { return };
        let models = line
            .model_usage
            .and_then(|raw| serde_json::from_slice::<BTreeMap<String, ModelUsageRaw>>(raw).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|(model, u)| {
                let tokens = TokenUsage {
                    input: u.input_tokens.0,
                    output: u.output_tokens.0,
                    cache_creation: u.cache_creation_input_tokens.0,
                    cache_read: u.cache_read_input_tokens.0,
                };
                (model, tokens)
            })
            .collect();
        let state = CostState {
            total_cost_usd: total,
            has_unknown_model_cost: line.has_unknown_model_cost.0,
            total_duration_ms: line.total_duration.0.filter(|d| *d >= 0.0).map(|d| d as u64),
            start_time_ms: line.start_time.0.map(|t| t as i64),
            models,
        };
        if !self.cost_states.contains(&state) {
            self.cost_states.push(state);
        }
    }

    /// The session this one was forked from, when its file holds copied history.
    pub fn fork_parent(&self) -> Option<&str> {
        self.fork_parent.as_deref()
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The session's working directory (its first line's).
    pub fn cwd(&self) -> Option<&str> {
        self.cwd.as_deref()
    }

    /// The git branch of the latest line that named one.
    pub fn git_branch(&self) -> Option<&str> {
        self.git_branch.as_deref()
    }

    /// Claude Code's `cost-state` lines seen so far, in order (cumulative).
    pub fn cost_states(&self) -> &[CostState] {
        &self.cost_states
    }

    /// The session's figures. `parent_cost_states` are the cost-states of [`Self::fork_parent`]
    /// when the caller has them: a fork's own cost is its Claude Code total minus the parent's at
    /// the fork point (rule 7); without them a fork is priced from its own responses.
    pub fn summary(&self, prices: &PriceTable, parent_cost_states: Option<&[CostState]>) -> SessionSummary {
        let mut by_model: BTreeMap<String, ModelTotals> = BTreeMap::new();
        let mut tokens = TokenUsage::default();
        let mut subagent_tokens = TokenUsage::default();
        for r in self.responses.values() {
            let entry = by_model.entry(r.model.clone()).or_default();
            entry.messages += 1;
            let mut add = |model_entry: &mut ModelTotals, t: &TokenUsage| {
                model_entry.tokens.add(t);
                tokens.add(t);
                if r.subagent {
                    model_entry.subagent_tokens.add(t);
                    subagent_tokens.add(t);
                }
            };
            add(entry, &r.tokens);
            for a in &r.advisors {
                add(by_model.entry(a.model.clone()).or_default(), &a.tokens);
            }
        }
        by_model.retain(|model, totals| !model.is_empty() || totals.tokens.total() > 0);
        let cost = self.cost(prices, parent_cost_states);
        let last_state = self.cost_states.last();
        let started_ms = match (&self.fork_parent, self.cost_states.first()) {
            (Some(_), Some(first)) => first.start_time_ms.or(self.first_ms),
            _ => self.first_ms,
        };
        let duration_ms =
            last_state.and_then(|s| s.total_duration_ms).or_else(|| Some((self.last_ms? - started_ms?).max(0) as u64));
        SessionSummary {
            session_id: self.session_id.clone().unwrap_or_default(),
            working_directory: self.cwd.clone(),
            project_name: self.cwd.as_deref().and_then(project_name),
            git_branch: self.git_branch.clone(),
            version: self.version.clone(),
            title: self.title.clone(),
            started_ms,
            ended_ms: self.last_ms,
            duration_ms,
            models: by_model.keys().filter(|m| !m.is_empty()).cloned().collect(),
            prompts: (self.prompts.len() + self.unconfirmed_prompts.len()) as u64 + self.prompts_without_uuid,
            message_count: self.responses.len() as u64,
            tool_call_count: self.tool_use_ids.len() as u64,
            token_usage: tokens,
            subagent_token_usage: subagent_tokens,
            by_model,
            cost: cost.usd,
            cost_source: cost.source,
            unpriced_models: cost.unpriced_models,
            fork_parent: self.fork_parent.clone(),
            lines: self.lines,
            invalid_lines: self.invalid_lines,
        }
    }

    fn cost(&self, prices: &PriceTable, parent_cost_states: Option<&[CostState]>) -> Cost {
        if let Some(last) = self.cost_states.last() {
            if last.has_unknown_model_cost {
                let unpriced = last.models.keys().filter(|m| prices.lookup(m).is_none()).cloned().collect();
                return Cost { usd: None, source: CostSource::Unpriced, unpriced_models: unpriced };
            }
            match (&self.fork_parent, parent_cost_states) {
                (None, _) => return Cost::claude_code(last.total_cost_usd),
                (Some(_), Some(parent)) => {
                    let first = &self.cost_states[0];
                    let at_fork = parent.iter().rev().find(|p| p.fits_in(first)).map_or(0.0, |p| p.total_cost_usd);
                    return Cost::claude_code((last.total_cost_usd - at_fork).max(0.0));
                }
                (Some(_), None) => {}
            }
        }
        self.price_table_cost(prices)
    }

    fn price_table_cost(&self, prices: &PriceTable) -> Cost {
        let mut usd = 0.0;
        let mut unpriced: BTreeSet<String> = BTreeSet::new();
        // Sorted, so the floating-point sum does not depend on hash order.
        let mut keys: Vec<&String> = self.responses.keys().collect();
        keys.sort_unstable();
        for r in keys.into_iter().map(|k| &self.responses[k]) {
            if let Some(cost) = r.cost_usd {
                usd += cost;
                continue;
            }
            if r.tokens.total() > 0 || r.web_search > 0 {
                match prices.lookup(&r.model) {
                    Some(p) => usd += p.cost(&r.billable()),
                    None => {
                        unpriced.insert(if r.model.is_empty() { "unknown".into() } else { r.model.clone() });
                    }
                }
            }
            for a in &r.advisors {
                match prices.lookup(&a.model) {
                    Some(p) => usd += p.cost(&billable(&a.tokens, a.cache_1h, 0, false, r.us_geo)),
                    None => {
                        unpriced.insert(a.model.clone());
                    }
                }
            }
        }
        if unpriced.is_empty() {
            Cost { usd: Some(usd), source: CostSource::PriceTable, unpriced_models: Vec::new() }
        } else {
            Cost { usd: None, source: CostSource::Unpriced, unpriced_models: unpriced.into_iter().collect() }
        }
    }
}

fn response_from(model: &str, usage: &Usage, line: &RawLine<'_>, role: FileRole, progress_copy: bool) -> Response {
    let (tokens, cache_1h) = figures(
        usage.input_tokens.0,
        usage.output_tokens.0,
        usage.cache_creation_input_tokens.0,
        usage.cache_read_input_tokens.0,
        usage.cache_creation.as_ref(),
    );
    let advisors = usage
        .advisor_iterations()
        .into_iter()
        .map(|it| {
            let (tokens, cache_1h) = figures(
                it.input_tokens.0,
                it.output_tokens.0,
                it.cache_creation_input_tokens.0,
                it.cache_read_input_tokens.0,
                it.cache_creation.as_ref(),
            );
            Advisor { model: it.model.unwrap_or_default(), tokens, cache_1h }
        })
        .collect();
    Response {
        model: model.to_owned(),
        tokens,
        cache_1h,
        web_search: usage.server_tool_use.map_or(0, |s| s.web_search_requests.0),
        fast: usage.speed.as_deref() == Some("fast"),
        us_geo: usage.inference_geo.as_deref() == Some("us"),
        progress_copy,
        subagent: role == FileRole::Subagent || progress_copy || line.is_sidechain.0,
        cost_usd: line.cost_usd.0.filter(|c| c.is_finite() && *c >= 0.0),
        advisors,
    }
}

/// Token figures with cache creation = max(flat field, 5m + 1h) (rule 5), and the 1h part.
fn figures(input: u64, output: u64, flat: u64, read: u64, split: Option<&line::CacheCreation>) -> (TokenUsage, u64) {
    let (m5, h1) = split.map_or((0, 0), |c| (c.ephemeral_5m_input_tokens.0, c.ephemeral_1h_input_tokens.0));
    let cache_creation = flat.max(m5 + h1);
    (TokenUsage { input, output, cache_creation, cache_read: read }, h1)
}

/// Line types the tally reads; the others (attachments, api-request blobs, queue operations…,
/// most of a transcript's bytes) are bookkeeping that never carries usage (rule 1).
pub(crate) fn is_accounted_type(kind: &str) -> bool {
    matches!(kind, "assistant" | "user" | "progress" | "cost-state" | "summary" | "system")
}

/// Rule 9: a `user` line typed by the person, not a tool result, wrapper or system message.
fn is_typed_prompt(line: &RawLine<'_>) -> bool {
    if line.is_sidechain.0
        || line.is_meta.0
        || line.is_compact_summary.0
        || line.prompt_source.as_str() == Some("system")
    {
        return false;
    }
    let Some(message) = line.api_message() else { return false };
    // Tool results are most user lines, and large: recognise them without parsing.
    if message.first_block_type() == Some("tool_result") {
        return false;
    }
    let blocks = message.blocks();
    if blocks.iter().any(|b| b.kind() == "tool_result") {
        return false;
    }
    let text = blocks.iter().find_map(|b| if b.kind() == "text" { b.text.as_str() } else { None }).unwrap_or("");
    !is_wrapper(text)
}

/// Slash-command and local-command wrappers, interruption notices and system notifications that
/// Claude Code writes as `user` lines.
pub(crate) fn is_wrapper(text: &str) -> bool {
    const PREFIXES: [&str; 11] = [
        "<command-name>",
        "<command-message>",
        "<command-args>",
        "<local-command-stdout>",
        "<local-command-stderr>",
        "<local-command-caveat>",
        "<bash-input>",
        "<bash-stdout>",
        "<bash-stderr>",
        "<task-notification>",
        "[Request interrupted by user",
    ];
    let text = text.trim_start();
    PREFIXES.iter().any(|p| text.starts_with(p))
}

/// The last component of the working directory, as projects are named in dashboards.
pub fn project_name(cwd: &str) -> Option<String> {
    cwd.trim_end_matches(['/', '\\']).rsplit(['/', '\\']).next().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Where a session's cost figure comes from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// Claude Code's own `cost-state` (rule 7).
    ClaudeCode,
    /// The price table applied to each response (rule 8).
    PriceTable,
    /// Some model has no known price: no figure rather than a wrong one.
    Unpriced,
}

struct Cost {
    usd: Option<f64>,
    source: CostSource,
    unpriced_models: Vec<String>,
}

impl Cost {
    fn claude_code(usd: f64) -> Cost {
        Cost { usd: Some(usd), source: CostSource::ClaudeCode, unpriced_models: Vec::new() }
    }
}

/// Per-model figures, subagents included and also shown apart.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelTotals {
    pub messages: u64,
    pub tokens: TokenUsage,
    pub subagent_tokens: TokenUsage,
}

/// Everything the product reports about a session's transcript.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub session_id: String,
    pub project_name: Option<String>,
    pub working_directory: Option<String>,
    pub git_branch: Option<String>,
    /// Claude Code version that wrote the last line.
    pub version: Option<String>,
    /// `summary` line title (1.0.x).
    pub title: Option<String>,
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub duration_ms: Option<u64>,
    pub models: Vec<String>,
    pub prompts: u64,
    /// Deduplicated assistant responses, subagents included.
    pub message_count: u64,
    /// Unique tool_use ids, subagents included.
    pub tool_call_count: u64,
    /// All tokens, subagents included.
    pub token_usage: TokenUsage,
    /// The subagents' share of `token_usage`.
    pub subagent_token_usage: TokenUsage,
    pub by_model: BTreeMap<String, ModelTotals>,
    /// USD; `None` when unpriced.
    pub cost: Option<f64>,
    pub cost_source: CostSource,
    pub unpriced_models: Vec<String>,
    pub fork_parent: Option<String>,
    pub lines: u64,
    /// Lines that were not JSON objects.
    pub invalid_lines: u64,
}
