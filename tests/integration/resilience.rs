//! Issue 4 item 8 through the real binary against the simulated cluster, with the cluster
//! collection of the built-in scenarios (not synthetic tasks): every fault at once (b), a pod
//! that vanishes mid-collection (c), Forbidden on secrets (d), Ctrl-C then `--continue` (e), and
//! a planted secret value in a Secret, an env var, a log line and a command's output (f).
//! (a), SIGKILL at random points, is `run::sigkill_at_random_points_then_continue_gives_the_uninterrupted_bundle`.

use std::path::Path;
use std::time::Instant;

use kudo_diag::sim::scenario::{AccessRule, ExecHandler, ExecMatch, FaultConfig, LogSource};
use kudo_diag::sim::scenarios;
use serde_json::Value;

use crate::run::{entries, kudo_diag, manifest_files, start, PLANTED};
use crate::support::{differing, stderr, Sim};

/// The arguments of a collection of the built-in cassandra scenario's instance into `out`.
fn cassandra_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "run",
        "--instance",
        "analytics-cassandra",
        "--bundle",
        out,
        "--progress",
        "none",
    ];
    a.extend_from_slice(extra);
    a
}

/// Lines of the bundle's own log that say a node is being retried.
fn retries(zip: &Path) -> Vec<String> {
    let e = entries(zip);
    let log = String::from_utf8_lossy(&e["kudo-diag/collection.log"]).into_owned();
    log.lines()
        .filter(|l| l.contains("retrying "))
        .map(str::to_string)
        .collect()
}

/// Issue 4 item 8 (b): latency with jitter, 5% 500/503s, 429s with Retry-After and connections
/// dropped in the middle of the body, all at once: the collection still exits 0 with exactly
/// the artifacts (paths and hashes) of a fault-free collection of the same scenario.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_at_once_still_gives_the_fault_free_bundle() {
    let faults = FaultConfig {
        seed: 4,
        latency_ms: 5,
        jitter_ms: 20,
        error_rate: 0.05,
        throttle_rate: 0.05,
        retry_after_seconds: 1,
        reset_rate: 0.05,
        ..FaultConfig::default()
    };
    // One server for both runs: its logs and timestamps are anchored at its start, so the two
    // bundles can be compared hash for hash. The faults are off for the first run.
    let (sim, dir, kc) = Sim::builtin("cassandra").faults(faults).cluster().await;

    sim.state().faults.set_enabled(false);
    let started = Instant::now();
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("clean.zip", &[])).await;
    let clean_time = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let clean_requests = sim.state().metrics.snapshot().requests;
    let want = manifest_files(&dir.path().join("clean.zip"));

    sim.state().faults.set_enabled(true);
    let started = Instant::now();
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("faulty.zip", &[])).await;
    let faulty_time = started.elapsed();
    let faulty_requests = sim.state().metrics.snapshot().requests - clean_requests;
    let zip = dir.path().join("faulty.zip");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        stderr(&o),
        String::from_utf8_lossy(
            entries(&zip)
                .get("errors.json")
                .map(Vec::as_slice)
                .unwrap_or_default()
        )
    );
    let got = manifest_files(&zip);
    let missing: Vec<&String> = want.keys().filter(|p| !got.contains_key(*p)).collect();
    let extra: Vec<&String> = got.keys().filter(|p| !want.contains_key(*p)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    // Every artifact is deterministic for one server (the same objects, logs anchored at its
    // start), so every hash must match too: no log cut short by a reset, nothing twice.
    let differing = differing(&want, &got);
    if let Some(first) = differing.first() {
        let (a, b) = (entries(&dir.path().join("clean.zip")), entries(&zip));
        let (a, b) = (
            String::from_utf8_lossy(&a[*first]).into_owned(),
            String::from_utf8_lossy(&b[*first]).into_owned(),
        );
        let only = |x: &str, y: &str| -> Vec<String> {
            x.lines()
                .filter(|l| !y.contains(*l))
                .take(10)
                .map(str::to_string)
                .collect()
        };
        panic!(
            "these differ from the fault-free run: {differing:?}\n{first} fault-free only: {:#?}\nwith faults only: {:#?}",
            only(&a, &b),
            only(&b, &a)
        );
    }
    let retried = retries(&zip);
    let injected = sim.state().faults.injected();
    // With this seed every kind of fault hits; a run that met none tested nothing.
    assert!(
        injected.errors >= 2 && injected.throttles >= 1 && injected.resets >= 1,
        "the faults did not bite: {injected:?}"
    );
    // Each hit costs its node one more attempt (the run's own retries, and those of the
    // requests before the engine starts, which the log does not show).
    assert!(
        retried.len() >= 5,
        "only {} retries after {injected:?}",
        retried.len()
    );
    // 429 waits the server's Retry-After (1 s here), also for exec, whose upgrade error keeps
    // only the status code.
    for l in retried.iter().filter(|l| l.contains(": 429 ")) {
        assert!(
            l.contains(" in 1s: "),
            "429 retried before its Retry-After: {l}"
        );
    }
    eprintln!(
        "fault-free: {clean_time:?}, {clean_requests} requests; all faults: {faulty_time:?}, \
         {faulty_requests} requests, {injected:?}, {} retries in the log, {} artifacts identical",
        retried.len(),
        got.len()
    );
    sim.shutdown().await;
}

