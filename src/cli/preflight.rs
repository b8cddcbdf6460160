//! `kudo-diag preflight`: will this operator, with these parameters, fit and be allowed here?
//! Parses the flags, connects with the kubeconfig, hands `crate::preflight::Options` to the
//! library and prints the report; the exit code says pass (0), warnings (4) or failures (5).

use std::path::PathBuf;

use crate::cli::Global;
use crate::preflight::{self, Options};

/// Check, before installing, whether an operator with given parameters fits and is allowed.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every check passed, 4 warnings only, 5 at least one check failed, 1 the checks could not run (bad package, parameters, or cluster access).\n\nExamples:\n  kudo-diag preflight ./cassandra -n prod -p NODE_COUNT=5 -p NODE_MEM_MIB=8192\n  kudo-diag preflight cassandra-1.0.3.tgz -n prod --params-file params.yaml -o json\n  kudo-diag preflight cassandra -n prod --instance cassandra   # installed operator, existing instance"
)]
pub struct Args {
    /// A KUDO operator package (folder or .tgz) or the name of an operator installed in the
    /// namespace.
    #[arg(value_name = "OPERATOR")]
    pub operator: String,
    /// A parameter value (repeatable).
    #[arg(short = 'p', long = "parameter", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A YAML file of parameter values (`NAME: VALUE` per line); -p wins over it.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// The instance's name (default: OPERATOR-instance, as KUDO names it). If it exists, its
    /// parameters are the starting point and immutable ones may not change.
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// With an installed operator's name: which operator version (default: the newest).
    #[arg(long, value_name = "VERSION")]
    pub operator_version: Option<String>,
    /// Check only the package and parameters (render, requests vs limits), without a cluster.
    #[arg(long)]
    pub no_cluster: bool,
    /// Output format: text for people (the default), json (schema kudo-diag.preflight/v1,
    /// docs/preflight.md).
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_enum)]
    pub output: Option<Format>,
    /// The old spelling of -o/--output FORMAT.
    #[arg(long, value_enum, hide = true)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub async fn exec(args: Args, g: &Global) -> crate::Result<u8> {
    let format = super::output::format(args.output, args.format, Format::Text)?;
    let mut opts = Options {
        operator: args.operator,
        operator_version: args.operator_version,
        namespace: g.namespace.clone().unwrap_or_else(|| "default".into()),
        instance: args.instance,
        params: args.params,
        params_file: args.params_file,
    };
    let report = if args.no_cluster {
        preflight::run_offline(&opts)?
    } else {
        let (client, default_ns) = connect(g).await?;
        if g.namespace.is_none() {
            opts.namespace = default_ns;
        }
        preflight::run(client, &opts).await?
    };
    match format {
        Format::Text => print!("{}", report.to_text(g.verbose > 0)),
        Format::Json => println!("{}", report.to_json()),
    }
    Ok(report.exit_code())
}

/// A client from the kubeconfig (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`) and
/// `--context`, or the in-cluster service account; and the context's namespace.
pub async fn connect(g: &Global) -> crate::Result<(kube::Client, String)> {
    let c = super::cluster::connect(g, None).await?;
    Ok((c.client, c.namespace))
}
