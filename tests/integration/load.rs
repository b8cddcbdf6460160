//! Limits keyed by what a task loads. Streams (logs, exec) are bounded per node and
//! commands per pod, measured by the simulated cluster's own counters (`SimState::load`), and
//! a throttling API server slows the collector's short requests down.

use std::path::Path;
use std::time::{Duration, Instant};

use kudo_diag::collect::connect::{connect, Connection};
use kudo_diag::sim::generate::{generate, Spec, GENERATED_NAMESPACE};
use kudo_diag::sim::scenario::{ExecLatency, FaultConfig};
use kudo_diag::sim::SimHandle;
use tokio_util::sync::CancellationToken;

use crate::support::{kudo_diag, stderr, Sim};

/// 12 generated Cassandra pods over 3 nodes whose `nodetool` takes 40 ms, as a real one takes
/// seconds: slow enough that attempts overlap and a limit that did not hold would show.
async fn twelve_pods_on_three_nodes() -> (SimHandle, tempfile::TempDir, std::path::PathBuf) {
    let sc = generate(&Spec {
        log_bytes: 4096,
        nodes: Some(3),
        ..Spec::new("cassandra", 12)
    });
    Sim::new(sc)
        .faults(FaultConfig {
            exec_latency: vec![ExecLatency {
                command: "^nodetool".into(),
                latency_ms: 40,
            }],
            ..FaultConfig::default()
        })
        .cluster()
        .await
}

async fn collect(dir: &Path, kc: &Path, more: &[&str]) {
    let mut args = vec![
        "run",
        "--instance",
        "scale-cassandra",
        "-n",
        GENERATED_NAMESPACE,
        "--bundle",
        "b.zip",
        "--progress",
        "none",
    ];
    args.extend_from_slice(more);
    let o = kudo_diag(dir, Some(kc), &args).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_stay_within_the_per_node_and_per_pod_limits() {
    let (sim, dir, kc) = twelve_pods_on_three_nodes().await;
    collect(dir.path(), &kc, &[]).await;
    let load = sim.state().load.snapshot();
    eprintln!("defaults: {load:?}");
    // `busiest_node` in the message names the streams that made the maximum.
    assert_eq!(
        load.max_streams_per_node, 2,
        "two streams per node by default, and used: {load:?}"
    );
    assert_eq!(load.max_execs_per_pod, 1, "one command per pod: {load:?}");
    assert!(load.max_streams > 2, "nodes work in parallel: {load:?}");
    assert_eq!(load.streams_now, 0);
    // 9 nodetool commands, 3 config files and 3 log files per pod, nodetool ring once, and
    // `kudo.versions`' nodetool version, in a pod it chooses while it runs (under the same
    // limits: engine::streams::acquire).
    assert_eq!(sim.state().metrics.snapshot().execs, 12 * 15 + 2);
    sim.shutdown().await;

    let (sim, dir, kc) = twelve_pods_on_three_nodes().await;
    collect(
        dir.path(),
        &kc,
        &["--streams-per-node", "3", "--commands-per-pod", "2"],
    )
    .await;
    let load = sim.state().load.snapshot();
    eprintln!("3 per node, 2 per pod: {load:?}");
    assert!(
        load.max_streams_per_node <= 3 && load.max_execs_per_pod <= 2,
        "{load:?}"
    );
    assert!(
        load.max_streams_per_node == 3,
        "the flag raises the bound: {load:?}"
    );
    sim.shutdown().await;
}

/// A command on a pod the pipeline names by its name only (`nodetool ring`, asked of
/// `<instance>-node-0`) has no Pod object in its plan to say which node serves it: the attempt
/// looks the node up and takes that node's slot before it opens the stream. Two pods on one
/// node, one stream per node: a command on the named pod and the listed pods' commands must
/// never overlap on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_on_a_pod_named_by_name_takes_its_nodes_slot() {
    let sc = generate(&Spec {
        nodes: Some(1),
        ..Spec::new("cassandra", 2)
    });
    let (sim, dir, kc) = Sim::new(sc)
        .faults(FaultConfig {
            exec_latency: vec![ExecLatency {
                command: "^nodetool".into(),
                latency_ms: 600,
            }],
            ..FaultConfig::default()
        })
        .cluster()
        .await;
    let pipeline = dir.path().join("named.yaml");
    std::fs::write(
        &pipeline,
        r#"apiVersion: kudo-diag.dev/v1
kind: Pipeline
metadata: {name: named}
spec:
  tasks:
    - name: ring
      kind: k8s.exec
      params: {pod: "{{instance}}-node-0", container: cassandra, command: [nodetool, ring]}
      output: ring.txt
    - name: pods
      kind: k8s.list
      params: {apiVersion: v1, kind: Pod, labelSelector: "app={{instance}}"}
    - name: status
      kind: k8s.exec
      needs: [pods]
      forEach: {task: pods, as: pod}
      params: {pod: "{{pod}}", container: cassandra, command: [nodetool, status]}
      output: "{{pod.metadata.name}}.txt"
"#,
    )
    .unwrap();
    collect(
        dir.path(),
        &kc,
        &[
            "--pipeline",
            pipeline.to_str().unwrap(),
            "--streams-per-node",
            "1",
        ],
    )
    .await;
    let load = sim.state().load.snapshot();
    assert_eq!(sim.state().metrics.snapshot().execs, 3);
    assert_eq!(
        load.max_streams_per_node, 1,
        "one stream at a time on the node: {load:?}"
    );
    sim.shutdown().await;
}

