//! The task kinds behind operator-published diagnostics:
//!
//! - `opdiag.pods`: the instance's pods matching an entry's selector, running ones only (what
//!   Copy and Command fan out over); matching nothing is an error that names the labels.
//! - `opdiag.copy`: `tar cf - PATH...` in a pod, as `kubectl cp` runs it, unpacked into one
//!   artifact per file under the task's `output`.
//! - `opdiag.request`: checks the Service and its port first (a clear error for a port name
//!   that does not exist, where the proxy would only say "no endpoints"), then a GET through the
//!   API server's service proxy.
//! - `opdiag.invalid`: stands for a bad entry and fails with the reason, so the problem is in the
//!   bundle's errors.json while the rest of the collection runs.

use std::io::Write;

use serde_json::{json, Value};

use crate::collect::kinds::exec::run_command;
use crate::collect::kinds::proxy::proxy_url;
use crate::collect::{api, params};
use crate::engine::{Items, ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};
use crate::kubeapi::path;

fn namespace(ctx: &TaskContext) -> Result<&str, TaskError> {
    params::namespace(&ctx.params, &ctx.vars)?.ok_or_else(|| {
        TaskError::failed("the namespace is unknown: add `namespace` or run with --namespace")
    })
}

fn entry(ctx: &TaskContext) -> &str {
    ctx.params
        .get("entry")
        .and_then(Value::as_str)
        .unwrap_or(&ctx.task)
}

pub struct Pods;

/// Kinds whose `spec.selector.matchLabels` can stand for their pods in an entry's selector.
pub const WORKLOAD_KINDS: &[&str] = &["StatefulSet", "Deployment", "DaemonSet", "ReplicaSet"];

const POD_PARAMS: &[ParamSpec] = &[
    ParamSpec::optional(
        "labelSelector",
        "the entry's matchLabels as k=v,k2=v2 (this or `workload`)",
    ),
    ParamSpec::optional(
        "workload",
        "{kind, name} of a StatefulSet, Deployment, DaemonSet or ReplicaSet whose pods to use",
    ),
    ParamSpec::optional("entry", "the diagnostics entry's name, for messages"),
    ParamSpec::optional("namespace", "the namespace (default: the run's)"),
];

#[async_trait::async_trait]
impl TaskKind for Pods {
    fn name(&self) -> &'static str {
        "opdiag.pods"
    }
    fn description(&self) -> &'static str {
        "the instance's running pods matching a diagnostics entry's selector"
    }
    fn params(&self) -> &'static [ParamSpec] {
        POD_PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let ns = namespace(ctx)?;
        let entry = entry(ctx);
        let from_workload;
        let sel = match ctx.params.get("workload") {
            Some(w) => {
                from_workload = workload_selector(ctx, ns, entry, w).await?;
                from_workload.as_str()
            }
            None => params::str_req(&ctx.params, "labelSelector")?,
        };
        let instance = ctx.vars.get("instance").and_then(Value::as_str);
        let scoped = match instance {
            Some(i) => format!("kudo.dev/instance={i},{sel}"),
            None => sel.to_string(),
        };
        let list = |selector: String| {
            let what = format!("list pods with labels {selector} in namespace {ns}");
            let url = path::with_query(
                &path::collection("v1", Some(ns), "pods"),
                &[("labelSelector", &selector)],
            );
            async move {
                let req = hyper::Request::get(url)
                    .body(Vec::new())
                    .map_err(|e| TaskError::failed(format!("{what}: {e}")))?;
                let v = api::list_json(ctx, req, &what).await?;
                Ok::<_, TaskError>(v["items"].as_array().cloned().unwrap_or_default())
            }
        };
        let pods = list(scoped.clone()).await?;
        if pods.is_empty() {
            // Say what the instance's pods do carry, so the fix is obvious.
            let hint = match instance {
                Some(i) => {
                    let all = list(format!("kudo.dev/instance={i}"))
                        .await
                        .unwrap_or_default();
                    let mut labels: Vec<String> = all
                        .iter()
                        .filter_map(|p| p.pointer("/metadata/labels").and_then(Value::as_object))
                        .flat_map(|m| {
                            m.iter()
                                .filter(|(k, _)| !k.starts_with("kudo.dev/"))
                                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        })
                        .collect();
                    labels.sort();
                    labels.dedup();
                    if all.is_empty() {
                        format!("; instance {i} has no pods in namespace {ns}")
                    } else {
                        format!(
                            "; the instance's {} pods carry {}",
                            all.len(),
                            labels.join(", ")
                        )
                    }
                }
                None => String::new(),
            };
            return Err(TaskError::failed(format!(
                "diagnostics entry {entry}: selector {sel} matches none of the instance's pods in namespace {ns}{hint}; fix spec.selector.matchLabels"
            )));
        }
        let total = pods.len();
        let running: Items = pods
            .into_iter()
            .filter(|p| p.pointer("/status/phase").and_then(Value::as_str) == Some("Running"))
            .collect();
        if running.is_empty() {
            return Err(TaskError::failed(format!(
                "diagnostics entry {entry}: {total} pods match {sel} but none is running, so there is nothing to exec into; their state is in their pod.yaml"
            )));
        }
        Ok(TaskOutput { items: running })
    }
}

