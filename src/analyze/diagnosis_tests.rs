//! Causes and consequences, and the fix computed from the bundle, on small hand-made bundles.

use petgraph::algo::is_cyclic_directed;
use petgraph::graph::DiGraph;

use super::analyze_source;
use super::custom::{parse_rules, BUILTIN_RULES};
use super::links::{builtin, rule_matches};
use super::model::{Report, Severity};
use super::render::{html::render_html, render_json, text::render_text};
use super::source::Source;
use crate::bundle::layout;

fn run(files: &[(&str, String)], extra: &[super::custom::Rule]) -> Report {
    let manifest = super::tests::manifest_for("ns", "db", "2026-01-01T12:00:00Z");
    let src = Source::from_files(files.iter().map(|(a, b)| (*a, b.as_str())), vec![])
        .with_manifest(manifest);
    analyze_source(src, extra).unwrap()
}

fn list(items: &str) -> String {
    format!("apiVersion: v1\nkind: List\nitems:\n{items}")
}

const NODES: &str = "
- metadata: {name: n1}
  status:
    allocatable: {cpu: 3920m, memory: 15180352Ki, pods: '110'}
    conditions: [{type: Ready, status: 'True'}]
- metadata: {name: n2}
  status:
    allocatable: {cpu: 3920m, memory: 15180352Ki, pods: '110'}
    conditions: [{type: Ready, status: 'True'}]
- metadata: {name: n3}
  status:
    allocatable: {cpu: 3920m, memory: 15180352Ki, pods: '110'}
    conditions: [{type: Ready, status: 'True'}]
";

/// A StatefulSet `db` of 3 whose main container requests and is limited to `mib` MiB, with
/// a 512Mi sidecar, one pod per node (required anti-affinity).
fn statefulset(mib: i64) -> String {
    list(&format!(
        "
- kind: StatefulSet
  metadata: {{name: db, namespace: ns}}
  spec:
    replicas: 3
    template:
      metadata: {{labels: {{app: db}}}}
      spec:
        affinity:
          podAntiAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {{matchLabels: {{app: db}}}}
              topologyKey: kubernetes.io/hostname
        containers:
        - name: db
          resources: {{requests: {{cpu: 500m, memory: {mib}Mi}}, limits: {{memory: {mib}Mi}}}}
        - name: exporter
          resources: {{requests: {{memory: 512Mi}}, limits: {{memory: 512Mi}}}}
  status: {{replicas: 3, readyReplicas: 1}}
"
    ))
}

const OWNER: &str = "ownerReferences: [{kind: StatefulSet, name: db, controller: true}]";

fn pods(mib: i64) -> String {
    list(&format!(
        "
- metadata: {{name: db-0, namespace: ns, labels: {{app: db}}, {OWNER}}}
  spec:
    nodeName: n1
    containers: [{{name: db, resources: {{requests: {{memory: {mib}Mi}}, limits: {{memory: {mib}Mi}}}}}}]
  status:
    phase: Running
    containerStatuses:
    - name: db
      restartCount: 7
      state: {{waiting: {{reason: CrashLoopBackOff}}}}
      lastState: {{terminated: {{reason: OOMKilled, exitCode: 137, finishedAt: '2026-01-01T11:50:00Z'}}}}
- metadata: {{name: db-2, namespace: ns, labels: {{app: db}}, {OWNER}}}
  spec:
    containers: [{{name: db, resources: {{requests: {{memory: {mib}Mi}}}}}}]
  status:
    phase: Pending
    conditions:
    - {{type: PodScheduled, status: 'False', reason: Unschedulable, message: '0/3 nodes are available: 3 Insufficient memory.'}}
"
    ))
}

