//! Exec into a simulated pod (`GET /api/v1/namespaces/NS/pods/NAME/exec`) over WebSocket with
//! the Kubernetes channel protocol (`v5.channel.k8s.io`, `v4.channel.k8s.io`).
//!
//! Every binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 status (a
//! `metav1.Status` JSON with the exit code), 4 resize; v5 adds 255 "close" (`[255, channel]`, client to server).
//! The answer comes from the scenario's exec handlers (exact argv, prefix or regex, narrowed by
//! pod regex and container). Two commands work without a handler because kubectl and the
//! collector rely on them: `tar cf - PATH` (what `kubectl cp` runs) writes a real tar stream of
//! the scenario's `files`, and `cat PATH` prints one of them. Anything else answers like a
//! container runtime: `executable file not found in $PATH` with exit code 127 (126 when the
//! path is a file that is not executable).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::WebSocketUpgrade;
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde_json::{json, Value};

use super::exec_index::ExecIndex;
use super::logs::{container_status, resolve_container};
use super::scenario::{ExecHandler, ExecMatch, FileSpec, Scenario};
use super::state::SimState;
use super::status::ApiStatus;

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const STATUS: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5 only: `[CLOSE, channel]`, sent by the client when its stdin ends. The server never sends
/// it: the status message and the websocket close end the output (kubectl logs "Unknown stream
/// id 255" otherwise).
pub const CLOSE: u8 = 255;

/// What a session reads at once from the client (it grows for a larger message).
const READ_BUFFER: usize = 4 * 1024;

/// The subprotocols spoken, preferred first.
pub const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i32,
}

impl ExecOutcome {
    fn fail(stderr: String, exit_code: i32) -> Self {
        ExecOutcome {
            stdout: Vec::new(),
            stderr: stderr.into_bytes(),
            exit_code,
        }
    }
}

/// The exec request's parameters.
#[derive(Debug, Clone, Default)]
pub struct ExecQuery {
    pub command: Vec<String>,
    pub container: Option<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl ExecQuery {
    pub fn parse(query: &[(String, String)]) -> Self {
        let flag = |k: &str| {
            query
                .iter()
                .any(|(n, v)| n == k && (v == "true" || v == "1"))
        };
        ExecQuery {
            command: query
                .iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v.clone())
                .collect(),
            container: query
                .iter()
                .find(|(k, _)| k == "container")
                .map(|(_, v)| v.clone())
                .filter(|c| !c.is_empty()),
            stdin: flag("stdin"),
            stdout: flag("stdout"),
            stderr: flag("stderr"),
            tty: flag("tty"),
        }
    }
}

/// Runs `argv` in the simulated container: a handler, a built-in (`tar cf -`, `cat`), or the
/// container runtime's error. `sh -c SCRIPT`/`bash -c SCRIPT` also finds a handler written for
/// the script's words, so handlers need not care how the collector wraps its commands.
pub fn run_command(sc: &Scenario, pod: &str, container: &str, argv: &[String]) -> ExecOutcome {
    run_command_with_env(sc, pod, container, argv, &HashMap::new())
}

/// [`run_command`] in a container with environment `env`, which `sh -c` scripts expand
/// (`$VAR`, `${VAR}`; unknown variables are empty, as in a shell).
pub fn run_command_with_env(
    sc: &Scenario,
    pod: &str,
    container: &str,
    argv: &[String],
    env: &HashMap<String, String>,
) -> ExecOutcome {
    Container {
        sc,
        ix: &ExecIndex::new(sc),
        pod,
        name: container,
        env,
    }
    .run(argv)
}

/// A container of a pod of the scenario, with the index of the scenario's handlers and files
/// (the server keeps one in `SimState::exec_index`) and the container's environment.
pub struct Container<'a> {
    pub sc: &'a Scenario,
    pub ix: &'a ExecIndex,
    pub pod: &'a str,
    pub name: &'a str,
    pub env: &'a HashMap<String, String>,
}

