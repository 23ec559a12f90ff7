//! An Agent Script syntax tree into the agent model. Subagents (and the
//! start agent, and older `topic` blocks) become topics; the actions their
//! reasoning binds become the actions the topic runs, gated by their
//! `available when`; `@utils.escalate` makes a topic able to escalate,
//! gated by its `available when`, a structural guard; `set` after an
//! action makes its output set a variable; the connection of the agent's
//! channel gives the route. Agent Script has no built-in Escalation topic:
//! a request where no escalate binding exists is not handed off.
//!
//! Procedures (`before_reasoning`, `instructions: ->`, `after_reasoning`)
//! become steps the engine runs exactly: `run @actions.X` (with the `set
//! @variables.v = @outputs.o` under it), `set @variables.v = LITERAL` or
//! `= @variables.w`, `if`/`else` on conditions over variables, and
//! `transition to @subagent.X`. Their text lines are instructions, as
//! `|` text elsewhere; a line under an `if` says so. A subagent that no
//! `@utils.transition` binding leads to is reached only by a procedure's
//! `transition to`: the classifier never picks it (when the script has a
//! `start_agent`, which every request starts from).
//!
//! Not modelled (each listed in `explain`, never dropped silently): a
//! `set` of an expression (`@variables.n + 1`, `@outputs.o != ""`), an
//! `if` whose condition is not a comparison of variables with literals
//! (its steps do not run), statements after a reasoning binding other than
//! `set @variables = @outputs`, text in `after_reasoning`, linked
//! variables' sources, `@utils.setVariables`, system instructions, and what
//! the parser keeps as unknown.

use std::path::Path;
use std::sync::Arc;

use super::ast::{self, BinaryOp, BindingTarget, Expr, ExprKind, Instructions, Script, Stmt, UnaryOp};
use crate::agent::spec::{
    ActionSpec, AgentSpec, At, CmpOp, ComparisonSpec, CondSpec, ConditionSpec, Name, Procedures, RouteSpec, RunSpec,
    SlotShape, SlotSpec, Src, StepKind, StepSpec, TopicSpec, ValueSpec, VariableSpec,
};
use crate::diag::{Diagnostics, Pos};
use crate::model::raw::Channel;

/// The model of a parsed script at `file`.
pub fn to_spec(file: &Path, script: &Script) -> Result<AgentSpec, Diagnostics> {
    let file: Arc<Path> = Arc::from(file);
    let mut m = Mapper {
        file: file.clone(),
        notes: Vec::new(),
        errs: Diagnostics::default(),
        slots: Vec::new(),
        actions: Vec::new(),
    };
    let variables = m.variables(script);
    let mut topics: Vec<TopicSpec> = script.agents.iter().map(|a| m.topic(a)).collect();
    m.reachability(script, &mut topics);
    let (route, channel) = m.route(script);
    for u in script.unknowns() {
        let src = m.src(u.pos);
        m.notes.push(At::new(format!("`{}` is not modelled", u.key), src));
    }
    let config = script.config.as_ref();
    let name = config
        .and_then(|c| c.developer_name.as_ref().or(c.agent_name.as_ref()))
        .map(|t| Name::new(t.value.clone(), m.src(t.pos)))
        .unwrap_or_else(|| {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("agent");
            Name::new(stem.to_string(), Src::new(&file, Pos::FILE))
        });
    let description = config
        .and_then(|c| c.description.as_ref().or(c.agent_description.as_ref()))
        .map(|t| t.value.clone());
    m.errs.into_result(())?;
    Ok(AgentSpec {
        file: file.clone(),
        name,
        description,
        channel,
        escalation: route,
        no_input: None,
        dtmf: Vec::new(),
        threshold: None,
        margin: None,
        slots: m.slots,
        actions: m.actions,
        topics,
        topics_src: Src::new(&file, Pos::FILE),
        variables,
        strict_references: false,
        notes: m.notes,
        lints: Vec::new(),
    })
}

