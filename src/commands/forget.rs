//! `forget`: delete a session or a project's sessions from the local store. Only the local
//! copy goes; what was already delivered stays in the backend.

use anyhow::Result;

use super::{Context, Run};
use crate::cli::Forget;
use crate::store::Store;

impl Run for Forget {
    fn run(self, ctx: &Context) -> Result<()> {
        let (session, project) = (self.session.as_deref(), self.project.as_deref());
        let (mut store, _) = Store::open(&ctx.data_dir)?;
        let gone = store.forget(session, project)?;
        let what =
            session.map(|s| format!("session {s}")).unwrap_or_else(|| format!("project {}", project.unwrap_or("?")));
        if gone.sessions == 0 && gone.events == 0 {
            println!("Nothing recorded locally for {what}.");
        } else {
            println!(
                "Forgot {what}: {} session(s) and {} event(s) deleted from the local store (already delivered copies stay in the backend).",
                gone.sessions, gone.events
            );
        }
        Ok(())
    }
}
