//! Fault injection, seeded so a run can be reproduced: latency with jitter, 500/503 errors,
//! 429 with Retry-After, connections reset in the middle of a body, and pods that vanish once
//! they have been listed. The stalled log stream is the log handler's (it reads
//! `FaultConfig::stall_logs_after_bytes` from `Faults::config`).
//!
//! `Faults` holds the state; `middleware` applies it to every request of the router.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::scenario::FaultConfig;
use super::state::SimState;
use super::status::ApiStatus;
use super::SimError;

/// What the dice said for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roll {
    pub delay: Duration,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Answer 500 or 503.
    Error(u16),
    /// Answer 429 with Retry-After.
    Throttle,
    /// Send half the body, then fail the connection.
    Reset,
}

/// The faults in force and their state.
#[derive(Debug)]
pub struct Faults {
    /// The effective configuration (scenario, then flag overrides).
    pub config: FaultConfig,
    rng: Mutex<StdRng>,
    /// `config.route_latency`, compiled.
    routes: Vec<(regex::Regex, u64, u64)>,
    /// `exec_latency`, compiled.
    execs: Vec<(regex::Regex, Duration)>,
    /// (namespace, name) of vanishing pods that a list has returned: they are gone now.
    vanished: Mutex<HashSet<(String, String)>>,
    /// How many lists returned each vanishing pod so far (see `vanish_after_lists`).
    listed: Mutex<std::collections::HashMap<(String, String), u32>>,
    /// Request-level faults are switched off while false (see [`Faults::set_enabled`]).
    enabled: AtomicBool,
    /// How many requests each fault hit, for tests and benchmarks to report.
    errors: AtomicU64,
    throttles: AtomicU64,
    resets: AtomicU64,
}

/// How many requests the faults hit so far (see [`Faults::injected`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injected {
    /// Answered 500 or 503.
    pub errors: u64,
    /// Answered 429.
    pub throttles: u64,
    /// Cut in the middle of the body (upgraded exec connections are not cut).
    pub resets: u64,
}

