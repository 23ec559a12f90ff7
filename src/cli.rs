//! Command-line interface: argument parsing (clap) and the mapping of
//! outcomes to exit codes: 0 all passed, 1 failures, 2 usage or load errors.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::diag::Diagnostics;
use crate::explore::{Mode, SearchOptions, SearchProgress, SearchReport, SuiteSearch, check_searchable, search_all};
use crate::model::{Agent, load_suites};
use crate::report::{console::Console, json, junit, search as search_report};
use crate::runner::{self, CaseResult, Progress, RunOptions};

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
        /// The agent config (YAML).
        agent: PathBuf,
    },
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
    /// Stop a suite's search at this many distinct states (the result is then inconclusive beyond the depth reached).
    #[arg(long, default_value_t = 500_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_states: u64,
}

/// Exit code for a run with failures.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for usage and load errors.
pub const EXIT_USAGE: u8 = 2;

/// Runs a parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Fuzz(args) => search(
            Mode::Fuzz {
                seed: args.seed,
                cases: args.cases,
                max_turns: args.max_turns,
            },
            args.common,
            [args.junit, args.json],
        ),
        Command::Verify(args) => search(
            Mode::Verify {
                depth: args.depth,
                max_states: args.max_states,
            },
            args.common,
            [args.junit, args.json],
        ),
        Command::Explain { agent } => match Agent::load(&agent) {
            Ok(a) => {
                let mut out = anstream::stdout();
                let _ = out.write_all(crate::explain::explain(&a).as_bytes());
                ExitCode::SUCCESS
            }
            Err(d) => load_errors(&d),
        },
    }
}

/// A report file: its flag, its name in messages, and its writer.
type Report<'a> = (&'static str, &'static str, &'a Option<PathBuf>, Writer);
type Writer = fn(&runner::RunResult, &std::path::Path) -> std::io::Result<()>;

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

fn search(mode: Mode, args: SearchArgs, [junit, json]: [Option<PathBuf>; 2]) -> ExitCode {
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
    let suites = match load_suites(&args.paths).and_then(|s| check_searchable(&s).map(|()| s)) {
        Ok(s) => s,
        Err(d) => return load_errors(&d),
    };
    let opts = SearchOptions {
        mode,
        jobs: args.jobs,
        regressions: (!args.no_regressions).then_some(args.regressions),
    };
    let bar = SearchBar {
        bar: Bar::new(),
        unit: match opts.mode {
            Mode::Fuzz { .. } => "cases",
            Mode::Verify { .. } => "suites",
        },
    };
    let report = match search_all(&suites, &opts, &bar) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start {} worker threads: {e}", args.jobs);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    bar.bar.clear();
    let mut out = anstream::stdout().lock();
    let _ = search_report::console(&report, args.quiet, &mut out);
    let _ = out.flush();
    let writers: [(&str, &Option<PathBuf>, SearchWriter); 2] = [
        ("JUnit", &junit, search_report::write_junit),
        ("JSON", &json, search_report::write_json),
    ];
    // Every report is tried; a failure to write one is still exit 2, as CI
    // cannot trust a run whose report is missing.
    let mut unwritten = false;
    for (what, path, write) in writers {
        let Some(path) = path else { continue };
        match write(&report, path) {
            Ok(()) => eprintln!("{what} report: {}", path.display()),
            Err(e) => {
                eprintln!("error: cannot write {what} report {}: {e}", path.display());
                unwritten = true;
            }
        }
    }
    if unwritten {
        return ExitCode::from(EXIT_USAGE);
    }
    if report.violations() > 0 || report.errors() > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

type SearchWriter = fn(&SearchReport, &std::path::Path) -> std::io::Result<()>;

fn run(args: RunArgs) -> ExitCode {
    let reports: [Report<'_>; 2] = [
        ("--junit", "JUnit", &args.junit, junit::write),
        ("--json", "JSON", &args.json, json::write),
    ];
    if let Err(code) = check_report_paths(&[("--junit", &args.junit), ("--json", &args.json)]) {
        return code;
    }
    let suites = match load_suites(&args.paths) {
        Ok(s) => s,
        Err(d) => return load_errors(&d),
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
        keep_transcripts: reports.iter().any(|r| r.2.is_some()),
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
    for (_, what, path, write) in reports {
        let Some(path) = path else { continue };
        if let Err(e) = write(&result, path) {
            eprintln!("error: cannot write {what} report {}: {e}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
        eprintln!("{what} report: {}", path.display());
    }
    if counts.failed > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn load_errors(d: &Diagnostics) -> ExitCode {
    let color = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    let mut err = anstream::stderr().lock();
    for diag in &d.0 {
        let _ = writeln!(err, "error: {diag}");
        if let Some(snippet) = diag.render_snippet(color) {
            let _ = writeln!(err, "{snippet}");
        }
    }
    let n = d.0.len();
    let _ = writeln!(
        err,
        "{n} error{} while loading; nothing was run",
        if n == 1 { "" } else { "s" }
    );
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
}

impl SearchProgress for SearchBar {
    fn start(&self, work: u64) {
        if let Some(b) = &self.bar.0 {
            b.set_length(work);
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            let template = format!(
                "{{spinner}} {{bar:40}} {{human_pos}}/{{human_len}} {} {{elapsed}}",
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
        if self.bar.0.is_none() {
            eprintln!("[{done}/{total}] {} ({:.2}s)", s.name, s.duration.as_secs_f64());
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
