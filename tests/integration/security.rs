//! Secure by construction: what a hostile or careless input can make kudo-diag write or do.
//! Every file the tool writes goes through the collection's redactor (not only artifacts), and
//! the markers in a bundle are what redactions.json counts.

use std::path::Path;

use base64::Engine as _;
use kudo_diag::sim::scenario::LogSource;
use kudo_diag::sim::scenarios;
use serde_json::Value;

use crate::run::{entries, kudo_diag, PLANTED};
use crate::support::{stderr, stdout, Sim};

/// A URL password that no Secret holds: only the `url-credentials` rule can catch it.
const URL_PASSWORD: &str = "Ur1Passw0rdZ9q";

/// The middle line of the KUDO webhook's private key, a Secret of KUDO's namespace (not the
/// instance's), in the built-in scenarios.
const WEBHOOK_KEY_LINE: &str = "kudo-diag-planted-webhook-key";

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
        serde_json::from_value(
            serde_json::to_value(serde_json::json!({
                "container": "cassandra",
                "regex": "nodetool( \\S+)* tpstats$",
                "stderr": stderr_text,
                "exitCode": 1,
            }))
            .unwrap(),
        )
        .unwrap(),
    );
    // The KUDO manager logs a line of its webhook's key: a multi-line value of a Secret in
    // KUDO's namespace, whose logs the collection reads.
    let manager = sc
        .logs
        .iter_mut()
        .find(|l| l.pod.starts_with("kudo-controller-manager"))
        .expect("the scenario runs the KUDO manager");
    manager.source = LogSource::Inline(format!(
        "2026-11-27T08:00:00Z webhook: serving with key {WEBHOOK_KEY_LINE}\n\
         2026-11-27T08:00:01Z reconciling instance analytics-cassandra\n"
    ));
    let (sim, dir, kc) = Sim::new(sc).cluster().await;
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "analytics-cassandra",
            "--bundle",
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
    let manager_log = bundle
        .iter()
        .find(|(p, _)| p.contains("kudo-controller-manager") && p.ends_with(".log"))
        .map(|(_, b)| String::from_utf8_lossy(b).to_string())
        .expect("the manager's log is collected");
    assert!(
        manager_log.contains("serving with key **REDACTED**")
            && manager_log.contains("reconciling instance analytics-cassandra"),
        "{manager_log}"
    );
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
    for secret in forms(&[PLANTED, URL_PASSWORD, WEBHOOK_KEY_LINE]) {
        for (path, bytes) in &places {
            assert!(!find(bytes, &secret), "{path} holds {secret:?}");
        }
    }
}

/// Issue 14 item 2: redactions.json counts every marker of the bundle, per file, including the
/// tool's own files and objects redacted before they were written (Secret data); every YAML
/// and JSON file of the bundle still parses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redactions_json_counts_every_marker_in_the_bundle() {
    let (sim, dir, kc) = Sim::new(scenarios::load("cassandra").unwrap())
        .cluster()
        .await;
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "analytics-cassandra",
            "--bundle",
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
    // Redaction left every structured file valid.
    for (path, bytes) in &bundle {
        if path.ends_with(".json") {
            serde_json::from_slice::<Value>(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        } else if path.ends_with(".yaml") || path.ends_with(".yml") {
            let text = String::from_utf8_lossy(bytes);
            kudo_diag::yaml::from_multiple::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
        }
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

/// Issue 14 item 4: pods with names no Kubernetes API server accepts (only a hostile one sends
/// them) cost only their own artifacts: every healthy pod's object and logs are collected, and
/// the hostile pods' nodes are failed with a reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_object_names_cost_only_their_own_artifacts() {
    let mut sc = scenarios::load("cassandra").unwrap();
    let pod = sc
        .objects
        .iter()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == "analytics-cassandra-node-0")
        .unwrap()
        .clone();
    for name in ["..", "/abs", "a/../.."] {
        let mut p = pod.clone();
        p["metadata"]["name"] = Value::from(name);
        p["metadata"]["uid"] = Value::from(format!("hostile-{}", name.len()));
        sc.objects.push(p);
    }
    let (sim, dir, kc) = Sim::new(sc).cluster().await;
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "analytics-cassandra",
            "--bundle",
            "b.zip",
            "--progress",
            "none",
        ],
    )
    .await;
    sim.shutdown().await;
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
    let bundle = entries(&dir.path().join("b.zip"));
    for i in 0..3 {
        let pod = format!("analytics-cassandra-node-{i}");
        assert!(
            bundle.contains_key(&format!("pods/{pod}/pod.yaml")),
            "no object of {pod}"
        );
        assert!(
            bundle.contains_key(&format!("pods/{pod}/logs/cassandra.log")),
            "no log of {pod}"
        );
    }
    // Nothing escaped the bundle's folders.
    for path in bundle.keys() {
        assert!(
            !path.starts_with('/') && !path.split('/').any(|s| s == ".." || s.is_empty()),
            "{path}"
        );
    }
    let errors: Value = serde_json::from_slice(&bundle["errors.json"]).unwrap();
    let failed: Vec<&Value> = errors
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "{errors:#}");
    for e in &failed {
        assert!(
            ["..", "/abs", "a/../.."]
                .iter()
                .any(|n| e["node"].as_str().unwrap().contains(n)),
            "a healthy node failed: {e}"
        );
    }
    // The list task itself finished: no `pods` entry among the failures.
    assert!(failed.iter().all(|e| e["task"] != "pods"), "{errors:#}");
}

