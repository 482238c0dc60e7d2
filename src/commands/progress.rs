//! The backfill's progress on stderr: a bar redrawn in place on a terminal, a line every tenth
//! of the sessions when piped (a log stays short).

use std::io::{IsTerminal, Write};

use crate::ingest::Progress;

pub struct ProgressBar {
    terminal: bool,
    /// What was shown last: sessions done, bytes read.
    shown: (usize, u64),
    last_decile: u64,
}

impl ProgressBar {
    pub fn new() -> ProgressBar {
        ProgressBar { terminal: std::io::stderr().is_terminal(), shown: (0, 0), last_decile: 0 }
    }

    pub fn show(&mut self, p: &Progress) {
        if p.sessions == 0 || (p.done, p.bytes) == self.shown {
            return;
        }
        let fraction = p.done as f64 / p.sessions as f64;
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let filled = (fraction * 30.0) as usize;
            let _ = write!(
                err,
                "\r[{}{}] {:>3.0}% {}/{} sessions, {:.1} MB read",
                "#".repeat(filled),
                " ".repeat(30 - filled),
                fraction * 100.0,
                p.done,
                p.sessions,
                p.bytes as f64 / 1e6
            );
        } else {
            let decile = (fraction * 10.0) as u64;
            if p.done > self.shown.0 && (decile > self.last_decile || p.done == p.sessions) {
                self.last_decile = decile;
                let _ = writeln!(
                    err,
                    "imported {}/{} sessions ({:.1} of {:.1} MB new)",
                    p.done,
                    p.sessions,
                    p.bytes as f64 / 1e6,
                    p.total_bytes as f64 / 1e6
                );
            } else {
                return;
            }
        }
        self.shown = (p.done, p.bytes);
    }

    pub fn finish(&mut self) {
        if self.terminal && self.shown != (0, 0) {
            let _ = writeln!(std::io::stderr());
        }
    }
}
