//! The journal: what makes a collection resumable, inside `<output>.partial/journal/`: a sled
//! database holding the meta record (format version, target identity, pipeline name and hash,
//! start time), and beside it the record stream (`engine::records`), an append-only file with a
//! record per finished node (state, attempts, error, the artifacts it wrote, the items it
//! produced for fan-out), written one batch per flush. docs/journal.md describes the layout.
//!
//! Records are not kept in memory: the journal keeps where each node's latest entry starts in
//! the stream (its id shared with the plan's node, an offset) and reads a record back when
//! `status` or `records` asks for it, which a fresh run never does. Commits wait in memory only
//! until the next flush.
//!
//! Finishing a node is a typed claim, like just's cache: [`Journal::status`] answers
//! [`Status::Done`] with the record, or [`Status::Pending`] with a [`Claim`], and only
//! [`Claim::commit`] writes a final state. The engine commits after the node's artifacts were
//! written whole and renamed by the sink, so the journal never names an artifact that is not
//! whole (after an OS crash, `--continue`'s verification finds one that was lost: `bundle::sink`,
//! "Durability").

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::sink::ArtifactRecord;
use crate::bundle::writer::{ArtifactRef, ArtifactSource};
use crate::bundle::BundleError;

use super::records::{Index, RecordStream, StreamError};
use super::task::{ErrorKind, Items};
use super::EngineError;

/// Version of the journal's on-disk format. Bumped on any incompatible change; a journal of
/// another version is refused with a message, never misread.
///
/// - 1: one sled entry per node (tree `nodes`, key: node id).
/// - 2: one sled entry per flush (tree `batches`, key: sequence number), holding every node
///   record of that flush; replayed in order on open. At 100,000 nodes the per-node inserts of
///   version 1 were the largest single cost of a run.
/// - 3: the same batches, checksummed, appended to the record stream beside sled
///   (`journal/records`), which is read back record by record instead of being replayed into
///   memory: sled kept every batch written in its cache, and the journal a copy of every record.
pub const JOURNAL_FORMAT_VERSION: u32 = 3;

const META_KEY: &[u8] = b"meta";
/// The record stream's file, inside the journal's folder (sled leaves unknown files alone).
const RECORDS_FILE: &str = "records";
/// sled holds only the meta record: its page cache needs no more than this.
const SLED_CACHE_BYTES: u64 = 1 << 20;

/// Who and what a collection is for. `--continue` refuses a journal whose target or pipeline
/// hash differs from the run's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalMeta {
    pub format_version: u32,
    /// Cluster server, namespace, instance: a JSON object from the caller.
    pub target: Value,
    pub pipeline: String,
    pub pipeline_hash: String,
    /// RFC 3339, UTC: when the collection first started (kept across resumes).
    pub started: String,
    /// The bundle this partial collection will become.
    #[serde(default)]
    pub output: String,
}

/// The final state of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    Done,
    Failed,
    Skipped,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Done => "done",
            NodeState::Failed => "failed",
            NodeState::Skipped => "skipped",
        }
    }
}

/// What the journal remembers about one node.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    /// The pipeline task the node belongs to.
    pub task: String,
    pub state: NodeState,
    #[serde(default)]
    pub attempts: u32,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What a failed node ran into (`{"kind": "api", "status": 404, ...}`). Absent in records
    /// written before it was kept, and for skips; readers of either version ignore what they
    /// do not know, so the format version did not change with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactRecord>,
    /// The items a fan-out source produced, so a resumed run expands the same nodes. Kept as
    /// compact text in memory, written as a JSON array (the format did not change with it).
    #[serde(default, skip_serializing_if = "Items::is_empty")]
    pub items: Items,
    #[serde(default)]
    pub optional: bool,
}

/// When the journal makes commits durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// Every `Claim::commit` writes its own batch and fsyncs before it returns.
    EachCommit,
    /// Commits are held in memory; the caller calls [`Journal::flush`] (the scheduler does so
    /// at most every `FLUSH_INTERVAL`, a group commit), which appends them to the record stream
    /// as one batch and fsyncs. A kill loses at most the commits since the last completed
    /// flush, and those nodes simply run again.
    #[default]
    Batched,
}

/// Records longer than this are written to the stream at once, as they are serialized, not
/// held for the next flush (`Claim::commit_with_items`).
const STREAMED_RECORD: usize = 1 << 20;

/// A change not in the stream yet: the node's latest record as JSON, or `None` for a removal.
/// Shared, so that a flush writes it without holding the state lock or copying it.
type Changes = HashMap<Arc<str>, Change>;

/// A node's latest record as JSON, or `None` for a removal.
type Change = Option<Arc<Vec<u8>>>;

/// What the journal holds in memory.
#[derive(Default)]
struct State {
    /// Where the latest entry of every node with a record starts in the stream. The keys are
    /// the ids the scheduler's claims carry (the plan's own, not copies).
    index: Index,
    /// Commits and removals since the last flush took them.
    pending: Changes,
    /// What the flush in progress is writing: still answered from here until it is in the
    /// stream and `index` points at it.
    writing: Changes,
}

impl State {
    /// A change not in the stream yet: `Some(None)` for a removal.
    fn unflushed(&self, node: &str) -> Option<Option<&[u8]>> {
        self.pending
            .get(node)
            .or_else(|| self.writing.get(node))
            .map(|c| c.as_deref().map(Vec::as_slice))
    }
}

