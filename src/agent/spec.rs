//! The format-neutral agent model: what an agent is, whatever file it was
//! written in. Front ends fill it; the shared phases (validation, reference
//! resolution, compilation) read it. Names are still names here, not
//! indices, and every element keeps where it was written ([`Src`]), so an
//! error, `explain` or a transcript can point at the file and line a user
//! must edit: the YAML key, or the XML element.

use std::path::Path;
use std::sync::Arc;

use crate::diag::{Diagnostic, Pos};
use crate::model::raw::{Channel, DtmfAction, NoInputThen};

/// Where an element was written: its file (an agent may span several, as
/// metadata does) and its position there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Src {
    pub file: Arc<Path>,
    pub pos: Pos,
}

impl Src {
    pub fn new(file: &Arc<Path>, pos: Pos) -> Src {
        Src {
            file: file.clone(),
            pos,
        }
    }

    /// A load error at this element.
    pub fn error(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, self.pos, message)
    }
}

/// A value as written, with where.
#[derive(Clone, Debug, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub src: Src,
}

impl<T> At<T> {
    pub fn new(value: T, src: Src) -> At<T> {
        At { value, src }
    }
}

/// A name as written.
pub type Name = At<String>;

#[derive(Debug)]
pub struct AgentSpec {
    /// The main file: what the agent is named after in reports.
    pub file: Arc<Path>,
    pub name: Name,
    pub description: Option<String>,
    pub channel: Channel,
    pub escalation: RouteSpec,
    pub no_input: Option<NoInputSpec>,
    pub dtmf: Vec<(Name, DtmfAction)>,
    pub threshold: Option<At<f32>>,
    pub margin: Option<At<f32>>,
    pub slots: Vec<SlotSpec>,
    pub actions: Vec<ActionSpec>,
    pub topics: Vec<TopicSpec>,
    /// Where the topics are listed, for errors about the list as a whole.
    pub topics_src: Src,
    /// Conversation variables that actions set and conditions read.
    pub variables: Vec<VariableSpec>,
    /// Whether an instruction that names an action, slot or topic the agent
    /// does not have is a load error (a typo in a file written for baton)
    /// or a warning (a deployed agent loads whatever its prose says).
    pub strict_references: bool,
    /// What the front end read but does not model, and the defaults it
    /// chose where the format is silent: `explain` lists them.
    pub notes: Vec<At<String>>,
    /// What the front end found wrong but not fatal: shown as warnings.
    pub lints: Vec<At<String>>,
}

/// A conversation variable.
#[derive(Debug)]
pub struct VariableSpec {
    pub name: Name,
    /// Its value before any action sets it; none means empty.
    pub default: Option<String>,
}

/// A deterministic condition on variables (a rule expression, an Agent
/// Script `available when`).
#[derive(Clone, Debug)]
pub struct ConditionSpec {
    /// The rule's name (or the expression as written), for transcripts and
    /// `explain`.
    pub name: Name,
    pub expr: CondSpec,
}

/// A condition's expression.
#[derive(Clone, Debug)]
pub enum CondSpec {
    Cmp(ComparisonSpec),
    /// The variable is set and not false, zero or empty.
    Truthy(Name),
    Not(Box<CondSpec>),
    All(Vec<CondSpec>),
    Any(Vec<CondSpec>),
    Const(bool),
}

impl CondSpec {
    /// Every variable the condition reads.
    pub fn variables(&self, out: &mut Vec<Name>) {
        match self {
            CondSpec::Cmp(c) => out.push(c.variable.clone()),
            CondSpec::Truthy(v) => out.push(v.clone()),
            CondSpec::Not(c) => c.variables(out),
            CondSpec::All(cs) | CondSpec::Any(cs) => cs.iter().for_each(|c| c.variables(out)),
            CondSpec::Const(_) => {}
        }
    }
}

#[derive(Clone, Debug)]
pub struct ComparisonSpec {
    pub variable: Name,
    pub op: CmpOp,
    /// The right-hand side; none for `IsEmpty` and `IsNotEmpty`.
    pub value: Option<String>,
}

/// Comparison operators, as rule expressions name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    IsEmpty,
    IsNotEmpty,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::IsEmpty => "is empty",
            CmpOp::IsNotEmpty => "is not empty",
        }
    }
}

/// Where an escalation goes: the Omni-Channel flow and what the agent says.
#[derive(Debug)]
pub struct RouteSpec {
    /// The flow; none when the agent names no route (it then "escalates"
    /// into nothing: a lint, and a transcript note).
    pub flow: Option<Name>,
    /// Which channel surface the route was taken from, and why.
    pub surface: Option<String>,
    pub message: Option<String>,
    /// Whether the built-in Escalation topic takes requests no topic with
    /// `can_escalate` handles (the seed's default escalation).
    pub default_topic: bool,
    /// When the built-in Escalation topic may take a request at all.
    pub available_when: Option<ConditionSpec>,
}

