//! Exhaustive bounded verification: breadth-first over the abstract caller
//! alphabet and every engine choice, with the engine's states deduplicated.
//! Every transition out of every reachable state is checked, so a safety
//! property that holds here holds on every path up to the depth; when the
//! reachable states close before the bound, on paths of any length (over
//! this alphabet). Breadth-first order makes the first counterexample of
//! each property a shortest one.
//!
//! How it is fast (see [`pack`] for the state encoding and its reductions):
//! - each state is stored once, packed into a few machine words in one
//!   arena, with its parent, event and choice word for the counterexample;
//!   a hash table of indices into the arena (Fx hash) deduplicates them
//!   (a key of one word, the usual case, is kept in the table itself, so
//!   that a lookup reads no arena);
//! - each alphabet event is read once ([`crate::engine::Reading`]);
//! - a layer is expanded in parallel in blocks, and each block is merged in
//!   frontier order, so that state numbers, counts and the counterexamples
//!   found are those of a one-thread search on any thread count.
//!
//! Where it applies (reductions on, no liveness property), the search keeps
//! what a conversation gathered as sets instead ([`symbolic`]): the same
//! states, verdicts and shortest lengths, at a cost that grows with what a
//! turn reads rather than with the number of states.
//!
//! [`reference`] is the plain search every reduction is tested against.

mod bdd;
pub mod pack;
mod symbolic;

use std::hash::BuildHasher;
use std::time::Instant;

use hashbrown::HashTable;
use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

use super::caller::{self, Alphabet};
use super::{Branching, Level, Stats, SuiteSearch, counterexample};
use crate::check::property::check_turn;
use crate::engine::{Engine, State, Trace};
use crate::model::property::{Property, PropertyKind};
use crate::model::raw::DtmfAction;
use crate::model::{Event, Suite};
use crate::nlu::{Request, Scratch, Shape};
use pack::Layout;

#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub depth: u32,
    /// Never store more than this many distinct states: the search stops at
    /// the first new state past it, and the result then holds only for the
    /// depths fully explored. The symbolic search counts the live nodes of
    /// its sets instead, after each layer, with the moves it learnt (which
    /// it drops first; see [`symbolic`]).
    pub max_states: u64,
    /// Apply the sound reductions of [`pack`] (the default). Off, states are
    /// the engine's states exactly, as in [`reference`].
    pub reduce: bool,
    /// Explore an LLM that ignores its instructions (calls any tool the
    /// structure makes available, unasked): the search behind the
    /// assurance levels. Off, the LLM obeys the instructions baton compiled.
    pub unbound: bool,
    /// Keep what a conversation gathered (filled slots, actions done) as
    /// sets ([`symbolic`]; the default where it applies: searches with
    /// reductions and no liveness property). Off, states are stored one by
    /// one.
    pub symbolic: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            depth: 12,
            max_states: 500_000,
            reduce: true,
            unbound: false,
            symbolic: true,
        }
    }
}

/// One finished layer, for progress reports.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    pub depth: u32,
    /// States stored so far.
    pub states: u64,
    /// Seconds since the search started.
    pub secs: f64,
}

/// What one search found, before counterexamples are built.
pub struct Found {
    pub stats: Stats,
    /// Per property: the shortest path (events by alphabet index, choice words).
    pub paths: Vec<Option<Path>>,
}

/// Events by alphabet index and the choice word of each turn.
pub type Path = (Vec<usize>, Vec<u32>);

/// Frontier states expanded between two merges: bounds the memory the
/// candidate successors take.
const BLOCK: u32 = 1 << 14;
/// Frontier states one worker expands in one go.
const CHUNK: u32 = 64;

/// The stored states: packed words in one arena, with how each was reached.
struct Store {
    words: usize,
    arena: Vec<u64>,
    parent: Vec<u32>,
    event: Vec<u16>,
    bits: Vec<u32>,
    table: HashTable<u32>,
    /// One-word keys are kept in a table of their own: a lookup reads no
    /// arena.
    small: HashTable<u64>,
    /// With shared topic switches: the control bits of a key's first word
    /// ([`Layout::control_mask`]), and per group of keys equal outside them,
    /// the first state stored.
    control: Option<u64>,
    groups: HashTable<u32>,
}

