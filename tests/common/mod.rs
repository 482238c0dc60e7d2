//! Support code shared by the integration tests.

pub mod claude_code;
