//! Reports of `fuzz` and `verify` runs ([`SearchReport`]s): the console
//! view, JUnit (one `<testcase>` per property per suite, the search figures
//! as `<properties>`) and JSON for archives. JUnit text goes through
//! [`xml::text`] and the document through [`xml::junit_document`], so that no
//! character XML 1.0 forbids reaches the file.

use std::io::Write;
use std::path::Path;

use anstyle::{AnsiColor, Style};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::json;

use super::xml::{self, text};
use crate::explore::{Counterexample, Level, Mode, Outcome, SearchReport, SuiteSearch};

fn style(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into())).bold()
}

fn mode_line(mode: &Mode) -> String {
    match mode {
        Mode::Fuzz {
            seed, cases, max_turns, ..
        } => {
            format!("fuzz: seed {seed}, {cases} cases of up to {max_turns} turns per suite")
        }
        Mode::Verify { depth, max_states, .. } => {
            format!(
                "verify: every path of up to {depth} turns (at most {max_states} states, or decision-diagram nodes, per suite)"
            )
        }
    }
}

/// The figures of one suite's search, in words.
pub fn figures(mode: &Mode, s: &SuiteSearch) -> String {
    let st = &s.stats;
    let secs = s.duration.as_secs_f64();
    match mode {
        Mode::Fuzz { .. } => format!("{} cases, {} turns, {secs:.2}s", st.cases, st.turns),
        Mode::Verify { depth, max_states, .. } => {
            let reach = if st.limited {
                format!(
                    "INCONCLUSIVE beyond depth {}: the state limit ({max_states}{}) was reached, so only paths of up to {} turns were checked (raise --max-states)",
                    st.depth,
                    if st.nodes > 0 { " decision-diagram nodes" } else { "" },
                    st.depth
                )
            } else if st.closed {
                format!(
                    "closed at depth {}: every reachable state seen, so what holds, holds for paths of any length over the alphabet",
                    st.depth
                )
            } else if st.depth < *depth {
                format!("stopped at depth {}: every property already refuted", st.depth)
            } else {
                format!("depth {} reached, not closed", st.depth)
            };
            let sets = if st.nodes > 0 {
                format!(" (kept as sets: {} decision-diagram nodes)", st.nodes)
            } else {
                String::new()
            };
            format!(
                "{} states{sets}, {} transitions, {reach}, {secs:.2}s",
                st.states, st.transitions
            )
        }
    }
}

/// The verdict of a property left inconclusive, for every report.
fn inconclusive(mode: &Mode, depth: u32) -> String {
    match mode {
        Mode::Verify { max_states, .. } => {
            format!("INCONCLUSIVE beyond depth {depth}: the state limit {max_states} was reached")
        }
        // Fuzz has no state limit; kept total so that no report can panic.
        Mode::Fuzz { .. } => format!("INCONCLUSIVE beyond depth {depth}"),
    }
}

