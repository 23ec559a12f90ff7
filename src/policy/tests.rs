//! The instruction compiler on the seed's patterns and their variants.

use super::*;

fn names() -> (Vec<String>, Vec<String>, Vec<String>) {
    (
        vec!["email".into(), "account_number".into()],
        vec!["createcase".into(), "verify_account".into()],
        vec!["Case_Management".into(), "Billing".into()],
    )
}

fn c(text: &str) -> Result<Compiled, Unresolved> {
    let (s, a, t) = names();
    compile(
        text,
        &Names {
            slots: &s,
            actions: &a,
            action_labels: &[],
            topics: &t,
        },
    )
}

#[test]
fn escalation_on_a_failed_action_is_not_a_guard() {
    assert_eq!(
        c("If the 'createcase' action fails, call the 'Escalation' action so the caller is not stuck."),
        Ok(Compiled::Rules(vec![Rule::EscalateOnFailure { action: 0 }]))
    );
    // Read the other way, the same words would have required a success.
    assert_eq!(
        c("Allow the 'Escalation' action only after the 'createcase' action has been executed."),
        Ok(Compiled::Rules(vec![Rule::RequireAction { action: 0, topic: None }]))
    );
}

#[test]
fn seed_pattern_a() {
    let got = c(
        "If the user asks to talk to a human agent, allow the ‘Escalation’ action only if the user has provided their email address. If they have not, ask for the email first.",
    );
    assert_eq!(
        got,
        Ok(Compiled::Rules(vec![Rule::RequireSlot {
            slot: 0,
            ask_first: true
        }]))
    );
}

#[test]
fn seed_pattern_b_with_topic() {
    let got = c(
        "…allowing the ‘Escalation’ action to be called only after the ‘createcase’ action has been executed in the Case Management topic.",
    );
    assert_eq!(
        got,
        Ok(Compiled::Rules(vec![Rule::RequireAction {
            action: 0,
            topic: Some(0)
        }]))
    );
    let got = c("Allow the \"Escalation\" action to be called ONLY after the 'createcase' action has been executed.");
    assert_eq!(
        got,
        Ok(Compiled::Rules(vec![Rule::RequireAction { action: 0, topic: None }]))
    );
}

#[test]
fn unquoted_keyword_binds_nothing() {
    let got = c(
        "If the user asks for a human, allow the Escalation action only if the user has provided their email address.",
    );
    assert!(matches!(got, Ok(Compiled::Unbound(_))), "{got:?}");
}

#[test]
fn run_action_and_unconditional() {
    assert_eq!(
        c("When the caller describes a problem, run the 'createcase' action."),
        Ok(Compiled::Rules(vec![Rule::RunAction { action: 0 }]))
    );
    assert_eq!(
        c("Escalate the conversation to a human live agent."),
        Ok(Compiled::Rules(vec![Rule::EscalateAlways]))
    );
    assert_eq!(c("Be polite and concise."), Ok(Compiled::Text));
}

#[test]
fn conditional_negated_or_harmless_wording_never_escalates_always() {
    for text in [
        "If the caller is angry, transfer them to a human.",
        "Do not transfer the caller to a human agent until the case is open.",
        "Pass the case number to the agent.",
        "Call the 'Escalation' action if the caller asks for a supervisor.",
    ] {
        let got = c(text).unwrap();
        assert!(
            !matches!(&got, Compiled::Rules(r) if r.contains(&Rule::EscalateAlways)),
            "{text}: {got:?}"
        );
    }
    assert_eq!(
        c("Immediately escalate the conversation to a human live agent."),
        Ok(Compiled::Rules(vec![Rule::EscalateAlways]))
    );
    for text in [
        "Escalate to a human live agent. Only speak English.",
        "Escalate to a human agent as a last resort.",
        "Transfer angry callers to a human.",
        "Gold members only. Call the 'Escalation' action.",
    ] {
        assert!(matches!(c(text), Ok(Compiled::Unbound(_))), "{text}: {:?}", c(text));
    }
    assert!(matches!(
        c("Run the 'createcase' action. Then transfer the caller to a live agent."),
        Ok(Compiled::Partly { rules, .. }) if rules == vec![Rule::RunAction { action: 0 }]
    ));
    assert_eq!(
        c("Never call the 'Escalation' action before the 'createcase' action has been executed."),
        Ok(Compiled::Rules(vec![Rule::RequireAction { action: 0, topic: None }]))
    );
}

#[test]
fn slot_lists_and_run_actions_beside_guards() {
    assert_eq!(
        c("Allow the 'Escalation' action only if the user has provided their account number and their email address."),
        Ok(Compiled::Rules(vec![
            Rule::RequireSlot {
                slot: 0,
                ask_first: false
            },
            Rule::RequireSlot {
                slot: 1,
                ask_first: false
            }
        ]))
    );
    assert_eq!(
        c(
            "Run the 'verify_account' action, then allow the 'Escalation' action only if the user has provided their email."
        ),
        // "run X, then allow 'Escalation'" orders X before the handoff too.
        Ok(Compiled::Rules(vec![
            Rule::RequireAction { action: 1, topic: None },
            Rule::RequireSlot {
                slot: 0,
                ask_first: false
            },
            Rule::RunAction { action: 1 }
        ]))
    );
    assert!(c("Allow 'Escalation' only if the user has provided their email and their phone number.").is_err());
    let both = Ok(Compiled::Rules(vec![
        Rule::RequireAction { action: 1, topic: None },
        Rule::RequireAction { action: 0, topic: None },
    ]));
    for text in [
        "Allow the 'Escalation' action only after the 'verify_account' and 'createcase' actions have been executed.",
        "Only use the 'Escalation' action after the 'verify_account' action and the 'createcase' action have run.",
    ] {
        assert_eq!(c(text), both, "{text}");
    }
    for text in [
        "Before using the 'Escalation' action, make sure 'createcase' ran.",
        "Do not allow the 'Escalation' action unless the 'createcase' action has been executed.",
        "Never call 'Escalation' before running 'createcase'.",
    ] {
        assert!(
            c(text)
                .unwrap()
                .rules()
                .contains(&Rule::RequireAction { action: 0, topic: None }),
            "{text}"
        );
    }
    assert_eq!(
        c(
            "Allow the 'Escalation' action only after the 'createcase' action has been executed in the 'Case Management' topic."
        ),
        Ok(Compiled::Rules(vec![Rule::RequireAction {
            action: 0,
            topic: Some(0)
        }]))
    );
    assert_eq!(
        c("Allow «Escalation» only if the user has provided their email address and confirmed their account number."),
        Ok(Compiled::Rules(vec![
            Rule::RequireSlot {
                slot: 0,
                ask_first: false
            },
            Rule::RequireSlot {
                slot: 1,
                ask_first: false
            }
        ]))
    );
}

#[test]
fn unknown_names_are_errors() {
    let err = c("run the 'createcas' action").unwrap_err();
    assert_eq!((err.kind, err.name.as_str()), ("action", "createcas"));
    let err = c("allow 'Escalation' only if the user has provided their phone number").unwrap_err();
    assert_eq!(err.kind, "slot");
}

#[test]
fn catch_all_descriptions() {
    assert!(reads_as_catch_all(
        "Handle all escalations and any user requests that come through."
    ));
    assert!(!reads_as_catch_all("Open and track support cases"));
}
