//! Engine tests with synthetic kinds: no cluster, no binary. Each test draws its graph above it.
//!
//! Time: these use short real durations (tens of ms) rather than `start_paused`, because tokio's
//! `test-util` feature is not part of the prebuilt dependency set and enabling it rebuilds the
//! whole tree; the waits are kept small so the module runs in well under a second of sleeping.
//! No assertion depends on a timer racing the engine: an interruption is triggered by an event
//! (the n-th finished node), and timing checks are lower bounds (a wait really happened) or
//! computed delays, which a loaded machine cannot break.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::event::{Event, EventLog, Reporter};
use super::journal::NodeState;
use super::run::{partial_dir, run, Ending, ResumeMode, RunConfig, Summary};
use super::task::{ParamSpec, Registry, StreamLoad, TaskContext, TaskError, TaskKind, TaskOutput};
use super::{synthetic, EngineError};
use crate::pipeline::{Pipeline, TaskSpec};

/// Keeps every event and cancels the run when the `finished`-th node finishes.
struct CancelAfter {
    finished: usize,
    seen: AtomicUsize,
    cancel: CancellationToken,
    log: EventLog,
}

impl Reporter for CancelAfter {
    fn event(&self, event: &Event) {
        if matches!(event, Event::Finished { .. })
            && self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.finished
        {
            self.cancel.cancel();
        }
        self.log.event(event);
    }
}

/// A kind that measures how many of its attempts run at once (high-water mark).
struct Track {
    name: &'static str,
    class: &'static str,
    now: Arc<AtomicUsize>,
    high: Arc<AtomicUsize>,
}

impl Track {
    fn new(name: &'static str, class: &'static str) -> (Self, Arc<AtomicUsize>) {
        let high = Arc::new(AtomicUsize::new(0));
        (
            Track {
                name,
                class,
                now: Arc::new(AtomicUsize::new(0)),
                high: high.clone(),
            },
            high,
        )
    }
}

#[async_trait::async_trait]
impl TaskKind for Track {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> &'static str {
        "test: measures concurrency"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn class(&self) -> &'static str {
        self.class
    }
    async fn run(&self, _ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.high.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(TaskOutput::default())
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    synthetic::register(&mut r);
    r
}

fn pipeline(name: &str, tasks_yaml: &str) -> Pipeline {
    let tasks: Vec<TaskSpec> = crate::yaml::from_str(tasks_yaml).expect("test tasks parse");
    Pipeline::new(name, vec!["test".into()], tasks)
}

fn target() -> Value {
    json!({"cluster": "none", "namespace": "ns", "instance": "inst"})
}

fn config(p: &Pipeline, out: &Path) -> RunConfig {
    let mut c = RunConfig::new(
        p.clone(),
        target(),
        json!({"namespace": "ns", "instance": "inst"}),
        out.to_path_buf(),
    );
    // Short backoffs keep the unpaused tests fast; paused tests check the policy itself.
    c.retry.backoff = Duration::from_millis(5);
    c
}

async fn go(c: RunConfig, reg: &Registry) -> (Result<Summary, EngineError>, Vec<Event>) {
    let log = EventLog::new();
    let r = run(c, reg, &log, CancellationToken::new()).await;
    (r, log.events())
}

fn read_zip(path: &Path, name: &str) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut e = z.by_name(name).unwrap();
    let mut out = Vec::new();
    e.read_to_end(&mut out).unwrap();
    out
}

fn manifest_files(path: &Path) -> Vec<(String, String, String)> {
    let m: Value = serde_json::from_slice(&read_zip(path, "manifest.json")).unwrap();
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["blake3"].as_str().unwrap().to_string(),
                f["task"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn errors(path: &Path) -> Vec<Value> {
    serde_json::from_slice(&read_zip(path, "errors.json")).unwrap()
}

fn position(events: &[Event], pred: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("event not found in {events:#?}"))
}

fn started(events: &[Event], node: &str) -> usize {
    position(
        events,
        |e| matches!(e, Event::Started { node: n, .. } if n == node),
    )
}

fn finished(events: &[Event], node: &str) -> usize {
    position(
        events,
        |e| matches!(e, Event::Finished { node: n, .. } if n == node),
    )
}

fn out_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("bundle.zip")
}

//   a --> b --> d
//    \--> c --/
// d starts only after b and c finished, which start only after a finished.
#[tokio::test]
async fn nodes_run_in_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "order",
        r#"
- {name: a, kind: synthetic.sleep, params: {ms: 5}, output: a.txt}
- {name: b, kind: synthetic.sleep, params: {ms: 1}, needs: [a], output: b.txt}
- {name: c, kind: synthetic.sleep, params: {ms: 9}, needs: [a], output: c.txt}
- {name: d, kind: synthetic.sleep, params: {ms: 0}, needs: [b, c], output: d.txt}
"#,
    );
    let (r, ev) = go(config(&p, &out_in(&dir)), &registry()).await;
    let s = r.unwrap();
    assert_eq!(s.ending, Ending::Complete);
    assert_eq!(s.counts.done, 4);
    for (before, after) in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")] {
        assert!(
            finished(&ev, before) < started(&ev, after),
            "{before} must finish before {after} starts: {ev:#?}"
        );
    }
    let files: Vec<String> = manifest_files(&out_in(&dir))
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(files, vec!["a.txt", "b.txt", "c.txt", "d.txt"]);
    assert!(!partial_dir(&out_in(&dir)).exists(), "partial removed");
}

