//! The plan: a pipeline expanded into a petgraph DAG of nodes, and the bookkeeping of which node
//! may run when.
//!
//! A task without `forEach` is one node, named after the task, created at once (as soon as the
//! tasks it needs have their nodes). A task with `forEach` is expanded when its source task has
//! finished: one node per item the source produced (`TaskOutput.items`), or, with `then`, one per
//! element of the array(s) at `then.path` inside each item. Node ids are stable, `task[key]`,
//! with the key taken from the item (`namespace/name` of a Kubernetes object, `name`, else the
//! index), so that a resumed run, which expands from the journaled items, gets the same ids.
//!
//! One fan-out expands into at most [`MAX_FAN_OUT`] nodes (`Limits::max_fan_out`, `run
//! --max-fan-out`): a source that returns more (a hostile or runaway API server, a selector that
//! matches a whole cluster) costs that fan-out only. Its task gets one node, named after the
//! task, that fails with the reason and the fix when it starts; its dependents are skipped and
//! the rest of the run goes on.
//!
//! A node depends on every node of every task it needs (`needs` plus the `forEach` source). The
//! plan is pure bookkeeping, no I/O: the scheduler tells it what finished with [`Plan::settle`]
//! and asks for newly expanded tasks with [`Plan::expand`].

use std::collections::HashMap;
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use serde_json::{Map, Value};

use crate::pipeline::template::{lookup, render, render_value, TemplateError};
use crate::pipeline::{Pipeline, TaskSpec};

use super::scope::Scope;
use super::task::Items;
use super::EngineError;

/// The most nodes one `forEach` task expands into by default: the engine is measured at 100,000
/// nodes in a run (docs/PERFORMANCE.md), a few hundred bytes each, and an instance's pods times
/// containers stays far below it.
pub const MAX_FAN_OUT: usize = 100_000;

/// Where a node stands in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    /// Some node it needs has not finished yet.
    Waiting,
    /// Everything it needs is done; queued to run.
    Ready,
    Running,
    Done,
    Failed,
    Skipped,
}

impl NodeStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            NodeStatus::Done | NodeStatus::Failed | NodeStatus::Skipped
        )
    }
}

/// One node of the DAG: one task, with its templates rendered for one fan-out binding.
///
/// Every node of a run stays in memory until the run ends (14 to 19 per pod of a collection),
/// so a node keeps only what cannot be built again: its id (shared with the journal's index
/// and the scheduler's claim), its task, its binding and its run state. Its vars, parameters
/// and output path are built by [`Plan::context`] when an attempt starts; the items of a
/// fan-out source are kept by the plan beside the graph, not in a field every node has.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable id: `task` or `task[key]`.
    pub id: Arc<str>,
    /// Index of its task in the pipeline.
    pub task: usize,
    /// Where its fan-out values come from. Its vars (the run's globals plus the bindings) and
    /// rendered parameters are built by [`Plan::context`] when it starts, not kept here: with
    /// every node holding its own copy of its item twice (in `vars` and in `params`), the nodes
    /// of a 200-pod fan-out held about 70 MiB before any of them ran (docs/PERFORMANCE.md,
    /// Collection).
    binding: Binding,
    pub status: NodeStatus,
    /// Nodes it needs that are not done yet.
    pending: u32,
    /// Whether `reason` says why its templates could not be rendered: it fails without
    /// running.
    render_failed: bool,
    /// Why it failed or was skipped (or will fail, with `render_failed`).
    pub reason: Option<Box<str>>,
}

impl Node {
    /// Why the templates could not be rendered: the node fails without running.
    pub fn render_error(&self) -> Option<&str> {
        self.reason.as_deref().filter(|_| self.render_failed)
    }
}

#[derive(Debug)]
struct TaskState {
    spec: TaskSpec,
    /// Tasks whose nodes this task's nodes depend on (`needs` + `forEach.task`).
    deps: Vec<usize>,
    /// Its nodes, once expanded.
    nodes: Option<Vec<NodeIndex>>,
    /// How many of its nodes reached a final state.
    terminal: usize,
    /// Whether its params hold a `{{` template; if not, each node gets a copy, which costs
    /// less than rendering (100,000 renders of `{ms: 0}` showed in profiles).
    templated: bool,
    /// Whose task it is: 0 for the run's own pipeline, else 1 + the index of its dependency
    /// scope (`engine::scope`), which picks its variables and its artifacts' prefix.
    scope: usize,
    /// Whether a task fans out over its nodes' items: only then does the plan keep them.
    fanned_over: bool,
}

/// What the expansion learned of a node it rendered: why its templates do not render, else
/// which stream slots it takes (see [`Plan::stream_key`]).
type Rendered = (Option<Box<str>>, Option<u32>);

/// Answers, for a task and one node's rendered parameters and vars, which stream slots the node
/// will take: a key of the scheduler's `StreamSlots`, or `None` when it opens no stream.
pub type StreamKeyOf<'a> = dyn FnMut(&TaskSpec, &Value, &Value) -> Option<u32> + 'a;

/// A node's `stream_keys` entry when the expansion did not learn its stream.
const NO_STREAM_KEY: u32 = u32::MAX;

/// A task that just got its nodes.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub task: usize,
    pub fan_out: bool,
    pub nodes: Vec<NodeIndex>,
}

/// Which item (and nested element) a fan-out node is bound to: an index into its source node's
/// items, which hold each item once however many tasks fan out over it. 16 bytes: every node
/// has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    /// Not a fan-out node: the globals only.
    Globals,
    Item {
        /// The source node whose items hold it.
        source: NodeIndex,
        /// Its index in that node's items, plus one (never zero: `Globals` takes that value,
        /// and the binding needs no room of its own for which it is).
        item: std::num::NonZeroU32,
        /// With `forEach.then`: which of the `+`-separated paths ([`Binding::NO_PATH`]
        /// without), and the element's index there.
        path: u16,
        elem: u32,
    },
}

/// With `forEach.then`: which of the `+`-separated paths, and the element's index there.
type Nested = (u16, u32);

impl Binding {
    const NO_PATH: u16 = u16::MAX;

    fn item(source: NodeIndex, item: usize, nested: Option<Nested>) -> Binding {
        let (path, elem) = nested.unwrap_or((Binding::NO_PATH, 0));
        Binding::Item {
            source,
            item: u32::try_from(item + 1)
                .ok()
                .and_then(std::num::NonZeroU32::new)
                .expect("fewer items than u32::MAX (the most a fan-out may have is far less)"),
            path,
            elem,
        }
    }

    /// The source node, the item's index and the nested element, for a fan-out node.
    fn parts(self) -> Option<(NodeIndex, usize, Option<Nested>)> {
        match self {
            Binding::Globals => None,
            Binding::Item {
                source,
                item,
                path,
                elem,
            } => Some((
                source,
                item.get() as usize - 1,
                (path != Binding::NO_PATH).then_some((path, elem)),
            )),
        }
    }
}

/// What an attempt of a node needs from the plan, built when it starts and dropped with it.
#[derive(Debug)]
pub struct NodeContext {
    /// The task's parameters, rendered for the node.
    pub params: Value,
    /// The run's globals plus the node's fan-out bindings.
    pub vars: Value,
    /// Its output path, rendered.
    pub output: Option<String>,
}

