//! Operators publish their own diagnostics (issue 8): KUDO's `diagnostics` key in an operator
//! package's operator.yaml (KEP-22, "Operator developer experience"), turned into pipeline tasks
//! and redaction rules.
//!
//! - `model`: the key as serde types (`Diagnostics`, `ResourceEntry`, `RedactEntry`).
//! - `source`: where the key is read from: `--operator-package DIR|TGZ`, the OperatorVersion's
//!   `kudo-diag.dev/diagnostics` annotation, ConfigMaps labelled
//!   `kudo-diag.dev/diagnostics-for: OPERATOR` (instance namespace or kudo-system).
//! - `plan`: entries -> `TaskSpec`s (Copy, Command, Request), bad entries -> failing tasks with
//!   the reason, so one bad entry never stops the rest of the collection.
//! - `kinds`: the task kinds those specs use (`opdiag.pods`, `opdiag.copy`, `opdiag.request`,
//!   `opdiag.invalid`).
//! - `redact`: the key's redaction (regexes, object reference + JSONPath, the instance's Secret
//!   values) folded into one `Redactor` with the built-in rules.
//! - `tar`: reading the tar streams `tar cf -` writes (Copy) and package archives.
//!
//! docs/operator-developers.md is the reference for operator developers.

pub mod describe;
pub mod kinds;
pub mod model;
pub mod plan;
pub mod prepare;
pub mod redact;
pub mod register;
pub mod source;
pub mod tar;

pub use model::{Diagnostics, RedactEntry, ResourceEntry};
pub use plan::{plan, DiagnosticsPlan, Sourced};
pub use prepare::{prepare, Prepared, Target};
pub use register::register;
