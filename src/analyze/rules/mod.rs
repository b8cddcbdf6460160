//! The built-in analyzers written in Rust, one file per area. Rules that are a regex over files
//! or a comparison of one value live in YAML instead (`super::custom`).

pub mod apps;
pub mod capacity;
pub mod collection;
pub mod kudo;
pub mod pods;
pub mod refs;
pub mod storage;
pub mod workload;
