//! Scheduled collection inside the cluster: the objects `kudo-diag cron manifest` prints.
//!
//! The RBAC is derived from the pipelines, never written by hand: every `k8s.get`/`k8s.list`
//! task grants `get`/`list` on its resource (and `get` on the objects it reaches through
//! `nameFrom`, `ownersOf`, `ownedBy`), `k8s.logs` grants `get` on `pods/log`, `k8s.exec` grants
//! `create` on `pods/exec` (only if the pipelines have exec tasks), `k8s.proxy` grants `get` on
//! `services/proxy` or `pods/proxy`, and the KUDO kinds grant what they read. Rules are grouped
//! by where they apply: a Role in the instance's namespace, a Role in KUDO's namespace, and a
//! ClusterRole for cluster-scoped resources. Nothing writes: the only non-read verb is exec's
//! `create`, which the API server requires to open an exec stream.
//!
//! The CronJob runs `kudo-diag run` with in-cluster configuration (the pod's service-account
//! token and CA), `concurrencyPolicy: Forbid` so a slow collection never overlaps the next,
//! `startingDeadlineSeconds` so missed runs are not piled up after an outage, and
//! `activeDeadlineSeconds` so a stuck collection is ended.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::collect::resources;
use crate::pipeline::{PipelineDoc, TaskSpec};

/// Errors building the manifest.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    #[error("unknown pipeline {0:?}: name a built-in pipeline (kudo, cassandra, kafka, zookeeper, elastic) or a pipeline file")]
    UnknownPipeline(String),
    #[error("cannot read pipeline {name}: {why}; fix the file or name a built-in pipeline")]
    BadPipeline { name: String, why: String },
    #[error("invalid {what} {value:?}: {why}")]
    Invalid {
        what: &'static str,
        value: String,
        why: &'static str,
    },
}

/// Everything the manifest is made from.
#[derive(Debug, Clone)]
pub struct CronSpec {
    pub instance: String,
    pub namespace: String,
    /// Where KUDO's manager runs (`kudoNamespace` in the pipelines).
    pub kudo_namespace: String,
    pub schedule: String,
    /// Built-in pipeline names or pipeline files (`kudo` when empty).
    pub pipelines: Vec<String>,
    pub image: String,
    pub upload: Option<String>,
    pub keep: Option<usize>,
    /// A PersistentVolumeClaim for the bundles (else an emptyDir: only --upload keeps them).
    pub volume_claim: Option<String>,
    /// A Secret with AWS_* variables for --upload (mounted as env, optional).
    pub s3_secret: Option<String>,
    pub starting_deadline_seconds: u64,
    pub active_deadline_seconds: u64,
}

/// Where a rule applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Namespace(String),
    Cluster,
}

/// (scope) -> (apiGroup, resource) -> verbs.
pub type Rules = BTreeMap<Scope, BTreeMap<(String, String), BTreeSet<&'static str>>>;

/// The tasks of the pipelines, each merged with the pipeline it extends (a task of the
/// extending pipeline replaces the base's task of the same name).
pub fn pipeline_tasks(names: &[String]) -> Result<Vec<TaskSpec>, CronError> {
    let names: Vec<String> = if names.is_empty() {
        vec!["kudo".into()]
    } else {
        names.to_vec()
    };
    let mut tasks: Vec<TaskSpec> = Vec::new();
    for name in &names {
        for t in merged(name, 0)? {
            match tasks.iter_mut().find(|b| b.name == t.name) {
                Some(slot) => *slot = t,
                None => tasks.push(t),
            }
        }
    }
    Ok(tasks)
}

