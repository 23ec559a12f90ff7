//! Searching for caller paths that break a property: [`fuzz`] samples them
//! with proptest, [`verify`] walks all of them up to a depth. Both drive the
//! same engine through [`Branching`], which takes either branch at each point
//! of nondeterminism, and both report a [`Counterexample`]: the minimal
//! caller script, its annotated trace, and a ready-to-run regression suite.

pub mod caller;
pub mod fuzz;
pub mod regression;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::check::property::{Ledger, Missing, Violation, check_turn};
use crate::diag::Diagnostics;
use crate::engine::{Chooser, Engine, State, Trace};
use crate::model::property::{Origin, PropertyKind};
use crate::model::{Choice, Event, Suite};
use crate::nlu::{Scratch, Shape};
use crate::policy::{ActionId, TopicId};
use caller::Alphabet;

/// Takes the alternative branch at the choice points whose bit is set:
/// bit `i` of a turn's word is the turn's `i`-th choice point (an uncertain
/// request, a classifier tie, then action outcomes, in the order the engine
/// meets them). Records
/// the semantic choices when asked, so that they can be written as `choose:`.
#[derive(Clone, Debug)]
pub struct Branching<'b> {
    bits: Bits<'b>,
    turn: u32,
    pos: u32,
    /// Choice points met on the current turn.
    pub points: u32,
    /// The non-nominal choices taken, by 0-based turn (when recording).
    pub record: Option<Vec<(u32, Choice)>>,
    /// Models an LLM that ignores its instructions: the engine then asks
    /// whether it calls tools and hands off unasked (each a choice point).
    pub unbound: bool,
}

#[derive(Clone, Copy, Debug)]
enum Bits<'b> {
    PerTurn(&'b [u32]),
    Fixed(u32),
}

impl<'b> Branching<'b> {
    /// `bits[i]` drives turn `i + 1`.
    pub fn per_turn(bits: &'b [u32]) -> Branching<'b> {
        Branching {
            bits: Bits::PerTurn(bits),
            turn: 0,
            pos: 0,
            points: 0,
            record: None,
            unbound: false,
        }
    }

    /// The same word drives every turn (one step at a time, as `verify` goes).
    pub fn fixed(bits: u32) -> Branching<'static> {
        Branching {
            bits: Bits::Fixed(bits),
            turn: 0,
            pos: 0,
            points: 0,
            record: None,
            unbound: false,
        }
    }

    pub fn recording(mut self) -> Self {
        self.record = Some(Vec::new());
        self
    }

    /// The same chooser for an LLM that ignores its instructions (see
    /// [`crate::engine::Chooser::unbound`]).
    pub fn with_unbound(mut self, unbound: bool) -> Self {
        self.unbound = unbound;
        self
    }

    fn take(&mut self) -> bool {
        let word = match self.bits {
            Bits::PerTurn(v) => v.get(self.turn.saturating_sub(1) as usize).copied().unwrap_or(0),
            Bits::Fixed(w) => w,
        };
        let d = self.pos < 32 && (word >> self.pos) & 1 == 1;
        self.pos += 1;
        self.points += 1;
        d
    }

    fn noted(&mut self) -> Option<&mut Choice> {
        let turn = self.turn.saturating_sub(1);
        let rec = self.record.as_mut()?;
        if rec.last().is_none_or(|r| r.0 != turn) {
            rec.push((turn, Choice::default()));
        }
        rec.last_mut().map(|r| &mut r.1)
    }
}

