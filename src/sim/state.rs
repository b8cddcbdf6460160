//! The state a running simulated cluster shares between its handlers.
//!
//! (Minimal placeholder until the server's own `state.rs` is merged: the log and exec
//! handlers only need the scenario.)

use std::sync::Arc;

use super::Scenario;

/// What every handler of the simulated API server can see.
pub struct SimState {
    pub scenario: Arc<Scenario>,
}
