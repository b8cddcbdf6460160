//! `k8s.logs`: one container's log (current, or the previous instance) streamed chunk by chunk
//! into the task's `output`, so memory does not grow with the log.
//!
//! `previous: ifRestarted` asks for the previous log only when the container's `restartCount`
//! is above zero (read from the Pod object, passed as `pod: "{{pod}}"` or bound as `pod` in the
//! fan-out variables): the API answers 400 for a container that never restarted, and that is
//! not a failure of the collection. Skipping is a success with no artifact, and the item says why.
//!
//! The run's `engine::LogSettings` (`logSince`, `logTail`, `logLimitBytes` in the docs): `since`
//! -> `sinceSeconds`, `tail` -> `tailLines`, `limit_bytes` -> `limitBytes` (also enforced here,
//! in case a server ignores it; a cut log ends with a marker line); a task's own
//! `sinceSeconds`, `tailLines` and `limitBytes` parameters override them for that task;
//! `idle_timeout` (default 30s): a stream that sends nothing for that long is closed and kept,
//! with a marker line, rather than failing the task (a hung kubelet must not cost the whole log
//! we already have).

use std::io::Write;
use std::time::Duration;

use kube::core::subresource::LogParams;
use serde_json::{json, Value};

use crate::collect::{api, params, retry};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};
use crate::kubeapi;

pub struct Logs;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("pod", "the pod: its name, or the Pod object (\"{{pod}}\")"),
    ParamSpec::required("container", "the container's name"),
    ParamSpec::optional(
        "namespace",
        "the pod's namespace (default: the Pod object's, else the run's)",
    ),
    ParamSpec::optional("previous", "true, false (default) or ifRestarted"),
    ParamSpec::optional(
        "timestamps",
        "prefix each line with its RFC 3339 timestamp (true/false)",
    ),
    ParamSpec::optional(
        "sinceSeconds",
        "only lines newer than this (overrides the logSince setting)",
    ),
    ParamSpec::optional(
        "tailLines",
        "only the last lines (overrides the logTail setting)",
    ),
    ParamSpec::optional(
        "limitBytes",
        "at most this many bytes (overrides the logLimitBytes setting)",
    ),
];

/// Default for `logIdleTimeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Previous {
    No,
    Yes,
    IfRestarted,
}

fn previous_param(p: &Value) -> Result<Previous, TaskError> {
    match p.get("previous") {
        None | Some(Value::Null) => Ok(Previous::No),
        Some(Value::Bool(false)) => Ok(Previous::No),
        Some(Value::Bool(true)) => Ok(Previous::Yes),
        Some(Value::String(s)) => match s.as_str() {
            "false" => Ok(Previous::No),
            "true" => Ok(Previous::Yes),
            "ifRestarted" => Ok(Previous::IfRestarted),
            _ => Err(bad_previous(s)),
        },
        Some(other) => Err(bad_previous(&other.to_string())),
    }
}

fn bad_previous(found: &str) -> TaskError {
    TaskError::failed(format!(
        "parameter `previous` must be true, false or ifRestarted, found {found}"
    ))
}

/// The container's restart count in a Pod object (regular, init or ephemeral container).
pub fn restart_count(pod: &Value, container: &str) -> Option<u64> {
    [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|f| {
        pod.pointer(&format!("/status/{f}"))
            .and_then(Value::as_array)
    })
    .flatten()
    .find(|s| s.get("name").and_then(Value::as_str) == Some(container))
    .and_then(|s| s.get("restartCount"))
    .and_then(params::as_u64)
}

