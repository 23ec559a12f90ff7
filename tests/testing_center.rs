//! Testing Center specs, both ways, through the real binary: every shared
//! sample imports into a suite that loads; import then export and export
//! then import keep the deterministic content; what baton cannot check is
//! kept as comments and counted; bad input is located, exits 2 and writes
//! nothing. Also `actions_include:`, the superset match imports rely on.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn baton(cwd: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run baton");
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    };
    assert!(!o.stderr.contains("panicked"), "baton panicked:\n{}", o.stderr);
    o
}

/// A project folder (it has `.git`, so it is the root) holding a copy of
/// the example agent Acme_Support at `agents/acme.yaml`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("agents")).unwrap();
    std::fs::copy(
        repo("fixtures/agents/acme_support.yaml"),
        dir.path().join("agents/acme.yaml"),
    )
    .unwrap();
    dir
}

// ---------------------------------------------------------------- actions_include

#[test]
fn actions_include_is_a_superset_match() {
    let dir = project();
    let suite = "suite: S
agent: ../agents/acme.yaml
conversations:
  - name: passes
    turns:
      - caller: my item is damaged
        expect: { actions_include: [] }
      - caller: jane@example.com
        expect: { actions_include: [createcase], actions: [createcase] }
  - name: a second run is not there
    turns:
      - caller: my item is damaged jane@example.com
        expect: { actions_include: [createcase, createcase] }
  - name: a failed run is not a success
    fixtures: { createcase: { fails: true } }
    turns:
      - caller: my item is damaged jane@example.com
        expect: { actions_include: [createcase] }
";
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    std::fs::write(dir.path().join("suites/s.yaml"), suite).unwrap();
    let out = baton(dir.path(), &["run", "suites/s.yaml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("PASS [") && out.stdout.contains("S :: passes"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("turn 1: actions_include: expected [createcase, createcase], got [createcase]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("turn 1: actions_include: expected [createcase], got [createcase (failed)]"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("1 passed, 2 failed"), "{}", out.stdout);
}

#[test]
fn actions_include_names_known_actions() {
    let dir = project();
    let suite = "suite: S\nagent: ../agents/acme.yaml\nconversations:\n  - name: a\n    turns:\n      - caller: hi\n        expect: { actions_include: [createcas] }\n";
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    std::fs::write(dir.path().join("suites/s.yaml"), suite).unwrap();
    let out = baton(dir.path(), &["run", "suites/s.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("suites/s.yaml:7:37: unknown action 'createcas' (did you mean 'createcase'?)"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------- helpers

use baton::testing_center::read_spec;
use baton::testing_center::spec::{Expect, Role, Spec};

/// The shared Salesforce samples (never copied into the project), beside
/// the project as CI lays them out.
fn samples() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/salesforce-samples/testing");
    assert!(dir.is_dir(), "the Salesforce samples are missing at {}", dir.display());
    dir
}

const LEGACY_YAML: &str = "specs/Guest_Experience_Agent-testSpec.yaml";
const LEGACY_XML: &str = "aiEvaluationDefinitions/Guest_Experience_Agent_Test.aiEvaluationDefinition-meta.xml";
const NGT_YAML: &str = "specs/ngt-spec-returns-checkout.yaml";
const NGT_XML: &str = "aiTestingDefinitions/ReturnsCheckoutSuite.aiTestingDefinition-meta.xml";

/// baton agents with the samples' subjects, topics and actions.
const GUEST_AGENT: &str = r#"
agent: Guest_Experience_Agent
escalation: { flow: Route_To_Guest_Queue }
actions:
  Check_Weather: { description: "Today's forecast." }
topics:
  - name: Experience_Management
    description: Resort experiences, activities and bookings
    utterances: ["resort experiences that match my interests", "book an activity"]
  - name: Local_Weather
    description: The weather forecast near the resort
    utterances: ["what will the weather be like today", "is it going to rain"]
    actions: [Check_Weather]
    instructions: ["Run the 'Check_Weather' action."]
"#;

const RETURNS_AGENT: &str = r#"
agent: ReturnsAgent
escalation: { flow: Route_To_Returns_Queue }
actions:
  Get_Order_Status: {}
  Verify_Customer: {}
topics:
  - name: order_status
    description: Order status and tracking
    utterances: ["where is my order", "status of my order"]
    actions: [Get_Order_Status, Verify_Customer]
    instructions: ["Run the 'Get_Order_Status' action."]
  - name: returns
    description: Cancel or return an order
    utterances: ["cancel my order"]
  - name: identity_verification
    description: Verify the caller's identity
    utterances: ["my email is"]
  - name: handoff
    description: Sales questions
    utterances: ["I need a sales rep"]
"#;

/// A project with the example agent (`agents/acme.yaml`) and the sample
/// subjects (`agents/guest.yaml`, `agents/returns.yaml`).
fn sample_project() -> tempfile::TempDir {
    let dir = project();
    std::fs::write(dir.path().join("agents/guest.yaml"), GUEST_AGENT).unwrap();
    std::fs::write(dir.path().join("agents/returns.yaml"), RETURNS_AGENT).unwrap();
    dir
}

fn subject_agent(sample: &str) -> &'static str {
    if sample.contains("Guest") {
        "../agents/guest.yaml"
    } else {
        "../agents/returns.yaml"
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Conversations, turns and expectation keys (with how often each occurs)
/// of a suite file, read as plain YAML.
fn figures(suite: &Path) -> (usize, usize, Vec<(String, usize)>) {
    let text = std::fs::read_to_string(suite).unwrap();
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let convs = v["conversations"].as_array().unwrap();
    let mut turns = 0;
    let mut keys: Vec<(String, usize)> = Vec::new();
    for c in convs {
        for t in c["turns"].as_array().unwrap() {
            turns += 1;
            for k in t
                .get("expect")
                .and_then(|e| e.as_object())
                .into_iter()
                .flat_map(|e| e.keys())
            {
                match keys.iter_mut().find(|(x, _)| x == k) {
                    Some((_, n)) => *n += 1,
                    None => keys.push((k.clone(), 1)),
                }
            }
        }
    }
    keys.sort();
    (convs.len(), turns, keys)
}

/// A test's deterministic content: utterance, the user turns of its
/// history, expected topic and actions. Fanned out (one entry per input),
/// without tests that check nothing.
type Content = Vec<(String, Vec<String>, Option<String>, Option<Vec<String>>)>;

fn content(spec: &Spec) -> Content {
    let mut out = Vec::new();
    for case in &spec.cases {
        let topic = case.checks.iter().find_map(|c| match c {
            Expect::Topic(t) => Some(t.value.clone()),
            _ => None,
        });
        let actions = case.checks.iter().find_map(|c| match c {
            Expect::Actions(a) => Some(a.value.clone()),
            _ => None,
        });
        // An empty action list alone checks nothing (a superset match).
        if topic.is_none() && actions.as_ref().is_none_or(Vec::is_empty) {
            continue;
        }
        for input in &case.inputs {
            let history = input
                .history
                .iter()
                .filter(|h| h.role == Role::User)
                .map(|h| h.message.clone())
                .collect();
            out.push((input.utterance.value.clone(), history, topic.clone(), actions.clone()));
        }
    }
    out
}

fn spec_of(path: &Path) -> Spec {
    read_spec::read(path).unwrap_or_else(|e| panic!("{e}")).spec
}

fn count(keys: &[(String, usize)], key: &str) -> usize {
    keys.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n)
}

// ---------------------------------------------------------------- the samples

/// A sample, its conversations, turns, `topic` and `actions_include`
/// expectations, and lines of its import summary.
type Figures = (&'static str, usize, usize, usize, usize, &'static [&'static str]);

#[test]
fn every_sample_imports_into_a_suite_that_loads() {
    let samples = samples();
    let cases: [Figures; 4] = [
        (
            LEGACY_YAML,
            2,
            2,
            2,
            2,
            &[
                "imported 2 test cases (legacy test spec YAML) into 2 conversations, 2 turns: suites/out.yaml",
                "checked by baton: 2 topic, 2 actions_include",
                "kept as comments (LLM-judged, not checked by baton): 2 expectedOutcome",
            ],
        ),
        (
            LEGACY_XML,
            2,
            2,
            2,
            2,
            &[
                "imported 2 test cases (AiEvaluationDefinition XML) into 2 conversations, 2 turns: suites/out.yaml",
                "checked by baton: 2 topic, 2 actions_include",
                "kept as comments (LLM-judged, not checked by baton): 2 bot_response_rating",
            ],
        ),
        (
            NGT_YAML,
            9,
            10,
            7,
            5,
            &[
                "imported 7 test cases (NGT test spec YAML) into 9 conversations, 10 turns: suites/out.yaml",
                "checked by baton: 7 topic, 5 actions_include",
                "kept as comments (LLM-judged, not checked by baton): 2 bot_response_rating, 4 metrics, 1 response_match, 1 task_resolution",
                "kept as comments (not modelled by baton): 1 output_latency_milliseconds, 1 contextVariables, 1 agent turns in conversationHistory, 1 agent_handoff_match",
            ],
        ),
        (
            NGT_XML,
            9,
            10,
            7,
            5,
            &[
                "imported 9 test cases (AiTestingDefinition XML) into 9 conversations, 10 turns: suites/out.yaml",
                "checked by baton: 7 topic, 5 actions_include",
                "kept as comments (LLM-judged, not checked by baton): 2 bot_response_rating, 4 metrics, 1 response_match, 1 task_resolution",
                "kept as comments (not modelled by baton): 1 output_latency_milliseconds, 1 contextVariables, 1 agent turns in conversationHistory, 1 agent_handoff_match",
            ],
        ),
    ];
    for (sample, convs, turns, topics, actions, summary) in cases {
        let dir = sample_project();
        let input = samples.join(sample);
        let out = baton(
            dir.path(),
            &[
                "import",
                "testing-center",
                s(&input),
                "-o",
                "suites/out.yaml",
                "--agent",
                subject_agent(sample),
            ],
        );
        assert_eq!(out.code, 0, "{sample}: {}", out.stderr);
        assert!(!out.stderr.contains("warning"), "{sample}: {}", out.stderr);
        for line in summary {
            assert!(
                out.stderr.lines().any(|l| l == *line),
                "{sample}: no `{line}` in\n{}",
                out.stderr
            );
        }
        let suite = dir.path().join("suites/out.yaml");
        let (c, t, keys) = figures(&suite);
        assert_eq!((c, t), (convs, turns), "{sample}: conversations, turns");
        assert_eq!(count(&keys, "topic"), topics, "{sample}: {keys:?}");
        assert_eq!(count(&keys, "actions_include"), actions, "{sample}: {keys:?}");
        assert_eq!(keys.len(), 2, "{sample}: only topic and actions_include: {keys:?}");
        // It loads: `run` may fail expectations (exit 1) but not load (2).
        let run = baton(dir.path(), &["run", "suites/out.yaml"]);
        assert!(run.code == 0 || run.code == 1, "{sample}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains(&format!("{convs} conversations in 1 suites")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn what_baton_cannot_check_is_kept_as_comments() {
    let samples = samples();
    let dir = sample_project();
    let out = baton(
        dir.path(),
        &[
            "import",
            "testing-center",
            s(&samples.join(NGT_YAML)),
            "-o",
            "suites/r.yaml",
            "--agent",
            "../agents/returns.yaml",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(dir.path().join("suites/r.yaml")).unwrap();
    for line in [
        "  - name: \"1: Where is my order #12345?\"",
        "    # bot_response_rating (LLM-judged, not checked by baton): \"Agent looks up the order and returns its status\"",
        "    # coherence (LLM-judged, not checked by baton)",
        "    # output_latency_milliseconds (not modelled by baton)",
        "    # contextVariables (not modelled by baton): RoutableId = \"0Mw000000000001\"",
        "    # response_match (LLM-judged, not checked by baton): \"Agent verifies identity and continues\"",
        "    # task_resolution (LLM-judged, not checked by baton)",
        "    # agent_handoff_match (not modelled by baton): \"SDRAgent\"",
        // The history: the user turn is a caller turn, the agent's a comment.
        "      - caller: I need help with my order",
        "      # agent turn of conversationHistory (topic identity_verification), not a caller event: \"I can help. What's your email on file?\"",
        "      - caller: Yes, my email is jane@example.com",
        // Three inputs of one case: three conversations.
        "  - name: \"7.3: Tell me about order #12345\"",
        // Nothing deterministic: said so.
        "        # no expectation baton can check",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    // The legacy sample: the expected outcome, and the empty action list.
    let out = baton(
        dir.path(),
        &[
            "import",
            "testing-center",
            s(&samples.join(LEGACY_YAML)),
            "-o",
            "suites/g.yaml",
            "--agent",
            "../agents/guest.yaml",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(dir.path().join("suites/g.yaml")).unwrap();
    for line in [
        "  - name: \"1: Are there any resort experiences that match my…\"",
        "    # expectedOutcome (LLM-judged, not checked by baton): \"The agent should politely ask for ONLY the guest's email address.\"",
        "          actions_include: []   # checks nothing, as in Testing Center; `actions: []` would require that no action runs",
        "agent: ../agents/guest.yaml",
        "suite: Guest Experience Agent Test",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
}

#[test]
fn names_an_example_agent_lacks_become_comments_and_the_suite_loads() {
    let samples = samples();
    let dir = sample_project();
    let input = samples.join(NGT_YAML);
    let out = baton(
        dir.path(),
        &[
            "import",
            "testing-center",
            s(&input),
            "-o",
            "suites/r.yaml",
            "--agent",
            "../agents/acme.yaml",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warn = |w: &str| format!("warning: {}{w}", input.display());
    for w in [
        ":22:19: topic 'order_status' is not a topic of agent Acme_Support: kept as a comment",
        ":24:19: action 'Get_Order_Status' is not an action of agent Acme_Support: kept as a comment",
        ":73:19: topic 'handoff' is not a topic of agent Acme_Support: kept as a comment",
    ] {
        assert!(out.stderr.contains(&warn(w)), "no `{}` in\n{}", warn(w), out.stderr);
    }
    // One warning per place, though three inputs share case 7's scorers.
    assert_eq!(
        out.stderr.matches(":83:19: topic 'order_status'").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("warning: agent Acme_Support (agents/acme.yaml) is not the spec's subject \"ReturnsAgent\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("checked by baton: nothing (no topic or action expectation)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("kept as comments (not in agent Acme_Support, not checked): 7 topics, 6 actions"),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(dir.path().join("suites/r.yaml")).unwrap();
    assert!(
        text.contains("        # expected topic order_status: not in agent Acme_Support, not checked\n"),
        "{text}"
    );
    let run = baton(dir.path(), &["run", "suites/r.yaml"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("9 passed, 0 failed"), "{}", run.stdout);
}

#[test]
fn import_then_export_gives_back_the_deterministic_content() {
    let samples = samples();
    for sample in [LEGACY_YAML, LEGACY_XML, NGT_YAML, NGT_XML] {
        let dir = sample_project();
        let input = samples.join(sample);
        let original = spec_of(&input);
        let out = baton(
            dir.path(),
            &[
                "import",
                "testing-center",
                s(&input),
                "-o",
                "suites/in.yaml",
                "--agent",
                subject_agent(sample),
            ],
        );
        assert_eq!(out.code, 0, "{sample}: {}", out.stderr);
        for format in ["legacy", "ngt"] {
            let spec_file = format!("specs/{format}.yaml");
            let out = baton(
                dir.path(),
                &[
                    "export",
                    "testing-center",
                    "suites/in.yaml",
                    "--format",
                    format,
                    "-o",
                    &spec_file,
                ],
            );
            assert_eq!(out.code, 0, "{sample} {format}: {}", out.stderr);
            let exported = spec_of(&dir.path().join(&spec_file));
            assert_eq!(content(&exported), content(&original), "{sample} as {format}");
            assert_eq!(exported.subject_name, original.subject_name);
            assert_eq!(exported.name, original.name);
            assert_eq!(exported.description, original.description);
            let form = read_spec::read(&dir.path().join(&spec_file)).unwrap().form;
            assert_eq!(form.describe().starts_with("NGT"), format == "ngt");
        }
    }
    // What does not come back, by design: the agent's turn of the history
    // (in the suite as a comment) and tests with nothing deterministic.
    let dir = sample_project();
    let out = baton(
        dir.path(),
        &[
            "import",
            "testing-center",
            s(&samples.join(NGT_YAML)),
            "-o",
            "suites/in.yaml",
            "--agent",
            "../agents/returns.yaml",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = baton(
        dir.path(),
        &["export", "testing-center", "suites/in.yaml", "--format", "ngt"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "exported 8 test cases from 8 conversations of suite \"ReturnsCheckoutSuite\" (NGT test spec YAML), written as 6 NGT cases (neighbours with the same scorers share one): specs/ReturnsAgent-ngtTestSpec.yaml",
        "written: 7 expected topic, 5 expected actions",
        "left out (no Testing Center equivalent): 1 conversations with nothing Testing Center can check",
    ] {
        assert!(out.stderr.lines().any(|l| l == line), "no `{line}` in\n{}", out.stderr);
    }
    assert!(
        out.stderr
            .contains("warning: conversationHistory holds the caller's earlier turns only"),
        "{}",
        out.stderr
    );
    let exported = spec_of(&dir.path().join("specs/ReturnsAgent-ngtTestSpec.yaml"));
    // Case 7's three inputs are one case again, as in the sample.
    assert_eq!(exported.cases.len(), 6);
    assert_eq!(exported.cases[5].inputs.len(), 3);
    let agent_turns = exported.cases.iter().flat_map(|c| &c.inputs).flat_map(|i| &i.history);
    assert!(agent_turns.clone().all(|h| h.role == Role::User));
    assert_eq!(agent_turns.count(), 1);
}

// ---------------------------------------------------------------- export

/// A suite on Acme_Support with every kind of expectation.
const ACME_SUITE: &str = r#"suite: Acme export
description: Pattern B, for Testing Center.
agent: ../agents/acme.yaml
fixtures: { createcase: { result: { case_number: "00004242" } } }
conversations:
  - name: request before any case
    turns:
      - caller: my item is damaged
        expect: { topic: Case_Management, says: email }
      - caller: talk to a human
        expect: { escalated: false, actions: [] }
      - caller: jane@example.com
        expect: { actions: [createcase], escalated: true, handoff: { topic: Case_Management, reason: caller_request }, ended: true }
  - name: store hours after silence
    turns:
      - silence: true
        expect: { ended: false }
      - caller: when are you open
        expect: { topic: Store_Hours, actions_include: [] }
  - name: default path
    turns:
      - caller: get me a human
        expect: { escalated: true }
  - name: nothing to export
    turns:
      - caller: hello
        expect: { says: help }
  - name: skipped one
    skip: later
    turns:
      - caller: agent please
        expect: { escalated: true }
"#;

fn acme_project() -> tempfile::TempDir {
    let dir = project();
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    std::fs::write(dir.path().join("suites/acme.yaml"), ACME_SUITE).unwrap();
    dir
}

fn case(utterance: &str, history: &[&str], topic: Option<&str>, actions: Option<&[&str]>) -> Content {
    vec![(
        utterance.to_string(),
        history.iter().map(|h| h.to_string()).collect(),
        topic.map(str::to_string),
        actions.map(|a| a.iter().map(|x| x.to_string()).collect()),
    )]
}

#[test]
fn export_writes_what_testing_center_checks_and_counts_the_rest() {
    let dir = acme_project();
    let out = baton(dir.path(), &["export", "testing-center", "suites/acme.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = dir.path().join("specs/Acme_Support-testSpec.yaml");
    let spec = spec_of(&file);
    assert_eq!(read_spec::read(&file).unwrap().form.describe(), "legacy test spec YAML");
    assert_eq!(
        (spec.name.as_str(), spec.subject_name.as_str()),
        ("Acme export", "Acme_Support")
    );
    let want: Content = [
        case("my item is damaged", &[], Some("Case_Management"), None),
        case(
            "jane@example.com",
            &["my item is damaged", "talk to a human"],
            Some("Case_Management"),
            Some(&["createcase"]),
        ),
        case("when are you open", &[], Some("Store_Hours"), Some(&[])),
        case("get me a human", &[], Some("Escalation"), None),
    ]
    .concat();
    assert_eq!(content(&spec), want);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("  # from Acme export :: request before any case, turn 3\n  - utterance: jane@example.com\n"),
        "{text}"
    );
    assert!(text.contains("subjectType: AGENT\n"), "{text}");
    for part in [
        "exported 4 test cases from 3 conversations of suite \"Acme export\" (legacy test spec YAML): specs/Acme_Support-testSpec.yaml",
        "written: 3 expected topic, 2 expected actions, 1 expected topic Escalation",
        "1 empty action lists with no topic (nothing Testing Center can check)",
        "1 suite with fixtures (action results)",
        "2 says",
        "1 escalated: false",
        "1 handoff",
        "1 ended",
        "1 expectations on keypad, silence or hang-up turns",
        "1 conversations with nothing Testing Center can check",
        "1 skipped conversations",
        "1 actions: (exact in baton, a superset match in Testing Center)",
        "1 test cases whose history leaves out keypad, silence or hang-up events",
        "1 escalated: true without topic: or handoff.topic, written as expectedTopic Escalation",
        "warning: conversationHistory holds the caller's earlier turns only",
    ] {
        assert!(out.stderr.contains(part), "no `{part}` in\n{}", out.stderr);
    }
    // NGT: the same tests as inputs and scorers.
    let out = baton(
        dir.path(),
        &["export", "testing-center", "suites/acme.yaml", "--format", "ngt"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let file = dir.path().join("specs/Acme_Support-ngtTestSpec.yaml");
    assert_eq!(read_spec::read(&file).unwrap().form.describe(), "NGT test spec YAML");
    assert_eq!(content(&spec_of(&file)), want);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("    scorers:\n      - name: topic_sequence_match\n        expected: Case_Management\n      - name: action_sequence_match\n        expected: createcase\n"),
        "{text}"
    );
}

#[test]
fn export_then_import_is_stable() {
    let dir = acme_project();
    for format in ["legacy", "ngt"] {
        let first = format!("specs/first-{format}.yaml");
        let out = baton(
            dir.path(),
            &[
                "export",
                "testing-center",
                "suites/acme.yaml",
                "--format",
                format,
                "-o",
                &first,
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let back = format!("suites/back-{format}.yaml");
        let out = baton(
            dir.path(),
            &[
                "import",
                "testing-center",
                &first,
                "-o",
                &back,
                "--agent",
                "../agents/acme.yaml",
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stderr.contains("warning"), "{}", out.stderr);
        // Each exported test is a conversation: its history, then its turn.
        let (convs, turns, keys) = figures(&dir.path().join(&back));
        assert_eq!((convs, turns), (4, 6), "{format}");
        assert_eq!(
            keys,
            vec![
                ("actions_include".to_string(), 2),
                ("escalated".to_string(), 1),
                ("topic".to_string(), 3)
            ]
        );
        let run = baton(dir.path(), &["run", &back]);
        assert!(run.code == 0 || run.code == 1, "{}{}", run.stdout, run.stderr);
        let second = format!("specs/second-{format}.yaml");
        let out = baton(
            dir.path(),
            &["export", "testing-center", &back, "--format", format, "-o", &second],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let (a, b) = (spec_of(&dir.path().join(&first)), spec_of(&dir.path().join(&second)));
        assert_eq!(content(&a), content(&b), "{format}");
        assert_eq!(
            (a.name, a.description, a.subject_name),
            (b.name, b.description, b.subject_name)
        );
    }
}

#[test]
fn export_refuses_what_it_cannot_write() {
    let dir = acme_project();
    std::fs::write(
        dir.path().join("suites/empty.yaml"),
        "suite: E\nagent: ../agents/acme.yaml\nconversations:\n  - name: c\n    turns:\n      - caller: hi\n        expect: { says: help }\n",
    )
    .unwrap();
    let out = baton(dir.path(), &["export", "testing-center", "suites/empty.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "error: suites/empty.yaml: nothing to export: no caller turn expects a topic, `escalated: true` or actions"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("1 error; nothing was written"), "{}", out.stderr);
    let out = baton(dir.path(), &["export", "testing-center", "suites"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error: suites: expected one suite file, found 2 suites"),
        "{}",
        out.stderr
    );
    std::fs::write(dir.path().join("suites/bad.yaml"), "suite: B\nagent: ../agents/acme.yaml\nconversations:\n  - name: c\n    turns:\n      - caller: hi\n        expect: { topic: Case_Managment }\n").unwrap();
    let out = baton(dir.path(), &["export", "testing-center", "suites/bad.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("suites/bad.yaml:7:26: unknown topic 'Case_Managment'"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("specs").exists(), "nothing may be written");
    // Outside the project root, as for `run`.
    let outside = tempfile::tempdir().unwrap();
    let agent = dir.path().join("agents/acme.yaml");
    std::fs::write(
        outside.path().join("s.yaml"),
        ACME_SUITE.replace("../agents/acme.yaml", s(&agent)),
    )
    .unwrap();
    std::fs::create_dir_all(outside.path().join(".git")).unwrap();
    let suite = outside.path().join("s.yaml");
    let out = baton(
        dir.path(),
        &["export", "testing-center", s(&suite), "-o", "specs/x.yaml"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("leaves the project root"), "{}", out.stderr);
    let out = baton(
        dir.path(),
        &[
            "export",
            "testing-center",
            s(&suite),
            "-o",
            "specs/x.yaml",
            "--allow-outside-root",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

// ---------------------------------------------------------------- errors and files

#[test]
fn malformed_input_is_located_exits_2_and_writes_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        ("bad.yaml", "subjectName: A\ntestCases:\n  - utterance: [x\n", ":3:16: "),
        (
            "unknown.yaml",
            "subjectName: A\ntestCases:\n  - utterance: a\n    expectedTopics: T\n",
            ":4:5: unknown field 'expectedTopics'",
        ),
        (
            "prompt.yaml",
            "subjectType: PROMPT\nsubjectName: A\ntestCases:\n  - utterance: a\n",
            ":1:14: subjectType 'PROMPT' is not supported: baton tests agents (expected AGENT)",
        ),
        (
            "ngt.yaml",
            "subjectName: A\ntestCases:\n  - inputs: [{utterance: a}]\n    scorers: []\n",
            ":4:14: no scorers: expected at least one",
        ),
        (
            "ngt-broken.yaml",
            "subjectName: A\ntestCases:\n  - inputs:\n      - utterance: a\n    scorers:\n      - name: topic_sequence_match\n        expected: [x\n",
            ":7:19: ",
        ),
        (
            "bad.xml",
            "<?xml version=\"1.0\"?>\n<AiTestingDefinition>\n  <subjectName>A</subjectName>\n  <testCase><inputs><utterance>x</utterance></inputs>\n</AiTestingDefinition>\n",
            ":5:1: malformed XML: ",
        ),
        (
            "foo.xml",
            "<?xml version=\"1.0\"?>\n<Foo/>\n",
            ":2:1: expected an <AiEvaluationDefinition> or <AiTestingDefinition> document, found <Foo>",
        ),
        (
            "list.aiEvaluationDefinition-meta.xml",
            "<?xml version=\"1.0\"?>\n<AiEvaluationDefinition>\n  <subjectName>A</subjectName>\n  <testCase>\n    <expectation>\n      <name>action_sequence_match</name>\n      <expectedValue>[&apos;A&apos;,</expectedValue>\n    </expectation>\n    <inputs><utterance>x</utterance></inputs>\n  </testCase>\n</AiEvaluationDefinition>\n",
            ":7:7: action_sequence_match: the list has no closing ']': expected ['A','B']",
        ),
        (
            "noinputs.xml",
            "<AiEvaluationDefinition>\n  <subjectName>A</subjectName>\n  <testCase>\n    <number>1</number>\n  </testCase>\n</AiEvaluationDefinition>\n",
            ":3:3: <testCase> has no <inputs>: expected one with an <utterance>",
        ),
        (
            "dtd.xml",
            "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"xx\">]>\n<AiTestingDefinition/>\n",
            ":1:1: malformed XML: XML with DTD detected",
        ),
    ];
    for (name, text, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = baton(dir.path(), &["import", "testing-center", name, "-o", "out.yaml"]);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        let want = format!("error: {name}{want}");
        assert!(out.stderr.contains(&want), "{name}: no `{want}` in\n{}", out.stderr);
        assert!(out.stderr.contains("; nothing was written"), "{}", out.stderr);
        assert!(!dir.path().join("out.yaml").exists(), "{name}: a suite was written");
    }
}

#[test]
fn existing_files_are_replaced_only_with_force() {
    let dir = sample_project();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "subjectName: Guest_Experience_Agent\ntestCases:\n  - utterance: hi\n    expectedTopic: Local_Weather\n",
    )
    .unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "testing-center", "spec.yaml", "-o", "suites/out.yaml"];
        args.extend_from_slice(extra);
        baton(dir.path(), &args)
    };
    assert_eq!(import(&[]).code, 0);
    std::fs::write(dir.path().join("suites/out.yaml"), "mine").unwrap();
    let out = import(&[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("error: suites/out.yaml: exists: pass --force to replace it, or choose another output with -o"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("suites/out.yaml")).unwrap(),
        "mine"
    );
    assert_eq!(import(&["--force"]).code, 0);
    assert!(
        std::fs::read_to_string(dir.path().join("suites/out.yaml"))
            .unwrap()
            .contains("suite: Guest_Experience_Agent\n")
    );
    // Never the input itself, nor through a link.
    let out = baton(
        dir.path(),
        &["import", "testing-center", "spec.yaml", "-o", "spec.yaml", "--force"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("error: spec.yaml: is the input file"),
        "{}",
        out.stderr
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("agents/acme.yaml"), dir.path().join("suites/link.yaml")).unwrap();
        let out = baton(
            dir.path(),
            &[
                "import",
                "testing-center",
                "spec.yaml",
                "-o",
                "suites/link.yaml",
                "--force",
            ],
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("exists and is not a regular file"),
            "{}",
            out.stderr
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("suites"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn without_agent_the_subject_is_written_and_the_user_told() {
    let dir = project();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "name: T\nsubjectName: Guest_Experience_Agent\ntestCases:\n  - utterance: hi\n    expectedTopic: Local_Weather\n",
    )
    .unwrap();
    let out = baton(dir.path(), &["import", "testing-center", "spec.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: no --agent given: the suite names agent \"Guest_Experience_Agent\", which baton cannot load; set `agent:` in suites/Guest_Experience_Agent.testing-center.yaml"),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(dir.path().join("suites/Guest_Experience_Agent.testing-center.yaml")).unwrap();
    assert!(text.contains("\nagent: Guest_Experience_Agent\n"), "{text}");
    assert!(text.contains("\n# Set `agent:` to the baton agent"), "{text}");
    // A Salesforce project agent is written as given; names go unchecked.
    let out = baton(
        dir.path(),
        &[
            "import",
            "testing-center",
            "spec.yaml",
            "-o",
            "suites/sf.yaml",
            "--agent",
            "../force-app#Guest_Experience_Agent",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("names an agent in a Salesforce project, which this baton cannot load yet"),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(dir.path().join("suites/sf.yaml")).unwrap();
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(v["agent"], "../force-app#Guest_Experience_Agent");
    assert_eq!(v["conversations"][0]["turns"][0]["expect"]["topic"], "Local_Weather");
    // An agent that does not load: said, and names go unchecked.
    let out = baton(
        dir.path(),
        &[
            "import",
            "testing-center",
            "spec.yaml",
            "-o",
            "suites/m.yaml",
            "--agent",
            "../agents/missing.yaml",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: cannot load agent suites/../agents/missing.yaml to check topic and action names"),
        "{}",
        out.stderr
    );
}

#[test]
fn escalation_and_odd_text_survive_both_ways() {
    let dir = sample_project();
    let spec = r#"name: "Odd: \"quotes\" # and more"
description: "two\nlines"
subjectType: AGENT
subjectName: Guest_Experience_Agent
testCases:
  - utterance: "line one\nline two: with # hash and 'quotes' \"double\""
    expectedTopic: Local_Weather
    expectedOutcome: "multi\nline \a bell \u202e rtl"
  - utterance: "- get me a human"
    expectedTopic: Escalation
  - utterance: "yes"
    expectedActions: [Check_Weather]
    conversationHistory:
      - {role: user, message: "null"}
      - {role: agent, message: "tab\there\nnewline \u2066x", topic: Local_Weather}
      - {role: user, message: "  spaced  "}
"#;
    std::fs::write(dir.path().join("odd.yaml"), spec).unwrap();
    let out = baton(
        dir.path(),
        &[
            "import",
            "testing-center",
            "odd.yaml",
            "-o",
            "suites/odd.yaml",
            "--agent",
            "../agents/guest.yaml",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(dir.path().join("suites/odd.yaml")).unwrap();
    for (i, line) in text.lines().enumerate() {
        assert!(
            !line
                .chars()
                .any(|c| c.is_control() || ('\u{2066}'..='\u{2069}').contains(&c) || c == '\u{202e}'),
            "line {}: {line:?}",
            i + 1
        );
    }
    assert!(
        text.contains("    # expectedOutcome (LLM-judged, not checked by baton): \"multi line   bell  rtl\"\n"),
        "{text}"
    );
    assert!(text.contains("      # agent turn of conversationHistory (topic Local_Weather), not a caller event: \"tab here newline x\"\n"), "{text}");
    assert!(text.contains("          escalated: true"), "{text}");
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(v["suite"], "Odd: \"quotes\" # and more");
    assert_eq!(v["description"], "two\nlines");
    assert_eq!(
        v["conversations"][0]["name"],
        "1: line one line two: with # hash and 'quotes'…"
    );
    assert_eq!(
        v["conversations"][0]["turns"][0]["caller"],
        "line one\nline two: with # hash and 'quotes' \"double\""
    );
    assert_eq!(v["conversations"][2]["turns"][0]["caller"], "null");
    assert_eq!(v["conversations"][2]["turns"][1]["caller"], "  spaced  ");
    let run = baton(dir.path(), &["run", "suites/odd.yaml"]);
    assert!(run.code == 0 || run.code == 1, "{}{}", run.stdout, run.stderr);
    // And back: the same utterances, history, topics (Escalation too) and actions.
    for format in ["legacy", "ngt"] {
        let file = format!("specs/odd-{format}.yaml");
        let out = baton(
            dir.path(),
            &[
                "export",
                "testing-center",
                "suites/odd.yaml",
                "--format",
                format,
                "-o",
                &file,
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let (a, b) = (spec_of(&dir.path().join("odd.yaml")), spec_of(&dir.path().join(&file)));
        assert_eq!(content(&a), content(&b), "{format}");
        assert_eq!((a.name, a.description), (b.name, b.description));
    }
}
