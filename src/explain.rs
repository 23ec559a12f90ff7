//! `baton explain`: what each topic's instructions compiled to (guards,
//! required slots and actions), and which escalation paths bypass them.

use std::fmt::Write;

use crate::agent::compiled::{Op, Phase, Topic, Value};
use crate::model::Agent;
use crate::model::raw::{Channel, DtmfAction, NoInputThen};
use crate::policy::{Reading, Req, Rule};
use crate::transcript::{describe_rule, describe_when};

/// The explanation of an agent, as text.
pub fn explain(agent: &Agent) -> String {
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
                let bound = if (r.is_guard() || r.escalates()) && !topic.can_escalate {
                    "  [NOT ENFORCED: topic lacks can_escalate]"
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
    let mut paths = 0;
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
            paths += 1;
            let _ = writeln!(
                out,
                "  - default Escalation topic: a request from {} or before any topic{gate}",
                if lacking.is_empty() {
                    "no topic".to_string()
                } else {
                    lacking.join(", ")
                }
            );
        } else {
            paths += 1;
            let _ = writeln!(
                out,
                "  - default Escalation topic: a request before any topic is active{gate}"
            );
        }
    }
    if agent.no_input.then == NoInputThen::Escalate {
        paths += 1;
        let _ = writeln!(
            out,
            "  - silence: after {} reprompt(s), escalates through the default path",
            agent.no_input.reprompts
        );
    }
    for (digits, action) in &agent.dtmf {
        if *action == DtmfAction::Escalate {
            paths += 1;
            let _ = writeln!(out, "  - dtmf {digits:?}: escalates through the default path");
        }
    }
    for t in agent.topics.iter().filter(|t| t.can_escalate) {
        for (ri, r) in t.rules.iter().enumerate() {
            match r {
                Rule::EscalateOnFailure { action } => {
                    paths += 1;
                    let _ = writeln!(
                        out,
                        "  - a failed '{}' in {}: escalates without consulting its guards",
                        agent.actions[*action as usize].name, t.name
                    );
                }
                Rule::EscalateWhen { when } => {
                    paths += 1;
                    let _ = writeln!(
                        out,
                        "  - in {}, when {}: escalates without consulting its guards",
                        t.name,
                        describe_when(agent, when)
                    );
                }
                Rule::Require(g) => {
                    for w in &g.unless {
                        paths += 1;
                        let _ = writeln!(
                            out,
                            "  - in {}, when {}: the exception of guard {} #{} lets a request through",
                            t.name,
                            describe_when(agent, w),
                            t.name,
                            t.rule_origins[ri]
                        );
                    }
                }
                _ => {}
            }
        }
    }
    for t in agent.topics.iter().filter(|t| t.can_escalate) {
        for (i, ins) in t.instructions.iter().enumerate() {
            if let Some(a) = ins.compiled.assumption() {
                paths += 1;
                let _ = writeln!(
                    out,
                    "  - in {}, instruction {} may hand off in cases baton does not model (verdicts assume {a})",
                    t.name,
                    i + 1
                );
            }
        }
    }
    // A procedure's transition out of a topic with guards into one that
    // escalates: the request is handled there, under the target's rules.
    for t in agent.topics.iter().filter(|t| t.guards().next().is_some()) {
        for phase in [Phase::Before, Phase::Instructions, Phase::After] {
            for step in t.steps(phase) {
                if let Op::Transition { to } = step.op
                    && agent.topics[to as usize].can_escalate
                {
                    paths += 1;
                    let _ = writeln!(
                        out,
                        "  - `transition to {}` in the {} of {} (line {}): {} escalates under its own conditions, not {}'s guards",
                        agent.topics[to as usize].name,
                        phase.label(),
                        t.name,
                        step.src.pos.line,
                        agent.topics[to as usize].name,
                        t.name
                    );
                }
            }
        }
    }
    if paths == 0 {
        let _ = writeln!(out, "  (none)");
    } else if !guarded.is_empty() {
        let _ = writeln!(out, "  these skip the guards of: {}", guarded.join(", "));
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
