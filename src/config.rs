//! Configuration: environment > `~/.claude-code-sync.json` (the seed's file) > the older Node
//! plugin's `~/.config/claude-code-sync/config.json` (camelCase) > defaults.
//!
//! Loading never fails: a broken file or a bad value becomes a `problem` that `status` shows,
//! and the setting falls through to the next layer. Hooks must keep recording locally whatever
//! the user wrote into their config.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::paths;
use crate::redact::UserPattern;

/// Points the seed's config file elsewhere (tests, several profiles).
pub const CONFIG_FILE_ENV: &str = "CLAUDE_SYNC_CONFIG";

/// Where a setting's value came from; `status` prints it beside the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env(&'static str),
    File(PathBuf),
    LegacyFile(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(name) => write!(f, "env {name}"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::LegacyFile(p) => write!(f, "{} (legacy Node plugin config)", p.display()),
            Source::Default => write!(f, "default"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// The API key. Its `Debug` and `Display` never show it: only `expose` does, for the request body.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: &str) -> Option<ApiKey> {
        let key = key.trim();
        (!key.is_empty()).then(|| ApiKey(key.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// `osk_…1a2b`-style mask: enough to tell two keys apart, not enough to use one.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 12 {
            return "****".to_string();
        }
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.masked())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of the Convex deployment, validated, without a trailing slash.
    pub convex_url: Option<Setting<String>>,
    pub api_key: Option<Setting<ApiKey>>,
    /// Which backend protocol to speak; `auto` decides from the URL and key (see
    /// `transport::choose`).
    pub protocol: Setting<Protocol>,
    pub auto_sync: Setting<bool>,
    pub sync_tool_calls: Setting<bool>,
    pub sync_thinking: Setting<bool>,
    /// Tool output text (redacted, truncated) instead of only its outcome and lengths.
    pub sync_tool_output: Setting<bool>,
    pub max_prompt_chars: Setting<usize>,
    /// Limit for every other free text: tool input strings, output, errors, assistant text.
    pub max_text_chars: Setting<usize>,
    pub redact_patterns: Vec<UserPattern>,
    pub redact_allowlist: Vec<String>,
    /// Delivered events are pruned from the local store after this many days.
    pub retention_days: Setting<usize>,
    /// Everything wrong with the configuration, in words a user can act on.
    pub problems: Vec<String>,
}

/// One layer of raw settings, keyed by the seed's snake_case names.
struct Layer {
    values: Map<String, Value>,
    source: Source,
}

/// Environment variables per setting, first match wins. The seed's names first, then the older
/// Node plugin's.
const ENV_NAMES: &[(&str, &[&str])] = &[
    ("convex_url", &["CLAUDE_SYNC_CONVEX_URL"]),
    ("api_key", &["CLAUDE_SYNC_API_KEY"]),
    ("protocol", &["CLAUDE_SYNC_PROTOCOL"]),
    ("auto_sync", &["CLAUDE_SYNC_AUTO", "CLAUDE_SYNC_AUTO_SYNC"]),
    ("sync_tool_calls", &["CLAUDE_SYNC_TOOL_CALLS"]),
    ("sync_thinking", &["CLAUDE_SYNC_THINKING"]),
    ("sync_tool_output", &["CLAUDE_SYNC_TOOL_OUTPUT"]),
    ("max_prompt_chars", &["CLAUDE_SYNC_MAX_PROMPT_CHARS"]),
    ("max_text_chars", &["CLAUDE_SYNC_MAX_TEXT_CHARS"]),
    ("retention_days", &["CLAUDE_SYNC_RETENTION_DAYS"]),
];

/// The older Node plugin's camelCase keys.
const LEGACY_KEYS: &[(&str, &str)] = &[
    ("convexUrl", "convex_url"),
    ("apiKey", "api_key"),
    ("autoSync", "auto_sync"),
    ("syncToolCalls", "sync_tool_calls"),
    ("syncThinking", "sync_thinking"),
];

const KNOWN_KEYS: &[&str] = &[
    "convex_url",
    "api_key",
    "protocol",
    "auto_sync",
    "sync_tool_calls",
    "sync_thinking",
    "sync_tool_output",
    "max_prompt_chars",
    "max_text_chars",
    "redact_patterns",
    "redact_allowlist",
    "retention_days",
    // Read by the plugin's launcher, not here: where it downloads the binary from
    // (plugin/libexec/fetch-binary.sh).
    "download_url",
];

pub const DEFAULT_MAX_PROMPT_CHARS: usize = 2000;
pub const DEFAULT_MAX_TEXT_CHARS: usize = 1000;
pub const DEFAULT_RETENTION_DAYS: usize = 30;

/// The seed's config file: `$CLAUDE_SYNC_CONFIG` or `~/.claude-code-sync.json`.
pub fn config_file_path() -> PathBuf {
    match std::env::var_os(CONFIG_FILE_ENV).filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => paths::home_dir().join(".claude-code-sync.json"),
    }
}

/// The older Node plugin's file.
pub fn legacy_config_path() -> PathBuf {
    dirs::config_dir().unwrap_or_else(|| paths::home_dir().join(".config")).join("claude-code-sync/config.json")
}

impl Config {
    /// Loads from the real environment and files.
    pub fn load() -> Config {
        let env = |name: &str| std::env::var(name).ok();
        Config::load_from(&env, &config_file_path(), &legacy_config_path())
    }

    /// Loads with an injected environment, so precedence is testable without touching the
    /// process environment.
    pub fn load_from(env: &dyn Fn(&str) -> Option<String>, file: &Path, legacy: &Path) -> Config {
        let mut problems = Vec::new();
        let mut layers = env_layers(env);
        if let Some(values) = read_json_object(file, &mut problems) {
            for key in values.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
                problems.push(format!("{}: unknown setting \"{key}\" ignored", file.display()));
            }
            layers.push(Layer { values, source: Source::File(file.to_path_buf()) });
        }
        if let Some(raw) = read_json_object(legacy, &mut problems) {
            let values = LEGACY_KEYS
                .iter()
                .filter_map(|(camel, snake)| raw.get(*camel).map(|v| (snake.to_string(), v.clone())))
                .collect();
            layers.push(Layer { values, source: Source::LegacyFile(legacy.to_path_buf()) });
        }

        let mut resolve = Resolver { layers: &layers, problems: &mut problems };
        let convex_url = resolve.get("convex_url", parse_url);
        let api_key = resolve.get("api_key", |v| {
            let s = v.as_str().ok_or("must be a string")?;
            ApiKey::new(s).ok_or("is empty").map(Some)
        });
        let protocol = resolve
            .get("protocol", parse_protocol)
            .unwrap_or(Setting { value: Protocol::Auto, source: Source::Default });
        let auto_sync = resolve.flag("auto_sync", true);
        let sync_tool_calls = resolve.flag("sync_tool_calls", true);
        let sync_thinking = resolve.flag("sync_thinking", false);
        let sync_tool_output = resolve.flag("sync_tool_output", false);
        let max_prompt_chars = resolve.count("max_prompt_chars", DEFAULT_MAX_PROMPT_CHARS);
        let max_text_chars = resolve.count("max_text_chars", DEFAULT_MAX_TEXT_CHARS);
        let retention_days = resolve.count("retention_days", DEFAULT_RETENTION_DAYS);
        let redact_patterns = resolve.get("redact_patterns", parse_patterns).map(|s| s.value).unwrap_or_default();
        let redact_allowlist = resolve.get("redact_allowlist", parse_allowlist).map(|s| s.value).unwrap_or_default();

        Config {
            convex_url,
            api_key,
            protocol,
            auto_sync,
            sync_tool_calls,
            sync_thinking,
            sync_tool_output,
            max_prompt_chars,
            max_text_chars,
            redact_patterns,
            redact_allowlist,
            retention_days,
            problems,
        }
    }

    /// A backend is configured and usable.
    pub fn backend_url(&self) -> Option<&str> {
        self.convex_url.as_ref().map(|s| s.value.as_str())
    }

    pub fn api_key(&self) -> Option<&ApiKey> {
        self.api_key.as_ref().map(|s| &s.value)
    }

    /// A short fingerprint of what decides where events go and whether they are accepted.
    /// When it changes, events the backend rejected get another chance (the fix may be this
    /// change). FNV-1a: stable across builds, and it does not reveal the key.
    pub fn delivery_fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let url = self.backend_url().unwrap_or("");
        let key = self.api_key().map(ApiKey::expose).unwrap_or("");
        // The protocol joins the hash only when set, so fingerprints from before the setting
        // existed stay the same.
        let protocol = match self.protocol.value {
            Protocol::Auto => String::new(),
            p => format!("\0{p}"),
        };
        for byte in url.bytes().chain([0]).chain(key.bytes()).chain(protocol.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

struct Resolver<'a> {
    layers: &'a [Layer],
    problems: &'a mut Vec<String>,
}

impl Resolver<'_> {
    /// The first layer holding `key` with a valid value. `parse` answers `Ok(None)` for a value
    /// that means "not set" (e.g. an empty string), which falls through without a complaint.
    fn get<T>(&mut self, key: &str, parse: impl Fn(&Value) -> Result<Option<T>, &'static str>) -> Option<Setting<T>> {
        for layer in self.layers {
            let Some(raw) = layer.values.get(key) else { continue };
            match parse(raw) {
                Ok(Some(value)) => return Some(Setting { value, source: layer.source.clone() }),
                Ok(None) => {}
                Err(why) => self.problems.push(format!("{key} from {}: {why}", layer.source)),
            }
        }
        None
    }

    fn flag(&mut self, key: &str, default: bool) -> Setting<bool> {
        self.get(key, parse_bool).unwrap_or(Setting { value: default, source: Source::Default })
    }

    fn count(&mut self, key: &str, default: usize) -> Setting<usize> {
        self.get(key, parse_count).unwrap_or(Setting { value: default, source: Source::Default })
    }
}

