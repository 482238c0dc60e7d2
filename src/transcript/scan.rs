//! One-shot reading of whole sessions, without a store: `usage`, backfill, benchmarks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::discover::SessionFiles;
use super::prices::PriceTable;
use super::session::{self, CatchUpOptions, SessionState};
use super::tally::{CostState, SessionSummary};

/// Reads every session in full on `jobs` threads (each holds one session's tally at a time, so
/// memory follows the largest session, not the tree) and summarises them, forks' costs net of
/// their parent's. Output is in input order.
pub fn summarize(sessions: &[SessionFiles], prices: &PriceTable, jobs: usize) -> Vec<SessionSummary> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<SessionState>>> = Mutex::new(vec![None; sessions.len()]);
    let cost_states: Mutex<HashMap<String, Vec<CostState>>> = Mutex::new(HashMap::new());
    let summaries: Mutex<Vec<Option<SessionSummary>>> = Mutex::new(vec![None; sessions.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(files) = sessions.get(i) else { break };
                    let mut state = SessionState::default();
                    session::catch_up(&mut state, files, &CatchUpOptions::default(), |_| {});
                    let tally = &state.tally;
                    if !tally.cost_states().is_empty() {
                        cost_states.lock().unwrap().insert(files.session_id.clone(), tally.cost_states().to_vec());
                    }
                    if tally.fork_parent().is_some() {
                        // Needs the parent's cost-states: summarised once every session is read.
                        results.lock().unwrap()[i] = Some(state);
                    } else {
                        let mut summary = tally.summary(prices, None);
                        if summary.session_id.is_empty() {
                            summary.session_id = files.session_id.clone();
                        }
                        summaries.lock().unwrap()[i] = Some(summary);
                    }
                }
            });
        }
    });
    let cost_states = cost_states.into_inner().unwrap();
    let mut summaries = summaries.into_inner().unwrap();
    for (i, state) in results.into_inner().unwrap().into_iter().enumerate() {
        let Some(state) = state else { continue };
        let parent = state.tally.fork_parent().and_then(|p| cost_states.get(p)).map(Vec::as_slice);
        let mut summary = state.tally.summary(prices, parent);
        if summary.session_id.is_empty() {
            summary.session_id = sessions[i].session_id.clone();
        }
        summaries[i] = Some(summary);
    }
    summaries.into_iter().flatten().collect()
}

/// A session as `sessions --json` prints it: the keys of the contract (`sessionId`,
/// `projectName`, `workingDirectory`, `startedAt`/`endedAt` as ISO 8601 or null, `models`,
/// `prompts`, `messageCount`, `toolCallCount`, `tokenUsage` with subagents included, `cost` in
/// USD or null when unpriced), then extras.
pub fn session_json(s: &SessionSummary) -> serde_json::Value {
    serde_json::json!({
        "sessionId": s.session_id,
        "projectName": s.project_name,
        "workingDirectory": s.working_directory,
        "startedAt": s.started_ms.map(crate::time::iso8601),
        "endedAt": s.ended_ms.map(crate::time::iso8601),
        "models": s.models,
        "prompts": s.prompts,
        "messageCount": s.message_count,
        "toolCallCount": s.tool_call_count,
        "tokenUsage": s.token_usage,
        "cost": s.cost,
        "costSource": s.cost_source,
        "unpricedModels": s.unpriced_models,
        "subagentTokenUsage": s.subagent_token_usage,
        "byModel": s.by_model,
        "gitBranch": s.git_branch,
        "durationMs": s.duration_ms,
        "forkParent": s.fork_parent,
    })
}
