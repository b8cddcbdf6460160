//! Answers that are refusals: the application ran and said no. ZooKeeper answers a four-letter
//! word outside `4lw.commands.whitelist` with "... is not executed because it is not in the
//! whitelist."; nodetool cannot reach the node's JMX port; Kafka's tools are denied by the
//! authorizer; Elasticsearch's security plugin refuses the user. Recorded as such an answer, the
//! bundle would hold the refusal as if it were the data, and nothing would say what to change.
//!
//! [`classify`] is a pure function over what the command printed; [`refusal_error`] turns a
//! refusal into the task's failure, whose message starts with `refused:` and carries the fix.
//! The `app.exec` kind ([`AppExec`]) runs a command like `k8s.exec` and classifies its answer.
//! Where the application offers another way to the same data, its `fallback` asks that way
//! after a refusal (ZooKeeper's AdminServer, `/commands/<word>` over the pod's port 8080, through
//! the API server's pod proxy): the answer is written and kept, and the task still fails as
//! refused, with `fallback` naming the file, so errors.json keeps the refusal and its fix.

use std::io::Write as _;

use serde_json::{json, Value};

use crate::collect::kinds::exec::{run_command, MAX_STDERR};
use crate::collect::kinds::proxy::{proxy_url, stream_to_artifact};
use crate::collect::kinds::running;
use crate::collect::params;
use crate::engine::{ErrorKind, ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

/// Why the application refused, and what to change so it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub fix: String,
}

/// The refusal in an answer, if it is one. Decided from the applications' own messages.
pub fn classify(stdout: &str, stderr: &str) -> Option<Refusal> {
    let both = format!("{stdout}\n{stderr}");
    if let Some(line) = both
        .lines()
        .find(|l| l.contains("is not executed because it is not in the whitelist"))
    {
        let word = line.split_whitespace().next().unwrap_or("the command");
        return Some(Refusal {
            reason: format!("ZooKeeper does not answer the four-letter word {word}: {}", line.trim()),
            fix: format!("add {word} to 4lw.commands.whitelist in zoo.cfg (or use the AdminServer, /commands/{word} on its port 8080, which needs no whitelist)"),
        });
    }
    if let Some(line) = both.lines().find(|l| {
        let l = l.to_ascii_lowercase();
        (l.contains("failed to connect to") || l.contains("jmx"))
            && l.contains("connection refused")
    }) {
        return Some(Refusal {
            reason: format!("nodetool cannot reach Cassandra's JMX port: {}", line.trim()),
            fix: "check that Cassandra is up and listens for JMX (LOCAL_JMX, JMX_PORT 7199 in cassandra-env.sh); with remote JMX authentication, give nodetool -u/-pw".into(),
        });
    }
    if let Some(line) = both.lines().find(|l| {
        l.contains("AuthorizationException")
            || l.contains("Not authorized to access")
            || l.contains("ClusterAuthorizationException")
    }) {
        return Some(Refusal {
            reason: format!("Kafka's authorizer denies the tool: {}", line.trim()),
            fix: "grant the collecting principal Describe on the cluster, topics and groups (kafka-acls --add --allow-principal ... --operation Describe), or run the tool with a client config of an allowed principal (--command-config)".into(),
        });
    }
    if let Some(line) = both.lines().find(|l| l.contains("security_exception")) {
        return Some(Refusal {
            reason: format!("Elasticsearch's security refuses the request: {}", line.trim()),
            fix: "give the collector a user with the monitor cluster privilege (and view_index_metadata on the indices)".into(),
        });
    }
    None
}

/// The task failure for a refusal: of kind `Refused` with the reason and the fix, so errors.json
/// and the analysis tell it from a failure to collect. The message says both too, for a
/// person reading the log.
pub fn refusal_error(r: &Refusal) -> TaskError {
    TaskError::new(
        ErrorKind::Refused {
            reason: r.reason.clone(),
            fix: r.fix.clone(),
            fallback: None,
        },
        format!("refused: {}; fix: {}", r.reason, r.fix),
    )
}

