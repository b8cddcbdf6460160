//! The task kinds this build can run, put together in one place, `default_registry`: the
//! engine's synthetic kinds, the collect kinds (`k8s.*`, `kudo.*`) and the kinds behind
//! operators' own `diagnostics` (`opdiag.*`, `k8s.describe`).
//!
//! Architecture: this module sits above `engine`, `collect` and `opdiag` so that none of them
//! (and not `pipeline`, which validates against whatever `engine::Registry` it is given) has to
//! import the others to know every kind. `cli`, `session`, the benches and the tests
//! take their registry from here.

use crate::engine::Registry;

#[cfg(test)]
mod tests;

/// The registry of every task kind this build can run.
pub fn default_registry() -> Registry {
    let mut registry = Registry::new();
    crate::engine::synthetic::register(&mut registry);
    crate::collect::register(&mut registry);
    crate::opdiag::register(&mut registry);
    registry
}
