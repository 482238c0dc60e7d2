//! `__upload` (hidden): the detached background uploader, as hooks start it.

use anyhow::Result;

use super::{Context, Run};
use crate::cli::Upload;
use crate::delivery::{drain, launch};

impl Run for Upload {
    fn run(self, ctx: &Context) -> Result<()> {
        if self.detach {
            launch::leave_process_tree();
        }
        drain::run_detached(&ctx.data_dir, &ctx.config, &ctx.log())
    }
}