/// Why a container has no log yet, read from a Pod object: it is waiting (ContainerCreating,
/// PodInitializing, an image pull error) and never ran, or the pod has no status for it yet.
/// `None` when the pod does not have such a container, or when it ran (then it has a log, and
/// a refusal has another cause).
pub fn not_started(pod: &Value, container: &str) -> Option<String> {
    let declared = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|f| pod.pointer(&format!("/spec/{f}")).and_then(Value::as_array))
        .flatten()
        .any(|c| c.get("name").and_then(Value::as_str) == Some(container));
    if !declared {
        return None;
    }
    let status = [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|f| {
        pod.pointer(&format!("/status/{f}"))
            .and_then(Value::as_array)
    })
    .flatten()
    .find(|s| s.get("name").and_then(Value::as_str) == Some(container));
    let Some(status) = status else {
        return Some("no status yet".to_string());
    };
    if status
        .pointer("/lastState/terminated")
        .is_some_and(Value::is_object)
    {
        return None;
    }
    status
        .pointer("/state/waiting")
        .filter(|w| w.is_object())
        .map(|w| {
            w.get("reason")
                .and_then(Value::as_str)
                .unwrap_or("waiting")
                .to_string()
        })
}

/// The log settings of one request: the task's parameters over the run's settings.
struct LogRequest {
    params: LogParams,
    /// Bytes kept at most (also enforced here, in case a server ignores `limitBytes`).
    limit: Option<u64>,
    /// How long a silent stream is waited for.
    idle: Duration,
}

fn log_request(
    ctx: &TaskContext,
    container: &str,
    previous: bool,
) -> Result<LogRequest, TaskError> {
    let p = &ctx.params;
    let settings = &ctx.env.logs;
    let limit = params::u64_opt(p, "limitBytes")?.or(settings.limit_bytes);
    let since = params::u64_opt(p, "sinceSeconds")?.or(settings.since.map(|d| d.as_secs()));
    let tail = params::u64_opt(p, "tailLines")?.or(settings.tail);
    let params = LogParams {
        container: Some(container.to_string()),
        previous,
        // The API refuses 0 for both: 0 seconds or bytes would mean "nothing" anyway.
        since_seconds: since.filter(|n| *n > 0).map(|n| n as i64),
        tail_lines: tail.map(|n| n as i64),
        limit_bytes: limit.filter(|n| *n > 0).map(|n| n as i64),
        timestamps: params::bool_opt(p, "timestamps")?.unwrap_or(false),
        ..LogParams::default()
    };
    let idle = settings.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT);
    Ok(LogRequest {
        params,
        limit: limit.filter(|n| *n > 0),
        idle,
    })
}

/// A success with no artifact whose item says why.
fn skipped(ctx: &TaskContext, note: String) -> TaskOutput {
    tracing::info!(node = %ctx.node, "{note}");
    TaskOutput {
        items: vec![json!({"skipped": true, "note": note})].into(),
    }
}

/// For `previous: ifRestarted`: the reason there is no previous log to ask for, when the
/// container never restarted.
fn never_restarted(
    ctx: &TaskContext,
    pod: &params::PodRef<'_>,
    container: &str,
) -> Result<Option<String>, TaskError> {
    // The pod object: the parameter itself, else the fan-out's `pod` variable.
    let obj = pod.object.or_else(|| {
        ctx.vars
            .get("pod")
            .filter(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(pod.name))
    });
    let Some(obj) = obj else {
        return Err(TaskError::invalid(
            "`previous: ifRestarted` needs the Pod object to read restartCount: pass `pod: \"{{pod}}\"`",
        ));
    };
    Ok((restart_count(obj, container).unwrap_or(0) == 0).then(|| {
        format!(
            "no previous log: container {container} of pod {} has not restarted",
            pod.name
        )
    }))
}

/// After the API server refused a current log with 400: whether the container has not started,
/// asked of the pod as it is now (the listed object may be older than the refusal). A
/// transient failure of that question is the task's, so the engine asks again later.
async fn waiting_now(
    ctx: &TaskContext,
    ns: &str,
    pod: &str,
    container: &str,
) -> Result<bool, TaskError> {
    let what = format!("get pod {pod} in namespace {ns}");
    let url = kubeapi::path::object("v1", Some(ns), "pods", pod);
    let got = retry::within(ctx, || async {
        let req = hyper::Request::get(url.as_str())
            .body(Vec::new())
            .map_err(|e| TaskError::invalid(format!("{what}: {e}")))?;
        api::send_json(ctx, req, &what).await
    })
    .await;
    match got {
        Ok(obj) => Ok(not_started(&obj, container).is_some()),
        Err(e) if e.is_transient() => Err(e),
        Err(_) => Ok(false),
    }
}

