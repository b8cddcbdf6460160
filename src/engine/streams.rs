//! The limits keyed by what an attempt loads ([`StreamLoad`]): long-running streams (logs,
//! exec) at most `per_node` at a time on one node's kubelet, and commands at most `per_pod` at
//! a time in one pod. A node whose node or pod is full waits here, parked on that key, without
//! holding a slot of the global or class limits; the attempt that frees the key wakes one
//! waiter, so a full node never costs a scan of everything queued behind it.
//!
//! A kind that chooses its pod while it runs (`kudo.versions` runs a tool in the first running
//! pod it lists) cannot say so before it starts; it takes the same slots from inside its
//! attempt with [`acquire`], which waits in the same queues. The scheduler runs every attempt
//! in the scope of the run's [`StreamGate`] (a tokio task-local), so no kind needs a handle.
//! A stream on a pod named by its name only is keyed by its pod in the plan; its attempt takes
//! the node's slot the same way once it learned the node.
//!
//! Nodes and pods are interned to small ids: a 5,000-pod run keeps one name per node and pod,
//! not one per task.
//!
//! A command that timed out may still be running: closing an exec stream does not stop the
//! process it started in the container. Its pod's slot stays taken for as long again
//! ([`StreamGate::release_timed_out`]), so a retry or the pod's next command does not start a
//! second JVM beside one that hangs; the kubelet's slot is given back at once, since it no
//! longer serves the stream.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use petgraph::graph::NodeIndex;
use tokio::sync::{oneshot, Notify};

use super::task::StreamLoad;

/// Keys of slots taken from inside attempts, apart from node indices.
const RUNTIME_KEYS: usize = 1 << 62;

/// Who waits for a full node or pod.
#[derive(Debug)]
enum Waiter {
    /// A ready node, put back in its class's queue when woken.
    Node(NodeIndex),
    /// An attempt inside [`acquire`], told to try again.
    Attempt(oneshot::Sender<()>),
}

/// The keys a running attempt holds, to give back when it ends.
#[derive(Debug, Clone, Copy)]
struct Held {
    node: Option<u32>,
    pod: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct StreamSlots {
    per_node: u32,
    per_pod: u32,
    /// `node:NAME` and `pod:NS/NAME`, one id each.
    ids: HashMap<Box<str>, u32>,
    /// Attempts holding each id.
    running: Vec<u32>,
    /// Who waits for each full id, first come first served.
    waiting: HashMap<u32, VecDeque<Waiter>>,
    /// What each running stream attempt holds, by node index.
    held: HashMap<usize, Held>,
    /// The distinct (node, pod) pairs loads ask for, so that a plan node can keep what it
    /// loads as one number ([`StreamSlots::key`]).
    pairs: Vec<Held>,
    pair_ids: HashMap<(Option<u32>, Option<u32>), u32>,
}

impl StreamSlots {
    pub fn new(per_node: usize, per_pod: usize) -> Self {
        StreamSlots {
            per_node: per_node.clamp(1, u32::MAX as usize) as u32,
            per_pod: per_pod.clamp(1, u32::MAX as usize) as u32,
            ids: HashMap::new(),
            running: Vec::new(),
            waiting: HashMap::new(),
            held: HashMap::new(),
            pairs: Vec::new(),
            pair_ids: HashMap::new(),
        }
    }

    fn id(&mut self, prefix: &str, name: &str) -> u32 {
        let key = format!("{prefix}:{name}");
        if let Some(&id) = self.ids.get(key.as_str()) {
            return id;
        }
        let id = self.running.len() as u32;
        self.running.push(0);
        self.ids.insert(key.into_boxed_str(), id);
        id
    }

    /// What `load` holds while it runs, as one number: the same for every load that takes
    /// the same node and pod slots.
    pub fn key(&mut self, load: &StreamLoad) -> u32 {
        let node = load.node.as_deref().map(|n| self.id("node", n));
        let pod = match (&load.pod, load.command) {
            (Some(p), true) => Some(self.id("pod", p)),
            _ => None,
        };
        if let Some(&k) = self.pair_ids.get(&(node, pod)) {
            return k;
        }
        let k = self.pairs.len() as u32;
        self.pairs.push(Held { node, pod });
        self.pair_ids.insert((node, pod), k);
        k
    }

    /// Takes the slots `load` needs for `idx`, or parks `idx` on the first full key and
    /// answers false.
    pub fn try_take(&mut self, idx: NodeIndex, load: &StreamLoad) -> bool {
        let pair = self.key(load);
        self.try_take_key(idx, pair)
    }

