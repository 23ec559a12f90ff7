//! Agent Script agents in the agent model: the shared samples yield their
//! subagents, escalate bindings, conditions, procedures and routes; the
//! fixtures' structural guards and procedures hold in the engine; `#NAME`
//! picks an Agent Script bundle in a project.

use std::path::{Path, PathBuf};

use baton::agent::compiled::{Agent, Cond, Op, Phase, Value};
use baton::agent::spec::CmpOp;
use baton::engine::{Engine, Nominal};
use baton::model::Event;
use baton::model::raw::Channel;

mod common;

/// The shared samples: `BATON_SAMPLES` (the salesforce-samples folder),
/// else beside the repository.
fn samples() -> PathBuf {
    let base = std::env::var_os("BATON_SAMPLES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/salesforce-samples"),
        PathBuf::from,
    );
    base.join("agent-script")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/agent-script")
        .join(name)
}

/// The transcript of `lines` said to `agent`, every action as its fixture says.
fn transcript(agent: &Agent, lines: &[&str]) -> String {
    let events: Vec<Event> = lines.iter().map(|l| Event::Caller((*l).into())).collect();
    let engine = Engine::new(agent, &agent.fixtures);
    let trace = engine.run(&events, &mut Nominal);
    baton::transcript::render(&engine, "t", &events, &trace)
}

