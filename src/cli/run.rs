//! `kudo-diag run` (alias `collect`): turns the flags into a `session::Request` (no
//! I/O), opens the session, runs it with a progress reporter and Ctrl-C handling, prints the
//! summary, ships the bundle (`--keep`, `--upload`) and picks the exit code.
//!
//! Exit codes: 0 every task done, 3 bundle written but some task failed or was skipped, 1 error,
//! 130 interrupted (the command that continues is printed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::bundle::redact::Redactor;
use crate::engine::{
    Ending, Limits, LogSettings, Registry, ResumeMode, Summary, DEFAULT_CONCURRENCY,
    DEFAULT_PER_NODE, DEFAULT_PER_POD, MAX_FAN_OUT,
};
use crate::exit;
use crate::registry::default_registry;
use crate::session::{Output, Pipelines, Redaction, Request, RunTarget, Session};

use super::progress::{self, Progress, ProgressMode};

/// Collect a diagnostics bundle by running a pipeline.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("bundle_path").multiple(false))]
#[command(after_help = "Examples:
  kudo-diag run --instance cassandra -n prod                  collect with the pipeline chosen for the operator
  kudo-diag run --instance cassandra -n prod --continue       resume the unfinished collection in this folder
  kudo-diag run --instance cassandra -n prod --bundle c.zip --log-since 24h --log-limit-bytes 50MiB
  kudo-diag run --instance kafka -n prod --pipeline kafka --pipeline extra.yaml   add tasks of your own
  kudo-diag run --pipeline selftest --bundle selftest.zip     the engine alone, no cluster (synthetic tasks)

Without --bundle the bundle is named kudo-diag_<namespace>_<instance>_<UTC time>.zip in
--bundle-dir (default: the current directory; a second run in the same second adds -2, -3, ...);
with --continue and no --bundle, the unfinished collection of the same namespace and instance in
that directory is resumed. (-o FILE.zip and --output-dir DIR, the old spellings, still work.)

Exit codes: 0 complete, 3 bundle written but some tasks failed or were skipped (see errors.json),
1 error, 2 usage, 130 interrupted.")]
pub struct Args {
    /// Pipeline to run: a built-in name (`kudo-diag pipelines list`) or a YAML file. Repeatable:
    /// later ones extend earlier ones. Default: the built-in pipeline for the instance's operator.
    #[arg(long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// The bundle to write.
    #[arg(long, value_name = "FILE.zip", group = "bundle_path")]
    pub bundle: Option<PathBuf>,
    /// Directory for a bundle with the default name.
    #[arg(long, value_name = "DIR", group = "bundle_path")]
    pub bundle_dir: Option<PathBuf>,
    /// The old spelling of --bundle (run has no format, so -o is unambiguous here).
    #[arg(
        short = 'o',
        long,
        value_name = "FILE.zip",
        hide = true,
        group = "bundle_path"
    )]
    pub output: Option<PathBuf>,
    /// The old spelling of --bundle-dir.
    #[arg(long, value_name = "DIR", hide = true, group = "bundle_path")]
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
    /// Collect the instance alone, without the instances it depends on (its KUDO parent and
    /// children, the instances behind the Services its parameters name), which are otherwise
    /// collected under dependencies/NAMESPACE/INSTANCE/ in the same bundle.
    #[arg(long)]
    pub no_dependencies: bool,
    /// How many tasks may run at once in all (requests and streams in flight): protects this
    /// machine and the connection. Short requests are paced by --qps, streams by
    /// --streams-per-node and --commands-per-pod.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub concurrency: usize,
    /// An upper bound for one concurrency class (`exec`, `logs`, `default`), e.g. `exec=2`;
    /// none by default. Repeatable.
    #[arg(long = "class-limit", value_name = "CLASS=N")]
    pub class_limits: Vec<String>,
    /// The most nodes one fan-out task (`forEach`) may expand into; a source that returns more
    /// fails that task (recorded in errors.json with the reason), not the run.
    #[arg(long, value_name = "N", default_value_t = MAX_FAN_OUT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_fan_out: usize,
    /// Log streams and commands at once on one node: protects its kubelet, which serves them.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PER_NODE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub streams_per_node: usize,
    /// Commands (exec) at once in one pod: protects the diagnosed application (a `nodetool`
    /// starts a JVM in its container). A command that timed out keeps its pod's slot for as
    /// long again: closing the stream does not stop it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PER_POD,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub commands_per_pod: usize,
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
    /// At most this many short API requests (get, list, discovery) per second: protects the API
    /// server. A token bucket like kubectl's (bursts up to six seconds' worth) whose rate halves
    /// on a 429 or on answers slowing down and climbs back, never above N. Logs and exec are
    /// not counted: they are bounded per node and pod. 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    pub qps: f64,
    /// Give up on an API request after this long (and on an unreachable API server).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,
    /// Upload the finished bundle to s3://BUCKET/PREFIX (see `kudo-diag bundle upload --help`).
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub upload: Option<String>,
    /// Keep only the newest N bundles of this instance in the bundle's directory, removing older
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
    let upload_dest = args
        .upload
        .as_deref()
        .map(crate::ship::upload::S3Url::parse)
        .transpose()
        .map_err(|e| crate::Error::Usage(e.to_string()))?;
    note_old_spellings(&args);
    let request = request(&args, g)?;
    let registry = default_registry();
    let session = Session::open(request, &registry).await?;
    let target = session.target.clone();
    let output = session.config.output.clone();
    let redactor = session.config.redactor.clone();
    let summary = collect(session, args.progress, &registry).await?;
    if matches!(summary.ending, Ending::Complete | Ending::AlreadyFinished) {
        let upload = upload_dest.as_ref().map(|d| (d, redactor));
        ship_bundle(&args, &output, upload, &target).await?;
    }
    Ok(exit_code(&summary))
}

