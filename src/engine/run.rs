//! One collection from start to bundle: the partial folder, the resume mode, the scheduler and
//! the archive step.
//!
//! Layout of a collection in progress (docs/journal.md):
//!
//! ```text
//! <output>.partial/
//!   journal/         sled database with the meta record, and `records`, the node records
//!                    (JOURNAL_FORMAT_VERSION)
//!   artifacts/       finished artifacts, one file per bundle path (ArtifactStore)
//!   collection.log   one line per event, appended across resumes; goes into the bundle
//! ```
//!
//! `ResumeMode::Fresh` refuses an existing partial folder (or bundle), `Force` removes them
//! first, `Continue` reopens the journal, checks it belongs to the same target and pipeline, and
//! runs only what is not done. The bundle is written when every node is final; the partial folder
//! is then removed unless asked to keep it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::bundle::redact::{RedactingWriter, Redactor};
use crate::bundle::sink::ArtifactStore;
use crate::bundle::writer::{write_bundle_then, BundleInfo, BundleMeta, BUNDLE_FORMAT_VERSION};
use crate::pipeline::Pipeline;

use super::event::{Event, Reporter, Tee};
use super::journal::{FlushPolicy, Journal, JournalArtifacts, JournalMeta, JOURNAL_FORMAT_VERSION};
use super::plan::Plan;
use super::scheduler::{Counts, Limits, RetryPolicy, Scheduler};
use super::scope::{run_hash, Scope};
use super::task::{Registry, TaskEnv};
use super::EngineError;

/// What to do about an earlier, unfinished collection for the same output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResumeMode {
    /// Start a new collection; an existing partial folder or bundle is an error.
    #[default]
    Fresh,
    /// Resume the partial collection (`--continue`).
    Continue,
    /// Remove any partial folder and bundle first (`--force`).
    Force,
}

/// Everything one collection needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub pipeline: Pipeline,
    /// Who the collection is for (cluster server, namespace, instance): stored in the journal and
    /// the manifest; `--continue` refuses a different one.
    pub target: Value,
    /// Variables the templates see (instance, namespace, ...): a JSON object.
    pub globals: Value,
    /// The bundle to write (`.zip`).
    pub output: PathBuf,
    pub resume: ResumeMode,
    pub keep_partial: bool,
    pub limits: Limits,
    pub retry: RetryPolicy,
    pub env: TaskEnv,
    /// Applied to every artifact before it is hashed and stored (built-in rules, the user's
    /// patterns, an operator's `diagnostics.bundle.redact` and its Secrets' values); `None`
    /// writes artifacts as they come (synthetic runs, engine tests).
    pub redactor: Option<Arc<Redactor>>,
    /// The instance's dependencies, collected in the same DAG, journal and bundle, each under
    /// its prefix (`engine::scope`).
    pub dependencies: Vec<Scope>,
}

impl RunConfig {
    /// A config with default limits and retries.
    pub fn new(pipeline: Pipeline, target: Value, globals: Value, output: PathBuf) -> Self {
        RunConfig {
            pipeline,
            target,
            globals,
            output,
            resume: ResumeMode::Fresh,
            keep_partial: false,
            limits: Limits::default(),
            retry: RetryPolicy::default(),
            env: TaskEnv::default(),
            redactor: None,
            dependencies: Vec::new(),
        }
    }

