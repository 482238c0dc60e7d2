//! One module per subcommand.

pub mod redact;
