//! Command-line interface: argument parsing (clap) and the mapping of
//! outcomes to exit codes: 0 all passed, 1 failures (for verify, also a
//! property left inconclusive, unless accepted), 2 usage or load errors.
//! `import` and `export` only map flags to [`testing_center`] and print its
//! outcome.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::diag::Diagnostics;
use crate::explore::{Mode, SearchOptions, SearchProgress, SuiteSearch, check_searchable, search_all};
use crate::files::Confinement;
use crate::model::{Agent, load_suites_with};
use crate::report::{self, console::Console, json, junit, search as search_report};
use crate::runner::{self, CaseResult, Progress, RunOptions};
use crate::testing_center;

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "Regression tests for how call-center agents hand callers to humans"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run caller suites against the built-in escalation engine.
    Run(RunArgs),
    /// Generate caller scripts (property-based) and check every property on each.
    Fuzz(FuzzArgs),
    /// Check every property on every caller path up to a depth (exhaustive).
    Verify(VerifyArgs),
    /// Show what an agent's instructions compiled to and which escalation paths bypass them.
    Explain {
        /// The agent: a baton YAML file, an overlay, or a Salesforce DX project, package or bundle folder (PATH#Name picks one of several agents).
        agent: PathBuf,
        /// Longest caller path searched for the escalation paths that bypass topic guards, in turns.
        #[arg(long, default_value_t = crate::explain::reach::Options::default().depth, value_parser = clap::value_parser!(u32).range(1..=64))]
        depth: u32,
        /// Store at most this many distinct states in that search; a path it stops before finding is "not shown
        /// reachable", never unreachable.
        #[arg(long, default_value_t = crate::explain::reach::Options::default().max_states, value_parser = clap::value_parser!(u64).range(1..))]
        max_states: u64,
    },
    /// Turn another tool's tests into a baton suite.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Turn a baton suite into another tool's tests.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// A Salesforce Testing Center test: legacy or NGT spec YAML, AiEvaluationDefinition or AiTestingDefinition XML.
    TestingCenter(ImportTestingCenterArgs),
}

#[derive(Debug, Args)]
pub struct ImportTestingCenterArgs {
    /// The spec YAML or the metadata XML.
    pub file: PathBuf,
    /// The suite to write (default: suites/<subjectName>.testing-center.yaml).
    #[arg(short, long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// The suite's `agent:`, a path from OUT's folder; topic and action names are checked against it when baton can load it (default: the spec's subjectName, to be set by hand).
    #[arg(long, value_name = "AGENT")]
    pub agent: Option<String>,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// A Salesforce Testing Center spec YAML for `sf agent test create`.
    TestingCenter(ExportTestingCenterArgs),
}

