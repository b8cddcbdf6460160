//! `k8s.exec`: runs a command (an argv, no shell unless the pipeline asks for one) in a pod's
//! container over the API server's WebSocket exec channel, and streams its stdout to the task's
//! `output`. Standard error goes to a separate artifact, `OUTPUT.stderr`, written only when the
//! command printed something there (a warning on stderr must not be mixed into output an analyzer
//! parses, e.g. `nodetool status`). The exit code is the item the task returns.
//!
//! A non-zero exit is a permanent failure, with the end of stderr in the message: running the
//! same command again gives the same answer. Exec runs in its own concurrency class, "exec",
//! because each one holds a connection and a process in the pod.

use std::io::Write;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, AttachedProcess};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use crate::collect::{api, params};
use crate::engine::{ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};
use crate::kubeapi::path;

pub struct Exec;

/// Standard error kept in memory (and in the artifact) at most; a command that writes more
/// to stderr than this is not producing diagnostics.
pub const MAX_STDERR: usize = 1024 * 1024;

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
    ParamSpec::required("command", "the argv, e.g. [nodetool, status]"),
];

/// The exit code in the Status that ends an exec: `Success` is 0; `NonZeroExitCode` carries
/// the code in a cause with reason `ExitCode`.
pub fn exit_code(status: Option<&Value>) -> Option<i64> {
    let s = status?;
    if s.get("status").and_then(Value::as_str) == Some("Success") {
        return Some(0);
    }
    s.pointer("/details/causes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("reason").and_then(Value::as_str) == Some("ExitCode"))
        .and_then(|c| c.get("message"))
        .and_then(|m| {
            m.as_str()
                .and_then(|m| m.parse().ok())
                .or_else(|| m.as_i64())
        })
}

#[async_trait::async_trait]
impl TaskKind for Exec {
    fn name(&self) -> &'static str {
        "k8s.exec"
    }
    fn description(&self) -> &'static str {
        "run a command in a container; stdout to the artifact, stderr to OUTPUT.stderr, exit code recorded"
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
        let ns = pod.namespace_in(p, &ctx.vars)?;
        if let Some(skip) = super::running::skip_if_not_running(pod.object, container) {
            return Ok(skip);
        }
        let Some(out_path) = &ctx.output else {
            return Err(TaskError::failed(
                "k8s.exec needs an `output` path for the command's stdout",
            ));
        };
        let mut w = ctx
            .sink
            .create(out_path)
            .map_err(|e| TaskError::failed(e.to_string()))?;
        let done = match run_command(ctx, ns, pod.name, container, &command, &mut w).await {
            Ok(done) => done,
            // A pod from a list that is gone now was deleted during the collection: the task
            // fails with the API's error (the bundle says what could not be collected and why;
            // the pod's object, listed before, is in it).
            Err(e) if pod.object.is_some() && params::gone(&e) => {
                return Err(params::deleted_during_collection(e));
            }
            Err(e) => return Err(e),
        };
        w.finish().map_err(|e| TaskError::failed(e.to_string()))?;
        if !done.stderr.is_empty() {
            ctx.sink
                .put(&format!("{out_path}.stderr"), &done.stderr)
                .map_err(|e| TaskError::failed(e.to_string()))?;
        }
        Ok(TaskOutput {
            items: vec![json!({
                "exitCode": 0,
                "stdoutBytes": done.stdout_bytes,
                "stderrBytes": done.stderr.len(),
            })]
            .into(),
        })
    }
}

/// A command that exited 0.
#[derive(Debug)]
pub struct Finished {
    pub stdout_bytes: u64,
    /// At most [`MAX_STDERR`] bytes.
    pub stderr: Vec<u8>,
}

/// Runs `argv` in a container, copying its stdout to `out` as it arrives. A non-zero exit is a
/// permanent error with the end of stderr; no exit status at all (the connection dropped) is a
/// transport error, worth another attempt. Shared by `k8s.exec` and the kinds that run a
/// command for a value (`kudo.versions` tools).
pub async fn run_command(
    ctx: &TaskContext,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    argv: &[String],
    out: &mut (dyn Write + Send),
) -> Result<Finished, TaskError> {
    let what = format!(
        "exec `{}` in pod {pod}{} (namespace {ns})",
        shell_words(argv),
        container
            .map(|c| format!(" container {c}"))
            .unwrap_or_default()
    );
    // Held until the command's exit status is read: the node's kubelet serves it till then.
    let _node = api::node_slot(ctx, ns, pod, true).await?;
    let mut proc = attach(ctx, ns, pod, container, argv, &what).await?;
    let status = proc.take_status();
    let (n_out, err) = match copy_streams(ctx, &mut proc, out, &what).await {
        Ok(read) => read,
        Err(e) => {
            proc.abort();
            return Err(e);
        }
    };
    let status = match status {
        Some(s) => s
            .await
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
        None => None,
    };
    let _ = proc.join().await;
    finish(status.as_ref(), n_out, err, &what)
}