/// The expanded DAG and its run state.
#[derive(Debug)]
pub struct Plan {
    pub graph: DiGraph<Node, ()>,
    tasks: Vec<TaskState>,
    /// Every node by its id (the same allocation as the node's).
    ids: HashMap<Arc<str>, NodeIndex>,
    /// The items each finished fan-out source produced (the few nodes that have any), each
    /// kept as compact JSON text: a Pod is about 1.7 KB as text and about 14 KiB as a
    /// `serde_json::Value`, and the items of every list a pipeline fans out over stay until the
    /// run ends. They are parsed again, one at a time, when the fan-out expands and when a node
    /// bound to one starts.
    items: HashMap<NodeIndex, Kept>,
    /// Where items go once a run gave the plan a file (`keep_items_in`).
    item_file: Option<ItemFile>,
    /// The variables of each scope (the run's own first).
    globals: Vec<Map<String, Value>>,
    /// The artifact prefix of each scope (empty for the run's own).
    prefixes: Vec<String>,
    /// Tasks not expanded yet, in pipeline order.
    unexpanded: Vec<usize>,
    /// The most nodes one fan-out task may have.
    max_fan_out: usize,
    /// Which stream slots each node takes, by node index, when its expansion rendered it
    /// (`NO_STREAM_KEY` otherwise): 4 bytes a node, for the scheduler to park a node whose
    /// node or pod is full without rendering it first.
    stream_keys: Vec<u32>,
}

impl Plan {
    /// Builds the task graph and checks it (defensively: the pipeline loader validates too).
    /// `globals` must be a JSON object (instance, namespace, ...). No node exists until `expand`.
    pub fn new(pipeline: &Pipeline, globals: &Value) -> Result<Plan, EngineError> {
        Plan::with_scopes(pipeline, globals, &[])
    }

    /// The run's pipeline and its dependencies' (`engine::scope`) in one DAG: each scope's
    /// tasks are named under its prefix and see its own variables.
    pub fn with_scopes(
        pipeline: &Pipeline,
        globals: &Value,
        scopes: &[Scope],
    ) -> Result<Plan, EngineError> {
        let mut all_globals = vec![globals_map(globals)?];
        let mut prefixes = vec![String::new()];
        let mut specs: Vec<(TaskSpec, usize)> =
            pipeline.tasks.iter().map(|t| (t.clone(), 0)).collect();
        for (i, scope) in scopes.iter().enumerate() {
            all_globals.push(globals_map(&scope.globals)?);
            prefixes.push(scope.prefix.clone());
            specs.extend(scope.tasks().map(|t| (t, i + 1)));
        }
        let tasks = task_states(&pipeline.name, &specs)?;
        Ok(Plan {
            graph: DiGraph::new(),
            unexpanded: (0..tasks.len()).collect(),
            tasks,
            ids: HashMap::new(),
            items: HashMap::new(),
            item_file: None,
            globals: all_globals,
            prefixes,
            max_fan_out: MAX_FAN_OUT,
            stream_keys: Vec::new(),
        })
    }

    /// Bounds every fan-out task to `max` nodes (at least 1).
    pub fn set_max_fan_out(&mut self, max: usize) {
        self.max_fan_out = max.max(1);
    }

    pub fn node(&self, i: NodeIndex) -> &Node {
        &self.graph[i]
    }

    /// Which stream slots the node takes when it runs, as [`Plan::expand_with`] was told when
    /// it rendered the node; `None` when it opens no stream or was not rendered then.
    pub fn stream_key(&self, i: NodeIndex) -> Option<u32> {
        self.stream_keys
            .get(i.index())
            .copied()
            .filter(|&k| k != NO_STREAM_KEY)
    }

    pub fn node_mut(&mut self, i: NodeIndex) -> &mut Node {
        &mut self.graph[i]
    }

    /// Drops every node, their ids and the items of every fan-out source, at the end of a run
    /// once what its outcome needs of them is taken: the bundle's artifact list, read from the
    /// journal next, should not be held beside them (70 MB at 20,000 pods). The plan has no
    /// node after this.
    pub fn release(&mut self) {
        self.stream_keys = Vec::new();
        self.items = HashMap::new();
        self.ids = HashMap::new();
        self.graph = DiGraph::default();
        for t in &mut self.tasks {
            t.nodes = None;
        }
    }

    /// Keeps fan-out sources' items in `file` from now on (an unlinked file in the
    /// collection's working folder), not in memory: they stay until the run ends, about 3.3 KB
    /// a Pod, 66 MB at 20,000 Pods, and a node reads only its own item when it starts.
    /// `dir` is the folder the file was made in, for messages.
    pub fn keep_items_in(&mut self, file: std::fs::File, dir: std::path::PathBuf) {
        self.item_file = Some(ItemFile { file, end: 0, dir });
    }

    /// Whether the plan keeps node `i`'s items: some task fans out over its task's.
    pub fn keeps_items(&self, i: NodeIndex) -> bool {
        self.tasks[self.graph[i].task].fanned_over
    }

    /// Records the items a node produced, for the fan-outs over its task: moved as they are
    /// (already text), or written to the item file and dropped. The items of a task nothing
    /// fans out over are not kept (most nodes return an item: an exit code, a byte count;
    /// kept, each was a write to the item file and an entry here, 380,000 at 20,000 pods).
    pub fn set_items(&mut self, i: NodeIndex, mut items: Items) -> Result<(), EngineError> {
        if items.is_empty() || !self.keeps_items(i) {
            self.items.remove(&i);
            return Ok(());
        }
        let kept = if items.on_file() {
            // Spilled while the task ran: that file is kept as it is, not copied.
            let (file, ends) = items.into_file().map_err(|e| EngineError::Io {
                path: e.dir,
                source: e.source,
            })?;
            Kept::File {
                own: Some(file),
                start: 0,
                ends,
            }
        } else {
            match &mut self.item_file {
                Some(f) => f.keep(&items).map_err(|source| EngineError::Io {
                    path: f.dir.clone(),
                    source,
                })?,
                None => {
                    items.shrink_to_fit();
                    Kept::Memory(items)
                }
            }
        };
        self.items.insert(i, kept);
        Ok(())
    }

    /// Bytes of the JSON array [`Plan::write_items_json`] writes for node `i`: its items'
    /// text, the commas between them and the brackets (sized exactly, the array is not grown
    /// and copied at the end of a 66 MB list).
    pub fn items_json_len(&self, i: NodeIndex) -> usize {
        match self.items.get(&i) {
            None => 2,
            Some(Kept::Memory(items)) => items.json_len(),
            Some(Kept::File { ends, .. }) => {
                ends.last().copied().unwrap_or(0) + ends.len().saturating_sub(1) + 2
            }
        }
    }

    /// Writes node `i`'s items to `out` as a JSON array (into its journal record), read back
    /// from the item file one item at a time: `out` is the journal's stream, so the array is
    /// never in memory whole. A failed read of the item file says which file and what to do.
    pub fn write_items_json(
        &self,
        i: NodeIndex,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        match (self.items.get(&i), &self.item_file) {
            (None, _) => out.write_all(b"[]"),
            (Some(Kept::Memory(items)), _) => items.write_json(out),
            (Some(Kept::File { own, start, ends }), f) => {
                out.write_all(b"[")?;
                let f = ItemSource::of(own, f);
                let mut from = 0;
                let mut buf = Vec::new();
                for (n, &end) in ends.iter().enumerate() {
                    if n > 0 {
                        buf.push(b',');
                    }
                    let at = buf.len();
                    buf.resize(at + (end - from), 0);
                    f.read_raw(start + from as u64, &mut buf[at..])
                        .map_err(|e| {
                            let why =
                                f.unreadable(&format!("the items of {}", self.graph[i].id), &e);
                            std::io::Error::new(e.kind(), why)
                        })?;
                    from = end;
                    // Written out about every 64 KiB, not once per item.
                    if buf.len() >= 1 << 16 {
                        out.write_all(&buf)?;
                        buf.clear();
                    }
                }
                out.write_all(&buf)?;
                out.write_all(b"]")
            }
        }
    }

