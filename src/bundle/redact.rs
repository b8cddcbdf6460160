//! Redaction: no secret reaches a bundle in clear.
//!
//! A [`Redactor`] holds named rules (regular expressions over bytes), built-in ones for the usual
//! shapes of secrets (credentials in URLs, `password=`/`token:` key-value pairs in text, JSON and
//! YAML, `Authorization` headers and bearer tokens, AWS keys, private key PEM blocks, JWTs), extra
//! patterns from the user (`--redact-pattern`), and literal values that must never appear (the
//! values of the instance's Secrets, and their base64 form). Matches are replaced by
//! [`REDACTED`]; a rule that has capture groups named `secret...` only replaces those groups, so
//! `password=hunter2` becomes `password=**REDACTED**` and stays readable.
//!
//! [`RedactingWriter`] applies a redactor to a stream line by line with bounded memory. Two kinds
//! of secret span lines and are tracked as state between lines: PEM private key blocks (from
//! `BEGIN ... PRIVATE KEY` to its `END`) and YAML block scalars under a secret key
//! (`password: |` followed by more indented lines).
//!
//! [`redact_k8s_object`] works on Kubernetes objects before they are serialized: Secret values,
//! secret-looking env values and the `last-applied-configuration` annotation.
//!
//! Counts of what was redacted are kept per rule name, never the values.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::Deref;

use base64::Engine as _;
use regex::bytes::{Captures, Regex, RegexBuilder};

use super::BundleError;

/// What every redacted value is replaced with.
pub const REDACTED: &str = "**REDACTED**";

/// Literal values shorter than this are not redacted: a Secret holding `1` or `yes` would
/// otherwise erase every such word from every log, and such values are not secrets.
pub const MIN_LITERAL_LEN: usize = 4;

/// Lines longer than this are cut (at the last whitespace when there is one) and redacted in
/// pieces, so that a stream without newlines cannot grow memory without bound. A secret that
/// straddles such a cut without whitespace around it could escape the pattern rules; literal
/// values and the private-key state are still handled.
pub const MAX_LINE: usize = 1 << 20;

/// Counts of redactions, per rule name.
pub type RedactionCounts = BTreeMap<String, u64>;

struct Rule {
    name: String,
    re: Regex,
    /// Indices of capture groups whose names start with `secret`: only those are replaced.
    secret_groups: Vec<usize>,
}

/// A set of redaction rules. Cheap to share (`Arc<Redactor>`); stateless between calls except
/// through the explicit [`LineState`].
pub struct Redactor {
    rules: Vec<Rule>,
    /// Every rule (and the start of a private key block) in one regex, searched over whole
    /// chunks: lines before its next match are passed through untouched, so per-line work is
    /// only done on lines that may hold a secret. `None` when the combination is too big to
    /// compile: then every line is checked.
    any: Option<Regex>,
    pem_begin: Regex,
    pem_end: Regex,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("rules", &self.rule_names())
            .finish()
    }
}

/// State carried from one line to the next.
#[derive(Debug, Default, Clone)]
pub struct LineState {
    in_private_key: bool,
    /// Inside a YAML block scalar under a secret key: the key line's indentation.
    yaml_block: Option<usize>,
}

/// Key names that end in a secret word (the `key-value` rule matches them, then `=` or `:`, then
/// a double-quoted, escaped-quoted (JSON inside a JSON string), single-quoted or bare value).
/// Ending matters: `num_tokens: 256` is not a secret, `initial_token: x` is.
const SECRET_KEY: &str = r"[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?)";

const PEM_BEGIN: &str = r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----";

