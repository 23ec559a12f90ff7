//! The checked caller suite: events and expectations with every reference to
//! the agent (topics, actions, slots, outputs) resolved, regexes compiled,
//! fixtures merged.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;

use super::agent::{Agent, Fixtures};
use super::build::Loader;
use super::property::Property;
use super::raw::HandoffReason;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::files::{Confinement, Root};
use crate::policy::{ActionId, SlotId, TopicId};

#[derive(Debug)]
pub struct Suite {
    pub name: String,
    pub path: PathBuf,
    /// The project root every path the suite names stays inside.
    pub root: Root,
    pub description: Option<String>,
    pub agent: Arc<Agent>,
    pub tags: Vec<String>,
    pub fixtures: Arc<Fixtures>,
    /// Declared properties first, then those the agent's guards imply.
    pub properties: Vec<Property>,
    pub conversations: Vec<Conversation>,
    /// The caller lines of every suite loaded with this one over the same
    /// agent, and the abstract caller model made from them: built on first
    /// use and shared by `run` (liveness), `fuzz` and `verify`, and by every
    /// suite of the agent, so that all judge alike.
    pub caller: Arc<CallerPool>,
}

/// One agent's caller lines, pooled from the suites that use it, and its
/// caller model.
#[derive(Debug, Default)]
pub struct CallerPool {
    /// Distinct caller lines, in suite order (at most
    /// [`crate::explore::HARVEST_LIMIT`], each at most
    /// [`crate::explore::MAX_SAMPLE_BYTES`]).
    pub lines: Vec<String>,
    pub model: std::sync::OnceLock<crate::explore::caller::Alphabet>,
}

impl CallerPool {
    /// The distinct caller lines of `suites`' conversations, up to the limit.
    pub fn of<'a>(suites: impl IntoIterator<Item = &'a Suite>) -> CallerPool {
        let mut seen = HashSet::new();
        let lines = suites
            .into_iter()
            .flat_map(|s| &s.conversations)
            .flat_map(|c| &c.events)
            .filter_map(|e| match e {
                Event::Caller(t) => Some(&**t),
                _ => None,
            })
            .filter(|t| crate::explore::is_sample(t) && seen.insert(*t))
            .take(crate::explore::HARVEST_LIMIT)
            .map(str::to_string)
            .collect();
        CallerPool {
            lines,
            model: std::sync::OnceLock::new(),
        }
    }
}

