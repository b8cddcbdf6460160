//! The names of bundles: a collection without `-o` writes
//! `kudo-diag_<namespace>_<instance>_<UTC time>.zip` (`..._<UTC time>-N.zip` for the Nth run
//! started in the same second), `--continue` finds the last one and `--keep` (`ship::retention`)
//! prunes by the same names. One place says what the name is and how it is read back.

use std::path::{Path, PathBuf};

use crate::engine::run::partial_dir;

/// `DIR/kudo-diag_<namespace>_<instance>_<UTC time>.zip`: unique per run, so scheduled runs
/// never collide; a second run started in the same second gets `..._<UTC time>-2.zip`, and so
/// on (`run_order` orders them).
pub fn default_bundle_path(dir: &Path, namespace: &str, instance: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let taken = |p: &Path| p.exists() || partial_dir(p).exists();
    let first = dir.join(format!("kudo-diag_{namespace}_{instance}_{stamp}.zip"));
    if !taken(&first) {
        return first;
    }
    (2u32..)
        .map(|n| dir.join(format!("kudo-diag_{namespace}_{instance}_{stamp}-{n}.zip")))
        .find(|p| !taken(p))
        .expect("a free run number")
}

/// True for `kudo-diag_<namespace>_<instance>_YYYYMMDDTHHMMSSZ[-N].zip` of this instance (the
/// time part checked exactly, so instance `a` never matches the bundles of an instance `a_b`).
pub fn is_bundle_of(name: &str, namespace: &str, instance: &str) -> bool {
    run_order(name, namespace, instance).is_some()
}

/// Where a bundle of this instance stands among its runs: its UTC time stamp and, for a run
/// started in the same second as an earlier one, its number N (`-N`; 1 without a suffix).
/// Names do not sort as text once a `-N` is there (`Z-2.zip` < `Z.zip`), so order by this.
pub fn run_order<'a>(name: &'a str, namespace: &str, instance: &str) -> Option<(&'a str, u32)> {
    let rest = name.strip_prefix(&format!("kudo-diag_{namespace}_{instance}_"))?;
    let rest = rest.strip_suffix(".zip")?;
    let (stamp, n) = match rest.split_once('-') {
        Some((stamp, n)) if !n.starts_with('0') && n.bytes().all(|c| c.is_ascii_digit()) => {
            (stamp, n.parse::<u32>().ok().filter(|n| *n >= 2)?)
        }
        Some(_) => return None,
        None => (rest, 1),
    };
    let b = stamp.as_bytes();
    let ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit);
    ok.then_some((stamp, n))
}

/// The finished bundles of the instance in `dir` (no `.partial` folder beside them), oldest
/// first.
pub fn finished_bundles(
    dir: &Path,
    namespace: &str,
    instance: &str,
) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| is_bundle_of(n, namespace, instance))
                && !partial_dir(p).exists()
        })
        .collect();
    out.sort_by_cached_key(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        run_order(name, namespace, instance).map(|(t, n)| (t.to_string(), n))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_never_collide_within_a_second() {
        let d = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let p = default_bundle_path(d.path(), "prod", "cass");
            assert!(!seen.contains(&p), "{p:?} given twice");
            // A finished bundle and an unfinished collection both hold their name.
            if seen.len() == 1 {
                std::fs::create_dir(partial_dir(&p)).unwrap();
            } else {
                std::fs::write(&p, b"").unwrap();
            }
            seen.push(p);
        }
        // The runs may straddle a second; each name is a bundle name retention knows.
        for p in &seen {
            let name = p.file_name().unwrap().to_str().unwrap();
            assert!(is_bundle_of(name, "prod", "cass"), "{name}");
        }
    }
}
