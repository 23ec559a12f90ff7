//! The one way text reaches a JUnit file: every JUnit report (`baton run`'s
//! and `fuzz`/`verify`'s) is serialized by [`junit_document`], which passes
//! the whole document through [`escape_forbidden`]. A caller line, a suite
//! file name or anything else may hold characters XML 1.0 cannot carry
//! (C0 controls, U+FFFE, U+FFFF); one such character makes the whole file
//! unreadable to a CI server, so each is replaced by a visible escape.

use std::borrow::Cow;

/// XML 1.0's `Char` production: `#x9 | #xA | #xD | [#x20-#xD7FF] |
/// [#xE000-#xFFFD] | [#x10000-#x10FFFF]` (surrogates cannot be a `char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` with every character XML 1.0 forbids replaced by a visible escape:
/// `\x07` for a C0 control (as transcripts write them), `\u{FFFF}` for the
/// rest. Borrowed when there is nothing to replace, as is almost always the
/// case.
pub fn escape_forbidden(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_xml_char(c) {
            out.push(c);
        } else if (c as u32) < 0x20 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:X}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// Text for a field of a JUnit document. quick-junit silently drops C0
/// controls (and ANSI sequences) from what it is given; escaping first
/// keeps them visible in the report instead.
pub fn text(s: &str) -> String {
    escape_forbidden(s).into_owned()
}

/// The serialized JUnit document, guaranteed to hold only XML 1.0
/// characters whatever its fields held. Element and attribute names are
/// quick-junit's own ASCII, so escaping the serialized text touches only
/// content and attribute values.
pub fn junit_document(report: &quick_junit::Report) -> std::io::Result<String> {
    let xml = report.to_string().map_err(std::io::Error::other)?;
    Ok(match escape_forbidden(&xml) {
        Cow::Borrowed(_) => xml,
        Cow::Owned(safe) => safe,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_become_visible_escapes() {
        assert_eq!(escape_forbidden("plain, tab\there\r\n"), "plain, tab\there\r\n");
        assert!(matches!(escape_forbidden("é 𝄞 \u{FFFD}"), Cow::Borrowed(_)));
        assert_eq!(
            escape_forbidden("a\u{7}b\u{0}c\u{1b}[1m\u{FFFE}\u{FFFF}"),
            "a\\x07b\\x00c\\x1b[1m\\u{FFFE}\\u{FFFF}"
        );
    }

    #[test]
    fn the_char_production_at_its_edges() {
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
            '\u{10FFFF}',
        ] {
            assert!(is_xml_char(c), "{c:?}");
        }
        for c in [
            '\u{0}', '\u{8}', '\u{B}', '\u{C}', '\u{E}', '\u{1F}', '\u{FFFE}', '\u{FFFF}',
        ] {
            assert!(!is_xml_char(c), "{c:?}");
        }
    }

    #[test]
    fn a_document_with_forbidden_characters_in_every_field_parses() {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let bad = "x\u{FFFF}y\u{FFFE}z\u{7}";
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(bad).set_type(bad).set_description(bad);
        let mut tc = TestCase::new(bad, status);
        tc.set_classname(bad).set_system_out(bad);
        tc.add_property(("p", bad));
        let mut ts = TestSuite::new(bad);
        ts.add_property(("file", bad));
        ts.add_test_case(tc);
        let mut report = Report::new(bad);
        report.add_test_suite(ts);
        // Without the final pass the document is not XML.
        assert!(roxmltree::Document::parse(&report.to_string().unwrap()).is_err());
        let xml = junit_document(&report).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let name = doc.descendants().find(|n| n.has_tag_name("testcase")).unwrap();
        assert_eq!(name.attribute("name"), Some("x\\u{FFFF}y\\u{FFFE}z"));
    }
}
