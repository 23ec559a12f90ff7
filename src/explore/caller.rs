//! Caller models built from an agent config: the abstract alphabet that
//! `verify` explores (one representative event per kind), the richer palette
//! `fuzz` draws from (paraphrases, phrasings, noise), and the cooperative
//! caller of the `escalation_reachable` property.

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
        for (ti, topic) in agent.topics.iter().enumerate() {
            let found = topic_utterances(agent, ti as TopicId, harvest)
                .into_iter()
                .find(|u| engine::read(agent, u, &mut scratch) == (Request::No, Some(ti as TopicId)));
            // Failing that, an utterance where it is the runner-up within the
            // margin reaches it through the classifier's choice.
            let found = found.or_else(|| {
                topic_utterances(agent, ti as TopicId, harvest)
                    .into_iter()
                    .find(|u| runner_up_within_margin(agent, u, ti as TopicId, &mut scratch))
            });
            match found {
                Some(u) => {
                    a.topic_rep[ti] = Some(push(&mut a, Event::Caller(u.into()), format!("topic {}", topic.name)))
                }
                None => a.unreachable_topics.push(ti as TopicId),
            }
        }
        for (si, slot) in agent.slots.iter().enumerate() {
            if let Some(u) = valid_utterances(agent, si as SlotId, harvest).into_iter().next() {
                a.slot_valid[si] = Some(push(&mut a, Event::Caller(u.into()), format!("{} (valid)", slot.name)));
            }
            if let Some(u) = invalid_utterance(agent, si as SlotId) {
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
        a.readings = a
            .events
            .iter()
            .map(|e| engine::reading(agent, e, &mut scratch))
            .collect();
        a
    }
}

/// Whether `text` is no request and ties for `topic` as the runner-up.
fn runner_up_within_margin(agent: &Agent, text: &str, topic: TopicId, scratch: &mut Scratch) -> bool {
    if engine::read(agent, text, scratch).0 != Request::No {
        return false;
    }
    matches!(
        engine::classify(agent, scratch),
        Some((_, best, Some((r, score)))) if r == topic && score >= agent.threshold && best - score <= agent.margin
    )
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

/// The topic's own utterances, then suite lines, then its description.
fn topic_utterances(agent: &Agent, t: TopicId, harvest: &[&str]) -> Vec<String> {
    let topic = &agent.topics[t as usize];
    let mut out: Vec<String> = topic.utterances.clone();
    out.extend(harvest.iter().map(|s| s.to_string()));
    if !topic.description.is_empty() {
        out.push(topic.description.clone());
    }
    out
}

/// Utterances that give a valid value for the slot, the plainest first.
pub fn valid_utterances(agent: &Agent, slot: SlotId, harvest: &[&str]) -> Vec<String> {
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
    let mut lines: Vec<String> = Vec::new();
    for line in harvest {
        if let Some((a, b)) = s.extractor.find(line) {
            let v = line[a..b].to_string();
            if !values.contains(&v) {
                values.push(v);
            }
            lines.push(line.to_string());
        }
    }
    if s.extractor.shape == Shape::Pattern {
        values.extend(generated_values(s.extractor.source()));
    }
    // Only the slot's own value: another slot filled by the same words
    // would make the event stand for two.
    let only_this = |u: &String| {
        agent
            .slots
            .iter()
            .enumerate()
            .all(|(i, o)| (i == slot as usize) == o.extractor.find(u).is_some())
    };
    let mut out: Vec<String> = Vec::new();
    let wrapped = values
        .iter()
        .flat_map(|v| [format!("it's {v}"), v.clone(), format!("my {name} is {v}")]);
    for u in wrapped.chain(lines) {
        if only_this(&u) && !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// Values for a `pattern` slot made from the pattern itself (anchors and
/// word boundaries left out), with a fixed seed.
fn generated_values(pattern: &str) -> Vec<String> {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let stripped = pattern.replace("\\b", "").replace(['^', '$'], "");
    let Ok(hir) = regex_syntax::Parser::new().parse(&stripped) else {
        return Vec::new();
    };
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
pub fn invalid_utterance(agent: &Agent, slot: SlotId) -> Option<String> {
    let s = &agent.slots[slot as usize];
    let name = crate::model::agent::humanize(&s.name);
    [
        format!("my {name} is 12"),
        format!("I don't know my {name}"),
        format!("my {name} is jane at example"),
    ]
    .into_iter()
    .find(|u| agent.slots.iter().all(|o| o.extractor.find(u).is_none()))
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
            topics.extend(t.utterances.iter().cloned());
        }
        topics.extend(harvest.iter().map(|s| s.to_string()));
        topics.extend(
            agent
                .topics
                .iter()
                .filter(|t| !t.description.is_empty())
                .map(|t| t.description.clone()),
        );
        let mut slots = Vec::new();
        for si in 0..agent.slots.len() {
            slots.extend(valid_utterances(agent, si as SlotId, harvest).into_iter().take(4));
        }
        for si in 0..agent.slots.len() {
            slots.extend(invalid_utterance(agent, si as SlotId));
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
pub fn cooperative_move(alphabet: &Alphabet, agent: &Agent, state: &State<'_>, trace: &Trace<'_>) -> Option<usize> {
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
    // Refused a transfer here (no escalation path): go where one is.
    if last.contains(&Say::CannotTransfer)
        && let Some(ev) = agent
            .topics
            .iter()
            .enumerate()
            .filter(|(i, t)| t.can_escalate && state.topic != Some(*i as TopicId))
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

/// Plays a cooperative caller from `state` for up to `within` turns with
/// the fixtures' outcomes. `Ok` when a handoff happens (or happened
/// already); otherwise the events the caller tried, by alphabet index.
pub fn cooperative<'s>(
    engine: &Engine<'_>,
    state: &State<'s>,
    alphabet: &'s Alphabet,
    within: u32,
) -> Result<(), Vec<usize>> {
    if state.end.is_some() {
        return Ok(());
    }
    let mut st = state.clone();
    let mut trace = Trace::default();
    let mut scratch = Scratch::default();
    let mut tried = Vec::new();
    for _ in 0..within {
        let Some(ev) = cooperative_move(alphabet, engine.agent, &st, &trace) else {
            break;
        };
        tried.push(ev);
        engine.step_read(
            &mut st,
            &alphabet.events[ev],
            alphabet.readings[ev].as_ref(),
            &mut trace,
            &mut scratch,
            &mut Nominal,
        );
        if trace.handoff.is_some() {
            return Ok(());
        }
        if st.end.is_some() {
            break;
        }
    }
    Err(tried)
}
