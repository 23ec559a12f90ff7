//! Reading the agent that ships: Salesforce DX metadata. The public samples
//! in ../shared/salesforce-samples/ load and yield what their files say;
//! fixtures/sfdx/contoso is the same agent as fixtures/agents/contoso_voice.yaml
//! (same transcripts, same fuzz and verify verdicts).

use std::path::{Path, PathBuf};

use baton::agent::compiled::{Agent, Cond};
use baton::agent::spec::CmpOp;
use baton::explore::fuzz::{FuzzOptions, fuzz_suite};
use baton::explore::verify::{VerifyOptions, verify_suite};
use baton::model::raw::Channel;
use baton::runner::{self, RunOptions};

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn samples() -> PathBuf {
    root().join("../shared/salesforce-samples")
}

fn load(path: &Path) -> Agent {
    baton::agent::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn topic<'a>(a: &'a Agent, name: &str) -> &'a baton::agent::compiled::Topic {
    a.topics.iter().find(|t| t.name == name).unwrap_or_else(|| {
        panic!(
            "no topic {name} in {:?}",
            a.topics.iter().map(|t| &t.name).collect::<Vec<_>>()
        )
    })
}

fn notes(a: &Agent) -> String {
    a.notes.iter().map(|n| n.value.as_str()).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_voice_bundle_sample_gates_escalation_on_verification() {
    let a = load(&samples().join("metadata-bundle-voice"));
    assert_eq!(a.name, "Agentforce_Service_Agent");
    assert_eq!(a.channel, Channel::Voice);
    assert_eq!(a.escalation.flow.as_deref(), Some("Outbound_route_VoiceCall_to_Queue"));
    assert_eq!(a.escalation.message, "Routing this call to an associate");
    assert!(a.escalation.surface.as_deref().unwrap().starts_with("Telephony"));
    assert!(
        a.escalation.default_topic,
        "the standard Escalation topic is the built-in one"
    );
    let gate = a.escalation.available.as_ref().expect("Escalation is gated");
    assert_eq!(gate.name, "IsVerifiedNew");
    let Cond::All(all) = &gate.expr else { panic!("{gate:?}") };
    let [Cond::Cmp(cmp)] = &all[..] else { panic!("{gate:?}") };
    assert_eq!(a.variables[cmp.var as usize].name, "isVerifiedNew");
    assert_eq!(cmp.op, CmpOp::Eq);
    assert_eq!(cmp.value.as_deref(), Some("true"));
    let names: Vec<&str> = a.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["GeneralFAQ", "ServiceCustomerVerification"],
        "ids stripped, Escalation built in"
    );
    assert!(a.topics.iter().all(|t| !t.can_escalate));
    assert_eq!(
        topic(&a, "GeneralFAQ").available.as_ref().unwrap().name,
        "IsVerifiedNew"
    );
    assert!(topic(&a, "ServiceCustomerVerification").available.is_none());
    // Scope first, then the six instructions by sortOrder.
    assert_eq!(topic(&a, "GeneralFAQ").instructions.len(), 7);
    let verify = a.actions.iter().find(|x| x.name == "Verify_SMS_Code_MFA").unwrap();
    let sets: Vec<(&str, &str)> = verify
        .sets
        .iter()
        .map(|(o, v)| {
            (
                verify.outputs[*o as usize].as_str(),
                a.variables[*v as usize].name.as_str(),
            )
        })
        .collect();
    assert_eq!(sets, [("isVerified", "isVerifiedNew")]);
    assert!(
        verify.inputs.is_empty(),
        "authenticationKey comes from a variable, not the caller"
    );
    let n = notes(&a);
    assert!(
        n.contains("<GenAiPlannerBundle/voiceDefinition> is not modelled"),
        "{n}"
    );
}