impl Store {
    fn new(words: usize) -> Store {
        Store {
            words,
            arena: Vec::new(),
            parent: Vec::new(),
            event: Vec::new(),
            bits: Vec::new(),
            table: HashTable::new(),
            small: HashTable::new(),
            control: None,
            groups: HashTable::new(),
        }
    }

    /// The hash of `key` with its control bits cleared.
    fn group_hash(key: &[u64], control: u64) -> u64 {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        h.write_u64(key[0] & !control);
        key[1..].iter().for_each(|&w| h.write_u64(w));
        h.finish()
    }

    fn same_group(a: &[u64], b: &[u64], control: u64) -> bool {
        a[0] & !control == b[0] & !control && a[1..] == b[1..]
    }

    /// The first state stored of `key`'s group.
    fn group_first(&self, key: &[u64]) -> Option<u32> {
        let control = self.control?;
        let (arena, w) = (&self.arena, self.words);
        self.groups
            .find(Store::group_hash(key, control), |&id| {
                Store::same_group(&arena[id as usize * w..id as usize * w + w], key, control)
            })
            .copied()
    }

    fn len(&self) -> u32 {
        self.parent.len() as u32
    }

    fn key(&self, id: u32) -> &[u64] {
        let at = id as usize * self.words;
        &self.arena[at..at + self.words]
    }

    fn contains(&self, hash: u64, key: &[u64]) -> bool {
        let (arena, w) = (&self.arena, self.words);
        if w == 1 {
            return self.small.find(hash, |&k| k == key[0]).is_some();
        }
        self.table
            .find(hash, |&id| &arena[id as usize * w..id as usize * w + w] == key)
            .is_some()
    }

    /// Stores `key`, which is not present; its id.
    fn insert(&mut self, hash: u64, key: &[u64], parent: u32, event: u16, bits: u32) -> u32 {
        debug_assert!(!self.contains(hash, key), "stored twice");
        let id = self.len();
        self.arena.extend_from_slice(key);
        self.parent.push(parent);
        self.event.push(event);
        self.bits.push(bits);
        let (arena, w) = (&self.arena, self.words);
        if w == 1 {
            self.small
                .insert_unique(hash, key[0], |&k| FxBuildHasher.hash_one(&[k][..]));
        } else {
            self.table.insert_unique(hash, id, |&i| {
                FxBuildHasher.hash_one(&arena[i as usize * w..i as usize * w + w])
            });
        }
        if let Some(control) = self.control
            && self.group_first(key).is_none()
        {
            let arena = &self.arena;
            self.groups.insert_unique(Store::group_hash(key, control), id, |&i| {
                Store::group_hash(&arena[i as usize * w..i as usize * w + w], control)
            });
        }
        id
    }

    fn path_to(&self, mut n: u32) -> Path {
        let (mut evs, mut ws) = (Vec::new(), Vec::new());
        while n != 0 {
            evs.push(self.event[n as usize] as usize);
            ws.push(self.bits[n as usize]);
            n = self.parent[n as usize];
        }
        evs.reverse();
        ws.reverse();
        (evs, ws)
    }
}

/// A successor not stored before the block: where it came from (frontier
/// state, transition number), how, and its key's hash.
struct Candidate {
    from: u32,
    ord: u32,
    event: u16,
    bits: u32,
    hash: u64,
}

/// A transition that broke a safety property.
struct Hit {
    property: usize,
    from: u32,
    ord: u32,
    event: u16,
    bits: u32,
}

/// What a worker found expanding a run of frontier states.
#[derive(Default)]
struct Expanded {
    candidates: Vec<Candidate>,
    /// The candidates' keys, `words` each.
    keys: Vec<u64>,
    hits: Vec<Hit>,
    /// Transitions out of each frontier state, in order.
    transitions: Vec<(u32, u32)>,
}

/// A worker's buffers.
struct Worker<'s> {
    base: State<'s>,
    st: State<'s>,
    trace: Trace<'s>,
    scratch: Scratch,
    key: Vec<u64>,
}

/// Everything a search shares between its workers.
struct Search<'a> {
    engine: Engine<'a>,
    props: &'a [Property],
    alphabet: &'a Alphabet,
    layout: Layout<'a>,
    /// The events explored, by alphabet index: an event that the engine
    /// reads exactly as an earlier one is left out when reducing.
    events: Vec<usize>,
    /// The silences among `events`: all that is played from a silent state
    /// (see [`Layout::silent`]).
    silences: Vec<usize>,
    /// Per alphabet event: what it does whatever the state, when reducing
    /// (see [`Kind`]).
    kinds: Vec<Kind>,
    /// Per slot: it takes any answer.
    answers: Vec<bool>,
    liveness: Vec<(usize, u32)>,
    unbound: bool,
}

