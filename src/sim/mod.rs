//! The simulated cluster: an emulator of the Kubernetes API, part of the product (`kudo-diag sim`,
//! `kudo-diag demo`, `kudo-diag serve`) and the ground every test and benchmark runs on.

pub mod access;
pub mod exec;
pub mod generate;
pub mod loglines;
pub mod logs;
pub mod scenario;
pub mod scenarios;
pub mod state;
pub mod status;

pub use scenario::Scenario;

/// Errors of the simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Message(String),
}
