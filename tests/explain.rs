//! `baton explain`: what each instruction compiled to, and the escalation
//! paths that bypass the guards, on the shipped agents and mutants.

use std::process::Command;

use baton::agent::compiled::{Op, Phase};
use baton::explore::caller_model;
use baton::explore::verify::{Found, VerifyOptions, reference, search};
use baton::model::property::{Origin, Property, PropertyKind, Route};
use baton::policy::Rule;

mod common;

fn explain(agent: &str) -> String {
    explain_with(agent, &[])
}

/// `baton explain AGENT FLAGS...`: its output, checked never to call a path
/// unreachable unless the search closed.
fn explain_with(agent: &str, flags: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("explain")
        .arg(agent)
        .args(flags)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    if text.contains("unreachable:") {
        assert!(text.contains(": the search closed after "), "{text}");
    }
    text
}

/// The line under the listed path `path`: what the search found of it.
fn reach_of<'t>(text: &'t str, path: &str) -> &'t str {
    let mut lines = text.lines();
    lines
        .find(|l| l.starts_with("  - ") && l.contains(path))
        .unwrap_or_else(|| panic!("no path {path:?} listed:\n{text}"));
    lines.next().unwrap().trim()
}

#[test]
fn guards_and_actions_are_listed_per_instruction() {
    let text = explain("fixtures/agents/contoso_voice.yaml");
    assert!(text.contains("topic Case_Management [can_escalate]"), "{text}");
    assert!(text.contains("-> run 'createcase' (needs email)"), "{text}");
    assert!(
        text.contains("-> 'Escalation' only after 'createcase' succeeded in topic Case_Management"),
        "{text}"
    );
    assert!(
        text.contains("-> 'Escalation' only if slot 'email' is filled (ask for it first)"),
        "{text}"
    );
    assert!(
        text.contains("escalation: handled by this topic; requires action verify_account, slot email"),
        "{text}"
    );
    assert!(
        text.contains("default Escalation topic: a request from Store_Info or before any topic"),
        "{text}"
    );
    assert!(
        text.contains("these skip the guards of: Case_Management, Billing"),
        "{text}"
    );
}

#[test]
fn keypad_and_silence_bypasses_are_named() {
    let text = explain("fixtures/agents/default_escalation.yaml");
    assert!(
        text.contains("silence: after 1 reprompt(s), escalates through the default path"),
        "{text}"
    );
    assert!(
        text.contains("dtmf \"0\": escalates through the default path"),
        "{text}"
    );
}

#[test]
fn planted_bugs_are_warned_about() {
    let text = explain("fixtures/mutants/policy_without_can_escalate.agent.yaml");
    assert!(text.contains("[NOT ENFORCED: topic lacks can_escalate]"), "{text}");
    assert!(
        text.contains("has an escalation policy but lacks can_escalate"),
        "{text}"
    );
    let text = explain("fixtures/mutants/unquoted_keyword.agent.yaml");
    assert!(
        text.contains("binds nothing: mentions escalation without the quoted 'Escalation' keyword"),
        "{text}"
    );
    let text = explain("fixtures/agents/smart_routing.yaml");
    assert!(text.contains("topic Escalation [can_escalate, catch-all]"), "{text}");
    assert!(
        text.contains("escalates every request it handles (smart routing)"),
        "{text}"
    );
}

#[test]
fn a_default_topic_no_request_reaches_is_unreachable() {
    // The catch-all takes every request, so none reaches the default topic.
    let text = explain("fixtures/agents/smart_routing.yaml");
    assert_eq!(
        reach_of(&text, "default Escalation topic: a request before any topic is active"),
        "unreachable: no caller path takes it (the search closed)",
        "{text}"
    );
    assert!(text.contains(": the search closed after 3 turns"), "{text}");
}

