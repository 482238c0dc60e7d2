//! What OpenSync's dashboard gets, field by field. Pure functions: the session body from the
//! outbox's [`SessionFacts`], a message body from one `message` event.
//!
//! Token figures: OpenSync has only `promptTokens` and `completionTokens` (and shows their sum).
//! - `completionTokens` = output tokens, all models, subagents included.
//! - `promptTokens` = uncached input + cache-creation input: the prompt tokens the model
//!   processed fresh in this session. Cache READS are left out: they are the same context re-read
//!   on every turn (often 20–50× the rest) and would inflate the count; their price is in `cost`.
//!   Both are absolute session totals from the transcript summary, sent on the session only —
//!   never on messages, because OpenSync adds a new message's tokens to the session's totals,
//!   which would count them twice.
//!
//! Every optional field is absent when unknown, never `null` (OpenSync answers `null` with 500),
//! and every part is exactly `{type, content}` (any other key is a 500).

use serde_json::{Map, Value, json};

use crate::event::TokenUsage;
use crate::store::{OutboxEvent, SessionFacts};

pub const SOURCE: &str = "claude-code";
pub const PROVIDER: &str = "anthropic";
/// Dashboard titles are one line; longer prompts are cut here with an ellipsis.
const TITLE_CHARS: usize = 80;

/// The fields OpenSync's session no-op window looks at: a write that changes none of them
/// within 10 s of the previous one is dropped whole (cost and duration with it).
pub const WINDOW_FIELDS: &[&str] = &["title", "model", "projectPath", "promptTokens", "completionTokens"];

pub fn prompt_tokens(usage: &TokenUsage) -> u64 {
    usage.input + usage.cache_creation.unwrap_or(0)
}

pub fn completion_tokens(usage: &TokenUsage) -> u64 {
    usage.output
}

/// `POST /sync/session`: the session's complete current state.
pub fn session_body(session_id: &str, facts: &SessionFacts) -> Value {
    let mut body = Map::new();
    body.insert("externalId".into(), session_id.into());
    body.insert("source".into(), SOURCE.into());
    body.insert("provider".into(), PROVIDER.into());
    body.insert("title".into(), title(facts).into());
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            body.insert(key.into(), v);
        }
    };
    put("projectPath", facts.working_directory.clone().map(Value::from));
    put("projectName", facts.project_name.clone().map(Value::from));
    put("model", facts.model.clone().map(Value::from));
    if let Some(usage) = &facts.token_usage {
        // OpenSync writes token figures only when > 0; a 0 would be ignored anyway.
        put("promptTokens", Some(prompt_tokens(usage)).filter(|&n| n > 0).map(Value::from));
        put("completionTokens", Some(completion_tokens(usage)).filter(|&n| n > 0).map(Value::from));
    }
    put("cost", facts.cost.filter(|c| c.is_finite() && *c >= 0.0).map(Value::from));
    let elapsed = match (facts.first_timestamp, facts.last_timestamp) {
        (Some(first), Some(last)) if last > first => Some(last - first),
        _ => None,
    };
    put("durationMs", facts.duration_ms.filter(|d| *d >= 0).or(elapsed).map(Value::from));
    put("createdAt", facts.first_timestamp.map(Value::from));
    Value::Object(body)
}

/// The first prompt on one line, cut to a dashboard title; without a prompt yet, a title that
/// still says what the session is (never "Untitled").
pub fn title(facts: &SessionFacts) -> String {
    if let Some(prompt) = &facts.first_prompt {
        let line = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
        if !line.is_empty() {
            if line.chars().count() <= TITLE_CHARS {
                return line;
            }
            let cut: String = line.chars().take(TITLE_CHARS - 1).collect();
            return format!("{}…", cut.trim_end());
        }
    }
    match &facts.project_name {
        Some(project) => format!("Claude Code session in {project}"),
        None => "Claude Code session".to_string(),
    }
}

/// A transcript item's detail, read leniently: the transcript engine's `ConversationItem` and the
/// documented `{role, kind, text, toolName, toolInput, toolUseId, outcome | isError, model, uuid}`
/// shape both work.
struct Item<'a> {
    detail: &'a Map<String, Value>,
}

