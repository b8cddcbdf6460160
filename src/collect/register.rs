//! Putting the collect kinds into a registry.

use super::{kinds, planstatus, versions};
use crate::engine::Registry;

/// Registers every collect kind.
pub fn register(registry: &mut Registry) {
    registry
        .register(kinds::get::Get)
        .register(kinds::list::List)
        .register(kinds::logs::Logs)
        .register(kinds::exec::Exec)
        .register(kinds::filelog::FileLog)
        .register(kinds::nodepods::NodePodsKind)
        .register(kinds::proxy::Proxy)
        .register(kinds::operatorversion::OperatorVersion)
        .register(kinds::refusal::AppExec)
        .register(kinds::version::Version)
        .register(kinds::discovery::Discovery)
        .register(planstatus::PlanStatus)
        .register(versions::Versions);
}
