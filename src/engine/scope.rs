//! Dependencies collected in the same run: each a `Scope` with its own pipeline and template
//! variables, whose nodes are named and whose artifacts are written under its prefix
//! (`dependencies/NAMESPACE/INSTANCE/`).
//!
//! Architecture: the session decides which instances are dependencies and builds one `Scope`
//! for each; the plan adds each scope's tasks to the one DAG with its prefix on their names
//! (so node ids, the journal and errors.json say whose node it is) and keeps the scope's
//! variables apart; the scheduler hands each node a sink that writes under the prefix. One DAG,
//! one journal and one bundle: a killed run resumes its dependencies too, and the limits hold
//! for the whole collection.

use serde_json::Value;

use crate::pipeline::{Pipeline, TaskSpec};

/// One dependency's part of a collection.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Put before its task names, node ids and artifact paths; ends with `/`.
    pub prefix: String,
    pub pipeline: Pipeline,
    /// Its template variables (its instance, namespace, operator, ...).
    pub globals: Value,
}

impl Scope {
    /// Its tasks as they join the run's DAG: names, `needs` and `forEach` sources prefixed.
    /// Output paths are not: the node's sink writes under the prefix.
    pub fn tasks(&self) -> impl Iterator<Item = TaskSpec> + '_ {
        self.pipeline.tasks.iter().map(|t| {
            let mut t = t.clone();
            t.name = format!("{}{}", self.prefix, t.name);
            for n in &mut t.needs {
                *n = format!("{}{n}", self.prefix);
            }
            if let Some(fe) = &mut t.for_each {
                fe.task = format!("{}{}", self.prefix, fe.task);
            }
            t
        })
    }
}

/// The hash a journal and a manifest record for a run: the pipeline's own when there are no
/// dependencies (so journals of runs without them keep resuming), else one over the pipeline
/// and each scope's prefix, pipeline and variables, so `--continue` refuses a run whose
/// dependencies changed.
pub fn run_hash(pipeline: &Pipeline, scopes: &[Scope]) -> String {
    if scopes.is_empty() {
        return pipeline.hash.clone();
    }
    let mut h = blake3::Hasher::new();
    h.update(pipeline.hash.as_bytes());
    for s in scopes {
        h.update(b"\0");
        h.update(s.prefix.as_bytes());
        h.update(b"\0");
        h.update(s.pipeline.hash.as_bytes());
        h.update(b"\0");
        h.update(s.globals.to_string().as_bytes());
    }
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ForEach;
    use serde_json::json;

    fn task(name: &str, needs: &[&str]) -> TaskSpec {
        TaskSpec {
            name: name.into(),
            kind: "synthetic.sleep".into(),
            params: json!({}),
            needs: needs.iter().map(|s| s.to_string()).collect(),
            for_each: None,
            output: Some(format!("{name}.txt")),
            timeout: None,
            retries: None,
            optional: false,
        }
    }

    #[test]
    fn a_scope_prefixes_names_and_references_but_not_outputs() {
        let mut logs = task("logs", &["pods"]);
        logs.for_each = Some(ForEach {
            task: "pods".into(),
            bind: "pod".into(),
            then: None,
        });
        let s = Scope {
            prefix: "dependencies/ns/zk/".into(),
            pipeline: Pipeline::new("zk", vec![], vec![task("pods", &[]), logs]),
            globals: json!({"instance": "zk"}),
        };
        let t: Vec<TaskSpec> = s.tasks().collect();
        assert_eq!(t[1].name, "dependencies/ns/zk/logs");
        assert_eq!(t[1].needs, vec!["dependencies/ns/zk/pods"]);
        assert_eq!(
            t[1].for_each.as_ref().unwrap().task,
            "dependencies/ns/zk/pods"
        );
        assert_eq!(t[1].output.as_deref(), Some("logs.txt"));
    }

    #[test]
    fn the_run_hash_is_the_pipelines_without_scopes_and_changes_with_them() {
        let p = Pipeline::new("p", vec![], vec![task("a", &[])]);
        assert_eq!(run_hash(&p, &[]), p.hash);
        let s = |instance: &str| Scope {
            prefix: format!("dependencies/ns/{instance}/"),
            pipeline: p.clone(),
            globals: json!({"instance": instance}),
        };
        let one = run_hash(&p, &[s("zk")]);
        assert_ne!(one, p.hash);
        assert_ne!(one, run_hash(&p, &[s("zk2")]));
        assert_eq!(one, run_hash(&p, &[s("zk")]));
    }
}
