//! References from suites to their agent (actions, slots, topics) resolved
//! with file:line:col errors and a did-you-mean, and the sections built
//! from them: declared properties and pinned engine choices (`choose:`).

use std::path::Path;

use serde_saphyr::Spanned;

use super::agent::Agent;
use super::build::unknown;
use super::property::{Origin, Property, PropertyKind, Requires};
use super::raw;
use super::suite::Choice;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::policy::{ActionId, SlotId, TopicId};

pub(super) fn choice(path: &Path, errs: &mut Diagnostics, agent: &Agent, ch: &raw::ChooseSection) -> Choice {
    let topic = ch.topic.as_ref().and_then(|t| topic_id(path, errs, agent, t));
    let fail = action_refs(path, errs, agent, &ch.fail);
    let succeed = action_refs(path, errs, agent, &ch.succeed);
    for name in &ch.succeed {
        if agent.action_id(&name.value).is_some_and(|id| fail.contains(&id)) {
            errs.push(Diagnostic::new(
                path,
                Pos::of(name),
                format!(
                    "action '{}' is in both `fail` and `succeed`: expected one outcome per turn",
                    name.value
                ),
            ));
        }
    }
    Choice {
        request: ch.request,
        topic,
        fail,
        succeed,
        llm_escalates: ch.llm_escalates,
        llm_calls: action_refs(path, errs, agent, &ch.llm_calls),
    }
}

fn topic_id(path: &Path, errs: &mut Diagnostics, agent: &Agent, t: &Spanned<String>) -> Option<TopicId> {
    let all = agent.topics.iter().map(|t| t.name.as_str());
    lookup(path, errs, t, "topic", agent.topic_id(&t.value), all)
}

/// `createcase`, or `createcase in Case_Management` for a success in that topic.
fn qualified_action(
    path: &Path,
    errs: &mut Diagnostics,
    agent: &Agent,
    a: &Spanned<String>,
) -> Option<(ActionId, Option<TopicId>)> {
    let (name, topic) = match a.value.split_once(" in ") {
        Some((n, t)) => (n.trim(), Some(t.trim())),
        None => (a.value.trim(), None),
    };
    let Some(id) = agent.action_id(name) else {
        errs.push(unknown(
            path,
            a,
            "action",
            name,
            agent.actions.iter().map(|x| x.name.as_str()),
        ));
        return None;
    };
    let topic = match topic {
        None => None,
        Some(t) => match agent.topic_id(t) {
            // Like a guard naming a topic, a requirement no path can meet is
            // a mistake, not a policy.
            Some(tid) if !agent.topics[tid as usize].actions.contains(&id) => {
                errs.push(Diagnostic::new(
                    path,
                    Pos::of(a),
                    format!("'{name} in {t}' can never hold: topic {t} does not list action '{name}' in its `actions`"),
                ));
                return None;
            }
            Some(tid) => Some(tid),
            None => {
                errs.push(unknown(
                    path,
                    a,
                    "topic",
                    t,
                    agent.topics.iter().map(|x| x.name.as_str()),
                ));
                return None;
            }
        },
    };
    Some((id, topic))
}

/// Looks a name up, or reports it (with the closest candidate) and gives `None`.
fn lookup<'a, T>(
    path: &Path,
    errs: &mut Diagnostics,
    at: &Spanned<String>,
    kind: &str,
    found: Option<T>,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Option<T> {
    if found.is_none() {
        errs.push(unknown(path, at, kind, &at.value, candidates));
    }
    found
}

fn action_refs(path: &Path, errs: &mut Diagnostics, agent: &Agent, names: &[Spanned<String>]) -> Vec<ActionId> {
    let all = || agent.actions.iter().map(|x| x.name.as_str());
    names
        .iter()
        .filter_map(|a| lookup(path, errs, a, "action", agent.action_id(&a.value), all()))
        .collect()
}

fn slot_refs(path: &Path, errs: &mut Diagnostics, agent: &Agent, names: &[Spanned<String>]) -> Vec<SlotId> {
    let all = || agent.slots.iter().map(|x| x.name.as_str());
    names
        .iter()
        .filter_map(|s| lookup(path, errs, s, "slot", agent.slot_id(&s.value), all()))
        .collect()
}

