//! The checks: pure functions of what the package asks for (`Requirements`), the package
//! itself, and what the cluster holds (`ClusterFacts`). Each returns a `Check` that passes,
//! warns or fails with its reason and, unless it passes, a fix.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::cluster::{AccessNeed, ClusterFacts, KUDO_CRDS, KUDO_NAMESPACE};
use super::package::Package;
use super::placement::{self, NodeState, Placement};
use super::quantity::{self, fmt_bytes, fmt_cpu};
use super::render::{cluster_scoped, Requirements, Resources, Workload};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable identifier (`capacity.placement`), documented in docs/preflight.md.
    pub id: &'static str,
    pub status: Status,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Check {
    fn pass(id: &'static str, reason: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Pass,
            reason: reason.into(),
            fix: None,
            details: Vec::new(),
        }
    }
    fn warn(id: &'static str, reason: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Warn,
            reason: reason.into(),
            fix: Some(fix.into()),
            details: Vec::new(),
        }
    }
    fn fail(id: &'static str, reason: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Fail,
            reason: reason.into(),
            fix: Some(fix.into()),
            details: Vec::new(),
        }
    }
    fn with(mut self, details: Vec<String>) -> Check {
        self.details = details;
        self
    }
}

/// What was asked, for the checks that depend on the command line.
#[derive(Debug, Clone)]
pub struct Context {
    pub namespace: String,
    pub instance: String,
    /// The package's operator name.
    pub operator: String,
}

/// `group` and plural resource of a kind, for access reviews.
pub fn resource_of(api_version: &str, kind: &str) -> (String, String) {
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g.to_string())
        .unwrap_or_default();
    let known = match kind {
        "Endpoints" => Some("endpoints"),
        "NetworkPolicy" => Some("networkpolicies"),
        "PodSecurityPolicy" => Some("podsecuritypolicies"),
        "Ingress" => Some("ingresses"),
        "StorageClass" => Some("storageclasses"),
        "PriorityClass" => Some("priorityclasses"),
        _ => None,
    };
    let plural = known.map(str::to_string).unwrap_or_else(|| {
        let k = kind.to_lowercase();
        if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
            format!("{k}es")
        } else if let Some(stem) = k
            .strip_suffix('y')
            .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
        {
            format!("{stem}ies")
        } else {
            format!("{k}s")
        }
    });
    (group, plural)
}

/// The accesses to review: KUDO's own objects (required to install), and the kinds the
/// operator creates (KUDO's manager creates those with its own service account; the user needs
/// them only to inspect and diagnose, so a denial warns).
pub fn access_needs(req: &Requirements) -> Vec<AccessNeed> {
    let mut out = Vec::new();
    for (res, verbs) in [
        ("operators", &["get", "list", "create"][..]),
        ("operatorversions", &["get", "list", "create"][..]),
        ("instances", &["get", "list", "create", "update"][..]),
    ] {
        for v in verbs {
            out.push(AccessNeed {
                verb: v.to_string(),
                group: "kudo.dev".into(),
                resource: res.into(),
                namespaced: true,
                for_what: "install".into(),
                required: true,
            });
        }
    }
    let mut seen = BTreeSet::new();
    for o in &req.objects {
        let (group, resource) = resource_of(&o.api_version, &o.kind);
        if !seen.insert((group.clone(), resource.clone())) {
            continue;
        }
        for v in ["get", "list"] {
            out.push(AccessNeed {
                verb: v.into(),
                group: group.clone(),
                resource: resource.clone(),
                namespaced: !cluster_scoped(&o.kind),
                for_what: o.kind.clone(),
                required: false,
            });
        }
    }
    out
}

/// All checks, in report order.
pub fn run_all(
    pkg: &Package,
    req: &Requirements,
    facts: &ClusterFacts,
    ctx: &Context,
) -> (Vec<Check>, Placement) {
    let mut checks = package_checks(req);
    checks.push(kubernetes_version(pkg, facts));
    checks.push(api_versions(req, facts));
    checks.push(kudo_crds(facts));
    let (manager, manager_version) = kudo_manager(facts);
    checks.push(manager);
    checks.push(kudo_webhook(facts));
    checks.push(kudo_version(pkg, manager_version.as_deref()));
    checks.push(operator_version_installed(pkg, facts));
    checks.push(instance_exists(pkg, facts, ctx));
    checks.push(namespace_exists(facts, ctx));
    let (cap, placement) = capacity(req, facts, ctx);
    checks.push(cap);
    checks.push(storage(pkg, req, facts));
    checks.push(quota(req, facts));
    checks.push(limit_range(req, facts));
    checks.push(rbac(facts));
    checks.push(pod_security(req, facts, ctx));
    (checks, placement)
}

