//! Runs every conversation of every suite in parallel and hands back typed
//! results in a stable order (suite file, then conversation order),
//! whatever the number of threads. Golden transcripts are compared and,
//! with `bless`, written here. A panic inside one conversation fails that
//! conversation with its message; the run goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::check::{self, Mismatch};
use crate::engine::{Engine, Scripted, State, Trace};
use crate::explore::caller::cooperative;
use crate::explore::caller_model;
use crate::model::property::PropertyKind;
use crate::model::{Conversation, Suite};
use crate::nlu::Scratch;
use crate::report::atomic_write;
use crate::transcript;

/// What to run and how.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Run only conversations whose "suite :: name" contains one of these.
    pub filters: Vec<String>,
    /// Run only conversations with one of these tags (own or the suite's).
    pub tags: Vec<String>,
    /// Write golden transcripts of conversations whose expectations pass.
    pub bless: bool,
    /// Keep every transcript (for JUnit's `<system-out>`), not just failures'.
    pub keep_transcripts: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Skipped(String),
}

/// What happened to a conversation's golden transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Golden {
    Matches,
    /// The transcript differs from the golden file: a unified diff.
    Differs(String),
    Missing,
    Blessed {
        created: bool,
    },
    /// Not written because the conversation's expectations fail.
    NotBlessed,
    Unreadable(String),
}

#[derive(Clone, Debug)]
pub struct CaseResult {
    pub name: String,
    pub line: u32,
    pub status: Status,
    pub turns: usize,
    pub mismatches: Vec<Mismatch>,
    /// Expected-against-actual diff of the failed expectations.
    pub diff: Option<String>,
    pub golden: Option<(PathBuf, Golden)>,
    pub transcript: Option<String>,
    /// The message of a panic inside the conversation.
    pub panic: Option<String>,
    pub duration: Duration,
}

impl CaseResult {
    /// A short reason for a failure, for one-line reports.
    pub fn failure_summary(&self) -> String {
        if let Some(p) = &self.panic {
            return format!("panicked: {p}");
        }
        let mut parts: Vec<String> = self.mismatches.iter().map(ToString::to_string).collect();
        match &self.golden {
            Some((p, Golden::Differs(_))) => parts.push(format!("transcript differs from {}", p.display())),
            Some((p, Golden::Missing)) => parts.push(format!(
                "golden transcript {} is missing (run with --bless to create it)",
                p.display()
            )),
            Some((p, Golden::Unreadable(e))) => {
                parts.push(format!("cannot use golden transcript {}: {e}", p.display()))
            }
            Some((p, Golden::NotBlessed)) => parts.push(format!("{} not blessed: expectations fail", p.display())),
            _ => {}
        }
        parts.join("; ")
    }
}

#[derive(Clone, Debug)]
pub struct SuiteResult {
    pub name: String,
    pub path: PathBuf,
    pub agent: String,
    /// Warnings about the agent ([`crate::lint`]).
    pub agent_warnings: Vec<String>,
    pub cases: Vec<CaseResult>,
    pub duration: Duration,
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub suites: Vec<SuiteResult>,
    pub duration: Duration,
    pub timestamp: chrono::DateTime<chrono::FixedOffset>,
    /// The run's id in every report ([`crate::report::new_run_id`]).
    pub run_id: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl RunResult {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for case in self.suites.iter().flat_map(|s| &s.cases) {
            match case.status {
                Status::Passed => c.passed += 1,
                Status::Failed => c.failed += 1,
                Status::Skipped(_) => c.skipped += 1,
            }
        }
        c
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        Ok(())
    }
}

/// A running count of finished conversations, for progress display.
pub trait Progress: Sync {
    fn start(&self, _total: usize) {}
    fn finished(&self, _case: &CaseResult) {}
}

impl Progress for () {}

