//! The command line's conventions: exit codes, help, version.

use crate::support::{run_in, stderr, stdout};

#[test]
fn version_prints_semver_commit_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["version"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with(&format!("kudo-diag {}\n", env!("CARGO_PKG_VERSION"))));
    assert!(out.contains("commit: "));
    assert!(out.contains("target: "));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["no-such-command"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-command"));
}