// items --> track[item-0..item-39]   (40 independent nodes, limit 5)
#[tokio::test]
async fn in_flight_never_exceeds_the_global_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry();
    let (track, high) = Track::new("test.track", "default");
    reg.register(track);
    let p = pipeline(
        "limit",
        r#"
- {name: items, kind: synthetic.items, params: {count: 40}}
- {name: track, kind: test.track, forEach: {task: items, as: it}}
"#,
    );
    let mut c = config(&p, &out_in(&dir));
    c.limits.global = 5;
    let (r, ev) = go(c, &reg).await;
    assert_eq!(r.unwrap().counts.done, 41);
    assert_eq!(
        high.load(Ordering::SeqCst),
        5,
        "the limit is reached, never exceeded"
    );
    assert!(ev.contains(&Event::Expanded {
        task: "track".into(),
        nodes: 40
    }));
}

// items --> exec[*] (class exec, limit 2)
//       \-> track[*] (class default)
#[tokio::test]
async fn a_class_limit_bounds_its_class_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry();
    let (exec, exec_high) = Track::new("test.exec", "exec");
    let (track, track_high) = Track::new("test.track", "default");
    reg.register(exec).register(track);
    let p = pipeline(
        "class",
        r#"
- {name: items, kind: synthetic.items, params: {count: 12}}
- {name: exec, kind: test.exec, forEach: {task: items, as: it}}
- {name: track, kind: test.track, forEach: {task: items, as: it}}
"#,
    );
    let mut c = config(&p, &out_in(&dir));
    c.limits.global = 8;
    c.limits.classes.insert("exec".into(), 2);
    let (r, _) = go(c, &reg).await;
    assert_eq!(r.unwrap().counts.done, 25);
    assert_eq!(exec_high.load(Ordering::SeqCst), 2);
    assert_eq!(
        track_high.load(Ordering::SeqCst),
        6,
        "the rest of the global limit"
    );
}

/// A kind that opens a stream on a pod (`pod` parameter) of node `node-(N % 3)` for pod
/// `item-N`, a command when `command` is true, and records the most of its attempts at once on
/// each node and each pod.
struct Streams {
    name: &'static str,
    command: bool,
    seen: Arc<std::sync::Mutex<StreamSeen>>,
}

#[derive(Default)]
struct StreamSeen {
    now: std::collections::HashMap<String, usize>,
    high: std::collections::HashMap<String, usize>,
    /// How often the scheduler asked a node's stream (once per render of its parameters).
    asked: usize,
}

impl StreamSeen {
    fn change(&mut self, key: String, up: bool) {
        let n = self.now.entry(key.clone()).or_default();
        if up {
            *n += 1;
            let h = self.high.entry(key).or_default();
            *h = (*h).max(*n);
        } else {
            *n -= 1;
        }
    }
    fn max(&self, prefix: &str) -> usize {
        self.high
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(0)
    }
}

fn node_of(pod: &str) -> String {
    let n: usize = pod.trim_start_matches("item-").parse().unwrap_or(0);
    format!("node-{}", n % 3)
}

#[async_trait::async_trait]
impl TaskKind for Streams {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> &'static str {
        "test: a stream on a pod"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const P: &[ParamSpec] = &[ParamSpec::required("pod", "the pod")];
        P
    }
    fn class(&self) -> &'static str {
        "exec"
    }
    fn stream(&self, params: &Value, _vars: &Value) -> Option<StreamLoad> {
        self.seen.lock().unwrap().asked += 1;
        let pod = params["pod"].as_str()?;
        Some(StreamLoad {
            node: Some(node_of(pod)),
            pod: Some(format!("ns/{pod}")),
            command: self.command,
        })
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let pod = ctx.params["pod"].as_str().unwrap_or_default().to_string();
        let keys = [format!("node:{}", node_of(&pod)), format!("pod:{pod}")];
        {
            let mut s = self.seen.lock().unwrap();
            s.change(keys[0].clone(), true);
            if self.command {
                s.change(keys[1].clone(), true);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut s = self.seen.lock().unwrap();
        s.change(keys[0].clone(), false);
        if self.command {
            s.change(keys[1].clone(), false);
        }
        Ok(TaskOutput::default())
    }
}

// items --> status[item-0..11]  (commands)
//       \-> info[item-0..11]    (commands)
//       \-> log[item-0..11]     (streams, not commands)
// 12 pods over 3 nodes: at most 2 streams per node, 1 command per pod, though the global
// limit would allow 32.
#[tokio::test]
async fn streams_are_bounded_per_node_and_commands_per_pod() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry();
    let seen = Arc::new(std::sync::Mutex::new(StreamSeen::default()));
    for (name, command) in [
        ("test.status", true),
        ("test.info", true),
        ("test.log", false),
    ] {
        reg.register(Streams {
            name,
            command,
            seen: seen.clone(),
        });
    }
    let p = pipeline(
        "streams",
        r#"
- {name: items, kind: synthetic.items, params: {count: 12}}
- {name: status, kind: test.status, forEach: {task: items, as: it}, params: {pod: "{{it.name}}"}}
- {name: info, kind: test.info, forEach: {task: items, as: it}, params: {pod: "{{it.name}}"}}
- {name: log, kind: test.log, forEach: {task: items, as: it}, params: {pod: "{{it.name}}"}}
"#,
    );
    let mut c = config(&p, &out_in(&dir));
    c.limits.global = 32;
    let (r, _) = go(c, &reg).await;
    assert_eq!(r.unwrap().counts.done, 37);
    let s = seen.lock().unwrap();
    assert_eq!(s.max("node:"), 2, "two streams per node, reached");
    assert_eq!(s.max("pod:"), 1, "one command per pod");
    assert!(s.now.values().all(|n| *n == 0));
    // Each node's stream was learned once, when the fan-out rendered it: a node that waited
    // for its pod or node was not rendered again to find out what it waits for.
    assert_eq!(s.asked, 36);
}

