//! The request-for-a-human recogniser. Two readers, each for what it does
//! well:
//! - a learned model ([`super::learn`]: character n-grams, words and
//!   multilingual meaning classes, logistic regression trained on the
//!   labelled corpus at build time) scores the whole utterance, in any of
//!   the corpus's languages, with typos and speech-recognition splits, and
//!   its score gives both the decision and a band where an LLM could go
//!   either way;
//! - the rules below read English clause by clause and know the scope of a
//!   negation: a refusal ("I don't need a person anymore") is a refusal
//!   whatever the model scores, and it withdraws a blocked request.

use super::learn::sigmoid;
use super::model::{HIGH, LOW};
use super::{
    BE, CONTACT, ESC_NOUN, ESCALATE, HUMAN, MODIFIER, NARRATIVE, NEED, NEGATOR, NO, PERSON, STOP, Token, WANT,
};

/// Whether an utterance asks for a human.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    No,
    Yes,
    /// Mentions a human but negated ("I don't need a person").
    Negated,
    /// An LLM could read it either way ("this bot is useless"): the engine
    /// asks its [`crate::engine::Chooser`], so fuzz and verify take both.
    Uncertain,
}

/// What the recogniser made of an utterance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    pub request: Request,
    /// The model's score that it asks for a human, 0 to 1.
    pub score: f32,
}

impl Reading {
    /// Which way an uncertain reading leans: the nominal branch.
    pub fn leans_to_request(&self) -> bool {
        self.score >= 0.5
    }
}

/// From this score up (within the uncertain band), a statement the rules
/// read as a request is one.
const RULES_SETTLE: f32 = 0.5;

/// The rules' reading and the model's logit, combined: a refusal the rules
/// see stands; otherwise the model's score decides, with its middle band
/// uncertain, except that the rules settle a statement the model leans to
/// read as a request.
pub(super) fn combine(rules: Request, question: bool, logit: f32) -> Reading {
    let score = sigmoid(logit);
    let request = match rules {
        Request::Negated => Request::Negated,
        _ if score >= HIGH => Request::Yes,
        // Where the model is unsure but leans to a request, an English
        // statement the rules read as one ("no that's not it I want an
        // agent") is one; not a question, where the rules mistake "can I
        // talk to an agent on weekends" for a request.
        Request::Yes if score >= RULES_SETTLE && !question => Request::Yes,
        _ if score <= LOW => Request::No,
        _ => Request::Uncertain,
    };
    Reading { request, score }
}

/// Content words allowed between a verb and the human it governs
/// ("transfer my call to a customer service agent").
const MAX_GAP: u32 = 3;
/// Content words allowed before a lone human word ("customer service rep").
const MAX_COMPOUND: u32 = 2;
/// How far back a negator reaches ("I don't need", "I do not really want").
const NEGATION_REACH: usize = 2;

