//! `k8s.logs`: one container's log (current, or the previous instance) streamed chunk by chunk
//! into the task's `output`, so memory does not grow with the log.
//!
//! `previous: ifRestarted` asks for the previous log only when the container's `restartCount`
//! is above zero (read from the Pod object, passed as `pod: "{{pod}}"` or bound as `pod` in the
//! fan-out variables): the API answers 400 for a container that never restarted, and that is
//! not a failure of the collection. Skipping is a success with no artifact, and the item says why.
//!
//! Run settings: `logSince` (a duration, `24h`, or seconds) -> `sinceSeconds`, `logTail` (lines)
//! -> `tailLines`, `logLimitBytes` -> `limitBytes` (also enforced here, in case a server ignores
//! it; a cut log ends with a marker line); a task's own `sinceSeconds`, `tailLines` and
//! `limitBytes` parameters override them for that task; `logIdleTimeout` (default 30s): a stream that sends
//! nothing for that long is closed and kept, with a marker line, rather than failing the task
//! (a hung kubelet must not cost the whole log we already have).

use std::io::Write;
use std::time::Duration;

use kube::core::subresource::LogParams;
use serde_json::{json, Value};

use crate::collect::{api, params};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

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
    TaskError::permanent(format!(
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

/// A duration setting: `90`, `"90"` (seconds) or `"1h30m"`.
pub fn duration_setting(
    settings: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<Duration>, TaskError> {
    match settings.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            if let Some(secs) = params::as_u64(v) {
                return Ok(Some(Duration::from_secs(secs)));
            }
            v.as_str()
                .and_then(|s| humantime::parse_duration(s).ok())
                .map(Some)
                .ok_or_else(|| {
                    TaskError::permanent(format!(
                        "setting `{name}` must be a duration like 30s or 24h, found {v}"
                    ))
                })
        }
    }
}

fn u64_setting(
    settings: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<u64>, TaskError> {
    match settings.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => params::as_u64(v).map(Some).ok_or_else(|| {
            TaskError::permanent(format!(
                "setting `{name}` must be a non-negative integer, found {v}"
            ))
        }),
    }
}

/// Whether a log request failed because the container has not started: the API server answers
/// 400 with "is waiting to start" (ContainerCreating, PodInitializing, image pull errors).
fn not_started(message: &str) -> bool {
    message.contains(": 400 ") && message.contains("is waiting to start")
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
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let p = &ctx.params;
        let pod = params::pod_ref(p, "pod")?;
        let container = params::str_req(p, "container")?;
        let ns = pod.namespace_in(p, &ctx.vars)?;
        let previous = previous_param(p)?;
        if previous == Previous::IfRestarted {
            // The pod object: the parameter itself, else the fan-out's `pod` variable.
            let obj = pod.object.or_else(|| {
                ctx.vars.get("pod").filter(|o| {
                    o.pointer("/metadata/name").and_then(Value::as_str) == Some(pod.name)
                })
            });
            let Some(obj) = obj else {
                return Err(TaskError::permanent(
                    "`previous: ifRestarted` needs the Pod object to read restartCount: pass `pod: \"{{pod}}\"`",
                ));
            };
            let restarts = restart_count(obj, container).unwrap_or(0);
            if restarts == 0 {
                let note = format!(
                    "no previous log: container {container} of pod {} has not restarted",
                    pod.name
                );
                tracing::info!(node = %ctx.node, "{note}");
                return Ok(TaskOutput {
                    items: vec![json!({"skipped": true, "note": note})].into(),
                });
            }
        }
        let Some(out_path) = &ctx.output else {
            return Err(TaskError::permanent(
                "k8s.logs needs an `output` path for the log (e.g. pods/{{pod.metadata.name}}/logs/{{container.name}}.log)",
            ));
        };

        let settings = &ctx.env.settings;
        let limit = match params::u64_opt(p, "limitBytes")? {
            Some(n) => Some(n),
            None => u64_setting(settings, "logLimitBytes")?,
        };
        let since = match params::u64_opt(p, "sinceSeconds")? {
            Some(n) => Some(n),
            None => duration_setting(settings, "logSince")?.map(|d| d.as_secs()),
        };
        let tail = match params::u64_opt(p, "tailLines")? {
            Some(n) => Some(n),
            None => u64_setting(settings, "logTail")?,
        };
        let lp = LogParams {
            container: Some(container.to_string()),
            previous: previous != Previous::No,
            // The API refuses 0 for both: 0 seconds or bytes would mean "nothing" anyway.
            since_seconds: since.filter(|n| *n > 0).map(|n| n as i64),
            tail_lines: tail.map(|n| n as i64),
            limit_bytes: limit.filter(|n| *n > 0).map(|n| n as i64),
            timestamps: params::bool_opt(p, "timestamps")?.unwrap_or(false),
            ..LogParams::default()
        };
        let idle = duration_setting(settings, "logIdleTimeout")?.unwrap_or(DEFAULT_IDLE_TIMEOUT);
        let what = format!(
            "{}log of container {container} in pod {} (namespace {ns})",
            if lp.previous { "previous " } else { "" },
            pod.name
        );
        let req = kube::core::Request::new(format!(
            "/api/v1/namespaces/{}/pods",
            crate::collect::resources::path_segment(ns)
        ))
        .logs(&crate::collect::resources::path_segment(pod.name), &lp)
        .map_err(|e| TaskError::permanent(format!("{what}: {e}")))?;
        let res = match api::send(ctx, req, &what).await {
            Ok(res) => res,
            // A container that has not started (pending pod, image pull failure, init containers
            // still running) has no log yet: that is the cluster's state, which pod.yaml shows,
            // not a failure to collect.
            Err(e) if !lp.previous && not_started(&e.message) => {
                let note = format!("no log: {}", e.message);
                tracing::info!(node = %ctx.node, "{note}");
                return Ok(TaskOutput {
                    items: vec![json!({"skipped": true, "note": note})].into(),
                });
            }
            // A pod from a list that is gone now was deleted during the collection: the task
            // fails with the API's error (the bundle says what could not be collected and why;
            // the pod's object, listed before, is in it).
            Err(e) if pod.object.is_some() && params::gone(&e) => {
                return Err(params::deleted_during_collection(e));
            }
            Err(e) => return Err(e),
        };
        let mut body = res.into_body();
        let mut w = ctx
            .sink
            .create(out_path)
            .map_err(|e| TaskError::permanent(e.to_string()))?;
        let wr = |e: std::io::Error| {
            TaskError::permanent(format!("{what}: writing the artifact failed: {e}"))
        };
        let mut written: u64 = 0;
        let mut ending = None;
        loop {
            let chunk = match tokio::time::timeout(idle, api::next_chunk(ctx, &mut body, &what))
                .await
            {
                Err(_) => {
                    ending = Some(format!(
                        "\n[kudo-diag: the log stream sent nothing for {}; closed after {written} bytes]\n",
                        humantime::format_duration(idle)
                    ));
                    break;
                }
                Ok(None) => break,
                Ok(Some(c)) => c?,
            };
            let mut data = &chunk[..];
            if let Some(max) = limit.filter(|n| *n > 0) {
                let room = max.saturating_sub(written) as usize;
                if data.len() > room {
                    data = &data[..room];
                    ending = Some(format!(
                        "\n[kudo-diag: log truncated at {max} bytes (limitBytes, or the logLimitBytes setting)]\n"
                    ));
                }
            }
            w.write_all(data).map_err(wr)?;
            written += data.len() as u64;
            if ending.is_some() {
                break;
            }
        }
        if let (None, Some(max)) = (&ending, limit.filter(|n| *n > 0)) {
            // The server applies limitBytes itself and cuts silently: say so in the log.
            if written >= max {
                ending = Some(format!(
                    "\n[kudo-diag: log truncated at {max} bytes (limitBytes, or the logLimitBytes setting)]\n"
                ));
            }
        }
        if let Some(e) = &ending {
            w.write_all(e.as_bytes()).map_err(wr)?;
        }
        w.finish()
            .map_err(|e| TaskError::permanent(e.to_string()))?;
        Ok(TaskOutput {
            items: vec![json!({"bytes": written, "truncated": ending.is_some()})].into(),
        })
    }
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
        assert!(not_started(
            "log of container cassandra in pod p (namespace n): 400 bad request: container \"cassandra\" in pod \"p\" is waiting to start: ContainerCreating"
        ));
        assert!(!not_started("log of ...: 400 bad request: previous terminated container \"c\" in pod \"p\" not found"));
        assert!(!not_started(
            "log of ...: 404 not found: pods \"p\" not found"
        ));
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

    #[test]
    fn durations_take_seconds_or_humantime() {
        let mut s = serde_json::Map::new();
        s.insert("a".into(), json!(90));
        s.insert("b".into(), json!("2h"));
        s.insert("c".into(), json!("soon"));
        assert_eq!(
            duration_setting(&s, "a").unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            duration_setting(&s, "b").unwrap(),
            Some(Duration::from_secs(7200))
        );
        assert!(duration_setting(&s, "c").is_err());
        assert_eq!(duration_setting(&s, "d").unwrap(), None);
    }
}
