//! Advice computed from the bundle: the operator's real parameters (from the bundle's
//! OperatorVersion: names, defaults, descriptions, and the instance's values), which parameter
//! drives which container resource, and the placement simulation of preflight run against the
//! bundle's own nodes and pods to check proposed values.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::context::Ctx;
use super::source::s;
use crate::bundle::layout;
use crate::bundle::nodepods::NodePods;
use crate::preflight::checks::node_states;
use crate::preflight::placement::{place, Placement};
use crate::preflight::render::{workload_of, Workload};

/// One parameter the OperatorVersion declares, with the instance's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    /// The instance's value, else the default (empty when neither).
    pub value: String,
    pub default: String,
    /// displayName, description and hint, joined: what the operator says it is.
    pub description: String,
}

impl Param {
    fn text(&self) -> String {
        format!("{} {}", self.name, self.description).to_ascii_lowercase()
    }

    /// The value as bytes: a quantity (`2048Mi`), or a plain number of MiB when the
    /// parameter says MiB (`NODE_MEM_MIB`, "in MiB").
    pub fn bytes(&self) -> Option<i64> {
        let v = self.value.trim();
        if let Ok(n) = v.parse::<i64>() {
            return self.text().contains("mib").then_some(n * MIB);
        }
        crate::preflight::quantity::bytes(v)
    }

    /// A new value in MiB written the way this parameter takes it.
    pub fn format_mib(&self, mib: i64) -> String {
        if self.value.trim().parse::<i64>().is_ok() {
            mib.to_string()
        } else {
            format!("{mib}Mi")
        }
    }
}

