//! Building a checked suite while its YAML streams by: each conversation is
//! validated against the agent and compacted into events and checks as soon
//! as it is read, so a large suite is never held both as YAML structures and
//! in its compiled form. Agents are loaded once per run and shared.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::agent::{ActionFixture, Agent, Fixtures, apply_result};
use super::raw::{self, Channel};
use super::refs::{choice, properties};
use super::suite::{ActionExpect, Check, Conversation, Event, HandoffExpect, Says, Suite};
use crate::diag::{Diagnostic, Diagnostics, Pos, suggest};
use crate::files::Root;
use crate::policy::ActionId;

#[derive(Default)]
pub(super) struct Loader {
    agents: HashMap<PathBuf, Result<Arc<Agent>, ()>>,
    regexes: HashMap<String, Arc<Regex>>,
}

/// Fixture overrides resolved against the agent, applied once the suite's
/// own fixtures are known (they may come later in the file).
type Overrides = Vec<(ActionId, Option<bool>, Vec<(usize, String)>)>;

impl Loader {
    pub(super) fn load(&mut self, path: &Path, root: &Root) -> Result<Suite, Diagnostics> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut b = Builder {
            loader: self,
            path,
            dir: &dir,
            root,
            errs: Diagnostics::default(),
            agent: None,
            agent_failed: false,
            conversations: Vec::new(),
            overrides: Vec::new(),
            names: HashMap::new(),
        };
        let top = super::yaml::parse_file_seed(path, "a suite", SuiteSeed(&mut b))?;
        let Builder {
            errs,
            agent,
            mut conversations,
            overrides,
            ..
        } = b;
        let mut errs = errs;
        let names = std::iter::once(("suite name", &top.suite)).chain(top.tags.iter().map(|t| ("tag", t)));
        for (kind, name) in names {
            if let Err(d) = super::name::check(path, Pos::of(name), kind, &name.value) {
                errs.push(d);
            }
        }
        let Some(agent) = agent else {
            return Err(errs);
        };
        let suite_overrides = resolve_overrides(path, &mut errs, &agent, &top.fixtures);
        let fixtures = Arc::new(apply(&agent.fixtures, &suite_overrides));
        let mut properties = properties(path, &mut errs, &agent, &top.properties);
        if let Some(pos) = top.empty_at.filter(|_| properties.is_empty()) {
            errs.push(Diagnostic::new(
                path,
                pos,
                "suite has no conversations and no properties: expected at least one of them",
            ));
        }
        properties.extend(super::property::implied(&agent));
        for (i, o) in overrides {
            conversations[i].fixtures = Some(Arc::new(apply(&fixtures, &o)));
        }
        let mut suite = Suite {
            name: top.suite.value,
            path: path.to_path_buf(),
            root: root.clone(),
            description: top.description,
            agent,
            tags: top.tags.into_iter().map(|t| t.value).collect(),
            fixtures,
            properties,
            conversations,
            caller: Arc::default(),
        };
        suite.caller = Arc::new(super::suite::CallerPool::of([&suite]));
        errs.into_result(suite)
    }
}

/// The top-level keys of a suite other than its conversations.
struct Top {
    suite: Spanned<String>,
    description: Option<String>,
    tags: Vec<Spanned<String>>,
    fixtures: indexmap::IndexMap<Spanned<String>, raw::FixtureSection>,
    properties: Vec<raw::PropertySection>,
    /// Where the suite has no conversations (an error unless it has properties).
    empty_at: Option<Pos>,
}

/// Builds a suite while its YAML streams by: each conversation is checked
/// and compacted as soon as it is read, so a large suite is never held both
/// as YAML structures and as the compiled form.
struct Builder<'l, 'p> {
    loader: &'l mut Loader,
    path: &'p Path,
    dir: &'p Path,
    /// Every path the suite names must stay inside it.
    root: &'p Root,
    errs: Diagnostics,
    agent: Option<Arc<Agent>>,
    agent_failed: bool,
    conversations: Vec<Conversation>,
    overrides: Vec<(usize, Overrides)>,
    names: HashMap<String, u32>,
}

