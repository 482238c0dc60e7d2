//! The conversation as items: prompts, assistant text, tool calls and their results, thinking
//! (opt-in), each with a stable id taken from the transcript and its original timestamp.
//!
//! Redaction and the privacy rules (truncation, file contents reduced to path + length, tool
//! output reduced to outcome + lengths) belong to the caller, through [`Privacy`]: nothing
//! leaves this module unfiltered, and this module does not depend on how filtering is done.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::line::{self, Block, RawLine};
use super::tally::{self, FileRole, TokenUsage};
use crate::time;

/// The caller's redaction + privacy rules.
pub trait Privacy {
    /// Free text (prompt, assistant text, thinking, error text): redacted and truncated.
    fn text(&self, text: &str) -> String;
    /// A tool call's input as it may be recorded (e.g. file contents → path + length), redacted;
    /// `None` when tool details are not recorded at all.
    fn tool_input(&self, tool_name: &str, input: Value) -> Option<Value>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationOptions {
    /// `sync_thinking`: thinking blocks are skipped unless set.
    pub include_thinking: bool,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Typed by the person (or the task handed to a subagent, with `agent_id`).
    Prompt,
    /// A slash command or local command wrapper.
    Command,
    Text,
    Thinking,
    ToolUse,
    ToolResult,
    /// Claude Code's synthetic line reporting a failed API call.
    ApiError,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Error,
}

/// One conversation item. Optional fields are absent when empty (the recordEvent contract
/// wants absent, never null).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConversationItem {
    /// Stable and unique across sessions: the tool_use id for tool calls, `<tool_use_id>:result`
    /// for results, the line's uuid (with `#<block>` when a line has several blocks) otherwise.
    /// A fork's copies of its parent's lines keep the parent's ids, so they deduplicate.
    pub id: String,
    pub session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
    pub role: Role,
    pub kind: ItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_input: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Length in characters of the tool result's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_chars: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API message id; the lines of one response share it (and its usage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The response's usage as written on this line. Lines of one response repeat it: do not
    /// sum it across items (the session summary has the deduplicated totals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    /// Set on a subagent's items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// The conversation items of one line. `offset` (the line's byte offset) names items of lines
/// that have no uuid.
pub fn items(
    line: &RawLine<'_>,
    role: FileRole,
    offset: u64,
    privacy: &dyn Privacy,
    opts: &ConversationOptions,
) -> Vec<ConversationItem> {
    if line.is_fork_copy() {
        return Vec::new();
    }
    let session_id = line.session_id.as_str().unwrap_or("").to_owned();
    let base_id = match line.uuid.as_str() {
        Some(uuid) => uuid.to_owned(),
        None => format!("{session_id}@{offset}"),
    };
    let agent_id = line.agent_id.as_str().map(str::to_owned);
    let template = ConversationItem {
        id: base_id.clone(),
        session_id,
        timestamp_ms: line.timestamp.as_str().and_then(time::parse_iso8601),
        role: Role::User,
        kind: ItemKind::Text,
        text: None,
        tool_name: None,
        tool_input: None,
        tool_use_id: None,
        outcome: None,
        result_chars: None,
        model: None,
        message_id: None,
        usage: None,
        agent_id: agent_id.clone(),
    };
    match line.kind() {
        "assistant" => assistant_items(line, template, privacy, opts),
        "user" => user_items(line, role, template, privacy),
        _ => Vec::new(),
    }
}

fn assistant_items(
    line: &RawLine<'_>,
    template: ConversationItem,
    privacy: &dyn Privacy,
    opts: &ConversationOptions,
) -> Vec<ConversationItem> {
    let Some(message) = line.api_message() else { return Vec::new() };
    let blocks = message.blocks();
    let model = message.model.as_str().map(str::to_owned);
    let usage = message.usage().map(|u| TokenUsage {
        input: u.input_tokens.0,
        output: u.output_tokens.0,
        cache_creation: u
            .cache_creation_input_tokens
            .0
            .max(u.cache_creation.map_or(0, |c| c.ephemeral_5m_input_tokens.0 + c.ephemeral_1h_input_tokens.0)),
        cache_read: u.cache_read_input_tokens.0,
    });
    let base = ConversationItem {
        role: Role::Assistant,
        model: model.clone(),
        message_id: message.id.as_str().map(str::to_owned),
        usage,
        ..template
    };
    if model.as_deref() == Some("<synthetic>") || line.is_api_error_message.0 {
        let text = blocks.iter().filter_map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n");
        return vec![ConversationItem {
            kind: ItemKind::ApiError,
            text: Some(privacy.text(&text)),
            usage: None,
            ..base
        }];
    }
    let several = blocks.len() > 1;
    let mut out = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let id = if several { format!("{}#{i}", base.id) } else { base.id.clone() };
        match block.kind() {
            "text" => {
                if let Some(text) = block.text.as_str() {
                    out.push(ConversationItem {
                        id,
                        kind: ItemKind::Text,
                        text: Some(privacy.text(text)),
                        ..base.clone()
                    });
                }
            }
            "thinking" if opts.include_thinking => {
                if let Some(text) = block.thinking.map(line::str_value).and_then(|t| t.0).filter(|t| !t.is_empty()) {
                    out.push(ConversationItem {
                        id,
                        kind: ItemKind::Thinking,
                        text: Some(privacy.text(&text)),
                        ..base.clone()
                    });
                }
            }
            "tool_use" | "server_tool_use" => {
                let name = block.name.as_str().unwrap_or("").to_owned();
                let input = block.input.and_then(|raw| serde_json::from_str::<Value>(&line::utf8_lossy(raw)).ok());
                out.push(ConversationItem {
                    id: block.id.as_str().map_or(id, str::to_owned),
                    kind: ItemKind::ToolUse,
                    tool_input: input.and_then(|v| privacy.tool_input(&name, v)),
                    tool_name: Some(name),
                    tool_use_id: block.id.as_str().map(str::to_owned),
                    ..base.clone()
                });
            }
            _ => {}
        }
    }
    out
}

