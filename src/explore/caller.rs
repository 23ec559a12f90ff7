//! Caller models built from an agent config: the abstract alphabet that
//! `verify` explores (one representative event per kind), the richer palette
//! `fuzz` draws from (paraphrases, phrasings, noise), and the cooperative
//! caller of the `escalation_reachable` property.

use std::collections::HashMap;

use crate::engine::{self, Engine, Nominal, Say, State, Trace};
use crate::model::raw::Channel;
use crate::model::{Agent, Event};
use crate::nlu::{Request, Scratch, Shape};
use crate::policy::{SlotId, TopicId};

/// Direct and indirect requests for a human; the first one the agent reads
/// as a request (and as no topic, if one does) represents them all.
pub const REQUESTS: &[&str] = &[
    "I want to talk to a human agent",
    "agent please",
    "let me speak to a representative",
    "can I talk to a real person",
    "transfer me to a human",
    "representative",
    "operator",
    "I need to speak with someone, a person",
    "get me a live agent now",
    "put me through to a person please",
    "is there a human I could talk to",
    "I'd rather talk to an agent",
];

/// Refusals and negated mentions of a human: none of these is a request.
pub const NEGATED: &[&str] = &[
    "I don't need a human",
    "no, I don't want to talk to an agent",
    "I don't need a person anymore",
    "please don't transfer me to anyone",
    "no need for a representative",
    "I never asked for an agent",
];

/// Utterances an LLM could take either way (frustration without an ask):
/// the first the agent reads as uncertain stands for them in `verify`'s
/// alphabet, which then takes both readings.
pub const UNCERTAIN: &[&str] = &[
    "this bot is useless",
    "I've asked three times",
    "you're not helping",
    "this is ridiculous",
];

pub const SMALL_TALK: &[&str] = &[
    "hello",
    "thanks",
    "ok",
    "what's the weather like",
    "um",
    "sorry, what?",
    "never mind",
    "yes",
    "no",
];

/// Keys tried besides the configured ones.
const OTHER_KEYS: &[&str] = &["1", "5#"];

/// The abstract caller alphabet: one representative event per kind.
#[derive(Debug)]
pub struct Alphabet {
    pub events: Vec<Event>,
    /// What each event stands for, e.g. `request`, `topic Billing`.
    pub labels: Vec<String>,
    pub request: Option<usize>,
    /// Per slot: the event giving a valid value.
    pub slot_valid: Vec<Option<usize>>,
    /// Per topic: the event that classifies to it.
    pub topic_rep: Vec<Option<usize>>,
    /// Topics for which no utterance classifies to the topic.
    pub unreachable_topics: Vec<TopicId>,
    /// Per event: how the engine reads it, whatever the state (see
    /// [`engine::Reading`]), so that a search reads each event once.
    pub readings: Vec<Option<engine::Reading>>,
}

impl Alphabet {
    /// `harvest`: caller lines from the suites, a source of realistic
    /// utterances and slot values.
    pub fn new(agent: &Agent, harvest: &[&str]) -> Alphabet {
        let mut scratch = Scratch::default();
        let mut a = Alphabet {
            events: Vec::new(),
            labels: Vec::new(),
            request: None,
            slot_valid: vec![None; agent.slots.len()],
            topic_rep: vec![None; agent.topics.len()],
            unreachable_topics: Vec::new(),
            readings: Vec::new(),
        };
        let push = |a: &mut Alphabet, ev: Event, label: String| {
            a.events.push(ev);
            a.labels.push(label);
            a.events.len() - 1
        };
        if let Some(text) = representative_request(agent, &mut scratch) {
            a.request = Some(push(&mut a, Event::Caller(text.into()), "request for a human".into()));
        }
        if let Some(text) = NEGATED
            .iter()
            .find(|t| engine::read(agent, t, &mut scratch).0 == Request::Negated)
        {
            push(&mut a, Event::Caller((*text).into()), "negated request".into());
        }
        // The caller events the agent's rules wait for ("it is an
        // emergency", a refusal of a slot): one line each.
        for (t, text) in trigger_lines(agent) {
            push(&mut a, Event::Caller(text.into()), format!("caller event: {t}"));
        }
        let reps = topic_representatives(agent, harvest, &mut scratch);
        for ((ti, topic), rep) in agent.topics.iter().enumerate().zip(reps) {
            match rep {
                Some(u) => {
                    a.topic_rep[ti] = Some(push(&mut a, Event::Caller(u.into()), format!("topic {}", topic.name)))
                }
                None => a.unreachable_topics.push(ti as TopicId),
            }
        }
        let fillers = Fillers::new(agent);
        for (si, slot) in agent.slots.iter().enumerate() {
            if let Some(u) = valid_utterances(agent, &fillers, si as SlotId, harvest)
                .into_iter()
                .next()
            {
                a.slot_valid[si] = Some(push(&mut a, Event::Caller(u.into()), format!("{} (valid)", slot.name)));
            }
            if let Some(u) = invalid_utterance(agent, &fillers, si as SlotId) {
                push(&mut a, Event::Caller(u.into()), format!("{} (invalid)", slot.name));
            }
        }
        push(&mut a, Event::Silence, "silence".into());
        if agent.channel == Channel::Voice {
            for (digits, _) in &agent.dtmf {
                push(&mut a, Event::Dtmf(digits.as_str().into()), format!("keypad {digits}"));
            }
        }
        push(&mut a, Event::Hangup, "hangup".into());
        // Last, so that a shortest counterexample prefers the plain events.
        if let Some(text) = UNCERTAIN
            .iter()
            .find(|t| engine::read(agent, t, &mut scratch).0 == Request::Uncertain)
        {
            push(&mut a, Event::Caller((*text).into()), "uncertain request".into());
        }
        a.readings = a
            .events
            .iter()
            .map(|e| engine::reading(agent, e, &mut scratch))
            .collect();
        a
    }
}