const OPERATOR_VERSION: &str = "
kind: OperatorVersion
metadata: {name: db-1.0, namespace: ns}
spec:
  parameters:
  - {name: MEM_MIB, default: '4096', displayName: Memory Request, description: Memory request of the db containers, hint: In MiB.}
  - {name: MEM_LIMIT_MIB, default: '4096', displayName: Memory Limit, description: Memory limit of the db containers, hint: In MiB.}
  - {name: MAX_HEAP_MB, displayName: Max Heap, description: The maximum JVM heap size in MB, hint: -Xmx - In MB.}
  - {name: REPLICAS, default: '3', description: How many nodes}
";

fn instance(mib: i64) -> String {
    format!(
        "kind: Instance\nmetadata: {{name: db, namespace: ns}}\nspec:\n  operatorVersion: {{name: db-1.0}}\n  parameters:\n    MEM_MIB: '{mib}'\n    MEM_LIMIT_MIB: '{mib}'\n"
    )
}

fn bundle(mib: i64) -> Vec<(&'static str, String)> {
    vec![
        (layout::NODES, list(NODES)),
        (layout::STATEFULSETS, statefulset(mib)),
        (layout::PODS, pods(mib)),
        (layout::INSTANCE, instance(mib)),
        (layout::OPERATOR_VERSION, OPERATOR_VERSION.to_string()),
    ]
}

// workload.too-big-for-nodes (StatefulSet db)
//   -> pod.crash-loop (db-0, OOMKilled)
//   -> pod.pending (db-2, Insufficient memory)
//   -> workload.replicas (db)
#[test]
fn a_request_no_node_can_take_is_the_one_root_with_a_fix_the_placement_confirms() {
    let r = run(&bundle(16384), &[]);
    let root = r.get(&r.root_causes[0]).unwrap();
    assert_eq!(r.root_causes.len(), 1, "{}", render_text(&r, false));
    assert_eq!(root.rule, "workload.too-big-for-nodes");
    assert_eq!(root.object.name, "db");
    for rule in ["pod.crash-loop", "pod.pending"] {
        let f = r.findings.iter().find(|f| f.rule == rule).unwrap();
        assert_eq!(f.caused_by, vec![root.id.clone()], "{rule}");
        assert!(
            f.next_step.contains("root cause"),
            "{rule}: {}",
            f.next_step
        );
        assert!(root.causes.contains(&f.id), "{rule}");
    }
    // Direct links only: the replicas follow from the two pods, not from the root again.
    let replicas = r
        .findings
        .iter()
        .find(|f| f.rule == "workload.replicas")
        .unwrap();
    assert_eq!(
        replicas.caused_by,
        ["pod.crash-loop:Pod/ns/db-0", "pod.pending:Pod/ns/db-2"]
    );
    assert!(replicas.next_step.contains("[workload.too-big-for-nodes]"));
    // 14824 MiB allocatable less the 512 MiB sidecar: 14312, rounded down to 14080.
    let fix = root.fix.as_ref().unwrap();
    let got: Vec<(&str, &str, &str)> = fix
        .parameters
        .iter()
        .map(|c| (c.name.as_str(), c.from.as_str(), c.to.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("MEM_MIB", "16384", "14080"),
            ("MEM_LIMIT_MIB", "16384", "14080"),
            ("MAX_HEAP_MB", "", "6912"),
        ]
    );
    assert_eq!(
        fix.command,
        "kubectl kudo update --instance db -n ns -p MEM_MIB=14080 -p MEM_LIMIT_MIB=14080 -p MAX_HEAP_MB=6912"
    );
    assert!(
        fix.verified
            .contains("with MEM_MIB=14080 all 3 pods fit, on 3 of 3 nodes"),
        "{}",
        fix.verified
    );
    assert!(fix.parameters[0].description.contains("Memory request"));
    // The text leads with it; the consequences are folded beneath it.
    let text = render_text(&r, false);
    assert!(text.contains("Fix this first: 1 root cause"), "{text}");
    let first = text.find("ERROR ").unwrap();
    assert!(text[first..].starts_with("ERROR StatefulSet db asks 16.5 GiB"));
    assert!(
        text.contains("  \u{21b3} ERROR container db of pod db-0"),
        "{text}"
    );
    let html = render_html(&r);
    assert!(html.contains("Fix this first") && html.contains("<details class=\"cons\">"));
    let j: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
    assert_eq!(j["schemaVersion"], 2);
    assert_eq!(j["rootCauses"][0], root.id.as_str());
    assert!(j["findings"][0]["causes"].as_array().unwrap().len() >= 2);
    assert_eq!(j["findings"][0]["fix"]["command"], fix.command.as_str());
}

