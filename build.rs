//! Links the binary as a classic (non-PIE) executable on Linux.
//!
//! Why: the binary starts on every hook, 10–20 times a turn. As a PIE, the dynamic loader had
//! to apply ~20,600 relative relocations at each start, writing to (and so copying) ~350 KB of
//! `.data.rel.ro`: ~270K instructions and ~80 page faults, a fifth of a hook's wall time above
//! a bare `cat`. Non-PIE, those addresses are fixed at link time: 3 relocations are left.
//! The objects stay position-independent; only the final link changes, so dependencies and
//! proc macros are untouched.
//!
//! The cost, stated honestly: the executable's own code and data load at a fixed address
//! (ASLR still randomizes the stack, heap, mmap and shared libraries). That weakens one
//! defence-in-depth layer against a memory-corruption exploit in the binary's C parts
//! (bundled SQLite, ring's assembly); the Rust code is memory-safe and the binary parses
//! hook input that may carry third-party text. Set CLAUDE_SYNC_PIE=1 at build time to keep a PIE.
fn main() {
    println!("cargo::rerun-if-env-changed=CLAUDE_SYNC_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if linux && std::env::var_os("CLAUDE_SYNC_PIE").is_none() {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
