//! Fidelity: a real cluster's troubleshoot support bundle (k3s v1.24.4, tests/data/
//! troubleshoot-k3s, see its PROVENANCE.md) served by `kudo-diag serve`, and read by the real
//! kubectl and by the python `kubernetes` client as a second, independent client. What they
//! get is compared with what the bundle stored and with what the cluster's API server would
//! print.

use std::collections::BTreeSet;
use std::path::PathBuf;

use kudo_diag::sim::{from_bundle, SimHandle, SimOptions, SimServer};
use serde_json::Value;

use crate::support::{have_kubectl, Kubectl};

fn k3s_bundle() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/troubleshoot-k3s/support-bundle.tar.gz")
}

async fn serve_k3s() -> (SimHandle, kudo_diag::sim::Scenario) {
    let b = from_bundle::load(&k3s_bundle()).expect("the k3s bundle loads");
    let sc = b.scenario.clone();
    let h = SimServer::start(
        b.scenario,
        SimOptions {
            read_only: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    (h, sc)
}

/// The `plural.group` kubectl names a stored object's type with (plural alone for core).
fn resource_of(sc: &kudo_diag::sim::Scenario, o: &Value) -> String {
    let av = o["apiVersion"].as_str().unwrap();
    let kind = o["kind"].as_str().unwrap();
    let (group, version) = av.split_once('/').unwrap_or(("", av));
    let lists = sc.discovery.as_ref().unwrap().as_array().unwrap();
    let plural = lists
        .iter()
        .filter(|l| l["groupVersion"] == av)
        .flat_map(|l| l["resources"].as_array().unwrap())
        .find(|r| r["kind"] == kind && !r["name"].as_str().unwrap().contains('/'))
        .and_then(|r| r["name"].as_str())
        .unwrap_or_else(|| panic!("{kind} {av} is in the recorded discovery"));
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{version}.{group}")
    }
}

/// `kubectl get -o json` of every kind the bundle holds equals the stored objects, field by
/// field: nothing added, nothing removed (`--show-managed-fields`, since kubectl drops them
/// from its output by default).
#[tokio::test]
async fn kubectl_get_json_returns_every_object_as_stored() {
    if !have_kubectl() {
        return;
    }
    let (h, sc) = serve_k3s().await;
    let k = Kubectl::new(&h);
    let resources: BTreeSet<String> = sc.objects.iter().map(|o| resource_of(&sc, o)).collect();
    assert!(resources.len() >= 15, "{resources:?}");
    for res in &resources {
        let out: Value = serde_json::from_str(
            &k.ok(&["get", res, "-A", "-o", "json", "--show-managed-fields"])
                .await,
        )
        .unwrap();
        let got = out["items"].as_array().unwrap();
        let want: Vec<&Value> = sc
            .objects
            .iter()
            .filter(|o| &resource_of(&sc, o) == res)
            .collect();
        assert_eq!(got.len(), want.len(), "{res}");
        for w in want {
            let key = |o: &Value| {
                (
                    o["metadata"]["namespace"].clone(),
                    o["metadata"]["name"].clone(),
                )
            };
            let g = got
                .iter()
                .find(|g| key(g) == key(w))
                .unwrap_or_else(|| panic!("{res} {:?}", key(w)));
            assert_eq!(g, w, "{res} {:?} differs from the stored object", key(w));
        }
    }
    h.shutdown().await;
}

/// `kubectl api-resources` lists what the cluster's discovery recorded, no more, no less.
#[tokio::test]
async fn api_resources_are_the_recorded_discovery() {
    if !have_kubectl() {
        return;
    }
    let (h, sc) = serve_k3s().await;
    let k = Kubectl::new(&h);
    let got: BTreeSet<String> = k
        .ok(&["api-resources", "-o", "name"])
        .await
        .lines()
        .map(str::to_string)
        .collect();
    let mut want = BTreeSet::new();
    for l in sc.discovery.as_ref().unwrap().as_array().unwrap() {
        let gv = l["groupVersion"].as_str().unwrap();
        let group = gv.split_once('/').map(|(g, _)| g).unwrap_or("");
        for r in l["resources"].as_array().unwrap() {
            let name = r["name"].as_str().unwrap();
            if !name.contains('/') {
                want.insert(if group.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}.{group}")
                });
            }
        }
    }
    assert_eq!(got, want);
    h.shutdown().await;
}

