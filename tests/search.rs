//! `fuzz` and `verify` against the planted bugs of fixtures/mutants/ and the
//! clean example agents: every mutant is caught by both, with a
//! counterexample no longer than necessary (verify's breadth-first shortest
//! is the yardstick for fuzz's shrinker); every clean agent passes both;
//! counterexamples replay as regression suites that fail `baton run`.

use std::path::{Path, PathBuf};
use std::process::Command;

use baton::explore::fuzz::{FuzzOptions, fuzz_suite};
use baton::explore::verify::{VerifyOptions, verify_suite};
use baton::explore::{Mode, Outcome, SearchOptions, SuiteSearch, search_all};
use baton::model::{Event, Suite};
use baton::runner::{self, RunOptions};

mod common;
use common::{clean_copy, lengths, load_anywhere, mutant_suite_files};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(file: &Path) -> Suite {
    load_anywhere(&[file.to_path_buf()])
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0)
}

#[test]
fn every_mutant_is_caught_by_fuzz_and_verify_with_a_shortest_counterexample() {
    let files = mutant_suite_files();
    assert!(files.len() >= 8, "expected at least eight mutants, found {files:?}");
    for file in files {
        let suite = load(&file);
        let fuzzed = fuzz_suite(&suite, &FuzzOptions::default());
        let verified = verify_suite(&suite, &VerifyOptions::default());
        let (f, v) = (lengths(&fuzzed), lengths(&verified));
        assert!(
            v.iter().any(|(_, n)| n.is_some()),
            "verify missed the mutant {}: {v:?}",
            file.display()
        );
        // The same properties break, and the shrunk script is as short as
        // the shortest path there is.
        assert_eq!(f, v, "fuzz and verify disagree on {}", file.display());
    }
}

#[test]
fn the_topic_switch_mutant_needs_a_switch_and_four_turns() {
    let suite = load(&root().join("fixtures/mutants/case_in_wrong_topic.suite.yaml"));
    let verified = verify_suite(&suite, &VerifyOptions::default());
    let Outcome::Violated(ce) = &verified.properties[0].outcome else {
        panic!("not caught: {:?}", lengths(&verified));
    };
    assert_eq!(ce.turns, 4, "{}", ce.trace);
    assert!(ce.trace.contains("switch: left Billing"), "{}", ce.trace);
    assert!(
        ce.trace
            .contains(">>> VIOLATION of 'order handoffs need an order case'"),
        "{}",
        ce.trace
    );
}

#[test]
fn clean_agents_pass_fuzz_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = mutant_suite_files().iter().map(|f| clean_copy(f, dir.path())).collect();
    files.push(root().join("suites"));
    let suites = load_anywhere(&files).unwrap_or_else(|e| panic!("{e}"));
    for suite in &suites {
        if suite.properties.is_empty() {
            continue;
        }
        for s in [
            fuzz_suite(suite, &FuzzOptions::default()),
            verify_suite(suite, &VerifyOptions::default()),
        ] {
            let broken: Vec<_> = lengths(&s).into_iter().filter(|(_, n)| n.is_some()).collect();
            assert!(
                broken.is_empty(),
                "{} ({}): {broken:?}",
                suite.name,
                suite.path.display()
            );
        }
    }
}

#[test]
fn verify_proves_the_clean_agents_for_paths_of_any_length() {
    let suites = load_anywhere(&[root().join("suites")]).unwrap();
    let contoso = suites.iter().find(|s| s.agent.name == "Contoso_Voice").unwrap();
    let v = verify_suite(contoso, &VerifyOptions::default());
    assert!(v.stats.closed, "{:?}", v.stats);
    assert!(
        v.stats.states > 100 && v.stats.transitions > v.stats.states,
        "{:?}",
        v.stats
    );
}

