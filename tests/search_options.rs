//! fuzz and verify as CI runs them: `--fail-fast`, `-q`, one look at an
//! agent's implied properties and one caller model per agent however many
//! suites use it, and slot values a person can read.

use std::path::{Path, PathBuf};
use std::process::Command;

use baton::explore::caller::{Fillers, valid_utterances};
use baton::explore::{Mode, Outcome, SearchOptions, search_all};

mod common;
use common::load_anywhere;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn baton(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn fail_fast_stops_at_the_first_violation_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for jobs in ["1", "2"] {
        let report = dir.path().join(format!("fuzz-{jobs}.json"));
        let out = baton(&[
            "fuzz",
            "fixtures/mutants/case_in_wrong_topic.suite.yaml",
            "--fail-fast",
            "--no-regressions",
            "-j",
            jobs,
            &format!("--json={}", report.display()),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        let doc = json(&report);
        let suite = &doc["suites"][0];
        let cases = suite["stats"]["cases"].as_u64().unwrap();
        // The default is 50,000 cases; the first violation comes far sooner.
        assert!(cases < 10_000, "{cases} cases played");
        let statuses: Vec<String> = suite["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["status"].as_str().unwrap().to_string())
            .collect();
        assert!(statuses.iter().any(|s| s == "violated"), "{statuses:?}");
        assert!(
            statuses.iter().all(|s| s == "violated" || s == "not_searched"),
            "{statuses:?}"
        );
        if statuses.iter().any(|s| s == "not_searched") {
            assert!(stdout.contains("NOT SEARCHED"), "{stdout}");
        }
        let yaml: Vec<String> = suite["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["yaml"].as_str().unwrap_or("").to_string())
            .collect();
        seen.push((cases, suite["stats"]["turns"].as_u64(), yaml));
    }
    assert_eq!(seen[0], seen[1], "the thread count changed the result");
}

#[test]
fn quiet_prints_only_what_failed() {
    let out = baton(&["verify", "suites/contoso_voice.yaml", "-q", "--no-regressions"]);
    assert_eq!(out.status.code(), Some(0));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    assert!(stdout.contains("Summary"), "{stdout}");
    assert!(stderr.trim().is_empty(), "{stderr}");
    let out = baton(&[
        "fuzz",
        "fixtures/mutants/silence_escalates.suite.yaml",
        "suites/contoso_voice.yaml",
        "-q",
        "--no-regressions",
        "--cases",
        "2000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("VIOLATED"), "{stdout}");
    assert!(!stdout.contains("HOLDS"), "{stdout}");
    assert!(!stdout.contains("fuzz: seed"), "{stdout}");
    assert!(!stdout.contains("Contoso combined"), "{stdout}");
    assert!(!stderr.contains("[1/2]"), "{stderr}");
}

/// Two suites over one agent file, with their own names.
fn two_suites_over_one_agent(dir: &Path) -> Vec<PathBuf> {
    let src = root().join("fixtures/mutants/policy_without_can_escalate.suite.yaml");
    let agent = root().join("fixtures/mutants/policy_without_can_escalate.agent.yaml");
    let text = std::fs::read_to_string(&src).unwrap();
    let agent_line = text.lines().find(|l| l.starts_with("agent:")).unwrap();
    let suite_line = text.lines().find(|l| l.starts_with("suite:")).unwrap();
    (1..=2)
        .map(|n| {
            let file = dir.join(format!("copy{n}.suite.yaml"));
            let t = text
                .replace(agent_line, &format!("agent: {}", agent.display()))
                .replace(suite_line, &format!("suite: \"copy {n}\""));
            std::fs::write(&file, t).unwrap();
            file
        })
        .collect()
}

#[test]
fn implied_properties_are_checked_once_per_agent() {
    let dir = tempfile::tempdir().unwrap();
    let files = two_suites_over_one_agent(dir.path());
    let one = load_anywhere(&files[..1]).unwrap();
    let both = load_anywhere(&files).unwrap();
    for mode in [
        Mode::Verify {
            depth: 12,
            max_states: 500_000,
            reduce: true,
        },
        Mode::Fuzz {
            seed: 0,
            cases: 5_000,
            max_turns: 12,
            fail_fast: false,
        },
    ] {
        let regs = dir.path().join(format!("regs-{}", matches!(mode, Mode::Fuzz { .. })));
        let opts = |regressions: Option<PathBuf>| SearchOptions {
            mode: mode.clone(),
            jobs: 2,
            regressions,
        };
        let alone = search_all(&one, &opts(None), &()).unwrap();
        let together = search_all(&both, &opts(Some(regs.clone())), &()).unwrap();
        assert!(alone.violations() > 0);
        assert_eq!(together.violations(), alone.violations(), "{mode:?}");
        assert_eq!(std::fs::read_dir(&regs).unwrap().count(), alone.violations());
        // The second suite says where they were checked; it has no declared
        // property, so nothing is left to search.
        let second = &together.suites[1];
        assert!(
            second.skipped.as_deref().unwrap_or("").contains("'copy 1'"),
            "{second:?}"
        );
    }
}

#[test]
fn a_properties_only_suite_uses_the_caller_lines_of_the_agents_other_suites() {
    let dir = tempfile::tempdir().unwrap();
    // The code is the whole answer (\A...\z): no value can be made from the
    // pattern, but the conversation suite gives one.
    std::fs::write(
        dir.path().join("agent.yaml"),
        r#"agent: Codes
escalation: { flow: F }
slots:
  code: { pattern: '\A\s*([A-Z]{2}[0-9]{4})\s*\z', ask: "Your code?" }
topics:
  - name: Orders
    utterances: ["where is my order"]
    can_escalate: true
    instructions:
      - "If the user asks to talk to a human agent, allow the 'Escalation' action only if the user has provided their code. If they have not, ask for the code first."
"#,
    )
    .unwrap();
    let props = dir.path().join("props.suite.yaml");
    std::fs::write(
        &props,
        "suite: props\nagent: agent.yaml\nproperties:\n  - name: reach\n    escalation_reachable: { within: 4 }\n",
    )
    .unwrap();
    let convs = dir.path().join("convs.suite.yaml");
    std::fs::write(
        &convs,
        "suite: convs\nagent: agent.yaml\nconversations:\n  - name: code\n    turns:\n      - caller: \"where is my order\"\n      - caller: \"I want to talk to a human agent\"\n      - caller: \"AB1234\"\n        expect: { escalated: true }\n",
    )
    .unwrap();
    let suites = load_anywhere(&[props, convs]).unwrap();
    for mode in [
        Mode::Verify {
            depth: 8,
            max_states: 500_000,
            reduce: true,
        },
        Mode::Fuzz {
            seed: 0,
            cases: 2_000,
            max_turns: 12,
            fail_fast: false,
        },
    ] {
        let opts = SearchOptions {
            mode,
            jobs: 1,
            regressions: None,
        };
        let report = search_all(&suites, &opts, &()).unwrap();
        let s = report.suites.iter().find(|s| s.name == "props").unwrap();
        assert!(
            s.warnings.iter().all(|w| !w.contains("slot 'code'")),
            "{:?}",
            s.warnings
        );
        let reach = s.properties.iter().find(|p| p.name == "reach").unwrap();
        assert!(matches!(reach.outcome, Outcome::Held), "{reach:?}");
    }
}

#[test]
fn values_made_from_a_pattern_are_ascii() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .arg(root().join("../shared/bench/gen_agent.py"))
        .args(["3", "6", "3"])
        .arg(dir.path())
        .output()
        .expect("python3 runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let suite = load_anywhere(&[dir.path().join("scale-t3s6a3.suite.yaml")])
        .unwrap()
        .remove(0);
    let agent = &suite.agent;
    let fillers = Fillers::new(agent);
    for (i, slot) in agent.slots.iter().enumerate() {
        let values = valid_utterances(agent, &fillers, i as u16, &[]);
        assert!(!values.is_empty(), "{}", slot.name);
        for v in &values {
            assert!(v.is_ascii(), "slot {}: {v:?}", slot.name);
        }
    }
}
