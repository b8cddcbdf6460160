//! What a task is to the engine: a `TaskKind` (by name, with the parameters it accepts and the
//! concurrency class it runs in) that is handed a `TaskContext` and answers with a `TaskOutput`
//! or a `TaskError`. The engine decides *when* a node runs; the kind decides *what* it does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::bundle::sink::NodeSink;
pub use crate::failure::ErrorKind;

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
    /// How much of each log the log kind fetches.
    pub logs: LogSettings,
}

/// The run's log limits (`run --log-since/--log-tail/--log-limit-bytes`); a task's own
/// `sinceSeconds`, `tailLines` and `limitBytes` parameters override them for that task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// Only lines newer than this.
    pub since: Option<std::time::Duration>,
    /// Only the last lines.
    pub tail: Option<u64>,
    /// At most this many bytes of each log.
    pub limit_bytes: Option<u64>,
    /// A stream that sends nothing for this long is closed and kept with a marker line
    /// (default: the log kind's own).
    pub idle_timeout: Option<std::time::Duration>,
}

impl std::fmt::Debug for TaskEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskEnv")
            .field("kube", &self.kube.is_some())
            .field("logs", &self.logs)
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
    pub items: Items,
}

/// The items a task returns, each kept as its compact JSON text from the moment it is pushed.
///
/// A Pod is about 14 KiB as a `serde_json::Value` and about 1.7 KB as text: a list of 5,000 Pods
/// accumulated as values cost 40 MiB before it even reached the engine. So producers push each
/// item as they go ([`Items::push`] serializes it at once) and the value can be dropped; the
/// engine journals, keeps and moves this as it is, and parses one item at a time
/// ([`Items::value`]) when a fan-out node needs it.
///
/// The texts share a few large strings (one allocation per [`CHUNK`] of text, not one per item:
/// 100,000 boxed strings cost 11% of a 100,000-node run in allocation and formatting), with
/// where each item ends. Not one string: grown by doubling, a 66 MB list (20,000 Pods) was copied
/// at every doubling and held twice at the last, the peak of a 20,000-Pod collection.
///
/// Serde reads and writes it as a JSON array of the items, the journal's on-disk form.
#[derive(Debug, Clone, Default)]
pub struct Items {
    /// The items' texts, one after another; an item never straddles two chunks.
    chunks: Vec<String>,
    /// Per item: its chunk and where its text ends in that chunk.
    ends: Vec<(u32, u32)>,
}

/// Bytes of text per chunk of [`Items`] (an item longer than this has a chunk of its own).
const CHUNK: usize = 1 << 20;

impl Items {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an item, serialized now: the caller may drop its value.
    pub fn push(&mut self, item: &Value) {
        use std::fmt::Write as _;
        // `Value`'s Display writes the same compact JSON as `serde_json::to_string`; writing to
        // a `String` cannot fail. Written at the end of the last chunk, then moved to a new
        // chunk if that chunk grew past its size (the chunk is given back its room).
        let fresh = self.chunks.last().is_none_or(|c| c.len() >= CHUNK);
        if fresh {
            // Grown as items come (a list of three items stays small), up to about CHUNK.
            self.chunks.push(String::new());
        }
        let last = self.chunks.len() - 1;
        let chunk = &mut self.chunks[last];
        let start = chunk.len();
        let _ = write!(chunk, "{item}");
        if chunk.len() > CHUNK && start > 0 {
            let moved = chunk[start..].to_string();
            chunk.truncate(start);
            chunk.shrink_to_fit();
            self.chunks.push(moved);
        }
        let last = self.chunks.len() - 1;
        let end = u32::try_from(self.chunks[last].len()).expect("an item under 4 GiB");
        self.ends.push((last as u32, end));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Item `n` as compact JSON text. Panics if `n >= len()`, like indexing a slice.
    pub fn get(&self, n: usize) -> &str {
        let (chunk, end) = self.ends[n];
        let start = match n.checked_sub(1).map(|p| self.ends[p]) {
            Some((c, e)) if c == chunk => e,
            _ => 0,
        };
        &self.chunks[chunk as usize][start as usize..end as usize]
    }

    /// Item `n`, parsed. Panics if `n >= len()`.
    pub fn value(&self, n: usize) -> Value {
        parse(self.get(n))
    }

    /// Every item, parsed one at a time as the iterator advances.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Value> + '_ {
        self.texts().map(parse)
    }