struct SuiteSeed<'b, 'l, 'p>(&'b mut Builder<'l, 'p>);
struct ConversationsSeed<'b, 'l, 'p>(&'b mut Builder<'l, 'p>);

const SUITE_FIELDS: &[&str] = &[
    "suite",
    "description",
    "agent",
    "tags",
    "fixtures",
    "properties",
    "conversations",
];

impl<'de> DeserializeSeed<'de> for SuiteSeed<'_, '_, '_> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SuiteSeed<'_, '_, '_> {
    type Value = Top;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a suite: a mapping with `suite`, `agent` and `conversations`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let b = self.0;
        let (mut suite, mut description, mut tags, mut fixtures) = (None, None, Vec::new(), indexmap::IndexMap::new());
        let mut properties = Vec::new();
        let (mut seen_agent, mut seen_conversations, mut empty_at) = (false, false, None);
        let mut raw_conversations: Option<Vec<raw::ConversationSection>> = None;
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            match key.value.as_str() {
                "suite" => suite = Some(map.next_value::<Spanned<String>>()?),
                "description" => description = map.next_value::<Option<String>>()?,
                "tags" => tags = map.next_value::<Vec<Spanned<String>>>()?,
                "fixtures" => fixtures = map.next_value()?,
                "properties" => properties = map.next_value()?,
                "agent" => {
                    seen_agent = true;
                    let a: Spanned<String> = map.next_value()?;
                    b.resolve_agent(&a);
                }
                "conversations" => {
                    seen_conversations = true;
                    let before = b.conversations.len();
                    if b.agent.is_some() {
                        map.next_value_seed(ConversationsSeed(&mut *b))?;
                    } else if b.agent_failed {
                        map.next_value::<de::IgnoredAny>()?;
                        continue;
                    } else {
                        // `agent` comes later in this file: keep the YAML until then.
                        raw_conversations = Some(map.next_value()?);
                    }
                    if b.conversations.len() == before && raw_conversations.as_ref().is_none_or(Vec::is_empty) {
                        empty_at = Some(Pos::of(&key));
                    }
                }
                other => return Err(de::Error::unknown_field(other, SUITE_FIELDS)),
            }
        }
        if !seen_agent {
            return Err(de::Error::missing_field("agent"));
        }
        let suite = suite.ok_or_else(|| de::Error::missing_field("suite"))?;
        if !seen_conversations {
            // No `conversations` to point at: the suite's name stands for it.
            empty_at = Some(Pos::of(&suite));
        }
        if b.agent.is_some() {
            for c in raw_conversations.unwrap_or_default() {
                b.add(&c);
            }
        }
        Ok(Top {
            suite,
            description,
            tags,
            fixtures,
            properties,
            empty_at,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ConversationsSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ConversationsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(c) = seq.next_element::<raw::ConversationSection>()? {
            self.0.add(&c);
        }
        Ok(())
    }
}

impl Builder<'_, '_> {
    fn resolve_agent(&mut self, a: &Spanned<String>) {
        let agent_path = self.dir.join(&a.value);
        // `PATH#Name` picks one agent of a Salesforce project.
        let (agent_file, _) = crate::agent::front::split_selector(&agent_path);
        if let Err(why) = self.named_file(&agent_file, "agent", a) {
            self.errs.push(why);
            self.agent_failed = true;
            return;
        }
        let key = std::fs::canonicalize(&agent_path).unwrap_or_else(|_| agent_path.clone());
        match self.loader.agents.get(&key) {
            Some(Ok(agent)) => self.agent = Some(agent.clone()),
            Some(Err(())) => self.agent_failed = true,
            None => {
                if let Err(why) = crate::agent::front::check_path(&agent_path, "agent", &a.value) {
                    self.errs.push(Diagnostic::new(self.path, Pos::of(a), why));
                    self.agent_failed = true;
                    return;
                }
                match crate::agent::load_within(&agent_path, self.root) {
                    Ok(agent) => {
                        let agent = Arc::new(agent);
                        self.loader.agents.insert(key, Ok(agent.clone()));
                        self.agent = Some(agent);
                    }
                    Err(d) => {
                        self.loader.agents.insert(key, Err(()));
                        // An error about the project folder as a whole ("no
                        // agent named 'X' here") is at the `agent:` that names it.
                        for e in d.0 {
                            let e = if e.pos == Pos::FILE && e.path == agent_file && agent_file.is_dir() {
                                let help = e.help;
                                Diagnostic::new(self.path, Pos::of(a), format!("agent '{}': {}", a.value, e.message))
                                    .with_help(help)
                            } else {
                                e
                            };
                            self.errs.push(e);
                        }
                        self.agent_failed = true;
                    }
                }
            }
        }
    }

