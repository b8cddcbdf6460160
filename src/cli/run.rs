//! `kudo-diag run` (alias `collect`): turns the flags into a validated `RunConfig`, runs the
//! engine with a progress reporter, prints the summary and picks the exit code.
//!
//! Exit codes: 0 every task done, 3 bundle written but some task failed or was skipped, 1 error,
//! 130 interrupted (the command that continues is printed).

use std::path::{Path, PathBuf};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::run::{find_partials, partial_dir};
use std::sync::Arc;

use crate::bundle::redact::Redactor;
use crate::collect::target;
use crate::engine::{
    self, Ending, Limits, Registry, ResumeMode, RunConfig, TaskEnv, DEFAULT_CONCURRENCY,
};
use crate::exit;
use crate::pipeline::registry::default_registry;
use crate::pipeline::Pipeline;

use super::progress::{self, Progress, ProgressMode};

/// Collect a diagnostics bundle by running a pipeline.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kudo-diag run --instance cassandra -n prod                  collect with the pipeline chosen for the operator
  kudo-diag run --instance cassandra -n prod --continue       resume the unfinished collection in this folder
  kudo-diag run --instance cassandra -n prod -o c.zip --log-since 24h --log-limit-bytes 50MiB
  kudo-diag run --instance kafka -n prod --pipeline kafka --pipeline extra.yaml   add tasks of your own
  kudo-diag run --pipeline selftest -o selftest.zip           the engine alone, no cluster (synthetic tasks)

Without -o the bundle is named kudo-diag_<namespace>_<instance>_<UTC time>.zip in --output-dir
(default: the current directory; a second run in the same second adds -2, -3, ...); with --continue and no -o, the unfinished collection of the
same namespace and instance in that directory is resumed.

Exit codes: 0 complete, 3 bundle written but some tasks failed or were skipped (see errors.json),
1 error, 2 usage, 130 interrupted.")]
pub struct Args {
    /// Pipeline to run: a built-in name (`kudo-diag pipelines list`) or a YAML file. Repeatable:
    /// later ones extend earlier ones. Default: the built-in pipeline for the instance's operator.
    #[arg(long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// The bundle to write.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE.zip",
        conflicts_with = "output_dir"
    )]
    pub output: Option<PathBuf>,
    /// Directory for a bundle with the default name.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Resume the unfinished collection for this output from its journal.
    #[arg(long = "continue", conflicts_with = "force")]
    pub resume: bool,
    /// Discard any unfinished collection (and bundle) for this output and start over.
    #[arg(long)]
    pub force: bool,
    /// Keep the partial folder (journal, artifacts) after writing the bundle.
    #[arg(long)]
    pub keep_partial: bool,
    /// How many tasks may run at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub concurrency: usize,
    /// Limit of one concurrency class, e.g. `exec=2` (defaults: exec=4, logs=8). Repeatable.
    #[arg(long = "class-limit", value_name = "CLASS=N")]
    pub class_limits: Vec<String>,
    /// How to show progress (on stderr).
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// The KUDO operator instance to collect (required with a cluster; for synthetic pipelines
    /// it defaults to the pipeline's name).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// Only log lines newer than this (e.g. `30m`, `24h`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub log_since: Option<std::time::Duration>,
    /// Only the last LINES lines of each log.
    #[arg(long, value_name = "LINES")]
    pub log_tail: Option<u64>,
    /// At most SIZE bytes of each log (e.g. `10MiB`, `500k`; k = 1000, Ki = 1024).
    #[arg(long, value_name = "SIZE", value_parser = crate::size::parse_size)]
    pub log_limit_bytes: Option<u64>,
    /// Another regular expression whose matches are redacted in every artifact. Repeatable.
    #[arg(long = "redact-pattern", value_name = "REGEX")]
    pub redact_patterns: Vec<String>,
    /// Write artifacts without redacting secrets. Only for bundles that never leave your hands.
    #[arg(long)]
    pub no_redact: bool,
    /// An operator package (folder or .tgz) whose operator.yaml `diagnostics` key adds tasks and
    /// redaction (docs/operator-developers.md). The cluster's OperatorVersion and labelled
    /// ConfigMaps are read too, with or without this flag.
    #[arg(long, value_name = "DIR|TGZ")]
    pub operator_package: Option<PathBuf>,
    /// Namespace where KUDO's manager runs.
    #[arg(long, value_name = "NS", default_value = "kudo-system")]
    pub kudo_namespace: String,
    /// At most this many API requests per second (a token bucket; bursts up to one second's
    /// worth), to keep a struggling API server safe. 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    pub qps: f64,
    /// Give up on an API request after this long (and on an unreachable API server).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,
    /// Upload the finished bundle to s3://BUCKET/PREFIX (see `kudo-diag bundle upload --help`).
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub upload: Option<String>,
    /// Keep only the newest N bundles of this instance in the output directory, removing older
    /// ones after the new bundle is complete.
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub keep: Option<usize>,
    #[command(flatten)]
    pub store: super::upload::StoreFlags,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e}; write e.g. 30s, 15m or 24h"))
}