#[test]
fn reachable_paths_come_with_a_shortest_script() {
    let text = explain("fixtures/agents/contoso_voice.yaml");
    assert_eq!(
        reach_of(
            &text,
            "default Escalation topic: a request from Store_Info or before any topic"
        ),
        "reachable in 1 turn: \"I want to talk to a human agent\"",
        "{text}"
    );
    let text = explain("fixtures/agents/default_escalation.yaml");
    assert_eq!(
        reach_of(&text, "silence: after 1 reprompt(s)"),
        "reachable in 2 turns: (silence), (silence)",
        "{text}"
    );
    assert_eq!(
        reach_of(&text, "dtmf \"0\""),
        "reachable in 1 turn: (keypad 0)",
        "{text}"
    );
    // The engine's choices are part of the script.
    let text = explain("fixtures/mutants/escalates_on_failed_case.agent.yaml");
    let line = reach_of(&text, "a failed 'createcase' in Case_Management");
    assert!(line.starts_with("reachable in 2 turns: "), "{text}");
    assert!(line.ends_with(" ['createcase' fails]"), "{text}");
    let text = explain("fixtures/mutants/counted_request_bypass.agent.yaml");
    assert!(
        reach_of(&text, "when the caller asked for a human 3 times").starts_with("reachable in 4 turns: "),
        "{text}"
    );
    assert!(
        reach_of(&text, "when the caller says \"emergency\": the exception").starts_with("reachable in 3 turns: "),
        "{text}"
    );
    assert!(
        reach_of(&text, "instruction 2 may hand off in cases baton does not model")
            .starts_with("reachable: a caller path enters topic Premium_Desk in 1 turn: "),
        "{text}"
    );
}

#[test]
fn a_procedure_transition_past_guards_is_searched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("past.agent");
    std::fs::write(&file, common::TRANSITION_PAST_GUARDS).unwrap();
    let text = explain(file.to_str().unwrap());
    assert!(
        reach_of(&text, "`transition to humans` in the before_reasoning of cases")
            .starts_with("reachable: a caller path runs the transition in 1 turn: "),
        "{text}"
    );
}

#[test]
fn a_search_that_stops_at_a_bound_claims_nothing_unreachable() {
    let text = explain_with("fixtures/agents/default_escalation.yaml", &["--depth", "1"]);
    assert_eq!(
        reach_of(&text, "silence: after 1 reprompt(s)"),
        "not shown reachable within 1 turn (the search stopped at its depth bound)",
        "{text}"
    );
    assert!(text.contains("longer ones not searched (--depth)"), "{text}");
    let text = explain_with("fixtures/agents/default_escalation.yaml", &["--max-states", "8"]);
    assert_eq!(
        reach_of(&text, "silence: after 1 reprompt(s)"),
        "not shown reachable within 1 turn (the search stopped at its state limit (8))",
        "{text}"
    );
    let text = explain_with("fixtures/agents/smart_routing.yaml", &["--max-states", "2"]);
    assert!(!text.contains("unreachable"), "{text}");
    assert!(
        reach_of(&text, "default Escalation topic").starts_with("not shown reachable"),
        "{text}"
    );
}

