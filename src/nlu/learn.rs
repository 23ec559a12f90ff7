//! The learned half of the request recogniser: how an utterance becomes
//! hashed features, how a logistic regression over them is trained, and how
//! the labelled corpus is read and split.
//!
//! This file is compiled twice: into the crate (`nlu::learn`), and into
//! `build.rs`, which trains the model from `corpus/requests.tsv` at build
//! time. It therefore uses nothing but `std`, and everything that decides a
//! feature is here, once, so that training and recognition cannot drift.
//!
//! Features, all hashed (FNV-1a, one seed per kind) into [`SIZE`] buckets:
//! - character n-grams (3 and 4) of the normalised utterance, spaces
//!   included, so that they cross word boundaries: "a gent" shares "gent"
//!   with "agent", "represenative" most of its grams with "representative",
//!   "operador" with "operator";
//! - words, and pairs of neighbouring words, with the start and end of the
//!   utterance as words: "am i" at the start, "human ?" at the end; a word
//!   within three words after a negator ("not", "nunca", "nicht"...) is
//!   another feature than the same word outside;
//! - meaning classes ([`Concept`]) from a small multilingual lexicon:
//!   "persona", "Mensch" and "human" are all a person, "hablar", "parler"
//!   and "talk" all talking. Runs of one, two and three classes in order,
//!   and every pair of classes in the utterance, are features. They carry
//!   what is learned in one language to the others, and they weigh most.
//!
//! Normalisation lower-cases, folds Latin diacritics ("é" → "e", "ß" →
//! "ss"), drops apostrophes ("don't" → "dont") and keeps "?" and clause
//! punctuation ("|") as words of their own. The feature vector is scaled to
//! unit length, so long utterances weigh no more than short ones.
//!
//! Training ([`train`]) is full-batch gradient descent with momentum from
//! zero weights, in a fixed order, with L2 regularisation: deterministic.
//! Each example is also trained on in variants that must not change its
//! label (the language's "please" after it, a filler before it, a typo,
//! a topic request before or after it), so that politeness, hesitation,
//! slips and topic words are not taken for evidence either way.

#![allow(dead_code)]

/// Buckets of the hashed feature space, as a power of two.
pub const BITS: u32 = 18;
pub const SIZE: usize = 1 << BITS;
const MASK: u32 = (SIZE as u32) - 1;

/// Shortest and longest character n-gram.
const MIN_GRAM: usize = 3;
const MAX_GRAM: usize = 4;

const SEED_GRAM: u32 = 0x811c_9dc5;
const SEED_WORD: u32 = 0x2f1a_47d3;
const SEED_PAIR: u32 = 0x5bd1_e995;
/// Words in the scope of a negation are other features than the same words
/// outside it: "dont want to talk" is not "want to talk".
const SEED_NEGATED: u32 = 0x68e3_1da4;
/// How many words after a negator it reaches.
const NEGATION_SCOPE: u8 = 3;

/// Negators of the corpus's languages, normalised (see [`normalize`]).
#[rustfmt::skip]
const NEGATORS: &[&str] = &[
    // English
    "not", "no", "dont", "doesnt", "didnt", "never", "nobody", "nothing", "without", "neither", "nor", "nah",
    // Spanish, Portuguese, Italian
    "nunca", "nadie", "jamas", "tampoco", "nao", "ninguem", "nem", "non", "mai", "nessuno",
    // French
    "ne", "pas", "jamais", "rien", "aucun", "aucune", "nai", "nest",
    // German, Dutch
    "nicht", "kein", "keine", "keinen", "keiner", "nie", "niemals", "niemand", "niet", "geen", "nooit",
];
const FNV_PRIME: u32 = 0x0100_0193;

pub(crate) fn fnv(seed: u32, bytes: &[u8]) -> u32 {
    let mut h = seed;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// A Latin letter with its diacritic removed, lower case; `None` when the
/// character needs no folding (or is not Latin).
fn fold_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ñ' | 'ń' | 'ň' | 'ņ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'ŕ' | 'ř' => "r",
        'ś' | 'š' | 'ş' | 'ŝ' => "s",
        'ť' | 'ţ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ł' => "l",
        _ => return None,
    })
}

/// What a character does in normalisation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Part of a word.
    Letter,
    /// Dropped inside a word ("don't").
    Apostrophe,
    /// A word of its own.
    Question,
    /// Ends a clause: a word "|" of its own.
    Clause,
    /// Ends a word.
    Space,
}

fn class(c: char) -> Class {
    if c.is_alphanumeric() {
        Class::Letter
    } else if matches!(c, '\'' | '’' | '‘' | '´' | '`') {
        Class::Apostrophe
    } else if matches!(c, '?' | '¿' | '？') {
        Class::Question
    } else if matches!(c, ',' | '.' | ';' | ':' | '!' | '¡' | '。' | '，' | '！') {
        Class::Clause
    } else {
        Class::Space
    }
}

fn push_folded(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for l in c.to_lowercase() {
        match fold_latin(l) {
            Some(s) => out.push_str(s),
            None => out.push(l),
        }
    }
}

