//! The output flags, spelled as kubectl spells them in every command: `-o/--output FORMAT` is
//! the format, a report goes to a file with `--report FILE`, and a bundle to `--bundle FILE.zip`
//! (or `--bundle-dir DIR`).
//!
//! The spellings of earlier releases keep working, hidden from `--help`, each with a one-line
//! note on stderr naming the new flag: `--format FORMAT`, and `-o FILE` where `-o` was a file
//! (`analyze`, `diff`: a value that is not a format name is taken as the report file).

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::PathBuf;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::ValueEnum;

/// Prints the one-line note that an old spelling still works but has a successor.
pub fn deprecated(old: &str, new: &str) {
    eprintln!("note: {old} is deprecated; use {new}");
}

/// What `-o/--output` was given where it once named a file: a format name, or (the old
/// spelling) a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatOrFile<F> {
    Format(F),
    File(PathBuf),
}

/// The value parser of `-o/--output` in commands where it once named a file: a value that is
/// one of the format's names is the format, anything else a file. `--help` and shell
/// completions list only the format names.
#[derive(Debug)]
pub struct FormatOrFileParser<F>(PhantomData<fn() -> F>);

impl<F> FormatOrFileParser<F> {
    pub fn new() -> Self {
        FormatOrFileParser(PhantomData)
    }
}

impl<F> Default for FormatOrFileParser<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> Clone for FormatOrFileParser<F> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<F: ValueEnum + Clone + Send + Sync + 'static> TypedValueParser for FormatOrFileParser<F> {
    type Value = FormatOrFile<F>;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Self::Value, clap::Error> {
        if value.is_empty() {
            let mut e = clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd);
            if let Some(a) = arg {
                e.insert(
                    clap::error::ContextKind::InvalidArg,
                    clap::error::ContextValue::String(a.to_string()),
                );
            }
            e.insert(
                clap::error::ContextKind::InvalidValue,
                clap::error::ContextValue::String(String::new()),
            );
            e.insert(
                clap::error::ContextKind::ValidValue,
                clap::error::ContextValue::Strings(names::<F>()),
            );
            return Err(e);
        }
        let format = value.to_str().and_then(|s| F::from_str(s, true).ok());
        Ok(match format {
            Some(f) => FormatOrFile::Format(f),
            None => FormatOrFile::File(PathBuf::from(value)),
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            F::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

fn names<F: ValueEnum>() -> Vec<String> {
    F::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| p.get_name().to_string())
        .collect()
}

/// The format from `-o/--output` or the deprecated `--format` (with its note), else `default`.
pub fn format<F: Copy>(output: Option<F>, old_format: Option<F>, default: F) -> crate::Result<F> {
    if let Some(f) = old_format {
        if output.is_some() {
            return Err(crate::Error::Flags(
                "give the format once, with -o/--output FORMAT (--format is its old spelling)"
                    .into(),
            ));
        }
        deprecated("--format", "-o/--output");
        return Ok(f);
    }
    Ok(output.unwrap_or(default))
}

/// The format and report file of a command whose `-o` once named the report file: `-o FORMAT`
/// or the deprecated `--format FORMAT`, and `--report FILE` or the deprecated `-o FILE` (each
/// old spelling with its note).
pub fn format_and_report<F: ValueEnum + Copy>(
    output: Option<FormatOrFile<F>>,
    old_format: Option<F>,
    report: Option<PathBuf>,
    default: F,
) -> crate::Result<(F, Option<PathBuf>)> {
    let (output, old_file) = match output {
        Some(FormatOrFile::Format(f)) => (Some(f), None),
        Some(FormatOrFile::File(p)) => (None, Some(p)),
        None => (None, None),
    };
    let report = match (report, old_file) {
        (Some(_), Some(p)) => {
            return Err(crate::Error::Flags(format!(
                "-o {} is not a format ({}) and --report is given too: give the format with -o/--output FORMAT and the file with --report FILE",
                p.display(),
                names::<F>().join(", ")
            )))
        }
        (Some(r), None) => Some(r),
        (None, Some(p)) => {
            deprecated(
                &format!("-o/--output FILE ({})", p.display()),
                "--report FILE (-o/--output is the format)",
            );
            Some(p)
        }
        (None, None) => None,
    };
    Ok((format(output, old_format, default)?, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
    enum Fmt {
        Text,
        Json,
    }

    fn parse(s: &str) -> FormatOrFile<Fmt> {
        FormatOrFileParser::<Fmt>::new()
            .parse_ref(&clap::Command::new("t"), None, OsStr::new(s))
            .unwrap()
    }

    #[test]
    fn a_format_name_is_the_format_and_anything_else_a_file() {
        assert_eq!(parse("json"), FormatOrFile::Format(Fmt::Json));
        assert_eq!(parse("JSON"), FormatOrFile::Format(Fmt::Json));
        assert_eq!(parse("r.json"), FormatOrFile::File("r.json".into()));
        assert!(FormatOrFileParser::<Fmt>::new()
            .parse_ref(&clap::Command::new("t"), None, OsStr::new(""))
            .is_err());
    }

    #[test]
    fn the_old_spellings_resolve_and_conflicts_are_usage_errors() {
        let got = format_and_report(
            Some(FormatOrFile::File("r.txt".into())),
            Some(Fmt::Json),
            None,
            Fmt::Text,
        )
        .unwrap();
        assert_eq!(got, (Fmt::Json, Some("r.txt".into())));
        let got = format_and_report(
            Some(FormatOrFile::Format(Fmt::Json)),
            None,
            Some("r".into()),
            Fmt::Text,
        )
        .unwrap();
        assert_eq!(got, (Fmt::Json, Some("r".into())));
        assert_eq!(format(None, None, Fmt::Text).unwrap(), Fmt::Text);
        let both = format(Some(Fmt::Json), Some(Fmt::Text), Fmt::Text).unwrap_err();
        assert!(both.to_string().contains("-o/--output FORMAT"), "{both}");
        assert!(
            matches!(both, crate::Error::Flags(_)),
            "exit code 2: {both:?}"
        );
        let two_files = format_and_report(
            Some(FormatOrFile::File("a".into())),
            None,
            Some("b".into()),
            Fmt::Text,
        )
        .unwrap_err();
        assert!(
            two_files.to_string().contains("--report FILE"),
            "{two_files}"
        );
        assert!(matches!(two_files, crate::Error::Flags(_)), "{two_files:?}");
    }
}