#[test]
fn the_bundle_sample_reads_customised_and_referenced_topics() {
    let a = load(&samples().join("metadata-bundle"));
    assert_eq!(a.name, "Coral_Cloud_Agent");
    assert_eq!(a.channel, Channel::Messaging);
    assert_eq!(a.escalation.flow, None, "no surface has an outbound route");
    assert!(!a.escalation.default_topic, "the bundle has no Escalation topic");
    let names: Vec<&str> = a.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ServiceCustomerVerification", "Unverified_Customer_Support"]);
    let verification = topic(&a, "ServiceCustomerVerification");
    let gate = verification
        .available
        .as_ref()
        .expect("gated by Is_Unverified_Customer");
    assert_eq!(gate.name, "Is_Unverified_Customer");
    let Cond::All(all) = &gate.expr else { panic!("{gate:?}") };
    let [Cond::Cmp(cmp)] = &all[..] else { panic!("{gate:?}") };
    assert_eq!(cmp.op, CmpOp::IsEmpty);
    assert_eq!(a.variables[cmp.var as usize].name, "Verified_Customer_Id");
    // A standard action known only from its mappings gets the outputs they name.
    let verify = a.actions.iter().find(|x| x.name == "VerifyCustomer").unwrap();
    assert!(
        verify.outputs.contains(&"isVerified".to_string()),
        "{:?}",
        verify.outputs
    );
    // A custom topic missing from the project is a warning (a partial
    // retrieve); a standard action with no file, a note.
    let lints: Vec<&str> = a.lints.iter().map(|l| l.value.as_str()).collect();
    assert!(
        lints.contains(&"topic 'Verified_Customer_Support' has no GenAiPlugin file in the project: not modelled (retrieve it to test it)"),
        "{lints:?}"
    );
    let n = notes(&a);
    assert!(
        n.contains("action 'SvcCopilotTmpl__VerifyCustomer' has no GenAiFunction file in the project (a standard one)"),
        "{n}"
    );
    assert!(
        n.contains("rule 'Is_Verified_Customer' is assigned to 'Verified_Customer_Support'"),
        "{n}"
    );
    assert!(n.contains("no outbound route"), "{n}");
}

#[test]
fn the_classic_sample_reads_the_planner_and_its_bot() {
    let a = load(&samples().join("metadata-classic"));
    assert_eq!(a.name, "Guest_Experience_Agent");
    assert!(
        a.path
            .ends_with("genAiPlanners/Guest_Experience_Agent.genAiPlanner-meta.xml")
    );
    let names: Vec<&str> = a.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Experience_Management"]);
    let t = topic(&a, "Experience_Management");
    assert!(!t.can_escalate);
    // No sortOrder in this file: the instructions keep their order, after the scope.
    assert_eq!(t.instructions.len(), 7);
    assert!(
        t.instructions[1]
            .text
            .starts_with("If a customer would like more information")
    );
    assert!(
        a.variables.iter().any(|v| v.name == "VerifiedCustomerId"),
        "declared by the BotVersion"
    );
    assert_eq!(
        a.escalation.message, "One moment while I connect you to the next available service representative.",
        "the Transfer_To_Agent dialog's message"
    );
    // 'Get Sessions' is the label of Get_Sessions.
    assert!(t.rules.iter().any(
        |r| matches!(r, baton::policy::Rule::RunAction { action, .. } if a.actions[*action as usize].name == "Get_Sessions")
    ));
}

