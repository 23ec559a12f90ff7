//! The one check every name a user writes goes through (suite, conversation,
//! tag, property; agent, topic, action, slot, output). Names reach the
//! console, reports and regression files as they are: a line break in a
//! conversation name could forge a `PASS` line, an escape sequence drives
//! the terminal, and a bidirectional control makes a name read as another.
//! Caller lines and agent text are not names: they may hold any character
//! and are escaped where they are printed.

use std::path::Path;

use crate::diag::{Diagnostic, Pos};

/// Whether `c` is unsafe to print as it is: a control character (line
/// breaks and tab included), a noncharacter or a bidirectional control.
pub fn is_unsafe(c: char) -> bool {
    unsafe_kind(c).is_some()
}

/// Why `c` may not appear in a name, if it may not.
fn unsafe_kind(c: char) -> Option<&'static str> {
    let u = c as u32;
    if c.is_control() {
        // Unicode Cc: C0 (with tab and line breaks), DEL and C1.
        Some("the control character")
    } else if (0xFDD0..=0xFDEF).contains(&u) || u & 0xFFFE == 0xFFFE {
        Some("the noncharacter")
    } else if matches!(u, 0x202A..=0x202E | 0x2066..=0x2069 | 0x200E | 0x200F | 0x061C) {
        Some("the bidirectional control")
    } else {
        None
    }
}

/// Checks a name of the given `kind` ("conversation name", "tag", ...)
/// written at `pos`; the error names the first character it cannot hold.
pub(crate) fn check(path: &Path, pos: Pos, kind: &str, name: &str) -> Result<(), Diagnostic> {
    match name.chars().find_map(|c| unsafe_kind(c).map(|why| (c, why))) {
        None => Ok(()),
        Some((c, why)) => Err(Diagnostic::new(
            path,
            pos,
            format!("{kind} contains {why} U+{:04X}: expected printable text", c as u32),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(name: &str) -> Option<String> {
        check(Path::new("a.yaml"), Pos::new(1, 1), "topic name", name)
            .err()
            .map(|d| d.message)
    }

    #[test]
    fn every_class_of_unsafe_character_is_refused() {
        for (c, why) in [
            ('\u{1b}', "control character U+001B"),
            ('\n', "control character U+000A"),
            ('\t', "control character U+0009"),
            ('\u{7f}', "control character U+007F"),
            ('\u{9b}', "control character U+009B"),
            ('\u{fdd0}', "noncharacter U+FDD0"),
            ('\u{fdef}', "noncharacter U+FDEF"),
            ('\u{fffe}', "noncharacter U+FFFE"),
            ('\u{ffff}', "noncharacter U+FFFF"),
            ('\u{1fffe}', "noncharacter U+1FFFE"),
            ('\u{10ffff}', "noncharacter U+10FFFF"),
            ('\u{202e}', "bidirectional control U+202E"),
            ('\u{2066}', "bidirectional control U+2066"),
            ('\u{200f}', "bidirectional control U+200F"),
            ('\u{61c}', "bidirectional control U+061C"),
        ] {
            assert_eq!(
                message(&format!("Bil{c}ling")),
                Some(format!("topic name contains the {why}: expected printable text")),
            );
        }
    }

    #[test]
    fn printable_names_in_any_script_pass() {
        for name in [
            "Case_Management",
            "Rückruf",
            "請求",
            "order #12 (late)",
            "café ☕",
            "\u{fdcf}\u{fdf0}",
        ] {
            assert_eq!(message(name), None, "{name}");
        }
    }
}
