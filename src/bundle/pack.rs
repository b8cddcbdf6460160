//! Packs: the stored zips of small artifacts appended to a few files, instead of one file each.
//!
//! A collection stores about one artifact per request, and most of them are a few KiB (an
//! object, a command's output, a config file). One file each cost, per artifact, a new inode,
//! an fsync, a rename and, when the bundle was written, an unlink: on a 1,000-pod collection
//! (19,000 artifacts) that was over a third of the collector's CPU, most of it in the kernel
//! (docs/PERFORMANCE.md, "CPU per request"). A pack is an append-only file: a finished
//! artifact's one-entry zip is appended with one write. Appends are not synced one by one:
//! the journal writes its records in batches (the engine's group commit, every 100 ms) and
//! calls [`Packs::sync`] (through `ArtifactStore::sync`) before each batch, so one sync covers
//! every artifact the batch's records point at, and no record is on disk before its content.
//! Synced one by one, 19,000 fdatasyncs were still an eighth of the collector's CPU.
//!
//! Every opening of a store writes packs of its own (`STAMP-N.pack`, created new, never
//! reopened): a run that resumes a killed one reads the synced ranges of the old packs its
//! journal points at and appends to new ones, so the unsynced tail a kill left behind is never
//! written after. The bytes of an attempt that failed after appending stay in the pack,
//! unreferenced, until the partial folder is removed with the rest.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use serde::{Deserialize, Serialize};

/// A pack is closed (synced) and a new one started when it grows past this.
const PACK_ROLL: u64 = 256 * 1024 * 1024;

/// Where an artifact's stored zip is inside its pack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub offset: u64,
    pub len: u64,
}

/// The packs of one store opening.
#[derive(Debug)]
pub(crate) struct Packs {
    dir: PathBuf,
    /// Unique to this opening: the first part of its packs' names.
    stamp: String,
    open: Mutex<Open>,
    sync: Mutex<Synced>,
    synced_cv: Condvar,
}

#[derive(Debug, Default)]
struct Open {
    /// The pack being appended to; `None` before the first append.
    current: Option<Current>,
    /// How many packs this opening started.
    count: u64,
    /// Appends so far (a sequence number: the sync that covers number `n` covers every append
    /// before it).
    appended: u64,
}

#[derive(Debug)]
struct Current {
    file: Arc<File>,
    name: String,
    len: u64,
    /// A write to it failed, so its length is not known: the next append starts a new pack.
    broken: bool,
}

#[derive(Debug, Default)]
struct Synced {
    /// Every append up to this number is on disk.
    through: u64,
    /// A thread is syncing now: the others wait for it instead of syncing again.
    syncing: bool,
    /// The error of a failed sync. It stays: after a failed fsync the kernel may have dropped
    /// the pages, and a later sync that succeeds does not bring them back, so no append is
    /// reported on disk after one.
    failed: Option<(io::ErrorKind, String)>,
}

