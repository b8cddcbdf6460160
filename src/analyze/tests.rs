//! The analyzers on small hand-made bundles (in memory): each rule fires on the input it is
//! about, says what it should, and stays quiet on healthy input.

use serde_json::json;

use super::custom::{compare, glob_regex, parse_rules, Op};
use super::model::{Report, Severity};
use super::render::html::render_html;
use super::render::text::render_text;
use super::rules::apps::{
    parse_dropped, parse_nodetool_status, parse_partition, parse_schema_versions,
};
use super::source::Source;
use super::{analyze_source, render_json};
use crate::bundle::writer::{BundleMeta, ErrorEntry, Manifest};

/// The manifest of a hand-made bundle of instance `namespace/instance` collected at `started`
/// (shared by the analyze test modules).
pub(super) fn manifest_for(namespace: &str, instance: &str, started: &str) -> Manifest {
    Manifest {
        meta: BundleMeta {
            format_version: 1,
            tool: "kudo-diag".into(),
            target: json!({"namespace": namespace, "instance": instance}),
            started: started.into(),
            finished: started.into(),
            ..BundleMeta::default()
        },
        ..Manifest::default()
    }
}

fn manifest(started: &str) -> Manifest {
    manifest_for("ns", "inst", started)
}

fn run(files: &[(&str, &str)]) -> Report {
    run_with(files, vec![], "2026-01-01T12:00:00Z", &[])
}

fn run_with(
    files: &[(&str, &str)],
    errors: Vec<ErrorEntry>,
    started: &str,
    extra: &[super::custom::Rule],
) -> Report {
    let src = Source::from_files(files.iter().map(|(a, b)| (*a, *b)), errors)
        .with_manifest(manifest(started));
    analyze_source(src, extra).unwrap()
}

fn rules(r: &Report) -> Vec<(&str, Severity, &str)> {
    r.findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity, f.object.name.as_str()))
        .collect()
}

fn one<'a>(r: &'a Report, rule: &str) -> &'a super::Finding {
    let v: Vec<_> = r.findings.iter().filter(|f| f.rule == rule).collect();
    assert_eq!(v.len(), 1, "{rule}: {:#?}", rules(r));
    v[0]
}

fn list(items: &str) -> String {
    format!("apiVersion: v1\nkind: List\nitems:\n{items}")
}

#[test]
fn an_empty_bundle_has_no_findings_and_says_what_it_checked() {
    let r = run(&[]);
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
    assert!(r.rules_run.contains(&"pod.crash-loop".to_string()));
    assert!(r.rules_run.contains(&"logs.out-of-memory".to_string()));
    assert_eq!(r.header.instance, "inst");
    assert_eq!(r.header.completeness.status, "complete");
    assert!(render_text(&r, false).contains("nothing wrong found"));
}

const PODS: &str = r#"
- metadata: {name: web-0, namespace: ns}
  spec:
    containers:
    - name: app
      image: registry.example/app:9.9
  status:
    phase: Pending
    containerStatuses:
    - name: app
      image: registry.example/app:9.9
      restartCount: 0
      state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image "registry.example/app:9.9"'}}
- metadata: {name: web-1, namespace: ns}
  spec:
    containers:
    - name: app
      resources: {requests: {cpu: "8"}}
  status:
    phase: Pending
    conditions:
    - type: PodScheduled
      status: "False"
      reason: Unschedulable
      message: '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu.'
- metadata: {name: web-2, namespace: ns}
  status:
    phase: Failed
    reason: Evicted
    message: 'The node was low on resource: memory.'
- metadata: {name: web-3, namespace: ns}
  status:
    phase: Running
    conditions:
    - {type: Ready, status: "False", message: 'containers with unready status: [app]'}
    containerStatuses:
    - name: app
      restartCount: 9
      lastState: {terminated: {reason: Error, exitCode: 1, finishedAt: '2026-01-01T11:00:00Z'}}
      state: {running: {startedAt: '2026-01-01T11:00:05Z'}}
- metadata: {name: web-4, namespace: ns}
  status:
    phase: Running
    conditions:
    - {type: Ready, status: "False", message: 'containers with unready status: [app]'}
    containerStatuses:
    - name: app
      restartCount: 0
      state: {running: {startedAt: '2026-01-01T10:00:00Z'}}
"#;

