//! Assurance levels: `verify` says of every safety property that held
//! whether it holds by structure (an LLM that ignores every instruction and
//! calls any tool the structure makes available cannot break it either) or
//! only by instruction (with the shortest script on which such an LLM
//! breaks it), in the console, JUnit and JSON; that script replays with
//! `baton run`, where the agent's own guard catches it; and the same agent written as YAML, as Salesforce metadata
//! and as Agent Script gets the same verdicts, with the levels its
//! constructs earn.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn baton(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .current_dir(root())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("baton runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// `baton verify SUITE --json`: exit code, console, and per property
/// (name, status, level, the report's property object).
/// A property in the JSON report: name, status, level, the whole object.
type Prop = (String, String, Option<String>, Value);

fn verify(suite: &str, dir: &Path) -> (i32, String, Vec<Prop>) {
    let json = dir.join(format!("{}.json", suite.replace('/', "_")));
    let (code, console) = baton(&["verify", suite, "--no-regressions", "--json", json.to_str().unwrap()]);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut props = Vec::new();
    for s in report["suites"].as_array().unwrap() {
        for p in s["properties"].as_array().unwrap() {
            props.push((
                p["name"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
                p["level"].as_str().map(str::to_string),
                p.clone(),
            ));
        }
    }
    (code, console, props)
}

fn level_of<'p>(props: &'p [Prop], name: &str) -> (&'p str, Option<&'p str>) {
    let p = props
        .iter()
        .find(|p| p.0 == name)
        .unwrap_or_else(|| panic!("no property {name}"));
    (p.1.as_str(), p.2.as_deref())
}

#[test]
fn pattern_b_holds_by_instruction_as_a_sentence_and_by_structure_as_available_when() {
    let dir = tempfile::tempdir().unwrap();
    // The seed's Pattern B as instruction text (YAML).
    let (code, console, props) = verify("suites/case_before_escalation.yaml", dir.path());
    assert_eq!(code, 0, "{console}");
    assert_eq!(level_of(&props, "case before human"), ("held", Some("by instruction")));
    assert!(
        console.contains("HOLDS by instruction    case before human"),
        "{console}"
    );
    // What the sentence holds back: an LLM that ignores it hands off at once.
    let p = &props.iter().find(|p| p.0 == "case before human").unwrap().3;
    let script: Vec<&str> = p["ignored_instructions"]["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(script.iter().any(|l| l.contains("llm_escalates: true")), "{script:?}");
    assert_eq!(p["ignored_instructions"]["turns"], 1, "{p}");
    assert!(
        p["ignored_instructions"]["trace"]
            .as_str()
            .unwrap()
            .contains("llm: ignores its instructions and hands off"),
        "{p}"
    );
    // The same pattern as `available when @variables.case_open == True`.
    let (code, console, props) = verify("suites/agent_script_order_help.yaml", dir.path());
    assert_eq!(code, 0, "{console}");
    assert_eq!(
        level_of(&props, "handoffs come with a case"),
        ("held", Some("by structure"))
    );
    assert!(
        console.contains("HOLDS by structure    handoffs come with a case"),
        "{console}"
    );
}

#[test]
fn the_script_an_llm_ignoring_the_instruction_follows_replays_with_baton_run() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, props) = verify("suites/case_before_escalation.yaml", dir.path());
    let p = &props.iter().find(|p| p.0 == "case before human").unwrap().3;
    let script: Vec<String> = p["ignored_instructions"]["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    // The script's turns, then what the auditor sees happen.
    let mut suite = format!(
        "suite: replay\nagent: {}\nconversations:\n  - name: an LLM that ignores the instruction\n    turns:\n",
        root().join("fixtures/agents/acme_support.yaml").display()
    );
    for line in &script {
        let indent = if line.starts_with("- ") { "      " } else { "        " };
        suite.push_str(&format!("{indent}{line}\n"));
    }
    suite.push_str("        expect: { escalated: true, handoff: { reason: llm_decision, topic: Case_Management } }\n");
    let file = dir.path().join("replay.yaml");
    std::fs::write(&file, &suite).unwrap();
    let (code, out) = baton(&["run", file.to_str().unwrap(), "--allow-outside-root"]);
    // The handoff happens, and the agent's own guard, checked on every run,
    // says what the instruction was holding back.
    assert_eq!(code, 1, "{suite}\n{out}");
    assert!(
        out.contains("llm: ignores its instructions and hands off from Case_Management"),
        "{out}"
    );
    assert!(
        out.contains("(reason llm_decision, topic Case_Management, turn 1)"),
        "{out}"
    );
    assert!(!out.contains("escalated: expected"), "{out}");
    assert!(
        out.contains("property 'guard Case_Management #2: 'Escalation' only after 'createcase' succeeded': expected holds, got Escalation while 'createcase' had not succeeded"),
        "{out}"
    );
    // Without the pinned choice the obedient agent asks for the email first.
    let obedient = suite.replace("        choose: { llm_escalates: true }\n", "");
    std::fs::write(&file, &obedient).unwrap();
    let (code, out) = baton(&["run", file.to_str().unwrap(), "--allow-outside-root"]);
    assert_eq!(code, 1, "{obedient}\n{out}");
    assert!(out.contains("escalated: expected true, got false"), "{out}");
}

