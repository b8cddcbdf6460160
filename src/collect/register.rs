//! Putting the collect kinds into a registry.

use super::{kinds, planstatus, versions};
use crate::engine::Registry;

/// Registers every collect kind.
pub fn register(registry: &mut Registry) {
    kinds::register(registry);
    registry
        .register(planstatus::PlanStatus)
        .register(versions::Versions);
}