fn merged(name: &str, depth: usize) -> Result<Vec<TaskSpec>, CronError> {
    if depth > 8 {
        return Err(CronError::BadPipeline {
            name: name.into(),
            why: "`extends` goes more than 8 levels deep (a cycle?)".into(),
        });
    }
    let text = match crate::pipeline::builtin::get(name) {
        Some(b) => b.text.to_string(),
        None if std::path::Path::new(name).is_file() => {
            std::fs::read_to_string(name).map_err(|e| CronError::BadPipeline {
                name: name.into(),
                why: e.to_string(),
            })?
        }
        None => return Err(CronError::UnknownPipeline(name.into())),
    };
    let doc: PipelineDoc = crate::yaml::from_str(&text).map_err(|e| CronError::BadPipeline {
        name: name.into(),
        why: e.to_string(),
    })?;
    let mut tasks = match &doc.spec.extends {
        Some(base) => merged(base, depth + 1)?,
        None => Vec::new(),
    };
    for t in doc.spec.tasks {
        match tasks.iter_mut().find(|b| b.name == t.name) {
            Some(slot) => *slot = t,
            None => tasks.push(t),
        }
    }
    Ok(tasks)
}

/// The read permissions the tasks need.
pub fn derive_rules(tasks: &[TaskSpec], namespace: &str, kudo_namespace: &str) -> Rules {
    let render = |s: &str| {
        s.replace("{{namespace}}", namespace)
            .replace("{{kudoNamespace}}", kudo_namespace)
            .replace("{{ namespace }}", namespace)
            .replace("{{ kudoNamespace }}", kudo_namespace)
    };
    // The namespace each task works in, for fan-outs that inherit their source's.
    let mut task_ns: BTreeMap<&str, String> = BTreeMap::new();
    for t in tasks {
        let ns = t
            .params
            .get("namespace")
            .and_then(Value::as_str)
            .map(render)
            .or_else(|| {
                t.for_each
                    .as_ref()
                    .and_then(|f| task_ns.get(f.task.as_str()).cloned())
            })
            .unwrap_or_else(|| namespace.to_string());
        task_ns.insert(t.name.as_str(), ns);
    }
    let mut rules = Rules::new();
    for t in tasks {
        let ns = task_ns[t.name.as_str()].clone();
        let p = &t.params;
        match t.kind.as_str() {
            "k8s.get" | "k8s.list" => {
                let verb = if t.kind == "k8s.get" { "get" } else { "list" };
                object(&mut rules, p, &ns, verb);
                for r in ["nameFrom", "ownersOf", "ownedBy"] {
                    if let Some(reference) = p.get(r) {
                        object(&mut rules, reference, &ns, "get");
                    }
                }
            }
            "k8s.logs" => {
                grant(&mut rules, Scope::Namespace(ns.clone()), "", "pods", "get");
                grant(&mut rules, Scope::Namespace(ns), "", "pods/log", "get");
            }
            "k8s.exec" => {
                grant(&mut rules, Scope::Namespace(ns.clone()), "", "pods", "get");
                grant(&mut rules, Scope::Namespace(ns), "", "pods/exec", "create");
            }
            "k8s.proxy" => {
                let sub = if p.get("service").is_some() {
                    "services/proxy"
                } else {
                    "pods/proxy"
                };
                grant(&mut rules, Scope::Namespace(ns), "", sub, "get");
            }
            "kudo.planstatus" => {
                grant(
                    &mut rules,
                    Scope::Namespace(ns.clone()),
                    "kudo.dev",
                    "instances",
                    "get",
                );
                grant(
                    &mut rules,
                    Scope::Namespace(ns),
                    "kudo.dev",
                    "operatorversions",
                    "get",
                );
            }
            "kudo.versions" => {
                for r in ["instances", "operatorversions", "operators"] {
                    grant(
                        &mut rules,
                        Scope::Namespace(ns.clone()),
                        "kudo.dev",
                        r,
                        "get",
                    );
                }
                grant(&mut rules, Scope::Namespace(ns.clone()), "", "pods", "list");
                grant(
                    &mut rules,
                    Scope::Namespace(kudo_namespace.to_string()),
                    "",
                    "pods",
                    "list",
                );
            }
            // `/version` is readable by every authenticated user (system:public-info-viewer);
            // synthetic kinds touch no API.
            _ => {}
        }
    }
    rules
}

