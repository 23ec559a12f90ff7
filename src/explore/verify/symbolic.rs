//! The symbolic search: where the conversation is (topic, awaited slot,
//! pending escalation, silences, variables, counts) is enumerated state by
//! state as in the explicit search, but what it has gathered (which slots
//! are filled, where actions succeeded) is kept as *sets*, one binary
//! decision diagram per place.
//!
//! Why it is exact: the engine reads a handful of those bits on a turn
//! (the active topic's guards, its actions' inputs), and a [`Watch`] on the
//! state says which. One run of the engine from one state of a set, with
//! every combination of its choice points, stands for every state of the
//! set that agrees with it on the bits any of those runs read (a *cube*):
//! they take the same path, break the same properties, write the same bits
//! with the same values and leave the others as they were. So a set is
//! split into as many cubes as the turn's reads tell apart, not into its
//! states, and 2^20 combinations of filled slots cost what the few the
//! topic reads cost.
//!
//! Breadth-first by layers as the explicit search, so a property's first
//! counterexample is a shortest one. Its path is found backwards: a state
//! new at depth `d` has a predecessor among the states new at `d - 1`,
//! found by the same cube enumeration restricted to the successors that
//! equal it. It runs on one thread in a fixed order (places and moves in
//! the order they were first learnt, events by alphabet order, cubes from
//! each set's first state), so the result
//! does not depend on the thread count. (Workers with managers of their own
//! were measured slower on two cores: each starts with an empty computed
//! table, and the search lives on what one layer's operations leave in it
//! for the next.)
//!
//! What the turns from a place do is learnt once and kept across layers
//! (a [`Relation`]: per move, the states that make it), so a layer costs an
//! image per move rather than a split of its sets and an image per outcome.
//!
//! The sets and the relations are stored in one [`Bdds`] manager, collected
//! between places and between layers; `--max-states` bounds its live nodes,
//! checked after each layer (a node stands for many states). The relations
//! go first when the limit is near (they are learnt again as needed) and
//! are not counted in the figure reported at the end, the sets' alone.
//!
//! What it does not do (the explicit search does): liveness properties
//! (their cooperative caller is played from each state one by one),
//! searches without reductions, and a limit too small for the start's set.
//! [`super::search`] picks the explicit search for those.

use hashbrown::HashMap;

use super::bdd::{Assign, Bdds, CACHE_BITS, Set};
use super::{Found, Layer, Path, Search, VerifyOptions, Worker, copy_state};
use crate::check::property::check_turn;
use crate::engine::{State, Watch};
use crate::explore::{Branching, Stats};
use crate::model::Event;

/// Garbage is collected once the nodes held pass four times the live ones,
/// and at least this many (measured on 20/20/20: 2^16 collected too often,
/// losing the computed table each time; 2^20 and more made lookups miss the
/// cache and took twice the memory).
const COLLECT_FROM: u64 = 1 << 18;

/// The nodes held past which garbage is collected, `live` nodes kept.
fn collect_above(live: u64) -> u64 {
    (4 * live).max(COLLECT_FROM)
}

/// The data part of a packed key: its fields and their variables.
struct Data {
    vars: u32,
    /// (item, first bit in the key, bits, first variable).
    fields: Vec<(usize, u32, u32, u32)>,
    /// Per item (slot, then action): its field, if kept.
    field_of: Vec<Option<usize>>,
    /// The key with every data bit set.
    mask: Vec<u64>,
}

