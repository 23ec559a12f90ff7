//! Reading the two Testing Center metadata types into the [`Spec`] model:
//! `AiEvaluationDefinition` (legacy: `<expectation>`s) and
//! `AiTestingDefinition` (NGT: `<scorer>`s). Text is trimmed (formatters
//! wrap long elements); DTDs are refused. Elements this version does not
//! know are kept: inside a test case as comments, at the top as warnings.

use std::path::Path;

use roxmltree::Node;

use super::read_spec::{Read, order_history, scorer};
use super::spec::{Case, Class, Form, HistoryTurn, Input, Kept, Role, Spec};
use crate::diag::{Diagnostic, Diagnostics, LineIndex, Pos};

struct Xml<'a, 't> {
    path: &'a Path,
    lines: LineIndex<'t>,
    errs: Diagnostics,
}

pub(super) fn read(path: &Path, source: &str) -> Result<Read, Diagnostics> {
    let doc = crate::xml::parse_document(path, source)?;
    let mut x = Xml {
        path,
        lines: LineIndex::new(source),
        errs: Diagnostics::default(),
    };
    let root = doc.root_element();
    let form = match root.tag_name().name() {
        "AiEvaluationDefinition" => Form::EvaluationXml,
        "AiTestingDefinition" => Form::TestingXml,
        other => {
            return Err(x
                .error(
                    root,
                    format!("expected an <AiEvaluationDefinition> or <AiTestingDefinition> document, found <{other}>"),
                )
                .into());
        }
    };
    let mut warnings = Vec::new();
    let mut spec = Spec::default();
    let mut subject = None;
    for c in elements(root) {
        match c.tag_name().name() {
            "name" => spec.name = text(c),
            "description" => spec.description = Some(text(c)),
            "subjectName" => subject = Some(c),
            "subjectType" => {
                let t = text(c);
                if t != "AGENT" {
                    let e = x.error(
                        c,
                        format!("subjectType '{t}' is not supported: baton tests agents (expected AGENT)"),
                    );
                    x.errs.push(e);
                }
            }
            "subjectVersion" => spec.subject_version = Some(text(c)),
            "testCase" => {
                let n = spec.cases.len() + 1;
                let case = x.case(c, form, n);
                spec.cases.push(case);
            }
            other => warnings.push(
                x.error(c, format!("<{other}> is not read by baton; it is left out"))
                    .to_string(),
            ),
        }
    }
    match subject.map(|s| (s, text(s))) {
        Some((_, s)) if !s.is_empty() => spec.subject_name = s,
        Some((node, _)) => {
            let e = x.error(node, "empty <subjectName>: expected the agent's API name");
            x.errs.push(e);
        }
        None => {
            let e = x.error(root, "no <subjectName>: expected the agent's API name");
            x.errs.push(e);
        }
    }
    if spec.cases.is_empty() {
        let e = x.error(root, "no <testCase>: expected at least one");
        x.errs.push(e);
    }
    if spec.name.trim().is_empty() {
        spec.name = spec.subject_name.clone();
    }
    x.errs.into_result(Read { spec, form, warnings })
}

impl Xml<'_, '_> {
    fn pos(&self, node: Node<'_, '_>) -> Pos {
        self.lines.pos(node.range().start)
    }

