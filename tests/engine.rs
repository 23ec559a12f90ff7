//! The engine's escalation semantics, one behaviour per test, on small
//! agents written inline so that each test shows the config it relies on.

use std::path::Path;

use baton::engine::{Chooser, Engine, Nominal, Note, TopicPick, Unmet};
use baton::model::raw::HandoffReason;
use baton::model::{Agent, Event};
use baton::policy::{ActionId, TopicId};
use baton::transcript;
use proptest::prelude::*;

fn agent(yaml: &str) -> Agent {
    Agent::from_yaml(Path::new("inline.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn caller(t: &str) -> Event {
    Event::Caller(t.into())
}

/// What a test looks at in a run: per turn, the agent's words, the calls
/// (name, ok) and the notes; plus the handoff and the transcript.
struct Run {
    says: Vec<String>,
    calls: Vec<Vec<(String, bool)>>,
    notes: Vec<Vec<Note>>,
    topics: Vec<Option<String>>,
    handoff: Option<(HandoffReason, String, u32)>,
    context: Vec<(String, String)>,
    text: String,
}

fn run_with(a: &Agent, events: &[Event], chooser: &mut impl Chooser) -> Run {
    let engine = Engine::new(a, &a.fixtures);
    let trace = engine.run(events, chooser);
    let says = trace
        .turns
        .iter()
        .map(|t| transcript::agent_says(&engine, &trace, t))
        .collect();
    let calls = trace
        .turns
        .iter()
        .map(|t| {
            trace
                .calls(t)
                .map(|c| (a.actions[c.action as usize].name.clone(), c.ok))
                .collect()
        })
        .collect();
    let notes = trace.turns.iter().map(|t| trace.notes(t).to_vec()).collect();
    let topics = trace
        .turns
        .iter()
        .map(|t| match t.topic {
            TopicPick::Builtin => Some("Escalation (built-in)".to_string()),
            p => p.topic().map(|id| a.topics[id as usize].name.clone()),
        })
        .collect();
    let handoff = trace
        .handoff
        .map(|h| (h.reason, transcript::handoff_topic(a, &h), h.turn));
    let context = transcript::handoff_context(&engine, &trace)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let text = transcript::render(&engine, "test", events, &trace);
    Run {
        says,
        calls,
        notes,
        topics,
        handoff,
        context,
        text,
    }
}

fn run(a: &Agent, events: &[Event]) -> Run {
    run_with(a, events, &mut Nominal)
}

const CASE_AGENT: &str = r#"
agent: T
escalation: { flow: Queue }
slots: { email: { kind: email } }
actions:
  createcase: { inputs: [email], outputs: [case_number], result: { case_number: "C-1" } }
topics:
  - name: Case_Management
    description: Open support cases for broken or missing orders
    utterances: ["my order arrived broken", "open a case", "my package is missing"]
    can_escalate: CAN
    actions: [createcase]
    instructions:
      - "When the caller describes a problem, run the 'createcase' action."
      - "If the user asks to talk to a human agent, allow the 'Escalation' action to be called only after the 'createcase' action has been executed."
  - name: Billing
    description: Invoices, charges and refunds
    utterances: ["I was charged twice", "question about my invoice"]
"#;

fn case_agent(can_escalate: bool) -> Agent {
    agent(&CASE_AGENT.replace("CAN", if can_escalate { "true" } else { "false" }))
}

#[test]
fn pattern_b_collects_the_email_runs_the_case_then_hands_off() {
    let a = case_agent(true);
    let r = run(
        &a,
        &[
            caller("my order arrived broken"),
            caller("get me a human"),
            caller("it's jane@example.com"),
        ],
    );
    assert!(r.says[0].contains("email"), "{}", r.text);
    assert_eq!(r.handoff.as_ref().map(|h| h.2), Some(3), "{}", r.text);
    assert!(
        r.notes[1].iter().any(|n| matches!(
            n,
            Note::GuardUnmet {
                why: Unmet::Missing,
                ..
            }
        )),
        "{}",
        r.text
    );
    assert_eq!(r.calls[2], vec![("createcase".to_string(), true)]);
    let (reason, topic, _) = r.handoff.unwrap();
    assert_eq!(
        (reason, topic.as_str()),
        (HandoffReason::CallerRequest, "Case_Management")
    );
    assert_eq!(
        r.context,
        vec![
            ("email".into(), "jane@example.com".into()),
            ("case_number".into(), "C-1".into())
        ]
    );
}

#[test]
fn policy_on_a_topic_without_can_escalate_is_bypassed_by_the_default_topic() {
    let a = case_agent(false);
    let r = run(&a, &[caller("my order arrived broken"), caller("get me a human")]);
    let (reason, topic, turn) = r.handoff.clone().expect(&r.text);
    assert_eq!(
        (reason, topic.as_str(), turn),
        (HandoffReason::CallerRequest, "Escalation", 2)
    );
    assert!(r.calls.iter().all(Vec::is_empty), "no case may be opened: {}", r.text);
    assert!(
        r.notes[1].iter().any(|n| matches!(
            n,
            Note::Bypassed {
                guards: 1,
                can_escalate: false,
                ..
            }
        )),
        "{}",
        r.text
    );
    assert!(r.text.contains("BYPASS"), "{}", r.text);
}

#[test]
fn a_failed_action_does_not_count_as_executed() {
    let a = agent(
        &CASE_AGENT
            .replace("CAN", "true")
            .replace("result: { case_number: \"C-1\" }", "fails: true"),
    );
    let r = run(
        &a,
        &[
            caller("my order arrived broken jane@example.com"),
            caller("talk to a human"),
        ],
    );
    assert_eq!(r.calls[0], vec![("createcase".to_string(), false)], "{}", r.text);
    assert!(r.handoff.is_none(), "{}", r.text);
    assert!(
        r.notes[1]
            .iter()
            .any(|n| matches!(n, Note::GuardUnmet { why: Unmet::Failed, .. })),
        "{}",
        r.text
    );
}

#[test]
fn pattern_a_asks_for_the_email_first() {
    let a = agent(
        r#"
agent: A
channel: messaging
escalation: { flow: Queue }
slots: { email: { kind: email } }
topics:
  - name: Account_Help
    description: Logins and passwords
    utterances: ["I can't log in", "reset my password"]
    can_escalate: true
    instructions:
      - "If the user asks to talk to a human agent, allow the ‘Escalation’ action only if the user has provided their email address. If they have not, ask for the email first."
"#,
    );
    let r = run(
        &a,
        &[
            caller("I can't log in"),
            caller("can I speak to someone"),
            caller("sure, bob@example.org"),
        ],
    );
    assert!(r.handoff.as_ref().is_some_and(|h| h.2 == 3), "{}", r.text);
    assert!(r.says[1].to_lowercase().contains("email"), "{}", r.text);
    // The same without quotes binds nothing: the handoff is immediate.
    let unquoted = agent(
        r#"
agent: A
escalation: { flow: Queue }
slots: { email: { kind: email } }
topics:
  - name: Account_Help
    description: Logins and passwords
    utterances: ["I can't log in"]
    can_escalate: true
    instructions:
      - "If the user asks to talk to a human agent, allow the Escalation action only if the user has provided their email address."
"#,
    );
    let r = run(&unquoted, &[caller("I can't log in"), caller("can I speak to someone")]);
    assert_eq!(r.handoff.map(|h| h.2), Some(2));
}

#[test]
fn smart_routing_hands_off_on_the_first_turn() {
    let a = agent(
        r#"
agent: S
escalation: { flow: Dispatch }
topics:
  - name: Escalation
    description: Handle all escalations and any user requests that come through.
    can_escalate: true
    instructions: ["Escalate the conversation to a human live agent."]
"#,
    );
    let r = run(&a, &[caller("my internet has been down since Tuesday")]);
    assert_eq!(
        r.handoff,
        Some((HandoffReason::SmartRouting, "Escalation".to_string(), 1)),
        "{}",
        r.text
    );
    let r = run(&a, &[caller("operator")]);
    assert_eq!(r.handoff.map(|h| h.0), Some(HandoffReason::CallerRequest));
}

const VOICE: &str = r#"
agent: V
escalation: { flow: Queue }
no_input: { reprompts: 2, then: THEN }
dtmf: { "0": escalate, "9": hangup }
slots:
  email: { kind: email }
  account_number: { pattern: '\b(\d{8})\b' }
actions:
  createcase: { inputs: [email], outputs: [case_number], result: { case_number: "C-1" } }
topics:
  - name: Case_Management
    description: Open support cases for broken or missing orders
    utterances: ["my order arrived broken", "open a case"]
    can_escalate: true
    actions: [createcase]
    instructions:
      - "Run the 'createcase' action."
      - "Allow the 'Escalation' action only after the 'createcase' action has been executed."
"#;

#[test]
fn silence_and_keypad_escalate_through_the_default_path() {
    let a = agent(&VOICE.replace("THEN", "escalate"));
    let r = run(
        &a,
        &[
            caller("my order arrived broken"),
            Event::Silence,
            Event::Silence,
            Event::Silence,
        ],
    );
    assert!(r.says[1].contains("still there"), "{}", r.text);
    assert_eq!(
        r.handoff,
        Some((HandoffReason::NoInput, "Escalation".to_string(), 4)),
        "{}",
        r.text
    );
    assert!(
        r.notes[3].iter().any(|n| matches!(n, Note::Bypassed { .. })),
        "{}",
        r.text
    );

    let r = run(&a, &[caller("my order arrived broken"), Event::Dtmf("0".into())]);
    assert_eq!(
        r.handoff,
        Some((HandoffReason::Dtmf, "Escalation".to_string(), 2)),
        "{}",
        r.text
    );

    // Digits that are not a shortcut fill slots; after the end, events are ignored.
    let r = run(
        &a,
        &[
            Event::Dtmf("12345678".into()),
            Event::Dtmf("9".into()),
            caller("hello?"),
        ],
    );
    assert!(r.text.contains("slot: account_number = 12345678"), "{}", r.text);
    assert!(r.text.contains("end: agent hung up at turn 2"), "{}", r.text);
    assert!(r.notes[2].contains(&Note::Ignored), "{}", r.text);

    let hangup = agent(&VOICE.replace("THEN", "hangup"));
    let r = run(&hangup, &[Event::Silence, Event::Silence, Event::Silence]);
    assert!(
        r.handoff.is_none() && r.text.contains("end: agent hung up at turn 3"),
        "{}",
        r.text
    );
}

#[test]
fn negated_requests_are_not_requests() {
    let a = case_agent(false);
    let r = run(&a, &[caller("I don't need a person, my order arrived broken")]);
    assert!(r.handoff.is_none(), "{}", r.text);
    assert_eq!(r.topics[0].as_deref(), Some("Case_Management"));
    assert!(r.text.contains("request: negated"), "{}", r.text);
}

#[test]
fn switching_topics_drops_a_blocked_request_and_the_default_path_then_bypasses() {
    let a = agent(&CASE_AGENT.replace("CAN", "true"));
    let r = run(
        &a,
        &[
            caller("my order arrived broken"),
            caller("talk to a human"),
            caller("I was charged twice"),
            caller("representative"),
        ],
    );
    assert_eq!(r.topics[2].as_deref(), Some("Billing"), "{}", r.text);
    assert!(
        r.notes[2].iter().any(|n| matches!(n, Note::Switched { .. })),
        "{}",
        r.text
    );
    assert_eq!(
        r.handoff.as_ref().map(|h| (h.1.as_str(), h.2)),
        Some(("Escalation", 4)),
        "{}",
        r.text
    );
    assert!(r.calls.iter().all(Vec::is_empty));
}

#[test]
fn unclear_utterances_are_not_understood() {
    let a = case_agent(true);
    let r = run(&a, &[caller("purple monkey dishwasher")]);
    assert!(r.says[0].contains("didn't understand"), "{}", r.text);
    assert_eq!(r.topics[0], None);
}

#[test]
fn the_chooser_decides_ambiguities_and_action_outcomes() {
    struct Flip;
    impl Chooser for Flip {
        fn topic(&mut self, _best: TopicId, runner_up: TopicId) -> TopicId {
            runner_up
        }
        fn action_ok(&mut self, _a: ActionId, _ok: bool) -> bool {
            false
        }
    }
    let a = agent(
        r#"
agent: Amb
escalation: { flow: Q }
actions: { ping: {} }
topics:
  - { name: One, description: "order help", utterances: ["order help"], actions: [ping], instructions: ["run the 'ping' action"] }
  - { name: Two, description: "order help", utterances: ["order help"] }
"#,
    );
    let nominal = run(&a, &[caller("order help")]);
    let flipped = run_with(&a, &[caller("order help")], &mut Flip);
    assert_eq!(nominal.topics[0].as_deref(), Some("One"));
    assert_eq!(flipped.topics[0].as_deref(), Some("Two"));
    assert!(nominal.notes[0].iter().any(|n| matches!(n, Note::Ambiguous { .. })));
    let r = run_with(&a, &[caller("order help")], &mut FailOnly);
    assert_eq!(r.calls[0], vec![("ping".to_string(), false)]);
    struct FailOnly;
    impl Chooser for FailOnly {
        fn action_ok(&mut self, _a: ActionId, _ok: bool) -> bool {
            false
        }
    }
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        prop::sample::select(vec![
            "my order arrived broken",
            "get me a human",
            "I don't need a person",
            "jane@example.com",
            "I was charged twice",
            "12345678",
            "purple",
            "operator",
        ])
        .prop_map(caller),
        Just(Event::Silence),
        prop::sample::select(vec!["0", "9", "5", "12345678"]).prop_map(|d| Event::Dtmf(d.into())),
        Just(Event::Hangup),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any caller script: one recorded turn per event, the same trace twice,
    /// nothing after the end, and a handoff by a can_escalate topic only
    /// when its guards hold (the case was created).
    #[test]
    fn engine_is_deterministic_and_dynamic_handoffs_respect_guards(events in prop::collection::vec(event(), 0..12)) {
        let a = agent(&VOICE.replace("THEN", "escalate"));
        let first = run(&a, &events);
        let second = run(&a, &events);
        prop_assert_eq!(&first.text, &second.text);
        prop_assert_eq!(first.says.len(), events.len());
        if let Some((reason, topic, turn)) = &first.handoff {
            prop_assert!(first.notes[*turn as usize..].iter().all(|n| n == &vec![Note::Ignored]));
            if topic == "Case_Management" {
                prop_assert_eq!(*reason, HandoffReason::CallerRequest);
                prop_assert!(first.calls[..*turn as usize].iter().flatten().any(|(n, ok)| n == "createcase" && *ok), "{}", first.text);
            }
        }
    }
}

#[test]
fn a_refusal_withdraws_a_blocked_request() {
    let a = case_agent(true);
    let r = run(
        &a,
        &[
            caller("my order arrived broken"),
            caller("talk to a human"),
            caller("actually I don't need a person anymore"),
            caller("jane@example.com"),
        ],
    );
    assert!(r.notes[2].contains(&Note::Withdrawn), "{}", r.text);
    assert_eq!(r.calls[3], vec![("createcase".to_string(), true)], "{}", r.text);
    assert!(
        r.handoff.is_none(),
        "the withdrawn request must not come back: {}",
        r.text
    );
}

#[test]
fn an_unconditional_instruction_still_obeys_the_topics_guards() {
    let a = agent(&CASE_AGENT.replace("CAN", "true").replace(
        "      - \"When the caller describes a problem, run the 'createcase' action.\"\n",
        "      - \"When the caller describes a problem, run the 'createcase' action.\"\n      - \"Escalate the conversation to a human agent.\"\n",
    ));
    let r = run(&a, &[caller("my order arrived broken"), caller("jane@example.com")]);
    assert!(
        r.handoff.as_ref().is_none_or(|h| h.2 == 2),
        "no handoff before the case: {}",
        r.text
    );
    assert_eq!(r.calls[1], vec![("createcase".to_string(), true)], "{}", r.text);
    assert_eq!(r.handoff.map(|h| h.0), Some(HandoffReason::SmartRouting), "{}", r.text);
}

#[test]
fn a_guard_naming_a_topic_runs_the_action_there_even_if_it_ran_elsewhere() {
    let a = agent(
        r#"
agent: T
escalation: { flow: Queue }
actions: { createcase: { outputs: [case_number], result: { case_number: "C-1" } } }
topics:
  - name: Billing
    description: Invoices and charges
    utterances: ["I was charged twice"]
    actions: [createcase]
    instructions: ["Run the 'createcase' action."]
  - name: Case_Management
    description: Broken or missing orders
    utterances: ["my order arrived broken"]
    can_escalate: true
    actions: [createcase]
    instructions:
      - "Allow the 'Escalation' action only after the 'createcase' action has been executed in the Case Management topic."
"#,
    );
    let r = run(
        &a,
        &[
            caller("I was charged twice"),
            caller("my order arrived broken"),
            caller("talk to a human"),
        ],
    );
    assert_eq!(r.calls[0], vec![("createcase".to_string(), true)]);
    assert_eq!(r.calls[2], vec![("createcase".to_string(), true)], "{}", r.text);
    assert_eq!(
        r.handoff.map(|h| (h.1, h.2)),
        Some(("Case_Management".to_string(), 3)),
        "{}",
        r.text
    );
}

#[test]
fn keypad_and_silence_handoffs_are_on_the_builtin_topic() {
    let a = agent(&VOICE.replace("THEN", "escalate"));
    let r = run(&a, &[Event::Dtmf("0".into())]);
    assert_eq!(r.topics[0].as_deref(), Some("Escalation (built-in)"), "{}", r.text);
}

/// Pattern A's "if they have not, ask for the email first": the email the
/// guard needs is asked for before the input an action of the topic lacks.
#[test]
fn a_blocked_request_asks_for_the_guarded_slot_first() {
    let a = agent(
        "agent: A\nescalation: { flow: F }\nslots:\n  email: { kind: email, ask: \"Your email?\" }\n  order: { pattern: '\\b(\\d{6})\\b', ask: \"Your order number?\" }\nactions:\n  lookup: { inputs: [order] }\ntopics:\n  - name: Orders\n    description: order status and tracking\n    utterances: [\"where is my order\"]\n    can_escalate: true\n    actions: [lookup]\n    instructions:\n      - \"Run the 'lookup' action.\"\n      - \"Allow the 'Escalation' action only if the user has provided their email address; if they have not, ask for the email first.\"\n",
    );
    let r = run(
        &a,
        &[
            caller("where is my order"),
            caller("get me a human"),
            caller("jo@example.com"),
        ],
    );
    assert_eq!(r.says[0], "Your order number?");
    assert_eq!(r.says[1], "Your email?", "the guard's slot comes first");
    assert!(
        r.handoff.is_some(),
        "the email given, the request goes through: {}",
        r.text
    );
}

/// A turn that hands off asks nothing: the question would go unanswered.
#[test]
fn a_turn_that_hands_off_asks_no_question() {
    let a = agent(
        "agent: A\nescalation: { flow: F, message: \"Connecting you.\" }\nslots:\n  order: { pattern: '\\b(\\d{6})\\b', ask: \"Your order number?\" }\nactions:\n  lookup: { inputs: [order] }\ntopics:\n  - name: Orders\n    description: order status and tracking\n    utterances: [\"where is my order\"]\n    can_escalate: true\n    actions: [lookup]\n    instructions:\n      - \"Run the 'lookup' action.\"\n",
    );
    let r = run(&a, &[caller("where is my order, get me a human")]);
    assert!(r.handoff.is_some(), "{}", r.text);
    assert_eq!(r.says[0], "Connecting you.", "{}", r.text);
    assert!(!r.text.contains("Your order number?"), "{}", r.text);
}
