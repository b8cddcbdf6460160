//! The load a client puts on the simulated cluster, as its parts would feel it: streams (logs,
//! exec sessions) in flight on each node's kubelet and exec sessions in each pod, with the most
//! seen at once, and short API requests (everything but logs, exec, proxies and watches) per
//! second. Tests read it to check that a collection's per-node and per-pod limits hold and that
//! a throttling server slows it down (`SimHandle::state().load.snapshot()`).
//!
//! A stream is counted while the kubelet would serve it, and stops counting before the client
//! can see its end, so that a client which starts its next stream the moment one ends is never
//! seen running both: a log from its handler until its last byte is handed to the body (a
//! `follow` log until its body ends), an exec from its upgrade until its exit status is known,
//! before the status is sent. [`StreamGuard`] gives it back when dropped.
//!
//! Each stream carries a label a client can recognise (what it asked for: `exec NS/POD
//! nodetool ring`), and the snapshot names the streams open on the busiest node at the moment
//! its count first reached the maximum, so a test whose limit did not hold says which
//! requests overlapped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    now: u32,
    max: u32,
}

impl Count {
    fn up(&mut self) {
        self.now += 1;
        self.max = self.max.max(self.now);
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Streams per node.
    nodes: HashMap<String, Count>,
    /// Exec sessions per pod (`namespace/name`).
    pods: HashMap<String, Count>,
    /// Streams in all.
    streams: Count,
    /// Open streams: id, node and label.
    open: Vec<(u64, Option<String>, String)>,
    next_id: u64,
    /// The most streams seen at once on one node, and the labels of those streams.
    max_node: u32,
    busiest: Vec<String>,
    /// Short requests, by whole seconds since the server started.
    per_second: Vec<u32>,
}

/// The counters; cheap to share (one lock, taken once per request).
#[derive(Debug)]
pub struct Load {
    started: Instant,
    inner: Arc<Mutex<Inner>>,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            started: Instant::now(),
            inner: Arc::default(),
        }
    }
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSnapshot {
    /// The most streams seen at once on one node.
    pub max_streams_per_node: u32,
    /// The most exec sessions seen at once in one pod.
    pub max_execs_per_pod: u32,
    /// The most streams seen at once in the whole cluster.
    pub max_streams: u32,
    /// Streams open now (0 once a client is done).
    pub streams_now: u32,
    /// Short requests in each second since the server started.
    pub requests_per_second: Vec<u32>,
    /// The streams open on the busiest node when it first reached `max_streams_per_node`,
    /// each as `node #id label`.
    pub busiest_node: Vec<String>,
}

/// A stream being served; dropping it ends it in the counts.
#[derive(Debug)]
pub struct StreamGuard {
    inner: Arc<Mutex<Inner>>,
    id: u64,
    node: Option<String>,
    exec_pod: Option<String>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut i = self.inner.lock().expect("load lock");
        i.streams.now -= 1;
        if let Some(at) = i.open.iter().position(|(id, ..)| *id == self.id) {
            i.open.swap_remove(at);
        }
        if let Some(n) = self.node.take() {
            if let Some(c) = i.nodes.get_mut(&n) {
                c.now -= 1;
            }
        }
        if let Some(p) = self.exec_pod.take() {
            if let Some(c) = i.pods.get_mut(&p) {
                c.now -= 1;
            }
        }
    }
}

impl Load {
    /// A stream starts on `node`'s kubelet (unknown for a pod without one), for pod
    /// `namespace/name`; `exec` counts it in the pod's exec sessions too. `label` says what
    /// the client asked for, for [`LoadSnapshot::busiest_node`].
    pub fn stream(&self, node: Option<&str>, pod: &str, exec: bool, label: String) -> StreamGuard {
        let mut i = self.inner.lock().expect("load lock");
        let i = &mut *i;
        i.streams.up();
        let id = i.next_id;
        i.next_id += 1;
        i.open.push((id, node.map(str::to_string), label));
        if let Some(n) = node {
            let c = i.nodes.entry(n.to_string()).or_default();
            c.up();
            if c.now > i.max_node {
                i.max_node = c.now;
                i.busiest = i
                    .open
                    .iter()
                    .filter(|(_, on, _)| on.as_deref() == Some(n))
                    .map(|(id, _, label)| format!("{n} #{id} {label}"))
                    .collect();
            }
        }
        if exec {
            i.pods.entry(pod.to_string()).or_default().up();
        }
        StreamGuard {
            inner: self.inner.clone(),
            id,
            node: node.map(str::to_string),
            exec_pod: exec.then(|| pod.to_string()),
        }
    }

