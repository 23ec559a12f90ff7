//! The baton YAML front end: an agent config file as written
//! ([`raw::AgentFile`]) into the format-neutral [`AgentSpec`]. It checks
//! only what is particular to this format (a slot's `kind` or `pattern`);
//! everything else is the shared phases' work.

use std::path::Path;
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::agent::spec::{ActionSpec, AgentSpec, At, NoInputSpec, RouteSpec, SlotShape, SlotSpec, Src, TopicSpec};
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::files::Root;
use crate::model::raw::{self, SlotKind};

/// Reads and parses a baton agent file, or an overlay on a project agent
/// (whose files must lie inside `root`).
pub fn load(path: &Path, root: &Root) -> Result<AgentSpec, Diagnostics> {
    let text = crate::model::yaml::read_text(path)?;
    if super::overlay::is_overlay(&text) {
        return super::overlay::load(path, &text, root);
    }
    if !looks_like_agent(&text) {
        // Whatever the file is, its lines are not shown: a suite may name
        // any file, and its errors reach the CI log.
        return Err(Diagnostic::new(
            path,
            Pos::FILE,
            "not a baton agent config: expected YAML with a top-level `agent:` (or `extends:`) key (the file's contents are not shown)",
        )
        .unquoted()
        .into());
    }
    from_text(path, &text)
}

/// Parses agent YAML already in memory; `path` names it in errors.
pub fn from_text(path: &Path, text: &str) -> Result<AgentSpec, Diagnostics> {
    let file: raw::AgentFile = crate::model::yaml::parse(path, text, "an agent config")?;
    to_spec(Arc::from(path), file)
}

/// Whether `text` reads as a baton agent config: some line holds the
/// `agent` key (in block or flow style), so its errors may quote it.
fn looks_like_agent(text: &str) -> bool {
    text.lines().any(|l| {
        let key = l.trim_start().trim_start_matches(['{', ' ', '"', '\'']);
        key.strip_prefix("agent")
            .is_some_and(|rest| rest.trim_start_matches(['"', '\'', ' ']).starts_with(':'))
    })
}

fn to_spec(file: Arc<Path>, raw: raw::AgentFile) -> Result<AgentSpec, Diagnostics> {
    let src = |pos: Pos| Src::new(&file, pos);
    let name = |s: Spanned<String>| At::new(s.value.clone(), Src::new(&file, Pos::of(&s)));
    let mut errs = Diagnostics::default();
    let mut slots = Vec::new();
    for (slot, def) in raw.slots {
        let def_src = src(Pos::of(&def));
        let def = def.value;
        let shape = match (def.kind, def.pattern) {
            (Some(_), Some(p)) => {
                errs.push(src(Pos::of(&p)).error(format!(
                    "slot '{}' has both `kind` and `pattern`: expected one of them",
                    slot.value
                )));
                continue;
            }
            (None, None) => {
                errs.push(def_src.error(format!(
                    "slot '{}' needs `kind` (email, phone, digits) or `pattern`",
                    slot.value
                )));
                continue;
            }
            (Some(SlotKind::Email), None) => SlotShape::Email,
            (Some(SlotKind::Phone), None) => SlotShape::Phone,
            (Some(SlotKind::Digits), None) => SlotShape::Digits,
            (None, Some(p)) => SlotShape::Pattern(name(p)),
        };
        slots.push(SlotSpec {
            name: name(slot),
            shape,
            ask: def.ask,
        });
    }
    let actions = raw
        .actions
        .into_iter()
        .map(|(action, def)| ActionSpec {
            name: name(action),
            description: def.description,
            inputs: def.inputs.into_iter().map(name).collect(),
            outputs: def.outputs.into_iter().map(name).collect(),
            fails: def.fails,
            result: def.result.into_iter().map(|(k, v)| (name(k), v)).collect(),
            say: def.say,
            label: None,
            sets: Vec::new(),
        })
        .collect();
    let topics_src = src(Pos::of(&raw.topics));
    let topics = raw
        .topics
        .value
        .into_iter()
        .map(|t| TopicSpec {
            name: name(t.name),
            description: t.description,
            utterances: t.utterances,
            can_escalate: t.can_escalate,
            catch_all: t.catch_all,
            actions: t.actions.into_iter().map(name).collect(),
            instructions: t.instructions.into_iter().map(name).collect(),
            reply: t.reply,
            available_when: None,
            escalation_when: None,
            escalation_aliases: Vec::new(),
            runs: Vec::new(),
            procedures: Default::default(),
        })
        .collect();
    let number = |v: Option<Spanned<f32>>| v.map(|v| At::new(v.value, Src::new(&file, Pos::of(&v))));
    let (threshold, margin) = match raw.classifier {
        Some(c) => (number(c.threshold), number(c.margin)),
        None => (None, None),
    };
    let agent_src = src(Pos::of(&raw.agent));
    let spec = AgentSpec {
        file: file.clone(),
        name: name(raw.agent),
        description: raw.description,
        channel: raw.channel,
        escalation: RouteSpec {
            // The flow has no position of its own in this format; errors
            // about it point at the agent's name.
            flow: Some(At::new(raw.escalation.flow, agent_src)),
            surface: None,
            message: raw.escalation.message,
            default_topic: raw.escalation.default_topic,
            available_when: None,
        },
        no_input: raw.no_input.map(|n| NoInputSpec {
            reprompts: n.reprompts,
            then: n.then,
            prompt: n.prompt,
        }),
        dtmf: raw.dtmf.into_iter().map(|(k, a)| (name(k), a)).collect(),
        threshold,
        margin,
        slots,
        actions,
        topics,
        topics_src,
        variables: Vec::new(),
        strict_references: true,
        notes: Vec::new(),
        lints: Vec::new(),
    };
    errs.into_result(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_keeps_its_position() {
        let text = "agent: A\nescalation: { flow: F }\nslots:\n  email: { kind: email }\nactions:\n  createcase: { inputs: [email], outputs: [case_number] }\ntopics:\n  - name: Cases\n    actions: [createcase]\n    instructions:\n      - \"Allow the 'Escalation' action only after the 'createcase' action has been executed.\"\n";
        let spec = from_text(Path::new("a.yaml"), text).unwrap();
        assert_eq!(spec.name.src.pos, Pos::new(1, 8));
        assert_eq!(spec.actions[0].inputs[0].src.pos, Pos::new(6, 26));
        assert_eq!(spec.topics[0].actions[0].src.pos, Pos::new(9, 15));
        assert_eq!(spec.topics[0].instructions[0].src.pos, Pos::new(11, 9));
        assert_eq!(&*spec.topics[0].name.src.file, Path::new("a.yaml"));
    }

    #[test]
    fn a_file_without_the_agent_key_is_not_read_as_an_agent() {
        assert!(looks_like_agent("# x\nagent: A\n"));
        assert!(looks_like_agent("{\"agent\": \"A\"}"));
        assert!(!looks_like_agent("root:x:0:0:root:/root:/bin/bash\n"));
        assert!(!looks_like_agent("TOKEN=agent: x\n"));
    }
}