pub async fn exec(args: Args, g: &super::Global) -> crate::Result<u8> {
    // A bad upload destination is a usage error before anything is collected, not after.
    if let Some(u) = args.upload.as_deref() {
        crate::ship::upload::S3Url::parse(u).map_err(|e| crate::Error::Usage(e.to_string()))?;
    }
    let registry = default_registry();
    let prepared = prepare(&args, g, &registry).await?;
    run_prepared(args, prepared, &registry).await
}

/// What a run needs once the flags are checked and the cluster (if any) was asked.
pub struct Prepared {
    pub pipeline: Pipeline,
    pub target: serde_json::Value,
    pub globals: serde_json::Value,
    pub namespace: String,
    pub instance: String,
    pub env: TaskEnv,
    pub redactor: Option<Arc<Redactor>>,
}

/// Resolves the pipeline and, when it needs a cluster, connects, finds the instance and picks
/// the operator's pipeline. Writes nothing.
pub async fn prepare(
    args: &Args,
    g: &super::Global,
    registry: &Registry,
) -> crate::Result<Prepared> {
    let explicit = if args.pipelines.is_empty() {
        None
    } else {
        Some(crate::pipeline::resolve(&args.pipelines, registry)?)
    };
    let synthetic_only = explicit
        .as_ref()
        .is_some_and(|p| p.tasks.iter().all(|t| t.kind.starts_with("synthetic.")));
    if synthetic_only {
        let pipeline = explicit.expect("checked above");
        let namespace = g.namespace.clone().unwrap_or_else(|| "default".to_string());
        let instance = args
            .instance
            .clone()
            .unwrap_or_else(|| pipeline.name.clone());
        return Ok(Prepared {
            target: json!({"cluster": "none", "namespace": namespace, "instance": instance}),
            globals: json!({"namespace": namespace, "instance": instance}),
            pipeline,
            namespace,
            instance,
            env: TaskEnv::default(),
            redactor: None,
        });
    }
    let Some(instance) = args.instance.clone() else {
        return Err(crate::Error::Usage(
            "which instance? pass --instance NAME (and -n NAMESPACE); `kubectl get instances.kudo.dev -A` lists them".into(),
        ));
    };
    if !(args.qps >= 0.0 && args.qps.is_finite()) {
        return Err(crate::Error::Usage(format!(
            "invalid --qps {}: give a number of requests per second, or 0 for no limit",
            args.qps
        )));
    }
    let qps = (args.qps > 0.0).then_some(args.qps);
    let cluster = super::cluster::connect_limited(g, Some(args.request_timeout), qps).await?;
    let namespace = g.namespace.clone().unwrap_or(cluster.namespace.clone());
    let found = target::resolve(
        &cluster.client,
        &cluster.server,
        &namespace,
        &instance,
        args.request_timeout,
    )
    .await
    .map_err(|e| crate::Error::Other(e.to_string()))?;
    for note in &found.notes {
        eprintln!("note: {note}");
    }
    let pipeline = match explicit {
        Some(p) => p,
        None => crate::pipeline::resolve(std::slice::from_ref(&found.pipeline), registry)?,
    };
    // What the operator publishes about itself (its `diagnostics` key), merged in.
    let published = crate::opdiag::prepare(
        &cluster.client,
        &crate::opdiag::Target {
            namespace: &namespace,
            kudo_namespace: &args.kudo_namespace,
            instance: &instance,
            operator: found.operator.as_deref().unwrap_or(""),
            operator_version: found.operator_version.as_deref(),
        },
        args.operator_package.as_deref(),
    )
    .await
    .map_err(crate::Error::Usage)?;
    for p in &published.problems {
        eprintln!("note: {p}");
    }
    let pipeline = published.plan.merge_into(&pipeline);
    let redactor = if args.no_redact {
        eprintln!("warning: --no-redact: secrets are written to the bundle in clear");
        None
    } else {
        let mut patterns = args.redact_patterns.clone();
        patterns.extend(published.redaction.patterns.iter().cloned());
        let mut literals = published.redaction.literals.clone();
        if crate::opdiag::redact::redact_secrets(&published.sources) {
            literals.extend(found.secret_values.iter().cloned());
        }
        literals.sort();
        literals.dedup();
        target::drop_public_names(
            &mut literals,
            &[
                Some(instance.as_str()),
                Some(namespace.as_str()),
                found.operator.as_deref(),
            ],
        );
        Some(Arc::new(
            Redactor::new(&patterns, &literals).map_err(|e| crate::Error::Usage(e.to_string()))?,
        ))
    };
    let mut settings = serde_json::Map::new();
    if let Some(d) = args.log_since {
        settings.insert("logSince".into(), json!(d.as_secs()));
    }
    if let Some(n) = args.log_tail {
        settings.insert("logTail".into(), json!(n));
    }
    if let Some(n) = args.log_limit_bytes {
        settings.insert("logLimitBytes".into(), json!(n));
    }
    Ok(Prepared {
        target: json!({"cluster": cluster.server, "namespace": namespace, "instance": instance}),
        globals: found.globals(&args.kudo_namespace),
        pipeline,
        namespace,
        instance,
        env: TaskEnv {
            kube: Some(cluster.client),
            settings,
        },
        redactor,
    })
}

