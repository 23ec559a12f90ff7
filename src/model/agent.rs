//! The checked agent: every name resolved to an index, instructions compiled
//! to rules, matchers and the classifier built. The engine runs on this.

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::raw::{self, Channel, DtmfAction, NoInputThen};
use crate::diag::{Diagnostic, Diagnostics, Pos, suggest};
use crate::nlu::{Extractor, TopicModel, Vocab};
use crate::policy::{self, ActionId, Compiled, Names, Rule, SlotId, TopicId};

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
}

#[derive(Debug)]
pub struct Escalation {
    pub flow: String,
    pub message: String,
    pub default_topic: bool,
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
    /// Where the slot's `pattern` (or, for a `kind`, its name) is, for
    /// errors found after loading: fuzz and verify refuse a pattern too
    /// complex to generate values from.
    pub pos: Pos,
}

#[derive(Debug)]
pub struct Action {
    pub name: String,
    pub description: Option<String>,
    pub inputs: Vec<SlotId>,
    pub outputs: Vec<String>,
    pub say: Option<String>,
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
}

impl Topic {
    pub fn guards(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.is_guard())
    }

    pub fn escalates_always(&self) -> bool {
        self.rules.contains(&Rule::EscalateAlways)
    }
}

#[derive(Debug)]
pub struct Instruction {
    pub text: String,
    pub pos: Pos,
    pub compiled: Compiled,
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

impl Agent {
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

    pub fn dtmf_action(&self, digits: &str) -> Option<DtmfAction> {
        self.dtmf.iter().find(|(d, _)| d == digits).map(|(_, a)| *a)
    }

    /// Loads, validates and compiles an agent file.
    pub fn load(path: &Path) -> Result<Agent, Diagnostics> {
        let text = super::yaml::read_text(path)?;
        Agent::from_yaml(path, &text)
    }

