//! A collection session: from a typed `Request` (what the user asked for, checked, nothing read
//! yet) to a `RunConfig` the engine runs. `Session::open` resolves the pipelines, connects,
//! finds the instance and its operator, merges the operator's own `diagnostics`, assembles the
//! redaction and picks the bundle path; it writes nothing and prints nothing: what the user
//! should hear comes back as `Note`s.
//!
//! `kudo-diag run` (and so a CronJob's in-cluster run), `kudo-diag demo`, the benches and the
//! tests all open their collections here, so a run is set up one way.
//!
//! Architecture: the CLI builds the `Request` from flags without I/O (`cli::run::request`);
//! everything that asks the cluster or the file system is here or below (`collect::target`,
//! `collect::connect`, `opdiag::prepare`). The session sits above `collect` and `opdiag`
//! because it needs both, and `opdiag`'s kinds are built on `collect`'s.

mod dependencies;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::bundle::redact::Redactor;
use crate::collect::connect::{self, Connection};
use crate::collect::naming::{default_bundle_path, finished_bundles};
use crate::collect::target;
use crate::engine::run::find_partials;
use crate::engine::{
    self, Limits, LogSettings, Registry, Reporter, ResumeMode, RunConfig, Summary, TaskEnv,
};
use crate::pipeline::Pipeline;

/// `kudo-diag run`'s default request rate (`--qps`).
pub const DEFAULT_QPS: f64 = 50.0;
/// `kudo-diag run`'s default request timeout (`--request-timeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Which pipeline the collection runs.
#[derive(Debug, Clone, Default)]
pub enum Pipelines {
    /// The built-in pipeline chosen for the instance's operator.
    #[default]
    ForOperator,
    /// Built-in names or files, later ones extending earlier ones.
    Specs(Vec<String>),
    /// A pipeline already loaded and validated.
    Loaded(Pipeline),
}

/// Whether artifacts are redacted, and with what beyond the built-in rules.
#[derive(Debug, Clone)]
pub enum Redaction {
    /// The built-in rules, the namespace's Secret values, the operator's own rules and these
    /// extra regular expressions.
    On { patterns: Vec<String> },
    /// Artifacts are written as they come (`--no-redact`).
    Off,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction::On {
            patterns: Vec::new(),
        }
    }
}

/// Where the bundle goes.
#[derive(Debug, Clone)]
pub enum Output {
    /// This file.
    File(PathBuf),
    /// A file named `kudo-diag_<namespace>_<instance>_<UTC time>.zip` in this folder (with
    /// `ResumeMode::Continue`, the unfinished collection of the same target there).
    Dir(PathBuf),
}

/// What one collection is asked to do: built from flags (or by a program) without any I/O.
#[derive(Debug, Clone)]
pub struct Request {
    /// The KUDO instance; for synthetic-only pipelines, default: the pipeline's name.
    pub instance: Option<String>,
    /// The instance's namespace; default: the kubeconfig context's.
    pub namespace: Option<String>,
    /// Where KUDO's manager runs.
    pub kudo_namespace: String,
    pub pipelines: Pipelines,
    /// An operator package whose `diagnostics` key adds tasks and redaction.
    pub operator_package: Option<PathBuf>,
    pub logs: LogSettings,
    pub redaction: Redaction,
    pub connection: Connection,
    pub resume: ResumeMode,
    pub limits: Limits,
    /// Keep the partial folder after the bundle is written.
    pub keep_partial: bool,
    pub output: Output,
    /// Collect the instance's dependencies too (`collect::dependencies`), each under
    /// `dependencies/NAMESPACE/INSTANCE/`; `--no-dependencies` turns it off.
    pub dependencies: bool,
}

impl Request {
    /// A request for `instance` with every default of `kudo-diag run`: the operator's
    /// pipeline, redaction on, a fresh bundle in the current folder.
    pub fn new(instance: impl Into<String>) -> Request {
        Request {
            instance: Some(instance.into()),
            namespace: None,
            kudo_namespace: "kudo-system".into(),
            pipelines: Pipelines::ForOperator,
            operator_package: None,
            logs: LogSettings::default(),
            redaction: Redaction::default(),
            connection: Connection {
                request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
                qps: Some(DEFAULT_QPS),
                ..Connection::default()
            },
            resume: ResumeMode::Fresh,
            limits: Limits::default(),
            keep_partial: false,
            output: Output::Dir(PathBuf::from(".")),
            dependencies: true,
        }
    }
}

