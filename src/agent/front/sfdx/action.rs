//! Actions: a GenAiFunction file, a topic's `localActions` or the
//! planner's `plannerActions`, each with its `input/schema.json` and
//! `output/schema.json` when the project has them (`mappingAttributes`
//! where it does not). Required inputs become slots the agent asks the
//! caller for; outputs get default results, since metadata says nothing of
//! what an action returns (an overlay can).

use std::path::Path;

use roxmltree::Node;
use serde_json::Value;

use crate::agent::spec::{ActionSpec, At, Name, SlotShape, SlotSpec, Src};
use crate::files::{MAX_FILE_BYTES, read_regular};
use crate::xml::{Xml, children, text};

/// An action read from metadata, with every name the bundle may use for it.
pub struct ReadAction {
    pub spec: ActionSpec,
    pub aliases: Vec<String>,
    /// Inputs as (parameter name, required, title, schema src).
    pub inputs: Vec<Input>,
}

pub struct Input {
    pub name: String,
    pub required: bool,
    pub title: Option<String>,
    pub src: Src,
}

const ELEMENTS: &[&str] = &[
    "fullName",
    "description",
    "developerName",
    "localDeveloperName",
    "masterLabel",
    "mappingAttributes",
    "invocationTarget",
    "invocationTargetType",
    "isConfirmationRequired",
    "isIncludeInProgressIndicator",
    "progressIndicatorMessage",
    "source",
    "language",
];

/// Reads an action element; `schemas` is the folder holding its `input/`
/// and `output/` schema folders, if it has one.
pub fn read(
    xml: &Xml<'_>,
    node: Node<'_, '_>,
    file_name: Option<&str>,
    schemas: Option<&Path>,
    notes: &mut Vec<At<String>>,
) -> ReadAction {
    let src = xml.src(node);
    xml.note_unread(node, "action", ELEMENTS);
    let mut aliases: Vec<String> = ["fullName", "developerName", "localDeveloperName"]
        .iter()
        .filter_map(|k| text(node, k).map(str::to_string))
        .collect();
    aliases.extend(file_name.map(str::to_string));
    let name = text(node, "localDeveloperName")
        .or(file_name)
        .or_else(|| text(node, "developerName"))
        .or_else(|| text(node, "fullName"))
        .map(strip_id)
        .unwrap_or_default();
    let input_schema = schemas.and_then(|d| schema(&d.join("input/schema.json"), notes));
    let output_schema = schemas.and_then(|d| schema(&d.join("output/schema.json"), notes));
    let mut inputs = Vec::new();
    let mut outputs: Vec<(String, Option<String>, Src)> = Vec::new();
    match &input_schema {
        Some((s, file)) => {
            let required: std::collections::HashSet<&str> = s["required"]
                .as_array()
                .map_or_else(Default::default, |r| r.iter().filter_map(Value::as_str).collect());
            for (p, def) in s["properties"].as_object().into_iter().flatten() {
                inputs.push(Input {
                    name: p.clone(),
                    required: required.contains(p.as_str()),
                    title: def["title"]
                        .as_str()
                        .or(def["description"].as_str())
                        .map(str::to_string),
                    src: file.clone(),
                });
            }
        }
        None => {
            for m in mapping_attributes(node, "input") {
                inputs.push(Input {
                    name: m.0,
                    required: false,
                    title: m.1,
                    src: xml.src(node),
                });
            }
        }
    }
    match &output_schema {
        Some((s, file)) => {
            for (p, def) in s["properties"].as_object().into_iter().flatten() {
                outputs.push((
                    p.clone(),
                    def["lightning:type"].as_str().map(str::to_string),
                    file.clone(),
                ));
            }
        }
        None => {
            for m in mapping_attributes(node, "output") {
                outputs.push((m.0, None, xml.src(node)));
            }
        }
    }
    let result = outputs
        .iter()
        .map(|(o, ty, s)| (At::new(o.clone(), s.clone()), default_value(o, ty.as_deref())))
        .collect();
    let spec = ActionSpec {
        name: At::new(name, src.clone()),
        description: text(node, "description").map(str::to_string),
        inputs: Vec::new(),
        outputs: outputs.iter().map(|(o, _, s)| At::new(o.clone(), s.clone())).collect(),
        fails: false,
        result,
        say: None,
        label: text(node, "masterLabel").map(str::to_string),
        sets: Vec::new(),
    };
    ReadAction { spec, aliases, inputs }
}

