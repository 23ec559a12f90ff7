//! The checked caller suite: events and expectations with every reference to
//! the agent (topics, actions, slots, outputs) resolved, regexes compiled,
//! fixtures merged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde_saphyr::Spanned;

use super::agent::{Agent, Fixtures, apply_result};
use super::raw::{self, Channel, HandoffReason};
use crate::diag::{Diagnostic, Diagnostics, Pos, did_you_mean, one_of};
use crate::policy::{ActionId, SlotId};

#[derive(Debug)]
pub struct Suite {
    pub name: String,
    pub path: PathBuf,
    pub description: Option<String>,
    pub agent: Arc<Agent>,
    pub tags: Vec<String>,
    pub fixtures: Arc<Fixtures>,
    pub conversations: Vec<Conversation>,
}

#[derive(Debug)]
pub struct Conversation {
    pub name: String,
    pub line: u32,
    pub tags: Vec<String>,
    pub skip: Option<String>,
    /// Golden transcript, resolved against the suite's folder.
    pub transcript: Option<PathBuf>,
    /// The conversation's own fixtures, when it overrides the suite's.
    pub fixtures: Option<Arc<Fixtures>>,
    pub events: Vec<Event>,
    /// One entry per event.
    pub expects: Vec<Option<Box<Expect>>>,
}

/// A caller event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Caller(String),
    Silence,
    Dtmf(String),
    Hangup,
}

#[derive(Debug, Default)]
pub struct Expect {
    pub topic: Option<String>,
    pub actions: Option<Vec<ActionExpect>>,
    pub says: Option<Says>,
    pub escalated: Option<bool>,
    pub handoff: Option<HandoffExpect>,
    pub slots: Option<Vec<(SlotId, String)>>,
    pub ended: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionExpect {
    pub action: ActionId,
    pub ok: bool,
}

/// `says`: a case-insensitive substring, or `/regex/flags`.
#[derive(Debug)]
pub enum Says {
    Contains { text: String, lower: String },
    Regex { regex: Regex, source: String },
}

impl Says {
    pub fn matches(&self, said: &str) -> bool {
        match self {
            Says::Contains { lower, .. } => said.to_lowercase().contains(lower.as_str()),
            Says::Regex { regex, .. } => regex.is_match(said),
        }
    }