/// The refusal's failure once its fallback answered: the answer is at `path` in the bundle, and
/// the node keeps it (`ErrorKind::keeps_artifacts`).
pub fn refusal_with_fallback(r: &Refusal, path: &str) -> TaskError {
    TaskError::new(
        ErrorKind::Refused {
            reason: r.reason.clone(),
            fix: r.fix.clone(),
            fallback: Some(path.to_string()),
        },
        format!(
            "refused: {}; the fallback answered instead: {path}; fix: {}",
            r.reason, r.fix
        ),
    )
}

/// Where to ask when the application refuses: an HTTP GET to a port of the same pod through the
/// API server's pod proxy (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`), its answer
/// written to `output`. ZooKeeper's AdminServer (`/commands/stat` on port 8080) answers the
/// four-letter words without their whitelist.
struct Fallback<'a> {
    port: String,
    path: &'a str,
    output: &'a str,
}

fn fallback_param(p: &serde_json::Value) -> Result<Option<Fallback<'_>>, TaskError> {
    let Some(f) = p.get("fallback").filter(|f| !f.is_null()) else {
        return Ok(None);
    };
    let port = match f.get("port") {
        Some(v) if v.is_number() => v.to_string(),
        _ => params::str_req(f, "port")
            .map_err(|e| TaskError::invalid(format!("fallback: {}", e.message)))?
            .to_string(),
    };
    let field = |name: &str| {
        params::str_req(f, name).map_err(|e| TaskError::invalid(format!("fallback: {}", e.message)))
    };
    Ok(Some(Fallback {
        port,
        path: field("path")?,
        output: field("output")?,
    }))
}

/// Asks the fallback after `refusal`: the refusal's failure, with the fallback's answer kept
/// when it answered, or saying why it did not.
async fn ask_fallback(
    ctx: &TaskContext,
    ns: &str,
    pod: &str,
    f: &Fallback<'_>,
    refusal: &Refusal,
) -> TaskError {
    let url = proxy_url(ns, "pods", pod, None, &f.port, f.path);
    let what = format!(
        "GET /{} on pod {pod}:{} (namespace {ns}), the fallback of a refused command",
        f.path.trim_start_matches('/'),
        f.port
    );
    let answered = match hyper::Request::get(url).body(Vec::new()) {
        Ok(req) => stream_to_artifact(ctx, req, &what, f.output).await,
        Err(e) => Err(TaskError::failed(format!("{what}: {e}"))),
    };
    match answered {
        Ok(_) => refusal_with_fallback(refusal, f.output),
        Err(e) => {
            let mut r = refusal.clone();
            r.reason = format!(
                "{}; the fallback did not answer either: {}",
                r.reason, e.message
            );
            refusal_error(&r)
        }
    }
}

/// Output kept in memory to classify before it is written: an application's answer, not a log.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

pub struct AppExec;

const PARAMS: &[ParamSpec] = &[
    ParamSpec::required("pod", "the pod: its name, or the Pod object (\"{{pod}}\")"),
    ParamSpec::optional(
        "container",
        "the container (default: the pod's only or default container)",
    ),
    ParamSpec::optional(
        "namespace",
        "the pod's namespace (default: the Pod object's, else the run's)",
    ),
    ParamSpec::required(
        "command",
        "the argv, e.g. [sh, -c, \"echo mntr | nc 127.0.0.1 2181\"]",
    ),
    ParamSpec::optional(
        "fallback",
        "on a refusal, ask this instead: {port, path, output}, an HTTP GET to the pod's port through the API server's pod proxy, written to output (e.g. ZooKeeper's AdminServer: {port: 8080, path: commands/mntr})",
    ),
];

/// Keeps what a command prints, up to [`MAX_ANSWER`].
struct Answer(Vec<u8>);

