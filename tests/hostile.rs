//! Hostile input through the real binary (issue 7, "Evidence"). A corpus is
//! generated at test time, deterministically from [`SEED`], in a temporary
//! project (it has `.git`, so it is the project root): mutated copies of
//! the shipped suites, agents and metadata, alias bombs, deep nesting, huge
//! scalars, bad encodings, special files, link loops, escaping paths,
//! control characters in every name, in file names and in caller lines,
//! regex bombs, malformed Salesforce metadata and overlays with bad
//! `extends:`. Each input goes through `run`, `explain`, `fuzz --cases 200`
//! and `verify --depth 4` (as applicable), two at a time, and every command
//! must:
//!
//! - not panic: no `panicked` on stderr, exit code 0, 1 or 2 (never 101,
//!   never a signal);
//! - not hang: it is stopped after [`CPU_LIMIT_SECS`] of CPU time, or
//!   [`TIMEOUT`] of wall time, and the test fails (most finish in
//!   milliseconds);
//! - stay under [`MAX_RSS_KIB`] of peak resident memory (the child's own
//!   `ru_maxrss`, from `wait4`); an address-space limit makes a runaway
//!   allocation fail inside the child instead of on the machine;
//! - locate every load error (see [`check_located`] for the exact rule);
//! - write reports that parse (strict XML 1.0 for JUnit, JSON), and none at
//!   all when it exits 2; regression suites that fuzz and verify write load;
//! - print nothing unsafe: no control character but line break and tab, no
//!   bidirectional control, no noncharacter on stdout or stderr.
//!
//! Some inputs must load (caller lines may hold anything), others must be
//! refused (names may not); the rest may go either way.
//!
//! Failures are collected and reported together, each with its case, the
//! command and the head of stderr. `BATON_HOSTILE_ONLY=WORDS` keeps the
//! categories whose name contains WORDS; `BATON_HOSTILE_SEED=N` generates
//! another corpus; `BATON_HOSTILE_KEEP=1` leaves the corpus on disk.
//!
//! Unix only: FIFOs, sockets, devices, `wait4` and resource limits.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The corpus is the same on every run.
const SEED: u64 = 0xBA70_2026_0007_0006;
/// [`SEED`], or `BATON_HOSTILE_SEED` to look further with another corpus.
fn seed() -> u64 {
    std::env::var("BATON_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&s| s != 0)
        .unwrap_or(SEED)
}

/// A command that has used this much CPU time has hung (it is stopped by
/// `RLIMIT_CPU`). CPU time rather than wall time: other work on the machine
/// must not fail the test.
const CPU_LIMIT_SECS: u64 = 20;
/// A command still running after this has hung, busy or not (waiting on a
/// FIFO uses no CPU).
const TIMEOUT: Duration = Duration::from_secs(60);
/// Peak resident memory of one command, KiB.
const MAX_RSS_KIB: i64 = 512 * 1024;
/// Address space of one command: past it an allocation fails in the child
/// (an abort, which the test reports) rather than exhausting the machine.
const ADDRESS_SPACE_LIMIT: u64 = 4 << 30;
/// Commands run at once.
const THREADS: usize = 2;

/// Characters unsafe to print, as YAML double-quoted escapes, and what
/// each is.
const CHARS: &[(&str, &str)] = &[
    ("\\e", "ESC"),
    ("\\n", "newline"),
    ("\\uFFFE", "U+FFFE"),
    ("\\uFFFF", "U+FFFF"),
    ("\\u202E", "right-to-left override"),
    ("\\u2066", "left-to-right isolate"),
    ("\\0", "NUL"),
    ("\\x7f", "DEL"),
    ("\\a", "BEL"),
    ("\\u009b", "C1 CSI"),
    ("\\N", "U+0085 next line"),
    ("\\uFDD0", "U+FDD0"),
    ("\\U0010FFFF", "U+10FFFF"),
    ("\\r", "carriage return"),
    ("\\t", "tab"),
    ("\\u200F", "right-to-left mark"),
];

/// The same characters written raw into the file.
const RAW_CHARS: &[(&str, &str)] = &[
    ("\u{1b}", "raw ESC"),
    ("\u{202E}", "raw right-to-left override"),
    ("\u{FFFE}", "raw U+FFFE"),
    ("\u{0}", "raw NUL"),
    ("\u{85}", "raw U+0085"),
    ("\u{2067}", "raw right-to-left isolate"),
    ("\u{7f}", "raw DEL"),
    ("\u{FFFF}", "raw U+FFFF"),
    ("\u{9b}", "raw C1 CSI"),
];

// ---------------------------------------------------------------------------
// Deterministic randomness

/// xorshift64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Lines of `bytes`, each with its line break.
fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

/// One to three byte or line mutations of `bytes`, and what they were.
fn mutate(rng: &mut Rng, bytes: &[u8], specials: &[&str]) -> (Vec<u8>, String) {
    let mut b = bytes.to_vec();
    let mut what = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let n = b.len().max(1);
        let op = rng.below(10);
        match op {
            0..=4 => {
                let mut ls = lines(&b);
                if ls.is_empty() {
                    continue;
                }
                let i = rng.below(ls.len());
                match op {
                    0 => {
                        ls.remove(i);
                        what.push(format!("deleted line {}", i + 1));
                    }
                    1 => {
                        let l = ls[i].clone();
                        ls.insert(i, l);
                        what.push(format!("duplicated line {}", i + 1));
                    }
                    2 => {
                        let j = rng.below(ls.len());
                        ls.swap(i, j);
                        what.push(format!("swapped lines {} and {}", i + 1, j + 1));
                    }
                    3 => {
                        let indent = *rng.pick(&["", " ", "   ", "\t", "        ", "  - "]);
                        let stripped = ls[i].iter().position(|&c| c != b' ').unwrap_or(0);
                        let mut l = indent.as_bytes().to_vec();
                        l.extend_from_slice(&ls[i][stripped..]);
                        ls[i] = l;
                        what.push(format!("re-indented line {} with {indent:?}", i + 1));
                    }
                    _ => {
                        let s = rng.pick(specials).as_bytes();
                        let at = rng.below(ls[i].len() + 1);
                        ls[i].splice(at..at, s.iter().copied());
                        what.push(format!("inserted {:?} in line {}", String::from_utf8_lossy(s), i + 1));
                    }
                }
                b = ls.concat();
            }
            5 => {
                let at = rng.below(n);
                b.truncate(at);
                what.push(format!("truncated at byte {at}"));
            }
            6 => {
                let at = rng.below(n + 1).min(b.len());
                let k = 1 + rng.below(8);
                let junk: Vec<u8> = (0..k).map(|_| rng.next() as u8).collect();
                what.push(format!("inserted bytes {junk:02x?} at {at}"));
                b.splice(at..at, junk);
            }
            7 => {
                let at = rng.below(n).min(b.len());
                let end = (at + 1 + rng.below(64)).min(b.len());
                b.drain(at..end);
                what.push(format!("deleted bytes {at}..{end}"));
            }
            8 => {
                let at = rng.below(n).min(b.len());
                let end = (at + 1 + rng.below(64)).min(b.len());
                let copy = b[at..end].to_vec();
                b.splice(end..end, copy);
                what.push(format!("duplicated bytes {at}..{end}"));
            }
            _ => {
                if b.is_empty() {
                    continue;
                }
                let at = rng.below(b.len());
                let old = b[at];
                b[at] = rng.next() as u8;
                what.push(format!("byte {at} {old:02x} -> {:02x}", b[at]));
            }
        }
    }
    (b, what.join(", "))
}

const YAML_SPECIALS: &[&str] = &[
    ":",
    "-",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "!",
    "|",
    ">",
    "'",
    "\"",
    "#",
    "%",
    "@",
    "`",
    ",",
    "? ",
    "<<: ",
    "!!binary ",
    "\t",
];
const XML_SPECIALS: &[&str] = &[
    "<",
    ">",
    "&",
    "\"",
    "'",
    "/",
    "=",
    "]]>",
    "<!--",
    "<![CDATA[",
    "&amp",
    "&#0;",
    "&#x1b;",
    "<x>",
    "</",
];

// ---------------------------------------------------------------------------
// The corpus

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Any of exit 0, 1 and 2.
    Any,
    /// Exit 2 with located load errors.
    Error,
    /// Loads: exit 0 or 1, reports written.
    Loads,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Run,
    Fuzz,
    Verify,
    Explain,
}

const SEARCH: &[Cmd] = &[Cmd::Run, Cmd::Fuzz, Cmd::Verify];
const RUN: &[Cmd] = &[Cmd::Run];
const ALL: &[Cmd] = &[Cmd::Run, Cmd::Fuzz, Cmd::Verify, Cmd::Explain];
const RUN_EXPLAIN: &[Cmd] = &[Cmd::Run, Cmd::Explain];

struct Case {
    id: String,
    category: &'static str,
    what: String,
    /// A suite file or folder, relative to the project root.
    suite: Option<String>,
    /// An agent for `explain`, relative to the project root or absolute.
    agent: Option<String>,
    cmds: &'static [Cmd],
    flags: Vec<&'static str>,
    expect: Expect,
    /// File names that error lines may name without the file existing.
    missing: Vec<String>,
}

struct Corpus {
    root: PathBuf,
    rng: Rng,
    cases: Vec<Case>,
    /// The category of the cases being added.
    category: &'static str,
}

impl Corpus {
    fn new(root: &Path) -> Corpus {
        Corpus {
            root: root.to_path_buf(),
            rng: Rng(seed()),
            cases: Vec::new(),
            category: "",
        }
    }

    /// A fresh folder for the next case: its id and path.
    fn dir(&mut self) -> (String, PathBuf) {
        let id = format!("c{:03}", self.cases.len());
        let dir = self.root.join(&id);
        std::fs::create_dir_all(&dir).unwrap();
        (id, dir)
    }

    fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn push(
        &mut self,
        id: String,
        what: impl Into<String>,
        suite: Option<String>,
        agent: Option<String>,
        cmds: &'static [Cmd],
        expect: Expect,
    ) -> &mut Case {
        self.cases.push(Case {
            id,
            category: self.category,
            what: what.into(),
            suite,
            agent,
            cmds,
            flags: Vec::new(),
            expect,
            missing: Vec::new(),
        });
        self.cases.last_mut().unwrap()
    }

    /// A suite (text) in a case folder of its own, beside the clean
    /// template agent.
    fn suite_case(&mut self, what: impl Into<String>, text: impl AsRef<[u8]>, cmds: &'static [Cmd], expect: Expect) {
        let (id, dir) = self.dir();
        std::fs::write(dir.join("agent.yaml"), agent_yaml(&Names::clean())).unwrap();
        std::fs::write(dir.join("suite.yaml"), text).unwrap();
        self.push(id.clone(), what, Some(format!("{id}/suite.yaml")), None, cmds, expect);
    }

