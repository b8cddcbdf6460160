//! Issue 4 item 8 through the real binary against the simulated cluster, with the cluster
//! collection of the built-in scenarios (not synthetic tasks): every fault at once (b), a pod
//! that vanishes mid-collection (c), Forbidden on secrets (d), Ctrl-C then `--continue` (e), and
//! a planted secret value in a Secret, an env var, a log line and a command's output (f).
//! (a), SIGKILL at random points, is `run::sigkill_at_random_points_then_continue_gives_the_uninterrupted_bundle`.

use std::path::Path;
use std::time::Instant;

use kudo_diag::sim::scenario::FaultConfig;
use kudo_diag::sim::scenarios;

use crate::run::{entries, kudo_diag, manifest_files, start};
use crate::support::stderr;

/// The arguments of a collection of the built-in cassandra scenario's instance into `out`.
fn cassandra_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        "--instance",
        "analytics-cassandra",
        "-o",
        out,
        "--progress",
        "none",
    ];
    a.extend_from_slice(extra);
    a
}

/// Lines of the bundle's own log that say a node is being retried.
fn retries(zip: &Path) -> Vec<String> {
    let e = entries(zip);
    let log = String::from_utf8_lossy(&e["kudo-diag/collection.log"]).into_owned();
    log.lines()
        .filter(|l| l.contains("retrying "))
        .map(str::to_string)
        .collect()
}

/// Issue 4 item 8 (b): latency with jitter, 5% 500/503s, 429s with Retry-After and connections
/// dropped in the middle of the body, all at once: the collection still exits 0 with exactly
/// the artifacts (paths and hashes) of a fault-free collection of the same scenario.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_at_once_still_gives_the_fault_free_bundle() {
    let faults = FaultConfig {
        seed: 4,
        latency_ms: 5,
        jitter_ms: 20,
        error_rate: 0.05,
        throttle_rate: 0.05,
        retry_after_seconds: 1,
        reset_rate: 0.05,
        ..FaultConfig::default()
    };
    // One server for both runs: its logs and timestamps are anchored at its start, so the two
    // bundles can be compared hash for hash. The faults are off for the first run.
    let sim = start(scenarios::load("cassandra").unwrap(), Some(faults)).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kc).unwrap();

    sim.state().faults.set_enabled(false);
    let started = Instant::now();
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("clean.zip", &[])).await;
    let clean_time = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let clean_requests = sim.state().metrics.snapshot().requests;
    let want = manifest_files(&dir.path().join("clean.zip"));

    sim.state().faults.set_enabled(true);
    let started = Instant::now();
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("faulty.zip", &[])).await;
    let faulty_time = started.elapsed();
    let faulty_requests = sim.state().metrics.snapshot().requests - clean_requests;
    let zip = dir.path().join("faulty.zip");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        stderr(&o),
        String::from_utf8_lossy(
            entries(&zip)
                .get("errors.json")
                .map(Vec::as_slice)
                .unwrap_or_default()
        )
    );
    let got = manifest_files(&zip);
    let missing: Vec<&String> = want.keys().filter(|p| !got.contains_key(*p)).collect();
    let extra: Vec<&String> = got.keys().filter(|p| !want.contains_key(*p)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    // Every artifact is deterministic for one server (the same objects, logs anchored at its
    // start), so every hash must match too: no log cut short by a reset, nothing twice.
    let differing: Vec<&String> = got
        .iter()
        .filter(|(p, h)| want.get(*p) != Some(h))
        .map(|(p, _)| p)
        .collect();
    if let Some(first) = differing.first() {
        let (a, b) = (entries(&dir.path().join("clean.zip")), entries(&zip));
        let (a, b) = (
            String::from_utf8_lossy(&a[*first]).into_owned(),
            String::from_utf8_lossy(&b[*first]).into_owned(),
        );
        let only = |x: &str, y: &str| -> Vec<String> {
            x.lines()
                .filter(|l| !y.contains(*l))
                .take(10)
                .map(str::to_string)
                .collect()
        };
        panic!(
            "these differ from the fault-free run: {differing:?}\n{first} fault-free only: {:#?}\nwith faults only: {:#?}",
            only(&a, &b),
            only(&b, &a)
        );
    }
    let retried = retries(&zip);
    let injected = sim.state().faults.injected();
    // With this seed every kind of fault hits; a run that met none tested nothing.
    assert!(
        injected.errors >= 2 && injected.throttles >= 1 && injected.resets >= 1,
        "the faults did not bite: {injected:?}"
    );
    // Each hit costs its node one more attempt (the run's own retries, and those of the
    // requests before the engine starts, which the log does not show).
    assert!(
        retried.len() >= 5,
        "only {} retries after {injected:?}",
        retried.len()
    );
    // 429 waits the server's Retry-After (1 s here), also for exec, whose upgrade error keeps
    // only the status code.
    for l in retried.iter().filter(|l| l.contains(": 429 ")) {
        assert!(
            l.contains(" in 1s: "),
            "429 retried before its Retry-After: {l}"
        );
    }
    eprintln!(
        "fault-free: {clean_time:?}, {clean_requests} requests; all faults: {faulty_time:?}, \
         {faulty_requests} requests, {injected:?}, {} retries in the log, {} artifacts identical",
        retried.len(),
        got.len()
    );
    sim.shutdown().await;
}

/// Issue 4 item 3 at scale: a generated 50-pod Cassandra instance collected with the pipeline
/// chosen from its operator (cassandra: nodetool and config files in every node) records no
/// failure at all, because the generator scripts every command that pipeline runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_fifty_pod_cassandra_collects_without_a_single_failure() {
    let sc = kudo_diag::sim::generate::generate("cassandra", 50, 1, 2048, 11);
    let sim = start(sc, None).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kc).unwrap();
    let started = Instant::now();
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "scale-cassandra",
            "-n",
            kudo_diag::sim::generate::GENERATED_NAMESPACE,
            "-o",
            "scale.zip",
            "--progress",
            "none",
        ],
    )
    .await;
    let took = started.elapsed();
    let zip = dir.path().join("scale.zip");
    let e = entries(&zip);
    let errors: serde_json::Value = serde_json::from_slice(&e["errors.json"]).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}\n{errors:#}", stderr(&o));
    assert_eq!(
        errors,
        serde_json::json!([]),
        "no task may fail or be skipped"
    );
    let execs = sim.state().metrics.snapshot().execs;
    // 7 nodetool commands and 3 config files in each of the 50 nodes, nodetool version once.
    assert_eq!(execs, 50 * 10 + 1, "exec requests");
    let status =
        String::from_utf8_lossy(&e["apps/cassandra/scale-cassandra-node-49/nodetool-status.txt"])
            .into_owned();
    assert_eq!(status.lines().filter(|l| l.starts_with("UN  ")).count(), 50);
    eprintln!(
        "50 pods: {} entries, {execs} execs, no failure, in {took:?}",
        e.len()
    );
    sim.shutdown().await;
}
