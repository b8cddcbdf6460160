//! Collection end to end: the engine runs the built-in `kudo` + `cassandra` pipelines with the
//! collect kinds against the in-process simulated cluster, and the bundle is checked for what an
//! operator user needs (instance, plan status, every container's logs, nodetool, versions) and for
//! what must never be in it (a planted secret). Then the kinds one by one against the simulated
//! cluster's faults: throttling, missing objects, denied permissions, failing commands, paging,
//! log limits and stalled log streams.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kudo_diag::bundle::reader::{BundleReader, Limits as ReaderLimits};
use kudo_diag::bundle::sink::{ArtifactRecord, ArtifactStore};
use kudo_diag::engine::{self, Registry, TaskContext, TaskEnv, TaskError, TaskOutput};
use kudo_diag::pipeline::{self, Pipeline, PipelineDoc};
use kudo_diag::sim::scenario::{AccessRule, FaultConfig, Scenario};
use kudo_diag::sim::{SimHandle, SimOptions, SimServer};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const SCENARIO: &str = include_str!("../data/collect/cassandra-scenario.yaml");
/// The password planted in the scenario's Secret (base64 there) and in a pod's env.
const PLANTED: &str = "PlantedSecret-7f3a9c";
const PLANTED_B64: &str = "UGxhbnRlZFNlY3JldC03ZjNhOWM=";

fn scenario() -> Scenario {
    kudo_diag::yaml::from_str(SCENARIO).expect("the test scenario parses")
}

async fn start(sc: Scenario) -> SimHandle {
    SimServer::start(sc, SimOptions::default())
        .await
        .expect("the simulated cluster starts")
}

fn registry() -> Registry {
    let mut r = Registry::new();
    kudo_diag::collect::register(&mut r);
    // k8s.describe, which the collection pipelines use beside the collect kinds.
    kudo_diag::opdiag::register(&mut r);
    r
}

fn env(sim: &SimHandle, settings: Value) -> TaskEnv {
    TaskEnv {
        kube: Some(
            sim.kube_client()
                .expect("a client for the simulated cluster"),
        ),
        settings: settings.as_object().cloned().unwrap_or_default(),
    }
}

