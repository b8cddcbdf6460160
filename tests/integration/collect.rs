//! Collection end to end: the engine runs the built-in `kudo` + `cassandra` pipelines with the
//! collect kinds against the in-process simulated cluster, and the bundle is checked for what an
//! operator user needs (instance, plan status, every container's logs, nodetool, versions) and for
//! what must never be in it (a planted secret). Then the kinds one by one against the simulated
//! cluster's faults: throttling, missing objects, denied permissions, failing commands, paging,
//! log limits and stalled log streams.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kudo_diag::bundle::reader::{BundleReader, Limits as ReaderLimits};
use kudo_diag::bundle::sink::{ArtifactRecord, ArtifactStore};
use kudo_diag::engine::{
    self, ErrorKind, LogSettings, TaskContext, TaskEnv, TaskError, TaskOutput,
};
use kudo_diag::registry::default_registry;
use kudo_diag::sim::scenario::{AccessRule, FaultConfig, Scenario};
use kudo_diag::sim::SimHandle;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::support::{builtin_pipeline, failed_nodes, Collection, Sim};

const SCENARIO: &str = include_str!("../data/collect/cassandra-scenario.yaml");
/// The password planted in the scenario's Secret (base64 there) and in a pod's env.
const PLANTED: &str = "PlantedSecret-7f3a9c";
const PLANTED_B64: &str = "UGxhbnRlZFNlY3JldC03ZjNhOWM=";

fn scenario() -> Scenario {
    kudo_diag::yaml::from_str(SCENARIO).expect("the test scenario parses")
}

async fn start(sc: Scenario) -> SimHandle {
    Sim::new(sc).start().await
}

fn env(sim: &SimHandle, logs: LogSettings) -> TaskEnv {
    TaskEnv {
        kube: Some(
            sim.kube_client()
                .expect("a client for the simulated cluster"),
        ),
        logs,
    }
}

/// The operator's variables of an instance whose operator is not known.
fn no_operator() -> Value {
    json!({"operator": "", "operatorVersion": "", "appVersion": "", "kudoVersion": ""})
}

