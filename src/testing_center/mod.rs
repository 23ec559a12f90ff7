//! Salesforce Testing Center, both ways: `baton import testing-center`
//! turns a Testing Center test into a baton suite, and `baton export
//! testing-center` turns a suite into a spec that `sf agent test create`
//! reads.
//!
//! This module owns the conversion and nothing else: both directions go
//! through one in-memory model, [`spec::Spec`], which keeps Testing
//! Center's meaning (a topic named `Escalation`, actions as a superset
//! match). The suite loader, the agent loader and the atomic file writer
//! are baton's own, used as they are.
//!
//! - [`spec`]: the model, the expectation and scorer names, action lists;
//! - [`read_spec`]: which form a file is, and the two YAML dialects;
//! - [`read_xml`]: `AiEvaluationDefinition` and `AiTestingDefinition` XML;
//! - [`write_suite`]: the model as a baton suite, what is not checked as comments;
//! - [`read_suite`]: a loaded suite into the model;
//! - [`write_spec`]: the model as legacy or NGT spec YAML.
//!
//! Only deterministic expectations are checked by baton: the expected
//! topic and the expected actions. LLM-judged ones (expected outcome,
//! response ratings, quality metrics, task resolution), latency, context
//! variables and the agent's turns of an injected history are kept as
//! comments and counted in the summary, never dropped silently.

pub mod read_spec;
pub mod read_suite;
mod read_xml;
pub mod spec;
pub mod write_spec;
pub mod write_suite;

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::files::Confinement;
use crate::model::Agent;
pub use spec::{Dialect, Form, Spec};

/// What an import or export wrote, and what to tell the user.
#[derive(Debug)]
pub struct Outcome {
    pub path: PathBuf,
    /// Printed as `warning: ...`.
    pub warnings: Vec<String>,
    /// The summary, one line each.
    pub summary: Vec<String>,
}

#[derive(Debug)]
pub struct ImportOptions {
    pub input: PathBuf,
    /// Default: `suites/<subjectName>.testing-center.yaml`.
    pub output: Option<PathBuf>,
    /// The suite's `agent:`, a path from the output file's folder.
    pub agent: Option<String>,
    pub force: bool,
}

