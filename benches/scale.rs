//! Scale benchmark of a whole collection (issues 4 and 17): generated cassandra instances,
//! served by the simulated cluster in this process, are collected by the `kudo-diag` binary as
//! a child process (`kudo-diag run` with the defaults a user gets: no `--qps`, concurrency or
//! limit flags), with `kubectl cluster-info dump` of the same namespace beside it, on the same
//! server, in the same run.
//!
//! The emulator (this process, every thread) is pinned to core 0 and the measured clients to
//! core 1 with `taskset`, so neither steals the other's CPU (`KUDO_DIAG_SCALE_PIN=0` turns it
//! off). The collector is a child because its peak memory is one of the numbers measured, and
//! only a process of its own gives it; the emulator's counters (`SimState::metrics`,
//! `SimState::load`) are read in-process, and this process's CPU time during a collection is
//! the emulator's cost.
//!
//! Configurations (`KUDO_DIAG_SCALE_RUNS`, default all, comma-separated):
//! - `dump`: the same work as `kubectl cluster-info dump` (its lists and every container's log,
//!   `DUMP_WORK`), 300 pods, at 0, 5 and 20 ms of latency, kubectl beside it
//! - `full`: the full cassandra pipeline, 300 pods, 5 ms, kubectl's dump beside it
//! - `execs`: 120 pods over 40 nodes and 1,000 pods (100 nodes), every `nodetool` taking 1 s,
//!   20 ms of latency
//! - `memory`: 5,000 and 20,000 pods, no latency, for the collector's peak RSS
//!
//! For each run it prints: wall time; peak RSS (VmHWM, polled every 10 ms) and CPU time of the
//! client; requests the emulator answered and per second; the most streams per node and execs
//! per pod the emulator saw; MiB collected; the emulator's CPU time; and the ratio of kubectl's
//! wall time to kudo-diag's.
//!
//! Run: `cargo bench --bench scale`. Settings (environment):
//! - `KUDO_DIAG_SCALE_RUNS`: the configurations above
//! - `KUDO_DIAG_SCALE_PODS`: one pod count for every configuration (to try a smaller one)
//! - `KUDO_DIAG_SCALE_CONTAINERS` (default 2) and `KUDO_DIAG_SCALE_LOG_BYTES` (default 65536)
//! - `KUDO_DIAG_SCALE_PEERS` (default 50, `all` for every pod): how many pods each pod's
//!   cluster-wide views list (`nodetool status`, `gossipinfo`, `describecluster`; see
//!   `generate::Spec::peers`); listing every pod makes the output grow with pods squared
//! - `KUDO_DIAG_BIN`: the collector binary (default: the one cargo built with this benchmark)
//! - `KUDO_DIAG_SCALE_KUBECTL=0` skips the kubectl reference
//!
//! Under `cargo test` (no `--bench` argument) it runs one tiny size as a smoke test.
//! Numbers and the machine go in docs/PERFORMANCE.md (`## Collection`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kudo_diag::sim::scenario::{ExecLatency, FaultConfig};
use kudo_diag::sim::{generate, SimOptions, SimServer};

const INSTANCE: &str = "scale-cassandra";

