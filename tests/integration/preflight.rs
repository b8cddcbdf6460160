//! `kudo-diag preflight` against in-process simulated clusters: a cluster with room passes; a
//! node too small names the replica that does not fit; a missing storage class; KUDO not
//! installed; RBAC denied; a restricted namespace with privileged pods; an installed operator
//! and an existing instance; and the binary's exit codes and JSON.

use std::path::{Path, PathBuf};

use kudo_diag::preflight::checks::Status;
use kudo_diag::preflight::{self, Options, PreflightError, Report};
use kudo_diag::sim::scenario::{Permissions, Scenario};
use kudo_diag::sim::{SimHandle, SimOptions, SimServer};
use serde_json::{json, Value};

use crate::support;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/preflight")
        .join(rel)
}

/// The objects of a multi-document YAML file under tests/data/preflight.
fn objects(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(data(rel)).unwrap();
    kudo_diag::yaml::from_multiple::<serde_json::Value>(&text)
        .unwrap()
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| serde_json::to_value(v).unwrap())
        .collect()
}

/// The three-node cluster with KUDO installed (tests/data/preflight/cluster.yaml).
fn cluster() -> Scenario {
    let mut objs = objects("cluster.yaml");
    objs.extend(objects("kudo-crds.yaml"));
    objs.extend(objects("kudo-system.yaml"));
    Scenario {
        name: "preflight".into(),
        namespace: "prod".into(),
        objects: objs,
        ..Default::default()
    }
}

async fn start(s: Scenario) -> SimHandle {
    SimServer::start(s, SimOptions::default()).await.unwrap()
}

