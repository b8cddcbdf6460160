//! Validation of a merged pipeline against the task kinds of a `Registry`: every problem is
//! collected (not only the first) and located at the line of the task, field or list item it is
//! about, in the file that task came from.
//!
//! Checked here: task names, kinds (with the closest known name), `needs` and `forEach.task`
//! references (closest name), parameters against `TaskKind::params()`, template variables
//! against the run globals and the fan-out bindings, output paths (relative, no `..`, not shared
//! by two tasks, fan-out outputs distinct per node) and dependency cycles, named in order.
//!
//! A `forEach.task` that is not listed in `needs` is not an error: the source of a fan-out is
//! necessarily a dependency, so `finish` adds it to `needs` (documented in docs/pipelines.md).

use std::collections::{BTreeSet, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use super::locate::Seg;
use super::parse::SourcedTask;
use super::template::{self, GLOBALS};
use super::Problem;
use crate::engine::Registry;

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo: at most a
/// third of the word's length in edits (at least 2), counting a swap of two neighbours as one.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w: Vec<char> = word.chars().collect();
    let limit = (w.len() / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    let mut c: Vec<char> = Vec::new();
    let mut rows = [Vec::new(), Vec::new(), Vec::new()];
    for cand in candidates {
        c.clear();
        c.extend(cand.chars());
        // Never "correct" a word into something entirely different (`a` into `b`).
        let bound = best
            .map_or(limit, |(d, _)| d.saturating_sub(1))
            .min(w.len().max(c.len()).saturating_sub(1));
        // Once a name one edit away is known only an exact match could beat it: that needs no
        // table (keeps thousands of unknown names against thousands of tasks quick).
        if bound == 0 {
            if w == c {
                best = Some((0, cand));
            }
            continue;
        }
        if let Some(d) = bounded_distance(&w, &c, bound, &mut rows) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// The optimal-string-alignment distance between `a` and `b` if it is at most `bound`. Gives up
/// as soon as a whole row exceeds the bound, and reuses `rows`, so that checking a name against
/// thousands of tasks stays cheap.
fn bounded_distance(
    a: &[char],
    b: &[char],
    bound: usize,
    rows: &mut [Vec<usize>; 3],
) -> Option<usize> {
    if a.len().abs_diff(b.len()) > bound {
        return None;
    }
    for r in rows.iter_mut() {
        r.clear();
        r.resize(b.len() + 1, 0);
    }
    let [prev2, prev, cur] = rows;
    for (j, v) in prev.iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > bound {
            return None;
        }
        std::mem::swap(prev2, prev);
        std::mem::swap(prev, cur);
    }
    Some(prev[b.len()]).filter(|d| *d <= bound)
}

fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map_or(String::new(), |c| format!("; did you mean `{c}`?"))
}

/// Every problem of the merged tasks. `unreadable` are names of tasks that could not be read at
/// all (already reported), so that references to them are not reported again.
pub fn validate(tasks: &[SourcedTask], unreadable: &[String], registry: &Registry) -> Vec<Problem> {
    let mut problems = Vec::new();
    let names: Vec<&str> = tasks.iter().map(|t| t.spec.name.as_str()).collect();
    let known: HashSet<&str> = names
        .iter()
        .copied()
        .chain(unreadable.iter().map(String::as_str))
        .collect();
    let ctx = Names {
        names: &names,
        known: &known,
    };

    for t in tasks {
        let label = format!("task `{}`", t.spec.name);
        let kind = check_name_and_kind(&mut problems, t, &label, registry);
        check_needs(&mut problems, t, &label, &ctx);
        let bindings = check_for_each(&mut problems, t, &label, &ctx);
        let params = check_params(&mut problems, t, &label, kind);
        check_templates_and_output(&mut problems, t, &label, params, &bindings);
    }
    problems.extend(shared_outputs(tasks));
    problems.extend(cycles(tasks));
    problems
}

/// The task names of the pipeline, and those plus the unreadable ones (valid references).
struct Names<'a> {
    names: &'a [&'a str],
    known: &'a HashSet<&'a str>,
}

