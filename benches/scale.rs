//! Scale benchmark of a whole collection (issue 4 item 6): generated cassandra instances of N
//! pods, served by the simulated cluster in this process, are collected by the `kudo-diag`
//! binary as a child process (`kudo-diag run`, exactly as a user runs it), with and without API
//! latency; then `kubectl cluster-info dump` of the same namespace as a reference point.
//!
//! Why the collector is the child and the emulator stays here: the collector's peak memory is
//! the number issue 4 sets a limit on, and only a process of its own gives it (a shared process
//! has one high-water mark for both, which is how an earlier version of this benchmark reported
//! 840 MiB at 1,000 pods, mostly the emulator's). The emulator's request counters are in-process
//! (`SimState::metrics`), so keeping it here gives the requests each client sent without adding
//! an endpoint to it, and this process's CPU time during a collection is the emulator's cost.
//!
//! For each run it prints: wall time; the collector's tasks, peak RSS (VmHWM, polled every 10 ms
//! from /proc while it runs; the mark only grows, so the last sample is the peak up to the last
//! 10 ms) and CPU time; requests the emulator answered and per second; MiB of content collected
//! (uncompressed, from the bundle's entries) and per second; the bundle's size; the emulator's
//! CPU time and this process's peak RSS so far (emulator plus scenario, it only grows across
//! runs); and the same wall/requests/RSS for kubectl.
//!
//! Run: `cargo bench --bench scale`. Settings (environment):
//! - `KUDO_DIAG_SCALE_PODS`: sizes, default `100,1000,5000`
//! - `KUDO_DIAG_SCALE_LATENCY_MS`: latencies, default `0,20` (jitter is half of it)
//! - `KUDO_DIAG_SCALE_CONTAINERS` (default 2) and `KUDO_DIAG_SCALE_LOG_BYTES` (default 65536):
//!   `KUDO_DIAG_SCALE_PODS=200 KUDO_DIAG_SCALE_CONTAINERS=1 KUDO_DIAG_SCALE_LOG_BYTES=4194304
//!   KUDO_DIAG_SCALE_LATENCY_MS=0` is issue 4's memory target (200 pods x 4 MiB)
//! - `KUDO_DIAG_SCALE_PEERS` (default 50, `all` for every pod): how many pods each pod's
//!   cluster-wide views list (`nodetool status`, `gossipinfo`, `describecluster`; see
//!   `generate::Spec::peers`). The cassandra pipeline runs them on every pod, so listing every
//!   pod makes the collected output grow with pods squared (about 13 GB at 5,000 pods), which
//!   would measure the writing of that output rather than the collector at scale
//! - `KUDO_DIAG_BIN`: the collector binary (default: the one cargo built with this benchmark),
//!   to compare two builds on the same scenarios
//! - `KUDO_DIAG_SCALE_KUBECTL=0` skips the kubectl reference
//!
//! Under `cargo test` (no `--bench` argument) it runs one tiny size as a smoke test.
//! Numbers and the machine go in docs/PERFORMANCE.md (`## Collection`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kudo_diag::sim::scenario::FaultConfig;
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
}

async fn collect(s: &Settings, pods: usize, latency_ms: u64) {
    let scenario = generate::generate(&generate::Spec {
        containers: s.containers,
        log_bytes: s.log_bytes,
        seed: 7,
        peers: s.peers,
        ..generate::Spec::new("cassandra", pods)
    });
    let ns = scenario.namespace.clone();
    let faults = (latency_ms > 0).then(|| FaultConfig {
        latency_ms,
        jitter_ms: latency_ms / 2,
        seed: 1,
        ..FaultConfig::default()
    });
    let sim = SimServer::start(
        scenario,
        SimOptions {
            faults,
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
    let mut cmd = Command::new(&s.bin);
    cmd.arg("run")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["-n", &ns, "--instance", INSTANCE, "--qps", "0"])
        .args(["--progress", "none", "--bundle"])
        .arg(&out);
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
    // Generated pods answer every command of the pipeline: anything but a complete bundle is
    // worth seeing.
    if run.status.code() != Some(0) {
        println!(
            "collect {pods} pods: kudo-diag exited with {}: {}",
            run.status,
            run.stderr.trim()
        );
    }
    let secs = run.wall.as_secs_f64();
    let content = content_bytes(&out);
    let bundle = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "collect {pods:>5} pods x {} containers x {} KiB, latency {latency_ms:>3} ms: {secs:>7.2} s wall, \
         collector peak RSS {:.1} MiB, CPU {:.2} s; {}; {requests} requests ({:.0}/s); \
         {:.1} MiB collected ({:.2} MiB/s), bundle {:.1} MiB; emulator CPU {:.2} s \
         ({:.0} requests per CPU second), emulator process peak RSS so far {:.0} MiB",
        s.containers,
        s.log_bytes / 1024,
        run.peak_rss_mib,
        run.cpu_secs,
        summary_counts(&run.stdout),
        requests as f64 / secs,
        mib(content),
        mib(content) / secs,
        mib(bundle),
        sim_cpu,
        requests as f64 / sim_cpu.max(0.001),
        status_mib("self", "VmHWM:").unwrap_or(0.0),
    );
    if s.kubectl {
        // The reference point: kubectl's own dump of the same namespace.
        let dump = dir.path().join("dump");
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&kc)
            .args([
                "cluster-info",
                "dump",
                "--namespaces",
                &ns,
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
                "kubectl cluster-info dump, same namespace:       {:>7.2} s wall, peak RSS {:.1} MiB, CPU {:.2} s; {requests} requests ({:.0}/s); {:.1} MiB written",
                r.wall.as_secs_f64(),
                r.peak_rss_mib,
                r.cpu_secs,
                requests as f64 / r.wall.as_secs_f64(),
                mib(dir_bytes(&dump)),
            ),
            Ok(r) => println!("kubectl cluster-info dump failed: {}", r.stderr.trim()),
            Err(e) => println!("kubectl cluster-info dump: not run ({e})"),
        }
    }
    sim.shutdown().await;
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

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (sizes, latencies): (Vec<usize>, Vec<u64>) = if bench {
        (
            env_list("KUDO_DIAG_SCALE_PODS", "100,1000,5000"),
            env_list("KUDO_DIAG_SCALE_LATENCY_MS", "0,20"),
        )
    } else {
        (vec![5], vec![0])
    };
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
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!(
        "machine: {} cores; collector: {}; peers listed: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        settings.bin.display(),
        settings
            .peers
            .map_or_else(|| "all".to_string(), |n| n.to_string())
    );
    for pods in sizes {
        for &latency in &latencies {
            rt.block_on(collect(&settings, pods, latency));
        }
    }
}
