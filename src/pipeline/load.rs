//! Loading pipelines: the built-in ones embedded from pipelines/, and files given with
//! `--pipeline FILE`; merging `extends` and several pipelines given together; validating the
//! result against the task kinds of a `Registry`.
//!
//! Merging, the one rule: the base's tasks come first, in order; a task of the extending
//! pipeline with the same name replaces the base's task in place (keeping its position); other
//! tasks are appended. `resolve(["a", "b"])` applies the same rule with `b` extending `a`.

use std::path::{Path, PathBuf};

use super::builtin;
use super::locate::Seg;
use super::model::{Metadata, PipelineDoc, PipelineSpec, TaskSpec, API_VERSION, KIND};
use super::parse::{self, SourcedTask};
use super::validate::{self, closest};
use super::{Pipeline, PipelineError, Problem};
use crate::engine::Registry;

/// Loads one pipeline file (merging what it extends) and validates it.
pub fn load_file(path: &Path, registry: &Registry) -> Result<Pipeline, PipelineError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PipelineError {
        problems: vec![Problem {
            source: source.clone(),
            line: None,
            column: None,
            message: format!("cannot read the pipeline file: {e}; check the path"),
        }],
    })?;
    load_str(&source, &text, registry)
}

/// Loads a pipeline from YAML text; `source` names it in errors, and a relative `extends` path is
/// resolved against `source`'s folder.
pub fn load_str(source: &str, text: &str, registry: &Registry) -> Result<Pipeline, PipelineError> {
    let mut problems = Vec::new();
    let merged = load_doc(
        source,
        text,
        Place::File(Path::new(source)),
        &mut Vec::new(),
        &mut problems,
    );
    finish(merged.into_iter().collect(), problems, registry)
}

/// Loads a built-in pipeline by name.
pub fn load_builtin(name: &str, registry: &Registry) -> Result<Pipeline, PipelineError> {
    resolve(&[name.to_string()], registry)
}

/// Whether a `--pipeline` value or an `extends` names a file rather than a built-in pipeline.
pub fn is_file_spec(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".yaml") || spec.ends_with(".yml")
}

/// Resolves `--pipeline` values, each a built-in name or a file path (`is_file_spec`); later ones
/// extend the earlier ones (same-name tasks replaced in place, new tasks appended). The result is
/// merged and validated; its name joins the parts' names with `+`.
pub fn resolve(spec: &[String], registry: &Registry) -> Result<Pipeline, PipelineError> {
    let mut problems = Vec::new();
    let mut parts = Vec::new();
    if spec.is_empty() {
        return Err(one_problem(
            "--pipeline",
            "no pipeline given; name a built-in pipeline or a file",
        ));
    }
    for s in spec {
        let part = if is_file_spec(s) {
            match std::fs::read_to_string(s) {
                Ok(text) => load_doc(
                    s,
                    &text,
                    Place::File(Path::new(s)),
                    &mut Vec::new(),
                    &mut problems,
                ),
                Err(e) => {
                    problems.push(plain(
                        s,
                        format!("cannot read the pipeline file: {e}; check the path, or run `kudo-diag pipelines list` for the built-in names"),
                    ));
                    None
                }
            }
        } else if let Some(b) = builtin::get(s) {
            load_doc(
                &builtin::source_name(b.name),
                b.text,
                Place::Builtin,
                &mut Vec::new(),
                &mut problems,
            )
        } else {
            problems.push(plain(s, unknown_builtin(s)));
            None
        };
        parts.push(part);
    }
    if parts.iter().any(Option::is_none) {
        return finish(Vec::new(), problems, registry);
    }
    finish(parts.into_iter().flatten().collect(), problems, registry)
}

/// A pipeline as YAML, as `pipelines show` prints it: the merged tasks under one document, with
/// the sources it was merged from in a comment.
pub fn to_yaml(p: &Pipeline) -> String {
    let doc = PipelineDoc {
        api_version: API_VERSION.to_string(),
        kind: KIND.to_string(),
        metadata: Metadata {
            name: p.name.clone(),
            description: None,
        },
        spec: PipelineSpec {
            extends: None,
            operators: Vec::new(),
            tasks: p.tasks.clone(),
        },
    };
    let body = crate::yaml::to_string(&doc).expect("a pipeline serializes to YAML");
    format!(
        "# merged from: {}\n# hash: {}\n{body}",
        p.sources.join(", "),
        p.hash
    )
}

/// Tasks merged so far.
#[derive(Debug, Clone)]
struct Merged {
    name: String,
    sources: Vec<String>,
    tasks: Vec<SourcedTask>,
    unreadable: Vec<String>,
}

impl Merged {
    /// `overlay` extends `self`: same-name tasks replaced in place, new ones appended.
    fn extend(mut self, overlay: Merged) -> Merged {
        for t in overlay.tasks {
            match self.tasks.iter().position(|b| b.spec.name == t.spec.name) {
                Some(pos) => self.tasks[pos] = t,
                None => self.tasks.push(t),
            }
        }
        for s in overlay.sources {
            if !self.sources.contains(&s) {
                self.sources.push(s);
            }
        }
        self.unreadable.extend(overlay.unreadable);
        self.name = format!("{}+{}", self.name, overlay.name);
        self
    }
}

/// Where a document comes from: which decides what its `extends` may name.
#[derive(Clone, Copy)]
enum Place<'a> {
    Builtin,
    File(&'a Path),
}

