//! Testing Center specs, both ways, through the real binary: every shared
//! sample imports into a suite that loads; import then export and export
//! then import keep the deterministic content; what baton cannot check is
//! kept as comments and counted; bad input is located, exits 2 and writes
//! nothing. Also `actions_include:`, the superset match imports rely on.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn baton(cwd: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run baton");
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    };
    assert!(!o.stderr.contains("panicked"), "baton panicked:\n{}", o.stderr);
    o
}

/// A project folder (it has `.git`, so it is the root) holding a copy of
/// the example agent Acme_Support at `agents/acme.yaml`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("agents")).unwrap();
    std::fs::copy(
        repo("fixtures/agents/acme_support.yaml"),
        dir.path().join("agents/acme.yaml"),
    )
    .unwrap();
    dir
}

// ---------------------------------------------------------------- actions_include

#[test]
fn actions_include_is_a_superset_match() {
    let dir = project();
    let suite = "suite: S
agent: ../agents/acme.yaml
conversations:
  - name: passes
    turns:
      - caller: my item is damaged
        expect: { actions_include: [] }
      - caller: jane@example.com
        expect: { actions_include: [createcase], actions: [createcase] }
  - name: a second run is not there
    turns:
      - caller: my item is damaged jane@example.com
        expect: { actions_include: [createcase, createcase] }
  - name: a failed run is not a success
    fixtures: { createcase: { fails: true } }
    turns:
      - caller: my item is damaged jane@example.com
        expect: { actions_include: [createcase] }
";
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    std::fs::write(dir.path().join("suites/s.yaml"), suite).unwrap();
    let out = baton(dir.path(), &["run", "suites/s.yaml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("PASS [") && out.stdout.contains("S :: passes"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("turn 1: actions_include: expected [createcase, createcase], got [createcase]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("turn 1: actions_include: expected [createcase], got [createcase (failed)]"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("1 passed, 2 failed"), "{}", out.stdout);
}

#[test]
fn actions_include_names_known_actions() {
    let dir = project();
    let suite = "suite: S\nagent: ../agents/acme.yaml\nconversations:\n  - name: a\n    turns:\n      - caller: hi\n        expect: { actions_include: [createcas] }\n";
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    std::fs::write(dir.path().join("suites/s.yaml"), suite).unwrap();
    let out = baton(dir.path(), &["run", "suites/s.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("suites/s.yaml:7:37: unknown action 'createcas' (did you mean 'createcase'?)"),
        "{}",
        out.stderr
    );
}
