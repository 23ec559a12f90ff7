//! The escalation engine: a pure, deterministic interpreter of an agent
//! config. Agent + fixtures + caller events (+ a [`Chooser`] for the points
//! where a real LLM agent could go either way) give one [`Trace`]. No I/O,
//! no clock, no global state.
//!
//! Semantics follow the Agentforce escalation patterns:
//! - a request for a human while the active topic lacks `can_escalate` goes
//!   to the built-in Escalation topic, which fires the Escalation action at
//!   once: topic instructions are bypassed;
//! - a `can_escalate` topic handles the request itself; its compiled guards
//!   must all hold, and the engine does the pre-work they ask for (asks for
//!   the slot, runs the action) before it hands off;
//! - silence past the reprompts and keypad shortcuts escalate through the
//!   default path, so they bypass topic guards too;
//! - a guard counts an action only when it succeeded.

mod chooser;
pub mod trace;
mod watch;

use crate::agent::compiled::{Cond, Condition, Op, Phase, Value, VarId};
use crate::agent::spec::CmpOp;
use crate::model::raw::{DtmfAction, HandoffReason, NoInputThen};
use crate::model::{Agent, Event, Fixtures};
use crate::nlu::{Request, Scratch, Shape};
use crate::policy::{ActionId, Counter, Guard, Req, Rule, SlotId, TopicId, When};
pub use chooser::{Chooser, Nominal, Scripted};
pub use trace::*;
pub use watch::Watch;

/// The conversation's state between events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State<'s> {
    /// Events processed so far.
    pub turn: u32,
    pub topic: Option<TopicId>,
    pub slots: Vec<Option<&'s str>>,
    /// Per action: the topic it succeeded in.
    pub succeeded: Vec<Option<TopicId>>,
    pub failed: Vec<bool>,
    /// The slot the agent last asked for.
    pub awaiting: Option<SlotId>,
    /// The caller asked for a human and a guard blocked it.
    pub pending_escalation: bool,
    pub silences: u32,
    pub end: Option<End>,
    /// Per variable: where its value comes from (see [`Engine::var`]).
    pub vars: Vec<u32>,
    /// Per trigger of the agent ([`Agent::triggers`]): the caller said it.
    pub said: Vec<bool>,
    /// Per counter of the agent ([`Agent::counters`]): the count so far,
    /// saturating at the highest count a rule needs.
    pub counts: Vec<u8>,
    /// Who watches what a step reads of `slots` and `succeeded` (see
    /// [`Watch`]); off unless set. The engine reads and writes those two
    /// only through the methods below, so that a watch sees every access.
    pub watch: Watch,
}

impl State<'_> {
    /// Whether slot `s` is filled.
    #[inline]
    pub fn filled(&self, s: SlotId) -> bool {
        self.watch.slot_read(s);
        self.slots[s as usize].is_some()
    }

    /// The topic action `a` last succeeded in, if it has.
    #[inline]
    pub fn succeeded_in(&self, a: ActionId) -> Option<TopicId> {
        self.watch.action_read(a);
        self.succeeded[a as usize]
    }
}

impl<'s> State<'s> {
    #[inline]
    fn fill(&mut self, s: SlotId, value: &'s str) {
        self.watch.slot_written(s);
        self.slots[s as usize] = Some(value);
    }

    #[inline]
    fn set_succeeded(&mut self, a: ActionId, t: TopicId) {
        self.watch.action_written(a);
        self.succeeded[a as usize] = Some(t);
    }
}

/// An agent with the fixtures of one run.
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    pub agent: &'a Agent,
    pub fixtures: &'a Fixtures,
}