    /// An agent (text) with the clean template suite naming it.
    fn agent_case(&mut self, what: impl Into<String>, text: impl AsRef<[u8]>, cmds: &'static [Cmd], expect: Expect) {
        let (id, dir) = self.dir();
        std::fs::write(dir.join("agent.yaml"), text).unwrap();
        std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
        self.push(
            id.clone(),
            what,
            Some(format!("{id}/suite.yaml")),
            Some(format!("{id}/agent.yaml")),
            cmds,
            expect,
        );
    }

    /// A copy of `fixtures/sfdx/contoso` in a case folder, with the
    /// example suite naming its overlay; `edit` changes the copy.
    fn sfdx_case(
        &mut self,
        what: impl Into<String>,
        cmds: &'static [Cmd],
        expect: Expect,
        edit: impl FnOnce(&Path, &mut Rng),
    ) -> &mut Case {
        let (id, dir) = self.dir();
        copy_dir(&repo().join("fixtures/sfdx/contoso"), &dir.join("contoso"));
        let suite = std::fs::read_to_string(repo().join("suites/contoso_sfdx.yaml"))
            .unwrap()
            .replace(
                "agent: ../fixtures/sfdx/contoso/baton/contoso_voice.overlay.yaml",
                "agent: contoso/baton/contoso_voice.overlay.yaml",
            );
        std::fs::write(dir.join("suite.yaml"), suite).unwrap();
        edit(&dir.join("contoso"), &mut self.rng);
        // Explain reads the project itself half of the time, the overlay
        // otherwise (always when the overlay is what was changed).
        let overlay_changed = std::fs::read(dir.join("contoso").join(OVERLAY)).ok()
            != std::fs::read(repo().join("fixtures/sfdx/contoso").join(OVERLAY)).ok();
        let agent = if self.cases.len().is_multiple_of(2) && !overlay_changed {
            format!("{id}/contoso")
        } else {
            format!("{id}/contoso/baton/contoso_voice.overlay.yaml")
        };
        self.push(
            id.clone(),
            what,
            Some(format!("{id}/suite.yaml")),
            Some(agent),
            cmds,
            expect,
        )
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

const BUNDLE: &str = "force-app/main/default/genAiPlannerBundles/Contoso_Voice/Contoso_Voice.genAiPlannerBundle";
const SCHEMA: &str = "force-app/main/default/genAiPlannerBundles/Contoso_Voice/localActions/Case_Management_16j000000000001AAA/createcase_179000000000001AAA/input/schema.json";
const OVERLAY: &str = "baton/contoso_voice.overlay.yaml";

/// The names of the template agent and suite, written inside YAML double
/// quotes (so escapes work).
#[derive(Clone)]
struct Names {
    suite: String,
    conversation: String,
    tag: String,
    property: String,
    agent: String,
    topic: String,
    action: String,
    slot: String,
    output: String,
}

impl Names {
    fn clean() -> Names {
        Names {
            suite: "Hostile".into(),
            conversation: "broken order".into(),
            tag: "orders".into(),
            property: "case before human".into(),
            agent: "Hostile_Agent".into(),
            topic: "Case_Management".into(),
            action: "createcase".into(),
            slot: "email".into(),
            output: "case_number".into(),
        }
    }

    /// The same names with `c` put in the middle of the one of `kind`.
    fn with(kind: usize, c: &str) -> (Names, &'static str) {
        let mut n = Names::clean();
        let (field, what) = match kind {
            0 => (&mut n.suite, "suite"),
            1 => (&mut n.conversation, "conversation"),
            2 => (&mut n.tag, "tag"),
            3 => (&mut n.property, "property"),
            4 => (&mut n.agent, "agent"),
            5 => (&mut n.topic, "topic"),
            6 => (&mut n.action, "action"),
            7 => (&mut n.slot, "slot"),
            _ => (&mut n.output, "output"),
        };
        let mid = field.len() / 2;
        field.insert_str(mid, c);
        (n, what)
    }
}

const NAME_KINDS: usize = 9;

/// Texts of the template that are not names: a caller line, what the
/// agent says, fixture values.
struct Texts {
    caller: String,
    reply: String,
    value: String,
}

impl Texts {
    fn clean() -> Texts {
        Texts {
            caller: "my order arrived broken".into(),
            reply: "We open at nine.".into(),
            value: "00001234".into(),
        }
    }
}

fn agent_yaml(n: &Names) -> String {
    agent_yaml_with(n, &Texts::clean())
}

fn agent_yaml_with(n: &Names, t: &Texts) -> String {
    format!(
        r#"agent: "{agent}"
description: "Hostile input {reply}"
escalation: {{ flow: Route_To_Queue, message: "Connecting you. {reply}" }}
no_input: {{ reprompts: 1, then: escalate, prompt: "Still there? {reply}" }}
dtmf: {{ "0": escalate }}
slots:
  "{slot}": {{ kind: email, ask: "Your email? {reply}" }}
actions:
  "{action}":
    description: "Opens a case {reply}"
    inputs: ["{slot}"]
    outputs: ["{output}"]
    result: {{ "{output}": "{value}" }}
    say: "Opened. {reply}"
topics:
  - name: "{topic}"
    description: Open and track support cases for broken, missing or late orders
    utterances: ["my order arrived broken", "the item is damaged", "{caller}"]
    can_escalate: true
    actions: ["{action}"]
    instructions:
      - "When the caller describes a problem, run the '{action}' action."
      - "Allow the 'Escalation' action only after the '{action}' action has been executed."
  - name: Store_Hours
    description: Opening hours and store locations
    utterances: ["when are you open", "where is the nearest store"]
    reply: "{reply}"
"#,
        agent = n.agent,
        slot = n.slot,
        action = n.action,
        output = n.output,
        topic = n.topic,
        reply = t.reply,
        value = t.value,
        caller = t.caller,
    )
}

fn suite_yaml(n: &Names, agent: &str) -> String {
    suite_yaml_with(n, agent, &Texts::clean())
}

fn suite_yaml_with(n: &Names, agent: &str, t: &Texts) -> String {
    format!(
        r#"suite: "{suite}"
description: "Hostile {reply}"
agent: {agent}
tags: ["{tag}"]
fixtures: {{ "{action}": {{ result: {{ "{output}": "{value}" }} }} }}
properties:
  - name: "{property}"
    escalation_requires: {{ topic: "{topic}", actions: ["{action}"], slots: ["{slot}"] }}
conversations:
  - name: "{conversation}"
    tags: ["{tag}"]
    turns:
      - caller: "{caller}"
        expect: {{ topic: "{topic}", says: "{reply}" }}
      - caller: "my email is ann@example.com"
        expect: {{ actions: ["{action}"], slots: {{ "{slot}": "ann@example.com" }} }}
      - caller: "get me a human {caller}"
        expect: {{ escalated: true, handoff: {{ context: {{ "{output}": "{value}" }} }} }}
  - name: "second {conversation}"
    skip: "not today {reply}"
    turns:
      - caller: "{caller}"
  - name: "third {conversation}"
    turns:
      - caller: "when are you open {caller}"
      - dtmf: "0"
"#,
        suite = n.suite,
        tag = n.tag,
        property = n.property,
        topic = n.topic,
        action = n.action,
        slot = n.slot,
        output = n.output,
        conversation = n.conversation,
        caller = t.caller,
        reply = t.reply,
        value = t.value,
    )
}

/// Shipped YAML inputs: (path in the repository, whether it is a suite).
fn shipped_yaml() -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    for dir in ["suites", "fixtures/agents", "fixtures/mutants"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let suite = text.lines().any(|l| l.starts_with("suite:"));
            out.push((f.strip_prefix(repo()).unwrap().to_path_buf(), suite));
        }
    }
    out.push((PathBuf::from("fixtures/sfdx/contoso").join(OVERLAY), false));
    out.push((
        PathBuf::from("fixtures/sfdx/verified_support/baton/verified_support.overlay.yaml"),
        false,
    ));
    out
}

/// The suite that names `agent` (a repository path), if one does.
fn suite_naming(agent: &Path) -> Option<(PathBuf, String)> {
    for (s, is_suite) in shipped_yaml() {
        if !is_suite {
            continue;
        }
        let text = std::fs::read_to_string(repo().join(&s)).unwrap();
        let Some(line) = text.lines().find(|l| l.starts_with("agent:")) else {
            continue;
        };
        let line = line.to_string();
        let named = s.parent().unwrap().join(line["agent:".len()..].trim());
        if normalize(&named) == normalize(agent) {
            return Some((s, line));
        }
    }
    None
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for u in text.encode_utf16() {
        if big_endian {
            out.extend(u.to_be_bytes());
        } else {
            out.extend(u.to_le_bytes());
        }
    }
    out
}

fn build_corpus(root: &Path, outside: &Path) -> Vec<Case> {
    let mut c = Corpus::new(root);

    // The templates load and pass as they are: every hostile variant below
    // is one change away from a suite that works.
    c.category = "clean templates";
    c.suite_case(
        "the clean template suite",
        suite_yaml(&Names::clean(), "agent.yaml"),
        ALL,
        Expect::Loads,
    );
    c.cases.last_mut().unwrap().agent = Some(format!("{}/agent.yaml", c.cases.last().unwrap().id));

    mutated_yaml(&mut c);
    alias_bombs(&mut c);
    deep_nesting(&mut c);
    huge_scalars(&mut c);
    bad_encodings(&mut c);
    special_files(&mut c);
    link_loops(&mut c);
    escaping_paths(&mut c, outside);
    hostile_names(&mut c);
    hostile_file_names(&mut c);
    hostile_texts(&mut c);
    regex_bombs(&mut c);
    many_names(&mut c);
    metadata_xml(&mut c);
    bad_overlays(&mut c);
    c.cases
}