/// Issue 4 item 3 at scale: a generated 50-pod Cassandra instance collected with the pipeline
/// chosen from its operator (cassandra: nodetool and config files in every node) records no
/// failure at all, because the generator scripts every command that pipeline runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_fifty_pod_cassandra_collects_without_a_single_failure() {
    let sc = kudo_diag::sim::generate::generate(&kudo_diag::sim::generate::Spec {
        containers: 1,
        log_bytes: 2048,
        seed: 11,
        ..kudo_diag::sim::generate::Spec::new("cassandra", 50)
    });
    let (sim, dir, kc) = Sim::new(sc).cluster().await;
    let started = Instant::now();
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "scale-cassandra",
            "-n",
            kudo_diag::sim::generate::GENERATED_NAMESPACE,
            "--bundle",
            "scale.zip",
            "--progress",
            "none",
        ],
    )
    .await;
    let took = started.elapsed();
    let zip = dir.path().join("scale.zip");
    let e = entries(&zip);
    let errors: serde_json::Value = serde_json::from_slice(&e["errors.json"]).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}\n{errors:#}", stderr(&o));
    assert_eq!(
        errors,
        serde_json::json!([]),
        "no task may fail or be skipped"
    );
    let execs = sim.state().metrics.snapshot().execs;
    // 9 nodetool commands, 3 config files and 3 log files in each of the 50 nodes, nodetool
    // ring and nodetool version once.
    assert_eq!(execs, 50 * 15 + 2, "exec requests");
    let status =
        String::from_utf8_lossy(&e["apps/cassandra/scale-cassandra-node-49/nodetool-status.txt"])
            .into_owned();
    assert_eq!(status.lines().filter(|l| l.starts_with("UN  ")).count(), 50);
    eprintln!(
        "50 pods: {} entries, {execs} execs, no failure, in {took:?}",
        e.len()
    );
    sim.shutdown().await;
}