impl Container<'_> {
    /// [`run_command_with_env`], with the scenario's index.
    pub fn run(&self, argv: &[String]) -> ExecOutcome {
        let (sc, ix, pod, container) = (self.sc, self.ix, self.pod, self.name);
        if let Some(h) = ix.find_handler(sc, pod, container, argv) {
            return ExecOutcome {
                stdout: h.stdout.clone().into_bytes(),
                stderr: h.stderr.clone().into_bytes(),
                exit_code: h.exit_code,
            };
        }
        if let Some(script) = shell_script(argv) {
            let words: Vec<String> = expand_env(script, self.env)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !words.is_empty() && shell_script(&words).is_none() {
                return self.run(&words);
            }
        }
        let Some(program) = argv.first() else {
            return ExecOutcome::fail(
                "you must specify at least one command for the container\n".into(),
                1,
            );
        };
        let base = program.rsplit('/').next().unwrap_or(program);
        match base {
            "tar" => return tar_command(self, argv),
            "cat" if argv.len() > 1 => return cat_command(self, &argv[1..]),
            "tail" if argv.len() > 1 => return tail_command(self, &argv[1..]),
            _ => {}
        }
        // A program some handler knows, called with arguments none expects: say so plainly.
        if ix
            .handlers(sc, pod, container)
            .any(|h| handler_program(h) == Some(program.as_str()))
        {
            return ExecOutcome::fail(
                format!("{program}: the simulated cluster has no scripted answer for {:?}; add an exec handler to the scenario\n", argv.join(" ")),
                1,
            );
        }
        if self.files().any(|f| f.path == *program) {
            return ExecOutcome::fail(
                format!("exec: \"{program}\": permission denied: the file is not executable\n"),
                126,
            );
        }
        ExecOutcome::fail(
            format!("exec: \"{program}\": executable file not found in $PATH\n"),
            127,
        )
    }

    fn files(&self) -> impl Iterator<Item = &FileSpec> {
        self.ix.files(self.sc, self.pod, self.name)
    }
}

fn handler_program(h: &ExecHandler) -> Option<&str> {
    match &h.matcher {
        ExecMatch::Exact(a) | ExecMatch::Prefix(a) => a.first().map(String::as_str),
        ExecMatch::Regex(_) => None,
    }
}

fn shell_script(argv: &[String]) -> Option<&str> {
    match argv {
        [sh, c, script] if c == "-c" && matches!(sh.rsplit('/').next(), Some("sh" | "bash")) => {
            Some(script)
        }
        _ => None,
    }
}

/// Expands `$VAR` and `${VAR}` from `env`; enough for the one-line scripts collectors run.
fn expand_env(script: &str, env: &HashMap<String, String>) -> String {
    static VAR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
            .expect("a valid regex")
    });
    VAR.replace_all(script, |c: &regex::Captures| {
        let name = c
            .get(1)
            .or_else(|| c.get(2))
            .map(|m| m.as_str())
            .unwrap_or_default();
        env.get(name).cloned().unwrap_or_default()
    })
    .into_owned()
}

/// The literal environment of a pod's container (`env[].value`; references are left out).
pub fn container_env(pod: &Value, container: &str) -> HashMap<String, String> {
    ["containers", "initContainers"]
        .iter()
        .filter_map(|k| pod["spec"][k].as_array())
        .flatten()
        .filter(|c| c["name"].as_str() == Some(container))
        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn cat_command(c: &Container, paths: &[String]) -> ExecOutcome {
    let mut out = ExecOutcome::default();
    for p in paths {
        match c.files().find(|f| f.path == *p) {
            Some(f) => out.stdout.extend_from_slice(f.content.as_bytes()),
            None => {
                out.stderr
                    .extend_from_slice(format!("cat: {p}: No such file or directory\n").as_bytes());
                out.exit_code = 1;
            }
        }
    }
    out
}

/// `tail [-n LINES | -c BYTES] FILE` over a scenario file (GNU tail's default: 10 lines), what
/// the collector runs to read an application's own log files.
fn tail_command(c: &Container, args: &[String]) -> ExecOutcome {
    let usage = |why: &str| ExecOutcome::fail(format!("tail: {why}\n"), 1);
    let (mut lines, mut bytes, mut path) = (Some(10usize), None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-n" | "-c" => {
                let Some(n) = it.next().and_then(|n| n.parse::<usize>().ok()) else {
                    return usage(&format!("invalid number after {a}"));
                };
                if a == "-n" {
                    (lines, bytes) = (Some(n), None);
                } else {
                    (lines, bytes) = (None, Some(n));
                }
            }
            "--" => path = it.next().cloned(),
            p if !p.starts_with('-') => path = Some(p.to_string()),
            other => return usage(&format!("option {other} is not simulated")),
        }
    }
    let Some(path) = path else {
        return usage("no file given (the simulated tail reads files only)");
    };
    let Some(f) = c.files().find(|f| f.path == path) else {
        return ExecOutcome::fail(
            format!("tail: cannot open '{path}' for reading: No such file or directory\n"),
            1,
        );
    };
    let content = f.content.as_bytes();
    let start = match (lines, bytes) {
        (_, Some(b)) => content.len().saturating_sub(b),
        (Some(n), None) => {
            // The start of the n-th line from the end (a final newline ends the last line).
            let body = content.strip_suffix(b"\n").unwrap_or(content);
            let mut seen = 0;
            body.iter()
                .rposition(|&c| {
                    seen += usize::from(c == b'\n');
                    c == b'\n' && seen == n
                })
                .map(|i| i + 1)
                .unwrap_or(0)
        }
        (None, None) => 0,
    };
    ExecOutcome {
        stdout: content[start..].to_vec(),
        ..ExecOutcome::default()
    }
}