/// A bare value after a secret-looking key that is plainly not a secret: a number (Cassandra's
/// `initial_token=-9223372036854775808`, `flush of token: 12 KiB`) or prose in parentheses
/// (`Token : (invoke with -T/--tokens ...)` in `nodetool info`). Redacting those hides what a
/// diagnosis needs and protects nothing.
fn not_a_secret_word(value: &[u8]) -> bool {
    value.first() == Some(&b'(')
        || (value.iter().any(u8::is_ascii_digit)
            && value
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')))
}

/// Whether the key part of a key-value match (`initial_token=`, `"token": `) names a token, the
/// one secret word that Cassandra also uses for plain numbers (ring positions).
fn key_is_token(key_part: &[u8]) -> bool {
    let key: Vec<u8> = key_part
        .iter()
        .rev()
        .skip_while(|b| !b.is_ascii_alphanumeric())
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-' || **b == b'.')
        .map(u8::to_ascii_lowercase)
        .collect();
    // `key` is reversed.
    key.starts_with(b"nekot") || key.starts_with(b"snekot")
}

/// The built-in rules, (name, pattern), in the order they are applied. Word boundaries are ASCII
/// (`(?-u:\b)`) because Unicode ones make the fast regex engines give up on non-ASCII lines.
fn builtin_rules() -> Vec<(&'static str, String)> {
    vec![
        (
            "private-key",
            // A whole block on one line (escaped newlines in JSON, or a one-line dump).
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?P<secret>.*?)-----END[A-Z0-9 ]*PRIVATE KEY-----"
                .to_string(),
        ),
        (
            "url-credentials",
            r"(?i)(?-u:\b)[a-z][a-z0-9+.-]*://[^:/?#\s@]+:(?P<secret>[^@/?#\s]+)@".to_string(),
        ),
        (
            "authorization",
            r#"(?i)(?-u:\b)(?:proxy-)?authorization\\?["']?\s*[:=]\s*\\?["']?(?:(?:bearer|basic|token|digest|negotiate)\s+)?(?P<secret>[^\s"'\\,;]+)"#
                .to_string(),
        ),
        (
            "bearer-token",
            r"(?i)(?-u:\b)bearer\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)".to_string(),
        ),
        (
            "jwt",
            r"(?-u:\b)eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*".to_string(),
        ),
        (
            "aws-access-key-id",
            r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?-u:\b)".to_string(),
        ),
        (
            "aws-secret-access-key",
            r#"(?i)aws.{0,20}?(?:secret|key).{0,20}?\\?["']?\s*[:=]\s*\\?["']?(?P<secret>[A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#
                .to_string(),
        ),
        (
            "key-value",
            format!(
                r#"(?i)(?-u:\b){SECRET_KEY}(?P<q>\\?["'])?[ \t]*[:=][ \t]*(?:\\"(?P<secret_esc>(?:[^"\\]|\\\\)*)\\"|"(?P<secret_dq>(?:[^"\\]|\\.)*)"|'(?P<secret_sq>[^']*)'|(?P<secret_bare>[^\s"'&,;{{}}\[\]]+))"#
            ),
        ),
        (
            "cli-flag",
            r#"(?i)--[a-z0-9-]*(?:password|passwd|token|secret)[ \t]+(?P<secret>[^\s"'-][^\s"']*)"#
                .to_string(),
        ),
    ]
}

impl Redactor {
    /// The built-in rules only.
    pub fn builtin() -> Self {
        Self::new(&[], &[]).expect("built-in redaction rules compile")
    }

    /// Built-in rules plus `extra` regular expressions (`--redact-pattern`; a group named
    /// `secret` limits what is replaced) plus literal values that must always be redacted.
    pub fn new(extra: &[String], literals: &[String]) -> Result<Self, BundleError> {
        let mut specs: Vec<(String, String)> = builtin_rules()
            .into_iter()
            .map(|(n, p)| (n.to_string(), p))
            .collect();
        for (i, p) in extra.iter().enumerate() {
            Regex::new(p).map_err(|e| {
                BundleError::Message(format!(
                    "invalid --redact-pattern {p:?}: {e}; fix the regular expression (Rust regex syntax)"
                ))
            })?;
            specs.push((format!("pattern-{}", i + 1), p.clone()));
        }
        let lits = literal_alternatives(literals);
        if !lits.is_empty() {
            specs.push(("literal".to_string(), lits.join("|")));
        }
        let mut rules = Vec::with_capacity(specs.len());
        for (name, pat) in &specs {
            let re = Regex::new(pat).map_err(|e| {
                BundleError::Message(format!("redaction rule {name} does not compile: {e}"))
            })?;
            let secret_groups = re
                .capture_names()
                .enumerate()
                .filter(|(_, n)| n.is_some_and(|n| n.starts_with("secret")))
                .map(|(i, _)| i)
                .collect();
            rules.push(Rule {
                name: name.clone(),
                re,
                secret_groups,
            });
        }
        // Group names are dropped (they would clash) and each rule is made multi-line, so that
        // `^`/`$` mean what they mean on one line. The start of a private key block is included:
        // the one-line rule alone does not see it.
        let group = regex::Regex::new(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>").expect("group regex");
        let combined = specs
            .iter()
            .map(|(_, p)| p.as_str())
            .chain(std::iter::once(PEM_BEGIN))
            .map(|p| format!("(?m:{})", group.replace_all(p, "(?:")))
            .collect::<Vec<_>>()
            .join("|");
        let any = RegexBuilder::new(&combined)
            .size_limit(64 << 20)
            .build()
            .ok();
        Ok(Redactor {
            rules,
            any,
            pem_begin: Regex::new(PEM_BEGIN).expect("pem begin"),
            pem_end: Regex::new(r"-----END[A-Z0-9 ]*PRIVATE KEY-----").expect("pem end"),
        })
    }

    /// Names of the rules, in the order they are applied.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.name.as_str()).collect()
    }