#[derive(Debug, Args)]
pub struct ExportTestingCenterArgs {
    /// The suite file.
    pub suite: PathBuf,
    /// The spec to write (default: specs/<Agent>-testSpec.yaml, or specs/<Agent>-ngtTestSpec.yaml for ngt).
    #[arg(short, long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// The spec dialect: legacy (expectedTopic, expectedActions) or ngt (inputs and scorers).
    #[arg(long, value_enum, default_value_t = SpecFormat::Legacy)]
    pub format: SpecFormat,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub root: RootArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SpecFormat {
    Legacy,
    Ngt,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Suite files or folders (searched recursively for YAML with a `suite:` key).
    #[arg(default_value = "suites")]
    pub paths: Vec<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(short, long, default_value_t = 0)]
    pub jobs: usize,
    /// Write a JUnit XML report (default file: reports/junit.xml).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "reports/junit.xml")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report of every conversation (default file: reports/baton.json).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "reports/baton.json")]
    pub json: Option<PathBuf>,
    /// Write or update golden transcripts of conversations whose expectations pass.
    #[arg(long)]
    pub bless: bool,
    /// Run only conversations whose "suite :: conversation" name contains this text (repeatable).
    #[arg(short = 'E', long = "filter", value_name = "TEXT")]
    pub filters: Vec<String>,
    /// Run only conversations with this tag, on the conversation or its suite (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Print only failures and the summary.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub root: RootArgs,
    /// Fail (exit 1) when an agent has warnings (unbound instructions, policies that never bind, no route), as clippy's -D warnings does.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Where the paths a suite names may lead (see the README's "Running baton
/// on untrusted suites").
#[derive(Debug, Args)]
pub struct RootArgs {
    /// Project root that every path a suite names must stay inside (default: the nearest folder above the suite holding .git or sfdx-project.json, else the folder given on the command line).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Let suites name paths anywhere (agents kept outside the project); only for trusted suites.
    #[arg(long, conflicts_with = "root")]
    pub allow_outside_root: bool,
}

impl RootArgs {
    fn confinement(&self) -> Confinement {
        match (&self.root, self.allow_outside_root) {
            (_, true) => Confinement::Off,
            (Some(dir), false) => Confinement::Root(dir.clone()),
            (None, false) => Confinement::Auto,
        }
    }
}

/// What `fuzz` and `verify` share.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Suite files or folders; their declared properties and the agents' implied ones are checked.
    #[arg(default_value = "suites")]
    pub paths: Vec<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(short, long, default_value_t = 0)]
    pub jobs: usize,
    /// Folder for the regression suites of counterexamples.
    #[arg(long, value_name = "DIR", default_value = "suites/regressions")]
    pub regressions: PathBuf,
    /// Write no regression suites.
    #[arg(long, conflicts_with = "regressions")]
    pub no_regressions: bool,
    /// Print only violations and the summary.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub root: RootArgs,
    /// Fail (exit 1) when an agent has warnings (unbound instructions, policies that never bind, no route), as clippy's -D warnings does.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Args)]
pub struct FuzzArgs {
    #[command(flatten)]
    pub common: SearchArgs,
    /// Write a JUnit XML report, one testcase per property per suite (default file: reports/fuzz-junit.xml).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "reports/fuzz-junit.xml")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report (default file: reports/fuzz.json).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "reports/fuzz.json")]
    pub json: Option<PathBuf>,
    /// Seed of the generator: the same seed gives the same cases on any thread count.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Caller scripts per suite.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: u32,
    /// Longest caller script, in turns.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_turns: u32,
    /// Stop a suite's search at the first case that breaks a property, and shrink it; the properties it does not
    /// break are reported as not searched.
    #[arg(long)]
    pub fail_fast: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: SearchArgs,
    /// Write a JUnit XML report, one testcase per property per suite (default file: reports/verify-junit.xml).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "reports/verify-junit.xml")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report (default file: reports/verify.json).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "reports/verify.json")]
    pub json: Option<PathBuf>,
    /// Longest path explored, in turns.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub depth: u32,
    /// Store at most this many distinct states per suite (or, where states are kept as sets, this many
    /// decision-diagram nodes, each standing for many states); a search stopped by it leaves every property it did
    /// not refute INCONCLUSIVE beyond the depth fully checked, which fails the run unless --accept-inconclusive.
    #[arg(long, default_value_t = 500_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_states: u64,
    /// Exit 0 when properties are inconclusive (the state limit was reached before the depth) and none is violated;
    /// their JUnit testcases are then <skipped> instead of <error>.
    #[arg(long)]
    pub accept_inconclusive: bool,
    /// Store the engine's states exactly as they are: no state is merged with another that behaves alike (slower;
    /// for checking the reductions).
    #[arg(long)]
    pub no_reductions: bool,
}

/// Exit code for a run with failures.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for usage and load errors.
pub const EXIT_USAGE: u8 = 2;