    pub fn source(&self) -> &str {
        match self {
            Says::Contains { text, .. } => text,
            Says::Regex { source, .. } => source,
        }
    }
}

#[derive(Debug, Default)]
pub struct HandoffExpect {
    pub flow: Option<String>,
    pub message: Option<String>,
    pub reason: Option<HandoffReason>,
    pub topic: Option<String>,
    pub turn: Option<u32>,
    pub context: Vec<(String, String)>,
}

/// Loads the suites at `paths` (files, or folders searched recursively), in
/// a stable order, reporting every problem found.
pub fn load_suites(paths: &[PathBuf]) -> Result<Vec<Suite>, Diagnostics> {
    let mut errs = Diagnostics::default();
    let mut files = Vec::new();
    for p in paths {
        if let Err(d) = discover(p, true, &mut files) {
            errs.push(d);
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() && errs.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        errs.push(Diagnostic::new(Path::new(&shown.join(", ")), Pos::FILE, "no suite files found: expected .yaml files with a top-level `suite:` key"));
    }
    let mut loader = Loader::default();
    let mut suites = Vec::new();
    for f in &files {
        match loader.load(f) {
            Ok(s) => suites.push(s),
            Err(d) => errs.0.extend(d.0),
        }
    }
    errs.into_result(suites)
}

fn discover(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read: {}", super::yaml::io_reason(&e))))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read folder: {}", super::yaml::io_reason(&e))))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let hidden = e.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if !hidden {
                discover(&e, false, out)?;
            }
        }
    } else if explicit {
        out.push(path.to_path_buf());
    } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) && is_suite_file(path) {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// A YAML file in a searched folder is a suite when it has a top-level
/// `suite:` key; agent configs and other YAML beside suites are left alone.
fn is_suite_file(path: &Path) -> bool {
    use std::io::{BufRead, BufReader};
    let Ok(f) = std::fs::File::open(path) else { return true };
    let mut agent_like = false;
    for line in BufReader::new(f).split(b'\n').take(4096).map_while(Result::ok) {
        if line.starts_with(b"suite:") {
            return true;
        }
        agent_like |= line.starts_with(b"agent:") || line.starts_with(b"topics:");
    }
    // Unknown YAML is loaded so that its error is reported, not hidden.
    !agent_like
}

#[derive(Default)]
struct Loader {
    agents: HashMap<PathBuf, Result<Arc<Agent>, ()>>,
    regexes: HashMap<String, Regex>,
}

impl Loader {
    fn load(&mut self, path: &Path) -> Result<Suite, Diagnostics> {
        let text = super::yaml::read_text(path)?;
        let file: raw::SuiteFile = super::yaml::parse(path, &text, "a suite")?;
        drop(text);
        let mut errs = Diagnostics::default();
        let dir = path.parent().unwrap_or(Path::new("."));
        let agent_path = dir.join(&file.agent.value);
        let key = std::fs::canonicalize(&agent_path).unwrap_or_else(|_| agent_path.clone());
        let agent = match self.agents.get(&key) {
            Some(Ok(a)) => a.clone(),
            Some(Err(())) => return Err(errs),
            None => match std::fs::metadata(&agent_path) {
                Err(e) => {
                    return Err(Diagnostic::new(path, Pos::of(&file.agent), format!("cannot read agent '{}': {}", file.agent.value, super::yaml::io_reason(&e))).into());
                }
                Ok(_) => match Agent::load(&agent_path) {
                    Ok(a) => {
                        let a = Arc::new(a);
                        self.agents.insert(key, Ok(a.clone()));
                        a
                    }
                    Err(d) => {
                        self.agents.insert(key, Err(()));
                        return Err(d);
                    }
                },
            },
        };

        let fixtures = Arc::new(merge_fixtures(path, &mut errs, &agent, &agent.fixtures, &file.fixtures));
        if file.conversations.value.is_empty() {
            errs.push(Diagnostic::new(path, Pos::of(&file.conversations), "suite has no conversations: expected at least one"));
        }
        let mut conversations = Vec::with_capacity(file.conversations.value.len());
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for c in &file.conversations.value {
            if let Some(first) = seen.insert(&c.name.value, c.name.referenced.line() as u32) {
                errs.push(Diagnostic::new(path, Pos::of(&c.name), format!("duplicate conversation name '{}' (first at line {first})", c.name.value)));
            }
            conversations.push(self.conversation(path, dir, &mut errs, &agent, &fixtures, c));
        }
        errs.into_result(Suite {
            name: file.suite.value,
            path: path.to_path_buf(),
            description: file.description,
            agent,
            tags: file.tags,
            fixtures,
            conversations,
        })
    }

    fn conversation(
        &mut self,
        path: &Path,
        dir: &Path,
        errs: &mut Diagnostics,
        agent: &Agent,
        suite_fixtures: &Fixtures,
        c: &raw::ConversationSection,
    ) -> Conversation {
        if c.turns.value.is_empty() {
            errs.push(Diagnostic::new(path, Pos::of(&c.turns), format!("conversation '{}' has no turns: expected at least one", c.name.value)));
        }
        let fixtures = (!c.fixtures.is_empty()).then(|| Arc::new(merge_fixtures(path, errs, agent, suite_fixtures, &c.fixtures)));
        let mut events = Vec::with_capacity(c.turns.value.len());
        let mut expects = Vec::with_capacity(c.turns.value.len());
        for t in &c.turns.value {
            let pos = Pos::of(t);
            let t = &t.value;
            let given = [t.caller.is_some(), t.silence.is_some(), t.dtmf.is_some(), t.hangup.is_some()];
            let event = match (given.iter().filter(|g| **g).count(), t) {
                (0, _) => {
                    errs.push(Diagnostic::new(path, pos, "turn has no caller event: expected one of `caller`, `silence`, `dtmf`, `hangup`"));
                    Event::Silence
                }
                (1, raw::TurnSection { caller: Some(text), .. }) => Event::Caller(text.clone()),
                (1, raw::TurnSection { silence: Some(flag), .. }) | (1, raw::TurnSection { hangup: Some(flag), .. }) => {
                    if !flag {
                        errs.push(Diagnostic::new(path, pos, "`silence`/`hangup` must be `true` (omit the turn instead)"));
                    }
                    if t.silence.is_some() { Event::Silence } else { Event::Hangup }
                }
                (1, raw::TurnSection { dtmf: Some(d), .. }) => {
                    if agent.channel == Channel::Messaging {
                        errs.push(Diagnostic::new(path, Pos::of(d), format!("dtmf event on messaging agent '{}': expected a voice agent", agent.name)));
                    } else if d.value.is_empty() || !d.value.chars().all(|ch| ch.is_ascii_digit() || ch == '*' || ch == '#') {
                        errs.push(Diagnostic::new(path, Pos::of(d), format!("dtmf '{}' is not a keypad sequence: expected digits, '*' or '#'", d.value)));
                    }
                    Event::Dtmf(d.value.clone())
                }
                _ => {
                    errs.push(Diagnostic::new(path, pos, "turn has more than one caller event: expected exactly one of `caller`, `silence`, `dtmf`, `hangup`"));
                    Event::Silence
                }
            };
            events.push(event);
            expects.push(t.expect.as_ref().map(|e| Box::new(self.expect(path, errs, agent, e))));
        }
        let transcript = c.transcript.as_ref().map(|t| {
            if t.value.trim().is_empty() {
                errs.push(Diagnostic::new(path, Pos::of(t), "empty transcript path: expected a file name such as golden/NAME.txt"));
            }
            dir.join(&t.value)
        });
        Conversation {
            name: c.name.value.clone(),
            line: c.name.referenced.line() as u32,
            tags: c.tags.clone(),
            skip: c.skip.clone(),
            transcript,
            fixtures,
            events,
            expects,
        }
    }

    fn expect(&mut self, path: &Path, errs: &mut Diagnostics, agent: &Agent, e: &raw::ExpectSection) -> Expect {
        let topic = e.topic.as_ref().map(|t| topic_ref(path, errs, agent, t));
        let actions = e.actions.as_ref().map(|list| {
            list.iter()
                .filter_map(|a| {
                    let (name, ok) = match a.value.trim().strip_suffix("(failed)") {
                        Some(n) => (n.trim(), false),
                        None => (a.value.trim(), true),
                    };
                    match agent.action_id(name) {
                        Some(action) => Some(ActionExpect { action, ok }),
                        None => {
                            errs.push(unknown(path, a, "action", name, agent.actions.iter().map(|x| x.name.as_str())));
                            None
                        }
                    }
                })
                .collect()
        });
        let says = e.says.as_ref().and_then(|s| self.says(path, errs, s));
        let slots = e.slots.as_ref().map(|m| {
            m.iter()
                .filter_map(|(k, v)| match agent.slot_id(&k.value) {
                    Some(id) => Some((id, v.clone())),
                    None => {
                        errs.push(unknown(path, k, "slot", &k.value, agent.slots.iter().map(|s| s.name.as_str())));
                        None
                    }
                })
                .collect()
        });
        let handoff = e.handoff.as_ref().map(|h| {
            let known: Vec<&str> = agent
                .slots
                .iter()
                .map(|s| s.name.as_str())
                .chain(agent.actions.iter().flat_map(|a| a.outputs.iter().map(String::as_str)))
                .collect();
            for k in h.context.keys() {
                if !known.contains(&k.value.as_str()) {
                    errs.push(unknown(path, k, "context key (slot or action output)", &k.value, known.iter().copied()));
                }
            }
            HandoffExpect {
                flow: h.flow.clone(),
                message: h.message.clone(),
                reason: h.reason,
                topic: h.topic.as_ref().map(|t| topic_ref(path, errs, agent, t)),
                turn: h.turn,
                context: h.context.iter().map(|(k, v)| (k.value.clone(), v.clone())).collect(),
            }
        });
        Expect { topic, actions, says, escalated: e.escalated, handoff, slots, ended: e.ended }
    }

    fn says(&mut self, path: &Path, errs: &mut Diagnostics, s: &Spanned<String>) -> Option<Says> {
        let v = &s.value;
        let regex_form = v.strip_prefix('/').and_then(|rest| {
            let end = rest.rfind('/')?;
            let flags = &rest[end + 1..];
            flags.chars().all(|c| "imsxU".contains(c)).then(|| (&rest[..end], flags))
        });
        let Some((pattern, flags)) = regex_form else {
            return Some(Says::Contains { text: v.clone(), lower: v.to_lowercase() });
        };
        let full = if flags.is_empty() { pattern.to_string() } else { format!("(?{flags}){pattern}") };
        if let Some(re) = self.regexes.get(&full) {
            return Some(Says::Regex { regex: re.clone(), source: v.clone() });
        }
        match Regex::new(&full) {
            Ok(re) => {
                self.regexes.insert(full, re.clone());
                Some(Says::Regex { regex: re, source: v.clone() })
            }
            Err(e) => {
                let msg = e.to_string();
                let detail = msg.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&msg).trim();
                let detail = detail.strip_prefix("error: ").unwrap_or(detail);
                errs.push(Diagnostic::new(path, Pos::of(s), format!("invalid regex in `says`: {detail}")));
                None
            }
        }
    }
}

