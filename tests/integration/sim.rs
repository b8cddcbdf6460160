//! The simulated cluster against its judges: the real kubectl (get, describe, api-resources,
//! auth can-i, pagination, a wrong token) and kube-rs, plus faults and the `kudo-diag sim`
//! command. Each test starts its own server in-process on an ephemeral port.
//!
//! kubectl missing: the kubectl tests fail when `KUDO_DIAG_REQUIRE_KUBECTL=1` (CI) and skip
//! loudly otherwise.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kudo_diag::sim::scenario::{FaultConfig, LogSource, LogSpec, Scenario};
use kudo_diag::sim::SimHandle;

use crate::support::{have_kubectl, kubectl_at, Kubectl, Sim};
use serde_json::{json, Value};

const NS: &str = "demo";

/// The CRDs of KUDO, copied from the fixtures.
fn kudo_crds() -> Vec<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/crds");
    let mut out = Vec::new();
    for f in [
        "kudo.dev_instances.yaml",
        "kudo.dev_operators.yaml",
        "kudo.dev_operatorversions.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).expect("read a KUDO CRD");
        for v in kudo_diag::yaml::from_multiple::<Value>(&text).expect("parse a KUDO CRD") {
            if !v.is_null() {
                out.push(v);
            }
        }
    }
    out
}

fn ago(d: chrono::Duration) -> String {
    (chrono::Utc::now() - d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn pod(name: &str, idx: u32, phase: &str, status: Value) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "creationTimestamp": ago(chrono::Duration::hours(3)),
                     "labels": {"app": "cassandra", "kudo.dev/instance": "cassandra", "idx": idx.to_string()}},
        "spec": {"containers": [{"name": "cassandra", "image": "cassandra:3.11.7"}]},
        "status": {"phase": phase, "containerStatuses": [status]},
    });
    if phase != "Pending" {
        p["spec"]["nodeName"] = json!("node-1");
        p["status"]["podIP"] = json!(format!("10.1.0.{}", idx + 1));
    }
    p
}

/// A namespace, 3 pods (running, crash-looping, pending), a statefulset, a node, a service,
/// events and a KUDO Instance with its CRDs.
fn scenario() -> Scenario {
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}, "status": {"phase": "Active"}}),
        json!({"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": "node-1", "labels": {"node-role.kubernetes.io/worker": ""}},
               "status": {"conditions": [{"type": "Ready", "status": "True"}],
                          "addresses": [{"type": "InternalIP", "address": "10.0.0.11"}],
                          "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Ubuntu 24.04 LTS",
                                       "kernelVersion": "6.8.0", "containerRuntimeVersion": "containerd://1.7.24"}}}),
        pod(
            "cassandra-node-0",
            0,
            "Running",
            json!({"name": "cassandra", "ready": true, "restartCount": 0,
            "image": "cassandra:3.11.7", "imageID": "", "state": {"running": {"startedAt": ago(chrono::Duration::hours(3))}}}),
        ),
        pod(
            "cassandra-node-1",
            1,
            "Running",
            json!({"name": "cassandra", "ready": false, "restartCount": 4,
            "image": "cassandra:3.11.7", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                "startedAt": ago(chrono::Duration::minutes(20)), "finishedAt": ago(chrono::Duration::minutes(10))}}}),
        ),
        pod(
            "cassandra-node-2",
            2,
            "Pending",
            json!({"name": "cassandra", "ready": false, "restartCount": 0,
            "image": "cassandra:3.11.7", "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}),
        ),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "cassandra-node", "namespace": NS},
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "cassandra"}},
                        "template": {"spec": {"containers": [{"name": "cassandra", "image": "cassandra:3.11.7"}]}}},
               "status": {"replicas": 3, "readyReplicas": 1}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cassandra-svc", "namespace": NS},
               "spec": {"type": "ClusterIP", "clusterIP": "None", "selector": {"app": "cassandra"},
                        "ports": [{"name": "native", "port": 9042, "protocol": "TCP"}]}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "cassandra-node-1.oom", "namespace": NS},
               "involvedObject": {"kind": "Pod", "name": "cassandra-node-1", "namespace": NS, "apiVersion": "v1"},
               "reason": "BackOff", "message": "Back-off restarting failed container cassandra", "type": "Warning",
               "count": 5, "firstTimestamp": ago(chrono::Duration::hours(1)), "lastTimestamp": ago(chrono::Duration::minutes(10)),
               "source": {"component": "kubelet", "host": "node-1"}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "cassandra-node-2.sched", "namespace": NS},
               "involvedObject": {"kind": "Pod", "name": "cassandra-node-2", "namespace": NS, "apiVersion": "v1"},
               "reason": "FailedScheduling", "message": "0/1 nodes are available: 1 Insufficient memory.", "type": "Warning",
               "count": 1, "firstTimestamp": ago(chrono::Duration::hours(1)), "lastTimestamp": ago(chrono::Duration::hours(1)),
               "source": {"component": "default-scheduler"}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "data-cassandra-node-0", "namespace": NS},
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard", "volumeName": "pv-0",
                        "resources": {"requests": {"storage": "10Gi"}}},
               "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-0"},
               "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                        "claimRef": {"namespace": NS, "name": "data-cassandra-node-0"}},
               "status": {"phase": "Bound"}}),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
               "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "cassandra-pdb", "namespace": NS},
               "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "cassandra"}}},
               "status": {"disruptionsAllowed": 0}}),
        json!({"apiVersion": "kudo.dev/v1beta1", "kind": "Instance",
               "metadata": {"name": "cassandra", "namespace": NS, "labels": {"kudo.dev/operator": "cassandra"}},
               "spec": {"operatorVersion": {"name": "cassandra-3.11-1.0.0"}},
               "status": {"planStatus": {"deploy": {"name": "deploy", "status": "IN_PROGRESS", "phases": []}}}}),
    ];
    objects.extend(kudo_crds());
    Scenario {
        name: "sim-test".into(),
        namespace: NS.into(),
        objects,
        logs: vec![LogSpec {
            namespace: None,
            pod: "cassandra-node-0".into(),
            container: "cassandra".into(),
            previous: false,
            source: LogSource::Inline("INFO starting Cassandra\nINFO listening on 9042\n".into()),
        }],
        ..Scenario::default()
    }
}

