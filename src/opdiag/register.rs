//! Putting the kinds of operator-published diagnostics into a registry.

use super::{describe, kinds};
use crate::engine::Registry;

/// Registers the kinds the generated tasks use.
pub fn register(registry: &mut Registry) {
    registry
        .register(kinds::Pods)
        .register(kinds::Copy)
        .register(kinds::Request)
        .register(kinds::Invalid)
        .register(describe::Describe);
}
