//! Writing artifacts during a collection.
//!
//! Every artifact is hashed (blake3) as it is written and stored by `ArtifactWriter::finish`:
//! a small one (content up to 64 KiB, most of them) appended to a pack shared with others
//! (`bundle::pack`), a bigger one to a temp file in the partial folder, renamed into place,
//! complete. Only then does it have an `ArtifactRecord`, and only records reach the journal, so
//! a killed run never journals an artifact that is not whole on disk. The journal calls
//! [`ArtifactStore::sync`] before it writes a batch of records, which syncs the packs: one sync
//! per batch, and no packed artifact's record reaches the disk before its content.
//!
//! Durability: a killed process loses nothing the kernel has accepted, so a renamed artifact is
//! whole to every later reader without an fsync of its own, and artifacts with a file of their
//! own are not synced one by one. An OS crash or a power cut can lose
//! the content of an artifact the journal already names (an unsynced file can come back empty):
//! `--continue` verifies the size and blake3 of every done artifact before it reuses it and
//! collects again those that do not match (`engine::scheduler`'s `admit`), an interrupted run
//! syncs the artifacts it keeps before it exits (`engine::run`), and the bundle is synced
//! before it is renamed into place (`writer`). An fsync per artifact cost more than the rest of
//! writing it on the critical path of a task that writes hundreds (a list of 300 pods), and put
//! every artifact on disk just before the partial folder is deleted (docs/PERFORMANCE.md, "A
//! small collection's critical path").
//!
//! Redaction happens here, before hashing: a store opened with [`ArtifactStore::open_with`]
//! passes everything written through [`NodeSink::create`]/[`NodeSink::put`] through its
//! [`Redactor`], so no caller can forget it. [`NodeSink::create_raw`] bypasses it for binary
//! content that redaction would corrupt.
//!
//! Compression also happens here, while collecting: each stored artifact is a one-entry zip
//! (deflate, fixed timestamp) named by the hash of its bundle path, so the final bundle is
//! assembled by copying compressed entries as they are (`writer::write_bundle`), and the cost of
//! deflate is spread over the collection, in parallel with network waits, instead of being paid
//! single-threaded at the end. docs/PERFORMANCE.md (## Bundle) has the numbers.
//!
//! An artifact is deflated when it is finished, not while it is written: the pipe writes the
//! redacted bytes, uncompressed, to a spool (in memory up to 64 KiB, then an unnamed temp file
//! in the store's folder, so nothing is left of it when its writer is dropped or the process is
//! killed), hashing and counting markers as they pass. `ArtifactWriter::finish` then
//! deflates it: in memory and onto a pack when it stayed in memory, else into the named temp
//! zip, renamed into place. A deflate
//! state is about 380 KB (zlib-rs, 32 KiB window): held by every open artifact, 64 attempts in
//! flight kept up to 64 of them (24 MB of a 105 MB heap peak at 300 pods); now only artifacts
//! being finished hold one. A small artifact's zip is written around a deflate state each
//! thread keeps and resets (`packed_zip`); a big one's by the zip crate, which makes a new
//! encoder for each archive (its cache of one is per `ZipWriter`).
//!
//! The stored zip is the one a zip writer streaming the content makes, fed in `DEFLATE_CHUNK`
//! writes (`tests::a_stored_artifact_is_the_zip_streaming_makes`): entries, sizes, CRCs and
//! hashes are as before, and the compressed bytes now depend on the content alone. Deflated as
//! written, they depended on the chunks the network delivered (zlib-rs's level 1 output does),
//! so two collections of the same logs could differ. docs/PERFORMANCE.md (issue 17) has the
//! numbers.
//!
//! `ArtifactStore` is the partial folder's artifact area; `NodeSink` is one node attempt's view of
//! it, which remembers what the attempt wrote so the engine can journal it (on success) or
//! discard it (on failure).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tempfile::{SpooledData, SpooledTempFile};
use zip::write::SimpleFileOptions;

use super::pack::{self, Packs, Span};
use super::redact::{MarkerCounter, RedactingWriter, RedactionCounts, Redactor};
use super::storage::{Abandon, Gate};
use super::BundleError;

/// Deflate level of the stored artifacts (and so of the bundle). Level 1 is several times faster
/// than the default 6 on log text for a slightly bigger bundle: see docs/PERFORMANCE.md.
pub const ARTIFACT_DEFLATE_LEVEL: i64 = 1;

/// One artifact as it is journaled and listed in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// Path inside the bundle (`pods/cassandra-0/logs/cassandra.log`).
    pub path: String,
    /// Size in bytes, as it is in the bundle (after redaction).
    pub bytes: u64,
    /// blake3 of the content, hex.
    pub blake3: String,
    /// File name of the stored content inside the store's folder.
    pub file: String,
    /// How many redaction markers it holds (values replaced by its redactor, or before it was
    /// written, e.g. a Secret's data).
    #[serde(default)]
    pub redactions: u64,
    /// Replacements per redaction rule name (never the values); markers no rule of the writer
    /// made are counted under `structured`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redaction_rules: RedactionCounts,
    /// Written with `create_raw`: not redacted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw: bool,
    /// A list task found nothing: the manifest records the path in `emptyLists` and the bundle
    /// holds no file for it (`bytes` 0, no `file`). Recorded with
    /// [`NodeSink::record_empty_list`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_list: bool,
    /// The stored zip is this span of `file`, a pack shared with other artifacts
    /// (`bundle::pack`); `None` when `file` holds it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

