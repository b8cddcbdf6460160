//! `kudo-diag analyze` on a troubleshoot.sh support bundle (`kubectl support-bundle`'s
//! `.tar.gz`, or its folder): the bundle is read by [`crate::bundle::troubleshoot`] (the reader
//! `serve` uses too) and laid out in memory as a kudo-diag bundle lays out what the
//! analyzers read, then the Kubernetes-level rules run on it ([`Scope::Kubernetes`]).
//!
//! A troubleshoot bundle covers the whole cluster, so the lists hold every namespace's objects
//! (each finding names its object's namespace):
//!
//! | analyzed as | from the troubleshoot bundle |
//! | --- | --- |
//! | `workload/pods.yaml`, `events.yaml`, `deployments.yaml`, `statefulsets.yaml`, `persistentvolumeclaims.yaml`, `poddisruptionbudgets.yaml` | `cluster-resources/pods/NS.json`, `events/`, `deployments/`, `statefulsets/`, `pvcs/`, `pod-disruption-budgets/` |
//! | `cluster/nodes.yaml` | `cluster-resources/nodes.json` |
//! | `cluster/version.yaml`, `versions.yaml` (`kubernetes.version`) | `cluster-info/cluster_version.json` |
//! | `pods/POD/logs/CONTAINER.log`, `CONTAINER.previous.log` | `cluster-resources/pods/logs/NS/POD/CONTAINER.log`, `CONTAINER-previous.log` |
//!
//! What cannot run is said in the report ([`Report::rules_not_run`]): the KUDO rules (no
//! Instance with its OperatorVersion and plan status), the application rules (no output of
//! commands run in the application's pods) and YAML rules scoped to one operator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Value};

use super::analysis::{analyze_scoped, builtin_rules, Options, Scope};
use super::custom::Rule;
use super::model::{NotRun, Report};
use super::rules;
use super::source::Source;
use crate::bundle::layout;
use crate::bundle::troubleshoot::{self, Troubleshoot};
use crate::bundle::writer::{BundleMeta, Manifest};
use crate::Error;

/// Most bytes of a troubleshoot bundle's files held in memory for an analysis.
pub const MAX_IN_MEMORY: u64 = 4 << 30;

/// Analyzes the troubleshoot bundle at `path`.
pub fn analyze(path: &Path, opts: &Options) -> crate::Result<Report> {
    let ts = troubleshoot::load(path, &opts.limits.unwrap_or_default(), MAX_IN_MEMORY)?;
    let mut report = analyze_troubleshoot(&ts, &opts.extra_rules)?;
    report.header.bundle = path.display().to_string();
    Ok(report)
}

/// Analyzes a parsed troubleshoot bundle with the Kubernetes-level rules and the `extra`
/// YAML rules, and says which rules could not run and why.
pub fn analyze_troubleshoot(ts: &Troubleshoot, extra: &[Rule]) -> crate::Result<Report> {
    let src = source_of(ts)?;
    let paths = src.paths();
    let mut report = analyze_scoped(src, extra, Scope::Kubernetes)?;
    report.header.completeness.files = ts.entries;
    let mut yaml_rules = builtin_rules()?;
    yaml_rules.extend(extra.iter().cloned());
    report.rules_not_run = not_run(ts, &yaml_rules, &paths);
    let skipped: BTreeSet<&String> = report.rules_not_run.iter().flat_map(|n| &n.rules).collect();
    report.rules_run.retain(|r| !skipped.contains(r));
    Ok(report)
}

/// The kinds the analyzers read, by (apiVersion group, kind), and the file each goes to.
const LISTS: &[(&str, &str, &str)] = &[
    ("", "Pod", layout::PODS),
    ("", "Event", layout::EVENTS),
    ("apps", "Deployment", layout::DEPLOYMENTS),
    ("apps", "StatefulSet", layout::STATEFULSETS),
    (
        "",
        "PersistentVolumeClaim",
        layout::PERSISTENT_VOLUME_CLAIMS,
    ),
    (
        "policy",
        "PodDisruptionBudget",
        layout::POD_DISRUPTION_BUDGETS,
    ),
    ("", "Node", layout::NODES),
];