/// Byte and line mutations of the shipped suites and agents, written
/// beside the original (so relative paths still resolve).
fn mutated_yaml(c: &mut Corpus) {
    let shipped = shipped_yaml();
    let suites: Vec<&PathBuf> = shipped.iter().filter(|s| s.1).map(|s| &s.0).collect();
    let agents: Vec<&PathBuf> = shipped.iter().filter(|s| !s.1).map(|s| &s.0).collect();
    c.category = "mutated suites";
    for _ in 0..16 {
        let src = *c.rng.pick(&suites);
        let text = std::fs::read(repo().join(src)).unwrap();
        let (bytes, how) = mutate(&mut c.rng, &text, YAML_SPECIALS);
        let id = format!("c{:03}", c.cases.len());
        let name = format!("{id}.{}", src.file_name().unwrap().to_string_lossy());
        let rel = src.parent().unwrap().join(&name).to_string_lossy().to_string();
        c.write(&rel, bytes);
        c.push(
            id,
            format!("{}: {how}", src.display()),
            Some(rel),
            None,
            SEARCH,
            Expect::Any,
        );
    }
    c.category = "mutated agents";
    for _ in 0..10 {
        let src = *c.rng.pick(&agents);
        let text = std::fs::read(repo().join(src)).unwrap();
        let (bytes, how) = mutate(&mut c.rng, &text, YAML_SPECIALS);
        let id = format!("c{:03}", c.cases.len());
        let name = format!("{id}.{}", src.file_name().unwrap().to_string_lossy());
        let rel = src.parent().unwrap().join(&name);
        c.write(&rel.to_string_lossy(), bytes);
        // The suite that names the original, beside it, naming the mutant.
        let suite = suite_naming(src).map(|(s, line)| {
            let text = std::fs::read_to_string(repo().join(&s)).unwrap();
            let named = line["agent:".len()..].trim();
            let to = Path::new(named).with_file_name(&name);
            let srel = s.with_file_name(format!("{id}.{}", s.file_name().unwrap().to_string_lossy()));
            c.write(
                &srel.to_string_lossy(),
                text.replace(&line, &format!("agent: {}", to.display())),
            );
            srel.to_string_lossy().to_string()
        });
        let cmds: &'static [Cmd] = if suite.is_some() { ALL } else { &[Cmd::Explain] };
        c.push(
            id,
            format!("{}: {how}", src.display()),
            suite,
            Some(rel.to_string_lossy().to_string()),
            cmds,
            Expect::Any,
        );
    }
}

fn alias_bombs(c: &mut Corpus) {
    c.category = "alias bombs";
    // Billion laughs at the top level, in a list of conversations, in an
    // agent's utterances and in an overlay.
    let laughs = |indent: &str, keys: bool| {
        let mut s = String::new();
        for i in 0..10 {
            let items = if i == 0 {
                ["lol"; 10].join(", ")
            } else {
                vec![format!("*a{}", i - 1); 10].join(", ")
            };
            if keys {
                s.push_str(&format!("{indent}a{i}: &a{i} [{items}]\n"));
            } else {
                s.push_str(&format!("{indent}- &a{i} [{items}]\n"));
            }
        }
        s
    };
    c.suite_case(
        "billion laughs beside the suite keys",
        format!("suite: s\nagent: agent.yaml\n{}conversations: []\n", laughs("", true)),
        SEARCH,
        Expect::Error,
    );
    c.suite_case(
        "billion laughs as conversations",
        format!("suite: s\nagent: agent.yaml\nconversations:\n{}", laughs("  ", false)),
        SEARCH,
        Expect::Error,
    );
    c.agent_case(
        "billion laughs as utterances",
        agent_yaml(&Names::clean()).replacen(
            "    utterances: [\"when are you open\", \"where is the nearest store\"]\n",
            &format!("    utterances:\n{}", laughs("    ", false)),
            1,
        ),
        ALL,
        Expect::Error,
    );
    // Every alias of one long caller line is a copy of it: 1 MB of file
    // makes hundreds of megabytes of text.
    let big = "my order arrived broken ".repeat(40_000);
    let anchors: Vec<String> = (0..40).map(|i| format!("&t{i} t{i}")).collect();
    let mut s = format!(
        "suite: s\nagent: agent.yaml\ntags: [{}]\nconversations:\n  - name: c\n    turns:\n      - caller: &big \"{big}\"\n",
        anchors.join(", ")
    );
    for _ in 0..300 {
        s.push_str("      - caller: *big\n");
    }
    c.suite_case("a 1 MB caller line aliased 300 times", s, SEARCH, Expect::Any);
    // Type-correct amplification: one list of turns shared by many conversations.
    let mut s = String::from("suite: s\nagent: agent.yaml\nconversations:\n  - name: c0\n    turns: &turns\n");
    for i in 0..60 {
        s.push_str(&format!("      - caller: \"my order arrived broken {i}\"\n"));
    }
    for i in 1..400 {
        s.push_str(&format!("  - {{ name: c{i}, turns: *turns }}\n"));
    }
    c.suite_case("60 turns aliased by 400 conversations", s, SEARCH, Expect::Any);
    // Merge keys over an aliased mapping of fixtures.
    let mut s =
        String::from("suite: s\nagent: agent.yaml\nfixtures:\n  createcase: &f0 { result: { case_number: \"1\" } }\n");
    s.push_str("conversations:\n");
    for i in 0..50 {
        s.push_str(&format!(
            "  - name: c{i}\n    fixtures: {{ createcase: {{ <<: *f0, fails: false }} }}\n    turns: [{{ caller: hi }}]\n"
        ));
    }
    c.suite_case("merge keys over an aliased fixture", s, SEARCH, Expect::Any);
    // An alias of an undefined anchor, and a recursive one.
    c.suite_case(
        "an undefined alias",
        "suite: s\nagent: agent.yaml\nconversations:\n  - name: c\n    turns: *nowhere\n",
        RUN,
        Expect::Error,
    );
    c.suite_case(
        "an alias inside its own anchor",
        "suite: s\nagent: agent.yaml\nconversations: &c\n  - name: c\n    turns: *c\n",
        RUN,
        Expect::Error,
    );
    c.sfdx_case("billion laughs in an overlay", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(OVERLAY);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            &p,
            format!("{text}  Billing:\n    utterances:\n{}", laughs("      ", false)),
        )
        .unwrap();
    });
}

fn deep_nesting(c: &mut Corpus) {
    c.category = "deep nesting";
    let n = 5000;
    c.suite_case(
        "flow sequences 5,000 deep",
        format!(
            "suite: s\nagent: agent.yaml\nconversations: {}{}\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
        SEARCH,
        Expect::Error,
    );
    c.suite_case(
        "flow mappings 5,000 deep, unclosed",
        format!("suite: s\nagent: agent.yaml\nfixtures: {}\n", "{a: ".repeat(n)),
        SEARCH,
        Expect::Error,
    );
    let mut block = String::from("suite: s\nagent: agent.yaml\nconversations:\n");
    for i in 0..3000 {
        block.push_str(&" ".repeat(i * 2 + 2));
        block.push_str("-\n");
    }
    c.suite_case("block sequences 3,000 deep", block, SEARCH, Expect::Error);
    let mut block = String::from("suite: s\nagent: agent.yaml\nfixtures:\n");
    for i in 0..3000 {
        block.push_str(&" ".repeat(i + 1));
        block.push_str("a:\n");
    }
    c.suite_case("block mappings 3,000 deep", block, SEARCH, Expect::Error);
    c.suite_case(
        "compact sequences 5,000 deep on one line",
        format!("suite: s\nagent: agent.yaml\nconversations:\n{}x\n", "- ".repeat(n)),
        SEARCH,
        Expect::Error,
    );
    c.agent_case(
        "flow sequences 5,000 deep as utterances",
        agent_yaml(&Names::clean()).replace(
            "[\"when are you open\", \"where is the nearest store\"]",
            &format!("{}{}", "[".repeat(n), "]".repeat(n)),
        ),
        ALL,
        Expect::Error,
    );
    c.agent_case(
        "block mappings 3,000 deep as slots",
        {
            let mut s = String::from("agent: A\nescalation: { flow: F }\nslots:\n");
            for i in 0..3000 {
                s.push_str(&" ".repeat(i + 1));
                s.push_str("s:\n");
            }
            s
        },
        ALL,
        Expect::Error,
    );
    c.sfdx_case(
        "XML elements 20,000 deep in the bundle",
        RUN_EXPLAIN,
        Expect::Any,
        |d, _| {
            let p = d.join(BUNDLE);
            let text = std::fs::read_to_string(&p).unwrap();
            let deep = format!("{}{}", "<x>".repeat(20_000), "</x>".repeat(20_000));
            std::fs::write(
                &p,
                text.replacen("<localTopicLinks>", &format!("{deep}<localTopicLinks>"), 1),
            )
            .unwrap();
        },
    );
    c.sfdx_case("description element 20,000 deep", RUN_EXPLAIN, Expect::Any, |d, _| {
        let p = d.join(BUNDLE);
        let text = std::fs::read_to_string(&p).unwrap();
        let deep = format!("{}x{}", "<description>".repeat(20_000), "</description>".repeat(20_000));
        std::fs::write(
            &p,
            text.replacen(
                "<description>Contoso&apos;s customer line for orders, billing and store questions.</description>",
                &deep,
                1,
            ),
        )
        .unwrap();
    });
    c.sfdx_case(
        "an action schema 100,000 arrays deep",
        RUN_EXPLAIN,
        Expect::Any,
        |d, _| {
            std::fs::write(
                d.join(SCHEMA),
                format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            )
            .unwrap();
        },
    );
    c.sfdx_case(
        "sfdx-project.json 100,000 objects deep",
        RUN_EXPLAIN,
        Expect::Any,
        |d, _| {
            std::fs::write(d.join("sfdx-project.json"), "{\"a\":".repeat(100_000)).unwrap();
        },
    );
    c.sfdx_case(
        "an overlay 5,000 flow levels deep",
        RUN_EXPLAIN,
        Expect::Error,
        |d, _| {
            let p = d.join(OVERLAY);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(
                &p,
                format!("{text}classifier: {}{}\n", "[".repeat(5000), "]".repeat(5000)),
            )
            .unwrap();
        },
    );
}

fn huge_scalars(c: &mut Corpus) {
    c.category = "huge scalars";
    // Texts that load go through the engine and into every report, at a
    // cost in proportion to their size that a debug build pays many times
    // over: they are 1 or 2 MB. Those refused while reading, or only
    // copied along, are 10 MB.
    let mb = 1024 * 1024;
    let suite = suite_yaml(&Names::clean(), "agent.yaml");
    let agent = agent_yaml(&Names::clean());
    let words = |bytes: usize| "my order arrived broken ".repeat(bytes / 24);
    c.suite_case(
        "a 2 MB caller line",
        suite.replacen(
            "caller: \"my order arrived broken\"",
            &format!("caller: \"{}\"", words(2 * mb)),
            1,
        ),
        SEARCH,
        Expect::Loads,
    );
    c.suite_case(
        "a 1 MB conversation name",
        suite.replacen(
            "- name: \"broken order\"",
            &format!("- name: \"{}\"", "x".repeat(mb)),
            1,
        ),
        SEARCH,
        Expect::Loads,
    );
    c.suite_case(
        "a 10 MB unknown key",
        format!(
            "suite: s\nagent: agent.yaml\n{}: 1\nconversations: []\n",
            "k".repeat(10 * mb)
        ),
        SEARCH,
        Expect::Error,
    );
    c.suite_case(
        "a 10 MB line without a line break",
        "x".repeat(10 * mb),
        RUN,
        Expect::Error,
    );
    c.suite_case(
        "a 2 MB plain scalar over 10,000 lines",
        format!(
            "suite: s\nagent: agent.yaml\ndescription:\n{}conversations: []\n",
            format!("  {}\n", "word ".repeat(40)).repeat(10_000)
        ),
        RUN,
        Expect::Error,
    );
    c.agent_case(
        "a 10 MB reply",
        agent.replacen(
            "reply: \"We open at nine.\"",
            &format!("reply: \"{}\"", "x".repeat(10 * mb)),
            1,
        ),
        ALL,
        Expect::Loads,
    );
    c.agent_case(
        "a 1 MB utterance",
        agent.replacen("\"when are you open\"", &format!("\"{}\"", words(mb)), 1),
        ALL,
        Expect::Loads,
    );
    c.sfdx_case("a 1 MB utterance in the bundle", RUN_EXPLAIN, Expect::Any, |d, _| {
        let p = d.join(BUNDLE);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replacen("my order arrived broken", &words(mb), 1)).unwrap();
    });
    c.sfdx_case(
        "a 10 MB attribute value in the bundle",
        RUN_EXPLAIN,
        Expect::Any,
        |d, _| {
            let p = d.join(BUNDLE);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(
                &p,
                text.replacen(
                    "<localTopicLinks>",
                    &format!("<localTopicLinks x=\"{}\">", "y".repeat(10 * mb)),
                    1,
                ),
            )
            .unwrap();
        },
    );
}

