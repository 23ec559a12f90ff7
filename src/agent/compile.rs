//! Compilation, the last shared phase: the resolved model into the
//! [`Agent`] the engine runs. Slot patterns become extractors, instructions
//! become rules (through [`policy`]), utterances and descriptions become
//! the classifier's vocabulary, and unset settings take their defaults.

use crate::agent::compiled::{Action, Agent, Escalation, Instruction, NoInput, Slot, Topic, Variable, humanize};
use crate::agent::resolve::Refs;
use crate::agent::spec::{AgentSpec, At, SlotShape, Src, TopicSpec};
use crate::diag::{Diagnostics, suggest};
use crate::model::raw::NoInputThen;
use crate::nlu::{Extractor, TopicModel, Vocab};
use crate::policy::{self, Compiled, Counter, Names, Req, Rule, TopicId, Trigger, When};

const DEFAULT_THRESHOLD: f32 = 0.3;
const DEFAULT_MARGIN: f32 = 0.05;
const DEFAULT_MESSAGE: &str = "Connecting you to a representative.";
const DEFAULT_REPROMPT: &str = "Are you still there?";

/// Where a reference an instruction makes but the agent cannot honour is
/// reported: a load error, or a lint kept on the agent.
struct Problems<'e> {
    errs: &'e mut Diagnostics,
    lints: Vec<At<String>>,
    strict: bool,
}

impl Problems<'_> {
    fn report(&mut self, src: &Src, message: String, help: Option<String>) {
        if self.strict {
            self.errs.push(src.error(message).with_help(help));
        } else {
            let message = match help {
                Some(h) => format!("{message} ({h})"),
                None => message,
            };
            self.lints.push(At::new(message, src.clone()));
        }
    }
}

pub fn compile(spec: AgentSpec, refs: Refs, errs: &mut Diagnostics) -> Agent {
    let mut problems = Problems {
        errs,
        lints: spec.lints.clone(),
        strict: spec.strict_references,
    };
    let errs = &mut *problems.errs;
    let slots = spec
        .slots
        .iter()
        .filter_map(|s| {
            Some(Slot {
                name: s.name.value.clone(),
                ask: s
                    .ask
                    .clone()
                    .unwrap_or_else(|| format!("Could you give me your {}?", humanize(&s.name.value))),
                extractor: extractor(&s.name.value, &s.shape, errs)?,
                src: match &s.shape {
                    SlotShape::Pattern(p) => p.src.clone(),
                    _ => s.name.src.clone(),
                },
            })
        })
        .collect();
    let actions: Vec<Action> = spec
        .actions
        .iter()
        .zip(refs.inputs)
        .zip(refs.sets)
        .map(|((a, inputs), sets)| Action {
            name: a.name.value.clone(),
            description: a.description.clone(),
            inputs,
            outputs: a.outputs.iter().map(|o| o.value.clone()).collect(),
            say: a.say.clone(),
            sets,
        })
        .collect();
    let names = NameLists {
        slots: spec.slots.iter().map(|s| s.name.value.clone()).collect(),
        actions: actions.iter().map(|a| a.name.clone()).collect(),
        action_labels: spec
            .actions
            .iter()
            .map(|a| a.label.clone().unwrap_or_default())
            .collect(),
        topics: spec.topics.iter().map(|t| t.name.value.clone()).collect(),
    };
    let mut vocab = Vocab::new();
    let topics: Vec<Topic> = spec
        .topics
        .iter()
        .zip(refs.topic_actions)
        .zip(refs.topic_available)
        .zip(refs.topic_escalation)
        .zip(refs.topic_runs)
        .zip(refs.topic_procedures)
        .enumerate()
        .map(
            |(ti, (((((t, topic_actions), available), escalation_when), runs), procedures))| {
                let mut topic = topic(t, ti as TopicId, topic_actions, &names, &mut vocab, &mut problems);
                topic.available = available;
                topic.escalation_when = escalation_when;
                topic.runs = runs;
                let [before, procedure, after] = procedures;
                topic.before = before;
                topic.procedure = procedure;
                topic.after = after;
                topic
            },
        )
        .collect();
    check_guard_topics(&topics, &actions, &mut problems);
    let (triggers, counters) = triggers_and_counters(&topics);
    let no_input = match spec.no_input {
        Some(n) => NoInput {
            reprompts: n.reprompts,
            then: n.then,
            prompt: n.prompt.unwrap_or_else(|| DEFAULT_REPROMPT.to_string()),
        },
        None => NoInput {
            reprompts: 2,
            then: NoInputThen::Hangup,
            prompt: DEFAULT_REPROMPT.to_string(),
        },
    };
    Agent {
        name: spec.name.value,
        path: spec.file.to_path_buf(),
        description: spec.description,
        channel: spec.channel,
        escalation: Escalation {
            flow: spec.escalation.flow.map(|f| f.value),
            surface: spec.escalation.surface,
            message: spec.escalation.message.unwrap_or_else(|| DEFAULT_MESSAGE.to_string()),
            default_topic: spec.escalation.default_topic,
            available: refs.escalation_available,
        },
        no_input,
        dtmf: spec.dtmf.into_iter().map(|(k, a)| (k.value, a)).collect(),
        threshold: spec.threshold.map_or(DEFAULT_THRESHOLD, |t| t.value),
        margin: spec.margin.map_or(DEFAULT_MARGIN, |m| m.value),
        slots,
        actions,
        topics,
        fixtures: refs.fixtures,
        vocab,
        variables: spec
            .variables
            .into_iter()
            .map(|v| Variable {
                name: v.name.value,
                default: v.default,
            })
            .collect(),
        notes: spec.notes,
        lints: problems.lints,
        triggers,
        counters,
        constants: refs.constants,
    }
}