/// A caller line for each trigger of the agent, with what it stands for.
pub fn trigger_lines(agent: &Agent) -> Vec<(String, String)> {
    agent
        .triggers
        .iter()
        .map(|t| {
            let slot = match t {
                crate::policy::Trigger::Refuses(s) => agent.slots[*s as usize].name.as_str(),
                crate::policy::Trigger::Says(_) => "",
            };
            (
                crate::transcript::describe_when(agent, &crate::policy::When::Said(t.clone())),
                crate::policy::trigger_sample(t, slot),
            )
        })
        .collect()
}

/// How the classifier reads one utterance, for choosing representatives.
#[derive(Clone, Copy)]
struct Reading {
    /// The topic it classifies to, when it is no request for a human.
    topic: Option<TopicId>,
    /// The runner-up within the margin (and above the threshold), when it
    /// is no request: the classifier's choice can reach that topic too.
    runner_up: Option<TopicId>,
}

fn reading(agent: &Agent, text: &str, scratch: &mut Scratch) -> Reading {
    let (request, topic) = engine::read(agent, text, scratch);
    if request != Request::No {
        return Reading {
            topic: None,
            runner_up: None,
        };
    }
    let runner_up = match engine::classify(agent, scratch) {
        Some((_, best, Some((r, score)))) if score >= agent.threshold && best - score <= agent.margin => Some(r),
        _ => None,
    };
    Reading { topic, runner_up }
}

/// Per topic, the utterance that represents it: the first of its own
/// utterances, then of the suite lines, then its description, that
/// classifies to it; failing that, the first of them (same order) where it
/// is the runner-up within the margin.
///
/// Each distinct text is read once and the suite lines are bucketed by the
/// topic they reach, so the cost is one classification per text rather than
/// one per text per topic (2,000 topics and 1,000 suite lines made that two
/// million classifications of 2,000 topics each).
fn topic_representatives<'a>(agent: &'a Agent, harvest: &[&'a str], scratch: &mut Scratch) -> Vec<Option<&'a str>> {
    let mut cache: HashMap<&str, Reading> = HashMap::new();
    let mut read = |text: &'a str| *cache.entry(text).or_insert_with(|| reading(agent, text, scratch));
    let n = agent.topics.len();
    // The first suite line that reaches each topic, directly or as runner-up.
    let (mut line_direct, mut line_runner_up) = (vec![None; n], vec![None; n]);
    for &line in harvest {
        let r = read(line);
        if let Some(t) = r.topic {
            line_direct[t as usize].get_or_insert(line);
        }
        if let Some(t) = r.runner_up {
            line_runner_up[t as usize].get_or_insert(line);
        }
    }
    let mut out = Vec::with_capacity(n);
    for (ti, topic) in agent.topics.iter().enumerate() {
        let t = Some(ti as TopicId);
        let own = || {
            topic
                .utterances
                .iter()
                .map(String::as_str)
                .filter(|u| super::is_sample(u))
        };
        let description = Some(topic.description.as_str()).filter(|d| !d.is_empty() && super::is_sample(d));
        let direct = own()
            .find(|u| read(u).topic == t)
            .or(line_direct[ti])
            .or_else(|| description.filter(|d| read(d).topic == t));
        let found = direct.or_else(|| {
            own()
                .find(|u| read(u).runner_up == t)
                .or(line_runner_up[ti])
                .or_else(|| description.filter(|d| read(d).runner_up == t))
        });
        out.push(found);
    }
    out
}

fn representative_request(agent: &Agent, scratch: &mut Scratch) -> Option<&'static str> {
    let reads: Vec<(&str, (Request, Option<TopicId>))> = REQUESTS
        .iter()
        .map(|t| (*t, engine::read(agent, t, scratch)))
        .filter(|(_, r)| r.0 == Request::Yes)
        .collect();
    reads
        .iter()
        .find(|(_, r)| r.1.is_none())
        .or(reads.first())
        .map(|(t, _)| *t)
}

