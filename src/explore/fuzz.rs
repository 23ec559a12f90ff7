//! Property-based fuzzing: proptest generates caller scripts from the
//! agent's [`Palette`] (utterances, paraphrases, requests in many phrasings,
//! slot values, silence, keys, hang-ups, noise) together with the engine's
//! choices, plays them, and checks every property after every turn. A
//! violation is shrunk to a minimal script.
//!
//! Cases are cut into fixed chunks, each with its own seed derived from the
//! run's seed, so the same seed gives the same cases and the same
//! counterexamples on any number of threads.

use std::time::Instant;

use proptest::prelude::*;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rayon::prelude::*;

use super::caller::{self, Alphabet, NOISE_KINDS, Palette};
use super::{SearchProgress, Stats, SuiteSearch, counterexample};
use crate::check::property::{Ledger, check_turn};
use crate::engine::{Engine, Trace};
use crate::model::property::PropertyKind;
use crate::model::{Event, Suite};
use crate::nlu::Scratch;

#[derive(Clone, Debug)]
pub struct FuzzOptions {
    pub seed: u64,
    pub cases: u32,
    pub max_turns: u32,
    /// Stop at the first case that breaks a property (in chunk order, so on
    /// any thread count the same one), and shrink it.
    pub fail_fast: bool,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            seed: 0,
            cases: 50_000,
            max_turns: 12,
            fail_fast: false,
        }
    }
}

/// One generated turn: a weight point picking the group, the item in the
/// group, the noise variant, the choice bits of the turn, and whether the
/// caller repeats the previous turn instead (asking twice, staying silent
/// through the reprompts, pressing a key again).
pub type Step = (u32, u16, u8, u8, bool);

/// Cases per chunk: the unit of parallel work and of seeding.
const CHUNK: u32 = 500;
/// Shrinking stops after this many attempts (it converges long before).
const SHRINK_BUDGET: u32 = 20_000;

/// The strategy for caller scripts of one to `max_turns` turns.
pub fn scripts(palette: &Palette, max_turns: u32) -> impl Strategy<Value = Vec<Step>> + use<> {
    let w = palette.total_weight().max(1);
    proptest::collection::vec(
        (
            0..w,
            any::<u16>(),
            0..NOISE_KINDS as u8,
            any::<u8>(),
            proptest::bool::weighted(0.3),
        ),
        1..=max_turns.max(1) as usize,
    )
}

/// Plays scripts and reports which properties they break, reusing buffers
/// between cases.
pub struct Player<'a> {
    engine: Engine<'a>,
    suite: &'a Suite,
    palette: &'a Palette,
    alphabet: &'a Alphabet,
    trace: Trace<'a>,
    scratch: Scratch,
    ledger: Ledger,
    bits: Vec<u32>,
    /// Per property: broken by the last script played.
    pub broken: Vec<bool>,
    /// Turns played by the last script (it stops when the conversation ends).
    pub turns: u32,
}

