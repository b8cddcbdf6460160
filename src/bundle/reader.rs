//! Reading a bundle, treating it as hostile input.
//!
//! [`BundleReader::open`] checks the whole central directory before anything is read: every
//! entry name must be a safe relative path (no `..`, no absolute path, no backslash, valid
//! UTF-8), no entry may be a symlink or encrypted, no name may appear twice, and the declared
//! sizes must fit the [`Limits`]. It then reads and checks `manifest.json` and `errors.json`.
//!
//! Reading is capped while it happens, not only from headers: an entry that decompresses to more
//! than its declared size, or past the per-entry or total cap, stops with an error naming it
//! (zip bombs). The reader never writes anything; [`BundleReader::verify`] recomputes every
//! blake3 in the manifest and reports mismatches, missing files and files the manifest does not
//! list.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::nesting;
use super::sink::check_bundle_path;
use super::writer::{ErrorEntry, Manifest, ManifestEntry, BUNDLE_FORMAT_VERSION};
use super::BundleError;

/// Caps on what a bundle may make the reader do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest uncompressed entry.
    pub max_entry_bytes: u64,
    /// Largest sum of uncompressed entries (declared, and actually read by one reader).
    pub max_total_bytes: u64,
    /// Most entries.
    pub max_entries: usize,
    /// Largest `manifest.json` / `errors.json` / `redactions.json`.
    pub max_metadata_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 4 << 30,
            max_total_bytes: 32 << 30,
            max_entries: 1_000_000,
            max_metadata_bytes: 256 << 20,
        }
    }
}

/// Largest central directory accepted before parsing it (about 2.5 million short names).
const MAX_CENTRAL_DIR: u64 = 256 << 20;

/// One entry of the bundle, from the central directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryInfo {
    pub path: String,
    /// Declared uncompressed size.
    pub bytes: u64,
    pub compressed_bytes: u64,
    #[serde(skip)]
    index: usize,
}

/// A bundle opened for reading.
pub struct BundleReader {
    path: PathBuf,
    zip: zip::ZipArchive<BufReader<File>>,
    limits: Limits,
    entries: BTreeMap<String, EntryInfo>,
    manifest: Manifest,
    errors: Vec<ErrorEntry>,
    /// Distinct uncompressed bytes read so far through this reader (the total cap): each entry
    /// counts with the most that was read of it, so reading a file twice (verify, then
    /// analyze) does not count twice.
    total_read: u64,
    /// The most read of each entry, by zip index.
    read_max: Vec<u64>,
}

impl std::fmt::Debug for BundleReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleReader")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// What [`BundleReader::verify`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Files whose hash was recomputed.
    pub checked: usize,
    /// Uncompressed bytes hashed.
    pub bytes: u64,
    pub mismatches: Vec<Mismatch>,
    /// In the manifest, not in the zip.
    pub missing: Vec<String>,
    /// In the zip, not in the manifest.
    pub unlisted: Vec<String>,
    /// Could not be read (corrupt data, a cap exceeded): path and why.
    pub unreadable: Vec<(String, String)>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
            && self.missing.is_empty()
            && self.unlisted.is_empty()
            && self.unreadable.is_empty()
    }

    /// One line per problem, for people.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.mismatches {
            out.push(format!(
                "mismatch: {}: manifest says {} bytes with blake3 {}, found {} bytes with blake3 {}",
                m.path, m.expected_bytes, m.expected_blake3, m.found_bytes, m.found_blake3
            ));
        }
        for p in &self.missing {
            out.push(format!(
                "missing: {p}: listed in manifest.json but not in the zip"
            ));
        }
        for p in &self.unlisted {
            out.push(format!(
                "unlisted: {p}: in the zip but not in manifest.json"
            ));
        }
        for (p, why) in &self.unreadable {
            out.push(format!("unreadable: {p}: {why}"));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    pub path: String,
    pub expected_bytes: u64,
    pub expected_blake3: String,
    pub found_bytes: u64,
    pub found_blake3: String,
}

/// A damaged bundle: truncated, not a zip, malformed metadata.
fn err(msg: String) -> BundleError {
    BundleError::Corrupt(msg)
}

/// A hostile bundle or one over a limit.
fn refused(msg: String) -> BundleError {
    BundleError::Refused(msg)
}

