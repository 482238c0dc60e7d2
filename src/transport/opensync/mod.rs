//! OpenSync's HTTP actions: `POST <site>/sync/session` and `POST <site>/sync/message` with
//! `Authorization: Bearer osk_…` — what opensync.dev and self-hosted forks run (they have no
//! `recordEvent`). The contract and its quirks: docs/backend-protocols.md, part 2; the mapping:
//! docs/opensync.md.
//!
//! Events become calls like this:
//! - a `message` event (a transcript item) → one `/sync/message`, after the session has been
//!   written once by this process (a message auto-creates a missing session with the arrival
//!   time as `createdAt`, and `createdAt` is only taken on insert);
//! - every other event (hooks, summaries) → the session's complete current state, computed from
//!   the outbox by the drain loop ([`SessionFacts`]), as one `/sync/session`; when that state is what this process
//!   already sent, the event is acknowledged without a call. Hook events have no message of their
//!   own: the conversation comes from the transcript, with original times and stable ids, and
//!   sending hook copies too would show every prompt and tool call twice.
//!
//! Quirks handled: the session no-op window (a write that changes none of title, model,
//! projectPath, tokens within 10 s of the previous write is dropped, cost and duration with it)
//! — the final update of an ended session waits the window out when it could be dropped;
//! message re-sends carry full parts (a later re-send replaces them all); 401 parks everything
//! and stops delivery, 400 parks the event, 5xx is retried with backoff — except a 500 whose
//! text is a validation error (OpenSync answers those with 500 too): that event is parked so it
//! cannot block the queue; `/sync/batch` is never used (its update path drops parts).

mod mapping;

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;

use super::{BatchSessions, CheckReport, EventOutcome, HttpReply, SendError, Transport};
use crate::config::ApiKey;
use crate::store::{OutboxEvent, SessionFacts};
use crate::time;

/// One call per event: keep batches modest so progress is recorded often.
const MAX_BATCH: usize = 50;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// OpenSync's session no-op window (overridable so tests need not wait 10 s).
const SESSION_WINDOW: Duration = Duration::from_secs(10);
/// Added to the window: our record of a write is taken after the reply, so it is already later
/// than the server's; this covers timer granularity.
const WINDOW_MARGIN: Duration = Duration::from_millis(250);
/// OpenSync answers argument validation failures (wrong type, `null`, an extra key in a part)
/// and unparsable bodies with 500 too; these texts say the event itself is at fault, so a
/// retry cannot help and it is parked instead of blocking the queue behind it.
const REJECTION_MARKERS: &[&str] = &["ArgumentValidationError", "does not match validator", "SyntaxError"];

pub struct OpenSync {
    http: Client,
    site: String,
    api_key: Option<ApiKey>,
    /// Per session: the last body this process sent to /sync/session.
    sent: HashMap<String, Value>,
    /// Per session: when this process last wrote to it (ms epoch, taken after the reply).
    last_write: HashMap<String, i64>,
    session_window: Duration,
}

/// Why one call failed: this event only, or everything.
enum Failure {
    Event(String),
    All(SendError),
}

impl From<SendError> for Failure {
    fn from(e: SendError) -> Failure {
        Failure::All(e)
    }
}

/// The HTTP-actions base for a configured URL: a `.convex.cloud` URL becomes its `.convex.site`
/// twin; a `.convex.site` URL, a custom domain or a loopback URL is used as given.
pub fn site_url(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(mut parsed) => {
            if let Some(host) = parsed.host_str().map(str::to_string)
                && let Some(name) = host.strip_suffix(".convex.cloud")
            {
                let _ = parsed.set_host(Some(&format!("{name}.convex.site")));
            }
            parsed.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => trimmed.to_string(),
    }
}

