//! The request recogniser as the engine uses it: the phrasings of issue #9,
//! an uncertain reading as an explicit choice (nominal, pinned with
//! `choose: { request: ... }`, both ways under `Branching`), and the words
//! a transcript gives for a decision.

use std::path::Path;

use baton::engine::{Engine, Nominal, Scripted};
use baton::explore::Branching;
use baton::model::{Agent, Choice, Event};
use baton::nlu::{Request, Scratch, Vocab};
use baton::transcript;

fn agent() -> Agent {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agents/default_escalation.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    Agent::from_yaml(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn read(text: &str) -> Request {
    let vocab = Vocab::new();
    let mut s = Scratch::default();
    s.tokenize(&vocab, text);
    s.request()
}

#[test]
fn the_phrasings_of_the_issue_read_as_they_should() {
    let mut wrong = Vec::new();
    for text in [
        "transfer me to customer service",
        "put me through to the billing department",
        "a specialist",
        "your boss",
        "can someone call me back",
        "opperator",
        "represenative",
        "live agnet",
        "a gent please",
        "hue man",
        "quiero hablar con una persona",
        "operador por favor",
        "je voudrais parler à une personne",
        "ich möchte mit einem Menschen sprechen",
        "quero falar com um atendente",
        "press 0",
        "zero",
        "Is there someone I can speak to about my bill?",
        "No, I said a human!",
    ] {
        if read(text) != Request::Yes {
            wrong.push(format!("{text}: {:?}, expected a request", read(text)));
        }
    }
    for text in [
        "Am I talking to a human?",
        "How long is the wait to speak to an agent?",
        "Do you have human agents?",
        "I'm a human, obviously",
        "transfer my ticket to another person",
        "add another person to my account",
        "I never asked for a human",
        "I don't need a person",
    ] {
        if matches!(read(text), Request::Yes | Request::Uncertain) {
            wrong.push(format!("{text}: {:?}, expected no request", read(text)));
        }
    }
    for text in ["this bot is useless", "I've asked three times"] {
        if read(text) != Request::Uncertain {
            wrong.push(format!("{text}: {:?}, expected uncertain", read(text)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// An utterance the recogniser is uncertain about, for the tests below.
const UNCERTAIN: &str = "this bot is useless";

#[test]
fn an_uncertain_request_is_a_choice_pinned_by_a_script() {
    let a = agent();
    let engine = Engine::new(&a, &a.fixtures);
    let events = [Event::Caller(UNCERTAIN.into())];
    let pinned = |request: bool| {
        let choices = [(
            0,
            Choice {
                request: Some(request),
                ..Choice::default()
            },
        )];
        let trace = engine.run(&events, &mut Scripted::new(&choices));
        (
            trace.handoff.is_some(),
            transcript::render(&engine, "c", &events, &trace),
        )
    };
    let (escalated, text) = pinned(true);
    assert!(escalated, "{text}");
    assert!(
        text.contains("request? uncertain: explored both ways") && text.contains("taken here as a request"),
        "{text}"
    );
    let (escalated, text) = pinned(false);
    assert!(!escalated, "{text}");
    assert!(text.contains("taken here as no request"), "{text}");
    // Unpinned, the engine takes the way the score leans.
    let trace = engine.run(&events, &mut Nominal);
    let reading = trace.turns[0].reading.unwrap();
    assert_eq!(reading.request, Request::Uncertain);
    assert_eq!(trace.handoff.is_some(), reading.leans_to_request());
}

#[test]
fn branching_takes_both_readings_and_records_the_one_it_took() {
    let a = agent();
    let engine = Engine::new(&a, &a.fixtures);
    let events = [Event::Caller(UNCERTAIN.into())];
    let mut outcomes = Vec::new();
    for bits in [0u32, 1] {
        let words = [bits];
        let mut chooser = Branching::per_turn(&words).recording();
        let trace = engine.run(&events, &mut chooser);
        assert_eq!(
            chooser.points, 1,
            "the uncertain reading is the turn's one choice point"
        );
        let recorded = chooser.record.unwrap_or_default();
        if bits == 1 {
            assert_eq!(recorded.len(), 1);
            assert_eq!(recorded[0].1.request, Some(trace.handoff.is_some()));
        } else {
            assert!(recorded.is_empty(), "{recorded:?}");
        }
        outcomes.push(trace.handoff.is_some());
    }
    assert_ne!(outcomes[0], outcomes[1], "both readings are explored");
}

#[test]
fn a_certain_reading_is_no_choice_point() {
    let a = agent();
    let engine = Engine::new(&a, &a.fixtures);
    for text in ["get me a human", "where is my order"] {
        let events = [Event::Caller(text.into())];
        let mut chooser = Branching::fixed(1);
        let trace = engine.run(&events, &mut chooser);
        assert_eq!(chooser.points, 0, "{text}");
        assert_eq!(trace.handoff.is_some(), text.contains("human"), "{text}");
    }
}

#[test]
fn a_transcript_quotes_the_words_that_decided() {
    let a = agent();
    let engine = Engine::new(&a, &a.fixtures);
    for (text, words) in [
        ("I want to talk to a human about my order", "talk to a human"),
        ("I don't need a person", "I don't need a person"),
    ] {
        let events = [Event::Caller(text.into())];
        let trace = engine.run(&events, &mut Nominal);
        let out = transcript::render(&engine, "c", &events, &trace);
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with("request"))
            .unwrap_or("");
        let quoted = line.split('"').nth(1).unwrap_or("");
        assert!(quoted.contains(words) && line.contains(", score "), "{text}: {out}");
    }
}
