//! The scale generator: a KUDO instance with any number of pods, for benchmarks and tests of
//! collection at scale (`kudo-diag sim --generate cassandra --pods 5000 --containers 2
//! --log-bytes 1MiB`).
//!
//! Objects are built directly as JSON (no YAML parsing per pod), so thousands of pods take
//! milliseconds. The Operator and OperatorVersion are the real ones of the built-in scenarios,
//! the KUDO CRDs, the KUDO manager and a cluster of nodes sized for the pods are included, and
//! every container's log is a [`LogSource::Generate`] of the requested size, produced only when
//! someone reads it.

use serde_json::{json, Value};

use super::scenario::{
    ExecHandler, ExecMatch, FileSpec, GeneratedLog, LogSource, LogSpec, Scenario,
};
use super::scenarios;
use super::SimError;

/// The applications the generator knows, with their main container and log line templates.
struct App {
    name: &'static str,
    container: &'static str,
    image: &'static str,
    operator_file: &'static str,
    /// The operator's statefulset is `INSTANCE-SUFFIX` (its pods `INSTANCE-SUFFIX-N`).
    sts_suffix: &'static str,
    /// The pods' `app` label; the instance's name when `None` (KUDO's cassandra).
    app_label: Option<&'static str>,
    templates: &'static [&'static str],
}

const APPS: &[App] = &[
    App {
        name: "cassandra",
        container: "cassandra",
        image: "mesosphere/cassandra:3.11.7-1.0.3",
        operator_file: "cassandra-operator.yaml",
        sts_suffix: "node",
        app_label: None,
        templates: &[
            "INFO  [CompactionExecutor:{int}] {time} CompactionTask.java:255 - Compacted {int} sstables to [/var/lib/cassandra/data/{word}/{word}-{int}] to level=0. {int} bytes in {int}ms.",
            "INFO  [GossipStage:1] {time} Gossiper.java:1105 - Node /{word} state jump to NORMAL",
            "{level} [Service Thread] {time} GCInspector.java:285 - ParNew GC in {int}ms.  CMS Old Gen: {int} -> {int};",
            "INFO  [PerDiskMemtableFlushWriter_0:{int}] {time} Memtable.java:477 - Writing Memtable-{word}@{int}({int} KiB serialized bytes, {int} ops)",
        ],
    },
    App {
        name: "kafka",
        container: "k8skafka",
        image: "mesosphere/kafka:2.5.1-1.3.1",
        operator_file: "kafka-operator.yaml",
        sts_suffix: "kafka",
        app_label: Some("kafka"),
        templates: &[
            "[{time}] INFO [Log partition={word}-{int}, dir=/var/lib/kafka/data] Rolled new log segment at offset {int} in {int} ms. (kafka.log.Log)",
            "[{time}] {level} [ReplicaFetcher replicaId={int}, leaderId={int}, fetcherId=0] {word} {word} (kafka.server.ReplicaFetcherThread)",
        ],
    },
    App {
        name: "zookeeper",
        container: "kubernetes-zookeeper",
        image: "zookeeper:3.6.2",
        operator_file: "zookeeper-operator.yaml",
        sts_suffix: "zookeeper",
        app_label: Some("zookeeper"),
        templates: &[
            "{time} [myid:1] - INFO  [NIOWorkerThread-{int}:NIOServerCnxn@{int}] - Processing {word} command from /127.0.0.1:{int}",
            "{time} [myid:1] - {level}  [QuorumPeer[myid=1]:Follower@{int}] - {word} {word} zxid 0x10000{int}",
        ],
    },
];

/// Nodes of a generated cluster when not given: one per pod up to this many (pods are then
/// spread evenly over them), at least three.
const DEFAULT_MAX_NODES: usize = 100;

/// Namespace of generated instances.
pub const GENERATED_NAMESPACE: &str = "generated";

/// What to generate: one KUDO instance of `app` with `pods` pods of `containers` containers
/// each, every container logging `log_bytes` bytes.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// cassandra, kafka or zookeeper; unknown names fall back to cassandra here and are
    /// refused by [`scenario_from_generate_flags`].
    pub app: &'a str,
    pub pods: usize,
    pub containers: usize,
    pub log_bytes: u64,
    /// Seeds host IDs, loads, container IDs and log contents.
    pub seed: u64,
    /// How many members the applications' cluster-wide views list (`nodetool status`,
    /// `gossipinfo` and `describecluster`, zoo.cfg's servers, Kafka's broker lists); `None`
    /// lists every pod, as the real tools do. Each pod's answer lists the whole cluster, so a
    /// collection's output grows with pods squared (about 13 GB of nodetool output at 5,000
    /// Cassandra pods); a bound keeps scale runs about the collector rather than about that.
    pub peers: Option<usize>,
    /// Nodes the pods are spread over (pod `i` on node `i % nodes`); `None`: one per pod up to
    /// 100, at least three. The collector bounds its streams per node, so this shapes a run.
    pub nodes: Option<usize>,
}

impl<'a> Spec<'a> {
    /// `pods` pods of `app` with one container, no log, seed 0, every member listed.
    pub fn new(app: &'a str, pods: usize) -> Self {
        Spec {
            app,
            pods,
            containers: 1,
            log_bytes: 0,
            seed: 0,
            peers: None,
            nodes: None,
        }
    }
}