struct Mapper {
    file: Arc<Path>,
    notes: Vec<At<String>>,
    errs: Diagnostics,
    slots: Vec<SlotSpec>,
    actions: Vec<ActionSpec>,
}

impl Mapper {
    fn src(&self, pos: Pos) -> Src {
        Src::new(&self.file, pos)
    }

    fn note(&mut self, pos: Pos, what: String) {
        let src = self.src(pos);
        self.notes.push(At::new(what, src));
    }

    fn variables(&mut self, script: &Script) -> Vec<VariableSpec> {
        let Some(vars) = &script.variables else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in &vars.variables {
            if v.modifier == ast::Modifier::Linked {
                self.note(
                    v.name.pos,
                    format!(
                        "linked variable '{}' takes its value from the platform: baton leaves it unset",
                        v.name.name
                    ),
                );
            }
            out.push(VariableSpec {
                name: Name::new(v.name.name.clone(), self.src(v.name.pos)),
                default: v.default.as_ref().and_then(literal),
            });
        }
        out
    }

    fn topic(&mut self, a: &ast::Subagent) -> TopicSpec {
        let mut instructions = Vec::new();
        let mut actions = Vec::new();
        let mut runs = Vec::new();
        let mut can_escalate = false;
        let mut escalation_when = None;
        let mut escalation_aliases = Vec::new();
        let mut procedures = Procedures::default();
        if let Some(p) = &a.before_reasoning {
            let mut cx = Cx::new(a, Some(&mut instructions), &mut procedures.conditional);
            procedures.before = self.steps(&p.body, &mut cx);
        }
        if let Some(r) = &a.reasoning {
            match &r.instructions {
                Some(Instructions::Text(t)) => instructions.extend(self.lines(t)),
                Some(Instructions::Procedure(p)) => {
                    let mut cx = Cx::new(a, Some(&mut instructions), &mut procedures.conditional);
                    procedures.instructions = self.steps(&p.body, &mut cx);
                }
                None => {}
            }
            for b in &r.actions {
                let when = b.available_when.as_ref().map(|e| self.condition(&b.name, e));
                match &b.target {
                    BindingTarget::Escalate => {
                        can_escalate = true;
                        escalation_when = when;
                        escalation_aliases.push(b.name.name.clone());
                    }
                    BindingTarget::Action(id) => {
                        let Some(def) = a.actions.iter().find(|d| d.name.name == id.name) else {
                            self.errs.push(self.src(id.pos).error(format!(
                                "'{}' binds @actions.{}, which '{}' does not define",
                                b.name.name, id.name, a.name.name
                            )));
                            continue;
                        };
                        let name = self.action(def, &b.with);
                        self.binding_sets(&name, b);
                        actions.push(Name::new(name.clone(), self.src(b.name.pos)));
                        runs.push(RunSpec {
                            action: Name::new(name, self.src(b.name.pos)),
                            when,
                        });
                    }
                    BindingTarget::Transition(_) | BindingTarget::SetVariables | BindingTarget::Other(_) => {
                        // Transitions are what the classifier decides
                        // between topics; setVariables fills variables
                        // from the conversation, which baton does not model.
                        if !matches!(b.target, BindingTarget::Transition(_)) {
                            self.note(b.target_pos, format!("binding '{}' is not modelled", b.name.name));
                        }
                    }
                }
            }
        }
        if let Some(p) = &a.after_reasoning {
            let mut cx = Cx::new(a, None, &mut procedures.conditional);
            procedures.after = self.steps(&p.body, &mut cx);
        }
        // What its procedures run are actions of the topic too.
        for steps in [&procedures.before, &procedures.instructions, &procedures.after] {
            runs_of(steps, &mut actions);
        }
        TopicSpec {
            name: Name::new(a.name.name.clone(), self.src(a.name.pos)),
            description: a.description.as_ref().map_or(String::new(), |d| d.value.clone()),
            utterances: Vec::new(),
            can_escalate,
            catch_all: None,
            actions,
            instructions,
            reply: None,
            available_when: None,
            escalation_when,
            escalation_aliases,
            runs,
            procedures,
        }
    }