impl<'a> Engine<'a> {
    pub fn new(agent: &'a Agent, fixtures: &'a Fixtures) -> Engine<'a> {
        Engine { agent, fixtures }
    }

    pub fn start<'s>(&self) -> State<'s> {
        State {
            turn: 0,
            topic: None,
            slots: vec![None; self.agent.slots.len()],
            succeeded: vec![None; self.agent.actions.len()],
            failed: vec![false; self.agent.actions.len()],
            awaiting: None,
            pending_escalation: false,
            silences: 0,
            end: None,
            vars: vec![DEFAULT_VALUE; self.agent.variables.len()],
            said: vec![false; self.agent.triggers.len()],
            counts: vec![0; self.agent.counters.len()],
            watch: Watch::default(),
        }
    }

    /// Whether a requirement holds in `st`.
    pub fn req_holds(&self, st: &State<'_>, r: &Req) -> bool {
        match *r {
            Req::Slot(s) => st.filled(s),
            Req::Action(a, topic) => st.succeeded_in(a).is_some_and(|at| topic.is_none_or(|want| want == at)),
        }
    }

    /// Whether an exception or escalation condition holds in `st`.
    pub fn when_holds(&self, st: &State<'_>, w: &When) -> bool {
        match w {
            When::Said(t) => self.agent.trigger_index(t).is_some_and(|i| st.said[i]),
            When::Failed(a) => st.failed[*a as usize],
            When::Count(c, n) => self.agent.counter_index(*c).is_some_and(|i| st.counts[i] >= *n),
            When::SlotEmpty(s) => !st.filled(*s),
        }
    }

    /// A variable's current value. The state keeps only where it came from
    /// (its default, or an output of an action that succeeded), so states
    /// stay small and the value follows the run's fixtures.
    pub fn var(&self, st: &State<'_>, var: VarId) -> Option<&'a str> {
        match st.vars[var as usize] {
            DEFAULT_VALUE => self.agent.variables[var as usize].default.as_deref(),
            code => self.value(code),
        }
    }

    /// The value a code other than the default stands for: a constant a
    /// procedure set, or an output of an action (in this run's fixtures).
    pub fn value(&self, code: u32) -> Option<&'a str> {
        if code >> 16 == 0 {
            return self
                .agent
                .constants
                .get((code as usize).wrapping_sub(1))
                .map(String::as_str);
        }
        let (action, output) = ((code >> 16) - 1, code & 0xffff);
        self.fixtures.actions[action as usize].outputs[output as usize].as_deref()
    }

    /// Whether a condition on variables holds in `st`.
    pub fn holds(&self, st: &State<'_>, cond: &Condition) -> bool {
        self.eval(st, &cond.expr)
    }

    fn eval(&self, st: &State<'_>, c: &Cond) -> bool {
        match c {
            Cond::Cmp(c) => compare(self.var(st, c.var), c.op, c.value.as_deref()),
            Cond::Truthy(v) => truthy(self.var(st, *v)),
            Cond::Not(c) => !self.eval(st, c),
            Cond::All(cs) => cs.iter().all(|c| self.eval(st, c)),
            Cond::Any(cs) => cs.iter().any(|c| self.eval(st, c)),
            Cond::Const(b) => *b,
        }
    }

    /// Whether the classifier may pick topic `t` in `st`.
    pub fn available(&self, st: &State<'_>, t: TopicId) -> bool {
        self.agent.topics[t as usize]
            .available
            .as_ref()
            .is_none_or(|c| self.holds(st, c))
    }

    /// Runs a whole conversation.
    pub fn run<'s, C: Chooser>(&self, events: &'s [Event], chooser: &mut C) -> Trace<'s> {
        let mut state = self.start();
        let mut trace = Trace {
            turns: Vec::with_capacity(events.len()),
            ..Trace::default()
        };
        let mut scratch = Scratch::default();
        for ev in events {
            self.step(&mut state, ev, &mut trace, &mut scratch, chooser);
        }
        self.finish(state, &mut trace);
        trace
    }

    /// Copies the final state into the trace (the handoff context is read from it).
    pub fn finish<'s>(&self, state: State<'s>, trace: &mut Trace<'s>) {
        trace.slots = state.slots;
        trace.succeeded = state.succeeded.iter().map(Option::is_some).collect();
    }

    /// Processes one caller event.
    pub fn step<'s, C: Chooser>(
        &self,
        st: &mut State<'s>,
        ev: &'s Event,
        trace: &mut Trace<'s>,
        scratch: &mut Scratch,
        chooser: &mut C,
    ) {
        self.step_read(st, ev, None, trace, scratch, chooser);
    }

    /// [`Engine::step`] with the event's [`Reading`] done beforehand (by
    /// [`reading`]), as searches that play the same few events from many
    /// states do. The result is the same as `step`'s.
    pub fn step_read<'s, C: Chooser>(
        &self,
        st: &mut State<'s>,
        ev: &'s Event,
        reading: Option<&Reading>,
        trace: &mut Trace<'s>,
        scratch: &mut Scratch,
        chooser: &mut C,
    ) {
        st.turn += 1;
        chooser.turn(st.turn);
        let (f0, n0, s0) = (
            trace.fills.len() as u32,
            trace.notes.len() as u32,
            trace.says.len() as u32,
        );
        let mut turn = Step {
            e: self,
            st,
            trace,
            chooser,
            request: Request::No,
            reading: None,
            pick: TopicPick::None,
            asked: None,
            handoff: false,
            notes_start: n0 as usize,
            says_start: s0 as usize,
        };
        let ignored = turn.st.end.is_some();
        if ignored {
            turn.trace.notes.push(Note::Ignored);
        } else {
            turn.event(ev, reading, scratch);
        }
        let (request, reading, pick, handoff) = (turn.request, turn.reading, turn.pick, turn.handoff);
        let ended = if ignored { None } else { st.end };
        trace.turns.push(Turn {
            request,
            reading,
            topic: pick,
            fills: f0..trace.fills.len() as u32,
            notes: n0..trace.notes.len() as u32,
            says: s0..trace.says.len() as u32,
            handoff,
            ended,
            ignored,
        });
    }
}

/// A variable's value source in [`State::vars`]: its default.
const DEFAULT_VALUE: u32 = 0;

/// The most `transition to`s one turn follows (more is a loop).
pub const MAX_TRANSITIONS: u32 = 16;

/// Whether a value counts as true: set, and not false, zero or empty.
fn truthy(value: Option<&str>) -> bool {
    value
        .map(str::trim)
        .is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false") && !v.parse::<f64>().is_ok_and(|n| n == 0.0))
}

/// Compares a variable's value with a rule's operand: as numbers when both
/// read as numbers, else as text ignoring case (`True` equals `true`). An
/// unset value is empty, equal to nothing and ordered after nothing.
fn compare(value: Option<&str>, op: CmpOp, operand: Option<&str>) -> bool {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let operand = operand.map(str::trim).unwrap_or("");
    match op {
        CmpOp::IsEmpty => value.is_none(),
        CmpOp::IsNotEmpty => value.is_some(),
        CmpOp::Eq | CmpOp::Ne => {
            let eq = value.is_some_and(|v| match (v.parse::<f64>(), operand.parse::<f64>()) {
                (Ok(a), Ok(b)) => a == b,
                _ => v.eq_ignore_ascii_case(operand),
            });
            eq == (op == CmpOp::Eq)
        }
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let Some(v) = value else { return false };
            let ord = match (v.parse::<f64>(), operand.parse::<f64>()) {
                (Ok(a), Ok(b)) => a.partial_cmp(&b),
                _ => Some(v.to_lowercase().cmp(&operand.to_lowercase())),
            };
            let Some(ord) = ord else { return false };
            match op {
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            }
        }
    }
}

/// The best topic for the tokenized utterance in `scratch` and the
/// runner-up, with scores. A catch-all topic scores at least the threshold.
#[allow(clippy::type_complexity)]
pub fn classify(agent: &Agent, scratch: &Scratch) -> Option<(TopicId, f32, Option<(TopicId, f32)>)> {
    classify_among(agent, scratch, |_| true)
}

