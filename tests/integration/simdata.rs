//! The built-in scenarios, pod logs and exec of the simulated cluster, judged by the real
//! kubectl (`logs --tail`, `logs --previous`, `exec`, `cp`) and by kube-rs (log parameters,
//! exec with exit codes, the stalled-log fault, a generated instance).
//!
//! kubectl missing: these tests fail when `KUDO_DIAG_REQUIRE_KUBECTL=1` (CI) and skip loudly
//! otherwise.

use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, ListParams, LogParams};
use kudo_diag::sim::loglines::{self, LogWindow};
use kudo_diag::sim::scenario::{ExecHandler, ExecMatch, FaultConfig, Scenario};
use kudo_diag::sim::{generate, scenarios, SimHandle, SimOptions, SimServer};

use crate::support::{have_kubectl, stderr, Kubectl};

const CASS_POD: &str = "analytics-cassandra-node-0";

async fn start(s: Scenario) -> SimHandle {
    SimServer::start(s, SimOptions::default())
        .await
        .expect("start the simulated cluster")
}

fn builtin(name: &str) -> Scenario {
    scenarios::load(name).unwrap_or_else(|e| panic!("load {name}: {e}"))
}

/// The last `n` lines of a scenario log, computed directly (what the server must answer).
fn expected_tail(h: &SimHandle, pod: &str, container: &str, n: u64) -> Vec<String> {
    let sc = &h.state().scenario;
    let spec = sc
        .logs
        .iter()
        .find(|l| l.pod == pod && l.container == container && !l.previous)
        .expect("a log in the scenario");
    loglines::open(
        &spec.source,
        h.state().started,
        LogWindow {
            since: None,
            tail: Some(n),
        },
    )
    .unwrap()
    .map(|l| l.unwrap().text)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_tail_and_previous() {
    if !have_kubectl() {
        return;
    }
    let h = start(builtin("broken-cassandra")).await;
    let k = Kubectl::new(&h);
    let out = k
        .ok(&["logs", CASS_POD, "-c", "cassandra", "--tail", "5"])
        .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, expected_tail(&h, CASS_POD, "cassandra", 5));

    let out = k
        .ok(&[
            "logs",
            "analytics-cassandra-node-0",
            "-c",
            "cassandra",
            "--tail",
            "2",
            "--timestamps",
        ])
        .await;
    for l in out.lines() {
        let (ts, _) = l.split_once(' ').unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.len() == 30,
            "{l}"
        );
    }

    let out = k
        .ok(&[
            "logs",
            "analytics-cassandra-node-1",
            "-c",
            "cassandra",
            "--previous",
        ])
        .await;
    assert!(
        out.contains("java.lang.OutOfMemoryError: Java heap space"),
        "{out}"
    );
    // A crash-looping container's current log is its last instance's.
    let out = k
        .ok(&["logs", "analytics-cassandra-node-1", "-c", "cassandra"])
        .await;
    assert!(out.contains("OutOfMemoryError"));

    let o = k
        .run(&["logs", CASS_POD, "-c", "cassandra", "--previous"])
        .await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("previous terminated container \"cassandra\" in pod \"analytics-cassandra-node-0\" not found"), "{err}");

    let o = k.run(&["logs", CASS_POD, "-c", "nope"]).await;
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("container nope is not valid for pod analytics-cassandra-node-0"));
    // Exec errors survive kubectl's retry with SPDY after the websocket upgrade is refused.
    let o = k
        .run(&[
            "exec",
            "analytics-cassandra-node-1",
            "-c",
            "cassandra",
            "--",
            "nodetool",
            "status",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("unable to upgrade connection: container not found (\"cassandra\")"));
    let o = k
        .run(&[
            "exec",
            "analytics-cassandra-node-2",
            "-c",
            "cassandra",
            "--",
            "nodetool",
            "status",
        ])
        .await;
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("pod analytics-cassandra-node-2 does not have a host assigned"));
    // kubectl picks the default container itself; the init container is reachable by name.
    let out = k.ok(&["logs", CASS_POD, "-c", "bootstrap"]).await;
    assert!(out.starts_with("Generating cqlshrc\n"), "{out}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_prints_scripted_output_and_passes_exit_codes() {
    if !have_kubectl() {
        return;
    }
    let mut sc = builtin("cassandra");
    sc.exec.push(ExecHandler {
        pod: None,
        container: Some("cassandra".into()),
        matcher: ExecMatch::Exact(vec!["nodetool".into(), "repair".into()]),
        stdout: "[2026-11-27 08:00:00,000] Starting repair command #1\n".into(),
        stderr: "error: Repair job has failed with the error message: endpoint down\n".into(),
        exit_code: 3,
    });
    let expected_status = sc.exec[0].stdout.clone();
    let h = start(sc).await;
    let k = Kubectl::new(&h);
    let o = k
        .run(&[
            "exec",
            CASS_POD,
            "-c",
            "cassandra",
            "--",
            "nodetool",
            "status",
        ])
        .await;
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out, expected_status);
    // Nothing on kubectl's stderr: no protocol complaints (like a server-sent v5 close).
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    assert!(out.contains("UN  192.168.0.41"));

    let o = k
        .run(&[
            "exec",
            CASS_POD,
            "-c",
            "cassandra",
            "--",
            "nodetool",
            "repair",
        ])
        .await;
    // (Seen once to fail under load; the streams say how if it happens again.)
    assert_eq!(
        o.status.code(),
        Some(3),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Starting repair command #1"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Repair job has failed"));

    let o = k
        .run(&["exec", CASS_POD, "-c", "cassandra", "--", "cqlsh-nope"])
        .await;
    assert_eq!(o.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("exec: \"cqlsh-nope\": executable file not found in $PATH"));

    let out = k
        .ok(&[
            "exec",
            CASS_POD,
            "-c",
            "cassandra",
            "--",
            "bash",
            "-c",
            "nodetool info",
        ])
        .await;
    assert!(out.contains("664c3243-a7b4-48cf-840d-3173aadf9595"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_cp_copies_a_scenario_file() {
    if !have_kubectl() {
        return;
    }
    let sc = builtin("cassandra");
    let expected = sc
        .files
        .iter()
        .find(|f| f.pod.as_deref() == Some(CASS_POD) && f.path == "/etc/cassandra/cassandra.yaml")
        .unwrap()
        .content
        .clone();
    let h = start(sc).await;
    let k = Kubectl::new(&h);
    let src = format!("{CASS_POD}:/etc/cassandra/cassandra.yaml");
    k.ok(&["cp", "-c", "cassandra", &src, "copied.yaml"]).await;
    let got = std::fs::read_to_string(k.dir.path().join("copied.yaml")).unwrap();
    assert_eq!(got, expected);
    // A directory comes with all its files.
    let src = format!("{CASS_POD}:/etc/cassandra");
    k.ok(&["cp", "-c", "cassandra", &src, "etc"]).await;
    assert!(k.dir.path().join("etc/jvm.options").is_file());
    assert!(k
        .dir
        .path()
        .join("etc/cassandra-rackdc.properties")
        .is_file());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_exec_zookeeper_four_letter_words() {
    if !have_kubectl() {
        return;
    }
    let h = start(builtin("zookeeper")).await;
    let k = Kubectl::new(&h);
    let out = k
        .ok(&[
            "exec",
            "zookeeper-instance-zookeeper-1",
            "--",
            "bash",
            "-c",
            "echo srvr | nc localhost 2181",
        ])
        .await;
    assert!(out.contains("Mode: leader"), "{out}");
    let out = k
        .ok(&[
            "exec",
            "zookeeper-instance-zookeeper-0",
            "--",
            "bash",
            "-c",
            "echo mntr | nc localhost 2181",
        ])
        .await;
    // The operator's zoo.cfg whitelists only srvr and ruok.
    assert_eq!(
        out,
        "mntr is not executed because it is not in the whitelist.\n"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reaches_the_admin_server_through_the_pod_proxy() {
    if !have_kubectl() {
        return;
    }
    let h = start(builtin("zookeeper")).await;
    let k = Kubectl::new(&h);
    let raw = |pod: &str, port: &str, path: &str| {
        format!("/api/v1/namespaces/my-namespace/pods/{pod}:{port}/proxy/{path}")
    };
    // ZooKeeper's AdminServer answers mntr in JSON, whatever the 4lw whitelist says.
    let out = k
        .ok(&[
            "get",
            "--raw",
            &raw("zookeeper-instance-zookeeper-1", "8080", "commands/mntr"),
        ])
        .await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["command"].as_str(), v["server_state"].as_str()),
        (Some("monitor"), Some("leader")),
        "{out}"
    );
    // Nothing listens on another port: the refused dial, as the API server reports it.
    let refused = k
        .run(&[
            "get",
            "--raw",
            &raw("zookeeper-instance-zookeeper-1", "9999", "x"),
        ])
        .await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("connect: connection refused"),
        "{}",
        stderr(&refused)
    );
    // A pod that does not exist.
    let missing = k
        .run(&[
            "get",
            "--raw",
            &raw("zookeeper-instance-zookeeper-9", "8080", "commands/mntr"),
        ])
        .await;
    assert!(
        stderr(&missing).contains("pods \"zookeeper-instance-zookeeper-9\" not found"),
        "{}",
        stderr(&missing)
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_logs_with_parameters() {
    let h = start(builtin("cassandra")).await;
    let pods: Api<Pod> = Api::namespaced(h.kube_client().unwrap(), "production");
    let lp = |f: &dyn Fn(&mut LogParams)| {
        let mut p = LogParams {
            container: Some("cassandra".into()),
            ..Default::default()
        };
        f(&mut p);
        p
    };
    let tail = pods
        .logs(CASS_POD, &lp(&|p| p.tail_lines = Some(3)))
        .await
        .unwrap();
    assert_eq!(
        tail.lines().collect::<Vec<_>>(),
        expected_tail(&h, CASS_POD, "cassandra", 3)
    );
    let limited = pods
        .logs(CASS_POD, &lp(&|p| p.limit_bytes = Some(100)))
        .await
        .unwrap();
    assert_eq!(limited.len(), 100);
    // Lines are 1.5 s apart and end when the server started: the last minute has ~40 lines.
    let recent = pods
        .logs(CASS_POD, &lp(&|p| p.since_seconds = Some(60)))
        .await
        .unwrap();
    let n = recent.lines().count();
    assert!((30..=45).contains(&n), "{n} lines in the last minute");
    let all = pods.logs(CASS_POD, &lp(&|_| {})).await.unwrap();
    assert_eq!(all.lines().count(), 2000);

    let err = pods
        .logs(CASS_POD, &LogParams::default())
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(e) => {
            assert_eq!(e.code, 400);
            assert_eq!(e.message, "a container name must be specified for pod analytics-cassandra-node-0, choose one of: [cassandra prometheus-exporter] or one of the init containers: [bootstrap]");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_exec_reads_stdout_and_the_exit_status() {
    let h = start(builtin("kafka")).await;
    let pods: Api<Pod> = Api::namespaced(h.kube_client().unwrap(), "kafka");
    let ap = AttachParams::default().container("k8skafka").stderr(true);
    let mut proc = pods
        .exec(
            "kafka-kafka-0",
            [
                "kafka-topics.sh",
                "--bootstrap-server",
                "localhost:9092",
                "--describe",
            ],
            &ap,
        )
        .await
        .unwrap();
    let stdout = proc.stdout().unwrap();
    let status = proc.take_status().unwrap();
    let out: Vec<u8> = tokio_util::io::ReaderStream::new(stdout)
        .try_fold(Vec::new(), |mut acc, b| async move {
            acc.extend_from_slice(&b);
            Ok(acc)
        })
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Topic: orders\tPartitionCount: 6"), "{text}");
    assert_eq!(status.await.unwrap().status.as_deref(), Some("Success"));
    proc.join().await.unwrap();

    // `sh -c` expands the container's environment, as the collector's commands expect.
    let mut proc = pods
        .exec(
            "kafka-kafka-0",
            ["sh", "-c", "cat ${KAFKA_HOME}/server.properties"],
            &ap,
        )
        .await
        .unwrap();
    let mut props = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut proc.stdout().unwrap(), &mut props)
        .await
        .unwrap();
    assert!(props.contains("broker.id=0"), "{props}");
    proc.join().await.unwrap();

    let mut proc = pods
        .exec("kafka-kafka-0", ["no-such-tool"], &ap)
        .await
        .unwrap();
    let status = proc.take_status().unwrap().await.unwrap();
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let cause = &status.details.unwrap().causes.unwrap()[0];
    assert_eq!(
        (cause.reason.as_deref(), cause.message.as_deref()),
        (Some("ExitCode"), Some("127"))
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_log_stream_stops_after_its_bytes() {
    let h = SimServer::start(
        builtin("cassandra"),
        SimOptions {
            faults: Some(FaultConfig {
                stall_logs_after_bytes: Some(1000),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(h.kube_client().unwrap(), "production");
    let lp = LogParams {
        container: Some("cassandra".into()),
        ..Default::default()
    };
    let mut lines = pods.log_stream(CASS_POD, &lp).await.unwrap().lines();
    let mut got = 0usize;
    let stalled = tokio::time::timeout(Duration::from_millis(1500), async {
        while let Some(l) = lines.next().await {
            got += l.unwrap().len() + 1;
        }
    })
    .await;
    assert!(stalled.is_err(), "the stream should hang");
    assert!(got <= 1000 && got > 800, "{got} bytes before the stall");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_instance_serves_pods_and_large_logs() {
    let started = Instant::now();
    let sc = generate::scenario_from_generate_flags("cassandra", 1000, 2, "64MiB", 7, None, None)
        .unwrap();
    let gen_time = started.elapsed();
    let h = start(sc).await;
    let client = h.kube_client().unwrap();
    let pods: Api<Pod> = Api::namespaced(client, generate::GENERATED_NAMESPACE);
    let list = pods
        .list(&ListParams::default().labels("kudo.dev/instance=scale-cassandra"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1000);
    // Stream one 64 MiB log, counting bytes.
    let lp = LogParams {
        container: Some("sidecar-1".into()),
        ..Default::default()
    };
    let t = Instant::now();
    let mut stream = pods
        .log_stream("scale-cassandra-node-999", &lp)
        .await
        .unwrap();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = futures::AsyncReadExt::read(&mut stream, &mut buf)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    assert!(bytes <= 64 << 20 && bytes > (64 << 20) - 1000, "{bytes}");
    eprintln!(
        "generated 1000 pods x 2 containers in {gen_time:?}; streamed a 64 MiB log in {secs:.2}s ({:.0} MiB/s, unoptimized build)",
        bytes as f64 / (1 << 20) as f64 / secs
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_command_lists_builtins_and_serves_a_generated_instance() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kudo-diag"))
        .args(["sim", "list"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    // Every built-in, in the list's order, the first four being the instances the others vary.
    let builtins: Vec<&str> = kudo_diag::sim::scenarios::builtin_names()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(names, builtins);
    assert_eq!(
        names[..4],
        ["cassandra", "broken-cassandra", "zookeeper", "kafka"]
    );

    if !have_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kudo-diag"))
        .args([
            "sim",
            "--generate",
            "zookeeper",
            "--pods",
            "7",
            "--containers",
            "2",
        ])
        .args(["--log-bytes", "4KiB", "--kubeconfig-out"])
        .arg(&kc)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (_, _lines) = crate::support::announced_kubeconfig(&mut child).await;
    let run = |args: &[&str]| {
        std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kc)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(args)
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    let o = run(&["get", "pods", "-o", "name"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 7);
    let o = run(&["logs", "scale-zookeeper-zookeeper-6", "-c", "sidecar-1"]);
    let log = String::from_utf8_lossy(&o.stdout);
    assert!(log.len() <= 4096 && log.len() > 3500, "{}", log.len());
    child.kill().await.unwrap();
}

/// A measurement, run by hand: what serving pod logs costs, for docs/PERFORMANCE.md.
///
///     cargo test --test integration simdata::perf -- --ignored --nocapture
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn perf_logs_of_1000_pods() {
    let t = Instant::now();
    let sc = generate::generate(&generate::Spec {
        containers: 1,
        log_bytes: 256 << 10,
        seed: 3,
        ..generate::Spec::new("cassandra", 1000)
    });
    let gen_time = t.elapsed();
    let h = start(sc).await;
    let pods: Api<Pod> = Api::namespaced(h.kube_client().unwrap(), generate::GENERATED_NAMESPACE);
    let lp = LogParams {
        container: Some("cassandra".into()),
        ..Default::default()
    };
    let t = Instant::now();
    let bytes: usize = futures::stream::iter(0..1000)
        .map(|i| {
            let pods = pods.clone();
            let lp = lp.clone();
            async move {
                pods.logs(&format!("scale-cassandra-node-{i}"), &lp)
                    .await
                    .unwrap()
                    .len()
            }
        })
        .buffer_unordered(8)
        .fold(0, |a, b| async move { a + b })
        .await;
    let all = t.elapsed().as_secs_f64();
    let tail = LogParams {
        tail_lines: Some(100),
        ..lp.clone()
    };
    let t = Instant::now();
    for i in 0..200 {
        pods.logs(&format!("scale-cassandra-node-{i}"), &tail)
            .await
            .unwrap();
    }
    let tails = t.elapsed().as_secs_f64();
    eprintln!(
        "generate 1000 pods: {gen_time:?}; 1000 logs of 256 KiB, 8 in flight: {all:.2}s ({:.0} logs/s, {:.0} MiB/s); --tail 100: {:.0} req/s",
        1000.0 / all,
        bytes as f64 / (1 << 20) as f64 / all,
        200.0 / tails
    );
    h.shutdown().await;
}
