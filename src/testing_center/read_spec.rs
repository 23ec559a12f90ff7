//! Reading a Testing Center definition into the [`Spec`] model: which of
//! the four forms a file is, and the two YAML dialects (the XML types are
//! in [`super::read_xml`]). Every problem is a located diagnostic.
//!
//! Detection, as the Salesforce tooling does it: XML by its root element
//! (`AiEvaluationDefinition` or `AiTestingDefinition`); YAML is NGT when
//! its first test case has `inputs` or `scorers`, legacy otherwise.

use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::spec::{At, Case, Class, Expect, Form, HistoryTurn, Input, Kept, Meaning, Role, Spec, meaning};
use crate::diag::{Diagnostic, Diagnostics, Pos};

/// A spec read from a file, with what the reader noticed on the way.
#[derive(Debug)]
pub struct Read {
    pub spec: Spec,
    pub form: Form,
    /// Things read but not modelled that do not belong to a test case
    /// (unknown top-level XML elements).
    pub warnings: Vec<String>,
}

/// Reads the definition at `path`, in whichever form it is.
pub fn read(path: &Path) -> Result<Read, Diagnostics> {
    let text = crate::model::yaml::read_text(path)?;
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with('<') {
        return super::read_xml::read(path, &text);
    }
    let ngt = match serde_saphyr::from_str::<Probe>(&text) {
        Ok(probe) => probe
            .test_cases
            .and_then(|c| c.into_iter().next())
            .is_some_and(|c| c.inputs.is_some() || c.scorers.is_some()),
        // The strict reading below reports the problem where it is; pick
        // the dialect whose keys the text has, so that it is the right one.
        Err(_) => text.lines().any(|l| {
            let key = l.trim_start().trim_start_matches("- ").trim_start();
            key.starts_with("inputs:") || key.starts_with("scorers:")
        }),
    };
    if ngt {
        let raw: NgtFile = crate::model::yaml::parse(path, &text, "an NGT Testing Center spec")?;
        ngt_spec(path, raw).map(|spec| Read {
            spec,
            form: Form::NgtYaml,
            warnings: Vec::new(),
        })
    } else {
        let raw: LegacyFile = crate::model::yaml::parse(path, &text, "a Testing Center spec")?;
        legacy_spec(path, raw).map(|spec| Read {
            spec,
            form: Form::LegacyYaml,
            warnings: Vec::new(),
        })
    }
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "testCases", default)]
    test_cases: Option<Vec<ProbeCase>>,
}

#[derive(Deserialize)]
struct ProbeCase {
    #[serde(default)]
    inputs: Option<IgnoredAny>,
    #[serde(default)]
    scorers: Option<IgnoredAny>,
}