/// Writes the console report.
pub fn console(report: &SearchReport, quiet: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let (green, red, yellow) = (style(AnsiColor::Green), style(AnsiColor::Red), style(AnsiColor::Yellow));
    // Unaccepted, an inconclusive property fails the run like a violation.
    let unproven = if report.accept_inconclusive { yellow } else { red };
    if !quiet {
        writeln!(out, "{}", mode_line(&report.mode))?;
    }
    let (mut held, mut broken, mut unsure, mut skipped, mut unsearched) = (0, 0, 0, 0, 0);
    for s in &report.suites {
        skipped += usize::from(s.skipped.is_some());
        for p in &s.properties {
            match p.outcome {
                Outcome::Held => held += 1,
                Outcome::Violated(_) => broken += 1,
                Outcome::Inconclusive { .. } => unsure += 1,
                Outcome::NotSearched => unsearched += 1,
            }
        }
        let failing = s.error.is_some()
            || s.properties
                .iter()
                .any(|p| matches!(p.outcome, Outcome::Violated(_) | Outcome::Inconclusive { .. }));
        if quiet && !failing {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "  {} ({}), agent {}", s.name, crate::diag::shown(&s.path), s.agent)?;
        if let Some(why) = &s.skipped {
            writeln!(out, "    {yellow}SKIP{yellow:#} {why}")?;
            continue;
        }
        writeln!(out, "    {}", figures(&report.mode, s))?;
        for w in &s.warnings {
            writeln!(out, "    {yellow}WARNING{yellow:#} {w}")?;
        }
        if let (Some(first), false) = (&s.implied_with, quiet) {
            writeln!(out, "    the agent's implied properties: checked with suite '{first}'")?;
        }
        if let Some(e) = &s.error {
            writeln!(out, "    {red}ERROR{red:#} {}", e.replace('\n', "\n          "))?;
        }
        for p in &s.properties {
            let level = p.level.as_ref().map_or(String::new(), |l| format!(" {}", l.as_str()));
            match &p.outcome {
                Outcome::Held if p.assumptions.is_empty() => {
                    if !quiet {
                        writeln!(out, "    {green}HOLDS{green:#}{level}    {} ({})", p.name, p.origin)?;
                        level_detail(p.level.as_ref(), out)?;
                    }
                }
                // A verdict that rests on a clause baton did not model says
                // so: it is not a plain HOLDS.
                Outcome::Held => {
                    if !quiet {
                        writeln!(
                            out,
                            "    {yellow}HOLDS{yellow:#}{level}, assuming {}: {} ({})",
                            p.assumptions.join(", and "),
                            p.name,
                            p.origin
                        )?;
                        level_detail(p.level.as_ref(), out)?;
                    }
                }
                Outcome::Violated(ce) => {
                    writeln!(out, "    {red}VIOLATED{red:#} {} ({})", p.name, p.origin)?;
                    counterexample(ce, out)?;
                }
                Outcome::Inconclusive { depth } => {
                    writeln!(
                        out,
                        "    {unproven}INCONCLUSIVE{unproven:#} beyond depth {depth}: {} ({})",
                        p.name, p.origin
                    )?;
                }
                Outcome::NotSearched => {
                    if !quiet {
                        writeln!(
                            out,
                            "    {yellow}NOT SEARCHED{yellow:#} (--fail-fast stopped at the first violation): {} ({})",
                            p.name, p.origin
                        )?;
                    }
                }
            }
        }
    }
    writeln!(out)?;
    let st = if report.failed() {
        red
    } else if unsure > 0 {
        yellow
    } else {
        green
    };
    write!(
        out,
        "{st}Summary{st:#} [{:.3}s] {held} held, {broken} violated",
        report.duration.as_secs_f64(),
    )?;
    // Only verify has a state limit, so only its summary counts these.
    if matches!(report.mode, Mode::Verify { .. }) {
        write!(out, ", {unsure} inconclusive")?;
        if unsure > 0 && report.accept_inconclusive {
            write!(out, " (accepted)")?;
        }
    }
    if unsearched > 0 {
        write!(out, ", {unsearched} not searched (--fail-fast)")?;
    }
    write!(out, " in {} suites", report.suites.len() - skipped)?;
    if skipped > 0 {
        write!(out, ", {skipped} skipped")?;
    }
    if report.errors() > 0 {
        write!(out, ", {} with errors", report.errors())?;
    }
    writeln!(out)
}

/// Under a by-instruction verdict: what the instruction holds back (the
/// shortest script on which an LLM that ignored it breaks the property),
/// or how far an LLM that ignores it was checked.
fn level_detail(level: Option<&Level>, out: &mut dyn Write) -> std::io::Result<()> {
    match level {
        Some(Level::Instruction(ce)) => {
            writeln!(
                out,
                "             only while the LLM obeys: one that ignores its instructions breaks it in {} ({}: {}):",
                turns(ce.turns),
                at(ce),
                ce.missing.join("; ")
            )?;
            for line in script(ce) {
                writeln!(out, "               {line}")?;
            }
        }
        Some(Level::StructureUnknown { depth }) => writeln!(
            out,
            "             by structure: not shown (an LLM that ignores its instructions was checked only to depth {depth}, where the state limit stopped the search)"
        )?,
        // The figures line speaks of the obedient search; a structural
        // claim reaches only as far as its own search went.
        Some(Level::Structure { depth, closed: false }) => writeln!(
            out,
            "             by structure on paths of up to {depth} turns: the search with an LLM that ignores its instructions did not close"
        )?,
        Some(Level::Structure { closed: true, .. }) | None => {}
    }
    Ok(())
}

/// A counterexample's caller turns as its regression suite writes them
/// (`- caller: ...`, `choose: { llm_escalates: true }`): runnable, and
/// readable without the trace.
pub fn script(ce: &Counterexample) -> Vec<&str> {
    ce.yaml
        .lines()
        .skip_while(|l| l.trim() != "turns:")
        .skip(1)
        .take_while(|l| l.starts_with("      "))
        .map(str::trim)
        .collect()
}

/// The level words of a property's verdict for JUnit and JSON: a held
/// safety property's level, "not at all" for a violation, none otherwise.
fn level_word(p: &crate::explore::PropertyResult) -> Option<&'static str> {
    match (&p.outcome, &p.level) {
        (Outcome::Held, Some(l)) => Some(l.as_str()),
        (Outcome::Violated(_), _) => Some("not at all"),
        _ => None,
    }
}

/// "1 turn", "3 turns".
fn turns(n: usize) -> String {
    format!("{n} turn{}", if n == 1 { "" } else { "s" })
}

