//! verify's reductions and its parallel search against the plain search
//! (`verify::reference`): on every shipped agent (fixtures/agents through
//! suites/, the DX overlays through suites/, every suite in
//! fixtures/mutants) and on generated agents small enough for the plain
//! search, the reduced search gives the same verdicts and counterexamples
//! of the same length; without reductions it stores exactly the same states
//! and finds exactly the same counterexamples; and any thread count gives
//! the same result.

use std::path::{Path, PathBuf};
use std::process::Command;

use baton::explore::caller_model;
use baton::explore::verify::{Found, VerifyOptions, reference, search};
use baton::model::Suite;

mod common;
use common::{load_anywhere, mutant_suite_files};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every shipped suite with properties.
fn shipped() -> Vec<Suite> {
    let mut files = mutant_suite_files();
    files.push(root().join("suites"));
    let mut suites = load_anywhere(&files).unwrap_or_else(|e| panic!("{e}"));
    suites.retain(|s| !s.properties.is_empty());
    assert!(suites.len() >= 15, "{}", suites.len());
    suites
}

/// Agents made by the shared generator (python3), at sizes the plain search finishes.
fn generated(dir: &Path, sizes: &[(u32, u32, u32)]) -> Vec<Suite> {
    let script = root().join("../shared/bench/gen_agent.py");
    assert!(script.exists(), "{} is missing", script.display());
    let mut files = Vec::new();
    for &(t, s, a) in sizes {
        let out = Command::new("python3")
            .arg(&script)
            .args([t.to_string(), s.to_string(), a.to_string()])
            .arg(dir)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        files.push(dir.join(format!("scale-t{t}s{s}a{a}.suite.yaml")));
    }
    load_anywhere(&files).unwrap_or_else(|e| panic!("{e}"))
}

fn run(suite: &Suite, depth: u32, max_states: u64, reduce: bool) -> Found {
    run_as(suite, depth, max_states, reduce, false)
}

/// `unbound`: for an LLM that ignores its instructions (the search behind
/// the assurance levels), which the reductions must keep sound too.
fn run_as(suite: &Suite, depth: u32, max_states: u64, reduce: bool, unbound: bool) -> Found {
    let opts = VerifyOptions {
        depth,
        max_states,
        reduce,
        unbound,
    };
    search(suite, &suite.properties, caller_model(suite), &opts, &|_| {})
}

fn lengths(f: &Found) -> Vec<Option<usize>> {
    f.paths.iter().map(|p| p.as_ref().map(|p| p.0.len())).collect()
}

/// The reduced search agrees with the plain one on verdicts and shortest
/// lengths; the unreduced one agrees on everything; for an obedient LLM and
/// for one that ignores its instructions.
fn compare(suite: &Suite, depth: u32, max_states: u64) {
    compare_as(suite, depth, max_states, false);
    compare_as(suite, depth, max_states, true);
}

fn compare_as(suite: &Suite, depth: u32, max_states: u64, unbound: bool) {
    let name = format!("{} ({}, unbound {unbound})", suite.name, suite.path.display());
    let plain = reference::search(suite, caller_model(suite), depth, max_states, unbound);
    let exact = run_as(suite, depth, max_states, false, unbound);
    assert_eq!(
        (exact.stats.states, exact.stats.transitions, exact.stats.depth),
        (plain.stats.states, plain.stats.transitions, plain.stats.depth),
        "{name}: unreduced search stores other states"
    );
    assert_eq!(
        (exact.stats.closed, exact.stats.limited),
        (plain.stats.closed, plain.stats.limited),
        "{name}"
    );
    assert_eq!(exact.paths, plain.paths, "{name}: unreduced counterexamples differ");
    if plain.stats.limited {
        return;
    }
    let reduced = run_as(suite, depth, max_states, true, unbound);
    assert!(!reduced.stats.limited, "{name}");
    assert_eq!(
        lengths(&reduced),
        lengths(&plain),
        "{name}: reduced verdicts or lengths differ"
    );
    assert!(reduced.stats.states <= plain.stats.states, "{name}");
}

#[test]
fn reductions_keep_verdicts_and_shortest_lengths_on_every_shipped_agent() {
    for suite in &shipped() {
        compare(suite, 12, 2_000_000);
    }
}

#[test]
fn reductions_keep_verdicts_and_shortest_lengths_on_generated_agents() {
    let dir = tempfile::tempdir().unwrap();
    for suite in &generated(dir.path(), &[(2, 2, 2), (3, 3, 3), (4, 3, 2)]) {
        compare(suite, 10, 5_000_000);
    }
    // Larger ones, less deep.
    for suite in &generated(dir.path(), &[(5, 5, 5), (6, 4, 4)]) {
        compare(suite, 6, 5_000_000);
    }
}

#[test]
fn the_unreduced_search_stops_at_the_same_state_as_the_plain_one() {
    for suite in shipped().iter().take(6) {
        for limit in [1, 7, 40] {
            compare(suite, 12, limit);
        }
    }
}

#[test]
fn any_thread_count_gives_the_same_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut suites = shipped();
    suites.extend(generated(dir.path(), &[(5, 5, 5)]));
    for suite in &suites {
        for (reduce, limit) in [(true, u64::MAX), (false, u64::MAX), (true, 300)] {
            let go = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| run(suite, 12, limit, reduce))
            };
            let one = go(1);
            for threads in [2, 3] {
                let other = go(threads);
                let s = (&one.stats, &other.stats);
                assert_eq!(
                    (s.0.states, s.0.transitions, s.0.depth, s.0.closed, s.0.limited),
                    (s.1.states, s.1.transitions, s.1.depth, s.1.closed, s.1.limited),
                    "{}: {threads} threads",
                    suite.name
                );
                assert_eq!(one.paths, other.paths, "{}: {threads} threads", suite.name);
            }
        }
    }
}
