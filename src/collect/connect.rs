//! Connecting to a cluster the way kubectl does: a kubeconfig file (`--kubeconfig`,
//! `$KUBECONFIG`, `~/.kube/config`) with an optional context, else the in-cluster service
//! account (a CronJob's pod). The client's requests give up after the request timeout and, with
//! a rate, pass through the `qps` token bucket.

use std::path::PathBuf;
use std::time::Duration;

/// How to reach the cluster: what the flags say, nothing read yet.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// The kubeconfig file; `None` uses `$KUBECONFIG`/`~/.kube/config`, then the pod's service
    /// account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    pub context: Option<String>,
    /// Give up on a request (and on an unreachable server) after this long.
    pub request_timeout: Option<Duration>,
    /// At most this many requests per second; `None` for no limit.
    pub qps: Option<f64>,
}

/// A connected client, the context's namespace and the API server's URL.
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
    pub server: String,
}

/// Loads the configuration and makes the client. Nothing is sent yet.
pub async fn connect(c: &Connection) -> crate::Result<Cluster> {
    let opts = kube::config::KubeConfigOptions {
        context: c.context.clone(),
        ..Default::default()
    };
    let fail = |e: String| {
        crate::Error::Usage(format!(
            "failed to load the kubeconfig: {e}; give one with --kubeconfig FILE or $KUBECONFIG"
        ))
    };
    let mut config = match &c.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| fail(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| fail(e.to_string()))?
        }
        None => match kube::Config::from_kubeconfig(&opts).await {
            Ok(c) => c,
            // Neither a kubeconfig nor a pod's service account: say both, since a CronJob's pod
            // without its token mount fails here just as a laptop without ~/.kube does.
            Err(e) => kube::Config::incluster().map_err(|ie| {
                crate::Error::Usage(format!(
                    "no cluster configuration found: the kubeconfig could not be loaded ({e}), \
                     and this is not a pod with a service account ({ie}); give a kubeconfig with \
                     --kubeconfig FILE or $KUBECONFIG, or run inside the cluster with a mounted \
                     service-account token (see `kudo-diag cron manifest`)"
                ))
            })?,
        },
    };
    if let Some(t) = c.request_timeout {
        config.connect_timeout = Some(t);
        config.read_timeout = Some(t);
    }
    let namespace = config.default_namespace.clone();
    let server = config.cluster_url.to_string();
    let builder = kube::client::ClientBuilder::try_from(config).map_err(|e| {
        crate::Error::Other(format!(
            "failed to make a Kubernetes client: {e}; check the kubeconfig's server and credentials"
        ))
    })?;
    let client = match c.qps {
        Some(q) => builder.with_layer(&super::qps::QpsLayer::new(q)).build(),
        None => builder.build(),
    };
    Ok(Cluster {
        client,
        namespace,
        server,
    })
}
