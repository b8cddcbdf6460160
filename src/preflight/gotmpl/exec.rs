//! Execution: walking a parsed template against its data, with Go's scoping of variables.

use super::funcs::call;
use super::parse::{Expr, Node, Pipeline};
use super::value::{print, TemplateError, Value};

/// A template's output, and the values it used that could not be known before install.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub unknowns: Vec<String>,
}

/// Executes `nodes` with `data` as `.` and `$`; `name` is the template's, for errors.
pub(super) fn execute(name: &str, nodes: &[Node], data: &Value) -> Result<Rendered, TemplateError> {
    let mut ex = Exec {
        name,
        root: data,
        scopes: vec![Vec::new()],
        out: String::new(),
        unknowns: Vec::new(),
    };
    ex.walk(nodes, data)?;
    Ok(Rendered {
        text: ex.out,
        unknowns: ex.unknowns,
    })
}

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
                } => self.range(value, body, otherwise, dot)?,
            }
        }
        Ok(())
    }

    /// `range`: the body once per item of a list, map or count, else the `else` branch.
    fn range(
        &mut self,
        value: &Pipeline,
        body: &[Node],
        otherwise: &[Node],
        dot: &Value,
    ) -> Result<(), TemplateError> {
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