    /// Redacts a whole text (several lines); returns the result and the counts.
    pub fn redact_text(&self, text: &[u8]) -> (Vec<u8>, RedactionCounts) {
        let mut w = RedactingWriter::new(Vec::with_capacity(text.len()), self);
        w.write_all(text).expect("writing to a Vec cannot fail");
        let (out, counts) = w.finish().expect("writing to a Vec cannot fail");
        (out, counts)
    }

    /// Redacts a string value (no line state): used for values inside structured objects.
    pub fn redact_str(&self, s: &str, counts: &mut RedactionCounts) -> String {
        let (out, c) = self.redact_text(s.as_bytes());
        for (k, v) in c {
            *counts.entry(k).or_default() += v;
        }
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// Where the next line that may hold a secret starts, at or after `from`.
    fn next_candidate(&self, chunk: &[u8], from: usize) -> Option<usize> {
        let Some(any) = &self.any else {
            return Some(from);
        };
        let m = any.find_at(chunk, from)?;
        Some(
            chunk[from..m.start()]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(from, |i| from + i + 1),
        )
    }

    /// Redacts one line (without its `\n`), appending the result to `out`.
    pub fn redact_line(
        &self,
        line: &[u8],
        state: &mut LineState,
        counts: &mut RedactionCounts,
        out: &mut Vec<u8>,
    ) {
        if state.in_private_key {
            if let Some(m) = self.pem_end.find(line) {
                state.in_private_key = false;
                out.extend_from_slice(REDACTED.as_bytes());
                self.redact_line(&line[m.start()..], state, counts, out);
            } else {
                out.extend_from_slice(REDACTED.as_bytes());
                if line.ends_with(b"\r") {
                    out.push(b'\r');
                }
            }
            return;
        }
        if let Some(indent) = state.yaml_block {
            let ws = line
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
            if ws == line.len() || (line.len() == ws + 1 && line[ws] == b'\r') {
                out.extend_from_slice(line);
                return;
            }
            if ws > indent {
                out.extend_from_slice(&line[..ws]);
                out.extend_from_slice(REDACTED.as_bytes());
                return;
            }
            state.yaml_block = None;
        }
        let mut cur: Vec<u8> = line.to_vec();
        let mut opens_yaml_block = false;
        let mut changed = false;
        for rule in &self.rules {
            if !rule.re.is_match(&cur) {
                continue;
            }
            let mut n = 0u64;
            let replaced = rule.re.replace_all(&cur, |caps: &Captures<'_>| {
                let whole = caps.get(0).expect("group 0");
                let group = rule.secret_groups.iter().find_map(|g| caps.get(*g));
                let Some(g) = group else {
                    if whole.as_bytes() == REDACTED.as_bytes() {
                        return whole.as_bytes().to_vec();
                    }
                    n += 1;
                    return REDACTED.as_bytes().to_vec();
                };
                let value = g.as_bytes();
                if value == REDACTED.as_bytes() || value.is_empty() {
                    return whole.as_bytes().to_vec();
                }
                // Keep JSON valid: after a quoted key, an unquoted value is a number, a
                // boolean or null (`"automountServiceAccountToken": true`), not a secret
                // string; and `true`/`false`/`null` are never secrets.
                if rule.name == "key-value" && caps.name("secret_bare").is_some() {
                    let quoted_key = caps
                        .name("q")
                        .is_some_and(|q| q.as_bytes().ends_with(b"\""));
                    if quoted_key
                        || matches!(value, b"true" | b"false" | b"null")
                        || (key_is_token(&cur[whole.start()..g.start()])
                            && not_a_secret_word(value))
                    {
                        return whole.as_bytes().to_vec();
                    }
                }
                // `password: |` opens a YAML block scalar: the secret is on the next lines.
                if rule.name == "key-value"
                    && is_block_indicator(value)
                    && whole.end() == trimmed_len(&cur)
                {
                    opens_yaml_block = true;
                    return whole.as_bytes().to_vec();
                }
                n += 1;
                let mut v = Vec::with_capacity(whole.len());
                v.extend_from_slice(&cur[whole.start()..g.start()]);
                v.extend_from_slice(REDACTED.as_bytes());
                v.extend_from_slice(&cur[g.end()..whole.end()]);
                v
            });
            if n > 0 {
                changed = true;
                let next = replaced.into_owned();
                *counts.entry(rule.name.clone()).or_default() += n;
                cur = next;
            }
        }
        if changed {
            quote_bare_marker(&mut cur);
        }
        // A private key block that starts on this line and does not end on it.
        if let Some(b) = self.pem_begin.find_iter(&cur).last() {
            if !self.pem_end.is_match(&cur[b.end()..]) {
                let cr = cur.ends_with(b"\r");
                cur.truncate(b.end());
                cur.extend_from_slice(REDACTED.as_bytes());
                if cr {
                    cur.push(b'\r');
                }
                state.in_private_key = true;
                *counts.entry("private-key".to_string()).or_default() += 1;
            }
        }
        if opens_yaml_block && !state.in_private_key {
            let indent = line
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
            state.yaml_block = Some(indent);
            *counts.entry("key-value".to_string()).or_default() += 1;
        }
        out.extend_from_slice(&cur);
    }
}

