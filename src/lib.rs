//! claude-code-sync: records every Claude Code session locally, redacts secrets, and delivers
//! it to a Convex backend in the background. The binary (`main.rs`) is a thin shell over this
//! library; benchmarks and fuzz targets use the library directly.

pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod event;
pub mod examples;
pub mod hook;
pub mod ingest;
pub mod log;
pub mod paths;
pub mod privacy;
pub mod project;
pub mod redact;
pub mod report;
pub mod store;
pub mod time;
pub mod transcript;
pub mod transport;
pub mod uploader;
