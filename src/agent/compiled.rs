//! The compiled agent: every name resolved to an index, instructions
//! compiled to rules, matchers and the classifier built. The engine runs on
//! this; it does not know which format the agent was written in.

use std::path::{Path, PathBuf};

use crate::agent::spec::{At, CmpOp, Src};
use crate::diag::{Diagnostic, Diagnostics, Pos, suggest};
use crate::model::raw::{Channel, DtmfAction, NoInputThen};
use crate::nlu::{Extractor, TopicModel, Vocab};
use crate::policy::{ActionId, Compiled, Counter, Rule, SlotId, TopicId, Trigger};

/// The name of the built-in Escalation topic of the default path.
pub const BUILTIN_ESCALATION: &str = "Escalation";

/// What a `topic` expectation names for a turn that no topic took.
pub const NO_TOPIC: &str = "none";

#[derive(Debug)]
pub struct Agent {
    pub name: String,
    pub path: PathBuf,
    pub description: Option<String>,
    pub channel: Channel,
    pub escalation: Escalation,
    pub no_input: NoInput,
    pub dtmf: Vec<(String, DtmfAction)>,
    pub threshold: f32,
    pub margin: f32,
    pub slots: Vec<Slot>,
    pub actions: Vec<Action>,
    pub topics: Vec<Topic>,
    /// The default fixture results, from the actions' `result`/`fails`.
    pub fixtures: Fixtures,
    pub vocab: Vocab,
    /// Conversation variables: actions set them, conditions read them.
    pub variables: Vec<Variable>,
    /// What the front end did not model and the defaults it chose.
    pub notes: Vec<At<String>>,
    /// Instructions that name what the agent does not have (when such names
    /// are not load errors): where, and what.
    pub lints: Vec<At<String>>,
    /// Caller events the rules wait for ("says it is an emergency"): the
    /// engine keeps a flag for each.
    pub triggers: Vec<Trigger>,
    /// What the rules count, with the highest count they need (counts
    /// saturate there, so states stay finite).
    pub counters: Vec<(Counter, u8)>,
    /// The literals procedures assign to variables; a variable holding one
    /// has the value code `index + 1` (see [`value_code`]).
    pub constants: Vec<String>,
}

/// How a variable's value is kept in the engine's state: `0` is its
/// default; `(action + 1) << 16 | output` an output of an action that
/// succeeded; `1..=0xFFFF` a constant (`constants[code - 1]`). Actions are
/// fewer than 65535, so the ranges never meet.
pub fn value_code(action: ActionId, output: u16) -> u32 {
    ((u32::from(action) + 1) << 16) | u32::from(output)
}

/// At most this many distinct constants (their codes stay below 0x10000).
pub const MAX_CONSTANTS: usize = 0xFFFF;

/// One step of a topic's procedure, with where it was written.
#[derive(Debug)]
pub struct Step {
    pub op: Op,
    pub src: Src,
}

/// A procedure as a flat list of steps with jumps (indices into the same
/// list), so the engine runs it in a loop, allocating nothing.
#[derive(Debug)]
pub enum Op {
    /// Runs the action; when it does not succeed (it failed, or an input is
    /// missing), jumps to `skip`, past the steps under the `run`.
    Run { action: ActionId, skip: u32 },
    /// Sets a variable.
    Set { var: VarId, value: Value },
    /// `if`: unless the condition holds, jumps to `to` (the `else`, or past).
    Unless { cond: Condition, to: u32 },
    /// The end of an `if`'s block with an `else`: jumps past the `else`.
    Jump { to: u32 },
    /// Leaves the topic: the turn goes on in topic `to`.
    Transition { to: TopicId },
}

/// What a procedure's `set` assigns.
#[derive(Clone, Copy, Debug)]
pub enum Value {
    /// A value code (a constant, or an action's output): see [`value_code`].
    Code(u32),
    /// Another variable's value, as it stands; `default` is the code of
    /// its default (a constant), for when it still has it.
    Var { var: VarId, default: u32 },
}

/// Which procedure of a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// `before_reasoning`.
    Before,
    /// The steps of `instructions: ->`.
    Instructions,
    /// `after_reasoning`.
    After,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Before => "before_reasoning",
            Phase::Instructions => "instructions",
            Phase::After => "after_reasoning",
        }
    }
}

pub type VarId = u16;

#[derive(Debug)]
pub struct Variable {
    pub name: String,
    pub default: Option<String>,
}

/// A deterministic condition on variables (a rule expression, an Agent
/// Script `available when`).
#[derive(Debug)]
pub struct Condition {
    pub name: String,
    pub expr: Cond,
}

#[derive(Debug)]
pub enum Cond {
    Cmp(Comparison),
    Truthy(VarId),
    Not(Box<Cond>),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Const(bool),
}

#[derive(Debug)]
pub struct Comparison {
    pub var: VarId,
    pub op: CmpOp,
    pub value: Option<String>,
}

