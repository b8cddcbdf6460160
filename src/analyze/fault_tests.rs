//! The rules for full volumes, missing StorageClasses, missing Secrets and keys, image pulls and
//! lost ZooKeeper quorums on hand-made bundles shaped unlike the simulated cluster's scenarios
//! (another application, other paths, names and sizes), so that they are known to hold for the
//! general case and to stay quiet, or become notes, where they should.

use super::analyze_source;
use super::model::{Finding, Report, Severity};
use super::source::Source;

fn run(files: &[(&str, String)]) -> Report {
    let manifest = super::tests::manifest_for("kafka", "events", "2026-03-10T12:00:00Z");
    let src = Source::from_files(files.iter().map(|(a, b)| (*a, b.as_str())), vec![])
        .with_manifest(manifest);
    analyze_source(src, &[]).unwrap()
}

fn list(items: &str) -> String {
    format!("apiVersion: v1\nkind: List\nitems:\n{items}")
}

fn find<'a>(r: &'a Report, rule: &str) -> Vec<&'a Finding> {
    r.findings.iter().filter(|f| f.rule == rule).collect()
}

/// A Kafka broker whose container mounts claim `data-broker-1` at /var/lib/kafka (and an
/// emptyDir at /tmp), crash-looping when `crashing`.
fn broker(crashing: bool) -> String {
    let state = if crashing {
        "state: {waiting: {reason: CrashLoopBackOff}}\n      lastState: {terminated: {reason: Error, exitCode: 1, finishedAt: '2026-03-10T11:58:00Z'}}\n      restartCount: 4"
    } else {
        "state: {running: {startedAt: '2026-03-01T00:00:00Z'}}\n      restartCount: 0"
    };
    list(&format!(
        "- metadata:
    name: broker-1
    namespace: kafka
    ownerReferences: [{{kind: StatefulSet, name: broker, controller: true}}]
  spec:
    nodeName: n1
    containers:
    - name: kafka
      image: example/kafka:3.7
      volumeMounts: [{{name: data, mountPath: /var/lib/kafka}}, {{name: scratch, mountPath: /tmp}}]
    volumes:
    - {{name: data, persistentVolumeClaim: {{claimName: data-broker-1}}}}
    - {{name: scratch, emptyDir: {{}}}}
  status:
    phase: Running
    containerStatuses:
    - name: kafka
      image: example/kafka:3.7
      {state}
"
    ))
}

fn claims(class: &str) -> String {
    list(&format!(
        "- metadata: {{name: data-broker-1, namespace: kafka}}\n  spec: {{storageClassName: {class}, resources: {{requests: {{storage: 100Gi}}}}}}\n  status: {{phase: Bound, capacity: {{storage: 100Gi}}}}\n"
    ))
}

const CLASSES: &str = "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: standard-rwo, annotations: {storageclass.kubernetes.io/is-default-class: 'true'}}\n  provisioner: pd.csi.storage.gke.io\n  allowVolumeExpansion: true\n- metadata: {name: slow}\n  provisioner: kubernetes.io/no-provisioner\n";

const NODES: &str = "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: n1}\n  status:\n    conditions: [{type: Ready, status: 'True', lastHeartbeatTime: '2026-03-10T11:59:00Z'}]\n";

#[test]
fn a_full_volume_is_named_by_the_path_its_log_writes_to() {
    let log = "[2026-03-10 11:57:59,001] INFO [Log partition=orders-3, dir=/var/lib/kafka/data] Rolled new log segment (kafka.log.Log)\n\
[2026-03-10 11:58:00,123] ERROR Error while appending records to orders-3 in dir /var/lib/kafka/data (kafka.server.LogDirFailureChannel)\n\
java.io.IOException: No space left on device\n\
\tat java.base/sun.nio.ch.FileDispatcherImpl.write0(Native Method)\n";
    for (class, expands) in [("standard-rwo", true), ("slow", false)] {
        let r = run(&[
            ("workload/pods.yaml", broker(true)),
            ("workload/persistentvolumeclaims.yaml", claims(class)),
            ("cluster/storageclasses.yaml", CLASSES.into()),
            ("cluster/nodes.yaml", NODES.into()),
            ("pods/broker-1/logs/kafka.previous.log", log.into()),
        ]);
        let full = find(&r, "pod.volume-full");
        assert_eq!(full.len(), 1, "{:#?}", r.findings);
        let f = full[0];
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.title.contains("data-broker-1 (100Gi)")
                && f.explanation.contains("/var/lib/kafka/data"),
            "{f:#?}"
        );
        assert_eq!(
            f.next_step
                .contains("kubectl patch pvc data-broker-1 -n kafka")
                && f.next_step.contains("\"storage\":\"200Gi\""),
            expands,
            "{}",
            f.next_step
        );
        // The crash loop and the YAML log rule fold beneath it.
        for rule in ["pod.crash-loop", "logs.no-space-left"] {
            let c = find(&r, rule);
            assert_eq!(c.len(), 1, "{rule}: {:#?}", r.findings);
            assert_eq!(c[0].caused_by, vec![f.id.clone()], "{rule}");
        }
        assert_eq!(r.root_causes, vec![f.id.clone()]);
    }
}