/// Tables as the v1.24 API server prints them (pkg/printers/internalversion/printers.go):
/// Jobs have COMPLETIONS and DURATION and no STATUS (added in 1.31); RoleBindings ROLE and, wide,
/// their subjects; a
/// CRD without printer columns prints NAME and AGE (the CRD handler's default); errors name the
/// group; `auth can-i --list` is the recorded auth-cani-list; /version is the recorded one;
/// `logs --previous` is the previous instance's log.
#[tokio::test]
async fn tables_errors_version_and_previous_logs_answer_as_the_cluster() {
    if !have_kubectl() {
        return;
    }
    let (h, sc) = serve_k3s().await;
    let k = Kubectl::new(&h);
    let header = |out: &str| -> Vec<String> {
        out.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let jobs = k.ok(&["get", "jobs", "-n", "kube-system"]).await;
    assert_eq!(
        header(&jobs),
        ["NAME", "COMPLETIONS", "DURATION", "AGE"],
        "{jobs}"
    );
    assert!(
        jobs.lines()
            .skip(1)
            .all(|l| l.split_whitespace().nth(1) == Some("1/1")),
        "{jobs}"
    );
    let svcs = k.ok(&["get", "services", "-n", "kube-system"]).await;
    assert_eq!(
        header(&svcs),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    let rbs = k
        .ok(&["get", "rolebindings", "-n", "kube-system", "-o", "wide"])
        .await;
    assert_eq!(
        header(&rbs),
        ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
        "{rbs}"
    );
    // A kind the bundle holds none of answers as a cluster does, not "doesn't have a resource type".
    let none = k.run(&["get", "ingresses", "-A"]).await;
    assert!(
        none.status.success(),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    let addons = k
        .ok(&["get", "addons.k3s.cattle.io", "-n", "kube-system"])
        .await;
    assert_eq!(header(&addons), ["NAME", "AGE"], "{addons}");
    let missing = k
        .run(&["get", "daemonset", "nope", "-n", "kube-system"])
        .await;
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("daemonsets.apps \"nope\" not found"), "{err}");
    // auth-cani-list is what the cluster answered SelfSubjectRulesReview with.
    let can = k
        .ok(&["auth", "can-i", "--list", "-n", "kube-system"])
        .await;
    assert!(
        can.lines()
            .any(|l| l.starts_with("*.*") && l.trim_end().ends_with("[*]")),
        "{can}"
    );
    assert!(
        can.contains("selfsubjectrulesreviews.authorization.k8s.io"),
        "{can}"
    );
    let v: Value = serde_json::from_str(&k.ok(&["version", "-o", "json"]).await).unwrap();
    assert_eq!(
        v["serverVersion"]["gitCommit"],
        "c3f830e9b9ed8a4d9d0e2aa663b4591b923a296e"
    );
    assert_eq!(v["serverVersion"]["platform"], "linux/arm64");
    let prev = sc
        .logs
        .iter()
        .find(|l| l.previous && l.pod.starts_with("coredns-"))
        .expect("a previous coredns log in the bundle");
    let text = match &prev.source {
        kudo_diag::sim::scenario::LogSource::Inline(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    let got = k
        .ok(&[
            "logs",
            "--previous",
            "-n",
            "kube-system",
            &prev.pod,
            "-c",
            &prev.container,
        ])
        .await;
    assert_eq!(got.trim_end(), text.trim_end());
    h.shutdown().await;
}

/// The python client: Python 3 with `pip install kubernetes`; skipped loudly when absent,
/// unless CI requires it (`KUDO_DIAG_REQUIRE_PYK8S=1`).
fn have_python_client() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("KUDO_DIAG_REQUIRE_PYK8S").as_deref() == Ok("1") {
            panic!("the python kubernetes client is missing but KUDO_DIAG_REQUIRE_PYK8S=1: pip install kubernetes");
        }
        eprintln!("!!!!! SKIPPED: python3 -c 'import kubernetes' failed; pip install kubernetes to run the second-client fidelity test !!!!!");
    }
    ok
}

const PYTHON_CLIENT: &str = r#"
import json, sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
api = client.ApiClient()
pods = core.list_pod_for_all_namespaces()
first = pods.items[0]
pod = core.read_namespaced_pod(first.metadata.name, first.metadata.namespace)
log = core.read_namespaced_pod_log(sys.argv[2], "kube-system", container=sys.argv[3], previous=True)
addons = client.CustomObjectsApi().list_namespaced_custom_object("k3s.cattle.io", "v1", "kube-system", "addons")
version = client.VersionApi().get_code()
print(json.dumps({
    "pods": sorted([p.metadata.namespace + "/" + p.metadata.name for p in pods.items]),
    "pod": api.sanitize_for_serialization(pod),
    "log": log,
    "addons": sorted([a["metadata"]["name"] for a in addons["items"]]),
    "version": api.sanitize_for_serialization(version),
}))
"#;

/// The python client lists, reads, gets logs, custom objects and the version, and agrees with
/// the bundle.
#[tokio::test]
async fn the_python_client_agrees() {
    if !have_python_client() {
        return;
    }
    let (h, sc) = serve_k3s().await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    h.write_kubeconfig(&kc).unwrap();
    let prev = sc
        .logs
        .iter()
        .find(|l| l.previous && l.pod.starts_with("coredns-"))
        .unwrap();
    let out = tokio::process::Command::new("python3")
        .args(["-c", PYTHON_CLIENT])
        .arg(&kc)
        .args([&prev.pod, &prev.container])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut pods: Vec<String> = sc
        .objects
        .iter()
        .filter(|o| o["kind"] == "Pod")
        .map(|o| {
            format!(
                "{}/{}",
                o["metadata"]["namespace"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    pods.sort();
    assert_eq!(got["pods"], serde_json::json!(pods));
    let name = got["pod"]["metadata"]["name"].as_str().unwrap();
    let stored = sc
        .objects
        .iter()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == name)
        .unwrap();
    assert_eq!(got["pod"]["metadata"]["uid"], stored["metadata"]["uid"]);
    assert_eq!(got["pod"]["spec"]["nodeName"], stored["spec"]["nodeName"]);
    let text = match &prev.source {
        kudo_diag::sim::scenario::LogSource::Inline(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(got["log"].as_str().unwrap().trim_end(), text.trim_end());
    let addons: Vec<&str> = sc
        .objects
        .iter()
        .filter(|o| o["kind"] == "Addon")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(got["addons"].as_array().unwrap().len(), addons.len());
    assert_eq!(got["version"]["gitVersion"], "v1.24.4+k3s1");
    assert_eq!(got["version"]["buildDate"], "2022-08-25T03:46:35Z");
    h.shutdown().await;
}

/// `kudo-diag analyze` reads the troubleshoot bundle, archived or unpacked, with the same
/// result: the Kubernetes-level rules on every namespace, and the KUDO and application rules
/// named as not run, with why.
#[test]
fn analyze_reads_the_troubleshoot_bundle_archived_or_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let tar = std::process::Command::new("tar")
        .arg("xzf")
        .arg(k3s_bundle())
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(tar.success());
    let report = |path: &std::path::Path| -> Value {
        let o = crate::support::bin()
            .arg("analyze")
            .arg(path)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", crate::support::stderr(&o));
        let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["header"]["bundle"] = Value::Null;
        v
    };
    let archived = report(&k3s_bundle());
    let unpacked = report(&dir.path().join("support-bundle"));
    assert_eq!(archived, unpacked);
    assert_eq!(archived["header"]["collector"], "troubleshoot");
    assert_eq!(archived["counts"]["error"], 0);
    assert_eq!(archived["counts"]["warning"], 0);
    let namespaces: BTreeSet<&str> = archived["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["object"]["namespace"].as_str())
        .collect();
    assert_eq!(
        namespaces,
        BTreeSet::from(["default", "kube-system"]),
        "{archived:#}"
    );
    let not_run = archived["rulesNotRun"].to_string();
    assert!(not_run.contains("kudo.plan-failed"), "{not_run}");
    // The text report says it too.
    let o = crate::support::bin()
        .arg("analyze")
        .arg(k3s_bundle())
        .args(["--color", "never"])
        .output()
        .unwrap();
    let text = crate::support::stdout(&o);
    assert!(text.contains("troubleshoot support bundle"), "{text}");
    assert!(text.contains("not run: kudo.plan-failed"), "{text}");
}

/// Collects a bundle from `sim` with the kudo pipeline, then compares `kubectl
/// api-resources` (also `-o wide`: verbs and categories) and `api-versions` against `sim` and
/// against the bundle served; returns the bundle's recorded discovery.
async fn discovery_round_trip(sim: SimHandle, ns: &str, instance: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.zip");
    crate::support::Collection::new(&sim, crate::support::builtin_pipeline("kudo"), ns, instance)
        .output(&out)
        .run(&kudo_diag::engine::EventLog::new())
        .await;
    let commands: [&[&str]; 3] = [
        &["api-resources"],
        &["api-resources", "-o", "wide", "--sort-by", "name"],
        &["api-versions"],
    ];
    let mut live = Vec::new();
    let k = Kubectl::new(&sim);
    for c in commands {
        live.push(k.ok(c).await);
    }
    sim.shutdown().await;

    let mut r = kudo_diag::bundle::reader::BundleReader::open(&out, Default::default()).unwrap();
    let recorded: Value =
        kudo_diag::yaml::from_slice(&r.read(kudo_diag::bundle::layout::DISCOVERY).unwrap())
            .unwrap();
    let b = from_bundle::load(&out).unwrap();
    assert!(b.scenario.discovery.is_some());
    let served = crate::support::Sim::new(b.scenario)
        .read_only()
        .start()
        .await;
    let k = Kubectl::new(&served);
    for (c, want) in commands.iter().zip(&live) {
        assert_eq!(&k.ok(c).await, want, "kubectl {c:?}");
    }
    served.shutdown().await;
    recorded
}

/// A kudo-diag bundle records the cluster's discovery (`cluster/discovery.yaml`), and `serve`
/// answers from it as the cluster did: from the project's cassandra scenario, and from the k3s
/// cluster (served from its troubleshoot bundle), whose discovery has groups the bundle holds
/// no CRD or object of (traefik.containo.us, metrics.k8s.io), so only the recorded discovery
/// can list them.
#[tokio::test]
async fn a_served_bundle_answers_discovery_as_the_cluster_it_was_collected_from() {
    if !have_kubectl() {
        return;
    }
    let sc = kudo_diag::sim::scenarios::load("cassandra").unwrap();
    let sim = crate::support::Sim::new(sc).start().await;
    let recorded = discovery_round_trip(sim, "production", "analytics-cassandra").await;
    assert_eq!(recorded["failed"], serde_json::json!([]));
    assert_eq!(recorded["resources"][0]["groupVersion"], "v1");
    assert_eq!(recorded["api"]["kind"], "APIVersions");

    let (k3s, _) = serve_k3s().await;
    let recorded = discovery_round_trip(k3s, "default", "none").await;
    let versions: Vec<&str> = recorded["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["groupVersion"].as_str())
        .collect();
    assert!(
        versions.contains(&"traefik.containo.us/v1alpha1"),
        "{versions:?}"
    );
    assert!(versions.contains(&"metrics.k8s.io/v1beta1"), "{versions:?}");
}

/// Kinds kubectl users list whose server printers the emulator gained (IngressClass,
/// RuntimeClass, CSINode, VolumeAttachment, PodTemplate): `kubectl get` prints the columns the
/// API server's printers (printers.go `AddHandlers`, `print<Kind>`) give them, not the default
/// NAME/CREATED AT table. The expected rows are written from those printing rules; AGE, which
/// depends on the clock, is compared for presence only.
#[tokio::test]
async fn node_storage_and_ingress_kinds_print_the_servers_columns() {
    if !have_kubectl() {
        return;
    }
    let created = "2020-01-01T00:00:00Z";
    let meta = |name: &str| serde_json::json!({"name": name, "creationTimestamp": created, "uid": name, "resourceVersion": "7"});
    let objects = vec![
        serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": meta("nginx"),
            "spec": {"controller": "k8s.io/ingress-nginx",
                     "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}}),
        serde_json::json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": meta("gvisor"), "handler": "runsc"}),
        serde_json::json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": meta("node-1"),
            "spec": {"drivers": [{"name": "ebs.csi.aws.com", "nodeID": "i-1", "topologyKeys": []}]}}),
        serde_json::json!({"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttachment", "metadata": meta("csi-0a1b"),
            "spec": {"attacher": "ebs.csi.aws.com", "nodeName": "node-1", "source": {"persistentVolumeName": "pvc-1"}},
            "status": {"attached": true}}),
        {
            let mut m = meta("batch-template");
            m["namespace"] = "default".into();
            serde_json::json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": m,
                "template": {"metadata": {"labels": {"app": "batch"}},
                             "spec": {"containers": [{"name": "work", "image": "busybox:1.36"}]}}})
        },
    ];
    let sc = kudo_diag::sim::Scenario {
        name: "printers".into(),
        namespace: "default".into(),
        objects,
        ..Default::default()
    };
    let h = SimServer::start(sc, SimOptions::default()).await.unwrap();
    let k = Kubectl::new(&h);
    let cases: [(&str, &[&str], &[&str]); 5] = [
        (
            "ingressclasses",
            &["NAME", "CONTROLLER", "PARAMETERS", "AGE"],
            &[
                "nginx",
                "k8s.io/ingress-nginx",
                "IngressParameters.k8s.example.com/external-lb",
            ],
        ),
        (
            "runtimeclasses",
            &["NAME", "HANDLER", "AGE"],
            &["gvisor", "runsc"],
        ),
        ("csinodes", &["NAME", "DRIVERS", "AGE"], &["node-1", "1"]),
        (
            "volumeattachments",
            &["NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"],
            &["csi-0a1b", "ebs.csi.aws.com", "pvc-1", "node-1", "true"],
        ),
        // No AGE: the pod template printer has none.
        (
            "podtemplates",
            &["NAME", "CONTAINERS", "IMAGES", "POD", "LABELS"],
            &["batch-template", "work", "busybox:1.36", "app=batch"],
        ),
    ];
    for (res, header, row) in cases {
        for wide in [false, true] {
            let mut args = vec!["get", res];
            if wide {
                args.extend(["-o", "wide"]);
            }
            let out = k.ok(&args).await;
            let lines: Vec<Vec<&str>> = out
                .lines()
                .map(|l| l.split_whitespace().collect())
                .collect();
            assert_eq!(lines.len(), 2, "{out}");
            assert_eq!(lines[0], header, "{res}: {out}");
            let has_age = header.last() == Some(&"AGE");
            let cells = &lines[1][..lines[1].len() - usize::from(has_age)];
            assert_eq!(cells, row, "{res}: {out}");
        }
    }
    h.shutdown().await;
}

/// `kubectl explain` reads the OpenAPI v3 documents the emulator publishes: the built-in kinds'
/// schemas of the server's minor (vendored from a maintained schema source) and the CRDs'
/// `openAPIV3Schema`. Against the k3s cluster served from its bundle: a built-in field and a
/// custom resource (traefik's IngressRoute), as a cluster answers (header, the schema's
/// descriptions, required fields marked).
#[tokio::test]
async fn explain_answers_from_the_builtin_and_crd_schemas() {
    if !have_kubectl() {
        return;
    }
    let (h, sc) = serve_k3s().await;
    let k = Kubectl::new(&h);
    let out = k.ok(&["explain", "pod.spec.containers"]).await;
    let head: Vec<&str> = out.lines().take(4).collect();
    assert_eq!(
        head,
        [
            "KIND:       Pod",
            "VERSION:    v1",
            "",
            "FIELD: containers <[]Container>"
        ],
        "{out}"
    );
    assert!(
        out.contains("List of containers belonging to the pod."),
        "{out}"
    );
    assert!(out.contains("  name\t<string> -required-"), "{out}");
    assert!(out.contains("  resources\t<ResourceRequirements>"), "{out}");

    let out = k.ok(&["explain", "ingressroutes.spec"]).await;
    assert!(
        out.starts_with(
            "GROUP:      traefik.containo.us\nKIND:       IngressRoute\nVERSION:    v1alpha1\n"
        ),
        "{out}"
    );
    // The CRD's own description of the field, and its fields.
    let crd = sc
        .objects
        .iter()
        .find(|o| o["metadata"]["name"] == "ingressroutes.traefik.containo.us")
        .unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let first_words: String = spec["description"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(out.contains(&first_words), "{first_words}: {out}");
    for field in spec["properties"].as_object().unwrap().keys() {
        assert!(out.contains(&format!("  {field}\t<")), "{field}: {out}");
    }
    // A field that does not exist is refused as by a cluster.
    let o = k.run(&["explain", "pod.spec.nosuchfield"]).await;
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("field \"nosuchfield\" does not exist"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    h.shutdown().await;

    // The project's own scenario (a 1.32 server): KUDO's Instance from its CRD, a Deployment
    // field from the built-in schemas.
    let sc = kudo_diag::sim::scenarios::load("cassandra").unwrap();
    let sim = crate::support::Sim::new(sc).start().await;
    let k = Kubectl::new(&sim);
    let out = k.ok(&["explain", "instances"]).await;
    assert!(
        out.starts_with("GROUP:      kudo.dev\nKIND:       Instance\nVERSION:    v1beta1\n"),
        "{out}"
    );
    assert!(out.contains("  metadata\t<ObjectMeta>"), "{out}");
    let out = k.ok(&["explain", "deployment.spec.strategy"]).await;
    assert!(
        out.contains("FIELD: strategy <DeploymentStrategy>"),
        "{out}"
    );
    assert!(
        out.contains("  rollingUpdate\t<RollingUpdateDeployment>"),
        "{out}"
    );
    sim.shutdown().await;
}

/// `kubectl explain --output plaintext-openapiv2` reads `/openapi/v2` as gnostic protobuf (the
/// form client-go asks for): a built-in field from the vendored definitions and a custom
/// resource's field from its CRD, against the k3s cluster served from its bundle, each with a
/// fresh cache. kubectl prints the v2 template (RESOURCE, `<Object>`, indented descriptions).
#[tokio::test]
async fn explain_from_openapi_v2_answers_for_builtin_kinds_and_crds() {
    if !have_kubectl() {
        return;
    }
    let (h, sc) = serve_k3s().await;
    let k = Kubectl::new(&h);
    let v2 = ["--output", "plaintext-openapiv2"];
    let out = k.ok(&[&["explain", "pod.spec"][..], &v2].concat()).await;
    assert!(
        out.starts_with("KIND:     Pod\nVERSION:  v1\n\nRESOURCE: spec <Object>\n"),
        "{out}"
    );
    assert!(
        out.contains("     PodSpec is a description of a pod."),
        "{out}"
    );
    assert!(
        out.contains("   containers\t<[]Object> -required-"),
        "{out}"
    );
    assert!(out.contains("   restartPolicy\t<string>"), "{out}");

    let k = Kubectl::new(&h);
    let out = k
        .ok(&[&["explain", "ingressroutes.spec"][..], &v2].concat())
        .await;
    assert!(
        out.starts_with("KIND:     IngressRoute\nVERSION:  traefik.containo.us/v1alpha1\n"),
        "{out}"
    );
    let crd = sc
        .objects
        .iter()
        .find(|o| o["metadata"]["name"] == "ingressroutes.traefik.containo.us")
        .unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    for (field, schema) in spec["properties"].as_object().unwrap() {
        let ty = if schema["type"] == "array" { "[]" } else { "" };
        assert!(
            out.contains(&format!("   {field}\t<{ty}")),
            "{field}: {out}"
        );
    }
    h.shutdown().await;
}

/// A server of an older minor gets that minor's schemas (vendored from 1.19 on): the k3s
/// cluster (v1.24) has no `PodSpec.hostUsers` (new in 1.25) and still serves
/// batch/v1beta1 CronJobs (removed in 1.25), while the project's 1.32 scenario has the field.
#[tokio::test]
async fn explain_follows_the_servers_minor_before_1_25() {
    if !have_kubectl() {
        return;
    }
    let (h, _) = serve_k3s().await;
    let k = Kubectl::new(&h);
    let o = k.run(&["explain", "pod.spec.hostUsers"]).await;
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("field \"hostUsers\" does not exist"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = k
        .ok(&["explain", "cronjobs.spec", "--api-version=batch/v1beta1"])
        .await;
    assert!(
        out.starts_with("GROUP:      batch\nKIND:       CronJob\nVERSION:    v1beta1\n"),
        "{out}"
    );
    h.shutdown().await;

    let sc = kudo_diag::sim::scenarios::load("cassandra").unwrap();
    let sim = crate::support::Sim::new(sc).start().await;
    let out = Kubectl::new(&sim)
        .ok(&["explain", "pod.spec.hostUsers"])
        .await;
    assert!(out.contains("FIELD: hostUsers <boolean>"), "{out}");
    sim.shutdown().await;
}

/// HorizontalPodAutoscalers, CSIDrivers and CertificateSigningRequests print the API server's
/// columns (printers.go `printHorizontalPodAutoscaler` with `formatHPAMetrics`,
/// `printCSIDriver`, `printCertificateSigningRequest`): TARGETS as `current/target` with the
/// resource name from 1.30 on (kubernetes PR 122804), `<unknown>` before a current value; an
/// unset attachRequired as true; the CSR's condition and requested duration. A v1.29 server
/// prints TARGETS without the name. AGE is compared for presence only.
#[tokio::test]
async fn autoscalers_csi_drivers_and_csrs_print_the_servers_columns() {
    if !have_kubectl() {
        return;
    }
    let meta = |name: &str, ns: Option<&str>| {
        let mut m = serde_json::json!({"name": name, "creationTimestamp": "2020-01-01T00:00:00Z",
            "uid": name, "resourceVersion": "7"});
        if let Some(ns) = ns {
            m["namespace"] = ns.into();
        }
        m
    };
    let objects = vec![
        serde_json::json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta("web", Some("default")),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 2, "maxReplicas": 10, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}}]},
            "status": {"currentReplicas": 3, "desiredReplicas": 3, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12, "averageValue": "40m"}}}]}}),
        serde_json::json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": meta("ebs.csi.aws.com", None),
            "spec": {"attachRequired": true, "podInfoOnMount": false, "requiresRepublish": false,
                     "storageCapacity": false, "volumeLifecycleModes": ["Persistent"]}}),
        serde_json::json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": meta("csr-abc", None),
            "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet", "username": "system:node:n1",
                     "expirationSeconds": 86400, "request": "LS0t", "usages": ["client auth"]},
            "status": {"conditions": [{"type": "Approved", "status": "True", "reason": "AutoApproved"}],
                       "certificate": "LS0t"}}),
    ];
    for (minor, targets) in [
        ("32", "cpu: 12%/80%, memory: <unknown>/500Mi"),
        ("29", "12%/80%, <unknown>/500Mi"),
    ] {
        let sc = kudo_diag::sim::Scenario {
            name: "printers".into(),
            namespace: "default".into(),
            objects: objects.clone(),
            server_version: kudo_diag::sim::scenario::ServerVersion {
                minor: minor.into(),
                git_version: format!("v1.{minor}.0"),
                ..Default::default()
            },
            ..Default::default()
        };
        let h = SimServer::start(sc, SimOptions::default()).await.unwrap();
        let k = Kubectl::new(&h);
        let hpa = k.ok(&["get", "hpa"]).await;
        let lines: Vec<&str> = hpa.lines().collect();
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NAME",
                "REFERENCE",
                "TARGETS",
                "MINPODS",
                "MAXPODS",
                "REPLICAS",
                "AGE"
            ],
            "{hpa}"
        );
        assert!(
            lines[1].contains(&format!("Deployment/web   {targets}   2 ")),
            "{hpa}"
        );
        let csi = k.ok(&["get", "csidrivers"]).await;
        let csi: Vec<Vec<&str>> = csi
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            csi[0],
            [
                "NAME",
                "ATTACHREQUIRED",
                "PODINFOONMOUNT",
                "STORAGECAPACITY",
                "TOKENREQUESTS",
                "REQUIRESREPUBLISH",
                "MODES",
                "AGE"
            ]
        );
        assert_eq!(
            csi[1][..7],
            [
                "ebs.csi.aws.com",
                "true",
                "false",
                "false",
                "<unset>",
                "false",
                "Persistent"
            ]
        );
        let csr = k.ok(&["get", "csr"]).await;
        let csr: Vec<Vec<&str>> = csr
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            csr[0],
            [
                "NAME",
                "AGE",
                "SIGNERNAME",
                "REQUESTOR",
                "REQUESTEDDURATION",
                "CONDITION"
            ]
        );
        assert_eq!(
            [csr[1][0], csr[1][2], csr[1][3], csr[1][4], csr[1][5]],
            [
                "csr-abc",
                "kubernetes.io/kube-apiserver-client-kubelet",
                "system:node:n1",
                "24h",
                "Approved,Issued"
            ]
        );
        h.shutdown().await;
    }
}

