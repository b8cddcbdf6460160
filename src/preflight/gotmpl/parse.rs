//! Parsing: tokens into a tree of text, actions and `if`/`with`/`range` blocks.

use super::exec::{self, Rendered};
use super::funcs::is_function;
use super::lex::{lex, Piece, Tok};
use super::value::{TemplateError, Value};

#[derive(Debug, Clone)]
pub(super) enum Expr {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Lit(Value),
    Paren(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    /// Variables declared (`:=`) or assigned (`=`) with the result.
    pub(super) vars: Vec<String>,
    pub(super) declare: bool,
    pub(super) cmds: Vec<Vec<Expr>>,
    pub(super) line: usize,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
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
        exec::execute(&self.name, &self.nodes, data)
    }
}