async fn start(s: Scenario) -> SimHandle {
    Sim::new(s).start().await
}

/// The whitespace-separated cells of the row starting with `name`.
fn row<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{out}"))
        .split_whitespace()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_pods_prints_ready_status_restarts() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    let out = k.ok(&["get", "pods"]).await;
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(row(&out, "cassandra-node-0")[1..4], ["1/1", "Running", "0"]);
    // `4 (10m ago)`: the count and the time of the last restart.
    assert_eq!(
        row(&out, "cassandra-node-1")[1..6],
        ["0/1", "CrashLoopBackOff", "4", "(10m", "ago)"]
    );
    assert_eq!(
        row(&out, "cassandra-node-2")[1..4],
        ["0/1", "ContainerCreating", "0"]
    );
    assert_eq!(row(&out, "cassandra-node-0")[4], "3h");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_pods_wide_and_selectors() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    let wide = k.ok(&["get", "pods", "-o", "wide"]).await;
    assert!(wide.lines().next().unwrap().contains("IP"), "{wide}");
    assert_eq!(row(&wide, "cassandra-node-0")[5..7], ["10.1.0.1", "node-1"]);
    assert_eq!(row(&wide, "cassandra-node-2")[5..7], ["<none>", "<none>"]);

    let names = |out: &str| -> Vec<String> {
        out.lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    let by_label = k
        .ok(&["get", "pods", "-l", "idx in (0,2),app=cassandra"])
        .await;
    assert_eq!(names(&by_label), ["cassandra-node-0", "cassandra-node-2"]);
    let not_label = k.ok(&["get", "pods", "-l", "idx!=1,!missing"]).await;
    assert_eq!(names(&not_label), ["cassandra-node-0", "cassandra-node-2"]);
    let by_field = k
        .ok(&["get", "pods", "--field-selector", "status.phase=Running"])
        .await;
    assert_eq!(names(&by_field), ["cassandra-node-0", "cassandra-node-1"]);
    let bad = k
        .run(&["get", "pods", "--field-selector", "spec.bogus=1"])
        .await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("field label not supported: spec.bogus"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_chunk_size_pages_through_with_continue() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    let o = k.run(&["get", "pods", "--chunk-size", "2", "-v=6"]).await;
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(log.contains("limit=2"), "{log}");
    assert!(
        log.contains("continue="),
        "the second page must be asked with continue: {log}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_kudo_instances_and_every_kind() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    let yaml = k.ok(&["get", "instances.kudo.dev", "-o", "yaml"]).await;
    let v: Value = kudo_diag::yaml::from_str(&yaml).unwrap();
    assert_eq!(v["items"][0]["kind"], "Instance");
    assert_eq!(
        v["items"][0]["status"]["planStatus"]["deploy"]["status"],
        "IN_PROGRESS"
    );
    assert!(v["items"][0]["metadata"]["uid"].is_string());

    let res = k.ok(&["api-resources"]).await;
    for kind in [
        "Instance",
        "Operator",
        "OperatorVersion",
        "StatefulSet",
        "PodDisruptionBudget",
    ] {
        assert!(
            res.lines().any(|l| l.trim_end().ends_with(kind)),
            "{kind} missing:\n{res}"
        );
    }
    assert!(res.contains("kudo.dev/v1beta1"));

    let sts = k.ok(&["get", "statefulsets"]).await;
    assert_eq!(row(&sts, "cassandra-node")[1], "1/3");
    let svc = k.ok(&["get", "svc"]).await;
    assert_eq!(
        row(&svc, "cassandra-svc")[1..5],
        ["ClusterIP", "None", "<none>", "9042/TCP"]
    );
    let nodes = k.ok(&["get", "nodes"]).await;
    assert_eq!(row(&nodes, "node-1")[1..3], ["Ready", "worker"]);
    let pvc = k.ok(&["get", "pvc"]).await;
    assert_eq!(
        row(&pvc, "data-cassandra-node-0")[1..6],
        ["Bound", "pv-0", "10Gi", "RWO", "standard"]
    );
    let pv = k.ok(&["get", "pv"]).await;
    assert_eq!(
        row(&pv, "pv-0")[1..7],
        [
            "10Gi",
            "RWO",
            "Delete",
            "Bound",
            "demo/data-cassandra-node-0",
            "standard"
        ]
    );
    let sc = k.ok(&["get", "sc"]).await;
    assert_eq!(
        row(&sc, "standard")[1..3],
        ["(default)", "rancher.io/local-path"]
    );
    let pdb = k.ok(&["get", "pdb"]).await;
    assert_eq!(row(&pdb, "cassandra-pdb")[1..4], ["N/A", "1", "0"]);
    let events = k.ok(&["get", "events"]).await;
    assert!(
        events.contains("pod/cassandra-node-2") && events.contains("FailedScheduling"),
        "{events}"
    );
    // Every kind of the registry answers a list (empty ones print "No resources found").
    for kind in [
        "namespaces",
        "configmaps",
        "secrets",
        "serviceaccounts",
        "endpoints",
        "pvc",
        "pv",
        "resourcequotas",
        "limitranges",
        "deployments",
        "replicasets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "pdb",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
        "storageclasses",
        "crd",
        "operators",
        "operatorversions",
    ] {
        let o = k.run(&["get", kind, "-A"]).await;
        assert!(
            o.status.success(),
            "get {kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let missing = k.run(&["get", "pod", "nope"]).await;
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pods \"nope\" not found"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_describe_pod_lists_its_events() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    let out = k.ok(&["describe", "pod", "cassandra-node-1"]).await;
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    assert!(out.contains("OOMKilled"), "{out}");
    let events = out.split("Events:").nth(1).expect("an Events section");
    assert!(events.contains("BackOff"), "{out}");
    assert!(events.contains("Back-off restarting failed container cassandra"));
    assert!(
        !events.contains("FailedScheduling"),
        "another pod's event leaked in: {events}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_and_logs_and_dry_run() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    let o = k.run(&["auth", "can-i", "list", "pods"]).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "yes");
    assert!(o.status.success());
    let logs = k.ok(&["logs", "cassandra-node-0"]).await;
    assert!(logs.contains("listening on 9042"), "{logs}");
    let missing = k.run(&["logs", "gone-pod"]).await;
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pods \"gone-pod\" not found"));

    let manifest = k.dir.path().join("cm.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
    )
    .unwrap();
    let out = k
        .ok(&[
            "apply",
            "--dry-run=server",
            "-f",
            manifest.to_str().unwrap(),
        ])
        .await;
    assert!(
        out.contains("configmap/x created (server dry run)"),
        "{out}"
    );
    // An existing object: kubectl patches it, the server answers the merged object.
    let inst = k.dir.path().join("inst.yaml");
    std::fs::write(&inst, "apiVersion: kudo.dev/v1beta1\nkind: Instance\nmetadata:\n  name: cassandra\nspec:\n  parameters:\n    NODE_COUNT: \"5\"\n").unwrap();
    let out = k
        .ok(&[
            "apply",
            "--dry-run=server",
            "-o",
            "json",
            "-f",
            inst.to_str().unwrap(),
        ])
        .await;
    let merged: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(merged["spec"]["parameters"]["NODE_COUNT"], "5");
    assert_eq!(
        merged["spec"]["operatorVersion"]["name"],
        "cassandra-3.11-1.0.0"
    );
    // Creating what exists is a conflict, as on a real server.
    let svc = k.dir.path().join("svc.yaml");
    std::fs::write(&svc, "apiVersion: v1\nkind: Service\nmetadata:\n  name: cassandra-svc\nspec:\n  ports:\n  - port: 1\n").unwrap();
    let o = k
        .run(&["create", "--dry-run=server", "-f", svc.to_str().unwrap()])
        .await;
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("services \"cassandra-svc\" already exists"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Dry-run only: nothing was stored.
    assert!(!k.run(&["get", "configmap", "x"]).await.status.success());
    h.shutdown().await;
}

/// The scenario's deny rules (`crate::sim::access`) answer both real requests and can-i.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_no_and_forbidden_when_denied() {
    if !have_kubectl() {
        return;
    }
    let mut s = scenario();
    s.permissions =
        kudo_diag::yaml::from_str("deny:\n- verbs: [list]\n  resources: [pods]\n").unwrap();
    let h = start(s).await;
    let k = Kubectl::new(&h);
    let o = k.run(&["auth", "can-i", "list", "pods"]).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "no");
    let o = k.run(&["get", "pods"]).await;
    assert!(String::from_utf8_lossy(&o.stderr).contains(
        "pods is forbidden: User \"kudo-diag-sim\" cannot list resource \"pods\" in API group \"\" in the namespace \"demo\""
    ));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_with_a_wrong_token_is_unauthorized() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    // With a warm discovery cache kubectl reports the Status message ("Unauthorized"); on a
    // cold one its discovery client words the 401 itself, as against a real cluster.
    let o = k.run(&["get", "pods", "--token", "not-the-token"]).await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("You must be logged in to the server (the server has asked for the client to provide credentials)"),
        "{err}"
    );
    k.ok(&["get", "pods"]).await;
    let o = k.run(&["get", "pods", "--token", "not-the-token"]).await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("You must be logged in to the server (Unauthorized)"),
        "{err}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_gets_lists_and_pages() {
    let h = start(scenario()).await;
    let client = h.kube_client().unwrap();
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let all = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 3);
    assert!(all.metadata.resource_version.is_some());
    let page1 = pods.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page1.items.len(), 2);
    assert_eq!(page1.metadata.remaining_item_count, Some(1));
    let token = page1.metadata.continue_.clone().expect("a continue token");
    let page2 = pods
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(page2.items.len(), 1);
    assert_eq!(
        page2.items[0].metadata.name.as_deref(),
        Some("cassandra-node-2")
    );
    assert!(page2.metadata.continue_.is_none());

    let labelled = pods
        .list(&ListParams::default().labels("idx notin (0)"))
        .await
        .unwrap();
    assert_eq!(labelled.items.len(), 2);
    let on_node = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields("spec.nodeName=node-1"))
        .await
        .unwrap();
    assert_eq!(on_node.items.len(), 2);

    let p = pods.get("cassandra-node-1").await.unwrap();
    assert_eq!(
        p.status.unwrap().container_statuses.unwrap()[0].restart_count,
        4
    );
    match pods.get("nope").await {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 404);
            assert_eq!(e.reason, "NotFound");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let nodes: Api<Node> = Api::all(client.clone());
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let ar = ApiResource {
        group: "kudo.dev".into(),
        version: "v1beta1".into(),
        api_version: "kudo.dev/v1beta1".into(),
        kind: "Instance".into(),
        plural: "instances".into(),
    };
    let inst: Api<DynamicObject> = Api::namespaced_with(client, NS, &ar);
    let i = inst.get("cassandra").await.unwrap();
    assert_eq!(
        i.data["status"]["planStatus"]["deploy"]["status"],
        "IN_PROGRESS"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_discovery_and_metadata_lists() {
    let h = start(scenario()).await;
    let client = h.kube_client().unwrap();
    // kube-rs discovers group by group (the legacy documents), unlike kubectl.
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let (ar, caps) = discovery
        .groups()
        .find(|g| g.name() == "kudo.dev")
        .expect("kudo.dev discovered")
        .recommended_kind("Instance")
        .expect("Instance discovered");
    assert_eq!(ar.plural, "instances");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let apps = discovery.groups().find(|g| g.name() == "apps").unwrap();
    assert!(apps.recommended_kind("StatefulSet").is_some());
    let v = client.apiserver_version().await.unwrap();
    assert_eq!((v.major.as_str(), v.minor.as_str()), ("1", "32"));

    let pods: Api<Pod> = Api::default_namespaced(client);
    let meta = pods
        .list_metadata(&ListParams::default().limit(2))
        .await
        .unwrap();
    assert_eq!(meta.items.len(), 2);
    assert!(meta.items[0].metadata.uid.is_some());
    assert!(meta.metadata.continue_.is_some());
    // A watch from nothing sends every match as ADDED, then waits (here 1 s) and closes.
    use futures::TryStreamExt;
    let events: Vec<_> = pods
        .watch(
            &kube::api::WatchParams::default().labels("idx=1").timeout(1),
            "0",
        )
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], kube::api::WatchEvent::Added(p) if p.metadata.name.as_deref() == Some("cassandra-node-1"))
    );
    let one = pods.get_metadata("cassandra-node-1").await.unwrap();
    assert_eq!(one.metadata.labels.unwrap()["idx"], "1");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_without_the_token_gets_401_status() {
    let h = start(scenario()).await;
    let mut cfg = h.kube_config();
    cfg.auth_info.token = None;
    let client = kube::Client::try_from(cfg).unwrap();
    match Api::<Pod>::default_namespaced(client)
        .list(&ListParams::default())
        .await
    {
        Err(kube::Error::Api(e)) => assert_eq!((e.code, e.reason.as_str()), (401, "Unauthorized")),
        other => panic!("expected 401, got {other:?}"),
    }
    h.shutdown().await;
}