    /// A short request arrived now.
    pub fn request(&self) {
        let second = self.started.elapsed().as_secs() as usize;
        let mut i = self.inner.lock().expect("load lock");
        if i.per_second.len() <= second {
            i.per_second.resize(second + 1, 0);
        }
        i.per_second[second] += 1;
    }

    pub fn snapshot(&self) -> LoadSnapshot {
        let i = self.inner.lock().expect("load lock");
        LoadSnapshot {
            max_streams_per_node: i.nodes.values().map(|c| c.max).max().unwrap_or(0),
            max_execs_per_pod: i.pods.values().map(|c| c.max).max().unwrap_or(0),
            max_streams: i.streams.max,
            streams_now: i.streams.now,
            requests_per_second: i.per_second.clone(),
            busiest_node: i.busiest.clone(),
        }
    }
}

/// The namespace, pod and subresource of a pod subresource path
/// (`/api/v1/namespaces/NS/pods/NAME/log`).
pub fn pod_subresource(path: &str) -> Option<(&str, &str, &str)> {
    let mut s = path.trim_matches('/').split('/');
    match (
        s.next(),
        s.next(),
        s.next(),
        s.next(),
        s.next(),
        s.next(),
        s.next(),
    ) {
        (
            Some("api"),
            Some("v1"),
            Some("namespaces"),
            Some(ns),
            Some("pods"),
            Some(pod),
            Some(sub),
        ) => Some((ns, pod, sub)),
        _ => None,
    }
}

/// Whether a request is long-running in the API server's sense (a watch, or a log, exec,
/// attach, port-forward or proxy): not counted in the short requests per second.
pub fn long_running(path: &str, query: Option<&str>) -> bool {
    let watch = query.is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    watch
        || path.contains("/proxy")
        || pod_subresource(path)
            .is_some_and(|(_, _, sub)| matches!(sub, "log" | "exec" | "attach" | "portforward"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_counted_per_node_and_execs_per_pod_until_dropped() {
        let l = Load::default();
        let a = l.stream(Some("n1"), "ns/p1", true, "exec a".into());
        let b = l.stream(Some("n1"), "ns/p1", false, "log b".into());
        let c = l.stream(Some("n2"), "ns/p2", true, "exec c".into());
        assert_eq!(l.snapshot().max_streams_per_node, 2);
        assert_eq!(l.snapshot().max_execs_per_pod, 1);
        assert_eq!(
            l.snapshot().busiest_node,
            vec!["n1 #0 exec a", "n1 #1 log b"],
            "the streams that made the busiest node's maximum"
        );
        drop((a, b));
        let d = l.stream(Some("n1"), "ns/p1", true, "exec d".into());
        let s = l.snapshot();
        assert_eq!((s.max_streams_per_node, s.max_execs_per_pod), (2, 1));
        assert_eq!((s.max_streams, s.streams_now), (3, 2));
        drop((c, d));
        assert_eq!(l.snapshot().streams_now, 0);
    }

    #[test]
    fn short_requests_are_counted_by_second() {
        let l = Load::default();
        l.request();
        l.request();
        assert_eq!(l.snapshot().requests_per_second, vec![2]);
    }

    #[test]
    fn long_running_requests_are_told_apart() {
        assert!(long_running("/api/v1/namespaces/ns/pods/p/log", None));
        assert!(long_running(
            "/api/v1/namespaces/ns/pods/p/exec",
            Some("command=ls")
        ));
        assert!(long_running("/api/v1/pods", Some("watch=true")));
        assert!(long_running(
            "/api/v1/namespaces/ns/services/s/proxy/x",
            None
        ));
        assert!(!long_running("/api/v1/namespaces/ns/pods/p", None));
        assert!(!long_running(
            "/api/v1/namespaces/ns/pods",
            Some("limit=500")
        ));
        assert_eq!(
            pod_subresource("/api/v1/namespaces/ns/pods/p/log"),
            Some(("ns", "p", "log"))
        );
    }
}
