//! Reading one pipeline document into the model, collecting every structural problem.
//!
//! serde stops at the first error, and a person fixing a file wants all of them, so the document
//! is first read as a `serde_json::Value` (a syntax error is the only fatal problem) and then
//! checked piece by piece: the top-level keys, `metadata`, `spec`, and each task on its own. The
//! model's serde types stay the single truth about what is allowed: the allowed field names are
//! read from the types themselves (`struct_fields`), and each piece is deserialized with serde.

use std::collections::HashMap;
use std::sync::Arc;

use serde::de::{DeserializeOwned, Visitor};
use serde_json::{Map, Value};

use super::locate::{Locator, Seg};
use super::model::{Metadata, PipelineDoc, PipelineSpec, TaskSpec, API_VERSION, KIND};
use super::Problem;
use crate::bundle::nesting;

/// Where a task was written: its document and its index in that document's `spec.tasks`.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: String,
    pub locator: Arc<Locator>,
    pub index: usize,
}

impl Origin {
    /// A problem located at `path` inside this task (or at the task itself when `path` is empty
    /// or not found).
    pub fn problem(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        let mut full = vec![Seg::Key("spec"), Seg::Key("tasks"), Seg::Index(self.index)];
        full.extend_from_slice(path);
        let at = self.locator.locate_near(&full);
        located(&self.source, at, message)
    }

    /// A problem at the `index`th item (`value`) of the list at `list` inside this task.
    pub fn item_problem(
        &self,
        list: &[Seg],
        index: usize,
        value: &str,
        message: impl Into<String>,
    ) -> Problem {
        let mut full = vec![Seg::Key("spec"), Seg::Key("tasks"), Seg::Index(self.index)];
        full.extend_from_slice(list);
        let at = self
            .locator
            .locate_item(&full, index, value)
            .or_else(|| self.locator.locate_near(&full));
        located(&self.source, at, message)
    }

    /// The 1-based line the task starts on, if known.
    pub fn line(&self) -> Option<usize> {
        self.locator
            .locate(&[Seg::Key("spec"), Seg::Key("tasks"), Seg::Index(self.index)])
            .map(|(l, _)| l)
    }
}

/// A task as read, with where it came from.
#[derive(Debug, Clone)]
pub struct SourcedTask {
    pub spec: TaskSpec,
    pub origin: Origin,
}

/// One document, read as far as it could be.
#[derive(Debug, Clone)]
pub struct ParsedDoc {
    pub source: String,
    pub locator: Arc<Locator>,
    pub name: String,
    pub description: Option<String>,
    pub extends: Option<String>,
    pub operators: Vec<String>,
    /// The tasks that could be read.
    pub tasks: Vec<SourcedTask>,
    /// Names of tasks that could not be read, so references to them are not reported as
    /// unknown on top of the real problem.
    pub unreadable_names: Vec<String>,
}

impl ParsedDoc {
    pub fn problem(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        located(&self.source, self.locator.locate_near(path), message)
    }
}

pub(crate) fn located(
    source: &str,
    at: Option<(usize, usize)>,
    message: impl Into<String>,
) -> Problem {
    Problem {
        source: source.to_string(),
        line: at.map(|(l, _)| l),
        column: at.map(|(_, c)| c),
        message: message.into(),
    }
}

/// Reads `text`. Returns the document when its skeleton (a mapping with a `metadata.name`) could
/// be read, and every problem found, in file order.
pub fn parse(source: &str, text: &str) -> (Option<ParsedDoc>, Vec<Problem>) {
    let mut problems = Vec::new();
    if let Err(e) = nesting::check(text.as_bytes(), nesting::MAX_DEPTH) {
        return (
            None,
            vec![located(
                source,
                Some((e.line, e.column)),
                format!("this file {e}"),
            )],
        );
    }
    let root = match read_root(source, text) {
        Ok(root) => root,
        Err(fatal) => return (None, vec![fatal]),
    };
    let locator = Arc::new(Locator::new(text));
    let at = |path: &[Seg]| locator.locate_near(path);
    if root.is_null() {
        let message = format!(
            "the file is empty; a pipeline needs `apiVersion: {API_VERSION}`, `kind: {KIND}`, `metadata` and `spec` (see docs/pipelines.md)"
        );
        return (None, vec![located(source, Some((1, 1)), message)]);
    }
    let Value::Object(map) = root else {
        let message = format!(
            "a pipeline must be a YAML mapping with `apiVersion: {API_VERSION}`, `kind: {KIND}`, `metadata` and `spec`"
        );
        return (None, vec![located(source, Some((1, 1)), message)]);
    };

    check_header(source, &map, &locator, &mut problems);

    let metadata = match map.get("metadata") {
        None => {
            problems.push(located(
                source,
                Some((1, 1)),
                "missing `metadata` with the pipeline's `name`",
            ));
            None
        }
        Some(v) => read_part::<Metadata>(source, v, "metadata", &locator, &mut problems),
    };
    if let Some(m) = &metadata {
        if m.name.trim().is_empty() {
            problems.push(located(
                source,
                at(&[Seg::Key("metadata"), Seg::Key("name")]),
                "metadata.name is empty; give the pipeline a name",
            ));
        }
    }

    let empty = Value::Object(Map::new());
    let spec_value = map.get("spec").unwrap_or_else(|| {
        problems.push(located(
            source,
            Some((1, 1)),
            "missing `spec` with the pipeline's `tasks`",
        ));
        &empty
    });
    let mut tasks_value = None;
    let spec = match spec_value {
        Value::Object(m) => {
            let mut without_tasks = m.clone();
            tasks_value = without_tasks.remove("tasks");
            read_part::<PipelineSpec>(
                source,
                &Value::Object(without_tasks),
                "spec",
                &locator,
                &mut problems,
            )
        }
        _ => read_part::<PipelineSpec>(source, spec_value, "spec", &locator, &mut problems),
    };

    let (tasks, unreadable_names) = read_tasks(source, tasks_value, &locator, &mut problems);

    duplicate_names(&tasks, &mut problems);

    problems.sort_by_key(|p| (p.line.unwrap_or(0), p.column.unwrap_or(0)));
    let doc = metadata.map(|m| {
        let spec = spec.unwrap_or_default();
        ParsedDoc {
            source: source.to_string(),
            locator: locator.clone(),
            name: m.name,
            description: m.description,
            extends: spec.extends,
            operators: spec.operators,
            tasks,
            unreadable_names,
        }
    });
    (doc, problems)
}