impl BundleReader {
    /// Opens and checks a bundle: its directory, its manifest and its errors.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, BundleError> {
        let shown = path.display().to_string();
        let mut f = File::open(path).map_err(|source| BundleError::Open {
            shown: shown.clone(),
            source,
        })?;
        let corrupt = |e: &dyn std::fmt::Display| {
            err(format!(
                "bundle {shown} is not a readable zip (truncated or corrupt: {e}); collect it again or copy it whole"
            ))
        };
        // The zip crate keeps one entry per name, so duplicates must be found in the raw
        // central directory before it is opened.
        let raw_names = central_directory_names(&mut f).map_err(|e| corrupt(&e))?;
        if raw_names.len() > limits.max_entries {
            return Err(refused(format!(
                "bundle {shown} has {} entries, more than the limit of {}; it is not a kudo-diag bundle or it is hostile",
                raw_names.len(),
                limits.max_entries
            )));
        }
        let mut seen = HashSet::with_capacity(raw_names.len());
        for n in &raw_names {
            if !seen.insert(n.as_slice()) {
                return Err(refused(format!(
                    "bundle {shown} is rejected: entry {:?} appears more than once (a reader could see either copy)",
                    String::from_utf8_lossy(n)
                )));
            }
        }
        f.seek(SeekFrom::Start(0)).map_err(|e| corrupt(&e))?;
        let mut zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| corrupt(&e))?;
        if zip.len() != raw_names.len() {
            return Err(corrupt(
                &"the central directory does not match its own count",
            ));
        }

        let entries = check_entries(&mut zip, &shown, &limits)?;

        let mut r = BundleReader {
            path: path.to_path_buf(),
            zip,
            limits,
            entries,
            manifest: Manifest::default(),
            errors: Vec::new(),
            total_read: 0,
            read_max: Vec::new(),
        };
        r.read_max = vec![0; r.zip.len()];
        if !r.entries.contains_key(super::layout::MANIFEST) {
            return Err(err(format!(
                "bundle {shown} has no manifest.json: it is not a kudo-diag bundle, or it was cut short; collect it again"
            )));
        }
        let m = r.read_metadata(super::layout::MANIFEST)?;
        let manifest: Manifest = serde_json::from_slice(&m).map_err(|e| {
            err(format!(
                "bundle {shown}: manifest.json is malformed ({e}); the bundle is damaged or was not written by kudo-diag"
            ))
        })?;
        check_manifest(&manifest, &shown)?;
        r.manifest = manifest;
        if r.entries.contains_key(super::layout::ERRORS) {
            let e = r.read_metadata(super::layout::ERRORS)?;
            r.errors = serde_json::from_slice(&e).map_err(|e| {
                err(format!(
                    "bundle {shown}: errors.json is malformed ({e}); the bundle is damaged"
                ))
            })?;
        }
        Ok(r)
    }

    fn read_metadata(&mut self, name: &str) -> Result<Vec<u8>, BundleError> {
        let info = self.entry(name)?.clone();
        if info.bytes > self.limits.max_metadata_bytes {
            return Err(refused(format!(
                "bundle {}: {name} declares {} bytes, more than the limit of {} for metadata",
                self.path.display(),
                info.bytes,
                self.limits.max_metadata_bytes
            )));
        }
        self.read(name)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The checked manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The failed and skipped tasks of the collection.
    pub fn errors(&self) -> &[ErrorEntry] {
        &self.errors
    }

    /// Every entry of the zip, sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = &EntryInfo> {
        self.entries.values()
    }

    /// The manifest's record of an artifact or own file.
    pub fn manifest_entry(&self, path: &str) -> Option<&ManifestEntry> {
        self.manifest
            .files
            .iter()
            .chain(&self.manifest.bundle_files)
            .find(|f| f.path == path)
    }

    fn entry(&self, path: &str) -> Result<&EntryInfo, BundleError> {
        self.entries.get(path).ok_or_else(|| {
            BundleError::Missing(format!(
                "bundle {} has no file {path:?}; `kudo-diag bundle ls {}` lists what it has",
                self.path.display(),
                self.path.display()
            ))
        })
    }

    /// Whether the bundle has a file at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// A streaming reader of one file, capped by its declared size, the per-entry cap and what
    /// is left of the total cap.
    pub fn reader(&mut self, path: &str) -> Result<EntryReader<'_>, BundleError> {
        let info = self.entry(path)?.clone();
        let file = self.zip.by_index(info.index).map_err(|e| {
            err(format!(
                "bundle {}: cannot read {path:?}: {e}",
                self.path.display()
            ))
        })?;
        Ok(EntryReader {
            inner: file,
            path: info.path,
            declared: info.bytes,
            max_entry: self.limits.max_entry_bytes,
            max_total: self.limits.max_total_bytes,
            read: 0,
            total_read: &mut self.total_read,
            read_max: &mut self.read_max[info.index],
        })
    }

    /// Reads one whole file (capped like [`BundleReader::reader`]).
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, BundleError> {
        let shown = self.path.display().to_string();
        let mut r = self.reader(path)?;
        let mut out = Vec::with_capacity(r.declared.min(64 << 20) as usize);
        r.read_to_end(&mut out)
            .map_err(|e| err(format!("bundle {shown}: reading {path:?}: {e}")))?;
        // An object nested deep enough to make a parser crawl is refused before any parser
        // sees it.
        nesting::check_file(path, &out).map_err(|e| refused(format!("bundle {shown}: {e}")))?;
        Ok(out)
    }

    /// Recomputes the blake3 of every file the manifest lists and compares it; lists files
    /// missing from the zip and files the manifest does not list.
    pub fn verify(&mut self) -> VerifyReport {
        let mut rep = VerifyReport::default();
        let listed: Vec<ManifestEntry> = self
            .manifest
            .files
            .iter()
            .chain(&self.manifest.bundle_files)
            .cloned()
            .collect();
        let names: HashSet<&str> = listed.iter().map(|f| f.path.as_str()).collect();
        rep.unlisted = self
            .entries
            .keys()
            .filter(|p| p.as_str() != super::layout::MANIFEST && !names.contains(p.as_str()))
            .cloned()
            .collect();
        for want in &listed {
            if !self.entries.contains_key(&want.path) {
                rep.missing.push(want.path.clone());
                continue;
            }
            let mut h = blake3::Hasher::new();
            let res = self
                .reader(&want.path)
                .and_then(|mut r| io::copy(&mut r, &mut h).map_err(|e| err(e.to_string())));
            match res {
                Ok(n) => {
                    rep.checked += 1;
                    rep.bytes += n;
                    let got = h.finalize().to_hex().to_string();
                    if n != want.bytes || got != want.blake3 {
                        rep.mismatches.push(Mismatch {
                            path: want.path.clone(),
                            expected_bytes: want.bytes,
                            expected_blake3: want.blake3.clone(),
                            found_bytes: n,
                            found_blake3: got,
                        });
                    }
                }
                Err(e) => rep.unreadable.push((want.path.clone(), e.to_string())),
            }
        }
        rep
    }
}