fn group_of(o: &Value) -> &str {
    let av = o["apiVersion"].as_str().unwrap_or_default();
    av.rsplit_once('/').map_or("", |(g, _)| g)
}

fn yaml(v: &Value) -> crate::Result<String> {
    crate::yaml::to_string(v)
        .map_err(|e| Error::Other(format!("cannot write an object as YAML (a bug): {e}")))
}

/// The troubleshoot bundle as the files the analyzers read (see the module doc).
pub fn source_of(ts: &Troubleshoot) -> crate::Result<Source> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (group, kind, path) in LISTS {
        let items: Vec<&Value> = ts
            .objects
            .iter()
            .filter(|o| o["kind"] == *kind && group_of(o) == *group)
            .collect();
        if !items.is_empty() {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            files.insert(path.to_string(), yaml(&list)?);
        }
    }
    if let Some(v) = &ts.version {
        files.insert(layout::CLUSTER_VERSION.into(), yaml(v)?);
        let versions = json!({"kubernetes": {"version": v["gitVersion"]}});
        files.insert(layout::VERSIONS.into(), yaml(&versions)?);
    }
    // Logs by pod name, as a kudo-diag bundle keeps them; a pod name found in two namespaces
    // keeps the logs of the first (the objects of both are analyzed).
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for l in &ts.logs {
        if *owner.entry(&l.pod).or_insert(&l.namespace) != l.namespace {
            continue;
        }
        let path = if l.previous {
            layout::previous_log(&l.pod, &l.container)
        } else {
            format!("pods/{}/logs/{}.log", l.pod, l.container)
        };
        files.insert(path, String::from_utf8_lossy(&l.text).into_owned());
    }
    let manifest = Manifest {
        meta: BundleMeta {
            tool: "troubleshoot".into(),
            tool_version: ts.collector_version.clone().unwrap_or_default(),
            target: Value::Null,
            ..BundleMeta::default()
        },
        ..Manifest::default()
    };
    Ok(Source::from_files(files, Vec::new()).with_manifest(manifest))
}