/// The checks that need no cluster.
pub fn package_checks(req: &Requirements) -> Vec<Check> {
    vec![render_check(req), resources_valid(req)]
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn render_check(req: &Requirements) -> Check {
    let replicas: i64 = req.workloads.iter().filter_map(|w| w.replicas).sum();
    let reason = format!(
        "the deploy plan renders {}: {} with {}",
        plural(req.objects.len(), "object", "objects"),
        plural(req.workloads.len(), "workload", "workloads"),
        plural(replicas.max(0) as usize, "pod", "pods")
    );
    if req.undetermined.is_empty() {
        Check::pass("package.render", reason)
    } else {
        Check::warn(
            "package.render",
            format!(
                "{reason}; {} values cannot be determined before install",
                req.undetermined.len()
            ),
            "nothing to fix in most cases: the checks below leave these values out",
        )
        .with(req.undetermined.clone())
    }
}

/// Requests above limits: the API server rejects such pods.
fn resources_valid(req: &Requirements) -> Check {
    const ID: &str = "package.resources";
    let mut problems = Vec::new();
    for w in &req.workloads {
        for c in &w.containers {
            let (Some(r), Some(l)) = (c.requests, c.limits) else {
                continue;
            };
            if c.set.cpu_limit && r.cpu_milli > l.cpu_milli {
                problems.push(format!(
                    "{} {}/{}: cpu request {} is above its limit {}",
                    w.kind,
                    w.name,
                    c.name,
                    fmt_cpu(r.cpu_milli),
                    fmt_cpu(l.cpu_milli)
                ));
            }
            if c.set.memory_limit && r.memory_bytes > l.memory_bytes {
                problems.push(format!(
                    "{} {}/{}: memory request {} is above its limit {}",
                    w.kind,
                    w.name,
                    c.name,
                    fmt_bytes(r.memory_bytes),
                    fmt_bytes(l.memory_bytes)
                ));
            }
        }
    }
    let without: Vec<String> = req
        .workloads
        .iter()
        .flat_map(|w| {
            w.containers
                .iter()
                .filter(|c| !c.init && !c.requests_cpu_and_memory())
                .map(move |c| format!("{} {}/{}", w.kind, w.name, c.name))
        })
        .collect();
    if problems.is_empty() && !without.is_empty() {
        return Check::warn(
            ID,
            format!(
                "{} without CPU or memory requests: the scheduler reserves nothing for them, so capacity is counted without them",
                plural(without.len(), "container runs", "containers run")
            ),
            "nothing blocks the install; set requests (the package's resource parameters, or a LimitRange default) for a capacity check that means something",
        )
        .with(without);
    }
    if problems.is_empty() {
        Check::pass(ID, "every container's requests are within its limits")
    } else {
        Check::fail(
            ID,
            format!("the API server would reject the pods: {}", problems[0]),
            "raise the limit parameter with the request (for example both NODE_MEM_MIB and NODE_MEM_LIMIT_MIB)",
        )
        .with(problems)
    }
}

/// Every apiVersion and kind the operator creates is served (policy/v1beta1 and
/// rbac.authorization.k8s.io/v1beta1 are gone from current Kubernetes).
fn api_versions(req: &Requirements, facts: &ClusterFacts) -> Check {
    const ID: &str = "kubernetes.api";
    let mut missing = BTreeSet::new();
    let mut unknown = Vec::new();
    for o in &req.objects {
        match facts.served.get(&o.api_version) {
            Some(Ok(Some(kinds))) if kinds.contains(&o.kind) => {}
            Some(Ok(_)) => {
                missing.insert(format!("{} {}", o.api_version, o.kind));
            }
            Some(Err(e)) => unknown.push(format!("{}: {e}", o.api_version)),
            None => {}
        }
    }
    if !missing.is_empty() {
        let have = facts.server_version.as_deref().unwrap_or("this version");
        let m: Vec<String> = missing.into_iter().collect();
        return Check::fail(
            ID,
            format!("the cluster ({have}) does not serve {}: applying them fails", m.join(", ")),
            "use an operator version whose templates use the current API versions (policy/v1, rbac.authorization.k8s.io/v1), or install the CRDs that provide these kinds",
        )
        .with(m);
    }
    if !unknown.is_empty() {
        unknown.dedup();
        return Check::warn(
            ID,
            "could not read the API server's discovery",
            "check access to /apis",
        )
        .with(unknown);
    }
    Check::pass(
        ID,
        format!(
            "the cluster serves all {} kinds the operator creates",
            req.kinds.len()
        ),
    )
}

/// `v1.32.4-eks-1` -> (1, 32, 4).
pub fn semver(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim().trim_start_matches('v');
    let core = s.split(['-', '+']).next()?;
    let mut it = core.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it
        .next()
        .unwrap_or("0")
        .trim_end_matches('+')
        .parse()
        .ok()?;
    let patch = it.next().unwrap_or("0").parse().ok()?;
    Some((major, minor, patch))
}

fn kubernetes_version(pkg: &Package, facts: &ClusterFacts) -> Check {
    const ID: &str = "kubernetes.version";
    let have = match &facts.server_version {
        Ok(v) => v.clone(),
        Err(e) => {
            return Check::warn(
                ID,
                format!("could not read the server version: {e}"),
                "check access to /version",
            )
        }
    };
    let Some(want) = &pkg.kubernetes_version else {
        return Check::pass(
            ID,
            format!("the package names no Kubernetes version; the cluster runs {have}"),
        );
    };
    match (semver(want), semver(&have)) {
        (Some(w), Some(h)) if h >= w => Check::pass(ID, format!("the cluster runs {have}; the package needs {want} or newer")),
        (Some(_), Some(_)) => Check::fail(
            ID,
            format!("the cluster runs {have} but the package needs Kubernetes {want} or newer"),
            "upgrade the cluster or choose an operator version made for it",
        ),
        _ => Check::warn(
            ID,
            format!("could not compare the cluster's {have:?} with the package's kubernetesVersion {want:?}"),
            "check the versions by hand",
        ),
    }
}

fn kudo_crds(facts: &ClusterFacts) -> Check {
    const ID: &str = "kudo.crds";
    let mut missing = Vec::new();
    let mut details = Vec::new();
    let mut unreadable = Vec::new();
    for name in KUDO_CRDS {
        match facts.crds.get(name) {
            Some(Ok(Some(crd))) => {
                let versions: Vec<String> = crd["spec"]["versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| v["served"].as_bool() != Some(false))
                    .filter_map(|v| v["name"].as_str().map(str::to_string))
                    .collect();
                if !versions.iter().any(|v| v == "v1beta1") {
                    missing.push(format!(
                        "{name} (serves {}, not v1beta1)",
                        versions.join(", ")
                    ));
                }
                details.push(format!("{name}: {}", versions.join(", ")));
            }
            Some(Err(e)) => unreadable.push(format!("{name}: {e}")),
            _ => missing.push(name.to_string()),
        }
    }
    if !missing.is_empty() {
        return Check::fail(
            ID,
            format!("KUDO is not installed: missing CRD {}", missing.join(", ")),
            "install KUDO first: kubectl kudo init (or apply KUDO's CRDs and manager)",
        )
        .with(details);
    }
    if !unreadable.is_empty() {
        return Check::warn(
            ID,
            "could not read KUDO's CRDs",
            "allow get on customresourcedefinitions, or check by hand",
        )
        .with(unreadable);
    }
    Check::pass(ID, "KUDO's CRDs are installed (kudo.dev/v1beta1)").with(details)
}

fn is_ready(pod: &Json) -> bool {
    pod["status"]["phase"].as_str() == Some("Running")
        && pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn kudo_manager(facts: &ClusterFacts) -> (Check, Option<String>) {
    const ID: &str = "kudo.manager";
    let pods = match &facts.kudo_pods {
        Ok(p) => p,
        Err(e) => {
            return (
                Check::warn(
                    ID,
                    format!("could not list pods in {KUDO_NAMESPACE}: {e}"),
                    "allow list on pods in kudo-system",
                ),
                None,
            )
        }
    };
    let managers: Vec<&Json> = pods
        .iter()
        .filter(|p| {
            let l = &p["metadata"]["labels"];
            l["app"] == "kudo-manager" || l["control-plane"] == "controller-manager"
        })
        .collect();
    if managers.is_empty() {
        return (
            Check::fail(
                ID,
                format!("no KUDO manager pod in {KUDO_NAMESPACE}"),
                "install or repair KUDO: kubectl kudo init",
            ),
            None,
        );
    }
    let version = managers.iter().find_map(|p| {
        p["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str())
            .find(|i| i.contains("kudo") || i.contains("controller"))
            .and_then(|i| i.rsplit_once(':').map(|(_, t)| t.to_string()))
    });
    let names: Vec<String> = managers
        .iter()
        .map(|p| {
            format!(
                "{} ({}{})",
                p["metadata"]["name"].as_str().unwrap_or_default(),
                p["status"]["phase"].as_str().unwrap_or("Unknown"),
                if is_ready(p) {
                    ", ready"
                } else {
                    ", not ready"
                }
            )
        })
        .collect();
    let check = if managers.iter().any(|p| is_ready(p)) {
        Check::pass(
            ID,
            format!(
                "the KUDO manager is running and ready (version {})",
                version.as_deref().unwrap_or("unknown")
            ),
        )
    } else {
        Check::fail(
            ID,
            "the KUDO manager is not ready: nothing would act on the instance",
            "look at the manager: kubectl -n kudo-system describe pod, kubectl -n kudo-system logs",
        )
    };
    (check.with(names), version)
}

fn kudo_webhook(facts: &ClusterFacts) -> Check {
    const ID: &str = "kudo.webhook";
    let from_manager = || {
        facts
            .kudo_pods
            .as_ref()
            .ok()
            .into_iter()
            .flatten()
            .any(|p| {
                p["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| {
                        c["env"].as_array().into_iter().flatten().any(|e| {
                            e["name"] == "ENABLE_WEBHOOKS"
                                && e["value"].as_str().is_some_and(|v| v == "true")
                        })
                    })
            })
    };
    match &facts.webhooks {
        Ok(Some(list)) => {
            let kudo: Vec<String> = list
                .iter()
                .filter_map(|w| w["metadata"]["name"].as_str())
                .filter(|n| n.contains("kudo"))
                .map(str::to_string)
                .collect();
            if kudo.is_empty() {
                Check::warn(
                    ID,
                    "KUDO's instance admission webhook is not registered",
                    "reinstall KUDO with its webhook: kubectl kudo init --upgrade (plans may run concurrently without it)",
                )
            } else {
                Check::pass(ID, format!("KUDO's admission webhook is registered ({})", kudo.join(", ")))
            }
        }
        Ok(None) if from_manager() => Check::pass(
            ID,
            "the KUDO manager runs with its webhook enabled (ENABLE_WEBHOOKS=true); this API server does not serve webhook configurations",
        ),
        Ok(None) => Check::warn(
            ID,
            "could not find KUDO's admission webhook: the server does not serve webhook configurations and the manager does not enable it",
            "check the KUDO installation: kubectl kudo init --upgrade",
        ),
        Err(e) => Check::warn(
            ID,
            format!("could not list mutating webhook configurations: {e}"),
            "allow list on mutatingwebhookconfigurations, or check by hand",
        ),
    }
}

fn kudo_version(pkg: &Package, manager: Option<&str>) -> Check {
    const ID: &str = "kudo.version";
    let Some(want) = &pkg.kudo_version else {
        return Check::pass(ID, "the package names no KUDO version");
    };
    let Some(have) = manager else {
        return Check::warn(
            ID,
            format!("the package needs KUDO {want} or newer; the manager's version is unknown"),
            "check the manager's image tag: kubectl -n kudo-system get pods -o wide",
        );
    };
    match (semver(want), semver(have)) {
        (Some(w), Some(h)) if h >= w => Check::pass(
            ID,
            format!("KUDO {have} is installed; the package needs {want} or newer"),
        ),
        (Some(_), Some(_)) => Check::fail(
            ID,
            format!("KUDO {have} is installed but the package needs {want} or newer"),
            "upgrade KUDO: kubectl kudo init --upgrade, or use an older operator version",
        ),
        _ => Check::warn(
            ID,
            format!("could not compare KUDO {have:?} with the package's kudoVersion {want:?}"),
            "check the versions by hand",
        ),
    }
}

/// `kubectl kudo install` reuses an OperatorVersion of the same operator and version that is
/// already in the namespace: a package changed without bumping its version is not what runs.
fn operator_version_installed(pkg: &Package, facts: &ClusterFacts) -> Check {
    const ID: &str = "kudo.operatorversion";
    let version = pkg.operator_version.as_deref().unwrap_or_default();
    if pkg.source.starts_with("operatorversion ") {
        return Check::pass(ID, format!("using the installed {}", pkg.source));
    }
    let ovs = match &facts.operator_versions {
        Ok(o) => o,
        Err(e) => {
            return Check::warn(
                ID,
                format!("could not list operator versions: {e}"),
                "allow list on operatorversions.kudo.dev",
            )
        }
    };
    let same = ovs.iter().find(|o| {
        o["spec"]["operator"]["name"].as_str() == Some(pkg.name.as_str())
            && o["spec"]["version"].as_str() == Some(version)
    });
    let Some(ov) = same else {
        return Check::pass(
            ID,
            format!(
                "{} {version} is not installed in the namespace yet; the install adds it",
                pkg.name
            ),
        );
    };
    let name = ov["metadata"]["name"].as_str().unwrap_or_default();
    let installed: BTreeMap<String, String> = ov["spec"]["templates"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut differ: Vec<String> = pkg
        .templates
        .iter()
        .filter(|(k, v)| installed.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    differ.extend(
        installed
            .keys()
            .filter(|k| !pkg.templates.contains_key(*k))
            .cloned(),
    );
    if differ.is_empty() {
        Check::pass(
            ID,
            format!("operatorversion {name} is installed with the same templates"),
        )
    } else {
        Check::warn(
            ID,
            format!(
                "operatorversion {name} is already installed with other templates ({}); kubectl kudo install reuses it, so this package is not what would run",
                differ.join(", ")
            ),
            "bump operatorVersion in operator.yaml, or delete the installed OperatorVersion if nothing uses it",
        )
    }
}

/// The operator an Instance belongs to: its `kudo.dev/operator` label, which KUDO sets.
pub fn instance_operator(instance: &Json) -> Option<String> {
    instance["metadata"]["labels"]["kudo.dev/operator"]
        .as_str()
        .map(str::to_string)
}

fn instance_exists(pkg: &Package, facts: &ClusterFacts, ctx: &Context) -> Check {
    const ID: &str = "kudo.instance";
    if let Ok(Some(i)) = &facts.instance {
        if let Some(op) = instance_operator(i).filter(|op| *op != pkg.name) {
            return Check::fail(
                ID,
                format!(
                    "instance {} in {} belongs to operator {op}, not {}: the install would fail",
                    ctx.instance, ctx.namespace, pkg.name
                ),
                "choose another --instance name",
            );
        }
    }
    match &facts.instance {
        Ok(None) => Check::pass(
            ID,
            format!(
                "no instance named {} in {} yet",
                ctx.instance, ctx.namespace
            ),
        ),
        Ok(Some(i)) => {
            let ov = i["spec"]["operatorVersion"]["name"]
                .as_str()
                .unwrap_or("unknown");
            Check::warn(
                ID,
                format!(
                    "instance {} already exists in {} (operator version {ov}): installing under this name fails; the checks treated these parameters as an update of it (its own pods, labelled kudo.dev/instance, make room for their replacements)",
                    ctx.instance, ctx.namespace
                ),
                "choose another --instance name to install a second one, or update it: kubectl kudo update --instance NAME -p ...",
            )
        }
        Err(e) => Check::warn(
            ID,
            format!("could not read instances: {e}"),
            "allow get on instances.kudo.dev",
        ),
    }
}

fn namespace_exists(facts: &ClusterFacts, ctx: &Context) -> Check {
    const ID: &str = "namespace";
    match &facts.namespace {
        Ok(Some(_)) => Check::pass(ID, format!("namespace {} exists", ctx.namespace)),
        Ok(None) => Check::warn(
            ID,
            format!("namespace {} does not exist", ctx.namespace),
            format!(
                "create it first: kubectl create namespace {}",
                ctx.namespace
            ),
        ),
        Err(e) => Check::warn(
            ID,
            format!("could not read namespace {}: {e}", ctx.namespace),
            "allow get on namespaces",
        ),
    }
}

fn labels_of(v: &Json) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// What the scheduler reserves for a running pod.
pub fn pod_requests(pod: &Json) -> Resources {
    let sum_of = |list: &str| {
        pod["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let r = &c["resources"];
                let q = |k: &str| {
                    r["requests"][k]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| r["requests"][k].as_i64().map(|n| n.to_string()))
                        .or_else(|| r["limits"][k].as_str().map(str::to_string))
                };
                Resources {
                    cpu_milli: q("cpu").and_then(|s| quantity::cpu_milli(&s)).unwrap_or(0),
                    memory_bytes: q("memory").and_then(|s| quantity::bytes(&s)).unwrap_or(0),
                }
            })
            .collect::<Vec<_>>()
    };
    let main = sum_of("containers")
        .into_iter()
        .fold(Resources::default(), Resources::plus);
    let init = sum_of("initContainers")
        .into_iter()
        .fold(Resources::default(), Resources::max);
    main.max(init)
}

/// Nodes as the scheduler sees them, with the requests of the pods already bound.
pub fn node_states(nodes: &[Json], pods: &[Json]) -> Vec<NodeState> {
    let mut out: Vec<NodeState> = nodes
        .iter()
        .map(|n| {
            let a = &n["status"]["allocatable"];
            let q = |k: &str| {
                a[k].as_str()
                    .map(str::to_string)
                    .or_else(|| a[k].as_i64().map(|x| x.to_string()))
            };
            NodeState {
                name: n["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                labels: labels_of(&n["metadata"]["labels"]),
                taints: n["spec"]["taints"].as_array().cloned().unwrap_or_default(),
                allocatable: Resources {
                    cpu_milli: q("cpu").and_then(|s| quantity::cpu_milli(&s)).unwrap_or(0),
                    memory_bytes: q("memory").and_then(|s| quantity::bytes(&s)).unwrap_or(0),
                },
                max_pods: q("pods").and_then(|s| s.parse().ok()).unwrap_or(110),
                used: Resources::default(),
                pods: 0,
                unschedulable: n["spec"]["unschedulable"].as_bool().unwrap_or(false),
                // A node without conditions (a hand-written test object) counts as ready.
                ready: n["status"]["conditions"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
                    .is_none_or(|c| c["status"] == "True"),
                pod_labels: Vec::new(),
            }
        })
        .collect();
    for p in pods {
        let phase = p["status"]["phase"].as_str().unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        let Some(node) = p["spec"]["nodeName"].as_str() else {
            continue;
        };
        if let Some(n) = out.iter_mut().find(|n| n.name == node) {
            n.used = n.used.plus(pod_requests(p));
            n.pods += 1;
            n.pod_labels.push(labels_of(&p["metadata"]["labels"]));
        }
    }
    out
}

fn capacity(req: &Requirements, facts: &ClusterFacts, ctx: &Context) -> (Check, Placement) {
    const ID: &str = "capacity.placement";
    let nodes = match &facts.nodes {
        Ok(n) => n,
        Err(e) => {
            return (
                Check::warn(
                    ID,
                    format!("could not list nodes: {e}"),
                    "allow list on nodes (a cluster-wide read), or check capacity by hand",
                ),
                Placement::default(),
            )
        }
    };
    // An update replaces the instance's own pods: their requests and labels do not count.
    let updating = match &facts.instance {
        Ok(Some(i)) => instance_operator(i).is_none_or(|op| op == ctx.operator),
        _ => false,
    };
    let replaced = |p: &&Json| {
        updating
            && p["metadata"]["namespace"].as_str() == Some(ctx.namespace.as_str())
            && p["metadata"]["labels"]["kudo.dev/instance"].as_str() == Some(ctx.instance.as_str())
    };
    let (pods, pods_note): (Vec<Json>, Option<String>) = match &facts.pods {
        Ok(p) => (p.iter().filter(|p| !replaced(p)).cloned().collect(), None),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "could not list pods ({e}): nodes were taken as empty"
            )),
        ),
    };
    let states = node_states(nodes, &pods);
    let placement = placement::place(&req.workloads, states.clone());
    let mut details: Vec<String> = placement
        .unplaced
        .iter()
        .map(|u| u.reason.clone())
        .collect();
    details.extend(
        placement
            .placed
            .iter()
            .map(|p| format!("{} -> {}", p.pod, p.node)),
    );
    details.extend(pods_note.clone());
    let total = placement.placed.len() + placement.unplaced.len();
    let check = if !placement.unplaced.is_empty() {
        let pods: Vec<&str> = placement.unplaced.iter().map(|u| u.pod.as_str()).collect();
        Check::fail(
            ID,
            format!(
                "{} of {total} pods cannot be placed: {}",
                placement.unplaced.len(),
                pods.join(", ")
            ),
            "add or free nodes, lower the requests or replicas (see the package's parameters), or relax anti-affinity",
        )
    } else if let Some(n) = pods_note {
        Check::warn(
            ID,
            format!("all {total} pods fit on {} nodes, but {n}", states.len()),
            "allow list on pods across namespaces",
        )
    } else {
        let used: BTreeSet<&str> = placement.placed.iter().map(|p| p.node.as_str()).collect();
        Check::pass(
            ID,
            format!(
                "all {total} pods fit: placed on {} of {} nodes",
                used.len(),
                states.len()
            ),
        )
    };
    (check.with(details), placement)
}

/// Total claim storage per storage class name (`None`: the default class), counting one claim
/// per replica for claim templates.
fn claims_by_class(req: &Requirements) -> BTreeMap<Option<String>, (i64, Vec<String>)> {
    let mut out: BTreeMap<Option<String>, (i64, Vec<String>)> = BTreeMap::new();
    let mut add = |class: &Option<String>, bytes: i64, what: String| {
        let e = out.entry(class.clone()).or_default();
        e.0 += bytes;
        e.1.push(what);
    };
    for w in &req.workloads {
        let n = w.replicas.unwrap_or(1);
        for c in &w.claims {
            add(
                &c.storage_class,
                c.size_bytes.unwrap_or(0) * n,
                format!("{} x {} {} of {}", n, c.size, c.name, w.name),
            );
        }
    }
    for c in &req.claims {
        add(
            &c.storage_class,
            c.size_bytes.unwrap_or(0),
            format!("{} {}", c.size, c.name),
        );
    }
    out
}

fn is_default_class(sc: &Json) -> bool {
    let a = &sc["metadata"]["annotations"];
    a["storageclass.kubernetes.io/is-default-class"] == "true"
        || a["storageclass.beta.kubernetes.io/is-default-class"] == "true"
}

fn storage(pkg: &Package, req: &Requirements, facts: &ClusterFacts) -> Check {
    const ID: &str = "storage.class";
    let by_class = claims_by_class(req);
    if by_class.is_empty() {
        return Check::pass(ID, "the operator creates no persistent volume claims");
    }
    let classes = match &facts.storage_classes {
        Ok(c) => c,
        Err(e) => {
            return Check::warn(
                ID,
                format!("could not list storage classes: {e}"),
                "allow list on storageclasses, or check by hand",
            )
        }
    };
    let names: Vec<&str> = classes
        .iter()
        .filter_map(|c| c["metadata"]["name"].as_str())
        .collect();
    let default = classes
        .iter()
        .find(|c| is_default_class(c))
        .and_then(|c| c["metadata"]["name"].as_str());
    let class_param = pkg
        .parameters
        .iter()
        .find(|p| p.name.to_uppercase().contains("STORAGE_CLASS"))
        .map(|p| p.name.clone());
    let mut problems = Vec::new();
    let mut details = Vec::new();
    for (class, (bytes, claims)) in &by_class {
        let label = class.clone().unwrap_or_else(|| "(default)".into());
        details.push(format!(
            "{label}: {} in {}",
            fmt_bytes(*bytes),
            claims.join(", ")
        ));
        match class {
            Some(c) if names.contains(&c.as_str()) => {}
            Some(c) => problems.push(format!(
                "storage class {c} does not exist (the cluster has: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )),
            None if default.is_some() => {}
            None => problems.push(
                "the claims use the default storage class, and the cluster has none".to_string(),
            ),
        }
    }
    if problems.is_empty() {
        let reason = match default {
            Some(d) if by_class.contains_key(&None) => {
                format!("every claim's storage class exists (default: {d})")
            }
            _ => "every claim's storage class exists".to_string(),
        };
        Check::pass(ID, reason).with(details)
    } else {
        let fix = match class_param {
            Some(p) => format!("set -p {p}=CLASS to one of the existing classes, or create the class (or mark one default with the annotation storageclass.kubernetes.io/is-default-class=true)"),
            None => "create the storage class, or mark one default with the annotation storageclass.kubernetes.io/is-default-class=true".to_string(),
        };
        Check::fail(ID, problems.join("; "), fix).with(details)
    }
}

/// What the whole install asks for, for quotas.
#[derive(Debug, Default)]
struct Totals {
    pods: i64,
    requests: Resources,
    limits: Resources,
    claims: i64,
    storage: i64,
    containers_without_limits: Vec<String>,
}

fn totals(req: &Requirements) -> Totals {
    let mut t = Totals::default();
    for w in &req.workloads {
        let n = w.replicas.unwrap_or(0);
        t.pods += n;
        t.requests = t.requests.plus(Resources {
            cpu_milli: w.pod_requests.cpu_milli * n,
            memory_bytes: w.pod_requests.memory_bytes * n,
        });
        t.limits = t.limits.plus(Resources {
            cpu_milli: w.pod_limits.cpu_milli * n,
            memory_bytes: w.pod_limits.memory_bytes * n,
        });
        for c in &w.claims {
            t.claims += n;
            t.storage += c.size_bytes.unwrap_or(0) * n;
        }
        for c in w.containers.iter().filter(|c| !c.init) {
            if !(c.set.cpu_limit && c.set.memory_limit) {
                t.containers_without_limits
                    .push(format!("{}/{}", w.name, c.name));
            }
        }
    }
    for c in &req.claims {
        t.claims += 1;
        t.storage += c.size_bytes.unwrap_or(0);
    }
    t
}

fn quota(req: &Requirements, facts: &ClusterFacts) -> Check {
    const ID: &str = "quota";
    let quotas = match &facts.quotas {
        Ok(q) => q,
        Err(e) => {
            return Check::warn(
                ID,
                format!("could not list resource quotas: {e}"),
                "allow list on resourcequotas, or check by hand",
            )
        }
    };
    if quotas.is_empty() {
        return Check::pass(ID, "no ResourceQuota in the namespace");
    }
    let t = totals(req);
    let mut problems = Vec::new();
    let mut details = Vec::new();
    for q in quotas {
        let qname = q["metadata"]["name"].as_str().unwrap_or_default();
        let hard = q["spec"]["hard"].as_object().cloned().unwrap_or_default();
        let used = &q["status"]["used"];
        for (key, hard_v) in &hard {
            let hard_s = hard_v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| hard_v.to_string());
            let used_s = used[key]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| "0".into());
            let (need, cpu) = match key.as_str() {
                "pods" | "count/pods" => (t.pods, None),
                "requests.cpu" | "cpu" => (t.requests.cpu_milli, Some(true)),
                "requests.memory" | "memory" => (t.requests.memory_bytes, Some(false)),
                "limits.cpu" => (t.limits.cpu_milli, Some(true)),
                "limits.memory" => (t.limits.memory_bytes, Some(false)),
                "requests.storage" => (t.storage, Some(false)),
                "persistentvolumeclaims" | "count/persistentvolumeclaims" => (t.claims, None),
                _ => continue,
            };
            let parse = |s: &str| match cpu {
                Some(true) => quantity::cpu_milli(s),
                Some(false) => quantity::bytes(s),
                None => s.parse().ok(),
            };
            let (Some(h), Some(u)) = (parse(&hard_s), parse(&used_s)) else {
                continue;
            };
            let show = |v: i64| match cpu {
                Some(true) => fmt_cpu(v),
                Some(false) => fmt_bytes(v),
                None => v.to_string(),
            };
            details.push(format!(
                "{qname} {key}: needs {}, used {} of {}",
                show(need),
                show(u),
                show(h)
            ));
            if u + need > h {
                problems.push(format!(
                    "quota {qname} allows {key} {} but {} is used and the operator needs {}",
                    show(h),
                    show(u),
                    show(need)
                ));
            }
            if key.starts_with("limits.") && !t.containers_without_limits.is_empty() {
                problems.push(format!(
                    "quota {qname} tracks {key}, so every container needs a limit, and {} have none",
                    t.containers_without_limits.join(", ")
                ));
            }
        }
    }
    problems.dedup();
    if problems.is_empty() {
        Check::pass(
            ID,
            "the namespace's quotas leave room for the operator's pods and claims",
        )
        .with(details)
    } else {
        Check::fail(ID, problems.join("; "), "raise the quota (kubectl edit resourcequota), lower the operator's requests or replicas, or use another namespace").with(details)
    }
}

fn limit_range(req: &Requirements, facts: &ClusterFacts) -> Check {
    const ID: &str = "limit-range";
    let ranges = match &facts.limit_ranges {
        Ok(r) => r,
        Err(e) => {
            return Check::warn(
                ID,
                format!("could not list limit ranges: {e}"),
                "allow list on limitranges, or check by hand",
            )
        }
    };
    if ranges.is_empty() {
        return Check::pass(ID, "no LimitRange in the namespace");
    }
    let mut problems = Vec::new();
    for r in ranges {
        let rname = r["metadata"]["name"].as_str().unwrap_or_default();
        for item in r["spec"]["limits"].as_array().into_iter().flatten() {
            let item = LimitItem { range: rname, item };
            match item.item["type"].as_str().unwrap_or_default() {
                "Container" => item.check_containers(req, &mut problems),
                "PersistentVolumeClaim" => item.check_claims(req, &mut problems),
                _ => {}
            }
        }
    }
    if problems.is_empty() {
        Check::pass(
            ID,
            "the operator's containers and claims are within the namespace's limit ranges",
        )
    } else {
        Check::fail(
            ID,
            format!("{} requests or limits are outside the namespace's LimitRange: {}", problems.len(), problems[0]),
            "change the operator's resource parameters to fit, or ask for the LimitRange to be widened",
        )
        .with(problems)
    }
}

/// One entry of a LimitRange's `spec.limits`, and the LimitRange's name.
struct LimitItem<'a> {
    range: &'a str,
    item: &'a Json,
}

impl LimitItem<'_> {
    /// The `max` or `min` (`which`) of a resource, in millicores or bytes.
    fn bound(&self, which: &str, res: &str) -> Option<i64> {
        let v = &self.item[which][res];
        let s = v
            .as_str()
            .map(str::to_string)
            .or_else(|| v.as_i64().map(|n| n.to_string()))?;
        if res == "cpu" {
            quantity::cpu_milli(&s)
        } else {
            quantity::bytes(&s)
        }
    }

    /// Container requests and limits against max and min; only values the container sets
    /// (a LimitRange's defaults fit by construction).
    fn check_containers(&self, req: &Requirements, problems: &mut Vec<String>) {
        let rname = self.range;
        for w in &req.workloads {
            for c in &w.containers {
                for (res, req_v, lim_v, set_r, set_l) in [
                    (
                        "cpu",
                        c.requests.map(|r| r.cpu_milli),
                        c.limits.map(|l| l.cpu_milli),
                        c.set.cpu_request,
                        c.set.cpu_limit,
                    ),
                    (
                        "memory",
                        c.requests.map(|r| r.memory_bytes),
                        c.limits.map(|l| l.memory_bytes),
                        c.set.memory_request,
                        c.set.memory_limit,
                    ),
                ] {
                    let show = |v: i64| {
                        if res == "cpu" {
                            fmt_cpu(v)
                        } else {
                            fmt_bytes(v)
                        }
                    };
                    let who = format!("{}/{}", w.name, c.name);
                    let max = self.bound("max", res);
                    if let (Some(max), Some(l)) = (max, lim_v.filter(|_| set_l)) {
                        if l > max {
                            problems.push(format!(
                                "{who}: {res} limit {} is over {rname}'s max {}",
                                show(l),
                                show(max)
                            ));
                        }
                    }
                    let Some(v) = req_v.filter(|_| set_r) else {
                        continue;
                    };
                    if let Some(max) = max.filter(|m| v > *m) {
                        problems.push(format!(
                            "{who}: {res} request {} is over {rname}'s max {}",
                            show(v),
                            show(max)
                        ));
                    }
                    if let Some(min) = self.bound("min", res).filter(|m| v < *m) {
                        problems.push(format!(
                            "{who}: {res} request {} is under {rname}'s min {}",
                            show(v),
                            show(min)
                        ));
                    }
                }
            }
        }
    }

    /// Claim sizes (templates and standalone claims) against max and min storage.
    fn check_claims(&self, req: &Requirements, problems: &mut Vec<String>) {
        let rname = self.range;
        let all = req
            .workloads
            .iter()
            .flat_map(|w| w.claims.iter())
            .chain(req.claims.iter());
        for c in all {
            let Some(size) = c.size_bytes else { continue };
            if let Some(max) = self.bound("max", "storage").filter(|m| size > *m) {
                problems.push(format!(
                    "claim {}: {} is over {rname}'s max {}",
                    c.name,
                    fmt_bytes(size),
                    fmt_bytes(max)
                ));
            }
            if let Some(min) = self.bound("min", "storage").filter(|m| size < *m) {
                problems.push(format!(
                    "claim {}: {} is under {rname}'s min {}",
                    c.name,
                    fmt_bytes(size),
                    fmt_bytes(min)
                ));
            }
        }
    }
}