fn bad_encodings(c: &mut Corpus) {
    c.category = "bad encodings";
    let suite = suite_yaml(&Names::clean(), "agent.yaml");
    let agent = agent_yaml(&Names::clean());
    c.suite_case(
        "a UTF-16LE suite with BOM",
        utf16(&suite, false),
        &[Cmd::Run, Cmd::Fuzz],
        Expect::Error,
    );
    c.suite_case("a UTF-16BE suite with BOM", utf16(&suite, true), RUN, Expect::Error);
    c.suite_case(
        "a UTF-16LE suite without BOM",
        &utf16(&suite, false)[2..],
        RUN,
        Expect::Error,
    );
    c.suite_case(
        "a UTF-32 suite with BOM",
        {
            let mut b = vec![0xFF, 0xFE, 0, 0];
            for ch in suite.chars() {
                b.extend((ch as u32).to_le_bytes());
            }
            b
        },
        RUN,
        Expect::Error,
    );
    let mut bad = suite.clone().into_bytes();
    let at = suite.find("my order").unwrap();
    bad.splice(at..at, [0xC3, 0x28, 0xFF]);
    c.suite_case(
        "invalid UTF-8 in a caller line",
        bad,
        &[Cmd::Run, Cmd::Verify],
        Expect::Error,
    );
    let mut cesu = suite.clone().into_bytes();
    cesu.splice(at..at, [0xED, 0xA0, 0x80]);
    c.suite_case("an encoded surrogate (CESU-8)", cesu, RUN, Expect::Error);
    let mut overlong = suite.clone().into_bytes();
    overlong.splice(at..at, [0xC0, 0xAF]);
    c.suite_case("an overlong encoding of '/'", overlong, RUN, Expect::Error);
    c.suite_case(
        "NUL bytes in a caller line",
        suite.replacen("my order", "my\0order\0\0", 1),
        RUN,
        Expect::Error,
    );
    c.suite_case("NUL bytes in a comment", format!("# \0\0\0\n{suite}"), RUN, Expect::Any);
    c.suite_case("a UTF-8 BOM", format!("\u{FEFF}{suite}"), SEARCH, Expect::Loads);
    c.suite_case(
        "a BOM inside a key",
        suite.replacen("tags:", "ta\u{FEFF}gs:", 1),
        RUN,
        Expect::Error,
    );
    c.suite_case("CRLF line breaks", suite.replace('\n', "\r\n"), SEARCH, Expect::Loads);
    c.suite_case("CR line breaks only", suite.replace('\n', "\r"), RUN, Expect::Any);
    c.suite_case(
        "a lone surrogate escape",
        suite.replacen("my order", "my \\uD800 order", 1),
        RUN,
        Expect::Error,
    );
    c.agent_case(
        "a UTF-16LE agent with BOM",
        utf16(&agent, false),
        RUN_EXPLAIN,
        Expect::Error,
    );
    let mut bad = agent.clone().into_bytes();
    let at = agent.find("Opening hours").unwrap();
    bad.splice(at..at, [0x80, 0x80, 0xFE]);
    c.agent_case("invalid UTF-8 in an agent", bad, RUN_EXPLAIN, Expect::Error);
    c.agent_case(
        "NUL bytes in an agent",
        agent.replacen("Opening hours", "Opening\0hours", 1),
        RUN_EXPLAIN,
        Expect::Error,
    );
    // Golden transcripts that are not text.
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), &agent).unwrap();
    std::fs::write(dir.join("utf16.txt"), utf16("conversation: x\n", false)).unwrap();
    std::fs::write(dir.join("bad.txt"), b"conversation: \xff\xfe\x00\n").unwrap();
    let golden = suite
        .replacen(
            "    tags: [\"orders\"]\n",
            "    tags: [\"orders\"]\n    transcript: utf16.txt\n",
            1,
        )
        .replacen(
            "  - name: \"third broken order\"\n",
            "  - name: \"third broken order\"\n    transcript: bad.txt\n",
            1,
        );
    std::fs::write(dir.join("suite.yaml"), golden).unwrap();
    c.push(
        id.clone(),
        "golden transcripts in UTF-16 and invalid UTF-8",
        Some(format!("{id}/suite.yaml")),
        None,
        RUN,
        Expect::Loads,
    );
    c.sfdx_case("a UTF-16 bundle", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(BUNDLE);
        let text = std::fs::read_to_string(&p).unwrap().replacen("UTF-8", "UTF-16", 1);
        std::fs::write(&p, utf16(&text, false)).unwrap();
    });
    c.sfdx_case("invalid UTF-8 in the bundle", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(BUNDLE);
        let mut b = std::fs::read(&p).unwrap();
        let at = b.len() / 2;
        b.splice(at..at, [0xFF, 0xC3]);
        std::fs::write(&p, b).unwrap();
    });
    c.sfdx_case("a NUL in the bundle", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(BUNDLE);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replacen("my order arrived", "my\0order", 1)).unwrap();
    });
    c.sfdx_case("an ISO-8859-1 bundle", RUN_EXPLAIN, Expect::Any, |d, _| {
        let p = d.join(BUNDLE);
        let text = std::fs::read_to_string(&p).unwrap().replacen("UTF-8", "ISO-8859-1", 1);
        let mut b = text.into_bytes();
        let at = b.windows(8).position(|w| w == b"my order").unwrap();
        b.splice(at..at, [0xE9]);
        std::fs::write(&p, b).unwrap();
    });
}

fn special_files(c: &mut Corpus) {
    c.category = "special files";
    let agent = agent_yaml(&Names::clean());
    // FIFOs named as a suite, an agent, a golden, an overlay's base, metadata.
    let (id, dir) = c.dir();
    mkfifo(&dir.join("pipe.yaml"));
    c.push(
        id.clone(),
        "a FIFO as the suite",
        Some(format!("{id}/pipe.yaml")),
        Some(format!("{id}/pipe.yaml")),
        ALL,
        Expect::Error,
    );
    let (id, dir) = c.dir();
    mkfifo(&dir.join("agent.yaml"));
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
    c.push(
        id.clone(),
        "a FIFO as the agent",
        Some(format!("{id}/suite.yaml")),
        Some(format!("{id}/agent.yaml")),
        ALL,
        Expect::Error,
    );
    let (id, dir) = c.dir();
    mkfifo(&dir.join("golden.txt"));
    std::fs::write(dir.join("agent.yaml"), &agent).unwrap();
    std::fs::write(
        dir.join("suite.yaml"),
        suite_yaml(&Names::clean(), "agent.yaml").replacen(
            "    tags: [\"orders\"]\n",
            "    tags: [\"orders\"]\n    transcript: golden.txt\n",
            1,
        ),
    )
    .unwrap();
    c.push(
        id.clone(),
        "a FIFO as a golden transcript",
        Some(format!("{id}/suite.yaml")),
        None,
        RUN,
        Expect::Any,
    );
    c.sfdx_case("a FIFO as the bundle", RUN_EXPLAIN, Expect::Any, |d, _| {
        let p = d.join(BUNDLE);
        std::fs::remove_file(&p).unwrap();
        mkfifo(&p);
    });
    c.sfdx_case("a FIFO as an action schema", RUN_EXPLAIN, Expect::Any, |d, _| {
        let p = d.join(SCHEMA);
        std::fs::remove_file(&p).unwrap();
        mkfifo(&p);
    });
    c.sfdx_case("a FIFO as sfdx-project.json", RUN_EXPLAIN, Expect::Any, |d, _| {
        let p = d.join("sfdx-project.json");
        std::fs::remove_file(&p).unwrap();
        mkfifo(&p);
    });
    c.sfdx_case("a FIFO as the overlay's base", RUN_EXPLAIN, Expect::Error, |d, _| {
        mkfifo(&d.join("baton/base.yaml"));
        let p = d.join(OVERLAY);
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replacen("extends: ../force-app", "extends: base.yaml", 1);
        std::fs::write(&p, text).unwrap();
    });
    // A socket, a folder.
    let (id, dir) = c.dir();
    let listener = std::os::unix::net::UnixListener::bind(dir.join("agent.yaml")).unwrap();
    drop(listener);
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
    c.push(
        id.clone(),
        "a socket as the agent",
        Some(format!("{id}/suite.yaml")),
        Some(format!("{id}/agent.yaml")),
        RUN_EXPLAIN,
        Expect::Error,
    );
    let (id, dir) = c.dir();
    std::fs::create_dir_all(dir.join("agent.yaml")).unwrap();
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
    c.push(
        id.clone(),
        "a folder as the agent",
        Some(format!("{id}/suite.yaml")),
        Some(format!("{id}/agent.yaml")),
        RUN_EXPLAIN,
        Expect::Error,
    );
    // Devices, past confinement with --allow-outside-root.
    for dev in [
        "/dev/zero",
        "/dev/urandom",
        "/dev/null",
        "/proc/self/mem",
        "/proc/self/environ",
    ] {
        let (id, dir) = c.dir();
        std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), dev)).unwrap();
        c.push(
            id.clone(),
            format!("{dev} as the agent"),
            Some(format!("{id}/suite.yaml")),
            Some(dev.to_string()),
            RUN_EXPLAIN,
            Expect::Error,
        )
        .flags = vec!["--allow-outside-root"];
    }
    for dev in ["/dev/zero", "/dev/urandom", "/proc/self/mem"] {
        let (id, dir) = c.dir();
        std::fs::write(dir.join("agent.yaml"), &agent).unwrap();
        std::fs::write(
            dir.join("suite.yaml"),
            suite_yaml(&Names::clean(), "agent.yaml").replacen(
                "    tags: [\"orders\"]\n",
                &format!("    tags: [\"orders\"]\n    transcript: {dev}\n"),
                1,
            ),
        )
        .unwrap();
        // Read for comparison, and (past the first) to be written by --bless.
        c.push(
            id.clone(),
            format!("{dev} as a golden transcript"),
            Some(format!("{id}/suite.yaml")),
            None,
            RUN,
            // /proc/self/mem is a regular file, unreadable at offset 0: a
            // failed comparison, not a load error.
            if dev.starts_with("/dev/") {
                Expect::Error
            } else {
                Expect::Any
            },
        )
        .flags = if dev == "/dev/zero" {
            vec!["--allow-outside-root"]
        } else {
            vec!["--allow-outside-root", "--bless"]
        };
    }
    let (id, _) = c.dir();
    c.push(
        id,
        "/dev/zero as the suite",
        Some("/dev/zero".into()),
        None,
        SEARCH,
        Expect::Error,
    );
    // A folder walk over every kind of special file.
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), &agent).unwrap();
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
    mkfifo(&dir.join("pipe.yaml"));
    drop(std::os::unix::net::UnixListener::bind(dir.join("socket.yaml")).unwrap());
    symlink("/dev/zero", &dir.join("zero.yaml"));
    symlink("/dev/urandom", &dir.join("random.yml"));
    c.push(
        id.clone(),
        "a folder walk over a FIFO, a socket and links to devices",
        Some(id.clone()),
        None,
        SEARCH,
        Expect::Any,
    );
}

