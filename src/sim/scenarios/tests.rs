//! Every built-in scenario loads and is internally consistent; loading errors name the file and
//! the line.

use super::*;
use crate::sim::exec::run_command;
use crate::sim::scenario::{LogSource, Scenario};
use serde_json::Value;

fn all() -> Vec<Scenario> {
    builtin_names()
        .iter()
        .map(|(n, _)| load(n).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect()
}

fn objects<'a>(sc: &'a Scenario, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    sc.objects.iter().filter(move |o| o["kind"] == kind)
}

#[test]
fn builtins_load_and_are_consistent() {
    for sc in all() {
        let problems = problems(&sc);
        assert!(problems.is_empty(), "{}: {problems:#?}", sc.name);
        assert!(
            objects(&sc, "CustomResourceDefinition").count() == 3,
            "{}: KUDO CRDs",
            sc.name
        );
        assert_eq!(objects(&sc, "Node").count(), 3, "{}", sc.name);
        assert!(
            objects(&sc, "Pod").any(|p| p["metadata"]["namespace"] == "kudo-system"),
            "{}: KUDO manager",
            sc.name
        );
        // Every pod of an instance carries the instance's labels, and every running container has a log.
        let instances: Vec<&Value> = objects(&sc, "Instance").collect();
        assert!(!instances.is_empty());
        for i in &instances {
            let ov = i["spec"]["operatorVersion"]["name"].as_str().unwrap();
            assert!(
                objects(&sc, "OperatorVersion").any(|o| o["metadata"]["name"] == ov),
                "{}: {ov}",
                sc.name
            );
        }
        for p in objects(&sc, "Pod") {
            let name = p["metadata"]["name"].as_str().unwrap();
            for cs in p["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if cs["state"]["running"].is_object() {
                    let c = cs["name"].as_str().unwrap();
                    assert!(
                        sc.logs
                            .iter()
                            .any(|l| l.pod == name && l.container == c && !l.previous),
                        "{}: no log for {name}/{c}",
                        sc.name
                    );
                }
            }
        }
        // Names unique per kind and namespace.
        let mut seen = std::collections::HashSet::new();
        for o in &sc.objects {
            let key = (
                o["kind"].to_string(),
                o["metadata"]["namespace"].to_string(),
                o["metadata"]["name"].to_string(),
            );
            assert!(seen.insert(key.clone()), "{}: duplicate {key:?}", sc.name);
        }
    }
}

#[test]
fn cassandra_is_a_real_kudo_instance() {
    let sc = load("cassandra").unwrap();
    assert_eq!(sc.namespace, "production");
    let inst = objects(&sc, "Instance").next().unwrap();
    assert_eq!(inst["status"]["planStatus"]["deploy"]["status"], "COMPLETE");
    let ov = objects(&sc, "OperatorVersion").next().unwrap();
    let params = ov["spec"]["parameters"].as_array().unwrap();
    assert!(params
        .iter()
        .any(|p| p["name"] == "NODE_MEM_MIB" && p["default"] == "4096"));
    assert!(ov["spec"]["templates"]["stateful-set.yaml"].is_string());
    let pods: Vec<&Value> = objects(&sc, "Pod")
        .filter(|p| p["metadata"]["namespace"] == "production")
        .collect();
    assert_eq!(pods.len(), 3);
    for p in &pods {
        let l = &p["metadata"]["labels"];
        assert_eq!(l["kudo.dev/instance"], "analytics-cassandra");
        assert_eq!(l["kudo.dev/operator"], "cassandra");
        assert_eq!(l["app"], "analytics-cassandra");
        assert_eq!(p["spec"]["initContainers"][0]["name"], "bootstrap");
        let c = &p["spec"]["containers"][0];
        assert_eq!(c["name"], "cassandra");
        assert_eq!(
            c["resources"]["requests"],
            serde_json::json!({"cpu": "1000m", "memory": "4096Mi"})
        );
    }
    for kind in [
        "StatefulSet",
        "Service",
        "PersistentVolumeClaim",
        "PersistentVolume",
        "PodDisruptionBudget",
        "ConfigMap",
        "Secret",
        "Event",
        "StorageClass",
    ] {
        assert!(objects(&sc, kind).next().is_some(), "no {kind}");
    }
    let secret = objects(&sc, "Secret")
        .find(|s| s["metadata"]["name"] == "analytics-cassandra-tls-store-credentials")
        .unwrap();
    assert!(secret["data"]["planted_password"].is_string());
    let out = run_command(
        &sc,
        "analytics-cassandra-node-1",
        "cassandra",
        &["nodetool".into(), "status".into()],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("\nUN  ").count(), 3, "{text}");
    let out = run_command(
        &sc,
        "analytics-cassandra-node-0",
        "cassandra",
        &["bash".into(), "-c".into(), "nodetool info".into()],
    );
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("664c3243-a7b4-48cf-840d-3173aadf9595"));
    for sub in [
        "status",
        "info",
        "describecluster",
        "tpstats",
        "compactionstats",
        "gossipinfo",
        "version",
    ] {
        let out = run_command(
            &sc,
            "analytics-cassandra-node-2",
            "cassandra",
            &["nodetool".into(), sub.into()],
        );
        assert_eq!(out.exit_code, 0, "nodetool {sub}");
        assert!(!out.stdout.is_empty(), "nodetool {sub}");
    }
}

