//! Tokens of Agent Script, with the indentation turned into `Indent`,
//! `Dedent` and `Newline` tokens (as Python's tokenizer does) and every
//! token carrying its 1-based line and column (in characters).
//!
//! Indentation: a space counts one column and a tab three, as the official
//! parser counts them. A deeper line opens a block (`Indent`); a shallower
//! one closes blocks (`Dedent`s) and must land exactly on the indentation
//! of a block still open, else "inconsistent indentation". Blank lines and
//! comment-only lines do not count. Inside `(`, `[` or `{`, and after a `\`
//! at the end of a line, line breaks and indentation are not significant.
//!
//! A `|` starts a template: the rest of its line and every following line
//! indented deeper than the line holding the `|` (blank lines included),
//! taken as text, `#` included. `{! expr }` inside it is kept as a
//! [`Fragment`] of source for the parser to read as an expression.

use crate::diag::Pos;

use super::MAX_DEPTH;

/// Indentation columns a tab counts for (as in the official parser).
pub const TAB_WIDTH: u32 = 3;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// An identifier or keyword (`if`, `mutable`, `True`, ...): the parser
    /// tells keywords by their text.
    Name(String),
    /// `@name`: the start of a reference (`@variables.x`).
    At(String),
    /// A double-quoted string, escapes decoded.
    Str(String),
    Number(f64),
    /// An ISO 8601 date or date-time literal, as written.
    DateTime(String),
    Template(Template),
    Colon,
    Arrow,
    Assign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Dot,
    Comma,
    Ellipsis,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    /// `-` opening a list item (first on its line, then a blank or the end).
    Dash,
    Newline,
    Indent,
    Dedent,
    Eof,
}

/// A `|` template: its text (first line trimmed, following lines stripped
/// of their common indentation, `{! }` kept as written) and the
/// interpolations in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub text: String,
    pub interpolations: Vec<Fragment>,
}

/// The source of one `{! expr }` interpolation, between `{!` and `}`, and
/// where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Fragment {
    pub source: String,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// A lexical error: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub pos: Pos,
    pub message: String,
}

type Result<T> = std::result::Result<T, LexError>;

fn err<T>(pos: Pos, message: impl Into<String>) -> Result<T> {
    Err(LexError {
        pos,
        message: message.into(),
    })
}

/// Tokenizes a whole script.
pub fn tokenize(text: &str) -> Result<Vec<Token>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let col = text[start..at].chars().count() + 1;
        return err(
            Pos::new(line as u64, col as u64),
            "unexpected NUL character (U+0000): an Agent Script file is text",
        );
    }
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let mut lexer = Lexer {
        lines: &lines,
        tokens: Vec::new(),
        stack: vec![0],
        brackets: Vec::new(),
        continued: false,
        logical_indent: 0,
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

/// Tokenizes the expression of a `{! }` interpolation that starts at
/// `start`: line breaks are blanks here, and the tokens end with `Eof`.
pub fn tokenize_fragment(source: &str, start: Pos) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut brackets = Vec::new();
    let mut end = start;
    for (i, line) in source.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (line_no, col) = if i == 0 {
            (start.line, start.col)
        } else {
            (start.line.saturating_add(i as u32), 1)
        };
        let mut cur = Cursor::new(line, line_no, col, 0);
        while let Some(c) = cur.peek() {
            if c.is_whitespace() {
                cur.bump();
                continue;
            }
            if c == '|' || c == '#' || c == '\\' {
                return err(cur.pos(), format!("unexpected `{c}` in a `{{! }}` interpolation"));
            }
            let pos = cur.pos();
            let tok = scan_token(&mut cur, false, &mut brackets)?;
            tokens.push(Token { tok, pos });
        }
        end = cur.pos();
    }
    // `Eof` stands at the closing `}`.
    tokens.push(Token {
        tok: Tok::Eof,
        pos: end,
    });
    Ok(tokens)
}

struct Lexer<'a> {
    lines: &'a [&'a str],
    tokens: Vec<Token>,
    /// Indentation of the open blocks, outermost (0) first.
    stack: Vec<u32>,
    /// Open brackets and where they were opened.
    brackets: Vec<(char, Pos)>,
    /// The last line ended with `\`: the next one continues it.
    continued: bool,
    /// Indentation of the logical line being read.
    logical_indent: u32,
}

