//! Which backend protocol to speak: the `protocol` setting, or with `auto` a decision from what
//! the user configured, asking the deployment only when that is not enough. `status` prints the
//! choice and the reason.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{ApiKey, Protocol, Setting};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `RecordEvent` or `OpenSync`, never `Auto`.
    pub protocol: Protocol,
    pub reason: String,
}

pub fn choose(url: &str, key: Option<&ApiKey>, setting: &Setting<Protocol>) -> Choice {
    match setting.value {
        Protocol::Auto => from_config(url, key).unwrap_or_else(|| probe(url)),
        chosen => Choice { protocol: chosen, reason: format!("set in {}", setting.source) },
    }
}

/// The decision when the URL or the key settles it:
/// - a `.convex.site` host serves HTTP actions only, so it can only be OpenSync;
/// - an `osk_` key is OpenSync's key format (OpenSync accepts no other);
/// - a `.convex.cloud` host without an `osk_` key cannot be OpenSync: record-event.
///
/// A custom domain or a loopback URL without an `osk_` key is left to the deployment.
pub fn from_config(url: &str, key: Option<&ApiKey>) -> Option<Choice> {
    let host = reqwest::Url::parse(url).ok()?.host_str()?.to_ascii_lowercase();
    let choice = |protocol, reason: &str| Some(Choice { protocol, reason: format!("auto: {reason}") });
    if host.ends_with(".convex.site") {
        return choice(Protocol::OpenSync, "the URL is a .convex.site (HTTP actions) host");
    }
    if key.is_some_and(|k| k.expose().starts_with("osk_")) {
        return choice(Protocol::OpenSync, "the API key is an OpenSync key (osk_…)");
    }
    if host.ends_with(".convex.cloud") {
        return choice(Protocol::RecordEvent, "a .convex.cloud URL without an OpenSync (osk_) key");
    }
    None
}

/// Asks the deployment which protocol it serves: Convex's function API answers `/api/query`
/// with its `{"status": …}` envelope; OpenSync answers `/sync/sessions/list` with JSON
/// (`sessionIds`, or an `error` when no key is sent).
fn probe(url: &str) -> Choice {
    let timeout = super::request_timeout().min(Duration::from_secs(5));
    let Ok(http) = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("claude-code-sync/", env!("CARGO_PKG_VERSION")))
        .build()
    else {
        return fallback("could not build an HTTP client");
    };
    let convex = http
        .post(format!("{url}/api/query"))
        .header("Convex-Client", concat!("claude-code-sync-", env!("CARGO_PKG_VERSION")))
        .json(&json!({ "path": "sync:healthCheck", "args": {}, "format": "json" }))
        .send()
        .ok()
        .and_then(|r| r.json::<Value>().ok());
    if convex.is_some_and(|v| v.get("status").is_some()) {
        return Choice {
            protocol: Protocol::RecordEvent,
            reason: "auto: the deployment answers Convex's function API (asked /api/query)".into(),
        };
    }
    let site = super::opensync::site_url(url);
    let opensync = http.get(format!("{site}/sync/sessions/list")).send().ok().and_then(|r| r.json::<Value>().ok());
    if opensync.is_some_and(|v| v.get("sessionIds").is_some() || v.get("error").is_some()) {
        return Choice {
            protocol: Protocol::OpenSync,
            reason: "auto: the deployment answers OpenSync's /sync/sessions/list".into(),
        };
    }
    fallback("the deployment did not answer either protocol's probe")
}

fn fallback(why: &str) -> Choice {
    Choice { protocol: Protocol::RecordEvent, reason: format!("auto: {why}; trying record-event") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn key(k: &str) -> Option<ApiKey> {
        ApiKey::new(k)
    }

    #[test]
    fn the_url_or_the_key_settles_most_configurations() {
        let site = from_config("https://happy-cat-1.convex.site", None).unwrap();
        assert_eq!(site.protocol, Protocol::OpenSync);
        assert!(site.reason.contains(".convex.site"), "{}", site.reason);

        let osk = from_config("https://happy-cat-1.convex.cloud", key("osk_0123456789abcdef").as_ref()).unwrap();
        assert_eq!(osk.protocol, Protocol::OpenSync);
        assert!(osk.reason.contains("osk_"), "{}", osk.reason);
        let custom = from_config("https://sync.example.com", key("osk_0123456789abcdef").as_ref()).unwrap();
        assert_eq!(custom.protocol, Protocol::OpenSync);

        for k in [None, key("my-deployment-key")] {
            let cloud = from_config("https://happy-cat-1.convex.cloud", k.as_ref()).unwrap();
            assert_eq!(cloud.protocol, Protocol::RecordEvent);
        }
        // Loopback and custom domains without an osk_ key: only the deployment can tell.
        assert_eq!(from_config("http://127.0.0.1:3210", None), None);
        assert_eq!(from_config("https://sync.example.com", key("plain").as_ref()), None);
    }

    #[test]
    fn an_explicit_setting_wins_and_says_where_it_was_set() {
        let setting = Setting { value: Protocol::RecordEvent, source: Source::Env("CLAUDE_SYNC_PROTOCOL") };
        let c = choose("https://x.convex.site", key("osk_0123456789abcdef").as_ref(), &setting);
        assert_eq!(c, Choice { protocol: Protocol::RecordEvent, reason: "set in env CLAUDE_SYNC_PROTOCOL".into() });
    }
}