impl Chooser for Branching<'_> {
    fn turn(&mut self, turn: u32) {
        self.turn = turn;
        self.pos = 0;
        self.points = 0;
    }
    fn request(&mut self, leaning: bool) -> bool {
        if self.take() {
            if let Some(c) = self.noted() {
                c.request = Some(!leaning);
            }
            !leaning
        } else {
            leaning
        }
    }
    fn topic(&mut self, best: TopicId, runner_up: TopicId) -> TopicId {
        if self.take() {
            if let Some(c) = self.noted() {
                c.topic = Some(runner_up);
            }
            runner_up
        } else {
            best
        }
    }
    fn action_ok(&mut self, action: ActionId, ok: bool) -> bool {
        if self.take() {
            if let Some(c) = self.noted() {
                if ok {
                    c.fail.push(action);
                } else {
                    c.succeed.push(action);
                }
            }
            !ok
        } else {
            ok
        }
    }
    fn unbound(&self) -> bool {
        self.unbound
    }
    fn llm_escalates(&mut self, _topic: TopicId) -> bool {
        let take = self.take();
        if take && let Some(c) = self.noted() {
            c.llm_escalates = true;
        }
        take
    }
    fn llm_calls(&mut self, action: ActionId) -> bool {
        let take = self.take();
        if take && let Some(c) = self.noted() {
            c.llm_calls.push(action);
        }
        take
    }
}

/// A property's outcome in a search.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// No path found that breaks it, and the search went as far as it was
    /// asked to (fuzz: every case; verify: every path up to the depth).
    Held,
    /// A counterexample: real whether or not the search finished.
    Violated(Box<Counterexample>),
    /// verify stopped at its state limit without a counterexample: every
    /// path of up to `depth` turns was checked, and nothing is known beyond.
    Inconclusive { depth: u32 },
    /// fuzz `--fail-fast` stopped at a case that broke other properties
    /// before this one was searched to the end: nothing is known of it.
    NotSearched,
}

#[derive(Clone, Debug)]
pub struct PropertyResult {
    pub name: String,
    /// "declared at line 12", "implied by guard Billing #2".
    pub origin: String,
    /// What a HOLDS verdict assumes (see [`crate::model::property::assumptions`]).
    pub assumptions: Vec<String>,
    pub outcome: Outcome,
    /// How a safety property that held holds (verify only; `None` for
    /// liveness, for fuzz, and for properties that did not hold).
    pub level: Option<Level>,
}

/// The assurance level of a property that held for an LLM that obeys the
/// instructions baton compiled: whether it also holds for one that ignores
/// them and calls any tool the agent's structure makes available.
#[derive(Clone, Debug)]
pub enum Level {
    /// It holds by structure: an LLM that ignores every instruction cannot
    /// break it either, on every path of up to `depth` turns, or of any
    /// length when that search `closed` (its graph is larger than the
    /// obedient one's, so it may close later or not at all).
    Structure { depth: u32, closed: bool },
    /// It holds only while the LLM obeys the instructions: the shortest
    /// script on which an LLM that ignores them breaks it.
    Instruction(Box<Counterexample>),
    /// It holds for an obedient LLM; for one that ignores its instructions
    /// the search stopped at its state limit with nothing found up to
    /// `depth` turns, so no structural claim is made.
    StructureUnknown { depth: u32 },
}

impl Level {
    /// "by structure", "by instruction": the words reports use.
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Structure { .. } => "by structure",
            Level::Instruction(_) | Level::StructureUnknown { .. } => "by instruction",
        }
    }
}

/// A minimal caller script that breaks a property.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// Caller turns (the continuation of a liveness failure not counted).
    pub turns: usize,
    pub events: Vec<Event>,
    pub choices: Vec<(u32, Choice)>,
    /// The turn where it broke (for liveness: the last scripted turn).
    pub at_turn: u32,
    /// What was missing, in words.
    pub missing: Vec<String>,
    /// The annotated trace, the offending step marked.
    pub trace: String,
    /// The regression suite, as YAML.
    pub yaml: String,
    /// Where the regression suite was written.
    pub written: Option<PathBuf>,
}

/// Figures of a search over one suite.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Fuzz: cases generated and turns played.
    pub cases: u64,
    pub turns: u64,
    /// Verify: distinct states, transitions, depth reached, and whether the
    /// reachable state graph closed before the bound.
    pub states: u64,
    pub transitions: u64,
    pub depth: u32,
    pub closed: bool,
    /// Verify's symbolic search: the decision-diagram nodes its sets of
    /// states took at the end (what `--max-states` bounds there); 0 for a
    /// search that stores states one by one.
    pub nodes: u64,
    /// verify stopped at its state limit before the depth bound.
    pub limited: bool,
    /// fuzz `--fail-fast` stopped at the first case that broke a property.
    pub stopped: bool,
}