/// "at turn 3", or "from the start" for a liveness failure there.
fn at(ce: &Counterexample) -> String {
    if ce.at_turn == 0 {
        "from the start".to_string()
    } else {
        format!("at turn {}", ce.at_turn)
    }
}

fn counterexample(ce: &Counterexample, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "             minimal counterexample: {}, broken {}: {}",
        turns(ce.turns),
        at(ce),
        ce.missing.join("; ")
    )?;
    if let Some(p) = &ce.written {
        writeln!(out, "             regression suite: {}", crate::diag::shown(p))?;
    }
    for line in ce.trace.lines() {
        if line.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, "             {line}")?;
        }
    }
    Ok(())
}

/// The JUnit document of a search.
pub fn junit(report: &SearchReport) -> Report {
    let mut r = Report::new(match report.mode {
        Mode::Fuzz { .. } => "baton fuzz",
        Mode::Verify { .. } => "baton verify",
    });
    r.set_timestamp(report.timestamp).set_time(report.duration);
    for s in &report.suites {
        let mut ts = TestSuite::new(text(&s.name));
        ts.set_timestamp(report.timestamp).set_time(s.duration);
        // quick-junit has no report-level properties: each suite carries it.
        ts.add_property(Property::new("run_id", text(&report.run_id)));
        ts.add_property(Property::new("file", text(&s.path.display().to_string())));
        ts.add_property(Property::new("agent", text(&s.agent)));
        let st = &s.stats;
        match report.mode {
            Mode::Fuzz { seed, max_turns, .. } => {
                ts.add_property(("seed", seed.to_string().as_str()));
                ts.add_property(("cases", st.cases.to_string().as_str()));
                ts.add_property(("max_turns", max_turns.to_string().as_str()));
                ts.add_property(("turns", st.turns.to_string().as_str()));
            }
            Mode::Verify { depth, max_states, .. } => {
                ts.add_property(("depth", depth.to_string().as_str()));
                ts.add_property(("max_states", max_states.to_string().as_str()));
                ts.add_property(("state_limit_reached", st.limited.to_string().as_str()));
                ts.add_property(("depth_reached", st.depth.to_string().as_str()));
                ts.add_property(("states", st.states.to_string().as_str()));
                ts.add_property(("transitions", st.transitions.to_string().as_str()));
                ts.add_property(("closed", st.closed.to_string().as_str()));
            }
        }
        ts.add_property(("elapsed_s", format!("{:.3}", s.duration.as_secs_f64()).as_str()));
        for w in &s.warnings {
            ts.add_property(Property::new("warning", text(w)));
        }
        for w in &s.agent_warnings {
            ts.add_property(Property::new("agent_warning", text(w)));
        }
        if let Some(first) = &s.implied_with {
            ts.add_property(Property::new("implied_checked_with", text(first)));
        }
        if let Some(e) = &s.error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(text(e.lines().next().unwrap_or("")));
            status.set_type("panic");
            status.set_description(text(e));
            let mut tc = TestCase::new("(search)", status);
            tc.set_classname(text(&s.name));
            ts.add_test_case(tc);
        }
        if let Some(why) = &s.skipped {
            let mut status = TestCaseStatus::skipped();
            status.set_message(text(why));
            let mut tc = TestCase::new("(no properties)", status);
            tc.set_classname(text(&s.name));
            ts.add_test_case(tc);
        }
        for p in &s.properties {
            let status = match &p.outcome {
                Outcome::Held => TestCaseStatus::success(),
                Outcome::NotSearched => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_type("not-searched");
                    status.set_message("not searched: --fail-fast stopped at the first violation");
                    status
                }
                Outcome::Inconclusive { depth } => {
                    let message = inconclusive(&report.mode, *depth);
                    let mut status = if report.accept_inconclusive {
                        TestCaseStatus::skipped()
                    } else {
                        // An error, not a failure: nothing was found broken,
                        // but nothing was proven either.
                        TestCaseStatus::non_success(NonSuccessKind::Error)
                    };
                    status.set_type("inconclusive").set_message(message);
                    status.set_description(format!(
                        "only paths of up to {depth} turns were checked; raise --max-states to check deeper"
                    ));
                    status
                }
                Outcome::Violated(ce) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(text(&format!(
                        "violated {} in a {}-turn counterexample: {}",
                        at(ce),
                        ce.turns,
                        ce.missing.join("; ")
                    )));
                    status.set_type("property");
                    status.set_description(text(&ce.trace));
                    status
                }
            };
            let mut tc = TestCase::new(text(&p.name), status);
            tc.set_classname(text(&s.name));
            tc.add_property(Property::new("origin", text(&p.origin)));
            if let Some(word) = level_word(p) {
                tc.add_property(Property::new("level", word));
            }
            match &p.level {
                Some(Level::Instruction(ce)) => {
                    tc.add_property(Property::new(
                        "ignored_instructions_script",
                        text(&script(ce).join("\n")),
                    ));
                }
                Some(Level::StructureUnknown { depth } | Level::Structure { depth, closed: false }) => {
                    tc.add_property(Property::new("structure_checked_to_depth", depth.to_string().as_str()));
                }
                _ => {}
            }
            for a in &p.assumptions {
                tc.add_property(Property::new("assumption", text(a)));
            }
            if matches!(p.outcome, Outcome::Held) {
                let verdict = crate::model::property::Property::holds_verdict(&p.assumptions);
                tc.add_property(Property::new("verdict", text(&verdict)));
                if !p.assumptions.is_empty() {
                    tc.set_system_out(text(&verdict));
                }
            }
            if let Outcome::Violated(ce) = &p.outcome {
                tc.set_system_out(text(&ce.yaml));
                if let Some(w) = &ce.written {
                    tc.add_property(Property::new("regression", text(&w.display().to_string())));
                }
            }
            ts.add_test_case(tc);
        }
        r.add_test_suite(ts);
    }
    r
}

