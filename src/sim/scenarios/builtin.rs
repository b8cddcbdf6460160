//! The built-in scenarios: their embedded files (so `kudo-diag sim` works airgapped), names
//! and descriptions.

/// Embedded files: built-in scenarios and the object files they share.
pub(super) const EMBEDDED: &[(&str, &str)] = &[
    ("cassandra.yaml", include_str!("cassandra.yaml")),
    (
        "broken-cassandra.yaml",
        include_str!("broken-cassandra.yaml"),
    ),
    (
        "broken-cassandra-objects.yaml",
        include_str!("broken-cassandra-objects.yaml"),
    ),
    ("zookeeper.yaml", include_str!("zookeeper.yaml")),
    ("kafka.yaml", include_str!("kafka.yaml")),
    ("kudo-crds.yaml", include_str!("kudo-crds.yaml")),
    ("kudo-system.yaml", include_str!("kudo-system.yaml")),
    ("cluster.yaml", include_str!("cluster.yaml")),
    (
        "cassandra-operator.yaml",
        include_str!("cassandra-operator.yaml"),
    ),
    (
        "cassandra-objects.yaml",
        include_str!("cassandra-objects.yaml"),
    ),
    (
        "zookeeper-operator.yaml",
        include_str!("zookeeper-operator.yaml"),
    ),
    (
        "zookeeper-objects.yaml",
        include_str!("zookeeper-objects.yaml"),
    ),
    ("kafka-operator.yaml", include_str!("kafka-operator.yaml")),
    ("kafka-objects.yaml", include_str!("kafka-objects.yaml")),
    // The fault scenarios (build/faults.py): a healthy instance with one real fault each.
    (
        "cassandra-disk-full.yaml",
        include_str!("cassandra-disk-full.yaml"),
    ),
    (
        "cassandra-disk-full-objects.yaml",
        include_str!("cassandra-disk-full-objects.yaml"),
    ),
    (
        "cassandra-image-pull.yaml",
        include_str!("cassandra-image-pull.yaml"),
    ),
    (
        "cassandra-image-pull-objects.yaml",
        include_str!("cassandra-image-pull-objects.yaml"),
    ),
    (
        "cassandra-storageclass-missing.yaml",
        include_str!("cassandra-storageclass-missing.yaml"),
    ),
    (
        "cassandra-storageclass-missing-objects.yaml",
        include_str!("cassandra-storageclass-missing-objects.yaml"),
    ),
    (
        "cassandra-missing-secret.yaml",
        include_str!("cassandra-missing-secret.yaml"),
    ),
    (
        "cassandra-missing-secret-objects.yaml",
        include_str!("cassandra-missing-secret-objects.yaml"),
    ),
    (
        "cassandra-node-notready.yaml",
        include_str!("cassandra-node-notready.yaml"),
    ),
    (
        "cassandra-node-notready-objects.yaml",
        include_str!("cassandra-node-notready-objects.yaml"),
    ),
    (
        "zookeeper-quorum-lost.yaml",
        include_str!("zookeeper-quorum-lost.yaml"),
    ),
    (
        "zookeeper-quorum-lost-objects.yaml",
        include_str!("zookeeper-quorum-lost-objects.yaml"),
    ),
    ("zookeeper-noisy.yaml", include_str!("zookeeper-noisy.yaml")),
    (
        "zookeeper-noisy-objects.yaml",
        include_str!("zookeeper-noisy-objects.yaml"),
    ),
    (
        "kafka-zookeeper-down.yaml",
        include_str!("kafka-zookeeper-down.yaml"),
    ),
    (
        "kafka-zookeeper-down-objects.yaml",
        include_str!("kafka-zookeeper-down-objects.yaml"),
    ),
];

pub(super) const BUILTINS: &[(&str, &str)] = &[
    ("cassandra", "a healthy KUDO Cassandra instance with 3 nodes, the KUDO manager and nodetool outputs"),
    ("broken-cassandra", "Cassandra with an OOMKilled node in CrashLoopBackOff, a pod Pending for memory, a failed deploy plan and a DN node"),
    ("zookeeper", "a KUDO ZooKeeper ensemble of 3 with its four-letter-word outputs"),
    ("kafka", "a KUDO Kafka instance with 3 brokers and its ZooKeeper child instance, with the Kafka tools' outputs"),
    ("cassandra-disk-full", "Cassandra whose node-2 data volume is full: FSWriteError / No space left on device, the container crash-looping, nodetool showing it DN"),
    ("cassandra-image-pull", "Cassandra after an image parameter change to a tag the registry lacks: node-2 in ImagePullBackOff, the deploy plan IN_PROGRESS"),
    ("cassandra-storageclass-missing", "Cassandra installed with a StorageClass the cluster lacks: its PVC Pending (ProvisioningFailed), the pod unschedulable"),
    ("cassandra-missing-secret", "Cassandra with backups enabled naming a Secret nobody created: a sidecar in CreateContainerConfigError"),
    ("cassandra-node-notready", "Cassandra with one node NotReady (kubelet stopped posting status, unreachable taints): its pod Terminating, peers see it DN"),
    ("zookeeper-quorum-lost", "ZooKeeper with 2 of 3 servers crash-looping (Unable to load database on disk): the survivor is not serving requests"),
    ("zookeeper-noisy", "a healthy ZooKeeper with benign history: old exit-0 restarts, stopped Warning events, JVM pauses, completed plans, 4lw refusals"),
    ("kafka-zookeeper-down", "Kafka losing its ZooKeeper: the ZooKeeper child instance OOMKilled and crash-looping, the brokers' sessions expired"),
];

/// The built-in scenarios: (name, description).
pub fn builtin_names() -> &'static [(&'static str, &'static str)] {
    BUILTINS
}

/// The text `kudo-diag sim list` prints: one scenario per line, name then description.
pub fn list_text() -> String {
    let width = BUILTINS.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    BUILTINS
        .iter()
        .map(|(n, d)| format!("{n:width$}  {d}\n"))
        .collect()
}

/// An embedded file of the built-in scenarios (e.g. `kudo-crds.yaml`), for the generator.
pub fn embedded_file(name: &str) -> Option<&'static str> {
    embedded(name)
}

pub(super) fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
