//! Cheap, deterministic language understanding for the engine's hot path:
//! a tokenizer over a vocabulary interned at load time, the topic classifier,
//! the escalation-request recogniser (a learned model with rules for
//! negation scope, see [`request`]), and slot extractors.
//!
//! Everything is compiled when an agent is loaded. At run time a turn costs a
//! pass over the utterance and a few hash lookups; the buffers live in a
//! [`Scratch`] that a session reuses, so a turn does not allocate.

mod classify;
pub mod corpus;
mod extract;
pub mod learn;
mod model;
mod request;

use rustc_hash::FxHashMap;

pub use classify::TopicModel;
pub use extract::{Extractor, Shape, regex_error_detail, small_regex};
pub use model::{HIGH, LOW, explain_words, model_score};
pub use request::{Reading, Request};

/// Id of a word that is not in the agent's vocabulary.
pub const UNKNOWN: u32 = u32::MAX;

// Word classes, as bit flags on each vocabulary entry.
const STOP: u16 = 1;
/// "human", "person", "representative", "agent": a request when governed or alone.
const HUMAN: u16 = 1 << 1;
/// "someone", "anybody": a request only with a contact verb or "real"/"live".
const PERSON: u16 = 1 << 2;
const WANT: u16 = 1 << 3;
const CONTACT: u16 = 1 << 4;
const NEGATOR: u16 = 1 << 5;
const MODIFIER: u16 = 1 << 6;
const ESCALATE: u16 = 1 << 7;
/// "no": negates only when it is followed by "need" or a person word.
const NO: u16 = 1 << 8;
const BREAK: u16 = 1 << 9;
const NEED: u16 = 1 << 10;
/// "be", "get": before a past participle they make a passive request
/// ("can I be transferred to a human").
const BE: u16 = 1 << 11;
/// "spoke", "told": the caller is telling what happened, not asking.
const NARRATIVE: u16 = 1 << 12;
/// "escalation": a request standing alone or wanted, a topic otherwise.
const ESC_NOUN: u16 = 1 << 13;

const WORDS: &[(&str, u16)] = &[
    ("human", HUMAN),
    ("humans", HUMAN),
    ("representative", HUMAN),
    ("rep", HUMAN),
    ("operator", HUMAN),
    ("agent", HUMAN),
    ("supervisor", HUMAN),
    ("manager", HUMAN),
    ("person", HUMAN),
    ("someone", PERSON | STOP),
    ("somebody", PERSON | STOP),
    ("anyone", PERSON | STOP),
    ("anybody", PERSON | STOP),
    ("people", HUMAN),
    ("want", WANT | STOP),
    ("need", WANT | NEED | STOP),
    ("like", WANT | STOP),
    ("get", WANT | BE | STOP),
    ("give", WANT | STOP),
    ("let", WANT | STOP),
    ("help", WANT),
    ("talk", CONTACT | STOP),
    ("speak", CONTACT | STOP),
    ("connect", CONTACT),
    ("transfer", CONTACT),
    ("put", CONTACT | STOP),
    ("reach", CONTACT),
    ("chat", CONTACT),
    ("forward", CONTACT),
    ("hand", CONTACT),
    ("pass", CONTACT),
    ("send", CONTACT),
    ("route", CONTACT),
    ("prefer", WANT),
    ("be", BE | STOP),
    ("been", BE | STOP),
    ("being", BE | STOP),
    ("spoke", NARRATIVE),
    ("spoken", NARRATIVE),
    ("told", NARRATIVE),
    ("said", NARRATIVE),
    ("real", MODIFIER),
    ("live", MODIFIER),
    ("actual", MODIFIER),
    ("escalate", ESCALATE),
    ("escalation", ESC_NOUN),
    ("not", NEGATOR | STOP),
    ("dont", NEGATOR | STOP),
    ("doesnt", NEGATOR | STOP),
    ("didnt", NEGATOR | STOP),
    ("never", NEGATOR | STOP),
    ("without", NEGATOR | STOP),
    ("wont", NEGATOR | STOP),
    ("no", NO | STOP),
    ("but", BREAK | STOP),
];

