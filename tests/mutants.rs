//! Every agent under fixtures/mutants/ carries a planted escalation bug, and
//! its sibling suite states the intended policy: baton must report each one
//! as failing, and the same suite must pass on the clean agent it names in
//! its `# clean:` header line.

use std::path::{Path, PathBuf};

use baton::model::load_suites;
use baton::runner::{self, RunOptions};

fn mutant_suites() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mutants");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".suite.yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_mutant_is_caught() {
    let files = mutant_suites();
    assert!(files.len() >= 5, "expected at least five mutants, found {files:?}");
    for file in files {
        let suites = load_suites(std::slice::from_ref(&file)).unwrap_or_else(|e| panic!("{e}"));
        let r = runner::run(&suites, &RunOptions::default(), &()).unwrap();
        let counts = r.counts();
        assert!(counts.failed > 0, "mutant {} was not caught: {counts}", file.display());
    }
}

#[test]
fn mutant_suites_pass_on_the_clean_agents() {
    for file in mutant_suites() {
        let text = std::fs::read_to_string(&file).unwrap();
        let clean = text
            .lines()
            .find_map(|l| l.strip_prefix("# clean: "))
            .unwrap_or_else(|| panic!("{} has no '# clean: PATH' line naming the clean agent", file.display()))
            .trim();
        let agent_line = text.lines().find(|l| l.starts_with("agent:")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("suite.yaml");
        let clean_path = file.parent().unwrap().join(clean).canonicalize().unwrap();
        std::fs::write(
            &copy,
            text.replace(agent_line, &format!("agent: {}", clean_path.display())),
        )
        .unwrap();
        let suites = load_suites(&[copy]).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
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