    /// [`StreamSlots::try_take`] with the load's [`StreamSlots::key`].
    pub fn try_take_key(&mut self, idx: NodeIndex, pair: u32) -> bool {
        match self.take_pair(idx.index(), pair) {
            Ok(()) => true,
            Err(full) => {
                self.waiting
                    .entry(full)
                    .or_default()
                    .push_back(Waiter::Node(idx));
                false
            }
        }
    }

    /// Takes the slots of `load` under `key`, or names the first full id.
    fn take(&mut self, key: usize, load: &StreamLoad) -> Result<(), u32> {
        let pair = self.key(load);
        self.take_pair(key, pair)
    }

    fn take_pair(&mut self, key: usize, pair: u32) -> Result<(), u32> {
        let Held { node, pod } = self.pairs[pair as usize];
        for (id, limit) in [(pod, self.per_pod), (node, self.per_node)] {
            if let Some(id) = id {
                if self.running[id as usize] >= limit {
                    return Err(id);
                }
            }
        }
        for id in [node, pod].into_iter().flatten() {
            self.running[id as usize] += 1;
        }
        self.held.insert(key, Held { node, pod });
        Ok(())
    }

    /// Gives back what `key` held (nothing when it held no stream) and returns the waiting
    /// nodes that may now start, at most one waiter per freed key.
    fn release_key(&mut self, key: usize) -> Vec<NodeIndex> {
        let Some(held) = self.held.remove(&key) else {
            return Vec::new();
        };
        self.give_back([held.pod, held.node].into_iter().flatten())
    }

    /// Gives back what `key` held but its pod's command slot, which it keeps under `keep` (a
    /// key of its own, [`StreamSlots::release_key`] gives it back); as `release_key` when it
    /// held no command slot. Answers whether it kept one, and the nodes that may now start.
    fn release_but_pod(&mut self, key: usize, keep: usize) -> (bool, Vec<NodeIndex>) {
        let Some(Held { node, pod }) = self.held.remove(&key) else {
            return (false, Vec::new());
        };
        if pod.is_some() {
            self.held.insert(keep, Held { node: None, pod });
        }
        (pod.is_some(), self.give_back(node.into_iter()))
    }

    /// Frees one slot of each id and returns the waiting nodes that may now start, at most one
    /// waiter per id.
    fn give_back(&mut self, ids: impl Iterator<Item = u32>) -> Vec<NodeIndex> {
        let mut wake = Vec::new();
        for id in ids {
            self.running[id as usize] -= 1;
            let Some(q) = self.waiting.get_mut(&id) else {
                continue;
            };
            while let Some(w) = q.pop_front() {
                match w {
                    Waiter::Node(n) => {
                        wake.push(n);
                        break;
                    }
                    // An attempt that stopped waiting (cancelled) wakes the next one instead.
                    Waiter::Attempt(tx) => {
                        if tx.send(()).is_ok() {
                            break;
                        }
                    }
                }
            }
            if q.is_empty() {
                self.waiting.remove(&id);
            }
        }
        wake
    }

