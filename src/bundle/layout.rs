//! Where things are in a bundle: the paths that more than one module reads or writes, named
//! once (docs/bundle-layout.md describes them for people).
//!
//! Two kinds of path are here:
//! - The tool's own files, written by `bundle::writer` after the collection and read by
//!   `bundle::reader`, `analyze` and `kudo-diag bundle`.
//! - Artifacts the built-in pipelines write and Rust code reads (the analysis rules, `serve`)
//!   or writes by default (a task kind's default `output`). Where the pipelines write stays in
//!   pipelines/*.yaml (`output:`, `outputEach:`); the names here are what code relies on, and a
//!   test proves a built-in pipeline writes each of them, so renaming an output breaks the
//!   build's tests instead of an analysis silently finding nothing.

/// The collection and every file with its size and hash; always the archive's last entry.
pub const MANIFEST: &str = "manifest.json";
/// Every task that failed or was skipped, with why.
pub const ERRORS: &str = "errors.json";
/// How many values redaction replaced, per file and rule.
pub const REDACTIONS: &str = "redactions.json";
/// The run's own log, one line per event.
pub const COLLECTION_LOG: &str = "kudo-diag/collection.log";
/// The writer's own files: no artifact may take these paths.
pub const OWN_FILES: &[&str] = &[MANIFEST, ERRORS, REDACTIONS, COLLECTION_LOG];

/// The Instance object.
pub const INSTANCE: &str = "instance/instance.yaml";
/// The plan status tree (`kudo.planstatus`'s default output).
pub const PLAN_STATUS: &str = "instance/plan-status.txt";
/// The instance's OperatorVersion.
pub const OPERATOR_VERSION: &str = "instance/operatorversion.yaml";
/// Instances this one owns.
pub const CHILD_INSTANCES: &str = "instance/child-instances.yaml";
/// Versions of the cluster, KUDO and the application (`kudo.versions`'s default output).
pub const VERSIONS: &str = "versions.yaml";

/// The instance's pods, as a list.
pub const PODS: &str = "workload/pods.yaml";
/// Events in the instance's namespace.
pub const EVENTS: &str = "workload/events.yaml";
pub const STATEFULSETS: &str = "workload/statefulsets.yaml";
pub const DEPLOYMENTS: &str = "workload/deployments.yaml";
pub const PERSISTENT_VOLUME_CLAIMS: &str = "workload/persistentvolumeclaims.yaml";
pub const POD_DISRUPTION_BUDGETS: &str = "workload/poddisruptionbudgets.yaml";

/// KUDO's own pods (the manager) and events, in KUDO's namespace.
pub const KUDO_PODS: &str = "kudo/pods.yaml";
pub const KUDO_EVENTS: &str = "kudo/events.yaml";

/// The API server's version.
pub const CLUSTER_VERSION: &str = "cluster/version.yaml";
/// The API server's discovery (`/api`, `/apis`, every group version's resource list), which
/// `serve` answers discovery from as recorded.
pub const DISCOVERY: &str = "cluster/discovery.yaml";
pub const NODES: &str = "cluster/nodes.yaml";
/// Every pod on the nodes that run the instance's pods, with its requests and limits
/// (`bundle::nodepods`).
pub const NODE_PODS: &str = "cluster/node-pods.json";

/// Where the application pipelines put what they read from each application.
pub const CASSANDRA_DIR: &str = "apps/cassandra/";
pub const ZOOKEEPER_DIR: &str = "apps/zookeeper/";
pub const KAFKA_TOPICS: &str = "apps/kafka/topics.txt";

/// Where the instance's dependencies are, each in `dependencies/NAMESPACE/INSTANCE/` with the
/// layout of a bundle of its own (less the shared parts).
pub const DEPENDENCIES_DIR: &str = "dependencies/";
/// What is the same for every instance of a cluster (KUDO's manager, its CRDs, the cluster's
/// nodes and version): collected once, for the instance asked for, never for a dependency.
pub const SHARED_DIRS: &[&str] = &["kudo/", "cluster/"];

/// The folder of one dependency, with its trailing `/`.
pub fn dependency_prefix(namespace: &str, instance: &str) -> String {
    format!("{DEPENDENCIES_DIR}{namespace}/{instance}/")
}

/// One of the instance's pods, alone (next to its logs).
pub fn pod_object(pod: &str) -> String {
    format!("pods/{pod}/pod.yaml")
}

/// One of KUDO's pods, alone.
pub fn kudo_pod_object(pod: &str) -> String {
    format!("kudo/pods/{pod}/pod.yaml")
}

/// A container's log before its last restart.
pub fn previous_log(pod: &str, container: &str) -> String {
    format!("pods/{pod}/logs/{container}.previous.log")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::builtin::BUILTINS;

    /// Every `output` and `outputEach` of the built-in pipelines, with each `{{...}}` or `{...}`
    /// placeholder as `*`.
    fn pipeline_outputs() -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        match (Some(k.as_str()), v.as_str()) {
                            (Some("output" | "outputEach"), Some(path)) => out.push(path.into()),
                            _ => walk(v, out),
                        }
                    }
                }
                serde_json::Value::Array(s) => s.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let placeholder = regex::Regex::new(r"\{\{[^}]*\}\}|\{[^}]*\}").unwrap();
        let mut out = Vec::new();
        for b in BUILTINS {
            let doc: serde_json::Value = crate::yaml::from_str(b.text).unwrap();
            walk(&doc, &mut out);
        }
        out.iter()
            .map(|p| placeholder.replace_all(p, "*").into_owned())
            .collect()
    }

    #[test]
    fn every_artifact_code_relies_on_is_written_by_a_builtin_pipeline() {
        let outputs = pipeline_outputs();
        assert!(outputs.len() > 40, "{outputs:?}");
        let exact = [
            INSTANCE.to_string(),
            PLAN_STATUS.into(),
            OPERATOR_VERSION.into(),
            CHILD_INSTANCES.into(),
            VERSIONS.into(),
            PODS.into(),
            EVENTS.into(),
            STATEFULSETS.into(),
            DEPLOYMENTS.into(),
            PERSISTENT_VOLUME_CLAIMS.into(),
            POD_DISRUPTION_BUDGETS.into(),
            KUDO_PODS.into(),
            KUDO_EVENTS.into(),
            CLUSTER_VERSION.into(),
            DISCOVERY.into(),
            NODES.into(),
            NODE_PODS.into(),
            KAFKA_TOPICS.into(),
            pod_object("*"),
            kudo_pod_object("*"),
            previous_log("*", "*"),
        ];
        for path in exact {
            assert!(
                outputs.contains(&path),
                "no built-in pipeline writes {path}"
            );
        }
        for dir in [CASSANDRA_DIR, ZOOKEEPER_DIR] {
            assert!(
                outputs.iter().any(|o| o.starts_with(dir)),
                "no built-in pipeline writes under {dir}"
            );
        }
    }

    #[test]
    fn no_builtin_pipeline_writes_over_the_writers_own_files() {
        let outputs = pipeline_outputs();
        for own in OWN_FILES {
            assert!(!outputs.iter().any(|o| o == own), "{own}");
        }
    }
}
