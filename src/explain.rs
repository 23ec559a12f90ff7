//! `baton explain`: what each topic's instructions compiled to (guards,
//! required slots and actions), and which escalation paths bypass them.

pub mod reach;

use std::fmt::Write;
use std::sync::Arc;

use crate::agent::compiled::{Op, Phase, Topic, Value};
use crate::model::Agent;
use crate::model::property::Route;
use crate::model::raw::{Channel, DtmfAction, NoInputThen};
use crate::policy::{Reading, Req, Rule, TopicId};
use crate::transcript::{describe_rule, describe_when};
use reach::Reach;

/// The explanation of an agent, as text; its bypass paths searched as
/// `opts` bounds (see [`reach`]).
pub fn explain(agent: &Arc<Agent>, opts: &reach::Options) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "agent: {} ({})", agent.name, agent.path.display());
    let _ = writeln!(
        out,
        "channel: {}",
        if agent.channel == Channel::Voice {
            "voice"
        } else {
            "messaging"
        }
    );
    let _ = writeln!(
        out,
        "escalation: flow {}, default Escalation topic {}",
        agent.flow(),
        if agent.escalation.default_topic { "on" } else { "off" }
    );
    if let Some(surface) = &agent.escalation.surface {
        let _ = writeln!(out, "  route from surface: {surface}");
    }
    if let Some(c) = &agent.escalation.available {
        let _ = writeln!(out, "  Escalation topic available only when: {}", c.describe(agent));
    }
    if !agent.variables.is_empty() {
        let _ = writeln!(out, "variables:");
        for (i, v) in agent.variables.iter().enumerate() {
            let setters: Vec<String> = agent
                .actions
                .iter()
                .flat_map(|a| {
                    a.sets
                        .iter()
                        .filter(move |s| s.1 as usize == i)
                        .map(move |s| format!("{}.{}", a.name, a.outputs[s.0 as usize]))
                })
                .collect();
            let mut setters = setters;
            for t in &agent.topics {
                for phase in [Phase::Before, Phase::Instructions, Phase::After] {
                    let sets = t
                        .steps(phase)
                        .iter()
                        .any(|s| matches!(s.op, Op::Set { var, .. } if var as usize == i));
                    if sets {
                        setters.push(format!("the {} of {}", phase.label(), t.name));
                    }
                }
            }
            let set = if setters.is_empty() {
                "set by no action".to_string()
            } else {
                format!("set by {}", setters.join(", "))
            };
            let _ = writeln!(out, "  {} ({set})", v.name);
        }
    }
    for topic in &agent.topics {
        out.push('\n');
        let mut flags = Vec::new();
        if topic.can_escalate {
            flags.push("can_escalate");
        }
        if topic.model.catch_all {
            flags.push("catch-all");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        };
        let _ = writeln!(out, "topic {}{flags}", topic.name);
        if let Some(c) = &topic.available {
            let _ = writeln!(out, "  available only when: {} (by structure)", c.describe(agent));
        }
        if let Some(c) = &topic.escalation_when {
            let _ = writeln!(
                out,
                "  escalation available only when: {} (by structure)",
                c.describe(agent)
            );
        }
        for (action, when) in &topic.runs {
            let name = &agent.actions[*action as usize].name;
            match when {
                Some(c) => {
                    let _ = writeln!(out, "  runs '{name}' as a tool when {}", c.describe(agent));
                }
                None => {
                    let _ = writeln!(out, "  runs '{name}' as a tool");
                }
            }
        }
        if !topic.actions.is_empty() {
            let names: Vec<&str> = topic
                .actions
                .iter()
                .map(|&a| agent.actions[a as usize].name.as_str())
                .collect();
            let _ = writeln!(out, "  actions: {}", names.join(", "));
        }
        for phase in [Phase::Before, Phase::Instructions] {
            procedure(agent, topic, phase, &mut out);
        }
        for (i, ins) in topic.instructions.iter().enumerate() {
            let at = crate::lint::where_written(agent, &ins.src);
            let _ = writeln!(out, "  {}. {:?} ({at})", i + 1, ins.text);
            if let Some(cond) = &ins.only_if {
                let _ = writeln!(
                    out,
                    "     only if {cond} (a procedure's `if`; baton applies what it binds always)"
                );
            }
            let c = &ins.compiled;
            if !matches!(c.reading, Reading::Text) {
                let _ = writeln!(out, "     reading: {}", c.label());
            }
            for r in c.rules() {
                let mut line = describe_rule(agent, r);
                if let Rule::RunAction { action, .. } = r {
                    let inputs: Vec<&str> = agent.actions[*action as usize]
                        .inputs
                        .iter()
                        .map(|&s| agent.slots[s as usize].name.as_str())
                        .collect();
                    if !inputs.is_empty() {
                        let _ = write!(line, " (needs {})", inputs.join(", "));
                    }
                }
                // A guard read from a sentence binds only an LLM that obeys
                // it: `verify` shows what it holds back (assurance levels).
                let bound = if (r.is_guard() || r.escalates()) && !topic.can_escalate {
                    "  [NOT ENFORCED: topic lacks can_escalate]"
                } else if r.is_guard() || matches!(r, Rule::Precondition { .. }) {
                    " (by instruction)"
                } else {
                    ""
                };
                let _ = writeln!(out, "     -> {line}{bound}");
                if let Rule::Require(g) = r {
                    for w in &g.unless {
                        let _ = writeln!(
                            out,
                            "        BYPASS by exception: when {}, the guard lets a request through",
                            describe_when(agent, w)
                        );
                    }
                }
            }
            match &c.reading {
                Reading::Partly { clause, why, .. } => {
                    let _ = writeln!(out, "     -> did not bind {clause:?}: {why}");
                }
                Reading::Unbound { why, .. } => {
                    let _ = writeln!(out, "     -> binds nothing: {why}");
                }
                Reading::Text => {
                    let _ = writeln!(out, "     -> not compiled (kept as guidance text)");
                }
                Reading::Understood | Reading::Excepted => {}
            }
            if let Some(a) = c.assumption() {
                let _ = writeln!(out, "     -> verdicts on this topic's guards assume {a}");
            }
            for n in &c.notes {
                if !n.starts_with("clause: ") {
                    let _ = writeln!(out, "     note: {n}");
                }
            }
        }
        procedure(agent, topic, Phase::After, &mut out);
        let guards: Vec<&Rule> = topic.guards().collect();
        let summary = if topic.can_escalate && topic.escalates_always() {
            "escalates every request it handles (smart routing)".to_string()
        } else if topic.can_escalate && guards.is_empty() && topic.escalation_when.is_some() {
            "handled by this topic, only while its condition holds".to_string()
        } else if topic.can_escalate && guards.is_empty() {
            "handled by this topic, no conditions".to_string()
        } else if topic.can_escalate {
            let mut req = Vec::new();
            for g in &guards {
                if let Rule::Require(g) = g {
                    let names: Vec<String> = g
                        .any
                        .iter()
                        .map(|r| match *r {
                            Req::Slot(s) => format!("slot {}", agent.slots[s as usize].name),
                            Req::Action(a, _) => format!("action {}", agent.actions[a as usize].name),
                        })
                        .collect();
                    let mut one = names.join(" or ");
                    if !g.unless.is_empty() {
                        one.push_str(" (with exceptions)");
                    }
                    req.push(one);
                }
            }
            format!("handled by this topic; requires {}", req.join(", "))
        } else if agent.escalation.default_topic {
            "goes to the default Escalation topic at once (no can_escalate)".to_string()
        } else {
            "not possible (no can_escalate, default topic off)".to_string()
        };
        let _ = writeln!(out, "  escalation: {summary}");
    }

    let guarded: Vec<&str> = agent
        .topics
        .iter()
        .filter(|t| t.can_escalate && t.guards().next().is_some())
        .map(|t| t.name.as_str())
        .collect();
    out.push('\n');
    let _ = writeln!(out, "escalation paths that bypass topic guards:");
    let paths = bypass_paths(agent);
    if paths.is_empty() {
        let _ = writeln!(out, "  (none)");
    } else {
        let keyed: Vec<(Route, Option<&str>)> = paths.iter().map(|p| (p.route, p.keys.as_deref())).collect();
        let searched = reach::search(agent, &keyed, opts);
        for (p, r) in paths.iter().zip(&searched.reach) {
            let _ = writeln!(out, "  - {}", p.text);
            let _ = writeln!(out, "      {}", reach_line(agent, p.route, r, &searched));
        }
        if !guarded.is_empty() {
            let _ = writeln!(out, "  these skip the guards of: {}", guarded.join(", "));
        }
        let _ = writeln!(out, "  {}", search_line(&searched));
        // A path not shown reachable may be one the caller model cannot take.
        if searched.not_searched.is_none() && searched.reach.iter().any(|r| !matches!(r, Reach::Reachable { .. })) {
            for gap in &searched.caller_gaps {
                let _ = writeln!(out, "  the caller model is limited: {gap}");
            }
        }
    }
    let implied = crate::model::property::implied(agent);
    if !implied.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "implied properties (checked on every path by run, fuzz and verify):"
        );
        for p in &implied {
            let when = match p.kind {
                crate::model::property::PropertyKind::ActionRequires { .. } => {
                    "at every run of the action in its topic"
                }
                _ => "at every Escalation while its topic is in effect",
            };
            let assuming = if p.assumptions.is_empty() {
                String::new()
            } else {
                format!("; a HOLDS verdict assumes {}", p.assumptions.join(", and "))
            };
            let _ = writeln!(out, "  - {}: {when}{assuming}", p.name);
        }
    }
    let warnings = crate::lint::warnings(agent);
    if !agent.notes.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "not modelled, and defaults baton chose:");
        for n in &agent.notes {
            let _ = writeln!(out, "  - {} ({})", n.value, crate::lint::where_written(agent, &n.src));
        }
    }
    if !warnings.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "warnings:");
        for w in warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