fn link_loops(c: &mut Corpus) {
    c.category = "symlink loops";
    let (id, dir) = c.dir();
    symlink("b.yaml", &dir.join("a.yaml"));
    symlink("a.yaml", &dir.join("b.yaml"));
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "a.yaml")).unwrap();
    c.push(
        id.clone(),
        "the agent is a two-link loop",
        Some(format!("{id}/suite.yaml")),
        Some(format!("{id}/a.yaml")),
        RUN_EXPLAIN,
        Expect::Error,
    );
    let (id, dir) = c.dir();
    symlink("self.yaml", &dir.join("self.yaml"));
    c.push(
        id.clone(),
        "the suite is a link to itself",
        Some(format!("{id}/self.yaml")),
        None,
        SEARCH,
        Expect::Error,
    );
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), agent_yaml(&Names::clean())).unwrap();
    std::fs::write(
        dir.join("suite.yaml"),
        suite_yaml(&Names::clean(), "agent.yaml").replacen(
            "    tags: [\"orders\"]\n",
            "    tags: [\"orders\"]\n    transcript: loop.txt\n",
            1,
        ),
    )
    .unwrap();
    symlink("loop.txt", &dir.join("loop.txt"));
    c.push(
        id.clone(),
        "a golden transcript that links to itself",
        Some(format!("{id}/suite.yaml")),
        None,
        RUN,
        Expect::Any,
    );
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), agent_yaml(&Names::clean())).unwrap();
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    symlink("..", &dir.join("sub/up"));
    symlink("../sub", &dir.join("sub/again"));
    symlink("nowhere", &dir.join("dangling.yaml"));
    c.push(
        id.clone(),
        "a folder walk through loops and a dangling link",
        Some(id.clone()),
        None,
        SEARCH,
        Expect::Any,
    );
    let (id, dir) = c.dir();
    std::fs::write(dir.join("l0.yaml"), agent_yaml(&Names::clean())).unwrap();
    for i in 1..=60 {
        symlink(format!("l{}.yaml", i - 1), &dir.join(format!("l{i}.yaml")));
    }
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "l60.yaml")).unwrap();
    c.push(
        id.clone(),
        "the agent at the end of 60 links",
        Some(format!("{id}/suite.yaml")),
        Some(format!("{id}/l60.yaml")),
        RUN_EXPLAIN,
        Expect::Any,
    );
    c.sfdx_case("the overlay extends a loop", RUN_EXPLAIN, Expect::Error, |d, _| {
        symlink("loop", &d.join("baton/loop"));
        let p = d.join(OVERLAY);
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replacen("extends: ../force-app", "extends: loop", 1);
        std::fs::write(&p, text).unwrap();
    });
    c.sfdx_case("the project's folders loop", RUN_EXPLAIN, Expect::Any, |d, _| {
        symlink("..", &d.join("force-app/main/default/genAiPlannerBundles/up"));
        symlink(
            "../../..",
            &d.join("force-app/main/default/genAiPlannerBundles/Contoso_Voice/top"),
        );
    });
}

fn escaping_paths(c: &mut Corpus, outside: &Path) {
    c.category = "escaping paths";
    let agent = agent_yaml(&Names::clean());
    std::fs::write(outside.join("agent.yaml"), &agent).unwrap();
    let outside_agent = outside.join("agent.yaml").display().to_string();
    for (what, path) in [
        (
            "a relative agent path out of the root",
            "../../outside/agent.yaml".to_string(),
        ),
        ("an absolute agent path out of the root", outside_agent.clone()),
        ("/etc/passwd as the agent", "/etc/passwd".to_string()),
        ("an agent path with a NUL", "\"agent\\0.yaml\"".to_string()),
        ("an empty agent path", "\"\"".to_string()),
        ("the root folder as the agent", "..".to_string()),
        ("a 10,000-character agent path", format!("{}.yaml", "a/".repeat(5000))),
        ("a selector without a path", "\"#Contoso_Voice\"".to_string()),
    ] {
        let (id, dir) = c.dir();
        std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), &path)).unwrap();
        c.push(
            id.clone(),
            what,
            Some(format!("{id}/suite.yaml")),
            None,
            RUN,
            Expect::Error,
        );
    }
    let (id, dir) = c.dir();
    symlink(outside, &dir.join("out"));
    std::fs::write(dir.join("suite.yaml"), suite_yaml(&Names::clean(), "out/agent.yaml")).unwrap();
    c.push(
        id.clone(),
        "an agent through a link out of the root",
        Some(format!("{id}/suite.yaml")),
        None,
        SEARCH,
        Expect::Error,
    );
    for (what, golden, bless) in [
        (
            "a golden path out of the root",
            "../../outside/victim.txt".to_string(),
            true,
        ),
        (
            "an absolute golden path",
            outside.join("victim.txt").display().to_string(),
            false,
        ),
        ("a golden through a link out", "out/victim.txt".to_string(), true),
        (
            "a golden in a new folder out of the root",
            "../../outside/new/x.txt".to_string(),
            true,
        ),
    ] {
        let (id, dir) = c.dir();
        std::fs::write(dir.join("agent.yaml"), &agent).unwrap();
        symlink(outside, &dir.join("out"));
        std::fs::write(
            dir.join("suite.yaml"),
            suite_yaml(&Names::clean(), "agent.yaml").replacen(
                "    tags: [\"orders\"]\n",
                &format!("    tags: [\"orders\"]\n    transcript: {golden}\n"),
                1,
            ),
        )
        .unwrap();
        let case = c.push(
            id.clone(),
            what,
            Some(format!("{id}/suite.yaml")),
            None,
            RUN,
            Expect::Error,
        );
        if bless {
            case.flags = vec!["--bless"];
        }
    }
    // (`explain` reads what its command line names, wherever it leads.)
    for (what, base) in [
        (
            "an overlay extending a project out of the root",
            "../../../../outside/force-app".to_string(),
        ),
        (
            "an overlay extending an absolute path",
            outside.join("force-app").display().to_string(),
        ),
        ("an overlay extending /etc", "/etc".to_string()),
    ] {
        c.sfdx_case(what, RUN, Expect::Error, |d, _| {
            let p = d.join(OVERLAY);
            let text =
                std::fs::read_to_string(&p)
                    .unwrap()
                    .replacen("extends: ../force-app", &format!("extends: {base}"), 1);
            std::fs::write(&p, text).unwrap();
        });
    }
    copy_dir(
        &repo().join("fixtures/sfdx/contoso/force-app"),
        &outside.join("force-app"),
    );
    c.sfdx_case("package directories out of the root", RUN_EXPLAIN, Expect::Any, |d, _| {
        std::fs::write(
            d.join("sfdx-project.json"),
            r#"{ "packageDirectories": [{ "path": "../../../outside/force-app" }, { "path": "/" }, { "path": "../../../outside" }] }"#,
        )
        .unwrap();
        std::fs::remove_dir_all(d.join("force-app")).unwrap();
    });
    c.sfdx_case(
        "the bundle folder is a link out of the root",
        RUN_EXPLAIN,
        Expect::Any,
        |d, _| {
            let bundles = d.join("force-app/main/default/genAiPlannerBundles");
            std::fs::remove_dir_all(&bundles).unwrap();
            // Resolved from the case folder: outside/force-app/main/default/genAiPlannerBundles.
            let target = d.join("../../../outside/force-app/main/default/genAiPlannerBundles");
            symlink(target, &bundles);
        },
    );
}

fn hostile_names(c: &mut Corpus) {
    c.category = "control characters in names";
    // Every kind of name with an escaped character: refused, located.
    for kind in 0..NAME_KINDS {
        for round in 0..2 {
            let (ch, what) = CHARS[(kind * 2 + round) % CHARS.len()];
            let (n, kind_name) = Names::with(kind, ch);
            let (id, dir) = c.dir();
            std::fs::write(dir.join("agent.yaml"), agent_yaml(&n)).unwrap();
            std::fs::write(dir.join("suite.yaml"), suite_yaml(&n, "agent.yaml")).unwrap();
            // The first round through every command that loads it, the
            // second through `run`.
            let agent_side = kind >= 4;
            let cmds: &'static [Cmd] = match (round, agent_side) {
                (0, true) => RUN_EXPLAIN,
                (0, false) => &[Cmd::Run, Cmd::Verify],
                _ => RUN,
            };
            c.push(
                id.clone(),
                format!("{what} in the {kind_name} name"),
                Some(format!("{id}/suite.yaml")),
                agent_side.then(|| format!("{id}/agent.yaml")),
                cmds,
                Expect::Error,
            );
        }
    }
    // Raw characters in the file, where YAML allows them or not.
    for kind in 0..NAME_KINDS {
        let (ch, what) = RAW_CHARS[kind % RAW_CHARS.len()];
        let (n, kind_name) = Names::with(kind, ch);
        let (id, dir) = c.dir();
        std::fs::write(dir.join("agent.yaml"), agent_yaml(&n)).unwrap();
        std::fs::write(dir.join("suite.yaml"), suite_yaml(&n, "agent.yaml")).unwrap();
        c.push(
            id.clone(),
            format!("{what} in the {kind_name} name"),
            Some(format!("{id}/suite.yaml")),
            None,
            RUN,
            Expect::Error,
        );
    }
    // Names in metadata, as character references.
    for (what, from, to) in [
        (
            "a right-to-left override in a topic name",
            "Case_Management_16j000000000001AAA",
            "Case_&#x202E;Management_16j000000000001AAA",
        ),
        (
            "a noncharacter in an action name",
            "createcase_179000000000001AAA",
            "create&#xFDD0;case_179000000000001AAA",
        ),
        (
            "ESC in a topic name",
            "Billing_16j000000000002AAA",
            "Billing&#x1b;_16j000000000002AAA",
        ),
        (
            "a newline in a topic name",
            "Store_Info_16j000000000003AAA",
            "Store&#10;Info_16j000000000003AAA",
        ),
    ] {
        c.sfdx_case(what, RUN_EXPLAIN, Expect::Any, |d, _| {
            let p = d.join(BUNDLE);
            let text = std::fs::read_to_string(&p).unwrap().replace(from, to);
            std::fs::write(&p, text).unwrap();
        });
    }
    c.sfdx_case(
        "a bidi isolate in an overlay slot name",
        RUN_EXPLAIN,
        Expect::Error,
        |d, _| {
            let p = d.join(OVERLAY);
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replacen("  phone:", "  \"ph\\u2067one\":", 1);
            std::fs::write(&p, text).unwrap();
        },
    );
}

