//! `cargo bench --bench search`: the figures of `baton fuzz` and
//! `baton verify`.
//! - fuzz throughput on the combined agent (suites/contoso_policy.yaml):
//!   cases/s and turns/s, 200,000 cases of up to 12 turns on all cores;
//! - time to the first counterexample on each mutant (one thread, default
//!   seed, including building the caller model and shrinking);
//! - verify to depth 12 on every shipped agent: time, states/s.
//!
//! - verify to depth 12 on generated agents (the shared generator,
//!   `../shared/bench/gen_agent.py`, run with python3 into a temporary
//!   folder) of 5/5/5, 10/5/5, 10/10/10 and 20/20/20 topics/slots/actions:
//!   states, depth, wall time and peak RSS of a `baton verify` process;
//! - verify's search alone on Contoso_Voice (`suites/contoso_policy.yaml`):
//!   states/s, best of 20.
//!
//! Targets (2 cores): >= 50,000 fuzz cases/s; first counterexample < 100 ms
//! on every mutant; verify to depth 12 < 1 s on every shipped agent; the
//! 20/20/20 agent to depth 12 (or closed) in < 5 s and < 500 MB, 10/10/10 in
//! < 1 s; >= 1,000,000 states/s on Contoso_Voice.

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
        fail_fast: false,
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

    contoso_states_per_second(&policy[0]);
    generated_agents();
}

/// verify's search alone (no caller model, no counterexamples) on the
/// combined agent to depth 12, best of 20: with the reductions (the
/// default; the graph closes after a few hundred states, so the figure
/// includes the set-up of a search) and without them (the engine's states
/// as they are, a larger graph).
fn contoso_states_per_second(suite: &baton::model::Suite) {
    use baton::explore::{caller_model, verify};
    let alphabet = caller_model(suite);
    for reduce in [true, false] {
        let opts = VerifyOptions {
            reduce,
            ..VerifyOptions::default()
        };
        let mut best = f64::MAX;
        let mut stats = None;
        for _ in 0..20 {
            let t = Instant::now();
            let found = verify::search(suite, &suite.properties, alphabet, &opts, &|_| {});
            best = best.min(t.elapsed().as_secs_f64());
            stats = Some(found.stats);
        }
        let stats = stats.expect("searched");
        println!(
            "verify search {} {} ({} threads): {} states, {} transitions, depth {}{} in {:.3} ms: {:.0} states/s, {:.0} transitions/s",
            suite.agent.name,
            if reduce { "reduced" } else { "unreduced" },
            rayon::current_num_threads(),
            stats.states,
            stats.transitions,
            stats.depth,
            if stats.closed { " (closed)" } else { "" },
            best * 1000.0,
            stats.states as f64 / best,
            stats.transitions as f64 / best
        );
    }
}

/// `baton verify --depth 12` on generated agents, each in its own process
/// so that its peak RSS is its own.
// The child is reaped by wait4 (in `wait_rusage`), which also gives its rusage.
#[allow(clippy::zombie_processes)]
fn generated_agents() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let script = root().join("../shared/bench/gen_agent.py");
    for (t, s, a) in [(5, 5, 5), (10, 5, 5), (10, 10, 10), (20, 20, 20)] {
        let made = std::process::Command::new("python3")
            .arg(&script)
            .args([t.to_string(), s.to_string(), a.to_string()])
            .arg(dir.path())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            println!("verify generated {t}/{s}/{a}: cannot run python3 {}", script.display());
            return;
        }
        let suite = dir.path().join(format!("scale-t{t}s{s}a{a}.suite.yaml"));
        let json = dir.path().join(format!("verify-{t}-{s}-{a}.json"));
        let start = Instant::now();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args([
                "verify",
                "--depth",
                "12",
                "--max-states",
                "5000000",
                "--no-regressions",
                "-q",
            ])
            .arg("--allow-outside-root")
            .arg(format!("--json={}", json.display()))
            .arg(&suite)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("baton runs");
        let (rss_kb, user) = wait_rusage(child.id());
        let wall = start.elapsed().as_secs_f64();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default()).unwrap_or_default();
        let st = &doc["suites"][0]["stats"];
        let states = st["states"].as_u64().unwrap_or(0);
        println!(
            "verify generated {t}/{s}/{a}: {states} states ({} decision-diagram nodes), depth {}{}, {wall:.2} s wall ({user:.2} s user), peak RSS {:.0} MB, {:.0} states/s",
            st["nodes"],
            st["depth"],
            if st["closed"] == true {
                " (closed)"
            } else if st["state_limit_reached"] == true {
                " (state limit)"
            } else {
                ""
            },
            rss_kb as f64 / 1024.0,
            states as f64 / wall
        );
        searches_apart(&suite, (t, s, a));
    }
}

/// The two searches of `baton verify` apart, in this process: for an
/// obedient LLM (the verdicts), then for one that ignores its instructions
/// (the assurance levels of the properties that held), each to depth 12
/// and at most 5,000,000 states.
fn searches_apart(file: &std::path::Path, (t, s, a): (u32, u32, u32)) {
    use baton::explore::{caller_model, verify};
    let Ok(mut suites) = load_suites(&[file.to_path_buf()]) else {
        println!("verify generated {t}/{s}/{a}: the suite does not load in process");
        return;
    };
    let suite = suites.remove(0);
    let alphabet = caller_model(&suite);
    // As verify does: the second search checks the safety properties that held.
    let mut props = suite.properties.clone();
    for unbound in [false, true] {
        let opts = VerifyOptions {
            depth: 12,
            max_states: 5_000_000,
            reduce: true,
            unbound,
            symbolic: true,
        };
        let start = Instant::now();
        let found = verify::search(&suite, &props, alphabet, &opts, &|_| {});
        let secs = start.elapsed().as_secs_f64();
        let st = &found.stats;
        let held = |(p, path): (&baton::model::property::Property, &Option<verify::Path>)| {
            (path.is_none() && !matches!(p.kind, baton::model::property::PropertyKind::EscalationReachable { .. }))
                .then(|| p.clone())
        };
        let next: Vec<_> = if st.limited {
            Vec::new()
        } else {
            props.iter().zip(&found.paths).filter_map(held).collect()
        };
        println!(
            "  search {}: {} states ({} nodes), {} transitions, depth {}{}, {secs:.2} s, {:.0} states/s",
            if unbound {
                "unbound LLM (levels)"
            } else {
                "obedient LLM (verdicts)"
            },
            st.states,
            st.nodes,
            st.transitions,
            st.depth,
            if st.closed {
                " (closed)"
            } else if st.limited {
                " (state limit)"
            } else {
                ""
            },
            st.states as f64 / secs
        );
        props = next;
        if props.is_empty() {
            break;
        }
    }
}

/// Waits for child `pid`: its peak RSS (kB) and user CPU seconds.
fn wait_rusage(pid: u32) -> (i64, f64) {
    let mut status = 0;
    // SAFETY: wait4 fills the zeroed rusage of a child of this process.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    let user = usage.ru_utime.tv_sec as f64 + usage.ru_utime.tv_usec as f64 / 1e6;
    (usage.ru_maxrss, user)
}