/// The slots' extractors, each distinct one once. Whether a text fills a
/// slot, and no other, is asked of every candidate utterance of every slot;
/// scanning every slot for each made the set-up quadratic, and an agent read
/// from metadata has its inputs as slots of a few kinds (20,000 of them took
/// fuzz a minute before the first case).
pub struct Fillers<'a> {
    /// Each distinct extractor and how many slots have it.
    distinct: Vec<(&'a crate::nlu::Extractor, usize)>,
    /// Per slot, its extractor's index in `distinct`.
    of_slot: Vec<usize>,
}

impl<'a> Fillers<'a> {
    pub fn new(agent: &'a Agent) -> Fillers<'a> {
        let mut index: HashMap<(Shape, &str), usize> = HashMap::new();
        let mut distinct: Vec<(&crate::nlu::Extractor, usize)> = Vec::new();
        let of_slot = agent
            .slots
            .iter()
            .map(|s| {
                // The shape and the regex source decide what an extractor finds.
                let key = (s.extractor.shape, s.extractor.source());
                let i = *index.entry(key).or_insert_with(|| {
                    distinct.push((&s.extractor, 0));
                    distinct.len() - 1
                });
                distinct[i].1 += 1;
                i
            })
            .collect();
        Fillers { distinct, of_slot }
    }

    /// Whether no slot takes a value from `text`.
    fn none(&self, text: &str) -> bool {
        self.distinct.iter().all(|(e, _)| e.find(text).is_none())
    }

    /// Whether `text` fills `slot` and no other slot.
    fn only(&self, slot: SlotId, text: &str) -> bool {
        let own = self.of_slot[slot as usize];
        self.distinct[own].1 == 1
            && self
                .distinct
                .iter()
                .enumerate()
                .all(|(i, (e, _))| (i == own) == e.find(text).is_some())
    }
}

/// Utterances that give a valid value for the slot, the plainest first.
pub fn valid_utterances(agent: &Agent, fillers: &Fillers<'_>, slot: SlotId, harvest: &[&str]) -> Vec<String> {
    let s = &agent.slots[slot as usize];
    let name = crate::model::agent::humanize(&s.name);
    let mut values: Vec<String> = match s.extractor.shape {
        Shape::Email => vec!["jane.doe@example.com".into(), "Sam_Lee+orders@mail.example.org".into()],
        Shape::Phone => vec!["+1 555 010 4477".into(), "(555) 010-9999".into()],
        Shape::Digits => vec!["4417".into(), "90210".into()],
        // Any answer fills it; a plain one that reads as no request.
        Shape::Answer => vec!["ABC-1234".into()],
        Shape::Pattern => Vec::new(),
    };
    // A suite line that gives the value is a valid answer as it stands (a
    // pattern may need its context: "ticket #12345" captures only 12345).
    // (Sets, not list scans: a thousand suite lines may each give a value.)
    let mut lines: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = values.iter().cloned().collect();
    for line in harvest {
        if let Some((a, b)) = s.extractor.find(line) {
            let v = &line[a..b];
            if seen.insert(v.to_string()) {
                values.push(v.to_string());
            }
            lines.push(line.to_string());
        }
    }
    if s.extractor.shape == Shape::Pattern {
        values.extend(generated_values(s.extractor.source()));
    }
    // Only the slot's own value: another slot filled by the same words
    // would make the event stand for two.
    let only_this = |u: &String| fillers.only(slot, u);
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let wrapped = values
        .iter()
        .flat_map(|v| [format!("it's {v}"), v.clone(), format!("my {name} is {v}")]);
    for u in wrapped.chain(lines) {
        if !seen.contains(&u) && only_this(&u) {
            seen.insert(u.clone());
            out.push(u);
        }
    }
    out
}

/// The most capture groups a slot pattern may have for values to be
/// generated from it. Only the first group is the value; finding it in a
/// text that matches costs time in proportion to the text's length times
/// the pattern's size times the number of groups, so that with 1,000 groups
/// a single look at a generated value takes most of a second (5,000: four
/// minutes), and the search looks at every caller line.
pub const MAX_PATTERN_GROUPS: usize = 32;

/// The largest slot pattern, in generator nodes, that values are generated
/// from: each literal, class, group, concatenation and alternation counts
/// one, and a repetition counts its body as many times as the generator may
/// repeat it (its maximum; 32 for `*` and `+`, twice the minimum for
/// `{n,}`). Realistic patterns (`T-[0-9]{4}`, an email shape) count under
/// a hundred.
pub const MAX_PATTERN_SIZE: u64 = 1_000;

/// Why values are not generated from a slot pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooComplex {
    Groups(usize),
    Size(u64),
}

