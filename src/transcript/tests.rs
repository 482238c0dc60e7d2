//! Whole-engine tests: the real 2.1.331 samples against Claude Code's own cost-state, hand-made
//! edge cases, and incremental reading against one full read.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::time;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Transcripts the real Claude Code 2.1.331 wrote (`tests/fixtures/claude-code/README.md`).
fn samples() -> PathBuf {
    repo().join("tests/fixtures/claude-code/transcripts")
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/transcripts")
}

fn full_read(files: &SessionFiles) -> SessionState {
    let mut state = SessionState::default();
    let report = catch_up(&mut state, files, &CatchUpOptions::default(), |_| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    state
}

fn session(root: &Path, id: &str) -> SessionFiles {
    discover_sessions(&[root.to_path_buf()])
        .into_iter()
        .find(|s| s.session_id == id)
        .unwrap_or_else(|| panic!("session {id} under {}", root.display()))
}

/// The last cost-state line of a file, read with plain serde_json (independent of the engine).
fn last_cost_state(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|v| v["type"] == "cost-state")
        .expect("sample has a cost-state line")
}

#[test]
fn real_samples_match_claude_codes_own_cost_state() {
    let sessions = discover_sessions(&[samples()]);
    assert_eq!(sessions.len(), 2, "both sample sessions found");
    let prices = PriceTable::bundled();
    for files in &sessions {
        let state = full_read(files);
        let summary = state.tally.summary(&prices, None);
        let cost_state = last_cost_state(files.main.as_ref().unwrap());
        let model_usage = cost_state["modelUsage"].as_object().unwrap();
        assert_eq!(summary.by_model.len(), model_usage.len(), "{}", files.session_id);
        for (model, cc) in model_usage {
            let ours = &summary.by_model[model].tokens;
            assert_eq!(ours.input, cc["inputTokens"].as_u64().unwrap(), "{model} input");
            assert_eq!(ours.output, cc["outputTokens"].as_u64().unwrap(), "{model} output");
            assert_eq!(ours.cache_creation, cc["cacheCreationInputTokens"].as_u64().unwrap(), "{model} cache creation");
            assert_eq!(ours.cache_read, cc["cacheReadInputTokens"].as_u64().unwrap(), "{model} cache read");
        }
        assert_eq!(summary.cost, cost_state["totalCostUSD"].as_f64());
        assert_eq!(summary.cost_source, CostSource::ClaudeCode);

        // Without the cost-state line, the price table alone reproduces Claude Code's figure.
        let mut priced = SessionTally::new();
        for (path, role) in files.files() {
            for l in std::fs::read_to_string(&path).unwrap().lines().filter(|l| !l.contains("\"cost-state\"")) {
                priced.observe_bytes(l.as_bytes(), role);
            }
        }
        let priced = priced.summary(&prices, None);
        assert_eq!(priced.cost_source, CostSource::PriceTable);
        let expected = cost_state["totalCostUSD"].as_f64().unwrap();
        assert!((priced.cost.unwrap() - expected).abs() < 1e-12, "{} vs {expected}", priced.cost.unwrap());
    }
}

#[test]
fn real_samples_counts_and_subagent_split() {
    let prices = PriceTable::bundled();
    let multi = full_read(&session(&samples().join("multi-tools"), "3c420acd-f7ce-4f4d-a482-4af2de79d118"))
        .tally
        .summary(&prices, None);
    assert_eq!((multi.prompts, multi.message_count, multi.tool_call_count), (1, 5, 4));
    assert_eq!(multi.subagent_token_usage, TokenUsage::default());
    assert_eq!(multi.project_name.as_deref(), Some("work"));
    // The first user line (the queue-operation before it is bookkeeping).
    assert_eq!(multi.started_ms, time::parse_iso8601("2026-11-24T11:38:04.225Z"));

    let files = session(&samples().join("subagent"), "4393a4ec-3239-4206-97e6-49e5a86ce22c");
    assert_eq!(files.subagents.len(), 1);
    let sub = full_read(&files).tally.summary(&prices, None);
    // Main: the Agent call and the final answer; subagent: its Bash call and its answer.
    assert_eq!((sub.prompts, sub.message_count, sub.tool_call_count), (1, 4, 2));
    assert_eq!(
        sub.subagent_token_usage,
        TokenUsage { input: 2044, output: 144, cache_creation: 444, cache_read: 6044 }
    );
    assert_eq!(sub.token_usage.input, 4088);
}