/// A capped reader of one bundle file. Errors (as `io::Error` of kind `InvalidData`) name the
/// entry and the cap it broke.
pub struct EntryReader<'a> {
    inner: zip::read::ZipFile<'a, BufReader<File>>,
    path: String,
    declared: u64,
    max_entry: u64,
    max_total: u64,
    read: u64,
    total_read: &'a mut u64,
    read_max: &'a mut u64,
}

impl EntryReader<'_> {
    fn over_declared(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "entry {:?} decompresses to more than its declared {} bytes (a zip bomb or a corrupt bundle); it is rejected",
                self.path, self.declared
            ),
        )
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Never ask for more than one byte past what is allowed, so that a bomb is caught
        // after at most one buffer of excess, not after inflating it.
        let allowed = self
            .declared
            .min(self.max_entry)
            .saturating_sub(self.read)
            .min(
                self.max_total
                    .saturating_sub(*self.total_read)
                    .saturating_add(self.read_max.saturating_sub(self.read)),
            );
        let want = (allowed.saturating_add(1)).min(buf.len() as u64) as usize;
        // The zip crate checks the declared size itself as well (zip 9): its refusal of the byte
        // probed past the declared size is the same finding as ours below, worded the same.
        let probing_past = self.read.saturating_add(want as u64) > self.declared;
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e)
                if probing_past
                    && e.kind() == io::ErrorKind::InvalidData
                    && e.to_string().contains("declared") =>
            {
                return Err(self.over_declared());
            }
            Err(e) => return Err(e),
        };
        self.read += n as u64;
        if self.read > *self.read_max {
            *self.total_read += self.read - *self.read_max;
            *self.read_max = self.read;
        }
        if self.read > self.declared {
            return Err(self.over_declared());
        }
        if self.read > self.max_entry {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "entry {:?} is larger than the per-entry limit of {} bytes; it is rejected",
                    self.path, self.max_entry
                ),
            ));
        }
        if *self.total_read > self.max_total {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "reading entry {:?} goes past the total limit of {} bytes for this bundle; it is rejected",
                    self.path, self.max_total
                ),
            ));
        }
        if n == 0 && self.read < self.declared {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "entry {:?} ends after {} of its declared {} bytes (truncated or corrupt)",
                    self.path, self.read, self.declared
                ),
            ));
        }
        Ok(n)
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?) as u64)
}
fn u32_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?) as u64)
}
fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// The raw names of the central directory, read straight from the file (end of central
/// directory record, zip64 when needed).
fn central_directory_names(f: &mut File) -> Result<Vec<Vec<u8>>, String> {
    let len = f.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let tail_len = len.min(22 + 65535);
    let mut tail = vec![0u8; tail_len as usize];
    f.seek(SeekFrom::Start(len - tail_len))
        .map_err(|e| e.to_string())?;
    f.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| {
            tail[i..].starts_with(b"PK\x05\x06")
                && u16_at(&tail, i + 20).is_some_and(|c| i + 22 + c as usize == tail.len())
        })
        .ok_or("no end of central directory record")?;
    let bad = || "malformed end of central directory record".to_string();
    let mut count = u16_at(&tail, eocd + 10).ok_or_else(bad)?;
    let mut cd_size = u32_at(&tail, eocd + 12).ok_or_else(bad)?;
    let mut cd_off = u32_at(&tail, eocd + 16).ok_or_else(bad)?;
    let eocd_abs = len - tail_len + eocd as u64;
    if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_off == 0xFFFF_FFFF {
        // zip64: the locator sits right before the end record.
        let mut loc = [0u8; 20];
        let at = eocd_abs.checked_sub(20).ok_or("missing zip64 locator")?;
        f.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
        f.read_exact(&mut loc).map_err(|e| e.to_string())?;
        if !loc.starts_with(b"PK\x06\x07") {
            return Err("missing zip64 locator".into());
        }
        let rec_at = u64_at(&loc, 8).ok_or("bad zip64 locator")?;
        let mut rec = [0u8; 56];
        f.seek(SeekFrom::Start(rec_at)).map_err(|e| e.to_string())?;
        f.read_exact(&mut rec).map_err(|e| e.to_string())?;
        if !rec.starts_with(b"PK\x06\x06") {
            return Err("missing zip64 end of central directory record".into());
        }
        count = u64_at(&rec, 32).ok_or("bad zip64 record")?;
        cd_size = u64_at(&rec, 40).ok_or("bad zip64 record")?;
        cd_off = u64_at(&rec, 48).ok_or("bad zip64 record")?;
    }
    if cd_size > MAX_CENTRAL_DIR {
        return Err(format!(
            "central directory of {cd_size} bytes is larger than the limit of {MAX_CENTRAL_DIR}"
        ));
    }
    if cd_off.checked_add(cd_size).is_none_or(|end| end > len) {
        return Err("central directory lies past the end of the file".into());
    }
    let mut cd = vec![0u8; cd_size as usize];
    f.seek(SeekFrom::Start(cd_off)).map_err(|e| e.to_string())?;
    f.read_exact(&mut cd).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    let mut i = 0usize;
    while (names.len() as u64) < count {
        if !cd.get(i..).is_some_and(|s| s.starts_with(b"PK\x01\x02")) {
            return Err("central directory entry is damaged".into());
        }
        let bad = || "central directory entry is damaged".to_string();
        let n = u16_at(&cd, i + 28).ok_or_else(bad)? as usize;
        let x = u16_at(&cd, i + 30).ok_or_else(bad)? as usize;
        let c = u16_at(&cd, i + 32).ok_or_else(bad)? as usize;
        let name = cd.get(i + 46..i + 46 + n).ok_or_else(bad)?;
        names.push(name.to_vec());
        i += 46 + n + x + c;
    }
    Ok(names)
}

