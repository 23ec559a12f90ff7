//! Front ends: each reads one format into the [`AgentSpec`] model and
//! checks only what is particular to that format.

pub mod yaml;

use std::path::Path;

use crate::agent::AgentSpec;
use crate::diag::Diagnostics;

/// Reads the agent at `path` with the front end for its format.
pub fn read(path: &Path) -> Result<AgentSpec, Diagnostics> {
    yaml::load(path)
}