/// [`classify`] among the topics `available` accepts.
#[allow(clippy::type_complexity)]
pub fn classify_among(
    agent: &Agent,
    scratch: &Scratch,
    available: impl Fn(TopicId) -> bool,
) -> Option<(TopicId, f32, Option<(TopicId, f32)>)> {
    classify_by(agent, |t| agent.topics[t].model.score(scratch), available)
}

/// [`classify_among`] with each topic's raw score (before a catch-all's
/// floor) given by `score`.
#[allow(clippy::type_complexity)]
fn classify_by(
    agent: &Agent,
    score: impl Fn(usize) -> f32,
    available: impl Fn(TopicId) -> bool,
) -> Option<(TopicId, f32, Option<(TopicId, f32)>)> {
    let threshold = agent.threshold;
    let mut best: Option<(TopicId, f32)> = None;
    let mut second: Option<(TopicId, f32)> = None;
    for (i, t) in agent.topics.iter().enumerate() {
        if !available(i as TopicId) {
            continue;
        }
        let mut s = score(i);
        if t.model.catch_all {
            s = s.max(threshold);
        }
        let cand = (i as TopicId, s);
        if best.is_none_or(|b| s > b.1) {
            second = best;
            best = Some(cand);
        } else if second.is_none_or(|b| s > b.1) {
            second = Some(cand);
        }
    }
    best.map(|(t, s)| (t, s, second))
}

/// How the engine reads one caller event, whatever the state: the slot
/// values it gives (slot, byte range), whether it asks for a human, and each
/// topic's raw classifier score. The state decides the rest (which topics
/// are available, what an awaited slot takes), so a search that plays the
/// same events from many states reads each once ([`Engine::step_read`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub fills: Vec<(SlotId, u32, u32)>,
    /// The recogniser's reading (an uncertain one is settled per state by
    /// the chooser).
    pub request: crate::nlu::Reading,
    /// Per topic; empty for keypad digits (which are not classified).
    pub scores: Vec<f32>,
    /// The classification over all topics (what [`classify`] gives).
    #[allow(clippy::type_complexity)]
    pub all: Option<(TopicId, f32, Option<(TopicId, f32)>)>,
}

/// The [`Reading`] of an event that the engine reads as text: a caller
/// utterance, or keypad digits that are no shortcut. `None` for the others.
pub fn reading(agent: &Agent, ev: &Event, scratch: &mut Scratch) -> Option<Reading> {
    let (text, keypad) = match ev {
        Event::Caller(t) => (&**t, false),
        Event::Dtmf(d) if agent.dtmf_action(d).is_none() => (&**d, true),
        _ => return None,
    };
    let fills = agent
        .slots
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| {
            let (s, e) = slot.extractor.find(text)?;
            Some((i as SlotId, s as u32, e as u32))
        })
        .collect();
    if keypad {
        return Some(Reading {
            fills,
            request: crate::nlu::Reading {
                request: Request::No,
                score: 0.0,
            },
            scores: Vec::new(),
            all: None,
        });
    }
    scratch.tokenize(&agent.vocab, text);
    let scores: Vec<f32> = agent.topics.iter().map(|t| t.model.score(scratch)).collect();
    let all = classify_by(agent, |t| scores[t], |_| true);
    Some(Reading {
        fills,
        request: scratch.reading(),
        scores,
        all,
    })
}

/// How the engine reads an utterance: request for a human or not, and the
/// topic it classifies to (above the threshold), if any.
pub fn read(agent: &Agent, text: &str, scratch: &mut Scratch) -> (Request, Option<TopicId>) {
    scratch.tokenize(&agent.vocab, text);
    let topic = classify(agent, scratch).filter(|b| b.1 >= agent.threshold).map(|b| b.0);
    (scratch.request(), topic)
}

/// The work of one turn.
struct Step<'e, 'a, 's, 't, C> {
    e: &'e Engine<'a>,
    st: &'t mut State<'s>,
    trace: &'t mut Trace<'s>,
    chooser: &'t mut C,
    /// The request as the engine takes it: an uncertain reading settled by
    /// the chooser.
    request: Request,
    /// What the recogniser read, when the event was an utterance.
    reading: Option<crate::nlu::Reading>,
    pick: TopicPick,
    asked: Option<SlotId>,
    handoff: bool,
    notes_start: usize,
    says_start: usize,
}

