//! A small evaluator for Go `text/template` with the sprig functions KUDO operator packages use.
//!
//! Why our own: KUDO renders its templates with Go's `text/template` plus sprig, and no Rust crate
//! evaluates Go templates faithfully (tera, handlebars, minijinja and friends have other syntax
//! and other truthiness, printing and whitespace rules). This module implements the subset the
//! real packages use (see tests/data/preflight/operators): actions with pipelines `|`, fields
//! `.A.B` and `$.A`, variables (`$x :=`, `$x =`), `if/else if/else/end`, `range` (lists, maps,
//! with `$i, $v :=`), `with`, `{{-`/`-}}` trimming, comments, and the functions in `call`.
//!
//! Values that cannot be known before install (KUDO pipe-task outputs, `.Pipes.*`) are
//! `Value::Unknown`: they print as a visible placeholder and every use is recorded in
//! `Rendered::unknowns`, so the preflight report can say what it could not determine.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A template value: what Go templates see after KUDO converted the parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Not known before install (named by what it stands for, e.g. `.Pipes.certificate`).
    Unknown(String),
}

impl Value {
    /// Go's truth: false, 0, nil, empty string, list or map are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Unknown(_) => true,
        }
    }

    /// Converts parsed YAML (or JSON) into a template value.
    pub fn from_yaml(v: &serde_json::Value) -> Value {
        use serde_json::Value as Y;
        match v {
            Y::Null => Value::Nil,
            Y::Bool(b) => Value::Bool(*b),
            Y::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            Y::String(s) => Value::Str(s.clone()),
            Y::Array(s) => Value::List(s.iter().map(Value::from_yaml).collect()),
            Y::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_yaml(v)))
                    .collect(),
            ),
        }
    }

    fn to_yaml(&self) -> serde_json::Value {
        use serde_json::Value as Y;
        match self {
            Value::Nil => Y::Null,
            Value::Bool(b) => Y::Bool(*b),
            Value::Int(i) => Y::Number((*i).into()),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Y::Null, Y::Number),
            Value::Str(s) => Y::String(s.clone()),
            Value::Unknown(s) => Y::String(unknown_text(s)),
            Value::List(l) => Y::Array(l.iter().map(Value::to_yaml).collect()),
            Value::Map(m) => Y::Object(m.iter().map(|(k, v)| (k.clone(), v.to_yaml())).collect()),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Unknown(_) => "unknown",
        }
    }
}

/// How an unknown value prints in rendered output: visible and valid inside YAML.
pub fn unknown_text(what: &str) -> String {
    format!("UNKNOWN({what})")
}

/// Go's `fmt` `%v` for template output.
fn print(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e21 {
                let _ = write!(out, "{}", *f as i64);
            } else {
                let _ = write!(out, "{f}");
            }
        }
        Value::Str(s) => out.push_str(s),
        Value::Unknown(s) => out.push_str(&unknown_text(s)),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print(x, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                print(x, out);
            }
            out.push(']');
        }
    }
}

fn to_string(v: &Value) -> String {
    let mut s = String::new();
    match v {
        Value::Nil => {}
        other => print(other, &mut s),
    }
    s
}

/// A template error: the template's name, the line, and what went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{template}:{line}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub line: usize,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Lexing: text and actions.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `.A.B` (empty for a lone `.`).
    Field(Vec<String>),
    /// `$x.A.B` (name without `$`, empty for `$`).
    Var(String, Vec<String>),
    Lit(Value),
    LParen,
    /// `)` followed by `.A.B` field accesses.
    RParen(Vec<String>),
    Pipe,
    Declare,
    Assign,
    Comma,
}

#[derive(Debug)]
enum Piece {
    Text(String),
    Action { toks: Vec<Tok>, line: usize },
}

fn lex(name: &str, src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut line = 1usize;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let mut t = rest.to_string();
            if trim_next {
                t = t.trim_start().to_string();
            }
            pieces.push(Piece::Text(t));
            break;
        };
        let mut text = rest[..open].to_string();
        line += text.matches('\n').count();
        let after = &rest[open + 2..];
        let trim_left = after.starts_with("- ")
            || after.starts_with("-\n")
            || after.starts_with("-\t")
            || after.starts_with("-\r");
        if trim_next {
            text = text.trim_start().to_string();
        }
        if trim_left {
            text = text.trim_end().to_string();
        }
        pieces.push(Piece::Text(text));
        let body_start = if trim_left { 1 } else { 0 };
        let Some(close) = find_close(after) else {
            return Err(TemplateError {
                template: name.into(),
                line,
                message: "unclosed action: a `{{` has no matching `}}`".into(),
            });
        };
        let mut body = &after[body_start..close];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\n-") || body.ends_with("\t-") {
            trim_next = true;
            body = &body[..body.len() - 1];
        }
        let action_line = line;
        line += body.matches('\n').count();
        rest = &after[close + 2..];
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            continue; // a comment
        }
        let toks = lex_action(trimmed).map_err(|m| TemplateError {
            template: name.into(),
            line: action_line,
            message: m,
        })?;
        pieces.push(Piece::Action {
            toks,
            line: action_line,
        });
    }
    Ok(pieces)
}