impl Data {
    fn new(s: &Search<'_>) -> Data {
        let agent = s.engine.agent;
        let mut fields = Vec::new();
        let mut field_of = vec![None; agent.slots.len() + agent.actions.len()];
        let mut mask = vec![0u64; s.layout.words()];
        // Variable order: topic by topic, the slots and actions its guards
        // read and then its own actions, each action after the slots it
        // needs, so that what one topic reads sits together and "it
        // succeeded, so its inputs are filled" stays local (measured on
        // 20/20/20: slots first then actions took four times the nodes of
        // actions after their inputs; grouping by topic took 12% less time
        // again).
        let n_slots = agent.slots.len();
        // Per item, its place in the order (once placed).
        let mut rank: Vec<Option<usize>> = vec![None; n_slots + agent.actions.len()];
        let mut placed = 0;
        let mut push = |i: usize| {
            if rank[i].is_none() {
                rank[i] = Some(placed);
                placed += 1;
            }
        };
        let with_inputs = |push: &mut dyn FnMut(usize), a: crate::policy::ActionId| {
            for &sl in &agent.actions[a as usize].inputs {
                push(sl as usize);
            }
            push(n_slots + a as usize);
        };
        for t in &agent.topics {
            for r in &t.rules {
                if let crate::policy::Rule::Require(g) = r {
                    for q in &g.any {
                        match *q {
                            crate::policy::Req::Slot(sl) => push(sl as usize),
                            crate::policy::Req::Action(a, _) => with_inputs(&mut push, a),
                        }
                    }
                }
            }
            for &a in &t.actions {
                with_inputs(&mut push, a);
            }
        }
        for a in 0..agent.actions.len() {
            with_inputs(&mut push, a as crate::policy::ActionId);
        }
        for sl in 0..n_slots {
            push(sl);
        }
        let mut sorted = s.layout.data_fields();
        sorted.sort_by_key(|&(item, _, _)| rank[item]);
        let mut next = 0u32;
        for (item, at, bits) in sorted {
            if bits == 0 {
                continue;
            }
            field_of[item] = Some(fields.len());
            fields.push((item, at, bits, next));
            next += bits;
            for b in at..at + bits {
                mask[(b / 64) as usize] |= 1 << (b % 64);
            }
        }
        Data {
            vars: next,
            fields,
            field_of,
            mask,
        }
    }

    /// The place of `key`: its data bits cleared.
    fn place(&self, key: &[u64]) -> Vec<u64> {
        key.iter().zip(&self.mask).map(|(k, m)| k & !m).collect()
    }

    /// The data bits of `key` as a valuation.
    fn valuation(&self, key: &[u64]) -> Vec<bool> {
        let mut v = vec![false; self.vars as usize];
        for &(_, at, bits, var) in &self.fields {
            for i in 0..bits {
                let b = at + i;
                v[(var + i) as usize] = key[(b / 64) as usize] >> (b % 64) & 1 == 1;
            }
        }
        v
    }

    /// `place` with the data of `v`.
    fn join(&self, place: &[u64], v: &[bool], key: &mut [u64]) {
        key.copy_from_slice(place);
        for &(_, at, bits, var) in &self.fields {
            for i in 0..bits {
                if v[(var + i) as usize] {
                    let b = at + i;
                    key[(b / 64) as usize] |= 1 << (b % 64);
                }
            }
        }
    }

    /// The variables of `item`'s field.
    fn item_vars(&self, item: usize) -> impl Iterator<Item = u32> + '_ {
        self.field_of[item].into_iter().flat_map(move |f| {
            let (_, _, bits, var) = self.fields[f];
            var..var + bits
        })
    }
}

/// One combination of choices of a run: where it leads and what it broke.
struct Outcome {
    /// The place it leads to; `None`: the conversation ended.
    place: Option<Vec<u64>>,
    /// The variables it wrote, with their new values.
    writes: Vec<(u32, bool)>,
    bits: u32,
    broken: Vec<usize>,
}

/// One part of a set that runs an event alike, and each combination's
/// outcome.
struct Cube {
    part: Set,
    outcomes: Vec<Outcome>,
}

/// How a turn plays from a place: what the engine does and which states
/// do it alike.
struct Turns<'s, 'a> {
    s: &'s Search<'a>,
    data: Data,
}

struct Symbolic<'s, 'a> {
    t: Turns<'s, 'a>,
    b: Bdds,
    /// Places by number, in the order they were first met.
    places: Vec<Vec<u64>>,
    index: HashMap<Vec<u64>, usize>,
    /// Per place: the states reached so far.
    reached: Vec<Set>,
    /// Per depth: the places with states new at that depth, a set between
    /// those and all reached there (what is expanded, see [`search`]), and
    /// the new ones.
    layers: Vec<Vec<(usize, Set, Set)>>,
    /// Per place `p`, what its turns do, once learnt: at `2 * p` from a
    /// later turn, at `2 * p + 1` from the first turn (whose events differ:
    /// see [`Turns::events`]).
    relations: Vec<Option<Relation>>,
}

impl<'s, 'a> Turns<'s, 'a> {
    /// The events played from `place` on turn `turn` (the reductions of
    /// the explicit search that depend on the place alone).
    fn events(&self, place: &[u64], turn: u32) -> Vec<usize> {
        let s = self.s;
        if s.layout.silent(place) {
            return s.silences.clone();
        }
        // Layer 0 holds the start alone.
        (s.events.iter().copied())
            .filter(|&ei| !s.left_out(place, ei, turn == 1))
            .collect()
    }