impl std::fmt::Display for TooComplex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooComplex::Groups(n) => write!(f, "{n} capture groups; the limit is {MAX_PATTERN_GROUPS}"),
            TooComplex::Size(n) => write!(
                f,
                "{} generator nodes; the limit is {MAX_PATTERN_SIZE}",
                if *n == u64::MAX {
                    "too many".to_string()
                } else {
                    n.to_string()
                }
            ),
        }
    }
}

/// The pattern values are generated from: anchors and word boundaries left
/// out (the generator cannot make them; the value is wrapped in words anyway).
fn generation_source(pattern: &str) -> String {
    pattern.replace("\\b", "").replace(['^', '$'], "")
}

/// Whether a slot pattern is beyond the generation limits, measured on its
/// syntax tree before any value is generated. `None` also when the pattern
/// cannot be generated from at all (then no values are).
pub fn too_complex(pattern: &str) -> Option<TooComplex> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(&generation_source(pattern))
        .ok()?;
    check_hir(&hir).err()
}

fn check_hir(hir: &regex_syntax::hir::Hir) -> Result<(), TooComplex> {
    let groups = hir.properties().explicit_captures_len();
    if groups > MAX_PATTERN_GROUPS {
        return Err(TooComplex::Groups(groups));
    }
    match generator_size(hir) {
        n if n > MAX_PATTERN_SIZE => Err(TooComplex::Size(n)),
        _ => Ok(()),
    }
}

/// The size of proptest's generator for `hir` (see [`MAX_PATTERN_SIZE`]).
/// The parser's nesting limit bounds the recursion.
fn generator_size(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => 1,
        HirKind::Capture(c) => generator_size(&c.sub).saturating_add(1),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().fold(1u64, |n, s| n.saturating_add(generator_size(s)))
        }
        HirKind::Repetition(r) => {
            let times = match (r.min, r.max) {
                (0 | 1, None) => 32,
                (min, None) => u64::from(min) * 2,
                (_, Some(max)) => u64::from(max),
            };
            generator_size(&r.sub).saturating_mul(times).saturating_add(1)
        }
    }
}

/// Values for a `pattern` slot made from the pattern itself, with a fixed
/// seed; none when the pattern is beyond the limits (see [`too_complex`]).
fn generated_values(pattern: &str) -> Vec<String> {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .build()
        .parse(&generation_source(pattern))
    else {
        return Vec::new();
    };
    if check_hir(&hir).is_err() {
        return Vec::new();
    }
    // `\d` and `\w` take any script's digits and letters: ASCII reads better
    // in a transcript, so each class keeps its ASCII part when it has one.
    let Ok(strategy) = proptest::string::string_regex_parsed(&ascii_where_possible(hir)) else {
        return Vec::new();
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..8)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .filter(|v| !v.trim().is_empty() && !v.contains(char::is_control))
        .collect()
}

/// The expression with each character class narrowed to its printable
/// ASCII part, where it has one (a class of only other characters stays).
fn ascii_where_possible(hir: regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};
    let ascii = ClassUnicode::new([ClassUnicodeRange::new(' ', '~')]);
    match hir.into_kind() {
        HirKind::Class(Class::Unicode(mut c)) => {
            let all = c.clone();
            c.intersect(&ascii);
            Hir::class(Class::Unicode(if c.ranges().is_empty() { all } else { c }))
        }
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(ascii_where_possible(*r.sub)),
            ..r
        }),
        HirKind::Capture(mut c) => {
            c.sub = Box::new(ascii_where_possible(*c.sub));
            Hir::capture(c)
        }
        HirKind::Concat(v) => Hir::concat(v.into_iter().map(ascii_where_possible).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.into_iter().map(ascii_where_possible).collect()),
        other => match other {
            HirKind::Empty => Hir::empty(),
            HirKind::Literal(l) => Hir::literal(l.0),
            HirKind::Class(c) => Hir::class(c),
            HirKind::Look(l) => Hir::look(l),
            _ => Hir::empty(),
        },
    }
}

/// An answer that mentions the slot but gives no valid value.
pub fn invalid_utterance(agent: &Agent, fillers: &Fillers<'_>, slot: SlotId) -> Option<String> {
    let s = &agent.slots[slot as usize];
    let name = crate::model::agent::humanize(&s.name);
    [
        format!("my {name} is 12"),
        format!("I don't know my {name}"),
        format!("my {name} is jane at example"),
    ]
    .into_iter()
    .find(|u| fillers.none(u))
}

