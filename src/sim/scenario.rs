//! Scenarios: what the simulated cluster holds. A scenario is YAML (docs/scenarios.md) with
//! Kubernetes objects, container logs, exec handlers, permissions and faults.
//!
//! These types are the contract between the server (which serves them) and the scenario
//! loader, the built-in scenarios and the generator (which make them).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Keeps the folder its logs are read from for as long as the scenario lives (a served
    /// bundle's spool, `from_bundle::Spool`): the server holds the scenario, so the files go
    /// with the server. Not part of the format.
    #[serde(skip)]
    pub keep_alive: Option<std::sync::Arc<super::from_bundle::Spool>>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The main namespace: the kubeconfig's context uses it.
    pub namespace: String,
    /// What `/version` answers.
    #[serde(default)]
    pub server_version: ServerVersion,
    /// Kubernetes objects of any kind (full objects with apiVersion, kind, metadata).
    #[serde(default)]
    pub objects: Vec<Value>,
    #[serde(default)]
    pub logs: Vec<LogSpec>,
    #[serde(default)]
    pub exec: Vec<ExecHandler>,
    #[serde(default)]
    pub permissions: Permissions,
    #[serde(default)]
    pub faults: FaultConfig,
    /// Multi-document YAML files of more objects, relative to the scenario file (or, for a
    /// built-in scenario, names of its embedded object files). Read by `scenarios::load`,
    /// which appends their objects to `objects` and empties this list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_files: Vec<PathBuf>,
    /// Files inside containers, for `tar cf - PATH` (what `kubectl cp` runs) and `cat PATH`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSpec>,
    /// Scripted HTTP answers behind services' and pods' ports, served through the API server's
    /// service proxy (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`) and pod proxy
    /// (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpHandler>,
    /// The discovery a cluster recorded (a list of `APIResourceList`, as troubleshoot's
    /// `resources.json`): when present, served exactly as recorded instead of the built-in
    /// resources of `serverVersion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Value>,
    /// The rules a cluster answered `SelfSubjectRulesReview` with, by namespace (troubleshoot's
    /// `auth-cani-list/NS.json`: `resourceRules` and `nonResourceRules` entries mixed); when
    /// absent, `kubectl auth can-i --list` is answered from `permissions`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub recorded_rules: std::collections::BTreeMap<String, Vec<Value>>,
}

/// A scripted HTTP answer of a service's or a pod's port, reached through the API server's
/// service or pod proxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpHandler {
    /// The namespace; the scenario's when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The Service's name (this or `pod`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// The pod's name (this or `service`): the handler answers on the pod's own port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The port as the request names it (a port name or number of the Service; for a pod, its
    /// number or a container port's name).
    pub port: String,
    /// The path with its query, without the leading `/` (`commands/stat`); any path when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// HTTP status (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: String,
}

/// A file inside the containers of matching pods.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileSpec {
    /// Pod name or regex; any pod when absent.
    #[serde(default)]
    pub pod: Option<String>,
    /// Container name; any container when absent.
    #[serde(default)]
    pub container: Option<String>,
    /// Absolute path inside the container.
    pub path: String,
    #[serde(default)]
    pub content: String,
    /// Unix permission bits (default 0o644).
    #[serde(default)]
    pub mode: Option<u32>,
}

/// What `/version` answers. A recorded version (a bundle's) keeps every field it had
/// (`gitCommit`, `buildDate`, `goVersion`, `platform`, ...) in `recorded`, served as is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerVersion {
    pub major: String,
    pub minor: String,
    pub git_version: String,
    /// The other fields of `version.Info` as recorded; nothing is made up for those absent.
    #[serde(flatten)]
    pub recorded: serde_json::Map<String, Value>,
}

impl ServerVersion {
    /// The minor version as a number (`"24+"`, as some distributions report it, is 24).
    pub fn minor_number(&self) -> Option<u32> {
        let digits: String = self
            .minor
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }
}

impl Default for ServerVersion {
    fn default() -> Self {
        ServerVersion {
            major: "1".into(),
            minor: "32".into(),
            git_version: "v1.32.4".into(),
            recorded: serde_json::Map::new(),
        }
    }
}