fn read_all(bundle: &mut BundleReader) -> Vec<(String, String)> {
    let paths: Vec<String> = bundle.entries().map(|e| e.path.clone()).collect();
    paths
        .into_iter()
        .map(|p| {
            let bytes = bundle.read(&p).unwrap();
            (p, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

fn get<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
    files
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, c)| c.as_str())
        .unwrap_or_else(|| {
            let all: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
            panic!("the bundle has no {path}; it has {all:#?}")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_cassandra_instance_into_a_complete_bundle_without_secrets() {
    let sim = start(scenario()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cassandra.zip");
    let events = engine::EventLog::new();
    let started = Instant::now();
    let summary = Collection::new(&sim, builtin_pipeline("cassandra"), "prod", "cassandra")
        .globals(json!({"operator": "cassandra", "operatorVersion": "1.0.3", "appVersion": "3.11.7", "kudoVersion": "0.19.0"}))
        .logs(LogSettings { tail: Some(10000), ..LogSettings::default() })
        .output(&out)
        .run(&events)
        .await;
    let elapsed = started.elapsed();
    // Every task succeeds now that the simulated cluster serves admissionregistration.k8s.io.
    const SIM_GAPS: &[&str] = &[];
    let problems: Vec<String> = events
        .events()
        .iter()
        .filter_map(|e| match e {
            engine::Event::Finished { node, .. } if SIM_GAPS.contains(&node.as_str()) => None,
            engine::Event::Finished {
                node,
                error: Some(err),
                ..
            } => Some(format!("{node}: {err}")),
            engine::Event::Skipped { node, reason } => Some(format!("{node}: skipped: {reason}")),
            _ => None,
        })
        .collect();
    assert!(
        problems.is_empty(),
        "no task should fail on a healthy cluster:\n{}",
        problems.join("\n")
    );
    assert!(!summary.has_problems());
    eprintln!(
        "collected {} nodes, {} bytes in {elapsed:?}",
        summary.counts.done, summary.counts.bytes
    );

    // Bounded, economical load on the API server: never more requests at once than the
    // engine's concurrency, one log request per container (plus one previous log, for the one
    // container that restarted: `ifRestarted` asks for no other), one exec per command.
    let m = sim.state().metrics.snapshot();
    eprintln!("API requests: {m:?}");
    assert!(
        m.max_in_flight <= engine::DEFAULT_CONCURRENCY as u64,
        "{m:?}"
    );
    assert_eq!(m.logs, 2 * 3 + 1 + 1, "{m:?}");
    assert_eq!(
        m.execs,
        2 * 15 + 2,
        "9 nodetool, 3 config files and 3 log files per node, nodetool ring once, and nodetool version for versions.yaml: {m:?}"
    );

    let mut bundle = BundleReader::open(&out, ReaderLimits::default()).unwrap();
    assert!(bundle.verify().is_clean());
    let files = read_all(&mut bundle);

    // The instance, its operator and its relations.
    assert!(get(&files, "instance/instance.yaml").contains("name: cassandra-3.11.7-1.0.3"));
    let ov = get(&files, "instance/operatorversion.yaml");
    assert!(ov.contains("appVersion: 3.11.7"), "{ov}");
    // The templates once per OperatorVersion, apart from its parameters and plans.
    assert!(!ov.contains("templates:"), "{ov}");
    assert!(get(&files, "instance/operator.yaml").contains("kind: Operator"));
    assert!(get(&files, "instance/child-instances.yaml").contains("name: cassandra-backup"));
    // A list that found nothing is recorded in the manifest, not written.
    assert!(bundle
        .manifest()
        .is_empty_list("instance/parent-instances.yaml"));
    assert!(!files
        .iter()
        .any(|(p, _)| p == "instance/parent-instances.yaml"));
    let plan = get(&files, "instance/plan-status.txt");
    assert!(
        plan.contains("Plan deploy (serial strategy) [COMPLETE], last updated 2026-11-27 08:10:00"),
        "{plan}"
    );
    assert!(plan.contains("Step node [COMPLETE]"), "{plan}");

    // Every container's log, init containers too; the previous log only where one restarted.
    for pod in ["cassandra-node-0", "cassandra-node-1"] {
        for c in ["bootstrap", "cassandra", "prometheus-exporter"] {
            let log = get(&files, &format!("pods/{pod}/logs/{c}.log"));
            assert!(!log.is_empty(), "{pod}/{c} log is empty");
        }
        assert!(get(&files, &format!("pods/{pod}/pod.yaml")).contains(&format!("name: {pod}")));
    }
    assert!(
        get(&files, "pods/cassandra-node-1/logs/cassandra.previous.log")
            .contains("OutOfMemoryError")
    );
    let previous: Vec<&str> = files
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| p.ends_with(".previous.log"))
        .collect();
    assert_eq!(
        previous,
        ["pods/cassandra-node-1/logs/cassandra.previous.log"]
    );
    assert!(get(
        &files,
        "kudo/pods/kudo-controller-manager-0/logs/manager.log"
    )
    .contains("plan deploy COMPLETE"));

    // nodetool from every node, and the configuration files.
    for pod in ["cassandra-node-0", "cassandra-node-1"] {
        for cmd in [
            "status",
            "info",
            "describecluster",
            "tpstats",
            "compactionstats",
            "gossipinfo",
            "version",
        ] {
            get(&files, &format!("apps/cassandra/{pod}/nodetool-{cmd}.txt"));
        }
        assert!(
            get(&files, &format!("apps/cassandra/{pod}/conf/cassandra.yaml"))
                .contains("num_tokens: 256")
        );
    }
    assert!(get(
        &files,
        "apps/cassandra/cassandra-node-0/nodetool-status.txt"
    )
    .contains("UN  192.168.0.42"));

    // The workload, KUDO and the cluster.
    assert!(get(&files, "workload/statefulsets.yaml").contains("name: cassandra-node"));
    assert!(get(&files, "workload/events.yaml").contains("OOMKilling"));
    assert!(get(&files, "workload/pods.yaml").starts_with("apiVersion: v1\nkind: List\nitems:\n"));
    assert!(get(&files, "cluster/version.yaml").contains("v1.32.4"));
    assert!(get(&files, "cluster/nodes.yaml").contains("name: worker-1"));
    assert!(
        get(&files, "kudo/crds/instances.kudo.dev.yaml").contains("kind: CustomResourceDefinition")
    );

    // versions.yaml names every component.
    let versions: Value = kudo_diag::yaml::from_str(get(&files, "versions.yaml")).unwrap();
    assert_eq!(versions["collector"]["version"], kudo_diag::VERSION);
    assert_eq!(versions["kubernetes"]["version"], "v1.32.4");
    assert_eq!(versions["kudo"]["version"], "0.19.0");
    assert_eq!(versions["operator"]["name"], "cassandra");
    assert_eq!(versions["operator"]["version"], "1.0.3");
    assert_eq!(versions["application"]["version"], "3.11.7");
    assert!(versions["application"]["images"]
        .as_array()
        .unwrap()
        .contains(&json!("mesosphere/cassandra:3.11.7-1.0.3")));
    assert_eq!(versions["tools"]["nodetool"], "ReleaseVersion: 3.11.7");

    // The Secret's key is there, its value is not, in any form, anywhere.
    assert!(get(&files, "workload/secrets.yaml").contains("password:"));
    for (path, content) in &files {
        assert!(
            !content.contains(PLANTED),
            "{path} holds the planted secret in clear"
        );
        assert!(
            !content.contains(PLANTED_B64),
            "{path} holds the planted secret (base64)"
        );
    }
    sim.shutdown().await;
}

/// Collects a built-in scenario of the simulated cluster with a built-in pipeline, as a user
/// would; returns the bundle's files and the failed (optional) nodes. Required tasks must all
/// succeed, and no file may hold `planted` (nor its base64) in clear.
async fn collect_builtin(
    scenario: &str,
    pipeline: &str,
    instance: &str,
    namespace: &str,
    planted: Option<(&str, &str)>,
) -> (Vec<(String, String)>, Vec<String>) {
    let (files, failed, _) =
        collect_builtin_allowing(scenario, pipeline, instance, namespace, |_| false).await;
    if let Some((clear, b64)) = planted {
        for (path, content) in &files {
            assert!(
                !content.contains(clear),
                "{path} holds the planted secret in clear"
            );
            assert!(
                !content.contains(b64),
                "{path} holds the planted secret (base64)"
            );
        }
    }
    (files, failed)
}

/// `collect_builtin`, where required nodes for which `allowed(node)` holds may fail.
async fn collect_builtin_allowing(
    scenario: &str,
    pipeline: &str,
    instance: &str,
    namespace: &str,
    allowed: impl Fn(&str) -> bool,
) -> (Vec<(String, String)>, Vec<String>, engine::Counts) {
    let sc = kudo_diag::sim::scenarios::load(scenario).expect("the built-in scenario loads");
    let sim = start(sc).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle.zip");
    let events = engine::EventLog::new();
    let started = Instant::now();
    let summary = Collection::new(&sim, builtin_pipeline(pipeline), namespace, instance)
        .globals(no_operator())
        .output(&out)
        .run(&events)
        .await;
    let failed = failed_nodes(&events);
    eprintln!(
        "built-in {scenario}: {} nodes done, {} bytes in {:?}; optional failures:\n{}",
        summary.counts.done,
        summary.counts.bytes,
        started.elapsed(),
        failed.join("\n")
    );
    let mut bundle = BundleReader::open(&out, ReaderLimits::default()).unwrap();
    let unexpected: Vec<String> = bundle
        .errors()
        .iter()
        .filter(|e| !e.optional && !allowed(&e.node))
        .map(|e| format!("{}: {}", e.node, e.reason))
        .collect();
    assert!(
        unexpected.is_empty(),
        "required tasks failed:\n{}",
        unexpected.join("\n")
    );
    let files = read_all(&mut bundle);
    // Every container of every pod of the instance has its log, unless it has not started; one
    // waiting to restart has its last log once, as its previous log.
    let pods: Value = kudo_diag::yaml::from_str(get(&files, "workload/pods.yaml")).unwrap();
    for pod in pods["items"].as_array().unwrap() {
        let name = pod["metadata"]["name"].as_str().unwrap();
        if pod["status"]["phase"] == "Pending" {
            continue;
        }
        let statuses = pod["status"]["containerStatuses"].as_array().cloned();
        for section in ["initContainers", "containers"] {
            for c in pod["spec"][section].as_array().into_iter().flatten() {
                let c = c["name"].as_str().unwrap();
                let restarting = statuses.iter().flatten().any(|s| {
                    s["name"] == c
                        && s["state"]["waiting"].is_object()
                        && s["lastState"]["terminated"].is_object()
                });
                if restarting {
                    get(&files, &format!("pods/{name}/logs/{c}.previous.log"));
                    assert!(!files
                        .iter()
                        .any(|(p, _)| p == &format!("pods/{name}/logs/{c}.log")));
                } else {
                    get(&files, &format!("pods/{name}/logs/{c}.log"));
                }
            }
        }
    }
    let inst = get(&files, "instance/instance.yaml");
    assert!(inst.contains(&format!("name: {instance}")), "{inst}");
    get(&files, "instance/plan-status.txt");
    sim.shutdown().await;
    (files, failed, summary.counts)
}

/// The simulated cluster's own `cassandra` scenario (3 nodes, KUDO in kudo-system, a Secret
/// with a planted password).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_builtin_cassandra_scenario() {
    let (files, _) = collect_builtin(
        "cassandra",
        "cassandra",
        "analytics-cassandra",
        "production",
        Some((
            "kudo-diag-planted-secret-4242",
            "a3Vkby1kaWFnLXBsYW50ZWQtc2VjcmV0LTQyNDI=",
        )),
    )
    .await;
    assert!(get(&files, "instance/plan-status.txt").contains("Plan deploy"));
    for i in 0..3 {
        let node = format!("apps/cassandra/analytics-cassandra-node-{i}");
        let status = get(&files, &format!("{node}/nodetool-status.txt"));
        assert!(status.contains("UN "), "{status}");
        assert!(get(&files, &format!("{node}/nodetool-netstats.txt")).starts_with("Mode: NORMAL"));
        assert!(get(&files, &format!("{node}/nodetool-tablestats.txt"))
            .contains("Keyspace : analytics"));
        // Cassandra's own files, read with tail (no run setting: the default byte bound).
        assert!(get(&files, &format!("{node}/logs/system.log")).contains("Startup complete"));
        assert!(get(&files, &format!("{node}/logs/debug.log")).contains("DEBUG ["));
        assert!(get(&files, &format!("{node}/logs/gc.log")).contains("[GC (Allocation Failure)"));
    }
    // The OperatorVersion's parameters and plans with the instance, its templates once apart.
    let ov = get(&files, "instance/operatorversion.yaml");
    assert!(ov.contains("plans:") && !ov.contains("templates:"), "{ov}");
    let templates = get(
        &files,
        "operatorversions/cassandra-3.11.7-1.0.3/templates.yaml",
    );
    assert!(templates.contains("kind: StatefulSet"), "{templates}");
    // The ring, once: the same from every node.
    assert!(get(&files, "apps/cassandra/nodetool-ring.txt").contains("Datacenter: datacenter1"));
    // The namespace's quota (its usage counts the instance's pods), defaults and network policy.
    assert!(get(&files, "namespace/resourcequotas.yaml").contains("requests.memory"));
    assert!(get(&files, "namespace/limitranges.yaml").contains("defaultRequest"));
    assert!(get(&files, "namespace/networkpolicies.yaml").contains("kind: NetworkPolicy"));
    let versions: Value = kudo_diag::yaml::from_str(get(&files, "versions.yaml")).unwrap();
    assert_eq!(versions["operator"]["name"], "cassandra");
    assert!(versions["kudo"]["version"].is_string(), "{versions:#?}");
    assert!(
        versions["application"]["version"].is_string(),
        "{versions:#?}"
    );
    assert!(
        versions["tools"]["nodetool"]
            .as_str()
            .is_some_and(|v| v.contains("ReleaseVersion")),
        "{versions:#?}"
    );
}

/// The `broken-cassandra` scenario (node-1 OOMKilled in CrashLoopBackOff, node-2 Pending, the
/// deploy plan FATAL_ERROR): collecting from a broken instance is when the tool is used. The
/// bundle shows the failure; nothing fails: the commands the crash-looping node cannot run and
/// the logs the Pending pod does not have are skipped before any request, from the collected
/// Pod's container statuses, and counted apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_builtin_broken_cassandra_scenario() {
    let (files, failed, counts) = collect_builtin_allowing(
        "broken-cassandra",
        "cassandra",
        "analytics-cassandra",
        "production",
        |_| false,
    )
    .await;
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!((counts.failed, counts.required_problems), (0, 0));
    let containers: Vec<&str> = counts
        .not_running
        .containers
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        containers,
        [
            "production/analytics-cassandra-node-1/cassandra",
            "production/analytics-cassandra-node-2/bootstrap",
            "production/analytics-cassandra-node-2/cassandra",
            "production/analytics-cassandra-node-2/prometheus-exporter",
        ]
    );
    // node-1's 15 cassandra commands and files, its current cassandra log (the same as its
    // previous one), and node-2's three logs.
    assert_eq!(counts.not_running.tasks, 19);
    assert!(!files
        .iter()
        .any(|(p, _)| p.starts_with("apps/cassandra/analytics-cassandra-node-1/")));
    let plan = get(&files, "instance/plan-status.txt");
    assert!(plan.contains("FATAL_ERROR"), "{plan}");
    let previous = get(
        &files,
        "pods/analytics-cassandra-node-1/logs/cassandra.previous.log",
    );
    assert!(
        !previous.is_empty(),
        "the OOMKilled instance's log is collected"
    );
    // node-2 is Pending: no log and no nodetool, and neither is a failure.
    assert!(!files
        .iter()
        .any(|(p, _)| p.starts_with("apps/cassandra/analytics-cassandra-node-2/")));
    assert!(failed.iter().all(|f| !f.contains("node-2")), "{failed:#?}");
    let status = get(
        &files,
        "apps/cassandra/analytics-cassandra-node-0/nodetool-status.txt",
    );
    assert!(status.contains("DN "), "{status}");
}

/// The `kafka` scenario: the Kafka tools through exec on the first broker, and the ZooKeeper it
/// runs as a child instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_builtin_kafka_scenario() {
    let (files, _) = collect_builtin("kafka", "kafka", "kafka", "kafka", None).await;
    assert!(get(&files, "instance/child-instances.yaml").contains("name: kafka-zookeeper"));
    for f in [
        "topics.txt",
        "consumer-groups.txt",
        "log-dirs.json",
        "broker-api-versions.txt",
    ] {
        assert!(
            !get(&files, &format!("apps/kafka/{f}")).is_empty(),
            "{f} is empty"
        );
    }
    // Nothing under-replicated: kafka-topics printed nothing, and the file says so by being empty.
    assert_eq!(
        get(&files, "apps/kafka/under-replicated-partitions.txt"),
        ""
    );
    for i in 0..3 {
        let logs = format!("apps/kafka/kafka-kafka-{i}/logs");
        assert!(get(&files, &format!("{logs}/server.log")).contains("(kafka.server.KafkaServer)"));
        get(&files, &format!("{logs}/controller.log"));
        assert!(get(&files, &format!("{logs}/state-change.log")).contains("state.change.logger"));
    }
}

