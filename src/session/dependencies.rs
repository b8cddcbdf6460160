//! The instance's dependencies as parts of the same collection: for each instance
//! `collect::dependencies` finds, its own target, pipeline and operator `diagnostics`, as an
//! `engine::Scope` under `dependencies/NAMESPACE/INSTANCE/`, less the tasks whose artifacts
//! are the same for every instance (KUDO's manager, the cluster: `layout::SHARED_DIRS`).
//!
//! A dependency that cannot be set up is a note, never a reason to stop: the collection of the
//! instance asked for comes first.

use std::collections::HashSet;
use std::time::Duration;

use crate::bundle::layout;
use crate::collect::{dependencies, target};
use crate::engine::{Registry, Scope};
use crate::pipeline::Pipeline;

use super::Note;

/// The dependencies' scopes, and what they add to the run's redaction.
#[derive(Debug, Default)]
pub struct Dependencies {
    pub scopes: Vec<Scope>,
    /// Their operators' redaction patterns.
    pub patterns: Vec<String>,
    /// Their Secrets' values and their operators' literal values.
    pub literals: Vec<String>,
    /// What the user should hear about them, in the order they were found.
    pub notes: Vec<Note>,
}

/// Where the root instance is, and how to ask the cluster.
pub struct Root<'a> {
    pub client: &'a kube::Client,
    pub server: &'a str,
    pub namespace: &'a str,
    pub instance: &'a str,
    pub kudo_namespace: &'a str,
    pub timeout: Duration,
}

/// One dependency set up: its scope, and its operator's redaction.
struct SetUp {
    scope: Scope,
    patterns: Vec<String>,
    literals: Vec<String>,
}

/// Finds the dependencies of the root instance and sets each up. The dependencies are set up
/// at the same time (each is a few requests that wait on the API server, not on each other);
/// their scopes, redaction and notes keep the order they were found in.
pub async fn scopes(root: &Root<'_>, registry: &Registry) -> Dependencies {
    let found =
        dependencies::resolve(root.client, root.namespace, root.instance, root.timeout).await;
    let mut out = Dependencies {
        notes: found.notes.into_iter().map(Note::Info).collect(),
        ..Dependencies::default()
    };
    let set_up = futures::future::join_all(
        found
            .dependencies
            .iter()
            .map(|dep| scope(root, registry, dep)),
    )
    .await;
    for (dep, result) in found.dependencies.iter().zip(set_up) {
        match result {
            Ok(s) => {
                out.notes.push(Note::Info(format!(
                    "collecting instance {}/{} too ({}), under {}",
                    dep.namespace, dep.instance, dep.why, s.scope.prefix
                )));
                out.patterns.extend(s.patterns);
                out.literals.extend(s.literals);
                out.scopes.push(s.scope);
            }
            Err(e) => out.notes.push(Note::Warning(format!(
                "instance {}/{} ({}) is not collected: {e}",
                dep.namespace, dep.instance, dep.why
            ))),
        }
    }
    if !out.scopes.is_empty() {
        out.notes.push(Note::Info(
            "--no-dependencies collects the instance alone".into(),
        ));
    }
    out
}

async fn scope(
    root: &Root<'_>,
    registry: &Registry,
    dep: &dependencies::Dependency,
) -> crate::Result<SetUp> {
    let found = target::resolve(
        root.client,
        root.server,
        &dep.namespace,
        &dep.instance,
        root.timeout,
    )
    .await?;
    let pipeline = crate::pipeline::resolve(std::slice::from_ref(&found.pipeline), registry)?;
    let published = crate::opdiag::prepare(
        root.client,
        &crate::opdiag::Target {
            namespace: &dep.namespace,
            kudo_namespace: root.kudo_namespace,
            instance: &dep.instance,
            operator: found.operator.as_deref().unwrap_or(""),
            operator_version: found.operator_version.as_deref(),
        },
        None,
    )
    .await
    .map_err(crate::Error::Usage)?;
    let pipeline = without_shared(&published.plan.merge_into(&pipeline));
    let patterns = published.redaction.patterns.clone();
    let mut literals = published.redaction.literals.clone();
    if crate::opdiag::redact::redact_secrets(&published.sources) {
        let mut values = found.secret_values.clone();
        target::drop_public_names(
            &mut values,
            &[
                Some(found.instance.as_str()),
                Some(found.namespace.as_str()),
                found.operator.as_deref(),
            ],
        );
        literals.extend(values);
    }
    Ok(SetUp {
        scope: Scope {
            prefix: layout::dependency_prefix(&dep.namespace, &dep.instance),
            globals: found.globals(root.kudo_namespace),
            pipeline,
        },
        patterns,
        literals,
    })
}

/// `pipeline` without the tasks that write under the shared folders, nor the tasks that need
/// them: a dependency's collection would only repeat what the root's holds.
pub fn without_shared(pipeline: &Pipeline) -> Pipeline {
    let shared = |o: &str| layout::SHARED_DIRS.iter().any(|d| o.starts_with(d));
    let mut dropped: HashSet<&str> = pipeline
        .tasks
        .iter()
        .filter(|t| t.output.as_deref().is_some_and(shared))
        .map(|t| t.name.as_str())
        .collect();
    loop {
        let before = dropped.len();
        for t in &pipeline.tasks {
            let needs_dropped = t
                .needs
                .iter()
                .chain(t.for_each.as_ref().map(|f| &f.task))
                .any(|n| dropped.contains(n.as_str()));
            if needs_dropped {
                dropped.insert(&t.name);
            }
        }
        if dropped.len() == before {
            break;
        }
    }
    let tasks = pipeline
        .tasks
        .iter()
        .filter(|t| !dropped.contains(t.name.as_str()))
        .cloned()
        .collect();
    Pipeline::new(pipeline.name.clone(), pipeline.sources.clone(), tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dependency_skips_kudo_and_the_cluster_and_what_needs_them() {
        let p = crate::pipeline::resolve(
            &["zookeeper".to_string()],
            &crate::registry::default_registry(),
        )
        .unwrap();
        let kept = without_shared(&p);
        let names: Vec<&str> = kept.tasks.iter().map(|t| t.name.as_str()).collect();
        for gone in [
            "kudo-pods",
            "kudo-logs",
            "nodes",
            "server-version",
            "crd-instances",
        ] {
            assert!(!names.contains(&gone), "{gone} kept: {names:?}");
        }
        for kept in ["instance", "pods", "pod-logs", "events", "versions"] {
            assert!(names.contains(&kept), "{kept} dropped: {names:?}");
        }
        assert!(
            names.contains(&"zk-srvr"),
            "the application's own tasks stay: {names:?}"
        );
        // Every remaining reference is to a remaining task: the plan accepts it.
        crate::engine::plan::Plan::new(&kept, &serde_json::json!({})).unwrap();
    }
}