    /// How many items node `i` produced.
    fn item_count(&self, i: NodeIndex) -> usize {
        match self.items.get(&i) {
            None => 0,
            Some(Kept::Memory(items)) => items.len(),
            Some(Kept::File { ends, .. }) => ends.len(),
        }
    }

    /// Item `n` of node `i`, parsed; `Err` says why it could not be read back.
    fn item(&self, i: NodeIndex, n: usize) -> Result<Value, String> {
        match (self.items.get(&i), &self.item_file) {
            (Some(Kept::Memory(items)), _) => Ok(items.value(n)),
            (Some(Kept::File { own, start, ends }), f) => {
                let f = ItemSource::of(own, f);
                let from = if n == 0 { 0 } else { ends[n - 1] };
                f.read(start + from as u64, ends[n] - from)
                    .map_err(|e| f.unreadable(&format!("item {n} of {}", self.graph[i].id), &e))
            }
            _ => Err(format!("{} has no item {n}", self.graph[i].id)),
        }
    }

    pub fn spec(&self, task: usize) -> &TaskSpec {
        &self.tasks[task].spec
    }

    /// Where a task's artifacts go in the bundle: empty for the run's own tasks, its scope's
    /// `dependencies/NAMESPACE/INSTANCE/` for a dependency's.
    pub fn prefix(&self, task: usize) -> &str {
        &self.prefixes[self.tasks[task].scope]
    }

    /// Number of nodes created so far.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// True when every task has its nodes and every node is final.
    pub fn finished(&self) -> bool {
        self.unexpanded.is_empty()
            && self
                .tasks
                .iter()
                .all(|t| t.nodes.as_ref().is_some_and(|n| n.len() == t.terminal))
    }

    /// Creates the nodes of every task that can be expanded now: all tasks it needs have nodes,
    /// and, for a fan-out task, its source has finished. Loops until nothing more expands.
    /// New nodes are `Waiting`, `Ready` (nothing pending) or `Skipped` (something they need
    /// failed; `reason` says what).
    pub fn expand(&mut self) -> Vec<Expansion> {
        self.expand_with(&mut |_, _, _| None)
    }

    /// [`Plan::expand`], asking `stream_key` which stream slots each node rendered at
    /// expansion will take (its task, its rendered parameters, its vars); the answer is kept as
    /// the node's [`Plan::stream_key`].
    pub fn expand_with(&mut self, stream_key: &mut StreamKeyOf<'_>) -> Vec<Expansion> {
        let mut out = Vec::new();
        self.reserve_for_expandable();
        loop {
            let mut progressed = false;
            let mut k = 0;
            while k < self.unexpanded.len() {
                let t = self.unexpanded[k];
                if self.expandable(t) {
                    self.unexpanded.remove(k);
                    let nodes = self.create_nodes(t, stream_key);
                    out.push(Expansion {
                        task: t,
                        fan_out: self.tasks[t].spec.for_each.is_some(),
                        nodes,
                    });
                    progressed = true;
                } else {
                    k += 1;
                }
            }
            if !progressed {
                return out;
            }
        }
    }

    /// Makes room, once, for the nodes (and their edges and ids) of every task that can expand
    /// now. All tasks fanning out over one list expand together (19 over the pods of a
    /// Cassandra instance, 380,000 nodes at 20,000 pods): grown task by task, the graph's
    /// vectors were moved as often, and each old copy stayed resident until the allocator gave
    /// it back. A fan-out with nested elements is counted from its first item's; the task's own
    /// reservation covers the rest.
    fn reserve_for_expandable(&mut self) {
        let (mut nodes, mut edges) = (0, 0);
        for &t in &self.unexpanded {
            if !self.expandable(t) {
                continue;
            }
            let n = self.planned_nodes(t);
            nodes += n;
            edges += n * self.tasks[t]
                .deps
                .iter()
                .map(|&d| self.tasks[d].nodes.as_ref().map_or(0, Vec::len))
                .sum::<usize>();
        }
        let nodes = nodes.min(self.max_fan_out.saturating_mul(self.unexpanded.len()));
        self.graph.reserve_exact_nodes(nodes);
        self.graph
            .reserve_exact_edges(edges.min(nodes.saturating_mul(4)));
        self.ids.reserve(nodes);
        // Sized once, like the graph: grown by doubling it could hold twice what it needs.
        let want = self.graph.node_count() + nodes;
        self.stream_keys
            .reserve_exact(want.saturating_sub(self.stream_keys.len()));
    }

