//! Helpers shared by the tests that use fixtures/mutants/.

use std::path::{Path, PathBuf};

/// The mutant suites (`*.suite.yaml`), sorted.
pub fn mutant_suite_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mutants");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".suite.yaml"))
        .collect();
    files.sort();
    files
}

/// A copy of a mutant suite, written into `dir`, that runs against the clean
/// agent named on its `# clean: PATH` line.
pub fn clean_copy(file: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    let clean = text
        .lines()
        .find_map(|l| l.strip_prefix("# clean: "))
        .unwrap_or_else(|| panic!("{} has no '# clean: PATH' line naming the clean agent", file.display()))
        .trim();
    let agent_line = text.lines().find(|l| l.starts_with("agent:")).unwrap();
    let clean_path = file.parent().unwrap().join(clean).canonicalize().unwrap();
    let copy = dir.join(file.file_name().unwrap());
    std::fs::write(
        &copy,
        text.replace(agent_line, &format!("agent: {}", clean_path.display())),
    )
    .unwrap();
    copy
}

/// Loads suites with confinement off: the tests write suites into
/// temporary folders that name the project's example agents.
pub fn load_anywhere(paths: &[PathBuf]) -> Result<Vec<baton::model::Suite>, baton::diag::Diagnostics> {
    baton::model::load_suites_with(paths, &baton::files::Confinement::Off).map(|l| l.suites)
}