/// The control kinds print the API server's columns through real kubectl (printers.go
/// `printFlowSchema` and its list's matching order, `printPriorityLevelConfiguration`,
/// `printCSIStorageCapacity` without AGE, `printValidatingAdmissionPolicy(Binding)`,
/// `printServiceCIDR`, `printIPAddress`, the DRA printers), on a 1.34 server, where all of
/// them are served. AGE is left out of the comparison.
#[tokio::test]
async fn control_plane_and_dra_kinds_print_the_servers_columns() {
    if !have_kubectl() {
        return;
    }
    let meta = |name: &str, ns: Option<&str>| {
        let mut m = serde_json::json!({"name": name, "creationTimestamp": "2020-01-01T00:00:00Z",
            "uid": name, "resourceVersion": "7"});
        if let Some(ns) = ns {
            m["namespace"] = ns.into();
        }
        m
    };
    let fc = "flowcontrol.apiserver.k8s.io/v1";
    let objects = vec![
        serde_json::json!({"apiVersion": fc, "kind": "FlowSchema", "metadata": meta("service-accounts", None),
            "spec": {"priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 9000,
                     "distinguisherMethod": {"type": "ByUser"}},
            "status": {"conditions": [{"type": "Dangling", "status": "False"}]}}),
        serde_json::json!({"apiVersion": fc, "kind": "FlowSchema", "metadata": meta("exempt", None),
            "spec": {"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 1}}),
        serde_json::json!({"apiVersion": fc, "kind": "PriorityLevelConfiguration", "metadata": meta("global-default", None),
            "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 20, "limitResponse": {"type": "Queue",
                     "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}}),
        serde_json::json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity",
            "metadata": meta("csisc-abc", Some("default")), "storageClassName": "standard", "capacity": "100Gi"}),
        serde_json::json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": meta("replica-limit", None), "spec": {"validations": [{"expression": "object.spec.replicas <= 5"}],
            "paramKind": {"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"}}}),
        serde_json::json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": meta("replica-limit-prod", None), "spec": {"policyName": "replica-limit",
            "paramRef": {"name": "limit", "namespace": "prod"}, "validationActions": ["Deny"]}}),
        serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": meta("kubernetes", None),
            "spec": {"cidrs": ["10.43.0.0/16"]}}),
        serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "IPAddress", "metadata": meta("10.43.0.1", None),
            "spec": {"parentRef": {"group": "", "resource": "services", "namespace": "default", "name": "kubernetes"}}}),
        serde_json::json!({"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": meta("gpu.example.com", None),
            "spec": {}}),
        serde_json::json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": meta("gpu-claim", Some("default")),
            "spec": {}, "status": {"allocation": {}, "reservedFor": [{"resource": "pods", "name": "p", "uid": "u"}]}}),
        serde_json::json!({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": meta("node-1-gpu", None),
            "spec": {"nodeName": "node-1", "driver": "gpu.example.com", "pool": {"name": "node-1", "generation": 1, "resourceSliceCount": 1}}}),
    ];
    let sc = kudo_diag::sim::Scenario {
        name: "printers".into(),
        namespace: "default".into(),
        objects,
        server_version: kudo_diag::sim::scenario::ServerVersion {
            minor: "34".into(),
            git_version: "v1.34.0".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let h = SimServer::start(sc, SimOptions::default()).await.unwrap();
    let k = Kubectl::new(&h);
    // (resource, header, rows without AGE)
    type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a [&'a str]]);
    let cases: [Case; 9] = [
        (
            "flowschemas",
            &[
                "NAME",
                "PRIORITYLEVEL",
                "MATCHINGPRECEDENCE",
                "DISTINGUISHERMETHOD",
                "AGE",
                "MISSINGPL",
            ],
            &[
                &["exempt", "exempt", "1", "<none>", "?"],
                &[
                    "service-accounts",
                    "workload-low",
                    "9000",
                    "ByUser",
                    "False",
                ],
            ],
        ),
        (
            "prioritylevelconfigurations",
            &[
                "NAME",
                "TYPE",
                "NOMINALCONCURRENCYSHARES",
                "QUEUES",
                "HANDSIZE",
                "QUEUELENGTHLIMIT",
                "AGE",
            ],
            &[&["global-default", "Limited", "20", "128", "6", "50"]],
        ),
        (
            "csistoragecapacities",
            &["NAME", "STORAGECLASSNAME", "CAPACITY"],
            &[&["csisc-abc", "standard", "100Gi"]],
        ),
        (
            "validatingadmissionpolicies",
            &["NAME", "VALIDATIONS", "PARAMKIND", "AGE"],
            &[&["replica-limit", "1", "rules.example.com/v1/ReplicaLimit"]],
        ),
        (
            "validatingadmissionpolicybindings",
            &["NAME", "POLICYNAME", "PARAMREF", "AGE"],
            &[&["replica-limit-prod", "replica-limit", "prod/limit"]],
        ),
        (
            "servicecidrs",
            &["NAME", "CIDRS", "AGE"],
            &[&["kubernetes", "10.43.0.0/16"]],
        ),
        (
            "ipaddresses",
            &["NAME", "PARENTREF"],
            &[&["10.43.0.1", "services/default/kubernetes"]],
        ),
        (
            "resourceclaims",
            &["NAME", "STATE", "AGE"],
            &[&["gpu-claim", "allocated,reserved"]],
        ),
        (
            "resourceslices",
            &["NAME", "NODE", "DRIVER", "POOL", "AGE"],
            &[&["node-1-gpu", "node-1", "gpu.example.com", "node-1"]],
        ),
    ];
    for (res, header, rows) in cases {
        let out = k.ok(&["get", res]).await;
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], header, "{res}: {out}");
        assert_eq!(lines.len(), rows.len() + 1, "{res}: {out}");
        for (line, row) in lines[1..].iter().zip(rows) {
            let has_age = header.contains(&"AGE");
            let mut cells = line.clone();
            if has_age {
                let at = header.iter().position(|h| *h == "AGE").unwrap();
                cells.remove(at);
            }
            assert_eq!(&cells, row, "{res}: {out}");
        }
    }
    let out = k.ok(&["get", "deviceclasses"]).await;
    assert!(
        out.starts_with("NAME              AGE\ngpu.example.com   "),
        "{out}"
    );
    h.shutdown().await;
}