/// Who a collection is for: stored in the journal and the manifest, and compared by
/// `--continue` (a different target is refused). `cluster` is the API server's URL, or `none`
/// for synthetic-only pipelines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunTarget {
    pub cluster: String,
    pub namespace: String,
    pub instance: String,
}

impl RunTarget {
    /// The journal's and manifest's form.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a target serializes")
    }
}

/// Something the user should hear before the collection starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Info(String),
    Warning(String),
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Info(s) => write!(f, "note: {s}"),
            Note::Warning(s) => write!(f, "warning: {s}"),
        }
    }
}

/// A collection ready to run.
#[derive(Debug)]
pub struct Session {
    pub config: RunConfig,
    pub target: RunTarget,
    pub notes: Vec<Note>,
}

impl Session {
    /// Resolves, connects and asks the cluster; writes nothing.
    pub async fn open(req: Request, registry: &Registry) -> crate::Result<Session> {
        let explicit = match &req.pipelines {
            Pipelines::ForOperator => None,
            Pipelines::Specs(specs) => Some(crate::pipeline::resolve(specs, registry)?),
            Pipelines::Loaded(p) => Some(p.clone()),
        };
        match explicit {
            Some(p) if p.tasks.iter().all(|t| t.kind.starts_with("synthetic.")) => {
                synthetic(req, p)
            }
            explicit => connected(req, explicit, registry).await,
        }
    }

    /// Runs the collection to its end (or its cancellation).
    pub async fn run(
        self,
        registry: &Registry,
        reporter: &dyn Reporter,
        cancel: CancellationToken,
    ) -> crate::Result<Summary> {
        Ok(engine::run(self.config, registry, reporter, cancel).await?)
    }
}

/// Synthetic tasks need no cluster: the target says so.
fn synthetic(req: Request, pipeline: Pipeline) -> crate::Result<Session> {
    let namespace = req.namespace.clone().unwrap_or_else(|| "default".into());
    let instance = req
        .instance
        .clone()
        .unwrap_or_else(|| pipeline.name.clone());
    let target = RunTarget {
        cluster: "none".into(),
        namespace: namespace.clone(),
        instance: instance.clone(),
    };
    let globals = json!({"namespace": namespace, "instance": instance});
    let mut notes = Vec::new();
    let output = output_path(&req, &target, &mut notes)?;
    Ok(Session {
        config: config(
            &req,
            pipeline,
            &target,
            globals,
            output,
            TaskEnv::default(),
            None,
        ),
        target,
        notes,
    })
}