    /// About how many nodes task `t` gets when it expands now.
    fn planned_nodes(&self, t: usize) -> usize {
        let Some(fe) = &self.tasks[t].spec.for_each else {
            return 1;
        };
        let src = self.task_index(&fe.task);
        let sources = self.tasks[src].nodes.as_deref().unwrap_or(&[]);
        let items: usize = sources.iter().map(|&s| self.item_count(s)).sum();
        let Some(nested) = &fe.then else {
            return items.max(1);
        };
        let per_item = sources
            .iter()
            .find(|&&s| self.item_count(s) > 0)
            .and_then(|&s| self.item(s, 0).ok())
            .map_or(1, |item| {
                nested
                    .path
                    .split('+')
                    .map(|p| {
                        lookup(&item, p.trim())
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len)
                    })
                    .sum()
            });
        (items * per_item).max(1)
    }

    fn expandable(&self, t: usize) -> bool {
        let st = &self.tasks[t];
        if !st.deps.iter().all(|&d| self.tasks[d].nodes.is_some()) {
            return false;
        }
        match &st.spec.for_each {
            None => true,
            Some(fe) => {
                let src = &self.tasks[self.task_index(&fe.task)];
                src.nodes.as_ref().is_some_and(|n| n.len() == src.terminal)
            }
        }
    }

    fn task_index(&self, name: &str) -> usize {
        self.tasks
            .iter()
            .position(|t| t.spec.name == name)
            .expect("dependencies were checked in Plan::new")
    }

    /// The first node among `deps`' nodes that did not finish well, with why.
    fn blocked_by(&self, t: usize) -> Option<String> {
        for &d in &self.tasks[t].deps {
            for &n in self.tasks[d].nodes.as_deref().unwrap_or(&[]) {
                let node = &self.graph[n];
                match node.status {
                    NodeStatus::Failed => {
                        return Some(format!(
                            "needs {} which failed: {}",
                            node.id,
                            node.reason.as_deref().unwrap_or("unknown error")
                        ))
                    }
                    NodeStatus::Skipped => return node.reason.as_deref().map(str::to_string),
                    _ => {}
                }
            }
        }
        None
    }

    fn create_nodes(&mut self, t: usize, stream_key: &mut StreamKeyOf<'_>) -> Vec<NodeIndex> {
        let spec = self.tasks[t].spec.clone();
        let templated = self.tasks[t].templated;
        let needs_vars = templated || spec.output.as_deref().is_some_and(|o| o.contains("{{"));
        let blocked = self.blocked_by(t);
        // (id, binding, what its render said) for each node of the task. Items are read in
        // place, never collected: the nodes only remember where their item is.
        // Rendered now so that a template error fails the node before it runs; the parameters
        // and the output path are dropped and rendered again by `context`. Without a template
        // there is nothing to render or check, so the item is not even parsed (100,000 no-op
        // nodes). A fan-out renders each node while its item is parsed for its key: each item
        // is parsed once, not once more per node.
        // The same render says which stream slots the node will take, so that a node whose
        // node or pod is full can wait without being rendered again (`Plan::stream_key`).
        let mut check = |vars: &Value| -> Rendered {
            match render_node(&spec, vars, templated) {
                Ok((params, _)) => (None, stream_key(&spec, &params, vars)),
                Err(e) => (Some(e.to_string().into_boxed_str()), None),
            }
        };
        let mut check = needs_vars.then_some(&mut check as &mut dyn FnMut(&Value) -> Rendered);
        let mut whole = |this: &Self| -> Vec<(String, Binding, Rendered)> {
            let rendered = match (check.as_mut(), this.vars_of(t, Binding::Globals)) {
                (None, _) => (None, None),
                (Some(check), Ok(vars)) => check(&vars),
                (Some(_), Err(reason)) => (Some(reason.into_boxed_str()), None),
            };
            vec![(spec.name.clone(), Binding::Globals, rendered)]
        };
        let bindings: Vec<(String, Binding, Rendered)> = match &spec.for_each {
            None => whole(self),
            Some(_) if blocked.is_some() => {
                // The source did not finish well: there are no items to expand. One placeholder
                // node, named after the task, records the skip.
                whole(self)
            }
            Some(fe) => match self.fan_out_bindings(t, fe, check) {
                Ok(b) => b,
                // A fan-out over more items than allowed: one node that fails with this reason.
                Err(reason) => vec![(
                    spec.name.clone(),
                    Binding::Globals,
                    (Some(reason.into_boxed_str()), None),
                )],
            },
        };

        let dep_nodes: Vec<NodeIndex> = self.tasks[t]
            .deps
            .iter()
            .flat_map(|&d| self.tasks[d].nodes.clone().unwrap_or_default())
            .collect();
        let pending = dep_nodes
            .iter()
            .filter(|&&n| self.graph[n].status != NodeStatus::Done)
            .count() as u32;
        let mut created = Vec::with_capacity(bindings.len());
        // Every node stays to the end of the run: room for exactly these, not twice as many as
        // the graph had (its vector's growth by doubling).
        self.graph.reserve_exact_nodes(bindings.len());
        self.graph
            .reserve_exact_edges(bindings.len() * dep_nodes.len());
        for (id, binding, (render_error, key)) in bindings {
            let id = self.unique_id(id);
            let status = if blocked.is_some() {
                NodeStatus::Skipped
            } else if pending == 0 {
                NodeStatus::Ready
            } else {
                NodeStatus::Waiting
            };
            // A skipped node never starts: why it was skipped is what it says.
            let (reason, render_failed) = match (&blocked, render_error) {
                (Some(b), _) => (Some(b.as_str().into()), false),
                (None, Some(e)) => (Some(e), true),
                (None, None) => (None, false),
            };
            let idx = self.graph.add_node(Node {
                id: id.clone(),
                task: t,
                binding,
                render_failed,
                status,
                pending,
                reason,
            });
            self.ids.insert(id, idx);
            if let Some(key) = key {
                if self.stream_keys.len() <= idx.index() {
                    self.stream_keys.resize(idx.index() + 1, NO_STREAM_KEY);
                }
                self.stream_keys[idx.index()] = key;
            }
            for &d in &dep_nodes {
                self.graph.add_edge(d, idx, ());
            }
            created.push(idx);
        }
        let ts = &mut self.tasks[t];
        ts.terminal = created
            .iter()
            .filter(|&&n| self.graph[n].status.is_terminal())
            .count();
        ts.nodes = Some(created.clone());
        created
    }

    /// One (id, binding, what its render said) per item of `fe`'s source (per element with
    /// `then`), read in place; `Err` with the reason and the fix as soon as there are more
    /// than `max_fan_out`. With `check`, each node's vars are built while its item is parsed
    /// (the item moved into them, not copied) and `check` renders them.
    fn fan_out_bindings(
        &self,
        t: usize,
        fe: &crate::pipeline::ForEach,
        mut check: Option<&mut dyn FnMut(&Value) -> Rendered>,
    ) -> Result<Vec<(String, Binding, Rendered)>, String> {
        let task = self.tasks[t].spec.name.as_str();
        let globals = &self.globals[self.tasks[t].scope];
        let src = self.task_index(&fe.task);
        let max = self.max_fan_out;
        let too_many = || {
            format!(
                "task {task}: its forEach over {} makes more than {max} nodes, the most one fan-out may have; narrow the source (a labelSelector or fieldSelector on its list) or raise --max-fan-out",
                fe.task
            )
        };
        let mut out = Vec::new();
        let mut i = 0;
        for &source in self.tasks[src].nodes.as_deref().unwrap_or(&[]) {
            for item_idx in 0..self.item_count(source) {
                let item = self.item(source, item_idx)?;
                let key = item_key(&item, i);
                i += 1;
                match &fe.then {
                    None => {
                        let rendered = match check.as_mut() {
                            Some(check) => {
                                let mut vars = globals.clone();
                                vars.insert(fe.bind.clone(), item);
                                check(&Value::Object(vars))
                            }
                            None => (None, None),
                        };
                        out.push((
                            format!("{task}[{key}]"),
                            Binding::item(source, item_idx, None),
                            rendered,
                        ))
                    }
                    Some(nested) => {
                        let mut j = 0;
                        // (path index, its elements); the elements (containers) are copied so
                        // that the item itself can move into the vars.
                        let lists: Vec<Vec<Value>> = nested
                            .path
                            .split('+')
                            .map(str::trim)
                            .map(|path| {
                                lookup(&item, path)
                                    .and_then(Value::as_array)
                                    .cloned()
                                    .unwrap_or_default()
                            })
                            .collect();
                        let mut vars = check.is_some().then(|| {
                            let mut vars = globals.clone();
                            vars.insert(fe.bind.clone(), item);
                            Value::Object(vars)
                        });
                        for (p, elems) in lists.into_iter().enumerate() {
                            for (e, elem) in elems.into_iter().enumerate() {
                                let inner = item_key(&elem, j);
                                j += 1;
                                let rendered = match (check.as_mut(), vars.as_mut()) {
                                    (Some(check), Some(Value::Object(v))) => {
                                        v.insert(nested.bind.clone(), elem);
                                        check(vars.as_ref().expect("vars built"))
                                    }
                                    _ => (None, None),
                                };
                                out.push((
                                    format!("{task}[{key}/{inner}]"),
                                    Binding::item(source, item_idx, Some((p as u16, e as u32))),
                                    rendered,
                                ));
                                if out.len() > max {
                                    return Err(too_many());
                                }
                            }
                        }
                    }
                }
                if out.len() > max {
                    return Err(too_many());
                }
            }
        }
        Ok(out)
    }

    /// The run's globals plus a node's fan-out bindings; `Err` if its item cannot be read back.
    fn vars_of(&self, t: usize, binding: Binding) -> Result<Value, String> {
        let spec = &self.tasks[t].spec;
        let mut vars = self.globals[self.tasks[t].scope].clone();
        if let (Some((source, item, nested)), Some(fe)) = (binding.parts(), &spec.for_each) {
            let item = self.item(source, item)?;
            let elem = match (nested, &fe.then) {
                (Some((p, e)), Some(then)) => Some((
                    then.bind.clone(),
                    then.path
                        .split('+')
                        .map(str::trim)
                        .nth(p as usize)
                        .and_then(|path| lookup(&item, path))
                        .and_then(Value::as_array)
                        .and_then(|a| a.get(e as usize))
                        .cloned()
                        .unwrap_or(Value::Null),
                )),
                _ => None,
            };
            vars.insert(fe.bind.clone(), item);
            if let Some((bind, elem)) = elem {
                vars.insert(bind, elem);
            }
        }
        Ok(Value::Object(vars))
    }

    /// A node's rendered parameters, vars and output path, built for an attempt (each attempt
    /// builds its own, so no node keeps a copy of its item while it waits or after it
    /// finished). Errors only if the templates do not render, which `Node::render_error`
    /// reported when it was created.
    pub fn context(&self, i: NodeIndex) -> Result<NodeContext, RenderError> {
        let node = &self.graph[i];
        let spec = &self.tasks[node.task].spec;
        let vars = self
            .vars_of(node.task, node.binding)
            .map_err(|reason| RenderError::Item {
                task: spec.name.clone(),
                reason,
            })?;
        let (params, output) = render_node(spec, &vars, self.tasks[node.task].templated)?;
        Ok(NodeContext {
            params,
            vars,
            output,
        })
    }

    /// The node of this id, if the plan has one.
    pub fn find(&self, id: &str) -> Option<NodeIndex> {
        self.ids.get(id).copied()
    }

    /// `id`, or `id#N` if it is taken.
    fn unique_id(&self, id: String) -> Arc<str> {
        if !self.ids.contains_key(id.as_str()) {
            return Arc::from(id);
        }
        // Two items with the same key (two containers named alike): number the later ones so
        // ids stay unique and still stable (items come in journaled order).
        let mut n = 2;
        loop {
            let candidate = format!("{id}#{n}");
            if !self.ids.contains_key(candidate.as_str()) {
                return Arc::from(candidate);
            }
            n += 1;
        }
    }

    /// Marks a node as running.
    pub fn start(&mut self, i: NodeIndex) {
        self.graph[i].status = NodeStatus::Running;
    }

    /// Records a node's final state. Returns the nodes that became ready (when it is done) or the
    /// waiting dependents that must now be skipped (when it failed or was skipped), with the
    /// reason to give them.
    pub fn settle(&mut self, i: NodeIndex, status: NodeStatus) -> Settled {
        debug_assert!(status.is_terminal());
        let was_terminal = self.graph[i].status.is_terminal();
        self.graph[i].status = status;
        if !was_terminal {
            let t = self.graph[i].task;
            self.tasks[t].terminal += 1;
        }
        let dependents: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(i, Direction::Outgoing)
            .collect();
        match status {
            NodeStatus::Done => {
                let mut ready = Vec::new();
                for d in dependents {
                    let n = &mut self.graph[d];
                    n.pending = n.pending.saturating_sub(1);
                    if n.pending == 0 && n.status == NodeStatus::Waiting {
                        n.status = NodeStatus::Ready;
                        ready.push(d);
                    }
                }
                Settled::Ready(ready)
            }
            _ => {
                let node = &self.graph[i];
                let reason = match status {
                    NodeStatus::Failed => format!(
                        "needs {} which failed: {}",
                        node.id,
                        node.reason.as_deref().unwrap_or("unknown error")
                    ),
                    _ => node.reason.as_deref().map_or_else(
                        || format!("needs {} which was skipped", node.id),
                        str::to_string,
                    ),
                };
                let skip = dependents
                    .into_iter()
                    .filter(|&d| {
                        matches!(
                            self.graph[d].status,
                            NodeStatus::Waiting | NodeStatus::Ready
                        )
                    })
                    .collect();
                Settled::Skip {
                    nodes: skip,
                    reason,
                }
            }
        }
    }
}