/// The `kafka` scenario's ZooKeeper child instance, with the zookeeper pipeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_builtin_zookeeper_of_the_kafka_scenario() {
    let (files, failed) =
        collect_builtin("kafka", "zookeeper", "kafka-zookeeper", "kafka", None).await;
    // The operator's whitelist refuses stat, mntr and conf: refused, with the fix, not stored as
    // if the refusal were the answer.
    for w in ["stat", "mntr", "conf"] {
        let refused: Vec<&String> = failed
            .iter()
            .filter(|f| f.starts_with(&format!("zk-{w}[")))
            .collect();
        assert_eq!(refused.len(), 3, "{failed:#?}");
        for f in refused {
            assert!(
                f.contains("refused: ZooKeeper does not answer the four-letter word")
                    && f.contains("4lw.commands.whitelist"),
                "{f}"
            );
            // This ZooKeeper's AdminServer is not reachable either: the refusal says so.
            assert!(
                f.contains("the fallback did not answer either")
                    && f.contains("connection refused"),
                "{f}"
            );
        }
        assert!(!files.iter().any(|(p, _)| p.ends_with(&format!("/{w}.txt"))));
        assert!(!files.iter().any(|(p, _)| p.contains("/admin/")));
    }
    assert!(get(&files, "instance/parent-instances.yaml").contains("name: kafka\n"));
    for i in 0..3 {
        let srvr = get(
            &files,
            &format!("apps/zookeeper/kafka-zookeeper-zookeeper-{i}/srvr.txt"),
        );
        assert!(srvr.contains("Zookeeper version"), "{srvr}");
        let log = get(
            &files,
            &format!("apps/zookeeper/kafka-zookeeper-zookeeper-{i}/logs/zookeeper.log"),
        );
        assert!(log.contains("QuorumPeerMain"), "{log}");
    }
}

