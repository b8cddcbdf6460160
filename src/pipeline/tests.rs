//! Tests of loading, merging and validation: each validation error is asserted with its message
//! and the line it points at.

use std::path::Path;

use super::builtin::{self, Builtin};
use super::test_kinds::Described;
use super::{graph, load_file, load_str, resolve, select_for_operator, Pipeline, Problem};
use crate::engine::{ParamSpec, Registry};

/// The synthetic kinds (mirrored in test_kinds.rs) plus a `k8s.list`, for suggestions. Fixed here,
/// not `default_registry()`, so that the messages that list kinds do not change when the real
/// kinds are wired in.
fn reg() -> Registry {
    const LIST: &[ParamSpec] = &[
        ParamSpec::required("kind", "the object kind"),
        ParamSpec::optional("labelSelector", "label selector"),
    ];
    let mut r = Registry::new();
    super::test_kinds::register(&mut r);
    r.register(Described {
        name: "k8s.list",
        description: "lists objects of one kind",
        params: LIST,
    });
    r
}

/// Six lines of header: the first task is on line 7.
const HEAD: &str = "apiVersion: kudo-diag.dev/v1
kind: Pipeline
metadata:
  name: t
spec:
  tasks:
";

fn problems(yaml: &str) -> Vec<Problem> {
    match load_str("t.yaml", yaml, &reg()) {
        Ok(p) => panic!("expected problems, loaded {} tasks", p.tasks.len()),
        Err(e) => e.problems,
    }
}

fn ok(yaml: &str) -> Pipeline {
    load_str("t.yaml", yaml, &reg()).unwrap_or_else(|e| panic!("{e}"))
}

/// The one problem whose message contains `needle`; asserts its line.
#[track_caller]
fn assert_problem(all: &[Problem], needle: &str, line: usize) -> Problem {
    let found: Vec<&Problem> = all.iter().filter(|p| p.message.contains(needle)).collect();
    assert_eq!(found.len(), 1, "one problem with {needle:?} in:\n{all:#?}");
    assert_eq!(
        found[0].line,
        Some(line),
        "line of {needle:?}: {:?}",
        found[0]
    );
    assert!(found[0].column.is_some(), "{:?}", found[0]);
    found[0].clone()
}

#[test]
fn selftest_loads_with_the_fan_out_source_in_needs() {
    let p = resolve(&["selftest".into()], &reg()).unwrap();
    let names: Vec<&str> = p.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["hello", "items", "per-item", "summary"]);
    assert_eq!(p.tasks[2].needs, ["items"]);
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let all = problems(&format!(
        "{HEAD}    - name: a\n      needs: [b, c\n    - name: d\n"
    ));
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].line, Some(9));
    assert!(
        all[0].message.starts_with("invalid YAML: "),
        "{}",
        all[0].message
    );
    assert!(
        !all[0].message.contains("at line 9"),
        "location only once: {}",
        all[0].message
    );
    assert!(all[0].to_string().starts_with("t.yaml:9:"), "{}", all[0]);
}

#[test]
fn wrong_api_version_and_kind_are_both_reported() {
    let yaml = HEAD
        .replace("kudo-diag.dev/v1", "kudo.dev/v1beta1")
        .replace("kind: Pipeline", "kind: Operator");
    let all = problems(&format!(
        "{yaml}    - name: a\n      kind: synthetic.items\n      params: {{count: 1}}\n"
    ));
    let p = assert_problem(
        &all,
        "apiVersion is `kudo.dev/v1beta1`, expected `kudo-diag.dev/v1`",
        1,
    );
    assert_eq!(p.column, Some(1));
    assert_problem(&all, "kind is `Operator`, expected `Pipeline`", 2);
}

