//! The parser, in two steps. First the base grammar, which knows no block
//! names: lines of `key: value` with indented blocks, statements, list
//! items, templates and expressions (`Item`). A syntax error stops it
//! with one located diagnostic. Then the Agent Script blocks are read from
//! those items into the [`super::ast`] tree: misplaced or ill-typed values are
//! located errors (all of them are collected), keys not modelled become
//! [`Unknown`]s.

use std::path::Path;

use super::MAX_DEPTH;
use super::ast::*;
use super::lexer::{self, Tok, Token};
use crate::diag::{Diagnostic, Diagnostics, Pos};

/// Parses a whole script.
pub fn parse(path: &Path, text: &str) -> Result<Script, Diagnostics> {
    let tokens = lexer::tokenize(text).map_err(|e| Diagnostic::new(path, e.pos, e.message))?;
    let items = Syntax::new(path, &tokens).file()?;
    let mut b = Builder {
        path,
        errors: Vec::new(),
    };
    let script = b.script(items);
    Diagnostics(b.errors).into_result(script)
}

// ---------------------------------------------------------------------------
// Step 1: the base grammar.
// ---------------------------------------------------------------------------

/// One line of a block (with what is indented under it).
#[derive(Debug)]
enum Item {
    Entry(Entry),
    Stmt(Statement),
    ListItem(ListItem),
}

/// `key: value`, `key:` with an indented block, or `key: ->` with a
/// procedure. A key is one or two names (`subagent billing`).
#[derive(Debug)]
struct Entry {
    key: Vec<Ident>,
    arrow: bool,
    value: Option<Colinear>,
    body: Vec<Item>,
}

impl Entry {
    fn pos(&self) -> Pos {
        self.key[0].pos
    }

    fn key_text(&self) -> String {
        let words: Vec<&str> = self.key.iter().map(|k| k.name.as_str()).collect();
        words.join(" ")
    }
}

/// What follows `key:` on its line.
#[derive(Debug)]
enum Colinear {
    Template(Text),
    /// `mutable TYPE [= DEFAULT]`, `linked TYPE`.
    Decl {
        modifier: Ident,
        ty: Expr,
        default: Option<Expr>,
    },
    /// An expression and its `with`/`to` clauses.
    Expr {
        expr: Expr,
        clauses: Vec<Clause>,
    },
    /// `LEFT = RIGHT` (an input's type and default).
    Assign {
        left: Expr,
        right: Expr,
    },
}

#[derive(Debug)]
enum Clause {
    With(With),
    To { pos: Pos, target: Expr },
}

/// `- value`, `- key: value` (its indented block continues the map), or
/// `-` with an indented block.
#[derive(Debug)]
struct ListItem {
    pos: Pos,
    value: Option<Colinear>,
    first: Option<Entry>,
    body: Vec<Item>,
}

#[derive(Debug)]
enum Statement {
    Template(Text),
    If {
        pos: Pos,
        cond: Expr,
        then: Vec<Item>,
        /// `else if`s in order: where, condition, block.
        elifs: Vec<(Pos, Expr, Vec<Item>)>,
        orelse: Option<(Pos, Vec<Item>)>,
    },
    Run {
        pos: Pos,
        target: Expr,
        body: Vec<Item>,
    },
    Set(Set),
    With {
        pos: Pos,
        params: Vec<With>,
    },
    Transition {
        pos: Pos,
        clauses: Vec<Clause>,
    },
    AvailableWhen {
        pos: Pos,
        cond: Expr,
    },
    Collect {
        pos: Pos,
    },
}

const STATEMENT_KEYWORDS: &[&str] = &["if", "else", "run", "set", "with", "transition", "available", "collect"];
/// Names that cannot start an expression.
const NOT_EXPRESSIONS: &[&str] = &["and", "or", "if", "else", "is", "with", "to", "when"];

type Res<T> = Result<T, Diagnostic>;

struct Syntax<'a> {
    path: &'a Path,
    toks: &'a [Token],
    i: usize,
    /// Recursion depth of the expression being read.
    depth: usize,
    /// Reading a `{! }` interpolation rather than a file.
    fragment: bool,
}

/// An expression and the depth of its tree.
type Deep = (Expr, usize);

