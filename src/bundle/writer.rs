//! The final zip: every artifact in a stable order (sorted by bundle path) with fixed
//! timestamps, plus `manifest.json`, `errors.json`, `redactions.json` and the collection's own
//! log. Written under a temp name and renamed when complete, so a bundle that exists is whole.
//!
//! Artifacts were deflated while they were collected (see `sink`): their compressed entries are
//! copied as they are (`raw_copy_file_rename`), so writing the bundle costs about one read and
//! one write of the compressed bytes. The same artifacts always give a byte-identical bundle.
//! The layout is documented in docs/bundle-layout.md.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use super::layout;
use super::redact::{MarkerCounter, RedactingWriter, RedactionCounts, Redactor};
use super::sink::{check_artifact_path, ArtifactRecord, ArtifactStore, ARTIFACT_DEFLATE_LEVEL};
use super::BundleError;

/// Version of the bundle layout (docs/bundle-layout.md). Bumped on any incompatible change.
/// 2: an empty list is recorded in the manifest's `emptyLists` instead of written as a file, so
/// a reader of version 1 would take it for a list that was not collected.
pub const BUNDLE_FORMAT_VERSION: u32 = 2;

/// What the manifest says about the collection as a whole.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleMeta {
    pub format_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub git_commit: String,
    /// Cluster server, namespace, instance (or what a non-cluster run used).
    pub target: serde_json::Value,
    pub pipeline: String,
    pub pipeline_hash: String,
    pub started: String,
    pub finished: String,
}

/// One file of the bundle in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    pub path: String,
    pub bytes: u64,
    pub blake3: String,
    /// The node that produced it (`kudo-diag` for the tool's own files).
    pub task: String,
    /// How many redaction markers it holds.
    #[serde(default)]
    pub redactions: u64,
}

/// A task that did not finish well, for errors.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEntry {
    pub node: String,
    pub task: String,
    /// `failed` or `skipped`.
    pub status: String,
    pub reason: String,
    pub attempts: u32,
    pub optional: bool,
    /// What a failed task ran into, as data (`{"kind": "api", "status": 404, "reason":
    /// "NotFound"}`); absent for skips and in bundles written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<crate::failure::ErrorKind>,
}

/// `manifest.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(flatten)]
    pub meta: BundleMeta,
    /// The artifacts, sorted by path.
    pub files: Vec<ManifestEntry>,
    /// The tool's own files (`kudo-diag/collection.log`, `errors.json`, `redactions.json`), so
    /// that verification covers them too. `manifest.json` cannot list itself.
    #[serde(default)]
    pub bundle_files: Vec<ManifestEntry>,
    /// Lists that were collected and found nothing, sorted by path: no file is written for them
    /// (format 2). A list path neither here nor in `files` was not collected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_lists: Vec<EmptyList>,
    /// Previous logs byte for byte the same as the current log beside them (a container that
    /// restarted and printed the same again), sorted by path: noted here, stored once, as
    /// `sameAs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identical_logs: Vec<IdenticalLog>,
}

impl Manifest {
    /// The file that holds `path`'s content when `path` is a previous log identical to its
    /// current log.
    pub fn same_as(&self, path: &str) -> Option<&str> {
        self.identical_logs
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| self.identical_logs[i].same_as.as_str())
    }

    /// Whether `path` is a list the collection found empty.
    pub fn is_empty_list(&self, path: &str) -> bool {
        self.empty_lists
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .is_ok()
    }
}

/// A previous log identical to the current log beside it, in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IdenticalLog {
    /// `…/logs/CONTAINER.previous.log`, not stored.
    pub path: String,
    /// `…/logs/CONTAINER.log`, which holds the same bytes.
    pub same_as: String,
    /// The node that collected the previous log.
    pub task: String,
}

/// What the manifest records instead of a file: lists found empty, previous logs identical to
/// the current ones.
#[derive(Debug, Default)]
struct Recorded {
    empty_lists: Vec<EmptyList>,
    identical_logs: Vec<IdenticalLog>,
}

