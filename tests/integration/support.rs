//! What the integration tests share: running the real binary (`run_in`, `kudo_diag`,
//! `RunArgs`), a simulated cluster with faults (`Sim`), a collection by the library
//! (`Collection`, `failed_nodes`) and kubectl pointed at a simulated cluster (`Kubectl`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use kudo_diag::bundle::redact::Redactor;
use kudo_diag::engine::{self, LogSettings, Reporter, RunConfig, Summary, TaskEnv};
use kudo_diag::pipeline::Pipeline;
use kudo_diag::registry::default_registry;
use kudo_diag::session::RunTarget;
use kudo_diag::sim::scenario::{FaultConfig, Scenario};
use kudo_diag::sim::{scenarios, SimHandle, SimOptions, SimServer};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// The `kudo-diag` binary cargo built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kudo-diag"))
}

/// Runs the binary with `args` in `dir` and returns its output.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kudo-diag")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether kubectl can be run; fails the test in CI (`KUDO_DIAG_REQUIRE_KUBECTL=1`), where
/// .ci/run makes sure it is there, and skips loudly elsewhere.
pub fn have_kubectl() -> bool {
    let ok = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("KUDO_DIAG_REQUIRE_KUBECTL").as_deref() == Ok("1") {
            panic!("kubectl is not on PATH but KUDO_DIAG_REQUIRE_KUBECTL=1: install kubectl v1.32 or unset the variable");
        }
        eprintln!("!!!!! SKIPPED: kubectl is not on PATH; this kubectl test did not run !!!!!");
    }
    ok
}

