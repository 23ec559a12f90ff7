//! Agent Script (`.agent` files, Salesforce Agentforce's authoring
//! language): a parser from text to a syntax tree with positions
//! ([`ast::Script`]). This module owns the syntax only; mapping the tree
//! into the agent model is another phase's.
//!
//! Written from the public language description (the `salesforce/agentscript`
//! SPEC.md and dialect schemas, the compiler's fixtures and their compiled
//! JSON), not from its code.
//!
//! # Grammar
//!
//! ```text
//! file       = { item } ;
//! item       = entry | statement | list_item ;              (one line + its block)
//! entry      = key ":" ( [ colinear ] NEWLINE [ block ]
//!                      | "->" NEWLINE block ) ;
//! key        = name [ name ] ;                              (`subagent billing`)
//! name       = IDENT | STRING ;
//! block      = INDENT { item } DEDENT ;
//! colinear   = template
//!            | ( "mutable" | "linked" ) expr [ "=" expr ]   (variable declaration)
//!            | expr "=" expr                                (input type and default)
//!            | expr [ clause { "," clause } ] ;             (`@utils.transition to @subagent.X`)
//! clause     = "with" param { "," param } | "to" expr ;
//! param      = name "=" expr ;                              (`...` = filled by the model)
//! list_item  = "-" [ colinear | key ":" [ colinear ] ] NEWLINE [ block ] ;
//! statement  = template NEWLINE
//!            | "if" expr ":" NEWLINE block { "else" "if" expr ":" NEWLINE block }
//!              [ "else" ":" NEWLINE block ]
//!            | "run" expr NEWLINE [ block ]
//!            | "set" expr "=" expr NEWLINE
//!            | "with" param { "," param } NEWLINE
//!            | "transition" "to" expr NEWLINE
//!            | "available" "when" expr NEWLINE
//!            | "collect" expr NEWLINE [ block ] ;
//! template   = "|" text, and the following lines indented deeper than the
//!              line of the "|" ; `{! expr }` inside it is an expression ;
//! expr       = or [ "if" or "else" expr ] ;
//! or         = and { "or" and } ;          and = not { "and" not } ;
//! not        = "not" not | comparison ;
//! comparison = sum { ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "is" [ "not" ] ) sum } ;
//! sum        = product { ( "+" | "-" ) product } ;
//! product    = unary { ( "*" | "/" ) unary } ;
//! unary      = ( "-" | "+" | "*" ) unary | postfix ;
//! postfix    = primary { "." IDENT | "[" expr "]" | "(" [ exprs ] ")" } ;
//! primary    = "True" | "False" | "None" | NUMBER | STRING | DATETIME | "..."
//!            | IDENT | "@" IDENT { "." IDENT } | "(" expr ")"
//!            | "[" [ exprs ] "]" | "{" [ name ":" expr { "," name ":" expr } ] "}" ;
//! ```
//!
//! Which keys mean what comes after: the top-level blocks `system`,
//! `config`, `variables`, `connection SURFACE`, `modality KIND`,
//! `start_agent NAME`, `subagent NAME` and `topic NAME` are read into
//! [`ast`] types; under them the fields the tree models are read, the rest
//! are kept as [`ast::Unknown`] (`key`, position) for a later phase to list
//! as "not modelled": top-level `language`, `knowledge`, `model_config`,
//! `access`, `context`, `connected_subagent X`, ...; `label`, `source`,
//! `visibility`, `is_displayable`, `require_user_confirmation`, ... on
//! variables, actions and parameters; a connection's `inputs`,
//! `reasoning`, `response_formats`, ...; `collect` statements and keys
//! inside procedures. A modality keeps all its settings as a nested
//! [`ast::Setting`] tree. Nothing is dropped silently.
//!
//! # Decisions
//!
//! - **Indentation.** Relative, as the specification says: any deeper line
//!   opens a block. A tab counts 3 columns, as the official parser counts
//!   it, so mixed files read as they do on the platform. Where the
//!   official parser takes a line that dedents to between two open blocks
//!   as a sibling of the deeper one, this parser reports "inconsistent
//!   indentation" instead: such a file means something else to a reader
//!   than to the platform. (One of the compiler's edge fixtures,
//!   `edge_conn_customizable.agent`, mixes tab- and space-indented
//!   variables that way, and is refused here.)
//! - **Templates.** A `|` takes the rest of its line and every following
//!   line indented deeper than the line holding it (blank lines included);
//!   `#` there is text. The text is the first line trimmed, then the
//!   following lines less their common indentation.
//! - **Strings** are double-quoted, on one line, with the escapes
//!   `\" \' \\ \n \r \t \0`; another escape is an error.
//! - **`connections:`** (the invalid sample's block, plural, with surfaces
//!   under it) is not in the language: the platform never compiled that
//!   file. A lenient reading would test an agent that cannot exist, so it
//!   is a located error naming the block to write (`connection
//!   messaging:`).
//! - **`default_agent_user: None`** reads as not set.
//! - **Errors.** A syntax error (lexer or base grammar) stops the parse
//!   with one diagnostic; errors in the blocks (a string field given a
//!   number, a duplicate key, `with` outside a `run` or binding, a
//!   variable without `mutable`/`linked`) are all collected. Each names
//!   the file, line and column and what was expected.
//! - **Bounds.** At most [`MAX_DEPTH`] levels of indentation, of open
//!   brackets, and of nesting within one expression (a chain of 64 `and`s
//!   counts as 64), so hostile input can neither overflow the stack nor
//!   make the tree too deep to drop. Parsing is linear in the input.
//! - **Quoting.** Diagnostics may show the offending line, unless the file
//!   does not look like Agent Script at all (no top-level `system:`,
//!   `config:`, `variables:`, `start_agent`, `subagent` or `topic` line):
//!   a suite may name any file, and its errors reach the CI log.