    /// The hash the journal and the manifest record: the pipeline's and its dependencies'.
    pub fn pipeline_hash(&self) -> String {
        run_hash(&self.pipeline, &self.dependencies)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every node is final and the bundle is written.
    Complete,
    /// Cancelled: the journal is flushed, no bundle; `--continue` picks it up.
    Interrupted,
    /// `--continue` found the bundle already written and nothing left to do.
    AlreadyFinished,
}

/// The result of a run, for the final summary and the exit code.
#[derive(Debug, Clone)]
pub struct Summary {
    pub ending: Ending,
    pub counts: Counts,
    pub bundle: Option<BundleInfo>,
    /// The partial folder (gone after a complete run unless kept).
    pub partial: PathBuf,
    pub elapsed: Duration,
}

impl Summary {
    /// True when the bundle is written but some required task failed or was skipped.
    pub fn has_problems(&self) -> bool {
        self.counts.required_problems > 0
    }
}

/// The partial folder of a bundle: `<output>.partial`.
pub fn partial_dir(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    output.with_file_name(name)
}

/// The bundle a partial folder belongs to (strips `.partial`).
pub fn output_of_partial(partial: &Path) -> Option<PathBuf> {
    let name = partial.file_name()?.to_str()?;
    let base = name.strip_suffix(".partial")?;
    Some(partial.with_file_name(base))
}

/// Finds, in `dir`, the unfinished collections whose journal matches `accept` (e.g. the same
/// namespace and instance). Returns their bundle paths, newest name last.
pub fn find_partials(
    dir: &Path,
    accept: impl Fn(&JournalMeta) -> bool,
) -> Result<Vec<PathBuf>, EngineError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io_err(dir, e))?.path();
        if !path.is_dir() {
            continue;
        }
        let Some(output) = output_of_partial(&path) else {
            continue;
        };
        let journal = path.join("journal");
        if !journal.is_dir() {
            continue;
        }
        if let Ok(Some(meta)) = Journal::read_meta(&journal) {
            if accept(&meta) {
                out.push(output);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Opens the collection's journal: an existing one must be of the same target and pipeline; a
/// new one gets its meta. Returns the journal, its meta, and whether it resumes a collection.
fn open_journal(
    config: &RunConfig,
    partial: &Path,
    out: &str,
) -> Result<(Journal, JournalMeta, bool), EngineError> {
    let (journal, existing) = Journal::open(&partial.join("journal"), FlushPolicy::Batched)?;
    let resumed = existing.is_some();
    let meta = match existing {
        Some(meta) => {
            check_same(&meta, config, partial)?;
            meta
        }
        None => {
            // A new collection, or one killed before its meta was written (then nothing ran).
            let meta = JournalMeta {
                format_version: JOURNAL_FORMAT_VERSION,
                target: config.target.clone(),
                pipeline: config.pipeline.name.clone(),
                pipeline_hash: config.pipeline_hash(),
                started: now(),
                output: out.to_string(),
            };
            journal.write_meta(&meta)?;
            meta
        }
    };
    Ok((journal, meta, resumed))
}

/// Runs one collection. A task's failure never makes this an error: only problems with the
/// collection as a whole do (a partial folder in the way, a journal of another target, I/O).
pub async fn run(
    config: RunConfig,
    registry: &Registry,
    reporter: &dyn Reporter,
    cancel: CancellationToken,
) -> Result<Summary, EngineError> {
    let started_at = Instant::now();
    let partial = partial_dir(&config.output);
    let out = config.output.display().to_string();
    let mut plan = Plan::with_scopes(&config.pipeline, &config.globals, &config.dependencies)?;
    plan.set_max_fan_out(config.limits.max_fan_out);
    if let Some(done) = settle_earlier(&config, &partial, started_at)? {
        return Ok(done);
    }

    fs::create_dir_all(&partial).map_err(|source| EngineError::WorkingFolder {
        path: partial.clone(),
        source,
    })?;
    let (journal, meta, resumed) = open_journal(&config, &partial, &out)?;
    // Unlinked at once: nothing is left behind however the run ends, and a resumed run
    // expands from the journaled items into a new one.
    let item_file = tempfile::tempfile_in(&partial).map_err(|source| EngineError::Io {
        path: partial.clone(),
        source,
    })?;
    plan.keep_items_in(item_file, partial.clone());
    let store = match &config.redactor {
        Some(r) => ArtifactStore::open_with(&partial.join("artifacts"), r.clone()),
        None => ArtifactStore::open(&partial.join("artifacts")),
    }?;
    let synced = store.clone();
    journal.before_write(move || Ok(synced.sync()?));
    let log_path = partial.join("collection.log");
    let log = LogFile::open(&log_path, config.redactor.clone())?;
    log.line(&format!(
        "{} collection of pipeline {} for {} ({})",
        if resumed { "resuming" } else { "starting" },
        config.pipeline.name,
        config.target,
        out
    ));
    let tee = Tee(vec![reporter, &log]);

    let scheduler = Scheduler::new(
        plan,
        registry,
        journal.clone(),
        store.clone(),
        Arc::new(config.env.clone()),
        &tee,
        config.limits.clone(),
        config.retry.clone(),
        cancel,
        resumed,
    );
    let outcome = match scheduler.run().await {
        Ok(o) => o,
        Err(e) => {
            journal.abandon();
            return Err(e);
        }
    };
    if outcome.interrupted {
        // Artifacts are not synced one by one (`bundle::sink`, "Durability"): the ones this
        // run leaves for `--continue` are, once, here.
        if let Err(e) = sync_folder(store.dir()) {
            log.line(&format!(
                "syncing the artifacts failed ({e}): --continue verifies them and collects again any that was lost"
            ));
        }
        log.line("interrupted: resume with --continue");
        log.flush();
        return Ok(Summary {
            ending: Ending::Interrupted,
            counts: outcome.counts,
            bundle: None,
            partial,
            elapsed: started_at.elapsed(),
        });
    }

    let c = &outcome.counts;
    log.line(&format!(
        "archiving: {} done, {} reused, {} failed, {} skipped",
        c.done, c.reused, c.failed, c.skipped
    ));
    if let Some(line) = c.not_running.line() {
        log.line(&line);
    }
    log.flush();
    let info = archive(
        &meta,
        &config.output,
        &partial,
        store,
        journal.clone(),
        outcome.artifacts,
        outcome.errors,
        log_path,
    )
    .await;
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            journal.abandon();
            return Err(e);
        }
    };
    tee.event(&Event::Archived {
        path: info.path.clone(),
        bytes: info.bytes,
        files: info.files,
    });
    drop(tee);
    drop(log);
    drop(journal);
    if !config.keep_partial {
        remove_partial(&config.output, &partial)?;
    }
    Ok(Summary {
        ending: Ending::Complete,
        counts: outcome.counts,
        bundle: Some(info),
        partial,
        elapsed: started_at.elapsed(),
    })
}