fn topic_ref(path: &Path, errs: &mut Diagnostics, agent: &Agent, t: &Spanned<String>) -> String {
    if !agent.knows_topic(&t.value) {
        let mut names: Vec<&str> = agent.topics.iter().map(|t| t.name.as_str()).collect();
        if agent.escalation.default_topic {
            names.push(super::agent::BUILTIN_ESCALATION);
        }
        errs.push(unknown(path, t, "topic", &t.value, names.into_iter()));
    }
    t.value.clone()
}

fn unknown<'a, T>(path: &Path, at: &Spanned<T>, kind: &str, name: &str, candidates: impl Iterator<Item = &'a str> + Clone) -> Diagnostic {
    Diagnostic::new(path, Pos::of(at), format!("unknown {kind} '{name}'"))
        .with_help(did_you_mean(name, candidates.clone()).or_else(|| Some(one_of(candidates))))
}

fn merge_fixtures(
    path: &Path,
    errs: &mut Diagnostics,
    agent: &Agent,
    base: &Fixtures,
    overrides: &indexmap::IndexMap<Spanned<String>, raw::FixtureSection>,
) -> Fixtures {
    let mut fx = base.clone();
    for (name, def) in overrides {
        let Some(id) = agent.action_id(&name.value) else {
            errs.push(unknown(path, name, "action", &name.value, agent.actions.iter().map(|a| a.name.as_str())));
            continue;
        };
        let action = &agent.actions[id as usize];
        let slot = &mut fx.actions[id as usize];
        if let Some(f) = def.fails {
            slot.fails = f;
        }
        if let Some(result) = &def.result {
            apply_result(path, errs, &action.name, &action.outputs, result, slot);
        }
    }
    fx
}