const EVENTS: &str = r#"
- metadata: {name: e1, namespace: ns}
  involvedObject: {kind: Pod, name: web-4, namespace: ns}
  reason: Unhealthy
  type: Warning
  count: 14
  firstTimestamp: '2026-01-01T10:01:00Z'
  lastTimestamp: '2026-01-01T11:59:00Z'
  message: 'Readiness probe failed: HTTP probe failed with statuscode: 503'
- metadata: {name: e2, namespace: ns}
  involvedObject: {kind: Pod, name: web-1, namespace: ns}
  reason: FailedScheduling
  type: Warning
  count: 3
  firstTimestamp: '2026-01-01T11:00:00Z'
  lastTimestamp: '2026-01-01T11:30:00Z'
  message: '<script>alert(1)</script> 0/3 nodes are available'
"#;

#[test]
fn pod_rules_explain_image_pulls_scheduling_evictions_restarts_and_probes() {
    let pods = list(PODS);
    let events = list(EVENTS);
    let r = run(&[
        ("workload/pods.yaml", &pods),
        ("workload/events.yaml", &events),
    ]);
    let pull = one(&r, "pod.image-pull");
    assert_eq!(pull.severity, Severity::Error);
    assert!(
        pull.title
            .contains("registry.example/app:9.9 (ImagePullBackOff)"),
        "{}",
        pull.title
    );
    // web-0 is Pending too, but its container's finding explains it: no second finding.
    let pending = one(&r, "pod.pending");
    assert_eq!(pending.object.name, "web-1");
    assert!(
        pending
            .explanation
            .contains("no node has enough unreserved CPU")
            || pending
                .explanation
                .contains("No node has enough unreserved CPU"),
        "{}",
        pending.explanation
    );
    assert!(
        pending.explanation.contains("app requests 8"),
        "{}",
        pending.explanation
    );
    assert!(
        pending
            .explanation
            .contains("taints the pod does not tolerate"),
        "{}",
        pending.explanation
    );
    assert!(
        pending
            .explanation
            .contains("3 times since 2026-01-01T11:00:00Z"),
        "{}",
        pending.explanation
    );
    assert!(
        pending.next_step.contains("toleration"),
        "{}",
        pending.next_step
    );
    assert_eq!(one(&r, "pod.evicted").object.name, "web-2");
    let restarts = one(&r, "pod.high-restarts");
    assert_eq!(
        (restarts.object.name.as_str(), restarts.severity),
        ("web-3", Severity::Warning)
    );
    assert!(
        restarts.explanation.contains("Error (exit code 1)"),
        "{}",
        restarts.explanation
    );
    let probe = one(&r, "pod.probe-failing");
    assert!(
        probe.title.contains("readiness probe failed 14 times"),
        "{}",
        probe.title
    );
    // web-3's restarts explain it; web-4 is the one only "not ready".
    assert_eq!(one(&r, "pod.not-ready").object.name, "web-4");
    // Evidence points at lines of the list file, after the pod's name.
    let ev = &pull.evidence[0];
    assert_eq!(ev.path, "workload/pods.yaml");
    assert!(
        ev.lines
            .iter()
            .any(|l| l.text.contains("reason: ImagePullBackOff") && l.line > 1),
        "{ev:?}"
    );
    // A hostile message is escaped in HTML.
    let html = render_html(&r);
    assert!(!html.contains("<script>"), "unescaped");
    assert!(html.contains("&lt;script&gt;"));
}

