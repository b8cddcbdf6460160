//! Operator-published diagnostics (issue 8) end to end: the ZooKeeper package's `diagnostics`
//! key (test data with the KEP revision's kinds of entries), an entry published on the
//! OperatorVersion's annotation and a labelled ConfigMap with bad entries, all collected from the
//! simulated `zookeeper` scenario together with the built-in `kudo` pipeline. The bundle must
//! hold the copied files, the command output and the service's HTTP answer, redacted by the
//! key's rules and the instance's Secret values, and each bad entry must be a clear failure
//! that does not stop anything else.

use std::path::Path;

use kudo_diag::bundle::reader::{BundleReader, Limits as ReaderLimits};
use kudo_diag::engine;
use kudo_diag::opdiag::{self, Target};
use kudo_diag::pipeline::{self, PipelineDoc};
use kudo_diag::registry::default_registry;
use kudo_diag::sim::scenario::HttpHandler;
use kudo_diag::sim::Scenario;
use serde_json::{json, Value};

use crate::support::{failed_nodes, Collection, Sim};

const NS: &str = "my-namespace";
const INSTANCE: &str = "zookeeper-instance";
/// A value only the instance's Secret holds; the AdminServer's answer leaks it.
const SECRET_VALUE: &str = "zk-SuperSecret-9d1e77";
/// A digest credential that only the key's own regex catches.
const DIGEST: &str = "D/InIHSb7yEEbrWz8b9l71RjZJU=";

fn data(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/opdiag")
        .join(rel)
}

