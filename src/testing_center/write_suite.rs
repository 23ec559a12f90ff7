//! Writing a [`Spec`] as a baton suite. Each input of each test case is a
//! conversation: the user turns of its history are the first caller turns,
//! its utterance the last, carrying the checks (`topic`, `escalated: true`
//! for the standard Escalation topic, `actions_include`). Everything else
//! (agent turns of the history, context variables, LLM-judged expectations,
//! names the agent does not have) becomes a comment and is counted.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use super::spec::{Class, ESCALATION_TOPIC, Expect, Form, Kept, Role, Spec, summary_label};
use super::{comment, one_line, scalar};
use crate::diag::{Diagnostic, did_you_mean};
use crate::model::Agent;

pub struct SuiteOptions<'a> {
    /// The spec file, named in the header and in warnings.
    pub source: &'a Path,
    pub form: Form,
    /// What the suite's `agent:` says.
    pub agent_field: &'a str,
    /// The agent, when it could be loaded: topic and action names are
    /// checked against it.
    pub agent: Option<&'a Agent>,
}

/// A suite's text, what went into it, and what the user should look at.
#[derive(Debug)]
pub struct Written {
    pub yaml: String,
    pub summary: Summary,
    pub warnings: Vec<String>,
}

/// Why something was kept as a comment, in the order the summary lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Class(Class),
    /// A topic or action name the agent given with `--agent` does not have.
    NotInAgent,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub cases: usize,
    pub conversations: usize,
    pub turns: usize,
    /// Checked expectations by suite key, in the order first written.
    pub checked: Vec<(&'static str, usize)>,
    /// Comments by why, then by name.
    pub kept: BTreeMap<Group, Vec<(String, usize)>>,
    /// The agent's name, for the not-in-agent line.
    pub agent: Option<String>,
}

fn bump<K: PartialEq>(list: &mut Vec<(K, usize)>, key: K) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => list.push((key, 1)),
    }
}

fn counts<K: std::fmt::Display>(list: &[(K, usize)]) -> String {
    let parts: Vec<String> = list.iter().map(|(k, n)| format!("{n} {k}")).collect();
    parts.join(", ")
}

impl Summary {
    fn keep(&mut self, group: Group, label: &str) {
        bump(self.kept.entry(group).or_default(), label.to_string());
    }