/// A command that never answers in time, recording when each of its attempts starts.
struct Hangs {
    starts: Arc<std::sync::Mutex<Vec<(String, tokio::time::Instant)>>>,
}

#[async_trait::async_trait]
impl TaskKind for Hangs {
    fn name(&self) -> &'static str {
        "test.hangs"
    }
    fn description(&self) -> &'static str {
        "test: a command that outlives its timeout"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const P: &[ParamSpec] = &[ParamSpec::required("pod", "the pod")];
        P
    }
    fn class(&self) -> &'static str {
        "exec"
    }
    fn stream(&self, params: &Value, _vars: &Value) -> Option<StreamLoad> {
        Some(StreamLoad {
            node: Some("node-0".into()),
            pod: Some(format!("ns/{}", params["pod"].as_str()?)),
            command: true,
        })
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        self.starts
            .lock()
            .unwrap()
            .push((ctx.node.clone(), tokio::time::Instant::now()));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(TaskOutput::default())
    }
}

// a (p1), b (p1), c (p2), each timing out after 2 s, one command per pod: c starts beside a,
// b waits for a's timeout and then as long again (a may still run in p1); a last command
// alone does not keep the run waiting for its hold.
#[tokio::test]
async fn a_timed_out_command_keeps_its_pod_for_as_long_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry();
    let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
    reg.register(Hangs {
        starts: starts.clone(),
    });
    let p = pipeline(
        "hangs",
        r#"
- {name: pods, kind: synthetic.items, params: {count: 1}}
- {name: a, kind: test.hangs, forEach: {task: pods, as: it}, params: {pod: "p1-{{it.name}}"}, timeout: 2s, retries: 0}
- {name: b, kind: test.hangs, forEach: {task: pods, as: it}, params: {pod: "p1-{{it.name}}"}, timeout: 2s, retries: 0}
- {name: c, kind: test.hangs, forEach: {task: pods, as: it}, params: {pod: "p2-{{it.name}}"}, timeout: 2s, retries: 0}
"#,
    );
    let c = config(&p, &out_in(&dir));
    let t0 = tokio::time::Instant::now();
    let (r, _) = go(c, &reg).await;
    assert_eq!(r.unwrap().counts.failed, 3);
    let at = |task: &str| {
        let s = starts.lock().unwrap();
        let (_, t) = s.iter().find(|(n, _)| n.starts_with(task)).unwrap();
        *t - t0
    };
    // c did not wait for a: another pod.
    assert!(
        at("c[") < at("a[") + Duration::from_millis(1500),
        "{:?}",
        at("c[")
    );
    assert!(
        at("b[") >= at("a[") + Duration::from_secs(4),
        "{:?}",
        at("b[")
    );
    // b timed out 2 s after it started; its own hold (2 s more) kept no one waiting.
    let end = t0.elapsed();
    assert!(end < at("b[") + Duration::from_millis(3800), "{end:?}");
}

// The same with 3 streams allowed per node and 2 commands per pod.
#[tokio::test]
async fn the_stream_limits_are_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = registry();
    let seen = Arc::new(std::sync::Mutex::new(StreamSeen::default()));
    for (name, command) in [("test.status", true), ("test.info", true)] {
        reg.register(Streams {
            name,
            command,
            seen: seen.clone(),
        });
    }
    let p = pipeline(
        "streams",
        r#"
- {name: items, kind: synthetic.items, params: {count: 6}}
- {name: status, kind: test.status, forEach: {task: items, as: it}, params: {pod: "{{it.name}}"}}
- {name: info, kind: test.info, forEach: {task: items, as: it}, params: {pod: "{{it.name}}"}}
"#,
    );
    let mut c = config(&p, &out_in(&dir));
    c.limits.per_node = 3;
    c.limits.per_pod = 2;
    let (r, _) = go(c, &reg).await;
    assert_eq!(r.unwrap().counts.done, 13);
    let s = seen.lock().unwrap();
    assert!(s.max("node:") <= 3 && s.max("pod:") <= 2);
    assert!(
        s.max("pod:") == 2 || s.max("node:") == 3,
        "the limits are reached"
    );
}