struct Inner {
    db: sled::Db,
    stream: RecordStream,
    policy: FlushPolicy,
    dir: Box<Path>,
    state: Mutex<State>,
    /// One flush at a time, so that when `flush` returns every batch taken before it (by this
    /// or another thread) is in the stream and synced.
    flushing: Mutex<()>,
    /// Run by `flush` before it writes a batch: makes the content the batch's records point at
    /// durable first (the artifact store's packs, which `ArtifactWriter::finish` does not sync).
    before_write: std::sync::OnceLock<BeforeWrite>,
}

type BeforeWrite = Box<dyn Fn() -> Result<(), EngineError> + Send + Sync>;

/// An open journal. Clones share it.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

impl Journal {
    /// Lets go of the journal without sled's final flush: a run that fails (a full disk, an
    /// unwritable folder) ends here, and dropping a sled database whose last write failed
    /// blocks for ever in that flush. Nothing is lost: the journal holds what the last
    /// successful flush wrote, which is what `--continue` resumes from.
    pub fn abandon(self) {
        std::mem::forget(self);
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

/// A node's standing in the journal.
pub enum Status {
    /// Finished well in an earlier run.
    Done(Box<DoneNode>),
    /// Never finished, or finished badly: the claim is the right to record its outcome.
    Pending(Claim),
}

/// A node the journal has as done. If its artifacts no longer verify, `redo` forgets it and
/// hands back a claim so it runs again.
pub struct DoneNode {
    pub record: NodeRecord,
    claim: Claim,
}

impl DoneNode {
    /// Forgets the done record (its artifacts are missing or corrupt) so the node runs again.
    pub fn redo(self) -> Result<Claim, EngineError> {
        let j = &self.claim.journal;
        j.state_lock().pending.insert(self.claim.node.clone(), None);
        if j.inner.policy == FlushPolicy::EachCommit {
            j.flush()?;
        }
        Ok(self.claim)
    }
}

/// The right to write one node's final state. Only `commit` writes it. Small (the node's id,
/// shared, and a handle): the scheduler holds one per node that has not finished.
pub struct Claim {
    node: Arc<str>,
    journal: Journal,
}

impl Claim {
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Records the node's outcome. Call it only after every artifact in `record` is finished
    /// (written whole and renamed into place).
    pub fn commit(self, record: &NodeRecord) -> Result<(), EngineError> {
        // A fan-out source's record, mostly its items, goes through `commit_with_items`.
        let bytes = serde_json::to_vec(record).expect("node records serialize");
        self.keep(bytes)
    }

    /// Records the node's outcome with items kept elsewhere (the plan's item file):
    /// `write_items` writes them as a JSON array of `items_len` bytes into the record. A
    /// record longer than [`STREAMED_RECORD`] goes straight to the stream as it is written, in
    /// a batch of its own, synced before this returns: a list of 20,000 Pods is 66 MB of JSON,
    /// and held as `Items` beside its serialized record it was twice that at the peak of a
    /// run, built whole as a record still once more. A shorter one waits for the next flush
    /// (a batch and an fsync of its own for every node's few items cost a third more CPU).
    pub fn commit_with_items(
        self,
        record: &NodeRecord,
        items_len: usize,
        write_items: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), EngineError> {
        debug_assert!(record.items.is_empty(), "the items come from write_items");
        let mut head = serde_json::to_vec(record).expect("node records serialize");
        // A record is a JSON object, and `items` is left out of it when empty: the items go
        // in as one more member before its closing brace.
        let close = head.pop();
        debug_assert_eq!(close, Some(b'}'));
        head.extend_from_slice(b",\"items\":");
        let rec_len = head.len() + items_len + 1;
        if rec_len <= STREAMED_RECORD {
            // Most nodes return an item or two (an exit code, a byte count): their records wait
            // for the next group commit like any other.
            let mut bytes = head;
            bytes.reserve_exact(items_len + 1);
            write_items(&mut bytes).map_err(|e| EngineError::Journal(e.to_string()))?;
            bytes.push(b'}');
            return self.keep(bytes);
        }
        let j = self.journal;
        // No flush is writing while this one is held, so nothing is in `writing`; a commit of
        // this node still held (an earlier attempt's) is older than this one and goes.
        let _one_at_a_time = j.inner.flushing.lock().unwrap_or_else(|e| e.into_inner());
        j.state_lock().pending.remove(&self.node);
        if let Some(before) = j.inner.before_write.get() {
            before()?;
        }
        let at = j
            .inner
            .stream
            .append_streamed(&self.node, rec_len, |w| {
                w.write_all(&head)?;
                write_items(w)?;
                w.write_all(b"}")
            })
            .map_err(|e| stream_err(&j.inner.dir, StreamError::Io(e)))?;
        j.state_lock().index.insert(self.node, at);
        Ok(())
    }

    fn keep(self, bytes: Vec<u8>) -> Result<(), EngineError> {
        let j = self.journal;
        j.state_lock()
            .pending
            .insert(self.node, Some(Arc::new(bytes)));
        match j.inner.policy {
            FlushPolicy::EachCommit => j.flush(),
            FlushPolicy::Batched => Ok(()),
        }
    }
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`. Returns the meta record if there is one.
    /// A journal of another format version is an error that says what to do.
    pub fn open(
        dir: &Path,
        policy: FlushPolicy,
    ) -> Result<(Journal, Option<JournalMeta>), EngineError> {
        let db = open_db(dir)?;
        let meta = read_meta_of(&db, dir)?;
        let (stream, index) =
            RecordStream::open(&dir.join(RECORDS_FILE)).map_err(|e| stream_err(dir, e))?;
        let inner = Inner {
            db,
            stream,
            policy,
            dir: Box::from(dir),
            state: Mutex::new(State {
                index,
                ..State::default()
            }),
            flushing: Mutex::default(),
            before_write: std::sync::OnceLock::new(),
        };
        let journal = Journal {
            inner: Arc::new(inner),
        };
        Ok((journal, meta))
    }

    /// Reads only the meta record of the journal in `dir` (to find a matching partial folder).
    pub fn read_meta(dir: &Path) -> Result<Option<JournalMeta>, EngineError> {
        read_meta_of(&open_db(dir)?, dir)
    }

    /// Writes the meta record and makes it durable (before any node runs).
    pub fn write_meta(&self, meta: &JournalMeta) -> Result<(), EngineError> {
        let bytes = serde_json::to_vec(meta).expect("journal meta serializes");
        let db = &self.inner.db;
        db.insert(META_KEY, bytes).map_err(|e| self.db_err(e))?;
        db.flush().map_err(|e| self.db_err(e))?;
        self.flush()
    }

    /// The node's standing: done (with its record) or pending (with the claim to finish it).
    /// Give it the id the run keeps for the node (an `Arc<str>`): the claim and the journal's
    /// index share it rather than copy it.
    pub fn status(&self, node: impl Into<Arc<str>>) -> Result<Status, EngineError> {
        let node: Arc<str> = node.into();
        let raw = self.record_bytes(&node)?;
        let claim = Claim {
            node,
            journal: self.clone(),
        };
        let Some(raw) = raw else {
            return Ok(Status::Pending(claim));
        };
        let record: NodeRecord = serde_json::from_slice(&raw).map_err(|e| self.corrupt(e))?;
        Ok(match record.state {
            NodeState::Done => Status::Done(Box::new(DoneNode { record, claim })),
            // Failed and skipped nodes are tried again by a resumed run.
            NodeState::Failed | NodeState::Skipped => Status::Pending(claim),
        })
    }

    /// The latest record of `node` as JSON: from the unflushed changes, else read from the
    /// stream.
    fn record_bytes(&self, node: &str) -> Result<Option<Vec<u8>>, EngineError> {
        let offset = {
            let st = self.state_lock();
            if let Some(change) = st.unflushed(node) {
                return Ok(change.map(<[u8]>::to_vec));
            }
            match st.index.get(node) {
                Some(&o) => o,
                None => return Ok(None),
            }
        };
        let raw = self
            .inner
            .stream
            .read(offset, node)
            .map_err(|e| stream_err(&self.inner.dir, e))?;
        Ok(Some(raw))
    }

    /// Every node record, in node-id order (read back from the stream: for tests and tools,
    /// not for a run's hot path).
    pub fn records(&self) -> Result<Vec<(String, NodeRecord)>, EngineError> {
        let ids: Vec<Arc<str>> = {
            let st = self.state_lock();
            let mut ids: Vec<Arc<str>> = st
                .index
                .keys()
                .chain(st.writing.keys())
                .chain(st.pending.keys())
                .cloned()
                .collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(raw) = self.record_bytes(&id)? {
                let rec = serde_json::from_slice(&raw).map_err(|e| self.corrupt(e))?;
                out.push((id.to_string(), rec));
            }
        }
        Ok(out)
    }

    /// The artifacts of every node's latest record, in one pass over the record stream (the
    /// end of a run: the scheduler does not keep them while it runs), each with its node, where
    /// the node's entry starts (for [`Journal::node_at`]) and where the artifact's JSON lies in
    /// the stream (offset and length, for [`Journal::artifact_at`]). Flush first: changes not in
    /// the stream are not seen.
    ///
    /// Only the entries `keep` accepts (by where they start) are read: the latest entries of
    /// the nodes that count ([`Journal::latest_entries`]), found before the caller lets go of
    /// its nodes and the journal of its index.
    pub fn each_artifact(
        &self,
        keep: impl Fn(u64) -> bool,
        mut f: impl FnMut(&str, u64, u64, u32, ArtifactRecord),
    ) -> Result<(), EngineError> {
        /// Each artifact as its JSON text, to know where it lies; the rest of a record (a
        /// fan-out source's items) is skipped, not built.
        #[derive(Deserialize)]
        struct Artifacts<'a> {
            #[serde(default, borrow)]
            artifacts: Vec<&'a serde_json::value::RawValue>,
        }
        let mut bad = None;
        self.inner
            .stream
            .scan(|at, node, rec| {
                if bad.is_some() || !keep(at) {
                    return;
                }
                // The record's JSON follows the entry's id length, id and record length.
                let base = at + 8 + node.len() as u64;
                let arts = match serde_json::from_slice::<Artifacts>(rec) {
                    Ok(a) => a.artifacts,
                    Err(e) => return bad = Some(e),
                };
                for raw in arts {
                    let text = raw.get();
                    let start = text.as_ptr() as usize - rec.as_ptr() as usize;
                    match serde_json::from_str::<ArtifactRecord>(text) {
                        Ok(a) => f(node, at, base + start as u64, text.len() as u32, a),
                        Err(e) => return bad = Some(e),
                    }
                }
            })
            .map_err(|e| stream_err(&self.inner.dir, e))?;
        match bad {
            Some(e) => Err(self.corrupt(e)),
            None => Ok(()),
        }
    }

    /// Where the latest entry of each of `nodes` that has one starts in the stream.
    pub fn latest_entries<'a>(
        &self,
        nodes: impl Iterator<Item = &'a str>,
    ) -> std::collections::HashSet<u64> {
        let st = self.state_lock();
        nodes.filter_map(|n| st.index.get(n).copied()).collect()
    }

    /// The id of the node whose entry starts at `offset` in the stream (a place
    /// [`Journal::each_artifact`] gave).
    pub fn node_at(&self, offset: u64) -> Result<String, EngineError> {
        self.inner
            .stream
            .read_id(offset)
            .map_err(|e| stream_err(&self.inner.dir, e))
    }

    /// The artifact record whose JSON lies at `offset` for `len` bytes in the stream (a place
    /// [`Journal::each_artifact`] gave).
    pub fn artifact_at(&self, offset: u64, len: u32) -> Result<ArtifactRecord, EngineError> {
        let raw = self
            .inner
            .stream
            .read_span(offset, len)
            .map_err(|e| stream_err(&self.inner.dir, StreamError::Io(e)))?;
        serde_json::from_slice(&raw).map_err(|e| self.corrupt(e))
    }

    /// Makes every commit so far durable: appends the held commits to the record stream as
    /// one batch and fsyncs.
    pub fn flush(&self) -> Result<(), EngineError> {
        let _one_at_a_time = self
            .inner
            .flushing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(batch) = self.take_batch() else {
            return Ok(());
        };
        // Every record in the batch was committed after its artifacts were written, so this
        // covers them all.
        if let Some(before) = self.inner.before_write.get() {
            if let Err(e) = before() {
                // Not durable: the changes are lost with the run, which stops here.
                self.state_lock().writing.clear();
                return Err(e);
            }
        }
        let entries: Vec<(&str, Option<&[u8]>)> = batch
            .iter()
            .map(|(id, rec)| (&**id, rec.as_deref().map(Vec::as_slice)))
            .collect();
        let offsets = match self.inner.stream.append_entries(&entries) {
            Ok(o) => o,
            Err(e) => {
                // Not durable: the changes are lost with the run, which stops here.
                self.state_lock().writing.clear();
                return Err(stream_err(&self.inner.dir, StreamError::Io(e)));
            }
        };
        let mut st = self.state_lock();
        st.writing.clear();
        for ((id, change), at) in batch.into_iter().zip(offsets) {
            match change {
                Some(_) => {
                    st.index.insert(id, at);
                }
                None => {
                    st.index.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// Lets go of the index of where each node's record is (a hash table over every node of
    /// the run: 13 MB at 380,000 nodes), once the run's last commit is flushed and the entries
    /// that count are known ([`Journal::latest_entries`]): the artifacts are then found by
    /// [`Journal::each_artifact`], and the bundle writer reads records where it found them.
    /// The journal answers nothing about nodes after this.
    pub fn release_index(&self) {
        self.state_lock().index = Index::default();
    }

    /// Sets what `flush` runs before each batch it writes (once; a second call is ignored):
    /// the engine syncs the artifact store there, so no record reaches the disk before the
    /// content it points at.
    pub fn before_write(&self, f: impl Fn() -> Result<(), EngineError> + Send + Sync + 'static) {
        let _ = self.inner.before_write.set(Box::new(f));
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// True when commits wait in memory for the next [`Journal::flush`].
    pub fn has_unflushed(&self) -> bool {
        !self.state_lock().pending.is_empty()
    }

    fn state_lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state whole (inserts and takes only).
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The changed nodes' latest states, the next batch (None: nothing changed), moved to
    /// `writing`, where they are still answered from until the batch is in the stream. The
    /// state lock is held only to move them, not for the write and fsync.
    fn take_batch(&self) -> Option<Vec<(Arc<str>, Change)>> {
        let mut st = self.state_lock();
        if st.pending.is_empty() {
            return None;
        }
        let pending = std::mem::take(&mut st.pending);
        let batch = pending
            .iter()
            .map(|(id, change)| (id.clone(), change.clone()))
            .collect();
        st.writing = pending;
        Some(batch)
    }

    fn db_err(&self, e: sled::Error) -> EngineError {
        db_err(&self.inner.dir, e)
    }

    fn corrupt(&self, e: serde_json::Error) -> EngineError {
        corrupt(&self.inner.dir, e)
    }
}

/// The bundle writer's source of artifact records at the end of a run: each record is read
/// back alone from the record stream, where its [`ArtifactRef`] says it lies.
pub struct JournalArtifacts(pub Journal);

impl ArtifactSource for JournalArtifacts {
    fn record(&self, artifact: &ArtifactRef) -> Result<ArtifactRecord, BundleError> {
        let rec = self
            .0
            .artifact_at(artifact.at, artifact.len)
            .map_err(|e| BundleError::Corrupt(e.to_string()))?;
        if *rec.path != *artifact.path {
            return Err(BundleError::Corrupt(format!(
                "the journal's record at offset {} is of {}, not of {}; run the collection again with --continue",
                artifact.at, rec.path, artifact.path
            )));
        }
        Ok(rec)
    }

    fn node(&self, artifact: &ArtifactRef) -> Result<String, BundleError> {
        self.0
            .node_at(artifact.node_at)
            .map_err(|e| BundleError::Corrupt(e.to_string()))
    }
}

fn open_db(dir: &Path) -> Result<sled::Db, EngineError> {
    sled::Config::new()
        .path(dir)
        .cache_capacity(SLED_CACHE_BYTES)
        .open()
        .map_err(|e| open_err(dir, e))
}

fn stream_err(dir: &Path, e: StreamError) -> EngineError {
    match e {
        StreamError::Io(io) => {
            EngineError::Journal(crate::bundle::storage::describe(dir, &io, None))
        }
        StreamError::Damaged(why) => unreadable(dir, &why),
    }
}

/// The meta record, after checking its format version.
fn read_meta_of(db: &sled::Db, dir: &Path) -> Result<Option<JournalMeta>, EngineError> {
    let Some(raw) = db.get(META_KEY).map_err(|e| db_err(dir, e))? else {
        return Ok(None);
    };
    let probe: Value = serde_json::from_slice(&raw).map_err(|e| corrupt(dir, e))?;
    let version = probe.get("formatVersion").and_then(Value::as_u64);
    if version != Some(JOURNAL_FORMAT_VERSION as u64) {
        let found = version.map_or_else(|| "unknown".to_string(), |v| v.to_string());
        let advice = if version.is_some_and(|v| v < JOURNAL_FORMAT_VERSION as u64) {
            // An upgrade in the middle of a collection: the old binary can still finish it.
            "finish it with the older kudo-diag that started it (`kudo-diag version` prints the journal format it writes), or start over with `--force`"
        } else {
            "finish it with the newer kudo-diag that started it, or start over with `--force`"
        };
        return Err(EngineError::Journal(format!(
            "the journal in {} has format version {found}, this kudo-diag reads version {}: {advice}",
            dir.display(),
            JOURNAL_FORMAT_VERSION
        )));
    }
    let meta = serde_json::from_value(probe).map_err(|e| corrupt(dir, e))?;
    Ok(Some(meta))
}

fn unreadable(dir: &Path, why: &str) -> EngineError {
    EngineError::Journal(format!(
        "the journal in {} is unreadable ({why}): start over with `--force`",
        dir.display()
    ))
}

fn open_err(dir: &Path, e: sled::Error) -> EngineError {
    let hint = match &e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            ": another kudo-diag seems to be using this collection; wait for it to finish or stop it"
        }
        sled::Error::Io(io) => {
            return EngineError::Journal(format!(
                "cannot open the journal in {}: {}",
                dir.display(),
                crate::bundle::storage::describe(dir, io, None)
            ))
        }
        _ => "",
    };
    EngineError::Journal(format!(
        "cannot open the journal in {}: {e}{hint}",
        dir.display()
    ))
}

fn db_err(dir: &Path, e: sled::Error) -> EngineError {
    match e {
        // sled shows I/O errors in their Debug form; a full disk says what to do.
        sled::Error::Io(io) => {
            EngineError::Journal(crate::bundle::storage::describe(dir, &io, None))
        }
        e => EngineError::Journal(format!("journal in {}: {e}", dir.display())),
    }
}

fn corrupt(dir: &Path, e: serde_json::Error) -> EngineError {
    unreadable(dir, &e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::records::encode_entry;
    use serde_json::json;

    fn meta() -> JournalMeta {
        JournalMeta {
            format_version: JOURNAL_FORMAT_VERSION,
            target: json!({"cluster": "none", "namespace": "ns", "instance": "i"}),
            pipeline: "p".into(),
            pipeline_hash: "h".into(),
            started: "2026-01-01T00:00:00Z".into(),
            output: "x.zip".into(),
        }
    }

    fn record(state: NodeState) -> NodeRecord {
        NodeRecord {
            task: "t".into(),
            state,
            attempts: 1,
            error: None,
            error_kind: None,
            artifacts: vec![],
            items: vec![json!({"name": "a"})].into(),
            optional: false,
        }
    }

    #[test]
    fn only_a_commit_makes_a_node_done_and_it_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        {
            let (j, m) = Journal::open(&path, FlushPolicy::EachCommit).unwrap();
            assert!(m.is_none());
            j.write_meta(&meta()).unwrap();
            let Status::Pending(claim) = j.status("a").unwrap() else {
                panic!("a new node is pending")
            };
            // A claim dropped without commit leaves the node pending.
            drop(claim);
            assert!(matches!(j.status("a").unwrap(), Status::Pending(_)));
            let Status::Pending(claim) = j.status("a").unwrap() else {
                unreachable!()
            };
            claim.commit(&record(NodeState::Done)).unwrap();
            let Status::Pending(claim) = j.status("b").unwrap() else {
                unreachable!()
            };
            claim.commit(&record(NodeState::Failed)).unwrap();
        }
        let (j, m) = Journal::open(&path, FlushPolicy::Batched).unwrap();
        assert_eq!(m, Some(meta()));
        match j.status("a").unwrap() {
            Status::Done(d) => {
                assert_eq!(d.record.items.to_values(), vec![json!({"name": "a"})]);
                // redo forgets it.
                d.redo().unwrap();
                assert!(matches!(j.status("a").unwrap(), Status::Pending(_)));
            }
            Status::Pending(_) => panic!("a was committed done"),
        }
        // failed nodes are pending again on resume
        assert!(matches!(j.status("b").unwrap(), Status::Pending(_)));
    }

    #[test]
    fn batched_commits_are_seen_at_once_and_durable_only_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        {
            let (j, _) = Journal::open(&path, FlushPolicy::Batched).unwrap();
            j.write_meta(&meta()).unwrap();
            for node in ["a", "b"] {
                let Status::Pending(claim) = j.status(node).unwrap() else {
                    panic!("{node} is new")
                };
                claim.commit(&record(NodeState::Done)).unwrap();
            }
            // Held in memory, yet status already answers from the buffer.
            assert!(j.has_unflushed());
            assert!(matches!(j.status("a").unwrap(), Status::Done(_)));
            j.flush().unwrap();
            assert!(!j.has_unflushed());
            // A redo and a commit after the last flush: lost when the process dies now.
            let Status::Done(done) = j.status("a").unwrap() else {
                panic!("a was committed")
            };
            let _ = done.redo().unwrap();
            assert!(matches!(j.status("a").unwrap(), Status::Pending(_)));
            let Status::Pending(claim) = j.status("c").unwrap() else {
                panic!("c is new")
            };
            claim.commit(&record(NodeState::Done)).unwrap();
            assert_eq!(j.records().unwrap().len(), 2, "b and c, a was forgotten");
            // A commit after the last write to sled, then the journal goes away unflushed (as
            // on a kill; sled may still persist what it already had, so only d is checked).
            let Status::Pending(claim) = j.status("d").unwrap() else {
                panic!("d is new")
            };
            claim.commit(&record(NodeState::Done)).unwrap();
        }
        let (j, _) = Journal::open(&path, FlushPolicy::Batched).unwrap();
        assert!(matches!(j.status("b").unwrap(), Status::Done(_)));
        // d was only in the buffer when the journal went away: it runs again.
        assert!(matches!(j.status("d").unwrap(), Status::Pending(_)));
    }

    #[test]
    fn another_format_version_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        {
            let (j, _) = Journal::open(&path, FlushPolicy::Batched).unwrap();
            let mut m = meta();
            m.format_version = 99;
            j.write_meta(&m).unwrap();
        }
        let err = Journal::open(&path, FlushPolicy::Batched).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("format version 99"), "{msg}");
        assert!(msg.contains("--force"), "{msg}");
    }

    #[test]
    fn records_with_items_keep_the_bytes_of_journal_format_2() {
        // A record as kudo-diag wrote it while `items` was a `Vec<Value>` (3fe486a): items are
        // still written as the same JSON array, so journals of either build resume with the other
        // and the format version did not change.
        let written_by_3fe486a = br#"{"task":"pods","state":"done","attempts":1,"items":[{"metadata":{"name":"c-0","namespace":"prod"},"spec":{"containers":[{"name":"app"}]}},{"metadata":{"name":"c-1","namespace":"prod"}}],"optional":false}"#;
        let rec: NodeRecord = serde_json::from_slice(written_by_3fe486a).unwrap();
        assert_eq!(
            rec.items.to_values(),
            vec![
                json!({"metadata": {"name": "c-0", "namespace": "prod"}, "spec": {"containers": [{"name": "app"}]}}),
                json!({"metadata": {"name": "c-1", "namespace": "prod"}}),
            ]
        );
        assert_eq!(
            serde_json::to_vec(&rec).unwrap(),
            written_by_3fe486a.to_vec()
        );
        // No items: the field is left out, as before.
        let none = br#"{"task":"t","state":"failed","attempts":2,"error":"boom","optional":true}"#;
        let rec: NodeRecord = serde_json::from_slice(none).unwrap();
        assert!(rec.items.is_empty());
        assert_eq!(serde_json::to_vec(&rec).unwrap(), none.to_vec());
    }

    /// A journal as a build of this format that did not keep error kinds left it: meta in
    /// sled, one batch whose records have no `errorKind`.
    fn write_journal(path: &Path, meta: &Value, batch: &[u8]) {
        let db = sled::open(path).unwrap();
        db.insert(META_KEY, serde_json::to_vec(meta).unwrap())
            .unwrap();
        db.flush().unwrap();
        let (stream, _) = RecordStream::open(&path.join(RECORDS_FILE)).unwrap();
        stream.append(batch).unwrap();
    }

    #[test]
    fn items_written_into_a_record_as_it_is_serialized_read_back_as_items() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        // A list's items past what waits for a flush, and a node's few.
        let big: Items = vec![
            json!({"name": "a", "n": [1, 2]}),
            json!("b \"q\"".repeat(300_000)),
        ]
        .into();
        let small: Items = vec![json!({"exitCode": 0})].into();
        let mut plain = record(NodeState::Done);
        plain.items = Items::new();
        let commit = |j: &Journal, node: &str, items: &Items| {
            let Status::Pending(claim) = j.status(node).unwrap() else {
                panic!("{node} runs")
            };
            let texts: Vec<&str> = (0..items.len()).map(|i| items.get(i)).collect();
            claim
                .commit_with_items(&plain, items.text_len() + items.len() + 1, |out| {
                    write!(out, "[{}]", texts.join(","))
                })
                .unwrap();
        };
        {
            let (j, _) = Journal::open(&path, FlushPolicy::Batched).unwrap();
            j.write_meta(&meta()).unwrap();
            // An earlier attempt's failure, held for the next flush: the items' commit, written
            // at once, is the newer and must stay the node's record after that flush.
            let Status::Pending(claim) = j.status("pods").unwrap() else {
                unreachable!()
            };
            claim.commit(&record(NodeState::Failed)).unwrap();
            commit(&j, "pods", &big);
            assert!(
                !j.has_unflushed(),
                "the list's record is in the stream already"
            );
            commit(&j, "exec", &small);
            assert!(j.has_unflushed(), "a node's few items wait for the flush");
            j.flush().unwrap();
        }
        let (j, _) = Journal::open(&path, FlushPolicy::Batched).unwrap();
        for (node, items) in [("pods", &big), ("exec", &small)] {
            let Status::Done(d) = j.status(node).unwrap() else {
                panic!("the committed node is done")
            };
            assert_eq!(&d.record.items, items);
            assert_eq!(d.record.task, plain.task);
            assert_eq!(d.record.attempts, plain.attempts);
        }
    }

    #[test]
    fn a_journal_written_before_error_kinds_were_kept_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut batch = Vec::new();
        let done = br#"{"task":"pods","state":"done","attempts":1,"items":[{"name":"a"}],"optional":false}"#;
        let failed = br#"{"task":"logs","state":"failed","attempts":3,"error":"log of x: 503 service unavailable","optional":true}"#;
        encode_entry(&mut batch, "pods", Some(done));
        encode_entry(&mut batch, "logs[a]", Some(failed));
        write_journal(&path, &serde_json::to_value(meta()).unwrap(), &batch);
        let (j, m) = Journal::open(&path, FlushPolicy::EachCommit).unwrap();
        assert_eq!(m, Some(meta()));
        let Status::Done(d) = j.status("pods").unwrap() else {
            panic!("the done node is reused")
        };
        assert_eq!(d.record.items.to_values(), vec![json!({"name": "a"})]);
        assert_eq!(d.record.error_kind, None);
        // The failed node runs again; its new failure is kept with its kind.
        let Status::Pending(claim) = j.status("logs[a]").unwrap() else {
            panic!("a failed node runs again")
        };
        let mut rec = record(NodeState::Failed);
        rec.error = Some("log of x: 404 not found".into());
        rec.error_kind = Some(ErrorKind::api(404, "NotFound", None));
        claim.commit(&rec).unwrap();
        let raw = j.record_bytes("logs[a]").unwrap().unwrap();
        let back: NodeRecord = serde_json::from_slice(&raw).unwrap();
        assert_eq!(back.error_kind, Some(ErrorKind::api(404, "NotFound", None)));
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.contains(r#""errorKind":{"kind":"api","status":404,"reason":"NotFound"}"#),
            "{text}"
        );
    }

    #[test]
    fn a_version_1_journal_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        {
            // What kudo-diag with journal format 1 left behind: meta plus a `nodes` tree.
            let db = sled::open(&path).unwrap();
            let mut m = serde_json::to_value(meta()).unwrap();
            m["formatVersion"] = json!(1);
            db.insert(META_KEY, serde_json::to_vec(&m).unwrap())
                .unwrap();
            db.open_tree("nodes")
                .unwrap()
                .insert("a", serde_json::to_vec(&record(NodeState::Done)).unwrap())
                .unwrap();
            db.flush().unwrap();
        }
        for err in [
            Journal::open(&path, FlushPolicy::Batched).unwrap_err(),
            Journal::read_meta(&path).unwrap_err(),
        ] {
            let msg = err.to_string();
            assert!(msg.contains("format version 1"), "{msg}");
            assert!(msg.contains("reads version 3"), "{msg}");
            assert!(msg.contains("older kudo-diag that started it"), "{msg}");
            assert!(msg.contains("--force"), "{msg}");
        }
    }

    #[test]
    fn a_version_2_journal_is_refused_with_what_to_do() {
        // Format 2 kept its batches in sled; this build would not see them.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut m = serde_json::to_value(meta()).unwrap();
        m["formatVersion"] = json!(2);
        write_journal(&path, &m, &[]);
        let msg = Journal::open(&path, FlushPolicy::Batched)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("format version 2"), "{msg}");
        assert!(msg.contains("older kudo-diag that started it"), "{msg}");
    }

    /// How many batches the record stream holds.
    fn batches(j: &Journal) -> usize {
        let bytes = std::fs::read(j.dir().join(RECORDS_FILE)).unwrap();
        let mut pos = 0;
        let mut n = 0;
        while pos < bytes.len() {
            let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
            pos += 4 + len + 8;
            n += 1;
        }
        n
    }

    #[test]
    fn batches_replay_in_order_with_removals_and_new_batches_follow_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let commit = |j: &Journal, node: &str, attempts: u32| {
            let Status::Pending(claim) = j.status(node).unwrap() else {
                panic!("{node} is pending")
            };
            let mut r = record(NodeState::Done);
            r.attempts = attempts;
            claim.commit(&r).unwrap();
        };
        {
            let (j, _) = Journal::open(&path, FlushPolicy::Batched).unwrap();
            j.write_meta(&meta()).unwrap();
            commit(&j, "a", 1);
            commit(&j, "b", 1);
            j.flush().unwrap();
            // a's artifacts went bad: forgotten, run again, done again, all in later batches.
            let Status::Done(done) = j.status("a").unwrap() else {
                panic!("a is done")
            };
            let _claim = done.redo().unwrap();
            j.flush().unwrap();
            commit(&j, "a", 2);
            j.flush().unwrap();
            assert_eq!(batches(&j), 3, "one batch per flush");
        }
        {
            let (j, m) = Journal::open(&path, FlushPolicy::Batched).unwrap();
            assert_eq!(m, Some(meta()));
            let Status::Done(a) = j.status("a").unwrap() else {
                panic!("a's last batch says done")
            };
            assert_eq!(a.record.attempts, 2);
            // A batch written after a reopen comes after the replayed ones.
            commit(&j, "c", 1);
            j.flush().unwrap();
        }
        let (j, _) = Journal::open(&path, FlushPolicy::EachCommit).unwrap();
        let ids: Vec<String> = j.records().unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        // EachCommit: every commit is its own batch, durable at once.
        commit(&j, "d", 1);
        assert!(!j.has_unflushed());
        assert_eq!(batches(&j), 5);
    }

    #[test]
    fn a_damaged_batch_is_reported_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        {
            let (j, _) = Journal::open(&path, FlushPolicy::Batched).unwrap();
            j.write_meta(&meta()).unwrap();
            // An entry whose record length runs past the end of its batch (whose checksum
            // holds: not a torn write).
            let mut bad = Vec::new();
            encode_entry(&mut bad, "a", Some(b"{}"));
            bad.truncate(bad.len() - 1);
            j.inner.stream.append(&bad).unwrap();
        }
        let msg = Journal::open(&path, FlushPolicy::Batched)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unreadable"), "{msg}");
        assert!(msg.contains("cut short"), "{msg}");
        assert!(msg.contains("--force"), "{msg}");
    }

    /// The hook the engine syncs the artifact store in runs once per batch, before it is
    /// written (not when there is nothing to write), and its error fails the flush: no record
    /// reaches the disk before the content it points at.
    #[test]
    fn before_write_runs_before_each_batch_and_its_error_fails_the_flush() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(&dir.path().join("journal"), FlushPolicy::Batched).unwrap();
        j.write_meta(&meta()).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&calls);
        j.before_write(move || match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Ok(()),
            _ => Err(EngineError::Journal("the disk is gone".into())),
        });
        j.flush().unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "nothing held, nothing to sync"
        );
        let commit = |node: &str| {
            let Status::Pending(claim) = j.status(node).unwrap() else {
                unreachable!("a new node is pending")
            };
            claim.commit(&record(NodeState::Done)).unwrap();
        };
        commit("a");
        j.flush().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        commit("b");
        let e = j.flush().unwrap_err().to_string();
        assert!(e.contains("the disk is gone"), "{e}");
        drop(j);
        let (j, _) = Journal::open(&dir.path().join("journal"), FlushPolicy::Batched).unwrap();
        assert!(matches!(j.status("a").unwrap(), Status::Done(_)));
        assert!(
            matches!(j.status("b").unwrap(), Status::Pending(_)),
            "b's batch was not written"
        );
    }
    fn artifact(path: &str) -> ArtifactRecord {
        serde_json::from_value(json!({"path": path, "bytes": 3, "blake3": "b", "file": path}))
            .unwrap()
    }

    #[test]
    fn the_writers_source_reads_each_artifact_back_alone_where_each_artifact_found_it() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(&dir.path().join("journal"), FlushPolicy::Batched).unwrap();
        j.write_meta(&meta()).unwrap();
        for (node, paths) in [("a", vec!["a/1", "a/2"]), ("b", vec!["b/1"])] {
            let Status::Pending(claim) = j.status(node).unwrap() else {
                unreachable!()
            };
            let mut rec = record(NodeState::Done);
            rec.artifacts = paths.into_iter().map(artifact).collect();
            claim.commit(&rec).unwrap();
        }
        // A fan-out source's record past what a scan reads whole: its artifact is found
        // without its items being read, even with a rule named like their member.
        let mut pods_yaml = artifact("pods.yaml");
        pods_yaml.redaction_rules.insert("items".into(), 1);
        let Status::Pending(claim) = j.status("pods").unwrap() else {
            unreachable!()
        };
        let mut rec = record(NodeState::Done);
        rec.items = Items::new();
        rec.artifacts = vec![pods_yaml.clone()];
        let item = format!(
            r#"{{"metadata":{{"name":"{}","labels":{{"items":"x"}}}}}}"#,
            "p".repeat(1000)
        );
        let n = 5_000;
        claim
            .commit_with_items(&rec, n * (item.len() + 1) + 1, |out| {
                for i in 0..n {
                    out.write_all(if i == 0 { b"[" } else { b"," })?;
                    out.write_all(item.as_bytes())?;
                }
                out.write_all(b"]")
            })
            .unwrap();
        j.flush().unwrap();
        // A later record of `b` replaces the first: only the latest is found.
        let Status::Done(b) = j.status("b").unwrap() else {
            panic!("b is done")
        };
        let mut rec = record(NodeState::Done);
        rec.artifacts = vec![artifact("b/2")];
        b.redo().unwrap().commit(&rec).unwrap();
        j.flush().unwrap();
        let mut index = Vec::new();
        let mut nodes = Vec::new();
        let latest = j.latest_entries(["a", "b", "pods", "gone"].into_iter());
        assert_eq!(
            latest.len(),
            3,
            "b's latest entry only, and none of a node never seen"
        );
        j.each_artifact(
            |at| latest.contains(&at),
            |node, entry, at, len, a| {
                if a.path != "pods.yaml" {
                    assert_eq!(a, artifact(&a.path));
                }
                nodes.push((a.path.clone(), node.to_string()));
                index.push(ArtifactRef {
                    path: a.path.into_boxed_str(),
                    at,
                    len,
                    node_at: entry,
                });
            },
        )
        .unwrap();
        index.sort_by(|x, y| x.path.cmp(&y.path));
        let paths: Vec<&str> = index.iter().map(|a| &*a.path).collect();
        assert_eq!(paths, ["a/1", "a/2", "b/2", "pods.yaml"]);
        let source = JournalArtifacts(j);
        for (path, node) in nodes {
            let a = index.iter().find(|a| *a.path == *path).unwrap();
            assert_eq!(source.node(a).unwrap(), node, "{path}");
        }
        for a in &index {
            let want = if &*a.path == "pods.yaml" {
                pods_yaml.clone()
            } else {
                artifact(&a.path)
            };
            assert_eq!(source.record(a).unwrap(), want);
        }
        // A place that holds another artifact's record is an error that says what to do,
        // never that other artifact.
        let other = ArtifactRef {
            path: "a/1".into(),
            ..index[1].clone()
        };
        let err = source.record(&other).unwrap_err().to_string();
        assert!(
            err.contains("of a/2, not of a/1") && err.contains("--continue"),
            "{err}"
        );
        let torn = ArtifactRef {
            len: index[0].len - 1,
            ..index[0].clone()
        };
        assert!(source.record(&torn).is_err());
    }
}