impl<'a> Player<'a> {
    pub fn new(suite: &'a Suite, palette: &'a Palette, alphabet: &'a Alphabet) -> Player<'a> {
        Player {
            engine: Engine::new(&suite.agent, &suite.fixtures),
            suite,
            palette,
            alphabet,
            trace: Trace::default(),
            scratch: Scratch::default(),
            ledger: Ledger::new(&suite.agent),
            bits: Vec::new(),
            broken: vec![false; suite.properties.len()],
            turns: 0,
        }
    }

    /// Plays one script; returns whether any property broke.
    pub fn play(&mut self, script: &[Step]) -> bool {
        let props = &self.suite.properties;
        self.trace.clear();
        self.ledger.reset();
        self.broken.iter_mut().for_each(|b| *b = false);
        self.bits.clear();
        self.bits.extend(script.iter().map(|s| s.3 as u32));
        let mut chooser = super::Branching::per_turn(&self.bits);
        let mut state = self.engine.start();
        let mut any = false;
        self.turns = 0;
        let mut last: Option<&'a Event> = None;
        for (i, &(point, item, noise, _, repeat)) in script.iter().enumerate() {
            let ev = match last {
                Some(prev) if repeat => prev,
                _ => self.palette.event(point, item, noise),
            };
            last = Some(ev);
            self.engine
                .step(&mut state, ev, &mut self.trace, &mut self.scratch, &mut chooser);
            self.turns += 1;
            let turn = &self.trace.turns[i];
            let broken = &mut self.broken;
            check_turn(props, &self.ledger, &self.trace, turn, |p, _| {
                broken[p] = true;
                any = true;
            });
            self.ledger.apply(&self.trace, turn);
            if state.end.is_some() {
                break;
            }
        }
        for (p, prop) in props.iter().enumerate() {
            if let PropertyKind::EscalationReachable { within } = prop.kind
                && caller::cooperative(&self.engine, &state, self.alphabet, within).is_err()
            {
                self.broken[p] = true;
                any = true;
            }
        }
        any
    }

    /// The script's events (up to where the conversation ended) and choice words.
    pub fn materialize(&self, script: &[Step]) -> (Vec<Event>, Vec<u32>) {
        let n = (self.turns as usize).min(script.len());
        let mut events: Vec<Event> = Vec::with_capacity(n);
        for &(p, i, z, _, repeat) in &script[..n] {
            let ev = match events.last() {
                Some(prev) if repeat => prev.clone(),
                _ => self.palette.event(p, i, z).clone(),
            };
            events.push(ev);
        }
        (events, script[..n].iter().map(|s| s.3 as u32).collect())
    }
}

/// Shrinks a failing script for property `p`: proptest's shrinking, then
/// single-turn deletions until none keeps the failure.
fn shrink(player: &mut Player<'_>, mut tree: impl ValueTree<Value = Vec<Step>>, p: usize) -> Vec<Step> {
    let fails = |player: &mut Player<'_>, s: &[Step]| player.play(s) && player.broken[p];
    let mut best = tree.current();
    let mut budget = SHRINK_BUDGET;
    if tree.simplify() {
        while budget > 0 {
            budget -= 1;
            let cur = tree.current();
            if fails(player, &cur) {
                best = cur;
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    // Deleting a turn in the middle is a move proptest does not retry after
    // it has simplified the elements.
    let mut i = 0;
    while i < best.len() && best.len() > 1 {
        let mut shorter = best.clone();
        shorter.remove(i);
        if fails(player, &shorter) {
            best = shorter;
            i = 0;
        } else {
            i += 1;
        }
    }
    // The plainest form of each turn: no noise, the group's first item, the
    // nominal choices. Proptest's halving cannot find these, as an item
    // index is taken modulo the group's size.
    for i in 0..best.len() {
        for plain in [|s: &mut Step| s.2 = 0, |s: &mut Step| s.1 = 0, |s: &mut Step| s.3 = 0] {
            let mut simpler = best.clone();
            plain(&mut simpler[i]);
            if simpler != best && fails(player, &simpler) {
                best = simpler;
            }
        }
    }
    // Keep only the turns actually played.
    fails(player, &best);
    best.truncate(player.turns as usize);
    best
}

/// Per property, the best counterexample of a chunk.
type ChunkFinds = Vec<Option<Vec<Step>>>;

/// What one chunk found.
struct ChunkResult {
    finds: ChunkFinds,
    /// Cases generated and turns played.
    cases: u32,
    turns: u64,
    /// The first script the engine panicked on, with the message.
    panicked: Option<(String, Vec<Step>)>,
}

/// Chunks run together under `--fail-fast` before looking for a violation:
/// fixed, so that the cases played do not depend on the thread count.
const FAIL_FAST_BATCH: u32 = 8;

fn chunk_seed(seed: u64, chunk: u32) -> [u8; 32] {
    // SplitMix64, so neighbouring chunks get unrelated streams.
    let mut x = seed ^ (u64::from(chunk).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut out = [0u8; 32];
    for part in out.chunks_mut(8) {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        part.copy_from_slice(&z.to_le_bytes());
    }
    out
}

fn run_chunk(
    suite: &Suite,
    palette: &Palette,
    alphabet: &Alphabet,
    opts: &FuzzOptions,
    chunk: u32,
    cases: u32,
) -> ChunkResult {
    let strategy = scripts(palette, opts.max_turns);
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &chunk_seed(opts.seed, chunk));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut player = Player::new(suite, palette, alphabet);
    let mut finds: ChunkFinds = vec![None; suite.properties.len()];
    let mut turns = 0u64;
    let mut panicked = None;
    let mut played = 0;
    for _ in 0..cases {
        if opts.fail_fast && finds.iter().any(Option::is_some) {
            break;
        }
        played += 1;
        // The generator's state before this case, to grow the same tree
        // again for each further property it breaks.
        let saved = runner.rng().clone();
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let script = tree.current();
        // A panic is a bug in baton, not in the agent: it is reported with
        // its script, quietly, and the chunk goes on.
        let any = match crate::runner::quietly(|| player.play(&script)) {
            Ok(any) => any,
            Err(msg) => {
                panicked.get_or_insert((msg, script));
                player = Player::new(suite, palette, alphabet);
                continue;
            }
        };
        turns += u64::from(player.turns);
        if !any {
            continue;
        }
        let broken: Vec<usize> = (0..finds.len())
            .filter(|&p| player.broken[p] && finds[p].is_none())
            .collect();
        let mut tree = Some(tree);
        for p in broken {
            let tree = match tree.take() {
                Some(t) => t,
                None => {
                    let mut again = TestRunner::new_with_rng(Config::default(), saved.clone());
                    match strategy.new_tree(&mut again) {
                        Ok(t) => t,
                        Err(_) => continue,
                    }
                }
            };
            match crate::runner::quietly(|| shrink(&mut player, tree, p)) {
                Ok(s) => finds[p] = Some(s),
                Err(msg) => {
                    panicked.get_or_insert((msg, script.clone()));
                    player = Player::new(suite, palette, alphabet);
                }
            }
        }
    }
    ChunkResult {
        finds,
        cases: played,
        turns,
        panicked,
    }
}

/// What a fuzz run of one suite found, before counterexamples are built.
pub struct Found {
    pub stats: Stats,
    /// Per property: the shortest shrunk script over all chunks.
    pub scripts: Vec<Option<Vec<Step>>>,
    /// The first script (by chunk) the engine panicked on, with the message.
    pub panicked: Option<(String, Vec<Step>)>,
}

/// Fuzzes one suite: every chunk in parallel (on the current rayon pool).
pub fn search(
    suite: &Suite,
    palette: &Palette,
    alphabet: &Alphabet,
    opts: &FuzzOptions,
    progress: &dyn SearchProgress,
) -> Found {
    let chunks = opts.cases.div_ceil(CHUNK);
    let run = |c: u32| {
        let n = CHUNK.min(opts.cases - c * CHUNK);
        let r = run_chunk(suite, palette, alphabet, opts, c, n);
        progress.advance(u64::from(n));
        r
    };
    let results: Vec<ChunkResult> = if opts.fail_fast {
        // Batch after batch, up to the first chunk (in order) with a find:
        // each chunk stops at its first violating case.
        let mut kept = Vec::new();
        let mut next = 0;
        while next < chunks {
            let end = (next + FAIL_FAST_BATCH).min(chunks);
            let batch: Vec<ChunkResult> = (next..end).into_par_iter().map(run).collect();
            let first = batch.iter().position(|r| r.finds.iter().any(Option::is_some));
            match first {
                Some(i) => {
                    kept.extend(batch.into_iter().take(i + 1));
                    break;
                }
                None => kept.extend(batch),
            }
            next = end;
        }
        kept
    } else {
        (0..chunks).into_par_iter().map(run).collect()
    };
    let mut scripts: Vec<Option<Vec<Step>>> = vec![None; suite.properties.len()];
    let mut stats = Stats::default();
    let mut panicked = None;
    // Shortest over chunks; ties go to the earlier chunk, whatever finished first.
    for ChunkResult {
        finds,
        cases,
        turns,
        panicked: panic,
    } in results
    {
        stats.cases += u64::from(cases);
        stats.turns += turns;
        if panicked.is_none() {
            panicked = panic;
        }
        for (p, f) in finds.into_iter().enumerate() {
            if let Some(s) = f
                && scripts[p].as_ref().is_none_or(|b| s.len() < b.len())
            {
                scripts[p] = Some(s);
            }
        }
    }
    Found {
        stats,
        scripts,
        panicked,
    }
}

/// Fuzzes one suite's properties and builds the counterexamples.
pub fn fuzz_suite(suite: &Suite, opts: &FuzzOptions) -> SuiteSearch {
    fuzz_suite_with(suite, opts, &())
}

/// [`fuzz_suite`], reporting the cases done as chunks finish.
pub fn fuzz_suite_with(suite: &Suite, opts: &FuzzOptions, progress: &dyn SearchProgress) -> SuiteSearch {
    let start = Instant::now();
    let harvest = super::harvest(suite);
    let palette = Palette::new(&suite.agent, &harvest);
    let alphabet = super::caller_model(suite);
    // Liveness from the start state: the same for every case, so checked
    // once. An empty script is the shortest counterexample there is.
    let engine = Engine::new(&suite.agent, &suite.fixtures);
    let start_state = engine.start();
    let from_start: Vec<usize> = (suite.properties.iter().enumerate())
        .filter(|(_, prop)| match prop.kind {
            PropertyKind::EscalationReachable { within } => {
                caller::cooperative(&engine, &start_state, alphabet, within).is_err()
            }
            _ => false,
        })
        .map(|(p, _)| p)
        .collect();
    let mut found = if opts.fail_fast && !from_start.is_empty() {
        Found {
            stats: Stats::default(),
            scripts: vec![None; suite.properties.len()],
            panicked: None,
        }
    } else {
        search(suite, &palette, alphabet, opts, progress)
    };
    for p in from_start {
        found.scripts[p] = Some(Vec::new());
    }
    // --fail-fast left the properties without a counterexample unsearched.
    found.stats.stopped = opts.fail_fast && found.scripts.iter().any(Option::is_some);
    let source = format!(
        "baton fuzz --seed {} --cases {} --max-turns {}{}",
        opts.seed,
        opts.cases,
        opts.max_turns,
        if opts.fail_fast { " --fail-fast" } else { "" }
    );
    let error = found.panicked.as_ref().map(|(msg, script)| {
        let lines: Vec<String> = script
            .iter()
            .map(|&(p, i, z, _, _)| format!("  {}", crate::transcript::event_line(palette.event(p, i, z))))
            .collect();
        format!(
            "the engine panicked ({msg}) on a script like this one (repeats and choices not shown):\n{}",
            lines.join("\n")
        )
    });
    let mut player = Player::new(suite, &palette, alphabet);
    let scripts = &found.scripts;
    let result = SuiteSearch::finished(suite, found.stats.clone(), start, |i| {
        let script = scripts[i].as_ref()?;
        player.play(script);
        let (events, bits) = player.materialize(script);
        Some(counterexample(suite, i, &events, &bits, alphabet, &source, false))
    });
    SuiteSearch { error, ..result }
}

/// Generates cases in order (one thread) until one breaks a property, and
/// shrinks it: how long an author waits for the first counterexample.
/// Returns the cases tried, the property and the shrunk script.
pub fn first_counterexample(suite: &Suite, opts: &FuzzOptions) -> Option<(u64, usize, Vec<Step>)> {
    let harvest = super::harvest(suite);
    let palette = Palette::new(&suite.agent, &harvest);
    let alphabet = super::caller_model(suite);
    let strategy = scripts(&palette, opts.max_turns);
    let mut player = Player::new(suite, &palette, alphabet);
    let mut tried = 0u64;
    for chunk in 0..opts.cases.div_ceil(CHUNK) {
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &chunk_seed(opts.seed, chunk));
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        for _ in 0..CHUNK.min(opts.cases - chunk * CHUNK) {
            tried += 1;
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                continue;
            };
            if player.play(&tree.current()) {
                let p = player.broken.iter().position(|b| *b)?;
                return Some((tried, p, shrink(&mut player, tree, p)));
            }
        }
    }
    None
}