/// A project of our own around the sample's Check_Weather function, to read
/// its schemas (the sample has no planner that uses it).
#[test]
fn function_schemas_give_inputs_outputs_and_default_results() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("force-app/main/default");
    std::fs::create_dir_all(base.join("genAiPlanners")).unwrap();
    std::fs::create_dir_all(base.join("genAiPlugins")).unwrap();
    std::fs::write(
        dir.path().join("sfdx-project.json"),
        r#"{"packageDirectories":[{"path":"force-app"}]}"#,
    )
    .unwrap();
    std::fs::write(
        base.join("genAiPlanners/Weather.genAiPlanner-meta.xml"),
        "<GenAiPlanner><genAiPlugins><genAiPluginName>Weather_Topic</genAiPluginName></genAiPlugins><plannerType>AiCopilot__ReAct</plannerType></GenAiPlanner>",
    )
    .unwrap();
    std::fs::write(
        base.join("genAiPlugins/Weather_Topic.genAiPlugin-meta.xml"),
        "<GenAiPlugin><canEscalate>false</canEscalate><description>Weather</description><genAiFunctions><functionName>Check_Weather</functionName></genAiFunctions><genAiPluginInstructions><description>Use 'Check Weather' to answer weather questions.</description></genAiPluginInstructions></GenAiPlugin>",
    )
    .unwrap();
    copy_dir(
        &samples().join("metadata-classic/genAiFunctions/Check_Weather"),
        &base.join("genAiFunctions/Check_Weather"),
    );
    let a = load(dir.path());
    let w = a.actions.iter().find(|x| x.name == "Check_Weather").unwrap();
    assert_eq!(a.slots[w.inputs[0] as usize].name, "dateToCheck");
    assert_eq!(
        a.slots[0].extractor.shape,
        baton::nlu::Shape::Answer,
        "asked for, filled by the answer"
    );
    assert_eq!(
        w.outputs,
        ["maxTemperature", "minTemperature", "temperatureDescription"]
    );
    let fx = &a.fixtures.actions[0].outputs;
    assert_eq!(fx[0].as_deref(), Some("1"), "a number");
    assert_eq!(fx[2].as_deref(), Some("sample temperatureDescription"));
    // 'Check Weather' (the label) runs it.
    assert!(
        a.topics[0]
            .rules
            .iter()
            .any(|r| matches!(r, baton::policy::Rule::RunAction { .. }))
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Copies of a suite naming the YAML agent and the DX project agent.
fn both_forms(suite: &str, dir: &Path) -> [PathBuf; 2] {
    let text = std::fs::read_to_string(root().join("suites").join(suite)).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("transcript:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let forms = [
        root().join("fixtures/agents/contoso_voice.yaml"),
        root().join("fixtures/sfdx/contoso/baton/contoso_voice.overlay.yaml"),
    ];
    let mut out = [PathBuf::new(), PathBuf::new()];
    for (i, agent) in forms.iter().enumerate() {
        let file = dir.join(format!("{i}-{suite}"));
        std::fs::write(
            &file,
            text.replace(
                "agent: ../fixtures/agents/contoso_voice.yaml",
                &format!("agent: {}", agent.display()),
            ),
        )
        .unwrap();
        out[i] = file;
    }
    out
}

#[test]
fn the_dx_project_gives_the_same_transcripts_as_the_yaml_agent() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        keep_transcripts: true,
        ..RunOptions::default()
    };
    for suite in ["contoso_voice.yaml", "voice_events.yaml"] {
        let [yaml, sfdx] = both_forms(suite, dir.path());
        let a = runner::run(&common::load_anywhere(&[yaml]).unwrap(), &opts, &()).unwrap();
        let b = runner::run(&common::load_anywhere(&[sfdx]).unwrap(), &opts, &()).unwrap();
        let cases = |r: &runner::RunResult| -> Vec<(String, runner::Status, Option<String>)> {
            r.suites[0]
                .cases
                .iter()
                .map(|c| (c.name.clone(), c.status.clone(), c.transcript.clone()))
                .collect()
        };
        assert!(!cases(&a).is_empty());
        assert_eq!(
            cases(&a),
            cases(&b),
            "{suite}: transcripts differ between the two forms"
        );
        assert!(
            cases(&b).iter().all(|c| c.1 == runner::Status::Passed),
            "{suite}: every conversation passes"
        );
    }
}

