//! The simulated cluster's server: the axum router behind bearer-token auth and the fault
//! middleware, served over HTTPS (HTTP/2 and HTTP/1.1 by ALPN, as client-go expects) or plain
//! HTTP for debugging, and the library API that starts it in-process and hands out a
//! kubeconfig or a `kube::Client`.
//!
//! ```no_run
//! # async fn demo(scenario: kudo_diag::sim::Scenario) -> Result<(), kudo_diag::sim::SimError> {
//! use kudo_diag::sim::server::{SimOptions, SimServer};
//! let handle = SimServer::start(scenario, SimOptions::default()).await?;
//! let client = handle.kube_client()?;
//! # let _ = client;
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::scenario::{FaultConfig, Scenario};
use super::state::SimState;
use super::status::ApiStatus;
use super::{api, discovery, faults, metrics, proxy, tls, SimError};

/// How to serve a scenario.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Serve plain HTTP (debugging only: kubectl then needs `--insecure-skip-tls-verify` off and
    /// an `http://` server, which the kubeconfig written here has).
    pub insecure_http: bool,
    /// The bearer token clients must send; random when `None`.
    pub token: Option<String>,
    /// Replaces the scenario's faults when given.
    pub faults: Option<FaultConfig>,
    /// Refuse every write, exec and dry-run with a Status naming a read-only bundle
    /// (`kudo-diag serve`); reads and access reviews are answered as usual.
    pub read_only: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            insecure_http: false,
            token: None,
            faults: None,
            read_only: false,
        }
    }
}

/// Namespace of the simulator's API server.
pub struct SimServer;

impl SimServer {
    /// Indexes the scenario, binds `opts.addr` and serves until `SimHandle::shutdown` (or the
    /// handle is dropped). Connections are accepted once this returns.
    pub async fn start(scenario: Scenario, opts: SimOptions) -> Result<SimHandle, SimError> {
        let namespace = scenario.namespace.clone();
        let mut state = SimState::new(scenario, opts.faults.clone())?;
        state.read_only = opts.read_only;
        let state = Arc::new(state);
        let token = opts.token.clone().unwrap_or_else(random_token);
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SimError::Server(
                "the token must be non-empty and have no spaces; choose another --token".into(),
            ));
        }
        let listener = TcpListener::bind(opts.addr).await.map_err(|e| {
            SimError::Server(format!(
                "failed to listen on {}: {e}; choose another --addr (port 0 picks a free one)",
                opts.addr
            ))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| SimError::Server(format!("failed to read the bound address: {e}")))?;
        let tls = if opts.insecure_http {
            None
        } else {
            Some(tls::generate(addr.ip())?)
        };
        let router = router(state.clone(), Arc::from(token.as_str()));
        let acceptor = tls
            .as_ref()
            .map(|t| TlsAcceptor::from(t.server_config.clone()));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, acceptor, router, cancel.clone()));
        Ok(SimHandle {
            addr,
            tls: !opts.insecure_http,
            token,
            ca_pem: tls.as_ref().map(|t| t.ca_pem.clone()).unwrap_or_default(),
            ca_der: tls.map(|t| t.ca_der),
            namespace,
            state,
            cancel,
            task: Some(task),
        })
    }
}

fn random_token() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| {
            let i = rng.random_range(0..36u32);
            char::from_digit(i, 36).unwrap_or('x')
        })
        .collect()
}

/// The routes, the fault middleware and, outermost, authentication.
pub fn router(state: Arc<SimState>, token: Arc<str>) -> Router {
    Router::new()
        .route("/version", get(discovery::version))
        .route("/version/", get(discovery::version))
        .route("/healthz", get(discovery::healthz))
        .route("/readyz", get(discovery::healthz))
        .route("/livez", get(discovery::healthz))
        .route("/openapi/v2", get(super::openapi::v2::document))
        .route("/openapi/v3", get(super::openapi::index))
        .route("/openapi/v3/api/{version}", get(super::openapi::core))
        .route(
            "/openapi/v3/apis/{group}/{version}",
            get(super::openapi::named),
        )
        .route("/api", get(discovery::api))
        .route("/apis", get(discovery::apis))
        .route("/api/v1", get(discovery::core_resources))
        .route("/apis/{group}", get(discovery::group))
        .route("/apis/{group}/{version}", get(discovery::group_resources))
        .route(
            "/api/v1/namespaces/{ns}/services/{target}/proxy",
            get(proxy::service_root),
        )
        .route(
            "/api/v1/namespaces/{ns}/services/{target}/proxy/{*path}",
            get(proxy::service),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{target}/proxy",
            get(proxy::pod_root),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{target}/proxy/{*path}",
            get(proxy::pod),
        )
        .fallback(api::resource)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::middleware,
        ))
        .layer(middleware::from_fn_with_state(token, authenticate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Bearer-token authentication: anything but the right token is 401 with a Status, except the
/// health endpoints, which real clusters also serve to anyone.
async fn authenticate(State(token): State<Arc<str>>, req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz" | "/livez") {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
        next.run(req).await
    } else {
        ApiStatus::unauthorized().into_response()
    }
}

/// Compares without an early exit, so response time does not tell how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long a new connection may take to finish its TLS handshake, and an HTTP/1 request its
/// headers.
pub const IDLE_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    router: Router,
    cancel: CancellationToken,
) {
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        while conns.try_join_next().is_some() {}
        let (stream, _peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!("failed to accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        conns.spawn(async move {
            let svc = TowerToHyperService::new(router);
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http2().enable_connect_protocol();
            // A client that connects and sends nothing (or half a header) is dropped after a
            // while instead of holding its connection and task for ever.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(IDLE_HEADER_TIMEOUT);
            let result = match acceptor {
                Some(acceptor) => {
                    match tokio::time::timeout(IDLE_HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Err(_) => {
                            tracing::debug!("TLS handshake timed out");
                            return;
                        }
                        Ok(Ok(tls)) => {
                            builder
                                .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake failed: {e}");
                            return;
                        }
                    }
                }
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!("connection ended with an error: {e}");
            }
        });
    }
    conns.shutdown().await;
}

