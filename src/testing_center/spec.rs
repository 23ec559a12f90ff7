//! One in-memory model of a Testing Center test definition, whichever of
//! the four forms it came from (legacy spec YAML, AiEvaluationDefinition
//! XML, NGT spec YAML, AiTestingDefinition XML) and whichever way it goes
//! (imported into a suite, or exported from one). It keeps Testing
//! Center's meaning: an expected topic named `Escalation` is still a topic
//! here; only the suite writer turns it into `escalated: true`.

use crate::diag::Pos;

/// The standard escalation topic's name in Testing Center expectations.
pub const ESCALATION_TOPIC: &str = "Escalation";

/// The two spec dialects: the legacy one (`sf agent test create`'s default
/// `testing-center` runner) and NGT (`agentforce-studio`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Legacy,
    Ngt,
}

/// The file form a spec was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    LegacyYaml,
    EvaluationXml,
    NgtYaml,
    TestingXml,
}

impl Form {
    pub fn describe(self) -> &'static str {
        match self {
            Form::LegacyYaml => "legacy test spec YAML",
            Form::EvaluationXml => "AiEvaluationDefinition XML",
            Form::NgtYaml => "NGT test spec YAML",
            Form::TestingXml => "AiTestingDefinition XML",
        }
    }

    pub fn dialect(self) -> Dialect {
        match self {
            Form::LegacyYaml | Form::EvaluationXml => Dialect::Legacy,
            Form::NgtYaml | Form::TestingXml => Dialect::Ngt,
        }
    }
}

/// A value and where it was written (`Pos::FILE` when it was not read from
/// a file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct At<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> At<T> {
    pub fn new(value: T, pos: Pos) -> At<T> {
        At { value, pos }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// A label in practice (spaces occur), not an API name.
    pub name: String,
    pub description: Option<String>,
    /// The agent's API name (its Bot developer name).
    pub subject_name: String,
    pub subject_version: Option<String>,
    pub cases: Vec<Case>,
}

/// One test case: inputs that share the same expectations. Legacy cases
/// and XML test cases have one input; an NGT YAML case may have several,
/// each a test of its own.
#[derive(Clone, Debug, Default)]
pub struct Case {
    /// The case's number as the file gives it, else its 1-based position.
    pub number: String,
    pub inputs: Vec<Input>,
    /// The expectations with a deterministic meaning baton can check.
    pub checks: Vec<Expect>,
    /// The others, kept so that nothing is dropped silently.
    pub kept: Vec<Kept>,
}

#[derive(Clone, Debug, Default)]
pub struct Input {
    pub utterance: At<String>,
    /// Injected earlier turns, in order.
    pub history: Vec<HistoryTurn>,
    /// `contextVariables` as name and value.
    pub context: Vec<(String, String)>,
    /// What the input held that the model does not (unknown XML elements).
    pub kept: Vec<Kept>,
    /// Where the turn came from, when exported from a suite
    /// (`suite :: conversation, turn N`).
    pub origin: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryTurn {
    pub role: Role,
    pub message: String,
    /// The topic an agent turn was in (agent turns only).
    pub topic: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Agent,
}

/// A deterministic expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The topic that handled the utterance (`expectedTopic`,
    /// `topic_sequence_match`, `topic_assertion`).
    Topic(At<String>),
    /// Actions that must be among those invoked: a superset match
    /// (`expectedActions`, `action_sequence_match`, `actions_assertion`).
    Actions(At<Vec<String>>),
}

/// An expectation baton does not check, kept as a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// Its name as written: `expectedOutcome`, `coherence`, `<newElement>`...
    pub name: String,
    pub class: Class,
    /// The expected text or parameters, if any.
    pub detail: Option<String>,
}

/// Why an expectation is not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Judged by an LLM on the deployed agent's words.
    Judged,
    /// Deterministic or numeric, but about what baton's engine does not
    /// model (latency, agent-to-agent handoff, JSONPath into results).
    NotModelled,
    /// A scorer or element this version does not know (a custom scorer,
    /// or a newer one).
    Unknown,
    /// A topic or action expectation without an expected value.
    Empty,
}

impl Class {
    /// How the summary and the comments explain it.
    pub fn why(self) -> &'static str {
        match self {
            Class::Judged => "LLM-judged, not checked by baton",
            Class::NotModelled => "not modelled by baton",
            Class::Unknown => "not known to baton, not checked",
            Class::Empty => "no expected value, so Testing Center fails it; not checked by baton",
        }
    }
}

/// What an expectation or scorer name means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    Topic,
    Actions,
    Other(Class),
}

/// The metrics `sf agent test` knows; all but latency are LLM-judged.
pub const METRICS: &[&str] = &[
    "completeness",
    "coherence",
    "conciseness",
    "factuality",
    "instruction_following",
    "output_latency_milliseconds",
];