/// Runs a prepared collection with the flags' output, resume and limit settings.
pub async fn run_prepared(
    args: Args,
    prepared: Prepared,
    registry: &Registry,
) -> crate::Result<u8> {
    let Prepared {
        pipeline,
        target,
        globals,
        namespace,
        instance,
        env,
        redactor,
    } = prepared;
    let resume = match (args.resume, args.force) {
        (true, _) => ResumeMode::Continue,
        (false, true) => ResumeMode::Force,
        (false, false) => ResumeMode::Fresh,
    };

    let output = match &args.output {
        Some(o) => o.clone(),
        None => {
            let dir = args
                .output_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("."));
            if resume == ResumeMode::Continue {
                match find_to_continue(&dir, &target, &namespace, &instance)? {
                    Some(o) => o,
                    None => {
                        eprintln!(
                            "note: {} holds no unfinished collection of instance {instance} in namespace {namespace}: starting a new one",
                            dir.display()
                        );
                        default_bundle_path(&dir, &namespace, &instance)
                    }
                }
            } else {
                default_bundle_path(&dir, &namespace, &instance)
            }
        }
    };

    let mut limits = Limits {
        global: args.concurrency,
        ..Limits::default()
    };
    for spec in &args.class_limits {
        let (class, n) = parse_class_limit(spec)?;
        limits.classes.insert(class, n);
    }

    let upload_dest = args
        .upload
        .as_deref()
        .map(crate::ship::upload::S3Url::parse)
        .transpose()
        .map_err(|e| crate::Error::Usage(e.to_string()))?;
    let mut config = RunConfig::new(pipeline, target, globals, output.clone());
    config.env = env;
    config.redactor = redactor;
    config.resume = resume;
    config.keep_partial = args.keep_partial;
    config.limits = limits;

    let cancel = CancellationToken::new();
    let signals = SignalWatch::start(cancel.clone());
    let reporter = Progress::new(args.progress);
    let result = engine::run(config, registry, &reporter, cancel).await;
    signals.stop();
    reporter.finish();
    let summary = result?;
    println!("{}", progress::summary(&summary));
    if matches!(summary.ending, Ending::Complete | Ending::AlreadyFinished) {
        ship_bundle(&args, &output, upload_dest.as_ref(), &namespace, &instance).await?;
    }
    Ok(match summary.ending {
        Ending::Interrupted => {
            eprintln!("to continue: {}", continue_command());
            exit::INTERRUPTED
        }
        Ending::AlreadyFinished => exit::OK,
        Ending::Complete if summary.has_problems() => exit::PARTIAL,
        Ending::Complete => exit::OK,
    })
}

