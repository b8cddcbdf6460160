//! Workload and node rules: StatefulSets and Deployments with fewer ready replicas than desired,
//! PersistentVolumeClaims Pending or Lost, PodDisruptionBudgets that allow no disruption, nodes
//! NotReady or under memory, disk or PID pressure.

use serde_json::Value;

use crate::analyze::context::Ctx;
use crate::analyze::model::{ObjectRef, Severity};
use crate::analyze::source::{n, s};
use crate::bundle::layout;

pub fn run(ctx: &mut Ctx) {
    for r in [
        "workload.replicas",
        "workload.pvc",
        "workload.pdb",
        "node.not-ready",
        "node.pressure",
    ] {
        ctx.ran(r);
    }
    replicas(ctx, layout::STATEFULSETS, "StatefulSet");
    replicas(ctx, layout::DEPLOYMENTS, "Deployment");
    pvcs(ctx);
    pdbs(ctx);
    nodes(ctx);
}

fn ns_of<'a>(ctx: &'a Ctx, o: &'a Value) -> &'a str {
    match s(o, "/metadata/namespace") {
        "" => &ctx.namespace,
        x => x,
    }
}

fn replicas(ctx: &mut Ctx, path: &str, kind: &str) {
    for o in ctx.src.items(path) {
        let name = s(&o, "/metadata/name").to_string();
        let desired = n(&o, "/spec/replicas").unwrap_or(1);
        let ready = n(&o, "/status/readyReplicas").unwrap_or(0);
        if ready >= desired {
            continue;
        }
        // None ready: nothing of it serves. Some ready: degraded; the pods' findings say why.
        let sev = if ready == 0 {
            Severity::Error
        } else {
            Severity::Warning
        };
        let obj = ObjectRef::new(kind, ns_of(ctx, &o), &name);
        let ev = vec![ctx.object_evidence(path, &name, &["readyReplicas", "replicas: "])];
        ctx.add(
            "workload.replicas",
            sev,
            obj,
            format!("{kind} {name} has {ready} of {desired} replicas ready"),
            format!("{} of its pods are not ready; the application runs with less capacity and redundancy than configured.", desired - ready),
            "Look at the findings about its pods (crash loops, scheduling) above: they say why.".into(),
            ev,
        );
    }
}

fn pvcs(ctx: &mut Ctx) {
    let path = layout::PERSISTENT_VOLUME_CLAIMS;
    for o in ctx.src.items(path) {
        let phase = s(&o, "/status/phase");
        if phase != "Pending" && phase != "Lost" {
            continue;
        }
        let name = s(&o, "/metadata/name").to_string();
        let obj = ObjectRef::new("PersistentVolumeClaim", ns_of(ctx, &o), &name);
        if phase == "Pending" {
            if let Some((what, why, next, ev)) = super::storage::missing_class(ctx, &o) {
                ctx.add(
                    "workload.pvc",
                    Severity::Error,
                    obj,
                    format!("PersistentVolumeClaim {name} is Pending{what}"),
                    why,
                    next,
                    ev,
                );
                continue;
            }
        }
        let (sev, why, next) = if phase == "Lost" {
            (Severity::Error, "its PersistentVolume no longer exists: the data it held is gone or unreachable", "Find out what deleted the volume; restore from a backup or re-create the claim and let the application re-replicate.")
        } else {
            (Severity::Warning, "no volume is bound to it yet, so pods using it cannot start", "Check the StorageClass and its provisioner (`kubectl describe pvc`), and capacity in the zone.")
        };
        let ev = vec![ctx.object_evidence(path, &name, &["phase: "])];
        ctx.add(
            "workload.pvc",
            sev,
            obj,
            format!("PersistentVolumeClaim {name} is {phase}"),
            format!("The claim is {phase}: {why}."),
            next.into(),
            ev,
        );
    }
}