fn rbac(facts: &ClusterFacts) -> Check {
    const ID: &str = "rbac";
    let mut denied_required = Vec::new();
    let mut denied_other = Vec::new();
    let mut unknown = Vec::new();
    for a in &facts.access {
        let what = format!(
            "{} {}{}{}",
            a.verb,
            a.resource,
            if a.group.is_empty() {
                String::new()
            } else {
                format!(".{}", a.group)
            },
            a.namespace
                .as_ref()
                .map(|n| format!(" in {n}"))
                .unwrap_or_default()
        );
        match &a.allowed {
            Ok(true) => {}
            Ok(false) if a.required => denied_required.push(what),
            Ok(false) => denied_other.push(format!("{what} ({})", a.for_what)),
            Err(e) => unknown.push(format!("{what}: {e}")),
        }
    }
    let asked = facts.access.len();
    if !denied_required.is_empty() {
        let mut d = denied_required.clone();
        d.extend(denied_other);
        return Check::fail(
            ID,
            format!("you may not {}: the install would be refused", denied_required.join(", ")),
            "ask a cluster admin for a Role granting these verbs on kudo.dev operators, operatorversions and instances in the namespace",
        )
        .with(d);
    }
    if !denied_other.is_empty() || !unknown.is_empty() {
        let mut d = denied_other.clone();
        d.extend(unknown.clone());
        return Check::warn(
            ID,
            format!(
                "the install is allowed, but you may not {}: KUDO's manager creates these with its own service account, and you will not be able to inspect or diagnose them",
                if denied_other.is_empty() { "check every access".to_string() } else { denied_other.join(", ") }
            ),
            "ask for get and list on these resources in the namespace (kudo-diag run needs them)",
        )
        .with(d);
    }
    Check::pass(ID, format!("all {asked} access reviews allowed (install kudo.dev objects; get and list what the operator creates)"))
}

