//! How deeply a YAML or JSON text nests, measured before it is parsed.
//!
//! Parsers recurse (or keep a stack) per level of `[`/`{` and per `- ` of a compact sequence;
//! 100,000 nested `[` made the YAML parser take tens of seconds before it failed. [`check`] is
//! one linear pass that refuses such a text first, with the line and column where it gets too
//! deep. It is the guard for every structured input that can be hostile: pipeline files,
//! scenarios and the objects of a bundle.
//!
//! The scan knows just enough YAML to stay precise: quoted strings (`'...'` with `''`, `"..."`
//! with `\` escapes) and `#` comments do not count, and a quote only opens a string where a
//! token starts (`it's` is a plain word).

/// Deepest nesting accepted. Kubernetes objects nest about 15 levels (a CRD's schema about 30);
/// serde_yaml refuses more than 128 anyway, after the slow part.
pub const MAX_DEPTH: usize = 100;

/// Where a text nests deeper than allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("nests deeper than {max} levels at line {line}, column {column}; files this deep are not pipelines, scenarios or Kubernetes objects: flatten it")]
pub struct TooDeep {
    pub line: usize,
    pub column: usize,
    pub max: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Plain,
    Single,
    Double,
    Comment,
}

/// Fails when `text` nests its collections deeper than `max`. Linear in the text's length.
pub fn check(text: &[u8], max: usize) -> Result<(), TooDeep> {
    let mut state = State::Plain;
    let mut depth = 0usize;
    let (mut line, mut line_start) = (1usize, 0usize);
    // Inside the indentation and `- ` indicators that open a line.
    let mut line_head = true;
    let mut dashes = 0usize;
    let mut prev = b'\n';
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        let too_deep = || TooDeep {
            line,
            column: i - line_start + 1,
            max,
        };
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
            line_head = true;
            dashes = 0;
            if state == State::Comment {
                state = State::Plain;
            }
            prev = b;
            i += 1;
            continue;
        }
        match state {
            State::Comment => {}
            State::Single => {
                if b == b'\'' {
                    if text.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    } else {
                        state = State::Plain;
                    }
                }
            }
            State::Double => match b {
                b'\\' => i += 1,
                b'"' => state = State::Plain,
                _ => {}
            },
            State::Plain => {
                let token_start = matches!(
                    prev,
                    b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':'
                );
                if line_head && b == b'-' && matches!(text.get(i + 1), Some(b' ' | b'\t')) {
                    dashes += 1;
                    if depth + dashes > max {
                        return Err(too_deep());
                    }
                } else if !matches!(b, b' ' | b'\t' | b'\r') {
                    line_head = false;
                }
                match b {
                    b'[' | b'{' => {
                        depth += 1;
                        if depth + dashes > max {
                            return Err(too_deep());
                        }
                    }
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    b'#' if token_start => state = State::Comment,
                    b'\'' if token_start => state = State::Single,
                    b'"' if token_start => state = State::Double,
                    _ => {}
                }
            }
        }
        prev = b;
        i += 1;
    }
    Ok(())
}

/// [`check`] for a file of a bundle, by its name: `.yaml`, `.yml` and `.json` files only.
pub fn check_file(path: &str, text: &[u8]) -> Result<(), String> {
    let structured = [".yaml", ".yml", ".json"].iter().any(|e| path.ends_with(e));
    if !structured {
        return Ok(());
    }
    check(text, MAX_DEPTH).map_err(|e| format!("{path} {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn real_documents_pass() {
        for text in [
            "a: [1, {b: [2, 3]}]\n# [[[[ not counted\nc: '[[[[' \nd: \"{{{{\\\"\"\ne: it's [fine]\n",
            "- - - x\n- y\n",
            "{\"a\":[{\"b\":{\"c\":[]}}]}",
            include_str!("../../pipelines/kudo.yaml"),
        ] {
            assert_eq!(check(text.as_bytes(), 10), Ok(()), "{text}");
        }
    }

    /// Issue 14: 100,000 nested `[` (or `{`, or `- `) are refused at once, where they get too
    /// deep, in linear time.
    #[test]
    fn deep_nesting_is_refused_fast_with_where() {
        for text in [
            format!("a: {}", "[".repeat(100_000)),
            format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000)),
            format!("x:\n  {}y\n", "- ".repeat(100_000)),
        ] {
            let start = Instant::now();
            let e = check(text.as_bytes(), MAX_DEPTH).unwrap_err();
            assert!(start.elapsed() < Duration::from_millis(200));
            assert!(e.line <= 2 && e.column < 1000, "{e:?}");
            assert!(e.to_string().contains("deeper than 100 levels"), "{e}");
        }
        // Linear: a 10 MB text within the limit is one pass.
        let wide = "[1, [2, [3]]], ".repeat(700_000);
        let start = Instant::now();
        assert_eq!(check(wide.as_bytes(), MAX_DEPTH), Ok(()));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn only_structured_files_are_checked() {
        let deep = "[".repeat(1000);
        assert!(check_file("pods/p/logs/c.log", deep.as_bytes()).is_ok());
        let e = check_file("workload/pods.yaml", deep.as_bytes()).unwrap_err();
        assert!(e.starts_with("workload/pods.yaml nests deeper"), "{e}");
    }

    /// The loaders of pipelines and scenarios refuse a hostile file before their parser runs.
    #[test]
    fn pipeline_and_scenario_loaders_refuse_deep_files_fast() {
        let text = format!("name: p\ntasks: {}", "[".repeat(100_000));
        let start = Instant::now();
        let (doc, problems) = crate::pipeline::parse::parse("p.yaml", &text);
        assert!(doc.is_none());
        assert!(
            problems[0].to_string().starts_with("p.yaml:2:")
                && problems[0].message.contains("deeper than 100 levels"),
            "{}",
            problems[0]
        );
        let e = crate::sim::scenarios::parse_str(&text, "s.yaml", std::path::Path::new("."))
            .unwrap_err();
        assert!(e.to_string().contains("s.yaml: nests deeper"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
