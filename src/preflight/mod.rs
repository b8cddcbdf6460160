//! Preflight (KEP-22 phase one, issue 6): before an operator instance exists, will this KUDO
//! operator, with these parameters, fit in this cluster and be allowed there?
//!
//! Architecture: `package` loads an operator package (folder, .tgz, or an OperatorVersion in the
//! cluster); `params` resolves parameters (defaults, `-p`, `--params-file`) and validates them;
//! `gotmpl` is a Go text/template evaluator with the sprig subset KUDO packages use; `render`
//! renders the templates the deploy plan references and extracts what the operator will ask
//! for (`Requirements`); `cluster` reads the cluster once into `ClusterFacts`; `checks` and
//! `placement` turn requirements and facts into pass/warn/fail `Check`s; `report` prints them as
//! text or versioned JSON. Checks are pure functions of (requirements, facts), so they are unit
//! tested without a server and end to end against the simulated cluster.

pub mod checks;
pub mod cluster;
pub mod gotmpl;
pub mod package;
pub mod params;
pub mod placement;
pub mod quantity;
pub mod render;
pub mod report;

pub use package::Package;
pub use params::{ParamError, ParamInputs, Params};
pub use report::Report;

use std::collections::BTreeMap;
use std::path::PathBuf;

use cluster::ApiReader;
use params::Source;
use report::{OperatorInfo, ParamRow};

/// What to check: the settings `kudo-diag preflight` hands over after parsing its flags.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A package folder or .tgz, or the name of an operator whose OperatorVersion is in the
    /// namespace.
    pub operator: String,
    /// With an operator name: which OperatorVersion (`spec.version`); the newest by default.
    pub operator_version: Option<String>,
    pub namespace: String,
    /// The instance's name (default: KUDO's `OPERATOR-instance`). When it exists, its
    /// parameters are the starting point and immutable ones may not change.
    pub instance: Option<String>,
    /// `-p NAME=VALUE` as written.
    pub params: Vec<String>,
    pub params_file: Option<PathBuf>,
}

/// Runs every check against the cluster behind `client` and returns the report. Errors are
/// what stops a preflight (bad package, parameters or templates, an unreachable cluster);
/// failed checks are in the report.
pub async fn run(client: kube::Client, opts: &Options) -> Result<Report, PreflightError> {
    let api = ApiReader::new(client);
    api.server_version().await?;
    let pkg = load_package(&api, opts).await?;
    let instance = opts
        .instance
        .clone()
        .unwrap_or_else(|| format!("{}-instance", pkg.name));
    let mut input = ParamInputs {
        cli: opts.params.clone(),
        ..Default::default()
    };
    if let Some(f) = &opts.params_file {
        input.file = read_params_file(f)?;
    }
    let existing = if kudo_served(&api).await {
        api.get(&format!(
            "/apis/kudo.dev/v1beta1/namespaces/{}/instances/{instance}",
            opts.namespace
        ))
        .await
        .ok()
        .flatten()
    } else {
        None
    };
    // Another operator's instance of that name gives no parameters to start from; the
    // kudo.instance check fails it.
    let existing =
        existing.filter(|i| checks::instance_operator(i).is_none_or(|op| op == pkg.name));
    if let Some(i) = &existing {
        let values: BTreeMap<String, String> = i["spec"]["parameters"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        input.instance = Some((instance.clone(), values));
    }
    let params = Params::resolve(&pkg, &input).map_err(PreflightError::Params)?;
    let target = render::Target {
        instance: instance.clone(),
        namespace: opts.namespace.clone(),
    };
    let req = render::requirements(&pkg, &params, &target)?;
    let needs = checks::access_needs(&req);
    let api_versions = req.objects.iter().map(|o| o.api_version.clone()).collect();
    let facts = cluster::gather(&api, &opts.namespace, &instance, &needs, &api_versions).await?;
    let ctx = checks::Context {
        namespace: opts.namespace.clone(),
        instance: instance.clone(),
        operator: pkg.name.clone(),
    };
    let (checks, placement) = checks::run_all(&pkg, &req, &facts, &ctx);
    Ok(build_report(
        &pkg, &params, opts, instance, req, placement, checks,
    ))
}

/// Only what needs no cluster: parameters, rendering, and the package's own checks
/// (`--no-cluster`, for operator developers and airgapped machines).
pub fn run_offline(opts: &Options) -> Result<Report, PreflightError> {
    let path = std::path::Path::new(&opts.operator);
    if !path.exists() {
        return Err(PreflightError::Package(format!(
            "{} is not a package folder or .tgz; without a cluster, give a path to a KUDO package",
            opts.operator
        )));
    }
    let pkg = Package::load_path(path)?;
    let instance = opts
        .instance
        .clone()
        .unwrap_or_else(|| format!("{}-instance", pkg.name));
    let mut input = ParamInputs {
        cli: opts.params.clone(),
        ..Default::default()
    };
    if let Some(f) = &opts.params_file {
        input.file = read_params_file(f)?;
    }
    let params = Params::resolve(&pkg, &input).map_err(PreflightError::Params)?;
    let target = render::Target {
        instance: instance.clone(),
        namespace: opts.namespace.clone(),
    };
    let req = render::requirements(&pkg, &params, &target)?;
    let checks = checks::package_checks(&req);
    Ok(build_report(
        &pkg,
        &params,
        opts,
        instance,
        req,
        placement::Placement::default(),
        checks,
    ))
}

fn build_report(
    pkg: &Package,
    params: &Params,
    opts: &Options,
    instance: String,
    req: render::Requirements,
    placement: placement::Placement,
    checks: Vec<checks::Check>,
) -> Report {
    let parameters = params
        .values
        .iter()
        .filter(|(k, _)| {
            matches!(
                params.sources.get(*k),
                Some(Source::CommandLine | Source::ParamsFile | Source::Instance)
            )
        })
        .map(|(k, v)| ParamRow {
            name: k.clone(),
            value: if report::looks_secret(k) {
                v.as_ref().map(|_| "<redacted>".to_string())
            } else {
                v.clone()
            },
            source: params.sources.get(k).copied().unwrap_or(Source::Unset),
        })
        .collect();
    let summary = Report::summarize(&checks);
    Report {
        schema: report::SCHEMA,
        operator: OperatorInfo {
            name: pkg.name.clone(),
            version: pkg.operator_version.clone(),
            app_version: pkg.app_version.clone(),
            kudo_version: pkg.kudo_version.clone(),
            kubernetes_version: pkg.kubernetes_version.clone(),
            source: pkg.source.clone(),
        },
        namespace: opts.namespace.clone(),
        instance,
        parameters,
        requirements: req,
        placement,
        checks,
        summary,
    }
}

/// Whether the server serves KUDO's API; reads under kudo.dev are skipped when not (a real
/// API server answers them with a plain-text 404 that clients log as noise).
async fn kudo_served(api: &ApiReader) -> bool {
    api.group_versions()
        .await
        .map(|g| g.contains("kudo.dev/v1beta1"))
        .unwrap_or(true)
}

fn read_params_file(
    path: &std::path::Path,
) -> Result<BTreeMap<String, serde_json::Value>, PreflightError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        PreflightError::Package(format!(
            "failed to read --params-file {}: {e}; give a readable YAML file",
            path.display()
        ))
    })?;
    crate::yaml::from_str(&text).map_err(|e| {
        PreflightError::Package(format!(
            "--params-file {} is not a YAML map of NAME: VALUE ({e}); write one parameter per line, like `NODE_COUNT: 5`",
            path.display()
        ))
    })
}