impl Faults {
    /// Checks the configuration (shares between 0 and 1, route regexes) and seeds the dice.
    pub fn new(config: FaultConfig) -> Result<Faults, SimError> {
        for (name, v) in [
            ("errorRate", config.error_rate),
            ("throttleRate", config.throttle_rate),
            ("resetRate", config.reset_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(SimError::Faults(format!(
                    "fault {name} is {v}; give a share between 0.0 and 1.0"
                )));
            }
        }
        let routes = config
            .route_latency
            .iter()
            .map(|r| {
                regex::Regex::new(&r.path)
                    .map(|re| (re, r.latency_ms, r.jitter_ms))
                    .map_err(|e| {
                        SimError::Faults(format!(
                            "fault routeLatency path {:?} is not a valid regex: {e}",
                            r.path
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let execs = config
            .exec_latency
            .iter()
            .map(|e| {
                regex::Regex::new(&e.command)
                    .map(|re| (re, Duration::from_millis(e.latency_ms)))
                    .map_err(|err| {
                        SimError::Faults(format!(
                            "execLatency command {:?} is not a valid regex: {err}",
                            e.command
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rng = StdRng::seed_from_u64(config.seed);
        Ok(Faults {
            config,
            rng: Mutex::new(rng),
            routes,
            execs,
            vanished: Mutex::new(HashSet::new()),
            listed: Mutex::new(std::collections::HashMap::new()),
            enabled: AtomicBool::new(true),
            errors: AtomicU64::new(0),
            throttles: AtomicU64::new(0),
            resets: AtomicU64::new(0),
        })
    }

    /// Whether any request-level fault is configured (the middleware is a no-op otherwise).
    pub fn active(&self) -> bool {
        let c = &self.config;
        self.enabled.load(Ordering::Relaxed)
            && (c.latency_ms > 0
                || c.jitter_ms > 0
                || !self.routes.is_empty()
                || c.error_rate > 0.0
                || c.throttle_rate > 0.0
                || c.reset_rate > 0.0)
    }

    /// Switches the request-level faults (latency, errors, throttling, resets) off or back on,
    /// so one server can answer a fault-free run and then a faulty one with the same content
    /// (its logs and timestamps are anchored at its start). Vanishing pods are not affected.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// How many requests each fault has hit since the server started.
    pub fn injected(&self) -> Injected {
        Injected {
            errors: self.errors.load(Ordering::Relaxed),
            throttles: self.throttles.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
        }
    }

    /// Draws the fate of one request. Errors are drawn before throttling, then resets, each
    /// from one uniform number so the shares add up as configured.
    pub fn roll(&self) -> Roll {
        self.roll_for("")
    }

    /// Like `roll`, with the latency of the first `route_latency` rule matching `path` added.
    pub fn roll_for(&self, path: &str) -> Roll {
        let c = &self.config;
        let (route_ms, route_jitter) = self
            .routes
            .iter()
            .find(|(re, _, _)| re.is_match(path))
            .map_or((0, 0), |(_, l, j)| (*l, *j));
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let jitter_max = c.jitter_ms + route_jitter;
        let jitter = if jitter_max > 0 {
            rng.random_range(0..=jitter_max)
        } else {
            0
        };
        let delay = Duration::from_millis(c.latency_ms + route_ms + jitter);
        let x: f64 = rng.random();
        let outcome = if x < c.error_rate {
            Outcome::Error(if rng.random_bool(0.5) { 500 } else { 503 })
        } else if x < c.error_rate + c.throttle_rate {
            Outcome::Throttle
        } else if x < c.error_rate + c.throttle_rate + c.reset_rate {
            Outcome::Reset
        } else {
            Outcome::Pass
        };
        Roll { delay, outcome }
    }

    /// How long a command runs (`exec_latency`), zero when no rule matches.
    pub fn exec_latency(&self, argv: &[String]) -> Duration {
        if self.execs.is_empty() {
            return Duration::ZERO;
        }
        let line = argv.join(" ");
        self.execs
            .iter()
            .find(|(re, _)| re.is_match(&line))
            .map_or(Duration::ZERO, |(_, d)| *d)
    }

    /// Whether a pod is configured to vanish (by `name` or `namespace/name`).
    fn vanishes(&self, namespace: &str, name: &str) -> bool {
        self.config
            .vanish_pods
            .iter()
            .any(|p| p == name || *p == format!("{namespace}/{name}"))
    }

    /// Called with the pods a list returned: vanishing ones are gone from now on, or after
    /// `vanish_after_lists` lists.
    pub fn note_listed(&self, namespace: &str, name: &str) {
        if self.vanishes(namespace, name) {
            let key = (namespace.to_string(), name.to_string());
            let mut listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
            let n = listed.entry(key).or_insert(0);
            *n += 1;
            if *n < self.config.vanish_after_lists.unwrap_or(1).max(1) {
                return;
            }
            drop(listed);
            self.vanished
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((namespace.to_string(), name.to_string()));
        }
    }

    /// Whether a pod has vanished (GET, log and exec answer 404).
    pub fn is_vanished(&self, namespace: &str, name: &str) -> bool {
        self.vanished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&(namespace.to_string(), name.to_string()))
    }
}

/// The axum middleware: delays, fails, throttles or cuts responses as the dice say.
/// Health endpoints are spared so that readiness checks of the harness stay reliable.
pub async fn middleware(State(state): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let faults = &state.faults;
    let path = req.uri().path();
    if !faults.active() || matches!(path, "/healthz" | "/readyz" | "/livez") {
        return next.run(req).await;
    }
    let roll = faults.roll_for(path);
    if !roll.delay.is_zero() {
        tokio::time::sleep(roll.delay).await;
    }
    let count = |c: &AtomicU64| {
        c.fetch_add(1, Ordering::Relaxed);
    };
    match roll.outcome {
        Outcome::Pass => next.run(req).await,
        Outcome::Error(500) => {
            count(&faults.errors);
            ApiStatus::internal(
            "an error on the server (\"injected fault\") has prevented the request from succeeding",
            )
            .into_response()
        }
        Outcome::Error(_) => {
            count(&faults.errors);
            let mut s = ApiStatus::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            );
            s.retry_after = Some(faults.config.retry_after_seconds);
            s.into_response()
        }
        Outcome::Throttle => {
            count(&faults.throttles);
            ApiStatus::too_many_requests(faults.config.retry_after_seconds).into_response()
        }
        Outcome::Reset => {
            let resp = next.run(req).await;
            if resp.status() != axum::http::StatusCode::SWITCHING_PROTOCOLS {
                count(&faults.resets);
            }
            cut_in_half(resp).await
        }
    }
}

/// Bytes sent before the cut when the body's length is not known (streams: logs, watches).
const CUT_UNKNOWN_LENGTH_AT: u64 = 16 * 1024;

/// Sends the first half of the body (or its first 16 KiB when its length is unknown) and then
/// fails the stream: hyper aborts the connection (HTTP/1.1) or resets the stream (HTTP/2), which
/// is what a dropped connection looks like to the client. Streams are cut without buffering.
async fn cut_in_half(resp: Response) -> Response {
    if resp.status() == axum::http::StatusCode::SWITCHING_PROTOCOLS {
        // An upgraded connection (exec) has no body to cut.
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let limit = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(CUT_UNKNOWN_LENGTH_AT, |n| n / 2);
    // The client must not know the real length, or it could tell the body is short before
    // reading it; a chunked body that errors is what a reset connection looks like.
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let stream = truncate_then_fail(body.into_data_stream(), limit);
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Passes `limit` bytes of `inner` through, then ends with a connection-reset error.
fn truncate_then_fail<S>(
    inner: S,
    limit: u64,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send
where
    S: futures::Stream<Item = Result<bytes::Bytes, axum::Error>> + Send + 'static,
{
    let reset = || {
        std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected fault: connection reset in the middle of the body",
        )
    };
    futures::stream::unfold(
        (Box::pin(inner), 0u64, false),
        move |(mut inner, sent, done)| async move {
            if done {
                return None;
            }
            if sent >= limit {
                return Some((Err(reset()), (inner, sent, true)));
            }
            match inner.next().await {
                Some(Ok(chunk)) => {
                    let room = usize::try_from(limit - sent).unwrap_or(usize::MAX);
                    let chunk = if chunk.len() > room {
                        chunk.slice(..room)
                    } else {
                        chunk
                    };
                    let sent = sent + chunk.len() as u64;
                    Some((Ok(chunk), (inner, sent, false)))
                }
                Some(Err(e)) => Some((
                    Err(std::io::Error::other(e.to_string())),
                    (inner, sent, true),
                )),
                // Shorter than the cut point: still fail at the end, the body never completes.
                None => Some((Err(reset()), (inner, sent, true))),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults_and_shares_roughly_as_configured() {
        let cfg = FaultConfig {
            seed: 7,
            error_rate: 0.1,
            throttle_rate: 0.2,
            reset_rate: 0.1,
            jitter_ms: 5,
            ..FaultConfig::default()
        };
        let a = Faults::new(cfg.clone()).unwrap();
        let b = Faults::new(cfg).unwrap();
        let ra: Vec<Roll> = (0..2000).map(|_| a.roll()).collect();
        let rb: Vec<Roll> = (0..2000).map(|_| b.roll()).collect();
        assert_eq!(ra, rb);
        let throttled = ra.iter().filter(|r| r.outcome == Outcome::Throttle).count();
        assert!((300..500).contains(&throttled), "{throttled}");
        let errors = ra
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Error(_)))
            .count();
        assert!((120..280).contains(&errors), "{errors}");
        assert!(ra.iter().all(|r| r.delay <= Duration::from_millis(5)));
    }

    #[tokio::test]
    async fn truncated_streams_send_the_limit_then_fail() {
        let chunks = vec![
            Ok(bytes::Bytes::from_static(b"0123456789")),
            Ok(bytes::Bytes::from_static(b"abcdefghij")),
        ];
        let out: Vec<_> = truncate_then_fail(futures::stream::iter(chunks), 15)
            .collect()
            .await;
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().unwrap().as_ref(), b"0123456789");
        assert_eq!(out[1].as_ref().unwrap().as_ref(), b"abcde");
        assert_eq!(
            out[2].as_ref().unwrap_err().kind(),
            std::io::ErrorKind::ConnectionReset
        );
    }

    #[test]
    fn route_latency_adds_to_the_matching_paths_only() {
        let f = Faults::new(FaultConfig {
            latency_ms: 5,
            route_latency: vec![super::super::scenario::RouteLatency {
                path: "/log$".into(),
                latency_ms: 100,
                jitter_ms: 0,
            }],
            ..FaultConfig::default()
        })
        .unwrap();
        assert!(f.active());
        f.set_enabled(false);
        assert!(!f.active());
        f.set_enabled(true);
        assert!(f.active());
        assert_eq!(
            f.roll_for("/api/v1/namespaces/n/pods/p/log").delay,
            Duration::from_millis(105)
        );
        assert_eq!(f.roll_for("/api/v1/pods").delay, Duration::from_millis(5));
        let bad = Faults::new(FaultConfig {
            route_latency: vec![super::super::scenario::RouteLatency {
                path: "(".into(),
                latency_ms: 1,
                jitter_ms: 0,
            }],
            ..FaultConfig::default()
        });
        assert!(bad.unwrap_err().to_string().contains("not a valid regex"));
        let bad = Faults::new(FaultConfig {
            error_rate: 1.5,
            ..FaultConfig::default()
        });
        assert!(bad.unwrap_err().to_string().contains("between 0.0 and 1.0"));
    }

    #[test]
    fn pods_vanish_only_once_listed() {
        let f = Faults::new(FaultConfig {
            vanish_pods: vec!["p1".into(), "ns2/p2".into()],
            ..FaultConfig::default()
        })
        .unwrap();
        assert!(!f.is_vanished("ns", "p1"));
        f.note_listed("ns", "p1");
        f.note_listed("ns", "p2");
        f.note_listed("ns2", "p2");
        f.note_listed("ns", "other");
        assert!(f.is_vanished("ns", "p1"));
        assert!(!f.is_vanished("ns", "p2"));
        assert!(f.is_vanished("ns2", "p2"));
        assert!(!f.is_vanished("ns", "other"));

        let f = Faults::new(FaultConfig {
            vanish_pods: vec!["p1".into()],
            vanish_after_lists: Some(2),
            ..FaultConfig::default()
        })
        .unwrap();
        f.note_listed("ns", "p1");
        assert!(!f.is_vanished("ns", "p1"), "still there after one list");
        f.note_listed("ns", "p1");
        assert!(f.is_vanished("ns", "p1"));
    }
}
