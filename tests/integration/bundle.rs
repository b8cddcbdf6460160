//! `kudo-diag bundle verify|ls|cat` on bundles written by the library: a good one, and tampered
//! copies of it.

use std::io::Write;
use std::path::{Path, PathBuf};

use kudo_diag::bundle::sink::ArtifactStore;
use kudo_diag::bundle::writer::{write_bundle, BundleMeta, BUNDLE_FORMAT_VERSION};

use crate::support::{run_in, stderr, stdout};

fn good_bundle(dir: &Path) -> PathBuf {
    let store = ArtifactStore::open(&dir.join("partial")).unwrap();
    let mut arts = Vec::new();
    for (node, path, content) in [
        ("pods", "pods/cassandra-0/pod.yaml", &b"kind: Pod\n"[..]),
        ("logs", "pods/cassandra-0/logs/cassandra.log", b"INFO ok\n"),
        ("instance", "instance.yaml", b"kind: Instance\n"),
    ] {
        arts.push((
            node.to_string(),
            store.node_sink(node).put(path, content).unwrap(),
        ));
    }
    let meta = BundleMeta {
        format_version: BUNDLE_FORMAT_VERSION,
        tool: "kudo-diag".into(),
        ..BundleMeta::default()
    };
    let dest = dir.join("good.zip");
    write_bundle(&store, &arts, &[], None, &meta, &dest).unwrap();
    dest
}

/// A copy of `src` with `path`'s content replaced (same name, a valid zip entry, stale hash).
fn with_replaced(src: &Path, path: &str, content: &[u8], dest: &Path) {
    let mut a = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    for i in 0..a.len() {
        let f = a.by_index_raw(i).unwrap();
        if f.name().unwrap() == path {
            drop(f);
            w.start_file(path, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(content).unwrap();
        } else {
            w.raw_copy_file(f).unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn verify_passes_on_a_good_bundle() {
    let d = tempfile::tempdir().unwrap();
    let b = good_bundle(d.path());
    let o = run_in(d.path(), &["bundle", "verify", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok, 5 files"), "{}", stdout(&o));
}

#[test]
fn verify_fails_listing_every_problem_on_a_tampered_bundle() {
    let d = tempfile::tempdir().unwrap();
    let b = good_bundle(d.path());
    let t = d.path().join("tampered.zip");
    with_replaced(
        &b,
        "pods/cassandra-0/logs/cassandra.log",
        b"INFO fine, really\n",
        &t,
    );
    let t2 = d.path().join("tampered2.zip");
    with_replaced(&t, "instance.yaml", b"kind: Other\n", &t2);
    let o = run_in(d.path(), &["bundle", "verify", t2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("mismatch: instance.yaml"), "{out}");
    assert!(
        out.contains("mismatch: pods/cassandra-0/logs/cassandra.log"),
        "{out}"
    );
    assert!(
        stderr(&o).contains("failed verification: 2 problem(s)"),
        "{}",
        stderr(&o)
    );

    let o = run_in(
        d.path(),
        &["bundle", "verify", "-o", "json", t2.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    let rep: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(rep["mismatches"].as_array().unwrap().len(), 2);
}

#[test]
fn verify_rejects_a_truncated_bundle_with_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let b = good_bundle(d.path());
    let bytes = std::fs::read(&b).unwrap();
    std::fs::write(&b, &bytes[..bytes.len() - 40]).unwrap();
    let o = run_in(d.path(), &["bundle", "verify", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not a readable zip"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ls_and_cat_show_the_contents() {
    let d = tempfile::tempdir().unwrap();
    let b = good_bundle(d.path());
    let o = run_in(d.path(), &["bundle", "ls", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.contains("logs") && l.ends_with("pods/cassandra-0/logs/cassandra.log")),
        "{out}"
    );
    let o = run_in(
        d.path(),
        &["bundle", "ls", "-o", "json", b.to_str().unwrap()],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    let pod = rows
        .iter()
        .find(|r| r["path"] == "pods/cassandra-0/pod.yaml")
        .unwrap();
    assert_eq!(
        (pod["bytes"].as_u64(), pod["task"].as_str()),
        (Some(10), Some("pods"))
    );
    let o = run_in(
        d.path(),
        &["bundle", "cat", b.to_str().unwrap(), "instance.yaml"],
    );
    assert_eq!(stdout(&o), "kind: Instance\n");
    let o = run_in(d.path(), &["bundle", "cat", b.to_str().unwrap(), "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("has no file \"nope\""),
        "{}",
        stderr(&o)
    );
}