/// Starts `argv` in the container over the exec WebSocket.
async fn attach(
    ctx: &TaskContext,
    ns: &str,
    pod: &str,
    container: Option<&str>,
    argv: &[String],
    what: &str,
) -> Result<AttachedProcess, TaskError> {
    let client = api::client(ctx)?;
    let ns = path::encode(ns);
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    let mut ap = AttachParams::default()
        .stdin(false)
        .stdout(true)
        .stderr(true);
    if let Some(c) = container {
        ap = ap.container(c);
    }
    let name = path::encode(pod);
    tokio::select! {
        r = pods.exec(&name, argv.to_vec(), &ap) => r.map_err(|e| upgrade_error(e, what)),
        _ = ctx.cancel.cancelled() => Err(api::cancelled(what)),
    }
}

/// Copies stdout to `out` and keeps at most [`MAX_STDERR`] bytes of stderr, reading both at
/// once: a command blocked writing a full stderr pipe would otherwise never finish its stdout.
async fn copy_streams(
    ctx: &TaskContext,
    proc: &mut AttachedProcess,
    out: &mut (dyn Write + Send),
    what: &str,
) -> Result<(u64, Vec<u8>), TaskError> {
    let mut stdout = proc
        .stdout()
        .ok_or_else(|| TaskError::failed(format!("{what}: no stdout stream")))?;
    let mut stderr = proc
        .stderr()
        .ok_or_else(|| TaskError::failed(format!("{what}: no stderr stream")))?;
    let wr =
        |e: std::io::Error| TaskError::failed(format!("{what}: writing the output failed: {e}"));
    let copy_out = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut n_out: u64 = 0;
        loop {
            let n = stdout
                .read(&mut buf)
                .await
                .map_err(|e| TaskError::transport(format!("{what}: reading stdout failed: {e}")))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(wr)?;
            n_out += n as u64;
        }
        Ok::<_, TaskError>(n_out)
    };
    let read_err = async {
        let mut err = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = stderr.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            let room = MAX_STDERR.saturating_sub(err.len());
            err.extend_from_slice(&buf[..n.min(room)]);
        }
        err
    };
    tokio::select! {
        r = async { tokio::join!(copy_out, read_err) } => Ok((r.0?, r.1)),
        _ = ctx.cancel.cancelled() => Err(api::cancelled(what)),
    }
}

/// The command's outcome from the Status that ended the exec.
fn finish(
    status: Option<&Value>,
    stdout_bytes: u64,
    stderr: Vec<u8>,
    what: &str,
) -> Result<Finished, TaskError> {
    match exit_code(status) {
        Some(0) => Ok(Finished {
            stdout_bytes,
            stderr,
        }),
        Some(c) => {
            let stderr_text = String::from_utf8_lossy(&stderr);
            let tail = tail(stderr_text.trim(), 500);
            Err(TaskError::failed(format!(
                "{what}: exited with code {c}{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            )))
        }
        // No exit status: the process failed to start (no such container, no such binary) and
        // the Status message says why, or the connection dropped.
        None => Err(
            match status
                .and_then(|s| s.get("message"))
                .and_then(Value::as_str)
            {
                Some(m) => TaskError::failed(format!("{what}: {m}")),
                None => TaskError::transport(format!(
                "{what}: the connection closed before the command's exit status arrived; will retry"
            )),
            },
        ),
    }
}

/// Maps a failed exec upgrade. The WebSocket handshake's error body is not kept by the client,
/// so a 400 (the API server's answer for a container that is not running) gets its likely
/// cause spelled out.
fn upgrade_error(e: kube::Error, what: &str) -> TaskError {
    let mut err = api::kube_error(e, what);
    if err.status() == Some(400) {
        err.message.push_str(
            ": the container is probably not running (waiting, crash-looping or terminated); its state is in the pod's pod.yaml",
        );
    }
    err
}

/// The argv as a person would type it: words with spaces or quotes single-quoted.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && !a.contains(|c: char| c.is_whitespace() || "'\"\\$`|&;<>()".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `max` bytes of `s`, on a character boundary.
fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_from_status() {
        assert_eq!(exit_code(Some(&json!({"status": "Success"}))), Some(0));
        let failed = json!({"status": "Failure", "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "2"}]}});
        assert_eq!(exit_code(Some(&failed)), Some(2));
        let no_start = json!({"status": "Failure", "message": "container not found"});
        assert_eq!(exit_code(Some(&no_start)), None);
        assert_eq!(exit_code(None), None);
    }

    #[test]
    fn commands_are_shown_as_typed() {
        let argv: Vec<String> = ["sh", "-c", "echo srvr | nc 127.0.0.1 2181", "it's"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_words(&argv),
            r#"sh -c 'echo srvr | nc 127.0.0.1 2181' 'it'\''s'"#
        );
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 3), "ab");
    }
}
