//! `kudo-diag sim`: serve a scenario as a simulated Kubernetes cluster until interrupted, and
//! write a kubeconfig for it once it accepts connections.

use std::path::PathBuf;

use crate::sim::scenario::{ExecLatency, FaultConfig, RouteLatency, Scenario};
use crate::sim::server::{SimOptions, SimServer};

/// Run the simulated Kubernetes cluster.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  kudo-diag sim --scenario cassandra --kubeconfig-out sim.kubeconfig\n  kudo-diag sim --scenario my-scenario.yaml --latency-ms 50 --jitter-ms 20 --throttle-rate 0.05 --seed 7\n  kudo-diag sim --generate cassandra --pods 5000 --containers 2 --log-bytes 1MiB --peers 50\n  kudo-diag sim --generate cassandra --pods 120 --nodes 40 --exec-ms nodetool=1000 --latency-ms 20\n  kudo-diag sim list"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<SimCommand>,
    #[command(flatten)]
    pub serve: Box<ServeArgs>,
}

#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Name the built-in scenarios.
    List,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A built-in scenario's name (see `kudo-diag sim list`) or a scenario YAML file.
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "generate")]
    pub scenario: Option<String>,
    /// Flags of a generated instance (boxed: they would make every `Command` large).
    #[command(flatten)]
    pub gen: Box<GenerateArgs>,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub addr: std::net::SocketAddr,
    /// Write the kubeconfig here (default: a file in the temp directory, removed at exit).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// The bearer token clients must send (default: random).
    #[arg(
        long,
        value_name = "T",
        env = "KUDO_DIAG_SIM_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Serve plain HTTP instead of HTTPS (debugging only).
    #[arg(long)]
    pub insecure_http: bool,
    /// Latency added to every response, in milliseconds.
    #[arg(long, value_name = "N")]
    pub latency_ms: Option<u64>,
    /// Random extra latency of up to N milliseconds.
    #[arg(long, value_name = "N")]
    pub jitter_ms: Option<u64>,
    /// Share of requests answered 500/503 (0.0 to 1.0).
    #[arg(long, value_name = "F", value_parser = rate)]
    pub error_rate: Option<f64>,
    /// Share of requests answered 429 with Retry-After (0.0 to 1.0).
    #[arg(long, value_name = "F", value_parser = rate)]
    pub throttle_rate: Option<f64>,
    /// Share of responses cut off in the middle of the body (0.0 to 1.0).
    #[arg(long, value_name = "F", value_parser = rate)]
    pub reset_rate: Option<f64>,
    /// Seed of the fault dice (and of generated logs), to reproduce a run.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// A pod (NAME or NAMESPACE/NAME) that vanishes (404) once a list has returned it; repeat
    /// for more.
    #[arg(long = "vanish-pod", value_name = "POD")]
    pub vanish_pods: Vec<String>,
    /// Extra latency in milliseconds for paths matching a regex, e.g. `/log$=200`; repeat for
    /// more (the first match applies).
    #[arg(long = "route-latency", value_name = "REGEX=MS", value_parser = route_latency)]
    pub route_latency: Vec<RouteLatency>,
    /// How long commands run: an exec whose command line matches REGEX takes MS milliseconds,
    /// e.g. `nodetool=1500` (a JVM starting); repeat for more (the first match applies).
    #[arg(long = "exec-ms", value_name = "REGEX=MS", value_parser = exec_latency)]
    pub exec_latency: Vec<ExecLatency>,
}

fn exec_latency(s: &str) -> Result<ExecLatency, String> {
    let (command, ms) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?} is not REGEX=MS; write e.g. nodetool=1500"))?;
    let latency_ms = ms
        .parse()
        .map_err(|_| format!("{ms:?} is not a number of milliseconds; write e.g. nodetool=1500"))?;
    regex::Regex::new(command).map_err(|e| format!("{command:?} is not a valid regex: {e}"))?;
    Ok(ExecLatency {
        command: command.to_string(),
        latency_ms,
    })
}

fn route_latency(s: &str) -> Result<RouteLatency, String> {
    let (path, ms) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?} is not REGEX=MS; write e.g. /log$=200"))?;
    let latency_ms = ms
        .parse()
        .map_err(|_| format!("{ms:?} is not a number of milliseconds; write e.g. /log$=200"))?;
    regex::Regex::new(path).map_err(|e| format!("{path:?} is not a valid regex: {e}"))?;
    Ok(RouteLatency {
        path: path.to_string(),
        latency_ms,
        jitter_ms: 0,
    })
}

/// `--generate APP --pods N --containers C --log-bytes SIZE`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Generate an instance of this application (cassandra, kafka, zookeeper) instead.
    #[arg(long, value_name = "APP")]
    pub generate: Option<String>,
    /// Pods of the generated instance.
    #[arg(long, value_name = "N", default_value_t = 3, requires = "generate")]
    pub pods: usize,
    /// Containers per generated pod.
    #[arg(long, value_name = "C", default_value_t = 1, requires = "generate")]
    pub containers: usize,
    /// Log size of every generated container (512, 64KiB, 1MiB, 2GiB, ...).
    #[arg(
        long,
        value_name = "SIZE",
        default_value = "1MiB",
        requires = "generate"
    )]
    pub log_bytes: String,
    /// List only the first N pods in the application's cluster-wide views (nodetool status,
    /// gossipinfo, zoo.cfg's servers, Kafka's broker lists); every pod when left out. Each pod
    /// lists the whole cluster, so a collection's output grows with pods squared without it.
    #[arg(long, value_name = "N", requires = "generate")]
    pub peers: Option<usize>,
    /// Nodes to spread the generated pods over (pod i on node i mod N); default one per pod, up
    /// to 100.
    #[arg(long, value_name = "N", requires = "generate")]
    pub nodes: Option<usize>,
}

