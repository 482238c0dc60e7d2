//! `login`: ask for (or take) the URL and key, test them against the deployment, and save them
//! to the seed's config file with mode 0600. The key never comes from the command line.
//! `login --generate-key` makes the key instead and prints the one command that sets it on the
//! deployment.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Map, Value};

use super::Context;
use crate::config::{self, ApiKey, Protocol, Setting, Source};
use crate::store::Store;
use crate::{paths, transport, uploader};

pub fn run(
    ctx: &Context,
    url: Option<String>,
    key_stdin: bool,
    no_key: bool,
    force: bool,
    protocol: Option<Protocol>,
) -> Result<()> {
    let url = match url {
        Some(u) => u,
        None if std::io::stdin().is_terminal() => prompt("Convex deployment URL (https://<name>.convex.cloud): ")?,
        None => bail!("no URL given: pass --url https://<deployment>.convex.cloud"),
    };
    let url = parse_url(url)?;

    let key = if no_key {
        None
    } else if key_stdin {
        Some(read_line(&mut std::io::stdin().lock())?)
    } else if let Ok(k) = std::env::var("CLAUDE_SYNC_API_KEY") {
        Some(k)
    } else if std::io::stdin().is_terminal() {
        Some(prompt_hidden("API key (input hidden; empty for none): ")?)
    } else {
        bail!("no API key given: use --key-stdin, set CLAUDE_SYNC_API_KEY, or pass --no-key");
    };
    let key = key.as_deref().and_then(ApiKey::new);

    // The protocol given here, else the configured one (`auto` unless set).
    let setting = match protocol {
        Some(p) => Setting { value: p, source: Source::Default },
        None => ctx.config.protocol.clone(),
    };
    let connection = transport::connect_to(&url, key.clone(), &setting);
    let check = connection.transport.check();
    let chosen = match connection.choice.protocol {
        Protocol::OpenSync => "OpenSync",
        _ => "record-event",
    };
    let reason = match protocol {
        Some(p) if p != Protocol::Auto => "given with --protocol".to_string(),
        _ => connection.choice.reason.clone(),
    };
    println!("Protocol: {chosen} ({reason})");
    println!("Connection test: {}", ctx.redactor.redact(&check.summary));
    if connection.choice.protocol != Protocol::OpenSync && check.reachable {
        let health = transport::RecordEvent::new(&url, key.clone()).health();
        if health.key_configured == Some(false) {
            println!("Warning: {}", transport::RecordEvent::OPEN_DEPLOYMENT_WARNING);
        }
    }
    let ok = check.reachable && check.key_accepted != Some(false);
    if !ok && !force {
        bail!("not saved: the connection test failed (use --force to save anyway)");
    }

    let path = config::config_file_path();
    let mut settings = existing_settings(&path)?;
    settings.insert("convex_url".into(), Value::String(url));
    if let Some(p) = protocol {
        settings.insert("protocol".into(), Value::String(p.to_string()));
    }
    match &key {
        Some(k) => settings.insert("api_key".into(), Value::String(k.expose().to_string())),
        None => settings.remove("api_key"),
    };
    save(&path, settings)?;
    println!("Saved to {} (mode 0600).", path.display());

    // New credentials: events the old ones got rejected are retried now.
    let (mut store, _) = Store::open(&ctx.data_dir)?;
    let retried = uploader::retry_rejected(&mut store, None)?;
    if store.has_pending()? {
        uploader::spawn_detached()?;
        println!(
            "Delivery of queued events started in the background{}.",
            if retried > 0 { format!(" ({retried} earlier rejection(s) retried)") } else { String::new() }
        );
    }
    Ok(())
}