/// One layer per environment variable that is set, so `status` names the variable.
fn env_layers(env: &dyn Fn(&str) -> Option<String>) -> Vec<Layer> {
    ENV_NAMES
        .iter()
        .filter_map(|(key, names)| {
            let (name, value) = names.iter().find_map(|n| env(n).map(|v| (*n, v)))?;
            let values = Map::from_iter([(key.to_string(), Value::String(value))]);
            Some(Layer { values, source: Source::Env(name) })
        })
        .collect()
}

fn read_json_object(path: &Path, problems: &mut Vec<String>) -> Option<Map<String, Value>> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            problems.push(format!("{}: cannot read: {e}", path.display()));
            return None;
        }
    };
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(map)) => Some(map),
        Ok(_) => {
            problems.push(format!("{}: must hold a JSON object; ignored", path.display()));
            None
        }
        Err(e) => {
            problems.push(format!("{}: not valid JSON ({e}); ignored", path.display()));
            None
        }
    }
}

/// The backend protocol setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Decide from the URL and key, asking the deployment when they are not enough.
    Auto,
    /// This project's `sync:recordEvent` functions (Convex HTTP function API on the .cloud host).
    RecordEvent,
    /// An OpenSync deployment's `/sync/*` HTTP actions (on the .site host, `osk_` key).
    OpenSync,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Auto => "auto",
            Protocol::RecordEvent => "record-event",
            Protocol::OpenSync => "opensync",
        })
    }
}