#[test]
fn fuzz_gives_the_same_results_on_any_number_of_threads() {
    let suite = load(&root().join("fixtures/mutants/case_in_wrong_topic.suite.yaml"));
    let opts = FuzzOptions {
        seed: 42,
        cases: 3000,
        max_turns: 12,
        fail_fast: false,
    };
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| fuzz_suite(&suite, &opts))
    };
    let (a, b) = (run(1), run(3));
    assert_eq!(a.stats.turns, b.stats.turns);
    let yaml = |s: &SuiteSearch| -> Vec<String> {
        s.properties
            .iter()
            .map(|p| match &p.outcome {
                Outcome::Held | Outcome::Inconclusive { .. } | Outcome::NotSearched => String::new(),
                Outcome::Violated(ce) => ce.yaml.clone(),
            })
            .collect()
    };
    assert_eq!(yaml(&a), yaml(&b));
    // Another seed draws other cases.
    let other = fuzz_suite(&suite, &FuzzOptions { seed: 43, ..opts });
    assert_ne!(a.stats.turns, other.stats.turns);
}

#[test]
fn a_counterexample_replays_as_a_failing_regression_suite() {
    let dir = tempfile::tempdir().unwrap();
    let suites = load_anywhere(&[root().join("fixtures/mutants/escalates_on_failed_case.suite.yaml")]).unwrap();
    let opts = SearchOptions {
        mode: Mode::Verify {
            depth: 12,
            max_states: 500_000,
            reduce: true,
        },
        jobs: 1,
        regressions: Some(dir.path().to_path_buf()),
    };
    let report = search_all(&suites, &opts, &()).unwrap();
    assert_eq!(report.violations(), 2);
    let mut written: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    written.sort();
    assert_eq!(written.len(), 2, "{written:?}");
    for file in &written {
        let text = std::fs::read_to_string(file).unwrap();
        // The failure that opens the way is an engine choice, pinned.
        assert!(text.contains("choose: { fail: [\"createcase\"] }"), "{text}");
        let replay = load_anywhere(std::slice::from_ref(file)).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let r = runner::run(&replay, &RunOptions::default(), &()).unwrap();
        assert_eq!(r.counts().failed, 1, "{text}");
        let case = &r.suites[0].cases[0];
        assert!(
            case.failure_summary().contains("property"),
            "{}",
            case.failure_summary()
        );
        // On the clean agent the same script passes: the file fails until the fix.
        let clean = root().join("fixtures/agents/acme_support.yaml");
        let agent_line = text.lines().find(|l| l.starts_with("agent:")).unwrap();
        let fixed = dir.path().join("fixed.yaml");
        std::fs::write(&fixed, text.replace(agent_line, &format!("agent: {}", clean.display()))).unwrap();
        let r = runner::run(&load_anywhere(&[fixed]).unwrap(), &RunOptions::default(), &()).unwrap();
        assert_eq!(r.counts().failed, 0, "{text}");
    }
}

fn baton(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn fuzz_exits_1_on_a_mutant_and_writes_junit_with_the_search_figures() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("fuzz.xml");
    let regs = dir.path().join("regs");
    let out = baton(&[
        "fuzz",
        "fixtures/mutants/silence_escalates.suite.yaml",
        "--seed",
        "7",
        "--cases",
        "2000",
        "--regressions",
        regs.to_str().unwrap(),
        &format!("--junit={}", junit.display()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("minimal counterexample: 4 turns"), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let prop = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(name))
            .and_then(|n| n.attribute("value"))
            .map(str::to_string)
    };
    assert_eq!(prop("seed").as_deref(), Some("7"));
    assert_eq!(prop("cases").as_deref(), Some("2000"));
    assert!(prop("turns").is_some_and(|t| t.parse::<u64>().unwrap() > 2000));
    assert!(prop("elapsed_s").is_some());
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 1);
    let failure = cases[0].children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure.text().unwrap_or("").contains(">>> VIOLATION"));
    assert_eq!(std::fs::read_dir(&regs).unwrap().count(), 1);
}