/// kubectl pointed at one simulated cluster, with its own cache and HOME.
pub struct Kubectl {
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Kubectl {
    pub fn new(h: &SimHandle) -> Kubectl {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        h.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
        Kubectl { dir, kubeconfig }
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .output()
            .await
            .expect("run kubectl")
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(
            o.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// The rest of a child's standard output, kept open: a child whose stdout is closed fails its
/// next print.
pub type ChildLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// Waits, at most 30 s, for the first line a `sim` or `serve` child prints,
/// `export KUBECONFIG=PATH`, and returns PATH with the rest of the child's output.
pub async fn announced_kubeconfig(child: &mut tokio::process::Child) -> (PathBuf, ChildLines) {
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the child prints `export KUBECONFIG=` in time")
        .expect("the child's stdout reads")
        .expect("the child prints a line before exiting");
    let path = line
        .strip_prefix("export KUBECONFIG=")
        .unwrap_or_else(|| panic!("first line is not `export KUBECONFIG=PATH`: {line}"));
    (PathBuf::from(path), lines)
}

/// Sends SIGTERM to a kudo-diag child (a `sim` or `serve` running until interrupted) and waits,
/// at most 20 s, for its exit code.
pub async fn terminate(child: &mut tokio::process::Child) -> Option<i32> {
    let pid = child.id().expect("still running").to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("kudo-diag stops on SIGTERM")
        .unwrap()
        .code()
}

/// A simulated cluster as a test wants it: a scenario, its faults, its options.
/// `Sim::builtin("cassandra").faults(FaultConfig { error_rate: 1.0, ..Default::default() }).start()`.
pub struct Sim {
    scenario: Scenario,
    options: SimOptions,
}

impl Sim {
    pub fn new(scenario: Scenario) -> Sim {
        Sim {
            scenario,
            options: SimOptions::default(),
        }
    }

    /// A built-in scenario (`kudo-diag sim list`).
    pub fn builtin(name: &str) -> Sim {
        Sim::new(scenarios::load(name).expect("a built-in scenario"))
    }

    pub fn faults(mut self, faults: FaultConfig) -> Sim {
        self.options.faults = Some(faults);
        self
    }

    /// Faults when given; none otherwise.
    pub fn maybe_faults(mut self, faults: Option<FaultConfig>) -> Sim {
        self.options.faults = faults;
        self
    }

    /// Refuses writes, dry-runs and exec, as `kudo-diag serve` does.
    pub fn read_only(mut self) -> Sim {
        self.options.read_only = true;
        self
    }

    pub fn options(mut self, f: impl FnOnce(&mut SimOptions)) -> Sim {
        f(&mut self.options);
        self
    }

    pub async fn start(self) -> SimHandle {
        SimServer::start(self.scenario, self.options)
            .await
            .expect("the simulated cluster starts")
    }

    /// Started, with a temp folder of its own and the kubeconfig in it:
    /// `let (sim, dir, kubeconfig) = Sim::builtin("cassandra").cluster().await;`.
    pub async fn cluster(self) -> (SimHandle, tempfile::TempDir, PathBuf) {
        let sim = self.start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
        (sim, dir, kubeconfig)
    }
}

/// The nodes that failed, as `node: error`, in the order they finished.
pub fn failed_nodes(events: &engine::EventLog) -> Vec<String> {
    events
        .events()
        .iter()
        .filter_map(|e| match e {
            engine::Event::Finished {
                node,
                error: Some(err),
                ..
            } => Some(format!("{node}: {err}")),
            _ => None,
        })
        .collect()
}

/// Runs the binary in `dir` (with `kubeconfig` as $KUBECONFIG) off the async runtime.
pub async fn kudo_diag(dir: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> Output {
    let dir = dir.to_path_buf();
    let kubeconfig = kubeconfig.map(Path::to_path_buf);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut c = bin();
        c.args(&args).current_dir(&dir).env_remove("KUBECONFIG");
        if let Some(k) = kubeconfig {
            c.env("KUBECONFIG", k);
        }
        c.output().expect("run kudo-diag")
    })
    .await
    .unwrap()
}

/// The argv of `kudo-diag run` as a user types it:
/// `RunArgs::new().pipeline(p).output("x.zip").progress("none").get()`.
#[derive(Default)]
pub struct RunArgs(Vec<String>);

impl RunArgs {
    pub fn new() -> RunArgs {
        RunArgs(vec!["run".into()])
    }

    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> RunArgs {
        self.0.push(a.as_ref().to_string_lossy().into_owned());
        self
    }

    pub fn flag(self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> RunArgs {
        self.arg(name).arg(value)
    }

    pub fn pipeline(self, p: impl AsRef<std::ffi::OsStr>) -> RunArgs {
        self.flag("--pipeline", p)
    }

    pub fn instance(self, i: &str) -> RunArgs {
        self.flag("--instance", i)
    }

    /// The bundle to write (`--bundle FILE.zip`).
    pub fn output(self, o: impl AsRef<std::ffi::OsStr>) -> RunArgs {
        self.flag("--bundle", o)
    }

    pub fn progress(self, mode: &str) -> RunArgs {
        self.flag("--progress", mode)
    }

    pub fn args(mut self, more: &[&str]) -> RunArgs {
        self.0.extend(more.iter().map(|s| s.to_string()));
        self
    }

    pub fn get(&self) -> Vec<&str> {
        self.0.iter().map(String::as_str).collect()
    }

    /// Runs them in `dir` with no cluster.
    pub fn run_in(&self, dir: &Path) -> Output {
        run_in(dir, &self.get())
    }
}

/// The built-in pipeline `name` (with what it extends), against every kind of the build.
pub fn builtin_pipeline(name: &str) -> Pipeline {
    kudo_diag::pipeline::resolve(&[name.to_string()], &default_registry())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A collection by the library (no binary) from a simulated cluster, set up as a test wants:
/// `Collection::new(&sim, pipeline, "prod", "cassandra").output(path).run(&events)`.
pub struct Collection {
    config: RunConfig,
}

impl Collection {
    /// `pipeline` for `instance` in `namespace`, with the globals a run has for them (more with
    /// `globals`), into `namespace_instance.zip` in the current folder until `output` says.
    pub fn new(sim: &SimHandle, pipeline: Pipeline, namespace: &str, instance: &str) -> Collection {
        let target = RunTarget {
            cluster: sim.base_url().to_string(),
            namespace: namespace.into(),
            instance: instance.into(),
        };
        let globals =
            json!({"instance": instance, "namespace": namespace, "kudoNamespace": "kudo-system"});
        let mut config = RunConfig::new(
            pipeline,
            target.to_value(),
            globals,
            PathBuf::from(format!("{namespace}_{instance}.zip")),
        );
        config.env = TaskEnv {
            kube: Some(
                sim.kube_client()
                    .expect("a client for the simulated cluster"),
            ),
            logs: LogSettings::default(),
        };
        Collection { config }
    }

    pub fn output(mut self, path: impl Into<PathBuf>) -> Collection {
        self.config.output = path.into();
        self
    }

    /// More template variables (`operator`, `appVersion`, ...), over the defaults.
    pub fn globals(mut self, more: Value) -> Collection {
        if let (Some(g), Value::Object(more)) = (self.config.globals.as_object_mut(), more) {
            g.extend(more);
        }
        self
    }

    pub fn logs(mut self, logs: LogSettings) -> Collection {
        self.config.env.logs = logs;
        self
    }

    pub fn redactor(mut self, r: Arc<Redactor>) -> Collection {
        self.config.redactor = Some(r);
        self
    }

    /// Runs to the end with every task kind of the build, reporting to `reporter`.
    pub async fn run(self, reporter: &dyn Reporter) -> Summary {
        engine::run(
            self.config,
            &default_registry(),
            reporter,
            CancellationToken::new(),
        )
        .await
        .expect("the collection completes")
    }
}

/// kubectl with this kubeconfig and its own discovery cache in `cache`.
pub async fn kubectl_at(kubeconfig: &Path, cache: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .await
        .expect("run kubectl")
}

/// A runtime of two workers, for a test that collects before it checks (and for the bundles
/// collected once per test binary run).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// How many pods a scale measurement generates: `KUDO_DIAG_SCALE_PODS`, else `default`.
pub fn scale_pods(default: usize) -> usize {
    std::env::var("KUDO_DIAG_SCALE_PODS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The seed of a test that kills at random points: `KUDO_DIAG_CRASH_SEED` to repeat one, else
/// the clock.
pub fn crash_seed() -> u64 {
    std::env::var("KUDO_DIAG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// The paths of `got` whose hash is not the one in `want`.
pub fn differing<'a>(
    want: &std::collections::BTreeMap<String, String>,
    got: &'a std::collections::BTreeMap<String, String>,
) -> Vec<&'a String> {
    got.iter()
        .filter(|(p, h)| want.get(*p) != Some(h))
        .map(|(p, _)| p)
        .collect()
}
