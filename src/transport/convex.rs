//! `sync:recordEvent` / `sync:recordEvents` over Convex's HTTP function API.
//!
//! POST <url>/api/mutation {"path", "args", "format": "json"}. Replies come in two envelopes:
//! 200 (or 560) with `{"status": "success" | "error", ...}` for function results and function
//! errors, and other statuses with `{"code", "message"}` for platform errors. The API key is a
//! function argument (a bearer header would be read as a user JWT and refused).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::{CheckReport, EventOutcome, HttpReply, SendError, Transport};
use crate::config::ApiKey;
use crate::store::OutboxEvent;

/// Events per `recordEvents` call, and a byte budget per request (Convex takes bodies up to
/// 16 MiB and limits what one mutation may write; stay far below both).
const MAX_BATCH: usize = 100;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

pub struct RecordEvent {
    http: Client,
    url: String,
    api_key: Option<ApiKey>,
    /// Whether the deployment has `sync:recordEvents`; unknown until it first answers.
    batch_supported: Option<bool>,
}

/// What `sync:healthCheck` told about the deployment (`status` shows it).
pub struct Health {
    pub check: CheckReport,
    /// Whether the deployment has a key set; `Some(false)` means anyone with the URL can write.
    pub key_configured: Option<bool>,
    /// The deployment's contract version; `Some(1)` for a deployment that predates versions.
    pub contract_version: Option<u64>,
    /// The event types the deployment understands (empty when it does not say).
    pub event_types: Vec<String>,
}

/// One function call's result.
enum Reply {
    Value(Value),
    FunctionError { message: String, data: Option<Value> },
}

impl RecordEvent {
    /// The wire contract this client speaks (docs/backend-protocols.md): the fields and event
    /// types it sends. `status` shows it beside the deployment's (`healthCheck`'s
    /// `contractVersion`).
    pub const CONTRACT_VERSION: u64 = 2;

    /// What `status` and `login` say about a deployment without a key.
    pub const OPEN_DEPLOYMENT_WARNING: &str = "the deployment has no CLAUDE_SYNC_API_KEY: anyone with its URL can \
         write sessions to it, and it serves no reads until a key is set. Run `claude-code-sync login --generate-key`.";

