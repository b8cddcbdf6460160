//! The pod log endpoint (`GET /api/v1/namespaces/NS/pods/NAME/log`), with the real query
//! parameters and the real errors of the API server and kubelet.
//!
//! The body is streamed: a blocking producer (file reads and line rendering stay off the async
//! workers) renders lines into 32 KiB chunks and hands them over a bounded channel, so memory
//! stays flat however large the log, and a client that goes away stops the producer.
//! Two behaviours are added after the lines: `follow` keeps the stream open until the client
//! closes or [`FOLLOW_IDLE`] passes, and the scenario's `stallLogsAfterBytes` fault stops
//! sending in the middle of the body and hangs until the client gives up.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::loglines::{self, LogWindow};
use super::scenario::{LogSource, LogSpec};
use super::state::SimState;
use super::status::ApiStatus;

/// How long a `follow` stream stays open with nothing more to send.
pub const FOLLOW_IDLE: Duration = Duration::from_secs(5);

const CHUNK: usize = 32 * 1024;

/// The parameters of a log request, validated.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub container: Option<String>,
    pub previous: bool,
    pub tail_lines: Option<u64>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<DateTime<Utc>>,
    pub limit_bytes: Option<u64>,
    pub timestamps: bool,
    pub follow: bool,
}

impl LogQuery {
    /// Parses the query string of a log request, with the API server's validation errors.
    pub fn parse(pod: &str, q: &HashMap<String, String>) -> Result<Self, ApiStatus> {
        let flag = |k: &str| -> Result<bool, ApiStatus> {
            match q.get(k).map(String::as_str) {
                None | Some("") | Some("false") | Some("0") => Ok(false),
                Some("true") | Some("1") => Ok(true),
                Some(v) => Err(ApiStatus::bad_request(format!(
                    "invalid value {v:?} for query parameter {k}: use true or false"
                ))),
            }
        };
        let int = |k: &str| -> Result<Option<i64>, ApiStatus> {
            match q.get(k) {
                None => Ok(None),
                Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                    ApiStatus::bad_request(format!(
                        "invalid value {v:?} for query parameter {k}: expected an integer"
                    ))
                }),
            }
        };
        let invalid = |field: &str, v: i64, why: &str| {
            ApiStatus::new(
                422,
                "Invalid",
                format!("PodLogOptions \"{pod}\" is invalid: {field}: Invalid value: {v}: {why}"),
            )
        };
        let tail_lines = match int("tailLines")? {
            Some(v) if v < 0 => {
                return Err(invalid(
                    "tailLines",
                    v,
                    "must be greater than or equal to 0",
                ))
            }
            v => v.map(|v| v as u64),
        };
        let since_seconds = match int("sinceSeconds")? {
            Some(v) if v < 1 => return Err(invalid("sinceSeconds", v, "must be greater than 0")),
            v => v,
        };
        let limit_bytes = match int("limitBytes")? {
            Some(v) if v < 1 => return Err(invalid("limitBytes", v, "must be greater than 0")),
            v => v.map(|v| v as u64),
        };
        let since_time = match q.get("sinceTime") {
            None => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| {
                        ApiStatus::bad_request(format!(
                            "invalid value {s:?} for query parameter sinceTime: expected an RFC 3339 time like 2026-01-02T15:04:05Z"
                        ))
                    })?
                    .with_timezone(&Utc),
            ),
        };
        if since_seconds.is_some() && since_time.is_some() {
            return Err(ApiStatus::new(
                422,
                "Invalid",
                format!("PodLogOptions \"{pod}\" is invalid: []: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"),
            ));
        }
        Ok(LogQuery {
            container: q.get("container").filter(|c| !c.is_empty()).cloned(),
            previous: flag("previous")?,
            tail_lines,
            since_seconds,
            since_time,
            limit_bytes,
            timestamps: flag("timestamps")?,
            follow: flag("follow")?,
        })
    }
}

/// The names of a pod's containers and init containers.
pub fn container_names(pod: &Value) -> (Vec<String>, Vec<String>) {
    let names = |key: &str| -> Vec<String> {
        pod["spec"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    (names("containers"), names("initContainers"))
}

/// Picks the container a request means, with the API server's errors: a pod with one
/// container needs no name; several need one.
pub fn resolve_container(
    pod: &Value,
    requested: Option<&str>,
    with_init: bool,
) -> Result<String, ApiStatus> {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let (containers, inits) = container_names(pod);
    match requested {
        Some(c) => {
            if containers.iter().any(|x| x == c) || inits.iter().any(|x| x == c) {
                Ok(c.to_string())
            } else {
                Err(ApiStatus::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )))
            }
        }
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            );
            if with_init && !inits.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                ));
            }
            Err(ApiStatus::bad_request(msg))
        }
    }
}