fn user_items(
    line: &RawLine<'_>,
    role: FileRole,
    template: ConversationItem,
    privacy: &dyn Privacy,
) -> Vec<ConversationItem> {
    if line.is_meta.0 || line.is_compact_summary.0 {
        return Vec::new();
    }
    let Some(message) = line.api_message() else { return Vec::new() };
    let blocks = message.blocks();
    if blocks.iter().any(|b| b.kind() == "tool_result") {
        let several = blocks.len() > 1;
        return blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.kind() == "tool_result")
            .map(|(i, b)| tool_result(b, i, several, &template, privacy))
            .collect();
    }
    if line.prompt_source.as_str() == Some("system") {
        return Vec::new();
    }
    let text: String = blocks
        .iter()
        .filter_map(|b| if b.kind() == "text" { b.text.as_str() } else { None })
        .collect::<Vec<_>>()
        .join("\n");
    let kind = if tally::is_wrapper(&text) {
        let trimmed = text.trim_start();
        if trimmed.starts_with("<command-") || trimmed.starts_with("<local-command-") || trimmed.starts_with("<bash-") {
            ItemKind::Command
        } else {
            return Vec::new();
        }
    } else if line.is_sidechain.0 && role == FileRole::Main && template.agent_id.is_none() {
        return Vec::new();
    } else {
        ItemKind::Prompt
    };
    vec![ConversationItem { kind, text: Some(privacy.text(&text)), ..template }]
}

fn tool_result(
    block: &Block<'_>,
    index: usize,
    several: bool,
    template: &ConversationItem,
    privacy: &dyn Privacy,
) -> ConversationItem {
    let is_error = block.is_error.0;
    // Only an error's text is kept; otherwise its length is counted on the raw JSON.
    let (chars, text) = match block.content.filter(|_| !is_error).and_then(line::json_string_chars) {
        Some(chars) => (chars, None),
        None => {
            let text = block.content.map(result_text).unwrap_or_default();
            (text.chars().count() as u64, is_error.then(|| privacy.text(&text)))
        }
    };
    let tool_use_id = block.tool_use_id.as_str().map(str::to_owned);
    let id = match &tool_use_id {
        Some(t) => format!("{t}:result"),
        None if several => format!("{}#{index}", template.id),
        None => template.id.clone(),
    };
    ConversationItem {
        id,
        kind: ItemKind::ToolResult,
        outcome: Some(if is_error { Outcome::Error } else { Outcome::Ok }),
        result_chars: Some(chars),
        text,
        tool_use_id,
        ..template.clone()
    }
}

/// The text of a tool result's content (a string, or the text of its blocks).
fn result_text(raw: &[u8]) -> String {
    line::content_blocks(raw).iter().filter_map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n")
}