#[test]
fn the_dx_project_gives_the_same_fuzz_and_verify_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let [yaml, sfdx] = both_forms("contoso_policy.yaml", dir.path());
    // A property the agent breaks (Store_Info hands off without a case).
    for f in [&yaml, &sfdx] {
        let text = std::fs::read_to_string(f).unwrap().replace(
            "properties:\n",
            "properties:\n  - name: every handoff comes with a case\n    escalation_requires: { actions: [createcase] }\n",
        );
        std::fs::write(f, text).unwrap();
    }
    let a = common::load_anywhere(&[yaml]).unwrap().remove(0);
    let b = common::load_anywhere(&[sfdx]).unwrap().remove(0);
    let fuzz = FuzzOptions {
        cases: 3_000,
        ..FuzzOptions::default()
    };
    assert_eq!(
        common::lengths(&fuzz_suite(&a, &fuzz)),
        common::lengths(&fuzz_suite(&b, &fuzz))
    );
    let verify = VerifyOptions {
        depth: 8,
        ..VerifyOptions::default()
    };
    let (va, vb) = (verify_suite(&a, &verify), verify_suite(&b, &verify));
    assert_eq!(common::lengths(&va), common::lengths(&vb));
    assert_eq!(va.stats.states, vb.stats.states, "the same state space");
    assert!(
        common::lengths(&va).iter().any(|v| v.1.is_some()),
        "the policy suite has a violation to find"
    );
}

fn baton(args: &[&str]) -> (i32, String, String) {
    common::baton_in(&root(), args)
}

#[test]
fn explain_says_what_it_took_and_what_it_did_not_model() {
    let voice = samples().join("metadata-bundle-voice");
    let (code, out, err) = baton(&["explain", voice.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("route from surface: Telephony (a voice agent (Atlas__VoiceAgent) uses its Telephony surface)"),
        "{out}"
    );
    assert!(
        out.contains("Escalation topic available only when: IsVerifiedNew (isVerifiedNew == true)"),
        "{out}"
    );
    assert!(
        out.contains("available only when: IsVerifiedNew (isVerifiedNew == true) (by structure)"),
        "{out}"
    );
    assert!(out.contains("not modelled, and defaults baton chose:"), "{out}");
    assert!(
        out.contains("topic GeneralFAQ speaks of escalation in its instructions but lacks can_escalate"),
        "{out}"
    );
    let bundle = samples().join("metadata-bundle");
    let (_, out, _) = baton(&["explain", bundle.to_str().unwrap()]);
    assert!(
        out.contains("no outbound route: the agent says it escalates, but nothing reaches an Omni-Channel flow"),
        "{out}"
    );
}

#[test]
fn a_project_with_several_agents_needs_a_name() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["Alpha", "Beta"] {
        let b = dir.path().join(format!("force-app/genAiPlannerBundles/{name}"));
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(
            b.join(format!("{name}.genAiPlannerBundle")),
            "<GenAiPlannerBundle><localTopics><fullName>T</fullName><description>Anything</description></localTopics></GenAiPlannerBundle>",
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("sfdx-project.json"),
        r#"{"packageDirectories":[{"path":"force-app"}]}"#,
    )
    .unwrap();
    let p = dir.path().to_str().unwrap().to_string();
    common::check_picking_by_name(&p, "Alpha, Beta", "Beta", "agent: Beta", "Gamma");
}

#[test]
fn malformed_metadata_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("genAiPlannerBundles/Broken");
    std::fs::create_dir_all(&b).unwrap();
    let file = b.join("Broken.genAiPlannerBundle");
    std::fs::write(
        &file,
        "<GenAiPlannerBundle>\n  <description>x</descr>\n</GenAiPlannerBundle>\n",
    )
    .unwrap();
    let (code, _, err) = baton(&["explain", b.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{}:2:", file.display())), "{err}");
    assert!(err.contains("malformed XML"), "{err}");
    std::fs::write(
        &file,
        "<GenAiPlannerBundle>\n  <ruleExpressionAssignments>\n    <ruleExpressionName>Nope</ruleExpressionName>\n    <targetName>T</targetName>\n  </ruleExpressionAssignments>\n</GenAiPlannerBundle>\n",
    )
    .unwrap();
    let (code, _, err) = baton(&["explain", b.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}:2:3: rule assignment names unknown rule expression 'Nope'",
            file.display()
        )),
        "{err}"
    );
}

