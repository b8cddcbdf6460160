//! A client-side request rate limit for the Kubernetes client (`run --qps`), so a collection
//! never adds more than that many requests per second to an API server that may already be in
//! trouble. A token bucket (capacity: one second's worth) gates `poll_ready` of the client's
//! service stack; exec upgrades and log streams go through the same stack, so they count too.
//!
//! Written here because tower's own `RateLimit` allows a fixed number per period with no burst
//! smoothing and needs a `Clone` inner service, which kube's boxed stack is not.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

/// Tokens refill at `rate` per second up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: f64) -> Self {
        let burst = rate.max(1.0);
        TokenBucket {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token, or says how long until one is there.
    pub fn try_take(&self) -> Result<(), Duration> {
        let mut s = self.state.lock().expect("token bucket lock");
        let now = Instant::now();
        let refill = now.duration_since(s.1).as_secs_f64() * self.rate;
        s.0 = (s.0 + refill).min(self.burst);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - s.0) / self.rate))
        }
    }
}

/// The layer to put on kube's client stack.
#[derive(Clone)]
pub struct QpsLayer {
    bucket: Arc<TokenBucket>,
}

impl QpsLayer {
    pub fn new(qps: f64) -> Self {
        QpsLayer {
            bucket: Arc::new(TokenBucket::new(qps)),
        }
    }
}

impl<S> tower::Layer<S> for QpsLayer {
    type Service = Qps<S>;
    fn layer(&self, inner: S) -> Qps<S> {
        Qps {
            inner,
            bucket: self.bucket.clone(),
            wait: None,
            has_token: false,
        }
    }
}

pub struct Qps<S> {
    inner: S,
    bucket: Arc<TokenBucket>,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
    has_token: bool,
}

impl<S, R> tower::Service<R> for Qps<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        while !self.has_token {
            if let Some(w) = &mut self.wait {
                ready!(w.as_mut().poll(cx));
                self.wait = None;
            }
            match self.bucket.try_take() {
                Ok(()) => self.has_token = true,
                Err(delay) => self.wait = Some(Box::pin(tokio::time::sleep(delay))),
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> S::Future {
        self.has_token = false;
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_the_rate() {
        let b = TokenBucket::new(50.0);
        for _ in 0..50 {
            b.try_take().expect("the burst is one second's worth");
        }
        let wait = b.try_take().unwrap_err();
        assert!(wait <= Duration::from_millis(21), "{wait:?}");
    }

    #[tokio::test]
    async fn the_service_waits_for_tokens() {
        use tower::{Service, ServiceExt};
        let mut svc = tower::Layer::layer(
            &QpsLayer::new(100.0),
            tower::service_fn(|x: u32| async move { Ok::<_, std::convert::Infallible>(x) }),
        );
        let started = Instant::now();
        // 100 pass at once (the burst), the next 20 need about 0.2 s.
        for i in 0..120 {
            let r = svc.ready().await.unwrap().call(i).await.unwrap();
            assert_eq!(r, i);
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(180), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
}
