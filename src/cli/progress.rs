//! How a run shows its progress: a [`Reporter`] listening to the engine's events. The only file
//! that imports indicatif.
//!
//! - `bars` (the default on a terminal): a bar of tasks done/total with bytes written and
//!   failures so far, and a line naming what is running now.
//! - `plain` (the default off a terminal): one line per finished, failed, skipped, reused or
//!   retried node, on stderr.
//! - `none`: nothing while running.
//!
//! In every mode a final summary goes to stdout ([`summary`]): done/failed/skipped/reused counts,
//! the bundle's path and size, and the elapsed time.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{HumanBytes, HumanDuration, MultiProgress, ProgressBar, ProgressStyle};

use crate::engine::{Ending, Event, NodeState, Reporter, Summary};

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Bars on a terminal, plain lines otherwise.
    Auto,
    /// Bars: tasks done/total, bytes written, failures, what is running now.
    Bars,
    /// One line per finished task.
    Plain,
    /// Nothing while running; only the final summary.
    None,
}

impl ProgressMode {
    /// `Auto` decided by whether stderr is a terminal.
    pub fn resolve(self) -> ProgressMode {
        match self {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bars,
            ProgressMode::Auto => ProgressMode::Plain,
            m => m,
        }
    }
}

struct Bars {
    _multi: MultiProgress,
    tasks: ProgressBar,
    running: ProgressBar,
}

#[derive(Default)]
struct State {
    total: u64,
    finished: u64,
    bytes: u64,
    failed: u64,
    running: BTreeSet<String>,
}

/// The CLI's reporter.
pub struct Progress {
    mode: ProgressMode,
    bars: Option<Bars>,
    state: Mutex<State>,
}

impl Progress {
    pub fn new(mode: ProgressMode) -> Self {
        let mode = mode.resolve();
        let bars = (mode == ProgressMode::Bars).then(|| {
            let multi = MultiProgress::new();
            let tasks = multi.add(ProgressBar::new(0));
            tasks.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} tasks  {msg}",
                )
                .expect("valid template"),
            );
            tasks.enable_steady_tick(Duration::from_millis(120));
            let running = multi.add(ProgressBar::new_spinner());
            running.set_style(ProgressStyle::with_template("  {msg}").expect("valid template"));
            Bars {
                _multi: multi,
                tasks,
                running,
            }
        });
        Progress {
            mode,
            bars,
            state: Mutex::new(State::default()),
        }
    }

    /// Clears the bars before the summary is printed.
    pub fn finish(&self) {
        if let Some(b) = &self.bars {
            b.running.finish_and_clear();
            b.tasks.finish_and_clear();
        }
    }

    fn plain(&self, line: String) {
        if self.mode == ProgressMode::Plain {
            eprintln!("{line}");
        }
    }

    fn redraw(&self, s: &State) {
        let Some(b) = &self.bars else { return };
        b.tasks.set_length(s.total);
        b.tasks.set_position(s.finished);
        b.tasks.set_message(format!(
            "{} written{}",
            HumanBytes(s.bytes),
            if s.failed > 0 {
                format!(", {} failed", s.failed)
            } else {
                String::new()
            }
        ));
        let names: Vec<&str> = s.running.iter().take(4).map(String::as_str).collect();
        let more = s.running.len().saturating_sub(names.len());
        b.running.set_message(if names.is_empty() {
            String::new()
        } else if more > 0 {
            format!("running: {} (+{more})", names.join(", "))
        } else {
            format!("running: {}", names.join(", "))
        });
    }
}