/// A path on disk, or an operator already in the cluster.
async fn load_package(api: &ApiReader, opts: &Options) -> Result<Package, PreflightError> {
    let path = std::path::Path::new(&opts.operator);
    if path.exists() {
        return Package::load_path(path);
    }
    let ns = &opts.namespace;
    if !kudo_served(api).await {
        return Err(PreflightError::Package(format!(
            "{:?} is not a package folder or .tgz, and this cluster has no KUDO (kudo.dev/v1beta1 is not served) to hold an operator of that name; give a path to a KUDO package",
            opts.operator
        )));
    }
    let ovs = api
        .list(&format!(
            "/apis/kudo.dev/v1beta1/namespaces/{ns}/operatorversions"
        ))
        .await
        .unwrap_or_default();
    let mut candidates: Vec<&serde_json::Value> = ovs
        .iter()
        .filter(|o| o["spec"]["operator"]["name"].as_str() == Some(opts.operator.as_str()))
        .collect();
    if let Some(v) = &opts.operator_version {
        candidates.retain(|o| o["spec"]["version"].as_str() == Some(v.as_str()));
    }
    candidates.sort_by_key(|o| checks::semver(o["spec"]["version"].as_str().unwrap_or_default()));
    let Some(ov) = candidates.last() else {
        let known: Vec<String> = ovs
            .iter()
            .filter_map(|o| {
                Some(format!(
                    "{} {}",
                    o["spec"]["operator"]["name"].as_str()?,
                    o["spec"]["version"].as_str().unwrap_or("?")
                ))
            })
            .collect();
        return Err(PreflightError::Package(format!(
            "{:?} is neither a package folder or .tgz nor an operator{} installed in namespace {ns} (there: {}); give a path to a KUDO package, or the name of an installed operator",
            opts.operator,
            opts.operator_version.as_ref().map(|v| format!(" version {v}")).unwrap_or_default(),
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )));
    };
    let operator = api
        .get(&format!(
            "/apis/kudo.dev/v1beta1/namespaces/{ns}/operators/{}",
            opts.operator
        ))
        .await
        .ok()
        .flatten();
    Package::from_operator_version(ov, operator.as_ref())
}

/// Errors that stop a preflight before any check can run (bad package, parameters or
/// templates, unreachable cluster). Check failures are not errors: they are in the report.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{0}")]
    Package(String),
    #[error("{}", params_text(.0))]
    Params(Vec<ParamError>),
    #[error("failed to render the operator's templates: {0}; fix the template or the parameters it uses")]
    Template(#[from] gotmpl::TemplateError),
    #[error("{0}")]
    Render(String),
    #[error("{0}")]
    Cluster(String),
}

fn params_text(errs: &[ParamError]) -> String {
    let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    if lines.len() == 1 {
        lines[0].clone()
    } else {
        format!(
            "{} problems with the parameters:\n  {}",
            lines.len(),
            lines.join("\n  ")
        )
    }
}

impl From<PreflightError> for crate::Error {
    fn from(e: PreflightError) -> Self {
        match e {
            PreflightError::Params(_) | PreflightError::Package(_) => {
                crate::Error::Usage(e.to_string())
            }
            other => crate::Error::Other(other.to_string()),
        }
    }
}