impl<'a> Search<'a> {
    fn worker(&self) -> Worker<'a> {
        Worker {
            base: self.engine.start(),
            st: self.engine.start(),
            trace: Trace::default(),
            scratch: Scratch::default(),
            key: vec![0; self.layout.words()],
        }
    }

    /// Expands frontier states `ids`: every event and every combination of
    /// the choice points each meets. `found[p]`: property `p` has a
    /// counterexample already, so its hits are not recorded.
    fn expand(&self, w: &mut Worker<'a>, store: &Store, ids: std::ops::Range<u32>, found: &[bool]) -> Expanded {
        let room = (ids.end - ids.start) as usize * self.events.len();
        let mut out = Expanded {
            candidates: Vec::with_capacity(room),
            keys: Vec::with_capacity(room * self.layout.words()),
            hits: Vec::new(),
            transitions: Vec::with_capacity((ids.end - ids.start) as usize),
        };
        // Only the first hit of a property in a run counts: runs are merged in order.
        let mut hit = found.to_vec();
        for n in ids {
            let key = store.key(n);
            if self.layout.ended(key) {
                out.transitions.push((n, 0));
                continue;
            }
            self.layout.unpack(key, &mut w.base);
            let mut ord = 0u32;
            let events = if self.layout.silent(key) {
                &self.silences
            } else {
                &self.events
            };
            // Shared topic switches: the topics whose switches an earlier
            // state of the group played as this one would.
            let shared = match store.group_first(key) {
                Some(g) if g != n && self.plain_switches(key) && self.plain_switches(store.key(g)) => {
                    Some([self.layout.topic_of(key), self.layout.topic_of(store.key(g))])
                }
                _ => None,
            };
            for &ei in events {
                let skip = match self.kinds[ei] {
                    Kind::Switch(to, or) => shared
                        .is_some_and(|stay| !stay.contains(&Some(to)) && or.is_none_or(|o| !stay.contains(&Some(o)))),
                    _ => self.left_out(key, ei, n == 0),
                };
                if skip {
                    #[cfg(debug_assertions)]
                    self.check_skip(w, store, n, ei);
                    continue;
                }
                let ev: &'a Event = &self.alphabet.events[ei];
                let reading = self.alphabet.readings[ei].as_ref();
                let mut bits = 0u32;
                loop {
                    copy_state(&mut w.st, &w.base);
                    w.trace.clear();
                    let mut chooser = Branching::fixed(bits).with_unbound(self.unbound);
                    self.engine
                        .step_read(&mut w.st, ev, reading, &mut w.trace, &mut w.scratch, &mut chooser);
                    let trace = &w.trace;
                    check_turn(self.props, &w.base, trace, &trace.turns[0], |p, _| {
                        if !hit[p] {
                            hit[p] = true;
                            out.hits.push(Hit {
                                property: p,
                                from: n,
                                ord,
                                event: ei as u16,
                                bits,
                            });
                        }
                    });
                    self.layout.pack(&w.st, &mut w.key);
                    let hash = FxBuildHasher.hash_one(&w.key[..]);
                    if !store.contains(hash, &w.key) {
                        out.candidates.push(Candidate {
                            from: n,
                            ord,
                            event: ei as u16,
                            bits,
                            hash,
                        });
                        out.keys.extend_from_slice(&w.key);
                    }
                    ord += 1;
                    // Next combination of the choice points this run met.
                    let used = chooser.points.min(31);
                    match (0..used).rev().find(|i| bits & (1 << i) == 0) {
                        Some(i) => bits = (bits & ((1 << i) - 1)) | (1 << i),
                        None => break,
                    }
                }
            }
            out.transitions.push((n, ord));
        }
        out
    }

    /// Every outcome of event `ei` from `st` (one per combination of the
    /// choice points met): the packed successor and the properties broken.
    #[cfg(debug_assertions)]
    fn outcomes(&self, st: &State<'a>, ei: usize) -> Vec<(Vec<u64>, Vec<usize>)> {
        let mut w = self.worker();
        let mut out = Vec::new();
        let mut bits = 0u32;
        loop {
            copy_state(&mut w.st, st);
            w.trace.clear();
            let mut chooser = Branching::fixed(bits).with_unbound(self.unbound);
            let (ev, reading) = (&self.alphabet.events[ei], self.alphabet.readings[ei].as_ref());
            self.engine
                .step_read(&mut w.st, ev, reading, &mut w.trace, &mut w.scratch, &mut chooser);
            let mut broken = Vec::new();
            check_turn(self.props, st, &w.trace, &w.trace.turns[0], |p, _| broken.push(p));
            self.layout.pack(&w.st, &mut w.key);
            out.push((w.key.clone(), broken));
            let used = chooser.points.min(31);
            match (0..used).rev().find(|i| bits & (1 << i) == 0) {
                Some(i) => bits = (bits & ((1 << i) - 1)) | (1 << i),
                None => break,
            }
        }
        out
    }

    /// Debug builds play the transitions a reduction leaves out and check
    /// that they lead where the reduction says, breaking nothing it does
    /// not say: an engine change that breaks a reduction's assumption
    /// fails the tests.
    #[cfg(debug_assertions)]
    fn check_skip(&self, w: &Worker<'a>, store: &Store, n: u32, ei: usize) {
        let here = self.outcomes(&w.base, ei);
        let label = &self.alphabet.labels[ei];
        match self.kinds[ei] {
            Kind::Plain => unreachable!("plain events are played"),
            Kind::Ends => assert!(
                here.iter().all(|(k, b)| self.layout.ended(k) && b.is_empty()),
                "{label} does not just end the conversation"
            ),
            Kind::Idle { .. } => assert!(
                here.iter().all(|(k, b)| k[..] == *store.key(n) && b.is_empty()),
                "{label} changes state {n}"
            ),
            Kind::Switch(..) => {
                let g = store.group_first(store.key(n)).expect("a group");
                let mut first = self.engine.start();
                self.layout.unpack(store.key(g), &mut first);
                assert_eq!(here, self.outcomes(&first, ei), "{label} from {n} and from {g}");
            }
        }
    }

    /// Whether event `ei` is not played from the packed state `key` (the
    /// start or not) by the reductions that depend on the state's place
    /// alone: hang-ups from the start only, idle events not at all (see
    /// [`Kind`]). Topic switches are shared by the explicit search alone.
    fn left_out(&self, key: &[u64], ei: usize, start: bool) -> bool {
        match self.kinds[ei] {
            Kind::Plain | Kind::Switch(..) => false,
            Kind::Ends => !start,
            Kind::Idle { negated } => {
                self.layout.awaiting_of(key).is_none_or(|s| !self.answers[s as usize])
                    && !(negated && self.layout.pending_of(key))
            }
        }
    }

    /// Whether a switch of topic from this packed state does what it does
    /// from any state with the same data: no awaited slot takes any answer.
    fn plain_switches(&self, key: &[u64]) -> bool {
        self.layout.awaiting_of(key).is_none_or(|s| !self.answers[s as usize])
    }

    /// The liveness properties (not yet refuted) that fail from state `n`.
    fn live_failures(&self, w: &mut Worker<'a>, store: &Store, n: u32, found: &[bool]) -> Vec<usize> {
        let mut out = Vec::new();
        let key = store.key(n);
        if self.layout.ended(key) {
            return out;
        }
        self.layout.unpack(key, &mut w.base);
        for &(p, within) in &self.liveness {
            if found[p] {
                continue;
            }
            copy_state(&mut w.st, &w.base);
            let (st, trace, scratch) = (&mut w.st, &mut w.trace, &mut w.scratch);
            if !caller::cooperative_in(&self.engine, self.alphabet, within, st, trace, scratch, |_| {}) {
                out.push(p);
            }
        }
        out
    }
}