/// The built-in zookeeper scenario plus what the package's entries reach: the AdminServer port
/// on the client service (as the package's services.yaml declares it) with its `stat` answer,
/// a Secret of the instance, an entry on the OperatorVersion and a ConfigMap of bad entries.
fn scenario() -> Scenario {
    let mut sc = kudo_diag::sim::scenarios::load("zookeeper").expect("the built-in scenario");
    for o in sc.objects.iter_mut() {
        let name = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_string);
        let kind = o.get("kind").and_then(Value::as_str).map(str::to_string);
        let (name, kind) = (name.as_deref(), kind.as_deref());
        if kind == Some("Service") && name == Some("zookeeper-instance-cs") {
            o["spec"]["ports"].as_array_mut().unwrap().push(
                json!({"name": "admin", "port": 8080, "protocol": "TCP", "targetPort": 8080}),
            );
        }
        if kind == Some("OperatorVersion") && name == Some("zookeeper-3.6.2-0.3.3") {
            o["metadata"]["annotations"] = json!({
                "kudo-diag.dev/diagnostics":
                    "bundle:\n  resources:\n  - name: zookeeper-ruok\n    kind: Command\n    spec:\n      command: [sh, -c, echo ruok | nc localhost 2181]\n      selector: {matchLabels: {app: zookeeper}}\n"
            });
        }
    }
    sc.objects.push(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "zookeeper-instance-sasl", "namespace": NS,
                     "labels": {"kudo.dev/instance": INSTANCE}},
        "type": "Opaque",
        "data": {"password": base64(SECRET_VALUE)}
    }));
    sc.objects.push(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "zookeeper-diagnostics", "namespace": "kudo-system",
                     "labels": {"kudo-diag.dev/diagnostics-for": "zookeeper"}},
        "data": {"diagnostics.yaml": r#"
bundle:
  resources:
  - name: jstack
    kind: Exec
    spec: {command: [jstack, "1"]}
  - name: nobody
    kind: Command
    spec: {command: [ls], selector: {matchLabels: {app: kafka}}}
  - name: myid
    kind: Command
    spec: {command: [cat, /var/lib/zookeeper/data/myid], selector: {kind: StatefulSet, name: "{{ .Name }}-zookeeper"}}
  - name: wrong-port
    kind: Request
    spec: {serviceRef: {name: "{{ .Name }}-cs", port: http}, path: /}
  redact:
  - name: broken
    spec: {regex: "pass(word"}
"#}
    }));
    sc.http.push(HttpHandler {
        namespace: None,
        service: "zookeeper-instance-cs".into(),
        pod: None,
        port: "admin".into(),
        path: Some("commands/stat".into()),
        status: None,
        body: format!(
            "{{\n  \"version\" : \"3.6.2--803c7f1a12f85978cb049af5e4ef23bd8b688715\",\n  \"server_stats\" : {{\"server_state\" : \"leader\", \"num_alive_client_connections\" : 3}},\n  \"auth\" : \"digest:super:{DIGEST}\",\n  \"last_client_note\" : \"{SECRET_VALUE}\",\n  \"command\" : \"stat\",\n  \"error\" : null\n}}\n"
        ),
    });
    sc
}

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_published_diagnostics_are_collected_redacted_and_bad_entries_reported() {
    let sim = Sim::new(scenario()).start().await;
    let client = sim.kube_client().unwrap();
    let reg = default_registry();
    let target = Target {
        namespace: NS,
        kudo_namespace: "kudo-system",
        instance: INSTANCE,
        operator: "zookeeper",
        operator_version: Some("zookeeper-3.6.2-0.3.3"),
    };
    let prepared = opdiag::prepare(&client, &target, Some(&data("zookeeper")))
        .await
        .expect("the package is readable");
    let origins: Vec<&str> = prepared.sources.iter().map(|s| s.origin.as_str()).collect();
    assert_eq!(origins.len(), 3, "{origins:?}");
    assert!(origins[0].starts_with("package:"));
    assert_eq!(
        origins[1],
        "operatorversion:my-namespace/zookeeper-3.6.2-0.3.3"
    );
    assert_eq!(origins[2], "configmap:kudo-system/zookeeper-diagnostics");
    assert!(prepared.problems.is_empty(), "{:?}", prepared.problems);

    // The generated tasks merge into the built-in pipeline and pass its validator.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let base = pipeline::load::resolve(&[root.join("kudo.yaml").display().to_string()], &reg)
        .unwrap_or_else(|e| panic!("{e}"));
    let merged = prepared.plan.merge_into(&base);
    let doc: PipelineDoc = kudo_diag::yaml::from_str(&pipeline::load::to_yaml(&merged)).unwrap();
    let flat = PipelineDoc {
        spec: pipeline::PipelineSpec {
            extends: None,
            ..doc.spec
        },
        ..doc
    };
    pipeline::load::load_str("merged", &kudo_diag::yaml::to_string(&flat).unwrap(), &reg)
        .unwrap_or_else(|e| panic!("the validator rejects the generated tasks:\n{e}"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zookeeper.zip");
    let globals = json!({
        "instance": INSTANCE, "namespace": NS, "kudoNamespace": "kudo-system",
        "operator": "zookeeper", "operatorVersion": "0.3.3", "appVersion": "3.6.2", "kudoVersion": "0.19.0"
    });
    let events = engine::EventLog::new();
    let summary = Collection::new(&sim, merged, NS, INSTANCE)
        .globals(globals)
        .redactor(prepared.redactor())
        .output(&out)
        .run(&events)
        .await;

    // One exec per pod and entry: a Copy of two files is one `tar`, not one exec per file.
    let m = sim.state().metrics.snapshot();
    eprintln!("API requests: {m:?}; {} nodes done", summary.counts.done);
    assert_eq!(
        m.execs,
        4 * 3,
        "copy, srvr, ruok and myid in 3 servers: {m:?}"
    );
    let mut failed: Vec<(String, String)> = events
        .events()
        .iter()
        .filter_map(|e| match e {
            engine::Event::Finished {
                node,
                error: Some(err),
                ..
            } => Some((node.clone(), err.to_string())),
            _ => None,
        })
        .filter(|(n, _)| n != "kudo-webhooks") // not served by the simulated cluster yet
        .collect();
    failed.sort();
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "diag-broken",
            "diag-jstack",
            "diag-nobody-pods",
            "diag-wrong-port"
        ],
        "{failed:#?}"
    );
    let msg = |n: &str| failed.iter().find(|(m, _)| m == n).unwrap().1.clone();
    assert!(msg("diag-jstack").contains("unknown kind \"Exec\": use Copy, Command or Request"));
    assert!(msg("diag-nobody-pods").contains(
        "selector app=kafka matches none of the instance's pods in namespace my-namespace; the instance's 3 pods carry app=zookeeper"
    ), "{}", msg("diag-nobody-pods"));
    assert!(msg("diag-wrong-port").contains(
        "service zookeeper-instance-cs has no port \"http\"; its ports are client (2181), admin (8080); fix spec.serviceRef.port"
    ), "{}", msg("diag-wrong-port"));
    assert!(msg("diag-broken").contains("is not a valid regular expression"));
    assert!(summary.has_problems());

    let mut bundle = BundleReader::open(&out, ReaderLimits::default()).unwrap();
    assert!(bundle.verify().is_clean());
    let read = |b: &mut BundleReader, p: &str| {
        String::from_utf8(
            b.read(p)
                .unwrap_or_else(|e| panic!("the bundle has no {p}: {e}")),
        )
        .unwrap()
    };
    // Copy: files out of every server, at their paths.
    for (i, pod) in [
        "zookeeper-instance-zookeeper-0",
        "zookeeper-instance-zookeeper-1",
        "zookeeper-instance-zookeeper-2",
    ]
    .iter()
    .enumerate()
    {
        let cfg = read(
            &mut bundle,
            &format!("diagnostics/zookeeper-config/{pod}/conf/zoo.cfg"),
        );
        assert!(cfg.contains("4lw.commands.whitelist=srvr, ruok"), "{cfg}");
        let myid = read(
            &mut bundle,
            &format!("diagnostics/zookeeper-config/{pod}/var/lib/zookeeper/data/myid"),
        );
        assert_eq!(myid.trim(), (i + 1).to_string());
    }
    // Command: the four-letter word in every server; the leader says so.
    let srvr = read(
        &mut bundle,
        "diagnostics/zookeeper-srvr/zookeeper-instance-zookeeper-1.txt",
    );
    assert!(srvr.contains("Mode: leader"), "{srvr}");
    // The OperatorVersion's entry ran too.
    let ruok = read(
        &mut bundle,
        "diagnostics/zookeeper-ruok/zookeeper-instance-zookeeper-0.txt",
    );
    assert_eq!(ruok.trim(), "imok");
    // A workload's selector stood for its pods.
    let myid = read(
        &mut bundle,
        "diagnostics/myid/zookeeper-instance-zookeeper-2.txt",
    );
    assert_eq!(myid.trim(), "3");
    // Request: the service port's answer, with the digest and the Secret's value redacted.
    let stat = read(&mut bundle, "diagnostics/zookeeper-stat.txt");
    assert!(stat.contains("\"server_state\" : \"leader\""), "{stat}");
    assert!(stat.contains("digest:super:**REDACTED**"), "{stat}");
    assert!(
        !stat.contains(DIGEST) && !stat.contains(SECRET_VALUE),
        "{stat}"
    );
    // Nothing anywhere holds the Secret's value, and the report counts the key's rules.
    let paths: Vec<String> = bundle.entries().map(|e| e.path.clone()).collect();
    for p in &paths {
        let bytes = bundle.read(p).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET_VALUE), "{p} holds the Secret's value");
        assert!(!text.contains(DIGEST), "{p} holds the digest credential");
    }
    // Describe-style text beside the YAML: containers and their states, volumes, ports.
    let pod = read(
        &mut bundle,
        "pods/zookeeper-instance-zookeeper-0/describe.txt",
    );
    for want in [
        "Containers:",
        "kubernetes-zookeeper:",
        "State:          Running",
        "Restart Count:",
        "Volumes:",
        "Conditions:",
    ] {
        assert!(pod.contains(want), "{want:?} missing:\n{pod}");
    }
    // One describe per pod, beside its pod.yaml, and no second copy of them all.
    for i in 1..3 {
        read(
            &mut bundle,
            &format!("pods/zookeeper-instance-zookeeper-{i}/describe.txt"),
        );
    }
    assert!(bundle.read("workload/pods.describe.txt").is_err());
    let svc = read(&mut bundle, "workload/services.describe.txt");
    assert!(svc.contains("admin 8080/TCP -> 8080"), "{svc}");
    let sts = read(&mut bundle, "workload/statefulsets.describe.txt");
    assert!(sts.contains("Replicas:     3 desired"), "{sts}");
    let pvcs = read(&mut bundle, "workload/pvcs.describe.txt");
    assert!(pvcs.contains("Status:       Bound"), "{pvcs}");
    let report = read(&mut bundle, "redactions.json");
    assert!(
        report.contains("pattern-1") && report.contains("literal"),
        "{report}"
    );
}

