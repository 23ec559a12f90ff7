//! The syntax tree of one `.agent` file. Every node a later phase may
//! point at keeps its [`Pos`] (1-based line and column in the file): a
//! block or field at its key, a statement at its keyword, a string at its
//! opening quote or `|`, an expression at its first token.
//!
//! What the language has but this tree does not model field by field is
//! kept as an [`Unknown`] where it was written, never dropped.

use crate::diag::Pos;

/// A name as written (a block's instance name, a key, a parameter).
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub pos: Pos,
}

/// A string value: a quoted string, or a `|` template whose `{! }`
/// interpolations are parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    /// The string; a template's lines joined with `\n`, `{! }` as written.
    pub value: String,
    pub pos: Pos,
    /// Written with `|` rather than quotes.
    pub template: bool,
    /// The expressions of a template's `{! }` interpolations, in order.
    pub interpolations: Vec<Expr>,
}

/// `True` or `False` as written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flag {
    pub value: bool,
    pub pos: Pos,
}

/// A key or block the language has (or a script holds) that this tree does
/// not model: a later phase lists it as "not modelled". `key` is as
/// written, both words of a named block (`connected_subagent Billing`);
/// for a statement, its keyword (`collect`).
#[derive(Clone, Debug, PartialEq)]
pub struct Unknown {
    pub key: String,
    pub pos: Pos,
}

/// A whole `.agent` file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Script {
    pub system: Option<System>,
    pub config: Option<Config>,
    pub variables: Option<Variables>,
    /// `connection <surface>:` blocks, in file order.
    pub connections: Vec<Connection>,
    /// `modality <kind>:` blocks (`modality voice:`), in file order.
    pub modalities: Vec<Modality>,
    /// `start_agent`, `subagent` and `topic` blocks, in file order.
    pub agents: Vec<Subagent>,
    /// Top-level blocks not modelled (`language`, `knowledge`,
    /// `connected_subagent X`, ...).
    pub unknown: Vec<Unknown>,
}

/// `system:`: instructions every subagent inherits, and default messages.
#[derive(Clone, Debug, PartialEq)]
pub struct System {
    pub pos: Pos,
    pub instructions: Option<Text>,
    pub welcome: Option<Text>,
    pub error: Option<Text>,
    pub unknown: Vec<Unknown>,
}

/// `config:`: the agent's identity. Fields not listed here are `unknown`.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub pos: Pos,
    pub developer_name: Option<Text>,
    pub agent_name: Option<Text>,
    pub agent_label: Option<Text>,
    pub description: Option<Text>,
    pub agent_description: Option<Text>,
    pub agent_type: Option<Text>,
    /// `None` as written reads as not set.
    pub default_agent_user: Option<Text>,
    /// The default outbound flow for escalation routing.
    pub outbound_flow: Option<Text>,
    pub unknown: Vec<Unknown>,
}

/// `variables:`.
#[derive(Clone, Debug, PartialEq)]
pub struct Variables {
    pub pos: Pos,
    pub variables: Vec<Variable>,
}

/// `NAME: mutable TYPE [= DEFAULT]` or `NAME: linked TYPE`, with its
/// indented properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    pub name: Ident,
    pub modifier: Modifier,
    pub modifier_pos: Pos,
    pub ty: TypeRef,
    pub default: Option<Expr>,
    pub description: Option<Text>,
    pub label: Option<Text>,
    /// Where a linked variable's value comes from (`@MessagingSession.Id`).
    pub source: Option<Expr>,
    pub unknown: Vec<Unknown>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    Mutable,
    Linked,
}

/// A type: `string`, `number`, `boolean`, `object`, `date`, ... or
/// `list[T]` (`name` is then `T`).
#[derive(Clone, Debug, PartialEq)]
pub struct TypeRef {
    pub name: String,
    pub list: bool,
    pub pos: Pos,
}

/// `connection <surface>:`: how the agent meets callers on one surface, and
/// where an escalation goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    /// `messaging`, `service_email`, `slack`, `voice`, ...
    pub surface: Ident,
    pub pos: Pos,
    pub escalation_message: Option<Text>,
    /// `OmniChannelFlow`, ...
    pub outbound_route_type: Option<Text>,
    /// As written: `flow://Route_to_Agent`.
    pub outbound_route_name: Option<Text>,
    pub adaptive_response_allowed: Option<Flag>,
    pub unknown: Vec<Unknown>,
}

/// `modality <kind>:` (`modality voice:`): its settings as written, nested.
#[derive(Clone, Debug, PartialEq)]
pub struct Modality {
    pub kind: Ident,
    pub pos: Pos,
    pub settings: Vec<Setting>,
}

/// `key: value` in a block kept as written (a modality's settings).
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub key: Ident,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Expr(Expr),
    Text(Text),
    /// An indented block of settings (empty for `key:` with nothing under).
    Map(Vec<Setting>),
    /// `- item` lines.
    List(Vec<Value>),
}