#[test]
fn edge_cases_follow_the_accounting_rules() {
    let files = session(&fixtures().join("edge"), "sess-edge");
    assert_eq!(files.subagents.len(), 1);
    let prices = PriceTable::bundled();
    let s = full_read(&files).tally.summary(&prices, None);

    let sonnet = &s.by_model["claude-sonnet-4-5-20250929"];
    // msg_1 keeps its largest copy (output 50, not 5 + 50 + 5); <synthetic>, API-error and
    // unknown-type lines count nothing; msg_2 (CRLF) has cache creation max(10, 30 + 20);
    // msg_3 has invalid UTF-8 and still counts.
    assert_eq!(sonnet.tokens, TokenUsage { input: 118, output: 55, cache_creation: 50, cache_read: 0 });
    assert_eq!(sonnet.messages, 4);
    // Advisor iteration: extra tokens under the advisor's model; the "message" iteration is
    // already in the top-level figures.
    assert_eq!(s.by_model["claude-opus-4-5"].tokens, TokenUsage { input: 40, output: 4, ..Default::default() });
    // msg_5 exists only as an agent_progress copy; msg_6's original (output 9) wins over its
    // larger copy (output 99).
    let haiku = &s.by_model["claude-haiku-4-5-20251001"];
    assert_eq!(haiku.tokens, TokenUsage { input: 31, output: 11, ..Default::default() });
    assert_eq!(haiku.subagent_tokens, haiku.tokens);
    assert_eq!(s.subagent_token_usage, haiku.tokens);
    assert!(!s.by_model.contains_key("<synthetic>"));

    assert_eq!(s.message_count, 6);
    assert_eq!(s.tool_call_count, 2);
    // "hello there" and "second prompt"; not the slash command, meta line, task notification,
    // tool result or the subagent's task.
    assert_eq!(s.prompts, 2);
    assert_eq!(s.invalid_lines, 1);
    assert_eq!(s.ended_ms, time::parse_iso8601("2026-01-02T03:05:01.000Z"));

    // No cost-state: per-message prices (USD per Mtok: sonnet 4.5 3/15, writes 3.75 (5m) and
    // 6 (1h); haiku 4.5 1/5; opus 4.5 5/25).
    let expected = (100.0 * 3.0 + 50.0 * 15.0)
        + (10.0 * 3.0 + 15.0 + 30.0 * 3.75 + 20.0 * 6.0)
        + (7.0 * 3.0 + 3.0 * 15.0)
        + (3.0 + 15.0)
        + (40.0 * 5.0 + 4.0 * 25.0)
        + (11.0 + 2.0 * 5.0)
        + (20.0 + 9.0 * 5.0);
    assert_eq!(s.cost_source, CostSource::PriceTable);
    assert!((s.cost.unwrap() - expected / 1e6).abs() < 1e-15);
}

#[test]
fn truncated_last_line_counts_once_completed() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("edge/-home-dev-edge/sess-edge.jsonl");
    let path = dir.path().join("sess-edge.jsonl");
    std::fs::copy(&src, &path).unwrap();
    let files = SessionFiles { session_id: "sess-edge".into(), main: Some(path.clone()), subagents: vec![] };
    let prices = PriceTable::bundled();
    let mut state = SessionState::default();
    catch_up(&mut state, &files, &CatchUpOptions::default(), |_| {});
    let before = state.tally.summary(&prices, None);
    assert!(!before.by_model.contains_key("claude-sonnet-4-5"), "half-written line not counted");

    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b",\"output_tokens\":7}}}\n").unwrap();
    catch_up(&mut state, &files, &CatchUpOptions::default(), |_| {});
    let after = state.tally.summary(&prices, None);
    assert_eq!(after.by_model["claude-sonnet-4-5"].tokens, TokenUsage { input: 123, output: 7, ..Default::default() });
    assert_eq!(after.message_count, before.message_count + 1);
    assert_eq!(after.invalid_lines, before.invalid_lines);
}