/// `tar cf - PATH...` (also `tar -cf -`, `tar cf - -C DIR PATH` is not needed by kubectl).
fn tar_command(c: &Container, argv: &[String]) -> ExecOutcome {
    let args = &argv[1..];
    let create_to_stdout =
        matches!(args, [mode, dash, ..] if (mode == "cf" || mode == "-cf") && dash == "-");
    if !create_to_stdout {
        return ExecOutcome::fail(
            format!(
                "tar: the simulated cluster only supports `tar cf - PATH` (got {:?})\n",
                argv.join(" ")
            ),
            2,
        );
    }
    let mut tar = TarWriter::default();
    let mut out = ExecOutcome::default();
    for path in &args[2..] {
        let dir = format!("{}/", path.trim_end_matches('/'));
        let mut entries: Vec<&FileSpec> = c
            .files()
            .filter(|f| f.path == *path || f.path.starts_with(&dir))
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        if entries.is_empty() {
            out.stderr.extend_from_slice(
                format!("tar: {path}: Cannot stat: No such file or directory\n").as_bytes(),
            );
            out.exit_code = 2;
            continue;
        }
        if entries.iter().any(|f| f.path != *path) {
            tar.dir(&dir);
        }
        for f in entries {
            tar.file(&f.path, f.content.as_bytes(), f.mode.unwrap_or(0o644));
        }
    }
    if out.exit_code != 0 {
        out.stderr
            .extend_from_slice(b"tar: Exiting with failure status due to previous errors\n");
    }
    out.stdout = tar.finish();
    out
}

/// A minimal ustar writer. Written by hand rather than adding the `tar` crate: the simulated
/// cluster only ever writes small regular files and directories, which is one 512-byte header
/// each plus the padded content.
#[derive(Default)]
pub struct TarWriter {
    out: Vec<u8>,
}

impl TarWriter {
    /// GNU tar drops the leading `/` of absolute names; kubectl expects that.
    fn header(&mut self, path: &str, size: u64, mode: u32, kind: u8) {
        let name = path.trim_start_matches('/');
        let mut h = [0u8; 512];
        let (prefix, short) = if name.len() > 100 {
            // ustar splits long names at a `/` into prefix (155) and name (100).
            let cut = name[..name.len().min(155)].rfind('/').unwrap_or(0);
            (&name[..cut], &name[cut + 1..])
        } else {
            ("", name)
        };
        let put = |h: &mut [u8; 512], off: usize, len: usize, s: &[u8]| {
            let n = s.len().min(len);
            h[off..off + n].copy_from_slice(&s[..n]);
        };
        put(&mut h, 0, 100, short.as_bytes());
        put(&mut h, 100, 8, format!("{mode:07o}\0").as_bytes());
        put(&mut h, 108, 8, b"0000000\0");
        put(&mut h, 116, 8, b"0000000\0");
        put(&mut h, 124, 12, format!("{size:011o}\0").as_bytes());
        put(
            &mut h,
            136,
            12,
            format!("{:011o}\0", 1_764_000_000u64).as_bytes(),
        );
        h[156] = kind;
        put(&mut h, 257, 6, b"ustar\0");
        put(&mut h, 263, 2, b"00");
        put(&mut h, 265, 32, b"root");
        put(&mut h, 297, 32, b"root");
        put(&mut h, 345, 155, prefix.as_bytes());
        // The checksum is computed with its own field as spaces.
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        put(&mut h, 148, 8, format!("{sum:06o}\0 ").as_bytes());
        self.out.extend_from_slice(&h);
    }