#[test]
fn verify_exits_0_on_clean_suites_and_reports_closure() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("verify.json");
    let out = baton(&[
        "verify",
        "suites/contoso_voice.yaml",
        "--no-regressions",
        &format!("--json={}", json.display()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("closed at depth"), "{stdout}");
    assert!(stdout.contains("HOLDS"), "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["mode"]["kind"], "verify");
    assert_eq!(doc["violations"], 0);
    let suite = &doc["suites"][0];
    assert_eq!(suite["stats"]["closed"], true);
    let props = suite["properties"].as_array().unwrap();
    assert!(props.len() >= 4, "{props:?}");
    assert!(props.iter().all(|p| p["status"] == "held"));
    assert!(
        props
            .iter()
            .any(|p| p["origin"].as_str().unwrap().starts_with("implied by guard"))
    );
}

#[test]
fn property_errors_point_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let agent = root().join("fixtures/agents/acme_support.yaml");
    let cases = [
        (
            "  - name: two kinds\n    escalation_requires: { actions: [createcase] }\n    escalation_reachable: { within: 3 }\n",
            "more than one kind",
            ":7:",
        ),
        (
            "  - name: typo\n    escalation_requires: { actions: [createcas] }\n",
            "unknown action 'createcas'",
            ":6:",
        ),
        (
            "  - name: zero\n    escalation_reachable: { within: 0 }\n",
            "out of range",
            ":6:",
        ),
        ("  - name: nothing\n", "has no kind", ":5:"),
        (
            "  - name: wrong topic\n    escalation_requires: { actions: [\"createcase in Store_Hours\"] }\n",
            "can never hold",
            ":6:",
        ),
    ];
    for (props, message, at) in cases {
        let file = dir.path().join("s.yaml");
        std::fs::write(
            &file,
            format!("suite: s\nagent: {}\n\nproperties:\n{props}", agent.display()),
        )
        .unwrap();
        let err = load_anywhere(&[file]).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
        assert!(err.contains(at), "expected position {at} in {err}");
    }
}

#[test]
fn every_mutant_counterexample_fails_baton_run() {
    let dir = tempfile::tempdir().unwrap();
    let suites = load_anywhere(&mutant_suite_files()).unwrap();
    for mode in [
        Mode::Verify {
            depth: 12,
            max_states: 500_000,
            reduce: true,
        },
        Mode::Fuzz {
            seed: 0,
            cases: 10_000,
            max_turns: 12,
            fail_fast: false,
        },
    ] {
        let regs = dir.path().join(format!("{mode:?}").split_whitespace().next().unwrap());
        let opts = SearchOptions {
            mode,
            jobs: 2,
            regressions: Some(regs.clone()),
        };
        let report = search_all(&suites, &opts, &()).unwrap();
        let replay = load_anywhere(&[regs]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replay.len(), report.violations());
        let r = runner::run(&replay, &RunOptions::default(), &()).unwrap();
        for s in &r.suites {
            assert!(
                s.cases.iter().all(|c| c.status == runner::Status::Failed),
                "{} passes on the agent it came from",
                s.path.display()
            );
        }
        // A second search skips the regression suites it wrote.
        let again = search_all(
            &replay,
            &SearchOptions {
                regressions: None,
                ..opts
            },
            &(),
        )
        .unwrap();
        assert_eq!(again.violations(), 0);
        assert!(again.suites.iter().all(|s| s.skipped.is_some()));
    }
}

#[test]
fn a_problem_and_a_request_in_one_breath_cannot_bypass_the_guard() {
    // The request classifies to Case_Management, which lacks can_escalate:
    // the default path hands off, and the topic's guard still applies.
    let dir = tempfile::tempdir().unwrap();
    let agent = root().join("fixtures/mutants/policy_without_can_escalate.agent.yaml");
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        format!(
            "suite: s\nagent: {}\nconversations:\n  - name: one breath\n    turns:\n      - caller: \"my order arrived broken, I want to talk to a human agent\"\n",
            agent.display()
        ),
    )
    .unwrap();
    let r = runner::run(&load_anywhere(&[file]).unwrap(), &RunOptions::default(), &()).unwrap();
    let case = &r.suites[0].cases[0];
    assert_eq!(case.status, runner::Status::Failed);
    assert!(
        case.failure_summary().contains("property 'guard Case_Management #2"),
        "{}",
        case.failure_summary()
    );
}

#[test]
fn what_the_caller_model_cannot_reach_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agent.yaml"),
        r#"agent: Gappy