#[derive(Clone, Debug)]
pub struct SuiteSearch {
    pub name: String,
    pub path: PathBuf,
    pub agent: String,
    pub stats: Stats,
    pub properties: Vec<PropertyResult>,
    pub duration: Duration,
    /// Why nothing was searched (no properties), if so.
    pub skipped: Option<String>,
    /// The search broke down (the engine panicked): a bug in baton, reported
    /// as a failure.
    pub error: Option<String>,
    /// What the caller model could not cover, which weakens what a pass means.
    pub warnings: Vec<String>,
    /// Warnings about the agent ([`crate::lint`]).
    pub agent_warnings: Vec<String>,
    /// The suite the agent's implied properties were checked with, when
    /// not this one (they are then not repeated here).
    pub implied_with: Option<String>,
}

impl SuiteSearch {
    /// A suite nothing was found in yet.
    pub fn empty(suite: &Suite) -> SuiteSearch {
        SuiteSearch {
            name: suite.name.clone(),
            path: suite.path.clone(),
            agent: suite.agent.name.clone(),
            stats: Stats::default(),
            properties: Vec::new(),
            duration: Duration::ZERO,
            skipped: None,
            error: None,
            warnings: Vec::new(),
            agent_warnings: crate::lint::warnings(&suite.agent),
            implied_with: None,
        }
    }

    /// A finished search: each property with its counterexample, if any;
    /// without one, held, or inconclusive if the search hit its state limit.
    pub fn finished(
        suite: &Suite,
        stats: Stats,
        start: std::time::Instant,
        mut counterexample: impl FnMut(usize) -> Option<Counterexample>,
    ) -> SuiteSearch {
        let properties = suite
            .properties
            .iter()
            .enumerate()
            .map(|(i, p)| PropertyResult {
                name: p.name.clone(),
                origin: p.origin_text(&suite.agent),
                assumptions: p.assumptions.clone(),
                outcome: match counterexample(i) {
                    Some(ce) => Outcome::Violated(Box::new(ce)),
                    None if stats.limited => Outcome::Inconclusive { depth: stats.depth },
                    None if stats.stopped => Outcome::NotSearched,
                    None => Outcome::Held,
                },
                level: None,
            })
            .collect();
        SuiteSearch {
            stats,
            properties,
            duration: start.elapsed(),
            warnings: coverage_warnings(suite),
            ..SuiteSearch::empty(suite)
        }
    }
}

/// What kind of search produced a report, with its settings.
#[derive(Clone, Debug)]
pub enum Mode {
    Fuzz {
        seed: u64,
        cases: u32,
        max_turns: u32,
        /// Stop at the first case that breaks a property (`--fail-fast`).
        fail_fast: bool,
    },
    Verify {
        depth: u32,
        max_states: u64,
        /// Apply verify's sound reductions (off with `--no-reductions`).
        reduce: bool,
    },
}

#[derive(Clone, Debug)]
pub struct SearchReport {
    pub mode: Mode,
    pub suites: Vec<SuiteSearch>,
    pub duration: Duration,
    pub timestamp: chrono::DateTime<chrono::FixedOffset>,
    /// The run's id in every report ([`crate::report::new_run_id`]).
    pub run_id: String,
    /// The user accepts inconclusive properties (`verify
    /// --accept-inconclusive`): they are then reported as skipped, not as
    /// failures. Set by the caller of [`search_all`]; it changes no result.
    pub accept_inconclusive: bool,
}

