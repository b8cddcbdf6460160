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

impl TaskContext {
    /// Items for this attempt's output that go to a file in the collection's working folder
    /// once they are large ([`Items::spilling_in`]): a list of thousands of objects.
    pub fn items(&self) -> Items {
        Items::spilling_in(self.sink.scratch_dir())
    }
}

/// What a successful attempt hands back to the engine.
#[derive(Debug, Default)]
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
/// Made with [`Items::spilling_in`] (a task's [`TaskContext::items`]), the items go to an
/// unnamed file in that folder once they pass [`IN_MEMORY`] bytes, a chunk at a time as chunks
/// fill: a list of 20,000 Pods held 66 MB while it was read, and several such lists read at once
/// decided a collection's peak. The engine then keeps that file as it is
/// ([`Items::into_file`]). Items on file are read back by [`Items::write_json`] and serde;
/// [`Items::get`], [`Items::value`] and [`Items::texts`] read only items in memory, which every
/// `Items` without a folder, and any with fewer than [`IN_MEMORY`] bytes, are.
///
/// Serde reads and writes it as a JSON array of the items, the journal's on-disk form.
#[derive(Debug, Default)]
pub struct Items {
    /// The items' texts, one after another; an item never straddles two chunks. A chunk
    /// written to the spill file is left here empty.
    chunks: Vec<String>,
    /// Per item: its chunk and where its text ends in that chunk.
    ends: Vec<(u32, u32)>,
    /// Where full chunks go past [`IN_MEMORY`] bytes; `None` keeps every chunk in memory.
    /// Boxed: most `Items` never spill, and records and outputs hold one each.
    spill: Option<Box<Spill>>,
}

/// The folder an [`Items`] spills to and, once it did, the file.
#[derive(Debug)]
struct Spill {
    dir: std::path::PathBuf,
    /// The first `on_file` chunks, laid end to end from offset 0.
    file: Option<std::fs::File>,
    on_file: usize,
    /// Bytes in the file.
    file_len: u64,
    /// Bytes of text of the chunks still in memory.
    in_memory: usize,
    /// A write to the file failed: the chunks from `on_file` on stay in memory.
    stopped: bool,
}

/// Bytes of text per chunk of [`Items`] (an item longer than this has a chunk of its own).
const CHUNK: usize = 1 << 20;

/// Bytes of text an [`Items`] made with a folder holds in memory before it writes its full
/// chunks to a file: a list of a few thousand objects never touches the disk.
pub const IN_MEMORY: usize = 4 << 20;

impl Items {
    pub fn new() -> Self {
        Self::default()
    }

    /// Items that go to an unnamed file in `dir` once they pass [`IN_MEMORY`] bytes.
    pub fn spilling_in(dir: &std::path::Path) -> Self {
        Items {
            spill: Some(Box::new(Spill {
                dir: dir.to_path_buf(),
                file: None,
                on_file: 0,
                file_len: 0,
                in_memory: 0,
                stopped: false,
            })),
            ..Items::default()
        }
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
        let added = chunk.len() - start;
        if chunk.len() > CHUNK && start > 0 {
            let moved = chunk[start..].to_string();
            chunk.truncate(start);
            chunk.shrink_to_fit();
            self.chunks.push(moved);
        }
        if let Some(s) = &mut self.spill {
            s.in_memory += added;
        }
        let last = self.chunks.len() - 1;
        let end = u32::try_from(self.chunks[last].len()).expect("an item under 4 GiB");
        self.ends.push((last as u32, end));
        self.spill_full_chunks();
    }