impl<'a> Syntax<'a> {
    fn new(path: &'a Path, toks: &'a [Token]) -> Syntax<'a> {
        Syntax {
            path,
            toks,
            i: 0,
            depth: 0,
            fragment: false,
        }
    }

    fn file(mut self) -> Res<Vec<Item>> {
        let items = self.items()?;
        match self.peek() {
            Tok::Eof => Ok(items),
            _ => Err(self.unexpected("a key such as `config:` at the start of a line")),
        }
    }

    // -- token helpers ------------------------------------------------------

    fn tok(&self) -> &'a Token {
        // The lexer always ends the tokens with `Eof`, which is never passed.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek(&self) -> &'a Tok {
        &self.tok().tok
    }

    fn peek_at(&self, n: usize) -> &'a Tok {
        &self.toks[(self.i + n).min(self.toks.len() - 1)].tok
    }

    fn pos(&self) -> Pos {
        self.tok().pos
    }

    fn bump(&mut self) -> &'a Token {
        let t = self.tok();
        if !matches!(t.tok, Tok::Eof) {
            self.i += 1;
        }
        t
    }

    fn is_name(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == word)
    }

    fn error(&self, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.path, pos, message)
    }

    /// "expected WHAT, found X" at the current token.
    fn unexpected(&self, what: &str) -> Diagnostic {
        let found = match self.peek() {
            Tok::Eof if self.fragment => "`}`".to_string(),
            tok => describe(tok),
        };
        self.error(self.pos(), format!("expected {what}, found {found}"))
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Res<Pos> {
        if *self.peek() == tok {
            Ok(self.bump().pos)
        } else {
            Err(self.unexpected(what))
        }
    }

    fn end_of_line(&mut self, after: &str) -> Res<()> {
        match self.peek() {
            Tok::Newline => {
                self.bump();
                Ok(())
            }
            Tok::Eof | Tok::Dedent => Ok(()),
            _ => Err(self.unexpected(&format!("the end of the line after {after}"))),
        }
    }

    /// The indented block under a line, if there is one.
    fn block(&mut self) -> Res<Vec<Item>> {
        if !matches!(self.peek(), Tok::Indent) {
            return Ok(Vec::new());
        }
        self.bump();
        let items = self.items()?;
        match self.peek() {
            Tok::Dedent => {
                self.bump();
                Ok(items)
            }
            _ => Err(self.unexpected("the end of the indented block")),
        }
    }

    /// The indented block a line must have.
    fn required_block(&mut self, under: &str) -> Res<Vec<Item>> {
        if !matches!(self.peek(), Tok::Indent) {
            return Err(self.unexpected(&format!("an indented block under {under}")));
        }
        self.block()
    }

    // -- lines --------------------------------------------------------------

    fn items(&mut self) -> Res<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Tok::Dedent | Tok::Eof => return Ok(items),
                Tok::Newline => {
                    self.bump();
                }
                Tok::Indent => {
                    return Err(self.error(
                        self.pos(),
                        "unexpected indentation: this line is indented deeper than the line before, which opens no block",
                    ));
                }
                _ => items.push(self.item()?),
            }
        }
    }

    fn item(&mut self) -> Res<Item> {
        match self.peek() {
            Tok::Dash => self.list_item().map(Item::ListItem),
            Tok::Template(_) => {
                let text = self.template_parsed()?;
                self.end_of_line("a `|` template")?;
                Ok(Item::Stmt(Statement::Template(text)))
            }
            // A keyword followed by `:` is a key (an input named `set`),
            // except `if` and `else`, which are always statements.
            Tok::Name(n)
                if STATEMENT_KEYWORDS.contains(&n.as_str())
                    && (n == "if" || n == "else" || !matches!(self.peek_at(1), Tok::Colon)) =>
            {
                self.statement().map(Item::Stmt)
            }
            Tok::Name(_) | Tok::Str(_) => self.entry().map(Item::Entry),
            _ => Err(self.unexpected("a key (`name:`) or a statement")),
        }
    }

    fn key_word(&mut self) -> Option<Ident> {
        let t = self.tok();
        let name = match &t.tok {
            Tok::Name(n) | Tok::Str(n) => n.clone(),
            _ => return None,
        };
        self.bump();
        Some(Ident { name, pos: t.pos })
    }

    /// `key [name]: ...` up to and including its indented block.
    fn entry(&mut self) -> Res<Entry> {
        let entry = self.entry_line()?;
        let Entry { key, arrow, value, .. } = entry;
        let body = if arrow {
            self.required_block("`->`")?
        } else {
            self.block()?
        };
        Ok(Entry {
            key,
            arrow,
            value,
            body,
        })
    }

    /// `key [name]: ...` on its line, without the indented block.
    fn entry_line(&mut self) -> Res<Entry> {
        let mut key = Vec::with_capacity(2);
        key.extend(self.key_word());
        // A second word names the block (`subagent billing:`); a second
        // word with no `:` after it is shown in the error only if it is a
        // name (`topic greeting` missing its colon).
        let second = matches!(
            (self.peek(), self.peek_at(1)),
            (Tok::Name(_) | Tok::Str(_), Tok::Colon) | (Tok::Name(_), Tok::Newline | Tok::Eof)
        );
        if second {
            key.extend(self.key_word());
        }
        let shown = key.iter().map(|k| k.name.as_str()).collect::<Vec<_>>().join(" ");
        self.expect(Tok::Colon, &format!("`:` after `{shown}`"))?;
        let mut arrow = false;
        let mut value = None;
        match self.peek() {
            Tok::Arrow => {
                self.bump();
                arrow = true;
                self.end_of_line("`->`")?;
            }
            Tok::Newline | Tok::Eof | Tok::Dedent => {
                self.end_of_line("`:`")?;
            }
            _ => {
                value = Some(self.colinear(&shown)?);
                self.end_of_line(&format!("the value of `{shown}`"))?;
            }
        }
        Ok(Entry {
            key,
            arrow,
            value,
            body: Vec::new(),
        })
    }

    fn template(&mut self) -> Text {
        let t = self.bump();
        let Tok::Template(tpl) = &t.tok else {
            unreachable!("template() is called on a template token")
        };
        Text {
            value: tpl.text.clone(),
            pos: t.pos,
            template: true,
            interpolations: Vec::new(),
        }
    }

    /// A template with its interpolations read as expressions.
    fn template_parsed(&mut self) -> Res<Text> {
        let Tok::Template(tpl) = self.peek() else {
            unreachable!("template_parsed() is called on a template token")
        };
        let mut text = self.template();
        for fragment in &tpl.interpolations {
            let toks =
                lexer::tokenize_fragment(&fragment.source, fragment.pos).map_err(|e| self.error(e.pos, e.message))?;
            let mut sub = Syntax::new(self.path, &toks);
            sub.fragment = true;
            if matches!(sub.peek(), Tok::Eof) {
                return Err(self.error(fragment.pos, "expected an expression inside `{! }`"));
            }
            let e = sub.expr("an expression inside `{! }`")?;
            if !matches!(sub.peek(), Tok::Eof) {
                return Err(sub.unexpected("`}` after the expression of `{! }`"));
            }
            text.interpolations.push(e);
        }
        Ok(text)
    }

    /// The value after `key:` on the same line.
    fn colinear(&mut self, key: &str) -> Res<Colinear> {
        if matches!(self.peek(), Tok::Template(_)) {
            return self.template_parsed().map(Colinear::Template);
        }
        if let Tok::Name(m) = self.peek()
            && (m == "mutable" || m == "linked")
            && !matches!(
                self.peek_at(1),
                Tok::Newline | Tok::Eof | Tok::Assign | Tok::Dot | Tok::Comma | Tok::Dedent
            )
        {
            let modifier = self.key_word().expect("a name");
            let ty = self.expr(&format!("a type after `{}`", modifier.name))?;
            let default = if matches!(self.peek(), Tok::Assign) {
                self.bump();
                Some(self.expr("a default value after `=`")?)
            } else {
                None
            };
            return Ok(Colinear::Decl { modifier, ty, default });
        }
        let expr = self.expr(&format!("a value after `{key}:`"))?;
        if matches!(self.peek(), Tok::Assign) {
            self.bump();
            let right = self.expr("an expression after `=`")?;
            return Ok(Colinear::Assign { left: expr, right });
        }
        let clauses = self.clauses()?;
        Ok(Colinear::Expr { expr, clauses })
    }

    /// `with p=v, ...` and `to TARGET` clauses, comma-separated.
    fn clauses(&mut self) -> Res<Vec<Clause>> {
        let mut clauses = Vec::new();
        loop {
            if self.is_name("with") {
                self.bump();
                clauses.extend(self.with_params()?.into_iter().map(Clause::With));
            } else if self.is_name("to") {
                let pos = self.bump().pos;
                let target = self.expr("a target after `to` (e.g. `to @subagent.billing`)")?;
                clauses.push(Clause::To { pos, target });
            } else {
                return Ok(clauses);
            }
            if !matches!(self.peek(), Tok::Comma) {
                return Ok(clauses);
            }
            self.bump();
        }
    }

    /// `p=v` after `with`, and more after commas (up to a `with` or `to`).
    fn with_params(&mut self) -> Res<Vec<With>> {
        let mut params = Vec::new();
        loop {
            let pos = self.pos();
            let Some(param) = self.key_word() else {
                return Err(self.unexpected("a parameter name after `with`"));
            };
            self.expect(Tok::Assign, &format!("`=` after `{}` in `with`", param.name))?;
            let value = self.expr(&format!(
                "a value after `{}=` (an expression, or `...` for the model to fill)",
                param.name
            ))?;
            params.push(With { pos, param, value });
            let more = matches!(self.peek(), Tok::Comma)
                && matches!(self.peek_at(1), Tok::Name(n) if n != "with" && n != "to")
                && matches!(self.peek_at(2), Tok::Assign);
            if !more {
                return Ok(params);
            }
            self.bump();
        }
    }

    fn list_item(&mut self) -> Res<ListItem> {
        let pos = self.bump().pos;
        let starts_entry = matches!(
            (self.peek(), self.peek_at(1), self.peek_at(2)),
            (Tok::Name(_) | Tok::Str(_), Tok::Colon, _)
                | (Tok::Name(_) | Tok::Str(_), Tok::Name(_) | Tok::Str(_), Tok::Colon)
        );
        let (value, first) = if starts_entry {
            let e = self.entry_line()?;
            if e.arrow {
                return Err(self.error(e.pos(), "a list item cannot hold a `->` procedure"));
            }
            (None, Some(e))
        } else if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Dedent) {
            self.end_of_line("`-`")?;
            (None, None)
        } else {
            let v = self.colinear("-")?;
            self.end_of_line("the list item")?;
            (Some(v), None)
        };
        let body = self.block()?;
        Ok(ListItem {
            pos,
            value,
            first,
            body,
        })
    }

    // -- statements ---------------------------------------------------------

    fn statement(&mut self) -> Res<Statement> {
        let Tok::Name(word) = self.peek() else {
            unreachable!("statement() is called on a keyword")
        };
        let pos = self.bump().pos;
        match word.as_str() {
            "if" => self.if_statement(pos),
            "else" => Err(self.error(pos, "`else` without an `if` before it at the same indentation")),
            "run" => {
                let target = self.expr("an action after `run` (e.g. `run @actions.lookup`)")?;
                self.end_of_line("the action of `run`")?;
                let body = self.block()?;
                Ok(Statement::Run { pos, target, body })
            }
            "set" => {
                let target = self.expr("a variable after `set` (e.g. `set @variables.x = 1`)")?;
                self.expect(Tok::Assign, "`=` after the variable in `set`")?;
                let value = self.expr("an expression after `=` in `set`")?;
                self.end_of_line("the value of `set`")?;
                Ok(Statement::Set(Set { pos, target, value }))
            }
            "with" => {
                let params = self.with_params()?;
                self.end_of_line("the value of `with`")?;
                Ok(Statement::With { pos, params })
            }
            "transition" => {
                if !self.is_name("to") {
                    return Err(self.unexpected("`to` after `transition` (e.g. `transition to @subagent.billing`)"));
                }
                let clauses = self.clauses()?;
                self.end_of_line("the target of `transition`")?;
                Ok(Statement::Transition { pos, clauses })
            }
            "available" => {
                if !self.is_name("when") {
                    return Err(self.unexpected("`when` after `available`"));
                }
                self.bump();
                let cond = self.expr("an expression after `available when`")?;
                self.end_of_line("the condition of `available when`")?;
                Ok(Statement::AvailableWhen { pos, cond })
            }
            _ => {
                // `collect TARGET` with an indented block: kept as unknown.
                self.expr("a variable after `collect`")?;
                self.end_of_line("the variable of `collect`")?;
                self.block()?;
                Ok(Statement::Collect { pos })
            }
        }
    }

    fn if_statement(&mut self, pos: Pos) -> Res<Statement> {
        let cond = self.condition("if")?;
        let then = self.required_block("`if`")?;
        let mut elifs = Vec::new();
        let mut orelse = None;
        while self.is_name("else") {
            let else_pos = self.bump().pos;
            if self.is_name("if") {
                self.bump();
                let cond = self.condition("else if")?;
                let body = self.required_block("`else if`")?;
                elifs.push((else_pos, cond, body));
            } else {
                self.expect(Tok::Colon, "`:` after `else`")?;
                self.end_of_line("`else:`")?;
                orelse = Some((else_pos, self.required_block("`else`")?));
                break;
            }
        }
        Ok(Statement::If {
            pos,
            cond,
            then,
            elifs,
            orelse,
        })
    }

    /// `COND:` and the end of its line.
    fn condition(&mut self, keyword: &str) -> Res<Expr> {
        let cond = self.expr(&format!("a condition after `{keyword}`"))?;
        self.expect(Tok::Colon, &format!("`:` after the condition of `{keyword}`"))?;
        self.end_of_line(&format!("`{keyword} ...:`"))?;
        Ok(cond)
    }

    // -- expressions --------------------------------------------------------

    /// An expression; `what` names it in the error when there is none.
    fn expr(&mut self, what: &str) -> Res<Expr> {
        if !self.starts_expression() {
            return Err(self.unexpected(what));
        }
        let (e, _) = self.ternary()?;
        Ok(e)
    }

    fn starts_expression(&self) -> bool {
        match self.peek() {
            Tok::Name(n) => !NOT_EXPRESSIONS.contains(&n.as_str()),
            Tok::At(_)
            | Tok::Str(_)
            | Tok::Number(_)
            | Tok::DateTime(_)
            | Tok::Ellipsis
            | Tok::LParen
            | Tok::LBracket
            | Tok::LBrace
            | Tok::Minus
            | Tok::Plus
            | Tok::Star => true,
            _ => false,
        }
    }

    /// An operand that must follow an operator.
    fn operand(&mut self, after: &str, f: fn(&mut Self) -> Res<Deep>) -> Res<Deep> {
        if !self.starts_expression() {
            return Err(self.unexpected(&format!("an expression after `{after}`")));
        }
        f(self)
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                self.pos(),
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn node(&self, pos: Pos, kind: ExprKind, depth: usize) -> Res<Deep> {
        if depth > MAX_DEPTH {
            return Err(self.error(
                pos,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok((Expr { kind, pos }, depth))
    }

    fn binary(&self, op: BinaryOp, (l, ld): Deep, (r, rd): Deep) -> Res<Deep> {
        let pos = l.pos;
        self.node(
            pos,
            ExprKind::Binary {
                op,
                left: Box::new(l),
                right: Box::new(r),
            },
            ld.max(rd) + 1,
        )
    }

    fn ternary(&mut self) -> Res<Deep> {
        self.enter()?;
        let then = self.or()?;
        let out = if self.is_name("if") {
            self.bump();
            let cond = self.operand("if", Self::or)?;
            if !self.is_name("else") {
                return Err(self.unexpected("`else` in the conditional expression `A if C else B`"));
            }
            self.bump();
            let orelse = self.operand("else", Self::ternary)?;
            let depth = then.1.max(cond.1).max(orelse.1) + 1;
            let pos = then.0.pos;
            self.node(
                pos,
                ExprKind::Ternary {
                    then: Box::new(then.0),
                    cond: Box::new(cond.0),
                    orelse: Box::new(orelse.0),
                },
                depth,
            )?
        } else {
            then
        };
        self.depth -= 1;
        Ok(out)
    }

    fn or(&mut self) -> Res<Deep> {
        let mut left = self.and()?;
        while self.is_name("or") {
            self.bump();
            let right = self.operand("or", Self::and)?;
            left = self.binary(BinaryOp::Or, left, right)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Res<Deep> {
        let mut left = self.not()?;
        while self.is_name("and") {
            self.bump();
            let right = self.operand("and", Self::not)?;
            left = self.binary(BinaryOp::And, left, right)?;
        }
        Ok(left)
    }

    fn not(&mut self) -> Res<Deep> {
        if !self.is_name("not") {
            return self.comparison();
        }
        let pos = self.bump().pos;
        self.enter()?;
        let (operand, d) = self.operand("not", Self::not)?;
        self.depth -= 1;
        self.node(
            pos,
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand: Box::new(operand),
            },
            d + 1,
        )
    }

    fn comparison(&mut self) -> Res<Deep> {
        let mut left = self.additive()?;
        loop {
            let (op, text) = match self.peek() {
                Tok::EqEq => (BinaryOp::Eq, "=="),
                Tok::NotEq => (BinaryOp::Ne, "!="),
                Tok::Lt => (BinaryOp::Lt, "<"),
                Tok::Le => (BinaryOp::Le, "<="),
                Tok::Gt => (BinaryOp::Gt, ">"),
                Tok::Ge => (BinaryOp::Ge, ">="),
                Tok::Name(n) if n == "is" => {
                    if matches!(self.peek_at(1), Tok::Name(n) if n == "not") {
                        self.bump();
                        (BinaryOp::IsNot, "is not")
                    } else {
                        (BinaryOp::Is, "is")
                    }
                }
                _ => return Ok(left),
            };
            self.bump();
            let right = self.operand(text, Self::additive)?;
            left = self.binary(op, left, right)?;
        }
    }

    fn additive(&mut self) -> Res<Deep> {
        let mut left = self.multiplicative()?;
        loop {
            let (op, text) = match self.peek() {
                Tok::Plus => (BinaryOp::Add, "+"),
                Tok::Minus => (BinaryOp::Sub, "-"),
                _ => return Ok(left),
            };
            self.bump();
            let right = self.operand(text, Self::multiplicative)?;
            left = self.binary(op, left, right)?;
        }
    }

    fn multiplicative(&mut self) -> Res<Deep> {
        let mut left = self.unary()?;
        loop {
            let (op, text) = match self.peek() {
                Tok::Star => (BinaryOp::Mul, "*"),
                Tok::Slash => (BinaryOp::Div, "/"),
                _ => return Ok(left),
            };
            self.bump();
            let right = self.operand(text, Self::unary)?;
            left = self.binary(op, left, right)?;
        }
    }

    fn unary(&mut self) -> Res<Deep> {
        let (op, text) = match self.peek() {
            Tok::Minus => (UnaryOp::Neg, "-"),
            Tok::Plus => (UnaryOp::Plus, "+"),
            Tok::Star => (UnaryOp::Spread, "*"),
            _ => return self.postfix(),
        };
        let pos = self.bump().pos;
        self.enter()?;
        let (operand, d) = self.operand(text, Self::unary)?;
        self.depth -= 1;
        self.node(
            pos,
            ExprKind::Unary {
                op,
                operand: Box::new(operand),
            },
            d + 1,
        )
    }

    fn postfix(&mut self) -> Res<Deep> {
        let (mut e, mut d) = self.primary()?;
        loop {
            let pos = e.pos;
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    let Tok::Name(field) = self.peek() else {
                        return Err(self.unexpected("a name after `.`"));
                    };
                    self.bump();
                    (e, d) = self.node(
                        pos,
                        ExprKind::Member {
                            object: Box::new(e),
                            field: field.clone(),
                        },
                        d + 1,
                    )?;
                }
                Tok::LBracket => {
                    self.bump();
                    let (index, id) = self.operand("[", Self::ternary)?;
                    self.expect(Tok::RBracket, "`]` after the index")?;
                    (e, d) = self.node(
                        pos,
                        ExprKind::Index {
                            object: Box::new(e),
                            index: Box::new(index),
                        },
                        d.max(id) + 1,
                    )?;
                }
                Tok::LParen => {
                    self.bump();
                    let (args, ad) = self.sequence(Tok::RParen, "`)` after the arguments")?;
                    (e, d) = self.node(
                        pos,
                        ExprKind::Call {
                            callee: Box::new(e),
                            args,
                        },
                        d.max(ad) + 1,
                    )?;
                }
                _ => return Ok((e, d)),
            }
        }
    }

    /// Comma-separated expressions up to `close` (a trailing comma allowed).
    fn sequence(&mut self, close: Tok, what: &str) -> Res<(Vec<Expr>, usize)> {
        let mut items = Vec::new();
        let mut depth = 0;
        while *self.peek() != close {
            let (e, d) = self.operand_or(what)?;
            depth = depth.max(d);
            items.push(e);
            if matches!(self.peek(), Tok::Comma) {
                self.bump();
            } else {
                break;
            }
        }
        self.expect(close, what)?;
        Ok((items, depth))
    }

    fn operand_or(&mut self, what: &str) -> Res<Deep> {
        if !self.starts_expression() {
            return Err(self.unexpected(&format!("an expression or {what}")));
        }
        self.ternary()
    }

    fn primary(&mut self) -> Res<Deep> {
        let t = self.tok();
        let pos = t.pos;
        let kind = match &t.tok {
            Tok::Name(n) => match n.as_str() {
                "True" => ExprKind::Bool(true),
                "False" => ExprKind::Bool(false),
                "None" => ExprKind::None,
                _ if NOT_EXPRESSIONS.contains(&n.as_str()) => return Err(self.unexpected("an expression")),
                _ => ExprKind::Name(n.clone()),
            },
            Tok::At(namespace) => {
                self.bump();
                let mut path = Vec::new();
                while matches!(self.peek(), Tok::Dot) && matches!(self.peek_at(1), Tok::Name(_)) {
                    self.bump();
                    if let Tok::Name(n) = &self.bump().tok {
                        path.push(n.clone());
                    }
                }
                let namespace = namespace.clone();
                return self.node(pos, ExprKind::Ref { namespace, path }, 1);
            }
            Tok::Str(s) => ExprKind::Str(s.clone()),
            Tok::Number(n) => ExprKind::Number(*n),
            Tok::DateTime(s) => ExprKind::DateTime(s.clone()),
            Tok::Ellipsis => ExprKind::Ellipsis,
            Tok::LParen => {
                self.bump();
                let inner = self.operand("(", Self::ternary)?;
                self.expect(Tok::RParen, "`)` to close `(`")?;
                return Ok(inner);
            }
            Tok::LBracket => {
                self.bump();
                let (items, d) = self.sequence(Tok::RBracket, "`]` to close the list")?;
                return self.node(pos, ExprKind::List(items), d + 1);
            }
            Tok::LBrace => {
                self.bump();
                return self.dict(pos);
            }
            _ => return Err(self.unexpected("an expression")),
        };
        self.bump();
        Ok((Expr { kind, pos }, 1))
    }

    fn dict(&mut self, pos: Pos) -> Res<Deep> {
        let mut pairs = Vec::new();
        let mut depth = 0;
        while !matches!(self.peek(), Tok::RBrace) {
            let Some(key) = self.key_word() else {
                return Err(self.unexpected("a key or `}` in the dictionary"));
            };
            self.expect(Tok::Colon, &format!("`:` after `{}` in the dictionary", key.name))?;
            let (value, d) = self.operand(":", Self::ternary)?;
            depth = depth.max(d);
            pairs.push((key.name, value));
            if matches!(self.peek(), Tok::Comma) {
                self.bump();
            } else {
                break;
            }
        }
        self.expect(Tok::RBrace, "`}` to close the dictionary")?;
        self.node(pos, ExprKind::Dict(pairs), depth + 1)
    }
}

/// A token in an error message.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Name(n) => format!("`{n}`"),
        Tok::At(n) => format!("`@{n}`"),
        Tok::Str(_) => "a string".into(),
        Tok::Number(_) => "a number".into(),
        Tok::DateTime(_) => "a date".into(),
        Tok::Template(_) => "a `|` template".into(),
        Tok::Newline => "the end of the line".into(),
        Tok::Indent => "an indented block".into(),
        Tok::Dedent => "the end of the block".into(),
        Tok::Eof => "the end of the file".into(),
        Tok::Dash => "`-`".into(),
        other => {
            let s = match other {
                Tok::Colon => ":",
                Tok::Arrow => "->",
                Tok::Assign => "=",
                Tok::EqEq => "==",
                Tok::NotEq => "!=",
                Tok::Lt => "<",
                Tok::Le => "<=",
                Tok::Gt => ">",
                Tok::Ge => ">=",
                Tok::Plus => "+",
                Tok::Minus => "-",
                Tok::Star => "*",
                Tok::Slash => "/",
                Tok::Dot => ".",
                Tok::Comma => ",",
                Tok::Ellipsis => "...",
                Tok::LParen => "(",
                Tok::RParen => ")",
                Tok::LBracket => "[",
                Tok::RBracket => "]",
                Tok::LBrace => "{",
                _ => "}",
            };
            format!("`{s}`")
        }
    }
}