/// The file in the partial folder that says its bundle is written (complete, synced, under its
/// temp name or already renamed). Written before the rename, so from the rename on, every
/// instant of the end of a run is recognised by `--continue` as a finished collection.
pub const ARCHIVED: &str = "archived";

/// Where a finished collection's partial folder is moved before it is deleted
/// (`<output>.partial.removing`): one atomic rename, so a kill during the deletion never leaves
/// a half-deleted partial folder that looks like a collection to resume.
pub fn removing_dir(output: &Path) -> PathBuf {
    let mut p = partial_dir(output).into_os_string();
    p.push(".removing");
    PathBuf::from(p)
}

fn write_archived_marker(marker: &Path) -> Result<(), crate::bundle::BundleError> {
    let err = |source: std::io::Error| crate::bundle::BundleError::File {
        path: marker.to_path_buf(),
        source,
    };
    let mut f = fs::File::create(marker).map_err(err)?;
    f.write_all(b"the bundle of this collection is written\n")
        .map_err(err)?;
    f.sync_all().map_err(err)?;
    if let Some(dir) = marker.parent() {
        // The marker's directory entry is durable too.
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
    }
    Ok(())
}

/// Ends a run the way a finished collection ends: the partial folder is renamed aside, then
/// deleted.
fn remove_partial(output: &Path, partial: &Path) -> Result<(), EngineError> {
    let removing = removing_dir(output);
    fs::rename(partial, &removing).map_err(|e| io_err(partial, e))?;
    remove_folder(&removing).map_err(|e| io_err(&removing, e))
}

/// How many threads delete a folder's files at once (`remove_folder`).
const REMOVERS: usize = 16;

