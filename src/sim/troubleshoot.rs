//! A troubleshoot.sh support bundle (what `kubectl support-bundle` writes: a `.tar.gz`, or
//! the folder it unpacks to) turned into a [`Scenario`], so `kudo-diag serve` answers kubectl
//! from it as the cluster did. The bundle is read by [`crate::bundle::troubleshoot`] (the
//! reader `analyze` shares); here its parts become the scenario's:
//! - the objects, as stored (only those of resources the cluster served);
//! - the pods' logs and previous logs;
//! - `cluster_version.json`: what `/version` answers, as recorded;
//! - `resources.json`: the cluster's discovery, served exactly as recorded
//!   (`Scenario::discovery`);
//! - `auth-cani-list/NS.json`: what `kubectl auth can-i --list` answered
//!   (`Scenario::recorded_rules`).

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::from_bundle::{server_version_of, BundleScenario, Summary};
use super::resources::Registry;
use super::scenario::{LogSource, LogSpec, Scenario};
use crate::bundle::reader::Limits;
pub use crate::bundle::troubleshoot::is_troubleshoot;
use crate::bundle::troubleshoot::{PodLog, Troubleshoot};

/// Loads a troubleshoot bundle (`.tar.gz` or folder) with `limits`.
pub fn load(path: &Path, limits: &Limits) -> crate::Result<BundleScenario> {
    let ts = crate::bundle::troubleshoot::load(path, limits, super::from_bundle::MAX_IN_MEMORY)?;
    Ok(from_troubleshoot(ts))
}

/// Builds the scenario from the bundle's parts.
pub fn from_troubleshoot(ts: Troubleshoot) -> BundleScenario {
    let Troubleshoot {
        name,
        mut objects,
        logs,
        version,
        discovery,
        auth_rules,
        ..
    } = ts;
    let server_version = version
        .as_ref()
        .and_then(server_version_of)
        .unwrap_or_default();
    let minor = server_version.minor_number().unwrap_or(32);
    let registry = match &discovery {
        Some(d) => Registry::from_recorded(d, &objects),
        None => Registry::new(&objects, minor),
    };
    let mut summary = Summary::default();
    super::from_bundle::keep_served(&mut objects, &registry, &mut summary);
    let specs = log_specs(&objects, logs, &mut summary);
    BundleScenario {
        scenario: Scenario {
            name: format!("troubleshoot bundle {name}"),
            description: format!(
                "troubleshoot support bundle {name}, cluster {}",
                server_version.git_version
            ),
            namespace: "default".into(),
            server_version,
            objects,
            logs: specs,
            discovery,
            recorded_rules: auth_rules,
            ..Scenario::default()
        },
        summary,
    }
}

/// The logs of pods the bundle holds, counted in `summary`; the others are named as orphans.
fn log_specs(objects: &[Value], logs: Vec<PodLog>, summary: &mut Summary) -> Vec<LogSpec> {
    let pods: HashSet<(&str, &str)> = objects
        .iter()
        .filter(|o| o["kind"] == "Pod")
        .filter_map(|o| {
            Some((
                o["metadata"]["namespace"].as_str()?,
                o["metadata"]["name"].as_str()?,
            ))
        })
        .collect();
    let mut specs = Vec::new();
    for log in logs {
        let PodLog {
            namespace: ns,
            pod,
            container,
            previous,
            text,
        } = log;
        if !pods.contains(&(ns.as_str(), pod.as_str())) {
            summary.orphan_logs.push(format!(
                "cluster-resources/pods/logs/{ns}/{pod}/{container}"
            ));
            continue;
        }
        if previous {
            summary.previous_logs += 1;
        } else {
            summary.logs += 1;
        }
        specs.push(LogSpec {
            namespace: Some(ns),
            pod,
            container,
            previous,
            source: LogSource::Inline(String::from_utf8_lossy(&text).into_owned()),
        });
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_k3s_bundle_loads_with_its_discovery_version_and_logs() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/troubleshoot-k3s/support-bundle.tar.gz");
        assert!(is_troubleshoot(&path));
        let b = load(&path, &Limits::default()).unwrap();
        let sc = &b.scenario;
        assert_eq!(sc.server_version.git_version, "v1.24.4+k3s1");
        assert_eq!(sc.server_version.recorded["platform"], "linux/arm64");
        assert!(sc.discovery.is_some());
        assert!(sc.recorded_rules["kube-system"].len() > 1);
        assert!(b.summary.objects > 100, "{:?}", b.summary);
        assert!(b.summary.previous_logs > 0, "{:?}", b.summary);
        assert!(sc
            .objects
            .iter()
            .any(|o| o["kind"] == "CustomResourceDefinition"));
        assert!(sc.objects.iter().any(|o| o["kind"] == "Addon"));
        // A server can be built on it.
        let st = crate::sim::SimState::new(sc.clone(), None).unwrap();
        assert!(st
            .store
            .registry
            .find("traefik.containo.us", "v1alpha1", "ingressroutes")
            .is_some());
        assert!(st
            .store
            .registry
            .find("kudo.dev", "v1beta1", "instances")
            .is_none());
    }
}
