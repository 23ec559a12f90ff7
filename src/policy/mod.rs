//! The instruction compiler: turns a topic's natural-language instructions
//! into [`Rule`]s the engine enforces, following Agentforce's reading of them.
//!
//! Case, straight or curly quotes and wording do not matter much; what binds
//! an escalation policy is the quoted 'Escalation' keyword (or an action
//! reference that stands for it) in a sentence with a condition:
//! - every other quoted action in that sentence becomes "'Escalation' only
//!   after ACTION succeeded" (Pattern B; with "in the TOPIC topic", only a
//!   success in that topic counts; "this topic" is the topic itself);
//! - every slot the sentence names after its condition word becomes
//!   "'Escalation' only if SLOT is filled" (Pattern A);
//! - requirements joined by "or" become one guard met by any of them.
//!
//! Reading more guards than the author meant is the safe failure: a caller
//! waits for pre-work; reading fewer lets a caller reach a human too early
//! in the engine, and a declared property says so. Reading a guard
//! *stronger* than the text is the dangerous failure, because `verify` then
//! proves that nobody reaches a human without the pre-work while the
//! deployed agent lets some callers through. So the compiler never drops
//! what weakens a guard:
//! - an exception the text grants ("unless the customer says it is an
//!   emergency", "if verification fails, call the 'Escalation' action
//!   anyway", "if the user refuses to give an email") is modelled as a
//!   [`When`] on the guard: the guard is met when it holds;
//! - a negated requirement ("does not require", "even if the user has not
//!   provided") binds nothing;
//! - a clause baton cannot model that could open a way to a human (a
//!   condition on some callers, an exception in other words) leaves the
//!   instruction [`Reading::Partly`] understood, and every verdict resting
//!   on its guards carries the assumption that the clause never applies.
//!
//! Actions are run by any verb that names a quoted action ("verify the
//! caller using 'verify_identity'"), with the conditions on other actions or
//! slots the sentence gives ("once the caller is verified"), in sequence
//! ("first run 'A', then 'B'"). "Do not run 'X' unless 'Y' has succeeded"
//! is a precondition on X. Counted escalations ("if the caller asks for a
//! human three times") and escalations on caller events bypass the topic's
//! guards, as in a deployed agent. Anything else is kept as guidance text.

use std::sync::LazyLock;

use regex::Regex;

pub type SlotId = u16;
pub type ActionId = u16;
pub type TopicId = u16;

/// A requirement: a filled slot or an action that succeeded (in a topic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Req {
    Slot(SlotId),
    Action(ActionId, Option<TopicId>),
}

/// A caller event an exception or an escalation waits for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// The caller says one of these words ("it is an emergency").
    Says(Vec<String>),
    /// The caller refuses to give the slot.
    Refuses(SlotId),
}

/// What a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Counter {
    /// The caller's requests for a human.
    Requests,
    /// Failed runs of the action.
    Failures(ActionId),
}

/// A condition on the conversation so far that opens a way to a human: an
/// exception to a guard, or the trigger of an escalation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum When {
    /// The caller said it (at any earlier point of the conversation).
    Said(Trigger),
    /// The action's latest run failed.
    Failed(ActionId),
    /// The counter reached this count.
    Count(Counter, u8),
    /// The slot is empty: the guard applies only to callers who gave it.
    SlotEmpty(SlotId),
}

/// An escalation guard: 'Escalation' only once one of `any` holds, unless
/// one of `unless` does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Guard {
    /// Met when any of these holds (one item: a plain guard).
    pub any: Vec<Req>,
    /// "If they have not, ask for the email first."
    pub ask_first: bool,
    /// Exceptions the instruction grants: the guard is met when one holds.
    pub unless: Vec<When>,
}

/// One enforceable rule compiled from an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Run the action when the topic is active, it has not succeeded yet,
    /// and every requirement in `after` holds.
    RunAction { action: ActionId, after: Vec<Req> },
    /// An escalation guard.
    Require(Guard),
    /// The action may not run until every requirement holds; the engine
    /// does the pre-work it can (runs a required action of the topic, asks
    /// for a slot) and otherwise holds the action back.
    Precondition { action: ActionId, requires: Vec<Req> },
    /// Escalate on every turn the topic handles.
    EscalateAlways,
    /// Escalate on every turn the topic handles once every requirement
    /// holds ("first run 'A', then 'B', then call the 'Escalation' action").
    EscalateAfter { requires: Vec<Req> },
    /// Escalate as soon as the action fails ("if the 'createcase' action
    /// fails, call the 'Escalation' action"): the failed call opens the way.
    EscalateOnFailure { action: ActionId },
    /// Escalate on a turn the topic handles once the condition holds (a
    /// caller event or a count): no guard is consulted.
    EscalateWhen { when: When },
}

impl Rule {
    pub fn is_guard(&self) -> bool {
        matches!(self, Rule::Require(_))
    }

    /// Rules that open a way to a human (besides a request the guards let through).
    pub fn escalates(&self) -> bool {
        matches!(
            self,
            Rule::EscalateAlways
                | Rule::EscalateAfter { .. }
                | Rule::EscalateOnFailure { .. }
                | Rule::EscalateWhen { .. }
        )
    }

    /// A plain slot guard (for tests and the seed's Pattern A).
    pub fn slot(slot: SlotId, ask_first: bool) -> Rule {
        Rule::Require(Guard {
            any: vec![Req::Slot(slot)],
            ask_first,
            unless: Vec::new(),
        })
    }

    /// A plain action guard (Pattern B).
    pub fn action(action: ActionId, topic: Option<TopicId>) -> Rule {
        Rule::Require(Guard {
            any: vec![Req::Action(action, topic)],
            ask_first: false,
            unless: Vec::new(),
        })
    }

    /// An unconditional run.
    pub fn run(action: ActionId) -> Rule {
        Rule::RunAction {
            action,
            after: Vec::new(),
        }
    }
}

/// How much of an instruction baton understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Understood; the rules are all it says (maybe none: "the 'Escalation'
    /// action does not require the email" binds nothing, by its meaning).
    Understood,
    /// Understood, with the exceptions it grants modelled.
    Excepted,
    /// Some of it bound; `clause` did not, for the reason `why`.
    Partly {
        clause: String,
        why: String,
        /// The clause could open a way to a human that the rules do not
        /// model: verdicts on these guards assume it never applies.
        opens: bool,
    },
    /// Reads like an escalation policy but binds nothing.
    Unbound { why: String, opens: bool },
    /// Plain guidance the engine does not enforce.
    Text,
}

/// What one instruction compiled to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    pub rules: Vec<Rule>,
    pub reading: Reading,
    /// How baton read names and forms beyond the plain ones ("merge field
    /// {!@actions.x} read as 'x'"), for `explain`.
    pub notes: Vec<String>,
    /// Requirements the instruction says are not needed ("does not require
    /// the email"): a guard elsewhere that requires them contradicts it.
    pub waives: Vec<Req>,
}

impl Compiled {
    pub fn new(rules: Vec<Rule>, reading: Reading) -> Compiled {
        Compiled {
            rules,
            reading,
            notes: Vec::new(),
            waives: Vec::new(),
        }
    }

    /// Understood, with these rules.
    pub fn rules_only(rules: Vec<Rule>) -> Compiled {
        Compiled::new(rules, Reading::Understood)
    }

    /// Binds nothing, for the reason given.
    pub fn unbound(why: impl Into<String>) -> Compiled {
        Compiled::new(
            Vec::new(),
            Reading::Unbound {
                why: why.into(),
                opens: false,
            },
        )
    }

    /// The rules that bind.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Why (part of) the instruction binds nothing.
    pub fn unbound_reason(&self) -> Option<&str> {
        match &self.reading {
            Reading::Unbound { why, .. } | Reading::Partly { why, .. } => Some(why),
            _ => None,
        }
    }

    /// The assumption a verdict resting on this instruction's guards (or on
    /// the guards of its topic) makes, when a clause that could open a way
    /// to a human is not modelled.
    pub fn assumption(&self) -> Option<String> {
        match &self.reading {
            Reading::Partly {
                clause, opens: true, ..
            } if is_scope(clause) => Some(format!("{} covers every caller", quote(clause))),
            Reading::Partly {
                clause, opens: true, ..
            } => Some(format!("{} never applies", quote(clause))),
            Reading::Unbound { opens: true, .. } => Some(format!("{} never applies", quote(&self.text_hint()))),
            _ => None,
        }
    }

