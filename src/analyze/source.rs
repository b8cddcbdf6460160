//! Where the analyzers read from: a bundle opened through the hostile-input reader
//! (`crate::bundle::reader`), or an in-memory set of files for unit tests. Files are read once
//! and cached; YAML/JSON parsing and locating evidence lines live here so every rule quotes the
//! bundle the same way.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde_json::Value;

use super::model::Line;
use crate::bundle::layout;
use crate::bundle::reader::BundleReader;
use crate::bundle::writer::{ErrorEntry, Manifest};

/// Largest file the analyzers read whole (bigger logs are read up to this much, from the start:
/// the reader already capped what the bundle may make us inflate).
pub const MAX_ANALYZED_FILE: u64 = 256 << 20;

enum Backing {
    Zip(Box<BundleReader>),
    Memory(BTreeMap<String, String>),
}

/// The files of one bundle, for the analyzers.
pub struct Source {
    backing: Backing,
    cache: HashMap<String, Option<Rc<str>>>,
    manifest: Manifest,
    /// The failures of the instance in view (`set_view`).
    errors: Vec<ErrorEntry>,
    /// Every failure of the collection, dependencies' included.
    all_errors: Vec<ErrorEntry>,
    /// The dependency in view (`dependencies/NAMESPACE/INSTANCE/`), or empty for the instance
    /// the bundle was collected for: paths are read under it, except the shared parts.
    prefix: String,
    /// Files that could not be read (path, why): reported as missing evidence.
    pub unreadable: Vec<(String, String)>,
}

impl Source {
    pub fn from_reader(r: BundleReader) -> Self {
        let mut src = Source {
            manifest: r.manifest().clone(),
            errors: Vec::new(),
            all_errors: r.errors().to_vec(),
            prefix: String::new(),
            backing: Backing::Zip(Box::new(r)),
            cache: HashMap::new(),
            unreadable: Vec::new(),
        };
        src.set_view("");
        src
    }

    /// An in-memory bundle (tests, hand-made inputs).
    pub fn from_files<I, K, V>(files: I, errors: Vec<ErrorEntry>) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut src = Source {
            backing: Backing::Memory(
                files
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            cache: HashMap::new(),
            manifest: Manifest::default(),
            errors: Vec::new(),
            all_errors: errors,
            prefix: String::new(),
            unreadable: Vec::new(),
        };
        src.set_view("");
        src
    }

    /// Looks at one dependency of the bundle (`prefix` is its `dependencies/NAMESPACE/
    /// INSTANCE/`), or with `""` at the instance it was collected for: the rules then read the
    /// dependency's files by the paths of a bundle of its own, the shared parts (KUDO, the
    /// cluster) where they are, and its failures only.
    pub fn set_view(&mut self, prefix: &str) {
        self.prefix = prefix.to_string();
        let mine = |node: &str| {
            if prefix.is_empty() {
                !node.starts_with(layout::DEPENDENCIES_DIR)
            } else {
                node.starts_with(prefix)
            }
        };
        self.errors = self
            .all_errors
            .iter()
            .filter(|e| mine(&e.node))
            .cloned()
            .collect();
    }

    /// The dependency in view, empty for the instance the bundle was collected for.
    pub fn view(&self) -> &str {
        &self.prefix
    }