/// The `zookeeper` scenario: the whitelist refuses stat, mntr and conf, and ZooKeeper's
/// AdminServer, asked through the API server's pod proxy, answers each in their place; the
/// refusals stay in errors.json, naming where the answer is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_four_letter_word_falls_back_to_the_admin_server() {
    let (files, failed) = collect_builtin(
        "zookeeper",
        "zookeeper",
        "zookeeper-instance",
        "my-namespace",
        None,
    )
    .await;
    for (w, command) in [
        ("stat", "stats"),
        ("mntr", "monitor"),
        ("conf", "configuration"),
    ] {
        for i in 0..3 {
            let pod = format!("zookeeper-instance-zookeeper-{i}");
            let node = format!("zk-{w}[my-namespace/{pod}]");
            let path = format!("apps/zookeeper/{pod}/admin/{w}.json");
            let f = failed
                .iter()
                .find(|f| f.starts_with(&node))
                .unwrap_or_else(|| panic!("{node}: {failed:#?}"));
            assert!(
                f.contains("refused: ZooKeeper does not answer the four-letter word")
                    && f.contains(&format!("the fallback answered instead: {path}")),
                "{f}"
            );
            let answer: Value = serde_json::from_str(get(&files, &path)).unwrap();
            assert_eq!(answer["command"], command, "{answer}");
            assert!(answer["error"].is_null(), "{answer}");
            assert!(!files
                .iter()
                .any(|(p, _)| p == &format!("apps/zookeeper/{pod}/{w}.txt")));
        }
    }
    let stat: Value = serde_json::from_str(get(
        &files,
        "apps/zookeeper/zookeeper-instance-zookeeper-1/admin/stat.json",
    ))
    .unwrap();
    assert_eq!(stat["server_stats"]["server_state"], "leader");
}

