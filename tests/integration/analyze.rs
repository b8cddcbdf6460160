//! Analysis end to end: every built-in scenario of the simulated cluster is collected once per
//! test run (in-process sim + engine + the collect kinds, as collect.rs does) and analyzed:
//! broken-cassandra must yield exactly its planted faults as errors, the healthy scenarios none.
//! Then the command line (formats, exit codes, `--rules`), the HTML rendered by headless
//! Chromium, and hostile bundles (traversal, bomb, truncation, wrong hashes).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kudo_diag::analyze::{self, Report, Severity};

use kudo_diag::engine;
use serde_json::{json, Value};

use crate::support::{
    builtin_pipeline, run_in, runtime, scale_pods, stderr, stdout, Collection, Sim,
};

/// (scenario, pipeline, instance, namespace)
const SCENARIOS: &[(&str, &str, &str, &str)] = &[
    (
        "cassandra",
        "cassandra",
        "analytics-cassandra",
        "production",
    ),
    (
        "broken-cassandra",
        "cassandra",
        "analytics-cassandra",
        "production",
    ),
    (
        "zookeeper",
        "zookeeper",
        "zookeeper-instance",
        "my-namespace",
    ),
    ("kafka", "kafka", "kafka", "kafka"),
];

async fn collect_one(scenario: &str, pipe: &str, instance: &str, ns: &str, dir: &Path) -> PathBuf {
    let mut sc = kudo_diag::sim::scenarios::load(scenario).unwrap();
    // The simulated cluster does not serve admissionregistration.k8s.io yet, and refuses to
    // start with such objects; drop them (the optional `kudo-webhooks` task then fails, which
    // the analysis must report as missing evidence, not as a fault).
    sc.objects
        .retain(|o| o["apiVersion"].as_str() != Some("admissionregistration.k8s.io/v1"));
    let sim = Sim::new(sc).start().await;
    let out = dir.join(format!("{scenario}.zip"));
    Collection::new(&sim, builtin_pipeline(pipe), ns, instance)
        .logs(engine::LogSettings {
            tail: Some(10000),
            ..Default::default()
        })
        .output(&out)
        .run(&engine::EventLog::new())
        .await;
    sim.shutdown().await;
    out
}

/// Every scenario's bundle, collected once per test binary run.
fn bundles() -> &'static Vec<(String, PathBuf)> {
    static B: OnceLock<(tempfile::TempDir, Vec<(String, PathBuf)>)> = OnceLock::new();
    &B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime();
        let mut out = Vec::new();
        // With the fault scenarios of diagnosis.rs, so every check over all bundles sees them.
        let all = SCENARIOS
            .iter()
            .copied()
            .chain(crate::diagnosis::collected());
        for (sc, p, i, ns) in all {
            let b = rt.block_on(collect_one(sc, p, i, ns, dir.path()));
            // To look at the bundles: KUDO_DIAG_KEEP_BUNDLES=/some/dir.
            if let Ok(keep) = std::env::var("KUDO_DIAG_KEEP_BUNDLES") {
                std::fs::copy(&b, Path::new(&keep).join(format!("{sc}.zip"))).unwrap();
            }
            out.push((sc.to_string(), b));
        }
        (dir, out)
    })
    .1
}

fn bundle(name: &str) -> &'static Path {
    &bundles().iter().find(|(n, _)| n == name).unwrap().1
}

pub(crate) fn report(name: &str) -> Report {
    analyze::analyze_bundle(bundle(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn errors(r: &Report) -> Vec<(String, String)> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.rule.clone(), f.object.to_string()))
        .collect()
}

