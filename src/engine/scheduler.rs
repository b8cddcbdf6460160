//! The scheduler: runs a [`Plan`] to the end.
//!
//! One coordinating loop owns the plan, the journal claims and the ready queues; node attempts run
//! as tokio tasks in a `JoinSet` and send their result back, except the attempts of kinds that
//! say they are cheap (`TaskKind::inline`), which the loop polls itself in a
//! `FuturesUnordered`: no spawn, no cross-thread wake-up per node. The loop starts ready nodes while
//! the global limit and the node's class limit allow, handles every finished attempt (journal
//! commit, dependents, fan-out expansion), then flushes the journal once for the whole turn
//! (group commit, at most every `FLUSH_INTERVAL`) before waiting again.
//!
//! Policy: a transient error is retried with exponential backoff and jitter (or after the
//! task's `retry_after`), up to 1 + retries attempts; a retry waits without holding a slot. A
//! node that fails has its sink discarded (unless its error keeps what it wrote: a refusal
//! whose fallback answered) and its dependents, transitively, skipped with the reason; everything else still runs. On cancellation in-flight attempts are aborted, the
//! journal is flushed and the loop returns `interrupted`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use petgraph::graph::NodeIndex;
use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::bundle::sink::{ArtifactRecord, ArtifactStore, NodeSink};
use crate::bundle::writer::{ArtifactRef, ErrorEntry};

use super::event::{Event, Reporter};
use super::journal::{Claim, Journal, NodeRecord, NodeState, Status};
use super::plan::{Expansion, NodeContext, NodeStatus, Plan, Settled};
use super::streams::StreamGate;
use super::task::{
    ErrorKind, Items, Registry, TaskContext, TaskEnv, TaskError, TaskKind, TaskOutput,
};
use super::EngineError;

/// The default number of node attempts in flight at once (`--concurrency`): the global bound
/// on open requests and streams. Short requests are paced by the client's request rate
/// (`--qps`) and streams by the per-node and per-pod limits, so this only caps the total.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// The default number of streams (logs, exec) at once on one node's kubelet.
pub const DEFAULT_PER_NODE: usize = 2;
/// The default number of commands at once in one pod: a diagnosed pod never runs two of our
/// JVM tools (`nodetool`) at the same time.
pub const DEFAULT_PER_POD: usize = 1;
/// The default per-attempt time limit when a task sets no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default number of extra attempts for transient errors when a task sets no `retries`.
pub const DEFAULT_RETRIES: u32 = 3;

/// The longest time a finished node's commit stays unflushed in the journal.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// How many attempts may run at once: overall, per concurrency class, and keyed by what they
/// load (streams per node, commands per pod; `TaskKind::stream`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub global: usize,
    /// Per class (`TaskKind::class()`), upper bounds given by the user; a class not listed is
    /// bounded by `global` only.
    pub classes: BTreeMap<String, usize>,
    /// The most nodes one `forEach` task may expand into ([`super::plan::MAX_FAN_OUT`] by
    /// default); more fails that task's fan-out, not the run.
    pub max_fan_out: usize,
    /// Streams (logs, exec) at once on one node: its kubelet serves them all.
    pub per_node: usize,
    /// Commands (exec) at once in one pod.
    pub per_pod: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            global: DEFAULT_CONCURRENCY,
            classes: BTreeMap::new(),
            max_fan_out: super::plan::MAX_FAN_OUT,
            per_node: DEFAULT_PER_NODE,
            per_pod: DEFAULT_PER_POD,
        }
    }
}

impl Limits {
    fn of(&self, class: &str) -> usize {
        self.classes
            .get(class)
            .copied()
            .unwrap_or(self.global)
            .max(1)
    }
}

/// Timeouts and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts when the task does not say.
    pub retries: u32,
    /// Per-attempt limit when the task does not say.
    pub timeout: Duration,
    /// First backoff; doubled each attempt, with jitter.
    pub backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: DEFAULT_RETRIES,
            timeout: DEFAULT_TIMEOUT,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: `backoff * 2^(attempt-1)`, capped, times a random
    /// factor in [0.5, 1] so that many failing nodes do not come back at the same instant.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            // The server said when; it knows better than our guess.
            return d;
        }
        let exp = self
            .backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_backoff);
        let factor: f64 = rand::rng().random_range(0.5..=1.0);
        exp.mul_f64(factor)
    }
}