/// The built-in pipeline `name` (extending `kudo`) through the pipeline owner's loader: `kudo`
/// from its file, then the application's tasks from a copy without `extends` (the loader's
/// table of built-ins does not list these pipelines yet), merged by `pipeline::load::resolve`.
fn builtin_pipeline(name: &str, dir: &Path, registry: &Registry) -> Pipeline {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let text = std::fs::read_to_string(root.join(format!("{name}.yaml"))).unwrap();
    let mut doc: PipelineDoc = kudo_diag::yaml::from_str(&text).unwrap();
    assert_eq!(doc.spec.extends.as_deref(), Some("kudo"));
    doc.spec.extends = None;
    let flat = dir.join(format!("{name}.yaml"));
    std::fs::write(&flat, kudo_diag::yaml::to_string(&doc).unwrap()).unwrap();
    let specs = [
        root.join("kudo.yaml").display().to_string(),
        flat.display().to_string(),
    ];
    pipeline::load::resolve(&specs, registry).unwrap_or_else(|e| panic!("{e}"))
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
    let reg = registry();
    let pipeline = builtin_pipeline("cassandra", dir.path(), &reg);
    let out = dir.path().join("cassandra.zip");
    let globals = json!({
        "instance": "cassandra", "namespace": "prod", "kudoNamespace": "kudo-system",
        "operator": "cassandra", "operatorVersion": "1.0.3", "appVersion": "3.11.7", "kudoVersion": "0.19.0"
    });
    let target = json!({"server": sim.base_url(), "namespace": "prod", "instance": "cassandra"});
    let mut config = engine::RunConfig::new(pipeline, target, globals, out.clone());
    config.env = env(&sim, json!({"logTail": 10000}));
    let events = engine::EventLog::new();
    let started = Instant::now();
    let summary = engine::run(config, &reg, &events, CancellationToken::new())
        .await
        .expect("the run completes");
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
        2 * 10 + 1,
        "7 nodetool + 3 config files per node, and nodetool version for versions.yaml: {m:?}"
    );

    let mut bundle = BundleReader::open(&out, ReaderLimits::default()).unwrap();
    assert!(bundle.verify().is_clean());
    let files = read_all(&mut bundle);

    // The instance, its operator and its relations.
    assert!(get(&files, "instance/instance.yaml").contains("name: cassandra-3.11.7-1.0.3"));
    assert!(get(&files, "instance/operatorversion.yaml").contains("appVersion: 3.11.7"));
    assert!(get(&files, "instance/operator.yaml").contains("kind: Operator"));
    assert!(get(&files, "instance/child-instances.yaml").contains("name: cassandra-backup"));
    assert!(get(&files, "instance/parent-instances.yaml").contains("items: []"));
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
    let (files, failed) =
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
) -> (Vec<(String, String)>, Vec<String>) {
    let sc = kudo_diag::sim::scenarios::load(scenario).expect("the built-in scenario loads");
    let sim = start(sc).await;
    let dir = tempfile::tempdir().unwrap();
    let reg = registry();
    let pipeline = builtin_pipeline(pipeline, dir.path(), &reg);
    let out = dir.path().join("bundle.zip");
    let globals = json!({
        "instance": instance, "namespace": namespace, "kudoNamespace": "kudo-system",
        "operator": "", "operatorVersion": "", "appVersion": "", "kudoVersion": ""
    });
    let target = json!({"server": sim.base_url(), "namespace": namespace, "instance": instance});
    let mut config = engine::RunConfig::new(pipeline, target, globals, out.clone());
    config.env = env(&sim, json!({}));
    let events = engine::EventLog::new();
    let started = Instant::now();
    let summary = engine::run(config, &reg, &events, CancellationToken::new())
        .await
        .expect("the run completes");
    let failed: Vec<String> = events
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
        .collect();
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
    // Every container of every pod of the instance has its log, unless it has not started.
    let pods: Value = kudo_diag::yaml::from_str(get(&files, "workload/pods.yaml")).unwrap();
    for pod in pods["items"].as_array().unwrap() {
        let name = pod["metadata"]["name"].as_str().unwrap();
        if pod["status"]["phase"] == "Pending" {
            continue;
        }
        for section in ["initContainers", "containers"] {
            for c in pod["spec"][section].as_array().into_iter().flatten() {
                let c = c["name"].as_str().unwrap();
                get(&files, &format!("pods/{name}/logs/{c}.log"));
            }
        }
    }
    let inst = get(&files, "instance/instance.yaml");
    assert!(inst.contains(&format!("name: {instance}")), "{inst}");
    get(&files, "instance/plan-status.txt");
    sim.shutdown().await;
    (files, failed)
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
        let status = get(
            &files,
            &format!("apps/cassandra/analytics-cassandra-node-{i}/nodetool-status.txt"),
        );
        assert!(status.contains("UN "), "{status}");
    }
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
/// bundle shows the failure; the only task failures are the commands the crash-looping node
/// cannot run, each with the API's reason in errors.json.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_builtin_broken_cassandra_scenario() {
    let (files, failed) = collect_builtin_allowing(
        "broken-cassandra",
        "cassandra",
        "analytics-cassandra",
        "production",
        |node| node.contains("[production/analytics-cassandra-node-1]"),
    )
    .await;
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
}

/// The `kafka` scenario's ZooKeeper child instance, with the zookeeper pipeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_builtin_zookeeper_of_the_kafka_scenario() {
    let (files, _) = collect_builtin("kafka", "zookeeper", "kafka-zookeeper", "kafka", None).await;
    assert!(get(&files, "instance/parent-instances.yaml").contains("name: kafka\n"));
    for i in 0..3 {
        let srvr = get(
            &files,
            &format!("apps/zookeeper/kafka-zookeeper-zookeeper-{i}/srvr.txt"),
        );
        assert!(srvr.contains("Zookeeper version"), "{srvr}");
    }
}

/// One node attempt of a kind, outside the engine, with its sink in a temp folder.
struct Probe {
    _dir: tempfile::TempDir,
    store: ArtifactStore,
    env: Arc<TaskEnv>,
}

impl Probe {
    fn new(sim: &SimHandle, settings: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        Probe {
            _dir: dir,
            store,
            env: Arc::new(env(sim, settings)),
        }
    }