/// The status of one container of a pod (init or not), if the pod has it.
pub fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][k].as_array())
        .flatten()
        .find(|s| s["name"].as_str() == Some(container))
}

fn find_log<'a>(
    state: &'a SimState,
    ns: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> Option<&'a LogSpec> {
    let sc = &state.scenario;
    sc.logs.iter().find(|l| {
        l.pod == pod
            && l.container == container
            && l.previous == previous
            && l.namespace.as_deref().unwrap_or(&sc.namespace) == ns
    })
}

/// Chooses what to stream, as the kubelet's `validateContainerLogStatus` does: `previous`
/// needs a terminated previous instance; a waiting container with no previous one has no log.
fn choose_source(
    state: &SimState,
    ns: &str,
    pod: &str,
    container: &str,
    status: Option<&Value>,
    previous: bool,
) -> Result<Option<LogSource>, ApiStatus> {
    let spec = |prev| find_log(state, ns, pod, container, prev).map(|l| l.source.clone());
    let last_terminated = status.is_some_and(|s| s["lastState"]["terminated"].is_object());
    if previous {
        return match spec(true) {
            Some(src) if last_terminated || status.is_none() => Ok(Some(src)),
            None if last_terminated => Ok(None),
            _ => Err(ApiStatus::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            ))),
        };
    }
    if let Some(src) = spec(false) {
        return Ok(Some(src));
    }
    let Some(status) = status else {
        // The kubelet knows no such container yet (the pod is still being set up).
        return Err(ApiStatus::bad_request(format!(
            "container \"{container}\" in pod \"{pod}\" is not available"
        )));
    };
    let state_of = &status["state"];
    if state_of["running"].is_object() || state_of["terminated"].is_object() {
        return Ok(None);
    }
    if last_terminated {
        // A container waiting to restart (CrashLoopBackOff) shows its last instance's log.
        return Ok(spec(true));
    }
    if let Some(reason) = state_of["waiting"]["reason"].as_str() {
        let why = match reason {
            "ErrImagePull" => "image can't be pulled".to_string(),
            "ImagePullBackOff" => "trying and failing to pull image".to_string(),
            r => r.to_string(),
        };
        return Err(ApiStatus::bad_request(format!(
            "container \"{container}\" in pod \"{pod}\" is waiting to start: {why}"
        )));
    }
    Ok(None)
}

/// Answers a pod log request for `pod` (the full pod object).
pub fn serve_log(state: &SimState, pod: &Value, query: &HashMap<String, String>) -> Response {
    serve_log_with_idle(state, pod, query, FOLLOW_IDLE)
}

/// [`serve_log`] with another idle timeout for `follow` (tests use a short one).
pub fn serve_log_with_idle(
    state: &SimState,
    pod: &Value,
    query: &HashMap<String, String>,
    follow_idle: Duration,
) -> Response {
    match prepare(state, pod, query, follow_idle) {
        Ok(resp) => resp,
        Err(status) => status.into_response(),
    }
}