    fn text_hint(&self) -> String {
        self.notes
            .iter()
            .find_map(|n| n.strip_prefix(CLAUSE_NOTE))
            .unwrap_or("the instruction")
            .to_string()
    }

    /// "understood", "understood, with exceptions modelled", ...
    pub fn label(&self) -> &'static str {
        match self.reading {
            Reading::Understood if self.rules.is_empty() => "understood: binds nothing by its meaning",
            Reading::Understood => "understood",
            Reading::Excepted => "understood, with its exceptions modelled",
            Reading::Partly { .. } => "partly understood",
            Reading::Unbound { .. } | Reading::Text => "not understood",
        }
    }
}

/// Whether an unmodelled clause restricts a guard to some callers ("for
/// premium customers") rather than excepting some ("unless ...").
fn is_scope(clause: &str) -> bool {
    !(clause.starts_with("unless") || clause.starts_with("except") || clause.starts_with("but "))
        && (clause.starts_with("for ")
            || clause.starts_with("with ")
            || clause.starts_with("if ")
            || clause.starts_with("when "))
}

/// A note that carries the text of an unbound escalation instruction.
const CLAUSE_NOTE: &str = "clause: ";

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "'"))
}

/// Names the compiler resolves against.
#[derive(Clone, Copy)]
pub struct Names<'a> {
    pub slots: &'a [String],
    pub actions: &'a [String],
    /// Another name per action (a label), or empty: instructions in real
    /// projects quote labels ("'Get Sessions'") as often as names.
    pub action_labels: &'a [String],
    pub topics: &'a [String],
    /// The topic the instruction belongs to ("in this topic").
    pub this_topic: Option<TopicId>,
    /// The actions of that topic (to resolve "once the caller is verified").
    pub topic_actions: &'a [ActionId],
    /// Action names that stand for the Escalation action (Agent Script's
    /// `escalate_to_human: @utils.escalate`).
    pub escalation_aliases: &'a [String],
}

