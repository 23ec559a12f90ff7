//! The runner and its outputs: stable order on any thread count, panic
//! isolation, golden transcripts and `--bless`, JUnit XML read back, the
//! console summary and exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use baton::model::load_suites;
use baton::runner::{self, Golden, RunOptions, Status};

mod common;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

const AGENT: &str = r#"
agent: Mini
escalation: { flow: Queue, message: "Connecting you now." }
slots: { email: { kind: email } }
actions:
  createcase: { inputs: [email], outputs: [case_number], result: { case_number: "42" } }
topics:
  - name: Cases
    description: Open support cases for broken orders
    utterances: ["my order arrived broken", "open a case"]
    can_escalate: true
    actions: [createcase]
    instructions:
      - "Run the 'createcase' action."
      - "Allow the 'Escalation' action only after the 'createcase' action has been executed."
"#;

/// A temp folder with the mini agent and a suite made of `conversations`.
fn workspace(conversations: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.yaml"), AGENT).unwrap();
    std::fs::write(
        dir.path().join("suite.yaml"),
        format!("suite: Mini suite\nagent: agent.yaml\nconversations:\n{conversations}"),
    )
    .unwrap();
    dir
}

fn baton(args: &[&str], cwd: &Path) -> (i32, String, String) {
    common::baton_in(cwd, args)
}

