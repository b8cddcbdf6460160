//! What the operator will ask for: render the templates the deploy plan applies (plan ->
//! phases -> steps -> tasks -> resources) with the resolved parameters, parse the YAML
//! documents, and extract workloads, replicas, container requests and limits, PVCs, affinity,
//! node selectors, tolerations, and the kinds and namespaces created.
//!
//! Anything that cannot be known before install is listed in `Requirements::undetermined`
//! instead of being guessed (pipe-task outputs, replicas or sizes that are not numbers).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::gotmpl::{Template, Value};
use super::package::Package;
use super::params::Params;
use super::quantity;
use super::PreflightError;

/// Who and where the instance is.
#[derive(Debug, Clone)]
pub struct Target {
    pub instance: String,
    pub namespace: String,
}

/// One rendered object.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedObject {
    pub template: String,
    pub task: String,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// Where it goes: its own `metadata.namespace`, else the instance's (cluster-scoped kinds
    /// have none).
    pub namespace: Option<String>,
    #[serde(skip)]
    pub object: Json,
}

/// CPU and memory (and ephemeral storage) of one container or pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub cpu_milli: i64,
    pub memory_bytes: i64,
}

impl Resources {
    pub fn plus(self, o: Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli + o.cpu_milli,
            memory_bytes: self.memory_bytes + o.memory_bytes,
        }
    }
    pub fn max(self, o: Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli.max(o.cpu_milli),
            memory_bytes: self.memory_bytes.max(o.memory_bytes),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerReq {
    pub name: String,
    pub init: bool,
    pub image: String,
    /// `None` where the container sets none (a LimitRange default may apply).
    pub requests: Option<Resources>,
    pub limits: Option<Resources>,
    /// Which values the container sets (a request set through its limit counts as set).
    #[serde(skip)]
    pub set: SetValues,
}

/// A required pod anti-affinity (or affinity) term.
/// Which of a container's requests and limits are written (not defaulted to zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetValues {
    pub cpu_request: bool,
    pub memory_request: bool,
    pub cpu_limit: bool,
    pub memory_limit: bool,
}

impl ContainerReq {
    /// Whether both CPU and memory requests are set (directly or through limits).
    pub fn requests_cpu_and_memory(&self) -> bool {
        self.set.cpu_request && self.set.memory_request
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AffinityTerm {
    pub topology_key: String,
    #[serde(skip)]
    pub selector: Json,
    /// Whether it selects the workload's own pods (one replica per topology domain).
    pub selects_self: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpreadConstraint {
    pub topology_key: String,
    pub max_skew: i64,
    /// `whenUnsatisfiable: DoNotSchedule`.
    pub hard: bool,
    #[serde(skip)]
    pub selector: Json,
}

#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// The claim (or claim template) name; per replica for StatefulSets (`data-NAME-0`).
    pub name: String,
    pub workload: Option<String>,
    pub size_bytes: Option<i64>,
    pub size: String,
    /// `None`: the default storage class.
    pub storage_class: Option<String>,
}

/// A pod-creating object and what each of its pods needs.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub template: String,
    /// `None` when not known before install (a DaemonSet: one per node).
    pub replicas: Option<i64>,
    pub containers: Vec<ContainerReq>,
    /// What the scheduler reserves for one pod: max(sum of containers, largest init container).
    pub pod_requests: Resources,
    pub pod_limits: Resources,
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip)]
    pub tolerations: Vec<Json>,
    /// Required node affinity: terms (ORed) of match expressions (ANDed).
    #[serde(skip)]
    pub node_affinity: Vec<Vec<Json>>,
    pub anti_affinity: Vec<AffinityTerm>,
    pub spread: Vec<SpreadConstraint>,
    pub labels: BTreeMap<String, String>,
    pub claims: Vec<Claim>,
    #[serde(skip)]
    pub pod_spec: Json,
}