    /// Every combination of choices of event `ei` from the state `place`
    /// with data `v`, and the literals of the cube of states that run
    /// exactly alike.
    fn runs(&self, w: &mut Worker<'a>, place: &[u64], v: &[bool], ei: usize) -> (Vec<(u32, bool)>, Vec<Outcome>) {
        let s = self.s;
        let n_items = self.data.field_of.len();
        self.data.join(place, v, &mut w.key);
        s.layout.unpack(&w.key, &mut w.base);
        w.base.watch.clear();
        let mut read = vec![false; n_items];
        let mut outcomes = Vec::new();
        let ev: &'a Event = &s.alphabet.events[ei];
        let reading = s.alphabet.readings[ei].as_ref();
        let mut bits = 0u32;
        loop {
            copy_state(&mut w.st, &w.base);
            w.st.watch.clear();
            w.trace.clear();
            let mut chooser = Branching::fixed(bits).with_unbound(s.unbound);
            s.engine
                .step_read(&mut w.st, ev, reading, &mut w.trace, &mut w.scratch, &mut chooser);
            let mut broken = Vec::new();
            check_turn(s.props, &w.base, &w.trace, &w.trace.turns[0], |p, _| broken.push(p));
            s.layout.pack(&w.st, &mut w.key);
            let outcome = if s.layout.ended(&w.key) {
                Outcome {
                    place: None,
                    writes: Vec::new(),
                    bits,
                    broken,
                }
            } else {
                let after = self.data.valuation(&w.key);
                let writes = (0..n_items)
                    .filter(|&i| w.st.watch.written(i))
                    .flat_map(|i| self.data.item_vars(i))
                    .map(|var| (var, after[var as usize]))
                    .collect();
                Outcome {
                    place: Some(self.data.place(&w.key)),
                    writes,
                    bits,
                    broken,
                }
            };
            outcomes.push(outcome);
            for (i, r) in read.iter_mut().enumerate() {
                *r |= w.st.watch.read(i) || w.base.watch.read(i);
            }
            let used = chooser.points.min(31);
            match (0..used).rev().find(|i| bits & (1 << i) == 0) {
                Some(i) => bits = (bits & ((1 << i) - 1)) | (1 << i),
                None => break,
            }
        }
        let cube = (0..n_items)
            .filter(|&i| read[i])
            .flat_map(|i| self.data.item_vars(i))
            .map(|var| (var, v[var as usize]))
            .collect();
        (cube, outcomes)
    }

    /// Splits `set` (states of `place`) into the cubes that run `ei` alike,
    /// in a fixed order.
    fn cubes(&self, b: &mut Bdds, w: &mut Worker<'a>, place: &[u64], set: Set, ei: usize) -> Vec<Cube> {
        (self.split(b, w, place, set, ei).into_iter())
            .map(|(cube, outcomes)| Cube {
                part: b.and(set, cube),
                outcomes,
            })
            .collect()
    }

    /// The cubes that cover `set` (states of `place`) and run `ei` alike,
    /// each with its runs' outcomes, in a fixed order (each from the first
    /// state of what is left). Cubes are disjoint: two states that run
    /// alike read the same bits, so their cubes are one.
    fn split(&self, b: &mut Bdds, w: &mut Worker<'a>, place: &[u64], set: Set, ei: usize) -> Vec<(Set, Vec<Outcome>)> {
        let mut out = Vec::new();
        let mut rest = set;
        while let Some(v) = b.first(rest) {
            let (literals, outcomes) = self.runs(w, place, &v, ei);
            let cube = b.cube(&literals);
            rest = b.and_not(rest, cube);
            out.push((cube, outcomes));
        }
        out
    }
}