fn pdbs(ctx: &mut Ctx) {
    let path = layout::POD_DISRUPTION_BUDGETS;
    for o in ctx.src.items(path) {
        let allowed = n(&o, "/status/disruptionsAllowed");
        let expected = n(&o, "/status/expectedPods").unwrap_or(0);
        if allowed != Some(0) || expected == 0 {
            continue;
        }
        let name = s(&o, "/metadata/name").to_string();
        let healthy = n(&o, "/status/currentHealthy").unwrap_or(0);
        let desired = n(&o, "/status/desiredHealthy").unwrap_or(0);
        let obj = ObjectRef::new("PodDisruptionBudget", ns_of(ctx, &o), &name);
        let ev = vec![ctx.object_evidence(
            path,
            &name,
            &["disruptionsAllowed", "currentHealthy", "desiredHealthy"],
        )];
        ctx.add(
            "workload.pdb",
            Severity::Warning,
            obj,
            format!("PodDisruptionBudget {name} allows no disruption ({healthy} healthy, {desired} required)"),
            "Voluntary evictions (node drains, cluster upgrades) of its pods are refused until more pods are healthy: a drain will hang.".into(),
            "Make the unhealthy pods healthy first (see the pod findings); do not drain nodes running its pods until then.".into(),
            ev,
        );
    }
}

fn nodes(ctx: &mut Ctx) {
    let path = layout::NODES;
    for o in ctx.src.items(path) {
        let name = s(&o, "/metadata/name").to_string();
        let Some(Value::Array(conds)) = o.pointer("/status/conditions") else {
            continue;
        };
        for c in conds {
            let t = s(c, "/type");
            let st = s(c, "/status");
            let msg = s(c, "/message");
            let obj = ObjectRef::new("Node", "", &name);
            if t == "Ready" && st != "True" {
                let ev = vec![ctx.object_evidence(
                    path,
                    &name,
                    &[
                        "type: Ready",
                        "lastHeartbeatTime",
                        "key: node.kubernetes.io/",
                    ],
                )];
                let on_it = pods_on(ctx, &name);
                ctx.add(
                    "node.not-ready",
                    Severity::Error,
                    obj,
                    format!("node {name} is NotReady ({st})"),
                    format!("The node's kubelet is not reporting healthy: {msg}{}. Pods on it are not started and will be evicted{on_it}.", taints(&o)),
                    format!("Check the node (`kubectl describe node {name}`), its kubelet and container runtime, and its network."),
                    ev,
                );
            } else if matches!(t, "MemoryPressure" | "DiskPressure" | "PIDPressure") && st == "True"
            {
                let ev = vec![ctx.object_evidence(path, &name, &[&format!("type: {t}")])];
                ctx.add(
                    "node.pressure",
                    Severity::Warning,
                    obj,
                    format!("node {name} has {t}"),
                    format!("The kubelet reports {t}: {msg}. It evicts pods and refuses new ones until the pressure ends."),
                    "Free the resource on the node or move workloads away; check pods without limits.".into(),
                    ev,
                );
            }
        }
    }
}

/// The node's taints, as ` (tainted KEY:EFFECT, ...)`.
fn taints(node: &Value) -> String {
    let v: Vec<String> = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| format!("{}:{}", s(t, "/key"), s(t, "/effect")))
        .collect();
    if v.is_empty() {
        String::new()
    } else {
        format!(" (tainted {})", v.join(", "))
    }
}

/// The instance's pods on a node, as `; of this instance: a (Terminating), b`.
fn pods_on(ctx: &Ctx, node: &str) -> String {
    let v: Vec<String> = ctx
        .pods
        .iter()
        .filter(|p| s(p, "/spec/nodeName") == node)
        .map(|p| {
            let n = s(p, "/metadata/name");
            if p.pointer("/metadata/deletionTimestamp").is_some() {
                format!("{n} (Terminating)")
            } else {
                n.to_string()
            }
        })
        .collect();
    if v.is_empty() {
        String::new()
    } else {
        format!("; of this instance: {}", v.join(", "))
    }
}