impl SearchReport {
    pub fn violations(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Violated(_)))
    }

    /// Properties left unproven by a search that hit its state limit.
    pub fn inconclusive(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Inconclusive { .. }))
    }

    /// Properties `--fail-fast` left unsearched.
    pub fn not_searched(&self) -> usize {
        self.count(|o| matches!(o, Outcome::NotSearched))
    }

    fn count(&self, which: impl Fn(&Outcome) -> bool) -> usize {
        self.suites
            .iter()
            .flat_map(|s| &s.properties)
            .filter(|p| which(&p.outcome))
            .count()
    }

    /// Whether CI should fail on this search: a violation, a search that
    /// broke down, or a property nothing was proven about (unless accepted).
    pub fn failed(&self) -> bool {
        self.violations() > 0 || self.errors() > 0 || (self.inconclusive() > 0 && !self.accept_inconclusive)
    }

    /// Suites whose search broke down.
    pub fn errors(&self) -> usize {
        self.suites.iter().filter(|s| s.error.is_some()).count()
    }
}

/// Caller lines taken from a suite: enough for realistic phrasings and slot
/// values, few enough that the caller model stays small on a large suite.
pub const HARVEST_LIMIT: usize = 1_000;

/// The longest text, in bytes, that the caller models take as a sample
/// (a suite's caller line, a topic's utterance or description). Callers
/// say a sentence or two; a search plays its samples over and over, and a
/// 10 MB caller line made `fuzz` run for hours.
pub const MAX_SAMPLE_BYTES: usize = 4 * 1024;

/// Whether the caller models may take `text` as a sample.
pub fn is_sample(text: &str) -> bool {
    text.len() <= MAX_SAMPLE_BYTES
}

/// The distinct caller lines of the conversations of every suite loaded
/// over the suite's agent (the first [`HARVEST_LIMIT`]): realistic
/// utterances and slot values for the caller models.
pub fn harvest(suite: &Suite) -> Vec<&str> {
    suite.caller.lines.iter().map(String::as_str).collect()
}

/// The abstract caller model of the suite's agent (built once per agent).
pub fn caller_model(suite: &Suite) -> &Alphabet {
    suite
        .caller
        .model
        .get_or_init(|| Alphabet::new(&suite.agent, &harvest(suite)))
}

/// What the suite's caller model cannot do: a topic no utterance
/// classifies to cannot be entered, a slot without a valid value cannot be
/// filled, and without a phrasing read as a request nobody asks for a human.
pub fn coverage_warnings(suite: &Suite) -> Vec<String> {
    let a = caller_model(suite);
    let agent = &suite.agent;
    let mut out = Vec::new();
    for &t in &a.unreachable_topics {
        out.push(format!(
            "no utterance of topic {} classifies to it (add `utterances`): the search never enters it",
            agent.topics[t as usize].name
        ));
    }
    for (i, v) in a.slot_valid.iter().enumerate() {
        if v.is_none() {
            let slot = &agent.slots[i];
            let why =
                match caller::too_complex(slot.extractor.source()).filter(|_| slot.extractor.shape == Shape::Pattern) {
                    Some(why) => format!(" (the pattern is too complex to generate one from: {why})"),
                    None => String::new(),
                };
            out.push(format!(
                "no valid value found for slot '{}'{why} (add a conversation line that gives one): the search never fills it",
                slot.name
            ));
        }
    }
    if a.request.is_none() {
        out.push("no phrasing of a request for a human reads as one: the search never asks for a human".to_string());
    }
    out
}