/// Reads one document and, first, what it extends. `stack` holds the documents being loaded
/// (identity, display name), to report `extends` cycles.
fn load_doc(
    source: &str,
    text: &str,
    place: Place,
    stack: &mut Vec<(String, String)>,
    problems: &mut Vec<Problem>,
) -> Option<Merged> {
    let (doc, found) = parse::parse(source, text);
    problems.extend(found);
    let doc = doc?;
    let identity = match place {
        Place::Builtin => source.to_string(),
        Place::File(p) => identity_of(p),
    };
    stack.push((identity, source.to_string()));
    let base = match &doc.extends {
        None => Some(None),
        Some(ext) => load_base(source, &doc, ext, place, stack, problems).map(Some),
    };
    stack.pop();
    let own = Merged {
        name: doc.name.clone(),
        sources: vec![source.to_string()],
        tasks: doc.tasks,
        unreadable: doc.unreadable_names,
    };
    match base? {
        None => Some(own),
        Some(base) => {
            let mut merged = base.extend(own);
            merged.name = doc.name;
            Some(merged)
        }
    }
}

/// Loads what `doc` extends (`ext`, a built-in name or a path relative to `doc`'s file).
fn load_base(
    source: &str,
    doc: &parse::ParsedDoc,
    ext: &str,
    place: Place,
    stack: &mut Vec<(String, String)>,
    problems: &mut Vec<Problem>,
) -> Option<Merged> {
    let problem = |m: String| doc.problem(&[Seg::Key("spec"), Seg::Key("extends")], m);
    enum Target {
        Builtin(&'static builtin::Builtin),
        File(PathBuf),
    }
    let (id, display, target) = if is_file_spec(ext) {
        let Place::File(p) = place else {
            problems.push(problem(format!(
                "a built-in pipeline can only extend another built-in pipeline, not the file `{ext}`"
            )));
            return None;
        };
        // `./` parts are dropped so that messages show the path a person would write.
        let path: PathBuf = p
            .parent()
            .unwrap_or(Path::new(""))
            .join(ext)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        (
            identity_of(&path),
            path.display().to_string(),
            Target::File(path),
        )
    } else if let Some(b) = builtin::get(ext) {
        let name = builtin::source_name(b.name);
        (name.clone(), name, Target::Builtin(b))
    } else {
        problems.push(problem(format!("extends {}", unknown_builtin(ext))));
        return None;
    };
    if let Some(from) = stack.iter().position(|(i, _)| *i == id) {
        let chain: Vec<&str> = stack[from..].iter().map(|(_, d)| d.as_str()).collect();
        problems.push(problem(format!(
            "`extends` cycle: {} -> {display}; remove one of these `extends`",
            chain.join(" -> ")
        )));
        return None;
    }
    match target {
        Target::Builtin(b) => load_doc(&display, b.text, Place::Builtin, stack, problems),
        Target::File(path) => match std::fs::read_to_string(&path) {
            Ok(text) => load_doc(&display, &text, Place::File(&path), stack, problems),
            Err(e) => {
                problems.push(problem(format!(
                    "cannot read `{display}`, which {source} extends: {e}; `extends` takes a built-in name or a path relative to this file"
                )));
                None
            }
        },
    }
}

/// Validates the merged parts and builds the `Pipeline`: every problem, or a pipeline in which
/// each fan-out source is also listed in `needs` (it is implicitly a dependency).
fn finish(
    parts: Vec<Merged>,
    mut problems: Vec<Problem>,
    registry: &Registry,
) -> Result<Pipeline, PipelineError> {
    let merged = parts.into_iter().reduce(Merged::extend);
    // When a document could not be read at all, `merged` is None and the semantic checks are
    // skipped: they would only add noise, every reference to its tasks looking unknown.
    if let Some(m) = &merged {
        for p in validate::validate(&m.tasks, &m.unreadable, registry) {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        // File order: the sources base first, then line and column (a stable sort keeps
        // problems without a line where they were found).
        let rank = |p: &Problem| {
            m.sources
                .iter()
                .position(|s| *s == p.source)
                .unwrap_or(usize::MAX)
        };
        problems.sort_by_key(|p| (rank(p), p.line.unwrap_or(0), p.column.unwrap_or(0)));
    }
    match merged {
        Some(m) if problems.is_empty() => {
            let tasks: Vec<TaskSpec> = m
                .tasks
                .into_iter()
                .map(|t| {
                    let mut spec = t.spec;
                    if let Some(fe) = &spec.for_each {
                        if !spec.needs.contains(&fe.task) {
                            spec.needs.push(fe.task.clone());
                        }
                    }
                    spec
                })
                .collect();
            Ok(Pipeline::new(m.name, m.sources, tasks))
        }
        _ => Err(PipelineError { problems }),
    }
}

fn identity_of(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn unknown_builtin(name: &str) -> String {
    let hint =
        closest(name, builtin::names()).map_or(String::new(), |c| format!("did you mean `{c}`? "));
    format!(
        "`{name}`: there is no built-in pipeline of that name; {hint}the built-in pipelines are: {} (a file path must contain `/` or end in .yaml)",
        builtin::names().collect::<Vec<_>>().join(", ")
    )
}

fn plain(source: &str, message: impl Into<String>) -> Problem {
    Problem {
        source: source.to_string(),
        line: None,
        column: None,
        message: message.into(),
    }
}

fn one_problem(source: &str, message: &str) -> PipelineError {
    PipelineError {
        problems: vec![plain(source, message)],
    }
}