// flaky (fails twice, transiently), rate (asks to come back after 100ms), hard (permanent),
// never (always transient, one retry)
#[tokio::test]
async fn transient_errors_are_retried_with_backoff_and_permanent_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "retry",
        r#"
- {name: flaky, kind: synthetic.fail, params: {transient: true, times: 2}, output: flaky.txt}
- {name: rate, kind: synthetic.fail, params: {transient: true, times: 1, retryAfterMs: 100}}
- {name: hard, kind: synthetic.fail, params: {message: no such thing}}
- {name: never, kind: synthetic.fail, params: {transient: true}, retries: 1}
"#,
    );
    let mut c = config(&p, &out_in(&dir));
    c.retry.backoff = Duration::from_millis(40);
    let start = tokio::time::Instant::now();
    let (r, ev) = go(c, &registry()).await;
    let s = r.unwrap();
    assert_eq!((s.counts.done, s.counts.failed), (2, 2));
    let delays = |node: &str| -> Vec<Duration> {
        ev.iter()
            .filter_map(|e| match e {
                Event::Retrying { node: n, delay, .. } if n == node => Some(*delay),
                _ => None,
            })
            .collect()
    };
    let flaky = delays("flaky");
    assert_eq!(flaky.len(), 2);
    assert!(flaky[0] >= Duration::from_millis(20) && flaky[0] <= Duration::from_millis(40));
    assert!(flaky[1] >= Duration::from_millis(40) && flaky[1] <= Duration::from_millis(80));
    assert_eq!(delays("rate"), vec![Duration::from_millis(100)]);
    assert!(delays("hard").is_empty());
    assert_eq!(delays("never").len(), 1, "retries: 1 means two attempts");
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "the waits really happen"
    );
    assert!(ev.iter().any(|e| matches!(e, Event::Finished {
        node, state: NodeState::Failed, attempts: 1, error: Some(msg), ..
    } if node == "hard" && msg == "no such thing")));
    let errs = errors(&out_in(&dir));
    let never = errs.iter().find(|e| e["node"] == "never").unwrap();
    assert_eq!(never["attempts"], 2);
    assert!(never["reason"]
        .as_str()
        .unwrap()
        .contains("after 2 attempts"));
    assert_eq!(manifest_files(&out_in(&dir))[0].0, "flaky.txt");
    // errors.json keeps what happened as fields beside the reason.
    assert_eq!(never["errorKind"], json!({"kind": "transport"}));
    let hard = errs.iter().find(|e| e["node"] == "hard").unwrap();
    assert_eq!(hard["errorKind"], json!({"kind": "failed"}));
}

// slow (sleeps 10 min, timeout 200ms, no retries)
#[tokio::test]
async fn an_attempt_that_runs_too_long_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "timeout",
        r#"
- {name: slow, kind: synthetic.sleep, params: {ms: 600000}, timeout: 200ms, retries: 0}
"#,
    );
    let start = tokio::time::Instant::now();
    let (r, _) = go(config(&p, &out_in(&dir)), &registry()).await;
    assert_eq!(r.unwrap().counts.failed, 1);
    assert!(start.elapsed() < Duration::from_secs(10));
    let errs = errors(&out_in(&dir));
    assert_eq!(errs[0]["reason"], "timed out after 200ms");
    assert_eq!(errs[0]["errorKind"], json!({"kind": "timeout"}));
}

//   broken --> child --> grandchild
//   fine
// The failure skips child and grandchild with the root cause; fine runs; the bundle is written.
#[tokio::test]
async fn a_failure_skips_its_dependents_with_the_reason_and_the_rest_runs() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "skip",
        r#"
