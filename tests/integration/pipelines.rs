//! `kudo-diag pipelines`: the real binary validates, lists, shows and draws pipelines.

use std::path::PathBuf;

use crate::support::{run_in, stderr, stdout};

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pipelines")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn validate_a_good_file_says_ok_with_the_task_count() {
    let dir = tempfile::tempdir().unwrap();
    let good = data("good.yaml");
    let o = run_in(dir.path(), &["pipelines", "validate", &good]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // selftest's 4 tasks (hello replaced in place) plus 2 new ones.
    assert_eq!(stdout(&o), format!("{good}: ok: 6 tasks\n"));
}

#[test]
fn validate_a_bad_file_prints_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = data("bad.yaml");
    let o = run_in(dir.path(), &["pipelines", "validate", &bad]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let expected = [
        format!("{bad}:10:7: dependency cycle: a -> b -> c -> a (each task needs the one before it); remove one of these needs"),
        format!("{bad}:15:18: task `b` needs `hello`, which is not a task of this pipeline"),
        format!("{bad}:16:26: task `b`: unknown template variable `instanse` in `{{{{instanse}}}}`; did you mean `instance`?"),
        format!("{bad}:17:7: task `b`: output path `../b.bin` contains `..`; outputs must stay inside the bundle"),
        format!("{bad}:22:7: task `c`: output `a.bin` is also written by task `a` ({bad}:8)"),
        format!("{bad}: 5 problems"),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{out}");
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "got:  {line}\nwant: {want}"
        );
    }
}

#[test]
fn validate_checks_each_file_and_fails_if_any_fails() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        dir.path(),
        &[
            "pipelines",
            "validate",
            &data("good.yaml"),
            &data("bad.yaml"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("good.yaml: ok: 6 tasks"), "{out}");
    assert!(out.contains("bad.yaml: 5 problems"), "{out}");
}

#[test]
fn a_yaml_syntax_error_is_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: kudo-diag.dev/v1\nspec:\n  tasks: [a,\n",
    )
    .unwrap();
    let o = run_in(dir.path(), &["pipelines", "validate", "broken.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    // At the bracket that is never closed.
    assert!(
        stdout(&o).starts_with("broken.yaml:3:10: invalid YAML: unclosed bracket"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn list_shows_the_builtins_with_task_counts() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["pipelines", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("NAME"), "{out}");
    let selftest: Vec<&str> = lines
        .find(|l| l.starts_with("selftest "))
        .expect("selftest listed")
        .split_whitespace()
        .collect();
    assert_eq!(&selftest[..4], ["selftest", "-", "4", "Synthetic"], "{out}");
}

#[test]
fn show_prints_the_merged_yaml_which_validates_again() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["pipelines", "show", &data("good.yaml")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("# merged from: builtin:selftest, "), "{out}");
    assert!(!out.contains("extends"), "{out}");
    let doc: serde_json::Value = kudo_diag::yaml::from_str(&out).unwrap();
    let names: Vec<&str> = doc["spec"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "hello",
            "items",
            "per-item",
            "summary",
            "more-items",
            "per-more-item"
        ]
    );
    // The implicit dependency on the fan-out source is explicit in the merged form.
    assert_eq!(
        doc["spec"]["tasks"][5]["needs"][0].as_str(),
        Some("more-items")
    );

    std::fs::write(dir.path().join("merged.yaml"), &out).unwrap();
    let o = run_in(dir.path(), &["pipelines", "validate", "merged.yaml"]);
    assert_eq!(stdout(&o), "merged.yaml: ok: 6 tasks\n", "{}", stderr(&o));
}

#[test]
fn show_an_unknown_name_lists_the_builtins() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["pipelines", "show", "selftst"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("did you mean `selftest`?"), "{err}");
    assert!(
        err.contains(
            "the built-in pipelines are: kudo, cassandra, kafka, zookeeper, elastic, selftest"
        ),
        "{err}"
    );
}

#[test]
fn graph_prints_dot_with_fan_out_drawn_distinctly() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["pipelines", "graph", "selftest"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("digraph \"selftest\" {\n"), "{out}");
    assert!(
        out.contains("\"hello\" [label=\"hello\\n(synthetic.write)\"];"),
        "{out}"
    );
    assert!(out.contains("\"per-item\" [label=\"per-item\\n(synthetic.write)\\nfor each item of items\", shape=box3d"), "{out}");
    assert!(
        out.contains("\"items\" -> \"per-item\" [style=bold, label=\"each\"];"),
        "{out}"
    );
    assert!(out.contains("\"per-item\" -> \"summary\";"), "{out}");
    assert!(out.trim_end().ends_with('}'));
}

#[test]
fn graph_of_an_invalid_pipeline_reports_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["pipelines", "graph", &data("bad.yaml")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("dependency cycle: a -> b -> c -> a"),
        "{}",
        stderr(&o)
    );
}
