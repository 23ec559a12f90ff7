//! The instruction compiler: turns a topic's natural-language instructions
//! into [`Rule`]s the engine enforces, following Agentforce's reading of them.
//!
//! Recognised forms (case, straight or curly quotes and small wording
//! changes do not matter):
//! - allow the 'Escalation' action only if the user has provided their SLOT
//!   (optionally: if they have not, ask for the SLOT first);
//! - allow the 'Escalation' action only after the 'ACTION' action has been
//!   executed (optionally: in the TOPIC topic);
//! - run the 'ACTION' action;
//! - escalate the conversation to a human (unconditional: smart routing).
//!
//! A policy that mentions escalation without the quoted 'Escalation' keyword
//! binds nothing, as in Agentforce; it is kept and reported as unbound.
//! Anything else is kept as plain text and reported as not compiled.

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
    /// Plain guidance the engine does not enforce.
    Text,
}

/// Names the compiler resolves against.
pub struct Names<'a> {
    pub slots: &'a [String],
    pub actions: &'a [String],
    pub topics: &'a [String],
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
// The slot list runs to the end of the sentence or clause; it is split on
// "and" and commas afterwards ("their account number and their email").
re!(
    SLOT_GUARD,
    r"only (?:if|when|once) (?:the )?(?:user|caller|customer|they|he|she)\s+(?:has|have)\s+(?:already\s+)?(?:provided|given|shared|supplied|confirmed|entered|stated|told you)\s+(?:us\s+|you\s+)?([^.;:!?]*)"
);
re!(
    ACTION_GUARD,
    r"only (?:after|once|when|if) (?:the )?'([^']+)'(?: action)?\s+(?:has|have|was)\s+(?:been\s+)?(?:successfully\s+)?(?:executed|run|completed|called|performed|done|invoked|succeeded)(?:\s+successfully)?(?:\s+in\s+the\s+([a-z0-9 _-]+?)\s+topic)?"
);
// "never call the 'Escalation' action before the 'createcase' action has
// been executed": the same guard, said the other way round.
re!(
    ACTION_GUARD_NEGATED,
    r"(?:never|do not|don't|must not|cannot) (?:call|allow|use|run|invoke|trigger)\s+(?:the )?'escalation'(?: action)?\s+(?:before|until)\s+(?:the )?'([^']+)'(?: action)?\s+(?:has|have|was|is)\s+(?:been\s+)?(?:successfully\s+)?(?:executed|run|completed|called|performed|done|invoked|succeeded)(?:\s+in\s+the\s+([a-z0-9 _-]+?)\s+topic)?"
);
re!(
    ASK_FIRST,
    r"ask (?:them |the user |the caller |the customer )?for (?:the |their |an? )?([a-z][a-z _-]*?) first"
);
re!(
    RUN_ACTION,
    r"\b(?:run|call|execute|use|invoke|trigger|perform)\s+(?:the\s+)?'([^']+)'"
);
// An unconditional handoff is a bare imperative sentence: the verb first,
// a human as the target, no condition and no negation anywhere in it.
re!(
    IMPERATIVE_ESCALATE,
    r"^(?:always |please |then |simply |just )?(?:escalate|transfer|hand off|handoff|route|connect)\b[a-z' ]*?\bto (?:a |an |the )?(?:human|live agent|live person|real person|person|representative|agent|operator)\b"
);
re!(
    IMPERATIVE_CALL,
    r"^(?:always |please |then |simply |just )?(?:call|run|use|invoke|trigger|execute) (?:the )?'escalation'(?: action)?$"
);
re!(
    CONDITION,
    r"\b(?:if|when|whenever|unless|until|before|after|once|only|never|not|don't|do not|except|provided)\b"
);
re!(MENTIONS_ESCALATION, r"\bescalat|'escalation'");