/// `dst = src.clone()` without allocating: the state's vectors keep their buffers.
fn copy_state<'s>(dst: &mut State<'s>, src: &State<'s>) {
    let State {
        turn,
        topic,
        slots,
        succeeded,
        failed,
        awaiting,
        pending_escalation,
        silences,
        end,
        vars,
        said,
        counts,
        // Each state keeps its own watch.
        watch: _,
    } = src;
    dst.turn = *turn;
    dst.topic = *topic;
    dst.slots.clone_from(slots);
    dst.succeeded.clone_from(succeeded);
    dst.failed.clone_from(failed);
    dst.awaiting = *awaiting;
    dst.pending_escalation = *pending_escalation;
    dst.silences = *silences;
    dst.end = *end;
    dst.vars.clone_from(vars);
    dst.said.clone_from(said);
    dst.counts.clone_from(counts);
}

/// What an alphabet event does whatever the state, for the reductions that
/// leave transitions out (the states stored are the same):
/// - **ends**: a hang-up, or a keypad shortcut that hangs up, leads to the
///   one ended state and breaks nothing from any state: only the start
///   plays it;
/// - **idle**: an event that fills no slot, reads as no request (or as a
///   refusal, with no escalation pending), classifies to no topic and is
///   no caller event a rule waits for is not understood: the state stays as
///   it is (unless an awaited slot takes any answer) and nothing is
///   checked, so it is not played;
/// - **switch**: a plain topic switch (see [`Kind::of`]).
///
/// Debug builds play what is left out and check it (`check_skip`).
#[derive(Clone, Copy, Debug)]
enum Kind {
    Plain,
    /// The topic it enters, and the runner-up the classifier may take.
    Switch(u16, Option<u16>),
    Ends,
    Idle {
        negated: bool,
    },
}