/// A path `explain` lists: its line, and the route the search looks for.
struct Listed {
    text: String,
    route: Route,
    /// The keys, for a keypad shortcut.
    keys: Option<String>,
}

/// The escalation paths that bypass topic guards, as configured.
fn bypass_paths(agent: &Agent) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut add = |text: String, route: Route| {
        out.push(Listed {
            text,
            route,
            keys: None,
        })
    };
    if agent.escalation.default_topic {
        let lacking: Vec<&str> = agent
            .topics
            .iter()
            .filter(|t| !t.can_escalate)
            .map(|t| t.name.as_str())
            .collect();
        let gate = agent
            .escalation
            .available
            .as_ref()
            .map_or(String::new(), |c| format!(", only while {}", c.describe(agent)));
        if !lacking.is_empty() || agent.topics.is_empty() {
            add(
                format!(
                    "default Escalation topic: a request from {} or before any topic{gate}",
                    if lacking.is_empty() {
                        "no topic".to_string()
                    } else {
                        lacking.join(", ")
                    }
                ),
                Route::DefaultTopic,
            );
        } else {
            add(
                format!("default Escalation topic: a request before any topic is active{gate}"),
                Route::DefaultTopic,
            );
        }
    }
    if agent.no_input.then == NoInputThen::Escalate {
        add(
            format!(
                "silence: after {} reprompt(s), escalates through the default path",
                agent.no_input.reprompts
            ),
            Route::Silence,
        );
    }
    for (ti, t) in agent.topics.iter().enumerate().filter(|(_, t)| t.can_escalate) {
        let topic = ti as TopicId;
        for (ri, r) in t.rules.iter().enumerate() {
            let rule = ri as u16;
            match r {
                Rule::EscalateOnFailure { action } => add(
                    format!(
                        "a failed '{}' in {}: escalates without consulting its guards",
                        agent.actions[*action as usize].name, t.name
                    ),
                    Route::OnFailure { topic, action: *action },
                ),
                Rule::EscalateWhen { when } => add(
                    format!(
                        "in {}, when {}: escalates without consulting its guards",
                        t.name,
                        describe_when(agent, when)
                    ),
                    Route::When { topic, rule },
                ),
                Rule::Require(g) => {
                    for (wi, w) in g.unless.iter().enumerate() {
                        add(
                            format!(
                                "in {}, when {}: the exception of guard {} #{} lets a request through",
                                t.name,
                                describe_when(agent, w),
                                t.name,
                                t.rule_origins[ri]
                            ),
                            Route::Excepted {
                                topic,
                                rule,
                                when: wi as u16,
                            },
                        );
                    }
                }
                _ => {}
            }
        }
    }
    for (ti, t) in agent.topics.iter().enumerate().filter(|(_, t)| t.can_escalate) {
        for (i, ins) in t.instructions.iter().enumerate() {
            if let Some(a) = ins.compiled.assumption() {
                add(
                    format!(
                        "in {}, instruction {} may hand off in cases baton does not model (verdicts assume {a})",
                        t.name,
                        i + 1
                    ),
                    Route::Enters { topic: ti as TopicId },
                );
            }
        }
    }
    // A procedure's transition out of a topic with guards into one that
    // escalates: the request is handled there, under the target's rules.
    for (ti, t) in agent
        .topics
        .iter()
        .enumerate()
        .filter(|(_, t)| t.guards().next().is_some())
    {
        for phase in [Phase::Before, Phase::Instructions, Phase::After] {
            for (si, step) in t.steps(phase).iter().enumerate() {
                if let Op::Transition { to } = step.op
                    && agent.topics[to as usize].can_escalate
                {
                    add(
                        format!(
                            "`transition to {}` in the {} of {} (line {}): {} escalates under its own conditions, not {}'s guards",
                            agent.topics[to as usize].name,
                            phase.label(),
                            t.name,
                            step.src.pos.line,
                            agent.topics[to as usize].name,
                            t.name
                        ),
                        Route::Transition {
                            topic: ti as TopicId,
                            phase,
                            step: si as u32,
                        },
                    );
                }
            }
        }
    }
    // Keys after the default topic and silence, as before.
    let at = out
        .iter()
        .position(|p| !matches!(p.route, Route::DefaultTopic | Route::Silence))
        .unwrap_or(out.len());
    let keys = agent
        .dtmf
        .iter()
        .filter(|(_, action)| *action == DtmfAction::Escalate)
        .map(|(digits, _)| Listed {
            text: format!("dtmf {digits:?}: escalates through the default path"),
            route: Route::Keypad,
            keys: Some(digits.to_string()),
        });
    out.splice(at..at, keys);
    out
}

