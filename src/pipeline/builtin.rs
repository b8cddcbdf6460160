//! The built-in pipelines, embedded in the binary from pipelines/ so that collection works
//! airgapped. Add one by putting its YAML in pipelines/ and a line in `BUILTINS`.

use super::parse;

/// A built-in pipeline: the name `--pipeline NAME` and `extends: NAME` use, and its YAML.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub text: &'static str,
}

/// Every built-in pipeline, by name.
pub static BUILTINS: &[Builtin] = &[
    Builtin {
        name: "kudo",
        text: include_str!("../../pipelines/kudo.yaml"),
    },
    Builtin {
        name: "cassandra",
        text: include_str!("../../pipelines/cassandra.yaml"),
    },
    Builtin {
        name: "kafka",
        text: include_str!("../../pipelines/kafka.yaml"),
    },
    Builtin {
        name: "zookeeper",
        text: include_str!("../../pipelines/zookeeper.yaml"),
    },
    Builtin {
        name: "elastic",
        text: include_str!("../../pipelines/elastic.yaml"),
    },
    Builtin {
        name: "selftest",
        text: include_str!("../../pipelines/selftest.yaml"),
    },
];

/// The built-in pipeline called `name`.
pub fn get(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The names of the built-in pipelines, in table order.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

/// The source name a built-in pipeline has in errors and in `Pipeline::sources`.
pub fn source_name(name: &str) -> String {
    format!("builtin:{name}")
}

/// The operators a built-in pipeline declares in `spec.operators` (empty if it cannot be read;
/// the tests make sure every built-in can).
pub fn operators(b: &Builtin) -> Vec<String> {
    parse::parse(&source_name(b.name), b.text)
        .0
        .map(|d| d.operators)
        .unwrap_or_default()
}

/// The built-in pipeline whose `spec.operators` lists `operator_name` (a KUDO Operator's name,
/// e.g. `cassandra`), if any; the first in table order wins.
pub fn select_for_operator(operator_name: &str) -> Option<&'static str> {
    select_in(BUILTINS, operator_name)
}

/// `select_for_operator` over a given table (tests use their own).
pub fn select_in(table: &'static [Builtin], operator_name: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|b| operators(b).iter().any(|o| o == operator_name))
        .map(|b| b.name)
}