impl Lexer<'_> {
    fn run(&mut self) -> Result<()> {
        let mut i = 0;
        while i < self.lines.len() {
            let line = self.lines[i];
            let line_no = (i + 1) as u32;
            if !self.brackets.is_empty() || self.continued {
                self.continued = false;
                i = self.scan_line(i, 0, false)?;
                continue;
            }
            let (indent, first) = measure(line);
            let rest = &line[first..];
            if rest.trim().is_empty() || rest.starts_with('#') {
                i += 1;
                continue;
            }
            let pos = Pos::new(line_no as u64, (line[..first].chars().count() + 1) as u64);
            self.indent_to(indent, pos)?;
            self.logical_indent = indent;
            i = self.scan_line(i, first, true)?;
        }
        let end = self.end_pos();
        if let Some(&(open, at)) = self.brackets.last() {
            return err(
                at,
                format!(
                    "unclosed `{open}`: expected `{}` before the end of the file",
                    closing(open)
                ),
            );
        }
        if self.continued {
            return err(end, "a `\\` at the end of the file continues no line");
        }
        while self.stack.len() > 1 {
            self.stack.pop();
            self.tokens.push(Token {
                tok: Tok::Dedent,
                pos: end,
            });
        }
        self.tokens.push(Token {
            tok: Tok::Eof,
            pos: end,
        });
        Ok(())
    }

    /// The position just past the last non-blank line.
    fn end_pos(&self) -> Pos {
        let last = self.lines.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(0);
        let len = self.lines.get(last).map_or(0, |l| l.chars().count());
        Pos::new((last + 1) as u64, (len + 1) as u64)
    }

    /// Emits the `Indent` or `Dedent`s a logical line at `indent` starts with.
    fn indent_to(&mut self, indent: u32, pos: Pos) -> Result<()> {
        let top = *self.stack.last().unwrap_or(&0);
        if indent > top {
            if self.stack.len() > MAX_DEPTH {
                return err(
                    pos,
                    format!("nesting too deep: more than {MAX_DEPTH} levels of indentation"),
                );
            }
            self.stack.push(indent);
            self.tokens.push(Token { tok: Tok::Indent, pos });
        } else if indent < top {
            let levels: Vec<String> = self.stack.iter().map(|l| l.to_string()).collect();
            while indent < *self.stack.last().unwrap_or(&0) {
                self.stack.pop();
                self.tokens.push(Token { tok: Tok::Dedent, pos });
            }
            if indent != *self.stack.last().unwrap_or(&0) {
                return err(
                    pos,
                    format!(
                        "inconsistent indentation: this line is indented {indent} columns, which matches no open block (they are indented {} columns; a tab counts {TAB_WIDTH})",
                        or_list(&levels)
                    ),
                );
            }
        }
        Ok(())
    }

    /// Scans line `i` from byte `from`; returns the next line to read (a
    /// template takes the lines it spans).
    fn scan_line(&mut self, i: usize, from: usize, starts_logical_line: bool) -> Result<usize> {
        let line = self.lines[i];
        let col = line[..from].chars().count() as u32 + 1;
        let mut cur = Cursor::new(line, (i + 1) as u32, col, from);
        let mut first = starts_logical_line;
        let mut next = i + 1;
        while let Some(c) = cur.peek() {
            if c == ' ' || c == '\t' || c == '\r' {
                cur.bump();
                continue;
            }
            if c == '#' {
                break;
            }
            if c == '\\' {
                if cur.rest()[1..].trim().is_empty() {
                    self.continued = true;
                    break;
                }
                return err(cur.pos(), "unexpected `\\`: a `\\` continues a line only at its end");
            }
            let pos = cur.pos();
            if c == '|' {
                let (template, after) = self.template(i, cur.byte + 1, pos)?;
                self.tokens.push(Token {
                    tok: Tok::Template(template),
                    pos,
                });
                next = after;
                break;
            }
            if first && c == '-' && cur.peek_nth(1).is_none_or(|n| n == ' ' || n == '\t') {
                cur.bump();
                self.tokens.push(Token { tok: Tok::Dash, pos });
                first = false;
                continue;
            }
            first = false;
            let tok = scan_token(&mut cur, true, &mut self.brackets)?;
            if self.brackets.len() > MAX_DEPTH {
                return err(pos, format!("nesting too deep: more than {MAX_DEPTH} open brackets"));
            }
            self.tokens.push(Token { tok, pos });
        }
        if self.brackets.is_empty() && !self.continued {
            let end = Pos::new((i + 1) as u64, (line.chars().count() + 1) as u64);
            if !matches!(self.tokens.last().map(|t| &t.tok), Some(Tok::Newline) | None) {
                self.tokens.push(Token {
                    tok: Tok::Newline,
                    pos: end,
                });
            }
        }
        Ok(next)
    }

    /// Reads the template whose `|` is on line `i` just before byte `from`;
    /// returns it and the line after it.
    fn template(&self, i: usize, from: usize, bar: Pos) -> Result<(Template, usize)> {
        let base = self.logical_indent;
        let mut last = i;
        let mut k = i + 1;
        while k < self.lines.len() {
            let (indent, first) = measure(self.lines[k]);
            if self.lines[k][first..].trim().is_empty() {
                k += 1;
                continue;
            }
            if indent <= base {
                break;
            }
            last = k;
            k += 1;
        }
        let head = &self.lines[i][from..];
        let body = &self.lines[i + 1..=last];
        let common = body
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| measure(l).0)
            .min()
            .unwrap_or(0);
        let mut out: Vec<&str> = Vec::with_capacity(body.len() + 1);
        if !head.trim().is_empty() {
            out.push(head.trim());
        }
        for l in body {
            out.push(strip_indent(l, common).trim_end());
        }
        while out.last().is_some_and(|l| l.is_empty()) {
            out.pop();
        }
        let text = out.join("\n");
        let from_col = bar.col + 1;
        let interpolations = interpolations(self.lines, i, from, from_col, last)?;
        Ok((Template { text, interpolations }, last + 1))
    }
}