/// Which block an agent was written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentKind {
    /// `start_agent NAME:`: the entry point.
    StartAgent,
    /// `subagent NAME:`.
    Subagent,
    /// `topic NAME:`: the older name for a subagent.
    Topic,
}

/// `start_agent NAME:`, `subagent NAME:` or `topic NAME:`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subagent {
    pub kind: AgentKind,
    pub name: Ident,
    /// Where the block's keyword is.
    pub pos: Pos,
    pub label: Option<Text>,
    pub description: Option<Text>,
    /// `system: instructions:` overriding the top-level ones.
    pub system_instructions: Option<Text>,
    /// `actions:` definitions.
    pub actions: Vec<ActionDef>,
    pub before_reasoning: Option<Procedure>,
    pub reasoning: Option<Reasoning>,
    pub after_reasoning: Option<Procedure>,
    pub unknown: Vec<Unknown>,
}

/// One action definition under a subagent's `actions:`.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionDef {
    pub name: Ident,
    pub description: Option<Text>,
    pub label: Option<Text>,
    pub inputs: Vec<Param>,
    pub outputs: Vec<Param>,
    /// As written: `flow://X`, `apex://Y`, ...
    pub target: Option<Text>,
    pub unknown: Vec<Unknown>,
}

/// An input or output of an action: `NAME: TYPE [= DEFAULT]` and its
/// indented properties.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    /// Absent for an entry typed by an indented `type:` block.
    pub ty: Option<TypeRef>,
    /// `= DEFAULT`; or, for an input of a variant subagent written
    /// `"siteId": @variables.siteId`, the value it is bound to.
    pub default: Option<Expr>,
    pub description: Option<Text>,
    pub label: Option<Text>,
    pub is_required: Option<Flag>,
    pub unknown: Vec<Unknown>,
}

/// `reasoning:`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reasoning {
    pub pos: Pos,
    pub instructions: Option<Instructions>,
    /// `actions:` bindings offered to the model.
    pub actions: Vec<Binding>,
    pub unknown: Vec<Unknown>,
}

/// `instructions:` as a string (quoted or `|`) or a procedure (`->`, or an
/// indented block of statements).
#[derive(Clone, Debug, PartialEq)]
pub enum Instructions {
    Text(Text),
    Procedure(Procedure),
}

/// Statements: `before_reasoning:`, `after_reasoning:`,
/// `instructions: ->`.
#[derive(Clone, Debug, PartialEq)]
pub struct Procedure {
    /// Where the key is.
    pub pos: Pos,
    /// Written with `->`.
    pub arrow: bool,
    pub body: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `| text`: appends to the instructions.
    Template(Text),
    If(If),
    Run(Run),
    Set(Set),
    Transition(Transition),
    /// A statement or key this tree does not model (`collect`, a key in a
    /// procedure).
    Unknown(Unknown),
}

/// `if COND:` with its block, and `else:` (an `else if` is an `If` alone in
/// `orelse`).
#[derive(Clone, Debug, PartialEq)]
pub struct If {
    pub pos: Pos,
    pub cond: Expr,
    pub then: Vec<Stmt>,
    pub orelse: Vec<Stmt>,
    /// Where the `else` is, when there is one.
    pub else_pos: Option<Pos>,
}

/// `run @actions.X` with its `with` inputs and the statements under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub pos: Pos,
    pub target: Expr,
    pub with: Vec<With>,
    pub then: Vec<Stmt>,
}

/// `with param=value` (one per parameter of a comma-separated `with`).
#[derive(Clone, Debug, PartialEq)]
pub struct With {
    pub pos: Pos,
    pub param: Ident,
    /// `...` ([`ExprKind::Ellipsis`]) when the model fills it.
    pub value: Expr,
}

impl With {
    /// `with p=...`: the model fills the value from the conversation.
    pub fn is_llm_filled(&self) -> bool {
        matches!(self.value.kind, ExprKind::Ellipsis)
    }
}

/// `set TARGET = VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    pub pos: Pos,
    pub target: Expr,
    pub value: Expr,
}

/// `transition to @subagent.X` (or `@topic.X`).
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub pos: Pos,
    pub to: Expr,
}

/// A reasoning action binding: `NAME: TARGET` and its indented lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub name: Ident,
    pub target: BindingTarget,
    /// Where the target is.
    pub target_pos: Pos,
    pub description: Option<Text>,
    pub label: Option<Text>,
    /// `available when EXPR`.
    pub available_when: Option<Expr>,
    pub with: Vec<With>,
    /// `set`, `run`, `transition` and `if` lines run after the action.
    pub then: Vec<Stmt>,
    pub unknown: Vec<Unknown>,
}

impl Binding {
    /// Whether the model hands the caller to a human through this binding.
    pub fn escalates(&self) -> bool {
        matches!(self.target, BindingTarget::Escalate)
    }

