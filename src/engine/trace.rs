//! What the engine records: one [`Turn`] per caller event, with the slot
//! fills, action calls, rule decisions and agent utterances it produced.
//! Everything refers to the agent by index and to caller text by slice, so
//! recording a turn allocates nothing beyond the trace's own vectors.

use std::ops::Range;

use crate::agent::compiled::Phase;
use crate::model::raw::{HandoffReason, NoInputThen};
use crate::nlu::{Reading, Request};
use crate::policy::{ActionId, SlotId, TopicId};

#[derive(Debug, Default)]
pub struct Trace<'s> {
    pub turns: Vec<Turn>,
    pub fills: Vec<Fill<'s>>,
    pub notes: Vec<Note>,
    pub says: Vec<Say>,
    pub handoff: Option<Handoff>,
    /// Slot values when the conversation stopped.
    pub slots: Vec<Option<&'s str>>,
    /// Per action: whether it has succeeded.
    pub succeeded: Vec<bool>,
}

impl<'s> Trace<'s> {
    /// Empties the trace for reuse, keeping its buffers.
    pub fn clear(&mut self) {
        self.turns.clear();
        self.fills.clear();
        self.notes.clear();
        self.says.clear();
        self.handoff = None;
        self.slots.clear();
        self.succeeded.clear();
    }

    pub fn fills(&self, t: &Turn) -> &[Fill<'s>] {
        &self.fills[range(&t.fills)]
    }
    /// The actions run on a turn, in order (recorded among its notes).
    pub fn calls(&self, t: &Turn) -> impl Iterator<Item = Call> + '_ {
        self.notes(t).iter().filter_map(|n| match n {
            Note::Called(c) => Some(*c),
            _ => None,
        })
    }
    pub fn notes(&self, t: &Turn) -> &[Note] {
        &self.notes[range(&t.notes)]
    }
    pub fn says(&self, t: &Turn) -> &[Say] {
        &self.says[range(&t.says)]
    }

    /// A slot's value as it stood after turn `index` (0-based).
    pub fn slot_after(&self, index: usize, slot: SlotId) -> Option<&'s str> {
        let end = (index + 1).min(self.turns.len());
        self.turns[..end]
            .iter()
            .rev()
            .find_map(|t| self.fills(t).iter().rev().find(|f| f.slot == slot).map(|f| f.value))
    }
}

fn range(r: &Range<u32>) -> Range<usize> {
    r.start as usize..r.end as usize
}

#[derive(Clone, Debug)]
pub struct Turn {
    /// Whether the turn asked for a human, as the engine took it (never
    /// [`Request::Uncertain`]: the chooser settles that).
    pub request: Request,
    /// What the recogniser read, for a caller utterance.
    pub reading: Option<Reading>,
    pub topic: TopicPick,
    pub fills: Range<u32>,
    pub notes: Range<u32>,
    pub says: Range<u32>,
    /// A handoff happened on this turn.
    pub handoff: bool,
    /// The conversation is over after this turn.
    pub ended: Option<End>,
    /// The event came after the conversation had ended.
    pub ignored: bool,
}

/// How the topic of a turn was chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TopicPick {
    /// Not a caller utterance (silence, hangup, keypad shortcut).
    None,
    Classified {
        topic: TopicId,
        score: f32,
    },
    /// The active topic continued.
    Kept {
        topic: TopicId,
        why: Kept,
    },
    /// The built-in Escalation topic of the default path.
    Builtin,
    NotUnderstood {
        score: f32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// The caller answered the question the agent asked.
    Answer,
    /// The utterance filled a slot but matched no topic.
    Info,
    /// The topic has `can_escalate` and handles the escalation request.
    HandlesEscalation,
    /// A procedure's `transition to` led here (the transcript says from where).
    Transition,
}