    /// The summary, one line per kind of content.
    pub fn lines(&self, out: &Path, form: Form) -> Vec<String> {
        let mut lines = vec![format!(
            "imported {} test case{} ({}) into {} conversation{}, {} turn{}: {}",
            self.cases,
            plural(self.cases),
            form.describe(),
            self.conversations,
            plural(self.conversations),
            self.turns,
            plural(self.turns),
            out.display()
        )];
        if self.checked.is_empty() {
            lines.push("checked by baton: nothing (no topic or action expectation)".to_string());
        } else {
            lines.push(format!("checked by baton: {}", counts(&self.checked)));
        }
        for (group, list) in &self.kept {
            let why = match group {
                Group::Class(c) => c.why().to_string(),
                Group::NotInAgent => format!("not in agent {}, not checked", self.agent.as_deref().unwrap_or("?")),
            };
            lines.push(format!("kept as comments ({why}): {}", counts(list)));
        }
        lines
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The suite for `spec`.
pub fn write(spec: &Spec, opts: &SuiteOptions<'_>) -> Written {
    let mut w = Writer {
        opts,
        y: String::new(),
        summary: Summary {
            agent: opts.agent.map(|a| a.name.clone()),
            ..Summary::default()
        },
        warnings: Vec::new(),
    };
    w.header(spec);
    let mut names = HashSet::new();
    for case in &spec.cases {
        w.summary.cases += 1;
        for (k, input) in case.inputs.iter().enumerate() {
            let number = if case.inputs.len() > 1 {
                format!("{}.{}", case.number, k + 1)
            } else {
                case.number.clone()
            };
            let mut name = format!("{number}: {}", short(&input.utterance.value));
            let mut n = 2;
            while !names.insert(name.clone()) {
                name = format!("{number}: {} ({n})", short(&input.utterance.value));
                n += 1;
            }
            w.conversation(&name, case, input);
        }
    }
    Written {
        yaml: w.y,
        summary: w.summary,
        warnings: w.warnings,
    }
}

struct Writer<'o, 'a> {
    opts: &'o SuiteOptions<'a>,
    y: String,
    summary: Summary,
    warnings: Vec<String>,
}

impl Writer<'_, '_> {
    fn header(&mut self, spec: &Spec) {
        let y = &mut self.y;
        let _ = writeln!(
            y,
            "# Imported by `baton import testing-center` from {} ({}).",
            comment(&self.opts.source.display().to_string()),
            self.opts.form.describe()
        );
        let version = spec
            .subject_version
            .as_deref()
            .map(|v| format!(", version {}", comment(v)))
            .unwrap_or_default();
        let _ = writeln!(
            y,
            "# Testing Center subject: agent {}{version}.",
            comment(&spec.subject_name)
        );
        let _ = writeln!(
            y,
            "# Each test case is a conversation: the user turns of its history come first, its utterance last."
        );
        let _ = writeln!(
            y,
            "# What baton does not check (LLM-judged expectations, metrics, context variables, agent turns) is kept as comments."
        );
        if self.opts.agent.is_none() {
            let _ = writeln!(
                y,
                "# Set `agent:` to the baton agent (a path from this file's folder) before running this suite."
            );
        }
        let _ = writeln!(y, "suite: {}", scalar(&one_line(&spec.name)));
        if let Some(d) = &spec.description {
            let _ = writeln!(y, "description: {}", scalar(d));
        }
        let _ = writeln!(y, "agent: {}", scalar(self.opts.agent_field));
        let _ = writeln!(y, "conversations:");
    }

    fn conversation(&mut self, name: &str, case: &super::spec::Case, input: &super::spec::Input) {
        self.summary.conversations += 1;
        let _ = writeln!(self.y, "  - name: {}", scalar(name));
        for (k, v) in &input.context {
            self.summary.keep(Group::Class(Class::NotModelled), "contextVariables");
            let _ = writeln!(
                self.y,
                "    # contextVariables ({}): {} = \"{}\"",
                Class::NotModelled.why(),
                comment(k),
                comment(v)
            );
        }
        for kept in case.kept.iter().chain(&input.kept) {
            self.kept(kept);
        }
        let _ = writeln!(self.y, "    turns:");
        for h in &input.history {
            match h.role {
                Role::User => {
                    self.summary.turns += 1;
                    let _ = writeln!(self.y, "      - caller: {}", scalar(&h.message));
                }
                Role::Agent => {
                    self.summary
                        .keep(Group::Class(Class::NotModelled), "agent turns in conversationHistory");
                    let topic = h
                        .topic
                        .as_deref()
                        .map(|t| format!(" (topic {})", comment(t)))
                        .unwrap_or_default();
                    let _ = writeln!(
                        self.y,
                        "      # agent turn of conversationHistory{topic}, not a caller event: \"{}\"",
                        comment(&h.message)
                    );
                }
            }
        }
        self.summary.turns += 1;
        let _ = writeln!(self.y, "      - caller: {}", scalar(&input.utterance.value));
        self.expect(case);
    }

    fn kept(&mut self, k: &Kept) {
        self.summary.keep(Group::Class(k.class), summary_label(&k.name));
        let detail = k
            .detail
            .as_deref()
            .map(|d| format!(": \"{}\"", comment(d)))
            .unwrap_or_default();
        let _ = writeln!(self.y, "    # {} ({}){detail}", comment(&k.name), k.class.why());
    }

    /// The checks of the last turn; names the agent lacks become comments.
    fn expect(&mut self, case: &super::spec::Case) {
        let mut topic: Option<&str> = None;
        let mut actions: Option<Vec<&str>> = None;
        let mut notes: Vec<String> = Vec::new();
        for check in &case.checks {
            match check {
                Expect::Topic(t) => {
                    let name = t.value.as_str();
                    if let Some(first) = topic {
                        if first != name {
                            notes.push(format!(
                                "another expected topic, {} (the first one, {}, is checked)",
                                comment(name),
                                comment(first)
                            ));
                        }
                    } else if name == ESCALATION_TOPIC || self.known_topic(name, t.pos) {
                        topic = Some(name);
                    } else {
                        notes.push(format!("expected topic {}: {}", comment(name), self.not_in_agent()));
                    }
                }
                Expect::Actions(list) => {
                    let all = actions.get_or_insert_with(Vec::new);
                    for a in &list.value {
                        let a = a.as_str();
                        let known = match self.opts.agent {
                            Some(agent) if agent.action_id(a).is_none() => {
                                self.summary.keep(Group::NotInAgent, "actions");
                                let help = did_you_mean(a, agent.actions.iter().map(|x| x.name.as_str()))
                                    .map(|h| format!(" ({h})"))
                                    .unwrap_or_default();
                                self.warnings.push(
                                    Diagnostic::new(
                                        self.opts.source,
                                        list.pos,
                                        format!(
                                            "action '{a}' is not an action of agent {}: kept as a comment{help}",
                                            agent.name
                                        ),
                                    )
                                    .to_string(),
                                );
                                notes.push(format!("expected action {}: {}", comment(a), self.not_in_agent()));
                                false
                            }
                            _ => true,
                        };
                        if known && !all.contains(&a) {
                            all.push(a);
                        }
                    }
                    if all.is_empty() && !list.value.is_empty() {
                        // Every name was unknown: nothing left to check.
                        actions = None;
                    }
                }
            }
        }
        for n in &notes {
            let _ = writeln!(self.y, "        # {n}");
        }
        if topic.is_none() && actions.is_none() {
            if notes.is_empty() {
                let _ = writeln!(self.y, "        # no expectation baton can check");
            }
            return;
        }
        let _ = writeln!(self.y, "        expect:");
        match topic {
            Some(ESCALATION_TOPIC) => {
                bump(&mut self.summary.checked, "escalated");
                let _ = writeln!(
                    self.y,
                    "          escalated: true   # expected topic: {ESCALATION_TOPIC} (the standard escalation topic)"
                );
            }
            Some(t) => {
                bump(&mut self.summary.checked, "topic");
                let _ = writeln!(self.y, "          topic: {}", scalar(t));
            }
            None => {}
        }
        match actions.as_deref() {
            Some([]) => {
                bump(&mut self.summary.checked, "actions_include");
                let _ = writeln!(
                    self.y,
                    "          actions_include: []   # checks nothing, as in Testing Center; `actions: []` would require that no action runs"
                );
            }
            Some(list) => {
                bump(&mut self.summary.checked, "actions_include");
                let _ = writeln!(self.y, "          actions_include:");
                for a in list {
                    let _ = writeln!(self.y, "            - {}", scalar(a));
                }
            }
            None => {}
        }
    }

    fn not_in_agent(&self) -> String {
        let agent = self.opts.agent.map_or("?", |a| a.name.as_str());
        format!("not in agent {}, not checked", comment(agent))
    }

    /// Whether the agent (if any) has the topic; warns when it does not.
    fn known_topic(&mut self, name: &str, pos: crate::diag::Pos) -> bool {
        let Some(agent) = self.opts.agent else {
            return true;
        };
        if agent.knows_topic(name) {
            return true;
        }
        self.summary.keep(Group::NotInAgent, "topics");
        let help = did_you_mean(name, agent.topics.iter().map(|t| t.name.as_str()))
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        self.warnings.push(
            Diagnostic::new(
                self.opts.source,
                pos,
                format!(
                    "topic '{name}' is not a topic of agent {}: kept as a comment{help}",
                    agent.name
                ),
            )
            .to_string(),
        );
        false
    }
}

/// A short form of an utterance for a conversation name: one line, at most
/// about 48 characters, cut at a word.
fn short(utterance: &str) -> String {
    const MAX: usize = 48;
    let line = one_line(utterance);
    if line.chars().count() <= MAX {
        return line;
    }
    let cut: String = line.chars().take(MAX).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > MAX / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short("Where is my order #12345?"), "Where is my order #12345?");
        assert_eq!(
            short("Are there any resort experiences that match my interestes today?"),
            "Are there any resort experiences that match my…"
        );
        assert_eq!(short("a\nb\t c"), "a b c");
        assert_eq!(short(&"x".repeat(60)), format!("{}…", "x".repeat(48)));
    }
}
