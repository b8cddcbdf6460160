//! Scale benchmark of a whole collection (issue 4 item 6): generated instances of N pods are
//! served by the simulated cluster in this process and collected with the built-in pipeline
//! chosen for the operator, through the same engine, kinds and sink as `kudo-diag run`, with and
//! without API latency. Reports wall time, requests per second the server saw, MB/s into the
//! bundle, and this process's peak memory (VmHWM, which includes the simulated cluster), then
//! `kubectl cluster-info dump` of the same namespace as a reference point.
//!
//! Run: `cargo bench --bench scale` (sizes from KUDO_DIAG_SCALE_PODS, default 100,1000,5000).
//! Under `cargo test` (no `--bench` argument) it runs one tiny size as a smoke test.
//! Numbers and the machine go in docs/PERFORMANCE.md (`## Collection`).

use std::time::Instant;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use kudo_diag::bundle::redact::Redactor;
use kudo_diag::engine::{self, RunConfig, Silent, TaskEnv};
use kudo_diag::pipeline::{self, registry::default_registry};
use kudo_diag::sim::scenario::FaultConfig;
use kudo_diag::sim::{generate, SimOptions, SimServer};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn collect(pods: usize, log_bytes: u64, latency_ms: u64) {
    let scenario = generate::generate("cassandra", pods, 2, log_bytes, 7);
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
    let instance = "scale-cassandra";
    let registry = default_registry();
    let pipeline = pipeline::resolve(&["cassandra".to_string()], &registry).expect("pipeline");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scale.zip");
    let globals = json!({"instance": instance, "namespace": ns, "kudoNamespace": "kudo-system",
        "operator": "cassandra", "operatorVersion": "", "appVersion": "", "kudoVersion": ""});
    let target = json!({"cluster": sim.base_url(), "namespace": ns, "instance": instance});
    let mut config = RunConfig::new(pipeline, target, globals, out.clone());
    config.env = TaskEnv {
        kube: Some(sim.kube_client().expect("client")),
        settings: Default::default(),
    };
    config.redactor = Some(std::sync::Arc::new(Redactor::builtin()));
    let before = sim.state().metrics.snapshot().requests;
    let started = Instant::now();
    let summary = engine::run(config, &registry, &Silent, CancellationToken::new())
        .await
        .expect("the collection runs");
    let took = started.elapsed();
    let requests = sim.state().metrics.snapshot().requests - before;
    let raw = summary.counts.bytes as f64 / (1024.0 * 1024.0);
    println!(
        "collect {pods:>5} pods x 2 containers x {} KiB, latency {latency_ms:>3} ms: {:>7.2} s, {} tasks, {requests} requests ({:.0}/s), {raw:.1} MiB collected ({:.1} MiB/s), bundle {:.1} MiB, peak RSS so far {:.0} MiB",
        log_bytes / 1024,
        took.as_secs_f64(),
        summary.counts.done,
        requests as f64 / took.as_secs_f64(),
        raw / took.as_secs_f64(),
        std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) as f64 / (1024.0 * 1024.0),
        peak_rss_mib(),
    );
    // The reference point: kubectl's own dump of the same namespace.
    let kc = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kc).unwrap();
    let dump = dir.path().join("dump");
    let started = Instant::now();
    let kc2 = kc.clone();
    let ns2 = ns.clone();
    let ok = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kubectl")
            .args(["--kubeconfig"])
            .arg(&kc2)
            .args([
                "cluster-info",
                "dump",
                "--namespaces",
                &ns2,
                "--output-directory",
            ])
            .arg(&dump)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
    .await
    .unwrap();
    if ok {
        println!(
            "kubectl cluster-info dump of the same namespace: {:>7.2} s",
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("kubectl cluster-info dump: not run (kubectl missing or failed)");
    }
    sim.shutdown().await;
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = if bench {
        std::env::var("KUDO_DIAG_SCALE_PODS")
            .unwrap_or_else(|_| "100,1000,5000".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    } else {
        vec![5]
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    for pods in sizes {
        for latency in [0, 20] {
            rt.block_on(collect(pods, 64 * 1024, latency));
        }
    }
}
