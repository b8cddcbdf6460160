//! The limits keyed by what an attempt loads ([`StreamLoad`]): long-running streams (logs,
//! exec) at most `per_node` at a time on one node's kubelet, and commands at most `per_pod` at
//! a time in one pod. A node whose node or pod is full waits here, parked on that key, without
//! holding a slot of the global or class limits; the attempt that frees the key wakes one
//! waiter, so a full node never costs a scan of everything queued behind it.
//!
//! Nodes and pods are interned to small ids: a 5,000-pod run keeps one name per node and pod,
//! not one per task.

use std::collections::{HashMap, VecDeque};

use petgraph::graph::NodeIndex;

use super::task::StreamLoad;

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
    /// Nodes waiting for each full id, first come first served.
    waiting: HashMap<u32, VecDeque<NodeIndex>>,
    /// What each running stream attempt holds, by node index.
    held: HashMap<usize, Held>,
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

    /// Takes the slots `load` needs for `idx`, or parks `idx` on the first full key and
    /// answers false.
    pub fn try_take(&mut self, idx: NodeIndex, load: &StreamLoad) -> bool {
        let node = load.node.as_deref().map(|n| self.id("node", n));
        let pod = match (&load.pod, load.command) {
            (Some(p), true) => Some(self.id("pod", p)),
            _ => None,
        };
        for (id, limit) in [(pod, self.per_pod), (node, self.per_node)] {
            if let Some(id) = id {
                if self.running[id as usize] >= limit {
                    self.waiting.entry(id).or_default().push_back(idx);
                    return false;
                }
            }
        }
        if let Some(n) = node {
            self.running[n as usize] += 1;
        }
        if let Some(p) = pod {
            self.running[p as usize] += 1;
        }
        self.held.insert(idx.index(), Held { node, pod });
        true
    }

    /// Gives back what `idx` held (nothing when it held no stream) and returns the waiting
    /// nodes that may now start, at most one per freed key.
    pub fn release(&mut self, idx: NodeIndex) -> Vec<NodeIndex> {
        let Some(held) = self.held.remove(&idx.index()) else {
            return Vec::new();
        };
        let mut wake = Vec::new();
        for id in [held.pod, held.node].into_iter().flatten() {
            self.running[id as usize] -= 1;
            if let Some(q) = self.waiting.get_mut(&id) {
                if let Some(n) = q.pop_front() {
                    wake.push(n);
                }
                if q.is_empty() {
                    self.waiting.remove(&id);
                }
            }
        }
        wake
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