/// Lower-cases, straightens quotes and folds white space.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '‘' | '’' | '‛' | '´' | '`' | '“' | '”' | '"' => '\'',
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
    let mut rules = Vec::new();
    let quoted = QUOTED_ESCALATION.is_match(&n);
    if quoted {
        let ask_first: Vec<String> = ASK_FIRST.captures_iter(&n).map(|c| c[1].to_string()).collect();
        for c in SLOT_GUARD.captures_iter(&n) {
            for slot in slot_list(&c[1], names)? {
                let asks = ask_first.iter().any(|a| resolve_slot(a, names).ok() == Some(slot));
                rules.push(Rule::RequireSlot { slot, ask_first: asks });
            }
        }
        for c in ACTION_GUARD
            .captures_iter(&n)
            .chain(ACTION_GUARD_NEGATED.captures_iter(&n))
        {
            let action = resolve(&c[1], names.actions, "action")?;
            let topic = match c.get(2) {
                Some(t) => Some(resolve(t.as_str(), names.topics, "topic")?),
                None => None,
            };
            rules.push(Rule::RequireAction { action, topic });
        }
    }
    for c in RUN_ACTION.captures_iter(&n) {
        if &c[1] != "escalation" {
            let action = resolve(&c[1], names.actions, "action")?;
            rules.push(Rule::RunAction { action });
        }
    }
    let guards = rules.iter().any(Rule::is_guard);
    let unconditional = sentences(&n).any(|s| {
        !CONDITION.is_match(s) && (IMPERATIVE_ESCALATE.is_match(s) || (quoted && IMPERATIVE_CALL.is_match(s)))
    });
    if unconditional && !guards {
        rules.push(Rule::EscalateAlways);
    }
    if quoted && !guards && !unconditional {
        return Ok(Compiled::Unbound(
            "names the 'Escalation' action but no condition baton understands".to_string(),
        ));
    }
    if !quoted && !unconditional && rules.is_empty() && MENTIONS_ESCALATION.is_match(&n) {
        return Ok(Compiled::Unbound(
            "mentions escalation without the quoted 'Escalation' keyword".to_string(),
        ));
    }
    if rules.is_empty() {
        Ok(Compiled::Text)
    } else {
        Ok(Compiled::Rules(rules))
    }
}

fn sentences(n: &str) -> impl Iterator<Item = &str> {
    n.split(['.', ';', '!', '?']).map(str::trim).filter(|s| !s.is_empty())
}