#[test]
fn unknown_fields_name_the_field_and_the_allowed_ones() {
    let yaml = "apiVersion: kudo-diag.dev/v1
kind: Pipeline
metadata:
  name: t
  labels: {a: b}
spec:
  extend: kudo
  tasks:
    - name: a
      kind: synthetic.items
      parms: {count: 1}
";
    let all = problems(yaml);
    let p = assert_problem(&all, "unknown field `parms`", 11);
    assert_eq!(p.column, Some(7));
    assert!(p.message.starts_with("task `a`: "), "{}", p.message);
    assert!(
        p.message.contains("did you mean `params`?"),
        "{}",
        p.message
    );
    assert!(
        p.message
            .contains("the fields are: name, kind, params, needs, forEach"),
        "{}",
        p.message
    );
    assert_problem(&all, "unknown field `labels`", 5);
    let p = assert_problem(&all, "unknown field `extend`", 7);
    assert!(
        p.message.contains("did you mean `extends`?"),
        "{}",
        p.message
    );
}

#[test]
fn a_field_of_the_wrong_type_is_pinpointed() {
    let all = problems(&format!(
        "{HEAD}    - name: a\n      kind: synthetic.items\n      params: {{count: 1}}\n      retries: many\n      timeout: soon\n"
    ));
    let p = assert_problem(
        &all,
        "`retries`: invalid type: string \"many\", expected u32",
        10,
    );
    assert!(p.message.starts_with("task `a`: "));
    assert_problem(&all, "`timeout`:", 11);
}

#[test]
fn duplicate_task_names_point_at_the_second() {
    let all = problems(&format!(
        "{HEAD}    - name: a\n      kind: synthetic.sleep\n      params: {{ms: 1}}\n    - name: a\n      kind: synthetic.sleep\n      params: {{ms: 2}}\n"
    ));
    let p = assert_problem(
        &all,
        "duplicate task name `a` (first defined at line 7)",
        10,
    );
    assert_eq!(p.column, Some(7));
}

#[test]
fn unknown_kind_suggests_the_closest() {
    let all = problems(&format!(
        "{HEAD}    - name: pods\n      kind: k8s.lst\n      params: {{kind: Pod}}\n"
    ));
    let p = assert_problem(
        &all,
        "unknown task kind `k8s.lst`; did you mean `k8s.list`?",
        8,
    );
    assert_eq!(p.column, Some(7));
    // Far from everything: list the kinds instead.
    let all = problems(&format!("{HEAD}    - name: pods\n      kind: kubernetes\n"));
    let p = assert_problem(&all, "unknown task kind `kubernetes`", 8);
    assert!(
        p.message
            .contains("the kinds are: k8s.list, synthetic.fail"),
        "{}",
        p.message
    );
}

#[test]
fn unknown_needs_and_foreach_sources_suggest_the_closest() {
    let yaml = format!(
        "{HEAD}    - name: items
      kind: synthetic.items
      params: {{count: 2}}
    - name: each
      kind: synthetic.write
      needs:
        - items
        - itemz
      forEach: {{task: itms, as: it}}
      params: {{bytes: 1}}
      output: \"x/{{{{it.name}}}}\"
"
    );
    let all = problems(&yaml);
    let p = assert_problem(
        &all,
        "task `each` needs `itemz`, which is not a task of this pipeline; did you mean `items`?",
        14,
    );
    assert_eq!(p.column, Some(11));
    assert_problem(
        &all,
        "forEach.task `itms` is not a task of this pipeline; did you mean `items`?",
        15,
    );
}

#[test]
fn a_fan_out_source_missing_from_needs_is_added() {
    let p = ok(&format!(
        "{HEAD}    - name: items
      kind: synthetic.items
      params: {{count: 2}}
    - name: each
      kind: synthetic.write
      forEach: {{task: items, as: it}}
      params: {{bytes: 1}}
      output: \"x/{{{{it.name}}}}\"
"
    ));
    assert_eq!(p.tasks[1].needs, ["items"]);
}

#[test]
fn unknown_and_missing_parameters() {
    let all = problems(&format!(
        "{HEAD}    - name: w
      kind: synthetic.write
      params:
        bites: 10
    - name: i
      kind: synthetic.items
"
    ));
    let p = assert_problem(
        &all,
        "unknown parameter `bites` for kind `synthetic.write`; did you mean `bytes`?",
        10,
    );
    assert!(
        p.message.contains("(its parameters: bytes, seed)"),
        "{}",
        p.message
    );
    assert_problem(
        &all,
        "task `w`: missing required parameter `bytes` for kind `synthetic.write`",
        9,
    );
    assert_problem(
        &all,
        "task `i`: missing required parameter `count` for kind `synthetic.items` (how many items)",
        11,
    );
}