    /// A path the suite names (`written` at its place in the file) must stay
    /// inside the project root and, where it exists, be a regular file: a
    /// FIFO would hang the run and a device would fill the memory.
    fn named_file(&self, file: &Path, what: &str, written: &Spanned<String>) -> Result<(), Diagnostic> {
        let at = |msg: String| Diagnostic::new(self.path, Pos::of(written), msg);
        self.root.check(file, what, &written.value).map_err(at)?;
        match std::fs::metadata(file) {
            // An agent may be a Salesforce project or bundle folder.
            Ok(m) if m.is_dir() && what == "agent" => Ok(()),
            Ok(m) => match crate::files::read::kind_of(&m.file_type()) {
                Some(kind) => Err(at(format!(
                    "{what} '{}' is {kind}: expected a regular file",
                    written.value
                ))),
                None => Ok(()),
            },
            // A missing golden is written by --bless; a missing agent is
            // reported where it is read.
            Err(_) => Ok(()),
        }
    }

    fn add(&mut self, c: &raw::ConversationSection) {
        let names = std::iter::once(("conversation name", &c.name)).chain(c.tags.iter().map(|t| ("tag", t)));
        for (kind, name) in names {
            if let Err(d) = super::name::check(self.path, Pos::of(name), kind, &name.value) {
                self.errs.push(d);
            }
        }
        let line = c.name.referenced.line() as u32;
        if let Some(first) = self.names.insert(c.name.value.clone(), line) {
            self.errs.push(Diagnostic::new(
                self.path,
                Pos::of(&c.name),
                format!("duplicate conversation name '{}' (first at line {first})", c.name.value),
            ));
        }
        let conv = self.conversation(c);
        self.conversations.push(conv);
    }

    fn conversation(&mut self, c: &raw::ConversationSection) -> Conversation {
        let agent = self
            .agent
            .clone()
            .expect("conversations are built once the agent is known");
        let (path, errs) = (self.path, &mut self.errs);
        if c.turns.value.is_empty() {
            errs.push(Diagnostic::new(
                path,
                Pos::of(&c.turns),
                format!("conversation '{}' has no turns: expected at least one", c.name.value),
            ));
        }
        if !c.fixtures.is_empty() {
            let o = resolve_overrides(path, errs, &agent, &c.fixtures);
            self.overrides.push((self.conversations.len(), o));
        }
        let mut events = Vec::with_capacity(c.turns.value.len());
        let mut expects = Vec::with_capacity(c.turns.value.len());
        let mut choices = Vec::new();
        for (i, t) in c.turns.value.iter().enumerate() {
            events.push(event(path, &mut self.errs, &agent, t));
            if let Some(ch) = &t.value.choose {
                choices.push((i as u32, choice(path, &mut self.errs, &agent, ch)));
            }
            let checks = match &t.value.expect {
                Some(e) => self.expect(&agent, e, i as u32 + 1),
                None => Box::default(),
            };
            expects.push(checks);
        }
        let transcript = c.transcript.as_ref().map(|t| {
            let file = self.dir.join(&t.value);
            if t.value.trim().is_empty() {
                self.errs.push(Diagnostic::new(
                    path,
                    Pos::of(t),
                    "empty transcript path: expected a file name such as golden/NAME.txt",
                ));
            } else if let Err(why) = self.named_file(&file, "transcript", t) {
                self.errs.push(why);
            }
            file
        });
        Conversation {
            name: c.name.value.clone(),
            line: c.name.referenced.line() as u32,
            tags: c.tags.iter().map(|t| t.value.clone()).collect(),
            skip: c.skip.clone(),
            transcript,
            transcript_pos: c.transcript.as_ref().map_or(Pos::FILE, Pos::of),
            fixtures: None,
            events,
            expects,
            choices,
        }
    }

