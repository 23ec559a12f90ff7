//! Properties: statements of escalation policy that must hold on every
//! path, not just on the scripted ones. A suite declares them (the auditor's
//! policy, written apart from the agent config); the agent's own guards
//! imply more (see [`implied`]). `run` checks them on every conversation,
//! `fuzz` on generated ones, `verify` on all paths up to a depth.

use crate::agent::compiled::Phase;
use crate::model::agent::Agent;
use crate::policy::{ActionId, Req, Rule, SlotId, TopicId, When};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub kind: PropertyKind,
    pub origin: Origin,
    /// What a verdict of HOLDS assumes: clauses of the agent's instructions
    /// that could open a way to a human and that baton did not model
    /// (`"unless ..." never applies`). See [`assumptions`].
    pub assumptions: Vec<String>,
}

/// Where a property comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Declared in the suite, at this line.
    Declared { line: u32 },
    /// Implied by a guard of the agent: topic and rule index.
    Implied { topic: TopicId, rule: u16 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyKind {
    /// Safety: at every Escalation, the requirements hold.
    EscalationRequires(Requires),
    /// Liveness: from every reachable state of a live conversation, a
    /// cooperative caller (asks for a human, answers what is asked) is
    /// handed off within this many turns.
    EscalationReachable { within: u32 },
    /// Safety: every call of `action` comes after the requirements hold.
    ActionRequires { action: ActionId, requires: Requires },
    /// Safety, internal to `explain` (a suite cannot declare it): no turn
    /// takes this route. What breaks it is a caller script that does.
    Avoids(Route),
}

/// A way a turn can hand a caller off without its topic's guards, as
/// `explain` lists them (see [`crate::check::property::takes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// A caller's request handed off through the built-in Escalation topic.
    DefaultTopic,
    /// The no-input limit escalating through the default path.
    Silence,
    /// A keypad shortcut escalating through the default path.
    Keypad,
    /// An instruction of `topic` escalating when `action` fails.
    OnFailure { topic: TopicId, action: ActionId },
    /// Rule `rule` of `topic` escalating on a caller event or a count.
    When { topic: TopicId, rule: u16 },
    /// Exception `when` of guard `rule` of `topic` letting a request
    /// through to a hand-off.
    Excepted { topic: TopicId, rule: u16, when: u16 },
    /// `topic` in effect on a turn: where an instruction baton does not
    /// model could hand off.
    Enters { topic: TopicId },
    /// Step `step` of `topic`'s procedure `phase`, a `transition to`, runs:
    /// the request goes on under the target's rules.
    Transition { topic: TopicId, phase: Phase, step: u32 },
}

/// What must have happened before an Escalation or an action call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requires {
    /// Actions that must have succeeded (in the topic, when one is given).
    pub actions: Vec<(ActionId, Option<TopicId>)>,
    pub slots: Vec<SlotId>,
    /// The caller must have asked for a human (a request, or a keypad
    /// escalation key), as opposed to silence or smart routing.
    pub requested: bool,
    /// Applies only to escalations while this topic is the one in effect:
    /// a topic's guard speaks for that topic (and to calls in this topic,
    /// for a precondition).
    pub scope: Option<TopicId>,
    /// At least one of these must hold, when there are any ("their email
    /// address or their phone number").
    pub any: Vec<Req>,
    /// The requirements are waived when one of these held: the exceptions
    /// the guard's instruction grants.
    pub unless: Vec<Waiver>,
}

/// An exception of a guard, resolved against the agent's triggers and
/// counters so that a check needs nothing but the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiver {
    /// The caller said the agent's trigger.
    Said(u16),
    /// The action's latest run failed.
    Failed(ActionId),
    /// The agent's counter reached the count.
    Count(u16, u8),
    /// The slot is empty.
    SlotEmpty(SlotId),
}

impl Waiver {
    pub fn of(agent: &Agent, w: &When) -> Option<Waiver> {
        Some(match w {
            When::Said(t) => Waiver::Said(agent.trigger_index(t)? as u16),
            When::Failed(a) => Waiver::Failed(*a),
            When::Count(c, n) => Waiver::Count(agent.counter_index(*c)? as u16, *n),
            When::SlotEmpty(s) => Waiver::SlotEmpty(*s),
        })
    }
}

impl Property {
    /// Whether a single bad step refutes it (as opposed to `EscalationReachable`).
    pub fn is_safety(&self) -> bool {
        !matches!(self.kind, PropertyKind::EscalationReachable { .. })
    }

