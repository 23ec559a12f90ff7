//! Reference resolution, the second shared phase: every name an element
//! uses for another (an action's input slots, a topic's actions, a default
//! result's outputs) becomes an index, or a located error with a
//! did-you-mean.

use crate::agent::compiled::{
    ActionFixture, Comparison, Cond, Condition, Fixtures, MAX_CONSTANTS, Op, Step, Value, VarId, apply_result,
    value_code,
};
use crate::agent::spec::{AgentSpec, CondSpec, ConditionSpec, Name, StepKind, StepSpec, ValueSpec};
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
    /// Per action, the variables its outputs set: (output, variable).
    pub sets: Vec<Vec<(u16, VarId)>>,
    /// Per topic, when it is available.
    pub topic_available: Vec<Option<Condition>>,
    /// When the built-in Escalation topic is available.
    pub escalation_available: Option<Condition>,
    /// Per topic, when its own escalation is available.
    pub topic_escalation: Vec<Option<Condition>>,
    /// Per topic, the actions it runs as tools and when.
    pub topic_runs: Vec<Vec<(ActionId, Option<Condition>)>>,
    /// Per topic, its procedures: before, instructions, after.
    pub topic_procedures: Vec<[Vec<Step>; 3]>,
    /// The literals procedures assign.
    pub constants: Vec<String>,
}

pub fn resolve(spec: &AgentSpec, errs: &mut Diagnostics) -> Refs {
    let slots = Names::new(spec.slots.iter().map(|s| s.name.value.as_str()));
    let actions = Names::new(spec.actions.iter().map(|a| a.name.value.as_str()));
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
    let variables = Names::new(spec.variables.iter().map(|v| v.name.value.as_str()));
    let sets = spec
        .actions
        .iter()
        .map(|a| {
            let outputs = Names::new(a.outputs.iter().map(|o| o.value.as_str()));
            let out_what = format!("action '{}' has no output", a.name.value);
            a.sets
                .iter()
                .filter_map(|(out, var)| {
                    let o = lookup(out, &outputs, &out_what, errs);
                    let v = lookup(var, &variables, "unknown variable", errs);
                    Some((o?, v?))
                })
                .collect()
        })
        .collect();
    let condition = |c: &Option<ConditionSpec>, errs: &mut Diagnostics| {
        c.as_ref().map(|c| Condition {
            name: c.name.value.clone(),
            expr: cond(&c.expr, &variables, errs),
        })
    };
    let topic_available = spec.topics.iter().map(|t| condition(&t.available_when, errs)).collect();
    let escalation_available = condition(&spec.escalation.available_when, errs);
    let topic_escalation = spec
        .topics
        .iter()
        .map(|t| condition(&t.escalation_when, errs))
        .collect();
    let topic_runs = spec
        .topics
        .iter()
        .map(|t| {
            t.runs
                .iter()
                .filter_map(|r| {
                    let what = format!("topic '{}' runs unknown action", t.name.value);
                    let id = lookup(&r.action, &actions, &what, errs)?;
                    Some((id, condition(&r.when, errs)))
                })
                .collect()
        })
        .collect();
    let topic_names = Names::new(spec.topics.iter().map(|t| t.name.value.as_str()));
    let mut p = Procs {
        actions: &actions,
        variables: &variables,
        topics: &topic_names,
        spec,
        constants: Vec::new(),
        constant_index: std::collections::HashMap::new(),
    };
    let topic_procedures = spec
        .topics
        .iter()
        .map(|t| {
            let pr = &t.procedures;
            [&pr.before, &pr.instructions, &pr.after].map(|steps| {
                let mut out = Vec::new();
                p.steps(steps, None, &mut out, errs);
                out
            })
        })
        .collect();
    let constants = p.constants;
    Refs {
        inputs,
        topic_actions,
        fixtures,
        sets,
        topic_available,
        escalation_available,
        topic_escalation,
        topic_runs,
        topic_procedures,
        constants,
    }
}

/// Procedures into flat steps with jumps.
struct Procs<'n, 'a> {
    actions: &'n Names<'a>,
    variables: &'n Names<'a>,
    topics: &'n Names<'a>,
    spec: &'a AgentSpec,
    constants: Vec<String>,
    constant_index: std::collections::HashMap<String, u32>,
}