#[test]
fn broken_cassandra_yields_exactly_its_planted_faults() {
    let r = report("broken-cassandra");
    let mut got = errors(&r);
    got.sort();
    assert_eq!(
        got,
        [
            (
                "cassandra.node-down".to_string(),
                "CassandraRing production/analytics-cassandra".to_string()
            ),
            (
                "kudo.plan-failed".into(),
                "Instance production/analytics-cassandra".into()
            ),
            (
                "pod.crash-loop".into(),
                "Pod production/analytics-cassandra-node-1".into()
            ),
            (
                "pod.pending".into(),
                "Pod production/analytics-cassandra-node-2".into()
            ),
            (
                "workload.too-big-for-nodes".into(),
                "StatefulSet production/analytics-cassandra-node".into()
            ),
        ],
        "{}",
        analyze::render_text(&r, false)
    );
    let by = |rule: &str| r.findings.iter().find(|f| f.rule == rule).unwrap();
    let crash = by("pod.crash-loop");
    assert!(crash.title.contains("OOMKilled"), "{}", crash.title);
    assert!(
        crash.explanation.contains("exit code 137"),
        "{}",
        crash.explanation
    );
    // The end of the crashed run's log is quoted: the JVM's OutOfMemoryError.
    let last = crash
        .evidence
        .iter()
        .find(|e| e.path.ends_with("cassandra.previous.log"))
        .expect("the previous log as evidence");
    assert!(
        last.lines
            .iter()
            .any(|l| l.text.contains("java.lang.OutOfMemoryError")),
        "{last:?}"
    );
    let pending = by("pod.pending");
    assert!(
        pending.title.contains("3 Insufficient memory"),
        "{}",
        pending.title
    );
    assert!(
        pending.explanation.contains("cassandra requests 16384Mi"),
        "{}",
        pending.explanation
    );
    let plan = by("kudo.plan-failed");
    assert!(
        plan.title.contains("FATAL_ERROR at phase nodes, step node"),
        "{}",
        plan.title
    );
    assert!(
        plan.explanation.contains("failed to become healthy"),
        "{}",
        plan.explanation
    );
    let dn = by("cassandra.node-down");
    assert!(
        dn.title
            .contains("192.168.1.77 (analytics-cassandra-node-1) DN"),
        "{}",
        dn.title
    );
    // Every error quotes the bundle: a path it has and at least one line.
    for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
        assert!(
            f.evidence.iter().any(|e| !e.lines.is_empty()),
            "{}: no evidence lines",
            f.rule
        );
    }
    // The derived problems are there as warnings, and the gaps in the collection as notes.
    let warnings: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.rule.as_str())
        .collect();
    for w in [
        "workload.replicas",
        "workload.pdb",
        "logs.out-of-memory",
        "pod.probe-failing",
    ] {
        assert!(warnings.contains(&w), "{w} missing from {warnings:?}");
    }
    // What the crash-looping and Pending pods cannot answer was skipped before any request,
    // from their container statuses: no collection failure, and a complete collection.
    assert!(
        !r.findings
            .iter()
            .any(|f| f.rule == "collection.task-failed"),
        "{:?}",
        r.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    assert_eq!(r.header.completeness.status, "complete");
    assert_eq!(r.header.operator_version, "1.0.3");
    assert_eq!(r.header.app_version, "3.11.7");
    assert_eq!(r.header.kubernetes_version, "v1.32.4");
    // The timeline has the restart, the scheduling failures and the plan.
    for kind in ["restart", "event", "plan"] {
        assert!(
            r.timeline.iter().any(|t| t.kind == kind),
            "no {kind} on the timeline"
        );
    }
}

// workload.too-big-for-nodes (NODE_MEM_MIB 16384 > 14.5 GiB allocatable)
//   -> pod.crash-loop (OOMKilled) -> kudo.plan-failed, cassandra.node-down, workload.replicas -> workload.pdb
//   -> pod.pending (Insufficient memory)
#[test]
fn broken_cassandra_leads_with_one_root_cause_and_one_fix_the_placement_confirms() {
    let r = report("broken-cassandra");
    assert_eq!(
        r.root_causes.len(),
        1,
        "{}",
        analyze::render_text(&r, false)
    );
    let root = r.get(&r.root_causes[0]).unwrap();
    assert_eq!(root.rule, "workload.too-big-for-nodes");
    let fix = root.fix.as_ref().expect("a computed fix");
    let names: Vec<&str> = fix.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "NODE_MEM_MIB",
            "NODE_MEM_LIMIT_MIB",
            "NODE_MAX_HEAP_SIZE_MB",
            "NODE_MIN_HEAP_SIZE_MB"
        ]
    );
    assert!(fix.command.starts_with(
        "kubectl kudo update --instance analytics-cassandra -n production -p NODE_MEM_MIB="
    ));
    assert!(
        fix.verified.contains("all 3 pods fit, on 3 of 3 nodes"),
        "{}",
        fix.verified
    );
    // The proposed request plus the exporter's 512 MiB fits the nodes' 15180352Ki allocatable.
    let mib: i64 = fix.parameters[0].to.parse().unwrap();
    assert!(mib + 512 <= 15180352 / 1024 && mib > 8192, "{mib}");
    // Every other error and warning follows from it, and sends the reader to it.
    let folded = r.folded();
    for f in r
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
    {
        assert!(
            folded.iter().any(|(_, g)| g.id == f.id),
            "{} not folded",
            f.id
        );
        if f.id != root.id {
            assert!(
                f.next_step.contains("[workload.too-big-for-nodes]"),
                "{}: {}",
                f.id,
                f.next_step
            );
        }
    }
}