impl Kind {
    /// A plain topic switch is a caller utterance that fills no slot, reads
    /// as no request (not even an uncertain one) and classifies to a topic,
    /// in an agent whose topics are always available and whose rules wait
    /// for no caller words. From a state in another topic it leaves that
    /// topic (dropping the pending escalation and the awaited slot) and
    /// works the new one, so what it does depends only on the data the
    /// state has gathered (slots, actions, variables, counts), unless an
    /// awaited slot takes any answer (see [`Search::plain_switches`]). The
    /// property checks read the new topic and that data only.
    fn of(agent: &crate::model::Agent, alphabet: &Alphabet, e: usize) -> Kind {
        let ev = &alphabet.events[e];
        match ev {
            Event::Hangup => return Kind::Ends,
            Event::Dtmf(d) if agent.dtmf_action(d) == Some(DtmfAction::Hangup) => return Kind::Ends,
            Event::Silence | Event::Dtmf(_) | Event::Caller(_) => {}
        }
        if !agent.triggers.is_empty() {
            return Kind::Plain;
        }
        let Some(r) = alphabet.readings[e].as_ref() else {
            return Kind::Plain;
        };
        if !r.fills.is_empty() {
            return Kind::Plain;
        }
        let above = r.all.filter(|&(_, score, _)| score >= agent.threshold);
        let request = r.request.request;
        match (ev, above) {
            (Event::Dtmf(_), _) => Kind::Idle { negated: false },
            (_, None) if matches!(request, Request::No | Request::Negated) => Kind::Idle {
                negated: request == Request::Negated,
            },
            (_, Some((to, score, runner_up)))
                if request == Request::No && agent.topics.iter().all(|t| t.available.is_none()) =>
            {
                let or = runner_up
                    .filter(|&(_, s)| s >= agent.threshold && score - s <= agent.margin)
                    .map(|(t, _)| t);
                Kind::Switch(to, or)
            }
            _ => Kind::Plain,
        }
    }
}

/// Frontier states below which a block is expanded on the calling thread:
/// handing a few states to the pool costs more than expanding them.
const SMALL: u32 = 256;

