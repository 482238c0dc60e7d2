//! `dashboard`: serves the dashboard on 127.0.0.1 until Ctrl-C (see `crate::dashboard`).

use anyhow::Result;

use super::Context;
use crate::cli::DashboardSource;
use crate::dashboard::{self, Options};

pub fn run(ctx: &Context, port: u16, open_browser: bool, source: DashboardSource) -> Result<()> {
    dashboard::serve(
        &ctx.data_dir,
        &ctx.config,
        Options { port, open_browser, remote_first: source == DashboardSource::Remote },
    )
}