/// Folder walks find files a pull request named: their names reach every
/// error, warning and console line about them.
fn hostile_file_names(c: &mut Corpus) {
    c.category = "control characters in file names";
    let bad = "bad\u{1b}[31m\u{202E}\u{FFFE}.yaml";
    let forged = "ok\n    PASS [  0.001s] forged :: line\r.yaml";
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), agent_yaml(&Names::clean())).unwrap();
    std::fs::write(dir.join(bad), "suite: s\nagent: agent.yaml\nconversations: [ {\n").unwrap();
    std::fs::write(dir.join(forged), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
    c.push(
        id.clone(),
        "a walk over a malformed suite with escapes in its name",
        Some(id.clone()),
        None,
        SEARCH,
        Expect::Error,
    )
    .missing = vec!["bad\\x1b[31m\\u{202E}\\u{FFFE}.yaml".into()];
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), agent_yaml(&Names::clean())).unwrap();
    std::fs::write(dir.join(forged), suite_yaml(&Names::clean(), "agent.yaml")).unwrap();
    mkfifo(&dir.join("pipe\u{202E}\n.yaml"));
    c.push(
        id.clone(),
        "a walk over a suite whose name forges a line, and a FIFO",
        Some(id.clone()),
        None,
        SEARCH,
        Expect::Loads,
    );
}

fn hostile_texts(c: &mut Corpus) {
    c.category = "control characters in caller lines and texts";
    // Caller lines may hold anything: they load, and reports stay strict XML.
    for group in CHARS.chunks(4) {
        let mut t = Texts::clean();
        let at: Vec<&str> = group.iter().map(|p| p.0).collect();
        t.caller = format!("my{}order{}arrived{}broken{}", at[0], at[1], at[2], at[3]);
        let what: Vec<&str> = group.iter().map(|p| p.1).collect();
        c.suite_case(
            format!("{} in caller lines", what.join(", ")),
            suite_yaml_with(&Names::clean(), "agent.yaml", &t),
            SEARCH,
            Expect::Loads,
        );
    }
    let all: String = CHARS.iter().map(|c| c.0).collect();
    let mut t = Texts::clean();
    t.caller = format!("my order arrived broken {all} get me a human");
    t.reply = format!("We open at nine {all}");
    t.value = format!("0000{all}1234");
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), agent_yaml_with(&Names::clean(), &t)).unwrap();
    std::fs::write(
        dir.join("suite.yaml"),
        suite_yaml_with(&Names::clean(), "agent.yaml", &t),
    )
    .unwrap();
    c.push(
        id.clone(),
        "every character in caller lines, replies, messages, fixture values, skip reasons and expectations",
        Some(format!("{id}/suite.yaml")),
        Some(format!("{id}/agent.yaml")),
        ALL,
        Expect::Loads,
    );
    let raw: String = RAW_CHARS.iter().filter(|c| c.0 != "\u{0}").map(|c| c.0).collect();
    let mut t = Texts::clean();
    t.caller = format!("my order arrived broken {raw}");
    c.suite_case(
        "raw control characters in a double-quoted caller line",
        suite_yaml_with(&Names::clean(), "agent.yaml", &t),
        RUN,
        Expect::Any,
    );
    c.sfdx_case(
        "bidi controls and noncharacters in metadata utterances and instructions",
        RUN_EXPLAIN,
        Expect::Loads,
        |d, _| {
            let p = d.join(BUNDLE);
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replace(
                    "my order arrived broken",
                    "my order&#x202E; arrived &#xFFFD;broken&#xFDD0;",
                )
                .replace(
                    "Contoso&apos;s customer line",
                    "Contoso&#x2066;&#x85;&#x9b;s customer line",
                );
            std::fs::write(&p, text).unwrap();
        },
    );
}

fn regex_bombs(c: &mut Corpus) {
    c.category = "regex bombs";
    for (what, re) in [
        (
            "a says regex 5,000 groups deep",
            format!("/{}a{}/", "(".repeat(5000), ")".repeat(5000)),
        ),
        ("a says regex of huge repetition", "/(a{1000}){1000}/".to_string()),
        (
            "a says regex with a huge class repetition",
            "/[\\\\w\\\\W]{65535}{65535}/".to_string(),
        ),
        ("a says regex with unbalanced brackets", "/[[[[[[[[[[/".to_string()),
        ("a says regex with a lookahead", "/(?=a)a/i".to_string()),
        ("a says regex with bad flags", "/a/gzq".to_string()),
    ] {
        let suite = suite_yaml(&Names::clean(), "agent.yaml").replacen(
            "says: \"We open at nine.\"",
            &format!("says: \"{re}\""),
            1,
        );
        c.suite_case(what, suite, &[Cmd::Run, Cmd::Verify], Expect::Error);
    }
    for (what, pattern, expect) in [
        (
            "a slot pattern of nested repetitions",
            "((a{0,100}){0,100}){0,100}".to_string(),
            Expect::Any,
        ),
        (
            "a slot pattern 5,000 groups deep",
            format!("{}a{}", "(".repeat(5000), ")".repeat(5000)),
            Expect::Error,
        ),
        ("a slot pattern with 100 capture groups", "(a)".repeat(100), Expect::Any),
        (
            "a slot pattern of a huge class repetition",
            "[\\\\w\\\\W]{1000}{1000}".to_string(),
            Expect::Error,
        ),
        (
            "a slot pattern of alternations",
            vec!["(aa|a)"; 200].join(""),
            Expect::Any,
        ),
        (
            "a slot pattern matching the empty string",
            "(x*)".to_string(),
            Expect::Any,
        ),
    ] {
        let agent = agent_yaml(&Names::clean()).replacen("{ kind: email,", &format!("{{ pattern: \"{pattern}\","), 1);
        c.agent_case(what, agent, ALL, expect);
    }
}

/// Agents and suites with thousands of names and of references to names
/// that do not exist: work in proportion to names times references, or to
/// errors times file size, does not finish.
fn many_names(c: &mut Corpus) {
    c.category = "many names";
    let mut agent = String::from("agent: Many\nescalation: { flow: F }\nslots:\n");
    for i in 0..5_000 {
        agent.push_str(&format!("  s{i}: {{ kind: email }}\n"));
    }
    agent.push_str("actions:\n");
    for i in 0..5_000 {
        agent.push_str(&format!("  a{i}: {{ inputs: [x{i}] }}\n"));
    }
    agent.push_str("topics:\n  - name: T\n");
    c.agent_case(
        "5,000 references to unknown slots among 5,000",
        agent,
        RUN_EXPLAIN,
        Expect::Error,
    );
    let mut turns = String::new();
    for i in 0..3_000 {
        turns.push_str(&format!(
            "      - caller: hi\n        expect: {{ topic: Topic{i}, actions: [act{i}] }}\n"
        ));
    }
    c.suite_case(
        "6,000 unknown topic and action names in expectations",
        format!("suite: s\nagent: agent.yaml\nconversations:\n  - name: c\n    turns:\n{turns}"),
        RUN,
        Expect::Error,
    );
    let mut agent = String::from("agent: Wide\nescalation: { flow: F }\nslots:\n");
    for i in 0..200 {
        agent.push_str(&format!("  s{i}: {{ kind: email }}\n"));
    }
    agent.push_str("actions:\n  a:\n    inputs: [");
    agent.push_str(&(0..200).map(|i| format!("s{i}")).collect::<Vec<_>>().join(", "));
    agent.push_str("]\ntopics:\n  - name: Case_Management\n    utterances: [\"my order arrived broken\"]\n    can_escalate: true\n    actions: [a]\n    instructions: [\"When the caller describes a problem, run the 'a' action.\", \"Allow the 'Escalation' action only after the 'a' action has been executed.\"]\n");
    let (id, dir) = c.dir();
    std::fs::write(dir.join("agent.yaml"), agent).unwrap();
    std::fs::write(
        dir.join("suite.yaml"),
        "suite: s\nagent: agent.yaml\nproperties:\n  - name: a first\n    escalation_requires: { actions: [a] }\nconversations:\n  - name: c\n    turns:\n      - caller: my order arrived broken\n      - caller: ann@example.com\n      - caller: get me a human\n",
    )
    .unwrap();
    c.push(
        id.clone(),
        "an action with 200 required inputs",
        Some(format!("{id}/suite.yaml")),
        Some(format!("{id}/agent.yaml")),
        ALL,
        Expect::Loads,
    );
}