/// What the search found of one path, in words.
fn reach_line(agent: &Agent, route: Route, r: &Reach, s: &reach::Searched) -> String {
    let turns = |n: usize| {
        if n == 1 {
            "1 turn".to_string()
        } else {
            format!("{n} turns")
        }
    };
    // What is searched for, when it is only the way in: whether the path
    // then hands off is for the topic's own rules (or is not modelled).
    let way_in = match route {
        Route::Enters { topic } => Some(("enters topic", agent.topics[topic as usize].name.as_str())),
        Route::Transition { .. } => Some(("runs the transition", "")),
        _ => None,
    };
    match (r, way_in) {
        (Reach::Reachable { turns: n, script }, None) => format!("reachable in {}: {script}", turns(*n)),
        (Reach::Reachable { turns: n, script }, Some((what, name))) => {
            format!(
                "reachable: a caller path {what}{} in {}: {script}",
                spaced(name),
                turns(*n)
            )
        }
        (Reach::Unreachable, None) => "unreachable: no caller path takes it (the search closed)".to_string(),
        (Reach::Unreachable, Some((what, name))) => {
            format!("unreachable: no caller path {what}{} (the search closed)", spaced(name))
        }
        (Reach::NotShown, _) if s.not_searched.is_some() => "not searched".to_string(),
        (Reach::NotShown, _) if s.stats.depth == 0 => format!(
            "not shown reachable: the search stopped at its state limit ({}) in its first turn",
            s.opts.max_states
        ),
        (Reach::NotShown, _) => {
            let bound = if s.stats.limited {
                format!("state limit ({})", s.opts.max_states)
            } else {
                "depth bound".to_string()
            };
            format!(
                "not shown reachable within {} (the search stopped at its {bound})",
                turns(s.stats.depth as usize)
            )
        }
    }
}