/// Everything preflight learns from the package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Requirements {
    pub objects: Vec<RenderedObject>,
    pub workloads: Vec<Workload>,
    /// Standalone PersistentVolumeClaims (claim templates are on their workload).
    pub claims: Vec<Claim>,
    /// `apiVersion kind` of everything created.
    pub kinds: BTreeSet<String>,
    /// Namespaces objects are created in, and Namespace objects created.
    pub namespaces: BTreeSet<String>,
    /// Values that could not be determined before install, with where they are used.
    pub undetermined: Vec<String>,
    /// Deploy-plan tasks that create nothing with these parameters.
    pub skipped_tasks: Vec<String>,
}

/// The `.` KUDO gives templates.
pub fn template_data(
    pkg: &Package,
    params: &Params,
    target: &Target,
    phase: &str,
    step: &str,
) -> Value {
    let mut m = BTreeMap::new();
    let s = |x: &str| Value::Str(x.to_string());
    m.insert("Name".into(), s(&target.instance));
    m.insert("Namespace".into(), s(&target.namespace));
    m.insert("OperatorName".into(), s(&pkg.name));
    m.insert(
        "OperatorVersion".into(),
        s(pkg.operator_version.as_deref().unwrap_or_default()),
    );
    m.insert(
        "AppVersion".into(),
        s(pkg.app_version.as_deref().unwrap_or_default()),
    );
    m.insert("PlanName".into(), s("deploy"));
    m.insert("PhaseName".into(), s(phase));
    m.insert("StepName".into(), s(step));
    m.insert("Params".into(), params.template_map());
    // Pipe-task outputs exist only once the pipe pod has run in the cluster.
    m.insert("Pipes".into(), Value::Unknown(".Pipes".into()));
    Value::Map(m)
}

/// Renders every template in the package (not only the deploy plan's), to prove it evaluates;
/// returns the rendered text per file.
pub fn render_all(
    pkg: &Package,
    params: &Params,
    target: &Target,
) -> Result<BTreeMap<String, String>, PreflightError> {
    let data = template_data(pkg, params, target, "", "");
    let mut out = BTreeMap::new();
    for (name, text) in &pkg.templates {
        let t = Template::parse(name, text)?;
        out.insert(name.clone(), t.render(&data)?.text);
    }
    Ok(out)
}

/// Renders what the deploy plan applies and extracts the requirements.
pub fn requirements(
    pkg: &Package,
    params: &Params,
    target: &Target,
) -> Result<Requirements, PreflightError> {
    let deploy = pkg.deploy_resources(|p| params.is_true(p))?;
    let mut req = Requirements {
        skipped_tasks: deploy.skipped,
        ..Default::default()
    };
    let mut seen = BTreeSet::new();
    for f in &deploy.files {
        // The same template applied twice (validation then cleanup) is one set of objects.
        if !seen.insert(f.file.clone()) {
            continue;
        }
        let text = &pkg.templates[&f.file];
        let data = template_data(pkg, params, target, &f.phase, &f.step);
        let rendered = Template::parse(&f.file, text)?.render(&data)?;
        for u in rendered.unknowns {
            let note = format!(
                "{u} in templates/{} (known only after the pipe task runs)",
                f.file
            );
            if !req.undetermined.contains(&note) {
                req.undetermined.push(note);
            }
        }
        for doc in split_documents(&rendered.text) {
            let y: serde_json::Value = crate::yaml::from_str(&doc).map_err(|e| {
                PreflightError::Render(format!(
                    "templates/{} does not render to valid YAML with these parameters: {e}; check the parameter values it uses",
                    f.file
                ))
            })?;
            if y.is_null() {
                continue;
            }
            let obj: Json = serde_json::to_value(&y)
                .map_err(|e| PreflightError::Render(format!("templates/{}: {e}", f.file)))?;
            let kind = obj["kind"].as_str().unwrap_or_default().to_string();
            if kind.is_empty() {
                return Err(PreflightError::Render(format!(
                    "templates/{} renders an object without `kind`; fix the template",
                    f.file
                )));
            }
            let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
            let mut name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if name.is_empty() && f.pipe {
                // KUDO names a pipe task's pod itself, after where it runs in the plan.
                name = format!(
                    "{}.deploy.{}.{}.{}",
                    target.instance, f.phase, f.step, f.task
                )
                .to_lowercase();
            }
            let namespace = if cluster_scoped(&kind) {
                None
            } else {
                Some(
                    obj["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or(&target.namespace)
                        .to_string(),
                )
            };
            if kind == "Namespace" {
                req.namespaces.insert(name.clone());
            }
            if let Some(ns) = &namespace {
                req.namespaces.insert(ns.clone());
            }
            req.kinds.insert(format!("{api_version} {kind}"));
            let ro = RenderedObject {
                template: f.file.clone(),
                task: f.task.clone(),
                api_version,
                kind,
                name,
                namespace,
                object: obj,
            };
            extract(&ro, &mut req);
            req.objects.push(ro);
        }
    }
    Ok(req)
}

/// Kinds that live outside namespaces (the ones operator packages create).
pub fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "PersistentVolume"
            | "StorageClass"
            | "CustomResourceDefinition"
            | "PriorityClass"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
    )
}

