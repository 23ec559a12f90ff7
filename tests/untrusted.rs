//! Suites arrive in pull requests: through the real binary, a suite never
//! reads or writes outside its project, never echoes a file that is not a
//! baton file, and never hangs on a special file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "S3CRET-TOKEN-do-not-print";

/// A project folder (with `.git`, so it is the root) inside a temporary
/// folder that also holds files outside the project.
struct Project {
    outer: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let outer = tempfile::tempdir().unwrap();
        let p = Project { outer };
        std::fs::create_dir_all(p.root().join(".git")).unwrap();
        std::fs::create_dir_all(p.root().join("suites/golden")).unwrap();
        let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agents/acme_support.yaml");
        std::fs::copy(agent, p.root().join("agent.yaml")).unwrap();
        std::fs::write(p.outer.path().join("victim.cfg"), format!("{SECRET}\n")).unwrap();
        p
    }

    fn root(&self) -> PathBuf {
        self.outer.path().join("proj")
    }

    fn victim(&self) -> String {
        std::fs::read_to_string(self.outer.path().join("victim.cfg")).unwrap()
    }

    /// Writes `suites/s.yaml` with the given agent and golden paths.
    fn suite(&self, agent: &str, transcript: Option<&str>) -> PathBuf {
        let golden = transcript.map_or(String::new(), |t| format!("    transcript: {t}\n"));
        let text = format!(
            "suite: s\nagent: {agent}\nconversations:\n  - name: c\n{golden}    turns:\n      - caller: my blender arrived broken\n"
        );
        let path = self.root().join("suites/s.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    reports: String,
}

/// Runs baton in `dir` with a deadline: a hang is a test failure, not a
/// stuck test run.
fn baton(dir: &Path, args: &[&str]) -> Out {
    let reports = dir.join("reports");
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("baton {args:?} hung for 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let mut all_reports = String::new();
    if let Ok(entries) = std::fs::read_dir(&reports) {
        for e in entries.flatten() {
            all_reports.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "baton panicked:\n{stderr}");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr,
        reports: all_reports,
    }
}

fn assert_no_secret(out: &Out) {
    for (what, text) in [
        ("stdout", &out.stdout),
        ("stderr", &out.stderr),
        ("reports", &out.reports),
    ] {
        assert!(!text.contains(SECRET), "the secret leaked into {what}:\n{text}");
    }
}

const JUNIT_JSON: [&str; 4] = ["--junit", "reports/junit.xml", "--json", "reports/baton.json"];

fn run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["run", "suites"];
    v.extend(JUNIT_JSON);
    v.extend(extra);
    v
}

#[test]
fn bless_cannot_overwrite_a_file_outside_the_project() {
    let p = Project::new();
    p.suite("../agent.yaml", Some("../../victim.cfg"));
    let out = baton(&p.root(), &run_args(&["--bless"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("suites/s.yaml:5:17: transcript path '../../victim.cfg' leaves the project root"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--allow-outside-root"),
        "the opt-out is named:\n{}",
        out.stderr
    );
    assert_eq!(p.victim(), format!("{SECRET}\n"), "the victim file changed");
    assert!(out.reports.is_empty(), "a report was written despite the load error");
    assert_no_secret(&out);
}

#[test]
fn an_absolute_golden_path_outside_is_neither_read_nor_created() {
    let p = Project::new();
    let target = p.outer.path().join("created/by/bless.txt");
    p.suite("../agent.yaml", Some(&target.display().to_string()));
    let out = baton(&p.root(), &run_args(&["--bless"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!target.exists() && !p.outer.path().join("created").exists());
    let victim = p.outer.path().join("victim.cfg").display().to_string();
    p.suite("../agent.yaml", Some(&victim));
    let out = baton(&p.root(), &run_args(&[]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_no_secret(&out);
}

#[test]
fn an_agent_outside_the_project_is_refused_unless_allowed() {
    let p = Project::new();
    let outside = p.outer.path().join("elsewhere.yaml");
    std::fs::copy(p.root().join("agent.yaml"), &outside).unwrap();
    p.suite("../../elsewhere.yaml", None);
    let refused = baton(&p.root(), &run_args(&[]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("suites/s.yaml:2:8: agent path '../../elsewhere.yaml' leaves the project root"),
        "{}",
        refused.stderr
    );
    let allowed = baton(&p.root(), &run_args(&["--allow-outside-root"]));
    assert_eq!(allowed.code, 0, "{}{}", allowed.stdout, allowed.stderr);
    let widened = baton(&p.root(), &run_args(&["--root", ".."]));
    assert_eq!(widened.code, 0, "{}{}", widened.stdout, widened.stderr);
}

#[test]
fn a_secret_named_as_agent_is_never_echoed() {
    let p = Project::new();
    // Inside the project, so only the format check stands in the way.
    std::fs::write(p.root().join(".env"), format!("TOKEN={SECRET}\nOTHER: {SECRET}\n")).unwrap();
    p.suite("../.env", None);
    let out = baton(&p.root(), &run_args(&[]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a baton agent config"), "{}", out.stderr);
    assert_no_secret(&out);
    // Outside, with the opt-out: the same.
    p.suite("../../victim.cfg", None);
    let out = baton(&p.root(), &run_args(&["--allow-outside-root"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_no_secret(&out);
}

#[test]
fn a_golden_that_baton_did_not_write_is_neither_shown_nor_overwritten() {
    let p = Project::new();
    let secret_file = p.root().join("suites/golden/notes.txt");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    p.suite("../agent.yaml", Some("golden/notes.txt"));
    let out = baton(&p.root(), &run_args(&[]));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("it is not a baton transcript"), "{}", out.stdout);
    assert_no_secret(&out);
    let blessed = baton(&p.root(), &run_args(&["--bless"]));
    assert_eq!(blessed.code, 1, "{}", blessed.stdout);
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), format!("{SECRET}\n"));
    assert_no_secret(&blessed);
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[cfg(unix)]
#[test]
fn fifos_fail_fast_wherever_they_are_named() {
    let p = Project::new();
    mkfifo(&p.root().join("pipe.yaml"));
    mkfifo(&p.root().join("suites/golden/pipe.txt"));
    // As an agent, and as a golden: located at the suite's value.
    p.suite("../pipe.yaml", None);
    let out = baton(&p.root(), &run_args(&[]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("suites/s.yaml:2:8: agent '../pipe.yaml' is a FIFO (named pipe): expected a regular file"),
        "{}",
        out.stderr
    );
    p.suite("../agent.yaml", Some("golden/pipe.txt"));
    let out = baton(&p.root(), &run_args(&["--bless"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("suites/s.yaml:5:17: transcript 'golden/pipe.txt' is a FIFO"),
        "{}",
        out.stderr
    );
    // As a suite on the command line.
    let out = baton(&p.root(), &["run", "pipe.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("pipe.yaml: cannot read: it is a FIFO"),
        "{}",
        out.stderr
    );
    // Found in a folder walk: skipped with a warning, the rest runs.
    p.suite("../agent.yaml", None);
    mkfifo(&p.root().join("suites/other.yaml"));
    let out = baton(&p.root(), &run_args(&[]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("warning: skipped suites/other.yaml: a FIFO (named pipe), not a regular file"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn devices_are_refused_without_reading_them() {
    let p = Project::new();
    for dev in ["/dev/zero", "/dev/urandom"] {
        p.suite(dev, None);
        let out = baton(&p.root(), &run_args(&["--allow-outside-root"]));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("agent '{dev}' is a character device: expected a regular file")),
            "{}",
            out.stderr
        );
        p.suite("../agent.yaml", Some(dev));
        let out = baton(&p.root(), &run_args(&["--allow-outside-root", "--bless"]));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(Path::new(dev).exists());
    }
    let out = baton(&p.root(), &["run", "/dev/zero"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn folder_walks_survive_link_cycles_and_do_not_follow_links_out() {
    let p = Project::new();
    p.suite("../agent.yaml", None);
    let outside = p.outer.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A suite outside that would fail the run if it were loaded.
    std::fs::write(
        outside.join("evil.yaml"),
        "suite: evil\nagent: nowhere.yaml\nconversations: []\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, p.root().join("suites/out")).unwrap();
    std::os::unix::fs::symlink(p.root().join("suites"), p.root().join("suites/golden/loop")).unwrap();
    let out = baton(&p.root(), &run_args(&[]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("skipped suites/out: a symbolic link that leads out of the project root"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("suites/golden/loop: a link back to a folder already searched"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("1 conversations in 1 suites"), "{}", out.stdout);
}

/// File names (found in a folder walk), skip reasons and expected values
/// come from the pull request: printed as they were, a line break forged a
/// PASS line, an escape drove the terminal and a right-to-left override
/// reversed the text. Every one reaches the console escaped.
#[cfg(unix)]
#[test]
fn file_names_skip_reasons_and_values_print_escaped() {
    let p = Project::new();
    let forged = "x\n    PASS [  0.001s] forged :: line\u{202E}.yaml";
    std::fs::write(
        p.root().join("suites").join(forged),
        "suite: s\nagent: ../agent.yaml\nconversations:\n  - name: c\n    turns:\n      - caller: my blender arrived broken\n        expect: { says: \"a\\nb\\u202E\", slots: { email: \"x\\e[2J\\ny@example.com\" } }\n  - name: d\n    skip: \"later\\n    PASS [  0.001s] forged :: skip\\e[31m\"\n    turns: [{ caller: hi }]\n",
    )
    .unwrap();
    mkfifo(&p.root().join("suites/pipe\u{202E}\n.yaml"));
    let out = baton(&p.root(), &["run", "suites"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for (what, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && (c.is_control() || matches!(c, '\u{202A}'..='\u{202E}'))),
            "{what}:\n{text:?}"
        );
        assert!(!text.contains("\n    PASS [  0.001s] forged"), "{what}:\n{text}");
    }
    assert!(
        out.stdout
            .contains("--- FAIL: s :: c (suites/x\\n    PASS [  0.001s] forged :: line\\u{202E}.yaml:4)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("slots.email: x\\x1b[2J\\ny@example.com"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("warning: skipped suites/pipe\\u{202E}\\n.yaml: a FIFO"),
        "{}",
        out.stderr
    );
}