/// The label selector of a workload named by an entry (`{kind, name}`), as k=v,k2=v2.
async fn workload_selector(
    ctx: &TaskContext,
    ns: &str,
    entry: &str,
    w: &Value,
) -> Result<String, TaskError> {
    let kind = w.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = w.get("name").and_then(Value::as_str).unwrap_or("");
    if !WORKLOAD_KINDS.contains(&kind) || name.is_empty() {
        return Err(TaskError::failed(format!(
            "diagnostics entry {entry}: spec.selector must name a workload as {{kind, name}} with kind one of {}",
            WORKLOAD_KINDS.join(", ")
        )));
    }
    let plural = format!("{}s", kind.to_ascii_lowercase());
    let what = format!("get {kind} {name} in namespace {ns}");
    let req = hyper::Request::get(path::object("apps/v1", Some(ns), &plural, name))
        .body(Vec::new())
        .map_err(|e| TaskError::failed(format!("{what}: {e}")))?;
    let obj = api::send_json(ctx, req, &what).await.map_err(|mut e| {
        if e.status() == Some(404) {
            e.message = format!(
                "diagnostics entry {entry}: {kind} {name} does not exist in namespace {ns}; fix spec.selector.name"
            );
        }
        e
    })?;
    let labels = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            TaskError::failed(format!(
                "diagnostics entry {entry}: {kind} {name} has no spec.selector.matchLabels to find its pods by; use matchLabels in the entry"
            ))
        })?;
    Ok(labels
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(&v.to_string())))
        .collect::<Vec<_>>()
        .join(","))
}

pub struct Copy;

/// Most bytes a Copy keeps from one pod: configuration and small state files, not data.
pub const MAX_COPY_BYTES: usize = 64 * 1024 * 1024;

const COPY_PARAMS: &[ParamSpec] = &[
    ParamSpec::required("pod", "the Pod object (\"{{pod}}\") or name"),
    ParamSpec::required("paths", "absolute paths in the container"),
    ParamSpec::optional("container", "the container (default: the pod's default)"),
    ParamSpec::optional("entry", "the diagnostics entry's name, for messages"),
    ParamSpec::optional(
        "namespace",
        "the pod's namespace (default: the Pod object's)",
    ),
];

/// Writes at most `MAX_COPY_BYTES`, then fails: a Copy of a data directory must not fill the
/// disk or memory.
struct Limited(Vec<u8>);

impl Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_COPY_BYTES {
            return Err(std::io::Error::other(format!(
                "more than {MAX_COPY_BYTES} bytes; copy configuration files, not data directories"
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl TaskKind for Copy {
    fn name(&self) -> &'static str {
        "opdiag.copy"
    }
    fn description(&self) -> &'static str {
        "copy files out of a pod with `tar cf -` (as kubectl cp), one artifact per file under output"
    }
    fn params(&self) -> &'static [ParamSpec] {
        COPY_PARAMS
    }
    fn class(&self) -> &'static str {
        "exec"
    }
    fn stream(&self, params: &Value, vars: &Value) -> Option<crate::engine::StreamLoad> {
        crate::collect::api::pod_stream(params, vars, true)
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let pod = params::pod_ref(p, "pod")?;
        let paths = params::string_list(p, "paths")?;
        let container = params::str_opt(p, "container")?;
        let ns = match params::str_opt(p, "namespace")? {
            Some(ns) => ns,
            None => match pod.namespace {
                Some(ns) => ns,
                None => namespace(ctx)?,
            },
        };
        let Some(out) = &ctx.output else {
            return Err(TaskError::failed(
                "opdiag.copy needs an `output` folder for the files",
            ));
        };
        let mut argv = vec!["tar".to_string(), "cf".to_string(), "-".to_string()];
        argv.extend(paths.iter().cloned());
        let mut buf = Limited(Vec::new());
        run_command(ctx, ns, pod.name, container, &argv, &mut buf).await?;
        let files = super::tar::read(&buf.0).map_err(|e| {
            // A cut archive: the exec stream ended early.
            TaskError::transport(format!(
                "copy {} from pod {}: {e}",
                paths.join(" "),
                pod.name
            ))
        })?;
        let mut written = Items::new();
        for f in &files {
            let rel = f.path.trim_start_matches('/');
            if rel.split('/').any(|s| s == "..") {
                continue;
            }
            let dest = format!("{}/{rel}", out.trim_end_matches('/'));
            ctx.sink
                .put(&dest, &f.content)
                .map_err(|e| TaskError::failed(e.to_string()))?;
            written.push(&json!({"path": dest, "bytes": f.content.len()}));
        }
        Ok(TaskOutput { items: written })
    }
}

