//! Binary decision diagrams for the symbolic search: sets of valuations of
//! a fixed list of boolean variables, as reduced ordered diagrams that share
//! their nodes in one manager (a unique table) and remember recent results
//! (a computed table).
//!
//! Why not a crate: the search does many small operations on the same few
//! sets (split a set by a cube, rewrite the bits a turn wrote, union the
//! images), and with a diagram per value (as `biodivine-lib-bdd` keeps
//! them) each operation rebuilt its whole result: measured, 85 % of the
//! search went to those rebuilds. Shared nodes and a computed table make a
//! repeated or overlapping operation cost only what is new. The few
//! operations the search needs fit in this module; the tests compare each
//! with truth tables.
//!
//! Nodes are not freed one by one: [`Bdds::compact`] copies the
//! live sets into a fresh manager when the search collects its garbage.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHasher};

/// A set of valuations: a node of its manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Set(u32);

/// An assignment of values to variables, known to its manager (see
/// [`Bdds::assignment`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assign(u32);

impl Set {
    pub const EMPTY: Set = Set(0);
    /// Every valuation.
    pub const FULL: Set = Set(1);

    pub fn is_empty(self) -> bool {
        self == Set::EMPTY
    }
}

#[derive(Clone, Copy)]
struct Node {
    var: u32,
    lo: u32,
    hi: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    And = 1,
    Or = 2,
    AndNot = 3,
    /// With the index of the next write in the bits above these.
    Image = 4,
}

/// One slot of the computed table (lossy: a newer result replaces an older).
#[derive(Clone, Copy, Default)]
struct Entry {
    op: u32,
    a: u32,
    b: u32,
    c: u32,
    r: u32,
}

/// The computed table's largest size, in bits of its index (20 MB): it
/// grows with the nodes held, from 2^`FIRST_CACHE_BITS` entries, so that a
/// small agent's search does not clear megabytes it never uses.
pub const CACHE_BITS: u32 = 20;
const FIRST_CACHE_BITS: u32 = 10;

/// The manager of the sets over `vars` variables (variable 0 on top).
pub struct Bdds {
    vars: u32,
    nodes: Vec<Node>,
    /// (variable, low, high, node): the key kept beside the node number,
    /// so that a lookup compares without reading `nodes`.
    unique: HashTable<u32>,
    cache: Vec<Entry>,
    cache_bits: u32,
    max_cache_bits: u32,
    /// Assignments [`Bdds::image`] may make, sorted by variable, and their
    /// numbers.
    assignments: Vec<Vec<(u32, bool)>>,
    assignment_ids: hashbrown::HashMap<Vec<(u32, bool)>, u32, FxBuildHasher>,
    /// Valuations below each node counted so far (nodes never change).
    /// (Indexed by node; negative: not counted yet.)
    counts: Vec<f64>,
}

impl Bdds {
    /// A manager of sets over `vars` variables, with a computed table of
    /// up to 2^`cache_bits` entries.
    pub fn new(vars: u32, cache_bits: u32) -> Bdds {
        let terminal = Node {
            var: vars,
            lo: 0,
            hi: 0,
        };
        Bdds {
            vars,
            nodes: vec![
                terminal,
                Node {
                    lo: 1,
                    hi: 1,
                    ..terminal
                },
            ],
            unique: HashTable::new(),
            cache: vec![Entry::default(); 1 << cache_bits.min(FIRST_CACHE_BITS)],
            cache_bits: cache_bits.min(FIRST_CACHE_BITS),
            max_cache_bits: cache_bits,
            assignments: Vec::new(),
            assignment_ids: hashbrown::HashMap::default(),
            counts: Vec::new(),
        }
    }

    /// Nodes held, live or not.
    pub fn held(&self) -> usize {
        self.nodes.len()
    }

    fn hash_node(var: u32, lo: u32, hi: u32) -> u64 {
        let mut h = FxHasher::default();
        (var, lo, hi).hash(&mut h);
        h.finish()
    }

    fn mk(&mut self, var: u32, lo: u32, hi: u32) -> u32 {
        if lo == hi {
            return lo;
        }
        let hash = Bdds::hash_node(var, lo, hi);
        let nodes = &self.nodes;
        if let Some(&id) = self.unique.find(hash, |&i| {
            let n = nodes[i as usize];
            n.var == var && n.lo == lo && n.hi == hi
        }) {
            return id;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node { var, lo, hi });
        if self.nodes.len() >> self.cache_bits >= 2 && self.cache_bits < self.max_cache_bits {
            // Twice as many nodes as entries: a larger table, holding the
            // results of the smaller one.
            self.cache_bits += 1;
            let old = std::mem::replace(&mut self.cache, vec![Entry::default(); 1 << self.cache_bits]);
            for e in old.into_iter().filter(|e| e.op != 0) {
                let i = self.slot(e.op, e.a, e.b, e.c);
                self.cache[i] = e;
            }
        }
        let nodes = &self.nodes;
        self.unique.insert_unique(hash, id, |&i| {
            let n = nodes[i as usize];
            Bdds::hash_node(n.var, n.lo, n.hi)
        });
        id
    }

