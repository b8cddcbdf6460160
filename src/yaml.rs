//! The YAML dialect kudo-diag reads and writes, in one place.
//!
//! The parser is serde-saphyr, the YAML crate kube uses, so the dependency tree holds one. It is
//! set to read scalars as YAML 1.2 does (and as kudo-diag always has): only `true`/`false` are
//! booleans, so a task named `y` or a label value `on` stays a string, and a leading `0` is not
//! octal. Merge keys (`<<: *defaults`) are applied while reading. serde-saphyr's budgets bound
//! what a hostile document (alias bombs, deep nesting) can cost.
//!
//! Values read without a schema are `serde_json::Value`s: the Kubernetes API is JSON, and their
//! maps print with sorted keys, as Go's `sigs.k8s.io/yaml` writes them.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A YAML syntax or type error; `location()` gives its line and column.
pub use serde_saphyr::Error;

/// A value that could not be written as YAML.
pub use serde_saphyr::ser_error::Error as WriteError;

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        legacy_octal_numbers: false,
    }
}

/// Reads one YAML document; more than one is an error ([`from_multiple`] reads a stream).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_saphyr::from_str_with_options(text, options())
}

/// [`from_str`] for bytes (UTF-8, or UTF-16 with a byte order mark).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_saphyr::from_slice_with_options(bytes, options())
}

/// Reads every document of a multi-document stream (`---` separated), in order; an empty
/// document reads as null.
pub fn from_multiple<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, Error> {
    serde_saphyr::from_multiple_with_options(text, options())
}

/// Writes one value as a YAML document. Strings with line breaks are literal blocks (`|`), as
/// kubectl writes them; a long single-line string stays on one line rather than being folded
/// (`>`), so a certificate, token or log line keeps its one line for grep, sed and diff.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, WriteError> {
    let options = serde_saphyr::ser_options! {
        folded_wrap_chars: usize::MAX,
    };
    serde_saphyr::to_string_with_options(value, options)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    #[test]
    fn scalars_read_as_yaml_1_2() {
        let v: Value = super::from_str("a: y\nb: on\nc: yes\nd: true\ne: 7\nf: '1'\n").unwrap();
        assert_eq!(
            v,
            json!({"a": "y", "b": "on", "c": "yes", "d": true, "e": 7, "f": "1"})
        );
        // A leading zero is decimal, not octal (010 is ten).
        let v: Value = super::from_str("e: 010\n").unwrap();
        assert_eq!(v["e"].as_f64(), Some(10.0));
    }

    #[test]
    fn long_lines_stay_on_one_line_and_multi_line_strings_are_literal_blocks() {
        let long = "x".repeat(40) + " " + &"y".repeat(200);
        let text = super::to_string(&json!({"data": long, "script": "a\nb\n"})).unwrap();
        assert!(text.contains(&format!("data: {long}\n")), "{text}");
        assert!(text.contains("script: |\n"), "{text}");
        let back: Value = super::from_str(&text).unwrap();
        assert_eq!(back["data"], long.as_str());
    }

    #[test]
    fn merge_keys_are_applied() {
        let v: Value = super::from_str("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n").unwrap();
        assert_eq!(v["use"], json!({"x": 1, "y": 3}));
    }

    #[test]
    fn a_stream_reads_every_document_and_one_document_is_required_otherwise() {
        let docs: Vec<Value> = super::from_multiple("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs, [json!({"a": 1}), json!({"b": 2})]);
        let e = super::from_str::<Value>("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(
            matches!(e.without_snippet(), super::Error::MultipleDocuments { .. }),
            "{e}"
        );
    }

    #[test]
    fn an_error_has_a_location() {
        let e = super::from_str::<Value>("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.location().is_some(), "{e}");
    }

    #[test]
    fn written_yaml_reads_back() {
        let v = json!({"kind": "Secret", "data": {"password": "**REDACTED**"}, "n": [1, "2"]});
        let text = super::to_string(&v).unwrap();
        assert_eq!(super::from_str::<Value>(&text).unwrap(), v);
    }
}
