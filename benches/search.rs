//! `cargo bench --bench search`: the figures of `baton fuzz` and
//! `baton verify`.
//! - fuzz throughput on the combined agent (suites/contoso_policy.yaml):
//!   cases/s and turns/s, 200,000 cases of up to 12 turns on all cores;
//! - time to the first counterexample on each mutant (one thread, default
//!   seed, including building the caller model and shrinking);
//! - verify to depth 12 on every shipped agent: time, states/s.
//!
//! Targets (2 cores): >= 50,000 fuzz cases/s; first counterexample < 100 ms
//! on every mutant; verify to depth 12 < 1 s on every shipped agent.

use std::path::PathBuf;
use std::time::Instant;

use baton::explore::fuzz::{FuzzOptions, first_counterexample, fuzz_suite};
use baton::explore::verify::{VerifyOptions, verify_suite};
use baton::model::load_suites;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() {
    let threads = rayon::current_num_threads();
    let policy = load_suites(&[root().join("suites/contoso_policy.yaml")]).expect("suite loads");
    let opts = FuzzOptions {
        seed: 1,
        cases: 200_000,
        max_turns: 12,
    };
    // Warm-up, then the best of three.
    fuzz_suite(
        &policy[0],
        &FuzzOptions {
            cases: 5_000,
            ..opts.clone()
        },
    );
    let mut best = f64::MAX;
    let mut turns = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let r = fuzz_suite(&policy[0], &opts);
        best = best.min(t.elapsed().as_secs_f64());
        turns = r.stats.turns;
    }
    println!(
        "fuzz (Contoso_Voice, {threads} threads): {} cases, {turns} turns in {best:.3}s: {:.0} cases/s, {:.0} turns/s",
        opts.cases,
        f64::from(opts.cases) / best,
        turns as f64 / best
    );

    let mut mutants: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/mutants"))
        .expect("mutants folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".suite.yaml"))
        .collect();
    mutants.sort();
    let mut worst: f64 = 0.0;
    for m in &mutants {
        let suite = load_suites(std::slice::from_ref(m)).expect("mutant loads").remove(0);
        let t = Instant::now();
        let found = first_counterexample(&suite, &FuzzOptions::default());
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        worst = worst.max(ms);
        match found {
            Some((tried, _, script)) => println!(
                "first counterexample {:<32} {ms:>7.2} ms after {tried} cases, shrunk to {} turns",
                m.file_name().and_then(|n| n.to_str()).unwrap_or(""),
                script.len()
            ),
            None => println!("first counterexample {}: NOT FOUND", m.display()),
        }
    }
    println!(
        "first counterexample, worst over {} mutants: {worst:.2} ms",
        mutants.len()
    );

    let mut agents = load_suites(&[root().join("suites")]).expect("suites load");
    agents.retain(|s| !s.properties.is_empty());
    let mut seen = Vec::new();
    let mut slowest: f64 = 0.0;
    for s in &agents {
        if seen.contains(&s.agent.name) {
            continue;
        }
        seen.push(s.agent.name.clone());
        let t = Instant::now();
        let v = verify_suite(s, &VerifyOptions::default());
        let secs = t.elapsed().as_secs_f64();
        slowest = slowest.max(secs);
        println!(
            "verify depth 12 {:<20} {:>8.2} ms: {} states, {} transitions, closed at depth {} ({:.0} states/s)",
            s.agent.name,
            secs * 1000.0,
            v.stats.states,
            v.stats.transitions,
            v.stats.depth,
            v.stats.states as f64 / secs
        );
    }
    println!("verify depth 12, slowest agent: {:.2} ms", slowest * 1000.0);
}
