//! `k8s.filelog`: the end of a log file an application writes inside its container (Cassandra's
//! `system.log`, `debug.log` and `gc.log`, Kafka's `server.log`, ZooKeeper's `zookeeper.log`),
//! which `kubectl logs` does not show. It runs `tail` over exec (every image the applications
//! ship has it), bounded by the same run settings as container logs:
//!
//! - `logTail` (lines): `tail -n N`;
//! - otherwise `logLimitBytes`, or [`DEFAULT_MAX_BYTES`] when neither is set: `tail -c N`, so a
//!   50 MiB `debug.log` never comes whole;
//! - `logLimitBytes` is also enforced on what arrives, with a marker line where the file was cut.
//!
//! `logSince` cannot apply to a file (its lines carry the application's own timestamps), so it is
//! ignored here. The path goes through `sh -c`, so it may name the container's environment
//! (`${LOG_DIR}/server.log`); it comes from the pipeline, never from the cluster.

use std::io::Write;

use serde_json::{json, Value};

use crate::collect::kinds::exec::run_command;
use crate::collect::kinds::running;
use crate::collect::params;
use crate::engine::{LogSettings, ParamSpec, TaskContext, TaskError, TaskKind, TaskOutput};

pub struct FileLog;

/// Bytes read from the end of a file when the run sets neither `logTail` nor `logLimitBytes`.
pub const DEFAULT_MAX_BYTES: u64 = 8 * 1024 * 1024;

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
        "path",
        "the file inside the container, e.g. /var/log/cassandra/system.log or ${LOG_DIR}/server.log",
    ),
];

/// How much of the file to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Lines(u64),
    Bytes(u64),
}

/// The bound the run's log settings give: `--log-tail` lines, else `--log-limit-bytes` (or the
/// default) bytes.
pub fn bound(settings: &LogSettings) -> Bound {
    match (settings.tail, settings.limit_bytes) {
        (Some(n), _) => Bound::Lines(n),
        (None, Some(b)) if b > 0 => Bound::Bytes(b),
        _ => Bound::Bytes(DEFAULT_MAX_BYTES),
    }
}

/// The command run in the container. The path is the pipeline's, quoted only against spaces
/// so that `${VAR}` still expands.
pub fn command(path: &str, bound: Bound) -> Vec<String> {
    let (flag, n) = match bound {
        Bound::Lines(n) => ("-n", n),
        Bound::Bytes(n) => ("-c", n),
    };
    vec![
        "sh".into(),
        "-c".into(),
        format!("tail {flag} {n} {}", path.replace(' ', "\\ ")),
    ]
}

/// Passes at most `max` bytes on and remembers whether more came.
struct Capped<'a> {
    inner: &'a mut (dyn Write + Send),
    max: Option<u64>,
    written: u64,
    cut: bool,
}

impl Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = match self.max {
            Some(m) => m.saturating_sub(self.written) as usize,
            None => buf.len(),
        };
        if buf.len() > room {
            self.cut = true;
        }
        let n = buf.len().min(room);
        self.inner.write_all(&buf[..n])?;
        self.written += n as u64;
        // Claim the whole buffer: the rest is dropped on purpose.
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[async_trait::async_trait]
impl TaskKind for FileLog {
    fn name(&self) -> &'static str {
        "k8s.filelog"
    }
    fn description(&self) -> &'static str {
        "the end of a log file inside a container (exec tail), bounded by logTail / logLimitBytes"
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
        let path = params::str_req(p, "path")?;
        let ns = pod.namespace_in(p, &ctx.vars)?;
        let Some(out_path) = &ctx.output else {
            return Err(TaskError::failed(
                "k8s.filelog needs an `output` path for the file",
            ));
        };
        if let Some(skip) = running::skip_if_not_running(pod.object, container) {
            return Ok(skip);
        }
        let bound = bound(&ctx.env.logs);
        let limit = ctx.env.logs.limit_bytes.filter(|n| *n > 0);
        let mut w = ctx
            .sink
            .create(out_path)
            .map_err(|e| TaskError::failed(e.to_string()))?;
        let mut capped = Capped {
            inner: &mut w,
            max: limit,
            written: 0,
            cut: false,
        };
        let argv = command(path, bound);
        match run_command(ctx, ns, pod.name, container, &argv, &mut capped).await {
            Ok(_) => {}
            Err(e) if pod.object.is_some() && params::gone(&e) => {
                return Err(params::deleted_during_collection(e));
            }
            Err(e) => return Err(e),
        }
        let (written, cut) = (capped.written, capped.cut);
        if cut {
            let max = limit.unwrap_or_default();
            w.write_all(
                format!(
                    "\n[kudo-diag: file truncated at {max} bytes (the logLimitBytes setting)]\n"
                )
                .as_bytes(),
            )
            .map_err(|e| TaskError::failed(format!("writing {out_path} failed: {e}")))?;
        }
        w.finish().map_err(|e| TaskError::failed(e.to_string()))?;
        Ok(TaskOutput {
            items: vec![json!({"path": path, "bytes": written, "truncated": cut})].into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_win_over_bytes_and_a_default_bounds_the_rest() {
        let logs = |tail, limit_bytes| LogSettings {
            tail,
            limit_bytes,
            ..LogSettings::default()
        };
        assert_eq!(bound(&logs(Some(500), Some(10))), Bound::Lines(500));
        assert_eq!(bound(&logs(None, Some(4096))), Bound::Bytes(4096));
        assert_eq!(bound(&logs(None, None)), Bound::Bytes(DEFAULT_MAX_BYTES));
        assert_eq!(bound(&logs(None, Some(0))), Bound::Bytes(DEFAULT_MAX_BYTES));
    }

    #[test]
    fn the_command_is_tail_through_a_shell() {
        assert_eq!(
            command("${LOG_DIR}/server.log", Bound::Lines(100)),
            vec!["sh", "-c", "tail -n 100 ${LOG_DIR}/server.log"]
        );
        assert_eq!(
            command("/var/log/my app.log", Bound::Bytes(10)),
            vec!["sh", "-c", "tail -c 10 /var/log/my\\ app.log"]
        );
    }

    #[test]
    fn capped_writer_cuts_and_says_so() {
        let mut out: Vec<u8> = Vec::new();
        let mut c = Capped {
            inner: &mut out,
            max: Some(5),
            written: 0,
            cut: false,
        };
        c.write_all(b"abc").unwrap();
        c.write_all(b"defgh").unwrap();
        assert!(c.cut);
        assert_eq!(c.written, 5);
        assert_eq!(out, b"abcde");
    }
}
