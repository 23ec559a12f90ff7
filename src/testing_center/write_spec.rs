//! Writing a [`Spec`] as a Testing Center spec YAML that `sf agent test
//! create` reads: the legacy dialect (`expectedTopic`, `expectedActions`)
//! or NGT (`inputs` and `scorers`). In NGT, neighbouring test cases with the
//! same expectations share one case with several inputs, as the Salesforce
//! CLI writes them (each input is still a test of its own).

use std::fmt::Write;
use std::path::Path;

use super::spec::{Case, Dialect, Expect, Input, Role, Spec, action_list_string};
use super::{comment, scalar};

/// The spec's text in `dialect`, and how many test cases it has; `source`
/// is the suite it came from.
pub fn write(spec: &Spec, dialect: Dialect, source: &Path) -> (String, usize) {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Written by `baton export testing-center` from {}.",
        comment(&source.display().to_string())
    );
    let runner = match dialect {
        Dialect::Legacy => "",
        Dialect::Ngt => " --test-runner agentforce-studio",
    };
    let _ = writeln!(
        y,
        "# Create the test in an org with `sf agent test create --spec FILE --api-name NAME{runner}`."
    );
    let _ = writeln!(
        y,
        "# Only expected topics and actions carry over. conversationHistory holds the caller's earlier turns only:"
    );
    let _ = writeln!(y, "# baton does not know the deployed agent's replies.");
    let _ = writeln!(y, "name: {}", scalar(&spec.name));
    if let Some(d) = &spec.description {
        let _ = writeln!(y, "description: {}", scalar(d));
    }
    let _ = writeln!(y, "subjectType: AGENT");
    let _ = writeln!(y, "subjectName: {}", scalar(&spec.subject_name));
    if let Some(v) = &spec.subject_version {
        let _ = writeln!(y, "subjectVersion: {}", scalar(v));
    }
    let _ = writeln!(y, "testCases:");
    let mut n = 0;
    match dialect {
        Dialect::Legacy => {
            for case in &spec.cases {
                for input in &case.inputs {
                    legacy_case(&mut y, case, input);
                    n += 1;
                }
            }
        }
        Dialect::Ngt => {
            for case in merge(&spec.cases) {
                ngt_case(&mut y, &case);
                n += 1;
            }
        }
    }
    (y, n)
}

fn origin(y: &mut String, indent: &str, input: &Input) {
    if let Some(o) = &input.origin {
        let _ = writeln!(y, "{indent}# from {}", comment(o));
    }
}

fn legacy_case(y: &mut String, case: &Case, input: &Input) {
    origin(y, "  ", input);
    let _ = writeln!(y, "  - utterance: {}", scalar(&input.utterance.value));
    for check in &case.checks {
        match check {
            Expect::Topic(t) => {
                let _ = writeln!(y, "    expectedTopic: {}", scalar(&t.value));
            }
            Expect::Actions(list) if list.value.is_empty() => {
                let _ = writeln!(y, "    expectedActions: []");
            }
            Expect::Actions(list) => {
                let _ = writeln!(y, "    expectedActions:");
                for a in &list.value {
                    let _ = writeln!(y, "      - {}", scalar(a));
                }
            }
        }
    }
    history(y, "    ", input);
}

fn history(y: &mut String, indent: &str, input: &Input) {
    if input.history.is_empty() {
        return;
    }
    let _ = writeln!(y, "{indent}conversationHistory:");
    for h in &input.history {
        let role = match h.role {
            Role::User => "user",
            Role::Agent => "agent",
        };
        let _ = writeln!(y, "{indent}  - role: {role}");
        if let Some(t) = &h.topic {
            let _ = writeln!(y, "{indent}    topic: {}", scalar(t));
        }
        let _ = writeln!(y, "{indent}    message: {}", scalar(&h.message));
    }
}

fn ngt_case(y: &mut String, case: &Case) {
    let _ = writeln!(y, "  - inputs:");
    for input in &case.inputs {
        origin(y, "      ", input);
        let _ = writeln!(y, "      - utterance: {}", scalar(&input.utterance.value));
        history(y, "        ", input);
    }
    let _ = writeln!(y, "    scorers:");
    for check in &case.checks {
        let (name, expected) = match check {
            Expect::Topic(t) => ("topic_sequence_match", t.value.clone()),
            // One action is written bare, as the Salesforce samples do.
            Expect::Actions(list) if list.value.len() == 1 => ("action_sequence_match", list.value[0].clone()),
            Expect::Actions(list) => ("action_sequence_match", action_list_string(&list.value)),
        };
        let _ = writeln!(y, "      - name: {name}");
        let _ = writeln!(y, "        expected: {}", scalar(&expected));
    }
}

/// Neighbouring cases with the same checks as one case of several inputs.
fn merge(cases: &[Case]) -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    for c in cases {
        match out.last_mut() {
            Some(last) if same_checks(&last.checks, &c.checks) => last.inputs.extend(c.inputs.iter().cloned()),
            _ => out.push(c.clone()),
        }
    }
    out
}

fn same_checks(a: &[Expect], b: &[Expect]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Expect::Topic(x), Expect::Topic(y)) => x.value == y.value,
            (Expect::Actions(x), Expect::Actions(y)) => x.value == y.value,
            _ => false,
        })
}
