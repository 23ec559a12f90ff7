//! The canonical text form of a trace: one block per turn with the caller
//! event, the topic, slots, actions with results, rule decisions, the
//! agent's words and the handoff. It is what golden transcripts hold, what
//! JUnit's `<system-out>` carries, and what diffs are made of, so it is
//! stable (no timings, no paths) and line-oriented.

use std::fmt::Write;

use crate::agent::compiled::{Op, Phase};
use crate::engine::{Call, End, Engine, Handoff, Kept, Note, Say, TopicPick, Trace, Turn, Unmet};
use crate::model::Event;
use crate::model::agent::{Agent, BUILTIN_ESCALATION};
use crate::model::raw::{Channel, NoInputThen};
use crate::nlu::{Reading, Request, Scratch};
use crate::policy::{Counter, Req, Rule, TopicId, Trigger, When};

/// How every transcript begins; a golden file that does not is not ours.
pub const HEADER: &str = "conversation: ";

/// Renders a whole conversation.
pub fn render(engine: &Engine<'_>, conversation: &str, events: &[Event], trace: &Trace<'_>) -> String {
    let agent = engine.agent;
    let mut out = String::with_capacity(256 * events.len().max(1));
    let _ = writeln!(out, "{HEADER}{}", one_line(conversation));
    let _ = writeln!(out, "agent: {}", one_line(&agent.name));
    let mut slots: Vec<Option<&str>> = vec![None; agent.slots.len()];
    let mut scratch = crate::nlu::Scratch::default();
    for (i, (ev, turn)) in events.iter().zip(&trace.turns).enumerate() {
        out.push('\n');
        let _ = writeln!(out, "[{}] {}", i + 1, event_line(ev));
        if let (Event::Caller(text), Some(reading)) = (ev, turn.reading) {
            request_line(agent, text, turn.request, reading, &mut scratch, &mut out);
        }
        render_turn(engine, trace, turn, &mut slots, &mut out);
    }
    out.push('\n');
    out.push_str(&end_line(trace));
    out.push('\n');
    out
}

pub fn event_line(ev: &Event) -> String {
    match ev {
        Event::Caller(t) => format!("caller: {}", one_line(t)),
        Event::Silence => "silence".to_string(),
        Event::Dtmf(d) => format!("dtmf: {d}"),
        Event::Hangup => "hangup".to_string(),
    }
}

fn render_turn<'s>(
    engine: &Engine<'_>,
    trace: &Trace<'s>,
    turn: &Turn,
    slots: &mut [Option<&'s str>],
    out: &mut String,
) {
    let agent = engine.agent;
    if let Some(line) = topic_line(agent, turn.topic) {
        let _ = writeln!(out, "    topic: {line}");
    }
    for f in trace.fills(turn) {
        slots[f.slot as usize] = Some(f.value);
        let _ = writeln!(
            out,
            "    slot: {} = {}",
            agent.slots[f.slot as usize].name,
            one_line(f.value)
        );
    }
    for n in trace.notes(turn) {
        let _ = writeln!(out, "    {}", note_line(engine, *n, slots));
    }
    if turn.handoff
        && let Some(h) = &trace.handoff
    {
        let _ = writeln!(out, "    handoff: {}", handoff_line(agent, h));
        let ctx = handoff_context(engine, trace);
        if !ctx.is_empty() {
            let items: Vec<String> = ctx.iter().map(|(k, v)| format!("{k}={}", one_line(v))).collect();
            let _ = writeln!(out, "    context: {}", items.join(", "));
        }
    }
    let says = agent_says(engine, trace, turn);
    if !says.is_empty() {
        let _ = writeln!(out, "    agent: {}", one_line(&says));
    }
}

/// The recogniser's reading of a caller line, with the words that decided
/// it: `request: asks for a human ("hablar con una persona", score 0.93)`.
/// Nothing for an utterance that is no request.
fn request_line(agent: &Agent, text: &str, taken: Request, reading: Reading, scratch: &mut Scratch, out: &mut String) {
    if reading.request == Request::No {
        return;
    }
    let (_, words) = scratch.explain(&agent.vocab, text);
    let quoted = if words.is_empty() {
        String::new()
    } else {
        format!("{:?}, ", one_line(&words))
    };
    let score = reading.score;
    let _ = match reading.request {
        Request::Yes => writeln!(out, "    request: asks for a human ({quoted}score {score:.2})"),
        Request::Negated => writeln!(
            out,
            "    request: negated, not a request for a human ({quoted}score {score:.2})"
        ),
        _ => writeln!(
            out,
            "    request? uncertain: explored both ways ({quoted}score {score:.2}); taken here as {}",
            if taken == Request::Yes {
                "a request"
            } else {
                "no request"
            }
        ),
    };
}

