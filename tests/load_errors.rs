//! Bad input through the real binary: every error names file:line:col and
//! what was expected, exits 2, panics never, and leaves no report behind.

use std::path::{Path, PathBuf};
use std::process::Command;

fn agent_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agents/acme_support.yaml")
}

struct Outcome {
    code: i32,
    stderr: String,
    report_written: bool,
}

fn run_file(dir: &Path, file: &Path) -> Outcome {
    let report = dir.join("out/junit.xml");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("run")
        .arg(file)
        .arg("--junit")
        .arg(&report)
        // The suites here name the example agent outside their temporary
        // folder; confinement has its own tests (tests/untrusted.rs).
        .arg("--allow-outside-root")
        .env("NO_COLOR", "1")
        .output()
        .expect("run baton");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "baton panicked:\n{stderr}");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stderr,
        report_written: report.exists(),
    }
}

/// Writes `suite` (with AGENT replaced by the example agent's path) and
/// checks that loading fails with `expected` in the first error line.
fn load_error(suite: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suite.yaml");
    std::fs::write(&file, suite.replace("AGENT", &agent_path().display().to_string())).unwrap();
    let out = run_file(dir.path(), &file);
    assert_eq!(out.code, 2, "exit code; stderr:\n{}", out.stderr);
    assert!(!out.report_written, "a report was written despite the load error");
    let want = format!("{}{expected}", file.display());
    assert!(out.stderr.contains(&want), "expected `{want}` in:\n{}", out.stderr);
}

const HEAD: &str = "suite: S\nagent: AGENT\nconversations:\n";

#[test]
fn malformed_yaml() {
    load_error(&format!("{HEAD}  - name: a\n    turns: [ {{caller: hi\n"), ":5:");
}

#[test]
fn unknown_key() {
    load_error(
        &format!("{HEAD}  - name: a\n    turnz: []\n"),
        ":5:5: unknown field 'turnz'",
    );
}

#[test]
fn wrong_type() {
    load_error(
        &format!("{HEAD}  - name: a\n    turns:\n      - caller: hi\n        expect: {{ escalated: perhaps }}\n"),
        ":7:30: invalid boolean: expected true or false",
    );
}

#[test]
fn dangling_action_with_suggestion() {
    load_error(
        &format!("{HEAD}  - name: a\n    turns:\n      - caller: hi\n        expect: {{ actions: [createcas] }}\n"),
        ":7:29: unknown action 'createcas' (did you mean 'createcase'?)",
    );
}

#[test]
fn dangling_topic_slot_and_context_key() {
    load_error(
        &format!("{HEAD}  - name: a\n    turns:\n      - caller: hi\n        expect: {{ topic: Case_Managment }}\n"),
        ":7:26: unknown topic 'Case_Managment' (did you mean 'Case_Management'?)",
    );
    load_error(
        &format!("{HEAD}  - name: a\n    turns:\n      - caller: hi\n        expect: {{ slots: {{ emial: x }} }}\n"),
        ":7:28: unknown slot 'emial' (did you mean 'email'?)",
    );
    load_error(
        &format!(
            "{HEAD}  - name: a\n    turns:\n      - caller: hi\n        expect: {{ handoff: {{ context: {{ case_no: x }} }} }}\n"
        ),
        ":7:41: unknown context key (slot or action output) 'case_no' (did you mean 'case_number'?)",
    );
}

#[test]
fn missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_file(dir.path(), &dir.path().join("nope.yaml"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("nope.yaml: cannot read: no such file or directory"),
        "{}",
        out.stderr
    );
    load_error(
        "suite: S\nagent: ../missing/agent.yaml\nconversations: []\n",
        ":2:8: cannot read agent '../missing/agent.yaml': no such file or directory",
    );
}

#[test]
fn empty_suite_and_empty_file() {
    load_error(
        &format!("{HEAD}  []\n").replace("conversations:\n  []", "conversations: []"),
        ":3:1: suite has no conversations",
    );
    load_error("# nothing here\n", ": file is empty: expected a suite");
    // Without the key (a truncated file): at the suite's name, not the
    // file as a whole.
    load_error(
        "suite: Cut short\nagent: AGENT\n",
        ":1:8: suite has no conversations and no properties",
    );
}