/// Reads a Testing Center definition and writes it as a baton suite.
pub fn import(o: &ImportOptions) -> Result<Outcome, Diagnostics> {
    let read = read_spec::read(&o.input)?;
    let spec = &read.spec;
    let out = o
        .output
        .clone()
        .unwrap_or_else(|| Path::new("suites").join(format!("{}.testing-center.yaml", file_stem(&spec.subject_name))));
    check_target(&out, &o.input, o.force)?;
    let mut warnings = read.warnings;
    let agent = match &o.agent {
        Some(a) => agent_for_names(&out, a, &spec.subject_name, &mut warnings),
        None => {
            warnings.push(format!(
                "no --agent given: the suite names agent {:?}, which baton cannot load; set `agent:` in {} to the baton agent (a path from its folder) before running it",
                spec.subject_name,
                out.display()
            ));
            None
        }
    };
    let agent_field = o.agent.clone().unwrap_or_else(|| spec.subject_name.clone());
    let written = write_suite::write(
        spec,
        &write_suite::SuiteOptions {
            source: &o.input,
            form: read.form,
            agent_field: &agent_field,
            agent: agent.as_ref(),
        },
    );
    for w in written.warnings {
        // The inputs of one NGT case share its expectations, and so their warnings.
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    write(&out, &written.yaml)?;
    Ok(Outcome {
        summary: written.summary.lines(&out, read.form),
        path: out,
        warnings,
    })
}

#[derive(Debug)]
pub struct ExportOptions {
    pub suite: PathBuf,
    /// Default: `specs/<Agent>-testSpec.yaml` (legacy) or
    /// `specs/<Agent>-ngtTestSpec.yaml` (NGT), the Salesforce CLI's names.
    pub output: Option<PathBuf>,
    pub dialect: Dialect,
    pub force: bool,
    pub confinement: Confinement,
}

/// Reads a baton suite and writes it as a Testing Center spec.
pub fn export(o: &ExportOptions) -> Result<Outcome, Diagnostics> {
    let loaded = crate::model::load_suites_with(std::slice::from_ref(&o.suite), &o.confinement)?;
    let mut warnings: Vec<String> = loaded.skipped.iter().map(|s| format!("skipped {s}")).collect();
    let [suite] = loaded.suites.as_slice() else {
        return Err(Diagnostic::new(
            &o.suite,
            Pos::FILE,
            format!(
                "expected one suite file, found {} suites: export them one at a time",
                loaded.suites.len()
            ),
        )
        .into());
    };
    let (spec, s) = read_suite::read(suite);
    if spec.cases.is_empty() {
        return Err(Diagnostic::new(
            &suite.path,
            Pos::FILE,
            "nothing to export: no caller turn expects a topic, `escalated: true` or actions",
        )
        .into());
    }
    let out = o.output.clone().unwrap_or_else(|| {
        let suffix = match o.dialect {
            Dialect::Legacy => "testSpec",
            Dialect::Ngt => "ngtTestSpec",
        };
        Path::new("specs").join(format!("{}-{suffix}.yaml", file_stem(&spec.subject_name)))
    });
    check_target(&out, &suite.path, o.force)?;
    let (text, written_cases) = write_spec::write(&spec, o.dialect, &o.suite);
    write(&out, &text)?;
    let form = match o.dialect {
        Dialect::Legacy => Form::LegacyYaml,
        Dialect::Ngt => Form::NgtYaml,
    };
    let counts = |list: &[(&str, usize)]| {
        let v: Vec<String> = list.iter().map(|(k, n)| format!("{n} {k}")).collect();
        v.join(", ")
    };
    let merged = if written_cases == s.cases {
        String::new()
    } else {
        format!(", written as {written_cases} NGT cases (neighbours with the same scorers share one)")
    };
    let mut summary = vec![
        format!(
            "exported {} test case{} from {} conversation{} of suite {:?} ({}){merged}: {}",
            s.cases,
            if s.cases == 1 { "" } else { "s" },
            s.conversations,
            if s.conversations == 1 { "" } else { "s" },
            suite.name,
            form.describe(),
            out.display()
        ),
        format!("written: {}", counts(&s.written)),
    ];
    if !s.left_out.is_empty() {
        summary.push(format!(
            "left out (no Testing Center equivalent): {}",
            counts(&s.left_out)
        ));
    }
    if !s.weaker.is_empty() {
        summary.push(format!(
            "checked less strictly by Testing Center: {}",
            counts(&s.weaker)
        ));
    }
    if spec
        .cases
        .iter()
        .any(|c| c.inputs.iter().any(|i| !i.history.is_empty()))
    {
        warnings.push(
            "conversationHistory holds the caller's earlier turns only: baton does not know the deployed agent's replies, so Testing Center sees no agent turns between them".to_string(),
        );
    }
    Ok(Outcome {
        path: out,
        warnings,
        summary,
    })
}

/// The agent named by `--agent`, loaded to check topic and action names,
/// when baton can load it; otherwise a warning and `None`.
fn agent_for_names(out: &Path, agent: &str, subject: &str, warnings: &mut Vec<String>) -> Option<Agent> {
    if agent.contains('#') {
        warnings.push(format!(
            "--agent {agent:?} names an agent in a Salesforce project, which this baton cannot load yet: topic and action names are written unchecked"
        ));
        return None;
    }
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // As the suite loader will resolve it; lexically while the output's
    // folder does not exist yet.
    let path = if dir.is_dir() {
        dir.join(agent)
    } else {
        normalize(&dir.join(agent))
    };
    match Agent::load(&path) {
        Ok(a) => {
            if a.name != subject {
                warnings.push(format!(
                    "agent {} ({}) is not the spec's subject {subject:?}; its topic and action names are the ones checked",
                    a.name,
                    path.display()
                ));
            }
            Some(a)
        }
        Err(d) => {
            let why = d.0.first().map(ToString::to_string).unwrap_or_default();
            warnings.push(format!(
                "cannot load agent {} to check topic and action names, so they are written unchecked (`baton run` rejects unknown ones): {why}",
                path.display()
            ));
            None
        }
    }
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::RootDir)) => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Refuses to replace the input, anything but a regular file, or (without
/// `force`) an existing file.
fn check_target(out: &Path, input: &Path, force: bool) -> Result<(), Diagnostic> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    let same = match (std::fs::canonicalize(out), std::fs::canonicalize(input)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Diagnostic::new(
            out,
            Pos::FILE,
            "is the input file: choose another output with -o",
        ));
    }
    if !meta.is_file() {
        return Err(Diagnostic::new(
            out,
            Pos::FILE,
            "exists and is not a regular file (a link, folder or device): refusing to replace it",
        ));
    }
    if !force {
        return Err(Diagnostic::new(
            out,
            Pos::FILE,
            "exists: pass --force to replace it, or choose another output with -o",
        ));
    }
    Ok(())
}

