//! Keeping the newest N bundles of an instance in an output directory (`--keep N`).
//!
//! Bundles are recognised by the default name `kudo-diag_<namespace>_<instance>_<UTC time>.zip`,
//! or `..._<UTC time>-N.zip` for the Nth run started in the same second (ordered by time, then N). A bundle whose collection is unfinished (a `.partial` folder beside
//! it) is never counted nor removed, and the caller prunes only after the new bundle is complete,
//! so a failed collection never costs the last good bundle.

use std::path::{Path, PathBuf};

/// Errors while pruning: the new bundle is already safe, so the message says what was left.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("cannot list {}: {source}; old bundles were not removed", dir.display())]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove old bundle {}: {source}; remove it by hand or fix the permissions", path.display())]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--keep must be at least 1 (the bundle just written is always kept)")]
    KeepZero,
}

pub use crate::collect::naming::{is_bundle_of, run_order};

/// The finished bundles of the instance in `dir`, oldest first.
pub fn bundles_of(
    dir: &Path,
    namespace: &str,
    instance: &str,
) -> Result<Vec<PathBuf>, RetentionError> {
    crate::collect::naming::finished_bundles(dir, namespace, instance).map_err(|source| {
        RetentionError::List {
            dir: dir.to_path_buf(),
            source,
        }
    })
}

/// Removes all but the newest `keep` finished bundles of the instance; returns what it removed.
pub fn keep_newest(
    dir: &Path,
    namespace: &str,
    instance: &str,
    keep: usize,
) -> Result<Vec<PathBuf>, RetentionError> {
    if keep == 0 {
        return Err(RetentionError::KeepZero);
    }
    let all = bundles_of(dir, namespace, instance)?;
    let excess = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for old in all.into_iter().take(excess) {
        std::fs::remove_file(&old).map_err(|source| RetentionError::Remove {
            path: old.clone(),
            source,
        })?;
        // An upload record of a removed bundle is meaningless.
        let _ = std::fs::remove_file(crate::ship::upload::state_file(&old));
        removed.push(old);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"zip").unwrap();
        p
    }

    #[test]
    fn keeps_the_newest_and_spares_other_instances_and_unfinished_ones() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let names = [
            "kudo-diag_prod_cass_20260101T000000Z.zip",
            "kudo-diag_prod_cass_20260102T000000Z.zip",
            "kudo-diag_prod_cass_20260103T000000Z.zip",
            "kudo-diag_prod_cass_20260104T000000Z.zip",
        ];
        for n in names {
            touch(dir, n);
        }
        let unfinished = touch(dir, "kudo-diag_prod_cass_20251231T000000Z.zip");
        std::fs::create_dir(crate::engine::run::partial_dir(&unfinished)).unwrap();
        let other = touch(dir, "kudo-diag_prod_cass-b_20250101T000000Z.zip");
        let other_ns = touch(dir, "kudo-diag_dev_cass_20250101T000000Z.zip");
        let removed = keep_newest(dir, "prod", "cass", 2).unwrap();
        assert_eq!(removed, vec![dir.join(names[0]), dir.join(names[1])]);
        assert!(dir.join(names[2]).exists() && dir.join(names[3]).exists());
        assert!(unfinished.exists() && other.exists() && other_ns.exists());
        assert!(keep_newest(dir, "prod", "cass", 2).unwrap().is_empty());
        assert!(matches!(
            keep_newest(dir, "prod", "cass", 0),
            Err(RetentionError::KeepZero)
        ));
    }

    #[test]
    fn runs_in_the_same_second_are_ordered_by_their_number() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let names = [
            "kudo-diag_prod_cass_20260101T000000Z.zip",
            "kudo-diag_prod_cass_20260101T000000Z-2.zip",
            "kudo-diag_prod_cass_20260101T000000Z-10.zip",
            "kudo-diag_prod_cass_20260101T000001Z.zip",
        ];
        for n in names {
            touch(dir, n);
        }
        let all = bundles_of(dir, "prod", "cass").unwrap();
        assert_eq!(all, names.map(|n| dir.join(n)).to_vec());
        let removed = keep_newest(dir, "prod", "cass", 2).unwrap();
        assert_eq!(removed, vec![dir.join(names[0]), dir.join(names[1])]);
        for bad in ["Z-1", "Z-02", "Z-", "Z-x", "Z-2-3"] {
            let name = format!("kudo-diag_prod_cass_20260101T000000{bad}.zip");
            assert!(!is_bundle_of(&name, "prod", "cass"), "{name}");
        }
    }

    #[test]
    fn bundle_names_match_exactly() {
        assert!(is_bundle_of(
            "kudo-diag_ns_a_20260101T101010Z.zip",
            "ns",
            "a"
        ));
        assert!(!is_bundle_of(
            "kudo-diag_ns_a_b_20260101T101010Z.zip",
            "ns",
            "a"
        ));
        assert!(!is_bundle_of(
            "kudo-diag_ns_a_20260101T101010Z.zip.upload.json",
            "ns",
            "a"
        ));
        assert!(!is_bundle_of("kudo-diag_ns_a_latest.zip", "ns", "a"));
    }
}