/// Writes the normalised form of `text` into `out` (cleared first): words
/// separated by single spaces, with a space before the first and after the
/// last. `word(start, end)` gets each word's byte range in `text`, in order
/// ("?" included), for explanations; the hot path passes a no-op.
pub fn normalize_with(text: &str, out: &mut String, mut word: impl FnMut(usize, usize)) {
    out.clear();
    out.push(' ');
    let mut start: Option<usize> = None;
    let mut end = 0;
    // An email address says nothing about wanting a person, and its pieces
    // ("jane example com") read as words would drown a request said in the
    // same breath: it is skipped, punctuation after it kept.
    let mut skip_to = 0;
    for (i, c) in text.char_indices() {
        if i < skip_to {
            continue;
        }
        if start.is_none() && class(c) == Class::Letter {
            let chunk = text[i..].split(char::is_whitespace).next().unwrap_or("");
            if let Some(at) = chunk.find('@') {
                let tail = &chunk[at..];
                let kept = tail.trim_end_matches(|c: char| class(c) != Class::Letter);
                if kept.len() > 1 {
                    skip_to = i + at + kept.len();
                    continue;
                }
            }
        }
        match class(c) {
            Class::Letter => {
                start.get_or_insert(i);
                end = i + c.len_utf8();
                push_folded(c, out);
            }
            Class::Apostrophe => {}
            k => {
                if let Some(s) = start.take() {
                    word(s, end);
                    out.push(' ');
                }
                let mark = match k {
                    Class::Question => "? ",
                    Class::Clause => "| ",
                    _ => continue,
                };
                // One mark for a run of them ("?!", "...").
                if !out.ends_with(" ? ") && !out.ends_with(" | ") {
                    word(i, i + c.len_utf8());
                    out.push_str(mark);
                }
            }
        }
    }
    if let Some(s) = start {
        word(s, end);
        out.push(' ');
    }
}

/// [`normalize_with`] without the word ranges: the hot path.
pub fn normalize(text: &str, out: &mut String) {
    normalize_with(text, out, |_, _| {});
}

/// Calls `f(bucket, weight, first_word, last_word)` for every feature of a
/// normalised utterance (see [`normalize`]); the words are the 0-based
/// indices of the words the feature spans, for explanations. Allocates
/// nothing.
pub fn for_each_feature(norm: &str, mut f: impl FnMut(u32, f32, u16, u16)) {
    let bytes = norm.as_bytes();
    // Character n-grams: a ring of the byte offsets where the last
    // characters start, and of the word each belongs to (a space belongs to
    // the word after it).
    const RING: usize = 8;
    let mut starts = [0usize; RING];
    let mut words = [0u16; RING];
    let mut seen = 0usize;
    // The word the next letter belongs to.
    let mut word: u16 = 0;
    let mut in_word = false;
    for (i, c) in norm.char_indices() {
        let space = c == ' ';
        if space && in_word {
            word = word.saturating_add(1);
        }
        in_word = !space;
        starts[seen % RING] = i;
        words[seen % RING] = word;
        seen += 1;
        let end = i + c.len_utf8();
        for n in MIN_GRAM..=MAX_GRAM.min(seen) {
            let at = (seen - n) % RING;
            let first = words[at];
            let last = if space { word.saturating_sub(1).max(first) } else { word };
            f(
                fnv(SEED_GRAM ^ n as u32, &bytes[starts[at]..end]) & MASK,
                GRAM_WEIGHT,
                first,
                last,
            );
        }
    }
    // Words and neighbouring pairs, with "^" and "$" for the ends; words
    // after a negator (within its reach, up to the end of its clause) are
    // marked; then the meaning classes.
    let mut prev: u32 = fnv(SEED_WORD, b"^");
    let mut index: u16 = 0;
    let mut scope = 0u8;
    let lexicon = &*LEXICON_MAP;
    // The last two words with a concept: (concept, word index), START before any.
    let mut concepts = [(START, 0u16); 2];
    let mut seen_concepts = [(0u8, 0u16); 16];
    let mut n_seen = 0usize;
    for w in norm.split(' ').filter(|w| !w.is_empty()) {
        let seed = if scope > 0 { SEED_NEGATED } else { SEED_WORD };
        let h = fnv(seed, w.as_bytes());
        f(h & MASK, WORD_WEIGHT, index, index);
        f(pair(prev, h), WORD_WEIGHT, index.saturating_sub(1), index);
        prev = h;
        let c = lexicon.concept(w);
        if c != 0 {
            let c = if scope > 0 { c | NEGATED_CONCEPT } else { c };
            let [(c1, i1), (c2, i2)] = concepts;
            f(fnv(SEED_CONCEPT, &[c]) & MASK, CONCEPT_WEIGHT, index, index);
            f(fnv(SEED_CONCEPT, &[c2, c]) & MASK, CONCEPT_WEIGHT, i2.min(index), index);
            f(
                fnv(SEED_CONCEPT, &[c1, c2, c]) & MASK,
                CONCEPT_WEIGHT,
                i1.min(i2).min(index),
                index,
            );
            // Every earlier concept with this one, in any order and at any
            // distance: "am ... human ... ?" whatever stands between.
            for (k, &(d, at)) in seen_concepts[..n_seen].iter().enumerate() {
                if seen_concepts[..k].iter().any(|e| e.0 == d) || d == c {
                    continue;
                }
                let (a, b) = if d < c { (d, c) } else { (c, d) };
                f(fnv(SEED_SET, &[a, b]) & MASK, SET_WEIGHT, at, index);
            }
            if n_seen < seen_concepts.len() {
                seen_concepts[n_seen] = (c, index);
                n_seen += 1;
            }
            concepts = [(c2, i2), (c, index)];
        }
        index = index.saturating_add(1);
        scope = if w == "|" {
            0
        } else if NEGATORS.contains(&w) {
            NEGATION_SCOPE
        } else {
            scope.saturating_sub(1)
        };
    }
    let end = fnv(SEED_WORD, b"$");
    let last = index.saturating_sub(1);
    f(pair(prev, end), WORD_WEIGHT, last, last);
    let [(c1, i1), (c2, i2)] = concepts;
    f(
        fnv(SEED_CONCEPT, &[c1, c2, END]) & MASK,
        CONCEPT_WEIGHT,
        i1.min(i2),
        last,
    );
}

