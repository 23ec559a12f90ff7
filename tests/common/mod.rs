//! Helpers shared by the integration tests: the fixtures/mutants/ suites and
//! a strict XML 1.0 reader for reports.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

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

/// Parses a report as XML 1.0, strictly: besides roxmltree's own checks
/// (which reject U+FFFE, U+FFFF and C0 controls), every character must match
/// the `Char` production, checked here independently of baton's code.
pub fn strict_xml(xml: &str) -> roxmltree::Document<'_> {
    let char_ok =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if let Some(bad) = xml.chars().find(|&c| !char_ok(c)) {
        panic!("{bad:?} is not an XML 1.0 character:\n{xml}");
    }
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"))
}

/// Per property of a search: its name, and the counterexample's length if
/// it was violated.
pub fn lengths(s: &baton::explore::SuiteSearch) -> Vec<(String, Option<usize>)> {
    use baton::explore::Outcome;
    s.properties
        .iter()
        .map(|p| {
            let n = match &p.outcome {
                Outcome::Held | Outcome::Inconclusive { .. } | Outcome::NotSearched => None,
                Outcome::Violated(ce) => Some(ce.turns),
            };
            (p.name.clone(), n)
        })
        .collect()
}

/// An Agent Script agent whose start subagent guards its escalation with a
/// sentence and then, in `before_reasoning`, transitions to one that
/// escalates at once: a way past the guard (explain lists it and searches it).
pub const TRANSITION_PAST_GUARDS: &str = r#"config:
    developer_name: "Past"
connection messaging:
    outbound_route_name: "flow://Q"
start_agent cases:
    description: "Order problems"
    actions:
        create_case:
            outputs:
                id: string
            target: "flow://Create"
    before_reasoning:
        transition to @subagent.humans
    reasoning:
        instructions: ->
            | Allow the 'Escalation' action only after the 'create_case' action has been executed.
        actions:
            open: @actions.create_case
            escalate_to_human: @utils.escalate
subagent humans:
    description: "Handle all escalations and any user requests"
    reasoning:
        instructions: ->
            | Escalate the conversation to a human live agent.
        actions:
            escalate_to_human: @utils.escalate
"#;

/// Runs the `baton` binary in `cwd` (colours off): exit code, stdout,
/// stderr.
pub fn baton_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `PATH#NAME` in a project holding the two agents `names` ("A, B"): the
/// bare path asks for a pick, `#pick` explains the agent whose output
/// starts with `starts`, an unknown name is refused with the names.
pub fn check_picking_by_name(project: &str, names: &str, pick: &str, starts: &str, unknown: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, _, err) = baton_in(root, &["explain", project]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("2 agents here: pick one with PATH#NAME, one of {names}")),
        "{err}"
    );
    let (code, out, err) = baton_in(root, &["explain", &format!("{project}#{pick}")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(starts), "{out}");
    let (code, _, err) = baton_in(root, &["explain", &format!("{project}#{unknown}")]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("no agent named '{unknown}' here: expected one of {names}")),
        "{err}"
    );
}