/// Issue 14 item 8: a client that connects and sends nothing, or half a request, is dropped
/// after the documented timeout instead of holding its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_open_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = Sim::builtin("cassandra").start().await;
    let limit = kudo_diag::sim::server::IDLE_HEADER_TIMEOUT + std::time::Duration::from_secs(5);
    let started = std::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    // Half a TLS client hello: the handshake never completes.
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();
    for conn in [&mut silent, &mut half] {
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(limit, async {
            loop {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the connection is still open");
    }
    assert!(started.elapsed() < limit);
    sim.shutdown().await;
}

/// Issue 14 item 6: whole collections against the simulated cluster, each killed (SIGKILL) at
/// random instants spread over a whole run, the end included (archiving, the rename, the
/// removal of the partial folder), and continued until one attempt exits by itself. Every
/// collection ends with exactly the artifacts of an uninterrupted run, and a last `--continue`
/// says `already complete`. `KUDO_DIAG_KILL_LOOP=N` runs N collections (docs/journal.md has
/// the numbers of a long run); CI runs 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_across_whole_collections_never_lose_or_redo_a_finished_bundle() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let collections: usize = std::env::var("KUDO_DIAG_KILL_LOOP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let (sim, dir, kc) = Sim::new(scenarios::load("cassandra").unwrap())
        .cluster()
        .await;
    let args = |out: &str| -> Vec<String> {
        [
            "run",
            "--instance",
            "analytics-cassandra",
            "--bundle",
            out,
            "--progress",
            "none",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // The reference, then a second uninterrupted run to time a warm one: kills are spread over
    // that.
    let mut full = Duration::MAX;
    for name in ["ref.zip", "warm.zip"] {
        let a = args(name);
        let started = Instant::now();
        let o = kudo_diag(
            dir.path(),
            Some(&kc),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        full = full.min(started.elapsed());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let want = crate::run::manifest_files(&dir.path().join("ref.zip"));

    let mut rng: u64 = std::env::var("KUDO_DIAG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    eprintln!("kill seed {rng} (KUDO_DIAG_CRASH_SEED to repeat), uninterrupted run {full:?}");
    let (mut kills, mut kills_after_bundle) = (0u32, 0u32);
    for c in 0..collections {
        let name = format!("k{c}.zip");
        let out = dir.path().join(&name);
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts < 200, "collection {c} never finished");
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Half anywhere in a run, half in its last fifth and a little past its end, where
            // the bundle is archived, renamed and the partial folder removed.
            let us = full.as_micros() as u64;
            let delay = Duration::from_micros(if rng.is_multiple_of(2) {
                rng % (us * 11 / 10 + 1)
            } else {
                us * 4 / 5 + rng % (us * 3 / 10 + 1)
            });
            let mut a = args(&name);
            a.push("--continue".into());
            let (kc2, cwd, out2) = (kc.clone(), dir.path().to_path_buf(), out.clone());
            let ended = tokio::task::spawn_blocking(move || {
                let mut child = crate::support::bin()
                    .args(&a)
                    .current_dir(&cwd)
                    .env("KUBECONFIG", &kc2)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let deadline = Instant::now() + delay;
                while Instant::now() < deadline {
                    if let Some(status) = child.try_wait().unwrap() {
                        return (Some(status), false);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                let _ = child.kill();
                let _ = child.wait();
                (None, out2.exists())
            })
            .await
            .unwrap();
            match ended {
                (Some(status), _) => {
                    assert!(
                        status.success(),
                        "collection {c} attempt {attempts}: {status}"
                    );
                    break;
                }
                (None, after_bundle) => {
                    kills += 1;
                    kills_after_bundle += u32::from(after_bundle);
                }
            }
        }
        let got = crate::run::manifest_files(&out);
        assert_eq!(
            got, want,
            "collection {c} differs after {attempts} attempts"
        );
        let mut a = args(&name);
        a.push("--continue".into());
        let again = kudo_diag(
            dir.path(),
            Some(&kc),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
        assert!(
            stdout(&again).contains("already complete")
                || stderr(&again).contains("already complete"),
            "{}{}",
            stdout(&again),
            stderr(&again)
        );
        assert!(
            !crate::run::partial_exists(dir.path()),
            "a partial folder is left"
        );
    }
    eprintln!(
        "{collections} collections, {kills} kills ({kills_after_bundle} after the bundle existed), every artifact identical to the uninterrupted run"
    );
    sim.shutdown().await;
}

#[test]
fn an_upload_error_never_shows_the_endpoints_password() {
    // An endpoint with credentials in its URL, where nothing listens: the store's error quotes
    // the URL it tried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.zip"),
        b"not a bundle, only bytes to send",
    )
    .unwrap();
    let endpoint = format!("http://AKIAUSER:Sup3rSecretPw@127.0.0.1:{port}/");
    let o = crate::support::bin()
        .current_dir(dir.path())
        .args(["bundle", "upload", "b.zip", "s3://bucket-x/pre"])
        .args(["--s3-endpoint", &endpoint, "--s3-region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "a")
        .env("AWS_SECRET_ACCESS_KEY", "b")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("Sup3rSecretPw"), "{err}");
    assert!(!stdout(&o).contains("Sup3rSecretPw"));
}