fn opts(operator: &str, params: &[&str]) -> Options {
    Options {
        operator: operator.into(),
        namespace: "prod".into(),
        instance: Some("cassandra".into()),
        params: params.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn cassandra() -> String {
    data("operators/cassandra").display().to_string()
}

/// Cassandra 1.0.3 creates a policy/v1beta1 PodDisruptionBudget, which Kubernetes 1.25+ no
/// longer serves; this copy moves it to policy/v1 (as later operator versions did) for the
/// tests that need an install that can pass on the simulated 1.32 cluster.
fn modern_cassandra() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let src = data("operators/cassandra");
    let dst = dir.path().join("cassandra");
    std::fs::create_dir_all(dst.join("templates")).unwrap();
    for rel in ["operator.yaml", "params.yaml"] {
        std::fs::copy(src.join(rel), dst.join(rel)).unwrap();
    }
    for e in std::fs::read_dir(src.join("templates")).unwrap() {
        let p = e.unwrap().path();
        let mut text = std::fs::read_to_string(&p).unwrap();
        if p.ends_with("pdb.yaml") {
            assert!(text.contains("policy/v1beta1"));
            text = text.replace("policy/v1beta1", "policy/v1");
        }
        std::fs::write(dst.join("templates").join(p.file_name().unwrap()), text).unwrap();
    }
    let path = dst.display().to_string();
    (dir, path)
}

async fn preflight(s: Scenario, o: Options) -> Result<Report, PreflightError> {
    let sim = start(s).await;
    let r = preflight::run(sim.kube_client().unwrap(), &o).await;
    sim.shutdown().await;
    r
}

fn check<'a>(r: &'a Report, id: &str) -> &'a preflight::checks::Check {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn failed(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|c| format!("{} {:?}: {}", c.id, c.status, c.reason))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_with_room_passes_every_check() {
    let (_dir, cass) = modern_cassandra();
    let r = preflight(cluster(), opts(&cass, &["NODE_ANTI_AFFINITY=true"]))
        .await
        .unwrap();
    assert_eq!(failed(&r), Vec::<String>::new(), "{}", r.to_text(true));
    assert_eq!(r.exit_code(), 0);
    let cap = check(&r, "capacity.placement");
    assert_eq!(cap.reason, "all 3 pods fit: placed on 3 of 3 nodes");
    // One replica per node (anti-affinity), deterministic order.
    let nodes: Vec<&str> = r.placement.placed.iter().map(|p| p.node.as_str()).collect();
    // node-1 runs the KUDO manager and node-2 a 9.5 GiB pod: the emptiest node goes first.
    assert_eq!(nodes, ["node-3", "node-1", "node-2"]);
    assert!(check(&r, "storage.class")
        .reason
        .contains("default: standard"));
    assert!(check(&r, "kudo.manager").reason.contains("v0.17.4"));
    assert_eq!(r.schema, "kudo-diag.preflight/v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_too_small_names_the_replica_that_does_not_fit() {
    // 8 GiB per node with one node per replica: node-2 has only 6.5 GiB left.
    let r = preflight(
        cluster(),
        opts(
            &cassandra(),
            &[
                "NODE_ANTI_AFFINITY=true",
                "NODE_MEM_MIB=8192",
                "NODE_MEM_LIMIT_MIB=8192",
            ],
        ),
    )
    .await
    .unwrap();
    let cap = check(&r, "capacity.placement");
    assert_eq!(cap.status, Status::Fail, "{}", r.to_text(true));
    assert_eq!(
        r.placement.unplaced[0].reason,
        "cassandra-node-2: replica 3 of 3 of StatefulSet cassandra-node cannot be placed: no node with 8 GiB free memory; largest free memory is 6.5 GiB on node-2; node-1, node-3: a pod the required anti-affinity on kubernetes.io/hostname excludes is there"
    );
    assert_eq!(cap.reason, "1 of 3 pods cannot be placed: cassandra-node-2");
    assert_eq!(r.exit_code(), 5);
    // The sum of free memory (16 + 16 + 6.5 GiB) would have said it fits: placement does not.
    let text = r.to_text(false).replace(&cassandra(), "<cassandra>");
    insta::assert_snapshot!("node_too_small_text_report", text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_the_cluster_no_longer_serves_fail_the_install() {
    let r = preflight(cluster(), opts(&cassandra(), &[])).await.unwrap();
    let c = check(&r, "kubernetes.api");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.reason,
        "the cluster (v1.32.4) does not serve policy/v1beta1 PodDisruptionBudget: applying them fails"
    );
    // A request above its limit is refused by the API server too.
    let r = preflight(cluster(), opts(&cassandra(), &["NODE_MEM_MIB=8192"]))
        .await
        .unwrap();
    let c = check(&r, "package.resources");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.details,
        ["StatefulSet cassandra-node/cassandra: memory request 8 GiB is above its limit 4 GiB"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_storage_class_fails_and_names_the_classes_there() {
    let r = preflight(
        cluster(),
        opts(&cassandra(), &["NODE_STORAGE_CLASS=fast-ssd"]),
    )
    .await
    .unwrap();
    let c = check(&r, "storage.class");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.reason,
        "storage class fast-ssd does not exist (the cluster has: standard)"
    );
    assert!(
        c.fix
            .as_deref()
            .unwrap()
            .starts_with("set -p NODE_STORAGE_CLASS=CLASS"),
        "{:?}",
        c.fix
    );
    assert!(
        c.details[0].starts_with("fast-ssd: 60 GiB in 3 x 20Gi"),
        "{:?}",
        c.details
    );

    // No default class at all, and the claims use the default.
    let mut s = cluster();
    s.objects.retain(|o| o["kind"] != "StorageClass");
    let r = preflight(s, opts(&cassandra(), &[])).await.unwrap();
    let c = check(&r, "storage.class");
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.reason
            .contains("the default storage class, and the cluster has none"),
        "{}",
        c.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kudo_not_installed_fails_the_kudo_checks() {
    let s = Scenario {
        name: "no-kudo".into(),
        namespace: "prod".into(),
        objects: objects("cluster.yaml"),
        ..Default::default()
    };
    let r = preflight(s, opts(&cassandra(), &[])).await.unwrap();
    let crds = check(&r, "kudo.crds");
    assert_eq!(crds.status, Status::Fail);
    assert_eq!(
        crds.reason,
        "KUDO is not installed: missing CRD operators.kudo.dev, operatorversions.kudo.dev, instances.kudo.dev"
    );
    assert!(crds.fix.as_deref().unwrap().contains("kubectl kudo init"));
    assert_eq!(check(&r, "kudo.manager").status, Status::Fail);
    assert_eq!(check(&r, "kudo.version").status, Status::Warn);
    // Capacity is still checked: failure is data, not an abort.
    assert_eq!(check(&r, "capacity.placement").status, Status::Pass);
    assert_eq!(r.exit_code(), 5);
}

// The scenario's deny rules answer the access reviews (`crate::sim::access`). The rbac check's
// logic is also covered without a server by `checks::tests::rbac_denied_fails_without_a_server`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_denied_fails_the_install() {
    let mut s = cluster();
    // As a scenario file writes it (deserialized, so fields added later keep their defaults).
    s.permissions = serde_json::from_value::<Permissions>(json!({
        "deny": [{"verbs": ["create"], "resources": ["instances"], "namespaces": ["prod"]}]
    }))
    .unwrap();
    let r = preflight(s, opts(&cassandra(), &[])).await.unwrap();
    let c = check(&r, "rbac");
    assert_eq!(c.status, Status::Fail, "{}", r.to_text(true));
    assert!(
        c.reason
            .contains("you may not create instances.kudo.dev in prod"),
        "{}",
        c.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_review_is_asked_and_allowed_ones_pass() {
    let r = preflight(cluster(), opts(&cassandra(), &[])).await.unwrap();
    let c = check(&r, "rbac");
    assert_eq!(c.status, Status::Pass);
    // 10 for KUDO's objects, get+list for each kind the operator creates.
    let kinds = r.requirements.kinds.len();
    assert_eq!(c.reason, format!("all {} access reviews allowed (install kudo.dev objects; get and list what the operator creates)", 10 + 2 * kinds));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_namespace_refuses_privileged_pods() {
    let mut s = cluster();
    for o in &mut s.objects {
        if o["kind"] == "Namespace" && o["metadata"]["name"] == "prod" {
            o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = json!("baseline");
        }
    }
    let agent = data("packages/privileged-agent").display().to_string();
    let mut o = opts(&agent, &[]);
    o.instance = None;
    let r = preflight(s.clone(), o.clone()).await.unwrap();
    assert_eq!(r.instance, "host-agent-instance");
    let c = check(&r, "pod-security");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.details,
        [
            "Deployment host-agent-instance-agent: hostPath volume host",
            "Deployment host-agent-instance-agent: container agent is privileged"
        ]
    );
    assert!(
        c.reason.contains("enforces Pod Security \"baseline\""),
        "{}",
        c.reason
    );

    // Cassandra adds IPC_LOCK and SYS_RESOURCE, which baseline does not allow either.
    let r = preflight(s, opts(&cassandra(), &[])).await.unwrap();
    let c = check(&r, "pod-security");
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.details[0].contains("adds capabilities IPC_LOCK, SYS_RESOURCE"),
        "{:?}",
        c.details
    );
}

/// The first-operator package as an Operator and OperatorVersion in the cluster.
fn installed_first_operator() -> Vec<Value> {
    let dir = data("operators/first-operator");
    let template = std::fs::read_to_string(dir.join("templates/deployment.yaml")).unwrap();
    vec![
        json!({"apiVersion": "kudo.dev/v1beta1", "kind": "Operator",
               "metadata": {"name": "first-operator", "namespace": "prod"},
               "spec": {"kubernetesVersion": "1.13.0", "kudoVersion": "0.20.0"}}),
        json!({"apiVersion": "kudo.dev/v1beta1", "kind": "OperatorVersion",
               "metadata": {"name": "first-operator-0.2.0", "namespace": "prod"},
               "spec": {"operator": {"kind": "Operator", "name": "first-operator"}, "version": "0.2.0",
                        "parameters": [{"name": "replicas", "default": "2", "required": true}],
                        "tasks": [{"name": "app", "kind": "Apply", "spec": {"resources": ["deployment.yaml"]}}],
                        "plans": {"deploy": {"strategy": "serial", "phases": [{"name": "main", "strategy": "parallel",
                                  "steps": [{"name": "everything", "tasks": ["app"]}]}]}},
                        "templates": {"deployment.yaml": template}}}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_operator_is_read_from_its_operator_version() {
    let mut s = cluster();
    s.objects.extend(installed_first_operator());
    let mut o = opts("first-operator", &["replicas=4"]);
    o.instance = None;
    let r = preflight(s, o).await.unwrap();
    assert_eq!(
        r.operator.source,
        "operatorversion prod/first-operator-0.2.0"
    );
    assert_eq!(r.requirements.workloads[0].replicas, Some(4));
    // The Operator asks for KUDO 0.20.0; the manager is 0.17.4.
    let v = check(&r, "kudo.version");
    assert_eq!(v.status, Status::Fail);
    assert_eq!(
        v.reason,
        "KUDO v0.17.4 is installed but the package needs 0.20.0 or newer"
    );

    // The package on disk is first-operator 0.2.0 too, but with a changed template: the
    // installed OperatorVersion is what KUDO would use.
    let mut s = cluster();
    s.objects.extend(installed_first_operator());
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("first-operator");
    std::fs::create_dir_all(pkg.join("templates")).unwrap();
    let src = data("operators/first-operator");
    for rel in ["operator.yaml", "params.yaml"] {
        std::fs::copy(src.join(rel), pkg.join(rel)).unwrap();
    }
    let t = std::fs::read_to_string(src.join("templates/deployment.yaml")).unwrap();
    std::fs::write(
        pkg.join("templates/deployment.yaml"),
        t.replace("nginx:1.7.9", "nginx:1.27"),
    )
    .unwrap();
    let mut o = opts(&pkg.display().to_string(), &[]);
    o.instance = None;
    let r = preflight(s.clone(), o.clone()).await.unwrap();
    let c = check(&r, "kudo.operatorversion");
    assert_eq!(c.status, Status::Warn);
    assert!(c.reason.starts_with("operatorversion first-operator-0.2.0 is already installed with other templates (deployment.yaml)"), "{}", c.reason);
    std::fs::write(pkg.join("templates/deployment.yaml"), t).unwrap();
    let r = preflight(s, o).await.unwrap();
    assert_eq!(check(&r, "kudo.operatorversion").status, Status::Pass);

    let mut o = opts("no-such-operator", &[]);
    o.instance = None;
    let e = preflight(cluster(), o).await.unwrap_err().to_string();
    assert!(e.contains("\"no-such-operator\" is neither a package folder or .tgz nor an operator installed in namespace prod (there: none)"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_instance_keeps_its_immutable_parameters() {
    let mut s = cluster();
    s.objects.push(json!({"apiVersion": "kudo.dev/v1beta1", "kind": "Instance",
        "metadata": {"name": "cassandra", "namespace": "prod"},
        "spec": {"operatorVersion": {"name": "cassandra-1.0.3"}, "parameters": {"NUM_TOKENS": "16", "NODE_COUNT": "3"}}}));
    let e = preflight(
        s.clone(),
        opts(&cassandra(), &["NUM_TOKENS=256", "NODE_CONT=4"]),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("2 problems with the parameters:"), "{e}");
    assert!(
        e.contains("unknown parameter NODE_CONT (did you mean NODE_COUNT?)"),
        "{e}"
    );
    assert!(
        e.contains(
            "parameter NUM_TOKENS is immutable and instance cassandra has \"16\", not \"256\""
        ),
        "{e}"
    );
    // Its three pods take 12 GiB on node-1 and node-3 each; an update replaces them, so an
    // 8 GiB-per-node update still fits there.
    for (i, node) in ["node-1", "node-3", "node-3"].iter().enumerate() {
        s.objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("cassandra-node-{i}"), "namespace": "prod",
                         "labels": {"kudo.dev/instance": "cassandra", "app": "cassandra"}},
            "spec": {"nodeName": node, "containers": [{"name": "cassandra",
                     "resources": {"requests": {"cpu": "1", "memory": "12Gi"}}}]},
            "status": {"phase": "Running"}}));
    }
    let mem = ["NODE_MEM_MIB=8192", "NODE_MEM_LIMIT_MIB=8192"];
    let r = preflight(s.clone(), opts(&cassandra(), &mem))
        .await
        .unwrap();
    assert_eq!(
        check(&r, "capacity.placement").status,
        Status::Pass,
        "{}",
        r.to_text(true)
    );
    // Without the instance, those pods are someone else's and take the room.
    let mut without = s.clone();
    without.objects.retain(|o| o["kind"] != "Instance");
    let r = preflight(without, opts(&cassandra(), &mem)).await.unwrap();
    assert_eq!(check(&r, "capacity.placement").status, Status::Fail);

    // Someone else's instance of that name: the install fails, its parameters are not used.
    let mut other = s.clone();
    for o in &mut other.objects {
        if o["kind"] == "Instance" {
            o["metadata"]["labels"] = json!({"kudo.dev/operator": "kafka"});
        }
    }
    let r = preflight(other, opts(&cassandra(), &["NUM_TOKENS=256"]))
        .await
        .unwrap();
    let c = check(&r, "kudo.instance");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.reason, "instance cassandra in prod belongs to operator kafka, not cassandra: the install would fail");

    let r = preflight(s, opts(&cassandra(), &["NODE_COUNT=3"]))
        .await
        .unwrap();
    let c = check(&r, "kudo.instance");
    assert_eq!(c.status, Status::Warn);
    assert!(
        c.reason.starts_with(
            "instance cassandra already exists in prod (operator version cassandra-1.0.3)"
        ),
        "{}",
        c.reason
    );
    assert!(r
        .parameters
        .iter()
        .any(|p| p.name == "NUM_TOKENS" && p.value.as_deref() == Some("16")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_json_and_exits_with_the_documented_codes() {
    let sim = start(cluster()).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kc).unwrap();
    let kc = kc.display().to_string();
    let (_cass_dir, cass) = modern_cassandra();
    let run = |args: Vec<String>| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            support::run_in(&dir, &a)
        })
    };
    let base = |extra: &[&str]| {
        let mut v: Vec<String> = ["preflight", cass.as_str(), "--kubeconfig", kc.as_str()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    // All pass: 0, JSON with the schema.
    let out = run(base(&[
        "-n",
        "prod",
        "-p",
        "NODE_ANTI_AFFINITY=true",
        "-o",
        "json",
    ]))
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let j: Value = serde_json::from_str(&support::stdout(&out)).unwrap();
    assert_eq!(j["schema"], "kudo-diag.preflight/v1");
    assert_eq!(j["summary"]["fail"], 0);
    assert_eq!(j["checks"][0]["id"], "package.render");
    // A failure: 5.
    let out = run(base(&["-n", "prod", "-p", "NODE_MEM_MIB=20000"]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", support::stdout(&out));
    assert!(support::stdout(&out).contains("FAIL  capacity.placement"));
    // Without a cluster: only the package's checks.
    let out = run(vec![
        "preflight".into(),
        cass.clone(),
        "--no-cluster".into(),
        "-p".into(),
        "NODE_COUNT=5".into(),
    ])
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
    let text = support::stdout(&out);
    assert!(text.contains("StatefulSet cassandra-instance-node x5: each pod requests 1 CPU, 4 GiB (limits 1 CPU, 4 GiB)"), "{text}");
    assert!(!text.contains("capacity.placement"), "{text}");
    // A warning only (an existing namespace missing): 4.
    let out = run(base(&["-n", "staging"])).await.unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", support::stdout(&out));
    assert!(
        support::stdout(&out).contains("fix: create it first: kubectl create namespace staging")
    );
    // Bad parameters: 1, every problem on stderr.
    let out = run(base(&[
        "-n",
        "prod",
        "-p",
        "NODE_COUNT=three",
        "-p",
        "NOPE=1",
    ]))
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = support::stderr(&out);
    assert!(
        err.contains("NODE_COUNT is of type integer but \"three\" is not a whole number"),
        "{err}"
    );
    assert!(err.contains("unknown parameter NOPE"), "{err}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_and_limit_ranges_in_the_namespace_are_honoured() {
    let mut s = cluster();
    s.objects.push(json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "team-quota", "namespace": "prod"},
        "spec": {"hard": {"requests.memory": "16Gi", "requests.cpu": "10", "persistentvolumeclaims": "10"}},
        "status": {"used": {"requests.memory": "6Gi", "requests.cpu": "1", "persistentvolumeclaims": "1"}}}));
    s.objects
        .push(json!({"apiVersion": "v1", "kind": "LimitRange",
        "metadata": {"name": "limits", "namespace": "prod"},
        "spec": {"limits": [{"type": "Container", "max": {"memory": "2Gi"}},
                            {"type": "PersistentVolumeClaim", "max": {"storage": "10Gi"}}]}}));
    let r = preflight(s, opts(&cassandra(), &[])).await.unwrap();
    let q = check(&r, "quota");
    assert_eq!(q.status, Status::Fail, "{}", r.to_text(true));
    // 3 x 4 GiB for Cassandra; the init containers run before and do not add up.
    assert_eq!(
        q.reason,
        "quota team-quota allows requests.memory 16 GiB but 6 GiB is used and the operator needs 12 GiB"
    );
    let l = check(&r, "limit-range");
    assert_eq!(l.status, Status::Fail);
    assert_eq!(
        l.details,
        [
            "cassandra-node/cassandra: memory limit 4 GiB is over limits's max 2 GiB",
            "cassandra-node/cassandra: memory request 4 GiB is over limits's max 2 GiB",
            "claim var-lib-cassandra: 20 GiB is over limits's max 10 GiB",
        ]
    );
}

/// A .tgz made by the system's tar (GNU or pax headers), as `kubectl kudo package create`
/// makes one: the package loads from it like from its folder.
#[test]
fn a_tgz_package_made_by_tar_loads_like_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("zookeeper-0.3.3.tgz");
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg("-C")
        .arg(data("operators"))
        .arg("zookeeper")
        .status()
        .expect("run tar");
    assert!(status.success());
    let folder = data("operators/zookeeper").display().to_string();
    let run = |pkg: &str| {
        let out = support::run_in(
            dir.path(),
            &[
                "preflight",
                pkg,
                "--no-cluster",
                "-p",
                "NODE_COUNT=5",
                "-o",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
        let mut j: Value = serde_json::from_str(&support::stdout(&out)).unwrap();
        j["operator"]["source"] = Value::Null;
        j
    };
    let from_tgz = run(&tgz.display().to_string());
    assert_eq!(from_tgz["requirements"]["workloads"][0]["replicas"], 5);
    assert_eq!(from_tgz, run(&folder));
}