/// Issue 4 item 8 (e): Ctrl-C (SIGINT to the real binary) in the middle of a cluster
/// collection stops it with exit 130 and no bundle, and `--continue` finishes it with exactly
/// the artifacts of an uninterrupted collection, reusing what was done.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_then_continue_finishes_the_cluster_collection() {
    // Latency so that the collection is still running when the signal comes.
    let faults = FaultConfig {
        latency_ms: 40,
        ..FaultConfig::default()
    };
    let (sim, dir, kc) = Sim::builtin("cassandra").faults(faults).cluster().await;
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("ref.zip", &[])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let want = manifest_files(&dir.path().join("ref.zip"));

    let (cwd, kc2) = (dir.path().to_path_buf(), kc.clone());
    let o = tokio::task::spawn_blocking(move || {
        let child = crate::support::bin()
            .args(cassandra_args("int.zip", &["--concurrency", "2"]))
            .current_dir(&cwd)
            .env("KUBECONFIG", &kc2)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let status = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--continue"),
        "says how to continue: {}",
        stderr(&o)
    );
    assert!(!dir.path().join("int.zip").exists());

    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &cassandra_args("int.zip", &["--concurrency", "2", "--continue"]),
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let log =
        String::from_utf8_lossy(&entries(&dir.path().join("int.zip"))["kudo-diag/collection.log"])
            .into_owned();
    assert!(
        log.contains("reused "),
        "the continued run reused nothing:\n{log}"
    );
    assert_eq!(manifest_files(&dir.path().join("int.zip")), want);
    sim.shutdown().await;
}

/// Issue 4 item 8 (d): the collector's user may not read Secrets. The denial is recorded with
/// the API's Forbidden in errors.json, and everything else is collected as without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_secrets_are_recorded_and_the_rest_is_collected() {
    let (sim, dir, kc) = Sim::builtin("cassandra").cluster().await;
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("all.zip", &[])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let all = manifest_files(&dir.path().join("all.zip"));
    sim.shutdown().await;

    let mut sc = scenarios::load("cassandra").unwrap();
    sc.permissions.deny.push(AccessRule {
        verbs: vec!["get".into(), "list".into(), "watch".into()],
        resources: vec!["secrets".into()],
        namespaces: Vec::new(),
        api_groups: vec![String::new()],
    });
    let sim = start(sc, None).await;
    sim.write_kubeconfig(&kc).unwrap();
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("denied.zip", &[])).await;
    let zip = dir.path().join("denied.zip");
    let e = entries(&zip);
    let errors: Value = serde_json::from_slice(&e["errors.json"]).unwrap();
    // Two records, both with the API's Forbidden: the optional `secrets` task, and the
    // operator's redaction (redactSecrets) that could not learn the Secret values, which is
    // required (values it would redact may now reach the bundle) and makes the exit code 3.
    assert_eq!(o.status.code(), Some(3), "{}\n{errors:#}", stderr(&o));
    let failed: Vec<(&str, bool, &str)> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["node"].as_str().unwrap(),
                f["optional"].as_bool().unwrap(),
                f["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(failed.len(), 2, "{errors:#}");
    let secrets = failed
        .iter()
        .find(|f| f.0 == "secrets")
        .expect("secrets recorded");
    assert!(secrets.1, "the secrets task is optional");
    assert!(
        secrets.2.contains("403") && secrets.2.contains("forbidden"),
        "the API's Forbidden: {}",
        secrets.2
    );
    let redaction = failed.iter().find(|f| f.0 != "secrets").unwrap();
    assert!(
        redaction.2.contains("redactSecrets") && redaction.2.contains("forbidden"),
        "{}",
        redaction.2
    );
    // Not being able to read Secrets also means their values cannot be looked for elsewhere:
    // the user is told.
    assert!(stderr(&o).contains("Secrets"), "{}", stderr(&o));
    let got = manifest_files(&zip);
    let missing: Vec<&String> = all.keys().filter(|p| !got.contains_key(*p)).collect();
    assert_eq!(
        missing,
        ["workload/secrets.yaml"],
        "only the Secrets are missing"
    );
    sim.shutdown().await;
}

/// Issue 4 item 8 (f): a planted value in a Secret (and so its base64), in a container's env, in
/// a log line and in a command's output appears in no entry of the bundle, checked on the
/// uncompressed bytes of every entry; redactions.json shows each place was redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_secret_is_in_no_entry_of_the_bundle() {
    use base64::Engine as _;
    let mut sc = scenarios::load("cassandra").unwrap();
    // The Secret of the built-in scenario holds PLANTED already.
    let secret_holds_it = sc.objects.iter().any(|o| {
        o["kind"] == "Secret"
            && o["data"].as_object().is_some_and(|d| {
                d.values().any(|v| {
                    v.as_str()
                        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                        == Some(PLANTED.as_bytes().to_vec())
                })
            })
    });
    assert!(
        secret_holds_it,
        "the scenario's Secret no longer holds the planted value"
    );
    // An env var of node-0's cassandra container.
    let pod = sc
        .objects
        .iter_mut()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == "analytics-cassandra-node-0")
        .unwrap();
    let c = pod["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == "cassandra")
        .unwrap();
    if !c["env"].is_array() {
        c["env"] = serde_json::json!([]);
    }
    c["env"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "APP_SETTING", "value": PLANTED}));
    // A log line of node-1's cassandra container.
    let log = sc
        .logs
        .iter_mut()
        .find(|l| {
            l.pod == "analytics-cassandra-node-1" && l.container == "cassandra" && !l.previous
        })
        .unwrap();
    log.source = LogSource::Inline(format!(
        "INFO  [main] 2026-11-27 08:05:00,000 Server.java:42 - starting\nINFO  [main] 2026-11-27 08:05:01,000 Auth.java:7 - connected with {PLANTED}\n"
    ));
    // A command's output in node-2.
    sc.exec.insert(
        0,
        ExecHandler {
            pod: Some("analytics-cassandra-node-2".into()),
            container: Some("cassandra".into()),
            matcher: ExecMatch::Regex(r"(^|[ /])nodetool( \S+)* tpstats$".into()),
            stdout: format!("Pool Name  Active\nReadStage  0\n# dumped config: {PLANTED}\n"),
            stderr: String::new(),
            exit_code: 0,
        },
    );
    let (sim, dir, kc) = Sim::new(sc).cluster().await;
    let o = kudo_diag(dir.path(), Some(&kc), &cassandra_args("b.zip", &[])).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = entries(&dir.path().join("b.zip"));
    let b64 = base64::engine::general_purpose::STANDARD.encode(PLANTED);
    let needles = [PLANTED.as_bytes(), b64.as_bytes()];
    for (path, bytes) in &e {
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n),
                "{path} holds the planted secret {}",
                String::from_utf8_lossy(n)
            );
        }
    }
    // Each place it was planted reached the bundle, redacted (so the test can fail).
    let redactions: Value = serde_json::from_slice(&e["redactions.json"]).unwrap();
    let redacted: Vec<&str> = redactions["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    for path in [
        "pods/analytics-cassandra-node-1/logs/cassandra.log",
        "apps/cassandra/analytics-cassandra-node-2/nodetool-tpstats.txt",
        "pods/analytics-cassandra-node-0/pod.yaml",
    ] {
        assert!(e.contains_key(path), "no {path}");
        assert!(
            redacted.contains(&path),
            "{path} not in redactions.json: {redacted:?}"
        );
    }
    sim.shutdown().await;
}