/// Checks a bundle path: relative, `/`-separated, no empty, `.` or `..` segments.
pub fn check_bundle_path(path: &str) -> Result<(), BundleError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(BundleError::UnsafePath {
            path: path.to_string(),
        });
    }
    Ok(())
}

/// Whether `name` can be one segment of a bundle path: not empty, `.` or `..`, and without
/// separators. Kubernetes names always can; a hostile API server's may not.
pub fn is_path_segment(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Checks a bundle path for an artifact: valid, and not one of the writer's own files.
pub fn check_artifact_path(path: &str) -> Result<(), BundleError> {
    check_bundle_path(path)?;
    if super::layout::OWN_FILES.contains(&path) {
        return Err(BundleError::ReservedPath {
            path: path.to_string(),
        });
    }
    Ok(())
}

#[derive(Debug)]
struct StoreInner {
    dir: PathBuf,
    redactor: Option<Arc<Redactor>>,
    packs: Packs,
}

/// The artifact area of a partial collection folder.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    inner: Arc<StoreInner>,
}

impl ArtifactStore {
    /// Opens (creating if needed) the artifact folder, without redaction (engine tests,
    /// synthetic tasks). Collections of real clusters use [`ArtifactStore::open_with`].
    pub fn open(dir: &Path) -> Result<Self, BundleError> {
        Self::open_inner(dir, None)
    }

    /// Opens the artifact folder; everything written through `create`/`put` is redacted by
    /// `redactor` before it is hashed and stored.
    pub fn open_with(dir: &Path, redactor: Arc<Redactor>) -> Result<Self, BundleError> {
        Self::open_inner(dir, Some(redactor))
    }

    fn open_inner(dir: &Path, redactor: Option<Arc<Redactor>>) -> Result<Self, BundleError> {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        Ok(ArtifactStore {
            inner: Arc::new(StoreInner {
                dir: dir.to_path_buf(),
                redactor,
                packs: Packs::new(dir),
            }),
        })
    }

