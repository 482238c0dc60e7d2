//! Background delivery of the outbox.
//!
//! A hook never touches the network: when no uploader runs, it starts one ([`launch`]), a
//! detached process that drains the outbox in order, in batches, and exits once it is empty and
//! no more events came for a moment ([`drain`]). On the way it finishes the transcripts a hook
//! could only read in part ([`backlog`]). One instance at a time (an exclusive lock on
//! `uploader.lock`). Passing failures are retried with exponential backoff and jitter;
//! rejections are parked with their reason and retried only when the configuration changes or
//! the user runs `sync-now` or `login` ([`state`]).
//!
//! Only [`drain`] knows the transports: the hook path imports [`launch`] and [`state`], which
//! reach nothing of the network layer.

pub mod backlog;
pub mod drain;
pub mod launch;
pub mod state;