impl Condition {
    /// "IsVerified (isVerified == true)", for transcripts and `explain`;
    /// the name alone when it is the expression as written.
    pub fn describe(&self, agent: &Agent) -> String {
        let text = self.expr.describe(agent);
        if text == self.name {
            text
        } else {
            format!("{} ({text})", self.name)
        }
    }
}

impl Condition {
    /// The expression alone, with variables by name: "email_on_file == False".
    pub fn expression(&self, agent: &Agent) -> String {
        self.expr.describe(agent)
    }
}

impl Cond {
    /// Calls `f` with every variable the condition reads (repeats included).
    pub fn for_each_var(&self, f: &mut impl FnMut(VarId)) {
        match self {
            Cond::Cmp(cmp) => f(cmp.var),
            Cond::Truthy(v) => f(*v),
            Cond::Not(c) => c.for_each_var(f),
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| c.for_each_var(f)),
            Cond::Const(_) => {}
        }
    }

    fn describe(&self, agent: &Agent) -> String {
        let var = |v: &VarId| agent.variables[*v as usize].name.as_str();
        let join = |cs: &[Cond], sep: &str| {
            let parts: Vec<String> = cs
                .iter()
                .map(|c| match c {
                    Cond::All(_) | Cond::Any(_) => format!("({})", c.describe(agent)),
                    _ => c.describe(agent),
                })
                .collect();
            parts.join(sep)
        };
        match self {
            Cond::Cmp(c) => match &c.value {
                Some(v) => format!("{} {} {v}", var(&c.var), c.op.symbol()),
                None => format!("{} {}", var(&c.var), c.op.symbol()),
            },
            Cond::Truthy(v) => var(v).to_string(),
            Cond::Not(c) => format!("not {}", c.describe(agent)),
            Cond::All(cs) => join(cs, " and "),
            Cond::Any(cs) => join(cs, " or "),
            Cond::Const(b) => if *b { "True" } else { "False" }.to_string(),
        }
    }
}

#[derive(Debug)]
pub struct Escalation {
    /// The Omni-Channel flow a handoff goes to; none when no route exists.
    pub flow: Option<String>,
    /// Which surface's route was taken, and why (metadata has one per surface).
    pub surface: Option<String>,
    pub message: String,
    pub default_topic: bool,
    /// When the built-in Escalation topic may take a request at all.
    pub available: Option<Condition>,
}

#[derive(Debug)]
pub struct NoInput {
    pub reprompts: u32,
    pub then: NoInputThen,
    pub prompt: String,
}

#[derive(Debug)]
pub struct Slot {
    pub name: String,
    pub ask: String,
    pub extractor: Extractor,
    /// Where its pattern (or, for a kind, its name) is written, for errors
    /// found after loading: fuzz and verify refuse a pattern too complex to
    /// generate values from.
    pub src: Src,
}

#[derive(Debug)]
pub struct Action {
    pub name: String,
    pub description: Option<String>,
    pub inputs: Vec<SlotId>,
    pub outputs: Vec<String>,
    pub say: Option<String>,
    /// Variables set from its outputs when it succeeds: (output, variable).
    pub sets: Vec<(u16, VarId)>,
}

#[derive(Debug)]
pub struct Topic {
    pub name: String,
    pub description: String,
    /// Example caller utterances (the classifier learns from them).
    pub utterances: Vec<String>,
    pub can_escalate: bool,
    pub actions: Vec<ActionId>,
    pub instructions: Vec<Instruction>,
    /// All rules of all instructions, in order.
    pub rules: Vec<Rule>,
    /// For each rule, the 1-based number of the instruction it came from.
    pub rule_origins: Vec<u16>,
    pub reply: Option<String>,
    pub model: TopicModel,
    /// When the classifier may pick it at all.
    pub available: Option<Condition>,
    /// When its escalation may happen at all (a structural guard).
    pub escalation_when: Option<Condition>,
    /// Actions it runs as tools, each when its condition holds.
    pub runs: Vec<(ActionId, Option<Condition>)>,
    /// Procedures the engine runs exactly: before the instructions, the
    /// instructions' own steps, after the reasoning step.
    pub before: Vec<Step>,
    pub procedure: Vec<Step>,
    pub after: Vec<Step>,
}

impl Topic {
    /// Whether it has procedure steps that run before its reasoning.
    pub fn has_procedures(&self) -> bool {
        !self.before.is_empty() || !self.procedure.is_empty()
    }

    pub fn steps(&self, phase: Phase) -> &[Step] {
        match phase {
            Phase::Before => &self.before,
            Phase::Instructions => &self.procedure,
            Phase::After => &self.after,
        }
    }

