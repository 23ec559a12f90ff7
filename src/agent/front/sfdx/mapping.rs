//! Attribute mappings: which action inputs a variable fills (the caller is
//! not asked for them) and which outputs set a variable, and the variables
//! an agent has (those mapped, and those its bot declares).

use roxmltree::Node;

use super::bot::BotInfo;
use crate::agent::spec::{At, Name, VariableSpec};
use crate::xml::{Xml, children, text};

/// One attribute mapping: an action's input filled from a variable, or
/// its output written to one.
pub(super) struct Mapping {
    pub action: String,
    pub attribute: String,
    pub input: bool,
    pub variable: Name,
}

impl Mapping {
    pub(super) fn read(xml: &Xml<'_>, root: Node<'_, '_>, notes: &mut Vec<At<String>>) -> Vec<Mapping> {
        let mut out = Vec::new();
        for m in children(root, "attributeMappings") {
            let src = xml.src(m);
            let (Some(name), Some(kind), Some(target)) = (
                text(m, "attributeName"),
                text(m, "attributeType"),
                text(m, "mappingTargetName"),
            ) else {
                continue;
            };
            if !matches!(text(m, "mappingType"), Some("Variable" | "ContextVariable")) {
                notes.push(At::new(
                    format!("mapping of '{name}' is not to a variable: not modelled"),
                    src,
                ));
                continue;
            }
            let mut parts = name.rsplit('.');
            let (Some(attr), Some(action)) = (parts.next(), parts.next()) else {
                continue;
            };
            let attr = attr.trim();
            let (input, attr) = match kind {
                "StandardPluginFunctionInput" => (true, attr),
                "StandardPluginFunctionOutput" => (false, attr),
                _ => match (attr.strip_prefix("input_"), attr.strip_prefix("output_")) {
                    (Some(a), _) => (true, a),
                    (_, Some(a)) => (false, a),
                    _ => continue,
                },
            };
            out.push(Mapping {
                action: action.trim().to_string(),
                attribute: attr.to_string(),
                input,
                variable: Name::new(target.to_string(), src),
            });
        }
        out
    }
}

/// The variables: those the mappings name, and those the bot declares.
pub(super) fn variables(mappings: &[Mapping], bot: Option<&BotInfo>) -> Vec<VariableSpec> {
    let mut out: Vec<VariableSpec> = Vec::new();
    let names = mappings
        .iter()
        .map(|m| &m.variable)
        .chain(bot.into_iter().flat_map(|b| b.variables.iter()));
    for n in names {
        if !out.iter().any(|v| v.name.value == n.value) {
            out.push(VariableSpec {
                name: n.clone(),
                default: None,
            });
        }
    }
    out
}