pub mod ast;
pub mod lexer;
pub mod model;
pub mod parser;

use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics};

/// Nesting bound on indentation, brackets and expressions.
pub const MAX_DEPTH: usize = 64;

/// Larger `.agent` files are refused (real ones are a few kilobytes).
pub const MAX_SCRIPT_BYTES: u64 = 16 * 1024 * 1024;

/// Parses the Agent Script in `text`; `path` names it in diagnostics.
/// Reads a `.agent` file into the agent model.
pub fn read(path: &Path) -> Result<crate::agent::AgentSpec, Diagnostics> {
    let script = parse_file(path)?;
    model::to_spec(path, &script)
}

pub fn parse(path: &Path, text: &str) -> Result<ast::Script, Diagnostics> {
    parser::parse(path, text).map_err(|mut d| {
        if !looks_like_agent_script(text) {
            d.0 = d.0.into_iter().map(Diagnostic::unquoted).collect();
        }
        d
    })
}

/// Reads and parses the `.agent` file at `path`: a regular file of at most
/// [`MAX_SCRIPT_BYTES`], in UTF-8.
pub fn parse_file(path: &Path) -> Result<ast::Script, Diagnostics> {
    let text = read_text(path)?;
    parse(path, &text)
}

fn read_text(path: &Path) -> Result<String, Diagnostic> {
    crate::files::read::read_utf8(path, MAX_SCRIPT_BYTES, "Agent Script")
}

/// Whether some line starts a block only Agent Script has.
fn looks_like_agent_script(text: &str) -> bool {
    text.lines().any(|l| {
        let first = l.split([':', ' ']).next().unwrap_or_default();
        matches!(
            first,
            "system" | "config" | "variables" | "start_agent" | "subagent" | "topic"
        ) && l[first.len()..]
            .trim_start()
            .chars()
            .next()
            .is_some_and(|c| c == ':' || c.is_ascii_alphabetic())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_agent_script_is_not_quoted() {
        let d = parse(Path::new("secret.agent"), "password = hunter2\n").unwrap_err();
        assert!(!d.0[0].quote);
        let d = parse(Path::new("a.agent"), "config:\n  x: $\n").unwrap_err();
        assert!(d.0[0].quote);
    }

    #[test]
    fn parse_file_checks_utf8_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.agent");
        std::fs::write(&bad, b"config:\n  x: \"\xff\"\n").unwrap();
        let d = parse_file(&bad).unwrap_err();
        assert_eq!(
            d.to_string(),
            format!(
                "{}:2:7: file is not valid UTF-8: expected UTF-8 encoded Agent Script",
                bad.display()
            )
        );
        let missing = dir.path().join("none.agent");
        let d = parse_file(&missing).unwrap_err();
        assert!(
            d.to_string().ends_with("cannot read file: no such file or directory"),
            "{d}"
        );
        let big = dir.path().join("big.agent");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_SCRIPT_BYTES + 1).unwrap();
        assert!(
            parse_file(&big)
                .unwrap_err()
                .to_string()
                .contains("larger than the limit")
        );
    }
}
