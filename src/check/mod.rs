//! Expectations against traces. A check either passes quietly (the fast
//! path, no strings built) or, when asked for detail, lays out every expected
//! value beside the actual one so that reporters can show a diff and a list
//! of the failed expectations by name.

pub mod property;

use std::fmt::Write;

use crate::engine::{Engine, TopicPick, Trace};
use crate::model::agent::{BUILTIN_ESCALATION, NO_TOPIC};
use crate::model::suite::{ActionExpect, HandoffExpect};
use crate::model::{Check, Conversation};
use crate::transcript::{agent_says, event_line, handoff_context, handoff_topic, topic_name};

/// One expectation that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// 1-based turn.
    pub turn: usize,
    pub key: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "turn {}: {}: expected {}, got {}",
            self.turn, self.key, self.expected, self.actual
        )
    }
}

/// The detailed outcome of checking one conversation.
#[derive(Clone, Debug, Default)]
pub struct Detail {
    pub mismatches: Vec<Mismatch>,
    /// Expected values, one per line, grouped by turn.
    pub expected: String,
    /// The actual values in the same layout; equal lines where checks pass.
    pub actual: String,
}

/// Whether every expectation holds (no strings are built).
pub fn passes(engine: &Engine<'_>, conv: &Conversation, trace: &Trace<'_>) -> bool {
    let mut ok = true;
    walk(engine, conv, trace, &mut |_, _, pass, _, _| {
        ok &= pass;
        ok
    });
    ok
}

/// Every expectation with its actual value.
pub fn detail(engine: &Engine<'_>, conv: &Conversation, trace: &Trace<'_>) -> Detail {
    let mut d = Detail::default();
    let mut last_turn = 0;
    walk(engine, conv, trace, &mut |turn, key, pass, expected, actual| {
        if turn != last_turn {
            let header = format!("[{turn}] {}\n", event_line(&conv.events[turn - 1]));
            d.expected.push_str(&header);
            d.actual.push_str(&header);
            last_turn = turn;
        }
        // Values are what a suite or an agent wrote (a slot value, a
        // message): escaped, they cannot break a line or drive a terminal.
        let expected = crate::diag::printable(&expected()).into_owned();
        let actual = if pass {
            expected.clone()
        } else {
            crate::diag::printable(&actual()).into_owned()
        };
        // The turn number on every line keeps the line diff from pairing
        // lines of different turns.
        let _ = writeln!(d.expected, "[{turn}]   {key}: {expected}");
        let _ = writeln!(d.actual, "[{turn}]   {key}: {actual}");
        if !pass {
            d.mismatches.push(Mismatch {
                turn,
                key: key.to_string(),
                expected,
                actual,
            });
        }
        true
    });
    d
}

type Text<'a> = &'a dyn Fn() -> String;

/// `(turn, key, passes, expected, actual) -> go on`.
type Visit<'a> = dyn FnMut(usize, &dyn std::fmt::Display, bool, Text<'_>, Text<'_>) -> bool + 'a;

/// An expectation's name, e.g. `slots.email`, formatted only when reported.
struct Key<'a>(&'a str, &'a str);

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

