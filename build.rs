//! Links the binary as a classic (non-PIE) executable on Linux.
//!
//! Why: the binary starts on every hook, 10–20 times a turn. As a PIE, the dynamic loader has
//! to apply tens of thousands of relative relocations at each start, writing to (and so
//! copying) every page of `.data.rel.ro` that holds one: a large part of a hook's own cost.
//! Non-PIE, those addresses are fixed at link time (BENCHMARKS.md has the figures).
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
