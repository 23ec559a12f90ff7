//! JUnit XML for CI test views: one `<testsuite>` per suite file, one
//! `<testcase>` per conversation (classname = suite, name = conversation),
//! `<failure>` with the message and diff, `<system-out>` with the
//! transcript. quick-junit strips characters XML cannot hold.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::{Golden, RunResult, Status};

/// Builds the JUnit document for a run.
pub fn build(run: &RunResult) -> Report {
    let mut report = Report::new("baton");
    report.set_timestamp(run.timestamp).set_time(run.duration);
    for suite in &run.suites {
        let mut ts = TestSuite::new(suite.name.as_str());
        ts.set_timestamp(run.timestamp).set_time(suite.duration);
        ts.add_property(("file", suite.path.display().to_string().as_str()));
        ts.add_property(("agent", suite.agent.as_str()));
        for case in &suite.cases {
            let status = match &case.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Skipped(why) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(why.as_str());
                    s
                }
                Status::Failed => {
                    let mut s = TestCaseStatus::non_success(if case.panic.is_some() {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    });
                    s.set_message(case.failure_summary());
                    s.set_type(if case.panic.is_some() { "panic" } else { "expectation" });
                    let mut body = String::new();
                    if let Some(d) = &case.diff {
                        body.push_str(d);
                    }
                    if let Some((_, Golden::Differs(d))) = &case.golden {
                        body.push_str(d);
                    }
                    if !body.is_empty() {
                        s.set_description(body);
                    }
                    s
                }
            };
            let mut tc = TestCase::new(case.name.as_str(), status);
            tc.set_classname(suite.name.as_str()).set_time(case.duration);
            if let Some(t) = &case.transcript {
                tc.set_system_out(t.as_str());
            }
            ts.add_test_case(tc);
        }
        report.add_test_suite(ts);
    }
    report
}

/// Writes the JUnit file atomically.
pub fn write(run: &RunResult, path: &Path) -> std::io::Result<()> {
    let xml = build(run).to_string().map_err(std::io::Error::other)?;
    super::atomic_write(path, xml.as_bytes())
}