    fn error(&self, node: Node<'_, '_>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.path, self.pos(node), message)
    }

    fn case(&mut self, node: Node<'_, '_>, form: Form, position: usize) -> Case {
        let mut case = Case {
            number: position.to_string(),
            ..Case::default()
        };
        let scorer_tag = match form {
            Form::TestingXml => "scorer",
            _ => "expectation",
        };
        for c in elements(node) {
            match c.tag_name().name() {
                "number" => {
                    let n = text(c);
                    if n.parse::<u32>().is_ok() {
                        case.number = n;
                    } else {
                        let e = self.error(c, format!("<number> '{n}' is not a whole number"));
                        self.errs.push(e);
                    }
                }
                "inputs" => {
                    let input = self.input(c);
                    case.inputs.push(input);
                }
                tag if tag == scorer_tag => self.expectation(c, &mut case),
                other => case.kept.push(unknown_element(other, c)),
            }
        }
        if case.inputs.is_empty() {
            let e = self.error(node, "<testCase> has no <inputs>: expected one with an <utterance>");
            self.errs.push(e);
        }
        case
    }

    fn expectation(&mut self, node: Node<'_, '_>, case: &mut Case) {
        let Some(name) = child(node, "name") else {
            let e = self.error(node, format!("<{}> has no <name>", node.tag_name().name()));
            self.errs.push(e);
            return;
        };
        let params: Vec<String> = elements(node)
            .filter(|c| c.tag_name().name() == "parameter")
            .map(|p| {
                let field = |n: &str| child(p, n).map(text).unwrap_or_default();
                let reference = if field("isReference") == "true" {
                    " (reference)"
                } else {
                    ""
                };
                format!("{} {:?}{reference}", field("name"), field("value"))
            })
            .collect();
        let value = child(node, "expectedValue");
        let name_text = text(name);
        if !params.is_empty() {
            // A custom evaluation: a comparison on a JSONPath into the results.
            let label = child(node, "label")
                .map(|l| format!("{:?} ", text(l)))
                .unwrap_or_default();
            case.kept.push(Kept {
                name: "customEvaluations".into(),
                class: Class::NotModelled,
                detail: Some(format!("{label}{name_text}: {}", params.join(", "))),
            });
            return;
        }
        let (name_pos, value_pos) = (self.pos(name), value.map(|v| self.pos(v)));
        let path = self.path;
        scorer(
            path,
            &mut self.errs,
            case,
            &name_text,
            name_pos,
            value_pos,
            value.map(text),
        );
    }

    fn input(&mut self, node: Node<'_, '_>) -> Input {
        let mut input = Input::default();
        let mut history = Vec::new();
        let mut utterance = None;
        for c in elements(node) {
            match c.tag_name().name() {
                "utterance" => utterance = Some(c),
                "contextVariable" => {
                    let field = |n: &str| child(c, n).map(text).unwrap_or_default();
                    input.context.push((field("variableName"), field("variableValue")));
                }
                "conversationHistory" => {
                    let field = |n: &str| child(c, n).map(text);
                    let role = match field("role").as_deref() {
                        Some("user") => Role::User,
                        Some("agent") => Role::Agent,
                        other => {
                            let e = self.error(
                                c,
                                format!(
                                    "conversationHistory role '{}': expected user or agent",
                                    other.unwrap_or_default()
                                ),
                            );
                            self.errs.push(e);
                            continue;
                        }
                    };
                    let index = field("index").and_then(|i| i.parse::<u32>().ok());
                    let message = field("message").unwrap_or_default();
                    let topic = field("topic").filter(|t| !t.is_empty());
                    history.push((index, HistoryTurn { role, message, topic }));
                }
                other => input.kept.push(unknown_element(other, c)),
            }
        }
        input.history = order_history(history);
        match utterance {
            Some(u) => input.utterance = super::spec::At::new(text(u), self.pos(u)),
            None => {
                let e = self.error(node, "<inputs> has no <utterance>");
                self.errs.push(e);
            }
        }
        input
    }
}

fn elements<'a, 't>(node: Node<'a, 't>) -> impl Iterator<Item = Node<'a, 't>> {
    node.children().filter(Node::is_element)
}

fn child<'a, 't>(node: Node<'a, 't>, name: &str) -> Option<Node<'a, 't>> {
    elements(node).find(|c| c.tag_name().name() == name)
}

/// The element's text (entities decoded, CDATA included), trimmed.
fn text(node: Node<'_, '_>) -> String {
    let mut s = String::new();
    for t in node.descendants().filter(Node::is_text) {
        s.push_str(t.text().unwrap_or_default());
    }
    s.trim().to_string()
}

fn unknown_element(name: &str, node: Node<'_, '_>) -> Kept {
    let t = text(node);
    Kept {
        name: format!("<{name}>"),
        class: Class::Unknown,
        detail: (!t.is_empty()).then_some(t),
    }
}