impl<'s, C: Chooser> Step<'_, '_, 's, '_, C> {
    fn agent(&self) -> &Agent {
        self.e.agent
    }

    fn event(&mut self, ev: &'s Event, reading: Option<&Reading>, scratch: &mut Scratch) {
        match ev {
            Event::Silence => self.silence(),
            Event::Hangup => self.st.end = Some(End::CallerHangup),
            Event::Dtmf(digits) => {
                self.st.silences = 0;
                match self.agent().dtmf_action(digits) {
                    Some(DtmfAction::Escalate) => {
                        self.trace.notes.push(Note::Shortcut { digits_escalate: true });
                        self.default_handoff(HandoffReason::Dtmf, None);
                    }
                    Some(DtmfAction::Hangup) => {
                        self.trace.notes.push(Note::Shortcut { digits_escalate: false });
                        self.hang_up();
                    }
                    None => self.utterance(digits, true, reading, scratch),
                }
            }
            Event::Caller(text) => {
                self.st.silences = 0;
                self.utterance(text, false, reading, scratch);
            }
        }
    }

    fn silence(&mut self) {
        self.st.silences += 1;
        let no_input = &self.e.agent.no_input;
        if self.st.silences <= no_input.reprompts {
            self.trace.notes.push(Note::Reprompt {
                count: self.st.silences,
                of: no_input.reprompts,
            });
            self.say(Say::Reprompt);
            return;
        }
        self.trace.notes.push(Note::NoInputLimit { then: no_input.then });
        match no_input.then {
            NoInputThen::Escalate => self.default_handoff(HandoffReason::NoInput, None),
            NoInputThen::Hangup => self.hang_up(),
        }
    }

    /// A caller utterance, or keypad digits that are not a shortcut (those
    /// can only fill slots).
    fn utterance(&mut self, text: &'s str, keypad: bool, reading: Option<&Reading>, scratch: &mut Scratch) {
        let agent = self.e.agent;
        let mut filled_any = false;
        let mut answered = false;
        let mut fill = |step: &mut Self, i: usize, s: usize, e: usize| {
            let value = &text[s..e];
            step.st.fill(i as SlotId, value);
            step.trace.fills.push(Fill {
                slot: i as SlotId,
                value,
            });
            filled_any = true;
            answered |= step.st.awaiting == Some(i as SlotId);
        };
        match reading {
            Some(r) => {
                for &(i, s, e) in &r.fills {
                    fill(self, i as usize, s as usize, e as usize);
                }
            }
            None => {
                for (i, slot) in agent.slots.iter().enumerate() {
                    if let Some((s, e)) = slot.extractor.find(text) {
                        fill(self, i, s, e);
                    }
                }
            }
        }
        let best = if keypad {
            None
        } else if let Some(r) = reading {
            self.settle(r.request);
            self.classify(r.all, |t| r.scores[t])
        } else {
            scratch.tokenize(&agent.vocab, text);
            scratch.tokenize(&agent.vocab, text);
            let read = scratch.reading();
            self.settle(read);
            let score = |t: usize| agent.topics[t].model.score(scratch);
            self.classify(classify_by(agent, score, |_| true), score)
        };
        // A slot that takes whatever the caller answers takes this reply,
        // unless the reply asks for a human (or refuses one).
        if let Some(s) = self.st.awaiting
            && agent.slots[s as usize].extractor.shape == Shape::Answer
            && self.request == Request::No
            && !text.trim().is_empty()
        {
            let value = text.trim();
            self.st.fill(s, value);
            self.trace.fills.push(Fill { slot: s, value });
            filled_any = true;
            answered = true;
        }
        // A caller event the rules wait for ("no, I won't give my email")
        // is for the active topic, as an answer is.
        if !keypad && !agent.triggers.is_empty() && self.triggers(text) {
            filled_any = true;
        }
        if self.request == Request::Yes {
            self.count(Counter::Requests);
        }
        if answered {
            self.st.awaiting = None;
        }
        if self.request == Request::Negated && self.st.pending_escalation {
            self.st.pending_escalation = false;
            self.trace.notes.push(Note::Withdrawn);
        }
        let active = self.st.topic;
        let above = best.filter(|b| b.1 >= agent.threshold);

        if self.request == Request::Yes {
            let handler = match above {
                Some((t, score, _)) if agent.topics[t as usize].can_escalate => {
                    self.enter(t, TopicPick::Classified { topic: t, score });
                    Some(t)
                }
                _ => match active {
                    Some(t) if agent.topics[t as usize].can_escalate => {
                        self.pick = TopicPick::Kept {
                            topic: t,
                            why: Kept::HandlesEscalation,
                        };
                        Some(t)
                    }
                    _ => None,
                },
            };
            // A topic with procedures runs them on a request it cannot
            // escalate too: its `transition to` may lead to one that can.
            let procedural = above
                .map(|b| b.0)
                .filter(|&t| handler.is_none() && agent.topics[t as usize].has_procedures());
            match handler {
                Some(t) => {
                    self.topic_work(t, true);
                    self.unbound(t);
                }
                None if let Some(t) = procedural => {
                    let score = above.map_or(0.0, |b| b.1);
                    self.enter(t, TopicPick::Classified { topic: t, score });
                    self.topic_work(t, true);
                    self.unbound(t);
                }
                None if agent.escalation.default_topic => {
                    self.pick = TopicPick::Builtin;
                    let about = above.map(|b| b.0).filter(|&t| Some(t) != active);
                    self.default_handoff(HandoffReason::CallerRequest, about);
                }
                None => {
                    self.trace.notes.push(Note::NoPath);
                    self.say(Say::CannotTransfer);
                }
            }
            return;
        }

        let topic = match (active, above) {
            (Some(t), _) if answered => {
                self.pick = TopicPick::Kept {
                    topic: t,
                    why: Kept::Answer,
                };
                t
            }
            (_, Some((t, score, runner_up))) => {
                let chosen = match runner_up {
                    Some((other, other_score))
                        if other_score >= agent.threshold && score - other_score <= agent.margin =>
                    {
                        let chosen = self.chooser.topic(t, other);
                        let (other, other_score) = if chosen == t { (other, other_score) } else { (t, score) };
                        self.trace.notes.push(Note::Ambiguous {
                            chosen,
                            other,
                            other_score,
                        });
                        chosen
                    }
                    _ => t,
                };
                let score = if chosen == t {
                    score
                } else {
                    runner_up.map_or(score, |r| r.1)
                };
                self.enter(chosen, TopicPick::Classified { topic: chosen, score });
                chosen
            }
            (Some(t), None) if filled_any => {
                self.pick = TopicPick::Kept {
                    topic: t,
                    why: Kept::Info,
                };
                t
            }
            _ => {
                self.pick = TopicPick::NotUnderstood {
                    score: best.map_or(0.0, |b| b.1),
                };
                self.say(if keypad { Say::KeyNotMapped } else { Say::NotUnderstood });
                if keypad {
                    self.trace.notes.push(Note::KeyNotMapped);
                }
                return;
            }
        };
        self.topic_work(topic, false);
        self.unbound(topic);
    }

    /// What an LLM that ignores its instructions may do besides (asked only
    /// of a chooser that models one): call any action of the topic that the
    /// structure makes available and whose inputs are filled, and hand off
    /// wherever the escalation tool is there. The rules compiled from
    /// instruction text are not consulted; structural conditions are.
    fn unbound(&mut self, t: TopicId) {
        if !self.chooser.unbound() || self.st.end.is_some() || self.handoff {
            return;
        }
        // A procedure's `transition to` may have moved the conversation on.
        let t = self.st.topic.unwrap_or(t);
        let agent = self.e.agent;
        let topic = &agent.topics[t as usize];
        for &action in &topic.actions {
            let a = action as usize;
            if self.st.succeeded_in(action).is_some() || self.tried_this_turn(action) {
                continue;
            }
            let structural = topic
                .runs
                .iter()
                .find(|r| r.0 == action)
                .and_then(|r| r.1.as_ref())
                .is_none_or(|c| self.e.holds(self.st, c));
            let inputs = agent.actions[a].inputs.iter().all(|&s| self.st.filled(s));
            if structural && inputs && self.chooser.llm_calls(action) {
                self.trace.notes.push(Note::LlmCalls { action });
                self.call_or_ask(action, t);
                if self.st.end.is_some() {
                    return;
                }
            }
        }
        let tool = topic.can_escalate && topic.escalation_when.as_ref().is_none_or(|c| self.e.holds(self.st, c));
        // Otherwise the planner may pick the default Escalation topic
        // unasked, while its own condition lets it.
        let default = !topic.can_escalate
            && agent.escalation.default_topic
            && agent
                .escalation
                .available
                .as_ref()
                .is_none_or(|c| self.e.holds(self.st, c));
        if (tool || default) && self.chooser.llm_escalates(t) {
            self.trace.notes.push(Note::LlmEscalates { topic: t });
            if tool {
                self.handoff(HandoffReason::LlmDecision, Some(t));
            } else {
                self.default_handoff(HandoffReason::LlmDecision, None);
            }
        }
    }

    /// Takes the recogniser's reading; where an LLM could go either way,
    /// the chooser decides: nominally the way the score leans, both ways in
    /// a search.
    fn settle(&mut self, read: crate::nlu::Reading) {
        self.reading = Some(read);
        self.request = match read.request {
            Request::Uncertain => {
                if self.chooser.request(read.leans_to_request()) {
                    Request::Yes
                } else {
                    Request::No
                }
            }
            r => r,
        };
    }

    /// The classifier over the topics available now (`all`: over all
    /// topics, with `score` giving each). When the best topic
    /// of all is not available, the trace says so: a caller who cannot get
    /// there sees why.
    #[allow(clippy::type_complexity)]
    fn classify(
        &mut self,
        all: Option<(TopicId, f32, Option<(TopicId, f32)>)>,
        score: impl Fn(usize) -> f32,
    ) -> Option<(TopicId, f32, Option<(TopicId, f32)>)> {
        let agent = self.e.agent;
        let Some((best, score_best, _)) = all else { return all };
        if self.e.available(self.st, best) {
            return all;
        }
        if score_best >= agent.threshold {
            self.trace.notes.push(Note::Unavailable { topic: Some(best) });
        }
        let (e, st) = (self.e, &*self.st);
        classify_by(agent, &score, |t| e.available(st, t))
    }

    fn enter(&mut self, t: TopicId, pick: TopicPick) {
        if let Some(from) = self.st.topic
            && from != t
        {
            self.trace.notes.push(Note::Switched { from });
            self.st.pending_escalation = false;
            self.st.awaiting = None;
        }
        self.st.topic = Some(t);
        self.pick = pick;
    }

    /// The work of a turn in topic `t`: its `before_reasoning` and
    /// instruction steps, the reasoning step, then its `after_reasoning`.
    /// A `transition to` in any of them goes on in the target topic from
    /// its start, on the same turn (the rest of the topic it leaves is not
    /// run), at most [`MAX_TRANSITIONS`] times a turn.
    fn topic_work(&mut self, t: TopicId, requested: bool) {
        let agent = self.e.agent;
        let mut t = t;
        let mut requested = requested;
        let mut hops = 0;
        'topic: loop {
            for phase in [Phase::Before, Phase::Instructions] {
                let to = self.procedure(t, phase);
                if self.st.end.is_some() {
                    return;
                }
                if let Some(to) = to {
                    match self.transition(t, to, &mut hops) {
                        Some(next) => {
                            t = next;
                            continue 'topic;
                        }
                        None => return,
                    }
                }
            }
            if requested && !agent.topics[t as usize].can_escalate {
                // Reached by a transition (or a topic with procedures the
                // request classified to): no escalation here. The topic
                // says so and goes on with its work.
                if agent.escalation.default_topic {
                    self.default_handoff(HandoffReason::CallerRequest, None);
                    return;
                }
                self.trace.notes.push(Note::NoPath);
                self.say(Say::CannotTransfer);
                requested = false;
            }
            self.reason(t, requested);
            if self.st.end.is_some() {
                return;
            }
            let Some(to) = self.procedure(t, Phase::After) else {
                return;
            };
            if self.st.end.is_some() {
                return;
            }
            match self.transition(t, to, &mut hops) {
                Some(next) => t = next,
                None => return,
            }
        }
    }

    /// Enters `to` from a `transition to` in `from`; none when this turn
    /// has transitioned too often (a loop).
    fn transition(&mut self, from: TopicId, to: TopicId, hops: &mut u32) -> Option<TopicId> {
        if *hops >= MAX_TRANSITIONS {
            self.trace.notes.push(Note::TransitionLimit { topic: from });
            return None;
        }
        *hops += 1;
        // A transition keeps the request: it goes on in the new topic.
        let pending = self.st.pending_escalation;
        self.enter(
            to,
            TopicPick::Kept {
                topic: to,
                why: Kept::Transition,
            },
        );
        self.st.pending_escalation = pending;
        Some(to)
    }

    /// Runs one procedure of topic `t`, exactly as written; the topic its
    /// `transition to` leads to, if one ran. Jumps only go forward, so it
    /// ends.
    fn procedure(&mut self, t: TopicId, phase: Phase) -> Option<TopicId> {
        let steps = self.e.agent.topics[t as usize].steps(phase);
        let mut pc = 0;
        while let Some(step) = steps.get(pc) {
            if self.st.end.is_some() {
                return None;
            }
            let at = pc as u32;
            pc += 1;
            match &step.op {
                Op::Run { action, skip } => {
                    self.trace.notes.push(Note::Proc {
                        topic: t,
                        phase,
                        step: at,
                    });
                    if !self.run_step(*action, t) {
                        if *skip as usize > pc {
                            self.trace.notes.push(Note::Skipped {
                                topic: t,
                                phase,
                                step: at,
                            });
                        }
                        pc = *skip as usize;
                    }
                }
                Op::Set { var, value } => {
                    let code = match *value {
                        Value::Code(c) => c,
                        Value::Var { var: w, default } => match self.st.vars[w as usize] {
                            DEFAULT_VALUE => default,
                            c => c,
                        },
                    };
                    self.st.vars[*var as usize] = code;
                    self.trace.notes.push(Note::Assigned {
                        topic: t,
                        phase,
                        step: at,
                        code,
                    });
                }
                Op::Unless { cond, to } => {
                    let taken = self.e.holds(self.st, cond);
                    self.trace.notes.push(Note::Branch {
                        topic: t,
                        phase,
                        step: at,
                        taken,
                    });
                    if !taken {
                        pc = *to as usize;
                    }
                }
                Op::Jump { to } => pc = *to as usize,
                Op::Transition { to } => {
                    self.trace.notes.push(Note::Proc {
                        topic: t,
                        phase,
                        step: at,
                    });
                    return Some(*to);
                }
            }
        }
        None
    }

    /// A procedure's `run`: the action runs now, as written (no
    /// preconditions of the instructions apply), unless an input slot is
    /// empty (the agent asks for it). Whether it succeeded.
    fn run_step(&mut self, action: ActionId, t: TopicId) -> bool {
        let def = &self.e.agent.actions[action as usize];
        if let Some(&slot) = def.inputs.iter().find(|&&s| !self.st.filled(s)) {
            self.trace.notes.push(Note::NeedsInput { action, slot });
            self.ask(slot);
            return false;
        }
        self.call(action, t, false)
    }

    /// The reasoning step of topic `t`.
    fn reason(&mut self, t: TopicId, requested: bool) {
        let agent = self.e.agent;
        let topic = &agent.topics[t as usize];
        // Pattern A: "if they have not, ask for the email first". A slot
        // that a guard on the request needs is asked for before any input
        // an action is missing, or a caller who does not volunteer it would
        // never reach a human. A guard whose exception holds asks nothing.
        if topic.can_escalate && (requested || self.st.pending_escalation) {
            let missing = topic.rules.iter().find_map(|r| match r {
                Rule::Require(g) if !self.guard_holds(g) && !self.excepted(g) => g.any.iter().find_map(|r| match *r {
                    Req::Slot(slot) => Some(slot),
                    Req::Action(..) => None,
                }),
                _ => None,
            });
            if let Some(slot) = missing {
                self.ask(slot);
            }
        }
        for (ri, rule) in topic.rules.iter().enumerate() {
            // A failed action may have escalated: nothing runs after a handoff.
            if self.st.end.is_some() {
                return;
            }
            if let Rule::RunAction { action, after } = rule
                && self.st.succeeded_in(*action).is_none()
                && !self.tried_this_turn(*action)
            {
                if after.iter().all(|r| self.e.req_holds(self.st, r)) {
                    self.try_action(*action, t, 0);
                } else {
                    self.trace.notes.push(Note::Waits {
                        topic: t,
                        rule: ri as u16,
                    });
                }
            }
        }
        // Tools the model calls while the topic is active (Agent Script
        // bindings), each only while its `available when` holds.
        for (action, when) in &topic.runs {
            if self.st.end.is_some() {
                return;
            }
            let available = when.as_ref().is_none_or(|c| self.e.holds(self.st, c));
            if available && self.st.succeeded_in(*action).is_none() && !self.tried_this_turn(*action) {
                self.try_action(*action, t, 0);
            }
        }
        if self.st.end.is_some() {
            return;
        }
        // A caller event or a count that an instruction escalates on: no
        // guard is consulted, as in a deployed agent.
        if topic.can_escalate {
            let fired = topic.rules.iter().position(|r| match r {
                Rule::EscalateWhen { when } => self.e.when_holds(self.st, when),
                _ => false,
            });
            if let Some(ri) = fired {
                self.trace.notes.push(Note::EscalatesWhen {
                    topic: t,
                    rule: ri as u16,
                });
                self.handoff(HandoffReason::Triggered, Some(t));
                return;
            }
        }
        // An unconditional escalation instruction is a standing request: the
        // topic's guards still apply to it. So is one after steps, once they
        // are done.
        let after_steps = topic.rules.iter().any(|r| match r {
            Rule::EscalateAfter { requires } => requires.iter().all(|q| self.e.req_holds(self.st, q)),
            _ => false,
        });
        let standing = topic.can_escalate && (topic.escalates_always() || after_steps);
        if topic.can_escalate && (requested || standing || self.st.pending_escalation) {
            if requested || !standing {
                self.trace.notes.push(if requested {
                    Note::Handles { topic: t }
                } else {
                    Note::Resumed { topic: t }
                });
            }
            // A structural guard: with its condition false the escalation
            // tool is not there to call, whatever the instructions say.
            if let Some(c) = &topic.escalation_when
                && !self.e.holds(self.st, c)
            {
                self.trace.notes.push(Note::EscalationUnavailable { topic: t });
                self.st.pending_escalation = false;
                self.say(Say::CannotTransfer);
                return;
            }
            let mut blocked = false;
            for (ri, rule) in topic.rules.iter().enumerate() {
                let ri = ri as u16;
                let Rule::Require(g) = rule else { continue };
                if !self.guard_holds(g)
                    && let Some(when) = g.unless.iter().position(|w| self.e.when_holds(self.st, w))
                {
                    self.trace.notes.push(Note::GuardExcepted {
                        topic: t,
                        rule: ri,
                        when: when as u16,
                    });
                    continue;
                }
                let unmet = self.guard(t, g);
                if self.st.end.is_some() {
                    return;
                }
                match unmet {
                    None => self.trace.notes.push(Note::GuardMet { topic: t, rule: ri }),
                    // The pre-work itself may have opened the exception
                    // ("if verification fails, call the 'Escalation' action
                    // anyway").
                    Some(_) if g.unless.iter().any(|w| self.e.when_holds(self.st, w)) => {
                        let when = g.unless.iter().position(|w| self.e.when_holds(self.st, w)).unwrap_or(0);
                        self.trace.notes.push(Note::GuardExcepted {
                            topic: t,
                            rule: ri,
                            when: when as u16,
                        });
                    }
                    Some(why) => {
                        blocked = true;
                        self.trace.notes.push(Note::GuardUnmet {
                            topic: t,
                            rule: ri,
                            why,
                        });
                    }
                }
            }
            if blocked {
                self.st.pending_escalation |= requested || self.st.pending_escalation;
            } else {
                let reason = if standing && !requested && !self.st.pending_escalation {
                    if topic.escalates_always() {
                        HandoffReason::SmartRouting
                    } else {
                        // "..., then call the 'Escalation' action": the steps are done.
                        if let Some(ri) = topic.rules.iter().position(|r| matches!(r, Rule::EscalateAfter { .. })) {
                            self.trace.notes.push(Note::EscalatesWhen {
                                topic: t,
                                rule: ri as u16,
                            });
                        }
                        HandoffReason::Triggered
                    }
                } else {
                    HandoffReason::CallerRequest
                };
                self.handoff(reason, Some(t));
                return;
            }
        }
        if self.trace.says.len() == self.says_start {
            self.say(Say::Reply(t));
        }
    }

    /// Whether one of the guard's requirements holds.
    fn guard_holds(&self, g: &Guard) -> bool {
        g.any.iter().any(|r| self.e.req_holds(self.st, r))
    }

    /// Whether one of the guard's exceptions holds.
    fn excepted(&self, g: &Guard) -> bool {
        g.unless.iter().any(|w| self.e.when_holds(self.st, w))
    }

    /// Checks a guard, doing the pre-work it asks for: asks for a missing
    /// slot, runs a required action this topic can run. `None` when met.
    fn guard(&mut self, t: TopicId, g: &Guard) -> Option<Unmet> {
        if self.guard_holds(g) {
            return None;
        }
        let mut first: Option<Unmet> = None;
        let mut ask: Option<SlotId> = None;
        for r in &g.any {
            match *r {
                Req::Slot(slot) => {
                    ask.get_or_insert(slot);
                    first.get_or_insert(Unmet::Missing);
                }
                Req::Action(action, in_topic) => match self.require_action(t, action, in_topic) {
                    None => return None,
                    Some(why) => {
                        first.get_or_insert(why);
                    }
                },
            }
            if self.st.end.is_some() {
                return first;
            }
        }
        if let Some(slot) = ask {
            self.ask(slot);
        }
        first
    }

    /// Checks an action guard, running the action first if this topic can.
    fn require_action(&mut self, t: TopicId, action: ActionId, in_topic: Option<TopicId>) -> Option<Unmet> {
        let satisfied = |st: &State<'_>| {
            st.succeeded_in(action)
                .is_some_and(|at| in_topic.is_none_or(|want| want == at))
        };
        if satisfied(self.st) {
            return None;
        }
        let here = self.e.agent.topics[t as usize].actions.contains(&action);
        let can_run_here = here && in_topic.is_none_or(|want| want == t);
        // Run it here unless it ran this turn: also when it succeeded only in
        // another topic and the rule names this one.
        if can_run_here && !self.tried_this_turn(action) {
            self.try_action(action, t, 0);
            if satisfied(self.st) {
                return None;
            }
        }
        let why = if self.st.succeeded_in(action).is_some() {
            Unmet::OtherTopic
        } else if self.st.failed[action as usize] && self.ran_this_turn(action) {
            Unmet::Failed
        } else if !can_run_here {
            Unmet::NotHere
        } else {
            Unmet::Missing
        };
        if matches!(why, Unmet::NotHere | Unmet::OtherTopic) && self.asked.is_none() {
            self.say(Say::NeedsAction(action));
        }
        Some(why)
    }

    fn ran_this_turn(&self, action: ActionId) -> bool {
        self.trace.notes[self.notes_start..]
            .iter()
            .any(|n| matches!(n, Note::Called(c) if c.action == action))
    }

    /// Ran, or was held back for a missing input, on this turn.
    fn tried_this_turn(&self, action: ActionId) -> bool {
        self.trace.notes[self.notes_start..].iter().any(|n| match n {
            Note::Called(c) => c.action == action,
            Note::NeedsInput { action: a, .. } => *a == action,
            Note::Held { action: a, .. } => *a == action,
            _ => false,
        })
    }

    /// Whether the topic's preconditions let `action` run now; does the
    /// pre-work they ask for first (one level deep: a required action's
    /// own preconditions are checked, not worked towards).
    fn preconditions(&mut self, action: ActionId, t: TopicId, depth: u8) -> bool {
        let topic = &self.e.agent.topics[t as usize];
        for (ri, rule) in topic.rules.iter().enumerate() {
            let Rule::Precondition { action: a, requires } = rule else {
                continue;
            };
            if *a != action {
                continue;
            }
            for r in requires {
                if self.e.req_holds(self.st, r) {
                    continue;
                }
                match *r {
                    Req::Slot(slot) => self.ask(slot),
                    Req::Action(pre, in_topic) => {
                        let here = topic.actions.contains(&pre) && in_topic.is_none_or(|w| w == t);
                        if depth == 0 && here && pre != action && !self.tried_this_turn(pre) {
                            self.try_action(pre, t, depth + 1);
                        }
                    }
                }
            }
            if self.st.end.is_some() {
                return false;
            }
            if !requires.iter().all(|r| self.e.req_holds(self.st, r)) {
                self.trace.notes.push(Note::Held {
                    topic: t,
                    rule: ri as u16,
                    action,
                });
                return false;
            }
        }
        true
    }

    /// Counts one more of `c`, saturating at the highest count a rule needs.
    fn count(&mut self, c: Counter) {
        if let Some(i) = self.e.agent.counter_index(c) {
            let cap = self.e.agent.counters[i].1;
            if self.st.counts[i] < cap {
                self.st.counts[i] += 1;
                self.trace.notes.push(Note::Counted {
                    counter: i as u16,
                    count: self.st.counts[i],
                });
            }
        }
    }

    /// Sets the flag of every trigger the utterance says; whether it said one.
    fn triggers(&mut self, text: &str) -> bool {
        let mut any = false;
        let agent = self.e.agent;
        let lower = text.to_lowercase();
        for (i, t) in agent.triggers.iter().enumerate() {
            if self.st.said[i] {
                continue;
            }
            if crate::policy::trigger_matches(t, &lower, self.st.awaiting, |s| agent.slots[s as usize].name.as_str()) {
                self.st.said[i] = true;
                self.trace.notes.push(Note::Said { trigger: i as u16 });
                any = true;
            }
        }
        any
    }

    fn try_action(&mut self, action: ActionId, t: TopicId, depth: u8) {
        if !self.preconditions(action, t, depth) {
            return;
        }
        self.call_or_ask(action, t);
    }

    /// Calls `action` in topic `t` (asking for a missing input instead).
    fn call_or_ask(&mut self, action: ActionId, t: TopicId) {
        let def = &self.e.agent.actions[action as usize];
        if let Some(&slot) = def.inputs.iter().find(|&&s| !self.st.filled(s)) {
            self.trace.notes.push(Note::NeedsInput { action, slot });
            self.ask(slot);
            return;
        }
        self.call(action, t, true);
    }

    /// Calls an action whose inputs are there: the chooser says whether it
    /// succeeds (the fixture's result is the nominal choice). `sets`: its
    /// outputs set the variables its binding maps them to (a procedure's
    /// `run` says what it sets itself). Whether it succeeded.
    fn call(&mut self, action: ActionId, t: TopicId, sets: bool) -> bool {
        let def = &self.e.agent.actions[action as usize];
        let nominal = !self.e.fixtures.actions[action as usize].fails;
        let ok = self.chooser.action_ok(action, nominal);
        self.trace.notes.push(Note::Called(Call { action, ok, topic: t }));
        if ok {
            self.st.set_succeeded(action, t);
            self.st.failed[action as usize] = false;
            if sets {
                for &(output, var) in &def.sets {
                    self.st.vars[var as usize] = crate::agent::compiled::value_code(action, output);
                    self.trace.notes.push(Note::Set { action, var });
                }
            }
            self.say(Say::Done(action));
        } else {
            self.st.failed[action as usize] = true;
            self.count(Counter::Failures(action));
            self.say(Say::Failed(action));
            let topic = &self.e.agent.topics[t as usize];
            if topic.can_escalate && topic.rules.contains(&Rule::EscalateOnFailure { action }) {
                self.trace.notes.push(Note::EscalatesOnFailure { topic: t, action });
                self.handoff(HandoffReason::ActionFailed, Some(t));
            }
        }
        ok
    }

    fn hang_up(&mut self) {
        self.say(Say::Goodbye);
        self.st.end = Some(End::AgentHangup);
    }

    fn ask(&mut self, slot: SlotId) {
        if self.asked.is_none() {
            self.asked = Some(slot);
            self.st.awaiting = Some(slot);
            self.say(Say::Ask(slot));
        }
    }

    fn say(&mut self, s: Say) {
        self.trace.says.push(s);
    }

    /// Escalation through the built-in Escalation topic: no topic rule runs.
    /// `about`: the topic the request itself classified to, when it is not
    /// the active one ("my order is broken, get me a human" with nothing
    /// active): its guards are bypassed as much as the active topic's.
    fn default_handoff(&mut self, reason: HandoffReason, about: Option<TopicId>) {
        self.pick = TopicPick::Builtin;
        if let Some(cond) = &self.e.agent.escalation.available
            && !self.e.holds(self.st, cond)
        {
            // The Escalation topic is gated (e.g. only after verification):
            // no handoff, whatever asked for it.
            self.trace.notes.push(Note::Unavailable { topic: None });
            if reason == HandoffReason::NoInput {
                self.hang_up();
            } else {
                self.say(Say::CannotTransfer);
            }
            return;
        }
        let from = self.st.topic;
        self.trace.notes.push(Note::DefaultPath { from, about });
        for t in [from, about].into_iter().flatten() {
            let topic = &self.e.agent.topics[t as usize];
            let guards = topic.guards().count() as u16;
            if guards > 0 {
                self.trace.notes.push(Note::Bypassed {
                    topic: t,
                    guards,
                    can_escalate: topic.can_escalate,
                });
            }
        }
        self.handoff(reason, None);
    }

    fn handoff(&mut self, reason: HandoffReason, topic: Option<TopicId>) {
        // A turn that hands off asks nothing: the question would go
        // unanswered ("Could you give me your account number? Connecting
        // you to a representative.").
        if self.asked.take().is_some() {
            let start = self.says_start;
            let mut i = start;
            while i < self.trace.says.len() {
                if matches!(self.trace.says[i], Say::Ask(_)) {
                    self.trace.says.remove(i);
                } else {
                    i += 1;
                }
            }
            self.st.awaiting = None;
        }
        if self.e.agent.escalation.flow.is_none() {
            // The agent says it is connecting, and nothing happens: with no
            // route the caller is never handed to a person.
            self.trace.notes.push(Note::NoRoute);
            self.st.pending_escalation = false;
            self.say(Say::Handoff);
            return;
        }
        self.trace.handoff = Some(Handoff {
            reason,
            topic,
            turn: self.st.turn,
        });
        self.handoff = true;
        self.st.pending_escalation = false;
        self.st.end = Some(End::Handoff);
        self.say(Say::Handoff);
    }
}