/// The `}}` that closes an action, skipping over string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b[i + 1] == b'}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn lex_action(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let ident_char = |c: char| c.is_alphanumeric() || c == '_';
    let fields = |i: &mut usize| -> Vec<String> {
        let mut f = Vec::new();
        while *i < chars.len() && chars[*i] == '.' {
            let start = *i + 1;
            let mut j = start;
            while j < chars.len() && ident_char(chars[j]) {
                j += 1;
            }
            if j == start {
                break;
            }
            f.push(chars[start..j].iter().collect());
            *i = j;
        }
        f
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                i += 1;
                toks.push(Tok::RParen(fields(&mut i)));
            }
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            '.' => {
                if chars.get(i + 1).is_some_and(|c| ident_char(*c)) {
                    toks.push(Tok::Field(fields(&mut i)));
                } else {
                    toks.push(Tok::Field(Vec::new()));
                    i += 1;
                }
            }
            '$' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && ident_char(chars[j]) {
                    j += 1;
                }
                let name: String = chars[start..j].iter().collect();
                i = j;
                toks.push(Tok::Var(name, fields(&mut i)));
            }
            '"' => {
                let mut out = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated quoted string".into()),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            match chars.get(i) {
                                Some('n') => out.push('\n'),
                                Some('t') => out.push('\t'),
                                Some('r') => out.push('\r'),
                                Some(c) => out.push(*c),
                                None => return Err("unterminated quoted string".into()),
                            }
                        }
                        Some(c) => out.push(*c),
                    }
                    i += 1;
                }
                i += 1;
                toks.push(Tok::Lit(Value::Str(out)));
            }
            '`' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '`' {
                    j += 1;
                }
                if j >= chars.len() {
                    return Err("unterminated raw string".into());
                }
                toks.push(Tok::Lit(Value::Str(chars[start..j].iter().collect())));
                i = j + 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let v = if let Ok(n) = text.parse::<i64>() {
                    Value::Int(n)
                } else if let Some(h) = text.strip_prefix("0x") {
                    Value::Int(i64::from_str_radix(h, 16).map_err(|_| bad_number(&text))?)
                } else {
                    Value::Float(text.parse::<f64>().map_err(|_| bad_number(&text))?)
                };
                toks.push(Tok::Lit(v));
            }
            c if ident_char(c) => {
                let start = i;
                while i < chars.len() && ident_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                toks.push(match word.as_str() {
                    "true" => Tok::Lit(Value::Bool(true)),
                    "false" => Tok::Lit(Value::Bool(false)),
                    "nil" => Tok::Lit(Value::Nil),
                    _ => Tok::Ident(word),
                });
            }
            other => return Err(format!("unexpected character {other:?} in action")),
        }
    }
    Ok(toks)
}

fn bad_number(t: &str) -> String {
    format!("bad number syntax: {t:?}")
}

// ---------------------------------------------------------------------------------------------
// Parsing into a tree.

#[derive(Debug, Clone)]
enum Expr {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Lit(Value),
    Paren(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone)]