/// What the manifest records instead of a file for `rec` (at `index[i]`, the index sorted by
/// path), if anything: an empty list, or a previous log identical to its current log (looked up
/// in the index and read back from the source).
fn recorded_instead(
    index: &[ArtifactRef],
    source: &dyn ArtifactSource,
    i: usize,
    rec: &ArtifactRecord,
    into: &mut Recorded,
) -> Result<bool, BundleError> {
    if rec.empty_list {
        into.empty_lists.push(EmptyList {
            path: rec.path.clone(),
            task: source.node(&index[i])?,
        });
        return Ok(true);
    }
    let Some(stem) = rec.path.strip_suffix(".previous.log") else {
        return Ok(false);
    };
    let current = format!("{stem}.log");
    let Ok(at) = index.binary_search_by(|a| (*a.path).cmp(current.as_str())) else {
        return Ok(false);
    };
    let c = source.record(&index[at])?;
    if c.empty_list || c.bytes != rec.bytes || c.blake3 != rec.blake3 {
        return Ok(false);
    }
    into.identical_logs.push(IdenticalLog {
        path: rec.path.clone(),
        same_as: current,
        task: source.node(&index[i])?,
    });
    Ok(true)
}

/// A list collected empty, in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EmptyList {
    /// The bundle path the list would have been written to.
    pub path: String,
    /// The node that listed it.
    pub task: String,
}

/// `redactions.json`: what was redacted, counted per file and per rule; never the values.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RedactionReport {
    /// Whether the collection ran with redaction on.
    pub enabled: bool,
    /// The rules applied, in order.
    #[serde(default)]
    pub rule_names: Vec<String>,
    pub total: u64,
    /// Totals per rule name.
    pub rules: RedactionCounts,
    /// Files with at least one redaction, sorted by path.
    pub files: Vec<RedactedFile>,
    /// Artifacts written raw (`create_raw`), not redacted.
    #[serde(default)]
    pub raw_files: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RedactedFile {
    pub path: String,
    pub total: u64,
    pub rules: RedactionCounts,
}

/// The finished bundle.
#[derive(Debug, Clone)]
pub struct BundleInfo {
    pub path: PathBuf,
    pub bytes: u64,
    pub files: usize,
}

/// One artifact of the bundle as the writer indexes it: its path, and where an
/// [`ArtifactSource`] finds its record and the id of the node that made it. The writer holds
/// these (about 40 bytes and the path per artifact) and reads each record back when it writes
/// it, so the records of a collection of 400,000 artifacts are never all in memory at once;
/// node ids are read back only for the manifest (380,000 of them, held to the end of a run,
/// were 30 MB).
#[derive(Debug, Clone)]
pub struct ArtifactRef {
    pub path: Box<str>,
    /// Where the source keeps the record: where its JSON starts in the journal's record
    /// stream, a position in a list.
    pub at: u64,
    /// The length of the record's JSON in the stream (0 for a list).
    pub len: u32,
    /// Where the source keeps the id of the node that made it: where the node's entry starts
    /// in the journal's record stream, a position in a list.
    pub node_at: u64,
}

/// Reads an artifact's record back for the writer, which asks for each one about twice (when
/// it copies the content, when it writes the manifest), in path order, and the id of the node
/// that made it, once.
pub trait ArtifactSource {
    fn record(&self, artifact: &ArtifactRef) -> Result<ArtifactRecord, BundleError>;
    fn node(&self, artifact: &ArtifactRef) -> Result<String, BundleError>;
}

/// Records held in memory, found by their position in the list.
struct InMemory<'a>(&'a [(String, ArtifactRecord)]);

impl ArtifactSource for InMemory<'_> {
    fn record(&self, artifact: &ArtifactRef) -> Result<ArtifactRecord, BundleError> {
        Ok(self.0[artifact.at as usize].1.clone())
    }

    fn node(&self, artifact: &ArtifactRef) -> Result<String, BundleError> {
        Ok(self.0[artifact.node_at as usize].0.clone())
    }
}

/// Writes the bundle at `dest`. `artifacts` pairs each record with the node that made it.
pub fn write_bundle(
    store: &ArtifactStore,
    artifacts: &[(String, ArtifactRecord)],
    errors: &[ErrorEntry],
    log: Option<&Path>,
    meta: &BundleMeta,
    dest: &Path,
) -> Result<BundleInfo, BundleError> {
    let source = InMemory(artifacts);
    let index = index_of(artifacts);
    write_bundle_then(store, index, &source, errors, log, meta, dest, || Ok(()))
}

/// The index of records held in a list, for [`InMemory`].
fn index_of(artifacts: &[(String, ArtifactRecord)]) -> Vec<ArtifactRef> {
    artifacts
        .iter()
        .enumerate()
        .map(|(i, (_, rec))| ArtifactRef {
            path: rec.path.as_str().into(),
            at: i as u64,
            len: 0,
            node_at: i as u64,
        })
        .collect()
}