/// Runs all suites with the built-in engine.
pub fn run(
    suites: &[Suite],
    opts: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunResult, rayon::ThreadPoolBuildError> {
    run_with(suites, opts, progress, &run_conversation)
}

/// Runs all suites with `exec` doing each conversation (tests swap it).
pub fn run_with(
    suites: &[Suite],
    opts: &RunOptions,
    progress: &dyn Progress,
    exec: &(dyn Fn(&Suite, &Conversation, &RunOptions) -> CaseResult + Sync),
) -> Result<RunResult, rayon::ThreadPoolBuildError> {
    let started = Instant::now();
    let timestamp = chrono::Local::now().fixed_offset();
    let run_id = crate::report::new_run_id();
    let plan: Vec<(usize, usize)> = suites
        .iter()
        .enumerate()
        .flat_map(|(s, suite)| (0..suite.conversations.len()).map(move |c| (s, c)))
        .collect();
    progress.start(plan.len());
    // More threads than conversations only cost memory and start-up time.
    let threads = if opts.jobs == 0 {
        0
    } else {
        opts.jobs.min(plan.len().max(1))
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    quiet_panics_in_cases();
    let results: Vec<CaseResult> = pool.install(|| {
        plan.par_iter()
            .map(|&(s, c)| {
                let suite = &suites[s];
                let conv = &suite.conversations[c];
                let r = match skip_reason(suite, conv, opts) {
                    Some(why) => skipped(conv, why),
                    None => guarded(suite, conv, opts, exec),
                };
                progress.finished(&r);
                r
            })
            .collect()
    });
    let mut results = results.into_iter();
    let suites = suites
        .iter()
        .map(|suite| {
            let cases: Vec<CaseResult> = results.by_ref().take(suite.conversations.len()).collect();
            SuiteResult {
                name: suite.name.clone(),
                path: suite.path.clone(),
                agent: suite.agent.name.clone(),
                agent_warnings: crate::lint::warnings(&suite.agent),
                duration: cases.iter().map(|c| c.duration).sum(),
                cases,
            }
        })
        .collect();
    Ok(RunResult {
        suites,
        duration: started.elapsed(),
        timestamp,
        run_id,
    })
}

/// `--filter TEXT` selects a conversation whose "suite :: name" holds TEXT.
fn filter_selects(suite: &Suite, conv: &Conversation, filter: &str) -> bool {
    format!("{} :: {}", suite.name, conv.name).contains(filter)
}

/// `--tag TAG` selects a conversation tagged TAG, itself or through its suite.
fn tag_selects(suite: &Suite, conv: &Conversation, tag: &String) -> bool {
    conv.tags.contains(tag) || suite.tags.contains(tag)
}

/// The first `--filter` or `--tag` that selects no conversation at all, so
/// that a typo cannot turn a CI run into "0 passed, 0 failed".
pub fn unmatched_selector(suites: &[Suite], filters: &[String], tags: &[String]) -> Option<String> {
    let convs = || suites.iter().flat_map(|s| s.conversations.iter().map(move |c| (s, c)));
    if let Some(f) = filters.iter().find(|f| !convs().any(|(s, c)| filter_selects(s, c, f))) {
        return Some(format!("--filter {f:?} matches no conversation"));
    }
    if let Some(t) = tags.iter().find(|t| !convs().any(|(s, c)| tag_selects(s, c, t))) {
        return Some(format!("--tag {t:?} matches no conversation"));
    }
    None
}

fn skip_reason(suite: &Suite, conv: &Conversation, opts: &RunOptions) -> Option<String> {
    if let Some(why) = &conv.skip {
        return Some(why.clone());
    }
    if !opts.filters.is_empty() && !opts.filters.iter().any(|f| filter_selects(suite, conv, f)) {
        return Some("filtered out".to_string());
    }
    if !opts.tags.is_empty() && !opts.tags.iter().any(|t| tag_selects(suite, conv, t)) {
        return Some("filtered out by tag".to_string());
    }
    None
}

fn skipped(conv: &Conversation, why: String) -> CaseResult {
    CaseResult {
        name: conv.name.clone(),
        line: conv.line,
        status: Status::Skipped(why),
        turns: 0,
        mismatches: Vec::new(),
        diff: None,
        golden: None,
        transcript: None,
        panic: None,
        duration: Duration::ZERO,
    }
}

fn guarded(
    suite: &Suite,
    conv: &Conversation,
    opts: &RunOptions,
    exec: &(dyn Fn(&Suite, &Conversation, &RunOptions) -> CaseResult + Sync),
) -> CaseResult {
    let start = Instant::now();
    quietly(|| exec(suite, conv, opts)).unwrap_or_else(|msg| CaseResult {
        panic: Some(msg),
        status: Status::Failed,
        duration: start.elapsed(),
        ..skipped(conv, String::new())
    })
}

/// Runs `f`, turning a panic into its message without printing it: the
/// caller reports it as a failure of its own.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    quiet_panics_in_cases();
    let outer = IN_CASE.with(|c| c.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_CASE.with(|c| c.set(outer));
    r.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-text payload".to_string())
    })
}