impl Procs<'_, '_> {
    /// Appends `steps` to `out`; `run` is the action of the `run` around.
    fn steps(&mut self, steps: &[StepSpec], run: Option<ActionId>, out: &mut Vec<Step>, errs: &mut Diagnostics) {
        for s in steps {
            let src = s.src.clone();
            match &s.kind {
                StepKind::Run { action, then } => {
                    let what = "`run` names unknown action";
                    let Some(id) = lookup::<ActionId>(action, self.actions, what, errs) else {
                        continue;
                    };
                    let at = out.len();
                    out.push(Step {
                        op: Op::Run { action: id, skip: 0 },
                        src,
                    });
                    self.steps(then, Some(id), out, errs);
                    let end = out.len() as u32;
                    if let Op::Run { skip, .. } = &mut out[at].op {
                        *skip = end;
                    }
                }
                StepKind::Set { variable, value } => {
                    let var = lookup::<VarId>(variable, self.variables, "`set` names unknown variable", errs);
                    let value = match value {
                        ValueSpec::Literal(v) => self.constant(v.as_deref().unwrap_or(""), &s.src, errs),
                        ValueSpec::Variable(w) => {
                            match lookup::<VarId>(w, self.variables, "`set` reads unknown variable", errs) {
                                Some(v) => {
                                    let default = self.spec.variables[v as usize].default.as_deref().unwrap_or("");
                                    self.constant(default, &s.src, errs).and_then(|d| match d {
                                        Value::Code(default) => Some(Value::Var { var: v, default }),
                                        Value::Var { .. } => None,
                                    })
                                }
                                None => None,
                            }
                        }
                        ValueSpec::Output(o) => run.and_then(|a| {
                            let def = &self.spec.actions[a as usize];
                            let i = def.outputs.iter().position(|x| x.value == o.value);
                            if i.is_none() {
                                errs.push(
                                    o.src
                                        .error(format!("action '{}' has no output '{}'", def.name.value, o.value)),
                                );
                            }
                            i.map(|i| Value::Code(value_code(a, i as u16)))
                        }),
                    };
                    if let (Some(var), Some(value)) = (var, value) {
                        out.push(Step {
                            op: Op::Set { var, value },
                            src,
                        });
                    }
                }
                StepKind::If { cond: c, then, orelse } => {
                    let cond = Condition {
                        name: c.name.value.clone(),
                        expr: cond(&c.expr, self.variables, errs),
                    };
                    let at = out.len();
                    out.push(Step {
                        op: Op::Unless { cond, to: 0 },
                        src,
                    });
                    self.steps(then, run, out, errs);
                    let to = if orelse.is_empty() {
                        out.len() as u32
                    } else {
                        let jump = out.len();
                        out.push(Step {
                            op: Op::Jump { to: 0 },
                            src: s.src.clone(),
                        });
                        let else_at = out.len() as u32;
                        self.steps(orelse, run, out, errs);
                        let end = out.len() as u32;
                        if let Op::Jump { to } = &mut out[jump].op {
                            *to = end;
                        }
                        else_at
                    };
                    if let Op::Unless { to: t, .. } = &mut out[at].op {
                        *t = to;
                    }
                }
                StepKind::Transition { to } => {
                    if let Some(t) = lookup(to, self.topics, "`transition to` names unknown subagent", errs) {
                        out.push(Step {
                            op: Op::Transition { to: t },
                            src,
                        });
                    }
                }
            }
        }
    }

    /// The value code of a literal, each distinct one kept once.
    fn constant(&mut self, v: &str, src: &crate::agent::spec::Src, errs: &mut Diagnostics) -> Option<Value> {
        if let Some(&code) = self.constant_index.get(v) {
            return Some(Value::Code(code));
        }
        if self.constants.len() >= MAX_CONSTANTS {
            errs.push(src.error(format!(
                "more than {MAX_CONSTANTS} distinct values are set: at most {MAX_CONSTANTS} are supported"
            )));
            return None;
        }
        self.constants.push(v.to_string());
        let code = self.constants.len() as u32;
        self.constant_index.insert(v.to_string(), code);
        Some(Value::Code(code))
    }
}

/// A condition's expression with its variables resolved; an unknown one
/// is an error and reads as false.
fn cond(c: &CondSpec, variables: &Names<'_>, errs: &mut Diagnostics) -> Cond {
    let var = |n: &Name, errs: &mut Diagnostics| lookup(n, variables, "condition names unknown variable", errs);
    match c {
        CondSpec::Cmp(cmp) => match var(&cmp.variable, errs) {
            Some(v) => Cond::Cmp(Comparison {
                var: v,
                op: cmp.op,
                value: cmp.value.clone(),
            }),
            None => Cond::Const(false),
        },
        CondSpec::Truthy(n) => var(n, errs).map_or(Cond::Const(false), Cond::Truthy),
        CondSpec::Not(c) => Cond::Not(Box::new(cond(c, variables, errs))),
        CondSpec::All(cs) => Cond::All(cs.iter().map(|c| cond(c, variables, errs)).collect()),
        CondSpec::Any(cs) => Cond::Any(cs.iter().map(|c| cond(c, variables, errs)).collect()),
        CondSpec::Const(b) => Cond::Const(*b),
    }
}

/// Names to look up: an agent may have tens of thousands (a hostile one
/// does), and a scan of the list per reference took minutes.
struct Names<'a> {
    list: Vec<&'a str>,
    /// The first index of each name.
    index: std::collections::HashMap<&'a str, usize>,
}

impl<'a> Names<'a> {
    fn new(names: impl Iterator<Item = &'a str>) -> Names<'a> {
        let list: Vec<&str> = names.collect();
        let mut index = std::collections::HashMap::with_capacity(list.len());
        for (i, n) in list.iter().enumerate() {
            index.entry(*n).or_insert(i);
        }
        Names { list, index }
    }
}

/// The index of `name` among `names`; else an error "`what` 'name'". A
/// name past the index type's range is no error here: validation has
/// already said there are too many.
fn lookup<T: TryFrom<usize>>(name: &Name, names: &Names<'_>, what: &str, errs: &mut Diagnostics) -> Option<T> {
    let found = names.index.get(name.value.as_str());
    if let Some(&i) = found {
        return T::try_from(i).ok();
    }
    {
        errs.push(
            name.src
                .error(format!("{what} '{}'", name.value))
                .with_help(suggest(&name.value, names.list.iter().copied())),
        );
    }
    None
}
