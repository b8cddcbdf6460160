//! Exit codes, in one place. Documented in README.md ("Exit codes") and tested end to end.

use std::process::ExitCode;

/// Everything asked for was done.
pub const OK: u8 = 0;
/// An error stopped the command (bad input, unreachable cluster, I/O failure, ...).
pub const ERROR: u8 = 1;
/// The command line could not be parsed (clap's own code for usage errors).
pub const USAGE: u8 = 2;
/// The bundle was written, but some tasks failed or were skipped: see errors.json in it.
pub const PARTIAL: u8 = 3;
/// `preflight`: every check passed or warned, at least one warned.
pub const PREFLIGHT_WARN: u8 = 4;
/// `preflight`: at least one check failed (the install would not fit or not be allowed).
pub const PREFLIGHT_FAIL: u8 = 5;
/// `analyze` found findings at or above its `--fail-on` severity (default: error).
pub const FINDINGS: u8 = 6;
/// The collection was interrupted (Ctrl-C); `--continue` picks it up.
pub const INTERRUPTED: u8 = 130;
/// Standard output was closed by its reader (`kudo-diag ... | head`): 128 + SIGPIPE, as a shell
/// reports a program the signal ended; nothing is printed.
pub const CLOSED_STDOUT: u8 = 141;

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