/// [`write_bundle`] from an index of the artifacts and the source of their records, calling
/// `before_rename` once the complete bundle is synced under its temp name ([`tmp_path`]) and
/// before it is renamed to `dest`: the collection journals there that its bundle is written,
/// so a kill at any later instant is recognised as a finished run.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one bundle, each needed"
)]
pub fn write_bundle_then(
    store: &ArtifactStore,
    mut index: Vec<ArtifactRef>,
    source: &dyn ArtifactSource,
    errors: &[ErrorEntry],
    log: Option<&Path>,
    meta: &BundleMeta,
    dest: &Path,
    before_rename: impl FnOnce() -> Result<(), BundleError>,
) -> Result<BundleInfo, BundleError> {
    index.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = index.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(BundleError::DuplicatePath {
            path: w[0].path.to_string(),
            first: source.node(&w[0])?,
            second: source.node(&w[1])?,
        });
    }
    for a in &index {
        check_artifact_path(&a.path)?;
    }
    let tmp = tmp_path(dest);
    let result = write_zip(store, &index, source, errors, log, meta, &tmp);
    let (files, bytes) = match result {
        Ok(v) => v,
        Err(ZipFailure::Io(e)) => {
            let _ = fs::remove_file(&tmp);
            // About the size of the bundle: the stored artifacts are copied as they are.
            let needed: u64 = index
                .iter()
                .filter_map(|a| source.record(a).ok())
                .filter(|r| !r.empty_list)
                .filter_map(|r| store.stored_len(&r))
                .sum();
            return Err(BundleError::Io {
                path: tmp,
                source: e,
                needed: Some(needed),
            });
        }
        Err(ZipFailure::Other(e)) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    before_rename()?;
    fs::rename(&tmp, dest).map_err(|e| io_err(dest, e))?;
    Ok(BundleInfo {
        path: dest.to_path_buf(),
        bytes,
        files,
    })
}

fn own_file_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(ARTIFACT_DEFLATE_LEVEL))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(false)
}

/// Why writing the zip failed: an I/O error of the output (a full disk, a read-only folder),
/// described with the folder and the fix by the caller, or anything else.
enum ZipFailure {
    Io(io::Error),
    Other(BundleError),
}

impl From<BundleError> for ZipFailure {
    fn from(e: BundleError) -> Self {
        ZipFailure::Other(e)
    }
}

fn zerr(what: &str) -> impl Fn(zip::result::ZipError) -> ZipFailure + '_ {
    move |e| match e {
        zip::result::ZipError::Io(io) => ZipFailure::Io(io),
        e => ZipFailure::Other(BundleError::Zip(format!(
            "writing {what} into the bundle: {e}"
        ))),
    }
}

/// Writes one of the tool's own files, hashing it as it goes; through the collection's redactor
/// when it has one (the collection log and errors.json quote commands' and servers' messages).
/// Returns its manifest entry and its redaction counts.
fn write_own<W: Write + io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    name: &str,
    content: &mut dyn io::Read,
    large: bool,
    redactor: Option<&Redactor>,
) -> Result<(ManifestEntry, RedactionCounts), ZipFailure> {
    zip.start_file(name, own_file_options().large_file(large))
        .map_err(zerr(name))?;
    let ioe = ZipFailure::Io;
    let mut tee = HashingWriter {
        inner: zip,
        hasher: blake3::Hasher::new(),
        bytes: 0,
        markers: MarkerCounter::default(),
    };
    let rules = match redactor {
        Some(r) => {
            let mut w = RedactingWriter::new(&mut tee, r);
            io::copy(content, &mut w).map_err(ioe)?;
            w.finish().map_err(ioe)?.1
        }
        None => {
            io::copy(content, &mut tee).map_err(ioe)?;
            RedactionCounts::new()
        }
    };
    let counts = tee.markers.counts(rules);
    Ok((
        ManifestEntry {
            path: name.to_string(),
            bytes: tee.bytes,
            blake3: tee.hasher.finalize().to_hex().to_string(),
            task: "kudo-diag".to_string(),
            redactions: tee.markers.count(),
        },
        counts,
    ))
}