/// The document as a YAML value, merge keys applied; `Err` is the one problem that stops
/// reading (invalid YAML). Anchors with `<<: *defaults` are a common way to share task
/// settings: serde-saphyr applies merge keys while reading, so they are not reported as an
/// unknown field `<<`.
fn read_root(source: &str, text: &str) -> Result<Value, Problem> {
    match crate::yaml::from_str(text) {
        Ok(v) => Ok(v),
        Err(e) => {
            let at = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize));
            let message = strip_location(&e.without_snippet().to_string());
            let message = if matches!(
                e.without_snippet(),
                crate::yaml::Error::MultipleDocuments { .. }
            ) {
                "a pipeline file holds one YAML document; remove the extra `---` documents or split them into files".to_string()
            } else {
                format!("invalid YAML: {message}")
            };
            Err(located(source, at, message))
        }
    }
}

/// `apiVersion`, `kind` and no unknown top-level keys.
fn check_header(
    source: &str,
    map: &Map<String, Value>,
    locator: &Locator,
    problems: &mut Vec<Problem>,
) {
    let at = |path: &[Seg]| locator.locate_near(path);
    unknown_keys(
        source,
        map,
        struct_fields::<PipelineDoc>(),
        "the top level",
        &[],
        locator,
        problems,
    );
    for (field, expected) in [("apiVersion", API_VERSION), ("kind", KIND)] {
        match map.get(field) {
            None => problems.push(located(
                source,
                Some((1, 1)),
                format!("missing `{field}: {expected}` at the top of the pipeline"),
            )),
            Some(Value::String(s)) if s == expected => {}
            Some(other) => problems.push(located(
                source,
                at(&[Seg::Key(field)]),
                format!(
                    "{field} is `{}`, expected `{expected}`; set `{field}: {expected}`",
                    scalar_text(other)
                ),
            )),
        }
    }
}

/// `spec.tasks`: the tasks that could be read, and the names of those that could not.
fn read_tasks(
    source: &str,
    tasks_value: Option<Value>,
    locator: &Arc<Locator>,
    problems: &mut Vec<Problem>,
) -> (Vec<SourcedTask>, Vec<String>) {
    let at = |path: &[Seg]| locator.locate_near(path);
    let mut tasks = Vec::new();
    let mut unreadable_names = Vec::new();
    match tasks_value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.into_iter().enumerate() {
                let origin = Origin {
                    source: source.to_string(),
                    locator: locator.clone(),
                    index,
                };
                match read_task(item, &origin, problems) {
                    Ok(spec) => tasks.push(SourcedTask { spec, origin }),
                    Err(Some(name)) => unreadable_names.push(name),
                    Err(None) => {}
                }
            }
        }
        Some(_) => problems.push(located(
            source,
            at(&[Seg::Key("spec"), Seg::Key("tasks")]),
            "spec.tasks must be a list of tasks (`- name: ...`)",
        )),
    }
    (tasks, unreadable_names)
}

/// Names must be unique within one document; across documents the same name is how a
/// pipeline replaces a task of the one it extends.
fn duplicate_names(tasks: &[SourcedTask], problems: &mut Vec<Problem>) {
    let mut first: HashMap<&str, &SourcedTask> = HashMap::new();
    for t in tasks {
        if let Some(prev) = first.get(t.spec.name.as_str()) {
            let prev_line = prev
                .origin
                .line()
                .map_or(String::new(), |l| format!(" (first defined at line {l})"));
            problems.push(t.origin.problem(
                &[Seg::Key("name")],
                format!(
                    "duplicate task name `{}`{prev_line}; task names must be unique within a file, rename one of them",
                    t.spec.name
                ),
            ));
        } else {
            first.insert(&t.spec.name, t);
        }
    }
}

