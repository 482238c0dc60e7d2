//! Per-model prices, for transcripts that carry no `cost-state` line of Claude Code's own.
//!
//! The table is compiled in (`prices.json`, from Claude Code 2.1.331's baked-in model catalog
//! and Anthropic's published prices) and can be extended or corrected without a rebuild by a
//! `prices.json` of the same shape in the data dir. The arithmetic is Claude Code's: cache
//! writes split into 1-hour and 5-minute parts, a long-prompt tier chosen per message from its
//! whole prompt size, fast-mode prices, ×1.1 for `inference_geo: "us"`, web searches per request.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

const BUNDLED: &str = include_str!("prices.json");

/// USD per million tokens for one model (web searches: USD per request).
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct ModelPrices {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_write_5m: Option<f64>,
    #[serde(default)]
    pub cache_write_1h: Option<f64>,
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub web_search: Option<f64>,
    #[serde(default)]
    pub long_prompt: Option<LongPrompt>,
    #[serde(default)]
    pub fast: Option<Rates>,
}

/// Prices that apply when a message's prompt (input + cache reads + cache writes) exceeds
/// `above_prompt_tokens`.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct LongPrompt {
    pub above_prompt_tokens: u64,
    #[serde(flatten)]
    pub rates: Rates,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Rates {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_write_5m: Option<f64>,
    #[serde(default)]
    pub cache_write_1h: Option<f64>,
    #[serde(default)]
    pub cache_read: Option<f64>,
}

/// The token figures of one priced request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Billable {
    pub input: u64,
    pub output: u64,
    /// All cache writes (the larger of the flat field and the 5m + 1h breakdown).
    pub cache_creation: u64,
    /// The part of `cache_creation` written with a 1-hour TTL.
    pub cache_creation_1h: u64,
    pub cache_read: u64,
    pub web_search_requests: u64,
    pub fast: bool,
    pub us_geo: bool,
}

impl ModelPrices {
    fn rates(&self) -> Rates {
        Rates {
            input: self.input,
            output: self.output,
            cache_write_5m: self.cache_write_5m,
            cache_write_1h: self.cache_write_1h,
            cache_read: self.cache_read,
        }
    }

    /// Cost of one request in USD.
    pub fn cost(&self, b: &Billable) -> f64 {
        let prompt = b.input + b.cache_read + b.cache_creation;
        let rates = match (&self.fast, &self.long_prompt) {
            (Some(fast), _) if b.fast => fast.clone(),
            (_, Some(long)) if prompt > long.above_prompt_tokens => long.rates.clone(),
            _ => self.rates(),
        };
        let write_5m = rates.cache_write_5m.unwrap_or(rates.input * 1.25);
        let write_1h = rates.cache_write_1h.unwrap_or(rates.input * 2.0);
        let read = rates.cache_read.unwrap_or(rates.input * 0.1);
        let one_hour = b.cache_creation_1h.min(b.cache_creation);
        let five_min = b.cache_creation - one_hour;
        let tokens = b.input as f64 * rates.input
            + b.output as f64 * rates.output
            + b.cache_read as f64 * read
            + five_min as f64 * write_5m
            + one_hour as f64 * write_1h;
        let geo = if b.us_geo { 1.1 } else { 1.0 };
        tokens / 1e6 * geo + b.web_search_requests as f64 * self.web_search.unwrap_or(0.01)
    }
}

#[derive(Deserialize)]
struct TableFile {
    #[serde(default)]
    models: HashMap<String, ModelPrices>,
    #[serde(default)]
    aliases: HashMap<String, String>,
}

/// Model id -> prices, with the aliases that normalisation alone cannot resolve.
#[derive(Debug, Clone)]
pub struct PriceTable {
    models: HashMap<String, ModelPrices>,
    aliases: HashMap<String, String>,
}

impl PriceTable {
    /// The compiled-in table.
    pub fn bundled() -> PriceTable {
        let file: TableFile = serde_json::from_str(BUNDLED).expect("bundled prices.json is valid");
        PriceTable { models: file.models, aliases: file.aliases }
    }