- {name: broken, kind: synthetic.fail, params: {message: disk on fire}}
- {name: child, kind: synthetic.sleep, params: {ms: 0}, needs: [broken], output: child.txt}
- {name: grandchild, kind: synthetic.sleep, params: {ms: 0}, needs: [child]}
- {name: fine, kind: synthetic.write, params: {bytes: 100}, output: fine.log}
"#,
    );
    let (r, ev) = go(config(&p, &out_in(&dir)), &registry()).await;
    let s = r.unwrap();
    assert_eq!(s.ending, Ending::Complete);
    assert!(s.has_problems());
    assert_eq!(
        (s.counts.done, s.counts.failed, s.counts.skipped),
        (1, 1, 2)
    );
    assert!(ev.contains(&Event::Skipped {
        node: "grandchild".into(),
        reason: "needs broken which failed: disk on fire".into()
    }));
    let errs = errors(&out_in(&dir));
    let summary: Vec<(String, String, String)> = errs
        .iter()
        .map(|e| {
            (
                e["node"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("broken".into(), "failed".into(), "disk on fire".into()),
            (
                "child".into(),
                "skipped".into(),
                "needs broken which failed: disk on fire".into()
            ),
            (
                "grandchild".into(),
                "skipped".into(),
                "needs broken which failed: disk on fire".into()
            ),
        ]
    );
    assert_eq!(manifest_files(&out_in(&dir)).len(), 1);
}

/// Writes its `output`, then fails: refused with the written file as its fallback's answer
/// when `fallback` is true, plainly otherwise.
struct WriteThenFail;

#[async_trait::async_trait]
impl TaskKind for WriteThenFail {
    fn name(&self) -> &'static str {
        "test.write-then-fail"
    }
    fn description(&self) -> &'static str {
        "test: writes its output, then fails"
    }
    fn params(&self) -> &'static [ParamSpec] {
        const P: &[ParamSpec] = &[ParamSpec::optional(
            "fallback",
            "true: refused with a fallback",
        )];
        P
    }
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutput, TaskError> {
        let out = ctx.output.clone().unwrap();
        ctx.sink.put(&out, b"an answer\n").unwrap();
        if ctx.params["fallback"] == true {
            return Err(TaskError::new(
                super::task::ErrorKind::Refused {
                    reason: "not in the whitelist".into(),
                    fix: "add it".into(),
                    fallback: Some(out),
                },
                "refused",
            ));
        }
        Err(TaskError::failed("exited 1"))
    }
}

#[tokio::test]
async fn only_a_refusal_whose_fallback_answered_keeps_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "keep",
        r#"
- {name: refused, kind: test.write-then-fail, params: {fallback: true}, output: admin/stat.json, optional: true}
- {name: failed, kind: test.write-then-fail, output: half.txt, optional: true}
"#,
    );
    let mut reg = registry();
    reg.register(WriteThenFail);
    let (r, _) = go(config(&p, &out_in(&dir)), &reg).await;
    assert_eq!(r.unwrap().counts.failed, 2);
    let files: Vec<String> = manifest_files(&out_in(&dir))
        .into_iter()
        .map(|(path, _, _)| path)
        .collect();
    assert_eq!(files, ["admin/stat.json"]);
    assert_eq!(read_zip(&out_in(&dir), "admin/stat.json"), b"an answer\n");
    let errs = errors(&out_in(&dir));
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[1]["errorKind"]["fallback"], "admin/stat.json");
}

//   pods --> logs[pod/child]  (nested: 3 items x 2 children)
//        \-> per-pod[item]    (3)
//   summary needs per-pod
#[tokio::test]
async fn fan_out_and_nested_fan_out_expand_from_items() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "fan",
        r#"
- {name: pods, kind: synthetic.items, params: {count: 3, children: 2}, output: pods.json}
- name: per-pod
  kind: synthetic.write
  forEach: {task: pods, as: pod}
  params: {bytes: 64, seed: "{{pod.index}}"}
  output: "{{namespace}}/{{pod.name}}/pod.log"
- name: logs
  kind: synthetic.write
  forEach: {task: pods, as: pod, then: {path: children, as: c}}
  params: {bytes: 32}
  output: "{{namespace}}/{{pod.name}}/{{c.name}}.log"
- {name: summary, kind: synthetic.sleep, params: {ms: 0}, needs: [per-pod], output: summary.txt}
"#,
    );
    let (r, ev) = go(config(&p, &out_in(&dir)), &registry()).await;
    assert_eq!(r.unwrap().counts.done, 1 + 3 + 6 + 1);
    let files = manifest_files(&out_in(&dir));
    let tasks: Vec<&str> = files.iter().map(|f| f.2.as_str()).collect();
    assert!(tasks.contains(&"logs[item-2/child-1]"), "{tasks:?}");
    assert!(tasks.contains(&"per-pod[item-0]"), "{tasks:?}");
    assert!(files.iter().any(|f| f.0 == "ns/item-1/child-0.log"));
    assert_eq!(files.len(), 11);
    for i in 0..3 {
        assert!(finished(&ev, &format!("per-pod[item-{i}]")) < started(&ev, "summary"));
    }
    // The reporter can know the total: the initial plan plus every later expansion.
    let announced: usize = ev
        .iter()
        .map(|e| match e {
            Event::Planned { nodes, .. } | Event::Expanded { nodes, .. } => *nodes,
            _ => 0,
        })
        .sum();
    assert_eq!(announced, 11);
    assert!(matches!(
        ev[0],
        Event::Planned {
            nodes: 1,
            resumed: false
        }
    ));
    // Different seeds give different content.
    let h = |p: &str| files.iter().find(|f| f.0 == p).unwrap().1.clone();
    assert_ne!(h("ns/item-0/pod.log"), h("ns/item-1/pod.log"));
}

const RESUMABLE: &str = r#"
- {name: items, kind: synthetic.items, params: {count: 4}}
- name: w
  kind: synthetic.write
  forEach: {task: items, as: it}
  params: {bytes: 2000, seed: "{{it.index}}"}
  output: "w/{{it.name}}.log"
"#;