/// One node attempt of a kind, outside the engine, with its sink in a temp folder.
struct Probe {
    _dir: tempfile::TempDir,
    store: ArtifactStore,
    env: Arc<TaskEnv>,
}

impl Probe {
    fn new(sim: &SimHandle, logs: LogSettings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        Probe {
            _dir: dir,
            store,
            env: Arc::new(env(sim, logs)),
        }
    }

    async fn run(
        &self,
        kind: &str,
        params: Value,
        vars: Value,
        output: Option<&str>,
    ) -> (Result<TaskOutput, TaskError>, Vec<(ArtifactRecord, String)>) {
        let reg = default_registry();
        let k = reg.get(kind).unwrap().clone();
        let sink = self.store.node_sink(kind);
        let ctx = TaskContext {
            node: kind.to_string(),
            task: kind.to_string(),
            params,
            vars,
            output: output.map(str::to_string),
            sink: sink.clone(),
            attempt: 1,
            env: self.env.clone(),
            cancel: CancellationToken::new(),
        };
        let r = k.run(&ctx).await;
        let arts = sink
            .records()
            .into_iter()
            .map(|rec| {
                let mut buf = Vec::new();
                self.store.copy_content(&rec, &mut buf).unwrap();
                (rec, String::from_utf8_lossy(&buf).into_owned())
            })
            .collect();
        (r, arts)
    }
}

fn vars() -> Value {
    json!({"instance": "cassandra", "namespace": "prod", "kudoNamespace": "kudo-system"})
}

/// One task of `kind` against the scenario's cluster, every answer of which suffers `faults`.
async fn run_under(
    faults: FaultConfig,
    kind: &str,
    params: Value,
    output: &str,
) -> (Result<TaskOutput, TaskError>, Vec<(ArtifactRecord, String)>) {
    let sim = Sim::new(scenario()).faults(faults).start().await;
    let p = Probe::new(&sim, LogSettings::default());
    p.run(kind, params, vars(), Some(output)).await
}

/// The params of a `k8s.get` of the scenario's first Cassandra pod.
fn pod_0() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "name": "cassandra-node-0"})
}

#[tokio::test]
async fn throttling_is_transient_with_the_servers_retry_after() {
    let faults = FaultConfig {
        throttle_rate: 1.0,
        retry_after_seconds: 7,
        ..FaultConfig::default()
    };
    let (r, arts) = run_under(faults, "k8s.get", pod_0(), "x.yaml").await;
    let e = r.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "{e}");
    assert_eq!(e.status(), Some(429), "{e}");
    assert!(e.message.contains("429"), "{e}");
    assert!(arts.is_empty());
}

#[tokio::test]
async fn server_errors_are_transient() {
    let faults = FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    };
    let pods = json!({"apiVersion": "v1", "kind": "Pod"});
    let (r, _) = run_under(faults, "k8s.list", pods, "pods.yaml").await;
    let e = r.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        e.message.starts_with("list pods in namespace prod: 50"),
        "{e}"
    );
}

#[tokio::test]
async fn a_missing_object_is_permanent_with_the_apis_message() {
    let sim = start(scenario()).await;
    let p = Probe::new(&sim, LogSettings::default());
    let (r, _) = p
        .run(
            "k8s.get",
            json!({"apiVersion": "kudo.dev/v1beta1", "kind": "Instance", "name": "nope"}),
            vars(),
            Some("i.yaml"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_transient());
    assert!(
        e.message
            .starts_with("get instance nope in namespace prod: 404 not found"),
        "{e}"
    );
    assert!(e.message.contains("\"nope\" not found"), "{e}");
}

#[tokio::test]
async fn a_denied_permission_is_permanent_and_says_what_to_grant() {
    let mut sc = scenario();
    sc.permissions.deny.push(AccessRule {
        verbs: vec!["list".into()],
        resources: vec!["secrets".into()],
        namespaces: vec![],
        api_groups: vec![],
    });
    sc.permissions.deny.push(AccessRule {
        verbs: vec!["*".into()],
        resources: vec!["pods/exec".into()],
        namespaces: vec![],
        api_groups: vec![],
    });
    let sim = start(sc).await;
    let p = Probe::new(&sim, LogSettings::default());
    let (r, _) = p
        .run(
            "k8s.list",
            json!({"apiVersion": "v1", "kind": "Secret"}),
            vars(),
            Some("s.yaml"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_transient());
    assert!(e.message.contains("403"), "{e}");
    assert!(e.message.contains("grant it"), "{e}");
    let (r, _) = p
        .run(
            "k8s.exec",
            json!({"pod": "cassandra-node-0", "container": "cassandra", "command": ["nodetool", "status"]}),
            vars(),
            Some("n.txt"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(e.message.contains("403"), "{e}");
}

#[tokio::test]
async fn exec_writes_stdout_and_stderr_apart_and_fails_on_a_non_zero_exit() {
    let mut sc = scenario();
    sc.exec.insert(
        0,
        kudo_diag::yaml::from_str(
            "{exact: [nodetool, repair], stdout: \"starting\\n\", stderr: \"error: keyspace missing\\n\", exitCode: 2}",
        )
        .unwrap(),
    );
    sc.exec.insert(
        0,
        kudo_diag::yaml::from_str(
            "{exact: [nodetool, ring], stdout: \"ring\\n\", stderr: \"warn: slow\\n\"}",
        )
        .unwrap(),
    );
    let sim = start(sc).await;
    let p = Probe::new(&sim, LogSettings::default());
    let (r, arts) = p
        .run(
            "k8s.exec",
            json!({"pod": "cassandra-node-0", "container": "cassandra", "command": ["nodetool", "ring"]}),
            vars(),
            Some("ring.txt"),
        )
        .await;
    assert_eq!(
        r.unwrap().items.to_values(),
        vec![json!({"exitCode": 0, "stdoutBytes": 5, "stderrBytes": 11})]
    );
    let got: Vec<(&str, &str)> = arts
        .iter()
        .map(|(r, c)| (r.path.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        got,
        [("ring.txt", "ring\n"), ("ring.txt.stderr", "warn: slow\n")]
    );

    let (r, _) = p
        .run(
            "k8s.exec",
            json!({"pod": "cassandra-node-0", "container": "cassandra", "command": ["nodetool", "repair"]}),
            vars(),
            Some("repair.txt"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_transient());
    assert!(
        e.message
            .contains("exited with code 2: error: keyspace missing"),
        "{e}"
    );
}

#[tokio::test]
async fn list_pages_through_large_collections() {
    let mut sc = scenario();
    for i in 0..1234 {
        sc.objects.push(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:04}"), "namespace": "prod", "labels": {"bulk": "yes"}},
            "data": {"i": i.to_string()}
        }));
    }
    let sim = start(sc).await;
    let p = Probe::new(&sim, LogSettings::default());
    let started = Instant::now();
    let (r, arts) = p
        .run(
            "k8s.list",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "labelSelector": "bulk=yes"}),
            vars(),
            Some("cms.yaml"),
        )
        .await;
    let items = r.unwrap().items;
    eprintln!("listed 1234 config maps in {:?}", started.elapsed());
    assert_eq!(items.len(), 1234);
    let names: BTreeSet<String> = items
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names.len(),
        1234,
        "no object twice, none missing across pages"
    );
    let list: Value = kudo_diag::yaml::from_str(&arts[0].1).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 1234);
    assert_eq!(list["items"][0]["kind"], "ConfigMap");
}