#[test]
fn other_namespaces_pods_in_the_node_context_take_their_share_of_each_node() {
    use crate::bundle::nodepods::{ContainerRow, NodePods, NodeRow, PodRow};
    use crate::preflight::quantity::{bytes, fmt_bytes};
    let too_big = |r: &Report| {
        r.findings
            .iter()
            .find(|f| f.rule == "workload.too-big-for-nodes")
            .cloned()
    };
    // 12288Mi + a 512Mi sidecar fits a node alone...
    assert!(too_big(&run(&bundle(12288), &[])).is_none());
    // ...but not beside another namespace's 3Gi pod on every node (and the table's copy of
    // the workload's own db-0 is not counted a second time).
    let row = |ns: &str, name: &str, mem: &str| PodRow {
        namespace: ns.into(),
        name: name.into(),
        phase: "Running".into(),
        containers: vec![ContainerRow {
            name: "c".into(),
            requests: [("memory".to_string(), mem.to_string())].into(),
            ..ContainerRow::default()
        }],
        ..PodRow::default()
    };
    let table = NodePods {
        nodes: ["n1", "n2", "n3"]
            .iter()
            .map(|n| NodeRow {
                name: n.to_string(),
                pods: vec![row("batch", &format!("etl-{n}"), "3Gi")]
                    .into_iter()
                    .chain((*n == "n1").then(|| row("ns", "db-0", "12288Mi")))
                    .collect(),
            })
            .collect(),
    };
    let mut files = bundle(12288);
    files.push((layout::NODE_PODS, table.to_text()));
    let f = too_big(&run(&files, &[])).expect("the other pods leave too little");
    let free = bytes("15180352Ki").unwrap() - bytes("3Gi").unwrap();
    assert!(
        f.title
            .ends_with(&format!("no node has more than {} free", fmt_bytes(free))),
        "{}",
        f.title
    );
}

#[test]
fn a_request_that_fits_makes_no_capacity_finding() {
    let r = run(&bundle(4096), &[]);
    assert!(!r
        .findings
        .iter()
        .any(|f| f.rule == "workload.too-big-for-nodes"));
    // The crash loop is then its own root, and its advice names the operator's parameters.
    let crash = r
        .findings
        .iter()
        .find(|f| f.rule == "pod.crash-loop")
        .unwrap();
    assert!(crash.caused_by.is_empty());
    assert!(
        crash
            .next_step
            .contains("the limit is MEM_LIMIT_MIB (now 4096)")
            && crash.next_step.contains("the heap is MAX_HEAP_MB"),
        "{}",
        crash.next_step
    );
}

