//! JUnit XML for CI test views: one `<testsuite>` per suite file, one
//! `<testcase>` per conversation (classname = suite, name = conversation),
//! `<failure>` with the message and diff, `<system-out>` with the
//! transcript. Every string goes through [`xml::text`] and the document
//! through [`xml::junit_document`], so that no character XML 1.0 forbids
//! reaches the file.

use std::path::Path;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::xml::{self, text};
use crate::runner::{Golden, RunResult, Status};

/// Builds the JUnit document for a run.
pub fn build(run: &RunResult) -> Report {
    let mut report = Report::new("baton");
    report.set_timestamp(run.timestamp).set_time(run.duration);
    for suite in &run.suites {
        let mut ts = TestSuite::new(text(&suite.name));
        ts.set_timestamp(run.timestamp).set_time(suite.duration);
        // quick-junit has no report-level properties: each suite carries it.
        ts.add_property(Property::new("run_id", text(&run.run_id)));
        ts.add_property(Property::new("file", text(&suite.path.display().to_string())));
        ts.add_property(Property::new("agent", text(&suite.agent)));
        for w in &suite.agent_warnings {
            ts.add_property(Property::new("agent_warning", text(w)));
        }
        for case in &suite.cases {
            let status = match &case.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Skipped(why) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(text(why));
                    s
                }
                Status::Failed => {
                    let mut s = TestCaseStatus::non_success(if case.panic.is_some() {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    });
                    s.set_message(text(&case.failure_summary()));
                    s.set_type(if case.panic.is_some() { "panic" } else { "expectation" });
                    let mut body = String::new();
                    if let Some(d) = &case.diff {
                        body.push_str(d);
                    }
                    if let Some((_, Golden::Differs(d))) = &case.golden {
                        body.push_str(d);
                    }
                    if !body.is_empty() {
                        s.set_description(text(&body));
                    }
                    s
                }
            };
            let mut tc = TestCase::new(text(&case.name), status);
            tc.set_classname(text(&suite.name)).set_time(case.duration);
            if let Some(t) = &case.transcript {
                tc.set_system_out(text(t));
            }
            ts.add_test_case(tc);
        }
        report.add_test_suite(ts);
    }
    report
}

/// Writes the JUnit file atomically.
pub fn write(run: &RunResult, path: &Path) -> std::io::Result<()> {
    let doc = xml::junit_document(&build(run))?;
    super::atomic_write(path, doc.as_bytes())
}