fn metadata_xml(c: &mut Corpus) {
    c.category = "malformed metadata";
    c.sfdx_case("a truncated bundle", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(BUNDLE);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, &text[..text.len() / 2]).unwrap();
    });
    c.sfdx_case("an entity bomb in a DTD", RUN_EXPLAIN, Expect::Error, |d, _| {
        let mut dtd = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE GenAiPlannerBundle [\n<!ENTITY l0 \"lol\">\n");
        for i in 1..10 {
            dtd.push_str(&format!("<!ENTITY l{i} \"{}\">\n", format!("&l{};", i - 1).repeat(10)));
        }
        dtd.push_str("]>\n<GenAiPlannerBundle><description>&l9;</description></GenAiPlannerBundle>\n");
        std::fs::write(d.join(BUNDLE), dtd).unwrap();
    });
    c.sfdx_case("an external entity", RUN_EXPLAIN, Expect::Error, |d, _| {
        std::fs::write(
            d.join(BUNDLE),
            "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY s SYSTEM \"file:///etc/passwd\">]>\n<GenAiPlannerBundle><description>&s;</description></GenAiPlannerBundle>\n",
        )
        .unwrap();
    });
    c.sfdx_case("50,000 distinct unknown elements", RUN_EXPLAIN, Expect::Any, |d, _| {
        let p = d.join(BUNDLE);
        let text = std::fs::read_to_string(&p).unwrap();
        let many: String = (0..50_000).map(|i| format!("<unknown{i}/>")).collect();
        std::fs::write(
            &p,
            text.replacen("<localTopicLinks>", &format!("{many}<localTopicLinks>"), 1),
        )
        .unwrap();
    });
    c.sfdx_case(
        "2,100,000 elements (past the node limit)",
        &[Cmd::Explain],
        Expect::Error,
        |d, _| {
            let p = d.join(BUNDLE);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(
                &p,
                text.replacen(
                    "<localTopicLinks>",
                    &format!("{}<localTopicLinks>", "<a/>".repeat(2_100_000)),
                    1,
                ),
            )
            .unwrap();
        },
    );
    c.sfdx_case(
        "10,000 topic links to one missing topic",
        RUN_EXPLAIN,
        Expect::Any,
        |d, _| {
            let p = d.join(BUNDLE);
            let text = std::fs::read_to_string(&p).unwrap();
            let links =
                "<localTopicLinks><genAiPluginName>Missing_Topic</genAiPluginName></localTopicLinks>".repeat(10_000);
            std::fs::write(
                &p,
                text.replacen("<localTopicLinks>", &format!("{links}<localTopicLinks>"), 1),
            )
            .unwrap();
        },
    );
    c.sfdx_case("an empty bundle", RUN_EXPLAIN, Expect::Error, |d, _| {
        std::fs::write(d.join(BUNDLE), "").unwrap();
    });
    c.sfdx_case("the wrong root element", RUN_EXPLAIN, Expect::Error, |d, _| {
        std::fs::write(
            d.join(BUNDLE),
            "<?xml version=\"1.0\"?>\n<Flow><description>x</description></Flow>\n",
        )
        .unwrap();
    });
    c.sfdx_case("a forbidden character reference", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(BUNDLE);
        let text =
            std::fs::read_to_string(&p)
                .unwrap()
                .replacen("my order arrived broken", "my order&#0;&#x1b; arrived", 1);
        std::fs::write(&p, text).unwrap();
    });
    c.sfdx_case("malformed sfdx-project.json", RUN_EXPLAIN, Expect::Error, |d, _| {
        std::fs::write(d.join("sfdx-project.json"), "{ \"packageDirectories\": [ { \"path\": ").unwrap();
    });
    c.sfdx_case("a malformed action schema", RUN_EXPLAIN, Expect::Any, |d, _| {
        std::fs::write(d.join(SCHEMA), "{ \"properties\": { \"email\": ").unwrap();
    });
    c.sfdx_case(
        "an action schema with 30,000 required inputs",
        RUN_EXPLAIN,
        Expect::Any,
        |d, _| {
            let names: Vec<String> = (0..30_000).map(|i| format!("\"in{i}\"")).collect();
            let props: Vec<String> = (0..30_000)
                .map(|i| format!("\"in{i}\": {{ \"type\": \"string\" }}"))
                .collect();
            std::fs::write(
                d.join(SCHEMA),
                format!(
                    "{{ \"required\": [{}], \"properties\": {{ {} }} }}",
                    names.join(","),
                    props.join(",")
                ),
            )
            .unwrap();
        },
    );
    // Mutated copies of the bundle, the schemas and the project file.
    for i in 0..10 {
        let target = match i % 5 {
            0..=2 => BUNDLE,
            3 => SCHEMA,
            _ => "sfdx-project.json",
        };
        let what = format!("mutated {}", Path::new(target).file_name().unwrap().to_string_lossy());
        let mut how = String::new();
        let case = c.sfdx_case(what, RUN_EXPLAIN, Expect::Any, |d, rng| {
            let p = d.join(target);
            let (bytes, h) = mutate(rng, &std::fs::read(&p).unwrap(), XML_SPECIALS);
            how = h;
            std::fs::write(&p, bytes).unwrap();
        });
        case.what.push_str(&format!(": {how}"));
    }
}

fn bad_overlays(c: &mut Corpus) {
    c.category = "overlays with bad extends";
    for (what, extends, expect) in [
        ("extends a missing file", "missing/force-app".to_string(), Expect::Error),
        (
            "extends itself",
            "contoso_voice.overlay.yaml".to_string(),
            Expect::Error,
        ),
        (
            "extends another overlay",
            "other.overlay.yaml".to_string(),
            Expect::Error,
        ),
        ("extends a suite", "../../suite.yaml".to_string(), Expect::Error),
        ("extends an empty path", "\"\"".to_string(), Expect::Error),
        (
            "extends a folder inside the package",
            "../force-app/main".to_string(),
            Expect::Any,
        ),
        ("extends a folder that holds no project", ".".to_string(), Expect::Error),
        (
            "extends an agent that is not there",
            "../force-app#No_Such_Agent".to_string(),
            Expect::Error,
        ),
        (
            "extends with several selectors",
            "../force-app#Contoso_Voice#x#y".to_string(),
            Expect::Error,
        ),
        (
            "extends a list",
            "[../force-app, ../force-app]".to_string(),
            Expect::Error,
        ),
        ("extends null", "~".to_string(), Expect::Error),
        ("extends a mapping", "{ path: ../force-app }".to_string(), Expect::Error),
        (
            "extends a baton YAML agent",
            "../../agent.yaml".to_string(),
            Expect::Any,
        ),
        ("extends /dev/zero", "/dev/zero".to_string(), Expect::Error),
        (
            "extends a selector with control characters",
            "\"../force-app#Contoso\\e[31m\\u202E\"".to_string(),
            Expect::Error,
        ),
    ] {
        let case = c.sfdx_case(what, RUN_EXPLAIN, expect, |d, _| {
            let p = d.join(OVERLAY);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(d.join("baton/other.overlay.yaml"), &text).unwrap();
            std::fs::write(
                &p,
                text.replacen("extends: ../force-app", &format!("extends: {extends}"), 1),
            )
            .unwrap();
            std::fs::write(d.join("../agent.yaml"), agent_yaml(&Names::clean())).unwrap();
        });
        if what == "extends a missing file" {
            case.missing.push("force-app".into());
        }
    }
    c.sfdx_case(
        "two overlays extending each other",
        RUN_EXPLAIN,
        Expect::Error,
        |d, _| {
            let p = d.join(OVERLAY);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(
                d.join("baton/other.overlay.yaml"),
                text.replacen("extends: ../force-app", "extends: contoso_voice.overlay.yaml", 1),
            )
            .unwrap();
            std::fs::write(
                &p,
                text.replacen("extends: ../force-app", "extends: other.overlay.yaml", 1),
            )
            .unwrap();
        },
    );
    c.sfdx_case("an overlay without extends", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(OVERLAY);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replacen("extends: ../force-app", "# extends removed", 1)).unwrap();
    });
    c.sfdx_case("extends given twice", RUN_EXPLAIN, Expect::Error, |d, _| {
        let p = d.join(OVERLAY);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            &p,
            text.replacen(
                "extends: ../force-app",
                "extends: ../force-app\nextends: ../force-app",
                1,
            ),
        )
        .unwrap();
    });
    c.sfdx_case(
        "an overlay naming things the agent lacks",
        RUN_EXPLAIN,
        Expect::Error,
        |d, _| {
            let p = d.join(OVERLAY);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(
                &p,
                format!("{text}  \"No\\eSuch\": {{ reply: x }}\nsurface: \"Tele\\u202Ephony\"\n"),
            )
            .unwrap();
        },
    );
}

// ---------------------------------------------------------------------------
// Running a command and checking what it did

struct Job<'a> {
    case: &'a Case,
    cmd: Cmd,
}

struct Ran {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    max_rss_kib: i64,
    elapsed: Duration,
    cpu: Duration,
    hung: bool,
}

/// Runs baton in `dir` under the limits; reaps the child with `wait4` to
/// read its own peak resident memory.
fn spawn(dir: &Path, args: &[String]) -> Ran {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the
    // parent; it runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE_LIMIT,
                rlim_max: ADDRESS_SPACE_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SIGXCPU at the soft limit, SIGKILL a little later.
            let cpu = libc::rlimit {
                rlim_cur: CPU_LIMIT_SECS,
                rlim_max: CPU_LIMIT_SECS + 2,
            };
            if libc::setrlimit(libc::RLIMIT_CPU, &cpu) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut hung = false;
    let mut nap = Duration::from_millis(1);
    loop {
        // SAFETY: `pid` is our child, not yet reaped; the pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if start.elapsed() > TIMEOUT {
            hung = true;
            // SAFETY: signalling our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above, blocking until it is reaped.
            let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            assert_eq!(r, pid);
            break;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    let cpu = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    let cpu = cpu(usage.ru_utime) + cpu(usage.ru_stime);
    // Stopped by the CPU limit: SIGXCPU, or SIGKILL at the hard limit.
    let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
    if matches!(signal, Some(libc::SIGXCPU)) || (signal == Some(libc::SIGKILL) && cpu.as_secs() >= CPU_LIMIT_SECS) {
        hung = true;
    }
    // The child is reaped: `child` must not wait for it again.
    std::mem::forget(child);
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap()).to_string();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).to_string();
    let exited = libc::WIFEXITED(status);
    Ran {
        code: exited.then(|| libc::WEXITSTATUS(status)),
        signal,
        stdout,
        stderr,
        max_rss_kib: usage.ru_maxrss,
        elapsed,
        cpu,
        hung,
    }
}

/// Messages that may name a file without a position: they are about the
/// file as a whole, so no line of it is to blame. Each is a part of the
/// message and, where it applies to one kind of file only, the end of that
/// file's name. Anything else must carry `:LINE:COL` (both at least 1).
const WHOLE_FILE: &[(&str, &str)] = &[
    // It could not be read at all: missing, not permitted, a FIFO, device,
    // socket or folder, a link loop, over the size cap.
    ("cannot read", ""),
    // An encoding refused as a whole (metadata is read as one UTF-8 text).
    ("metadata file is not valid UTF-8", ""),
    // Nothing in it to point at.
    ("file is empty", ""),
    // Deliberately unquoted: the file may be anything, even a secret.
    ("not a baton agent config", ""),
    // About a folder named on the command line or as an agent.
    ("no suite files found", ""),
    ("no agent here", ""),
    ("no agent named", ""),
    ("agents here: pick one", ""),
    ("the project has more than", ""),
    ("cannot find the project root", ""),
    // Action schemas are JSON, read without positions.
    ("are supported", ".json"),
];