#[async_trait::async_trait]
impl TaskKind for Logs {
    fn name(&self) -> &'static str {
        "k8s.logs"
    }
    fn description(&self) -> &'static str {
        "stream one container's current or previous log to the bundle"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    /// Log streams hold a connection each for as long as the log takes: the engine bounds them
    /// apart from quick gets and lists.
    fn class(&self) -> &'static str {
        "logs"
    }
    fn stream(&self, params: &Value, vars: &Value) -> Option<crate::engine::StreamLoad> {
        crate::collect::api::pod_stream(params, vars, false)
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let pod = params::pod_ref(p, "pod")?;
        let container = params::str_req(p, "container")?;
        let ns = pod.namespace_in(p, &ctx.vars)?;
        let previous = previous_param(p)?;
        if let (Previous::No, Some(obj)) = (previous, pod.object) {
            if let Some(why) = super::running::no_current_log(obj, container) {
                return Ok(super::running::skipped(obj, why));
            }
        }
        if previous == Previous::IfRestarted {
            if let Some(note) = never_restarted(ctx, &pod, container)? {
                return Ok(skipped(ctx, note));
            }
        }
        let Some(out_path) = &ctx.output else {
            return Err(TaskError::invalid(
                "k8s.logs needs an `output` path for the log (e.g. pods/{{pod.metadata.name}}/logs/{{container.name}}.log)",
            ));
        };
        let lr = log_request(ctx, container, previous != Previous::No)?;
        let what = format!(
            "{}log of container {container} in pod {} (namespace {ns})",
            if lr.params.previous { "previous " } else { "" },
            pod.name
        );
        let req = kube::core::Request::new(kubeapi::path::collection("v1", Some(ns), "pods"))
            .logs(&kubeapi::path::encode(pod.name), &lr.params)
            .map_err(|e| TaskError::invalid(format!("{what}: {e}")))?;
        // Held until the log is copied: the node's kubelet serves it till then.
        let _node = api::node_slot(ctx, ns, pod.name, false).await?;
        let res = match api::send(ctx, req, &what).await {
            Ok(res) => res,
            // A container that has not started (pending pod, image pull failure, init containers
            // still running) has no log yet: that is the cluster's state, which pod.yaml shows,
            // not a failure to collect. The API server says so with a 400; the pod's container
            // status tells it from the other 400s (a container name that is not the pod's).
            Err(e) if !lr.params.previous && e.status() == Some(400) => {
                if waiting_now(ctx, ns, pod.name, container).await? {
                    return Ok(skipped(ctx, format!("no log: {}", e.message)));
                }
                return Err(e);
            }
            // A pod from a list that is gone now was deleted during the collection: the task
            // fails with the API's error (the bundle says what could not be collected and why;
            // the pod's object, listed before, is in it).
            Err(e) if pod.object.is_some() && params::gone(&e) => {
                return Err(params::deleted_during_collection(e));
            }
            Err(e) => return Err(e),
        };
        let mut w = ctx
            .sink
            .create(out_path)
            .map_err(|e| TaskError::failed(e.to_string()))?;
        let copied = copy_log(ctx, res.into_body(), &mut w, &lr, &what).await?;
        w.finish().map_err(|e| TaskError::failed(e.to_string()))?;
        Ok(TaskOutput {
            items: vec![json!({"bytes": copied.written, "truncated": copied.cut})].into(),
        })
    }
}

/// What [`copy_log`] kept.
struct Copied {
    written: u64,
    /// The log was cut (by the byte limit or a silent stream) and ends with a marker line.
    cut: bool,
}

