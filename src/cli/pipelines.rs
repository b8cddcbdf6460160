//! `kudo-diag pipelines`: list the built-in pipelines, show one merged, validate files, draw the
//! DAG as Graphviz DOT, and describe the task kinds. The work is done by `crate::pipeline`; this
//! file parses the arguments and prints. Each command writes to a `Write` so tests can read it.

use std::io::Write;

use clap::Subcommand;

use crate::engine::Registry;
use crate::exit;
use crate::pipeline::{builtin, graph, load, PipelineError};
use crate::registry::default_registry;

/// List, show, validate and draw pipelines.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  kudo-diag pipelines list                       the built-in pipelines
  kudo-diag pipelines show selftest              a pipeline with `extends` merged, as YAML
  kudo-diag pipelines validate my-redis.yaml     check a file: every problem as file:line:column
  kudo-diag pipelines graph my-redis.yaml | dot -Tsvg > dag.svg
  kudo-diag pipelines kinds                      the task kinds and their parameters")]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// List the built-in pipelines: name, operators they serve, task count, description.
    List,
    /// Print a pipeline with `extends` merged, as YAML. Several are merged in order.
    Show {
        /// Built-in pipeline names or files (a path contains `/` or ends in .yaml/.yml).
        #[arg(required = true, value_name = "NAME|FILE")]
        pipelines: Vec<String>,
        /// Merge in the tasks of this operator package's `diagnostics` key (folder or .tgz).
        #[arg(long, value_name = "DIR|TGZ")]
        operator_package: Option<std::path::PathBuf>,
    },
    /// Check pipeline files; prints "ok: N tasks" or every problem (exit 1).
    Validate {
        /// Files (or built-in names) to check, each on its own.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// Print the pipeline's task graph as Graphviz DOT.
    Graph {
        /// Built-in pipeline names or files, merged in order.
        #[arg(required = true, value_name = "NAME|FILE")]
        pipelines: Vec<String>,
        /// Merge in the tasks of this operator package's `diagnostics` key (folder or .tgz).
        #[arg(long, value_name = "DIR|TGZ")]
        operator_package: Option<std::path::PathBuf>,
    },
    /// Describe the task kinds this build can run, with their parameters.
    Kinds,
}

pub async fn exec(args: Args, _g: &super::Global) -> crate::Result<u8> {
    let registry = default_registry();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut err = std::io::stderr();
    let code = match args.command {
        Sub::List => list(&mut out, &registry),
        Sub::Show {
            pipelines,
            operator_package,
        } => print_resolved(
            &mut out,
            &mut err,
            &pipelines,
            operator_package.as_deref(),
            &registry,
            load::to_yaml,
        ),
        Sub::Validate { files } => validate(&mut out, &files, &registry),
        Sub::Graph {
            pipelines,
            operator_package,
        } => print_resolved(
            &mut out,
            &mut err,
            &pipelines,
            operator_package.as_deref(),
            &registry,
            graph::to_dot,
        ),
        Sub::Kinds => kinds(&mut out, &registry),
    };
    code.map_err(|e| crate::Error::io("standard output", e))
}

/// `pipelines list`.
pub fn list(out: &mut dyn Write, registry: &Registry) -> std::io::Result<u8> {
    let mut rows = vec![[
        "NAME".to_string(),
        "OPERATORS".to_string(),
        "TASKS".to_string(),
        "DESCRIPTION".to_string(),
    ]];
    for b in builtin::BUILTINS {
        let (doc, _) = crate::pipeline::parse::parse(&builtin::source_name(b.name), b.text);
        let description = doc
            .as_ref()
            .and_then(|d| d.description.clone())
            .unwrap_or_default();
        let operators = builtin::operators(b);
        let tasks = match load::load_builtin(b.name, registry) {
            Ok(p) => p.tasks.len().to_string(),
            Err(e) => format!("invalid ({} problems)", e.problems.len()),
        };
        let operators = if operators.is_empty() {
            "-".to_string()
        } else {
            operators.join(",")
        };
        rows.push([b.name.to_string(), operators, tasks, description]);
    }
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )?;
    }
    Ok(exit::OK)
}

/// `pipelines show|graph` with an operator package's `diagnostics` tasks merged in (issue 8).
fn resolve_with(
    err: &mut dyn Write,
    specs: &[String],
    package: Option<&std::path::Path>,
    registry: &Registry,
) -> std::io::Result<Result<crate::pipeline::Pipeline, u8>> {
    let p = match load::resolve(specs, registry) {
        Ok(p) => p,
        Err(e) => return report(err, &e).map(Err),
    };
    let Some(pkg) = package else { return Ok(Ok(p)) };
    match crate::opdiag::prepare::merge_package(&p, pkg) {
        Ok(p) => Ok(Ok(p)),
        Err(e) => {
            writeln!(err, "{e}")?;
            Ok(Err(exit::ERROR))
        }
    }
}

