//! `k8s.get`: one object by apiVersion + kind (or resource) + namespace + name, written as YAML
//! to the task's `output` (when it has one) and returned as the single item, so that other tasks
//! can fan out over it (`forEach: {task: instance, as: inst}`).
//!
//! `nameFrom` names the object by a field of another one, for objects a pipeline can only reach
//! through a reference: `nameFrom: {apiVersion: kudo.dev/v1beta1, kind: Instance, name:
//! "{{instance}}", field: /spec/operatorVersion/name}` gets the instance's OperatorVersion. The
//! field is a JSON pointer (`~1` stands for `/` in a key, as in `/metadata/labels/kudo.dev~1operator`).
//! A fan-out over the instance would do the same, but its output path would then have to carry
//! the item's name to stay unique per node; this keeps `instance/operatorversion.yaml` stable.

use kube::core::params::GetParams;
use serde_json::Value;

use crate::collect::{api, object, params, resources};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct Get;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required(
        "apiVersion",
        "API group/version, e.g. v1, apps/v1, kudo.dev/v1beta1",
    ),
    ParamSpec::optional("kind", "the object's kind, e.g. Pod (this or `resource`)"),
    ParamSpec::optional(
        "resource",
        "the plural resource name, e.g. pods (this or `kind`)",
    ),
    ParamSpec::optional(
        "namespace",
        "namespace of a namespaced object (default: the run's namespace)",
    ),
    ParamSpec::optional("name", "the object's name (this or `nameFrom`)"),
    ParamSpec::optional(
        "nameFrom",
        "{apiVersion, kind, name, field}: take the name from a field of that object",
    ),
];

/// A reference to an object in the static resource table: `{apiVersion, kind, name,
/// namespace?}`, or the object itself (anything with `metadata.uid`), which is used as is.
pub async fn resolve_ref(ctx: &TaskContext, param: &str, r: &Value) -> Result<Value, TaskError> {
    if r.pointer("/metadata/uid").is_some() {
        return Ok(r.clone());
    }
    let field = |k: &str| {
        r.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| {
            TaskError::permanent(format!(
                "`{param}` must be an object or a reference {{apiVersion, kind, name}}; `{k}` is missing"
            ))
        })
    };
    let (api_version, kind, name) = (field("apiVersion")?, field("kind")?, field("name")?);
    let ns = match r.get("namespace").and_then(Value::as_str) {
        Some(ns) => Some(ns),
        None => params::namespace(&ctx.params, &ctx.vars)?,
    };
    get_named(ctx, api_version, kind, ns, name).await
}

/// The `name` parameter, or the name `nameFrom` points at.
async fn target_name(ctx: &TaskContext) -> Result<String, TaskError> {
    if let Some(n) = params::str_opt(&ctx.params, "name")? {
        return Ok(n.to_string());
    }
    let Some(from) = ctx.params.get("nameFrom").filter(|v| v.is_object()) else {
        return Err(TaskError::permanent(
            "the task names no object: give `name`, or `nameFrom: {apiVersion, kind, name, field}`",
        ));
    };
    let pointer = from.get("field").and_then(Value::as_str).ok_or_else(|| {
        TaskError::permanent(
            "`nameFrom.field` is missing: give a JSON pointer such as /spec/operatorVersion/name",
        )
    })?;
    let source = resolve_ref(ctx, "nameFrom", from).await?;
    source
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            TaskError::permanent(format!(
                "{} {} has no string at {pointer}, so the object to get is unknown",
                source
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("object"),
                object::name_of(&source)
            ))
        })
}

/// Fetches one object, sanitized (see `collect::object`).
pub async fn fetch(ctx: &TaskContext) -> Result<Value, TaskError> {
    let r = resources::resolve(ctx).await?;
    let name = target_name(ctx).await?;
    let name = name.as_str();
    let ns = params::namespace(&ctx.params, &ctx.vars)?;
    if r.namespaced && ns.is_none() {
        return Err(TaskError::permanent(format!(
            "{} is namespaced but the task has no namespace: add `namespace` or run with --namespace",
            r.resource.kind
        )));
    }
    let what = match (r.namespaced, ns) {
        (true, Some(ns)) => format!(
            "get {} {name} in namespace {ns}",
            r.resource.kind.to_lowercase()
        ),
        _ => format!("get {} {name}", r.resource.kind.to_lowercase()),
    };
    let req = kube::core::Request::new(resources::collection_path(&r, ns))
        .get(&resources::path_segment(name), &GetParams::default())
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
        TaskError::permanent(format!(
            "{kind} in {api_version} is not in the resource table"
        ))
    })?;
    let what = match namespace {
        Some(ns) if r.namespaced => format!("get {} {name} in namespace {ns}", kind.to_lowercase()),
        _ => format!("get {} {name}", kind.to_lowercase()),
    };
    let req = kube::core::Request::new(resources::collection_path(&r, namespace))
        .get(&resources::path_segment(name), &GetParams::default())
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
        Ok(TaskOutput {
            items: vec![obj].into(),
        })
    }
}