/// The task's name and kind; returns its kind when the registry knows it.
fn check_name_and_kind<'r>(
    problems: &mut Vec<Problem>,
    t: &SourcedTask,
    label: &str,
    registry: &'r Registry,
) -> Option<&'r std::sync::Arc<dyn crate::engine::TaskKind>> {
    let s = &t.spec;
    let o = &t.origin;
    if !valid_name(&s.name) {
        problems.push(o.problem(
            &[Seg::Key("name")],
            format!(
                "task name `{}` is not allowed; use letters, digits, `-`, `_` and `.`, starting with a letter or digit",
                s.name
            ),
        ));
    }

    let kind = registry.get(&s.kind);
    if kind.is_none() {
        let hint = match closest(&s.kind, registry.names()) {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!(
                "the kinds are: {}",
                registry.names().collect::<Vec<_>>().join(", ")
            ),
        };
        problems.push(o.problem(
            &[Seg::Key("kind")],
            format!(
                "{label}: unknown task kind `{}`; {hint} (`kudo-diag pipelines kinds` describes them)",
                s.kind
            ),
        ));
    }

    kind
}

/// `needs`: every dependency is a task of the pipeline.
fn check_needs(problems: &mut Vec<Problem>, t: &SourcedTask, label: &str, ctx: &Names<'_>) {
    let (s, o) = (&t.spec, &t.origin);
    let (names, known) = (ctx.names, ctx.known);
    for (i, need) in s.needs.iter().enumerate() {
        if need == &s.name {
            continue; // reported as the cycle `a -> a`
        }
        if !known.contains(need.as_str()) {
            problems.push(o.item_problem(
                &[Seg::Key("needs")],
                i,
                need,
                format!(
                    "{label} needs `{need}`, which is not a task of this pipeline{}",
                    did_you_mean(need, names.iter().copied())
                ),
            ));
        }
    }
}

/// `forEach`: its source task and its bindings; returns the names the task's templates may use
/// besides the run globals.
fn check_for_each<'t>(
    problems: &mut Vec<Problem>,
    t: &'t SourcedTask,
    label: &str,
    ctx: &Names<'_>,
) -> Vec<&'t str> {
    let (s, o) = (&t.spec, &t.origin);
    let (names, known) = (ctx.names, ctx.known);
    let mut bindings: Vec<&str> = Vec::new();
    if let Some(fe) = &s.for_each {
        let at = [Seg::Key("forEach"), Seg::Key("task")];
        if fe.task == s.name {
            problems.push(o.problem(
                &at,
                format!("{label}: forEach.task cannot be the task itself"),
            ));
        } else if !known.contains(fe.task.as_str()) {
            problems.push(o.problem(
                &at,
                format!(
                    "{label}: forEach.task `{}` is not a task of this pipeline{}",
                    fe.task,
                    did_you_mean(&fe.task, names.iter().copied())
                ),
            ));
        }
        bindings.push(&fe.bind);
        if let Some(n) = &fe.then {
            bindings.push(&n.bind);
            if n.path.split('+').any(|p| p.trim().is_empty()) {
                problems.push(o.problem(
                    &[Seg::Key("forEach"), Seg::Key("then"), Seg::Key("path")],
                    format!(
                        "{label}: forEach.then.path `{}` has an empty part; write dotted paths joined by `+`, e.g. `spec.initContainers+spec.containers`",
                        n.path
                    ),
                ));
            }
        }
        let mut seen = HashSet::new();
        for b in &bindings {
            let bad = if !valid_var(b) {
                Some("is not a valid variable name (letters, digits and `_`)")
            } else if GLOBALS.contains(b) {
                Some("hides the run variable of the same name; choose another name")
            } else if !seen.insert(*b) {
                Some("is bound twice; give forEach.as and forEach.then.as different names")
            } else {
                None
            };
            if let Some(why) = bad {
                problems.push(o.problem(
                    &[Seg::Key("forEach")],
                    format!("{label}: binding `{b}` {why}"),
                ));
            }
        }
    }
    bindings
}