/// `login --generate-key`: a new key from the OS's random source, saved with the URL (given,
/// or the one configured), and the one command that gives the deployment the same key. The
/// command pipes the key from the shell's own `printf` to `npx convex env set`, which reads it
/// from stdin: the key appears in no process's arguments. Nothing is run here.
pub fn generate_key(ctx: &Context, url: Option<String>, force: bool, protocol: Option<Protocol>) -> Result<()> {
    let given = url.map(parse_url).transpose()?;
    let path = config::config_file_path();
    let mut settings = existing_settings(&path)?;
    if settings.get("api_key").is_some_and(|k| k.as_str().is_some_and(|k| !k.trim().is_empty())) && !force {
        bail!(
            "{} already holds an API key; pass --force to replace it (the deployment then needs the new one)",
            path.display()
        );
    }
    let key = new_key()?;
    if let Some(u) = &given {
        settings.insert("convex_url".into(), Value::String(u.clone()));
    }
    // The deployment to tell about: the one given, else the one configured (file or environment).
    let url = given.or_else(|| ctx.config.backend_url().map(String::from));
    if let Some(p) = protocol {
        settings.insert("protocol".into(), Value::String(p.to_string()));
    }
    settings.insert("api_key".into(), Value::String(key.expose().to_string()));
    save(&path, settings)?;

    println!("Generated a new API key and saved it to {} (mode 0600).", path.display());
    if let Some(Setting { source: source @ Source::Env(_), .. }) = &ctx.config.api_key {
        println!("Note: the key set in {source} overrides the saved one; remove it from the environment.");
    }
    println!(
        "Set the same key on the deployment: run this in the folder of its Convex project (add --prod for \
         the production deployment):\n\n  printf '%s' '{}' | npx convex env set CLAUDE_SYNC_API_KEY\n",
        key.expose()
    );
    println!(
        "(printf is built into the shell, so the key shows in no process list; `npx convex env set` reads it \
         from stdin.)"
    );
    if let Some(u) = &url {
        let health = transport::RecordEvent::new(u, Some(key)).health();
        let state = match (health.check.reachable, health.key_configured, health.check.key_accepted) {
            (false, ..) => format!("not reachable now ({})", health.check.summary),
            (true, Some(false), _) => {
                "has no key yet: it takes events from anyone until you run the command above".into()
            }
            (true, Some(true), Some(true)) => "already has this key".into(),
            (true, Some(true), _) => {
                "has another key: delivery stops until you run the command above, then `claude-code-sync sync-now`"
                    .into()
            }
            (true, None, _) => health.check.summary,
        };
        println!("The deployment at {u} {state}.");
    } else {
        println!("No deployment URL is configured yet: add one with `claude-code-sync login --url <URL>`.");
    }
    Ok(())
}

/// 32 bytes from the OS's random source, hex-encoded behind a recognisable prefix (not `osk_`,
/// which would select the OpenSync protocol).
fn new_key() -> Result<ApiKey> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("the system's random source failed: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(ApiKey::new(&format!("ccs_{hex}")).expect("a generated key is not empty"))
}

fn parse_url(url: String) -> Result<String> {
    config::parse_url(&Value::String(url))
        .map_err(|why| anyhow!("the URL {why}"))?
        .ok_or_else(|| anyhow!("the URL is empty"))
}

fn save(path: &std::path::Path, settings: Map<String, Value>) -> Result<()> {
    let text = serde_json::to_string_pretty(&Value::Object(settings))? + "\n";
    paths::write_private_atomic(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

/// The config file's current settings, so saving keeps the user's other keys. A file that is
/// not a JSON object is not overwritten silently.
fn existing_settings(path: &std::path::Path) -> Result<Map<String, Value>> {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => bail!("{} exists but is not a JSON object; fix or remove it first", path.display()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn prompt(question: &str) -> Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    read_line(&mut std::io::stdin().lock())
}

/// Reads a line from the terminal with echo off, restoring the terminal whatever happens.
fn prompt_hidden(question: &str) -> Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    eprint!("{question}");
    std::io::stderr().flush()?;
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet)?;
    let line = read_line(&mut stdin.lock());
    tcsetattr(&stdin, SetArg::TCSANOW, &saved)?;
    eprintln!();
    line
}

fn read_line(input: &mut impl BufRead) -> Result<String> {
    let mut line = String::new();
    input.read_line(&mut line).context("cannot read the input")?;
    Ok(line.trim().to_string())
}