#[test]
fn workload_and_node_rules() {
    let files = [
        ("workload/deployments.yaml", list("- metadata: {name: api}\n  spec: {replicas: 2}\n  status: {replicas: 2}\n")),
        ("workload/statefulsets.yaml", list("- metadata: {name: db}\n  spec: {replicas: 3}\n  status: {readyReplicas: 3}\n")),
        ("workload/persistentvolumeclaims.yaml", list("- metadata: {name: data-0}\n  status: {phase: Lost}\n- metadata: {name: data-1}\n  status: {phase: Bound}\n")),
        ("workload/poddisruptionbudgets.yaml", list("- metadata: {name: db-pdb}\n  status: {disruptionsAllowed: 1, expectedPods: 3}\n")),
        (
            "cluster/nodes.yaml",
            list("- metadata: {name: n1}\n  status:\n    conditions:\n    - {type: Ready, status: Unknown, message: Kubelet stopped posting node status.}\n    - {type: DiskPressure, status: 'True', message: disk full}\n- metadata: {name: n2}\n  status:\n    conditions:\n    - {type: Ready, status: 'True'}\n    - {type: MemoryPressure, status: 'False'}\n"),
        ),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let r = run(&files);
    let mut got = rules(&r);
    got.sort();
    assert_eq!(
        got,
        [
            ("node.not-ready", Severity::Error, "n1"),
            ("node.pressure", Severity::Warning, "n1"),
            ("workload.pvc", Severity::Error, "data-0"),
            ("workload.replicas", Severity::Error, "api"),
        ]
    );
    assert!(one(&r, "workload.replicas")
        .title
        .contains("0 of 2 replicas ready"));
}

const INSTANCE_STUCK: &str = r#"
apiVersion: kudo.dev/v1beta1
kind: Instance
metadata: {name: inst, namespace: ns}
spec:
  operatorVersion: {name: op-1.0.0}
status:
  planStatus:
    deploy:
      name: deploy
      status: IN_PROGRESS
      lastUpdatedTimestamp: '2026-01-01T10:00:00Z'
      phases:
      - {name: main, status: IN_PROGRESS, steps: [{name: everything, status: IN_PROGRESS}]}
    backup:
      name: backup
      status: ERROR
      phases:
      - name: backup
        status: ERROR
        steps:
        - {name: snapshot, status: ERROR, message: 'job backup failed: BackoffLimitExceeded'}
"#;

#[test]
fn kudo_rules_plans_operator_version_manager_and_children() {
    let children = list("- metadata: {name: inst-zk, namespace: ns}\n  status:\n    aggregatedStatus: {status: FATAL_ERROR, activePlanName: deploy}\n- metadata: {name: inst-ok, namespace: ns}\n  status:\n    aggregatedStatus: {status: COMPLETE}\n");
    let kudo_pods = list(
        "- metadata: {name: some-other-pod, namespace: kudo-system}\n  status: {phase: Running}\n",
    );
    let errors = vec![ErrorEntry {
        node: "operatorversion".into(),
        task: "operatorversion".into(),
        status: "failed".into(),
        reason: "get operatorversions op-1.0.0: 404 not found".into(),
        attempts: 1,
        optional: false,
        error_kind: None,
    }];
    let r = run_with(
        &[
            ("instance/instance.yaml", INSTANCE_STUCK),
            ("instance/child-instances.yaml", &children),
            ("kudo/pods.yaml", &kudo_pods),
        ],
        errors,
        "2026-01-01T12:00:00Z",
        &[],
    );
    let stuck = one(&r, "kudo.plan-stuck");
    assert!(
        stuck
            .title
            .contains("deploy of instance inst has been IN_PROGRESS for 120 minutes"),
        "{}",
        stuck.title
    );
    let failed = one(&r, "kudo.plan-failed");
    assert!(
        failed
            .title
            .contains("backup of instance inst is ERROR at phase backup, step snapshot"),
        "{}",
        failed.title
    );
    assert!(failed.explanation.contains("BackoffLimitExceeded"));
    assert!(failed.explanation.contains("KUDO retries it"));
    assert_eq!(
        one(&r, "kudo.operatorversion-missing").object.name,
        "op-1.0.0"
    );
    assert!(one(&r, "kudo.manager")
        .title
        .contains("no kudo-controller-manager pod"));
    assert_eq!(one(&r, "kudo.child-instance").object.name, "inst-zk");
    // The failed read behind the missing OperatorVersion is still a gap in the collection.
    assert_eq!(
        one(&r, "collection.task-failed").severity,
        Severity::Warning
    );
    // A plan updated recently is not stuck.
    let r = run_with(
        &[("instance/instance.yaml", INSTANCE_STUCK)],
        vec![],
        "2026-01-01T10:10:00Z",
        &[],
    );
    assert!(!r.findings.iter().any(|f| f.rule == "kudo.plan-stuck"));
}

#[test]
fn nodetool_parsers_read_real_output() {
    let status = "Datacenter: dc1\n--  Address  Load  Tokens  Owns  Host ID  Rack\nUN  10.0.0.1  1 KiB  256  33%  a  r1\nDN  10.0.0.2  1 KiB  256  33%  b  r1\nUJ  10.0.0.3  1 KiB  256  33%  c  r1\n";
    let p = parse_nodetool_status(status);
    assert_eq!(
        p.iter()
            .map(|x| (x.0.as_str(), x.1.as_str(), x.2))
            .collect::<Vec<_>>(),
        [
            ("UN", "10.0.0.1", 3),
            ("DN", "10.0.0.2", 4),
            ("UJ", "10.0.0.3", 5)
        ]
    );
    let dc = "Cluster Information:\n\tSchema versions:\n\t\t2207c2a9-f598-3971-986b-2926e09e239d: [10.0.0.1, 10.0.0.2]\n\n\t\t59adb24e-f3cd-3e02-97f0-5b395827453f: [10.0.0.3]\n\n\t\tUNREACHABLE: [10.0.0.4]\n";
    assert_eq!(parse_schema_versions(dc).len(), 2);
    let tp = "Pool Name  Active\nReadStage  0\n\nMessage type           Dropped\nREAD                       12\nMUTATION                    0\n";
    assert_eq!(
        parse_dropped(tp),
        [("READ".to_string(), 12, 5), ("MUTATION".to_string(), 0, 6)]
    );
    let part = parse_partition("\tTopic: orders\tPartition: 3\tLeader: -1\tReplicas: 0,1,2\tIsr: ")
        .unwrap();
    assert_eq!(
        (
            part.topic.as_str(),
            part.leader.as_str(),
            part.replicas.len(),
            part.isr.len()
        ),
        ("orders", "-1", 3, 0)
    );
}

#[test]
fn application_rules_cassandra_zookeeper_kafka_elastic() {
    let files = [
        ("apps/cassandra/c-0/nodetool-status.txt", "UN  10.0.0.1  1 KiB  256  33%  a  r1\nUL  10.0.0.2  1 KiB  256  33%  b  r1\n"),
        ("apps/cassandra/c-0/nodetool-describecluster.txt", "Schema versions:\n\t\t2207c2a9-f598-3971-986b-2926e09e239d: [10.0.0.1]\n\t\t59adb24e-f3cd-3e02-97f0-5b395827453f: [10.0.0.2]\n"),
        ("apps/cassandra/c-0/nodetool-tpstats.txt", "Message type  Dropped\nMUTATION  40\nREAD  2\n"),
        ("apps/zookeeper/zk-0/srvr.txt", "Zookeeper version: 3.6.2\nMode: follower\n"),
        ("apps/zookeeper/zk-1/srvr.txt", "Mode: follower\n"),
        ("apps/kafka/topics.txt", "Topic: a\tPartitionCount: 2\n\tTopic: a\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1\n\tTopic: a\tPartition: 1\tLeader: none\tReplicas: 2\tIsr: \n\tTopic: b\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\n"),
        ("apps/elastic/cluster-health.json", "{\"cluster_name\": \"es\", \"status\": \"red\", \"unassigned_shards\": 5}"),
    ];
    let r = run(&files);
    let mut got = rules(&r);
    got.sort();
    assert_eq!(
        got,
        [
            ("cassandra.dropped-messages", Severity::Warning, "c-0"),
            ("cassandra.node-down", Severity::Error, "inst"),
            ("cassandra.schema-disagreement", Severity::Warning, "c-0"),
            (
                "elastic.health-red",
                Severity::Error,
                "apps/elastic/cluster-health.json"
            ),
            ("kafka.offline-partitions", Severity::Error, "a"),
            ("kafka.under-replicated-partitions", Severity::Warning, "a"),
            ("zookeeper.no-leader", Severity::Error, "inst"),
        ]
    );
    assert!(one(&r, "cassandra.node-down").title.contains("10.0.0.2 UL"));
    assert!(one(&r, "cassandra.dropped-messages")
        .title
        .contains("dropped 42 messages (MUTATION 40, READ 2)"));
    let es = one(&r, "elastic.health-red");
    assert_eq!(es.evidence[0].lines[0].line, 1);
    // A leader anywhere: healthy.
    let r = run(&[
        ("apps/zookeeper/zk-0/srvr.txt", "Mode: follower\n"),
        ("apps/zookeeper/zk-1/srvr.txt", "Mode: leader\n"),
    ]);
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
}

#[test]
fn log_rules_count_with_first_and_last_time_and_examples() {
    let log = "2026-01-01 10:00:00,001 INFO start\n2026-01-01 10:05:00,000 ERROR accept failed\njava.io.IOException: Too many open files\n2026-01-01 10:09:00,000 WARN x: too many open files\nnothing\n2026-01-01 10:20:00,000 WARN too many open files again\n";
    let r = run(&[
        ("pods/p-0/logs/app.log", log),
        ("pods/p-0/logs/app.previous.log", log),
        ("pods/p-1/logs/app.log", "all good\n"),
    ]);
    let f = one(&r, "logs.too-many-open-files");
    assert_eq!(f.object.name, "p-0");
    assert!(
        f.title.starts_with("3 'too many open files'"),
        "{}",
        f.title
    );
    assert!(
        f.explanation
            .contains("first at 2026-01-01 10:05:00.000, last at 2026-01-01 10:20:00.000"),
        "{}",
        f.explanation
    );
    // Current and previous log: one finding, two pieces of evidence, three examples each.
    assert_eq!(f.evidence.len(), 2);
    assert_eq!(
        f.evidence[0]
            .lines
            .iter()
            .map(|l| l.line)
            .collect::<Vec<_>>(),
        [3, 4, 6]
    );
    // Application-specific rules only run for their operator.
    let r = run(&[(
        "pods/c-0/logs/cassandra.log",
        "ReadTimeoutException: Operation timed out\n",
    )]);
    assert!(r.findings.is_empty(), "{:?}", rules(&r));
}

#[test]
fn yaml_rules_are_checked_with_every_problem_named() {
    let bad = "rules:\n- name: two\n  severity: error\n  files: [a]\n  regex: x\n  path: /y\n  title: t\n  explanation: e\n  nextStep: n\n- name: noop\n  severity: warning\n  files: [a]\n  path: /y\n  title: t\n  explanation: e\n  nextStep: n\n- name: badre\n  severity: info\n  files: []\n  regex: '(['\n  title: t\n  explanation: e\n  nextStep: n\n";
    let e = parse_rules("my.rules.yaml", bad).unwrap_err();
    assert!(
        e.contains("my.rules.yaml: rule 1 (two): give exactly one of `regex`, `path` or `count`"),
        "{e}"
    );
    assert!(e.contains("rule 2 (noop): `op` is required"), "{e}");
    assert!(e.contains("rule 3 (badre): bad regex"), "{e}");
    let e = parse_rules("my.rules.yaml", "rules:\n- name: x\n  sevrity: error\n").unwrap_err();
    assert!(
        e.contains("my.rules.yaml (line 3") && e.contains("unknown field `sevrity`"),
        "{e}"
    );
    assert!(e.contains("docs/analyzers.md"), "{e}");
}

#[test]
fn globs_and_comparisons() {
    let g = glob_regex("pods/*/logs/*.log");
    assert!(g.is_match("pods/a/logs/b.log"));
    assert!(!g.is_match("pods/a/b/logs/c.log"));
    assert!(!g.is_match("pods/a/logs/b.log.txt"));
    let g = glob_regex("apps/**/status.txt");
    assert!(g.is_match("apps/status.txt") && g.is_match("apps/x/y/status.txt"));
    assert!(glob_regex("a.b?").is_match("a.bc") && !glob_regex("a.b?").is_match("aXbc"));
    let v = |x: serde_json::Value| x;
    assert!(compare(
        Op::Gt,
        Some(&v(json!("16384"))),
        Some(&v(json!(8192))),
        None
    ));
    assert!(!compare(
        Op::Gt,
        Some(&v(json!("abc"))),
        Some(&v(json!(1))),
        None
    ));
    assert!(compare(
        Op::Eq,
        Some(&v(json!(3))),
        Some(&v(json!(3.0))),
        None
    ));
    assert!(compare(
        Op::Eq,
        Some(&v(json!("red"))),
        Some(&v(json!("red"))),
        None
    ));
    assert!(compare(
        Op::Ne,
        Some(&v(json!("green"))),
        Some(&v(json!("red"))),
        None
    ));
    assert!(compare(
        Op::Contains,
        Some(&v(json!(["a", "b"]))),
        Some(&v(json!("b"))),
        None
    ));
    assert!(compare(Op::Exists, Some(&v(json!(0))), None, None));
    assert!(!compare(Op::Exists, None, None, None));
    let re = regex::Regex::new("^v1\\.").unwrap();
    assert!(compare(
        Op::Matches,
        Some(&v(json!("v1.32"))),
        Some(&v(json!("^v1\\."))),
        Some(&re)
    ));
}

#[test]
fn count_rules_count_objects_that_match() {
    let rules_yaml = "rules:\n- name: many-failed\n  severity: warning\n  files: ['workload/pods.yaml']\n  count:\n    where: {path: status.phase, op: eq, value: Failed}\n  op: ge\n  value: 2\n  title: '{count} failed pods in {namespace}'\n  explanation: e\n  nextStep: n\n";
    let rules_ = parse_rules("t", rules_yaml).unwrap();
    let pods =
        list("- status: {phase: Failed}\n- status: {phase: Failed}\n- status: {phase: Running}\n");
    let r = run_with(&[("workload/pods.yaml", &pods)], vec![], "", &rules_);
    assert_eq!(one(&r, "many-failed").title, "2 failed pods in ns");
    let pods = list("- status: {phase: Failed}\n- status: {phase: Running}\n");
    let r = run_with(&[("workload/pods.yaml", &pods)], vec![], "", &rules_);
    assert!(!r.findings.iter().any(|f| f.rule == "many-failed"));
}

#[test]
fn collection_gaps_say_what_they_hide() {
    let errors = vec![
        ErrorEntry {
            node: "nodes".into(),
            task: "nodes".into(),
            status: "failed".into(),
            reason: "list nodes: 403 forbidden".into(),
            attempts: 1,
            optional: true,
            error_kind: None,
        },
        ErrorEntry {
            node: "pod-logs[ns/p-0/app]".into(),
            task: "pod-logs".into(),
            status: "skipped".into(),
            reason: "dependency pods failed".into(),
            attempts: 0,
            optional: false,
            error_kind: None,
        },
    ];
    let r = run_with(
        &[("errors.json", "[\n  {\n    \"node\": \"nodes\",\n  }\n]\n")],
        errors,
        "",
        &[],
    );
    let mut got: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.severity, f.title.clone()))
        .collect();
    got.sort();
    assert_eq!(got[0].0, Severity::Info);
    assert!(got[0].1.contains("nodes failed (optional): the cluster's nodes: node conditions were not checked is missing"), "{got:?}");
    assert_eq!(got[1].0, Severity::Warning);
    assert!(
        got[1]
            .1
            .contains("pod-logs skipped for p-0/app: container logs is missing"),
        "{got:?}"
    );
    assert_eq!(r.header.completeness.status, "partial");
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.severity == Severity::Info)
            .unwrap()
            .evidence[0]
            .lines[0]
            .line,
        3
    );
}

