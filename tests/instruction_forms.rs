//! The instruction forms of issue #9 end to end: what the engine does with
//! each (exceptions, preconditions, conditional runs, sequences, counted
//! escalations), what `explain` shows, what verify finds and how its
//! verdicts say what they assume.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use baton::engine::{Chooser, Engine, Nominal, Note};
use baton::explore::Outcome;
use baton::explore::verify::{VerifyOptions, verify_suite};
use baton::model::raw::HandoffReason;
use baton::model::{Agent, Event};
use baton::policy::ActionId;
use baton::transcript;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn agent(yaml: &str) -> Agent {
    Agent::from_yaml(Path::new("inline.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn caller(t: &str) -> Event {
    Event::Caller(t.into())
}

/// The transcript and the handoff (reason, turn) of a run.
fn run_with(
    a: &Agent,
    events: &[Event],
    chooser: &mut impl Chooser,
) -> (String, Option<(HandoffReason, u32)>, Vec<Vec<Note>>) {
    let engine = Engine::new(a, &a.fixtures);
    let trace = engine.run(events, chooser);
    let text = transcript::render(&engine, "test", events, &trace);
    let notes = trace.turns.iter().map(|t| trace.notes(t).to_vec()).collect();
    (text, trace.handoff.map(|h| (h.reason, h.turn)), notes)
}

fn run(a: &Agent, events: &[Event]) -> (String, Option<(HandoffReason, u32)>, Vec<Vec<Note>>) {
    run_with(a, events, &mut Nominal)
}

/// Every run of the action fails.
struct Failing(ActionId);
impl Chooser for Failing {
    fn action_ok(&mut self, action: ActionId, ok: bool) -> bool {
        ok && action != self.0
    }
}

const BANK: &str = r#"
agent: Bank
escalation: { flow: Queue }
slots:
  email: { kind: email }
  card_number: { pattern: '\b(\d{4})\b' }
actions:
  verify_identity: { inputs: [card_number] }
  block_card: {}
  lookup_statement: {}
  issue_refund: {}
topics:
  - name: Cards
    description: Lost or stolen cards
    utterances: ["my card was stolen", "I lost my card"]
    can_escalate: true
    actions: [verify_identity, block_card, lookup_statement, issue_refund]
    instructions:
INSTRUCTIONS
"#;

fn bank(instructions: &[&str]) -> Agent {
    let lines: Vec<String> = instructions.iter().map(|i| format!("      - {i:?}")).collect();
    agent(&BANK.replace("INSTRUCTIONS", &lines.join("\n")))
}

#[test]
fn an_exception_on_a_caller_keyword_lets_the_request_through() {
    let a = bank(&[
        "Allow the 'Escalation' action only after the 'verify_identity' action has succeeded in this topic, unless the customer says it is an emergency.",
    ]);
    let (text, handoff, _) = run(&a, &[caller("my card was stolen"), caller("get me a human")]);
    assert_eq!(handoff, None, "{text}");
    let (text, handoff, _) = run(
        &a,
        &[
            caller("my card was stolen"),
            caller("it's an emergency, get me a human"),
        ],
    );
    assert_eq!(handoff, Some((HandoffReason::CallerRequest, 2)), "{text}");
    assert!(text.contains("caller event: the caller says \"emergency\""), "{text}");
    assert!(text.contains("-> EXCEPTION"), "{text}");
    // Said earlier, it still counts; negated, it does not.
    let (_, handoff, _) = run(
        &a,
        &[
            caller("my card was stolen"),
            caller("this is an emergency"),
            caller("get me a human"),
        ],
    );
    assert_eq!(handoff.map(|h| h.1), Some(3));
    let (_, handoff, _) = run(
        &a,
        &[
            caller("my card was stolen"),
            caller("it's not an emergency, get me a human"),
        ],
    );
    assert_eq!(handoff, None);
}

#[test]
fn a_failed_verification_opens_the_exception_on_the_same_turn() {
    let a = bank(&[
        "Allow the 'Escalation' action only after the 'verify_identity' action has succeeded; if verification fails, call the 'Escalation' action anyway.",
    ]);
    let events = [caller("my card was stolen"), caller("get me a human"), caller("4417")];
    let (text, handoff, _) = run_with(&a, &events, &mut Failing(0));
    assert_eq!(handoff, Some((HandoffReason::CallerRequest, 3)), "{text}");
    assert!(text.contains("verify_identity(card_number=4417) -> FAILED"), "{text}");
    assert!(text.contains("'verify_identity' failed holds"), "{text}");
}

#[test]
fn a_refusal_of_the_guarded_slot_is_the_exception() {
    let a = bank(&[
        "Allow the 'Escalation' action only if the user has provided their email address; if they refuse, call the 'Escalation' action anyway.",
    ]);
    let events = [
        caller("my card was stolen"),
        caller("get me a human"),
        caller("no, I won't"),
    ];
    let (text, handoff, _) = run(&a, &events);
    assert_eq!(handoff.map(|h| h.1), Some(3), "{text}");
    assert!(text.contains("the caller refuses to give 'email'"), "{text}");
}

#[test]
fn a_precondition_holds_the_action_back_and_does_the_pre_work() {
    let a = bank(&[
        "Refund the charge with 'issue_refund'.",
        "Do not run the 'issue_refund' action unless the 'verify_identity' action has succeeded.",
    ]);
    let (text, _, notes) = run(&a, &[caller("my card was stolen"), caller("4417")]);
    assert!(notes[0].iter().any(|n| matches!(n, Note::Held { .. })), "{text}");
    assert!(!text.contains("issue_refund() -> ok\n    agent: What"), "{text}");
    let second = text.split("[2]").nth(1).unwrap_or("");
    let (v, r) = (
        second.find("verify_identity(card_number=4417) -> ok"),
        second.find("issue_refund() -> ok"),
    );
    assert!(v.is_some() && r.is_some() && v < r, "{text}");
}

#[test]
fn a_run_waits_for_its_condition_and_a_sequence_runs_in_order() {
    let a = bank(&[
        "Verify the caller using 'verify_identity'.",
        "Once the caller is verified, block the card with 'block_card'.",
    ]);
    let (text, _, notes) = run(&a, &[caller("my card was stolen"), caller("4417")]);
    assert!(notes[0].iter().any(|n| matches!(n, Note::Waits { .. })), "{text}");
    assert!(
        !text.split("[2]").next().unwrap_or("").contains("block_card()"),
        "{text}"
    );
    assert!(text.contains("block_card() -> ok"), "{text}");

    let a = bank(&["First run 'lookup_statement', then 'block_card', then call the 'Escalation' action."]);
    let (text, handoff, _) = run(&a, &[caller("my card was stolen")]);
    assert_eq!(handoff, Some((HandoffReason::Triggered, 1)), "{text}");
    let (l, b) = (text.find("lookup_statement()"), text.find("block_card()"));
    assert!(l.is_some() && l < b, "{text}");
}

#[test]
fn counted_escalations_count_requests_and_failures_and_saturate() {
    let a = bank(&[
        "Verify the caller using 'verify_identity'.",
        "Allow the 'Escalation' action only after 'verify_identity' has succeeded.",
        "After two failed verification attempts, escalate.",
    ]);
    let events = [caller("my card was stolen"), caller("4417"), caller("4417")];
    let (text, handoff, _) = run_with(&a, &events, &mut Failing(0));
    assert_eq!(handoff, Some((HandoffReason::Triggered, 3)), "{text}");
    assert!(text.contains("count: failures of 'verify_identity' = 2"), "{text}");

    let a = bank(&[
        "Allow the 'Escalation' action only after 'verify_identity' has succeeded.",
        "If the caller asks for a human three times, call the 'Escalation' action.",
    ]);
    let ask = caller("get me a human");
    let events = [caller("my card was stolen"), ask.clone(), ask.clone(), ask.clone()];
    let (text, handoff, _) = run(&a, &events);
    assert_eq!(handoff, Some((HandoffReason::Triggered, 4)), "{text}");
    // The count stops at the most any rule needs, so states stay finite.
    let engine = Engine::new(&a, &a.fixtures);
    let mut st = engine.start();
    let mut trace = baton::engine::Trace::default();
    let mut scratch = baton::nlu::Scratch::default();
    let many: Vec<Event> = std::iter::once(caller("I lost my card"))
        .chain(std::iter::repeat_n(caller("talk to a person"), 6))
        .collect();
    for ev in &many {
        engine.step(&mut st, ev, &mut trace, &mut scratch, &mut Nominal);
        assert!(st.counts.iter().all(|&c| c <= 3), "{:?}", st.counts);
    }
}

#[test]
fn verify_finds_the_counted_bypass_with_the_shortest_script() {
    let suites = common::load_anywhere(&[root().join("fixtures/mutants/counted_request_bypass.suite.yaml")]).unwrap();
    let v = verify_suite(&suites[0], &VerifyOptions::default());
    let guard = v
        .properties
        .iter()
        .find(|p| p.name.starts_with("guard Card_Services #3"))
        .unwrap();
    let Outcome::Violated(ce) = &guard.outcome else {
        panic!("not caught: {:?}", guard.outcome)
    };
    assert_eq!(ce.turns, 4, "{}", ce.trace);
    assert!(ce.trace.contains("reason triggered"), "{}", ce.trace);
}

#[test]
fn verify_explores_the_exception_and_a_declared_policy_without_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let agent = root().join("fixtures/agents/card_services.yaml");
    let suite = dir.path().join("strict.yaml");
    std::fs::write(
        &suite,
        format!(
            "suite: strict\nagent: {:?}\nproperties:\n  - name: verified before any card handoff\n    escalation_requires: {{ topic: Card_Services, actions: [verify_identity] }}\n",
            agent.display().to_string()
        ),
    )
    .unwrap();
    let suites = common::load_anywhere(&[suite]).unwrap();
    let v = verify_suite(&suites[0], &VerifyOptions::default());
    let declared = &v.properties[0];
    let Outcome::Violated(ce) = &declared.outcome else {
        panic!("the emergency path was not explored: {:?}", declared.outcome)
    };
    assert!(ce.trace.contains("emergency"), "{}", ce.trace);
    // The implied property states the exception, so it holds.
    let implied = v
        .properties
        .iter()
        .find(|p| p.name.starts_with("guard Card_Services #3"))
        .unwrap();
    assert!(matches!(implied.outcome, Outcome::Held), "{:?}", implied.outcome);
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
fn a_verdict_on_an_unmodelled_clause_says_what_it_assumes_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, json) = (dir.path().join("v.xml"), dir.path().join("v.json"));
    let out = baton(&[
        "verify",
        "--no-regressions",
        "suites/card_services.yaml",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let console = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{console}");
    let verdict = "HOLDS, assuming \"for premium customers\" covers every caller";
    // The console puts the assurance level after HOLDS.
    assert!(
        console.contains(
            "HOLDS by instruction, assuming \"for premium customers\" covers every caller: guard Premium_Desk #2"
        ),
        "{console}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("name=\"assumption\""), "{xml}");
    assert!(xml.contains("covers every caller"), "{xml}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let props = doc["suites"][0]["properties"].as_array().unwrap();
    let premium = props
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with("guard Premium_Desk"))
        .unwrap();
    assert_eq!(premium["verdict"], verdict);
    let plain = props
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with("guard Refunds"))
        .unwrap();
    assert_eq!(plain["verdict"], "HOLDS");
    let explain = baton(&["explain", "fixtures/agents/card_services.yaml"]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("reading: understood, with its exceptions modelled"),
        "{text}"
    );
    assert!(
        text.contains("BYPASS by exception: when the caller says \"emergency\""),
        "{text}"
    );
    assert!(text.contains("reading: partly understood"), "{text}");
    assert!(
        text.contains("a HOLDS verdict assumes \"for premium customers\" covers every caller"),
        "{text}"
    );
}

