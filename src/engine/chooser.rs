//! The engine's points of nondeterminism (an uncertain request, a
//! classifier tie, action outcomes, and for an LLM that ignores its
//! instructions, the tools it calls unasked), and the choosers that settle them:
//! the nominal one, and one that replays what a script pins (`choose:`).
//! Fuzzing and verification bring their own (see `explore::Branching`).

use crate::model::Choice;
use crate::policy::{ActionId, TopicId};

/// The engine's points of nondeterminism. The nominal chooser takes the
/// classifier's best topic and the fixture's outcome; explorers (fuzzing,
/// verification) take the other branch too.
pub trait Chooser {
    /// A new caller event is about to be processed (`turn` is 1-based).
    fn turn(&mut self, _turn: u32) {}
    /// The recogniser is uncertain whether the utterance asks for a human;
    /// `leaning` is the way its score leans. The first choice of a turn.
    fn request(&mut self, leaning: bool) -> bool {
        leaning
    }
    /// The two best topics scored within the classifier's margin.
    fn topic(&mut self, best: TopicId, _runner_up: TopicId) -> TopicId {
        best
    }
    /// An action runs; `ok` is the fixture's outcome.
    fn action_ok(&mut self, _action: ActionId, ok: bool) -> bool {
        ok
    }
    /// Whether the LLM may act against its instructions on this turn (the
    /// unbound LLM of the assurance levels: it calls whatever tool the
    /// agent's structure makes available). Only then does the engine ask
    /// the two choices below; an obedient LLM never acts unasked.
    fn unbound(&self) -> bool {
        false
    }
    /// The LLM, whatever its instructions say, hands off from `topic` now
    /// (the escalation tool is structurally there).
    fn llm_escalates(&mut self, _topic: TopicId) -> bool {
        false
    }
    /// The LLM, whatever its instructions say, calls `action` now (it is
    /// structurally available and its inputs are filled).
    fn llm_calls(&mut self, _action: ActionId) -> bool {
        false
    }
}

/// Takes the nominal branch at every choice.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nominal;
impl Chooser for Nominal {}

/// Replays the choices a script pins (`choose:`); nominal elsewhere.
#[derive(Clone, Debug)]
pub struct Scripted<'c> {
    choices: &'c [(u32, Choice)],
    current: Option<&'c Choice>,
}

impl<'c> Scripted<'c> {
    pub fn new(choices: &'c [(u32, Choice)]) -> Scripted<'c> {
        Scripted { choices, current: None }
    }
}

impl Chooser for Scripted<'_> {
    fn turn(&mut self, turn: u32) {
        self.current = self.choices.iter().find(|c| c.0 + 1 == turn).map(|c| &c.1);
    }
    fn request(&mut self, leaning: bool) -> bool {
        self.current.and_then(|c| c.request).unwrap_or(leaning)
    }
    fn topic(&mut self, best: TopicId, runner_up: TopicId) -> TopicId {
        match self.current.and_then(|c| c.topic) {
            Some(t) if t == runner_up => runner_up,
            _ => best,
        }
    }
    fn action_ok(&mut self, action: ActionId, ok: bool) -> bool {
        match self.current {
            Some(c) if c.fail.contains(&action) => false,
            Some(c) if c.succeed.contains(&action) => true,
            _ => ok,
        }
    }
    fn unbound(&self) -> bool {
        self.current.is_some_and(|c| c.llm_escalates || !c.llm_calls.is_empty())
    }
    fn llm_escalates(&mut self, _topic: TopicId) -> bool {
        self.current.is_some_and(|c| c.llm_escalates)
    }
    fn llm_calls(&mut self, action: ActionId) -> bool {
        self.current.is_some_and(|c| c.llm_calls.contains(&action))
    }
}