/// What `run` reads to find the instance's dependencies (`collect::dependencies`), in the
/// instance's namespace: Instances (parent, children, siblings) and their OperatorVersions,
/// the Services its parameters name, the pods behind them and the workloads that own those
/// pods. Dependencies in the same namespace are then collected with the Role above; one in
/// another namespace needs its own grants (without them its reads are recorded as forbidden).
fn grant_dependency_walk(rules: &mut Rules, namespace: &str) {
    let ns = || Scope::Namespace(namespace.to_string());
    grant(rules, ns(), "kudo.dev", "instances", "get");
    grant(rules, ns(), "kudo.dev", "instances", "list");
    grant(rules, ns(), "kudo.dev", "operatorversions", "get");
    grant(rules, ns(), "", "services", "get");
    grant(rules, ns(), "", "pods", "list");
    for owner in ["statefulsets", "deployments", "replicasets", "daemonsets"] {
        grant(rules, ns(), "apps", owner, "get");
    }
}

fn grant(rules: &mut Rules, scope: Scope, group: &str, resource: &str, verb: &'static str) {
    rules
        .entry(scope)
        .or_default()
        .entry((group.to_string(), resource.to_string()))
        .or_default()
        .insert(verb);
}

/// Grants `verb` on the resource named by apiVersion + kind (or resource), in namespace `ns`
/// when it is namespaced, else cluster-wide.
fn object(rules: &mut Rules, p: &Value, ns: &str, verb: &'static str) {
    let api_version = p.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
    let kind = p.get("kind").and_then(Value::as_str);
    let resource = p.get("resource").and_then(Value::as_str);
    let (group, _) = resources::split_api_version(api_version);
    match resources::lookup(api_version, kind, resource) {
        Some(r) => {
            let scope = if r.namespaced {
                Scope::Namespace(ns.to_string())
            } else {
                Scope::Cluster
            };
            grant(rules, scope, group, &r.resource.plural, verb);
        }
        None => {
            // Not in the static table: a custom resource, assumed namespaced. Its plural is the
            // resource param or the lowercased kind + "s" (the convention CRDs follow).
            let plural = resource
                .map(str::to_string)
                .or_else(|| kind.map(|k| format!("{}s", k.to_ascii_lowercase())))
                .unwrap_or_default();
            if !plural.is_empty() {
                grant(
                    rules,
                    Scope::Namespace(ns.to_string()),
                    group,
                    &plural,
                    verb,
                );
            }
        }
    }
}

/// True when the tasks include exec (and so the manifest grants `create` on `pods/exec`).
pub fn has_exec(tasks: &[TaskSpec]) -> bool {
    tasks.iter().any(|t| t.kind == "k8s.exec")
}

fn rule_list(rules: &BTreeMap<(String, String), BTreeSet<&'static str>>) -> Vec<Value> {
    // One rule per (group, verbs) with its resources, the way people write them.
    let mut grouped: BTreeMap<(String, Vec<&str>), Vec<String>> = BTreeMap::new();
    for ((group, resource), verbs) in rules {
        grouped
            .entry((group.clone(), verbs.iter().copied().collect()))
            .or_default()
            .push(resource.clone());
    }
    grouped
        .into_iter()
        .map(|((group, verbs), resources)| {
            json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
        })
        .collect()
}

/// A Kubernetes name: lowercase alphanumerics and '-', at most 63 characters.
fn check_name(what: &'static str, v: &str) -> Result<(), CronError> {
    let ok = !v.is_empty()
        && v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(CronError::Invalid {
            what,
            value: v.into(),
            why: "use a Kubernetes name: lowercase letters, digits and '-', at most 63 characters",
        })
    }
}

