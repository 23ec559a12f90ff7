//! Agent Script: the public `.agent` samples in
//! ../shared/salesforce-samples/agent-script parse into the tree their
//! files say (the official fixture agreeing with its compiled JSON), the
//! invalid one fails where the platform fails it, and no input makes the
//! parser panic or hang.

use std::path::{Path, PathBuf};

use baton::agent::front::agentscript::ast::{
    AgentKind, BindingTarget, Expr, ExprKind, Instructions, Modifier, Script, Stmt, Subagent,
};
use baton::agent::front::agentscript::{parse, parse_file};
use proptest::prelude::*;

/// An action definition: name, inputs (name, type, required), outputs, target.
type Def<'a> = (&'a str, Vec<(&'a str, String, bool)>, Vec<&'a str>, &'a str);
/// A `run`: action, `with`s, line.
type RunLine = (String, Vec<(String, String)>, u32);
/// A surface: type, route type, route name, escalation message, adaptive.
type Route = (String, Option<String>, Option<String>, Option<String>, bool);
/// A variable: name, modifier, type, default, source.
type VarLine<'a> = (&'a str, Modifier, &'a str, Option<String>, Option<String>);

fn samples() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/salesforce-samples/agent-script");
    assert!(dir.is_dir(), "the Agent Script samples are missing: {}", dir.display());
    dir
}

fn load(rel: &str) -> Script {
    let path = samples().join(rel);
    parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An expression as an S-expression, for comparing conditions.
fn show(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Bool(b) => (if *b { "True" } else { "False" }).into(),
        ExprKind::None => "None".into(),
        ExprKind::Number(n) => n.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Ref { namespace, path } => format!("@{namespace}.{}", path.join(".")),
        ExprKind::Unary { op, operand } => format!("({op:?} {})", show(operand)),
        ExprKind::Binary { op, left, right } => format!("({op:?} {} {})", show(left), show(right)),
        ExprKind::Ellipsis => "...".into(),
        other => format!("{other:?}"),
    }
}

fn text(t: &Option<baton::agent::front::agentscript::ast::Text>) -> &str {
    t.as_ref().map_or("<none>", |t| t.value.as_str())
}

/// (binding, what it binds, `available when`) for each reasoning binding.
fn bindings(a: &Subagent) -> Vec<(String, String, Option<String>)> {
    let r = a.reasoning.as_ref().expect("a reasoning block");
    r.actions
        .iter()
        .map(|b| {
            let target = match &b.target {
                BindingTarget::Action(x) => format!("@actions.{}", x.name),
                BindingTarget::Escalate => "@utils.escalate".into(),
                BindingTarget::Transition(to) => format!("@utils.transition to {}", show(to)),
                BindingTarget::SetVariables => "@utils.setVariables".into(),
                BindingTarget::Other(e) => show(e),
            };
            (b.name.name.clone(), target, b.available_when.as_ref().map(show))
        })
        .collect()
}

fn agents(s: &Script) -> Vec<(AgentKind, &str, u32)> {
    s.agents
        .iter()
        .map(|a| (a.kind, a.name.name.as_str(), a.pos.line))
        .collect()
}

/// Every statement of a procedure, nested ones included, in order.
fn all_stmts(body: &[Stmt]) -> Vec<&Stmt> {
    let mut out = Vec::new();
    for s in body {
        s.walk(&mut |s| out.push(s));
    }
    out
}

fn sets(body: &[Stmt]) -> Vec<(String, String)> {
    all_stmts(body)
        .into_iter()
        .filter_map(|s| match s {
            Stmt::Set(set) => Some((show(&set.target), show(&set.value))),
            _ => None,
        })
        .collect()
}