/// Finds the `{! }` interpolations of a template spanning lines
/// `first..=last`, starting at byte `from` (column `from_col`) of the first.
fn interpolations(lines: &[&str], first: usize, from: usize, from_col: u32, last: usize) -> Result<Vec<Fragment>> {
    let mut found = Vec::new();
    // (line index, byte, column) of the next character to look at.
    let mut li = first;
    let mut cur = Cursor::new(lines[first], (first + 1) as u32, from_col, from);
    loop {
        match cur.peek() {
            None => {
                if li == last {
                    return Ok(found);
                }
                li += 1;
                cur = Cursor::new(lines[li], (li + 1) as u32, 1, 0);
            }
            Some('{') if cur.peek_nth(1) == Some('!') => {
                let open = cur.pos();
                cur.bump();
                cur.bump();
                let (fragment, line, next) = interpolation(lines, li, last, cur, open)?;
                found.push(fragment);
                li = line;
                cur = next;
            }
            Some(_) => {
                cur.bump();
            }
        }
    }
}

/// Reads one interpolation whose expression starts at `cur` (just past
/// `{!`, opened at `open`); returns it, and the line and cursor past its `}`.
fn interpolation<'a>(
    lines: &[&'a str],
    mut li: usize,
    last: usize,
    mut cur: Cursor<'a>,
    open: Pos,
) -> Result<(Fragment, usize, Cursor<'a>)> {
    let pos = cur.pos();
    let mut source = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    loop {
        let Some(c) = cur.peek() else {
            if li == last {
                return err(
                    open,
                    "unterminated `{!` interpolation: expected `}` before the end of the template",
                );
            }
            li += 1;
            cur = Cursor::new(lines[li], (li + 1) as u32, 1, 0);
            source.push('\n');
            in_string = false;
            continue;
        };
        cur.bump();
        if in_string {
            if c == '\\' {
                source.push(c);
                if let Some(n) = cur.bump() {
                    source.push(n);
                }
                continue;
            }
            in_string = c != '"';
        } else if c == '"' {
            in_string = true;
        } else if c == '{' {
            depth += 1;
        } else if c == '}' {
            if depth == 0 {
                return Ok((Fragment { source, pos }, li, cur));
            }
            depth -= 1;
        }
        source.push(c);
    }
}