/// Generates the scenario `spec` describes.
pub fn generate(spec: &Spec) -> Scenario {
    let Spec {
        pods,
        containers,
        log_bytes,
        seed,
        ..
    } = *spec;
    let app = APPS.iter().find(|a| a.name == spec.app).unwrap_or(&APPS[0]);
    let ns = GENERATED_NAMESPACE;
    let inst = format!("scale-{}", app.name);
    // Named and labelled like the real operators' statefulsets, which their pipelines address.
    let sts = format!("{inst}-{}", app.sts_suffix);
    let containers = containers.max(1);
    let nodes = node_count(pods, spec.nodes);
    let (mut objects, (ov_name, op_version, plans)) = cluster_objects(app, ns, pods, nodes);
    let kudo_labels =
        json!({"heritage": "kudo", "kudo.dev/instance": inst, "kudo.dev/operator": app.name});
    let kudo_ann = json!({"kudo.dev/operator-version": op_version, "kudo.dev/plan": "deploy"});
    objects.push(json!({
        "apiVersion": "kudo.dev/v1beta1", "kind": "Instance",
        "metadata": {"name": inst, "namespace": ns, "labels": {"kudo.dev/operator": app.name}, "creationTimestamp": "2026-11-27T08:00:00Z"},
        "spec": {"operatorVersion": {"name": ov_name}, "parameters": {"NODE_COUNT": pods.to_string()}},
        "status": {"planStatus": complete_plans(&plans), "aggregatedStatus": {"status": "COMPLETE", "activePlanName": "deploy"}}
    }));
    let owner_instance = json!([{"apiVersion": "kudo.dev/v1beta1", "kind": "Instance", "name": inst, "controller": true, "blockOwnerDeletion": true}]);
    let selector = json!({"app": app.app_label.unwrap_or(&inst), "kudo.dev/instance": inst});
    let mut pod_labels = kudo_labels.clone();
    pod_labels["app"] = json!(app.app_label.unwrap_or(&inst));
    let (container_names, container_specs) = containers_of(app, containers);
    objects.push(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": sts, "namespace": ns, "labels": kudo_labels, "annotations": kudo_ann, "ownerReferences": owner_instance},
        "spec": {"replicas": pods, "serviceName": format!("{inst}-svc"), "selector": {"matchLabels": selector},
                 "template": {"metadata": {"labels": pod_labels}, "spec": {"containers": container_specs}}},
        "status": {"replicas": pods, "readyReplicas": pods, "currentReplicas": pods, "updatedReplicas": pods, "availableReplicas": pods}
    }));
    objects.push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("{inst}-svc"), "namespace": ns, "labels": kudo_labels, "ownerReferences": owner_instance},
        "spec": {"clusterIP": "None", "selector": selector, "ports": [{"name": "main", "port": 9042, "protocol": "TCP"}]}
    }));
    objects.push(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": format!("{inst}-pdb"), "namespace": ns, "labels": kudo_labels, "ownerReferences": owner_instance},
        "spec": {"selector": {"matchLabels": selector}, "maxUnavailable": 1},
        "status": {"currentHealthy": pods, "desiredHealthy": pods.saturating_sub(1), "disruptionsAllowed": 1, "expectedPods": pods}
    }));

    let sts_owner = json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": sts, "controller": true, "blockOwnerDeletion": true}]);
    let templates: Vec<String> = app.templates.iter().map(|t| t.to_string()).collect();
    let mut logs = Vec::with_capacity(pods * containers);
    let mut members = Vec::with_capacity(pods);
    for i in 0..pods {
        let name = format!("{sts}-{i}");
        let node_name = node_name(i % nodes);
        let ip = pod_ip(i);
        members.push(Member {
            pod: name.clone(),
            ip: ip.clone(),
            host_id: host_id(seed, i),
            load_kib: 150.0 + (mix(seed, i as u64, 7) % 15_000) as f64 / 100.0,
        });
        let mut labels = pod_labels.clone();
        labels["statefulset.kubernetes.io/pod-name"] = json!(name);
        let statuses: Vec<Value> = container_names
            .iter()
            .map(|c| {
                json!({"name": c, "image": app.image, "ready": true, "started": true, "restartCount": 0,
                       "containerID": format!("containerd://{:016x}{:016x}", seed ^ i as u64, mix(seed, i as u64, c.len() as u64)),
                       "state": {"running": {"startedAt": "2026-11-27T08:05:00Z"}}, "lastState": {}})
            })
            .collect();
        objects.push(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": kudo_ann, "ownerReferences": sts_owner,
                         "creationTimestamp": "2026-11-27T08:04:00Z"},
            "spec": {"nodeName": node_name, "hostname": name, "subdomain": format!("{inst}-svc"), "containers": container_specs},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": format!("10.0.{}.{}", (i % nodes) / 256, (i % nodes) % 256),
                       "startTime": "2026-11-27T08:04:00Z", "qosClass": "Burstable",
                       "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"},
                                      {"type": "Initialized", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
                       "containerStatuses": statuses}
        }));
        for (c, cname) in container_names.iter().enumerate() {
            logs.push(LogSpec {
                namespace: None,
                pod: name.clone(),
                container: cname.clone(),
                previous: false,
                source: LogSource::Generate(GeneratedLog {
                    lines: None,
                    bytes: Some(log_bytes),
                    seed: mix(seed, i as u64, c as u64),
                    template: templates[0].clone(),
                    start: None,
                    interval_ms: 1000,
                    templates: templates.clone(),
                }),
            });
        }
    }

    // The pods' own entries (nodetool info, cassandra.yaml, server.properties) stay per pod;
    // only what each pod lists of the others is bounded.
    let listed = spec.peers.unwrap_or(pods).clamp(1, pods.max(1));
    let (exec, files) = scripted(app, &inst, &sts, &members, listed);
    let mut sc = Scenario {
        name: format!("generated-{}", app.name),
        description: format!("generated: a KUDO {} instance with {pods} pods of {containers} containers, {log_bytes} log bytes each", app.name),
        namespace: ns.to_string(),
        objects,
        logs,
        exec,
        files,
        ..Default::default()
    };
    scenarios::normalize(&mut sc);
    sc
}

/// The cluster around a generated instance: KUDO's CRDs and manager, this app's operator
/// package (in `ns`), the nodes and a default StorageClass; with the operator version's name,
/// version and plans.
fn cluster_objects(
    app: &App,
    ns: &str,
    pods: usize,
    nodes: usize,
) -> (Vec<Value>, (String, String, Value)) {
    let mut objects = Vec::with_capacity(pods * 3 + 64);
    // Shared, real material: CRDs, the KUDO manager, the operator package.
    for file in ["kudo-crds.yaml", "kudo-system.yaml", app.operator_file] {
        let text = scenarios::embedded_file(file).unwrap_or_default();
        // Embedded files are checked by the built-in scenario tests; an error here is a bug.
        let _ = scenarios::read_documents(text, file, &mut objects);
    }
    objects.retain(|o| {
        // The operator files hold every operator a scenario needs; keep only this app's.
        o["kind"] != "Operator" && o["kind"] != "OperatorVersion"
            || o["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(app.name))
    });
    let (ov_name, op_version, plans) = objects
        .iter()
        .find(|o| o["kind"] == "OperatorVersion")
        .map(|ov| {
            (
                ov["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                ov["spec"]["version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                ov["spec"]["plans"].clone(),
            )
        })
        .unwrap_or_default();
    for o in &mut objects {
        if o["kind"] == "Operator" || o["kind"] == "OperatorVersion" {
            o["metadata"]["namespace"] = json!(ns);
        }
        // The KUDO manager runs on one of this cluster's nodes.
        if o["kind"] == "Pod" {
            o["spec"]["nodeName"] = json!(node_name(0));
        }
    }

    for n in 0..nodes {
        objects.push(node(n));
    }
    objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "status": {"phase": "Active"}}));
    objects.push(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "gp2", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/aws-ebs", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"
    }));
    (objects, (ov_name, op_version, plans))
}

