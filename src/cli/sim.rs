//! `kudo-diag sim`: serve a scenario as a simulated Kubernetes cluster until interrupted, and
//! write a kubeconfig for it once it accepts connections.

use std::path::{Path, PathBuf};

use crate::sim::scenario::{FaultConfig, Scenario};
use crate::sim::server::{SimOptions, SimServer};
use crate::sim::SimError;

/// Run the simulated Kubernetes cluster.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  kudo-diag sim --scenario my-scenario.yaml --kubeconfig-out sim.kubeconfig\n  kudo-diag sim --scenario s.yaml --latency-ms 50 --jitter-ms 20 --throttle-rate 0.05 --seed 7"
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
    /// A built-in scenario's name or a scenario YAML file.
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: Option<String>,
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
    /// Seed of the fault dice, to reproduce a run.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// A pod (NAME or NAMESPACE/NAME) that vanishes (404) once a list has returned it; repeat
    /// for more.
    #[arg(long = "vanish-pod", value_name = "POD")]
    pub vanish_pods: Vec<String>,
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
            || !self.vanish_pods.is_empty();
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
        Some(f)
    }
}

/// MERGE: replaced by `crate::sim::scenarios::load(name_or_path)` (built-in names and files)
/// when the scenario owner's branch is merged. Reads a scenario YAML file.
fn load_scenario(name_or_path: &str) -> Result<Scenario, SimError> {
    let path = Path::new(name_or_path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        SimError::Message(format!(
            "failed to read scenario {name_or_path:?}: {e}; give a scenario YAML file (built-in scenario names are not available in this build)"
        ))
    })?;
    serde_yaml::from_str(&text).map_err(|e| {
        SimError::Message(format!(
            "scenario {name_or_path:?} is not valid: {e}; see docs/scenarios.md"
        ))
    })
}

pub async fn exec(args: Args, _g: &super::Global) -> crate::Result<u8> {
    if let Some(SimCommand::List) = args.command {
        // MERGE: the scenario owner fills this in (`kudo-diag sim list`).
        return Err(crate::Error::NotImplemented("sim list"));
    }
    let a = args.serve;
    let Some(name) = a.scenario.as_deref() else {
        return Err(crate::Error::Usage(
            "no scenario given; pass --scenario FILE (a scenario YAML, see docs/scenarios.md)"
                .into(),
        ));
    };
    let scenario = load_scenario(name)?;
    let faults = a.faults(&scenario.faults);
    let scenario_name = scenario.name.clone();
    let opts = SimOptions {
        addr: a.addr,
        insecure_http: a.insecure_http,
        token: a.token.clone(),
        faults,
    };
    // Listen for signals before announcing the server: a client that reads the export line
    // and stops us at once must find the handlers installed.
    let interrupted = Interrupt::install()?;
    let handle = SimServer::start(scenario, opts).await?;
    let (path, temporary) = match &a.kubeconfig_out {
        Some(p) => (p.clone(), false),
        None => (
            std::env::temp_dir().join(format!("kudo-diag-sim-{}.kubeconfig", handle.addr().port())),
            true,
        ),
    };
    // Written only now: the listener is bound, so a client reading it can connect at once.
    handle.write_kubeconfig(&path)?;
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    eprintln!(
        "simulated cluster {scenario_name:?} serving at {} (Ctrl-C to stop)",
        handle.base_url()
    );
    println!("export KUBECONFIG={}", path.display());
    interrupted.wait().await;
    eprintln!("stopping the simulated cluster");
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