/// A field of /proc/PID/status in KiB (`VmHWM`, `VmRSS`), as MiB.
fn status_mib(pid: &str, field: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// User plus system CPU seconds of a process, from /proc/PID/stat.
fn cpu_secs(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields are counted after its closing paren.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on (getconf CLK_TCK).
    Some(ticks / 100.0)
}

/// What a child process cost.
struct ChildRun {
    wall: Duration,
    peak_rss_mib: f64,
    cpu_secs: f64,
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs a command to its end, sampling its memory high-water mark and CPU time while it runs.
fn measure(mut cmd: Command) -> std::io::Result<ChildRun> {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id().to_string();
    // Drain the pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let (mut peak, mut cpu) = (0.0f64, 0.0f64);
    let status = loop {
        if let Some(v) = status_mib(&pid, "VmHWM:") {
            peak = peak.max(v);
        }
        if let Some(c) = cpu_secs(&pid) {
            cpu = cpu.max(c);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(ChildRun {
        wall: started.elapsed(),
        peak_rss_mib: peak,
        cpu_secs: cpu,
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

/// Uncompressed bytes of every entry of a bundle.
fn content_bytes(bundle: &Path) -> u64 {
    let Ok(f) = std::fs::File::open(bundle) else {
        return 0;
    };
    let Ok(mut z) = zip::ZipArchive::new(std::io::BufReader::new(f)) else {
        return 0;
    };
    (0..z.len())
        .filter_map(|i| z.by_index_raw(i).ok().map(|e| e.size()))
        .sum()
}

/// `N done, M reused, K failed` from the collector's summary line.
fn summary_counts(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.contains(" done, "))
        .and_then(|l| l.split(": ").last())
        .map(|s| s.split(" in ").next().unwrap_or(s).to_string())
        .unwrap_or_else(|| "no summary".into())
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

struct Settings {
    bin: PathBuf,
    containers: usize,
    log_bytes: u64,
    peers: Option<usize>,
    kubectl: bool,
    /// `taskset -c 1` for the measured clients, the emulator pinned to core 0.
    pin: bool,
}

/// The same work as `kubectl cluster-info dump --namespaces NS`: its lists (nodes, and the
/// namespace's events, replication controllers, services, daemon sets, deployments, replica
/// sets and pods) and every container's current log, as a kudo-diag pipeline.
const DUMP_WORK: &str = r#"apiVersion: kudo-diag.dev/v1
kind: Pipeline
metadata:
  name: dump-work
  description: the lists and logs of kubectl cluster-info dump, for the scale benchmark
spec:
  tasks:
    - {name: nodes, kind: k8s.list, params: {apiVersion: v1, kind: Node, returnItems: false}, output: nodes.yaml}
    - {name: events, kind: k8s.list, params: {apiVersion: v1, kind: Event, returnItems: false}, output: events.yaml}
    - {name: rcs, kind: k8s.list, params: {apiVersion: v1, kind: ReplicationController, returnItems: false}, output: rcs.yaml}
    - {name: services, kind: k8s.list, params: {apiVersion: v1, kind: Service, returnItems: false}, output: services.yaml}
    - {name: daemonsets, kind: k8s.list, params: {apiVersion: apps/v1, kind: DaemonSet, returnItems: false}, output: daemonsets.yaml}
    - {name: deployments, kind: k8s.list, params: {apiVersion: apps/v1, kind: Deployment, returnItems: false}, output: deployments.yaml}
    - {name: replicasets, kind: k8s.list, params: {apiVersion: apps/v1, kind: ReplicaSet, returnItems: false}, output: replicasets.yaml}
    - {name: pods, kind: k8s.list, params: {apiVersion: v1, kind: Pod}, output: pods.yaml}
    - name: logs
      kind: k8s.logs
      needs: [pods]
      forEach: {task: pods, as: pod, then: {path: spec.containers, as: container}}
      params: {pod: "{{pod}}", container: "{{container.name}}"}
      output: "logs/{{pod.metadata.name}}/{{container.name}}.log"
"#;

/// One measured configuration.
struct Run {
    label: &'static str,
    pods: usize,
    /// Nodes to spread the pods over (`sim --generate --nodes`); the generator's default when
    /// `None`.
    nodes: Option<usize>,
    latency_ms: u64,
    /// How long every `nodetool` runs (`sim --exec-ms ^nodetool=MS`).
    nodetool_ms: u64,
    /// The dump's work (`DUMP_WORK`) instead of the operator's full pipeline.
    dump_work: bool,
    /// `kubectl cluster-info dump` of the namespace beside it, on the same server.
    kubectl: bool,
}

/// A client as a child process, pinned to core 1 when the benchmark pins.
fn client(s: &Settings, program: &Path) -> Command {
    if s.pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

async fn collect(s: &Settings, r: &Run) {
    let pods = r.pods;
    let latency_ms = r.latency_ms;
    let scenario = generate::generate(&generate::Spec {
        containers: s.containers,
        log_bytes: s.log_bytes,
        seed: 7,
        peers: s.peers,
        nodes: r.nodes,
        ..generate::Spec::new("cassandra", pods)
    });
    let ns = scenario.namespace.clone();
    let faults = FaultConfig {
        latency_ms,
        jitter_ms: latency_ms / 2,
        seed: 1,
        exec_latency: (r.nodetool_ms > 0)
            .then(|| ExecLatency {
                command: "^nodetool".into(),
                latency_ms: r.nodetool_ms,
            })
            .into_iter()
            .collect(),
        ..FaultConfig::default()
    };
    let sim = SimServer::start(
        scenario,
        SimOptions {
            faults: Some(faults),
            ..SimOptions::default()
        },
    )
    .await
    .expect("the simulated cluster starts");
    let dir = tempfile::tempdir().expect("a temp dir");
    let kc = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kc)
        .expect("the kubeconfig is written");
    let out = dir.path().join("scale.zip");
    let mut cmd = client(s, &s.bin);
    // The defaults a user gets: no --qps, --concurrency or limit flags.
    cmd.arg("run")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["-n", &ns, "--instance", INSTANCE])
        .args(["--progress", "none", "--bundle"])
        .arg(&out);
    if r.dump_work {
        let p = dir.path().join("dump-work.yaml");
        std::fs::write(&p, DUMP_WORK).expect("the pipeline is written");
        cmd.arg("--pipeline").arg(p);
    }
    let me = std::process::id().to_string();
    let sim_cpu0 = cpu_secs(&me).unwrap_or(0.0);
    let before = sim.state().metrics.snapshot().requests;
    // The child runs on a blocking thread: the emulator answers it on this runtime's workers.
    let run = tokio::task::spawn_blocking(move || measure(cmd))
        .await
        .expect("the measuring thread")
        .expect("the collector starts");
    let requests = sim.state().metrics.snapshot().requests - before;
    let sim_cpu = cpu_secs(&me).unwrap_or(0.0) - sim_cpu0;
    let load = sim.state().load.snapshot();
    // Generated pods answer every command of the pipeline: anything but a complete bundle is
    // worth seeing.
    if run.status.code() != Some(0) {
        println!(
            "{}: kudo-diag exited with {}: {}",
            r.label,
            run.status,
            run.stderr.trim()
        );
    }
    let secs = run.wall.as_secs_f64();
    let content = content_bytes(&out);
    let bundle = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{} ({pods} pods over {} nodes x {} containers x {} KiB, latency {latency_ms} ms, nodetool {} ms): \
         kudo-diag {secs:.2} s wall, peak RSS {:.1} MiB, CPU {:.2} s; {}; {requests} requests ({:.0}/s); \
         most streams per node {}, execs per pod {}, in all {}; \
         {:.1} MiB collected ({:.2} MiB/s), bundle {:.1} MiB; emulator CPU {:.2} s \
         ({:.0} requests per CPU second), emulator process peak RSS so far {:.0} MiB",
        r.label,
        r.nodes.map_or("default".to_string(), |n| n.to_string()),
        s.containers,
        s.log_bytes / 1024,
        r.nodetool_ms,
        run.peak_rss_mib,
        run.cpu_secs,
        summary_counts(&run.stdout),
        requests as f64 / secs,
        load.max_streams_per_node,
        load.max_execs_per_pod,
        load.max_streams,
        mib(content),
        mib(content) / secs,
        mib(bundle),
        sim_cpu,
        requests as f64 / sim_cpu.max(0.001),
        status_mib("self", "VmHWM:").unwrap_or(0.0),
    );
    if s.kubectl && r.kubectl {
        kubectl_dump(s, &sim, &kc, &ns, dir.path(), secs).await;
    }
    sim.shutdown().await;
}

/// The reference point: kubectl's own dump of the same namespace, on the same server.
async fn kubectl_dump(
    s: &Settings,
    sim: &kudo_diag::sim::SimHandle,
    kc: &Path,
    ns: &str,
    dir: &Path,
    ours: f64,
) {
    let dump = dir.join("dump");
    let mut cmd = client(s, Path::new("kubectl"));
    cmd.arg("--kubeconfig")
        .arg(kc)
        .args([
            "cluster-info",
            "dump",
            "--namespaces",
            ns,
            "--output-directory",
        ])
        .arg(&dump);
    let before = sim.state().metrics.snapshot().requests;
    let run = tokio::task::spawn_blocking(move || measure(cmd))
        .await
        .expect("the measuring thread");
    let requests = sim.state().metrics.snapshot().requests - before;
    match run {
        Ok(r) if r.status.success() => println!(
            "    kubectl cluster-info dump, same namespace: {:.2} s wall, peak RSS {:.1} MiB, CPU {:.2} s; {requests} requests ({:.0}/s); {:.1} MiB written; kubectl / kudo-diag wall = {:.2}",
            r.wall.as_secs_f64(),
            r.peak_rss_mib,
            r.cpu_secs,
            requests as f64 / r.wall.as_secs_f64(),
            mib(dir_bytes(&dump)),
            r.wall.as_secs_f64() / ours.max(0.001),
        ),
        Ok(r) => println!("    kubectl cluster-info dump failed: {}", r.stderr.trim()),
        Err(e) => println!("    kubectl cluster-info dump: not run ({e})"),
    }
}

/// Bytes of every file under a directory.
fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

fn env_list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The configurations of issue 17, by name (`KUDO_DIAG_SCALE_RUNS=dump,full,execs,memory`).
fn runs(names: &[String], pods_override: Option<usize>) -> Vec<Run> {
    let base = Run {
        label: "",
        pods: 300,
        nodes: None,
        latency_ms: 0,
        nodetool_ms: 0,
        dump_work: false,
        kubectl: true,
    };
    let mut out = Vec::new();
    for name in names {
        match name.as_str() {
            "dump" => {
                for latency_ms in [0, 5, 20] {
                    out.push(Run {
                        label: "dump's work",
                        latency_ms,
                        dump_work: true,
                        ..base
                    });
                }
            }
            "full" => out.push(Run {
                label: "full pipeline",
                latency_ms: 5,
                ..base
            }),
            "execs" => {
                out.push(Run {
                    label: "1 s nodetool",
                    pods: 120,
                    nodes: Some(40),
                    latency_ms: 20,
                    nodetool_ms: 1000,
                    kubectl: false,
                    ..base
                });
                out.push(Run {
                    label: "1 s nodetool",
                    pods: 1000,
                    latency_ms: 20,
                    nodetool_ms: 1000,
                    kubectl: false,
                    ..base
                });
            }
            "memory" => {
                for pods in [5000, 20000] {
                    out.push(Run {
                        label: "memory",
                        pods,
                        kubectl: false,
                        ..base
                    });
                }
            }
            other => println!("unknown run {other:?}: choose dump, full, execs or memory"),
        }
    }
    if let Some(p) = pods_override {
        for r in &mut out {
            r.pods = p;
        }
    }
    out
}

/// Pins this process (the emulator, all its threads) to core 0.
fn pin_self() -> bool {
    let ok = Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("taskset failed: the emulator and the clients are not pinned");
    }
    ok
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let names: Vec<String> = if bench {
        env_list("KUDO_DIAG_SCALE_RUNS", "dump,full,execs,memory")
    } else {
        vec!["full".into()]
    };
    // Under `cargo test`, one tiny run as a smoke test.
    let pods_override = if bench {
        env_list("KUDO_DIAG_SCALE_PODS", "").first().copied()
    } else {
        Some(5)
    };
    // Counted before this process pins itself to one core.
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pin = bench
        && std::env::var("KUDO_DIAG_SCALE_PIN").as_deref() != Ok("0")
        && cores >= 2
        && pin_self();
    let settings = Settings {
        bin: std::env::var_os("KUDO_DIAG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kudo-diag"))),
        containers: env_list("KUDO_DIAG_SCALE_CONTAINERS", "2")
            .first()
            .copied()
            .unwrap_or(2),
        log_bytes: env_list("KUDO_DIAG_SCALE_LOG_BYTES", "65536")
            .first()
            .copied()
            .unwrap_or(65536),
        peers: match std::env::var("KUDO_DIAG_SCALE_PEERS").as_deref() {
            Ok("all") => None,
            _ => Some(
                env_list("KUDO_DIAG_SCALE_PEERS", "50")
                    .first()
                    .copied()
                    .unwrap_or(50),
            ),
        },
        kubectl: bench && std::env::var("KUDO_DIAG_SCALE_KUBECTL").as_deref() != Ok("0"),
        pin,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!(
        "machine: {} cores; emulator on core 0 and clients on core 1: {pin}; collector: {}; peers listed: {}; load: {}",
        cores,
        settings.bin.display(),
        settings
            .peers
            .map_or_else(|| "all".to_string(), |n| n.to_string()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    );
    for r in runs(&names, pods_override) {
        rt.block_on(collect(&settings, &r));
    }
}
