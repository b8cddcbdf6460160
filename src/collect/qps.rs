//! The client-side request budget of a collection (`run --qps`), so a collection never adds
//! more than that many short requests per second to an API server that may already be in
//! trouble, and adds fewer when the server says it is struggling.
//!
//! - A token bucket like kubectl's client (`rest.Config` QPS 50, burst 300): tokens refill at
//!   the current rate up to [`BURST_SECONDS`] seconds' worth, so a collection's first lists and
//!   gets go at once and a long one averages the rate.
//! - The rate adapts, additive increase and multiplicative decrease (as TCP does): a 429 (the
//!   API server's priority and fairness, or its max-in-flight filter, refusing us) halves it and
//!   empties the bucket, and its `Retry-After` holds every short request until then; answers
//!   that come much slower than the fastest seen (the server queueing) halve it too, at most
//!   once per [`DECREASE_INTERVAL`]; every good answer adds back about one request per second
//!   per second. The rate never goes above `--qps` nor below [`MIN_RATE`].
//! - Only short requests take tokens. Long-running requests, as the API server itself tells
//!   them apart (`WithMaxInFlightLimit`'s long-running check: watches, and the `log`, `exec`,
//!   `attach`, `portforward` and `proxy` subresources), hold a connection for as long as they
//!   take and are served by kubelets: the engine bounds them per node and per pod instead
//!   (`engine::Limits`).
//!
//! Written here rather than taken from `governor` (a GCRA limiter with a fixed quota) or
//! tower's `RateLimit` (a fixed number per period, no burst, and a `Clone` inner service, which
//! kube's boxed stack is not) because the rate itself changes with the server's answers.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::{header, Method, StatusCode};

/// The bucket holds this many seconds of the rate: kubectl's 300 for its 50 per second.
pub const BURST_SECONDS: f64 = 6.0;
/// The lowest rate the adaptation goes down to.
pub const MIN_RATE: f64 = 1.0;
/// At most one decrease per interval: the answers to requests sent before a decrease come
/// back after it and must not halve the rate again.
pub const DECREASE_INTERVAL: Duration = Duration::from_secs(1);
/// The longest `Retry-After` obeyed (a bigger one is a misconfigured server; the engine's own
/// retries still wait for it).
pub const MAX_PAUSE: Duration = Duration::from_secs(60);
/// Answers slower than this many times the fastest seen, and by more than
/// [`LATENCY_MARGIN`], mean the server is queueing our requests.
const LATENCY_FACTOR: f64 = 4.0;
const LATENCY_MARGIN: f64 = 0.2;
/// Weight of the newest answer in the moving average of latency.
const LATENCY_WEIGHT: f64 = 0.2;

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled: Instant,
    rate: f64,
    /// No token before this (a server's `Retry-After`).
    paused_until: Option<Instant>,
    decreased: Option<Instant>,
    /// Fastest answer seen and the moving average, in seconds.
    fastest: Option<f64>,
    average: Option<f64>,
}

/// The adaptive token bucket shared by every request of a client.
#[derive(Debug)]
pub struct Limiter {
    max_rate: f64,
    burst: f64,
    state: Mutex<State>,
}