#[test]
fn unknown_template_variables_check_the_root_only() {
    let all = problems(&format!(
        "{HEAD}    - name: pods
      kind: k8s.list
      params: {{kind: Pod, labelSelector: \"kudo.dev/instance={{{{instance}}}}\"}}
    - name: each
      kind: synthetic.write
      needs: [pods]
      forEach: {{task: pods, as: pod}}
      params:
        bytes: 1
        seed: \"{{{{pd.metadata.uid}}}}\"
      output: \"apps/{{{{namespace}}}}/{{{{pod.metadata.name}}}}/{{{{nmespace}}}}.txt\"
    - name: unclosed
      kind: synthetic.write
      params: {{bytes: 1}}
      output: \"a/{{{{instance\"
"
    ));
    let p = assert_problem(
        &all,
        "unknown template variable `pd` in `{{pd.metadata.uid}}`; did you mean `pod`?",
        16,
    );
    assert!(
        p.message
            .contains("variables here: instance, namespace, operator"),
        "{}",
        p.message
    );
    assert!(p.message.ends_with(", pod)"), "{}", p.message);
    assert_problem(&all, "unknown template variable `nmespace`", 17);
    assert_problem(&all, "task `unclosed`: unclosed `{{`", 21);
    assert_eq!(all.len(), 3, "{all:#?}");
}

#[test]
fn bad_output_paths() {
    let all = problems(&format!(
        "{HEAD}    - name: a
      kind: synthetic.write
      params: {{bytes: 1}}
      output: /etc/passwd
    - name: b
      kind: synthetic.write
      params: {{bytes: 1}}
      output: logs/../../escape.txt
"
    ));
    assert_problem(&all, "task `a`: output path `/etc/passwd` is absolute", 10);
    assert_problem(
        &all,
        "task `b`: output path `logs/../../escape.txt` contains `..`",
        14,
    );
}

#[test]
fn duplicate_static_outputs_and_fan_out_outputs_that_would_collide() {
    let all = problems(&format!(
        "{HEAD}    - name: a
      kind: synthetic.write
      params: {{bytes: 1}}
      output: same.txt
    - name: b
      kind: synthetic.write
      params: {{bytes: 1}}
      output: same.txt
    - name: items
      kind: synthetic.items
      params: {{count: 3}}
    - name: each
      kind: synthetic.write
      needs: [items]
      forEach: {{task: items, as: it}}
      params: {{bytes: 1}}
      output: \"items-{{{{instance}}}}.txt\"
"
    ));
    assert_problem(
        &all,
        "task `b`: output `same.txt` is also written by task `a` (t.yaml:7)",
        14,
    );
    assert_problem(
        &all,
        "task `each` runs once per item of `items` but its output",
        23,
    );
}

#[test]
fn cycles_are_named_in_order() {
    // a -> b -> c -> a (each needs the one before), and d -> d.
    let all = problems(&format!(
        "{HEAD}    - name: a
      kind: synthetic.sleep
      params: {{ms: 1}}
      needs: [c]
    - name: b
      kind: synthetic.sleep
      params: {{ms: 1}}
      needs: [a]
    - name: c
      kind: synthetic.sleep
      params: {{ms: 1}}
      needs: [b]
    - name: d
      kind: synthetic.sleep
      params: {{ms: 1}}
      needs: [d, a]
"
    ));
    assert_problem(
        &all,
        "dependency cycle: a -> b -> c -> a (each task needs the one before it)",
        10,
    );
    assert_problem(&all, "dependency cycle: d -> d", 22);
    assert_eq!(all.len(), 2, "{all:#?}");
}

#[test]
fn closest_names_need_to_be_close() {
    use super::validate::closest;
    assert_eq!(
        closest("k8s.lst", ["k8s.list", "k8s.logs"]),
        Some("k8s.list")
    );
    assert_eq!(closest("pods", ["pod", "nodes"]), Some("pod"));
    assert_eq!(closest("a", ["b"]), None);
    assert_eq!(closest("zzzz", ["pods", "logs"]), None);
}

#[test]
fn every_problem_is_collected_and_rendered() {
    let all = problems(&format!(
        "{HEAD}    - name: pods
      kind: k8s.lst
      params: {{kind: Pod}}
    - name: logs
      kind: synthetic.write
      needs: [pod]
      forEach: {{task: pods, as: pod}}
      params: {{bytes: 1, seed: \"{{{{po.metadata.name}}}}\"}}
      output: \"/logs/{{{{pod.metadata.name}}}}.txt\"
    - name: logs
      kind: synthetic.sleep
"
    ));
    let rendered = super::PipelineError { problems: all }.to_string();
    insta::assert_snapshot!("bad_pipeline_problems", rendered);
}

#[test]
fn dot_graph_of_a_small_pipeline() {
    let p = ok(&format!(
        "{HEAD}    - name: pods
      kind: k8s.list
      params: {{kind: Pod}}
    - name: pod-logs
      kind: synthetic.write
      forEach: {{task: pods, as: pod, then: {{path: spec.containers, as: container}}}}
      params: {{bytes: 1}}
      output: \"pods/{{{{pod.metadata.name}}}}/{{{{container.name}}}}.log\"
      optional: true
    - name: summary
      kind: synthetic.write
      needs: [pods, pod-logs]
      params: {{bytes: 1}}
      output: summary.txt
"
    ));
    insta::assert_snapshot!("small_pipeline_dot", graph::to_dot(&p));
}

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn doc(name: &str, extends: Option<&str>, tasks: &str) -> String {
    let ext = extends.map_or(String::new(), |e| format!("  extends: {e}\n"));
    format!("apiVersion: kudo-diag.dev/v1\nkind: Pipeline\nmetadata:\n  name: {name}\nspec:\n{ext}  tasks:\n{tasks}")
}

fn sleep_task(name: &str, ms: u32) -> String {
    format!("    - name: {name}\n      kind: synthetic.sleep\n      params: {{ms: {ms}}}\n")
}

#[test]
fn extends_puts_base_tasks_first_and_replaces_same_names_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let base = [sleep_task("a", 1), sleep_task("b", 1), sleep_task("c", 1)].concat();
    write(dir.path(), "base.yaml", &doc("base", None, &base));
    std::fs::create_dir(dir.path().join("apps")).unwrap();
    let app = [sleep_task("d", 4), sleep_task("b", 2)].concat();
    let path = write(
        &dir.path().join("apps"),
        "app.yaml",
        &doc("app", Some("../base.yaml"), &app),
    );
    let p = load_file(&path, &reg()).unwrap_or_else(|e| panic!("{e}"));
    let order: Vec<(&str, u64)> = p
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.params["ms"].as_u64().unwrap()))
        .collect();
    assert_eq!(order, [("a", 1), ("b", 2), ("c", 1), ("d", 4)]);
    assert_eq!(p.name, "app");
    assert_eq!(p.sources.len(), 2);
    assert!(p.sources[0].ends_with("base.yaml") && p.sources[1].ends_with("app.yaml"));
}

#[test]
fn problems_in_an_extended_file_point_into_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        sleep_task("a", 1),
        "    - name: b\n      kind: synthetic.sleep\n      needs: [x]\n      params: {ms: 1}\n"
            .into(),
    ]
    .concat();
    write(dir.path(), "base.yaml", &doc("base", None, &base));
    let path = write(
        dir.path(),
        "app.yaml",
        &doc("app", Some("base.yaml"), &sleep_task("c", 1)),
    );
    let err = load_file(&path, &reg()).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(err.problems[0].source.ends_with("base.yaml"), "{err}");
    assert_eq!(err.problems[0].line, Some(12));
}