    /// The redactor applied by `create`/`put`, if any.
    pub fn redactor(&self) -> Option<&Arc<Redactor>> {
        self.inner.redactor.as_ref()
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// A sink for one attempt of one node.
    pub fn node_sink(&self, node: &str) -> NodeSink {
        self.node_sink_under(node, "")
    }

    /// A sink for one attempt of one node whose artifacts all go under `prefix` in the bundle
    /// (a dependency's `dependencies/NAMESPACE/INSTANCE/`): the task writes the paths it always
    /// writes, the bundle holds them under the prefix.
    pub fn node_sink_under(&self, node: &str, prefix: &str) -> NodeSink {
        NodeSink {
            store: self.clone(),
            node: node.to_string(),
            prefix: prefix.to_string(),
            written: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The stored file for a bundle path: named by the hash of the path, so any path maps to one
    /// flat, safe file name.
    fn file_name(path: &str) -> String {
        let h = blake3::hash(path.as_bytes()).to_hex();
        format!("{}.art", &h[..32])
    }

    /// Where a record's stored file lives (a pack, when the record has a span). The stored
    /// zip has one entry (the content deflated, named by the bundle path): open it with
    /// [`ArtifactStore::stored_zip`], read the content with [`ArtifactStore::copy_content`].
    pub fn content_path(&self, rec: &ArtifactRecord) -> PathBuf {
        self.inner.dir.join(&rec.file)
    }

    /// Makes every artifact finished so far durable (the packs' appends; an artifact with a
    /// file of its own was synced by `finish`). The journal calls it before it writes records.
    pub fn sync(&self) -> Result<(), BundleError> {
        self.inner
            .packs
            .sync()
            .map_err(|e| io_err(&self.inner.dir, e))
    }

    /// The size of a record's stored zip.
    pub fn stored_len(&self, rec: &ArtifactRecord) -> Option<u64> {
        match rec.span {
            Some(span) => Some(span.len),
            None => fs::metadata(self.content_path(rec)).ok().map(|m| m.len()),
        }
    }

    /// Opens a record's stored one-entry zip: its file, or its span of a pack.
    pub fn stored_zip(&self, rec: &ArtifactRecord) -> io::Result<zip::ZipArchive<Stored>> {
        let p = self.content_path(rec);
        let stored = match rec.span {
            Some(span) => Stored::Packed(io::Cursor::new(pack::read_span(&p, span)?)),
            None => Stored::File(io::BufReader::new(File::open(&p)?)),
        };
        zip::ZipArchive::new(stored).map_err(|e| match e {
            zip::result::ZipError::Io(e) => e,
            e => io::Error::new(io::ErrorKind::InvalidData, e),
        })
    }

    /// Writes a record's uncompressed content to `out`; returns the number of bytes.
    pub fn copy_content(
        &self,
        rec: &ArtifactRecord,
        out: &mut dyn Write,
    ) -> Result<u64, BundleError> {
        let p = self.content_path(rec);
        let mut zip = self.stored_zip(rec).map_err(|e| {
            BundleError::Corrupt(format!(
                "artifact {} is corrupt: {} is not a readable zip ({e}); run the collection again with --continue to re-collect it",
                rec.path,
                p.display()
            ))
        })?;
        let mut entry = zip
            .by_index(0)
            .map_err(|e| BundleError::Corrupt(format!("artifact {} is corrupt: {e}", rec.path)))?;
        io::copy(&mut entry, out)
            .map_err(|e| BundleError::Corrupt(format!("artifact {} is corrupt: {e}", rec.path)))
    }

    /// Recomputes a record's hash and size from the uncompressed content on disk (an empty list
    /// has no content: nothing to check).
    pub fn verify(&self, rec: &ArtifactRecord) -> Result<(), BundleError> {
        if rec.empty_list {
            return Ok(());
        }
        let mut h = blake3::Hasher::new();
        let n = self.copy_content(rec, &mut h)?;
        let got = h.finalize().to_hex().to_string();
        if n != rec.bytes || got != rec.blake3 {
            return Err(BundleError::Corrupt(format!(
                "artifact {} is corrupt: expected {} bytes with blake3 {}, found {} bytes with blake3 {}",
                rec.path, rec.bytes, rec.blake3, n, got
            )));
        }
        Ok(())
    }

    /// Removes a record's content (a failed attempt, a corrupt artifact before a re-run). A
    /// span of a pack stays, unreferenced, until the folder is removed.
    pub fn remove(&self, rec: &ArtifactRecord) {
        if rec.empty_list || rec.span.is_some() {
            return;
        }
        let _ = fs::remove_file(self.content_path(rec));
    }
}

/// One node attempt's writer of artifacts.
#[derive(Debug, Clone)]
pub struct NodeSink {
    store: ArtifactStore,
    node: String,
    /// Put before every path this sink writes (empty for the collection's own instance).
    prefix: String,
    written: Arc<Mutex<Vec<ArtifactRecord>>>,
}

impl NodeSink {
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The collection's artifact folder, where a task may make unnamed scratch files.
    pub fn scratch_dir(&self) -> &Path {
        self.store.dir()
    }

    /// Starts a streamed artifact at `path` in the bundle, redacted when the store has a
    /// redactor.
    pub fn create(&self, path: &str) -> Result<ArtifactWriter, BundleError> {
        self.start(path, self.store.inner.redactor.clone())
    }

    /// Starts a streamed artifact that is stored exactly as written, never redacted: only for
    /// binary content (archives, heap dumps) that redaction would corrupt. Anything a secret
    /// could be in (objects, logs, command output, config files) must go through `create`: a
    /// raw artifact is copied into the bundle as it is, secrets included.
    pub fn create_raw(&self, path: &str) -> Result<ArtifactWriter, BundleError> {
        self.start(path, None)
    }

    /// Where `path` goes in the bundle: under this sink's prefix.
    fn bundle_path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        if self.prefix.is_empty() {
            path.into()
        } else {
            format!("{}{path}", self.prefix).into()
        }
    }

    fn start(
        &self,
        path: &str,
        redactor: Option<Arc<Redactor>>,
    ) -> Result<ArtifactWriter, BundleError> {
        let path = &*self.bundle_path(path);
        check_artifact_path(path)?;
        let file = ArtifactStore::file_name(path);
        let tmp = self.store.inner.dir.join(format!("{file}.tmp"));
        // In memory while small, then an unnamed file: dropped or killed, an unfinished artifact
        // leaves nothing in the folder.
        let content = tempfile::spooled_tempfile_in(CONTENT_IN_MEMORY, &self.store.inner.dir);
        let body = Body {
            content: io::BufWriter::with_capacity(CONTENT_BUFFER, Gate::new(content)),
            hasher: blake3::Hasher::new(),
            bytes: 0,
            markers: MarkerCounter::default(),
        };
        let raw = redactor.is_none();
        let pipe = match redactor {
            // YAML objects keep parsing: a marker that is a whole value gets quoted there.
            Some(r) => Pipe::Redacted(
                RedactingWriter::new(body, r)
                    .yaml(path.ends_with(".yaml") || path.ends_with(".yml")),
            ),
            None => Pipe::Raw(body),
        };
        Ok(ArtifactWriter {
            sink: self.clone(),
            path: path.to_string(),
            file,
            tmp,
            pipe,
            raw: raw && self.store.inner.redactor.is_some(),
        })
    }

    /// Writes a whole artifact at once.
    pub fn put(&self, path: &str, content: &[u8]) -> Result<ArtifactRecord, BundleError> {
        let mut w = self.create(path)?;
        w.write_all(content)
            .map_err(|e| io_err(&self.store.inner.dir, e))?;
        w.finish()
    }

    /// Records that the list meant for `path` is empty: the bundle holds no file there, and its
    /// manifest lists the path in `emptyLists`, so a reader tells "collected, nothing found"
    /// from "not collected".
    pub fn record_empty_list(&self, path: &str) -> Result<ArtifactRecord, BundleError> {
        let path = &*self.bundle_path(path);
        check_artifact_path(path)?;
        let rec = ArtifactRecord {
            path: path.to_string(),
            empty_list: true,
            ..ArtifactRecord::default()
        };
        self.written.lock().expect("sink lock").push(rec.clone());
        Ok(rec)
    }

    /// What this attempt has finished writing so far.
    pub fn records(&self) -> Vec<ArtifactRecord> {
        self.written.lock().expect("sink lock").clone()
    }

    /// Removes everything this attempt wrote.
    pub fn discard(&self) {
        for rec in self.written.lock().expect("sink lock").drain(..) {
            self.store.remove(&rec);
        }
    }
}

/// Options of the single entry of a stored artifact. Fixed timestamp and mode, so that the same
/// content always gives the same bytes (reproducible bundles). `large_file` because the size of
/// a streamed artifact is not known in advance; the bundle writer recomputes it from the real
/// size when it copies the entry.
fn artifact_entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(ARTIFACT_DEFLATE_LEVEL))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(true)
}