/// Reads one task. On failure, returns the task's name if it has one.
fn read_task(
    item: Value,
    origin: &Origin,
    problems: &mut Vec<Problem>,
) -> Result<TaskSpec, Option<String>> {
    let Value::Object(mut map) = item else {
        problems.push(origin.problem(
            &[],
            format!(
                "task #{} must be a mapping with at least `name` and `kind`",
                origin.index + 1
            ),
        ));
        return Err(None);
    };
    let name = map.get("name").and_then(Value::as_str).map(str::to_string);
    let label = name.as_ref().map_or_else(
        || format!("task #{}", origin.index + 1),
        |n| format!("task `{n}`"),
    );
    let fields = struct_fields::<TaskSpec>();
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !fields.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in &unknown {
        problems.push(origin.problem(
            &[Seg::Key(key)],
            format!("{label}: {}", unknown_field_message(key, fields)),
        ));
        map.remove(key);
    }
    let had_unknown = !unknown.is_empty();
    match serde_json::from_value::<TaskSpec>(Value::Object(map.clone())) {
        Ok(spec) if !had_unknown => Ok(spec),
        Ok(_) => Err(name),
        Err(e) => {
            // serde's error for a value does not say which field it was; try each field alone
            // next to a valid name and kind to find the culprits.
            let mut found = false;
            for (k, v) in &map {
                let key = k.as_str();
                if key == "name" || key == "kind" {
                    if !v.is_string() {
                        found = true;
                        problems.push(origin.problem(
                            &[Seg::Key(key)],
                            format!("{label}: `{key}` must be a string"),
                        ));
                    }
                    continue;
                }
                let mut probe = Map::new();
                probe.insert("name".into(), "probe".into());
                probe.insert("kind".into(), "probe".into());
                probe.insert(k.clone(), v.clone());
                if let Err(e) = serde_json::from_value::<TaskSpec>(Value::Object(probe)) {
                    found = true;
                    problems.push(origin.problem(
                        &[Seg::Key(key)],
                        format!("{label}: `{key}`: {}", strip_location(&e.to_string())),
                    ));
                }
            }
            if !found {
                problems.push(
                    origin.problem(&[], format!("{label}: {}", strip_location(&e.to_string()))),
                );
            }
            Err(name)
        }
    }
}

/// Reads `metadata` or `spec` (without its tasks): unknown keys, then the typed value.
fn read_part<T: DeserializeOwned>(
    source: &str,
    value: &Value,
    key: &str,
    locator: &Locator,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let Value::Object(map) = value else {
        problems.push(located(
            source,
            locator.locate_near(&[Seg::Key(key)]),
            format!("`{key}` must be a mapping"),
        ));
        return None;
    };
    let fields = struct_fields::<T>();
    unknown_keys(
        source,
        map,
        fields,
        &format!("`{key}`"),
        &[Seg::Key(key)],
        locator,
        problems,
    );
    let known: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| fields.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match serde_json::from_value::<T>(Value::Object(known)) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(located(
                source,
                locator.locate_near(&[Seg::Key(key)]),
                format!("`{key}`: {}", strip_location(&e.to_string())),
            ));
            None
        }
    }
}

fn unknown_keys(
    source: &str,
    map: &Map<String, Value>,
    fields: &[&str],
    place: &str,
    path: &[Seg],
    locator: &Locator,
    problems: &mut Vec<Problem>,
) {
    for key in map.keys() {
        if fields.contains(&key.as_str()) {
            continue;
        }
        let mut p = path.to_vec();
        p.push(Seg::Key(key));
        problems.push(located(
            source,
            locator.locate_near(&p),
            format!("{}, in {place}", unknown_field_message(key, fields)),
        ));
    }
}

fn unknown_field_message(key: &str, fields: &[&str]) -> String {
    let hint = super::validate::closest(key, fields.iter().copied())
        .map_or(String::new(), |c| format!("did you mean `{c}`? "));
    format!(
        "unknown field `{key}`; {hint}the fields are: {}",
        fields.join(", ")
    )
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => crate::yaml::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

/// serde-saphyr appends "at line L, column C" to its messages; the location is already in the
/// `file:line:column` prefix.
fn strip_location(message: &str) -> String {
    static AT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r" at line \d+,? column \d+").expect("static regex")
    });
    AT.replacen(message, 1, "").into_owned()
}

/// The field names serde accepts for a struct, read from its `Deserialize` impl, so that the
/// "unknown field" message and the model can never disagree (fields added to the model later are
/// allowed here with no change).
pub fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldsProbe(&mut fields));
    fields
}

struct FieldsProbe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for Stop {}

impl serde::de::Error for Stop {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Stop
    }
}

impl<'de> serde::Deserializer<'de> for FieldsProbe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_fields_reads_the_model() {
        assert_eq!(
            struct_fields::<PipelineDoc>(),
            &["apiVersion", "kind", "metadata", "spec"]
        );
        assert!(struct_fields::<TaskSpec>().contains(&"forEach"));
    }
}
