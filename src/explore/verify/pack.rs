//! The packed state of `verify`: an engine [`State`] as a few machine words,
//! each field in as many bits as its values need, and the sound reductions
//! that make states that behave alike pack alike.
//!
//! Without reductions ([`Layout::new`] with `reduce` off) two states pack
//! alike exactly when they are equal (the turn counter aside), so the search
//! stores the same states as [`super::reference`].
//!
//! The reductions, each an equivalence of states that no later step and no
//! property check can tell apart (so the search's verdicts and shortest
//! counterexamples are unchanged; `tests/verify_reductions.rs` checks it):
//! - **ended**: after a handoff or a hang-up every event is ignored, nothing
//!   is checked and a cooperative caller is done: all ended states are one;
//! - **failed actions**: the engine reads an action's failure on the turn
//!   it ran (to say why a guard is unmet) and, across turns, only where an
//!   exception or escalation waits for it ("if verification fails, call
//!   the 'Escalation' action anyway"): only those actions keep the flag;
//! - **counts and caller events** (counted escalations, "says it is an
//!   emergency") are always kept, each count saturating where the rules stop
//!   looking; where the agent waits for caller events, events are told
//!   apart by their text and the awaited slot is kept (a refusal reads it);
//! - **slot values**: the engine and the properties only ask whether a slot
//!   is filled (counterexamples are replayed from their events, so reports
//!   show the values), so a slot is one bit; a slot no guard, action input
//!   or property names (cone of influence) is not kept at all;
//! - **where an action succeeded**: kept only for actions that a guard or a
//!   property names with a topic; otherwise one bit;
//! - **variables** that no condition reads (an `available when`, a rule
//!   expression, a procedure's `if`), and that no kept variable is copied
//!   from, are not kept;
//! - **the awaited slot**: it changes a later step only when an answer that
//!   fills it also classifies to a topic, when the slot takes any answer,
//!   or for the cooperative caller of a liveness property; otherwise it is
//!   not kept;
//! - **silences** past the reprompts all lead to the no-input limit, so the
//!   count stops there;
//! - **silent states** (a state that has counted silences): only the
//!   silence is played from them. Every other event starts by setting the
//!   count back to zero, and nothing reads the count before that (nor do
//!   the property checks), so its successors and checks are exactly those
//!   of the same state without silences; silences change nothing else, so
//!   that state was stored first, at a smaller depth, and its successors
//!   are already there, each by a path at least as short. The states
//!   stored are the same; the transitions from silent states are one a
//!   choice of the silence turn instead of one per event;
//! - **events**: an event the engine reads exactly as an earlier one (the
//!   same slots filled, request, topic scores, blank or not, keypad or not)
//!   leads to the same states and property checks, so it is not played; an
//!   uncertain request counts as read alike only when it leans the same way.

use crate::agent::compiled::{Cond, Op, Phase, Value, VarId};
use crate::engine::{End, State};
use crate::explore::caller::Alphabet;
use crate::model::property::{Property, PropertyKind};
use crate::model::{Agent, Event};
use crate::nlu::{Request, Shape};
use crate::policy::{Guard, Req, Rule, SlotId, When};