fn baton(args: &[&str]) -> (i32, String, String) {
    common::baton_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Every `.agent` file under `dir`.
fn agent_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            agent_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "agent") {
            out.push(p);
        }
    }
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
fn the_service_agent_sample_loads_with_its_procedures() {
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
    // Only triage's after_reasoning leads to resolution: the classifier
    // never picks it.
    let gate = resolution
        .available
        .as_ref()
        .expect("resolution is reached by transition only");
    assert!(matches!(gate.expr, Cond::Const(false)), "{gate:?}");
    assert!(a.topics[1].available.is_none(), "the router's binding leads to triage");
    // triage's instructions: three guarded runs, each with the sets under it.
    let triage = &a.topics[1];
    let runs: Vec<&str> = triage
        .steps(Phase::Instructions)
        .iter()
        .filter_map(|s| match s.op {
            Op::Run { action, .. } => Some(a.actions[action as usize].name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(runs, ["fetch_customer", "classify_issue", "search_knowledge_base"]);
    let ifs = triage
        .steps(Phase::Instructions)
        .iter()
        .filter(|s| matches!(s.op, Op::Unless { .. }))
        .count();
    assert_eq!(ifs, 7, "three around runs, four around text");
    let sets: Vec<(String, u32)> = triage
        .steps(Phase::Instructions)
        .iter()
        .filter_map(|s| match s.op {
            Op::Set { var, value } => Some((
                a.variables[var as usize].name.clone(),
                match value {
                    Value::Code(c) => c,
                    Value::Var { .. } => u32::MAX,
                },
            )),
            _ => None,
        })
        .map(|(n, c)| (n, c >> 16))
        .collect();
    let set_names: Vec<&str> = sets.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        set_names,
        [
            "customer_name",
            "customer_tier",
            "issue_type",
            "issue_priority",
            "kb_article_content",
            "kb_search_complete"
        ],
        "the `!=` expression is not modelled"
    );
    assert_eq!(sets[5].1, 0, "kb_search_complete = True is a constant");
    let last = triage.steps(Phase::After);
    assert!(matches!(last[0].op, Op::Unless { .. }));
    assert!(
        matches!(last[1].op, Op::Transition { to } if a.topics[to as usize].name == "resolution"),
        "{last:?}"
    );
    assert_eq!(last[1].src.pos.line, 132);
    assert_eq!(
        triage.instructions[0].only_if.as_deref(),
        Some("@variables.customer_name"),
        "text under an if keeps its condition"
    );
    let notes: Vec<&str> = a.notes.iter().map(|n| n.value.as_str()).collect();
    assert!(
        notes.iter().any(
            |n| n.starts_with("`set @variables.kb_article_found = @outputs.top_article != \"\"`")
                && n.contains("is not modelled")
        ),
        "{notes:?}"
    );
    assert!(notes.contains(&"binding 'collect_info' is not modelled"), "{notes:?}");
    assert!(!notes.iter().any(|n| n.contains("not modelled yet")), "{notes:?}");
}

#[test]
fn every_shared_sample_loads_but_the_invalid_one() {
    let mut files = Vec::new();
    agent_files(&samples(), &mut files);
    assert_eq!(files.len(), 4, "{files:?}");
    for f in files {
        let loaded = baton::agent::load(&f);
        if f.parent().is_some_and(|p| p.ends_with("invalid")) {
            assert!(loaded.is_err(), "{}", f.display());
        } else {
            let a = loaded.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(!a.topics.is_empty(), "{}", f.display());
        }
    }
}

#[test]
fn before_reasoning_runs_the_action_sets_the_variables_and_takes_the_branch() {
    let a = load(&fixture("email_first.agent"));
    let t = transcript(
        &a,
        &[
            "I have a question about my account password",
            "get me a human",
            "it's ann@fabrikam.com",
            "get me a human",
        ],
    );
    let turns: Vec<&str> = t.split("\n\n[").collect();
    assert_eq!(turns.len(), 5, "{t}");
    for expected in [
        "procedure: before_reasoning of account_help, line 49: if email_on_file == False -> true",
        "procedure: before_reasoning of account_help, line 50: run 'record_email'",
        "rule: 'record_email' needs slot 'email'",
        "procedure: before_reasoning of account_help, line 50: the run did not succeed, the steps under it are skipped",
        "procedure: instructions of account_help, line 56: if email_on_file == False -> true",
        "agent: Could you give me your email?",
    ] {
        assert!(turns[1].contains(expected), "turn 1 lacks {expected:?}:\n{}", turns[1]);
    }
    assert!(
        turns[2].contains("route: the escalation of account_help is not available"),
        "{}",
        turns[2]
    );
    for expected in [
        "action: record_email(email=ann@fabrikam.com) -> ok recorded=True",
        "variable: email_on_file = True (set by before_reasoning of account_help, line 52)",
        "variable: stage = email recorded (set by before_reasoning of account_help, line 53)",
        "procedure: instructions of account_help, line 56: if email_on_file == False -> false",
    ] {
        assert!(turns[3].contains(expected), "turn 3 lacks {expected:?}:\n{}", turns[3]);
    }
    assert!(
        turns[4].contains("procedure: before_reasoning of account_help, line 49: if email_on_file == False -> false"),
        "{}",
        turns[4]
    );
    assert!(
        !turns[4].contains("run 'record_email'"),
        "the branch is not taken: {}",
        turns[4]
    );
    assert!(
        turns[4].contains("handoff: Route_To_Account_Queue (reason caller_request, topic account_help, turn 4)"),
        "{}",
        turns[4]
    );
}

#[test]
fn after_reasoning_transitions_and_the_target_hands_off_on_the_same_turn() {
    let a = load(&fixture("case_then_transfer.agent"));
    let t = transcript(&a, &["my order arrived broken", "ann@contoso.com"]);
    let turns: Vec<&str> = t.split("\n\n[").collect();
    assert!(
        turns[1].contains("procedure: after_reasoning of case_management, line 56: if case_open == True -> false"),
        "{t}"
    );
    assert!(!turns[1].contains("handoff"), "{t}");
    let second = turns[2];
    let order = [
        "topic: specialist_handoff (kept: reached by a procedure's transition)",
        "procedure: before_reasoning of case_management, line 46: if case_open == True -> false",
        "action: create_case(email=ann@contoso.com) -> ok case_opened=True",
        "variable: case_open = True (from create_case.case_opened)",
        "procedure: after_reasoning of case_management, line 56: if case_open == True -> true",
        "procedure: after_reasoning of case_management, line 57: transition to specialist_handoff",
        "handoff: Route_To_Order_Queue (reason smart_routing, topic specialist_handoff, turn 2)",
    ];
    let mut at = 0;
    for line in order {
        let found = second[at..]
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} not in order in:\n{second}"));
        at += found + line.len();
    }
}

#[test]
fn the_transition_mutant_hands_off_before_the_case() {
    let a = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mutants/as_transition_before_case.agent"));
    let t = transcript(&a, &["my order arrived broken"]);
    assert!(
        t.contains("procedure: before_reasoning of case_management, line 45: transition to specialist_handoff"),
        "{t}"
    );
    assert!(t.contains("end: escalated at turn 1 (smart_routing)"), "{t}");
}

/// A script of its own: else branches, a constant, a copy of a variable,
/// a run that fails (the steps under it are skipped), and a transition loop.
const STEPS: &str = r#"config:
    developer_name: "Steps"
variables:
    tier: mutable string = "gold"
    copy: mutable string = ""
    flag: mutable boolean = False
    seen: mutable string = ""
connection messaging:
    outbound_route_name: "flow://Q"
start_agent main:
    description: "Billing questions about invoices and charges"
    actions:
        lookup:
            outputs:
                found: boolean
            target: "flow://Lookup"
    before_reasoning:
        if @variables.flag == True:
            set @variables.seen = "flag"
        else:
            set @variables.copy = @variables.tier
            set @variables.flag = True
        run @actions.lookup
            set @variables.seen = "looked up"
    reasoning:
        instructions: ->
            | Help with billing.
        actions:
            go: @utils.transition to @subagent.ping
subagent ping:
    description: "Ping pong table tennis"
    before_reasoning:
        transition to @subagent.pong
subagent pong:
    description: "Pong"
    before_reasoning:
        transition to @subagent.ping
"#;

#[test]
fn procedure_steps_take_else_branches_copy_values_and_skip_after_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("steps.agent");
    std::fs::write(&file, STEPS).unwrap();
    let a = load(&file);
    let t = transcript(
        &a,
        &["question about my invoice charges", "question about my invoice charges"],
    );
    for expected in [
        "if flag == True -> false",
        "variable: copy = gold (set by before_reasoning of main, line 21)",
        "variable: flag = True (set by before_reasoning of main, line 22)",
        "action: lookup() -> ok found=True",
        "variable: seen = looked up (set by before_reasoning of main, line 24)",
        "if flag == True -> true",
        "variable: seen = flag (set by before_reasoning of main, line 19)",
    ] {
        assert!(t.contains(expected), "{expected:?} not in:\n{t}");
    }
    // A failing run skips what is under it.
    let mut fixtures = a.fixtures.clone();
    fixtures.actions[0].fails = true;
    let engine = Engine::new(&a, &fixtures);
    let events = [Event::Caller("question about my invoice charges".into())];
    let trace = engine.run(&events, &mut Nominal);
    let t = baton::transcript::render(&engine, "t", &events, &trace);
    assert!(t.contains("action: lookup() -> FAILED"), "{t}");
    assert!(
        t.contains(
            "procedure: before_reasoning of main, line 23: the run did not succeed, the steps under it are skipped"
        ),
        "{t}"
    );
    assert!(!t.contains("seen = looked up"), "{t}");
}