impl<'a> Item<'a> {
    fn str(&self, key: &str) -> Option<&'a str> {
        self.detail.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    fn kind(&self) -> &'a str {
        self.str("kind").unwrap_or("text")
    }

    fn is_tool_call(&self) -> bool {
        matches!(self.kind(), "tool_call" | "tool_use")
    }

    fn is_tool_result(&self) -> bool {
        self.kind() == "tool_result"
    }

    fn is_error(&self) -> bool {
        self.detail.get("isError").and_then(Value::as_bool).unwrap_or(false)
            || matches!(self.str("outcome"), Some("error" | "failure"))
    }

    /// Stable within the session: the tool_use id for calls (`<id>:result` for their results),
    /// the transcript line's uuid otherwise.
    fn id_from_fields(&self) -> Option<String> {
        match self.str("toolUseId") {
            Some(t) if self.is_tool_call() => Some(t.to_string()),
            Some(t) if self.is_tool_result() => Some(format!("{t}:result")),
            _ => self.str("uuid").map(str::to_string),
        }
    }
}

/// `POST /sync/message` for one `message` event, or `None` when the item has nothing the
/// dashboard shows (it is then acknowledged without a call).
pub fn message_body(event: &OutboxEvent) -> Option<Value> {
    let payload: Value = serde_json::from_str(&event.payload).ok()?;
    let detail = payload.get("detail")?.as_object()?;
    let item = Item { detail };
    // The transcript engine's item id: in the detail, or as the event id `msg:<item id>` (the
    // transcript wiring's key); else derived from the item's fields.
    let item_id = item
        .str("id")
        .or_else(|| event.event_id.strip_prefix("msg:"))
        .map(str::to_string)
        .or_else(|| item.id_from_fields())
        .unwrap_or_else(|| event.event_id.clone());
    // The message key is global across every OpenSync user: the session id makes it unique.
    let external_id =
        if item_id.starts_with(&event.session_id) { item_id } else { format!("{}:{item_id}", event.session_id) };
    let text = item.str("text");
    let mut parts = Vec::new();
    let role;
    let mut text_content = text.map(str::to_string);
    match item.kind() {
        _ if item.is_tool_call() => {
            role = "assistant";
            if let Some(t) = text {
                parts.push(part("text", t.into()));
            }
            let name = item.str("toolName").unwrap_or("tool");
            let args = detail.get("toolInput").filter(|v| !v.is_null()).cloned().unwrap_or_else(|| json!({}));
            parts.push(part("tool-call", json!({ "name": name, "args": args })));
        }
        _ if item.is_tool_result() => {
            role = "tool";
            let result = match text {
                Some(t) if item.is_error() && !t.starts_with("Error") => format!("Error: {t}"),
                Some(t) => t.to_string(),
                None => result_summary(&item),
            };
            text_content = Some(result.clone());
            parts.push(part("tool-result", json!({ "result": result })));
        }
        "thinking" => {
            role = "assistant";
            let t = text?;
            parts.push(part("text", format!("*Thinking:* {t}").into()));
        }
        "api_error" => {
            role = "system";
            parts.push(part("text", text?.into()));
        }
        _ => {
            role = match item.str("role") {
                Some(r @ ("user" | "assistant" | "system" | "tool")) => r,
                _ => "unknown",
            };
            parts.push(part("text", text?.into()));
        }
    }

    let mut body = Map::new();
    body.insert("sessionExternalId".into(), event.session_id.clone().into());
    body.insert("externalId".into(), external_id.into());
    body.insert("role".into(), role.into());
    if let Some(t) = text_content {
        body.insert("textContent".into(), t.into());
    }
    let model = payload.get("model").and_then(Value::as_str).or_else(|| item.str("model"));
    if role == "assistant"
        && let Some(model) = model.filter(|m| !m.is_empty() && *m != "<synthetic>")
    {
        body.insert("model".into(), model.into());
    }
    body.insert("source".into(), SOURCE.into());
    body.insert("createdAt".into(), event.timestamp.into());
    body.insert("parts".into(), Value::Array(parts));
    Some(Value::Object(body))
}

fn part(kind: &str, content: Value) -> Value {
    json!({ "type": kind, "content": content })
}