/// When a replaced value was a whole YAML plain scalar (`key: **REDACTED**`, `- **REDACTED**`),
/// quotes the marker: a plain scalar starting with `*` is a YAML alias, and the file would no
/// longer parse.
fn quote_bare_marker(line: &mut Vec<u8>) {
    let end = trimmed_len(line);
    let m = REDACTED.as_bytes();
    if end < m.len() || &line[end - m.len()..end] != m {
        return;
    }
    let start = end - m.len();
    let before = &line[..start];
    let value_start = before.ends_with(b": ")
        || before.ends_with(b":\t")
        || before.ends_with(b"- ")
        || before.iter().all(|b| *b == b' ' || *b == b'\t');
    if value_start {
        line.insert(end, b'"');
        line.insert(start, b'"');
    }
}

fn is_block_indicator(v: &[u8]) -> bool {
    matches!(v.first(), Some(b'|') | Some(b'>'))
        && v[1..]
            .iter()
            .all(|b| *b == b'-' || *b == b'+' || b.is_ascii_digit())
}

fn trimmed_len(line: &[u8]) -> usize {
    let mut n = line.len();
    while n > 0 && matches!(line[n - 1], b' ' | b'\t' | b'\r') {
        n -= 1;
    }
    n
}

/// Escaped alternatives for the literal values: each value as given, and its base64 forms (a
/// Secret's value appears base64-encoded in objects and annotations).
fn literal_alternatives(literals: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in literals {
        if l.len() < MIN_LITERAL_LEN {
            continue;
        }
        out.push(regex::escape(l));
        for enc in [
            base64::engine::general_purpose::STANDARD.encode(l),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(l),
        ] {
            out.push(regex::escape(&enc));
        }
    }
    // Longest first, so that a value that contains another is redacted whole.
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    out.dedup();
    out
}

/// A writer that redacts what goes through it, line by line, before passing it on.
///
/// `R` is how the redactor is held: `&Redactor` or `Arc<Redactor>`.
pub struct RedactingWriter<W: Write, R: Deref<Target = Redactor>> {
    inner: W,
    redactor: R,
    buf: Vec<u8>,
    out: Vec<u8>,
    state: LineState,
    counts: RedactionCounts,
}

impl<W: Write, R: Deref<Target = Redactor>> RedactingWriter<W, R> {
    pub fn new(inner: W, redactor: R) -> Self {
        RedactingWriter {
            inner,
            redactor,
            buf: Vec::new(),
            out: Vec::new(),
            state: LineState::default(),
            counts: RedactionCounts::new(),
        }
    }

    /// Redacts `chunk`, which ends at a line boundary (or is a cut of an over-long line), and
    /// writes it on.
    fn process(&mut self, chunk_len: usize) -> io::Result<()> {
        let chunk = &self.buf[..chunk_len];
        self.out.clear();
        let mut pos = 0;
        while pos < chunk.len() {
            let in_block = self.state.in_private_key || self.state.yaml_block.is_some();
            let start = if in_block {
                pos
            } else {
                match self.redactor.next_candidate(chunk, pos) {
                    Some(s) => s,
                    None => chunk.len(),
                }
            };
            // Lines without any possible match go through as they are.
            self.out.extend_from_slice(&chunk[pos..start]);
            if start >= chunk.len() {
                break;
            }
            let (end, nl) = match chunk[start..].iter().position(|b| *b == b'\n') {
                Some(i) => (start + i, true),
                None => (chunk.len(), false),
            };
            self.redactor.redact_line(
                &chunk[start..end],
                &mut self.state,
                &mut self.counts,
                &mut self.out,
            );
            if nl {
                self.out.push(b'\n');
            }
            pos = end + usize::from(nl);
        }
        self.inner.write_all(&self.out)?;
        self.buf.drain(..chunk_len);
        Ok(())
    }