    /// A procedure's statements as steps. Text lines become instructions
    /// (in `after_reasoning`, which takes none, a note).
    fn steps(&mut self, body: &[Stmt], cx: &mut Cx<'_, '_>) -> Vec<StepSpec> {
        let mut out = Vec::new();
        for s in body {
            match s {
                Stmt::Template(t) => match cx.instructions.as_deref_mut() {
                    Some(list) => {
                        for line in self.lines(t) {
                            if !cx.conds.is_empty() {
                                cx.conditional.push((list.len(), cx.conds.join(" and ")));
                            }
                            list.push(line);
                        }
                    }
                    None => self.note(
                        t.pos,
                        format!(
                            "text in the after_reasoning of '{}' is not modelled (after_reasoning takes no text)",
                            cx.agent.name.name
                        ),
                    ),
                },
                Stmt::If(i) => {
                    let written = render(&i.cond);
                    let cond = self.cond_opt(&i.cond);
                    if cond.is_none() {
                        self.note(
                            i.pos,
                            format!(
                                "`if {written}` in '{}' is not modelled: expected comparisons of @variables with literals, and, or, not (the steps under it do not run)",
                                cx.agent.name.name
                            ),
                        );
                    }
                    cx.conds.push(written.clone());
                    let then = self.steps(&i.then, cx);
                    cx.conds.pop();
                    cx.conds.push(format!("not ({written})"));
                    let orelse = self.steps(&i.orelse, cx);
                    cx.conds.pop();
                    if let Some(expr) = cond {
                        out.push(StepSpec {
                            kind: StepKind::If {
                                cond: ConditionSpec {
                                    name: Name::new(written, self.src(i.cond.pos)),
                                    expr,
                                },
                                then,
                                orelse,
                            },
                            src: self.src(i.pos),
                        });
                    }
                }
                Stmt::Run(r) => {
                    let Some(("actions", id)) = r.target.reference() else {
                        self.note(
                            r.pos,
                            format!(
                                "`run {}` in '{}' is not modelled: expected run @actions.NAME",
                                render(&r.target),
                                cx.agent.name.name
                            ),
                        );
                        continue;
                    };
                    let Some(def) = cx.agent.actions.iter().find(|d| d.name.name == id) else {
                        self.errs.push(self.src(r.target.pos).error(format!(
                            "`run` names @actions.{id}, which '{}' does not define",
                            cx.agent.name.name
                        )));
                        continue;
                    };
                    let name = self.action(def, &r.with);
                    let outer = cx.run.replace(def);
                    let then = self.steps(&r.then, cx);
                    cx.run = outer;
                    out.push(StepSpec {
                        kind: StepKind::Run {
                            action: Name::new(name, self.src(r.target.pos)),
                            then,
                        },
                        src: self.src(r.pos),
                    });
                }
                Stmt::Set(set) => {
                    if let Some(step) = self.set(set, cx) {
                        out.push(step);
                    }
                }
                Stmt::Transition(t) => match t.to.reference() {
                    Some(("subagent" | "topic", to)) => out.push(StepSpec {
                        kind: StepKind::Transition {
                            to: Name::new(to.to_string(), self.src(t.to.pos)),
                        },
                        src: self.src(t.pos),
                    }),
                    _ => self.note(
                        t.pos,
                        format!(
                            "`transition to {}` in '{}' is not modelled: expected @subagent.NAME",
                            render(&t.to),
                            cx.agent.name.name
                        ),
                    ),
                },
                // Listed with the other unknowns of the script.
                Stmt::Unknown(_) => {}
            }
        }
        out
    }

