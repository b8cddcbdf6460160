//! Loading scenarios: a built-in name (embedded YAML, so `kudo-diag sim` works airgapped) or a
//! YAML file, plus the multi-document object files it lists (`objectFiles`). The format is
//! documented in docs/scenarios.md.
//!
//! Loading also normalizes what a real API server would have filled in, so scenario files stay
//! short and readable: namespaced objects without a namespace get the scenario's, objects get a
//! stable `uid` derived from their kind and name, and an `ownerReference` written without a uid
//! gets the uid of the object it names. `List` documents (`kind: PodList`, ...) are flattened.
//! Errors name the file and the line.
//!
//! Files: `builtin` (the embedded scenarios), `load` (reading YAML), `normalize` (what an API
//! server fills in), `problems` (consistency checks).

mod builtin;
mod load;
mod normalize;
mod problems;

pub use builtin::{builtin_names, embedded_file, list_text};
pub use load::{load, parse_str, read_documents};
pub use normalize::{cluster_scoped, normalize, stable_uid};
pub use problems::problems;

#[cfg(test)]
mod tests;