fn topic_line(agent: &Agent, pick: TopicPick) -> Option<String> {
    Some(match pick {
        TopicPick::None => return None,
        TopicPick::Classified { topic, score } => format!("{} (score {score:.2})", topic_name(agent, topic)),
        TopicPick::Kept { topic, why } => format!(
            "{} (kept: {})",
            topic_name(agent, topic),
            match why {
                Kept::Answer => "answers the agent's question",
                Kept::Info => "gives details",
                Kept::HandlesEscalation => "can_escalate, handles the request",
                Kept::Transition => "reached by a procedure's transition",
            }
        ),
        TopicPick::Builtin => format!("{BUILTIN_ESCALATION} (built-in)"),
        TopicPick::NotUnderstood { score } => {
            format!("none (best score {score:.2}, below threshold {:.2})", agent.threshold)
        }
    })
}

/// Which instruction a rule came from, e.g. `Case_Management #2`.
fn rule_ref(agent: &Agent, t: TopicId, rule: u16) -> String {
    let topic = &agent.topics[t as usize];
    format!("{} #{}", topic.name, topic.rule_origins[rule as usize])
}

pub fn topic_name(agent: &Agent, t: TopicId) -> &str {
    &agent.topics[t as usize].name
}

/// The name a handoff or expectation uses for the topic that escalated.
pub fn handoff_topic(agent: &Agent, h: &Handoff) -> String {
    h.topic
        .map_or_else(|| BUILTIN_ESCALATION.to_string(), |t| topic_name(agent, t).to_string())
}

fn handoff_line(agent: &Agent, h: &Handoff) -> String {
    format!(
        "{} (reason {}, topic {}, turn {})",
        agent.flow(),
        h.reason.as_str(),
        handoff_topic(agent, h),
        h.turn
    )
}

/// A requirement in words: "slot 'email' is filled", "'createcase' succeeded".
pub fn describe_req(agent: &Agent, r: &Req) -> String {
    match *r {
        Req::Slot(s) => format!("slot '{}' is filled", agent.slots[s as usize].name),
        Req::Action(a, topic) => format!(
            "'{}' succeeded{}",
            agent.actions[a as usize].name,
            topic.map_or(String::new(), |t| format!(" in topic {}", topic_name(agent, t)))
        ),
    }
}