    pub fn dir(&mut self, path: &str) {
        let p = format!("{}/", path.trim_end_matches('/'));
        self.header(&p, 0, 0o755, b'5');
    }

    pub fn file(&mut self, path: &str, content: &[u8], mode: u32) {
        self.header(path, content.len() as u64, mode, b'0');
        self.out.extend_from_slice(content);
        let pad = (512 - content.len() % 512) % 512;
        self.out.extend(std::iter::repeat_n(0u8, pad));
    }

    /// Two zero blocks end the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend(std::iter::repeat_n(0u8, 1024));
        self.out
    }
}

/// The status message of the channel protocol for an exit code.
pub fn status_json(exit_code: i32) -> Value {
    if exit_code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command, exit code {exit_code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": exit_code.to_string()}]}
        })
    }
}

/// Frames `data` on `channel`, split into messages of at most 32 KiB.
pub fn frames(channel: u8, data: &[u8]) -> Vec<Vec<u8>> {
    data.chunks(32 * 1024)
        .map(|c| {
            let mut m = Vec::with_capacity(c.len() + 1);
            m.push(channel);
            m.extend_from_slice(c);
            m
        })
        .collect()
}

/// Checks an exec request against its pod as the API server and kubelet do, before any
/// upgrade: a client whose websocket upgrade is refused retries with SPDY (kubectl does), and
/// that retry must get the same error, so the router answers a non-websocket request with this
/// error when there is one. Returns the parsed query and the container.
pub fn validate_exec(
    pod: &Value,
    query: &[(String, String)],
) -> Result<(ExecQuery, String), ApiStatus> {
    let q = ExecQuery::parse(query);
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    if q.command.is_empty() {
        return Err(ApiStatus::bad_request(
            "you must specify at least 1 command",
        ));
    }
    if !(q.stdin || q.stdout || q.stderr) {
        return Err(ApiStatus::bad_request(
            "you must specify at least 1 of stdin, stdout, stderr",
        ));
    }
    let container = resolve_container(pod, q.container.as_deref(), false)?;
    if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
        return Err(ApiStatus::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let running =
        container_status(pod, &container).is_none_or(|s| s["state"]["running"].is_object());
    if !running {
        return Err(ApiStatus::bad_request(format!(
            "unable to upgrade connection: container not found (\"{container}\")"
        )));
    }
    Ok((q, container))
}

/// Answers an exec request on `pod` (the full pod object).
pub fn serve_exec(
    state: Arc<SimState>,
    pod: Arc<Value>,
    query: Vec<(String, String)>,
    ws: WebSocketUpgrade,
) -> Response {
    let (q, container) = match validate_exec(&pod, &query) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // A client sends the server little (stdin is not read, close and resize messages are a few
    // bytes): a small read buffer, which tungstenite zeroes on every read, instead of its 128
    // KiB default.
    let ws = ws.protocols(PROTOCOLS).read_buffer_size(READ_BUFFER);
    if ws.selected_protocol().is_none() {
        return ApiStatus::bad_request(format!(
            "exec needs one of the websocket subprotocols {}; upgrade kubectl or the client",
            PROTOCOLS.join(", ")
        ))
        .into_response();
    }
    let env = container_env(&pod, &container);
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let pod_key = format!("{ns}/{name}");
    let node = pod["spec"]["nodeName"].as_str().map(str::to_string);
    ws.on_upgrade(move |socket| async move {
        // In flight on the pod's node and in the pod while the command runs and its output and
        // exit status are sent (the closing handshake after that is the connection's, not the
        // command's).
        let label = format!("exec {pod_key} {}", q.command.join(" "));
        let guard = state.load.stream(node.as_deref(), &pod_key, true, label);
        let runs = state.faults.exec_latency(&q.command);
        if !runs.is_zero() {
            tokio::time::sleep(runs).await;
        }
        let outcome = Container {
            sc: &state.scenario,
            ix: &state.exec_index,
            pod: &name,
            name: &container,
            env: &env,
        }
        .run(&q.command);
        session(socket, q, outcome, guard).await;
    })
}

async fn session(
    socket: WebSocket,
    q: ExecQuery,
    outcome: ExecOutcome,
    running: super::load::StreamGuard,
) {
    use futures::{SinkExt, StreamExt};
    let mut messages = Vec::new();
    if q.stdout {
        messages.extend(frames(STDOUT, &outcome.stdout));
    }
    // With a tty there is no separate stderr: it joins stdout, as on a terminal.
    if q.tty && q.stdout {
        messages.extend(frames(STDOUT, &outcome.stderr));
    } else if q.stderr {
        messages.extend(frames(STDERR, &outcome.stderr));
    }
    let mut status = vec![STATUS];
    status.extend_from_slice(status_json(outcome.exit_code).to_string().as_bytes());

    let (mut tx, mut rx) = socket.split();
    // Input (stdin, resize, close) is read and dropped: no scripted command reads stdin. Reading
    // keeps the connection healthy and notices a client that leaves.
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    // The output is queued and written with one flush, not a TLS record and a write per
    // message; the exit status and the close follow in a second one, as a kubelet's do after
    // the process has written its output. (With output, status and close in one write,
    // kubectl exec once printed nothing and exited 0, in a full test run on a loaded machine.)
    for m in messages {
        if tx.feed(Message::Binary(m.into())).await.is_err() {
            reader.abort();
            return;
        }
    }
    if tx.flush().await.is_err() {
        reader.abort();
        return;
    }
    // The command has exited once its exit status is known: it stops counting on its node and
    // pod before the status goes out, as a kubelet's process has ended before it reports the
    // status. (Counted until after the status was sent, a client that starts its next command
    // the moment it reads the status could be seen as running two.)
    drop(running);
    let close = Message::Close(Some(CloseFrame {
        code: 1000,
        reason: "".into(),
    }));
    for m in [Message::Binary(status.into()), close] {
        if tx.feed(m).await.is_err() {
            reader.abort();
            return;
        }
    }
    if tx.flush().await.is_err() {
        reader.abort();
        return;
    }
    // Give the client a moment to answer the close, then let go.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), reader).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::ExecHandler;

    fn handler(
        pod: Option<&str>,
        container: Option<&str>,
        m: ExecMatch,
        out: &str,
        code: i32,
    ) -> ExecHandler {
        ExecHandler {
            pod: pod.map(str::to_string),
            container: container.map(str::to_string),
            matcher: m,
            stdout: out.into(),
            stderr: String::new(),
            exit_code: code,
        }
    }

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    fn scenario() -> Scenario {
        let mut sc = Scenario {
            name: "t".into(),
            namespace: "demo".into(),
            ..Default::default()
        };
        sc.exec = vec![
            handler(
                Some("cassandra-[0-9]+"),
                Some("cassandra"),
                ExecMatch::Exact(argv("nodetool status")),
                "UN 10.0.0.1\n",
                0,
            ),
            handler(
                Some("cassandra-2"),
                None,
                ExecMatch::Prefix(argv("nodetool")),
                "down\n",
                2,
            ),
            handler(
                None,
                None,
                ExecMatch::Regex("^nodetool (info|version)$".into()),
                "ReleaseVersion: 3.11.7\n",
                0,
            ),
        ];
        sc.files = vec![
            FileSpec {
                pod: None,
                container: None,
                path: "/etc/cassandra/cassandra.yaml".into(),
                content: "cluster_name: demo\n".into(),
                mode: None,
            },
            FileSpec {
                pod: None,
                container: None,
                path: "/etc/cassandra/jvm.options".into(),
                content: "-Xmx1G\n".into(),
                mode: None,
            },
        ];
        sc
    }

    #[test]
    fn handlers_match_by_argv_pod_and_container() {
        let sc = scenario();
        let r = run_command(&sc, "cassandra-0", "cassandra", &argv("nodetool status"));
        assert_eq!(
            (r.stdout.as_slice(), r.exit_code),
            (&b"UN 10.0.0.1\n"[..], 0)
        );
        // Exact for pods 0-9 comes first; cassandra-2 has its own prefix answer for the rest.
        let r = run_command(&sc, "cassandra-2", "cassandra", &argv("nodetool tpstats"));
        assert_eq!(r.exit_code, 2);
        let r = run_command(&sc, "cassandra-0", "exporter", &argv("nodetool status"));
        assert_ne!(r.stdout, b"UN 10.0.0.1\n");
        let r = run_command(&sc, "x", "y", &argv("nodetool version"));
        assert_eq!(r.exit_code, 0);
        // The pod regex must match the whole name.
        let r = run_command(
            &sc,
            "old-cassandra-0",
            "cassandra",
            &argv("nodetool status"),
        );
        assert_ne!(r.stdout, b"UN 10.0.0.1\n");
    }

    #[test]
    fn shell_wrapped_commands_find_their_handler() {
        let sc = scenario();
        let cmd = vec![
            "sh".to_string(),
            "-c".to_string(),
            "nodetool status".to_string(),
        ];
        assert_eq!(
            run_command(&sc, "cassandra-1", "cassandra", &cmd).stdout,
            b"UN 10.0.0.1\n"
        );
    }

    #[test]
    fn shell_scripts_expand_the_container_environment() {
        let sc = scenario();
        let env: HashMap<String, String> =
            [("CONF".to_string(), "/etc/cassandra".to_string())].into();
        let cmd = vec![
            "sh".into(),
            "-c".into(),
            "cat ${CONF}/cassandra.yaml $UNSET".into(),
        ];
        let r = run_command_with_env(&sc, "p", "c", &cmd, &env);
        assert_eq!(r.stdout, b"cluster_name: demo\n");
        let pod = json!({"spec": {"containers": [{"name": "c", "env": [
            {"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]}]}});
        assert_eq!(
            container_env(&pod, "c"),
            HashMap::from([("A".to_string(), "1".to_string())])
        );
    }

    #[test]
    fn unknown_commands_fail_like_a_container_runtime() {
        let sc = scenario();
        let r = run_command(
            &sc,
            "cassandra-0",
            "cassandra",
            &argv("kafka-topics.sh --list"),
        );
        assert_eq!(r.exit_code, 127);
        assert_eq!(
            String::from_utf8_lossy(&r.stderr),
            "exec: \"kafka-topics.sh\": executable file not found in $PATH\n"
        );
        let r = run_command(
            &sc,
            "cassandra-0",
            "cassandra",
            &argv("/etc/cassandra/jvm.options"),
        );
        assert_eq!(r.exit_code, 126);
        let r = run_command(&sc, "cassandra-0", "cassandra", &argv("nodetool ring"));
        assert_eq!(r.exit_code, 1);
        assert!(String::from_utf8_lossy(&r.stderr).contains("add an exec handler"));
    }

    #[test]
    fn tail_prints_the_end_of_scenario_files() {
        let mut sc = scenario();
        sc.files.push(FileSpec {
            pod: None,
            container: None,
            path: "/var/log/app.log".into(),
            content: "one\ntwo\nthree\n".into(),
            mode: None,
        });
        let run = |cmd: &str| run_command(&sc, "cassandra-0", "cassandra", &argv(cmd));
        assert_eq!(run("tail -n 2 /var/log/app.log").stdout, b"two\nthree\n");
        assert_eq!(
            run("tail -n 9 /var/log/app.log").stdout,
            b"one\ntwo\nthree\n"
        );
        assert_eq!(run("tail -c 6 /var/log/app.log").stdout, b"three\n");
        let shell = ["sh", "-c", "tail -n 1 /var/log/app.log"].map(String::from);
        assert_eq!(
            run_command(&sc, "cassandra-0", "cassandra", &shell).stdout,
            b"three\n",
            "through a shell, as the collector runs it"
        );
        let missing = run("tail -n 1 /var/log/nope.log");
        assert_eq!(missing.exit_code, 1);
        assert!(String::from_utf8_lossy(&missing.stderr).contains("No such file or directory"));
    }

    #[test]
    fn cat_prints_scenario_files() {
        let sc = scenario();
        let r = run_command(&sc, "p", "c", &argv("cat /etc/cassandra/cassandra.yaml"));
        assert_eq!(
            (r.stdout.as_slice(), r.exit_code),
            (&b"cluster_name: demo\n"[..], 0)
        );
        assert_eq!(run_command(&sc, "p", "c", &argv("cat /nope")).exit_code, 1);
    }

    /// Reads back a tar stream: (name, type flag, content), checking each header's checksum.
    fn untar(data: &[u8]) -> Vec<(String, u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut off = 0;
        while off + 512 <= data.len() {
            let h = &data[off..off + 512];
            if h.iter().all(|&b| b == 0) {
                break;
            }
            let field = |a: usize, b: usize| {
                String::from_utf8_lossy(&h[a..b])
                    .trim_end_matches('\0')
                    .trim()
                    .to_string()
            };
            let stored = u32::from_str_radix(field(148, 154).trim(), 8).unwrap();
            let sum: u32 = h
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        b as u32
                    }
                })
                .sum();
            assert_eq!(stored, sum, "checksum");
            let name = field(0, 100);
            let size = u64::from_str_radix(&field(124, 135), 8).unwrap() as usize;
            let content = data[off + 512..off + 512 + size].to_vec();
            out.push((name, h[156], content));
            off += 512 + size.div_ceil(512) * 512;
        }
        assert_eq!(data.len() % 512, 0);
        out
    }

    #[test]
    fn tar_of_a_file_and_a_directory() {
        let sc = scenario();
        let r = run_command(
            &sc,
            "p",
            "c",
            &argv("tar cf - /etc/cassandra/cassandra.yaml"),
        );
        assert_eq!(r.exit_code, 0);
        let entries = untar(&r.stdout);
        assert_eq!(
            entries,
            vec![(
                "etc/cassandra/cassandra.yaml".to_string(),
                b'0',
                b"cluster_name: demo\n".to_vec()
            )]
        );
        let r = run_command(&sc, "p", "c", &argv("tar cf - /etc/cassandra"));
        let names: Vec<_> = untar(&r.stdout).into_iter().map(|e| e.0).collect();
        assert_eq!(
            names,
            [
                "etc/cassandra/",
                "etc/cassandra/cassandra.yaml",
                "etc/cassandra/jvm.options"
            ]
        );
        let r = run_command(&sc, "p", "c", &argv("tar cf - /var/nope"));
        assert_eq!(r.exit_code, 2);
        assert!(
            String::from_utf8_lossy(&r.stderr).contains("Cannot stat: No such file or directory")
        );
    }

    #[test]
    fn long_names_use_the_ustar_prefix() {
        let mut t = TarWriter::default();
        let long = format!("/data/{}/{}", "d".repeat(80), "f".repeat(60));
        t.file(&long, b"x", 0o644);
        let data = t.finish();
        assert_eq!(String::from_utf8_lossy(&data[0..60]), "f".repeat(60));
        assert!(String::from_utf8_lossy(&data[345..500])
            .starts_with(&format!("data/{}", "d".repeat(80))));
    }

    #[test]
    fn status_and_framing() {
        assert_eq!(status_json(0)["status"], "Success");
        let s = status_json(3);
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(
            s["details"]["causes"][0],
            json!({"reason": "ExitCode", "message": "3"})
        );
        let data = vec![7u8; 70 * 1024];
        let f = frames(STDOUT, &data);
        assert_eq!(f.len(), 3);
        assert!(f.iter().all(|m| m[0] == STDOUT));
        assert_eq!(f.iter().map(|m| m.len() - 1).sum::<usize>(), data.len());
        assert!(frames(STDERR, b"").is_empty());
    }

    #[test]
    fn query_parsing_keeps_repeated_commands() {
        let q: Vec<(String, String)> = [
            ("command", "nodetool"),
            ("command", "status"),
            ("container", "cassandra"),
            ("stdout", "true"),
            ("tty", "false"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let q = ExecQuery::parse(&q);
        assert_eq!(q.command, ["nodetool", "status"]);
        assert_eq!(q.container.as_deref(), Some("cassandra"));
        assert!(q.stdout && !q.stderr && !q.tty && !q.stdin);
    }
}
