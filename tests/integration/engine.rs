//! `kudo-diag run` end to end with synthetic pipelines: exit codes, resume modes, Ctrl-C, and the
//! crash test (SIGKILL at random points, resume with `--continue`, compare with an uninterrupted
//! run hash for hash).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::support::{bin, crash_seed, run_in, stderr, stdout, RunArgs};

fn write_pipeline(dir: &Path, name: &str, tasks: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let text = format!(
        "apiVersion: kudo-diag.dev/v1\nkind: Pipeline\nmetadata:\n  name: {name}\nspec:\n  tasks:\n{tasks}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD: &str = r#"
    - {name: pods, kind: synthetic.items, params: {count: 3}, output: pods.json}
    - name: logs
      kind: synthetic.write
      forEach: {task: pods, as: pod}
      params: {bytes: 5000, seed: "{{pod.index}}"}
      output: "logs/{{pod.name}}.log"
"#;

/// path -> (bytes, blake3, task), from the bundle's manifest, after checking that every entry is
/// in the zip exactly once with the content the manifest claims.
fn bundle_files(zip_path: &Path) -> BTreeMap<String, (u64, String, String)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut manifest = String::new();
    z.by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let mut names: Vec<String> = z.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    let mut out = BTreeMap::new();
    for f in manifest["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap().to_string();
        assert_eq!(
            names.iter().filter(|n| **n == path).count(),
            1,
            "{path} must be in the zip exactly once"
        );
        let mut content = Vec::new();
        z.by_name(&path).unwrap().read_to_end(&mut content).unwrap();
        let hash = blake3::hash(&content).to_hex().to_string();
        assert_eq!(
            hash,
            f["blake3"].as_str().unwrap(),
            "{path}: content matches the manifest"
        );
        let prev = out.insert(
            path.clone(),
            (
                f["bytes"].as_u64().unwrap(),
                hash,
                f["task"].as_str().unwrap().to_string(),
            ),
        );
        assert!(prev.is_none(), "{path} listed twice in the manifest");
    }
    out
}

fn errors_json(zip_path: &Path) -> Value {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name("errors.json")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    serde_json::from_str(&s).unwrap()
}

#[test]
fn run_writes_a_bundle_and_exits_0_or_3_when_a_task_failed() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "good", GOOD);
    let o = RunArgs::new()
        .pipeline(p.to_str().unwrap())
        .output("good.zip")
        .progress("plain")
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("collection complete: 4 done"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("bundle: good.zip"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("done    logs[item-2]"),
        "{}",
        stderr(&o)
    );
    let files = bundle_files(&dir.path().join("good.zip"));
    assert_eq!(files.len(), 4);
    assert!(!dir.path().join("good.zip.partial").exists());

    let bad = write_pipeline(
        dir.path(),
        "bad",
        &format!("{GOOD}    - {{name: broken, kind: synthetic.fail, params: {{message: nope}}}}\n    - {{name: after, kind: synthetic.sleep, params: {{ms: 0}}, needs: [broken]}}\n"),
    );
    let o = RunArgs::new()
        .pipeline(bad.to_str().unwrap())
        .output("bad.zip")
        .progress("none")
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).is_empty(),
        "--progress none is silent: {}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("1 failed, 1 skipped"), "{}", stdout(&o));
    let errs = errors_json(&dir.path().join("bad.zip"));
    assert_eq!(errs[1]["node"], "broken");
    assert_eq!(errs[0]["reason"], "needs broken which failed: nope");
}