/// Reads one clause. A human word counts when a want or contact verb
/// governs it (at most three content words between), or when it stands alone
/// ("representative", "agent please"). A negator counts only for a verb or
/// noun at most two words after it, so "no that's not it, I want an agent"
/// stays a request. Narrative ("I talked to an agent yesterday", "I spoke
/// to someone") and possessives ("the agent's name") are not requests;
/// passives are ("can I be transferred to a human").
pub(super) fn clause_request(tokens: &[Token]) -> Request {
    // The verb in force: (negated, is a contact verb, content words since).
    let mut verb: Option<(bool, bool, u32)> = None;
    let mut negator: Option<usize> = None;
    let mut modifier = false;
    let mut narrative = false;
    let (mut yes, mut refused) = (false, false);
    let mut lone: Option<u16> = None;
    let mut content = 0;
    let mut content_before_lone = 0;
    for (i, t) in tokens.iter().enumerate() {
        let f = t.flags;
        let negated_here = negator.is_some_and(|n| i - n <= NEGATION_REACH);
        let passive = i > 0 && tokens[i - 1].flags & BE != 0;
        // Within a clause the caller's last word on it counts.
        let mut decide = |negated: bool| (yes, refused) = (!negated, negated);
        if f & NEGATOR != 0 {
            negator = Some(i);
        } else if f & NO != 0 {
            let next = tokens.get(i + 1).map_or(0, |n| n.flags);
            if next & (NEED | HUMAN | PERSON) != 0 {
                negator = Some(i);
            }
        } else if f & NARRATIVE != 0 || (f & (WANT | CONTACT) != 0 && t.form.past && !passive) {
            narrative = true;
            verb = None;
        } else if f & (WANT | CONTACT) != 0 {
            // "do not want to talk to": the negation carries along the chain.
            let negated = negated_here || verb.is_some_and(|v| v.0);
            verb = Some((negated, f & CONTACT != 0 || verb.is_some_and(|v| v.1), 0));
        } else if f & ESCALATE != 0 {
            // "escalate this", "I want this escalated", "can this be escalated";
            // not "it was escalated last week".
            match verb {
                _ if !t.form.past => decide(negated_here || verb.is_some_and(|v| v.0)),
                Some((negated, _, _)) => decide(negated),
                None if passive => decide(negated_here),
                None => narrative = true,
            }
        } else if f & (HUMAN | PERSON | ESC_NOUN) != 0 && !t.form.possessive {
            match verb {
                Some((negated, contact, _)) if f & (HUMAN | ESC_NOUN) != 0 || contact || modifier || negated => {
                    decide(negated || negated_here)
                }
                Some(_) => {}
                None if negated_here => (yes, refused) = (false, true),
                None => {
                    lone = Some(lone.unwrap_or(0) | f);
                    content_before_lone = content;
                }
            }
        } else if f & MODIFIER != 0 {
            modifier = true;
            lone = lone.map(|l| l | MODIFIER);
        } else if f & STOP == 0 {
            content += 1;
            negator = None;
            modifier = false;
            verb = verb.and_then(|(n, c, gap)| (gap < MAX_GAP).then_some((n, c, gap + 1)));
        }
    }
    if yes {
        return Request::Yes;
    }
    if refused {
        return Request::Negated;
    }
    // A human word with nothing after it but function words: "operator",
    // "agent please", "customer service representative".
    let compound = content == content_before_lone && content <= MAX_COMPOUND;
    match lone {
        Some(l) if compound && !narrative && (l & (HUMAN | ESC_NOUN) != 0 || l & MODIFIER != 0) => Request::Yes,
        _ => Request::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlu::{Scratch, Vocab};

    /// The rules' reading alone.
    fn request(text: &str) -> Request {
        let vocab = Vocab::new();
        let mut s = Scratch::default();
        s.tokenize(&vocab, text);
        s.rules().0
    }

    #[test]
    fn ordinary_phrasings_ask_for_a_human() {
        for text in [
            "talk to a human",
            "can I speak to someone",
            "representative",
            "Operator!",
            "agent please",
            "I want a real person",
            "connect me with a live agent",
            "I'd like to speak with your supervisor",
            "get me a human",
            "escalate this",
            "I don't want to wait, get me a human",
            "I don't understand get me a human",
            "I still don't have my refund so I want a human",
            "put me through to a manager",
            "ＨＵＭＡＮ please",
            "no that's not it I want an agent",
            "i don't know just get me a human",
            "I'd like to be transferred to a representative",
            "I want this escalated to a manager",
            "I want to talk to a customer service agent",
            "transfer my call to a representative",
            "I want a person",
            "hand me off to an agent",
            "escalation please",
            "customer service representative",
        ] {
            assert_eq!(request(text), Request::Yes, "{text}");
        }
    }

    #[test]
    fn negations_and_mentions_are_not_requests() {
        for text in [
            "I don't need a person",
            "no need for an agent",
            "I do not want to talk to a human",
        ] {
            assert_eq!(request(text), Request::Negated, "{text}");
        }
        for text in [
            "my order arrived broken",
            "the agent was rude",
            "I need someone to fix my order",
            "transfer money",
        ] {
            assert_eq!(request(text), Request::No, "{text}");
        }
    }
}