/// Runs a parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    // Without the handler an interrupted write leaves its temporary file
    // until the next run in that folder; nothing else depends on it.
    let _ = report::file::remove_temporaries_on_signal();
    match cli.command {
        Command::Run(args) => run(args),
        Command::Fuzz(args) => search(
            Mode::Fuzz {
                seed: args.seed,
                cases: args.cases,
                max_turns: args.max_turns,
                fail_fast: args.fail_fast,
            },
            args.common,
            [args.junit, args.json],
            false,
        ),
        Command::Verify(args) => search(
            Mode::Verify {
                depth: args.depth,
                max_states: args.max_states,
                reduce: !args.no_reductions,
            },
            args.common,
            [args.junit, args.json],
            args.accept_inconclusive,
        ),
        Command::Explain {
            agent,
            depth,
            max_states,
        } => match Agent::load(&agent) {
            Ok(a) => {
                let opts = crate::explain::reach::Options { depth, max_states };
                let text = crate::explain::explain(&std::sync::Arc::new(a), &opts);
                let mut out = anstream::stdout();
                let _ = out.write_all(text.as_bytes());
                ExitCode::SUCCESS
            }
            Err(d) => load_errors(&d),
        },
        Command::Import {
            what: ImportWhat::TestingCenter(a),
        } => converted(testing_center::import(&testing_center::ImportOptions {
            input: a.file,
            output: a.output,
            agent: a.agent,
            force: a.force,
        })),
        Command::Export {
            what: ExportWhat::TestingCenter(a),
        } => converted(testing_center::export(&testing_center::ExportOptions {
            confinement: a.root.confinement(),
            suite: a.suite,
            output: a.output,
            dialect: match a.format {
                SpecFormat::Legacy => testing_center::Dialect::Legacy,
                SpecFormat::Ngt => testing_center::Dialect::Ngt,
            },
            force: a.force,
        })),
    }
}