#[test]
fn a_declared_property_resting_on_an_unmodelled_guard_carries_its_assumption() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s.yaml");
    std::fs::write(
        &suite,
        format!(
            "suite: s\nagent: {:?}\nproperties:\n  - name: premium cases first\n    escalation_requires: {{ topic: Premium_Desk, actions: [createcase] }}\n  - name: refunds verified\n    action_requires: {{ action: issue_refund, actions: [verify_identity] }}\n",
            root().join("fixtures/agents/card_services.yaml").display().to_string()
        ),
    )
    .unwrap();
    let suites = common::load_anywhere(&[suite]).unwrap();
    let p = &suites[0].properties;
    assert_eq!(
        p[0].assumptions,
        vec!["\"for premium customers\" covers every caller".to_string()]
    );
    assert!(p[1].assumptions.is_empty());
}

#[test]
fn this_topic_loads_and_conflicting_guards_are_warnings() {
    let a = bank(&[
        "Allow the 'Escalation' action only after 'verify_identity' has succeeded in this topic.",
        "Allow the 'Escalation' action only after 'verify_identity' has succeeded in this topic, unless the customer says it is an emergency.",
        "Allow the 'Escalation' action only if the caller has given their email address.",
        "The 'Escalation' action does not require the customer's email address.",
    ]);
    let warnings = baton::lint::warnings(&a);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("instructions 1 and 2") && w.contains("duplicate guard")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("contradictory guards")),
        "{warnings:#?}"
    );
    // The exception one of the duplicates grants holds for both.
    let (text, handoff, _) = run(
        &a,
        &[
            caller("my card was stolen"),
            caller("emergency! my email is a@b.co, get me a human"),
        ],
    );
    assert_eq!(handoff.map(|h| h.1), Some(2), "{text}");
    // The contradicting instruction is an assumption of the topic's verdicts.
    assert!(
        a.topics[0].assumptions().iter().any(|s| s.contains("does not require")),
        "{:?}",
        a.topics[0].assumptions()
    );
}
