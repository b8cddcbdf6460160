//! Capacity: a workload whose pods ask more memory than any node of the bundle can give
//! (allocatable minus the requests of the other pods there). Such a pod can never be
//! scheduled, and a container allowed more memory than its node has is killed by the kernel
//! when the node runs out. The fix is computed: the operator parameter behind the request
//! (from the bundle's OperatorVersion), the largest value with which preflight's placement
//! simulation places every replica on the bundle's nodes, a JVM heap that fits it, and the
//! `kubectl kudo update` command.

use serde_json::Value;

use crate::analyze::advice::{
    memory_params, needs, other_pods, params, place_workload, spread, with_memory,
    workload_objects, MemoryParams, Param,
};
use crate::analyze::context::Ctx;
use crate::analyze::model::Line;
use crate::analyze::model::{Evidence, Fix, ObjectRef, ParamChange, Severity};
use crate::analyze::source::{clip, find_lines, s};
use crate::bundle::layout;
use crate::preflight::checks::node_states;
use crate::preflight::quantity::fmt_bytes;

pub const RULE: &str = "workload.too-big-for-nodes";

/// A JVM heap beyond this loses compressed object pointers (32 GiB less a margin).
const MAX_HEAP_MB: i64 = 31 * 1024;

pub fn run(ctx: &mut Ctx) {
    ctx.ran(RULE);
    let nodes = ctx.src.items(layout::NODES);
    if nodes.is_empty() {
        return;
    }
    let params = params(ctx);
    for obj in workload_objects(ctx) {
        check(ctx, &nodes, &params, &obj);
    }
}

struct Fit<'a> {
    nodes: &'a [Value],
    others: &'a [Value],
    obj: &'a Value,
    ns: &'a str,
    replicas: usize,
}

impl Fit<'_> {
    /// Whether every replica fits with `mib` of memory for the container.
    fn fits(&self, container: &str, mib: i64, with_limit: bool) -> bool {
        let o = with_memory(self.obj, container, mib, with_limit);
        let p = place_workload(self.nodes, self.others, &o, self.ns);
        p.unplaced.is_empty() && p.placed.len() == self.replicas
    }

    /// The largest value below `now` (MiB) that fits, rounded down to 256 MiB above 1 GiB.
    fn largest(&self, container: &str, now: i64, with_limit: bool) -> Option<i64> {
        let (mut lo, mut hi) = (0, now);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.fits(container, mid, with_limit) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            return None;
        }
        Some(if lo >= 1024 { lo / 256 * 256 } else { lo })
    }
}

fn check(ctx: &mut Ctx, nodes: &[Value], params: &[Param], obj: &Value) {
    let name = s(obj, "/metadata/name").to_string();
    let ns = match s(obj, "/metadata/namespace") {
        "" => ctx.namespace.clone(),
        x => x.to_string(),
    };
    let Some(w) = needs(obj, &ns) else { return };
    let Some(replicas) = w.replicas.filter(|r| *r > 0) else {
        return;
    };
    let others = other_pods(ctx, &name);
    let states = node_states(nodes, &others);
    let usable: Vec<_> = states
        .iter()
        .filter(|n| n.ready && !n.unschedulable)
        .collect();
    let Some(best) = usable.iter().map(|n| n.free().memory_bytes).max() else {
        return; // No node can take anything: node.not-ready says why.
    };
    let need = w.pod_requests.memory_bytes;
    if need <= best {
        return;
    }
    let kind = s(obj, "/kind").to_string();
    let containers: Vec<Value> = obj
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parts: Vec<String> = w
        .containers
        .iter()
        .filter(|c| !c.init)
        .filter_map(|c| {
            let m = c.requests.as_ref()?.memory_bytes;
            (m > 0).then(|| format!("{} {}", c.name, fmt_bytes(m)))
        })
        .collect();
    // The container with the largest request that an operator parameter sets.
    let mut mem: Vec<MemoryParams> = containers
        .iter()
        .map(|c| memory_params(params, c))
        .filter(|m| m.request.is_some())
        .collect();
    mem.sort_by_key(|m| {
        std::cmp::Reverse(
            m.request
                .as_ref()
                .and_then(Param::bytes)
                .unwrap_or_default(),
        )
    });
    let fit = Fit {
        nodes,
        others: &others,
        obj,
        ns: &ns,
        replicas: replicas as usize,
    };
    let fix = mem.first().and_then(|m| compute_fix(ctx, &fit, m));
    let mut explanation = format!(
        "Each pod of {kind} {name} requests {} of memory ({}), but the most any of the {} ready nodes can give is {} (its allocatable memory minus the requests of the other pods there). The scheduler can place no such pod, and a container allowed more memory than its node has is killed by the kernel (OOMKilled) when the node runs out.",
        fmt_bytes(need),
        parts.join(", "),
        usable.len(),
        fmt_bytes(best)
    );
    if let Some(m) = mem.first() {
        explanation.push_str(&describe_params(m));
    }
    let next = match &fix {
        Some(f) => format!("{} {}", f.0, f.1.verified),
        None => format!("No value of the operator's memory parameters lets all {replicas} pods fit these nodes: add nodes with more memory, or lower the memory requests of the other pods on them."),
    };
    let mut ev = vec![ctx.object_evidence(&workload_file(&kind), &name, &["memory:"])];
    ev.push(allocatable_evidence(ctx));
    if let (Some(m), Some(t)) = (mem.first(), ctx.src.text(layout::INSTANCE)) {
        let mut lines = Vec::new();
        for p in [&m.request, &m.limit].into_iter().flatten() {
            lines.extend(find_lines(
                &t,
                Some("parameters:"),
                &format!("{}:", p.name),
                1,
            ));
        }
        lines.sort_by_key(|l| l.line);
        ev.push(Evidence {
            path: layout::INSTANCE.into(),
            lines,
            note: None,
        });
    }
    ev.retain(|e: &Evidence| !e.lines.is_empty());
    ctx.add(
        RULE,
        Severity::Error,
        ObjectRef::new(&kind, &ns, &name),
        format!(
            "{kind} {name} asks {} of memory per pod; no node has more than {} free",
            fmt_bytes(need),
            fmt_bytes(best)
        ),
        explanation,
        next,
        ev,
    );
    if let (Some((_, f)), Some(last)) = (fix, ctx.findings.last_mut()) {
        last.fix = Some(f);
    }
}

