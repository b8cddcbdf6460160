//! The simulated cluster: an emulator of the Kubernetes API, part of the product (`kudo-diag sim`,
//! `kudo-diag demo`, `kudo-diag serve`) and the ground every test and benchmark runs on.
//!
//! Architecture: `store` indexes a `Scenario`'s objects with the `resources` registry, at
//! every served version of their resource (`convert` between versions); `server`
//! routes HTTP(S) requests (discovery, get, list, table, logs, exec, access reviews) to handlers
//! sharing one `state::SimState`; `faults` is a middleware in front of them; `tls` makes the CA
//! and serving certificate at start.

pub mod access;
pub mod api;
pub mod builtins;
pub mod cluster_printers;
pub mod convert;
pub mod discovery;
pub mod error;
pub mod exec;
pub mod exec_index;
pub mod faults;
pub mod from_bundle;
pub mod generate;
pub mod load;
pub mod loglines;
pub mod logs;
pub mod metrics;
pub mod node_printers;
pub mod openapi;
pub mod printers;
pub mod protobuf;
pub mod proxy;
pub mod resources;
pub mod scenario;
pub mod scenarios;
pub mod selectors;
pub mod server;
pub mod state;
pub mod status;
pub mod store;
pub mod tables;
pub mod tls;
pub mod troubleshoot;

pub use error::SimError;
pub use scenario::Scenario;
pub use server::{SimHandle, SimOptions, SimServer};
pub use state::SimState;