    /// The `set` statements run after the action, in order.
    pub fn sets(&self) -> impl Iterator<Item = &Set> {
        self.then.iter().filter_map(|s| match s {
            Stmt::Set(set) => Some(set),
            _ => None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum BindingTarget {
    /// `@actions.X`: an action defined under the subagent's `actions:`.
    Action(Ident),
    /// `@utils.escalate`: hand off to a human.
    Escalate,
    /// `@utils.transition to TARGET`.
    Transition(Expr),
    /// `@utils.setVariables`: the model fills variables from `with`s.
    SetVariables,
    /// Anything else (`@connected_subagent.X`, an unknown `@utils.y`).
    Other(Expr),
}

/// An expression, at its first token.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    None,
    Number(f64),
    Str(String),
    /// An ISO 8601 date or date-time, as written.
    DateTime(String),
    /// `...`: a value the model fills in.
    Ellipsis,
    /// A bare name (a type, a function).
    Name(String),
    /// `@namespace.a.b`: `@variables.x` is `Ref { namespace: "variables",
    /// path: ["x"] }`.
    Ref {
        namespace: String,
        path: Vec<String>,
    },
    Member {
        object: Box<Expr>,
        field: String,
    },
    Index {
        object: Box<Expr>,
        index: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    Dict(Vec<(String, Expr)>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `then if cond else orelse`.
    Ternary {
        then: Box<Expr>,
        cond: Box<Expr>,
        orelse: Box<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
    Plus,
    /// `*x`.
    Spread,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Is,
    IsNot,
    Add,
    Sub,
    Mul,
    Div,
}

impl Expr {
    /// `@namespace.name` (exactly two parts): `("variables", "x")`.
    pub fn reference(&self) -> Option<(&str, &str)> {
        match &self.kind {
            ExprKind::Ref { namespace, path } if path.len() == 1 => Some((namespace, &path[0])),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            ExprKind::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl Script {
    /// The `start_agent` block (the first, if a script has several).
    pub fn start_agent(&self) -> Option<&Subagent> {
        self.agents.iter().find(|a| a.kind == AgentKind::StartAgent)
    }

    /// The agent block named `name`, whatever its kind.
    pub fn agent(&self, name: &str) -> Option<&Subagent> {
        self.agents.iter().find(|a| a.name.name == name)
    }

    pub fn connection(&self, surface: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.surface.name == surface)
    }

    /// Every [`Unknown`] in the tree, in file order.
    pub fn unknowns(&self) -> Vec<&Unknown> {
        let mut out: Vec<&Unknown> = self.unknown.iter().collect();
        if let Some(s) = &self.system {
            out.extend(&s.unknown);
        }
        if let Some(c) = &self.config {
            out.extend(&c.unknown);
        }
        if let Some(v) = &self.variables {
            v.variables.iter().for_each(|v| out.extend(&v.unknown));
        }
        self.connections.iter().for_each(|c| out.extend(&c.unknown));
        for a in &self.agents {
            out.extend(&a.unknown);
            for d in &a.actions {
                out.extend(&d.unknown);
                d.inputs.iter().chain(&d.outputs).for_each(|p| out.extend(&p.unknown));
            }
            let procedures = a.before_reasoning.iter().chain(&a.after_reasoning);
            let mut stmts: Vec<&Stmt> = procedures.flat_map(|p| &p.body).collect();
            if let Some(r) = &a.reasoning {
                out.extend(&r.unknown);
                if let Some(Instructions::Procedure(p)) = &r.instructions {
                    stmts.extend(&p.body);
                }
                for b in &r.actions {
                    out.extend(&b.unknown);
                    stmts.extend(&b.then);
                }
            }
            for s in stmts {
                s.walk(&mut |s| {
                    if let Stmt::Unknown(u) = s {
                        out.push(u);
                    }
                });
            }
        }
        out.sort_by_key(|u| u.pos);
        out
    }
}

impl Subagent {
    pub fn action(&self, name: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.name.name == name)
    }

    /// The reasoning action binding named `name`.
    pub fn binding(&self, name: &str) -> Option<&Binding> {
        self.reasoning.as_ref()?.actions.iter().find(|b| b.name.name == name)
    }
}

impl Stmt {
    /// Calls `f` on this statement and every statement nested in it, in
    /// order.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Stmt)) {
        f(self);
        let nested: Box<dyn Iterator<Item = &Stmt>> = match self {
            Stmt::If(i) => Box::new(i.then.iter().chain(&i.orelse)),
            Stmt::Run(r) => Box::new(r.then.iter()),
            _ => Box::new(std::iter::empty()),
        };
        for s in nested {
            s.walk(f);
        }
    }
}

impl Modality {
    /// The setting at `path` (`["additional_configs", "speak_up_config",
    /// "speak_up_message"]`).
    pub fn setting(&self, path: &[&str]) -> Option<&Setting> {
        let (first, rest) = path.split_first()?;
        let mut at = self.settings.iter().find(|s| s.key.name == *first)?;
        for key in rest {
            let Value::Map(map) = &at.value else { return None };
            at = map.iter().find(|s| s.key.name == *key)?;
        }
        Some(at)
    }
}