/// The run variables as a map: a JSON object, or nothing.
fn globals_map(globals: &Value) -> Result<Map<String, Value>, EngineError> {
    match globals {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(Map::new()),
        other => Err(EngineError::Plan(format!(
            "run variables must be a JSON object, got {other}"
        ))),
    }
}

/// The tasks' states with their dependencies, checked: unique names, known `needs`, no cycle.
fn task_states(pipeline: &str, specs: &[(TaskSpec, usize)]) -> Result<Vec<TaskState>, EngineError> {
    let index: HashMap<&str, usize> = specs
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (t.name.as_str(), i))
        .collect();
    if index.len() != specs.len() {
        return Err(EngineError::Plan(format!(
            "pipeline {pipeline} has two tasks with the same name: give each task a unique name"
        )));
    }
    let mut task_graph = DiGraph::<usize, ()>::new();
    let tnodes: Vec<NodeIndex> = (0..specs.len()).map(|i| task_graph.add_node(i)).collect();
    let mut tasks = Vec::with_capacity(specs.len());
    for (i, (spec, scope)) in specs.iter().enumerate() {
        let mut deps = Vec::new();
        let names = spec
            .needs
            .iter()
            .chain(spec.for_each.as_ref().map(|f| &f.task));
        for name in names {
            let Some(&d) = index.get(name.as_str()) else {
                return Err(EngineError::Plan(format!(
                        "task {} needs {name}, which is not a task of pipeline {pipeline}: fix the name in `needs`/`forEach`",
                        spec.name
                    )));
            };
            if !deps.contains(&d) {
                deps.push(d);
                task_graph.add_edge(tnodes[d], tnodes[i], ());
            }
        }
        tasks.push(TaskState {
            spec: spec.clone(),
            deps,
            nodes: None,
            terminal: 0,
            templated: has_template(&spec.params),
            scope: *scope,
            fanned_over: false,
        });
    }
    for (spec, _) in specs {
        if let Some(fe) = &spec.for_each {
            tasks[index[fe.task.as_str()]].fanned_over = true;
        }
    }
    if petgraph::algo::is_cyclic_directed(&task_graph) {
        return Err(EngineError::Plan(format!(
                "the tasks of pipeline {pipeline} form a cycle: run `kudo-diag pipelines validate` to see it and break it"
            )));
    }
    Ok(tasks)
}

/// What settling a node unblocked.
#[derive(Debug)]
pub enum Settled {
    Ready(Vec<NodeIndex>),
    Skip {
        nodes: Vec<NodeIndex>,
        reason: String,
    },
}

/// Why a node's templates do not render.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The task's parameters hold a template that does not render.
    #[error("cannot render the parameters of task {task}: {source}")]
    Params {
        task: String,
        #[source]
        source: TemplateError,
    },
    /// The task's output path does not render.
    #[error("cannot render the output path of task {task}: {source}")]
    Output {
        task: String,
        #[source]
        source: TemplateError,
    },
    /// The node's item could not be read back from the plan's item file.
    #[error("task {task}: {reason}")]
    Item { task: String, reason: String },
}

/// The items of one fan-out source, as the plan keeps them.
#[derive(Debug)]
enum Kept {
    /// In memory: a plan with no item file (tests, and plans that never run a collection).
    Memory(Items),
    /// In a file from `start`: item n is `start + ends[n - 1] .. start + ends[n]`. The file
    /// is `own` (the one the task's items spilled to) or else the plan's item file.
    File {
        own: Option<std::fs::File>,
        start: u64,
        ends: Vec<usize>,
    },
}

/// The file a [`Kept::File`] is read from, and the folder to name when it cannot be.
struct ItemSource<'a> {
    file: Option<&'a std::fs::File>,
    dir: Option<&'a std::path::Path>,
}

