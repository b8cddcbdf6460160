//! The state every request handler of the simulated cluster shares: the scenario, its indexed
//! objects and the faults in force. Handlers get it as `Arc<SimState>` (axum `State`).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::exec_index::ExecIndex;
use super::faults::Faults;
use super::metrics::Metrics;
use super::scenario::{FaultConfig, Scenario};
use super::store::Store;
use super::SimError;

/// Shared by all handlers of one running simulated cluster.
#[derive(Debug)]
pub struct SimState {
    /// The scenario as loaded (logs, exec handlers, permissions are read from here).
    pub scenario: Arc<Scenario>,
    /// The scenario's objects, indexed and completed (uid, creationTimestamp, resourceVersion).
    pub store: Store,
    /// The faults in force: the scenario's, overridden by flags. Use `faults.config` for the
    /// effective `FaultConfig` (e.g. `stall_logs_after_bytes`), not `scenario.faults`.
    pub faults: Faults,
    /// When the server started: the clock "now" of AGE columns and defaulted timestamps.
    pub started: DateTime<Utc>,
    /// Request counts and the most requests in flight at once, for load checks in tests.
    pub metrics: Metrics,
    /// Streams per node and pod, short requests per second (`load`).
    pub load: super::load::Load,
    /// A served bundle (`kudo-diag serve`): writes, exec and dry-runs are refused.
    pub read_only: bool,
    /// The scenario's exec handlers and files by pod, with their regexes compiled once.
    pub exec_index: ExecIndex,
}

impl SimState {
    /// Indexes the scenario's objects; `faults` replaces `scenario.faults` when given.
    pub fn new(scenario: Scenario, faults: Option<FaultConfig>) -> Result<SimState, SimError> {
        if scenario.namespace.trim().is_empty() {
            return Err(SimError::Scenario(format!(
                "scenario {:?} has no namespace; set `namespace:` to the namespace its objects live in",
                scenario.name
            )));
        }
        let started = Utc::now();
        let minor = scenario.server_version.minor_number().unwrap_or(32);
        let registry = match &scenario.discovery {
            Some(recorded) => {
                super::resources::Registry::from_recorded(recorded, &scenario.objects)
            }
            None => super::resources::Registry::new(&scenario.objects, minor),
        };
        let store =
            Store::with_registry(registry, &scenario.objects, &scenario.namespace, started)?;
        let faults = Faults::new(faults.unwrap_or_else(|| scenario.faults.clone()))?;
        Ok(SimState {
            exec_index: ExecIndex::new(&scenario),
            scenario: Arc::new(scenario),
            store,
            faults,
            started,
            metrics: Metrics::default(),
            load: Default::default(),
            read_only: false,
        })
    }

    /// The minor version the server reports (what discovery and tables follow).
    pub fn minor(&self) -> u32 {
        self.scenario.server_version.minor_number().unwrap_or(32)
    }

    /// Whether a pod exists for the client: stored, and not vanished by a fault.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Arc<serde_json::Value>> {
        if self.faults.is_vanished(namespace, name) {
            return None;
        }
        self.store.pod(namespace, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_needs_a_namespace() {
        let e = SimState::new(
            Scenario {
                name: "x".into(),
                ..Scenario::default()
            },
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("set `namespace:`"), "{e}");
    }

    #[test]
    fn flag_faults_replace_the_scenario_s() {
        let s = Scenario {
            name: "x".into(),
            namespace: "ns".into(),
            faults: FaultConfig {
                latency_ms: 5,
                ..FaultConfig::default()
            },
            ..Scenario::default()
        };
        assert_eq!(
            SimState::new(s.clone(), None)
                .unwrap()
                .faults
                .config
                .latency_ms,
            5
        );
        let over = FaultConfig {
            error_rate: 0.5,
            ..FaultConfig::default()
        };
        let st = SimState::new(s, Some(over)).unwrap();
        assert_eq!(st.faults.config.latency_ms, 0);
        assert_eq!(st.faults.config.error_rate, 0.5);
    }
}
