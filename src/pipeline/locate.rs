//! Finding where a key or a list item sits in a pipeline's YAML text, so that every problem can
//! point at `file:line:column`.
//!
//! Why a scan of the text: serde_yaml reports a location only for the first syntax or type error
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

/// The lines of one YAML document, ready for `locate`.
#[derive(Debug, Clone, Default)]
pub struct Locator {
    lines: Vec<Ln>,
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
        Locator { lines }
    }

    /// The 1-based line and column of the key or item at `path`, when the text is block style
    /// down to it. For an item, the column is that of its content (after `- `).
    pub fn locate(&self, path: &[Seg]) -> Option<(usize, usize)> {
        let mut region = self.lines.clone();
        let mut found = None;
        for seg in path {
            let (at, child) = match seg {
                Seg::Key(k) => find_key(&region, k)?,
                Seg::Index(i) => find_index(&region, *i)?,
            };
            found = Some(at);
            region = child;
        }
        found
    }

    /// Like `locate`, but never gives up entirely: falls back to the deepest prefix of `path`
    /// that can be found, so a problem inside a flow mapping still points at its key's line.
    pub fn locate_near(&self, path: &[Seg]) -> Option<(usize, usize)> {
        (0..=path.len()).rev().find_map(|n| {
            if n == 0 {
                None
            } else {
                self.locate(&path[..n])
            }
        })
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

/// Finds `key` among the keys of the mapping that `region` holds; returns its position and the
/// lines of its value.
fn find_key(region: &[Ln], key: &str) -> Option<((usize, usize), Vec<Ln>)> {
    let base = region.first()?.col;
    for (i, l) in region.iter().enumerate() {
        if l.col < base {
            break;
        }
        if l.col != base || key_of(&l.text) != Some(key) {
            continue;
        }
        // The value's lines are indented deeper, or are `- ` items at the key's own indentation
        // (YAML allows a block list not to be indented under its key).
        let child = region[i + 1..]
            .iter()
            .take_while(|m| m.col > base || (m.col == base && is_item(&m.text)))
            .cloned()
            .collect();
        return Some(((l.line, l.col + 1), child));
    }
    None
}

/// Finds the `index`th item of the block list that `region` holds; returns the position of its
/// content and the lines of the item (its first line starting after the `- `).
fn find_index(region: &[Ln], index: usize) -> Option<((usize, usize), Vec<Ln>)> {
    let base = region.first()?.col;
    let mut n = 0;
    for (i, l) in region.iter().enumerate() {
        if l.col < base || (l.col == base && !is_item(&l.text)) {
            break;
        }
        if l.col != base {
            continue;
        }
        if n < index {
            n += 1;
            continue;
        }
        let rest = &l.text[1..];
        let content = rest.trim_start_matches(' ');
        let content_col = base + 1 + (rest.len() - content.len());
        let mut child = Vec::new();
        if !content.is_empty() {
            child.push(Ln {
                line: l.line,
                col: content_col,
                text: content.to_string(),
            });
        }
        child.extend(region[i + 1..].iter().take_while(|m| m.col > base).cloned());
        let at = if content.is_empty() {
            child
                .first()
                .map_or((l.line, base + 1), |c| (c.line, c.col + 1))
        } else {
            (l.line, content_col + 1)
        };
        return Some((at, child));
    }
    None
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
        assert_eq!(l.locate_near(&task), Some((13, 7)));
        let needs = [Key("spec"), Key("tasks"), Index(2), Key("needs")];
        assert_eq!(l.locate_item(&needs, 1, "b"), Some((16, 16)));
    }
}
