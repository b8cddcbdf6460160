//! The built-in collection pipelines, embedded so a collection works airgapped:
//! `kudo` (the base: instance, KUDO, workload, cluster) and one per application, each
//! `extends: kudo`. The pipeline loader (`crate::pipeline::load`) owns parsing and merging;
//! this module only owns the texts.

/// The text of a built-in pipeline (the table is `crate::pipeline::builtin::BUILTINS`).
pub fn builtin(name: &str) -> Option<&'static str> {
    crate::pipeline::builtin::get(name).map(|b| b.text)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::Value;

    use super::*;
    use crate::engine::Registry;
    use crate::pipeline::template;
    use crate::pipeline::{PipelineDoc, TaskSpec};

    /// The collection pipelines (the built-ins other than the engine's selftest).
    const COLLECTION: &[&str] = &["kudo", "cassandra", "kafka", "zookeeper", "elastic"];

    fn registry() -> Registry {
        let mut r = Registry::new();
        crate::collect::register(&mut r);
        r
    }

    fn doc(name: &str) -> PipelineDoc {
        let text = builtin(name).unwrap();
        crate::yaml::from_str(text).unwrap_or_else(|e| panic!("pipelines/{name}.yaml: {e}"))
    }

    /// Base tasks first, a task of the extending pipeline replacing the base's of that name
    /// (the merge rule documented in `pipeline::model`).
    fn merged(name: &str) -> Vec<TaskSpec> {
        let d = doc(name);
        let mut tasks = match &d.spec.extends {
            Some(base) => merged(base),
            None => Vec::new(),
        };
        for t in d.spec.tasks {
            match tasks.iter_mut().find(|b| b.name == t.name) {
                Some(slot) => *slot = t,
                None => tasks.push(t),
            }
        }
        tasks
    }

    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(m) => m.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }

    /// The pipeline owner's loader and validator accept every built-in pipeline, merged with
    /// its base (written out without `extends`, so this does not depend on the loader's table
    /// of built-ins), against a registry of the collect kinds.
    #[test]
    fn the_pipeline_validator_accepts_every_builtin() {
        let reg = registry();
        for name in COLLECTION {
            let d = doc(name);
            let flat = PipelineDoc {
                spec: crate::pipeline::PipelineSpec {
                    extends: None,
                    operators: d.spec.operators.clone(),
                    tasks: merged(name),
                },
                ..d
            };
            let text = crate::yaml::to_string(&flat).unwrap();
            if let Err(e) = crate::pipeline::load::load_str(&format!("builtin:{name}"), &text, &reg)
            {
                panic!("{name}:\n{e}");
            }
        }
    }

    #[test]
    fn every_builtin_pipeline_parses_and_names_itself() {
        for name in COLLECTION {
            let d = doc(name);
            assert_eq!(d.api_version, crate::pipeline::model::API_VERSION, "{name}");
            assert_eq!(d.kind, crate::pipeline::model::KIND, "{name}");
            assert_eq!(&d.metadata.name, name);
            if *name != "kudo" {
                assert_eq!(d.spec.extends.as_deref(), Some("kudo"), "{name}");
                assert_eq!(d.spec.operators, vec![name.to_string()], "{name}");
            }
        }
    }

    #[test]
    fn every_task_uses_a_collect_kind_with_known_and_required_params() {
        let reg = registry();
        for name in COLLECTION {
            for t in merged(name) {
                let kind = reg.get(&t.kind).unwrap_or_else(|| {
                    panic!("{name}: task {} uses unknown kind {}", t.name, t.kind)
                });
                let specs = kind.params();
                let given = t.params.as_object().cloned().unwrap_or_default();
                for k in given.keys() {
                    assert!(
                        specs.iter().any(|s| s.name == k),
                        "{name}: task {} gives unknown parameter {k} to {}",
                        t.name,
                        t.kind
                    );
                }
                for s in specs.iter().filter(|s| s.required) {
                    assert!(
                        given.contains_key(s.name),
                        "{name}: task {} lacks {}",
                        t.name,
                        s.name
                    );
                }
            }
        }
    }

    #[test]
    fn references_and_template_variables_resolve() {
        for name in COLLECTION {
            let tasks = merged(name);
            let names: BTreeSet<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names.len(), tasks.len(), "{name}: duplicate task names");
            for t in &tasks {
                for n in &t.needs {
                    assert!(
                        names.contains(n.as_str()),
                        "{name}: {} needs unknown {n}",
                        t.name
                    );
                }
                let mut scope: Vec<&str> = template::GLOBALS.to_vec();
                if let Some(fe) = &t.for_each {
                    assert!(
                        names.contains(fe.task.as_str()),
                        "{name}: {} fans out over unknown {}",
                        t.name,
                        fe.task
                    );
                    assert!(
                        t.needs.contains(&fe.task),
                        "{name}: {} fans out over {} without needing it",
                        t.name,
                        fe.task
                    );
                    scope.push(&fe.bind);
                    if let Some(n) = &fe.then {
                        scope.push(&n.bind);
                    }
                }
                let mut texts = Vec::new();
                strings(&t.params, &mut texts);
                texts.extend(t.output.clone());
                for text in texts {
                    for var in template::variables(&text).unwrap() {
                        let root = var.split('.').next().unwrap();
                        assert!(
                            scope.contains(&root),
                            "{name}: task {} uses {{{{{var}}}}} outside its scope {scope:?}",
                            t.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn output_paths_are_distinct_and_fan_outs_are_keyed() {
        for name in COLLECTION {
            let mut seen: BTreeMap<String, String> = BTreeMap::new();
            for t in merged(name) {
                let mut outs: Vec<String> = t.output.iter().cloned().collect();
                if let Some(e) = t.params.get("outputEach").and_then(Value::as_str) {
                    assert!(
                        e.contains("{name}"),
                        "{name}: {} outputEach must contain {{name}}",
                        t.name
                    );
                    outs.push(e.to_string());
                }
                for o in outs {
                    if let Some(fe) = &t.for_each {
                        // Each fan-out node needs its own path: the bound variables must appear.
                        let vars = template::variables(&o).unwrap();
                        let mut binds = vec![fe.bind.as_str()];
                        if let Some(n) = &fe.then {
                            binds.push(&n.bind);
                        }
                        for b in binds {
                            assert!(
                                vars.iter().any(|v| v.split('.').next() == Some(b)),
                                "{name}: {} writes {o} for every {b} without {b} in the path",
                                t.name
                            );
                        }
                    }
                    if let Some(prev) = seen.insert(o.clone(), t.name.clone()) {
                        panic!("{name}: tasks {prev} and {} both write {o}", t.name);
                    }
                }
            }
        }
    }
}
