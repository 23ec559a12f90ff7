//! verify's reductions and its parallel search against the plain search
//! (`verify::reference`): on every shipped agent (fixtures/agents through
//! suites/, the DX overlays through suites/, every suite in
//! fixtures/mutants) and on generated agents small enough for the plain
//! search, the reduced search gives the same verdicts and counterexamples
//! of the same length; without reductions it stores exactly the same states
//! and finds exactly the same counterexamples; and any thread count gives
//! the same result. The symbolic search (what a filled slot or a done
//! action is kept as sets) stores exactly the states of the reduced one and
//! finds counterexamples of the same lengths, each of which replays.

use std::path::{Path, PathBuf};
use std::process::Command;

use baton::explore::verify::{Found, VerifyOptions, reference, search};
use baton::explore::{caller_model, counterexample};
use baton::model::Suite;
use baton::model::property::PropertyKind;

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

/// Generated agents made to break: silence past one reprompt hands off
/// (through the silent states), and properties that the default path,
/// topic switches and actions run in one topic for another break at
/// various depths, each checked by the reduced search against the plain one.
fn generated_broken(dir: &Path, sizes: &[(u32, u32, u32)]) -> Vec<Suite> {
    let script = root().join("../shared/bench/gen_agent.py");
    let mut files = Vec::new();
    for &(t, s, a) in sizes {
        let out = Command::new("python3")
            .arg(&script)
            .args([t.to_string(), s.to_string(), a.to_string()])
            .arg(dir)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let tag = format!("t{t}s{s}a{a}");
        let agent = dir.join(format!("agent-{tag}.yaml"));
        let text = std::fs::read_to_string(&agent).unwrap();
        let broken = text.replace(
            "no_input: { reprompts: 2, then: hangup }",
            "no_input: { reprompts: 1, then: escalate }",
        );
        assert_ne!(text, broken, "the generator's no_input line changed");
        let broken_agent = dir.join(format!("broken-{tag}.yaml"));
        std::fs::write(&broken_agent, broken).unwrap();
        let suite = std::fs::read_to_string(dir.join(format!("scale-{tag}.suite.yaml")))
            .unwrap()
            .replace(
                &format!("agent: agent-{tag}.yaml"),
                &format!("agent: broken-{tag}.yaml"),
            );
        let last_slot = if s > 2 { "account_number" } else { "phone" };
        let extra = format!(
            "\n  - name: every handoff has an email\n    escalation_requires: {{ slots: [email] }}\n  \
             - name: every handoff has the last slot\n    escalation_requires: {{ slots: [{last_slot}] }}\n  \
             - name: every handoff comes after action_00\n    escalation_requires: {{ actions: [action_00] }}\n  \
             - name: action_00 runs only with an email and a phone\n    \
             action_requires: {{ action: action_00, slots: [email, phone] }}\n  \
             - name: a caller reaches a human in two turns\n    escalation_reachable: {{ within: 2 }}\n"
        );
        let file = dir.join(format!("broken-{tag}.suite.yaml"));
        std::fs::write(&file, suite.trim_end().to_string() + &extra).unwrap();
        files.push(file);
    }
    load_anywhere(&files).unwrap_or_else(|e| panic!("{e}"))
}

/// The explicit search (states one by one).
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
        symbolic: false,
    };
    search(suite, &suite.properties, caller_model(suite), &opts, &|_| {})
}