struct Pipeline {
    /// Variables declared (`:=`) or assigned (`=`) with the result.
    vars: Vec<String>,
    declare: bool,
    cmds: Vec<Vec<Expr>>,
    line: usize,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If {
        cond: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    With {
        value: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Range {
        value: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// A parsed template, ready to execute many times.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    nodes: Vec<Node>,
}

struct Parser {
    name: String,
    pieces: std::vec::IntoIter<Piece>,
}

/// What ended a list of nodes.
enum Stop {
    Eof,
    End,
    Else(Vec<Tok>, usize),
}

impl Parser {
    fn err(&self, line: usize, m: impl Into<String>) -> TemplateError {
        TemplateError {
            template: self.name.clone(),
            line,
            message: m.into(),
        }
    }

    fn nodes(&mut self) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut out = Vec::new();
        while let Some(p) = self.pieces.next() {
            match p {
                Piece::Text(t) => {
                    if !t.is_empty() {
                        out.push(Node::Text(t))
                    }
                }
                Piece::Action { toks, line } => {
                    let first = match toks.first() {
                        Some(Tok::Ident(w)) => w.as_str(),
                        None => return Err(self.err(line, "empty action `{{ }}`")),
                        _ => "",
                    };
                    match first {
                        "end" => return Ok((out, Stop::End)),
                        "else" => return Ok((out, Stop::Else(toks[1..].to_vec(), line))),
                        "if" | "with" | "range" => {
                            let kw = first.to_string();
                            out.push(self.block(&kw, &toks[1..], line)?);
                        }
                        "define" | "template" | "block" => {
                            return Err(self.err(
                                line,
                                format!(
                                    "`{first}` is not supported by kudo-diag's template evaluator"
                                ),
                            ))
                        }
                        _ => out.push(Node::Action(self.pipeline(&toks, line)?)),
                    }
                }
            }
        }
        Ok((out, Stop::Eof))
    }

    /// `if`/`with`/`range` up to its `end`, with `else` and `else if` chains.
    fn block(&mut self, kw: &str, toks: &[Tok], line: usize) -> Result<Node, TemplateError> {
        let value = self.pipeline(toks, line)?;
        let (then, end) = self.nodes()?;
        let otherwise = match end {
            Stop::Eof => return Err(self.err(line, format!("`{kw}` has no matching `end`"))),
            Stop::End => Vec::new(),
            Stop::Else(rest, l) => match rest.first() {
                None => {
                    let (o, end) = self.nodes()?;
                    if !matches!(end, Stop::End) {
                        return Err(self.err(l, "`else` has no matching `end`"));
                    }
                    o
                }
                Some(Tok::Ident(w)) if w == "if" || w == "with" => {
                    // `else if` shares the outer block's `end`.
                    let w = w.clone();
                    vec![self.block(&w, &rest[1..], l)?]
                }
                _ => return Err(self.err(l, "unexpected words after `else`")),
            },
        };
        Ok(match kw {
            "if" => Node::If {
                cond: value,
                then,
                otherwise,
            },
            "with" => Node::With {
                value,
                then,
                otherwise,
            },
            _ => Node::Range {
                value,
                body: then,
                otherwise,
            },
        })
    }

    fn pipeline(&self, toks: &[Tok], line: usize) -> Result<Pipeline, TemplateError> {
        // A declaration: `$x :=`, `$x =`, `$i, $v :=`.
        let mut vars = Vec::new();
        let mut declare = false;
        let mut rest = toks;
        let decl_at = toks
            .iter()
            .position(|t| matches!(t, Tok::Declare | Tok::Assign));
        if let Some(p) = decl_at {
            let names: Vec<&Tok> = toks[..p].iter().filter(|t| **t != Tok::Comma).collect();
            if !names.is_empty()
                && names
                    .iter()
                    .all(|t| matches!(t, Tok::Var(_, f) if f.is_empty()))
            {
                vars = names
                    .iter()
                    .filter_map(|t| match t {
                        Tok::Var(n, _) => Some(n.clone()),
                        _ => None,
                    })
                    .collect();
                declare = toks[p] == Tok::Declare;
                rest = &toks[p + 1..];
            }
        }
        let (cmds, used) = self.commands(rest, line, false)?;
        if used != rest.len() {
            return Err(self.err(line, "unexpected `)` in action"));
        }
        if cmds.is_empty() {
            return Err(self.err(line, "missing value in action"));
        }
        Ok(Pipeline {
            vars,
            declare,
            cmds,
            line,
        })
    }

    /// Commands separated by `|`, until the end or (when `nested`) a `)`. Returns how many tokens
    /// were used (not counting the `)`).
    fn commands(
        &self,
        toks: &[Tok],
        line: usize,
        nested: bool,
    ) -> Result<(Vec<Vec<Expr>>, usize), TemplateError> {
        let mut cmds = Vec::new();
        let mut cur: Vec<Expr> = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Tok::Pipe => {
                    if cur.is_empty() {
                        return Err(self.err(line, "missing command before `|`"));
                    }
                    cmds.push(std::mem::take(&mut cur));
                    i += 1;
                }
                Tok::RParen(_) => {
                    if !nested {
                        return Err(self.err(line, "unexpected `)` in action"));
                    }
                    break;
                }
                Tok::LParen => {
                    let (inner, used) = self.commands(&toks[i + 1..], line, true)?;
                    let close = i + 1 + used;
                    let Some(Tok::RParen(fields)) = toks.get(close) else {
                        return Err(self.err(line, "unclosed `(` in action"));
                    };
                    if inner.is_empty() {
                        return Err(self.err(line, "empty `( )` in action"));
                    }
                    cur.push(Expr::Paren(
                        Box::new(Pipeline {
                            vars: Vec::new(),
                            declare: false,
                            cmds: inner,
                            line,
                        }),
                        fields.clone(),
                    ));
                    i = close + 1;
                }
                Tok::Field(f) => {
                    cur.push(Expr::Field(f.clone()));
                    i += 1;
                }
                Tok::Var(n, f) => {
                    cur.push(Expr::Var(n.clone(), f.clone()));
                    i += 1;
                }
                Tok::Lit(v) => {
                    cur.push(Expr::Lit(v.clone()));
                    i += 1;
                }
                Tok::Ident(w) => {
                    if !is_function(w) {
                        return Err(self.err(line, format!("function {w:?} not defined")));
                    }
                    cur.push(Expr::Func(w.clone()));
                    i += 1;
                }
                Tok::Declare | Tok::Assign | Tok::Comma => {
                    return Err(self.err(line, "unexpected `:=`, `=` or `,` in action"))
                }
            }
        }
        if !cur.is_empty() {
            cmds.push(cur);
        } else if !cmds.is_empty() {
            return Err(self.err(line, "missing command after `|`"));
        }
        Ok((cmds, i))
    }
}

impl Template {
    /// Parses `src`; `name` is used in error messages (the template's file name).
    pub fn parse(name: &str, src: &str) -> Result<Template, TemplateError> {
        let pieces = lex(name, src)?;
        let mut p = Parser {
            name: name.into(),
            pieces: pieces.into_iter(),
        };
        let (nodes, end) = p.nodes()?;
        match end {
            Stop::Eof => Ok(Template {
                name: name.into(),
                nodes,
            }),
            Stop::End => Err(p.err(0, "`end` without a matching `if`, `with` or `range`")),
            Stop::Else(_, l) => Err(p.err(l, "`else` without a matching `if`, `with` or `range`")),
        }
    }

    /// Executes the template with `data` as `.` and `$`.
    pub fn render(&self, data: &Value) -> Result<Rendered, TemplateError> {
        let mut ex = Exec {
            name: &self.name,
            root: data,
            scopes: vec![Vec::new()],
            out: String::new(),
            unknowns: Vec::new(),
        };
        ex.walk(&self.nodes, data)?;
        Ok(Rendered {
            text: ex.out,
            unknowns: ex.unknowns,
        })
    }
}

