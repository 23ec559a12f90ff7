//! The instruction compiler on the seed's patterns and their variants; the
//! labelled corpus is in `corpus.rs`.

use super::*;

mod corpus;

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
            this_topic: Some(1),
            topic_actions: &[1],
            ..Names::plain(&s, &a, &t)
        },
    )
}

/// The reading in the corpus notation.
fn n(text: &str) -> String {
    let (s, a, t) = names();
    let names = Names::plain(&s, &a, &t);
    notation(&c(text).unwrap_or_else(|e| panic!("{text}: {e:?}")), &names)
}

#[test]
fn escalation_on_a_failed_action_is_not_a_guard() {
    assert_eq!(
        n("If the 'createcase' action fails, call the 'Escalation' action so the caller is not stuck."),
        "escalate on fail createcase"
    );
    // Read the other way, the same words would have required a success.
    assert_eq!(
        n("Allow the 'Escalation' action only after the 'createcase' action has been executed."),
        "require action:createcase"
    );
}

#[test]
fn seed_pattern_a() {
    let got = c(
        "If the user asks to talk to a human agent, allow the ‘Escalation’ action only if the user has provided their email address. If they have not, ask for the email first.",
    );
    assert_eq!(got.map(|c| c.rules), Ok(vec![Rule::slot(0, true)]));
}

#[test]
fn seed_pattern_b_with_topic() {
    assert_eq!(
        n(
            "…allowing the ‘Escalation’ action to be called only after the ‘createcase’ action has been executed in the Case Management topic."
        ),
        "require action:createcase@Case_Management"
    );
    assert_eq!(
        n("Allow the \"Escalation\" action to be called ONLY after the 'createcase' action has been executed."),
        "require action:createcase"
    );
    // "this topic" is the topic the instruction belongs to (Billing here).
    assert_eq!(
        n("Allow the 'Escalation' action only after the 'createcase' action has been executed in this topic."),
        "require action:createcase@Billing"
    );
}

#[test]
fn unquoted_keyword_binds_nothing() {
    let got = c(
        "If the user asks for a human, allow the Escalation action only if the user has provided their email address.",
    );
    assert!(
        matches!(
            got,
            Ok(Compiled {
                reading: Reading::Unbound { .. },
                ..
            })
        ),
        "{got:?}"
    );
}

#[test]
fn run_action_and_unconditional() {
    assert_eq!(
        n("When the caller describes a problem, run the 'createcase' action."),
        "run createcase"
    );
    assert_eq!(n("Escalate the conversation to a human live agent."), "escalate always");
    assert_eq!(n("Be polite and concise."), "text");
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
        assert!(!got.rules.contains(&Rule::EscalateAlways), "{text}: {got:?}");
    }
    assert_eq!(
        n("Immediately escalate the conversation to a human live agent."),
        "escalate always"
    );
    for text in [
        "Escalate to a human live agent. Only speak English.",
        "Escalate to a human agent as a last resort.",
        "Transfer angry callers to a human.",
        "Gold members only. Call the 'Escalation' action.",
    ] {
        assert!(n(text).starts_with("unbound"), "{text}: {}", n(text));
    }
    assert_eq!(
        n("Run the 'createcase' action. Then transfer the caller to a live agent."),
        "run createcase ; partly \"run the 'createcase' action. then transfer the caller to a live agent.\""
    );
    assert_eq!(
        n("Never call the 'Escalation' action before the 'createcase' action has been executed."),
        "require action:createcase"
    );
}

#[test]
fn slot_lists_and_run_actions_beside_guards() {
    assert_eq!(
        n("Allow the 'Escalation' action only if the user has provided their account number and their email address."),
        "require slot:account_number ; require slot:email"
    );
    // "run X, then allow 'Escalation'" orders X before the handoff too.
    assert_eq!(
        n(
            "Run the 'verify_account' action, then allow the 'Escalation' action only if the user has provided their email."
        ),
        "require action:verify_account ; require slot:email ; run verify_account"
    );
    assert!(c("Allow 'Escalation' only if the user has provided their email and their phone number.").is_err());
    for text in [
        "Allow the 'Escalation' action only after the 'verify_account' and 'createcase' actions have been executed.",
        "Only use the 'Escalation' action after the 'verify_account' action and the 'createcase' action have run.",
    ] {
        assert_eq!(
            n(text),
            "require action:createcase ; require action:verify_account",
            "{text}"
        );
    }
    for text in [
        "Before using the 'Escalation' action, make sure 'createcase' ran.",
        "Do not allow the 'Escalation' action unless the 'createcase' action has been executed.",
        "Never call 'Escalation' before running 'createcase'.",
    ] {
        assert!(
            c(text).unwrap().rules.contains(&Rule::action(0, None)),
            "{text}: {}",
            n(text)
        );
    }
    assert_eq!(
        n(
            "Allow the 'Escalation' action only after the 'createcase' action has been executed in the 'Case Management' topic."
        ),
        "require action:createcase@Case_Management"
    );
    assert_eq!(
        n("Allow «Escalation» only if the user has provided their email address and confirmed their account number."),
        "require slot:account_number ; require slot:email"
    );
}

#[test]
fn unknown_names_are_errors() {
    let err = c("run the 'createcas' action").unwrap_err();
    assert_eq!((err.kind, err.name.as_str()), ("action", "createcas"));
    let err = c("allow 'Escalation' only if the user has provided their phone number").unwrap_err();
    assert_eq!(err.kind, "slot");
    // "this topic" with no topic to refer to.
    let (s, a, t) = names();
    let err = compile(
        "Allow 'Escalation' only after 'createcase' ran in this topic.",
        &Names::plain(&s, &a, &t),
    )
    .unwrap_err();
    assert_eq!(err.kind, "topic");
}

#[test]
fn catch_all_descriptions() {
    assert!(reads_as_catch_all(
        "Handle all escalations and any user requests that come through."
    ));
    assert!(!reads_as_catch_all("Open and track support cases"));
}

#[test]
fn triggers_match_what_callers_say() {
    let slot = |_| "email";
    let says = Trigger::Says(vec!["emergency".into()]);
    assert!(trigger_matches(&says, "this is an emergency", None, slot));
    assert!(trigger_matches(&says, "we have emergencies here", None, slot));
    assert!(!trigger_matches(&says, "it's not an emergency", None, slot));
    let refuses = Trigger::Refuses(0);
    assert!(trigger_matches(&refuses, "i'd rather not give my email", None, slot));
    assert!(trigger_matches(&refuses, "no, i won't", Some(0), slot));
    assert!(!trigger_matches(&refuses, "no, i won't", None, slot));
    assert!(trigger_matches(
        &says,
        &trigger_sample(&says, "email").to_lowercase(),
        None,
        slot
    ));
    assert!(trigger_matches(
        &refuses,
        &trigger_sample(&refuses, "email").to_lowercase(),
        None,
        slot
    ));
}