    /// The bundled table, extended by `override_file` when it exists. A file that cannot be read
    /// or parsed leaves the bundled table in force and is reported as a problem (not an error:
    /// a bad override must not stop a hook).
    pub fn load(override_file: Option<&Path>) -> (PriceTable, Option<String>) {
        let mut table = PriceTable::bundled();
        let Some(path) = override_file else { return (table, None) };
        match std::fs::read_to_string(path) {
            Ok(text) => match table.merge_json(&text) {
                Ok(()) => (table, None),
                Err(e) => (table, Some(format!("{}: {e}", path.display()))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (table, None),
            Err(e) => (table, Some(format!("{}: {e}", path.display()))),
        }
    }

    /// The bundled table extended by `prices.json` in the data dir, if there is one.
    pub fn for_data_dir(data_dir: &Path) -> (PriceTable, Option<String>) {
        PriceTable::load(Some(&data_dir.join("prices.json")))
    }

    /// Adds or replaces entries from a JSON document of the bundled shape.
    pub fn merge_json(&mut self, json: &str) -> Result<(), serde_json::Error> {
        let file: TableFile = serde_json::from_str(json)?;
        for (id, prices) in file.models {
            self.models.insert(normalize(&id), prices);
        }
        for (from, to) in file.aliases {
            self.aliases.insert(normalize(&from), normalize(&to));
        }
        Ok(())
    }

    /// Prices for a model id as it appears in transcripts: dated, provider-prefixed
    /// (`us.anthropic.…-v1:0`, `…@20250514`), with a `[1m]` suffix… all resolve to the base id.
    pub fn lookup(&self, model: &str) -> Option<&ModelPrices> {
        let id = normalize(model);
        self.models.get(&id).or_else(|| self.aliases.get(&id).and_then(|target| self.models.get(target)))
    }
}

/// Reduces a model id to its catalog form: lowercase, no context suffix, no gateway path, no
/// provider prefix, no version/date/`-latest` trailer.
pub fn normalize(model: &str) -> String {
    let mut id = model.trim().to_ascii_lowercase();
    for suffix in ["[1m]", "[2m]"] {
        if let Some(stripped) = id.strip_suffix(suffix) {
            id = stripped.to_owned();
        }
    }
    if let Some(slash) = id.rfind('/') {
        id = id[slash + 1..].to_owned();
    }
    if let Some(pos) = id.find("anthropic.claude-") {
        id = id[pos + "anthropic.".len()..].to_owned();
    }
    // Bedrock version trailer: -v1:0, -v2:0, -v1.
    if let Some(pos) = id.rfind("-v") {
        let tail = &id[pos + 2..];
        if !tail.is_empty() && tail.bytes().all(|c| c.is_ascii_digit() || c == b':') {
            id.truncate(pos);
        }
    }
    // Vertex date: @20250514 (possibly after -v2).
    if let Some(pos) = id.find('@') {
        id.truncate(pos);
        if let Some(pos) = id.rfind("-v")
            && id[pos + 2..].bytes().all(|c| c.is_ascii_digit())
            && pos + 2 < id.len()
        {
            id.truncate(pos);
        }
    }
    // First-party date: -20250514.
    if id.len() > 9 {
        let (head, tail) = id.split_at(id.len() - 9);
        if tail.starts_with('-') && tail[1..].bytes().all(|c| c.is_ascii_digit()) {
            id = head.to_owned();
        }
    }
    for suffix in ["-latest", "-fast"] {
        if let Some(stripped) = id.strip_suffix(suffix) {
            id = stripped.to_owned();
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2_1_331_defaults_and_current_models_are_priced() {
        let t = PriceTable::bundled();
        for id in [
            "claude-opus-5-5",
            "claude-sonnet-5-5",
            "claude-haiku-5-5",
            "claude-opus-4-5",
            "claude-sonnet-4-5",
            "claude-haiku-4-5",
        ] {
            assert!(t.lookup(id).is_some(), "{id}");
        }
        assert!(t.lookup("gpt-4o").is_none());
        assert!(t.lookup("<synthetic>").is_none());
    }

    #[test]
    fn provider_and_dated_ids_resolve_to_the_catalog_entry() {
        let t = PriceTable::bundled();
        let sonnet45 = t.lookup("claude-sonnet-4-5").unwrap();
        for id in [
            "claude-sonnet-4-5-20250929",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-5@20250929",
            "claude-sonnet-4-5[1m]",
            "gateway/route/claude-sonnet-4-5",
        ] {
            assert_eq!(t.lookup(id), Some(sonnet45), "{id}");
        }
        assert_eq!(t.lookup("claude-sonnet-4-20250514"), t.lookup("claude-sonnet-4-0"));
        assert_eq!(t.lookup("claude-opus-4@20250514"), t.lookup("claude-opus-4-0"));
        assert_eq!(t.lookup("claude-3-5-sonnet-v2@20241022"), t.lookup("claude-3-5-sonnet"));
        assert_eq!(normalize("claude-opus-4-1-20250805"), "claude-opus-4-1");
    }

    #[test]
    fn opus_5_5_reproduces_claude_codes_cost_state_of_the_samples() {
        // Sample multi-tools: cost-state totalCostUSD 0.034022 for these totals.
        let p = PriceTable::bundled().lookup("claude-opus-5-5").unwrap().clone();
        let b = Billable { input: 5035, output: 285, cache_creation: 1035, cache_read: 15035, ..Billable::default() };
        assert!((p.cost(&b) - 0.034022).abs() < 1e-12);
    }

    #[test]
    fn tiers_fast_mode_geo_and_one_hour_writes() {
        let p = PriceTable::bundled().lookup("claude-haiku-5-5").unwrap().clone();
        let small = Billable { input: 1_000_000, ..Billable::default() };
        assert!((p.cost(&small) - 0.5).abs() < 1e-9, "above 100k prompt tokens: long-prompt input price");
        let small = Billable { input: 100_000, ..Billable::default() };
        assert!((p.cost(&small) - 0.01).abs() < 1e-12);

        let opus = PriceTable::bundled().lookup("claude-opus-5-5").unwrap().clone();
        let fast = Billable { output: 1_000_000, fast: true, ..Billable::default() };
        assert!((opus.cost(&fast) - 40.0).abs() < 1e-9);
        let us = Billable { output: 1_000_000, us_geo: true, ..Billable::default() };
        assert!((opus.cost(&us) - 22.0).abs() < 1e-9);
        let writes = Billable { cache_creation: 3_000_000, cache_creation_1h: 1_000_000, ..Billable::default() };
        assert!((opus.cost(&writes) - (2.0 * 5.0 + 8.0)).abs() < 1e-9);
        let search = Billable { web_search_requests: 3, ..Billable::default() };
        assert!((opus.cost(&search) - 0.03).abs() < 1e-12);
    }

    #[test]
    fn an_override_file_adds_and_replaces_models() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.json");
        std::fs::write(
            &path,
            r#"{"models":{"claude-new-9":{"input":1,"output":2},"claude-opus-5-5":{"input":100,"output":200}}}"#,
        )
        .unwrap();
        let (t, problem) = PriceTable::load(Some(&path));
        assert_eq!(problem, None);
        let new = t.lookup("claude-new-9-20300101").unwrap();
        // Unset cache prices follow Claude Code's multipliers of the input price.
        assert!(
            (new.cost(&Billable { cache_read: 1_000_000, cache_creation: 1_000_000, ..Default::default() }) - 1.35)
                .abs()
                < 1e-9
        );
        assert_eq!(t.lookup("claude-opus-5-5").unwrap().input, 100.0);

        std::fs::write(&path, "{not json").unwrap();
        let (t, problem) = PriceTable::load(Some(&path));
        assert!(problem.is_some());
        assert_eq!(t.lookup("claude-opus-5-5").unwrap().input, 4.0);
        let (_, problem) = PriceTable::load(Some(&dir.path().join("absent.json")));
        assert_eq!(problem, None);
    }
}