    /// Every item as compact JSON text.
    pub fn texts(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|n| self.get(n))
    }

    /// Every item, parsed (for tests and small outputs; a big list should use [`Items::iter`]).
    pub fn to_values(&self) -> Vec<Value> {
        self.iter().collect()
    }

    /// Bytes of text held for the items.
    pub fn text_len(&self) -> usize {
        self.chunks.iter().map(String::len).sum()
    }

    /// The items' texts, one after another, in pieces (each piece holds whole items).
    pub fn pieces(&self) -> impl Iterator<Item = &str> + '_ {
        self.chunks.iter().map(String::as_str)
    }

    /// Where each item's text ends in the pieces laid end to end.
    pub fn ends(&self) -> Vec<usize> {
        let mut base = 0;
        let mut out = Vec::with_capacity(self.len());
        for (n, &(chunk, end)) in self.ends.iter().enumerate() {
            if n > 0 && self.ends[n - 1].0 != chunk {
                base += self.chunks[self.ends[n - 1].0 as usize].len();
            }
            out.push(base + end as usize);
        }
        out
    }

    /// Gives back the spare capacity of the last chunk and of the ends, for items kept to the
    /// end of a run.
    pub fn shrink_to_fit(&mut self) {
        if let Some(c) = self.chunks.last_mut() {
            c.shrink_to_fit();
        }
        self.ends.shrink_to_fit();
    }
}

impl PartialEq for Items {
    /// The same items in the same order, however their text is laid out.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.texts().eq(other.texts())
    }
}

impl Eq for Items {}

/// Text `Items::push` wrote itself, so it parses; `null` is never returned in practice.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl From<Vec<Value>> for Items {
    fn from(values: Vec<Value>) -> Self {
        values.into_iter().collect()
    }
}

impl FromIterator<Value> for Items {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        let mut items = Items::new();
        items.extend(iter);
        items
    }
}

impl Extend<Value> for Items {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, iter: I) {
        for v in iter {
            self.push(&v);
        }
    }
}

impl serde::Serialize for Items {
    /// A JSON array of the items. Each is parsed back to a value to be written (without
    /// serde_json's `raw_value` feature a serializer cannot take JSON text as is), one at a time,
    /// so only one item's value is alive at once.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for text in self.texts() {
            seq.serialize_element(&parse(text))?;
        }
        seq.end()
    }
}

impl<'de> serde::Deserialize<'de> for Items {
    /// A JSON array of the items, each kept as text as soon as it is read.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Items;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of items")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Items, A::Error> {
                let mut items = Items::new();
                while let Some(v) = seq.next_element::<Value>()? {
                    items.push(&v);
                }
                Ok(items)
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

/// Why an attempt failed: what happened as data ([`ErrorKind`]: the API's status, a dropped
/// connection, a timeout, ...) and a message a person can act on. Whether trying again may help
/// is the kind's to say ([`ErrorKind::is_transient`]), never the message's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TaskError {
    pub kind: ErrorKind,
    pub message: String,
}

impl TaskError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TaskError {
            kind,
            message: message.into(),
        }
    }
    /// Bad input: a parameter, a setting, an answer that cannot be read.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    /// The work failed for good (a command exited non-zero, an artifact could not be written).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }
    /// No answer: the connection failed or closed early.
    pub fn transport(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transport, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Cancelled, message)
    }
    /// Worth retrying: see [`ErrorKind::is_transient`].
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
    /// When the server asked to be asked again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.kind.retry_after()
    }
    /// The API server's status code, when it answered.
    pub fn status(&self) -> Option<u16> {
        self.kind.status()
    }
    /// The same error with `more` appended to its message.
    pub fn context(mut self, more: &str) -> Self {
        self.message.push_str(more);
        self
    }
}

