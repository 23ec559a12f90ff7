//! The checked caller suite: events and expectations with every reference to
//! the agent (topics, actions, slots, outputs) resolved, regexes compiled,
//! fixtures merged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;

use super::agent::{Agent, Fixtures};
use super::build::Loader;
use super::property::Property;
use super::raw::HandoffReason;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::policy::{ActionId, SlotId, TopicId};

#[derive(Debug)]
pub struct Suite {
    pub name: String,
    pub path: PathBuf,
    pub description: Option<String>,
    pub agent: Arc<Agent>,
    pub tags: Vec<String>,
    pub fixtures: Arc<Fixtures>,
    /// Declared properties first, then those the agent's guards imply.
    pub properties: Vec<Property>,
    pub conversations: Vec<Conversation>,
    /// The abstract caller model, built on first use and shared by `run`
    /// (liveness), `fuzz` and `verify` so that all three judge alike.
    pub caller_model: std::sync::OnceLock<crate::explore::caller::Alphabet>,
}

#[derive(Debug)]
pub struct Conversation {
    pub name: String,
    pub line: u32,
    pub tags: Vec<String>,
    pub skip: Option<String>,
    /// Golden transcript, resolved against the suite's folder.
    pub transcript: Option<PathBuf>,
    /// Where the `transcript:` key's value is, for errors.
    pub transcript_pos: Pos,
    /// The conversation's own fixtures, when it overrides the suite's.
    pub fixtures: Option<Arc<Fixtures>>,
    pub events: Vec<Event>,
    /// One entry per event; empty where a turn expects nothing.
    pub expects: Vec<Box<[Check]>>,
    /// The engine's choices, by 0-based turn, where the script pins them.
    pub choices: Vec<(u32, Choice)>,
}

/// The engine's choices pinned on one turn (`choose:`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    /// Which of two topics within the classifier's margin to take.
    pub topic: Option<TopicId>,
    /// Action calls on this turn that fail, whatever the fixtures say.
    pub fail: Vec<ActionId>,
    /// Action calls on this turn that succeed, whatever the fixtures say.
    pub succeed: Vec<ActionId>,
}

/// A caller event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Caller(Box<str>),
    Silence,
    Dtmf(Box<str>),
    Hangup,
}

/// One expectation of a turn. A turn's checks are kept in this order:
/// topic, actions, says, escalated, ended, slots, handoff.
#[derive(Debug)]
pub enum Check {
    Topic(Box<str>),
    Actions(Box<[ActionExpect]>),
    Says(Says),
    Escalated(bool),
    Ended(bool),
    Slot(SlotId, Box<str>),
    Handoff(Box<HandoffExpect>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionExpect {
    pub action: ActionId,
    pub ok: bool,
}

/// `says`: a case-insensitive substring, or `/regex/flags`.
#[derive(Debug)]
pub enum Says {
    Contains(Box<str>),
    /// Shared, not cloned: each clone of a `Regex` gets its own cache pool,
    /// and ten thousand conversations would each grow one.
    Regex(Arc<Regex>, Box<str>),
}

impl Says {
    pub fn matches(&self, said: &str) -> bool {
        match self {
            Says::Contains(text) => contains_ignoring_case(said, text),
            Says::Regex(r, _) => r.is_match(said),
        }
    }

    pub fn source(&self) -> &str {
        match self {
            Says::Contains(text) => text,
            Says::Regex(_, source) => source,
        }
    }
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(&needle.to_lowercase())
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
        errs.push(Diagnostic::new(
            Path::new(&shown.join(", ")),
            Pos::FILE,
            "no suite files found: expected .yaml files with a top-level `suite:` key",
        ));
    }
    let mut loader = Loader::default();
    let mut suites = Vec::new();
    for f in &files {
        match loader.load(f) {
            Ok(s) => suites.push(s),
            Err(d) => errs.0.extend(d.0),
        }
    }
    check_golden_paths(&suites, &mut errs);
    errs.into_result(suites)
}

/// Two conversations blessing the same golden file would race each other.
fn check_golden_paths(suites: &[Suite], errs: &mut Diagnostics) {
    let mut seen: std::collections::HashMap<PathBuf, (&Path, u32)> = std::collections::HashMap::new();
    for suite in suites {
        for c in &suite.conversations {
            let Some(t) = &c.transcript else { continue };
            let key = match (t.parent().and_then(|d| std::fs::canonicalize(d).ok()), t.file_name()) {
                (Some(dir), Some(name)) => dir.join(name),
                _ => t.clone(),
            };
            if let Some((path, line)) = seen.get(&key) {
                errs.push(Diagnostic::new(
                    &suite.path,
                    c.transcript_pos,
                    format!(
                        "golden transcript {} is already used by the conversation at {}:{}: expected one file per conversation",
                        t.display(),
                        path.display(),
                        line
                    ),
                ));
            } else {
                seen.insert(key, (&suite.path, c.line));
            }
        }
    }
}

fn discover(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read: {}", super::yaml::io_reason(&e))))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| {
                Diagnostic::new(
                    path,
                    Pos::FILE,
                    format!("cannot read folder: {}", super::yaml::io_reason(&e)),
                )
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let hidden = e
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                discover(&e, false, out)?;
            }
        }
    } else if explicit
        || (matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) && is_suite_file(path))
    {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// A YAML file in a searched folder is a suite when it has a top-level
/// `suite:` or `conversations:` key; agent configs and other YAML beside
/// suites are left alone.
fn is_suite_file(path: &Path) -> bool {
    use std::io::{BufRead, BufReader};
    let Ok(f) = std::fs::File::open(path) else { return true };
    let mut agent_like = false;
    for line in BufReader::new(f).split(b'\n').map_while(Result::ok) {
        if line.starts_with(b"suite:") || line.starts_with(b"conversations:") {
            return true;
        }
        agent_like |= line.starts_with(b"agent:") || line.starts_with(b"topics:");
    }
    // Unknown YAML is loaded so that its error is reported, not hidden.
    !agent_like
}