/// A note for each old spelling of the bundle path the command line uses.
fn note_old_spellings(args: &Args) {
    if args.output.is_some() {
        super::output::deprecated("-o/--output FILE.zip", "--bundle FILE.zip");
    }
    if args.output_dir.is_some() {
        super::output::deprecated("--output-dir DIR", "--bundle-dir DIR");
    }
}

/// The flags as a collection request. Reads nothing: the session does.
pub fn request(args: &Args, g: &super::Global) -> crate::Result<Request> {
    let resume = match (args.resume, args.force) {
        (true, _) => ResumeMode::Continue,
        (false, true) => ResumeMode::Force,
        (false, false) => ResumeMode::Fresh,
    };
    let mut limits = Limits {
        global: args.concurrency,
        max_fan_out: args.max_fan_out,
        per_node: args.streams_per_node,
        per_pod: args.commands_per_pod,
        ..Limits::default()
    };
    for spec in &args.class_limits {
        let (class, n) = parse_class_limit(spec)?;
        limits.classes.insert(class, n);
    }
    let pipelines = if args.pipelines.is_empty() {
        Pipelines::ForOperator
    } else {
        Pipelines::Specs(args.pipelines.clone())
    };
    let redaction = if args.no_redact {
        Redaction::Off
    } else {
        Redaction::On {
            patterns: args.redact_patterns.clone(),
        }
    };
    let output = match (&args.bundle, &args.output) {
        (Some(o), _) | (None, Some(o)) => Output::File(o.clone()),
        (None, None) => Output::Dir(
            args.bundle_dir
                .clone()
                .or_else(|| args.output_dir.clone())
                .unwrap_or_else(|| PathBuf::from(".")),
        ),
    };
    // `--qps 0` turns the limit off; the session refuses a negative or non-finite rate.
    let qps = (args.qps != 0.0).then_some(args.qps);
    Ok(Request {
        instance: args.instance.clone(),
        namespace: g.namespace.clone(),
        kudo_namespace: args.kudo_namespace.clone(),
        pipelines,
        operator_package: args.operator_package.clone(),
        logs: LogSettings {
            since: args.log_since,
            tail: args.log_tail,
            limit_bytes: args.log_limit_bytes,
            idle_timeout: None,
        },
        redaction,
        connection: super::cluster::connection(g, Some(args.request_timeout), qps),
        resume,
        limits,
        keep_partial: args.keep_partial,
        output,
        dependencies: !args.no_dependencies,
    })
}