    /// The dependencies the bundle holds, each as its `dependencies/NAMESPACE/INSTANCE/`.
    pub fn dependencies(&self) -> Vec<String> {
        let all = match &self.backing {
            Backing::Zip(r) => r.entries().map(|e| e.path.clone()).collect(),
            Backing::Memory(m) => m.keys().cloned().collect::<Vec<_>>(),
        };
        let mut out: Vec<String> = all
            .iter()
            .filter_map(|p| {
                // Any file under it: a dependency whose Instance could not be read still has
                // its pods and logs to analyze.
                let rest = p.strip_prefix(layout::DEPENDENCIES_DIR)?;
                let mut parts = rest.splitn(3, '/');
                let (ns, inst, file) = (parts.next()?, parts.next()?, parts.next()?);
                (!ns.is_empty() && !inst.is_empty() && !file.is_empty())
                    .then(|| layout::dependency_prefix(ns, inst))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Where a path of the view is in the bundle.
    pub fn bundle_path(&self, path: &str) -> String {
        if self.prefix.is_empty() || layout::SHARED_DIRS.iter().any(|d| path.starts_with(d)) {
            path.to_string()
        } else {
            format!("{}{path}", self.prefix)
        }
    }

    /// Replaces the manifest (in-memory sources have an empty one).
    pub fn with_manifest(mut self, m: Manifest) -> Self {
        self.manifest = m;
        self
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The failures of the instance in view.
    pub fn errors(&self) -> &[ErrorEntry] {
        &self.errors
    }

    /// Every failure of the collection, its dependencies' included.
    pub fn all_errors(&self) -> &[ErrorEntry] {
        &self.all_errors
    }

    /// Every file path of the view, sorted: the instance's own and the shared parts, never
    /// another instance's.
    pub fn paths(&self) -> Vec<String> {
        let all: Vec<&String> = match &self.backing {
            Backing::Zip(r) => r.entries().map(|e| &e.path).collect(),
            Backing::Memory(m) => m.keys().collect(),
        };
        let shared = |p: &str| layout::SHARED_DIRS.iter().any(|d| p.starts_with(d));
        let mut out: Vec<String> = all
            .into_iter()
            .filter_map(|p| {
                if self.prefix.is_empty() {
                    (!p.starts_with(layout::DEPENDENCIES_DIR)).then(|| p.clone())
                } else if shared(p) {
                    Some(p.clone())
                } else {
                    p.strip_prefix(&self.prefix).map(str::to_string)
                }
            })
            .collect();
        out.sort();
        out
    }

    /// Whether the bundle holds `path`: as a file, or as a previous log recorded identical to
    /// its current log (the manifest's `identicalLogs`).
    pub fn contains(&self, path: &str) -> bool {
        self.contains_at(&self.bundle_path(path))
    }

    /// [`Source::contains`] for a path of the whole bundle.
    fn contains_at(&self, path: &str) -> bool {
        if let Some(same) = self.manifest.same_as(path) {
            return self.contains_at(same);
        }
        match &self.backing {
            Backing::Zip(r) => r.contains(path),
            Backing::Memory(m) => m.contains_key(path),
        }
    }

    /// The file's text (lossy UTF-8), or None when the bundle does not have it or it cannot be
    /// read (then recorded in `unreadable`).
    pub fn text(&mut self, path: &str) -> Option<Rc<str>> {
        let full = self.bundle_path(path);
        self.text_at(&full)
    }

    /// [`Source::text`] for a path of the whole bundle.
    fn text_at(&mut self, path: &str) -> Option<Rc<str>> {
        if let Some(c) = self.cache.get(path) {
            return c.clone();
        }
        if let Some(same) = self.manifest.same_as(path).map(str::to_string) {
            let got = self.text_at(&same);
            self.cache.insert(path.to_string(), got.clone());
            return got;
        }
        let got: Option<Rc<str>> = match &mut self.backing {
            Backing::Memory(m) => m.get(path).map(|s| Rc::from(s.as_str())),
            Backing::Zip(r) => {
                if !r.contains(path) {
                    None
                } else {
                    match read_capped(r, path) {
                        Ok(b) => Some(Rc::from(String::from_utf8_lossy(&b).as_ref())),
                        Err(e) => {
                            self.unreadable.push((path.to_string(), e));
                            None
                        }
                    }
                }
            }
        };
        self.cache.insert(path.to_string(), got.clone());
        got
    }

    /// The file's text like [`Source::text`], without keeping it: for logs, read once by every
    /// rule that wants them.
    pub fn text_uncached(&mut self, path: &str) -> Option<Rc<str>> {
        let full = self.bundle_path(path);
        if self.cache.contains_key(&full) {
            return self.text(path);
        }
        let t = self.text(path);
        self.cache.remove(&full);
        t
    }

    /// The file parsed as YAML (JSON is YAML), or None when missing or malformed.
    pub fn yaml(&mut self, path: &str) -> Option<Value> {
        let t = self.text(path)?;
        match crate::yaml::from_str::<Value>(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                let path = self.bundle_path(path);
                self.unreadable
                    .push((path, format!("not valid YAML/JSON: {e}")));
                None
            }
        }
    }

    /// The `items` of a `kind: List` file (empty when missing).
    pub fn items(&mut self, path: &str) -> Vec<Value> {
        match self.yaml(path) {
            Some(Value::Object(mut m)) => match m.remove("items") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

fn read_capped(r: &mut BundleReader, path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut rd = r.reader(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    (&mut rd)
        .take(MAX_ANALYZED_FILE)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    crate::bundle::nesting::check_file(path, &out)?;
    Ok(out)
}

/// Lines of `text` containing `needle`, searching from the first line that contains `anchor`
/// (when given), at most `max` of them.
pub fn find_lines(text: &str, anchor: Option<&str>, needle: &str, max: usize) -> Vec<Line> {
    let mut started = anchor.is_none();
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if !started {
            if l.contains(anchor.unwrap_or_default()) {
                started = true;
            } else {
                continue;
            }
        }
        if l.contains(needle) {
            out.push(Line {
                line: i + 1,
                text: clip(l.trim_end()),
            });
            if out.len() >= max {
                break;
            }
        }
    }
    out
}

/// The first line containing `needle` after the object named `name` begins in a YAML list.
pub fn line_in_object(text: &str, name: &str, needle: &str) -> Vec<Line> {
    let anchor = format!("name: {name}");
    let mut v = find_lines(text, Some(&anchor), needle, 1);
    if v.is_empty() {
        v = find_lines(text, None, needle, 1);
    }
    v
}

/// Long lines are shortened for the report (the bundle has them whole).
pub fn clip(s: &str) -> String {
    const MAX: usize = 400;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A string field by JSON pointer, or "".
pub fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// An integer field by JSON pointer (numbers or numeric strings).
pub fn n(v: &Value, ptr: &str) -> Option<i64> {
    match v.pointer(ptr)? {
        Value::Number(x) => x.as_i64(),
        Value::String(x) => x.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::writer::IdenticalLog;

    #[test]
    fn a_previous_log_recorded_identical_reads_as_the_current_one() {
        let m = Manifest {
            identical_logs: vec![IdenticalLog {
                path: "pods/p/logs/a.previous.log".into(),
                same_as: "pods/p/logs/a.log".into(),
                task: "t".into(),
            }],
            ..Manifest::default()
        };
        let mut src = Source::from_files([("pods/p/logs/a.log", "OutOfMemoryError\n")], vec![])
            .with_manifest(m);
        assert!(src.contains("pods/p/logs/a.previous.log"));
        assert_eq!(
            src.text("pods/p/logs/a.previous.log").as_deref(),
            Some("OutOfMemoryError\n")
        );
        assert!(!src.contains("pods/p/logs/b.previous.log"));
    }
}