const SEED_CONCEPT: u32 = 0x1b87_3593;
const SEED_SET: u32 = 0x2545_f491;
pub const SET_WEIGHT: f32 = 2.0;
/// How much each kind of feature weighs before the vector is scaled to
/// unit length: the concepts carry across languages, so they count more.
pub const GRAM_WEIGHT: f32 = 1.0;
pub const WORD_WEIGHT: f32 = 1.0;
pub const CONCEPT_WEIGHT: f32 = 3.0;
/// Concept sequence markers: the start and the end of the utterance.
const START: u8 = 255;
const END: u8 = 254;
/// A concept in the scope of a negation.
const NEGATED_CONCEPT: u8 = 64;

fn pair(a: u32, b: u32) -> u32 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&a.to_le_bytes());
    bytes[4..].copy_from_slice(&b.to_le_bytes());
    fnv(SEED_PAIR, &bytes) & MASK
}

/// The model: a bias and one weight per bucket. The score of an utterance
/// is the logistic of `bias + sum(weights) / sqrt(feature count)`.
pub struct Weights<'w> {
    pub bias: f32,
    pub w: &'w [f32],
}

impl Weights<'_> {
    /// The logit of a normalised utterance.
    pub fn logit(&self, norm: &str) -> f32 {
        let (mut sum, mut norm2) = (0.0f32, 0.0f32);
        for_each_feature(norm, |b, x, _, _| {
            sum += self.w[b as usize] * x;
            norm2 += x * x;
        });
        if norm2 == 0.0 {
            return self.bias;
        }
        self.bias + sum / norm2.sqrt()
    }
}

pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// A corpus label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Request,
    Not,
    Uncertain,
}

impl Label {
    /// The training target: a request 1, anything else 0, and an utterance
    /// an LLM could read either way 0.5, so that the model learns to put it
    /// in the middle, where the recogniser says "uncertain".
    pub fn target(self) -> f32 {
        match self {
            Label::Request => 1.0,
            Label::Not => 0.0,
            Label::Uncertain => 0.5,
        }
    }
}

/// One labelled utterance.
#[derive(Clone, Debug)]
pub struct Example<'c> {
    pub text: &'c str,
    pub label: Label,
    pub language: &'c str,
    pub reason: &'c str,
    /// 1-based line in the corpus file.
    pub line: usize,
}

/// Reads a corpus file: tab-separated text, label, language, reason; '#'
/// lines and the header line are skipped.
pub fn parse_corpus(tsv: &str) -> Result<Vec<Example<'_>>, String> {
    let mut out = Vec::new();
    for (i, line) in tsv.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') || line.starts_with("text\t") {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 4 {
            return Err(format!(
                "line {}: expected 4 tab-separated columns, found {}",
                i + 1,
                cols.len()
            ));
        }
        let label = match cols[1] {
            "request" => Label::Request,
            "not" => Label::Not,
            "uncertain" => Label::Uncertain,
            other => return Err(format!("line {}: unknown label '{other}'", i + 1)),
        };
        if cols[0].trim().is_empty() || cols[2].trim().is_empty() || cols[3].trim().is_empty() {
            return Err(format!("line {}: empty column", i + 1));
        }
        out.push(Example {
            text: cols[0],
            label,
            language: cols[2],
            reason: cols[3],
            line: i + 1,
        });
    }
    Ok(out)
}

/// Percent of the corpus held out from training.
pub const HELD_OUT_PERCENT: u32 = 35;

/// Whether an utterance is in the held-out part: decided by a hash of its
/// text alone, so nobody picks which examples are easy to hold out, and an
/// utterance keeps its side when others are added.
pub fn held_out(text: &str) -> bool {
    fnv(0x9e37_79b9, text.as_bytes()) % 100 < HELD_OUT_PERCENT
}

/// How training goes: L2 strength, step, iterations of full-batch gradient
/// descent (with Nesterov momentum).
pub const L2: f32 = 5e-5;
pub const STEP: f32 = 2.0;
pub const MOMENTUM: f32 = 0.9;
pub const ITERATIONS: usize = 1500;

/// Trains a logistic regression on `examples` by full-batch gradient
/// descent from zero, in a fixed order: the same corpus always gives the
/// same weights. Returns (bias, weights).
/// Variants of an utterance that mean the same: with the language's
/// "please" after it, with a filler before it, and with a typo (two letters
/// of its longest word swapped). Trained on alongside the original, they
/// teach the model that politeness, hesitation and slips of the keyboard
/// say nothing about a request: without them "por favor" alone reads as one,
/// because so many requests end with it.
pub fn variants(text: &str, language: &str) -> [String; 3] {
    let (please, filler) = match language.split('-').next().unwrap_or("") {
        "es" => ("por favor", "eh,"),
        "fr" => ("s'il vous plaît", "euh,"),
        "de" => ("bitte", "äh,"),
        "pt" => ("por favor", "é,"),
        "it" => ("per favore", "ehm,"),
        "nl" => ("alstublieft", "eh,"),
        _ => ("please", "um,"),
    };
    let longest = text.split_whitespace().max_by_key(|w| w.chars().count()).unwrap_or("");
    let mut chars: Vec<char> = longest.chars().collect();
    let typo = if chars.len() >= 4 {
        let m = chars.len() / 2;
        chars.swap(m - 1, m);
        text.replacen(longest, &chars.into_iter().collect::<String>(), 1)
    } else {
        text.to_string()
    };
    [format!("{text} {please}"), format!("{filler} {text}"), typo]
}

