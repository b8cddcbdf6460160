//! `k8s.get`: one object by apiVersion + kind (or resource) + namespace + name, written as YAML
//! to the task's `output` (when it has one) and returned as the single item, so that other tasks
//! can fan out over it (`forEach: {task: instance, as: inst}`).

use kube::core::params::GetParams;
use serde_json::Value;

use crate::collect::{api, object, params, resources};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct Get;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("apiVersion", "API group/version, e.g. v1, apps/v1, kudo.dev/v1beta1"),
    ParamSpec::optional("kind", "the object's kind, e.g. Pod (this or `resource`)"),
    ParamSpec::optional("resource", "the plural resource name, e.g. pods (this or `kind`)"),
    ParamSpec::optional("namespace", "namespace of a namespaced object (default: the run's namespace)"),
    ParamSpec::required("name", "the object's name"),
];

/// Fetches one object, sanitized (see `collect::object`).
pub async fn fetch(ctx: &TaskContext) -> Result<Value, TaskError> {
    let r = resources::resolve(ctx).await?;
    let name = params::str_req(&ctx.params, "name")?;
    let ns = params::namespace(&ctx.params, &ctx.vars)?;
    if r.namespaced && ns.is_none() {
        return Err(TaskError::permanent(format!(
            "{} is namespaced but the task has no namespace: add `namespace` or run with --namespace",
            r.resource.kind
        )));
    }
    let what = match (r.namespaced, ns) {
        (true, Some(ns)) => format!("get {} {name} in namespace {ns}", r.resource.kind.to_lowercase()),
        _ => format!("get {} {name}", r.resource.kind.to_lowercase()),
    };
    let req = kube::core::Request::new(resources::collection_path(&r, ns))
        .get(name, &GetParams::default())
        .map_err(|e| TaskError::permanent(format!("{what}: {e}")))?;
    let mut obj = api::send_json(ctx, req, &what).await?;
    object::sanitize(&mut obj);
    Ok(obj)
}

/// Fetches one object of a kind in the static resource table (see `collect::resources`),
/// sanitized; for kinds' own look-ups (the instance behind a plan status, an OperatorVersion).
pub async fn get_named(
    ctx: &TaskContext,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Value, TaskError> {
    let r = resources::lookup(api_version, Some(kind), None).ok_or_else(|| {
        TaskError::permanent(format!("{kind} in {api_version} is not in the resource table"))
    })?;
    let what = match namespace {
        Some(ns) if r.namespaced => format!("get {} {name} in namespace {ns}", kind.to_lowercase()),
        _ => format!("get {} {name}", kind.to_lowercase()),
    };
    let req = kube::core::Request::new(resources::collection_path(&r, namespace))
        .get(name, &GetParams::default())
        .map_err(|e| TaskError::permanent(format!("{what}: {e}")))?;
    let mut obj = api::send_json(ctx, req, &what).await?;
    object::sanitize(&mut obj);
    Ok(obj)
}

#[async_trait::async_trait]
impl TaskKind for Get {
    fn name(&self) -> &'static str {
        "k8s.get"
    }
    fn description(&self) -> &'static str {
        "get one Kubernetes object as YAML; returns it as the single item"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let obj = fetch(ctx).await?;
        if let Some(out) = &ctx.output {
            ctx.sink
                .put(out, &object::to_yaml(&obj))
                .map_err(|e| TaskError::permanent(e.to_string()))?;
        }
        Ok(TaskOutput { items: vec![obj] })
    }
}