/// What the turns from one place do, learnt as the search meets its states
/// and kept for the layers after (a transition relation, built lazily: only
/// for states the search reached).
///
/// Why: expanding a layer cube by cube costs a split of its set per cube
/// and an image and a union per outcome; most of those outcomes lead to the
/// same place with the same writes from different cubes and events (on
/// 20/20/20 with an unbound LLM, 50,000 outcomes a layer into 3,300 such
/// moves). The image of a set is the union of the images of its parts, so
/// one image per move of the union of the cubes that make it gives the same
/// states.
struct Relation {
    /// The events played from the place, in order.
    events: Vec<usize>,
    /// Per event: the states whose runs are known (a union of cubes, which
    /// are disjoint: two states that run alike read the same bits).
    known: Vec<Set>,
    /// The states known for every event.
    known_all: Set,
    moves: Vec<Move>,
    /// Per (target, writes): its move.
    index: HashMap<MoveKey, usize>,
    /// Per event and number of outcomes: the states with that many (to
    /// count transitions).
    fan: Vec<(usize, u32, Set)>,
    /// The same, summed for counting: every state has a transition per
    /// event, and these sets `weight` more each (events with one outcome
    /// left out, equal sets merged).
    extra: Vec<(Set, f64)>,
    /// The cubes whose runs break a property, in order of learning.
    breaks: Vec<Break>,
}

/// Where a move leads (`None`: the conversation ended) and what it writes.
type MoveKey = (Option<usize>, Vec<(u32, bool)>);

/// The states of a place (`from`) whose turn, by some event and choices,
/// leads to place `to` (`None`: the conversation ended) with `writes`.
struct Move {
    to: Option<usize>,
    writes: Assign,
    from: Set,
}

/// A cube whose run by `event` breaks a property: each breaking
/// combination's choices and what it broke.
struct Break {
    event: usize,
    cube: Set,
    outcomes: Vec<(u32, Vec<usize>)>,
}

impl Relation {
    fn sets_mut(&mut self) -> impl Iterator<Item = &mut Set> {
        (self.known.iter_mut())
            .chain(std::iter::once(&mut self.known_all))
            .chain(self.moves.iter_mut().map(|m| &mut m.from))
            .chain(self.fan.iter_mut().map(|f| &mut f.2))
            .chain(self.extra.iter_mut().map(|f| &mut f.0))
            .chain(self.breaks.iter_mut().map(|b| &mut b.cube))
    }
}

/// What expanding a layer found: the images of its states by the place
/// they lead to, and the first hit of each property not broken before.
struct Expansion {
    images: Vec<(usize, Set)>,
    hits: Vec<(usize, Hit)>,
    transitions: f64,
    ended: bool,
}

impl<'s, 'a> Symbolic<'s, 'a> {
    /// Expands layer `turn - 1` (its places and their sets) by every
    /// event; `ended`: the ended state is reached already; `found`: per
    /// property, whether an earlier layer broke it (its first hit stands).
    ///
    /// Garbage is collected between places once more than `above` nodes
    /// are held (the images so far kept): a layer makes many times the
    /// nodes it keeps, and lookups in a smaller table miss the cache less.
    fn expand(
        &mut self,
        w: &mut Worker<'a>,
        turn: u32,
        ended: bool,
        mut found: Vec<bool>,
        mut above: u64,
    ) -> Expansion {
        let mut out = Expansion {
            images: Vec::new(),
            hits: Vec::new(),
            transitions: 0.0,
            ended,
        };
        // Per place, its entry in `out.images`.
        let mut at: HashMap<usize, usize> = HashMap::new();
        for k in 0..self.layers[turn as usize - 1].len() {
            if self.b.held() as u64 > above {
                self.compact_keeping(&mut out.images, u64::MAX);
                above = above.max(collect_above(self.b.held() as u64));
            }
            let (p, set, fresh) = self.layers[turn as usize - 1][k];
            let r = self.learn(w, p, set, turn);
            let b = &mut self.b;
            let rel = self.relations[r].as_ref().expect("learn keeps the relation it learnt");
            // Transitions are counted from the new states only.
            out.transitions += b.count(fresh) * rel.events.len() as f64;
            for &(states, weight) in &rel.extra {
                let new = b.and(states, fresh);
                out.transitions += b.count(new) * weight;
            }
            for br in &rel.breaks {
                if br.outcomes.iter().all(|(_, broken)| broken.iter().all(|&q| found[q])) {
                    continue;
                }
                let part = b.and(set, br.cube);
                let Some(v) = b.first(part) else { continue };
                for &(bits, ref broken) in &br.outcomes {
                    for &prop in broken {
                        if !found[prop] {
                            found[prop] = true;
                            out.hits.push((
                                prop,
                                Hit {
                                    depth: turn as usize - 1,
                                    place: p,
                                    v: v.clone(),
                                    event: br.event,
                                    bits,
                                },
                            ));
                        }
                    }
                }
            }
            for m in &rel.moves {
                let Some(to) = m.to else {
                    out.ended = out.ended || !b.and(set, m.from).is_empty();
                    continue;
                };
                let img = b.image(set, m.from, m.writes);
                if img.is_empty() {
                    continue;
                }
                let i = *at.entry(to).or_insert_with(|| {
                    out.images.push((to, Set::EMPTY));
                    out.images.len() - 1
                });
                out.images[i].1 = b.or(out.images[i].1, img);
            }
        }
        out
    }