/// Counts of a run, for the summary and the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Nodes run to success in this run.
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Nodes done in an earlier run whose artifacts verified.
    pub reused: usize,
    /// Failed or skipped nodes of tasks not marked optional.
    pub required_problems: usize,
    /// Bytes of artifacts written in this run.
    pub bytes: u64,
    /// Done nodes that skipped their work because their container was not running.
    pub not_running: super::notrunning::NotRunning,
}

/// What the scheduler hands back.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub interrupted: bool,
    pub counts: Counts,
    /// The bundle's artifacts, each with where its record is in the journal.
    pub artifacts: Vec<ArtifactRef>,
    pub errors: Vec<ErrorEntry>,
}

fn flush_panicked(e: tokio::task::JoinError) -> EngineError {
    EngineError::Journal(format!("the journal flush stopped: {e}"))
}

enum Msg {
    Attempt {
        idx: NodeIndex,
        attempt: u32,
        result: Result<TaskOutput, TaskError>,
        sink: NodeSink,
        elapsed: Duration,
    },
    RetryDue {
        idx: NodeIndex,
    },
    /// A timed-out command's pod slot was given back (`StreamGate::release_timed_out`).
    PodFreed,
}

/// The ready nodes of one concurrency class and how many of its attempts run.
struct ClassQueue {
    name: &'static str,
    limit: usize,
    running: usize,
    ready: VecDeque<NodeIndex>,
}

pub(crate) struct Scheduler<'a> {
    pub plan: Plan,
    pub registry: &'a Registry,
    pub journal: Journal,
    pub store: ArtifactStore,
    pub env: Arc<TaskEnv>,
    pub reporter: &'a dyn Reporter,
    pub limits: Limits,
    pub retry: RetryPolicy,
    pub cancel: CancellationToken,
    pub resumed: bool,
    // Per node, indexed by NodeIndex::index().
    claims: Vec<Option<Claim>>,
    attempts: Vec<u32>,
    /// What the failed nodes ran into, for errors.json (only failures: most nodes never have
    /// one, and a 100,000-node run should not carry a slot each).
    failures: HashMap<usize, ErrorKind>,
    queued: Vec<bool>,
    /// Concurrency class of each task (an index into `classes`), filled as tasks are first
    /// seen, so no node hashes a class name (two to three lookups per node cost about 10% of
    /// a 100,000-node run).
    task_class: Vec<Option<usize>>,
    // Scheduling state.
    /// One queue per concurrency class, in the order classes were first seen (round robin).
    classes: Vec<ClassQueue>,
    /// Streams per node and commands per pod, with the nodes waiting for them.
    streams: StreamGate,
    running: usize,
    jobs: JoinSet<Msg>,
    /// Jobs that only hold a timed-out command's pod slot (`Msg::PodFreed`).
    holds: usize,
    /// Attempts of inline kinds, polled by the loop itself.
    inline: FuturesUnordered<BoxFuture<'static, Msg>>,
    counts: Counts,
}