#[test]
fn extends_cycles_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        &doc("a", Some("b.yaml"), &sleep_task("x", 1)),
    );
    write(
        dir.path(),
        "b.yaml",
        &doc("b", Some("./a.yaml"), &sleep_task("y", 1)),
    );
    let err = load_file(&dir.path().join("a.yaml"), &reg()).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.problems.len(), 1, "{msg}");
    assert!(msg.contains("`extends` cycle: "), "{msg}");
    assert!(
        msg.contains("a.yaml -> ")
            && msg.contains("b.yaml -> ")
            && msg.ends_with("a.yaml; remove one of these `extends`"),
        "{msg}"
    );
    assert_eq!(err.problems[0].line, Some(6));
}

#[test]
fn extends_an_unknown_builtin_lists_the_builtins() {
    let err = load_str(
        "t.yaml",
        &doc("t", Some("selftst"), &sleep_task("x", 1)),
        &reg(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("t.yaml:6:3: extends `selftst`: there is no built-in pipeline of that name; did you mean `selftest`?"), "{msg}");
    assert!(
        msg.contains(
            "the built-in pipelines are: kudo, cassandra, kafka, zookeeper, elastic, selftest"
        ),
        "{msg}"
    );
}

#[test]
fn extends_a_builtin_and_resolve_merges_later_over_earlier() {
    let dir = tempfile::tempdir().unwrap();
    let own = "    - name: hello\n      kind: synthetic.write\n      params: {bytes: 1}\n      output: mine.txt\n";
    let path = write(dir.path(), "mine.yaml", &doc("mine", Some("selftest"), own));
    let p = load_file(&path, &reg()).unwrap();
    assert_eq!(p.tasks[0].name, "hello");
    assert_eq!(p.tasks[0].output.as_deref(), Some("mine.txt"));
    assert_eq!(p.tasks.len(), 4);

    let extra = write(
        dir.path(),
        "extra.yaml",
        &doc("extra", None, &sleep_task("zzz", 9)),
    );
    let p = resolve(&["selftest".into(), extra.display().to_string()], &reg()).unwrap();
    assert_eq!(p.name, "selftest+extra");
    assert_eq!(p.tasks.last().unwrap().name, "zzz");
    assert_eq!(p.tasks.len(), 5);
    // The order of the parts matters, and the hash says so.
    let q = resolve(&[extra.display().to_string(), "selftest".into()], &reg()).unwrap();
    assert_eq!(q.tasks[0].name, "zzz");
    assert_ne!(p.hash, q.hash);
}

#[test]
fn resolve_an_unknown_name_lists_the_builtins() {
    let err = resolve(&["mongodb".into()], &reg()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mongodb: `mongodb`: there is no built-in pipeline of that name; the built-in pipelines are: kudo, cassandra, kafka, zookeeper, elastic, selftest (a file path must contain `/` or end in .yaml)"
    );
    let err = resolve(&["missing.yaml".into()], &reg()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("missing.yaml: cannot read the pipeline file: "),
        "{err}"
    );
}

#[test]
fn select_for_operator_uses_spec_operators() {
    static TABLE: &[Builtin] = &[
        Builtin {
            name: "kudo",
            text: "apiVersion: kudo-diag.dev/v1\nkind: Pipeline\nmetadata: {name: kudo}\nspec: {tasks: []}\n",
        },
        Builtin {
            name: "cassandra",
            text: "apiVersion: kudo-diag.dev/v1\nkind: Pipeline\nmetadata: {name: cassandra}\nspec: {extends: kudo, operators: [cassandra, cassandra-dev]}\n",
        },
    ];
    assert_eq!(
        builtin::select_in(TABLE, "cassandra-dev"),
        Some("cassandra")
    );
    assert_eq!(builtin::select_in(TABLE, "kafka"), None);
    assert_eq!(select_for_operator("no-such-operator"), None);
}

/// The examples in docs/pipelines.md are valid (with `extends: kudo` dropped, since the KUDO base
/// pipeline is written elsewhere), against test kinds with the planned `k8s.*` parameters.
#[test]
fn the_examples_in_the_docs_are_valid() {
    const LIST: &[ParamSpec] = &[
        ParamSpec::required("kind", "the object kind"),
        ParamSpec::optional("apiVersion", "group/version"),
        ParamSpec::optional("namespace", "namespace"),
        ParamSpec::optional("labelSelector", "label selector"),
    ];
    const EXEC: &[ParamSpec] = &[
        ParamSpec::required("pod", "pod name"),
        ParamSpec::required("command", "the command"),
        ParamSpec::optional("container", "container name"),
        ParamSpec::optional("namespace", "namespace"),
    ];
    let mut r = Registry::new();
    r.register(Described {
        name: "k8s.list",
        description: "list",
        params: LIST,
    });
    r.register(Described {
        name: "k8s.exec",
        description: "exec",
        params: EXEC,
    });

    let docs = include_str!("../../docs/pipelines.md");
    let examples: Vec<&str> = docs
        .split("```yaml\n")
        .skip(1)
        .filter_map(|s| s.split("```").next())
        .filter(|s| s.starts_with("apiVersion:"))
        .collect();
    assert_eq!(examples.len(), 2);
    for (i, text) in examples.iter().enumerate() {
        let text = text.replace("  extends: kudo", "");
        let p = load_str(&format!("docs example {i}"), &text, &r).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.tasks.len() >= 2);
    }
}