    /// Validates and compiles agent YAML already in memory; `path` names it in errors.
    pub fn from_yaml(path: &Path, text: &str) -> Result<Agent, Diagnostics> {
        let file: raw::AgentFile = super::yaml::parse(path, text, "an agent config")?;
        build(path, file)
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

fn build(path: &Path, file: raw::AgentFile) -> Result<Agent, Diagnostics> {
    let mut errs = Diagnostics::default();
    let err = |errs: &mut Diagnostics, pos: Pos, msg: String, help: Option<String>| {
        errs.push(Diagnostic::new(path, pos, msg).with_help(help));
    };

    // Slots.
    let mut slots = Vec::new();
    for (name, def) in &file.slots {
        let extractor = match (&def.value.kind, &def.value.pattern) {
            (Some(_), Some(p)) => {
                err(
                    &mut errs,
                    Pos::of(p),
                    format!(
                        "slot '{}' has both `kind` and `pattern`: expected one of them",
                        name.value
                    ),
                    None,
                );
                continue;
            }
            (None, None) => {
                err(
                    &mut errs,
                    Pos::of(def),
                    format!("slot '{}' needs `kind` (email, phone, digits) or `pattern`", name.value),
                    None,
                );
                continue;
            }
            (Some(raw::SlotKind::Email), None) => Extractor::email(),
            (Some(raw::SlotKind::Phone), None) => Extractor::phone(),
            (Some(raw::SlotKind::Digits), None) => Extractor::digits(),
            (None, Some(p)) => match crate::nlu::small_regex(&p.value) {
                Ok(re) => Extractor::pattern(re),
                Err(e) => {
                    err(
                        &mut errs,
                        Pos::of(p),
                        format!(
                            "invalid regex in slot '{}': {}",
                            name.value,
                            crate::nlu::regex_error_detail(&e)
                        ),
                        None,
                    );
                    continue;
                }
            },
        };
        slots.push(Slot {
            name: name.value.clone(),
            ask: def
                .value
                .ask
                .clone()
                .unwrap_or_else(|| format!("Could you give me your {}?", humanize(&name.value))),
            extractor,
            pos: def.value.pattern.as_ref().map_or(Pos::of(name), Pos::of),
        });
    }
    let slot_names: Vec<String> = file.slots.keys().map(|k| k.value.clone()).collect();
    let slot_ref = |errs: &mut Diagnostics, s: &Spanned<String>, what: &str| -> Option<SlotId> {
        let id = slot_names.iter().position(|n| *n == s.value);
        if id.is_none() {
            err(
                errs,
                Pos::of(s),
                format!("{what} names unknown slot '{}'", s.value),
                suggest(&s.value, slot_names.iter().map(String::as_str)),
            );
        }
        id.map(|i| i as SlotId)
    };

    // Actions and their default fixtures.
    let mut actions = Vec::new();
    let mut fixtures = Fixtures::default();
    for (name, def) in &file.actions {
        if name.value.eq_ignore_ascii_case(BUILTIN_ESCALATION) {
            err(
                &mut errs,
                Pos::of(name),
                "'Escalation' is the built-in escalation action and cannot be redefined".to_string(),
                None,
            );
        }
        let inputs = def
            .inputs
            .iter()
            .filter_map(|s| slot_ref(&mut errs, s, &format!("action '{}'", name.value)))
            .collect();
        let outputs: Vec<String> = def.outputs.iter().map(|o| o.value.clone()).collect();
        let mut fx = ActionFixture {
            fails: def.fails,
            outputs: vec![None; outputs.len()],
        };
        apply_result(path, &mut errs, &name.value, &outputs, &def.result, &mut fx);
        fixtures.actions.push(fx);
        actions.push(Action {
            name: name.value.clone(),
            description: def.description.clone(),
            inputs,
            outputs,
            say: def.say.clone(),
        });
    }
    let action_names: Vec<String> = actions.iter().map(|a| a.name.clone()).collect();

    // Topics.
    let topic_names: Vec<String> = file.topics.value.iter().map(|t| t.name.value.clone()).collect();
    if file.topics.value.is_empty() && !file.escalation.default_topic {
        err(
            &mut errs,
            Pos::of(&file.topics),
            "no topics and no default Escalation topic: expected at least one topic".to_string(),
            None,
        );
    }
    let mut vocab = Vocab::new();
    let mut topics = Vec::new();
    for (i, t) in file.topics.value.iter().enumerate() {
        if topic_names[..i].contains(&t.name.value) {
            err(
                &mut errs,
                Pos::of(&t.name),
                format!("duplicate topic name '{}'", t.name.value),
                None,
            );
        }
        let mut topic_actions = Vec::new();
        for a in &t.actions {
            match action_names.iter().position(|n| *n == a.value) {
                Some(id) => topic_actions.push(id as ActionId),
                None => err(
                    &mut errs,
                    Pos::of(a),
                    format!("topic '{}' names unknown action '{}'", t.name.value, a.value),
                    suggest(&a.value, action_names.iter().map(String::as_str)),
                ),
            }
        }
        let names = Names {
            slots: &slot_names,
            actions: &action_names,
            topics: &topic_names,
        };
        let mut instructions = Vec::new();
        let mut rules = Vec::new();
        let mut rule_origins = Vec::new();
        for ins in &t.instructions {
            let compiled = match policy::compile(&ins.value, &names) {
                Ok(c) => c,
                Err(u) => {
                    err(
                        &mut errs,
                        Pos::of(ins),
                        format!("instruction names unknown {} '{}'", u.kind, u.name),
                        suggest(&u.name, u.candidates.iter().map(String::as_str)),
                    );
                    Compiled::Text
                }
            };
            let rs = compiled.rules();
            for r in rs {
                if let Rule::RunAction { action } = r
                    && !topic_actions.contains(action)
                {
                    err(
                        &mut errs,
                        Pos::of(ins),
                        format!(
                            "instruction runs '{}', which is not in the actions of topic '{}'",
                            action_names[*action as usize], t.name.value
                        ),
                        Some(format!("add it to `actions` of '{}'", t.name.value)),
                    );
                }
            }
            rules.extend(rs.iter().cloned());
            rule_origins.extend(std::iter::repeat_n(instructions.len() as u16 + 1, rs.len()));
            instructions.push(Instruction {
                text: ins.value.clone(),
                pos: Pos::of(ins),
                compiled,
            });
        }
        let examples = t.utterances.iter().map(|u| vocab.learn(u)).collect();
        let description = vocab.learn(&t.description);
        let catch_all = t
            .catch_all
            .unwrap_or_else(|| policy::reads_as_catch_all(&t.description));
        topics.push(Topic {
            name: t.name.value.clone(),
            description: t.description.clone(),
            utterances: t.utterances.clone(),
            can_escalate: t.can_escalate,
            actions: topic_actions,
            instructions,
            rules,
            rule_origins,
            reply: t.reply.clone(),
            model: TopicModel {
                examples,
                description,
                catch_all,
            },
        });
    }

    // A guard that names a topic where the action cannot run can never hold.
    for t in &topics {
        for (rule, origin) in t.rules.iter().zip(&t.rule_origins) {
            if let Rule::RequireAction {
                action,
                topic: Some(at),
            } = rule
            {
                let at = &topics[*at as usize];
                if !at.actions.contains(action) {
                    let ins = &t.instructions[*origin as usize - 1];
                    err(
                        &mut errs,
                        ins.pos,
                        format!(
                            "instruction requires '{}' in topic '{}', which does not list that action",
                            actions[*action as usize].name, at.name
                        ),
                        Some(format!("add it to `actions` of '{}'", at.name)),
                    );
                }
            }
        }
    }

    let mut dtmf = Vec::new();
    for (digits, action) in &file.dtmf {
        if !is_keypad_sequence(&digits.value) {
            err(
                &mut errs,
                Pos::of(digits),
                format!(
                    "dtmf key '{}' is not a keypad sequence: expected digits, '*' or '#'",
                    digits.value
                ),
                None,
            );
        }
        dtmf.push((digits.value.clone(), *action));
    }
    if let (Some(first), Channel::Messaging) = (file.dtmf.keys().next(), file.channel) {
        err(
            &mut errs,
            Pos::of(first),
            "a messaging agent cannot have `dtmf` shortcuts: expected channel: voice".to_string(),
            None,
        );
    }

    let (mut threshold, mut margin) = (0.3f32, 0.05f32);
    if let Some(c) = &file.classifier {
        for (field, target, name) in [
            (&c.threshold, &mut threshold, "threshold"),
            (&c.margin, &mut margin, "margin"),
        ] {
            if let Some(v) = field {
                if !(0.0..=1.0).contains(&v.value) {
                    err(
                        &mut errs,
                        Pos::of(v),
                        format!(
                            "classifier {name} {} is out of range: expected a number from 0 to 1",
                            v.value
                        ),
                        None,
                    );
                }
                *target = v.value;
            }
        }
    }

    let no_input = match &file.no_input {
        Some(n) => NoInput {
            reprompts: n.reprompts,
            then: n.then,
            prompt: n.prompt.clone().unwrap_or_else(default_reprompt),
        },
        None => NoInput {
            reprompts: 2,
            then: NoInputThen::Hangup,
            prompt: default_reprompt(),
        },
    };

    check_names(path, &file, &mut errs);
    errs.into_result(())?;
    Ok(Agent {
        name: file.agent.value,
        path: path.to_path_buf(),
        description: file.description,
        channel: file.channel,
        escalation: Escalation {
            flow: file.escalation.flow,
            message: file
                .escalation
                .message
                .unwrap_or_else(|| "Connecting you to a representative.".to_string()),
            default_topic: file.escalation.default_topic,
        },
        no_input,
        dtmf,
        threshold,
        margin,
        slots,
        actions,
        topics,
        fixtures,
        vocab,
    })
}

fn default_reprompt() -> String {
    "Are you still there?".to_string()
}

/// Names the engine and the handoff context rely on: present, unique,
/// not reserved, and few enough for the engine's 16-bit indices.
fn check_names(path: &Path, file: &raw::AgentFile, errs: &mut Diagnostics) {
    let mut err = |pos: Pos, msg: String| errs.push(Diagnostic::new(path, pos, msg));
    let limit = u16::MAX as usize;
    // Every name the author wrote (not references to them) is checked once.
    let names = std::iter::once(("agent name", &file.agent))
        .chain(file.topics.value.iter().map(|t| ("topic name", &t.name)))
        .chain(file.actions.keys().map(|a| ("action name", a)))
        .chain(file.slots.keys().map(|s| ("slot name", s)))
        .chain(
            file.actions
                .values()
                .flat_map(|a| a.outputs.iter().map(|o| ("output name", o))),
        );
    for (kind, name) in names {
        if let Err(d) = super::name::check(path, Pos::of(name), kind, &name.value) {
            err(d.pos, d.message);
        }
    }
    if file.agent.value.trim().is_empty() {
        err(Pos::of(&file.agent), "empty agent name: expected a name".to_string());
    }
    if file.escalation.flow.trim().is_empty() {
        err(
            Pos::of(&file.agent),
            "empty `escalation.flow`: expected the Omni-Channel flow's name".to_string(),
        );
    }
    for (kind, count, pos) in [
        ("slots", file.slots.len(), Pos::of(&file.agent)),
        ("actions", file.actions.len(), Pos::of(&file.agent)),
        ("topics", file.topics.value.len(), Pos::of(&file.topics)),
    ] {
        if count > limit {
            err(pos, format!("{count} {kind}: at most {limit} are supported"));
        }
    }
    for name in file.slots.keys().chain(file.actions.keys()) {
        if name.value.trim().is_empty() {
            err(Pos::of(name), "empty name: expected a slot or action name".to_string());
        }
    }
    for (action, def) in &file.actions {
        for (i, out) in def.outputs.iter().enumerate() {
            if def.outputs[..i].iter().any(|o| o.value == out.value) {
                err(
                    Pos::of(out),
                    format!("action '{}' lists output '{}' twice", action.value, out.value),
                );
            }
            if file.slots.keys().any(|s| s.value == out.value) {
                err(
                    Pos::of(out),
                    format!(
                        "output '{}' of action '{}' has the name of a slot: the handoff context would hold both",
                        out.value, action.value
                    ),
                );
            }
        }
    }
    for t in &file.topics.value {
        if t.name.value.trim().is_empty() || t.name.value == NO_TOPIC {
            err(
                Pos::of(&t.name),
                format!("topic name '{}' is empty or reserved: expected a name", t.name.value),
            );
        }
        for (i, a) in t.actions.iter().enumerate() {
            if t.actions[..i].iter().any(|b| b.value == a.value) {
                err(
                    Pos::of(a),
                    format!("topic '{}' lists action '{}' twice", t.name.value, a.value),
                );
            }
        }
        if t.instructions.len() > limit {
            err(
                Pos::of(&t.name),
                format!("topic '{}' has more than {limit} instructions", t.name.value),
            );
        }
    }
}

/// Applies a `result:` mapping onto a fixture, reporting unknown outputs.
pub(crate) fn apply_result(
    path: &Path,
    errs: &mut Diagnostics,
    action: &str,
    outputs: &[String],
    result: &indexmap::IndexMap<Spanned<String>, String>,
    fx: &mut ActionFixture,
) {
    for (out, value) in result {
        match outputs.iter().position(|o| *o == out.value) {
            Some(i) => fx.outputs[i] = Some(value.clone()),
            None => errs.push(
                Diagnostic::new(
                    path,
                    Pos::of(out),
                    format!("action '{action}' has no output '{}'", out.value),
                )
                .with_help(suggest(&out.value, outputs.iter().map(String::as_str))),
            ),
        }
    }
}
