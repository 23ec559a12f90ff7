//! The instruction compiler: turns a topic's natural-language instructions
//! into [`Rule`]s the engine enforces, following Agentforce's reading of them.
//!
//! Case, straight or curly quotes and wording do not matter much; what binds
//! is the quoted 'Escalation' keyword in a sentence with a condition:
//! - every other quoted action in that sentence becomes "'Escalation' only
//!   after ACTION succeeded" (Pattern B; with "in the TOPIC topic", only a
//!   success in that topic counts);
//! - every slot the sentence names after its condition word becomes
//!   "'Escalation' only if SLOT is filled" (Pattern A).
//!
//! Reading more guards than the author meant is the safe failure: a caller
//! waits for pre-work; reading fewer lets a caller reach a human too early.
//! For the same reason an unconditional escalation (smart routing) is read
//! only from an instruction that is nothing but a bare imperative such as
//! "Escalate the conversation to a human live agent."; escalation wording
//! with anything more ("as a last resort", "for VIP callers", "then ...")
//! binds nothing and is reported. "Run the 'ACTION' action" runs the action.
//! A policy that mentions escalation without the quoted keyword binds
//! nothing, as in Agentforce. Anything else is kept as guidance text.

use std::sync::LazyLock;

use regex::Regex;

pub type SlotId = u16;
pub type ActionId = u16;
pub type TopicId = u16;

/// One enforceable rule compiled from an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Run the action when the topic is active and it has not succeeded yet.
    RunAction { action: ActionId },
    /// 'Escalation' only once the slot is filled.
    RequireSlot { slot: SlotId, ask_first: bool },
    /// 'Escalation' only once the action has succeeded (in `topic`, if given).
    RequireAction { action: ActionId, topic: Option<TopicId> },
    /// Escalate on every turn the topic handles.
    EscalateAlways,
    /// Escalate as soon as the action fails ("if the 'createcase' action
    /// fails, call the 'Escalation' action"): the failed call opens the way.
    EscalateOnFailure { action: ActionId },
}

impl Compiled {
    /// The rules that bind.
    pub fn rules(&self) -> &[Rule] {
        match self {
            Compiled::Rules(r) | Compiled::Partly { rules: r, .. } => r,
            Compiled::Unbound(_) | Compiled::Text => &[],
        }
    }

    /// Why (part of) the instruction binds nothing.
    pub fn unbound(&self) -> Option<&str> {
        match self {
            Compiled::Unbound(why) | Compiled::Partly { unbound: why, .. } => Some(why),
            Compiled::Rules(_) | Compiled::Text => None,
        }
    }
}

impl Rule {
    pub fn is_guard(&self) -> bool {
        matches!(self, Rule::RequireSlot { .. } | Rule::RequireAction { .. })
    }
}

/// What one instruction compiled to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compiled {
    Rules(Vec<Rule>),
    /// Reads like an escalation policy but binds nothing; the reason says why.
    Unbound(String),
    /// Some rules bound, but an escalation part of the text did not.
    Partly {
        rules: Vec<Rule>,
        unbound: String,
    },
    /// Plain guidance the engine does not enforce.
    Text,
}

/// Names the compiler resolves against.
pub struct Names<'a> {
    pub slots: &'a [String],
    pub actions: &'a [String],
    /// Another name per action (a label), or empty: instructions in real
    /// projects quote labels ("'Get Sessions'") as often as names.
    pub action_labels: &'a [String],
    pub topics: &'a [String],
}

/// An action by its name, else by its label.
fn resolve_action(name: &str, names: &Names<'_>) -> Result<ActionId, Unresolved> {
    resolve(name, names.actions, "action").or_else(|e| {
        let k = key(name);
        names
            .action_labels
            .iter()
            .position(|l| !l.is_empty() && key(l) == k)
            .map(|i| i as ActionId)
            .ok_or(e)
    })
}

/// A name in an instruction that does not resolve.
#[derive(Debug, PartialEq, Eq)]
pub struct Unresolved {
    pub kind: &'static str,
    pub name: String,
    pub candidates: Vec<String>,
}

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($pat).expect("static regex"));
    };
}

