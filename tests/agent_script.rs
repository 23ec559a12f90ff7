//! Agent Script agents in the agent model: the shared samples yield their
//! subagents, escalate bindings, conditions and routes; the fixtures'
//! structural guards hold in the engine.

use std::path::{Path, PathBuf};

use baton::agent::compiled::{Agent, Cond};
use baton::agent::spec::CmpOp;
use baton::model::raw::Channel;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/salesforce-samples/agent-script")
}

fn load(path: &Path) -> Agent {
    baton::agent::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn names(a: &Agent) -> Vec<&str> {
    a.topics.iter().map(|t| t.name.as_str()).collect()
}

#[test]
fn the_routing_fixture_escalates_from_its_start_agent_through_the_messaging_route() {
    let a = load(&samples().join("official-fixtures/edge_conn_routing.agent"));
    assert_eq!(a.name, "EdgeConnRouting");
    assert_eq!(a.channel, Channel::Messaging);
    assert_eq!(
        a.escalation.flow.as_deref(),
        Some("Route_to_Messaging_Agent"),
        "flow:// dropped"
    );
    assert!(
        !a.escalation.default_topic,
        "Agent Script has no built-in Escalation topic"
    );
    assert_eq!(names(&a), ["main"]);
    assert!(a.topics[0].can_escalate, "main binds @utils.escalate");
    assert!(a.topics[0].escalation_when.is_none());
}

#[test]
fn the_all_surfaces_fixture_is_a_voice_agent_with_no_route() {
    let a = load(&samples().join("official-fixtures/edge_conn_all_surfaces.agent"));
    assert_eq!(a.channel, Channel::Voice, "it has a voice connection");
    assert_eq!(a.escalation.flow, None, "no connection names a route");
    assert_eq!(names(&a), ["main", "general_support"]);
    assert!(a.topics.iter().all(|t| t.can_escalate));
    let resolve = a.actions.iter().find(|x| x.name == "resolve_issue").unwrap();
    let set: Vec<&str> = resolve
        .sets
        .iter()
        .map(|(_, v)| a.variables[*v as usize].name.as_str())
        .collect();
    assert_eq!(set, ["resolved"]);
    assert_eq!(
        a.slots.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["issue"],
        "LLM-filled input; channel comes from a variable"
    );
    let warnings = baton::lint::warnings(&a);
    assert!(
        warnings.iter().any(|w| w.starts_with("no outbound route")),
        "{warnings:?}"
    );
    assert!(a.notes.iter().any(|n| n.value == "`language` is not modelled"));
}

#[test]
fn the_service_agent_sample_loads_and_says_what_it_did_not_model() {
    let a = load(&samples().join("aiAuthoringBundles/CustomerServiceAgent"));
    assert_eq!(names(&a), ["agent_router", "triage", "resolution"]);
    assert!(
        a.topics.iter().all(|t| !t.can_escalate),
        "no escalate binding in this sample"
    );
    let resolution = &a.topics[2];
    let gates: Vec<String> = resolution
        .runs
        .iter()
        .map(|(act, when)| format!("{} {}", a.actions[*act as usize].name, when.is_some()))
        .collect();
    assert_eq!(
        gates,
        ["create_case true", "escalate_case true"],
        "both bound with `available when`"
    );
    assert!(
        a.notes
            .iter()
            .any(|n| n.value.contains("after_reasoning of 'triage' is not modelled yet"))
    );
}

#[test]
fn the_invalid_sample_is_a_located_error() {
    let file = samples().join("invalid/EscalationPatterns.agent");
    let err = baton::agent::load(&file).unwrap_err().to_string();
    assert!(err.contains(&format!("{}:10:1:", file.display())), "{err}");
    assert!(err.contains("connection messaging:"), "{err}");
}

#[test]
fn available_when_is_a_structural_guard_on_the_escalation() {
    let a = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agent-script/order_help.agent"));
    let t = a.topics.iter().find(|t| t.name == "case_management").unwrap();
    let gate = t.escalation_when.as_ref().expect("gated");
    assert_eq!(gate.name, "escalate_to_human");
    let Cond::Cmp(cmp) = &gate.expr else { panic!("{gate:?}") };
    assert_eq!(a.variables[cmp.var as usize].name, "case_open");
    assert_eq!((cmp.op, cmp.value.as_deref()), (CmpOp::Eq, Some("True")));
    assert_eq!(a.variables[cmp.var as usize].default.as_deref(), Some("False"));
}