escalation: { flow: F }
slots:
  ticket: { pattern: 'T-[0-9]{4}', ask: "Your ticket?" }
topics:
  - name: Orders
    utterances: ["where is my order"]
    can_escalate: true
    instructions:
      - "Allow the 'Escalation' action only if the user has provided their ticket."
  - name: Silent
"#,
    )
    .unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "suite: s\nagent: agent.yaml\nproperties:\n  - name: ask first\n    escalation_requires: { requested: true }\n",
    )
    .unwrap();
    let suite = load(&file);
    let v = verify_suite(&suite, &VerifyOptions::default());
    let joined = v.warnings.join("\n");
    assert!(joined.contains("no utterance of topic Silent"), "{joined}");
    assert!(!joined.contains("topic Orders"), "{joined}");
    // The pattern's own text gives a value: no warning for the slot.
    assert!(!joined.contains("slot 'ticket'"), "{joined}");
}

#[test]
fn a_regression_for_an_implied_property_survives_the_guard_being_unbound() {
    let dir = tempfile::tempdir().unwrap();
    let suites = load_anywhere(&[root().join("fixtures/mutants/policy_without_can_escalate.suite.yaml")]).unwrap();
    let opts = SearchOptions {
        mode: Mode::Verify {
            depth: 12,
            max_states: 500_000,
            reduce: true,
        },
        jobs: 1,
        regressions: Some(dir.path().join("regs")),
    };
    search_all(&suites, &opts, &()).unwrap();
    let file = dir
        .path()
        .join("regs/policy-without-can-escalate--guard-case-management-2.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("pinned guard Case_Management #2"), "{text}");
    // A later edit drops the quotes: the guard binds nothing, so the agent
    // implies no property any more. The pinned one still fails the file.
    let agent = std::fs::read_to_string(root().join("fixtures/mutants/policy_without_can_escalate.agent.yaml"))
        .unwrap()
        .replace("'Escalation'", "Escalation");
    std::fs::write(dir.path().join("worse.agent.yaml"), agent).unwrap();
    let agent_line = text.lines().find(|l| l.starts_with("agent:")).unwrap();
    let replay = dir.path().join("replay.yaml");
    std::fs::write(&replay, text.replace(agent_line, "agent: worse.agent.yaml")).unwrap();
    let r = runner::run(&load_anywhere(&[replay]).unwrap(), &RunOptions::default(), &()).unwrap();
    assert_eq!(r.counts().failed, 1);
}

#[test]
fn a_cooperative_caller_finds_the_topic_that_can_escalate() {
    // Without the default Escalation topic a request before any topic is
    // refused; the cooperative caller then goes to a can_escalate topic.
    let dir = tempfile::tempdir().unwrap();
    let agent = std::fs::read_to_string(root().join("fixtures/agents/acme_support.yaml"))
        .unwrap()
        .replace("default_topic: true", "default_topic: false");
    std::fs::write(dir.path().join("agent.yaml"), agent).unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "suite: s\nagent: agent.yaml\nproperties:\n  - name: reach\n    escalation_reachable: { within: 6 }\n",
    )
    .unwrap();
    let v = verify_suite(&load(&file), &VerifyOptions::default());
    let l = lengths(&v);
    assert_eq!(l[0], ("reach".to_string(), None), "{l:?}");
}