/// Short requests sent as fast as the collector's client lets them, by 8 workers, until
/// `until`; returns how many the server received.
async fn hammer(sim: &SimHandle, client: &kube::Client, until: Instant) -> u64 {
    let before = sim.state().metrics.snapshot().requests;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = client.clone();
        workers.spawn(async move {
            let cancel = CancellationToken::new();
            while Instant::now() < until {
                let req = hyper::Request::get(format!(
                    "/api/v1/namespaces/{GENERATED_NAMESPACE}/pods/scale-cassandra-node-0"
                ))
                .body(Vec::new())
                .unwrap();
                let _ = tokio::time::timeout(
                    until.saturating_duration_since(Instant::now()),
                    kudo_diag::kubeapi::send(
                        &client,
                        &cancel,
                        req,
                        "get pod",
                        kudo_diag::kubeapi::Scope::Object,
                    ),
                )
                .await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    sim.state().metrics.snapshot().requests - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_server_slows_the_collectors_requests_down() {
    let sc = generate(&Spec::new("cassandra", 3));
    let (sim, _dir, kc) = Sim::new(sc)
        .faults(FaultConfig {
            throttle_rate: 0.5,
            retry_after_seconds: 1,
            ..FaultConfig::default()
        })
        .cluster()
        .await;
    let cluster = connect(&Connection {
        kubeconfig: Some(kc),
        request_timeout: Some(Duration::from_secs(10)),
        qps: Some(20.0),
        ..Connection::default()
    })
    .await
    .unwrap();
    // Before: no 429s. The bucket's burst (120) and then 20 per second.
    sim.state().faults.set_enabled(false);
    let window = Duration::from_secs(2);
    let before = hammer(&sim, &cluster.client, Instant::now() + window).await;
    // After: half the answers are 429 with Retry-After: 1.
    sim.state().faults.set_enabled(true);
    let after = hammer(&sim, &cluster.client, Instant::now() + window).await;
    let throttles = sim.state().faults.injected().throttles;
    eprintln!(
        "requests in {window:?}: {before} before, {after} while throttled ({throttles} 429s)"
    );
    assert!(before >= 140, "the burst and the rate: {before}");
    assert!(throttles > 0);
    assert!(
        after * 4 < before,
        "429s must slow the client down: {after} requests throttled, {before} before"
    );
    sim.shutdown().await;
}