/// Explores `suite`'s agent to `opts.depth`, checking `props` (the suite's
/// properties, or some of them), storing at most `opts.max_states` states
/// (the start counts as one). `progress` hears of every finished layer.
pub fn search(
    suite: &Suite,
    props: &[Property],
    alphabet: &Alphabet,
    opts: &VerifyOptions,
    progress: &(dyn Fn(Layer) + Sync),
) -> Found {
    let started = Instant::now();
    let engine = Engine::new(&suite.agent, &suite.fixtures);
    let layout = Layout::new(&suite.agent, props, alphabet, opts.reduce);
    let events = if opts.reduce {
        layout.distinct_events(alphabet)
    } else {
        (0..alphabet.events.len()).collect()
    };
    let liveness: Vec<(usize, u32)> = props
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p.kind {
            PropertyKind::EscalationReachable { within } => Some((i, within)),
            _ => None,
        })
        .collect();
    let silences = events
        .iter()
        .copied()
        .filter(|&e| alphabet.events[e] == Event::Silence)
        .collect();
    let kinds: Vec<Kind> = (0..alphabet.events.len())
        .map(|e| {
            if opts.reduce {
                Kind::of(&suite.agent, alphabet, e)
            } else {
                Kind::Plain
            }
        })
        .collect();
    let s = Search {
        engine,
        props,
        alphabet,
        layout,
        events,
        silences,
        kinds,
        answers: suite
            .agent
            .slots
            .iter()
            .map(|s| s.extractor.shape == Shape::Answer)
            .collect(),
        liveness,
        unbound: opts.unbound,
    };
    if opts.symbolic
        && opts.reduce
        && s.liveness.is_empty()
        && let Some(found) = symbolic::search(&s, opts, started, progress)
    {
        return found;
    }
    let mut paths: Vec<Option<Path>> = vec![None; props.len()];
    let mut stats = Stats::default();
    let mut store = Store::new(s.layout.words());
    if s.kinds.iter().any(|k| matches!(k, Kind::Switch(..))) {
        store.control = Some(s.layout.control_mask());
    }
    let mut w = s.worker();
    {
        s.layout.pack(&engine.start(), &mut w.key);
        let hash = FxBuildHasher.hash_one(&w.key[..]);
        store.insert(hash, &w.key.clone(), u32::MAX, 0, 0);
    }
    let found = |paths: &[Option<Path>]| paths.iter().map(Option::is_some).collect::<Vec<bool>>();
    for p in s.live_failures(&mut w, &store, 0, &found(&paths)) {
        paths[p] = Some((Vec::new(), Vec::new()));
    }
    let mut layer = 0..store.len();
    stats.closed = true;
    'layers: for d in 1..=opts.depth {
        if paths.iter().all(Option::is_some) {
            stats.closed = false;
            break;
        }
        let next_start = store.len();
        let mut block_start = layer.start;
        while block_start < layer.end {
            let block_end = (block_start + BLOCK).min(layer.end);
            let known = found(&paths);
            let runs: Vec<std::ops::Range<u32>> = (block_start..block_end)
                .step_by(CHUNK as usize)
                .map(|a| a..(a + CHUNK).min(block_end))
                .collect();
            let store_ref = &store;
            let expanded: Vec<Expanded> = if block_end - block_start <= SMALL {
                runs.into_iter()
                    .map(|r| s.expand(&mut w, store_ref, r, &known))
                    .collect()
            } else {
                runs.into_par_iter()
                    .map_init(|| s.worker(), |w, r| s.expand(w, store_ref, r, &known))
                    .collect()
            };
            // Merged in frontier order: the numbering of a one-thread search.
            let first_new = store.len();
            let mut stop: Option<(u32, u32)> = None;
            'merge: for x in &expanded {
                for (c, key) in x.candidates.iter().zip(x.keys.chunks_exact(store.words.max(1))) {
                    if store.contains(c.hash, key) {
                        continue;
                    }
                    if u64::from(store.len()) >= opts.max_states {
                        // Storing this state would pass the limit, so the
                        // search stops here, part-way through layer d:
                        // paths of up to d - 1 turns were all checked.
                        // What was found on layer d up to here is real.
                        stop = Some((c.from, c.ord));
                        break 'merge;
                    }
                    store.insert(c.hash, key, c.from, c.event, c.bits);
                }
            }
            let before = |from: u32, ord: u32| stop.is_none_or(|s| (from, ord) <= s);
            for x in &expanded {
                for &(from, n) in &x.transitions {
                    match stop {
                        Some((f, o)) if from == f => stats.transitions += u64::from(o) + 1,
                        Some((f, _)) if from > f => {}
                        _ => stats.transitions += u64::from(n),
                    }
                }
                for h in &x.hits {
                    if before(h.from, h.ord) && paths[h.property].is_none() {
                        let (mut evs, mut ws) = store.path_to(h.from);
                        evs.push(h.event as usize);
                        ws.push(h.bits);
                        paths[h.property] = Some((evs, ws));
                    }
                }
            }
            // Liveness from every new state; the first failing one (by
            // number) gives the shortest path, as it would in order.
            if !s.liveness.is_empty() {
                let known = found(&paths);
                if s.liveness.iter().any(|&(p, _)| !known[p]) {
                    let store_ref = &store;
                    let fails: Vec<(u32, Vec<usize>)> = if store.len() - first_new <= SMALL {
                        (first_new..store.len())
                            .map(|n| (n, s.live_failures(&mut w, store_ref, n, &known)))
                            .filter(|(_, f)| !f.is_empty())
                            .collect()
                    } else {
                        (first_new..store.len())
                            .into_par_iter()
                            .map_init(|| s.worker(), |w, n| (n, s.live_failures(w, store_ref, n, &known)))
                            .filter(|(_, f)| !f.is_empty())
                            .collect()
                    };
                    for (n, props) in fails {
                        for p in props {
                            if paths[p].is_none() {
                                paths[p] = Some(store.path_to(n));
                            }
                        }
                    }
                }
            }
            if stop.is_some() {
                stats.limited = true;
                stats.closed = false;
                break 'layers;
            }
            block_start = block_end;
        }
        stats.depth = d;
        layer = next_start..store.len();
        progress(Layer {
            depth: d,
            states: u64::from(store.len()),
            secs: started.elapsed().as_secs_f64(),
        });
        if layer.is_empty() {
            break;
        }
    }
    stats.closed &= layer.is_empty();
    stats.states = u64::from(store.len());
    Found { stats, paths }
}