#[test]
fn customer_service_agent() {
    let s = load("aiAuthoringBundles/CustomerServiceAgent/CustomerServiceAgent.agent");
    let c = s.config.as_ref().unwrap();
    assert_eq!(text(&c.developer_name), "CustomerService_Agent");
    assert_eq!(text(&c.agent_label), "Customer Service Agent");
    assert_eq!(text(&c.agent_type), "AgentforceServiceAgent");
    assert_eq!(text(&c.default_agent_user), "__AGENT_USER_PLACEHOLDER__");
    assert!(text(&c.description).starts_with("Customer service agent that classifies issues"));
    assert!(text(&s.system.as_ref().unwrap().instructions).starts_with("You are a customer service agent."));

    let vars: Vec<(&str, Modifier, &str, String, u32)> = s
        .variables
        .as_ref()
        .unwrap()
        .variables
        .iter()
        .map(|v| {
            (
                v.name.name.as_str(),
                v.modifier,
                v.ty.name.as_str(),
                v.default.as_ref().map_or("-".into(), show),
                v.name.pos.line,
            )
        })
        .collect();
    let m = Modifier::Mutable;
    assert_eq!(
        vars,
        vec![
            ("customer_id", m, "string", "\"\"".into(), 12),
            ("customer_name", m, "string", "\"\"".into(), 14),
            ("customer_tier", m, "string", "\"standard\"".into(), 16),
            ("issue_description", m, "string", "\"\"".into(), 18),
            ("issue_type", m, "string", "\"\"".into(), 20),
            ("issue_priority", m, "string", "\"medium\"".into(), 22),
            ("kb_article_found", m, "boolean", "False".into(), 24),
            ("kb_article_content", m, "string", "\"\"".into(), 26),
            ("kb_search_complete", m, "boolean", "False".into(), 28),
        ]
    );
    assert!(
        s.variables
            .as_ref()
            .unwrap()
            .variables
            .iter()
            .all(|v| v.description.is_some())
    );

    assert_eq!(
        agents(&s),
        vec![
            (AgentKind::StartAgent, "agent_router", 34),
            (AgentKind::Subagent, "triage", 45),
            (AgentKind::Subagent, "resolution", 135),
        ]
    );
    assert!(s.connections.is_empty(), "this agent has no escalation connection");

    let router = s.start_agent().unwrap();
    assert_eq!(
        bindings(router),
        vec![(
            "begin_triage".into(),
            "@utils.transition to @subagent.triage".into(),
            None
        )]
    );
    let Some(Instructions::Text(i)) = &router.reasoning.as_ref().unwrap().instructions else {
        panic!("`instructions:|` is a template")
    };
    assert!(i.template && i.value.starts_with("Select the tool that best matches"));

    // Triage: three action definitions, a procedure of seven `if`s.
    let triage = s.agent("triage").unwrap();
    let defs: Vec<Def> = triage
        .actions
        .iter()
        .map(|d| {
            let inputs = d
                .inputs
                .iter()
                .map(|p| {
                    let ty = p.ty.as_ref().unwrap();
                    let ty = if ty.list {
                        format!("list[{}]", ty.name)
                    } else {
                        ty.name.clone()
                    };
                    (p.name.name.as_str(), ty, p.is_required.is_some_and(|f| f.value))
                })
                .collect();
            let outputs = d.outputs.iter().map(|p| p.name.name.as_str()).collect();
            (d.name.name.as_str(), inputs, outputs, text(&d.target))
        })
        .collect();
    assert_eq!(
        defs,
        vec![
            (
                "fetch_customer",
                vec![("customer_id", "string".into(), true)],
                vec!["name", "email", "tier"],
                "flow://FetchCustomer"
            ),
            (
                "classify_issue",
                vec![("issueDescription", "string".into(), true)],
                vec!["issueType", "priority"],
                "apex://IssueClassifier"
            ),
            (
                "search_knowledge_base",
                vec![
                    ("issue_type", "string".into(), true),
                    ("keywords", "string".into(), true)
                ],
                vec!["articles", "top_article"],
                "flow://SearchKnowledgeBase"
            ),
        ]
    );
    let articles = &triage.action("search_knowledge_base").unwrap().outputs[0];
    assert_eq!(
        articles.ty.as_ref().map(|t| (t.name.as_str(), t.list)),
        Some(("string", true))
    );

    let Some(Instructions::Procedure(p)) = &triage.reasoning.as_ref().unwrap().instructions else {
        panic!("`instructions:->` is a procedure")
    };
    let ifs: Vec<(u32, String)> = p
        .body
        .iter()
        .map(|s| match s {
            Stmt::If(i) => (i.pos.line, show(&i.cond)),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ifs,
        vec![
            (
                95,
                "(And (And @variables.issue_description @variables.customer_id) (Not @variables.customer_name))".into()
            ),
            (
                100,
                "(And @variables.issue_description (Not @variables.issue_type))".into()
            ),
            (
                105,
                "(And @variables.issue_type (Not @variables.kb_search_complete))".into()
            ),
            (113, "@variables.customer_name".into()),
            (115, "(Not @variables.customer_name)".into()),
            (118, "(Not @variables.issue_description)".into()),
            (120, "@variables.kb_search_complete".into()),
        ]
    );
    let runs: Vec<RunLine> = all_stmts(&p.body)
        .into_iter()
        .filter_map(|s| match s {
            Stmt::Run(r) => Some((
                show(&r.target),
                r.with.iter().map(|w| (w.param.name.clone(), show(&w.value))).collect(),
                r.pos.line,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        runs,
        vec![
            (
                "@actions.fetch_customer".into(),
                vec![("customer_id".into(), "@variables.customer_id".into())],
                96
            ),
            (
                "@actions.classify_issue".into(),
                vec![("issueDescription".into(), "@variables.issue_description".into())],
                101
            ),
            (
                "@actions.search_knowledge_base".into(),
                vec![
                    ("issue_type".into(), "@variables.issue_type".into()),
                    ("keywords".into(), "@variables.issue_description".into())
                ],
                106
            ),
        ]
    );
    let owned = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    };
    assert_eq!(
        sets(&p.body),
        owned(&[
            ("@variables.customer_name", "@outputs.name"),
            ("@variables.customer_tier", "@outputs.tier"),
            ("@variables.issue_type", "@outputs.issueType"),
            ("@variables.issue_priority", "@outputs.priority"),
            ("@variables.kb_article_content", "@outputs.top_article"),
            ("@variables.kb_article_found", "(Ne @outputs.top_article \"\")"),
            ("@variables.kb_search_complete", "True"),
        ])
    );
    // A `|` line with an interpolation, under an `if`.
    let Stmt::If(greet) = &p.body[3] else { panic!() };
    let Stmt::Template(hello) = &greet.then[0] else {
        panic!()
    };
    assert_eq!(
        hello.value,
        "Hello {!@variables.customer_name}! How can I help you today?"
    );
    assert_eq!(
        hello.interpolations[0].reference(),
        Some(("variables", "customer_name"))
    );
    assert_eq!(
        (hello.interpolations[0].pos.line, hello.interpolations[0].pos.col),
        (114, 23)
    );

    assert_eq!(
        bindings(triage),
        vec![(
            "collect_info".into(),
            "@utils.setVariables".into(),
            Some("(Not @variables.issue_description)".into())
        )]
    );
    let collect = triage.binding("collect_info").unwrap();
    let filled: Vec<(&str, bool)> = collect
        .with
        .iter()
        .map(|w| (w.param.name.as_str(), w.is_llm_filled()))
        .collect();
    assert_eq!(filled, vec![("customer_id", true), ("issue_description", true)]);

    let after = triage.after_reasoning.as_ref().unwrap();
    let Stmt::If(done) = &after.body[0] else { panic!() };
    assert_eq!(show(&done.cond), "@variables.kb_search_complete");
    let Stmt::Transition(t) = &done.then[0] else { panic!() };
    assert_eq!(
        (t.to.reference(), t.pos.line, t.pos.col),
        (Some(("subagent", "resolution")), 132, 10)
    );

    // Resolution: escalation here is an action (a flow), not @utils.escalate.
    let resolution = s.agent("resolution").unwrap();
    let names: Vec<&str> = resolution.actions.iter().map(|d| d.name.name.as_str()).collect();
    assert_eq!(names, vec!["create_case", "escalate_case"]);
    let escalate_case = resolution.action("escalate_case").unwrap();
    assert_eq!(escalate_case.inputs.len(), 3);
    assert!(
        escalate_case
            .inputs
            .iter()
            .all(|p| p.is_required.is_some_and(|f| f.value))
    );
    assert_eq!(text(&escalate_case.target), "flow://EscalateCase");
    assert_eq!(
        bindings(resolution),
        vec![
            (
                "create_support_case".into(),
                "@actions.create_case".into(),
                Some("@variables.kb_article_found".into())
            ),
            (
                "escalate_to_specialist".into(),
                "@actions.escalate_case".into(),
                Some("(Not @variables.kb_article_found)".into())
            ),
        ]
    );
    let specialist = resolution.binding("escalate_to_specialist").unwrap();
    let with: Vec<(&str, String)> = specialist
        .with
        .iter()
        .map(|w| (w.param.name.as_str(), show(&w.value)))
        .collect();
    assert_eq!(
        with,
        vec![
            ("case_id", "\"\"".into()),
            (
                "reason",
                "\"No knowledge base solution found for {!@variables.issue_type} issue\"".into()
            ),
            ("specialist_team", "@variables.issue_type".into()),
        ]
    );
    assert!(
        s.agents
            .iter()
            .all(|a| a.reasoning.iter().flat_map(|r| &r.actions).all(|b| !b.escalates()))
    );
    assert!(s.unknowns().is_empty(), "{:?}", s.unknowns());
}

#[test]
fn routing_fixture_agrees_with_its_compiled_json() {
    let s = load("official-fixtures/edge_conn_routing.agent");
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(samples().join("official-fixtures/edge_conn_routing.snake.json")).unwrap(),
    )
    .unwrap();
    let global = &json["global_configuration"];
    let version = &json["agent_version"];
    let c = s.config.as_ref().unwrap();
    assert_eq!(text(&c.developer_name), global["developer_name"]);
    assert_eq!(text(&c.agent_label), global["label"]);
    assert_eq!(text(&c.description), global["description"]);
    assert_eq!(text(&c.default_agent_user), global["default_agent_user"]);

    let system = s.system.as_ref().unwrap();
    let messages: Vec<(&str, &str)> = version["system_messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["message_type"].as_str().unwrap(), m["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        messages,
        vec![("Welcome", text(&system.welcome)), ("Error", text(&system.error))]
    );

    // Subagents: the nodes, the start agent the initial node.
    let nodes = version["nodes"].as_array().unwrap();
    let node_names: Vec<&str> = nodes.iter().map(|n| n["developer_name"].as_str().unwrap()).collect();
    let names: Vec<&str> = s.agents.iter().map(|a| a.name.name.as_str()).collect();
    assert_eq!(names, node_names);
    assert_eq!(names, vec!["main"]);
    assert_eq!(s.start_agent().unwrap().name.name, version["initial_node"]);
    let main = s.start_agent().unwrap();
    assert_eq!(text(&main.description), nodes[0]["description"]);
    assert_eq!(text(&system.instructions), nodes[0]["instructions"]);
    let Some(Instructions::Procedure(p)) = &main.reasoning.as_ref().unwrap().instructions else {
        panic!()
    };
    let Stmt::Template(line) = &p.body[0] else { panic!() };
    let compiled =
        nodes[0]["before_reasoning_iteration"][1]["state_updates"][0]["AgentScriptInternal_agent_instructions"]
            .as_str()
            .unwrap();
    assert!(compiled.ends_with(&format!("\n{}", line.value)), "{compiled}");

    // Connections: the surfaces and their outbound routes.
    let surfaces: Vec<Route> = version["surfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sf| {
            let route = &sf["outbound_route_configs"][0];
            let field = |k: &str| route[k].as_str().map(String::from);
            (
                sf["surface_type"].as_str().unwrap().to_string(),
                field("outbound_route_type"),
                field("outbound_route_name"),
                field("escalation_message"),
                sf["adaptive_response_allowed"].as_bool().unwrap(),
            )
        })
        .collect();
    let connections: Vec<Route> = s
        .connections
        .iter()
        .map(|c| {
            let field = |t: &Option<baton::agent::front::agentscript::ast::Text>| t.as_ref().map(|t| t.value.clone());
            (
                c.surface.name.clone(),
                field(&c.outbound_route_type),
                field(&c.outbound_route_name),
                field(&c.escalation_message),
                c.adaptive_response_allowed.unwrap().value,
            )
        })
        .collect();
    assert_eq!(connections, surfaces);
    let messaging = s.connection("messaging").unwrap();
    assert_eq!(text(&messaging.outbound_route_name), "flow://Route_to_Messaging_Agent");
    let route = messaging.outbound_route_name.as_ref().unwrap();
    assert_eq!((route.pos.line, route.pos.col), (17, 26));

    // Escalation: the bindings to @utils.escalate are the tools that set
    // the next topic to `__human__`, handed off after the tool calls.
    let human_tools: Vec<&str> = nodes[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state_updates"][0]["AgentScriptInternal_next_topic"] == "'__human__'")
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let escalating: Vec<&str> = main
        .reasoning
        .as_ref()
        .unwrap()
        .actions
        .iter()
        .filter(|b| b.escalates())
        .map(|b| b.name.name.as_str())
        .collect();
    assert_eq!(escalating, human_tools);
    assert_eq!(escalating, vec!["escalate_to_human"]);
    assert_eq!(nodes[0]["after_all_tool_calls"][0]["target"], "__human__");
    assert_eq!(
        text(&main.binding("escalate_to_human").unwrap().description),
        nodes[0]["tools"][0]["description"]
    );
}

#[test]
fn all_surfaces_fixture() {
    let s = load("official-fixtures/edge_conn_all_surfaces.agent");
    let vars: Vec<VarLine> = s
        .variables
        .as_ref()
        .unwrap()
        .variables
        .iter()
        .map(|v| {
            (
                v.name.name.as_str(),
                v.modifier,
                v.ty.name.as_str(),
                v.default.as_ref().map(show),
                v.source.as_ref().map(show),
            )
        })
        .collect();
    assert_eq!(
        vars,
        vec![
            (
                "EndUserId",
                Modifier::Linked,
                "string",
                None,
                Some("@MessagingSession.MessagingEndUserId".into())
            ),
            (
                "RoutableId",
                Modifier::Linked,
                "string",
                None,
                Some("@MessagingSession.Id".into())
            ),
            ("channel", Modifier::Mutable, "string", None, None),
            ("resolved", Modifier::Mutable, "boolean", Some("False".into()), None),
        ]
    );
    let surfaces: Vec<(&str, bool, bool)> = s
        .connections
        .iter()
        .map(|c| {
            (
                c.surface.name.as_str(),
                c.adaptive_response_allowed.unwrap().value,
                c.outbound_route_name.is_none() && c.outbound_route_type.is_none() && c.escalation_message.is_none(),
            )
        })
        .collect();
    assert_eq!(
        surfaces,
        vec![
            ("messaging", true, true),
            ("slack", true, true),
            ("service_email", true, true),
            ("voice", true, true)
        ]
    );
    let unknown: Vec<(&str, u32, u32)> = s
        .unknowns()
        .iter()
        .map(|u| (u.key.as_str(), u.pos.line, u.pos.col))
        .collect();
    assert_eq!(unknown, vec![("language", 25, 1)]);

    assert_eq!(
        agents(&s),
        vec![
            (AgentKind::StartAgent, "main", 40),
            (AgentKind::Topic, "general_support", 54)
        ]
    );
    let main = s.start_agent().unwrap();
    assert_eq!(
        bindings(main),
        vec![
            (
                "go_to_support".into(),
                "@utils.transition to @topic.general_support".into(),
                None
            ),
            ("escalate_to_human".into(), "@utils.escalate".into(), None),
        ]
    );
    let Some(Instructions::Procedure(p)) = &main.reasoning.as_ref().unwrap().instructions else {
        panic!()
    };
    let Stmt::Template(t) = &p.body[0] else { panic!() };
    assert_eq!(
        t.value,
        "Help the customer regardless of their communication channel.\nAdapt your response style to the channel."
    );

    let support = s.agent("general_support").unwrap();
    let resolve = support.action("resolve_issue").unwrap();
    let inputs: Vec<(&str, bool)> = resolve
        .inputs
        .iter()
        .map(|p| (p.name.name.as_str(), p.is_required.unwrap().value))
        .collect();
    assert_eq!(inputs, vec![("issue", true), ("channel", false)]);
    let outputs: Vec<(&str, &str)> = resolve
        .outputs
        .iter()
        .map(|p| (p.name.name.as_str(), p.ty.as_ref().unwrap().name.as_str()))
        .collect();
    assert_eq!(outputs, vec![("resolved", "boolean"), ("resolution_notes", "string")]);
    assert_eq!(text(&resolve.target), "flow://Resolve_Issue");
    assert_eq!(
        bindings(support),
        vec![
            ("resolve".into(), "@actions.resolve_issue".into(), None),
            ("escalate_to_human".into(), "@utils.escalate".into(), None),
        ]
    );
    let binding = support.binding("resolve").unwrap();
    let with: Vec<(&str, String)> = binding
        .with
        .iter()
        .map(|w| (w.param.name.as_str(), show(&w.value)))
        .collect();
    assert_eq!(
        with,
        vec![("issue", "...".into()), ("channel", "@variables.channel".into())]
    );
    let sets: Vec<(String, String)> = binding.sets().map(|s| (show(&s.target), show(&s.value))).collect();
    assert_eq!(sets, vec![("@variables.resolved".into(), "@outputs.resolved".into())]);
    let escalate = support.binding("escalate_to_human").unwrap();
    assert_eq!((escalate.name.pos.line, escalate.target_pos.col), (80, 32));
}

/// The invalid sample's `connections:` block never compiled on the
/// platform: a located error, the only one (the rest of the file is
/// well-formed, as the same file with `connection messaging:` shows).
#[test]
fn escalation_patterns_connections_block_is_a_located_error() {
    let path = samples().join("invalid/EscalationPatterns.agent");
    let err = parse_file(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:10:1: `connections:` is not an Agent Script block: write one `connection SURFACE:` block per surface (e.g. `connection messaging:`); the platform does not compile this file",
            path.display()
        )
    );

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("connections:\n   messaging:\n"));
    let fixed = text.replace("connections:\n   messaging:\n", "connection messaging:\n");
    let s = parse(&path, &fixed).unwrap_or_else(|e| panic!("{e}"));
    let m = s.connection("messaging").unwrap();
    assert_eq!(text_of(&m.outbound_route_name), "AgentSupportFlow");
    assert_eq!(text_of(&m.outbound_route_type), "OmniChannelFlow");
    assert_eq!(
        text_of(&m.escalation_message),
        "I am connecting you with a human agent who can help you further."
    );
    let support = s.agent("general_support").unwrap();
    assert_eq!(
        bindings(support),
        vec![(
            "escalate_to_human".into(),
            "@utils.escalate".into(),
            Some("(Or (Eq @variables.user_sentiment \"frustrated\") (Gt @variables.retry_count 2))".into())
        )]
    );
    let vars: Vec<(&str, String)> = s
        .variables
        .as_ref()
        .unwrap()
        .variables
        .iter()
        .map(|v| (v.name.name.as_str(), show(v.default.as_ref().unwrap())))
        .collect();
    assert_eq!(
        vars,
        vec![("user_sentiment", "\"neutral\"".into()), ("retry_count", "0".into())]
    );
}