/// A collection from a cluster: connect, find the instance, merge what its operator publishes.
async fn connected(
    req: Request,
    explicit: Option<Pipeline>,
    registry: &Registry,
) -> crate::Result<Session> {
    let Some(instance) = req.instance.clone() else {
        return Err(crate::Error::Usage(
            "which instance? pass --instance NAME (and -n NAMESPACE); `kubectl get instances.kudo.dev -A` lists them".into(),
        ));
    };
    if let Some(q) = req.connection.qps {
        if !(q > 0.0 && q.is_finite()) {
            return Err(crate::Error::Usage(format!(
                "invalid --qps {q}: give a number of requests per second, or 0 for no limit"
            )));
        }
    }
    let timeout = req
        .connection
        .request_timeout
        .unwrap_or(DEFAULT_REQUEST_TIMEOUT);
    let cluster = connect::connect(&req.connection).await?;
    let namespace = req.namespace.clone().unwrap_or(cluster.namespace.clone());
    // Finding the instance, finding its dependencies and reading KUDO's Secrets need nothing
    // from each other: each is a few requests, and asked at once their waits overlap instead
    // of adding up (each sequential request pays the API server's latency). When the instance
    // cannot be found, the other two are dropped at once with the error.
    let root = dependencies::Root {
        client: &cluster.client,
        server: &cluster.server,
        namespace: &namespace,
        instance: &instance,
        kudo_namespace: &req.kudo_namespace,
        timeout,
    };
    let others = async {
        let deps = async {
            if req.dependencies {
                dependencies::scopes(&root, registry).await
            } else {
                dependencies::Dependencies::default()
            }
        };
        Ok(tokio::join!(
            deps,
            kudo_secret_values(&req, &cluster.client, &namespace, timeout)
        ))
    };
    let (found, (deps, kudo_secrets)) = tokio::try_join!(
        target::resolve(
            &cluster.client,
            &cluster.server,
            &namespace,
            &instance,
            timeout
        ),
        others,
    )?;
    let mut notes: Vec<Note> = found.notes.iter().cloned().map(Note::Info).collect();
    let pipeline = match explicit {
        Some(p) => p,
        None => crate::pipeline::resolve(std::slice::from_ref(&found.pipeline), registry)?,
    };
    // What the operator publishes about itself (its `diagnostics` key), merged in.
    let published = crate::opdiag::prepare(
        &cluster.client,
        &crate::opdiag::Target {
            namespace: &namespace,
            kudo_namespace: &req.kudo_namespace,
            instance: &instance,
            operator: found.operator.as_deref().unwrap_or(""),
            operator_version: found.operator_version.as_deref(),
        },
        req.operator_package.as_deref(),
    )
    .await
    .map_err(crate::Error::Usage)?;
    notes.extend(published.problems.iter().cloned().map(Note::Info));
    let pipeline = published.plan.merge_into(&pipeline);
    notes.extend(deps.notes.iter().cloned());
    let redactor = redactor(
        &req.redaction,
        &published,
        &found,
        kudo_secrets,
        &deps,
        &mut notes,
    )?;
    let target = RunTarget {
        cluster: cluster.server.clone(),
        namespace,
        instance,
    };
    let output = output_path(&req, &target, &mut notes)?;
    let env = TaskEnv {
        kube: Some(cluster.client),
        logs: req.logs,
    };
    let globals = found.globals(&req.kudo_namespace);
    let mut config = config(&req, pipeline, &target, globals, output, env, redactor);
    config.dependencies = deps.scopes;
    Ok(Session {
        config,
        target,
        notes,
    })
}

fn config(
    req: &Request,
    pipeline: Pipeline,
    target: &RunTarget,
    globals: Value,
    output: PathBuf,
    env: TaskEnv,
    redactor: Option<Arc<Redactor>>,
) -> RunConfig {
    let mut config = RunConfig::new(pipeline, target.to_value(), globals, output);
    config.env = env;
    config.redactor = redactor;
    config.resume = req.resume;
    config.keep_partial = req.keep_partial;
    config.limits = req.limits.clone();
    config
}

/// The values of the Secrets of KUDO's namespace, when it is not the instance's: the KUDO
/// manager's logs are collected too, and it can log its webhook's key. Empty when redaction is
/// off; a namespace that cannot be read is a note. Read before the operator's `diagnostics` key
/// is, so that the wait overlaps the others: `redactor` drops them (and the note) when the
/// operator opts out of Secret values.
async fn kudo_secret_values(
    req: &Request,
    client: &kube::Client,
    namespace: &str,
    timeout: std::time::Duration,
) -> (Vec<String>, Option<String>) {
    let wanted = matches!(req.redaction, Redaction::On { .. }) && req.kudo_namespace != namespace;
    if !wanted {
        return (Vec::new(), None);
    }
    target::secret_values(client, &req.kudo_namespace, timeout).await
}