/// Resolves the declared properties; each names exactly one kind.
pub(super) fn properties(
    path: &Path,
    errs: &mut Diagnostics,
    agent: &Agent,
    raw: &[raw::PropertySection],
) -> Vec<Property> {
    let mut out: Vec<Property> = Vec::new();
    for p in raw {
        let name = p.name.value.trim();
        if name.is_empty() {
            errs.push(Diagnostic::new(path, Pos::of(&p.name), "empty property name"));
        } else if let Err(d) = super::name::check(path, Pos::of(&p.name), "property name", name) {
            errs.push(d);
        }
        if let Some(first) = out.iter().find(|q| q.name == name) {
            let line = match first.origin {
                Origin::Declared { line } => line,
                Origin::Implied { .. } => 0,
            };
            errs.push(Diagnostic::new(
                path,
                Pos::of(&p.name),
                format!("duplicate property name '{name}' (first at line {line})"),
            ));
        }
        let requires =
            |errs: &mut Diagnostics, actions: &[Spanned<String>], slots: &[Spanned<String>], requested| Requires {
                actions: actions
                    .iter()
                    .filter_map(|a| qualified_action(path, errs, agent, a))
                    .collect(),
                slots: slot_refs(path, errs, agent, slots),
                requested,
                scope: None,
                any: Vec::new(),
                unless: Vec::new(),
            };
        let kinds = [
            p.escalation_requires.as_ref().map(Pos::of),
            p.escalation_reachable.as_ref().map(Pos::of),
            p.action_requires.as_ref().map(Pos::of),
        ];
        let kind = match (kinds.iter().flatten().count(), p) {
            (
                1,
                raw::PropertySection {
                    escalation_requires: Some(r),
                    ..
                },
            ) => {
                let r = &r.value;
                if r.actions.is_empty() && r.slots.is_empty() && !r.requested {
                    errs.push(Diagnostic::new(
                        path,
                        Pos::of(&p.name),
                        format!("property '{name}' requires nothing: expected `actions`, `slots` or `requested: true`"),
                    ));
                }
                let mut req = requires(errs, &r.actions, &r.slots, r.requested);
                req.scope = r.topic.as_ref().and_then(|t| topic_id(path, errs, agent, t));
                PropertyKind::EscalationRequires(req)
            }
            (
                1,
                raw::PropertySection {
                    escalation_reachable: Some(r),
                    ..
                },
            ) => {
                let within = r.value.within.value;
                if !(1..=64).contains(&within) {
                    errs.push(Diagnostic::new(
                        path,
                        Pos::of(&r.value.within),
                        format!("`within: {within}` is out of range: expected 1 to 64 turns"),
                    ));
                }
                PropertyKind::EscalationReachable { within }
            }
            (
                1,
                raw::PropertySection {
                    action_requires: Some(r),
                    ..
                },
            ) => {
                let r = &r.value;
                let action = action_refs(path, errs, agent, std::slice::from_ref(&r.action));
                if r.actions.is_empty() && r.slots.is_empty() {
                    errs.push(Diagnostic::new(
                        path,
                        Pos::of(&r.action),
                        format!("property '{name}' requires nothing: expected `actions` or `slots`"),
                    ));
                }
                PropertyKind::ActionRequires {
                    action: action.first().copied().unwrap_or(0),
                    requires: requires(errs, &r.actions, &r.slots, false),
                }
            }
            (0, _) => {
                errs.push(Diagnostic::new(
                    path,
                    Pos::of(&p.name),
                    format!(
                        "property '{name}' has no kind: expected one of `escalation_requires`, `escalation_reachable`, `action_requires`"
                    ),
                ));
                continue;
            }
            _ => {
                let second = kinds.iter().flatten().nth(1).copied().unwrap_or(Pos::of(&p.name));
                errs.push(Diagnostic::new(
                    path,
                    second,
                    format!("property '{name}' has more than one kind: expected exactly one (write two properties)"),
                ));
                continue;
            }
        };
        out.push(Property {
            name: name.to_string(),
            assumptions: super::property::assumptions(agent, &kind),
            kind,
            origin: Origin::Declared {
                line: p.name.referenced.line() as u32,
            },
        });
    }
    out
}
