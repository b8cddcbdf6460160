//! One call for a collection: read every source of the `diagnostics` key for an instance,
//! plan its tasks and gather its redaction, so the `run` command (and tests) only merge the
//! tasks into the pipeline and hand the redactor to the engine.

use std::path::Path;
use std::sync::Arc;

use super::plan::{plan, DiagnosticsPlan, Sourced};
use super::redact::{gather, secret_values, Extra};
use super::source;
use crate::bundle::redact::Redactor;

/// Who is being collected.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub namespace: &'a str,
    pub kudo_namespace: &'a str,
    pub instance: &'a str,
    pub operator: &'a str,
    /// The OperatorVersion's object name (`zookeeper-3.6.2-0.3.3`), when known.
    pub operator_version: Option<&'a str>,
}

/// Everything a collection takes from the `diagnostics` key.
#[derive(Debug)]
pub struct Prepared {
    pub sources: Vec<Sourced>,
    pub plan: DiagnosticsPlan,
    pub redaction: Extra,
    /// Problems reading the sources or the redaction's objects (entries' own problems are in
    /// `plan.problems`). None of them stops a collection.
    pub problems: Vec<String>,
}

impl Prepared {
    /// The built-in rules plus the key's.
    pub fn redactor(&self) -> Arc<Redactor> {
        Arc::new(self.redaction.redactor())
    }
}

/// Reads `package` (when given; a bad package is an error, since the user named it), then the
/// cluster's OperatorVersion and labelled ConfigMaps.
pub async fn prepare(
    client: &kube::Client,
    target: &Target<'_>,
    package: Option<&Path>,
) -> Result<Prepared, String> {
    let mut sources = Vec::new();
    if let Some(p) = package {
        sources.extend(source::from_package(p)?);
    }
    // The instance's Secret values are read while the sources are: whether they are wanted
    // is only known from the sources (`redactSecrets`), but reading them first would add a
    // round trip to the start of every collection, and they are dropped when not wanted.
    let ((found, mut problems), instance_secrets) = tokio::join!(
        source::from_cluster(
            client,
            target.namespace,
            target.kudo_namespace,
            target.operator,
            target.operator_version,
        ),
        secret_values(client, target.namespace, target.instance),
    );
    sources.extend(found);
    let mut plan = plan(&sources);
    // Describe-style text is part of the implicit collection, with or without a key.
    plan.tasks.extend(super::describe::tasks());
    let redaction = gather(
        client,
        target.namespace,
        target.instance,
        &sources,
        instance_secrets,
    )
    .await;
    problems.extend(redaction.problems.iter().cloned());
    // Each problem also becomes a failing task, so it is in the bundle's errors.json.
    for (i, p) in problems.iter().enumerate() {
        let name = format!("source-problem-{}", i + 1);
        plan.tasks
            .push(super::plan::invalid(&format!("diag-{name}"), &name, p));
    }
    Ok(Prepared {
        sources,
        plan,
        redaction,
        problems,
    })
}

/// `base` with the tasks of a package's `diagnostics` key merged in, without a cluster (for
/// `pipelines show|graph --operator-package`). Bad entries appear as `opdiag.invalid` tasks.
pub fn merge_package(
    base: &crate::pipeline::Pipeline,
    package: &Path,
) -> Result<crate::pipeline::Pipeline, String> {
    let sources: Vec<Sourced> = source::from_package(package)?.into_iter().collect();
    if sources.is_empty() {
        return Err(format!(
            "{}: operator.yaml has no `diagnostics` key; see docs/operator-developers.md",
            package.display()
        ));
    }
    Ok(plan(&sources).merge_into(base))
}
