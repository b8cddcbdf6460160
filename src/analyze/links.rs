//! Causes and consequences: which findings follow from which.
//!
//! Every rule declares the links it can make as the causes its findings may have: a cause's
//! rule (a name, or a prefix ending in `*`), a scope (the same object, the same workload,
//! anywhere in the instance, or in a dependency the bundle holds) and optionally a regex the consequence's text must match (a crash
//! loop follows from memory settings only when it was OOMKilled). Built-in rules declare theirs
//! in [`BUILTIN`]; YAML rules in their `causedBy` field (docs/analyzers.md).
//!
//! Architecture: [`link`] gives every finding its id, builds a petgraph graph with an edge
//! cause -> consequence for every declared link that holds (an edge that would close a cycle is
//! not added), keeps only direct links (an edge a -> c is dropped when a also reaches c through
//! another cause b), then writes `causes`/`causedBy`. A root cause is as severe as the worst
//! finding it causes, and a consequence's next step sends the reader to its root cause, so the
//! report gives one fix and never two that disagree.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::has_path_connecting;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;
use regex::Regex;
use serde::Deserialize;

use super::model::{Finding, ObjectRef};

/// Where a cause must be for a link to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The same object (a pod's log finding and the pod's crash loop).
    Object,
    /// The same workload: a pod and its StatefulSet or Deployment, or two pods of one.
    Workload,
    /// Anywhere in the analyzed instance.
    Instance,
    /// In an instance the consequence's instance depends on: the cause is in one of the
    /// bundle's dependencies (`dependencies/NAMESPACE/INSTANCE/`), the consequence in the
    /// instance the bundle was collected for (Kafka's brokers losing their ZooKeeper
    /// sessions, caused by the ZooKeeper's pods).
    Dependency,
}

fn instance_scope() -> Scope {
    Scope::Instance
}

/// A link as a YAML rule declares it (`causedBy` entries).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// The cause's rule: a name, or a prefix ending in `*` (`pod.*`).
    pub rule: String,
    #[serde(default = "instance_scope")]
    pub scope: Scope,
    /// Only consequences whose title or explanation match this regex.
    #[serde(default)]
    pub when: Option<String>,
}

/// A checked link: findings of `consequence` may be caused by findings of `cause`.
#[derive(Debug, Clone)]
pub struct Link {
    pub consequence: String,
    pub cause: String,
    pub scope: Scope,
    pub when: Option<Regex>,
}

impl Link {
    /// Checks a YAML rule's declaration (a bad `when` regex is an error naming it).
    pub fn from_spec(consequence: &str, spec: &LinkSpec) -> Result<Link, String> {
        let when = match &spec.when {
            Some(w) => Some(Regex::new(w).map_err(|e| format!("causedBy `when`: {e}"))?),
            None => None,
        };
        if spec.rule.trim().is_empty() {
            return Err("causedBy `rule` is empty; name the cause's rule (or `prefix.*`)".into());
        }
        Ok(Link {
            consequence: consequence.to_string(),
            cause: spec.rule.clone(),
            scope: spec.scope,
            when,
        })
    }
}

use Scope::{Dependency, Instance, Object, Workload};

