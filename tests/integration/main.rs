//! The one integration test binary: a module per feature, driving the real `kudo-diag` binary
//! and the library against the simulated cluster.

mod bundle;
mod cli;
mod collect;
mod engine;
mod pipelines;
mod ship;
mod sim;
mod support;
