//! `replay-spool` (hidden): the plugin's launcher runs it right after installing the binary, so
//! the events it kept on disk meanwhile are recorded even when no hook fires again.

use anyhow::Result;

use super::{Context, Run};
use crate::cli::ReplaySpool;
use crate::hook::spool;

impl Run for ReplaySpool {
    fn run(self, ctx: &Context) -> Result<()> {
        let n = spool::replay_if_any(&ctx.data_dir)?;
        if n > 0 {
            ctx.log().info(&format!("recorded {n} event(s) kept on disk before the binary was installed"));
        }
        Ok(())
    }
}