    /// The valuations where every `(variable, value)` holds.
    pub fn cube(&mut self, literals: &[(u32, bool)]) -> Set {
        let mut lits = literals.to_vec();
        lits.sort_unstable();
        lits.dedup();
        let mut r = 1;
        for (i, &(var, value)) in lits.iter().enumerate().rev() {
            if lits.get(i + 1).is_some_and(|&(v, _)| v == var) {
                // Both values of one variable: no valuation.
                return Set::EMPTY;
            }
            r = if value { self.mk(var, 0, r) } else { self.mk(var, r, 0) };
        }
        Set(r)
    }

    /// The one valuation `v`.
    pub fn point(&mut self, v: &[bool]) -> Set {
        let lits: Vec<(u32, bool)> = v.iter().enumerate().map(|(i, &b)| (i as u32, b)).collect();
        self.cube(&lits)
    }

    fn cached(&self, op: u32, a: u32, b: u32, c: u32) -> Option<u32> {
        let e = self.cache[self.slot(op, a, b, c)];
        (e.op == op && e.a == a && e.b == b && e.c == c).then_some(e.r)
    }

    fn remember(&mut self, op: u32, a: u32, b: u32, c: u32, r: u32) {
        let i = self.slot(op, a, b, c);
        self.cache[i] = Entry { op, a, b, c, r };
    }

    fn slot(&self, op: u32, a: u32, b: u32, c: u32) -> usize {
        let h = FxBuildHasher.hash_one((op, a, b, c));
        (h >> (64 - self.cache_bits)) as usize
    }

    /// The two halves of `n` at variable `var` (itself twice below it).
    fn halves(&self, n: u32, var: u32) -> (u32, u32) {
        let node = self.nodes[n as usize];
        if node.var == var { (node.lo, node.hi) } else { (n, n) }
    }

    fn apply(&mut self, op: Op, a: u32, b: u32) -> u32 {
        match op {
            Op::And => {
                if a == 0 || b == 0 {
                    return 0;
                }
                if a == 1 || a == b {
                    return b;
                }
                if b == 1 {
                    return a;
                }
            }
            Op::Or => {
                if a == 1 || b == 1 {
                    return 1;
                }
                if a == 0 || a == b {
                    return b;
                }
                if b == 0 {
                    return a;
                }
            }
            Op::AndNot => {
                if a == 0 || b == 1 || a == b {
                    return 0;
                }
                if b == 0 {
                    return a;
                }
            }
            Op::Image => unreachable!("the image has its own walk"),
        }
        let (a, b) = if op != Op::AndNot && a > b { (b, a) } else { (a, b) };
        if let Some(r) = self.cached(op as u32, a, b, 0) {
            return r;
        }
        let var = self.nodes[a as usize].var.min(self.nodes[b as usize].var);
        let (a0, a1) = self.halves(a, var);
        let (b0, b1) = self.halves(b, var);
        let lo = self.apply(op, a0, b0);
        let hi = self.apply(op, a1, b1);
        let r = self.mk(var, lo, hi);
        self.remember(op as u32, a, b, 0, r);
        r
    }

    pub fn and(&mut self, a: Set, b: Set) -> Set {
        Set(self.apply(Op::And, a.0, b.0))
    }

    pub fn or(&mut self, a: Set, b: Set) -> Set {
        Set(self.apply(Op::Or, a.0, b.0))
    }

    /// `a` less `b`.
    pub fn and_not(&mut self, a: Set, b: Set) -> Set {
        Set(self.apply(Op::AndNot, a.0, b.0))
    }

    /// The number of the assignment `writes` (variables and their values;
    /// one value per variable), for [`Bdds::image`].
    pub fn assignment(&mut self, writes: &[(u32, bool)]) -> Assign {
        let mut w = writes.to_vec();
        w.sort_unstable();
        w.dedup();
        debug_assert!(w.windows(2).all(|p| p[0].0 != p[1].0), "one value per variable");
        if let Some(&id) = self.assignment_ids.get(&w) {
            return Assign(id);
        }
        let id = self.assignments.len() as u32;
        self.assignments.push(w.clone());
        self.assignment_ids.insert(w, id);
        Assign(id)
    }