re!(QUOTED_ESCALATION, r"'escalation'");
re!(QUOTED_NAME, r"'([^']+)'");
re!(
    ACTION_FAILS,
    r"'([^']+)'(?: action)? (?:fails|failed|errors|errored|returns an error|does not succeed|doesn't succeed|did not succeed|is unsuccessful|cannot be completed)"
);
re!(
    CONDITION,
    r"\b(?:only|if|unless|once|when|whenever|after|before|until|never|not|don't|dont|provided|as soon as)\b"
);
re!(
    TOPIC_QUALIFIER,
    r"\b(?:in|within|inside|from) (?:the )?'?([a-z0-9][a-z0-9 _-]*?)'? topic\b"
);
re!(
    ASK_FIRST,
    r"ask (?:them |the user |the caller |the customer )?for (?:the |their |an? )?([a-z][a-z _-]*?) first"
);
re!(
    RUN_ACTION,
    r"\b(?:run|call|execute|use|invoke|trigger|perform)\s+(?:the\s+)?'([^']+)'"
);
// The whole sentence, nothing more: verb, optional object, a human target.
re!(
    IMPERATIVE_ESCALATE,
    r"^(?:always |please |simply |just |immediately )?(?:escalate|transfer|hand off|handoff|route|connect) (?:(?:the|this) (?:conversation|call|caller|customer|user|chat) |them |it )?to (?:a |an |the )?(?:(?:human|live|real) ?)*(?:agent|person|representative|operator|human|rep)?$"
);
re!(
    IMPERATIVE_CALL,
    r"^(?:always |please |simply |just |immediately )?(?:call|run|use|invoke|trigger|execute) (?:the )?'escalation'(?: action)?$"
);
re!(
    ESCALATES_SOMEHOW,
    r"\b(?:escalat\w*|transfer\w*|hand\w* off|route\w*|connect\w*)\b[^.;]*?\b(?:to|with) (?:a |an |the )?(?:human|live|real|person|representative|agent|operator)"
);
re!(MENTIONS_ESCALATION, r"\bescalat|'escalation'");
re!(
    SLOT_PHRASE,
    r"\b(?:(?:provided|given|shared|supplied|confirmed|entered|collected|verified|stated) (?:us |you )?(?:their|his|her|the|an|a|a valid)|(?:and|as well as|&|,) (?:their|his|her)) ([a-z][a-z _-]*?)(?:\s*[,)]|\s+(?:and|or|before|if|to|first|has|have|is|was|as)\b|$)"
);

/// Lower-cases, straightens quotes and folds white space.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '‘' | '’' | '‛' | '´' | '`' | '“' | '”' | '„' | '‟' | '«' | '»' | '‹' | '›' | '"' => {
                '\''
            }
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.extend(c.to_lowercase());
            space = false;
        }
    }
    out.trim_end().to_string()
}

/// Compiles one instruction.
pub fn compile(text: &str, names: &Names<'_>) -> Result<Compiled, Unresolved> {
    let n = normalize(text);
    let sentences: Vec<&str> = sentences(&n).collect();
    let quoted = QUOTED_ESCALATION.is_match(&n);
    let ask_first: Vec<SlotId> = ASK_FIRST
        .captures_iter(&n)
        .filter_map(|c| resolve_slot(&c[1], names).ok())
        .collect();
    let mut rules = Vec::new();
    for s in sentences.iter().filter(|s| QUOTED_ESCALATION.is_match(s)) {
        if let Some(c) = ACTION_FAILS.captures(s).filter(|c| &c[1] != "escalation") {
            let action = resolve_action(&c[1], names)?;
            push(&mut rules, Rule::EscalateOnFailure { action });
            continue;
        }
        let Some(cond) = CONDITION.find(s) else { continue };
        guards_of_sentence(s, cond.start(), names, &ask_first, &mut rules)?;
    }
    for c in RUN_ACTION.captures_iter(&n) {
        if &c[1] != "escalation" {
            let action = resolve_action(&c[1], names)?;
            if !rules.contains(&Rule::RunAction { action }) {
                rules.push(Rule::RunAction { action });
            }
        }
    }
    let guards = rules
        .iter()
        .any(|r| r.is_guard() || matches!(r, Rule::EscalateOnFailure { .. }));
    let unconditional = sentences.len() == 1
        && (IMPERATIVE_ESCALATE.is_match(sentences[0]) || (quoted && IMPERATIVE_CALL.is_match(sentences[0])));
    if unconditional {
        rules.push(Rule::EscalateAlways);
        return Ok(Compiled::Rules(rules));
    }
    let unbound = if quoted && !guards {
        Some("names the 'Escalation' action but no condition baton understands")
    } else if !quoted && ESCALATES_SOMEHOW.is_match(&n) {
        Some(
            "escalates only in some cases, or after other steps, in words baton cannot bind; write the condition with the quoted 'Escalation' keyword, or put an unconditional escalation in an instruction of its own",
        )
    } else if !quoted && MENTIONS_ESCALATION.is_match(&n) {
        Some("mentions escalation without the quoted 'Escalation' keyword")
    } else {
        None
    };
    Ok(match (unbound, rules.is_empty()) {
        (Some(why), true) => Compiled::Unbound(why.to_string()),
        (Some(why), false) => Compiled::Partly {
            rules,
            unbound: why.to_string(),
        },
        (None, true) => Compiled::Text,
        (None, false) => Compiled::Rules(rules),
    })
}

