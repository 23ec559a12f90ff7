//! Exhaustive bounded verification: breadth-first over the abstract caller
//! alphabet and every engine choice, with the engine's states deduplicated.
//! Every transition out of every reachable state is checked, so a safety
//! property that holds here holds on every path up to the depth; when the
//! reachable states close before the bound, on paths of any length (over
//! this alphabet). Breadth-first order makes the first counterexample of
//! each property a shortest one.

use std::collections::HashSet;
use std::time::Instant;

use super::caller::{self, Alphabet};
use super::{Branching, Stats, SuiteSearch, counterexample};
use crate::check::property::check_turn;
use crate::engine::{Engine, State, Trace};
use crate::model::property::PropertyKind;
use crate::model::{Event, Suite};
use crate::nlu::Scratch;

#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub depth: u32,
    /// Never store more than this many distinct states: the search stops at
    /// the first new state past it, and the result then holds only for the
    /// depths fully explored.
    pub max_states: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            depth: 12,
            max_states: 500_000,
        }
    }
}

/// A state reached, and how: the parent node, the event and the choices.
struct Node<'s> {
    state: State<'s>,
    parent: u32,
    event: u16,
    bits: u32,
}

/// What one search found, before counterexamples are built.
pub struct Found {
    pub stats: Stats,
    /// Per property: the shortest path (events by alphabet index, choice words).
    pub paths: Vec<Option<(Vec<usize>, Vec<u32>)>>,
}

/// Explores `suite`'s agent to `depth`, checking every property, storing at
/// most `max_states` states (the start counts as one).
pub fn search(suite: &Suite, alphabet: &Alphabet, depth: u32, max_states: u64) -> Found {
    let engine = Engine::new(&suite.agent, &suite.fixtures);
    let props = &suite.properties;
    let mut paths: Vec<Option<(Vec<usize>, Vec<u32>)>> = vec![None; props.len()];
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
    let check_live = |node: u32, nodes: &[Node<'_>], paths: &mut Vec<Option<(Vec<usize>, Vec<u32>)>>| {
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
                    let mut chooser = Branching::fixed(bits);
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
                            // Storing this state would pass the limit, so the
                            // search stops here, part-way through layer d:
                            // paths of up to d - 1 turns were all checked.
                            // What was found on layer d is still real.
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
                    // Next combination of the choice points this run met.
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

fn path_to(nodes: &[Node<'_>], mut n: u32) -> (Vec<usize>, Vec<u32>) {
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

/// Verifies one suite's properties and builds the counterexamples.
pub fn verify_suite(suite: &Suite, opts: &VerifyOptions) -> SuiteSearch {
    let start = Instant::now();
    let alphabet = super::caller_model(suite);
    let found = search(suite, alphabet, opts.depth, opts.max_states);
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
        Some(counterexample(suite, i, &events, ws, alphabet, &source))
    });
    result.warnings.extend(limited);
    result
}