/// An HPA a 1.24 cluster stored as autoscaling/v2beta1 prints its TARGETS through real
/// kubectl as that cluster did (the metric converted as the server converts it, then
/// formatHPAMetrics without the 1.30 resource-name prefix), not `<unknown>/<auto>`.
#[tokio::test]
async fn v2beta1_autoscalers_print_their_targets() {
    if !have_kubectl() {
        return;
    }
    let hpa = serde_json::json!({"apiVersion": "autoscaling/v2beta1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2020-01-01T00:00:00Z",
                     "uid": "web", "resourceVersion": "7"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 2, "maxReplicas": 10, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 80}},
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}}]},
        "status": {"currentReplicas": 3, "desiredReplicas": 3, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 12, "currentAverageValue": "40m"}}]}});
    let sc = kudo_diag::sim::Scenario {
        name: "hpa".into(),
        namespace: "default".into(),
        objects: vec![hpa],
        server_version: kudo_diag::sim::scenario::ServerVersion {
            minor: "24".into(),
            git_version: "v1.24.4".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let h = SimServer::start(sc, SimOptions::default()).await.unwrap();
    let out = Kubectl::new(&h)
        .ok(&["get", "horizontalpodautoscalers.v2beta1.autoscaling"])
        .await;
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        row[..6],
        [
            "web",
            "Deployment/web",
            "12%/80%,",
            "<unknown>/500Mi",
            "2",
            "10"
        ],
        "{out}"
    );
    h.shutdown().await;
}