/// `params`: a mapping, of parameters the kind takes, with the required ones. Returns the
/// mapping.
fn check_params<'t>(
    problems: &mut Vec<Problem>,
    t: &'t SourcedTask,
    label: &str,
    kind: Option<&std::sync::Arc<dyn crate::engine::TaskKind>>,
) -> Option<&'t serde_json::Map<String, Value>> {
    let (s, o) = (&t.spec, &t.origin);
    // Parameters.
    let params = match &s.params {
        Value::Null => None,
        Value::Object(m) => Some(m),
        _ => {
            problems.push(o.problem(
                &[Seg::Key("params")],
                format!("{label}: params must be a mapping of parameter names to values"),
            ));
            None
        }
    };
    if let Some(kind) = kind {
        let specs = kind.params();
        let allowed: Vec<&str> = specs.iter().map(|p| p.name).collect();
        if let Some(params) = params {
            for key in params.keys() {
                if !allowed.contains(&key.as_str()) {
                    let list = if allowed.is_empty() {
                        "it takes none".to_string()
                    } else {
                        format!("its parameters: {}", allowed.join(", "))
                    };
                    problems.push(o.problem(
                        &[Seg::Key("params"), Seg::Key(key)],
                        format!(
                            "{label}: unknown parameter `{key}` for kind `{}`{} ({list})",
                            s.kind,
                            did_you_mean(key, allowed.iter().copied())
                        ),
                    ));
                }
            }
        }
        for p in specs.iter().filter(|p| p.required) {
            if !params.is_some_and(|m| m.contains_key(p.name)) {
                problems.push(o.problem(
                    &[Seg::Key("params")],
                    format!(
                        "{label}: missing required parameter `{}` for kind `{}` ({})",
                        p.name, s.kind, p.help
                    ),
                ));
            }
        }
    }
    params
}

/// Template variables in parameters and `output`, and the output path itself.
fn check_templates_and_output(
    problems: &mut Vec<Problem>,
    t: &SourcedTask,
    label: &str,
    params: Option<&serde_json::Map<String, Value>>,
    bindings: &[&str],
) {
    let (s, o) = (&t.spec, &t.origin);
    // Templates: in parameter values and in the output path.
    let vars: Vec<&str> = GLOBALS
        .iter()
        .copied()
        .chain(bindings.iter().copied())
        .collect();
    let mut strings = Vec::new();
    if let Some(params) = params {
        for (k, v) in params {
            collect_strings(v, k, &mut strings);
        }
    }
    for (key, text) in &strings {
        check_template(
            problems,
            t,
            label,
            &[Seg::Key("params"), Seg::Key(key)],
            text,
            &vars,
        );
    }
    if let Some(out) = &s.output {
        check_template(problems, t, label, &[Seg::Key("output")], out, &vars);
        if let Some(why) = bad_output(out) {
            problems.push(o.problem(
                &[Seg::Key("output")],
                format!("{label}: output path `{out}` {why}"),
            ));
        }
        if let Some(fe) = &s.for_each {
            let used: BTreeSet<String> = template::variables(out)
                .unwrap_or_default()
                .iter()
                .map(|v| root_of(v).to_string())
                .collect();
            if !bindings.iter().any(|b| used.contains(*b)) {
                problems.push(o.problem(
                    &[Seg::Key("output")],
                    format!(
                        "{label} runs once per item of `{}` but its output `{out}` does not use `{{{{{}...}}}}`, so every node would write the same file; put the item in the path, e.g. `{{{{{}.metadata.name}}}}`",
                        fe.task, fe.bind, fe.bind
                    ),
                ));
            }
        }
    }
}