impl<'a> ItemSource<'a> {
    fn of(own: &'a Option<std::fs::File>, plan: &'a Option<ItemFile>) -> Self {
        ItemSource {
            file: own.as_ref().or(plan.as_ref().map(|f| &f.file)),
            dir: plan.as_ref().map(|f| f.dir.as_path()),
        }
    }

    fn read_raw(&self, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        match self.file {
            Some(f) => f.read_exact_at(buf, at),
            None => Err(std::io::Error::other("the plan has no item file")),
        }
    }

    fn read(&self, at: u64, len: usize) -> std::io::Result<Value> {
        let mut buf = vec![0u8; len];
        self.read_raw(at, &mut buf)?;
        serde_json::from_slice(&buf).map_err(std::io::Error::other)
    }

    /// Why `what` could not be read back, and what to do.
    fn unreadable(&self, what: &str, e: &std::io::Error) -> String {
        let place = self
            .dir
            .map_or(String::new(), |d| format!(" in {}", d.display()));
        format!(
            "cannot read {what} back from the collection's item file{place}: {e}; check that disk, then run again with --continue"
        )
    }
}

/// An append-only file of items, written once per fan-out source and read one item at a time
/// with positioned reads.
#[derive(Debug)]
struct ItemFile {
    file: std::fs::File,
    end: u64,
    /// The folder it was made in (it has no name of its own).
    dir: std::path::PathBuf,
}

impl ItemFile {
    fn keep(&mut self, items: &Items) -> std::io::Result<Kept> {
        use std::os::unix::fs::FileExt as _;
        let start = self.end;
        for piece in items.pieces() {
            self.file.write_all_at(piece.as_bytes(), self.end)?;
            self.end += piece.len() as u64;
        }
        Ok(Kept::File {
            own: None,
            start,
            ends: items.ends(),
        })
    }
}

fn render_node(
    spec: &TaskSpec,
    vars: &Value,
    templated: bool,
) -> Result<(Value, Option<String>), RenderError> {
    let params = render_params(spec, vars, templated)?;
    let output = spec
        .output
        .as_deref()
        .map(|o| render(o, vars))
        .transpose()
        .map_err(|source| RenderError::Output {
            task: spec.name.clone(),
            source,
        })?;
    Ok((params, output))
}

/// A task's parameters for one node: rendered if they hold a template, else copied (copying
/// costs less than rendering: 100,000 renders of `{ms: 0}` showed in profiles).
fn render_params(spec: &TaskSpec, vars: &Value, templated: bool) -> Result<Value, RenderError> {
    if templated {
        render_value(&spec.params, vars).map_err(|source| RenderError::Params {
            task: spec.name.clone(),
            source,
        })
    } else {
        Ok(spec.params.clone())
    }
}

/// True when a string anywhere in `v` holds `{{` (what `render_value` would expand).
fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

