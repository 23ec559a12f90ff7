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

#[cfg(test)]
mod tests {
    use super::*;

    /// An agent with `n` slots, all inputs (and as many outputs) of one
    /// action when `inputs`.
    fn many(n: usize, inputs: bool) -> String {
        let mut s = String::from("agent: Many\nescalation: { flow: F }\nslots:\n");
        for i in 0..n {
            s.push_str(&format!("  s{i}: {{ kind: email }}\n"));
        }
        if !inputs {
            s.push_str("topics:\n  - name: T\n");
            return s;
        }
        s.push_str("actions:\n  a:\n    inputs: [");
        s.push_str(&(0..n).map(|i| format!("s{i}")).collect::<Vec<_>>().join(", "));
        s.push_str("]\n    outputs: [");
        s.push_str(&(0..n).map(|i| format!("o{i}")).collect::<Vec<_>>().join(", "));
        s.push_str("]\ntopics:\n  - name: T\n    actions: [a]\n");
        s
    }

    /// Every reference was looked up by scanning a list of names, and
    /// every slot compiled its own regex: 50,000 slots took over two
    /// minutes in a debug build, and take seconds (the bound leaves room
    /// for a loaded machine).
    #[test]
    fn many_names_load_in_linear_time() {
        let started = std::time::Instant::now();
        let spec = front::yaml::from_text(Path::new("many.yaml"), &many(50_000, true)).unwrap();
        let agent = build(spec).unwrap();
        assert_eq!(agent.slots.len(), 50_000);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn too_many_slots_is_one_error_at_the_first_past_the_limit() {
        let spec = front::yaml::from_text(Path::new("many.yaml"), &many(65_536, false)).unwrap();
        let errs = build(spec).err().unwrap();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(
            errs.0[0].to_string(),
            "many.yaml:65539:3: 65536 slots: at most 65535 are supported"
        );
    }
}
