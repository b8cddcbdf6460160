//! What the tool does at its limits: a fan-out over more items than allowed costs that fan-out
//! only, and a full or read-only disk ends the run with one line naming the folder and what to
//! do, after which `--continue` finishes the collection (checked on a real tmpfs in a user and
//! mount namespace, so the host's disks are never filled).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::run::entries;
use crate::support::{kudo_diag, stderr, Sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_past_the_maximum_costs_that_fan_out_not_the_run() {
    // The cassandra scenario's instance has 3 pods: every fan-out over them (objects, logs,
    // commands) has at least 3 nodes, more than --max-fan-out 2.
    let (sim, dir, kc) = Sim::builtin("cassandra").cluster().await;
    let o = kudo_diag(
        dir.path(),
        Some(&kc),
        &[
            "run",
            "--instance",
            "analytics-cassandra",
            "--bundle",
            "b.zip",
            "--max-fan-out",
            "2",
            "--progress",
            "none",
        ],
    )
    .await;
    sim.shutdown().await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let bundle = entries(&dir.path().join("b.zip"));
    let errors: Value = serde_json::from_slice(&bundle["errors.json"]).unwrap();
    let errors = errors.as_array().unwrap();
    let bounded: Vec<&Value> = errors
        .iter()
        .filter(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|m| m.contains("more than 2 nodes"))
        })
        .collect();
    assert!(!bounded.is_empty(), "{errors:#?}");
    for e in &bounded {
        let m = e["reason"].as_str().unwrap();
        assert_eq!(e["status"], "failed", "{e}");
        assert!(m.contains("--max-fan-out"), "{m}");
        assert!(m.contains("labelSelector"), "{m}");
        // The placeholder is named after its task: no node of the fan-out was made.
        assert_eq!(e["node"], e["task"], "{e}");
    }
    // What is not a fan-out over the pods was collected.
    assert!(
        bundle.contains_key("instance/instance.yaml"),
        "{:?}",
        bundle.keys()
    );
    assert!(
        bundle.keys().any(|k| k.starts_with("workload/")),
        "{:?}",
        bundle.keys()
    );
    // A fan-out within the bound still runs: the KUDO manager's one pod has its log.
    assert!(
        bundle.contains_key("kudo/pods/kudo-controller-manager-0/logs/manager.log"),
        "{:?}",
        bundle.keys()
    );
    // The three pods' objects come from their list (`outputEach`); their logs, a fan-out of
    // 3 nodes, do not.
    assert!(bundle.contains_key("pods/analytics-cassandra-node-0/pod.yaml"));
    assert!(
        !bundle
            .keys()
            .any(|k| k.starts_with("pods/") && k.contains("/logs/")),
        "{:?}",
        bundle.keys()
    );
    // Only bounded fan-outs and what needs them are missing.
    for e in errors {
        let m = e["reason"].as_str().unwrap_or_default();
        assert!(
            m.contains("more than 2 nodes") || e["status"] == "skipped",
            "{e}"
        );
    }
}

/// Whether this process may make a user and mount namespace and mount a tmpfs in it; else
/// skips loudly, or fails under KUDO_DIAG_REQUIRE_NETNS=1 (set by .ci/run, where it works).
fn can_mount_tmpfs() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg("mount -t tmpfs -o size=64k probe \"$1\" && mount -o remount,ro \"$1\"")
        .arg("sh")
        .arg(dir.path())
        .output();
    match probe {
        Ok(o) if o.status.success() => true,
        other => {
            assert!(
                std::env::var("KUDO_DIAG_REQUIRE_NETNS").as_deref() != Ok("1"),
                "KUDO_DIAG_REQUIRE_NETNS=1 but `unshare --user --map-root-user --mount` cannot mount a tmpfs: {other:?}"
            );
            eprintln!("SKIPPED: cannot mount a tmpfs in a user namespace: {other:?}");
            false
        }
    }
}