#[test]
fn default_name_fresh_over_partial_and_continue_from_an_output_dir() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "good", GOOD);
    let p = p.to_str().unwrap();
    let args = [
        "run",
        "--pipeline",
        p,
        "-n",
        "prod",
        "--instance",
        "cass",
        "--bundle-dir",
        "out",
        "--progress",
        "none",
    ];
    let o = run_in(dir.path(), &[&args[..], &["--keep-partial"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let bundle = names
        .iter()
        .find(|n| n.ends_with(".zip"))
        .expect("a bundle")
        .clone();
    let re = regex::Regex::new(r"^kudo-diag_prod_cass_\d{8}T\d{6}Z\.zip$").unwrap();
    assert!(re.is_match(&bundle), "{bundle}");

    // The bundle is gone but the partial stays: a fresh run with -o of that name is refused.
    std::fs::remove_file(dir.path().join("out").join(&bundle)).unwrap();
    let out = format!("out/{bundle}");
    let o = RunArgs::new()
        .pipeline(p)
        .args(&["-n", "prod"])
        .instance("cass")
        .output(&out)
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--continue") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    // --continue with only the directory finds it by namespace and instance.
    let o = run_in(dir.path(), &[&args[..], &["--continue"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("0 done, 4 reused"), "{}", stdout(&o));
    // Another instance has nothing to continue there: continuing is starting.
    let o = RunArgs::new()
        .pipeline(p)
        .args(&["-n", "prod"])
        .instance("other")
        .args(&["--bundle-dir", "out", "--continue"])
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("starting a new one"), "{}", stderr(&o));
}

#[test]
fn cluster_kinds_need_an_instance_and_a_pipeline_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "k8s",
        "    - {name: pods, kind: k8s.list, params: {apiVersion: v1, kind: Pod}, output: pods.yaml}\n",
    );
    // A pipeline of cluster kinds is a collection: it needs an instance before anything else.
    let o = RunArgs::new()
        .pipeline(p.to_str().unwrap())
        .output("x.zip")
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("pass --instance NAME"),
        "{}",
        stderr(&o)
    );
    // A pipeline that does not load says why, with its location.
    let bad = write_pipeline(dir.path(), "bad", "    - {name: pods, kind: k8s.lst}\n");
    let o = RunArgs::new()
        .pipeline(bad.to_str().unwrap())
        .output("x.zip")
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did you mean `k8s.list`?"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("x.zip").exists());
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    bin()
        .args(args)
        .current_dir(dir)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kudo-diag")
}

fn wait_output(child: Child) -> std::process::Output {
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn sigint_stops_flushes_and_prints_the_command_that_continues() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "slow",
        r#"
    - {name: items, kind: synthetic.items, params: {count: 40}}
    - name: nap
      kind: synthetic.sleep
      forEach: {task: items, as: it}
      params: {ms: 100}
      output: "naps/{{it.name}}.txt"
"#,
    );
    let p = p.to_str().unwrap();
    let mut child = spawn(
        dir.path(),
        &[
            "run",
            "--pipeline",
            p,
            "--bundle",
            "slow.zip",
            "--progress",
            "plain",
        ],
    );
    // Interrupted once the naps run (not after a fixed delay, which a loaded machine can make
    // land before the run started or after it finished).
    let lines = stderr_lines(&mut child);
    let mut seen = Vec::new();
    wait_for_line(&lines, "expanded nap into 40 nodes", &mut seen);
    sigint(&child);
    let status = child.wait().unwrap();
    seen.extend(lines.iter());
    assert_eq!(status.code(), Some(130), "{}", seen.join("\n"));
    let expected = format!(
        "to continue: kudo-diag run --pipeline {p} --bundle slow.zip --progress plain --continue"
    );
    assert!(
        seen.iter().any(|l| l.contains(&expected)),
        "{}",
        seen.join("\n")
    );
    assert!(!dir.path().join("slow.zip").exists());
    let o = RunArgs::new()
        .pipeline(p)
        .output("slow.zip")
        .progress("none")
        .args(&["--continue"])
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("reused"), "{}", stdout(&o));
    assert_eq!(bundle_files(&dir.path().join("slow.zip")).len(), 40);
}

/// Collects a child's stderr lines as they come, so a test can wait for one.
#[cfg(unix)]
fn stderr_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (up to a generous bound, for a loaded machine) for a line containing `needle`; returns
/// every line seen so far.
#[cfg(unix)]
fn wait_for_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.iter().any(|l| l.contains(needle)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "no line with {needle:?} on stderr; got:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[cfg(unix)]
fn sigint(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

// items -> nap[item-0..item-11], each nap stuck for 20 s when stopped: the first Ctrl-C's
// shutdown would take 8 x 20 s, the second one must end it at once.
#[cfg(unix)]
#[test]
fn a_second_sigint_during_a_stuck_shutdown_exits_at_once_and_continue_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "stuck",
        r#"
    - {name: items, kind: synthetic.items, params: {count: 12}, output: items.json}
    - name: nap
      kind: synthetic.sleep
      forEach: {task: items, as: it}
      params: {ms: 300, stopMs: 20000}
      output: "naps/{{it.name}}.txt"
"#,
    );
    let p = p.to_str().unwrap();
    let args = [
        "run",
        "--pipeline",
        p,
        "--bundle",
        "stuck.zip",
        "--progress",
        "plain",
    ];
    let mut child = spawn(dir.path(), &args);
    let lines = stderr_lines(&mut child);
    let mut seen = Vec::new();
    // The naps start the moment their fan-out is announced (the signal handlers are installed
    // before the run starts).
    wait_for_line(&lines, "expanded nap into 12 nodes", &mut seen);
    sigint(&child);
    wait_for_line(&lines, "press Ctrl-C again", &mut seen);
    let second = Instant::now();
    sigint(&child);
    let status = child.wait().unwrap();
    let took = second.elapsed();
    wait_for_line(&lines, "interrupted again: exiting at once", &mut seen);
    wait_for_line(&lines, "to continue: kudo-diag run", &mut seen);
    assert_eq!(status.code(), Some(130), "{}", seen.join("\n"));
    // One stuck attempt alone blocks for 20 s.
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after the second SIGINT"
    );
    assert!(!dir.path().join("stuck.zip").exists());
    assert!(dir.path().join("stuck.zip.partial").is_dir());

    let o = RunArgs::new()
        .pipeline(p)
        .output("stuck.zip")
        .progress("none")
        .args(&["--continue"])
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = bundle_files(&dir.path().join("stuck.zip"));
    let mut expected: Vec<String> = (0..12).map(|i| format!("naps/item-{i}.txt")).collect();
    expected.push("items.json".into());
    expected.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected);
}

