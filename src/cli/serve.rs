//! `kudo-diag serve BUNDLE.zip`: serve a collected bundle read-only through the simulated API
//! server, so that the real kubectl (`get`, `describe`, `logs`) shows what was collected. The
//! bundle becomes a scenario (`sim::from_bundle`); the server is `kudo-diag sim`'s, started and
//! announced by the same code, with every write refused (`SimOptions::read_only`).

use std::path::PathBuf;

use crate::sim::server::SimOptions;

/// Serve a collected bundle read-only through the simulated API, for kubectl.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  kudo-diag serve cassandra.zip\n  kudo-diag serve cassandra.zip --kubeconfig-out kc &\n  KUBECONFIG=kc kubectl get pods -A\n  kudo-diag serve cassandra.zip --addr 127.0.0.1:6443 --kubeconfig-out bundle.kubeconfig\n\nkubectl get, describe and logs (with --previous where a previous log was collected) answer\nfrom the bundle; writes are refused (405), exec is forbidden (403). See docs/serve.md."
)]
pub struct Args {
    /// The bundle written by `kudo-diag run`.
    #[arg(value_name = "BUNDLE.zip")]
    pub bundle: PathBuf,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub addr: std::net::SocketAddr,
    /// Write the kubeconfig here (default: a file in the temp directory, removed at exit).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS (debugging only).
    #[arg(long)]
    pub insecure_http: bool,
}

pub async fn exec(args: Args, _g: &super::Global) -> crate::Result<u8> {
    let path = args.bundle.clone();
    // Reading and verifying a big bundle is blocking work: keep it off the runtime's threads.
    let loaded = tokio::task::spawn_blocking(move || crate::sim::from_bundle::load(&path))
        .await
        .map_err(|e| crate::Error::Other(format!("loading the bundle failed: {e}")))??;
    eprintln!("{}", loaded.scenario.description);
    for line in loaded.summary.lines() {
        eprintln!("  {line}");
    }
    let what = format!("read-only bundle {}", args.bundle.display());
    let opts = SimOptions {
        addr: args.addr,
        insecure_http: args.insecure_http,
        token: None,
        faults: None,
        read_only: true,
    };
    super::sim::serve_until_interrupted(
        loaded.scenario,
        opts,
        args.kubeconfig_out.as_deref(),
        &what,
    )
    .await
}