#[test]
fn a_fork_counts_only_its_own_history_and_cost() {
    let root = fixtures().join("fork");
    let prices = PriceTable::bundled();
    let parent = full_read(&session(&root, "parent")).tally;
    let child = full_read(&session(&root, "child")).tally;
    assert_eq!(child.fork_parent(), Some("parent"));

    let p = parent.summary(&prices, None);
    assert_eq!((p.prompts, p.message_count), (2, 2));
    assert_eq!(p.cost, Some(0.00225));

    let c = child.summary(&prices, Some(parent.cost_states()));
    assert_eq!(c.token_usage, TokenUsage { input: 50, output: 5, ..Default::default() });
    assert_eq!((c.prompts, c.message_count), (1, 1));
    assert_eq!(c.cost_source, CostSource::ClaudeCode);
    // 0.001125 cumulative at the fork's first cost-state, minus the parent's 0.00075 then.
    assert!((c.cost.unwrap() - 0.000375).abs() < 1e-12);

    // Without the parent's cost-states, the fork is priced from its own responses.
    let alone = child.summary(&prices, None);
    assert_eq!(alone.cost_source, CostSource::PriceTable);
    assert!((alone.cost.unwrap() - 0.000375).abs() < 1e-12);

    // And through the one-shot scan, which pairs forks with parents itself.
    let all = scan::summarize(&discover_sessions(&[root]), &prices, 2);
    let total: f64 = all.iter().map(|s| s.cost.unwrap()).sum();
    assert!((total - 0.002625).abs() < 1e-12, "parent counted once: {total}");
}

