//! Shared support for the integration tests: a sandboxed HOME and data dir running the real
//! binary, the project's real Convex functions served on loopback, and a fake OpenSync.
#![allow(dead_code)]

pub mod backend;
pub mod opensync;
pub mod sandbox;