/// What an attempt holds open on a cluster while it runs, beyond a short API request: a
/// long-running stream served by a kubelet (a container's log, a command over exec). The
/// scheduler bounds these per node and per pod (`Limits::per_node`, `Limits::per_pod`), not by
/// the API server's request budget: each one costs the kubelet of its node, and a command costs
/// the pod it runs in (a JVM started for `nodetool`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamLoad {
    /// The node whose kubelet serves it (the Pod's `spec.nodeName`), when known.
    pub node: Option<String>,
    /// The pod, as `namespace/name`.
    pub pod: Option<String>,
    /// A command run in the pod (exec), bounded per pod; a log stream is not.
    pub command: bool,
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
    /// The stream an attempt with these rendered parameters opens, if any (logs, exec); `None`
    /// for kinds that only send short requests (get, list), which share the client's request
    /// rate instead.
    fn stream(&self, _params: &Value, _vars: &Value) -> Option<StreamLoad> {
        None
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_keep_compact_text_and_give_values_back() {
        let mut items = Items::new();
        items.push(&json!({"metadata": {"labels": {"x": "é"}, "name": "a"}, "n": 1}));
        items.push(&json!("two"));
        items.push(&json!([]));
        assert_eq!(items.len(), 3);
        assert!(!items.is_empty());
        assert_eq!(
            items.get(0),
            r#"{"metadata":{"labels":{"x":"é"},"name":"a"},"n":1}"#
        );
        assert_eq!(items.get(1), r#""two""#);
        assert_eq!(items.get(2), "[]");
        assert_eq!(items.value(1), json!("two"));
        assert_eq!(
            items.to_values(),
            vec![
                json!({"metadata": {"labels": {"x": "é"}, "name": "a"}, "n": 1}),
                json!("two"),
                json!([])
            ]
        );
        assert_eq!(items.texts().len(), 3);
    }

    #[test]
    fn items_over_many_chunks_read_back_whole_and_in_order() {
        // Items of many sizes, some longer than a chunk, over a few chunks.
        let values: Vec<Value> = (0..3_000)
            .map(|i| {
                let pad = if i % 997 == 0 { CHUNK + 10 } else { i % 700 };
                json!({"i": i, "pad": "x".repeat(pad)})
            })
            .collect();
        let items = Items::from(values.clone());
        assert!(items.chunks.len() > 3, "{} chunks", items.chunks.len());
        // A chunk holds at most CHUNK bytes, or one item longer than that.
        for (c, chunk) in items.chunks.iter().enumerate() {
            let held = items.ends.iter().filter(|e| e.0 as usize == c).count();
            assert!(
                chunk.len() <= CHUNK || held == 1,
                "chunk {c}: {} bytes, {held} items",
                chunk.len()
            );
        }
        assert_eq!(items.to_values(), values);
        let laid: String = items.pieces().collect();
        assert_eq!(laid.len(), items.text_len());
        let ends = items.ends();
        let mut start = 0;
        for (n, &end) in ends.iter().enumerate() {
            assert_eq!(&laid[start..end], items.get(n));
            start = end;
        }
        assert_eq!(start, laid.len());
        // Equal to the same items laid out otherwise (read back from the journal's JSON).
        let back: Items = serde_json::from_str(&serde_json::to_string(&items).unwrap()).unwrap();
        assert_eq!(back, items);
    }

    #[test]
    fn items_text_is_what_serde_json_writes() {
        // The plan and the journal compare what they keep with what serde_json writes.
        let v = json!({"b": [1.5, null, true], "a": "q\"uote\n", "c": {"d": -3}});
        let items = Items::from(vec![v.clone()]);
        assert_eq!(items.get(0), serde_json::to_string(&v).unwrap());
        assert_eq!(items.text_len(), items.get(0).len());
    }

    #[test]
    fn items_round_trip_through_serde_as_a_json_array() {
        let values = vec![
            json!({"name": "a"}),
            json!(2),
            json!(null),
            json!({"x": [1, 2]}),
        ];
        let items = Items::from(values.clone());
        let text = serde_json::to_string(&items).unwrap();
        // The journal's on-disk form: the same bytes as the array of values.
        assert_eq!(text, serde_json::to_string(&values).unwrap());
        let back: Items = serde_json::from_str(&text).unwrap();
        assert_eq!(back, items);
        assert_eq!(back.to_values(), values);
        // From a value tree too (another deserializer than the text one).
        let back: Items = serde_json::from_value(json!(values)).unwrap();
        assert_eq!(back, items);
    }

    #[test]
    fn empty_items() {
        let items = Items::default();
        assert!(items.is_empty());
        assert_eq!(items.len(), 0);
        assert_eq!(items.iter().count(), 0);
        assert_eq!(serde_json::to_string(&items).unwrap(), "[]");
        let back: Items = serde_json::from_str("[]").unwrap();
        assert_eq!(back, items);
        assert_eq!(Items::from(vec![]), items);
    }

    #[test]
    fn items_reject_what_is_not_an_array() {
        let err = serde_json::from_str::<Items>(r#"{"name": "a"}"#).unwrap_err();
        assert!(err.to_string().contains("an array of items"), "{err}");
    }

    #[test]
    #[should_panic]
    fn items_get_past_the_end_panics_like_a_slice() {
        Items::from(vec![json!(1)]).get(1);
    }
}
