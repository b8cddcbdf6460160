//! Capacity by placement, not sums: a deterministic simulation of the scheduler's filters for
//! the replicas the operator will create. Each node starts with its allocatable resources
//! minus the requests of the pods already bound to it; replicas are placed one by one (in plan
//! order) on the feasible node with the most room left (the scheduler's "least allocated"
//! score, ties broken by name), honouring unschedulable and not-ready nodes, node selectors,
//! required node affinity, taints and tolerations, required pod anti-affinity (against pods
//! already there and replicas placed before) and the node's pod limit. A replica no node can
//! take is reported with every node's reason and the largest free room.
//!
//! Hard topology spread constraints (`whenUnsatisfiable: DoNotSchedule`) are honoured over the
//! domains of the nodes that match the pods' node selector and affinity; soft ones are only
//! reported.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::quantity::{fmt_bytes, fmt_cpu};
use super::render::{Resources, Workload};

/// A node as the scheduler sees it.
#[derive(Debug, Clone, Default)]
pub struct NodeState {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Json>,
    pub allocatable: Resources,
    pub max_pods: i64,
    /// Requests of the pods already on it.
    pub used: Resources,
    pub pods: i64,
    pub unschedulable: bool,
    pub ready: bool,
    /// Labels of the pods already on it (for anti-affinity).
    pub pod_labels: Vec<BTreeMap<String, String>>,
}

impl NodeState {
    pub fn free(&self) -> Resources {
        Resources {
            cpu_milli: self.allocatable.cpu_milli - self.used.cpu_milli,
            memory_bytes: self.allocatable.memory_bytes - self.used.memory_bytes,
        }
    }

    fn topology_value(&self, key: &str) -> Option<String> {
        match self.labels.get(key) {
            Some(v) => Some(v.clone()),
            // Nodes without the label still are their own host.
            None if key == "kubernetes.io/hostname" => Some(self.name.clone()),
            None => None,
        }
    }
}

/// One replica the simulation placed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Placed {
    pub pod: String,
    pub workload: String,
    pub node: String,
}

/// One replica no node can take, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unplaced {
    pub pod: String,
    pub workload: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Placement {
    pub placed: Vec<Placed>,
    pub unplaced: Vec<Unplaced>,
}