#[test]
fn broken_cassandra_has_its_faults() {
    let sc = load("broken-cassandra").unwrap();
    let pod = |n: &str| {
        objects(&sc, "Pod")
            .find(|p| p["metadata"]["name"] == n)
            .unwrap()
    };
    let p1 = pod("analytics-cassandra-node-1");
    let cs = &p1["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(cs["lastState"]["terminated"]["reason"], "OOMKilled");
    let prev = sc
        .logs
        .iter()
        .find(|l| l.pod == "analytics-cassandra-node-1" && l.previous)
        .unwrap();
    let LogSource::Inline(text) = &prev.source else {
        panic!("inline previous log")
    };
    assert!(text.contains("java.lang.OutOfMemoryError"));
    let p2 = pod("analytics-cassandra-node-2");
    assert_eq!(p2["status"]["phase"], "Pending");
    assert!(
        objects(&sc, "Event").any(|e| e["reason"] == "FailedScheduling"
            && e["involvedObject"]["name"] == "analytics-cassandra-node-2"
            && e["message"]
                .as_str()
                .unwrap()
                .starts_with("0/3 nodes are available: 3 Insufficient memory."))
    );
    let inst = objects(&sc, "Instance").next().unwrap();
    let deploy = &inst["status"]["planStatus"]["deploy"];
    assert_eq!(deploy["status"], "FATAL_ERROR");
    let step = deploy["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["steps"].as_array().unwrap())
        .find(|s| s["status"] == "FATAL_ERROR")
        .unwrap();
    assert!(step["message"]
        .as_str()
        .unwrap()
        .contains("Insufficient memory"));
    let out = run_command(
        &sc,
        "analytics-cassandra-node-0",
        "cassandra",
        &["nodetool".into(), "status".into()],
    );
    assert!(String::from_utf8(out.stdout).unwrap().contains("\nDN  "));
}

#[test]
fn kafka_has_a_zookeeper_child_instance() {
    let sc = load("kafka").unwrap();
    let parent = objects(&sc, "Instance")
        .find(|i| i["metadata"]["name"] == "kafka")
        .unwrap();
    let child = objects(&sc, "Instance")
        .find(|i| i["metadata"]["name"] == "kafka-zookeeper")
        .unwrap();
    assert_eq!(
        child["metadata"]["ownerReferences"][0]["uid"],
        parent["metadata"]["uid"]
    );
    assert_eq!(child["metadata"]["ownerReferences"][0]["kind"], "Instance");
    assert_eq!(
        child["metadata"]["labels"]["kudo.dev/operator"],
        "zookeeper"
    );
    let brokers = objects(&sc, "Pod")
        .filter(|p| p["metadata"]["labels"]["kudo.dev/instance"] == "kafka")
        .count();
    let zks = objects(&sc, "Pod")
        .filter(|p| p["metadata"]["labels"]["kudo.dev/instance"] == "kafka-zookeeper")
        .count();
    assert_eq!((brokers, zks), (3, 3));
    for cmd in [
        "kafka-topics.sh --bootstrap-server localhost:9092 --describe",
        "kafka-consumer-groups.sh --bootstrap-server localhost:9092 --describe --all-groups",
        "kafka-log-dirs.sh --bootstrap-server localhost:9092 --describe",
        "kafka-broker-api-versions.sh --bootstrap-server localhost:9092",
    ] {
        let argv: Vec<String> = cmd.split(' ').map(str::to_string).collect();
        let out = run_command(&sc, "kafka-kafka-1", "k8skafka", &argv);
        assert_eq!(out.exit_code, 0, "{cmd}");
        assert!(!out.stdout.is_empty(), "{cmd}");
    }
}

#[test]
fn zookeeper_answers_four_letter_words() {
    let sc = load("zookeeper").unwrap();
    assert_eq!(sc.namespace, "my-namespace");
    let mut modes = Vec::new();
    for i in 0..3 {
        let pod = format!("zookeeper-instance-zookeeper-{i}");
        for w in ["srvr", "stat", "mntr", "conf"] {
            let argv = vec![
                "bash".to_string(),
                "-c".to_string(),
                format!("echo {w} | nc localhost 2181"),
            ];
            let out = run_command(&sc, &pod, "kubernetes-zookeeper", &argv);
            assert_eq!(out.exit_code, 0, "{pod} {w}");
            let text = String::from_utf8(out.stdout).unwrap();
            if w == "srvr" {
                modes.push(
                    text.lines()
                        .find(|l| l.starts_with("Mode: "))
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    modes.sort();
    assert_eq!(modes, ["Mode: follower", "Mode: follower", "Mode: leader"]);
    // The operator whitelists only srvr and ruok.
    let argv = vec![
        "sh".to_string(),
        "-c".to_string(),
        "echo mntr | nc 127.0.0.1 2181".to_string(),
    ];
    let out = run_command(
        &sc,
        "zookeeper-instance-zookeeper-0",
        "kubernetes-zookeeper",
        &argv,
    );
    assert_eq!(
        out.stdout,
        b"mntr is not executed because it is not in the whitelist.\n"
    );
    let cat = vec!["cat".to_string(), "/conf/zoo.cfg".to_string()];
    let out = run_command(
        &sc,
        "zookeeper-instance-zookeeper-2",
        "kubernetes-zookeeper",
        &cat,
    );
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("4lw.commands.whitelist=srvr, ruok"));
}

#[test]
fn file_scenarios_resolve_object_files_and_relative_logs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "name: mine\nnamespace: demo\nobjectFiles: [objs.yaml]\nlogs:\n- pod: web-0\n  container: web\n  file: logs/web.log\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("objs.yaml"),
        "# comment\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-0\nspec:\n  containers: [{name: web}]\n---\napiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: web-1}\n  kind: Pod\n  spec: {containers: [{name: web}]}\n",
    )
    .unwrap();
    let sc = load(dir.path().join("s.yaml").to_str().unwrap()).unwrap();
    assert_eq!(sc.objects.len(), 2);
    assert_eq!(sc.objects[1]["apiVersion"], "v1");
    assert_eq!(sc.objects[0]["metadata"]["namespace"], "demo");
    assert!(sc.objects[0]["metadata"]["uid"].is_string());
    assert!(sc.object_files.is_empty());
    let LogSource::File(p) = &sc.logs[0].source else {
        panic!()
    };
    assert!(
        p.is_absolute() && p.ends_with("logs/web.log"),
        "{}",
        p.display()
    );
}

#[test]
fn errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "name: x\nnamespace: demo\nobjets: []\n").unwrap();
    let err = load(path.to_str().unwrap()).unwrap_err().to_string();
    assert!(err.contains("bad.yaml") && err.contains("line 3"), "{err}");

    std::fs::write(&path, "name: x\nnamespace: demo\nobjectFiles: [o.yaml]\n").unwrap();
    std::fs::write(dir.path().join("o.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {}\n").unwrap();
    let err = load(path.to_str().unwrap()).unwrap_err().to_string();
    assert!(
        err.contains("o.yaml") && err.contains("line 5") && err.contains("metadata.name"),
        "{err}"
    );

    std::fs::write(dir.path().join("o.yaml"), "apiVersion: v1\nkind: [\n").unwrap();
    let err = load(path.to_str().unwrap()).unwrap_err().to_string();
    assert!(err.contains("o.yaml") && err.contains("line"), "{err}");

    let err = load("casandra").unwrap_err().to_string();
    assert!(
        err.contains("did you mean cassandra?") && err.contains("kudo-diag sim list"),
        "{err}"
    );
}

#[test]
fn list_names_every_builtin() {
    let text = list_text();
    for (n, _) in builtin_names() {
        assert!(text.lines().any(|l| l.starts_with(n)), "{n}");
    }
}

#[test]
fn builtins_and_generated_scenarios_are_servable() {
    // The server's store refuses kinds it cannot serve; every built-in must pass it.
    for sc in all() {
        let name = sc.name.clone();
        crate::sim::SimState::new(sc, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    crate::sim::SimState::new(
        crate::sim::generate::generate(&crate::sim::generate::Spec {
            containers: 2,
            log_bytes: 100,
            seed: 1,
            ..crate::sim::generate::Spec::new("kafka", 10)
        }),
        None,
    )
    .unwrap();
}

#[test]
fn problems_name_what_is_inconsistent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "name: x\nnamespace: demo\nobjects:\n- {apiVersion: v1, kind: Pod, metadata: {name: web-0, labels: {kudo.dev/instance: gone}}, spec: {nodeName: n1, containers: [{name: web}]}}\n\
         logs:\n- {pod: web-1, container: web, inline: x}\n- {pod: web-0, container: db, inline: x}\n\
         exec:\n- {pod: 'db-[0-9]+', exact: [ls]}\nfiles:\n- {pod: '(', path: /x}\n",
    )
    .unwrap();
    let sc = load(path.to_str().unwrap()).unwrap();
    let p = problems(&sc).join("\n");
    for want in [
        "runs on node n1, which does not exist",
        "label kudo.dev/instance=gone names no Instance",
        "log for pod demo/web-1: no such pod",
        "log for pod demo/web-0: no container db",
        "exec[0]: pod pattern \"db-[0-9]+\" matches no pod",
        "files[0]: pod pattern \"(\" is not a valid regex",
    ] {
        assert!(p.contains(want), "missing {want:?} in:\n{p}");
    }
}

/// Regression: normalizing owner uids once inserted `ownerReferences: null` into every object
/// that had none, so served objects carried a field the cluster never had.
#[test]
fn normalizing_adds_no_field_an_object_did_not_have() {
    let sc = parse_str(
        "name: t\nnamespace: ns\nobjects:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}\n",
        "inline",
        std::path::Path::new("."),
    )
    .unwrap();
    let meta = sc.objects[0]["metadata"].as_object().unwrap();
    let mut keys: Vec<&str> = meta.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["name", "namespace", "uid"]);
}
