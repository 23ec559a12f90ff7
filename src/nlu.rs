//! Cheap, deterministic language understanding for the engine's hot path:
//! a tokenizer over a vocabulary interned at load time, the topic classifier,
//! the escalation-request recogniser (with negation), and slot extractors.
//!
//! Everything is compiled when an agent is loaded. At run time a turn costs a
//! pass over the utterance and a few hash lookups; the buffers live in a
//! [`Scratch`] that a session reuses, so a turn does not allocate.

use regex::Regex;
use rustc_hash::FxHashMap;

/// Id of a word that is not in the agent's vocabulary.
pub const UNKNOWN: u32 = u32::MAX;

// Word classes, as bit flags on each vocabulary entry.
const STOP: u16 = 1;
/// "human", "representative", "operator", "agent": a request on its own in a short phrase.
const HUMAN: u16 = 1 << 1;
/// "person", "someone": a request only with a contact verb or "real"/"live".
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
}

/// Splits `text` into lower-case stemmed words, calling `f(word, clause,
/// form)`; punctuation that ends a clause starts a new one.
fn for_each_word(text: &str, buf: &mut String, mut f: impl FnMut(&str, u32, Form)) {
    let mut clause = 0u32;
    let mut apostrophe_at = usize::MAX;
    buf.clear();
    let flush = |buf: &mut String, apostrophe_at: usize, clause: u32, f: &mut dyn FnMut(&str, u32, Form)| {
        if !buf.is_empty() {
            let form = Form {
                past: buf.len() > 4 && buf.ends_with("ed"),
                possessive: apostrophe_at.checked_add(1) == Some(buf.len()) && buf.ends_with('s'),
            };
            stem(buf);
            f(buf, clause, form);
            buf.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
            }
        } else if matches!(c, '\'' | '’' | '‘' | '´' | '`') {
            // "don't" -> "dont"; remember where, for "agent's".
            apostrophe_at = buf.len();
        } else {
            flush(buf, apostrophe_at, clause, &mut f);
            apostrophe_at = usize::MAX;
            if matches!(c, ',' | '.' | ';' | '!' | '?' | ':') {
                clause = clause.saturating_add(1);
            }
        }
    }
    flush(buf, apostrophe_at, clause, &mut f);
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
}

/// Whether an utterance asks for a human.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    No,
    Yes,
    /// Mentions a human but negated ("I don't need a person").
    Negated,
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
            self.folded = folded;
        } else {
            self.tokenize_plain(vocab, text);
        }
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

    /// Recognises a request for a human in the last tokenized utterance.
    pub fn request(&self) -> Request {
        let mut result = Request::No;
        let mut start = 0;
        while start < self.tokens.len() {
            let clause = self.tokens[start].clause;
            let end = self.tokens[start..]
                .iter()
                .position(|t| t.clause != clause)
                .map_or(self.tokens.len(), |n| start + n);
            // The caller's last word on it counts: "I want an agent. Actually
            // no, I don't need a person" is a refusal.
            match clause_request(&self.tokens[start..end]) {
                Request::No => {}
                r => result = r,
            }
            start = end;
        }
        result
    }

    /// Number of content words (known or not) in the last utterance.
    fn content_len(&self) -> u32 {
        (self.content.len() + self.unknown.len()) as u32
    }
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
fn clause_request(tokens: &[Token]) -> Request {
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

/// One topic as the classifier sees it.
#[derive(Debug)]
pub struct TopicModel {
    pub examples: Vec<Box<[u32]>>,
    pub description: Box<[u32]>,
    pub catch_all: bool,
}

/// Weight of a description match against an example-utterance match.
const DESCRIPTION_WEIGHT: f32 = 0.9;

impl TopicModel {
    /// Cosine similarity of the utterance's word set with the closest example.
    pub fn score(&self, s: &Scratch) -> f32 {
        let n = s.content_len();
        if n == 0 {
            return 0.0;
        }
        let best = self
            .examples
            .iter()
            .map(|e| cosine(&s.content, n, e))
            .fold(0.0f32, f32::max);
        best.max(DESCRIPTION_WEIGHT * cosine(&s.content, n, &self.description))
    }
}

fn cosine(a: &[u32], a_len: u32, b: &[u32]) -> f32 {
    if b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0u32);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f32 / ((a_len as f32) * (b.len() as f32)).sqrt()
}

