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
    /// The same without the base64 runs: whether the rules need to run on a candidate line.
    rules_any: Option<Regex>,
    base64_run: Regex,
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
    /// The text is YAML: a marker that becomes a whole plain scalar is quoted (`*` starts an
    /// alias). Elsewhere (logs, command output) nothing is added around a marker.
    yaml: bool,
}

impl LineState {
    /// The state at the start of a YAML document.
    pub fn yaml() -> Self {
        LineState {
            yaml: true,
            ..LineState::default()
        }
    }
}

/// Key names that end in a secret word (the `key-value` rule matches them, then `=` or `:`, then
/// a double-quoted, escaped-quoted (JSON inside a JSON string), single-quoted or bare value).
/// Ending matters: `num_tokens: 256` is not a secret, `initial_token: x` is.
/// `pass` alone only as a whole word or after a separator (`pass=`, `db.pass:`, `DB_PASS=`), not
/// inside a word (`bypass`, `compass`).
const SECRET_KEY: &str = r"(?:[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?)|(?:[A-Za-z0-9_.-]*[_.-])?pass)";

/// Long runs of the base64 alphabet: an encoded file (a properties file in a ConfigMap's
/// `binaryData`) is decoded and looked at by the other rules.
const BASE64_RUN: &str = r"[A-Za-z0-9+/]{24,}={0,2}";

const PEM_BEGIN: &str = r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----";

/// A bare value after a secret-looking key that is plainly not a secret: a number (Cassandra's
/// `initial_token=-9223372036854775808`, `flush of token: 12 KiB`) or prose in parentheses
/// (`Token : (invoke with -T/--tokens ...)` in `nodetool info`). Redacting those hides what a
/// diagnosis needs and protects nothing.
fn not_a_secret_word(value: &[u8]) -> bool {
    is_numeric(value) || value.first() == Some(&b'(')
}