impl TopicPick {
    pub fn topic(self) -> Option<TopicId> {
        match self {
            TopicPick::Classified { topic, .. } | TopicPick::Kept { topic, .. } => Some(topic),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum End {
    Handoff,
    CallerHangup,
    AgentHangup,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill<'s> {
    pub slot: SlotId,
    pub value: &'s str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub action: ActionId,
    pub ok: bool,
    /// The topic it ran in (a turn that then takes the default Escalation
    /// path shows no topic of its own).
    pub topic: TopicId,
}

/// A rule decision or routing step, in the order it was taken.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Note {
    /// The LLM, ignoring its instructions, called the action (an unbound
    /// LLM's choice: see [`crate::engine::Chooser::unbound`]).
    LlmCalls {
        action: ActionId,
    },
    /// The LLM, ignoring its instructions, handed off from the topic.
    LlmEscalates {
        topic: TopicId,
    },
    /// The classifier's top two topics were within the margin.
    Ambiguous {
        chosen: TopicId,
        other: TopicId,
        other_score: f32,
    },
    /// Switched away from a topic, dropping what it was waiting for.
    Switched {
        from: TopicId,
    },
    /// The request went to the built-in Escalation topic.
    DefaultPath {
        from: Option<TopicId>,
        /// The topic the request classified to, when not the active one.
        about: Option<TopicId>,
    },
    /// The default path skipped a topic's escalation guards.
    Bypassed {
        topic: TopicId,
        guards: u16,
        can_escalate: bool,
    },
    /// A `can_escalate` topic handles the request under its own rules.
    Handles {
        topic: TopicId,
    },
    /// An earlier escalation request, blocked then, is looked at again.
    Resumed {
        topic: TopicId,
    },
    GuardMet {
        topic: TopicId,
        rule: u16,
    },
    GuardUnmet {
        topic: TopicId,
        rule: u16,
        why: Unmet,
    },
    /// An instruction escalates when this action fails, and it did.
    EscalatesOnFailure {
        topic: TopicId,
        action: ActionId,
    },
    /// A guard was not met, but an exception its instruction grants holds
    /// (`when` indexes the guard's exceptions): the guard lets the request through.
    GuardExcepted {
        topic: TopicId,
        rule: u16,
        when: u16,
    },
    /// An instruction escalates on a caller event or a count, and it holds.
    EscalatesWhen {
        topic: TopicId,
        rule: u16,
    },
    /// A run instruction waits for its condition.
    Waits {
        topic: TopicId,
        rule: u16,
    },
    /// A precondition held an action back.
    Held {
        topic: TopicId,
        rule: u16,
        action: ActionId,
    },
    /// The caller said what a trigger waits for (index into the agent's triggers).
    Said {
        trigger: u16,
    },
    /// A counter went up (index into the agent's counters).
    Counted {
        counter: u16,
        count: u8,
    },
    /// No escalation path: the topic lacks `can_escalate` and the default topic is off.
    NoPath,
    /// A handoff with no outbound route: nothing reaches a flow.
    NoRoute,
    /// The classifier's best topic is not available now: its condition on
    /// variables is false (`None`: the built-in Escalation topic).
    Unavailable {
        topic: Option<TopicId>,
    },
    /// A topic's escalation is not available now: its condition is false.
    EscalationUnavailable {
        topic: TopicId,
    },
    /// A successful action set a variable from one of its outputs.
    Set {
        action: ActionId,
        var: crate::agent::compiled::VarId,
    },
    /// A procedure step ran: a `run` (its call follows), or a `transition
    /// to` (step indexes [`crate::agent::compiled::Topic::steps`]).
    Proc {
        topic: TopicId,
        phase: Phase,
        step: u32,
    },
    /// A procedure's `if` was evaluated: its block runs when `taken`, else
    /// its `else` (if any).
    Branch {
        topic: TopicId,
        phase: Phase,
        step: u32,
        taken: bool,
    },
    /// A procedure's `set` gave its variable the value with this code
    /// (see [`crate::agent::compiled::value_code`]).
    Assigned {
        topic: TopicId,
        phase: Phase,
        step: u32,
        code: u32,
    },
    /// A `run` in a procedure did not succeed: the steps under it were skipped.
    Skipped {
        topic: TopicId,
        phase: Phase,
        step: u32,
    },
    /// Transitions went on too long in one turn (a loop): the turn stops.
    TransitionLimit {
        topic: TopicId,
    },
    /// An action cannot run until a slot is filled.
    NeedsInput {
        action: ActionId,
        slot: SlotId,
    },
    Reprompt {
        count: u32,
        of: u32,
    },
    NoInputLimit {
        then: NoInputThen,
    },
    Shortcut {
        digits_escalate: bool,
    },
    KeyNotMapped,
    /// An action ran; [`Trace::calls`] lists a turn's calls.
    Called(Call),
    /// A refusal ("I don't need a person anymore") withdrew a blocked request.
    Withdrawn,
    Ignored,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmet {
    /// The slot is empty or the action has not run.
    Missing,
    /// The action ran and failed: that is not "has been executed".
    Failed,
    /// The action succeeded, but not in the topic the rule names.
    OtherTopic,
    /// The action is not available in this topic, so it cannot be run here.
    NotHere,
}

/// What the agent says; turned into text with the agent's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Say {
    Ask(SlotId),
    Done(ActionId),
    Failed(ActionId),
    NeedsAction(ActionId),
    Reply(TopicId),
    NotUnderstood,
    KeyNotMapped,
    Handoff,
    Reprompt,
    Goodbye,
    CannotTransfer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handoff {
    pub reason: HandoffReason,
    /// The topic that escalated; `None` for the built-in Escalation topic.
    pub topic: Option<TopicId>,
    /// 1-based turn number.
    pub turn: u32,
}