fn parse_protocol(v: &Value) -> Result<Option<Protocol>, &'static str> {
    const WHY: &str = "must be \"auto\", \"record-event\" or \"opensync\"";
    let s = v.as_str().ok_or(WHY)?.trim().to_ascii_lowercase();
    match s.as_str() {
        "" => Ok(None),
        "auto" => Ok(Some(Protocol::Auto)),
        "record-event" => Ok(Some(Protocol::RecordEvent)),
        "opensync" => Ok(Some(Protocol::OpenSync)),
        _ => Err(WHY),
    }
}

fn parse_bool(v: &Value) -> Result<Option<bool>, &'static str> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err("must be true or false"),
        },
        _ => Err("must be true or false"),
    }
}

fn parse_count(v: &Value) -> Result<Option<usize>, &'static str> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n > 0 => Ok(Some(n as usize)),
        _ => Err("must be a positive whole number"),
    }
}

/// Accepts `https://…`, and `http://` only for loopback: a key must never cross a network in
/// clear text. Returns the URL without a trailing slash.
pub fn parse_url(v: &Value) -> Result<Option<String>, &'static str> {
    let s = v.as_str().ok_or("must be a string")?.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let url = reqwest::Url::parse(s).map_err(|_| "is not a valid URL (expected https://<deployment>.convex.cloud)")?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("has no host"),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("uses plain http:// to a non-loopback host; use https://"),
        _ => return Err("must start with https://"),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    Ok(Some(url.as_str().trim_end_matches('/').to_string()))
}