#[test]
fn unknown_models_are_unpriced_never_zero() {
    let root = fixtures().join("pricing");
    let prices = PriceTable::bundled();
    let unknown = full_read(&session(&root, "unknown-model")).tally.summary(&prices, None);
    assert_eq!(unknown.cost, None);
    assert_eq!(unknown.cost_source, CostSource::Unpriced);
    assert_eq!(unknown.unpriced_models, vec!["claude-future-9".to_owned()]);
    assert_eq!(unknown.token_usage.input, 2000, "tokens still reported");

    // Claude Code charged the unknown model at its default rate: not trusted.
    let flagged = full_read(&session(&root, "flagged")).tally.summary(&prices, None);
    assert_eq!(flagged.cost, None);
    assert_eq!(flagged.unpriced_models, vec!["claude-future-9".to_owned()]);

    // A price file in the data dir fixes it without a rebuild.
    let mut table = PriceTable::bundled();
    table.merge_json(r#"{"models":{"claude-future-9":{"input":1,"output":10}}}"#).unwrap();
    let fixed = full_read(&session(&root, "unknown-model")).tally.summary(&table, None);
    assert!((fixed.cost.unwrap() - (1000.0 * 4.0 + 100.0 * 20.0 + 1000.0 + 1000.0) / 1e6).abs() < 1e-12);

    // 0.x lines carry costUSD: used as is.
    let legacy = full_read(&session(&root, "legacy")).tally.summary(&prices, None);
    assert_eq!(legacy.cost, Some(0.75));
}

/// Redacts "secret" and keeps 40 characters; file contents become their length.
struct TestPrivacy;

impl Privacy for TestPrivacy {
    fn text(&self, text: &str) -> String {
        text.replace("secret", "[REDACTED]").chars().take(40).collect()
    }
    fn tool_input(&self, _tool: &str, mut input: Value) -> Option<Value> {
        if let Some(content) = input.get("content").and_then(Value::as_str) {
            input["content"] = Value::from(format!("<{} chars>", content.chars().count()));
        }
        Some(input)
    }
}

fn items_of(files: &SessionFiles, thinking: bool) -> Vec<ConversationItem> {
    let mut items = Vec::new();
    let opts = CatchUpOptions {
        privacy: Some(&TestPrivacy),
        conversation: ConversationOptions { include_thinking: thinking },
        max_bytes: None,
    };
    catch_up(&mut SessionState::default(), files, &opts, |item| items.push(item));
    items
}

#[test]
fn conversation_items_of_a_real_session() {
    let files = session(&samples().join("multi-tools"), "3c420acd-f7ce-4f4d-a482-4af2de79d118");
    let items = items_of(&files, false);
    let kinds: Vec<(ItemKind, &str)> = items.iter().map(|i| (i.kind, i.id.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (ItemKind::Prompt, "dd896f14-b514-4d56-929c-eb5caf875463"),
            (ItemKind::Text, "6477010f-a04b-43cb-81ea-59b10d03ae87"),
            (ItemKind::ToolUse, "toolu_multi_0_3_1"),
            (ItemKind::ToolResult, "toolu_multi_0_3_1:result"),
            (ItemKind::ToolUse, "toolu_multi_1_5_0"),
            (ItemKind::ToolResult, "toolu_multi_1_5_0:result"),
            (ItemKind::ToolUse, "toolu_multi_2_7_0"),
            (ItemKind::ToolResult, "toolu_multi_2_7_0:result"),
            (ItemKind::ToolUse, "toolu_multi_3_9_0"),
            (ItemKind::ToolResult, "toolu_multi_3_9_0:result"),
            (ItemKind::Text, "631a6900-4a43-4271-974d-1d8ba72f2c49"),
        ]
    );
    let prompt = &items[0];
    assert_eq!(prompt.role, Role::User);
    assert_eq!(prompt.text.as_deref(), Some("SCENARIO:multi please do the multi tool "), "truncated by the filter");
    assert_eq!(prompt.timestamp_ms, time::parse_iso8601("2026-11-24T11:38:04.225Z"));
    let write = &items[4];
    assert_eq!(write.tool_name.as_deref(), Some("Write"));
    assert_eq!(write.tool_input.as_ref().unwrap()["content"], "<18 chars>");
    assert_eq!(write.model.as_deref(), Some("claude-opus-5-5"));
    assert_eq!(write.usage.unwrap().output, 55);
    let result = &items[3];
    assert_eq!(result.outcome, Some(Outcome::Ok));
    assert_eq!(result.result_chars, Some("hello-from-bash".len() as u64));
    assert_eq!(result.text, None, "tool output is not synced, only its outcome and length");

    let with_thinking = items_of(&files, true);
    let thinking: Vec<_> = with_thinking.iter().filter(|i| i.kind == ItemKind::Thinking).collect();
    assert_eq!(thinking.len(), 2);
    assert_eq!(thinking[0].text.as_deref(), Some("I should run a shell command first."));

    // Serialized items have no nulls (recordEvent wants absent fields).
    let json = serde_json::to_string(&items).unwrap();
    assert!(!json.contains("null"), "{json}");
}

#[test]
fn conversation_items_of_edge_cases() {
    let files = session(&fixtures().join("edge"), "sess-edge");
    let items = items_of(&files, false);
    let by_id: BTreeMap<&str, &ConversationItem> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    let failed = by_id["toolu_1:result"];
    assert_eq!(failed.outcome, Some(Outcome::Error));
    assert_eq!(failed.text.as_deref(), Some("a\nb"), "error text is kept (redacted)");
    assert_eq!(by_id["c1"].kind, ItemKind::Command);
    assert!(!by_id.contains_key("m1") && !by_id.contains_key("t1"));
    assert_eq!(by_id["syn"].kind, ItemKind::ApiError);
    assert_eq!(by_id["a3"].text.as_deref(), Some("bad \u{fffd} here"));
    let sub_prompt = by_id["su1"];
    assert_eq!((sub_prompt.kind, sub_prompt.agent_id.as_deref()), (ItemKind::Prompt, Some("x")));
    assert_eq!(by_id["toolu_2"].agent_id.as_deref(), Some("x"));

    // Fork copies are not the fork's conversation: only its own prompt and answer.
    let fork = items_of(&session(&fixtures().join("fork"), "child"), false);
    let ids: Vec<&str> = fork.iter().map(|i| i.id.as_str()).collect();
    // p1 is the parent's prompt: it keeps the parent's id, so a backend keyed on ids keeps one.
    assert_eq!(ids, vec!["p1", "c1", "ca1"]);
}

/// Copies `files` into `dir` piece by piece (pseudo-random chunk sizes, splitting lines
/// anywhere, interleaving main and subagent files), catching up at random points with the
/// state going through JSON as the store would keep it.
fn incremental_read(files: &SessionFiles, dir: &Path, seed: u64) -> (SessionSummary, Vec<String>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let sources: Vec<(PathBuf, FileRole)> = files.files();
    let targets: Vec<PathBuf> = sources
        .iter()
        .map(|(p, role)| match role {
            FileRole::Main => dir.join(format!("{}.jsonl", files.session_id)),
            FileRole::Subagent => dir.join(&files.session_id).join("subagents").join(p.file_name().unwrap()),
        })
        .collect();
    let contents: Vec<Vec<u8>> = sources.iter().map(|(p, _)| std::fs::read(p).unwrap()).collect();
    let mut written = vec![0usize; contents.len()];
    let target_files = SessionFiles {
        session_id: files.session_id.clone(),
        main: Some(targets[0].clone()),
        subagents: targets[1..].to_vec(),
    };
    for t in &targets {
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
    }
    let mut state_json = serde_json::to_string(&SessionState::default()).unwrap();
    let mut items = Vec::new();
    let opts = CatchUpOptions { privacy: Some(&TestPrivacy), ..Default::default() };
    loop {
        let open: Vec<usize> = (0..contents.len()).filter(|&i| written[i] < contents[i].len()).collect();
        if !open.is_empty() {
            let i = open[rng.usize(..open.len())];
            let n = rng.usize(1..=4000).min(contents[i].len() - written[i]);
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&targets[i]).unwrap();
            f.write_all(&contents[i][written[i]..written[i] + n]).unwrap();
            written[i] += n;
        }
        if open.is_empty() || rng.u8(..3) == 0 {
            let mut state: SessionState = serde_json::from_str(&state_json).unwrap();
            let budget = if rng.bool() { Some(rng.u64(1..20_000)) } else { None };
            let opts = CatchUpOptions { max_bytes: budget, ..opts };
            let report =
                catch_up(&mut state, &target_files, &opts, |item| items.push(serde_json::to_string(&item).unwrap()));
            state_json = serde_json::to_string(&state).unwrap();
            if open.is_empty() && report.complete {
                let prices = PriceTable::bundled();
                return (state.tally.summary(&prices, None), items);
            }
        }
    }
}