impl Packs {
    pub(crate) fn new(dir: &Path) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Packs {
            dir: dir.to_path_buf(),
            stamp: format!("{:x}-{nanos:x}", std::process::id()),
            open: Mutex::new(Open::default()),
            sync: Mutex::new(Synced::default()),
            synced_cv: Condvar::new(),
        }
    }

    /// Appends `bytes` to the current pack: the pack's file name and where they are in it.
    /// They are on disk once [`Packs::sync`] returned after this.
    pub(crate) fn append(&self, bytes: &[u8]) -> io::Result<(String, Span)> {
        let (name, span) = {
            let mut open = self.open.lock().expect("pack lock");
            let full = open
                .current
                .as_ref()
                .is_none_or(|c| c.broken || c.len >= PACK_ROLL);
            if full {
                self.start_pack(&mut open)?;
            }
            let cur = open.current.as_mut().expect("a pack was just started");
            let span = Span {
                offset: cur.len,
                len: bytes.len() as u64,
            };
            let mut f: &File = &cur.file;
            if let Err(e) = f
                .seek(SeekFrom::Start(span.offset))
                .and_then(|_| f.write_all(bytes))
            {
                cur.broken = true;
                return Err(e);
            }
            cur.len += span.len;
            let name = cur.name.clone();
            open.appended += 1;
            (name, span)
        };
        Ok((name, span))
    }

    /// Returns once every append made before the call is on disk (no I/O when there is none
    /// since the last sync).
    pub(crate) fn sync(&self) -> io::Result<()> {
        let seq = self.open.lock().expect("pack lock").appended;
        self.sync_through(seq)
    }

    /// Starts a new pack; the one before it is synced first, so that a sync of the new one
    /// covers every append before it.
    fn start_pack(&self, open: &mut Open) -> io::Result<()> {
        if let Some(old) = &open.current {
            old.file.sync_data()?;
        }
        loop {
            open.count += 1;
            let name = format!("{}-{}.pack", self.stamp, open.count);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.dir.join(&name))
            {
                Ok(f) => {
                    open.current = Some(Current {
                        file: Arc::new(f),
                        name,
                        len: 0,
                        broken: false,
                    });
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until append number `seq` is on disk: syncs the current pack itself when no other
    /// thread is syncing, else waits for that sync and, if it did not cover `seq`, the next one.
    fn sync_through(&self, seq: u64) -> io::Result<()> {
        let mut s = self.sync.lock().expect("pack sync lock");
        loop {
            if let Some((kind, msg)) = &s.failed {
                return Err(io::Error::new(*kind, msg.clone()));
            }
            if s.through >= seq {
                return Ok(());
            }
            if s.syncing {
                s = self.synced_cv.wait(s).expect("pack sync lock");
                continue;
            }
            s.syncing = true;
            drop(s);
            // Appends are numbered under the same lock, after their write: every one up to
            // `target` is written, to this pack or to older ones, synced when it was started.
            let (target, file) = {
                let open = self.open.lock().expect("pack lock");
                let cur = open.current.as_ref().expect("appended to a pack");
                (open.appended, Arc::clone(&cur.file))
            };
            let result = file.sync_data();
            s = self.sync.lock().expect("pack sync lock");
            s.syncing = false;
            match result {
                Ok(()) => s.through = s.through.max(target),
                Err(e) => s.failed = Some((e.kind(), format!("syncing an artifact pack: {e}"))),
            }
            self.synced_cv.notify_all();
        }
    }
}

/// Reads a span of a pack.
pub(crate) fn read_span(path: &Path, span: Span) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(span.offset))?;
    let len = usize::try_from(span.len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "span too long"))?;
    let mut out = vec![0; len];
    f.read_exact(&mut out).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the pack ends before the artifact's span ({span:?})"),
        ),
        _ => e,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends from many threads at once land whole and apart, each readable at its span, and
    /// one sync covers them all.
    #[test]
    fn concurrent_appends_land_whole_at_their_spans() {
        let d = tempfile::tempdir().unwrap();
        let packs = Arc::new(Packs::new(d.path()));
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let packs = Arc::clone(&packs);
                std::thread::spawn(move || {
                    (0..50u32)
                        .map(|i| {
                            let bytes = vec![t; 100 + i as usize];
                            (bytes.clone(), packs.append(&bytes).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut spans = Vec::new();
        for t in threads {
            for (bytes, (name, span)) in t.join().unwrap() {
                assert_eq!(read_span(&d.path().join(&name), span).unwrap(), bytes);
                spans.push((name, span));
            }
        }
        spans.sort_by_key(|(n, s)| (n.clone(), s.offset));
        for w in spans.windows(2) {
            if w[0].0 == w[1].0 {
                assert_eq!(
                    w[0].1.offset + w[0].1.len,
                    w[1].1.offset,
                    "no gap, no overlap"
                );
            }
        }
        assert_eq!(packs.sync.lock().unwrap().through, 0, "appends do not sync");
        packs.sync().unwrap();
        assert_eq!(packs.sync.lock().unwrap().through, 400);
        // Nothing appended since: nothing to do.
        packs.sync().unwrap();
    }

    /// Two openings of one folder (a resumed run) never write to the same pack.
    #[test]
    fn each_opening_writes_its_own_packs() {
        let d = tempfile::tempdir().unwrap();
        let (a, _) = Packs::new(d.path()).append(b"first run").unwrap();
        let (b, span) = Packs::new(d.path()).append(b"second run").unwrap();
        assert_ne!(a, b);
        assert_eq!(span.offset, 0);
        assert_eq!(
            read_span(&d.path().join(&a), Span { offset: 0, len: 9 }).unwrap(),
            b"first run"
        );
    }
}
