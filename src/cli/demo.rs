//! `kudo-diag demo`: the whole tool in one command, with no cluster. It starts the simulated
//! cluster in this process with a built-in scenario, collects the scenario's KUDO instance into a
//! bundle in the current folder exactly as `kudo-diag run` would against a real cluster (same
//! kubeconfig path, same pipeline choice, same redaction: the same `session`), and says
//! what is in the bundle.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::bundle::reader::{BundleReader, Limits as ReaderLimits};
use crate::registry::default_registry;
use crate::session::{Output, Request, Session};
use crate::sim::scenarios;
use crate::sim::server::{SimOptions, SimServer};

/// Collect a bundle from the built-in simulated cluster, to see the tool work.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kudo-diag demo                              the cassandra scenario, bundle in this folder
  kudo-diag demo --scenario broken-cassandra  an instance with planted faults
  kudo-diag sim list                          the scenarios there are")]
pub struct Args {
    /// Built-in scenario (`kudo-diag sim list`) or a scenario file.
    #[arg(long, value_name = "NAME|FILE", default_value = "cassandra")]
    pub scenario: String,
    /// Where to write the bundle (default: the current directory).
    #[arg(long, value_name = "DIR", conflicts_with = "output_dir")]
    pub bundle_dir: Option<PathBuf>,
    /// The old spelling of --bundle-dir.
    #[arg(long, value_name = "DIR", hide = true)]
    pub output_dir: Option<PathBuf>,
    /// How to show progress (on stderr).
    #[arg(long, value_enum, default_value_t = super::progress::ProgressMode::Auto)]
    pub progress: super::progress::ProgressMode,
}

pub async fn exec(args: Args, _g: &super::Global) -> crate::Result<u8> {
    let scenario = scenarios::load(&args.scenario)?;
    let instance = main_instance(&scenario).ok_or_else(|| {
        crate::Error::Usage(format!(
            "scenario {} has no KUDO Instance in its namespace {}; pick one that has (`kudo-diag sim list`)",
            scenario.name, scenario.namespace
        ))
    })?;
    if args.output_dir.is_some() {
        super::output::deprecated("--output-dir DIR", "--bundle-dir DIR");
    }
    let dir = args
        .bundle_dir
        .or(args.output_dir)
        .unwrap_or_else(|| PathBuf::from("."));
    let namespace = scenario.namespace.clone();
    let name = scenario.name.clone();
    let sim = SimServer::start(scenario, SimOptions::default()).await?;
    let kubeconfig = tempfile_path()?;
    sim.write_kubeconfig(kubeconfig.path())?;
    eprintln!(
        "started the simulated cluster (scenario {name}) at {}",
        sim.base_url()
    );

    // What `kudo-diag run --instance NAME -n NS --bundle-dir DIR` asks, with the simulated
    // cluster's kubeconfig.
    let mut request = Request {
        namespace: Some(namespace.clone()),
        output: Output::Dir(dir.clone()),
        ..Request::new(instance.clone())
    };
    request.connection.kubeconfig = Some(kubeconfig.path().to_path_buf());
    let registry = default_registry();
    let before = bundles_in(&dir);
    let code = match Session::open(request, &registry).await {
        Ok(session) => super::run::collect(session, args.progress, &registry)
            .await
            .map(|summary| super::run::exit_code(&summary)),
        Err(e) => Err(e),
    };
    sim.shutdown().await;
    let code = code?;

    let after = bundles_in(&dir);
    if let Some(bundle) = after.into_iter().find(|b| !before.contains(b)) {
        println!();
        println!(
            "The bundle of instance {instance} (namespace {namespace}) is {}",
            bundle.display()
        );
        describe(&bundle)?;
        println!();
        println!(
            "What the analysis of the bundle says (`kudo-diag analyze {}`):",
            bundle.display()
        );
        println!();
        let report = crate::analyze::analyze_bundle(&bundle)?;
        let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        print!("{}", crate::analyze::render_text(&report, color));
        println!();
        println!("Next: `kudo-diag bundle ls {}` lists every file; `kudo-diag bundle verify` checks every hash;", bundle.display());
        println!("      `kudo-diag analyze {} -o html --report report.html` writes this report as one page;", bundle.display());
        println!(
            "      `kudo-diag serve {}` lets kubectl get, describe and read logs from the bundle;",
            bundle.display()
        );
        println!("      `kudo-diag run --instance NAME -n NS` does the same against your cluster.");
        if report.findings.is_empty() {
            // A healthy instance shows collection but no diagnosis; point at one that has faults.
            println!("      `kudo-diag demo --scenario broken-cassandra` shows a diagnosis of an instance with faults.");
        }
    }
    Ok(code)
}

/// The scenario's top-level KUDO Instance: one in the main namespace that no other instance owns.
fn main_instance(scenario: &crate::sim::Scenario) -> Option<String> {
    scenario
        .objects
        .iter()
        .filter(|o| {
            o["kind"] == "Instance"
                && o["apiVersion"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("kudo.dev/"))
                && o["metadata"]["namespace"]
                    .as_str()
                    .is_none_or(|n| n == scenario.namespace)
        })
        .find(|o| {
            !o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["kind"] == "Instance"))
        })
        .and_then(|o| o["metadata"]["name"].as_str().map(str::to_string))
}

fn bundles_in(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "zip"))
                .collect()
        })
        .unwrap_or_default()
}

/// What is in the bundle: files per top-level folder, and the collection's problems.
fn describe(path: &std::path::Path) -> crate::Result<()> {
    let reader = BundleReader::open(path, ReaderLimits::default())?;
    let mut by_dir: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for f in &reader.manifest().files {
        let top = f.path.split('/').next().unwrap_or("").to_string();
        let e = by_dir.entry(top).or_default();
        e.0 += 1;
        e.1 += f.bytes;
    }
    println!("{:<14} {:>6} {:>12}", "folder", "files", "bytes");
    for (dir, (n, bytes)) in &by_dir {
        println!("{dir:<14} {n:>6} {bytes:>12}");
    }
    let errors = reader.errors();
    if !errors.is_empty() {
        println!(
            "{} task(s) did not finish (errors.json says why):",
            errors.len()
        );
        for e in errors.iter().take(10) {
            println!("  {} ({}): {}", e.node, e.status, e.reason);
        }
    }
    Ok(())
}

/// A private temporary file for the demo's kubeconfig, removed when dropped.
fn tempfile_path() -> crate::Result<TempPath> {
    let dir = std::env::temp_dir().join(format!("kudo-diag-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::Error::io(&dir, e))?;
    Ok(TempPath(dir.join("kubeconfig")))
}

struct TempPath(PathBuf);

impl TempPath {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