/// Nodes of a generated cluster: as asked, else one per pod up to [`DEFAULT_MAX_NODES`], at
/// least three.
fn node_count(pods: usize, nodes: Option<usize>) -> usize {
    nodes
        .unwrap_or_else(|| pods.clamp(3, DEFAULT_MAX_NODES))
        .max(1)
}

/// The generated pods' containers: the app's, then sidecars; names and specs.
fn containers_of(app: &App, containers: usize) -> (Vec<String>, Vec<Value>) {
    let container_names: Vec<String> = (0..containers)
        .map(|c| {
            if c == 0 {
                app.container.to_string()
            } else {
                format!("sidecar-{c}")
            }
        })
        .collect();
    let container_specs: Vec<Value> = container_names
        .iter()
        .map(|c| {
            json!({
                "name": c, "image": app.image, "imagePullPolicy": "IfNotPresent",
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
            })
        })
        .collect();
    (container_names, container_specs)
}

/// What `kudo-diag sim --generate APP --pods N --containers C --log-bytes SIZE --seed S`
/// builds, with the flags validated. SIZE takes a unit: `512`, `64KiB`, `1MiB`, `2GiB`, `1MB`.
pub fn scenario_from_generate_flags(
    app: &str,
    pods: usize,
    containers: usize,
    log_bytes: &str,
    seed: u64,
    peers: Option<usize>,
    nodes: Option<usize>,
) -> Result<Scenario, SimError> {
    if !APPS.iter().any(|a| a.name == app) {
        let names: Vec<&str> = APPS.iter().map(|a| a.name).collect();
        return Err(SimError::Generate(format!(
            "cannot generate {app:?}: choose one of {}",
            names.join(", ")
        )));
    }
    if pods == 0 {
        return Err(SimError::Generate("--pods must be at least 1".into()));
    }
    if containers == 0 {
        return Err(SimError::Generate("--containers must be at least 1".into()));
    }
    if nodes == Some(0) {
        return Err(SimError::Generate(
            "--nodes must be at least 1 (leave it out for one node per pod, up to 100)".into(),
        ));
    }
    if peers == Some(0) {
        return Err(SimError::Generate(
            "--peers must be at least 1 (leave it out to list every pod)".into(),
        ));
    }
    let log_bytes = parse_size(log_bytes)?;
    Ok(generate(&Spec {
        app,
        pods,
        containers,
        log_bytes,
        seed,
        peers,
        nodes,
    }))
}

/// Parses a byte size (`crate::size`: k = 1000, Ki = 1024).
pub fn parse_size(s: &str) -> Result<u64, SimError> {
    crate::size::parse_size(s).map_err(SimError::Generate)
}

fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

fn node_name(n: usize) -> String {
    format!("ip-10-0-{}-{}.ec2.internal", n / 256, n % 256)
}

fn node(n: usize) -> Value {
    let name = node_name(n);
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "m5.4xlarge"}},
        "status": {
            "capacity": {"cpu": "16", "memory": "65021196Ki", "pods": "110", "ephemeral-storage": "104845292Ki"},
            "allocatable": {"cpu": "15890m", "memory": "63870220Ki", "pods": "110", "ephemeral-storage": "95551679541"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
            ],
            "addresses": [{"type": "InternalIP", "address": format!("10.0.{}.{}", n / 256, n % 256)}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.32.4", "containerRuntimeVersion": "containerd://1.7.22", "osImage": "Amazon Linux 2", "architecture": "amd64", "operatingSystem": "linux"}
        }
    })
}

fn complete_plans(plans: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (name, plan) in plans.as_object().into_iter().flatten() {
        let status = if name == "deploy" {
            "COMPLETE"
        } else {
            "NEVER_RUN"
        };
        let phases: Vec<Value> = plan["phases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|ph| {
                let steps: Vec<Value> = ph["steps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| json!({"name": s["name"], "status": status}))
                    .collect();
                json!({"name": ph["name"], "status": status, "steps": steps})
            })
            .collect();
        out.insert(
            name.clone(),
            json!({"name": name, "status": status, "phases": phases}),
        );
    }
    Value::Object(out)
}

/// One generated pod as the application sees it: its address and (Cassandra) host ID and load.
struct Member {
    pod: String,
    ip: String,
    host_id: String,
    load_kib: f64,
}

/// The pod IP of generated pod `i` (10.64.0.0/10: 4 million pods before a clash).
fn pod_ip(i: usize) -> String {
    format!("10.{}.{}.{}", 64 + i / 65536, (i / 256) % 256, i % 256)
}

