//! The top of the command line: the `kudo-diag` command, the flags every subcommand accepts
//! and the list of subcommands (each subcommand's own flags are in its file).

use clap::{Parser, Subcommand};

use super::{
    analyze, bundle, completions, cron, demo, diff, man, pipelines, preflight, run, serve, sim,
    version,
};

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
    /// Show what changed between two bundles of the same instance.
    Diff(diff::Args),
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
