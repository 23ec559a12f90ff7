//! The Salesforce DX metadata front end: an agent as `sf project retrieve`
//! leaves it (GenAiPlannerBundle or GenAiPlanner, GenAiPlugin,
//! GenAiFunction with its schemas, Bot and BotVersion), read into the agent
//! model. A path names a project (with `sfdx-project.json`), a package
//! folder, a bundle folder or a planner file; `PATH#Name` picks one agent
//! where there are several. Agent Script bundles
//! (`aiAuthoringBundles/NAME/NAME.agent`) in the project are agents too:
//! one is read by the Agent Script front end.

mod action;
mod bot;
mod index;
mod mapping;
mod planner;
mod route;
mod rules;

use std::path::Path;

use crate::agent::AgentSpec;
use crate::agent::spec::At;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::files::Root;
use index::Index;

/// Whether `path` is Salesforce metadata rather than a baton YAML file.
pub fn is_metadata(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if path.is_file() {
        return name.ends_with(".genAiPlannerBundle") || name.ends_with(".genAiPlanner-meta.xml");
    }
    path.is_dir()
        && (path.join("sfdx-project.json").is_file()
            || path
                .parent()
                .and_then(|p| p.file_name())
                .is_some_and(|p| p == "genAiPlannerBundles")
            || contains_metadata(path, 0))
}

/// Whether a planner type folder lies within a few levels of `dir` (a
/// package folder such as `force-app/main/default`).
fn contains_metadata(dir: &Path, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        let n = e.file_name();
        is_dir
            && (n == "genAiPlannerBundles"
                || n == "genAiPlanners"
                || n == "aiAuthoringBundles"
                || contains_metadata(&p, depth + 1))
    })
}

/// Reads the agent at `path`; `selector` is the `#Name` part.
pub fn read(
    path: &Path,
    selector: Option<&str>,
    root: &Root,
    surface: Option<&At<String>>,
) -> Result<AgentSpec, Diagnostics> {
    let index = Index::for_path(path, root)?;
    let (name, planner) = choose(path, selector, &index)?;
    if planner.extension().is_some_and(|e| e == "agent") {
        return super::agentscript::read(&planner);
    }
    let bot = bot::find(&index, &name)?;
    planner::read(&planner, &name, &index, bot, surface)
}

/// The planner to read: the one `path` names, else the only one, else the
/// one `selector` names (by planner or bot name).
fn choose(path: &Path, selector: Option<&str>, index: &Index) -> Result<(String, std::path::PathBuf), Diagnostic> {
    let file_stem = |p: &Path| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        n.trim_end_matches(".genAiPlannerBundle")
            .trim_end_matches(".genAiPlanner-meta.xml")
            .to_string()
    };
    // A bundle file, or its folder, names its agent.
    let named = if path.is_file() {
        Some(path.to_path_buf())
    } else {
        let n = file_stem(path);
        let f = path.join(format!("{n}.genAiPlannerBundle"));
        f.is_file().then_some(f)
    };
    if let Some(f) = named {
        return Ok((file_stem(&f), f));
    }
    // An Agent Script bundle (the source a team edits) takes precedence
    // over the planner bundle published from it, and bundles (API 64+)
    // over planners of the same name.
    let mut agents: Vec<(String, std::path::PathBuf)> =
        index.authoring.iter().map(|(n, p)| (n.clone(), p.clone())).collect();
    for (n, p) in &index.bundles {
        if !index.authoring.contains_key(n) {
            agents.push((n.clone(), p.clone()));
        }
    }
    for (n, p) in &index.planners {
        if !index.bundles.contains_key(n) && !index.authoring.contains_key(n) {
            agents.push((n.clone(), p.clone()));
        }
    }
    agents.sort();
    let bot_of = |planner: &str| -> Option<String> { bot::find(index, planner).ok().flatten().map(|b| b.name) };
    let names: Vec<String> = agents.iter().map(|a| a.0.clone()).collect();
    match selector {
        Some(sel) => agents
            .into_iter()
            .find(|(n, _)| n == sel || bot_of(n).as_deref() == Some(sel))
            .ok_or_else(|| {
                Diagnostic::new(
                    path,
                    Pos::FILE,
                    format!("no agent named '{sel}' here: expected one of {}", list(&names)),
                )
            }),
        None if agents.len() == 1 => Ok(agents.remove(0)),
        None if agents.is_empty() => Err(Diagnostic::new(
            path,
            Pos::FILE,
            "no agent here: expected a GenAiPlannerBundle, a GenAiPlanner or an Agent Script bundle (aiAuthoringBundles/NAME/NAME.agent) in the project",
        )),
        None => Err(Diagnostic::new(
            path,
            Pos::FILE,
            format!(
                "{} agents here: pick one with PATH#NAME, one of {}",
                agents.len(),
                list(&names)
            ),
        )),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