// ---------------------------------------------------------------------------
// Step 2: Agent Script blocks.
// ---------------------------------------------------------------------------

struct Builder<'a> {
    path: &'a Path,
    errors: Vec<Diagnostic>,
}

/// Keys seen in one block, to refuse a second `description:`.
#[derive(Default)]
struct Seen(Vec<(String, Pos)>);

impl<'a> Builder<'a> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(Diagnostic::new(self.path, pos, message));
    }

    /// Whether `key` is new in this block; reports it otherwise.
    fn first(&mut self, seen: &mut Seen, key: &str, pos: Pos) -> bool {
        if let Some((_, at)) = seen.0.iter().find(|(k, _)| k == key) {
            let at = *at;
            self.error(
                pos,
                format!("duplicate `{key}` (first at line {}, column {})", at.line, at.col),
            );
            return false;
        }
        seen.0.push((key.to_string(), pos));
        true
    }

    fn script(&mut self, items: Vec<Item>) -> Script {
        let mut s = Script::default();
        let mut seen = Seen::default();
        for item in items {
            let e = match item {
                Item::Entry(e) => e,
                other => {
                    self.error(
                        item_pos(&other),
                        "expected a top-level block such as `config:`, `variables:` or `subagent NAME:`, found a statement",
                    );
                    continue;
                }
            };
            let pos = e.pos();
            let block = e.key[0].name.as_str();
            let named = e.key.len() == 2;
            match (block, named) {
                ("system", false) if self.first(&mut seen, "system", pos) => s.system = Some(self.system(e)),
                ("config", false) if self.first(&mut seen, "config", pos) => s.config = Some(self.config(e)),
                ("variables", false) if self.first(&mut seen, "variables", pos) => {
                    s.variables = Some(self.variables(e))
                }
                ("system" | "config" | "variables", false) => {}
                ("connection", true) => s.connections.push(self.connection(e)),
                ("modality", true) => s.modalities.push(self.modality(e)),
                ("start_agent" | "subagent" | "topic", true) => s.agents.push(self.agent(e)),
                ("connections", _) => self.error(
                    pos,
                    "`connections:` is not an Agent Script block: write one `connection SURFACE:` block per surface (e.g. `connection messaging:`); the platform does not compile this file",
                ),
                ("system" | "config" | "variables", true) => {
                    self.error(e.key[1].pos, format!("`{block}` takes no name: write `{block}:`"))
                }
                ("connection" | "modality" | "start_agent" | "subagent" | "topic", false) => {
                    let example = match block {
                        "connection" => "connection messaging:",
                        "modality" => "modality voice:",
                        _ => "subagent billing:",
                    };
                    self.error(pos, format!("expected a name after `{block}` (e.g. `{example}`)"))
                }
                _ => s.unknown.push(self.unknown(&e)),
            }
        }
        s
    }

    fn unknown(&mut self, e: &Entry) -> Unknown {
        Unknown {
            key: e.key_text(),
            pos: e.pos(),
        }
    }

    /// The entries of a block that must be an indented block of keys;
    /// statements and list items in it are errors.
    fn fields(&mut self, e: Entry, what: &str) -> Vec<Entry> {
        if e.value.is_some() || e.arrow {
            self.error(
                e.pos(),
                format!("`{}` expects an indented block of {what}", e.key_text()),
            );
        }
        let mut out = Vec::new();
        for item in e.body {
            match item {
                Item::Entry(f) => out.push(f),
                other => self.error(
                    item_pos(&other),
                    format!("expected {what}, found {}", item_kind(&other)),
                ),
            }
        }
        out
    }

    /// A field of one word (`description:`), else reports the second.
    fn one_word(&mut self, f: &Entry) -> bool {
        if f.key.len() == 2 {
            self.error(f.key[1].pos, format!("expected `:` after `{}`", f.key[0].name));
            return false;
        }
        true
    }

    fn system(&mut self, e: Entry) -> System {
        let mut s = System {
            pos: e.pos(),
            instructions: None,
            welcome: None,
            error: None,
            unknown: Vec::new(),
        };
        let mut seen = Seen::default();
        for f in self.fields(e, "system settings (`instructions:`, `messages:`)") {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            match f.key[0].name.as_str() {
                "instructions" => s.instructions = self.text(f),
                "messages" => {
                    let mut seen = Seen::default();
                    for m in self.fields(f, "messages (`welcome:`, `error:`)") {
                        if !self.one_word(&m) || !self.first(&mut seen, &m.key[0].name, m.pos()) {
                            continue;
                        }
                        match m.key[0].name.as_str() {
                            "welcome" => s.welcome = self.text(m),
                            "error" => s.error = self.text(m),
                            _ => s.unknown.push(self.unknown(&m)),
                        }
                    }
                }
                _ => s.unknown.push(self.unknown(&f)),
            }
        }
        s
    }

    fn config(&mut self, e: Entry) -> Config {
        let mut c = Config {
            pos: e.pos(),
            developer_name: None,
            agent_name: None,
            agent_label: None,
            description: None,
            agent_description: None,
            agent_type: None,
            default_agent_user: None,
            outbound_flow: None,
            unknown: Vec::new(),
        };
        let mut seen = Seen::default();
        for f in self.fields(e, "config settings (`developer_name:`, ...)") {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            let slot = match f.key[0].name.as_str() {
                "developer_name" => &mut c.developer_name,
                "agent_name" => &mut c.agent_name,
                "agent_label" => &mut c.agent_label,
                "description" => &mut c.description,
                "agent_description" => &mut c.agent_description,
                "agent_type" => &mut c.agent_type,
                "outbound_flow" => &mut c.outbound_flow,
                "default_agent_user" => {
                    if !is_none(&f) {
                        c.default_agent_user = self.text(f);
                    }
                    continue;
                }
                _ => {
                    let u = self.unknown(&f);
                    c.unknown.push(u);
                    continue;
                }
            };
            *slot = self.text(f);
        }
        c
    }

    /// The value on the line of a field that takes one value and no block.
    fn scalar(&mut self, f: Entry, what: &str) -> Option<(String, Colinear)> {
        let key = f.key_text();
        if let Some(first) = f.body.first() {
            self.error(
                item_pos(first),
                format!("unexpected indented block under `{key}`: it takes {what} on its line"),
            );
            return None;
        }
        match f.value {
            Some(v) => Some((key, v)),
            None => {
                self.error(f.pos(), format!("expected {what} after `{key}:`"));
                None
            }
        }
    }

    /// A string field: a quoted string or a `|` template.
    fn text(&mut self, f: Entry) -> Option<Text> {
        const WHAT: &str = "a string (\"...\" or `|`)";
        match self.scalar(f, WHAT)? {
            (_, Colinear::Template(t)) => Some(t),
            (
                _,
                Colinear::Expr {
                    expr:
                        Expr {
                            kind: ExprKind::Str(value),
                            pos,
                        },
                    clauses,
                },
            ) if clauses.is_empty() => Some(Text {
                value,
                pos,
                template: false,
                interpolations: Vec::new(),
            }),
            (key, v) => {
                self.error(colinear_pos(&v), format!("`{key}` expects {WHAT}"));
                None
            }
        }
    }

    fn flag(&mut self, f: Entry) -> Option<Flag> {
        const WHAT: &str = "`True` or `False`";
        match self.scalar(f, WHAT)? {
            (_, Colinear::Expr { expr, clauses })
                if clauses.is_empty()
                    && let ExprKind::Bool(value) = expr.kind =>
            {
                Some(Flag { value, pos: expr.pos })
            }
            (key, v) => {
                self.error(colinear_pos(&v), format!("`{key}` expects {WHAT}"));
                None
            }
        }
    }

    /// A plain expression field (`source: @MessagingSession.Id`).
    fn expr_field(&mut self, f: Entry) -> Option<Expr> {
        const WHAT: &str = "an expression";
        match self.scalar(f, WHAT)? {
            (_, Colinear::Expr { expr, clauses }) if clauses.is_empty() => Some(expr),
            (key, v) => {
                self.error(colinear_pos(&v), format!("`{key}` expects {WHAT}"));
                None
            }
        }
    }

    fn variables(&mut self, e: Entry) -> Variables {
        let pos = e.pos();
        let mut out = Vec::new();
        let mut seen = Seen::default();
        for f in self.fields(e, "variable declarations (`name: mutable string = \"\"`)") {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            if let Some(v) = self.variable(f) {
                out.push(v);
            }
        }
        Variables { pos, variables: out }
    }

    fn variable(&mut self, f: Entry) -> Option<Variable> {
        let name = f.key[0].clone();
        let Some(Colinear::Decl { modifier, ty, default }) = f.value else {
            self.error(
                value_pos(&f),
                format!(
                    "expected `mutable` or `linked` and a type for variable `{}` (e.g. `{}: mutable string = \"\"`)",
                    name.name, name.name
                ),
            );
            return None;
        };
        let m = if modifier.name == "mutable" {
            Modifier::Mutable
        } else {
            Modifier::Linked
        };
        let ty = self.type_ref(&ty)?;
        let mut v = Variable {
            name,
            modifier: m,
            modifier_pos: modifier.pos,
            ty,
            default,
            description: None,
            label: None,
            source: None,
            unknown: Vec::new(),
        };
        let mut seen = Seen::default();
        for p in self.properties(f.body, "variable properties (`description:`, ...)") {
            if !self.one_word(&p) || !self.first(&mut seen, &p.key[0].name, p.pos()) {
                continue;
            }
            match p.key[0].name.as_str() {
                "description" => v.description = self.text(p),
                "label" => v.label = self.text(p),
                "source" => v.source = self.expr_field(p),
                _ => v.unknown.push(self.unknown(&p)),
            }
        }
        Some(v)
    }

    /// The entries of an indented block of properties.
    fn properties(&mut self, body: Vec<Item>, what: &str) -> Vec<Entry> {
        let mut out = Vec::new();
        for item in body {
            match item {
                Item::Entry(f) => out.push(f),
                other => self.error(
                    item_pos(&other),
                    format!("expected {what}, found {}", item_kind(&other)),
                ),
            }
        }
        out
    }

    /// `string`, `list[string]`.
    fn type_ref(&mut self, e: &Expr) -> Option<TypeRef> {
        match &e.kind {
            ExprKind::Name(n) => Some(TypeRef {
                name: n.clone(),
                list: false,
                pos: e.pos,
            }),
            ExprKind::Index { object, index } => match (&object.kind, &index.kind) {
                (ExprKind::Name(l), ExprKind::Name(n)) if l == "list" => Some(TypeRef {
                    name: n.clone(),
                    list: true,
                    pos: e.pos,
                }),
                _ => {
                    self.error(e.pos, "expected a type such as `string` or `list[string]`");
                    None
                }
            },
            _ => {
                self.error(e.pos, "expected a type such as `string` or `list[string]`");
                None
            }
        }
    }

    fn connection(&mut self, e: Entry) -> Connection {
        let mut c = Connection {
            surface: e.key[1].clone(),
            pos: e.pos(),
            escalation_message: None,
            outbound_route_type: None,
            outbound_route_name: None,
            adaptive_response_allowed: None,
            unknown: Vec::new(),
        };
        let mut seen = Seen::default();
        for f in self.fields(e, "connection settings (`outbound_route_name:`, ...)") {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            match f.key[0].name.as_str() {
                "escalation_message" => c.escalation_message = self.text(f),
                "outbound_route_type" => c.outbound_route_type = self.text(f),
                "outbound_route_name" => c.outbound_route_name = self.text(f),
                "adaptive_response_allowed" => c.adaptive_response_allowed = self.flag(f),
                _ => c.unknown.push(self.unknown(&f)),
            }
        }
        c
    }

    fn modality(&mut self, e: Entry) -> Modality {
        let kind = e.key[1].clone();
        let pos = e.pos();
        let settings = self
            .fields(e, "modality settings")
            .into_iter()
            .filter_map(|f| self.setting(f))
            .collect();
        Modality { kind, pos, settings }
    }

    fn setting(&mut self, f: Entry) -> Option<Setting> {
        let key = Ident {
            name: f.key_text(),
            pos: f.pos(),
        };
        if f.arrow {
            self.error(f.pos(), format!("`{}` expects a value, not a `->` procedure", key.name));
            return None;
        }
        let value = match f.value {
            Some(v) if f.body.is_empty() => self.plain_value(v, &key.name)?,
            Some(_) => {
                self.error(
                    f.pos(),
                    format!("`{}` has both a value and an indented block", key.name),
                );
                return None;
            }
            None => self.block_value(f.body, &key.name)?,
        };
        Some(Setting { key, value })
    }

    fn plain_value(&mut self, v: Colinear, key: &str) -> Option<Value> {
        match v {
            Colinear::Template(t) => Some(Value::Text(t)),
            Colinear::Expr { expr, clauses } if clauses.is_empty() => Some(Value::Expr(expr)),
            Colinear::Expr { expr, .. } | Colinear::Assign { left: expr, .. } | Colinear::Decl { ty: expr, .. } => {
                self.error(expr.pos, format!("`{key}` expects a plain value"));
                None
            }
        }
    }

    /// An indented block as a map of settings or a list.
    fn block_value(&mut self, body: Vec<Item>, key: &str) -> Option<Value> {
        if body.iter().any(|i| matches!(i, Item::ListItem(_))) {
            let mut list = Vec::new();
            for item in body {
                match item {
                    Item::ListItem(l) => list.extend(self.list_value(l, key)),
                    other => self.error(
                        item_pos(&other),
                        format!("expected `- ` list items under `{key}`, found {}", item_kind(&other)),
                    ),
                }
            }
            return Some(Value::List(list));
        }
        let entries = self.properties(body, &format!("`key: value` settings under `{key}`"));
        Some(Value::Map(
            entries.into_iter().filter_map(|f| self.setting(f)).collect(),
        ))
    }

    fn list_value(&mut self, l: ListItem, key: &str) -> Option<Value> {
        match (l.value, l.first) {
            (Some(v), None) if l.body.is_empty() => self.plain_value(v, key),
            (Some(_), None) => {
                self.error(
                    l.pos,
                    format!("a list item under `{key}` has both a value and an indented block"),
                );
                None
            }
            (None, first) => {
                let mut map: Vec<Setting> = first.into_iter().filter_map(|f| self.setting(f)).collect();
                if let Some(Value::Map(rest)) = self.block_value(l.body, key) {
                    map.extend(rest);
                }
                Some(Value::Map(map))
            }
            (Some(_), Some(_)) => unreachable!("a list item holds a value or an entry"),
        }
    }

    fn agent(&mut self, e: Entry) -> Subagent {
        let kind = match e.key[0].name.as_str() {
            "start_agent" => AgentKind::StartAgent,
            "subagent" => AgentKind::Subagent,
            _ => AgentKind::Topic,
        };
        let mut a = Subagent {
            kind,
            name: e.key[1].clone(),
            pos: e.pos(),
            label: None,
            description: None,
            system_instructions: None,
            actions: Vec::new(),
            before_reasoning: None,
            reasoning: None,
            after_reasoning: None,
            unknown: Vec::new(),
        };
        let mut seen = Seen::default();
        let what = format!(
            "`{}` fields (`description:`, `actions:`, `reasoning:`, ...)",
            e.key[0].name
        );
        for f in self.fields(e, &what) {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            match f.key[0].name.as_str() {
                "label" => a.label = self.text(f),
                "description" => a.description = self.text(f),
                "system" => {
                    let mut seen = Seen::default();
                    for s in self.fields(f, "`instructions:`") {
                        if !self.one_word(&s) || !self.first(&mut seen, &s.key[0].name, s.pos()) {
                            continue;
                        }
                        match s.key[0].name.as_str() {
                            "instructions" => a.system_instructions = self.text(s),
                            _ => a.unknown.push(self.unknown(&s)),
                        }
                    }
                }
                "actions" => a.actions = self.action_defs(f),
                "before_reasoning" => a.before_reasoning = self.procedure(f),
                "after_reasoning" => a.after_reasoning = self.procedure(f),
                "reasoning" => a.reasoning = Some(self.reasoning(f)),
                _ => a.unknown.push(self.unknown(&f)),
            }
        }
        a
    }

    fn action_defs(&mut self, e: Entry) -> Vec<ActionDef> {
        let mut out = Vec::new();
        let mut seen = Seen::default();
        for f in self.fields(e, "action definitions (`name:` and an indented block)") {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            let name = f.key[0].clone();
            if f.value.is_some() || f.arrow {
                self.error(
                    value_pos(&f),
                    format!(
                        "action definition `{}` expects an indented block (`description:`, `inputs:`, `outputs:`, `target:`); bind actions under `reasoning: actions:`",
                        name.name
                    ),
                );
                continue;
            }
            let mut d = ActionDef {
                name,
                description: None,
                label: None,
                inputs: Vec::new(),
                outputs: Vec::new(),
                target: None,
                unknown: Vec::new(),
            };
            let mut seen = Seen::default();
            for p in self.properties(f.body, "action fields (`description:`, `inputs:`, `target:`, ...)") {
                if !self.one_word(&p) || !self.first(&mut seen, &p.key[0].name, p.pos()) {
                    continue;
                }
                match p.key[0].name.as_str() {
                    "description" => d.description = self.text(p),
                    "label" => d.label = self.text(p),
                    "target" => d.target = self.text(p),
                    "inputs" => d.inputs = self.params(p),
                    "outputs" => d.outputs = self.params(p),
                    _ => d.unknown.push(self.unknown(&p)),
                }
            }
            out.push(d);
        }
        out
    }

    fn params(&mut self, e: Entry) -> Vec<Param> {
        let mut out = Vec::new();
        let mut seen = Seen::default();
        for f in self.fields(e, "parameters (`name: string`)") {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            let name = f.key[0].clone();
            let (ty, default) = match f.value {
                None if !f.arrow => (None, None),
                Some(Colinear::Expr { expr, clauses }) if clauses.is_empty() => {
                    if is_type_shaped(&expr) {
                        (self.type_ref(&expr), None)
                    } else {
                        // An input of a variant subagent bound to a value.
                        (None, Some(expr))
                    }
                }
                Some(Colinear::Assign { left, right }) => (self.type_ref(&left), Some(right)),
                _ => {
                    self.error(
                        value_pos(&f),
                        format!(
                            "expected a type for parameter `{}` (e.g. `{}: string`)",
                            name.name, name.name
                        ),
                    );
                    continue;
                }
            };
            let mut p = Param {
                name,
                ty,
                default,
                description: None,
                label: None,
                is_required: None,
                unknown: Vec::new(),
            };
            let mut seen = Seen::default();
            for q in self.properties(f.body, "parameter properties (`description:`, `is_required:`, ...)") {
                if !self.one_word(&q) || !self.first(&mut seen, &q.key[0].name, q.pos()) {
                    continue;
                }
                match q.key[0].name.as_str() {
                    "description" => p.description = self.text(q),
                    "label" => p.label = self.text(q),
                    "is_required" => p.is_required = self.flag(q),
                    _ => p.unknown.push(self.unknown(&q)),
                }
            }
            out.push(p);
        }
        out
    }

    /// `key:` or `key: ->` with an indented block of statements.
    fn procedure(&mut self, e: Entry) -> Option<Procedure> {
        let pos = e.pos();
        if e.value.is_some() {
            self.error(
                value_pos(&e),
                format!("`{}` expects an indented block of statements", e.key_text()),
            );
            return None;
        }
        Some(Procedure {
            pos,
            arrow: e.arrow,
            body: self.stmts(e.body),
        })
    }

    fn stmts(&mut self, items: Vec<Item>) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Stmt(s) => out.extend(self.stmt(s)),
                Item::Entry(e) => out.push(Stmt::Unknown(self.unknown(&e))),
                Item::ListItem(l) => self.error(l.pos, "expected a statement, found a `-` list item"),
            }
        }
        out
    }

    fn stmt(&mut self, s: Statement) -> Option<Stmt> {
        Some(match s {
            Statement::Template(t) => Stmt::Template(t),
            Statement::If {
                pos,
                cond,
                then,
                elifs,
                orelse,
            } => {
                let then = self.stmts(then);
                let mut next_else = orelse.as_ref().map(|o| o.0);
                let mut tail = orelse.map(|(_, body)| self.stmts(body)).unwrap_or_default();
                for (pos, cond, body) in elifs.into_iter().rev() {
                    let then = self.stmts(body);
                    tail = vec![Stmt::If(If {
                        pos,
                        cond,
                        then,
                        orelse: std::mem::take(&mut tail),
                        else_pos: next_else,
                    })];
                    next_else = Some(pos);
                }
                let else_pos = next_else;
                Stmt::If(If {
                    pos,
                    cond,
                    then,
                    orelse: tail,
                    else_pos,
                })
            }
            Statement::Run { pos, target, body } => {
                let mut run = Run {
                    pos,
                    target,
                    with: Vec::new(),
                    then: Vec::new(),
                };
                for item in body {
                    match item {
                        Item::Stmt(Statement::With { params, .. }) => run.with.extend(params),
                        Item::Stmt(s) => run.then.extend(self.stmt(s)),
                        Item::Entry(e) => run.then.push(Stmt::Unknown(self.unknown(&e))),
                        Item::ListItem(l) => self.error(l.pos, "expected a statement, found a `-` list item"),
                    }
                }
                Stmt::Run(run)
            }
            Statement::Set(set) => Stmt::Set(set),
            Statement::Transition { pos, clauses } => Stmt::Transition(self.transition(pos, clauses)?),
            Statement::With { pos, .. } => {
                self.error(pos, "`with` belongs under `run` or a reasoning action binding");
                return None;
            }
            Statement::AvailableWhen { pos, .. } => {
                self.error(pos, "`available when` belongs on a reasoning action binding");
                return None;
            }
            Statement::Collect { pos } => Stmt::Unknown(Unknown {
                key: "collect".into(),
                pos,
            }),
        })
    }

    /// `transition to TARGET` (exactly one `to`, no `with`).
    fn transition(&mut self, pos: Pos, clauses: Vec<Clause>) -> Option<Transition> {
        let mut to = None;
        for c in clauses {
            match c {
                Clause::To { pos, target } => {
                    if to.is_some() {
                        self.error(pos, "a transition has one `to`");
                    }
                    to = Some(target);
                }
                Clause::With(w) => self.error(w.pos, "`with` does not apply to a transition"),
            }
        }
        Some(Transition { pos, to: to? })
    }

    fn reasoning(&mut self, e: Entry) -> Reasoning {
        let mut r = Reasoning {
            pos: e.pos(),
            instructions: None,
            actions: Vec::new(),
            unknown: Vec::new(),
        };
        let mut seen = Seen::default();
        for f in self.fields(e, "`instructions:` or `actions:`") {
            if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                continue;
            }
            match f.key[0].name.as_str() {
                "instructions" => r.instructions = self.instructions(f),
                "actions" => {
                    let mut seen = Seen::default();
                    for b in self.fields(f, "action bindings (`name: @actions.X`)") {
                        if !self.one_word(&b) || !self.first(&mut seen, &b.key[0].name, b.pos()) {
                            continue;
                        }
                        r.actions.extend(self.binding(b));
                    }
                }
                _ => r.unknown.push(self.unknown(&f)),
            }
        }
        r
    }

    fn instructions(&mut self, f: Entry) -> Option<Instructions> {
        match &f.value {
            None => self.procedure(f).map(Instructions::Procedure),
            Some(_) => self.text(f).map(Instructions::Text),
        }
    }

    fn binding(&mut self, b: Entry) -> Option<Binding> {
        let name = b.key[0].clone();
        if b.arrow {
            self.error(b.pos(), "a reasoning action binding takes no `->`");
            return None;
        }
        let Some(Colinear::Expr { expr, clauses }) = b.value else {
            self.error(
                value_pos(&b),
                format!(
                    "expected an action after `{}:` (e.g. `@actions.lookup`, `@utils.escalate`, `@utils.transition to @subagent.X`)",
                    name.name
                ),
            );
            return None;
        };
        let target_pos = expr.pos;
        let mut with = Vec::new();
        let mut to = None;
        for c in clauses {
            match c {
                Clause::With(w) => with.push(w),
                Clause::To { pos, target } => {
                    if to.is_some() {
                        self.error(pos, "a transition has one `to`");
                    }
                    to = Some((pos, target));
                }
            }
        }
        let mut unknown_to = None;
        let target = match (expr.reference(), to) {
            (Some(("utils", "transition")), Some((_, target))) => BindingTarget::Transition(target),
            (Some(("utils", "transition")), None) => {
                self.error(target_pos, "expected `to @subagent.NAME` after `@utils.transition`");
                return None;
            }
            (_, Some((pos, _))) => {
                // Not a transition: the compiler takes the target as an
                // action name; the `to` is kept as not modelled.
                unknown_to = Some(Unknown { key: "to".into(), pos });
                BindingTarget::Other(expr)
            }
            (Some(("actions", action)), None) => BindingTarget::Action(Ident {
                name: action.to_string(),
                pos: target_pos,
            }),
            (Some(("utils", "escalate")), None) => BindingTarget::Escalate,
            (Some(("utils", "setVariables")), None) => BindingTarget::SetVariables,
            _ => BindingTarget::Other(expr),
        };
        let mut out = Binding {
            name,
            target,
            target_pos,
            description: None,
            label: None,
            available_when: None,
            with,
            then: Vec::new(),
            unknown: unknown_to.into_iter().collect(),
        };
        let mut seen = Seen::default();
        for item in b.body {
            match item {
                Item::Entry(f) => {
                    if !self.one_word(&f) || !self.first(&mut seen, &f.key[0].name, f.pos()) {
                        continue;
                    }
                    match f.key[0].name.as_str() {
                        "description" => out.description = self.text(f),
                        "label" => out.label = self.text(f),
                        _ => out.unknown.push(self.unknown(&f)),
                    }
                }
                Item::Stmt(Statement::AvailableWhen { pos, cond }) => {
                    if self.first(&mut seen, "available when", pos) {
                        out.available_when = Some(cond);
                    }
                }
                Item::Stmt(Statement::With { params, .. }) => out.with.extend(params),
                Item::Stmt(s) => out.then.extend(self.stmt(s)),
                Item::ListItem(l) => self.error(l.pos, "expected a binding line, found a `-` list item"),
            }
        }
        Some(out)
    }
}