    pub fn guards(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.is_guard())
    }

    pub fn escalates_always(&self) -> bool {
        self.rules.contains(&Rule::EscalateAlways)
    }

    /// The instruction a rule came from.
    pub fn origin(&self, rule: usize) -> &Instruction {
        &self.instructions[self.rule_origins[rule] as usize - 1]
    }

    /// What verdicts on this topic's guards assume: the clauses of its
    /// instructions that could open a way to a human and are not modelled.
    pub fn assumptions(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in self.instructions.iter().filter_map(|i| i.compiled.assumption()) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        // A guard written under a procedure's `if` binds only while the
        // condition holds; the engine applies it always, which is stronger.
        for ins in &self.instructions {
            if let Some(cond) = &ins.only_if
                && ins.compiled.rules().iter().any(Rule::is_guard)
            {
                let a = format!("the condition {cond:?} of {:?} always holds", ins.text);
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        // An instruction that says a guarded requirement is not needed
        // contradicts the guard: the verdict assumes it never applies.
        for ins in &self.instructions {
            let contradicts = ins.compiled.waives.iter().any(|w| {
                self.guards().any(|g| match g {
                    Rule::Require(g) => g.any.len() == 1 && crate::lint::same_req(&g.any[0], w),
                    _ => false,
                })
            });
            let a = format!("{:?} never applies", ins.text);
            if contradicts && !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }
}

#[derive(Debug)]
pub struct Instruction {
    pub text: String,
    pub src: Src,
    pub compiled: Compiled,
    /// Written under a procedure's `if`: the condition, as written.
    pub only_if: Option<String>,
}

/// What each action returns in a run: the agent's defaults, overridden by a
/// suite or conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fixtures {
    pub actions: Vec<ActionFixture>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionFixture {
    pub fails: bool,
    /// Values by output index; outputs without a value are absent.
    pub outputs: Vec<Option<String>>,
}

/// How a handoff with no route shows its flow.
pub const NO_ROUTE: &str = "(no route)";

impl Agent {
    /// The flow a handoff goes to, or [`NO_ROUTE`].
    pub fn flow(&self) -> &str {
        self.escalation.flow.as_deref().unwrap_or(NO_ROUTE)
    }

    pub fn topic_id(&self, name: &str) -> Option<TopicId> {
        self.topics.iter().position(|t| t.name == name).map(|i| i as TopicId)
    }

    pub fn action_id(&self, name: &str) -> Option<ActionId> {
        self.actions.iter().position(|a| a.name == name).map(|i| i as ActionId)
    }

    pub fn slot_id(&self, name: &str) -> Option<SlotId> {
        self.slots.iter().position(|s| s.name == name).map(|i| i as SlotId)
    }

    /// Whether `name` is a topic a suite may expect: a configured one, the
    /// built-in Escalation topic (keypad and silence escalations use it even
    /// when requests do not), or `none` for a turn no topic took.
    pub fn knows_topic(&self, name: &str) -> bool {
        self.topic_id(name).is_some() || name == BUILTIN_ESCALATION || name == NO_TOPIC
    }

    pub fn trigger_index(&self, t: &Trigger) -> Option<usize> {
        self.triggers.iter().position(|x| x == t)
    }

    pub fn counter_index(&self, c: Counter) -> Option<usize> {
        self.counters.iter().position(|x| x.0 == c)
    }

    pub fn dtmf_action(&self, digits: &str) -> Option<DtmfAction> {
        self.dtmf.iter().find(|(d, _)| d == digits).map(|(_, a)| *a)
    }

    /// Loads an agent file, whatever its format, through the shared phases.
    pub fn load(path: &Path) -> Result<Agent, Diagnostics> {
        crate::agent::load(path)
    }

    /// Validates and compiles agent YAML already in memory; `path` names it in errors.
    pub fn from_yaml(path: &Path, text: &str) -> Result<Agent, Diagnostics> {
        crate::agent::build(crate::agent::front::yaml::from_text(path, text)?)
    }
}

/// "account_number" -> "account number", for what the agent says.
pub(crate) fn humanize(name: &str) -> String {
    name.replace(['_', '-'], " ")
}

/// Keypad sequences: digits, `*` and `#`.
pub(crate) fn is_keypad_sequence(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

/// Applies a default or overriding result onto a fixture: each item is an
/// output name with where it was written and the value, and an unknown
/// output is a located error.
pub(crate) fn apply_result<'a>(
    errs: &mut Diagnostics,
    action: &str,
    outputs: &[String],
    result: impl IntoIterator<Item = (&'a Path, Pos, &'a str, &'a str)>,
    fx: &mut ActionFixture,
) {
    for (file, pos, out, value) in result {
        match outputs.iter().position(|o| o == out) {
            Some(i) => fx.outputs[i] = Some(value.to_string()),
            None => errs.push(
                Diagnostic::new(file, pos, format!("action '{action}' has no output '{out}'"))
                    .with_help(suggest(out, outputs.iter().map(String::as_str))),
            ),
        }
    }
}