/// (parameter or subject, +1 raise / -1 lower) for every change a text advises, clause by
/// clause (alternatives joined by "or" are separate clauses).
fn advised(text: &str) -> Vec<(String, i32)> {
    let set = regex::Regex::new(r"-p ([A-Z][A-Z0-9_]+)=([^\s`]+)").unwrap();
    let verb = regex::Regex::new(
        r"(?i)\b(raise|increase|more|lower|decrease|reduce|less)\b.*?\b([A-Z][A-Z0-9]*_[A-Z0-9_]+|heap|memory limit|memory request)\b",
    )
    .unwrap();
    let mut out = Vec::new();
    for clause in text
        .split(['.', ';', ':', ','])
        .flat_map(|c| c.split(" or "))
    {
        for c in verb.captures_iter(clause) {
            let up = matches!(c[1].to_lowercase().as_str(), "raise" | "increase" | "more");
            out.push((c[2].to_lowercase(), if up { 1 } else { -1 }));
        }
    }
    for c in set.captures_iter(text) {
        out.push((format!("{}={}", &c[1], &c[2]), 0));
    }
    out
}

#[test]
fn no_two_findings_advise_opposite_changes_on_any_scenario() {
    for (name, _) in bundles() {
        let r = report(name);
        // subject -> (direction or value, finding)
        let mut seen: std::collections::BTreeMap<String, (i32, String)> = Default::default();
        let mut values: std::collections::BTreeMap<String, (String, String)> = Default::default();
        for f in &r.findings {
            let mut text = f.next_step.clone();
            if let Some(fix) = &f.fix {
                text.push_str(&format!(" {}", fix.command));
            }
            for (subject, dir) in advised(&text) {
                if dir == 0 {
                    let (param, value) = subject.split_once('=').unwrap();
                    let prev = values
                        .entry(param.to_string())
                        .or_insert((value.to_string(), f.id.clone()));
                    assert_eq!(
                        prev.0, value,
                        "{name}: {} and {} set {param} differently",
                        prev.1, f.id
                    );
                    continue;
                }
                let prev = seen.entry(subject.clone()).or_insert((dir, f.id.clone()));
                assert_eq!(
                    prev.0, dir,
                    "{name}: {} and {} advise opposite changes of {subject}",
                    prev.1, f.id
                );
            }
        }
    }
    // The check itself: the contradiction the old advice had is caught.
    let old = advised("raise the memory limit, or lower what it uses. Give the JVM more heap");
    assert!(old.contains(&("heap".into(), 1)) && old.contains(&("memory limit".into(), 1)));
    assert!(
        advised("lower NODE_MEM_MIB from 16384 to 14080").contains(&("node_mem_mib".into(), -1))
    );
}