/// An import or export: warnings and the summary on stderr, exit 0; or
/// its errors, exit 2.
fn converted(result: Result<testing_center::Outcome, Diagnostics>) -> ExitCode {
    match result {
        Ok(o) => {
            for w in &o.warnings {
                eprintln!("warning: {w}");
            }
            for line in &o.summary {
                eprintln!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(d) => errors(&d, "; nothing was written"),
    }
}

/// A report file: its name in messages, its path if asked for, and its writer.
type ReportFile<'a, R> = (&'static str, &'a Option<PathBuf>, fn(&R, &Path) -> std::io::Result<()>);

/// Writes every report asked for, naming the run they belong to, and tells
/// whether all were written. A report that cannot be written does not stop
/// the others: CI keeps what can be kept, and the caller still exits 2, as
/// CI cannot trust a run whose report is missing.
fn write_reports<R>(result: &R, run_id: &str, reports: &[ReportFile<'_, R>]) -> bool {
    let mut all = true;
    for (what, path, write) in reports {
        let Some(path) = path else { continue };
        // The usual way to ask for no file; replacing the device would break
        // the machine (as root) or fail (otherwise).
        if path == Path::new("/dev/null") {
            eprintln!("{what} report: not written (/dev/null)");
            continue;
        }
        match write(result, path) {
            Ok(()) => eprintln!("{what} report: {} (run {run_id})", path.display()),
            Err(e) => {
                match report::refusal(&e) {
                    Some(r) => eprintln!("error: refusing to write the {what} report to {}: {r}", path.display()),
                    None => eprintln!("error: cannot write {what} report {}: {e}", path.display()),
                }
                all = false;
            }
        }
    }
    all
}

/// `--junit suites/` would take the suite folder for the report file.
fn check_report_paths(paths: &[(&str, &Option<PathBuf>)]) -> Result<(), ExitCode> {
    for (flag, path) in paths {
        let Some(path) = path else { continue };
        let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
        let folder = path.is_dir() || path.as_os_str().to_string_lossy().ends_with(std::path::MAIN_SEPARATOR);
        if folder || yaml {
            eprintln!(
                "error: {flag} takes the report file to write, not {} (write `{flag}=FILE`, or put {flag} after the suite paths)",
                path.display()
            );
            return Err(ExitCode::from(EXIT_USAGE));
        }
    }
    Ok(())
}

fn search(mode: Mode, args: SearchArgs, [junit, json]: [Option<PathBuf>; 2], accept_inconclusive: bool) -> ExitCode {
    if let Err(code) = check_report_paths(&[("--junit", &junit), ("--json", &json)]) {
        return code;
    }
    if !args.no_regressions && args.regressions.exists() && !args.regressions.is_dir() {
        eprintln!(
            "error: --regressions takes a folder, and {} is a file",
            args.regressions.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let suites = match load(&args.paths, &args.root)
        .and_then(|s| check_searchable(&s).map(|()| s).map_err(|d| load_errors(&d)))
    {
        Ok(s) => s,
        Err(code) => return code,
    };
    let opts = SearchOptions {
        mode,
        jobs: args.jobs,
        regressions: (!args.no_regressions).then_some(args.regressions),
    };
    let bar = SearchBar {
        bar: Bar::new(),
        quiet: args.quiet,
        unit: match opts.mode {
            Mode::Fuzz { .. } => "cases",
            Mode::Verify { .. } => "suites",
        },
    };
    let mut report = match search_all(&suites, &opts, &bar) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start {} worker threads: {e}", args.jobs);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    bar.bar.clear();
    report.accept_inconclusive = accept_inconclusive;
    let mut out = anstream::stdout().lock();
    let _ = search_report::console(&report, args.quiet, &mut out);
    let _ = out.flush();
    let written = write_reports(
        &report,
        &report.run_id,
        &[
            ("JUnit", &junit, search_report::write_junit),
            ("JSON", &json, search_report::write_json),
        ],
    );
    if !written {
        return ExitCode::from(EXIT_USAGE);
    }
    if report.failed() || denied(args.deny_warnings, &suites) {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn run(args: RunArgs) -> ExitCode {
    if let Err(code) = check_report_paths(&[("--junit", &args.junit), ("--json", &args.json)]) {
        return code;
    }
    let suites = match load(&args.paths, &args.root) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(unmatched) = runner::unmatched_selector(&suites, &args.filters, &args.tags) {
        eprintln!("error: {unmatched}; check the spelling");
        return ExitCode::from(EXIT_USAGE);
    }
    let opts = RunOptions {
        jobs: args.jobs,
        filters: args.filters,
        tags: args.tags,
        bless: args.bless,
        keep_transcripts: args.junit.is_some() || args.json.is_some(),
    };
    let bar = Bar::new();
    let result = match runner::run(&suites, &opts, &bar) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start {} worker threads: {e}", args.jobs);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    bar.clear();
    let counts = result.counts();
    let mut out = anstream::stdout().lock();
    let _ = Console { quiet: args.quiet }.report(&result, &mut out);
    let _ = out.flush();
    let written = write_reports(
        &result,
        &result.run_id,
        &[("JUnit", &args.junit, junit::write), ("JSON", &args.json, json::write)],
    );
    if !written {
        return ExitCode::from(EXIT_USAGE);
    }
    if counts.failed > 0 || denied(args.deny_warnings, &suites) {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Whether `--deny-warnings` fails the run: some agent has warnings.
fn denied(deny: bool, suites: &[crate::model::Suite]) -> bool {
    let n = agent_warnings(suites).iter().map(|(_, w)| w.len()).sum::<usize>();
    if deny && n > 0 {
        eprintln!(
            "error: {n} agent warning{} and --deny-warnings",
            if n == 1 { "" } else { "s" }
        );
    }
    deny && n > 0
}

/// Each agent the suites use, once, with its warnings.
fn agent_warnings(suites: &[crate::model::Suite]) -> Vec<(&crate::model::Agent, Vec<String>)> {
    let mut seen: Vec<*const crate::model::Agent> = Vec::new();
    let mut out = Vec::new();
    for s in suites {
        let ptr = std::sync::Arc::as_ptr(&s.agent);
        if !seen.contains(&ptr) {
            seen.push(ptr);
            out.push((&*s.agent, crate::lint::warnings(&s.agent)));
        }
    }
    out
}

/// Loads the suites, saying what the folder walks passed over.
fn load(paths: &[PathBuf], root: &RootArgs) -> Result<Vec<crate::model::Suite>, ExitCode> {
    let loaded = load_suites_with(paths, &root.confinement()).map_err(|d| load_errors(&d))?;
    for why in &loaded.skipped {
        eprintln!("warning: skipped {}", crate::diag::printable(why));
    }
    // Once per agent, however many suites use it.
    for (agent, warnings) in agent_warnings(&loaded.suites) {
        for w in warnings {
            eprintln!("warning: agent {} ({}): {w}", agent.name, agent.path.display());
        }
    }
    Ok(loaded.suites)
}

fn load_errors(d: &Diagnostics) -> ExitCode {
    errors(d, " while loading; nothing was run")
}

/// Errors drawn with a snippet; the rest are one line each. Each snippet
/// reads its file again: 20,000 errors in a megabyte file read 20 GB.
const MAX_SNIPPETS: usize = 20;

/// Prints every error (the first [`MAX_SNIPPETS`] with a snippet), then
/// `N errors TAIL`; exit 2.
fn errors(d: &Diagnostics, tail: &str) -> ExitCode {
    let color = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    let mut err = anstream::stderr().lock();
    for (i, diag) in d.0.iter().enumerate() {
        let _ = writeln!(err, "error: {diag}");
        if i < MAX_SNIPPETS
            && let Some(snippet) = diag.render_snippet(color)
        {
            let _ = writeln!(err, "{snippet}");
        }
    }
    let n = d.0.len();
    let _ = writeln!(err, "{n} error{}{tail}", if n == 1 { "" } else { "s" });
    ExitCode::from(EXIT_USAGE)
}

/// A progress bar on a terminal for long runs; nothing otherwise.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new() -> Bar {
        Bar(std::io::stderr().is_terminal().then(indicatif::ProgressBar::hidden))
    }
    fn clear(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Progress of `fuzz` and `verify`: a bar of cases (or suites) on a
/// terminal, one line per suite otherwise.
struct SearchBar {
    bar: Bar,
    unit: &'static str,
    /// `-q`: no line per suite when there is no bar.
    quiet: bool,
}

impl SearchProgress for SearchBar {
    fn start(&self, work: u64) {
        if let Some(b) = &self.bar.0 {
            b.set_length(work);
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            let template = format!(
                "{{spinner}} {{bar:40}} {{human_pos}}/{{human_len}} {} {{elapsed}} {{msg}}",
                self.unit
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
                b.set_style(style);
            }
            b.enable_steady_tick(std::time::Duration::from_millis(120));
        }
    }
    fn advance(&self, n: u64) {
        if let Some(b) = &self.bar.0 {
            b.inc(n);
        }
    }
    fn suite_done(&self, done: usize, total: usize, s: &SuiteSearch) {
        if self.bar.0.is_none() && !self.quiet {
            eprintln!("[{done}/{total}] {} ({:.2}s)", s.name, s.duration.as_secs_f64());
        }
    }
    fn layer(&self, suite: &str, l: crate::explore::verify::Layer) {
        if let Some(b) = &self.bar.0 {
            b.set_message(format!(
                "{suite}: depth {}, {} states, {:.0} states/s",
                l.depth,
                l.states,
                l.states as f64 / l.secs.max(1e-9)
            ));
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: usize) {
        if let Some(b) = &self.0
            && total >= 500
        {
            b.set_length(total as u64);
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} conversations {elapsed}") {
                b.set_style(style);
            }
        }
    }
    fn finished(&self, _case: &CaseResult) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }
}