/// The plain search: the engine's states as they are, one thread, no
/// reduction. Slow and memory-hungry; kept as the yardstick the tests hold
/// [`search`] and its reductions to.
pub mod reference {
    use std::collections::HashSet;

    use super::*;

    struct Node<'s> {
        state: State<'s>,
        parent: u32,
        event: u16,
        bits: u32,
    }

    /// `unbound`: the LLM may ignore its instructions (see
    /// [`VerifyOptions::unbound`]).
    pub fn search(suite: &Suite, alphabet: &Alphabet, depth: u32, max_states: u64, unbound: bool) -> Found {
        let engine = Engine::new(&suite.agent, &suite.fixtures);
        let props = &suite.properties;
        let mut paths: Vec<Option<Path>> = vec![None; props.len()];
        let mut stats = Stats::default();
        let mut nodes: Vec<Node<'_>> = vec![Node {
            state: engine.start(),
            parent: u32::MAX,
            event: 0,
            bits: 0,
        }];
        let mut seen: HashSet<State<'_>> = HashSet::new();
        seen.insert(nodes[0].state.clone());
        let mut frontier: Vec<u32> = vec![0];
        let mut trace = Trace::default();
        let mut scratch = Scratch::default();
        let liveness: Vec<(usize, u32)> = props
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p.kind {
                PropertyKind::EscalationReachable { within } => Some((i, within)),
                _ => None,
            })
            .collect();
        let check_live = |node: u32, nodes: &[Node<'_>], paths: &mut Vec<Option<Path>>| {
            for &(p, within) in &liveness {
                if paths[p].is_none()
                    && caller::cooperative(&engine, &nodes[node as usize].state, alphabet, within).is_err()
                {
                    paths[p] = Some(path_to(nodes, node));
                }
            }
        };
        check_live(0, &nodes, &mut paths);
        stats.closed = true;
        'layers: for d in 1..=depth {
            if paths.iter().all(Option::is_some) {
                stats.closed = false;
                break;
            }
            let mut next = Vec::new();
            for &n in &frontier {
                if nodes[n as usize].state.end.is_some() {
                    continue;
                }
                for (ei, ev) in alphabet.events.iter().enumerate() {
                    let mut bits = 0u32;
                    loop {
                        let mut st = nodes[n as usize].state.clone();
                        trace.clear();
                        let mut chooser = Branching::fixed(bits).with_unbound(unbound);
                        engine.step(&mut st, ev, &mut trace, &mut scratch, &mut chooser);
                        stats.transitions += 1;
                        let before = &nodes[n as usize].state;
                        let mut hit = Vec::new();
                        check_turn(props, before, &trace, &trace.turns[0], |p, _| hit.push(p));
                        for p in hit {
                            if paths[p].is_none() {
                                let (mut evs, mut ws) = path_to(&nodes, n);
                                evs.push(ei);
                                ws.push(bits);
                                paths[p] = Some((evs, ws));
                            }
                        }
                        // The turn counter would make every state new.
                        st.turn = 0;
                        if !seen.contains(&st) {
                            if nodes.len() as u64 >= max_states {
                                stats.limited = true;
                                stats.closed = false;
                                break 'layers;
                            }
                            seen.insert(st.clone());
                            nodes.push(Node {
                                state: st,
                                parent: n,
                                event: ei as u16,
                                bits,
                            });
                            let id = nodes.len() as u32 - 1;
                            check_live(id, &nodes, &mut paths);
                            next.push(id);
                        }
                        let used = chooser.points.min(31);
                        match (0..used).rev().find(|i| bits & (1 << i) == 0) {
                            Some(i) => bits = (bits & ((1 << i) - 1)) | (1 << i),
                            None => break,
                        }
                    }
                }
            }
            stats.depth = d;
            frontier = next;
            if frontier.is_empty() {
                break;
            }
        }
        stats.closed &= frontier.is_empty();
        stats.states = nodes.len() as u64;
        Found { stats, paths }
    }

    fn path_to(nodes: &[Node<'_>], mut n: u32) -> Path {
        let (mut evs, mut ws) = (Vec::new(), Vec::new());
        while n != 0 && n != u32::MAX {
            let node = &nodes[n as usize];
            evs.push(node.event as usize);
            ws.push(node.bits);
            n = node.parent;
        }
        evs.reverse();
        ws.reverse();
        (evs, ws)
    }
}