/// Scans one token at `cur` (not a blank, comment, `|`, `-` list dash or
/// line break); `in_file` tells a script line from an interpolation.
fn scan_token(cur: &mut Cursor, in_file: bool, brackets: &mut Vec<(char, Pos)>) -> Result<Tok> {
    let pos = cur.pos();
    let c = cur.peek().unwrap_or(' ');
    let next = cur.peek_nth(1);
    if c.is_ascii_digit() {
        if let Some(dt) = datetime(cur.rest()) {
            for _ in 0..dt.len() {
                cur.bump();
            }
            return Ok(Tok::DateTime(dt.to_string()));
        }
        return Ok(number(cur));
    }
    if c.is_ascii_alphabetic() || c == '_' {
        return Ok(Tok::Name(ident(cur)));
    }
    if c == '"' {
        return string(cur).map(Tok::Str);
    }
    if c == '@' {
        cur.bump();
        if cur.peek().is_some_and(|n| n.is_ascii_alphabetic() || n == '_') {
            return Ok(Tok::At(ident(cur)));
        }
        return err(pos, "expected a name after `@` (e.g. `@variables.name`)");
    }
    let two = |a: char, b: char| c == a && next == Some(b);
    let (tok, len) = if c == '.' && next == Some('.') && cur.peek_nth(2) == Some('.') {
        (Tok::Ellipsis, 3)
    } else if c == '.' && next.is_some_and(|n| n.is_ascii_digit()) {
        return Ok(number(cur));
    } else if two('-', '>') {
        (Tok::Arrow, 2)
    } else if two('=', '=') {
        (Tok::EqEq, 2)
    } else if two('!', '=') {
        (Tok::NotEq, 2)
    } else if two('<', '=') {
        (Tok::Le, 2)
    } else if two('>', '=') {
        (Tok::Ge, 2)
    } else {
        let tok = match c {
            ':' => Tok::Colon,
            '=' => Tok::Assign,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '.' => Tok::Dot,
            ',' => Tok::Comma,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            '!' => return err(pos, "unexpected `!`: write `not` to negate, `!=` to compare"),
            _ if in_file && c == '\u{feff}' => return err(pos, "unexpected byte order mark inside the file"),
            _ => return err(pos, format!("unexpected character `{}`", c.escape_debug())),
        };
        (tok, 1)
    };
    for _ in 0..len {
        cur.bump();
    }
    match tok {
        Tok::LParen | Tok::LBracket | Tok::LBrace => brackets.push((c, pos)),
        Tok::RParen | Tok::RBracket | Tok::RBrace if brackets.last().is_some_and(|&(open, _)| closing(open) == c) => {
            brackets.pop();
        }
        _ => {}
    }
    Ok(tok)
}

fn closing(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

fn ident(cur: &mut Cursor) -> String {
    let start = cur.byte;
    while cur.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
        cur.bump();
    }
    cur.line[start..cur.byte].to_string()
}

/// `\d+\.?\d*` or `\.\d+`.
fn number(cur: &mut Cursor) -> Tok {
    let start = cur.byte;
    let digits = |cur: &mut Cursor| {
        while cur.peek().is_some_and(|c| c.is_ascii_digit()) {
            cur.bump();
        }
    };
    digits(cur);
    if cur.peek() == Some('.') && cur.peek_nth(1) != Some('.') {
        cur.bump();
        digits(cur);
    }
    // Only ASCII digits and at most one dot: always a valid float.
    Tok::Number(cur.line[start..cur.byte].parse().unwrap_or(0.0))
}

/// `YYYY-MM-DD`, optionally `THH[:MM[:SS]][.fff][Z]`, at the start of `s`.
fn datetime(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit);
    if !(digits(0, 4) && b.get(4) == Some(&b'-') && digits(5, 2) && b.get(7) == Some(&b'-') && digits(8, 2)) {
        return None;
    }
    let mut end = 10;
    if b.get(end) == Some(&b'T') && digits(end + 1, 1) {
        end += 2;
        if digits(end, 1) {
            end += 1;
        }
        for _ in 0..2 {
            if b.get(end) == Some(&b':') && digits(end + 1, 2) {
                end += 3;
            }
        }
        if b.get(end) == Some(&b'.') && digits(end + 1, 1) {
            end += 1;
            while digits(end, 1) {
                end += 1;
            }
        }
        if b.get(end) == Some(&b'Z') {
            end += 1;
        }
    }
    Some(&s[..end])
}

/// A double-quoted string on one line; escapes `\" \' \\ \n \r \t \0`.
fn string(cur: &mut Cursor) -> Result<String> {
    let open = cur.pos();
    cur.bump();
    let mut out = String::new();
    loop {
        let Some(c) = cur.bump() else {
            return err(open, "unterminated string: expected a closing `\"` on the same line");
        };
        match c {
            '"' => return Ok(out),
            '\\' => {
                let at = cur.pos();
                let decoded = match cur.bump() {
                    Some('"') => '"',
                    Some('\'') => '\'',
                    Some('\\') => '\\',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('0') => '\0',
                    Some(other) => {
                        return err(
                            at,
                            format!(
                                "unknown escape `\\{}` in a string: expected one of \\\" \\' \\\\ \\n \\r \\t \\0",
                                other.escape_debug()
                            ),
                        );
                    }
                    None => {
                        return err(open, "unterminated string: expected a closing `\"` on the same line");
                    }
                };
                out.push(decoded);
            }
            c => out.push(c),
        }
    }
}

