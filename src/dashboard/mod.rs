//! The dashboard: a small HTTP server on 127.0.0.1 that serves a page embedded in this binary
//! and a JSON API over the local store (read-only) or, with a deployment configured, over the
//! deployment's key-protected queries (`remote`). Why this shape (tiny_http, no framework, no
//! build step, no CDN): docs/dashboard.md.
//!
//! Data flow: request -> `http` (Host check, security headers) -> `api` (filters -> `report`,
//! the code `sessions --json` uses) -> store or remote -> JSON.

mod api;
mod assets;
mod http;
mod remote;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};

use crate::config::Config;
use crate::report::tools::ToolIndex;
use crate::store::Store;
use crate::transcript::PriceTable;

pub use remote::Remote;

pub struct Options {
    /// 0: any free port.
    pub port: u16,
    pub open_browser: bool,
    /// The page starts on the deployment's sessions rather than this machine's.
    pub remote_first: bool,
}

/// Request handlers: few, since a page load makes a handful of calls and each is short.
const WORKERS: usize = 4;

/// What every handler shares.
pub struct State {
    pub data_dir: PathBuf,
    pub prices: PriceTable,
    /// The port the server listens on: the Host header must name it.
    pub port: u16,
    pub tools: Mutex<ToolIndex>,
    pub remote: Option<Remote>,
    pub remote_first: bool,
}

impl State {
    pub fn new(data_dir: &Path, config: &Config, port: u16, remote_first: bool) -> State {
        let (prices, _) = PriceTable::for_data_dir(data_dir);
        State {
            data_dir: data_dir.to_path_buf(),
            prices,
            port,
            tools: Mutex::new(ToolIndex::default()),
            remote: Remote::from_config(config),
            remote_first,
        }
    }

    /// A read-only connection to the local store, `None` before anything was recorded.
    pub fn open_store(&self) -> Result<Option<Store>> {
        Store::open_read_only(&self.data_dir)
    }

    /// Brings the tool index up to date with the outbox: new rows are folded in, and when rows
    /// were removed (`forget`) it is rebuilt.
    pub fn refresh_tools(&self, store: &Store) -> Result<()> {
        let mut index = self.tools.lock().unwrap_or_else(|e| e.into_inner());
        // One snapshot: rows committed meanwhile are read next time, never twice.
        store.in_snapshot(|store| {
            let mark = store.outbox_mark()?;
            if index.mark == mark {
                return Ok(());
            }
            let added = store.outbox_rows_after(index.mark.0)?;
            if index.mark.1 + added != mark.1 {
                *index = ToolIndex::default();
            }
            let from = index.mark.0;
            store.tool_items_after(from, |item| index.add(item))?;
            index.mark = mark;
            Ok(())
        })
    }
}

/// Binds 127.0.0.1, prints the URL first on stdout, opens the browser, and serves until the
/// process is interrupted.
pub fn serve(data_dir: &Path, config: &Config, options: Options) -> Result<()> {
    let server = tiny_http::Server::http(("127.0.0.1", options.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", options.port))?;
    let port = server.server_addr().to_ip().map(|a| a.port()).context("the server has no IP address")?;
    let url = format!("http://127.0.0.1:{port}/");
    // The URL alone on stdout, first, for scripts; whoever reads it may close the pipe after.
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")?;
        out.flush()?;
    }
    eprintln!("Serving the dashboard of {} at {url}; Ctrl-C stops it.", data_dir.display());
    let state = Arc::new(State::new(data_dir, config, port, options.remote_first));
    // The tool index is the one slow thing to build (it reads every tool item once): start it
    // now, so it is ready by the time someone opens the Tools view.
    {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            if let Ok(Some(store)) = state.open_store() {
                let _ = state.refresh_tools(&store);
            }
        });
    }
    if options.open_browser {
        open_browser(&url);
    }
    let server = Arc::new(server);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            std::thread::spawn(move || {
                let mut store = None;
                while let Ok(request) = server.recv() {
                    http::handle(&state, &mut store, request);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// Asks the desktop to open `url`, detached; when it cannot, the printed URL is there.
fn open_browser(url: &str) {
    use std::process::{Command, Stdio};
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let spawned =
        Command::new(opener).arg(url).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    if let Ok(mut child) = spawned {
        // Reap it in the background so it does not linger as a zombie.
        std::thread::spawn(move || child.wait());
    }
}
