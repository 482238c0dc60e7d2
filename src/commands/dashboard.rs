//! `dashboard`: serves the dashboard on 127.0.0.1 until Ctrl-C (see `crate::dashboard`).

use anyhow::Result;

use super::{Context, Run};
use crate::cli::{Dashboard, DashboardSource};
use crate::dashboard::{self, Options};

impl Run for Dashboard {
    fn run(self, ctx: &Context) -> Result<()> {
        let Dashboard { port, no_open, source } = self;
        dashboard::serve(
            &ctx.data_dir,
            &ctx.config,
            Options { port, open_browser: !no_open, remote_first: source == DashboardSource::Remote },
        )
    }
}
