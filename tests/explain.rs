//! `baton explain`: what each instruction compiled to, and the escalation
//! paths that bypass the guards, on the shipped agents and mutants.

use std::process::Command;

fn explain(agent: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["explain", agent])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
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
