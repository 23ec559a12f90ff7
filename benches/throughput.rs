//! `cargo bench`: generates a suite of 10,000 conversations of 8 turns over
//! the combined voice agent and measures parse throughput (MB/s), the run
//! phase (turns/s), a whole `baton run` against parsing alone, and peak heap
//! memory against the suite's size on disk.
//!
//! Targets (2 cores): run phase >= 1,000,000 turns/s; whole run <= 1.5 x
//! parse time; peak memory < 4 x suite size. The figures are printed; the
//! README records them with the machine they came from.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use baton::files::Confinement;
use baton::model::raw::SuiteFile;
use baton::model::{Suite, load_suites_with, yaml};
use baton::report::console::Console;
use baton::runner::{self, RunOptions};

/// Counts live heap bytes and their peak.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new) };
        if !q.is_null() {
            if new > layout.size() {
                let now = LIVE.fetch_add(new - layout.size(), Ordering::Relaxed) + new - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const CONVERSATIONS: usize = 10_000;
const TURNS: usize = 8;

/// Eight-turn scripts over fixtures/agents/contoso_voice.yaml, with
/// expectations on most turns; `{n}` varies per conversation.
const SCRIPTS: &[&[&str]] = &[
    &[
        r#"{ caller: "when are you open", expect: { topic: Store_Info, says: "nine to nine" } }"#,
        r#"{ caller: "is there parking near the store", expect: { topic: Store_Info } }"#,
        r#"{ caller: "I was charged twice on my bill", expect: { topic: Billing, says: "account number" } }"#,
        r#"{ caller: "it's 1234{n4}", expect: { actions: [verify_account] } }"#,
        r#"{ silence: true, expect: { says: "still there" } }"#,
        r#"{ caller: "also my package never arrived", expect: { topic: Case_Management, says: "email" } }"#,
        r#"{ caller: "caller{n}@example.com", expect: { actions: [createcase], slots: { email: "caller{n}@example.com" } } }"#,
        r#"{ caller: "can I speak to someone please", expect: { escalated: true, handoff: { reason: caller_request, topic: Case_Management, context: { case_number: "00007001" } } } }"#,
    ],
    &[
        r#"{ caller: "my order arrived broken", expect: { topic: Case_Management, says: "/email/i" } }"#,
        r#"{ caller: "I don't need a person yet", expect: { escalated: false } }"#,
        r#"{ caller: "hmm let me find it" }"#,
        r#"{ silence: true }"#,
        r#"{ caller: "here it is: buyer{n}@example.org", expect: { actions: [createcase] } }"#,
        r#"{ caller: "what time do you close", expect: { topic: Store_Info } }"#,
        r#"{ caller: "thanks", expect: { escalated: false } }"#,
        r#"{ hangup: true, expect: { ended: true } }"#,
    ],
    &[
        r#"{ caller: "question about my invoice", expect: { topic: Billing } }"#,
        r#"{ caller: "representative", expect: { escalated: false, says: "email" } }"#,
        r#"{ dtmf: "8765{n4}", expect: { actions: [verify_account] } }"#,
        r#"{ caller: "my email is payer{n}@example.net", expect: { escalated: true, handoff: { topic: Billing } } }"#,
        r#"{ caller: "hello?" }"#,
        r#"{ silence: true }"#,
        r#"{ caller: "are you there" }"#,
        r#"{ hangup: true }"#,
    ],
];

fn generate(path: &Path) -> usize {
    let mut out = String::with_capacity(CONVERSATIONS * 1200);
    out.push_str("suite: Generated load\nagent: AGENT\nconversations:\n");
    for n in 0..CONVERSATIONS {
        let script = SCRIPTS[n % SCRIPTS.len()];
        out.push_str(&format!("  - name: conversation {n}\n    turns:\n"));
        for turn in script.iter().take(TURNS) {
            let t = turn
                .replace("{n4}", &format!("{:04}", n % 10_000))
                .replace("{n}", &n.to_string());
            out.push_str("      - ");
            out.push_str(&t);
            out.push('\n');
        }
    }
    let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agents/contoso_voice.yaml");
    let out = out.replace("AGENT", &agent.display().to_string());
    std::fs::write(path, &out).unwrap();
    out.len()
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = None;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let v = f();
        let took = start.elapsed();
        best = Some(best.map_or(took, |b: Duration| b.min(took)));
        last = Some(v);
    }
    (best.unwrap(), last.unwrap())
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once as a smoke test.
    let quick = !std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.yaml");
    let size = generate(&path);
    // BATON_BENCH_SUITE=FILE keeps a copy of the generated suite for profiling.
    if let Some(keep) = std::env::var_os("BATON_BENCH_SUITE") {
        std::fs::copy(&path, keep).unwrap();
    }
    let mb = size as f64 / 1e6;
    let runs = if quick { 1 } else { 5 };

    let (parse, _) = best_of(runs, || {
        let text = yaml::read_text(&path).unwrap();
        yaml::parse::<SuiteFile>(&path, &text, "a suite").unwrap()
    });

    let suites = load_generated(&path);
    let turns: usize = suites[0].conversations.iter().map(|c| c.events.len()).sum();
    let opts = RunOptions::default();
    let (run_phase, result) = best_of(runs, || runner::run(&suites, &opts, &()).unwrap());
    let counts = result.counts();
    assert_eq!(counts.failed, 0, "the generated suite must pass: {counts}");
    drop(result);
    drop(suites);

    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let (whole, _) = best_of(runs, || {
        let suites = load_generated(&path);
        let r = runner::run(&suites, &opts, &()).unwrap();
        let mut sink = std::io::sink();
        Console { quiet: true }.report(&r, &mut sink).unwrap();
        r.counts()
    });
    let peak = PEAK.load(Ordering::Relaxed) - base;

    let threads = rayon::current_num_threads();
    println!(
        "suite: {CONVERSATIONS} conversations x {TURNS} turns = {turns} turns, {mb:.2} MB on disk ({threads} threads)"
    );
    println!(
        "parse:       {:>8.1} ms  {:>8.1} MB/s",
        parse.as_secs_f64() * 1e3,
        mb / parse.as_secs_f64()
    );
    println!(
        "run phase:   {:>8.1} ms  {:>8.0} turns/s (target >= 1,000,000)",
        run_phase.as_secs_f64() * 1e3,
        turns as f64 / run_phase.as_secs_f64()
    );
    println!(
        "whole run:   {:>8.1} ms  {:>8.2} x parse time (target <= 1.5)",
        whole.as_secs_f64() * 1e3,
        whole.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "peak heap:   {:>8.1} MB  {:>8.2} x suite size (target < 4)",
        peak as f64 / 1e6,
        peak as f64 / size as f64
    );
    if let Some(rss) = max_rss_kb() {
        println!(
            "max RSS:     {:>8.1} MB  (whole bench process, for reference)",
            rss as f64 / 1e3
        );
    }
}

/// The process's peak resident set (Linux), in kB.
fn max_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The generated suite lives in a temporary folder with no project marker
/// and names agents in this repository, so confinement is off: the bench
/// measures loading, not the root check.
fn load_generated(path: &std::path::Path) -> Vec<Suite> {
    load_suites_with(&[path.to_path_buf()], &Confinement::Off)
        .unwrap_or_else(|e| panic!("{e}"))
        .suites
}
