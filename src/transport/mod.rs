//! Transports turn queued events into backend calls. One trait, so the uploader does not care
//! whether events go to `sync:recordEvent` or to OpenSync's HTTP actions.

mod choice;
mod convex;
mod opensync;

use std::time::Duration;

pub use choice::Choice;
pub use convex::{Health, RecordEvent};
pub use opensync::OpenSync;

use crate::config::{ApiKey, Config, Protocol, Setting};
use crate::paths;
use crate::store::OutboxEvent;

/// What the backend said about one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Stored now.
    Recorded,
    /// Already stored by an earlier send (idempotent re-send).
    Duplicate,
    /// Refused for a reason a retry cannot fix (validation); park it with this reason.
    Rejected(String),
}

/// Why a whole send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Network trouble, timeouts, 5xx, 429: try again later (after `retry_after` if given).
    Transient { message: String, retry_after: Option<Duration> },
    /// The backend refused our credentials; nothing will work until the key is fixed.
    Unauthorized(String),
    /// The URL does not lead to a usable backend (not Convex, functions not deployed);
    /// nothing will work until the configuration or the deployment changes.
    Misconfigured(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Transient { message, .. } => message,
            SendError::Unauthorized(m) | SendError::Misconfigured(m) => m,
        }
    }
}

/// The answer to a connection test (`status`, `login`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub reachable: bool,
    pub key_accepted: Option<bool>,
    pub summary: String,
}

pub trait Transport {
    /// Sends `events` (in order) and answers per event, in the same order. The answer may
    /// cover only a prefix when the connection failed part way; the rest stays pending.
    fn send(&mut self, events: &[OutboxEvent]) -> Result<Vec<EventOutcome>, SendError>;

    /// A real round trip that exercises the key.
    fn check(&self) -> CheckReport;

    /// How many events one `send` should carry at most.
    fn max_batch(&self) -> usize;

    /// How many payload bytes one `send` should carry at most.
    fn max_batch_bytes(&self) -> usize;
}

/// Timeouts for one request; overridable for tests of slow and silent backends.
pub fn request_timeout() -> Duration {
    env_ms("CLAUDE_SYNC_HTTP_TIMEOUT_MS").unwrap_or(Duration::from_secs(15))
}

pub(crate) fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(name).ok()?.trim().parse().ok().map(Duration::from_millis)
}

/// A transport and why its protocol was chosen (`status` shows both).
pub struct Connection {
    pub transport: Box<dyn Transport>,
    pub choice: Choice,
}

/// The transport for the configured backend, if one is configured.
pub fn from_config(config: &Config) -> Option<Box<dyn Transport>> {
    connect(config).map(|c| c.transport)
}

pub fn connect(config: &Config) -> Option<Connection> {
    Some(connect_to(config.backend_url()?, config.api_key().cloned(), &config.protocol))
}

/// A transport for `url` and `key` (also for `login`, before anything is saved).
pub fn connect_to(url: &str, key: Option<ApiKey>, protocol: &Setting<Protocol>) -> Connection {
    let choice = choice::choose(url, key.as_ref(), protocol);
    let transport: Box<dyn Transport> = match choice.protocol {
        Protocol::OpenSync => Box::new(OpenSync::new(url, key, paths::data_dir())),
        _ => Box::new(RecordEvent::new(url, key)),
    };
    Connection { transport, choice }
}

/// A reply read whole: its status, `Retry-After` in seconds, and its body when it is JSON.
pub(crate) struct HttpReply {
    pub status: reqwest::StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Option<serde_json::Value>,
}

/// Sends `request` and reads the reply. Failing to send or to read is a passing failure; its
/// description is scrubbed of the key.
pub(crate) fn execute(
    request: reqwest::blocking::RequestBuilder,
    key: Option<&ApiKey>,
) -> Result<HttpReply, SendError> {
    let transient =
        |e: reqwest::Error| SendError::Transient { message: scrub(&describe_reqwest(&e), key), retry_after: None };
    let response = request.send().map_err(transient)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().map_err(transient)?;
    Ok(HttpReply { status, retry_after, body: serde_json::from_str(&text).ok() })
}

/// Error texts may echo a request, and so the key: never let it through.
pub(crate) fn scrub(text: &str, key: Option<&ApiKey>) -> String {
    match key {
        Some(key) => text.replace(key.expose(), "[REDACTED:api-key]"),
        None => text.to_string(),
    }
}

pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // Without the URL's query (there is none) the chain is safe to show; the key is in the body.
    let mut chain = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    format!("{kind}: {}", chain.join(": "))
}
