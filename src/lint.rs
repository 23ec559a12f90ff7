//! Warnings about an agent: what its configuration leaves unbound or gets
//! wrong, found from the compiled agent alone. `explain` lists them; `run`,
//! `fuzz` and `verify` print them once per agent and carry them in their
//! reports, and `--deny-warnings` makes them fail the run.

use crate::agent::spec::Src;
use crate::model::Agent;

/// Every warning about `agent`, in a stable order: agent-wide first, then
/// per topic, then per instruction.
pub fn warnings(agent: &Agent) -> Vec<String> {
    let mut out = Vec::new();
    let escalates = agent.escalation.default_topic || agent.topics.iter().any(|t| t.can_escalate);
    if agent.escalation.flow.is_none() && escalates {
        out.push(
            "no outbound route: the agent says it escalates, but nothing reaches an Omni-Channel flow".to_string(),
        );
    }
    for topic in &agent.topics {
        let policy = topic.guards().next().is_some() || topic.escalates_always();
        if !topic.can_escalate && policy {
            out.push(format!(
                "topic {} has an escalation policy but lacks can_escalate: the policy never binds, requests take the default path",
                topic.name
            ));
        } else if !topic.can_escalate && topic.instructions.iter().any(|i| i.compiled.unbound_reason().is_some()) {
            out.push(format!(
                "topic {} speaks of escalation in its instructions but lacks can_escalate: a request there goes to the default Escalation topic, whatever they say",
                topic.name
            ));
        }
        for (i, ins) in topic.instructions.iter().enumerate() {
            match &ins.compiled.reading {
                crate::policy::Reading::Partly { clause, why, .. } => out.push(format!(
                    "topic {} instruction {} ({}) is partly understood: {clause:?} did not bind ({why})",
                    topic.name,
                    i + 1,
                    where_written(agent, &ins.src)
                )),
                crate::policy::Reading::Unbound { why, .. } => out.push(format!(
                    "topic {} instruction {} ({}) binds nothing: {why}",
                    topic.name,
                    i + 1,
                    where_written(agent, &ins.src)
                )),
                _ => {}
            }
        }
    }
    for topic in &agent.topics {
        guard_conflicts(agent, topic, &mut out);
    }
    for lint in &agent.lints {
        out.push(format!("{} ({})", lint.value, where_written(agent, &lint.src)));
    }
    out
}

/// Duplicate guards (the same requirement in two instructions of a topic;
/// when only one of them grants an exception, the exception was given to
/// both, since a deployed agent may follow either) and contradictory ones
/// (one instruction requires what another says is not required: verdicts
/// on that guard assume the other never applies).
fn guard_conflicts(agent: &Agent, topic: &crate::agent::compiled::Topic, out: &mut Vec<String>) {
    use crate::policy::{Req, Rule};
    use crate::transcript::{describe_req, describe_rule};
    let guards: Vec<(usize, &crate::policy::Guard)> = topic
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Rule::Require(g) => Some((i, g)),
            _ => None,
        })
        .collect();
    let mut seen: Vec<(&[Req], u16)> = Vec::new();
    for &(ri, g) in &guards {
        let from = topic.rule_origins[ri];
        match seen.iter().find(|(any, o)| *any == g.any.as_slice() && *o != from) {
            Some(&(_, first)) => out.push(format!(
                "topic {} instructions {first} and {from} both say {}: a duplicate guard{}",
                topic.name,
                describe_rule(agent, &topic.rules[ri]),
                if g.unless.is_empty() {
                    String::new()
                } else {
                    "; the exceptions either grants hold for both".to_string()
                }
            )),
            None => seen.push((&g.any, from)),
        }
    }
    for (ii, ins) in topic.instructions.iter().enumerate() {
        for w in &ins.compiled.waives {
            for &(ri, g) in &guards {
                if g.any.len() == 1 && same_req(&g.any[0], w) {
                    out.push(format!(
                        "topic {} instruction {} requires {} but instruction {} says it is not required: contradictory guards; baton enforces the guard, and its verdicts assume instruction {} never applies",
                        topic.name,
                        topic.rule_origins[ri],
                        describe_req(agent, &g.any[0]),
                        ii + 1,
                        ii + 1
                    ));
                }
            }
        }
    }
}

/// The same slot, or the same action whatever the topic.
pub(crate) fn same_req(a: &crate::policy::Req, b: &crate::policy::Req) -> bool {
    use crate::policy::Req;
    match (a, b) {
        (Req::Slot(x), Req::Slot(y)) => x == y,
        (Req::Action(x, _), Req::Action(y, _)) => x == y,
        _ => false,
    }
}

/// "line 12" in the agent's own file; "path:12" in another of its files
/// (metadata spreads an agent over several); the path alone for a whole file.
pub fn where_written(agent: &Agent, src: &Src) -> String {
    if src.pos.line == 0 {
        src.file.display().to_string()
    } else if *src.file == *agent.path {
        format!("line {}", src.pos.line)
    } else {
        format!("{}:{}", src.file.display(), src.pos.line)
    }
}
