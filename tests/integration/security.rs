//! Secure by construction: what a hostile or careless input can make kudo-diag write or do.
//! Every file the tool writes goes through the collection's redactor (not only artifacts), and
//! the markers in a bundle are what redactions.json counts.

use std::path::Path;

use base64::Engine as _;
use kudo_diag::sim::scenarios;
use serde_json::Value;

use crate::run::{entries, kudo_diag, start, PLANTED};
use crate::support::{stderr, stdout};

/// A URL password that no Secret holds: only the `url-credentials` rule can catch it.
const URL_PASSWORD: &str = "Ur1Passw0rdZ9q";

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

fn find(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Each secret as it may be written: in clear and in base64 (padded and not).
fn forms(secrets: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    for s in secrets {
        v.push(s.to_string());
        v.push(base64::engine::general_purpose::STANDARD.encode(s));
        v.push(base64::engine::general_purpose::STANDARD_NO_PAD.encode(s));
    }
    v
}

/// Issue 14 item 1: a command that fails with a Secret's value and a URL password on its stderr.
/// The failure message reaches errors.json, the collection log, the journal, the progress lines
/// and the summary; the stderr itself is an artifact. The secrets are found nowhere: not in any
/// file of the bundle, the kept partial folder (journal included), stdout or stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_on_a_failing_commands_stderr_is_written_nowhere() {
    let mut sc = scenarios::load("cassandra").unwrap();
    let stderr_text = format!(
        "error: cannot connect to cassandra://cassandra:{URL_PASSWORD}@10.0.0.9:9042 \
         (login with {PLANTED} refused)\n"
    );
    sc.exec.insert(
        0,
        serde_yaml::from_value(serde_yaml::to_value(serde_json::json!({
            "container": "cassandra",
            "regex": "nodetool( \\S+)* tpstats$",
            "stderr": stderr_text,
            "exitCode": 1,
        }))
        .unwrap())
        .unwrap(),
    );
    let sim = start(sc, None).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kc).unwrap();
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "analytics-cassandra",
            "-o",
            "b.zip",
            "--keep-partial",
            "--progress",
            "plain",
        ],
    )
    .await;
    sim.shutdown().await;
    // The failed commands make a partial bundle.
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let bundle = entries(&dir.path().join("b.zip"));
    let errors = String::from_utf8_lossy(&bundle["errors.json"]).to_string();
    assert!(
        errors.contains("tpstats") && errors.contains("**REDACTED**"),
        "the failure is reported, redacted: {errors}"
    );
    let mut places: Vec<(String, Vec<u8>)> = bundle.into_iter().collect();
    places.extend(files_under(&dir.path().join("b.zip.partial")));
    places.push(("stdout".into(), o.stdout.clone()));
    places.push(("stderr".into(), o.stderr.clone()));
    assert!(places.iter().any(|(p, _)| p.ends_with("collection.log")));
    assert!(places.iter().any(|(p, _)| p.contains("journal")));
    assert!(
        stderr(&o).contains("tpstats") || stdout(&o).contains("tpstats"),
        "the terminal names the failed command"
    );
    for secret in forms(&[PLANTED, URL_PASSWORD]) {
        for (path, bytes) in &places {
            assert!(!find(bytes, &secret), "{path} holds {secret:?}");
        }
    }
}

/// Issue 14 item 2: redactions.json counts every marker of the bundle, per file, including the
/// tool's own files and objects redacted before they were written (Secret data).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redactions_json_counts_every_marker_in_the_bundle() {
    let sim = start(scenarios::load("cassandra").unwrap(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kc).unwrap();
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "analytics-cassandra",
            "-o",
            "b.zip",
            "--progress",
            "none",
        ],
    )
    .await;
    sim.shutdown().await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bundle = entries(&dir.path().join("b.zip"));
    let report: Value = serde_json::from_slice(&bundle["redactions.json"]).unwrap();
    let mut reported = std::collections::BTreeMap::new();
    for f in report["files"].as_array().unwrap() {
        let rules: u64 = f["rules"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(f["total"].as_u64(), Some(rules), "{f}");
        reported.insert(f["path"].as_str().unwrap().to_string(), rules);
    }
    let mut found = std::collections::BTreeMap::new();
    for (path, bytes) in &bundle {
        let n = bytes
            .windows("**REDACTED**".len())
            .filter(|w| *w == b"**REDACTED**")
            .count() as u64;
        if n > 0 {
            found.insert(path.clone(), n);
        }
    }
    assert!(found.len() >= 2, "{found:?}");
    assert_eq!(reported, found);
    let total: u64 = found.values().sum();
    assert_eq!(report["total"].as_u64(), Some(total));
}