fn prepare(
    state: &SimState,
    pod: &Value,
    query: &HashMap<String, String>,
    follow_idle: Duration,
) -> Result<Response, ApiStatus> {
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or(&state.scenario.namespace)
        .to_string();
    let q = LogQuery::parse(&name, query)?;
    let container = resolve_container(pod, q.container.as_deref(), true)?;
    // An unscheduled pod has no kubelet to ask: the API server refuses, as it has since
    // Kubernetes 1.20 (`LogLocation` in pkg/registry/core/pod/strategy.go).
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    if !scheduled {
        return Err(ApiStatus::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let source = choose_source(
        state,
        &ns,
        &name,
        &container,
        container_status(pod, &container),
        q.previous,
    )?;
    let now = Utc::now();
    let since = q
        .since_time
        .or_else(|| q.since_seconds.map(|s| now - chrono::Duration::seconds(s)));
    let window = LogWindow {
        since,
        tail: q.tail_lines,
    };
    let anchor = log_anchor(state);
    let lines = match &source {
        Some(src) => Some(
            loglines::open(src, anchor, window).map_err(|e| ApiStatus::internal(e.to_string()))?,
        ),
        None => None,
    };
    // The effective faults: the scenario's, overridden by the server's flags.
    let stall = state.faults.config.stall_logs_after_bytes;
    let limit = match (q.limit_bytes, stall) {
        (Some(l), Some(s)) => Some(l.min(s)),
        (l, s) => l.or(s),
    };
    let stalls = stall.is_some_and(|s| q.limit_bytes.is_none_or(|l| s < l));

    let tail = if stalls {
        Ending::Stall
    } else if q.follow {
        Ending::Follow
    } else {
        Ending::Close
    };
    // The stream on the pod's node (`SimState::load`). A log that closes stops counting when
    // its last byte is handed to the body, before the client can have seen its end; one that
    // stays open (follow, a stall) counts until the body ends.
    let node = pod["spec"]["nodeName"].as_str();
    let counted = state.load.stream(
        node,
        &format!("{ns}/{name}"),
        false,
        format!("log {ns}/{name} {container}"),
    );
    let (until_handed, until_ended) = match tail {
        Ending::Close => (Some(counted), None),
        Ending::Follow | Ending::Stall => (None, Some(counted)),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    if let Some(lines) = lines {
        let timestamps = q.timestamps;
        tokio::task::spawn_blocking(move || {
            produce(lines, timestamps, limit, &tx);
            drop(until_handed);
            drop(tx);
        });
    } else {
        drop(until_handed);
        drop(tx);
    }
    let stream = futures::stream::unfold(
        (rx, Some(tail), until_ended),
        move |(mut rx, ending, counted)| async move {
            match rx.recv().await {
                Some(item) => Some((item, (rx, ending, counted))),
                None => {
                    match ending? {
                        Ending::Close => {}
                        Ending::Follow => tokio::time::sleep(follow_idle).await,
                        Ending::Stall => futures::future::pending::<()>().await,
                    }
                    drop(counted);
                    None
                }
            }
        },
    );
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(resp)
}

/// The moment logs without timestamps end: when the simulated cluster started, so that
/// repeated requests agree and `sinceSeconds` finds the recent lines.
fn log_anchor(state: &SimState) -> DateTime<Utc> {
    state.started
}

enum Ending {
    Close,
    Follow,
    Stall,
}

/// Renders lines into chunks until the end, `limit` bytes, or the receiver going away.
fn produce(
    lines: loglines::LineIter,
    timestamps: bool,
    limit: Option<u64>,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 1024);
    let mut sent = 0u64;
    for line in lines {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        if timestamps {
            buf.extend_from_slice(loglines::format_timestamp(&line.time).as_bytes());
            buf.push(b' ');
        }
        buf.extend_from_slice(line.text.as_bytes());
        buf.push(b'\n');
        if let Some(limit) = limit {
            if sent + buf.len() as u64 >= limit {
                buf.truncate((limit - sent) as usize);
                let _ = tx.blocking_send(Ok(Bytes::from(buf)));
                return;
            }
        }
        if buf.len() >= CHUNK {
            sent += buf.len() as u64;
            let chunk = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 1024));
            if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return;
            }
        }
    }
    if !buf.is_empty() {
        let _ = tx.blocking_send(Ok(Bytes::from(buf)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::{GeneratedLog, Scenario};
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "cassandra-0", "namespace": "demo"},
            "spec": {
                "nodeName": "node-1",
                "initContainers": [{"name": "init"}],
                "containers": [{"name": "cassandra"}, {"name": "exporter"}]
            },
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "cassandra", "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}},
                {"name": "exporter", "state": {"running": {}}, "lastState": {}}
            ]}
        })
    }

    fn state(stall: Option<u64>) -> SimState {
        let mut sc = Scenario {
            name: "t".into(),
            namespace: "demo".into(),
            ..Default::default()
        };
        sc.logs.push(LogSpec {
            namespace: None,
            pod: "cassandra-0".into(),
            container: "cassandra".into(),
            previous: false,
            source: LogSource::Generate(GeneratedLog {
                lines: Some(100),
                bytes: None,
                seed: 1,
                template: "line {n}".into(),
                start: Some("2026-11-27T10:00:00Z".into()),
                interval_ms: 1000,
                templates: vec![],
            }),
        });
        sc.logs.push(LogSpec {
            namespace: None,
            pod: "cassandra-0".into(),
            container: "cassandra".into(),
            previous: true,
            source: LogSource::Inline("java.lang.OutOfMemoryError: Java heap space\n".into()),
        });
        sc.faults.stall_logs_after_bytes = stall;
        SimState::new(sc, None).unwrap()
    }

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    async fn body(resp: Response) -> (u16, String) {
        let code = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (code, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn container_is_required_when_the_pod_has_several() {
        let (code, b) = body(serve_log(&state(None), &pod(), &q(&[]))).await;
        assert_eq!(code, 400);
        assert!(b.contains("a container name must be specified for pod cassandra-0, choose one of: [cassandra exporter] or one of the init containers: [init]"), "{b}");
        let (code, b) = body(serve_log(
            &state(None),
            &pod(),
            &q(&[("container", "nope")]),
        ))
        .await;
        assert_eq!(code, 400);
        assert!(
            b.contains("container nope is not valid for pod cassandra-0"),
            "{b}"
        );
    }

    #[tokio::test]
    async fn tail_timestamps_and_limit() {
        let st = state(None);
        let (code, b) = body(serve_log(
            &st,
            &pod(),
            &q(&[("container", "cassandra"), ("tailLines", "2")]),
        ))
        .await;
        assert_eq!((code, b.as_str()), (200, "line 98\nline 99\n"));
        let (_, b) = body(serve_log(
            &st,
            &pod(),
            &q(&[
                ("container", "cassandra"),
                ("tailLines", "1"),
                ("timestamps", "true"),
            ]),
        ))
        .await;
        assert_eq!(b, "2026-11-27T10:01:39.000000000Z line 99\n");
        let (_, b) = body(serve_log(
            &st,
            &pod(),
            &q(&[("container", "cassandra"), ("limitBytes", "10")]),
        ))
        .await;
        assert_eq!(b, "line 0\nlin");
        let (_, b) = body(serve_log(
            &st,
            &pod(),
            &q(&[
                ("container", "cassandra"),
                ("sinceTime", "2026-11-27T10:01:38Z"),
            ]),
        ))
        .await;
        assert_eq!(b, "line 98\nline 99\n");
    }

    #[tokio::test]
    async fn previous_and_missing_previous() {
        let st = state(None);
        let (code, b) = body(serve_log(
            &st,
            &pod(),
            &q(&[("container", "cassandra"), ("previous", "true")]),
        ))
        .await;
        assert_eq!(code, 200);
        assert!(b.contains("OutOfMemoryError"));
        let (code, b) = body(serve_log(
            &st,
            &pod(),
            &q(&[("container", "exporter"), ("previous", "true")]),
        ))
        .await;
        assert_eq!(code, 400);
        assert!(
            b.contains(
                r#"previous terminated container \"exporter\" in pod \"cassandra-0\" not found"#
            ),
            "{b}"
        );
    }

    #[tokio::test]
    async fn invalid_parameters_are_rejected() {
        let st = state(None);
        for (k, v) in [
            ("tailLines", "-1"),
            ("sinceSeconds", "0"),
            ("limitBytes", "0"),
        ] {
            let (code, b) = body(serve_log(
                &st,
                &pod(),
                &q(&[("container", "cassandra"), (k, v)]),
            ))
            .await;
            assert_eq!(code, 422, "{k}={v}: {b}");
        }
        let (code, _) = body(serve_log(
            &st,
            &pod(),
            &q(&[("container", "cassandra"), ("tailLines", "x")]),
        ))
        .await;
        assert_eq!(code, 400);
    }

    #[tokio::test]
    async fn waiting_container_without_previous_has_no_log() {
        let mut p = pod();
        p["status"]["containerStatuses"][1]["state"] =
            json!({"waiting": {"reason": "PodInitializing"}});
        let (code, b) = body(serve_log(
            &state(None),
            &p,
            &q(&[("container", "exporter")]),
        ))
        .await;
        assert_eq!(code, 400);
        assert!(b.contains("is waiting to start: PodInitializing"), "{b}");
    }

    #[tokio::test]
    async fn a_pod_that_never_started_answers_like_the_api_server() {
        // Pending and unscheduled: no kubelet to ask.
        let mut p = pod();
        p["spec"]["nodeName"] = Value::Null;
        p["status"] = json!({"phase": "Pending"});
        let (code, b) = body(serve_log(
            &state(None),
            &p,
            &q(&[("container", "exporter")]),
        ))
        .await;
        assert_eq!(code, 400);
        assert!(
            b.contains("pod cassandra-0 does not have a host assigned"),
            "{b}"
        );
        // Scheduled, its containers not created yet: the kubelet has no status for them.
        let mut p = pod();
        p["status"] = json!({"phase": "Pending"});
        let (code, b) = body(serve_log(
            &state(None),
            &p,
            &q(&[("container", "exporter")]),
        ))
        .await;
        assert_eq!(code, 400);
        assert!(
            b.contains(r#"container \"exporter\" in pod \"cassandra-0\" is not available"#),
            "{b}"
        );
        // Created, waiting: the waiting reason.
        p["status"]["containerStatuses"] =
            json!([{"name": "exporter", "state": {"waiting": {"reason": "ContainerCreating"}}}]);
        let (code, b) = body(serve_log(
            &state(None),
            &p,
            &q(&[("container", "exporter")]),
        ))
        .await;
        assert_eq!(code, 400);
        assert!(b.contains("is waiting to start: ContainerCreating"), "{b}");
    }

    #[tokio::test]
    async fn crash_looping_container_shows_its_last_instance() {
        let mut p = pod();
        p["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "CrashLoopBackOff"}});
        let mut sc = (*state(None).scenario).clone();
        sc.logs.retain(|l| l.previous);
        let st = SimState::new(sc, None).unwrap();
        let (code, b) = body(serve_log(&st, &p, &q(&[("container", "cassandra")]))).await;
        assert_eq!(code, 200);
        assert!(b.contains("OutOfMemoryError"));
    }

    #[tokio::test]
    async fn follow_stays_open_until_idle() {
        let idle = Duration::from_millis(200);
        let started = tokio::time::Instant::now();
        let resp = serve_log_with_idle(
            &state(None),
            &pod(),
            &q(&[("container", "cassandra"), ("follow", "true")]),
            idle,
        );
        let (_, b) = body(resp).await;
        assert!(b.ends_with("line 99\n"));
        assert!(started.elapsed() >= idle);
        // Without follow the stream ends at once.
        let started = tokio::time::Instant::now();
        let _ = body(serve_log_with_idle(
            &state(None),
            &pod(),
            &q(&[("container", "cassandra")]),
            idle,
        ))
        .await;
        assert!(started.elapsed() < idle);
    }

    /// Regression: the server's count of a log stream outlived the client's release of it (by
    /// the connection's teardown), so a client that kept 2 streams on a node was seen with 3.
    #[tokio::test]
    async fn a_log_stops_counting_on_its_node_when_its_last_byte_is_handed_over() {
        use futures::StreamExt;
        let mut sc = (*state(None).scenario).clone();
        // Larger than the channel holds (4 chunks of 32 KiB): the producer waits for the client.
        sc.logs[0].source = LogSource::Generate(GeneratedLog {
            lines: None,
            bytes: Some(400 * 1024),
            seed: 1,
            template: "line {n} {word} {word} {word}".into(),
            start: None,
            interval_ms: 1000,
            templates: vec![],
        });
        let st = SimState::new(sc, None).unwrap();
        let resp = serve_log(&st, &pod(), &q(&[("container", "cassandra")]));
        assert_eq!(
            st.load.snapshot().streams_now,
            1,
            "counted while it streams"
        );
        let mut stream = resp.into_body().into_data_stream();
        let mut got = 0;
        let mut chunks = Vec::new();
        while let Some(c) = stream.next().await {
            got += c.unwrap().len();
            chunks.push(st.load.snapshot().streams_now);
        }
        assert!(got >= 400 * 1024 - 100, "{got}");
        assert_eq!(chunks.first(), Some(&1), "{chunks:?}");
        // The end is seen only once the last chunk was handed over: the count is down by then.
        assert_eq!(st.load.snapshot().streams_now, 0);
        let s = st.load.snapshot();
        assert_eq!((s.max_streams_per_node, s.max_streams), (1, 1));
    }

    #[tokio::test]
    async fn a_following_log_counts_until_its_body_ends() {
        let st = state(None);
        let idle = Duration::from_millis(200);
        let resp = serve_log_with_idle(
            &st,
            &pod(),
            &q(&[("container", "cassandra"), ("follow", "true")]),
            idle,
        );
        let body = tokio::spawn(body(resp));
        tokio::time::sleep(idle / 2).await;
        assert_eq!(st.load.snapshot().streams_now, 1, "open while it follows");
        body.await.unwrap();
        assert_eq!(st.load.snapshot().streams_now, 0);
    }

    #[tokio::test]
    async fn an_error_is_not_a_stream() {
        let st = state(None);
        let (code, _) = body(serve_log(&st, &pod(), &q(&[]))).await;
        assert_eq!(code, 400);
        assert_eq!(st.load.snapshot().max_streams, 0);
    }

    #[tokio::test]
    async fn stalled_stream_hangs_after_its_bytes() {
        use futures::StreamExt;
        let resp = serve_log(&state(Some(20)), &pod(), &q(&[("container", "cassandra")]));
        let mut stream = resp.into_body().into_data_stream();
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(&first[..], b"line 0\nline 1\nline 2");
        let next = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
        assert!(next.is_err(), "the stream should hang after the stall");
    }
}
