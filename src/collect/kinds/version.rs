//! `k8s.version`: the API server's `/version`, as YAML, returned as the single item.

use serde_json::Value;

use crate::collect::{api, object};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct Version;

/// Fetches `/version`.
pub async fn server_version(ctx: &TaskContext) -> Result<Value, TaskError> {
    let req = hyper::Request::get("/version")
        .body(Vec::new())
        .expect("a static request builds");
    api::send_json(ctx, req, "get the server version").await
}

#[async_trait::async_trait]
impl TaskKind for Version {
    fn name(&self) -> &'static str {
        "k8s.version"
    }
    fn description(&self) -> &'static str {
        "the Kubernetes API server's version"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let v = server_version(ctx).await?;
        if let Some(out) = &ctx.output {
            ctx.sink
                .put(out, &object::to_yaml(&v))
                .map_err(|e| TaskError::failed(e.to_string()))?;
        }
        Ok(TaskOutput {
            items: vec![v].into(),
        })
    }
}