fn parse_patterns(v: &Value) -> Result<Option<Vec<UserPattern>>, &'static str> {
    let items = v.as_array().ok_or("must be a list of {\"kind\": …, \"regex\": …}")?;
    items
        .iter()
        .map(|item| {
            let kind = item.get("kind").and_then(Value::as_str);
            let regex = item.get("regex").and_then(Value::as_str);
            match (kind, regex) {
                (Some(kind), Some(regex)) => Ok(UserPattern { kind: kind.to_string(), regex: regex.to_string() }),
                _ => Err("each entry needs a \"kind\" and a \"regex\" string"),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn parse_allowlist(v: &Value) -> Result<Option<Vec<String>>, &'static str> {
    let items = v.as_array().ok_or("must be a list of strings")?;
    items
        .iter()
        .map(|i| i.as_str().map(str::to_string).ok_or("must be a list of strings"))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(env: &[(&str, &str)], file: Option<&str>, legacy: Option<&str>) -> (Config, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let file_path = tmp.path().join("seed.json");
        let legacy_path = tmp.path().join("legacy.json");
        if let Some(text) = file {
            std::fs::write(&file_path, text).unwrap();
        }
        if let Some(text) = legacy {
            std::fs::write(&legacy_path, text).unwrap();
        }
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let config = Config::load_from(&|name| env.get(name).cloned(), &file_path, &legacy_path);
        (config, tmp)
    }

    #[test]
    fn env_beats_seed_file_beats_legacy_file_beats_defaults() {
        let (c, tmp) = load(
            &[("CLAUDE_SYNC_AUTO", "false")],
            Some(r#"{"convex_url": "https://a.convex.cloud/", "auto_sync": true, "sync_thinking": true}"#),
            Some(
                r#"{"convexUrl": "https://legacy.convex.cloud", "apiKey": "legacy-key-123456", "syncToolCalls": false}"#,
            ),
        );
        assert_eq!(c.backend_url(), Some("https://a.convex.cloud"));
        assert_eq!(c.convex_url.as_ref().unwrap().source, Source::File(tmp.path().join("seed.json")));
        assert!(!c.auto_sync.value);
        assert_eq!(c.auto_sync.source, Source::Env("CLAUDE_SYNC_AUTO"));
        assert!(c.sync_thinking.value);
        assert_eq!(c.api_key().unwrap().expose(), "legacy-key-123456");
        assert_eq!(c.api_key.as_ref().unwrap().source, Source::LegacyFile(tmp.path().join("legacy.json")));
        assert!(!c.sync_tool_calls.value);
        assert_eq!(c.max_prompt_chars.value, DEFAULT_MAX_PROMPT_CHARS);
        assert_eq!(c.max_prompt_chars.source, Source::Default);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    #[test]
    fn legacy_env_names_still_work_and_seed_names_win() {
        let (c, _t) = load(&[("CLAUDE_SYNC_AUTO_SYNC", "no")], None, None);
        assert!(!c.auto_sync.value);
        let (c, _t) = load(&[("CLAUDE_SYNC_AUTO_SYNC", "no"), ("CLAUDE_SYNC_AUTO", "yes")], None, None);
        assert!(c.auto_sync.value);
        assert_eq!(c.auto_sync.source, Source::Env("CLAUDE_SYNC_AUTO"));
    }

    #[test]
    fn broken_values_are_problems_and_fall_through() {
        let (c, _t) = load(
            &[("CLAUDE_SYNC_CONVEX_URL", "http://example.com"), ("CLAUDE_SYNC_THINKING", "maybe")],
            Some(r#"{"convex_url": "https://ok.convex.cloud", "max_prompt_chars": -3, "colour": "blue"}"#),
            Some("{ not json"),
        );
        assert_eq!(c.backend_url(), Some("https://ok.convex.cloud"), "the bad env URL falls through to the file");
        assert!(!c.sync_thinking.value);
        assert_eq!(c.max_prompt_chars.value, DEFAULT_MAX_PROMPT_CHARS);
        let all = c.problems.join("\n");
        for needle in [
            "plain http://",
            "must be true or false",
            "positive whole number",
            "unknown setting \"colour\"",
            "not valid JSON",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in {all}");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_and_loopback() {
        let ok = |s: &str| parse_url(&Value::String(s.into())).unwrap();
        assert_eq!(ok("https://x.convex.cloud/"), Some("https://x.convex.cloud".into()));
        assert_eq!(ok("http://127.0.0.1:3210"), Some("http://127.0.0.1:3210".into()));
        assert_eq!(ok("http://localhost:3210/"), Some("http://localhost:3210".into()));
        assert_eq!(ok("http://[::1]:3210"), Some("http://[::1]:3210".into()));
        assert_eq!(ok("  "), None);
        for bad in ["http://10.0.0.5:3210", "ftp://x.convex.cloud", "not a url", "https://x.convex.cloud/?a=1"] {
            assert!(parse_url(&Value::String(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_key_is_masked_everywhere_but_expose() {
        let key = ApiKey::new("  osk_abcdefghijklmnop1234 ").unwrap();
        assert_eq!(key.expose(), "osk_abcdefghijklmnop1234");
        assert_eq!(key.masked(), "osk_…1234");
        assert!(!format!("{key:?}").contains("abcdefghijklmnop"));
        assert_eq!(ApiKey::new("short").unwrap().masked(), "****");
        assert!(ApiKey::new("   ").is_none());
    }
}