/// The Cassandra package's key, planned against the `cassandra` scenario: its nodetool
/// commands and config files are collected from every node, and the Secret its redact entry
/// names (through `{{ .Name }}`) is redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cassandra_package_collects_nodetool_and_config_files() {
    let sim = Sim::builtin("cassandra").start().await;
    let client = sim.kube_client().unwrap();
    let target = Target {
        namespace: "production",
        kudo_namespace: "kudo-system",
        instance: "analytics-cassandra",
        operator: "cassandra",
        operator_version: Some("cassandra-3.11.7-1.0.3"),
    };
    let prepared = opdiag::prepare(&client, &target, Some(&data("cassandra")))
        .await
        .unwrap();
    assert!(prepared.problems.is_empty(), "{:?}", prepared.problems);
    assert!(
        prepared.plan.problems.is_empty(),
        "{:?}",
        prepared.plan.problems
    );
    assert!(prepared
        .redaction
        .literals
        .iter()
        .any(|l| l == "kudo-diag-planted-secret-4242"));
    let only = kudo_diag::pipeline::Pipeline::new("cassandra-diagnostics", vec![], vec![]);
    let p = prepared.plan.merge_into(&only);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.zip");
    let globals = json!({"instance": "analytics-cassandra", "namespace": "production", "operator": "cassandra"});
    let events = engine::EventLog::new();
    let summary = Collection::new(&sim, p, "production", "analytics-cassandra")
        .globals(globals)
        .redactor(prepared.redactor())
        .output(&out)
        .run(&events)
        .await;
    assert!(!summary.has_problems(), "{:#?}", events.events());
    let mut bundle = BundleReader::open(&out, ReaderLimits::default()).unwrap();
    let mut paths: Vec<String> = bundle.entries().map(|e| e.path.clone()).collect();
    paths.retain(|p| p.starts_with("diagnostics/"));
    paths.sort();
    for node in 0..3 {
        let pod = format!("analytics-cassandra-node-{node}");
        for f in [
            format!("diagnostics/nodetool-status/{pod}.txt"),
            format!("diagnostics/nodetool-tpstats/{pod}.txt"),
            format!("diagnostics/cassandra-config/{pod}/etc/cassandra/cassandra.yaml"),
            format!("diagnostics/cassandra-config/{pod}/etc/cassandra/jvm.options"),
            format!("diagnostics/cassandra-config/{pod}/etc/cassandra/cassandra-env.sh"),
        ] {
            assert!(paths.contains(&f), "no {f} in {paths:#?}");
        }
    }
    let status = bundle
        .read("diagnostics/nodetool-status/analytics-cassandra-node-0.txt")
        .unwrap();
    assert!(String::from_utf8_lossy(&status).contains("UN"));
}

