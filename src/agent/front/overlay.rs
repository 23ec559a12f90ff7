//! Overlays: what Salesforce metadata does not say about an agent (what
//! actions return, how an input is found in what a caller says, keypad
//! shortcuts, silence policy), written in a small YAML file beside the
//! suites that names the project agent it extends:
//!
//! ```yaml
//! extends: ../force-app#Contoso_Voice
//! slots: { email: { kind: email, ask: "What's your email?" } }
//! actions: { createcase: { result: { case_number: "00007001" }, say: "Case {case_number}." } }
//! topics: { Store_Info: { reply: "We open at nine." } }
//! dtmf: { "9": hangup }
//! no_input: { reprompts: 2, then: hangup }
//! ```
//!
//! A suite names the overlay as its agent. Every name it uses must exist
//! in the agent it extends (a slot may be added), or it is a located error.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::agent::spec::{AgentSpec, At, NoInputSpec, SlotShape, SlotSpec, Src};
use crate::diag::{Diagnostic, Diagnostics, Pos, suggest};
use crate::files::Root;
use crate::model::raw::{ClassifierSection, DtmfAction, NoInputSection, SlotKind, SlotSection};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayFile {
    /// The agent extended, relative to the overlay's folder.
    pub extends: Spanned<String>,
    /// The channel surface whose route to take (`Telephony`, `Messaging`, ...).
    #[serde(default)]
    pub surface: Option<Spanned<String>>,
    #[serde(default)]
    pub slots: IndexMap<Spanned<String>, Spanned<SlotSection>>,
    #[serde(default)]
    pub actions: IndexMap<Spanned<String>, ActionOverlay>,
    #[serde(default)]
    pub topics: IndexMap<Spanned<String>, TopicOverlay>,
    #[serde(default)]
    pub dtmf: IndexMap<Spanned<String>, DtmfAction>,
    #[serde(default)]
    pub no_input: Option<NoInputSection>,
    #[serde(default)]
    pub classifier: Option<ClassifierSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionOverlay {
    #[serde(default)]
    pub result: IndexMap<Spanned<String>, String>,
    #[serde(default)]
    pub fails: Option<bool>,
    #[serde(default)]
    pub say: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicOverlay {
    /// Example caller utterances, added to the topic's own.
    #[serde(default)]
    pub utterances: Vec<String>,
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub catch_all: Option<bool>,
}

/// Whether a YAML text is an overlay: it has a top-level `extends:` key.
pub fn is_overlay(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("extends:"))
}

/// Reads the overlay at `path` and the agent it extends, and applies it.
pub fn load(path: &Path, text: &str, root: &Root) -> Result<AgentSpec, Diagnostics> {
    let o: OverlayFile = crate::model::yaml::parse(path, text, "an agent overlay")?;
    let file: Arc<Path> = Arc::from(path);
    let at = |s: &Spanned<String>| Src::new(&file, Pos::of(s));
    let base = path.parent().unwrap_or(Path::new(".")).join(&o.extends.value);
    let (base_file, _) = super::split_selector(&base);
    root.check(&base_file, "extended agent", &o.extends.value)
        .map_err(|m| Diagnostic::new(path, Pos::of(&o.extends), m))?;
    super::check_path(&base, "extended agent", &o.extends.value)
        .map_err(|m| Diagnostic::new(path, Pos::of(&o.extends), m))?;
    if crate::model::yaml::read_text(&base_file).is_ok_and(|t| is_overlay(&t)) {
        return Err(at(&o.extends)
            .error("an overlay extends a project agent, not another overlay")
            .into());
    }
    let surface = o.surface.as_ref().map(|s| At::new(s.value.clone(), at(s)));
    let mut spec = super::read(&base, root, surface.as_ref())?;
    let mut errs = Diagnostics::default();
    apply(&mut spec, o, &file, &mut errs);
    spec.notes
        .retain(|n| !n.value.contains("(a default; an overlay can set"));
    spec.file = file;
    errs.into_result(spec)
}

fn apply(spec: &mut AgentSpec, o: OverlayFile, file: &Arc<Path>, errs: &mut Diagnostics) {
    let at = |s: &Spanned<String>| Src::new(file, Pos::of(s));
    for (name, def) in o.slots {
        let shape = match (def.value.kind, def.value.pattern) {
            (Some(_), Some(p)) => {
                errs.push(at(&p).error(format!(
                    "slot '{}' has both `kind` and `pattern`: expected one of them",
                    name.value
                )));
                continue;
            }
            (Some(SlotKind::Email), None) => Some(SlotShape::Email),
            (Some(SlotKind::Phone), None) => Some(SlotShape::Phone),
            (Some(SlotKind::Digits), None) => Some(SlotShape::Digits),
            (None, Some(p)) => Some(SlotShape::Pattern(At::new(p.value.clone(), at(&p)))),
            (None, None) => None,
        };
        match spec.slots.iter_mut().find(|s| s.name.value == name.value) {
            Some(slot) => {
                if let Some(shape) = shape {
                    slot.shape = shape;
                }
                if def.value.ask.is_some() {
                    slot.ask = def.value.ask;
                }
            }
            None => spec.slots.push(SlotSpec {
                name: At::new(name.value.clone(), at(&name)),
                shape: shape.unwrap_or(SlotShape::Answer),
                ask: def.value.ask,
            }),
        }
    }
    for (name, def) in o.actions {
        let names: Vec<&str> = spec.actions.iter().map(|a| a.name.value.as_str()).collect();
        let Some(i) = names.iter().position(|n| *n == name.value) else {
            errs.push(
                at(&name)
                    .error(format!("overlay names unknown action '{}'", name.value))
                    .with_help(suggest(&name.value, names.iter().copied())),
            );
            continue;
        };
        let a = &mut spec.actions[i];
        if let Some(f) = def.fails {
            a.fails = f;
        }
        if def.say.is_some() {
            a.say = def.say;
        }
        for (out, value) in def.result {
            let out = At::new(out.value.clone(), at(&out));
            match a.result.iter_mut().find(|(k, _)| k.value == out.value) {
                Some(slot) => slot.1 = value,
                // An unknown output is reported by reference resolution.
                None => a.result.push((out, value)),
            }
        }
    }
    for (name, def) in o.topics {
        let names: Vec<&str> = spec.topics.iter().map(|t| t.name.value.as_str()).collect();
        let Some(i) = names.iter().position(|n| *n == name.value) else {
            errs.push(
                at(&name)
                    .error(format!("overlay names unknown topic '{}'", name.value))
                    .with_help(suggest(&name.value, names.iter().copied())),
            );
            continue;
        };
        let t = &mut spec.topics[i];
        t.utterances.extend(def.utterances);
        if def.reply.is_some() {
            t.reply = def.reply;
        }
        if def.catch_all.is_some() {
            t.catch_all = def.catch_all;
        }
    }
    for (digits, action) in o.dtmf {
        spec.dtmf.push((At::new(digits.value.clone(), at(&digits)), action));
    }
    if let Some(n) = o.no_input {
        spec.no_input = Some(NoInputSpec {
            reprompts: n.reprompts,
            then: n.then,
            prompt: n.prompt,
        });
    }
    if let Some(c) = o.classifier {
        let number = |v: Spanned<f32>| At::new(v.value, Src::new(file, Pos::of(&v)));
        if let Some(t) = c.threshold {
            spec.threshold = Some(number(t));
        }
        if let Some(m) = c.margin {
            spec.margin = Some(number(m));
        }
    }
}
