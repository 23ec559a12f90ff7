//! The console reporter: one status line per conversation in a stable
//! order, then the details of each failure (failed expectations by name, a
//! unified diff of expected against actual, golden-transcript diffs and the
//! transcript), then the summary line `N passed, M failed[, K skipped]`.
//! Colour goes through `anstream`, which drops it for pipes and `NO_COLOR`.

use std::io::Write;

use anstyle::{AnsiColor, Style};

use super::diff::colorize;
use crate::diag::{printable, shown};
use crate::runner::{CaseResult, Golden, RunResult, Status, SuiteResult};

#[derive(Clone, Copy, Debug, Default)]
pub struct Console {
    /// Print only failures and the summary.
    pub quiet: bool,
}

fn style(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into())).bold()
}

impl Console {
    /// Writes the whole report for a run.
    pub fn report(&self, run: &RunResult, out: &mut dyn Write) -> std::io::Result<()> {
        let (green, red, yellow) = (style(AnsiColor::Green), style(AnsiColor::Red), style(AnsiColor::Yellow));
        for suite in &run.suites {
            for case in &suite.cases {
                let (label, st) = match case.status {
                    Status::Passed => ("PASS", green),
                    Status::Failed => ("FAIL", red),
                    Status::Skipped(_) => ("SKIP", yellow),
                };
                let blessed = matches!(case.golden, Some((_, Golden::Blessed { .. })));
                if self.quiet && case.status != Status::Failed && !blessed {
                    continue;
                }
                let time = match case.status {
                    Status::Skipped(_) => "          ".to_string(),
                    _ => format!("[{:>7.3}s]", case.duration.as_secs_f64()),
                };
                write!(out, "    {st}{label}{st:#} {time} {} :: {}", suite.name, case.name)?;
                if let Status::Skipped(why) = &case.status {
                    write!(out, " ({})", printable(why))?;
                }
                if let Some((path, Golden::Blessed { created })) = &case.golden {
                    write!(
                        out,
                        " ({} {})",
                        if *created { "created" } else { "updated" },
                        shown(path)
                    )?;
                }
                writeln!(out)?;
            }
        }
        for suite in &run.suites {
            for case in suite.cases.iter().filter(|c| c.status == Status::Failed) {
                self.failure(suite, case, out)?;
            }
        }
        let counts = run.counts();
        let st = if counts.failed > 0 { red } else { green };
        writeln!(out)?;
        writeln!(
            out,
            "{st}Summary{st:#} [{:.3}s] {} conversations in {} suites",
            run.duration.as_secs_f64(),
            counts.passed + counts.failed + counts.skipped,
            run.suites.len()
        )?;
        writeln!(out, "{counts}")?;
        Ok(())
    }

    fn failure(&self, suite: &SuiteResult, case: &CaseResult, out: &mut dyn Write) -> std::io::Result<()> {
        let red = style(AnsiColor::Red);
        writeln!(out)?;
        writeln!(
            out,
            "{red}--- FAIL:{red:#} {} :: {} ({}:{})",
            suite.name,
            case.name,
            shown(&suite.path),
            case.line
        )?;
        if let Some(p) = &case.panic {
            writeln!(out, "  panicked: {p}")?;
        }
        for m in &case.mismatches {
            writeln!(out, "  {m}")?;
        }
        if let Some(d) = &case.diff {
            writeln!(out)?;
            write!(out, "{}", indent(&colorize(d)))?;
        }
        match &case.golden {
            Some((path, Golden::Differs(d))) => {
                writeln!(
                    out,
                    "  transcript differs from {} (run with --bless to accept):",
                    shown(path)
                )?;
                write!(out, "{}", indent(&colorize(d)))?;
            }
            Some((path, Golden::Missing)) => {
                writeln!(
                    out,
                    "  golden transcript {} is missing (run with --bless to create it)",
                    shown(path)
                )?;
            }
            Some((path, Golden::NotBlessed)) => {
                writeln!(
                    out,
                    "  {} was not blessed: the conversation's expectations fail",
                    shown(path)
                )?;
            }
            Some((path, Golden::Unreadable(e))) => {
                writeln!(out, "  golden transcript {}: {}", shown(path), printable(e))?
            }
            _ => {}
        }
        if let Some(t) = &case.transcript {
            writeln!(out, "  transcript:")?;
            write!(out, "{}", indent(t))?;
        }
        Ok(())
    }
}

fn indent(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        if line.is_empty() {
            s.push('\n');
        } else {
            s.push_str("    ");
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}
