//! How the process meets its terminal: log lines on stderr, and a standard output that its
//! reader closed.
//!
//! Logging: kudo-diag's own warnings by default, libraries' lines (kube, hyper, rustls) only with
//! `-v` (info) and `-vv` (debug), so an unreachable server reads as one clear error, not as
//! timestamped `kube_client` lines before it. `KUDO_DIAG_LOG`, else `RUST_LOG`, replaces the
//! filter with an `EnvFilter` directive (`RUST_LOG=kube=debug`).
//!
//! A closed stdout (`kudo-diag completions bash | head -1`) ends the command quietly with
//! [`exit::CLOSED_STDOUT`] (141, what a shell shows for a program ended by SIGPIPE, as kubectl
//! is): Rust ignores SIGPIPE, so the write fails with EPIPE instead, as an error that reaches
//! `main` or as the panic of `print!`; both are recognised here.

use std::io::IsTerminal;

use crate::exit;

/// The log filter for `-v` counted `verbose` times, unless the environment gives one.
pub fn log_filter(verbose: u8) -> tracing_subscriber::EnvFilter {
    for var in ["KUDO_DIAG_LOG", "RUST_LOG"] {
        if let Some(f) = std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        {
            return f;
        }
    }
    tracing_subscriber::EnvFilter::new(match verbose {
        0 => "off,kudo_diag=warn",
        1 => "warn,kudo_diag=info",
        _ => "debug",
    })
}

/// Sends log lines to stderr, coloured only for a person at a terminal without NO_COLOR.
pub fn init_tracing(verbose: u8) {
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(verbose))
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Makes a panic caused by writing to a closed stdout (`print!`, or a library writing to it)
/// end the process quietly with [`exit::CLOSED_STDOUT`]; every other panic is reported as before.
pub fn end_quietly_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if is_broken_pipe_message(message) {
            std::process::exit(exit::CLOSED_STDOUT.into());
        }
        report(info)
    }));
}

/// std's `print!` panics with "failed printing to stdout: Broken pipe (os error 32)"; other
/// writers name the same OS error.
fn is_broken_pipe_message(message: &str) -> bool {
    let epipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
    message.contains("os error 32") || message.contains(&epipe)
}

/// Whether `e` (or what caused it) is a write to a closed pipe.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_print_panics_on_a_closed_pipe_are_recognised() {
        let io = std::io::Error::from_raw_os_error(32);
        assert!(is_broken_pipe_message(&format!(
            "failed printing to stdout: {io}"
        )));
        assert!(!is_broken_pipe_message("index out of bounds"));
    }

    #[test]
    fn a_broken_pipe_is_found_under_a_wrapping_error() {
        let e = crate::Error::io("-", std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&e));
        let other = crate::Error::io("-", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(!is_broken_pipe(&other));
    }

    #[test]
    fn libraries_are_quiet_without_verbose() {
        // The environment may name a filter; only the default is checked here.
        if std::env::var_os("KUDO_DIAG_LOG").is_some() || std::env::var_os("RUST_LOG").is_some() {
            return;
        }
        assert_eq!(log_filter(0).to_string(), "kudo_diag=warn,off");
        assert_eq!(log_filter(2).to_string(), "debug");
    }
}