    /// Flushes the last partial line and returns the inner writer and the counts.
    pub fn finish(mut self) -> io::Result<(W, RedactionCounts)> {
        let n = self.buf.len();
        if n > 0 {
            self.process(n)?;
        }
        self.inner.flush()?;
        Ok((self.inner, self.counts))
    }

    /// The counts so far.
    pub fn counts(&self) -> &RedactionCounts {
        &self.counts
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write, R: Deref<Target = Redactor>> Write for RedactingWriter<W, R> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        // Process everything up to the last newline in one go: the combined search then runs over big
        // chunks, and clean chunks cost one scan.
        if let Some(last_nl) = self.buf.iter().rposition(|b| *b == b'\n') {
            self.process(last_nl + 1)?;
        }
        if self.buf.len() > MAX_LINE {
            let cut = self
                .buf
                .iter()
                .rposition(|b| b.is_ascii_whitespace())
                .map(|i| i + 1)
                .filter(|i| *i > MAX_LINE / 2)
                .unwrap_or(self.buf.len());
            self.process(cut)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Only whole lines are passed on before `finish`: a partial line may still grow into
        // a secret.
        self.inner.flush()
    }
}

/// Env var names whose values are treated as secrets.
fn secret_env_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "TOKEN",
        "SECRET",
        "KEY",
        "CREDENTIAL",
        "APIKEY",
        "AUTH",
    ]
    .iter()
    .any(|w| n.contains(w))
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Redacts a Kubernetes object (or a `List` of them) in place, before it is serialized:
/// Secret `data`/`stringData` values (key names are kept), env values whose names look secret
/// in any pod template or pod spec, and the `last-applied-configuration` annotation (parsed,
/// redacted the same way, and written back; replaced whole when it does not parse). Returns the
/// number of values replaced.
pub fn redact_k8s_object(obj: &mut serde_json::Value) -> u64 {
    use serde_json::Value;
    let mut n = 0;
    let Value::Object(map) = obj else {
        return 0;
    };
    if let Some(Value::Array(items)) = map.get_mut("items") {
        for it in items {
            n += redact_k8s_object(it);
        }
    }
    let is_secret = map.get("kind").and_then(Value::as_str) == Some("Secret");
    if is_secret {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(d)) = map.get_mut(field) {
                for v in d.values_mut() {
                    if v.as_str() != Some(REDACTED) {
                        *v = Value::String(REDACTED.to_string());
                        n += 1;
                    }
                }
            }
        }
    }
    if let Some(Value::Object(ann)) = map
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        if let Some(Value::String(s)) = ann.get_mut(LAST_APPLIED) {
            match serde_json::from_str::<Value>(s) {
                Ok(mut inner) => {
                    let k = redact_k8s_object(&mut inner);
                    if k > 0 {
                        *s = serde_json::to_string(&inner).expect("json value serializes");
                        n += k;
                    }
                }
                Err(_) => {
                    *s = REDACTED.to_string();
                    n += 1;
                }
            }
        }
    }
    for (k, v) in map.iter_mut() {
        if k == "metadata" || (is_secret && (k == "data" || k == "stringData")) || k == "items" {
            continue;
        }
        n += redact_env(v);
    }
    n
}