/// Runs an opened session with a progress display and Ctrl-C handling: prints its notes first
/// and the summary last.
pub async fn collect(
    session: Session,
    progress: ProgressMode,
    registry: &Registry,
) -> crate::Result<Summary> {
    for note in &session.notes {
        eprintln!("{note}");
    }
    let cancel = CancellationToken::new();
    let signals = SignalWatch::start(cancel.clone());
    let reporter = Progress::new(progress);
    let result = session.run(registry, &reporter, cancel).await;
    signals.stop();
    reporter.finish();
    let summary = result?;
    println!("{}", progress::summary(&summary));
    if let (Ending::Complete, Some(b)) = (summary.ending, &summary.bundle) {
        println!("next: kudo-diag analyze {}", b.path.display());
    }
    Ok(summary)
}

/// The exit code of a finished run; an interrupted one also says how to continue.
pub fn exit_code(summary: &Summary) -> u8 {
    match summary.ending {
        Ending::Interrupted => {
            eprintln!("to continue: {}", continue_command());
            exit::INTERRUPTED
        }
        Ending::AlreadyFinished => exit::OK,
        Ending::Complete if summary.has_problems() => exit::PARTIAL,
        Ending::Complete => exit::OK,
    }
}

/// After a complete bundle: prune old bundles (`--keep`), then upload (`--upload`), reporting
/// through the collection's redactor.
async fn ship_bundle(
    args: &Args,
    output: &Path,
    upload: Option<(&crate::ship::upload::S3Url, Option<Arc<Redactor>>)>,
    target: &RunTarget,
) -> crate::Result<()> {
    let (namespace, instance) = (target.namespace.as_str(), target.instance.as_str());
    if let Some(keep) = args.keep {
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let removed = crate::ship::retention::keep_newest(dir, namespace, instance, keep)?;
        for r in removed {
            eprintln!("removed old bundle {} (--keep {keep})", r.display());
        }
    }
    if let Some((dest, redactor)) = upload {
        let up =
            super::upload::run_upload(output, dest, &args.store, args.resume, redactor).await?;
        super::upload::print_uploaded(&up, super::bundle::Format::Text);
    }
    Ok(())
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

/// This process's command line with `--continue` (and without `--force`), quoted for a shell,
/// with the bundle path in its current spelling.
fn continue_command() -> String {
    continue_command_of(std::env::args().skip(1))
}

fn continue_command_of(args: impl Iterator<Item = String>) -> String {
    let mut parts = vec!["kudo-diag".to_string()];
    let mut has_continue = false;
    for a in args {
        if a == "--force" {
            continue;
        }
        has_continue |= a == "--continue";
        parts.push(shell_quote(&current_spelling(a)));
    }
    if !has_continue {
        parts.push("--continue".into());
    }
    parts.join(" ")
}

/// `-o`/`--output` and `--output-dir` (run's old spellings) as `--bundle` and `--bundle-dir`.
fn current_spelling(arg: String) -> String {
    match arg.as_str() {
        "-o" | "--output" => "--bundle".into(),
        "--output-dir" => "--bundle-dir".into(),
        _ => {
            if let Some(v) = arg.strip_prefix("--output=") {
                format!("--bundle={v}")
            } else if let Some(v) = arg.strip_prefix("--output-dir=") {
                format!("--bundle-dir={v}")
            } else if let Some(v) = arg.strip_prefix("-o").filter(|v| !v.is_empty()) {
                format!("--bundle={}", v.strip_prefix('=').unwrap_or(v))
            } else {
                arg
            }
        }
    }
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
    fn the_command_that_continues_spells_the_bundle_path_as_today() {
        let args = |v: &[&str]| {
            v.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(
            continue_command_of(args(&["run", "-o", "a.zip", "--force"])),
            "kudo-diag run --bundle a.zip --continue"
        );
        assert_eq!(
            continue_command_of(args(&["run", "--output-dir=out", "--continue"])),
            "kudo-diag run --bundle-dir=out --continue"
        );
        assert_eq!(
            continue_command_of(args(&["run", "-oa.zip", "--output", "b.zip"])),
            "kudo-diag run --bundle=a.zip --bundle b.zip --continue"
        );
    }

    #[test]
    fn shell_quoting_keeps_simple_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("--bundle-dir"), "--bundle-dir");
        assert_eq!(shell_quote("my dir/x.zip"), "'my dir/x.zip'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