/// Buffer of an open artifact's content: a few writes per 64 KiB of log, and small enough that
/// 64 open artifacts hold 1 MiB.
const CONTENT_BUFFER: usize = 16 * 1024;

/// Content up to this size stays in memory until `finish` deflates it; a bigger artifact moves
/// to an unnamed file in the store's folder. Most artifacts (objects, command output) are
/// smaller, and creating, writing and reading back a file for each of them cost more system
/// time than deflating them; 64 open artifacts hold at most 4 MiB this way.
const CONTENT_IN_MEMORY: usize = 64 * 1024;

/// Buffer of the stored zip while `finish` deflates into it.
const ZIP_BUFFER: usize = 64 * 1024;

/// `finish` feeds the deflater the content in writes of exactly this size (the last one
/// shorter). zlib-rs's output at level 1 depends on how its input is split, so a fixed split
/// makes the stored bytes a function of the content alone, whatever chunks the network
/// delivered it in.
const DEFLATE_CHUNK: usize = 64 * 1024;

/// The end of the pipe: counts and hashes the (already redacted) content and writes it,
/// uncompressed, to the artifact's spool (memory, then an unnamed file). The gate keeps the
/// first error (a full disk), so `finish` never stores an artifact a write of which was lost.
struct Body {
    content: io::BufWriter<Gate<SpooledTempFile>>,
    hasher: blake3::Hasher,
    bytes: u64,
    /// Markers in the content as stored: the artifact's count in redactions.json.
    markers: MarkerCounter,
}

impl Write for Body {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.content.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.markers.feed(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.content.flush()
    }
}

enum Pipe {
    Raw(Body),
    Redacted(RedactingWriter<Body, Arc<Redactor>>),
}

/// A streamed artifact: redacted (unless raw) and hashed as written, deflated and renamed by
/// `finish`. Dropped without `finish`, it leaves nothing (its content file has no
/// name); a finish cut short leaves at most a named temp zip that the next run ignores.
pub struct ArtifactWriter {
    sink: NodeSink,
    path: String,
    file: String,
    tmp: PathBuf,
    pipe: Pipe,
    raw: bool,
}

impl Write for ArtifactWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.pipe {
            Pipe::Raw(b) => b.write(buf),
            Pipe::Redacted(r) => r.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.pipe {
            Pipe::Raw(b) => b.flush(),
            Pipe::Redacted(r) => r.flush(),
        }
    }
}

impl ArtifactWriter {
    /// Deflates the artifact into its stored zip, renames it into place and records it.
    pub fn finish(self) -> Result<ArtifactRecord, BundleError> {
        let ArtifactWriter {
            sink,
            path,
            file,
            tmp,
            pipe,
            raw,
        } = self;
        let (body, counts) = match pipe {
            Pipe::Raw(b) => (b, RedactionCounts::new()),
            Pipe::Redacted(r) => r.finish().map_err(|e| io_err(&tmp, e))?,
        };
        let Body {
            content,
            hasher,
            bytes,
            markers,
        } = body;
        let content = content
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(Gate::into_result)
            .map_err(|e| io_err(&tmp, e))?;
        let store = &sink.store.inner;
        let (file, span) = match content.into_inner() {
            SpooledData::OnDisk(content) => {
                deflate_into(&tmp, &path, content)?;
                let dest = store.dir.join(&file);
                fs::rename(&tmp, &dest).map_err(|e| io_err(&dest, e))?;
                (file, None)
            }
            // Small content (most artifacts): its zip goes to a pack, no file of its own.
            SpooledData::InMemory(content) => {
                let zip =
                    packed_zip(&path, content.get_ref()).map_err(|e| io_err(&store.dir, e))?;
                let (pack, span) = store
                    .packs
                    .append(&zip)
                    .map_err(|e| io_err(&store.dir, e))?;
                (pack, Some(span))
            }
        };
        let rec = ArtifactRecord {
            path,
            bytes,
            blake3: hasher.finalize().to_hex().to_string(),
            file,
            redactions: markers.count(),
            redaction_rules: markers.counts(counts),
            raw,
            empty_list: false,
            span,
        };
        sink.written.lock().expect("sink lock").push(rec.clone());
        Ok(rec)
    }
}