/// The nodes' allocatable memory lines.
fn allocatable_evidence(ctx: &mut Ctx) -> Evidence {
    let path = layout::NODES;
    let mut lines = Vec::new();
    if let Some(t) = ctx.src.text(path) {
        let mut block: Option<usize> = None;
        for (i, l) in t.lines().enumerate() {
            let indent = l.len() - l.trim_start().len();
            if l.trim_start().starts_with("allocatable:") {
                block = Some(indent);
            } else if block.is_some_and(|b| indent <= b) {
                block = None;
            } else if block.is_some() && l.trim_start().starts_with("memory:") {
                lines.push(Line {
                    line: i + 1,
                    text: clip(l.trim_end()),
                });
            }
        }
    }
    Evidence {
        path: path.into(),
        lines,
        note: Some("allocatable memory of each node".into()),
    }
}

fn workload_file(kind: &str) -> String {
    match kind {
        "Deployment" => layout::DEPLOYMENTS.into(),
        _ => layout::STATEFULSETS.into(),
    }
}

fn describe_params(m: &MemoryParams) -> String {
    let mut v = Vec::new();
    if let Some(p) = &m.request {
        v.push(format!(
            "the request is the operator's parameter {} (now {}: \"{}\")",
            p.name, p.value, p.description
        ));
    }
    if let Some(p) = &m.limit {
        v.push(format!("the limit is {} (now {})", p.name, p.value));
    }
    if v.is_empty() {
        return String::new();
    }
    format!(" For container {}, {}.", m.container, v.join("; "))
}

/// The fix: the largest request that fits, the limit equal to it, half of it for a JVM heap;
/// checked again by the placement simulation. Returns the sentence and the structured fix.
fn compute_fix(ctx: &Ctx, fit: &Fit, m: &MemoryParams) -> Option<(String, Fix)> {
    let req = m.request.as_ref()?;
    let now = req.bytes()? >> 20;
    let with_limit = m.limit.is_some();
    let mib = fit.largest(&m.container, now, with_limit)?;
    let mut changes = vec![change(req, req.format_mib(mib))];
    if let Some(l) = &m.limit {
        changes.push(change(l, l.format_mib(mib)));
    }
    let heap = (mib / 2 / 256 * 256).clamp(256.min(mib / 2), MAX_HEAP_MB);
    for h in [&m.max_heap, &m.min_heap].into_iter().flatten() {
        changes.push(change(h, heap.to_string()));
    }
    let command = format!(
        "kubectl kudo update --instance {} -n {} {}",
        ctx.instance,
        ctx.namespace,
        changes
            .iter()
            .map(|c| format!("-p {}={}", c.name, c.to))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let o = with_memory(fit.obj, &m.container, mib, with_limit);
    let p = place_workload(fit.nodes, fit.others, &o, fit.ns);
    let (placed, on) = spread(&p);
    let usable = node_states(fit.nodes, fit.others)
        .iter()
        .filter(|n| n.ready && !n.unschedulable)
        .count();
    let verified = format!(
        "Checked with the placement simulation against the bundle's nodes and the {} other pod{} on them: with {}={} all {placed} pods fit, on {on} of {usable} nodes.",
        fit.others.len(),
        if fit.others.len() == 1 { "" } else { "s" },
        req.name,
        req.format_mib(mib)
    );
    let mut sentence = format!(
        "Lower {} from {} to {}",
        req.name,
        req.value,
        req.format_mib(mib)
    );
    if let Some(l) = &m.limit {
        sentence.push_str(&format!(" and {} to the same", l.name));
    }
    if let Some(h) = &m.max_heap {
        sentence.push_str(&format!(
            ", and set the JVM heap ({}{}) to {heap} MB, half of it, leaving the rest for memory outside the heap",
            h.name,
            m.min_heap
                .as_ref()
                .map(|x| format!(", {}", x.name))
                .unwrap_or_default()
        ));
    }
    sentence.push_str(&format!(": `{command}`."));
    Some((
        sentence,
        Fix {
            parameters: changes,
            command,
            verified,
        },
    ))
}

fn change(p: &Param, to: String) -> ParamChange {
    ParamChange {
        name: p.name.clone(),
        from: p.value.clone(),
        to,
        description: p.description.clone(),
    }
}