    /// `set @variables.v = VALUE` as a step: VALUE a literal, another
    /// variable, or an output of the enclosing `run`.
    fn set(&mut self, set: &ast::Set, cx: &Cx<'_, '_>) -> Option<StepSpec> {
        let who = &cx.agent.name.name;
        let Some(("variables", var)) = set.target.reference() else {
            self.note(
                set.pos,
                format!(
                    "`set {}` in '{who}' is not modelled: expected set @variables.NAME = ...",
                    render(&set.target)
                ),
            );
            return None;
        };
        let value = match (&set.value.kind, set.value.reference()) {
            (ExprKind::None, _) => ValueSpec::Literal(None),
            (_, Some(("variables", w))) => ValueSpec::Variable(Name::new(w.to_string(), self.src(set.value.pos))),
            (_, Some(("outputs", o))) => match cx.run {
                Some(def) if def.outputs.iter().any(|p| p.name.name == o) => {
                    ValueSpec::Output(Name::new(o.to_string(), self.src(set.value.pos)))
                }
                Some(def) => {
                    self.errs.push(
                        self.src(set.value.pos)
                            .error(format!("@outputs.{o}: action '{}' has no output '{o}'", def.name.name)),
                    );
                    return None;
                }
                None => {
                    self.errs.push(self.src(set.value.pos).error(format!(
                        "@outputs.{o} outside a `run`: expected it under run @actions.NAME"
                    )));
                    return None;
                }
            },
            _ => match literal(&set.value) {
                Some(v) => ValueSpec::Literal((!v.is_empty()).then_some(v)),
                None => {
                    self.note(
                        set.pos,
                        format!(
                            "`set @variables.{var} = {}` in '{who}' is not modelled: expected a literal, @variables.NAME or @outputs.NAME",
                            render(&set.value)
                        ),
                    );
                    return None;
                }
            },
        };
        Some(StepSpec {
            kind: StepKind::Set {
                variable: Name::new(var.to_string(), self.src(set.target.pos)),
                value,
            },
            src: self.src(set.pos),
        })
    }

    /// With a `start_agent`, every request starts there and reaches a
    /// subagent through `@utils.transition` bindings: a subagent is
    /// available to the classifier only while one that leads to it is
    /// (its `available when`), and never when only a procedure's
    /// `transition to` does.
    fn reachability(&mut self, script: &Script, topics: &mut [TopicSpec]) {
        if script.start_agent().is_none() {
            return;
        }
        for (i, a) in script.agents.iter().enumerate() {
            if a.kind == ast::AgentKind::StartAgent {
                continue;
            }
            let mut conds = Vec::new();
            let mut open = false;
            for b in script
                .agents
                .iter()
                .filter_map(|x| x.reasoning.as_ref())
                .flat_map(|r| &r.actions)
            {
                let BindingTarget::Transition(to) = &b.target else {
                    continue;
                };
                if !matches!(to.reference(), Some(("subagent" | "topic", n)) if n == a.name.name) {
                    continue;
                }
                match &b.available_when {
                    None => open = true,
                    // An unreadable one is reported at the binding.
                    Some(e) => conds.extend(self.cond_opt(e)),
                }
            }
            if open {
                continue;
            }
            let src = self.src(a.name.pos);
            topics[i].available_when = Some(if conds.is_empty() {
                ConditionSpec {
                    name: Name::new("no @utils.transition leads here".to_string(), src),
                    expr: CondSpec::Const(false),
                }
            } else {
                ConditionSpec {
                    name: Name::new("a transition leading here is available".to_string(), src),
                    expr: CondSpec::Any(conds),
                }
            });
        }
    }