#[test]
fn healthy_scenarios_yield_no_errors() {
    for name in ["cassandra", "zookeeper", "kafka"] {
        let r = report(name);
        assert_eq!(
            errors(&r),
            Vec::<(String, String)>::new(),
            "{name}:\n{}",
            analyze::render_text(&r, false)
        );
        // Healthy: no warnings either; at most notes (the optional webhook list the simulated
        // cluster does not serve).
        let warnings: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| f.title.as_str())
            .collect();
        assert!(warnings.is_empty(), "{name}: {warnings:#?}");
        assert!(r.rules_run.len() > 20, "{name}: {:?}", r.rules_run);
    }
    assert!(report("cassandra")
        .rules_run
        .contains(&"cassandra.node-down".to_string()));
    assert!(report("kafka")
        .rules_run
        .contains(&"kafka.offline-partitions".to_string()));
    // The ZooKeeper scenario's whitelist refuses three four-letter words: one note with the
    // fix, not a failure of the collection.
    let zk = report("zookeeper");
    let refused: Vec<_> = zk
        .findings
        .iter()
        .filter(|f| f.rule == "collection.refused")
        .collect();
    assert_eq!(refused.len(), 1, "{}", analyze::render_text(&zk, false));
    assert!(
        refused[0].next_step.contains("4lw.commands.whitelist"),
        "{:?}",
        refused[0]
    );
    // The scenario's AdminServer answered in their place: the note says so and points there.
    assert!(
        refused[0]
            .title
            .ends_with("the fallback answered each in their place"),
        "{:?}",
        refused[0]
    );
    assert!(
        refused[0]
            .evidence
            .iter()
            .any(|e| e.path == "apps/zookeeper/zookeeper-instance-zookeeper-0/admin/mntr.json"),
        "{:?}",
        refused[0]
    );
    assert!(!zk
        .findings
        .iter()
        .any(|f| f.rule == "collection.task-failed"));
}

