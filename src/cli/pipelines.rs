//! `kudo-diag pipelines`: list the built-in pipelines, show one merged, validate files, draw the
//! DAG as Graphviz DOT, and describe the task kinds. The work is done by `crate::pipeline`; this
//! file parses the arguments and prints. Each command writes to a `Write` so tests can read it.

use std::io::Write;

use clap::Subcommand;

use crate::engine::Registry;
use crate::exit;
use crate::pipeline::{builtin, graph, load, registry::default_registry, PipelineError};

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
        Sub::Validate { files } => validate(&mut out, &mut err, &files, &registry),
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
        Sub::Kinds => kinds(&mut out, &mut err, &registry),
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

/// `pipelines show`.
pub fn show(
    out: &mut dyn Write,
    err: &mut dyn Write,
    specs: &[String],
    registry: &Registry,
) -> std::io::Result<u8> {
    match load::resolve(specs, registry) {
        Ok(p) => {
            warn_unchecked(err, registry)?;
            out.write_all(load::to_yaml(&p).as_bytes())?;
            Ok(exit::OK)
        }
        Err(e) => report(err, &e),
    }
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
            warn_unchecked(err, registry)?;
            out.write_all(render(&p).as_bytes())?;
            Ok(exit::OK)
        }
        Err(code) => Ok(code),
    }
}

/// `pipelines validate`: each file on its own; exit 1 if any has a problem.
pub fn validate(
    out: &mut dyn Write,
    err: &mut dyn Write,
    files: &[String],
    registry: &Registry,
) -> std::io::Result<u8> {
    warn_unchecked(err, registry)?;
    let mut code = exit::OK;
    for f in files {
        match load::resolve(std::slice::from_ref(f), registry) {
            Ok(p) => writeln!(out, "{f}: ok: {} tasks", p.tasks.len())?,
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

/// `pipelines graph`.
pub fn graph(
    out: &mut dyn Write,
    err: &mut dyn Write,
    specs: &[String],
    registry: &Registry,
) -> std::io::Result<u8> {
    match load::resolve(specs, registry) {
        Ok(p) => {
            warn_unchecked(err, registry)?;
            out.write_all(graph::to_dot(&p).as_bytes())?;
            Ok(exit::OK)
        }
        Err(e) => report(err, &e),
    }
}

/// `pipelines kinds`.
pub fn kinds(out: &mut dyn Write, err: &mut dyn Write, registry: &Registry) -> std::io::Result<u8> {
    if registry.names().next().is_none() {
        writeln!(err, "this build registers no task kinds yet")?;
        return Ok(exit::OK);
    }
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

fn warn_unchecked(err: &mut dyn Write, registry: &Registry) -> std::io::Result<()> {
    if registry.names().next().is_none() {
        writeln!(
            err,
            "warning: this build registers no task kinds yet, so kinds and parameters were not checked"
        )?;
    }
    Ok(())
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
        crate::pipeline::registry::test_kinds::register(&mut registry);
        let (code, out, err) = run(|o, e| kinds(o, e, &registry));
        assert_eq!((code, err.as_str()), (exit::OK, ""));
        assert!(
            out.contains("synthetic.write  (class: default)\n  writes `bytes` pseudo-random bytes from `seed` to the task's output\n  bytes  required  how many bytes to write\n  seed   optional  seed of the generated content\n"),
            "{out}"
        );
        assert!(out.contains("synthetic.items"), "{out}");
    }

    #[test]
    fn kinds_with_no_kinds_says_so() {
        let (code, out, err) = run(|o, e| kinds(o, e, &Registry::new()));
        assert_eq!(code, exit::OK);
        assert!(out.is_empty());
        assert_eq!(err, "this build registers no task kinds yet\n");
    }

    #[test]
    fn validate_warns_when_kinds_cannot_be_checked() {
        let (code, out, err) = run(|o, e| validate(o, e, &["selftest".into()], &Registry::new()));
        assert_eq!(code, exit::OK);
        assert_eq!(out, "selftest: ok: 4 tasks\n");
        assert!(
            err.starts_with("warning: this build registers no task kinds yet"),
            "{err}"
        );
        let (_, _, err) = run(|o, e| validate(o, e, &["selftest".into()], &default_registry()));
        assert_eq!(err, "");
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
}