#[test]
fn fuzz_and_verify_junit_hold_only_xml_characters() {
    // A suite file's name may hold U+FFFF and BEL; XML 1.0 may not. (Caller
    // lines reach these reports only when a counterexample happens to use
    // them; the unit tests of report::xml cover every field.)
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("fixtures/mutants/silence_escalates.suite.yaml"))
        .unwrap()
        .replace(
            "agent: silence_escalates.agent.yaml",
            &format!(
                "agent: {}",
                root().join("fixtures/mutants/silence_escalates.agent.yaml").display()
            ),
        );
    let odd = dir.path().join("odd \u{FFFF}\u{7}.suite.yaml");
    std::fs::write(&odd, text).unwrap();
    for (command, extra) in [("fuzz", ["--cases", "500"]), ("verify", ["--depth", "6"])] {
        let junit = dir.path().join(format!("{command}.xml"));
        let out = baton(&[
            command,
            odd.to_str().unwrap(),
            extra[0],
            extra[1],
            "--no-regressions",
            "--allow-outside-root",
            &format!("--junit={}", junit.display()),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let xml = std::fs::read_to_string(&junit).unwrap();
        let doc = common::strict_xml(&xml);
        let file = doc
            .descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("file"))
            .and_then(|n| n.attribute("value"))
            .unwrap();
        assert!(file.ends_with("odd \\u{FFFF}\\x07.suite.yaml"), "{command}: {file}");
        assert!(
            doc.descendants().any(|n| n.has_tag_name("failure")),
            "{command}: the mutant is still caught: {xml}"
        );
    }
}

#[test]
fn the_state_limit_is_a_hard_bound_and_never_reads_as_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    for limit in [1u64, 10, 50] {
        let json = dir.path().join(format!("verify-{limit}.json"));
        let out = baton(&[
            "verify",
            "fixtures/mutants",
            "--no-regressions",
            "--max-states",
            &limit.to_string(),
            &format!("--json={}", json.display()),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "--max-states {limit}: {stdout}");
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let suites = doc["suites"].as_array().unwrap();
        assert!(suites.len() >= 8, "{doc}");
        let mut limited = 0;
        for suite in suites {
            let stats = &suite["stats"];
            // A search that keeps states as sets stores nodes, not states.
            let stored = match stats["nodes"].as_u64().unwrap() {
                0 => stats["states"].as_u64().unwrap(),
                nodes => nodes,
            };
            assert!(stored <= limit, "--max-states {limit}: {stats}");
            let statuses: Vec<&str> = suite["properties"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["status"].as_str().unwrap())
                .collect();
            if stats["state_limit_reached"] == true {
                limited += 1;
                assert!(
                    statuses.iter().all(|s| ["violated", "inconclusive"].contains(s)),
                    "--max-states {limit}, {}: {statuses:?}",
                    suite["name"]
                );
            } else {
                // A search that fitted under the limit is complete: its
                // verdicts stand, and the planted bug is among them.
                assert!(statuses.contains(&"violated"), "{}: {statuses:?}", suite["name"]);
            }
        }
        // (A mutant whose liveness fails at the start is refuted before
        // it needs a second state, so not every one reaches the limit.)
        assert!(
            limited > 0,
            "no mutant needs more than {limit} states: the test checks nothing"
        );
    }
}