/// Every entry of the central directory, checked: a safe path, a regular file, not encrypted,
/// within the size limits.
fn check_entries<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    shown: &str,
    limits: &Limits,
) -> Result<BTreeMap<String, EntryInfo>, BundleError> {
    let corrupt = |e: &dyn std::fmt::Display| {
        err(format!(
            "bundle {shown} is not a readable zip (truncated or corrupt: {e}); collect it again or copy it whole"
        ))
    };
    let mut entries = BTreeMap::new();
    let mut declared_total: u64 = 0;
    for i in 0..zip.len() {
        let e = zip.by_index_raw(i).map_err(|e| corrupt(&e))?;
        let name = std::str::from_utf8(e.name_raw())
            .map_err(|_| {
                refused(format!(
                    "bundle {shown} is rejected: entry {:?} is not a UTF-8 name",
                    String::from_utf8_lossy(e.name_raw())
                ))
            })?
            .to_string();
        let reject =
            |why: &str| refused(format!("bundle {shown} is rejected: entry {name:?} {why}"));
        if e.is_dir() || name.ends_with('/') {
            // Directory entries carry nothing; still refuse unsafe ones.
            check_bundle_path(name.trim_end_matches('/'))
                .map_err(|_| reject("is an unsafe path (absolute, `..` or backslash)"))?;
            continue;
        }
        check_bundle_path(&name).map_err(|_| {
            reject("is an unsafe path (absolute, `..`, backslash or empty segment)")
        })?;
        if e.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000) {
            return Err(reject(
                "is a symbolic link; bundles hold regular files only",
            ));
        }
        if e.encrypted() {
            return Err(reject("is encrypted; bundles are never encrypted"));
        }
        if e.size() > limits.max_entry_bytes {
            return Err(reject(&format!(
                "declares {} bytes, more than the per-entry limit of {}",
                e.size(),
                limits.max_entry_bytes
            )));
        }
        declared_total = declared_total.saturating_add(e.size());
        if declared_total > limits.max_total_bytes {
            return Err(refused(format!(
                "bundle {shown} is rejected: its entries declare more than the total limit of {} bytes",
                limits.max_total_bytes
            )));
        }
        entries.insert(
            name.clone(),
            EntryInfo {
                path: name,
                bytes: e.size(),
                compressed_bytes: e.compressed_size(),
                index: i,
            },
        );
    }
    Ok(entries)
}

