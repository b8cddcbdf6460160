//! The global flags' cluster: `--kubeconfig`, `--context` as a `collect::connect::Connection`.

use std::time::Duration;

use super::Global;
use crate::collect::connect::{self, Cluster, Connection};

/// What the global flags say about reaching the cluster, with a request timeout and a rate.
pub fn connection(g: &Global, timeout: Option<Duration>, qps: Option<f64>) -> Connection {
    Connection {
        kubeconfig: g.kubeconfig.clone(),
        context: g.context.clone(),
        request_timeout: timeout,
        qps,
    }
}

/// Connects as the global flags say, with requests that give up after `timeout`.
pub async fn connect(g: &Global, timeout: Option<Duration>) -> crate::Result<Cluster> {
    connect::connect(&connection(g, timeout, None)).await
}