    /// Writes every chunk but the last (the one being filled) to the spill file once the items
    /// in memory pass [`IN_MEMORY`]. A file that cannot be made or written leaves the chunks in
    /// memory: the items stay whole, and the collection's next write to that disk says what is
    /// wrong.
    fn spill_full_chunks(&mut self) {
        use std::os::unix::fs::FileExt as _;
        let Some(s) = &mut self.spill else { return };
        let filling = self.chunks.len().saturating_sub(1);
        if s.stopped || s.in_memory < IN_MEMORY || s.on_file >= filling {
            return;
        }
        if s.file.is_none() {
            match tempfile::tempfile_in(&s.dir) {
                Ok(f) => s.file = Some(f),
                Err(_) => {
                    // Nothing is on file: these items stay in memory, and are not tried again.
                    self.spill = None;
                    return;
                }
            }
        }
        let file = s.file.as_ref().expect("made above");
        for chunk in &mut self.chunks[s.on_file..filling] {
            if file.write_all_at(chunk.as_bytes(), s.file_len).is_err() {
                s.stopped = true;
                return;
            }
            s.file_len += chunk.len() as u64;
            s.in_memory -= chunk.len();
            *chunk = String::new();
            s.on_file += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Whether some of the items are in the spill file.
    pub fn on_file(&self) -> bool {
        self.spill.as_ref().is_some_and(|s| s.on_file > 0)
    }

    /// Item `n` as compact JSON text. Panics if `n >= len()`, like indexing a slice, or if the
    /// item is in the spill file (an `Items` under [`IN_MEMORY`] bytes never is).
    pub fn get(&self, n: usize) -> &str {
        let (chunk, end) = self.ends[n];
        assert!(
            self.spill
                .as_ref()
                .is_none_or(|s| chunk as usize >= s.on_file),
            "item {n} is in the spill file: read it with write_json"
        );
        let start = match n.checked_sub(1).map(|p| self.ends[p]) {
            Some((c, e)) if c == chunk => e,
            _ => 0,
        };
        &self.chunks[chunk as usize][start as usize..end as usize]
    }

    /// Item `n`, parsed. Panics like [`Items::get`].
    pub fn value(&self, n: usize) -> Value {
        parse(self.get(n))
    }

    /// Every item, parsed one at a time as the iterator advances. Panics like [`Items::get`].
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Value> + '_ {
        self.texts().map(parse)
    }

    /// Every item as compact JSON text. Panics like [`Items::get`].
    pub fn texts(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|n| self.get(n))
    }

    /// Every item, parsed (for tests and small outputs; a big list should use [`Items::iter`]).
    pub fn to_values(&self) -> Vec<Value> {
        self.iter().collect()
    }

    /// Bytes of the items' text, in memory and on file.
    pub fn text_len(&self) -> usize {
        let mut total = 0;
        for (n, &(chunk, end)) in self.ends.iter().enumerate() {
            if self.ends.get(n + 1).is_none_or(|next| next.0 != chunk) {
                total += end as usize;
            }
        }
        total
    }