/// A simulated cluster of server minor `minor` holding `objects`.
async fn start_at(minor: &str, objects: Vec<Value>) -> SimHandle {
    let sc = kudo_diag::sim::Scenario {
        name: "versions".into(),
        namespace: "default".into(),
        objects,
        server_version: kudo_diag::sim::scenario::ServerVersion {
            minor: minor.into(),
            git_version: format!("v1.{minor}.4"),
            ..Default::default()
        },
        ..Default::default()
    };
    SimServer::start(sc, SimOptions::default()).await.unwrap()
}

/// An HPA stored as autoscaling/v2 with a CPU target of 50% and 20% in use.
fn v2_autoscaler() -> Value {
    serde_json::json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api", "namespace": "default", "creationTimestamp": "2020-01-01T00:00:00Z"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                 "minReplicas": 1, "maxReplicas": 4, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
        "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 20, "averageValue": "10m"}}}]}})
}

/// As an API server does, the simulated cluster serves one object per group and resource at
/// every version it serves: on 1.24, `kubectl get hpa` (autoscaling/v2) lists an HPA stored as
/// v2beta1 with the TARGETS its own version prints, every served version prints the same
/// table, `-o json` answers in the asked version (converted where the schema differs), and
/// `cronjobs.v1beta1.batch` lists CronJobs stored as batch/v1.
#[tokio::test]
async fn objects_are_served_at_every_served_version_on_1_24() {
    if !have_kubectl() {
        return;
    }
    let v2beta1 = serde_json::json!({"apiVersion": "autoscaling/v2beta1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2020-01-01T00:00:00Z"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 2, "maxReplicas": 10, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 80}},
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}}]},
        "status": {"currentReplicas": 3, "desiredReplicas": 3, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 12, "currentAverageValue": "40m"}}]}});
    let cronjob = serde_json::json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "default", "creationTimestamp": "2020-01-01T00:00:00Z"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}});
    let h = start_at("24", vec![v2beta1, v2_autoscaler(), cronjob]).await;
    let k = Kubectl::new(&h);
    let table = k.ok(&["get", "hpa"]).await;
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert_eq!(
        rows[0][..3],
        ["api", "Deployment/api", "20%/50%"],
        "{table}"
    );
    assert_eq!(
        rows[1][..4],
        ["web", "Deployment/web", "12%/80%,", "<unknown>/500Mi"],
        "{table}"
    );
    for version in ["v1", "v2beta1", "v2beta2", "v2"] {
        let other = k
            .ok(&[
                "get",
                &format!("horizontalpodautoscalers.{version}.autoscaling"),
            ])
            .await;
        assert_eq!(other, table, "{version}");
    }
    let v2: Value =
        serde_json::from_str(&k.ok(&["get", "hpa", "web", "-o", "json"]).await).unwrap();
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"][1]["resource"]["target"],
        serde_json::json!({"type": "AverageValue", "averageValue": "500Mi"})
    );
    let v1: Value = serde_json::from_str(
        &k.ok(&[
            "get",
            "horizontalpodautoscalers.v1.autoscaling",
            "web",
            "-o",
            "json",
        ])
        .await,
    )
    .unwrap();
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 80);
    assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 12);
    assert_eq!(v1["metadata"]["uid"], v2["metadata"]["uid"]);
    let describe = k.ok(&["describe", "hpa", "web"]).await;
    assert!(describe.contains("Deployment/web"), "{describe}");
    let cj = k.ok(&["get", "cronjobs.v1beta1.batch"]).await;
    assert!(cj.lines().nth(1).unwrap().starts_with("nightly "), "{cj}");
    let cj: Value =
        serde_json::from_str(&k.ok(&["get", "cronjobs.v1beta1.batch", "-o", "json"]).await)
            .unwrap();
    assert_eq!(cj["items"].as_array().unwrap().len(), 1);
    assert_eq!(cj["items"][0]["apiVersion"], "batch/v1beta1");
    assert_eq!(cj["items"][0]["spec"]["schedule"], "0 3 * * *");
    h.shutdown().await;
}

/// On 1.32 an HPA stored as autoscaling/v2 reads the same at autoscaling/v1 (its CPU target
/// converted to `targetCPUUtilizationPercentage`), and batch/v1beta1 is no longer served.
#[tokio::test]
async fn objects_are_served_at_every_served_version_on_1_32() {
    if !have_kubectl() {
        return;
    }
    let h = start_at("32", vec![v2_autoscaler()]).await;
    let k = Kubectl::new(&h);
    let table = k.ok(&["get", "hpa"]).await;
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        row[..4],
        ["api", "Deployment/api", "cpu:", "20%/50%"],
        "{table}"
    );
    assert_eq!(
        k.ok(&["get", "horizontalpodautoscalers.v1.autoscaling"])
            .await,
        table
    );
    let v1: Value = serde_json::from_str(
        &k.ok(&[
            "get",
            "horizontalpodautoscalers.v1.autoscaling",
            "api",
            "-o",
            "json",
        ])
        .await,
    )
    .unwrap();
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 50);
    assert!(v1["spec"].get("metrics").is_none());
    let gone = k.run(&["get", "cronjobs.v1beta1.batch"]).await;
    assert!(!gone.status.success());
    h.shutdown().await;
}