/// Replays a found path and builds its counterexample: the recorded
/// choices, the violation, the annotated trace (with the cooperative
/// caller's turns after a liveness failure) and the regression YAML.
pub fn counterexample(
    suite: &Suite,
    property: usize,
    events: &[Event],
    bits: &[u32],
    alphabet: &Alphabet,
    source: &str,
    unbound: bool,
) -> Counterexample {
    let engine = Engine::new(&suite.agent, &suite.fixtures);
    let prop = &suite.properties[property];
    let mut chooser = Branching::per_turn(bits).recording().with_unbound(unbound);
    let mut all: Vec<Event> = events.to_vec();
    let mut state: State<'_> = engine.start();
    let mut trace = Trace::default();
    let mut scratch = Scratch::default();
    let mut ledger = Ledger::new(&suite.agent);
    let mut violation: Option<Violation> = None;
    for (i, ev) in events.iter().enumerate() {
        engine.step(&mut state, ev, &mut trace, &mut scratch, &mut chooser);
        let turn = &trace.turns[i];
        check_turn(&suite.properties, &ledger, &trace, turn, |p, missing| {
            if p == property && violation.is_none() {
                violation = Some(Violation {
                    property,
                    turn: i as u32 + 1,
                    missing,
                });
            }
        });
        ledger.apply(&trace, turn);
    }
    let choices = chooser.record.unwrap_or_default();
    let mut continuation = Vec::new();
    if let PropertyKind::EscalationReachable { within } = prop.kind
        && violation.is_none()
    {
        if let Err(tried) = caller::cooperative(&engine, &state, alphabet, within) {
            continuation = tried;
        }
        violation = Some(Violation {
            property,
            turn: events.len() as u32,
            missing: vec![Missing::Handoff { within }],
        });
    }
    // The cooperative caller's turns, replayed on the same trace for the report.
    let mut state2 = state;
    for &ev in &continuation {
        all.push(alphabet.events[ev].clone());
    }
    for ev in &all[events.len()..] {
        engine.step(&mut state2, ev, &mut trace, &mut scratch, &mut crate::engine::Nominal);
    }
    let violation = violation.unwrap_or(Violation {
        property,
        turn: events.len() as u32,
        missing: Vec::new(),
    });
    let missing: Vec<String> = violation.missing.iter().map(|m| m.describe(&suite.agent)).collect();
    let name = format!("{}: counterexample", prop.name);
    let mut text = crate::transcript::render(&engine, &name, &all, &trace);
    let marker = match prop.kind {
        PropertyKind::EscalationReachable { .. } => format!(
            "    >>> VIOLATION of '{}': {}{}",
            prop.name,
            missing.join("; "),
            match continuation.len() {
                0 => String::new(),
                1 => format!(" (turn {} is the cooperative caller's)", events.len() + 1),
                n => format!(
                    " (turns {}-{} are the cooperative caller's)",
                    events.len() + 1,
                    events.len() + n
                ),
            }
        ),
        PropertyKind::ActionRequires { action, .. } => format!(
            "    >>> VIOLATION of '{}': '{}' ran while {}",
            prop.name,
            suite.agent.actions[action as usize].name,
            missing.join(", ")
        ),
        PropertyKind::EscalationRequires(_) => format!(
            "    >>> VIOLATION of '{}': Escalation while {}",
            prop.name,
            missing.join(", ")
        ),
        PropertyKind::Avoids(_) => format!("    >>> '{}' taken", prop.name),
    };
    mark_turn(&mut text, violation.turn, &marker);
    // A conversation needs a turn: a failure from the start replays with
    // any first turn, as `baton run` checks liveness from the start too.
    let first: Vec<Event> = alphabet
        .request
        .map(|e| alphabet.events[e].clone())
        .into_iter()
        .collect();
    let script = if events.is_empty() { &first[..] } else { events };
    let yaml = regression::yaml(suite, property, script, &choices, &violation, source);
    Counterexample {
        turns: events.len(),
        events: events.to_vec(),
        choices,
        at_turn: violation.turn,
        missing,
        trace: text,
        yaml,
        written: None,
    }
}

/// Inserts `marker` as the last line of turn `turn`'s block (turn 0: before
/// the first turn).
fn mark_turn(text: &mut String, turn: u32, marker: &str) {
    if turn == 0
        && let Some(at) = text.find("\n[1] ")
    {
        text.insert_str(at, &format!("\n{marker}"));
        return;
    }
    let head = format!("\n[{turn}] ");
    let Some(start) = text.find(&head) else {
        text.push_str(marker);
        text.push('\n');
        return;
    };
    let block_end = text[start + 1..].find("\n\n").map_or(text.len(), |i| start + 1 + i + 1);
    text.insert_str(block_end, &format!("{marker}\n"));
}

/// How a search runs over a set of suites.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    pub mode: Mode,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Where regression suites are written; `None` writes none.
    pub regressions: Option<PathBuf>,
}

