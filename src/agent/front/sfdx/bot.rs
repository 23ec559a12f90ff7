//! The legacy Bot and BotVersion that name a planner: the conversation and
//! context variables they declare, the bot's default outbound flow, and the
//! message of its Transfer dialog (the escalation message when no route
//! exists).

use std::path::Path;
use std::sync::Arc;

use roxmltree::Node;

use super::index::Index;
use super::planner::read_xml_text;
use crate::agent::spec::Name;
use crate::diag::Diagnostic;
use crate::xml::{Xml, children, text};

pub struct BotInfo {
    pub name: String,
    pub variables: Vec<Name>,
    pub default_outbound_flow: Option<Name>,
    pub transfer_message: Option<String>,
}

/// The bot whose version names `planner`, if the project has one.
pub fn find(index: &Index, planner: &str) -> Result<Option<BotInfo>, Diagnostic> {
    for (bot, path) in &index.bot_versions {
        let file: Arc<Path> = Arc::from(path.as_path());
        let text = read_xml_text(path)?;
        let xml = Xml::parse(&file, &text)?;
        let root = xml.root("BotVersion")?;
        let names_it = children(root, "conversationDefinitionPlanners")
            .any(|p| crate::xml::text(p, "genAiPlannerName") == Some(planner));
        if !names_it {
            continue;
        }
        let mut info = BotInfo {
            name: bot.clone(),
            variables: declared(&xml, root, "conversationVariables"),
            default_outbound_flow: None,
            transfer_message: transfer_message(root),
        };
        if let Some(bot_file) = index.bots.get(bot) {
            let file: Arc<Path> = Arc::from(bot_file.as_path());
            let text = read_xml_text(bot_file)?;
            let xml = Xml::parse(&file, &text)?;
            let root = xml.root("Bot")?;
            info.variables.extend(declared(&xml, root, "contextVariables"));
            info.default_outbound_flow = crate::xml::child(root, "defaultOutboundFlow")
                .and_then(|f| Some(Name::new(f.text()?.trim().to_string(), xml.src(f))));
        }
        return Ok(Some(info));
    }
    Ok(None)
}

fn declared(xml: &Xml<'_>, root: Node<'_, '_>, element: &str) -> Vec<Name> {
    children(root, element)
        .filter_map(|v| Some(Name::new(text(v, "developerName")?.to_string(), xml.src(v))))
        .collect()
}

/// The first message of the dialog that transfers to an agent.
fn transfer_message(root: Node<'_, '_>) -> Option<String> {
    children(root, "botDialogs")
        .find(|d| {
            text(*d, "developerName") == Some("Transfer_To_Agent")
                || d.descendants()
                    .any(|n| n.has_tag_name("conversationSystemMessage") && text(n, "type") == Some("Transfer"))
        })
        .and_then(|d| {
            d.descendants()
                .find(|n| n.has_tag_name("message"))
                .and_then(|m| m.text())
                .map(|t| t.trim().to_string())
        })
}