/// Verifies one suite's properties and builds the counterexamples.
pub fn verify_suite(suite: &Suite, opts: &VerifyOptions) -> SuiteSearch {
    verify_suite_with(suite, opts, &|_| {})
}

/// [`verify_suite`], telling `progress` of every finished layer.
pub fn verify_suite_with(suite: &Suite, opts: &VerifyOptions, progress: &(dyn Fn(Layer) + Sync)) -> SuiteSearch {
    let start = Instant::now();
    let alphabet = super::caller_model(suite);
    let found = search(suite, &suite.properties, alphabet, opts, progress);
    let source = format!("baton verify --depth {}", opts.depth);
    let limited = found.stats.limited.then(|| {
        format!(
            "the state limit ({}) was reached: only paths of up to {} turns were checked",
            opts.max_states, found.stats.depth
        )
    });
    let mut result = SuiteSearch::finished(suite, found.stats, start, |i| {
        let (evs, ws) = found.paths[i].as_ref()?;
        let events: Vec<Event> = evs.iter().map(|&e| alphabet.events[e].clone()).collect();
        Some(counterexample(suite, i, &events, ws, alphabet, &source, false))
    });
    result.warnings.extend(limited);
    if !opts.unbound {
        assurance_levels(suite, opts, alphabet, &source, &mut result, progress);
    }
    result
}

/// The assurance level of each safety property that held: the same search
/// again, for an LLM that ignores its instructions (see
/// [`VerifyOptions::unbound`]). Liveness is left without a level: reaching
/// a human always rests on the LLM calling the tool.
fn assurance_levels(
    suite: &Suite,
    opts: &VerifyOptions,
    alphabet: &Alphabet,
    source: &str,
    result: &mut SuiteSearch,
    progress: &(dyn Fn(Layer) + Sync),
) {
    let held: Vec<usize> = (result.properties.iter().enumerate())
        .filter(|(i, p)| {
            matches!(p.outcome, super::Outcome::Held)
                && !matches!(suite.properties[*i].kind, PropertyKind::EscalationReachable { .. })
        })
        .map(|(i, _)| i)
        .collect();
    if held.is_empty() {
        return;
    }
    let props: Vec<Property> = held.iter().map(|&i| suite.properties[i].clone()).collect();
    let unbound = VerifyOptions {
        unbound: true,
        ..opts.clone()
    };
    let found = search(suite, &props, alphabet, &unbound, progress);
    let source = format!("{source}, with an LLM that ignores its instructions");
    for (k, &i) in held.iter().enumerate() {
        let level = match &found.paths[k] {
            Some((evs, ws)) => {
                let events: Vec<Event> = evs.iter().map(|&e| alphabet.events[e].clone()).collect();
                Level::Instruction(Box::new(counterexample(suite, i, &events, ws, alphabet, &source, true)))
            }
            None if found.stats.limited => Level::StructureUnknown {
                depth: found.stats.depth,
            },
            None => Level::Structure {
                depth: found.stats.depth,
                closed: found.stats.closed,
            },
        };
        result.properties[i].level = Some(level);
    }
}