/// Bits for a field of `n` values.
fn bits_for(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// Where the fields of a packed state go.
#[derive(Debug)]
pub struct Layout<'a> {
    reduce: bool,
    words: usize,
    end_bits: u32,
    topic_bits: u32,
    await_bits: u32,
    /// Per slot: waiting for it is kept.
    await_kept: Vec<bool>,
    silence_bits: u32,
    /// Where the silence count starts in the first word.
    silence_at: u32,
    /// Silences are counted up to this.
    silence_cap: u32,
    /// Per slot: bits, and the values it can take (without reductions).
    slots: Vec<(u32, Vec<&'a str>)>,
    /// With reductions: the slots kept (one bit each).
    kept_slots: Vec<usize>,
    /// Per action: its latest run's failure is kept (an exception or an
    /// escalation waits for it).
    failed: Vec<bool>,
    /// Per counter: bits for its saturating count.
    count_bits: Vec<u32>,
    /// Triggers said: one bit each.
    said: usize,
    /// Whether events are told apart by their text (a trigger reads it).
    text_read: bool,
    /// Per action: the topic it succeeded in is kept (else only whether).
    succeeded_topic: Vec<bool>,
    succeeded_bits: Vec<u32>,
    /// Per variable: bits, and its value sources (see [`crate::engine::Engine::var`]).
    vars: Vec<(u32, Vec<u32>)>,
}

/// The longest path a search may take (`--depth` is at most 64), so the
/// most silences a state can count without reductions.
const MAX_SILENCES: u32 = 255;

impl<'a> Layout<'a> {
    pub fn new(agent: &Agent, props: &[Property], alphabet: &'a Alphabet, reduce: bool) -> Layout<'a> {
        let (n_slots, n_actions, n_topics) = (agent.slots.len(), agent.actions.len(), agent.topics.len());
        // What guards, exceptions, preconditions and properties read.
        let mut slot_read = vec![!reduce; n_slots];
        let mut topic_read = vec![!reduce; n_actions];
        let mut failed_read = vec![!reduce; n_actions];
        for t in &agent.topics {
            for r in &t.rules {
                rule_reads(r, &mut slot_read, &mut topic_read, &mut failed_read);
            }
        }
        for a in &agent.actions {
            for &s in &a.inputs {
                slot_read[s as usize] = true;
            }
        }
        let mut liveness = false;
        for p in props {
            let r = match &p.kind {
                PropertyKind::EscalationRequires(r) | PropertyKind::ActionRequires { requires: r, .. } => r,
                PropertyKind::EscalationReachable { .. } => {
                    liveness = true;
                    continue;
                }
                // Reads only the turn's trace, which kept state decides.
                PropertyKind::Avoids(_) => continue,
            };
            for &s in &r.slots {
                slot_read[s as usize] = true;
            }
            for &(a, t) in &r.actions {
                topic_read[a as usize] |= t.is_some();
            }
        }
        let mut var_read = vec![!reduce; agent.variables.len()];
        let conditions = agent
            .topics
            .iter()
            .flat_map(|t| {
                t.available
                    .iter()
                    .chain(&t.escalation_when)
                    .chain(t.runs.iter().filter_map(|r| r.1.as_ref()))
            })
            .chain(agent.escalation.available.as_ref());
        for c in conditions {
            cond_reads(&c.expr, &mut var_read);
        }
        // Procedures: their `if`s read variables, a `set` of one variable
        // from another makes the other's value flow on.
        let steps = || {
            agent
                .topics
                .iter()
                .flat_map(|t| [Phase::Before, Phase::Instructions, Phase::After].map(|p| t.steps(p)))
                .flatten()
        };
        for s in steps() {
            if let Op::Unless { cond, .. } = &s.op {
                cond_reads(&cond.expr, &mut var_read);
            }
        }
        let copies: Vec<(VarId, VarId, u32)> = steps()
            .filter_map(|s| match s.op {
                Op::Set {
                    var,
                    value: Value::Var { var: from, default },
                } => Some((var, from, default)),
                _ => None,
            })
            .collect();
        // Until nothing changes: each round marks at least one more
        // variable, or stops.
        loop {
            let mut changed = false;
            for &(to, from, _) in &copies {
                if var_read[to as usize] && !var_read[from as usize] {
                    var_read[from as usize] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // An answer that fills the awaited slot and could classify to a topic.
        let mut await_kept: Vec<bool> = agent
            .slots
            .iter()
            .map(|s| !reduce || liveness || !agent.triggers.is_empty() || s.extractor.shape == Shape::Answer)
            .collect();
        for r in alphabet.readings.iter().flatten() {
            let classifies = agent.topics.iter().zip(&r.scores).any(|(t, &s)| {
                let s = if t.model.catch_all { s.max(agent.threshold) } else { s };
                s >= agent.threshold
            });
            if classifies {
                for &(slot, _, _) in &r.fills {
                    await_kept[slot as usize] = true;
                }
            }
        }
        let slots: Vec<(u32, Vec<&'a str>)> = (0..n_slots)
            .map(|i| {
                if reduce {
                    (u32::from(slot_read[i]), Vec::new())
                } else {
                    let values = slot_values(agent, alphabet, i as SlotId);
                    (bits_for(values.len() + 1), values)
                }
            })
            .collect();
        // Each variable's value codes: its default, the outputs that set it,
        // the constants procedures set, and what a copy brings (to a fixpoint).
        let mut codes: Vec<Vec<u32>> = vec![vec![0u32]; agent.variables.len()];
        for (a, def) in agent.actions.iter().enumerate() {
            for &(output, var) in &def.sets {
                push_code(&mut codes[var as usize], ((a as u32 + 1) << 16) | u32::from(output));
            }
        }
        for s in steps() {
            if let Op::Set {
                var,
                value: Value::Code(c),
            } = s.op
            {
                push_code(&mut codes[var as usize], c);
            }
        }
        loop {
            let mut changed = false;
            for &(to, from, default) in &copies {
                let add: Vec<u32> = codes[from as usize]
                    .iter()
                    .map(|&c| if c == 0 { default } else { c })
                    .collect();
                for c in add {
                    changed |= push_code(&mut codes[to as usize], c);
                }
            }
            if !changed {
                break;
            }
        }
        let vars: Vec<(u32, Vec<u32>)> = codes
            .into_iter()
            .enumerate()
            .map(|(v, codes)| {
                let bits = if var_read[v] { bits_for(codes.len()) } else { 0 };
                (bits, codes)
            })
            .collect();
        let topic_bits = bits_for(n_topics + 1);
        let succeeded_bits: Vec<u32> = topic_read.iter().map(|&t| if t { topic_bits } else { 1 }).collect();
        let silence_cap = if reduce {
            agent.no_input.reprompts.saturating_add(1)
        } else {
            MAX_SILENCES
        };
        let mut layout = Layout {
            reduce,
            words: 0,
            end_bits: if reduce { 1 } else { 2 },
            topic_bits,
            await_bits: if await_kept.iter().any(|&k| k) {
                bits_for(n_slots + 1)
            } else {
                0
            },
            await_kept,
            silence_bits: bits_for(silence_cap as usize + 1),
            silence_at: 0,
            silence_cap,
            kept_slots: if reduce {
                (0..n_slots).filter(|&i| slots[i].0 == 1).collect()
            } else {
                Vec::new()
            },
            slots,
            failed: failed_read,
            count_bits: agent
                .counters
                .iter()
                .map(|&(_, cap)| bits_for(usize::from(cap) + 1))
                .collect(),
            said: agent.triggers.len(),
            text_read: !agent.triggers.is_empty(),
            succeeded_topic: topic_read,
            succeeded_bits,
            vars,
        };
        let total = layout.end_bits
            + layout.topic_bits
            + layout.await_bits
            + 1
            + layout.silence_bits
            + layout.slots.iter().map(|s| s.0).sum::<u32>()
            + layout.failed.iter().filter(|&&f| f).count() as u32
            + layout.count_bits.iter().sum::<u32>()
            + layout.said as u32
            + layout.succeeded_bits.iter().sum::<u32>()
            + layout.vars.iter().map(|v| v.0).sum::<u32>();
        layout.words = (total as usize).div_ceil(64).max(1);
        layout.silence_at = layout.end_bits + layout.topic_bits + layout.await_bits + 1;
        assert!(
            layout.silence_at + layout.silence_bits <= 64,
            "the silence count is in the first word"
        );
        layout
    }

    /// Words per packed state.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Whether a packed state has ended (it has no successors).
    pub fn ended(&self, key: &[u64]) -> bool {
        key[0] & ((1 << self.end_bits) - 1) != 0
    }

    /// Whether a packed state counts silences, when reducing: its
    /// successors by any other event are those of the same state with no
    /// silence, which the search met at a smaller depth (see
    /// [`Layout::new`]'s reductions: **silent states**).
    pub fn silent(&self, key: &[u64]) -> bool {
        self.reduce && (key[0] >> self.silence_at) & ((1 << self.silence_bits) - 1) != 0
    }

    /// The bits of a key's first word that hold where the conversation is
    /// rather than what it has gathered: the topic, the awaited slot, the
    /// pending escalation and the silences. Keys equal outside them are one
    /// group for the **shared topic switches** (see [`super`]).
    pub fn control_mask(&self) -> u64 {
        let bits = self.silence_at + self.silence_bits - self.end_bits;
        ((1u64 << bits) - 1) << self.end_bits
    }

    /// The topic of a packed state that has not ended.
    pub fn topic_of(&self, key: &[u64]) -> Option<u16> {
        match (key[0] >> self.end_bits) & ((1 << self.topic_bits) - 1) {
            0 => None,
            t => Some(t as u16 - 1),
        }
    }

    /// The awaited slot of a packed state that has not ended, when kept.
    pub fn awaiting_of(&self, key: &[u64]) -> Option<u16> {
        match (key[0] >> (self.end_bits + self.topic_bits)) & ((1 << self.await_bits) - 1) {
            0 => None,
            s => Some(s as u16 - 1),
        }
    }

    /// Whether a packed state that has not ended has an escalation pending.
    pub fn pending_of(&self, key: &[u64]) -> bool {
        (key[0] >> (self.end_bits + self.topic_bits + self.await_bits)) & 1 == 1
    }

    /// Packs `st` into `key` (of [`Layout::words`] words).
    pub fn pack(&self, st: &State<'_>, key: &mut [u64]) {
        let mut w = Writer::new(key);
        if self.reduce && st.end.is_some() {
            w.put(1, 1);
            w.finish();
            return;
        }
        let end = match st.end {
            None => 0,
            Some(End::Handoff) => 1,
            Some(End::CallerHangup) => 2,
            Some(End::AgentHangup) => 3,
        };
        w.put(end, self.end_bits);
        w.put(st.topic.map_or(0, |t| u64::from(t) + 1), self.topic_bits);
        let awaiting = st.awaiting.filter(|&s| self.await_kept[s as usize]);
        w.put(awaiting.map_or(0, |s| u64::from(s) + 1), self.await_bits);
        w.put(u64::from(st.pending_escalation), 1);
        assert!(st.silences <= MAX_SILENCES, "more silences than turns");
        w.put(u64::from(st.silences.min(self.silence_cap)), self.silence_bits);
        if self.reduce {
            // A bit a slot kept, in slot order.
            for &i in &self.kept_slots {
                w.put(u64::from(st.slots[i].is_some()), 1);
            }
        }
        for (value, (bits, values)) in st.slots.iter().zip(&self.slots) {
            if self.reduce {
                break;
            }
            let code = match value {
                None => 0,
                Some(v) => {
                    1 + values
                        .iter()
                        .position(|x| x == v)
                        .expect("a slot value that no alphabet event gives") as u64
                }
            };
            w.put(code, *bits);
        }
        for (&f, &kept) in st.failed.iter().zip(&self.failed) {
            if kept {
                w.put(u64::from(f), 1);
            }
        }
        for (&c, &bits) in st.counts.iter().zip(&self.count_bits) {
            w.put(u64::from(c), bits);
        }
        for &said in &st.said {
            w.put(u64::from(said), 1);
        }
        for (a, s) in st.succeeded.iter().enumerate() {
            let code = match s {
                None => 0,
                Some(t) if self.succeeded_topic[a] => u64::from(*t) + 1,
                Some(_) => 1,
            };
            w.put(code, self.succeeded_bits[a]);
        }
        for (value, (bits, codes)) in st.vars.iter().zip(&self.vars) {
            if *bits > 0 {
                let i = codes
                    .iter()
                    .position(|c| c == value)
                    .expect("a variable value no action sets");
                w.put(i as u64, *bits);
            }
        }
        w.finish();
    }

    /// Unpacks `key` into `st` (a state of the same agent). What the
    /// reductions dropped comes back as a representative: a filled slot as
    /// an empty value, a success as one in the first topic.
    pub fn unpack(&self, key: &[u64], st: &mut State<'a>) {
        let mut r = Reader { key, pos: 0 };
        st.turn = 0;
        if self.reduce && r.get(1) == 1 {
            st.end = Some(End::CallerHangup);
            st.topic = None;
            st.awaiting = None;
            st.pending_escalation = false;
            st.silences = 0;
            st.slots.iter_mut().for_each(|s| *s = None);
            st.succeeded.iter_mut().for_each(|s| *s = None);
            st.failed.iter_mut().for_each(|f| *f = false);
            st.vars.iter_mut().for_each(|v| *v = 0);
            st.counts.iter_mut().for_each(|c| *c = 0);
            st.said.iter_mut().for_each(|s| *s = false);
            return;
        }
        if !self.reduce {
            st.end = match r.get(self.end_bits) {
                0 => None,
                1 => Some(End::Handoff),
                2 => Some(End::CallerHangup),
                _ => Some(End::AgentHangup),
            };
        } else {
            st.end = None;
        }
        st.topic = match r.get(self.topic_bits) {
            0 => None,
            t => Some(t as u16 - 1),
        };
        st.awaiting = match r.get(self.await_bits) {
            0 => None,
            s => Some(s as u16 - 1),
        };
        st.pending_escalation = r.get(1) == 1;
        st.silences = r.get(self.silence_bits) as u32;
        for (value, (bits, values)) in st.slots.iter_mut().zip(&self.slots) {
            *value = match r.get(*bits) {
                0 => None,
                _ if self.reduce => Some(""),
                i => Some(values[i as usize - 1]),
            };
        }
        for (f, &kept) in st.failed.iter_mut().zip(&self.failed) {
            *f = kept && r.get(1) == 1;
        }
        for (c, &bits) in st.counts.iter_mut().zip(&self.count_bits) {
            *c = r.get(bits) as u8;
        }
        for said in st.said.iter_mut() {
            *said = r.get(1) == 1;
        }
        for (a, s) in st.succeeded.iter_mut().enumerate() {
            *s = match r.get(self.succeeded_bits[a]) {
                0 => None,
                t if self.succeeded_topic[a] => Some(t as u16 - 1),
                _ => Some(0),
            };
        }
        for (value, (bits, codes)) in st.vars.iter_mut().zip(&self.vars) {
            *value = if *bits > 0 { codes[r.get(*bits) as usize] } else { 0 };
        }
    }

    /// Where the data a state gathered sits in a packed key (reductions on):
    /// per kept slot its bit, per action the bits of where it succeeded,
    /// as (item, first bit, bits), item `s` for slot `s` and `slots + a`
    /// for action `a`. The rest of a key is where the conversation is (see
    /// [`super::symbolic`], which keeps this part as sets).
    pub fn data_fields(&self) -> Vec<(usize, u32, u32)> {
        debug_assert!(self.reduce, "data fields are those of a reduced key");
        let mut out = Vec::new();
        let mut at = self.silence_at + self.silence_bits;
        for &i in &self.kept_slots {
            out.push((i, at, 1));
            at += 1;
        }
        at +=
            self.failed.iter().filter(|&&f| f).count() as u32 + self.count_bits.iter().sum::<u32>() + self.said as u32;
        let n_slots = self.slots.len();
        for (a, &bits) in self.succeeded_bits.iter().enumerate() {
            out.push((n_slots + a, at, bits));
            at += bits;
        }
        out
    }

    /// The alphabet's events less those the engine reads exactly as an
    /// earlier one, by index.
    pub fn distinct_events(&self, alphabet: &Alphabet) -> Vec<usize> {
        let sigs: Vec<Sig> = alphabet
            .events
            .iter()
            .zip(&alphabet.readings)
            .map(|(e, r)| Sig::of(e, r.as_ref(), self.text_read))
            .collect();
        (0..sigs.len()).filter(|&i| !sigs[..i].contains(&sigs[i])).collect()
    }
}

/// What the engine makes of an event, whatever the state, with slot
/// values left out.
#[derive(PartialEq)]
enum Sig {
    Silence,
    Hangup,
    Shortcut(String),
    Text {
        keypad: bool,
        blank: bool,
        fills: Vec<SlotId>,
        request: Request,
        /// Which way an uncertain request leans (the nominal choice).
        leans: bool,
        scores: Vec<u32>,
        /// The text itself, where a trigger reads it.
        text: Option<String>,
    },
}

impl Sig {
    fn of(e: &Event, r: Option<&crate::engine::Reading>, text_read: bool) -> Sig {
        match (e, r) {
            (Event::Silence, _) => Sig::Silence,
            (Event::Hangup, _) => Sig::Hangup,
            (Event::Caller(t) | Event::Dtmf(t), Some(r)) => Sig::Text {
                keypad: matches!(e, Event::Dtmf(_)),
                blank: t.trim().is_empty(),
                fills: r.fills.iter().map(|f| f.0).collect(),
                request: r.request.request,
                leans: r.request.leans_to_request(),
                scores: r.scores.iter().map(|s| s.to_bits()).collect(),
                text: text_read.then(|| t.to_string()),
            },
            // A keypad shortcut, or text never read (kept apart by its text).
            (Event::Caller(t) | Event::Dtmf(t), None) => Sig::Shortcut(t.to_string()),
        }
    }
}

/// Marks what a rule reads: slots (filled or not), actions by the topic
/// they succeeded in, and actions whose latest failure counts.
fn rule_reads(r: &Rule, slots: &mut [bool], topics: &mut [bool], failed: &mut [bool]) {
    let mut req = |q: &Req| match *q {
        Req::Slot(s) => slots[s as usize] = true,
        Req::Action(a, t) => topics[a as usize] |= t.is_some(),
    };
    let mut when = |w: &When, slots: &mut [bool]| match *w {
        When::Failed(a) => failed[a as usize] = true,
        When::SlotEmpty(s) => slots[s as usize] = true,
        When::Said(_) | When::Count(..) => {}
    };
    match r {
        Rule::RunAction { after: reqs, .. }
        | Rule::Precondition { requires: reqs, .. }
        | Rule::EscalateAfter { requires: reqs } => reqs.iter().for_each(&mut req),
        Rule::Require(Guard { any, unless, .. }) => {
            any.iter().for_each(&mut req);
            unless.iter().for_each(|w| when(w, slots));
        }
        Rule::EscalateWhen { when: w } => when(w, slots),
        Rule::EscalateAlways | Rule::EscalateOnFailure { .. } => {}
    }
}

/// Adds `code` to `codes` unless it is there; whether it was added.
fn push_code(codes: &mut Vec<u32>, code: u32) -> bool {
    if codes.contains(&code) {
        return false;
    }
    codes.push(code);
    true
}

/// Marks the variables a condition reads.
fn cond_reads(c: &Cond, vars: &mut [bool]) {
    c.for_each_var(&mut |v| vars[v as usize] = true);
}

/// The values a slot can take in a search without reductions: what each
/// alphabet event fills it with, and for a slot that takes any answer,
/// each event's text.
fn slot_values<'a>(agent: &Agent, alphabet: &'a Alphabet, slot: SlotId) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::new();
    for (e, r) in alphabet.events.iter().zip(&alphabet.readings) {
        let (Event::Caller(text) | Event::Dtmf(text)) = e else {
            continue;
        };
        let Some(r) = r else { continue };
        for &(s, a, b) in &r.fills {
            if s == slot {
                out.push(&text[a as usize..b as usize]);
            }
        }
        if agent.slots[slot as usize].extractor.shape == Shape::Answer && !text.trim().is_empty() {
            out.push(text.trim());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Writes fields in order into a key, a word at a time.
struct Writer<'k> {
    key: &'k mut [u64],
    /// The word being filled, and how many of its bits are.
    word: usize,
    acc: u64,
    off: u32,
}

impl<'k> Writer<'k> {
    fn new(key: &'k mut [u64]) -> Writer<'k> {
        Writer {
            key,
            word: 0,
            acc: 0,
            off: 0,
        }
    }

    #[inline(always)]
    fn put(&mut self, v: u64, bits: u32) {
        if bits == 0 {
            return;
        }
        debug_assert!(bits == 64 || v < 1 << bits, "{v} does not fit {bits} bits");
        self.acc |= v << self.off;
        let end = self.off + bits;
        if end >= 64 {
            self.key[self.word] = self.acc;
            self.word += 1;
            // The bits of `v` that did not fit the word.
            self.acc = if self.off == 0 { 0 } else { v >> (64 - self.off) };
            self.off = end - 64;
        } else {
            self.off = end;
        }
    }

    /// Writes the last word and zeroes the words not reached.
    fn finish(self) {
        let mut w = self.word;
        if self.off > 0 {
            self.key[w] = self.acc;
            w += 1;
        }
        self.key[w..].iter_mut().for_each(|x| *x = 0);
    }
}

struct Reader<'k> {
    key: &'k [u64],
    pos: u32,
}

impl Reader<'_> {
    fn get(&mut self, bits: u32) -> u64 {
        if bits == 0 {
            return 0;
        }
        let (w, o) = ((self.pos / 64) as usize, self.pos % 64);
        let mut v = self.key[w] >> o;
        if o + bits > 64 {
            v |= self.key[w + 1] << (64 - o);
        }
        self.pos += bits;
        if bits == 64 { v } else { v & ((1 << bits) - 1) }
    }
}
