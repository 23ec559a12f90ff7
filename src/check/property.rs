//! Safety properties against traces. A property is checked turn by turn
//! from what was true before the turn ([`Before`]: the engine's state in
//! `verify`, a [`Ledger`] replayed from the trace elsewhere) and what the
//! turn recorded, so the same code serves a whole scripted conversation, a
//! generated one, and a single transition of the exhaustive search.

use crate::engine::{Note, State, Trace, Turn};
use crate::model::Agent;
use crate::model::property::Waiver;
use crate::model::property::{Property, PropertyKind, Requires, Route};
use crate::model::raw::HandoffReason;
use crate::nlu::Request;
use crate::policy::{ActionId, Req, SlotId, TopicId};

/// A property that failed, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Index into the suite's properties.
    pub property: usize,
    /// 1-based turn of the offending Escalation or action call.
    pub turn: u32,
    pub missing: Vec<Missing>,
}

/// One requirement that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// None of these held.
    AnyOf(Vec<Req>),
    /// The action had not succeeded (in the topic, when one is named).
    Action(ActionId, Option<TopicId>),
    Slot(SlotId),
    /// The caller had not asked for a human.
    Request,
    /// A cooperative caller was not handed off within this many turns.
    Handoff {
        within: u32,
    },
}

impl Missing {
    pub fn describe(&self, agent: &Agent) -> String {
        match *self {
            Missing::AnyOf(ref any) => format!(
                "none of {} held",
                any.iter()
                    .map(|r| crate::transcript::describe_req(agent, r))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Missing::Action(a, None) => format!("'{}' had not succeeded", agent.actions[a as usize].name),
            Missing::Action(a, Some(t)) => format!(
                "'{}' had not succeeded in topic {}",
                agent.actions[a as usize].name, agent.topics[t as usize].name
            ),
            Missing::Slot(s) => format!("slot '{}' was not filled", agent.slots[s as usize].name),
            Missing::Request => "the caller had not asked for a human".to_string(),
            Missing::Handoff { within } => {
                format!("a cooperative caller is not handed off within {within} turns from here")
            }
        }
    }
}

/// What was true before a turn.
pub trait Before {
    /// The topic the action last succeeded in, if it has.
    fn succeeded_in(&self, action: ActionId) -> Option<TopicId>;
    fn filled(&self, slot: SlotId) -> bool;
    /// Whether the action's latest run failed.
    fn failed(&self, action: ActionId) -> bool;
    /// Whether the caller had said the agent's trigger `i`.
    fn said(&self, i: usize) -> bool;
    /// The agent's counter `i`.
    fn count(&self, i: usize) -> u8;
}

impl Before for State<'_> {
    fn succeeded_in(&self, action: ActionId) -> Option<TopicId> {
        State::succeeded_in(self, action)
    }
    fn filled(&self, slot: SlotId) -> bool {
        State::filled(self, slot)
    }
    fn failed(&self, action: ActionId) -> bool {
        self.failed[action as usize]
    }
    fn said(&self, i: usize) -> bool {
        self.said.get(i).copied().unwrap_or(false)
    }
    fn count(&self, i: usize) -> u8 {
        self.counts.get(i).copied().unwrap_or(0)
    }
}

/// What a trace has established so far, replayed turn by turn.
#[derive(Clone, Debug)]
pub struct Ledger {
    done: Vec<Option<TopicId>>,
    filled: Vec<bool>,
    failed: Vec<bool>,
    said: Vec<bool>,
    counts: Vec<u8>,
}

impl Ledger {
    pub fn new(agent: &Agent) -> Ledger {
        Ledger {
            done: vec![None; agent.actions.len()],
            filled: vec![false; agent.slots.len()],
            failed: vec![false; agent.actions.len()],
            said: vec![false; agent.triggers.len()],
            counts: vec![0; agent.counters.len()],
        }
    }

    /// Back to the start of a conversation, keeping the buffers.
    pub fn reset(&mut self) {
        self.done.iter_mut().for_each(|d| *d = None);
        self.filled.iter_mut().for_each(|f| *f = false);
        self.failed.iter_mut().for_each(|f| *f = false);
        self.said.iter_mut().for_each(|f| *f = false);
        self.counts.iter_mut().for_each(|c| *c = 0);
    }