/// Writes the one-entry zip of an artifact to `tmp` from its uncompressed `content` file: the
/// same bytes a zip writer streaming the content would have made. Not synced (module doc,
/// "Durability"); every write error, a full disk's included, is still seen here.
fn deflate_into(tmp: &Path, entry: &str, mut content: File) -> Result<(), BundleError> {
    content
        .seek(io::SeekFrom::Start(0))
        .map_err(|e| io_err(tmp, e))?;
    let f = File::create(tmp).map_err(|e| io_err(tmp, e))?;
    let gate = Gate::new(f);
    // Dropped after the zip writer `deflate` owns, so that on an early return the gate is
    // closed before the writer's finalization on drop tries to write (a full disk).
    let abandon: Abandon = gate.abandon_guard();
    let out = deflate(
        io::BufWriter::with_capacity(ZIP_BUFFER, gate),
        entry,
        &mut content,
    )
    .map_err(|e| zip_err(tmp, "deflating", e))?;
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(Gate::into_result)
        .map_err(|e| io_err(tmp, e))?;
    abandon.keep();
    Ok(())
}

/// The one-entry zip of `content` written to `out`, fed to the deflater in `DEFLATE_CHUNK`
/// writes.
fn deflate<W: Write + Seek>(
    out: W,
    entry: &str,
    content: &mut impl io::Read,
) -> Result<W, zip::result::ZipError> {
    let mut zip = zip::ZipWriter::new(out);
    zip.start_file(entry, artifact_entry_options())?;
    let mut chunk = vec![0; DEFLATE_CHUNK];
    loop {
        let n = fill(content, &mut chunk)?;
        if n == 0 {
            break;
        }
        zip.write_all(&chunk[..n])?;
    }
    zip.finish()
}

/// The one-entry zip of a small artifact held in memory, for a pack. The zip crate makes a new
/// deflate state for every archive (its cache of one is per `ZipWriter`), and an archive per
/// artifact paid zlib-rs's setup each time: about 380 KB allocated and zeroed, 4.6% of the
/// collector's CPU at 1,000 pods (docs/PERFORMANCE.md). No crate writes a one-entry zip around
/// a compressor it is handed, so this writes the container (APPNOTE 4.3: local header, data,
/// central directory header, end record) around one deflate state per thread, reset between
/// artifacts. The content is at most `CONTENT_IN_MEMORY`, so no field needs ZIP64.
///
/// What the bundle writer copies from it is what a zip writer streaming the content makes (the
/// deflate stream, its CRC and sizes, the entry's system, mode and time):
/// `tests::a_packed_artifact_copies_as_the_streamed_zip_does` holds it to that.
fn packed_zip(entry: &str, content: &[u8]) -> io::Result<Vec<u8>> {
    thread_local! {
        static DEFLATE: std::cell::RefCell<Option<flate2::Compress>> =
            const { std::cell::RefCell::new(None) };
    }
    let name = entry.as_bytes();
    let (name_len, size) = match (u16::try_from(name.len()), u32::try_from(content.len())) {
        (Ok(n), Ok(s)) => (n, s),
        _ => {
            return Err(io::Error::other(format!(
                "artifact {entry}: a name or content this long is written to a file of its own"
            )))
        }
    };
    let mut crc = flate2::Crc::new();
    crc.update(content);
    let local = 30 + name.len();
    let mut out = Vec::with_capacity(local + content.len() / 2 + 2 * name.len() + 128);
    out.resize(local, 0);
    DEFLATE.with_borrow_mut(|slot| -> io::Result<()> {
        let z = slot.get_or_insert_with(|| {
            flate2::Compress::new(
                flate2::Compression::new(ARTIFACT_DEFLATE_LEVEL as u32),
                false,
            )
        });
        z.reset();
        // As the streaming writer feeds it: the content in one write, then the end of the
        // stream (zlib-rs's level 1 output depends on how its input is cut).
        let mut input = content;
        for flush in [flate2::FlushCompress::None, flate2::FlushCompress::Finish] {
            loop {
                if out.capacity() - out.len() < 64 {
                    out.reserve(out.capacity().max(4096));
                }
                let before = z.total_in();
                let status = z
                    .compress_vec(input, &mut out, flush)
                    .map_err(io::Error::other)?;
                input = &input[(z.total_in() - before) as usize..];
                let done = match flush {
                    flate2::FlushCompress::Finish => status == flate2::Status::StreamEnd,
                    _ => input.is_empty(),
                };
                if done {
                    break;
                }
            }
        }
        Ok(())
    })?;
    let compressed = u32::try_from(out.len() - local)
        .map_err(|_| io::Error::other(format!("artifact {entry}: its deflated form is too big")))?;
    // Bit 11: the name is UTF-8 (APPNOTE 4.4.4), set as the zip crate sets it.
    let flags: u16 = if entry.is_ascii() { 0 } else { 1 << 11 };
    // Version 2.0 (deflate); made by Unix (3), so the mode below is read as one.
    const NEEDED: u16 = 20;
    const MADE_BY: u16 = (3 << 8) | 20;
    // 1980-01-01 00:00, the zip crate's `DateTime::default()`: the same content always gives
    // the same bytes.
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1;
    const MODE: u32 = 0o100644 << 16;
    let common = |h: &mut Vec<u8>| {
        h.extend_from_slice(&NEEDED.to_le_bytes());
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&8u16.to_le_bytes());
        h.extend_from_slice(&DOS_TIME.to_le_bytes());
        h.extend_from_slice(&DOS_DATE.to_le_bytes());
        h.extend_from_slice(&crc.sum().to_le_bytes());
        h.extend_from_slice(&compressed.to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
    };
    let mut head = Vec::with_capacity(local);
    head.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    common(&mut head);
    head.extend_from_slice(name);
    out[..local].copy_from_slice(&head);
    let central_at = out.len() as u32;
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&MADE_BY.to_le_bytes());
    common(&mut out);
    // Comment length, disk, internal attributes, external attributes, local header's offset.
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&MODE.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name);
    let central_len = out.len() as u32 - central_at;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