/// After a complete bundle: prune old bundles (`--keep`), then upload (`--upload`).
async fn ship_bundle(
    args: &Args,
    output: &Path,
    dest: Option<&crate::ship::upload::S3Url>,
    namespace: &str,
    instance: &str,
) -> crate::Result<()> {
    if let Some(keep) = args.keep {
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let removed = crate::ship::retention::keep_newest(dir, namespace, instance, keep)
            .map_err(|e| crate::Error::Other(e.to_string()))?;
        for r in removed {
            eprintln!("removed old bundle {} (--keep {keep})", r.display());
        }
    }
    if let Some(dest) = dest {
        let up = super::upload::run_upload(output, dest, &args.store, args.resume).await?;
        super::upload::print_uploaded(&up, super::bundle::Format::Text);
    }
    Ok(())
}

/// `DIR/kudo-diag_<namespace>_<instance>_<UTC time>.zip`: unique per run, so scheduled runs
/// never collide; a second run started in the same second gets `..._<UTC time>-2.zip`, and so
/// on (`ship::retention::run_order` orders them).
fn default_bundle_path(dir: &Path, namespace: &str, instance: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let taken = |p: &Path| p.exists() || partial_dir(p).exists();
    let first = dir.join(format!("kudo-diag_{namespace}_{instance}_{stamp}.zip"));
    if !taken(&first) {
        return first;
    }
    (2u32..)
        .map(|n| dir.join(format!("kudo-diag_{namespace}_{instance}_{stamp}-{n}.zip")))
        .find(|p| !taken(p))
        .expect("a free run number")
}

fn parse_class_limit(spec: &str) -> crate::Result<(String, usize)> {
    let bad = || {
        crate::Error::Usage(format!(
            "invalid --class-limit {spec:?}: write CLASS=N with N at least 1, e.g. exec=2"
        ))
    };
    let (class, n) = spec.split_once('=').ok_or_else(bad)?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if class.trim().is_empty() || n == 0 {
        return Err(bad());
    }
    Ok((class.trim().to_string(), n))
}

/// The unfinished collection in `dir` for this target (the newest if several). If there is none
/// but a finished bundle of the same namespace and instance is there, returns that bundle (the
/// engine then reports there is nothing to do).
fn find_to_continue(
    dir: &Path,
    target: &serde_json::Value,
    namespace: &str,
    instance: &str,
) -> crate::Result<Option<PathBuf>> {
    let found = find_partials(dir, |meta| meta.target == *target)?;
    if let Some(last) = found.last() {
        return Ok(Some(last.clone()));
    }
    let mut bundles = crate::ship::retention::bundles_of(dir, namespace, instance)
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    Ok(bundles.pop())
}