    /// `set @variables.v = @outputs.o` after a reasoning binding: the
    /// action's output sets the variable whenever it succeeds. Anything
    /// else after a binding is named as not modelled.
    fn binding_sets(&mut self, action: &str, b: &ast::Binding) {
        let Some(index) = self.actions.iter().position(|a| a.name.value == action) else {
            return;
        };
        for st in &b.then {
            match st {
                Stmt::Set(s) => match (s.target.reference(), s.value.reference()) {
                    (Some(("variables", var)), Some(("outputs", out))) => {
                        let set = (
                            Name::new(out.to_string(), self.src(s.value.pos)),
                            Name::new(var.to_string(), self.src(s.target.pos)),
                        );
                        let sets = &mut self.actions[index].sets;
                        if !sets
                            .iter()
                            .any(|(o, v)| o.value == set.0.value && v.value == set.1.value)
                        {
                            sets.push(set);
                        }
                    }
                    _ => self.note(
                        s.pos,
                        format!(
                            "a `set` after '{}' that is not @variables = @outputs is not modelled",
                            b.name.name
                        ),
                    ),
                },
                Stmt::Unknown(_) => {}
                other => self.note(
                    stmt_pos(other),
                    format!("a `{}` after '{}' is not modelled", stmt_word(other), b.name.name),
                ),
            }
        }
    }

