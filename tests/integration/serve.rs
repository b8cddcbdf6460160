//! `kudo-diag serve`: bundles of the built-in cassandra and broken-cassandra scenarios, collected
//! in-process, served read-only and read with the real kubectl (get with Table columns and
//! -o yaml, describe with events, logs with --tail and --previous), writes and exec refused,
//! secrets still redacted; the binary's start, export line, SIGTERM and bad-input exits.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kudo_diag::bundle::reader::{BundleReader, Limits};
use kudo_diag::engine;
use kudo_diag::preflight::quantity;
use kudo_diag::sim::{from_bundle, SimHandle};
use serde_json::Value;

use crate::support::{
    builtin_pipeline, have_kubectl, kubectl_at, run_in, runtime, scale_pods, stderr, Collection,
    Kubectl, Sim,
};

const NS: &str = "production";
const INSTANCE: &str = "analytics-cassandra";

/// Collects a built-in scenario's instance with the cassandra pipeline, as `kudo-diag run`
/// would, into `dir/SCENARIO.zip`.
async fn collect(scenario: &str, dir: &Path) -> PathBuf {
    let sc = kudo_diag::sim::scenarios::load(scenario).unwrap();
    let sim = Sim::new(sc).start().await;
    let out = dir.join(format!("{scenario}.zip"));
    Collection::new(&sim, builtin_pipeline("cassandra"), NS, INSTANCE)
        .output(&out)
        .run(&engine::EventLog::new())
        .await;
    sim.shutdown().await;
    out
}

/// The cassandra and broken-cassandra bundles, collected once per test binary run.
fn bundle(name: &str) -> PathBuf {
    static B: OnceLock<(tempfile::TempDir, Vec<PathBuf>)> = OnceLock::new();
    let (_, paths) = B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let paths = ["cassandra", "broken-cassandra"]
            .iter()
            .map(|s| rt.block_on(collect(s, dir.path())))
            .collect();
        (dir, paths)
    });
    paths
        .iter()
        .find(|p| p.file_stem().is_some_and(|s| s == name))
        .unwrap()
        .clone()
}

/// Serves a bundle in-process, read-only, as `kudo-diag serve` does.
async fn serve(bundle: &Path) -> SimHandle {
    let b = from_bundle::load(bundle).unwrap();
    Sim::new(b.scenario).read_only().start().await
}

fn read(bundle: &Path, path: &str) -> String {
    let mut r = BundleReader::open(bundle, Limits::default()).unwrap();
    String::from_utf8(r.read(path).unwrap()).unwrap()
}

fn yaml(bundle: &Path, path: &str) -> Value {
    kudo_diag::yaml::from_str(&read(bundle, path)).unwrap()
}

