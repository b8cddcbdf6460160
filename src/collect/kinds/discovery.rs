//! `k8s.discovery`: the API server's discovery as the cluster answers it, written as one
//! document (`cluster/discovery.yaml`) that `serve` answers discovery from, as recorded:
//!
//! - `api`: `/api` (`APIVersions`, the core group's versions);
//! - `apis`: `/apis` (`APIGroupList`, each group with its versions, preferred first);
//! - `resources`: the `APIResourceList` of every group version (`/api/v1`, `/apis/G/V`), the
//!   core group first, then in the order `/apis` lists them (the form troubleshoot's
//!   `resources.json` has, so both are served by one path);
//! - `failed`: the group versions whose list could not be read (an aggregated API whose
//!   server is down answers 503), with the error, as `kubectl api-resources` reports them.
//!
//! Each request's transient errors are retried within the task, so one dropped connection
//! neither fails the whole discovery nor records a group version as failed.

use futures::StreamExt;
use serde_json::{json, Value};

use crate::collect::{api, object, retry};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct Discovery;

/// How many resource lists are asked for at once.
const CONCURRENT: usize = 8;

/// One discovery document, its transient errors retried (`collect::retry::within`).
async fn get(ctx: &TaskContext, path: &str) -> Result<Value, TaskError> {
    retry::within(ctx, || get_once(ctx, path)).await
}

async fn get_once(ctx: &TaskContext, path: &str) -> Result<Value, TaskError> {
    let req = hyper::Request::get(path)
        .body(Vec::new())
        .expect("a discovery path builds a request");
    api::send_json(ctx, req, &format!("get {path}")).await
}

/// The discovery paths of every group version: `/api/V` for the core group's versions, then
/// `/apis/G/V` in `/apis` order.
fn resource_paths(core: &Value, groups: &Value) -> Vec<String> {
    let core = core["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|v| format!("/api/{v}"));
    let named = groups["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["versions"].as_array().into_iter().flatten())
        .filter_map(|v| v["groupVersion"].as_str())
        .map(|gv| format!("/apis/{gv}"));
    core.chain(named).collect()
}

/// Reads the whole discovery; a group version that fails is recorded in `failed`.
pub async fn discovery(ctx: &TaskContext) -> Result<Value, TaskError> {
    let core = get(ctx, "/api").await?;
    let groups = get(ctx, "/apis").await?;
    let paths = resource_paths(&core, &groups);
    let answers: Vec<(String, Result<Value, TaskError>)> = futures::stream::iter(paths)
        .map(|p| async move {
            let r = get(ctx, &p).await;
            (p, r)
        })
        .buffered(CONCURRENT)
        .collect()
        .await;
    let mut resources = Vec::new();
    let mut failed = Vec::new();
    for (path, answer) in answers {
        match answer {
            Ok(list) => resources.push(list),
            Err(e) => {
                let gv = path
                    .strip_prefix("/apis/")
                    .or_else(|| path.strip_prefix("/api/"))
                    .unwrap_or(&path);
                failed.push(json!({"groupVersion": gv, "error": e.message}));
            }
        }
    }
    Ok(json!({
        "api": core,
        "apis": groups,
        "resources": resources,
        "failed": failed,
    }))
}

#[async_trait::async_trait]
impl TaskKind for Discovery {
    fn name(&self) -> &'static str {
        "k8s.discovery"
    }
    fn description(&self) -> &'static str {
        "the API server's discovery: /api, /apis and every group version's resource list"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let d = discovery(ctx).await?;
        if let Some(out) = &ctx.output {
            ctx.sink
                .put(out, &object::to_yaml(&d))
                .map_err(|e| TaskError::failed(e.to_string()))?;
        }
        Ok(TaskOutput {
            items: vec![d].into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_version_is_asked_for_core_first_in_the_order_apis_lists_them() {
        let core = json!({"kind": "APIVersions", "versions": ["v1"]});
        let groups = json!({"groups": [
            {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}]},
            {"name": "autoscaling", "versions": [
                {"groupVersion": "autoscaling/v2", "version": "v2"},
                {"groupVersion": "autoscaling/v1", "version": "v1"}
            ]}
        ]});
        assert_eq!(
            resource_paths(&core, &groups),
            [
                "/api/v1",
                "/apis/apps/v1",
                "/apis/autoscaling/v2",
                "/apis/autoscaling/v1"
            ]
        );
    }
}
