//! Writing artifacts during a collection.
//!
//! Every artifact goes to a temp file in the partial folder, is hashed (blake3) as it is written,
//! synced and renamed into place by `ArtifactWriter::finish`. Only then does it have an
//! `ArtifactRecord`, and only records reach the journal, so a killed run never journals an
//! artifact that is not whole on disk.
//!
//! `ArtifactStore` is the partial folder's artifact area; `NodeSink` is one node attempt's view of
//! it, which remembers what the attempt wrote so the engine can journal it (on success) or
//! discard it (on failure).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::BundleError;

/// One artifact as it is journaled and listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// Path inside the bundle (`pods/cassandra-0/logs/cassandra.log`).
    pub path: String,
    /// Size in bytes, as it is in the bundle (after redaction).
    pub bytes: u64,
    /// blake3 of the content, hex.
    pub blake3: String,
    /// File name of the stored content inside the store's folder.
    pub file: String,
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
        return Err(BundleError::Message(format!(
            "invalid bundle path {path:?}: use a relative path with `/` separators and no `.`, `..` or empty segments"
        )));
    }
    Ok(())
}

#[derive(Debug)]
struct StoreInner {
    dir: PathBuf,
}

/// The artifact area of a partial collection folder.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    inner: Arc<StoreInner>,
}

impl ArtifactStore {
    /// Opens (creating if needed) the artifact folder.
    pub fn open(dir: &Path) -> Result<Self, BundleError> {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        Ok(ArtifactStore {
            inner: Arc::new(StoreInner {
                dir: dir.to_path_buf(),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// A sink for one attempt of one node.
    pub fn node_sink(&self, node: &str) -> NodeSink {
        NodeSink {
            store: self.clone(),
            node: node.to_string(),
            written: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The stored file for a bundle path: named by the hash of the path, so any path maps to one
    /// flat, safe file name.
    fn file_name(path: &str) -> String {
        let h = blake3::hash(path.as_bytes()).to_hex();
        format!("{}.art", &h[..32])
    }

    /// Where a record's content lives.
    pub fn content_path(&self, rec: &ArtifactRecord) -> PathBuf {
        self.inner.dir.join(&rec.file)
    }

    /// Recomputes a record's hash and size from disk.
    pub fn verify(&self, rec: &ArtifactRecord) -> Result<(), BundleError> {
        let p = self.content_path(rec);
        let mut f = File::open(&p).map_err(|e| io_err(&p, e))?;
        let mut h = blake3::Hasher::new();
        let n = io::copy(&mut f, &mut h).map_err(|e| io_err(&p, e))?;
        let got = h.finalize().to_hex().to_string();
        if n != rec.bytes || got != rec.blake3 {
            return Err(BundleError::Message(format!(
                "artifact {} is corrupt: expected {} bytes with blake3 {}, found {} bytes with blake3 {}",
                rec.path, rec.bytes, rec.blake3, n, got
            )));
        }
        Ok(())
    }

    /// Removes a record's content (a failed attempt, a corrupt artifact before a re-run).
    pub fn remove(&self, rec: &ArtifactRecord) {
        let _ = fs::remove_file(self.content_path(rec));
    }
}

/// One node attempt's writer of artifacts.
#[derive(Debug, Clone)]
pub struct NodeSink {
    store: ArtifactStore,
    node: String,
    written: Arc<Mutex<Vec<ArtifactRecord>>>,
}

impl NodeSink {
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Starts a streamed artifact at `path` in the bundle.
    pub fn create(&self, path: &str) -> Result<ArtifactWriter, BundleError> {
        check_bundle_path(path)?;
        let file = ArtifactStore::file_name(path);
        let tmp = self.store.inner.dir.join(format!("{file}.tmp"));
        let f = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        Ok(ArtifactWriter {
            sink: self.clone(),
            path: path.to_string(),
            file,
            tmp,
            out: io::BufWriter::with_capacity(64 * 1024, f),
            hasher: blake3::Hasher::new(),
            bytes: 0,
        })
    }

    /// Writes a whole artifact at once.
    pub fn put(&self, path: &str, content: &[u8]) -> Result<ArtifactRecord, BundleError> {
        let mut w = self.create(path)?;
        w.write_all(content)
            .map_err(|e| io_err(&self.store.inner.dir, e))?;
        w.finish()
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

/// A streamed artifact: hashed as written, synced and renamed by `finish`. Dropped without
/// `finish`, it leaves only a temp file that the next run ignores.
pub struct ArtifactWriter {
    sink: NodeSink,
    path: String,
    file: String,
    tmp: PathBuf,
    out: io::BufWriter<File>,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl Write for ArtifactWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl ArtifactWriter {
    /// Syncs and renames the artifact into place and records it.
    pub fn finish(self) -> Result<ArtifactRecord, BundleError> {
        let ArtifactWriter {
            sink,
            path,
            file,
            tmp,
            out,
            hasher,
            bytes,
        } = self;
        let f = out.into_inner().map_err(|e| io_err(&tmp, e.into_error()))?;
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
        drop(f);
        let dest = sink.store.inner.dir.join(&file);
        fs::rename(&tmp, &dest).map_err(|e| io_err(&dest, e))?;
        let rec = ArtifactRecord {
            path,
            bytes,
            blake3: hasher.finalize().to_hex().to_string(),
            file,
        };
        sink.written.lock().expect("sink lock").push(rec.clone());
        Ok(rec)
    }
}

fn io_err(path: &Path, e: io::Error) -> BundleError {
    BundleError::Message(format!("{}: {e}", path.display()))
}