/// The manifest's format version and paths: no newer format, no unsafe or repeated path.
fn check_manifest(manifest: &Manifest, shown: &str) -> Result<(), BundleError> {
    if manifest.meta.format_version > BUNDLE_FORMAT_VERSION {
        return Err(refused(format!(
            "bundle {shown} has format version {}, newer than this kudo-diag understands ({}); upgrade kudo-diag",
            manifest.meta.format_version, BUNDLE_FORMAT_VERSION
        )));
    }
    let mut listed = HashSet::new();
    for f in manifest.files.iter().chain(&manifest.bundle_files) {
        check_bundle_path(&f.path).map_err(|_| {
            refused(format!(
                "bundle {shown}: manifest.json lists an unsafe path {:?}; the bundle is rejected",
                f.path
            ))
        })?;
        if !listed.insert(f.path.as_str()) {
            return Err(refused(format!(
                "bundle {shown}: manifest.json lists {:?} twice; the bundle is rejected",
                f.path
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::writer::BundleMeta;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn opts() -> SimpleFileOptions {
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
    }

    fn manifest_for(files: &[(&str, &[u8])]) -> Vec<u8> {
        let m = Manifest {
            meta: BundleMeta {
                format_version: BUNDLE_FORMAT_VERSION,
                tool: "kudo-diag".into(),
                ..BundleMeta::default()
            },
            files: files
                .iter()
                .map(|(p, c)| ManifestEntry {
                    path: p.to_string(),
                    bytes: c.len() as u64,
                    blake3: blake3::hash(c).to_hex().to_string(),
                    task: "t".into(),
                    redactions: 0,
                })
                .collect(),
            bundle_files: vec![],
            empty_lists: vec![],
            identical_logs: vec![],
        };
        serde_json::to_vec(&m).unwrap()
    }

    /// Writes a zip of `entries` (in order) to a temp file.
    fn zip_of(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        let p = dir.join(format!("b{}.zip", rand::random::<u32>()));
        let mut z = zip::ZipWriter::new(File::create(&p).unwrap());
        for (n, c) in entries {
            z.start_file(*n, opts()).unwrap();
            z.write_all(c).unwrap();
        }
        z.finish().unwrap();
        p
    }

    /// A well-formed bundle with the given artifacts.
    fn good(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
        let m = manifest_for(files);
        let mut all: Vec<(&str, &[u8])> = files.to_vec();
        all.push(("manifest.json", &m));
        zip_of(dir, &all)
    }

    fn open_err(p: &Path) -> String {
        BundleReader::open(p, Limits::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_a_good_bundle_and_verifies_clean() {
        let d = tempfile::tempdir().unwrap();
        let p = good(d.path(), &[("a/x.log", b"hello\n"), ("b.json", b"{}")]);
        let mut r = BundleReader::open(&p, Limits::default()).unwrap();
        assert_eq!(r.read("a/x.log").unwrap(), b"hello\n");
        assert_eq!(r.manifest().files.len(), 2);
        let rep = r.verify();
        assert!(rep.is_clean(), "{rep:?}");
        assert_eq!(rep.checked, 2);
        let e = r.read("nope").unwrap_err().to_string();
        assert!(e.contains("has no file \"nope\""), "{e}");
    }

    #[test]
    fn rejects_path_traversal_absolute_and_backslash() {
        let d = tempfile::tempdir().unwrap();
        for bad in ["../x", "a/../../x", "/etc/x", "a\\..\\x"] {
            let p = good(d.path(), &[(bad, b"x")]);
            let e = open_err(&p);
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains("unsafe path"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn rejects_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.zip");
        let mut z = zip::ZipWriter::new(File::create(&p).unwrap());
        z.add_symlink("link", "/etc/passwd", opts()).unwrap();
        z.start_file("manifest.json", opts()).unwrap();
        z.write_all(&manifest_for(&[])).unwrap();
        z.finish().unwrap();
        let e = open_err(&p);
        assert!(e.contains("\"link\" is a symbolic link"), "{e}");
    }

    #[test]
    fn rejects_duplicate_names() {
        let d = tempfile::tempdir().unwrap();
        // The zip writer refuses duplicates, so write two names and make them equal in place.
        let p = good(d.path(), &[("dup1", b"one"), ("dup2", b"two")]);
        let mut bytes = std::fs::read(&p).unwrap();
        let mut i = 0;
        while let Some(j) = bytes[i..].windows(4).position(|w| w == b"dup2") {
            bytes[i + j + 3] = b'1';
            i += j + 4;
        }
        std::fs::write(&p, &bytes).unwrap();
        let e = open_err(&p);
        assert!(e.contains("\"dup1\" appears more than once"), "{e}");
    }

    /// Sets an entry's declared uncompressed size in its local and central headers.
    fn patch_declared_size(bytes: &mut [u8], name: &[u8], size: u32) {
        for (sig, name_off, size_off) in [(b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)] {
            let mut i = 0;
            while let Some(j) = bytes[i..].windows(4).position(|w| w == sig) {
                let h = i + j;
                if bytes.get(h + name_off..h + name_off + name.len()) == Some(name) {
                    bytes[h + size_off..h + size_off + 4].copy_from_slice(&size.to_le_bytes());
                }
                i = h + 4;
            }
        }
    }

    #[test]
    fn rejects_a_bomb_that_declares_a_small_size_while_reading() {
        let d = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; 100 << 20];
        let p = good(d.path(), &[("bomb.log", &zeros)]);
        let mut bytes = std::fs::read(&p).unwrap();
        assert!(bytes.len() < 1 << 20, "100 MiB of zeros compresses small");
        patch_declared_size(&mut bytes, b"bomb.log", 1000);
        std::fs::write(&p, &bytes).unwrap();
        let mut r = BundleReader::open(&p, Limits::default()).unwrap();
        let e = r.read("bomb.log").unwrap_err().to_string();
        assert!(
            e.contains("\"bomb.log\" decompresses to more than its declared 1000 bytes"),
            "{e}"
        );
        // Stopped after about one buffer, not after inflating 100 MiB.
        assert!(r.total_read < 1 << 20, "read {}", r.total_read);
        let rep = r.verify();
        assert_eq!(rep.unreadable.len(), 1, "{rep:?}");
    }

    #[test]
    fn enforces_per_entry_and_total_caps() {
        let d = tempfile::tempdir().unwrap();
        let big = vec![b'a'; 2 << 20];
        let p = good(d.path(), &[("big.log", &big), ("big2.log", &big)]);
        let small = Limits {
            max_entry_bytes: 1 << 20,
            ..Limits::default()
        };
        let e = BundleReader::open(&p, small).unwrap_err().to_string();
        assert!(
            e.contains("\"big.log\" declares 2097152 bytes, more than the per-entry limit"),
            "{e}"
        );
        let total = Limits {
            max_total_bytes: 3 << 20,
            ..Limits::default()
        };
        let e = BundleReader::open(&p, total).unwrap_err().to_string();
        assert!(e.contains("more than the total limit"), "{e}");
    }

    #[test]
    fn total_cap_counts_each_entry_once() {
        let d = tempfile::tempdir().unwrap();
        let p = good(d.path(), &[("a.log", &[b'a'; 1000][..])]);
        let limits = Limits {
            max_total_bytes: 4096,
            ..Limits::default()
        };
        let mut r = BundleReader::open(&p, limits).unwrap();
        for _ in 0..20 {
            assert_eq!(r.read("a.log").unwrap().len(), 1000);
        }
        assert!(r.verify().is_clean());
        assert!(r.total_read <= 4096, "{}", r.total_read);
    }

    #[test]
    fn rejects_truncated_and_garbage_files() {
        let d = tempfile::tempdir().unwrap();
        let p = good(d.path(), &[("a.log", &vec![b'x'; 10000][..])]);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let e = open_err(&p);
        assert!(
            e.contains("is not a readable zip (truncated or corrupt"),
            "{e}"
        );
        std::fs::write(&p, b"not a zip at all").unwrap();
        assert!(open_err(&p).contains("is not a readable zip"));
    }

    #[test]
    fn rejects_missing_and_malformed_manifests() {
        let d = tempfile::tempdir().unwrap();
        let p = zip_of(d.path(), &[("a.log", b"x")]);
        assert!(
            open_err(&p).contains("has no manifest.json"),
            "{}",
            open_err(&p)
        );
        let p = zip_of(d.path(), &[("a.log", b"x"), ("manifest.json", b"{")]);
        assert!(
            open_err(&p).contains("manifest.json is malformed"),
            "{}",
            open_err(&p)
        );
        let mut m: serde_json::Value = serde_json::from_slice(&manifest_for(&[])).unwrap();
        m["formatVersion"] = serde_json::json!(BUNDLE_FORMAT_VERSION + 1);
        let m = serde_json::to_vec(&m).unwrap();
        let p = zip_of(d.path(), &[("manifest.json", &m)]);
        assert!(
            open_err(&p).contains("upgrade kudo-diag"),
            "{}",
            open_err(&p)
        );
    }

    #[test]
    fn verify_lists_wrong_hashes_missing_and_unlisted_files() {
        let d = tempfile::tempdir().unwrap();
        let m = manifest_for(&[("a.log", b"original"), ("gone.log", b"x")]);
        let p = zip_of(
            d.path(),
            &[
                ("a.log", b"tampered"),
                ("extra.log", b"y"),
                ("manifest.json", &m),
            ],
        );
        let mut r = BundleReader::open(&p, Limits::default()).unwrap();
        let rep = r.verify();
        assert!(!rep.is_clean());
        assert_eq!(rep.mismatches.len(), 1);
        assert_eq!(rep.mismatches[0].path, "a.log");
        assert_eq!(rep.missing, vec!["gone.log".to_string()]);
        assert_eq!(rep.unlisted, vec!["extra.log".to_string()]);
        assert_eq!(rep.problems().len(), 3);
    }
}