    /// The valuations of `and(a, b)` with the variables of `writes` set to
    /// their values: the image of the set `a` through the part `b` of a
    /// relation that writes them, in one walk that builds neither the
    /// conjunction nor the set before the writes.
    pub fn image(&mut self, a: Set, b: Set, writes: Assign) -> Set {
        Set(self.image_walk(a.0, b.0, writes.0, 0))
    }

    /// The image below the level of `a` and `b`'s top variable, the writes
    /// from the `k`th on still to be placed.
    fn image_walk(&mut self, a: u32, b: u32, w: u32, k: usize) -> u32 {
        if a == 0 || b == 0 {
            return 0;
        }
        let next = self.assignments[w as usize].get(k).copied();
        let Some((wvar, value)) = next else {
            return self.apply(Op::And, a, b);
        };
        let (a, b) = if a > b { (b, a) } else { (a, b) };
        let var = self.nodes[a as usize].var.min(self.nodes[b as usize].var);
        if wvar < var {
            // A written variable neither reads: it takes its value.
            let r = self.image_walk(a, b, w, k + 1);
            return self.literal(wvar, value, r);
        }
        let code = Op::Image as u32 | (k as u32) << 3;
        if let Some(r) = self.cached(code, a, b, w) {
            return r;
        }
        let (a0, a1) = self.halves(a, var);
        let (b0, b1) = self.halves(b, var);
        let r = if wvar == var {
            // Either value before, the written one after.
            let lo = self.image_walk(a0, b0, w, k + 1);
            let hi = self.image_walk(a1, b1, w, k + 1);
            let either = self.apply(Op::Or, lo, hi);
            self.literal(var, value, either)
        } else {
            let lo = self.image_walk(a0, b0, w, k);
            let hi = self.image_walk(a1, b1, w, k);
            self.mk(var, lo, hi)
        };
        self.remember(code, a, b, w, r);
        r
    }

    /// `r` where `var` is `value`.
    fn literal(&mut self, var: u32, value: bool, r: u32) -> u32 {
        if value { self.mk(var, 0, r) } else { self.mk(var, r, 0) }
    }

    /// The first valuation of `a` in the order where a variable nearer the
    /// top weighs more and false comes before true; `None` if `a` is empty.
    pub fn first(&self, a: Set) -> Option<Vec<bool>> {
        if a.is_empty() {
            return None;
        }
        let mut v = vec![false; self.vars as usize];
        let mut n = a.0;
        while n > 1 {
            let node = self.nodes[n as usize];
            if node.lo != 0 {
                n = node.lo;
            } else {
                v[node.var as usize] = true;
                n = node.hi;
            }
        }
        Some(v)
    }

    /// How many valuations `a` holds.
    pub fn count(&mut self, a: Set) -> f64 {
        let below = self.count_walk(a.0);
        below * 2f64.powi(self.nodes[a.0 as usize].var.min(self.vars) as i32)
    }

    /// Valuations of the variables from `n`'s own down.
    fn count_walk(&mut self, n: u32) -> f64 {
        if n <= 1 {
            return f64::from(n);
        }
        if self.counts.len() < self.nodes.len() {
            self.counts.resize(self.nodes.len(), -1.0);
        }
        if self.counts[n as usize] >= 0.0 {
            return self.counts[n as usize];
        }
        let node = self.nodes[n as usize];
        let mut side = |child: u32| {
            let gap = self.nodes[child as usize].var - node.var - 1;
            self.count_walk(child) * 2f64.powi(gap as i32)
        };
        let c = side(node.lo) + side(node.hi);
        self.counts[n as usize] = c;
        c
    }

    /// Nodes of `a` (its terminals not counted).
    pub fn size(&self, a: Set) -> usize {
        let mut seen: hashbrown::HashSet<u32, FxBuildHasher> = hashbrown::HashSet::default();
        let mut stack = vec![a.0];
        while let Some(n) = stack.pop() {
            if n > 1 && seen.insert(n) {
                let node = self.nodes[n as usize];
                stack.push(node.lo);
                stack.push(node.hi);
            }
        }
        seen.len()
    }