// items --> w[item-0..3]; one artifact is corrupted between runs: only its node runs again.
#[tokio::test]
async fn continue_reruns_a_node_whose_artifact_is_corrupt_and_reuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_in(&dir);
    let p = pipeline("resume", RESUMABLE);
    let mut c = config(&p, &out);
    c.keep_partial = true;
    let (r, _) = go(c.clone(), &registry()).await;
    r.unwrap();
    let before = manifest_files(&out);
    // Corrupt w[item-2]'s stored artifact.
    let journal = super::journal::Journal::open(
        &partial_dir(&out).join("journal"),
        super::journal::FlushPolicy::Batched,
    )
    .unwrap()
    .0;
    let rec = journal
        .records()
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "w[item-2]")
        .unwrap()
        .1;
    drop(journal);
    let art = partial_dir(&out)
        .join("artifacts")
        .join(&rec.artifacts[0].file);
    // Its own file, or its span of a pack the other artifacts share.
    let mut stored = std::fs::read(&art).unwrap();
    let span = rec.artifacts[0].span.map_or(0..stored.len(), |s| {
        s.offset as usize..(s.offset + s.len) as usize
    });
    stored[span].fill(b'x');
    std::fs::write(&art, stored).unwrap();
    // As if killed before the bundle was written: no `archived` marker, no bundle.
    std::fs::remove_file(partial_dir(&out).join(super::run::ARCHIVED)).unwrap();
    std::fs::remove_file(&out).unwrap();

    c.resume = ResumeMode::Continue;
    c.keep_partial = false;
    let (r, ev) = go(c, &registry()).await;
    let s = r.unwrap();
    assert_eq!((s.counts.done, s.counts.reused), (1, 4));
    let restarted: Vec<&Event> = ev
        .iter()
        .filter(|e| matches!(e, Event::Started { .. }))
        .collect();
    assert_eq!(
        restarted,
        vec![&Event::Started {
            node: "w[item-2]".into(),
            attempt: 1
        }]
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Invalidated { node, reason } if node == "w[item-2]" && reason.contains("corrupt"))));
    assert_eq!(manifest_files(&out), before, "same files, same hashes");
    assert!(!partial_dir(&out).exists());
}

#[tokio::test]
async fn continue_refuses_another_target_or_pipeline_and_fresh_refuses_a_partial() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_in(&dir);
    let p = pipeline("resume", RESUMABLE);
    let mut c = config(&p, &out);
    c.keep_partial = true;
    go(c.clone(), &registry()).await.0.unwrap();
    std::fs::remove_file(&out).unwrap();

    let (r, _) = go(c.clone(), &registry()).await;
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("--continue") && msg.contains("--force") && msg.contains("unfinished"),
        "{msg}"
    );

    let mut other = c.clone();
    other.resume = ResumeMode::Continue;
    other.target = json!({"cluster": "none", "namespace": "other", "instance": "inst"});
    let msg = go(other, &registry()).await.0.unwrap_err().to_string();
    assert!(
        msg.contains("\"namespace\":\"ns\"") && msg.contains("\"namespace\":\"other\""),
        "names both targets: {msg}"
    );

    let mut changed = c.clone();
    changed.resume = ResumeMode::Continue;
    changed.pipeline = pipeline("resume", &RESUMABLE.replace("2000", "2001"));
    let msg = go(changed, &registry()).await.0.unwrap_err().to_string();
    assert!(
        msg.contains(&p.hash[..12]) && msg.contains("same pipeline"),
        "{msg}"
    );

    // --force starts over.
    let mut force = c.clone();
    force.resume = ResumeMode::Force;
    let (r, ev) = go(force, &registry()).await;
    assert_eq!(r.unwrap().counts.done, 5);
    assert!(!ev.iter().any(|e| matches!(e, Event::Reused { .. })));
}

#[tokio::test]
async fn continue_on_a_finished_collection_does_nothing_and_without_one_starts_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_in(&dir);
    let p = pipeline("resume", RESUMABLE);
    let mut c = config(&p, &out);
    c.resume = ResumeMode::Continue;
    // Killed before it wrote anything: continuing is starting (wget --continue on a new file).
    let started = go(c.clone(), &registry()).await.0.unwrap();
    assert_eq!(started.ending, Ending::Complete);
    assert_eq!(started.counts.done, 5);
    std::fs::remove_file(&out).unwrap();

    let mut fresh = c.clone();
    fresh.resume = ResumeMode::Fresh;
    go(fresh.clone(), &registry()).await.0.unwrap();
    let modified = std::fs::metadata(&out).unwrap().modified().unwrap();
    let (r, ev) = go(c, &registry()).await;
    let s = r.unwrap();
    assert_eq!(s.ending, Ending::AlreadyFinished);
    assert!(ev.is_empty(), "no work at all: {ev:?}");
    assert_eq!(
        std::fs::metadata(&out).unwrap().modified().unwrap(),
        modified
    );

    // And a fresh run does not overwrite a finished bundle.
    let msg = go(fresh, &registry()).await.0.unwrap_err().to_string();
    assert!(
        msg.contains("already exists") && msg.contains("--force"),
        "{msg}"
    );
}