/// A cron schedule as the CronJob controller reads it: five fields, or a macro like @hourly.
fn check_schedule(s: &str) -> Result<(), CronError> {
    let bad = |why| CronError::Invalid {
        what: "schedule",
        value: s.into(),
        why,
    };
    let s = s.trim();
    if s.starts_with('@') {
        let macros = [
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ];
        return if macros.contains(&s) {
            Ok(())
        } else {
            Err(bad("use five cron fields such as \"0 * * * *\" or @hourly/@daily/@weekly/@monthly/@yearly"))
        };
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(bad(
            "a schedule has five fields (minute hour day-of-month month day-of-week), e.g. \"0 * * * *\"",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?');
    if fields.iter().any(|f| !f.chars().all(allowed)) {
        return Err(bad(
            "a field holds digits, names (JAN, MON), '*', ',', '-', '/' or '?'",
        ));
    }
    Ok(())
}

/// The flags `cron` takes, checked before anything is generated.
fn check_spec(spec: &CronSpec) -> Result<(), CronError> {
    check_name("instance", &spec.instance)?;
    check_name("namespace", &spec.namespace)?;
    check_name("KUDO namespace", &spec.kudo_namespace)?;
    check_schedule(&spec.schedule)?;
    if spec.keep == Some(0) {
        return Err(CronError::Invalid {
            what: "--keep",
            value: "0".into(),
            why: "keep at least 1 bundle",
        });
    }
    if let Some(u) = &spec.upload {
        crate::ship::upload::S3Url::parse(u).map_err(|_| CronError::Invalid {
            what: "--upload",
            value: u.clone(),
            why: "write it as s3://BUCKET or s3://BUCKET/PREFIX",
        })?;
    }
    Ok(())
}

/// The manifest objects, in the order to create them.
pub fn manifest_objects(spec: &CronSpec) -> Result<Vec<Value>, CronError> {
    check_spec(spec)?;
    let tasks = pipeline_tasks(&spec.pipelines)?;
    let mut rules = derive_rules(&tasks, &spec.namespace, &spec.kudo_namespace);
    grant_dependency_walk(&mut rules, &spec.namespace);
    let name = format!("kudo-diag-{}", spec.instance);
    let labels = json!({
        "app.kubernetes.io/name": "kudo-diag",
        "app.kubernetes.io/instance": spec.instance,
        "app.kubernetes.io/component": "scheduled-collection",
        "app.kubernetes.io/version": crate::VERSION,
    });
    let mut out = vec![json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": spec.namespace, "labels": labels},
    })];
    out.extend(rbac_objects(spec, &name, &labels, &rules));
    out.push(cron_job(spec, &name, &labels));
    Ok(out)
}

/// A Role and RoleBinding per namespace, and a ClusterRole and ClusterRoleBinding for
/// cluster-scoped reads, all bound to the ServiceAccount `name`.
fn rbac_objects(spec: &CronSpec, name: &str, labels: &Value, rules: &Rules) -> Vec<Value> {
    // A ClusterRole's name is cluster-wide: qualify it with the namespace.
    let cluster_name = format!("kudo-diag-{}-{}", spec.namespace, spec.instance);
    let subject = json!([{"kind": "ServiceAccount", "name": name, "namespace": spec.namespace}]);
    let mut out = Vec::new();
    for (scope, r) in rules {
        let (role, binding, role_name, namespace) = match scope {
            Scope::Namespace(ns) => ("Role", "RoleBinding", name, Some(ns)),
            Scope::Cluster => (
                "ClusterRole",
                "ClusterRoleBinding",
                cluster_name.as_str(),
                None,
            ),
        };
        let metadata = match namespace {
            Some(ns) => json!({"name": role_name, "namespace": ns, "labels": labels}),
            None => json!({"name": role_name, "labels": labels}),
        };
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": role,
            "metadata": metadata,
            "rules": rule_list(r),
        }));
        out.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": binding,
            "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role, "name": role_name},
            "subjects": subject,
        }));
    }
    out
}

