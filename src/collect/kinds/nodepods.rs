//! `k8s.nodepods`: the node context of the instance. Lists the pods a label selector picks (the
//! instance's), takes the nodes they are bound to, and lists every pod on each of those nodes in
//! all namespaces with the field selector `spec.nodeName=NODE` (what `kubectl describe node`
//! asks), keeping of each only its name, namespace, phase, age, IP and its containers' requests,
//! limits and states (`bundle::nodepods`). Written as one table, the default output
//! `cluster/node-pods.json`.
//!
//! Why: what a node can still give is its allocatable minus the requests of everything bound to
//! it, and on a shared cluster most of that is not the instance's. Listing pods across the
//! cluster needs `list` on pods in every namespace: pipelines mark the task optional.

use std::collections::BTreeSet;

use kube::core::params::ListParams;
use serde_json::{json, Value};

use crate::bundle::nodepods::{NodeRow, PodRow, TextWriter};
use crate::collect::kinds::list::for_each_object;
use crate::collect::{params, resources};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct NodePodsKind;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required(
        "labelSelector",
        "the instance's pods, e.g. kudo.dev/instance={{instance}}",
    ),
    ParamSpec::optional(
        "namespace",
        "the namespace of those pods (default: the run's)",
    ),
];

/// The nodes the selected pods are bound to, sorted (a Pending pod is bound to none).
async fn nodes_of_pods(
    ctx: &TaskContext,
    r: &resources::Resolved,
    ns: &str,
    selector: &str,
) -> Result<BTreeSet<String>, TaskError> {
    let what = format!("list pods with labels {selector} in namespace {ns}");
    let mut nodes = BTreeSet::new();
    for_each_object(
        ctx,
        r,
        &resources::collection_path(r, Some(ns)),
        ListParams::default().labels(selector),
        &what,
        |pod| {
            if let Some(n) = pod.pointer("/spec/nodeName").and_then(Value::as_str) {
                if !n.is_empty() {
                    nodes.insert(n.to_string());
                }
            }
            Ok(())
        },
    )
    .await?;
    Ok(nodes)
}

/// Every pod bound to `node`, in any namespace, as rows sorted by namespace and name.
async fn pods_on(
    ctx: &TaskContext,
    r: &resources::Resolved,
    node: &str,
) -> Result<Vec<PodRow>, TaskError> {
    let field = format!("spec.nodeName={node}");
    let what = format!("list pods on node {node} in all namespaces");
    let mut rows = Vec::new();
    for_each_object(
        ctx,
        r,
        &resources::collection_path(r, None),
        ListParams::default().fields(&field),
        &what,
        |pod| {
            rows.push(PodRow::from_pod(&pod));
            Ok(())
        },
    )
    .await?;
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(rows)
}

#[async_trait::async_trait]
impl TaskKind for NodePodsKind {
    fn name(&self) -> &'static str {
        "k8s.nodepods"
    }
    fn description(&self) -> &'static str {
        "every pod on the nodes of the selected pods (all namespaces), with only requests, limits, phase and states"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let selector = params::str_req(p, "labelSelector")?;
        let ns = params::namespace(p, &ctx.vars)?.ok_or_else(|| {
            TaskError::failed(
                "the pods' namespace is unknown: add `namespace` or run with --namespace",
            )
        })?;
        let Some(out_path) = &ctx.output else {
            return Err(TaskError::failed(
                "k8s.nodepods needs an `output` path for its table",
            ));
        };
        let r = resources::lookup("v1", Some("Pod"), None).expect("pods are in the table");
        let nodes = nodes_of_pods(ctx, &r, ns, selector).await?;
        let w = ctx
            .sink
            .create(out_path)
            .map_err(|e| TaskError::failed(e.to_string()))?;
        let write_err =
            |e: std::io::Error| TaskError::failed(format!("writing {out_path} failed: {e}"));
        // A node's pods are listed, written and let go before the next node's are listed.
        let mut table = TextWriter::new(w).map_err(write_err)?;
        let mut pods = 0;
        for node in &nodes {
            let row = NodeRow {
                name: node.clone(),
                pods: pods_on(ctx, &r, node).await?,
            };
            pods += row.pods.len();
            table.node(&row).map_err(write_err)?;
        }
        let w = table.finish().map_err(write_err)?;
        w.finish().map_err(|e| TaskError::failed(e.to_string()))?;
        Ok(TaskOutput {
            items: vec![json!({"nodes": nodes.len(), "pods": pods})].into(),
        })
    }
}