#[test]
fn duplicate_keys() {
    load_error(
        &format!("{HEAD}  - name: a\n    name: b\n    turns: [{{caller: hi}}]\n"),
        ":5:5: duplicate key 'name': each key may appear only once in a mapping",
    );
}

#[test]
fn duplicate_conversation_names() {
    load_error(
        &format!("{HEAD}  - name: same\n    turns: [{{caller: hi}}]\n  - name: same\n    turns: [{{caller: hi}}]\n"),
        ":6:11: duplicate conversation name 'same' (first at line 4)",
    );
}

#[test]
fn invalid_regex() {
    load_error(
        &format!("{HEAD}  - name: a\n    turns:\n      - caller: hi\n        expect: {{ says: \"/[a-/i\" }}\n"),
        ":7:25: invalid regex in `says`: unclosed character class",
    );
}

#[test]
fn turn_with_two_events_or_none() {
    load_error(
        &format!("{HEAD}  - name: a\n    turns:\n      - {{ caller: hi, silence: true }}\n"),
        ":6:9: turn has more than one caller event",
    );
    load_error(
        &format!("{HEAD}  - name: a\n    turns:\n      - expect: {{ escalated: false }}\n"),
        ":6:9: turn has no caller event",
    );
}

#[test]
fn non_utf8_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suite.yaml");
    std::fs::write(&file, b"suite: S\nagent: caf\xe9.yaml\n").unwrap();
    let out = run_file(dir.path(), &file);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains(&format!("{}:2:11: file is not valid UTF-8", file.display())),
        "{}",
        out.stderr
    );
}

