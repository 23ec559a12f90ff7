//! Front ends: each reads one format into the [`AgentSpec`] model and
//! checks only what is particular to that format.

pub mod agentscript;
pub mod overlay;
pub mod sfdx;
pub mod yaml;

use std::path::Path;

use crate::agent::AgentSpec;
use crate::agent::spec::At;
use crate::diag::Diagnostics;
use crate::files::Root;

/// Reads the agent at `path` with the front end for its format. A
/// Salesforce project may hold several agents: `PATH#Name` picks one.
/// Every file read must lie inside `root` (a suite's project).
/// `surface` names the channel surface whose route a metadata agent takes
/// (an overlay's `surface:`), where the default choice is not wanted.
pub fn read(path: &Path, root: &Root, surface: Option<&At<String>>) -> Result<AgentSpec, Diagnostics> {
    let (file, selector) = split_selector(path);
    if let Some(script) = agentscript_file(&file) {
        if let Some(s) = surface {
            return Err(s
                .src
                .error("`surface` applies to Salesforce metadata agents only")
                .into());
        }
        return agentscript::read(&script);
    }
    if sfdx::is_metadata(&file) {
        return sfdx::read(&file, selector.as_deref(), root, surface);
    }
    if let Some(s) = surface {
        return Err(s
            .src
            .error("`surface` applies to Salesforce metadata agents only")
            .into());
    }
    yaml::load(path, root)
}

/// The `.agent` file `path` names: the file, or the one in an
/// `aiAuthoringBundles/NAME` folder.
fn agentscript_file(path: &Path) -> Option<std::path::PathBuf> {
    if path.extension().is_some_and(|e| e == "agent") {
        return Some(path.to_path_buf());
    }
    let name = path.file_name()?.to_str()?;
    let inner = path.join(format!("{name}.agent"));
    (path.is_dir() && inner.is_file()).then_some(inner)
}

/// `force-app#Support_Agent` -> (`force-app`, `Support_Agent`); a path
/// that exists as written is taken whole.
pub fn split_selector(path: &Path) -> (std::path::PathBuf, Option<String>) {
    let text = path.to_string_lossy();
    match text.rsplit_once('#') {
        Some((file, name)) if !path.exists() && !name.contains('/') => {
            (std::path::PathBuf::from(file), Some(name.to_string()))
        }
        _ => (path.to_path_buf(), None),
    }
}
