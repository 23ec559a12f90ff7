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
}

/// Where an escalation goes: the Omni-Channel flow and what the agent says.
#[derive(Debug)]
pub struct RouteSpec {
    pub flow: Name,
    pub message: Option<String>,
    /// Whether the built-in Escalation topic takes requests no topic with
    /// `can_escalate` handles (the seed's default escalation).
    pub default_topic: bool,
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
}