#[test]
fn enospc_off_any_claim_and_old_enospc_are_said_as_such() {
    // A write to the emptyDir: no claim to expand.
    let tmp = "2026-03-10T11:59:00Z cannot write /tmp/spill-0001: No space left on device\n";
    let r = run(&[
        ("workload/pods.yaml", broker(false)),
        (
            "workload/persistentvolumeclaims.yaml",
            claims("standard-rwo"),
        ),
        ("cluster/nodes.yaml", NODES.into()),
        ("pods/broker-1/logs/kafka.log", tmp.into()),
    ]);
    let f = find(&r, "pod.volume-full");
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    assert!(
        f[0].explanation.contains("on no PersistentVolumeClaim"),
        "{f:#?}"
    );
    assert!(!f[0].next_step.contains("patch pvc"), "{f:#?}");
    // Nine days before the cluster's latest time: history, a note with its age.
    let old = "2026-03-01T08:00:00Z write /var/lib/kafka/data/x.log: No space left on device\n";
    let r = run(&[
        ("workload/pods.yaml", broker(false)),
        (
            "workload/persistentvolumeclaims.yaml",
            claims("standard-rwo"),
        ),
        ("cluster/nodes.yaml", NODES.into()),
        ("pods/broker-1/logs/kafka.log", old.into()),
    ]);
    let f = find(&r, "pod.volume-full");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Info, "{f:#?}");
    assert!(
        f[0].title.contains("h before the collection"),
        "{}",
        f[0].title
    );
    // No ENOSPC: nothing.
    let r = run(&[
        ("workload/pods.yaml", broker(false)),
        ("pods/broker-1/logs/kafka.log", "all good\n".into()),
    ]);
    assert!(find(&r, "pod.volume-full").is_empty());
}

fn pending_claim(class: &str) -> String {
    list(&format!(
        "- metadata: {{name: data-broker-0, namespace: kafka}}\n  spec: {{storageClassName: {class}}}\n  status: {{phase: Pending}}\n"
    ))
}

#[test]
fn a_pending_claim_names_a_storage_class_that_does_not_exist() {
    let events = list(
        "- metadata: {name: data-broker-0.1, namespace: kafka}\n  involvedObject: {kind: PersistentVolumeClaim, name: data-broker-0}\n  reason: ProvisioningFailed\n  type: Warning\n  message: storageclass.storage.k8s.io \"premium-rwo\" not found\n",
    );
    let r = run(&[
        (
            "workload/persistentvolumeclaims.yaml",
            pending_claim("premium-rwo"),
        ),
        ("workload/events.yaml", events),
        ("cluster/storageclasses.yaml", CLASSES.into()),
    ]);
    let f = find(&r, "workload.pvc");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Error);
    assert!(
        f[0].title
            .ends_with("StorageClass premium-rwo does not exist"),
        "{}",
        f[0].title
    );
    assert!(
        f[0].explanation.contains("standard-rwo (default), slow"),
        "{}",
        f[0].explanation
    );
    assert!(f[0].evidence.iter().any(|e| e
        .lines
        .iter()
        .any(|l| l.text.contains("\"premium-rwo\" not found"))));
    // A class that exists: a claim waiting for its provisioner, a warning as before.
    let r = run(&[
        (
            "workload/persistentvolumeclaims.yaml",
            pending_claim("slow"),
        ),
        ("cluster/storageclasses.yaml", CLASSES.into()),
    ]);
    let f = find(&r, "workload.pvc");
    assert_eq!((f.len(), f[0].severity), (1, Severity::Warning));
    assert!(!f[0].title.contains("does not exist"));
}