fn text_of(t: &Option<baton::agent::front::agentscript::ast::Text>) -> &str {
    text(t)
}

// ---------------------------------------------------------------------------
// Hostile input: never a panic, never a hang.
// ---------------------------------------------------------------------------

fn sample_texts() -> Vec<String> {
    [
        "aiAuthoringBundles/CustomerServiceAgent/CustomerServiceAgent.agent",
        "official-fixtures/edge_conn_routing.agent",
        "official-fixtures/edge_conn_all_surfaces.agent",
        "invalid/EscalationPatterns.agent",
    ]
    .iter()
    .map(|rel| std::fs::read_to_string(samples().join(rel)).unwrap())
    .collect()
}

/// Pieces that stress the lexer and parser when spliced into a script.
const NASTY: &[&str] = &[
    "\t",
    "  ",
    "\n",
    "\r\n",
    "\0",
    ":",
    "->",
    "|",
    "{!",
    "}",
    "\"",
    "\\",
    "(",
    ")",
    "[",
    "]",
    "{",
    "-",
    "- ",
    "@",
    "@variables.",
    "...",
    "if ",
    "else:",
    "else if ",
    "run ",
    "set ",
    "with ",
    "available when ",
    "transition to ",
    "not ",
    " and ",
    " or ",
    "==",
    "#",
    "é",
    "\u{feff}",
    "True",
    "None",
    "1.",
    ".5",
    "2025-01-01T1",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random bytes, as text.
    #[test]
    fn random_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(Path::new("fuzz.agent"), &text);
    }

    /// A real script with pieces inserted, removed, or lines re-indented.
    #[test]
    fn mutated_samples_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, 0usize..NASTY.len()), 1..8),
    ) {
        let mut text = sample_texts()[which].clone();
        for (at, kind, piece) in edits {
            let mut i = at.index(text.len() + 1).min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            match kind {
                0 => text.insert_str(i, NASTY[piece]),
                1 => {
                    let mut end = (i + 1 + piece).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(i..end, "");
                }
                2 => {
                    let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
                    text.insert_str(start, if piece % 2 == 0 { "\t" } else { " " });
                }
                _ => {
                    let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
                    if text[start..].starts_with([' ', '\t']) {
                        text.remove(start);
                    }
                }
            }
        }
        let _ = parse(Path::new("fuzz.agent"), &text);
    }

    /// Lines of random pieces at random depths.
    #[test]
    fn random_lines_never_panic(
        lines in proptest::collection::vec(
            (0usize..12, proptest::collection::vec(0usize..NASTY.len(), 0..6)),
            0..40,
        ),
    ) {
        let text: String = lines
            .iter()
            .map(|(depth, pieces)| {
                let body: String = pieces.iter().map(|&p| NASTY[p]).collect();
                format!("{}k{depth}: {body}\n", " ".repeat(depth * 2))
            })
            .collect();
        let _ = parse(Path::new("fuzz.agent"), &text);
    }
}