/// A seeded, UUID-shaped Cassandra host ID.
fn host_id(seed: u64, i: usize) -> String {
    let a = mix(seed, i as u64, 0x1d);
    let b = mix(seed, i as u64, 0x2e);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// A handler for `nodetool CMD` (also with `-h HOST`-style options, as the built-in scenarios
/// script it) in `pod` (a name or a regex).
fn nodetool(pod: &str, cmd: &str, stdout: String) -> ExecHandler {
    ExecHandler {
        pod: Some(pod.to_string()),
        container: Some("cassandra".into()),
        matcher: ExecMatch::Regex(format!(r"(^|[ /])nodetool( \S+)* {cmd}$")),
        stdout,
        stderr: String::new(),
        exit_code: 0,
    }
}

fn file(pod: &str, container: &str, path: &str, content: String) -> FileSpec {
    FileSpec {
        pod: Some(pod.to_string()),
        container: Some(container.to_string()),
        path: path.to_string(),
        content,
        mode: None,
    }
}

/// Every command the application's built-in pipeline runs in the generated pods, answered
/// consistently with them (pipelines/cassandra.yaml, kafka.yaml, zookeeper.yaml), so a
/// collection at scale records no exec failure that a real healthy cluster would not have.
/// Answers shared by all pods match a pod regex; the per-pod ones (nodetool info, the node's
/// cassandra.yaml) name their pod, which the simulated exec matches without a regex.
fn scripted(
    app: &App,
    inst: &str,
    sts: &str,
    members: &[Member],
    listed: usize,
) -> (Vec<ExecHandler>, Vec<FileSpec>) {
    let all = format!("{sts}-[0-9]+");
    // What every pod lists of the cluster ([`Spec::peers`]).
    let peers = &members[..listed.min(members.len())];
    match app.name {
        "cassandra" => cassandra_scripts(inst, &all, members, peers),
        "kafka" => kafka_scripts(app.container, &all, members, peers),
        _ => zookeeper_scripts(app.container, &all, members, peers),
    }
}

/// A handler answering commands whose argv (joined with spaces) matches `regex` in `pod`.
fn answer(pod: &str, container: &str, regex: &str, stdout: String) -> ExecHandler {
    ExecHandler {
        pod: Some(pod.to_string()),
        container: Some(container.to_string()),
        matcher: ExecMatch::Regex(regex.to_string()),
        stdout,
        stderr: String::new(),
        exit_code: 0,
    }
}

/// pipelines/kafka.yaml: the cluster-wide tools on the first broker, server.properties on each.
fn kafka_scripts(
    container: &str,
    all: &str,
    members: &[Member],
    peers: &[Member],
) -> (Vec<ExecHandler>, Vec<FileSpec>) {
    use std::fmt::Write as _;
    let first = &members[0].pod;
    let brokers: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{}:9093 (id: {i} rack: null)", m.ip))
        .collect();
    let mut topics = String::new();
    let mut dirs = Vec::new();
    for topic in ["orders", "payments"] {
        let _ = writeln!(
            topics,
            "Topic: {topic}\tPartitionCount: 3\tReplicationFactor: {rf}\tConfigs: segment.bytes=1073741824",
            rf = members.len().min(3)
        );
        for part in 0..3 {
            let replicas: Vec<String> = (0..members.len().min(3))
                .map(|r| ((part + r) % members.len()).to_string())
                .collect();
            let _ = writeln!(
                topics,
                "\tTopic: {topic}\tPartition: {part}\tLeader: {}\tReplicas: {}\tIsr: {}",
                replicas[0],
                replicas.join(","),
                replicas.join(",")
            );
        }
    }
    for (i, _) in peers.iter().enumerate() {
        dirs.push(format!(
            r#"{{"broker":{i},"logDirs":[{{"logDir":"/var/lib/kafka/data","error":null,"partitions":[]}}]}}"#
        ));
    }
    let mut exec = vec![
        // Nothing under-replicated: the tool prints nothing.
        answer(
            first,
            container,
            r"kafka-topics(\.sh)? .*--describe.*--under-replicated-partitions",
            String::new(),
        ),
        answer(first, container, r"kafka-topics(\.sh)? .*--describe", topics),
        answer(
            first,
            container,
            r"kafka-consumer-groups(\.sh)? .*--describe",
            "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\nbilling         orders          0          1200            1200            0               -               -               -\n".into(),
        ),
        answer(
            first,
            container,
            r"kafka-log-dirs(\.sh)? .*--describe",
            format!(
                "Querying brokers for log directories information\nReceived log directory information from brokers {}\n{{\"version\":1,\"brokers\":[{}]}}\n",
                (0..peers.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(","),
                dirs.join(",")
            ),
        ),
        answer(
            first,
            container,
            r"kafka-broker-api-versions(\.sh)? ",
            brokers
                .iter()
                .map(|b| format!("{b} -> (\n\tProduce(0): 0 to 8 [usable: 8],\n\tFetch(1): 0 to 11 [usable: 11]\n)\n"))
                .collect(),
        ),
        answer(all, container, r"kafka-topics(\.sh)? .*--list", "orders\npayments\n".into()),
        answer(
            all,
            container,
            r"^sh -c tail .*/server\.log$",
            "[2026-11-27 08:09:05,640] INFO [KafkaServer id=0] started (kafka.server.KafkaServer)\n".into(),
        ),
        answer(
            all,
            container,
            r"^sh -c tail .*/controller\.log$",
            "[2026-11-27 08:09:05,700] DEBUG [Controller id=0] Broker 0 has been elected as the controller, so stopping the election process. (kafka.controller.KafkaController)\n".into(),
        ),
        answer(
            all,
            container,
            r"^sh -c tail .*/state-change\.log$",
            "[2026-11-27 08:09:06,200] TRACE [Broker id=0] Handling LeaderAndIsr request correlationId 1 from controller 0 epoch 1 starting the become-leader transition for partition orders-0 (state.change.logger)\n".into(),
        ),
    ];
    for (i, m) in members.iter().enumerate() {
        exec.push(answer(
            &m.pod,
            container,
            r"^(sh|bash) -c cat \S*/server\.properties$",
            format!(
                "broker.id={i}\nlisteners=INTERNAL://{ip}:9093\nadvertised.listeners=INTERNAL://{pod}.{svc}:9093\nlog.dirs=/var/lib/kafka/data\nzookeeper.connect=zookeeper-instance-zookeeper-0.zookeeper-instance-hs:2181\nnum.partitions=3\ndefault.replication.factor={rf}\n",
                ip = m.ip,
                pod = m.pod,
                svc = all.trim_end_matches("-[0-9]+"),
                rf = members.len().min(3),
            ),
        ));
    }
    (exec, Vec::new())
}

/// pipelines/zookeeper.yaml: srvr, stat, mntr and conf from every server (the first one leads),
/// and each server's zoo.cfg.
fn zookeeper_scripts(
    container: &str,
    all: &str,
    members: &[Member],
    peers: &[Member],
) -> (Vec<ExecHandler>, Vec<FileSpec>) {
    let fourlw = |word: &str| format!(r"echo {word} \| (nc|ncat) (localhost|127\.0\.0\.1) 2181$");
    let mut exec = vec![
        answer(all, container, &fourlw("ruok"), "imok".into()),
        answer(
            all,
            container,
            r"^sh -c tail .* /logs/zookeeper\.log$",
            "2026-11-27 08:02:01,090 [myid:1] - INFO  [main:QuorumPeerMain@151] - Starting quorum peer, myid=1\n".into(),
        ),
    ];
    let servers: String = peers
        .iter()
        .enumerate()
        .map(|(i, m)| format!("server.{}={}:2888:3888\n", i + 1, m.ip))
        .collect();
    let mut files = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let mode = if i == 0 { "leader" } else { "follower" };
        let srvr = format!(
            "Zookeeper version: 3.6.2--803c7f1a12f85978cb049af5e4ef23bd8b688715, built on 09/04/2020 12:44 GMT\nLatency min/avg/max: 0/0.4/12\nReceived: {r}\nSent: {r}\nConnections: 3\nOutstanding: 0\nZxid: 0x100000{i:03x}\nMode: {mode}\nNode count: 27\n",
            r = 1000 + i,
        );
        exec.push(answer(&m.pod, container, &fourlw("srvr"), srvr));
        for word in ["stat", "mntr", "conf"] {
            // The operator whitelists only srvr and ruok; the server says so for the others.
            exec.push(answer(
                &m.pod,
                container,
                &fourlw(word),
                format!("{word} is not executed because it is not in the whitelist.\n"),
            ));
        }
        files.push(file(
            &m.pod,
            container,
            "/conf/zoo.cfg",
            format!(
                "#This file was autogenerated by bootstrap.sh\nclientPort=2181\ndataDir=/var/lib/zookeeper/data\ntickTime=2000\ninitLimit=10\nsyncLimit=5\n4lw.commands.whitelist=srvr, ruok\n{servers}"
            ),
        ));
    }
    (exec, files)
}

/// Schema version every generated node agrees on.
const SCHEMA_VERSION: &str = "2207c2a9-f598-3971-986b-2926e09e239d";

/// `nodetool status` and `nodetool gossipinfo` as every listed node answers them.
fn status_and_gossip(peers: &[Member], owns: f64) -> (String, String) {
    use std::fmt::Write as _;
    let mut status = String::from(
        "Datacenter: datacenter1\n=======================\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n--  Address          Load       Tokens       Owns (effective)  Host ID                               Rack\n",
    );
    let mut gossip = String::new();
    for (i, m) in peers.iter().enumerate() {
        let _ = writeln!(
            status,
            "UN  {:<16} {:<10} {:<12} {:<17} {}  rack1",
            m.ip,
            format!("{:.2} KiB", m.load_kib),
            256,
            format!("{owns:.1}%"),
            m.host_id
        );
        let _ = write!(
            gossip,
            "/{ip}\n  generation:{gen}\n  heartbeat:9000\n  STATUS:25:NORMAL,-9000000000000000000\n  LOAD:9000:{load:.1}\n  SCHEMA:14:{SCHEMA_VERSION}\n  DC:8:datacenter1\n  RACK:10:rack1\n  RELEASE_VERSION:4:3.11.7\n  INTERNAL_IP:6:{ip}\n  RPC_ADDRESS:3:{ip}\n  NET_VERSION:1:11\n  HOST_ID:2:{id}\n  RPC_READY:40:true\n  TOKENS:24:<hidden>\n",
            ip = m.ip,
            gen = 1_764_230_400 + i as u64,
            load = m.load_kib * 1024.0,
            id = m.host_id,
        );
    }
    (status, gossip)
}

fn cassandra_scripts(
    inst: &str,
    all: &str,
    members: &[Member],
    peers: &[Member],
) -> (Vec<ExecHandler>, Vec<FileSpec>) {
    let n = members.len();
    // With the operator's replication factor of 3, each node owns 3/n of the ring.
    let owns = 100.0 * (n.min(3) as f64) / n as f64;
    let (status, gossip) = status_and_gossip(peers, owns);
    let ips: Vec<&str> = peers.iter().map(|m| m.ip.as_str()).collect();
    let describe = format!(
        "Cluster Information:\n\tName: {inst}\n\tSnitch: org.apache.cassandra.locator.GossipingPropertyFileSnitch\n\tDynamicEndPointSnitch: enabled\n\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner\n\tSchema versions:\n\t\t{SCHEMA_VERSION}: [{}]\n\n",
        ips.join(", ")
    );
    let mut exec = vec![
        nodetool(all, "status", status),
        nodetool(all, "version", "ReleaseVersion: 3.11.7\n".into()),
        nodetool(all, "describecluster", describe),
        nodetool(all, "tpstats", TPSTATS.into()),
        nodetool(all, "compactionstats", "pending tasks: 0\n".into()),
        nodetool(all, "gossipinfo", gossip),
        nodetool(all, "netstats", NETSTATS.into()),
        nodetool(all, "tablestats", TABLESTATS.into()),
        nodetool(all, "ring", ring(peers, owns)),
        answer(
            all,
            "cassandra",
            r"^sh -c tail .* /var/log/cassandra/system\.log$",
            "INFO  [main] 2026-11-27 08:04:13,040 CassandraDaemon.java:556 - Startup complete\n".into(),
        ),
        answer(
            all,
            "cassandra",
            r"^sh -c tail .* /var/log/cassandra/debug\.log$",
            "DEBUG [ScheduledTasks:1] 2026-11-27 08:05:00,001 MonitoringTask.java:173 - 0 operations were slow in the last 5000 msecs\n".into(),
        ),
        answer(
            all,
            "cassandra",
            r"^sh -c tail .* /var/log/cassandra/gc\.log\.0\.current$",
            "2026-11-27T08:05:01.123+0000: 61.234: [GC (Allocation Failure) 61.234: [ParNew: 335552K->12345K(368640K), 0.0123456 secs] 735552K->412345K(2056192K), 0.0124567 secs] [Times: user=0.04 sys=0.00, real=0.01 secs]\n".into(),
        ),
    ];
    let seeds: Vec<String> = members
        .iter()
        .take(3)
        .map(|m| {
            format!(
                "{}.{inst}-svc.{GENERATED_NAMESPACE}.svc.cluster.local",
                m.pod
            )
        })
        .collect();
    let mut files = vec![
        file(
            all,
            "cassandra",
            "/etc/cassandra/jvm.options",
            JVM_OPTIONS.into(),
        ),
        file(
            all,
            "cassandra",
            "/etc/cassandra/cassandra-env.sh",
            CASSANDRA_ENV.into(),
        ),
        file(
            all,
            "cassandra",
            "/etc/cassandra/cassandra-rackdc.properties",
            "dc=datacenter1\nrack=rack1\n".into(),
        ),
    ];
    for (i, m) in members.iter().enumerate() {
        exec.push(nodetool(
            &m.pod,
            "info",
            format!(
                "ID                     : {id}\nGossip active          : true\nThrift active          : false\nNative Transport active: true\nLoad                   : {load:.2} KiB\nGeneration No          : {gen}\nUptime (seconds)       : {up}\nHeap Memory (MB)       : 512.41 / 2048.00\nOff Heap Memory (MB)   : 0.21\nData Center            : datacenter1\nRack                   : rack1\nExceptions             : 0\nPercent Repaired       : 100.0%\nToken                  : (invoke with -T/--tokens to see all 256 tokens)\n",
                id = m.host_id,
                load = m.load_kib,
                gen = 1_764_230_400 + i as u64,
                up = 3600 - (i as u64 % 600),
            ),
        ));
        files.push(file(
            &m.pod,
            "cassandra",
            "/etc/cassandra/cassandra.yaml",
            format!(
                "# cassandra.yaml as generated by /etc/cassandra/generate-cassandra-yaml.sh (abridged)\ncluster_name: {inst}\nnum_tokens: 256\nseed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n      - seeds: \"{seeds}\"\nlisten_address: {ip}\nrpc_address: 0.0.0.0\nbroadcast_rpc_address: {ip}\nendpoint_snitch: GossipingPropertyFileSnitch\nnative_transport_port: 9042\nstorage_port: 7000\ndata_file_directories:\n  - /var/lib/cassandra/data\ncommitlog_directory: /var/lib/cassandra/commitlog\n",
                seeds = seeds.join(","),
                ip = m.ip,
            ),
        ));
    }
    (exec, files)
}

/// `nodetool ring` (Cassandra 3.11 layout): 256 tokens per listed node, spread evenly and
/// interleaved, all Up/Normal.
fn ring(peers: &[Member], owns: f64) -> String {
    use std::fmt::Write as _;
    let total = (peers.len() * 256).max(1) as i128;
    let step = (1i128 << 64) / total;
    let token = |k: usize| (i64::MIN as i128 + step * k as i128) as i64;
    let mut out = format!(
        "\nDatacenter: datacenter1\n==========\n{:<17}{:<12}{:<7}{:<8}{:<16}{:<20}Token\n{:<80}{}\n",
        "Address", "Rack", "Status", "State", "Load", "Owns", "", token(total as usize - 1)
    );
    for k in 0..total as usize {
        let m = &peers[k % peers.len()];
        let _ = writeln!(
            out,
            "{:<17}{:<12}{:<7}{:<8}{:<16}{:<20}{}",
            m.ip,
            "rack1",
            "Up",
            "Normal",
            format!("{:.2} KiB", m.load_kib),
            format!("{owns:.2}%"),
            token(k)
        );
    }
    out.push_str("\n  Warning: \"nodetool ring\" is used to output all the tokens of a node.\n  To view status related info of a node use \"nodetool status\" instead.\n\n\n");
    out
}

/// `nodetool netstats` of an idle, healthy node (Cassandra 3.11 layout).
const NETSTATS: &str = "Mode: NORMAL
Not sending any streams.
Read Repair Statistics:
Attempted: 0
Mismatch (Blocking): 0
Mismatch (Background): 0
Pool Name                    Active   Pending      Completed   Dropped
Large messages                  n/a         0              0         0
Small messages                  n/a         0          12034         0
Gossip messages                 n/a         0           4410         0
";

/// `nodetool tablestats` of one small table (Cassandra 3.11 layout).
const TABLESTATS: &str = "Total number of tables: 1
----------------
Keyspace : analytics
\tRead Count: 812
\tRead Latency: 0.112 ms
\tWrite Count: 6512
\tWrite Latency: 0.019 ms
\tPending Flushes: 0
\t\tTable: events
\t\tSSTable count: 2
\t\tSpace used (live): 91022
\t\tSpace used (total): 91022
\t\tNumber of partitions (estimate): 811
\t\tLocal read count: 812
\t\tLocal write count: 6512
\t\tPending flushes: 0
\t\tDropped Mutations: 0

----------------
";

/// `nodetool tpstats` of an idle, healthy node (Cassandra 3.11 layout).
const TPSTATS: &str =
    "Pool Name                         Active   Pending      Completed   Blocked  All time blocked
ReadStage                              0         0          12847         0                 0
MiscStage                              0         0              0         0                 0
CompactionExecutor                     0         0           4312         0                 0
MutationStage                          0         0          98213         0                 0
MemtableReclaimMemory                  0         0             61         0                 0
PendingRangeCalculator                 0         0              6         0                 0
GossipStage                            0         0          21933         0                 0
RequestResponseStage                   0         0          67120         0                 0
Native-Transport-Requests              0         0          45519         0                 0
MigrationStage                         0         0              9         0                 0
MemtablePostFlush                      0         0             83         0                 0
MemtableFlushWriter                    0         0             61         0                 0

Message type           Dropped
READ                         0
RANGE_SLICE                  0
MUTATION                     0
REQUEST_RESPONSE             0
";

/// The start of the image's jvm.options (abridged).
const JVM_OPTIONS: &str = "# jvm.options (abridged)
-XX:+UnlockExperimentalVMOptions
-XX:+UseCGroupMemoryLimitForHeap
-Xss256k
-XX:+UseG1GC
-XX:G1RSetUpdatingPauseTimePercent=5
-XX:MaxGCPauseMillis=500
";

/// The image's cassandra-env.sh (abridged).
const CASSANDRA_ENV: &str = "# cassandra-env.sh (abridged)
MAX_HEAP_SIZE=\"2048M\"
HEAP_NEWSIZE=\"100M\"
JMX_PORT=\"7199\"
LOCAL_JMX=yes
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::exec::run_command;
    use crate::sim::loglines::{self, LogWindow};

    #[test]
    fn generates_a_consistent_instance() {
        let sc = generate(&Spec {
            containers: 2,
            log_bytes: 4096,
            seed: 9,
            ..Spec::new("cassandra", 250)
        });
        assert!(
            scenarios::problems(&sc).is_empty(),
            "{:#?}",
            scenarios::problems(&sc)
        );
        let pods: Vec<&Value> = sc
            .objects
            .iter()
            .filter(|o| o["kind"] == "Pod" && o["metadata"]["namespace"] == GENERATED_NAMESPACE)
            .collect();
        assert_eq!(pods.len(), 250);
        assert_eq!(pods[0]["spec"]["containers"].as_array().unwrap().len(), 2);
        assert_eq!(
            pods[0]["metadata"]["labels"]["kudo.dev/instance"],
            "scale-cassandra"
        );
        assert_eq!(sc.logs.len(), 500);
        assert!(sc
            .objects
            .iter()
            .any(|o| o["kind"] == "OperatorVersion"
                && o["metadata"]["namespace"] == GENERATED_NAMESPACE));
        // One node per pod, up to 100.
        assert_eq!(
            sc.objects.iter().filter(|o| o["kind"] == "Node").count(),
            100
        );
        let out = run_command(
            &sc,
            "scale-cassandra-node-17",
            "cassandra",
            &["nodetool".into(), "version".into()],
        );
        assert_eq!(out.exit_code, 0);
    }

    /// Every command pipelines/cassandra.yaml runs (and `nodetool version` for versions.yaml)
    /// answers in every generated node, consistently with the generated pods.
    #[test]
    fn every_cassandra_pipeline_command_is_scripted_consistently() {
        let sc = generate(&Spec {
            containers: 1,
            log_bytes: 100,
            seed: 3,
            ..Spec::new("cassandra", 5)
        });
        let pipeline: Value =
            crate::yaml::from_str(include_str!("../../pipelines/cassandra.yaml")).unwrap();
        let commands: Vec<Vec<String>> = pipeline["spec"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| {
                let c = t["params"]["command"]
                    .as_array()
                    .or(t["params"]["tools"]["nodetool"]["command"].as_array())?;
                Some(c.iter().map(|w| w.as_str().unwrap().to_string()).collect())
            })
            .collect();
        assert!(commands.len() >= 10, "{commands:?}");
        let pods: Vec<&Value> = sc
            .objects
            .iter()
            .filter(|o| o["kind"] == "Pod" && o["metadata"]["namespace"] == GENERATED_NAMESPACE)
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        for pod in &pods {
            let name = pod["metadata"]["name"].as_str().unwrap();
            let ip = pod["status"]["podIP"].as_str().unwrap();
            for argv in &commands {
                let out = run_command(&sc, name, "cassandra", argv);
                assert_eq!(
                    out.exit_code,
                    0,
                    "{name}: {argv:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(!out.stdout.is_empty(), "{name}: {argv:?} printed nothing");
            }
            let status = run_command(
                &sc,
                name,
                "cassandra",
                &["nodetool".into(), "status".into()],
            );
            let status = String::from_utf8(status.stdout).unwrap();
            // Every node, from every node, is Up/Normal with its pod's IP.
            for other in &pods {
                let other_ip = other["status"]["podIP"].as_str().unwrap();
                assert!(status.contains(&format!("UN  {other_ip} ")), "{status}");
            }
            let info = run_command(&sc, name, "cassandra", &["nodetool".into(), "info".into()]);
            let info = String::from_utf8(info.stdout).unwrap();
            let id = info
                .lines()
                .next()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string();
            assert!(
                status.contains(&id),
                "{name}'s host ID {id} is not in the ring"
            );
            ids.insert(id);
            let yaml = run_command(
                &sc,
                name,
                "cassandra",
                &["cat".into(), "/etc/cassandra/cassandra.yaml".into()],
            );
            assert!(String::from_utf8(yaml.stdout)
                .unwrap()
                .contains(&format!("listen_address: {ip}")));
        }
        assert_eq!(ids.len(), pods.len(), "host IDs must differ: {ids:?}");
        // Seeded: the same seed gives the same host IDs, another seed others.
        assert_eq!(host_id(3, 1), host_id(3, 1));
        assert_ne!(host_id(3, 1), host_id(4, 1));
    }

    /// Every exec task of pipelines/kafka.yaml and zookeeper.yaml succeeds in the pods it
    /// addresses (a named pod, or every pod its list selects), with the operators' pod names.
    #[test]
    fn every_kafka_and_zookeeper_pipeline_command_is_scripted() {
        for (app, text) in [
            ("kafka", include_str!("../../pipelines/kafka.yaml")),
            ("zookeeper", include_str!("../../pipelines/zookeeper.yaml")),
        ] {
            let sc = generate(&Spec {
                containers: 1,
                log_bytes: 100,
                seed: 2,
                ..Spec::new(app, 4)
            });
            let inst = format!("scale-{app}");
            let pods: Vec<String> = (0..4).map(|i| format!("{inst}-{app}-{i}")).collect();
            for p in &pods {
                let obj = sc
                    .objects
                    .iter()
                    .find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == *p)
                    .unwrap_or_else(|| panic!("no pod {p}"));
                assert_eq!(obj["metadata"]["labels"]["app"], app);
            }
            let pipeline: Value = crate::yaml::from_str(text).unwrap();
            let mut ran = 0;
            for t in pipeline["spec"]["tasks"].as_array().unwrap() {
                if t["kind"] != "k8s.exec" {
                    continue;
                }
                let argv: Vec<String> = t["params"]["command"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|w| w.as_str().unwrap().to_string())
                    .collect();
                let container = t["params"]["container"].as_str().unwrap();
                let targets: Vec<String> = match t["params"]["pod"].as_str().unwrap() {
                    "{{pod}}" => pods.clone(),
                    named => vec![named.replace("{{instance}}", &inst)],
                };
                for pod in targets {
                    let out = run_command(&sc, &pod, container, &argv);
                    assert_eq!(
                        out.exit_code,
                        0,
                        "{app} {pod}: {argv:?}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    // Nothing is under-replicated: that tool's answer is empty.
                    let empty_ok = argv.join(" ").contains("--under-replicated-partitions");
                    assert!(
                        empty_ok || !out.stdout.is_empty(),
                        "{pod}: {argv:?} printed nothing"
                    );
                    ran += 1;
                }
            }
            assert!(ran >= 4, "{app}: only {ran} commands");
        }
        let zk = generate(&Spec {
            containers: 1,
            log_bytes: 100,
            seed: 2,
            ..Spec::new("zookeeper", 3)
        });
        let srvr = |pod: &str| {
            let argv = ["sh", "-c", "echo srvr | nc 127.0.0.1 2181"].map(String::from);
            String::from_utf8(run_command(&zk, pod, "kubernetes-zookeeper", &argv).stdout).unwrap()
        };
        assert!(srvr("scale-zookeeper-zookeeper-0").contains("Mode: leader"));
        assert!(srvr("scale-zookeeper-zookeeper-2").contains("Mode: follower"));
    }

    #[test]
    fn logs_have_the_requested_size_and_differ_per_container() {
        let sc = generate(&Spec {
            containers: 2,
            log_bytes: 10_000,
            seed: 1,
            ..Spec::new("kafka", 3)
        });
        let read = |i: usize| -> String {
            let lines =
                loglines::open(&sc.logs[i].source, chrono::Utc::now(), LogWindow::default())
                    .unwrap();
            lines.map(|l| l.unwrap().text + "\n").collect()
        };
        let a = read(0);
        assert!(a.len() <= 10_000 && a.len() > 9_000, "{}", a.len());
        assert_ne!(a, read(1));
    }

    #[test]
    fn generation_is_deterministic() {
        let spec = Spec {
            containers: 1,
            log_bytes: 100,
            seed: 5,
            ..Spec::new("zookeeper", 20)
        };
        let a = serde_json::to_string(&generate(&spec).objects).unwrap();
        let b = serde_json::to_string(&generate(&spec).objects).unwrap();
        assert_eq!(a, b);
    }

    /// `peers` bounds what each pod lists of the cluster and nothing else: every pod still
    /// answers for itself, and the listed members are the first ones.
    #[test]
    fn peers_bound_the_cluster_wide_views() {
        let run = |sc: &Scenario, pod: &str, container: &str, cmd: &str| {
            let argv: Vec<String> = cmd.split(' ').map(String::from).collect();
            let out = run_command(sc, pod, container, &argv);
            assert_eq!(out.exit_code, 0, "{pod}: {cmd}");
            String::from_utf8(out.stdout).unwrap()
        };
        let with_peers = |app, pods, peers| {
            generate(&Spec {
                peers,
                ..Spec::new(app, pods)
            })
        };
        let (all, bounded) = (
            with_peers("cassandra", 40, None),
            with_peers("cassandra", 40, Some(5)),
        );
        let last = "scale-cassandra-node-39";
        let count = |text: &str, needle: &str| text.matches(needle).count();
        assert_eq!(
            count(&run(&all, last, "cassandra", "nodetool status"), "\nUN  "),
            40
        );
        assert_eq!(
            count(
                &run(&bounded, last, "cassandra", "nodetool status"),
                "\nUN  "
            ),
            5
        );
        assert_eq!(
            count(
                &run(&bounded, last, "cassandra", "nodetool gossipinfo"),
                "HOST_ID:"
            ),
            5
        );
        let describe = run(&bounded, last, "cassandra", "nodetool describecluster");
        assert!(
            describe.contains("[10.64.0.0, 10.64.0.1, 10.64.0.2, 10.64.0.3, 10.64.0.4]"),
            "{describe}"
        );
        // The last pod still answers for itself.
        let info = run(&bounded, last, "cassandra", "nodetool info");
        assert_eq!(info, run(&all, last, "cassandra", "nodetool info"));

        let zk = with_peers("zookeeper", 7, Some(2));
        let cfg = run(
            &zk,
            "scale-zookeeper-zookeeper-6",
            "kubernetes-zookeeper",
            "cat /conf/zoo.cfg",
        );
        assert_eq!(count(&cfg, "server."), 2, "{cfg}");

        let kafka = with_peers("kafka", 9, Some(3));
        let versions = run(
            &kafka,
            "scale-kafka-kafka-0",
            "k8skafka",
            "kafka-broker-api-versions.sh --bootstrap-server localhost:9093",
        );
        assert_eq!(count(&versions, "(id: "), 3, "{versions}");
        // server.properties stays per broker, for every broker.
        let props = run(
            &kafka,
            "scale-kafka-kafka-8",
            "k8skafka",
            "sh -c cat /opt/kafka/config/server.properties",
        );
        assert!(props.starts_with("broker.id=8\n"), "{props}");

        assert!(
            scenario_from_generate_flags("cassandra", 3, 1, "1KiB", 0, Some(0), None)
                .unwrap_err()
                .to_string()
                .contains("--peers must be at least 1")
        );
    }

    #[test]
    fn five_thousand_pods_are_quick() {
        let started = std::time::Instant::now();
        let sc = generate(&Spec {
            containers: 2,
            log_bytes: 1 << 20,
            seed: 42,
            ..Spec::new("cassandra", 5000)
        });
        let took = started.elapsed();
        assert_eq!(sc.logs.len(), 10_000);
        eprintln!("generated 5,000 pods x 2 containers in {took:?}");
        // Generous for an unoptimized test build on a shared machine; release is far faster.
        assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    }

    #[test]
    fn pods_are_spread_over_the_nodes_asked_for() {
        let sc = generate(&Spec {
            nodes: Some(40),
            ..Spec::new("cassandra", 120)
        });
        let nodes: Vec<&str> = sc
            .objects
            .iter()
            .filter(|o| o["kind"] == "Node")
            .filter_map(|o| o["metadata"]["name"].as_str())
            .collect();
        assert_eq!(nodes.len(), 40);
        let mut per_node = std::collections::HashMap::new();
        for o in sc
            .objects
            .iter()
            .filter(|o| o["kind"] == "Pod" && o["metadata"]["namespace"] == GENERATED_NAMESPACE)
        {
            let n = o["spec"]["nodeName"].as_str().unwrap();
            assert!(nodes.contains(&n), "{n} is a listed node");
            *per_node.entry(n).or_insert(0) += 1;
        }
        assert!(per_node.values().all(|&c| c == 3), "{per_node:?}");
        assert_eq!(node_count(2, None), 3, "at least three");
        assert_eq!(node_count(5000, None), 100);
        assert!(
            scenario_from_generate_flags("cassandra", 3, 1, "1KiB", 0, None, Some(0))
                .unwrap_err()
                .to_string()
                .contains("--nodes must be at least 1")
        );
    }

    #[test]
    fn flags_are_validated() {
        assert!(
            scenario_from_generate_flags("elastic", 3, 1, "1KiB", 0, None, None)
                .unwrap_err()
                .to_string()
                .contains("choose one of cassandra, kafka, zookeeper")
        );
        assert!(scenario_from_generate_flags("cassandra", 0, 1, "1KiB", 0, None, None).is_err());
        assert!(
            scenario_from_generate_flags("cassandra", 3, 1, "1 parsec", 0, None, None)
                .unwrap_err()
                .to_string()
                .contains("64KiB")
        );
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("10k").unwrap(), 10_000);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
    }
}