/// Every rule name the analysis knows: what it reports having run on a bundle that makes
/// every application's rules run, plus the built-in YAML rules.
fn known_rules() -> Vec<String> {
    let files = [
        ("apps/cassandra/p/nodetool-status.txt", String::new()),
        ("apps/zookeeper/p/srvr.txt", String::new()),
        (layout::KAFKA_TOPICS, String::new()),
        (layout::NODES, list(NODES)),
    ];
    let mut names = run(&files, &[]).rules_run;
    for r in parse_rules("builtin", BUILTIN_RULES).unwrap() {
        names.push(r.spec.name.clone());
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_declared_links_between_rules_form_no_cycle() {
    let names = known_rules();
    let mut links = builtin();
    for r in parse_rules("builtin", BUILTIN_RULES).unwrap() {
        links.extend(r.links.clone());
    }
    let mut g = DiGraph::<&str, ()>::new();
    let idx: Vec<_> = names.iter().map(|n| g.add_node(n.as_str())).collect();
    for l in &links {
        let cons: Vec<usize> = (0..names.len())
            .filter(|i| rule_matches(&l.consequence, &names[*i]))
            .collect();
        assert!(
            !cons.is_empty(),
            "link for an unknown rule {}",
            l.consequence
        );
        let causes: Vec<usize> = (0..names.len())
            .filter(|i| rule_matches(&l.cause, &names[*i]))
            .collect();
        assert!(!causes.is_empty(), "link from an unknown rule {}", l.cause);
        for c in &cons {
            for k in &causes {
                g.update_edge(idx[*k], idx[*c], ());
            }
        }
    }
    assert!(!is_cyclic_directed(&g));
}

#[test]
fn yaml_rules_declare_their_causes_and_a_cycle_is_never_closed() {
    let bad = "rules:\n- {name: a, severity: warning, files: [x], regex: x, title: t, explanation: e, nextStep: n, causedBy: [{rule: b, when: '('}]}\n";
    let e = parse_rules("bad.yaml", bad).unwrap_err();
    assert!(e.contains("bad.yaml: rule 1 (a): causedBy `when`"), "{e}");
    let bad = "rules:\n- {name: a, severity: warning, files: [x], regex: x, title: t, explanation: e, nextStep: n, causedBy: [{rule: b, scope: pod}]}\n";
    assert!(parse_rules("bad.yaml", bad).unwrap_err().contains("scope"));
    // a <- b and b <- a, both in one file: only the first link declared holds.
    let two = "rules:
- {name: my.a, severity: warning, files: [pods/*/logs/*.log], regex: boom, title: a, explanation: e, nextStep: fix a, causedBy: [{rule: my.b, scope: object}]}
- {name: my.b, severity: error, files: [pods/*/logs/*.log], regex: boom, title: b, explanation: e, nextStep: fix b, causedBy: [{rule: my.a}]}
";
    let rules = parse_rules("two.yaml", two).unwrap();
    let r = run(
        &[(
            "pods/p/logs/c.log",
            "2026-01-01 11:30:00 boom\n".to_string(),
        )],
        &rules,
    );
    let a = r.findings.iter().find(|f| f.rule == "my.a").unwrap();
    let b = r.findings.iter().find(|f| f.rule == "my.b").unwrap();
    assert_eq!(a.caused_by, vec![b.id.clone()]);
    assert!(b.caused_by.is_empty());
    assert_eq!(r.root_causes, vec![b.id.clone()]);
    assert_eq!(
        a.next_step,
        "This follows from the root cause \"b\" [my.b]; fix that first (fix b)."
    );
    // A root is as severe as what it causes.
    assert_eq!(b.severity, Severity::Error);
}

/// A cluster an hour after a rolling update, with week-old trouble that stopped: nothing in
/// it is an error or a warning, and what stopped is kept as notes.
#[test]
fn benign_history_is_not_an_alarm_and_old_trouble_is_a_note() {
    let nodes = list(
        "- metadata: {name: n1}\n  status:\n    conditions: [{type: Ready, status: 'True', lastHeartbeatTime: '2026-01-01T11:58:00Z'}]\n",
    );
    let pods = list(
        "
- metadata: {name: web-0, namespace: ns}
  status:
    phase: Running
    conditions: [{type: Ready, status: 'True'}]
    containerStatuses:
    - name: web
      ready: true
      restartCount: 9
      state: {running: {startedAt: '2026-01-01T11:00:00Z'}}
      lastState: {terminated: {reason: Completed, exitCode: 0, finishedAt: '2026-01-01T10:59:00Z'}}
    - name: worker
      ready: true
      restartCount: 6
      state: {running: {startedAt: '2025-12-25T09:00:00Z'}}
      lastState: {terminated: {reason: Error, exitCode: 1, finishedAt: '2025-12-25T08:59:00Z'}}
",
    );
    let events = list(
        "
- metadata: {name: e1, namespace: ns}
  involvedObject: {kind: Pod, name: web-0}
  reason: Unhealthy
  type: Warning
  message: 'Readiness probe failed: HTTP probe failed with statuscode: 503'
  count: 4
  firstTimestamp: '2025-12-25T08:50:00Z'
  lastTimestamp: '2025-12-25T09:01:00Z'
",
    );
    let log = "2025-12-25 08:58:00,001 ERROR [flush] java.io.IOException: No space left on device\n\
               2026-01-01 11:30:00,000 WARN  [Service Thread] GCInspector.java:285 - ConcurrentMarkSweep GC in 1200ms.  CMS Old Gen: 1 -> 2\n\
               2026-01-01 11:31:00,000 INFO  [main] JvmPauseMonitor - Detected pause in JVM or host machine (eg GC): pause of approximately 1500ms\n";
    let inst = "kind: Instance\nmetadata: {name: db, namespace: ns}\nstatus:\n  planStatus:\n    deploy: {name: deploy, status: COMPLETE, lastUpdatedTimestamp: '2026-01-01T11:00:00Z'}\n    update: {name: update, status: COMPLETE, lastUpdatedTimestamp: '2025-12-25T08:00:00Z'}\n";
    let r = run(
        &[
            (layout::NODES, nodes),
            (layout::PODS, pods),
            (layout::EVENTS, events),
            ("pods/web-0/logs/web.log", log.to_string()),
            (layout::INSTANCE, inst.to_string()),
        ],
        &[],
    );
    let loud: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| f.title.as_str())
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
    let notes: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.title.as_str()))
        .collect();
    // The clean restarts (exit code 0) are not mentioned; the old ones are notes with their age.
    assert!(
        !notes.iter().any(|(_, t)| t.contains("container web ")),
        "{notes:#?}"
    );
    for (rule, age) in [
        (
            "pod.high-restarts",
            "the last time 170 h before the collection",
        ),
        ("pod.probe-failing", "stopped 170 h before the collection"),
        ("logs.no-space-left", "the last 170 h before the collection"),
    ] {
        assert!(
            notes.iter().any(|(r, t)| *r == rule && t.contains(age)),
            "{rule}: {notes:#?}"
        );
    }
    // The same probe failures ten minutes before the collection are a warning.
    let recent = list(
        "- metadata: {name: e1, namespace: ns}\n  involvedObject: {kind: Pod, name: web-0}\n  reason: Unhealthy\n  message: 'Readiness probe failed: timeout'\n  lastTimestamp: '2026-01-01T11:50:00Z'\n",
    );
    let r = run(&[(layout::EVENTS, recent)], &[]);
    assert_eq!(r.findings[0].severity, Severity::Warning);
}

#[test]
fn html_evidence_links_to_the_whole_file_embedded_and_lane_labels_stay_distinct() {
    let r = run(&bundle(16384), &[]);
    let html = render_html(&r);
    // The quoted lines link to their line in the embedded file, which is there whole.
    let i = r
        .files
        .keys()
        .position(|p| p == layout::STATEFULSETS)
        .unwrap();
    assert!(html.contains(&format!(
        "<a href=\"#file-{i}\"><code>workload/statefulsets.yaml</code></a>"
    )));
    assert!(html.contains(&format!("<section class=\"file\" id=\"file-{i}\">")));
    let lines = r.files[layout::STATEFULSETS].lines().count();
    assert!(
        html.contains(&format!("id=\"file-{i}-L{lines}\"")),
        "last line anchored"
    );
    // Three claims of one StatefulSet keep their distinguishing ends.
    let labels: std::collections::BTreeSet<String> = (0..3)
        .map(|n| {
            super::render::html::lane_label(&format!(
                "PVC production/var-lib-cassandra-analytics-cassandra-node-{n}"
            ))
        })
        .collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels.iter().all(|l| l.chars().count() <= 42));
}

/// A bundle with a dependency (`dependencies/ns/zk/`): its rules run on its own files, its
/// findings name it and quote the bundle's paths, the collected instance never reads its files,
/// and a finding of the collected instance links to the dependency's fault across instances.
#[test]
fn a_dependencys_fault_is_the_root_of_the_instances_findings() {
    let zk_pod = "
- apiVersion: v1
  kind: Pod
  metadata: {name: zk-0, namespace: ns}
  spec: {containers: [{name: zookeeper, resources: {limits: {memory: 1Gi}}}]}
  status:
    phase: Running
    containerStatuses:
    - name: zookeeper
      ready: false
      restartCount: 6
      state: {waiting: {reason: CrashLoopBackOff}}
      lastState: {terminated: {exitCode: 137, reason: OOMKilled, finishedAt: '2026-01-01T11:45:00Z'}}
";
    let files = [
        (
            layout::INSTANCE,
            "kind: Instance\nmetadata: {name: db, namespace: ns, labels: {kudo.dev/operator: kafka}}\n".to_string(),
        ),
        (
            "pods/db-0/logs/kafka.log",
            "[2026-01-01 11:46:02,117] WARN Unable to reconnect to ZooKeeper service, session 0x1 has expired (org.apache.zookeeper.ClientCnxn)\n".to_string(),
        ),
        (
            "dependencies/ns/zk/instance/instance.yaml",
            "kind: Instance\nmetadata: {name: zk, namespace: ns, labels: {kudo.dev/operator: zookeeper}}\n".to_string(),
        ),
        ("dependencies/ns/zk/workload/pods.yaml", list(zk_pod)),
        (layout::NODES, list(NODES)),
        (
            layout::CHILD_INSTANCES,
            list("- kind: Instance\n  metadata: {name: zk, namespace: ns}\n  status: {aggregatedStatus: {status: FATAL_ERROR, activePlanName: deploy}}\n"),
        ),
    ];
    let r = run(&files, &[]);
    let crash = r
        .findings
        .iter()
        .find(|f| f.rule == "pod.crash-loop")
        .unwrap();
    assert_eq!(crash.instance, "ns/zk");
    assert!(crash
        .evidence
        .iter()
        .all(|e| e.path.starts_with("dependencies/ns/zk/")));
    // Only once: the collected instance does not see the dependency's pods as its own.
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.rule == "pod.crash-loop")
            .count(),
        1
    );
    let lost = r
        .findings
        .iter()
        .find(|f| f.rule == "kafka.log-zookeeper-unreachable")
        .unwrap();
    assert!(lost.instance.is_empty());
    assert_eq!(lost.caused_by, vec![crash.id.clone()]);
    assert_eq!(r.root_causes.first(), Some(&crash.id));
    // The parent's finding about its failed child follows from what is wrong in the child.
    let child = r
        .findings
        .iter()
        .find(|f| f.rule == "kudo.child-instance")
        .unwrap();
    assert_eq!(child.caused_by, vec![crash.id.clone()]);
    assert!(render_text(&r, false).contains("(dependency: instance ns/zk)"));
    // A dependency whose Instance could not be collected is still analyzed, by its folder.
    let without: Vec<(&str, String)> = files
        .iter()
        .filter(|(p, _)| *p != "dependencies/ns/zk/instance/instance.yaml")
        .cloned()
        .collect();
    let r = run(&without, &[]);
    let crash = r
        .findings
        .iter()
        .find(|f| f.rule == "pod.crash-loop")
        .unwrap();
    assert_eq!(crash.instance, "ns/zk");
    // Without the dependency in the bundle, nothing links, and the child is to be collected.
    let alone = run(&[files[0].clone(), files[1].clone(), files[5].clone()], &[]);
    let child = alone
        .findings
        .iter()
        .find(|f| f.rule == "kudo.child-instance")
        .unwrap();
    assert!(
        child
            .next_step
            .contains("kudo-diag run --instance zk -n ns"),
        "{}",
        child.next_step
    );
    let lost = alone
        .findings
        .iter()
        .find(|f| f.rule == "kafka.log-zookeeper-unreachable")
        .unwrap();
    assert!(lost.caused_by.is_empty());
}