/// Classifies an expectation (XML) or scorer (NGT) name; old and new names
/// are both accepted, as the Salesforce CLI does.
pub fn meaning(name: &str) -> Meaning {
    match name {
        "topic_sequence_match" | "topic_assertion" => Meaning::Topic,
        "action_sequence_match" | "actions_assertion" => Meaning::Actions,
        "bot_response_rating" | "output_validation" | "response_match" | "task_resolution" => {
            Meaning::Other(Class::Judged)
        }
        "output_latency_milliseconds" | "agent_handoff_match" | "string_comparison" | "numeric_comparison" => {
            Meaning::Other(Class::NotModelled)
        }
        m if METRICS.contains(&m) => Meaning::Other(Class::Judged),
        _ => Meaning::Other(Class::Unknown),
    }
}

/// The summary's name for a kept expectation: metrics are counted
/// together, as `sf agent test` lists them.
pub fn summary_label(name: &str) -> &str {
    if METRICS.contains(&name) && name != "output_latency_milliseconds" {
        "metrics"
    } else {
        name
    }
}

/// Parses an expected action list: the Python-style `['A','B']` the
/// Salesforce CLI writes, the JSON form `["A","B"]`, bare `[A, B]`, or a
/// single name (NGT allows one action without brackets).
pub fn parse_action_list(text: &str) -> Result<Vec<String>, String> {
    let t = text.trim();
    let Some(inner) = t.strip_prefix('[') else {
        if t.is_empty() {
            return Err("empty action name: expected a name or a list such as ['A','B']".into());
        }
        if t.contains([',', '\'', '"', ']']) {
            return Err(format!("'{t}' is not an action name or a list: expected ['A','B']"));
        }
        return Ok(vec![t.to_string()]);
    };
    let Some(inner) = inner.trim_end().strip_suffix(']') else {
        return Err("the list has no closing ']': expected ['A','B']".into());
    };
    let mut names = Vec::new();
    let mut rest = inner.trim();
    if rest.is_empty() {
        return Ok(names);
    }
    loop {
        let (name, after) = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let body = &rest[1..];
                let end = body
                    .find(q)
                    .ok_or_else(|| format!("unclosed {q} in the list: expected ['A','B']"))?;
                (body[..end].trim(), body[end + 1..].trim_start())
            }
            _ => {
                let end = rest.find(',').unwrap_or(rest.len());
                (rest[..end].trim(), &rest[end..])
            }
        };
        if name.is_empty() || name.contains(['[', ']', '\'', '"']) {
            return Err(format!(
                "'{}' is not an action name: expected a list such as ['A','B']",
                name
            ));
        }
        names.push(name.to_string());
        match after.strip_prefix(',') {
            Some(more) => rest = more.trim_start(),
            None if after.is_empty() => return Ok(names),
            None => return Err(format!("unexpected '{after}' in the list: expected ['A','B']")),
        }
    }
}

/// The list string the Salesforce CLI writes: `['A','B']`.
pub fn action_list_string(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_lists_in_every_form() {
        let v = |s: &str| parse_action_list(s).unwrap();
        assert_eq!(
            v("['Verify_Customer','Get_Order_Status']"),
            ["Verify_Customer", "Get_Order_Status"]
        );
        assert_eq!(v("[ 'A' , \"B\" ]"), ["A", "B"]);
        assert_eq!(v("[A, B]"), ["A", "B"]);
        assert_eq!(v("[]"), Vec::<String>::new());
        assert_eq!(v("  Get_Order_Status "), ["Get_Order_Status"]);
        for bad in ["['A'", "['A',]", "['A' 'B']", "['A", "", "A,B", "[,]"] {
            assert!(parse_action_list(bad).is_err(), "{bad:?} parsed");
        }
        let names = vec!["A".to_string(), "B".to_string()];
        assert_eq!(action_list_string(&names), "['A','B']");
        assert_eq!(parse_action_list(&action_list_string(&names)).unwrap(), names);
        assert_eq!(action_list_string(&[]), "[]");
    }

    #[test]
    fn names_old_and_new() {
        assert_eq!(meaning("topic_assertion"), Meaning::Topic);
        assert_eq!(meaning("actions_assertion"), Meaning::Actions);
        assert_eq!(meaning("output_validation"), Meaning::Other(Class::Judged));
        assert_eq!(meaning("coherence"), Meaning::Other(Class::Judged));
        assert_eq!(
            meaning("output_latency_milliseconds"),
            Meaning::Other(Class::NotModelled)
        );
        assert_eq!(meaning("My_Custom_Scorer"), Meaning::Other(Class::Unknown));
        assert_eq!(summary_label("factuality"), "metrics");
        assert_eq!(
            summary_label("output_latency_milliseconds"),
            "output_latency_milliseconds"
        );
    }
}