#[test]
fn hostile_documents_are_refused_not_obeyed() {
    let deep = format!(
        "suite: S\nagent: AGENT\nconversations: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    load_error(&deep, ":3:");
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    bomb.push_str("suite: S\nagent: AGENT\nconversations: []\n");
    load_error(&bomb, ":");
}

#[test]
fn errors_in_the_agent_point_into_the_agent_file() {
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agent.yaml");
    std::fs::write(
        &agent,
        "agent: A\nescalation: { flow: F }\nactions: { createcase: {} }\ntopics:\n  - name: T\n    actions: [createcas]\n    instructions:\n      - \"run the 'verify' action\"\n",
    )
    .unwrap();
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        "suite: S\nagent: agent.yaml\nconversations:\n  - name: a\n    turns: [{caller: hi}]\n",
    )
    .unwrap();
    let out = run_file(dir.path(), &suite);
    assert_eq!(out.code, 2);
    let a = agent.display();
    assert!(
        out.stderr.contains(&format!(
            "{a}:6:15: topic 'T' names unknown action 'createcas' (did you mean 'createcase'?)"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("{a}:8:9: instruction names unknown action 'verify'")),
        "{}",
        out.stderr
    );
}

#[test]
fn explain_reports_load_errors_too() {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["explain", "does/not/exist.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("does/not/exist.yaml: cannot read file: no such file or directory")
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["run", "--jobs", "many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `HEAD` and one conversation whose only turn expects `expect`.
fn expecting(expect: &str) -> String {
    format!("{HEAD}  - name: a\n    turns:\n      - caller: hi\n        expect: {{ {expect} }}\n")
}

#[test]
fn says_with_unknown_regex_flags_is_refused_not_taken_literally() {
    load_error(
        &expecting(r#"says: "/abc/q""#),
        ":7:25: unknown regex flag 'q' in `says`: expected flags from i, m, s, x, U (to match the text literally, escape its slashes: says: '/\\/abc\\/q/i')",
    );
    load_error(
        &expecting(r#"says: "/case/gz""#),
        ":7:25: unknown regex flags 'g', 'z' in `says`: expected flags from i, m, s, x, U",
    );
    load_error(
        &expecting(r#"says: "/case/g""#),
        ":7:25: unknown regex flag 'g' in `says`: expected flags from i, m, s, x, U (every `says` regex already matches anywhere in the reply: drop the 'g'; to match the text literally, escape its slashes: says: '/\\/case\\/g/i')",
    );
}

#[test]
fn the_literal_form_the_help_gives_loads_and_matches() {
    // The help's regex is a valid `says` that finds the text in a reply.
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agent.yaml");
    std::fs::write(
        &agent,
        "agent: A\nescalation: { flow: F }\ntopics:\n  - name: Paths\n    utterances: [\"paths\"]\n    reply: \"See /ABC/q for it.\"\n",
    )
    .unwrap();
    let file = dir.path().join("suite.yaml");
    std::fs::write(
        &file,
        "suite: S\nagent: agent.yaml\nconversations:\n  - name: a\n    turns:\n      - caller: paths\n        expect: { says: '/\\/abc\\/q/i' }\n",
    )
    .unwrap();
    let out = run_file(dir.path(), &file);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn says_that_matches_every_reply_is_refused() {
    load_error(
        &expecting(r#"says: """#),
        ":7:25: empty `says` matches every reply: expected text the reply must contain, or /regex/",
    );
    load_error(
        &expecting(r#"says: "//""#),
        ":7:25: empty regex in `says` matches every reply: expected a pattern between the slashes",
    );
    load_error(&expecting(r#"says: "//i""#), ":7:25: empty regex in `says`");
}

#[test]
fn slashes_that_are_not_the_regex_form_stay_literal() {
    // A later slash followed by more than letters is text, not a regex.
    for says in ["/usr/bin is fine", "/", "a/b/c", "/x/ y"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("suite.yaml");
        std::fs::write(
            &file,
            expecting(&format!("says: {says:?}")).replace("AGENT", &agent_path().display().to_string()),
        )
        .unwrap();
        let out = run_file(dir.path(), &file);
        // Loaded and run: the reply does not contain the text, so it fails.
        assert_eq!(out.code, 1, "{says}: {}", out.stderr);
    }
}

#[test]
fn a_handoff_turn_that_can_never_hold_is_refused() {
    load_error(
        &expecting("handoff: { turn: 0 }"),
        ":7:36: `handoff.turn: 0` can never hold: turns are numbered from 1; expected a turn from 1 to 1",
    );
    load_error(
        &format!(
            "{HEAD}  - name: a\n    turns:\n      - caller: hi\n      - caller: agent please\n        expect: {{ handoff: {{ turn: 3 }} }}\n"
        ),
        ":8:36: `handoff.turn: 3` can never hold: the handoff cannot have happened yet on turn 2; expected a turn from 1 to 2",
    );
}

#[test]
fn quoted_yes_no_on_off_are_not_booleans() {
    for word in ["\"off\"", "'yes'", "on", "no", "Y"] {
        load_error(
            &expecting(&format!("escalated: {word}")),
            ":7:30: invalid boolean: expected true or false",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agent.yaml");
    std::fs::write(
        &agent,
        "agent: A\nescalation: { flow: F }\nactions:\n  createcase: { fails: \"yes\" }\ntopics:\n  - name: T\n",
    )
    .unwrap();
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        "suite: S\nagent: agent.yaml\nconversations:\n  - name: a\n    turns: [{caller: hi}]\n",
    )
    .unwrap();
    let out = run_file(dir.path(), &suite);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let want = format!("{}:4:24: invalid boolean: expected true or false", agent.display());
    assert!(out.stderr.contains(&want), "expected `{want}` in:\n{}", out.stderr);
}

#[test]
fn names_in_a_suite_must_be_printable() {
    // A line break in a name could forge a PASS line; ESC drives the terminal.
    load_error(
        &format!("{HEAD}  - name: \"ok\\n    PASS forged :: a\"\n    turns: [{{caller: hi}}]\n"),
        ":4:11: conversation name contains the control character U+000A: expected printable text",
    );
    load_error(
        &format!("{HEAD}  - name: \"\\e[2J\"\n    turns: [{{caller: hi}}]\n"),
        ":4:11: conversation name contains the control character U+001B: expected printable text",
    );
    load_error(
        "suite: \"S\\u202E\"\nagent: AGENT\nconversations:\n  - name: a\n    turns: [{caller: hi}]\n",
        ":1:8: suite name contains the bidirectional control U+202E: expected printable text",
    );
    load_error(
        "suite: S\nagent: AGENT\ntags: [ok, \"b\\x9b\"]\nconversations:\n  - name: a\n    turns: [{caller: hi}]\n",
        ":3:12: tag contains the control character U+009B: expected printable text",
    );
    load_error(
        &format!("{HEAD}  - name: a\n    tags: [\"x\\uFFFF\"]\n    turns: [{{caller: hi}}]\n"),
        ":5:12: tag contains the noncharacter U+FFFF: expected printable text",
    );
    load_error(
        "suite: S\nagent: AGENT\nproperties:\n  - name: \"p\\tq\"\n    escalation_requires: { requested: true }\n",
        ":4:11: property name contains the control character U+0009: expected printable text",
    );
}

#[test]
fn names_in_an_agent_must_be_printable() {
    let base = "agent: A\nescalation: { flow: F }\nslots:\n  email: { kind: email }\nactions:\n  createcase: { outputs: [case_number] }\ntopics:\n  - name: T\n";
    for (from, to, at, kind, code) in [
        (
            "agent: A",
            "agent: \"A\\x07\"",
            "1:8",
            "agent name",
            "the control character U+0007",
        ),
        (
            "name: T",
            "name: \"T\\u2066\"",
            "8:11",
            "topic name",
            "the bidirectional control U+2066",
        ),
        (
            "  createcase:",
            "  \"create\\x7Fcase\":",
            "6:3",
            "action name",
            "the control character U+007F",
        ),
        (
            "  email:",
            "  \"email\\uFDD0\":",
            "4:3",
            "slot name",
            "the noncharacter U+FDD0",
        ),
        (
            "[case_number]",
            "[\"case\\u200Fnumber\"]",
            "6:27",
            "output name",
            "the bidirectional control U+200F",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let agent = dir.path().join("agent.yaml");
        assert!(base.contains(from));
        std::fs::write(&agent, base.replace(from, to)).unwrap();
        let suite = dir.path().join("suite.yaml");
        std::fs::write(
            &suite,
            "suite: S\nagent: agent.yaml\nconversations:\n  - name: a\n    turns: [{caller: hi}]\n",
        )
        .unwrap();
        let out = run_file(dir.path(), &suite);
        assert_eq!(out.code, 2, "{}", out.stderr);
        let want = format!(
            "{}:{at}: {kind} contains {code}: expected printable text",
            agent.display()
        );
        assert!(out.stderr.contains(&want), "expected `{want}` in:\n{}", out.stderr);
    }
}

#[test]
fn caller_lines_are_not_names_and_may_hold_any_character() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suite.yaml");
    let suite = format!("{HEAD}  - name: a\n    turns:\n      - caller: \"hi\\e[2J\\n\\u202E\\uFFFE\\x9b\"\n");
    std::fs::write(&file, suite.replace("AGENT", &agent_path().display().to_string())).unwrap();
    let out = run_file(dir.path(), &file);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// Every error is listed, but only the first twenty with a snippet: each
/// snippet reads its file again, and 20,000 errors in a megabyte file read
/// 20 GB.
#[test]
fn many_errors_are_listed_and_the_first_twenty_drawn() {
    let mut turns = String::new();
    for i in 0..30 {
        turns.push_str(&format!("      - caller: hi\n        expect: {{ topic: Nope{i} }}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("suite.yaml");
    std::fs::write(
        &file,
        format!("{HEAD}  - name: a\n    turns:\n{turns}").replace("AGENT", &agent_path().display().to_string()),
    )
    .unwrap();
    let out = run_file(dir.path(), &file);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let errors = out.stderr.lines().filter(|l| l.starts_with("error: ")).count();
    let snippets = out.stderr.lines().filter(|l| l.contains("╭─[")).count();
    assert_eq!((errors, snippets), (30, 20), "{}", out.stderr);
    assert!(
        out.stderr.ends_with("30 errors while loading; nothing was run\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pinned_request_choice_is_a_strict_boolean() {
    for word in ["'yes'", "maybe", "1"] {
        load_error(
            &format!("{HEAD}  - name: a\n    turns:\n      - caller: hi\n        choose: {{ request: {word} }}\n"),
            ":7:28: invalid boolean: expected true or false",
        );
    }
}