const BASELINE_CAPS: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
const RESTRICTED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// What a pod spec does that a Pod Security level forbids (`baseline` or `restricted`),
/// following the Pod Security Standards' controls.
pub fn pod_security_violations(level: &str, spec: &Json) -> Vec<String> {
    let mut v = Vec::new();
    if level != "baseline" && level != "restricted" {
        return v;
    }
    for ns in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[ns].as_bool() == Some(true) {
            v.push(format!("{ns}: true"));
        }
    }
    for vol in spec["volumes"].as_array().into_iter().flatten() {
        let name = vol["name"].as_str().unwrap_or_default();
        if vol.get("hostPath").is_some() {
            v.push(format!("hostPath volume {name}"));
        } else if level == "restricted" {
            let typ = vol
                .as_object()
                .and_then(|m| m.keys().find(|k| *k != "name").cloned())
                .unwrap_or_default();
            if !typ.is_empty() && !RESTRICTED_VOLUMES.contains(&typ.as_str()) {
                v.push(format!("volume {name} of type {typ}"));
            }
        }
    }
    let pod_sc = &spec["securityContext"];
    let containers = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["initContainers"].as_array().into_iter().flatten());
    for c in containers {
        container_violations(level, c, pod_sc, &mut v);
    }
    v
}

/// What one container does that the level forbids; `pod_sc` is the pod's securityContext,
/// whose seccomp and user settings containers inherit.
fn container_violations(level: &str, c: &Json, pod_sc: &Json, v: &mut Vec<String>) {
    let cname = c["name"].as_str().unwrap_or_default();
    let sc = &c["securityContext"];
    if sc["privileged"].as_bool() == Some(true) {
        v.push(format!("container {cname} is privileged"));
    }
    for p in c["ports"].as_array().into_iter().flatten() {
        if p["hostPort"].as_i64().is_some_and(|h| h != 0) {
            v.push(format!("container {cname} uses hostPort {}", p["hostPort"]));
        }
    }
    let added: Vec<&str> = sc["capabilities"]["add"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let allowed: &[&str] = if level == "restricted" {
        &["NET_BIND_SERVICE"]
    } else {
        &BASELINE_CAPS
    };
    let extra: Vec<&str> = added
        .iter()
        .copied()
        .filter(|c| !allowed.contains(c))
        .collect();
    if !extra.is_empty() {
        v.push(format!(
            "container {cname} adds capabilities {}",
            extra.join(", ")
        ));
    }
    let seccomp = sc["seccompProfile"]["type"]
        .as_str()
        .or(pod_sc["seccompProfile"]["type"].as_str());
    if seccomp == Some("Unconfined") {
        v.push(format!("container {cname} runs with seccomp Unconfined"));
    }
    if level == "restricted" {
        if sc["allowPrivilegeEscalation"].as_bool() != Some(false) {
            v.push(format!(
                "container {cname} does not set allowPrivilegeEscalation: false"
            ));
        }
        let non_root = sc["runAsNonRoot"]
            .as_bool()
            .or(pod_sc["runAsNonRoot"].as_bool());
        if non_root != Some(true) {
            v.push(format!("container {cname} does not set runAsNonRoot: true"));
        }
        if sc["runAsUser"].as_i64().or(pod_sc["runAsUser"].as_i64()) == Some(0) {
            v.push(format!("container {cname} runs as user 0"));
        }
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            v.push(format!(
                "container {cname} does not set seccompProfile RuntimeDefault"
            ));
        }
        let drops_all = sc["capabilities"]["drop"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d == "ALL");
        if !drops_all {
            v.push(format!("container {cname} does not drop ALL capabilities"));
        }
    }
}

