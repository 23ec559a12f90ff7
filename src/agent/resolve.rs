//! Reference resolution, the second shared phase: every name an element
//! uses for another (an action's input slots, a topic's actions, a default
//! result's outputs) becomes an index, or a located error with a
//! did-you-mean.

use crate::agent::compiled::{ActionFixture, Fixtures, apply_result};
use crate::agent::spec::{AgentSpec, Name};
use crate::diag::{Diagnostics, suggest};
use crate::policy::{ActionId, SlotId};

/// The indices the names resolved to.
pub struct Refs {
    /// Per action, its input slots.
    pub inputs: Vec<Vec<SlotId>>,
    /// Per topic, its actions.
    pub topic_actions: Vec<Vec<ActionId>>,
    /// The default result of each action.
    pub fixtures: Fixtures,
}

pub fn resolve(spec: &AgentSpec, errs: &mut Diagnostics) -> Refs {
    let slots: Vec<&str> = spec.slots.iter().map(|s| s.name.value.as_str()).collect();
    let actions: Vec<&str> = spec.actions.iter().map(|a| a.name.value.as_str()).collect();
    let inputs = spec
        .actions
        .iter()
        .map(|a| {
            let what = format!("action '{}' names unknown slot", a.name.value);
            a.inputs.iter().filter_map(|s| lookup(s, &slots, &what, errs)).collect()
        })
        .collect();
    let topic_actions = spec
        .topics
        .iter()
        .map(|t| {
            let what = format!("topic '{}' names unknown action", t.name.value);
            t.actions
                .iter()
                .filter_map(|a| lookup(a, &actions, &what, errs))
                .collect()
        })
        .collect();
    let mut fixtures = Fixtures::default();
    for a in &spec.actions {
        let outputs: Vec<String> = a.outputs.iter().map(|o| o.value.clone()).collect();
        let mut fx = ActionFixture {
            fails: a.fails,
            outputs: vec![None; outputs.len()],
        };
        let result = a
            .result
            .iter()
            .map(|(k, v)| (&*k.src.file, k.src.pos, k.value.as_str(), v.as_str()));
        apply_result(errs, &a.name.value, &outputs, result, &mut fx);
        fixtures.actions.push(fx);
    }
    Refs {
        inputs,
        topic_actions,
        fixtures,
    }
}

/// The index of `name` among `names`; else an error "`what` 'name'".
fn lookup<T: TryFrom<usize>>(name: &Name, names: &[&str], what: &str, errs: &mut Diagnostics) -> Option<T> {
    let found = names
        .iter()
        .position(|n| *n == name.value)
        .and_then(|i| T::try_from(i).ok());
    if found.is_none() {
        errs.push(
            name.src
                .error(format!("{what} '{}'", name.value))
                .with_help(suggest(&name.value, names.iter().copied())),
        );
    }
    found
}
