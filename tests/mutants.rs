//! Every agent under fixtures/mutants/ carries a planted escalation bug, and
//! its sibling suite states the intended policy: baton must report each one
//! as failing, and the same suite must pass on the clean agent it names in
//! its `# clean:` header line.

mod common;

use baton::runner::{self, RunOptions};

#[test]
fn every_mutant_is_caught() {
    let files = common::mutant_suite_files();
    assert!(files.len() >= 5, "expected at least five mutants, found {files:?}");
    for file in files {
        let suites = common::load_anywhere(std::slice::from_ref(&file)).unwrap_or_else(|e| panic!("{e}"));
        let r = runner::run(&suites, &RunOptions::default(), &()).unwrap();
        let counts = r.counts();
        assert!(counts.failed > 0, "mutant {} was not caught: {counts}", file.display());
    }
}

#[test]
fn mutant_suites_pass_on_the_clean_agents() {
    for file in common::mutant_suite_files() {
        let dir = tempfile::tempdir().unwrap();
        let copy = common::clean_copy(&file, dir.path());
        let clean = copy.display().to_string();
        let suites = common::load_anywhere(&[copy]).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let r = runner::run(&suites, &RunOptions::default(), &()).unwrap();
        let failed: Vec<String> = r.suites[0]
            .cases
            .iter()
            .filter(|c| c.status == runner::Status::Failed)
            .map(|c| format!("{}: {}", c.name, c.failure_summary()))
            .collect();
        assert!(
            failed.is_empty(),
            "{} fails on the clean agent {clean}: {failed:#?}",
            file.display()
        );
    }
}