#[test]
fn a_transition_loop_stops_the_turn() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("loop.agent");
    std::fs::write(&file, STEPS).unwrap();
    let a = load(&file);
    // ping and pong transition to each other: 16 transitions end in ping,
    // whose 17th is refused.
    let t = transcript(&a, &["ping pong table tennis"]);
    assert_eq!(t.matches("transition to pong").count(), 9, "{t}");
    assert_eq!(t.matches("transition to ping").count(), 8, "{t}");
    assert!(
        t.contains("topic: ping (kept: reached by a procedure's transition)"),
        "{t}"
    );
    assert!(
        t.contains("procedure: more than 16 transitions in one turn (a loop): the turn stops in"),
        "{t}"
    );
}

/// A project with two Agent Script bundles.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sfdx-project.json"),
        r#"{"packageDirectories":[{"path":"force-app"}]}"#,
    )
    .unwrap();
    for (name, from) in [("Email_Help", "email_first.agent"), ("Order_Help", "order_help.agent")] {
        let b = dir
            .path()
            .join(format!("force-app/main/default/aiAuthoringBundles/{name}"));
        std::fs::create_dir_all(&b).unwrap();
        std::fs::copy(fixture(from), b.join(format!("{name}.agent"))).unwrap();
    }
    dir
}

#[test]
fn a_name_picks_an_agent_script_bundle_in_a_project() {
    let dir = project();
    let p = dir.path().to_str().unwrap().to_string();
    common::check_picking_by_name(
        &p,
        "Email_Help, Order_Help",
        "Order_Help",
        "agent: Order_Help",
        "Billing",
    );
    let (code, out, err) = baton(&["explain", &format!("{p}/force-app#Email_Help")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("agent: Email_First"), "{out}");
    // The bundle folder alone names its agent.
    let bundle = dir.path().join("force-app/main/default/aiAuthoringBundles/Email_Help");
    let (code, out, err) = baton(&["explain", bundle.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("agent: Email_First"), "{out}");
    // A bundle is one agent: a name after it is not silently ignored.
    let (code, _, err) = baton(&["explain", &format!("{}#Order_Help", bundle.display())]);
    assert_eq!(code, 2);
    assert!(err.contains("no agent named 'Order_Help' here:"), "{err}");
    assert!(err.contains("is one Agent Script agent"), "{err}");
}

#[test]
fn an_unknown_name_in_a_suite_is_an_error_at_its_agent_line() {
    let dir = project();
    let suites = dir.path().join("suites");
    std::fs::create_dir_all(&suites).unwrap();
    let suite = suites.join("s.yaml");
    std::fs::write(
        &suite,
        "suite: S\nagent: ../force-app#Billing\nconversations:\n  - name: c\n    turns:\n      - caller: hi\n",
    )
    .unwrap();
    let (code, _, err) = baton(&["run", suite.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}:2:8: agent '../force-app#Billing': no agent named 'Billing' here: expected one of Email_Help, Order_Help",
            suite.display()
        )),
        "{err}"
    );
    std::fs::write(
        &suite,
        "suite: S\nagent: ../force-app#Order_Help\nconversations:\n  - name: c\n    turns:\n      - caller: my order arrived broken\n        expect: { topic: case_management }\n",
    )
    .unwrap();
    let (code, out, err) = baton(&["run", suite.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
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

#[test]
fn explain_names_a_procedure_transition_past_a_topics_guards() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("past.agent");
    std::fs::write(&file, common::TRANSITION_PAST_GUARDS).unwrap();
    let (code, out, err) = baton(&["explain", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "  - `transition to humans` in the before_reasoning of cases (line 13): humans escalates under its own conditions, not cases's guards"
        ),
        "{out}"
    );
    assert!(out.contains("  before_reasoning (runs exactly, before the instructions, on every turn the topic handles):\n    transition to humans (line 13)"), "{out}");
}

/// An instruction that names the subagent's escalate binding
/// (`escalate_to_human: @utils.escalate`) means the Escalation action: it
/// compiles to a guard, as "'Escalation'" would.
#[test]
fn an_instruction_naming_the_escalate_binding_guards_the_escalation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alias.agent");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/agent-script/order_help.agent"))
            .unwrap()
            .replace(
                "| When the customer describes a problem with an order, open a case.",
                "| Call escalate_to_human only after the 'create_case' action has been executed.",
            )
            .replace("                available when @variables.case_open == True\n", "");
    assert!(
        text.contains("Call escalate_to_human only after"),
        "the fixture changed"
    );
    std::fs::write(&file, text).unwrap();
    let a = load(&file);
    let t = a.topics.iter().find(|t| t.name == "case_management").unwrap();
    assert!(t.escalation_when.is_none(), "the structural guard was removed");
    let create = a.action_id("create_case").unwrap();
    assert!(
        t.rules.iter().any(|r| *r == baton::policy::Rule::action(create, None)),
        "{:?}",
        t.rules
    );
}
