//! claude-code-sync: the binary every hook of the plugin calls, and the user's CLI.
//!
//! The entry point is the C `main`, not Rust's `fn main` (`#![no_main]`): Rust's runtime setup
//! before `fn main` is paid by every hook, and most of it is glibc reading and parsing
//! /proc/self/maps to locate the main thread's stack guard for the stack-overflow message
//! (BENCHMARKS.md has what skipping it saves). What that setup did
//! that matters is done here: the standard fds are made valid, SIGPIPE is ignored (a write to
//! a closed pipe or socket is an error, not a silent death: the uploader writes to sockets),
//! a panic exits 101 after its message, and stdout is flushed at exit (`process::exit` runs
//! the runtime's cleanup). Lost: the "has overflowed its stack" message (a stack overflow is
//! still a SIGSEGV) and the main thread's name in panic messages.

#![no_main]

use std::ffi::{CStr, OsStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use clap::Parser;
use claude_code_sync::{cli, commands, hook};
use nix::libc;

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let started = std::time::Instant::now();
    // SAFETY: argc and argv are what the C runtime passed to main: argc valid C strings.
    let args: Vec<OsString> = (0..argc.max(0) as usize)
        .map(|i| OsStr::from_bytes(unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes()).to_os_string())
        .collect();
    // SAFETY: called first, before any other thread exists; plain syscalls.
    unsafe { runtime_setup() };
    // The hook path skips clap: building the whole CLI's parser costs more than the rest of
    // the process start, and a hook runs 10–20 times a turn. Only the exact form hooks.json
    // uses (one argument, a hook's name) takes this path; anything else goes through clap.
    if let Some(kind) = hook_fast_path(&args) {
        // hook::run catches its own panics; this only keeps an unwind from leaving `main`.
        let _ = panic::catch_unwind(|| hook::run(kind, started));
        return 0;
    }
    let code = match panic::catch_unwind(AssertUnwindSafe(|| run_cli(args, started))) {
        Ok(code) if code == ExitCode::SUCCESS => 0,
        Ok(_) => 1,
        // The panic message was printed by the default hook, as with Rust's own main.
        Err(_) => 101,
    };
    std::process::exit(code)
}

fn run_cli(args: Vec<OsString>, started: std::time::Instant) -> ExitCode {
    // A hook must exit 0 with empty stdout even when its arguments are wrong: decide that
    // before clap, which would print usage and exit 2 (and exit 2 blocks Claude Code).
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if is_hook_invocation(&args) => {
            hook::log_bad_invocation(&e.to_string());
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    if let Some(kind) = cli.command.hook_kind() {
        hook::run(kind, started);
        return ExitCode::SUCCESS;
    }
    commands::run(cli.command)
}

/// The parts of Rust's runtime setup this binary relies on (see the module doc).
unsafe fn runtime_setup() {
    // Standard fds that are closed are opened on /dev/null, so no file opened later (the
    // store, the log) can land on fd 0–2 and receive what is meant for stdout or stderr.
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    unsafe {
        if libc::poll(fds.as_mut_ptr(), 3, 0) != -1 {
            for fd in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
                if libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) != fd.fd {
                    libc::abort();
                }
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// The hook named by the only argument, if that is all there is.
fn hook_fast_path(args: &[OsString]) -> Option<hook::HookKind> {
    let [_, name] = args else { return None };
    hook::HookKind::from_name(name.to_str()?)
}

/// The first argument names a hook subcommand.
fn is_hook_invocation(args: &[OsString]) -> bool {
    args.get(1).and_then(|a| a.to_str()).is_some_and(<hook::HookKind as clap::Subcommand>::has_subcommand)
}
