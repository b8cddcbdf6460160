//! Connecting to a cluster the way kubectl does: a kubeconfig file (`--kubeconfig`, else every
//! file `$KUBECONFIG` lists, merged as kubectl merges them, else `~/.kube/config`) with an
//! optional context (a wrong one is reported with the contexts there are), else the in-cluster
//! service account (a CronJob's pod). The client's requests give up after the request timeout and, with
//! a rate, short ones pass through the adaptive `qps` token bucket (logs and exec do not).

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
    let mut config = match load_kubeconfig(c.kubeconfig.as_deref())? {
        Some(loaded) => {
            check_context(&loaded, c.context.as_deref())?;
            kube::Config::from_custom_kubeconfig(loaded.config, &opts)
                .await
                .map_err(|e| {
                    crate::Error::Usage(format!(
                        "failed to load the kubeconfig {}: {e}; check it with `kubectl config view`",
                        loaded.shown
                    ))
                })?
        }
        // Neither a kubeconfig nor a pod's service account: say both, since a CronJob's pod
        // without its token mount fails here just as a laptop without ~/.kube does.
        None => kube::Config::incluster().map_err(|ie| {
            crate::Error::Usage(format!(
                "no cluster configuration found: no kubeconfig ($KUBECONFIG is unset and \
                 ~/.kube/config does not exist), and this is not a pod with a service account \
                 ({ie}); give a kubeconfig with --kubeconfig FILE or $KUBECONFIG, or run inside \
                 the cluster with a mounted service-account token (see `kudo-diag cron manifest`)"
            ))
        })?,
    };
    // kube 4 retries 429/503/504 itself by default; kudo-diag's own policy (the engine's and
    // kubeapi's retry) retries, records and reports them, so kube's is off.
    config.default_retry = false;
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

/// A kubeconfig read from one or more files, merged.
pub struct LoadedKubeconfig {
    pub config: kube::config::Kubeconfig,
    /// The files it came from, for messages.
    pub shown: String,
}

/// Reads the kubeconfig as kubectl does: `--kubeconfig FILE` alone (it must exist); else every
/// file `$KUBECONFIG` lists (`a:b`), skipping empty entries and missing files and merging the
/// rest (the first file to set a name or `current-context` wins); else `~/.kube/config`.
/// `None` when there is none at all (in a pod, the service account is used instead).
pub fn load_kubeconfig(flag: Option<&std::path::Path>) -> crate::Result<Option<LoadedKubeconfig>> {
    let read = |path: &std::path::Path| {
        kube::config::Kubeconfig::read_from(path).map_err(|e| {
            crate::Error::Usage(format!(
                "failed to read the kubeconfig {}: {e}; check it with `kubectl config view --kubeconfig {}`",
                path.display(),
                path.display()
            ))
        })
    };
    if let Some(path) = flag {
        return Ok(Some(LoadedKubeconfig {
            config: read(path)?,
            shown: path.display().to_string(),
        }));
    }
    let paths: Vec<std::path::PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        _ => home_kubeconfig().into_iter().collect(),
    };
    let existing: Vec<_> = paths.iter().filter(|p| p.exists()).collect();
    if existing.is_empty() {
        if paths.len() > 1 || std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty()) {
            return Err(crate::Error::Usage(format!(
                "none of the kubeconfig files $KUBECONFIG lists exists ({}); fix $KUBECONFIG or give --kubeconfig FILE",
                std::env::join_paths(&paths)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )));
        }
        return Ok(None);
    }
    let mut merged = kube::config::Kubeconfig::default();
    for p in &existing {
        merged = merged.merge(read(p)?).map_err(|e| {
            crate::Error::Usage(format!(
                "failed to merge the kubeconfig {} into the files before it: {e}",
                p.display()
            ))
        })?;
    }
    Ok(Some(LoadedKubeconfig {
        config: merged,
        shown: existing
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }))
}

fn home_kubeconfig() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| std::path::PathBuf::from(h).join(".kube").join("config"))
}

/// A `--context` the kubeconfig does not have, or no context at all, is reported with the
/// contexts it does have (as `kubectl config get-contexts` would list them).
pub fn check_context(loaded: &LoadedKubeconfig, wanted: Option<&str>) -> crate::Result<()> {
    let names: Vec<&str> = loaded
        .config
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let listed = if names.is_empty() {
        "it has no contexts".to_string()
    } else {
        format!("its contexts: {}", names.join(", "))
    };
    match wanted.or(loaded.config.current_context.as_deref()) {
        Some(name) if names.contains(&name) => Ok(()),
        Some(name) => Err(crate::Error::Usage(format!(
            "context {name:?} is not in the kubeconfig ({}); {listed}; pick one with --context NAME",
            loaded.shown
        ))),
        None => Err(crate::Error::Usage(format!(
            "the kubeconfig ({}) sets no current-context; {listed}; pick one with --context NAME \
             or `kubectl config use-context NAME`",
            loaded.shown
        ))),
    }
}
