//! Transcripts a hook could only read in part (its byte budget keeps it fast) are finished by
//! the uploader, off the hook's clock, before it drains what they queued.

use std::path::Path;

use crate::config::Config;
use crate::ingest;
use crate::log::Log;
use crate::privacy::Privacy;
use crate::redact::Redactor;
use crate::store::Store;
use crate::time;
use crate::transcript::PriceTable;

/// What reading a backlog needs, built once per uploader run: the redactor and the price table
/// cost more to build than a store read.
pub struct Backlog {
    redactor: Redactor,
    prices: PriceTable,
}

impl Backlog {
    pub fn new(data_dir: &Path, config: &Config) -> Backlog {
        let (redactor, _) = Redactor::new(&config.redact_patterns, &config.redact_allowlist);
        let (prices, _) = PriceTable::for_data_dir(data_dir);
        Backlog { redactor, prices }
    }

    /// Reads the rest of every transcript a hook left unread and queues what it holds. A
    /// failure is logged: what is already queued is still worth delivering.
    pub fn catch_up(&self, store: &mut Store, config: &Config, log: &Log) {
        let privacy = Privacy::new(config, &self.redactor);
        if let Err(e) = ingest::catch_up_backlog(store, &privacy, &self.prices, time::now_ms()) {
            log.warn(&format!("transcript backlog: {e:#}"));
        }
    }
}
