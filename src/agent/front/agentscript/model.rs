//! An Agent Script syntax tree into the agent model. Subagents (and the
//! start agent, and older `topic` blocks) become topics; the actions their
//! reasoning binds become the actions the topic runs, gated by their
//! `available when`; `@utils.escalate` makes a topic able to escalate,
//! gated by its `available when`, a structural guard; `set` after an
//! action makes its output set a variable; the connection of the agent's
//! channel gives the route. Agent Script has no built-in Escalation topic:
//! a request where no escalate binding exists is not handed off.
//!
//! Not modelled yet (each listed in `explain`, never dropped silently):
//! `before_reasoning` / `after_reasoning` procedures and procedure
//! instructions other than their text lines, `set` of a constant, linked
//! variables' sources, system instructions, and what the parser keeps as
//! unknown.

use std::path::Path;
use std::sync::Arc;

use super::ast::{self, BinaryOp, BindingTarget, Expr, ExprKind, Instructions, Script, Stmt, UnaryOp};
use crate::agent::spec::{
    ActionSpec, AgentSpec, At, CmpOp, ComparisonSpec, CondSpec, ConditionSpec, Name, RouteSpec, RunSpec, SlotShape,
    SlotSpec, Src, TopicSpec, VariableSpec,
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
    let topics: Vec<TopicSpec> = script.agents.iter().map(|a| m.topic(a)).collect();
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
        for (what, p) in [
            ("before_reasoning", &a.before_reasoning),
            ("after_reasoning", &a.after_reasoning),
        ] {
            if let Some(p) = p {
                self.note(p.pos, format!("{what} of '{}' is not modelled yet", a.name.name));
            }
        }
        if let Some(r) = &a.reasoning {
            match &r.instructions {
                Some(Instructions::Text(t)) => instructions.extend(self.lines(t)),
                Some(Instructions::Procedure(p)) => {
                    for s in &p.body {
                        match s {
                            Stmt::Template(t) => instructions.extend(self.lines(t)),
                            other => self.note(
                                stmt_pos(other),
                                format!(
                                    "a `{}` in the instructions of '{}' is not modelled yet",
                                    stmt_word(other),
                                    a.name.name
                                ),
                            ),
                        }
                    }
                }
                None => {}
            }
            for b in &r.actions {
                let when = b.available_when.as_ref().map(|e| self.condition(&b.name, e));
                match &b.target {
                    BindingTarget::Escalate => {
                        can_escalate = true;
                        escalation_when = when;
                    }
                    BindingTarget::Action(id) => {
                        let Some(def) = a.actions.iter().find(|d| d.name.name == id.name) else {
                            self.errs.push(self.src(id.pos).error(format!(
                                "'{}' binds @actions.{}, which '{}' does not define",
                                b.name.name, id.name, a.name.name
                            )));
                            continue;
                        };
                        let name = self.action(def, b);
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
            runs,
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

    /// The action a binding calls, added once: its LLM-filled inputs become
    /// slots; inputs bound to a variable do not; `set` after it makes an
    /// output set a variable.
    fn action(&mut self, def: &ast::ActionDef, b: &ast::Binding) -> String {
        let name = def.name.name.clone();
        if self.actions.iter().any(|a| a.name.value == name) {
            return name;
        }
        let mut inputs = Vec::new();
        for w in &b.with {
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
        let mut sets = Vec::new();
        for s in b.sets() {
            match (s.target.reference(), s.value.reference()) {
                (Some(("variables", var)), Some(("outputs", out))) => sets.push((
                    Name::new(out.to_string(), self.src(s.value.pos)),
                    Name::new(var.to_string(), self.src(s.target.pos)),
                )),
                _ => self.note(
                    s.pos,
                    format!(
                        "a `set` after '{}' that is not @variables = @outputs is not modelled",
                        b.name.name
                    ),
                ),
            }
        }
        self.actions.push(ActionSpec {
            name: Name::new(name.clone(), self.src(def.name.pos)),
            description: def.description.as_ref().map(|d| d.value.clone()),
            inputs,
            outputs,
            fails: false,
            result,
            say: None,
            label: def.label.as_ref().map(|l| l.value.clone()),
            sets,
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
        match &e.kind {
            ExprKind::Bool(b) => CondSpec::Const(*b),
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => CondSpec::Not(Box::new(self.cond(operand))),
            ExprKind::Binary {
                op: BinaryOp::And,
                left,
                right,
            } => CondSpec::All(vec![self.cond(left), self.cond(right)]),
            ExprKind::Binary {
                op: BinaryOp::Or,
                left,
                right,
            } => CondSpec::Any(vec![self.cond(left), self.cond(right)]),
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
                    _ => self.unreadable(e),
                }
            }
            ExprKind::Ref { namespace, path } if namespace == "variables" && path.len() == 1 => {
                CondSpec::Truthy(Name::new(path[0].clone(), self.src(e.pos)))
            }
            _ => self.unreadable(e),
        }
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