/// Deletes `dir` and everything in it, its files on up to `REMOVERS` threads at once.
///
/// On a file system that discards freed blocks as it frees them (ext4 mounted with `discard`,
/// usual on cloud disks), each unlink of a file that reached the disk waits milliseconds for the
/// device: a partial folder of 900 synced artifacts took 2 to 3 s to delete one file after
/// another, most of a small collection's finish, and about 0.1 s on 16 threads
/// (docs/PERFORMANCE.md, "A small collection's critical path"). The waits are the device's,
/// not the CPU's, so they overlap.
fn remove_folder(dir: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                dirs.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    if files.len() > REMOVERS {
        let per_thread = files.len().div_ceil(REMOVERS);
        std::thread::scope(|s| {
            let removers: Vec<_> = files
                .chunks(per_thread)
                .map(|part| s.spawn(move || part.iter().try_for_each(|f| remove_file(f))))
                .collect();
            removers
                .into_iter()
                .try_for_each(|r| r.join().expect("a removing thread does not panic"))
        })?;
    }
    fs::remove_dir_all(dir)
}

/// Syncs every file directly in `dir`, on up to `REMOVERS` threads at once (the waits are the
/// device's), then `dir` itself.
fn sync_folder(dir: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_file() {
            files.push(e.path());
        }
    }
    let per_thread = files.len().div_ceil(REMOVERS).max(1);
    std::thread::scope(|s| {
        let syncers: Vec<_> = files
            .chunks(per_thread)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .try_for_each(|f| fs::File::open(f).and_then(|f| f.sync_all()))
                })
            })
            .collect();
        syncers
            .into_iter()
            .try_for_each(|r| r.join().expect("a syncing thread does not panic"))
    })?;
    fs::File::open(dir).and_then(|d| d.sync_all())
}

/// Removes a file; one already gone is fine.
fn remove_file(f: &Path) -> std::io::Result<()> {
    match fs::remove_file(f) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `--continue` on a partial folder whose bundle was written (a kill after the `archived`
/// marker): completes the rename if the kill came before it, then the removal of the partial
/// folder, and reports the finished collection. `None` when the marker is stale (the bundle
/// was deleted since): the collection is archived again from its journal.
fn finish_archived(
    config: &RunConfig,
    partial: &Path,
    started_at: Instant,
) -> Result<Option<Summary>, EngineError> {
    let tmp = crate::bundle::writer::tmp_path(&config.output);
    if tmp.exists() {
        fs::rename(&tmp, &config.output).map_err(|e| io_err(&config.output, e))?;
    }
    if !config.output.exists() {
        fs::remove_file(partial.join(ARCHIVED)).map_err(|e| io_err(partial, e))?;
        return Ok(None);
    }
    if !config.keep_partial {
        remove_partial(&config.output, partial)?;
    }
    Ok(Some(already_finished(
        config,
        partial.to_path_buf(),
        started_at,
    )))
}

fn already_finished(config: &RunConfig, partial: PathBuf, started_at: Instant) -> Summary {
    Summary {
        ending: Ending::AlreadyFinished,
        counts: Counts::default(),
        bundle: Some(BundleInfo {
            path: config.output.clone(),
            bytes: fs::metadata(&config.output).map(|m| m.len()).unwrap_or(0),
            files: 0,
        }),
        partial,
        elapsed: started_at.elapsed(),
    }
}

/// Writes the bundle from the journaled artifacts, read back one at a time (blocking work, off
/// the runtime), with the `archived` marker synced before the rename.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one bundle, each needed"
)]
async fn archive(
    meta: &JournalMeta,
    output: &Path,
    partial: &Path,
    store: ArtifactStore,
    journal: Journal,
    artifacts: Vec<crate::bundle::writer::ArtifactRef>,
    errors: Vec<crate::bundle::writer::ErrorEntry>,
    log_path: PathBuf,
) -> Result<BundleInfo, EngineError> {
    let bundle_meta = BundleMeta {
        format_version: BUNDLE_FORMAT_VERSION,
        tool: "kudo-diag".into(),
        tool_version: crate::VERSION.into(),
        git_commit: crate::GIT_COMMIT.into(),
        target: meta.target.clone(),
        pipeline: meta.pipeline.clone(),
        pipeline_hash: meta.pipeline_hash.clone(),
        started: meta.started.clone(),
        finished: now(),
    };
    let output = output.to_path_buf();
    let marker = partial.join(ARCHIVED);
    // Compressing and hashing is blocking work.
    tokio::task::spawn_blocking(move || {
        write_bundle_then(
            &store,
            artifacts,
            &JournalArtifacts(journal),
            &errors,
            Some(&log_path),
            &bundle_meta,
            &output,
            || write_archived_marker(&marker),
        )
    })
    .await
    .map_err(|e| EngineError::Internal(format!("the bundle writer stopped: {e}")))?
    .map_err(EngineError::WriteBundle)
}