fn describe_reqs(agent: &Agent, rs: &[Req]) -> String {
    rs.iter()
        .map(|r| describe_req(agent, r))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// An exception or escalation condition in words.
pub fn describe_when(agent: &Agent, w: &When) -> String {
    match w {
        When::Said(Trigger::Says(words)) => format!(
            "the caller says {}",
            words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        When::Said(Trigger::Refuses(s)) => format!("the caller refuses to give '{}'", agent.slots[*s as usize].name),
        When::Failed(a) => format!("'{}' failed", agent.actions[*a as usize].name),
        When::Count(Counter::Requests, n) => format!("the caller asked for a human {n} times"),
        When::Count(Counter::Failures(a), n) => format!("'{}' failed {n} times", agent.actions[*a as usize].name),
        When::SlotEmpty(s) => format!(
            "slot '{}' is empty (the guard applies only to callers who gave it)",
            agent.slots[*s as usize].name
        ),
    }
}

/// A trigger in words, for transcripts.
fn describe_trigger(agent: &Agent, t: &Trigger) -> String {
    describe_when(agent, &When::Said(t.clone()))
}

/// A rule in words, as `explain` and transcripts show it.
pub fn describe_rule(agent: &Agent, rule: &Rule) -> String {
    match rule {
        Rule::RunAction { action, after } if after.is_empty() => {
            format!("run '{}'", agent.actions[*action as usize].name)
        }
        Rule::RunAction { action, after } => format!(
            "run '{}' once {}",
            agent.actions[*action as usize].name,
            describe_reqs(agent, after)
        ),
        Rule::Require(g) => {
            let mut out = match g.any.as_slice() {
                [Req::Slot(slot)] => format!(
                    "'Escalation' only if slot '{}' is filled",
                    agent.slots[*slot as usize].name
                ),
                [Req::Action(action, topic)] => format!(
                    "'Escalation' only after '{}' succeeded{}",
                    agent.actions[*action as usize].name,
                    topic.map_or(String::new(), |t| format!(" in topic {}", topic_name(agent, t)))
                ),
                any => format!(
                    "'Escalation' only once one of: {}",
                    any.iter()
                        .map(|r| describe_req(agent, r))
                        .collect::<Vec<_>>()
                        .join(", or ")
                ),
            };
            if g.ask_first {
                out.push_str(if g.any.len() == 1 {
                    " (ask for it first)"
                } else {
                    " (ask first)"
                });
            }
            if !g.unless.is_empty() {
                let _ = write!(
                    out,
                    ", unless {}",
                    g.unless
                        .iter()
                        .map(|w| describe_when(agent, w))
                        .collect::<Vec<_>>()
                        .join(", or ")
                );
            }
            out
        }
        Rule::Precondition { action, requires } => format!(
            "'{}' may run only after {}",
            agent.actions[*action as usize].name,
            describe_reqs(agent, requires)
        ),
        Rule::EscalateAlways => "escalate to a human on every turn".to_string(),
        Rule::EscalateAfter { requires } => {
            format!("escalate to a human once {}", describe_reqs(agent, requires))
        }
        Rule::EscalateOnFailure { action } => format!(
            "escalate to a human when '{}' fails",
            agent.actions[*action as usize].name
        ),
        Rule::EscalateWhen { when } => format!(
            "escalate to a human when {} (no guard is consulted)",
            describe_when(agent, when)
        ),
    }
}

/// One note as a transcript line; an action call shows its inputs as the
/// slots stood when it ran.
fn note_line(engine: &Engine<'_>, n: Note, slots: &[Option<&str>]) -> String {
    let agent = engine.agent;
    let topic = |t: TopicId| topic_name(agent, t);
    match n {
        Note::Ambiguous {
            chosen,
            other,
            other_score,
        } => format!(
            "classifier: {} chosen over {} (score {other_score:.2}, within margin {:.2})",
            topic(chosen),
            topic(other),
            agent.margin
        ),
        Note::Switched { from } => format!("switch: left {}, dropping what it was waiting for", topic(from)),
        Note::LlmCalls { action } => format!(
            "llm: ignores its instructions and calls '{}' (available by structure)",
            agent.actions[action as usize].name
        ),
        Note::LlmEscalates { topic: t } => format!(
            "llm: ignores its instructions and hands off from {} (the escalation tool is there by structure)",
            topic(t)
        ),
        Note::DefaultPath {
            from: Some(t),
            about: None,
        } if agent.topics[t as usize].can_escalate => {
            format!(
                "route: default Escalation path (leaves {}, topic rules are not consulted)",
                topic(t)
            )
        }
        Note::DefaultPath {
            from: Some(t),
            about: None,
        } => {
            format!("route: default Escalation path ({} lacks can_escalate)", topic(t))
        }
        Note::DefaultPath {
            from: None,
            about: None,
        } => "route: default Escalation path (no active topic)".to_string(),
        Note::DefaultPath { from, about: Some(a) } => format!(
            "route: default Escalation path (the request is about {}, which lacks can_escalate; {})",
            topic(a),
            match from {
                Some(f) => format!("{} was active", topic(f)),
                None => "no active topic".to_string(),
            }
        ),
        Note::Bypassed {
            topic: t,
            guards,
            can_escalate,
        } => format!(
            "BYPASS: {guards} escalation guard{} on {} not applied{}",
            if guards == 1 { "" } else { "s" },
            topic(t),
            if can_escalate {
                ""
            } else {
                " (the topic lacks can_escalate, so its policy never binds)"
            }
        ),
        Note::Handles { topic: t } => format!("rule: {} handles the escalation request", topic(t)),
        Note::Resumed { topic: t } => format!("rule: {} looks again at the blocked escalation request", topic(t)),
        Note::GuardMet { topic: t, rule } => {
            format!(
                "guard {}: {} -> met",
                rule_ref(agent, t, rule),
                describe_rule(agent, &agent.topics[t as usize].rules[rule as usize])
            )
        }
        Note::GuardUnmet { topic: t, rule, why } => format!(
            "guard {}: {} -> BLOCKED ({})",
            rule_ref(agent, t, rule),
            describe_rule(agent, &agent.topics[t as usize].rules[rule as usize]),
            match why {
                Unmet::Missing => "not yet done",
                Unmet::Failed => "the action failed; a failed action does not count",
                Unmet::OtherTopic => "it succeeded in another topic",
                Unmet::NotHere => "the action is not available in this topic",
            }
        ),
        Note::GuardExcepted { topic: t, rule, when } => {
            let r = &agent.topics[t as usize].rules[rule as usize];
            let w = match r {
                Rule::Require(g) => g.unless.get(when as usize).map(|w| describe_when(agent, w)),
                _ => None,
            };
            format!(
                "guard {}: {} -> EXCEPTION ({} holds: the guard lets the request through)",
                rule_ref(agent, t, rule),
                describe_rule(agent, r),
                w.unwrap_or_default()
            )
        }
        Note::EscalatesWhen { topic: t, rule } => format!(
            "rule {}: {} -> escalates",
            rule_ref(agent, t, rule),
            describe_rule(agent, &agent.topics[t as usize].rules[rule as usize])
        ),
        Note::Waits { topic: t, rule } => format!(
            "rule {}: {} -> waits",
            rule_ref(agent, t, rule),
            describe_rule(agent, &agent.topics[t as usize].rules[rule as usize])
        ),
        Note::Held { topic: t, rule, action } => format!(
            "rule {}: {} -> '{}' held back",
            rule_ref(agent, t, rule),
            describe_rule(agent, &agent.topics[t as usize].rules[rule as usize]),
            agent.actions[action as usize].name
        ),
        Note::Said { trigger } => format!(
            "caller event: {}",
            agent
                .triggers
                .get(trigger as usize)
                .map_or(String::new(), |t| describe_trigger(agent, t))
        ),
        Note::Counted { counter, count } => {
            let (c, cap) = agent.counters[counter as usize];
            let what = match c {
                Counter::Requests => "requests for a human".to_string(),
                Counter::Failures(a) => format!("failures of '{}'", agent.actions[a as usize].name),
            };
            format!(
                "count: {what} = {count}{}",
                if count >= cap {
                    " (the most any rule counts to)"
                } else {
                    ""
                }
            )
        }
        Note::EscalatesOnFailure { topic: t, action } => format!(
            "rule: {} escalates because '{}' failed (no guard is consulted)",
            topic(t),
            agent.actions[action as usize].name
        ),
        Note::Unavailable { topic: Some(t) } => {
            let why = agent.topics[t as usize]
                .available
                .as_ref()
                .map_or(String::new(), |c| format!(": {} is false", c.describe(agent)));
            format!("classifier: {} not available{why}", topic(t))
        }
        Note::Unavailable { topic: None } => {
            let why = agent
                .escalation
                .available
                .as_ref()
                .map_or(String::new(), |c| format!(": {} is false", c.describe(agent)));
            format!("route: the Escalation topic is not available{why}")
        }
        Note::Set { action, var } => {
            let def = &agent.actions[action as usize];
            let output = def.sets.iter().find(|s| s.1 == var).map_or(0, |s| s.0);
            let value = engine.fixtures.actions[action as usize].outputs[output as usize]
                .as_deref()
                .unwrap_or("");
            format!(
                "variable: {} = {} (from {}.{})",
                one_line(&agent.variables[var as usize].name),
                one_line(value),
                def.name,
                def.outputs[output as usize]
            )
        }
        Note::EscalationUnavailable { topic: t } => {
            let why = agent.topics[t as usize]
                .escalation_when
                .as_ref()
                .map_or(String::new(), |c| format!(": {} is false", c.describe(agent)));
            format!("route: the escalation of {} is not available{why}", topic(t))
        }
        Note::NoRoute => {
            "route: no outbound route, so the handoff reaches no Omni-Channel flow and no person".to_string()
        }
        Note::NoPath => {
            "route: no escalation path (the topic lacks can_escalate and the default topic is off)".to_string()
        }
        Note::NeedsInput { action, slot } => format!(
            "rule: '{}' needs slot '{}'",
            agent.actions[action as usize].name, agent.slots[slot as usize].name
        ),
        Note::Reprompt { count, of } => format!("no input: reprompt {count} of {of}"),
        Note::NoInputLimit { then } => format!(
            "no input: limit reached, then {}",
            match then {
                NoInputThen::Escalate => "escalate",
                NoInputThen::Hangup => "hang up",
            }
        ),
        Note::Shortcut { digits_escalate: true } => "keypad: shortcut to escalate".to_string(),
        Note::Shortcut { digits_escalate: false } => "keypad: shortcut to hang up".to_string(),
        Note::KeyNotMapped => "keypad: not a shortcut and fills no slot".to_string(),
        Note::Ignored => "ignored: the conversation had already ended".to_string(),
        Note::Withdrawn => "request: the caller withdrew the blocked escalation request".to_string(),
        Note::Called(c) => format!("action: {}", call_line(engine, c, slots)),
        Note::Proc { topic: t, phase, step } => {
            let what = match &agent.topics[t as usize].steps(phase)[step as usize].op {
                Op::Run { action, .. } => format!("run '{}'", agent.actions[*action as usize].name),
                Op::Transition { to } => format!("transition to {}", topic(*to)),
                _ => String::new(),
            };
            format!("procedure: {}: {what}", step_ref(agent, t, phase, step))
        }
        Note::Branch {
            topic: t,
            phase,
            step,
            taken,
        } => {
            let cond = match &agent.topics[t as usize].steps(phase)[step as usize].op {
                Op::Unless { cond, .. } => cond.expression(agent),
                _ => String::new(),
            };
            format!(
                "procedure: {}: if {cond} -> {}",
                step_ref(agent, t, phase, step),
                if taken { "true" } else { "false" }
            )
        }
        Note::Assigned {
            topic: t,
            phase,
            step,
            code,
        } => {
            let var = match &agent.topics[t as usize].steps(phase)[step as usize].op {
                Op::Set { var, .. } => agent.variables[*var as usize].name.as_str(),
                _ => "",
            };
            format!(
                "variable: {} = {} (set by {})",
                one_line(var),
                one_line(engine.value(code).unwrap_or("")),
                step_ref(agent, t, phase, step)
            )
        }
        Note::Skipped { topic: t, phase, step } => format!(
            "procedure: {}: the run did not succeed, the steps under it are skipped",
            step_ref(agent, t, phase, step)
        ),
        Note::TransitionLimit { topic: t } => format!(
            "procedure: more than {} transitions in one turn (a loop): the turn stops in {}",
            crate::engine::MAX_TRANSITIONS,
            topic(t)
        ),
    }
}

/// "before_reasoning of triage, line 12".
fn step_ref(agent: &Agent, t: TopicId, phase: Phase, step: u32) -> String {
    let line = agent.topics[t as usize].steps(phase)[step as usize].src.pos.line;
    format!("{} of {}, line {line}", phase.label(), topic_name(agent, t))
}

fn call_line(engine: &Engine<'_>, c: Call, slots: &[Option<&str>]) -> String {
    let def = &engine.agent.actions[c.action as usize];
    let inputs: Vec<String> = def
        .inputs
        .iter()
        .map(|&s| {
            format!(
                "{}={}",
                engine.agent.slots[s as usize].name,
                slots[s as usize].map_or("?".to_string(), one_line)
            )
        })
        .collect();
    let result = if c.ok {
        let fx = &engine.fixtures.actions[c.action as usize];
        let outs: Vec<String> = def
            .outputs
            .iter()
            .zip(&fx.outputs)
            .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name}={}", one_line(v))))
            .collect();
        if outs.is_empty() {
            "ok".to_string()
        } else {
            format!("ok {}", outs.join(", "))
        }
    } else {
        "FAILED".to_string()
    };
    format!("{}({}) -> {result}", def.name, inputs.join(", "))
}

fn end_line(trace: &Trace<'_>) -> String {
    let last = trace.turns.iter().rev().find(|t| t.ended.is_some());
    match (last, &trace.handoff) {
        (Some(t), Some(h)) if t.ended == Some(End::Handoff) => {
            format!("end: escalated at turn {} ({})", h.turn, h.reason.as_str())
        }
        (Some(t), _) => {
            let n = trace.turns.iter().position(|x| std::ptr::eq(x, t)).map_or(0, |i| i + 1);
            match t.ended {
                Some(End::CallerHangup) => format!("end: caller hung up at turn {n}"),
                _ => format!("end: agent hung up at turn {n}"),
            }
        }
        _ => match trace.turns.len() {
            1 => "end: still open after 1 turn".to_string(),
            n => format!("end: still open after {n} turns"),
        },
    }
}

/// What the agent said on a turn, as one string.
pub fn agent_says(engine: &Engine<'_>, trace: &Trace<'_>, turn: &Turn) -> String {
    let mut out = String::new();
    for s in trace.says(turn) {
        if !out.is_empty() {
            out.push(' ');
        }
        say_text(engine, *s, &mut out);
    }
    out
}

fn say_text(engine: &Engine<'_>, s: Say, out: &mut String) {
    let agent = engine.agent;
    let label = crate::model::agent::humanize;
    match s {
        Say::Ask(slot) => out.push_str(&agent.slots[slot as usize].ask),
        Say::Done(a) => {
            let def = &agent.actions[a as usize];
            let fx = &engine.fixtures.actions[a as usize];
            match &def.say {
                Some(template) => fill_template(template, &def.outputs, &fx.outputs, out),
                None => {
                    let _ = write!(out, "Done: {} completed.", label(&def.name));
                }
            }
        }
        Say::Failed(a) => {
            let _ = write!(
                out,
                "Sorry, I couldn't complete {}.",
                label(&agent.actions[a as usize].name)
            );
        }
        Say::NeedsAction(a) => {
            let _ = write!(
                out,
                "Before I can transfer you, {} has to be completed.",
                label(&agent.actions[a as usize].name)
            );
        }
        Say::Reply(t) => match &agent.topics[t as usize].reply {
            Some(r) => out.push_str(r),
            None => {
                let _ = write!(
                    out,
                    "I can help you with {}.",
                    label(&agent.topics[t as usize].name).to_lowercase()
                );
            }
        },
        Say::NotUnderstood => out.push_str("Sorry, I didn't understand. Could you rephrase that?"),
        Say::KeyNotMapped => out.push_str("Sorry, that key is not an option."),
        Say::Handoff => out.push_str(&agent.escalation.message),
        Say::Reprompt => out.push_str(&agent.no_input.prompt),
        Say::Goodbye => out.push_str(match agent.channel {
            Channel::Voice => "I'll end the call now. Goodbye.",
            Channel::Messaging => "I'll close this chat now. Goodbye.",
        }),
        Say::CannotTransfer => out.push_str("I'm sorry, I can't transfer you to a person."),
    }
}

/// Replaces `{output}` with the action's output value in one pass, so a
/// value that itself holds braces is not substituted again.
fn fill_template(template: &str, names: &[String], values: &[Option<String>], out: &mut String) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if names.iter().any(|n| n == name) => {
                let i = names.iter().position(|n| n == name).unwrap_or(0);
                out.push_str(values[i].as_deref().unwrap_or(""));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// The context a human agent receives: filled slots, then the outputs of
/// succeeded actions, in config order.
pub fn handoff_context<'t>(engine: &'t Engine<'_>, trace: &'t Trace<'_>) -> Vec<(&'t str, &'t str)> {
    let agent = engine.agent;
    let mut ctx: Vec<(&str, &str)> = Vec::new();
    for (slot, v) in agent.slots.iter().zip(&trace.slots) {
        if let Some(v) = v {
            ctx.push((&slot.name, v));
        }
    }
    for (i, def) in agent.actions.iter().enumerate() {
        if trace.succeeded.get(i).copied().unwrap_or(false) {
            for (name, v) in def.outputs.iter().zip(&engine.fixtures.actions[i].outputs) {
                if let Some(v) = v {
                    ctx.push((name, v));
                }
            }
        }
    }
    ctx
}

/// Caller text may hold newlines; a transcript line must not.
/// Control characters are escaped, and so are noncharacters and
/// bidirectional controls (which make text show other than it is), so a
/// transcript is safe on a terminal, in a CI log and in XML.
fn one_line(s: &str) -> String {
    if !s.chars().any(crate::model::name::is_unsafe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.replace("\r\n", "\n").chars() {
        match c {
            '\n' | '\r' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            // As JUnit reports write them (`\u{FFFF}`).
            c if crate::model::name::is_unsafe(c) => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_substitute_once_and_keep_unknown_braces() {
        let names = vec!["case_number".to_string(), "other".to_string()];
        let values = vec![Some("{other}".to_string()), Some("X".to_string())];
        let mut out = String::new();
        fill_template("Case {case_number} {unknown} {", &names, &values, &mut out);
        assert_eq!(out, "Case {other} {unknown} {");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("a\nb\u{1}c"), "a\\nb\\x01c");
    }

    /// A caller line with a right-to-left override showed reversed on the
    /// console (README: caller lines are escaped wherever baton prints them).
    #[test]
    fn bidirectional_controls_and_noncharacters_are_escaped() {
        assert_eq!(
            one_line("a\u{202E}b\u{2066}c\u{200F}\u{FFFE}\u{FDD0}\u{10FFFF}é"),
            "a\\u{202E}b\\u{2066}c\\u{200F}\\u{FFFE}\\u{FDD0}\\u{10FFFF}é"
        );
    }
}
