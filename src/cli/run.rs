//! `kudo-diag run` (alias `collect`): turns the flags into a validated `RunConfig`, runs the
//! engine with a progress reporter, prints the summary and picks the exit code.
//!
//! Exit codes: 0 every task done, 3 bundle written but some task failed or was skipped, 1 error,
//! 130 interrupted (the command that continues is printed).

use std::path::{Path, PathBuf};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::engine::run::{find_partials, partial_dir};
use crate::engine::{
    self, synthetic, Ending, Limits, Registry, ResumeMode, RunConfig, DEFAULT_CONCURRENCY,
};
use crate::exit;
use crate::pipeline::{load, Pipeline};

use super::progress::{self, Progress, ProgressMode};

/// Collect a diagnostics bundle by running a pipeline.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kudo-diag run --pipeline demo.yaml --instance demo -o demo.zip
  kudo-diag run --pipeline demo.yaml --instance demo -o demo.zip --continue   resume after Ctrl-C or a crash
  kudo-diag run --pipeline demo.yaml --instance demo --output-dir bundles --concurrency 4 --progress plain

Without -o the bundle is named kudo-diag_<namespace>_<instance>_<UTC time>.zip in --output-dir
(default: the current directory); with --continue and no -o, the unfinished collection of the
same namespace and instance in that directory is resumed.

Exit codes: 0 complete, 3 bundle written but some tasks failed or were skipped (see errors.json),
1 error, 2 usage, 130 interrupted.")]
pub struct Args {
    /// Pipeline file to run (YAML). Only `synthetic.*` task kinds run in this version.
    #[arg(long = "pipeline", value_name = "FILE")]
    pub pipelines: Vec<PathBuf>,
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
    /// The KUDO operator instance to collect (default: the pipeline's name, for synthetic runs).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
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

pub async fn exec(args: Args, g: &super::Global) -> crate::Result<u8> {
    let mut registry = Registry::new();
    synthetic::register(&mut registry);
    let pipeline = load_pipeline(&args.pipelines, &registry)?;

    // A bad destination is a usage error before anything is collected, not after.
    let upload_dest = args
        .upload
        .as_deref()
        .map(crate::ship::upload::S3Url::parse)
        .transpose()
        .map_err(|e| crate::Error::Usage(e.to_string()))?;
    let namespace = g.namespace.clone().unwrap_or_else(|| "default".to_string());
    let instance = args
        .instance
        .clone()
        .unwrap_or_else(|| pipeline.name.clone());
    let target = json!({"cluster": "none", "namespace": namespace, "instance": instance});
    let globals = json!({"namespace": namespace, "instance": instance});
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
                        return Err(crate::Error::Usage(format!(
                            "nothing to continue: {} holds no unfinished collection for instance {instance} in namespace {namespace}; start one without `--continue`",
                            dir.display()
                        )))
                    }
                }
            } else {
                dir.join(format!(
                    "kudo-diag_{namespace}_{instance}_{}.zip",
                    chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                ))
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

    let mut config = RunConfig::new(pipeline, target, globals, output.clone());
    config.resume = resume;
    config.keep_partial = args.keep_partial;
    config.limits = limits;

    let cancel = CancellationToken::new();
    let signals = tokio::spawn(cancel_on_signal(cancel.clone()));
    let reporter = Progress::new(args.progress);
    let result = engine::run(config, &registry, &reporter, cancel).await;
    signals.abort();
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

/// Loads the pipeline to run. For a pipeline with other than synthetic kinds, says that cluster
/// collection is not built yet rather than a confusing "unknown kind".
fn load_pipeline(files: &[PathBuf], registry: &Registry) -> crate::Result<Pipeline> {
    let file = match files {
        [] => {
            return Err(crate::Error::Usage(
                "no pipeline given: pass `--pipeline FILE` (built-in pipelines come with cluster collection)".into(),
            ))
        }
        [one] => one,
        _ => {
            return Err(crate::Error::Usage(
                "several `--pipeline` files cannot be merged yet: pass one file that lists every task".into(),
            ))
        }
    };
    let loaded = load::load_file(file, registry);
    match loaded {
        Ok(p) => {
            if let Some(kind) = cluster_kind(p.tasks.iter().map(|t| t.kind.clone())) {
                return Err(cluster_not_built(file, &kind));
            }
            Ok(p)
        }
        Err(e) => {
            // If the file only failed because it names cluster kinds, say what is really missing.
            let raw = std::fs::read_to_string(file)
                .ok()
                .and_then(|t| serde_yaml::from_str::<crate::pipeline::PipelineDoc>(&t).ok());
            if let Some(doc) = raw {
                if let Some(kind) = cluster_kind(doc.spec.tasks.into_iter().map(|t| t.kind)) {
                    return Err(cluster_not_built(file, &kind));
                }
            }
            Err(e.into())
        }
    }
}

/// The first task kind that needs a cluster.
fn cluster_kind(mut kinds: impl Iterator<Item = String>) -> Option<String> {
    kinds.find(|k| !k.starts_with("synthetic."))
}

fn cluster_not_built(file: &Path, kind: &str) -> crate::Error {
    crate::Error::Other(format!(
        "cluster collection is not built yet: {} uses task kind {kind}; this version runs pipelines of `synthetic.*` kinds only",
        file.display()
    ))
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
    let prefix = format!("kudo-diag_{namespace}_{instance}_");
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| crate::Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".zip"))
                && !partial_dir(p).exists()
        })
        .collect();
    bundles.sort();
    Ok(bundles.pop())
}

/// Cancels `token` on SIGINT or SIGTERM.
async fn cancel_on_signal(token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    token.cancel();
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
    fn shell_quoting_keeps_simple_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("--output-dir"), "--output-dir");
        assert_eq!(shell_quote("my dir/x.zip"), "'my dir/x.zip'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
