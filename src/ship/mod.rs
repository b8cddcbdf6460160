//! Shipping: what a collection needs to leave the machine or run on a schedule.
//!
//! - `upload`: send a finished bundle to S3-compatible object storage and prove it arrived.
//! - `retention`: keep the newest N bundles of an instance in a directory.
//! - `cron`: the ServiceAccount, RBAC and CronJob for scheduled collection in the cluster,
//!   with the permissions derived from the pipelines.
//! - `man`: the man pages, generated from the clap definitions.
//!
//! Packaging (static musl binary, container image, krew plugin) is in the Makefile, the
//! Dockerfile and docs/install.md.

pub mod cron;
pub mod man;
pub mod retention;
pub mod upload;