/// `pipelines show --operator-package` shows the package's generated tasks, from a folder and
/// from a .tgz as `kubectl kudo package create` writes it.
#[test]
fn pipelines_show_merges_a_packages_diagnostics_from_a_folder_or_a_tgz() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("zookeeper-0.3.3.tgz");
    let st = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg("-C")
        .arg(data(""))
        .arg("zookeeper")
        .status()
        .unwrap();
    assert!(st.success());
    for pkg in [data("zookeeper"), tgz] {
        let o = crate::support::run_in(
            dir.path(),
            &[
                "pipelines",
                "show",
                "selftest",
                "--operator-package",
                pkg.to_str().unwrap(),
            ],
        );
        let out = crate::support::stdout(&o);
        assert!(o.status.success(), "{}", crate::support::stderr(&o));
        for t in [
            "diag-zookeeper-config",
            "diag-zookeeper-srvr",
            "diag-zookeeper-stat",
        ] {
            assert!(out.contains(&format!("name: {t}\n")), "{t} missing:\n{out}");
        }
        assert!(out.contains("service: \"{{instance}}-cs\""), "{out}");
    }
    let o = crate::support::run_in(
        dir.path(),
        &[
            "pipelines",
            "show",
            "selftest",
            "--operator-package",
            "missing-dir",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(crate::support::stderr(&o).contains("cannot read operator package missing-dir"));
}

/// Without `get` on `services/proxy`, a Request entry fails with the API server's 403 and the
/// permission to ask for, and the other entries are still collected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_service_proxy_fails_only_the_request_entry() {
    let mut sc = scenario();
    sc.permissions =
        kudo_diag::yaml::from_str("deny: [{verbs: [get], resources: [services/proxy]}]").unwrap();
    let sim = Sim::new(sc).start().await;
    let src = opdiag::source::from_package(&data("zookeeper"))
        .unwrap()
        .unwrap();
    let plan = opdiag::plan(&[src]);
    let p = plan.merge_into(&kudo_diag::pipeline::Pipeline::new("zk", vec![], vec![]));
    let dir = tempfile::tempdir().unwrap();
    let events = engine::EventLog::new();
    let summary = Collection::new(&sim, p, NS, INSTANCE)
        .output(dir.path().join("z.zip"))
        .run(&events)
        .await;
    let failed = failed_nodes(&events);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].starts_with("diag-zookeeper-stat: ") && failed[0].contains("services/proxy"),
        "{}",
        failed[0]
    );
    assert_eq!(summary.counts.done, 2 + 2 * 3, "{:?}", summary.counts);
}