    /// "declared" or "implied by guard Case_Management #2".
    pub fn origin_text(&self, agent: &Agent) -> String {
        match self.origin {
            Origin::Declared { line } => format!("declared at line {line}"),
            Origin::Implied { topic, rule } => {
                let t = &agent.topics[topic as usize];
                let what = match t.rules[rule as usize] {
                    Rule::Precondition { .. } => "precondition",
                    _ => "guard",
                };
                format!("implied by {what} {} #{}", t.name, t.rule_origins[rule as usize])
            }
        }
    }

    /// The verdict of a property no path broke: `HOLDS`, or `HOLDS,
    /// assuming "..." never applies` when it rests on an unmodelled clause.
    pub fn holds_verdict(assumptions: &[String]) -> String {
        if assumptions.is_empty() {
            "HOLDS".to_string()
        } else {
            format!("HOLDS, assuming {}", assumptions.join(", and "))
        }
    }
}

/// The assumptions a verdict on a declared property rests on. A declared
/// `escalation_requires` holds in the engine because of the guards that
/// require what it requires: the guards of `can_escalate` topics (in its
/// `topic`, when it names one) that name one of its slots or actions. If
/// such a topic has an instruction with a clause that could open a way to
/// a human and that baton did not model (an exception in words it cannot
/// read, a condition on some callers, a conditional escalation it could not
/// bind), a HOLDS verdict assumes the clause never applies. Likewise an
/// `action_requires` on the topics whose preconditions on the action name
/// what it requires. Liveness rests on no guard.
pub fn assumptions(agent: &Agent, kind: &PropertyKind) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let overlaps = |any: &[Req], r: &Requires| {
        any.iter().any(|q| match *q {
            Req::Slot(s) => r.slots.contains(&s) || r.any.contains(q),
            Req::Action(a, _) => {
                r.actions.iter().any(|x| x.0 == a) || r.any.iter().any(|y| matches!(y, Req::Action(b, _) if *b == a))
            }
        })
    };
    for (ti, topic) in agent.topics.iter().enumerate() {
        let rests = match kind {
            PropertyKind::EscalationRequires(r) => {
                topic.can_escalate
                    && r.scope.is_none_or(|s| s as usize == ti)
                    && topic.rules.iter().any(|rule| matches!(rule, Rule::Require(g) if overlaps(&g.any, r)))
            }
            PropertyKind::ActionRequires { action, requires } => topic.rules.iter().any(
                |rule| matches!(rule, Rule::Precondition { action: a, requires: q } if a == action && overlaps(q, requires)),
            ),
            PropertyKind::EscalationReachable { .. } | PropertyKind::Avoids(_) => false,
        };
        if rests {
            for a in topic.assumptions() {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// The properties the agent's own guards imply: every guard an author wrote
/// ("only if the user has provided their email", "only after 'createcase'")
/// must hold at every Escalation while its topic is in effect, whatever path
/// the Escalation took: the topic's own handling, the default Escalation
/// topic, a silence timeout, a keypad shortcut, or a topic that lacks
/// `can_escalate` so that its policy never binds. The engine enforces a guard
/// only on the first of those paths; the others are the bugs this catches.
pub fn implied(agent: &Agent) -> Vec<Property> {
    let mut out = Vec::new();
    for (ti, topic) in agent.topics.iter().enumerate() {
        let ti = ti as TopicId;
        for (ri, rule) in topic.rules.iter().enumerate() {
            let mut requires = Requires {
                scope: Some(ti),
                ..Requires::default()
            };
            let what = match rule {
                Rule::Require(g) => {
                    requires.unless = g.unless.iter().filter_map(|w| Waiver::of(agent, w)).collect();
                    match g.any.as_slice() {
                        [one] => requires.add(*one),
                        any => requires.any = any.to_vec(),
                    }
                    "guard"
                }
                Rule::Precondition { requires: q, .. } => {
                    q.iter().for_each(|r| requires.add(*r));
                    "precondition"
                }
                _ => continue,
            };
            let name = format!(
                "{what} {} #{}: {}",
                topic.name,
                topic.rule_origins[ri],
                crate::transcript::describe_rule(agent, rule)
            );
            let kind = match rule {
                Rule::Precondition { action, .. } => PropertyKind::ActionRequires {
                    action: *action,
                    requires,
                },
                _ => PropertyKind::EscalationRequires(requires),
            };
            out.push(Property {
                name,
                kind,
                origin: Origin::Implied {
                    topic: ti,
                    rule: ri as u16,
                },
                // A guard's verdict rests on its own topic: every clause
                // there that could open a way to a human is assumed away.
                assumptions: topic.assumptions(),
            });
        }
    }
    out
}

impl Requires {
    fn add(&mut self, r: Req) {
        match r {
            Req::Slot(s) => self.slots.push(s),
            Req::Action(a, t) => self.actions.push((a, t)),
        }
    }
}