    /// The items in memory, in pieces (each piece holds whole items). Panics if some are in the
    /// spill file: those are taken with [`Items::into_file`].
    pub fn pieces(&self) -> impl Iterator<Item = &str> + '_ {
        assert!(!self.on_file(), "the items are in the spill file");
        self.chunks.iter().map(String::as_str)
    }

    /// Where each item's text ends in the pieces laid end to end.
    pub fn ends(&self) -> Vec<usize> {
        let mut base = 0;
        let mut out = Vec::with_capacity(self.len());
        for (n, &(chunk, end)) in self.ends.iter().enumerate() {
            if n > 0 && self.ends[n - 1].0 != chunk {
                // A chunk ends where its last item does.
                base += self.ends[n - 1].1 as usize;
            }
            out.push(base + end as usize);
        }
        out
    }

    /// Writes the items still in memory to the spill file and hands it over with where each
    /// item's text ends in it (from offset 0). The file is unnamed: it goes when the last handle
    /// does. Panics unless some items are on file ([`Items::on_file`]).
    pub fn into_file(self) -> Result<(std::fs::File, Vec<usize>), ItemsFileError> {
        use std::os::unix::fs::FileExt as _;
        let ends = self.ends();
        let s = self.spill.expect("into_file: the items are on file");
        let file = s.file.expect("into_file: the items are on file");
        let mut at = s.file_len;
        for chunk in &self.chunks[s.on_file..] {
            file.write_all_at(chunk.as_bytes(), at)
                .map_err(|source| ItemsFileError {
                    dir: s.dir.clone(),
                    source,
                })?;
            at += chunk.len() as u64;
        }
        Ok((file, ends))
    }

    /// Bytes of the JSON array [`Items::write_json`] writes.
    pub fn json_len(&self) -> usize {
        self.text_len() + self.len().saturating_sub(1) + 2
    }

    /// Writes the items as a JSON array to `out`, reading those in the spill file back a chunk
    /// at a time: the array is never in memory whole.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(b"[")?;
        let mut n = 0;
        self.each_chunk(|text, ends| {
            let mut from = 0;
            for &end in ends {
                if n > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(&text.as_bytes()[from..end as usize])?;
                from = end as usize;
                n += 1;
            }
            Ok(())
        })?;
        out.write_all(b"]")
    }

    /// Hands each chunk's text, read back if it is on file, to `f` with where its items end.
    fn each_chunk(
        &self,
        mut f: impl FnMut(&str, &[u32]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        let mut buf = Vec::new();
        let mut at = 0u64;
        let mut ends = Vec::new();
        let mut n = 0;
        while n < self.ends.len() {
            let chunk = self.ends[n].0;
            ends.clear();
            while n < self.ends.len() && self.ends[n].0 == chunk {
                ends.push(self.ends[n].1);
                n += 1;
            }
            let len = *ends.last().expect("a chunk has an item") as usize;
            let on_file = self
                .spill
                .as_ref()
                .and_then(|s| s.file.as_ref().filter(|_| (chunk as usize) < s.on_file));
            match on_file {
                Some(file) => {
                    buf.resize(len, 0);
                    file.read_exact_at(&mut buf, at)?;
                    let text = std::str::from_utf8(&buf).map_err(std::io::Error::other)?;
                    f(text, &ends)?;
                }
                None => f(&self.chunks[chunk as usize], &ends)?,
            }
            at += len as u64;
        }
        Ok(())
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

/// Why [`Items::into_file`] could not write the items still in memory to their file.
#[derive(Debug, thiserror::Error)]
#[error("cannot write items to a file in {}: {source}", dir.display())]
pub struct ItemsFileError {
    pub dir: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl PartialEq for Items {
    /// The same items in the same order, however their text is laid out (in memory or on
    /// file). Items that cannot be read back equal nothing.
    fn eq(&self, other: &Self) -> bool {
        fn json(items: &Items) -> Option<Vec<u8>> {
            let mut out = Vec::new();
            items.write_json(&mut out).ok().map(|()| out)
        }
        self.len() == other.len() && json(self).is_some_and(|a| Some(a) == json(other))
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
    /// so only one item's value is alive at once; items on file are read back a chunk at a time.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq as _};
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        let mut failed = None;
        let read = self.each_chunk(|text, ends| {
            let mut from = 0;
            for &end in ends {
                if let Err(e) = seq.serialize_element(&parse(&text[from..end as usize])) {
                    failed = Some(e);
                    return Err(std::io::Error::other("serializing failed"));
                }
                from = end as usize;
            }
            Ok(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(|e| S::Error::custom(format!("cannot read items back: {e}")))?;
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

    /// Values of about 2 KB each, `bytes` of them in all.
    fn big_values(bytes: usize) -> Vec<Value> {
        (0..bytes / 2_000)
            .map(|i| json!({"i": i, "pad": "é".repeat(900 + i % 211)}))
            .collect()
    }

    #[test]
    fn items_past_what_stays_in_memory_go_to_a_file_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let values = big_values(3 * IN_MEMORY);
        let mut items = Items::spilling_in(dir.path());
        let mut held_most = 0;
        for v in &values {
            items.push(v);
            held_most = held_most.max(items.chunks.iter().map(String::capacity).sum::<usize>());
        }
        assert!(items.on_file());
        // In memory: at most what stays there, the chunk being filled and one item.
        assert!(held_most <= IN_MEMORY + 2 * CHUNK, "{held_most} bytes held");
        let plain = Items::from(values.clone());
        assert!(!plain.on_file());
        assert_eq!(items, plain);
        assert_eq!(items.len(), values.len());
        assert_eq!(items.text_len(), plain.text_len());
        assert_eq!(items.ends(), plain.ends());
        let mut json = Vec::new();
        items.write_json(&mut json).unwrap();
        assert_eq!(json, serde_json::to_vec(&values).unwrap());
        assert_eq!(json.len(), items.json_len());
        assert_eq!(serde_json::to_vec(&items).unwrap(), json);
        // The items still in memory are readable as they are.
        let last = items.len() - 1;
        assert_eq!(items.value(last), values[last]);
        // Handed over: the file holds every item's text, laid end to end.
        let (file, ends) = items.into_file().unwrap();
        let mut laid = String::new();
        std::io::Read::read_to_string(&mut &file, &mut laid).unwrap();
        assert_eq!(laid, plain.pieces().collect::<String>());
        assert_eq!(ends, plain.ends());
    }

    #[test]
    fn items_under_what_stays_in_memory_make_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut items = Items::spilling_in(dir.path());
        items.extend(big_values(IN_MEMORY / 2));
        assert!(!items.on_file());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn items_that_cannot_make_their_file_stay_whole_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let values = big_values(2 * IN_MEMORY);
        let mut items = Items::spilling_in(&dir.path().join("gone"));
        items.extend(values.iter().cloned());
        assert!(!items.on_file());
        assert_eq!(items.to_values(), values);
    }

    #[test]
    #[should_panic(expected = "in the spill file")]
    fn an_item_on_file_is_not_read_as_text_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut items = Items::spilling_in(dir.path());
        items.extend(big_values(2 * IN_MEMORY));
        items.get(0);
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