/// `matchLabels` and `matchExpressions` of a label selector; a missing selector selects nothing.
pub fn selector_matches(sel: &Json, labels: &BTreeMap<String, String>) -> bool {
    if !sel.is_object() {
        return false;
    }
    let labels_ok = sel["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    labels_ok
        && sel["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| expression_matches(e, labels))
}

/// One label selector requirement (also node selector requirements, with Gt/Lt).
pub fn expression_matches(e: &Json, labels: &BTreeMap<String, String>) -> bool {
    let key = e["key"].as_str().unwrap_or_default();
    let values: Vec<&str> = e["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let have = labels.get(key);
    match e["operator"].as_str().unwrap_or_default() {
        "In" => have.is_some_and(|h| values.contains(&h.as_str())),
        "NotIn" => !have.is_some_and(|h| values.contains(&h.as_str())),
        "Exists" => have.is_some(),
        "DoesNotExist" => have.is_none(),
        op @ ("Gt" | "Lt") => {
            let (Some(h), Some(v)) = (
                have.and_then(|h| h.parse::<i64>().ok()),
                values.first().and_then(|v| v.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if op == "Gt" {
                h > v
            } else {
                h < v
            }
        }
        _ => false,
    }
}

/// Whether the tolerations allow a taint.
pub fn tolerates(tolerations: &[Json], taint: &Json) -> bool {
    let tkey = taint["key"].as_str().unwrap_or_default();
    let tval = taint["value"].as_str().unwrap_or_default();
    let teff = taint["effect"].as_str().unwrap_or_default();
    tolerations.iter().any(|t| {
        let key = t["key"].as_str().unwrap_or_default();
        let op = t["operator"].as_str().unwrap_or("Equal");
        let eff = t["effect"].as_str().unwrap_or_default();
        let effect_ok = eff.is_empty() || eff == teff;
        let key_ok = (key.is_empty() && op == "Exists") || key == tkey;
        let value_ok = op == "Exists" || t["value"].as_str().unwrap_or_default() == tval;
        effect_ok && key_ok && value_ok
    })
}

fn taint_text(t: &Json) -> String {
    let k = t["key"].as_str().unwrap_or_default();
    let e = t["effect"].as_str().unwrap_or_default();
    match t["value"].as_str().filter(|v| !v.is_empty()) {
        Some(v) => format!("{k}={v}:{e}"),
        None => format!("{k}:{e}"),
    }
}

/// The first filter a node fails for a pod of `w`, or `None` when the pod fits.
fn reject(
    w: &Workload,
    n: &NodeState,
    blocked: &[BTreeSet<String>],
    spread: &[Spread],
) -> Option<Reject> {
    if !n.ready {
        return Some(Reject::Other("not ready".into()));
    }
    if n.unschedulable {
        return Some(Reject::Other("cordoned (unschedulable)".into()));
    }
    for (k, v) in &w.node_selector {
        if n.labels.get(k) != Some(v) {
            return Some(Reject::Other(format!("no label {k}={v} (nodeSelector)")));
        }
    }
    if !w.node_affinity.is_empty()
        && !w
            .node_affinity
            .iter()
            .any(|term| term.iter().all(|e| expression_matches(e, &n.labels)))
    {
        return Some(Reject::Other(
            "not matching the required node affinity".into(),
        ));
    }
    for t in &n.taints {
        let eff = t["effect"].as_str().unwrap_or_default();
        if (eff == "NoSchedule" || eff == "NoExecute") && !tolerates(&w.tolerations, t) {
            return Some(Reject::Other(format!(
                "taint {} not tolerated",
                taint_text(t)
            )));
        }
    }
    for (term, blocked) in w.anti_affinity.iter().zip(blocked) {
        let Some(domain) = n.topology_value(&term.topology_key) else {
            continue;
        };
        if blocked.contains(&domain) {
            return Some(Reject::Other(format!(
                "a pod the required anti-affinity on {} excludes is there",
                term.topology_key
            )));
        }
    }
    for sp in spread {
        let Some(domain) = n.topology_value(&sp.key) else {
            return Some(Reject::Other(format!(
                "no label {} (hard topology spread)",
                sp.key
            )));
        };
        let here = sp.counts.get(&domain).copied().unwrap_or(0);
        let min = sp.counts.values().copied().min().unwrap_or(0);
        if here + 1 - min > sp.max_skew {
            return Some(Reject::Other(format!(
                "one more pod there would exceed the max skew {} of the topology spread on {}",
                sp.max_skew, sp.key
            )));
        }
    }
    if n.max_pods > 0 && n.pods >= n.max_pods {
        return Some(Reject::Other(format!("full ({} pods)", n.max_pods)));
    }
    let free = n.free();
    let need = w.pod_requests;
    if free.cpu_milli < need.cpu_milli || free.memory_bytes < need.memory_bytes {
        return Some(Reject::Room);
    }
    None
}

/// A hard topology spread constraint's running state: matching pods per domain.
struct Spread {
    key: String,
    max_skew: i64,
    selector: Json,
    counts: BTreeMap<String, i64>,
}

/// Whether a node is one the workload's pods could go to by selector and affinity (the
/// domains topology spread counts).
fn matches_node(w: &Workload, n: &NodeState) -> bool {
    w.node_selector
        .iter()
        .all(|(k, v)| n.labels.get(k) == Some(v))
        && (w.node_affinity.is_empty()
            || w.node_affinity
                .iter()
                .any(|term| term.iter().all(|e| expression_matches(e, &n.labels))))
}

enum Reject {
    /// Not enough CPU or memory left.
    Room,
    Other(String),
}

/// Places every replica of every workload with a known replica count.
pub fn place(workloads: &[Workload], mut nodes: Vec<NodeState>) -> Placement {
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Placement::default();
    // (node index, labels) of replicas placed so far.
    let mut placed_on: Vec<(usize, &BTreeMap<String, String>)> = Vec::new();
    for w in workloads {
        if w.kind == "DaemonSet" {
            place_daemon_set(w, &mut nodes, &mut out);
            continue;
        }
        let Some(n) = w.replicas else { continue };
        let mut blocked = blocked_domains(w, &nodes, &placed_on);
        let mut spread = hard_spreads(w, &nodes, &placed_on);
        for i in 0..n.max(0) {
            let pod = match w.kind.as_str() {
                "Pod" => w.name.clone(),
                _ => format!("{}-{i}", w.name),
            };
            let label = format!("{} {}", w.kind, w.name);
            match best_node(w, &nodes, &blocked, &spread) {
                Ok(idx) => {
                    let node = &mut nodes[idx];
                    node.used = node.used.plus(w.pod_requests);
                    node.pods += 1;
                    placed_on.push((idx, &w.labels));
                    for (t, b) in w.anti_affinity.iter().zip(blocked.iter_mut()) {
                        if selector_matches(&t.selector, &w.labels) {
                            b.extend(node.topology_value(&t.topology_key));
                        }
                    }
                    for sp in spread.iter_mut() {
                        if selector_matches(&sp.selector, &w.labels) {
                            if let Some(d) = node.topology_value(&sp.key) {
                                *sp.counts.entry(d).or_insert(0) += 1;
                            }
                        }
                    }
                    out.placed.push(Placed {
                        pod,
                        workload: label,
                        node: node.name.clone(),
                    });
                }
                Err(reasons) => {
                    let reason = explain(w, i, n, &reasons, &nodes);
                    out.unplaced.push(Unplaced {
                        pod: pod.clone(),
                        workload: label,
                        reason: format!("{pod}: {reason}"),
                    });
                }
            }
        }
    }
    out
}

/// Per anti-affinity term of `w`, the topology domains where a pod it excludes already runs:
/// computed once from the pods that were there and the replicas placed so far, then grown as
/// replicas are placed, so a replica costs O(nodes + placed) and not O(nodes x pods).
fn blocked_domains(
    w: &Workload,
    nodes: &[NodeState],
    placed_on: &[(usize, &BTreeMap<String, String>)],
) -> Vec<BTreeSet<String>> {
    w.anti_affinity
        .iter()
        .map(|t| {
            let mut b: BTreeSet<String> = nodes
                .iter()
                .filter(|x| {
                    x.pod_labels
                        .iter()
                        .any(|l| selector_matches(&t.selector, l))
                })
                .filter_map(|x| x.topology_value(&t.topology_key))
                .collect();
            for (idx, labels) in placed_on {
                if selector_matches(&t.selector, labels) {
                    b.extend(nodes[*idx].topology_value(&t.topology_key));
                }
            }
            b
        })
        .collect()
}

/// The hard topology spread constraints of `w`, with the matching pods per domain among the
/// nodes its pods could go to (those there and the replicas placed so far).
fn hard_spreads(
    w: &Workload,
    nodes: &[NodeState],
    placed_on: &[(usize, &BTreeMap<String, String>)],
) -> Vec<Spread> {
    w.spread
        .iter()
        .filter(|c| c.hard)
        .map(|c| {
            let mut counts = BTreeMap::new();
            for node in nodes.iter().filter(|x| matches_node(w, x)) {
                let Some(d) = node.topology_value(&c.topology_key) else {
                    continue;
                };
                let here = node
                    .pod_labels
                    .iter()
                    .filter(|l| selector_matches(&c.selector, l))
                    .count() as i64;
                *counts.entry(d).or_insert(0) += here;
            }
            for (idx, labels) in placed_on {
                if selector_matches(&c.selector, labels) {
                    if let Some(d) = nodes[*idx].topology_value(&c.topology_key) {
                        if let Some(v) = counts.get_mut(&d) {
                            *v += 1;
                        }
                    }
                }
            }
            Spread {
                key: c.topology_key.clone(),
                max_skew: c.max_skew.max(1),
                selector: c.selector.clone(),
                counts,
            }
        })
        .collect()
}

/// The node that would have the largest share of its CPU and memory left after taking one pod
/// of `w` (the first by name on a tie), or why each node refuses it.
fn best_node(
    w: &Workload,
    nodes: &[NodeState],
    blocked: &[BTreeSet<String>],
    spread: &[Spread],
) -> Result<usize, Vec<(String, Reject)>> {
    let mut best: Option<(f64, usize)> = None;
    let mut reasons: Vec<(String, Reject)> = Vec::new();
    for (idx, node) in nodes.iter().enumerate() {
        match reject(w, node, blocked, spread) {
            Some(r) => reasons.push((node.name.clone(), r)),
            None => {
                let after = node.free();
                let score = share(
                    after.cpu_milli - w.pod_requests.cpu_milli,
                    node.allocatable.cpu_milli,
                )
                .min(share(
                    after.memory_bytes - w.pod_requests.memory_bytes,
                    node.allocatable.memory_bytes,
                ));
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, idx));
                }
            }
        }
    }
    best.map(|(_, idx)| idx).ok_or(reasons)
}

/// A DaemonSet runs one pod on every node its selector, affinity and tolerations allow; a
/// node it targets without room for the pod is a pod that cannot run.
fn place_daemon_set(w: &Workload, nodes: &mut [NodeState], out: &mut Placement) {
    let label = format!("{} {}", w.kind, w.name);
    for node in nodes.iter_mut() {
        match reject(w, node, &[], &[]) {
            Some(Reject::Other(_)) => {}
            Some(Reject::Room) => {
                let free = node.free();
                out.unplaced.push(Unplaced {
                    pod: format!("{} on {}", w.name, node.name),
                    workload: label.clone(),
                    reason: format!(
                        "{} on {}: the DaemonSet's pod needs {} and {} but the node has {} and {} free",
                        w.name,
                        node.name,
                        fmt_cpu(w.pod_requests.cpu_milli),
                        fmt_bytes(w.pod_requests.memory_bytes),
                        fmt_cpu(free.cpu_milli.max(0)),
                        fmt_bytes(free.memory_bytes.max(0))
                    ),
                });
            }
            None => {
                node.used = node.used.plus(w.pod_requests);
                node.pods += 1;
                out.placed.push(Placed {
                    pod: format!("{} on {}", w.name, node.name),
                    workload: label.clone(),
                    node: node.name.clone(),
                });
            }
        }
    }
}

fn share(free: i64, total: i64) -> f64 {
    if total <= 0 {
        0.0
    } else {
        free as f64 / total as f64
    }
}

fn explain(
    w: &Workload,
    i: i64,
    n: i64,
    reasons: &[(String, Reject)],
    nodes: &[NodeState],
) -> String {
    if nodes.is_empty() {
        return "the cluster has no nodes".into();
    }
    let need = w.pod_requests;
    let mut parts = Vec::new();
    let room: Vec<&NodeState> = reasons
        .iter()
        .filter(|(_, r)| matches!(r, Reject::Room))
        .filter_map(|(name, _)| nodes.iter().find(|x| &x.name == name))
        .collect();
    if !room.is_empty() {
        let short_mem = room
            .iter()
            .any(|x| x.free().memory_bytes < need.memory_bytes);
        let short_cpu = room.iter().any(|x| x.free().cpu_milli < need.cpu_milli);
        let mut wants = Vec::new();
        if short_mem {
            wants.push(format!("{} free memory", fmt_bytes(need.memory_bytes)));
        }
        if short_cpu {
            wants.push(format!("{} free", fmt_cpu(need.cpu_milli)));
        }
        let mut s = format!("no node with {}", wants.join(" and "));
        if short_mem {
            if let Some(m) = room
                .iter()
                .max_by_key(|x| (x.free().memory_bytes, std::cmp::Reverse(x.name.clone())))
            {
                s.push_str(&format!(
                    "; largest free memory is {} on {}",
                    fmt_bytes(m.free().memory_bytes.max(0)),
                    m.name
                ));
            }
        }
        if short_cpu {
            if let Some(m) = room
                .iter()
                .max_by_key(|x| (x.free().cpu_milli, std::cmp::Reverse(x.name.clone())))
            {
                s.push_str(&format!(
                    "; largest free CPU is {} on {}",
                    fmt_cpu(m.free().cpu_milli.max(0)),
                    m.name
                ));
            }
        }
        parts.push(s);
    }
    // Nodes that fail the same way are named together, so a large cluster stays readable.
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, r) in reasons {
        if let Reject::Other(why) = r {
            match by_reason.iter_mut().find(|(w, _)| *w == why.as_str()) {
                Some((_, names)) => names.push(name),
                None => by_reason.push((why, vec![name])),
            }
        }
    }
    for (why, names) in by_reason {
        let shown = if names.len() > 3 {
            format!(
                "{} and {} more nodes",
                names[..3].join(", "),
                names.len() - 3
            )
        } else {
            names.join(", ")
        };
        parts.push(format!("{shown}: {why}"));
    }
    format!(
        "replica {} of {} of {} {} cannot be placed: {}",
        i + 1,
        n,
        w.kind,
        w.name,
        parts.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GI: i64 = 1 << 30;

    fn node(name: &str, cpu: i64, mem_gi: i64) -> NodeState {
        NodeState {
            name: name.into(),
            allocatable: Resources {
                cpu_milli: cpu,
                memory_bytes: mem_gi * GI,
            },
            max_pods: 110,
            ready: true,
            ..Default::default()
        }
    }

    fn sts(name: &str, replicas: i64, cpu: i64, mem_gi: i64, anti: bool) -> Workload {
        let mut labels = BTreeMap::new();
        labels.insert("app".to_string(), name.to_string());
        let sel = json!({"matchLabels": {"app": name}});
        Workload {
            kind: "StatefulSet".into(),
            name: name.into(),
            namespace: "ns".into(),
            template: "t.yaml".into(),
            replicas: Some(replicas),
            containers: vec![],
            pod_requests: Resources {
                cpu_milli: cpu,
                memory_bytes: mem_gi * GI,
            },
            pod_limits: Resources::default(),
            node_selector: BTreeMap::new(),
            tolerations: vec![],
            node_affinity: vec![],
            anti_affinity: if anti {
                vec![super::super::render::AffinityTerm {
                    topology_key: "kubernetes.io/hostname".into(),
                    selector: sel,
                    selects_self: true,
                }]
            } else {
                vec![]
            },
            spread: vec![],
            labels,
            claims: vec![],
            pod_spec: Json::Null,
        }
    }

    #[test]
    fn anti_affinity_places_one_replica_per_node_and_names_the_one_left_over() {
        // Three replicas, two nodes with room for all three by sum: anti-affinity leaves one.
        let p = place(
            &[sts("cass", 3, 1000, 2, true)],
            vec![node("n1", 8000, 32), node("n2", 8000, 32)],
        );
        assert_eq!(p.placed.len(), 2);
        assert_eq!(p.unplaced.len(), 1);
        assert_eq!(p.unplaced[0].pod, "cass-2");
        assert!(
            p.unplaced[0]
                .reason
                .contains("replica 3 of 3 of StatefulSet cass"),
            "{}",
            p.unplaced[0].reason
        );
        assert!(
            p.unplaced[0].reason.contains("anti-affinity"),
            "{}",
            p.unplaced[0].reason
        );
    }

    #[test]
    fn memory_shortage_names_the_largest_free_room() {
        let mut n2 = node("node-2", 8000, 8);
        n2.used.memory_bytes = 3 * GI / 2; // 6.5 GiB free
        let p = place(
            &[sts("cassandra", 3, 500, 4, true)],
            vec![node("node-1", 8000, 16), n2, node("node-3", 8000, 3)],
        );
        let why: Vec<&str> = p.unplaced.iter().map(|u| u.reason.as_str()).collect();
        assert_eq!(p.placed.len(), 2, "{why:?}");
        // The sum (16 + 6.5 + 3 GiB) would fit 12 GiB; placement shows it does not.
        assert!(why[0].starts_with("cassandra-2: replica 3 of 3"), "{why:?}");
        assert!(
            why[0]
                .contains("no node with 4 GiB free memory; largest free memory is 3 GiB on node-3"),
            "{why:?}"
        );
    }

    #[test]
    fn taints_selectors_and_cordons_exclude_nodes() {
        let mut tainted = node("a", 8000, 32);
        tainted.taints =
            vec![json!({"key": "dedicated", "value": "infra", "effect": "NoSchedule"})];
        let mut cordoned = node("b", 8000, 32);
        cordoned.unschedulable = true;
        let p = place(
            &[sts("x", 1, 100, 1, false)],
            vec![tainted.clone(), cordoned],
        );
        let r = &p.unplaced[0].reason;
        assert!(
            r.contains("a: taint dedicated=infra:NoSchedule not tolerated"),
            "{r}"
        );
        assert!(r.contains("b: cordoned"), "{r}");
        let mut w = sts("x", 1, 100, 1, false);
        w.tolerations = vec![json!({"key": "dedicated", "operator": "Exists"})];
        assert_eq!(place(&[w], vec![tainted.clone()]).placed.len(), 1);
        let mut w = sts("x", 1, 100, 1, false);
        w.node_selector.insert("disk".into(), "ssd".into());
        w.tolerations = vec![json!({"operator": "Exists"})];
        let r = &place(&[w], vec![tainted]).unplaced[0].reason;
        assert!(r.contains("a: no label disk=ssd"), "{r}");
    }

    #[test]
    fn large_clusters_place_quickly_and_group_reasons() {
        // 400 nodes with 10 pods each already, 480 replicas with anti-affinity on hostname:
        // 400 placed, 80 left, each reason naming 3 nodes and a count. (1000 nodes and 1200
        // replicas took 1.4 s in a debug build.)
        let nodes: Vec<NodeState> = (0..400)
            .map(|i| {
                let mut n = node(&format!("n{i:04}"), 16000, 64);
                n.pod_labels = (0..10)
                    .map(|j| BTreeMap::from([("app".to_string(), format!("other-{j}"))]))
                    .collect();
                n.pods = 10;
                n
            })
            .collect();
        let start = std::time::Instant::now();
        let p = place(&[sts("big", 480, 100, 1, true)], nodes);
        let took = start.elapsed();
        assert_eq!(p.placed.len(), 400);
        assert_eq!(p.unplaced.len(), 80);
        assert!(
            p.unplaced[0].reason.ends_with("n0000, n0001, n0002 and 397 more nodes: a pod the required anti-affinity on kubernetes.io/hostname excludes is there"),
            "{}",
            p.unplaced[0].reason
        );
        assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    }

    #[test]
    fn hard_topology_spread_keeps_zones_within_the_max_skew() {
        // Two zones; zone a has room for everything, zone b for one pod only. Without the
        // constraint all four would fit; with max skew 1 zone a may hold one more than zone b,
        // so the fourth cannot go anywhere.
        let zone = |n: &mut NodeState, z: &str| {
            n.labels
                .insert("topology.kubernetes.io/zone".into(), z.into());
        };
        let mut a1 = node("a1", 16000, 64);
        zone(&mut a1, "a");
        let mut b1 = node("b1", 16000, 2);
        zone(&mut b1, "b");
        let mut w = sts("web", 4, 100, 2, false);
        w.spread = vec![super::super::render::SpreadConstraint {
            topology_key: "topology.kubernetes.io/zone".into(),
            max_skew: 1,
            hard: true,
            selector: json!({"matchLabels": {"app": "web"}}),
        }];
        let p = place(&[w.clone()], vec![a1.clone(), b1.clone()]);
        let on: Vec<&str> = p.placed.iter().map(|x| x.node.as_str()).collect();
        assert_eq!(on, ["a1", "b1", "a1"], "{:?}", p.unplaced);
        assert_eq!(p.unplaced.len(), 1);
        assert!(
            p.unplaced[0].reason.contains("a1: one more pod there would exceed the max skew 1 of the topology spread on topology.kubernetes.io/zone"),
            "{}",
            p.unplaced[0].reason
        );
        // Soft constraints do not block.
        w.spread[0].hard = false;
        assert_eq!(place(&[w], vec![a1, b1]).placed.len(), 4);
    }

    #[test]
    fn a_daemon_set_runs_on_every_node_it_targets() {
        let mut ds = sts("agent", 0, 500, 2, false);
        ds.kind = "DaemonSet".into();
        ds.replicas = None;
        let mut tainted = node("c", 8000, 32);
        tainted.taints = vec![json!({"key": "gpu", "effect": "NoSchedule"})];
        let mut full = node("b", 8000, 4);
        full.used.memory_bytes = 3 * GI;
        let p = place(&[ds], vec![node("a", 8000, 32), full, tainted]);
        let on: Vec<&str> = p.placed.iter().map(|x| x.pod.as_str()).collect();
        assert_eq!(on, ["agent on a"]);
        assert_eq!(
            p.unplaced[0].reason,
            "agent on b: the DaemonSet's pod needs 500m CPU and 2 GiB but the node has 8 CPU and 1 GiB free"
        );
        assert_eq!(p.unplaced.len(), 1, "the tainted node is not targeted");
    }

    #[test]
    fn placement_is_deterministic_and_spreads_by_room() {
        let w = [sts("d", 4, 1000, 1, false)];
        let nodes = vec![node("n2", 4000, 8), node("n1", 4000, 8)];
        let a = place(&w, nodes.clone());
        let b = place(&w, nodes);
        assert_eq!(a.placed, b.placed);
        let on: Vec<&str> = a.placed.iter().map(|p| p.node.as_str()).collect();
        assert_eq!(on, vec!["n1", "n2", "n1", "n2"]);
    }
}