#[test]
fn an_inconclusive_verify_fails_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("verify.xml");
    let json = dir.path().join("verify.json");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "verify".to_string(),
            "fixtures/mutants/escalates_on_failed_case.suite.yaml".to_string(),
            "--no-regressions".to_string(),
            "--max-states".to_string(),
            "1".to_string(),
            format!("--junit={}", junit.display()),
            format!("--json={}", json.display()),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        baton(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let message = "INCONCLUSIVE beyond depth 0: the state limit 1 was reached";

    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("HOLDS"), "{stdout}");
    assert!(
        stdout.contains("INCONCLUSIVE beyond depth 0: no handoff without a case"),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 held, 0 violated, 2 inconclusive in 1 suites"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = common::strict_xml(&xml);
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 2, "{xml}");
    for case in &cases {
        let error = case.children().find(|n| n.has_tag_name("error")).expect(&xml);
        assert_eq!(error.attribute("type"), Some("inconclusive"));
        assert_eq!(error.attribute("message"), Some(message));
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["inconclusive"], 2);
    assert_eq!(v["mode"]["accept_inconclusive"], false);
    let p = &v["suites"][0]["properties"][0];
    assert_eq!(
        (p["status"].as_str(), p["depth"].as_u64()),
        (Some("inconclusive"), Some(0))
    );

    let out = run(&["--accept-inconclusive"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("2 inconclusive (accepted)"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = common::strict_xml(&xml);
    assert!(!doc.descendants().any(|n| n.has_tag_name("error")), "{xml}");
    let skipped: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("skipped")).collect();
    assert_eq!(skipped.len(), 2, "{xml}");
    assert!(skipped.iter().all(|n| n.attribute("message") == Some(message)), "{xml}");

    // A violation found before the limit stays a violation: accepting
    // inconclusive properties does not accept it.
    let out = baton(&[
        "verify",
        "fixtures/mutants/escalates_on_failed_case.suite.yaml",
        "--no-regressions",
        "--max-states",
        "10",
        "--accept-inconclusive",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("0 held, 2 violated, 0 inconclusive"), "{stdout}");
}

#[test]
fn the_reports_of_one_search_carry_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, json) = (dir.path().join("v.xml"), dir.path().join("v.json"));
    let search = || {
        let out = baton(&[
            "verify",
            "suites/contoso_voice.yaml",
            "--no-regressions",
            "--depth",
            "2",
            &format!("--junit={}", junit.display()),
            &format!("--json={}", json.display()),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        let xml = std::fs::read_to_string(&junit).unwrap();
        let doc = common::strict_xml(&xml);
        let in_junit = doc
            .descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("run_id"))
            .and_then(|n| n.attribute("value"))
            .unwrap()
            .to_string();
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(v["run_id"].as_str(), Some(in_junit.as_str()));
        assert!(err.contains(&format!("(run {in_junit})")), "{err}");
        in_junit
    };
    assert_ne!(search(), search(), "two searches share an id");
}

#[test]
fn a_regression_file_holding_unprintable_caller_text_loads_and_fails() {
    // The only line that classifies to Widgets is the suite's, so the
    // counterexample carries it, with characters YAML cannot hold raw.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("agent.yaml"),
        "agent: Nasty\nescalation: { flow: F }\ntopics:\n  - name: Widgets\n    description: frobnicate widgets\n    can_escalate: true\n    instructions:\n      - \"Escalate the conversation to a human live agent.\"\n",
    )
    .unwrap();
    let line = "frobnicate widgets \u{FFFE}\u{FFFF}\u{7}\n\"quoted\" \u{85}\u{202E}\\";
    let suite = dir.path().join("s.yaml");
    std::fs::write(
        &suite,
        "suite: s\nagent: agent.yaml\nproperties:\n  - name: only on request\n    escalation_requires: { requested: true }\nconversations:\n  - name: a\n    turns:\n      - caller: \"frobnicate widgets \\uFFFE\\uFFFF\\a\\n\\\"quoted\\\" \\N\\u202E\\\\\"\n",
    )
    .unwrap();
    let loaded = load(&suite);
    let Event::Caller(first) = &loaded.conversations[0].events[0] else {
        panic!("not a caller line");
    };
    assert_eq!(&**first, line);
    for search in [&["verify"][..], &["fuzz", "--cases", "100"]] {
        let regs = dir.path().join(format!("regs-{}", search[0]));
        let mut args = search.to_vec();
        args.extend([suite.to_str().unwrap(), "--regressions", regs.to_str().unwrap()]);
        let out = baton(&args);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let files: Vec<PathBuf> = std::fs::read_dir(&regs).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        let replay = load(&files[0]);
        assert_eq!(replay.conversations[0].events, [Event::Caller(line.into())], "{text}");
        // `baton run` loads it (not 2) and fails on the property (1).
        // The temporary folder has no .git: its root is named.
        let out = baton(&[
            "run",
            files[0].to_str().unwrap(),
            "--root",
            dir.path().to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("property 'only on request'"), "{stdout}");
    }
}

/// Runs baton in `dir`, killing it if it is still running after `limit`:
/// its exit code, stdout and stderr, and how long it took.
fn baton_within(
    dir: &Path,
    args: &[&str],
    limit: std::time::Duration,
) -> (Option<i32>, String, String, std::time::Duration) {
    use std::time::{Duration, Instant};
    // Files, not pipes: a full pipe would stall the child and look like a hang.
    let (out, err) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("baton {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    (status.code(), read(&out), read(&err), took)
}

const KILL_AFTER: std::time::Duration = std::time::Duration::from_secs(20);
/// Well under the kill: the set-up is linear in the agent and the suite.
const SETUP_BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

#[test]
fn an_agent_with_two_thousand_topics_is_searched_without_grinding() {
    // Every topic has the same utterances, so only the first two are
    // reached (the second as the runner-up of a tie) and every other topic
    // is looked for among the thousand suite lines and its description.
    // Set-up used to classify each line once per topic: 2,000 x 1,000
    // classifications of 2,000 topics, minutes before the search began.
    let dir = tempfile::tempdir().unwrap();
    let mut agent = String::from("agent: Many\nescalation: { flow: F }\ntopics:\n");
    for i in 0..2000 {
        agent.push_str(&format!(
            "  - name: T{i}\n    description: questions about orders\n    utterances: [\"question about my order\", \"order status please\"]\n    can_escalate: true\n"
        ));
    }
    std::fs::write(dir.path().join("agent.yaml"), agent).unwrap();
    let mut suite = String::from(
        "suite: many topics\nagent: agent.yaml\nproperties:\n  - name: reach\n    escalation_reachable: { within: 3 }\nconversations:\n",
    );
    for c in 0..100 {
        suite.push_str(&format!("  - name: c{c}\n    turns:\n"));
        for t in 0..10 {
            suite.push_str(&format!(
                "      - caller: \"line {c} {t} about something else entirely w{c}x{t}\"\n"
            ));
        }
    }
    std::fs::write(dir.path().join("s.yaml"), suite).unwrap();
    for args in [&["verify", "s.yaml"][..], &["fuzz", "s.yaml", "--cases", "100"]] {
        let args = [args, &["--no-regressions"]].concat();
        let (code, stdout, stderr, took) = baton_within(dir.path(), &args, KILL_AFTER);
        assert_eq!(
            code,
            Some(0),
            "{args:?}: {stderr}{}",
            &stdout[stdout.len().saturating_sub(2000)..]
        );
        assert!(stdout.contains("HOLDS    reach"), "{args:?}");
        assert!(
            stdout.contains("no utterance of topic T1999 classifies to it"),
            "{args:?}"
        );
        assert!(took < SETUP_BUDGET, "{args:?} took {took:?}");
    }
}

#[test]
fn a_slot_pattern_too_complex_to_generate_from_is_refused_at_once() {
    // 5,000 groups: generating values and finding the first group in them
    // took minutes and gigabytes before the search began.
    let dir = tempfile::tempdir().unwrap();
    let agent = |pattern: &str| {
        format!(
            "agent: Groups\nescalation: {{ flow: F }}\nslots:\n  code: {{ pattern: '{pattern}', ask: \"Code?\" }}\ntopics:\n  - name: Orders\n    utterances: [\"where is my order\"]\n    can_escalate: true\n    instructions:\n      - \"Allow the 'Escalation' action only if the user has provided their code.\"\n"
        )
    };
    std::fs::write(dir.path().join("agent.yaml"), agent(&"(a)".repeat(5000))).unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "suite: groups\nagent: agent.yaml\nproperties:\n  - name: asked\n    escalation_requires: { requested: true }\nconversations:\n  - name: a\n    turns:\n      - caller: \"where is my order\"\n",
    )
    .unwrap();
    for args in [&["verify", "s.yaml"][..], &["fuzz", "s.yaml", "--cases", "100"]] {
        let regs = dir.path().join("regs");
        let args = [args, &["--regressions", regs.to_str().unwrap(), "--json=out.json"]].concat();
        let (code, _, stderr, took) = baton_within(dir.path(), &args, KILL_AFTER);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(
                "agent.yaml:4:20: pattern of slot 'code' is too complex for fuzz and verify to generate values from (5000 capture groups; the limit is 32): expected a sample value in a caller line of the suite (make all groups but the first non-capturing, (?:...), or add a turn such as `caller: \"my code is ...\"` with a real value to a conversation of s.yaml)"
            ),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("nothing was run"), "{stderr}");
        assert!(
            !regs.exists() && !dir.path().join("out.json").exists(),
            "{args:?} wrote files"
        );
        assert!(took < SETUP_BUDGET, "{args:?} took {took:?}");
    }
    // `run` does not generate values: the same files run as they are.
    let (code, _, stderr, _) = baton_within(dir.path(), &["run", "s.yaml"], KILL_AFTER);
    assert_eq!(code, Some(0), "{stderr}");
    // A sample value in the suite is what the message asks for: then the
    // search uses it and generates nothing.
    let groups = "(\\d)".repeat(40);
    std::fs::write(dir.path().join("agent.yaml"), agent(&format!("T-{groups}"))).unwrap();
    let sample = format!("T-{}", "1234567890".repeat(4));
    std::fs::write(
        dir.path().join("s.yaml"),
        format!("suite: groups\nagent: agent.yaml\nproperties:\n  - name: asked\n    escalation_requires: {{ requested: true }}\nconversations:\n  - name: a\n    turns:\n      - caller: \"where is my order\"\n      - caller: \"my code is {sample}\"\n"),
    )
    .unwrap();
    for args in [&["verify", "s.yaml"][..], &["fuzz", "s.yaml", "--cases", "100"]] {
        let args = [args, &["--no-regressions"]].concat();
        let (code, stdout, stderr, took) = baton_within(dir.path(), &args, KILL_AFTER);
        assert_eq!(code, Some(0), "{args:?}: {stderr}{stdout}");
        // verify adds the assurance level; fuzz has none.
        assert!(
            stdout.contains("HOLDS    guard Orders #1") || stdout.contains("HOLDS by instruction    guard Orders #1"),
            "{args:?}: {stdout}"
        );
        assert!(
            !stdout.contains("no valid value found for slot 'code'"),
            "{args:?}: {stdout}"
        );
        assert!(took < SETUP_BUDGET, "{args:?} took {took:?}");
    }
}

