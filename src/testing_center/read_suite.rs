//! Reading a loaded baton suite into the [`Spec`] model, for export. Each
//! caller turn that carries an expectation Testing Center can check becomes
//! a test case: the earlier caller turns are its history (user turns only:
//! the deployed agent's replies are not known, and baton's engine replies
//! are a model, not the agent's words), the turn's text its utterance.
//! `topic:` is the expected topic; `escalated: true` without one is the
//! topic its `handoff.topic` names, else the standard Escalation topic;
//! `actions:` and `actions_include:` are the expected actions (a superset
//! match there). The rest is counted, never dropped silently.

use super::spec::{At, Case, ESCALATION_TOPIC, Expect, HistoryTurn, Input, Role, Spec};
use crate::diag::Pos;
use crate::model::agent::NO_TOPIC;
use crate::model::property::Origin;
use crate::model::suite::ActionExpect;
use crate::model::{Check, Event, Suite};

/// What went into the spec and what could not.
#[derive(Debug, Default)]
pub struct ExportSummary {
    /// Conversations that gave at least one test case.
    pub conversations: usize,
    pub cases: usize,
    /// Testing Center expectations written, by name.
    pub written: Vec<(&'static str, usize)>,
    /// Expectations and events with no Testing Center equivalent, by what they are.
    pub left_out: Vec<(&'static str, usize)>,
    /// Where the spec checks less than the suite did.
    pub weaker: Vec<(&'static str, usize)>,
}

fn bump(list: &mut Vec<(&'static str, usize)>, key: &'static str) {
    add(list, key, 1);
}

fn add(list: &mut Vec<(&'static str, usize)>, key: &'static str, n: usize) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, m)) => *m += n,
        None => list.push((key, n)),
    }
}

/// The spec for `suite`.
pub fn read(suite: &Suite) -> (Spec, ExportSummary) {
    let agent = &suite.agent;
    let mut s = ExportSummary::default();
    let mut spec = Spec {
        name: suite.name.clone(),
        description: suite.description.clone(),
        subject_name: agent.name.clone(),
        subject_version: None,
        cases: Vec::new(),
    };
    if suite
        .properties
        .iter()
        .any(|p| matches!(p.origin, Origin::Declared { .. }))
    {
        bump(
            &mut s.left_out,
            "suite with declared properties (checked by run, fuzz and verify)",
        );
    }
    if suite.fixtures.as_ref() != &agent.fixtures {
        bump(&mut s.left_out, "suite with fixtures (action results)");
    }
    for conv in &suite.conversations {
        if conv.skip.is_some() {
            bump(&mut s.left_out, "skipped conversations");
            continue;
        }
        let before = spec.cases.len();
        let mut history: Vec<HistoryTurn> = Vec::new();
        let mut other_events = false;
        for (i, (event, checks)) in conv.events.iter().zip(&conv.expects).enumerate() {
            let text = match event {
                Event::Caller(t) => t,
                Event::Silence | Event::Dtmf(_) | Event::Hangup => {
                    other_events = true;
                    if !checks.is_empty() {
                        bump(&mut s.left_out, "expectations on keypad, silence or hang-up turns");
                    }
                    continue;
                }
            };
            let expects = turn_checks(suite, checks, &mut s);
            if !expects.is_empty() {
                if other_events {
                    bump(
                        &mut s.weaker,
                        "test cases whose history leaves out keypad, silence or hang-up events",
                    );
                }
                spec.cases.push(Case {
                    number: (spec.cases.len() + 1).to_string(),
                    inputs: vec![Input {
                        utterance: At::new(text.to_string(), Pos::FILE),
                        history: history.clone(),
                        origin: Some(format!("{} :: {}, turn {}", suite.name, conv.name, i + 1)),
                        ..Input::default()
                    }],
                    checks: expects,
                    kept: Vec::new(),
                });
            }
            history.push(HistoryTurn {
                role: Role::User,
                message: text.to_string(),
                topic: None,
            });
        }
        if spec.cases.len() == before {
            bump(&mut s.left_out, "conversations with nothing Testing Center can check");
        } else {
            s.conversations += 1;
            if conv.fixtures.is_some() || !conv.choices.is_empty() {
                bump(
                    &mut s.left_out,
                    "conversations with fixtures or choose: (engine settings)",
                );
            }
        }
    }
    s.cases = spec.cases.len();
    (spec, s)
}

/// The Testing Center checks of one caller turn.
fn turn_checks(suite: &Suite, checks: &[Check], s: &mut ExportSummary) -> Vec<Expect> {
    let agent = &suite.agent;
    let name = |a: &ActionExpect| agent.actions[a.action as usize].name.clone();
    let topic = checks.iter().find_map(|c| match c {
        Check::Topic(t) => Some(&**t),
        _ => None,
    });
    let escalated = checks.iter().any(|c| matches!(c, Check::Escalated(true)));
    let handoff_topic = checks.iter().find_map(|c| match c {
        Check::Handoff(h) => h.topic.as_deref(),
        _ => None,
    });
    // Counted only if the turn becomes a test case.
    let mut weaker: Vec<(&'static str, usize)> = Vec::new();
    let mut out = Vec::new();
    match topic {
        Some(t) if t == NO_TOPIC => bump(&mut s.left_out, "topic: none"),
        Some(t) => out.push(Expect::Topic(At::new(t.to_string(), Pos::FILE))),
        // A handoff on this turn: the topic that handed off, when the
        // suite says which; else the standard Escalation topic.
        None if escalated => {
            let t = match handoff_topic {
                Some(t) => t,
                None => {
                    if agent.topics.iter().any(|t| t.can_escalate) {
                        bump(
                            &mut weaker,
                            "escalated: true without topic: or handoff.topic, written as expectedTopic Escalation (a can_escalate topic that hands off itself is not Escalation: add topic: to say so)",
                        );
                    }
                    ESCALATION_TOPIC
                }
            };
            out.push(Expect::Topic(At::new(t.to_string(), Pos::FILE)));
        }
        None => {}
    }
    let mut actions: Option<Vec<String>> = None;
    for c in checks {
        match c {
            Check::Topic(_) | Check::Escalated(true) => {}
            Check::Escalated(false) => bump(&mut s.left_out, "escalated: false"),
            Check::Actions(list) | Check::ActionsInclude(list) => {
                let all = actions.get_or_insert_with(Vec::new);
                if matches!(c, Check::Actions(_)) {
                    bump(
                        &mut weaker,
                        "actions: (exact in baton, a superset match in Testing Center)",
                    );
                }
                for a in list.iter() {
                    if !a.ok {
                        bump(&mut weaker, "failed runs (NAME (failed)) written as plain invocations");
                    }
                    let n = name(a);
                    if !all.contains(&n) {
                        all.push(n);
                    }
                }
            }
            Check::Says(_) => bump(&mut s.left_out, "says"),
            Check::Ended(_) => bump(&mut s.left_out, "ended"),
            Check::Slot(..) => bump(&mut s.left_out, "slots"),
            Check::Handoff(_) => bump(&mut s.left_out, "handoff"),
        }
    }
    match actions {
        // Under a superset match an empty list checks nothing: alone, it
        // would be a test that checks nothing (and, in the legacy runner,
        // one whose empty topic expectation always fails).
        Some(list) if list.is_empty() && out.is_empty() => {
            bump(
                &mut s.left_out,
                "empty action lists with no topic (nothing Testing Center can check)",
            );
        }
        Some(list) => out.push(Expect::Actions(At::new(list, Pos::FILE))),
        None => {}
    }
    if out.is_empty() {
        return out;
    }
    for (k, n) in weaker {
        add(&mut s.weaker, k, n);
    }
    for e in &out {
        bump(
            &mut s.written,
            match e {
                Expect::Topic(t) if t.value == ESCALATION_TOPIC => "expected topic Escalation",
                Expect::Topic(_) => "expected topic",
                Expect::Actions(_) => "expected actions",
            },
        );
    }
    out
}