#[derive(Debug)]
pub struct NoInputSpec {
    pub reprompts: u32,
    pub then: NoInputThen,
    pub prompt: Option<String>,
}

#[derive(Debug)]
pub struct SlotSpec {
    pub name: Name,
    pub shape: SlotShape,
    /// What the agent says to ask for it.
    pub ask: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SlotShape {
    Email,
    Phone,
    Digits,
    /// A regex; its capture (or whole match) is the value.
    Pattern(At<String>),
    /// Whatever the caller answers when asked for it.
    Answer,
}

#[derive(Debug)]
pub struct ActionSpec {
    pub name: Name,
    pub description: Option<String>,
    /// The slots it needs, by name.
    pub inputs: Vec<Name>,
    pub outputs: Vec<Name>,
    /// What a run returns by default: whether it fails, output values.
    pub fails: bool,
    pub result: Vec<(Name, String)>,
    /// What the agent says after it succeeds; `{output}` is replaced.
    pub say: Option<String>,
    /// Another name instructions may use for it (a label such as "Get
    /// Sessions" for `Get_Sessions_179...`).
    pub label: Option<String>,
    /// Variables its outputs set when it succeeds: (output, variable).
    pub sets: Vec<(Name, Name)>,
}

#[derive(Debug)]
pub struct TopicSpec {
    pub name: Name,
    pub description: String,
    pub utterances: Vec<String>,
    pub can_escalate: bool,
    /// Overrides the catch-all reading of the description (smart routing).
    pub catch_all: Option<bool>,
    /// The actions it may run, by name.
    pub actions: Vec<Name>,
    /// In the order the agent reads them.
    pub instructions: Vec<At<String>>,
    /// What the agent says when the topic is picked and nothing else is due.
    pub reply: Option<String>,
    /// When the classifier may pick it at all.
    pub available_when: Option<ConditionSpec>,
    /// When its escalation may happen at all (Agent Script's `available
    /// when` on `@utils.escalate`): a structural guard.
    pub escalation_when: Option<ConditionSpec>,
    /// Names that stand for the Escalation action in its instructions
    /// (Agent Script's `escalate_to_human: @utils.escalate` binding name).
    pub escalation_aliases: Vec<String>,
    /// Actions the topic runs as a tool the model calls (Agent Script
    /// bindings), each with its `available when`.
    pub runs: Vec<RunSpec>,
    /// Deterministic procedures (Agent Script); empty elsewhere.
    pub procedures: Procedures,
}

/// An action a topic runs when it is active and the action is available.
#[derive(Debug)]
pub struct RunSpec {
    pub action: Name,
    pub when: Option<ConditionSpec>,
}

/// A topic's deterministic procedures (Agent Script's `before_reasoning`,
/// `instructions: ->` and `after_reasoning`): steps the engine runs
/// exactly, in order, on every turn the topic handles.
#[derive(Debug, Default)]
pub struct Procedures {
    /// `before_reasoning`: before the instructions.
    pub before: Vec<StepSpec>,
    /// The `run`/`set`/`if`/`transition` steps of `instructions: ->`
    /// (their text lines are the topic's instructions).
    pub instructions: Vec<StepSpec>,
    /// `after_reasoning`: after the reasoning step.
    pub after: Vec<StepSpec>,
    /// Instructions (by index into [`TopicSpec::instructions`]) that apply
    /// only while a procedure's `if` holds, with the condition as written.
    pub conditional: Vec<(usize, String)>,
}

impl Procedures {
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.instructions.is_empty() && self.after.is_empty()
    }
}

/// One step of a procedure, with where it was written.
#[derive(Debug)]
pub struct StepSpec {
    pub kind: StepKind,
    pub src: Src,
}

#[derive(Debug)]
pub enum StepKind {
    /// `run @actions.X`; `then` runs only when it succeeded.
    Run { action: Name, then: Vec<StepSpec> },
    /// `set @variables.V = VALUE`.
    Set { variable: Name, value: ValueSpec },
    /// `if COND:` / `else:`.
    If {
        cond: ConditionSpec,
        then: Vec<StepSpec>,
        orelse: Vec<StepSpec>,
    },
    /// `transition to @subagent.X`: the turn goes on in topic X.
    Transition { to: Name },
}

/// What a `set` assigns.
#[derive(Debug)]
pub enum ValueSpec {
    /// A literal (`True`, `3`, `"x"`); none is empty (`None`, `""`).
    Literal(Option<String>),
    /// Another variable's value.
    Variable(Name),
    /// An output of the `run` the `set` is under.
    Output(Name),
}