/// Static outputs shared by two tasks would overwrite each other in the bundle.
fn shared_outputs(tasks: &[SourcedTask]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut outputs: HashMap<&str, &SourcedTask> = HashMap::new();
    for t in tasks {
        let Some(out) = t.spec.output.as_deref() else {
            continue;
        };
        if out.contains("{{") {
            continue;
        }
        if let Some(prev) = outputs.get(out) {
            let line = prev
                .origin
                .line()
                .map_or(String::new(), |l| format!(" ({}:{l})", prev.origin.source));
            problems.push(t.origin.problem(
                &[Seg::Key("output")],
                format!(
                    "task `{}`: output `{out}` is also written by task `{}`{line}; give each task its own output path",
                    t.spec.name, prev.spec.name
                ),
            ));
        } else {
            outputs.insert(out, t);
        }
    }
    problems
}

/// Warnings that do not stop a pipeline: templates inside shell scripts (`[sh, -c, SCRIPT]`).
/// Their values are quoted as single shell words when rendered (`template::render_shell`), so
/// they cannot inject commands, but an argv list says the same without a shell in between.
pub fn warnings(tasks: &[SourcedTask]) -> Vec<Problem> {
    let mut out = Vec::new();
    for t in tasks {
        let Value::Object(params) = &t.spec.params else {
            continue;
        };
        for (key, v) in params {
            if let Some(script) = shell_template(v) {
                out.push(t.origin.problem(
                    &[Seg::Key("params"), Seg::Key(key)],
                    format!(
                        "warning: task `{}`: `{key}` runs a shell script with templates (`{script}`); each value is quoted as one shell word, but an argv list is clearer and runs no shell: write each argument as an item, e.g. `[cat, \"/data/{{{{pod.metadata.name}}}}.log\"]`",
                        t.spec.name
                    ),
                ));
            }
        }
    }
    out
}

/// The first shell script holding a template anywhere inside a parameter value.
fn shell_template(v: &Value) -> Option<&str> {
    match v {
        Value::Array(a) => template::shell_script_index(a)
            .and_then(|i| a[i].as_str())
            .filter(|s| s.contains("{{"))
            .or_else(|| a.iter().find_map(shell_template)),
        Value::Object(m) => m.values().find_map(shell_template),
        _ => None,
    }
}

fn check_template(
    problems: &mut Vec<Problem>,
    t: &SourcedTask,
    label: &str,
    at: &[Seg],
    text: &str,
    vars: &[&str],
) {
    match template::variables(text) {
        Err(e) => problems.push(
            t.origin
                .problem(at, format!("{label}: {e}; close each `{{{{` with `}}}}`")),
        ),
        Ok(used) => {
            for v in used {
                let root = root_of(&v);
                if !vars.contains(&root) {
                    problems.push(t.origin.problem(
                        at,
                        format!(
                            "{label}: unknown template variable `{root}` in `{text}`{} (variables here: {})",
                            did_you_mean(root, vars.iter().copied()),
                            vars.join(", ")
                        ),
                    ));
                }
            }
        }
    }
}

/// The first segment of a dotted variable path: only the root can be checked before a run.
fn root_of(var: &str) -> &str {
    var.split('.').next().unwrap_or(var)
}

/// Every string inside a parameter value, with the parameter it belongs to.
fn collect_strings(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Array(a) => a.iter().for_each(|v| collect_strings(v, key, out)),
        Value::Object(m) => m.values().for_each(|v| collect_strings(v, key, out)),
        _ => {}
    }
}