/// Streams a log body into `w` chunk by chunk, cutting it at the byte limit and closing a
/// stream that sends nothing for the idle timeout; a cut log ends with a marker line.
async fn copy_log(
    ctx: &TaskContext,
    mut body: kube::client::Body,
    w: &mut (dyn Write + Send),
    lr: &LogRequest,
    what: &str,
) -> Result<Copied, TaskError> {
    let wr =
        |e: std::io::Error| TaskError::failed(format!("{what}: writing the artifact failed: {e}"));
    let truncated = |max: u64| {
        format!(
            "\n[kudo-diag: log truncated at {max} bytes (limitBytes, or the logLimitBytes setting)]\n"
        )
    };
    let mut written: u64 = 0;
    let mut ending = None;
    loop {
        let chunk = match tokio::time::timeout(lr.idle, api::next_chunk(ctx, &mut body, what)).await
        {
            Err(_) => {
                ending = Some(format!(
                    "\n[kudo-diag: the log stream sent nothing for {}; closed after {written} bytes]\n",
                    humantime::format_duration(lr.idle)
                ));
                break;
            }
            Ok(None) => break,
            Ok(Some(c)) => c?,
        };
        let mut data = &chunk[..];
        if let Some(max) = lr.limit {
            let room = max.saturating_sub(written) as usize;
            if data.len() > room {
                data = &data[..room];
                ending = Some(truncated(max));
            }
        }
        w.write_all(data).map_err(wr)?;
        written += data.len() as u64;
        if ending.is_some() {
            break;
        }
    }
    if let (None, Some(max)) = (&ending, lr.limit) {
        // The server applies limitBytes itself and cuts silently: say so in the log.
        if written >= max {
            ending = Some(truncated(max));
        }
    }
    if let Some(e) = &ending {
        w.write_all(e.as_bytes()).map_err(wr)?;
    }
    Ok(Copied {
        written,
        cut: ending.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_count_reads_regular_and_init_containers() {
        let pod = json!({"status": {
            "containerStatuses": [{"name": "cassandra", "restartCount": 2}],
            "initContainerStatuses": [{"name": "init", "restartCount": 0}]
        }});
        assert_eq!(restart_count(&pod, "cassandra"), Some(2));
        assert_eq!(restart_count(&pod, "init"), Some(0));
        assert_eq!(restart_count(&pod, "nope"), None);
    }

    #[test]
    fn a_container_waiting_to_start_has_no_log_yet() {
        let pod = |statuses: Value| {
            json!({"spec": {"containers": [{"name": "cassandra"}], "initContainers": [{"name": "init"}]},
                "status": statuses})
        };
        let waiting = pod(json!({"containerStatuses": [
            {"name": "cassandra", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
        assert_eq!(
            not_started(&waiting, "cassandra").as_deref(),
            Some("ContainerCreating")
        );
        // Not scheduled yet: no status at all.
        assert_eq!(
            not_started(&pod(json!({"phase": "Pending"})), "init").as_deref(),
            Some("no status yet")
        );
        // Running, or waiting to restart after it ran: it has a log.
        let running = pod(json!({"containerStatuses": [
            {"name": "cassandra", "state": {"running": {}}}]}));
        assert_eq!(not_started(&running, "cassandra"), None);
        let crashloop = pod(json!({"containerStatuses": [
            {"name": "cassandra", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1}}}]}));
        assert_eq!(not_started(&crashloop, "cassandra"), None);
        // A container the pod does not have: the 400 is the pipeline's mistake.
        assert_eq!(not_started(&waiting, "nope"), None);
    }

    #[test]
    fn previous_accepts_the_three_forms() {
        assert_eq!(previous_param(&json!({})).unwrap(), Previous::No);
        assert_eq!(
            previous_param(&json!({"previous": true})).unwrap(),
            Previous::Yes
        );
        assert_eq!(
            previous_param(&json!({"previous": "ifRestarted"})).unwrap(),
            Previous::IfRestarted
        );
        assert!(previous_param(&json!({"previous": "sometimes"})).is_err());
    }
}