fn pod_security(req: &Requirements, facts: &ClusterFacts, ctx: &Context) -> Check {
    const ID: &str = "pod-security";
    let labels = match &facts.namespace {
        Ok(Some(ns)) => labels_of(&ns["metadata"]["labels"]),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            return Check::warn(
                ID,
                format!("could not read namespace {}: {e}", ctx.namespace),
                "allow get on namespaces",
            )
        }
    };
    let level_of = |mode: &str| {
        labels
            .get(&format!("pod-security.kubernetes.io/{mode}"))
            .cloned()
    };
    let enforce = level_of("enforce");
    let softer: Vec<(String, String)> = ["warn", "audit"]
        .iter()
        .filter_map(|m| level_of(m).map(|l| (m.to_string(), l)))
        .collect();
    let violations = |level: &str| -> Vec<String> {
        req.workloads
            .iter()
            .flat_map(|w: &Workload| {
                pod_security_violations(level, &w.pod_spec)
                    .into_iter()
                    .map(move |x| format!("{} {}: {x}", w.kind, w.name))
            })
            .collect()
    };
    if let Some(level) = &enforce {
        let v = violations(level);
        if !v.is_empty() {
            return Check::fail(
                ID,
                format!(
                    "namespace {} enforces Pod Security {level:?} and {} of the operator's pod settings break it: {}",
                    ctx.namespace,
                    v.len(),
                    v[0]
                ),
                format!("install into a namespace whose pod-security.kubernetes.io/enforce level allows these pods (baseline or privileged), or ask an admin to relabel {}", ctx.namespace),
            )
            .with(v);
        }
    }
    for (mode, level) in &softer {
        let v = violations(level);
        if !v.is_empty() {
            return Check::warn(
                ID,
                format!("namespace {} will {mode} about Pod Security {level:?}: {}", ctx.namespace, v[0]),
                "the pods will run, but expect warnings; choose a namespace with a matching level to silence them",
            )
            .with(v);
        }
    }
    let shown = enforce.unwrap_or_else(|| "privileged (no enforce label)".into());
    Check::pass(
        ID,
        format!(
            "the operator's pods meet namespace {}'s Pod Security level {shown}",
            ctx.namespace
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts_with(access: Vec<super::super::cluster::Access>) -> ClusterFacts {
        ClusterFacts {
            server_version: Ok("v1.32.4".into()),
            nodes: Ok(vec![]),
            pods: Ok(vec![]),
            storage_classes: Ok(vec![]),
            namespace: Ok(None),
            quotas: Ok(vec![]),
            limit_ranges: Ok(vec![]),
            crds: BTreeMap::new(),
            kudo_pods: Ok(vec![]),
            webhooks: Ok(None),
            instance: Ok(None),
            operator_versions: Ok(vec![]),
            access,
            served: BTreeMap::new(),
        }
    }

    fn access(
        verb: &str,
        resource: &str,
        required: bool,
        allowed: Result<bool, String>,
    ) -> super::super::cluster::Access {
        super::super::cluster::Access {
            verb: verb.into(),
            group: if required {
                "kudo.dev".into()
            } else {
                "apps".into()
            },
            resource: resource.into(),
            namespace: Some("prod".into()),
            for_what: if required {
                "install".into()
            } else {
                "StatefulSet".into()
            },
            required,
            allowed,
        }
    }

    #[test]
    fn rbac_denied_fails_without_a_server() {
        let f = facts_with(vec![
            access("create", "instances", true, Ok(false)),
            access("get", "statefulsets", false, Ok(false)),
            access("list", "instances", true, Ok(true)),
        ]);
        let c = rbac(&f);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            c.reason,
            "you may not create instances.kudo.dev in prod: the install would be refused"
        );
        assert_eq!(c.details[1], "get statefulsets.apps in prod (StatefulSet)");
        // Only what the manager creates denied: a warning.
        let c = rbac(&facts_with(vec![access(
            "get",
            "statefulsets",
            false,
            Ok(false),
        )]));
        assert_eq!(c.status, Status::Warn);
        // A review that could not be asked is a warning, not a pass.
        let c = rbac(&facts_with(vec![access(
            "create",
            "instances",
            true,
            Err("timeout".into()),
        )]));
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.details, ["create instances.kudo.dev in prod: timeout"]);
    }

    #[test]
    fn quotas_count_used_plus_needed() {
        let mut req = Requirements::default();
        req.workloads.push(Workload {
            kind: "StatefulSet".into(),
            name: "db".into(),
            namespace: "prod".into(),
            template: "t".into(),
            replicas: Some(3),
            containers: vec![],
            pod_requests: Resources {
                cpu_milli: 1000,
                memory_bytes: 4 << 30,
            },
            pod_limits: Resources::default(),
            node_selector: BTreeMap::new(),
            tolerations: vec![],
            node_affinity: vec![],
            anti_affinity: vec![],
            spread: vec![],
            labels: BTreeMap::new(),
            claims: vec![],
            pod_spec: Json::Null,
        });
        let mut f = facts_with(vec![]);
        f.quotas = Ok(vec![json!({"metadata": {"name": "team"},
            "spec": {"hard": {"requests.memory": "16Gi", "pods": "10"}},
            "status": {"used": {"requests.memory": "6Gi", "pods": "2"}}})]);
        let c = quota(&req, &f);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.reason, "quota team allows requests.memory 16 GiB but 6 GiB is used and the operator needs 12 GiB");
        f.limit_ranges = Ok(vec![
            json!({"metadata": {"name": "lr"}, "spec": {"limits": [{"type": "PersistentVolumeClaim", "max": {"storage": "10Gi"}}]}}),
        ]);
        req.claims.push(super::super::render::Claim {
            name: "big".into(),
            workload: None,
            size_bytes: Some(20 << 30),
            size: "20Gi".into(),
            storage_class: None,
        });
        let c = limit_range(&req, &f);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.details, ["claim big: 20 GiB is over lr's max 10 GiB"]);
    }

    #[test]
    fn plurals_and_groups_for_access_reviews() {
        assert_eq!(
            resource_of("apps/v1", "StatefulSet"),
            ("apps".into(), "statefulsets".into())
        );
        assert_eq!(
            resource_of("v1", "ConfigMap"),
            ("".into(), "configmaps".into())
        );
        assert_eq!(
            resource_of("policy/v1", "PodDisruptionBudget"),
            ("policy".into(), "poddisruptionbudgets".into())
        );
        assert_eq!(
            resource_of("networking.k8s.io/v1", "NetworkPolicy").1,
            "networkpolicies"
        );
        assert_eq!(resource_of("v1", "Endpoints").1, "endpoints");
    }

    #[test]
    fn versions_compare_as_semver() {
        assert_eq!(semver("v1.32.4-eks-1"), Some((1, 32, 4)));
        assert_eq!(semver("0.10.0"), Some((0, 10, 0)));
        assert!(semver("v0.17.4") >= semver("0.10.0"));
        assert!(semver("1.9") < semver("1.16.0"));
    }

    #[test]
    fn pod_security_levels_follow_the_standards() {
        let spec = json!({
            "hostNetwork": true,
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "c", "configMap": {"name": "x"}}],
            "containers": [{"name": "a", "securityContext": {"privileged": true, "capabilities": {"add": ["IPC_LOCK", "CHOWN"]}}}]
        });
        let b = pod_security_violations("baseline", &spec);
        assert_eq!(
            b,
            vec![
                "hostNetwork: true".to_string(),
                "hostPath volume h".to_string(),
                "container a is privileged".to_string(),
                "container a adds capabilities IPC_LOCK".to_string(),
            ]
        );
        assert!(pod_security_violations("privileged", &spec).is_empty());
        let good = json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]
        });
        assert!(pod_security_violations("restricted", &good).is_empty());
        let r = pod_security_violations("restricted", &json!({"containers": [{"name": "a"}]}));
        assert_eq!(r.len(), 4, "{r:?}");
    }

    #[test]
    fn running_pods_take_their_requests_from_nodes() {
        let nodes = vec![
            json!({"metadata": {"name": "n1"}, "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}),
        ];
        let pods = vec![
            json!({"spec": {"nodeName": "n1", "containers": [{"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}, {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}, "status": {"phase": "Running"}}),
            json!({"spec": {"nodeName": "n1", "containers": [{"resources": {"requests": {"cpu": "3"}}}]}, "status": {"phase": "Succeeded"}}),
            json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "3"}}}]}, "status": {"phase": "Pending"}}),
        ];
        let s = node_states(&nodes, &pods);
        assert_eq!(
            s[0].free(),
            Resources {
                cpu_milli: 2500,
                memory_bytes: 6 << 30
            }
        );
        assert_eq!(s[0].pods, 1);
    }
}
