//! The YAML formats exactly as written: serde types with source positions on
//! every value that validation may have to point at. Nothing here is
//! resolved; [`super::agent`] and [`super::suite`] turn these into the
//! checked, index-based forms the engine runs on.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

// ---------------------------------------------------------------- agents

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    pub agent: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub channel: Channel,
    pub escalation: EscalationSection,
    #[serde(default)]
    pub no_input: Option<NoInputSection>,
    #[serde(default)]
    pub dtmf: IndexMap<Spanned<String>, DtmfAction>,
    #[serde(default)]
    pub classifier: Option<ClassifierSection>,
    #[serde(default)]
    pub slots: IndexMap<Spanned<String>, Spanned<SlotSection>>,
    #[serde(default)]
    pub actions: IndexMap<Spanned<String>, ActionSection>,
    pub topics: Spanned<Vec<TopicSection>>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    #[default]
    Voice,
    Messaging,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSection {
    pub flow: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default = "yes")]
    pub default_topic: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoInputSection {
    pub reprompts: u32,
    pub then: NoInputThen,
    #[serde(default)]
    pub prompt: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NoInputThen {
    Escalate,
    Hangup,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DtmfAction {
    Escalate,
    Hangup,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierSection {
    #[serde(default)]
    pub threshold: Option<Spanned<f32>>,
    #[serde(default)]
    pub margin: Option<Spanned<f32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSection {
    #[serde(default)]
    pub kind: Option<SlotKind>,
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    /// What the agent says to ask for the slot.
    #[serde(default)]
    pub ask: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SlotKind {
    Email,
    Phone,
    Digits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSection {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub inputs: Vec<Spanned<String>>,
    #[serde(default)]
    pub outputs: Vec<Spanned<String>>,
    #[serde(default)]
    pub result: IndexMap<Spanned<String>, String>,
    #[serde(default)]
    pub fails: bool,
    /// What the agent says after the action succeeds; `{output}` is replaced.
    #[serde(default)]
    pub say: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSection {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub utterances: Vec<String>,
    #[serde(default)]
    pub can_escalate: bool,
    /// Overrides the catch-all reading of the description (smart routing).
    #[serde(default)]
    pub catch_all: Option<bool>,
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
    #[serde(default)]
    pub instructions: Vec<Spanned<String>>,
    /// What the agent says when the topic is picked and nothing else is due.
    #[serde(default)]
    pub reply: Option<String>,
}

fn yes() -> bool {
    true
}

// ---------------------------------------------------------------- suites

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    pub suite: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub agent: Spanned<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub fixtures: IndexMap<Spanned<String>, FixtureSection>,
    /// The auditor's statement of policy, checked on every conversation and
    /// by `fuzz` and `verify`.
    #[serde(default)]
    pub properties: Vec<PropertySection>,
    /// May be left out when the suite declares properties.
    #[serde(default)]
    pub conversations: Option<Spanned<Vec<ConversationSection>>>,
}

/// One declared property: a name and exactly one kind. The loader checks
/// that exactly one kind is given (an untagged enum would lose positions).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertySection {
    pub name: Spanned<String>,
    #[serde(default)]
    pub escalation_requires: Option<Spanned<RequiresSection>>,
    #[serde(default)]
    pub escalation_reachable: Option<Spanned<ReachableSection>>,
    #[serde(default)]
    pub action_requires: Option<Spanned<ActionRequiresSection>>,
}

/// What must hold at every Escalation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiresSection {
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
    #[serde(default)]
    pub slots: Vec<Spanned<String>>,
    /// The caller asked for a human (a request, or a keypad escalation key).
    #[serde(default)]
    pub requested: bool,
    /// Only escalations while this topic is in effect.
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachableSection {
    pub within: Spanned<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequiresSection {
    pub action: Spanned<String>,
    #[serde(default)]
    pub actions: Vec<Spanned<String>>,
    #[serde(default)]
    pub slots: Vec<Spanned<String>>,
}

/// The engine's choices on one turn, where a real agent could go either way:
/// whether an utterance the recogniser is uncertain about asks for a human,
/// which of two close topics the classifier takes, which action calls
/// fail or succeed regardless of the fixtures, and what an LLM that ignores
/// its instructions does unasked (`llm_escalates`, `llm_calls`). Fuzz and verify write these
/// into counterexamples so that they replay exactly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChooseSection {
    #[serde(default)]
    pub request: Option<bool>,
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
    #[serde(default)]
    pub fail: Vec<Spanned<String>>,
    #[serde(default)]
    pub succeed: Vec<Spanned<String>>,
    /// The LLM ignores its instructions and hands off on this turn.
    #[serde(default)]
    pub llm_escalates: bool,
    /// The LLM ignores its instructions and calls these actions on this turn.
    #[serde(default)]
    pub llm_calls: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureSection {
    #[serde(default)]
    pub result: Option<IndexMap<Spanned<String>, String>>,
    #[serde(default)]
    pub fails: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationSection {
    pub name: Spanned<String>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    /// A reason to skip the conversation; it is counted as skipped.
    #[serde(default)]
    pub skip: Option<String>,
    #[serde(default)]
    pub transcript: Option<Spanned<String>>,
    #[serde(default)]
    pub fixtures: IndexMap<Spanned<String>, FixtureSection>,
    pub turns: Spanned<Vec<Spanned<TurnSection>>>,
}

/// One caller event and what is expected after it. Exactly one of the event
/// keys must be present; the loader checks that (an untagged enum would lose
/// the source positions).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnSection {
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default)]
    pub silence: Option<bool>,
    #[serde(default)]
    pub dtmf: Option<Spanned<String>>,
    #[serde(default)]
    pub hangup: Option<bool>,
    #[serde(default)]
    pub choose: Option<Box<ChooseSection>>,
    #[serde(default)]
    pub expect: Option<Box<ExpectSection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSection {
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
    #[serde(default)]
    pub actions: Option<Vec<Spanned<String>>>,
    /// Actions that must be among this turn's runs (others may run too):
    /// Testing Center's superset match.
    #[serde(default)]
    pub actions_include: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub says: Option<Spanned<String>>,
    #[serde(default)]
    pub escalated: Option<bool>,
    #[serde(default)]
    pub handoff: Option<HandoffSection>,
    #[serde(default)]
    pub slots: Option<IndexMap<Spanned<String>, String>>,
    #[serde(default)]
    pub ended: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffSection {
    #[serde(default)]
    pub flow: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub reason: Option<HandoffReason>,
    #[serde(default)]
    pub topic: Option<Spanned<String>>,
    #[serde(default)]
    pub turn: Option<Spanned<u32>>,
    #[serde(default)]
    pub context: IndexMap<Spanned<String>, String>,
}

/// Why a conversation was handed to a human.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    CallerRequest,
    NoInput,
    Dtmf,
    SmartRouting,
    /// An action failed and an instruction escalates on that failure.
    ActionFailed,
    /// An instruction escalates on a caller event or a count ("if the
    /// caller asks for a human three times"), or after its steps are done.
    Triggered,
    /// The LLM handed off on its own, against its instructions (a choice
    /// explored only for the assurance levels, or pinned with
    /// `choose: { llm_escalates: true }`).
    LlmDecision,
}

impl HandoffReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffReason::CallerRequest => "caller_request",
            HandoffReason::NoInput => "no_input",
            HandoffReason::Dtmf => "dtmf",
            HandoffReason::SmartRouting => "smart_routing",
            HandoffReason::ActionFailed => "action_failed",
            HandoffReason::Triggered => "triggered",
            HandoffReason::LlmDecision => "llm_decision",
        }
    }
}