/// Walks a spec and redacts `env: [{name, value}]` entries with secret-looking names.
fn redact_env(v: &mut serde_json::Value) -> u64 {
    use serde_json::Value;
    let mut n = 0;
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "env" {
                    if let Value::Array(vars) = child {
                        for var in vars {
                            let secret = var
                                .get("name")
                                .and_then(Value::as_str)
                                .is_some_and(secret_env_name);
                            if let (true, Some(val)) = (secret, var.get_mut("value")) {
                                if val.as_str() != Some(REDACTED) {
                                    *val = Value::String(REDACTED.to_string());
                                    n += 1;
                                }
                            }
                        }
                    }
                } else {
                    n += redact_env(child);
                }
            }
        }
        Value::Array(items) => {
            for it in items {
                n += redact_env(it);
            }
        }
        _ => {}
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn red(s: &str) -> (String, RedactionCounts) {
        let (out, c) = Redactor::builtin().redact_text(s.as_bytes());
        (String::from_utf8(out).unwrap(), c)
    }

    fn assert_rule(input: &str, expected: &str, rule: &str) {
        let (out, c) = red(input);
        assert_eq!(out, expected, "input {input:?}");
        assert!(
            c.get(rule).copied().unwrap_or(0) >= 1,
            "{rule} not counted: {c:?}"
        );
    }

    #[test]
    fn numbers_and_parenthesised_prose_after_token_keys_stay() {
        let r = Redactor::builtin();
        for line in [
            "JVM_OPTS=\"$JVM_OPTS -Dcassandra.initial_token=-9223372036854775808\"",
            "Enqueuing flush of token: 12 KiB (5%) on-heap",
            "Token                  : (invoke with -T/--tokens to see all 256 tokens)",
        ] {
            let (out, counts) = r.redact_text(line.as_bytes());
            assert_eq!(String::from_utf8(out).unwrap(), line, "{counts:?}");
        }
        let (out, _) = r.redact_text(b"token: 9f8e7d6c5b4a");
        assert_eq!(String::from_utf8(out).unwrap(), "token: \"**REDACTED**\"");
        let (out, _) = r.redact_text(b"password: 123456");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "password: \"**REDACTED**\""
        );
    }

    #[test]
    fn url_credentials() {
        assert_rule(
            "connecting to postgres://admin:s3cr3t@db:5432/x\n",
            "connecting to postgres://admin:**REDACTED**@db:5432/x\n",
            "url-credentials",
        );
        // No password, nothing to redact.
        assert_eq!(
            red("see https://example.com/a:b\n").0,
            "see https://example.com/a:b\n"
        );
    }

    #[test]
    fn key_value_in_text_json_and_yaml() {
        assert_rule(
            "login password=hunter2 ok",
            "login password=**REDACTED** ok",
            "key-value",
        );
        assert_rule("passwd: hunter2", "passwd: \"**REDACTED**\"", "key-value");
        assert_rule("SECRET=abc123", "SECRET=**REDACTED**", "key-value");
        assert_rule("token=abc&user=x", "token=**REDACTED**&user=x", "key-value");
        assert_rule(
            r#"{"password": "hun ter\"2", "user": "bob"}"#,
            r#"{"password": "**REDACTED**", "user": "bob"}"#,
            "key-value",
        );
        assert_rule(
            r#"{"db_password":"x y"}"#,
            r#"{"db_password":"**REDACTED**"}"#,
            "key-value",
        );
        assert_rule(
            r#"{\"password\":\"hunter2\"}"#,
            r#"{\"password\":\"**REDACTED**\"}"#,
            "key-value",
        );
        assert_rule(
            "  api_key: 'abc def'",
            "  api_key: '**REDACTED**'",
            "key-value",
        );
        // Objects and JSON scalars after a secret-looking key stay valid JSON.
        let pod = r#"{"volumes":[{"name":"v","secret":{"secretName":"x"}}],"automountServiceAccountToken":true,"token":12,"secret":[1]}"#;
        assert_eq!(red(pod).0, pod);
        serde_json::from_str::<serde_json::Value>(&red(pod).0).unwrap();
        assert_rule(
            "password: 123456",
            "password: \"**REDACTED**\"",
            "key-value",
        );
        // Counting words are not secrets.
        assert_eq!(red("num_tokens: 256").0, "num_tokens: 256");
        assert_eq!(red("secretName: foo").0, "secretName: foo");
    }

    #[test]
    fn redacted_yaml_still_parses() {
        let r = Redactor::new(&[], &["literalvalue".to_string()]).unwrap();
        let yaml = "a:\n  password: hunter2\n  jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc\n  id: AKIAIOSFODNN7EXAMPLE\n  list:\n  - literalvalue\n  url: http://u:p4ss@h/\n";
        let (out, c) = r.redact_text(yaml.as_bytes());
        let out = String::from_utf8(out).unwrap();
        let v: serde_json::Value =
            crate::yaml::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(v["a"]["password"].as_str(), Some(REDACTED));
        assert_eq!(v["a"]["list"][0].as_str(), Some(REDACTED));
        assert_eq!(c.values().sum::<u64>(), 5, "{c:?}");
    }

    #[test]
    fn yaml_block_scalar_under_secret_key() {
        let input = "config:\n  password: |\n    line one\n    line two\n  user: bob\n";
        let (out, c) = red(input);
        assert_eq!(
            out,
            "config:\n  password: |\n    **REDACTED**\n    **REDACTED**\n  user: bob\n"
        );
        assert_eq!(c["key-value"], 1);
    }

    #[test]
    fn authorization_and_bearer() {
        assert_rule(
            "Authorization: Bearer abc.def-ghi",
            "Authorization: Bearer **REDACTED**",
            "authorization",
        );
        assert_rule(
            r#""authorization":"Basic dXNlcjpwYXNz""#,
            r#""authorization":"Basic **REDACTED**""#,
            "authorization",
        );
        assert_rule(
            "curl -H bearer 0123456789abcdefXYZ",
            "curl -H bearer **REDACTED**",
            "bearer-token",
        );
        assert_eq!(red("uses a bearer token").0, "uses a bearer token");
    }

    #[test]
    fn aws_keys() {
        assert_rule(
            "key AKIAIOSFODNN7EXAMPLE used",
            "key **REDACTED** used",
            "aws-access-key-id",
        );
        assert_rule(
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SECRET_ACCESS_KEY=**REDACTED**",
            "aws-secret-access-key",
        );
        assert_rule(
            r#"{"awsSecretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#,
            r#"{"awsSecretKey": "**REDACTED**"}"#,
            "aws-secret-access-key",
        );
    }

    #[test]
    fn jwt() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_rule(&format!("tok {jwt} end"), "tok **REDACTED** end", "jwt");
    }

    #[test]
    fn private_key_blocks_across_lines_and_on_one_line() {
        let input = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabcdef\n-----END RSA PRIVATE KEY-----\nafter\n";
        let (out, c) = red(input);
        assert_eq!(
            out,
            "before\n-----BEGIN RSA PRIVATE KEY-----**REDACTED**\n**REDACTED**\n**REDACTED**\n**REDACTED**-----END RSA PRIVATE KEY-----\nafter\n"
        );
        assert_eq!(c["private-key"], 1);
        let one = r#"{"key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}"#;
        let (out, _) = red(one);
        assert!(!out.contains("MIIE"), "{out}");
        // A public certificate is not a secret.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
        assert_eq!(red(cert).0, cert);
    }

    #[test]
    fn extra_patterns_and_literals() {
        let r = Redactor::new(
            &[r"ssn (?P<secret>\d{3}-\d{2}-\d{4})".to_string()],
            &["Zebra!42".to_string(), "x".to_string()],
        )
        .unwrap();
        let (out, c) = r.redact_text(b"ssn 123-45-6789 and Zebra!42 and WmVicmEhNDI= and x\n");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ssn **REDACTED** and **REDACTED** and **REDACTED** and x\n"
        );
        assert_eq!(c["pattern-1"], 1);
        assert_eq!(c["literal"], 2);
        let e = Redactor::new(&["(".to_string()], &[]).unwrap_err();
        assert!(e.to_string().contains("invalid --redact-pattern"), "{e}");
    }

    #[test]
    fn anchored_extra_patterns_apply_on_every_line() {
        // The combined search spans lines: `^` must still mean the start of each line.
        let r = Redactor::new(&[r"^pin (?P<secret>\d+)".to_string()], &[]).unwrap();
        let (out, c) = r.redact_text(b"a\npin 1234\nb pin 99\n");
        assert_eq!(out, b"a\npin **REDACTED**\nb pin 99\n");
        assert_eq!(c["pattern-1"], 1);
    }

    #[test]
    fn many_literals_compile_and_match() {
        let lits: Vec<String> = (0..5000).map(|i| format!("value-{i:05}-x")).collect();
        let r = Redactor::new(&[], &lits).unwrap();
        let (out, c) = r.redact_text(b"got value-04321-x and value-00000-x\n");
        assert_eq!(out, b"got **REDACTED** and **REDACTED**\n");
        assert_eq!(c["literal"], 2);
    }

    #[test]
    fn streaming_in_small_pieces_matches_whole() {
        let r = Redactor::builtin();
        let input = "a password=hunter2 b\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nplain line\nlast token=zzz";
        let (whole, _) = r.redact_text(input.as_bytes());
        let mut w = RedactingWriter::new(Vec::new(), &r);
        for b in input.as_bytes().chunks(3) {
            w.write_all(b).unwrap();
        }
        let (pieces, _) = w.finish().unwrap();
        assert_eq!(pieces, whole);
        assert!(!String::from_utf8(whole).unwrap().contains("zzz"));
    }

    #[test]
    fn redacts_k8s_secret_env_and_last_applied() {
        let mut secret = serde_json::json!({
            "kind": "Secret",
            "metadata": {"name": "s", "annotations": {
                LAST_APPLIED: "{\"kind\":\"Secret\",\"data\":{\"password\":\"aHVudGVyMg==\"}}"
            }},
            "data": {"password": "aHVudGVyMg==", "username": "Ym9i"},
            "stringData": {"token": "t0k3n"}
        });
        assert_eq!(redact_k8s_object(&mut secret), 4);
        let s = secret.to_string();
        assert!(!s.contains("aHVudGVyMg"), "{s}");
        assert!(!s.contains("t0k3n") && !s.contains("Ym9i"), "{s}");
        assert_eq!(secret["data"]["username"], REDACTED);

        let mut sts = serde_json::json!({"kind": "List", "items": [{
            "kind": "StatefulSet",
            "spec": {"template": {"spec": {"containers": [{"name": "c", "env": [
                {"name": "CASSANDRA_PASSWORD", "value": "hunter2"},
                {"name": "MAX_HEAP", "value": "1G"},
                {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}}
            ]}]}}}
        }]});
        assert_eq!(redact_k8s_object(&mut sts), 1);
        let env = &sts["items"][0]["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], REDACTED);
        assert_eq!(env[1]["value"], "1G");
    }

    /// A planted value in a Secret or a secret-looking env var, anywhere in a random object
    /// tree (and in its last-applied annotation), never survives `redact_k8s_object`.
    #[test]
    fn planted_values_never_survive_in_k8s_objects() {
        use serde_json::json;
        let secret = "Pl4ntedK8sValue";
        let names = [
            "DB_PASSWORD",
            "api_token",
            "AWS_SECRET_ACCESS_KEY",
            "tls.key",
            "Auth",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        for round in 0..200 {
            let name = names[rng.random_range(0..names.len())];
            let env = json!([{"name": "PLAIN", "value": "1"}, {"name": name, "value": secret}]);
            let container = json!({"name": "c", "image": "x", "env": env});
            let pod_spec =
                json!({"containers": [container.clone()], "initContainers": [container]});
            let mut obj = match rng.random_range(0..4) {
                0 => json!({"kind": "Secret", "metadata": {"name": "s"},
                            "data": {name: secret}, "stringData": {"other": secret}}),
                1 => json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec}),
                2 => json!({"kind": "StatefulSet", "metadata": {"name": "s"},
                            "spec": {"template": {"spec": pod_spec}}}),
                _ => json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec":
                            {"template": {"spec": pod_spec}}}}}),
            };
            if rng.random_bool(0.5) {
                let applied = obj.to_string();
                obj["metadata"]["annotations"] = json!({ LAST_APPLIED: applied });
            }
            if rng.random_bool(0.5) {
                obj = json!({"kind": "List", "items": [obj]});
            }
            let n = redact_k8s_object(&mut obj);
            let text = obj.to_string();
            assert!(n > 0 && !text.contains(secret), "round {round}: {text}");
            assert!(
                text.contains("\"PLAIN\"") || text.contains("Secret"),
                "{text}"
            );
        }
    }

    /// A planted secret, in many shapes and positions, split across writes at random points,
    /// never survives. Seeded, so a failure reproduces.
    #[test]
    fn planted_secrets_never_survive() {
        let secret = "Pl4ntedS3cretVal";
        let r = Redactor::new(&[], &[secret.to_string()]).unwrap();
        let builtin = Redactor::builtin();
        let shapes: Vec<String> = vec![
            format!("password={secret}"),
            format!("\"password\": \"{secret}\""),
            format!("db_passwd: {secret}"),
            format!("https://user:{secret}@host/path"),
            format!("Authorization: Bearer {secret}"),
            format!("--password {secret}"),
            format!("token='{secret}'"),
            format!("{{\\\"apiKey\\\":\\\"{secret}\\\"}}"),
            format!("-----BEGIN EC PRIVATE KEY-----\n{secret}\n-----END EC PRIVATE KEY-----"),
        ];
        let filler = [
            "INFO starting compaction of 4 sstables",
            "WARN GC pause 120ms",
            "{\"level\":\"info\",\"msg\":\"ready\"}",
            "  replicas: 3",
            "",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(22);
        for round in 0..400 {
            let mut text = String::new();
            for _ in 0..rng.random_range(0..6) {
                text.push_str(filler[rng.random_range(0..filler.len())]);
                text.push('\n');
            }
            let shape = &shapes[rng.random_range(0..shapes.len())];
            let prefix = filler[rng.random_range(0..filler.len())];
            match rng.random_range(0..3) {
                0 => text.push_str(&format!("{prefix} {shape}\n")),
                1 => text.push_str(&format!("{shape} {prefix}\n")),
                _ => text.push_str(shape),
            }
            for _ in 0..rng.random_range(0..4) {
                text.push_str(filler[rng.random_range(0..filler.len())]);
                text.push('\n');
            }
            for (who, red) in [("with literal", &r), ("built-in only", &builtin)] {
                let mut w = RedactingWriter::new(Vec::new(), red);
                let bytes = text.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    let n = rng.random_range(1..=bytes.len() - i);
                    w.write_all(&bytes[i..i + n]).unwrap();
                    i += n;
                }
                let (out, _) = w.finish().unwrap();
                let out = String::from_utf8(out).unwrap();
                assert!(
                    !out.contains(secret),
                    "round {round} ({who}): secret survived in {out:?} from {text:?}"
                );
            }
        }
    }
}