/// READY and RESTARTS of a pod as the bundle's pod.yaml has them.
fn ready_and_restarts(pod: &Value) -> (String, i64) {
    // A pod not scheduled yet has no container statuses.
    let none = Vec::new();
    let st = pod["status"]["containerStatuses"]
        .as_array()
        .unwrap_or(&none);
    let ready = st.iter().filter(|c| c["ready"] == true).count();
    let total = pod["spec"]["containers"].as_array().unwrap().len();
    let restarts = st.iter().filter_map(|c| c["restartCount"].as_i64()).sum();
    (format!("{ready}/{total}"), restarts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_describe_and_logs_show_what_was_collected() {
    if !have_kubectl() {
        return;
    }
    let b = tokio::task::spawn_blocking(|| bundle("broken-cassandra"))
        .await
        .unwrap();
    let h = serve(&b).await;
    let k = Kubectl::new(&h);

    // get pods: the Table columns as collected.
    let out = k.ok(&["get", "pods", "-n", NS, "--no-headers"]).await;
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{out}");
    for (row, status) in rows.iter().zip(["Running", "CrashLoopBackOff", "Pending"]) {
        let pod = yaml(&b, &format!("pods/{}/pod.yaml", row[0]));
        let (ready, restarts) = ready_and_restarts(&pod);
        assert_eq!(
            (row[1], row[2], row[3]),
            (ready.as_str(), status, restarts.to_string().as_str()),
            "{out}"
        );
    }
    assert!(out.contains("1/2   CrashLoopBackOff   7 ("), "{out}");

    // Every kind the bundle holds, incl. KUDO's, in -o yaml as collected.
    let inst: Value = kudo_diag::yaml::from_str(
        &k.ok(&[
            "get",
            "instances.kudo.dev",
            INSTANCE,
            "-n",
            NS,
            "-o",
            "yaml",
        ])
        .await,
    )
    .unwrap();
    let collected = yaml(&b, "instance/instance.yaml");
    assert_eq!(inst["spec"], collected["spec"]);
    assert_eq!(inst["status"], collected["status"]);
    assert_eq!(inst["metadata"]["uid"], collected["metadata"]["uid"]);
    let wide = k.ok(&["get", "pods", "-n", NS, "-o", "wide"]).await;
    assert!(wide.contains("ip-10-0-2-37.ec2.internal"), "{wide}");
    let sts = k.ok(&["get", "statefulsets", "-n", NS]).await;
    assert!(sts.contains("analytics-cassandra-node   1/3"), "{sts}");
    let ov = k
        .ok(&["get", "operatorversions.kudo.dev", "-n", NS, "-o", "name"])
        .await;
    assert!(ov.contains("cassandra-3.11.7-1.0.3"), "{ov}");
    // A kind the bundle does not hold lists empty; discovery still names it.
    let none = k.run(&["get", "jobs", "-n", NS]).await;
    assert!(none.status.success());
    assert!(
        stderr(&none).contains("No resources found"),
        "{}",
        stderr(&none)
    );
    let kinds = k.ok(&["api-resources", "-o", "name"]).await;
    for kind in ["jobs.batch", "cronjobs.batch", "instances.kudo.dev", "pods"] {
        assert!(kinds.lines().any(|l| l == kind), "{kind}: {kinds}");
    }

    // describe pod: with the pod's events.
    let desc = k
        .ok(&["describe", "pod", "analytics-cassandra-node-1", "-n", NS])
        .await;
    assert!(desc.contains("Events:"), "{desc}");
    assert!(
        desc.contains("Back-off restarting failed container cassandra"),
        "{desc}"
    );

    // logs: the tail of the collected log, and the previous instance's.
    let collected = read(&b, "pods/analytics-cassandra-node-0/logs/cassandra.log");
    let last3: Vec<&str> = collected.lines().rev().take(3).collect::<Vec<_>>();
    let got = k
        .ok(&[
            "logs",
            "analytics-cassandra-node-0",
            "-c",
            "cassandra",
            "--tail",
            "3",
            "-n",
            NS,
        ])
        .await;
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        last3.into_iter().rev().collect::<Vec<_>>()
    );
    let prev = k
        .ok(&[
            "logs",
            "analytics-cassandra-node-1",
            "-c",
            "cassandra",
            "--previous",
            "-n",
            NS,
        ])
        .await;
    assert_eq!(
        prev,
        read(
            &b,
            "pods/analytics-cassandra-node-1/logs/cassandra.previous.log"
        )
    );
    assert!(prev.contains("OutOfMemoryError"), "{prev}");
    // No previous log was collected for a container that never restarted.
    let none = k
        .run(&[
            "logs",
            "analytics-cassandra-node-0",
            "-c",
            "cassandra",
            "--previous",
            "-n",
            NS,
        ])
        .await;
    assert!(!none.status.success());
    assert!(
        stderr(&none).contains("previous terminated container"),
        "{}",
        stderr(&none)
    );
    // A Pending pod that was never scheduled has no log: the API server says why (400).
    let pending = k
        .run(&[
            "logs",
            "analytics-cassandra-node-2",
            "-c",
            "cassandra",
            "-n",
            NS,
        ])
        .await;
    assert!(!pending.status.success());
    assert!(
        stderr(&pending).contains("pod analytics-cassandra-node-2 does not have a host assigned"),
        "{}",
        stderr(&pending)
    );
    // The KUDO manager's log, in its own namespace.
    let m = k
        .ok(&[
            "logs",
            "kudo-controller-manager-0",
            "-n",
            "kudo-system",
            "--tail",
            "1",
        ])
        .await;
    let collected = read(&b, "kudo/pods/kudo-controller-manager-0/logs/manager.log");
    assert_eq!(m.trim_end(), collected.lines().last().unwrap());
    h.shutdown().await;
}

/// What `kubectl describe node` sums for a pod, as kubectl's resource helper does: the
/// containers' total, or an init container's if larger, plus the pod's overhead.
fn pod_total(pod: &Value, section: &str, resource: &str) -> i64 {
    let q = |c: &Value| {
        let v = &c["resources"][section][resource];
        let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        let parse = if resource == "cpu" {
            quantity::cpu_milli
        } else {
            quantity::bytes
        };
        if v.is_null() {
            0
        } else {
            parse(&s).unwrap()
        }
    };
    let none = Vec::new();
    let list = |f: &str| pod["spec"][f].as_array().unwrap_or(&none).clone();
    let sum: i64 = list("containers").iter().map(q).sum();
    let init = list("initContainers").iter().map(q).max().unwrap_or(0);
    let overhead = q(&serde_json::json!({"resources": {section: &pod["spec"]["overhead"]}}));
    sum.max(init) + overhead
}

/// `describe node`'s "Allocated resources" line for a resource: (requests, limits).
fn allocated(desc: &str, resource: &str) -> (i64, i64) {
    let section = desc.split("Allocated resources:").nth(1).unwrap();
    let line = section
        .lines()
        .find(|l| l.split_whitespace().next() == Some(resource))
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    let parse = |s: &str| {
        if resource == "cpu" {
            quantity::cpu_milli(s).unwrap()
        } else {
            quantity::bytes(s).unwrap()
        }
    };
    (parse(f[1]), parse(f[3]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_node_shows_every_pod_on_the_node() {
    if !have_kubectl() {
        return;
    }
    let b = tokio::task::spawn_blocking(|| bundle("broken-cassandra"))
        .await
        .unwrap();
    // The bundle's node context holds each node of the instance with every pod on it.
    let table = read(&b, "cluster/node-pods.json");
    assert!(!table.contains("\"env\""), "{table}");
    let h = serve(&b).await;
    let k = Kubectl::new(&h);
    // What a cluster holds, from the scenario itself: every non-terminated pod on the node.
    let sc = kudo_diag::sim::scenarios::load("broken-cassandra").unwrap();
    let node_of_crashing = sc
        .objects
        .iter()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == "analytics-cassandra-node-1")
        .and_then(|p| p["spec"]["nodeName"].as_str())
        .unwrap()
        .to_string();
    let on_node: Vec<&Value> = sc
        .objects
        .iter()
        .filter(|o| o["kind"] == "Pod" && o["spec"]["nodeName"] == node_of_crashing.as_str())
        .filter(|o| !matches!(o["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
        .collect();
    let namespaces: std::collections::BTreeSet<&str> = on_node
        .iter()
        .filter_map(|p| p["metadata"]["namespace"].as_str())
        .collect();
    assert!(
        namespaces.len() >= 2,
        "other namespaces' pods run there: {namespaces:?}"
    );
    let desc = k.ok(&["describe", "node", &node_of_crashing]).await;
    assert!(
        desc.contains(&format!(
            "Non-terminated Pods:          ({} in total)",
            on_node.len()
        )),
        "{desc}"
    );
    for p in &on_node {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(desc.contains(name), "{name}: {desc}");
    }
    for resource in ["cpu", "memory"] {
        let want = (
            on_node
                .iter()
                .map(|p| pod_total(p, "requests", resource))
                .sum::<i64>(),
            on_node
                .iter()
                .map(|p| pod_total(p, "limits", resource))
                .sum::<i64>(),
        );
        assert_eq!(allocated(&desc, resource), want, "{resource}: {desc}");
    }
    // get pods -A -o wide: the other namespaces' pods on their nodes, with their IPs.
    let wide = k.ok(&["get", "pods", "-A", "-o", "wide"]).await;
    for p in &on_node {
        let name = p["metadata"]["name"].as_str().unwrap();
        let row = wide
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name}: {wide}"));
        assert!(row.contains(node_of_crashing.as_str()), "{row}");
        if let Some(ip) = p["status"]["podIP"].as_str() {
            assert!(row.contains(ip), "{row}");
        }
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_exec_are_refused_and_secrets_stay_redacted() {
    if !have_kubectl() {
        return;
    }
    let b = tokio::task::spawn_blocking(|| bundle("cassandra"))
        .await
        .unwrap();
    let h = serve(&b).await;
    let k = Kubectl::new(&h);
    let pod = "analytics-cassandra-node-0";
    for args in [
        vec!["delete", "pod", pod, "-n", NS],
        vec!["label", "pod", pod, "a=b", "-n", NS],
        vec!["annotate", "pod", pod, "a=b", "-n", NS, "--dry-run=server"],
        vec![
            "exec",
            pod,
            "-c",
            "cassandra",
            "-n",
            NS,
            "--",
            "nodetool",
            "status",
        ],
        // `kubectl debug` adds an ephemeral container (a PATCH of pods/ephemeralcontainers)
        // or creates a copy of the pod: refused at once, with the reason, not a hang or a 500.
        vec![
            "debug",
            pod,
            "-n",
            NS,
            "--image=busybox",
            "--profile=general",
        ],
        vec![
            "debug",
            pod,
            "-n",
            NS,
            "--image=busybox",
            "--profile=general",
            "--copy-to=dbg",
        ],
    ] {
        let o = k.run(&args).await;
        assert!(!o.status.success(), "{args:?} succeeded");
        let e = stderr(&o);
        assert!(e.contains("read-only bundle"), "{args:?}: {e}");
        let reason = if args[0] == "exec" {
            "(Forbidden)"
        } else {
            "(MethodNotAllowed)"
        };
        assert!(e.contains(reason), "{args:?}: {e}");
    }
    let ephemeral = k
        .ok(&[
            "get",
            "pod",
            pod,
            "-n",
            NS,
            "-o",
            "jsonpath={.spec.ephemeralContainers}",
        ])
        .await;
    assert!(ephemeral.trim().is_empty(), "{ephemeral}");
    // The pod is still there, unchanged.
    let labels = k
        .ok(&[
            "get",
            "pod",
            pod,
            "-n",
            NS,
            "-o",
            "jsonpath={.metadata.labels}",
        ])
        .await;
    assert!(!labels.contains("\"a\":\"b\""), "{labels}");
    let can = k.run(&["auth", "can-i", "delete", "pods", "-n", NS]).await;
    let said = String::from_utf8_lossy(&can.stdout);
    assert!(
        said.starts_with("no - ") && said.contains("read-only bundle"),
        "{said}"
    );

    // Secrets hold only the redacted values the bundle holds (base64, as Secret bytes are).
    let collected = yaml(&b, "workload/secrets.yaml");
    let secrets: Value =
        kudo_diag::yaml::from_str(&k.ok(&["get", "secrets", "-n", NS, "-o", "yaml"]).await)
            .unwrap();
    let items = secrets["items"].as_array().unwrap();
    assert_eq!(items.len(), collected["items"].as_array().unwrap().len());
    let mut values = 0;
    for s in items {
        for (key, v) in s["data"].as_object().into_iter().flatten() {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            assert_eq!(String::from_utf8(raw).unwrap(), "**REDACTED**", "{key}");
            values += 1;
        }
    }
    assert!(values > 0);
    // kubectl's typed decoding (describe) accepts them.
    let desc = k.ok(&["describe", "secrets", "-n", NS]).await;
    assert!(desc.contains("planted_password:"), "{desc}");
    let all = k.ok(&["get", "secrets", "-A", "-o", "json"]).await;
    use base64::Engine;
    let planted = "kudo-diag-planted-secret-4242";
    assert!(!all.contains(planted));
    assert!(!all.contains(&base64::engine::general_purpose::STANDARD.encode(planted)));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_announces_the_kubeconfig_like_sim_and_stops_on_sigterm() {
    let b = tokio::task::spawn_blocking(|| bundle("cassandra"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kudo-diag"))
        .arg("serve")
        .arg(&b)
        .arg("--kubeconfig-out")
        .arg(&kc)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (announced, _lines) = crate::support::announced_kubeconfig(&mut child).await;
    assert_eq!(announced, std::fs::canonicalize(&kc).unwrap());
    if have_kubectl() {
        let out = kubectl_at(
            &kc,
            &dir.path().join("cache"),
            &["get", "pods", "-o", "name"],
        )
        .await;
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            3,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(crate::support::terminate(&mut child).await, Some(0));
    let mut err = String::new();
    use tokio::io::AsyncReadExt;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    assert!(
        err.contains("pipeline cassandra, instance production/analytics-cassandra"),
        "{err}"
    );
    assert!(err.contains("read-only bundle"), "{err}");
}

#[test]
fn bad_bundles_exit_1_naming_the_problem_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("notes.zip"), "not a zip at all\n").unwrap();
    let good = std::fs::read(bundle("cassandra")).unwrap();
    std::fs::write(d.join("cut.zip"), &good[..good.len() / 2]).unwrap();
    // A synthetic collection: a real bundle, without any Kubernetes object.
    let o = run_in(
        d,
        &[
            "run",
            "--pipeline",
            "selftest",
            "--bundle",
            "selftest.zip",
            "--progress",
            "none",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (file, want) in [
        ("notes.zip", "is not a zip file"),
        ("missing.zip", "cannot open bundle"),
        ("cut.zip", "truncated or corrupt"),
        (
            "selftest.zip",
            "holds no Kubernetes objects (a selftest bundle",
        ),
    ] {
        let o = run_in(d, &["serve", file]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.starts_with("error: ") && e.contains(want), "{file}: {e}");
        assert!(o.stdout.is_empty(), "{file}: nothing announced");
    }
    // A missing argument is a usage error.
    assert_eq!(run_in(d, &["serve"]).status.code(), Some(2));
}

/// Scale: a generated instance of 1,000 pods (one container, 64 KiB of log each) collected with
/// the `kudo` pipeline, then loaded (open, verify every hash, map) and served; prints the times
/// of each step and of kubectl reading it. Run by hand:
/// `cargo test --test integration serve::scale -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check: about a minute for 1,000 pods in a debug build"]
fn scale_serving_a_thousand_pod_bundle() {
    let pods = scale_pods(1000);
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let sc = kudo_diag::sim::generate::generate(&kudo_diag::sim::generate::Spec { containers: 1, log_bytes: 64 << 10, seed: 1, ..kudo_diag::sim::generate::Spec::new("cassandra", pods) });
        let sim = Sim::new(sc).start().await;
        let out = dir.path().join("scale.zip");
        let ns = kudo_diag::sim::generate::GENERATED_NAMESPACE;
        let t = std::time::Instant::now();
        Collection::new(&sim, builtin_pipeline("kudo"), ns, "scale-cassandra")
            .output(&out)
            .run(&engine::EventLog::new())
            .await;
        eprintln!("collected {pods} pods in {:?}", t.elapsed());
        sim.shutdown().await;

        let size = std::fs::metadata(&out).unwrap().len();
        let inflated: u64 = BundleReader::open(&out, Limits::default())
            .unwrap()
            .manifest()
            .files
            .iter()
            .map(|f| f.bytes)
            .sum();
        let t = std::time::Instant::now();
        let path = out.clone();
        let b = tokio::task::spawn_blocking(move || from_bundle::load(&path))
            .await
            .unwrap()
            .unwrap();
        let loaded = t.elapsed();
        let summary = b.summary.lines().join("; ");
        let t = std::time::Instant::now();
        let h = Sim::new(b.scenario).read_only().start().await;
        let started = t.elapsed();
        eprintln!(
            "bundle of {size} bytes ({inflated} uncompressed): loaded (open, verify, map) in {loaded:?}, server started in {started:?}: {summary}"
        );
        if have_kubectl() {
            let k = Kubectl::new(&h);
            let t = std::time::Instant::now();
            let list = k.ok(&["get", "pods", "-n", ns, "--no-headers"]).await;
            eprintln!(
                "kubectl get pods: {} rows in {:?}",
                list.lines().count(),
                t.elapsed()
            );
            let first = list.split_whitespace().next().unwrap().to_string();
            let t = std::time::Instant::now();
            let tail = k.ok(&["logs", &first, "-n", ns, "--tail", "10"]).await;
            eprintln!(
                "kubectl logs --tail 10: {} lines in {:?}",
                tail.lines().count(),
                t.elapsed()
            );
        }
        h.shutdown().await;
    });
}
