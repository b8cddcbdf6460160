//! Finding where a key or a list item sits in a pipeline's YAML text, so that every problem can
//! point at `file:line:column`.
//!
//! Why a scan of the text: serde-saphyr reports a location only for the first syntax or type error
//! and keeps no spans on the values it builds, yet most pipeline problems are found later, on the
//! typed values (an unknown `needs`, a duplicate name, a cycle). Pipelines are written in block
//! style (`key: value` lines, `- ` items), whose structure is visible in the indentation alone, so
//! a small line scan finds `spec.tasks[3].needs[1]` reliably. Flow style (`{a: 1}`, `[a, b]`) is
//! not descended into: a path inside it resolves to the nearest enclosing key, which is still the
//! right line.

/// One step of a path into the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A meaningful line: its 1-based number, the 0-based column of its first character, and the
/// text from there on.
#[derive(Debug, Clone)]
struct Ln {
    line: usize,
    col: usize,
    text: String,
}

/// A line seen from some column on (an item's content after its `- `).
#[derive(Debug, Clone, Copy)]
struct View<'a> {
    line: usize,
    col: usize,
    text: &'a str,
}

/// Part of the document: an optional first line seen from a column on (`lines[idx]` from byte
/// `off` of its text, at column `col`), then `lines[start..end]`.
#[derive(Debug, Clone, Copy)]
struct Region {
    head: Option<(usize, usize, usize)>,
    start: usize,
    end: usize,
}

