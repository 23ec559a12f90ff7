//! Agents: one format-neutral model ([`spec`]) filled by a front end per
//! format ([`front`]), then the shared phases every format goes through:
//! [`validate`], [`resolve`] (names to indices) and [`compile`] (to the
//! [`compiled::Agent`] the engine runs). Nothing past the model knows
//! which format an agent came from.

pub mod compile;
pub mod compiled;
pub mod front;
pub mod resolve;
pub mod spec;
pub mod validate;

use std::path::Path;

use crate::diag::Diagnostics;
use crate::files::Root;
pub use compiled::Agent;
pub use spec::AgentSpec;

/// Loads the agent at `path` in whichever format it is written, reading
/// files anywhere (for a path the user gave on the command line).
pub fn load(path: &Path) -> Result<Agent, Diagnostics> {
    load_within(path, &Root::anywhere())
}

/// Loads the agent at `path`, every file it reads inside `root` (for a
/// path a suite names).
pub fn load_within(path: &Path, root: &Root) -> Result<Agent, Diagnostics> {
    build(front::read(path, root, None)?)
}

/// The shared phases: a model from any front end into a compiled agent.
pub fn build(spec: AgentSpec) -> Result<Agent, Diagnostics> {
    let mut errs = Diagnostics::default();
    validate::check(&spec, &mut errs);
    let refs = resolve::resolve(&spec, &mut errs);
    let agent = compile::compile(spec, refs, &mut errs);
    errs.into_result(agent)
}
