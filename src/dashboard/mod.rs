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

/// Request handlers. A page load makes three calls at once, each short; every worker has its
/// own SQLite connection and builds its answers from all matching sessions, so each one more
/// costs memory (BENCHMARKS.md, "Dashboard") for little speed on a laptop's cores.
const WORKERS: usize = 2;

/// What every handler shares.
pub struct State {
    pub data_dir: PathBuf,
    pub prices: PriceTable,
    /// The port the server listens on: the Host header must name it.
    pub port: u16,
    pub tools: Mutex<ToolIndex>,
    /// Set once the first full read of the tool items is done (it takes seconds on a large
    /// store): until then the overview does not wait for it and the page asks again.
    pub tools_ready: std::sync::atomic::AtomicBool,
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
            tools_ready: std::sync::atomic::AtomicBool::new(false),
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
        // Rows are only ever appended with a higher seq. A session removed by `forget` keeps its
        // calls here, but statistics are only ever asked for sessions the store still lists.
        let from = index.mark;
        let mut last = from;
        let mut added = 0usize;
        store.tool_items_after(from, |item| {
            last = last.max(item.seq);
            added += 1;
            index.add(item)
        })?;
        if added > 10_000 {
            index.shrink();
        }
        // Rows after `last` that are not tool items are read again next time: cheap, and
        // nothing committed meanwhile is skipped.
        index.mark = last;
        drop(index);
        self.tools_ready.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
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
    stop_on_interrupt();
    limit_malloc_arenas();
    let state = Arc::new(State::new(data_dir, config, port, options.remote_first));
    // The tool index is the one slow thing to build (it reads every tool item once): start it
    // now, so it is ready by the time someone opens the Tools view.
    {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            if let Ok(Some(store)) = state.open_store() {
                let _ = state.refresh_tools(&store);
            }
            state.tools_ready.store(true, std::sync::atomic::Ordering::Release);
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

/// Ctrl-C (SIGINT) and SIGTERM end the server, even when it was started with them ignored (a
/// shell without job control starts `cmd &` so): the server holds nothing to clean up.
fn stop_on_interrupt() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: installs the default disposition, no handler code runs.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
}

/// glibc gives each thread that allocates its own arena and keeps what it frees there, so a
/// few request threads each building 10,000-row answers hold several copies of that memory;
/// two arenas are plenty for workers that mostly wait on SQLite.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tunable; called before the worker threads start.
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 2);
    }
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