/// " NAME", or nothing.
fn spaced(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" {name}")
    }
}

/// How far the search went, in words.
fn search_line(s: &reach::Searched) -> String {
    let st = &s.stats;
    if let Some(why) = &s.not_searched {
        return format!("reachability: not searched: {why}; nothing is known of these paths");
    }
    let limit = match s.lowered_from {
        Some(asked) => format!(
            "{}, lowered from {asked} for a caller model this large",
            s.opts.max_states
        ),
        None => s.opts.max_states.to_string(),
    };
    let turns = |n: u32| {
        if n == 1 {
            "1 turn".to_string()
        } else {
            format!("{n} turns")
        }
    };
    if s.reach.iter().all(|r| matches!(r, Reach::Reachable { .. })) {
        // The search stops once every path is found.
        format!(
            "reachability: every path found by verify's search over its caller model ({} states)",
            st.states
        )
    } else if st.closed {
        format!(
            "reachability: every caller path over verify's caller model, {} states: the search closed after {}",
            st.states,
            turns(st.depth)
        )
    } else if st.limited && st.depth == 0 {
        format!("reachability: the search stopped at its state limit ({limit}, --max-states) in its first turn")
    } else if st.limited {
        format!(
            "reachability: every caller path up to {} over verify's caller model; the search stopped at its state limit ({limit}, --max-states)",
            turns(st.depth)
        )
    } else {
        format!(
            "reachability: every caller path up to {} over verify's caller model, {} states; longer ones not searched (--depth)",
            turns(st.depth),
            st.states
        )
    }
}