/// 1 items + 50 writes + 150 nested sleeps + 50 summaries + a retried task + a failing task and
/// its skipped dependent: 254 nodes.
const CRASH: &str = r#"
    - {name: pods, kind: synthetic.items, params: {count: 50, children: 3}, output: pods.json}
    - name: logs
      kind: synthetic.write
      forEach: {task: pods, as: pod}
      params: {bytes: 3000, seed: "{{pod.index}}"}
      output: "pods/{{pod.name}}/pod.log"
    - name: exec
      kind: synthetic.sleep
      forEach: {task: pods, as: pod, then: {path: children, as: c}}
      params: {ms: 80}
      output: "pods/{{pod.name}}/{{c.name}}.txt"
    - name: digest
      kind: synthetic.write
      forEach: {task: pods, as: pod}
      needs: [logs]
      params: {bytes: 700, seed: 99}
      output: "digest/{{pod.name}}.txt"
    - {name: flaky, kind: synthetic.fail, params: {transient: true, times: 1}}
    - {name: broken, kind: synthetic.fail, params: {message: always}}
    - {name: after, kind: synthetic.sleep, params: {ms: 1}, needs: [broken]}
"#;

#[test]
fn crash_test_sigkill_at_random_points_then_continue_gives_the_same_bundle() {
    let seed = crash_seed();
    println!("crash test seed: {seed} (rerun with KUDO_DIAG_CRASH_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(dir.path(), "crash", CRASH);
    let p = p.to_str().unwrap();

    let t0 = Instant::now();
    let o = RunArgs::new()
        .pipeline(p)
        .output("clean.zip")
        .progress("none")
        .run_in(dir.path());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let clean_time = t0.elapsed();
    let clean = bundle_files(&dir.path().join("clean.zip"));
    assert_eq!(clean.len(), 1 + 50 + 150 + 50);
    println!("uninterrupted run: {clean_time:?}");

    let mut kills = 0;
    let mut runs = 0;
    let t1 = Instant::now();
    while kills < 12 && runs < 60 {
        runs += 1;
        let mut args = vec![
            "run",
            "--pipeline",
            p,
            "--bundle",
            "crash.zip",
            "--progress",
            "none",
        ];
        if dir.path().join("crash.zip.partial").exists() {
            args.push("--continue");
        }
        let mut child = spawn(dir.path(), &args);
        // The sleeps alone need 150 x 80 ms / 8 = 1.5 s of run time; 12 kills at these delays
        // give at most about 1.4 s, so even a fast machine cannot finish before the 12th kill.
        let delay = Duration::from_millis(rng.random_range(20..120));
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
            println!("run {runs}: SIGKILL after {delay:?}");
        }
        let o = wait_output(child);
        if o.status.code().is_some() {
            // It finished before the kill: the collection is complete.
            assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
            break;
        }
    }
    assert!(
        kills >= 10,
        "only {kills} kills landed mid-run (seed {seed})"
    );
    // Finish it.
    let mut last = None;
    for _ in 0..3 {
        if dir.path().join("crash.zip").exists() && !dir.path().join("crash.zip.partial").exists() {
            break;
        }
        let o = RunArgs::new()
            .pipeline(p)
            .output("crash.zip")
            .progress("none")
            .args(&["--continue"])
            .run_in(dir.path());
        last = Some(o);
    }
    if let Some(o) = &last {
        assert_eq!(o.status.code(), Some(3), "{}\n{}", stdout(o), stderr(o));
    }
    println!(
        "{kills} kills, {runs} runs, resumed to the end in {:?}",
        t1.elapsed()
    );

    let resumed = bundle_files(&dir.path().join("crash.zip"));
    assert_eq!(
        resumed, clean,
        "same artifacts, once each, same hashes (seed {seed})"
    );
    assert_eq!(
        errors_json(&dir.path().join("crash.zip")),
        errors_json(&dir.path().join("clean.zip"))
    );
}