/// A 10 MB caller line (or utterance) was a sample like any other: fuzz
/// played it over and over and ran for hours. Texts longer than
/// MAX_SAMPLE_BYTES are not samples; the rest of the suite still is.
#[test]
fn huge_caller_lines_and_utterances_are_not_samples() {
    use baton::explore::caller::{Alphabet, Palette};
    use baton::explore::{MAX_SAMPLE_BYTES, harvest};
    let dir = tempfile::tempdir().unwrap();
    let agent = std::fs::read_to_string(root().join("fixtures/agents/acme_support.yaml"))
        .unwrap()
        .replace(
            "\"where is my package\",",
            &format!("\"where is my package\", \"{}\",", "my item is damaged ".repeat(60_000)),
        );
    std::fs::write(dir.path().join("agent.yaml"), agent).unwrap();
    let huge = "my order arrived broken ".repeat(50_000);
    std::fs::write(
        dir.path().join("s.yaml"),
        format!(
            "suite: huge\nagent: agent.yaml\nproperties:\n  - name: case first\n    escalation_requires: {{ actions: [createcase] }}\nconversations:\n  - name: c\n    turns:\n      - caller: \"{huge}\"\n      - caller: \"jane@example.com\"\n"
        ),
    )
    .unwrap();
    let suite = load(&dir.path().join("s.yaml"));
    assert_eq!(harvest(&suite), vec!["jane@example.com"]);
    let texts = |events: &mut dyn Iterator<Item = &Event>| {
        events
            .filter_map(|e| match e {
                Event::Caller(t) => Some(t.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    };
    let palette = Palette::new(&suite.agent, &harvest(&suite));
    let longest = texts(&mut palette.groups.iter().flat_map(|g| g.items.iter().flatten()));
    assert!(longest <= MAX_SAMPLE_BYTES + 100, "a palette text of {longest} bytes");
    let alphabet = Alphabet::new(&suite.agent, &harvest(&suite));
    assert!(texts(&mut alphabet.events.iter()) <= MAX_SAMPLE_BYTES);
    let fuzzed = fuzz_suite(
        &suite,
        &FuzzOptions {
            cases: 200,
            ..FuzzOptions::default()
        },
    );
    assert!(
        fuzzed.properties.len() >= 2,
        "the declared property and the implied guard"
    );
}