/// `pipelines show` (the merged YAML) and `pipelines graph` (Graphviz DOT), with or without
/// `--operator-package DIR|TGZ`: resolves the pipelines, then prints them with `render`.
pub fn print_resolved(
    out: &mut dyn Write,
    err: &mut dyn Write,
    specs: &[String],
    package: Option<&std::path::Path>,
    registry: &Registry,
    render: fn(&crate::pipeline::Pipeline) -> String,
) -> std::io::Result<u8> {
    match resolve_with(err, specs, package, registry)? {
        Ok(p) => {
            out.write_all(render(&p).as_bytes())?;
            Ok(exit::OK)
        }
        Err(code) => Ok(code),
    }
}

/// `pipelines validate`: each file on its own; exit 1 if any has a problem.
pub fn validate(out: &mut dyn Write, files: &[String], registry: &Registry) -> std::io::Result<u8> {
    let mut code = exit::OK;
    for f in files {
        match load::resolve(std::slice::from_ref(f), registry) {
            Ok(p) => {
                for w in &p.warnings {
                    writeln!(out, "{w}")?;
                }
                writeln!(out, "{f}: ok: {} tasks", p.tasks.len())?;
            }
            Err(e) => {
                for p in &e.problems {
                    writeln!(out, "{p}")?;
                }
                let n = e.problems.len();
                writeln!(out, "{f}: {n} problem{}", if n == 1 { "" } else { "s" })?;
                code = exit::ERROR;
            }
        }
    }
    Ok(code)
}

/// `pipelines kinds`.
pub fn kinds(out: &mut dyn Write, registry: &Registry) -> std::io::Result<u8> {
    for (i, k) in registry.kinds().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}  (class: {})", k.name(), k.class())?;
        writeln!(out, "  {}", k.description())?;
        let params = k.params();
        if params.is_empty() {
            writeln!(out, "  no parameters")?;
        }
        let width = params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for p in params {
            let req = if p.required { "required" } else { "optional" };
            writeln!(out, "  {:width$}  {req}  {}", p.name, p.help)?;
        }
    }
    Ok(exit::OK)
}

fn report(err: &mut dyn Write, e: &PipelineError) -> std::io::Result<u8> {
    for p in &e.problems {
        writeln!(err, "{p}")?;
    }
    Ok(exit::ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> std::io::Result<u8>,
    ) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = f(&mut out, &mut err).unwrap();
        let s = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (code, s(out), s(err))
    }

    #[test]
    fn kinds_lists_each_kind_with_its_parameters() {
        let mut registry = Registry::new();
        crate::pipeline::test_kinds::register(&mut registry);
        let (code, out, err) = run(|o, _| kinds(o, &registry));
        assert_eq!((code, err.as_str()), (exit::OK, ""));
        assert!(
            out.contains("synthetic.write  (class: default)\n  writes `bytes` pseudo-random bytes from `seed` to the task's output\n  bytes  required  how many bytes to write\n  seed   optional  seed of the generated content\n"),
            "{out}"
        );
        assert!(out.contains("synthetic.items"), "{out}");
    }

    #[test]
    fn list_aligns_its_columns() {
        let registry = default_registry();
        let (code, out, _) = run(|o, _| list(o, &registry));
        assert_eq!(code, exit::OK);
        let lines: Vec<&str> = out.lines().collect();
        // Columns are as wide as their widest cell (`zookeeper`, `OPERATORS`).
        assert_eq!(lines[0], "NAME       OPERATORS  TASKS  DESCRIPTION");
        let selftest = lines.iter().find(|l| l.starts_with("selftest")).unwrap();
        assert!(
            selftest.starts_with("selftest   -          4      Synthetic tasks only"),
            "{out}"
        );
    }

    /// Issue 14: a template in an `sh -c` script is valid (its values are quoted) but warned
    /// about, with the argv form to use instead.
    #[test]
    fn validate_warns_about_templates_in_shell_scripts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(
            &file,
            "apiVersion: kudo-diag.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec:\n  tasks:\n  - name: pods\n    kind: k8s.list\n    params: {apiVersion: v1, kind: Pod}\n    output: pods.yaml\n  - name: greet\n    kind: k8s.exec\n    forEach: {task: pods, as: pod}\n    params:\n      pod: \"{{pod}}\"\n      command: [sh, -c, \"echo {{pod.metadata.name}}\"]\n    output: \"greet/{{pod.metadata.name}}.txt\"\n",
        )
        .unwrap();
        let f = file.display().to_string();
        let (code, out, _) = run(|o, _| validate(o, std::slice::from_ref(&f), &default_registry()));
        assert_eq!(code, exit::OK, "{out}");
        assert!(
            out.contains(&format!("{f}:15:"))
                && out.contains("warning: task `greet`: `command` runs a shell script")
                && out.contains("argv list"),
            "{out}"
        );
        assert!(out.ends_with(&format!("{f}: ok: 2 tasks\n")), "{out}");
    }
}
