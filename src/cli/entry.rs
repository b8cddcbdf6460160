//! The process's entry: parse the arguments, start logging and the runtime, run the
//! subcommand and turn its result into the exit code.

use std::process::ExitCode;

use clap::Parser;

use super::{
    analyze, bundle, completions, cron, demo, diff, man, pipelines, preflight, run, serve, sim,
    terminal, version, Cli, Command,
};
use crate::exit;

/// Parses the process's arguments, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return exit::code(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    terminal::init_tracing(cli.global.verbose);
    terminal::end_quietly_on_closed_stdout();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return exit::code(exit::ERROR);
        }
    };
    // The command runs on the runtime's workers, beside the tasks it spawns, not on this
    // thread: a collection's scheduler and its attempts then hand each other work without a
    // thread switch (on one core, every hand-off between the two was a context switch).
    let outcome = rt.block_on(async {
        match tokio::spawn(dispatch(cli)).await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(crate::Error::Other(format!("the command was stopped: {e}"))),
        }
    });
    match outcome {
        Ok(code) => exit::code(code),
        Err(e) if terminal::is_broken_pipe(&e) => exit::code(exit::CLOSED_STDOUT),
        Err(e @ crate::Error::Flags(_)) => {
            eprintln!("error: {e}");
            exit::code(exit::USAGE)
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::code(exit::ERROR)
        }
    }
}

async fn dispatch(cli: Cli) -> crate::Result<u8> {
    let g = cli.global;
    match cli.command {
        Command::Run(a) => run::exec(*a, &g).await,
        Command::Analyze(a) => analyze::exec(a),
        Command::Diff(a) => diff::exec(a),
        Command::Preflight(a) => preflight::exec(a, &g).await,
        Command::Sim(a) => sim::exec(a, &g).await,
        Command::Serve(a) => serve::exec(a, &g).await,
        Command::Demo(a) => demo::exec(a, &g).await,
        Command::Pipelines(a) => pipelines::exec(a, &g).await,
        Command::Bundle(a) => bundle::exec(a, &g).await,
        Command::Version(a) => version::exec(a),
        Command::Completions(a) => completions::exec(a),
        Command::Cron(a) => cron::exec(a, &g),
        Command::Man(a) => man::exec(a),
    }
}