/// The log of one container (current, or the previous instance when `previous`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogSpec {
    /// Defaults to the scenario's namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    pub pod: String,
    pub container: String,
    #[serde(default)]
    pub previous: bool,
    #[serde(flatten)]
    pub source: LogSource,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogSource {
    /// Lines given in the scenario; each line may start with an RFC 3339 timestamp.
    Inline(String),
    /// A file next to the scenario.
    File(PathBuf),
    /// Generated on the fly, never held in memory.
    Generate(GeneratedLog),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneratedLog {
    /// Stop after this many lines (or `bytes`, whichever comes first).
    #[serde(default)]
    pub lines: Option<u64>,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub seed: u64,
    /// A line template: `{n}` the line number, `{word}` a seeded word, `{level}` INFO/WARN/...
    #[serde(default = "default_template")]
    pub template: String,
    /// Time of the first line (RFC 3339); lines are `interval_ms` apart.
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Several line templates: each line uses one, picked by the seed. Overrides `template`
    /// when not empty. Templates may also use `{time}` (log4j style `2026-01-02 15:04:05,000`)
    /// and `{int}` (a seeded number).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<String>,
}

fn default_template() -> String {
    "{level} [main] line {n}: {word} {word} {word}".into()
}

fn default_interval() -> u64 {
    1000
}

/// A scripted answer to an exec.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecHandler {
    /// Pod name or regex (`^cassandra-.*`); any pod when absent.
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(default)]
    pub container: Option<String>,
    #[serde(flatten)]
    pub matcher: ExecMatch,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default)]
    pub exit_code: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExecMatch {
    /// The whole argv.
    Exact(Vec<String>),
    /// The argv starts with these.
    Prefix(Vec<String>),
    /// The argv joined with spaces matches.
    Regex(String),
}

/// What the scenario's user may not do (everything else is allowed). Answers both real
/// requests (403 Forbidden) and SelfSubjectAccessReviews.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Permissions {
    #[serde(default)]
    pub deny: Vec<AccessRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessRule {
    /// `get`, `list`, `create`, ... or `*`.
    pub verbs: Vec<String>,
    /// Plural resource names, with subresources as `pods/exec`; `*` for all.
    pub resources: Vec<String>,
    /// Namespaces the rule applies to; all when empty.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// API groups (`""` for core, `apps`, `kudo.dev`, `*`); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
}

/// Faults, seeded so a run can be reproduced.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    #[serde(default)]
    pub seed: u64,
    /// Added to every response.
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
    /// Share of requests answered 500/503 (0.0 to 1.0).
    #[serde(default)]
    pub error_rate: f64,
    /// Share of requests answered 429 with Retry-After.
    #[serde(default)]
    pub throttle_rate: f64,
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u64,
    /// Share of responses whose connection is dropped in the middle of the body.
    #[serde(default)]
    pub reset_rate: f64,
    /// Log streams that stop sending after this many bytes (and hang until the client gives up).
    #[serde(default)]
    pub stall_logs_after_bytes: Option<u64>,
    /// Pods that vanish (404) once they have been listed.
    #[serde(default)]
    pub vanish_pods: Vec<String>,
    /// How many lists return a vanishing pod before it is gone (default 1): more lets it
    /// vanish in the middle of a collection rather than at its first look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanish_after_lists: Option<u32>,
    /// Latency for requests whose path matches a regex (`/log$`, `^/apis/kudo.dev/`), added to
    /// `latency_ms`/`jitter_ms`; the first matching rule applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_latency: Vec<RouteLatency>,
    /// How long commands run: an exec whose command line (argv joined with spaces) matches a
    /// regex takes that long before it answers (`nodetool` starts a JVM: 1 to 3 s on real
    /// pods); the first matching rule applies. Not a fault: it stays when faults are off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec_latency: Vec<ExecLatency>,
}

/// How long the commands matching `command` (a regex over the argv joined with spaces) run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecLatency {
    pub command: String,
    pub latency_ms: u64,
}

/// Latency of the requests whose path matches `path` (a regex).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteLatency {
    pub path: String,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub jitter_ms: u64,
}

fn default_retry_after() -> u64 {
    1
}