    /// The lines of an instruction text, each an instruction.
    fn lines(&self, t: &ast::Text) -> Vec<At<String>> {
        t.value
            .lines()
            .enumerate()
            .map(|(i, l)| (i, l.trim()))
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| At::new(l.to_string(), self.src(Pos::new(u64::from(t.pos.line) + i as u64, 1))))
            .collect()
    }

    /// The action a binding or `run` calls, added once: its LLM-filled
    /// inputs (`with p=...`) become slots, at any call site; inputs bound to
    /// a variable or a literal do not.
    fn action(&mut self, def: &ast::ActionDef, with: &[ast::With]) -> String {
        let name = def.name.name.clone();
        let mut inputs = Vec::new();
        for w in with {
            if !w.is_llm_filled() {
                continue;
            }
            let param = &w.param.name;
            if !self.slots.iter().any(|s| s.name.value == *param) {
                let lower = param.to_ascii_lowercase();
                let shape = if lower.contains("email") {
                    SlotShape::Email
                } else if lower.contains("phone") {
                    SlotShape::Phone
                } else {
                    SlotShape::Answer
                };
                self.slots.push(SlotSpec {
                    name: Name::new(param.clone(), self.src(w.param.pos)),
                    shape,
                    ask: Some(format!(
                        "Could you give me your {}?",
                        crate::agent::compiled::humanize(param)
                    )),
                });
            }
            inputs.push(Name::new(param.clone(), self.src(w.param.pos)));
        }
        if let Some(existing) = self.actions.iter_mut().find(|a| a.name.value == name) {
            for i in inputs {
                if !existing.inputs.iter().any(|x| x.value == i.value) {
                    existing.inputs.push(i);
                }
            }
            return name;
        }
        let outputs: Vec<Name> = def
            .outputs
            .iter()
            .map(|o| Name::new(o.name.name.clone(), self.src(o.name.pos)))
            .collect();
        let result = def
            .outputs
            .iter()
            .map(|o| {
                let ty = o.ty.as_ref().map(|t| t.name.as_str()).unwrap_or("");
                let value = match ty {
                    "boolean" => "True".to_string(),
                    "number" | "integer" | "currency" => "1".to_string(),
                    _ => format!("sample {}", o.name.name),
                };
                (Name::new(o.name.name.clone(), self.src(o.name.pos)), value)
            })
            .collect();
        self.actions.push(ActionSpec {
            name: Name::new(name.clone(), self.src(def.name.pos)),
            description: def.description.as_ref().map(|d| d.value.clone()),
            inputs,
            outputs,
            fails: false,
            result,
            say: None,
            label: def.label.as_ref().map(|l| l.value.clone()),
            sets: Vec::new(),
        });
        name
    }

    /// The `available when` of binding `name` as a condition named after
    /// the binding; what it cannot read is an error at the expression.
    fn condition(&mut self, name: &ast::Ident, e: &Expr) -> ConditionSpec {
        let expr = self.cond(e);
        ConditionSpec {
            name: Name::new(name.name.clone(), self.src(e.pos)),
            expr,
        }
    }

    fn cond(&mut self, e: &Expr) -> CondSpec {
        match self.cond_opt(e) {
            Some(c) => c,
            None => self.unreadable(e),
        }
    }

    /// A condition baton can evaluate; none for anything else.
    fn cond_opt(&self, e: &Expr) -> Option<CondSpec> {
        Some(match &e.kind {
            ExprKind::Bool(b) => CondSpec::Const(*b),
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => CondSpec::Not(Box::new(self.cond_opt(operand)?)),
            ExprKind::Binary {
                op: BinaryOp::And,
                left,
                right,
            } => CondSpec::All(vec![self.cond_opt(left)?, self.cond_opt(right)?]),
            ExprKind::Binary {
                op: BinaryOp::Or,
                left,
                right,
            } => CondSpec::Any(vec![self.cond_opt(left)?, self.cond_opt(right)?]),
            ExprKind::Binary { op, left, right } => {
                let cmp = match op {
                    BinaryOp::Eq | BinaryOp::Is => Some(CmpOp::Eq),
                    BinaryOp::Ne | BinaryOp::IsNot => Some(CmpOp::Ne),
                    BinaryOp::Lt => Some(CmpOp::Lt),
                    BinaryOp::Le => Some(CmpOp::Le),
                    BinaryOp::Gt => Some(CmpOp::Gt),
                    BinaryOp::Ge => Some(CmpOp::Ge),
                    _ => None,
                };
                match (cmp, left.reference(), literal_or_none(right)) {
                    (Some(op), Some(("variables", var)), Some(value)) => {
                        let (op, value) = match (op, value) {
                            // `== None` is "is empty".
                            (CmpOp::Eq, None) => (CmpOp::IsEmpty, None),
                            (CmpOp::Ne, None) => (CmpOp::IsNotEmpty, None),
                            (op, v) => (op, v),
                        };
                        CondSpec::Cmp(ComparisonSpec {
                            variable: Name::new(var.to_string(), self.src(left.pos)),
                            op,
                            value,
                        })
                    }
                    _ => return None,
                }
            }
            ExprKind::Ref { namespace, path } if namespace == "variables" && path.len() == 1 => {
                CondSpec::Truthy(Name::new(path[0].clone(), self.src(e.pos)))
            }
            _ => return None,
        })
    }

    fn unreadable(&mut self, e: &Expr) -> CondSpec {
        self.errs.push(self.src(e.pos).error(format!(
            "condition `{}` is not one baton can evaluate: expected comparisons of @variables with literals, and, or, not",
            render(e)
        )));
        CondSpec::Const(false)
    }

    /// The route of the agent's channel: a voice connection for a voice
    /// agent, else the first connection with a route.
    fn route(&mut self, script: &Script) -> (RouteSpec, Channel) {
        let voice = !script.modalities.is_empty()
            || script
                .connections
                .iter()
                .any(|c| matches!(c.surface.name.as_str(), "voice" | "telephony"));
        let channel = if voice { Channel::Voice } else { Channel::Messaging };
        let routed = |c: &&ast::Connection| c.outbound_route_name.is_some();
        let chosen = if voice {
            script
                .connections
                .iter()
                .find(|c| matches!(c.surface.name.as_str(), "voice" | "telephony"))
                .filter(routed)
                .map(|c| (c, "the voice connection of a voice agent"))
        } else {
            script
                .connections
                .iter()
                .find(routed)
                .map(|c| (c, "the first connection with an outbound route"))
        };
        let route = match chosen {
            Some((c, why)) => {
                let flow = c.outbound_route_name.as_ref().map(|n| {
                    let name = n.value.strip_prefix("flow://").unwrap_or(&n.value).to_string();
                    Name::new(name, self.src(n.pos))
                });
                RouteSpec {
                    flow,
                    surface: Some(format!("{} ({why})", c.surface.name)),
                    message: c.escalation_message.as_ref().map(|m| m.value.clone()),
                    default_topic: false,
                    available_when: None,
                }
            }
            None => RouteSpec {
                flow: None,
                surface: None,
                message: None,
                default_topic: false,
                available_when: None,
            },
        };
        (route, channel)
    }
}