/// Splits a multi-document YAML stream at `---` lines.
fn split_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

fn str_map(v: &Json) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let s = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn extract(o: &RenderedObject, req: &mut Requirements) {
    let spec = &o.object["spec"];
    let ns = o.namespace.clone().unwrap_or_default();
    let (pod_template, replicas): (&Json, Option<Json>) = match o.kind.as_str() {
        "StatefulSet" | "Deployment" | "ReplicaSet" => (
            &spec["template"],
            Some(spec.get("replicas").cloned().unwrap_or(Json::from(1))),
        ),
        "Job" => (
            &spec["template"],
            Some(spec.get("parallelism").cloned().unwrap_or(Json::from(1))),
        ),
        "CronJob" => (
            &spec["jobTemplate"]["spec"]["template"],
            Some(Json::from(1)),
        ),
        "DaemonSet" => (&spec["template"], None),
        "Pod" => (&o.object, Some(Json::from(1))),
        "PersistentVolumeClaim" => {
            let c = claim(&o.name, None, spec, &o.template, req);
            req.claims.push(c);
            return;
        }
        _ => return,
    };
    let replicas = match replicas {
        None => {
            req.undetermined.push(format!(
                "{} {} runs one pod per node it targets; placed on each such node",
                o.kind, o.name
            ));
            None
        }
        Some(r) => match scalar_text(&r).and_then(|t| t.trim().parse::<i64>().ok()) {
            Some(n) => Some(n),
            None => {
                req.undetermined.push(format!(
                    "replicas of {} {} ({}) is not a number before install",
                    o.kind, o.name, r
                ));
                None
            }
        },
    };
    let pod_spec = &pod_template["spec"];
    let labels = str_map(&pod_template["metadata"]["labels"]);
    let mut containers = Vec::new();
    let mut sum = Resources::default();
    let mut init_max = Resources::default();
    let mut lim = Resources::default();
    for (list, init) in [("initContainers", true), ("containers", false)] {
        for c in pod_spec[list].as_array().into_iter().flatten() {
            let r = &c["resources"];
            let cpu_r = scalar_text(&r["requests"]["cpu"]);
            let mem_r = scalar_text(&r["requests"]["memory"]);
            let cpu_l = scalar_text(&r["limits"]["cpu"]);
            let mem_l = scalar_text(&r["limits"]["memory"]);
            let name = c["name"].as_str().unwrap_or_default().to_string();
            let mut parse = |what: &str, q: &Option<String>, cpu: bool| -> i64 {
                let Some(q) = q else { return 0 };
                let v = if cpu {
                    quantity::cpu_milli(q)
                } else {
                    quantity::bytes(q)
                };
                v.unwrap_or_else(|| {
                    req.undetermined.push(format!(
                        "{what} {q:?} of container {name} in {} {} is not a quantity; counted as 0",
                        o.kind, o.name
                    ));
                    0
                })
            };
            // Kubernetes defaults requests to limits when only limits are set.
            let requests = Resources {
                cpu_milli: parse("cpu request", &cpu_r.clone().or(cpu_l.clone()), true),
                memory_bytes: parse("memory request", &mem_r.clone().or(mem_l.clone()), false),
            };
            let limits = Resources {
                cpu_milli: parse("cpu limit", &cpu_l, true),
                memory_bytes: parse("memory limit", &mem_l, false),
            };
            if init {
                init_max = init_max.max(requests);
            } else {
                sum = sum.plus(requests);
                lim = lim.plus(limits);
            }
            let set = SetValues {
                cpu_request: cpu_r.is_some() || cpu_l.is_some(),
                memory_request: mem_r.is_some() || mem_l.is_some(),
                cpu_limit: cpu_l.is_some(),
                memory_limit: mem_l.is_some(),
            };
            containers.push(ContainerReq {
                name,
                init,
                image: c["image"].as_str().unwrap_or_default().to_string(),
                requests: (set.cpu_request || set.memory_request).then_some(requests),
                limits: (set.cpu_limit || set.memory_limit).then_some(limits),
                set,
            });
        }
    }
    let affinity = &pod_spec["affinity"];
    let node_affinity = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            t["matchExpressions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let anti_affinity = affinity["podAntiAffinity"]
        ["requiredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| AffinityTerm {
            topology_key: t["topologyKey"].as_str().unwrap_or_default().to_string(),
            selects_self: super::placement::selector_matches(&t["labelSelector"], &labels),
            selector: t["labelSelector"].clone(),
        })
        .collect();
    let spread = pod_spec["topologySpreadConstraints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| SpreadConstraint {
            topology_key: t["topologyKey"].as_str().unwrap_or_default().to_string(),
            max_skew: scalar_text(&t["maxSkew"])
                .and_then(|m| m.trim().parse().ok())
                .unwrap_or(1),
            hard: t["whenUnsatisfiable"].as_str() != Some("ScheduleAnyway"),
            selector: t["labelSelector"].clone(),
        })
        .collect();
    let mut claims = Vec::new();
    if o.kind == "StatefulSet" {
        for t in spec["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let tname = t["metadata"]["name"].as_str().unwrap_or_default();
            claims.push(claim(tname, Some(&o.name), &t["spec"], &o.template, req));
        }
    }
    req.workloads.push(Workload {
        kind: o.kind.clone(),
        name: o.name.clone(),
        namespace: ns,
        template: o.template.clone(),
        replicas,
        containers,
        pod_requests: sum.max(init_max),
        pod_limits: lim,
        node_selector: str_map(&pod_spec["nodeSelector"]),
        tolerations: pod_spec["tolerations"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        node_affinity,
        anti_affinity,
        spread,
        labels,
        claims,
        pod_spec: pod_spec.clone(),
    });
}

