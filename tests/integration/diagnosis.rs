//! Diagnosis of faults the rules were not written against: each fault scenario of the simulated
//! cluster (src/sim/scenarios/build/faults.py) is collected with its operator's built-in
//! pipeline, with the other scenarios (analyze.rs collects them all once per run), and
//! analyzed. The report's first root cause must be the one a person would name, with the real
//! object in its text or evidence; the noisy-but-healthy scenario must report no error and no
//! warning. That no two findings advise opposite changes is checked over these scenarios too
//! (analyze.rs, `no_two_findings_advise_opposite_changes_on_any_scenario`).

use kudo_diag::analyze::{self, Report, Severity};

/// One fault scenario and what its diagnosis must lead with.
pub struct Fault {
    pub scenario: &'static str,
    pub pipeline: &'static str,
    pub instance: &'static str,
    pub namespace: &'static str,
    /// The first root cause's rule, and its object's name.
    pub root: (&'static str, &'static str),
    /// Text the first root cause must show (title, explanation, next step or evidence): the
    /// real object the fault is about.
    pub names: &'static [&'static str],
    /// (rule, object name) findings that must fold beneath a root cause, not stand alone.
    pub beneath: &'static [(&'static str, &'static str)],
}

pub const FAULTS: &[Fault] = &[
    Fault {
        scenario: "cassandra-disk-full",
        pipeline: "cassandra",
        instance: "analytics-cassandra",
        namespace: "production",
        root: ("pod.volume-full", "analytics-cassandra-node-2"),
        names: &[
            "var-lib-cassandra-analytics-cassandra-node-2",
            "20Gi",
            "No space left on device",
            "kubectl patch pvc var-lib-cassandra-analytics-cassandra-node-2",
        ],
        beneath: &[
            ("pod.crash-loop", "analytics-cassandra-node-2"),
            ("cassandra.node-down", "analytics-cassandra"),
            ("logs.no-space-left", "analytics-cassandra-node-2"),
        ],
    },
    Fault {
        scenario: "cassandra-image-pull",
        pipeline: "cassandra",
        instance: "analytics-cassandra",
        namespace: "production",
        root: ("pod.image-pull", "analytics-cassandra-node-2"),
        names: &[
            "mesosphere/cassandra:3.11.8-1.0.4",
            "not found",
            "NODE_DOCKER_IMAGE",
            "-p NODE_DOCKER_IMAGE=mesosphere/cassandra:3.11.7-1.0.3",
        ],
        beneath: &[
            ("kudo.plan-stuck", "analytics-cassandra"),
            ("workload.replicas", "analytics-cassandra-node"),
        ],
    },
    Fault {
        scenario: "cassandra-storageclass-missing",
        pipeline: "cassandra",
        instance: "analytics-cassandra",
        namespace: "production",
        root: (
            "workload.pvc",
            "var-lib-cassandra-analytics-cassandra-node-0",
        ),
        names: &[
            "StorageClass fast-ssd does not exist",
            "storageclass.storage.k8s.io \"fast-ssd\" not found",
            "NODE_STORAGE_CLASS",
            "gp2 (default)",
        ],
        beneath: &[
            ("pod.pending", "analytics-cassandra-node-0"),
            ("kudo.plan-stuck", "analytics-cassandra"),
        ],
    },
    Fault {
        scenario: "cassandra-missing-secret",
        pipeline: "cassandra",
        instance: "analytics-cassandra",
        namespace: "production",
        root: ("pod.container-waiting", "analytics-cassandra-node-2"),
        names: &[
            "secret \"cassandra-backup-aws\" not found",
            "kubectl create secret generic cassandra-backup-aws -n production --from-literal=access-key=... --from-literal=secret-key=...",
            "BACKUP_AWS_CREDENTIALS_SECRET",
        ],
        beneath: &[
            ("kudo.plan-stuck", "analytics-cassandra"),
            ("workload.replicas", "analytics-cassandra-node"),
        ],
    },
    Fault {
        scenario: "cassandra-node-notready",
        pipeline: "cassandra",
        instance: "analytics-cassandra",
        namespace: "production",
        root: ("node.not-ready", "ip-10-0-3-54.ec2.internal"),
        names: &[
            "Kubelet stopped posting node status",
            "node.kubernetes.io/unreachable:NoExecute",
            "analytics-cassandra-node-2 (Terminating)",
        ],
        beneath: &[
            ("pod.not-ready", "analytics-cassandra-node-2"),
            ("cassandra.node-down", "analytics-cassandra"),
            ("workload.replicas", "analytics-cassandra-node"),
        ],
    },
    Fault {
        scenario: "zookeeper-quorum-lost",
        pipeline: "zookeeper",
        instance: "zookeeper-instance",
        namespace: "my-namespace",
        root: ("pod.crash-loop", "zookeeper-instance-zookeeper-0"),
        names: &["Unable to load database on disk", "exit code 1"],
        beneath: &[
            ("zookeeper.quorum-lost", "zookeeper-instance"),
            ("workload.replicas", "zookeeper-instance-zookeeper"),
        ],
    },
];

