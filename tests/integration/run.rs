//! `kudo-diag run` and `kudo-diag demo` through the real binary against the simulated cluster,
//! as a user runs them: target errors that name the fix and leave nothing behind, a complete
//! collection with the operator's pipeline chosen automatically, no secret in clear, and a
//! collection killed at random points that `--continue` finishes with the same artifacts.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use kudo_diag::sim::scenario::{FaultConfig, Scenario};
use kudo_diag::sim::{scenarios, SimHandle};
use serde_json::Value;

pub(crate) use crate::support::kudo_diag;
use crate::support::{bin, crash_seed, differing, stderr, stdout, Sim};

/// The password the built-in cassandra scenario plants in its Secret.
pub(crate) const PLANTED: &str = "kudo-diag-planted-secret-4242";

pub(crate) async fn start(sc: Scenario, faults: Option<FaultConfig>) -> SimHandle {
    Sim::new(sc).maybe_faults(faults).start().await
}

pub(crate) fn zips(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    v.sort();
    v
}

/// Every entry of a bundle, uncompressed.
pub(crate) fn entries(zip: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..a.len() {
        let mut f = a.by_index(i).unwrap();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.insert(f.name().unwrap().to_string(), buf);
    }
    out
}

/// (path, blake3) of every artifact the manifest lists.
pub(crate) fn manifest_files(zip: &Path) -> BTreeMap<String, String> {
    let e = entries(zip);
    let m: Value = serde_json::from_slice(&e["manifest.json"]).unwrap();
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["blake3"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_pipeline_needs_an_instance() {
    let dir = tempfile::tempdir().unwrap();
    let o = kudo_diag(
        dir.path(),
        None,
        &["run", "--pipeline", "kudo", "--bundle", "x.zip"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("pass --instance NAME"),
        "{}",
        stderr(&o)
    );
    assert!(zips(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_server_fails_fast_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context: {{cluster: c, user: u, namespace: prod}}\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let started = Instant::now();
    let o = kudo_diag(
        &out,
        Some(&kc),
        &["run", "--instance", "cassandra", "--request-timeout", "3s"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(20));
    let err = stderr(&o);
    assert!(
        err.contains("cannot reach the Kubernetes API server"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "left files behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_instance_lists_the_instances_and_a_cluster_without_kudo_says_so() {
    let (sim, dir, kc) = Sim::builtin("cassandra").cluster().await;
    let o = kudo_diag(dir.path(), Some(&kc), &["run", "--instance", "cassandra"]).await;
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("instance \"cassandra\" not found in namespace \"production\"")
            && err.contains("instances there: analytics-cassandra"),
        "{err}"
    );
    assert!(zips(dir.path()).is_empty());
    sim.shutdown().await;

    let bare: Scenario = kudo_diag::yaml::from_str(
        "name: bare\nnamespace: prod\nobjects:\n- {apiVersion: v1, kind: Namespace, metadata: {name: prod}}\n",
    )
    .unwrap();
    let sim = start(bare, None).await;
    sim.write_kubeconfig(&kc).unwrap();
    let o = kudo_diag(dir.path(), Some(&kc), &["run", "--instance", "x"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("this cluster has no KUDO"),
        "{}",
        stderr(&o)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_collects_the_cassandra_scenario_without_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let o = kudo_diag(dir.path(), None, &["demo", "--progress", "none"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("The bundle of instance analytics-cassandra (namespace production)"),
        "{out}"
    );
    let bundles = zips(dir.path());
    assert_eq!(bundles.len(), 1);
    let files = entries(&bundles[0]);
    for needed in [
        "instance/instance.yaml",
        "instance/plan-status.txt",
        "versions.yaml",
        "workload/pods.yaml",
        "manifest.json",
        "redactions.json",
    ] {
        assert!(files.contains_key(needed), "no {needed}");
    }
    assert!(files.keys().any(|k| k.contains("nodetool-status")));
    // What to do next: analyze the bundle just written, as a page too, or serve it to kubectl.
    let name = bundles[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        out.lines()
            .any(|l| l.starts_with("next: kudo-diag analyze ") && l.ends_with(&name)),
        "{out}"
    );
    assert!(out.contains("-o html --report "), "{out}");
    assert!(out.contains("`kudo-diag serve "), "{out}");
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(PLANTED), "{path} holds the planted secret");
    }
    // The healthy scenario's analysis finds nothing, so the demo points at one with faults.
    assert!(out.contains("nothing wrong found"), "{out}");
    assert!(
        out.contains("`kudo-diag demo --scenario broken-cassandra` shows a diagnosis"),
        "{out}"
    );
    // Nothing left behind but the bundle.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_of_the_broken_scenario_shows_its_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    let o = kudo_diag(
        dir.path(),
        None,
        &[
            "demo",
            "--scenario",
            "broken-cassandra",
            "--progress",
            "none",
        ],
    )
    .await;
    // The crash-looping node cannot answer its commands and the Pending pod has no logs: that
    // is the cluster's state, skipped before any request and said once; the run exits 0.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let skipped: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("skipped: ") && l.contains("not running"))
        .collect();
    assert_eq!(skipped.len(), 1, "{out}");
    assert!(
        skipped[0].starts_with("19 commands skipped: 4 containers not running ("),
        "{out}"
    );
    assert!(out.contains("OOMKilled"), "{out}");
    assert!(!out.contains("nothing wrong found"), "{out}");
    assert!(!out.contains("--scenario broken-cassandra` shows"), "{out}");
}

/// Issue 4 item 8 (a): a collection against a cluster, killed with SIGKILL at random points and
/// resumed with `--continue` each time, ends with exactly the artifacts (paths and hashes) of an
/// uninterrupted collection of the same scenario.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_continue_gives_the_uninterrupted_bundle() {
    // Latency makes every request slow enough that the kills land mid-collection.
    let faults = FaultConfig {
        latency_ms: 60,
        jitter_ms: 20,
        seed: 7,
        ..FaultConfig::default()
    };
    let (sim, dir, kc) = Sim::builtin("cassandra").faults(faults).cluster().await;
    let args = |out: &str| -> Vec<String> {
        [
            "run",
            "--instance",
            "analytics-cassandra",
            "--bundle",
            out,
            "--progress",
            "none",
            "--concurrency",
            "2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };

    let reference = kudo_diag(
        dir.path(),
        Some(&kc),
        &args("ref.zip")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(reference.status.code(), Some(0), "{}", stderr(&reference));
    let want = manifest_files(&dir.path().join("ref.zip"));

    let seed = crash_seed();
    eprintln!("crash seed {seed} (KUDO_DIAG_CRASH_SEED to repeat)");
    let mut rng = seed;
    let mut next = move || {
        // xorshift: enough randomness for kill delays, and repeatable from the seed.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let out = dir.path().join("crash.zip");
    let mut kills = 0;
    for round in 0..40 {
        if out.exists() {
            break;
        }
        let mut a = args("crash.zip");
        if round > 0 {
            a.push("--continue".into());
        }
        let delay = Duration::from_millis(300 + next() % 500);
        let kc2 = kc.clone();
        let cwd = dir.path().to_path_buf();
        let errlog = dir.path().join(format!("round-{round}.stderr"));
        let errfile = std::fs::File::create(&errlog).unwrap();
        let finished = tokio::task::spawn_blocking(move || {
            let mut child = bin()
                .args(&a)
                .current_dir(&cwd)
                .env("KUBECONFIG", &kc2)
                .stdout(Stdio::null())
                .stderr(errfile)
                .spawn()
                .unwrap();
            let deadline = Instant::now() + delay;
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().unwrap() {
                    return Some(status);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            None
        })
        .await
        .unwrap();
        match finished {
            Some(status) => assert!(
                status.success(),
                "round {round} exited {status}: {}",
                std::fs::read_to_string(&errlog).unwrap_or_default()
            ),
            None => kills += 1,
        }
    }
    if !out.exists() {
        let o = kudo_diag(
            dir.path(),
            Some(&kc),
            &args("crash.zip")
                .iter()
                .map(String::as_str)
                .chain(["--continue"])
                .collect::<Vec<_>>(),
        )
        .await;
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    assert!(
        kills >= 10,
        "only {kills} kills landed; the collection is too fast for this test"
    );
    let got = manifest_files(&out);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "artifact sets differ after {kills} kills"
    );
    let differing = differing(&want, &got);
    assert!(
        differing.is_empty(),
        "after {kills} kills these differ from the uninterrupted run: {differing:?}"
    );
    eprintln!("{kills} kills, {} artifacts identical", got.len());
    sim.shutdown().await;
}

/// Issue 4 item 9: installed as `kubectl-kudo-diagnostics` on PATH, the command KEP-22 writes,
/// `kubectl kudo diagnostics collect --instance X --namespace Y`, collects through real kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_kudo_diagnostics_collect_works_as_kep_22_writes_it() {
    if !crate::support::have_kubectl() {
        return;
    }
    let (sim, dir, kc) = Sim::builtin("cassandra").cluster().await;
    let plugins = dir.path().join("bin");
    std::fs::create_dir(&plugins).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_kudo-diag"),
        plugins.join("kubectl-kudo-diagnostics"),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        plugins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cwd = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new("kubectl")
            .args([
                "kudo",
                "diagnostics",
                "collect",
                "--instance",
                "analytics-cassandra",
                "--namespace",
                "production",
                "--progress",
                "none",
            ])
            .current_dir(&cwd)
            .env("PATH", path)
            .env("KUBECONFIG", &kc)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bundles = zips(dir.path());
    assert_eq!(bundles.len(), 1, "{}", stdout(&o));
    assert!(bundles[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("kudo-diag_production_analytics-cassandra_"));
    sim.shutdown().await;
}

/// Issue 4 item 6, issue 17: `--qps` bounds the short requests per second the API server sees
/// (a token bucket with six seconds' worth of burst, like kubectl's 50 and 300): N short
/// requests at 10/s take at least (N - 60) / 10 seconds. Logs and exec are not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qps_bounds_the_request_rate_the_server_sees() {
    let (sim, dir, kc) = Sim::builtin("zookeeper").cluster().await;
    let instance = sim
        .state()
        .scenario
        .objects
        .iter()
        .find(|o| o["kind"] == "Instance")
        .and_then(|o| o["metadata"]["name"].as_str())
        .unwrap()
        .to_string();
    let short = || -> u32 { sim.state().load.snapshot().requests_per_second.iter().sum() };
    let before = short();
    let started = Instant::now();
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            &instance,
            "--qps",
            "10",
            "--progress",
            "none",
            "--bundle",
            "z.zip",
        ],
    )
    .await;
    let took = started.elapsed();
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
    let requests = short() - before;
    assert!(requests > 70, "only {requests} short requests");
    let floor = Duration::from_secs_f64((requests as f64 - 60.0) / 10.0);
    assert!(
        took >= floor,
        "{requests} short requests in {took:?}: faster than 10 per second after a burst of 60 allows ({floor:?})"
    );
    sim.shutdown().await;
}

/// Issue 4 item 2, PVCs: a StatefulSet's claims carry the pod template's labels, not the
/// instance label (the built-in cassandra scenario's, like KUDO's cassandra operator). The
/// bundle still has the instance's claims, found through the pods' volumes, and their volumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instances_claims_and_volumes_are_collected_without_the_instance_label() {
    let sc = scenarios::load("cassandra").unwrap();
    let claims: Vec<&Value> = sc
        .objects
        .iter()
        .filter(|o| o["kind"] == "PersistentVolumeClaim")
        .collect();
    assert_eq!(claims.len(), 3);
    assert!(
        claims
            .iter()
            .all(|c| c["metadata"]["labels"]["kudo.dev/instance"].is_null()),
        "the scenario's claims must not carry the instance label for this test to mean anything"
    );
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
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = entries(&dir.path().join("b.zip"));
    let names = |path: &str| -> Vec<String> {
        let list: Value = kudo_diag::yaml::from_slice(&e[path]).unwrap();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let pvcs = names("workload/persistentvolumeclaims.yaml");
    assert_eq!(
        pvcs,
        (0..3)
            .map(|i| format!("var-lib-cassandra-analytics-cassandra-node-{i}"))
            .collect::<Vec<_>>()
    );
    let pvs: Value = kudo_diag::yaml::from_slice(&e["workload/persistentvolumes.yaml"]).unwrap();
    let bound: Vec<&str> = pvs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pv| pv["spec"]["claimRef"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(bound.len(), 3, "{pvs:#}");
    assert!(
        bound.iter().all(|c| pvcs.iter().any(|p| p == c)),
        "{bound:?}"
    );
    sim.shutdown().await;
}

/// Whether `dir` holds a partial folder (`*.partial`, or one being removed).
pub(crate) fn partial_exists(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains(".partial"))
}