#[test]
fn the_shape_of_the_file_is_checked() {
    let p = &problems("")[0];
    assert_eq!((p.line, p.column), (Some(1), Some(1)));
    assert!(
        p.message
            .starts_with("the file is empty; a pipeline needs `apiVersion: kudo-diag.dev/v1`"),
        "{p}"
    );

    let p = &problems("- a\n- b\n")[0];
    assert!(
        p.message.starts_with("a pipeline must be a YAML mapping"),
        "{p}"
    );

    let all = problems(&format!("{HEAD}    - name: a\n      kind: synthetic.items\n      params: {{count: 1}}\n---\nkind: Pipeline\n"));
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(
        all[0].message.contains("holds one YAML document"),
        "{}",
        all[0]
    );

    let all = problems(&format!("{HEAD}    - just-a-string\n    - name: b\n      kind: synthetic.items\n      params: {{count: 1}}\n      forEach: {{task: x, as: y, ass: z}}\n"));
    assert_problem(
        &all,
        "task #1 must be a mapping with at least `name` and `kind`",
        7,
    );
    let p = assert_problem(
        &all,
        "task `b`: `forEach`: unknown field `ass`, expected one of `task`, `as`, `then`",
        11,
    );
    assert_eq!(p.column, Some(7));
    assert_eq!(all.len(), 2, "{all:#?}");

    let all =
        problems("apiVersion: kudo-diag.dev/v1\nkind: Pipeline\nmetadata: {}\nspec: {tasks: []}\n");
    assert_problem(&all, "`metadata`: missing field `name`", 3);
}

