//! Shared support for the integration tests: a sandboxed HOME and data dir running the real
//! binary, and the project's real Convex functions served on loopback.
#![allow(dead_code)]

pub mod backend;
pub mod sandbox;
