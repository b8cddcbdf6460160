//! The final zip: every artifact in a stable order (sorted by bundle path) with fixed
//! timestamps, plus `manifest.json`, `errors.json` and the collection's own log. Written under a
//! temp name and renamed when complete, so a bundle that exists is whole.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use super::sink::{ArtifactRecord, ArtifactStore};
use super::BundleError;

/// Version of the bundle layout (docs/bundle-layout.md). Bumped on any incompatible change.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;

/// What the manifest says about the collection as a whole.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The node that produced it.
    pub task: String,
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(flatten)]
    pub meta: BundleMeta,
    pub files: Vec<ManifestEntry>,
}

/// The finished bundle.
#[derive(Debug, Clone)]
pub struct BundleInfo {
    pub path: PathBuf,
    pub bytes: u64,
    pub files: usize,
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
    let mut sorted: Vec<&(String, ArtifactRecord)> = artifacts.iter().collect();
    sorted.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    if let Some(w) = sorted.windows(2).find(|w| w[0].1.path == w[1].1.path) {
        return Err(BundleError::Message(format!(
            "two tasks wrote the same bundle path {} ({} and {}); give them distinct `output` paths",
            w[0].1.path, w[0].0, w[1].0
        )));
    }
    let tmp = tmp_path(dest);
    let file = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    let mut zip = zip::ZipWriter::new(io::BufWriter::new(file));
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .large_file(false);
    let zerr = |e: zip::result::ZipError| BundleError::Message(format!("writing zip: {e}"));

    let mut entries = Vec::with_capacity(sorted.len());
    for (node, rec) in &sorted {
        let src = store.content_path(rec);
        let mut f = File::open(&src).map_err(|e| io_err(&src, e))?;
        let o = if rec.bytes >= u32::MAX as u64 {
            opts.large_file(true)
        } else {
            opts
        };
        zip.start_file(rec.path.as_str(), o).map_err(zerr)?;
        io::copy(&mut f, &mut zip).map_err(|e| io_err(&src, e))?;
        entries.push(ManifestEntry {
            path: rec.path.clone(),
            bytes: rec.bytes,
            blake3: rec.blake3.clone(),
            task: node.clone(),
        });
    }
    if let Some(log) = log {
        if let Ok(mut f) = File::open(log) {
            zip.start_file("kudo-diag/collection.log", opts)
                .map_err(zerr)?;
            io::copy(&mut f, &mut zip).map_err(|e| io_err(log, e))?;
        }
    }
    let errors_json = serde_json::to_vec_pretty(errors).expect("errors serialize");
    zip.start_file("errors.json", opts).map_err(zerr)?;
    zip.write_all(&errors_json).map_err(|e| io_err(&tmp, e))?;
    let manifest = Manifest {
        meta: meta.clone(),
        files: entries,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    zip.start_file("manifest.json", opts).map_err(zerr)?;
    zip.write_all(&manifest_json).map_err(|e| io_err(&tmp, e))?;
    let out = zip.finish().map_err(zerr)?;
    let f = out.into_inner().map_err(|e| io_err(&tmp, e.into_error()))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, dest).map_err(|e| io_err(dest, e))?;
    let bytes = fs::metadata(dest).map_err(|e| io_err(dest, e))?.len();
    Ok(BundleInfo {
        path: dest.to_path_buf(),
        bytes,
        files: manifest.files.len(),
    })
}

fn tmp_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    dest.with_file_name(name)
}

fn io_err(path: &Path, e: io::Error) -> BundleError {
    BundleError::Message(format!("{}: {e}", path.display()))
}