/// Noise of the kind automatic speech recognition and hurried typing add.
pub const NOISE_KINDS: usize = 8;

/// Variant `kind` of an utterance; 0 is the utterance itself.
pub fn noisy(text: &str, kind: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    match kind {
        1 => text.to_lowercase(),
        2 => text.to_uppercase(),
        3 => format!("um, {text}"),
        4 => format!("{text} please"),
        5 if words.len() > 2 => {
            let mid = words.len() / 2;
            words
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != mid)
                .map(|(_, w)| *w)
                .collect::<Vec<_>>()
                .join(" ")
        }
        6 => {
            // Swap two letters in the middle of the longest word.
            let Some(longest) = words.iter().copied().max_by_key(|w| w.len()) else {
                return text.to_string();
            };
            let mut chars: Vec<char> = longest.chars().collect();
            if chars.len() >= 4 {
                let m = chars.len() / 2;
                chars.swap(m - 1, m);
            }
            let typo: String = chars.into_iter().collect();
            text.replacen(longest, &typo, 1)
        }
        7 if words.len() > 1 => words[1..].join(" "),
        _ => text.to_string(),
    }
}

/// A group of events the fuzzer draws from, with its weight.
#[derive(Debug)]
pub struct Group {
    pub name: &'static str,
    pub weight: u32,
    /// Per item: its noise variants (one for non-text events).
    pub items: Vec<Vec<Event>>,
}

/// Everything the fuzzer's callers say and do, grouped; the first group and
/// the first item of each group are the plainest, which is where shrinking
/// goes.
#[derive(Debug)]
pub struct Palette {
    pub groups: Vec<Group>,
}

impl Palette {
    pub fn new(agent: &Agent, harvest: &[&str]) -> Palette {
        let texts = |list: Vec<String>| -> Vec<Vec<Event>> {
            let mut seen = std::collections::HashSet::new();
            list.into_iter()
                .filter(|t| seen.insert(t.clone()))
                .map(|t| {
                    let mut variants: Vec<Event> = Vec::with_capacity(NOISE_KINDS);
                    for k in 0..NOISE_KINDS {
                        variants.push(Event::Caller(noisy(&t, k).into()));
                    }
                    variants
                })
                .collect()
        };
        let mut scratch = Scratch::default();
        let mut requests: Vec<String> = REQUESTS.iter().map(|s| s.to_string()).collect();
        if let Some(first) = representative_request(agent, &mut scratch) {
            requests.retain(|r| r != first);
            requests.insert(0, first.to_string());
        }
        let mut topics = Vec::new();
        for t in &agent.topics {
            topics.extend(t.utterances.iter().filter(|u| super::is_sample(u)).cloned());
        }
        topics.extend(harvest.iter().map(|s| s.to_string()));
        topics.extend(
            agent
                .topics
                .iter()
                .filter(|t| !t.description.is_empty() && super::is_sample(&t.description))
                .map(|t| t.description.clone()),
        );
        let mut slots = Vec::new();
        let fillers = Fillers::new(agent);
        for si in 0..agent.slots.len() {
            slots.extend(
                valid_utterances(agent, &fillers, si as SlotId, harvest)
                    .into_iter()
                    .take(4),
            );
        }
        for si in 0..agent.slots.len() {
            slots.extend(invalid_utterance(agent, &fillers, si as SlotId));
        }
        let mut keys: Vec<Vec<Event>> = Vec::new();
        if agent.channel == Channel::Voice {
            let mut digits: Vec<&str> = agent.dtmf.iter().map(|(d, _)| d.as_str()).collect();
            digits.extend(OTHER_KEYS.iter().filter(|k| !agent.dtmf.iter().any(|(d, _)| d == *k)));
            keys = digits.into_iter().map(|d| vec![Event::Dtmf(d.into())]).collect();
        }
        let mut groups = vec![
            Group {
                name: "request",
                weight: 22,
                items: texts(requests),
            },
            Group {
                name: "topic",
                weight: 30,
                items: texts(topics),
            },
            Group {
                name: "slot",
                weight: 20,
                items: texts(slots),
            },
            Group {
                name: "caller event",
                weight: 6,
                items: texts(trigger_lines(agent).into_iter().map(|(_, t)| t).collect()),
            },
            Group {
                name: "negated",
                weight: 6,
                items: texts(NEGATED.iter().map(|s| s.to_string()).collect()),
            },
            Group {
                name: "small talk",
                weight: 5,
                items: texts(SMALL_TALK.iter().map(|s| s.to_string()).collect()),
            },
            Group {
                name: "silence",
                weight: 9,
                items: vec![vec![Event::Silence]],
            },
            Group {
                name: "keypad",
                weight: 5,
                items: keys,
            },
            Group {
                name: "hangup",
                weight: 3,
                items: vec![vec![Event::Hangup]],
            },
        ];
        groups.retain(|g| !g.items.is_empty());
        Palette { groups }
    }