impl OpenSync {
    pub fn new(url: &str, api_key: Option<ApiKey>) -> OpenSync {
        let timeout = super::request_timeout();
        let http = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("claude-code-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        OpenSync {
            http,
            site: site_url(url),
            api_key,
            sent: HashMap::new(),
            last_write: HashMap::new(),
            session_window: super::env_ms("CLAUDE_SYNC_OPENSYNC_WINDOW_MS").unwrap_or(SESSION_WINDOW),
        }
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.api_key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    /// Error texts may echo what was sent: never let the key through.
    fn scrub(&self, text: &str) -> String {
        super::scrub(text, self.api_key.as_ref())
    }

    fn post(&mut self, path: &str, body: &Value, session_id: &str) -> Result<(), Failure> {
        let request = self.authorized(self.http.post(format!("{}{path}", self.site))).json(body);
        let HttpReply { status, retry_after, body: reply } = super::execute(request, self.api_key.as_ref())?;
        let error = reply.as_ref().and_then(|r| r["error"].as_str()).map(|e| self.scrub(e)).unwrap_or_default();
        let what = format!(
            "OpenSync {path}: HTTP {}{}",
            status.as_u16(),
            if error.is_empty() { String::new() } else { format!(" {error}") }
        );

        if status == StatusCode::OK {
            if reply.as_ref().is_some_and(|r| r["ok"] == Value::Bool(true)) {
                self.last_write.insert(session_id.to_string(), time::now_ms());
                return Ok(());
            }
            return Err(Failure::All(SendError::Misconfigured(format!(
                "{} answered {path} without {{\"ok\": true}}: not an OpenSync deployment? (use its .convex.site URL)",
                self.site
            ))));
        }
        Err(match status.as_u16() {
            401 | 403 => Failure::All(SendError::Unauthorized(format!(
                "{what} — OpenSync refused the API key; create an osk_ key in the dashboard's settings and run `claude-code-sync login`"
            ))),
            400 => Failure::Event(what),
            404 | 405 => Failure::All(SendError::Misconfigured(format!(
                "{what} — no OpenSync HTTP actions at {}: use the deployment's .convex.site URL (self-hosted: the HTTP actions port, usually 3211)",
                self.site
            ))),
            500 if REJECTION_MARKERS.iter().any(|m| error.contains(m)) => Failure::Event(what),
            408 | 425 | 429 | 500..=599 => Failure::All(SendError::Transient { message: what, retry_after }),
            _ => Failure::Event(what),
        })
    }

    fn send_session(&mut self, event: &OutboxEvent, facts: &SessionFacts) -> Result<EventOutcome, Failure> {
        let session = &event.session_id;
        let body = mapping::session_body(session, facts);
        let previous = self.sent.get(session);
        if previous == Some(&body) {
            return Ok(EventOutcome::Duplicate);
        }
        // Will this write land? Certainly when a window field changed since our last write;
        // otherwise it may be dropped if it comes within the window of the previous write.
        // That matters for the final figures only: a live session's next update repairs it.
        let lands = previous.is_some_and(|prev| mapping::WINDOW_FIELDS.iter().any(|k| prev.get(*k) != body.get(*k)));
        if !lands && facts.ended {
            if event.seq < facts.last_session_seq {
                // The session's last event sends this same final state (facts are cumulative).
                return Ok(EventOutcome::Duplicate);
            }
            let last_write = self.last_write.get(session).copied().max(facts.last_delivered_at);
            if let Some(last) = last_write {
                let since = Duration::from_millis((time::now_ms() - last).max(0) as u64);
                if since < self.session_window {
                    std::thread::sleep(self.session_window - since + WINDOW_MARGIN);
                }
            }
        }
        self.post("/sync/session", &body, session)?;
        self.sent.insert(session.clone(), body);
        Ok(EventOutcome::Recorded)
    }

    fn send_message(&mut self, event: &OutboxEvent, facts: &SessionFacts) -> Result<EventOutcome, Failure> {
        let Some(body) = mapping::message_body(event) else {
            return Ok(EventOutcome::Duplicate);
        };
        if !self.sent.contains_key(&event.session_id) {
            let body = mapping::session_body(&event.session_id, facts);
            match self.post("/sync/session", &body, &event.session_id) {
                // A session write refused for its content must not hold the message back: the
                // message auto-creates the session, and the session's own event is parked.
                Ok(()) | Err(Failure::Event(_)) => {}
                Err(all) => return Err(all),
            }
            self.sent.insert(event.session_id.clone(), body);
        }
        self.post("/sync/message", &body, &event.session_id)?;
        Ok(EventOutcome::Recorded)
    }
}

impl Transport for OpenSync {
    fn send(&mut self, events: &[OutboxEvent], sessions: &BatchSessions) -> Result<Vec<EventOutcome>, SendError> {
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            // `needs_session_facts` asks the caller for every session of the batch.
            let facts = sessions.get(&event.session_id).expect("the facts of every session of the batch");
            let result = if event.event_type == "message" {
                self.send_message(event, facts)
            } else {
                self.send_session(event, facts)
            };
            match result {
                Ok(outcome) => outcomes.push(outcome),
                Err(Failure::Event(reason)) => outcomes.push(EventOutcome::Rejected(reason)),
                // Keep what was acknowledged; the rest stays pending for the next try.
                Err(Failure::All(_)) if !outcomes.is_empty() => break,
                Err(Failure::All(e)) => return Err(e),
            }
        }
        Ok(outcomes)
    }

