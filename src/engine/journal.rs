//! The journal: a sled database inside `<output>.partial/journal/` that makes a collection
//! resumable.
//!
//! It holds one meta record (format version, target identity, pipeline name and hash, start time)
//! and one record per finished node (state, attempts, error, the artifacts it wrote, the items it
//! produced for fan-out). docs/journal.md describes the on-disk layout.
//!
//! Finishing a node is a typed claim, like just's cache: [`Journal::status`] answers
//! [`Status::Done`] with the record, or [`Status::Pending`] with a [`Claim`], and only
//! [`Claim::commit`] writes a final state. The engine commits after the node's artifacts were
//! synced and renamed by the sink, so the journal never names an artifact that is not whole.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::sink::ArtifactRecord;

use super::EngineError;

/// Version of the journal's on-disk format. Bumped on any incompatible change; a journal of
/// another version is refused with a message, never misread.
pub const JOURNAL_FORMAT_VERSION: u32 = 1;

const META_KEY: &[u8] = b"meta";
const NODES_TREE: &[u8] = b"nodes";

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactRecord>,
    /// The items a fan-out source produced, so a resumed run expands the same nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Value>,
    #[serde(default)]
    pub optional: bool,
}

/// When the journal makes commits durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// Every `Claim::commit` fsyncs before it returns.
    EachCommit,
    /// Commits are buffered in memory; the caller calls [`Journal::flush`] (the scheduler does
    /// so at most every `FLUSH_INTERVAL`, a group commit), which writes them to sled as one
    /// batch and fsyncs. A kill loses at most the commits since the last completed flush, and
    /// those nodes simply run again.
    #[default]
    Batched,
}

/// An open journal.
#[derive(Clone)]
pub struct Journal {
    db: sled::Db,
    nodes: sled::Tree,
    policy: FlushPolicy,
    // Shared: every claim carries a handle to the journal.
    dir: Arc<Path>,
    /// Batched commits not yet written to sled, by node id (`None`: a removal). One
    /// `apply_batch` per flush costs far less than a sled insert per node (about 16% of the
    /// scheduler's time at 100,000 nodes).
    pending: Arc<Mutex<HashMap<String, Option<Vec<u8>>>>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("dir", &self.dir).finish()
    }
}

/// A node's standing in the journal.
pub enum Status {
    /// Finished well in an earlier run.
    Done(DoneNode),
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
        match j.policy {
            FlushPolicy::EachCommit => {
                j.nodes
                    .remove(self.claim.node.as_bytes())
                    .map_err(|e| db_err(&j.dir, e))?;
            }
            FlushPolicy::Batched => {
                j.pending_lock().insert(self.claim.node.clone(), None);
            }
        }
        Ok(self.claim)
    }
}

/// The right to write one node's final state. Only `commit` writes it.
pub struct Claim {
    node: String,
    journal: Journal,
}