fn bad_output(out: &str) -> Option<&'static str> {
    if out.trim().is_empty() {
        Some("is empty; name a file inside the bundle, e.g. `workload/pods.yaml`")
    } else if out.starts_with('/') || out.starts_with('\\') || out.get(1..3) == Some(":\\") {
        Some("is absolute; outputs are paths inside the bundle, write it without the leading `/`")
    } else if out.split(['/', '\\']).any(|seg| seg == "..") {
        Some("contains `..`; outputs must stay inside the bundle")
    } else if out.contains('\\') {
        Some("contains `\\`; use `/` to separate folders")
    } else if out.ends_with('/') {
        Some("ends with `/`; name a file, not a folder")
    } else {
        None
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn valid_var(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Dependency cycles, each named in order of execution (`a -> b -> a`: `b` needs `a`, `a` needs
/// `b`), starting from the task that comes first in the pipeline.
fn cycles(tasks: &[SourcedTask]) -> Vec<Problem> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..tasks.len()).map(|i| graph.add_node(i)).collect();
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.spec.name.as_str(), i))
        .collect();
    for (i, t) in tasks.iter().enumerate() {
        let deps = t
            .spec
            .needs
            .iter()
            .map(String::as_str)
            .chain(t.spec.for_each.as_ref().map(|f| f.task.as_str()));
        for d in deps {
            if let Some(&j) = index.get(d) {
                if graph.find_edge(nodes[j], nodes[i]).is_none() {
                    graph.add_edge(nodes[j], nodes[i], ());
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut sccs = petgraph::algo::tarjan_scc(&graph);
    for scc in &mut sccs {
        scc.sort_by_key(|n| graph[*n]);
    }
    sccs.sort_by_key(|scc| graph[scc[0]]);
    for scc in sccs {
        let start = scc[0];
        let cyclic = scc.len() > 1 || graph.find_edge(start, start).is_some();
        if !cyclic {
            continue;
        }
        let members: HashSet<NodeIndex> = scc.iter().copied().collect();
        let path = cycle_from(&graph, start, &members);
        let names: Vec<&str> = path
            .iter()
            .map(|n| tasks[graph[*n]].spec.name.as_str())
            .collect();
        let first = &tasks[graph[start]];
        out.push(first.origin.problem(
            &[Seg::Key("needs")],
            format!(
                "dependency cycle: {} -> {} (each task needs the one before it); remove one of these needs",
                names.join(" -> "),
                names[0]
            ),
        ));
    }
    out
}

/// A path from `start` back to itself through `members` (one strongly connected component, so
/// one exists): a depth-first search that prefers lower task indexes, for stable messages.
fn cycle_from(
    graph: &DiGraph<usize, ()>,
    start: NodeIndex,
    members: &HashSet<NodeIndex>,
) -> Vec<NodeIndex> {
    let mut path = vec![start];
    let mut visited = HashSet::from([start]);
    fn dfs(
        graph: &DiGraph<usize, ()>,
        start: NodeIndex,
        members: &HashSet<NodeIndex>,
        path: &mut Vec<NodeIndex>,
        visited: &mut HashSet<NodeIndex>,
    ) -> bool {
        let here = *path.last().expect("path starts non-empty");
        let mut next: Vec<NodeIndex> = graph
            .neighbors(here)
            .filter(|n| members.contains(n))
            .collect();
        next.sort_by_key(|n| graph[*n]);
        if next.contains(&start) {
            return true;
        }
        for n in next {
            if visited.insert(n) {
                path.push(n);
                if dfs(graph, start, members, path, visited) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    dfs(graph, start, members, &mut path, &mut visited);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_distance_agrees_with_strsim_within_the_bound() {
        let words = [
            "", "a", "ab", "ba", "pods", "pod", "k8s.list", "k8s.lst", "k8s.logs", "items",
            "itmes", "xyz",
        ];
        let mut rows = [Vec::new(), Vec::new(), Vec::new()];
        for a in words {
            for b in words {
                let want = strsim::osa_distance(a, b);
                let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                for bound in 0..4 {
                    let got = bounded_distance(&ac, &bc, bound, &mut rows);
                    assert_eq!(
                        got,
                        (want <= bound).then_some(want),
                        "{a:?} {b:?} bound {bound}"
                    );
                }
            }
        }
    }

    #[test]
    fn closest_prefers_the_first_of_equally_close_names() {
        assert_eq!(closest("itemz", ["items", "itemx"]), Some("items"));
        assert_eq!(closest("itmes", ["nodes", "items"]), Some("items"));
        assert_eq!(closest("", ["ab"]), None);
    }
}
