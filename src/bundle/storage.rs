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
            "{folder} is not writable ({}): write the bundle somewhere writable with -o FILE.zip or --output-dir DIR",
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
                && ro.contains("-o FILE.zip or --output-dir DIR"),
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
