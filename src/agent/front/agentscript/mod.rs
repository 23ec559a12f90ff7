//! Agent Script (`.agent` files, Salesforce Agentforce's authoring
//! language). Written from the public language description (the
//! `salesforce/agentscript` SPEC.md and dialect schemas, the compiler's
//! fixtures and their compiled JSON), not from its code.

pub mod lexer;

/// Nesting bound on indentation, brackets and expressions.
pub const MAX_DEPTH: usize = 64;