/// Calls `f(turn, key, passes, expected, actual)` for each expectation, in
/// order, until `f` returns false. The texts are built only on demand.
fn walk(engine: &Engine<'_>, conv: &Conversation, trace: &Trace<'_>, f: &mut Visit<'_>) {
    let agent = engine.agent;
    for (i, (checks, turn)) in conv.expects.iter().zip(&trace.turns).enumerate() {
        let n = i + 1;
        for check in checks.iter() {
            let go_on = match check {
                Check::Topic(want) => {
                    let got = match turn.topic {
                        TopicPick::Classified { topic, .. } | TopicPick::Kept { topic, .. } => topic_name(agent, topic),
                        TopicPick::Builtin => BUILTIN_ESCALATION,
                        TopicPick::None | TopicPick::NotUnderstood { .. } => NO_TOPIC,
                    };
                    f(n, &"topic", got == &**want, &|| want.to_string(), &|| got.to_string())
                }
                Check::Actions(want) | Check::ActionsInclude(want) => {
                    let exact = matches!(check, Check::Actions(_));
                    let pass = if exact {
                        trace
                            .calls(turn)
                            .map(|c| (c.action, c.ok))
                            .eq(want.iter().map(|w| (w.action, w.ok)))
                    } else {
                        includes(trace.calls(turn).map(|c| (c.action, c.ok)), want)
                    };
                    let list = |items: &mut dyn Iterator<Item = (u16, bool)>| {
                        let v: Vec<String> = items
                            .map(|(a, ok)| {
                                let name = &agent.actions[a as usize].name;
                                if ok { name.clone() } else { format!("{name} (failed)") }
                            })
                            .collect();
                        format!("[{}]", v.join(", "))
                    };
                    f(
                        n,
                        &if exact { "actions" } else { "actions_include" },
                        pass,
                        &|| list(&mut want.iter().map(|w| (w.action, w.ok))),
                        &|| list(&mut trace.calls(turn).map(|c| (c.action, c.ok))),
                    )
                }
                Check::Says(want) => {
                    let said = agent_says(engine, trace, turn);
                    f(
                        n,
                        &"says",
                        want.matches(&said),
                        &|| format!("{:?}", want.source()),
                        &|| format!("{said:?}"),
                    )
                }
                Check::Escalated(want) => f(n, &"escalated", turn.handoff == *want, &|| want.to_string(), &|| {
                    turn.handoff.to_string()
                }),
                Check::Ended(want) => {
                    let got = trace.turns[..=i].iter().any(|t| t.ended.is_some());
                    f(n, &"ended", got == *want, &|| want.to_string(), &|| got.to_string())
                }
                Check::Slot(slot, value) => {
                    let got = trace.slot_after(i, *slot);
                    let key = Key("slots.", &agent.slots[*slot as usize].name);
                    f(n, &key, got == Some(&**value), &|| value.to_string(), &|| {
                        got.map_or("(empty)".to_string(), str::to_string)
                    })
                }
                Check::Handoff(want) => handoff(engine, trace, n, want, f),
            };
            if !go_on {
                return;
            }
        }
    }
}

/// Whether the runs `got` include every expected run, each matched by a
/// run of its own (so `[A, A]` needs two runs of A), in any order.
fn includes(got: impl Iterator<Item = (u16, bool)>, want: &[ActionExpect]) -> bool {
    let mut left: Vec<(u16, bool)> = want.iter().map(|w| (w.action, w.ok)).collect();
    for run in got {
        if let Some(i) = left.iter().position(|w| *w == run) {
            left.swap_remove(i);
        }
    }
    left.is_empty()
}

fn handoff(engine: &Engine<'_>, trace: &Trace<'_>, n: usize, want: &HandoffExpect, f: &mut Visit<'_>) -> bool {
    let agent = engine.agent;
    let Some(h) = trace.handoff.filter(|h| h.turn as usize <= n) else {
        return f(n, &"handoff", false, &|| "a handoff".to_string(), &|| {
            "none".to_string()
        });
    };
    // Compared as borrowed text; strings are made only for a report.
    let (reason, turn, topic) = (h.reason.as_str(), h.turn.to_string(), handoff_topic(agent, &h));
    let want_reason = want.reason.map(|r| r.as_str());
    let want_turn = want.turn.map(|t| t.to_string());
    let fields: [(&str, Option<&str>, &str); 5] = [
        ("flow", want.flow.as_deref(), agent.flow()),
        ("message", want.message.as_deref(), &agent.escalation.message),
        ("reason", want_reason, reason),
        ("topic", want.topic.as_deref(), &topic),
        ("turn", want_turn.as_deref(), &turn),
    ];
    for (name, want, got) in fields {
        if let Some(want) = want
            && !f(n, &Key("handoff.", name), want == got, &|| want.to_string(), &|| {
                got.to_string()
            })
        {
            return false;
        }
    }
    if want.context.is_empty() {
        return true;
    }
    let ctx = handoff_context(engine, trace);
    for (k, v) in &want.context {
        let got = ctx.iter().find(|(name, _)| name == k).map(|(_, v)| *v);
        if !f(
            n,
            &Key("handoff.context.", k),
            got == Some(v.as_str()),
            &|| v.clone(),
            &|| got.map_or("(absent)".to_string(), str::to_string),
        ) {
            return false;
        }
    }
    true
}