#[test]
fn renderings_text_colour_json_schema() {
    let pods = list(PODS);
    let r = run(&[("workload/pods.yaml", &pods)]);
    let plain = render_text(&r, false);
    assert!(!plain.contains('\x1b'));
    assert!(
        plain.contains("ERROR container app of pod web-0 cannot pull its image"),
        "{plain}"
    );
    // Errors come before warnings.
    assert!(plain.find("ERROR").unwrap() < plain.find("WARNING").unwrap());
    let colour = render_text(&r, true);
    assert!(colour.contains("\x1b[1;31mERROR\x1b[0m"));
    let j: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(j["schemaVersion"], super::REPORT_SCHEMA_VERSION);
    for key in ["header", "counts", "findings", "timeline", "rulesRun"] {
        assert!(j.get(key).is_some(), "{key}");
    }
    let f = &j["findings"][0];
    for key in [
        "rule",
        "severity",
        "title",
        "object",
        "explanation",
        "nextStep",
        "evidence",
    ] {
        assert!(f.get(key).is_some(), "finding.{key}");
    }
    let back: Report = serde_json::from_value(j).unwrap();
    // The embedded evidence files are for the HTML page only, not in the JSON.
    let mut r = r;
    r.files.clear();
    assert_eq!(back, r);
}

