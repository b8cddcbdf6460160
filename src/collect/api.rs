//! The path every collect kind takes to the API server: the run's `kube::Client` and the
//! node's cancellation handed to [`crate::kubeapi`], and its [`ApiError`] turned into the
//! `TaskError` the engine acts on (the kind, and so the retry decision, carried over as is).

use bytes::Bytes;
use hyper::Response;
use kube::client::Body;
use serde_json::Value;

use crate::collect::params;
use crate::engine::{StreamLoad, StreamPermit, TaskContext, TaskError};
use crate::kubeapi::{self, ApiError, Scope};

pub use crate::kubeapi::error::truncate;
pub use crate::kubeapi::MAX_JSON_BYTES;

impl From<ApiError> for TaskError {
    fn from(e: ApiError) -> Self {
        TaskError::new(e.kind, e.message)
    }
}

/// The run's Kubernetes client, or an error that says how to provide one.
pub fn client(ctx: &TaskContext) -> Result<kube::Client, TaskError> {
    ctx.env.kube.clone().ok_or_else(|| {
        TaskError::invalid(format!(
            "task {} needs a Kubernetes cluster but the run has none: pass --kubeconfig or run against `kudo-diag sim`",
            ctx.task
        ))
    })
}

/// Sends a request for one object (get, log, proxy) and returns the response when its status
/// is 2xx. `what` names the request in errors ("get pod cassandra-0 in namespace prod").
/// Honours the node's cancellation.
pub async fn send(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
) -> Result<Response<Body>, TaskError> {
    send_in(ctx, req, what, Scope::Object).await
}

async fn send_in(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
    scope: Scope,
) -> Result<Response<Body>, TaskError> {
    let client = client(ctx)?;
    Ok(kubeapi::send(&client, &ctx.cancel, req, what, scope).await?)
}

/// Sends a request for one object and parses the 2xx answer as JSON.
pub async fn send_json(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
) -> Result<Value, TaskError> {
    json_in(ctx, req, what, Scope::Object).await
}

/// Sends a request for a collection (a list page) and parses the 2xx answer as JSON. A 404
/// says the resource type is not served, not that a name is wrong.
pub async fn list_json(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
) -> Result<Value, TaskError> {
    json_in(ctx, req, what, Scope::Collection).await
}

async fn json_in(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
    scope: Scope,
) -> Result<Value, TaskError> {
    let res = send_in(ctx, req, what, scope).await?;
    let mut body = res.into_body();
    let bytes = read_limited(ctx, &mut body, MAX_JSON_BYTES, what).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        TaskError::invalid(format!(
            "{what}: the API server answered with something that is not JSON ({e}); check that the kubeconfig points at a Kubernetes API server"
        ))
    })
}

/// The next chunk of a response body, `None` at its end.
pub async fn next_chunk(
    ctx: &TaskContext,
    body: &mut Body,
    what: &str,
) -> Option<Result<Bytes, TaskError>> {
    kubeapi::next_chunk(&ctx.cancel, body, what)
        .await
        .map(|r| r.map_err(TaskError::from))
}

/// Reads a whole body, failing once it grows past `limit` bytes.
pub async fn read_limited(
    ctx: &TaskContext,
    body: &mut Body,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, TaskError> {
    Ok(kubeapi::read_limited(&ctx.cancel, body, limit, what).await?)
}

/// Maps an error of the kube client for a request on one object (exec's upgrade).
pub fn kube_error(err: kube::Error, what: &str) -> TaskError {
    kubeapi::kube_error(err, what, Scope::Object).into()
}

/// The error of a request the node's cancellation stopped.
pub fn cancelled(what: &str) -> TaskError {
    kubeapi::send::cancelled(what).into()
}

/// The stream a pod task opens (a log, or a `command` over exec), keyed for the engine's
/// per-node and per-pod limits: the pod from the `pod` parameter (a name or the Pod object),
/// its node from the collected Pod's `spec.nodeName` (the parameter's object, else the fan-out's
/// `pod` variable of the same name). `None` when the parameters do not name a pod (the attempt
/// then fails with the parameter's error).
pub fn pod_stream(p: &Value, vars: &Value, command: bool) -> Option<StreamLoad> {
    let pod = params::pod_ref(p, "pod").ok()?;
    let ns = pod.namespace_in(p, vars).unwrap_or_default();
    let object = pod.object.or_else(|| {
        vars.get("pod")
            .filter(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(pod.name))
    });
    let node = object
        .and_then(|o| o.pointer("/spec/nodeName"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    Some(StreamLoad {
        node: node.map(str::to_string),
        pod: Some(format!("{ns}/{}", pod.name)),
        command,
    })
}

/// The slot of the node a stream runs on, taken by the attempt itself when the plan could not
/// key the stream by its node: a pod named by its name only (`pod: cassandra-node-0`, no Pod
/// object to read `spec.nodeName` from). The scheduler took the pod's slot
/// ([`pod_stream`] without a node); this asks the API server where the pod runs and waits for
/// a slot of that node's kubelet, so such a stream is bounded per node like every other. Hold
/// the permit until the stream is over.
///
/// `None` when there is nothing to wait for: the plan knew the node (the scheduler holds its
/// slot), the stream is not on the task's own `pod` (a pod chosen while running takes its
/// slots with `acquire_stream`), or the pod is not scheduled (no kubelet serves it, and the
/// stream fails on its own).
pub async fn node_slot(
    ctx: &TaskContext,
    ns: &str,
    pod: &str,
    command: bool,
) -> Result<Option<StreamPermit>, TaskError> {
    let Some(planned) = pod_stream(&ctx.params, &ctx.vars, command) else {
        return Ok(None);
    };
    if planned.node.is_some() || planned.pod.as_deref() != Some(&format!("{ns}/{pod}")) {
        return Ok(None);
    }
    let what = format!("get pod {pod} in namespace {ns} (to find the node that serves it)");
    let req = hyper::Request::get(kubeapi::path::object("v1", Some(ns), "pods", pod))
        .body(Vec::new())
        .map_err(|e| TaskError::invalid(format!("{what}: {e}")))?;
    let object = send_json(ctx, req, &what).await?;
    let Some(node) = object
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return Ok(None);
    };
    // The node only: the pod's slot is already this attempt's.
    let load = StreamLoad {
        node: Some(node.to_string()),
        pod: None,
        command: false,
    };
    Ok(Some(crate::engine::acquire_stream(&load).await))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_pod_stream_is_keyed_by_the_pods_node() {
        let pod =
            json!({"metadata": {"name": "c-0", "namespace": "prod"}, "spec": {"nodeName": "n1"}});
        let s = pod_stream(&json!({"pod": pod}), &json!({}), true).unwrap();
        assert_eq!(s.node.as_deref(), Some("n1"));
        assert_eq!(s.pod.as_deref(), Some("prod/c-0"));
        assert!(s.command);
        // A name, with the fan-out's Pod object of that name in the variables.
        let vars = json!({"namespace": "prod", "pod": pod});
        let s = pod_stream(&json!({"pod": "c-0"}), &vars, false).unwrap();
        assert_eq!(s.node.as_deref(), Some("n1"));
        // A name alone: the pod is known, its node is not.
        let s = pod_stream(&json!({"pod": "c-1"}), &vars, true).unwrap();
        assert_eq!((s.node, s.pod.as_deref()), (None, Some("prod/c-1")));
        assert!(pod_stream(&json!({}), &vars, true).is_none());
    }
}