impl Limiter {
    /// A limiter at most `max_rate` requests per second, starting there with a full bucket.
    pub fn new(max_rate: f64) -> Self {
        let burst = (max_rate * BURST_SECONDS).max(1.0);
        Limiter {
            max_rate,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                refilled: Instant::now(),
                rate: max_rate,
                paused_until: None,
                decreased: None,
                fastest: None,
                average: None,
            }),
        }
    }

    /// The current rate, requests per second.
    pub fn rate(&self) -> f64 {
        self.state.lock().expect("limiter lock").rate
    }

    /// Takes a token at `now`, or says how long until one is there.
    pub fn try_take_at(&self, now: Instant) -> Result<(), Duration> {
        let mut s = self.state.lock().expect("limiter lock");
        if let Some(until) = s.paused_until {
            if now < until {
                return Err(until - now);
            }
            s.paused_until = None;
            // Nothing refills during the pause.
            s.refilled = s.refilled.max(until);
        }
        let refill = now.saturating_duration_since(s.refilled).as_secs_f64() * s.rate;
        s.tokens = (s.tokens + refill).min(self.burst);
        s.refilled = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - s.tokens) / s.rate))
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        while let Err(wait) = self.try_take_at(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }

    /// The server refused a request with 429 at `now`: halve the rate, empty the bucket, and
    /// hold every request until its `Retry-After`.
    pub fn throttled_at(&self, now: Instant, retry_after: Option<Duration>) {
        let mut s = self.state.lock().expect("limiter lock");
        if let Some(wait) = retry_after {
            let until = now + wait.min(MAX_PAUSE);
            s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        }
        Self::decrease(&mut s, now);
    }

    /// A short request was answered (not with 429) after `latency` at `now`.
    pub fn answered_at(&self, now: Instant, latency: Duration) {
        let mut s = self.state.lock().expect("limiter lock");
        let l = latency.as_secs_f64();
        let fastest = s.fastest.map_or(l, |f| f.min(l));
        let average = s
            .average
            .map_or(l, |a| a * (1.0 - LATENCY_WEIGHT) + l * LATENCY_WEIGHT);
        s.fastest = Some(fastest);
        s.average = Some(average);
        if average > fastest * LATENCY_FACTOR && average > fastest + LATENCY_MARGIN {
            Self::decrease(&mut s, now);
        } else if s.rate < self.max_rate {
            // About one more request per second for every second at the current rate.
            s.rate = (s.rate + 1.0 / s.rate).min(self.max_rate);
        }
    }

    fn decrease(s: &mut State, now: Instant) {
        if s.decreased
            .is_some_and(|d| now.saturating_duration_since(d) < DECREASE_INTERVAL)
        {
            return;
        }
        s.decreased = Some(now);
        s.rate = (s.rate / 2.0).max(MIN_RATE);
        s.tokens = s.tokens.min(0.0);
        s.refilled = now;
    }
}