#[test]
fn incremental_reads_equal_one_full_read_whatever_the_chunking() {
    let prices = PriceTable::bundled();
    let cases = [
        session(&samples().join("subagent"), "4393a4ec-3239-4206-97e6-49e5a86ce22c"),
        session(&samples().join("multi-tools"), "3c420acd-f7ce-4f4d-a482-4af2de79d118"),
        session(&fixtures().join("edge"), "sess-edge"),
    ];
    for files in &cases {
        let full = full_read(files).tally.summary(&prices, None);
        let mut full_items: Vec<String> = Vec::new();
        let opts = CatchUpOptions { privacy: Some(&TestPrivacy), ..Default::default() };
        catch_up(&mut SessionState::default(), files, &opts, |i| full_items.push(serde_json::to_string(&i).unwrap()));
        full_items.sort();
        for seed in 0..6 {
            let dir = tempfile::tempdir().unwrap();
            let (summary, mut items) = incremental_read(files, dir.path(), seed);
            items.sort();
            assert_eq!(summary, full, "{} seed {seed}", files.session_id);
            assert_eq!(items, full_items, "{} seed {seed}: each item exactly once", files.session_id);
        }
    }
}

#[test]
fn a_replaced_file_is_read_again_without_double_counting() {
    let dir = tempfile::tempdir().unwrap();
    let src = samples().join("multi-tools/-home-dev-work/3c420acd-f7ce-4f4d-a482-4af2de79d118.jsonl");
    let path = dir.path().join("s.jsonl");
    std::fs::copy(&src, &path).unwrap();
    let files = SessionFiles { session_id: "s".into(), main: Some(path.clone()), subagents: vec![] };
    let prices = PriceTable::bundled();
    let mut state = SessionState::default();
    catch_up(&mut state, &files, &CatchUpOptions::default(), |_| {});
    let once = state.tally.summary(&prices, None);

    let tmp = dir.path().join("s.tmp");
    std::fs::copy(&src, &tmp).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let report = catch_up(&mut state, &files, &CatchUpOptions::default(), |_| {});
    assert_eq!(report.restarted.len(), 1);
    let twice = state.tally.summary(&prices, None);
    assert_eq!(twice.token_usage, once.token_usage);
    assert_eq!(
        (twice.prompts, twice.message_count, twice.tool_call_count),
        (once.prompts, once.message_count, once.tool_call_count)
    );
    assert_eq!(twice.cost, once.cost);
}