const STOPWORDS: &[&str] = &[
    "a", "an", "the", "i", "im", "ive", "id", "me", "my", "mine", "we", "our", "us", "you", "your", "it", "its", "is",
    "are", "was", "were", "be", "been", "am", "do", "does", "did", "to", "of", "for", "in", "on", "at", "by", "with",
    "and", "or", "so", "if", "then", "that", "this", "these", "those", "there", "here", "what", "which", "who", "how",
    "can", "could", "would", "should", "will", "may", "might", "must", "have", "has", "had", "got", "please", "just",
    "now", "hi", "hello", "hey", "um", "uh", "okay", "ok", "yes", "yeah", "well", "some", "about", "from", "up", "out",
    "as", "into", "too", "very", "really", "also", "thanks", "thank", "there", "one", "right", "away", "today",
    "through", "over", "wanna", "gonna", "let's", "lets", "know", "think", "again", "still",
];

/// Reduces a lower-case word to a crude stem, so that "cases"/"case" and
/// "arrived"/"arrive" meet. Applied to both vocabulary and utterances.
fn stem(word: &mut String) {
    let ends = |w: &String, s: &str| w.len() > s.len() && w.ends_with(s);
    if word.len() > 5 && ends(word, "ing") || word.len() > 4 && ends(word, "ed") {
        word.truncate(word.len() - if word.ends_with("ing") { 3 } else { 2 });
        // "transferred" -> "transfer", but "called" -> "call".
        let b = word.as_bytes();
        if b.len() > 3 && b[b.len() - 1] == b[b.len() - 2] && !b"lsz".contains(&b[b.len() - 1]) {
            word.pop();
        }
    } else if word.len() > 4 && ends(word, "es") {
        word.truncate(word.len() - 2);
    } else if word.len() > 3 && ends(word, "s") && !ends(word, "ss") {
        word.truncate(word.len() - 1);
    }
    if word.len() > 3 && word.ends_with('e') {
        word.truncate(word.len() - 1);
    }
}

/// The words an agent knows, each with its word classes.
#[derive(Debug, Default)]
pub struct Vocab {
    ids: FxHashMap<Box<str>, u32>,
    flags: Vec<u16>,
}

impl Vocab {
    /// A vocabulary with the built-in function words (stop words, request
    /// and negation words).
    pub fn new() -> Vocab {
        // The request model is expanded with the first agent loaded, not on
        // the first caller turn.
        model::preload();
        let mut v = Vocab::default();
        let mut buf = String::new();
        for w in STOPWORDS {
            buf.clear();
            buf.push_str(&w.replace('\'', ""));
            v.add(&mut buf, STOP);
        }
        for (w, f) in WORDS {
            buf.clear();
            buf.push_str(w);
            v.add(&mut buf, *f);
        }
        v
    }

    fn add(&mut self, word: &mut String, flags: u16) -> u32 {
        stem(word);
        if let Some(&id) = self.ids.get(word.as_str()) {
            self.flags[id as usize] |= flags;
            return id;
        }
        let id = self.flags.len() as u32;
        self.ids.insert(word.as_str().into(), id);
        self.flags.push(flags);
        id
    }

    /// Interns every content word of `text`, returning their sorted unique ids.
    pub fn learn(&mut self, text: &str) -> Box<[u32]> {
        let mut ids = Vec::new();
        let mut word = String::new();
        for_each_word(text, &mut word, |w, _, _| {
            let mut owned = w.to_string();
            let id = self.add(&mut owned, 0);
            if self.flags[id as usize] & STOP == 0 {
                ids.push(id);
            }
        });
        ids.sort_unstable();
        ids.dedup();
        ids.into_boxed_slice()
    }

    fn lookup(&self, word: &str) -> (u32, u16) {
        match self.ids.get(word) {
            Some(&id) => (id, self.flags[id as usize]),
            None => (UNKNOWN, 0),
        }
    }
}