/// Watches SIGINT and SIGTERM on a thread of its own with its own small runtime, so a shutdown
/// that is stuck (a task blocked in a system call, a slow disk) still hears the next signal.
/// The first signal cancels the run: in-flight work stops, the journal is flushed and the
/// command that continues is printed. A second one during that shutdown exits at once with
/// 130: everything journaled before it stays, and `--continue` re-runs the rest.
struct SignalWatch {
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignalWatch {
    /// Returns once the signal handlers are installed, so no signal falls between the start of
    /// the run and the handlers.
    fn start(cancel: CancellationToken) -> SignalWatch {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("kudo-diag-signals".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::warn!("cannot watch for Ctrl-C ({e}): it will stop the run without saving it");
                        let _ = ready_tx.send(());
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut signals = Interrupts::install();
                    let _ = ready_tx.send(());
                    tokio::select! {
                        _ = stopped.cancelled() => return,
                        _ = signals.next() => {}
                    }
                    eprintln!(
                        "\ninterrupted: stopping in-flight work and saving the journal (press Ctrl-C again to exit at once)"
                    );
                    cancel.cancel();
                    tokio::select! {
                        _ = stopped.cancelled() => {}
                        _ = signals.next() => {
                            eprintln!(
                                "\ninterrupted again: exiting at once; what was journaled is kept, the rest runs again with --continue\nto continue: {}",
                                continue_command()
                            );
                            std::process::exit(i32::from(exit::INTERRUPTED));
                        }
                    }
                });
            });
        let thread = match thread {
            Ok(t) => {
                // Err: the thread ended before installing (its warning says why).
                let _ = ready_rx.recv();
                Some(t)
            }
            Err(e) => {
                tracing::warn!(
                    "cannot watch for Ctrl-C ({e}): it will stop the run without saving it"
                );
                None
            }
        };
        SignalWatch { stop, thread }
    }

    /// Stops watching (the run is over; what is left is printing the summary).
    fn stop(mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SignalWatch {
    // A run future dropped before `stop` (its caller gave up on it) must not leave the thread
    // waiting for a signal for the rest of the process.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// SIGINT or SIGTERM (Ctrl-C elsewhere).
struct Interrupts {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    fn install() -> Interrupts {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Interrupts {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Interrupts {}
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = recv(&mut self.int) => {}
                _ = recv(&mut self.term) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// This process's command line with `--continue` (and without `--force`), quoted for a shell.
fn continue_command() -> String {
    let mut parts = vec!["kudo-diag".to_string()];
    let mut has_continue = false;
    for a in std::env::args().skip(1) {
        if a == "--force" {
            continue;
        }
        has_continue |= a == "--continue";
        parts.push(shell_quote(&a));
    }
    if !has_continue {
        parts.push("--continue".into());
    }
    parts.join(" ")
}

fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_limits_parse_or_explain() {
        assert_eq!(parse_class_limit("exec=2").unwrap(), ("exec".into(), 2));
        for bad in ["exec", "exec=0", "=3", "exec=x"] {
            let msg = parse_class_limit(bad).unwrap_err().to_string();
            assert!(msg.contains("CLASS=N"), "{msg}");
        }
    }

    #[test]
    fn default_names_never_collide_within_a_second() {
        let d = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let p = default_bundle_path(d.path(), "prod", "cass");
            assert!(!seen.contains(&p), "{p:?} given twice");
            // A finished bundle and an unfinished collection both hold their name.
            if seen.len() == 1 {
                std::fs::create_dir(partial_dir(&p)).unwrap();
            } else {
                std::fs::write(&p, b"").unwrap();
            }
            seen.push(p);
        }
        // The runs may straddle a second; each name is a bundle name retention knows.
        for p in &seen {
            let name = p.file_name().unwrap().to_str().unwrap();
            assert!(
                crate::ship::retention::is_bundle_of(name, "prod", "cass"),
                "{name}"
            );
        }
    }

    #[test]
    fn shell_quoting_keeps_simple_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("--output-dir"), "--output-dir");
        assert_eq!(shell_quote("my dir/x.zip"), "'my dir/x.zip'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