/// The built-in rules plus the user's patterns, the operator's rules and, unless the operator
/// opts out, the values of the namespace's Secrets and of KUDO's (less the names that are
/// public anyway).
fn redactor(
    redaction: &Redaction,
    published: &crate::opdiag::prepare::Prepared,
    found: &target::Target,
    (kudo_secrets, kudo_note): (Vec<String>, Option<String>),
    deps: &dependencies::Dependencies,
    notes: &mut Vec<Note>,
) -> crate::Result<Option<Arc<Redactor>>> {
    let Redaction::On { patterns } = redaction else {
        notes.push(Note::Warning(
            "--no-redact: secrets are written to the bundle in clear".into(),
        ));
        return Ok(None);
    };
    let mut patterns = patterns.clone();
    patterns.extend(published.redaction.patterns.iter().cloned());
    for p in &deps.patterns {
        if !patterns.contains(p) {
            patterns.push(p.clone());
        }
    }
    let mut literals = published.redaction.literals.clone();
    literals.extend(deps.literals.iter().cloned());
    if crate::opdiag::redact::redact_secrets(&published.sources) {
        literals.extend(found.secret_values.iter().cloned());
        literals.extend(kudo_secrets);
        if let Some(n) = kudo_note {
            notes.push(Note::Info(n));
        }
    }
    literals.sort();
    literals.dedup();
    target::drop_public_names(
        &mut literals,
        &[
            Some(found.instance.as_str()),
            Some(found.namespace.as_str()),
            found.operator.as_deref(),
        ],
    );
    let r = Redactor::new(&patterns, &literals).map_err(|e| crate::Error::Usage(e.to_string()))?;
    Ok(Some(Arc::new(r)))
}

/// The bundle to write: the file asked for, the unfinished collection to continue, or a new
/// default name.
fn output_path(req: &Request, target: &RunTarget, notes: &mut Vec<Note>) -> crate::Result<PathBuf> {
    let dir = match &req.output {
        Output::File(f) => return Ok(f.clone()),
        Output::Dir(d) => d,
    };
    let (namespace, instance) = (&target.namespace, &target.instance);
    if req.resume == ResumeMode::Continue {
        if let Some(o) = find_to_continue(dir, target)? {
            return Ok(o);
        }
        notes.push(Note::Info(format!(
            "{} holds no unfinished collection of instance {instance} in namespace {namespace}: starting a new one",
            dir.display()
        )));
    }
    Ok(default_bundle_path(dir, namespace, instance))
}

/// The unfinished collection in `dir` for this target (the newest if several). If there is none
/// but a finished bundle of the same namespace and instance is there, returns that bundle (the
/// engine then reports there is nothing to do).
fn find_to_continue(dir: &Path, target: &RunTarget) -> crate::Result<Option<PathBuf>> {
    let wanted = target.to_value();
    let found = find_partials(dir, |meta| meta.target == wanted)?;
    if let Some(last) = found.last() {
        return Ok(Some(last.clone()));
    }
    let mut bundles = finished_bundles(dir, &target.namespace, &target.instance)
        .map_err(|e| crate::Error::io(dir, e))?;
    Ok(bundles.pop())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal compares targets as JSON: the typed target must keep the form journals
    /// written before it hold, or `--continue` would refuse them.
    #[test]
    fn the_target_keeps_the_journals_form() {
        let t = RunTarget {
            cluster: "https://127.0.0.1:6443/".into(),
            namespace: "prod".into(),
            instance: "cassandra".into(),
        };
        assert_eq!(
            t.to_value(),
            json!({"cluster": "https://127.0.0.1:6443/", "namespace": "prod", "instance": "cassandra"})
        );
    }

    #[tokio::test]
    async fn a_synthetic_pipeline_needs_no_cluster_and_no_instance() {
        let d = tempfile::tempdir().unwrap();
        let registry = crate::registry::default_registry();
        let req = Request {
            instance: None,
            pipelines: Pipelines::Specs(vec!["selftest".into()]),
            output: Output::Dir(d.path().to_path_buf()),
            ..Request::new("unused")
        };
        let s = Session::open(req, &registry).await.unwrap();
        assert_eq!(s.target.cluster, "none");
        assert_eq!(s.target.instance, "selftest");
        assert_eq!(s.target.namespace, "default");
        assert!(s.config.output.starts_with(d.path()));
        assert!(s.notes.is_empty());
    }

    #[tokio::test]
    async fn a_cluster_run_without_an_instance_says_how_to_name_one() {
        let registry = crate::registry::default_registry();
        let req = Request {
            instance: None,
            ..Request::new("unused")
        };
        let e = Session::open(req, &registry).await.unwrap_err().to_string();
        assert!(e.contains("pass --instance NAME"), "{e}");
    }
}