pub struct Request;

const REQUEST_PARAMS: &[ParamSpec] = &[
    ParamSpec::required("service", "the Service's name"),
    ParamSpec::required("port", "the port's name or number"),
    ParamSpec::optional("path", "the path and query"),
    ParamSpec::optional("scheme", "http (default) or https"),
    ParamSpec::optional("entry", "the diagnostics entry's name, for messages"),
    ParamSpec::optional("namespace", "the namespace (default: the run's)"),
];

/// The port of `service` that `port` names (by name or number), or an error listing its ports.
pub fn find_port(service: &Value, port: &str) -> Result<String, String> {
    let ports = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let found = ports.iter().find(|p| {
        p.get("name").and_then(Value::as_str) == Some(port)
            || p.get("port").map(|n| n.to_string()).as_deref() == Some(port)
    });
    match found {
        Some(p) => Ok(p
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| p["port"].to_string())),
        None => {
            let list: Vec<String> = ports
                .iter()
                .map(|p| {
                    format!(
                        "{} ({})",
                        p.get("name").and_then(Value::as_str).unwrap_or("unnamed"),
                        p.get("port").map(|n| n.to_string()).unwrap_or_default()
                    )
                })
                .collect();
            Err(format!(
                "has no port {port:?}; its ports are {}",
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            ))
        }
    }
}

#[async_trait::async_trait]
impl TaskKind for Request {
    fn name(&self) -> &'static str {
        "opdiag.request"
    }
    fn description(&self) -> &'static str {
        "GET a Service's port through the API server's service proxy, after checking the port exists"
    }
    fn params(&self) -> &'static [ParamSpec] {
        REQUEST_PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let service = params::str_req(p, "service")?;
        let port = match p.get("port") {
            Some(v) if v.is_number() => v.to_string(),
            _ => params::str_req(p, "port")?.to_string(),
        };
        let path = params::str_opt(p, "path")?.unwrap_or("");
        let scheme = params::str_opt(p, "scheme")?;
        let ns = namespace(ctx)?;
        let entry = entry(ctx);
        let what = format!("get service {service} in namespace {ns}");
        let req = hyper::Request::get(path::object("v1", Some(ns), "services", service))
            .body(Vec::new())
            .map_err(|e| TaskError::failed(format!("{what}: {e}")))?;
        let svc = api::send_json(ctx, req, &what).await.map_err(|mut e| {
            if e.status() == Some(404) {
                e.message = format!(
                    "diagnostics entry {entry}: service {service} does not exist in namespace {ns}; fix spec.serviceRef.name"
                );
            }
            e
        })?;
        let port = find_port(&svc, &port).map_err(|why| {
            TaskError::failed(format!(
                "diagnostics entry {entry}: service {service} {why}; fix spec.serviceRef.port"
            ))
        })?;
        let Some(out) = &ctx.output else {
            return Err(TaskError::failed(
                "opdiag.request needs an `output` path for the response",
            ));
        };
        let url = proxy_url(ns, "services", service, scheme, &port, path);
        let what = format!(
            "diagnostics entry {entry}: GET /{} on service {service}:{port} (namespace {ns})",
            path.trim_start_matches('/')
        );
        let req = hyper::Request::get(url)
            .body(Vec::new())
            .map_err(|e| TaskError::failed(format!("{what}: {e}")))?;
        let n = crate::collect::kinds::proxy::stream_to_artifact(ctx, req, &what, out).await?;
        Ok(TaskOutput {
            items: vec![json!({"bytes": n})].into(),
        })
    }
}

pub struct Invalid;

const INVALID_PARAMS: &[ParamSpec] = &[
    ParamSpec::required("entry", "the bad entry's name"),
    ParamSpec::required("message", "what is wrong with it and how to fix it"),
];

#[async_trait::async_trait]
impl TaskKind for Invalid {
    fn name(&self) -> &'static str {
        "opdiag.invalid"
    }
    fn description(&self) -> &'static str {
        "a diagnostics entry that cannot run: fails with the reason, the rest of the collection runs"
    }
    fn params(&self) -> &'static [ParamSpec] {
        INVALID_PARAMS
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        Err(TaskError::failed(params::str_req(&ctx.params, "message")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_by_name_or_number_or_a_list_of_what_exists() {
        let svc = json!({"spec": {"ports": [{"name": "client", "port": 2181}]}});
        assert_eq!(find_port(&svc, "client").unwrap(), "client");
        assert_eq!(find_port(&svc, "2181").unwrap(), "client");
        assert_eq!(
            find_port(&svc, "admin").unwrap_err(),
            "has no port \"admin\"; its ports are client (2181)"
        );
    }

    #[test]
    fn selectors_are_percent_encoded() {
        assert_eq!(
            path::encode("kudo.dev/instance=a,app=b"),
            "kudo.dev%2Finstance%3Da%2Capp%3Db"
        );
    }
}
