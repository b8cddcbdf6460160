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

#[test]
fn no_kubeconfig_and_no_service_account_names_both_and_the_fixes() {
    let home = tempfile::tempdir().unwrap();
    let o = crate::support::bin()
        .args(["run", "--instance", "cassandra", "-n", "prod"])
        .current_dir(home.path())
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no cluster configuration found"), "{err}");
    assert!(err.contains("not a pod with a service account"), "{err}");
    assert!(err.contains("--kubeconfig FILE"), "{err}");
    // Nothing is left behind for a collection that never reached a cluster.
    let left: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_output_folder_that_cannot_be_made_says_how_to_choose_another() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let o = run_in(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "selftest",
            "-o",
            "file/b.zip",
            "--progress",
            "none",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("file/b.zip.partial"), "{err}");
    assert!(err.contains("-o FILE.zip or --output-dir DIR"), "{err}");
}