/// Compiles a regex with a small lazy-DFA cache. Each thread that uses a
/// regex keeps its own cache; at the default size (megabytes each) the caches
/// of a few slot and `says` patterns would outweigh a whole suite.
pub fn small_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).dfa_size_limit(1 << 17).build()
}

/// The useful line of a regex error ("unclosed character class").
pub fn regex_error_detail(e: &regex::Error) -> String {
    let msg = e.to_string();
    let line = msg.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&msg).trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// How a slot's value is found in an utterance.
#[derive(Debug)]
pub struct Extractor {
    regex: Regex,
    needs_digit: bool,
    needs_at: bool,
    phone: bool,
}

impl Extractor {
    pub fn email() -> Extractor {
        Extractor {
            regex: small_regex(r"(?i-u)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}").expect("static regex"),
            needs_digit: false,
            needs_at: true,
            phone: false,
        }
    }

    /// A number written with a leading `+`, or of ten digits or more, so
    /// that an eight-digit account number is not taken for a phone number.
    pub fn phone() -> Extractor {
        Extractor {
            regex: small_regex(r"(?-u)\+?\(?\d[\d\-\s().]{6,}\d").expect("static regex"),
            needs_digit: true,
            needs_at: false,
            phone: true,
        }
    }

    pub fn digits() -> Extractor {
        Extractor {
            regex: small_regex(r"[0-9]+").expect("static regex"),
            needs_digit: true,
            needs_at: false,
            phone: false,
        }
    }

    pub fn pattern(regex: Regex) -> Extractor {
        Extractor {
            regex,
            needs_digit: false,
            needs_at: false,
            phone: false,
        }
    }

    /// The byte range of the slot value in `text`, if there is one: the
    /// first capture group when the pattern has one, else the whole match.
    pub fn find(&self, text: &str) -> Option<(usize, usize)> {
        if self.needs_at && !text.as_bytes().contains(&b'@') {
            return None;
        }
        if self.needs_digit && !text.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        // An empty match fills nothing, and a pattern with a group takes the
        // group's text only where the group matched.
        let found = if self.regex.captures_len() > 1 {
            self.regex
                .captures_iter(text)
                .filter_map(|c| c.get(1))
                .find(|m| !m.is_empty() && self.plausible(m.as_str()))
        } else {
            self.regex
                .find_iter(text)
                .find(|m| !m.is_empty() && self.plausible(m.as_str()))
        };
        found.map(|m| (m.start(), m.end()))
    }

    fn plausible(&self, value: &str) -> bool {
        if !self.phone {
            return true;
        }
        let digits = value.bytes().filter(u8::is_ascii_digit).count();
        digits >= 10 || (value.starts_with('+') && digits >= 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> Request {
        let vocab = Vocab::new();
        let mut s = Scratch::default();
        s.tokenize(&vocab, text);
        s.request()
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

    #[test]
    fn stems_meet() {
        let mut vocab = Vocab::new();
        let a = vocab.learn("I want to open cases");
        let b = vocab.learn("opening a case");
        assert_eq!(a, b);
    }

    #[test]
    fn extractors_find_values() {
        let text = "it's Jane.Doe+x@example.co.uk thanks";
        let (s, e) = Extractor::email().find(text).unwrap();
        assert_eq!(&text[s..e], "Jane.Doe+x@example.co.uk");
        assert!(Extractor::email().find("jane at example").is_none());
        let text = "call me on +1 (555) 010-9999";
        let (s, e) = Extractor::phone().find(text).unwrap();
        assert_eq!(&text[s..e], "+1 (555) 010-9999");
        let text = "it's (555) 010-9999";
        let (s, e) = Extractor::phone().find(text).unwrap();
        assert_eq!(&text[s..e], "(555) 010-9999");
        assert!(Extractor::phone().find("account 12345678").is_none());
        assert!(Extractor::phone().find("+1 ...... 2").is_none());
        let empty = Extractor::pattern(Regex::new(r"\d*").unwrap());
        assert_eq!(empty.find("get me a human"), None);
        assert_eq!(empty.find("it is 42"), Some((6, 8)));
        let p = Extractor::pattern(Regex::new(r"\b(\d{8})\b").unwrap());
        assert_eq!(p.find("acct 12345678 ok"), Some((5, 13)));
    }
}
