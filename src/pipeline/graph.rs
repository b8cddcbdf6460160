//! The DAG of a pipeline as Graphviz DOT (`kudo-diag pipelines graph`): one node per task,
//! labelled `name\n(kind)`, an edge from each needed task to the task that needs it. Fan-out
//! tasks (one node per item at run time) are drawn as stacked boxes with the source named, and
//! their edge from the fan-out source is bold.
//!
//! Written by hand rather than with petgraph's `Dot` so that the output is stable (task order)
//! and the attributes are exactly the ones documented in docs/pipelines.md.

use std::fmt::Write;

use super::Pipeline;

/// The pipeline's DAG in DOT.
pub fn to_dot(p: &Pipeline) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&p.name));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, fontname=\"monospace\"];\n");
    for t in &p.tasks {
        let mut label = format!("{}\n({})", t.name, t.kind);
        let mut attrs = String::new();
        if let Some(fe) = &t.for_each {
            let _ = write!(label, "\nfor each {} of {}", fe.bind, fe.task);
            if let Some(n) = &fe.then {
                let _ = write!(label, "\nand each {} of {}", n.bind, n.path);
            }
            attrs.push_str(", shape=box3d, style=bold");
        }
        if t.optional {
            attrs.push_str(", color=gray40");
        }
        let _ = writeln!(
            out,
            "  {} [label={}{attrs}];",
            quote(&t.name),
            quote(&label)
        );
    }
    for t in &p.tasks {
        for need in &t.needs {
            let fan = t.for_each.as_ref().is_some_and(|f| &f.task == need);
            let style = if fan {
                " [style=bold, label=\"each\"]"
            } else {
                ""
            };
            let _ = writeln!(out, "  {} -> {}{style};", quote(need), quote(&t.name));
        }
    }
    out.push_str("}\n");
    out
}

/// A DOT double-quoted string; `\n` in the text becomes DOT's line break.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