/// Whether a request is long-running in the API server's sense: it holds its connection for
/// as long as the stream lasts, and is bounded per node and pod rather than by the rate.
pub fn long_running(method: &Method, uri: &hyper::Uri) -> bool {
    let watch = uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    if watch && method == Method::GET {
        return true;
    }
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    // /api/v1/namespaces/NS/RESOURCE/NAME/SUBRESOURCE[/...] (or /apis/GROUP/VERSION/...)
    let rest = match segments.as_slice() {
        ["api", _, rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => return false,
    };
    let after_name = match rest {
        ["namespaces", _, _, _, sub @ ..] => sub,
        [_, _, sub @ ..] => sub,
        _ => return false,
    };
    matches!(
        after_name.first(),
        Some(&("log" | "exec" | "attach" | "portforward" | "proxy"))
    )
}

/// The layer to put on kube's client stack.
#[derive(Clone)]
pub struct QpsLayer {
    limiter: Arc<Limiter>,
}

impl QpsLayer {
    pub fn new(qps: f64) -> Self {
        QpsLayer {
            limiter: Arc::new(Limiter::new(qps)),
        }
    }

    /// The shared limiter, to read its current rate.
    pub fn limiter(&self) -> Arc<Limiter> {
        self.limiter.clone()
    }
}

impl<S> tower::Layer<S> for QpsLayer {
    type Service = Qps<S>;
    fn layer(&self, inner: S) -> Qps<S> {
        Qps {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

pub struct Qps<S> {
    inner: S,
    limiter: Arc<Limiter>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> tower::Service<hyper::Request<B>> for Qps<S>
where
    S: tower::Service<hyper::Request<B>, Response = hyper::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    RB: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    /// The token is awaited in the returned future, not in `poll_ready`: kube's client queues
    /// every request through one buffer, and a wait there would hold the streams back too. The
    /// inner stack's futures do nothing until polled (hyper sends on the first poll).
    fn call(&mut self, req: hyper::Request<B>) -> Self::Future {
        if long_running(req.method(), req.uri()) {
            return Box::pin(self.inner.call(req));
        }
        let limiter = self.limiter.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            limiter.acquire().await;
            let sent = Instant::now();
            let res = fut.await?;
            let now = Instant::now();
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                let retry_after = res
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                limiter.throttled_at(now, retry_after);
            } else {
                limiter.answered_at(now, now - sent);
            }
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn the_bucket_allows_its_burst_then_the_rate() {
        let l = Limiter::new(50.0);
        let t0 = Instant::now();
        for _ in 0..300 {
            l.try_take_at(t0).expect("the burst is six seconds' worth");
        }
        let wait = l.try_take_at(t0).unwrap_err();
        assert!(wait <= Duration::from_millis(21), "{wait:?}");
        assert!(l.try_take_at(at(t0, 20)).is_ok(), "one token per 20 ms");
    }

    #[test]
    fn a_429_halves_the_rate_once_per_interval_and_waits_for_retry_after() {
        let l = Limiter::new(40.0);
        let t0 = Instant::now();
        l.throttled_at(t0, Some(Duration::from_secs(2)));
        assert_eq!(l.rate(), 20.0);
        // Answers to requests already sent: no second halving within the interval.
        l.throttled_at(at(t0, 100), None);
        assert_eq!(l.rate(), 20.0);
        let wait = l.try_take_at(at(t0, 500)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(1500), "held until Retry-After");
        // After the pause the bucket is empty: tokens come at the new rate only.
        assert!(l.try_take_at(at(t0, 2000)).is_err());
        assert!(l.try_take_at(at(t0, 2050)).is_ok());
        l.throttled_at(at(t0, 2100), None);
        assert_eq!(l.rate(), 10.0, "a later 429 halves again");
    }

    #[test]
    fn good_answers_raise_the_rate_back_but_never_above_the_maximum() {
        let l = Limiter::new(8.0);
        let t0 = Instant::now();
        l.throttled_at(t0, None);
        assert_eq!(l.rate(), 4.0);
        for i in 0..200 {
            l.answered_at(at(t0, i), Duration::from_millis(5));
        }
        assert_eq!(l.rate(), 8.0);
    }

    #[test]
    fn rising_latency_lowers_the_rate() {
        let l = Limiter::new(50.0);
        let t0 = Instant::now();
        for i in 0..10 {
            l.answered_at(at(t0, i), Duration::from_millis(5));
        }
        assert_eq!(l.rate(), 50.0);
        // A CPU-bound server answering in 20 ms instead of 5 is not struggling enough.
        for i in 0..20 {
            l.answered_at(at(t0, 10 + i), Duration::from_millis(20));
        }
        assert_eq!(l.rate(), 50.0);
        for i in 0..20 {
            l.answered_at(at(t0, 100 + i), Duration::from_millis(800));
        }
        assert_eq!(l.rate(), 25.0);
    }

    #[test]
    fn streams_are_long_running_and_lists_are_not() {
        let long = |m: Method, u: &str| long_running(&m, &u.parse().unwrap());
        assert!(long(
            Method::GET,
            "/api/v1/namespaces/ns/pods/p/log?container=c"
        ));
        assert!(long(
            Method::POST,
            "/api/v1/namespaces/ns/pods/p/exec?command=ls"
        ));
        assert!(long(
            Method::GET,
            "/api/v1/namespaces/ns/pods/p/proxy/metrics"
        ));
        assert!(long(Method::GET, "/api/v1/nodes/n1/proxy/stats/summary"));
        assert!(long(Method::GET, "/api/v1/namespaces/ns/pods?watch=true"));
        assert!(!long(Method::GET, "/api/v1/namespaces/ns/pods?limit=500"));
        assert!(!long(Method::GET, "/api/v1/namespaces/ns/pods/p"));
        assert!(!long(Method::GET, "/api/v1/namespaces/ns/pods/p/status"));
        assert!(!long(
            Method::GET,
            "/apis/apps/v1/namespaces/ns/statefulsets/s/scale"
        ));
        assert!(!long(
            Method::GET,
            "/apis/kudo.dev/v1beta1/namespaces/ns/instances"
        ));
        // A pod named like a subresource is still a get.
        assert!(!long(Method::GET, "/api/v1/namespaces/ns/pods/log"));
    }

    #[tokio::test]
    async fn the_service_paces_short_requests_and_lets_streams_through() {
        use tower::{Service, ServiceExt};
        let layer = QpsLayer::new(20.0);
        let mut svc = tower::Layer::layer(
            &layer,
            tower::service_fn(|_r: hyper::Request<()>| async move {
                Ok::<_, std::convert::Infallible>(hyper::Response::new(()))
            }),
        );
        let get = || {
            hyper::Request::get("/api/v1/namespaces/ns/pods/p")
                .body(())
                .unwrap()
        };
        let log = || {
            hyper::Request::get("/api/v1/namespaces/ns/pods/p/log")
                .body(())
                .unwrap()
        };
        // The burst (120) goes at once; 5 more need about 0.25 s.
        let started = Instant::now();
        for _ in 0..125 {
            svc.ready().await.unwrap().call(get()).await.unwrap();
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        // The bucket is empty; logs do not wait for it.
        let started = Instant::now();
        for _ in 0..50 {
            svc.ready().await.unwrap().call(log()).await.unwrap();
        }
        assert!(started.elapsed() < Duration::from_millis(100));
    }
}
