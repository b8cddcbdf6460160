//! `k8s.proxy`: an HTTP GET through the API server's proxy to a service or pod port
//! (`/api/v1/namespaces/NS/services/[SCHEME:]NAME:PORT/proxy/PATH`), streamed to the task's
//! `output`. This is how Elasticsearch's HTTP API is reached without a port-forward; it needs
//! only `get` on `services/proxy` (or `pods/proxy`). TCP protocols (ZooKeeper's four-letter
//! words) are not HTTP: pipelines use `k8s.exec` for those.

use std::io::Write;

use serde_json::json;

use crate::collect::{api, params};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};
use crate::kubeapi::path::encode;

pub struct Proxy;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::optional("service", "the service's name (this or `pod`)"),
    ParamSpec::optional("pod", "the pod's name or Pod object (this or `service`)"),
    ParamSpec::required("port", "the port name or number"),
    ParamSpec::optional("scheme", "http (default) or https"),
    ParamSpec::optional("path", "the path and query, e.g. _cat/nodes?v"),
    ParamSpec::optional("namespace", "the namespace (default: the run's)"),
];

/// The proxy URL for a target.
pub fn proxy_url(
    ns: &str,
    resource: &str,
    name: &str,
    scheme: Option<&str>,
    port: &str,
    path: &str,
) -> String {
    let scheme = scheme
        .filter(|s| *s != "http")
        .map(|s| format!("{s}:"))
        .unwrap_or_default();
    // The `[scheme:]name:port` segment is one segment: each part is encoded, the colons
    // between them are not. The path after `proxy/` is the caller's, passed as is.
    let target = format!("{scheme}{}:{}", encode(name), encode(port));
    format!(
        "{}/{target}/proxy/{}",
        crate::kubeapi::path::collection("v1", Some(ns), resource),
        path.trim_start_matches('/')
    )
}

#[async_trait::async_trait]
impl TaskKind for Proxy {
    fn name(&self) -> &'static str {
        "k8s.proxy"
    }
    fn description(&self) -> &'static str {
        "HTTP GET to a service or pod port through the API server proxy"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let port = match p.get("port") {
            Some(v) if v.is_number() => v.to_string(),
            _ => params::str_req(p, "port")?.to_string(),
        };
        let (resource, name, pod_ns) = match (params::str_opt(p, "service")?, p.get("pod")) {
            (Some(s), None) => ("services", s, None),
            (None, Some(_)) => {
                let pod = params::pod_ref(p, "pod")?;
                ("pods", pod.name, pod.namespace)
            }
            _ => {
                return Err(TaskError::failed(
                    "give exactly one of `service` or `pod` to proxy to",
                ))
            }
        };
        let ns = match params::str_opt(p, "namespace")? {
            Some(ns) => Some(ns),
            None => pod_ns.or(params::namespace(p, &ctx.vars)?),
        }
        .ok_or_else(|| {
            TaskError::failed("the namespace is unknown: add `namespace` or run with --namespace")
        })?;
        let path = params::str_opt(p, "path")?.unwrap_or("");
        let scheme = params::str_opt(p, "scheme")?;
        let url = proxy_url(ns, resource, name, scheme, &port, path);
        let what = format!(
            "GET /{} on {} {name}:{port} (namespace {ns})",
            path.trim_start_matches('/'),
            &resource[..resource.len() - 1]
        );
        let req = hyper::Request::get(url)
            .body(Vec::new())
            .map_err(|e| TaskError::failed(format!("{what}: {e}")))?;
        let Some(out_path) = &ctx.output else {
            return Err(TaskError::failed(
                "k8s.proxy needs an `output` path for the response",
            ));
        };
        let n = stream_to_artifact(ctx, req, &what, out_path).await?;
        Ok(TaskOutput {
            items: vec![json!({"bytes": n})].into(),
        })
    }
}

/// Sends `req` and streams the 2xx body into the artifact `out_path`; returns its size. Shared by
/// every kind whose artifact is one HTTP response (`k8s.proxy`, the `Request` of an operator's
/// `diagnostics` key).
pub async fn stream_to_artifact(
    ctx: &TaskContext,
    req: hyper::Request<Vec<u8>>,
    what: &str,
    out_path: &str,
) -> Result<u64, TaskError> {
    let res = api::send(ctx, req, what).await?;
    let mut body = res.into_body();
    let mut w = ctx
        .sink
        .create(out_path)
        .map_err(|e| TaskError::failed(e.to_string()))?;
    let mut n: u64 = 0;
    while let Some(chunk) = api::next_chunk(ctx, &mut body, what).await {
        let chunk = chunk?;
        w.write_all(&chunk)
            .map_err(|e| TaskError::failed(format!("{what}: writing the artifact failed: {e}")))?;
        n += chunk.len() as u64;
    }
    w.finish().map_err(|e| TaskError::failed(e.to_string()))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_services_and_pods() {
        assert_eq!(
            proxy_url(
                "es",
                "services",
                "coordinator-hs",
                None,
                "9200",
                "/_cat/nodes?v"
            ),
            "/api/v1/namespaces/es/services/coordinator-hs:9200/proxy/_cat/nodes?v"
        );
        assert_eq!(
            proxy_url(
                "es",
                "pods",
                "master-0",
                Some("https"),
                "http",
                "_cluster/health"
            ),
            "/api/v1/namespaces/es/pods/https:master-0:http/proxy/_cluster/health"
        );
    }
}