/// The fan-out key of an item: `namespace/name` of a Kubernetes object, else its `name`, else
/// its index.
pub fn item_key(item: &Value, index: usize) -> String {
    // Plain lookups, not `Value::pointer`, which allocates per path segment (7% of a
    // 100,000-node run).
    let meta = item.get("metadata");
    if let Some(name) = meta.and_then(|m| m.get("name")).and_then(Value::as_str) {
        return match meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
        {
            Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
            _ => name.to_string(),
        };
    }
    if let Some(name) = item.get("name").and_then(Value::as_str) {
        return name.to_string();
    }
    index.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{ForEach, Nested};
    use serde_json::json;

    /// `logs`, one node per element at `path` (`+`-separated) of each of `pods`' items, bound
    /// as `pod` and `c`.
    /// Task `name`: a node per item of `pods`, bound as `pod`, and per element of `then`.
    fn over_pods(name: &str, then: Option<Nested>) -> TaskSpec {
        let mut t = task(name, &["pods"]);
        t.for_each = Some(ForEach {
            task: "pods".into(),
            bind: "pod".into(),
            then,
        });
        t
    }

    fn logs_per_container(path: &str) -> TaskSpec {
        over_pods(
            "logs",
            Some(Nested {
                path: path.into(),
                bind: "c".into(),
            }),
        )
    }

    fn task(name: &str, needs: &[&str]) -> TaskSpec {
        TaskSpec {
            name: name.into(),
            kind: "synthetic.sleep".into(),
            params: json!({}),
            needs: needs.iter().map(|s| s.to_string()).collect(),
            for_each: None,
            output: None,
            timeout: None,
            retries: None,
            optional: false,
        }
    }

    fn ids(plan: &Plan, nodes: &[NodeIndex]) -> Vec<String> {
        nodes.iter().map(|&n| plan.node(n).id.to_string()).collect()
    }

    #[test]
    fn keys_come_from_kubernetes_objects_names_or_indexes() {
        assert_eq!(
            item_key(&json!({"metadata": {"namespace": "ns", "name": "p"}}), 0),
            "ns/p"
        );
        assert_eq!(
            item_key(&json!({"metadata": {"name": "node-1"}}), 0),
            "node-1"
        );
        assert_eq!(item_key(&json!({"name": "c"}), 4), "c");
        assert_eq!(item_key(&json!(17), 4), "4");
    }

    #[test]
    fn a_node_stays_within_its_budget() {
        // Every node of a run stays until it ends: 380,000 of them at 20,000 pods.
        assert!(std::mem::size_of::<Binding>() <= 16);
        assert!(std::mem::size_of::<Node>() <= 64);
        let b = Binding::item(NodeIndex::new(3), 7, Some((1, 2)));
        assert_eq!(b.parts(), Some((NodeIndex::new(3), 7, Some((1, 2)))));
        let b = Binding::item(NodeIndex::new(3), 0, None);
        assert_eq!(b.parts(), Some((NodeIndex::new(3), 0, None)));
        assert_eq!(Binding::Globals.parts(), None);
    }

    #[test]
    fn nested_fan_out_binds_both_levels_with_stable_ids() {
        // pods -> logs[pod/container] (per container of each pod, init containers first)
        let mut logs = logs_per_container("spec.initContainers+spec.containers");
        logs.output = Some("{{ns}}/{{pod.metadata.name}}/{{c.name}}.log".into());
        let p = Pipeline::new("t", vec![], vec![task("pods", &[]), logs]);
        let mut plan = Plan::new(&p, &json!({"ns": "prod"})).unwrap();
        let first = plan.expand();
        assert_eq!(first.len(), 1, "only pods can expand before it finished");
        let pods = first[0].nodes[0];
        plan.set_items(
            pods,
            vec![
                json!({"metadata": {"namespace": "prod", "name": "c-0"},
                   "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "app"}, {"name": "side"}]}}),
                json!({"metadata": {"namespace": "prod", "name": "c-1"},
                   "spec": {"containers": [{"name": "app"}]}}),
            ]
            .into(),
        ).unwrap();
        plan.settle(pods, NodeStatus::Done);
        let second = plan.expand();
        assert_eq!(second.len(), 1);
        assert_eq!(
            ids(&plan, &second[0].nodes),
            vec![
                "logs[prod/c-0/init]",
                "logs[prod/c-0/app]",
                "logs[prod/c-0/side]",
                "logs[prod/c-1/app]"
            ]
        );
        // Rendered for an attempt, not kept by the node.
        assert_eq!(
            plan.context(second[0].nodes[2]).unwrap().output.as_deref(),
            Some("prod/c-0/side.log")
        );
        assert!(second[0]
            .nodes
            .iter()
            .all(|&n| plan.node(n).status == NodeStatus::Ready));
    }

    #[test]
    fn a_fan_out_node_gets_its_item_and_element_rendered_when_it_starts() {
        // The item stays in its source node only; `context` builds vars and params from it.
        let mut logs = logs_per_container("spec.initContainers+spec.containers");
        logs.params = json!({"pod": "{{pod}}", "container": "{{c.name}}", "ns": "{{ns}}"});
        let p = Pipeline::new("t", vec![], vec![task("pods", &[]), logs]);
        let mut plan = Plan::new(&p, &json!({"ns": "prod"})).unwrap();
        let pods = plan.expand()[0].nodes[0];
        let pod = json!({"metadata": {"namespace": "prod", "name": "c-0"},
            "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "app"}, {"name": "side"}]}});
        plan.set_items(pods, vec![pod.clone()].into()).unwrap();
        plan.settle(pods, NodeStatus::Done);
        let nodes = plan.expand()[0].nodes.clone();
        assert_eq!(nodes.len(), 3);
        let NodeContext { params, vars, .. } = plan.context(nodes[2]).unwrap();
        assert_eq!(
            params,
            json!({"pod": pod, "container": "side", "ns": "prod"})
        );
        assert_eq!(
            vars,
            json!({"ns": "prod", "pod": pod, "c": {"name": "side"}})
        );
        assert_eq!(plan.context(nodes[0]).unwrap().params["container"], "init");
        // A task without forEach sees the globals only.
        assert_eq!(plan.context(pods).unwrap().vars, json!({"ns": "prod"}));
    }

    /// The render check at expansion sees each node's own item and element: only the nodes
    /// whose templates do not render fail, in a nested fan-out and in a plain one.
    #[test]
    fn expansion_fails_only_the_nodes_whose_item_does_not_render() {
        let pods_list = vec![
            json!({"metadata": {"name": "p-0"}, "port": 1,
                "spec": {"containers": [{"name": "a", "port": 1}, {"name": "b"}]}}),
            json!({"metadata": {"name": "p-1"},
                "spec": {"containers": [{"name": "c", "port": 2}]}}),
        ];
        let mut nested = logs_per_container("spec.containers");
        nested.params = json!({"pod": "{{pod.metadata.name}}", "port": "{{c.port}}"});
        let mut plain = over_pods("plain", None);
        plain.params = json!({"port": "{{pod.port}}"});
        let p = Pipeline::new("t", vec![], vec![task("pods", &[]), nested, plain]);
        let mut plan = Plan::new(&p, &json!({})).unwrap();
        let pods = plan.expand()[0].nodes[0];
        plan.set_items(pods, pods_list.into()).unwrap();
        plan.settle(pods, NodeStatus::Done);
        let failed: Vec<(String, bool)> = plan
            .expand()
            .iter()
            .flat_map(|e| e.nodes.clone())
            .map(|n| {
                let node = plan.node(n);
                (node.id.to_string(), node.render_error().is_some())
            })
            .collect();
        assert_eq!(
            failed,
            [
                ("logs[p-0/a]".to_string(), false),
                ("logs[p-0/b]".to_string(), true),
                ("logs[p-1/c]".to_string(), false),
                ("plain[p-0]".to_string(), false),
                ("plain[p-1]".to_string(), true),
            ]
        );
    }

    #[test]
    fn items_kept_in_the_item_file_bind_the_same_nodes_and_a_lost_file_fails_only_its_nodes() {
        let mut logs = logs_per_container("spec.containers");
        logs.params = json!({"pod": "{{pod.metadata.name}}", "container": "{{c.name}}"});
        let p = Pipeline::new("t", vec![], vec![task("pods", &[]), logs]);
        let pods_list: Vec<Value> = (0..3)
            .map(|i| {
                json!({"metadata": {"namespace": "prod", "name": format!("c-{i}"), "note": "é \"q\""},
                       "spec": {"containers": [{"name": "app"}, {"name": format!("side-{i}")}]}})
            })
            .collect();
        let expanded = |file: Option<std::fs::File>| {
            let mut plan = Plan::new(&p, &json!({})).unwrap();
            if let Some(f) = file {
                plan.keep_items_in(f, std::env::temp_dir());
            }
            let pods = plan.expand()[0].nodes[0];
            plan.set_items(pods, pods_list.clone().into()).unwrap();
            plan.settle(pods, NodeStatus::Done);
            let nodes = plan.expand()[0].nodes.clone();
            (plan, nodes)
        };
        let (in_memory, mem_nodes) = expanded(None);
        let file = tempfile::tempfile().unwrap();
        let (in_file, file_nodes) = expanded(Some(file.try_clone().unwrap()));
        assert!(
            matches!(in_file.items.values().next(), Some(Kept::File { .. })),
            "the items went to the file"
        );
        assert_eq!(file.metadata().unwrap().len() as usize, {
            let items: Items = pods_list.clone().into();
            items.text_len()
        });
        assert_eq!(ids(&in_memory, &mem_nodes), ids(&in_file, &file_nodes));
        // The journal gets the same JSON array from either, of the size announced.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let src = |p: &Plan| p.find("pods").unwrap();
        in_memory.write_items_json(src(&in_memory), &mut a).unwrap();
        in_file.write_items_json(src(&in_file), &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), in_file.items_json_len(src(&in_file)));
        assert_eq!(serde_json::from_slice::<Vec<Value>>(&b).unwrap(), pods_list);
        assert_eq!(file_nodes.len(), 6);
        for (&m, &f) in mem_nodes.iter().zip(&file_nodes) {
            let (a, b) = (in_memory.context(m).unwrap(), in_file.context(f).unwrap());
            assert_eq!(a.params, b.params);
            assert_eq!(a.vars, b.vars);
        }
        assert_eq!(
            in_file.context(file_nodes[5]).unwrap().params,
            json!({"pod": "c-2", "container": "side-2"})
        );
        // The file cut short under the run: the nodes bound to what is lost fail with the
        // reason and the fix; the others still start.
        let first_item_len = pods_list[0].to_string().len() as u64;
        file.set_len(first_item_len).unwrap();
        assert!(in_file.context(file_nodes[0]).is_ok());
        let msg = in_file.context(file_nodes[2]).unwrap_err().to_string();
        assert!(msg.contains("cannot read item 1 of pods"), "{msg}");
        assert!(msg.contains("--continue"), "{msg}");
    }

    #[test]
    fn items_spilled_by_their_task_are_kept_in_their_file_and_bind_the_same_nodes() {
        let mut logs = logs_per_container("spec.containers");
        logs.params = json!({"pod": "{{pod.metadata.name}}", "container": "{{c.name}}"});
        let p = Pipeline::new("t", vec![], vec![task("pods", &[]), logs]);
        // Past what an Items holds in memory: about 2 KB a pod.
        let n = crate::engine::task::IN_MEMORY / 2_000 + 500;
        let pods_list: Vec<Value> = (0..n)
            .map(|i| {
                json!({"metadata": {"name": format!("c-{i}"), "note": "x".repeat(1_900 + i % 97)},
                       "spec": {"containers": [{"name": "app"}, {"name": format!("side-{i}")}]}})
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let expanded = |items: Items| {
            let mut plan = Plan::new(&p, &json!({})).unwrap();
            plan.keep_items_in(tempfile::tempfile().unwrap(), dir.path().into());
            let pods = plan.expand()[0].nodes[0];
            plan.set_items(pods, items).unwrap();
            plan.settle(pods, NodeStatus::Done);
            let nodes = plan.expand()[0].nodes.clone();
            (plan, nodes)
        };
        let mut spilled = Items::spilling_in(dir.path());
        spilled.extend(pods_list.iter().cloned());
        assert!(spilled.on_file());
        let (from_spill, spill_nodes) = expanded(spilled);
        assert!(
            matches!(
                from_spill.items.values().next(),
                Some(Kept::File { own: Some(_), .. })
            ),
            "the spill file is kept as it is"
        );
        let (from_memory, mem_nodes) = expanded(pods_list.clone().into());
        assert!(matches!(
            from_memory.items.values().next(),
            Some(Kept::File { own: None, .. })
        ));
        assert_eq!(spill_nodes.len(), 2 * n);
        assert_eq!(
            ids(&from_memory, &mem_nodes),
            ids(&from_spill, &spill_nodes)
        );
        for k in [0, n / 2, 2 * n - 1] {
            let (a, b) = (
                from_memory.context(mem_nodes[k]).unwrap(),
                from_spill.context(spill_nodes[k]).unwrap(),
            );
            assert_eq!(a.params, b.params);
            assert_eq!(a.vars, b.vars);
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let src = |p: &Plan| p.find("pods").unwrap();
        from_memory
            .write_items_json(src(&from_memory), &mut a)
            .unwrap();
        from_spill
            .write_items_json(src(&from_spill), &mut b)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(b.len(), from_spill.items_json_len(src(&from_spill)));
    }

    #[test]
    fn a_fan_out_past_its_maximum_is_one_node_that_fails_with_the_fix() {
        // pods -> logs[*] (3 pods x 2 containers = 6 nodes, more than 5) ; pods -> other
        let mut logs = logs_per_container("spec.containers");
        logs.output = Some("{{pod.metadata.name}}/{{c.name}}.log".into());
        let p = Pipeline::new("t", vec![], vec![task("pods", &[]), logs]);
        let pods: Vec<Value> = (0..3)
            .map(|i| {
                json!({"metadata": {"name": format!("p-{i}")},
                "spec": {"containers": [{"name": "a"}, {"name": "b"}]}})
            })
            .collect();
        for (max, nodes) in [(6, 6), (5, 1)] {
            let mut plan = Plan::new(&p, &json!({})).unwrap();
            plan.set_max_fan_out(max);
            let src = plan.expand()[0].nodes[0];
            plan.set_items(src, pods.clone().into()).unwrap();
            plan.settle(src, NodeStatus::Done);
            let fan = plan.expand()[0].nodes.clone();
            assert_eq!(fan.len(), nodes, "max {max}");
            if nodes == 1 {
                let node = plan.node(fan[0]);
                assert_eq!(&*node.id, "logs");
                let reason = node.render_error().unwrap();
                assert!(reason.contains("more than 5 nodes"), "{reason}");
                assert!(reason.contains("--max-fan-out"), "{reason}");
                assert_eq!(node.status, NodeStatus::Ready, "it fails when it starts");
            }
        }
    }

    #[test]
    fn only_the_items_something_fans_out_over_are_kept() {
        // pods -> logs[*]; exec's items (an exit code) feed nothing.
        let p = Pipeline::new(
            "t",
            vec![],
            vec![
                task("pods", &[]),
                task("exec", &[]),
                logs_per_container("spec.containers"),
            ],
        );
        let mut plan = Plan::new(&p, &json!({})).unwrap();
        let first = plan.expand()[0].nodes.clone();
        let (pods, exec) = (first[0], plan.find("exec").unwrap());
        assert!(plan.keeps_items(pods) && !plan.keeps_items(exec));
        plan.set_items(exec, vec![json!({"exitCode": 0})].into())
            .unwrap();
        plan.set_items(
            pods,
            vec![json!({"name": "p", "spec": {"containers": [{"name": "c"}]}})].into(),
        )
        .unwrap();
        assert_eq!(plan.item_count(exec), 0);
        assert_eq!(plan.item_count(pods), 1);
    }

    #[test]
    fn a_failed_source_skips_its_fan_out_and_everything_after() {
        // a -> fan[*] -> z
        let mut fan = task("fan", &[]);
        fan.for_each = Some(ForEach {
            task: "a".into(),
            bind: "x".into(),
            then: None,
        });
        let p = Pipeline::new("t", vec![], vec![task("a", &[]), fan, task("z", &["fan"])]);
        let mut plan = Plan::new(&p, &json!({})).unwrap();
        let a = plan.expand()[0].nodes[0];
        plan.node_mut(a).reason = Some("boom".into());
        plan.settle(a, NodeStatus::Failed);
        let exp = plan.expand();
        assert_eq!(exp.len(), 2);
        let fan = plan.node(exp[0].nodes[0]);
        assert_eq!(&*fan.id, "fan");
        assert_eq!(fan.status, NodeStatus::Skipped);
        assert_eq!(fan.reason.as_deref(), Some("needs a which failed: boom"));
        let z = plan.node(exp[1].nodes[0]);
        assert_eq!(z.status, NodeStatus::Skipped);
        assert_eq!(z.reason.as_deref(), Some("needs a which failed: boom"));
        assert!(plan.finished());
    }

    #[test]
    fn a_dependencys_tasks_are_named_under_its_prefix_and_see_its_own_variables() {
        // run: pods    dependency zk: pods -> logs[*]
        let mut logs = over_pods("logs", None);
        logs.params = json!({"who": "{{instance}}/{{pod.name}}"});
        let root = Pipeline::new("root", vec![], vec![task("pods", &[])]);
        let zk = Scope {
            prefix: "dependencies/ns/zk/".into(),
            pipeline: Pipeline::new("zk", vec![], vec![task("pods", &[]), logs]),
            globals: json!({"instance": "zk"}),
        };
        let mut plan = Plan::with_scopes(&root, &json!({"instance": "kafka"}), &[zk]).unwrap();
        let first = plan.expand();
        assert_eq!(
            first
                .iter()
                .map(|e| plan.node(e.nodes[0]).id.to_string())
                .collect::<Vec<_>>(),
            ["pods", "dependencies/ns/zk/pods"]
        );
        let (root_pods, zk_pods) = (first[0].nodes[0], first[1].nodes[0]);
        assert_eq!(plan.prefix(plan.node(root_pods).task), "");
        assert_eq!(plan.context(root_pods).unwrap().vars["instance"], "kafka");
        plan.set_items(zk_pods, vec![json!({"name": "zk-0"})].into())
            .unwrap();
        plan.settle(zk_pods, NodeStatus::Done);
        let fan = plan.expand()[0].nodes[0];
        assert_eq!(&*plan.node(fan).id, "dependencies/ns/zk/logs[zk-0]");
        assert_eq!(plan.prefix(plan.node(fan).task), "dependencies/ns/zk/");
        assert_eq!(plan.context(fan).unwrap().params, json!({"who": "zk/zk-0"}));
    }

    #[test]
    fn cycles_and_unknown_needs_are_refused() {
        let p = Pipeline::new("t", vec![], vec![task("a", &["b"]), task("b", &["a"])]);
        assert!(Plan::new(&p, &json!({}))
            .unwrap_err()
            .to_string()
            .contains("cycle"));
        let p = Pipeline::new("t", vec![], vec![task("a", &["nope"])]);
        assert!(Plan::new(&p, &json!({}))
            .unwrap_err()
            .to_string()
            .contains("needs nope"));
    }
}