const PASSING: &str = "  - name: opens a case then hands off
    turns:
      - caller: my order arrived broken jane@example.com
        expect: { actions: [createcase], says: /case/i }
      - caller: get me a human
        expect: { escalated: true, handoff: { reason: caller_request, context: { case_number: \"42\" } } }
";

const FAILING: &str = "  - name: expects a handoff too early
    turns:
      - caller: \"get me a human \\x01 now\"
        expect: { escalated: false, topic: Cases }
";

#[test]
fn order_is_stable_whatever_the_thread_count() {
    let paths = vec![repo("suites"), repo("fixtures/mutants")];
    let suites = load_suites(&paths).unwrap_or_else(|e| panic!("{e}"));
    let view = |jobs| {
        let opts = RunOptions {
            jobs,
            keep_transcripts: true,
            ..RunOptions::default()
        };
        let r = runner::run(&suites, &opts, &()).unwrap();
        r.suites
            .iter()
            .flat_map(|s| {
                s.cases.iter().map(move |c| {
                    (
                        s.name.clone(),
                        c.name.clone(),
                        c.status.clone(),
                        c.transcript.clone(),
                        c.mismatches.clone(),
                    )
                })
            })
            .collect::<Vec<_>>()
    };
    let one = view(1);
    assert!(
        one.len() >= 40,
        "expected the example suites to hold 40+ conversations, got {}",
        one.len()
    );
    assert_eq!(one, view(4));
    assert_eq!(one, view(3));
}

#[test]
fn a_panicking_conversation_fails_alone() {
    let dir = workspace(&format!(
        "{PASSING}{}",
        PASSING.replace("opens a case then hands off", "boom")
    ));
    let suites = load_suites(&[dir.path().join("suite.yaml")]).unwrap();
    let exec = |s: &baton::model::Suite, c: &baton::model::Conversation, o: &RunOptions| {
        if c.name == "boom" {
            panic!("engine exploded on {}", c.name);
        }
        runner::run_conversation(s, c, o)
    };
    let r = runner::run_with(&suites, &RunOptions::default(), &(), &exec).unwrap();
    let cases = &r.suites[0].cases;
    assert_eq!(cases[0].status, Status::Passed);
    assert_eq!(cases[1].status, Status::Failed);
    assert_eq!(cases[1].panic.as_deref(), Some("engine exploded on boom"));
    assert_eq!(r.counts().to_string(), "1 passed, 1 failed");
}

#[test]
fn golden_transcripts_are_created_checked_and_never_blessed_from_a_failing_run() {
    let golden = "    transcript: golden/pass.txt\n";
    let dir = workspace(&PASSING.replacen("    turns:\n", &format!("{golden}    turns:\n"), 1));
    let gpath = dir.path().join("golden/pass.txt");

    let (code, out, _) = baton(&["run", "suite.yaml"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("golden transcript") && out.contains("is missing (run with --bless to create it)"),
        "{out}"
    );

    let (code, out, _) = baton(&["run", "suite.yaml", "--bless"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(created"), "{out}");
    let text = std::fs::read_to_string(&gpath).unwrap();
    assert!(
        text.contains("[2] caller: get me a human")
            && text.contains("handoff: Queue (reason caller_request, topic Cases, turn 2)"),
        "{text}"
    );

    let (code, out, _) = baton(&["run", "suite.yaml"], dir.path());
    assert_eq!(code, 0, "{out}");

    // The agent changes its wording: the transcript diff shows it.
    std::fs::write(
        dir.path().join("agent.yaml"),
        AGENT.replace("Connecting you now.", "Please hold."),
    )
    .unwrap();
    let (code, out, _) = baton(&["run", "suite.yaml"], dir.path());
    assert_eq!(code, 1);
    assert!(
        out.contains("-    agent: Connecting you now.") && out.contains("+    agent: Please hold."),
        "{out}"
    );

    // An expectation that fails: --bless must not write over the golden file.
    let suite = std::fs::read_to_string(dir.path().join("suite.yaml")).unwrap();
    std::fs::write(
        dir.path().join("suite.yaml"),
        suite.replace("reason: caller_request", "reason: dtmf"),
    )
    .unwrap();
    let (code, out, _) = baton(&["run", "suite.yaml", "--bless"], dir.path());
    assert_eq!(code, 1);
    assert!(out.contains("was not blessed"), "{out}");
    assert_eq!(std::fs::read_to_string(&gpath).unwrap(), text);
}

#[test]
fn failing_conversation_shows_a_diff_and_the_summary_line() {
    let dir = workspace(&format!("{PASSING}{FAILING}"));
    let (code, out, _) = baton(&["run", "suite.yaml"], dir.path());
    assert_eq!(code, 1);
    assert!(
        out.contains("FAIL") && out.contains("Mini suite :: expects a handoff too early"),
        "{out}"
    );
    assert!(out.contains("turn 1: topic: expected Cases, got Escalation"), "{out}");
    assert!(out.contains("turn 1: escalated: expected false, got true"), "{out}");
    assert!(
        out.contains("--- expected\n")
            && out.contains("-[1]   escalated: false\n")
            && out.contains("+[1]   escalated: true\n"),
        "{out}"
    );
    assert!(
        out.contains("[1] caller: get me a human \\x01 now"),
        "control characters are escaped in transcripts:\n{out}"
    );
    assert!(!out.contains('\u{1b}'), "NO_COLOR output must be plain:\n{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"));

    let (code, out, _) = baton(&["run", "suite.yaml", "--filter", "opens a case"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 0 failed, 1 skipped"));
}

#[test]
fn junit_report_reads_back_with_counts_failures_and_transcripts() {
    let skipped = "  - name: not yet\n    skip: waiting on the new flow\n    turns: [{caller: hi}]\n";
    let dir = workspace(&format!("{PASSING}{FAILING}{skipped}"));
    let (code, _, err) = baton(&["run", "suite.yaml", "--junit", "reports/out.xml"], dir.path());
    assert_eq!(code, 1, "{err}");
    let xml = std::fs::read_to_string(dir.path().join("reports/out.xml")).unwrap();
    assert!(
        !xml.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')),
        "control characters reached the XML"
    );
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let suites: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), 1);
    let ts = suites[0];
    assert_eq!(ts.attribute("name"), Some("Mini suite"));
    assert_eq!(ts.attribute("tests"), Some("3"));
    assert_eq!(ts.attribute("failures"), Some("1"));
    assert_eq!(ts.attribute("skipped"), Some("1"));
    assert!(ts.attribute("timestamp").is_some());
    let cases: Vec<_> = ts.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(
        cases.iter().map(|c| c.attribute("name").unwrap()).collect::<Vec<_>>(),
        ["opens a case then hands off", "expects a handoff too early", "not yet"]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.attribute("classname") == Some("Mini suite") && c.attribute("time").is_some())
    );
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure element");
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("turn 1: escalated: expected false, got true")
    );
    assert!(failure.text().unwrap_or("").contains("+[1]   escalated: true"));
    let out = cases[0]
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .expect("system-out");
    assert!(out.text().unwrap().contains("handoff: Queue (reason caller_request"));
    assert!(cases[2].children().any(|n| n.has_tag_name("skipped")));
}

#[test]
fn two_conversations_may_not_share_a_golden_file() {
    let one = PASSING.replacen("    turns:\n", "    transcript: g/same.txt\n    turns:\n", 1);
    let two = one.replace("opens a case then hands off", "second");
    let dir = workspace(&format!("{one}{two}"));
    let (code, _, err) = baton(&["run", "suite.yaml", "--bless"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("golden transcript") && err.contains("is already used by the conversation at"),
        "{err}"
    );
    assert!(!dir.path().join("g/same.txt").exists());
}

#[test]
fn golden_unit_outcomes() {
    // A bless that created the file is reported as such by the library too.
    let dir = workspace(&PASSING.replacen("    turns:\n", "    transcript: g.txt\n    turns:\n", 1));
    let suites = load_suites(&[dir.path().join("suite.yaml")]).unwrap();
    let opts = RunOptions {
        bless: true,
        ..RunOptions::default()
    };
    let r = runner::run(&suites, &opts, &()).unwrap();
    assert!(matches!(
        r.suites[0].cases[0].golden,
        Some((_, Golden::Blessed { created: true }))
    ));
    let r = runner::run(&suites, &opts, &()).unwrap();
    assert!(matches!(r.suites[0].cases[0].golden, Some((_, Golden::Matches))));
}

#[test]
fn cli_traps_are_usage_errors() {
    let dir = workspace(PASSING);
    // A filter that matches nothing must not pass CI silently.
    let (code, _, err) = baton(&["run", "suite.yaml", "--filter", "no such conversation"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--filter \"no such conversation\" matches no conversation"),
        "{err}"
    );
    let (code, _, err) = baton(&["run", "suite.yaml", "-E", "opens a case", "-E", "tpyo"], dir.path());
    assert_eq!(code, 2, "one unmatched filter among several is still an error: {err}");
    let (code, _, err) = baton(&["run", "suite.yaml", "--tag", "nope"], dir.path());
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = baton(&["run", "suite.yaml", "-j", "100000"], dir.path());
    assert_eq!(code, 0, "thread count is capped by the work: {out}{err}");
    // `--junit DIR` would overwrite a folder: refused before anything runs.
    std::fs::create_dir(dir.path().join("suites")).unwrap();
    let (code, _, err) = baton(&["run", "--junit", "suites", "suite.yaml"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--junit takes the report file"), "{err}");
    let (code, _, err) = baton(&["run", "suite.yaml", "--junit", "newdir/"], dir.path());
    assert_eq!(code, 2, "{err}");
    // `--junit` alone writes the default report.
    let (code, _, err) = baton(&["run", "suite.yaml", "--junit"], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("reports/junit.xml").exists());
}

#[test]
fn json_report_reads_back_in_run_order() {
    let skipped = "  - name: not yet\n    skip: waiting on the new flow\n    turns: [{caller: hi}]\n";
    let dir = workspace(&format!("{PASSING}{FAILING}{skipped}"));
    let (code, _, err) = baton(&["run", "suite.yaml", "--json"], dir.path());
    assert_eq!(code, 1, "{err}");
    let text = std::fs::read_to_string(dir.path().join("reports/baton.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64(), v["skipped"].as_u64()),
        (Some(1), Some(1), Some(1))
    );
    let convs = v["suites"][0]["conversations"].as_array().unwrap();
    let names: Vec<&str> = convs.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["opens a case then hands off", "expects a handoff too early", "not yet"]
    );
    assert_eq!(convs[1]["status"], "failed");
    let f = &convs[1]["failures"][0];
    assert_eq!((f["turn"].as_u64(), f["key"].as_str()), (Some(1), Some("topic")));
    assert_eq!(
        (f["expected"].as_str(), f["actual"].as_str()),
        (Some("Cases"), Some("Escalation"))
    );
    assert!(convs[0]["transcript"].as_str().unwrap().contains("handoff: Queue"));
    assert_eq!(convs[2]["skip_reason"], "waiting on the new flow");
}

#[test]
fn junit_holds_only_xml_characters_whatever_the_caller_said() {
    // U+FFFF, U+FFFE and BEL are legal in a caller line and in a file name,
    // and none of them may appear in XML 1.0.
    let conv = "  - name: odd caller
    turns:
      - caller: \"hello \\uFFFF \\uFFFE \\x07 there\"
        expect: { escalated: true }
";
    let dir = workspace(conv);
    let odd = "odd \u{FFFF}\u{7}.yaml";
    std::fs::rename(dir.path().join("suite.yaml"), dir.path().join(odd)).unwrap();
    let (code, out, err) = baton(&["run", odd, "--junit", "out.xml"], dir.path());
    assert_eq!(code, 1, "{out}{err}");
    let xml = std::fs::read_to_string(dir.path().join("out.xml")).unwrap();
    let doc = common::strict_xml(&xml);
    let case = doc.descendants().find(|n| n.has_tag_name("testcase")).unwrap();
    let failure = case.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("escalated: expected true, got false"),
        "{xml}"
    );
    let system_out = case.children().find(|n| n.has_tag_name("system-out")).unwrap();
    assert!(
        system_out
            .text()
            .unwrap()
            .contains("caller: hello \\u{FFFF} \\u{FFFE} \\x07 there"),
        "{xml}"
    );
    let file = doc
        .descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("file"))
        .and_then(|n| n.attribute("value"));
    assert_eq!(file, Some("odd \\u{FFFF}\\x07.yaml"));
}

#[test]
fn every_report_is_tried_when_one_cannot_be_written() {
    let dir = workspace(PASSING);
    // A regular file where the folder should be: unwritable even as root.
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let (code, _, err) = baton(
        &[
            "run",
            "suite.yaml",
            "--junit",
            "blocker/junit.xml",
            "--json",
            "out/run.json",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("error: cannot write JUnit report blocker/junit.xml"),
        "{err}"
    );
    assert!(err.contains("JSON report: out/run.json"), "{err}");
    let text = std::fs::read_to_string(dir.path().join("out/run.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["passed"], 1);
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
#[test]
fn a_report_never_replaces_a_symbolic_link() {
    let dir = workspace(PASSING);
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    std::fs::write(reports.join("real.xml"), "keep").unwrap();
    std::os::unix::fs::symlink("real.xml", reports.join("x.xml")).unwrap();
    let (code, _, err) = baton(
        &[
            "run",
            "suite.yaml",
            "--junit",
            "reports/x.xml",
            "--json",
            "reports/run.json",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "error: refusing to write the JUnit report to reports/x.xml: it is a symbolic link; expected a regular file or a new path"
        ),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(reports.join("x.xml")).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(reports.join("real.xml")).unwrap(), "keep");
    // The JSON report was still written, and nothing else: no temporary file.
    assert_eq!(names(&reports), ["real.xml", "run.json", "x.xml"]);
}

#[cfg(unix)]
#[test]
fn a_report_never_replaces_a_fifo() {
    use std::os::unix::fs::FileTypeExt;
    let dir = workspace(PASSING);
    let made = Command::new("mkfifo").arg(dir.path().join("out.xml")).status().unwrap();
    assert!(made.success());
    let (code, _, err) = baton(&["run", "suite.yaml", "--junit", "out.xml"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("refusing to write the JUnit report to out.xml: it is a FIFO (named pipe)"),
        "{err}"
    );
    let meta = std::fs::symlink_metadata(dir.path().join("out.xml")).unwrap();
    assert!(meta.file_type().is_fifo());
    assert_eq!(names(dir.path()), ["agent.yaml", "out.xml", "suite.yaml"]);
}

#[cfg(unix)]
#[test]
fn dev_null_means_no_report() {
    use std::os::unix::fs::FileTypeExt;
    let dir = workspace(PASSING);
    let (code, _, err) = baton(
        &["run", "suite.yaml", "--junit", "/dev/null", "--json=/dev/null"],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("JUnit report: not written (/dev/null)"), "{err}");
    assert!(err.contains("JSON report: not written (/dev/null)"), "{err}");
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
}

#[cfg(unix)]
#[test]
fn bless_never_replaces_a_symbolic_link() {
    let dir = workspace(&PASSING.replacen("    turns:\n", "    transcript: g.txt\n    turns:\n", 1));
    // A baton transcript behind the link, so the refusal is the link's.
    std::fs::write(dir.path().join("elsewhere.txt"), "conversation: old\n").unwrap();
    std::os::unix::fs::symlink("elsewhere.txt", dir.path().join("g.txt")).unwrap();
    let (code, out, _) = baton(&["run", "suite.yaml", "--bless"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("g.txt: refusing to write it: it is a symbolic link; expected a regular file or a new path"),
        "{out}"
    );
    assert!(
        std::fs::symlink_metadata(dir.path().join("g.txt"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("elsewhere.txt")).unwrap(),
        "conversation: old\n"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn temporary_files_of_dead_runs_are_removed() {
    let dir = workspace(PASSING);
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    // No process can have pid 999999999 (Linux caps pids at 2^22); this
    // test's own process is alive; the last one is another target's.
    let dead = ".junit.xml.baton-tmp-999999999-abc";
    let alive = format!(".junit.xml.baton-tmp-{}-abc", std::process::id());
    let other = ".other.xml.baton-tmp-999999999-abc";
    for name in [dead, &alive, other] {
        std::fs::write(reports.join(name), "half a report").unwrap();
    }
    let (code, _, err) = baton(&["run", "suite.yaml", "--junit", "reports/junit.xml"], dir.path());
    assert_eq!(code, 0, "{err}");
    let mut expected = vec![alive, other.to_string(), "junit.xml".to_string()];
    expected.sort();
    assert_eq!(names(&reports), expected);
}

#[cfg(unix)]
#[test]
fn sigterm_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["fuzz", "--cases", "100000000", "--no-regressions", "--junit"])
        .arg(dir.path().join("fuzz.xml"))
        .arg(repo("suites/contoso_voice.yaml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("baton did not stop on SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        names(dir.path()),
        Vec::<String>::new(),
        "nothing written or left behind"
    );
}

#[test]
fn the_reports_of_one_run_carry_its_id() {
    let dir = workspace(&format!("{PASSING}{FAILING}"));
    let run = || {
        let (code, _, err) = baton(
            &["run", "suite.yaml", "--junit", "r/junit.xml", "--json", "r/run.json"],
            dir.path(),
        );
        assert_eq!(code, 1, "{err}");
        let xml = std::fs::read_to_string(dir.path().join("r/junit.xml")).unwrap();
        let doc = common::strict_xml(&xml);
        let in_junit: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("property") && n.attribute("name") == Some("run_id"))
            .map(|n| n.attribute("value").unwrap().to_string())
            .collect();
        assert_eq!(in_junit.len(), 1, "one per testsuite: {xml}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/run.json")).unwrap()).unwrap();
        let id = json["run_id"].as_str().unwrap().to_string();
        assert_eq!(in_junit[0], id);
        assert!(err.contains(&format!("JUnit report: r/junit.xml (run {id})")), "{err}");
        assert!(err.contains(&format!("JSON report: r/run.json (run {id})")), "{err}");
        id
    };
    let (first, second) = (run(), run());
    assert!(!first.is_empty());
    assert_ne!(first, second, "two runs share an id");
}

/// An agent's warnings are printed once (however many suites use it),
/// carried in JUnit and JSON, and fail the run only with --deny-warnings.
#[test]
fn agent_warnings_are_shown_once_reported_and_deniable() {
    let dir = workspace(PASSING);
    // An escalation policy without the quoted keyword binds nothing.
    let agent = AGENT.replacen(
        "    instructions:\n",
        "    instructions:\n      - \"Escalate to a human only after the case is created.\"\n",
        1,
    );
    assert_ne!(agent, AGENT, "the agent has an instructions list to add to");
    std::fs::write(dir.path().join("agent.yaml"), agent).unwrap();
    let suite = std::fs::read_to_string(dir.path().join("suite.yaml")).unwrap();
    std::fs::write(
        dir.path().join("second.yaml"),
        suite.replace("Mini suite", "Second suite"),
    )
    .unwrap();
    let args = ["run", ".", "--junit", "j.xml", "--json", "r.json"];
    let (code, out, err) = baton(&args, dir.path());
    assert_eq!(code, 0, "{out}{err}");
    let shown = err.matches("binds nothing").count();
    assert_eq!(shown, 1, "once per agent, not per suite:\n{err}");
    assert!(
        err.contains("warning: agent Mini (./agent.yaml): topic Cases instruction 1"),
        "{err}"
    );
    let xml = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    assert!(xml.contains("name=\"agent_warning\""), "{xml}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert!(
        json["suites"][0]["agent_warnings"][0]
            .as_str()
            .unwrap()
            .contains("binds nothing"),
        "{json}"
    );
    let mut denied = args.to_vec();
    denied.push("--deny-warnings");
    let (code, _, err) = baton(&denied, dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error: 1 agent warning and --deny-warnings"), "{err}");
}