/// A topic's procedure, one step a line, indented as written.
fn procedure(agent: &Agent, topic: &Topic, phase: Phase, out: &mut String) {
    let steps = topic.steps(phase);
    if steps.is_empty() {
        return;
    }
    let when = match phase {
        Phase::Before => "before the instructions",
        Phase::Instructions => "as the instructions are read",
        Phase::After => "after the reasoning step",
    };
    let _ = writeln!(
        out,
        "  {} (runs exactly, {when}, on every turn the topic handles):",
        phase.label()
    );
    // Where each open block (an `if`, the steps under a `run`) ends.
    let mut ends: Vec<usize> = Vec::new();
    for (pc, step) in steps.iter().enumerate() {
        while ends.last().is_some_and(|&e| e <= pc) {
            ends.pop();
        }
        let line = step.src.pos.line;
        let pad = "  ".repeat(ends.len());
        let text = match &step.op {
            Op::Run { action, skip } => {
                ends.push(*skip as usize);
                let def = &agent.actions[*action as usize];
                let inputs: Vec<&str> = def
                    .inputs
                    .iter()
                    .map(|&s| agent.slots[s as usize].name.as_str())
                    .collect();
                if inputs.is_empty() {
                    format!("run '{}'", def.name)
                } else {
                    format!("run '{}' (needs {})", def.name, inputs.join(", "))
                }
            }
            Op::Set { var, value } => {
                let value = match *value {
                    Value::Code(c) if c >> 16 == 0 => {
                        format!("{:?}", agent.constants.get(c as usize - 1).map_or("", String::as_str))
                    }
                    Value::Code(c) => {
                        let (a, o) = ((c >> 16) as usize - 1, (c & 0xffff) as usize);
                        let def = &agent.actions[a];
                        format!("{}.{}", def.name, def.outputs[o])
                    }
                    Value::Var { var: w, .. } => format!("the value of {}", agent.variables[w as usize].name),
                };
                format!("set {} = {value}", agent.variables[*var as usize].name)
            }
            Op::Unless { cond, to } => {
                ends.push(*to as usize);
                format!("if {}:", cond.expression(agent))
            }
            Op::Jump { to } => {
                ends.pop();
                ends.push(*to as usize);
                let pad = "  ".repeat(ends.len().saturating_sub(1));
                let _ = writeln!(out, "    {pad}else: (line {line})");
                continue;
            }
            Op::Transition { to } => format!("transition to {}", agent.topics[*to as usize].name),
        };
        let _ = writeln!(out, "    {pad}{text} (line {line})");
    }
}
