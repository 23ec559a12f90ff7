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
//! Nodes are never freed while a search runs; [`Bdds::compact`] copies the
//! live sets into a fresh manager between layers.

use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHasher};

/// A set of valuations: a node of its manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Set(u32);

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
    Exists = 4,
    /// With the quantified variable set in the bits above these.
    AndExists = 5,
}

/// One slot of the computed table (lossy: a newer result replaces an older).
#[derive(Clone, Copy, Default)]
struct Entry {
    op: u32,
    a: u32,
    b: u32,
    r: u32,
}

/// The computed table's largest size, in bits of its index (16 MB): it
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
    /// Variable sets that [`Bdds::and_exists`] was asked to quantify, as bit
    /// masks; their number is the second operand in the computed table.
    quantified: Vec<Vec<u64>>,
    /// Valuations below each node counted so far (nodes never change).
    counts: hashbrown::HashMap<u32, f64, FxBuildHasher>,
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
            quantified: Vec::new(),
            counts: hashbrown::HashMap::default(),
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
            // Twice as many nodes as entries: a larger table (the results
            // it held are found again by their walks).
            self.cache_bits += 1;
            self.cache = vec![Entry::default(); 1 << self.cache_bits];
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

    fn cached(&self, op: u32, a: u32, b: u32) -> Option<u32> {
        let e = self.cache[self.slot(op, a, b)];
        (e.op == op && e.a == a && e.b == b).then_some(e.r)
    }

    fn remember(&mut self, op: u32, a: u32, b: u32, r: u32) {
        let i = self.slot(op, a, b);
        self.cache[i] = Entry { op, a, b, r };
    }

    fn slot(&self, op: u32, a: u32, b: u32) -> usize {
        let h = FxBuildHasher.hash_one((op, a, b));
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
            Op::Exists | Op::AndExists => unreachable!("quantifiers have their own walks"),
        }
        let (a, b) = if op != Op::AndNot && a > b { (b, a) } else { (a, b) };
        if let Some(r) = self.cached(op as u32, a, b) {
            return r;
        }
        let var = self.nodes[a as usize].var.min(self.nodes[b as usize].var);
        let (a0, a1) = self.halves(a, var);
        let (b0, b1) = self.halves(b, var);
        let lo = self.apply(op, a0, b0);
        let hi = self.apply(op, a1, b1);
        let r = self.mk(var, lo, hi);
        self.remember(op as u32, a, b, r);
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

    /// The valuations that agree with one of `and(a, b)` everywhere but on
    /// `vars` (the image of a set through a relation), in one walk that
    /// does not build the conjunction.
    pub fn and_exists(&mut self, a: Set, b: Set, vars: &[u32]) -> Set {
        let (id, last) = self.quantify(vars);
        Set(self.and_exists_walk(a.0, b.0, id, last))
    }

    /// The number of the variable set `vars` (the computed table's key for
    /// it), and its last variable.
    fn quantify(&mut self, vars: &[u32]) -> (u32, u32) {
        let mut mask = vec![0u64; (self.vars as usize).div_ceil(64).max(1)];
        for &v in vars {
            mask[v as usize / 64] |= 1 << (v % 64);
        }
        let id = match self.quantified.iter().position(|m| *m == mask) {
            Some(i) => i,
            None => {
                self.quantified.push(mask);
                self.quantified.len() - 1
            }
        } as u32;
        (id, vars.iter().copied().max().unwrap_or(0))
    }

    fn is_quantified(&self, set: u32, var: u32) -> bool {
        let v = var as usize;
        self.quantified[set as usize][v / 64] >> (v % 64) & 1 == 1
    }

    fn and_exists_walk(&mut self, a: u32, b: u32, set: u32, last: u32) -> u32 {
        if a == 0 || b == 0 {
            return 0;
        }
        let (a, b) = if a > b { (b, a) } else { (a, b) };
        if a == 1 || a == b {
            return self.exists_walk(b, set, last);
        }
        let var = self.nodes[a as usize].var.min(self.nodes[b as usize].var);
        if var > last {
            return self.apply(Op::And, a, b);
        }
        // The variable set rides in the operation's code.
        let code = Op::AndExists as u32 | set << 3;
        if let Some(r) = self.cached(code, a, b) {
            return r;
        }
        let (a0, a1) = self.halves(a, var);
        let (b0, b1) = self.halves(b, var);
        let lo = self.and_exists_walk(a0, b0, set, last);
        let r = if self.is_quantified(set, var) {
            if lo == 1 {
                1
            } else {
                let hi = self.and_exists_walk(a1, b1, set, last);
                self.apply(Op::Or, lo, hi)
            }
        } else {
            let hi = self.and_exists_walk(a1, b1, set, last);
            self.mk(var, lo, hi)
        };
        self.remember(code, a, b, r);
        r
    }

    fn exists_walk(&mut self, a: u32, set: u32, last: u32) -> u32 {
        let node = self.nodes[a as usize];
        if a <= 1 || node.var > last {
            return a;
        }
        if let Some(r) = self.cached(Op::Exists as u32, a, set) {
            return r;
        }
        let lo = self.exists_walk(node.lo, set, last);
        let hi = self.exists_walk(node.hi, set, last);
        let r = if self.is_quantified(set, node.var) {
            self.apply(Op::Or, lo, hi)
        } else {
            self.mk(node.var, lo, hi)
        };
        self.remember(Op::Exists as u32, a, set, r);
        r
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
        if let Some(&c) = self.counts.get(&n) {
            return c;
        }
        let node = self.nodes[n as usize];
        let mut side = |child: u32| {
            let gap = self.nodes[child as usize].var - node.var - 1;
            self.count_walk(child) * 2f64.powi(gap as i32)
        };
        let c = side(node.lo) + side(node.hi);
        self.counts.insert(n, c);
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
        fresh.quantified = std::mem::take(&mut self.quantified);
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
        fn operations_agree_with_truth_tables(x in any::<u32>(), y in any::<u32>(), q in 0u32..32) {
            let mut b = Bdds::new(VARS, 10);
            let (a, c) = (from_table(&mut b, x), from_table(&mut b, y));
            prop_assert_eq!(table(&b, a), x);
            let and = b.and(a, c);
            prop_assert_eq!(table(&b, and), x & y);
            let or = b.or(a, c);
            prop_assert_eq!(table(&b, or), x | y);
            let less = b.and_not(a, c);
            prop_assert_eq!(table(&b, less), x & !y);
            // Quantifying the variables in q's bits.
            let vars: Vec<u32> = (0..VARS).filter(|k| q >> k & 1 == 1).collect();
            let ex = b.and_exists(a, Set::FULL, &vars);
            let mut want = 0u32;
            for i in 0..1u32 << VARS {
                if x >> i & 1 == 1 {
                    for j in 0..1u32 << VARS {
                        if (i ^ j) & !q == 0 {
                            want |= 1 << j;
                        }
                    }
                }
            }
            prop_assert_eq!(table(&b, ex), want);
            let image = b.and_exists(a, c, &vars);
            let mut want = 0u32;
            for i in 0..1u32 << VARS {
                if (x & y) >> i & 1 == 1 {
                    for j in 0..1u32 << VARS {
                        if (i ^ j) & !q == 0 {
                            want |= 1 << j;
                        }
                    }
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