/// What the resume mode says about an earlier collection for the same output: an error, a
/// finished collection to report (`Some`), or go on (`None`).
fn settle_earlier(
    config: &RunConfig,
    partial: &Path,
    started_at: Instant,
) -> Result<Option<Summary>, EngineError> {
    let out = config.output.display().to_string();
    // The removal of a finished collection's partial folder, cut short by a kill.
    let removing = removing_dir(&config.output);
    if removing.exists() {
        remove_folder(&removing).map_err(|e| io_err(&removing, e))?;
    }
    if config.resume == ResumeMode::Continue && partial.join(ARCHIVED).exists() {
        if let Some(done) = finish_archived(config, partial, started_at)? {
            return Ok(Some(done));
        }
    }

    match config.resume {
        ResumeMode::Fresh => {
            if partial.exists() {
                return Err(EngineError::PartialExists {
                    output: out,
                    partial: partial.to_path_buf(),
                });
            }
            if config.output.exists() {
                return Err(EngineError::OutputExists { output: out });
            }
        }
        ResumeMode::Force => {
            if partial.exists() {
                remove_folder(partial).map_err(|e| io_err(partial, e))?;
            }
        }
        ResumeMode::Continue => {
            if !partial.exists() {
                if config.output.exists() {
                    return Ok(Some(already_finished(
                        config,
                        partial.to_path_buf(),
                        started_at,
                    )));
                }
                // Like `wget --continue` on a file that is not there yet: nothing was collected
                // (a run killed before its first write), so continuing means starting. This
                // keeps `--continue` always safe to repeat after a kill.
                tracing::info!("nothing to continue for {out}: starting a new collection");
            }
        }
    }
    Ok(None)
}

fn check_same(meta: &JournalMeta, config: &RunConfig, partial: &Path) -> Result<(), EngineError> {
    if meta.target != config.target {
        return Err(EngineError::OtherCollection(format!(
            "the unfinished collection in {} is for target {}, not {}: continue it with the same cluster, namespace and instance, or start over with `--force`",
            partial.display(),
            meta.target,
            config.target
        )));
    }
    let hash = config.pipeline_hash();
    if meta.pipeline_hash != hash {
        return Err(EngineError::OtherCollection(format!(
            "the unfinished collection in {} was started with pipeline {} (hash {}), not {} (hash {}): continue it with the same pipeline files (and, when dependencies are collected, the same dependencies: `--no-dependencies` if they changed), or start over with `--force`",
            partial.display(),
            meta.pipeline,
            short(&meta.pipeline_hash),
            config.pipeline.name,
            short(&hash)
        )));
    }
    Ok(())
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn io_err(path: &Path, source: std::io::Error) -> EngineError {
    EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The collection's own log, `collection.log` in the partial folder: one line per event that
/// matters to someone reading the bundle later. Appended across resumes. Written through the
/// collection's redactor, like every artifact: a line can quote a server's or a command's
/// message.
struct LogFile {
    out: Mutex<LogOut>,
}

/// The log's file, redacted line by line when the collection redacts.
enum LogSink {
    Plain(std::io::BufWriter<fs::File>),
    Redacted(RedactingWriter<std::io::BufWriter<fs::File>, Arc<Redactor>>),
}

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            LogSink::Plain(w) => w.write(buf),
            LogSink::Redacted(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            LogSink::Plain(w) => w.flush(),
            LogSink::Redacted(w) => w.flush(),
        }
    }
}

struct LogOut {
    w: LogSink,
    /// The last timestamp written and its second: formatting one per line cost more than
    /// writing the line (100,000 lines in a large run), so lines of the same second share it.
    second: i64,
    stamp: String,
}