/// The KUDO Instances the bundle holds (its `kudo.dev` custom resources), as `NS/NAME`.
fn kudo_instances(ts: &Troubleshoot) -> Vec<String> {
    ts.objects
        .iter()
        .filter(|o| o["kind"] == "Instance" && group_of(o) == "kudo.dev")
        .map(|o| {
            format!(
                "{}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The rules a troubleshoot bundle cannot feed, grouped by why.
fn not_run(ts: &Troubleshoot, yaml_rules: &[Rule], paths: &[String]) -> Vec<NotRun> {
    let owned = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let instances = kudo_instances(ts);
    let kudo_why = if instances.is_empty() {
        "the bundle holds no KUDO Instance (no kudo.dev custom resources): these rules read one Instance with its OperatorVersion, its plan status and KUDO's manager pods, as `kudo-diag run --instance NAME -n NAMESPACE` collects them".to_string()
    } else {
        format!(
            "the bundle holds KUDO Instances ({}) but not what these rules read for one of them (its OperatorVersion, plan status and KUDO's manager pods): collect one with `kudo-diag run --instance NAME -n NAMESPACE`",
            instances.join(", ")
        )
    };
    let mut out = vec![
        NotRun {
            rules: owned(rules::kudo::RULES),
            why: kudo_why,
        },
        NotRun {
            rules: owned(rules::apps::RULES),
            why: "they read the output of commands kudo-diag runs in the application's pods (nodetool, zkCli, kafka-topics); a troubleshoot bundle holds none of it".into(),
        },
    ];
    let scoped: Vec<String> = yaml_rules
        .iter()
        .filter(|r| !r.spec.operators.is_empty())
        .map(|r| r.spec.name.clone())
        .collect();
    if !scoped.is_empty() {
        out.push(NotRun {
            rules: scoped,
            why: "they apply to the instances of one operator (their `operators:`), and a troubleshoot bundle names no KUDO instance whose operator they could match".into(),
        });
    }
    // Rules for every operator that read files only kudo-diag collects (an application's
    // health output): nothing of the troubleshoot bundle is laid out there.
    let unfed: Vec<&Rule> = yaml_rules
        .iter()
        .filter(|r| r.spec.operators.is_empty() && !paths.iter().any(|p| r.reads(p)))
        .collect();
    if !unfed.is_empty() {
        let files: BTreeSet<&str> = unfed
            .iter()
            .flat_map(|r| r.spec.files.iter().map(String::as_str))
            .collect();
        out.push(NotRun {
            rules: unfed.iter().map(|r| r.spec.name.clone()).collect(),
            why: format!(
                "they read files kudo-diag collects from the application ({}), which a troubleshoot bundle does not hold",
                files.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Severity;

    /// What the k3s cluster showed when it was collected (read from its objects and logs):
    /// one node, Ready without pressure; every Deployment ready; all PVCs Bound; the
    /// containers restarted many times, all last at 09:42-09:43 when the node restarted
    /// (exit 255, reason Unknown), metrics-server and local-path-provisioner once more with
    /// Error because the API server's service address timed out just after; about seven
    /// hours of calm since. So: restarts as history, nothing wrong now.
    #[test]
    fn the_k3s_bundle_shows_restarts_as_history_and_nothing_wrong_now() {
        let r = analyze_troubleshoot(&k3s(), &[]).unwrap();
        assert_eq!(r.header.collector, "troubleshoot");
        assert_eq!(r.header.kubernetes_version, "v1.24.4+k3s1");
        assert_eq!(r.at_least(Severity::Warning), 0, "{:#?}", r.findings);
        let restarted: BTreeSet<(&str, &str)> = r
            .findings
            .iter()
            .filter(|f| f.rule == "pod.high-restarts")
            .map(|f| (f.object.namespace.as_str(), f.object.name.as_str()))
            .collect();
        assert!(restarted.contains(&("kube-system", "metrics-server-668d979685-wttxd")));
        assert!(restarted.contains(&("default", "nginx-deployment-7986654d4-ztx2g")));
        // The Jobs' pods that completed are not "not ready".
        assert!(!r
            .findings
            .iter()
            .any(|f| f.object.name.starts_with("helm-install")));
        let metrics = r
            .findings
            .iter()
            .find(|f| f.object.name.starts_with("metrics-server"))
            .unwrap();
        assert!(metrics.title.contains("182 times"), "{}", metrics.title);
        assert!(
            metrics.explanation.contains("exit code 2"),
            "{}",
            metrics.explanation
        );
        // The Kubernetes-level rules ran; the KUDO and application ones are said not to.
        for rule in [
            "pod.crash-loop",
            "node.not-ready",
            "workload.pvc",
            "logs.out-of-memory",
        ] {
            assert!(r.rules_run.iter().any(|x| x == rule), "{rule}");
        }
        let not_run: Vec<&str> = r
            .rules_not_run
            .iter()
            .flat_map(|n| n.rules.iter().map(String::as_str))
            .collect();
        for rule in [
            "kudo.plan-failed",
            "cassandra.node-down",
            "kafka.log-not-leader",
            "elastic.health-red",
        ] {
            assert!(not_run.contains(&rule), "{rule}: {not_run:?}");
            assert!(!r.rules_run.iter().any(|x| x == rule), "{rule}");
        }
        assert!(r.rules_not_run[0].why.contains("no KUDO Instance"));
    }

    fn k3s() -> Troubleshoot {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/troubleshoot-k3s/support-bundle.tar.gz");
        troubleshoot::load(&path, &Default::default(), MAX_IN_MEMORY).unwrap()
    }

    #[test]
    fn the_k3s_bundle_is_laid_out_as_the_analyzers_read_a_bundle() {
        let ts = k3s();
        let mut src = source_of(&ts).unwrap();
        let pods = src.items(layout::PODS);
        // Every namespace's pods, each with its namespace.
        assert!(pods.iter().any(|p| p["metadata"]["namespace"] == "default"));
        assert!(pods
            .iter()
            .any(|p| p["metadata"]["namespace"] == "kube-system"));
        assert_eq!(src.items(layout::NODES).len(), 1);
        assert!(src.contains("pods/coredns-b96499967-tncf4/logs/coredns.log"));
        assert!(src.contains(&layout::previous_log(
            "metrics-server-668d979685-wttxd",
            "metrics-server"
        )));
        let v = src.yaml(layout::VERSIONS).unwrap();
        assert_eq!(v["kubernetes"]["version"], "v1.24.4+k3s1");
    }
}