    async fn run(
        &self,
        kind: &str,
        params: Value,
        vars: Value,
        output: Option<&str>,
    ) -> (Result<TaskOutput, TaskError>, Vec<(ArtifactRecord, String)>) {
        let reg = registry();
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

#[tokio::test]
async fn throttling_is_transient_with_the_servers_retry_after() {
    let sim = SimServer::start(
        scenario(),
        SimOptions {
            faults: Some(FaultConfig {
                throttle_rate: 1.0,
                retry_after_seconds: 7,
                ..FaultConfig::default()
            }),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let p = Probe::new(&sim, json!({}));
    let (r, arts) = p
        .run(
            "k8s.get",
            json!({"apiVersion": "v1", "kind": "Pod", "name": "cassandra-node-0"}),
            vars(),
            Some("x.yaml"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(e.transient, "{e}");
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)), "{e}");
    assert!(e.message.contains("429"), "{e}");
    assert!(arts.is_empty());
}

#[tokio::test]
async fn server_errors_are_transient() {
    let sim = SimServer::start(
        scenario(),
        SimOptions {
            faults: Some(FaultConfig {
                error_rate: 1.0,
                ..FaultConfig::default()
            }),
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let p = Probe::new(&sim, json!({}));
    let (r, _) = p
        .run(
            "k8s.list",
            json!({"apiVersion": "v1", "kind": "Pod"}),
            vars(),
            Some("pods.yaml"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(e.transient, "{e}");
    assert!(
        e.message.starts_with("list pods in namespace prod: 50"),
        "{e}"
    );
}

#[tokio::test]
async fn a_missing_object_is_permanent_with_the_apis_message() {
    let sim = start(scenario()).await;
    let p = Probe::new(&sim, json!({}));
    let (r, _) = p
        .run(
            "k8s.get",
            json!({"apiVersion": "kudo.dev/v1beta1", "kind": "Instance", "name": "nope"}),
            vars(),
            Some("i.yaml"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.transient);
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
    let p = Probe::new(&sim, json!({}));
    let (r, _) = p
        .run(
            "k8s.list",
            json!({"apiVersion": "v1", "kind": "Secret"}),
            vars(),
            Some("s.yaml"),
        )
        .await;
    let e = r.unwrap_err();
    assert!(!e.transient);
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
    assert!(!e.transient, "{e}");
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
    let p = Probe::new(&sim, json!({}));
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
    assert!(!e.transient);
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
    let p = Probe::new(&sim, json!({}));
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
    let p = Probe::new(&sim, json!({"logLimitBytes": 12}));
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

    let p = Probe::new(&sim, json!({}));
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
    assert!(!e.transient);
    assert!(e.message.contains("400"), "{e}");
}

#[tokio::test]
async fn a_stalled_log_stream_is_kept_with_a_marker() {
    // In the scenario itself: the log handler reads the scenario's faults.
    let mut sc = scenario();
    sc.faults.stall_logs_after_bytes = Some(10);
    let sim = start(sc).await;
    let p = Probe::new(&sim, json!({"logIdleTimeout": "300ms"}));
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
    let p = Probe::new(&sim, json!({}));
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
    let reg = registry();
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
    let reg = registry();
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
                settings: Default::default(),
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
    assert!(e.transient, "{e}");
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
    let reg = registry();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/kudo.yaml");
    let pipeline = pipeline::load::resolve(&[root.display().to_string()], &reg).unwrap();
    let out = dir.path().join("scale.zip");
    let ns = kudo_diag::sim::generate::GENERATED_NAMESPACE;
    let globals = json!({"instance": "scale-cassandra", "namespace": ns, "kudoNamespace": "kudo-system",
        "operator": "", "operatorVersion": "", "appVersion": "", "kudoVersion": ""});
    let target = json!({"server": sim.base_url(), "namespace": ns, "instance": "scale-cassandra"});
    let mut config = engine::RunConfig::new(pipeline, target, globals, out.clone());
    config.env = env(&sim, json!({}));
    let started = Instant::now();
    let summary = engine::run(config, &reg, &engine::Silent, CancellationToken::new())
        .await
        .unwrap();
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
    let p = Probe::new(&sim, json!({}));
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
    assert!(!e.transient, "{e}");
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
    let p = Probe::new(&sim, json!({}));
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
    assert!(!e.transient, "{e}");
    assert!(e.message.contains("deleted during the collection"), "{e}");
    assert!(e.message.contains("404"), "{e}");
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
    let p = Probe::new(&sim, json!({}));
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