    /// The checks of the expectation on turn `turn` (1-based).
    fn expect(&mut self, agent: &Agent, e: &raw::ExpectSection, turn: u32) -> Box<[Check]> {
        let (path, errs) = (self.path, &mut self.errs);
        let mut checks = Vec::new();
        if let Some(t) = &e.topic {
            checks.push(Check::Topic(topic_ref(path, errs, agent, t).into()));
        }
        if let Some(list) = &e.actions {
            checks.push(Check::Actions(action_expects(path, errs, agent, list)));
        }
        if let Some(list) = &e.actions_include {
            checks.push(Check::ActionsInclude(action_expects(path, errs, agent, list)));
        }
        if let Some(s) = &e.says
            && let Some(says) = self.loader.says(path, errs, s)
        {
            checks.push(Check::Says(says));
        }
        if let Some(v) = e.escalated {
            checks.push(Check::Escalated(v));
        }
        if let Some(v) = e.ended {
            checks.push(Check::Ended(v));
        }
        for (k, v) in e.slots.iter().flatten() {
            match agent.slot_id(&k.value) {
                Some(id) => checks.push(Check::Slot(id, v.as_str().into())),
                None => errs.push(unknown(
                    path,
                    k,
                    "slot",
                    &k.value,
                    agent.slots.iter().map(|s| s.name.as_str()),
                )),
            }
        }
        if let Some(h) = &e.handoff {
            let known: Vec<&str> = agent
                .slots
                .iter()
                .map(|s| s.name.as_str())
                .chain(agent.actions.iter().flat_map(|a| a.outputs.iter().map(String::as_str)))
                .collect();
            for k in h.context.keys() {
                if !known.contains(&k.value.as_str()) {
                    errs.push(unknown(
                        path,
                        k,
                        "context key (slot or action output)",
                        &k.value,
                        known.iter().copied(),
                    ));
                }
            }
            // The check looks for a handoff on this turn or before it, so
            // any other turn number can never hold.
            if let Some(t) = &h.turn
                && !(1..=turn).contains(&t.value)
            {
                let why = if t.value == 0 {
                    "turns are numbered from 1".to_string()
                } else {
                    format!("the handoff cannot have happened yet on turn {turn}")
                };
                errs.push(Diagnostic::new(
                    path,
                    Pos::of(t),
                    format!(
                        "`handoff.turn: {}` can never hold: {why}; expected a turn from 1 to {turn}",
                        t.value
                    ),
                ));
            }
            checks.push(Check::Handoff(Box::new(HandoffExpect {
                flow: h.flow.clone(),
                message: h.message.clone(),
                reason: h.reason,
                topic: h.topic.as_ref().map(|t| topic_ref(path, errs, agent, t)),
                turn: h.turn.as_ref().map(|t| t.value),
                context: h.context.iter().map(|(k, v)| (k.value.clone(), v.clone())).collect(),
            })));
        }
        checks.into_boxed_slice()
    }
}

/// `[A, "B (failed)"]` resolved against the agent.
fn action_expects(path: &Path, errs: &mut Diagnostics, agent: &Agent, list: &[Spanned<String>]) -> Box<[ActionExpect]> {
    list.iter()
        .filter_map(|a| {
            let (name, ok) = match a.value.trim().strip_suffix("(failed)") {
                Some(n) => (n.trim(), false),
                None => (a.value.trim(), true),
            };
            match agent.action_id(name) {
                Some(action) => Some(ActionExpect { action, ok }),
                None => {
                    errs.push(unknown(
                        path,
                        a,
                        "action",
                        name,
                        agent.actions.iter().map(|x| x.name.as_str()),
                    ));
                    None
                }
            }
        })
        .collect()
}