/// The symbolic search (the default) against the explicit reduced one, on
/// the suite's safety properties (it leaves liveness to the explicit
/// search): the same states, the same verdicts and lengths (also those of
/// the search with every property), and every counterexample it gives
/// breaks its property on its last turn when replayed.
fn compare_symbolic(suite: &Suite, depth: u32, reduced: &Found, unbound: bool, name: &str) {
    let safety: Vec<usize> = (0..suite.properties.len())
        .filter(|&i| !matches!(suite.properties[i].kind, PropertyKind::EscalationReachable { .. }))
        .collect();
    let props: Vec<_> = safety.iter().map(|&i| suite.properties[i].clone()).collect();
    let alphabet = caller_model(suite);
    let go = |symbolic: bool| {
        let opts = VerifyOptions {
            depth,
            max_states: 50_000_000,
            reduce: true,
            unbound,
            symbolic,
        };
        search(suite, &props, alphabet, &opts, &|_| {})
    };
    let (sym, exp) = (go(true), go(false));
    assert!(!sym.stats.limited && !exp.stats.limited, "{name}: limited");
    assert_eq!(
        lengths(&sym),
        lengths(&exp),
        "{name}: symbolic verdicts or lengths differ"
    );
    let all = lengths(reduced);
    let picked: Vec<_> = safety.iter().map(|&i| all[i]).collect();
    assert_eq!(
        lengths(&sym),
        picked,
        "{name}: symbolic differs from the search with every property"
    );
    assert_eq!(
        (sym.stats.states, sym.stats.depth, sym.stats.closed),
        (exp.stats.states, exp.stats.depth, exp.stats.closed),
        "{name}: the symbolic search reached other states"
    );
    for (k, path) in sym.paths.iter().enumerate() {
        let Some((evs, bits)) = path else { continue };
        let events: Vec<_> = evs.iter().map(|&e| alphabet.events[e].clone()).collect();
        let cx = counterexample(suite, safety[k], &events, bits, alphabet, "test", unbound);
        assert_eq!(
            cx.at_turn as usize,
            evs.len(),
            "{name}: property {} breaks elsewhere",
            safety[k]
        );
        assert!(
            !cx.missing.is_empty(),
            "{name}: property {} does not break on replay",
            safety[k]
        );
    }
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
    compare_symbolic(suite, depth, &reduced, unbound, &name);
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
fn reductions_keep_shortest_counterexample_lengths_on_broken_generated_agents() {
    let dir = tempfile::tempdir().unwrap();
    for suite in &generated_broken(dir.path(), &[(2, 2, 2), (3, 3, 3), (4, 3, 2)]) {
        let plain = reference::search(suite, caller_model(suite), 8, 5_000_000, false);
        assert!(
            plain.paths.iter().filter(|p| p.is_some()).count() >= 3,
            "{}: too few violations to test with",
            suite.name
        );
        compare(suite, 8, 5_000_000);
    }
    for suite in &generated_broken(dir.path(), &[(5, 5, 5), (10, 5, 5)]) {
        compare(suite, 5, 5_000_000);
    }
}

/// The reductions do apply to the generated agents: fewer transitions
/// (silent states, shared topic switches) for the same states.
#[test]
fn the_generated_agents_are_reduced() {
    let dir = tempfile::tempdir().unwrap();
    for suite in &generated(dir.path(), &[(5, 5, 5)]) {
        let (full, reduced) = (run(suite, 8, u64::MAX, false), run(suite, 8, u64::MAX, true));
        assert!(reduced.stats.states < full.stats.states, "{}", suite.name);
        assert!(reduced.stats.transitions * 2 < full.stats.transitions, "{}", suite.name);
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

/// The symbolic search stopped by its node limit: it says so, keeps no
/// more nodes than allowed, claims no depth it did not finish, and what it
/// found is real and shortest (it replays, with the length the full search
/// gives).
#[test]
fn the_symbolic_search_stops_at_its_node_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut suites = generated(dir.path(), &[(5, 5, 5)]);
    suites.extend(generated_broken(dir.path(), &[(4, 3, 2)]));
    for suite in &suites {
        let safety: Vec<_> = (suite.properties.iter())
            .filter(|p| !matches!(p.kind, PropertyKind::EscalationReachable { .. }))
            .cloned()
            .collect();
        let alphabet = caller_model(suite);
        let go = |max_states: u64| {
            let opts = VerifyOptions {
                depth: 12,
                max_states,
                reduce: true,
                unbound: false,
                symbolic: true,
            };
            search(suite, &safety, alphabet, &opts, &|_| {})
        };
        let full = go(u64::MAX);
        assert!(!full.stats.limited && full.stats.nodes > 0, "{}", suite.name);
        let mut stopped = 0;
        for limit in [40, 120, 300] {
            let part = go(limit);
            if !part.stats.limited {
                continue;
            }
            stopped += 1;
            assert!(
                part.stats.nodes <= limit,
                "{}: {} nodes kept",
                suite.name,
                part.stats.nodes
            );
            assert!(!part.stats.closed && part.stats.depth < 12, "{}", suite.name);
            assert!(part.stats.states < full.stats.states, "{}", suite.name);
            for (k, path) in part.paths.iter().enumerate() {
                let Some((evs, _)) = path else { continue };
                assert_eq!(
                    Some(evs.len()),
                    full.paths[k].as_ref().map(|p| p.0.len()),
                    "{}: a limited search found a longer path",
                    suite.name
                );
            }
        }
        assert!(
            stopped > 0,
            "{}: no limit stopped the search: the test checks nothing",
            suite.name
        );
    }
}