fn waiting(reason: &str, message: &str) -> String {
    list(&format!(
        "- metadata: {{name: api-7d9c-x2, namespace: kafka, ownerReferences: [{{kind: ReplicaSet, name: api-7d9c, controller: true}}], labels: {{pod-template-hash: 7d9c}}}}
  spec:
    containers:
    - name: api
      image: example/api:2.1
      env:
      - {{name: DB_USER, valueFrom: {{secretKeyRef: {{name: db-creds, key: username}}}}}}
      - {{name: DB_PASS, valueFrom: {{secretKeyRef: {{name: db-creds, key: password}}}}}}
      - {{name: DB_CA, valueFrom: {{secretKeyRef: {{name: db-creds, key: ca, optional: true}}}}}}
  status:
    phase: Pending
    containerStatuses:
    - {{name: api, image: example/api:2.1, state: {{waiting: {{reason: {reason}, message: '{}'}}}}}}
",
        message.replace('\'', "''")
    ))
}

#[test]
fn a_missing_secret_or_key_says_what_to_create() {
    let r = run(&[(
        "workload/pods.yaml",
        waiting(
            "CreateContainerConfigError",
            "secret \"db-creds\" not found",
        ),
    )]);
    let f = find(&r, "pod.container-waiting");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].next_step.contains(
            "kubectl create secret generic db-creds -n kafka --from-literal=username=... --from-literal=password=..."
        ),
        "{}",
        f[0].next_step
    );
    let r = run(&[(
        "workload/pods.yaml",
        waiting(
            "CreateContainerConfigError",
            "couldn't find key password in Secret kafka/db-creds",
        ),
    )]);
    let f = find(&r, "pod.container-waiting");
    assert!(
        f[0].next_step
            .contains("Secret db-creds exists but has no key password"),
        "{}",
        f[0].next_step
    );
    // Another cause: the general advice.
    let r = run(&[(
        "workload/pods.yaml",
        waiting("CreateContainerError", "failed to reserve container name"),
    )]);
    assert!(find(&r, "pod.container-waiting")[0]
        .next_step
        .starts_with("A missing ConfigMap, Secret or key"));
}

#[test]
fn zookeeper_quorum_of_five_counts_from_zoo_cfg() {
    let cfg: String = (0..5)
        .map(|i| {
            format!(
                "server.{}=zk-{i}.zk-hs.kafka.svc.cluster.local:2888:3888\n",
                i + 1
            )
        })
        .collect();
    let ns = "This ZooKeeper instance is not currently serving requests\n";
    let r = run(&[
        ("apps/zookeeper/zk-0/srvr.txt", ns.into()),
        ("apps/zookeeper/zk-3/srvr.txt", ns.into()),
        ("apps/zookeeper/zk-0/zoo.cfg", cfg.clone()),
        ("apps/zookeeper/zk-3/zoo.cfg", cfg),
    ]);
    let f = find(&r, "zookeeper.quorum-lost");
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    assert!(
        f[0].title
            .contains("0 of 5 servers serve, 3 needed; down: zk-1, zk-2, zk-4"),
        "{}",
        f[0].title
    );
    assert!(find(&r, "zookeeper.no-leader").is_empty());
    // Serving servers: no quorum finding.
    let r = run(&[(
        "apps/zookeeper/zk-0/srvr.txt",
        "Zookeeper version: 3.8.4\nMode: leader\n".into(),
    )]);
    assert!(find(&r, "zookeeper.quorum-lost").is_empty());
}

#[test]
fn an_oom_kill_of_last_week_is_a_note_and_of_the_last_hour_an_error() {
    for (finished, sev) in [
        ("2026-03-03T09:00:00Z", Severity::Info),
        ("2026-03-10T11:40:00Z", Severity::Error),
    ] {
        let pods = list(&format!(
            "- metadata: {{name: broker-0, namespace: kafka}}
  spec: {{containers: [{{name: kafka, resources: {{limits: {{memory: 2Gi}}}}}}]}}
  status:
    phase: Running
    containerStatuses:
    - name: kafka
      restartCount: 1
      state: {{running: {{startedAt: '{finished}'}}}}
      lastState: {{terminated: {{reason: OOMKilled, exitCode: 137, finishedAt: '{finished}'}}}}
"
        ));
        let r = run(&[
            ("workload/pods.yaml", pods),
            ("cluster/nodes.yaml", NODES.into()),
        ]);
        let f = find(&r, "pod.oom-killed");
        assert_eq!((f.len(), f[0].severity), (1, sev), "{finished}: {f:#?}");
        assert_eq!(
            f[0].title.contains("h before the collection"),
            sev == Severity::Info
        );
    }
}
