//! Reading Salesforce XML (agent metadata, Testing Center definitions):
//! parsing with a node budget and no DTDs, located errors, and a document
//! that knows its file, the position of every element, and which child
//! elements a reader used, so that the rest can be listed as not modelled
//! rather than dropped silently (metadata grows with every release).

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use roxmltree::{Document, Node, ParsingOptions};

use crate::agent::spec::Src;
use crate::diag::{Diagnostic, LineIndex, Pos};

/// A parsed metadata file.
pub struct Xml<'t> {
    pub file: Arc<Path>,
    pub doc: Document<'t>,
    /// Element paths seen but not read, e.g. `GenAiPlannerBundle/voiceDefinition`.
    unread: RefCell<Vec<(String, Src)>>,
    /// The paths in `unread`, to look up (a hostile file has thousands).
    unread_seen: RefCell<std::collections::HashSet<String>>,
    lines: LineIndex<'t>,
}

/// The largest document read: metadata files are kilobytes; this bounds a
/// hostile one.
const MAX_NODES: u32 = 2_000_000;

impl<'t> Xml<'t> {
    /// Parses `text`; DTDs are refused (no entity expansion).
    pub fn parse(file: &Arc<Path>, text: &'t str) -> Result<Xml<'t>, Diagnostic> {
        let doc = parse_document(file, text)?;
        Ok(Xml {
            file: file.clone(),
            doc,
            unread: RefCell::new(Vec::new()),
            unread_seen: RefCell::new(std::collections::HashSet::new()),
            lines: LineIndex::new(text),
        })
    }

    /// The root element, checked to be `expected`.
    pub fn root(&self, expected: &str) -> Result<Node<'_, 't>, Diagnostic> {
        let root = self.doc.root_element();
        if root.tag_name().name() != expected {
            return Err(self.src(root).error(format!(
                "expected a <{expected}> document, found <{}>",
                root.tag_name().name()
            )));
        }
        Ok(root)
    }

    /// Where `node` starts.
    pub fn src(&self, node: Node<'_, '_>) -> Src {
        Src::new(&self.file, self.lines.pos(node.range().start))
    }

    /// Records the children of `node` that are not among `read`, by their
    /// element path, for `explain`'s list of what was not modelled.
    pub fn note_unread(&self, node: Node<'_, '_>, path: &str, read: &[&str]) {
        let mut unread = self.unread.borrow_mut();
        let mut seen = self.unread_seen.borrow_mut();
        for c in node.children().filter(Node::is_element) {
            let name = c.tag_name().name();
            if !read.contains(&name) {
                let p = format!("{path}/{name}");
                if !seen.contains(&p) {
                    seen.insert(p.clone());
                    unread.push((p, self.src(c)));
                }
            }
        }
    }

    /// The element paths not read, each with its first place.
    pub fn into_unread(self) -> Vec<(String, Src)> {
        self.unread.into_inner()
    }
}

/// Parses an XML document with a node budget and without DTDs (no entity
/// expansion); a malformed one is an error at its position.
pub fn parse_document<'t>(file: &Path, text: &'t str) -> Result<Document<'t>, Diagnostic> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| {
        let p = e.pos();
        Diagnostic::new(
            file,
            Pos::new(p.row.into(), p.col.into()),
            format!("malformed XML: {}", strip_position(&e.to_string())),
        )
    })
}

/// The child elements of `node` named `name`.
pub fn children<'a, 't>(node: Node<'a, 't>, name: &'a str) -> impl Iterator<Item = Node<'a, 't>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The first child element named `name`.
pub fn child<'a, 't>(node: Node<'a, 't>, name: &str) -> Option<Node<'a, 't>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The trimmed text of the first child named `name`, if not empty or nil.
pub fn text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    let c = child(node, name)?;
    let t = c.text()?.trim();
    (!t.is_empty()).then_some(t)
}

/// A boolean child: `true`/`false`; absent means `default`.
pub fn flag(node: Node<'_, '_>, name: &str, default: bool) -> bool {
    match text(node, name) {
        Some(t) => t.eq_ignore_ascii_case("true"),
        None => default,
    }
}

/// roxmltree's messages end with " at ROW:COL", which the diagnostic says.
fn strip_position(message: &str) -> String {
    match message.rfind(" at ") {
        Some(i) if message[i + 4..].chars().all(|c| c.is_ascii_digit() || c == ':') => message[..i].to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_unread_children() {
        let file: Arc<Path> = Arc::from(Path::new("a.xml"));
        let text = "<?xml version=\"1.0\"?>\n<GenAiPlugin>\n    <canEscalate>true</canEscalate>\n    <newThing>x</newThing>\n</GenAiPlugin>\n";
        let xml = Xml::parse(&file, text).unwrap();
        let root = xml.root("GenAiPlugin").unwrap();
        assert!(flag(root, "canEscalate", false));
        assert_eq!(xml.src(child(root, "canEscalate").unwrap()).pos, Pos::new(3, 5));
        xml.note_unread(root, "GenAiPlugin", &["canEscalate"]);
        let unread = xml.into_unread();
        assert_eq!(unread.len(), 1);
        assert_eq!(unread[0].0, "GenAiPlugin/newThing");
        assert_eq!(unread[0].1.pos, Pos::new(4, 5));
    }

    /// 50,000 distinct unknown elements (a hostile bundle) took minutes
    /// (each was compared with every one listed before, and each position
    /// counted from the start of the file); all are listed, in place.
    #[test]
    fn many_unread_elements_take_linear_time() {
        let file: Arc<Path> = Arc::from(Path::new("a.xml"));
        let many: String = (0..50_000).map(|i| format!("<unknown{i}/>\n")).collect();
        let text = format!("<GenAiPlugin>\n{many}<unknown0/></GenAiPlugin>");
        // (Linear time is the point; how fast is for benchmarks, so the
        // test asserts what was read, not a duration.)
        let xml = Xml::parse(&file, &text).unwrap();
        let root = xml.root("GenAiPlugin").unwrap();
        xml.note_unread(root, "GenAiPlugin", &[]);
        let unread = xml.into_unread();
        assert_eq!(unread.len(), 50_000);
        assert_eq!(unread[49_999].1.pos, Pos::new(50_001, 1));
    }

    #[test]
    fn malformed_xml_is_located_and_dtds_are_refused() {
        let file: Arc<Path> = Arc::from(Path::new("a.xml"));
        let e = Xml::parse(&file, "<a>\n  <b></a>").err().unwrap();
        assert_eq!(e.pos.line, 2, "{e}");
        assert!(e.message.starts_with("malformed XML: "), "{e}");
        let bomb = "<!DOCTYPE a [<!ENTITY x \"xx\">]><a>&x;</a>";
        assert!(Xml::parse(&file, bomb).is_err());
        let e = Xml::parse(&file, "<a/>").unwrap().root("GenAiPlugin").err().unwrap();
        assert_eq!(e.message, "expected a <GenAiPlugin> document, found <a>");
    }
}