// ---------------------------------------------------------------- the YAML as written

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LegacyFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    subject_type: Option<Spanned<String>>,
    subject_name: Spanned<String>,
    #[serde(default)]
    subject_version: Option<String>,
    test_cases: Spanned<Vec<Spanned<LegacyCase>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LegacyCase {
    utterance: Spanned<String>,
    #[serde(default)]
    expected_topic: Option<Spanned<String>>,
    #[serde(default)]
    expected_actions: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    expected_outcome: Option<String>,
    #[serde(default)]
    context_variables: Vec<ContextVariable>,
    #[serde(default)]
    conversation_history: Vec<Spanned<HistoryEntry>>,
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    custom_evaluations: Vec<CustomEvaluation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextVariable {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryEntry {
    role: Spanned<String>,
    message: String,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    index: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomEvaluation {
    #[serde(default)]
    label: Option<String>,
    name: String,
    #[serde(default)]
    parameters: Vec<Parameter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Parameter {
    name: String,
    value: String,
    #[serde(default)]
    is_reference: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NgtFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    subject_type: Option<Spanned<String>>,
    subject_name: Spanned<String>,
    #[serde(default)]
    subject_version: Option<String>,
    test_cases: Spanned<Vec<Spanned<NgtCase>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NgtCase {
    inputs: Spanned<Vec<Spanned<NgtInput>>>,
    scorers: Spanned<Vec<Scorer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NgtInput {
    utterance: Spanned<String>,
    #[serde(default)]
    context_variables: Vec<ContextVariable>,
    #[serde(default)]
    conversation_history: Vec<Spanned<HistoryEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scorer {
    name: Spanned<String>,
    #[serde(default)]
    expected: Option<Spanned<String>>,
}

// ---------------------------------------------------------------- into the model

fn legacy_spec(path: &Path, raw: LegacyFile) -> Result<Spec, Diagnostics> {
    let mut errs = Diagnostics::default();
    let subject = header(path, &mut errs, raw.subject_type.as_ref(), &raw.subject_name);
    non_empty_list(path, &mut errs, &raw.test_cases, "test case");
    let mut cases = Vec::new();
    for (i, c) in raw.test_cases.value.into_iter().enumerate() {
        let c = c.value;
        let mut case = Case {
            number: (i + 1).to_string(),
            ..Case::default()
        };
        // The order the Salesforce CLI gives them in the XML.
        for e in c.custom_evaluations {
            case.kept.push(custom_evaluation(e));
        }
        if let Some(t) = c.expected_topic {
            case.checks
                .push(Expect::Topic(At::new(t.value.trim().to_string(), Pos::of(&t))));
        }
        if let Some(a) = c.expected_actions {
            let names = a.value.iter().map(|n| n.value.trim().to_string()).collect();
            for n in a.value.iter().filter(|n| n.value.trim().is_empty()) {
                errs.push(Diagnostic::new(
                    path,
                    Pos::of(n),
                    "empty action name in expectedActions",
                ));
            }
            case.checks.push(Expect::Actions(At::new(names, Pos::of(&a))));
        }
        if let Some(o) = c.expected_outcome {
            case.kept.push(Kept {
                name: "expectedOutcome".into(),
                class: Class::Judged,
                detail: Some(o),
            });
        }
        for m in c.metrics {
            let class = match meaning(m.trim()) {
                Meaning::Other(class) => class,
                _ => Class::Unknown,
            };
            case.kept.push(Kept {
                name: m.trim().to_string(),
                class,
                detail: None,
            });
        }
        case.inputs.push(Input {
            utterance: At::new(c.utterance.value.clone(), Pos::of(&c.utterance)),
            history: history(path, &mut errs, c.conversation_history),
            context: c.context_variables.into_iter().map(|v| (v.name, v.value)).collect(),
            ..Input::default()
        });
        cases.push(case);
    }
    errs.into_result(Spec {
        name: raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| subject.clone()),
        description: raw.description,
        subject_name: subject,
        subject_version: raw.subject_version,
        cases,
    })
}

fn ngt_spec(path: &Path, raw: NgtFile) -> Result<Spec, Diagnostics> {
    let mut errs = Diagnostics::default();
    let subject = header(path, &mut errs, raw.subject_type.as_ref(), &raw.subject_name);
    non_empty_list(path, &mut errs, &raw.test_cases, "test case");
    let mut cases = Vec::new();
    for (i, c) in raw.test_cases.value.into_iter().enumerate() {
        let c = c.value;
        non_empty_list(path, &mut errs, &c.inputs, "input");
        non_empty_list(path, &mut errs, &c.scorers, "scorer");
        let mut case = Case {
            number: (i + 1).to_string(),
            ..Case::default()
        };
        for s in c.scorers.value {
            let expected = s.expected.as_ref().map(|e| e.value.trim().to_string());
            scorer(
                path,
                &mut errs,
                &mut case,
                &s.name.value,
                Pos::of(&s.name),
                s.expected.as_ref().map(Pos::of),
                expected,
            );
        }
        for input in c.inputs.value {
            let input = input.value;
            case.inputs.push(Input {
                utterance: At::new(input.utterance.value.clone(), Pos::of(&input.utterance)),
                history: history(path, &mut errs, input.conversation_history),
                context: input.context_variables.into_iter().map(|v| (v.name, v.value)).collect(),
                ..Input::default()
            });
        }
        cases.push(case);
    }
    errs.into_result(Spec {
        name: raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| subject.clone()),
        description: raw.description,
        subject_name: subject,
        subject_version: raw.subject_version,
        cases,
    })
}

/// An XML expectation or an NGT scorer, sorted into checks and kept ones.
/// `at` is where the name is; `value_at` where the expected value is.
pub(super) fn scorer(
    path: &Path,
    errs: &mut Diagnostics,
    case: &mut Case,
    name: &str,
    at: Pos,
    value_at: Option<Pos>,
    expected: Option<String>,
) {
    let name = name.trim();
    let pos = value_at.unwrap_or(at);
    match (meaning(name), expected.filter(|e| !e.is_empty())) {
        (Meaning::Topic, Some(topic)) => case.checks.push(Expect::Topic(At::new(topic, pos))),
        (Meaning::Actions, Some(list)) => match super::spec::parse_action_list(&list) {
            Ok(names) => case.checks.push(Expect::Actions(At::new(names, pos))),
            Err(why) => errs.push(Diagnostic::new(path, pos, format!("{name}: {why}"))),
        },
        (Meaning::Topic | Meaning::Actions, None) => case.kept.push(Kept {
            name: name.to_string(),
            class: Class::Empty,
            detail: None,
        }),
        (Meaning::Other(class), detail) => case.kept.push(Kept {
            name: name.to_string(),
            class,
            detail,
        }),
    }
}

/// The subject: an agent, named.
fn header(path: &Path, errs: &mut Diagnostics, kind: Option<&Spanned<String>>, name: &Spanned<String>) -> String {
    if let Some(k) = kind
        && k.value.trim() != "AGENT"
    {
        errs.push(Diagnostic::new(
            path,
            Pos::of(k),
            format!(
                "subjectType '{}' is not supported: baton tests agents (expected AGENT)",
                k.value.trim()
            ),
        ));
    }
    let subject = name.value.trim();
    if subject.is_empty() {
        errs.push(Diagnostic::new(
            path,
            Pos::of(name),
            "empty subjectName: expected the agent's API name",
        ));
    }
    subject.to_string()
}

fn non_empty_list<T>(path: &Path, errs: &mut Diagnostics, list: &Spanned<Vec<T>>, what: &str) {
    if list.value.is_empty() {
        errs.push(Diagnostic::new(
            path,
            Pos::of(list),
            format!("no {what}s: expected at least one"),
        ));
    }
}

/// The history in order: by `index` when every turn has one.
fn history(path: &Path, errs: &mut Diagnostics, raw: Vec<Spanned<HistoryEntry>>) -> Vec<HistoryTurn> {
    let mut turns: Vec<(Option<u32>, HistoryTurn)> = Vec::new();
    for h in raw {
        let pos = Pos::of(&h);
        let h = h.value;
        let role = match h.role.value.trim() {
            "user" => Role::User,
            "agent" => Role::Agent,
            other => {
                errs.push(Diagnostic::new(
                    path,
                    Pos::of(&h.role),
                    format!("conversationHistory role '{other}': expected user or agent"),
                ));
                continue;
            }
        };
        if role == Role::User && h.topic.is_some() {
            errs.push(Diagnostic::new(
                path,
                pos,
                "a user turn of conversationHistory has a topic: only agent turns do",
            ));
        }
        turns.push((
            h.index,
            HistoryTurn {
                role,
                message: h.message,
                topic: h.topic.map(|t| t.trim().to_string()),
            },
        ));
    }
    order_history(turns)
}

/// Sorts by `index` when every turn has one (stable); otherwise the file's
/// order stands.
pub(super) fn order_history(mut turns: Vec<(Option<u32>, HistoryTurn)>) -> Vec<HistoryTurn> {
    if turns.iter().all(|(i, _)| i.is_some()) {
        turns.sort_by_key(|(i, _)| *i);
    }
    turns.into_iter().map(|(_, t)| t).collect()
}

fn custom_evaluation(e: CustomEvaluation) -> Kept {
    let params: Vec<String> = e
        .parameters
        .iter()
        .map(|p| {
            let reference = if p.is_reference == Some(true) {
                " (reference)"
            } else {
                ""
            };
            format!("{} {:?}{reference}", p.name, p.value)
        })
        .collect();
    let label = e.label.map(|l| format!("{l:?} ")).unwrap_or_default();
    Kept {
        name: "customEvaluations".into(),
        class: Class::NotModelled,
        detail: Some(format!("{label}{}: {}", e.name, params.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Read, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spec.yaml");
        std::fs::write(&path, text).unwrap();
        read(&path).map_err(|mut d| {
            for x in &mut d.0 {
                x.path = "spec.yaml".into();
            }
            d
        })
    }

    #[test]
    fn legacy_with_everything() {
        let r = read_text(
            "name: T\nsubjectType: AGENT\nsubjectName: A\ntestCases:\n  - utterance: hi\n    expectedTopic: Greeting\n    expectedActions: [X, Y]\n    expectedOutcome: says hello\n    metrics: [coherence, output_latency_milliseconds]\n    contextVariables: [{name: RoutableId, value: '0Mw1'}]\n    conversationHistory:\n      - {role: agent, message: hey, topic: Greeting, index: 1}\n      - {role: user, message: yo, index: 0}\n    customEvaluations:\n      - label: name check\n        name: string_comparison\n        parameters:\n          - {name: operator, value: equals, isReference: false}\n          - {name: actual, value: '$.generatedData.topic', isReference: true}\n",
        )
        .unwrap();
        assert_eq!(r.form, Form::LegacyYaml);
        let c = &r.spec.cases[0];
        assert_eq!(c.checks.len(), 2);
        assert_eq!(c.checks[0], Expect::Topic(At::new("Greeting".into(), Pos::new(6, 20))));
        assert_eq!(c.inputs[0].history[0].message, "yo", "sorted by index");
        assert_eq!(
            c.inputs[0].context,
            vec![("RoutableId".to_string(), "0Mw1".to_string())]
        );
        let kept: Vec<&str> = c.kept.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(
            kept,
            [
                "customEvaluations",
                "expectedOutcome",
                "coherence",
                "output_latency_milliseconds"
            ]
        );
        assert_eq!(
            c.kept[0].detail.as_deref(),
            Some("\"name check\" string_comparison: operator \"equals\", actual \"$.generatedData.topic\" (reference)")
        );
    }

    #[test]
    fn ngt_is_told_by_its_shape() {
        let r = read_text(
            "name: N\nsubjectType: AGENT\nsubjectName: A\ntestCases:\n  - inputs:\n      - utterance: a\n      - utterance: b\n    scorers:\n      - name: action_sequence_match\n        expected: \"['X','Y']\"\n      - name: topic_assertion\n        expected: T\n      - name: task_resolution\n      - name: My_Scorer\n        expected: 3\n",
        )
        .unwrap();
        assert_eq!(r.form, Form::NgtYaml);
        let c = &r.spec.cases[0];
        assert_eq!(c.inputs.len(), 2);
        assert_eq!(
            c.checks[0],
            Expect::Actions(At::new(vec!["X".into(), "Y".into()], Pos::new(10, 19)))
        );
        assert_eq!(c.kept[1].class, Class::Unknown);
        assert_eq!(c.kept[1].detail.as_deref(), Some("3"));
    }

    #[test]
    fn located_errors() {
        let e = read_text("subjectName: A\ntestCases:\n  - utterance: a\n    expectedTopics: T\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spec.yaml:4:5: unknown field 'expectedTopics'"),
            "{e}"
        );
        let e = read_text("subjectType: PROMPT\nsubjectName: A\ntestCases: []\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "spec.yaml:1:14: subjectType 'PROMPT' is not supported: baton tests agents (expected AGENT)\nspec.yaml:3:12: no test cases: expected at least one"
        );
        let e = read_text(
            "subjectName: A\ntestCases:\n  - inputs: [{utterance: a}]\n    scorers:\n      - {name: action_sequence_match, expected: \"['X'\"}\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "spec.yaml:5:49: action_sequence_match: the list has no closing ']': expected ['A','B']"
        );
        let e = read_text(
            "subjectName: A\ntestCases:\n  - utterance: a\n    conversationHistory: [{role: bot, message: x}]\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("spec.yaml:4:34: conversationHistory role 'bot'"),
            "{e}"
        );
    }
}