#[tokio::test]
async fn logs_honour_the_byte_limit_and_skip_previous_logs_of_containers_that_never_restarted() {
    let sim = start(scenario()).await;
    let p = Probe::new(
        &sim,
        LogSettings {
            limit_bytes: Some(12),
            ..LogSettings::default()
        },
    );
    let (r, arts) = p
        .run(
            "k8s.logs",
            json!({"pod": "cassandra-node-1", "container": "cassandra"}),
            vars(),
            Some("c.log"),
        )
        .await;
    r.unwrap();
    assert_eq!(
        arts[0].1,
        "INFO  [main]\n[kudo-diag: log truncated at 12 bytes (limitBytes, or the logLimitBytes setting)]\n"
    );
    // A task's own limit overrides the setting.
    let (r, arts) = p
        .run(
            "k8s.logs",
            json!({"pod": "cassandra-node-1", "container": "cassandra", "limitBytes": 4}),
            vars(),
            Some("c4.log"),
        )
        .await;
    r.unwrap();
    assert!(
        arts[0]
            .1
            .starts_with("INFO\n[kudo-diag: log truncated at 4 bytes"),
        "{}",
        arts[0].1
    );

    let p = Probe::new(&sim, LogSettings::default());
    let pod = json!({"metadata": {"name": "cassandra-node-0", "namespace": "prod"},
        "status": {"containerStatuses": [{"name": "cassandra", "restartCount": 0}]}});
    let (r, arts) = p
        .run(
            "k8s.logs",
            json!({"pod": pod, "container": "cassandra", "previous": "ifRestarted"}),
            vars(),
            Some("prev.log"),
        )
        .await;
    let out = r.unwrap();
    assert!(arts.is_empty());
    assert_eq!(out.items.value(0)["skipped"], true);

    // Asked for regardless, the API's refusal is a permanent failure.
    let (r, _) = p
        .run(
            "k8s.logs",
            json!({"pod": "cassandra-node-0", "container": "cassandra", "previous": true}),
            vars(),
            Some("prev.log"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_transient());
    assert!(e.message.contains("400"), "{e}");
}

#[tokio::test]
async fn a_stalled_log_stream_is_kept_with_a_marker() {
    // In the scenario itself: the log handler reads the scenario's faults.
    let mut sc = scenario();
    sc.faults.stall_logs_after_bytes = Some(10);
    let sim = start(sc).await;
    let p = Probe::new(
        &sim,
        LogSettings {
            idle_timeout: Some(Duration::from_millis(300)),
            ..LogSettings::default()
        },
    );
    let (r, arts) = p
        .run(
            "k8s.logs",
            json!({"pod": "cassandra-node-0", "container": "cassandra"}),
            vars(),
            Some("c.log"),
        )
        .await;
    r.unwrap();
    let log = &arts[0].1;
    assert!(
        log.contains("[kudo-diag: the log stream sent nothing for 300ms"),
        "{log}"
    );
}

#[tokio::test]
async fn the_plan_status_and_versions_kinds_fetch_what_they_are_not_given() {
    let sim = start(scenario()).await;
    let p = Probe::new(&sim, LogSettings::default());
    let (r, arts) = p
        .run(
            "kudo.planstatus",
            json!({"instance": "cassandra"}),
            vars(),
            Some("instance/plan-status.txt"),
        )
        .await;
    assert_eq!(r.unwrap().items.value(0)["plans"]["deploy"], "COMPLETE");
    assert!(arts[0]
        .1
        .contains("└── cassandra (Operator-Version: \"cassandra-3.11.7-1.0.3\")"));
    assert!(arts[0]
        .1
        .contains("Phase nodes (serial strategy) [COMPLETE]"));

    // With the KUDO manager somewhere else, versions.yaml says so and keeps the rest.
    let (r, arts) = p
        .run(
            "kudo.versions",
            json!({"kudoNamespace": "elsewhere"}),
            vars(),
            Some("versions.yaml"),
        )
        .await;
    r.unwrap();
    let v: Value = kudo_diag::yaml::from_str(&arts[0].1).unwrap();
    assert!(v["kudo"]["error"]
        .as_str()
        .unwrap()
        .contains("no KUDO manager pod found in namespace elsewhere"));
    assert_eq!(v["operator"]["version"], "1.0.3");
}

#[tokio::test]
async fn without_a_cluster_kinds_say_how_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open(dir.path()).unwrap();
    let reg = default_registry();
    let ctx = TaskContext {
        node: "n".into(),
        task: "pods".into(),
        params: json!({"apiVersion": "v1", "kind": "Pod"}),
        vars: vars(),
        output: Some("p.yaml".into()),
        sink: store.node_sink("n"),
        attempt: 1,
        env: Arc::new(TaskEnv::default()),
        cancel: CancellationToken::new(),
    };
    let e = reg.get("k8s.list").unwrap().run(&ctx).await.unwrap_err();
    assert!(e.message.contains("needs a Kubernetes cluster"), "{e}");
}