    /// [`Self::release_key`] of a node's attempt.
    pub fn release(&mut self, idx: NodeIndex) -> Vec<NodeIndex> {
        self.release_key(idx.index())
    }
}

/// The run's stream slots, shared by the scheduler and the attempts that take slots while
/// they run.
#[derive(Debug, Clone)]
pub(crate) struct StreamGate(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    slots: Mutex<StreamSlots>,
    /// Nodes woken by a slot an attempt gave back, for the scheduler to queue again.
    woken: Mutex<Vec<NodeIndex>>,
    notify: Notify,
    next_key: AtomicUsize,
}

impl StreamGate {
    pub fn new(per_node: usize, per_pod: usize) -> Self {
        StreamGate(Arc::new(Shared {
            slots: Mutex::new(StreamSlots::new(per_node, per_pod)),
            woken: Mutex::new(Vec::new()),
            notify: Notify::new(),
            next_key: AtomicUsize::new(RUNTIME_KEYS),
        }))
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, StreamSlots> {
        self.0.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// See [`StreamSlots::try_take`].
    pub fn try_take(&self, idx: NodeIndex, load: &StreamLoad) -> bool {
        self.slots().try_take(idx, load)
    }

    pub fn key(&self, load: &StreamLoad) -> u32 {
        self.slots().key(load)
    }

    pub fn try_take_key(&self, idx: NodeIndex, pair: u32) -> bool {
        self.slots().try_take_key(idx, pair)
    }

    /// See [`StreamSlots::release`].
    pub fn release(&self, idx: NodeIndex) -> Vec<NodeIndex> {
        self.slots().release(idx)
    }

    /// Like [`StreamGate::release`] for an attempt that timed out, but a command keeps its
    /// pod's slot (the module doc says why) in the permit returned: dropping it gives the slot
    /// back and wakes who waits for it.
    pub fn release_timed_out(&self, idx: NodeIndex) -> (Option<StreamPermit>, Vec<NodeIndex>) {
        let keep = self.0.next_key.fetch_add(1, Ordering::Relaxed);
        let (kept, woken) = self.slots().release_but_pod(idx.index(), keep);
        let permit = kept.then(|| StreamPermit {
            gate: Some(self.clone()),
            key: keep,
        });
        (permit, woken)
    }

    /// Whether a node or an attempt waits for a slot.
    pub fn has_waiters(&self) -> bool {
        !self.slots().waiting.is_empty()
    }

    /// The nodes woken since the last call by slots attempts gave back.
    pub fn take_woken(&self) -> Vec<NodeIndex> {
        std::mem::take(&mut *self.0.woken.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Resolves when an attempt gave back a slot that woke a node.
    pub async fn woken(&self) {
        self.0.notify.notified().await
    }

    /// Runs `fut` (an attempt) where [`acquire`] finds this gate.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        GATE.scope(self, fut).await
    }
}

tokio::task_local! {
    static GATE: StreamGate;
}

/// Slots taken from inside an attempt; given back when dropped.
#[derive(Debug)]
pub struct StreamPermit {
    gate: Option<StreamGate>,
    key: usize,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let Some(gate) = self.gate.take() else {
            return;
        };
        let woken = gate.slots().release_key(self.key);
        if !woken.is_empty() {
            gate.0
                .woken
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(woken);
            gate.0.notify.notify_one();
        }
    }
}

/// Takes the slots of a stream an attempt opens on a pod it chose while running, waiting in
/// the same queues as planned nodes. Outside a run (no gate in scope) it waits for nothing. A
/// kind that declares its stream with `TaskKind::stream` must not also call this for the same
/// pod: it would wait for itself. It may take the node alone (`pod: None`), when the plan could
/// not know it (`collect::api::node_slot`).
pub async fn acquire(load: &StreamLoad) -> StreamPermit {
    let Ok(gate) = GATE.try_with(Clone::clone) else {
        return StreamPermit { gate: None, key: 0 };
    };
    let key = gate.0.next_key.fetch_add(1, Ordering::Relaxed);
    loop {
        let rx = {
            let mut slots = gate.slots();
            match slots.take(key, load) {
                Ok(()) => {
                    return StreamPermit {
                        gate: Some(gate.clone()),
                        key,
                    }
                }
                Err(full) => {
                    let (tx, rx) = oneshot::channel();
                    slots
                        .waiting
                        .entry(full)
                        .or_default()
                        .push_back(Waiter::Attempt(tx));
                    rx
                }
            }
        };
        // Woken by a release of that id: try again (another may have taken it first).
        let _ = rx.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(node: &str, pod: &str, command: bool) -> StreamLoad {
        StreamLoad {
            node: Some(node.into()),
            pod: Some(pod.into()),
            command,
        }
    }

    #[test]
    fn a_full_pod_parks_commands_and_a_release_wakes_one() {
        let mut s = StreamSlots::new(2, 1);
        let (a, b, c) = (NodeIndex::new(0), NodeIndex::new(1), NodeIndex::new(2));
        assert!(s.try_take(a, &load("n1", "ns/p1", true)));
        assert!(
            !s.try_take(b, &load("n1", "ns/p1", true)),
            "one command per pod"
        );
        // A log of the same pod is not a command: only the node bounds it.
        assert!(s.try_take(c, &load("n1", "ns/p1", false)));
        assert_eq!(s.release(a), vec![b]);
        assert!(s.try_take(b, &load("n1", "ns/p1", true)));
    }

    /// A timed-out command gives its kubelet's slot back at once and keeps its pod's under a
    /// key of its own until that key is released; a stream that is not a command gives all.
    #[test]
    fn a_timed_out_command_keeps_only_its_pod_slot() {
        let mut s = StreamSlots::new(1, 1);
        let n = |i| NodeIndex::new(i);
        assert!(s.try_take(n(0), &load("n1", "ns/p1", true)));
        assert!(!s.try_take(n(1), &load("n1", "ns/p2", true)), "n1 is full");
        assert!(!s.try_take(n(2), &load("n2", "ns/p1", true)), "p1 is busy");
        let (kept, woken) = s.release_but_pod(0, RUNTIME_KEYS);
        assert!(kept);
        assert_eq!(woken, vec![n(1)], "the kubelet's slot is free");
        assert!(s.try_take(n(1), &load("n1", "ns/p2", true)));
        assert!(
            !s.try_take(n(3), &load("n2", "ns/p1", true)),
            "p1 still held"
        );
        assert_eq!(s.release_key(RUNTIME_KEYS), vec![n(2)]);
        // Not a command: nothing is kept.
        assert!(s.try_take(n(4), &load("n3", "ns/p3", false)));
        assert_eq!(s.release_but_pod(4, RUNTIME_KEYS + 1), (false, vec![]));
        assert!(s.try_take(n(5), &load("n3", "ns/p4", false)));
    }

    #[test]
    fn a_full_node_parks_streams_of_every_pod_on_it() {
        let mut s = StreamSlots::new(2, 1);
        let n = |i| NodeIndex::new(i);
        assert!(s.try_take(n(0), &load("n1", "ns/p1", true)));
        assert!(s.try_take(n(1), &load("n1", "ns/p2", true)));
        assert!(!s.try_take(n(2), &load("n1", "ns/p3", false)));
        assert!(s.try_take(n(3), &load("n2", "ns/p4", true)), "another node");
        assert_eq!(s.release(n(1)), vec![n(2)]);
        assert!(s.release(n(9)).is_empty(), "held nothing");
    }

    #[tokio::test]
    async fn an_attempt_takes_slots_at_run_time_in_the_same_queues() {
        let gate = StreamGate::new(2, 1);
        let l = load("n1", "ns/p1", true);
        assert!(gate.try_take(NodeIndex::new(0), &l));
        let g = gate.clone();
        let waiting = tokio::spawn(gate.clone().scope(async move {
            let permit = acquire(&l).await;
            // The planned command is done by now, and a planned node waits behind us.
            assert!(!g.try_take(NodeIndex::new(1), &l));
            permit
        }));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "one command per pod: it waits");
        assert!(
            gate.release(NodeIndex::new(0)).is_empty(),
            "the attempt is woken, not a node"
        );
        let permit = waiting.await.unwrap();
        drop(permit);
        assert_eq!(gate.take_woken(), vec![NodeIndex::new(1)]);
        // Outside a run there is nothing to wait for.
        let _free = acquire(&load("n1", "ns/p1", true)).await;
    }

    /// A pod named by its name only: the plan takes its pod's slot, and the attempt, once it
    /// learned the node (`collect::api::node_slot`), that node's alone. It must not wait for
    /// the pod slot it holds, and planned streams on the node wait for it.
    #[tokio::test]
    async fn a_node_learned_while_running_is_taken_beside_the_planned_pod_slot() {
        let gate = StreamGate::new(1, 1);
        let named = StreamLoad {
            node: None,
            pod: Some("ns/p0".into()),
            command: true,
        };
        assert!(gate.try_take(NodeIndex::new(0), &named));
        let node_only = StreamLoad {
            node: Some("n1".into()),
            pod: None,
            command: false,
        };
        let permit = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            gate.clone().scope(async move { acquire(&node_only).await }),
        )
        .await
        .expect("the node's slot is free: no wait for the attempt's own pod");
        assert!(
            !gate.try_take(NodeIndex::new(1), &load("n1", "ns/p1", false)),
            "the node is full"
        );
        drop(permit);
        assert_eq!(gate.take_woken(), vec![NodeIndex::new(1)]);
    }

    #[test]
    fn a_stream_without_a_known_node_is_bounded_by_its_pod_only() {
        let mut s = StreamSlots::new(1, 1);
        let no_node = StreamLoad {
            node: None,
            pod: Some("ns/p".into()),
            command: true,
        };
        let other = StreamLoad {
            pod: Some("ns/q".into()),
            ..no_node.clone()
        };
        assert!(s.try_take(NodeIndex::new(0), &no_node));
        assert!(s.try_take(NodeIndex::new(1), &other));
        assert!(!s.try_take(NodeIndex::new(2), &no_node));
    }
}