/// The reason that marks a plain topic request in the corpus: these are
/// composed with the other examples in training.
pub const TOPIC_REASON: &str = "topic request";

/// How much an example labelled uncertain weighs against a certain one.
pub const UNCERTAIN_WEIGHT: f32 = 5.0;

/// How much a variant weighs in training against its original.
pub const VARIANT_WEIGHT: f32 = 0.5;

pub fn train(examples: &[Example<'_>]) -> (f32, Vec<f32>) {
    // Sparse rows: (bucket, value), the value scaled to unit length; each
    // with its target and weight.
    let mut norm = String::new();
    let mut texts: Vec<(String, f32, f32)> = Vec::with_capacity(6 * examples.len());
    // Topic requests by language, to compose with (see below).
    let topics: Vec<&Example<'_>> = examples.iter().filter(|e| e.reason == TOPIC_REASON).collect();
    for (i, e) in examples.iter().enumerate() {
        // An utterance an LLM could take either way is fitted harder: the
        // pull of regularisation towards "not" would otherwise take it out
        // of the band.
        let weight = if e.label == Label::Uncertain {
            UNCERTAIN_WEIGHT
        } else {
            1.0
        };
        texts.push((e.text.to_string(), e.label.target(), weight));
        for v in variants(e.text, e.language) {
            texts.push((v, e.label.target(), VARIANT_WEIGHT));
        }
        // A topic said in the same breath changes nothing: "my card was
        // declined, get me a human" is a request, "my card was declined, I
        // spoke to an agent yesterday" is not. Without these, topic words
        // ("card", "factura") count against a request.
        if e.label == Label::Uncertain || e.reason == TOPIC_REASON {
            continue;
        }
        let base = e.language.split('-').next().unwrap_or("");
        let same: Vec<&&Example<'_>> = topics
            .iter()
            .filter(|t| t.language.split('-').next() == Some(base))
            .collect();
        if same.is_empty() {
            continue;
        }
        let before = same[i % same.len()].text.trim_end_matches(['?', '.', '!']);
        let after = same[(i * 7 + 3) % same.len()].text;
        texts.push((format!("{before}, {}", e.text), e.label.target(), VARIANT_WEIGHT));
        texts.push((
            format!("{}, {after}", e.text.trim_end_matches(['.', '!'])),
            e.label.target(),
            VARIANT_WEIGHT,
        ));
    }
    let mut rows: Vec<Vec<(u32, f32)>> = Vec::with_capacity(texts.len());
    for (text, _, _) in &texts {
        normalize(text, &mut norm);
        let mut feats: Vec<(u32, f32)> = Vec::new();
        for_each_feature(&norm, |b, x, _, _| feats.push((b, x)));
        feats.sort_by_key(|f| f.0);
        let norm2: f32 = feats.iter().map(|f| f.1 * f.1).sum();
        let scale = 1.0 / norm2.max(f32::MIN_POSITIVE).sqrt();
        let mut row: Vec<(u32, f32)> = Vec::new();
        for (b, x) in feats {
            match row.last_mut() {
                Some(last) if last.0 == b => last.1 += x * scale,
                _ => row.push((b, x * scale)),
            }
        }
        rows.push(row);
    }
    let m: f32 = texts.iter().map(|t| t.2).sum::<f32>().max(1.0);
    let mut w = vec![0.0f32; SIZE];
    let mut v = vec![0.0f32; SIZE];
    let mut g = vec![0.0f32; SIZE];
    let (mut bias, mut vb) = (0.0f32, 0.0f32);
    // Buckets any example touches: the others stay zero.
    let mut used: Vec<u32> = rows.iter().flatten().map(|x| x.0).collect();
    used.sort_unstable();
    used.dedup();
    for _ in 0..ITERATIONS {
        // Nesterov: the gradient at the look-ahead point.
        for &b in &used {
            g[b as usize] = 0.0;
        }
        let look_b = bias + MOMENTUM * vb;
        let mut gb = 0.0f32;
        for (row, &(_, target, weight)) in rows.iter().zip(&texts) {
            let mut z = look_b;
            for &(b, x) in row {
                z += (w[b as usize] + MOMENTUM * v[b as usize]) * x;
            }
            let err = weight * (sigmoid(z) - target);
            gb += err;
            for &(b, x) in row {
                g[b as usize] += err * x;
            }
        }
        for &b in &used {
            let i = b as usize;
            let look = w[i] + MOMENTUM * v[i];
            let grad = g[i] / m + L2 * look;
            v[i] = MOMENTUM * v[i] - STEP * grad;
            w[i] += v[i];
        }
        vb = MOMENTUM * vb - STEP * gb / m;
        bias += vb;
    }
    (bias, w)
}

/// The model as bytes: the number of weights that are not zero, the bias,
/// then (bucket, weight) for each of them, all little-endian.
pub fn to_bytes(bias: f32, w: &[f32]) -> Vec<u8> {
    let nonzero: Vec<(u32, f32)> = w
        .iter()
        .enumerate()
        .filter(|(_, x)| **x != 0.0)
        .map(|(i, x)| (i as u32, *x))
        .collect();
    let mut out = Vec::with_capacity(8 + 8 * nonzero.len());
    out.extend_from_slice(&(nonzero.len() as u32).to_le_bytes());
    out.extend_from_slice(&bias.to_le_bytes());
    for (i, x) in nonzero {
        out.extend_from_slice(&i.to_le_bytes());
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Meaning classes that words of different languages share, so that what
/// the model learns of "talk to a person" carries to "hablar con una
/// persona" and "mit einem Menschen sprechen". The lexicon only says what a
/// word means; how meanings combine into a request is learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Concept {
    /// "human", "person", "someone": a person, any person.
    Person = 1,
    /// "agent", "operator", "supervisor", "advisor", "staff": a role.
    Role,
    /// "customer service", "department", "support", "team": people behind a desk.
    Desk,
    /// "talk", "speak", "hablar", "parler", "sprechen": talking.
    Talk,
    /// "transfer", "connect", "put through", "pasar", "verbinden": routing.
    Route,
    /// "call back", "rappeler", "zurückrufen".
    Callback,
    /// "want", "need", "like", "quiero", "möchte".
    Want,
    /// "real", "live", "actual", "vrai", "echt".
    Real,
    /// "bot", "robot", "machine", "computer".
    Machine,
    /// "am", "are", "soy", "suis", "bin": being, in questions of identity.
    Be,
    /// "already", "yesterday", "last", "ya", "ayer", "hier", "gestern".
    Before,
    /// "spoke", "talked", "told", "said", "hablé", "gesprochen".
    Past,
    /// "wait", "hours", "long", "horario", "Öffnungszeiten".
    Wait,
    /// "money", "ticket", "account", "dinero", "Konto".
    Thing,
    /// "zero", "cero", "null", "0": the operator key.
    Zero,
    /// "escalate", "escalation".
    Escalate,
    /// "help", "ayuda", "aide", "Hilfe".
    Help,
    /// "add", "send", "agregar", "hinzufügen", "ajouter": business verbs.
    Business,
    /// "you", "your", "usted", "vous", "Sie": the bot addressed.
    You,
    /// "I", "me", "my", "yo", "je", "ich".
    Me,
    /// "can", "could", "may", "puedo", "puis", "kann": asking permission.
    Can,
    /// "please", "por favor", "bitte".
    Please,
    /// "?": a question.
    Question,
    /// "about", "sobre", "über": what follows is a topic.
    About,
    /// "press", "dial", "oprimir", "drücken": a key on the keypad.
    Key,
    /// "have to", "must", "faut", "muss": a question of procedure.
    Must,
}

/// The lexicon: normalised words, a trailing `*` for a prefix (at least
/// four letters) that any longer word matches.
#[rustfmt::skip]
const LEXICON: &[(Concept, &[&str])] = &[
    (Concept::Person, &[
        "human*", "humano*", "humain*", "humana*", "umano", "umana", "mensch*", "mens", "persona", "personas",
        "person", "persons", "personne", "pessoa*", "persoon", "someone", "somebody", "anyone", "anybody",
        "sum1", "alguien", "alguem", "quelquun", "jemand*", "qualcuno", "iemand", "insaan", "tao", "people",
        "gente", "being", "humen", "humn", "humane", "persn", "individu*", "hooman", "humain", "humaine",
        "humains", "menschen", "mensen", "humanos", "humanas", "personal", "alguno", "alguna", "niemand",
        "tizio", "persone", "pessoas", "personnes", "personen", "leute", "folks", "somone", "someome",
        "sombody", "whoever",
    ]),
    (Concept::Role, &[
        "agent*", "agnet", "agint", "gent", "represent*", "reprasent*", "represnet*", "repre", "rep", "reps",
        "operat*", "opperat*", "operador*", "operatr*", "supervis*", "vorgesetzt*", "manager*", "gerente*",
        "gerant*", "responsab*", "boss", "jefe", "chef*", "capo", "advisor*", "adviser*", "asesor*",
        "conseill*", "berater*", "consulent*", "consultor*", "consultant*", "attendant*", "atendente*", "staff",
        "mitarbeiter*", "medewerker*", "colaborador*", "collaborat*", "empleado*", "funcionari*", "specialist*",
        "especialista*", "speciali*", "spezialist*", "executive*", "ejecutivo*", "executivo*", "clerk",
        "sachbearbeiter*", "prepose*", "technician*", "tecnico*", "technicien*", "techniker*", "officer",
        "assistente", "assistant", "senior", "superior", "authority", "interlocut*", "visor", "ator",
        "sentative", "kollege*", "collega*", "administrat*", "dispatch*", "member", "nurse", "doctor",
        "pharmacist", "banker", "agente", "agenten", "beraterin", "mitarbeiterin", "ansprechpartner*",
        "zustandig*", "leidinggevende", "teamleider", "chef", "patron", "jefa", "encargad*", "superior*",
        "expert*", "experto*", "experte*", "tecnica", "atendiment", "operateur", "operatrice", "operatore",
        "operatori", "addetto", "addetta", "impiegat*", "dipendent*", "consulente", "consulenti", "vendedor*",
        "verkaufer*", "monitor", "representante", "representantes", "representant", "representants",
        "vertreter*", "rappresentant*", "ejecutiva", "executiva", "assessor*", "asesora", "consejer*",
        "gestor*", "gestionnaire*", "conseillere", "preposee", "collaboratrice", "medewerkster",
        "ondersteuning", "helpdesk*",
    ]),
    (Concept::Desk, &[
        "customer", "costumer", "service", "servicio", "servico", "servizio", "support", "soporte", "suporte",
        "care", "department*", "departamento*", "departement*", "abteilung*", "setor", "sector", "team",
        "equipe", "equipo", "kundenservice", "kundendienst", "klantenservice", "atencion", "atendimento",
        "billing", "facturacion", "facturation", "buchhaltung", "financeiro", "accounts", "sales", "ventas",
        "claims", "fraud", "technique", "technik", "tech", "complaints", "retention", "cancellations",
        "standard", "vermittlung", "centralita", "central", "centre", "center", "desk", "helpdesk", "apoio",
        "cliente", "clientes", "client", "clienti", "clientele", "kundenbetreuung", "hotline", "callcenter",
        "kundencenter", "sac", "ouvidoria", "assistencia", "assistenza", "cobranza", "cobranca", "fatturazione",
        "abrechnung", "vertrieb", "verkauf*", "vendas", "vendite", "commercial", "commerciale", "comercial",
        "reclamaciones", "reclamacoes", "reclamations", "reclami", "beschwerde*", "technical", "tecnico",
        "assistance", "ufficio", "oficina", "bureau", "buro", "kantoor", "afdeling", "klantendienst",
    ]),
    (Concept::Talk, &[
        "talk*", "speak*", "chat", "converse", "hablar", "habla", "hable", "ablar", "platicar", "parler",
        "parle", "parlez", "parla", "parlare", "sprechen", "spreche", "sprich", "reden", "rede", "falar",
        "fala", "falo", "praten", "spreken", "baat", "makausap", "word", "holler", "discuss*", "conversar",
        "dialogar", "quatschen", "plaudern", "telefonieren", "telefonar", "charlar", "hablarle", "bater",
        "papo", "parlo", "parlerai", "parliamo", "chiacchierare", "bellen", "babbelen", "spreek", "praat",
        "convo", "llamar", "appeler", "anrufen", "telefonare", "chamar", "ligar", "bol",
    ]),
    (Concept::Route, &[
        "transfer*", "transfier*", "transfir*", "transfere*", "trasfer*", "connect*", "conect*", "comunic*",
        "verbind*", "doorverbind*", "durchstell*", "weiterleit*", "put", "pasa", "pasame", "paseme", "pase",
        "pasar", "passe", "passez", "passer", "passa", "passar", "passi", "passare", "hand", "forward", "route",
        "patch", "send", "chuck", "mettez", "mets", "relation", "ligne", "ponme", "pongame", "coloca", "liga",
        "ligue", "through", "escala*", "arrange", "holen", "geben", "give", "gimme", "get", "reach", "contact*",
        "kontakt*", "transferencia", "transferir", "transfiera", "transfieran", "transfierame", "transferer",
        "transferez", "transfere", "transfira", "trasferire", "trasferisca", "passami", "mettimi", "metta",
        "collega*", "conectame", "conecteme", "conecte", "ponga", "mandame", "durchstellen", "verbinden",
        "verbinde", "weitergeleitet", "doorverbinden", "doorschakelen", "zet", "schakel", "inoltr*", "hol",
        "chiamami",
    ]),
    (Concept::Callback, &[
        "callback", "back", "rappeler", "rappelle", "rappele", "zuruckrufen", "zuruckruf*", "richiam*",
        "devuelva", "llame", "llamen", "ligar", "volta", "terugbellen",
    ]),
    (Concept::Want, &[
        "want", "wanna", "need", "like", "rather", "prefer", "would", "id", "demand", "quiero", "quisiera",
        "necesito", "necesitaria", "voudrais", "veux", "souhaite", "aimerais", "moechte", "mochte", "mocht",
        "will", "brauche", "quero", "qero", "queria", "preciso", "voglio", "vorrei", "wil", "wens", "chahiye",
        "karni", "karao", "karo", "pwede", "queremos", "necesitamos", "precisamos", "necessito", "brauchen",
        "mochten", "wollen", "vorremmo", "vogliamo", "willen", "wilde", "zou", "graag", "gostaria", "gustaria",
        "aimerai", "aimerait", "voudrions", "desejo", "deseo", "prefiero", "prefiro", "prefere", "lieber",
        "preferisco", "insist*", "exijo", "exige", "exijo", "verlange", "pretendo", "esigo",
    ]),
    (Concept::Real, &[
        "real", "reel", "live", "actual", "actually", "verdad", "vrai", "vraie", "reelle", "reel", "echt*",
        "verdade", "vero", "vera", "true", "proper", "vivo", "directo", "direct", "direkt", "diretta", "reale",
        "reali", "reais", "echte", "echten", "echter", "vrais", "genuine", "flesh",
    ]),
    (Concept::Machine, &[
        "bot", "bots", "robot*", "robo", "machine", "maquina", "computer", "computadora", "ordinateur",
        "automated", "automatic", "system", "sistema", "ia", "ai", "chatbot", "menu", "app", "roboter", "robot",
        "robots", "maschine", "macchina", "computador", "ordenador", "automatico", "automatique", "automatisch",
        "sprachcomputer", "virtual", "virtuel", "virtuale", "ki",
    ]),
    (Concept::Be, &[
        "am", "are", "soy", "eres", "estoy", "estas", "suis", "etes", "bin", "bist", "sind", "sou", "estou",
        "voce", "sono", "sei", "sto", "ben", "bent", "talking", "speaking",
    ]),
    (Concept::Before, &[
        "already", "yesterday", "last", "ago", "earlier", "before", "previous", "ya", "ayer", "antes", "deja",
        "hier", "schon", "gestern", "ontem", "gia", "ieri", "gisteren", "times",
    ]),
    (Concept::Past, &[
        "spoke", "spoken", "talked", "told", "said", "called", "was", "were", "had", "hung", "gave", "helped",
        "transferred", "escalated", "hable", "hablamos", "dijo", "fue", "llamo", "parle", "dit", "etait",
        "gesprochen", "gesagt", "war", "falei", "disse", "foi", "parlato", "detto", "gesproken", "asked",
        "pedi", "gefragt", "demande", "pressed", "parlai", "conversei", "conversou", "conversamos", "hablaron",
        "platique", "telefoniert", "angerufen", "gebeld", "chiamato", "ligou", "liguei", "llamamos", "appele",
        "raccroche", "aufgelegt", "colgo", "promised", "prometio", "promis", "versprochen", "prometeu",
        "promesso", "beloofde", "zei", "sagte", "gezegd", "got", "been", "came", "showed", "sent",
    ]),
    (Concept::Wait, &[
        "wait", "waiting", "hours", "long", "open", "available", "horario", "horaires", "esperar", "espera",
        "attendre", "warten", "offnungszeiten", "tempo", "tiempo", "temps", "lange", "demora", "timing",
        "sunday", "sundays", "saturday", "saturdays", "weekend", "weekends", "holiday", "holidays", "tomorrow",
        "tonight", "morning", "evening", "domingo", "domingos", "sabado", "festivo", "festivos", "feriado",
        "feriados", "manana", "dimanche", "samedi", "feries", "ferie", "demain", "sonntag", "sonntags",
        "samstag", "wochenende", "feiertag*", "morgen", "domenica", "sabato", "festivi", "domani", "zondag",
        "zaterdag", "feestdag*", "until", "queue", "cola", "fila", "file", "warteschlange", "coda", "wachtrij",
        "busy", "when", "cuando", "quand", "wann", "quando", "wanneer", "fee", "cost", "costs", "kostet",
        "payant", "pago", "pagar", "cuesta",
    ]),
    (Concept::Thing, &[
        "money", "ticket", "account", "dinero", "argent", "geld", "dinheiro", "soldi", "cuenta", "compte",
        "konto", "conta", "conto", "balance", "saldo", "solde", "kontostand", "plan", "contrat", "contrato",
        "vertrag", "booking", "number", "numero", "data", "package", "mail", "order", "pedido", "commande",
        "bestellung", "encomenda", "ordine", "bestelling", "wifi", "policy", "card", "orders", "case", "cases",
        "tickets", "item", "items", "parcel", "parcels", "invoice", "invoices", "bill", "bills", "refund",
        "refunds", "payment", "payments", "delivery", "deliveries", "subscription", "password", "address",
        "appointment", "reservation", "flight", "shipment", "return", "returns", "warranty", "repair",
        "pedidos", "caso", "casos", "factura", "facturas", "reembolso", "pago", "envio", "suscripcion",
        "contrasena", "direccion", "cita", "reserva", "vuelo", "colis", "facture", "factures", "remboursement",
        "paiement", "livraison", "abonnement", "mot", "adresse", "rendez", "fall", "falle", "rechnung",
        "rechnungen", "erstattung", "zahlung", "lieferung", "paket", "passwort", "termin", "fatura", "faturas",
        "entrega", "assinatura", "senha", "endereco", "chamado", "chamados", "fattura", "rimborso", "pagamento",
        "consegna", "abbonamento", "indirizzo", "rekening", "factuur", "bestellingen", "levering", "wachtwoord",
        "adres",
    ]),
    (Concept::Zero, &[
        "zero", "cero", "null", "nul", "0", "nulo",
    ]),
    (Concept::Escalate, &[
        "escalat*", "escalation", "escalar", "escalade", "eskalier*",
    ]),
    (Concept::Help, &[
        "help", "helps", "ayuda", "ayudar", "aide", "aider", "hilfe", "helfen", "ajuda", "ajudar", "aiuto",
        "hulp",
    ]),
    (Concept::Business, &[
        "add", "remove", "change", "agregar", "anadir", "ajouter", "hinzufugen", "adicionar", "aggiungere",
        "uberweisen", "deposit", "pay", "assign", "move", "open", "cancel", "update", "reset",
    ]),
    (Concept::You, &[
        "you", "your", "u", "yall", "usted", "tu", "su", "vous", "votre", "vos", "sie", "ihr", "ihren", "ihre",
        "du", "dein", "voce", "vocês", "voces", "seu", "sua", "lei", "suo", "uw", "jij", "po",
    ]),
    (Concept::Me, &[
        "i", "me", "my", "im", "ive", "yo", "mi", "je", "moi", "mon", "ma", "ich", "mich", "mir", "mein", "eu",
        "meu", "minha", "io", "ik", "mij", "mujhe", "us", "ko",
    ]),
    (Concept::Can, &[
        "can", "could", "may", "puedo", "puede", "podria", "puis", "peux", "pouvez", "pourriez", "kann",
        "konnte", "konnen", "posso", "pode", "poderia", "mag", "kan", "cannot", "cant",
    ]),
    (Concept::Please, &[
        "please", "pls", "plz", "kindly", "favor", "porfa", "plait", "svp", "bitte", "alstublieft", "favore",
        "abeg",
    ]),
    (Concept::Question, &[
        "?",
    ]),
    (Concept::Key, &[
        "press", "pressing", "dial", "dialing", "hit", "push", "key", "option", "oprimo", "oprimir", "oprima",
        "pulso", "pulsar", "pulse", "marco", "marcar", "marque", "appuie", "appuyer", "appuyez", "tape",
        "taper", "touche", "drucke", "drucken", "wahle", "wahlen", "taste", "aperto", "apertar", "aperte",
        "digito", "digitar", "disco", "discar", "tecla", "premo", "premere", "prema", "tasto", "druk",
        "drukken", "toets",
    ]),
    (Concept::About, &[
        "about", "regarding", "concerning", "re", "sobre", "acerca", "sujet", "concernant", "propos", "uber",
        "bezuglich", "wegen", "respeito", "riguardo", "merito", "betreffende", "omtrent",
    ]),
    (Concept::Must, &[
        "have", "has", "must", "tengo", "tiene", "tienes", "faut", "dois", "doit", "muss", "musst", "mussen",
        "tenho", "bisogna", "devo", "deve", "moet", "moeten", "do", "does", "obligatorio", "necessario",
        "obligatoire", "notig", "nodig", "required",
    ]),
    // German and Dutch compounds end in the word that counts.
    (Concept::Role, &[
        "*berater", "*beraterin", "*mitarbeiter", "*betreuer", "*vertreter", "*leiter", "*agent",
        "*beauftragte", "*medewerker", "*adviseur",
    ]),
    (Concept::Desk, &[
        "*abteilung", "*dienst", "*service", "*afdeling", "*zentrale", "*center",
    ]),
];

/// The lexicon as a lookup: exact words, prefixes and suffixes by length.
pub struct Lexicon {
    exact: std::collections::HashMap<&'static str, u8, FnvBuild>,
    prefix: std::collections::HashMap<&'static str, u8, FnvBuild>,
    suffix: std::collections::HashMap<&'static str, u8, FnvBuild>,
    min_prefix: usize,
    max_prefix: usize,
    min_suffix: usize,
    max_suffix: usize,
    /// Bitmaps of the first and last three bytes of the prefixes and
    /// suffixes, hashed: most words match none, and are told so at once.
    heads: Box<[u64]>,
    tails: Box<[u64]>,
}

const EDGE_BITS: u32 = 12;

fn edge_bit(bytes: &[u8]) -> (usize, u64) {
    let h = fnv(0x3c6e_f372, bytes) & ((1 << EDGE_BITS) - 1);
    ((h / 64) as usize, 1u64 << (h % 64))
}

/// FNV-1a as a `HashMap` hasher: deterministic and fast on short words.
#[derive(Clone, Copy, Default)]
pub struct FnvBuild;
pub struct FnvHasher(u64);
impl std::hash::BuildHasher for FnvBuild {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}
impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl Lexicon {
    fn new() -> Lexicon {
        let mut lex = Lexicon {
            exact: Default::default(),
            prefix: Default::default(),
            suffix: Default::default(),
            min_prefix: usize::MAX,
            max_prefix: 0,
            min_suffix: usize::MAX,
            max_suffix: 0,
            heads: vec![0u64; 1 << (EDGE_BITS - 6)].into_boxed_slice(),
            tails: vec![0u64; 1 << (EDGE_BITS - 6)].into_boxed_slice(),
        };
        for (concept, words) in LEXICON {
            for w in *words {
                if let Some(p) = w.strip_prefix('*') {
                    let (i, bit) = edge_bit(&p.as_bytes()[p.len() - 3..]);
                    lex.tails[i] |= bit;
                    lex.min_suffix = lex.min_suffix.min(p.len());
                    lex.max_suffix = lex.max_suffix.max(p.len());
                    lex.suffix.entry(p).or_insert(*concept as u8);
                    continue;
                }
                match w.strip_suffix('*') {
                    Some(p) => {
                        let (i, bit) = edge_bit(&p.as_bytes()[..3]);
                        lex.heads[i] |= bit;
                        lex.min_prefix = lex.min_prefix.min(p.len());
                        lex.max_prefix = lex.max_prefix.max(p.len());
                        lex.prefix.entry(p).or_insert(*concept as u8);
                    }
                    None => {
                        lex.exact.entry(w).or_insert(*concept as u8);
                    }
                }
            }
        }
        lex
    }

    /// The concept of a normalised word, if it has one (0 when not).
    pub fn concept(&self, word: &str) -> u8 {
        if let Some(&c) = self.exact.get(word) {
            return c;
        }
        let bytes = word.as_bytes();
        if bytes.len() < 3 {
            return 0;
        }
        let (i, bit) = edge_bit(&bytes[..3]);
        if self.heads[i] & bit != 0 {
            let longest = self.max_prefix.min(word.len());
            for n in (self.min_prefix..=longest).rev() {
                if !word.is_char_boundary(n) {
                    continue;
                }
                if let Some(&c) = self.prefix.get(&word[..n]) {
                    return c;
                }
            }
        }
        // A suffix only of a longer word: "kundenberater", not "berater".
        let (i, bit) = edge_bit(&bytes[bytes.len() - 3..]);
        if self.tails[i] & bit != 0 {
            let longest = self.max_suffix.min(word.len().saturating_sub(1));
            for n in (self.min_suffix..=longest).rev() {
                let at = word.len() - n;
                if !word.is_char_boundary(at) {
                    continue;
                }
                if let Some(&c) = self.suffix.get(&word[at..]) {
                    return c;
                }
            }
        }
        0
    }
}

pub static LEXICON_MAP: std::sync::LazyLock<Lexicon> = std::sync::LazyLock::new(Lexicon::new);