fn event(path: &Path, errs: &mut Diagnostics, agent: &Agent, t: &Spanned<raw::TurnSection>) -> Event {
    let pos = Pos::of(t);
    let t = &t.value;
    let given = [
        t.caller.is_some(),
        t.silence.is_some(),
        t.dtmf.is_some(),
        t.hangup.is_some(),
    ];
    match (given.iter().filter(|g| **g).count(), t) {
        (0, _) => {
            errs.push(Diagnostic::new(
                path,
                pos,
                "turn has no caller event: expected one of `caller`, `silence`, `dtmf`, `hangup`",
            ));
            Event::Silence
        }
        (1, raw::TurnSection { caller: Some(text), .. }) => Event::Caller(text.as_str().into()),
        (
            1,
            raw::TurnSection {
                silence: Some(flag), ..
            },
        )
        | (1, raw::TurnSection { hangup: Some(flag), .. }) => {
            if !flag {
                errs.push(Diagnostic::new(
                    path,
                    pos,
                    "`silence`/`hangup` must be `true` (omit the turn instead)",
                ));
            }
            if t.silence.is_some() {
                Event::Silence
            } else {
                Event::Hangup
            }
        }
        (1, raw::TurnSection { dtmf: Some(d), .. }) => {
            if agent.channel == Channel::Messaging {
                errs.push(Diagnostic::new(
                    path,
                    Pos::of(d),
                    format!("dtmf event on messaging agent '{}': expected a voice agent", agent.name),
                ));
            } else if !super::agent::is_keypad_sequence(&d.value) {
                errs.push(Diagnostic::new(
                    path,
                    Pos::of(d),
                    format!(
                        "dtmf '{}' is not a keypad sequence: expected digits, '*' or '#'",
                        d.value
                    ),
                ));
            }
            Event::Dtmf(d.value.as_str().into())
        }
        _ => {
            errs.push(Diagnostic::new(
                path,
                pos,
                "turn has more than one caller event: expected exactly one of `caller`, `silence`, `dtmf`, `hangup`",
            ));
            Event::Silence
        }
    }
}

/// The flags a `says` regex may carry (those of the regex crate's inline groups).
const SAYS_FLAGS: &str = "imsxU";

impl Loader {
    /// `says`: text the reply contains (ignoring case), or `/regex/flags`.
    /// An expectation that passes on every reply, or a regex whose flags
    /// would be read as part of a literal text, checks nothing: both are
    /// errors, so that a typo never turns a test into a silent pass.
    fn says(&mut self, path: &Path, errs: &mut Diagnostics, s: &Spanned<String>) -> Option<Says> {
        let v = &s.value;
        let error = |errs: &mut Diagnostics, msg: String, help: Option<String>| {
            errs.push(Diagnostic::new(path, Pos::of(s), msg).with_help(help));
        };
        if v.is_empty() {
            error(
                errs,
                "empty `says` matches every reply: expected text the reply must contain, or /regex/".to_string(),
                None,
            );
            return None;
        }
        // The regex form: a later slash followed by nothing but letters.
        let regex_form = v.strip_prefix('/').and_then(|rest| {
            let end = rest.rfind('/')?;
            let flags = &rest[end + 1..];
            flags
                .chars()
                .all(|c| c.is_ascii_alphabetic())
                .then(|| (&rest[..end], flags))
        });
        let Some((pattern, flags)) = regex_form else {
            return Some(Says::Contains(v.as_str().into()));
        };
        let mut unknown: Vec<char> = Vec::new();
        for c in flags.chars() {
            if !SAYS_FLAGS.contains(c) && !unknown.contains(&c) {
                unknown.push(c);
            }
        }
        if !unknown.is_empty() {
            let listed: Vec<String> = unknown.iter().map(|c| format!("'{c}'")).collect();
            let accepted: Vec<String> = SAYS_FLAGS.chars().map(String::from).collect();
            let mut help = Vec::new();
            if unknown.contains(&'g') {
                help.push("every `says` regex already matches anywhere in the reply: drop the 'g'".to_string());
            }
            help.push(format!(
                "to match the text literally, escape its slashes: {}",
                literal_regex(v)
            ));
            error(
                errs,
                format!(
                    "unknown regex flag{} {} in `says`: expected flags from {}",
                    if unknown.len() == 1 { "" } else { "s" },
                    listed.join(", "),
                    accepted.join(", ")
                ),
                Some(help.join("; ")),
            );
            return None;
        }
        if pattern.is_empty() {
            error(
                errs,
                "empty regex in `says` matches every reply: expected a pattern between the slashes".to_string(),
                Some(format!(
                    "to match the text literally, escape its slashes: {}",
                    literal_regex(v)
                )),
            );
            return None;
        }
        let full = if flags.is_empty() {
            pattern.to_string()
        } else {
            format!("(?{flags}){pattern}")
        };
        if let Some(re) = self.regexes.get(&full) {
            return Some(Says::Regex(re.clone(), v.as_str().into()));
        }
        match crate::nlu::small_regex(&full) {
            Ok(re) => {
                let re = Arc::new(re);
                self.regexes.insert(full, re.clone());
                Some(Says::Regex(re, v.as_str().into()))
            }
            Err(e) => {
                error(
                    errs,
                    format!("invalid regex in `says`: {}", crate::nlu::regex_error_detail(&e)),
                    None,
                );
                None
            }
        }
    }
}