/// `string`, `list[...]`: a type rather than a value.
fn is_type_shaped(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Name(_) => true,
        ExprKind::Index { object, .. } => matches!(&object.kind, ExprKind::Name(n) if n == "list"),
        _ => false,
    }
}

fn is_none(f: &Entry) -> bool {
    matches!(&f.value, Some(Colinear::Expr { expr, clauses }) if clauses.is_empty() && expr.kind == ExprKind::None)
}

/// Where an entry's value is (its key when it has none on its line).
fn value_pos(f: &Entry) -> Pos {
    f.value.as_ref().map_or(f.pos(), colinear_pos)
}

fn colinear_pos(v: &Colinear) -> Pos {
    match v {
        Colinear::Template(t) => t.pos,
        Colinear::Decl { modifier, .. } => modifier.pos,
        Colinear::Expr { expr, .. } => expr.pos,
        Colinear::Assign { left, .. } => left.pos,
    }
}

fn item_pos(item: &Item) -> Pos {
    match item {
        Item::Entry(e) => e.pos(),
        Item::ListItem(l) => l.pos,
        Item::Stmt(s) => match s {
            Statement::Template(t) => t.pos,
            Statement::If { pos, .. }
            | Statement::Run { pos, .. }
            | Statement::With { pos, .. }
            | Statement::Transition { pos, .. }
            | Statement::AvailableWhen { pos, .. }
            | Statement::Collect { pos } => *pos,
            Statement::Set(s) => s.pos,
        },
    }
}

fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::Entry(_) => "a key",
        Item::ListItem(_) => "a `-` list item",
        Item::Stmt(Statement::Template(_)) => "a `|` template",
        Item::Stmt(_) => "a statement",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Script {
        match parse(Path::new("t.agent"), text) {
            Ok(s) => s,
            Err(d) => panic!("{d}"),
        }
    }

    /// Every diagnostic, one line each, without the file name.
    fn errors(text: &str) -> Vec<String> {
        let d = parse(Path::new("t.agent"), text).expect_err("expected an error");
        d.0.iter()
            .map(|d| format!("{}:{}: {}", d.pos.line, d.pos.col, d.message))
            .collect()
    }

    fn error(text: &str) -> String {
        let all = errors(text);
        assert_eq!(all.len(), 1, "{all:#?}");
        all.into_iter().next().unwrap_or_default()
    }

    /// An expression as an S-expression.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Bool(b) => (if *b { "True" } else { "False" }).into(),
            ExprKind::None => "None".into(),
            ExprKind::Number(n) => n.to_string(),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::DateTime(s) => s.clone(),
            ExprKind::Ellipsis => "...".into(),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Ref { namespace, path } => format!("@{namespace}.{}", path.join(".")),
            ExprKind::Member { object, field } => format!("(. {} {field})", show(object)),
            ExprKind::Index { object, index } => format!("([] {} {})", show(object), show(index)),
            ExprKind::Call { callee, args } => {
                let args: Vec<String> = args.iter().map(show).collect();
                format!("(call {} {})", show(callee), args.join(" "))
            }
            ExprKind::List(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(" ")),
            ExprKind::Dict(pairs) => {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}:{}", show(v))).collect();
                format!("{{{}}}", pairs.join(" "))
            }
            ExprKind::Unary { op, operand } => format!("({op:?} {})", show(operand)),
            ExprKind::Binary { op, left, right } => format!("({op:?} {} {})", show(left), show(right)),
            ExprKind::Ternary { then, cond, orelse } => {
                format!("(if {} {} {})", show(cond), show(then), show(orelse))
            }
        }
    }

    /// The condition of a one-binding script's `available when`.
    fn condition(expr: &str) -> String {
        let s = ok(&format!(
            "start_agent a:\n    description: \"d\"\n    reasoning:\n        actions:\n            go: @utils.escalate\n                available when {expr}\n"
        ));
        show(
            s.agents[0].reasoning.as_ref().unwrap().actions[0]
                .available_when
                .as_ref()
                .unwrap(),
        )
    }

    fn pos(line: u64, col: u64) -> Pos {
        Pos::new(line, col)
    }

    #[test]
    fn system_and_config() {
        let s = ok(r#"# comment
system:
    instructions: |
        You are helpful.
          Indented more.
    messages:
        welcome: "Hi!"   # inline comment
        error: "Oops."

config:
    developer_name: "Support_Agent"
    agent_label: "Support"
    description: "Helps"
    agent_type: "AgentforceServiceAgent"
    default_agent_user: None
    outbound_flow: "Route_Flow"
    enable_enhanced_event_logs: True
"#);
        let sys = s.system.unwrap();
        assert_eq!(sys.pos, pos(2, 1));
        let i = sys.instructions.unwrap();
        assert_eq!(
            (i.value.as_str(), i.template, i.pos),
            ("You are helpful.\n  Indented more.", true, pos(3, 19))
        );
        assert_eq!(sys.welcome.unwrap().value, "Hi!");
        assert_eq!(sys.error.unwrap().pos, pos(8, 16));
        let c = s.config.unwrap();
        assert_eq!(c.developer_name.unwrap().value, "Support_Agent");
        assert_eq!(c.agent_label.unwrap().value, "Support");
        assert_eq!(c.description.unwrap().value, "Helps");
        assert_eq!(c.agent_type.unwrap().value, "AgentforceServiceAgent");
        assert_eq!(c.default_agent_user, None);
        assert_eq!(c.outbound_flow.unwrap().value, "Route_Flow");
        assert_eq!(
            c.unknown,
            vec![Unknown {
                key: "enable_enhanced_event_logs".into(),
                pos: pos(17, 5)
            }]
        );
    }

    #[test]
    fn variables_with_modifiers_types_and_defaults() {
        let s = ok(r#"variables:
   name: mutable string = ""
      description: "The caller's name"
   tags: mutable list[string] = ["a", "b"]
   count: mutable number = 0
   verified: mutable boolean = False
   meta: mutable object = {}
   when: mutable date
   EndUserId: linked string
      source: @MessagingSession.MessagingEndUserId
      description: "End user"
      visibility: "External"
"#);
        let vars = s.variables.unwrap();
        assert_eq!(vars.pos, pos(1, 1));
        let v = &vars.variables;
        assert_eq!(v.len(), 7);
        assert_eq!((v[0].name.name.as_str(), v[0].name.pos), ("name", pos(2, 4)));
        assert_eq!((v[0].modifier, v[0].modifier_pos), (Modifier::Mutable, pos(2, 10)));
        assert_eq!(
            v[0].ty,
            TypeRef {
                name: "string".into(),
                list: false,
                pos: pos(2, 18)
            }
        );
        assert_eq!(v[0].default.as_ref().unwrap().as_str(), Some(""));
        assert_eq!(v[0].description.as_ref().unwrap().value, "The caller's name");
        assert_eq!((v[1].ty.name.as_str(), v[1].ty.list), ("string", true));
        assert_eq!(show(v[1].default.as_ref().unwrap()), r#"["a" "b"]"#);
        assert_eq!(show(v[2].default.as_ref().unwrap()), "0");
        assert_eq!(v[3].default.as_ref().unwrap().as_bool(), Some(false));
        assert_eq!(show(v[4].default.as_ref().unwrap()), "{}");
        assert_eq!((v[5].ty.name.as_str(), v[5].default.is_none()), ("date", true));
        let linked = &v[6];
        assert_eq!(linked.modifier, Modifier::Linked);
        assert_eq!(
            linked.source.as_ref().unwrap().reference(),
            Some(("MessagingSession", "MessagingEndUserId"))
        );
        assert_eq!(
            linked.unknown,
            vec![Unknown {
                key: "visibility".into(),
                pos: pos(12, 7)
            }]
        );
    }

    #[test]
    fn a_variable_needs_a_modifier_and_a_type() {
        assert_eq!(
            error("variables:\n    x: string\n"),
            "2:8: expected `mutable` or `linked` and a type for variable `x` (e.g. `x: mutable string = \"\"`)"
        );
        assert_eq!(
            error("variables:\n    x: mutable \"s\"\n"),
            "2:16: expected a type such as `string` or `list[string]`"
        );
        assert_eq!(
            error("variables:\n    x: mutable\n"),
            "2:8: expected `mutable` or `linked` and a type for variable `x` (e.g. `x: mutable string = \"\"`)"
        );
    }

    #[test]
    fn connections_keep_their_route_as_written() {
        let s = ok(r#"connection messaging:
    adaptive_response_allowed: True
    escalation_message: "Transferring you"
    outbound_route_type: "OmniChannelFlow"
    outbound_route_name: "flow://Route_X"
    label: "Messaging"

connection voice:
    outbound_route_name: |
        flow://Voice_Route
"#);
        assert_eq!(s.connections.len(), 2);
        let m = s.connection("messaging").unwrap();
        assert_eq!((m.surface.pos, m.pos), (pos(1, 12), pos(1, 1)));
        assert_eq!(m.escalation_message.as_ref().unwrap().value, "Transferring you");
        assert_eq!(m.outbound_route_type.as_ref().unwrap().value, "OmniChannelFlow");
        let route = m.outbound_route_name.as_ref().unwrap();
        assert_eq!((route.value.as_str(), route.pos), ("flow://Route_X", pos(5, 26)));
        assert_eq!(m.adaptive_response_allowed.map(|f| f.value), Some(true));
        assert_eq!(m.unknown[0].key, "label");
        let v = s.connection("voice").unwrap();
        assert_eq!(v.outbound_route_name.as_ref().unwrap().value, "flow://Voice_Route");
    }

    #[test]
    fn modality_voice_keeps_its_settings() {
        let s = ok(r#"modality voice:
    voice_id: "EQx6"
    outbound_speed: 1.0
    inbound_keywords:
        keywords:
            - "urgent"
            - "help"
    outbound_filler_sentences:
        - waiting:
            - "One moment..."
    additional_configs:
        speak_up_config:
            speak_up_first_wait_time_ms: 10000
            speak_up_message: "Are you still there?"
"#);
        let m = &s.modalities[0];
        assert_eq!((m.kind.name.as_str(), m.pos), ("voice", pos(1, 1)));
        let wait = m
            .setting(&["additional_configs", "speak_up_config", "speak_up_first_wait_time_ms"])
            .unwrap();
        assert_eq!(wait.key.pos, pos(13, 13));
        assert!(matches!(&wait.value, Value::Expr(e) if e.kind == ExprKind::Number(10000.0)));
        let message = m
            .setting(&["additional_configs", "speak_up_config", "speak_up_message"])
            .unwrap();
        assert!(matches!(&message.value, Value::Expr(e) if e.as_str() == Some("Are you still there?")));
        let Value::List(keywords) = &m.setting(&["inbound_keywords", "keywords"]).unwrap().value else {
            panic!()
        };
        assert_eq!(keywords.len(), 2);
        let Value::List(fillers) = &m.setting(&["outbound_filler_sentences"]).unwrap().value else {
            panic!()
        };
        let Value::Map(entry) = &fillers[0] else { panic!() };
        assert_eq!(entry[0].key.name, "waiting");
    }

    const SERVICE: &str = r#"start_agent router:
    description: "Routes"
    reasoning:
        instructions: "Pick a tool."
        actions:
            to_billing: @utils.transition to @subagent.billing
                description: "Billing questions"
                available when @variables.verified
            to_legacy: @utils.transition to @topic.legacy

subagent billing:
    label: "Billing"
    description: "Handles billing"
    system:
        instructions: "Only billing."
    actions:
        lookup:
            description: "Looks up an invoice"
            label: "Lookup"
            inputs:
                invoice_id: string
                    description: "The invoice"
                    is_required: True
                page: number = 1
            outputs:
                status: string
                    description: "Its status"
                lines: list[object]
            target: "flow://Lookup_Invoice"
            require_user_confirmation: False
    before_reasoning:
        if @variables.verified is not True:
            transition to @subagent.identity
        run @actions.lookup
            with invoice_id=@variables.invoice_id
            set @variables.status = @outputs.status
    reasoning:
        instructions: ->
            | Help with {!@variables.invoice_id}.
            if @variables.status == "late":
                | Apologise.
            else if @variables.status == "open":
                | Explain.
            else:
                | Thank them.
        actions:
            lookup_invoice: @actions.lookup
                description: "Look it up"
                available when @variables.invoice_id != "" and not @variables.done
                with invoice_id=...
                with page=@variables.page, mode="fast"
                set @variables.status = @outputs.status
                set @variables.done = True
            collect: @utils.setVariables
                with invoice_id=...
            human: @utils.escalate
                description: "Hand off to a person"
                available when @variables.attempts >= 3 or @variables.asked_for_human
    after_reasoning:
        set @variables.turns = @variables.turns + 1

topic legacy:
    description: "The old way"
"#;

    #[test]
    fn agents_keep_their_kind_name_and_order() {
        let s = ok(SERVICE);
        let kinds: Vec<(AgentKind, &str, Pos)> =
            s.agents.iter().map(|a| (a.kind, a.name.name.as_str(), a.pos)).collect();
        assert_eq!(
            kinds,
            vec![
                (AgentKind::StartAgent, "router", pos(1, 1)),
                (AgentKind::Subagent, "billing", pos(11, 1)),
                (AgentKind::Topic, "legacy", pos(62, 1)),
            ]
        );
        assert_eq!(s.start_agent().unwrap().name.pos, pos(1, 13));
        let b = s.agent("billing").unwrap();
        assert_eq!(b.label.as_ref().unwrap().value, "Billing");
        assert_eq!(b.system_instructions.as_ref().unwrap().value, "Only billing.");
    }

    #[test]
    fn action_definitions() {
        let s = ok(SERVICE);
        let b = s.agent("billing").unwrap();
        assert_eq!(b.actions.len(), 1);
        let a = b.action("lookup").unwrap();
        assert_eq!(a.name.pos, pos(17, 9));
        assert_eq!(a.description.as_ref().unwrap().value, "Looks up an invoice");
        assert_eq!(a.target.as_ref().unwrap().value, "flow://Lookup_Invoice");
        let inputs: Vec<(&str, Option<bool>)> = a
            .inputs
            .iter()
            .map(|p| (p.name.name.as_str(), p.is_required.map(|f| f.value)))
            .collect();
        assert_eq!(inputs, vec![("invoice_id", Some(true)), ("page", None)]);
        assert_eq!(a.inputs[0].description.as_ref().unwrap().value, "The invoice");
        assert_eq!(a.inputs[0].is_required.unwrap().pos, pos(23, 34));
        assert_eq!(show(a.inputs[1].default.as_ref().unwrap()), "1");
        assert_eq!(
            a.outputs[1].ty.as_ref().map(|t| (t.name.as_str(), t.list)),
            Some(("object", true))
        );
        assert_eq!(a.unknown[0].key, "require_user_confirmation");
    }

    #[test]
    fn procedures_hold_statements() {
        let s = ok(SERVICE);
        let b = s.agent("billing").unwrap();
        let before = b.before_reasoning.as_ref().unwrap();
        assert!(!before.arrow);
        let Stmt::If(i) = &before.body[0] else { panic!() };
        assert_eq!(show(&i.cond), "(IsNot @variables.verified True)");
        let Stmt::Transition(t) = &i.then[0] else { panic!() };
        assert_eq!((t.to.reference(), t.pos), (Some(("subagent", "identity")), pos(33, 13)));
        let Stmt::Run(r) = &before.body[1] else { panic!() };
        assert_eq!((r.target.reference(), r.pos), (Some(("actions", "lookup")), pos(34, 9)));
        assert_eq!(r.with[0].param.name, "invoice_id");
        assert_eq!(show(&r.with[0].value), "@variables.invoice_id");
        let Stmt::Set(set) = &r.then[0] else { panic!() };
        assert_eq!(
            (show(&set.target), show(&set.value)),
            ("@variables.status".into(), "@outputs.status".into())
        );
        let after = b.after_reasoning.as_ref().unwrap();
        let Stmt::Set(set) = &after.body[0] else { panic!() };
        assert_eq!(show(&set.value), "(Add @variables.turns 1)");
    }

    #[test]
    fn instructions_as_procedure_with_if_else_chain() {
        let s = ok(SERVICE);
        let r = s.agent("billing").unwrap().reasoning.as_ref().unwrap();
        let Some(Instructions::Procedure(p)) = &r.instructions else {
            panic!()
        };
        assert!(p.arrow);
        let Stmt::Template(t) = &p.body[0] else { panic!() };
        assert_eq!(t.value, "Help with {!@variables.invoice_id}.");
        assert_eq!(t.interpolations.len(), 1);
        assert_eq!(t.interpolations[0].pos, pos(39, 27));
        assert_eq!(t.interpolations[0].reference(), Some(("variables", "invoice_id")));
        let Stmt::If(i) = &p.body[1] else { panic!() };
        assert_eq!((i.pos, i.else_pos), (pos(40, 13), Some(pos(42, 13))));
        let Stmt::If(elif) = &i.orelse[0] else { panic!() };
        assert_eq!(show(&elif.cond), r#"(Eq @variables.status "open")"#);
        assert_eq!((elif.pos, elif.else_pos), (pos(42, 13), Some(pos(44, 13))));
        let Stmt::Template(last) = &elif.orelse[0] else {
            panic!()
        };
        assert_eq!(last.value, "Thank them.");
        let router = s.agent("router").unwrap().reasoning.as_ref().unwrap();
        assert!(
            matches!(&router.instructions, Some(Instructions::Text(t)) if t.value == "Pick a tool." && !t.template)
        );
    }

    #[test]
    fn reasoning_bindings() {
        let s = ok(SERVICE);
        let router = s.agent("router").unwrap();
        let go = router.binding("to_billing").unwrap();
        let BindingTarget::Transition(to) = &go.target else {
            panic!()
        };
        assert_eq!(to.reference(), Some(("subagent", "billing")));
        assert_eq!(show(go.available_when.as_ref().unwrap()), "@variables.verified");
        let BindingTarget::Transition(to) = &router.binding("to_legacy").unwrap().target else {
            panic!()
        };
        assert_eq!(to.reference(), Some(("topic", "legacy")));

        let b = s.agent("billing").unwrap();
        let lookup = b.binding("lookup_invoice").unwrap();
        assert_eq!(lookup.name.pos, pos(47, 13));
        assert_eq!(lookup.target_pos, pos(47, 29));
        assert!(matches!(&lookup.target, BindingTarget::Action(a) if a.name == "lookup"));
        assert!(!lookup.escalates());
        let cond = lookup.available_when.as_ref().unwrap();
        assert_eq!(cond.pos, pos(49, 32));
        assert_eq!(
            show(cond),
            r#"(And (Ne @variables.invoice_id "") (Not @variables.done))"#
        );
        let with: Vec<(&str, bool, String)> = lookup
            .with
            .iter()
            .map(|w| (w.param.name.as_str(), w.is_llm_filled(), show(&w.value)))
            .collect();
        assert_eq!(
            with,
            vec![
                ("invoice_id", true, "...".into()),
                ("page", false, "@variables.page".into()),
                ("mode", false, "\"fast\"".into())
            ]
        );
        let sets: Vec<(String, String)> = lookup.sets().map(|s| (show(&s.target), show(&s.value))).collect();
        assert_eq!(
            sets,
            vec![
                ("@variables.status".into(), "@outputs.status".into()),
                ("@variables.done".into(), "True".into())
            ]
        );
        let collect = b.binding("collect").unwrap();
        assert_eq!(collect.target, BindingTarget::SetVariables);
        assert!(collect.with[0].is_llm_filled());
        let human = b.binding("human").unwrap();
        assert!(human.escalates());
        assert_eq!(
            show(human.available_when.as_ref().unwrap()),
            "(Or (Ge @variables.attempts 3) @variables.asked_for_human)"
        );
    }

    #[test]
    fn expressions_follow_python_precedence() {
        assert_eq!(
            condition("@variables.a or @variables.b and not @variables.c == 1"),
            "(Or @variables.a (And @variables.b (Not (Eq @variables.c 1))))"
        );
        assert_eq!(
            condition("(@variables.a or @variables.b) and @variables.c"),
            "(And (Or @variables.a @variables.b) @variables.c)"
        );
        assert_eq!(
            condition("@variables.n + 2 * 3 > 4 - -1"),
            "(Gt (Add @variables.n (Mul 2 3)) (Sub 4 (Neg 1)))"
        );
        assert_eq!(condition("@variables.x is None"), "(Is @variables.x None)");
        assert_eq!(
            condition("@variables.x < 1 and @variables.y <= 2.5"),
            "(And (Lt @variables.x 1) (Le @variables.y 2.5))"
        );
        assert_eq!(
            condition("@outputs.items[0].id != \"\" if @variables.a else False"),
            r#"(if @variables.a (Ne (. ([] @outputs.items 0) id) "") False)"#
        );
        assert_eq!(
            condition("len(@variables.list) > 0"),
            "(Gt (call len @variables.list) 0)"
        );
        assert_eq!(condition("@variables.d == 2025-09-04"), "(Eq @variables.d 2025-09-04)");
        assert_eq!(condition("{\"a\": 1, b: [True, None]}"), "{a:1 b:[True None]}");
        assert_eq!(condition("@variables.x"), "@variables.x");
    }

    #[test]
    fn unknown_keys_and_statements_are_kept_in_order() {
        let s = ok(r#"language:
    default_locale: "en_US"
connected_subagent Billing:
    target: "agentforce://Billing"
subagent a:
    description: "d"
    schema: "node://x"
    before_reasoning:
        collect @variables.email
            message: "Your email?"
        description: "misplaced"
    actions:
        x:
            source: "legacy"
            target: "flow://X"
    reasoning:
        actions:
            go: go to @subagent.b
"#);
        let keys: Vec<(&str, Pos)> = s.unknowns().into_iter().map(|u| (u.key.as_str(), u.pos)).collect();
        assert_eq!(
            keys,
            vec![
                ("language", pos(1, 1)),
                ("connected_subagent Billing", pos(3, 1)),
                ("schema", pos(7, 5)),
                ("collect", pos(9, 9)),
                ("description", pos(11, 9)),
                ("source", pos(14, 13)),
                ("to", pos(18, 20)),
            ]
        );
        let go = s.agents[0].binding("go").unwrap();
        assert!(matches!(&go.target, BindingTarget::Other(e) if e.kind == ExprKind::Name("go".into())));
    }

    #[test]
    fn tabs_quoted_keys_and_keyword_keys() {
        let s = ok(
            "subagent shop:\n\tdescription: \"d\"\n\tactions:\n\t\tfind:\n\t\t\tinputs:\n\t\t\t\t\"siteId\": @variables.siteId\n\t\t\t\t\t\tis_required: True\n\t\t\t\tset: string\n\t\t\ttarget: \"flow://Find\"\n",
        );
        let find = s.agents[0].action("find").unwrap();
        let site = &find.inputs[0];
        assert_eq!((site.name.name.as_str(), site.name.pos), ("siteId", pos(6, 5)));
        assert_eq!(
            (site.ty.as_ref(), site.default.as_ref().map(show)),
            (None, Some("@variables.siteId".into()))
        );
        assert_eq!(site.is_required.map(|f| f.value), Some(true));
        assert_eq!(find.inputs[1].ty.as_ref().map(|t| t.name.as_str()), Some("string"));
        assert_eq!(find.target.as_ref().unwrap().value, "flow://Find");
    }

    #[test]
    fn syntax_errors_are_located() {
        let binding = |line: &str| {
            format!(
                "start_agent a:\n    reasoning:\n        actions:\n            go: @utils.escalate\n                {line}\n"
            )
        };
        assert_eq!(
            error(&binding("available when")),
            "5:31: expected an expression after `available when`, found the end of the line"
        );
        assert_eq!(
            error(&binding("available when @variables.a and")),
            "5:48: expected an expression after `and`, found the end of the line"
        );
        assert_eq!(
            error(&binding("available @variables.a")),
            "5:27: expected `when` after `available`, found `@variables`"
        );
        assert_eq!(
            error(&binding("with x")),
            "5:23: expected `=` after `x` in `with`, found the end of the line"
        );
        assert_eq!(
            error(&binding("description: \"unterminated")),
            "5:30: unterminated string: expected a closing `\"` on the same line"
        );
        assert_eq!(
            error("system:\n    instructions: \"a\"\n  messages:\n"),
            "3:3: inconsistent indentation: this line is indented 2 columns, which matches no open block (they are indented 0 or 4 columns; a tab counts 3)"
        );
        assert_eq!(
            error("system:\n    instructions: \"a\"\n        welcome: \"b\"\n"),
            "3:9: unexpected indented block under `instructions`: it takes a string (\"...\" or `|`) on its line"
        );
        assert_eq!(
            error("config\n    developer_name: \"a\"\n"),
            "1:7: expected `:` after `config`, found the end of the line"
        );
        assert_eq!(
            error("subagent a:\n    before_reasoning:\n        transition @subagent.b\n"),
            "3:20: expected `to` after `transition` (e.g. `transition to @subagent.billing`), found `@subagent`"
        );
        assert_eq!(
            error("subagent a:\n    after_reasoning:\n        if @variables.x\n            set @variables.y = 1\n"),
            "3:24: expected `:` after the condition of `if`, found the end of the line"
        );
        assert_eq!(
            error("subagent a:\n    after_reasoning:\n        else:\n"),
            "3:9: `else` without an `if` before it at the same indentation"
        );
        assert_eq!(
            error("subagent a:\n    after_reasoning:\n        set @variables.y 1\n"),
            "3:26: expected `=` after the variable in `set`, found a number"
        );
        assert_eq!(
            error("subagent a:\n    reasoning:\n        instructions: ->\n            | Hi {! @variables. }\n"),
            "4:33: expected a name after `.`, found `}`"
        );
        assert_eq!(
            error(
                "subagent a:\n    after_reasoning:\n        set @variables.x = 1\n            set @variables.y = 2\n"
            ),
            "4:13: unexpected indentation: this line is indented deeper than the line before, which opens no block"
        );
    }

    #[test]
    fn block_errors_are_all_collected() {
        let all = errors(
            r#"config:
    agent_label: 3
    agent_label: "again"
subagent a:
    description: "d"
    after_reasoning:
        with x=1
        available when True
    actions:
        x: @actions.y
    reasoning:
        actions:
            y:
                description: "no target"
            z: @utils.transition
connections:
    messaging:
        outbound_route_name: "X"
"#,
        );
        assert_eq!(
            all,
            vec![
                "2:18: `agent_label` expects a string (\"...\" or `|`)",
                "3:5: duplicate `agent_label` (first at line 2, column 5)",
                "7:9: `with` belongs under `run` or a reasoning action binding",
                "8:9: `available when` belongs on a reasoning action binding",
                "10:12: action definition `x` expects an indented block (`description:`, `inputs:`, `outputs:`, `target:`); bind actions under `reasoning: actions:`",
                "13:13: expected an action after `y:` (e.g. `@actions.lookup`, `@utils.escalate`, `@utils.transition to @subagent.X`)",
                "15:16: expected `to @subagent.NAME` after `@utils.transition`",
                "16:1: `connections:` is not an Agent Script block: write one `connection SURFACE:` block per surface (e.g. `connection messaging:`); the platform does not compile this file",
            ]
        );
    }

    #[test]
    fn named_blocks_need_their_name() {
        assert_eq!(
            error("subagent:\n    description: \"d\"\n"),
            "1:1: expected a name after `subagent` (e.g. `subagent billing:`)"
        );
        assert_eq!(
            error("config main:\n    description: \"d\"\n"),
            "1:8: `config` takes no name: write `config:`"
        );
        assert_eq!(
            error("if True:\n    x: 1\n"),
            "1:1: expected a top-level block such as `config:`, `variables:` or `subagent NAME:`, found a statement"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let brackets = format!("config:\n    x: {}1{}\n", "(".repeat(70), ")".repeat(70));
        assert_eq!(error(&brackets), "2:72: nesting too deep: more than 64 open brackets");
        let deep = format!("config:\n    x: {}True{}\n", "not (".repeat(40), ")".repeat(40));
        assert!(error(&deep).contains("expression nested too deeply (more than 64 levels)"));
        let nots = format!("config:\n    x: {}True\n", "not ".repeat(100));
        assert!(error(&nots).contains("expression nested too deeply (more than 64 levels)"));
        let chain = format!("config:\n    x: 1{}\n", " + 1".repeat(100));
        assert!(error(&chain).contains("expression nested too deeply"));
        let fine = format!(
            "config:\n    x: {}1{}{}\n",
            "(".repeat(30),
            ")".repeat(30),
            " + 1".repeat(30)
        );
        assert!(parse(Path::new("t"), &fine).is_ok());
    }
}