/// A stored zip being read: its own file, or its span of a pack read into memory (a packed
/// artifact's content is at most `CONTENT_IN_MEMORY`).
pub enum Stored {
    File(io::BufReader<File>),
    Packed(io::Cursor<Vec<u8>>),
}

impl io::Read for Stored {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stored::File(f) => f.read(buf),
            Stored::Packed(c) => c.read(buf),
        }
    }
}

impl Seek for Stored {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            Stored::File(f) => f.seek(pos),
            Stored::Packed(c) => c.seek(pos),
        }
    }
}

/// Reads until `buf` is full or the file ends; returns how much it read.
fn fill(r: &mut impl io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn io_err(path: &Path, e: io::Error) -> BundleError {
    BundleError::Io {
        path: path.to_path_buf(),
        source: e,
        needed: None,
    }
}

/// A zip error: an I/O one (a full disk) described like any write to the folder.
fn zip_err(tmp: &Path, what: &str, e: zip::result::ZipError) -> BundleError {
    match e {
        zip::result::ZipError::Io(io) => io_err(tmp, io),
        e => BundleError::Zip(format!("{}: {what}: {e}", tmp.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text like a log: repetitive enough for deflate to find matches, varied enough that the
    /// stream has many blocks.
    fn log_text(lines: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut x: u64 = 7;
        for i in 0..lines {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let level = ["INFO", "WARN", "DEBUG"][(x >> 60) as usize % 3];
            out.extend_from_slice(
                format!(
                    "{level} [thread-{}] {i:08} gossip with /10.0.{}.{} took {} ms\n",
                    x >> 58,
                    (x >> 20) & 0xff,
                    (x >> 30) & 0xff,
                    (x >> 40) & 0x3ff
                )
                .as_bytes(),
            );
        }
        out
    }

    /// The one-entry zip a zip writer streaming `content` in `chunk`-sized writes makes: how
    /// artifacts were stored when they were deflated as they were written.
    fn streamed_zip(entry: &str, content: &[u8], chunk: usize) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        zip.start_file(entry, artifact_entry_options()).unwrap();
        for c in content.chunks(chunk.max(1)) {
            zip.write_all(c).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// Files in the store's folder, sorted.
    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The stored zip is the one the streaming writer makes, fed the content in
    /// `DEFLATE_CHUNK`-sized writes, for empty, small and multi-block content written through
    /// the pipe in chunks of any size: the same content always gives the same bytes.
    #[test]
    fn a_stored_artifact_is_the_zip_streaming_makes() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let big = log_text(20_000);
        assert!(big.len() > 1 << 20, "several deflate blocks and buffers");
        for (path, content, chunk) in [
            ("empty.log", &b""[..], 1),
            (
                "pods/p-0/pod.yaml",
                b"kind: Pod\nmetadata:\n  name: p-0\n",
                5,
            ),
            ("pods/p-0/logs/c.log", &big[..], 8191),
            ("pods/p-1/logs/c.log", &big[..], 1 << 20),
            ("pods/p-2/logs/c.log", &big[..100_003], 77),
        ] {
            let mut w = store.node_sink("n").create(path).unwrap();
            for c in content.chunks(chunk) {
                w.write_all(c).unwrap();
            }
            let rec = w.finish().unwrap();
            let stored = stored_bytes(&store, &rec);
            let streamed = streamed_zip(path, content, DEFLATE_CHUNK);
            if rec.span.is_some() {
                // Packed: its own container, the streamed zip's entry.
                assert_eq!(copied(&stored, path), copied(&streamed, path), "{path}");
            } else {
                assert!(
                    stored == streamed,
                    "{path}: the stored zip differs from the streamed one"
                );
            }
            assert_eq!(rec.bytes, content.len() as u64);
            assert_eq!(rec.blake3, blake3::hash(content).to_hex().to_string());
            store.verify(&rec).unwrap();
        }
    }

    /// The bundle a zip writer makes of the one entry of `zip` copied as it is, as
    /// `writer::write_bundle` copies artifacts.
    fn copied(zip: &[u8], name: &str) -> Vec<u8> {
        let mut one = zip::ZipArchive::new(io::Cursor::new(zip)).unwrap();
        let mut out = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        out.raw_copy_file_rename(one.by_index_raw(0).unwrap(), name)
            .unwrap();
        out.finish().unwrap().into_inner()
    }

    /// A packed artifact's zip is written around a deflate state kept by its thread: what the
    /// bundle writer copies from it (the deflate stream, CRC, sizes, system, mode, time, name)
    /// is what the streaming zip writer makes, for every size that stays in memory, for a
    /// UTF-8 name, and after other artifacts used the same state; its content reads back.
    #[test]
    fn a_packed_artifact_copies_as_the_streamed_zip_does() {
        use rand::{Rng, SeedableRng};
        let text = log_text(2_000);
        assert!(text.len() > CONTENT_IN_MEMORY);
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let noise: Vec<u8> = (0..CONTENT_IN_MEMORY).map(|_| rng.random()).collect();
        let cases: Vec<(&str, &[u8])> = vec![
            ("a.log", b""),
            ("b.txt", b"x"),
            ("pods/p-0/pod.yaml", b"kind: Pod\nmetadata:\n  name: p-0\n"),
            ("pods/p-0/logs/c.log", &text[..CONTENT_IN_MEMORY]),
            ("pods/p-0/logs/d.log", &text[..CONTENT_IN_MEMORY / 3]),
            ("dump/noise.bin", &noise),
            ("pods/caf\u{e9}-0/\u{65e5}\u{672c}.log", &text[..5_000]),
            ("b.txt", b"x"),
        ];
        for (name, content) in cases {
            let packed = packed_zip(name, content).unwrap();
            let streamed = streamed_zip(name, content, DEFLATE_CHUNK);
            assert_eq!(copied(&packed, name), copied(&streamed, name), "{name}");
            let mut zip = zip::ZipArchive::new(io::Cursor::new(&packed[..])).unwrap();
            let mut back = Vec::new();
            io::copy(&mut zip.by_index(0).unwrap(), &mut back).unwrap();
            assert_eq!(back, content, "{name}");
            assert_eq!(zip.by_index(0).unwrap().name().unwrap(), name);
        }
    }

    /// The stored zip of a record: its file, or its span of a pack.
    fn stored_bytes(store: &ArtifactStore, rec: &ArtifactRecord) -> Vec<u8> {
        let path = store.content_path(rec);
        match rec.span {
            Some(span) => pack::read_span(&path, span).unwrap(),
            None => fs::read(path).unwrap(),
        }
    }

    /// Small artifacts share a pack instead of a file each (no inode, rename and fsync per
    /// artifact); big ones keep a file of their own. Each is read back whole from its span,
    /// and damage to one span is found in that artifact only.
    #[test]
    fn small_artifacts_share_a_pack() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let sink = store.node_sink("n");
        let small: Vec<ArtifactRecord> = (0..20)
            .map(|i| {
                sink.put(
                    &format!("pods/p-{i}/pod.yaml"),
                    format!("name: p-{i}\n").as_bytes(),
                )
                .unwrap()
            })
            .collect();
        let big = sink.put("big.log", &log_text(3_000)).unwrap();
        assert!(big.span.is_none() && big.file.ends_with(".art"));
        let pack = &small[0].file;
        assert!(pack.ends_with(".pack"), "{pack}");
        assert!(small.iter().all(|r| &r.file == pack && r.span.is_some()));
        let mut both = vec![big.file.clone(), pack.clone()];
        both.sort();
        assert_eq!(files(d.path()), both);
        for (i, rec) in small.iter().enumerate() {
            let mut out = Vec::new();
            store.copy_content(rec, &mut out).unwrap();
            assert_eq!(out, format!("name: p-{i}\n").as_bytes());
            store.verify(rec).unwrap();
        }
        // Removing a packed artifact (a failed attempt) leaves the pack to the others.
        store.remove(&small[0]);
        store.verify(&small[1]).unwrap();
        let path = store.content_path(&small[3]);
        let mut bytes = fs::read(&path).unwrap();
        let span = small[3].span.unwrap();
        bytes[span.offset as usize..(span.offset + span.len) as usize].fill(b'x');
        fs::write(&path, bytes).unwrap();
        let e = store.verify(&small[3]).unwrap_err().to_string();
        assert!(e.contains("artifact pods/p-3/pod.yaml is corrupt"), "{e}");
        store.verify(&small[2]).unwrap();
        store.verify(&small[4]).unwrap();
    }

    /// A record journaled before packs (no span) is still read from its own file.
    #[test]
    fn a_record_without_a_span_reads_its_own_file() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let rec = store.node_sink("n").put("a.log", b"content\n").unwrap();
        let own = ArtifactRecord {
            file: "own.art".into(),
            span: None,
            ..rec.clone()
        };
        fs::write(store.content_path(&own), stored_bytes(&store, &rec)).unwrap();
        let json = serde_json::to_string(&own).unwrap();
        assert!(!json.contains("span"), "{json}");
        let mut out = Vec::new();
        store.copy_content(&own, &mut out).unwrap();
        assert_eq!(out, b"content\n");
    }

    /// Kill safety: while an artifact is written nothing of it has a name in the folder, a
    /// writer dropped unfinished (a failed task, a killed run) leaves nothing, and only
    /// `finish` puts the stored file in place, with no temp file left beside it.
    #[test]
    fn an_open_artifact_has_no_file_in_the_folder_until_finished() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let sink = store.node_sink("n");
        let mut open: Vec<ArtifactWriter> = (0..64)
            .map(|i| sink.create(&format!("pods/p-{i}/logs/c.log")).unwrap())
            .collect();
        let text = log_text(2_000);
        for w in &mut open {
            w.write_all(&text).unwrap();
            w.flush().unwrap();
        }
        assert_eq!(files(d.path()), Vec::<String>::new());
        let last = open.pop().unwrap();
        drop(open);
        assert_eq!(files(d.path()), Vec::<String>::new());
        assert!(sink.records().is_empty(), "nothing unfinished is recorded");
        let rec = last.finish().unwrap();
        assert_eq!(files(d.path()), std::slice::from_ref(&rec.file));
        assert!(rec.file.ends_with(".art"));
        assert_eq!(sink.records(), [rec]);
    }

    /// A write that was lost (here: the spool cannot move to a file, its folder is gone; on a
    /// full disk, the same) is not stored as a shorter artifact: `finish` fails too, naming
    /// the folder, and nothing is recorded.
    #[test]
    fn a_lost_write_fails_the_finish() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("store");
        let store = ArtifactStore::open(&dir).unwrap();
        let sink = store.node_sink("n");
        let mut w = sink.create("big.log").unwrap();
        w.write_all(b"fits in memory\n").unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let text = log_text(2_000);
        assert!(text.len() > CONTENT_IN_MEMORY);
        let e = w.write_all(&text).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        let e = w.finish().unwrap_err().to_string();
        assert!(e.contains(&dir.display().to_string()), "{e}");
        assert!(sink.records().is_empty());
    }

    /// What an OS crash can leave of an artifact that was not synced (an empty file, or a
    /// shorter one) is found by `verify`, which `--continue` runs on every done artifact before
    /// reusing it: the node is collected again instead.
    #[test]
    fn an_artifact_a_crash_cut_short_fails_verification() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let text = log_text(2_000);
        let rec = store.node_sink("n").put("logs/c.log", &text).unwrap();
        store.verify(&rec).unwrap();
        let stored = fs::read(store.content_path(&rec)).unwrap();
        for keep in [0, stored.len() / 2, stored.len() - 1] {
            fs::write(store.content_path(&rec), &stored[..keep]).unwrap();
            let e = store.verify(&rec).unwrap_err().to_string();
            assert!(e.contains("is corrupt"), "{keep} bytes kept: {e}");
        }
    }

    /// Small content never touches the disk before `finish`; bigger content moves to an
    /// unnamed file: both are stored whole.
    #[test]
    fn small_content_stays_in_memory_and_big_content_spills() {
        let d = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(d.path()).unwrap();
        let sink = store.node_sink("n");
        let text = log_text(3_000);
        for n in [CONTENT_IN_MEMORY, CONTENT_IN_MEMORY + 1, text.len()] {
            let mut w = sink.create(&format!("logs/{n}.log")).unwrap();
            w.write_all(&text[..n]).unwrap();
            w.flush().unwrap();
            let Pipe::Raw(body) = &w.pipe else {
                unreachable!("a store without redactor writes raw")
            };
            assert_eq!(
                body.content.get_ref().get_ref().is_rolled(),
                n > CONTENT_IN_MEMORY,
                "{n} bytes"
            );
            let rec = w.finish().unwrap();
            let mut out = Vec::new();
            store.copy_content(&rec, &mut out).unwrap();
            assert!(out == text[..n], "{n} bytes come back whole");
        }
    }
}