thread_local! {
    static IN_CASE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A panic inside a conversation is reported as that conversation's failure,
/// so the default hook's message and backtrace would only be noise there.
fn quiet_panics_in_cases() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CASE.with(|c| c.get()) {
                previous(info);
            }
        }));
    });
}

/// Runs one conversation on the built-in engine and checks it: its
/// expectations, then the suite's properties.
pub fn run_conversation(suite: &Suite, conv: &Conversation, opts: &RunOptions) -> CaseResult {
    let start = Instant::now();
    let fixtures = conv.fixtures.as_deref().unwrap_or(&suite.fixtures);
    let engine = Engine::new(&suite.agent, fixtures);
    let mut chooser = Scripted::new(&conv.choices);
    let mut state = engine.start();
    let mut trace = Trace {
        turns: Vec::with_capacity(conv.events.len()),
        ..Trace::default()
    };
    let mut scratch = Scratch::default();
    for ev in &conv.events {
        engine.step(&mut state, ev, &mut trace, &mut scratch, &mut chooser);
    }
    let broken = property_mismatches(suite, &engine, &state, &trace);
    engine.finish(state, &mut trace);
    let expectations_pass = check::passes(&engine, conv, &trace);
    let passed = expectations_pass && broken.is_empty();
    let (mut mismatches, diff) = if expectations_pass {
        (Vec::new(), None)
    } else {
        let d = check::detail(&engine, conv, &trace);
        let diff = crate::report::diff::unified(&d.expected, &d.actual, "expected", "actual");
        (d.mismatches, Some(diff))
    };
    mismatches.extend(broken);
    let needs_text = !passed || opts.keep_transcripts || conv.transcript.is_some();
    let text = needs_text.then(|| transcript::render(&engine, &conv.name, &conv.events, &trace));
    let golden = match (&conv.transcript, &text) {
        (Some(path), Some(text)) => Some((path.clone(), golden(path, text, passed, opts.bless))),
        _ => None,
    };
    let golden_ok = matches!(golden, None | Some((_, Golden::Matches | Golden::Blessed { .. })));
    let status = if passed && golden_ok {
        Status::Passed
    } else {
        Status::Failed
    };
    let transcript = if status == Status::Failed || opts.keep_transcripts {
        text
    } else {
        None
    };
    CaseResult {
        name: conv.name.clone(),
        line: conv.line,
        status,
        turns: conv.events.len(),
        mismatches,
        diff,
        golden,
        transcript,
        panic: None,
        duration: start.elapsed(),
    }
}