/// Runs `script` in a new user and mount namespace with `$OUT` (an empty folder under `dir`,
/// for the script to mount on), `$LOGS` (where each step leaves `NAME.err` and `NAME.rc`) and
/// the `step NAME ARGS...` function, which runs `kudo-diag ARGS` and records it.
fn in_namespace(dir: &Path, script: &str) -> std::process::Output {
    let out = dir.join("out");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let prelude = r#"set -u
step() { name=$1; shift; "$KUDO_DIAG" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"; echo $? >"$LOGS/$name.rc"; }
"#;
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(format!("{prelude}{script}"))
        .env("OUT", &out)
        .env("LOGS", &logs)
        .env("KUDO_DIAG", env!("CARGO_BIN_EXE_kudo-diag"))
        .env_remove("KUBECONFIG")
        .output()
        .expect("unshare runs")
}

/// A step's exit code and stderr.
fn step(dir: &Path, name: &str) -> (i32, String) {
    let logs = dir.join("logs");
    let rc = std::fs::read_to_string(logs.join(format!("{name}.rc")))
        .unwrap_or_else(|e| panic!("step {name} did not run: {e}"));
    let err = std::fs::read_to_string(logs.join(format!("{name}.err"))).unwrap();
    (rc.trim().parse().unwrap(), err)
}

/// One line naming `folder` and `--continue`, no Debug text, no library log lines.
fn assert_one_clear_line(name: &str, err: &str, folder: &Path, what: &str) {
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{name}: {err}");
    let line = lines[0];
    assert!(line.starts_with("error: "), "{name}: {line}");
    assert!(
        line.contains(&folder.display().to_string()),
        "{name}: {line}"
    );
    assert!(line.contains(what), "{name}: {line}");
    assert!(line.contains("--continue"), "{name}: {line}");
    for debug in ["Os {", "kind:", "ERROR", "Io(", "StorageFull"] {
        assert!(!line.contains(debug), "{name}: {line}");
    }
}

#[test]
fn a_full_disk_stops_with_one_line_and_continue_finishes_once_there_is_room() {
    if !can_mount_tmpfs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 64k: the journal's first write fails. 1700k: the partial folder fits (about 1430 KiB:
    // 830 KiB of compressed artifacts, the journal and sled's files) but the archive beside it
    // (about 830 KiB more) does not. Then the tmpfs grows and the same
    // command with --continue finishes, and the bundle verifies.
    let o = in_namespace(
        dir.path(),
        r#"mount -t tmpfs -o size=64k full "$OUT" || exit 90
B="$OUT/b.zip"
step journal run --pipeline selftest --bundle "$B" --progress none
mount -o remount,size=1700k "$OUT" || exit 91
step archive run --pipeline selftest --bundle "$B" --progress none --continue
mount -o remount,size=64m "$OUT" || exit 92
step finish run --pipeline selftest --bundle "$B" --progress none --continue
step verify bundle verify "$B"
"#,
    );
    assert!(o.status.success(), "{o:?}");
    let out = dir.path().join("out");
    let (rc, err) = step(dir.path(), "journal");
    assert_eq!(rc, 1, "{err}");
    assert_one_clear_line("journal", &err, &out.join("b.zip.partial"), "no space left");
    let (rc, err) = step(dir.path(), "archive");
    assert_eq!(rc, 1, "{err}");
    assert_one_clear_line("archive", &err, &out, "no space left");
    assert!(err.contains("this step needs about"), "{err}");
    let (rc, err) = step(dir.path(), "finish");
    assert_eq!(rc, 0, "{err}");
    let (rc, err) = step(dir.path(), "verify");
    assert_eq!(rc, 0, "{err}");
}

#[test]
fn a_read_only_output_folder_stops_with_one_line_and_continue_finishes_once_writable() {
    if !can_mount_tmpfs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A read-only folder (remounted ro: CI may run as root, where chmod does not restrict),
    // first before anything is written, then under an unfinished collection.
    let o = in_namespace(
        dir.path(),
        r#"mount -t tmpfs -o size=64m out "$OUT" || exit 90
mount -o remount,ro "$OUT" || exit 91
B="$OUT/b.zip"
step fresh run --pipeline selftest --bundle "$B" --progress none
mount -o remount,rw,size=64k "$OUT" || exit 92
step full run --pipeline selftest --bundle "$B" --progress none
mount -o remount,ro "$OUT" || exit 93
step partial run --pipeline selftest --bundle "$B" --progress none --continue
mount -o remount,rw,size=64m "$OUT" || exit 94
step finish run --pipeline selftest --bundle "$B" --progress none --continue
step verify bundle verify "$B"
"#,
    );
    assert!(o.status.success(), "{o:?}");
    let out = dir.path().join("out");
    let (rc, err) = step(dir.path(), "fresh");
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(
        err.contains("--bundle FILE.zip or --bundle-dir DIR"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (rc, err) = step(dir.path(), "full");
    assert_eq!(rc, 1, "{err}");
    let (rc, err) = step(dir.path(), "partial");
    assert_eq!(rc, 1, "{err}");
    assert_one_clear_line("partial", &err, &out.join("b.zip.partial"), "not writable");
    let (rc, err) = step(dir.path(), "finish");
    assert_eq!(rc, 0, "{err}");
    let (rc, err) = step(dir.path(), "verify");
    assert_eq!(rc, 0, "{err}");
}