    pub fn total_weight(&self) -> u32 {
        self.groups.iter().map(|g| g.weight).sum()
    }

    /// The event for a drawn `(weight point, item, noise)`.
    pub fn event(&self, point: u32, item: u16, noise: u8) -> &Event {
        let mut p = point % self.total_weight();
        let g = self
            .groups
            .iter()
            .find(|g| {
                if p < g.weight {
                    true
                } else {
                    p -= g.weight;
                    false
                }
            })
            .unwrap_or(&self.groups[0]);
        let variants = &g.items[item as usize % g.items.len()];
        &variants[noise as usize % variants.len()]
    }
}

/// The next move of a cooperative caller: answer what the agent asked for,
/// go where it sends them, else ask (again) for a human.
pub fn cooperative_move(
    alphabet: &Alphabet,
    engine: &Engine<'_>,
    state: &State<'_>,
    trace: &Trace<'_>,
) -> Option<usize> {
    let agent = engine.agent;
    if let Some(slot) = state.awaiting
        && let Some(ev) = alphabet.slot_valid[slot as usize]
    {
        return Some(ev);
    }
    let last: &[Say] = trace.turns.last().map_or(&[], |t| trace.says(t));
    let needs = last.iter().find_map(|s| match s {
        Say::NeedsAction(a) => Some(*a),
        _ => None,
    });
    // Refused because a structural condition keeps the escalation closed
    // (a rule expression, `available when`): go where an action that sets
    // what the condition reads can run.
    if last.contains(&Say::CannotTransfer)
        && let Some(ev) = gate_opener(alphabet, agent, state, trace)
    {
        return Some(ev);
    }
    // Refused a transfer here (no escalation path): go where one is, among
    // the topics the classifier may pick now.
    if last.contains(&Say::CannotTransfer)
        && let Some(ev) = agent
            .topics
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                t.can_escalate && state.topic != Some(*i as TopicId) && engine.available(state, *i as TopicId)
            })
            .find_map(|(i, _)| alphabet.topic_rep[i])
    {
        return Some(ev);
    }
    if let Some(action) = needs
        && let Some(ev) = agent
            .topics
            .iter()
            .enumerate()
            .filter(|(i, t)| t.actions.contains(&action) && state.topic != Some(*i as TopicId))
            .find_map(|(i, _)| alphabet.topic_rep[i])
    {
        return Some(ev);
    }
    alphabet.request
}

/// Where a cooperative caller goes when the last turn found the escalation
/// closed by a condition on variables: the topic of an action, not yet
/// succeeded, that sets a variable the condition reads.
fn gate_opener(alphabet: &Alphabet, agent: &Agent, state: &State<'_>, trace: &Trace<'_>) -> Option<usize> {
    let turn = trace.turns.last()?;
    let cond = trace.notes(turn).iter().find_map(|n| match *n {
        engine::Note::Unavailable { topic: None } => agent.escalation.available.as_ref(),
        engine::Note::EscalationUnavailable { topic } => agent.topics[topic as usize].escalation_when.as_ref(),
        _ => None,
    })?;
    let mut vars = Vec::new();
    cond.expr.for_each_var(&mut |v| vars.push(v));
    let opener = (agent.actions.iter().enumerate()).find(|(a, def)| {
        state.succeeded_in(*a as crate::policy::ActionId).is_none() && def.sets.iter().any(|&(_, v)| vars.contains(&v))
    })?;
    let action = opener.0 as crate::policy::ActionId;
    (agent.topics.iter().enumerate())
        .filter(|(_, t)| t.actions.contains(&action))
        .find_map(|(i, _)| alphabet.topic_rep[i])
}

/// Plays a cooperative caller from `state` for up to `within` turns with
/// the fixtures' outcomes. `Ok` when a handoff happens (or happened
/// already); otherwise the events the caller tried, by alphabet index.
pub fn cooperative<'s>(
    engine: &Engine<'_>,
    state: &State<'s>,
    alphabet: &'s Alphabet,
    within: u32,
) -> Result<(), Vec<usize>> {
    let mut st = state.clone();
    let mut tried = Vec::new();
    let handed_off = cooperative_in(
        engine,
        alphabet,
        within,
        &mut st,
        &mut Trace::default(),
        &mut Scratch::default(),
        |ev| tried.push(ev),
    );
    if handed_off { Ok(()) } else { Err(tried) }
}