    pub fn new(url: &str, api_key: Option<ApiKey>) -> RecordEvent {
        let timeout = super::request_timeout();
        let http = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("claude-code-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        RecordEvent { http, url: url.trim_end_matches('/').to_string(), api_key, batch_supported: None }
    }

    fn args_for(&self, e: &OutboxEvent) -> Value {
        let payload: Value = serde_json::from_str(&e.payload).unwrap_or_else(|_| json!({}));
        json!({
            "sessionId": e.session_id,
            "eventId": e.event_id,
            "eventType": e.event_type,
            "timestamp": e.timestamp,
            "source": "claude-code",
            "payload": payload,
        })
    }

    fn with_key(&self, mut args: Value) -> Value {
        if let (Some(key), Value::Object(map)) = (&self.api_key, &mut args) {
            map.insert("apiKey".into(), key.expose().into());
        }
        args
    }

    /// Calls a public query with the key added to its arguments: its value, or a message that
    /// never contains the key (the dashboard's remote view).
    pub fn query(&self, path: &str, args: Value) -> Result<Value, String> {
        match self.call("query", path, self.with_key(args)) {
            Ok(Reply::Value(v)) => Ok(v),
            Ok(Reply::FunctionError { message, .. }) => Err(message),
            Err(e) => Err(e.message().to_owned()),
        }
    }

    /// Calls a public function. Errors are scrubbed of the key before they go anywhere.
    fn call(&self, kind: &str, path: &str, args: Value) -> Result<Reply, SendError> {
        let body = json!({ "path": path, "args": args, "format": "json" });
        let request = self
            .http
            .post(format!("{}/api/{kind}", self.url))
            .header("Convex-Client", concat!("claude-code-sync-", env!("CARGO_PKG_VERSION")))
            .json(&body);
        let HttpReply { status, retry_after, body } = super::execute(request, self.api_key.as_ref())?;

        if (status == StatusCode::OK || status.as_u16() == 560)
            && let Some(body) = body.as_ref().filter(|b| b.get("status").is_some())
        {
            return match body["status"].as_str() {
                Some("success") => Ok(Reply::Value(body.get("value").cloned().unwrap_or(Value::Null))),
                _ => Ok(Reply::FunctionError {
                    message: self.scrub(body["errorMessage"].as_str().unwrap_or("function failed")),
                    // Its texts may end up in a parked event's reason, in the store.
                    data: body.get("errorData").map(|d| match self.api_key {
                        Some(_) => serde_json::from_str(&self.scrub(&d.to_string())).unwrap_or(Value::Null),
                        None => d.clone(),
                    }),
                }),
            };
        }
        let code = body.as_ref().and_then(|b| b["code"].as_str()).unwrap_or("");
        let message = body.as_ref().and_then(|b| b["message"].as_str()).unwrap_or("");
        let what = self.scrub(&format!("HTTP {status} {code} {message}").trim().replace("  ", " "));
        Err(match status.as_u16() {
            401 | 403 => SendError::Unauthorized(format!("{what} — the deployment refused the request")),
            404 => SendError::Misconfigured(format!("{what} — no Convex deployment answers at {}", self.url)),
            408 | 425 | 429 | 500..=599 => SendError::Transient { message: what, retry_after },
            _ if status.is_success() => SendError::Transient {
                message: format!("{what}: unexpected reply (not a Convex deployment?)"),
                retry_after: None,
            },
            _ => SendError::Misconfigured(what),
        })
    }

    /// Error texts may echo the arguments, and so the key: never let it through.
    fn scrub(&self, text: &str) -> String {
        super::scrub(text, self.api_key.as_ref())
    }

    fn send_one(&self, event: &OutboxEvent) -> Result<EventOutcome, SendError> {
        match self.call("mutation", "sync:recordEvent", self.with_key(self.args_for(event)))? {
            Reply::Value(v) => Ok(outcome_of(&v)),
            Reply::FunctionError { message, data } => function_error(message, data),
        }
    }

    fn send_batch(&mut self, events: &[OutboxEvent]) -> Result<Option<Vec<EventOutcome>>, SendError> {
        let list: Vec<Value> = events.iter().map(|e| self.args_for(e)).collect();
        let args = self.with_key(json!({ "events": list }));
        match self.call("mutation", "sync:recordEvents", args)? {
            Reply::Value(v) => {
                self.batch_supported = Some(true);
                let results = v["results"].as_array().cloned().unwrap_or_default();
                if results.len() != events.len() {
                    return Err(SendError::Transient {
                        message: format!("recordEvents answered {} results for {} events", results.len(), events.len()),
                        retry_after: None,
                    });
                }
                Ok(Some(results.iter().map(outcome_of).collect()))
            }
            Reply::FunctionError { message, .. } if is_missing_function(&message) => {
                self.batch_supported = Some(false);
                Ok(None)
            }
            Reply::FunctionError { data: Some(data), .. } if data["code"] == "INVALID_EVENTS" => {
                self.without_refused(events, &data)
            }
            Reply::FunctionError { message, data } => match function_error(message, data) {
                // One bad event fails the whole mutation: fall back to one by one to find it.
                Ok(EventOutcome::Rejected(_)) => Ok(None),
                Ok(other) => Ok(Some(vec![other; events.len()])),
                Err(e) => Err(e),
            },
        }
    }
}

impl RecordEvent {
    /// A batch the deployment refused whole because of some of its events (`INVALID_EVENTS`
    /// names them; nothing was written): those are rejected, the rest is sent again.
    fn without_refused(
        &mut self,
        events: &[OutboxEvent],
        data: &Value,
    ) -> Result<Option<Vec<EventOutcome>>, SendError> {
        let mut refused: Vec<Option<String>> = vec![None; events.len()];
        for r in data["rejected"].as_array().into_iter().flatten() {
            if let Some(slot) = r["index"].as_u64().and_then(|i| refused.get_mut(i as usize)) {
                let reason = r["reason"].as_str().unwrap_or("refused by the deployment");
                *slot = Some(format!("INVALID_EVENT: {}", self.scrub(reason)));
            }
        }
        if refused.iter().all(Option::is_none) {
            // Nothing usable named: one by one finds the culprits.
            return Ok(None);
        }
        let rest: Vec<OutboxEvent> =
            events.iter().zip(&refused).filter(|(_, r)| r.is_none()).map(|(e, _)| e.clone()).collect();
        let mut sent = if rest.is_empty() {
            Vec::new().into_iter()
        } else {
            match self.send_batch(&rest)? {
                Some(outcomes) => outcomes.into_iter(),
                None => return Ok(None),
            }
        };
        let mut outcomes = Vec::with_capacity(events.len());
        for reason in refused {
            match reason {
                Some(reason) => outcomes.push(EventOutcome::Rejected(reason)),
                None => outcomes.push(sent.next().unwrap_or(EventOutcome::Recorded)),
            }
        }
        Ok(Some(outcomes))
    }