#[test]
fn explain_on_a_large_generated_agent_is_bounded() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_agent.py");
    assert!(script.exists(), "{} is missing", script.display());
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .args(["20", "20", "20"])
        .arg(dir.path())
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let agent = dir.path().join("agent-t20s20a20.yaml");
    let text = explain_with(agent.to_str().unwrap(), &[]);
    assert!(
        reach_of(&text, "default Escalation topic").starts_with("reachable in 1 turn: "),
        "{text}"
    );
    // A silence path longer than the search goes: never called unreachable.
    let yaml = std::fs::read_to_string(&agent).unwrap();
    let line = yaml.lines().find(|l| l.starts_with("no_input:")).unwrap();
    std::fs::write(
        &agent,
        yaml.replace(line, "no_input: { reprompts: 20, then: escalate }"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let text = explain_with(agent.to_str().unwrap(), &[]);
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    let line = reach_of(&text, "silence: after 20 reprompt(s)");
    assert!(line.starts_with("not shown reachable within "), "{text}");
    assert!(!text.contains("unreachable"), "{text}");
}

#[test]
fn an_agent_too_large_to_search_is_not_searched() {
    let dir = tempfile::tempdir().unwrap();
    let slots: String = (0..2_001)
        .map(|i| format!("  s{i}: {{ pattern: 'X{i}-(\\d+)' }}\n"))
        .collect();
    let agent = dir.path().join("big.yaml");
    std::fs::write(
        &agent,
        format!(
            "agent: Big\nchannel: messaging\nescalation: {{ flow: Queue }}\nslots:\n{slots}topics:\n  - name: Help\n    description: General help\n"
        ),
    )
    .unwrap();
    let text = explain_with(agent.to_str().unwrap(), &[]);
    assert_eq!(reach_of(&text, "default Escalation topic"), "not searched", "{text}");
    assert!(
        text.contains(
            "reachability: not searched: the agent has 2002 topics and slots, more than explain searches (2000)"
        ),
        "{text}"
    );
}

#[test]
fn bad_bounds_are_usage_errors() {
    for flags in [
        ["--depth", "0"],
        ["--depth", "65"],
        ["--max-states", "0"],
        ["--depth", "x"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["explain", "fixtures/agents/contoso_voice.yaml"])
            .args(flags)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
    }
}

/// Routes of every kind the agent could take, whether explain lists them or not.
fn every_route(agent: &baton::model::Agent) -> Vec<Route> {
    let mut out = vec![Route::DefaultTopic, Route::Silence, Route::Keypad];
    for (ti, t) in agent.topics.iter().enumerate() {
        let topic = ti as u16;
        out.push(Route::Enters { topic });
        for phase in [Phase::Before, Phase::Instructions, Phase::After] {
            for (si, step) in t.steps(phase).iter().enumerate() {
                if matches!(step.op, Op::Transition { .. }) {
                    out.push(Route::Transition {
                        topic,
                        phase,
                        step: si as u32,
                    });
                }
            }
        }
        for (ri, r) in t.rules.iter().enumerate() {
            let rule = ri as u16;
            match r {
                Rule::EscalateOnFailure { action } => out.push(Route::OnFailure { topic, action: *action }),
                Rule::EscalateWhen { .. } => out.push(Route::When { topic, rule }),
                Rule::Require(g) => out.extend((0..g.unless.len()).map(|w| Route::Excepted {
                    topic,
                    rule,
                    when: w as u16,
                })),
                _ => {}
            }
        }
    }
    out
}

/// verify's reductions keep what the routes read: the reduced search finds
/// the same routes at the same shortest lengths as the plain one.
#[test]
fn the_reduced_search_finds_routes_as_the_plain_one_does() {
    let mut files = common::mutant_suite_files();
    files.push(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites"));
    let mut suites = common::load_anywhere(&files).unwrap_or_else(|e| panic!("{e}"));
    assert!(suites.len() >= 15, "{}", suites.len());
    let mut taken = std::collections::HashSet::new();
    for suite in &mut suites {
        suite.properties = every_route(&suite.agent)
            .into_iter()
            .map(|r| Property {
                name: format!("{r:?}"),
                kind: PropertyKind::Avoids(r),
                origin: Origin::Declared { line: 1 },
                assumptions: Vec::new(),
            })
            .collect();
        let alphabet = caller_model(suite);
        for unbound in [false, true] {
            let name = format!("{} ({}), unbound: {unbound}", suite.name, suite.path.display());
            let plain = reference::search(suite, alphabet, 10, 2_000_000, unbound);
            assert!(!plain.stats.limited, "{name}");
            let opts = VerifyOptions {
                depth: 10,
                max_states: 2_000_000,
                reduce: true,
                unbound,
                symbolic: true,
            };
            let reduced = search(suite, &suite.properties, alphabet, &opts, &|_| {});
            let lengths =
                |f: &Found| -> Vec<Option<usize>> { f.paths.iter().map(|p| p.as_ref().map(|p| p.0.len())).collect() };
            assert_eq!(lengths(&reduced), lengths(&plain), "{name}");
            for (p, found) in suite.properties.iter().zip(&plain.paths) {
                if let (PropertyKind::Avoids(r), Some(_)) = (&p.kind, found) {
                    taken.insert(std::mem::discriminant(r));
                }
            }
        }
    }
    // Routes of every kind are taken somewhere.
    assert_eq!(taken.len(), 8, "{taken:?}");
}
