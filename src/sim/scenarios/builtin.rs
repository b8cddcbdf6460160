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
