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
            if let Some(why) = ins.compiled.unbound_reason() {
                out.push(format!(
                    "topic {} instruction {} ({}) binds nothing: {why}",
                    topic.name,
                    i + 1,
                    where_written(agent, &ins.src)
                ));
            }
        }
    }
    for lint in &agent.lints {
        out.push(format!("{} ({})", lint.value, where_written(agent, &lint.src)));
    }
    out
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