impl<'a> Names<'a> {
    /// Names with no topic context.
    pub fn plain(slots: &'a [String], actions: &'a [String], topics: &'a [String]) -> Names<'a> {
        Names {
            slots,
            actions,
            action_labels: &[],
            topics,
            this_topic: None,
            topic_actions: &[],
            escalation_aliases: &[],
        }
    }
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
    MERGE_FIELD,
    r"\{!?\s*@(actions|utils)\.([a-z0-9_]+)\s*\}|@(actions|utils)\.([a-z0-9_]+)"
);
re!(
    ACTION_FAILS,
    r"'([^']+)'(?: action)? (?:fails|failed|errors|errored|returns an error|does not succeed|doesn't succeed|did not succeed|is unsuccessful|cannot be completed|can't be completed)"
);
re!(
    VERIFICATION_FAILS,
    r"\b(?:(?:the |identity |account )?verification (?:fails|failed|is unsuccessful|does not succeed|doesn't succeed|did not succeed)|(?:the (?:caller|customer|user) )?(?:fails|failed) (?:the )?verification|(?:the (?:caller|customer|user) )?(?:cannot|can't|could not|couldn't) be verified)\b"
);
re!(
    CONDITION,
    r"\b(?:only|if|unless|once|when|whenever|after|before|until|never|not|don't|dont|provided|as soon as|requires?|needs)\b"
);
re!(
    TOPIC_QUALIFIER,
    r"\b(?:in|within|inside|from) (?:the )?'?([a-z0-9][a-z0-9 _-]*?)'? topic\b"
);
re!(
    ASK_FIRST,
    r"ask (?:them |the user |the caller |the customer )?for (?:the |their |an? )?([a-z][a-z _-]*?) first"
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
    r"\b(?:(?:provided|given|shared|supplied|confirmed|entered|collected|verified|stated) (?:us |you )?(?:their|his|her|the|an|a|a valid)|(?:and|or|as well as|&|,) (?:their|his|her)) ([a-z][a-z _-]*?)(?:\s*[,)]|\s+(?:and|or|before|if|to|first|has|have|is|was|as)\b|$)"
);
// "does not require the email", "even if the user has not provided".
re!(
    NEGATED_REQUIREMENT,
    r"\b(?:(?:does not|doesn't|do not|don't|need not|needn't|should not|shouldn't|never) (?:require|need|depend on|wait for)|is not (?:required|needed|necessary|restricted|gated|conditional|blocked|dependent)|(?:even if|even when|even though|regardless of whether|whether or not|no need to|not necessary to|at any time|without (?:any )?(?:conditions|restrictions|prerequisites)|without (?:first )?(?:requiring|waiting for|asking for|collecting|checking))\b)"
);
re!(
    NEGATIVE_MAIN,
    r"\b(?:do not|don't|dont|never|must not|mustn't|may not|cannot|can't|should not|shouldn't|not allowed|is not allowed)\b"
);
re!(
    EXCEPTION_SPLIT,
    r"\b(?:unless|except (?:when|if|for|in)|except|but if)\b"
);
re!(
    RUN_VERB_UNQUOTED,
    r"\b(?:run|call|execute|invoke|trigger|use|perform|launch)\s+(?:the\s+)?(?:action\s+)?([a-z][a-z0-9_]*)"
);
re!(
    REQUEST_WORDS,
    r"\b(?:human|person|agent|representative|rep|operator|supervisor|manager|someone|escalat\w*|transfer\w*|speak|talk|live)\b"
);
re!(
    LEADING_CLAUSE,
    r"^(?:if|when|whenever|for|once|in case|should) ([^,]+),\s*(.*)$"
);
re!(
    TRAILING_SCOPE,
    r"\b(?:for|with) ((?:premium|vip|gold|platinum|silver|business|enterprise|new|existing|returning|loyalty|high[- ]value|priority|international|domestic|corporate|elite)\b[^,;]*?\b(?:customers?|callers?|users?|members?|accounts?|clients?))\b"
);
re!(
    RUN_LEADING,
    r"^(?:if|when|whenever|once|after|as soon as|in case|should|if and when) ([^,]+),\s*(.*)$"
);
re!(
    ASKS_FOR_HUMAN,
    r"\b(?:asks?|requests?|wants?|would like|demands?|needs?)\b[^,;]*?\b(?:human|person|agent|representative|operator|supervisor|manager|someone|somebody)\b"
);
re!(
    UNQUOTED_ESCALATE,
    r"\b(?:escalate|escalates|transfer (?:them|the (?:caller|customer|user|call|conversation))|hand (?:them|the (?:caller|customer|user|call|conversation)) (?:off|over))\b"
);
re!(
    SEQUENCE_SPLIT,
    r",?\s*\b(?:and then|then|after that|afterwards|next|and finally|finally)\b\s*"
);
re!(
    VERIFIED_WORD,
    r"\b(?:verified|verifies|verify|verification|authenticated|authentication)\b"
);
re!(
    COUNT_REQUESTS,
    r"\b(?:asks?|asked|requests?|requested|demands?|demanded|insists?|insisted)\b[^,;]*?\b(?:(once|twice|thrice)|(one|two|three|four|five|six|\d+)(?: or more)? times?)\b"
);
re!(
    COUNT_REQUESTS_NTH,
    r"\b(?:asks?|requests?|demands?)\b[^,;]*?\b(?:for )?(?:a|the) (second|third|fourth|fifth|2nd|3rd|4th|5th) time\b"
);
re!(
    COUNT_REQUESTS_AFTER,
    r"\bafter (two|three|four|five|\d+) (?:requests|asks|attempts to reach)\b[^,;]*?\b(?:human|person|agent|representative|operator|someone)\b"
);
re!(
    COUNT_FAILED_ATTEMPTS,
    r"\b(one|two|three|four|five|\d+) (?:failed|unsuccessful|wrong|incorrect|bad) ('[^']+'|[a-z]+(?: [a-z]+)?) (?:attempts?|tries|codes?)\b"
);
re!(
    COUNT_FAILS_TIMES,
    r"(?:'([^']+)'(?: action)?|\bverification|\bthe (?:verification )?code|\bthe wrong (?:verification )?code) (?:fails|failed|is wrong|is incorrect)? ?(?:(twice|thrice)|(one|two|three|four|five|\d+) times|(?:a|for the) (second|third|fourth|2nd|3rd) time)\b"
);
re!(
    COUNT_WRONG_CODE,
    r"\b(?:enters|gives|provides|enter|give) (?:the |a )?(?:wrong|incorrect|invalid) (?:verification )?(?:code|pin|password)s? (?:(twice|thrice)|(one|two|three|four|five|\d+) times)\b"
);
re!(
    COUNT_FAILS_VERIFICATION_NTH,
    r"\bfails? (?:verification|to verify|to be verified)(?: (?:a|for the) (second|third|2nd|3rd) time| (twice|thrice)| (two|three|four|\d+) times)\b"
);
re!(
    REFUSES,
    r"\b(?:refuses|refused|refuse|declines|declined|does not want|doesn't want|won't|will not|is unwilling|is not willing|prefers not|would rather not|cannot|can't|is unable|does not have|doesn't have|do not have|don't have)\b(?: to)?(?: (?:give|provide|share|supply|confirm|disclose|hand over))?(?: (?:their|an|the|a|his|her|your|it|one))?(?: ([a-z][a-z _-]*))?"
);
re!(
    SAYS,
    r"\b(?:says|say|said|mentions|mention|states|tells you|tells us|indicates|reports|claims|declares|describes|calls about|reports)\b(?: that)?(?: (?:it is|it's|this is|there is|there's|they have|they are|it was|they're|the (?:issue|matter|situation|problem) is|they are in|they're in|it is about))?(?: (?:a|an|the))? ([a-z]+)"
);
re!(
    EMERGENCY,
    r"\b(?:in (?:an? )?|for |is (?:an? )?|of (?:an? )?)(emergency|emergencies|urgent|fraud|danger)\b"
);
re!(
    RUN_ACTION,
    r"\b(?:run|call|execute|use|invoke|trigger|perform)\s+(?:the\s+)?'([^']+)'"
);
re!(
    ESCALATION_CALL,
    r"(?:\b(?:call|use|run|invoke|trigger|execute|perform|fire|allow|using|via|with)\s+(?:the\s+)?'escalation'|'escalation'(?: action)? (?:is called|is allowed|may be called|can be called)|\bescalate\b|\btransfer (?:them|the (?:caller|customer|user|call|conversation))\b)"
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

/// The text with quote pairs found: an apostrophe between two letters
/// ("don't", "customer's") is not a quote.
fn mask_apostrophes(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    let mut out = String::with_capacity(n.len());
    for (i, &c) in chars.iter().enumerate() {
        let letter = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| c.is_alphanumeric());
        if c == '\'' && letter(i.checked_sub(1)) && letter(Some(i + 1)) {
            // "createcase's" is rare; contractions and possessives are not.
            out.push('\u{2bc}');
        } else {
            out.push(c);
        }
    }
    out
}

/// "don't" -> "do not", "it's" -> "it is": one spelling for the patterns.
fn expand_contractions(n: &str) -> String {
    let a = '\u{2bc}';
    let mut s = n
        .replace(&format!("won{a}t"), "will not")
        .replace(&format!("can{a}t"), "cannot")
        .replace(&format!("n{a}t"), " not");
    for (from, to) in [
        ("it", "it is"),
        ("that", "that is"),
        ("there", "there is"),
        ("what", "what is"),
        ("he", "he is"),
        ("she", "she is"),
    ] {
        s = replace_word(&s, &format!("{from}{a}s"), to);
    }
    s.replace(&format!("{a}re"), " are")
        .replace(&format!("{a}ll"), " will")
        .replace(&format!("{a}ve"), " have")
        .replace(&format!("{a}d "), " would ")
}

/// Back from the working text to readable text.
fn unmask(s: &str) -> String {
    s.replace('\u{2bc}', "'")
}

/// Compiles one instruction.
pub fn compile(text: &str, names: &Names<'_>) -> Result<Compiled, Unresolved> {
    let mut cx = Cx {
        names,
        notes: Vec::new(),
    };
    let n = cx.prepare(&normalize(text));
    let sentences: Vec<&str> = sentences(&n).collect();
    let ask_first: Vec<SlotId> = ASK_FIRST
        .captures_iter(&n)
        .filter_map(|c| resolve_slot(&c[1], names).ok())
        .collect();
    let mut parts = Vec::new();
    for s in &sentences {
        parts.push(cx.sentence(s, &ask_first)?);
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut exceptions: Vec<When> = Vec::new();
    let mut partly: Option<(String, String, bool)> = None;
    let mut unbound: Option<(String, bool)> = None;
    let mut waives = Vec::new();
    let mut understood_nothing = false;
    for p in parts {
        for r in p.rules {
            push(&mut rules, r);
        }
        exceptions.extend(p.exceptions);
        waives.extend(p.waives);
        understood_nothing |= p.understood;
        if partly.is_none() {
            partly = p.partly;
        }
        if unbound.is_none() {
            unbound = p.unbound;
        }
    }
    // An unconditional escalation is read only from an instruction that is
    // nothing else: "Gold members only. Call the 'Escalation' action." is a
    // condition baton cannot bind.
    if sentences.len() > 1 && rules.contains(&Rule::EscalateAlways) {
        rules.retain(|r| *r != Rule::EscalateAlways);
        let quoted = QUOTED_ESCALATION.is_match(&n);
        unbound.get_or_insert((
            if quoted {
                "names the 'Escalation' action but no condition baton understands".to_string()
            } else {
                "escalates only in some cases, or after other steps, in words baton cannot bind; write the condition with the quoted 'Escalation' keyword, or put an unconditional escalation in an instruction of its own".to_string()
            },
            quoted,
        ));
    }
    // Exceptions an instruction grants belong to its guards; with no guard
    // beside them they are escalations of their own.
    let has_guard = rules.iter().any(Rule::is_guard);
    // "If they refuse": the slot its guards require.
    let guarded_slots: Vec<SlotId> = rules
        .iter()
        .filter_map(|r| match r {
            Rule::Require(g) => g.any.iter().find_map(|q| match q {
                Req::Slot(s) => Some(*s),
                Req::Action(..) => None,
            }),
            _ => None,
        })
        .collect();
    let mut resolved = Vec::new();
    for w in exceptions {
        match w {
            When::Said(Trigger::Refuses(SlotId::MAX)) => match guarded_slots.as_slice() {
                [one] => resolved.push(When::Said(Trigger::Refuses(*one))),
                _ => {
                    partly.get_or_insert((
                        "a refusal of no slot baton can tell".to_string(),
                        "an exception baton cannot model: the guard is enforced as if it never applied".to_string(),
                        true,
                    ));
                }
            },
            w => resolved.push(w),
        }
    }
    for w in resolved {
        if has_guard {
            for r in &mut rules {
                if let Rule::Require(g) = r
                    && !g.unless.contains(&w)
                {
                    g.unless.push(w.clone());
                }
            }
        } else {
            let rule = match w {
                When::Failed(action) => Rule::EscalateOnFailure { action },
                when => Rule::EscalateWhen { when },
            };
            push(&mut rules, rule);
        }
    }
    // An unmodelled clause that could open a way to a human does so for
    // the guards beside it; without guards, an escalation instruction baton
    // could not read is unbound.
    if let Some((why, opens)) = unbound.take() {
        if rules.is_empty() {
            cx.notes.push(format!("{CLAUSE_NOTE}{}", text.trim()));
            return Ok(Compiled {
                rules,
                reading: Reading::Unbound { why, opens },
                notes: cx.notes,
                waives,
            });
        }
        if partly.is_none() {
            partly = Some((unmask(&n), why, opens));
        }
    }
    let whole = unmask(&n);
    let escalation_words = !QUOTED_ESCALATION.is_match(&n) && rules.iter().all(|r| !r.is_guard() && !r.escalates());
    if partly.is_none() && escalation_words {
        let why = if ESCALATES_SOMEHOW.is_match(&n) && !NEGATIVE_MAIN.is_match(&n) {
            Some(
                "escalates only in some cases, or after other steps, in words baton cannot bind; write the condition with the quoted 'Escalation' keyword, or put an unconditional escalation in an instruction of its own",
            )
        } else if ESCALATES_SOMEHOW.is_match(&n)
            || (MENTIONS_ESCALATION.is_match(&n) && !rules.iter().any(|r| matches!(r, Rule::RunAction { .. })))
        {
            Some("mentions escalation without the quoted 'Escalation' keyword")
        } else {
            None
        };
        if let Some(why) = why {
            if rules.is_empty() {
                return Ok(Compiled {
                    rules,
                    reading: Reading::Unbound {
                        why: why.to_string(),
                        opens: false,
                    },
                    notes: cx.notes,
                    waives,
                });
            }
            partly = Some((whole.clone(), why.to_string(), false));
        }
    }
    let reading = match partly {
        Some((clause, why, opens)) => Reading::Partly { clause, why, opens },
        None if rules.is_empty() && !understood_nothing => Reading::Text,
        None if rules.iter().any(has_exception) => Reading::Excepted,
        None => Reading::Understood,
    };
    Ok(Compiled {
        rules,
        reading,
        notes: cx.notes,
        waives,
    })
}

fn has_exception(r: &Rule) -> bool {
    matches!(r, Rule::Require(g) if !g.unless.is_empty())
}

fn sentences(n: &str) -> impl Iterator<Item = &str> {
    n.split(['.', ';', '!', '?', ':'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// What one sentence says.
#[derive(Default)]
struct Part {
    rules: Vec<Rule>,
    /// Exceptions to the instruction's guards (or escalations of their own).
    exceptions: Vec<When>,
    waives: Vec<Req>,
    /// Understood as binding nothing ("does not require").
    understood: bool,
    partly: Option<(String, String, bool)>,
    unbound: Option<(String, bool)>,
}

struct Cx<'n, 'a> {
    names: &'n Names<'a>,
    notes: Vec<String>,
}

impl Cx<'_, '_> {
    /// Merge fields, escalation aliases and unquoted action names become
    /// quoted names; apostrophes inside words stop pairing with quotes.
    fn prepare(&mut self, n: &str) -> String {
        let mut n = expand_contractions(&mask_apostrophes(n));
        if MERGE_FIELD.is_match(&n) {
            let mut notes = Vec::new();
            n = MERGE_FIELD
                .replace_all(&n, |c: &regex::Captures<'_>| {
                    let (kind, name) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                        (Some(k), Some(v), _, _) | (_, _, Some(k), Some(v)) => (k.as_str(), v.as_str()),
                        _ => ("actions", ""),
                    };
                    if kind == "utils" && name.starts_with("escalat") {
                        notes.push(format!(
                            "{} read as the 'Escalation' action",
                            c.get(0).map_or("", |m| m.as_str())
                        ));
                        "'escalation'".to_string()
                    } else {
                        notes.push(format!(
                            "merge field {} read as the action '{name}'",
                            c.get(0).map_or("", |m| m.as_str())
                        ));
                        format!("'{name}'")
                    }
                })
                .into_owned();
            self.notes.extend(notes);
        }
        // Aliases of the Escalation action, quoted or not.
        for alias in self.names.escalation_aliases {
            let k = alias.to_lowercase();
            for form in [format!("'{k}'"), k.clone()] {
                if contains_word(&n, &form) {
                    n = replace_word(&n, &form, "'escalation'");
                    self.notes.push(format!(
                        "'{alias}' stands for the Escalation action, read as 'Escalation'"
                    ));
                    break;
                }
            }
        }
        // An action's label (or its name with spaces) written without quotes
        // but called an action: "the Send SMS Verification action".
        for (i, name) in self.names.actions.iter().enumerate() {
            let label = self.names.action_labels.get(i).filter(|l| !l.is_empty());
            for form in label.into_iter().cloned().chain([name.replace('_', " ")]) {
                let f = form.to_lowercase();
                if f.contains(' ')
                    && !n.contains(&format!("'{f}'"))
                    && outside_quotes(&n).contains(&format!("{f} action"))
                {
                    n = replace_word(&n, &f, &format!("'{f}'"));
                    self.notes
                        .push(format!("unquoted action label {form} read as the action '{name}'"));
                    break;
                }
            }
        }
        // Exact action names written without quotes after a run verb, or
        // with an underscore anywhere: they can only be the action.
        let mut quoted_names: Vec<String> = Vec::new();
        for c in RUN_VERB_UNQUOTED.captures_iter(&outside_quotes(&n)) {
            quoted_names.push(c[1].to_string());
        }
        for w in outside_quotes(&n).split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if w.contains('_') {
                quoted_names.push(w.to_string());
            }
        }
        quoted_names.sort();
        quoted_names.dedup();
        for w in quoted_names {
            if w == "escalation" || w.len() < 3 {
                continue;
            }
            if let Some(a) = self.names.actions.iter().find(|a| key(a) == w) {
                n = replace_word(&n, &w, &format!("'{w}'"));
                self.notes
                    .push(format!("unquoted action name {w} read as the action '{a}'"));
            }
        }
        n
    }

    fn sentence(&mut self, s: &str, ask_first: &[SlotId]) -> Result<Part, Unresolved> {
        let esc = QUOTED_ESCALATION.is_match(s);
        if IMPERATIVE_ESCALATE.is_match(s) || IMPERATIVE_CALL.is_match(s) {
            return Ok(Part {
                rules: vec![Rule::EscalateAlways],
                ..Part::default()
            });
        }
        if let Some(p) = self.sequence(s)? {
            return Ok(p);
        }
        if esc {
            return self.escalation_sentence(s, ask_first);
        }
        // A counted escalation without the quoted keyword ("after two
        // failed verification attempts, escalate") is modelled anyway:
        // reading a way to a human is the safe direction.
        if UNQUOTED_ESCALATE.is_match(s)
            && let Some(w) = self.count(s)?
        {
            self.notes.push(
                "a counted escalation without the quoted 'Escalation' keyword, modelled anyway: reading a way to a human is the safe direction"
                    .to_string(),
            );
            return Ok(Part {
                rules: vec![Rule::EscalateWhen { when: w }],
                ..Part::default()
            });
        }
        self.run_sentence(s)
    }

    /// "First run 'A', then 'B', then call the 'Escalation' action."
    fn sequence(&mut self, s: &str) -> Result<Option<Part>, Unresolved> {
        let steps: Vec<&str> = SEQUENCE_SPLIT.split(s).filter(|p| !p.trim().is_empty()).collect();
        if steps.len() < 2 || NEGATIVE_MAIN.is_match(s) || s.contains(" only ") {
            return Ok(None);
        }
        // Every step names an action or calls 'Escalation' (the last one).
        let mut plan: Vec<Vec<ActionId>> = Vec::new();
        let mut escalates = false;
        let mut conditional: Option<String> = None;
        for (i, step) in steps.iter().enumerate() {
            let step = step.trim().trim_start_matches("first ").trim();
            if QUOTED_ESCALATION.is_match(step) || step.starts_with("escalate") || step.starts_with("transfer") {
                if i + 1 != steps.len() {
                    return Ok(None);
                }
                if IMPERATIVE_CALL.is_match(step) {
                    escalates = true;
                } else if plain_conditional_call(step) && i > 0 {
                    conditional = Some(step.to_string());
                } else {
                    return Ok(None);
                }
                continue;
            }
            let mut acts = Vec::new();
            for c in QUOTED_NAME.captures_iter(step) {
                acts.push(self.action_ref(&c[1], step, c.get(0).map_or(0, |m| m.end()))?);
            }
            let acts: Vec<ActionId> = acts.into_iter().flatten().collect();
            if acts.is_empty() {
                // A step baton cannot follow ("then summarize the results")
                // ends the sequence it understands.
                if i == 0 {
                    return Ok(None);
                }
                continue;
            }
            if i > 0 && CONDITION.is_match(step) {
                return Ok(None);
            }
            plan.push(acts);
        }
        if plan.len() + usize::from(escalates) < 2 {
            return Ok(None);
        }
        let mut part = Part::default();
        let mut prev: Vec<Req> = Vec::new();
        for step in &plan {
            for &a in step {
                push(
                    &mut part.rules,
                    Rule::RunAction {
                        action: a,
                        after: prev.clone(),
                    },
                );
            }
            prev = step.iter().map(|&a| Req::Action(a, None)).collect();
        }
        if escalates {
            part.rules.push(Rule::EscalateAfter { requires: prev });
        }
        if let Some(step) = conditional {
            match self.event(&step, &[])? {
                Some(w) => part.exceptions.push(w),
                None => {
                    part.partly = Some((
                        unmask(&step),
                        "an escalation on a condition baton cannot read".into(),
                        true,
                    ))
                }
            }
        }
        Ok(Some(part))
    }

    /// A quoted name in a run sentence: an action, or nothing when it is
    /// neither called an action nor close to one (a quoted caller phrase).
    fn action_ref(&self, name: &str, rest: &str, end: usize) -> Result<Option<ActionId>, Unresolved> {
        match resolve_action(name, self.names) {
            Ok(a) => Ok(Some(a)),
            Err(e) => {
                let called_action = rest[end.min(rest.len())..].trim_start().starts_with("action");
                let close = crate::diag::did_you_mean(name, self.names.actions.iter().map(String::as_str)).is_some();
                if called_action || close { Err(e) } else { Ok(None) }
            }
        }
    }

    fn escalation_sentence(&mut self, s: &str, ask_first: &[SlotId]) -> Result<Part, Unresolved> {
        let mut part = self.escalation_sentence_inner(s, ask_first)?;
        // "Run the 'verify_account' action, then allow the 'Escalation'
        // action only if ...": the run beside the guard.
        if !part.understood && part.exceptions.is_empty() {
            for c in RUN_ACTION.captures_iter(s) {
                if &c[1] != "escalation" && !NEGATIVE_MAIN.is_match(&s[..c.get(0).map_or(0, |m| m.start())]) {
                    let a = resolve_action(&c[1], self.names)?;
                    push(&mut part.rules, Rule::run(a));
                }
            }
        }
        Ok(part)
    }

    fn escalation_sentence_inner(&mut self, s: &str, ask_first: &[SlotId]) -> Result<Part, Unresolved> {
        let mut part = Part::default();
        // A requirement said not to apply binds nothing.
        if let Some(m) = NEGATED_REQUIREMENT.find(s) {
            part.understood = true;
            let after = &s[m.start()..];
            for (id, slot) in self.names.slots.iter().enumerate() {
                if mentions(after, slot) {
                    part.waives.push(Req::Slot(id as SlotId));
                }
            }
            for c in QUOTED_NAME.captures_iter(after) {
                if &c[1] != "escalation"
                    && let Ok(a) = resolve_action(&c[1], self.names)
                {
                    part.waives.push(Req::Action(a, None));
                }
            }
            return Ok(part);
        }
        // "If <event>, call the 'Escalation' action (anyway)."
        if let Some(w) = self.event_escalation(s)? {
            part.exceptions.push(w);
            return Ok(part);
        }
        if IMPERATIVE_CALL.is_match(s) {
            part.rules.push(Rule::EscalateAlways);
            return Ok(part);
        }
        // "Call the 'Escalation' action if <something baton cannot read>":
        // an escalation on a condition, never a guard.
        if plain_conditional_call(s) {
            part.unbound = Some((
                "names the 'Escalation' action but no condition baton understands".into(),
                true,
            ));
            return Ok(part);
        }
        let Some(_) = CONDITION.find(s) else {
            part.unbound = Some((
                "names the 'Escalation' action but no condition baton understands".into(),
                true,
            ));
            return Ok(part);
        };
        // Split off an exception: "..., unless the customer says it is an
        // emergency". In a negative sentence ("do not allow 'Escalation'
        // unless ...") "unless" introduces the requirement itself.
        let split_at = EXCEPTION_SPLIT.find(s).map_or(s.len(), |m| m.start());
        let negative = NEGATIVE_MAIN.find(s).is_some_and(|m| m.start() < split_at);
        let mut main = s.to_string();
        let mut exception: Option<String> = None;
        if let Some(m) = EXCEPTION_SPLIT.find(s) {
            let negative_unless = negative && s[m.start()..].starts_with("unless");
            let before_escalation = QUOTED_ESCALATION.find(s).is_some_and(|e| e.start() > m.start());
            if !negative_unless && !before_escalation {
                exception = Some(s[m.start()..].trim().trim_end_matches(',').to_string());
                main = s[..m.start()].trim().trim_end_matches(',').to_string();
            }
        }
        // A condition on some callers: "for premium customers, ...".
        let mut scope: Option<String> = None;
        if let Some(c) = LEADING_CLAUSE.captures(&main) {
            let clause = c[1].to_string();
            // "When the customer is verified, allow ..." states a requirement;
            // "for callers who gave their account number" is a scope.
            let scoped = main.starts_with("for ") || main.starts_with("with ");
            let states_requirement = !scoped
                && (VERIFIED_WORD.is_match(&clause) || self.names.slots.iter().any(|slot| mentions(&clause, slot)));
            if !QUOTED_ESCALATION.is_match(&clause)
                && !REQUEST_WORDS.is_match(&clause)
                && !QUOTED_NAME.is_match(&clause)
                && !states_requirement
            {
                let full = format!("{} {}", &main[..main.find(' ').unwrap_or(0)], clause);
                scope = Some(full.trim().to_string());
                main = c[2].to_string();
            }
        }
        if scope.is_none()
            && let Some(c) = TRAILING_SCOPE.captures(&main)
        {
            scope = Some(c.get(0).map_or("", |m| m.as_str()).to_string());
            let m = c.get(0).map_or(0..0, |m| m.range());
            main.replace_range(m, " ");
        }
        let Some(cond) = CONDITION.find(&main) else {
            part.unbound = Some((
                "names the 'Escalation' action but no condition baton understands".into(),
                true,
            ));
            return Ok(part);
        };
        let mut guards = Vec::new();
        self.guards_of_sentence(&main, cond.start(), ask_first, &mut guards)?;
        if guards.is_empty() {
            part.unbound = Some((
                "names the 'Escalation' action but no condition baton understands".into(),
                true,
            ));
            return Ok(part);
        }
        let mut unless = Vec::new();
        if let Some(sc) = &scope {
            match self.scope_condition(sc) {
                Some(w) => unless.push(w),
                None => {
                    part.partly = Some((
                        unmask(sc),
                        "a condition on some callers baton cannot tell apart: the guard is enforced for every caller"
                            .into(),
                        true,
                    ))
                }
            }
        }
        if let Some(ex) = &exception {
            match self.event(ex, &guards)? {
                Some(w) => part.exceptions.push(w),
                None => {
                    part.partly = Some((
                        unmask(ex),
                        "an exception baton cannot model: the guard is enforced as if it never applied".into(),
                        true,
                    ))
                }
            }
        }
        for mut g in guards {
            if let Rule::Require(guard) = &mut g {
                guard.unless.extend(unless.iter().cloned());
            }
            push(&mut part.rules, g);
        }
        Ok(part)
    }

    /// A scope on some callers that a slot expresses ("for callers who
    /// gave their account number"): the guard does not apply while it is
    /// empty.
    fn scope_condition(&self, scope: &str) -> Option<When> {
        let ids: Vec<SlotId> = (0..self.names.slots.len())
            .filter(|&i| mentions(scope, &self.names.slots[i]))
            .map(|i| i as SlotId)
            .collect();
        match ids.as_slice() {
            [one] => Some(When::SlotEmpty(*one)),
            _ => None,
        }
    }

    /// "If <event>, call the 'Escalation' action (anyway)": the event.
    fn event_escalation(&mut self, s: &str) -> Result<Option<When>, Unresolved> {
        if !ESCALATION_CALL.is_match(s) {
            return Ok(None);
        }
        // Guard wording is no event: "allow 'Escalation' only after ...",
        // "do not call the 'Escalation' action until ...".
        let call = ESCALATION_CALL.find(s).map_or(0, |m| m.start());
        let negated = NEGATIVE_MAIN
            .find_iter(&s[..call])
            .any(|n| !s[n.end()..call].contains(',') && call - n.end() < 24);
        // "If the user asks for a human, allow the 'Escalation' action after
        // 'createcase' ran": the words after the call make it a guard.
        let call_end = ESCALATION_CALL.find(s).map_or(0, |m| m.end());
        static AFTER_CALL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\b(?:after|before|once|until|unless|provided|only)\b").expect("static regex")
        });
        let allow = contains_word(s, "allow") || contains_word(s, "allowed") || contains_word(s, "allowing");
        if s.contains(" only ") || s.starts_with("only ") || negated || allow {
            return Ok(None);
        }
        // "Call the 'Escalation' action after two requests for a human".
        if let Some(w) = self.count(s)? {
            return Ok(Some(w));
        }
        if AFTER_CALL.is_match(&s[call_end..]) {
            return Ok(None);
        }
        let lead = [
            "if ",
            "when ",
            "whenever ",
            "once ",
            "after ",
            "should ",
            "in case ",
            "in an ",
            "in the event",
            "for ",
        ]
        .iter()
        .any(|p| s.starts_with(p))
            || [
                " if ",
                " when ",
                " after ",
                " once ",
                " in an emergency",
                " for emergencies",
            ]
            .iter()
            .any(|p| s.contains(p));
        if !lead {
            return Ok(None);
        }
        self.event(s, &[])
    }