    /// Takes in what a turn did.
    pub fn apply(&mut self, trace: &Trace<'_>, turn: &Turn) {
        for f in trace.fills(turn) {
            self.filled[f.slot as usize] = true;
        }
        for c in trace.calls(turn) {
            if c.ok {
                self.done[c.action as usize] = Some(c.topic);
            }
            self.failed[c.action as usize] = !c.ok;
        }
        for n in trace.notes(turn) {
            match *n {
                Note::Said { trigger } => self.said[trigger as usize] = true,
                Note::Counted { counter, count } => self.counts[counter as usize] = count,
                _ => {}
            }
        }
    }
}

impl Before for Ledger {
    fn succeeded_in(&self, action: ActionId) -> Option<TopicId> {
        self.done[action as usize]
    }
    fn filled(&self, slot: SlotId) -> bool {
        self.filled[slot as usize]
    }
    fn failed(&self, action: ActionId) -> bool {
        self.failed[action as usize]
    }
    fn said(&self, i: usize) -> bool {
        self.said[i]
    }
    fn count(&self, i: usize) -> u8 {
        self.counts[i]
    }
}

/// Whether any property is a safety property (worth checking turn by turn).
pub fn any_safety(props: &[Property]) -> bool {
    props.iter().any(Property::is_safety)
}

/// Checks every safety property on one turn; calls `f(property, missing)`
/// for each one violated. Nothing is allocated unless a property fails.
pub fn check_turn(
    props: &[Property],
    before: &impl Before,
    trace: &Trace<'_>,
    turn: &Turn,
    mut f: impl FnMut(usize, Vec<Missing>),
) {
    let notes = trace.notes(turn);
    let topic = turn.topic.topic();
    for (pi, p) in props.iter().enumerate() {
        if let PropertyKind::Avoids(route) = p.kind
            && takes(route, trace, turn)
        {
            f(pi, Vec::new());
        }
    }
    for (i, n) in notes.iter().enumerate() {
        let Note::Called(call) = n else { continue };
        for (pi, p) in props.iter().enumerate() {
            if let PropertyKind::ActionRequires { action, requires } = &p.kind
                && *action == call.action
                && requires.scope.is_none_or(|s| topic == Some(s))
                && let Some(missing) = unmet(requires, before, trace, turn, &notes[..i], true)
            {
                f(pi, missing);
            }
        }
    }
    if !turn.handoff {
        return;
    }
    let Some(h) = trace.handoff else { return };
    // The topics in effect: the one that escalated; or, on the default path,
    // the one it left and the one the request was about.
    let scopes = match h.topic {
        Some(t) => [Some(t), None],
        None => notes
            .iter()
            .find_map(|n| match n {
                Note::DefaultPath { from, about } => Some([*from, *about]),
                _ => None,
            })
            .unwrap_or([None, None]),
    };
    let asked = turn.request == Request::Yes || matches!(h.reason, HandoffReason::CallerRequest | HandoffReason::Dtmf);
    for (pi, p) in props.iter().enumerate() {
        if let PropertyKind::EscalationRequires(requires) = &p.kind
            && requires.scope.is_none_or(|s| scopes.contains(&Some(s)))
            && let Some(missing) = unmet(requires, before, trace, turn, notes, asked)
        {
            f(pi, missing);
        }
    }
}

/// Whether a turn takes the route: hands off along it (or, for an agent
/// with no outbound route, tries to); for [`Route::Enters`], has the topic
/// in effect; for [`Route::Transition`], runs the transition.
pub fn takes(route: Route, trace: &Trace<'_>, turn: &Turn) -> bool {
    let notes = trace.notes(turn);
    let has = |want: &dyn Fn(&Note) -> bool| notes.iter().any(want);
    let default_path = || has(&|n| matches!(n, Note::DefaultPath { .. }));
    let silence = || has(&|n| matches!(n, Note::NoInputLimit { .. }));
    let keypad = || has(&|n| matches!(n, Note::Shortcut { digits_escalate: true }));
    match route {
        Route::Enters { topic } => turn.topic.topic() == Some(topic),
        Route::Transition { topic, phase, step } => has(&|n| *n == Note::Proc { topic, phase, step }),
        // Every route below ends in `handoff`, which records a hand-off or
        // notes that there is no route for one.
        _ if !turn.handoff && !has(&|n| matches!(n, Note::NoRoute)) => false,
        Route::DefaultTopic => default_path() && !silence() && !keypad(),
        Route::Silence => default_path() && silence(),
        Route::Keypad => default_path() && keypad(),
        Route::OnFailure { topic, action } => has(&|n| *n == Note::EscalatesOnFailure { topic, action }),
        Route::When { topic, rule } => has(&|n| *n == Note::EscalatesWhen { topic, rule }),
        // The guards' pre-work may have escalated on a failure instead.
        Route::Excepted { topic, rule, when } => {
            has(&|n| *n == Note::GuardExcepted { topic, rule, when })
                && !has(&|n| matches!(n, Note::EscalatesOnFailure { .. }))
        }
    }
}

