//! Helpers shared by the integration tests: running the real binary.

use std::path::{Path, PathBuf};

use kudo_diag::sim::SimHandle;
use std::process::{Command, Output};

/// The `kudo-diag` binary cargo built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kudo-diag"))
}

/// Runs the binary with `args` in `dir` and returns its output.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kudo-diag")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether kubectl can be run; fails the test in CI (`KUDO_DIAG_REQUIRE_KUBECTL=1`), where
/// .ci/run makes sure it is there, and skips loudly elsewhere.
pub fn have_kubectl() -> bool {
    let ok = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("KUDO_DIAG_REQUIRE_KUBECTL").as_deref() == Ok("1") {
            panic!("kubectl is not on PATH but KUDO_DIAG_REQUIRE_KUBECTL=1: install kubectl v1.32 or unset the variable");
        }
        eprintln!("!!!!! SKIPPED: kubectl is not on PATH; this kubectl test did not run !!!!!");
    }
    ok
}

/// kubectl pointed at one simulated cluster, with its own cache and HOME.
pub struct Kubectl {
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Kubectl {
    pub fn new(h: &SimHandle) -> Kubectl {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        h.write_kubeconfig(&kubeconfig).expect("write kubeconfig");
        Kubectl { dir, kubeconfig }
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .output()
            .await
            .expect("run kubectl")
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(
            o.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// The rest of a child's standard output, kept open: a child whose stdout is closed fails its
/// next print.
pub type ChildLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// Waits, at most 30 s, for the first line a `sim` or `serve` child prints,
/// `export KUBECONFIG=PATH`, and returns PATH with the rest of the child's output.
pub async fn announced_kubeconfig(child: &mut tokio::process::Child) -> (PathBuf, ChildLines) {
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("the child prints `export KUBECONFIG=` in time")
        .expect("the child's stdout reads")
        .expect("the child prints a line before exiting");
    let path = line
        .strip_prefix("export KUBECONFIG=")
        .unwrap_or_else(|| panic!("first line is not `export KUBECONFIG=PATH`: {line}"));
    (PathBuf::from(path), lines)
}

/// Sends SIGTERM to a kudo-diag child (a `sim` or `serve` running until interrupted) and waits,
/// at most 20 s, for its exit code.
pub async fn terminate(child: &mut tokio::process::Child) -> Option<i32> {
    let pid = child.id().expect("still running").to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .expect("kudo-diag stops on SIGTERM")
        .unwrap()
        .code()
}