/// The suite's properties on a finished conversation, as mismatches: the
/// safety ones on the trace, the liveness ones from where it stopped.
fn property_mismatches<'s>(suite: &Suite, engine: &Engine<'_>, state: &State<'s>, trace: &Trace<'s>) -> Vec<Mismatch> {
    let props = &suite.properties;
    let mut out: Vec<Mismatch> = check::property::check_trace(props, &suite.agent, trace)
        .into_iter()
        .map(|v| {
            let p = &props[v.property];
            let what = match p.kind {
                PropertyKind::ActionRequires { action, .. } => {
                    format!("'{}' ran", suite.agent.actions[action as usize].name)
                }
                _ => "Escalation".to_string(),
            };
            let missing: Vec<String> = v.missing.iter().map(|m| m.describe(&suite.agent)).collect();
            Mismatch {
                turn: v.turn as usize,
                key: format!("property '{}'", p.name),
                expected: "holds".to_string(),
                actual: format!("{what} while {}", missing.join(", ")),
            }
        })
        .collect();
    let reach: Vec<(&String, u32)> = props
        .iter()
        .filter_map(|p| match p.kind {
            PropertyKind::EscalationReachable { within } => Some((&p.name, within)),
            _ => None,
        })
        .collect();
    if !reach.is_empty() {
        let alphabet = caller_model(suite);
        let start = engine.start();
        for (name, within) in reach {
            // From the start, then from where the conversation stopped.
            for (turn, from) in [(0, &start), (trace.turns.len(), state)] {
                if let Err(tried) = cooperative(engine, from, alphabet, within) {
                    let lines: Vec<String> = tried.iter().map(|&e| alphabet.labels[e].clone()).collect();
                    out.push(Mismatch {
                        turn,
                        key: format!("property '{name}'"),
                        expected: format!(
                            "a cooperative caller is handed off within {within} turns from {}",
                            if turn == 0 { "the start" } else { "here" }
                        ),
                        actual: format!("no handoff after: {}", lines.join(", ")),
                    });
                    break;
                }
            }
        }
    }
    out
}

fn golden(path: &Path, text: &str, passed: bool, bless: bool) -> Golden {
    use crate::files::read::ReadError;
    let current = match crate::files::read_regular(path, crate::files::MAX_FILE_BYTES) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).replace("\r\n", "\n")),
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Golden::Unreadable(e.to_string()),
    };
    // A suite may name any file of its project as its golden: one that
    // baton did not write is neither shown in a diff (it may hold a
    // secret) nor overwritten.
    if current
        .as_deref()
        .is_some_and(|c| !c.is_empty() && !c.starts_with(crate::transcript::HEADER))
    {
        return Golden::Unreadable(format!(
            "it is not a baton transcript (it does not begin with `{}`): its contents are not shown, and --bless does not overwrite it",
            crate::transcript::HEADER.trim_end()
        ));
    }
    if current.as_deref() == Some(text) {
        return Golden::Matches;
    }
    if bless {
        if !passed {
            return Golden::NotBlessed;
        }
        return match atomic_write(path, text.as_bytes()) {
            Ok(()) => Golden::Blessed {
                created: current.is_none(),
            },
            Err(e) => Golden::Unreadable(match crate::report::refusal(&e) {
                Some(r) => format!("refusing to write it: {r}"),
                None => format!("cannot write: {e}"),
            }),
        };
    }
    match current {
        None => Golden::Missing,
        Some(old) => Golden::Differs(crate::report::diff::unified(&old, text, "golden", "actual")),
    }
}

#[cfg(test)]
mod tests {
    use super::quietly;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(quietly(|| 7), Ok(7));
        assert_eq!(quietly(|| -> u32 { panic!("boom {}", 1) }), Err("boom 1".to_string()));
        // Nested: the inner call must not switch the outer quiet mode off.
        let r = quietly(|| {
            let inner = quietly(|| -> () { panic!("inner") });
            assert_eq!(inner, Err("inner".to_string()));
            panic!("outer")
        });
        assert_eq!(r, Err::<(), _>("outer".to_string()));
    }
}