    /// Keeps only the nodes of `roots` (rewritten in place): a fresh manager
    /// with the same sets.
    pub fn compact<'r>(&mut self, roots: impl IntoIterator<Item = &'r mut Set>) {
        let mut fresh = Bdds::new(self.vars, self.max_cache_bits);
        fresh.nodes.reserve(self.nodes.len() / 4);
        fresh.unique.reserve(self.nodes.len() / 4, |_| 0);
        let mut map: hashbrown::HashMap<u32, u32, FxBuildHasher> = hashbrown::HashMap::default();
        for r in roots {
            r.0 = self.copy_into(r.0, &mut fresh, &mut map);
        }
        fresh.assignments = std::mem::take(&mut self.assignments);
        fresh.assignment_ids = std::mem::take(&mut self.assignment_ids);
        *self = fresh;
    }

    fn copy_into(&self, n: u32, to: &mut Bdds, map: &mut hashbrown::HashMap<u32, u32, FxBuildHasher>) -> u32 {
        if n <= 1 {
            return n;
        }
        if let Some(&m) = map.get(&n) {
            return m;
        }
        let node = self.nodes[n as usize];
        let lo = self.copy_into(node.lo, to, map);
        let hi = self.copy_into(node.hi, to, map);
        let m = to.mk(node.var, lo, hi);
        map.insert(n, m);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VARS: u32 = 5;

    /// A set as its truth table over `VARS` variables (bit i: valuation i,
    /// variable k is bit k of i).
    fn table(b: &Bdds, s: Set) -> u32 {
        let mut t = 0u32;
        for i in 0..1u32 << VARS {
            let mut n = s.0;
            while n > 1 {
                let node = b.nodes[n as usize];
                n = if i >> node.var & 1 == 1 { node.hi } else { node.lo };
            }
            t |= n << i;
        }
        t
    }

    /// The set of a truth table, built from its valuations.
    fn from_table(b: &mut Bdds, t: u32) -> Set {
        let mut s = Set::EMPTY;
        for i in 0..1u32 << VARS {
            if t >> i & 1 == 1 {
                let v: Vec<bool> = (0..VARS).map(|k| i >> k & 1 == 1).collect();
                let p = b.point(&v);
                s = b.or(s, p);
            }
        }
        s
    }

    proptest! {
        #[test]
        fn operations_agree_with_truth_tables(x in any::<u32>(), y in any::<u32>(), q in 0u32..32, r in 0u32..32) {
            let mut b = Bdds::new(VARS, 10);
            let (a, c) = (from_table(&mut b, x), from_table(&mut b, y));
            prop_assert_eq!(table(&b, a), x);
            let and = b.and(a, c);
            prop_assert_eq!(table(&b, and), x & y);
            let or = b.or(a, c);
            prop_assert_eq!(table(&b, or), x | y);
            let less = b.and_not(a, c);
            prop_assert_eq!(table(&b, less), x & !y);
            // The image through c of the variables in q's bits set to
            // those of r.
            let writes: Vec<(u32, bool)> = (0..VARS).filter(|k| q >> k & 1 == 1).map(|k| (k, r >> k & 1 == 1)).collect();
            let w = b.assignment(&writes);
            let image = b.image(a, c, w);
            let mut want = 0u32;
            for i in 0..1u32 << VARS {
                if (x & y) >> i & 1 == 1 {
                    want |= 1 << ((i & !q) | (r & q));
                }
            }
            prop_assert_eq!(table(&b, image), want);
            prop_assert_eq!(b.count(a) as u32, x.count_ones());
            // The first valuation is in the set, and the first in the order.
            match b.first(a) {
                None => prop_assert_eq!(x, 0),
                Some(v) => {
                    let i: u32 = v.iter().enumerate().map(|(k, &on)| u32::from(on) << k).sum();
                    prop_assert!(x >> i & 1 == 1);
                    let rank = |i: u32| (0..VARS).map(|k| (i >> k & 1) << (VARS - 1 - k)).sum::<u32>();
                    prop_assert!((0..1u32 << VARS).filter(|&j| x >> j & 1 == 1).all(|j| rank(j) >= rank(i)));
                }
            }
            // Equal sets are one node; compacting keeps the sets.
            let again = from_table(&mut b, x);
            prop_assert_eq!(again, a);
            let (mut a2, mut c2) = (a, c);
            b.compact([&mut a2, &mut c2]);
            prop_assert_eq!(table(&b, a2), x);
            prop_assert_eq!(table(&b, c2), y);
        }
    }

    #[test]
    fn a_cube_with_both_values_of_a_variable_is_empty() {
        let mut b = Bdds::new(3, 10);
        assert!(b.cube(&[(1, true), (1, false)]).is_empty());
        let c = b.cube(&[(2, true), (0, false)]);
        assert_eq!(b.count(c), 2.0);
        assert_eq!(b.size(c), 2);
    }
}