/// What a search reports while it runs (for progress bars and logs).
pub trait SearchProgress: Sync {
    /// The amount of work ahead: fuzz cases, or suites for verify.
    fn start(&self, _work: u64) {}
    /// `n` more units of work are done.
    fn advance(&self, _n: u64) {}
    /// A suite is finished (`done` of `total`).
    fn suite_done(&self, _done: usize, _total: usize, _suite: &SuiteSearch) {}
    /// verify finished a layer of a suite's search.
    fn layer(&self, _suite: &str, _layer: verify::Layer) {}
}

impl SearchProgress for () {}

/// Why a search leaves a suite alone, if it does.
fn skip_reason(suite: &Suite) -> Option<String> {
    if suite.properties.is_empty() {
        Some("no properties: the suite declares none and the agent's guards imply none".to_string())
    } else if regression::is_regression_file(&suite.path) {
        Some("a regression suite written by a search; `baton run` replays it".to_string())
    } else {
        None
    }
}

/// What `fuzz` and `verify` need of the suites they search beyond what
/// `run` does, checked before any search starts: a value for every
/// `pattern` slot. Values are generated from the pattern unless it is too
/// complex to (see [`caller::too_complex`]); then a conversation line of
/// the suite must give one. Generating anyway would grind for minutes and
/// gigabytes before the search began.
///
/// This is a load error (exit 2, nothing searched or written), not a
/// failed search (exit 1): it is known from the files alone, says nothing
/// about how the agent behaves, and is fixed by editing them.
pub fn check_searchable(suites: &[Suite]) -> Result<(), Diagnostics> {
    let mut errs = Diagnostics::default();
    for suite in suites.iter().filter(|s| skip_reason(s).is_none()) {
        let lines = harvest(suite);
        for slot in &suite.agent.slots {
            if slot.extractor.shape != Shape::Pattern {
                continue;
            }
            let Some(why) = caller::too_complex(slot.extractor.source()) else {
                continue;
            };
            if lines.iter().any(|l| slot.extractor.find(l).is_some()) {
                continue;
            }
            errs.push(
                slot.src
                    .error(format!(
                        "pattern of slot '{}' is too complex for fuzz and verify to generate values from ({why}): expected a sample value in a caller line of the suite",
                        slot.name
                    ))
                    .with_help(Some(format!(
                    "{}add a turn such as `caller: \"my {} is ...\"` with a real value to a conversation of {}",
                    match why {
                        // Only the first group is the value.
                        caller::TooComplex::Groups(_) => "make all groups but the first non-capturing, (?:...), or ",
                        caller::TooComplex::Size(_) => "simplify the pattern, or ",
                    },
                    crate::model::agent::humanize(&slot.name),
                    suite.path.display()
                ))),
            );
        }
    }
    errs.into_result(())
}