fn claim(
    name: &str,
    workload: Option<&str>,
    spec: &Json,
    template: &str,
    req: &mut Requirements,
) -> Claim {
    let size = scalar_text(&spec["resources"]["requests"]["storage"]).unwrap_or_default();
    let size_bytes = quantity::bytes(&size);
    if size_bytes.is_none() {
        req.undetermined.push(format!(
            "storage size {size:?} of claim {name} in templates/{template} is not a quantity"
        ));
    }
    Claim {
        name: name.to_string(),
        workload: workload.map(str::to_string),
        size_bytes,
        size,
        storage_class: spec["storageClassName"].as_str().map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::{ParamInputs, Params};

    fn operators_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/preflight/operators")
    }

    fn target() -> Target {
        Target {
            instance: "inst".into(),
            namespace: "ns".into(),
        }
    }

    /// Every real package evaluates with its defaults: all its templates, and the deploy plan's
    /// objects parse as YAML with a kind.
    #[test]
    fn every_fixture_package_evaluates_with_its_defaults() {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(operators_dir()).unwrap() {
            let dir = entry.unwrap().path();
            let pkg = Package::load_path(&dir).unwrap();
            let params = Params::resolve(&pkg, &ParamInputs::default())
                .unwrap_or_else(|e| panic!("{}: {e:?}", pkg.name));
            let all = render_all(&pkg, &params, &target())
                .unwrap_or_else(|e| panic!("{}: {e}", pkg.name));
            assert_eq!(all.len(), pkg.templates.len());
            let req = requirements(&pkg, &params, &target())
                .unwrap_or_else(|e| panic!("{}: {e}", pkg.name));
            assert!(
                !req.objects.is_empty(),
                "{}: the deploy plan creates nothing",
                pkg.name
            );
            assert!(!req.workloads.is_empty(), "{}: no workload found", pkg.name);
            for o in &req.objects {
                assert!(
                    !o.name.is_empty(),
                    "{}: {} in {} has no name",
                    pkg.name,
                    o.kind,
                    o.template
                );
            }
            names.push(pkg.name);
        }
        names.sort();
        assert_eq!(
            names,
            [
                "cassandra",
                "elastic",
                "first-operator",
                "flink",
                "kafka",
                "mysql",
                "rabbitmq",
                "redis",
                "zookeeper"
            ]
        );
    }

    #[test]
    fn cassandra_defaults_ask_for_three_nodes_with_their_requests_and_volumes() {
        let pkg = Package::load_path(&operators_dir().join("cassandra")).unwrap();
        let params = Params::resolve(&pkg, &ParamInputs::default()).unwrap();
        let req = requirements(&pkg, &params, &target()).unwrap();
        let sts = req
            .workloads
            .iter()
            .find(|w| w.kind == "StatefulSet")
            .unwrap();
        assert_eq!(sts.name, "inst-node");
        assert_eq!(sts.replicas, Some(3));
        assert_eq!(sts.pod_requests.cpu_milli, 1000);
        assert_eq!(sts.pod_requests.memory_bytes, 4096 << 20);
        assert!(sts.anti_affinity.iter().all(|t| t.selects_self));
        assert_eq!(sts.claims.len(), 1);
        assert!(sts.claims[0].size_bytes.is_some());
        assert!(req.kinds.contains("apps/v1 StatefulSet"));
        assert!(req.namespaces.contains("ns"));
        // Toggle tasks whose parameter is false create nothing.
        assert!(
            req.skipped_tasks
                .iter()
                .any(|t| t.contains("BACKUP_RESTORE_ENABLED")),
            "{:?}",
            req.skipped_tasks
        );
        // With a topology, one StatefulSet per datacenter.
        let mut i = ParamInputs::default();
        i.cli.push("NODE_TOPOLOGY=[{datacenter: dc1, nodes: 2, rackLabelKey: rack, racks: [{rack: r1, rackLabelValue: a}]}, {datacenter: dc2, nodes: 4, rackLabelKey: rack, racks: []}]".into());
        let params = Params::resolve(&pkg, &i).unwrap();
        let req = requirements(&pkg, &params, &target()).unwrap();
        let r: Vec<(String, Option<i64>)> = req
            .workloads
            .iter()
            .filter(|w| w.kind == "StatefulSet")
            .map(|w| (w.name.clone(), w.replicas))
            .collect();
        assert_eq!(
            r,
            vec![
                ("inst-dc1-node".to_string(), Some(2)),
                ("inst-dc2-node".to_string(), Some(4))
            ]
        );
    }

    #[test]
    fn kafka_pipe_outputs_are_reported_as_undetermined() {
        let pkg = Package::load_path(&operators_dir().join("kafka")).unwrap();
        let mut i = ParamInputs::default();
        i.cli.push("TRANSPORT_ENCRYPTION_ENABLED=true".into());
        i.cli.push("USE_AUTO_TLS_CERTIFICATE=true".into());
        let params = Params::resolve(&pkg, &i).unwrap();
        let req = requirements(&pkg, &params, &target()).unwrap();
        assert!(
            req.undetermined.iter().any(|u| u.contains(".Pipes.")),
            "{:?}",
            req.undetermined
        );
    }

    #[test]
    fn documents_split_at_separator_lines_only() {
        let d = split_documents("---\na: 1\n---\n\n---\nb: '---'\n");
        assert_eq!(d, vec!["a: 1\n".to_string(), "b: '---'\n".to_string()]);
    }
}