/// A literal's text (`True`, `3`, `"x"`); none for anything else.
fn literal(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        ExprKind::Number(n) => Some(n.to_string()),
        ExprKind::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// A comparison's right-hand side: a literal, or `None` (Some(None)).
fn literal_or_none(e: &Expr) -> Option<Option<String>> {
    match e.kind {
        ExprKind::None => Some(None),
        _ => literal(e).map(Some),
    }
}

/// An expression as a reader would write it, for names and messages.
fn render(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        ExprKind::None => "None".to_string(),
        ExprKind::Number(n) => n.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Ref { namespace, path } => format!("@{namespace}.{}", path.join(".")),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Unary {
            op: UnaryOp::Not,
            operand,
        } => format!("not {}", render(operand)),
        ExprKind::Binary { op, left, right } => {
            let sym = match op {
                BinaryOp::Or => "or",
                BinaryOp::And => "and",
                BinaryOp::Eq => "==",
                BinaryOp::Ne => "!=",
                BinaryOp::Lt => "<",
                BinaryOp::Le => "<=",
                BinaryOp::Gt => ">",
                BinaryOp::Ge => ">=",
                BinaryOp::Is => "is",
                BinaryOp::IsNot => "is not",
                BinaryOp::Add => "+",
                BinaryOp::Sub => "-",
                BinaryOp::Mul => "*",
                BinaryOp::Div => "/",
            };
            format!("{} {sym} {}", render(left), render(right))
        }
        _ => "(expression)".to_string(),
    }
}

/// Adds the actions `steps` run (at any depth) to `out`, each once.
fn runs_of(steps: &[StepSpec], out: &mut Vec<Name>) {
    for s in steps {
        match &s.kind {
            StepKind::Run { action, then } => {
                if !out.iter().any(|a| a.value == action.value) {
                    out.push(action.clone());
                }
                runs_of(then, out);
            }
            StepKind::If { then, orelse, .. } => {
                runs_of(then, out);
                runs_of(orelse, out);
            }
            StepKind::Set { .. } | StepKind::Transition { .. } => {}
        }
    }
}

fn stmt_pos(s: &Stmt) -> Pos {
    match s {
        Stmt::Template(t) => t.pos,
        Stmt::If(i) => i.pos,
        Stmt::Run(r) => r.pos,
        Stmt::Set(s) => s.pos,
        Stmt::Transition(t) => t.pos,
        Stmt::Unknown(u) => u.pos,
    }
}

fn stmt_word(s: &Stmt) -> &str {
    match s {
        Stmt::Template(_) => "|",
        Stmt::If(_) => "if",
        Stmt::Run(_) => "run",
        Stmt::Set(_) => "set",
        Stmt::Transition(_) => "transition",
        Stmt::Unknown(u) => &u.key,
    }
}

/// Where a procedure's statements are read.
struct Cx<'a, 'b> {
    agent: &'a ast::Subagent,
    /// Where text lines go; none where a procedure takes no text.
    instructions: Option<&'b mut Vec<At<String>>>,
    conditional: &'b mut Vec<(usize, String)>,
    /// The conditions of the `if`s around, as written.
    conds: Vec<String>,
    /// The action of the `run` around, whose outputs a `set` may read.
    run: Option<&'a ast::ActionDef>,
}

impl<'a, 'b> Cx<'a, 'b> {
    fn new(
        agent: &'a ast::Subagent,
        instructions: Option<&'b mut Vec<At<String>>>,
        conditional: &'b mut Vec<(usize, String)>,
    ) -> Cx<'a, 'b> {
        Cx {
            agent,
            instructions,
            conditional,
            conds: Vec::new(),
            run: None,
        }
    }
}