/// A missing OperatorVersion is read from the error's kind (the API's 404), not its wording; a
/// 403 that happens to say "not found" in its message is not a missing OperatorVersion.
#[test]
fn a_missing_operator_version_is_known_by_the_errors_status() {
    let entry = |kind: crate::failure::ErrorKind, reason: &str| ErrorEntry {
        node: "operatorversion".into(),
        task: "operatorversion".into(),
        status: "failed".into(),
        reason: reason.into(),
        attempts: 1,
        optional: false,
        error_kind: Some(kind),
    };
    let run = |e: ErrorEntry| {
        run_with(
            &[("instance/instance.yaml", INSTANCE_STUCK)],
            vec![e],
            "2026-01-01T12:00:00Z",
            &[],
        )
    };
    let gone = run(entry(
        crate::failure::ErrorKind::api(404, "NotFound", None),
        "the server has no such object",
    ));
    assert_eq!(
        one(&gone, "kudo.operatorversion-missing").object.name,
        "op-1.0.0"
    );
    let forbidden = run(entry(
        crate::failure::ErrorKind::api(403, "Forbidden", None),
        "user cannot get the resource: not found in the role",
    ));
    assert!(!forbidden
        .findings
        .iter()
        .any(|f| f.rule == "kudo.operatorversion-missing"));
}