/// A template's output, and the values it used that could not be known before install.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub unknowns: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Execution.

struct Exec<'a> {
    name: &'a str,
    root: &'a Value,
    scopes: Vec<Vec<(String, Value)>>,
    out: String,
    unknowns: Vec<String>,
}

impl Exec<'_> {
    fn err(&self, line: usize, m: impl Into<String>) -> TemplateError {
        TemplateError {
            template: self.name.into(),
            line,
            message: m.into(),
        }
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<(), TemplateError> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p, dot)?;
                    if p.vars.is_empty() {
                        self.note_unknown(&v);
                        print(&v, &mut self.out);
                    }
                }
                Node::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.scopes.push(Vec::new());
                    let v = self.pipeline(cond, dot)?;
                    self.note_unknown(&v);
                    let r = if v.truthy() {
                        self.walk(then, dot)
                    } else {
                        self.walk(otherwise, dot)
                    };
                    self.scopes.pop();
                    r?;
                }
                Node::With {
                    value,
                    then,
                    otherwise,
                } => {
                    self.scopes.push(Vec::new());
                    let v = self.pipeline(value, dot)?;
                    let r = if v.truthy() {
                        self.walk(then, &v)
                    } else {
                        self.walk(otherwise, dot)
                    };
                    self.scopes.pop();
                    r?;
                }
                Node::Range {
                    value,
                    body,
                    otherwise,
                } => {
                    // The range's variables are declared per iteration, not by the pipeline.
                    let mut p = value.clone();
                    let vars = std::mem::take(&mut p.vars);
                    let v = self.pipeline(&p, dot)?;
                    let items: Vec<(Value, Value)> = match &v {
                        Value::List(l) => l
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Value::Int(i as i64), x.clone()))
                            .collect(),
                        Value::Map(m) => m
                            .iter()
                            .map(|(k, x)| (Value::Str(k.clone()), x.clone()))
                            .collect(),
                        Value::Int(n) => (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
                        Value::Nil => Vec::new(),
                        Value::Unknown(u) => {
                            self.unknowns.push(u.clone());
                            Vec::new()
                        }
                        other => {
                            return Err(self.err(
                                value.line,
                                format!("range can't iterate over {}", other.kind()),
                            ))
                        }
                    };
                    if items.is_empty() {
                        self.walk(otherwise, dot)?;
                    }
                    for (k, x) in items {
                        let mut scope = Vec::new();
                        match vars.as_slice() {
                            [] => {}
                            [one] => scope.push((one.clone(), x.clone())),
                            [a, b, ..] => {
                                scope.push((a.clone(), k));
                                scope.push((b.clone(), x.clone()));
                            }
                        }
                        self.scopes.push(scope);
                        let r = self.walk(body, &x);
                        self.scopes.pop();
                        r?;
                    }
                }
            }
        }
        Ok(())
    }

    fn note_unknown(&mut self, v: &Value) {
        if let Value::Unknown(u) = v {
            self.unknowns.push(u.clone());
        }
    }

    fn pipeline(&mut self, p: &Pipeline, dot: &Value) -> Result<Value, TemplateError> {
        let mut piped: Option<Value> = None;
        for cmd in &p.cmds {
            piped = Some(self.command(cmd, dot, piped.take(), p.line)?);
        }
        let v = piped.unwrap_or(Value::Nil);
        if !p.vars.is_empty() {
            let name = &p.vars[0];
            if p.declare {
                if let Some(s) = self.scopes.last_mut() {
                    s.push((name.clone(), v.clone()));
                }
            } else {
                let slot = self
                    .scopes
                    .iter_mut()
                    .rev()
                    .flat_map(|s| s.iter_mut().rev())
                    .find(|(n, _)| n == name);
                match slot {
                    Some((_, old)) => *old = v.clone(),
                    None => return Err(self.err(p.line, format!("undefined variable: ${name}"))),
                }
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        cmd: &[Expr],
        dot: &Value,
        piped: Option<Value>,
        line: usize,
    ) -> Result<Value, TemplateError> {
        if let Some(Expr::Func(f)) = cmd.first() {
            let mut args = Vec::with_capacity(cmd.len());
            // `and`/`or` only evaluate what they need, like Go's.
            for e in &cmd[1..] {
                args.push(self.expr(e, dot, line)?);
            }
            if let Some(p) = piped {
                args.push(p);
            }
            return call(f, args).map_err(|m| self.err(line, format!("error calling {f}: {m}")));
        }
        if cmd.len() > 1 || piped.is_some() {
            return Err(self.err(
                line,
                "can't give arguments to a non-function (only functions take arguments or `|`)",
            ));
        }
        self.expr(&cmd[0], dot, line)
    }

    fn expr(&mut self, e: &Expr, dot: &Value, line: usize) -> Result<Value, TemplateError> {
        match e {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Field(f) => self.fields(dot.clone(), f, line),
            Expr::Var(name, f) => {
                let base = if name.is_empty() {
                    self.root.clone()
                } else {
                    self.scopes
                        .iter()
                        .rev()
                        .flat_map(|s| s.iter().rev())
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| self.err(line, format!("undefined variable: ${name}")))?
                };
                self.fields(base, f, line)
            }
            Expr::Func(f) => {
                call(f, Vec::new()).map_err(|m| self.err(line, format!("error calling {f}: {m}")))
            }
            Expr::Paren(p, f) => {
                let v = self.pipeline(p, dot)?;
                self.fields(v, f, line)
            }
        }
    }

    fn fields(&self, mut v: Value, path: &[String], line: usize) -> Result<Value, TemplateError> {
        for (i, key) in path.iter().enumerate() {
            v = match v {
                Value::Map(mut m) => match m.remove(key) {
                    Some(x) => x,
                    // KUDO renders with missingkey=error: a typo in a parameter name fails.
                    None if i == 1 && path[0] == "Params" => {
                        return Err(self.err(
                            line,
                            format!("parameter {key:?} is not defined in params.yaml"),
                        ))
                    }
                    None => Value::Nil,
                },
                Value::Unknown(u) => Value::Unknown(format!("{u}.{key}")),
                Value::Nil => {
                    return Err(self.err(
                        line,
                        format!("nil pointer evaluating .{}", path[..=i].join(".")),
                    ))
                }
                other => {
                    return Err(self.err(
                        line,
                        format!("can't evaluate field {key} in type {}", other.kind()),
                    ))
                }
            };
        }
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------
// Functions: Go's builtins and the sprig functions the packages use.

const FUNCTIONS: &[&str] = &[
    "eq",
    "ne",
    "lt",
    "gt",
    "le",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "int",
    "int64",
    "float64",
    "atoi",
    "toString",
    "add",
    "add1",
    "sub",
    "mul",
    "div",
    "mod",
    "max",
    "min",
    "default",
    "empty",
    "coalesce",
    "ternary",
    "quote",
    "squote",
    "toYaml",
    "toJson",
    "indent",
    "nindent",
    "trim",
    "trimSuffix",
    "trimPrefix",
    "upper",
    "lower",
    "title",
    "replace",
    "split",
    "splitList",
    "join",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "hasKey",
    "list",
    "dict",
    "until",
    "untilStep",
    "b64enc",
    "b64dec",
    "repeat",
];

fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

fn arity(args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args: want {n}, got {}",
            args.len()
        ))
    }
}