/// "their account number and their email address" -> both slots. The first
/// phrase must name a slot; later ones must too when they read as a noun
/// phrase, so that a misspelt second slot is an error, not a dropped guard.
fn slot_list(phrase: &str, names: &Names<'_>) -> Result<Vec<SlotId>, Unresolved> {
    let mut slots = Vec::new();
    let parts = phrase
        .split(',')
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    for (i, part) in parts.enumerate() {
        let part = part.strip_prefix("and ").unwrap_or(part);
        let determiner = ["their ", "his ", "her ", "the ", "an ", "a ", "both "]
            .iter()
            .find_map(|d| part.strip_prefix(d));
        let phrase = determiner.unwrap_or(part);
        match resolve_slot(phrase, names) {
            Ok(slot) => slots.push(slot),
            Err(e) if i == 0 || determiner.is_some() || phrase.split_whitespace().count() <= 2 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(slots)
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
mod tests {
    use super::*;

    fn names() -> (Vec<String>, Vec<String>, Vec<String>) {
        (
            vec!["email".into(), "account_number".into()],
            vec!["createcase".into(), "verify_account".into()],
            vec!["Case_Management".into(), "Billing".into()],
        )
    }

    fn c(text: &str) -> Result<Compiled, Unresolved> {
        let (s, a, t) = names();
        compile(
            text,
            &Names {
                slots: &s,
                actions: &a,
                topics: &t,
            },
        )
    }

    #[test]
    fn seed_pattern_a() {
        let got = c(
            "If the user asks to talk to a human agent, allow the ‘Escalation’ action only if the user has provided their email address. If they have not, ask for the email first.",
        );
        assert_eq!(
            got,
            Ok(Compiled::Rules(vec![Rule::RequireSlot {
                slot: 0,
                ask_first: true
            }]))
        );
    }

    #[test]
    fn seed_pattern_b_with_topic() {
        let got = c(
            "…allowing the ‘Escalation’ action to be called only after the ‘createcase’ action has been executed in the Case Management topic.",
        );
        assert_eq!(
            got,
            Ok(Compiled::Rules(vec![Rule::RequireAction {
                action: 0,
                topic: Some(0)
            }]))
        );
        let got =
            c("Allow the \"Escalation\" action to be called ONLY after the 'createcase' action has been executed.");
        assert_eq!(
            got,
            Ok(Compiled::Rules(vec![Rule::RequireAction { action: 0, topic: None }]))
        );
    }

    #[test]
    fn unquoted_keyword_binds_nothing() {
        let got = c(
            "If the user asks for a human, allow the Escalation action only if the user has provided their email address.",
        );
        assert!(matches!(got, Ok(Compiled::Unbound(_))), "{got:?}");
    }

    #[test]
    fn run_action_and_unconditional() {
        assert_eq!(
            c("When the caller describes a problem, run the 'createcase' action."),
            Ok(Compiled::Rules(vec![Rule::RunAction { action: 0 }]))
        );
        assert_eq!(
            c("Escalate the conversation to a human live agent."),
            Ok(Compiled::Rules(vec![Rule::EscalateAlways]))
        );
        assert_eq!(c("Be polite and concise."), Ok(Compiled::Text));
    }

    #[test]
    fn conditional_negated_or_harmless_wording_never_escalates_always() {
        for text in [
            "If the caller is angry, transfer them to a human.",
            "Do not transfer the caller to a human agent until the case is open.",
            "Pass the case number to the agent.",
            "Call the 'Escalation' action if the caller asks for a supervisor.",
        ] {
            let got = c(text).unwrap();
            assert!(
                !matches!(&got, Compiled::Rules(r) if r.contains(&Rule::EscalateAlways)),
                "{text}: {got:?}"
            );
        }
        assert_eq!(
            c("Escalate to a human live agent. Only speak English."),
            Ok(Compiled::Rules(vec![Rule::EscalateAlways]))
        );
        assert_eq!(
            c("Never call the 'Escalation' action before the 'createcase' action has been executed."),
            Ok(Compiled::Rules(vec![Rule::RequireAction { action: 0, topic: None }]))
        );
    }

    #[test]
    fn slot_lists_and_run_actions_beside_guards() {
        assert_eq!(
            c(
                "Allow the 'Escalation' action only if the user has provided their account number and their email address."
            ),
            Ok(Compiled::Rules(vec![
                Rule::RequireSlot {
                    slot: 1,
                    ask_first: false
                },
                Rule::RequireSlot {
                    slot: 0,
                    ask_first: false
                }
            ]))
        );
        assert_eq!(
            c(
                "Run the 'verify_account' action, then allow the 'Escalation' action only if the user has provided their email."
            ),
            Ok(Compiled::Rules(vec![
                Rule::RequireSlot {
                    slot: 0,
                    ask_first: false
                },
                Rule::RunAction { action: 1 }
            ]))
        );
        assert!(c("Allow 'Escalation' only if the user has provided their email and their phone number.").is_err());
    }

    #[test]
    fn unknown_names_are_errors() {
        let err = c("run the 'createcas' action").unwrap_err();
        assert_eq!((err.kind, err.name.as_str()), ("action", "createcas"));
        let err = c("allow 'Escalation' only if the user has provided their phone number").unwrap_err();
        assert_eq!(err.kind, "slot");
    }

    #[test]
    fn catch_all_descriptions() {
        assert!(reads_as_catch_all(
            "Handle all escalations and any user requests that come through."
        ));
        assert!(!reads_as_catch_all("Open and track support cases"));
    }
}