/// `says: '/\/abc\/q/i'`: the `says` line that matches `text` literally, as
/// plain `says` text does (ignoring case), written single-quoted so that the
/// backslashes stay as they are.
fn literal_regex(text: &str) -> String {
    let escaped = regex::escape(text)
        .replace('/', "\\/")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    format!("says: '/{}/i'", escaped.replace('\'', "''"))
}

fn topic_ref(path: &Path, errs: &mut Diagnostics, agent: &Agent, t: &Spanned<String>) -> String {
    if !agent.knows_topic(&t.value) {
        let mut names: Vec<&str> = agent.topics.iter().map(|t| t.name.as_str()).collect();
        names.extend([super::agent::BUILTIN_ESCALATION, super::agent::NO_TOPIC]);
        errs.push(unknown(path, t, "topic", &t.value, names.into_iter()));
    }
    t.value.clone()
}

pub(super) fn unknown<'a, T>(
    path: &Path,
    at: &Spanned<T>,
    kind: &str,
    name: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Diagnostic {
    Diagnostic::new(path, Pos::of(at), format!("unknown {kind} '{name}'")).with_help(suggest(name, candidates))
}

fn resolve_overrides(
    path: &Path,
    errs: &mut Diagnostics,
    agent: &Agent,
    overrides: &indexmap::IndexMap<Spanned<String>, raw::FixtureSection>,
) -> Overrides {
    let mut out = Vec::new();
    for (name, def) in overrides {
        let Some(id) = agent.action_id(&name.value) else {
            errs.push(unknown(
                path,
                name,
                "action",
                &name.value,
                agent.actions.iter().map(|a| a.name.as_str()),
            ));
            continue;
        };
        let action = &agent.actions[id as usize];
        let mut fx = ActionFixture {
            fails: false,
            outputs: vec![None; action.outputs.len()],
        };
        if let Some(result) = &def.result {
            let items = result
                .iter()
                .map(|(k, v)| (path, Pos::of(k), k.value.as_str(), v.as_str()));
            apply_result(errs, &action.name, &action.outputs, items, &mut fx);
        }
        let values = fx
            .outputs
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        out.push((id, def.fails, values));
    }
    out
}

fn apply(base: &Fixtures, overrides: &Overrides) -> Fixtures {
    let mut fx = base.clone();
    for (id, fails, values) in overrides {
        let slot = &mut fx.actions[*id as usize];
        if let Some(f) = fails {
            slot.fails = *f;
        }
        for (i, v) in values {
            slot.outputs[*i] = Some(v.clone());
        }
    }
    fx
}