#[test]
fn yaml_merge_keys_share_settings_between_tasks() {
    let p = ok(&format!(
        "{HEAD}    - &slow
      name: a
      kind: synthetic.sleep
      params: {{ms: 5}}
      timeout: 2m
      retries: 3
    - <<: *slow
      name: b
"
    ));
    assert_eq!(p.tasks[1].name, "b");
    assert_eq!(p.tasks[1].retries, Some(3));
    assert_eq!(
        p.tasks[1].timeout,
        Some(std::time::Duration::from_secs(120))
    );
}

/// Issue 14: `extends` is bounded: only paths relative to the file, only regular files of a
/// bounded size, and chains of a bounded length.
#[test]
fn extends_refuses_absolute_paths_devices_and_endless_chains() {
    let dir = tempfile::tempdir().unwrap();
    for (ext, want) in [
        ("/etc/passwd", "is not a path relative to this file"),
        ("../../../../../../../dev/zero", "it is not a regular file"),
    ] {
        let path = write(
            dir.path(),
            "app.yaml",
            &doc("app", Some(ext), &sleep_task("x", 1)),
        );
        let started = std::time::Instant::now();
        let msg = load_file(&path, &reg()).unwrap_err().to_string();
        assert!(msg.contains(want), "{ext}: {msg}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
    // p0 extends p1 extends ... p39: refused at the documented depth.
    for i in 0..40 {
        let next = format!("p{}.yaml", i + 1);
        write(
            dir.path(),
            &format!("p{i}.yaml"),
            &doc(
                &format!("p{i}"),
                (i < 39).then_some(next.as_str()),
                &sleep_task(&format!("t{i}"), 1),
            ),
        );
    }
    let msg = load_file(&dir.path().join("p0.yaml"), &reg())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("`extends` chain longer than 16 files"),
        "{msg}"
    );
    let msg = load_file(Path::new("/dev/zero"), &reg())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not a regular file"), "{msg}");
}