    /// The caller event, failure or count a clause names, if baton models it.
    fn event(&mut self, clause: &str, guards: &[Rule]) -> Result<Option<When>, Unresolved> {
        // Counts first: "after two failed verification attempts".
        if let Some(w) = self.count(clause)? {
            return Ok(Some(w));
        }
        if let Some(c) = ACTION_FAILS.captures(clause).filter(|c| &c[1] != "escalation") {
            return Ok(Some(When::Failed(resolve_action(&c[1], self.names)?)));
        }
        if VERIFICATION_FAILS.is_match(clause) {
            return Ok(self.verify_action().map(When::Failed));
        }
        if let Some(c) = REFUSES.captures(clause) {
            let phrase = c.get(1).map_or("", |m| m.as_str());
            let slot = resolve_slot(phrase, self.names).ok().or_else(|| {
                // "if they refuse": the slot the guards beside it require.
                let slots: Vec<SlotId> = guards
                    .iter()
                    .filter_map(|g| match g {
                        Rule::Require(g) => g.any.iter().find_map(|r| match r {
                            Req::Slot(s) => Some(*s),
                            Req::Action(..) => None,
                        }),
                        _ => None,
                    })
                    .collect();
                match slots.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                }
            });
            // "if they refuse": the instruction's guarded slot, found
            // once all its sentences are read.
            return Ok(Some(When::Said(Trigger::Refuses(slot.unwrap_or(SlotId::MAX)))));
        }
        if ASKS_FOR_HUMAN.is_match(clause) {
            return Ok(Some(When::Count(Counter::Requests, 1)));
        }
        if let Some(c) = EMERGENCY.captures(clause) {
            let word = if c[1].starts_with("emergenc") {
                "emergency"
            } else {
                &c[1]
            };
            return Ok(Some(When::Said(Trigger::Says(vec![word.to_string()]))));
        }
        if let Some(c) = SAYS.captures(clause) {
            let word = &c[1];
            if !matches!(
                word,
                "it" | "that" | "they" | "something" | "anything" | "so" | "yes" | "no" | "human" | "agent" | "person"
            ) {
                return Ok(Some(When::Said(Trigger::Says(vec![word.to_string()]))));
            }
        }
        Ok(None)
    }

    fn count(&mut self, clause: &str) -> Result<Option<When>, Unresolved> {
        let human = REQUEST_WORDS.is_match(clause);
        if human && let Some(c) = COUNT_REQUESTS.captures(clause) {
            let m = c.get(1).or(c.get(2));
            let more = m.is_some_and(|m| clause[..m.start()].ends_with("more than "));
            let n = m.and_then(|m| number(m.as_str())).map(|n| n + u8::from(more));
            return Ok(n.map(|n| When::Count(Counter::Requests, n)));
        }
        if human && let Some(c) = COUNT_REQUESTS_NTH.captures(clause) {
            return Ok(number(&c[1]).map(|n| When::Count(Counter::Requests, n)));
        }
        if let Some(c) = COUNT_REQUESTS_AFTER.captures(clause) {
            return Ok(number(&c[1]).map(|n| When::Count(Counter::Requests, n)));
        }
        if let Some(c) = COUNT_FAILED_ATTEMPTS.captures(clause) {
            let what = c[2].trim_matches('\'');
            let action = if c[2].starts_with('\'') {
                Some(resolve_action(what, self.names)?)
            } else if VERIFIED_WORD.is_match(what) || what.contains("code") || what.contains("login") {
                self.verify_action()
            } else {
                None
            };
            if let (Some(a), Some(n)) = (action, number(&c[1])) {
                return Ok(Some(When::Count(Counter::Failures(a), n)));
            }
        }
        if let Some(c) = COUNT_FAILS_TIMES.captures(clause) {
            let action = match c.get(1) {
                Some(name) => Some(resolve_action(name.as_str(), self.names)?),
                None => self.verify_action(),
            };
            let n = c.get(2).or(c.get(3)).or(c.get(4)).and_then(|m| number(m.as_str()));
            if let (Some(a), Some(n)) = (action, n) {
                return Ok(Some(When::Count(Counter::Failures(a), n)));
            }
        }
        for re in [&*COUNT_WRONG_CODE, &*COUNT_FAILS_VERIFICATION_NTH] {
            if let Some(c) = re.captures(clause) {
                let n = (1..c.len()).find_map(|i| c.get(i)).and_then(|m| number(m.as_str()));
                if let (Some(a), Some(n)) = (self.verify_action(), n) {
                    return Ok(Some(When::Count(Counter::Failures(a), n)));
                }
            }
        }
        Ok(None)
    }

    /// The action "verification" refers to: the only action of the topic
    /// (else of the agent) whose name starts with "verif" or "auth".
    fn verify_action(&mut self) -> Option<ActionId> {
        let is_verify = |a: &String| {
            let k = key(a);
            k.starts_with("verif") || k.starts_with("auth") || k.contains("_verify") || k.starts_with("validate")
        };
        let in_topic: Vec<ActionId> = self
            .names
            .topic_actions
            .iter()
            .copied()
            .filter(|&a| is_verify(&self.names.actions[a as usize]))
            .collect();
        let all: Vec<ActionId> = (0..self.names.actions.len() as ActionId)
            .filter(|&a| is_verify(&self.names.actions[a as usize]))
            .collect();
        let pick = match (in_topic.as_slice(), all.as_slice()) {
            ([one], _) => Some(*one),
            ([], [one]) => Some(*one),
            _ => None,
        };
        if let Some(a) = pick {
            let note = format!(
                "\"verified\"/\"verification\" read as the action '{}'",
                self.names.actions[a as usize]
            );
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
        pick
    }

    /// A sentence without 'Escalation': actions to run (any verb), with
    /// the conditions the sentence puts on them; preconditions when it
    /// forbids running them before something holds.
    fn run_sentence(&mut self, s: &str) -> Result<Part, Unresolved> {
        let mut part = Part::default();
        if !QUOTED_NAME.is_match(s) {
            return Ok(part);
        }
        // Split a leading condition clause from the main clause.
        // "Run 'X' only after 'Y' has succeeded": a conditional run and a
        // precondition.
        static ONLY: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\bonly (?:after|once|if|when)\b").expect("static regex"));
        if !NEGATIVE_MAIN.is_match(s)
            && let Some(m) = ONLY.find(s)
        {
            let mut targets = Vec::new();
            self.targets(&s[..m.start()], &mut targets)?;
            let requires = self.requirements(&s[m.start()..])?;
            for a in targets {
                push(
                    &mut part.rules,
                    Rule::RunAction {
                        action: a,
                        after: requires.clone(),
                    },
                );
                if !requires.is_empty() {
                    push(
                        &mut part.rules,
                        Rule::Precondition {
                            action: a,
                            requires: requires.clone(),
                        },
                    );
                }
            }
            return Ok(part);
        }
        let (cond, main) = match RUN_LEADING.captures(s) {
            Some(c) => (c[1].to_string(), c[2].to_string()),
            None => (String::new(), s.to_string()),
        };
        let (cond, main) = if cond.is_empty()
            && let Some(at) = s.find(" once ").or(s.find(" after ")).or(s.find(" as soon as "))
        {
            (s[at..].trim().to_string(), s[..at].to_string())
        } else {
            (cond, main)
        };
        // Failure wording in the condition ("if 'X' fails, tell the caller")
        // runs nothing and is no condition baton models.
        if ACTION_FAILS.is_match(&cond) {
            let mut targets = Vec::new();
            self.targets(&main, &mut targets)?;
            for a in targets {
                push(&mut part.rules, Rule::run(a));
                part.partly = Some((
                    unmask(&cond),
                    "a run on another action's failure: baton runs it whenever the topic is active".into(),
                    false,
                ));
            }
            return Ok(part);
        }
        let negative = NEGATIVE_MAIN.find(&main);
        let mut targets = Vec::new();
        let req_text;
        if let Some(neg) = negative {
            // "Do not run 'X' unless 'Y' has succeeded": X's precondition.
            let rest = &main[neg.end()..];
            static UNLESS: LazyLock<Regex> = LazyLock::new(|| {
                Regex::new(r"\b(?:unless|until|before|without(?: first)?|prior to)\b").expect("static regex")
            });
            let Some(m) = UNLESS.find(rest) else {
                // "Don't use the 'createcase' action for general questions."
                let mut acts = Vec::new();
                self.targets(rest, &mut acts)?;
                if !acts.is_empty() {
                    self.notes
                        .push("a prohibition baton does not model: no action runs because of it".to_string());
                }
                return Ok(part);
            };
            self.targets(&rest[..m.start()], &mut targets)?;
            req_text = rest[m.start()..].to_string();
            let requires = self.requirements(&req_text)?;
            if requires.len() > 1 && contains_word(&req_text, "or") {
                part.partly = Some((
                    unmask(&req_text),
                    "a precondition met by any of several things is not modelled: nothing is held back".into(),
                    false,
                ));
                return Ok(part);
            }
            for a in targets {
                if !requires.is_empty() {
                    push(
                        &mut part.rules,
                        Rule::Precondition {
                            action: a,
                            requires: requires.clone(),
                        },
                    );
                }
            }
            return Ok(part);
        }
        self.targets(&main, &mut targets)?;
        let after = if cond.is_empty() {
            Vec::new()
        } else {
            self.requirements(&cond)?
        };
        for a in targets {
            push(
                &mut part.rules,
                Rule::RunAction {
                    action: a,
                    after: after.clone(),
                },
            );
        }
        Ok(part)
    }

    /// The actions a clause names as what to run.
    fn targets(&mut self, clause: &str, out: &mut Vec<ActionId>) -> Result<(), Unresolved> {
        for c in QUOTED_NAME.captures_iter(clause) {
            if &c[1] == "escalation" {
                continue;
            }
            if let Some(a) = self.action_ref(&c[1], clause, c.get(0).map_or(0, |m| m.end()))?
                && !out.contains(&a)
            {
                out.push(a);
            }
        }
        Ok(())
    }

    /// The requirements a condition states: quoted actions that succeeded
    /// ("in the TOPIC topic"), slots the caller gave, "verified".
    fn requirements(&mut self, clause: &str) -> Result<Vec<Req>, Unresolved> {
        let (topic, rest) = self.topic_qualifier(clause)?;
        let mut out = Vec::new();
        for c in QUOTED_NAME.captures_iter(&rest) {
            if &c[1] == "escalation" {
                continue;
            }
            if let Some(a) = self.action_ref(&c[1], &rest, c.get(0).map_or(0, |m| m.end()))? {
                out.push(Req::Action(a, topic));
            }
        }
        if out.is_empty()
            && VERIFIED_WORD.is_match(&rest)
            && let Some(a) = self.verify_action()
        {
            out.push(Req::Action(a, topic));
        }
        for (id, slot) in self.names.slots.iter().enumerate() {
            if mentions(&rest, slot) {
                out.push(Req::Slot(id as SlotId));
            }
        }
        Ok(out)
    }

    /// "in the Case Management topic" (or "this topic"): the topic, and the
    /// clause without those words.
    fn topic_qualifier(&self, s: &str) -> Result<(Option<TopicId>, String), Unresolved> {
        let mut rest = s.to_string();
        let Some(c) = TOPIC_QUALIFIER.captures(s) else {
            return Ok((None, rest));
        };
        let name = c[1].trim();
        let topic = if matches!(name, "this" | "current" | "this same" | "the current" | "same") {
            match self.names.this_topic {
                Some(t) => t,
                None => {
                    return Err(Unresolved {
                        kind: "topic",
                        name: name.to_string(),
                        candidates: self.names.topics.to_vec(),
                    });
                }
            }
        } else {
            resolve(name, self.names.topics, "topic")?
        };
        let m = c.get(0).map_or(0..0, |m| m.range());
        rest.replace_range(m, " ");
        Ok((Some(topic), rest))
    }

    /// The guards of one sentence that names 'Escalation' with a condition.
    fn guards_of_sentence(
        &mut self,
        s: &str,
        cond: usize,
        ask_first: &[SlotId],
        rules: &mut Vec<Rule>,
    ) -> Result<(), Unresolved> {
        let (topic, rest) = self.topic_qualifier(s)?;
        // Requirements with where they stand, to find "or" between them.
        let mut found: Vec<(usize, Req)> = Vec::new();
        for c in QUOTED_NAME.captures_iter(&rest) {
            let name = &c[1];
            if name == "escalation" {
                continue;
            }
            let at = c.get(0).map_or(0, |m| m.start());
            if let Some(a) = self.action_ref(name, &rest, c.get(0).map_or(0, |m| m.end()))? {
                found.push((at, Req::Action(a, topic)));
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
            if !self.names.slots.iter().any(|slot| mentions(phrase, slot)) && !VERIFIED_WORD.is_match(phrase) {
                return Err(Unresolved {
                    kind: "slot",
                    name: phrase.to_string(),
                    candidates: self.names.slots.to_vec(),
                });
            }
        }
        for (id, slot) in self.names.slots.iter().enumerate() {
            if let Some(i) = position_of(after, slot) {
                found.push((cond + i, Req::Slot(id as SlotId)));
            }
        }
        if found.is_empty() && VERIFIED_WORD.is_match(after) {
            // "only once the caller is verified"
            if let Some(a) = self.verify_action() {
                found.push((cond, Req::Action(a, topic)));
            }
        }
        found.sort_by_key(|f| f.0);
        // "A or B": one guard met by either; else one guard each.
        let disjoint = found.windows(2).any(|w| {
            let between = &s.get(w[0].0..w[1].0).unwrap_or("");
            contains_word(between, "or") && !contains_word(between, "and")
        });
        let asks = |r: &Req| matches!(r, Req::Slot(s) if ask_first.contains(s));
        if disjoint {
            let any: Vec<Req> = found.iter().map(|f| f.1).collect();
            let ask_first = any.iter().any(asks);
            push(
                rules,
                Rule::Require(Guard {
                    any,
                    ask_first,
                    unless: Vec::new(),
                }),
            );
        } else {
            // Actions before slots, as guards were always listed.
            let (acts, slots): (Vec<_>, Vec<_>) = found.iter().partition(|f| matches!(f.1, Req::Action(..)));
            for r in acts.into_iter().chain(slots).map(|f: &(usize, Req)| f.1) {
                push(
                    rules,
                    Rule::Require(Guard {
                        any: vec![r],
                        ask_first: asks(&r),
                        unless: Vec::new(),
                    }),
                );
            }
        }
        Ok(())
    }
}

/// "Call the 'Escalation' action if ..." with none of the words that make
/// a guard ("only", "never", "before", "allow", ...).
fn plain_conditional_call(s: &str) -> bool {
    static GUARD_WORDS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(?:only|never|not|unless|until|before|after|once|requires?|needs?|provided|allow|allowed|allowing|may|must)\b")
            .expect("static regex")
    });
    ESCALATION_CALL.is_match(s)
        && !GUARD_WORDS.is_match(s)
        && (s.starts_with("if ") || s.starts_with("when ") || s.contains(" if ") || s.contains(" when "))
}