struct HashingWriter<'a, W: Write> {
    inner: &'a mut W,
    hasher: blake3::Hasher,
    bytes: u64,
    markers: MarkerCounter,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.markers.feed(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl RedactionReport {
    /// An empty report for the store's redactor.
    fn of(store: &ArtifactStore) -> Self {
        RedactionReport {
            enabled: store.redactor().is_some(),
            rule_names: store
                .redactor()
                .map(|r| r.rule_names().iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
            ..RedactionReport::default()
        }
    }

    /// Counts a file of the bundle with `total` markers (nothing when it has none).
    fn add(&mut self, path: &str, total: u64, rules: &RedactionCounts) {
        if total == 0 {
            return;
        }
        self.total += total;
        for (rule, n) in rules {
            *self.rules.entry(rule.clone()).or_default() += n;
        }
        self.files.push(RedactedFile {
            path: path.to_string(),
            total,
            rules: rules.clone(),
        });
    }
}

/// What the artifacts' pass leaves for the rest of the bundle: which entries of the index are
/// files of the bundle, what the manifest records instead of a file, and the redaction report
/// so far.
struct Copied {
    stored: Vec<bool>,
    files: usize,
    recorded: Recorded,
    report: RedactionReport,
}

/// Copies every stored artifact into the zip, in index (path) order, one record at a time.
fn copy_artifacts<W: Write + io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    store: &ArtifactStore,
    index: &[ArtifactRef],
    source: &dyn ArtifactSource,
) -> Result<Copied, ZipFailure> {
    let mut out = Copied {
        stored: vec![false; index.len()],
        files: 0,
        recorded: Recorded::default(),
        report: RedactionReport::of(store),
    };
    for i in 0..index.len() {
        let rec = source.record(&index[i])?;
        if recorded_instead(index, source, i, &rec, &mut out.recorded)? {
            continue;
        }
        copy_one(zip, store, &rec)?;
        out.stored[i] = true;
        out.files += 1;
        if rec.raw {
            out.report.raw_files.push(rec.path.clone());
        }
        out.report
            .add(&rec.path, rec.redactions, &rec.redaction_rules);
    }
    Ok(out)
}

/// Copies one artifact's compressed entry as it is, after checking it is the one recorded.
fn copy_one<W: Write + io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    store: &ArtifactStore,
    rec: &ArtifactRecord,
) -> Result<(), ZipFailure> {
    let src = store.content_path(rec);
    let corrupt = |e: &dyn std::fmt::Display| {
        BundleError::Corrupt(format!(
            "artifact {} ({}) is corrupt: {e}; run the collection again with --continue to re-collect it",
            rec.path,
            src.display()
        ))
    };
    let mut one = match store.stored_zip(rec) {
        Ok(one) => one,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => return Err(corrupt(&e).into()),
        Err(e) => return Err(io_err(&src, e).into()),
    };
    let entry = one.by_index_raw(0).map_err(|e| corrupt(&e))?;
    if entry.size() != rec.bytes {
        return Err(ZipFailure::Other(corrupt(&format!(
            "it holds {} bytes, the journal says {}",
            entry.size(),
            rec.bytes
        ))));
    }
    zip.raw_copy_file_rename(entry, rec.path.as_str())
        .map_err(zerr(&rec.path))
}

/// `manifest.json` as it is written: [`Manifest`]'s fields in its order, with the artifacts'
/// entries read back from the source as they are serialized rather than held.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestOut<'a> {
    #[serde(flatten)]
    meta: &'a BundleMeta,
    files: StoredFiles<'a>,
    bundle_files: &'a [ManifestEntry],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    empty_lists: &'a [EmptyList],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    identical_logs: &'a [IdenticalLog],
}

/// The manifest entries of the artifacts that are files of the bundle, in path order. The
/// first error of the source is kept in `failed` (serde's own error would lose its kind).
struct StoredFiles<'a> {
    index: &'a [ArtifactRef],
    stored: &'a [bool],
    files: usize,
    source: &'a dyn ArtifactSource,
    failed: &'a std::cell::RefCell<Option<BundleError>>,
}

impl Serialize for StoredFiles<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = ser.serialize_seq(Some(self.files))?;
        for (a, _) in self.index.iter().zip(self.stored).filter(|(_, s)| **s) {
            let read = self
                .source
                .record(a)
                .and_then(|r| Ok((r, self.source.node(a)?)));
            let (rec, task) = match read {
                Ok(r) => r,
                Err(e) => {
                    let msg = e.to_string();
                    *self.failed.borrow_mut() = Some(e);
                    return Err(S::Error::custom(msg));
                }
            };
            seq.serialize_element(&ManifestEntry {
                path: rec.path,
                bytes: rec.bytes,
                blake3: rec.blake3,
                task,
                redactions: rec.redactions,
            })?;
        }
        seq.end()
    }
}