/// A tool result whose text is not synced (the privacy rules keep only outcome and length).
fn result_summary(item: &Item) -> String {
    let outcome = if item.is_error() { "error" } else { "ok" };
    let chars = item.detail.get("resultChars").and_then(Value::as_u64);
    match chars {
        Some(n) => format!("{outcome} ({n} characters of output, not synced)"),
        None => outcome.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> SessionFacts {
        SessionFacts {
            first_timestamp: Some(1_700_000_000_000),
            last_timestamp: Some(1_700_000_090_000),
            first_prompt: Some("  Fix the\n login   bug\tplease ".into()),
            project_name: Some("app".into()),
            working_directory: Some("/home/me/app".into()),
            model: Some("claude-opus-5-5".into()),
            token_usage: Some(TokenUsage {
                input: 120,
                output: 3_400,
                cache_creation: Some(9_000),
                cache_read: Some(250_000),
            }),
            cost: Some(1.25),
            duration_ms: Some(80_000),
            last_delivered_at: None,
            last_session_seq: 9,
            ended: false,
        }
    }

    fn event(detail: Value) -> OutboxEvent {
        OutboxEvent {
            seq: 1,
            event_id: "s-1:message:x".into(),
            session_id: "s-1".into(),
            event_type: "message".into(),
            timestamp: 1_700_000_001_000,
            payload: json!({ "detail": detail }).to_string(),
            attempts: 0,
        }
    }

    #[test]
    fn session_body_fills_what_the_dashboard_shows_with_honest_tokens() {
        let body = session_body("s-1", &facts());
        assert_eq!(
            body,
            json!({
                "externalId": "s-1",
                "source": "claude-code",
                "provider": "anthropic",
                "title": "Fix the login bug please",
                "projectPath": "/home/me/app",
                "projectName": "app",
                "model": "claude-opus-5-5",
                "promptTokens": 9_120,      // input + cache creation; cache reads left out
                "completionTokens": 3_400,
                "cost": 1.25,
                "durationMs": 80_000,
                "createdAt": 1_700_000_000_000_i64,
            })
        );
    }

    #[test]
    fn unknown_figures_are_absent_never_null_and_duration_falls_back_to_elapsed_time() {
        let f = SessionFacts {
            token_usage: Some(TokenUsage::default()),
            cost: None,
            duration_ms: None,
            model: None,
            working_directory: None,
            ..facts()
        };
        let body = session_body("s-1", &f);
        let map = body.as_object().unwrap();
        assert!(map.values().all(|v| !v.is_null()));
        for absent in ["promptTokens", "completionTokens", "cost", "model", "projectPath"] {
            assert!(!map.contains_key(absent), "{absent} must be absent: {body}");
        }
        assert_eq!(body["durationMs"], 90_000);
    }

    #[test]
    fn titles_are_one_line_cut_with_an_ellipsis_and_never_untitled() {
        let long = "word ".repeat(40);
        let t = title(&SessionFacts { first_prompt: Some(long), ..facts() });
        assert_eq!(t.chars().count(), TITLE_CHARS);
        assert!(t.ends_with('…') && !t.contains("  "));
        let t = title(&SessionFacts { first_prompt: Some(" \n ".into()), ..facts() });
        assert_eq!(t, "Claude Code session in app");
        assert_eq!(title(&SessionFacts::default()), "Claude Code session");
    }

    fn assert_strict_parts(body: &Value) {
        for p in body["parts"].as_array().unwrap() {
            let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["content", "type"], "every part is exactly {{type, content}}: {p}");
        }
    }

    #[test]
    fn a_prompt_becomes_a_user_message_with_a_text_part_and_a_global_key() {
        let body = message_body(&event(json!({
            "role": "user", "kind": "prompt", "text": "hello", "uuid": "u-1", "model": "ignored-for-users"
        })))
        .unwrap();
        assert_eq!(
            body,
            json!({
                "sessionExternalId": "s-1",
                "externalId": "s-1:u-1",
                "role": "user",
                "textContent": "hello",
                "source": "claude-code",
                "createdAt": 1_700_000_001_000_i64,
                "parts": [{ "type": "text", "content": "hello" }],
            })
        );
        assert_strict_parts(&body);
    }

    #[test]
    fn tool_calls_and_results_use_the_part_shapes_the_dashboard_renders() {
        let call = message_body(&event(json!({
            "role": "assistant", "kind": "tool_call", "toolName": "Bash", "toolInput": { "command": "ls" },
            "toolUseId": "toolu_1", "uuid": "u-2", "model": "claude-opus-5-5",
            "usage": { "input": 5, "output": 7 }
        })))
        .unwrap();
        assert_eq!(call["externalId"], "s-1:toolu_1");
        assert_eq!(call["role"], "assistant");
        assert_eq!(call["model"], "claude-opus-5-5");
        assert_eq!(
            call["parts"],
            json!([{ "type": "tool-call", "content": { "name": "Bash", "args": { "command": "ls" } } }])
        );
        assert!(call.get("promptTokens").is_none() && call.get("completionTokens").is_none());
        assert_strict_parts(&call);

        let ok = message_body(&event(json!({
            "role": "user", "kind": "tool_result", "toolUseId": "toolu_1", "outcome": "ok", "resultChars": 42, "uuid": "u-3"
        })))
        .unwrap();
        assert_eq!(ok["externalId"], "s-1:toolu_1:result");
        assert_eq!(ok["role"], "tool");
        assert_eq!(ok["parts"][0]["content"]["result"], "ok (42 characters of output, not synced)");

        let failed = message_body(&event(json!({
            "kind": "tool_result", "toolUseId": "toolu_2", "isError": true, "text": "exit 1"
        })))
        .unwrap();
        assert_eq!(failed["parts"], json!([{ "type": "tool-result", "content": { "result": "Error: exit 1" } }]));
        assert_strict_parts(&failed);
    }

    #[test]
    fn text_is_also_a_text_part_when_other_parts_exist_and_the_engine_id_wins() {
        let body = message_body(&event(json!({
            "id": "toolu_9", "role": "assistant", "kind": "tool_use", "text": "Let me look.", "toolName": "Read",
            "toolUseId": "toolu_9"
        })))
        .unwrap();
        assert_eq!(body["externalId"], "s-1:toolu_9");
        assert_eq!(body["textContent"], "Let me look.");
        assert_eq!(body["parts"][0], json!({ "type": "text", "content": "Let me look." }));
        assert_eq!(body["parts"][1]["type"], "tool-call");
        assert_eq!(body["parts"][1]["content"]["args"], json!({}));
    }

    #[test]
    fn the_transcript_wirings_shape_keys_by_event_id_and_takes_the_model_from_the_payload() {
        // As src/ingest/ queues an item: event id `msg:<item id>`, the item serialized without
        // id/sessionId/timestampMs/model, the model in the payload beside session metadata.
        let text = OutboxEvent {
            event_id: "msg:1b2c-uuid#1".into(),
            payload: json!({
                "projectName": "app",
                "model": "claude-sonnet-5-5",
                "detail": { "role": "assistant", "kind": "text", "text": "Done.", "messageId": "msg_01", "usage": { "input": 3, "output": 9 } }
            })
            .to_string(),
            ..event(json!({}))
        };
        let body = message_body(&text).unwrap();
        assert_eq!(body["externalId"], "s-1:1b2c-uuid#1");
        assert_eq!(body["model"], "claude-sonnet-5-5");
        assert_eq!(body["parts"], json!([{ "type": "text", "content": "Done." }]));
        let result = OutboxEvent {
            event_id: "msg:toolu_7:result".into(),
            payload: json!({ "detail": { "role": "user", "kind": "tool_result", "toolUseId": "toolu_7", "outcome": "error", "resultChars": 12, "text": "No such file" } }).to_string(),
            ..event(json!({}))
        };
        let body = message_body(&result).unwrap();
        assert_eq!(body["externalId"], "s-1:toolu_7:result");
        assert_eq!(body["parts"][0]["content"]["result"], "Error: No such file");
    }

    #[test]
    fn thinking_is_marked_synthetic_models_dropped_and_empty_items_skipped() {
        let thinking =
            message_body(&event(json!({ "role": "assistant", "kind": "thinking", "text": "hmm", "uuid": "u" })))
                .unwrap();
        assert_eq!(thinking["parts"][0]["content"], "*Thinking:* hmm");
        let err = message_body(&event(json!({
            "role": "assistant", "kind": "api_error", "text": "overloaded", "model": "<synthetic>", "uuid": "v"
        })))
        .unwrap();
        assert_eq!(err["role"], "system");
        assert!(err.get("model").is_none());
        assert!(message_body(&event(json!({ "role": "assistant", "kind": "text", "uuid": "w" }))).is_none());
        // Without any id in the item, the event id (already session-scoped) is the key.
        let fallback = message_body(&event(json!({ "role": "assistant", "kind": "text", "text": "x" }))).unwrap();
        assert_eq!(fallback["externalId"], "s-1:message:x");
    }
}