    /// Asks `sync:healthCheck`: the connection test, plus what the deployment says of itself.
    pub fn health(&self) -> Health {
        let args = match &self.api_key {
            Some(key) => json!({ "apiKey": key.expose() }),
            None => json!({}),
        };
        let plain = |check| Health { check, key_configured: None, contract_version: None, event_types: Vec::new() };
        match self.call("query", "sync:healthCheck", args) {
            Ok(Reply::Value(v)) => {
                let configured = v["keyConfigured"].as_bool().or(v["keyRequired"].as_bool()).unwrap_or(false);
                let accepted = v["keyAccepted"].as_bool().unwrap_or(false);
                let summary = match (configured, accepted, self.api_key.is_some()) {
                    (true, true, true) => "connected; the API key is accepted",
                    (true, false, true) => "connected, but the deployment REJECTS the configured API key",
                    (true, _, false) => "connected, but the deployment requires an API key and none is configured",
                    (false, _, false) => "connected; the deployment has no API key set",
                    (false, _, true) => "connected; the deployment has no API key set (yours is sent anyway)",
                }
                .to_string();
                Health {
                    check: CheckReport { reachable: true, key_accepted: Some(accepted || !configured), summary },
                    key_configured: Some(configured),
                    // The first contract's healthCheck reported no version.
                    contract_version: Some(v["contractVersion"].as_u64().unwrap_or(1)),
                    event_types: v["eventTypes"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                }
            }
            Ok(Reply::FunctionError { message, .. }) if is_missing_function(&message) => plain(CheckReport {
                reachable: true,
                key_accepted: None,
                summary:
                    "reachable, but the deployment lacks sync:healthCheck — deploy this project's convex/ functions"
                        .to_string(),
            }),
            Ok(Reply::FunctionError { message, .. }) => plain(CheckReport {
                reachable: true,
                key_accepted: None,
                summary: format!("reachable, health check failed: {message}"),
            }),
            Err(e) => plain(CheckReport {
                reachable: false,
                key_accepted: None,
                summary: format!("connection failed: {}", e.message()),
            }),
        }
    }
}

impl Transport for RecordEvent {
    fn send(&mut self, events: &[OutboxEvent]) -> Result<Vec<EventOutcome>, SendError> {
        if events.len() > 1
            && self.batch_supported != Some(false)
            && let Some(outcomes) = self.send_batch(events)?
        {
            return Ok(outcomes);
        }
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            match self.send_one(event) {
                Ok(outcome) => outcomes.push(outcome),
                // Keep what was acknowledged; the rest stays pending for the next try.
                Err(_) if !outcomes.is_empty() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(outcomes)
    }

    fn check(&self) -> CheckReport {
        self.health().check
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn max_batch_bytes(&self) -> usize {
        MAX_BATCH_BYTES
    }
}

fn outcome_of(value: &Value) -> EventOutcome {
    match value["status"].as_str() {
        Some("duplicate") => EventOutcome::Duplicate,
        _ => EventOutcome::Recorded,
    }
}

/// A function error: a rejected key, a missing function, or a rejected event.
fn function_error(message: String, data: Option<Value>) -> Result<EventOutcome, SendError> {
    let code = data.as_ref().and_then(|d| d["code"].as_str().or(d.as_str())).unwrap_or("");
    if code == "UNAUTHORIZED" {
        return Err(SendError::Unauthorized("the backend rejected the API key (UNAUTHORIZED)".into()));
    }
    if is_missing_function(&message) {
        return Err(SendError::Misconfigured(
            "the deployment has no sync:recordEvent — deploy this project's convex/ functions".into(),
        ));
    }
    // A refusal the deployment explains (`INVALID_EVENT` and its reason) is the clearest cause
    // to park an event with; a real deployment's message starts with a request id.
    let explained = data
        .as_ref()
        .and_then(|d| d.get("reason").or(d.get("message"))?.as_str())
        .map(|why| if code.is_empty() { why.to_string() } else { format!("{code}: {why}") });
    Ok(EventOutcome::Rejected(explained.map(|m| first_line(&m)).unwrap_or_else(|| first_line(&message))))
}

fn is_missing_function(message: &str) -> bool {
    message.contains("Could not find public function") || message.contains("Could not find function")
}

fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    line.chars().take(500).collect()
}