/// Large and deeply nested inputs end, quickly, in a result.
#[test]
fn huge_and_deep_inputs_end() {
    let start = std::time::Instant::now();
    let long_line = format!("config:\n    description: \"{}\"\n", "x".repeat(1_000_000));
    assert!(parse(Path::new("big.agent"), &long_line).is_ok());
    let refused = |text: &str, message: &str| {
        let e = parse(Path::new("big.agent"), text).unwrap_err().to_string();
        assert!(e.contains(message), "{e}");
    };
    let too_deep = "expression nested too deeply (more than 64 levels)";
    refused(&format!("config:\n    x: 1{}\n", " + 1".repeat(50_000)), too_deep);
    refused(&format!("config:\n    x: {}True\n", "not ".repeat(50_000)), too_deep);
    refused(&format!("config:\n    x: {}1\n", "-".repeat(50_000)), too_deep);
    refused(
        &format!("config:\n    x: {}\n", "(".repeat(50_000)),
        "nesting too deep: more than 64 open brackets",
    );
    let deep: String = (0..2_000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    refused(&deep, "nesting too deep: more than 64 levels of indentation");
    let ifs: String = (0..2_000).map(|i| format!("{}if True:\n", " ".repeat(i + 2))).collect();
    refused(
        &format!("subagent a:\n before_reasoning:\n{ifs}"),
        "nesting too deep: more than 64 levels of indentation",
    );
    let template = format!(
        "system:\n    instructions: |\n{}",
        "        line {! @variables.x }\n".repeat(20_000)
    );
    assert!(parse(Path::new("big.agent"), &template).is_ok());
    let many = "subagent a:\n    description: \"d\"\n".repeat(2_000);
    assert!(parse(Path::new("many.agent"), &many).is_ok());
    let tabs = "a:\n\t\tb:\n    c: 1\n \t d: 2\n".repeat(1_000);
    refused(&tabs, "inconsistent indentation");
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}