async fn start_with_faults(f: FaultConfig) -> SimHandle {
    Sim::new(scenario()).faults(f).start().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_throttle_error_and_reset_requests() {
    let throttled = start_with_faults(FaultConfig {
        throttle_rate: 1.0,
        retry_after_seconds: 7,
        ..FaultConfig::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(throttled.kube_client().unwrap());
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(e)) => {
            assert_eq!((e.code, e.reason.as_str()), (429, "TooManyRequests"))
        }
        other => panic!("expected 429, got {other:?}"),
    }
    throttled.shutdown().await;

    let failing = start_with_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(failing.kube_client().unwrap());
    match pods.get("cassandra-node-0").await {
        Err(kube::Error::Api(e)) => assert!(e.code == 500 || e.code == 503, "{e:?}"),
        other => panic!("expected 500/503, got {other:?}"),
    }
    failing.shutdown().await;

    let resetting = start_with_faults(FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(resetting.kube_client().unwrap());
    let r = pods.list(&ListParams::default()).await;
    // Not a Status: the body broke off, as when a connection drops.
    assert!(
        matches!(&r, Err(e) if !matches!(e, kube::Error::Api(_))),
        "a reset body must fail as a transport error: {r:?}"
    );
    resetting.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_latency_is_added_and_pods_vanish_once_listed() {
    let h = start_with_faults(FaultConfig {
        latency_ms: 60,
        route_latency: vec![kudo_diag::sim::scenario::RouteLatency {
            path: "/nodes$".into(),
            latency_ms: 150,
            jitter_ms: 0,
        }],
        vanish_pods: vec!["cassandra-node-2".into()],
        ..FaultConfig::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(h.kube_client().unwrap());
    assert!(
        pods.get("cassandra-node-2").await.is_ok(),
        "not listed yet: still there"
    );
    // Four gets at once, each held 60 ms by the latency fault: the server sees them together.
    let before = h.state().metrics.snapshot();
    let four = futures::future::join_all((0..4).map(|_| pods.get("cassandra-node-0"))).await;
    assert!(four.iter().all(Result::is_ok));
    let after = h.state().metrics.snapshot();
    assert_eq!(after.gets - before.gets, 4);
    assert!(after.max_in_flight >= 2, "{after:?}");
    let t = std::time::Instant::now();
    let listed = pods.list(&ListParams::default()).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(60));
    assert_eq!(listed.items.len(), 3);
    match pods.get("cassandra-node-2").await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 404),
        other => panic!("expected the vanished pod to be 404, got {other:?}"),
    }
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        2
    );
    match pods.logs("cassandra-node-2", &Default::default()).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 404),
        other => panic!("expected 404 on the vanished pod's log, got {other:?}"),
    }
    // The route rule slows node lists only.
    let t = std::time::Instant::now();
    Api::<Node>::all(h.kube_client().unwrap())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(210),
        "{:?}",
        t.elapsed()
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_command_writes_kubeconfig_once_serving() {
    if !have_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario_file = dir.path().join("s.yaml");
    std::fs::write(
        &scenario_file,
        kudo_diag::yaml::to_string(&scenario()).unwrap(),
    )
    .unwrap();
    let kc = dir.path().join("kc");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kudo-diag"))
        .args(["sim", "--scenario"])
        .arg(&scenario_file)
        .arg("--kubeconfig-out")
        .arg(&kc)
        .args([
            "--latency-ms",
            "1",
            "--seed",
            "3",
            "--vanish-pod",
            "demo/cassandra-node-1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (announced, _lines) = crate::support::announced_kubeconfig(&mut child).await;
    assert_eq!(announced, std::fs::canonicalize(&kc).unwrap());
    let out = kubectl_at(
        &kc,
        &dir.path().join("cache"),
        &["get", "pods", "-o", "name"],
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [
            "pod/cassandra-node-0",
            "pod/cassandra-node-1",
            "pod/cassandra-node-2"
        ]
    );
    // Listed above, so the vanishing pod is gone now.
    let gone = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kc)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["get", "pod", "cassandra-node-1"])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&gone.stderr).contains("pods \"cassandra-node-1\" not found"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kc).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // SIGTERM (as a process manager stops it): a clean exit.
    let code = crate::support::terminate(&mut child).await;
    assert_eq!(code, Some(0));
    assert!(kc.exists(), "an asked-for kubeconfig stays");

    // Without --kubeconfig-out the kubeconfig is a temporary file, removed at exit.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kudo-diag"))
        .args(["sim", "--scenario"])
        .arg(&scenario_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (temp, _lines) = crate::support::announced_kubeconfig(&mut child).await;
    assert!(temp.exists());
    assert_eq!(crate::support::terminate(&mut child).await, Some(0));
    assert!(
        !temp.exists(),
        "the temporary kubeconfig is removed at exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_cluster_info_dump_completes() {
    if !have_kubectl() {
        return;
    }
    let h = start(scenario()).await;
    let k = Kubectl::new(&h);
    let out_dir = k.dir.path().join("dump");
    k.ok(&[
        "cluster-info",
        "dump",
        "--namespaces",
        NS,
        "--output-directory",
        out_dir.to_str().unwrap(),
    ])
    .await;
    let pods: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("demo/pods.json")).unwrap()).unwrap();
    assert_eq!(pods["items"].as_array().unwrap().len(), 3);
    let log = std::fs::read_to_string(out_dir.join("demo/cassandra-node-0/logs.txt")).unwrap();
    assert!(log.contains("listening on 9042"), "{log}");
    assert!(out_dir.join("nodes.json").exists());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_and_log_routes_look_the_pod_up_first() {
    let h = start(scenario()).await;
    let client = h.kube_client().unwrap();
    let req = |path: &str| {
        axum::http::Request::get(path.to_string())
            .body(Vec::new())
            .unwrap()
    };
    let missing = client
        .request_text(req(
            "/api/v1/namespaces/demo/pods/nope/exec?command=ls&stdout=true",
        ))
        .await;
    match missing {
        Err(kube::Error::Api(e)) => assert_eq!(
            (e.code, e.message.as_str()),
            (404, "pods \"nope\" not found")
        ),
        other => panic!("expected 404, got {other:?}"),
    }
    // A plain GET is not a websocket upgrade.
    match client
        .request_text(req(
            "/api/v1/namespaces/demo/pods/cassandra-node-0/exec?command=ls",
        ))
        .await
    {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 400),
        other => panic!("expected 400, got {other:?}"),
    }
    match client
        .request_text(req("/api/v1/namespaces/demo/pods/cassandra-node-0/nope"))
        .await
    {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 404),
        other => panic!("expected 404 for an unknown subresource, got {other:?}"),
    }
    match client
        .request_text(req("/apis/kudo.dev/v1beta1/widgets"))
        .await
    {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 404),
        other => panic!("expected 404 for an unknown resource, got {other:?}"),
    }
    let log = client
        .request_text(req(
            "/api/v1/namespaces/demo/pods/cassandra-node-0/log?container=cassandra",
        ))
        .await
        .unwrap();
    assert!(log.starts_with("INFO starting Cassandra"));
    h.shutdown().await;
}