#[test]
fn the_command_prints_text_json_and_html_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let broken = bundle("broken-cassandra").display().to_string();
    let healthy = bundle("cassandra").display().to_string();

    let o = run_in(dir.path(), &["analyze", &broken]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("ERROR container cassandra of pod analytics-cassandra-node-1 is crash-looping: OOMKilled"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    let o = run_in(dir.path(), &["analyze", &broken, "--color", "always"]);
    assert!(stdout(&o).contains("\x1b[1;31mERROR\x1b[0m"));

    let o = run_in(
        dir.path(),
        &["analyze", &broken, "--fail-on", "never", "-o", "json"],
    );
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["schemaVersion"], analyze::REPORT_SCHEMA_VERSION);
    assert_eq!(v["counts"]["error"], 5);
    assert_eq!(v["rootCauses"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["severity"], "error");
    assert!(
        v["findings"][0]["evidence"][0]["lines"][0]["line"]
            .as_u64()
            .unwrap()
            > 0
    );

    let o = run_in(dir.path(), &["analyze", &healthy]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A bundle with a warning and no error: exit 0 by default, 6 with --fail-on warning.
    let warn = dir.path().join("warn.rules.yaml");
    std::fs::write(
        &warn,
        "rules:\n- name: t.always\n  severity: warning\n  files: [instance/instance.yaml]\n  path: /kind\n  op: eq\n  value: Instance\n  title: t\n  explanation: e\n  nextStep: n\n",
    )
    .unwrap();
    let w = warn.to_str().unwrap();
    let o = run_in(dir.path(), &["analyze", &healthy, "--rules", w]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_in(
        dir.path(),
        &["analyze", &healthy, "--rules", w, "--fail-on", "warning"],
    );
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    std::fs::remove_file(&warn).unwrap();

    let html = dir.path().join("r.html");
    let o = run_in(
        dir.path(),
        &[
            "analyze",
            &broken,
            "-o",
            "html",
            "--report",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(6));
    assert!(stdout(&o).is_empty());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg"));
    assert!(
        !page.contains("http://") || !page.contains("src=\"http"),
        "self-contained"
    );
    assert!(!page.contains("<script"), "no scripts");
    // Nothing else was written next to it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn operator_developer_rules_from_yaml_run_and_bad_ones_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("cassandra.rules.yaml");
    // The worked example of docs/analyzers.md.
    std::fs::write(&rules, include_str!("../data/analyze/cassandra.rules.yaml")).unwrap();
    let broken = bundle("broken-cassandra").display().to_string();
    let o = run_in(
        dir.path(),
        &[
            "analyze",
            &broken,
            "-o",
            "json",
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    let v: Value =
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    let rules_of = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    let got = rules_of(&v);
    for r in [
        "example.gc-pauses",
        "example.pods-pending",
        "example.heap-too-big",
    ] {
        assert!(got.contains(&r.to_string()), "{r} not in {got:?}");
    }
    let healthy = bundle("cassandra").display().to_string();
    let o = run_in(
        dir.path(),
        &[
            "analyze",
            &healthy,
            "-o",
            "json",
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let got = rules_of(&v);
    assert!(!got.iter().any(|r| r.starts_with("example.")), "{got:?}");

    let bad = dir.path().join("bad.rules.yaml");
    std::fs::write(&bad, "rules:\n- name: x\n  severity: error\n  files: ['*.log']\n  regex: '('\n  title: t\n  explanation: e\n  nextStep: n\n").unwrap();
    let o = run_in(
        dir.path(),
        &["analyze", &broken, "--rules", bad.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bad.rules.yaml: rule 1 (x): bad regex"),
        "{}",
        stderr(&o)
    );
}

/// Copies a bundle, changing entries with `edit` (name, content) -> Some(new name, content) or
/// None to drop it, and adding `extra` entries.
fn rewrite(
    src: &Path,
    dst: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Option<(String, Vec<u8>)>,
    extra: &[(&str, &[u8])],
) {
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut zout = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        if let Some((n, c)) = edit(&name, buf) {
            zout.start_file(n, opts).unwrap();
            zout.write_all(&c).unwrap();
        }
    }
    for (n, c) in extra {
        zout.start_file(*n, opts).unwrap();
        zout.write_all(c).unwrap();
    }
    zout.finish().unwrap();
}

#[test]
fn hostile_and_damaged_bundles_are_rejected_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = bundle("cassandra");
    let analyze_err = |p: &Path| -> String {
        let o = run_in(dir.path(), &["analyze", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}: {}", p.display(), stdout(&o));
        stderr(&o)
    };

    // Wrong hashes: one artifact changed after collection.
    let tampered = dir.path().join("tampered.zip");
    rewrite(
        good,
        &tampered,
        |n, c| {
            if n == "workload/pods.yaml" {
                Some((
                    n.to_string(),
                    String::from_utf8(c)
                        .unwrap()
                        .replace("Running", "Pending")
                        .into_bytes(),
                ))
            } else {
                Some((n.to_string(), c))
            }
        },
        &[],
    );
    let e = analyze_err(&tampered);
    assert!(
        e.contains("does not match its manifest") && e.contains("mismatch: workload/pods.yaml"),
        "{e}"
    );

    // Path traversal.
    let traversal = dir.path().join("traversal.zip");
    rewrite(
        good,
        &traversal,
        |n, c| Some((n.to_string(), c)),
        &[("../../etc/cron.d/evil", b"x")],
    );
    let e = analyze_err(&traversal);
    assert!(
        e.contains("\"../../etc/cron.d/evil\" is an unsafe path"),
        "{e}"
    );

    // Truncated.
    let truncated = dir.path().join("truncated.zip");
    let bytes = std::fs::read(good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = analyze_err(&truncated);
    assert!(
        e.contains("is not a readable zip (truncated or corrupt"),
        "{e}"
    );

    // Missing manifest.
    let nomanifest = dir.path().join("nomanifest.zip");
    rewrite(
        good,
        &nomanifest,
        |n, c| (n != "manifest.json").then(|| (n.to_string(), c)),
        &[],
    );
    let e = analyze_err(&nomanifest);
    assert!(e.contains("has no manifest.json"), "{e}");

    // A zip bomb: an entry that inflates far past the size its headers declare.
    let bomb = dir.path().join("bomb.zip");
    let zeros = vec![b'0'; 64 << 20];
    // It replaces a listed log, and the manifest is made to agree with the bomb's real content,
    // so only the reader's caps can catch it.
    let victim = "pods/analytics-cassandra-node-0/logs/bootstrap.log";
    let zeros_hash = blake3::hash(&zeros).to_hex().to_string();
    rewrite(
        good,
        &bomb,
        |n, c| match n {
            "manifest.json" => {
                let mut m: Value = serde_json::from_slice(&c).unwrap();
                for f in m["files"].as_array_mut().unwrap() {
                    if f["path"] == victim {
                        f["bytes"] = json!(zeros.len());
                        f["blake3"] = json!(zeros_hash);
                    }
                }
                Some((n.to_string(), serde_json::to_vec(&m).unwrap()))
            }
            _ if n == victim => Some((n.to_string(), zeros.clone())),
            _ => Some((n.to_string(), c)),
        },
        &[],
    );
    let mut b = std::fs::read(&bomb).unwrap();
    assert!(b.len() < 8 << 20);
    for (sig, name_off, size_off) in [
        (&b"PK\x03\x04"[..], 30usize, 22usize),
        (&b"PK\x01\x02"[..], 46, 24),
    ] {
        let mut i = 0;
        while let Some(j) = b[i..].windows(4).position(|w| w == sig) {
            let h = i + j;
            if b.get(h + name_off..h + name_off + victim.len()) == Some(victim.as_bytes()) {
                b[h + size_off..h + size_off + 4].copy_from_slice(&1000u32.to_le_bytes());
            }
            i = h + 4;
        }
    }
    std::fs::write(&bomb, &b).unwrap();
    let e = analyze_err(&bomb);
    assert!(e.contains(victim), "{e}");
    assert!(
        e.contains("decompresses to more than its declared 1000 bytes"),
        "{e}"
    );
}

/// A decoded 8-bit RGB(A) PNG: (width, height, channels, pixels row by row).
fn decode_png(bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (mut w, mut h, mut ch) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    let mut i = 8;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let kind = &bytes[i + 4..i + 8];
        let data = &bytes[i + 8..i + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "8-bit depth");
                ch = match data[9] {
                    2 => 3,
                    6 => 4,
                    t => panic!("colour type {t} not handled"),
                };
                assert_eq!(data[12], 0, "not interlaced");
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        i += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = w * ch;
    let mut px = vec![0u8; h * stride];
    for y in 0..h {
        let f = raw[y * (stride + 1)];
        let src = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= ch {
                px[y * stride + x - ch] as i32
            } else {
                0
            };
            let b = if y > 0 {
                px[(y - 1) * stride + x] as i32
            } else {
                0
            };
            let c = if x >= ch && y > 0 {
                px[(y - 1) * stride + x - ch] as i32
            } else {
                0
            };
            let pred = match f {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                _ => panic!("bad PNG filter {f}"),
            };
            px[y * stride + x] = (src[x] as i32 + pred) as u8;
        }
    }
    (w, h, ch, px)
}

/// The HTML report as a person sees it: headless Chromium renders it to a PNG, which must show
/// a page (many colours, mostly white background) with the error colour of the badges and
/// findings. Needs Debian's `chromium` (`apt-get install -y chromium`).
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let r = report("broken-cassandra");
    std::fs::write(&html, analyze::render_html(&r)).unwrap();
    let png = dir.path().join("report.png");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    // Like kubectl for the fidelity tests: required in CI (KUDO_DIAG_REQUIRE_CHROMIUM=1, set
    // by .ci/run after installing it), a loud skip on a machine without it.
    if Command::new(&chromium).arg("--version").output().is_err() {
        if std::env::var("KUDO_DIAG_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!("{chromium} is not installed but KUDO_DIAG_REQUIRE_CHROMIUM=1: apt-get install -y chromium, or set CHROMIUM");
        }
        eprintln!("SKIPPED the_html_report_renders_in_headless_chromium: {chromium} is not installed (apt-get install -y chromium)");
        return;
    }
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--window-size=1280,1400",
        ])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {chromium} ({e}): install it with `apt-get install -y chromium` or set CHROMIUM"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish rendering in 90 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed: {status}");
    let (w, h, ch, px) = decode_png(&std::fs::read(&png).unwrap());
    assert_eq!((w, h), (1280, 1400));
    let mut colours = std::collections::HashSet::new();
    let (mut white, mut red) = (0usize, 0usize);
    for p in px.chunks(ch) {
        colours.insert((p[0], p[1], p[2]));
        if p[0] > 245 && p[1] > 245 && p[2] > 245 {
            white += 1;
        }
        // #c62828, the error colour.
        if (p[0] as i32 - 0xc6).abs() < 20 && p[1] < 70 && p[2] < 70 {
            red += 1;
        }
    }
    let total = w * h;
    assert!(
        colours.len() > 50,
        "a blank or flat image: {} colours",
        colours.len()
    );
    assert!(
        white > total / 3 && white < total * 98 / 100,
        "white {white} of {total}"
    );
    assert!(
        red > 500,
        "the error badges and borders are not drawn ({red} red pixels)"
    );
    if let Ok(keep) = std::env::var("KUDO_DIAG_KEEP_PNG") {
        std::fs::copy(&png, keep).unwrap();
    }
}

/// Scale: a generated instance of 1,000 pods (one container, 64 KiB of log each) collected with
/// the `kudo` pipeline, then analyzed; prints the times. Run by hand (release build advised):
/// `cargo test --test integration analyze::scale -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check: about a minute for 2,000 pods in a debug build"]
fn scale_analysis_of_a_thousand_pods() {
    let pods = scale_pods(1000);
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let out = rt.block_on(async {
        let mut sc = kudo_diag::sim::generate::generate(&kudo_diag::sim::generate::Spec {
            containers: 1,
            log_bytes: 64 << 10,
            seed: 1,
            ..kudo_diag::sim::generate::Spec::new("cassandra", pods)
        });
        sc.objects
            .retain(|o| o["apiVersion"].as_str() != Some("admissionregistration.k8s.io/v1"));
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
        out
    });
    let size = std::fs::metadata(&out).unwrap().len();
    let t = std::time::Instant::now();
    let r = analyze::analyze_bundle(&out).unwrap();
    let took = t.elapsed();
    let html = analyze::render_html(&r);
    eprintln!(
        "analyzed {pods} pods ({size} bytes zipped, {} findings, {} timeline items) in {took:?}; HTML {} bytes",
        r.findings.len(),
        r.timeline.len(),
        html.len()
    );
}

#[test]
fn diff_of_a_healthy_and_a_broken_bundle_of_one_instance_shows_what_changed() {
    use kudo_diag::analyze::diff;
    let d = diff::diff_bundles(bundle("cassandra"), bundle("broken-cassandra")).unwrap();
    let has = |sec: &str, what: &str, old: &str, new: &str| {
        d.section(sec).is_some_and(|s| {
            s.changes
                .iter()
                .any(|c| c.what.contains(what) && c.old.contains(old) && c.new.contains(new))
        })
    };
    assert!(
        has("parameters", "NODE_MEM_MIB", "4096", "16384"),
        "{}",
        diff::render_text(&d)
    );
    assert!(has(
        "replicas",
        "StatefulSet analytics-cassandra-node",
        "3 of 3",
        "1 of 3"
    ));
    assert!(has(
        "containers",
        "analytics-cassandra-node-1 / cassandra",
        "running",
        "CrashLoopBackOff, last OOMKilled"
    ));
    assert!(has("application", "Cassandra node", "UN", "DN"));
    assert!(has(
        "events",
        "analytics-cassandra-node-2",
        "",
        "FailedScheduling"
    ));
    assert!(has("findings", "workload.too-big-for-nodes:", "", "ERROR"));
    // Backwards: the findings clear.
    let back = diff::diff_bundles(bundle("broken-cassandra"), bundle("cassandra")).unwrap();
    assert!(back
        .section("findings")
        .unwrap()
        .changes
        .iter()
        .any(|c| c.what.starts_with("pod.crash-loop:") && c.new.is_empty()));
    // One bundle against itself: nothing changed.
    assert!(diff::diff_bundles(bundle("kafka"), bundle("kafka"))
        .unwrap()
        .is_empty());

    // The command: --latest 2 over a folder of cron-named bundles, in every format.
    let dir = tempfile::tempdir().unwrap();
    let name = |t: &str| format!("kudo-diag_production_analytics-cassandra_{t}.zip");
    std::fs::copy(
        bundle("cassandra"),
        dir.path().join(name("20261127T070000Z")),
    )
    .unwrap();
    std::fs::copy(
        bundle("broken-cassandra"),
        dir.path().join(name("20261127T090000Z")),
    )
    .unwrap();
    let o = run_in(dir.path(), &["diff", "--latest", "2", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("~ NODE_MEM_MIB  4096 -> 16384"), "{text}");
    let (a, b) = (name("20261127T070000Z"), name("20261127T090000Z"));
    let o = run_in(dir.path(), &["diff", &a, &b, "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["schemaVersion"], diff::DIFF_SCHEMA_VERSION);
    assert_eq!(v["sections"][0]["name"], "parameters");
    let o = run_in(
        dir.path(),
        &["diff", &a, &b, "-o", "html", "--report", "d.html"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = std::fs::read_to_string(dir.path().join("d.html")).unwrap();
    assert!(page.contains("<h2>parameters (2)</h2>") && !page.contains("<script"));
    // Bundles of two instances are refused with the reason.
    std::fs::copy(bundle("kafka"), dir.path().join("kafka.zip")).unwrap();
    let o = run_in(dir.path(), &["diff", &a, "kafka.zip"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("diff compares two collections of the same instance"));
}