/// How a word was written before stemming.
#[derive(Clone, Copy, Debug, Default)]
struct Form {
    /// Ended in "-ed" ("escalated", "transferred").
    past: bool,
    /// Ended in "'s" ("the agent's name").
    possessive: bool,
    /// Byte range in the text that was tokenized, for explanations.
    start: u32,
    end: u32,
}

/// Splits `text` into lower-case stemmed words, calling `f(word, clause,
/// form)`; punctuation that ends a clause starts a new one.
fn for_each_word(text: &str, buf: &mut String, mut f: impl FnMut(&str, u32, Form)) {
    let mut clause = 0u32;
    let mut apostrophe_at = usize::MAX;
    let (mut start, mut end) = (0u32, 0u32);
    buf.clear();
    let flush = |buf: &mut String,
                 apostrophe_at: usize,
                 clause: u32,
                 (start, end): (u32, u32),
                 f: &mut dyn FnMut(&str, u32, Form)| {
        if !buf.is_empty() {
            let form = Form {
                past: buf.len() > 4 && buf.ends_with("ed"),
                possessive: apostrophe_at.checked_add(1) == Some(buf.len()) && buf.ends_with('s'),
                start,
                end,
            };
            stem(buf);
            f(buf, clause, form);
            buf.clear();
        }
    };
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if buf.is_empty() {
                start = i as u32;
            }
            end = (i + c.len_utf8()) as u32;
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
            }
        } else if matches!(c, '\'' | '’' | '‘' | '´' | '`') {
            // "don't" -> "dont"; remember where, for "agent's".
            apostrophe_at = buf.len();
        } else {
            flush(buf, apostrophe_at, clause, (start, end), &mut f);
            apostrophe_at = usize::MAX;
            if matches!(c, ',' | '.' | ';' | '!' | '?' | ':') {
                clause = clause.saturating_add(1);
            }
        }
    }
    flush(buf, apostrophe_at, clause, (start, end), &mut f);
}

#[derive(Clone, Copy, Debug)]
struct Token {
    flags: u16,
    form: Form,
    clause: u32,
}

fn hash_word(w: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(w)
}

/// Buffers reused across the turns of a conversation.
#[derive(Debug, Default)]
pub struct Scratch {
    word: String,
    tokens: Vec<Token>,
    content: Vec<u32>,
    /// Hashes of the distinct unknown words.
    unknown: Vec<u64>,
    /// The utterance in NFKC form, when it is not ASCII.
    folded: String,
    /// The utterance as the request model reads it ([`learn::normalize`]).
    norm: String,
    /// The model's logit for `norm`.
    logit: f32,
}
impl Scratch {
    /// Tokenizes `text` against `vocab`; results stay in the scratch until
    /// the next call.
    pub fn tokenize(&mut self, vocab: &Vocab, text: &str) {
        // Compatibility forms ("ＨＵＭＡＮ", ligatures) read as their plain letters.
        if !text.is_ascii() {
            use unicode_normalization::UnicodeNormalization;
            let mut folded = std::mem::take(&mut self.folded);
            folded.clear();
            folded.extend(text.nfkc());
            self.tokenize_plain(vocab, &folded);
            learn::normalize(&folded, &mut self.norm);
            self.folded = folded;
        } else {
            self.tokenize_plain(vocab, text);
            learn::normalize(text, &mut self.norm);
        }
        self.logit = model::cached_logit(&self.norm);
    }

    /// The text the last call to [`Scratch::tokenize`] read: `text` itself,
    /// or its NFKC form.
    fn read_text<'t>(&'t self, text: &'t str) -> &'t str {
        if text.is_ascii() { text } else { &self.folded }
    }

    fn tokenize_plain(&mut self, vocab: &Vocab, text: &str) {
        self.tokens.clear();
        self.content.clear();
        self.unknown.clear();
        let tokens = &mut self.tokens;
        let content = &mut self.content;
        let unknown = &mut self.unknown;
        let mut clause_shift = 0u32;
        for_each_word(text, &mut self.word, |w, clause, form| {
            let (id, flags) = vocab.lookup(w);
            if flags & BREAK != 0 {
                clause_shift = clause_shift.saturating_add(1);
            }
            tokens.push(Token {
                flags,
                form,
                clause: clause.saturating_add(clause_shift),
            });
            if id == UNKNOWN {
                unknown.push(hash_word(w));
            } else if flags & STOP == 0 {
                content.push(id);
            }
        });
        content.sort_unstable();
        content.dedup();
        // Unknown words count once each, as known ones do.
        unknown.sort_unstable();
        unknown.dedup();
    }