/// [`cooperative`] in the caller's buffers: plays from `st` (which it
/// changes) with `trace` cleared first; `tried` hears of each event tried.
/// Whether a handoff happens (or happened already).
pub fn cooperative_in<'s>(
    engine: &Engine<'_>,
    alphabet: &'s Alphabet,
    within: u32,
    st: &mut State<'s>,
    trace: &mut Trace<'s>,
    scratch: &mut Scratch,
    mut tried: impl FnMut(usize),
) -> bool {
    if st.end.is_some() {
        return true;
    }
    trace.clear();
    for _ in 0..within {
        let Some(ev) = cooperative_move(alphabet, engine, st, trace) else {
            break;
        };
        tried(ev);
        engine.step_read(
            st,
            &alphabet.events[ev],
            alphabet.readings[ev].as_ref(),
            trace,
            scratch,
            &mut Nominal,
        );
        if trace.handoff.is_some() {
            return true;
        }
        if st.end.is_some() {
            break;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// How a representative was chosen, in the reference below: by which
    /// rule, and from the topic's own utterances (0), the suite lines (1) or
    /// the description (2).
    type How = (Rule, u8);

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Rule {
        Direct,
        RunnerUp,
    }

    /// The choice as it was made before the readings were shared: every
    /// candidate of every topic read again, in order.
    fn reference(agent: &Agent, harvest: &[&str]) -> Vec<Option<(String, How)>> {
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        for (ti, topic) in agent.topics.iter().enumerate() {
            let ti = ti as TopicId;
            let own: Vec<String> = topic
                .utterances
                .iter()
                .filter(|u| crate::explore::is_sample(u))
                .cloned()
                .collect();
            let mut cands = own.clone();
            cands.extend(harvest.iter().map(|s| s.to_string()));
            if !topic.description.is_empty() && crate::explore::is_sample(&topic.description) {
                cands.push(topic.description.clone());
            }
            let source = |i: usize| {
                if i < own.len() {
                    0
                } else if i < own.len() + harvest.len() {
                    1
                } else {
                    2
                }
            };
            let direct = cands
                .iter()
                .position(|u| engine::read(agent, u, &mut scratch) == (Request::No, Some(ti)))
                .map(|i| (cands[i].clone(), (Rule::Direct, source(i))));
            let runner_up = || {
                let mut scratch = Scratch::default();
                cands
                    .iter()
                    .position(|u| {
                        engine::read(agent, u, &mut scratch).0 == Request::No
                            && matches!(
                                engine::classify(agent, &scratch),
                                Some((_, best, Some((r, score))))
                                    if r == ti && score >= agent.threshold && best - score <= agent.margin
                            )
                    })
                    .map(|i| (cands[i].clone(), (Rule::RunnerUp, source(i))))
            };
            out.push(direct.or_else(runner_up));
        }
        out
    }

    fn same_as_reference(agent: &Agent, harvest: &[&str]) -> Vec<How> {
        let want = reference(agent, harvest);
        let got = topic_representatives(agent, harvest, &mut Scratch::default());
        let want_texts: Vec<Option<&str>> = want.iter().map(|w| w.as_ref().map(|(t, _)| t.as_str())).collect();
        assert_eq!(got, want_texts, "agent {}", agent.name);
        want.into_iter().flatten().map(|(_, how)| how).collect()
    }

    /// Each distinct extractor is asked once, with the answers a scan of
    /// every slot gave.
    #[test]
    fn fillers_answer_as_a_scan_of_every_slot() {
        let yaml = "agent: A\nescalation: { flow: F }\nslots:\n  e1: { kind: email }\n  e2: { kind: email }\n  p: { kind: phone }\n  d: { kind: digits }\n  t: { pattern: 'T-(\\d{4})' }\n  u: { pattern: 'U-(\\d{4})' }\n  u2: { pattern: 'U-(\\d{4})' }\ntopics:\n  - name: T\n";
        let agent = Agent::from_yaml(Path::new("a.yaml"), yaml).unwrap();
        let fillers = Fillers::new(&agent);
        assert_eq!(fillers.distinct.len(), 5);
        let texts = [
            "my email is a@b.co",
            "call +1 555 010 4477",
            "4417",
            "ticket T-1234",
            "ticket U-1234",
            "T-1234 and 99",
            "nothing at all",
            "my e1 is 12",
        ];
        for t in texts {
            let none = agent.slots.iter().all(|o| o.extractor.find(t).is_none());
            assert_eq!(fillers.none(t), none, "{t}");
            for si in 0..agent.slots.len() {
                let only = agent
                    .slots
                    .iter()
                    .enumerate()
                    .all(|(i, o)| (i == si) == o.extractor.find(t).is_some());
                assert_eq!(fillers.only(si as SlotId, t), only, "{t} for {}", agent.slots[si].name);
            }
        }
        // 20,000 slots of one kind are one extractor.
        let mut many = String::from("agent: M\nescalation: { flow: F }\nslots:\n");
        for i in 0..20_000 {
            many.push_str(&format!("  s{i}: {{ kind: email }}\n"));
        }
        many.push_str("topics:\n  - name: T\n");
        let agent = Agent::from_yaml(Path::new("m.yaml"), &many).unwrap();
        assert_eq!(Fillers::new(&agent).distinct.len(), 1);
    }

    #[test]
    fn representatives_are_chosen_as_before_on_the_shipped_agents() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let suites = crate::model::load_suites(&[root.join("suites"), root.join("fixtures/mutants")]).unwrap();
        for suite in &suites {
            same_as_reference(&suite.agent, &crate::explore::harvest(suite));
        }
    }

    #[test]
    fn representatives_are_chosen_as_before_where_topics_share_words() {
        // Small agents over a few shared words, so that utterances reach
        // other topics, ties put topics second within the margin, and suite
        // lines and descriptions are needed: every rule and every source
        // is exercised.
        const WORDS: &[&str] = &["order", "refund", "card", "late", "broken", "store"];
        let mut seed = 0x9e37_79b9_u32;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as usize % n
        };
        let phrase = |next: &mut dyn FnMut(usize) -> usize| {
            let k = 1 + next(3);
            (0..k).map(|_| WORDS[next(WORDS.len())]).collect::<Vec<_>>().join(" ")
        };
        let mut seen: Vec<How> = Vec::new();
        for round in 0..200 {
            let mut yaml = format!("agent: A{round}\nescalation: {{ flow: F }}\ntopics:\n");
            for t in 0..8 {
                let utterances: Vec<String> = (0..next(3)).map(|_| format!("{:?}", phrase(&mut next))).collect();
                let description = if next(2) == 0 { phrase(&mut next) } else { String::new() };
                yaml.push_str(&format!(
                    "  - name: T{t}\n    description: \"{description}\"\n    utterances: [{}]\n",
                    utterances.join(", ")
                ));
            }
            let agent = Agent::from_yaml(Path::new("a.yaml"), &yaml).unwrap();
            let harvest: Vec<String> = (0..next(12)).map(|_| phrase(&mut next)).collect();
            let harvest: Vec<&str> = harvest.iter().map(String::as_str).collect();
            for how in same_as_reference(&agent, &harvest) {
                if !seen.contains(&how) {
                    seen.push(how);
                }
            }
        }
        for rule in [Rule::Direct, Rule::RunnerUp] {
            for source in 0..3 {
                assert!(
                    seen.contains(&(rule, source)),
                    "never chosen by {rule:?} from source {source}: {seen:?}"
                );
            }
        }
    }

    #[test]
    fn realistic_patterns_are_within_the_generation_limits() {
        for p in [
            r"T-[0-9]{4}",
            r"\b(\d{8})\b",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
            r"(?:\+?1[-. ]?)?\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}",
            r"ticket #(\d+)",
        ] {
            assert_eq!(too_complex(p), None, "{p}");
            assert!(!generated_values(p).is_empty(), "{p}");
        }
    }

    #[test]
    fn patterns_beyond_the_limits_are_measured_not_generated() {
        let groups = "(a)".repeat(5000);
        assert_eq!(too_complex(&groups), Some(TooComplex::Groups(5000)));
        let at_limit = "(a)".repeat(MAX_PATTERN_GROUPS);
        assert_eq!(too_complex(&at_limit), None);
        assert_eq!(
            too_complex(&"(a)".repeat(MAX_PATTERN_GROUPS + 1)),
            Some(TooComplex::Groups(MAX_PATTERN_GROUPS + 1))
        );
        // Repetition multiplies: 100 x (100 x one class + 1) + 1.
        assert_eq!(too_complex(r"(?:\w{100}){100}"), Some(TooComplex::Size(10_101)));
        assert_eq!(too_complex(r"\w{999}"), None);
        assert_eq!(too_complex(r"\w{1000}"), Some(TooComplex::Size(1001)));
        // Nested past what a u64 counts: the count saturates, never wraps.
        let nested = (0..7).fold(r"\w".to_string(), |p, _| format!("(?:{p}){{1000}}"));
        assert_eq!(too_complex(&nested), Some(TooComplex::Size(u64::MAX)));
        assert_eq!(
            TooComplex::Size(u64::MAX).to_string(),
            "too many generator nodes; the limit is 1000"
        );
        for p in [&groups, &nested] {
            let t = std::time::Instant::now();
            assert!(generated_values(p).is_empty());
            assert!(t.elapsed() < std::time::Duration::from_secs(1), "{:?}", t.elapsed());
        }
    }
}