/// Scenarios that must come out clean: no error, no warning.
pub const NOISY: &[(&str, &str, &str, &str)] = &[(
    "zookeeper-noisy",
    "zookeeper",
    "zookeeper-instance",
    "my-namespace",
)];

/// (scenario, pipeline, instance, namespace) of every scenario here, for analyze.rs to collect.
pub fn collected() -> impl Iterator<Item = (&'static str, &'static str, &'static str, &'static str)>
{
    FAULTS
        .iter()
        .map(|f| (f.scenario, f.pipeline, f.instance, f.namespace))
        .chain(NOISY.iter().copied())
}

/// Everything a reader sees of a finding: title, explanation, next step, fix, evidence.
fn shown(f: &analyze::Finding) -> String {
    let mut t = format!("{}\n{}\n{}\n", f.title, f.explanation, f.next_step);
    if let Some(fix) = &f.fix {
        t.push_str(&fix.command);
    }
    for e in &f.evidence {
        t.push_str(&format!("\n{}", e.path));
        for l in &e.lines {
            t.push_str(&format!("\n{}", l.text));
        }
    }
    t
}

fn first_root(r: &Report) -> &analyze::Finding {
    let id = r.root_causes.first().expect("a root cause");
    r.get(id).expect("the root cause's finding")
}

#[test]
fn each_fault_scenario_leads_with_the_root_cause_a_person_would_name() {
    for f in FAULTS {
        let r = crate::analyze::report(f.scenario);
        let text = analyze::render_text(&r, false);
        let root = first_root(&r);
        assert_eq!(
            (root.rule.as_str(), root.object.name.as_str()),
            f.root,
            "{}: the first root cause\n{text}",
            f.scenario
        );
        assert_eq!(root.severity, Severity::Error, "{}\n{text}", f.scenario);
        let seen = shown(root);
        for n in f.names {
            assert!(
                seen.contains(n),
                "{}: the root cause does not show {n:?}:\n{seen}",
                f.scenario
            );
        }
        // The report leads with it too: the first finding of the text is the root.
        assert!(
            r.findings.first().map(|x| &x.id) == Some(&root.id),
            "{}: sorted first is {:?}",
            f.scenario,
            r.findings.first().map(|x| &x.id)
        );
        for (rule, object) in f.beneath {
            let c = r
                .findings
                .iter()
                .find(|x| x.rule == *rule && x.object.name == *object)
                .unwrap_or_else(|| panic!("{}: no {rule} on {object}\n{text}", f.scenario));
            assert!(
                !c.caused_by.is_empty(),
                "{}: {rule} on {object} stands alone instead of under its cause\n{text}",
                f.scenario
            );
            assert!(
                r.folded().iter().any(|(d, x)| x.id == c.id && *d > 0),
                "{}: {} is not folded beneath a root\n{text}",
                f.scenario,
                c.id
            );
        }
    }
}

#[test]
fn zookeeper_quorum_loss_is_read_from_the_survivors_answers() {
    let r = crate::analyze::report("zookeeper-quorum-lost");
    let q = r
        .findings
        .iter()
        .find(|f| f.rule == "zookeeper.quorum-lost")
        .expect("a quorum-lost finding");
    assert!(
        q.title.contains("0 of 3 servers serve, 2 needed")
            && q.title.contains("zookeeper-instance-zookeeper-0")
            && q.title.contains("zookeeper-instance-zookeeper-2"),
        "{}",
        q.title
    );
    let ev = shown(q);
    assert!(
        ev.contains("This ZooKeeper instance is not currently serving requests"),
        "{ev}"
    );
    assert!(ev.contains("Cannot open channel to"), "{ev}");
    // Both servers that are down cause it: each crash loop is a root of its own.
    for down in [
        "zookeeper-instance-zookeeper-0",
        "zookeeper-instance-zookeeper-2",
    ] {
        let id = format!("pod.crash-loop:Pod/my-namespace/{down}");
        assert!(q.caused_by.contains(&id), "{:?}", q.caused_by);
        assert!(r.root_causes.contains(&id), "{:?}", r.root_causes);
    }
    // The healthy ensemble has no such finding (checked in analyze.rs: no warning at all).
}

#[test]
fn a_healthy_but_noisy_instance_reports_no_error_and_no_warning() {
    for (name, ..) in NOISY {
        let r = crate::analyze::report(name);
        let text = analyze::render_text(&r, false);
        let loud: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .map(|f| format!("{} {}", f.rule, f.title))
            .collect();
        assert!(loud.is_empty(), "{name}: {loud:#?}\n{text}");
        // The history is seen, as notes with their age, not ignored.
        assert!(
            r.findings
                .iter()
                .any(|f| f.rule == "pod.probe-failing" && f.severity == Severity::Info),
            "{name}: the week-old probe failures are a note\n{text}"
        );
        assert!(
            r.findings.iter().any(|f| f.rule == "collection.refused"),
            "{name}: the whitelist's refusals are a note\n{text}"
        );
    }
}
