//! What a failed write to the output folder tells a person: one line naming the folder, the
//! space needed when it is known, and what to do, instead of the library's Debug text
//! (`Os { code: 28, kind: StorageFull, .. }`) or a bare "i/o error".
//!
//! A full disk keeps the collection resumable (the journal holds what is done), so the fix says
//! to free space and run the same command with `--continue`; a read-only folder needs another
//! output.

use std::io;
use std::path::Path;

/// `ENOSPC` and `EDQUOT` (a quota is a full disk to the user).
fn is_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(28 | 122))
}

/// `EROFS`, and a folder the user may not write to.
fn is_read_only(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ReadOnlyFilesystem
        || e.kind() == io::ErrorKind::PermissionDenied
        || e.raw_os_error() == Some(30)
}

/// One line about an error writing `path`, inside the output folder. `needed` is how many more
/// bytes the step needs, when known.
pub fn describe(path: &Path, e: &io::Error, needed: Option<u64>) -> String {
    let folder = path
        .ancestors()
        .skip(1)
        .find(|p| p.is_dir())
        .unwrap_or(path)
        .display()
        .to_string();
    let folder = if folder.is_empty() {
        ".".to_string()
    } else {
        folder
    };
    if is_full(e) {
        let need = needed.map_or(String::new(), |n| {
            format!(" (this step needs about {})", size(n))
        });
        format!(
            "no space left on the disk of {folder}{need}: free some space there, then run the same command with --continue to finish the collection"
        )
    } else if is_read_only(e) {
        format!(
            "{folder} is not writable ({}): make it writable and run the same command with --continue to finish the collection, or write the bundle somewhere writable with --bundle FILE.zip or --bundle-dir DIR",
            plain(e)
        )
    } else {
        format!("{}: {}", path.display(), plain(e))
    }
}

/// An I/O error's message without the Debug form some libraries wrap it in.
pub fn plain(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code).to_string(),
        None => e.to_string(),
    }
}

/// A writer that remembers its first error and, from then on, accepts and drops everything.
///
/// The zip crate finalizes an archive that is dropped unfinished and prints a failure of that
/// in Debug form on stderr (`ZipWriter drop failed: Io(Os { code: 28, .. })`). Behind a gate,
/// that last attempt writes nowhere; the error that counts was already returned once, and
/// [`Gate::into_result`] returns it again to whoever finishes the file.
pub struct Gate<W> {
    inner: W,
    error: Option<io::Error>,
    /// Set by the [`Abandon`] guard of the writer's owner when it gives the file up: from
    /// then on nothing is written (the zip crate's finalization on drop writes nowhere).
    abandoned: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The position the writer believes it is at, and the furthest it got: after a failure,
    /// seeks are answered from these, so the zip crate's bookkeeping stays consistent (it
    /// asserts that an entry does not end before it starts).
    pos: u64,
    end: u64,
}

impl<W> Gate<W> {
    pub fn new(inner: W) -> Self {
        Gate {
            inner,
            error: None,
            abandoned: Default::default(),
            pos: 0,
            end: 0,
        }
    }

    /// A guard that, when dropped, makes the gate drop everything: hold it in the owner of the
    /// zip writer, declared so that it drops before the writer.
    pub fn abandon_guard(&self) -> Abandon {
        Abandon(self.abandoned.clone())
    }

    fn closed(&self) -> bool {
        self.error.is_some() || self.abandoned.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The inner writer, to look at.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, or the first error any write, flush or seek returned.
    pub fn into_result(self) -> io::Result<W> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.inner),
        }
    }

    fn fail(&mut self, e: io::Error) -> io::Error {
        let copy = match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(e.kind(), e.to_string()),
        };
        self.error.get_or_insert(copy);
        e
    }

    fn advance(&mut self, n: usize) {
        self.pos += n as u64;
        self.end = self.end.max(self.pos);
    }
}

impl<W: io::Write> io::Write for Gate<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed() {
            self.advance(buf.len());
            return Ok(buf.len());
        }
        let n = self.inner.write(buf).map_err(|e| self.fail(e))?;
        self.advance(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed() {
            return Ok(());
        }
        self.inner.flush().map_err(|e| self.fail(e))
    }
}

impl<W: io::Seek> io::Seek for Gate<W> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        if self.closed() {
            let to = match pos {
                io::SeekFrom::Start(n) => Some(n),
                io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
                io::SeekFrom::End(d) => self.end.checked_add_signed(d),
            };
            self.pos = to.unwrap_or(self.pos);
            self.end = self.end.max(self.pos);
            return Ok(self.pos);
        }
        let at = self.inner.seek(pos).map_err(|e| self.fail(e))?;
        self.pos = at;
        self.end = self.end.max(at);
        Ok(at)
    }
}

/// Closes a [`Gate`] when dropped (see [`Gate::abandon_guard`]); [`Abandon::keep`] disarms it
/// once the file was finished.
pub struct Abandon(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Abandon {
    /// The file was finished: nothing to abandon.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn size(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{} KiB", n.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14: a full disk and a read-only folder each give one line naming the folder and
    /// the fix, with no Debug text.
    /// After its first error a gate swallows what follows (the zip crate's finalization on
    /// drop) and still hands the first error to whoever finishes the file.
    #[test]
    fn a_gate_keeps_its_first_error_and_swallows_the_rest() {
        use std::io::Write;
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
        let Ok(full) = full else {
            eprintln!("no /dev/full here: skipped");
            return;
        };
        let mut g = Gate::new(full);
        let e = g.write_all(b"x").and_then(|_| g.flush()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28));
        g.write_all(b"more").unwrap();
        g.flush().unwrap();
        let e = g.into_result().unwrap_err();
        assert!(
            describe(Path::new("/x/y"), &e, None).starts_with("no space left"),
            "{e}"
        );
        // A zip over a gate dropped unfinished on a full disk prints nothing and does not
        // panic; its error came back when it was written.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut zip = zip::ZipWriter::new(io::BufWriter::new(Gate::new(SeekableFull(full))));
        let started = zip.start_file("a", zip::write::SimpleFileOptions::default());
        let wrote = zip.write_all(&[b'a'; 200_000]);
        assert!(started.is_err() || wrote.is_err());
        drop(zip);
    }

    /// /dev/full with the seek a zip needs.
    struct SeekableFull(std::fs::File);
    impl io::Write for SeekableFull {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }
    impl io::Seek for SeekableFull {
        fn seek(&mut self, _: io::SeekFrom) -> io::Result<u64> {
            self.0.stream_position()
        }
    }

    #[test]
    fn full_and_read_only_disks_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.zip.partial").join("journal");
        let full = describe(&file, &io::Error::from_raw_os_error(28), Some(5 << 20));
        assert_eq!(
            full,
            format!(
                "no space left on the disk of {} (this step needs about 5.0 MiB): free some space there, then run the same command with --continue to finish the collection",
                dir.path().display()
            )
        );
        let ro = describe(&file, &io::Error::from_raw_os_error(30), None);
        assert!(
            ro.starts_with(&format!("{} is not writable (", dir.path().display()))
                && ro.contains("--continue")
                && ro.contains("--bundle FILE.zip or --bundle-dir DIR"),
            "{ro}"
        );
        for m in [&full, &ro] {
            assert!(!m.contains("Os {") && !m.contains("kind:"), "{m}");
            assert_eq!(m.lines().count(), 1);
        }
        let other = describe(&file, &io::Error::other("boom"), None);
        assert!(other.ends_with("journal: boom"), "{other}");
    }
}