/// The caller events and counters the rules of all topics wait for, each
/// once, in the order the topics name them: the engine keeps one flag per
/// trigger and one small count per counter in its state.
fn triggers_and_counters(topics: &[Topic]) -> (Vec<Trigger>, Vec<(Counter, u8)>) {
    let mut triggers: Vec<Trigger> = Vec::new();
    let mut counters: Vec<(Counter, u8)> = Vec::new();
    let mut see = |w: &When| match w {
        When::Said(t) => {
            if !triggers.contains(t) {
                triggers.push(t.clone());
            }
        }
        When::Count(c, n) => match counters.iter_mut().find(|(k, _)| k == c) {
            Some((_, cap)) => *cap = (*cap).max(*n),
            None => counters.push((*c, *n)),
        },
        When::Failed(_) | When::SlotEmpty(_) => {}
    };
    for t in topics {
        for r in &t.rules {
            match r {
                Rule::Require(g) => g.unless.iter().for_each(&mut see),
                Rule::EscalateWhen { when } => see(when),
                _ => {}
            }
        }
    }
    (triggers, counters)
}

struct NameLists {
    slots: Vec<String>,
    actions: Vec<String>,
    action_labels: Vec<String>,
    topics: Vec<String>,
}

fn extractor(slot: &str, shape: &SlotShape, errs: &mut Diagnostics) -> Option<Extractor> {
    Some(match shape {
        SlotShape::Email => Extractor::email(),
        SlotShape::Phone => Extractor::phone(),
        SlotShape::Digits => Extractor::digits(),
        SlotShape::Answer => Extractor::answer(),
        SlotShape::Pattern(p) => match crate::nlu::small_regex(&p.value) {
            Ok(re) => Extractor::pattern(re),
            Err(e) => {
                errs.push(p.src.error(format!(
                    "invalid regex in slot '{slot}': {}",
                    crate::nlu::regex_error_detail(&e)
                )));
                return None;
            }
        },
    })
}

