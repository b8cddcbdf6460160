//! kudo-diag: diagnostics for KUDO Kubernetes operators.
//!
//! Three programs around one operator instance (KEP-22): `preflight` (will it fit and be
//! allowed), `run`/`collect` (a resumable task graph that gathers every diagnostic artifact into
//! one zip bundle) and `analyze` (explain what is wrong from a bundle). A simulated Kubernetes API
//! (`sim`) is part of the product so that all three can be demonstrated and tested without a
//! cluster. See docs/ARCHITECTURE.md for the map of modules and the data flow.

pub mod analyze;
pub mod bundle;
pub mod cli;
pub mod collect;
pub mod engine;
pub mod error;
pub mod exit;
pub mod failure;
pub mod jsonpath;
pub mod kubeapi;
pub mod opdiag;
pub mod pipeline;
pub mod preflight;
pub mod registry;
pub mod session;
pub mod ship;
pub mod sim;
pub mod size;
pub mod yaml;

pub use error::{Error, Result};

/// The collector's SemVer version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit the binary was built from, or "unknown" outside a checkout.
pub const GIT_COMMIT: &str = match option_env!("KUDO_DIAG_GIT_COMMIT") {
    Some(c) => c,
    None => "unknown",
};