/// A value that says where a secret comes from rather than holding it: a shell expansion
/// (`$PASSWORD`, `${PASSWORD}`, `$(cat /etc/secret/password)`), or a piece of a sed or grep
/// script (`\(...\)`, `.*`). Redacting those hides how a script works and protects nothing; a
/// real password that happens to look like `$WORD` is still caught as a Secret's literal value.
fn is_reference(value: &[u8], from_value: &[u8]) -> bool {
    let ident = |v: &[u8]| {
        !v.is_empty()
            && (v[0].is_ascii_alphabetic() || v[0] == b'_')
            && v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    // The value's own match may stop early (`${` is not a bare value's character): what
    // follows it on the line says what it is.
    [&b"${"[..], b"$(", b"`", b"\\(", b".*"]
        .iter()
        .any(|p| from_value.starts_with(p))
        || value.strip_prefix(b"$").is_some_and(ident)
}

fn is_numeric(value: &[u8]) -> bool {
    value.iter().any(u8::is_ascii_digit)
        && value
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
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

/// The arguments of a command before the flag a rule looks for, within one command of a pipeline
/// or list (`|`, `;`, `&` end it).
const ARGS: &str = r"(?:[ \t]+[^\s|;&]+)*?";

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
            // No word boundary before the scheme: `0https://u:pw@h` or `xhttps://...` glued to
            // other text still carries the password.
            r"(?i)[a-z][a-z0-9+.-]*://[^:/?#\s@]+:(?P<secret>[^@/?#\s]+)@".to_string(),
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
            r#"(?i)--[a-z0-9-]*(?:password|passwd|token|secret)[ \t]+(?P<secret>[^\s"'$-][^\s"']*)"#
                .to_string(),
        ),
        (
            // The short password flags of database clients: `cqlsh -p VALUE`, `nodetool -pw
            // VALUE`, `redis-cli -a VALUE`, `mongo -p VALUE`, and MySQL's attached `-pVALUE`
            // (MySQL's `-p VALUE` prompts, and `-P` is a port; nodetool's `-p` is a port).
            "cli-password",
            format!(
                r#"(?-u:\b)(?:(?i:cqlsh|mongo|mongosh){ARGS}[ \t]+-p[ \t]+|nodetool{ARGS}[ \t]+-pw[ \t]+|redis-cli{ARGS}[ \t]+-a[ \t]+|(?i:mysql|mysqladmin|mysqldump|mariadb){ARGS}[ \t]+-p)(?P<secret>[^\s"'$-][^\s"']*)"#
            ),
        ),
        (
            // Oracle's `user/password@host`: JDBC thin URLs and SQL*Plus logins.
            "oracle-credentials",
            r"(?i)(?:jdbc:oracle:[a-z0-9]+:|(?-u:\b)(?:sqlplus|sqlldr|expdp|impdp|rman)[ \t]+(?:-\S+[ \t]+)*)[A-Za-z0-9_$#.-]+/(?P<secret>[^@\s/]+)@"
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
                BundleError::Redaction(format!(
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
                BundleError::Redaction(format!("redaction rule {name} does not compile: {e}"))
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
        let combine = |extra: &[&str]| {
            let combined = specs
                .iter()
                .map(|(_, p)| p.as_str())
                .chain(std::iter::once(PEM_BEGIN))
                .chain(extra.iter().copied())
                .map(|p| format!("(?m:{})", group.replace_all(p, "(?:")))
                .collect::<Vec<_>>()
                .join("|");
            RegexBuilder::new(&combined)
                .size_limit(64 << 20)
                .build()
                .ok()
        };
        Ok(Redactor {
            rules,
            any: combine(&[BASE64_RUN]),
            rules_any: combine(&[]),
            base64_run: Regex::new(BASE64_RUN).expect("base64 run"),
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

    /// Redacts a whole YAML text: like [`Redactor::redact_text`], and a marker that becomes a
    /// whole plain scalar is quoted.
    pub fn redact_yaml(&self, text: &[u8]) -> (Vec<u8>, RedactionCounts) {
        let mut w = RedactingWriter::new(Vec::with_capacity(text.len()), self).yaml(true);
        w.write_all(text).expect("writing to a Vec cannot fail");
        w.finish().expect("writing to a Vec cannot fail")
    }

    /// Redacts a string value (no line state): used for values inside structured objects.
    pub fn redact_str(&self, s: &str, counts: &mut RedactionCounts) -> String {
        let (out, c) = self.redact_text(s.as_bytes());
        for (k, v) in c {
            *counts.entry(k).or_default() += v;
        }
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// Where the next line that may hold a secret starts, at or after `from` (a line start).
    ///
    /// It is the line holding the last byte of the match that ends first. Every rule works
    /// within one line, so a line that holds a whole match has one ending on it: no line
    /// before the one returned holds a match, and each is reached in turn. Only where a match
    /// ends is needed, which spares the regex the reverse scan that finds where it starts.
    fn next_candidate(&self, chunk: &[u8], from: usize) -> Option<usize> {
        let Some(any) = &self.any else {
            return Some(from);
        };
        let end = any.shortest_match_at(chunk, from)?;
        // A match may end with the line's `\n` (`[^...]` takes it): its last byte is on the
        // line it ends, not after it.
        let last = end.saturating_sub(1).max(from);
        Some(
            chunk[from..last]
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
        if self.continue_block(line, state, counts, out) {
            return;
        }
        let mut cur: Vec<u8> = line.to_vec();
        let mut opens_yaml_block = false;
        let rules_may_match = self.rules_any.as_ref().is_none_or(|r| r.is_match(&cur));
        let mut changed =
            rules_may_match && self.apply_rules(&mut cur, counts, &mut opens_yaml_block);
        changed |= self.redact_base64_runs(&mut cur, counts);
        if changed && state.yaml {
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
            state.yaml_block = Some(indent_of(line));
        }
        out.extend_from_slice(&cur);
    }

    /// The lines of a private key block or of a YAML block scalar under a secret key: each is
    /// replaced by one marker at its own indentation (so the YAML around stays valid), counted
    /// once. Returns false when the line is not (or no longer) inside such a block.
    fn continue_block(
        &self,
        line: &[u8],
        state: &mut LineState,
        counts: &mut RedactionCounts,
        out: &mut Vec<u8>,
    ) -> bool {
        let ws = indent_of(line);
        if state.in_private_key {
            out.extend_from_slice(&line[..ws]);
            out.extend_from_slice(REDACTED.as_bytes());
            *counts.entry("private-key".to_string()).or_default() += 1;
            if let Some(m) = self.pem_end.find(line) {
                state.in_private_key = false;
                let rest = line[m.start()..].to_vec();
                let mut inner = Vec::new();
                self.redact_line(&rest, state, counts, &mut inner);
                out.extend_from_slice(&inner);
            } else if line.ends_with(b"\r") {
                out.push(b'\r');
            }
            return true;
        }
        let Some(indent) = state.yaml_block else {
            return false;
        };
        if ws == line.len() || (line.len() == ws + 1 && line[ws] == b'\r') {
            out.extend_from_slice(line);
            return true;
        }
        if ws > indent {
            out.extend_from_slice(&line[..ws]);
            out.extend_from_slice(REDACTED.as_bytes());
            *counts.entry("key-value".to_string()).or_default() += 1;
            return true;
        }
        state.yaml_block = None;
        false
    }

    /// Applies every rule to `cur` in order; returns whether anything was replaced.
    fn apply_rules(
        &self,
        cur: &mut Vec<u8>,
        counts: &mut RedactionCounts,
        opens_yaml_block: &mut bool,
    ) -> bool {
        let mut changed = false;
        for rule in &self.rules {
            if !rule.re.is_match(cur) {
                continue;
            }
            let mut n = 0u64;
            let replaced = rule.re.replace_all(cur, |caps: &Captures<'_>| {
                match replacement(rule, caps, cur, opens_yaml_block) {
                    Some(v) => {
                        n += 1;
                        v
                    }
                    None => caps[0].to_vec(),
                }
            });
            if n > 0 {
                changed = true;
                let next = replaced.into_owned();
                *counts.entry(rule.name.clone()).or_default() += n;
                *cur = next;
            }
        }
        changed
    }

    /// Replaces a run of base64 that decodes to text some rule redacts (an encoded properties
    /// file holding `password=...`) by one marker: the encoded form would otherwise carry the
    /// secret past every rule. Runs that decode to binary or to harmless text stay.
    fn redact_base64_runs(&self, cur: &mut Vec<u8>, counts: &mut RedactionCounts) -> bool {
        // One pass over the runs; the line is copied only when one of them is replaced (most
        // runs are words and paths: `PerDiskMemtableFlushWriter`, `/var/lib/cassandra/data`).
        let mut out: Option<Vec<u8>> = None;
        let mut kept = 0;
        let mut n = 0u64;
        for run in self.base64_run.find_iter(cur) {
            if !self.decoded_holds_secret(run.as_bytes()) {
                continue;
            }
            let o = out.get_or_insert_with(|| Vec::with_capacity(cur.len()));
            o.extend_from_slice(&cur[kept..run.start()]);
            o.extend_from_slice(REDACTED.as_bytes());
            kept = run.end();
            n += 1;
        }
        let Some(mut o) = out else {
            return false;
        };
        o.extend_from_slice(&cur[kept..]);
        *cur = o;
        *counts.entry("base64-content".to_string()).or_default() += n;
        true
    }

    fn decoded_holds_secret(&self, run: &[u8]) -> bool {
        let engine = &base64::engine::general_purpose::STANDARD;
        let decoded = match engine.decode(run) {
            Ok(d) => d,
            Err(_) => match base64::engine::general_purpose::STANDARD_NO_PAD.decode(run) {
                Ok(d) => d,
                Err(_) => return false,
            },
        };
        let Ok(text) = std::str::from_utf8(&decoded) else {
            return false;
        };
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return false;
        }
        // One level only: the decoded text's own base64 runs are not decoded again.
        let mut counts = RedactionCounts::new();
        let mut opens = false;
        text.split('\n').any(|line| {
            let mut l = line.as_bytes().to_vec();
            self.apply_rules(&mut l, &mut counts, &mut opens)
                || opens
                || self.pem_begin.is_match(&l)
        })
    }
}

/// What one match of a rule becomes: `None` keeps it as it is (no secret in it).
fn replacement(
    rule: &Rule,
    caps: &Captures<'_>,
    cur: &[u8],
    opens_yaml_block: &mut bool,
) -> Option<Vec<u8>> {
    let whole = caps.get(0).expect("group 0");
    let Some(g) = rule.secret_groups.iter().find_map(|g| caps.get(*g)) else {
        return (whole.as_bytes() != REDACTED.as_bytes()).then(|| REDACTED.as_bytes().to_vec());
    };
    let value = g.as_bytes();
    if value == REDACTED.as_bytes() || value.is_empty() || is_reference(value, &cur[g.start()..]) {
        return None;
    }
    if rule.name == "key-value" {
        // Keep JSON valid: after a quoted key, an unquoted value is a number, a boolean or
        // null (`"automountServiceAccountToken": true`), not a secret string; and
        // `true`/`false`/`null` are never secrets.
        if caps.name("secret_bare").is_some() {
            let quoted_key = caps
                .name("q")
                .is_some_and(|q| q.as_bytes().ends_with(b"\""));
            if quoted_key
                || matches!(value, b"true" | b"false" | b"null")
                || (key_is_token(&cur[whole.start()..g.start()]) && not_a_secret_word(value))
            {
                return None;
            }
        }
        // `password: |` opens a YAML block scalar: the secret is on the next lines.
        if is_block_indicator(value) && whole.end() == trimmed_len(cur) {
            *opens_yaml_block = true;
            return None;
        }
    }
    let mut v = Vec::with_capacity(whole.len());
    v.extend_from_slice(&cur[whole.start()..g.start()]);
    v.extend_from_slice(REDACTED.as_bytes());
    v.extend_from_slice(&cur[g.end()..whole.end()]);
    Some(v)
}

fn indent_of(line: &[u8]) -> usize {
    line.iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count()
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

/// Lines of a multi-line literal shorter than this are not literals of their own: a value's
/// `}` or `  ]` line would otherwise erase every such line everywhere.
pub const MIN_LITERAL_LINE_LEN: usize = 8;

/// Escaped alternatives for the literal values: each value as given, and its base64 forms (a
/// Secret's value appears base64-encoded in objects and annotations). A multi-line value (a
/// key, a certificate bundle, a properties file) is also matched line by line, since text is
/// redacted one line at a time: each of its lines long enough to be specific is a literal,
/// except the PEM armour lines (`-----BEGIN CERTIFICATE-----`), which name a format, not a
/// secret.
fn literal_alternatives(literals: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in literals {
        if l.len() < MIN_LITERAL_LEN {
            continue;
        }
        if l.contains('\n') {
            for line in l.lines().map(str::trim) {
                if line.len() >= MIN_LITERAL_LINE_LEN && !line.starts_with("-----") {
                    out.push(regex::escape(line));
                }
            }
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

/// The name under which [`MarkerCounter::counts`] reports markers that no rule of the stream's
/// redactor made: values replaced before the text was written (Secret data, secret env values,
/// failure messages redacted when they were recorded).
pub const STRUCTURED_RULE: &str = "structured";

/// Counts the [`REDACTED`] markers of a stream written in pieces (a marker may straddle two
/// writes), so that what redactions.json reports is what a reader of the file finds.
#[derive(Debug, Default, Clone)]
pub struct MarkerCounter {
    /// The last bytes seen, shorter than a marker: the start of a marker the next piece ends.
    tail: Vec<u8>,
    count: u64,
}

fn marker_finder() -> &'static Regex {
    static FINDER: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(&regex::escape(REDACTED)).expect("marker regex"));
    &FINDER
}

/// The number of markers in `text`.
pub fn count_markers(text: &[u8]) -> u64 {
    marker_finder().find_iter(text).count() as u64
}

impl MarkerCounter {
    pub fn feed(&mut self, data: &[u8]) {
        let keep = REDACTED.len() - 1;
        if !self.tail.is_empty() {
            // Both parts are shorter than a marker: any match here straddles the boundary.
            let mut joined = self.tail.clone();
            joined.extend_from_slice(&data[..data.len().min(keep)]);
            self.count += count_markers(&joined);
        }
        self.count += count_markers(data);
        if data.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&data[data.len() - keep..]);
        } else {
            self.tail.extend_from_slice(data);
            let extra = self.tail.len().saturating_sub(keep);
            self.tail.drain(..extra);
        }
    }

    /// Markers seen so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The per-rule counts of a redactor completed with the markers no rule accounts for, under
    /// [`STRUCTURED_RULE`]; the result sums to [`MarkerCounter::count`] whenever every rule
    /// replacement left its marker in place.
    pub fn counts(&self, mut rules: RedactionCounts) -> RedactionCounts {
        let by_rules: u64 = rules.values().sum();
        if self.count > by_rules {
            *rules.entry(STRUCTURED_RULE.to_string()).or_default() += self.count - by_rules;
        }
        rules
    }
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

    /// Treats the stream as YAML: a marker that becomes a whole plain scalar is quoted.
    pub fn yaml(mut self, yes: bool) -> Self {
        self.state.yaml = yes;
        self
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

/// Env var names whose values are treated as secrets: a name with a secret word in it
/// (`CASSANDRA_PASSWORD`, `dbPassword`, `API_KEY`, `AUTH_TOKEN`), unless its last word says the
/// value is about a secret rather than the secret (`TLS_SECRET_NAME`, `KEYSTORE_PASSWORD_FILE`,
/// `AUTH_ENABLED`). Whole words only for the short ones: `CASSANDRA_KEYSPACE` and
/// `AUTHENTICATOR` hold no secret. A secret under an innocent name (`CASS_PW`) is caught by the
/// Secret's literal value when it comes from one.
fn secret_env_name(name: &str) -> bool {
    const INSIDE: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "token",
        "secret",
        "apikey",
        "credential",
        "privatekey",
        "accesskey",
        "secretkey",
    ];
    const WORDS: &[&str] = &["key", "pass", "pw", "pwd", "auth"];
    const ABOUT: &[&str] = &[
        "name",
        "names",
        "file",
        "path",
        "dir",
        "ref",
        "refs",
        "id",
        "size",
        "type",
        "length",
        "enabled",
        "enable",
        "algorithm",
        "mode",
        "user",
        "username",
        "ttl",
        "timeout",
        "url",
        "location",
        "store",
        "format",
        "count",
        "version",
    ];
    let lower = name.to_ascii_lowercase();
    // Words of `CASSANDRA_PASSWORD`, `db.pass`, `dbPassword` (camel case splits too).
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        let boundary = !c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && prev_lower);
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let secret = INSIDE.iter().any(|w| lower.contains(w))
        || words.iter().any(|w| WORDS.contains(&w.as_str()));
    secret && !words.last().is_some_and(|w| ABOUT.contains(&w.as_str()))
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
        let (out, _) = r.redact_yaml(b"token: 9f8e7d6c5b4a");
        assert_eq!(String::from_utf8(out).unwrap(), "token: \"**REDACTED**\"");
        let (out, _) = r.redact_yaml(b"password: 123456");
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
        assert_rule("passwd: hunter2", "passwd: **REDACTED**", "key-value");
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
        assert_rule("password: 123456", "password: **REDACTED**", "key-value");
        // Counting words are not secrets.
        assert_eq!(red("num_tokens: 256").0, "num_tokens: 256");
        assert_eq!(red("secretName: foo").0, "secretName: foo");
    }

    #[test]
    fn redacted_yaml_still_parses() {
        let r = Redactor::new(&[], &["literalvalue".to_string()]).unwrap();
        let yaml = "a:\n  password: hunter2\n  jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc\n  id: AKIAIOSFODNN7EXAMPLE\n  list:\n  - literalvalue\n  url: http://u:p4ss@h/\n";
        let (out, c) = r.redact_yaml(yaml.as_bytes());
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
        // One count per marker.
        assert_eq!(c["key-value"], 2);
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
        assert_eq!(c["private-key"], 4);
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

    /// The search that skips lines without a possible match (`next_candidate`) never changes
    /// the result: redacting a text gives what redacting each of its lines does, for lines
    /// mixing secrets of every rule, base64 runs that are words or paths, a value on the line
    /// after its key, a match that ends with its line's newline, and YAML and key blocks.
    #[test]
    fn skipping_lines_without_a_match_changes_nothing() {
        use proptest::prelude::*;
        let secret_b64 =
            base64::engine::general_purpose::STANDARD.encode("db.password=s3cr3tval\n");
        let lines: Vec<String> = vec![
            "INFO  [PerDiskMemtableFlushWriter_0:1] Memtable.java:477 - Writing Memtable".into(),
            "Compacted to [/var/lib/cassandra/data/system/peers-37f71aca] level=0".into(),
            "plain line with nothing".into(),
            "".into(),
            "connecting to https://admin:hunter22@db.example:5432/x".into(),
            "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345".into(),
            "authorization:".into(),
            "   s3cretOnTheNextLine".into(),
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\r".into(),
            "password: hunter2".into(),
            "token: |".into(),
            "  block-line-one".into(),
            "next: value".into(),
            "-----BEGIN RSA PRIVATE KEY-----".into(),
            "MIIEpAIBAAKCAQEA1234567890abcdefghijklmnopqrstuv".into(),
            "-----END RSA PRIVATE KEY-----".into(),
            format!("data: {secret_b64}"),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_part-1".into(),
            "nodetool -h localhost -u cassandra -pw s3cr3t status".into(),
            "key AKIAABCDEFGHIJKLMNOP in text".into(),
        ];
        let r = Redactor::builtin();
        let line_by_line = |text: &str| {
            let mut state = LineState::default();
            let mut counts = RedactionCounts::new();
            let mut out = Vec::new();
            for piece in text.split_inclusive('\n') {
                let line = piece.strip_suffix('\n');
                r.redact_line(
                    line.unwrap_or(piece).as_bytes(),
                    &mut state,
                    &mut counts,
                    &mut out,
                );
                if line.is_some() {
                    out.push(b'\n');
                }
            }
            (out, counts)
        };
        proptest!(ProptestConfig::with_cases(300), |(picks in proptest::collection::vec(0..lines.len(), 1..40), nl in any::<bool>())| {
            let mut text = picks.iter().map(|&i| lines[i].as_str()).collect::<Vec<_>>().join("\n");
            if nl {
                text.push('\n');
            }
            prop_assert_eq!(r.redact_text(text.as_bytes()), line_by_line(&text));
        });
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

    fn markers(text: &str) -> u64 {
        count_markers(text.as_bytes())
    }

    /// Issue 14: a private key in a YAML block scalar keeps the block's indentation, so the
    /// file still parses; every marker is counted.
    #[test]
    fn a_private_key_in_a_yaml_block_scalar_keeps_the_yaml_valid() {
        let yaml = "data:\n  tls.key: |\n    -----BEGIN RSA PRIVATE KEY-----\n    MIIEowIBAAKCAQEA\n    q83jd92kd\n    -----END RSA PRIVATE KEY-----\n  other: x\n";
        let (out, c) = Redactor::builtin().redact_yaml(yaml.as_bytes());
        let out = String::from_utf8(out).unwrap();
        let v: serde_json::Value =
            crate::yaml::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(v["data"]["other"].as_str(), Some("x"));
        assert!(!out.contains("MIIE") && !out.contains("q83jd"), "{out}");
        assert_eq!(c.values().sum::<u64>(), markers(&out), "{c:?} {out}");
    }

    /// Issue 14: nothing is added around a marker in text that is not YAML.
    #[test]
    fn log_text_gets_no_quotes_around_a_marker() {
        let (out, _) = red("GET /x X-Api-Key: 0f9e8d7c6b5a\nsession token: abcdef123456");
        assert_eq!(
            out,
            "GET /x X-Api-Key: **REDACTED**\nsession token: **REDACTED**"
        );
    }

    /// Issue 14: each line of a multi-line Secret value is a literal (text is redacted line by
    /// line), except the PEM armour lines and lines too short to be specific.
    #[test]
    fn multi_line_literals_are_matched_line_by_line() {
        let value = "-----BEGIN CERTIFICATE-----\nfirst-line-of-the-value\nsecond-line-of-it\n}\n-----END CERTIFICATE-----\n";
        let r = Redactor::new(&[], &[value.to_string()]).unwrap();
        let (out, c) = r.redact_text(
            b"log: second-line-of-it was read\n-----BEGIN CERTIFICATE-----\n}\nfirst-line-of-the-value\n",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "log: **REDACTED** was read\n-----BEGIN CERTIFICATE-----\n}\n**REDACTED**\n"
        );
        assert_eq!(c["literal"], 2);
    }

    /// Issue 14: forms that leaked, each caught by a general rule (not by these strings).
    #[test]
    fn database_client_logins_and_pass_keys_are_redacted() {
        for (input, expected, rule) in [
            (
                "url=jdbc:oracle:thin:scott/t1ger99@//db:1521/ORCL",
                "url=jdbc:oracle:thin:scott/**REDACTED**@//db:1521/ORCL",
                "oracle-credentials",
            ),
            (
                "sqlplus -s system/Manager_1@orcl @x.sql",
                "sqlplus -s system/**REDACTED**@orcl @x.sql",
                "oracle-credentials",
            ),
            (
                "cqlsh -u cassandra -p Cq1Pass host 9042",
                "cqlsh -u cassandra -p **REDACTED** host 9042",
                "cli-password",
            ),
            (
                "nodetool -u admin -pw N0detoolPw status",
                "nodetool -u admin -pw **REDACTED** status",
                "cli-password",
            ),
            (
                "mysql -h db -uroot -pMyS3cret app",
                "mysql -h db -uroot -p**REDACTED** app",
                "cli-password",
            ),
            (
                "redis-cli -h r -a R3disPass ping",
                "redis-cli -h r -a **REDACTED** ping",
                "cli-password",
            ),
            (
                "note: rotated, pass=hunter2 now",
                "note: rotated, pass=**REDACTED** now",
                "key-value",
            ),
            ("DB_PASS=hunter2", "DB_PASS=**REDACTED**", "key-value"),
        ] {
            assert_rule(input, expected, rule);
        }
        // Ports and prompts are not passwords; `pass` inside a word is not a key.
        for kept in [
            "nodetool -h 10.0.0.1 -p 7199 status",
            "mysql -h db -P3306 -p app",
            "psql -h db -p 5432",
            "bypass=yes compass: north",
            "jdbc:oracle:thin:@//db:1521/ORCL",
        ] {
            assert_eq!(red(kept).0, kept);
        }
    }

    /// Issue 14: a base64-encoded file that holds a secret is replaced whole; encoded text
    /// without one, and binary, stay.
    #[test]
    fn base64_encoded_files_holding_a_secret_are_redacted() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let props = b64("db.host=cassandra\ndb.user=app\ndb.password=hunter2\n");
        let (out, c) = red(&format!("binaryData:\n  app.properties: {props}\n"));
        assert_eq!(out, "binaryData:\n  app.properties: **REDACTED**\n");
        assert_eq!(c["base64-content"], 1);
        let harmless = b64("db.host=cassandra\ndb.port=9042\nreplicas=3\n");
        let text = format!("  app.properties: {harmless}\n");
        assert_eq!(red(&text).0, text);
        let binary = base64::engine::general_purpose::STANDARD.encode([
            0u8, 159, 146, 150, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ]);
        let text = format!("blob {binary}\n");
        assert_eq!(red(&text).0, text);
    }

    /// Issue 14: evidence is kept: ring tokens, shell references to a secret and sed scripts
    /// that edit a secret's setting.
    #[test]
    fn references_scripts_and_ring_tokens_stay() {
        for kept in [
            "JVM_OPTS=\"$JVM_OPTS -Dcassandra.initial_token=-9223372036854775808,-3074457345618258603\"",
            "sed -n -e 's/-Dcassandra.initial_token=\\([-0-9,]*\\)[[:space:]].*/\\1/p' > /var/lib/cassandra/token_map",
            "sed -i \"/cql_password/c\\\\cql_password = $(cat /etc/cassandra/authentication/password)\" /etc/medusa/medusa.ini;",
            "cqlsh -u $CASSANDRA_USER -p $CASSANDRA_PASSWORD",
            "export PASSWORD=${CASSANDRA_PASSWORD}",
            "secretName: cassandra-tls",
        ] {
            assert_eq!(red(kept).0, kept);
        }
    }

    /// Issue 14: env names are judged by their words: a name about a secret (its Secret's
    /// name, a file) keeps its value, a short secret word counts only as a whole word.
    #[test]
    fn env_names_are_judged_by_their_words() {
        for (name, secret) in [
            ("CASSANDRA_PASSWORD", true),
            ("dbPassword", true),
            ("API_KEY", true),
            ("CASS_PW", true),
            ("AUTH_TOKEN", true),
            ("TLS_SECRET_NAME", false),
            ("AUTHENTICATION_SECRET_NAME", false),
            ("KEYSTORE_PASSWORD_FILE", false),
            ("CASSANDRA_KEYSPACE", false),
            ("CASSANDRA_AUTHENTICATOR", false),
            ("AUTH_ENABLED", false),
            ("MAX_HEAP", false),
        ] {
            assert_eq!(secret_env_name(name), secret, "{name}");
        }
    }

    /// Redacting redacted text changes nothing.
    #[test]
    fn redaction_is_idempotent_on_every_rule() {
        let r = Redactor::new(&[], &["Liter4lValue".to_string()]).unwrap();
        let text = "password=hunter2\nAuthorization: Bearer abcdefghijklmnop1234\nhttps://u:pw1234@h/\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nLiter4lValue\ncqlsh -p Cq1Pass\nk: |\n  x\n";
        for yaml in [false, true] {
            let once = if yaml {
                r.redact_yaml(text.as_bytes()).0
            } else {
                r.redact_text(text.as_bytes()).0
            };
            let twice = if yaml {
                r.redact_yaml(&once).0
            } else {
                r.redact_text(&once).0
            };
            assert_eq!(
                String::from_utf8_lossy(&twice),
                String::from_utf8_lossy(&once)
            );
        }
    }
}
