//! Counterexamples as ready-to-run regression suites: the minimal caller
//! script, the engine choices it needs (`choose:`), and the declared
//! property it breaks (implied ones come back with the agent). `baton run`
//! checks properties on every conversation, so the file fails until the
//! agent is fixed.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::check::property::Violation;
use crate::model::property::{Origin, PropertyKind, Requires};
use crate::model::{Choice, Event, Suite};

/// How every regression suite begins; searches skip files that do.
pub const HEADER: &str = "# Counterexample found by ";

/// Text on one comment line.
fn comment(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Whether the file at `path` is a regression suite written by a search.
pub fn is_regression_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 32];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].starts_with(HEADER.as_bytes())
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The regression suite for a counterexample.
pub fn yaml(
    suite: &Suite,
    property: usize,
    events: &[Event],
    choices: &[(u32, Choice)],
    violation: &Violation,
    source: &str,
) -> String {
    let agent = &suite.agent;
    let prop = &suite.properties[property];
    let mut y = String::new();
    let _ = writeln!(y, "{HEADER}`{source}`.");
    let _ = writeln!(y, "# Property: {} ({})", comment(&prop.name), prop.origin_text(agent));
    let what: Vec<String> = violation.missing.iter().map(|m| m.describe(agent)).collect();
    if violation.turn == 0 {
        let _ = writeln!(y, "# Broken from the start: {}.", comment(&what.join("; ")));
        let _ = writeln!(
            y,
            "# (Any first turn replays it: `baton run` checks from the start too.)"
        );
    } else {
        let _ = writeln!(y, "# Broken at turn {}: {}.", violation.turn, comment(&what.join("; ")));
    }
    let _ = writeln!(y, "# `baton run` fails on this file until the agent is fixed.");
    let _ = writeln!(
        y,
        "suite: {}",
        q(&format!("regression: {} / {}", suite.name, prop.name))
    );
    let _ = writeln!(y, "agent: {}", q(AGENT_PLACEHOLDER));
    if !suite
        .fixtures
        .actions
        .iter()
        .zip(&agent.fixtures.actions)
        .all(|(a, b)| a.fails == b.fails)
    {
        let _ = writeln!(y, "fixtures:");
        for (i, (a, b)) in suite.fixtures.actions.iter().zip(&agent.fixtures.actions).enumerate() {
            if a.fails != b.fails {
                let _ = writeln!(y, "  {}: {{ fails: {} }}", q(&agent.actions[i].name), a.fails);
            }
        }
    }
    // An implied property is pinned as a declared one: the file must keep
    // failing if a later edit unbinds the guard it came from.
    {
        let name = match prop.origin {
            Origin::Declared { .. } => prop.name.clone(),
            Origin::Implied { .. } => format!("pinned {}", prop.name),
        };
        let _ = writeln!(y, "properties:");
        let _ = writeln!(y, "  - name: {}", q(&name));
        match &prop.kind {
            PropertyKind::EscalationRequires(r) => {
                let _ = writeln!(y, "    escalation_requires: {}", requires(suite, r, true));
            }
            PropertyKind::EscalationReachable { within } => {
                let _ = writeln!(y, "    escalation_reachable: {{ within: {within} }}");
            }
            PropertyKind::ActionRequires { action, requires: r } => {
                let body = requires(suite, r, false);
                let _ = writeln!(
                    y,
                    "    action_requires: {{ action: {}, {} }}",
                    q(&agent.actions[*action as usize].name),
                    &body[2..body.len() - 2]
                );
            }
        }
    }
    let _ = writeln!(y, "conversations:");
    let _ = writeln!(y, "  - name: {}", q(&format!("{}: minimal counterexample", prop.name)));
    let _ = writeln!(y, "    turns:");
    for (i, ev) in events.iter().enumerate() {
        let line = match ev {
            Event::Caller(t) => format!("caller: {}", q(t)),
            Event::Silence => "silence: true".to_string(),
            Event::Dtmf(d) => format!("dtmf: {}", q(d)),
            Event::Hangup => "hangup: true".to_string(),
        };
        let _ = writeln!(y, "      - {line}");
        if let Some((_, c)) = choices.iter().find(|c| c.0 as usize == i) {
            let mut parts = Vec::new();
            if let Some(t) = c.topic {
                parts.push(format!("topic: {}", q(&agent.topics[t as usize].name)));
            }
            let names = |ids: &[u16]| -> String {
                let v: Vec<String> = ids.iter().map(|a| q(&agent.actions[*a as usize].name)).collect();
                format!("[{}]", v.join(", "))
            };
            if !c.fail.is_empty() {
                parts.push(format!("fail: {}", names(&c.fail)));
            }
            if !c.succeed.is_empty() {
                parts.push(format!("succeed: {}", names(&c.succeed)));
            }
            if !parts.is_empty() {
                let _ = writeln!(y, "        choose: {{ {} }}", parts.join(", "));
            }
        }
    }
    y
}

/// Stands for the agent path until the file's folder is known.
const AGENT_PLACEHOLDER: &str = "\u{0}AGENT\u{0}";

fn requires(suite: &Suite, r: &Requires, with_requested: bool) -> String {
    let agent = &suite.agent;
    let mut parts = Vec::new();
    if !r.actions.is_empty() {
        let v: Vec<String> = r
            .actions
            .iter()
            .map(|(a, t)| {
                let name = &agent.actions[*a as usize].name;
                q(&match t {
                    Some(t) => format!("{name} in {}", agent.topics[*t as usize].name),
                    None => name.clone(),
                })
            })
            .collect();
        parts.push(format!("actions: [{}]", v.join(", ")));
    }
    if !r.slots.is_empty() {
        let v: Vec<String> = r.slots.iter().map(|s| q(&agent.slots[*s as usize].name)).collect();
        parts.push(format!("slots: [{}]", v.join(", ")));
    }
    if with_requested && r.requested {
        parts.push("requested: true".to_string());
    }
    if let Some(t) = r.scope {
        parts.push(format!("topic: {}", q(&agent.topics[t as usize].name)));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// A file name from the suite's file and the property name.
pub fn file_name(suite: &Suite, property: usize) -> String {
    let stem = suite.path.file_stem().and_then(|s| s.to_str()).unwrap_or("suite");
    let stem = stem.strip_suffix(".suite").unwrap_or(stem);
    let prop = &suite.properties[property];
    // "guard Case_Management #2: ..." is named by its guard alone.
    let name = match prop.origin {
        Origin::Implied { .. } => prop.name.split(':').next().unwrap_or(&prop.name),
        Origin::Declared { .. } => &prop.name,
    };
    format!("{}--{}.yaml", slug(stem), slug(name))
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    out.chars()
        .take(60)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// The YAML with the agent path filled in.
pub fn with_agent(yaml: &str, agent: &str) -> String {
    yaml.replace(&q(AGENT_PLACEHOLDER), &q(agent))
}

/// Writes the regression suite to `path` (atomically), with the agent path
/// made relative to its folder. Returns the file written and its text.
pub fn write(suite: &Suite, yaml: &str, path: &Path) -> std::io::Result<(PathBuf, String)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let agent = std::fs::canonicalize(&suite.agent.path).unwrap_or_else(|_| suite.agent.path.clone());
    let base = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let rel = pathdiff::diff_paths(&agent, &base).unwrap_or(agent);
    let rel = rel.to_string_lossy().replace('\\', "/");
    let text = with_agent(yaml, &rel);
    crate::report::atomic_write(path, text.as_bytes())?;
    Ok((path.to_path_buf(), text))
}