/// Issue 4 item 8 (c): a pod that disappears in the middle of the collection, after the
/// engine listed it (its pod.yaml is in the bundle) and before its logs and commands ran.
/// Everything else is collected; its logs and commands are recorded as failed in errors.json
/// with the API's 404, and the run exits 3 (bundle written, some tasks failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_vanishing_mid_collection_fails_only_its_own_tasks_with_exit_3() {
    let (sim, dir, kc) = Sim::builtin("cassandra").cluster().await;
    let args = |out| cassandra_args(out, &["--concurrency", "1"]);
    let o = kudo_diag(dir.path(), Some(&kc), &args("all.zip")).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let all = manifest_files(&dir.path().join("all.zip"));
    sim.shutdown().await;

    let gone = "analytics-cassandra-node-1";
    let faults = FaultConfig {
        vanish_pods: vec![gone.into()],
        // Returned by the redaction's look at the pods before the engine starts and by the
        // engine's first two lists (one task at a time): gone after them.
        vanish_after_lists: Some(3),
        ..FaultConfig::default()
    };
    let sim = start(scenarios::load("cassandra").unwrap(), Some(faults)).await;
    sim.write_kubeconfig(&kc).unwrap();
    let o = kudo_diag(dir.path(), Some(&kc), &args("v.zip")).await;
    let zip = dir.path().join("v.zip");
    let e = entries(&zip);
    let errors: Value = serde_json::from_slice(&e["errors.json"]).unwrap();
    assert_eq!(o.status.code(), Some(3), "{}\n{errors:#}", stderr(&o));
    let failed = errors.as_array().unwrap();
    assert!(!failed.is_empty(), "{errors:#}");
    for f in failed {
        let text = f.to_string();
        assert!(
            text.contains(gone),
            "only the vanished pod's tasks fail: {f:#}"
        );
        assert!(text.contains("deleted during the collection"), "{f:#}");
        assert!(text.contains("404"), "the API's error: {f:#}");
    }
    let got = manifest_files(&zip);
    let missing: Vec<&String> = all.keys().filter(|p| !got.contains_key(*p)).collect();
    assert!(
        got.contains_key(&format!("pods/{gone}/pod.yaml")),
        "the pod vanished before the engine listed it: {missing:#?}"
    );
    assert!(
        missing.contains(&&format!("pods/{gone}/logs/cassandra.log")),
        "the pod did not vanish before its logs were read: {missing:#?}"
    );
    assert!(
        missing.iter().all(|p| p.contains(gone)),
        "only the vanished pod's artifacts may be missing: {missing:#?}"
    );
    assert!(got.keys().all(|p| all.contains_key(p)), "nothing new");
    sim.shutdown().await;
}