/// A running simulated cluster. Dropping it stops the server too.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    tls: bool,
    token: String,
    ca_pem: String,
    ca_der: Option<Vec<u8>>,
    namespace: String,
    state: Arc<SimState>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// The address the server listens on (with the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://` with `insecure_http`). A server bound to every
    /// interface (`0.0.0.0`, `::`) is reached through loopback, which its certificate names.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("{scheme}://{addr}")
    }

    /// The bearer token clients must send.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA certificate (PEM) that signed the serving certificate; empty over plain HTTP.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The shared state (scenario, store, faults), for tests that inspect the server.
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// A kubeconfig for this server: cluster (server, CA data), user (token), and a context
    /// `kudo-diag-sim` whose namespace is `namespace` or the scenario's main namespace.
    pub fn kubeconfig_yaml(&self, namespace: Option<&str>) -> String {
        use base64::Engine;
        let ns = namespace.unwrap_or(&self.namespace);
        let mut cluster = serde_json::json!({"server": self.base_url()});
        if self.tls {
            cluster["certificate-authority-data"] = serde_json::json!(
                base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes())
            );
        }
        let doc = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kudo-diag-sim", "cluster": cluster}],
            "users": [{"name": "kudo-diag-sim", "user": {"token": self.token}}],
            "contexts": [{"name": "kudo-diag-sim", "context": {
                "cluster": "kudo-diag-sim", "user": "kudo-diag-sim", "namespace": ns}}],
            "current-context": "kudo-diag-sim",
            "preferences": {},
        });
        // Serialising a JSON value to YAML cannot fail; quoting is serde-saphyr's business.
        crate::yaml::to_string(&doc).unwrap_or_default()
    }

    /// Writes the kubeconfig (main namespace) to `path`, readable by the owner only (it holds
    /// the token).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        let fail = |e: std::io::Error| {
            SimError::Server(format!(
                "failed to write the kubeconfig to {}: {e}; choose a writable --kubeconfig-out",
                path.display()
            ))
        };
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(fail)?;
            f.write_all(self.kubeconfig_yaml(None).as_bytes())
                .map_err(fail)?;
            f.sync_all().map_err(fail)?;
        }
        std::fs::rename(&tmp, path).map_err(fail)
    }

    /// A `kube::Config` for this server (CA trusted, token set, main namespace).
    pub fn kube_config(&self) -> kube::Config {
        let uri: axum::http::Uri = self
            .base_url()
            .parse()
            .expect("a socket address always makes a valid URI");
        let mut cfg = kube::Config::new(uri);
        cfg.default_namespace = self.namespace.clone();
        cfg.root_cert = self.ca_der.clone().map(|d| vec![d]);
        cfg.auth_info.token = Some(self.token.clone().into());
        // kudo-diag retries by its own policy (collect::retry); kube's would retry 429/503 unseen.
        cfg.default_retry = false;
        cfg
    }

    /// A `kube::Client` for this server.
    pub fn kube_client(&self) -> Result<kube::Client, SimError> {
        kube::Client::try_from(self.kube_config()).map_err(|e| {
            SimError::Server(format!(
                "failed to make a kube client for the simulated cluster: {e}"
            ))
        })
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request as HttpRequest, StatusCode};
    use tower::ServiceExt;

    fn state(faults: FaultConfig) -> Arc<SimState> {
        let scenario = Scenario {
            name: "t".into(),
            namespace: "ns".into(),
            objects: vec![
                serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
            ],
            ..Scenario::default()
        };
        Arc::new(SimState::new(scenario, Some(faults)).unwrap())
    }

    async fn call(router: Router, token: Option<&str>, path: &str) -> Response {
        let mut req = HttpRequest::get(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        router
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn tokens_are_checked_before_anything_else() {
        let r = router(state(FaultConfig::default()), Arc::from("secret"));
        let missing = call(r.clone(), None, "/api/v1/pods").await;
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        let body = axum::body::to_bytes(missing.into_body(), 1 << 20)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["reason"].as_str()),
            (Some("Status"), Some("Unauthorized"))
        );
        assert_eq!(
            call(r.clone(), Some("wrong"), "/version").await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(r.clone(), None, "/healthz").await.status(),
            StatusCode::OK
        );
        assert_eq!(
            call(r, Some("secret"), "/api/v1/namespaces/ns/pods/p")
                .await
                .status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn throttling_answers_429_with_retry_after() {
        let r = router(
            state(FaultConfig {
                throttle_rate: 1.0,
                retry_after_seconds: 4,
                ..FaultConfig::default()
            }),
            Arc::from("t"),
        );
        let resp = call(r.clone(), Some("t"), "/api/v1/pods").await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "4");
        // Health checks are spared.
        assert_eq!(call(r, None, "/readyz").await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_read_only_server_refuses_writes_dry_runs_and_exec_but_reads() {
        let mut st = SimState::new(
            Scenario {
                name: "t".into(),
                namespace: "ns".into(),
                objects: vec![serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}})],
                ..Scenario::default()
            },
            None,
        )
        .unwrap();
        st.read_only = true;
        let r = router(Arc::new(st), Arc::from("t"));
        let send = |method: &str, path: &str, body: &str| {
            let req = HttpRequest::builder()
                .method(method)
                .uri(path)
                .header(header::AUTHORIZATION, "Bearer t")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let r = r.clone();
            async move {
                let resp = r.oneshot(req).await.unwrap();
                let code = resp.status().as_u16();
                let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                (
                    code,
                    serde_json::from_slice::<serde_json::Value>(&b).unwrap_or_default(),
                )
            }
        };
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"}}"#;
        for (method, path, body, code, reason) in [
            (
                "DELETE",
                "/api/v1/namespaces/ns/pods/p",
                "",
                405,
                "MethodNotAllowed",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/ns/pods/p",
                "{}",
                405,
                "MethodNotAllowed",
            ),
            (
                "POST",
                "/api/v1/namespaces/ns/pods?dryRun=All",
                pod,
                405,
                "MethodNotAllowed",
            ),
            (
                "POST",
                "/api/v1/namespaces/ns/pods/p/exec?command=ls",
                "",
                403,
                "Forbidden",
            ),
            (
                "GET",
                "/api/v1/namespaces/ns/pods/p/exec?command=ls",
                "",
                403,
                "Forbidden",
            ),
            // Issue 14: what kubectl attach, port-forward, proxy, drain, scale and debug send.
            (
                "GET",
                "/api/v1/namespaces/ns/pods/p/attach?stdout=true",
                "",
                403,
                "Forbidden",
            ),
            (
                "POST",
                "/api/v1/namespaces/ns/pods/p/portforward?ports=80",
                "",
                403,
                "Forbidden",
            ),
            (
                "GET",
                "/api/v1/namespaces/ns/pods/p/proxy/metrics",
                "",
                403,
                "Forbidden",
            ),
            (
                "POST",
                "/api/v1/namespaces/ns/pods/p/eviction",
                "{}",
                405,
                "MethodNotAllowed",
            ),
            (
                "PATCH",
                "/api/v1/namespaces/ns/pods/p/ephemeralcontainers",
                "{}",
                405,
                "MethodNotAllowed",
            ),
            (
                "PATCH",
                "/apis/apps/v1/namespaces/ns/statefulsets/s/scale",
                "{}",
                405,
                "MethodNotAllowed",
            ),
        ] {
            let (got, v) = send(method, path, body).await;
            assert_eq!(
                (got, v["reason"].as_str()),
                (code, Some(reason)),
                "{method} {path}"
            );
            let msg = v["message"].as_str().unwrap_or_default();
            assert!(msg.contains("read-only bundle"), "{method} {path}: {msg}");
        }
        let (code, v) = send("GET", "/api/v1/namespaces/ns/pods/p", "").await;
        assert_eq!((code, v["metadata"]["name"].as_str()), (200, Some("p")));
        let review = |verb: &str| {
            format!(
                r#"{{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{{"resourceAttributes":{{"verb":"{verb}","resource":"pods","namespace":"ns"}}}}}}"#
            )
        };
        let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
        let (code, v) = send("POST", path, &review("delete")).await;
        assert_eq!((code, v["status"]["allowed"].as_bool()), (201, Some(false)));
        let (_, v) = send("POST", path, &review("list")).await;
        assert_eq!(v["status"]["allowed"].as_bool(), Some(true));
    }

    #[tokio::test]
    async fn bad_requests_are_statuses() {
        let r = router(state(FaultConfig::default()), Arc::from("t"));
        for (path, code) in [
            ("/api/v1/pods?labelSelector=a%20b%20c", 400),
            ("/api/v1/pods?limit=x", 400),
            ("/api/v1/pods?continue=garbage", 400),
            ("/api/v1/widgets", 404),
            ("/apis/nope/v1/things", 404),
        ] {
            let resp = call(r.clone(), Some("t"), path).await;
            assert_eq!(resp.status().as_u16(), code, "{path}");
        }
        let resp = r
            .oneshot(
                HttpRequest::delete("/api/v1/namespaces/ns/pods/p")
                    .header(header::AUTHORIZATION, "Bearer t")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