/// The `kudo-diag run` command line the Job's container runs.
fn run_args(spec: &CronSpec) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--instance".into(),
        spec.instance.clone(),
        "--namespace".into(),
        spec.namespace.clone(),
    ];
    for p in &spec.pipelines {
        args.push("--pipeline".into());
        args.push(p.clone());
    }
    args.extend(["--bundle-dir".into(), "/bundles".into()]);
    args.extend(["--progress".into(), "plain".into()]);
    if let Some(k) = spec.keep {
        args.extend(["--keep".into(), k.to_string()]);
    }
    if let Some(u) = &spec.upload {
        args.extend(["--upload".into(), u.clone()]);
    }
    args
}

/// The Job's one container: non-root, read-only, bundles on the `bundles` volume.
fn container(spec: &CronSpec) -> Value {
    let mut container = json!({
        "name": "kudo-diag",
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "args": run_args(spec),
        // A restarted Job pod finds the partial collection on a persistent volume and resumes.
        "env": [
            {"name": "NO_COLOR", "value": "1"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "volumeMounts": [
            {"name": "bundles", "mountPath": "/bundles"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
        },
    });
    if spec.upload.is_some() {
        let secret = spec
            .s3_secret
            .clone()
            .unwrap_or_else(|| "kudo-diag-s3".into());
        container["envFrom"] = json!([{"secretRef": {"name": secret, "optional": true}}]);
    }
    container
}

/// The CronJob, running as the ServiceAccount `name`.
fn cron_job(spec: &CronSpec, name: &str, labels: &Value) -> Value {
    let bundles = match &spec.volume_claim {
        Some(c) => json!({"name": "bundles", "persistentVolumeClaim": {"claimName": c}}),
        None => json!({"name": "bundles", "emptyDir": {}}),
    };
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "schedule": spec.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": spec.starting_deadline_seconds,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "activeDeadlineSeconds": spec.active_deadline_seconds,
                    "backoffLimit": 1,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": name,
                            "automountServiceAccountToken": true,
                            "restartPolicy": "Never",
                            "securityContext": {
                                "runAsNonRoot": true,
                                "runAsUser": 65532,
                                "runAsGroup": 65532,
                                "fsGroup": 65532,
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "containers": [container(spec)],
                            "volumes": [bundles, {"name": "tmp", "emptyDir": {}}],
                        },
                    },
                },
            },
        },
    })
}

