//! The one internal event model. Hook inputs and transcript items both become an `Event`; the
//! store keeps it in the outbox and a transport turns it into a backend call.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened, in the backend's vocabulary (`eventType` of `sync:recordEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    SessionStart,
    UserPrompt,
    ToolUse,
    ToolFailure,
    ResponseComplete,
    SubagentStop,
    PreCompact,
    SessionEnd,
    ManualSync,
    Message,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SessionStart => "session_start",
            EventType::UserPrompt => "user_prompt",
            EventType::ToolUse => "tool_use",
            EventType::ToolFailure => "tool_failure",
            EventType::ResponseComplete => "response_complete",
            EventType::SubagentStop => "subagent_stop",
            EventType::PreCompact => "pre_compact",
            EventType::SessionEnd => "session_end",
            EventType::ManualSync => "manual_sync",
            EventType::Message => "message",
        }
    }

    pub fn counts_as_tool_call(self) -> bool {
        matches!(self, EventType::ToolUse | EventType::ToolFailure)
    }
}

/// Token figures as the backend stores them. Cache figures are kept apart from `input`, never
/// folded into it, so a dashboard does not over-state prompt tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<u64>,
}

/// The `payload` argument of `sync:recordEvent`: session metadata that lets the backend create
/// or update the session whatever the event order, plus the event's own redacted `detail`.
/// Absent fields are omitted, never `null` (Convex's `v.optional` rejects null).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_usage: Option<TokenUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable idempotency key: the backend applies an event once however often it is sent.
    pub event_id: String,
    pub session_id: String,
    pub event_type: EventType,
    /// Milliseconds since the epoch, when it happened (not when it was sent).
    pub timestamp: i64,
    pub payload: Payload,
}

impl Event {
    /// The event as the outbox stores it.
    pub fn encode(&self) -> serde_json::Result<EncodedEvent> {
        let p = &self.payload;
        Ok(EncodedEvent {
            event_id: self.event_id.clone(),
            session_id: self.session_id.clone(),
            event_type: self.event_type,
            timestamp: self.timestamp,
            payload: serde_json::to_string(p)?,
            fold: SessionFold {
                project_name: p.project_name.clone(),
                working_directory: p.working_directory.clone(),
                git_branch: p.git_branch.clone(),
                model: p.model.clone(),
                start_type: p.start_type.clone(),
                end_reason: p.end_reason.clone(),
            },
        })
    }

    /// An id for events without a natural key: unique, roughly time-ordered.
    pub fn fresh_id(session_id: &str, event_type: EventType) -> String {
        format!("{session_id}:{}:{}", event_type.as_str(), uuid::Uuid::now_v7().simple())
    }
}

/// An event with its payload already serialized: what the outbox stores. Transcript imports
/// encode on their reading threads and hand these to the one thread that writes the store.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    pub event_id: String,
    pub session_id: String,
    pub event_type: EventType,
    pub timestamp: i64,
    /// The payload as JSON.
    pub payload: String,
    pub fold: SessionFold,
}

/// The payload fields a session's row takes from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFold {
    pub project_name: Option<String>,
    pub working_directory: Option<String>,
    pub git_branch: Option<String>,
    pub model: Option<String>,
    pub start_type: Option<String>,
    pub end_reason: Option<String>,
}
