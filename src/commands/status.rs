//! `status` (the seed's sync-status): configuration with sources, a real connection test,
//! the outbox, and what is recorded locally. Always exits 0: it is a report, also run from
//! the `/claude-code-sync:sync-status` slash command.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;

use super::Context;
use crate::config::{self, Protocol, Setting, Source};
use crate::store::{SessionFilter, Store};
use crate::{paths, time, transport, uploader};

pub fn run(ctx: &Context) -> Result<()> {
    print!("{}", report(ctx));
    Ok(())
}

fn report(ctx: &Context) -> String {
    let mut out = String::new();
    let c = &ctx.config;
    let _ = writeln!(out, "claude-code-sync {}\n", env!("CARGO_PKG_VERSION"));
    super::install_report::write(&mut out, &ctx.data_dir);
    let _ = writeln!(out, "Configuration");
    let url = c.convex_url.as_ref().map(|s| (s.value.clone(), s.source.clone()));
    line(&mut out, "convex_url", url.clone().unwrap_or(("(not set)".into(), Source::Default)));
    let key = c.api_key.as_ref().map(|s| (s.value.masked(), s.source.clone()));
    line(&mut out, "api_key", key.unwrap_or(("(not set)".into(), Source::Default)));
    line(&mut out, "protocol", shown(&c.protocol));
    for (name, s) in [
        ("auto_sync", &c.auto_sync),
        ("sync_tool_calls", &c.sync_tool_calls),
        ("sync_thinking", &c.sync_thinking),
        ("sync_tool_output", &c.sync_tool_output),
    ] {
        line(&mut out, name, shown(s));
    }
    line(&mut out, "max_prompt_chars", shown(&c.max_prompt_chars));
    line(&mut out, "max_text_chars", shown(&c.max_text_chars));
    line(&mut out, "retention_days", shown(&c.retention_days));
    if !c.redact_patterns.is_empty() || !c.redact_allowlist.is_empty() {
        let _ = writeln!(
            out,
            "  {:<18} {} extra pattern(s), {} allowlist entr(ies)",
            "redaction",
            c.redact_patterns.len(),
            c.redact_allowlist.len()
        );
    }
    let _ = writeln!(out, "  config file        {}", config::config_file_path().display());
    for problem in c.problems.iter().chain(&ctx.pattern_problems) {
        let _ = writeln!(out, "  PROBLEM: {}", ctx.redactor.redact(problem));
    }

    let _ = writeln!(out, "\nConnection");
    match transport::connect(c) {
        None => {
            let _ = writeln!(
                out,
                "  No Convex URL configured: sessions are recorded locally only.\n  \
                 To sync, run `claude-code-sync login` or put {{\"convex_url\": \"https://<deployment>.convex.cloud\"}}\n  \
                 in {}.",
                config::config_file_path().display()
            );
        }
        Some(connection) => {
            let protocol = match connection.choice.protocol {
                Protocol::OpenSync => "OpenSync HTTP actions (/sync/session, /sync/message)",
                _ => "record-event (sync:recordEvent)",
            };
            let _ = writeln!(out, "  protocol           {protocol} — {}", connection.choice.reason);
            let started = Instant::now();
            match (connection.choice.protocol, c.backend_url()) {
                (Protocol::OpenSync, _) | (_, None) => {
                    let check = connection.transport.check();
                    let _ = writeln!(out, "  {} ({} ms)", check.summary, started.elapsed().as_millis());
                }
                (_, Some(url)) => {
                    let health = transport::RecordEvent::new(url, c.api_key().cloned()).health();
                    let _ = writeln!(out, "  {} ({} ms)", health.check.summary, started.elapsed().as_millis());
                    health_section(&mut out, &health);
                }
            }
        }
    }

    let _ = writeln!(out, "\nOutbox and local store");
    match Store::open(&ctx.data_dir) {
        Ok((store, _)) => store_section(&mut out, ctx, &store),
        Err(e) => {
            let _ = writeln!(out, "  cannot open the store: {e:#}");
        }
    }
    let _ = writeln!(out, "  log                {}", paths::log_path(&ctx.data_dir).display());
    out
}

/// The contract versions side by side, and what the deployment's state means for the user.
fn health_section(out: &mut String, health: &transport::Health) {
    let client = transport::RecordEvent::CONTRACT_VERSION;
    if let Some(deployment) = health.contract_version {
        let types = match health.event_types.len() {
            0 => String::new(),
            n => format!(", it knows {n} event types"),
        };
        let _ = writeln!(out, "  contract           client {client}, deployment {deployment}{types}");
        if deployment < client {
            let _ = writeln!(
                out,
                "  NOTE               the deployment's functions are older than this client: fields and event types\n                     \
                 it does not know may be refused. Deploy this version's convex/ (`npx convex deploy`)."
            );
        }
    }
    if health.key_configured == Some(false) {
        let _ = writeln!(out, "  WARNING            {}", transport::RecordEvent::OPEN_DEPLOYMENT_WARNING);
    }
}

