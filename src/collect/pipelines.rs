//! The built-in collection pipelines, embedded so a collection works airgapped:
//! `kudo` (the base: instance, KUDO, workload, cluster) and one per application, each
//! `extends: kudo`. The pipeline loader (`crate::pipeline::load`) owns parsing and merging;
//! this module only owns the texts.

/// (name, YAML) of every built-in collection pipeline, base first.
pub const BUILTIN: &[(&str, &str)] = &[
    ("kudo", include_str!("../../pipelines/kudo.yaml")),
    ("cassandra", include_str!("../../pipelines/cassandra.yaml")),
    ("kafka", include_str!("../../pipelines/kafka.yaml")),
    ("zookeeper", include_str!("../../pipelines/zookeeper.yaml")),
    ("elastic", include_str!("../../pipelines/elastic.yaml")),
];

/// The text of a built-in pipeline.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
