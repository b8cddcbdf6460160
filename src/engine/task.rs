//! What a task is to the engine: a `TaskKind` (by name, with the parameters it accepts and the
//! concurrency class it runs in) that is handed a `TaskContext` and answers with a `TaskOutput`
//! or a `TaskError`. The engine decides *when* a node runs; the kind decides *what* it does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::bundle::sink::NodeSink;

/// One parameter a task kind accepts. Validation rejects parameters not listed here and
/// reports required ones that are missing.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub required: bool,
    pub help: &'static str,
}

impl ParamSpec {
    pub const fn required(name: &'static str, help: &'static str) -> Self {
        ParamSpec {
            name,
            required: true,
            help,
        }
    }
    pub const fn optional(name: &'static str, help: &'static str) -> Self {
        ParamSpec {
            name,
            required: false,
            help,
        }
    }
}

/// Services a task may use. Kinds are stateless; what they talk to comes from here, so that a
/// pipeline can be validated with no cluster at all.
#[derive(Clone, Default)]
pub struct TaskEnv {
    /// The Kubernetes client, when the run targets a cluster.
    pub kube: Option<kube::Client>,
    /// Settings for the collect kinds (log limits and the like), as a JSON object.
    pub settings: serde_json::Map<String, Value>,
}

impl std::fmt::Debug for TaskEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskEnv")
            .field("kube", &self.kube.is_some())
            .field("settings", &self.settings)
            .finish()
    }
}

/// Everything one attempt of one node gets.
pub struct TaskContext {
    /// The node's stable id: the task name, plus the fan-out key for expanded nodes
    /// (`pod-logs[cassandra-0/cassandra]`).
    pub node: String,
    /// The task's name in the pipeline.
    pub task: String,
    /// The task's parameters with every template rendered.
    pub params: Value,
    /// The variables the templates saw: the run's globals plus the fan-out variables.
    pub vars: Value,
    /// The task's `output` path in the bundle, rendered; `None` when the task declares none.
    pub output: Option<String>,
    /// Where the task writes its artifacts. Only what goes through here reaches the bundle.
    pub sink: NodeSink,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub env: Arc<TaskEnv>,
    /// Cancelled on Ctrl-C or when the node's timeout expires.
    pub cancel: CancellationToken,
}

/// What a successful attempt hands back to the engine.
#[derive(Debug, Default, Clone)]
pub struct TaskOutput {
    /// Items a fan-out task iterates over (for a list, the objects). Journaled, so that a
    /// resumed run expands exactly the same nodes.
    pub items: Vec<Value>,
}

/// Why an attempt failed, and whether trying again may help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TaskError {
    pub message: String,
    /// Worth retrying (API 429/5xx, connection reset, timeout).
    pub transient: bool,
    /// The server said when to come back (429 Retry-After).
    pub retry_after: Option<Duration>,
}

impl TaskError {
    pub fn permanent(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            transient: false,
            retry_after: None,
        }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            transient: true,
            retry_after: None,
        }
    }
}

/// A kind of task: `synthetic.write`, `k8s.list`, `k8s.logs`, ...
#[async_trait::async_trait]
pub trait TaskKind: Send + Sync + 'static {
    /// The name pipelines use in `kind:`.
    fn name(&self) -> &'static str;
    /// One line for `pipelines kinds` and docs.
    fn description(&self) -> &'static str;
    /// The parameters it accepts.
    fn params(&self) -> &'static [ParamSpec];
    /// The concurrency class it runs in; each class can have its own limit (exec is expensive).
    fn class(&self) -> &'static str {
        "default"
    }
    /// True for a kind whose attempts do little CPU work and keep every blocking call (file
    /// I/O, fsync, compression) on the blocking pool: the scheduler then polls its attempts on
    /// its own task instead of spawning one tokio task per attempt, which at 100,000 cheap
    /// nodes cost more than the work (spawning, waking other worker threads). A kind that
    /// computes much or blocks must keep the default, or it would stall scheduling.
    fn inline(&self) -> bool {
        false
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError>;
}

/// The task kinds a run can use, by name.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<dyn TaskKind>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, kind: impl TaskKind) -> &mut Self {
        self.kinds.insert(kind.name(), Arc::new(kind));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn TaskKind>> {
        self.kinds.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }

    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn TaskKind>> + '_ {
        self.kinds.values()
    }
}