fn store_section(out: &mut String, ctx: &Context, store: &Store) {
    let now = time::now_ms();
    let (Ok(counts), Ok(parked), Ok(sessions)) =
        (store.outbox_counts(None), store.parked_groups(), store.session_count())
    else {
        let _ = writeln!(out, "  the store could not be read");
        return;
    };
    let _ = writeln!(
        out,
        "  events             {} pending, {} parked, {} delivered",
        counts.pending, counts.parked, counts.delivered
    );
    if let Some(at) = meta_time(store, uploader::META_LAST_SUCCESS) {
        let _ = writeln!(out, "  last success       {} ({})", time::iso8601(at), ago(now - at));
    }
    if let (Ok(Some(err)), Some(at)) =
        (store.meta_get(uploader::META_LAST_ERROR), meta_time(store, uploader::META_LAST_ERROR_AT))
    {
        let _ = writeln!(
            out,
            "  last error         {} ({}): {}",
            time::iso8601(at),
            ago(now - at),
            ctx.redactor.redact(&err)
        );
    }
    if let Ok(Some(reason)) = uploader::blocked_reason(store) {
        let _ = writeln!(
            out,
            "  DELIVERY STOPPED   {}\n                     Fix the cause, then run `claude-code-sync sync-now` (changing the URL or key also retries).",
            ctx.redactor.redact(&reason)
        );
    }
    for group in parked {
        let _ = writeln!(
            out,
            "  parked             {} event(s) since {}: {}",
            group.count,
            time::iso8601(group.oldest),
            ctx.redactor.redact(&group.reason)
        );
    }
    let _ = writeln!(out, "  store              {} ({})", store.path().display(), human_bytes(store.size_on_disk()));
    if let Ok(t) = store.hook_times(now - 86_400_000)
        && t.count > 0
    {
        let ms = |micros: i64| micros as f64 / 1000.0;
        let _ = writeln!(
            out,
            "  hook time (24 h)   p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} hooks",
            ms(t.p50_micros),
            ms(t.p95_micros),
            ms(t.max_micros),
            t.count
        );
    }
    let _ = writeln!(out, "  sessions           {sessions} recorded locally");
    let recent = store.sessions(&SessionFilter { limit: Some(5), ..SessionFilter::default() }).unwrap_or_default();
    for s in recent {
        let _ = writeln!(
            out,
            "    {}  {:<24} {} prompt(s), {} tool call(s){}",
            s.started_at.map(time::iso8601).unwrap_or_else(|| "?".into()).get(..16).unwrap_or("?"),
            s.project_name.as_deref().unwrap_or("?"),
            s.prompt_count,
            s.tool_call_count,
            if s.ended_at.is_some() { "" } else { "  (active)" }
        );
    }
}

fn line(out: &mut String, name: &str, (value, source): (String, Source)) {
    let _ = writeln!(out, "  {name:<18} {value:<40} ({source})");
}

fn shown<T: ToString>(s: &Setting<T>) -> (String, Source) {
    (s.value.to_string(), s.source.clone())
}

fn meta_time(store: &Store, key: &str) -> Option<i64> {
    store.meta_get(key).ok()??.parse().ok()
}

fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86_399 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{CheckReport, Health};

    fn health(version: Option<u64>, key_configured: Option<bool>) -> Health {
        Health {
            check: CheckReport { reachable: true, key_accepted: Some(true), summary: "connected".into() },
            key_configured,
            contract_version: version,
            event_types: vec!["session_start".into(), "message".into()],
        }
    }

    fn section(h: &Health) -> String {
        let mut out = String::new();
        health_section(&mut out, h);
        out
    }

    #[test]
    fn an_older_deployment_gets_a_note_and_one_without_a_key_a_warning() {
        let current = section(&health(Some(transport::RecordEvent::CONTRACT_VERSION), Some(true)));
        assert_eq!(current, "  contract           client 2, deployment 2, it knows 2 event types\n");

        let older = section(&health(Some(1), Some(true)));
        assert!(older.contains("client 2, deployment 1"), "{older}");
        assert!(older.contains("NOTE") && older.contains("npx convex deploy"), "{older}");
        assert!(!older.contains("WARNING"), "{older}");

        let open = section(&health(Some(2), Some(false)));
        assert!(open.contains("WARNING            the deployment has no CLAUDE_SYNC_API_KEY"), "{open}");
        assert!(!open.contains("NOTE"), "{open}");

        // A deployment that could not be asked says nothing it does not know.
        assert_eq!(section(&health(None, None)), "");
    }
}
