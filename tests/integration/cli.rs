//! The command line's conventions: exit codes, help, version.

use std::process::{Output, Stdio};

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
            "--bundle",
            "file/b.zip",
            "--progress",
            "none",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("file/b.zip.partial"), "{err}");
    assert!(
        err.contains("--bundle FILE.zip or --bundle-dir DIR"),
        "{err}"
    );
}

/// A kubeconfig with one context `name` for `server` (token auth, TLS not verified).
fn kubeconfig(name: &str, server: &str, current: bool, extra_cluster: &str) -> String {
    let current = if current {
        format!("current-context: {name}\n")
    } else {
        String::new()
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n{extra_cluster}users:\n- name: {name}\n  user:\n    token: t\ncontexts:\n- name: {name}\n  context: {{cluster: {name}, user: {name}, namespace: prod}}\n{current}"
    )
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_with_kubeconfig_env(dir: &std::path::Path, kubeconfig: &str, args: &[&str]) -> Output {
    crate::support::bin()
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUDO_DIAG_LOG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn a_kubeconfig_list_is_merged_as_kubectl_merges_it() {
    // Regression: clap took `KUBECONFIG=a:b` as one path ("failed to read kubeconfig from 'a:b'").
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (closed_port(), closed_port());
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    // a has no current-context; b sets one: b's is used, and a missing file is skipped.
    std::fs::write(
        &a,
        kubeconfig("alpha", &format!("https://127.0.0.1:{pa}"), false, ""),
    )
    .unwrap();
    std::fs::write(
        &b,
        kubeconfig("beta", &format!("https://127.0.0.1:{pb}"), true, ""),
    )
    .unwrap();
    let list = format!(
        "{}:{}:{}",
        a.display(),
        dir.path().join("missing").display(),
        b.display()
    );
    let args = ["run", "--instance", "cassandra", "--request-timeout", "2s"];
    let o = run_with_kubeconfig_env(dir.path(), &list, &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{pb}")), "{err}");
    assert!(!err.contains("failed to read"), "{err}");
    // The first file wins for a name both define, and for current-context.
    std::fs::write(&b, kubeconfig("alpha", "https://127.0.0.1:1", true, "")).unwrap();
    std::fs::write(
        &a,
        kubeconfig("alpha", &format!("https://127.0.0.1:{pa}"), true, ""),
    )
    .unwrap();
    let o = run_with_kubeconfig_env(
        dir.path(),
        &format!("{}:{}", a.display(), b.display()),
        &args,
    );
    let err = stderr(&o);
    assert!(err.contains(&format!("127.0.0.1:{pa}")), "{err}");
}

#[test]
fn a_context_the_kubeconfig_lacks_lists_the_ones_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::write(&a, kubeconfig("alpha", "https://127.0.0.1:1", true, "")).unwrap();
    std::fs::write(&b, kubeconfig("beta", "https://127.0.0.1:1", false, "")).unwrap();
    let list = format!("{}:{}", a.display(), b.display());
    let o = run_with_kubeconfig_env(
        dir.path(),
        &list,
        &["run", "--instance", "cassandra", "--context", "gamma"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("context \"gamma\" is not in the kubeconfig"),
        "{err}"
    );
    assert!(err.contains("its contexts: alpha, beta"), "{err}");
    assert!(err.contains("--context NAME"), "{err}");
}

#[test]
fn an_unreachable_server_prints_one_error_and_no_library_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    let port = closed_port();
    std::fs::write(
        &kc,
        kubeconfig("c", &format!("https://127.0.0.1:{port}"), true, ""),
    )
    .unwrap();
    let args = ["run", "--instance", "cassandra", "--request-timeout", "2s"];
    let o = run_with_kubeconfig_env(dir.path(), kc.to_str().unwrap(), &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot reach the Kubernetes API server"),
        "{err}"
    );
    assert!(!err.contains("kube_client"), "{err}");
    assert!(!err.contains(" ERROR "), "{err}");
    // RUST_LOG is honoured like KUDO_DIAG_LOG: the library's lines come back when asked for.
    let o = crate::support::bin()
        .args(args)
        .current_dir(dir.path())
        .env("KUBECONFIG", &kc)
        .env_remove("KUDO_DIAG_LOG")
        .env("RUST_LOG", "kube_client=debug")
        .output()
        .unwrap();
    assert!(stderr(&o).contains("kube_client"), "{}", stderr(&o));
}

#[test]
fn a_proxy_url_in_the_kubeconfig_is_used() {
    // A listener standing in for the proxy records the first request line kudo-diag sends it.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        use std::io::BufRead;
        let (conn, _) = proxy.accept().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(conn).read_line(&mut line).unwrap();
        line
    });
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    let proxy_line = format!("    proxy-url: http://127.0.0.1:{proxy_port}\n");
    std::fs::write(
        &kc,
        kubeconfig("c", "https://10.96.0.1:443", true, &proxy_line),
    )
    .unwrap();
    let o = run_with_kubeconfig_env(
        dir.path(),
        kc.to_str().unwrap(),
        &["run", "--instance", "cassandra", "--request-timeout", "2s"],
    );
    let err = stderr(&o);
    assert!(!err.contains("http-proxy"), "{err}");
    let line = seen.join().unwrap();
    assert!(line.starts_with("CONNECT 10.96.0.1:443 "), "{line:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_are_reported_as_credentials_with_the_fix() {
    let h = crate::run::start(kudo_diag::sim::scenarios::load("cassandra").unwrap(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    let text = h.kubeconfig_yaml(None).replace(h.token(), "expired-token");
    std::fs::write(&kc, text).unwrap();
    let d = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        run_with_kubeconfig_env(
            &d,
            kc.to_str().unwrap(),
            &["run", "--instance", "cassandra"],
        )
    })
    .await
    .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("rejected the credentials (401"), "{err}");
    assert!(err.contains("kubectl config view"), "{err}");
    assert!(err.contains("log in again"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
    assert!(!err.contains("expired-token"), "{err}");
    // preflight's first request meets the same refusal and says the same.
    let d = dir.path().to_path_buf();
    let kc = dir.path().join("kc");
    let o = tokio::task::spawn_blocking(move || {
        run_with_kubeconfig_env(
            &d,
            kc.to_str().unwrap(),
            &["preflight", "cassandra", "-n", "prod"],
        )
    })
    .await
    .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("rejected the credentials (401"), "{err}");
    assert!(err.contains("kubectl config view"), "{err}");
    assert!(err.contains("log in again"), "{err}");
    assert!(!err.contains("failed to reach"), "{err}");
    assert!(!err.contains("expired-token"), "{err}");
    h.shutdown().await;
}

#[test]
fn a_closed_stdout_ends_quietly_for_every_command() {
    // Regression: `kudo-diag completions bash | head -1` panicked (exit 101).
    use std::io::BufRead;
    for args in [
        &["completions", "bash"][..],
        &["man"][..],
        &["pipelines", "list"][..],
        &[
            "cron",
            "manifest",
            "--instance",
            "c",
            "-n",
            "p",
            "--pipeline",
            "cassandra",
            "--schedule",
            "@daily",
        ][..],
        &["--help"][..],
    ] {
        let mut child = crate::support::bin()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        drop(out);
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert!(
            matches!(o.status.code(), Some(0) | Some(141)),
            "{args:?}: {:?} {err}",
            o.status
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn the_krew_manifest_names_the_plugin_its_platforms_and_the_license() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("plugins/kudo-diagnostics.yaml")).unwrap();
    let m: serde_json::Value = kudo_diag::yaml::from_str(&text).unwrap();
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(m["metadata"]["name"], "kudo-diagnostics");
    assert_eq!(
        m["spec"]["version"],
        format!("v{}", env!("CARGO_PKG_VERSION")),
        "the manifest's version follows Cargo.toml"
    );
    let platforms = m["spec"]["platforms"].as_array().unwrap();
    assert!(!platforms.is_empty());
    for p in platforms {
        let labels = &p["selector"]["matchLabels"];
        assert!(
            labels["os"].is_string() && labels["arch"].is_string(),
            "{p}"
        );
        assert_eq!(p["bin"], "kubectl-kudo-diagnostics", "{p}");
        assert!(p["uri"].as_str().unwrap().ends_with(".tar.gz"), "{p}");
        assert!(p["sha256"].is_string(), "{p}");
        let files: Vec<(&str, &str)> = p["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["from"].as_str().unwrap(), f["to"].as_str().unwrap()))
            .collect();
        assert!(
            files.contains(&("kudo-diag", "kubectl-kudo-diagnostics")),
            "{files:?}"
        );
        assert!(files.contains(&("LICENSE", ".")), "{files:?}");
    }
    // The LICENSE it ships is the Apache-2.0 text Cargo.toml declares.
    let license = std::fs::read_to_string(root.join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0, January 2004"));
    assert!(std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .contains("license = \"Apache-2.0\""));
    assert!(root.join("SECURITY.md").exists());
}