impl LogFile {
    fn open(path: &Path, redactor: Option<Arc<Redactor>>) -> Result<Self, EngineError> {
        let f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        let w = std::io::BufWriter::new(f);
        Ok(LogFile {
            out: Mutex::new(LogOut {
                w: match redactor {
                    Some(r) => LogSink::Redacted(RedactingWriter::new(w, r)),
                    None => LogSink::Plain(w),
                },
                second: i64::MIN,
                stamp: String::new(),
            }),
        })
    }

    fn line(&self, text: &str) {
        self.line_args(format_args!("{text}"));
    }

    /// Writes a line formatted straight into the buffer (no String per line).
    fn line_args(&self, text: std::fmt::Arguments<'_>) {
        let mut out = self.out.lock().expect("log lock");
        let t = chrono::Utc::now();
        if t.timestamp() != out.second {
            out.second = t.timestamp();
            out.stamp = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        }
        let LogOut { w, stamp, .. } = &mut *out;
        // The log is best effort: a full disk shows up in the artifacts' own errors.
        let _ = writeln!(w, "{stamp} {text}");
    }

    fn flush(&self) {
        let _ = self.out.lock().expect("log lock").w.flush();
    }
}

impl Reporter for LogFile {
    fn event(&self, event: &Event) {
        let text = match event {
            Event::Planned { nodes, resumed } => {
                format!(
                    "planned {nodes} nodes{}",
                    if *resumed { " (resumed)" } else { "" }
                )
            }
            Event::Expanded { task, nodes } => format!("expanded {task} into {nodes} nodes"),
            Event::Started { .. } => return,
            Event::Retrying {
                node,
                attempt,
                delay,
                error,
            } => format!(
                "retrying {node} after attempt {attempt} in {}: {error}",
                humantime::format_duration(Duration::from_millis(delay.as_millis() as u64))
            ),
            Event::Finished {
                node,
                state,
                attempts,
                bytes,
                elapsed,
                error,
            } => {
                // One per node: formatted straight into the log's buffer.
                return self.line_args(format_args!(
                    "{} {node} attempts={attempts} bytes={bytes} ms={}{}{}",
                    state.as_str(),
                    elapsed.as_millis(),
                    if error.is_some() { ": " } else { "" },
                    error.as_deref().unwrap_or("")
                ));
            }
            Event::Skipped { node, reason } => format!("skipped {node}: {reason}"),
            Event::Reused { node, bytes } => format!("reused {node} bytes={bytes}"),
            Event::Invalidated { node, reason } => format!("re-running {node}: {reason}"),
            Event::Archived { path, bytes, files } => {
                format!(
                    "archived {files} files, {bytes} bytes, to {}",
                    path.display()
                )
            }
            Event::Interrupted { in_flight } => {
                format!("interrupted with {in_flight} attempts in flight")
            }
        };
        self.line(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The partial folder's shape: files beside folders of files, more files than threads, and
    /// a link that must go without what it points at.
    #[test]
    fn remove_folder_deletes_every_file_and_folder_and_nothing_outside() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("kept.txt");
        fs::write(&outside, "kept").unwrap();
        let partial = d.path().join("b.zip.partial");
        let arts = partial.join("artifacts");
        let blobs = partial.join("journal").join("blobs");
        fs::create_dir_all(&arts).unwrap();
        fs::create_dir_all(&blobs).unwrap();
        for i in 0..(REMOVERS * 3 + 5) {
            fs::write(arts.join(format!("{i}.art")), [i as u8; 10]).unwrap();
        }
        fs::write(blobs.join("1"), "blob").unwrap();
        fs::write(partial.join("collection.log"), "log").unwrap();
        std::os::unix::fs::symlink(&outside, partial.join("link")).unwrap();
        remove_folder(&partial).unwrap();
        assert!(!partial.exists());
        assert_eq!(fs::read_to_string(&outside).unwrap(), "kept");
    }

    #[test]
    fn sync_folder_syncs_a_folder_of_files_and_names_a_missing_one() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..(REMOVERS + 3) {
            fs::write(d.path().join(format!("{i}.art")), "x").unwrap();
        }
        sync_folder(d.path()).unwrap();
        let e = sync_folder(&d.path().join("gone")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn remove_folder_of_a_missing_folder_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let e = remove_folder(&d.path().join("gone")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
