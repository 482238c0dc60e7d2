//! Transports turn queued events into backend calls. One trait, so the uploader does not care
//! whether events go to `sync:recordEvent` or to OpenSync's HTTP actions.

mod choice;
mod convex;
mod opensync;

use std::time::Duration;

pub use choice::Choice;
pub use convex::RecordEvent;
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