// items --> slow[item-0..19]; cancelled mid-run, then continued.
#[tokio::test]
async fn an_interrupted_run_writes_no_bundle_and_continue_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_in(&dir);
    let p = pipeline(
        "cancel",
        r#"
- {name: items, kind: synthetic.items, params: {count: 20}}
- name: slow
  kind: synthetic.sleep
  forEach: {task: items, as: it}
  params: {ms: 30}
  output: "slow/{{it.name}}.txt"
"#,
    );
    let mut c = config(&p, &out);
    c.limits.global = 4;
    let cancel = CancellationToken::new();
    // Cancelled when the 6th node (items and 5 sleeps) finishes, not after a wall-clock delay:
    // on a loaded machine a timer could fire before anything or after everything finished.
    let log = CancelAfter {
        finished: 6,
        seen: AtomicUsize::new(0),
        cancel: cancel.clone(),
        log: EventLog::new(),
    };
    let s = run(c.clone(), &registry(), &log, cancel).await.unwrap();
    let log = log.log;
    assert_eq!(s.ending, Ending::Interrupted);
    assert!(s.bundle.is_none() && !out.exists());
    assert!(partial_dir(&out).join("journal").is_dir());
    let done_before = s.counts.done;
    assert!((6..21).contains(&done_before), "{done_before}");
    assert!(log
        .events()
        .iter()
        .any(|e| matches!(e, Event::Interrupted { in_flight } if *in_flight > 0)));

    c.resume = ResumeMode::Continue;
    let (r, _) = go(c, &registry()).await;
    let s = r.unwrap();
    assert_eq!(s.counts.reused, done_before);
    assert_eq!(s.counts.reused + s.counts.done, 21);
    assert_eq!(manifest_files(&out).len(), 20);
}

// items (1,200 of about 4 KB: more than an Items keeps in memory, so they go to a file while
// the task runs) --> w[item-0..1199]; copy: the same items, which nothing fans out over.
// Interrupted, then continued: the nodes bound to items read back from that file are the same,
// and both journal records hold every item.
#[tokio::test]
async fn items_kept_in_a_file_fan_out_journal_and_resume_like_any_others() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_in(&dir);
    let p = pipeline(
        "spilled",
        r#"
- {name: items, kind: synthetic.items, params: {count: 1200, itemBytes: 4000}}
- {name: copy, kind: synthetic.items, params: {count: 1200, itemBytes: 4000}}
- name: w
  kind: synthetic.sleep
  forEach: {task: items, as: it}
  params: {ms: 0}
  output: "w/{{it.name}}-{{it.index}}.txt"
"#,
    );
    const { assert!(1_200 * 4_000 > super::task::IN_MEMORY) };
    let mut c = config(&p, &out);
    let cancel = CancellationToken::new();
    let log = CancelAfter {
        finished: 300,
        seen: AtomicUsize::new(0),
        cancel: cancel.clone(),
        log: EventLog::new(),
    };
    let s = run(c.clone(), &registry(), &log, cancel).await.unwrap();
    assert_eq!(s.ending, Ending::Interrupted);
    let done_before = s.counts.done;
    let journal = super::journal::Journal::open(
        &partial_dir(&out).join("journal"),
        super::journal::FlushPolicy::Batched,
    )
    .unwrap()
    .0;
    for (node, rec) in journal.records().unwrap() {
        if node == "items" || node == "copy" {
            assert_eq!(rec.items.len(), 1200, "{node}");
            let last = rec.items.value(1199);
            assert_eq!(
                (&last["name"], &last["index"]),
                (&json!("item-1199"), &json!(1199))
            );
            assert_eq!(last["pad"].as_str().unwrap().len(), 4000 - 40);
        }
    }
    drop(journal);

    c.resume = ResumeMode::Continue;
    let (r, _) = go(c, &registry()).await;
    let s = r.unwrap();
    assert_eq!(s.counts.reused, done_before);
    assert_eq!(s.counts.reused + s.counts.done, 1202);
    let files: Vec<String> = manifest_files(&out).into_iter().map(|f| f.0).collect();
    assert_eq!(files.len(), 1200);
    for i in [0, 599, 1199] {
        assert!(files.contains(&format!("w/item-{i}-{i}.txt")), "{i}");
    }
}

#[tokio::test]
async fn a_template_that_cannot_render_fails_its_node_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "render",
        r#"
- {name: bad, kind: synthetic.write, params: {bytes: 1}, output: "x/{{nope}}.log"}
"#,
    );
    let (r, _) = go(config(&p, &out_in(&dir)), &registry()).await;
    assert_eq!(r.unwrap().counts.failed, 1);
    let reason = errors(&out_in(&dir))[0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("unknown variable `nope`"), "{reason}");
}