/// The built-in rules' links: (consequence, cause, scope, when).
pub const BUILTIN: &[(&str, &str, Scope, Option<&str>)] = &[
    // Pods: what the scheduler and the kubelet cannot do follows from the workload's settings,
    // the volumes and the nodes.
    (
        "pod.crash-loop",
        "workload.too-big-for-nodes",
        Workload,
        Some("OOMKilled"),
    ),
    (
        "pod.oom-killed",
        "workload.too-big-for-nodes",
        Workload,
        None,
    ),
    (
        "pod.pending",
        "workload.too-big-for-nodes",
        Workload,
        Some("(?i)insufficient"),
    ),
    (
        "pod.pending",
        "workload.pvc",
        Instance,
        Some("(?i)persistentvolumeclaim"),
    ),
    (
        "pod.pending",
        "node.not-ready",
        Instance,
        Some("(?i)not-ready|taint"),
    ),
    ("pod.not-ready", "node.not-ready", Instance, None),
    // A full volume: the process fails its writes, then its restarts.
    ("pod.crash-loop", "pod.volume-full", Object, None),
    ("pod.high-restarts", "pod.volume-full", Object, None),
    ("pod.not-ready", "pod.volume-full", Object, None),
    ("pod.probe-failing", "pod.crash-loop", Object, None),
    ("pod.probe-failing", "pod.oom-killed", Object, None),
    ("pod.probe-failing", "node.not-ready", Instance, None),
    ("pod.high-restarts", "node.not-ready", Instance, None),
    ("pod.evicted", "node.pressure", Instance, None),
    ("pod.evicted", "node.not-ready", Instance, None),
    // Workloads: fewer ready replicas follow from their pods; a PDB that allows nothing
    // follows from fewer ready replicas.
    ("workload.replicas", "pod-fault", Workload, None),
    (
        "workload.replicas",
        "workload.too-big-for-nodes",
        Workload,
        None,
    ),
    ("workload.replicas", "node.not-ready", Instance, None),
    ("workload.pdb", "workload.replicas", Instance, None),
    // KUDO: a plan fails because what it deploys does not become healthy.
    ("kudo.plan-failed", "pod-fault", Instance, None),
    (
        "kudo.plan-failed",
        "workload.too-big-for-nodes",
        Instance,
        None,
    ),
    ("kudo.plan-failed", "workload.pvc", Instance, None),
    ("kudo.plan-failed", "node.not-ready", Instance, None),
    (
        "kudo.plan-failed",
        "kudo.operatorversion-missing",
        Instance,
        None,
    ),
    ("kudo.plan-failed", "kudo.child-instance", Instance, None),
    // A child instance in trouble, when the bundle holds it as a dependency: what is wrong in
    // it explains the parent's finding about it.
    ("kudo.child-instance", "pod-fault", Dependency, None),
    ("kudo.child-instance", "node.not-ready", Dependency, None),
    ("kudo.plan-failed", "kudo.manager", Instance, None),
    ("kudo.plan-stuck", "pod-fault", Instance, None),
    ("kudo.plan-stuck", "workload.*", Instance, None),
    ("kudo.plan-stuck", "node.not-ready", Instance, None),
    ("kudo.plan-stuck", "kudo.manager", Instance, None),
    // Applications: members down follow from their pods and nodes.
    ("cassandra.node-down", "pod-fault", Instance, None),
    ("cassandra.node-down", "node.not-ready", Instance, None),
    (
        "cassandra.schema-disagreement",
        "cassandra.node-down",
        Instance,
        None,
    ),
    (
        "cassandra.dropped-messages",
        "cassandra.node-down",
        Instance,
        None,
    ),
    ("zookeeper.no-leader", "pod-fault", Instance, None),
    ("zookeeper.no-leader", "node.not-ready", Instance, None),
    ("zookeeper.quorum-lost", "pod-fault", Instance, None),
    ("zookeeper.quorum-lost", "node.not-ready", Instance, None),
    ("kafka.offline-partitions", "pod-fault", Instance, None),
    ("kafka.offline-partitions", "node.not-ready", Instance, None),
    (
        "kafka.under-replicated-partitions",
        "pod-fault",
        Instance,
        None,
    ),
    (
        "kafka.under-replicated-partitions",
        "kafka.offline-partitions",
        Instance,
        None,
    ),
    (
        "kafka.under-replicated-partitions",
        "node.not-ready",
        Instance,
        None,
    ),
    // The collection: evidence missing because pods do not run.
    ("collection.task-failed", "pod-fault", Instance, None),
];

/// What `pod-fault` in [`BUILTIN`] stands for: the pod rules that name why a pod does not
/// run. Symptoms (failing probes, not Ready) are left out, so that a plan failure is linked to
/// the crash loop itself and not to the probe failures the crash loop also causes.
pub const POD_FAULTS: &[&str] = &[
    "pod.crash-loop",
    "pod.image-pull",
    "pod.oom-killed",
    "pod.container-waiting",
    "pod.pending",
    "pod.evicted",
    "pod.high-restarts",
    "pod.volume-full",
];

/// The built-in links, checked.
pub fn builtin() -> Vec<Link> {
    let mut out = Vec::new();
    for (consequence, cause, scope, when) in BUILTIN {
        let causes: &[&str] = if *cause == "pod-fault" {
            POD_FAULTS
        } else {
            std::slice::from_ref(cause)
        };
        for c in causes {
            out.push(Link {
                consequence: consequence.to_string(),
                cause: c.to_string(),
                scope: *scope,
                when: when.map(|w| Regex::new(w).expect("built-in link regex")),
            });
        }
    }
    out
}

/// Whether a rule name matches a link's pattern (a name, or a prefix ending in `*`).
pub fn rule_matches(pattern: &str, rule: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => rule.starts_with(prefix),
        None => pattern == rule,
    }
}

/// The finding's id: `rule:Kind/namespace/name` (namespace omitted when cluster-scoped).
fn base_id(f: &Finding) -> String {
    let o = &f.object;
    if o.namespace.is_empty() {
        format!("{}:{}/{}", f.rule, o.kind, o.name)
    } else {
        format!("{}:{}/{}/{}", f.rule, o.kind, o.namespace, o.name)
    }
}

/// Gives every finding its id (`#2`, `#3`, ... for repeats of one rule on one object).
pub fn assign_ids(findings: &mut [Finding]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings.iter_mut() {
        let base = base_id(f);
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        f.id = if *n == 1 { base } else { format!("{base}#{n}") };
    }
}