impl std::io::Write for Answer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_ANSWER {
            return Err(std::io::Error::other(format!(
                "the answer is larger than {MAX_ANSWER} bytes: use k8s.exec, which streams"
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
impl TaskKind for AppExec {
    fn name(&self) -> &'static str {
        "app.exec"
    }
    fn description(&self) -> &'static str {
        "run an application's command like k8s.exec; an answer that is a refusal (4lw whitelist, JMX, Kafka ACLs, Elasticsearch security) fails as refused, with the fix"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
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
        let container = params::str_opt(p, "container")?;
        let command = params::string_list(p, "command")?;
        let fallback = fallback_param(p)?;
        let ns = pod.namespace_in(p, &ctx.vars)?;
        if let Some(skip) = running::skip_if_not_running(pod.object, container) {
            return Ok(skip);
        }
        let Some(out_path) = &ctx.output else {
            return Err(TaskError::failed(
                "app.exec needs an `output` path for the command's answer",
            ));
        };
        let mut answer = Answer(Vec::new());
        let done = run_command(ctx, ns, pod.name, container, &command, &mut answer).await;
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                // A non-zero exit may itself be a refusal (nodetool's JMX error is on stderr).
                if let Some(r) = classify("", &e.message) {
                    return Err(refusal_error(&r));
                }
                return Err(e);
            }
        };
        let stderr = String::from_utf8_lossy(&done.stderr[..done.stderr.len().min(MAX_STDERR)]);
        if let Some(r) = classify(&String::from_utf8_lossy(&answer.0), &stderr) {
            return Err(match &fallback {
                Some(f) => ask_fallback(ctx, ns, pod.name, f, &r).await,
                None => refusal_error(&r),
            });
        }
        let mut w = ctx
            .sink
            .create(out_path)
            .map_err(|e| TaskError::failed(e.to_string()))?;
        w.write_all(&answer.0)
            .map_err(|e| TaskError::failed(format!("writing {out_path} failed: {e}")))?;
        w.finish().map_err(|e| TaskError::failed(e.to_string()))?;
        if !done.stderr.is_empty() {
            ctx.sink
                .put(&format!("{out_path}.stderr"), &done.stderr)
                .map_err(|e| TaskError::failed(e.to_string()))?;
        }
        Ok(TaskOutput {
            items: vec![json!({
                "exitCode": 0,
                "stdoutBytes": answer.0.len(),
                "stderrBytes": done.stderr.len(),
            })]
            .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_applications_refusals_are_recognised() {
        let zk = classify(
            "mntr is not executed because it is not in the whitelist.\n",
            "",
        )
        .unwrap();
        assert!(zk.reason.contains("four-letter word mntr"), "{zk:?}");
        assert!(zk.fix.contains("4lw.commands.whitelist"), "{zk:?}");
        let jmx = classify(
            "",
            "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused (Connection refused)'.",
        )
        .unwrap();
        assert!(jmx.reason.contains("JMX"), "{jmx:?}");
        let kafka = classify(
            "",
            "Error while executing topic command : org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics: [orders]",
        )
        .unwrap();
        assert!(kafka.fix.contains("kafka-acls"), "{kafka:?}");
        let es = classify(
            r#"{"error":{"root_cause":[{"type":"security_exception","reason":"action [cluster:monitor/health] is unauthorized for user [collector]"}]},"status":403}"#,
            "",
        )
        .unwrap();
        assert!(es.fix.contains("monitor"), "{es:?}");
    }

    #[test]
    fn ordinary_answers_are_not_refusals() {
        assert_eq!(
            classify("Zookeeper version: 3.6.2\nMode: leader\n", ""),
            None
        );
        assert_eq!(classify("zk_server_state\tleader\n", ""), None);
        // A log line about JMX that is not a refused connection.
        assert_eq!(classify("JMX enabled by default\n", ""), None);
        let e = refusal_error(&Refusal {
            reason: "r".into(),
            fix: "f".into(),
        });
        assert_eq!(e.message, "refused: r; fix: f");
        assert_eq!(
            e.kind,
            ErrorKind::Refused {
                reason: "r".into(),
                fix: "f".into(),
                fallback: None,
            }
        );
        assert!(!e.is_transient());
    }
}