/// sprig's `toInt64` (via spf13/cast): numbers truncate, numeric strings parse, the rest is 0.
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().map(|f| f as i64))
                .unwrap_or(0)
        }
        _ => 0,
    }
}

fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Go's `eq`/`lt` on basic kinds; comparing a string with a number is an error, as in Go.
fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => Ok(x.cmp(y)),
        (Int(_) | Float(_), Int(_) | Float(_)) => to_f64(a)
            .partial_cmp(&to_f64(b))
            .ok_or_else(|| "NaN is not comparable".to_string()),
        (Str(x), Str(y)) => Ok(x.cmp(y)),
        (Bool(x), Bool(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "incompatible types for comparison: {} and {}",
            a.kind(),
            b.kind()
        )),
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    match (a, b) {
        (Value::Nil, Value::Nil) => Ok(true),
        // An unset parameter compared with a literal: false (Go would print an error that KUDO
        // users never see because KUDO's own defaults make parameters strings).
        (Value::Nil, _) | (_, Value::Nil) => Ok(false),
        (Value::Unknown(_), _) | (_, Value::Unknown(_)) => Ok(false),
        _ => Ok(compare(a, b)? == std::cmp::Ordering::Equal),
    }
}

fn empty(v: &Value) -> bool {
    !v.truthy()
}

fn yaml_text(v: &Value) -> Result<String, String> {
    let s = crate::yaml::to_string(&v.to_yaml()).map_err(|e| e.to_string())?;
    Ok(s.strip_suffix('\n').unwrap_or(&s).to_string())
}

fn json_value(v: &Value) -> serde_json::Value {
    serde_json::to_value(v.to_yaml()).unwrap_or(serde_json::Value::Null)
}

fn indent_text(n: i64, s: &str) -> String {
    let pad = " ".repeat(n.max(0) as usize);
    format!("{pad}{}", s.replace('\n', &format!("\n{pad}")))
}