/// serde_json puts an error at the end of a file in column 0, and says
/// the position again in its message.
#[test]
fn a_truncated_project_file_is_located_in_columns_from_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sfdx-project.json");
    std::fs::write(&file, "{\n  \"packageDirectories\": [\n").unwrap();
    let (code, _, err) = baton(&["explain", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}:3:1: not a valid sfdx-project.json: EOF while parsing a list\n",
            file.display()
        )),
        "{err}"
    );
}

#[test]
fn an_overlay_names_the_surface_whose_route_to_take() {
    let dir = tempfile::tempdir().unwrap();
    let project = root().join("fixtures/mutants/sfdx_no_route_on_surface/force-app");
    let overlay = dir.path().join("o.yaml");
    let write = |surface: &str| {
        std::fs::write(
            &overlay,
            format!("extends: {}\nsurface: {surface}\n", project.display()),
        )
        .unwrap();
    };
    // By default the voice agent takes its Telephony surface, which has no route.
    std::fs::write(&overlay, format!("extends: {}\n", project.display())).unwrap();
    assert_eq!(load(&overlay).escalation.flow, None);
    write("Messaging");
    let a = load(&overlay);
    assert_eq!(a.escalation.flow.as_deref(), Some("Route_To_Contoso_Queue"));
    assert_eq!(
        a.escalation.surface.as_deref(),
        Some("Messaging (named by the overlay's `surface`)")
    );
    write("Slack");
    let err = baton::agent::load(&overlay).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "{}:2:10: the agent has no 'Slack' surface: expected one of Messaging, Telephony",
            overlay.display()
        )),
        "{err}"
    );
}

/// An overlay's `extends:` and a suite's `agent:` that lead nowhere, to a
/// special file, or put `#Name` on what is no project are errors at the
/// value: they were errors naming the joined path (no file at all) with no
/// position.
#[test]
fn bad_extends_and_selectors_are_located_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("o.yaml");
    let agent_err = |extends: &str| {
        std::fs::write(&overlay, format!("# an overlay\nextends: {extends}\n")).unwrap();
        baton::agent::load(&overlay).unwrap_err().to_string()
    };
    let at = format!("{}:2:10: ", overlay.display());
    assert_eq!(
        agent_err("../missing/force-app"),
        format!("{at}cannot read extended agent '../missing/force-app': no such file or directory")
    );
    std::fs::write(dir.path().join("agent.yaml"), "agent: A\n").unwrap();
    assert!(
        agent_err("agent.yaml#Beta").starts_with(&format!(
            "{at}extended agent 'agent.yaml#Beta' picks an agent named 'Beta', but "
        )),
        "{}",
        agent_err("agent.yaml#Beta")
    );
    #[cfg(unix)]
    {
        let fifo = dir.path().join("pipe.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(
            agent_err("pipe.yaml"),
            format!("{at}extended agent 'pipe.yaml' is a FIFO (named pipe): expected a regular file")
        );
    }
    // A suite naming `#Name` beside it: its own folder is no project.
    let suite = dir.path().join("s.yaml");
    std::fs::write(
        &suite,
        "suite: s\nagent: \"#Contoso_Voice\"\nconversations:\n  - name: c\n    turns: [{ caller: hi }]\n",
    )
    .unwrap();
    let err = common::load_anywhere(std::slice::from_ref(&suite))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}:2:8: agent '#Contoso_Voice' picks an agent named 'Contoso_Voice', but ",
            suite.display()
        )),
        "{err}"
    );
}