fn topic(
    t: &TopicSpec,
    this: TopicId,
    actions: Vec<crate::policy::ActionId>,
    names: &NameLists,
    vocab: &mut Vocab,
    problems: &mut Problems<'_>,
) -> Topic {
    let lists = Names {
        slots: &names.slots,
        actions: &names.actions,
        action_labels: &names.action_labels,
        topics: &names.topics,
        this_topic: Some(this),
        topic_actions: &actions,
        escalation_aliases: &t.escalation_aliases,
    };
    let mut instructions = Vec::new();
    let mut rules = Vec::new();
    let mut rule_origins = Vec::new();
    let conditional: std::collections::HashMap<usize, &str> =
        t.procedures.conditional.iter().map(|(i, c)| (*i, c.as_str())).collect();
    for ins in &t.instructions {
        let compiled = match policy::compile(&ins.value, &lists) {
            Ok(c) => c,
            Err(u) => {
                let message = format!("instruction names unknown {} '{}'", u.kind, u.name);
                let help = suggest(&u.name, u.candidates.iter().map(String::as_str));
                problems.report(&ins.src, message.clone(), help);
                Compiled::unbound(message)
            }
        };
        let rs = compiled.rules();
        for r in rs {
            if let Rule::RunAction { action, .. } = r
                && !actions.contains(action)
            {
                problems.report(
                    &ins.src,
                    format!(
                        "instruction runs '{}', which is not in the actions of topic '{}'",
                        names.actions[*action as usize], t.name.value
                    ),
                    Some(format!("add it to `actions` of '{}'", t.name.value)),
                );
            }
        }
        rules.extend(rs.iter().cloned());
        rule_origins.extend(std::iter::repeat_n(instructions.len() as u16 + 1, rs.len()));
        let only_if = conditional.get(&instructions.len()).map(|c| c.to_string());
        instructions.push(Instruction {
            text: ins.value.clone(),
            src: ins.src.clone(),
            compiled,
            only_if,
        });
    }
    merge_exceptions(&mut rules);
    let examples = t.utterances.iter().map(|u| vocab.learn(u)).collect();
    let description = vocab.learn(&t.description);
    let catch_all = t
        .catch_all
        .unwrap_or_else(|| policy::reads_as_catch_all(&t.description));
    Topic {
        name: t.name.value.clone(),
        description: t.description.clone(),
        utterances: t.utterances.clone(),
        can_escalate: t.can_escalate,
        actions,
        instructions,
        rules,
        rule_origins,
        reply: t.reply.clone(),
        model: TopicModel {
            examples,
            description,
            catch_all,
        },
        available: None,
        escalation_when: None,
        runs: Vec::new(),
        before: Vec::new(),
        procedure: Vec::new(),
        after: Vec::new(),
    }
}

/// Two instructions of a topic that require the same thing, one with an
/// exception and one without, both bind the exception: a deployed agent may
/// follow either, and reading the guard without it would be stronger than
/// the text (`lint` reports the duplicate).
fn merge_exceptions(rules: &mut [Rule]) {
    let all: Vec<(Vec<Req>, Vec<When>)> = rules
        .iter()
        .filter_map(|r| match r {
            Rule::Require(g) => Some((g.any.clone(), g.unless.clone())),
            _ => None,
        })
        .collect();
    for r in rules.iter_mut() {
        if let Rule::Require(g) = r {
            for (any, unless) in &all {
                if *any == g.any {
                    for w in unless {
                        if !g.unless.contains(w) {
                            g.unless.push(w.clone());
                        }
                    }
                }
            }
        }
    }
}

/// A guard that names a topic where the action cannot run can never hold.
fn check_guard_topics(topics: &[Topic], actions: &[Action], problems: &mut Problems<'_>) {
    for t in topics {
        for (rule, origin) in t.rules.iter().zip(&t.rule_origins) {
            let Rule::Require(g) = rule else { continue };
            for req in &g.any {
                let Req::Action(action, Some(at)) = req else { continue };
                let at = &topics[*at as usize];
                if !at.actions.contains(action) {
                    let src: &Src = &t.instructions[*origin as usize - 1].src;
                    problems.report(
                        src,
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
}