/// Issue 4 item 3 for the other generated kinds: generated Kafka and ZooKeeper instances are
/// named and labelled like the real operators' (`INSTANCE-kafka-N`, `app: kafka`), so their
/// pipelines find the pods, and every command those pipelines run is scripted: no failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_kafka_and_zookeeper_collect_without_a_failure() {
    for app in ["kafka", "zookeeper"] {
        let (sim, dir, kc) = Sim::new(kudo_diag::sim::generate::generate(
            &kudo_diag::sim::generate::Spec {
                containers: 1,
                log_bytes: 1024,
                seed: 5,
                ..kudo_diag::sim::generate::Spec::new(app, 4)
            },
        ))
        .cluster()
        .await;
        let instance = format!("scale-{app}");
        let o = kudo_diag(
            dir.path(),
            Some(&kc),
            &[
                "run",
                "--instance",
                &instance,
                "-n",
                kudo_diag::sim::generate::GENERATED_NAMESPACE,
                "--bundle",
                "b.zip",
                "--progress",
                "none",
            ],
        )
        .await;
        let e = entries(&dir.path().join("b.zip"));
        let errors: Value = serde_json::from_slice(&e["errors.json"]).unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{app}: {}\n{errors:#}",
            stderr(&o)
        );
        if app == "zookeeper" {
            // The operator's whitelist refuses stat, mntr and conf on every server: refusals,
            // with the fix, and nothing else.
            let errors = errors.as_array().unwrap();
            assert_eq!(errors.len(), 3 * 4, "{errors:#?}");
            for e in errors {
                assert!(
                    e["reason"].as_str().unwrap().starts_with("refused: ")
                        && ["zk-stat", "zk-mntr", "zk-conf"].contains(&e["task"].as_str().unwrap()),
                    "{e}"
                );
            }
        } else {
            assert_eq!(errors, serde_json::json!([]), "{app}");
        }
        let app_files = e
            .keys()
            .filter(|k| k.starts_with(&format!("apps/{app}/")))
            .count();
        // kafka: 5 cluster-wide tools + server.properties and 3 log files of 4 brokers;
        // zookeeper: srvr (the other words are refused), zoo.cfg and zookeeper.log of 4 servers.
        let want = if app == "kafka" { 5 + 4 * 4 } else { 3 * 4 };
        assert_eq!(
            app_files,
            want,
            "{app}: {:#?}",
            e.keys().collect::<Vec<_>>()
        );
        sim.shutdown().await;
    }
}