/// The workload an object belongs to, by the pods' owners (`owners`: pod -> workload).
fn workload_of(o: &ObjectRef, owners: &BTreeMap<String, String>) -> Option<String> {
    match o.kind.as_str() {
        "Pod" => owners.get(&o.name).cloned(),
        "StatefulSet" | "Deployment" | "DaemonSet" | "ReplicaSet" => Some(o.name.clone()),
        _ => None,
    }
}

fn holds(link: &Link, cause: &Finding, cons: &Finding, owners: &BTreeMap<String, String>) -> bool {
    if !rule_matches(&link.consequence, &cons.rule) || !rule_matches(&link.cause, &cause.rule) {
        return false;
    }
    let same_instance = cause.instance == cons.instance;
    let scoped = match link.scope {
        Scope::Object => same_instance && cause.object == cons.object,
        Scope::Workload => {
            let a = workload_of(&cause.object, owners);
            same_instance && a.is_some() && a == workload_of(&cons.object, owners)
        }
        Scope::Instance => same_instance,
        Scope::Dependency => !cause.instance.is_empty() && cons.instance.is_empty(),
    };
    scoped
        && link
            .when
            .as_ref()
            .is_none_or(|re| re.is_match(&cons.title) || re.is_match(&cons.explanation))
}

/// Links the findings (see the module doc): ids, `causes`/`causedBy`, root severities and
/// consequences' next steps.
pub fn link(findings: &mut [Finding], links: &[Link], owners: &BTreeMap<String, String>) {
    assign_ids(findings);
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..findings.len()).map(|i| g.add_node(i)).collect();
    for (ci, cons) in findings.iter().enumerate() {
        for (ki, cause) in findings.iter().enumerate() {
            if ci == ki || !links.iter().any(|l| holds(l, cause, cons, owners)) {
                continue;
            }
            // Never close a cycle: a rule set whose links do not form a DAG keeps the first.
            if has_path_connecting(&g, nodes[ci], nodes[ki], None) {
                continue;
            }
            g.update_edge(nodes[ki], nodes[ci], ());
        }
    }
    reduce(&mut g);
    for e in g.edge_indices() {
        let (a, b) = g.edge_endpoints(e).expect("edge of the graph");
        let (a, b) = (g[a], g[b]);
        let (ida, idb) = (findings[a].id.clone(), findings[b].id.clone());
        findings[a].causes.push(idb);
        findings[b].caused_by.push(ida);
    }
    for f in findings.iter_mut() {
        f.causes.sort();
        f.caused_by.sort();
    }
    raise_roots(&g, findings);
    point_to_roots(findings);
}

/// Keeps direct links only: a -> c goes when another cause b of c is reachable from a.
fn reduce(g: &mut DiGraph<usize, ()>) {
    let mut drop = Vec::new();
    for e in g.edge_indices() {
        let (a, c) = g.edge_endpoints(e).expect("edge of the graph");
        let redundant = g
            .neighbors_directed(c, petgraph::Direction::Incoming)
            .filter(|b| *b != a)
            .any(|b| has_path_connecting(&*g, a, b, None));
        if redundant {
            drop.push(e);
        }
    }
    // Removing an edge moves the last one into its slot: remove from the highest index down.
    drop.sort();
    for e in drop.into_iter().rev() {
        g.remove_edge(e);
    }
}

/// A root cause is as severe as the worst finding it causes.
fn raise_roots(g: &DiGraph<usize, ()>, findings: &mut [Finding]) {
    for root in g.node_indices() {
        if g.neighbors_directed(root, petgraph::Direction::Incoming)
            .next()
            .is_some()
        {
            continue;
        }
        let mut worst = findings[g[root]].severity;
        let mut dfs = Dfs::new(g, root);
        while let Some(n) = dfs.next(g) {
            worst = worst.max(findings[g[n]].severity);
        }
        findings[g[root]].severity = worst;
    }
}

/// A consequence's next step sends the reader to its root cause (and its fix), so the report
/// gives one course of action.
fn point_to_roots(findings: &mut [Finding]) {
    let by_id: BTreeMap<String, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.clone(), i))
        .collect();
    let mut steps = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if f.caused_by.is_empty() {
            continue;
        }
        // Walk the first cause up to a root (the graph has no cycle; the guard is for safety).
        let mut at = i;
        let mut seen = BTreeSet::new();
        while let Some(up) = findings[at].caused_by.first() {
            if !seen.insert(at) {
                break;
            }
            at = by_id[up];
        }
        let root = &findings[at];
        let how = match &root.fix {
            Some(fix) => format!(": `{}`", fix.command),
            None => format!(" ({})", root.next_step.trim_end_matches('.')),
        };
        steps.push((
            i,
            format!(
                "This follows from the root cause \"{}\" [{}]; fix that first{how}.",
                root.title, root.rule
            ),
        ));
    }
    for (i, s) in steps {
        findings[i].next_step = s;
    }
}