/// The lines of one YAML document, ready for `locate`.
#[derive(Debug, Clone, Default)]
pub struct Locator {
    lines: Vec<Ln>,
    /// Where each item of `spec.tasks` is, found once: nearly every problem is located inside
    /// a task, and a pipeline may have thousands.
    tasks: Vec<((usize, usize), Region)>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let raw = raw.trim_end_matches('\r');
            let body = raw.trim_start_matches(' ');
            let col = raw.len() - body.len();
            let trimmed = body.trim_end();
            // Blank lines, comments and document markers carry no structure.
            if trimmed.is_empty()
                || trimmed.starts_with('#')
                || (col == 0 && (trimmed.starts_with("---") || trimmed == "..."))
            {
                continue;
            }
            lines.push(Ln {
                line: i + 1,
                col,
                text: trimmed.to_string(),
            });
        }
        let mut locator = Locator {
            lines,
            tasks: Vec::new(),
        };
        let whole = Region {
            head: None,
            start: 0,
            end: locator.lines.len(),
        };
        locator.tasks = locator
            .find_key(whole, "spec")
            .and_then(|(_, spec)| locator.find_key(spec, "tasks"))
            .map(|(_, tasks)| locator.items(tasks))
            .unwrap_or_default();
        locator
    }

    /// The 1-based line and column of the key or item at `path`, when the text is block style
    /// down to it. For an item, the column is that of its content (after `- `).
    pub fn locate(&self, path: &[Seg]) -> Option<(usize, usize)> {
        let (mut found, mut region, rest) = match path {
            [Seg::Key("spec"), Seg::Key("tasks"), Seg::Index(i), rest @ ..] => {
                let (at, r) = *self.tasks.get(*i)?;
                (Some(at), r, rest)
            }
            _ => (
                None,
                Region {
                    head: None,
                    start: 0,
                    end: self.lines.len(),
                },
                path,
            ),
        };
        for seg in rest {
            let (at, child) = match seg {
                Seg::Key(k) => self.find_key(region, k)?,
                Seg::Index(i) => *self.items(region).get(*i)?,
            };
            found = Some(at);
            region = child;
        }
        found
    }

    fn view(&self, i: usize) -> View<'_> {
        let l = &self.lines[i];
        View {
            line: l.line,
            col: l.col,
            text: &l.text,
        }
    }

    /// The views of a region, each with the index of the first line after it.
    fn views(&self, r: Region) -> impl Iterator<Item = (usize, View<'_>)> + '_ {
        r.head
            .map(|(idx, col, off)| {
                let l = &self.lines[idx];
                let head = View {
                    line: l.line,
                    col,
                    text: &l.text[off..],
                };
                (r.start, head)
            })
            .into_iter()
            .chain((r.start..r.end).map(move |i| (i + 1, self.view(i))))
    }

    /// The end of the lines from `from` that satisfy `keep`, within `end`.
    fn scan(&self, from: usize, end: usize, keep: impl Fn(&Ln) -> bool) -> usize {
        (from..end).find(|&i| !keep(&self.lines[i])).unwrap_or(end)
    }

    /// Finds `key` among the keys of the mapping that `region` holds; returns its position and
    /// the lines of its value.
    fn find_key(&self, r: Region, key: &str) -> Option<((usize, usize), Region)> {
        let base = self.views(r).next()?.1.col;
        for (next, l) in self.views(r) {
            if l.col < base {
                break;
            }
            if l.col != base || key_of(l.text) != Some(key) {
                continue;
            }
            // The value's lines are indented deeper, or are `- ` items at the key's own
            // indentation (YAML allows a block list not to be indented under its key).
            let end = self.scan(next, r.end, |m| {
                m.col > base || (m.col == base && is_item(&m.text))
            });
            let child = Region {
                head: None,
                start: next,
                end,
            };
            return Some(((l.line, l.col + 1), child));
        }
        None
    }

    /// Every item of the block list that `region` holds: the position of its content and its
    /// lines (its first line seen from after the `- `).
    fn items(&self, r: Region) -> Vec<((usize, usize), Region)> {
        let mut out = Vec::new();
        let Some((_, first)) = self.views(r).next() else {
            return out;
        };
        let base = first.col;
        for (next, l) in self.views(r) {
            if l.col < base || (l.col == base && !is_item(l.text)) {
                break;
            }
            if l.col != base {
                continue;
            }
            let rest = &l.text[1..];
            let content = rest.trim_start_matches(' ');
            let content_col = base + 1 + (rest.len() - content.len());
            // The head refers to the line by index: `next - 1` is this line unless it is
            // itself the region's head (an item of a list nested in an item, `- - x`).
            let head = (!content.is_empty()).then(|| {
                let (idx, off) = match r.head {
                    Some((idx, col, off)) if next == r.start => (idx, off + (content_col - col)),
                    _ => (next - 1, content_col - self.lines[next - 1].col),
                };
                (idx, content_col, off)
            });
            let end = self.scan(next, r.end, |m| m.col > base);
            let child = Region {
                head,
                start: next,
                end,
            };
            let at = match self.views(child).next() {
                Some((_, first)) => (first.line, first.col + 1),
                None => (l.line, base + 1),
            };
            out.push((at, child));
        }
        out
    }

    /// Like `locate`, but never gives up entirely: falls back to the deepest prefix of `path`
    /// that can be found, so a problem inside a flow mapping still points at its line; when the
    /// next step is a key written inline on that line (`params: {bytes: 1}`), at that key.
    pub fn locate_near(&self, path: &[Seg]) -> Option<(usize, usize)> {
        for n in (1..=path.len()).rev() {
            let Some((line, col)) = self.locate(&path[..n]) else {
                continue;
            };
            if let Some(Seg::Key(k)) = path.get(n) {
                if let Some(inline) = self.inline_key(line, col, k) {
                    return Some(inline);
                }
            }
            return Some((line, col));
        }
        None
    }

    /// The 1-based position of `key:` written in flow style on `line`, after column `col`.
    fn inline_key(&self, line: usize, col: usize, key: &str) -> Option<(usize, usize)> {
        let ln = self.lines.iter().find(|l| l.line == line)?;
        let from = (col - 1).checked_sub(ln.col)?;
        let text = &ln.text;
        let mut search = from;
        while let Some(p) = text[search..].find(key) {
            let start = search + p;
            let before = text[..start].chars().next_back();
            let after = text[start + key.len()..].trim_start();
            if matches!(before, Some('{' | ',' | ' ')) && after.starts_with(':') {
                return Some((line, ln.col + start + 1));
            }
            search = start + key.len();
        }
        None
    }

    /// Where `value` appears as an item of the list at `list` (`needs: [a, b]` or a block list):
    /// the item itself in block style, else the value's column on the key's line (flow style).
    pub fn locate_item(&self, list: &[Seg], index: usize, value: &str) -> Option<(usize, usize)> {
        let mut path = list.to_vec();
        path.push(Seg::Index(index));
        if let Some(at) = self.locate(&path) {
            return Some(at);
        }
        let (line, col) = self.locate_near(list)?;
        let ln = self.lines.iter().find(|l| l.line == line)?;
        let start = col - 1 - ln.col;
        let after_key = ln.text[start..].find(':').map(|p| start + p)?;
        ln.text[after_key..]
            .find(value)
            .map(|p| (line, ln.col + after_key + p + 1))
            .or(Some((line, col)))
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// The key a `key: value` line starts with (quotes removed), if it is one.
fn key_of(text: &str) -> Option<&str> {
    if let Some(q @ ('"' | '\'')) = text.chars().next() {
        let end = text[1..].find(q)? + 1;
        return text[end + 1..]
            .trim_start()
            .starts_with(':')
            .then(|| &text[1..end]);
    }
    if text.starts_with(['-', '{', '[']) && !text.starts_with("-:") {
        return None;
    }
    let pos = text
        .find(": ")
        .or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
    Some(text[..pos].trim_end())
}

#[cfg(test)]
mod tests {
    use super::Seg::{Index, Key};
    use super::*;

    const DOC: &str = "\
# a comment
apiVersion: kudo-diag.dev/v1
metadata:
  name: x
spec:
  tasks:
  - name: a
    kind: k
  -   name: b
      needs:
        - a
        - c
      params: {x: 1}
  -
    name: c
    needs: [a, b]
";

    #[test]
    fn finds_keys_items_and_nested_values() {
        let l = Locator::new(DOC);
        assert_eq!(l.locate(&[Key("apiVersion")]), Some((2, 1)));
        assert_eq!(l.locate(&[Key("metadata"), Key("name")]), Some((4, 3)));
        assert_eq!(
            l.locate(&[Key("spec"), Key("tasks"), Index(0)]),
            Some((7, 5))
        );
        assert_eq!(
            l.locate(&[Key("spec"), Key("tasks"), Index(1), Key("name")]),
            Some((9, 7))
        );
        assert_eq!(
            l.locate(&[Key("spec"), Key("tasks"), Index(1), Key("needs"), Index(1)]),
            Some((12, 11))
        );
        assert_eq!(
            l.locate(&[Key("spec"), Key("tasks"), Index(2), Key("name")]),
            Some((15, 5))
        );
        assert_eq!(l.locate(&[Key("spec"), Key("tasks"), Index(3)]), None);
        assert_eq!(l.locate(&[Key("nope")]), None);
    }

    #[test]
    fn flow_values_fall_back_to_their_key() {
        let l = Locator::new(DOC);
        let task = [Key("spec"), Key("tasks"), Index(1), Key("params"), Key("x")];
        assert_eq!(l.locate(&task), None);
        assert_eq!(l.locate_near(&task), Some((13, 16)));
        let missing = [Key("spec"), Key("tasks"), Index(1), Key("params"), Key("y")];
        assert_eq!(l.locate_near(&missing), Some((13, 7)));
        let needs = [Key("spec"), Key("tasks"), Index(2), Key("needs")];
        assert_eq!(l.locate_item(&needs, 1, "b"), Some((16, 16)));
    }
}