    /// `GET /sync/sessions/list` with the key: it exercises the key (`/health` checks nothing).
    fn check(&self) -> CheckReport {
        let request = self.authorized(self.http.get(format!("{}/sync/sessions/list", self.site)));
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => {
                return CheckReport {
                    reachable: false,
                    key_accepted: None,
                    summary: format!(
                        "connection to OpenSync at {} failed: {}",
                        self.site,
                        self.scrub(&super::describe_reqwest(&e))
                    ),
                };
            }
        };
        let status = response.status().as_u16();
        let reply: Option<Value> = response.text().ok().and_then(|t| serde_json::from_str(&t).ok());
        let error = reply.as_ref().and_then(|r| r["error"].as_str()).map(|e| self.scrub(e)).unwrap_or_default();
        let key_hint = match &self.api_key {
            None => " — no API key is configured (OpenSync needs an osk_ key)",
            Some(k) if !k.expose().starts_with("osk_") => " — OpenSync keys start with osk_",
            Some(_) => "",
        };
        let (key_accepted, summary) = match (status, reply.as_ref().and_then(|r| r["sessionIds"].as_array())) {
            (200, Some(ids)) => (
                Some(true),
                format!(
                    "connected to OpenSync at {}; the API key is accepted ({} session(s) on the dashboard)",
                    self.site,
                    ids.len()
                ),
            ),
            (401 | 403, _) => (
                Some(false),
                format!("connected to OpenSync at {}, but it REJECTS the API key ({error}){key_hint}", self.site),
            ),
            (404 | 405, _) => (
                None,
                format!(
                    "reachable, but {} has no OpenSync /sync endpoints (HTTP {status}): use the deployment's .convex.site URL",
                    self.site
                ),
            ),
            _ => (
                None,
                format!("reachable, but OpenSync's key check answered HTTP {status} {error}").trim_end().to_string(),
            ),
        };
        CheckReport { reachable: true, key_accepted, summary }
    }

    fn needs_session_facts(&self) -> bool {
        true
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn max_batch_bytes(&self) -> usize {
        MAX_BATCH_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_urls_accept_every_form_users_paste() {
        assert_eq!(site_url("https://happy-cat-123.convex.cloud"), "https://happy-cat-123.convex.site");
        assert_eq!(site_url("https://happy-cat-123.convex.cloud/"), "https://happy-cat-123.convex.site");
        assert_eq!(site_url(" https://happy-cat-123.convex.site// "), "https://happy-cat-123.convex.site");
        assert_eq!(site_url("https://sync.example.com/opensync/"), "https://sync.example.com/opensync");
        assert_eq!(site_url("http://127.0.0.1:3211"), "http://127.0.0.1:3211");
        // Only the host's suffix is rewritten.
        assert_eq!(site_url("https://convex.cloud.example.com"), "https://convex.cloud.example.com");
    }
}