    /// Learns what the turns from `place` do for the states of `set` not
    /// yet known; returns the number of its relation.
    fn learn(&mut self, w: &mut Worker<'a>, p: usize, set: Set, turn: u32) -> usize {
        let r = 2 * p + usize::from(turn == 1);
        if self.relations.len() <= r {
            self.relations.resize_with(r + 1, || None);
        }
        let place = self.places[p].clone();
        let mut rel = self.relations[r].take().unwrap_or_else(|| {
            let events = self.t.events(&place, turn);
            Relation {
                known: vec![Set::EMPTY; events.len()],
                events,
                known_all: Set::EMPTY,
                moves: Vec::new(),
                index: HashMap::new(),
                fan: Vec::new(),
                extra: Vec::new(),
                breaks: Vec::new(),
            }
        });
        if !self.b.and_not(set, rel.known_all).is_empty() {
            for j in 0..rel.events.len() {
                let unknown = self.b.and_not(set, rel.known[j]);
                for (cube, outcomes) in self.t.split(&mut self.b, w, &place, unknown, rel.events[j]) {
                    // A cube learnt before would have covered its states.
                    debug_assert!(
                        self.b.and(cube, rel.known[j]).is_empty(),
                        "cubes of one event are disjoint"
                    );
                    rel.known[j] = self.b.or(rel.known[j], cube);
                    self.note(&mut rel, j, cube, outcomes);
                }
            }
            rel.known_all = rel.known.iter().fold(Set::FULL, |all, &k| self.b.and(all, k));
            rel.extra.clear();
            for &(_, n, states) in rel.fan.iter().filter(|f| f.1 > 1) {
                match rel.extra.iter().position(|e| e.0 == states) {
                    Some(i) => rel.extra[i].1 += f64::from(n - 1),
                    None => rel.extra.push((states, f64::from(n - 1))),
                }
            }
        }
        self.relations[r] = Some(rel);
        r
    }

    /// Adds what the runs of event `rel.events[j]` from `cube` do.
    fn note(&mut self, rel: &mut Relation, j: usize, cube: Set, outcomes: Vec<Outcome>) {
        let n = outcomes.len() as u32;
        match rel.fan.iter().position(|&(e, m, _)| e == j && m == n) {
            Some(i) => rel.fan[i].2 = self.b.or(rel.fan[i].2, cube),
            None => rel.fan.push((j, n, cube)),
        }
        let breaking: Vec<(u32, Vec<usize>)> = (outcomes.iter())
            .filter(|o| !o.broken.is_empty())
            .map(|o| (o.bits, o.broken.clone()))
            .collect();
        if !breaking.is_empty() {
            rel.breaks.push(Break {
                event: rel.events[j],
                cube,
                outcomes: breaking,
            });
        }
        for o in outcomes {
            let to = o.place.as_deref().map(|place| self.place_id(place));
            let i = match rel.index.get(&(to, o.writes.clone())) {
                Some(&i) => i,
                None => {
                    rel.moves.push(Move {
                        to,
                        writes: self.b.assignment(&o.writes),
                        from: Set::EMPTY,
                    });
                    rel.index.insert((to, o.writes), rel.moves.len() - 1);
                    rel.moves.len() - 1
                }
            };
            rel.moves[i].from = self.b.or(rel.moves[i].from, cube);
        }
    }

    fn place_id(&mut self, place: &[u64]) -> usize {
        if let Some(&i) = self.index.get(place) {
            return i;
        }
        let i = self.places.len();
        self.places.push(place.to_vec());
        self.index.insert(place.to_vec(), i);
        self.reached.push(Set::EMPTY);
        i
    }

