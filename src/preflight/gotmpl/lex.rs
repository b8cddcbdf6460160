//! Lexing: the template source cut into text and actions, and each action into tokens.

use super::value::{TemplateError, Value};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) enum Piece {
    Text(String),
    Action { toks: Vec<Tok>, line: usize },
}

pub(super) fn lex(name: &str, src: &str) -> Result<Vec<Piece>, TemplateError> {
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

/// An action's characters and the position of the next one to read.
struct Cursor {
    chars: Vec<char>,
    i: usize,
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Cursor {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    /// A one-character token.
    fn single(&mut self, tok: Tok) -> Tok {
        self.i += 1;
        tok
    }

    /// The characters from here while `keep` holds them.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let start = self.i;
        while self.peek(0).is_some_and(&keep) {
            self.i += 1;
        }
        self.chars[start..self.i].iter().collect()
    }

    /// `.A.B` field names, as many as follow (none when the `.` is not followed by a name).
    fn fields(&mut self) -> Vec<String> {
        let mut f = Vec::new();
        while self.peek(0) == Some('.') && self.peek(1).is_some_and(ident_char) {
            self.i += 1;
            f.push(self.take_while(ident_char));
        }
        f
    }

    /// `$name.A.B` (the cursor is on the `$`).
    fn var(&mut self) -> Tok {
        self.i += 1;
        let name = self.take_while(ident_char);
        Tok::Var(name, self.fields())
    }

    /// A `"..."` literal with Go's escapes (the cursor is on the opening quote).
    fn quoted(&mut self) -> Result<String, String> {
        let mut out = String::new();
        self.i += 1;
        loop {
            match self.peek(0) {
                None => return Err("unterminated quoted string".into()),
                Some('"') => break,
                Some('\\') => {
                    self.i += 1;
                    match self.peek(0) {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some(c) => out.push(c),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
                Some(c) => out.push(c),
            }
            self.i += 1;
        }
        self.i += 1;
        Ok(out)
    }

    /// A `` `...` `` raw literal: no escapes.
    fn raw(&mut self) -> Result<String, String> {
        self.i += 1;
        let s = self.take_while(|c| c != '`');
        if self.peek(0).is_none() {
            return Err("unterminated raw string".into());
        }
        self.i += 1;
        Ok(s)
    }

    /// A number: decimal, `0x` hex or float, with its leading `-` (the cursor is on either).
    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        self.i += 1;
        self.take_while(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        let text: String = self.chars[start..self.i].iter().collect();
        Ok(if let Ok(n) = text.parse::<i64>() {
            Value::Int(n)
        } else if let Some(h) = text.strip_prefix("0x") {
            Value::Int(i64::from_str_radix(h, 16).map_err(|_| bad_number(&text))?)
        } else {
            Value::Float(text.parse::<f64>().map_err(|_| bad_number(&text))?)
        })
    }

    /// A function name, or the literals `true`, `false` and `nil`.
    fn word(&mut self) -> Tok {
        let word = self.take_while(ident_char);
        match word.as_str() {
            "true" => Tok::Lit(Value::Bool(true)),
            "false" => Tok::Lit(Value::Bool(false)),
            "nil" => Tok::Lit(Value::Nil),
            _ => Tok::Ident(word),
        }
    }
}

/// The tokens of one action's text (between `{{` and `}}`, trim markers removed).
fn lex_action(s: &str) -> Result<Vec<Tok>, String> {
    let mut cur = Cursor {
        chars: s.chars().collect(),
        i: 0,
    };
    let mut toks = Vec::new();
    while let Some(c) = cur.peek(0) {
        let starts_number =
            c.is_ascii_digit() || (c == '-' && cur.peek(1).is_some_and(|d| d.is_ascii_digit()));
        let tok = match c {
            ' ' | '\t' | '\n' | '\r' => {
                cur.i += 1;
                continue;
            }
            '(' => cur.single(Tok::LParen),
            ')' => {
                cur.i += 1;
                Tok::RParen(cur.fields())
            }
            '|' => cur.single(Tok::Pipe),
            ',' => cur.single(Tok::Comma),
            ':' if cur.peek(1) == Some('=') => {
                cur.i += 2;
                Tok::Declare
            }
            '=' => cur.single(Tok::Assign),
            '.' if cur.peek(1).is_some_and(ident_char) => Tok::Field(cur.fields()),
            '.' => cur.single(Tok::Field(Vec::new())),
            '$' => cur.var(),
            '"' => Tok::Lit(Value::Str(cur.quoted()?)),
            '`' => Tok::Lit(Value::Str(cur.raw()?)),
            _ if starts_number => Tok::Lit(cur.number()?),
            c if ident_char(c) => cur.word(),
            other => return Err(format!("unexpected character {other:?} in action")),
        };
        toks.push(tok);
    }
    Ok(toks)
}

fn bad_number(t: &str) -> String {
    format!("bad number syntax: {t:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn an_action_lexes_into_every_kind_of_token() {
        let toks = lex_action(
            r#"$v, $x := (index .A 0).B | printf "%d\n" -3 0x1F 1.5 `r\n` $.C true nil"#,
        )
        .unwrap();
        assert_eq!(
            toks,
            vec![
                Tok::Var(s("v"), vec![]),
                Tok::Comma,
                Tok::Var(s("x"), vec![]),
                Tok::Declare,
                Tok::LParen,
                Tok::Ident(s("index")),
                Tok::Field(vec![s("A")]),
                Tok::Lit(Value::Int(0)),
                Tok::RParen(vec![s("B")]),
                Tok::Pipe,
                Tok::Ident(s("printf")),
                Tok::Lit(Value::Str(s("%d\n"))),
                Tok::Lit(Value::Int(-3)),
                Tok::Lit(Value::Int(31)),
                Tok::Lit(Value::Float(1.5)),
                Tok::Lit(Value::Str(s(r"r\n"))),
                Tok::Var(String::new(), vec![s("C")]),
                Tok::Lit(Value::Bool(true)),
                Tok::Lit(Value::Nil),
            ]
        );
        assert_eq!(
            lex_action(". = x").unwrap()[..2],
            [Tok::Field(vec![]), Tok::Assign]
        );
    }

    #[test]
    fn malformed_actions_say_what_is_wrong() {
        assert_eq!(
            lex_action(r#""abc"#).unwrap_err(),
            "unterminated quoted string"
        );
        assert_eq!(lex_action("`abc").unwrap_err(), "unterminated raw string");
        assert_eq!(
            lex_action("1.2.3").unwrap_err(),
            "bad number syntax: \"1.2.3\""
        );
        assert!(lex_action("a ; b")
            .unwrap_err()
            .contains("unexpected character ';'"));
    }
}