/// Checks one `error:` line: `error: PATH:LINE:COL: MESSAGE`, or
/// `error: PATH: MESSAGE` with a message from [`WHOLE_FILE`]; PATH exists
/// (relative to `dir`) or is one the case expects to be missing.
fn check_located(line: &str, dir: &Path, case: &Case) -> Result<(), String> {
    let rest = line.strip_prefix("error: ").ok_or("not an error line")?;
    // No path in the corpus holds ": ", so the first one ends the location.
    let (location, message) = rest
        .split_once(": ")
        .ok_or_else(|| format!("no 'PATH: ' in the error line: {line:?}"))?;
    let mut parts = location.rsplitn(3, ':');
    let (col, lin, path) = (parts.next(), parts.next(), parts.next());
    let (path, positioned) = match (path, lin.map(str::parse::<u32>), col.map(str::parse::<u32>)) {
        (Some(p), Some(Ok(l)), Some(Ok(c))) => {
            if l == 0 || c == 0 {
                return Err(format!("position {l}:{c} is not 1-based: {line:?}"));
            }
            (p, true)
        }
        _ => (location, false),
    };
    if path.is_empty() {
        return Err(format!("no file named: {line:?}"));
    }
    let p = Path::new(path);
    let known = std::fs::symlink_metadata(dir.join(p)).is_ok()
        || case.missing.iter().any(|m| path.ends_with(m.as_str()))
        || case.suite.as_deref() == Some(path)
        || case.agent.as_deref() == Some(path);
    if !known {
        return Err(format!(
            "the error names {path:?}, which is no file of the case: {line:?}"
        ));
    }
    if !positioned
        && !WHOLE_FILE
            .iter()
            .any(|(part, file)| message.contains(part) && path.ends_with(file))
    {
        return Err(format!(
            "an error inside a file without :LINE:COL (only whole-file errors may omit it): {line:?}"
        ));
    }
    Ok(())
}

/// What may reach a terminal or a CI log as it is: no control character
/// but line break and tab, no bidirectional control (which makes text show
/// other than it is), no noncharacter. (README: names and caller lines are
/// escaped wherever baton prints them.)
fn printable(c: char) -> bool {
    let bidi = matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let nonchar = matches!(c as u32, 0xFDD0..=0xFDEF) || (c as u32 & 0xFFFE) == 0xFFFE;
    (c == '\n' || c == '\t' || !c.is_control()) && !bidi && !nonchar
}

fn head(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... [{} more bytes]", &s[..end], s.len() - end)
}

/// Runs one job; returns what went wrong, if anything, its CPU time and
/// its peak memory (KiB).
fn run_job(root: &Path, job: &Job) -> (Vec<String>, Duration, i64) {
    let case = job.case;
    let name = format!("{:?}", job.cmd).to_lowercase();
    let out = root.join("out").join(&case.id);
    std::fs::create_dir_all(&out).unwrap();
    let junit = out.join(format!("{name}-junit.xml"));
    let json = out.join(format!("{name}.json"));
    let regressions = out.join(format!("{name}-regressions"));
    let s = |p: &Path| p.display().to_string();
    let mut args: Vec<String> = vec![name.clone()];
    let reports = job.cmd != Cmd::Explain;
    match job.cmd {
        Cmd::Explain => args.push(case.agent.clone().unwrap()),
        _ => {
            args.push(case.suite.clone().unwrap());
            args.extend(["--junit".into(), s(&junit), "--json".into(), s(&json)]);
            args.extend(case.flags.iter().map(|f| f.to_string()));
        }
    }
    match job.cmd {
        Cmd::Fuzz => args.extend(["--cases".into(), "200".into(), "--regressions".into(), s(&regressions)]),
        Cmd::Verify => args.extend(["--depth".into(), "4".into(), "--regressions".into(), s(&regressions)]),
        _ => {}
    }
    let ran = spawn(root, &args);
    let mut problems = Vec::new();
    let mut fail = |p: String| problems.push(p);
    if ran.hung {
        fail(format!(
            "hung: stopped after {:.1}s ({:.1}s of CPU; limits {CPU_LIMIT_SECS}s of CPU, {TIMEOUT:?})",
            ran.elapsed.as_secs_f64(),
            ran.cpu.as_secs_f64()
        ));
    }
    if let Some(sig) = ran.signal.filter(|_| !ran.hung) {
        fail(format!("killed by signal {sig}"));
    }
    if let Some(code) = ran.code
        && !matches!(code, 0..=2)
    {
        fail(format!("exit code {code}"));
    }
    if ran.stderr.contains("panicked") {
        fail("panicked".into());
    }
    for (stream, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
        if let Some((i, c)) = text.char_indices().find(|&(_, c)| !printable(c)) {
            let from = text[..i].rfind('\n').map_or(0, |n| n + 1);
            fail(format!(
                "{c:?} printed raw on {stream} (escape it): {:?}",
                head(&text[from..], 200)
            ));
        }
    }
    if ran.max_rss_kib > MAX_RSS_KIB {
        fail(format!(
            "peak resident memory {} MiB, over {} MiB",
            ran.max_rss_kib / 1024,
            MAX_RSS_KIB / 1024
        ));
    }
    match (case.expect, ran.code) {
        (Expect::Error, Some(c)) if c != 2 => fail(format!("expected a load error (exit 2), got exit {c}")),
        (Expect::Loads, Some(2)) => fail("expected the input to load, got exit 2".into()),
        _ => {}
    }
    if ran.code == Some(2) {
        if !ran.stderr.contains(" while loading; nothing was run") {
            fail("exit 2 without load errors".into());
        }
        let errors: Vec<&str> = ran.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        if errors.is_empty() {
            fail("exit 2 without an error: line".into());
        }
        for l in errors {
            if let Err(e) = check_located(l, root, case) {
                fail(e);
            }
        }
        for r in [&junit, &json] {
            if r.exists() {
                fail(format!("{} was written despite exit 2", r.display()));
            }
        }
        if regressions.exists() {
            fail("regressions were written despite exit 2".into());
        }
    } else if ran.code.is_some_and(|c| c < 2) && reports {
        match std::fs::read_to_string(&junit) {
            Ok(xml) => {
                if let Err(e) = std::panic::catch_unwind(|| {
                    common::strict_xml(&xml);
                }) {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_else(|| "not strict XML".into());
                    fail(format!("JUnit report is not strict XML 1.0: {}", head(&msg, 600)));
                }
            }
            Err(e) => fail(format!("no JUnit report: {e}")),
        }
        match std::fs::read_to_string(&json) {
            Ok(text) => {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
                    fail(format!("JSON report does not parse: {e}"));
                }
            }
            Err(e) => fail(format!("no JSON report: {e}")),
        }
        // A regression suite baton writes always loads.
        if let Ok(entries) = std::fs::read_dir(&regressions) {
            for e in entries.flatten() {
                let p = e.path();
                if let Err(d) =
                    baton::model::load_suites_with(std::slice::from_ref(&p), &baton::files::Confinement::Auto)
                {
                    fail(format!(
                        "regression suite {} does not load: {}",
                        p.display(),
                        head(&d.to_string(), 600)
                    ));
                }
            }
        }
    }
    let problems = problems
        .into_iter()
        .map(|p| {
            format!(
                "[{}] {} ({}): {}\n  $ baton {}\n  exit {:?}, signal {:?}, {:.2}s ({:.2}s of CPU), {} MiB\n  stderr: {}",
                case.id,
                case.category,
                head(&case.what, 200),
                p,
                head(&args.join(" "), 300),
                ran.code,
                ran.signal,
                ran.elapsed.as_secs_f64(),
                ran.cpu.as_secs_f64(),
                ran.max_rss_kib / 1024,
                head(&ran.stderr, 1500).replace('\n', "\n    ")
            )
        })
        .collect();
    let _ = ran.stdout;
    (problems, ran.cpu, ran.max_rss_kib)
}

#[test]
fn hostile_inputs_never_crash_hang_blow_up_or_go_unlocated() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap().join("proj");
    let outside = tmp.path().canonicalize().unwrap().join("outside");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("victim.txt"), "conversation: not yours\n").unwrap();
    copy_dir(&repo().join("suites"), &root.join("suites"));
    copy_dir(&repo().join("fixtures"), &root.join("fixtures"));
    let mut cases = build_corpus(&root, &outside);
    // While working on one kind of input: BATON_HOSTILE_ONLY=deep (a part
    // of the category's name).
    if let Some(only) = std::env::var_os("BATON_HOSTILE_ONLY") {
        cases.retain(|c| c.category.contains(&*only.to_string_lossy()));
    }
    let built = started.elapsed();

    let jobs: Vec<Job> = cases
        .iter()
        .flat_map(|case| {
            case.cmds
                .iter()
                .filter(|cmd| match cmd {
                    Cmd::Explain => case.agent.is_some(),
                    _ => case.suite.is_some(),
                })
                .map(move |&cmd| Job { case, cmd })
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    // (CPU time, peak memory in KiB, category, what) of every command.
    let costs: Mutex<Vec<(Duration, i64, &str, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let (problems, cpu, rss) = run_job(&root, job);
                    failures.lock().unwrap().extend(problems);
                    costs.lock().unwrap().push((
                        cpu,
                        rss,
                        job.case.category,
                        format!("{} {:?} ({})", job.case.id, job.cmd, head(&job.case.what, 80)),
                    ));
                }
            });
        }
    });

    let mut costs = costs.into_inner().unwrap();
    let mut per_category: BTreeMap<&str, (usize, usize, Duration)> = BTreeMap::new();
    for case in &cases {
        per_category.entry(case.category).or_default().0 += 1;
    }
    for (cpu, _, category, _) in &costs {
        let e = per_category.entry(category).or_default();
        e.1 += 1;
        e.2 += *cpu;
    }
    let total: Duration = costs.iter().map(|c| c.0).sum();
    let peak = costs.iter().map(|c| c.1).max().unwrap_or(0);
    println!(
        "corpus (seed {:#x}): {} inputs, {} commands, {:.1}s of CPU, peak memory of one command {} MiB",
        seed(),
        cases.len(),
        jobs.len(),
        total.as_secs_f64(),
        peak / 1024
    );
    for (cat, (n, cmds, cpu)) in &per_category {
        println!("  {cat}: {n} inputs, {cmds} commands, {:.1}s", cpu.as_secs_f64());
    }
    costs.sort_by_key(|c| std::cmp::Reverse(c.0));
    println!("the costliest commands (CPU time):");
    for (cpu, _, _, what) in costs.iter().take(8) {
        println!("  {:.2}s {what}", cpu.as_secs_f64());
    }
    println!(
        "built in {:.2}s, all in {:.2}s",
        built.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    if std::env::var_os("BATON_HOSTILE_KEEP").is_some() {
        println!("corpus kept in {}", tmp.keep().display());
    }
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} problems with hostile input:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
