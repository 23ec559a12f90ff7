//! Properties: statements of escalation policy that must hold on every
//! path, not just on the scripted ones. A suite declares them (the auditor's
//! policy, written apart from the agent config); the agent's own guards
//! imply more (see [`implied`]). `run` checks them on every conversation,
//! `fuzz` on generated ones, `verify` on all paths up to a depth.

use crate::model::agent::Agent;
use crate::policy::{ActionId, Rule, SlotId, TopicId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub kind: PropertyKind,
    pub origin: Origin,
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
    /// a topic's guard speaks for that topic.
    pub scope: Option<TopicId>,
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
                format!("implied by guard {} #{}", t.name, t.rule_origins[rule as usize])
            }
        }
    }
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
            match *rule {
                Rule::RequireSlot { slot, .. } => requires.slots.push(slot),
                Rule::RequireAction { action, topic } => requires.actions.push((action, topic)),
                _ => continue,
            }
            out.push(Property {
                name: format!(
                    "guard {} #{}: {}",
                    topic.name,
                    topic.rule_origins[ri],
                    crate::transcript::describe_rule(agent, rule)
                ),
                kind: PropertyKind::EscalationRequires(requires),
                origin: Origin::Implied {
                    topic: ti,
                    rule: ri as u16,
                },
            });
        }
    }
    out
}