fn rate(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number; give a share between 0.0 and 1.0"))?;
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!(
            "{f} is outside 0.0..=1.0; give a share such as 0.05"
        ))
    }
}

impl ServeArgs {
    /// The scenario's faults with the flags' overrides, or `None` when no flag was given.
    fn faults(&self, base: &FaultConfig) -> Option<FaultConfig> {
        let any = self.latency_ms.is_some()
            || self.jitter_ms.is_some()
            || self.error_rate.is_some()
            || self.throttle_rate.is_some()
            || self.reset_rate.is_some()
            || self.seed.is_some()
            || !self.vanish_pods.is_empty()
            || !self.route_latency.is_empty()
            || !self.exec_latency.is_empty();
        if !any {
            return None;
        }
        let mut f = base.clone();
        if let Some(v) = self.latency_ms {
            f.latency_ms = v;
        }
        if let Some(v) = self.jitter_ms {
            f.jitter_ms = v;
        }
        if let Some(v) = self.error_rate {
            f.error_rate = v;
        }
        if let Some(v) = self.throttle_rate {
            f.throttle_rate = v;
        }
        if let Some(v) = self.reset_rate {
            f.reset_rate = v;
        }
        if let Some(v) = self.seed {
            f.seed = v;
        }
        f.vanish_pods.extend(self.vanish_pods.iter().cloned());
        // Flag rules come first: they win over the scenario's for the same paths.
        f.route_latency
            .splice(0..0, self.route_latency.iter().cloned());
        f.exec_latency
            .splice(0..0, self.exec_latency.iter().cloned());
        Some(f)
    }
}

pub async fn exec(args: Args, _g: &super::Global) -> crate::Result<u8> {
    if let Some(SimCommand::List) = args.command {
        print!("{}", crate::sim::scenarios::list_text());
        return Ok(crate::exit::OK);
    }
    let a = args.serve;
    let scenario: Scenario = match (a.scenario.as_deref(), a.gen.generate.as_deref()) {
        (Some(name), _) => crate::sim::scenarios::load(name)?,
        (None, Some(app)) => crate::sim::generate::scenario_from_generate_flags(
            app,
            a.gen.pods,
            a.gen.containers,
            &a.gen.log_bytes,
            a.seed.unwrap_or(0),
            a.gen.peers,
            a.gen.nodes,
        )?,
        (None, None) => {
            return Err(crate::Error::Usage(
                "no scenario given; pass --scenario FILE (a scenario YAML, see docs/scenarios.md) or a built-in NAME (see `kudo-diag sim list`), or --generate APP"
                    .into(),
            ))
        }
    };
    // Inconsistencies are worth knowing but need not stop a hand-written scenario.
    for problem in crate::sim::scenarios::problems(&scenario) {
        eprintln!("warning: scenario {}: {problem}", scenario.name);
    }
    let faults = a.faults(&scenario.faults);
    let what = format!("simulated cluster {:?}", scenario.name);
    let opts = SimOptions {
        addr: a.addr,
        insecure_http: a.insecure_http,
        token: a.token.clone(),
        faults,
        read_only: false,
    };
    serve_until_interrupted(scenario, opts, a.kubeconfig_out.as_deref(), &what).await
}

/// Starts the server, writes its kubeconfig (to `kubeconfig_out`, else a temporary file removed
/// at exit) once it accepts connections, prints `export KUBECONFIG=...` on stdout, and serves
/// until Ctrl-C or SIGTERM. `what` names the server on stderr. Shared by `sim` and `serve`.
pub(crate) async fn serve_until_interrupted(
    scenario: Scenario,
    opts: SimOptions,
    kubeconfig_out: Option<&std::path::Path>,
    what: &str,
) -> crate::Result<u8> {
    // Listen for signals before announcing the server: a client that reads the export line
    // and stops us at once must find the handlers installed.
    let interrupted = Interrupt::install()?;
    let handle = SimServer::start(scenario, opts).await?;
    let (path, temporary) = match kubeconfig_out {
        Some(p) => (p.to_path_buf(), false),
        None => (
            std::env::temp_dir().join(format!("kudo-diag-sim-{}.kubeconfig", handle.addr().port())),
            true,
        ),
    };
    // Written only now: the listener is bound, so a client reading it can connect at once.
    handle.write_kubeconfig(&path)?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    eprintln!("{what} serving at {} (Ctrl-C to stop)", handle.base_url());
    println!("export KUBECONFIG={}", path.display());
    interrupted.wait().await;
    eprintln!("stopping the {what}");
    handle.shutdown().await;
    if temporary {
        let _ = std::fs::remove_file(&path);
    }
    Ok(crate::exit::OK)
}

/// Ctrl-C, or SIGTERM on unix (how process managers and tests stop it), registered when
/// installed rather than when first awaited.
struct Interrupt {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupt {
    fn install() -> crate::Result<Interrupt> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let fail = |e: std::io::Error| {
                crate::Error::Other(format!("failed to listen for Ctrl-C and SIGTERM: {e}"))
            };
            Ok(Interrupt {
                int: signal(SignalKind::interrupt()).map_err(fail)?,
                term: signal(SignalKind::terminate()).map_err(fail)?,
            })
        }
        #[cfg(not(unix))]
        Ok(Interrupt {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
