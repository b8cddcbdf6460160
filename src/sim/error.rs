//! The errors of the simulated cluster, by where they come from.

/// Errors of the simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A scenario could not be found, read or parsed, or has objects the emulator cannot serve.
    #[error("{0}")]
    Scenario(String),
    /// `sim generate`'s options are out of range.
    #[error("{0}")]
    Generate(String),
    /// The fault configuration is invalid.
    #[error("{0}")]
    Faults(String),
    /// The serving certificate could not be made.
    #[error("{0}")]
    Tls(String),
    /// The server could not start, or its kubeconfig or client could not be made.
    #[error("{0}")]
    Server(String),
}