/// Searches every suite (in order) and writes the regression suites.
pub fn search_all(
    suites: &[Suite],
    opts: &SearchOptions,
    progress: &dyn SearchProgress,
) -> Result<SearchReport, rayon::ThreadPoolBuildError> {
    let start = std::time::Instant::now();
    let timestamp = chrono::Local::now().fixed_offset();
    let run_id = crate::report::new_run_id();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs).build()?;
    let mut names_taken = std::collections::HashSet::new();
    // The agent's implied properties are checked with the first suite over
    // it (and the same fixtures): the others would only repeat them.
    let mut implied_by: Vec<Option<usize>> = vec![None; suites.len()];
    for (i, suite) in suites.iter().enumerate() {
        if skip_reason(suite).is_some() {
            continue;
        }
        implied_by[i] = suites[..i].iter().enumerate().position(|(j, other)| {
            implied_by[j].is_none()
                && skip_reason(other).is_none()
                && Arc::ptr_eq(&other.agent, &suite.agent)
                && other.fixtures == suite.fixtures
        });
    }
    let skip_reason = |i: usize, suite: &Suite| {
        skip_reason(suite).or_else(|| {
            let first = implied_by[i]?;
            suite
                .properties
                .iter()
                .all(|p| matches!(p.origin, Origin::Implied { .. }))
                .then(|| {
                    format!(
                        "only the agent's implied properties, checked with suite '{}'",
                        suites[first].name
                    )
                })
        })
    };
    let searched = (suites.iter().enumerate())
        .filter(|(i, s)| skip_reason(*i, s).is_none())
        .count() as u64;
    progress.start(match opts.mode {
        Mode::Fuzz { cases, .. } => searched * u64::from(cases),
        Mode::Verify { .. } => searched,
    });
    let mut out = Vec::with_capacity(suites.len());
    pool.install(|| {
        for (si, suite) in suites.iter().enumerate() {
            let skip = skip_reason(si, suite);
            let mut result = match skip {
                Some(why) => SuiteSearch {
                    skipped: Some(why),
                    ..SuiteSearch::empty(suite)
                },
                None => {
                    let searched = crate::runner::quietly(|| match &opts.mode {
                        Mode::Fuzz {
                            seed,
                            cases,
                            max_turns,
                            fail_fast,
                        } => fuzz::fuzz_suite_with(
                            suite,
                            &fuzz::FuzzOptions {
                                seed: *seed,
                                cases: *cases,
                                max_turns: *max_turns,
                                fail_fast: *fail_fast,
                            },
                            progress,
                        ),
                        Mode::Verify {
                            depth,
                            max_states,
                            reduce,
                        } => {
                            let opts = verify::VerifyOptions {
                                depth: *depth,
                                max_states: *max_states,
                                reduce: *reduce,
                                unbound: false,
                                symbolic: true,
                            };
                            let r = verify::verify_suite_with(suite, &opts, &|l| progress.layer(&suite.name, l));
                            progress.advance(1);
                            r
                        }
                    });
                    searched.unwrap_or_else(|msg| SuiteSearch {
                        error: Some(format!("the engine panicked during the search: {msg}")),
                        ..SuiteSearch::empty(suite)
                    })
                }
            };
            // Implied properties already checked with an earlier suite.
            let repeated =
                |i: usize| implied_by[si].is_some() && matches!(suite.properties[i].origin, Origin::Implied { .. });
            for (i, p) in result.properties.iter_mut().enumerate() {
                let Outcome::Violated(ce) = &mut p.outcome else {
                    continue;
                };
                if repeated(i) {
                    continue;
                }
                let written = opts.regressions.as_ref().map(|dir| {
                    // Two properties or suites may slug alike: number the later ones.
                    let base = regression::file_name(suite, i);
                    let stem = base.trim_end_matches(".yaml").to_string();
                    let name = (1..)
                        .map(|n| {
                            if n == 1 {
                                base.clone()
                            } else {
                                format!("{stem}-{n}.yaml")
                            }
                        })
                        .find(|n| names_taken.insert(n.clone()))
                        .unwrap_or(base);
                    regression::write(suite, &ce.yaml, &dir.join(name))
                });
                match written {
                    Some(Ok((path, text))) => {
                        ce.written = Some(path);
                        ce.yaml = text;
                    }
                    other => {
                        if let Some(Err(e)) = other {
                            let dir = opts.regressions.as_deref().unwrap_or(std::path::Path::new("."));
                            eprintln!(
                                "warning: cannot write the regression suite for '{}' in {}: {e}",
                                p.name,
                                dir.display()
                            );
                        }
                        ce.yaml = regression::with_agent(&ce.yaml, &suite.agent.path.to_string_lossy());
                    }
                }
            }
            if let Some(first) = implied_by[si].filter(|_| result.skipped.is_none()) {
                let mut i = 0;
                result.properties.retain(|_| {
                    i += 1;
                    !repeated(i - 1)
                });
                result.implied_with = Some(suites[first].name.clone());
            }
            progress.suite_done(out.len() + 1, suites.len(), &result);
            out.push(result);
        }
    });
    Ok(SearchReport {
        mode: opts.mode.clone(),
        suites: out,
        duration: start.elapsed(),
        timestamp,
        run_id,
        accept_inconclusive: false,
    })
}
