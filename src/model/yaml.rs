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
    let bytes = crate::files::read_regular(path, MAX_FILE_BYTES)
        .map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // `valid` is valid UTF-8 by construction, so this never fails.
        let col = std::str::from_utf8(&valid[line_start..]).map_or(1, |s| s.chars().count() + 1);
        Diagnostic::new(
            path,
            Pos::new(line as u64, col as u64),
            "file is not valid UTF-8: expected UTF-8 encoded YAML",
        )
    })
}

/// Parses one YAML document into `T`, with budgets against hostile input.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str, what: &str) -> Result<T, Diagnostic> {
    check_not_empty(path, text, what)?;
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| yaml_error(path, &e, what))
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
    serde_saphyr::with_deserializer_from_str_with_options(&text, options(), |de| seed.deserialize(de))
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

fn options() -> serde_saphyr::Options {
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
            max_total_scalar_bytes: MAX_FILE_BYTES as usize,
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
