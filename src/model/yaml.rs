//! Reading YAML files safely: a size cap, a UTF-8 check that points at the
//! first bad byte, and serde-saphyr budgets so that a hostile document (deep
//! nesting, alias bombs) is refused with an error instead of eating the
//! machine.

use std::path::Path;

use serde::de::{DeserializeOwned, DeserializeSeed};

use crate::diag::{Diagnostic, Pos};

pub use crate::files::MAX_FILE_BYTES;
pub(crate) use crate::files::read::io_reason;

/// Reads a whole regular file as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, Diagnostic> {
    crate::files::read::read_utf8(path, MAX_FILE_BYTES, "YAML")
}

/// Parses one YAML document into `T`, with budgets against hostile input.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str, what: &str) -> Result<T, Diagnostic> {
    check_not_empty(path, text, what)?;
    serde_saphyr::from_str_with_options(text, options(text.len())).map_err(|e| yaml_error(path, &e, what))
}

/// Parses a YAML file through a seed: the caller builds its own structures
/// as the document goes by, so a large suite is never held both as YAML
/// structures and in its compiled form. (Streaming from disk instead of a
/// string would save the text's memory but parses about a quarter slower.)
pub fn parse_file_seed<S, T>(path: &Path, what: &str, seed: S) -> Result<T, Diagnostic>
where
    S: for<'de> DeserializeSeed<'de, Value = T>,
{
    let text = read_text(path)?;
    check_not_empty(path, &text, what)?;
    serde_saphyr::with_deserializer_from_str_with_options(&text, options(text.len()), |de| seed.deserialize(de))
        .map_err(|e| yaml_error(path, &e, what))
}

fn check_not_empty(path: &Path, text: &str, what: &str) -> Result<(), Diagnostic> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(Diagnostic::new(
            path,
            Pos::FILE,
            format!("file is empty: expected {what}"),
        ));
    }
    Ok(())
}

/// The most scalar text a document of `len` bytes may produce. Without
/// aliases it produces at most about its own size; every alias replays its
/// anchor's scalars again, so a 1 MB caller line aliased 300 times made
/// 300 MB of text (and twice that in memory) from a 1 MB file. Twice the
/// file and a megabyte leaves room for aliases as people use them (a list
/// of turns shared by a few conversations) and bounds the rest.
fn max_scalar_bytes(len: usize) -> usize {
    len.saturating_mul(2)
        .saturating_add(1 << 20)
        .min(MAX_FILE_BYTES as usize)
}

fn options(len: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        // Only true and false: YAML 1.1 also reads yes/no/on/off (even
        // quoted) as booleans, so `escalated: "off"` would pass as false.
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: 48,
            max_documents: 1,
            max_anchors: 10_000,
            max_aliases: 10_000,
            max_recorded_anchor_events: 200_000,
            max_events: 200_000_000,
            max_nodes: 100_000_000,
            max_total_scalar_bytes: max_scalar_bytes(len),
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 200_000,
            max_replay_stack_depth: 16,
        },
    }
}

fn yaml_error(path: &Path, err: &serde_saphyr::Error, what: &str) -> Diagnostic {
    let pos = err.location().map_or(Pos::FILE, |l| Pos::new(l.line(), l.column()));
    let mut message = err.without_snippet().to_string();
    // The position is already in the diagnostic's prefix.
    if let Some(i) = message.rfind(" at line ")
        && message[i..].contains(", column ")
    {
        message.truncate(i);
        // "... (defined at line 7, column 20) (used at line 10, column 17)":
        // the parenthesis the position was in goes too.
        if let Some(open) = message.rfind('(')
            && !message[open..].contains(')')
        {
            message.truncate(open);
            message.truncate(message.trim_end().len());
        }
    }
    let mut message = message.replace('`', "'");
    // Strict booleans say "(strict mode expects true/false)".
    if message.starts_with("invalid boolean") {
        message = "invalid boolean: expected true or false".to_string();
    }
    // The library's hint names its own options; say what the author can do.
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
        message = format!("duplicate key '{key}': each key may appear only once in a mapping");
    }
    let message = if message.contains("budget") || message.contains("limit") || message.contains("depth") {
        format!("{message}: the document is too large or too deeply nested for {what}")
    } else {
        message
    };
    Diagnostic::new(path, pos, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Doc {
        #[allow(dead_code)]
        lines: Vec<String>,
    }

    /// One long line and `aliases` aliases of it.
    fn aliased(line_len: usize, aliases: usize) -> String {
        // Anchors enough for the library's alias-to-anchor ratio check.
        let mut s = String::from("anchors: [");
        for i in 0..aliases / 8 + 1 {
            s.push_str(&format!("&a{i} x, "));
        }
        s.push_str("]\nlines:\n  - &big ");
        s.push_str(&"x".repeat(line_len));
        s.push('\n');
        for _ in 0..aliases {
            s.push_str("  - *big\n");
        }
        s
    }

    #[derive(Debug, serde::Deserialize)]
    struct WithAnchors {
        #[allow(dead_code)]
        anchors: Vec<String>,
        #[allow(dead_code)]
        lines: Vec<String>,
    }

    #[test]
    fn aliases_cannot_multiply_a_long_scalar() {
        let text = aliased(1 << 20, 300);
        let e = parse::<WithAnchors>(Path::new("s.yaml"), &text, "a suite").unwrap_err();
        assert!(e.pos.line > 3, "{e}");
        assert!(e.message.contains("too large"), "{e}");
        assert!(e.message.starts_with("budget breached: ScalarBytes"), "{e}");
        assert!(
            e.message
                .contains("(defined at line 3, column 10): the document is too large"),
            "the position of the use is the diagnostic's own, and no half parenthesis is left: {e}"
        );
    }

    #[test]
    fn aliases_as_people_use_them_still_load() {
        parse::<WithAnchors>(Path::new("s.yaml"), &aliased(1 << 10, 500), "a suite").unwrap();
        // And a long scalar written out (not aliased) is read whole.
        let text = format!("lines:\n  - {}\n  - {}\n", "x".repeat(1 << 20), "y".repeat(1 << 20));
        parse::<Doc>(Path::new("s.yaml"), &text, "a suite").unwrap();
    }
}