impl Claim {
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Records the node's outcome. Call it only after every artifact in `record` is synced.
    pub fn commit(self, record: &NodeRecord) -> Result<(), EngineError> {
        let bytes = serde_json::to_vec(record).expect("node records serialize");
        let j = &self.journal;
        match j.policy {
            FlushPolicy::EachCommit => {
                j.nodes
                    .insert(self.node.as_bytes(), bytes)
                    .map_err(|e| db_err(&j.dir, e))?;
                j.flush()
            }
            FlushPolicy::Batched => {
                j.pending_lock().insert(self.node, Some(bytes));
                Ok(())
            }
        }
    }
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`. Returns the meta record if there is one.
    pub fn open(
        dir: &Path,
        policy: FlushPolicy,
    ) -> Result<(Journal, Option<JournalMeta>), EngineError> {
        let db = sled::Config::new()
            .path(dir)
            .open()
            .map_err(|e| open_err(dir, e))?;
        let nodes = db.open_tree(NODES_TREE).map_err(|e| db_err(dir, e))?;
        let journal = Journal {
            db,
            nodes,
            policy,
            dir: Arc::from(dir),
            pending: Arc::default(),
        };
        let meta = journal.meta()?;
        Ok((journal, meta))
    }

    /// Reads only the meta record of the journal in `dir` (to find a matching partial folder).
    pub fn read_meta(dir: &Path) -> Result<Option<JournalMeta>, EngineError> {
        let (j, meta) = Journal::open(dir, FlushPolicy::Batched)?;
        drop(j);
        Ok(meta)
    }

    fn meta(&self) -> Result<Option<JournalMeta>, EngineError> {
        let Some(raw) = self.db.get(META_KEY).map_err(|e| db_err(&self.dir, e))? else {
            return Ok(None);
        };
        let probe: Value = serde_json::from_slice(&raw).map_err(|e| corrupt(&self.dir, e))?;
        let version = probe.get("formatVersion").and_then(Value::as_u64);
        if version != Some(JOURNAL_FORMAT_VERSION as u64) {
            return Err(EngineError::Message(format!(
                "the journal in {} has format version {}, this kudo-diag reads version {}: finish it with the kudo-diag that started it, or start over with `--force`",
                self.dir.display(),
                version.map_or_else(|| "unknown".to_string(), |v| v.to_string()),
                JOURNAL_FORMAT_VERSION
            )));
        }
        let meta = serde_json::from_value(probe).map_err(|e| corrupt(&self.dir, e))?;
        Ok(Some(meta))
    }

    /// Writes the meta record and makes it durable (before any node runs).
    pub fn write_meta(&self, meta: &JournalMeta) -> Result<(), EngineError> {
        let bytes = serde_json::to_vec(meta).expect("journal meta serializes");
        self.db
            .insert(META_KEY, bytes)
            .map_err(|e| db_err(&self.dir, e))?;
        self.flush()
    }

    /// The node's standing: done (with its record) or pending (with the claim to finish it).
    pub fn status(&self, node: &str) -> Result<Status, EngineError> {
        let claim = Claim {
            node: node.to_string(),
            journal: self.clone(),
        };
        // A batched commit (or removal) not flushed yet is the node's latest state.
        let buffered = self.pending_lock().get(node).cloned();
        let raw = match buffered {
            Some(Some(bytes)) => bytes,
            Some(None) => return Ok(Status::Pending(claim)),
            None => match self
                .nodes
                .get(node.as_bytes())
                .map_err(|e| db_err(&self.dir, e))?
            {
                Some(raw) => raw.to_vec(),
                None => return Ok(Status::Pending(claim)),
            },
        };
        let record: NodeRecord = serde_json::from_slice(&raw).map_err(|e| corrupt(&self.dir, e))?;
        Ok(match record.state {
            NodeState::Done => Status::Done(DoneNode { record, claim }),
            // Failed and skipped nodes are tried again by a resumed run.
            NodeState::Failed | NodeState::Skipped => Status::Pending(claim),
        })
    }

    /// Every node record, in node-id order.
    pub fn records(&self) -> Result<Vec<(String, NodeRecord)>, EngineError> {
        self.write_pending()?;
        let mut out = Vec::new();
        for kv in self.nodes.iter() {
            let (k, v) = kv.map_err(|e| db_err(&self.dir, e))?;
            let rec = serde_json::from_slice(&v).map_err(|e| corrupt(&self.dir, e))?;
            out.push((String::from_utf8_lossy(&k).into_owned(), rec));
        }
        Ok(out)
    }

    /// Makes every commit so far durable.
    pub fn flush(&self) -> Result<(), EngineError> {
        self.write_pending()?;
        self.db.flush().map_err(|e| db_err(&self.dir, e))?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when batched commits wait in memory for the next [`Journal::flush`].
    pub fn has_unflushed(&self) -> bool {
        !self.pending_lock().is_empty()
    }

    fn pending_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Vec<u8>>>> {
        // A panic while holding the lock leaves the map whole (inserts and takes only).
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the buffered commits into sled as one batch (not yet durable: `flush` fsyncs).
    fn write_pending(&self) -> Result<(), EngineError> {
        // The lock is held until sled has the batch, so `status` never sees a commit in
        // neither place.
        let mut pending = self.pending_lock();
        if pending.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (node, value) in pending.drain() {
            match value {
                Some(bytes) => batch.insert(node.as_bytes(), bytes),
                None => batch.remove(node.as_bytes()),
            }
        }
        self.nodes
            .apply_batch(batch)
            .map_err(|e| db_err(&self.dir, e))
    }
}

fn open_err(dir: &Path, e: sled::Error) -> EngineError {
    let hint = match &e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            ": another kudo-diag seems to be using this collection; wait for it to finish or stop it"
        }
        _ => "",
    };
    EngineError::Message(format!(
        "cannot open the journal in {}: {e}{hint}",
        dir.display()
    ))
}

fn db_err(dir: &Path, e: sled::Error) -> EngineError {
    EngineError::Message(format!("journal in {}: {e}", dir.display()))
}

fn corrupt(dir: &Path, e: serde_json::Error) -> EngineError {
    EngineError::Message(format!(
        "the journal in {} is unreadable ({e}): start over with `--force`",
        dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
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
            artifacts: vec![],
            items: vec![json!({"name": "a"})],
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
                assert_eq!(d.record.items, vec![json!({"name": "a"})]);
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
}