/// Indentation of `line` in columns, and the byte where its text starts.
fn measure(line: &str) -> (u32, usize) {
    let mut cols = 0u32;
    for (i, c) in line.char_indices() {
        match c {
            ' ' => cols = cols.saturating_add(1),
            '\t' => cols = cols.saturating_add(TAB_WIDTH),
            _ => return (cols, i),
        }
    }
    (cols, line.len())
}

/// `line` without its first `cols` columns of indentation.
fn strip_indent(line: &str, cols: u32) -> &str {
    let mut taken = 0u32;
    for (i, c) in line.char_indices() {
        if taken >= cols {
            return &line[i..];
        }
        match c {
            ' ' => taken += 1,
            '\t' => taken += TAB_WIDTH,
            _ => return &line[i..],
        }
    }
    ""
}

/// "0, 3 or 6".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Reads one line, keeping the line and column of the next character.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    line: &'a str,
    line_no: u32,
    byte: usize,
    col: u32,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str, line_no: u32, col: u32, byte: usize) -> Cursor<'a> {
        Cursor {
            line,
            line_no,
            byte,
            col,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line_no,
            col: self.col,
        }
    }

    fn rest(&self) -> &'a str {
        &self.line[self.byte..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.byte += c.len_utf8();
        self.col = self.col.saturating_add(1);
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn name(s: &str) -> Tok {
        Tok::Name(s.to_string())
    }

    fn error(text: &str) -> (Pos, String) {
        let e = tokenize(text).unwrap_err();
        (e.pos, e.message)
    }

    #[test]
    fn blocks_open_and_close_with_indentation() {
        use Tok::*;
        assert_eq!(
            kinds("a:\n    b: 1\n\n    # note\n        # deeper note\nc: 2\n"),
            vec![
                name("a"),
                Colon,
                Newline,
                Indent,
                name("b"),
                Colon,
                Number(1.0),
                Newline,
                Dedent,
                name("c"),
                Colon,
                Number(2.0),
                Newline,
                Eof
            ]
        );
    }

    #[test]
    fn tokens_carry_line_and_column() {
        let toks = tokenize("x:\n   y: @variables.v == \"a\"\n").unwrap();
        let at: Vec<(u32, u32)> = toks.iter().map(|t| (t.pos.line, t.pos.col)).collect();
        assert_eq!(
            at,
            vec![
                (1, 1),
                (1, 2),
                (1, 3),
                (2, 4),
                (2, 4),
                (2, 5),
                (2, 7),
                (2, 17),
                (2, 18),
                (2, 20),
                (2, 23),
                (2, 26),
                (2, 26),
                (2, 26)
            ]
        );
    }

    #[test]
    fn a_dedent_must_land_on_an_open_block() {
        let (pos, message) = error("a:\n    b:\n        c: 1\n      d: 2\n");
        assert_eq!(pos, Pos::new(4, 7));
        assert_eq!(
            message,
            "inconsistent indentation: this line is indented 6 columns, which matches no open block (they are indented 0, 4 or 8 columns; a tab counts 3)"
        );
    }

    #[test]
    fn tabs_count_three_columns() {
        // A tab (3) then three spaces: the same depth.
        assert!(tokenize("a:\n\tb: 1\n   c: 2\n").is_ok());
        let (pos, message) = error("a:\n\t\tb: 1\n    c: 2\n");
        assert_eq!(pos, Pos::new(3, 5));
        assert!(message.starts_with("inconsistent indentation"), "{message}");
    }

    #[test]
    fn templates_take_their_deeper_lines() {
        let toks =
            kinds("x:\n    | Hello {!@variables.n}\n      second line # not a comment\n\n      third\n    y: 1\n");
        let Tok::Template(t) = &toks[4] else { panic!("{toks:?}") };
        assert_eq!(t.text, "Hello {!@variables.n}\nsecond line # not a comment\n\nthird");
        assert_eq!(
            t.interpolations,
            vec![Fragment {
                source: "@variables.n".into(),
                pos: Pos::new(2, 15)
            }]
        );
        assert_eq!(toks[5], Tok::Newline);
        assert_eq!(toks[6], name("y"));
    }

    #[test]
    fn a_bar_after_a_key_starts_a_block_template() {
        let toks = kinds("i:|\n   One\n     Two\nnext: 1\n");
        let Tok::Template(t) = &toks[2] else { panic!("{toks:?}") };
        assert_eq!(t.text, "One\n  Two");
        assert_eq!(toks[4], name("next"));
    }

    #[test]
    fn interpolations_may_span_lines_and_hold_braces() {
        let toks = tokenize("a: | x {! f({}) +\n      \"}\" } y\n").unwrap();
        let Tok::Template(t) = &toks[2].tok else { panic!() };
        assert_eq!(t.interpolations[0].source, " f({}) +\n      \"}\" ");
        let (pos, message) = error("a: | x {! @variables.y\nb: 1\n");
        assert_eq!(pos, Pos::new(1, 8));
        assert_eq!(
            message,
            "unterminated `{!` interpolation: expected `}` before the end of the template"
        );
    }

    #[test]
    fn brackets_join_lines() {
        use Tok::*;
        assert_eq!(
            kinds("a: [1,\n  2,\n      3]\nb: 1\n"),
            vec![
                name("a"),
                Colon,
                LBracket,
                Number(1.0),
                Comma,
                Number(2.0),
                Comma,
                Number(3.0),
                RBracket,
                Newline,
                name("b"),
                Colon,
                Number(1.0),
                Newline,
                Eof
            ]
        );
        let (pos, message) = error("a: (1 +\n2\n");
        assert_eq!(pos, Pos::new(1, 4));
        assert_eq!(message, "unclosed `(`: expected `)` before the end of the file");
    }

    #[test]
    fn strings_decode_escapes_and_end_on_their_line() {
        assert_eq!(kinds(r#"a: "q\"\n\\""#)[2], Tok::Str("q\"\n\\".into()));
        let (pos, message) = error("a:\n  b: \"open\n");
        assert_eq!(pos, Pos::new(2, 6));
        assert_eq!(message, "unterminated string: expected a closing `\"` on the same line");
        let (pos, message) = error("a: \"x\\q\"");
        assert_eq!(pos, Pos::new(1, 7));
        assert!(message.starts_with("unknown escape `\\q`"), "{message}");
    }

    #[test]
    fn operators_numbers_and_literals() {
        use Tok::*;
        assert_eq!(
            kinds("x: a <= .5 != 2. -> ... 2025-09-04T12:01Z @v.w")[2..12],
            [
                name("a"),
                Le,
                Number(0.5),
                NotEq,
                Number(2.0),
                Arrow,
                Ellipsis,
                DateTime("2025-09-04T12:01Z".into()),
                At("v".into()),
                Dot
            ]
        );
    }

    #[test]
    fn list_dashes_only_start_lines() {
        use Tok::*;
        assert_eq!(
            kinds("k:\n  - 1\n  - -2\n")[..12],
            [
                name("k"),
                Colon,
                Newline,
                Indent,
                Dash,
                Number(1.0),
                Newline,
                Dash,
                Minus,
                Number(2.0),
                Newline,
                Dedent
            ]
        );
    }

    #[test]
    fn stray_characters_are_located() {
        assert_eq!(
            error("a: 1 $"),
            (Pos::new(1, 6), "unexpected character `$`".to_string())
        );
        assert_eq!(
            error("a: 1\nb: \0"),
            (
                Pos::new(2, 4),
                "unexpected NUL character (U+0000): an Agent Script file is text".to_string()
            )
        );
        assert_eq!(error("a: @ x").1, "expected a name after `@` (e.g. `@variables.name`)");
    }

    #[test]
    fn deep_indentation_is_refused() {
        let text: String = (0..100).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert!(error(&text).1.starts_with("nesting too deep"));
        let brackets = format!("a: {}", "(".repeat(100));
        assert!(error(&brackets).1.starts_with("nesting too deep"));
    }

    #[test]
    fn crlf_bom_and_continuations() {
        use Tok::*;
        assert_eq!(
            kinds("\u{feff}a: 1 + \\\r\n   2\r\n"),
            vec![name("a"), Colon, Number(1.0), Plus, Number(2.0), Newline, Eof]
        );
    }

    #[test]
    fn fragments_tokenize_on_their_own_positions() {
        let toks = tokenize_fragment(" @variables.x +\n  1 ", Pos::new(7, 12)).unwrap();
        let at: Vec<Pos> = toks.iter().map(|t| t.pos).collect();
        assert_eq!(
            at,
            vec![
                Pos::new(7, 13),
                Pos::new(7, 23),
                Pos::new(7, 24),
                Pos::new(7, 26),
                Pos::new(8, 3),
                Pos::new(8, 5)
            ]
        );
    }
}