/// The simulated cluster has no service proxy, so `k8s.proxy` is checked against a tiny API
/// server that records the path it was asked for.
#[tokio::test]
async fn proxy_gets_through_the_service_proxy_and_maps_backend_errors() {
    use axum::extract::{OriginalUri, State};
    use axum::http::StatusCode;
    use std::sync::Mutex;

    type Seen = Arc<Mutex<Vec<String>>>;
    async fn answer(
        State(seen): State<Seen>,
        OriginalUri(uri): OriginalUri,
    ) -> (StatusCode, String) {
        seen.lock().unwrap().push(uri.to_string());
        if uri.path().contains("_cluster/health") {
            (StatusCode::SERVICE_UNAVAILABLE, "no master".into())
        } else {
            (
                StatusCode::OK,
                "ip heap.percent name\n10.0.0.1 42 es-master-0\n".into(),
            )
        }
    }
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    config.default_retry = false;
    let client = kube::Client::try_from(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open(dir.path()).unwrap();
    let reg = default_registry();
    let run = |params: Value, out: &str| {
        let sink = store.node_sink(out);
        let ctx = TaskContext {
            node: out.into(),
            task: "es".into(),
            params,
            vars: vars(),
            output: Some(out.into()),
            sink: sink.clone(),
            attempt: 1,
            env: Arc::new(TaskEnv {
                kube: Some(client.clone()),
                logs: Default::default(),
            }),
            cancel: CancellationToken::new(),
        };
        let kind = reg.get("k8s.proxy").unwrap().clone();
        async move { (kind.run(&ctx).await, sink.records()) }
    };

    let (r, recs) = run(
        json!({"service": "es-master-hs", "port": 9200, "path": "_cat/nodes?v"}),
        "apps/elastic/cat-nodes.txt",
    )
    .await;
    r.unwrap();
    let mut content = Vec::new();
    store.copy_content(&recs[0], &mut content).unwrap();
    assert_eq!(
        String::from_utf8(content).unwrap(),
        "ip heap.percent name\n10.0.0.1 42 es-master-0\n"
    );

    let (r, recs) = run(
        json!({"service": "es-master-hs", "port": 9200, "path": "_cluster/health?pretty"}),
        "apps/elastic/cluster-health.json",
    )
    .await;
    let e = r.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(e.message.contains("503"), "{e}");
    assert!(e.message.contains("no master"), "{e}");
    assert!(recs.is_empty());

    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/api/v1/namespaces/prod/services/es-master-hs:9200/proxy/_cat/nodes?v",
            "/api/v1/namespaces/prod/services/es-master-hs:9200/proxy/_cluster/health?pretty",
        ]
    );
    server.abort();
}

/// Scale: the base `kudo` pipeline over a generated instance of 1,000 pods with 2 containers
/// each and 64 KiB per log (about 4,000 nodes, 128 MiB of logs). Ignored by default (it takes
/// seconds, not milliseconds); run with `cargo test --test integration collect::scale --
/// --ignored --nocapture` for the numbers in the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn scale_collects_a_thousand_pods() {
    let sc = kudo_diag::sim::generate::generate(&kudo_diag::sim::generate::Spec {
        containers: 2,
        log_bytes: 64 * 1024,
        seed: 7,
        ..kudo_diag::sim::generate::Spec::new("cassandra", 1000)
    });
    let sim = start(sc).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scale.zip");
    let ns = kudo_diag::sim::generate::GENERATED_NAMESPACE;
    let started = Instant::now();
    let summary = Collection::new(&sim, builtin_pipeline("kudo"), ns, "scale-cassandra")
        .globals(no_operator())
        .output(&out)
        .run(&engine::Silent)
        .await;
    let elapsed = started.elapsed();
    let bundle = std::fs::metadata(&out).unwrap().len();
    eprintln!(
        "scale: {} nodes done, {} failed, {} MiB collected, bundle {} MiB, in {elapsed:?} ({:.0} nodes/s)",
        summary.counts.done,
        summary.counts.failed,
        summary.counts.bytes >> 20,
        bundle >> 20,
        summary.counts.done as f64 / elapsed.as_secs_f64()
    );
    eprintln!("API requests: {:?}", sim.state().metrics.snapshot());
    assert!(!summary.has_problems());
    assert!(
        summary.counts.done >= 4000,
        "2 logs and 2 previous-log checks per pod"
    );
}