    /// A shortest path from the start to the state (`place`, `v`), new on
    /// layer `depth`.
    fn path_to(&mut self, w: &mut Worker<'a>, place: usize, v: &[bool], depth: usize) -> Path {
        let (mut evs, mut ws) = (Vec::new(), Vec::new());
        let (mut place, mut v) = (place, v.to_vec());
        for d in (1..=depth).rev() {
            let target = self.places[place].clone();
            let mut found: Option<(usize, Vec<bool>, usize, u32)> = None;
            let layer = self.layers[d - 1].clone();
            'search: for (p, set, _) in layer {
                let from = self.places[p].clone();
                for ei in self.t.events(&from, d as u32) {
                    for c in self.t.cubes(&mut self.b, w, &from, set, ei) {
                        for o in &c.outcomes {
                            if o.place.as_deref() != Some(target.as_slice())
                                || o.writes.iter().any(|&(var, val)| v[var as usize] != val)
                            {
                                continue;
                            }
                            // The states of the part that agree with `v`
                            // where the run did not write.
                            let kept: Vec<(u32, bool)> = (0..self.t.data.vars)
                                .filter(|var| o.writes.iter().all(|(x, _)| x != var))
                                .map(|var| (var, v[var as usize]))
                                .collect();
                            let agree = self.b.cube(&kept);
                            let preds = self.b.and(c.part, agree);
                            if let Some(u) = self.b.first(preds) {
                                found = Some((p, u, ei, o.bits));
                                break 'search;
                            }
                        }
                    }
                }
            }
            let (p, u, ei, bits) = found.expect("a state new at a depth has a predecessor one layer up");
            evs.push(ei);
            ws.push(bits);
            place = p;
            v = u;
        }
        evs.reverse();
        ws.reverse();
        (evs, ws)
    }

    /// [`Symbolic::collect`], keeping the sets of `images` too.
    fn compact_keeping(&mut self, images: &mut [(usize, Set)], max: u64) -> u64 {
        let mut sets: Vec<Set> = images.iter().map(|&(_, s)| s).collect();
        let live = self.collect(&mut sets, max);
        images.iter_mut().zip(sets).for_each(|(n, s)| n.1 = s);
        live
    }

    /// Frees the nodes of sets no longer kept (those stored, and `more`);
    /// past `max` live nodes, forgets the relations learnt too (they are
    /// learnt again as needed). Returns the live nodes.
    fn collect(&mut self, more: &mut [Set], max: u64) -> u64 {
        self.compact(more);
        if self.b.held() as u64 > max && !self.relations.is_empty() {
            self.relations.clear();
            self.compact(more);
        }
        self.b.held() as u64
    }

    /// Frees the nodes of sets no longer kept (those stored, and `more`).
    fn compact(&mut self, more: &mut [Set]) {
        let Symbolic {
            b,
            reached,
            layers,
            relations,
            ..
        } = self;
        b.compact(
            (reached.iter_mut())
                .chain(layers.iter_mut().flatten().flat_map(|(_, s, f)| [s, f]))
                .chain(relations.iter_mut().flatten().flat_map(Relation::sets_mut))
                .chain(more.iter_mut()),
        );
    }
}

/// A broken property's first hit: the state it was broken from (on layer
/// `depth`), by which event and choices.
struct Hit {
    depth: usize,
    place: usize,
    v: Vec<bool>,
    event: usize,
    bits: u32,
}