/// A pod as big as a real StatefulSet pod (labels, env, volumes, statuses): about 2.5 KB.
fn realistic_pod(i: usize) -> Value {
    let mut p = pod(
        &format!("cassandra-node-{i:04}"),
        (i % 250) as u32,
        "Running",
        json!({"name": "cassandra", "ready": true, "restartCount": i % 3, "image": "cassandra:3.11.7",
               "imageID": "docker.io/library/cassandra@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
               "containerID": "containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
               "state": {"running": {"startedAt": "2026-11-27T10:00:00Z"}}}),
    );
    p["spec"]["containers"][0]["env"] = json!((0..12)
        .map(
            |e| json!({"name": format!("CASSANDRA_SETTING_{e}"), "value": format!("value-{e}-{i}")})
        )
        .collect::<Vec<_>>());
    p["spec"]["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-cassandra-node-{i}")}},
                                  {"name": "config", "configMap": {"name": "cassandra-config"}}]);
    p["status"]["conditions"] = json!(["Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastTransitionTime": "2026-11-27T10:00:00Z"}))
        .collect::<Vec<_>>());
    p
}

/// Requests per second on loopback against 1,000 pods (run by hand:
/// `cargo test --test integration sim::perf -- --ignored --nocapture`); the numbers go to
/// docs/PERFORMANCE.md. Bounded by count and time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn perf_lists_and_gets_of_1000_pods() {
    let mut s = scenario();
    s.objects.retain(|o| o["kind"] != "Pod");
    s.objects.extend((0..1000).map(realistic_pod));
    let h = start(s).await;
    let pods: Api<Pod> = Api::default_namespaced(h.kube_client().unwrap());
    let budget = Duration::from_secs(3);

    // Full paginated lists, 500 a page (kubectl's and kube-rs pagers' usual chunk).
    let t = std::time::Instant::now();
    let (mut lists, mut pages) = (0u32, 0u32);
    while t.elapsed() < budget && lists < 200 {
        let mut lp = ListParams::default().limit(500);
        let mut n = 0;
        loop {
            let page = pods.list(&lp).await.unwrap();
            pages += 1;
            n += page.items.len();
            match page.metadata.continue_ {
                Some(c) => lp = lp.continue_token(&c),
                None => break,
            }
        }
        assert_eq!(n, 1000);
        lists += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "paginated list of 1000 pods (limit 500): {:.1} full lists/s, {:.1} pages/s",
        f64::from(lists) / secs,
        f64::from(pages) / secs
    );

    // The same pages fetched raw: the server's cost without the client's decoding.
    let client = h.kube_client().unwrap();
    let t = std::time::Instant::now();
    let (mut raw_pages, mut bytes) = (0u32, 0usize);
    while t.elapsed() < budget && raw_pages < 400 {
        let req = axum::http::Request::get("/api/v1/namespaces/demo/pods?limit=500")
            .body(Vec::new())
            .unwrap();
        bytes += client.request_text(req).await.unwrap().len();
        raw_pages += 1;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "raw pages of 500 pods: {:.1} pages/s, {:.1} MB/s",
        f64::from(raw_pages) / secs,
        bytes as f64 / secs / 1e6
    );

    // Sequential gets.
    let t = std::time::Instant::now();
    let mut gets = 0u32;
    while t.elapsed() < budget && gets < 20_000 {
        pods.get(&format!("cassandra-node-{:04}", gets % 1000))
            .await
            .unwrap();
        gets += 1;
    }
    println!(
        "sequential gets: {:.0} requests/s",
        f64::from(gets) / t.elapsed().as_secs_f64()
    );

    // Concurrent gets over one HTTP/2 connection, 16 in flight.
    let t = std::time::Instant::now();
    let mut total = 0u32;
    while t.elapsed() < budget && total < 50_000 {
        let batch = futures::future::join_all((0..16).map(|j| {
            let pods = pods.clone();
            async move {
                pods.get(&format!("cassandra-node-{:04}", (j * 61) % 1000))
                    .await
            }
        }))
        .await;
        assert!(batch.iter().all(Result::is_ok));
        total += 16;
    }
    println!(
        "concurrent gets (16 in flight): {:.0} requests/s",
        f64::from(total) / t.elapsed().as_secs_f64()
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_http_serves_plain_http_still_with_the_token() {
    let h = Sim::new(scenario())
        .options(|o| {
            o.insecure_http = true;
            o.token = Some("fixed-token".into());
        })
        .start()
        .await;
    assert!(h.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(h.token(), "fixed-token");
    assert!(h.ca_pem().is_empty());
    let kc: Value = kudo_diag::yaml::from_str(&h.kubeconfig_yaml(Some("other"))).unwrap();
    assert_eq!(kc["contexts"][0]["context"]["namespace"], "other");
    assert!(kc["clusters"][0]["cluster"]
        .get("certificate-authority-data")
        .is_none());
    let pods: Api<Pod> = Api::default_namespaced(h.kube_client().unwrap());
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        3
    );
    h.shutdown().await;
}

#[test]
fn sim_command_rejects_bad_input_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let o = crate::support::run_in(dir.path(), &["sim"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(crate::support::stderr(&o).contains("pass --scenario FILE"));
    let o = crate::support::run_in(
        dir.path(),
        &["sim", "--scenario", "s.yaml", "--error-rate", "2"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(crate::support::stderr(&o).contains("outside 0.0..=1.0"));
    let o = crate::support::run_in(
        dir.path(),
        &["sim", "--scenario", "s.yaml", "--route-latency", "(=5"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(crate::support::stderr(&o).contains("is not a valid regex"));
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: x
namespace: d
objects:
- {apiVersion: v1, kind: Pod}
",
    )
    .unwrap();
    let o = crate::support::run_in(dir.path(), &["sim", "--scenario", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        crate::support::stderr(&o).contains("has no metadata.name"),
        "{}",
        crate::support::stderr(&o)
    );
}

/// client-go speaks HTTP/2: the server must offer it by ALPN (and still HTTP/1.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_offers_h2_and_http1_by_alpn_and_the_ca_verifies() {
    let h = Sim::new(scenario())
        .options(|o| o.addr = "0.0.0.0:0".parse().unwrap())
        .start()
        .await;
    assert!(
        h.base_url().starts_with("https://127.0.0.1:"),
        "{}",
        h.base_url()
    );
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls::pki_types::pem::PemObject::from_pem_slice(h.ca_pem().as_bytes()).unwrap();
    roots.add(ca).unwrap();
    for (offer, want) in [
        (vec![b"h2".to_vec(), b"http/1.1".to_vec()], b"h2".to_vec()),
        (vec![b"http/1.1".to_vec()], b"http/1.1".to_vec()),
    ] {
        let mut cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
        cfg.alpn_protocols = offer;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
        let port = h.addr().port();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector
            .connect(name, tcp)
            .await
            .expect("the CA verifies the serving certificate");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(want.as_slice()));
    }
    h.shutdown().await;
}
