//! Validation, the first shared phase: what must hold of an agent model
//! whatever format it came from, before names are resolved. Names present,
//! unique and not reserved; few enough for the engine's 16-bit indices;
//! keypad keys that are keypad sequences; classifier settings in range.

use crate::agent::compiled::{BUILTIN_ESCALATION, NO_TOPIC, is_keypad_sequence};
use crate::agent::spec::{AgentSpec, Name};
use crate::diag::Diagnostics;
use crate::model::raw::Channel;

pub fn check(spec: &AgentSpec, errs: &mut Diagnostics) {
    names(spec, errs);
    limits(spec, errs);
    keypad(spec, errs);
    classifier(spec, errs);
    if spec.topics.is_empty() && !spec.escalation.default_topic {
        errs.push(
            spec.topics_src
                .error("no topics and no default Escalation topic: expected at least one topic"),
        );
    }
}

/// Names the engine and the handoff context rely on.
fn names(spec: &AgentSpec, errs: &mut Diagnostics) {
    // Every name the author wrote (not references to them) is printable.
    let written = std::iter::once(("agent name", &spec.name))
        .chain(spec.topics.iter().map(|t| ("topic name", &t.name)))
        .chain(spec.actions.iter().map(|a| ("action name", &a.name)))
        .chain(spec.slots.iter().map(|s| ("slot name", &s.name)))
        .chain(
            spec.actions
                .iter()
                .flat_map(|a| a.outputs.iter().map(|o| ("output name", o))),
        );
    for (kind, name) in written {
        if let Err(d) = crate::model::name::check(&name.src.file, name.src.pos, kind, &name.value) {
            errs.push(d);
        }
    }
    if spec.name.value.trim().is_empty() {
        errs.push(spec.name.src.error("empty agent name: expected a name"));
    }
    if let Some(flow) = &spec.escalation.flow
        && flow.value.trim().is_empty()
    {
        errs.push(
            flow.src
                .error("empty `escalation.flow`: expected the Omni-Channel flow's name"),
        );
    }
    for name in spec
        .slots
        .iter()
        .map(|s| &s.name)
        .chain(spec.actions.iter().map(|a| &a.name))
    {
        if name.value.trim().is_empty() {
            errs.push(name.src.error("empty name: expected a slot or action name"));
        }
    }
    duplicates(spec.slots.iter().map(|s| &s.name), "slot", errs);
    duplicates(spec.actions.iter().map(|a| &a.name), "action", errs);
    duplicates(spec.topics.iter().map(|t| &t.name), "topic", errs);
    // Sets, not scans: a hostile agent has tens of thousands of names.
    let slot_names: std::collections::HashSet<&str> = spec.slots.iter().map(|s| s.name.value.as_str()).collect();
    for a in &spec.actions {
        if a.name.value.eq_ignore_ascii_case(BUILTIN_ESCALATION) {
            errs.push(
                a.name
                    .src
                    .error("'Escalation' is the built-in escalation action and cannot be redefined"),
            );
        }
        let mut outputs = std::collections::HashSet::new();
        for out in &a.outputs {
            if !outputs.insert(out.value.as_str()) {
                errs.push(
                    out.src
                        .error(format!("action '{}' lists output '{}' twice", a.name.value, out.value)),
                );
            }
            if slot_names.contains(out.value.as_str()) {
                errs.push(out.src.error(format!(
                    "output '{}' of action '{}' has the name of a slot: the handoff context would hold both",
                    out.value, a.name.value
                )));
            }
        }
    }
    for t in &spec.topics {
        if t.name.value.trim().is_empty() || t.name.value == NO_TOPIC {
            errs.push(t.name.src.error(format!(
                "topic name '{}' is empty or reserved: expected a name",
                t.name.value
            )));
        }
        let mut actions = std::collections::HashSet::new();
        for a in &t.actions {
            if !actions.insert(a.value.as_str()) {
                errs.push(
                    a.src
                        .error(format!("topic '{}' lists action '{}' twice", t.name.value, a.value)),
                );
            }
        }
    }
}

/// A name given twice: the second is the error, naming the first's line.
fn duplicates<'a>(names: impl Iterator<Item = &'a Name>, kind: &str, errs: &mut Diagnostics) {
    let mut seen: std::collections::HashMap<&str, &Name> = std::collections::HashMap::new();
    for n in names {
        if let Some(first) = seen.get(n.value.as_str()) {
            let at = if first.src.file == n.src.file {
                format!("line {}", first.src.pos.line)
            } else {
                format!("{}:{}", first.src.file.display(), first.src.pos.line)
            };
            errs.push(
                n.src
                    .error(format!("duplicate {kind} name '{}' (first at {at})", n.value)),
            );
        } else {
            seen.insert(&n.value, n);
        }
    }
}

fn limits(spec: &AgentSpec, errs: &mut Diagnostics) {
    let limit = u16::MAX as usize;
    // At the first one past the limit.
    for (kind, count, past) in [
        ("slots", spec.slots.len(), spec.slots.get(limit).map(|s| &s.name.src)),
        (
            "actions",
            spec.actions.len(),
            spec.actions.get(limit).map(|a| &a.name.src),
        ),
        ("topics", spec.topics.len(), spec.topics.get(limit).map(|t| &t.name.src)),
    ] {
        if let Some(src) = past {
            errs.push(src.error(format!("{count} {kind}: at most {limit} are supported")));
        }
    }
    for t in &spec.topics {
        if t.instructions.len() > limit {
            errs.push(
                t.name
                    .src
                    .error(format!("topic '{}' has more than {limit} instructions", t.name.value)),
            );
        }
    }
}

fn keypad(spec: &AgentSpec, errs: &mut Diagnostics) {
    for (digits, _) in &spec.dtmf {
        if !is_keypad_sequence(&digits.value) {
            errs.push(digits.src.error(format!(
                "dtmf key '{}' is not a keypad sequence: expected digits, '*' or '#'",
                digits.value
            )));
        }
    }
    if let (Some((first, _)), Channel::Messaging) = (spec.dtmf.first(), spec.channel) {
        errs.push(
            first
                .src
                .error("a messaging agent cannot have `dtmf` shortcuts: expected channel: voice"),
        );
    }
}

fn classifier(spec: &AgentSpec, errs: &mut Diagnostics) {
    for (v, name) in [(&spec.threshold, "threshold"), (&spec.margin, "margin")] {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v.value)
        {
            errs.push(v.src.error(format!(
                "classifier {name} {} is out of range: expected a number from 0 to 1",
                v.value
            )));
        }
    }
}