#[test]
fn an_unknown_action_in_llm_calls_is_a_located_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        format!(
            "suite: s\nagent: {}\nconversations:\n  - name: a\n    turns:\n      - caller: hi\n        choose: {{ llm_calls: [createcas] }}\n",
            root().join("fixtures/agents/acme_support.yaml").display()
        ),
    )
    .unwrap();
    let (code, out) = baton(&["run", file.to_str().unwrap(), "--allow-outside-root"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("s.yaml:7:"), "{out}");
    assert!(out.contains("createcase"), "a did-you-mean: {out}");
}

#[test]
fn junit_carries_the_level_and_the_script_and_a_violation_is_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("v.xml");
    let (code, out) = baton(&[
        "verify",
        "suites/case_before_escalation.yaml",
        "--no-regressions",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = common::strict_xml(&xml);
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("case before human"))
        .expect("a testcase per property");
    let prop = |name: &str| {
        case.descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(name))
            .and_then(|n| n.attribute("value").map(str::to_string))
    };
    assert_eq!(prop("level").as_deref(), Some("by instruction"));
    assert!(
        prop("ignored_instructions_script").is_some_and(|s| s.contains("llm_escalates: true")),
        "{xml}"
    );

    // A planted bug: broken even when the LLM obeys.
    let (code, console, props) = verify("fixtures/mutants/escalates_on_failed_case.suite.yaml", dir.path());
    assert_eq!(code, 1, "{console}");
    assert!(
        props
            .iter()
            .any(|p| p.1 == "violated" && p.2.as_deref() == Some("not at all")),
        "{props:?}"
    );
}

/// Verified_Support three ways (fixtures/equivalence): YAML says "only
/// after verify_identity" in a sentence; the metadata gates its Escalation
/// topic with a rule expression; Agent Script binds `@utils.escalate`
/// `available when @variables.is_verified == True`.
#[test]
fn the_same_agent_in_three_formats_gets_the_same_verdicts_and_the_levels_its_constructs_earn() {
    let dir = tempfile::tempdir().unwrap();
    let suites = ["yaml", "sfdx", "agent_script"].map(|f| format!("fixtures/equivalence/{f}.suite.yaml"));
    // The suites are one suite: they differ only in their header and agent.
    let body = |f: &str| -> String {
        std::fs::read_to_string(root().join(f))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("suite:") && !l.starts_with("agent:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&suites[0]), body(&suites[1]));
    assert_eq!(body(&suites[0]), body(&suites[2]));

    let mut levels = Vec::new();
    for s in &suites {
        let (code, out) = baton(&["run", s]);
        assert_eq!(code, 0, "{s}: {out}");
        let (code, console, props) = verify(s, dir.path());
        assert_eq!(code, 0, "{s}: {console}");
        let owned = |name: &str| {
            let (status, level) = level_of(&props, name);
            (status.to_string(), level.map(str::to_string))
        };
        levels.push((
            owned("only verified members reach an agent"),
            owned("a verified member who asks reaches an agent"),
        ));
    }
    let verdict = |level: Option<&str>| ("held".to_string(), level.map(str::to_string));
    // Reaching a human always rests on the LLM calling the tool: no level.
    let reach = verdict(None);
    assert_eq!(
        levels[0],
        (verdict(Some("by instruction")), reach.clone()),
        "YAML: a sentence"
    );
    let structure = verdict(Some("by structure"));
    assert_eq!(
        levels[1],
        (structure.clone(), reach.clone()),
        "metadata: a rule expression"
    );
    assert_eq!(levels[2], (structure, reach), "Agent Script: available when");
}

#[test]
fn explain_marks_a_sentence_by_instruction_and_a_condition_by_structure() {
    let (code, yaml) = baton(&["explain", "fixtures/equivalence/member_services.yaml"]);
    assert_eq!(code, 0, "{yaml}");
    assert!(
        yaml.contains("-> 'Escalation' only after 'verify_identity' succeeded (by instruction)"),
        "{yaml}"
    );
    assert!(!yaml.contains("(by structure)"), "{yaml}");
    let (code, script) = baton(&["explain", "fixtures/equivalence/member_services.overlay.yaml"]);
    assert_eq!(code, 0, "{script}");
    assert!(
        script.contains("escalation available only when: escalate_to_human (is_verified == True) (by structure)"),
        "{script}"
    );
    assert!(!script.contains("(by instruction)"), "{script}");
}

/// A structural claim reaches only as far as the search with an LLM that
/// ignores its instructions went: when that search did not close, the
/// console and JSON say to which depth.
#[test]
fn a_structural_verdict_says_how_far_it_was_checked() {
    let dir = tempfile::tempdir().unwrap();
    let name = "cases are opened for a known email";
    for (depth, closed) in [("3", false), ("12", true)] {
        let json = dir.path().join(format!("d{depth}.json"));
        let (code, console) = baton(&[
            "verify",
            "suites/case_before_escalation.yaml",
            "--no-regressions",
            "--depth",
            depth,
            "--json",
            json.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{console}");
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let p = report["suites"][0]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone();
        assert_eq!(p["level"], "by structure", "{p}");
        assert_eq!(p["ignored_instructions"]["closed"], closed, "{p}");
        let note = format!("by structure on paths of up to {depth} turns");
        assert_eq!(console.contains(&note), !closed, "{console}");
    }
}