pub fn write_junit(report: &SearchReport, path: &Path) -> std::io::Result<()> {
    let doc = xml::junit_document(&junit(report))?;
    super::atomic_write(path, doc.as_bytes())
}

/// The JSON document of a search.
pub fn json(report: &SearchReport) -> String {
    let mode = match report.mode {
        Mode::Fuzz {
            seed, cases, max_turns, ..
        } => {
            json!({ "kind": "fuzz", "seed": seed, "cases": cases, "max_turns": max_turns })
        }
        Mode::Verify { depth, max_states, .. } => json!({
            "kind": "verify",
            "depth": depth,
            "max_states": max_states,
            "accept_inconclusive": report.accept_inconclusive,
        }),
    };
    let suites: Vec<_> = report
        .suites
        .iter()
        .map(|s| {
            let st = &s.stats;
            json!({
                "name": s.name,
                "file": s.path.display().to_string(),
                "agent": s.agent,
                "skipped": s.skipped,
                "error": s.error,
                "warnings": s.warnings,
                "agent_warnings": s.agent_warnings,
                "implied_checked_with": s.implied_with,
                "duration_ms": s.duration.as_secs_f64() * 1000.0,
                "stats": {
                    "cases": st.cases, "turns": st.turns, "states": st.states,
                    "transitions": st.transitions, "depth": st.depth, "closed": st.closed,
                    "state_limit_reached": st.limited, "nodes": st.nodes,
                },
                "properties": s.properties.iter().map(|p| match &p.outcome {
                    Outcome::Held => json!({
                        "name": p.name,
                        "origin": p.origin,
                        "status": "held",
                        "verdict": crate::model::property::Property::holds_verdict(&p.assumptions),
                        "assumptions": p.assumptions,
                        "level": level_word(p),
                        "ignored_instructions": match &p.level {
                            Some(Level::Instruction(ce)) => json!({
                                "turns": ce.turns,
                                "at_turn": ce.at_turn,
                                "missing": ce.missing,
                                "script": script(ce),
                                "trace": ce.trace,
                            }),
                            Some(Level::StructureUnknown { depth }) => json!({ "checked_to_depth": depth, "found": null }),
                            Some(Level::Structure { depth, closed }) => json!({ "checked_to_depth": depth, "closed": closed, "found": null }),
                            _ => serde_json::Value::Null,
                        },
                    }),
                    Outcome::NotSearched => json!({ "name": p.name, "origin": p.origin, "status": "not_searched" }),
                    Outcome::Inconclusive { depth } => json!({
                        "name": p.name,
                        "origin": p.origin,
                        "status": "inconclusive",
                        "depth": depth,
                        "message": inconclusive(&report.mode, *depth),
                    }),
                    Outcome::Violated(ce) => json!({
                        "name": p.name,
                        "origin": p.origin,
                        "status": "violated",
                        "level": level_word(p),
                        "turns": ce.turns,
                        "at_turn": ce.at_turn,
                        "missing": ce.missing,
                        "regression": ce.written.as_ref().map(|w| w.display().to_string()),
                        "trace": ce.trace,
                        "yaml": ce.yaml,
                    }),
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "tool": "baton",
        "version": env!("CARGO_PKG_VERSION"),
        "run_id": report.run_id,
        "timestamp": report.timestamp.to_rfc3339(),
        "duration_ms": report.duration.as_secs_f64() * 1000.0,
        "mode": mode,
        "violations": report.violations(),
        "inconclusive": report.inconclusive(),
        "suites": suites,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

pub fn write_json(report: &SearchReport, path: &Path) -> std::io::Result<()> {
    let mut text = json(report);
    text.push('\n');
    super::atomic_write(path, text.as_bytes())
}