/// Writes the tool's own files (the collection log, errors.json, redactions.json) after the
/// artifacts; returns their manifest entries.
fn write_own_files<W: Write + io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    store: &ArtifactStore,
    mut report: RedactionReport,
    errors: &[ErrorEntry],
    log: Option<&Path>,
) -> Result<Vec<ManifestEntry>, ZipFailure> {
    let redactor = store.redactor().map(|r| &**r);
    let mut own = Vec::new();
    if let Some(log) = log {
        if let Ok(mut f) = File::open(log) {
            let large = f
                .metadata()
                .map(|m| m.len() >= u32::MAX as u64)
                .unwrap_or(true);
            let name = layout::COLLECTION_LOG;
            let (entry, counts) = write_own(zip, name, &mut f, large, redactor)?;
            report.add(name, counts.values().sum(), &counts);
            own.push(entry);
        }
    }
    let errors_json = serde_json::to_vec_pretty(errors).expect("errors serialize");
    let (entry, counts) = write_own(zip, layout::ERRORS, &mut &errors_json[..], false, redactor)?;
    report.add(layout::ERRORS, counts.values().sum(), &counts);
    own.push(entry);
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    let report_json = serde_json::to_vec_pretty(&report).expect("redactions serialize");
    let name = layout::REDACTIONS;
    own.push(write_own(zip, name, &mut &report_json[..], false, None)?.0);
    Ok(own)
}

fn write_zip(
    store: &ArtifactStore,
    index: &[ArtifactRef],
    source: &dyn ArtifactSource,
    errors: &[ErrorEntry],
    log: Option<&Path>,
    meta: &BundleMeta,
    tmp: &Path,
) -> Result<(usize, u64), ZipFailure> {
    let file = File::create(tmp).map_err(ZipFailure::Io)?;
    let gate = super::storage::Gate::new(file);
    let mut guard = Some(gate.abandon_guard());
    let mut zip = zip::ZipWriter::new(io::BufWriter::with_capacity(256 * 1024, gate));
    // Locals drop in reverse order: held in a local declared after `zip`, on an early return
    // the guard closes the gate before the zip writer's drop tries to finish the file.
    let abandon = guard.take().expect("the guard was just made");

    let copied = copy_artifacts(&mut zip, store, index, source)?;
    let own = write_own_files(&mut zip, store, copied.report, errors, log)?;
    let failed = std::cell::RefCell::new(None);
    let manifest = ManifestOut {
        meta,
        files: StoredFiles {
            index,
            stored: &copied.stored,
            files: copied.files,
            source,
            failed: &failed,
        },
        bundle_files: &own,
        empty_lists: &copied.recorded.empty_lists,
        identical_logs: &copied.recorded.identical_logs,
    };
    zip.start_file(layout::MANIFEST, own_file_options())
        .map_err(zerr(layout::MANIFEST))?;
    // Written into the entry as it is serialized: the text of a manifest of 100,000 files is
    // about 25 MB, and it would be held beside everything above.
    let mut w = io::BufWriter::with_capacity(64 * 1024, &mut zip);
    if let Err(e) = serde_json::to_writer_pretty(&mut w, &manifest) {
        return Err(match failed.borrow_mut().take() {
            Some(e) => ZipFailure::Other(e),
            None => ZipFailure::Io(io::Error::from(e)),
        });
    }
    w.flush().map_err(ZipFailure::Io)?;
    drop(w);
    let out = zip.finish().map_err(zerr("the zip's central directory"))?;
    let f = out
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(super::storage::Gate::into_result)
        .map_err(ZipFailure::Io)?;
    abandon.keep();
    f.sync_all().map_err(ZipFailure::Io)?;
    let bytes = f.metadata().map_err(ZipFailure::Io)?.len();
    Ok((copied.files, bytes))
}

/// Where a bundle is written before it is renamed to `dest`: `<dest>.tmp`.
pub fn tmp_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    dest.with_file_name(name)
}

