//! The one integration test binary: a module per feature, driving the real `kudo-diag` binary
//! and the library against the simulated cluster.

mod analyze;
mod bundle;
mod cli;
mod collect;
mod dependencies;
mod diagnosis;
mod engine;
mod fidelity;
mod flags;
mod fuzz;
mod limits;
mod load;
mod opdiag;
mod pipelines;
mod preflight;
mod resilience;
mod run;
mod security;
mod serve;
mod ship;
mod sim;
mod simdata;
mod support;