/// The slot an input of this name becomes, and how it is filled: an email
/// or phone number is found in what the caller says; anything else is
/// asked for and taken from the caller's answer.
pub fn slot_for(input: &Input) -> SlotSpec {
    let lower = input.name.to_ascii_lowercase();
    let shape = if lower.contains("email") {
        SlotShape::Email
    } else if lower.contains("phone") || lower.contains("mobile") {
        SlotShape::Phone
    } else {
        SlotShape::Answer
    };
    let what = input.title.as_deref().filter(|t| t.len() <= 60).unwrap_or(&input.name);
    SlotSpec {
        name: Name::new(input.name.clone(), input.src.clone()),
        shape,
        ask: Some(format!(
            "Could you give me your {}?",
            crate::agent::compiled::humanize(what)
        )),
    }
}

/// `(parameter name, label)` of the `mappingAttributes` of one direction.
fn mapping_attributes(node: Node<'_, '_>, direction: &str) -> Vec<(String, Option<String>)> {
    children(node, "mappingAttributes")
        .filter(|m| text(*m, "parameterType") == Some(direction))
        .filter_map(|m| {
            let name = text(m, "parameterName").or_else(|| text(m, "name"))?;
            Some((name.to_string(), text(m, "label").map(str::to_string)))
        })
        .collect()
}

/// A schema file, parsed; an unreadable or malformed one is a note and
/// counts as absent.
fn schema(path: &Path, notes: &mut Vec<At<String>>) -> Option<(Value, Src)> {
    let bytes = read_regular(path, MAX_FILE_BYTES).ok()?;
    let src = Src::new(&std::sync::Arc::from(path), crate::diag::Pos::FILE);
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some((v, src)),
        Err(e) => {
            notes.push(At::new(format!("schema not read (invalid JSON: {e})"), src));
            None
        }
    }
}

/// What an output returns by default: `true` for a boolean (and for an
/// untyped output named like one), `1` for a number, otherwise a readable
/// placeholder.
pub fn default_value(output: &str, ty: Option<&str>) -> String {
    let boolean_name = ["is", "has", "can"].iter().any(|p| {
        output
            .strip_prefix(p)
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_uppercase() || c == '_'))
    });
    match ty {
        Some(t) if t.contains("boolean") => "true".to_string(),
        Some(t) if t.contains("number") || t.contains("integer") || t.contains("currency") => "1".to_string(),
        Some(t) if t.contains("date") => "2026-01-01".to_string(),
        None if boolean_name => "true".to_string(),
        _ => format!("sample {}", crate::agent::compiled::humanize(output)),
    }
}

/// `Escalation_16jHn00000005qM` -> `Escalation`: names in retrieved bundles
/// carry an org-specific id suffix that differs between orgs.
pub fn strip_id(name: &str) -> String {
    match name.rsplit_once('_') {
        Some((base, id))
            if !base.is_empty()
                && id.len() >= 15
                && id.chars().all(|c| c.is_ascii_alphanumeric())
                && id.chars().any(|c| c.is_ascii_digit()) =>
        {
            base.to_string()
        }
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids_are_stripped_from_names() {
        assert_eq!(strip_id("Escalation_16jHn00000005qM"), "Escalation");
        assert_eq!(
            strip_id("Send_SMS_Verification_179Hn000000VXvs"),
            "Send_SMS_Verification"
        );
        assert_eq!(strip_id("Check_Weather"), "Check_Weather");
        assert_eq!(strip_id("Get_Sessions"), "Get_Sessions");
    }

    #[test]
    fn default_results_follow_the_schema_type_or_the_name() {
        assert_eq!(default_value("isVerified", None), "true");
        assert_eq!(default_value("maxTemperature", Some("lightning__numberType")), "1");
        assert_eq!(default_value("ok", Some("lightning__booleanType")), "true");
        assert_eq!(default_value("caseNumber", None), "sample caseNumber");
        assert_eq!(default_value("island", None), "sample island");
    }
}
