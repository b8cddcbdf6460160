//! Connecting to a cluster the way kubectl does: `--kubeconfig`, `$KUBECONFIG`,
//! `~/.kube/config` with `--context`, else the in-cluster service account.

use std::time::Duration;

use super::Global;

/// A connected client, the context's namespace and the API server's URL.
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
    pub server: String,
}

/// Loads the configuration and makes a client whose requests give up after `timeout` (so an
/// unreachable API server fails within it). Nothing is sent yet.
pub async fn connect(g: &Global, timeout: Option<Duration>) -> crate::Result<Cluster> {
    connect_limited(g, timeout, None).await
}

/// `connect`, with at most `qps` requests per second (`run --qps`).
pub async fn connect_limited(
    g: &Global,
    timeout: Option<Duration>,
    qps: Option<f64>,
) -> crate::Result<Cluster> {
    let opts = kube::config::KubeConfigOptions {
        context: g.context.clone(),
        ..Default::default()
    };
    let fail = |e: String| {
        crate::Error::Usage(format!(
            "failed to load the kubeconfig: {e}; give one with --kubeconfig FILE or $KUBECONFIG"
        ))
    };
    let mut config = match &g.kubeconfig {
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
    // kube 4 retries 429/503/504 itself by default; kudo-diag's own policy (collect::retry)
    // retries, records and reports them, so kube's is off.
    config.default_retry = false;
    if let Some(t) = timeout {
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
    let client = match qps {
        Some(q) => builder.with_layer(&super::qps::QpsLayer::new(q)).build(),
        None => builder.build(),
    };
    Ok(Cluster {
        client,
        namespace,
        server,
    })
}