fn sentences(n: &str) -> impl Iterator<Item = &str> {
    n.split(['.', ';', '!', '?']).map(str::trim).filter(|s| !s.is_empty())
}

/// The guards of one sentence that names 'Escalation' with a condition.
fn guards_of_sentence(
    s: &str,
    cond: usize,
    names: &Names<'_>,
    ask_first: &[SlotId],
    rules: &mut Vec<Rule>,
) -> Result<(), Unresolved> {
    // "in the Case Management topic" qualifies the actions of the sentence;
    // its words are not action names.
    let mut topic = None;
    let mut rest = s.to_string();
    if let Some(c) = TOPIC_QUALIFIER.captures(s) {
        topic = Some(resolve(&c[1], names.topics, "topic")?);
        let m = c.get(0).map_or(0..0, |m| m.range());
        rest.replace_range(m, " ");
    }
    for c in QUOTED_NAME.captures_iter(&rest) {
        let name = &c[1];
        if name == "escalation" {
            continue;
        }
        match resolve_action(name, names) {
            Ok(action) => push(rules, Rule::RequireAction { action, topic }),
            Err(e) => {
                // A quoted word that is neither called an action nor close to
                // one ("if the caller says 'agent'") is not a reference.
                let called_action = rest[c.get(0).map_or(0, |m| m.end())..]
                    .trim_start()
                    .starts_with("action");
                let close = crate::diag::did_you_mean(name, names.actions.iter().map(String::as_str)).is_some();
                if called_action || close {
                    return Err(e);
                }
            }
        }
    }
    let after = &s[cond..];
    // "has provided their phone number" with no `phone` slot is a typo or
    // a missing slot, not a condition to drop.
    // Matches may share the "and" between them, so the search resumes at the
    // end of each phrase rather than of the whole match.
    let mut at = 0;
    while let Some(c) = SLOT_PHRASE.captures_at(after, at) {
        let Some(m) = c.get(1) else { break };
        at = m.end();
        let phrase = m.as_str().trim();
        if !names.slots.iter().any(|slot| mentions(phrase, slot)) {
            return Err(Unresolved {
                kind: "slot",
                name: phrase.to_string(),
                candidates: names.slots.to_vec(),
            });
        }
    }
    for (id, slot) in names.slots.iter().enumerate() {
        let id = id as SlotId;
        if mentions(after, slot) {
            push(
                rules,
                Rule::RequireSlot {
                    slot: id,
                    ask_first: ask_first.contains(&id),
                },
            );
        }
    }
    Ok(())
}

fn push(rules: &mut Vec<Rule>, rule: Rule) {
    if !rules.contains(&rule) {
        rules.push(rule);
    }
}

/// Whether `text` names the slot as words: `account_number` as "account
/// number" (or as written), `email` in "email address".
fn mentions(text: &str, slot: &str) -> bool {
    let spaced = slot.to_ascii_lowercase().replace(['_', '-'], " ");
    let raw = slot.to_ascii_lowercase();
    [spaced.as_str(), raw.as_str()].iter().any(|w| {
        text.match_indices(w).any(|(i, _)| {
            let before = text[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
            let after = text[i + w.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
            before && after
        })
    })
}

fn key(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| {
            if c == ' ' || c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn resolve(name: &str, candidates: &[String], kind: &'static str) -> Result<u16, Unresolved> {
    let k = key(name);
    candidates
        .iter()
        .position(|c| key(c) == k)
        .map(|i| i as u16)
        .ok_or_else(|| Unresolved {
            kind,
            name: name.trim().to_string(),
            candidates: candidates.to_vec(),
        })
}

/// "email address" -> `email`, "account number" -> `account_number`.
/// Slot names are short, so only the first few words are tried.
fn resolve_slot(phrase: &str, names: &Names<'_>) -> Result<SlotId, Unresolved> {
    let words: Vec<&str> = phrase.split_whitespace().take(4).collect();
    for take in (1..=words.len()).rev() {
        if let Ok(id) = resolve(&words[..take].join("_"), names.slots, "slot") {
            return Ok(id);
        }
    }
    Err(Unresolved {
        kind: "slot",
        name: words.join(" "),
        candidates: names.slots.to_vec(),
    })
}

/// Whether a topic description reads as a catch-all ("handle all
/// escalations and any user requests"): such a topic takes every utterance.
pub fn reads_as_catch_all(description: &str) -> bool {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\b(?:all|any|every)\b[^.]*\b(?:requests?|inquir(?:y|ies)|questions?|calls?|callers?|utterances?)\b",
        )
        .expect("static regex")
    });
    RE.is_match(&description.to_lowercase())
}

#[cfg(test)]
mod tests;