    /// Reads the last tokenized utterance: the rules' reading, then the
    /// model's score, combined (see [`request`]).
    pub fn reading(&self) -> Reading {
        let rules = match self.rules().0 {
            Request::No if self.operator_key_alone() => Request::Yes,
            r => r,
        };
        request::combine(rules, self.is_question(), self.logit)
    }

    /// Whether the last utterance is nothing but the operator key said
    /// aloud ("zero", "zero zero", "uh, cero"): the rules read that as a
    /// request, as they read "operator" alone.
    fn operator_key_alone(&self) -> bool {
        const KEY: &[&str] = &["zero", "0", "cero", "null", "nul", "nulo", "zerro"];
        const FILLER: &[&str] = &["uh", "um", "eh", "euh", "ah", "just", "please", "|", "!"];
        let mut key = false;
        for w in self.norm.split(' ').filter(|w| !w.is_empty()) {
            if KEY.contains(&w) {
                key = true;
            } else if !FILLER.contains(&w) {
                return false;
            }
        }
        key
    }

    /// Whether the last utterance is a question: it has a question mark,
    /// or begins with an auxiliary or a question word.
    fn is_question(&self) -> bool {
        const OPENERS: &[&str] = &[
            "am", "are", "is", "do", "does", "did", "can", "could", "may", "will", "would", "should", "how", "what",
            "when", "where", "why", "who", "which",
        ];
        self.norm.contains(" ? ")
            || self
                .norm
                .split(' ')
                .find(|w| !w.is_empty())
                .is_some_and(|w| OPENERS.contains(&w))
    }

    /// The English rules' reading alone, as the recogniser read before it
    /// had a model: for comparisons.
    pub fn rules_only(&self) -> Request {
        self.rules().0
    }

    /// Whether the last tokenized utterance asks for a human.
    pub fn request(&self) -> Request {
        self.reading().request
    }

    /// The rules' reading of the last tokenized utterance, and the byte
    /// range (in the tokenized text) of the clause that decided it.
    fn rules(&self) -> (Request, (u32, u32)) {
        let mut result = (Request::No, (0, 0));
        let mut start = 0;
        while start < self.tokens.len() {
            let clause = self.tokens[start].clause;
            let end = self.tokens[start..]
                .iter()
                .position(|t| t.clause != clause)
                .map_or(self.tokens.len(), |n| start + n);
            // The caller's last word on it counts: "I want an agent. Actually
            // no, I don't need a person" is a refusal.
            match request::clause_request(&self.tokens[start..end]) {
                Request::No => {}
                r => {
                    let span = (self.tokens[start].form.start, self.tokens[end - 1].form.end);
                    result = (r, span);
                }
            }
            start = end;
        }
        result
    }

    /// Why `text` reads as it does, in the caller's words: the words that
    /// decided ("hablar con una persona"; the refusing clause for a
    /// negation), and the reading. Off the hot path: for transcripts.
    pub fn explain(&mut self, vocab: &Vocab, text: &str) -> (Reading, String) {
        self.tokenize(vocab, text);
        let reading = self.reading();
        let read = self.read_text(text).to_string();
        let words = match self.rules() {
            (Request::Negated, (s, e)) if reading.request == Request::Negated => {
                read[s as usize..e as usize].to_string()
            }
            _ => explain_words(&read, reading.request != Request::No),
        };
        (reading, words)
    }

    /// Number of content words (known or not) in the last utterance.
    fn content_len(&self) -> u32 {
        (self.content.len() + self.unknown.len()) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet() {
        let mut vocab = Vocab::new();
        let a = vocab.learn("I want to open cases");
        let b = vocab.learn("opening a case");
        assert_eq!(a, b);
    }
}
