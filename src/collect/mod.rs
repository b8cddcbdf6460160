//! Collection: the task kinds that talk to Kubernetes and KUDO, and what they share.
//!
//! - `kinds`: `k8s.get`, `k8s.list`, `k8s.logs`, `k8s.exec`, `k8s.proxy`, `k8s.version`, `k8s.discovery`.
//! - `planstatus`: an Instance's plan status as a tree, and the `kudo.planstatus` kind.
//! - `versions`: `versions.yaml`, the `kudo.versions` kind.
//! - `api`: sending requests and mapping failures to transient/permanent `TaskError`s.
//! - `resources`: apiVersion/kind -> API resource (a static table, discovery as a fallback).
//! - `object`: what every object goes through (no managedFields, no Secret values).
//! - `params`: reading rendered task parameters.
//! - `retry`: retries of the requests made before the engine runs (target, redaction).
//! - `naming`: the default bundle name, and reading it back (`--continue`, `--keep`).
//! - `connect`, `qps`: the client, as kubectl would connect, with a request rate limit.
//! - `dependencies`: the instances an instance depends on (KUDO parent and children, the
//!   instances behind the Services its parameters name), collected in the same run.
//! - `target`: the instance, its operator and its Secrets' values, asked before anything runs.
//!
//! The built-in pipelines that use these kinds are embedded from `pipelines/` by
//! `crate::pipeline::builtin`; `crate::registry` puts these kinds beside the others.
//! The bundle paths they write are listed in docs/bundle-layout.md.

pub mod api;
pub mod connect;
pub mod dependencies;
pub mod kinds;
pub mod naming;
pub mod object;
pub mod params;
pub mod planstatus;
pub mod qps;
pub mod register;
pub mod resources;
pub mod retry;
pub mod target;
pub mod versions;

pub use register::register;
