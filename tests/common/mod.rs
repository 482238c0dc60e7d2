//! Shared support for the integration tests: a sandboxed HOME and data dir running the real
//! binary, the project's real Convex functions served on loopback, a fake OpenSync, and the real
//! Claude Code CLI driven by a scripted fake Messages API.
#![allow(dead_code)]

pub mod backend;
pub mod claude_code;
pub mod http_server;
pub mod install;
pub mod opensync;
pub mod sandbox;
