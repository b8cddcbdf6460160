//! What the engine tells the world while it runs: a stream of [`Event`]s handed to a
//! [`Reporter`]. The CLI's progress display (src/cli/progress.rs) is one reporter, the
//! collection log is another, and tests collect events in a Vec ([`EventLog`]) to assert on them.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::journal::NodeState;

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The static part of the plan is known: `nodes` nodes (fan-out adds more later).
    Planned { nodes: usize, resumed: bool },
    /// A task got its nodes after the initial plan: a fan-out task whose source finished (one
    /// node per item), or a task that needs one. Planned + Expanded counts add up to all nodes.
    Expanded { task: String, nodes: usize },
    /// An attempt of a node started.
    Started { node: String, attempt: u32 },
    /// An attempt failed with a transient error and will be tried again after `delay`.
    Retrying {
        node: String,
        attempt: u32,
        delay: Duration,
        error: String,
    },
    /// A node finished: done or failed (after its last attempt).
    Finished {
        node: String,
        state: NodeState,
        attempts: u32,
        bytes: u64,
        elapsed: Duration,
        error: Option<String>,
    },
    /// A node did not run because something it needs did not finish well.
    Skipped { node: String, reason: String },
    /// A node was done in an earlier run and its artifacts verified: not run again.
    Reused { node: String, bytes: u64 },
    /// A node was done in an earlier run but its artifacts are missing or corrupt: it runs again.
    Invalidated { node: String, reason: String },
    /// The bundle was written.
    Archived {
        path: PathBuf,
        bytes: u64,
        files: usize,
    },
    /// The run was interrupted; in-flight work stopped, the journal is flushed.
    Interrupted { in_flight: usize },
}

/// Receives the engine's events. Called from the scheduler's loop: keep it quick.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

/// A reporter that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: &Event) {}
}

/// A reporter that keeps every event, for tests.
#[derive(Debug, Default)]
pub struct EventLog {
    events: Mutex<Vec<Event>>,
}

impl EventLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("event log lock").clone()
    }
}

impl Reporter for EventLog {
    fn event(&self, event: &Event) {
        self.events
            .lock()
            .expect("event log lock")
            .push(event.clone());
    }
}

/// Sends each event to several reporters.
pub struct Tee<'a>(pub Vec<&'a dyn Reporter>);

impl Reporter for Tee<'_> {
    fn event(&self, event: &Event) {
        for r in &self.0 {
            r.event(event);
        }
    }
}