/// The symbolic search of `s` (safety properties only; see the module);
/// `None` when `--max-states` leaves no room for the start's set.
pub(super) fn search(
    s: &Search<'_>,
    opts: &VerifyOptions,
    started: std::time::Instant,
    progress: &(dyn Fn(Layer) + Sync),
) -> Option<Found> {
    let data = Data::new(s);
    let mut x = Symbolic {
        b: Bdds::new(data.vars, CACHE_BITS),
        t: Turns { s, data },
        places: Vec::new(),
        index: HashMap::new(),
        reached: Vec::new(),
        layers: Vec::new(),
        relations: Vec::new(),
    };
    let mut w = s.worker();
    let start: State<'_> = s.engine.start();
    s.layout.pack(&start, &mut w.key);
    let start_place = x.t.data.place(&w.key);
    let start_set = x.b.point(&x.t.data.valuation(&w.key));
    let p0 = x.place_id(&start_place);
    x.reached[p0] = start_set;
    x.layers.push(vec![(p0, start_set, start_set)]);
    w.base.watch = Watch::on(s.engine.agent.slots.len(), s.engine.agent.actions.len());
    w.st.watch = Watch::on(s.engine.agent.slots.len(), s.engine.agent.actions.len());

    let mut hits: Vec<Option<Hit>> = (0..s.props.len()).map(|_| None).collect();
    let mut stats = Stats {
        closed: true,
        ..Stats::default()
    };
    let mut ended = false;
    let mut transitions = 0f64;
    let mut last_ended_new = false;
    // Live nodes after the last compaction.
    let mut live = x.b.held() as u64;
    if live > opts.max_states {
        // Not even the start fits: the explicit search stores it as one.
        return None;
    }
    for d in 1..=opts.depth {
        if stats.limited {
            break;
        }
        if hits.iter().all(Option::is_some) {
            stats.closed = false;
            break;
        }
        let ended_before = ended;
        let found = hits.iter().map(Option::is_some).collect();
        let c = x.expand(&mut w, d, ended, found, collect_above(live));
        transitions += c.transitions;
        ended = c.ended;
        for (prop, hit) in c.hits {
            if hits[prop].is_none() {
                hits[prop] = Some(hit);
            }
        }
        // The union of the images per place.
        let mut next = c.images;
        // Garbage is freed when it outgrows the live nodes. Past the limit,
        // every path of up to d turns was checked (the layer's hits are
        // real), but the states new at d are not stored.
        if x.b.held() as u64 > collect_above(live).min(opts.max_states) {
            live = x.compact_keeping(&mut next, opts.max_states);
            if live > opts.max_states {
                stats.limited = true;
                stats.closed = false;
                stats.depth = d;
                x.compact(&mut []);
                ended = ended_before;
                break;
            }
        }
        let mut before = x.reached.clone();
        let mut new_layer = Vec::new();
        for (id, union) in next {
            let fresh = x.b.and_not(union, x.reached[id]);
            if !fresh.is_empty() {
                x.reached[id] = x.b.or(x.reached[id], fresh);
                // What the next layer expands: any set between the new
                // states and all reached ones gives the same new states (an
                // old state's successors were reached a turn after it) and
                // the same first hits (an old state broke what it breaks
                // when it was new), so take the smaller diagram. A state a
                // path is traced back to is new on its layer all the same:
                // had it been reached earlier, so would its successor.
                let expand = if x.b.size(x.reached[id]) < x.b.size(fresh) {
                    x.reached[id]
                } else {
                    fresh
                };
                new_layer.push((id, expand, fresh));
            }
        }
        // The ended state, first reached on this layer, is new on it as in
        // the explicit search (which stores it as one state).
        let ended_new = ended != ended_before;
        last_ended_new = ended_new;
        let empty = new_layer.is_empty() && !ended_new;
        x.layers.push(new_layer);
        stats.depth = d;
        if x.b.held() as u64 > collect_above(live).min(opts.max_states) {
            // `before` is kept through the collection: it may come back.
            live = x.collect(&mut before, opts.max_states);
            if live > opts.max_states {
                // Every path of up to d turns was checked, but the states
                // new at d would pass the limit: they are not kept.
                x.reached = before;
                x.layers.pop();
                x.compact(&mut []);
                ended = ended_before;
                stats.limited = true;
                stats.closed = false;
                break;
            }
        }
        progress(Layer {
            depth: d,
            states: count(&mut x, ended),
            secs: started.elapsed().as_secs_f64(),
        });
        if empty {
            break;
        }
    }
    // What is reported (and bounded) is the sets of states; the moves
    // learnt are not needed to trace paths back.
    x.relations.clear();
    x.compact(&mut []);
    stats.nodes = x.b.held() as u64;
    // As in the explicit search, a last layer whose only new state is the
    // ended one is not closed.
    stats.closed &= x.layers.last().is_some_and(Vec::is_empty) && !last_ended_new;
    stats.states = count(&mut x, ended);
    stats.transitions = transitions as u64;
    let paths = hits
        .into_iter()
        .map(|h| {
            h.map(|h| {
                let (mut evs, mut ws) = x.path_to(&mut w, h.place, &h.v, h.depth);
                evs.push(h.event);
                ws.push(h.bits);
                (evs, ws)
            })
        })
        .collect();
    Some(Found { stats, paths })
}

/// States reached: every place's set, and the one ended state.
fn count(x: &mut Symbolic<'_, '_>, ended: bool) -> u64 {
    let sets = x.reached.clone();
    sets.into_iter().map(|s| x.b.count(s)).sum::<f64>() as u64 + u64::from(ended)
}