impl<'a> Scheduler<'a> {
    #[expect(
        clippy::too_many_arguments,
        reason = "a plain constructor of the loop's inputs"
    )]
    pub fn new(
        plan: Plan,
        registry: &'a Registry,
        journal: Journal,
        store: ArtifactStore,
        env: Arc<TaskEnv>,
        reporter: &'a dyn Reporter,
        limits: Limits,
        retry: RetryPolicy,
        cancel: CancellationToken,
        resumed: bool,
    ) -> Self {
        let streams = StreamGate::new(limits.per_node, limits.per_pod);
        Scheduler {
            plan,
            registry,
            journal,
            store,
            env,
            reporter,
            limits,
            retry,
            cancel,
            resumed,
            claims: Vec::new(),
            attempts: Vec::new(),
            failures: HashMap::new(),
            queued: Vec::new(),
            task_class: Vec::new(),
            classes: Vec::new(),
            streams,
            running: 0,
            jobs: JoinSet::new(),
            holds: 0,
            inline: FuturesUnordered::new(),
            counts: Counts::default(),
        }
    }

    /// Runs every node to a final state (or until cancelled).
    pub async fn run(mut self) -> Result<Outcome, EngineError> {
        // The static part of the plan is announced before any node is admitted, so a reporter
        // sees the total before the first Reused or Skipped event.
        let first = self.expand_plan();
        self.reporter.event(&Event::Planned {
            nodes: first.iter().map(|e| e.nodes.len()).sum(),
            resumed: self.resumed,
        });
        self.admit_all(first, false)?;
        let mut last_flush = Instant::now();
        let mut flushing: Option<tokio::task::JoinHandle<Result<(), EngineError>>> = None;
        // Wakes a loop that waits on long attempts, so batched commits reach the disk within
        // about FLUSH_INTERVAL even when nothing else finishes (they are only in memory until
        // then). One timer, reset once per flush, not one per turn.
        let flush_timer = tokio::time::sleep_until((last_flush + FLUSH_INTERVAL).into());
        tokio::pin!(flush_timer);
        loop {
            self.start_ready()?;
            // Pod slots held after timed-out commands keep the run going only while a node
            // waits for a slot.
            let only_holds = self.jobs.len() == self.holds && !self.streams.has_waiters();
            if self.inline.is_empty() && (self.jobs.is_empty() || only_holds) {
                break;
            }
            let gate = self.streams.clone();
            let first = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return self.interrupt().await,
                Some(m) = self.inline.next(), if !self.inline.is_empty() => Some(Ok(m)),
                Some(r) = self.jobs.join_next(), if !self.jobs.is_empty() => Some(r),
                _ = &mut flush_timer, if self.journal.has_unflushed() => None,
                _ = gate.woken() => None,
                else => None,
            };
            if let Some(r) = first {
                self.handle(r)?;
            }
            // Nodes woken by slots that attempts took while running and gave back.
            for n in self.streams.take_woken() {
                self.wake(n);
            }
            // Everything else already finished, without waiting again.
            while let Some(Some(m)) = self.inline.next().now_or_never() {
                self.handle(Ok(m))?;
            }
            while let Some(r) = self.jobs.try_join_next() {
                self.handle(r)?;
            }
            // Group commit: one fsync for everything finished since the last one, at most every
            // FLUSH_INTERVAL. Flushing every turn cost an fsync per handful of nodes (12 s for
            // 100,000 no-op nodes); a kill loses at most the last interval's commits, and those
            // nodes simply run again.
            // The fsync runs on the blocking pool, one at a time, so a slow disk delays
            // durability, not scheduling.
            if flushing.as_ref().is_some_and(|h| h.is_finished()) {
                if let Some(h) = flushing.take() {
                    h.await.map_err(flush_panicked)??;
                }
            }
            if flushing.is_none()
                && last_flush.elapsed() >= FLUSH_INTERVAL
                && self.journal.has_unflushed()
            {
                let journal = self.journal.clone();
                flushing = Some(tokio::task::spawn_blocking(move || journal.flush()));
                last_flush = Instant::now();
            }
            if flush_timer.is_elapsed() {
                // Fired (or due) while a flush was still running: try again one interval on.
                let next = Instant::now().max(last_flush) + FLUSH_INTERVAL;
                flush_timer.as_mut().reset(next.into());
            }
        }
        if let Some(h) = flushing.take() {
            h.await.map_err(flush_panicked)??;
        }
        self.journal.flush()?;
        if !self.plan.finished() {
            let stuck: Vec<String> = (0..self.plan.len())
                .map(|i| self.plan.node(NodeIndex::new(i)))
                .filter(|n| !n.status.is_terminal())
                .map(|n| format!("{} ({:?})", n.id, n.status))
                .collect();
            return Err(EngineError::Internal(format!(
                "the run stopped with {} of {} nodes unfinished (first: {}); this is a bug in kudo-diag, please report it with the pipeline",
                stuck.len(),
                self.plan.len(),
                stuck[..stuck.len().min(5)].join(", ")
            )));
        }
        self.outcome(false)
    }

    async fn interrupt(mut self) -> Result<Outcome, EngineError> {
        let in_flight = self.running;
        self.jobs.abort_all();
        // Finished nodes first: in-flight attempts never commit, and stopping them can take a
        // while (a task blocked in a system call); a second Ctrl-C during that wait exits at
        // once and must not lose what was already done.
        self.journal.flush()?;
        while self.jobs.join_next().await.is_some() {}
        // Dropping an inline attempt stops it where it waits, like an abort.
        self.inline.clear();
        self.reporter.event(&Event::Interrupted { in_flight });
        self.outcome(true)
    }

    /// The counts, the artifacts of the bundle and the errors. The artifacts are found in the
    /// journal (flushed by now), which has them on disk: the scheduler does not keep a copy of
    /// every node's records while it runs, and hands on only each artifact's path and where its
    /// record is, which the bundle writer reads back one at a time. An interrupted run writes no bundle
    /// and reads none.
    fn outcome(mut self, interrupted: bool) -> Result<Outcome, EngineError> {
        let mut errors = Vec::new();
        for i in 0..self.plan.len() {
            let node = self.plan.node(NodeIndex::new(i));
            let spec = self.plan.spec(node.task);
            match node.status {
                NodeStatus::Done => {}
                NodeStatus::Failed | NodeStatus::Skipped => errors.push(ErrorEntry {
                    node: node.id.to_string(),
                    task: spec.name.clone(),
                    status: if node.status == NodeStatus::Failed {
                        "failed"
                    } else {
                        "skipped"
                    }
                    .to_string(),
                    reason: node.reason.as_deref().unwrap_or_default().to_string(),
                    attempts: self.attempts[i],
                    optional: spec.optional,
                    error_kind: self.failures.get(&i).cloned(),
                }),
                _ => {}
            }
        }
        errors.sort_by(|a, b| a.node.cmp(&b.node));
        let mut artifacts: Vec<ArtifactRef> = Vec::new();
        if !interrupted {
            // Only this run's nodes (a journal may hold records of nodes an earlier run
            // expanded from items that changed since), and a failed node's only when they
            // stand (a fallback's answer): where their latest entries are is all that is kept
            // of them. The nodes, their ids, the claims and the journal's index go before the
            // artifact list is made.
            let plan = &self.plan;
            let wanted = self.journal.latest_entries(
                (0..plan.len())
                    .map(|i| plan.node(NodeIndex::new(i)))
                    .filter(|n| matches!(n.status, NodeStatus::Done | NodeStatus::Failed))
                    .map(|n| &*n.id),
            );
            self.claims = Vec::new();
            self.plan.release();
            self.journal.release_index();
            // About one artifact a node: grown by doubling, the list was copied as often.
            artifacts.reserve_exact(wanted.len());
            self.journal.each_artifact(
                |entry| wanted.contains(&entry),
                |_, entry, at, len, a| {
                    artifacts.push(ArtifactRef {
                        path: a.path.into_boxed_str(),
                        at,
                        len,
                        node_at: entry,
                    });
                },
            )?;
        }
        Ok(Outcome {
            interrupted,
            counts: self.counts,
            artifacts,
            errors,
        })
    }

    /// Expands the plan, keeping for each node rendered then the stream slots it will take.
    fn expand_plan(&mut self) -> Vec<super::plan::Expansion> {
        let (registry, streams) = (&self.registry, &self.streams);
        self.plan.expand_with(&mut |spec, params, vars| {
            let load = registry.get(&spec.kind)?.stream(params, vars)?;
            Some(streams.key(&load))
        })
    }

    /// Expands what can be expanded and gives each new node its journal standing.
    fn expand(&mut self) -> Result<(), EngineError> {
        let expansions = self.expand_plan();
        self.admit_all(expansions, true)
    }

    /// Admits the nodes of new expansions; `announce` sends an `Expanded` event for each (every
    /// expansion after the initial plan, so Planned + Expanded counts add up to every node).
    fn admit_all(&mut self, expansions: Vec<Expansion>, announce: bool) -> Result<(), EngineError> {
        // Room for every node the plan has now, once: grown expansion by expansion, these moved
        // as often as many tasks fan out over one list.
        let n = self.plan.len();
        self.claims
            .reserve_exact(n.saturating_sub(self.claims.len()));
        self.attempts
            .reserve_exact(n.saturating_sub(self.attempts.len()));
        self.queued
            .reserve_exact(n.saturating_sub(self.queued.len()));
        for exp in expansions {
            if announce {
                self.reporter.event(&Event::Expanded {
                    task: self.plan.spec(exp.task).name.clone(),
                    nodes: exp.nodes.len(),
                });
            }
            let n = self.plan.len();
            self.claims.resize_with(n, || None);
            self.attempts.resize(n, 0);
            self.queued.resize(n, false);
            for idx in exp.nodes {
                self.admit(idx)?;
            }
        }
        Ok(())
    }

    /// A new node: reuse it if the journal has it done and its artifacts verify, otherwise hold
    /// its claim and queue it (or skip it if something it needs already failed).
    fn admit(&mut self, idx: NodeIndex) -> Result<(), EngineError> {
        let id = self.plan.node(idx).id.clone();
        match self.journal.status(id.clone())? {
            Status::Done(done) => {
                let bad = done
                    .record
                    .artifacts
                    .iter()
                    .find_map(|a| self.store.verify(a).err());
                match bad {
                    None => {
                        let bytes = done.record.artifacts.iter().map(|a| a.bytes).sum();
                        self.attempts[idx.index()] = done.record.attempts;
                        self.plan.set_items(idx, done.record.items)?;
                        self.counts.reused += 1;
                        self.reporter.event(&Event::Reused {
                            node: id.to_string(),
                            bytes,
                        });
                        return self.settle(idx, NodeStatus::Done);
                    }
                    Some(e) => {
                        for a in &done.record.artifacts {
                            self.store.remove(a);
                        }
                        self.reporter.event(&Event::Invalidated {
                            node: id.to_string(),
                            reason: e.to_string(),
                        });
                        self.claims[idx.index()] = Some(done.redo()?);
                    }
                }
            }
            Status::Pending(claim) => self.claims[idx.index()] = Some(claim),
        }
        match self.plan.node(idx).status {
            NodeStatus::Ready => self.enqueue(idx),
            NodeStatus::Skipped => {
                let reason = self
                    .plan
                    .node(idx)
                    .reason
                    .as_deref()
                    .unwrap_or_default()
                    .to_string();
                self.record_skip(idx, reason)?;
                let settled = self.plan.settle(idx, NodeStatus::Skipped);
                self.follow(settled)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The node's concurrency class, as an index into `classes`.
    fn class_of(&mut self, idx: NodeIndex) -> usize {
        let task = self.plan.node(idx).task;
        if task >= self.task_class.len() {
            self.task_class.resize(task + 1, None);
        }
        if let Some(c) = self.task_class[task] {
            return c;
        }
        let kind = &self.plan.spec(task).kind;
        let name = self.registry.get(kind).map_or("default", |k| k.class());
        let c = match self.classes.iter().position(|q| q.name == name) {
            Some(c) => c,
            None => {
                self.classes.push(ClassQueue {
                    name,
                    limit: self.limits.of(name),
                    running: 0,
                    ready: VecDeque::new(),
                });
                self.classes.len() - 1
            }
        };
        self.task_class[task] = Some(c);
        c
    }

    fn enqueue(&mut self, idx: NodeIndex) {
        if std::mem::replace(&mut self.queued[idx.index()], true) {
            return;
        }
        let c = self.class_of(idx);
        self.classes[c].ready.push_back(idx);
    }

    /// Starts ready nodes, round robin over classes, while the limits allow.
    fn start_ready(&mut self) -> Result<(), EngineError> {
        loop {
            let mut started = false;
            for c in 0..self.classes.len() {
                if self.running >= self.limits.global.max(1) {
                    return Ok(());
                }
                let class = &mut self.classes[c];
                if class.running >= class.limit {
                    continue;
                }
                let Some(idx) = class.ready.pop_front() else {
                    continue;
                };
                self.queued[idx.index()] = false;
                // Popping counts as progress even when the entry is stale, so a stale entry never
                // ends the loop while live ones wait behind it.
                started = true;
                if self.plan.node(idx).status != NodeStatus::Ready {
                    // Skipped, or reused from the journal, while it waited in the queue.
                    continue;
                }
                self.start(idx, c)?;
            }
            if !started {
                return Ok(());
            }
        }
    }

    /// Starts a ready node, unless the stream it opens waits for its node or pod (it is then
    /// parked in `streams` until an attempt there ends).
    fn start(&mut self, idx: NodeIndex, class: usize) -> Result<(), EngineError> {
        let node = self.plan.node(idx);
        if let Some(e) = node.render_error() {
            return self.fail(idx, e.to_string());
        }
        // A node whose stream the expansion learned waits for a full node or pod before it is
        // rendered: at 1,000 pods most stream nodes wait once, and rendering each twice (an
        // item parsed, parameters built, both dropped) was about 4% of the collector's CPU.
        let keyed = self.plan.stream_key(idx);
        if let Some(key) = keyed {
            if !self.streams.try_take_key(idx, key) {
                return Ok(());
            }
        }
        // Built for this attempt and dropped with it: nodes do not keep their item (see
        // `Plan::context`).
        let ctx = self.plan.context(idx).map_err(|e| e.to_string());
        let spec = self.plan.spec(self.plan.node(idx).task);
        let kind = self.registry.get(&spec.kind).cloned().ok_or_else(|| {
            format!(
                "unknown task kind {}: this kudo-diag knows {}",
                spec.kind,
                self.registry.names().collect::<Vec<_>>().join(", ")
            )
        });
        let (ctx, kind) = match (ctx, kind) {
            (Ok(ctx), Ok(kind)) => (ctx, kind),
            (Err(e), _) | (_, Err(e)) => {
                // The slots taken for it go to the next node waiting for them.
                for n in self.streams.release(idx) {
                    self.wake(n);
                }
                return self.fail(idx, e);
            }
        };
        if keyed.is_none() {
            if let Some(load) = kind.stream(&ctx.params, &ctx.vars) {
                if !self.streams.try_take(idx, &load) {
                    return Ok(());
                }
            }
        }
        self.launch(idx, class, kind, ctx);
        Ok(())
    }

    fn launch(&mut self, idx: NodeIndex, class: usize, kind: Arc<dyn TaskKind>, c: NodeContext) {
        let timeout = self.timeout_of(idx);
        let task = self.plan.spec(self.plan.node(idx).task).name.clone();
        self.attempts[idx.index()] += 1;
        let attempt = self.attempts[idx.index()];
        let node = self.plan.node(idx);
        let sink = self
            .store
            .node_sink_under(&node.id, self.plan.prefix(node.task));
        let node = self.plan.node_mut(idx);
        let ctx = TaskContext {
            node: node.id.to_string(),
            task,
            params: c.params,
            vars: c.vars,
            output: c.output,
            sink,
            attempt,
            env: self.env.clone(),
            cancel: self.cancel.child_token(),
        };
        self.reporter.event(&Event::Started {
            node: node.id.to_string(),
            attempt,
        });
        self.plan.start(idx);
        self.running += 1;
        self.classes[class].running += 1;
        let inline = kind.inline();
        let gate = self.streams.clone();
        let attempt_fut = gate.scope(async move {
            let start = Instant::now();
            let result = match tokio::time::timeout(timeout, kind.run(&ctx)).await {
                Ok(r) => r,
                Err(_) => {
                    ctx.cancel.cancel();
                    Err(TaskError::timeout(format!(
                        "timed out after {}",
                        humantime::format_duration(timeout)
                    )))
                }
            };
            Msg::Attempt {
                idx,
                attempt,
                result,
                sink: ctx.sink,
                elapsed: start.elapsed(),
            }
        });
        if inline {
            self.inline.push(attempt_fut.boxed());
        } else {
            self.jobs.spawn(attempt_fut);
        }
    }

    /// How long an attempt of the node may run: its task's `timeout`, else the run's.
    fn timeout_of(&self, idx: NodeIndex) -> Duration {
        let spec = self.plan.spec(self.plan.node(idx).task);
        spec.timeout.unwrap_or(self.retry.timeout)
    }

    /// Puts a node woken by `streams` back at the head of its class's queue.
    fn wake(&mut self, idx: NodeIndex) {
        if std::mem::replace(&mut self.queued[idx.index()], true) {
            return;
        }
        let c = self.class_of(idx);
        self.classes[c].ready.push_front(idx);
    }

    fn handle(&mut self, joined: Result<Msg, tokio::task::JoinError>) -> Result<(), EngineError> {
        let msg = joined.map_err(|e| {
            EngineError::Internal(format!("a task panicked ({e}); this is a bug in its kind"))
        })?;
        match msg {
            Msg::RetryDue { idx } => {
                self.plan.node_mut(idx).status = NodeStatus::Ready;
                self.enqueue(idx);
            }
            // Who waited for the pod is in the gate's woken list, taken after this.
            Msg::PodFreed => self.holds -= 1,
            Msg::Attempt {
                idx,
                attempt,
                result,
                sink,
                elapsed,
            } => {
                self.running -= 1;
                let class = self.class_of(idx);
                self.classes[class].running -= 1;
                let woken = match &result {
                    // The command may still run in its pod: its pod's slot stays taken for as
                    // long again as the attempt was given (engine::streams says why).
                    Err(e) if e.kind == ErrorKind::Timeout => {
                        let (kept, woken) = self.streams.release_timed_out(idx);
                        if let Some(permit) = kept {
                            let hold = self.timeout_of(idx);
                            self.holds += 1;
                            self.jobs.spawn(async move {
                                tokio::time::sleep(hold).await;
                                drop(permit);
                                Msg::PodFreed
                            });
                        }
                        woken
                    }
                    _ => self.streams.release(idx),
                };
                for n in woken {
                    self.wake(n);
                }
                match result {
                    Ok(out) => {
                        let records = sink.records();
                        let bytes: u64 = records.iter().map(|r| r.bytes).sum();
                        self.counts.done += 1;
                        self.counts.bytes += bytes;
                        self.counts.not_running.note(&out.items);
                        let spec = self.plan.spec(self.plan.node(idx).task);
                        let record = NodeRecord {
                            task: spec.name.clone(),
                            state: NodeState::Done,
                            attempts: attempt,
                            error: None,
                            error_kind: None,
                            artifacts: records,
                            items: Items::new(),
                            optional: spec.optional,
                        };
                        if out.items.is_empty() {
                            self.commit(idx, &record)?;
                        } else if !self.plan.keeps_items(idx) {
                            // Nothing fans out over them: only the journal keeps them, written
                            // into the record from where they are (memory or their file).
                            let items = out.items;
                            self.take_claim(idx)?.commit_with_items(
                                &record,
                                items.json_len(),
                                |b| items.write_json(b),
                            )?;
                        } else {
                            // A fan-out source's items (a list of 20,000 Pods is 66 MB of
                            // compact text) go to the plan first, which writes them to its
                            // item file and lets them go, then into the record from there:
                            // never held twice.
                            self.plan.set_items(idx, out.items)?;
                            let claim = self.take_claim(idx)?;
                            let plan = &self.plan;
                            claim.commit_with_items(&record, plan.items_json_len(idx), |b| {
                                plan.write_items_json(idx, b)
                            })?;
                        }
                        self.reporter.event(&Event::Finished {
                            node: self.plan.node(idx).id.to_string(),
                            state: NodeState::Done,
                            attempts: attempt,
                            bytes,
                            elapsed,
                            error: None,
                        });
                        self.settle(idx, NodeStatus::Done)?;
                    }
                    Err(mut err) => {
                        // What a failed attempt wrote goes, unless its error says it stands
                        // (a refusal whose fallback answered: that answer is the data).
                        let kept = if err.kind.keeps_artifacts() {
                            sink.records()
                        } else {
                            sink.discard();
                            Vec::new()
                        };
                        // A command's stderr or a server's message can hold a secret: redacted
                        // once here, before the journal, the events and errors.json see it.
                        err.message = self.redact_message(err.message);
                        let spec = self.plan.spec(self.plan.node(idx).task);
                        let max = 1 + spec.retries.unwrap_or(self.retry.retries);
                        if err.is_transient() && attempt < max && !self.cancel.is_cancelled() {
                            let delay = self.retry.delay(attempt, err.retry_after());
                            self.reporter.event(&Event::Retrying {
                                node: self.plan.node(idx).id.to_string(),
                                attempt,
                                delay,
                                error: err.message.clone(),
                            });
                            self.jobs.spawn(async move {
                                tokio::time::sleep(delay).await;
                                Msg::RetryDue { idx }
                            });
                        } else {
                            let message = if attempt > 1 {
                                format!("{} (after {attempt} attempts)", err.message)
                            } else {
                                err.message
                            };
                            self.plan.node_mut(idx).reason = Some(message.as_str().into());
                            self.reporter.event(&Event::Finished {
                                node: self.plan.node(idx).id.to_string(),
                                state: NodeState::Failed,
                                attempts: attempt,
                                bytes: 0,
                                elapsed,
                                error: Some(message.clone()),
                            });
                            self.record_failure(idx, TaskError::new(err.kind, message), kept)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A failure or skip message as every output may show it: through the store's redactor.
    fn redact_message(&self, message: String) -> String {
        match self.store.redactor() {
            Some(r) => r.redact_str(&message, &mut Default::default()),
            None => message,
        }
    }

    /// Fails a node that could not even start: its parameters or kind are wrong.
    fn fail(&mut self, idx: NodeIndex, message: String) -> Result<(), EngineError> {
        let message = self.redact_message(message);
        self.plan.node_mut(idx).reason = Some(message.as_str().into());
        self.reporter.event(&Event::Finished {
            node: self.plan.node(idx).id.to_string(),
            state: NodeState::Failed,
            attempts: self.attempts[idx.index()],
            bytes: 0,
            elapsed: Duration::ZERO,
            error: Some(message.clone()),
        });
        self.record_failure(idx, TaskError::invalid(message), Vec::new())
    }

    /// Journals a failure; `artifacts` are what the attempt wrote that stands nonetheless
    /// ([`crate::failure::ErrorKind::keeps_artifacts`]), usually none.
    fn record_failure(
        &mut self,
        idx: NodeIndex,
        error: TaskError,
        artifacts: Vec<ArtifactRecord>,
    ) -> Result<(), EngineError> {
        let spec = self.plan.spec(self.plan.node(idx).task);
        self.failures.insert(idx.index(), error.kind.clone());
        let record = NodeRecord {
            task: spec.name.clone(),
            state: NodeState::Failed,
            attempts: self.attempts[idx.index()],
            error: Some(error.message),
            error_kind: Some(error.kind),
            artifacts,
            items: Items::default(),
            optional: spec.optional,
        };
        self.counts.failed += 1;
        if !spec.optional {
            self.counts.required_problems += 1;
        }
        self.commit(idx, &record)?;
        self.settle(idx, NodeStatus::Failed)
    }

    fn record_skip(&mut self, idx: NodeIndex, reason: String) -> Result<(), EngineError> {
        let reason = self.redact_message(reason);
        let spec = self.plan.spec(self.plan.node(idx).task);
        let record = NodeRecord {
            task: spec.name.clone(),
            state: NodeState::Skipped,
            attempts: 0,
            error: Some(reason.clone()),
            error_kind: None,
            artifacts: vec![],
            items: Items::default(),
            optional: spec.optional,
        };
        self.counts.skipped += 1;
        if !spec.optional {
            self.counts.required_problems += 1;
        }
        self.plan.node_mut(idx).reason = Some(reason.as_str().into());
        self.reporter.event(&Event::Skipped {
            node: self.plan.node(idx).id.to_string(),
            reason,
        });
        self.commit(idx, &record)
    }

    fn commit(&mut self, idx: NodeIndex, record: &NodeRecord) -> Result<(), EngineError> {
        self.take_claim(idx)?.commit(record)
    }

    fn take_claim(&mut self, idx: NodeIndex) -> Result<Claim, EngineError> {
        self.claims[idx.index()].take().ok_or_else(|| {
            EngineError::Internal(format!(
                "node {} finished twice; this is a bug in kudo-diag",
                self.plan.node(idx).id
            ))
        })
    }

    /// Records a final state in the plan and follows the consequences: ready dependents are
    /// queued, dependents of a failure are skipped, fan-out tasks whose source finished expand.
    fn settle(&mut self, idx: NodeIndex, status: NodeStatus) -> Result<(), EngineError> {
        let settled = self.plan.settle(idx, status);
        self.follow(settled)
    }

    fn follow(&mut self, settled: Settled) -> Result<(), EngineError> {
        let mut work = vec![settled];
        while let Some(s) = work.pop() {
            match s {
                Settled::Ready(nodes) => {
                    for n in nodes {
                        self.enqueue(n);
                    }
                }
                Settled::Skip { nodes, reason } => {
                    for n in nodes {
                        self.record_skip(n, reason.clone())?;
                        work.push(self.plan.settle(n, NodeStatus::Skipped));
                    }
                }
            }
        }
        self.expand()
    }
}