/// Go's `fmt.Sprintf` for the verbs templates use: %s %d %v %q %f %x %%.
fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Flags and width are accepted and ignored except for zero-padded integers.
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || d == '-' || d == '+' || d == '.' || d == ' ' || d == '#' {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(a) = args.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        match verb {
            'd' => {
                let n = to_i64(a);
                let width: usize = spec.trim_start_matches('0').parse().unwrap_or(0);
                if spec.starts_with('0') {
                    let _ = write!(out, "{n:0width$}");
                } else {
                    let _ = write!(out, "{n:width$}");
                }
            }
            'q' => {
                let _ = write!(out, "{:?}", to_string(a));
            }
            'f' => {
                let prec: usize = spec
                    .split('.')
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(6);
                let _ = write!(out, "{:.prec$}", to_f64(a));
            }
            'x' => {
                let _ = write!(out, "{:x}", to_i64(a));
            }
            _ => print(a, &mut out),
        }
    }
    out
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    use Value::*;
    let a = &args;
    Ok(match name {
        "eq" => {
            if a.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            let mut any = false;
            for b in &a[1..] {
                any |= equal(&a[0], b)?;
            }
            Bool(any)
        }
        "ne" => {
            arity(a, 2)?;
            Bool(!equal(&a[0], &a[1])?)
        }
        "lt" | "gt" | "le" | "ge" => {
            arity(a, 2)?;
            let o = compare(&a[0], &a[1])?;
            Bool(match name {
                "lt" => o.is_lt(),
                "gt" => o.is_gt(),
                "le" => o.is_le(),
                _ => o.is_ge(),
            })
        }
        "and" => {
            if a.is_empty() {
                return Err("wrong number of args: want at least 1".into());
            }
            a.iter()
                .find(|v| !v.truthy())
                .unwrap_or(&a[a.len() - 1])
                .clone()
        }
        "or" => {
            if a.is_empty() {
                return Err("wrong number of args: want at least 1".into());
            }
            a.iter()
                .find(|v| v.truthy())
                .unwrap_or(&a[a.len() - 1])
                .clone()
        }
        "not" => {
            arity(a, 1)?;
            Bool(!a[0].truthy())
        }
        "len" => {
            arity(a, 1)?;
            Int(match &a[0] {
                Str(s) => s.len() as i64,
                List(l) => l.len() as i64,
                Map(m) => m.len() as i64,
                Nil => 0,
                other => return Err(format!("len of type {}", other.kind())),
            })
        }
        "index" => {
            let Some(first) = a.first() else {
                return Err("wrong number of args: want at least 1".into());
            };
            let mut v = first.clone();
            for k in &a[1..] {
                v = match (v, k) {
                    (List(l), _) => {
                        let i = to_i64(k);
                        if i < 0 || i as usize >= l.len() {
                            return Err(format!("index out of range: {i}"));
                        }
                        l[i as usize].clone()
                    }
                    (Map(m), _) => m.get(&to_string(k)).cloned().unwrap_or(Nil),
                    (Nil, _) => return Err("index of untyped nil".into()),
                    (Unknown(u), _) => Unknown(format!("{u}[{}]", to_string(k))),
                    (other, _) => return Err(format!("can't index item of type {}", other.kind())),
                };
            }
            v
        }
        "print" => Str(a.iter().map(to_string).collect::<Vec<_>>().join("")),
        "println" => Str(format!(
            "{}\n",
            a.iter().map(to_string).collect::<Vec<_>>().join(" ")
        )),
        "printf" => {
            let Some(f) = a.first() else {
                return Err("wrong number of args: want at least 1".into());
            };
            Str(sprintf(&to_string(f), &a[1..]))
        }
        "int" | "int64" | "atoi" => {
            arity(a, 1)?;
            Int(to_i64(&a[0]))
        }
        "float64" => {
            arity(a, 1)?;
            Float(to_f64(&a[0]))
        }
        "toString" => {
            arity(a, 1)?;
            Str(to_string(&a[0]))
        }
        "add" => Int(a.iter().map(to_i64).sum()),
        "add1" => {
            arity(a, 1)?;
            Int(to_i64(&a[0]) + 1)
        }
        "sub" => {
            arity(a, 2)?;
            Int(to_i64(&a[0]) - to_i64(&a[1]))
        }
        "mul" => Int(a.iter().map(to_i64).product()),
        "div" | "mod" => {
            arity(a, 2)?;
            let d = to_i64(&a[1]);
            if d == 0 {
                return Err("integer divide by zero".into());
            }
            Int(if name == "div" {
                to_i64(&a[0]) / d
            } else {
                to_i64(&a[0]) % d
            })
        }
        "max" | "min" => {
            let Some(first) = a.first() else {
                return Err("wrong number of args: want at least 1".into());
            };
            let mut best = to_i64(first);
            for x in &a[1..] {
                let x = to_i64(x);
                best = if name == "max" {
                    best.max(x)
                } else {
                    best.min(x)
                };
            }
            Int(best)
        }
        "default" => {
            // sprig: `default DEFAULT VALUE`; VALUE is absent when piped nothing.
            match a.len() {
                1 => a[0].clone(),
                2 if empty(&a[1]) => a[0].clone(),
                2 => a[1].clone(),
                n => return Err(format!("wrong number of args: want 1 or 2, got {n}")),
            }
        }
        "empty" => {
            arity(a, 1)?;
            Bool(empty(&a[0]))
        }
        "coalesce" => a.iter().find(|v| !empty(v)).cloned().unwrap_or(Nil),
        "ternary" => {
            arity(a, 3)?;
            if a[2].truthy() {
                a[0].clone()
            } else {
                a[1].clone()
            }
        }
        "quote" | "squote" => {
            let q = if name == "quote" { '"' } else { '\'' };
            Str(a
                .iter()
                .filter(|v| **v != Nil)
                .map(|v| {
                    let s = to_string(v);
                    if q == '"' {
                        format!("{s:?}")
                    } else {
                        format!("'{s}'")
                    }
                })
                .collect::<Vec<_>>()
                .join(" "))
        }
        "toYaml" => {
            arity(a, 1)?;
            Str(yaml_text(&a[0])?)
        }
        "toJson" => {
            arity(a, 1)?;
            Str(json_value(&a[0]).to_string())
        }
        "indent" | "nindent" => {
            arity(a, 2)?;
            let s = indent_text(to_i64(&a[0]), &to_string(&a[1]));
            Str(if name == "nindent" {
                format!("\n{s}")
            } else {
                s
            })
        }
        "trim" => {
            arity(a, 1)?;
            Str(to_string(&a[0]).trim().to_string())
        }
        "trimSuffix" => {
            arity(a, 2)?;
            let (x, s) = (to_string(&a[0]), to_string(&a[1]));
            Str(s.strip_suffix(x.as_str()).unwrap_or(&s).to_string())
        }
        "trimPrefix" => {
            arity(a, 2)?;
            let (x, s) = (to_string(&a[0]), to_string(&a[1]));
            Str(s.strip_prefix(x.as_str()).unwrap_or(&s).to_string())
        }
        "upper" => {
            arity(a, 1)?;
            Str(to_string(&a[0]).to_uppercase())
        }
        "lower" => {
            arity(a, 1)?;
            Str(to_string(&a[0]).to_lowercase())
        }
        "title" => {
            arity(a, 1)?;
            let s = to_string(&a[0]);
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = c.is_whitespace();
            }
            Str(out)
        }
        "replace" => {
            arity(a, 3)?;
            Str(to_string(&a[2]).replace(&to_string(&a[0]), &to_string(&a[1])))
        }
        "split" => {
            arity(a, 2)?;
            let (sep, s) = (to_string(&a[0]), to_string(&a[1]));
            Map(s
                .split(sep.as_str())
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), Str(p.to_string())))
                .collect())
        }
        "splitList" => {
            arity(a, 2)?;
            let (sep, s) = (to_string(&a[0]), to_string(&a[1]));
            List(s.split(sep.as_str()).map(|p| Str(p.to_string())).collect())
        }
        "join" => {
            arity(a, 2)?;
            let sep = to_string(&a[0]);
            match &a[1] {
                List(l) => Str(l.iter().map(to_string).collect::<Vec<_>>().join(&sep)),
                other => Str(to_string(other)),
            }
        }
        "contains" => {
            arity(a, 2)?;
            Bool(to_string(&a[1]).contains(&to_string(&a[0])))
        }
        "hasPrefix" => {
            arity(a, 2)?;
            Bool(to_string(&a[1]).starts_with(&to_string(&a[0])))
        }
        "hasSuffix" => {
            arity(a, 2)?;
            Bool(to_string(&a[1]).ends_with(&to_string(&a[0])))
        }
        "hasKey" => {
            arity(a, 2)?;
            match &a[0] {
                Map(m) => Bool(m.contains_key(&to_string(&a[1]))),
                _ => Bool(false),
            }
        }
        "list" => List(args),
        "dict" => {
            let mut m = BTreeMap::new();
            for pair in a.chunks(2) {
                let v = pair.get(1).cloned().unwrap_or(Str(String::new()));
                m.insert(to_string(&pair[0]), v);
            }
            Map(m)
        }
        "until" => {
            arity(a, 1)?;
            let n = to_i64(&a[0]);
            let step = if n < 0 { -1 } else { 1 };
            List(range_step(0, n, step))
        }
        "untilStep" => {
            arity(a, 3)?;
            List(range_step(to_i64(&a[0]), to_i64(&a[1]), to_i64(&a[2])))
        }
        "b64enc" => {
            use base64::Engine;
            arity(a, 1)?;
            Str(base64::engine::general_purpose::STANDARD.encode(to_string(&a[0])))
        }
        "b64dec" => {
            use base64::Engine;
            arity(a, 1)?;
            // sprig returns the decoder's error text instead of failing the template.
            match base64::engine::general_purpose::STANDARD.decode(to_string(&a[0]).trim()) {
                Ok(b) => Str(String::from_utf8_lossy(&b).into_owned()),
                Err(e) => Str(e.to_string()),
            }
        }
        "repeat" => {
            arity(a, 2)?;
            Str(to_string(&a[1]).repeat(to_i64(&a[0]).max(0) as usize))
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

/// sprig's `untilStep`: from `start` towards `stop` (exclusive) by `step`; empty if it would
/// never get there.
fn range_step(start: i64, stop: i64, step: i64) -> Vec<Value> {
    let mut out = Vec::new();
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return out;
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(Value::Int(i));
        i += step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str, data: Value) -> String {
        Template::parse("t", src)
            .unwrap()
            .render(&data)
            .unwrap()
            .text
    }

    fn params(pairs: &[(&str, Value)]) -> Value {
        let p: BTreeMap<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut root = BTreeMap::new();
        root.insert("Params".into(), Value::Map(p));
        root.insert("Name".into(), Value::Str("inst".into()));
        Value::Map(root)
    }

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn fields_variables_and_root() {
        let d = params(&[("N", s("3"))]);
        assert_eq!(render("{{ .Name }}-{{ .Params.N }}", d.clone()), "inst-3");
        assert_eq!(
            render(
                "{{ $x := .Params.N }}{{ $x }}{{ $x = \"9\" }}{{ $x }}",
                d.clone()
            ),
            "39"
        );
        assert_eq!(
            render("{{ range $i := until 2 }}{{ $.Name }}{{ end }}", d),
            "instinst"
        );
    }

    #[test]
    fn if_else_if_chain_and_comparisons() {
        let t = "{{ if eq .Params.M \"a\" }}A{{ else if eq .Params.M \"b\" }}B{{ else }}C{{ end }}";
        assert_eq!(render(t, params(&[("M", s("a"))])), "A");
        assert_eq!(render(t, params(&[("M", s("b"))])), "B");
        assert_eq!(render(t, params(&[("M", s("z"))])), "C");
        let t = "{{ if or (eq .Params.M \"x\") (and (gt (int .Params.N) 2) (ne .Params.M \"y\")) }}yes{{ end }}";
        assert_eq!(render(t, params(&[("M", s("z")), ("N", s("3"))])), "yes");
        assert_eq!(render(t, params(&[("M", s("y")), ("N", s("3"))])), "");
        // An unset parameter is false, an empty string is false, "false" is a true string.
        assert_eq!(
            render(
                "{{ if .Params.U }}t{{ else }}f{{ end }}",
                params(&[("U", Value::Nil)])
            ),
            "f"
        );
        assert_eq!(
            render("{{ if .Params.U }}t{{ end }}", params(&[("U", s("false"))])),
            "t"
        );
    }

    #[test]
    fn whitespace_trimming() {
        let d = params(&[]);
        assert_eq!(render("a  \n  {{- \"b\" -}}  \n c", d.clone()), "abc");
        assert_eq!(render("a {{ \"b\" }} c", d.clone()), "a b c");
        // `{{-3}}` is the number -3, not a trim marker.
        assert_eq!(render("a {{-3}}", d), "a -3");
    }

    #[test]
    fn range_over_lists_maps_and_with() {
        let mut topo = BTreeMap::new();
        topo.insert("b".to_string(), s("2"));
        topo.insert("a".to_string(), s("1"));
        let d = params(&[
            ("M", Value::Map(topo)),
            ("L", Value::List(vec![s("x"), s("y")])),
        ]);
        assert_eq!(
            render(
                "{{ range $k, $v := .Params.M }}{{ $k }}={{ $v }};{{ end }}",
                d.clone()
            ),
            "a=1;b=2;"
        );
        assert_eq!(
            render("{{ range .Params.L }}[{{ . }}]{{ end }}", d.clone()),
            "[x][y]"
        );
        assert_eq!(
            render(
                "{{ range .Params.Nope }}x{{ else }}none{{ end }}",
                params(&[("Nope", Value::Nil)])
            ),
            "none"
        );
        assert_eq!(
            render("{{ with .Params.L }}{{ len . }}{{ end }}", d.clone()),
            "2"
        );
        assert_eq!(render("{{ (index .Params.L 1) }}", d), "y");
    }

    #[test]
    fn sprig_functions() {
        let d = params(&[("N", s("7")), ("T", Value::List(vec![s("a")]))]);
        assert_eq!(render("{{ .Params.N | mul 2 }}", d.clone()), "14");
        assert_eq!(
            render("{{ max (min 3 (div .Params.N 2)) 1 }}", d.clone()),
            "3"
        );
        assert_eq!(
            render("{{ add (int .Params.N) 1 }} {{ sub 5 2 }}", d.clone()),
            "8 3"
        );
        assert_eq!(
            render("{{ range untilStep 0 6 2 }}{{ . }}{{ end }}", d.clone()),
            "024"
        );
        assert_eq!(
            render("{{ toYaml .Params.T | trim | indent 2 }}", d.clone()),
            "  - a"
        );
        assert_eq!(
            render("x:{{ toYaml .Params.T | nindent 2 }}", d.clone()),
            "x:\n  - a"
        );
        assert_eq!(render("{{ \"aGk=\" | b64dec }}", d.clone()), "hi");
        assert_eq!(
            render(
                "{{ default \"d\" \"\" }} {{ \"v\" | default \"d\" }}",
                d.clone()
            ),
            "d v"
        );
        assert_eq!(
            render("{{ quote \"a\" }} {{ upper \"a\" }}", d.clone()),
            "\"a\" A"
        );
        assert_eq!(
            render("{{ printf \"%s-%03d\" .Name 7 }}", d.clone()),
            "inst-007"
        );
        assert_eq!(
            render(
                "{{ (splitList \",\" \"a,b\") }} {{ contains \"b\" \"abc\" }}",
                d.clone()
            ),
            "[a b] true"
        );
        assert_eq!(render("{{ hasKey .Params \"N\" }}", d), "true");
    }

    #[test]
    fn errors_name_the_template_and_line() {
        let e = Template::parse("x.yaml", "a\n{{ if .A }}").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("no matching `end`"), "{e}");
        let e = Template::parse("x.yaml", "{{ frob 1 }}").unwrap_err();
        assert!(e.message.contains("\"frob\" not defined"), "{e}");
        let e = Template::parse("x.yaml", "\n\n{{ .Params.TYPO }}")
            .unwrap()
            .render(&params(&[]))
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("\"TYPO\" is not defined"), "{e}");
        let e = Template::parse("x", "{{ if eq \"1\" 1 }}{{ end }}")
            .unwrap()
            .render(&params(&[]))
            .unwrap_err();
        assert!(e.message.contains("incompatible types"), "{e}");
    }

    #[test]
    fn unknown_values_are_recorded_not_guessed() {
        let mut root = BTreeMap::new();
        root.insert("Pipes".into(), Value::Unknown(".Pipes".into()));
        let r = Template::parse("t", "secretName: {{ .Pipes.certificate }}")
            .unwrap()
            .render(&Value::Map(root))
            .unwrap();
        assert_eq!(r.text, "secretName: UNKNOWN(.Pipes.certificate)");
        assert_eq!(r.unknowns, vec![".Pipes.certificate".to_string()]);
    }
}