/// Gives the suites over one agent one caller pool: a properties-only
/// suite then draws on the lines of the agent's other suites.
pub fn pool_callers(suites: &mut [Suite]) {
    let mut done = vec![false; suites.len()];
    for i in 0..suites.len() {
        if done[i] {
            continue;
        }
        let same: Vec<usize> = (i..suites.len())
            .filter(|&j| Arc::ptr_eq(&suites[j].agent, &suites[i].agent))
            .collect();
        let pool = Arc::new(CallerPool::of(same.iter().map(|&j| &suites[j])));
        for j in same {
            suites[j].caller = pool.clone();
            done[j] = true;
        }
    }
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
    /// How an utterance the recogniser is uncertain about is taken: as a
    /// request for a human or not.
    pub request: Option<bool>,
    /// Which of two topics within the classifier's margin to take.
    pub topic: Option<TopicId>,
    /// Action calls on this turn that fail, whatever the fixtures say.
    pub fail: Vec<ActionId>,
    /// Action calls on this turn that succeed, whatever the fixtures say.
    pub succeed: Vec<ActionId>,
    /// The LLM ignores its instructions and hands off on this turn (where
    /// the agent's structure lets it): how a by-instruction verdict shows
    /// what the instruction holds back.
    pub llm_escalates: bool,
    /// The LLM ignores its instructions and calls these actions on this
    /// turn (where the structure makes them available).
    pub llm_calls: Vec<ActionId>,
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
/// topic, actions, actions_include, says, escalated, ended, slots, handoff.
#[derive(Debug)]
pub enum Check {
    Topic(Box<str>),
    /// Exactly these runs, in this order.
    Actions(Box<[ActionExpect]>),
    /// At least these runs, in any order (each entry matched by its own run).
    ActionsInclude(Box<[ActionExpect]>),
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
/// a stable order, reporting every problem found. Every path a suite names
/// must stay inside its project root ([`Confinement::Auto`]).
pub fn load_suites(paths: &[PathBuf]) -> Result<Vec<Suite>, Diagnostics> {
    load_suites_with(paths, &Confinement::Auto).map(|l| l.suites)
}

/// Suites loaded, and what the folder walks passed over.
#[derive(Debug)]
pub struct Loaded {
    pub suites: Vec<Suite>,
    /// One line per file or link skipped in a folder walk, with why.
    pub skipped: Vec<String>,
}

/// [`load_suites`] with the project root chosen by `confinement`.
pub fn load_suites_with(paths: &[PathBuf], confinement: &Confinement) -> Result<Loaded, Diagnostics> {
    let mut errs = Diagnostics::default();
    let mut walk = Walk::default();
    for p in paths {
        if let Err(d) = walk.arg(p, confinement) {
            errs.push(d);
        }
    }
    let Walk { mut files, skipped, .. } = walk;
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
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
    for (f, arg) in &files {
        let root = match confinement.root_for(f, arg) {
            Ok(r) => r,
            Err(e) => {
                errs.push(Diagnostic::new(
                    f,
                    Pos::FILE,
                    format!("cannot find the project root: {}", super::yaml::io_reason(&e)),
                ));
                continue;
            }
        };
        match loader.load(f, &root) {
            Ok(s) => suites.push(s),
            Err(d) => errs.0.extend(d.0),
        }
    }
    check_golden_paths(&suites, &mut errs);
    pool_callers(&mut suites);
    errs.into_result(Loaded { suites, skipped })
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

/// The suite files found under the command-line paths, each with the path
/// it was found under (its root's fallback).
#[derive(Default)]
struct Walk {
    files: Vec<(PathBuf, PathBuf)>,
    skipped: Vec<String>,
    /// Folders entered, canonical: a link back to one is a cycle.
    entered: HashSet<PathBuf>,
}

impl Walk {
    /// A command-line path: a suite file as it stands, or a folder to search.
    fn arg(&mut self, path: &Path, confinement: &Confinement) -> Result<(), Diagnostic> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read: {}", super::yaml::io_reason(&e))))?;
        if meta.is_file() {
            self.files.push((path.to_path_buf(), path.to_path_buf()));
            return Ok(());
        }
        if let Some(kind) = crate::files::read::kind_of(&meta.file_type()).filter(|_| !meta.is_dir()) {
            return Err(Diagnostic::new(
                path,
                Pos::FILE,
                format!("cannot read: it is {kind}, not a regular file or a folder"),
            ));
        }
        let root = confinement
            .root_for(path, path)
            .map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read: {}", super::yaml::io_reason(&e))))?;
        self.folder(path, path, &root)
    }

    fn folder(&mut self, dir: &Path, arg: &Path, root: &Root) -> Result<(), Diagnostic> {
        if let Ok(canonical) = std::fs::canonicalize(dir)
            && !self.entered.insert(canonical)
        {
            self.skipped.push(format!(
                "{}: a link back to a folder already searched (a cycle)",
                dir.display()
            ));
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| {
                Diagnostic::new(
                    dir,
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
                self.entry(&e, arg, root)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, arg: &Path, root: &Root) -> Result<(), Diagnostic> {
        let Ok(link) = std::fs::symlink_metadata(path) else {
            return Ok(());
        };
        if link.file_type().is_symlink() && !root.contains(path) {
            self.skipped.push(format!(
                "{}: a symbolic link that leads out of the project root",
                path.display()
            ));
            return Ok(());
        }
        let Ok(meta) = std::fs::metadata(path) else {
            self.skipped
                .push(format!("{}: a symbolic link that leads nowhere", path.display()));
            return Ok(());
        };
        if meta.is_dir() {
            return self.folder(path, arg, root);
        }
        if let Some(kind) = crate::files::read::kind_of(&meta.file_type()) {
            self.skipped
                .push(format!("{}: {kind}, not a regular file", path.display()));
            return Ok(());
        }
        if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) && is_suite_file(path) {
            self.files.push((path.to_path_buf(), arg.to_path_buf()));
        }
        Ok(())
    }
}

/// A YAML file in a searched folder is a suite when it has a top-level
/// `suite:` or `conversations:` key; agent configs, overlays and other YAML
/// beside suites are left alone.
fn is_suite_file(path: &Path) -> bool {
    use std::io::{BufRead, BufReader, Read};
    let Ok(f) = crate::files::open_regular(path) else {
        return true;
    };
    let mut agent_like = false;
    let capped = BufReader::new(f.take(crate::files::MAX_FILE_BYTES));
    for line in capped.split(b'\n').map_while(Result::ok) {
        if line.starts_with(b"suite:") || line.starts_with(b"conversations:") {
            return true;
        }
        // Agent configs, and overlays on project agents.
        agent_like |= line.starts_with(b"agent:") || line.starts_with(b"topics:") || line.starts_with(b"extends:");
    }
    // Unknown YAML is loaded so that its error is reported, not hidden.
    !agent_like
}
