//! The command line. clap types stay in this module; each subcommand lives in its own file with
//! an `Args` struct and an `exec` function that hands validated settings to the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit;

pub mod analyze;
pub mod bundle;
pub mod cluster;
pub mod completions;
pub mod cron;
pub mod demo;
pub mod man;
pub mod pipelines;
pub mod preflight;
pub mod progress;
pub mod qps;
pub mod run;
pub mod serve;
pub mod sim;
pub mod terminal;
pub mod upload;
pub mod version;

/// Diagnostics for KUDO operators: preflight, collect, analyze.
#[derive(Debug, Parser)]
#[command(
    name = "kudo-diag",
    version = crate::VERSION,
    about = "Diagnose KUDO Kubernetes operator instances: check before install, collect one bundle, explain what is wrong",
    after_help = "Examples:\n  kudo-diag demo                                  collect from the built-in simulated cluster\n  kudo-diag run --instance cassandra -n prod      collect a bundle of one instance\n  kudo-diag run --instance cassandra -n prod --continue   resume an interrupted collection\n  kudo-diag bundle verify cassandra.zip           check every hash in a bundle"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Path to the kubeconfig file (default: the files $KUBECONFIG lists, merged as kubectl
    /// merges them, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the operator instance (default: the context's namespace).
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// More detail on stderr (-v, -vv).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect a diagnostics bundle from an operator instance.
    #[command(visible_alias = "collect")]
    Run(Box<run::Args>),
    /// Explain what is wrong, from a bundle.
    Analyze(analyze::Args),
    /// Check whether an operator with given parameters fits and is allowed, before installing.
    Preflight(preflight::Args),
    /// Run the simulated Kubernetes cluster.
    Sim(sim::Args),
    /// Serve a collected bundle read-only through the simulated API, for kubectl.
    Serve(serve::Args),
    /// Start the simulated cluster and collect a bundle from it, to see the tool work.
    Demo(demo::Args),
    /// List, show, validate and draw pipelines.
    Pipelines(pipelines::Args),
    /// Verify and inspect bundles.
    Bundle(bundle::Args),
    /// Print the version, commit, target and format versions.
    Version(version::Args),
    /// Print shell completions.
    Completions(completions::Args),
    /// Scheduled collection in the cluster: print the CronJob and its read-only RBAC.
    Cron(cron::Args),
    /// Print the man page generated from this command line (or write all pages with --dir).
    #[command(hide = true)]
    Man(man::Args),
}

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
    match rt.block_on(dispatch(cli)) {
        Ok(code) => exit::code(code),
        Err(e) if terminal::is_broken_pipe(&e) => exit::code(exit::CLOSED_STDOUT),
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
