//! A JSON report for archives and other tools: every conversation with its
//! status, failed expectations, diffs and transcript, in the run's stable
//! order. Written atomically, like every report.

use std::path::Path;

use serde::Serialize;

use crate::runner::{CaseResult, Golden, RunResult, Status};

#[derive(Serialize)]
struct Report<'a> {
    tool: &'static str,
    version: &'static str,
    run_id: &'a str,
    timestamp: String,
    duration_ms: f64,
    passed: usize,
    failed: usize,
    skipped: usize,
    suites: Vec<Suite<'a>>,
}

#[derive(Serialize)]
struct Suite<'a> {
    name: &'a str,
    file: String,
    agent: &'a str,
    agent_warnings: &'a [String],
    conversations: Vec<Case<'a>>,
}

#[derive(Serialize)]
struct Case<'a> {
    name: &'a str,
    line: u32,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_reason: Option<&'a str>,
    turns: usize,
    duration_ms: f64,
    failures: Vec<Failure<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    panic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    golden: Option<GoldenOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transcript: Option<&'a str>,
}

#[derive(Serialize)]
struct Failure<'a> {
    turn: usize,
    key: &'a str,
    expected: &'a str,
    actual: &'a str,
}

#[derive(Serialize)]
struct GoldenOut<'a> {
    path: String,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

fn case(c: &CaseResult) -> Case<'_> {
    let (status, skip_reason) = match &c.status {
        Status::Passed => ("passed", None),
        Status::Failed => ("failed", None),
        Status::Skipped(why) => ("skipped", Some(why.as_str())),
    };
    let golden = c.golden.as_ref().map(|(path, g)| {
        let (outcome, detail) = match g {
            Golden::Matches => ("matches", None),
            Golden::Differs(d) => ("differs", Some(d.as_str())),
            Golden::Missing => ("missing", None),
            Golden::Blessed { created: true } => ("created", None),
            Golden::Blessed { created: false } => ("updated", None),
            Golden::NotBlessed => ("not blessed", None),
            Golden::Unreadable(e) => ("unreadable", Some(e.as_str())),
        };
        GoldenOut {
            path: path.display().to_string(),
            outcome,
            detail,
        }
    });
    Case {
        name: &c.name,
        line: c.line,
        status,
        skip_reason,
        turns: c.turns,
        duration_ms: c.duration.as_secs_f64() * 1e3,
        failures: c
            .mismatches
            .iter()
            .map(|m| Failure {
                turn: m.turn,
                key: &m.key,
                expected: &m.expected,
                actual: &m.actual,
            })
            .collect(),
        panic: c.panic.as_deref(),
        golden,
        diff: c.diff.as_deref(),
        transcript: c.transcript.as_deref(),
    }
}

/// The JSON document for a run.
pub fn build(run: &RunResult) -> String {
    let counts = run.counts();
    let report = Report {
        tool: "baton",
        version: env!("CARGO_PKG_VERSION"),
        run_id: &run.run_id,
        timestamp: run.timestamp.to_rfc3339(),
        duration_ms: run.duration.as_secs_f64() * 1e3,
        passed: counts.passed,
        failed: counts.failed,
        skipped: counts.skipped,
        suites: run
            .suites
            .iter()
            .map(|s| Suite {
                name: &s.name,
                file: s.path.display().to_string(),
                agent: &s.agent,
                agent_warnings: &s.agent_warnings,
                conversations: s.cases.iter().map(case).collect(),
            })
            .collect(),
    };
    // Serializing plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

/// Writes the JSON report atomically.
pub fn write(run: &RunResult, path: &Path) -> std::io::Result<()> {
    let mut text = build(run);
    text.push('\n');
    super::atomic_write(path, text.as_bytes())
}