/// A word's stem for matching a caller's words: "emergencies" -> "emergenc".
fn stem(word: &str) -> String {
    let w = word.trim();
    for suffix in ["ies", "y", "es", "s"] {
        if w.len() > suffix.len() + 3
            && let Some(s) = w.strip_suffix(suffix)
        {
            return s.to_string();
        }
    }
    w.to_string()
}

fn number(word: &str) -> Option<u8> {
    Some(match word {
        "once" | "one" | "first" | "1st" => 1,
        "twice" | "two" | "second" | "2nd" => 2,
        "thrice" | "three" | "third" | "3rd" => 3,
        "four" | "fourth" | "4th" => 4,
        "five" | "fifth" | "5th" => 5,
        "six" => 6,
        w => w.parse::<u8>().ok().filter(|&n| n > 0)?,
    })
}

fn push(rules: &mut Vec<Rule>, rule: Rule) {
    if !rules.contains(&rule) {
        rules.push(rule);
    }
}

/// The text with quoted parts blanked (same length).
fn outside_quotes(n: &str) -> String {
    let mut inside = false;
    n.chars()
        .map(|c| {
            if c == '\'' {
                inside = !inside;
                ' '
            } else if inside {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn contains_word(text: &str, w: &str) -> bool {
    position_of_raw(text, w).is_some()
}

fn replace_word(text: &str, w: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = position_of_raw(rest, w) {
        out.push_str(&rest[..i]);
        out.push_str(with);
        rest = &rest[i + w.len()..];
    }
    out.push_str(rest);
    out
}

fn position_of_raw(text: &str, w: &str) -> Option<usize> {
    text.match_indices(w).map(|(i, _)| i).find(|&i| {
        let before = text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = text[i + w.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        before && after
    })
}

/// Where `text` names the slot as words: `account_number` as "account
/// number" (or as written), `email` in "email address".
fn position_of(text: &str, slot: &str) -> Option<usize> {
    let spaced = slot.to_ascii_lowercase().replace(['_', '-'], " ");
    let raw = slot.to_ascii_lowercase();
    [spaced.as_str(), raw.as_str()]
        .iter()
        .filter_map(|w| {
            text.match_indices(w).map(|(i, _)| i).find(|&i| {
                let before = text[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
                let after = text[i + w.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
                // Inside a quoted action name ('send_email') it is no slot.
                before && after && text[..i].matches('\'').count().is_multiple_of(2)
            })
        })
        .min()
}

fn mentions(text: &str, slot: &str) -> bool {
    position_of(text, slot).is_some()
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

re!(
    REFUSAL,
    r"\b(?:refuse|refuses|won't|wont|will not|rather not|prefer not|decline|declines|not (?:giving|going to give|sharing|going to share|comfortable)|(?:don't|do not|dont) want to (?:give|share|provide|say)|none of your business|no way)\b"
);
re!(NEGATOR, r"\b(?:not|no|isn't|isnt|never|nothing|without)\b");

/// Whether a caller's utterance (lower-cased) says what the trigger waits
/// for. A refusal counts while the agent is asking for the slot, or when
/// it names the slot; a keyword counts unless a negator stands at most
/// three words before it ("it's not an emergency").
pub fn trigger_matches<'a>(
    t: &Trigger,
    lower: &str,
    awaiting: Option<SlotId>,
    slot_name: impl Fn(SlotId) -> &'a str,
) -> bool {
    match t {
        Trigger::Refuses(slot) => {
            REFUSAL.is_match(lower)
                && (awaiting == Some(*slot) || {
                    let words = slot_name(*slot).to_ascii_lowercase().replace(['_', '-'], " ");
                    contains_word(lower, &words)
                })
        }
        Trigger::Says(stems) => {
            let words: Vec<&str> = lower
                .split(|c: char| !(c.is_alphanumeric() || c == '\''))
                .filter(|w| !w.is_empty())
                .collect();
            words.iter().enumerate().any(|(i, w)| {
                stems.iter().any(|s| w.starts_with(stem(s).as_str()))
                    && !words[i.saturating_sub(3)..i]
                        .iter()
                        .any(|p| NEGATOR.is_match(p) || p.ends_with("n't"))
            })
        }
    }
}

/// A caller line that says what the trigger waits for: the caller models
/// of fuzz and verify add one per trigger.
pub fn trigger_sample(t: &Trigger, slot_name: &str) -> String {
    match t {
        Trigger::Refuses(_) => format!("I'd rather not give my {}", slot_name.replace(['_', '-'], " ")),
        Trigger::Says(words) => {
            let word = words.first().map_or("emergency", String::as_str);
            if word.starts_with(['a', 'e', 'i', 'o']) {
                format!("it is an {word}")
            } else {
                format!("it is {word}")
            }
        }
    }
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

/// The compact notation the corpus labels readings in (see
/// the header of `corpus/instructions.tsv`): items joined by " ; ", sorted,
/// a clause that did not bind last.
pub fn notation(c: &Compiled, names: &Names<'_>) -> String {
    let action = |a: ActionId| names.actions.get(a as usize).cloned().unwrap_or_default();
    let slot = |s: SlotId| names.slots.get(s as usize).cloned().unwrap_or_default();
    let req = |r: &Req| match *r {
        Req::Slot(s) => format!("slot:{}", slot(s)),
        Req::Action(a, None) => format!("action:{}", action(a)),
        Req::Action(a, Some(t)) => format!(
            "action:{}@{}",
            action(a),
            names.topics.get(t as usize).cloned().unwrap_or_default()
        ),
    };
    let reqs = |rs: &[Req]| rs.iter().map(req).collect::<Vec<_>>().join("+");
    let when = |w: &When| match w {
        When::Said(Trigger::Says(words)) => format!("says({})", words.join("|")),
        When::Said(Trigger::Refuses(s)) => format!("refuses({})", slot(*s)),
        When::Failed(a) => format!("failed({})", action(*a)),
        When::Count(Counter::Requests, n) => format!("count(requests)>={n}"),
        When::Count(Counter::Failures(a), n) => format!("count(fail:{})>={n}", action(*a)),
        When::SlotEmpty(s) => format!("empty({})", slot(*s)),
    };
    let mut items: Vec<String> = c
        .rules
        .iter()
        .map(|r| match r {
            Rule::RunAction { action: a, after } if after.is_empty() => format!("run {}", action(*a)),
            Rule::RunAction { action: a, after } => format!("run {} after {}", action(*a), reqs(after)),
            Rule::Require(g) => {
                let base = if g.any.len() == 1 {
                    format!("require {}", req(&g.any[0]))
                } else {
                    let mut any: Vec<String> = g.any.iter().map(req).collect();
                    any.sort();
                    format!("require any({})", any.join("|"))
                };
                let mut unless: Vec<String> = g.unless.iter().map(when).collect();
                unless.sort();
                if unless.is_empty() {
                    base
                } else {
                    format!("{base} unless {}", unless.join("|"))
                }
            }
            Rule::Precondition { action: a, requires } => format!("pre {} needs {}", action(*a), reqs(requires)),
            Rule::EscalateAlways => "escalate always".to_string(),
            Rule::EscalateAfter { requires } => format!("escalate after {}", reqs(requires)),
            Rule::EscalateOnFailure { action: a } => format!("escalate on fail {}", action(*a)),
            Rule::EscalateWhen { when: w } => format!("escalate when {}", when(w)),
        })
        .collect();
    items.sort();
    match &c.reading {
        Reading::Text => return "text".to_string(),
        Reading::Unbound { opens: true, .. } => return "unbound!".to_string(),
        Reading::Unbound { .. } => return "unbound".to_string(),
        Reading::Partly { clause, opens, .. } => {
            items.push(format!("partly{} \"{}\"", if *opens { "!" } else { "" }, clause));
        }
        Reading::Understood | Reading::Excepted => {}
    }
    if items.is_empty() {
        return "none".to_string();
    }
    items.join(" ; ")
}

#[cfg(test)]
mod tests;