/// The objects as one multi-document YAML stream.
pub fn manifest_yaml(spec: &CronSpec) -> Result<String, CronError> {
    let objects = manifest_objects(spec)?;
    let mut out = format!(
        "# kudo-diag {} scheduled collection of instance {} in namespace {}\n# permissions derived from pipelines: {}\n",
        crate::VERSION,
        spec.instance,
        spec.namespace,
        if spec.pipelines.is_empty() {
            "kudo".to_string()
        } else {
            spec.pipelines.join(", ")
        }
    );
    for o in objects {
        out.push_str("---\n");
        out.push_str(&crate::yaml::to_string(&o).expect("manifest serializes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pipelines: &[&str]) -> CronSpec {
        CronSpec {
            instance: "cassandra".into(),
            namespace: "prod".into(),
            kudo_namespace: "kudo-system".into(),
            schedule: "0 * * * *".into(),
            pipelines: pipelines.iter().map(|s| s.to_string()).collect(),
            image: "kudo-diag:test".into(),
            upload: None,
            keep: None,
            volume_claim: None,
            s3_secret: None,
            starting_deadline_seconds: 300,
            active_deadline_seconds: 3000,
        }
    }

    fn verbs<'a>(r: &'a Rules, scope: &Scope, group: &str, res: &str) -> Vec<&'a str> {
        r.get(scope)
            .and_then(|m| m.get(&(group.to_string(), res.to_string())))
            .map(|v| v.iter().copied().collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_dependency_walk_can_read_what_it_follows_and_nothing_more() {
        let mut r = Rules::new();
        grant_dependency_walk(&mut r, "prod");
        let prod = Scope::Namespace("prod".into());
        assert_eq!(verbs(&r, &prod, "", "services"), ["get"]);
        assert_eq!(verbs(&r, &prod, "apps", "statefulsets"), ["get"]);
        assert_eq!(verbs(&r, &prod, "kudo.dev", "instances"), ["get", "list"]);
        assert_eq!(r.len(), 1, "only the instance's namespace: {r:?}");
        let writes = ["create", "update", "patch", "delete"];
        assert!(r[&prod].values().flatten().all(|v| !writes.contains(v)));
    }

    #[test]
    fn base_pipeline_reads_only_and_has_no_exec() {
        let tasks = pipeline_tasks(&["kudo".into()]).unwrap();
        assert!(!has_exec(&tasks));
        let r = derive_rules(&tasks, "prod", "kudo-system");
        let prod = Scope::Namespace("prod".into());
        let kudo = Scope::Namespace("kudo-system".into());
        assert_eq!(verbs(&r, &prod, "", "pods/log"), ["get"]);
        assert!(verbs(&r, &prod, "", "pods").contains(&"list"));
        assert!(verbs(&r, &prod, "kudo.dev", "instances").contains(&"get"));
        assert!(verbs(&r, &kudo, "", "pods").contains(&"list"));
        assert!(verbs(&r, &kudo, "", "pods/log").contains(&"get"));
        assert!(verbs(&r, &Scope::Cluster, "", "nodes").contains(&"list"));
        assert!(verbs(
            &r,
            &Scope::Cluster,
            "apiextensions.k8s.io",
            "customresourcedefinitions"
        )
        .contains(&"get"));
        for scoped in r.values() {
            for ((_, res), v) in scoped {
                assert!(res != "pods/exec", "no exec without exec tasks");
                assert!(
                    v.iter().all(|v| ["get", "list"].contains(v)),
                    "{res}: {v:?} is more than read"
                );
            }
        }
    }

    #[test]
    fn exec_tasks_add_create_on_pods_exec_in_the_instance_namespace_only() {
        let tasks = pipeline_tasks(&["cassandra".into()]).unwrap();
        assert!(has_exec(&tasks));
        let r = derive_rules(&tasks, "prod", "kudo-system");
        assert_eq!(
            verbs(&r, &Scope::Namespace("prod".into()), "", "pods/exec"),
            ["create"]
        );
        assert!(verbs(&r, &Scope::Namespace("kudo-system".into()), "", "pods/exec").is_empty());
    }

    #[test]
    fn the_cronjob_forbids_overlap_and_has_deadlines() {
        let mut s = spec(&["cassandra"]);
        s.upload = Some("s3://bkt/diag".into());
        s.keep = Some(5);
        let objs = manifest_objects(&s).unwrap();
        let cj = objs.iter().find(|o| o["kind"] == "CronJob").unwrap();
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
        assert_eq!(cj["spec"]["startingDeadlineSeconds"], 300);
        assert_eq!(
            cj["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"],
            3000
        );
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "kudo-diag-cassandra");
        let args: Vec<&str> = pod["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(args.windows(2).any(|w| w == ["--upload", "s3://bkt/diag"]));
        assert!(args.windows(2).any(|w| w == ["--keep", "5"]));
        let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds[0], "ServiceAccount");
        assert!(kinds.contains(&"ClusterRole") && kinds.contains(&"ClusterRoleBinding"));
        assert_eq!(kinds.iter().filter(|k| **k == "Role").count(), 2);
    }

    #[test]
    fn bad_inputs_say_what_to_write() {
        let mut s = spec(&[]);
        s.schedule = "every hour".into();
        assert!(manifest_objects(&s)
            .unwrap_err()
            .to_string()
            .contains("five fields"));
        let mut s = spec(&["nosuch"]);
        s.schedule = "@hourly".into();
        assert!(manifest_objects(&s)
            .unwrap_err()
            .to_string()
            .contains("built-in pipeline"));
        let mut s = spec(&[]);
        s.instance = "Bad_Name".into();
        assert!(manifest_objects(&s)
            .unwrap_err()
            .to_string()
            .contains("Kubernetes name"));
    }
}