impl Reporter for Progress {
    fn event(&self, event: &Event) {
        if self.mode == ProgressMode::None {
            return;
        }
        let mut s = self.state.lock().expect("progress lock");
        match event {
            Event::Planned { nodes, resumed } => {
                s.total += *nodes as u64;
                if *resumed {
                    self.plain("resuming the unfinished collection".to_string());
                }
            }
            Event::Expanded { task, nodes } => {
                s.total += *nodes as u64;
                self.plain(format!("expanded {task} into {nodes} nodes"));
            }
            Event::Started { node, .. } => {
                s.running.insert(node.clone());
            }
            Event::Retrying {
                node,
                attempt,
                delay,
                error,
            } => {
                s.running.remove(node);
                self.plain(format!(
                    "retry   {node} (attempt {attempt} failed: {error}; again in {})",
                    HumanDuration(*delay)
                ));
            }
            Event::Finished {
                node,
                state,
                attempts,
                bytes,
                elapsed,
                error,
            } => {
                s.running.remove(node);
                s.finished += 1;
                s.bytes += bytes;
                match state {
                    NodeState::Done => self.plain(format!(
                        "done    {node} ({}, {} ms)",
                        HumanBytes(*bytes),
                        elapsed.as_millis()
                    )),
                    _ => {
                        s.failed += 1;
                        let line = format!(
                            "FAILED  {node} after {attempts} attempt(s): {}",
                            error.as_deref().unwrap_or("unknown error")
                        );
                        if let Some(b) = &self.bars {
                            b.tasks.println(&line);
                        }
                        self.plain(line);
                    }
                }
            }
            Event::Skipped { node, reason } => {
                s.finished += 1;
                self.plain(format!("skipped {node}: {reason}"));
            }
            Event::Reused { node, bytes } => {
                s.finished += 1;
                self.plain(format!("reused  {node} ({})", HumanBytes(*bytes)));
            }
            Event::Invalidated { node, reason } => {
                let line = format!("re-run  {node}: {reason}");
                if let Some(b) = &self.bars {
                    b.tasks.println(&line);
                }
                self.plain(line);
            }
            Event::Archived { path, bytes, files } => self.plain(format!(
                "archived {files} files to {} ({})",
                path.display(),
                HumanBytes(*bytes)
            )),
            Event::Interrupted { in_flight } => {
                self.plain(format!("interrupted ({in_flight} in flight)"))
            }
        }
        self.redraw(&s);
    }
}

/// The final summary, for stdout.
pub fn summary(s: &Summary) -> String {
    let c = &s.counts;
    let counts = format!(
        "{} done, {} reused, {} failed, {} skipped",
        c.done, c.reused, c.failed, c.skipped
    );
    let elapsed = HumanDuration(s.elapsed);
    match s.ending {
        Ending::Complete => {
            let bundle = s
                .bundle
                .as_ref()
                .map(|b| format!("\nbundle: {} ({})", b.path.display(), HumanBytes(b.bytes)))
                .unwrap_or_default();
            let verdict = if s.has_problems() {
                "collection finished with problems (see errors.json in the bundle)"
            } else {
                "collection complete"
            };
            let not_running = c
                .not_running
                .line()
                .map(|l| format!("\n{l}"))
                .unwrap_or_default();
            format!("{verdict}: {counts} in {elapsed}{not_running}{bundle}")
        }
        Ending::Interrupted => format!(
            "collection interrupted after {elapsed}: {counts}; the journal is saved in {}",
            s.partial.display()
        ),
        Ending::AlreadyFinished => {
            let bundle = s
                .bundle
                .as_ref()
                .map(|b| format!("{} ({})", b.path.display(), HumanBytes(b.bytes)))
                .unwrap_or_default();
            format!("nothing to do: already complete: {bundle}")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::bundle::writer::BundleInfo;
    use crate::engine::Counts;

    fn summary_of(ending: Ending, failed: usize) -> Summary {
        Summary {
            ending,
            counts: Counts {
                done: 7,
                failed,
                skipped: failed,
                reused: 2,
                required_problems: failed * 2,
                bytes: 0,
                ..Counts::default()
            },
            bundle: (ending != Ending::Interrupted).then(|| BundleInfo {
                path: PathBuf::from("b.zip"),
                bytes: 2048,
                files: 9,
            }),
            partial: PathBuf::from("b.zip.partial"),
            elapsed: Duration::from_secs(3),
        }
    }

    #[test]
    fn the_summary_says_how_it_ended_with_counts_bundle_and_time() {
        assert_eq!(
            summary(&summary_of(Ending::Complete, 0)),
            "collection complete: 7 done, 2 reused, 0 failed, 0 skipped in 3 seconds\nbundle: b.zip (2.00 KiB)"
        );
        assert!(summary(&summary_of(Ending::Complete, 1))
            .starts_with("collection finished with problems (see errors.json in the bundle): 7 done, 2 reused, 1 failed, 1 skipped"));
        assert!(summary(&summary_of(Ending::Interrupted, 0))
            .contains("the journal is saved in b.zip.partial"));
        assert_eq!(
            summary(&summary_of(Ending::AlreadyFinished, 0)),
            "nothing to do: already complete: b.zip (2.00 KiB)"
        );
    }
}