// a --> b, c (fails)
// Regression: on --continue, b becomes ready through the reused a and is queued before its own
// journal record says it is done too; that stale queue entry used to stop the scheduler before c,
// queued behind it, was started ("the run stopped with N nodes unfinished").
#[tokio::test]
async fn a_stale_queue_entry_does_not_stall_the_nodes_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_in(&dir);
    let p = pipeline(
        "stale",
        r#"
- {name: a, kind: synthetic.sleep, params: {ms: 0}, output: a.txt}
- {name: b, kind: synthetic.sleep, params: {ms: 0}, needs: [a], output: b.txt}
- {name: c, kind: synthetic.fail, params: {message: still broken}}
"#,
    );
    let mut c = config(&p, &out);
    c.keep_partial = true;
    go(c.clone(), &registry()).await.0.unwrap();
    std::fs::remove_file(&out).unwrap();
    c.resume = ResumeMode::Continue;
    let (r, ev) = go(c, &registry()).await;
    let s = r.unwrap();
    assert_eq!((s.counts.reused, s.counts.failed), (2, 1));
    assert!(
        ev.contains(&Event::Started {
            node: "c".into(),
            attempt: 1
        }),
        "c ran again: {ev:#?}"
    );
}

/// Issue 14: a synthetic fan-out of 10^8 items fails its node at once with the documented
/// maximum, instead of allocating gigabytes.
#[tokio::test]
async fn a_synthetic_fan_out_beyond_the_maximum_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(
        "huge",
        r#"
- {name: items, kind: synthetic.items, params: {count: 100000000}}
- {name: wide, kind: synthetic.items, params: {count: 1, itemBytes: 10000000000}}
"#,
    );
    let started = std::time::Instant::now();
    let (r, _) = go(config(&p, &out_in(&dir)), &registry()).await;
    assert_eq!(r.unwrap().counts.failed, 2);
    assert!(started.elapsed() < Duration::from_secs(5));
    let errs = errors(&out_in(&dir));
    let reason = |node: &str| {
        errs.iter()
            .find(|e| e["node"] == node)
            .and_then(|e| e["reason"].as_str())
            .unwrap()
            .to_string()
    };
    let items = reason("items");
    assert!(
        items.contains("more than the 1000000 a synthetic fan-out may produce"),
        "{items}"
    );
    let wide = reason("wide");
    assert!(
        wide.contains("`itemBytes` 10000000000 is more than the 1048576 bytes"),
        "{wide}"
    );
}

/// Issue 14: the end of a run is journaled. Each state a kill can leave after the bundle is
/// written (the `archived` marker is synced before the rename) is recognised by `--continue`
/// as a finished collection: the bundle is kept byte for byte, never re-collected, and the
/// partial folder is finished off. A kill before the marker archives again.
#[tokio::test]
async fn a_kill_at_each_step_of_the_end_leaves_a_finished_collection() {
    use super::run::{removing_dir, ARCHIVED};
    let p = pipeline("end", RESUMABLE);
    // (state name, what the kill left, compared with a run that ended with the partial kept)
    type Step = fn(&Path, &Path);
    let steps: [(&str, Step); 4] = [
        ("after the marker, before the rename", |out, _| {
            std::fs::rename(out, crate::bundle::writer::tmp_path(out)).unwrap();
        }),
        ("after the rename", |_, _| {}),
        (
            "after the partial folder was moved aside",
            |out, partial| {
                std::fs::rename(partial, removing_dir(out)).unwrap();
            },
        ),
        ("during the deletion", |out, partial| {
            let removing = removing_dir(out);
            std::fs::rename(partial, &removing).unwrap();
            std::fs::remove_dir_all(removing.join("journal")).unwrap();
        }),
    ];
    for (what, step) in steps {
        let dir = tempfile::tempdir().unwrap();
        let out = out_in(&dir);
        let partial = partial_dir(&out);
        let mut c = config(&p, &out);
        c.keep_partial = true;
        let first = go(c.clone(), &registry()).await.0.unwrap();
        assert_eq!(first.ending, Ending::Complete);
        assert!(partial.join(ARCHIVED).exists());
        let bundle = std::fs::read(&out).unwrap();
        step(&out, &partial);
        c.keep_partial = false;
        c.resume = ResumeMode::Continue;
        let (r, ev) = go(c, &registry()).await;
        let s = r.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(s.ending, Ending::AlreadyFinished, "{what}");
        assert!(ev.is_empty(), "{what}: no work at all: {ev:?}");
        assert_eq!(std::fs::read(&out).unwrap(), bundle, "{what}");
        assert!(!partial.exists() && !removing_dir(&out).exists(), "{what}");
    }

    // Killed while the bundle was being written (no marker): the collection is archived
    // again from its journal, with the same artifacts.
    let dir = tempfile::tempdir().unwrap();
    let out = out_in(&dir);
    let mut c = config(&p, &out);
    c.keep_partial = true;
    go(c.clone(), &registry()).await.0.unwrap();
    let want = manifest_files(&out);
    std::fs::remove_file(partial_dir(&out).join(ARCHIVED)).unwrap();
    std::fs::rename(&out, crate::bundle::writer::tmp_path(&out)).unwrap();
    c.resume = ResumeMode::Continue;
    c.keep_partial = false;
    let s = go(c, &registry()).await.0.unwrap();
    assert_eq!(s.ending, Ending::Complete);
    assert_eq!(manifest_files(&out), want);
    assert!(!partial_dir(&out).exists());
}