fn write(out: &Path, text: &str) -> Result<(), Diagnostic> {
    crate::report::atomic_write(out, text.as_bytes()).map_err(|e| {
        Diagnostic::new(
            out,
            Pos::FILE,
            format!("cannot write: {}", crate::model::yaml::io_reason(&e)),
        )
    })
}

/// A name as a file name: letters, digits, `_`, `-` and `.` kept, the rest `_`.
fn file_stem(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.');
    if s.is_empty() {
        "agent".to_string()
    } else {
        s.to_string()
    }
}

/// A YAML scalar for one line of generated YAML, written by serde-saphyr's
/// serializer so that quotes, line breaks and odd characters round-trip.
/// Block styles are off: the scalar always fits on its line.
pub(crate) fn scalar(s: &str) -> String {
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    match serde_saphyr::to_string_with_options(&s, options) {
        Ok(y) if !y.trim_end_matches('\n').contains('\n') => y.trim_end_matches('\n').to_string(),
        // Never seen; a JSON string is a valid YAML double-quoted scalar.
        _ => serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()),
    }
}

/// Text for a `#` comment: on one line, line breaks and other control
/// characters as spaces, bidirectional controls and noncharacters dropped
/// (so that a comment reads as what it is).
pub(crate) fn comment(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                Some(' ')
            } else if matches!(
                c,
                '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{fdd0}'..='\u{fdef}'
            ) || (c as u32 & 0xfffe) == 0xfffe
            {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// [`comment`] text with runs of white space as one space, trimmed: for names.
pub(crate) fn one_line(s: &str) -> String {
    comment(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip_on_one_line() {
        for s in [
            "plain",
            "Where is my order #12345?",
            "a: b",
            "yes",
            "null",
            "",
            " lead",
            "two\nlines",
            "it's \"q\"",
            "- x",
            "['A','B']",
            "tab\there",
            "bell\x07",
            "123",
            "~",
            "a\r\nb",
            "#c",
            "\u{202e}rtl",
            "x\u{2028}y",
            &"long words ".repeat(20),
        ] {
            let y = scalar(s);
            assert!(!y.contains('\n'), "{s:?} -> {y:?}");
            let back: std::collections::BTreeMap<String, String> =
                serde_saphyr::from_str(&format!("k: {y}\n")).unwrap_or_else(|e| panic!("{s:?} -> {y:?}: {e}"));
            assert_eq!(back["k"], s, "{y}");
        }
    }

    #[test]
    fn comments_are_one_line_of_visible_text() {
        assert_eq!(comment("a\nb\r\tc\u{7}d"), "a b  c d");
        assert_eq!(comment("x\u{202e}y\u{2066}z\u{feff}\u{fffe}"), "xyz");
        assert_eq!(one_line("  a \n\n b  "), "a b");
    }

    #[test]
    fn lexical_paths() {
        assert_eq!(
            normalize(Path::new("suites/../agents/a.yaml")),
            Path::new("agents/a.yaml")
        );
        assert_eq!(normalize(Path::new("./../x/./y")), Path::new("../x/y"));
        assert_eq!(normalize(Path::new("/a/b/../../..")), Path::new("/"));
        assert_eq!(normalize(Path::new("a/..")), Path::new("."));
    }

    #[test]
    fn file_stems() {
        assert_eq!(file_stem("Guest_Experience_Agent"), "Guest_Experience_Agent");
        assert_eq!(file_stem("../x/y z"), "_x_y_z");
        assert_eq!(file_stem(""), "agent");
    }
}