fn io_err(path: &Path, e: io::Error) -> BundleError {
    BundleError::Io {
        path: path.to_path_buf(),
        source: e,
        needed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::reader::{BundleReader, Limits};
    use crate::bundle::redact::Redactor;
    use std::sync::Arc;

    fn meta() -> BundleMeta {
        BundleMeta {
            format_version: BUNDLE_FORMAT_VERSION,
            tool: "kudo-diag".into(),
            tool_version: crate::VERSION.into(),
            git_commit: "abc".into(),
            target: serde_json::json!({"namespace": "ns", "instance": "cassandra"}),
            pipeline: "kudo".into(),
            ..BundleMeta::default()
        }
    }

    /// Writes the same artifacts in the given order into a fresh store and bundles them.
    fn bundle(
        dir: &Path,
        order: &[usize],
        redact: bool,
    ) -> (PathBuf, Vec<(String, ArtifactRecord)>) {
        let files: [(&str, &str, &[u8]); 4] = [
            (
                "pods/p-0/logs/c.log",
                "logs-p-0",
                b"start\npassword=hunter2\nready\n",
            ),
            ("instance.yaml", "instance", b"kind: Instance\n"),
            ("pods/p-0/pod.yaml", "pod-p-0", b"kind: Pod\n"),
            ("empty.txt", "empty", b""),
        ];
        let store_dir = dir.join("store");
        let store = if redact {
            ArtifactStore::open_with(&store_dir, Arc::new(Redactor::builtin())).unwrap()
        } else {
            ArtifactStore::open(&store_dir).unwrap()
        };
        let mut arts = Vec::new();
        for &i in order {
            let (path, node, content) = files[i];
            let rec = store.node_sink(node).put(path, content).unwrap();
            arts.push((node.to_string(), rec));
        }
        let raw = store.node_sink("raw").create_raw("bin/raw.dat").unwrap();
        let mut raw = raw;
        raw.write_all(b"token=keep-me-raw\x00\x01").unwrap();
        arts.push(("raw".to_string(), raw.finish().unwrap()));
        let log = dir.join("collection.log");
        fs::write(&log, "run started\n").unwrap();
        let errors = vec![ErrorEntry {
            node: "exec-p-0".into(),
            task: "exec".into(),
            status: "failed".into(),
            reason: "pod p-0 not found".into(),
            attempts: 3,
            optional: false,
            error_kind: Some(crate::failure::ErrorKind::api(404, "NotFound", None)),
        }];
        let dest = dir.join("bundle.zip");
        let info = write_bundle(&store, &arts, &errors, Some(&log), &meta(), &dest).unwrap();
        assert_eq!(info.files, 5);
        assert!(!tmp_path(&dest).exists(), "the temp file is renamed away");
        (dest, arts)
    }

    #[test]
    fn bundle_round_trips_through_the_reader() {
        let d = tempfile::tempdir().unwrap();
        let (dest, _) = bundle(d.path(), &[0, 1, 2, 3], true);
        let mut r = BundleReader::open(&dest, Limits::default()).unwrap();
        let rep = r.verify();
        assert!(rep.is_clean(), "{rep:?}");
        assert_eq!(
            rep.checked, 8,
            "5 artifacts + log + errors.json + redactions.json"
        );
        let paths: Vec<&str> = r.manifest().files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "bin/raw.dat",
                "empty.txt",
                "instance.yaml",
                "pods/p-0/logs/c.log",
                "pods/p-0/pod.yaml"
            ]
        );
        let log = r.read("pods/p-0/logs/c.log").unwrap();
        assert_eq!(log, b"start\npassword=**REDACTED**\nready\n");
        assert_eq!(r.read("bin/raw.dat").unwrap(), b"token=keep-me-raw\x00\x01");
        let entry = r.manifest_entry("pods/p-0/logs/c.log").unwrap();
        assert_eq!((entry.task.as_str(), entry.redactions), ("logs-p-0", 1));
        assert_eq!(r.errors().len(), 1);
        // The error's kind and status survive the round trip as fields.
        assert_eq!(
            r.errors()[0].error_kind.as_ref().and_then(|k| k.status()),
            Some(404)
        );
        assert_eq!(
            r.read("kudo-diag/collection.log").unwrap(),
            b"run started\n"
        );
        let red: RedactionReport =
            serde_json::from_slice(&r.read("redactions.json").unwrap()).unwrap();
        assert!(red.enabled);
        assert_eq!(red.total, 1);
        assert_eq!(red.rules["key-value"], 1);
        assert_eq!(red.files[0].path, "pods/p-0/logs/c.log");
        assert_eq!(red.raw_files, vec!["bin/raw.dat".to_string()]);
        // The planted password is in no entry, checked on the uncompressed bytes.
        let names: Vec<String> = r.entries().map(|e| e.path.clone()).collect();
        for n in names {
            let content = r.read(&n).unwrap();
            assert!(!content.windows(7).any(|w| w == b"hunter2"), "{n} leaks");
        }
    }

    #[test]
    fn a_dependencys_empty_list_is_recorded_under_its_prefix() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(&d.path().join("store")).unwrap();
        let sink = store.node_sink_under("dependencies/ns/zk/jobs", "dependencies/ns/zk/");
        let rec = sink.record_empty_list("workload/jobs.yaml").unwrap();
        assert_eq!(rec.path, "dependencies/ns/zk/workload/jobs.yaml");
    }

    #[test]
    fn an_empty_list_is_in_the_manifest_not_in_the_zip() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(&d.path().join("store")).unwrap();
        let mut arts = Vec::new();
        for (node, path) in [
            ("jobs", "workload/jobs.yaml"),
            ("cronjobs", "workload/cronjobs.yaml"),
        ] {
            let rec = store.node_sink(node).record_empty_list(path).unwrap();
            // Nothing on disk to verify or remove, and nothing to corrupt.
            store.verify(&rec).unwrap();
            arts.push((node.to_string(), rec));
        }
        let rec = store
            .node_sink("pods")
            .put("workload/pods.yaml", b"items: [x]\n")
            .unwrap();
        arts.push(("pods".to_string(), rec));
        let dest = d.path().join("b.zip");
        let info = write_bundle(&store, &arts, &[], None, &meta(), &dest).unwrap();
        assert_eq!(info.files, 1);
        let mut r = BundleReader::open(&dest, Limits::default()).unwrap();
        assert!(r.verify().is_clean());
        let m = r.manifest();
        assert_eq!(
            m.empty_lists,
            [
                EmptyList {
                    path: "workload/cronjobs.yaml".into(),
                    task: "cronjobs".into()
                },
                EmptyList {
                    path: "workload/jobs.yaml".into(),
                    task: "jobs".into()
                },
            ]
        );
        assert!(m.is_empty_list("workload/jobs.yaml"));
        assert!(!m.is_empty_list("workload/pods.yaml"));
        assert!(!r.contains("workload/jobs.yaml"));
        // Two tasks may not claim one path, empty or not.
        let dup = store
            .node_sink("other")
            .record_empty_list("workload/pods.yaml")
            .unwrap();
        arts.push(("other".to_string(), dup));
        let e = write_bundle(&store, &arts, &[], None, &meta(), &d.path().join("c.zip"));
        assert!(matches!(e, Err(BundleError::DuplicatePath { .. })), "{e:?}");
    }

    #[test]
    fn a_previous_log_identical_to_the_current_one_is_stored_once() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(&d.path().join("store")).unwrap();
        let put = |node: &str, path: &str, content: &[u8]| {
            (
                node.to_string(),
                store.node_sink(node).put(path, content).unwrap(),
            )
        };
        let arts = vec![
            put("cur-a", "pods/p/logs/a.log", b"started\n"),
            put("prev-a", "pods/p/logs/a.previous.log", b"started\n"),
            put("cur-b", "pods/p/logs/b.log", b"started again\n"),
            put("prev-b", "pods/p/logs/b.previous.log", b"crashed\n"),
        ];
        let dest = d.path().join("b.zip");
        write_bundle(&store, &arts, &[], None, &meta(), &dest).unwrap();
        let mut r = BundleReader::open(&dest, Limits::default()).unwrap();
        assert!(r.verify().is_clean());
        let m = r.manifest().clone();
        assert_eq!(
            m.identical_logs,
            [IdenticalLog {
                path: "pods/p/logs/a.previous.log".into(),
                same_as: "pods/p/logs/a.log".into(),
                task: "prev-a".into(),
            }]
        );
        assert_eq!(
            m.same_as("pods/p/logs/a.previous.log"),
            Some("pods/p/logs/a.log")
        );
        assert_eq!(m.same_as("pods/p/logs/b.previous.log"), None);
        assert!(!r.contains("pods/p/logs/a.previous.log"));
        assert_eq!(r.read("pods/p/logs/b.previous.log").unwrap(), b"crashed\n");
    }

    #[test]
    fn same_artifacts_give_a_byte_identical_bundle() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (pa, _) = bundle(a.path(), &[0, 1, 2, 3], false);
        let (pb, _) = bundle(b.path(), &[3, 2, 1, 0], false);
        assert_eq!(fs::read(pa).unwrap(), fs::read(pb).unwrap());
    }

    #[test]
    fn store_verify_detects_a_corrupt_artifact() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let rec = store
            .node_sink("n")
            .put("a.log", b"some content\n")
            .unwrap();
        store.verify(&rec).unwrap();
        let mut out = Vec::new();
        assert_eq!(store.copy_content(&rec, &mut out).unwrap(), 13);
        assert_eq!(out, b"some content\n");
        fs::write(store.content_path(&rec), b"garbage").unwrap();
        let e = store.verify(&rec).unwrap_err().to_string();
        assert!(e.contains("artifact a.log is corrupt"), "{e}");
        let e = write_bundle(
            &store,
            &[("n".into(), rec)],
            &[],
            None,
            &meta(),
            &d.path().join("b.zip"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("artifact a.log") && e.contains("--continue"),
            "{e}"
        );
        assert!(!d.path().join("b.zip").exists() && !d.path().join("b.zip.tmp").exists());
    }

    #[test]
    fn rejects_reserved_and_duplicate_paths() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let e = store.node_sink("n").put("manifest.json", b"x").unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
        let r1 = store.node_sink("a").put("x.log", b"1").unwrap();
        let r2 = store.node_sink("b").put("x.log", b"1").unwrap();
        let e = write_bundle(
            &store,
            &[("a".into(), r1), ("b".into(), r2)],
            &[],
            None,
            &meta(),
            &d.path().join("b.zip"),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("two tasks wrote the same bundle path x.log"),
            "{e}"
        );
    }

    #[test]
    fn streamed_artifacts_are_redacted_before_hashing() {
        let d = tempfile::tempdir().unwrap();
        let red = Arc::new(Redactor::new(&[], &["S3cretLiteral".to_string()]).unwrap());
        let store = ArtifactStore::open_with(d.path(), red).unwrap();
        let mut w = store.node_sink("n").create("logs/a.log").unwrap();
        for chunk in [
            &b"line one S3cret"[..],
            b"Literal here\nAuthorization: Bea",
            b"rer abc\n",
        ] {
            w.write_all(chunk).unwrap();
        }
        let rec = w.finish().unwrap();
        let mut out = Vec::new();
        store.copy_content(&rec, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "line one **REDACTED** here\nAuthorization: Bearer **REDACTED**\n"
        );
        assert_eq!(rec.blake3, blake3::hash(&out).to_hex().to_string());
        assert_eq!(rec.bytes, out.len() as u64);
        assert_eq!(rec.redactions, 2);
        // Journaled records without the new fields still load.
        let old: ArtifactRecord =
            serde_json::from_str(r#"{"path":"a","bytes":1,"blake3":"x","file":"f"}"#).unwrap();
        assert_eq!(old.redactions, 0);
    }
    /// Hands out the records of a list, counting how often each is asked for; the one at
    /// `fail_at` cannot be read.
    struct Counting<'a> {
        records: InMemory<'a>,
        reads: std::sync::Mutex<Vec<usize>>,
        fail_at: Option<u64>,
    }

    impl ArtifactSource for Counting<'_> {
        fn record(&self, a: &ArtifactRef) -> Result<ArtifactRecord, BundleError> {
            if self.fail_at == Some(a.at) {
                return Err(BundleError::Corrupt(format!(
                    "the record of {} is unreadable",
                    a.path
                )));
            }
            self.reads.lock().unwrap()[a.at as usize] += 1;
            self.records.record(a)
        }

        fn node(&self, a: &ArtifactRef) -> Result<String, BundleError> {
            self.records.node(a)
        }
    }

    #[test]
    fn records_are_read_back_one_at_a_time_and_give_the_same_bundle_as_a_list() {
        let d = tempfile::tempdir().unwrap();
        let (_, arts) = bundle(d.path(), &[2, 0, 3, 1], false);
        let store = ArtifactStore::open(&d.path().join("store")).unwrap();
        let listed = d.path().join("listed.zip");
        write_bundle(&store, &arts, &[], None, &meta(), &listed).unwrap();
        let source = Counting {
            records: InMemory(&arts),
            reads: std::sync::Mutex::new(vec![0; arts.len()]),
            fail_at: None,
        };
        let read_back = d.path().join("read-back.zip");
        let info = write_bundle_then(
            &store,
            index_of(&arts),
            &source,
            &[],
            None,
            &meta(),
            &read_back,
            || Ok(()),
        )
        .unwrap();
        assert_eq!(info.files, arts.len());
        assert_eq!(fs::read(&listed).unwrap(), fs::read(&read_back).unwrap());
        // Each record twice: when its content is copied, when its manifest entry is written.
        assert_eq!(*source.reads.lock().unwrap(), vec![2; arts.len()]);
    }

    #[test]
    fn a_record_the_source_cannot_read_fails_the_bundle_and_leaves_no_file() {
        let d = tempfile::tempdir().unwrap();
        let (_, arts) = bundle(d.path(), &[0, 1, 2, 3], false);
        let store = ArtifactStore::open(&d.path().join("store")).unwrap();
        let source = Counting {
            records: InMemory(&arts),
            reads: std::sync::Mutex::new(vec![0; arts.len()]),
            fail_at: Some(2),
        };
        let dest = d.path().join("b.zip");
        let err = write_bundle_then(
            &store,
            index_of(&arts),
            &source,
            &[],
            None,
            &meta(),
            &dest,
            || Ok(()),
        )
        .unwrap_err();
        assert!(
            matches!(&err, BundleError::Corrupt(m) if m.contains(&arts[2].1.path)),
            "{err}"
        );
        assert!(!dest.exists() && !tmp_path(&dest).exists());
    }
}