/// The requirements not met at a point of a turn: `earlier` are the turn's
/// notes before that point.
fn unmet(
    r: &Requires,
    before: &impl Before,
    trace: &Trace<'_>,
    turn: &Turn,
    earlier: &[Note],
    asked: bool,
) -> Option<Vec<Missing>> {
    let action_ok = |a: ActionId, want: Option<TopicId>| {
        // The latest success decides the topic, as in the engine.
        let here = earlier.iter().rev().find_map(|n| match n {
            Note::Called(c) if c.action == a && c.ok => Some(Some(c.topic)),
            _ => None,
        });
        let at = match here {
            Some(t) => t,
            None => before.succeeded_in(a),
        };
        at.is_some() && want.is_none_or(|w| at == Some(w))
    };
    let slot_ok = |s: SlotId| before.filled(s) || trace.fills(turn).iter().any(|f| f.slot == s);
    let req_ok = |q: &Req| match *q {
        Req::Slot(s) => slot_ok(s),
        Req::Action(a, t) => action_ok(a, t),
    };
    let any_ok = r.any.is_empty() || r.any.iter().any(req_ok);
    let ok = r.actions.iter().all(|&(a, t)| action_ok(a, t))
        && r.slots.iter().all(|&s| slot_ok(s))
        && any_ok
        && (asked || !r.requested);
    if ok {
        return None;
    }
    // An exception the guard's instruction grants waives it.
    let waived = r.unless.iter().any(|w| match *w {
        Waiver::Said(i) => {
            before.said(i as usize)
                || earlier
                    .iter()
                    .any(|n| matches!(n, Note::Said { trigger } if *trigger == i))
        }
        Waiver::Failed(a) => earlier
            .iter()
            .rev()
            .find_map(|n| match n {
                Note::Called(c) if c.action == a => Some(!c.ok),
                _ => None,
            })
            .unwrap_or_else(|| before.failed(a)),
        Waiver::Count(i, n) => {
            let now = earlier
                .iter()
                .rev()
                .find_map(|x| match x {
                    Note::Counted { counter, count } if *counter == i => Some(*count),
                    _ => None,
                })
                .unwrap_or_else(|| before.count(i as usize));
            now >= n
        }
        Waiver::SlotEmpty(s) => !slot_ok(s),
    });
    if waived && (asked || !r.requested) {
        return None;
    }
    let mut missing: Vec<Missing> = r
        .actions
        .iter()
        .filter(|&&(a, t)| !action_ok(a, t))
        .map(|&(a, t)| Missing::Action(a, t))
        .collect();
    missing.extend(r.slots.iter().filter(|&&s| !slot_ok(s)).map(|&s| Missing::Slot(s)));
    if !any_ok {
        missing.push(Missing::AnyOf(r.any.clone()));
    }
    if r.requested && !asked {
        missing.push(Missing::Request);
    }
    Some(missing)
}

/// Checks a whole trace: the first violation of each safety property.
pub fn check_trace(props: &[Property], agent: &Agent, trace: &Trace<'_>) -> Vec<Violation> {
    let mut out: Vec<Violation> = Vec::new();
    // Most scripted conversations need no replay: no handoff, and no
    // property that watches action calls.
    let watches_calls = props
        .iter()
        .any(|p| matches!(p.kind, PropertyKind::ActionRequires { .. }));
    if !any_safety(props) || (trace.handoff.is_none() && !watches_calls) {
        return out;
    }
    let mut ledger = Ledger::new(agent);
    for (i, turn) in trace.turns.iter().enumerate() {
        check_turn(props, &ledger, trace, turn, |property, missing| {
            if !out.iter().any(|v| v.property == property) {
                out.push(Violation {
                    property,
                    turn: i as u32 + 1,
                    missing,
                });
            }
        });
        ledger.apply(trace, turn);
    }
    out.sort_by_key(|v| v.property);
    out
}
