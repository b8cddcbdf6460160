//! What the simulated cluster was asked: request counts by kind and the most requests ever in
//! flight at once, so tests can check that a collection keeps its load on the API server
//! bounded (`SimHandle::state().metrics.snapshot()`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::state::SimState;

/// Counters, updated by the `track` middleware.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    lists: AtomicU64,
    gets: AtomicU64,
    logs: AtomicU64,
    execs: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Every request, discovery and health checks included.
    pub requests: u64,
    /// Collection GETs under `/api` and `/apis` (lists and watches).
    pub lists: u64,
    /// GETs of one object.
    pub gets: u64,
    pub logs: u64,
    pub execs: u64,
    /// The most requests being answered at the same time (streams count until they end).
    pub max_in_flight: u64,
}

impl Metrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            lists: self.lists.load(Ordering::Relaxed),
            gets: self.gets.load(Ordering::Relaxed),
            logs: self.logs.load(Ordering::Relaxed),
            execs: self.execs.load(Ordering::Relaxed),
            max_in_flight: self.max_in_flight.load(Ordering::Relaxed),
        }
    }

    fn classify(&self, req: &Request) {
        let path = req.uri().path();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let rest: &[&str] = match segs.as_slice() {
            ["api", _, rest @ ..] => rest,
            ["apis", _, _, rest @ ..] => rest,
            _ => return,
        };
        let counter = match rest {
            [] => return,
            [.., "log"] if rest.len() == 5 => &self.logs,
            [.., "exec"] if rest.len() == 5 => &self.execs,
            [_] | ["namespaces", _, _] => &self.lists,
            _ if req.method() == axum::http::Method::GET => &self.gets,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Decrements the in-flight count when the response (or its stream) is done.
struct InFlight(Arc<SimState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The middleware: counts the request and tracks how many are in flight until the body ends.
pub async fn track(State(state): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let m = &state.metrics;
    m.requests.fetch_add(1, Ordering::Relaxed);
    m.classify(&req);
    let now = m.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    m.max_in_flight.fetch_max(now, Ordering::Relaxed);
    let guard = InFlight(state.clone());
    let path = req.uri().path();
    if !super::load::long_running(path, req.uri().query()) {
        state.load.request();
    }
    // Logs and watches stream: they stay in flight until their body ends. Other bodies are
    // whole when the handler returns, and are left untouched (their length stays known).
    let streams = path.ends_with("/log")
        || req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    let resp = next.run(req).await;
    if !streams {
        drop(guard);
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let stream = futures::stream::unfold(
        (body.into_data_stream(), Some(guard)),
        |(mut s, guard)| async move {
            use futures::StreamExt;
            match s.next().await {
                Some(item) => Some((item, (s, guard))),
                None => {
                    drop(guard);
                    None
                }
            }
        },
    );
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(m: &Metrics, method: &str, uri: &str) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        m.classify(&req);
    }

    #[test]
    fn requests_are_classified_by_path() {
        let m = Metrics::default();
        classify(&m, "GET", "/api/v1/pods");
        classify(&m, "GET", "/api/v1/namespaces/ns/pods?limit=2");
        classify(&m, "GET", "/apis/apps/v1/namespaces/ns/statefulsets");
        classify(&m, "GET", "/api/v1/namespaces/ns/pods/p");
        classify(&m, "GET", "/api/v1/nodes/n1");
        classify(&m, "GET", "/api/v1/namespaces/ns/pods/p/log");
        classify(&m, "POST", "/api/v1/namespaces/ns/pods/p/exec");
        classify(&m, "GET", "/apis");
        let s = m.snapshot();
        assert_eq!((s.lists, s.gets, s.logs, s.execs), (3, 2, 1, 1));
    }
}
