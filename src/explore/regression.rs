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

/// Text on one comment line: what could end the line or that YAML does not
/// allow in a file is written as an escape (a comment has no escapes, so it
/// reads as the text `\uFFFE` would in a quoted string).
fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if raw_ok(c) {
            out.push(c);
        } else {
            escape(c, &mut out);
        }
    }
    out
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

/// A YAML double-quoted scalar that reads back as exactly `s`. JSON's
/// escaping is not enough: it leaves U+FFFE, U+FFFF and C1 controls raw,
/// and YAML refuses a file that holds them.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if raw_ok(c) => out.push(c),
            c => escape(c, &mut out),
        }
    }
    out.push('"');
    out
}

/// Whether `c` may stand as it is in a quoted scalar or a comment: YAML's
/// printable set (`c-printable`), less the characters that break or fold
/// a line (tab, NEL, U+2028, U+2029), the byte-order mark, noncharacters
/// and bidirectional controls, which are legal but would make the file
/// read differently from what it holds.
fn raw_ok(c: char) -> bool {
    let u = c as u32;
    let printable = matches!(u, 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF);
    let hidden = u == 0xFEFF
        || matches!(u, 0x2028 | 0x2029 | 0x202A..=0x202E | 0x2066..=0x2069 | 0x200E | 0x200F | 0x061C)
        || (0xFDD0..=0xFDEF).contains(&u)
        || u & 0xFFFE == 0xFFFE;
    printable && !hidden
}

/// A YAML double-quoted escape for `c`.
fn escape(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) <= 0xFFFF => {
            let _ = write!(out, "\\u{:04X}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08X}", c as u32);
        }
    }
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
    let _ = writeln!(
        y,
        "# Property: {} ({})",
        comment(&prop.name),
        comment(&prop.origin_text(agent))
    );
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
            // Only `explain` searches for routes, and it writes no suites.
            PropertyKind::Avoids(_) => {
                let _ = writeln!(
                    y,
                    "    # a route `baton explain` searches for: no suite property states it"
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
            if let Some(r) = c.request {
                parts.push(format!("request: {r}"));
            }
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
            if !c.llm_calls.is_empty() {
                parts.push(format!("llm_calls: {}", names(&c.llm_calls)));
            }
            if c.llm_escalates {
                parts.push("llm_escalates: true".to_string());
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
    // A guard met by any of several requirements is pinned by its first:
    // the counterexample had none of them, so the pin fails on it too.
    let (mut actions, mut slots) = (r.actions.clone(), r.slots.clone());
    match r.any.first() {
        Some(crate::policy::Req::Slot(s)) => slots.push(*s),
        Some(crate::policy::Req::Action(a, t)) => actions.push((*a, *t)),
        None => {}
    }
    if !actions.is_empty() {
        let v: Vec<String> = actions
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
    if !slots.is_empty() {
        let v: Vec<String> = slots.iter().map(|s| q(&agent.slots[*s as usize].name)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every class of character a caller line may hold: C0 controls with
    /// line breaks and tab, DEL, C1 controls, NEL, line and paragraph
    /// separators, the byte-order mark, noncharacters, bidirectional
    /// controls, quotes and backslashes, and plain text in several scripts.
    fn nasty() -> Vec<String> {
        let ranges = [
            0..=0x3000u32,
            0xD7F0..=0xD7FF,
            0xE000..=0xE0FF,
            0xFDC0..=0xFFFF,
            0x1_0000..=0x1_00FF,
            0x1_FFF0..=0x1_FFFF,
            0x10_FFF0..=0x10_FFFF,
        ];
        let all: String = ranges.into_iter().flatten().filter_map(char::from_u32).collect();
        let mut out = vec![
            all,
            String::new(),
            " leading and trailing ".to_string(),
            "\u{fffe}\u{ffff}\x07\n\"quoted\" \\ back".to_string(),
            "# not a comment: - [a, b] {c: d} & * ! | > ' % @ `".to_string(),
            "\u{202e}reversed\u{202c} \u{2066}isolate\u{2069} \u{200f}\u{61c}".to_string(),
            "\u{feff}bom \u{85}nel \u{2028}ls \u{2029}ps \t tab \r\n crlf".to_string(),
            "Rückruf 請求 ☕ 🎧".to_string(),
        ];
        out.extend((0..=0x9Fu32).filter_map(char::from_u32).map(|c| format!("a{c}b")));
        out
    }

    fn load(text: &str) -> std::collections::HashMap<String, String> {
        crate::model::yaml::parse(Path::new("t.yaml"), text, "a test document")
            .unwrap_or_else(|e| panic!("{e}\n{text:?}"))
    }

    #[test]
    fn a_quoted_scalar_reads_back_as_the_text() {
        for s in nasty() {
            let text = format!("v: {}\n", q(&s));
            assert_eq!(load(&text)["v"], s, "{text:?}");
        }
    }

    #[test]
    fn a_comment_line_never_breaks_the_file() {
        for s in nasty() {
            let line = comment(&s);
            assert!(!line.contains(['\n', '\r']), "{line:?}");
            let text = format!("# {line}\nv: x\n");
            assert_eq!(load(&text)["v"], "x", "{text:?}");
        }
    }

    #[test]
    fn the_file_holds_only_printable_text() {
        for s in nasty() {
            for c in q(&s).chars().chain(comment(&s).chars()) {
                assert!(raw_ok(c), "U+{:04X} written raw", c as u32);
            }
        }
    }
}