/// A kind missing from the static resource table is found through discovery.
#[tokio::test]
async fn kinds_outside_the_table_are_discovered() {
    let mut sc = scenario();
    sc.objects.push(json!({
        "apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "legacy", "namespace": "prod"},
        "spec": {"replicas": 1, "selector": {"app": "legacy"}}
    }));
    let sim = start(sc).await;
    let p = Probe::new(&sim, LogSettings::default());
    let (r, arts) = p
        .run(
            "k8s.list",
            json!({"apiVersion": "v1", "kind": "ReplicationController"}),
            vars(),
            Some("rc.yaml"),
        )
        .await;
    assert_eq!(r.unwrap().items.len(), 1);
    assert!(arts[0].1.contains("name: legacy"), "{}", arts[0].1);
    let (r, _) = p
        .run(
            "k8s.list",
            json!({"apiVersion": "example.com/v1", "kind": "Widget"}),
            vars(),
            Some("w.yaml"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(
        e.message.contains(
            "discover Widget in example.com/v1: the cluster does not serve example.com/v1"
        ),
        "{e}"
    );
}

/// A pod deleted while the collection runs (listed, then 404): its log and commands fail with
/// the API's error, said as a deletion and never retried; a pod named directly that does not
/// exist fails too.
#[tokio::test]
async fn a_pod_that_vanishes_mid_collection_fails_its_tasks_with_the_api_error() {
    let mut sc = scenario();
    sc.faults.vanish_pods = vec!["cassandra-node-0".into()];
    let sim = start(sc).await;
    let p = Probe::new(&sim, LogSettings::default());
    let (r, _) = p
        .run(
            "k8s.list",
            json!({"apiVersion": "v1", "kind": "Pod", "labelSelector": "app=cassandra"}),
            vars(),
            None,
        )
        .await;
    let pods = r.unwrap().items;
    let pod0 = pods
        .iter()
        .find(|p| p["metadata"]["name"] == "cassandra-node-0")
        .unwrap()
        .clone();
    let (r, arts) = p
        .run(
            "k8s.logs",
            json!({"pod": pod0, "container": "cassandra"}),
            vars(),
            Some("c.log"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(arts.is_empty());
    assert!(!e.is_transient(), "{e}");
    assert!(e.message.contains("deleted during the collection"), "{e}");
    // The decision is made on the API's status, which the error keeps as data.
    assert_eq!(e.status(), Some(404), "{e}");
    let (r, arts) = p
        .run(
            "k8s.exec",
            json!({"pod": pod0, "container": "cassandra", "command": ["nodetool", "status"]}),
            vars(),
            Some("n.txt"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(e.message.contains("deleted during the collection"), "{e}");
    assert_eq!(e.status(), Some(404), "{e}");
    assert!(arts.is_empty());
    let (r, _) = p
        .run(
            "k8s.logs",
            json!({"pod": "cassandra-node-0", "container": "cassandra"}),
            vars(),
            Some("c.log"),
        )
        .await;
    assert!(r.unwrap_err().message.contains("404"));
}

/// `k8s.describe` over more pods than one list page (500): every pod is described exactly once,
/// page after page, and the claims the pods mount are added once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_pages_through_more_pods_than_one_list_page() {
    let n = 520;
    let sim = start(kudo_diag::sim::generate::generate(
        &kudo_diag::sim::generate::Spec {
            containers: 1,
            log_bytes: 0,
            seed: 3,
            ..kudo_diag::sim::generate::Spec::new("cassandra", n)
        },
    ))
    .await;
    let p = Probe::new(&sim, LogSettings::default());
    let vars = json!({"instance": "scale-cassandra", "namespace": "generated"});
    let (r, arts) = p
        .run(
            "k8s.describe",
            json!({"kind": "Pod", "labelSelector": "kudo.dev/instance=scale-cassandra"}),
            vars.clone(),
            Some("pods.describe.txt"),
        )
        .await;
    assert_eq!(r.unwrap().items.value(0)["objects"], n, "{:?}", arts.len());
    let text = &arts[0].1;
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Name:"))
        .map(str::trim)
        .collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!((names.len(), unique.len()), (n, n));
}

/// A container waiting to start has no log: the API server refuses with 400, the pod's status
/// says it is waiting, and the task succeeds with a note. A 400 for a container the pod does not
/// have is the pipeline's mistake and fails.
#[tokio::test]
async fn a_400_on_a_waiting_container_is_a_skip_and_on_a_wrong_container_a_failure() {
    let mut sc = scenario();
    sc.objects.push(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "cassandra-node-9", "namespace": "prod", "labels": {"app": "late"}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "cassandra", "image": "cassandra:3.11"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "cassandra", "ready": false,
            "restartCount": 0, "image": "cassandra:3.11", "imageID": "",
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}
    }));
    let sim = start(sc).await;
    let p = Probe::new(&sim, LogSettings::default());
    let (r, arts) = p
        .run(
            "k8s.logs",
            json!({"pod": "cassandra-node-9", "container": "cassandra"}),
            vars(),
            Some("c.log"),
        )
        .await;
    let out = r.unwrap();
    assert!(arts.is_empty());
    let item = out.items.value(0);
    assert_eq!(item["skipped"], true, "{item}");
    assert!(
        item["note"].as_str().unwrap().contains("ContainerCreating"),
        "{item}"
    );
    let (r, _) = p
        .run(
            "k8s.logs",
            json!({"pod": "cassandra-node-9", "container": "nope"}),
            vars(),
            Some("c.log"),
        )
        .await;
    let e = r.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(!e.is_transient(), "{e}");
}

/// A connection the server drops before answering is a transport error, worth another attempt.
#[tokio::test]
async fn a_dropped_connection_is_a_transient_transport_error() {
    let faults = FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::default()
    };
    let (r, _) = run_under(faults, "k8s.get", pod_0(), "x.yaml").await;
    let e = r.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.is_transient(), "{e}");
    assert_eq!(e.status(), None);
}