/// The parameters of the instance's OperatorVersion (instance/operatorversion.yaml) with the
/// values of instance/instance.yaml; empty when the bundle lacks the OperatorVersion.
pub fn params(ctx: &mut Ctx) -> Vec<Param> {
    let Some(ov) = ctx.src.yaml(layout::OPERATOR_VERSION) else {
        return Vec::new();
    };
    let inst = ctx.src.yaml(layout::INSTANCE).unwrap_or(Value::Null);
    let text = |v: Option<&Value>| match v {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let Some(Value::Array(list)) = ov.pointer("/spec/parameters") else {
        return Vec::new();
    };
    list.iter()
        .map(|p| {
            let name = s(p, "/name").to_string();
            let default = text(p.get("default"));
            let set = text(inst.pointer(&format!("/spec/parameters/{name}")));
            let description = ["/displayName", "/description", "/hint"]
                .iter()
                .map(|k| s(p, k).trim().trim_end_matches('.'))
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(". ");
            Param {
                value: if set.is_empty() { default.clone() } else { set },
                name,
                default,
                description,
            }
        })
        .collect()
}

const MIB: i64 = 1 << 20;

/// The parameters that set one container's memory: the request, the limit (both in MiB) and,
/// for a JVM, the maximum and minimum heap (in MB).
#[derive(Debug, Clone, Default)]
pub struct MemoryParams {
    pub container: String,
    pub request: Option<Param>,
    pub limit: Option<Param>,
    pub max_heap: Option<Param>,
    pub min_heap: Option<Param>,
}

/// Finds the parameters behind a container's memory: a parameter about memory whose value in
/// MiB equals the container's request (or, with "limit" in its name or description, its
/// limit), and the JVM heap parameters (-Xmx / -Xms) when the operator has them.
pub fn memory_params(params: &[Param], container: &Value) -> MemoryParams {
    let bytes = |path: &str| {
        container.pointer(path).and_then(|v| match v {
            Value::String(x) => crate::preflight::quantity::bytes(x),
            Value::Number(n) => n.as_i64(),
            _ => None,
        })
    };
    let about_memory = |p: &&Param| {
        let t = p.text();
        t.contains("mem") && !t.contains("heap")
    };
    let is_limit = |p: &&Param| p.text().contains("limit");
    let find = |want: Option<i64>, limit: bool| {
        let want = want?;
        params
            .iter()
            .filter(about_memory)
            .filter(|p| is_limit(p) == limit)
            .find(|p| p.bytes() == Some(want))
            .cloned()
    };
    let heap = |marker: &str, flag: &str| {
        params
            .iter()
            .find(|p| {
                let n = p.name.to_ascii_uppercase();
                n.contains("HEAP") && (n.contains(marker) || p.description.contains(flag))
            })
            .cloned()
    };
    MemoryParams {
        container: s(container, "/name").to_string(),
        request: find(bytes("/resources/requests/memory"), false),
        limit: find(bytes("/resources/limits/memory"), true),
        max_heap: heap("MAX", "-Xmx"),
        min_heap: heap("MIN", "-Xms"),
    }
}

/// The workloads of the bundle (StatefulSets and Deployments) as raw objects.
pub fn workload_objects(ctx: &mut Ctx) -> Vec<Value> {
    let mut v = ctx.src.items(layout::STATEFULSETS);
    v.extend(ctx.src.items(layout::DEPLOYMENTS));
    v
}

/// Whether a pod belongs to a workload (by the pods' owners).
fn owned_by(ctx: &Ctx, pod: &Value, workload: &str) -> bool {
    ctx.owners.get(s(pod, "/metadata/name")).map(String::as_str) == Some(workload)
}

/// Every pod of the bundle that is not the workload's: what else runs on the nodes. With the
/// node context (`cluster/node-pods.json`), that is every pod bound to the instance's nodes, in
/// any namespace: a node gives what its allocatable leaves after all of them.
pub fn other_pods(ctx: &mut Ctx, workload: &str) -> Vec<Value> {
    let mut pods: Vec<Value> = ctx
        .pods
        .iter()
        .filter(|p| !owned_by(ctx, p, workload))
        .cloned()
        .collect();
    pods.extend(ctx.src.items(layout::KUDO_PODS));
    // The table holds the instance's own pods (and the workload's) too: the objects above
    // count them, or leave them out on purpose.
    let key = |p: &Value| {
        (
            s(p, "/metadata/namespace").to_string(),
            s(p, "/metadata/name").to_string(),
        )
    };
    let known: HashSet<(String, String)> = ctx.pods.iter().chain(&pods).map(key).collect();
    let context = node_context_pods(ctx);
    pods.extend(context.into_iter().filter(|p| !known.contains(&key(p))));
    pods
}

/// The pods of the node context table, as Pod objects; none when the bundle has no table (or
/// an unreadable one: the analysis then counts the bundle's own pods only).
fn node_context_pods(ctx: &mut Ctx) -> Vec<Value> {
    ctx.src
        .text(layout::NODE_PODS)
        .and_then(|t| NodePods::parse(&t).ok())
        .map(|t| t.pods())
        .unwrap_or_default()
}

/// Places every replica of a workload object on the bundle's nodes, with the requests of the
/// other pods already bound there.
pub fn place_workload(nodes: &[Value], others: &[Value], obj: &Value, ns: &str) -> Placement {
    let Some(w) = workload_of(obj, ns) else {
        return Placement::default();
    };
    place(std::slice::from_ref(&w), node_states(nodes, others))
}

/// The workload's scheduling needs.
pub fn needs(obj: &Value, ns: &str) -> Option<Workload> {
    workload_of(obj, ns)
}

/// A copy of the workload object with one container's memory request (and limit, when
/// `with_limit`) set to `mib`.
pub fn with_memory(obj: &Value, container: &str, mib: i64, with_limit: bool) -> Value {
    let mut o = obj.clone();
    if let Some(Value::Array(cs)) = o.pointer_mut("/spec/template/spec/containers") {
        for c in cs.iter_mut().filter(|c| s(c, "/name") == container) {
            let q = Value::String(format!("{mib}Mi"));
            c["resources"]["requests"]["memory"] = q.clone();
            if with_limit {
                c["resources"]["limits"]["memory"] = q;
            }
        }
    }
    o
}

/// Nodes the placement used: (replicas placed, distinct nodes).
pub fn spread(p: &Placement) -> (usize, usize) {
    let nodes: BTreeMap<&str, ()> = p.placed.iter().map(|x| (x.node.as_str(), ())).collect();
    (p.placed.len(), nodes.len())
}
