//! The escalation route: which channel surface's outbound route a handoff
//! takes (the one an overlay names, a voice agent's Telephony surface, or
//! the first with a route), falling back to the bot's default outbound flow.

use roxmltree::Node;

use super::bot::BotInfo;
use super::planner::clean;
use crate::agent::spec::{At, Name, Src};
use crate::diag::Diagnostic;
use crate::model::raw::Channel;
use crate::xml::{Xml, child, children, text};

/// Where a handoff goes, from the surface baton takes.
pub(super) struct Route {
    pub flow: Option<Name>,
    pub message: Option<String>,
    pub surface: Option<String>,
}

/// The route of the chosen surface: a voice agent's Telephony surface,
/// else the first surface with an outbound route; failing that, the bot's
/// default outbound flow, and its Transfer dialog's message.
pub(super) fn route(
    xml: &Xml<'_>,
    root: Node<'_, '_>,
    bot: Option<&BotInfo>,
    prefer: Option<&At<String>>,
    notes: &mut Vec<At<String>>,
) -> Result<(Route, Channel), Diagnostic> {
    let voice_planner = text(root, "plannerType") == Some("Atlas__VoiceAgent");
    let surfaces: Vec<(String, Option<Node<'_, '_>>, Src)> = children(root, "plannerSurfaces")
        .map(|s| {
            (
                text(s, "surfaceType").unwrap_or_default().to_string(),
                child(s, "outboundRouteConfigs"),
                xml.src(s),
            )
        })
        .collect();
    let telephony = surfaces.iter().position(|s| s.0 == "Telephony");
    let named = match prefer {
        Some(p) => match surfaces.iter().position(|s| s.0.eq_ignore_ascii_case(&p.value)) {
            Some(i) => Some(i),
            None => {
                let names: Vec<&str> = surfaces.iter().map(|s| s.0.as_str()).collect();
                return Err(p.src.error(format!(
                    "the agent has no '{}' surface: expected one of {}",
                    p.value,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
            }
        },
        None => None,
    };
    let (chosen, why) = match (named, voice_planner, telephony) {
        (Some(i), _, _) => (Some(i), "named by the overlay's `surface`"),
        (None, true, Some(i)) => (Some(i), "a voice agent (Atlas__VoiceAgent) uses its Telephony surface"),
        _ => match surfaces.iter().position(|s| s.1.is_some()) {
            Some(i) => (Some(i), "the first surface with an outbound route"),
            None => (None, ""),
        },
    };
    let voice = voice_planner || chosen.is_some_and(|i| surfaces[i].0 == "Telephony");
    let channel = if voice { Channel::Voice } else { Channel::Messaging };
    if let Some(i) = chosen
        && let Some(cfg) = surfaces[i].1
        && let Some(flow) = child(cfg, "outboundRouteName")
    {
        return Ok((
            Route {
                flow: Some(Name::new(clean(flow.text().unwrap_or_default()), xml.src(flow))),
                message: text(cfg, "escalationMessage").map(str::to_string),
                surface: Some(format!("{} ({why})", surfaces[i].0)),
            },
            channel,
        ));
    }
    let at = chosen.map_or_else(|| xml.src(root), |i| surfaces[i].2.clone());
    let message = bot.and_then(|b| b.transfer_message.clone());
    if let Some(flow) = bot.and_then(|b| b.default_outbound_flow.clone()) {
        return Ok((
            Route {
                flow: Some(flow),
                message,
                surface: Some("none with a route: the bot's defaultOutboundFlow".to_string()),
            },
            channel,
        ));
    }
    notes.push(At::new(
        "no outbound route: the agent says it escalates, but nothing reaches an Omni-Channel flow".to_string(),
        at,
    ));
    Ok((
        Route {
            flow: None,
            message,
            surface: chosen.map(|i| format!("{} ({why}), which has no outbound route", surfaces[i].0)),
        },
        channel,
    ))
}
