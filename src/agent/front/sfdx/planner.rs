//! One agent from its planner: a GenAiPlannerBundle (API 64+) or a
//! GenAiPlanner (60-63) with the topics it references or embeds and their
//! actions, assembled with its mappings ([`super::mapping`]), rules
//! ([`super::rules`]) and route ([`super::route`]) into the agent model.
//! The standard Escalation topic becomes baton's built-in default
//! Escalation topic, with its conditions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use roxmltree::Node;

use super::action::{self, ReadAction, strip_id};
use super::bot::BotInfo;
use super::index::Index;
use super::mapping::{Mapping, variables};
use super::route::route;
use super::rules::{both, conditions};
use crate::agent::spec::{
    ActionSpec, AgentSpec, At, ConditionSpec, Name, RouteSpec, SlotSpec, Src, TopicSpec, VariableSpec,
};
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::files::{MAX_FILE_BYTES, read_regular};
use crate::xml::{Xml, child, children, flag, text};

/// The standard topic that escalates to a human.
const STANDARD_ESCALATION: &str = "SvcCopilotTmpl__Escalation";

const PLANNER_ELEMENTS: &[&str] = &[
    "description",
    "masterLabel",
    "plannerType",
    "genAiPlugins",
    "genAiFunctions",
    "localTopicLinks",
    "localTopics",
    "localActionLinks",
    "plannerActions",
    "attributeMappings",
    "ruleExpressions",
    "ruleExpressionAssignments",
    "plannerSurfaces",
    "capabilities",
];

const TOPIC_ELEMENTS: &[&str] = &[
    "fullName",
    "name",
    "developerName",
    "localDeveloperName",
    "masterLabel",
    "canEscalate",
    "description",
    "scope",
    "genAiPluginInstructions",
    "aiPluginUtterances",
    "genAiFunctions",
    "localActionLinks",
    "localActions",
    "pluginType",
    "source",
    "language",
];

/// Reads the agent whose planner file is `planner` (named `name`).
pub fn read(
    planner: &Path,
    name: &str,
    index: &Index,
    bot: Option<BotInfo>,
    surface: Option<&At<String>>,
) -> Result<AgentSpec, Diagnostics> {
    let file: Arc<Path> = Arc::from(planner);
    let source = read_xml_text(planner)?;
    let xml = Xml::parse(&file, &source)?;
    let bundle = planner.extension().is_some_and(|e| e == "genAiPlannerBundle");
    let root = xml.root(if bundle { "GenAiPlannerBundle" } else { "GenAiPlanner" })?;
    xml.note_unread(root, root.tag_name().name(), PLANNER_ELEMENTS);
    let mut r = Reader {
        index,
        // Only a bundle has a folder of its own with action schemas.
        bundle_dir: if bundle {
            planner.parent().map(Path::to_path_buf)
        } else {
            None
        },
        notes: Vec::new(),
        lints: Vec::new(),
        errs: Diagnostics::default(),
        actions: Vec::new(),
        slots: Vec::new(),
        topics: Vec::new(),
        topic_aliases: HashMap::new(),
        escalation: None,
        unread: Vec::new(),
    };
    let planner_actions = r.planner_actions(&xml, root);
    r.topics_of(&xml, root);
    for t in &mut r.topics {
        for a in &planner_actions {
            if !t.actions.iter().any(|x| x.value == a.value) {
                t.actions.push(a.clone());
            }
        }
    }
    let mappings = Mapping::read(&xml, root, &mut r.notes);
    r.bind_inputs_and_outputs(&mappings);
    let mut variables = variables(&mappings, bot.as_ref());
    let conditions = conditions(&xml, root, &mut r.notes);
    r.apply_conditions(&xml, root, &conditions);
    let mut read = Vec::new();
    for c in conditions.values() {
        c.expr.variables(&mut read);
    }
    for name in read {
        if !variables.iter().any(|v| v.name.value == name.value) {
            variables.push(VariableSpec { name, default: None });
        }
    }
    let (route, channel) = route(&xml, root, bot.as_ref(), surface, &mut r.notes)?;
    let description = text(root, "description").map(str::to_string);
    let escalation = r.escalation.take();
    let mut notes = r.notes;
    for (path, src) in xml.into_unread().into_iter().chain(r.unread) {
        notes.push(At::new(format!("<{path}> is not modelled"), src));
    }
    if escalation.is_none() {
        notes.push(At::new(
            "no Escalation topic: a request for a human is not handed off (the default escalation path is off)"
                .to_string(),
            Src::new(&file, Pos::FILE),
        ));
    }
    r.errs.into_result(())?;
    let topics_src = Src::new(&file, Pos::FILE);
    Ok(AgentSpec {
        file: file.clone(),
        name: Name::new(
            bot.as_ref().map_or(name.to_string(), |b| b.name.clone()),
            Src::new(&file, Pos::FILE),
        ),
        description,
        channel,
        escalation: RouteSpec {
            flow: route.flow,
            surface: route.surface,
            message: route.message,
            default_topic: escalation.is_some(),
            available_when: escalation.flatten(),
        },
        no_input: None,
        dtmf: Vec::new(),
        threshold: None,
        margin: None,
        slots: r.slots,
        actions: r.actions.into_iter().map(|a| a.spec).collect(),
        topics: r.topics,
        topics_src,
        variables,
        strict_references: false,
        notes,
        lints: r.lints,
    })
}

/// A file's text for XML parsing: a regular file under the size cap.
pub fn read_xml_text(path: &Path) -> Result<String, Diagnostic> {
    let bytes = read_regular(path, MAX_FILE_BYTES)
        .map_err(|e| Diagnostic::new(path, Pos::FILE, format!("cannot read metadata file: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| Diagnostic::new(path, Pos::FILE, "metadata file is not valid UTF-8").unquoted())
}

struct Reader<'i> {
    index: &'i Index,
    bundle_dir: Option<PathBuf>,
    notes: Vec<At<String>>,
    lints: Vec<At<String>>,
    errs: Diagnostics,
    actions: Vec<ReadAction>,
    slots: Vec<SlotSpec>,
    topics: Vec<TopicSpec>,
    /// Every name the bundle may use for a topic (its full name with the
    /// org id, its API name, the standard topic it customises), to its
    /// index; [`ESCALATION_TOPIC`] for the standard Escalation topic.
    topic_aliases: HashMap<String, usize>,
    /// The standard Escalation topic, once found, with its condition.
    escalation: Option<Option<ConditionSpec>>,
    /// Elements not read in files other than the planner's.
    unread: Vec<(String, Src)>,
}

/// The alias target of the standard Escalation topic.
const ESCALATION_TOPIC: usize = usize::MAX;

impl Reader<'_> {
    /// Actions every topic can use: the planner's `genAiFunctions` and
    /// its `plannerActions`.
    fn planner_actions(&mut self, xml: &Xml<'_>, root: Node<'_, '_>) -> Vec<Name> {
        let mut names = Vec::new();
        for f in children(root, "genAiFunctions") {
            if let Some(fname) = text(f, "genAiFunctionName") {
                names.push(self.function_ref(xml, f, fname));
            }
        }
        for a in children(root, "plannerActions") {
            let full = text(a, "fullName").unwrap_or_default().to_string();
            let schemas = self.bundle_dir.as_ref().map(|d| d.join("plannerActions").join(&full));
            let read = action::read(xml, a, None, schemas.as_deref(), &mut self.notes);
            names.push(self.add_action(read, xml.src(a)));
        }
        names
    }

    /// An action named by a `functionName` / `genAiFunctionName`: one read
    /// already, its GenAiFunction file, or a standard action with no file.
    fn function_ref(&mut self, xml: &Xml<'_>, at: Node<'_, '_>, fname: &str) -> Name {
        let src = xml.src(at);
        if let Some(a) = self.actions.iter().find(|a| a.aliases.iter().any(|x| x == fname)) {
            return Name::new(a.spec.name.value.clone(), src);
        }
        let read = match self.index.functions.get(fname).cloned() {
            Some(path) => match self.function_file(&path, fname) {
                Ok(a) => a,
                Err(d) => {
                    self.errs.push(d);
                    return Name::new(fname.to_string(), src);
                }
            },
            None => {
                self.missing(
                    format!("action '{fname}' has no GenAiFunction file in the project"),
                    "modelled with no inputs or outputs",
                    fname,
                    src.clone(),
                );
                let name = standard_name(fname);
                ReadAction {
                    spec: ActionSpec {
                        name: Name::new(name.clone(), src.clone()),
                        description: None,
                        inputs: Vec::new(),
                        outputs: Vec::new(),
                        fails: false,
                        result: Vec::new(),
                        say: None,
                        label: Some(name.replace('_', " ")),
                        sets: Vec::new(),
                    },
                    aliases: vec![fname.to_string()],
                    inputs: Vec::new(),
                }
            }
        };
        self.add_action(read, src)
    }

    fn function_file(&mut self, path: &Path, fname: &str) -> Result<ReadAction, Diagnostic> {
        let file: Arc<Path> = Arc::from(path);
        let text = read_xml_text(path)?;
        let xml = Xml::parse(&file, &text)?;
        let root = xml.root("GenAiFunction")?;
        let read = action::read(&xml, root, Some(fname), path.parent(), &mut self.notes);
        self.unread.extend(xml.into_unread());
        Ok(read)
    }

    /// A topic or action the planner names that the project does not hold.
    /// A standard one (`Namespace__Name`) never has a file: a note. Any
    /// other is a partial retrieve or a typo: a warning, so that
    /// `--deny-warnings` can refuse it; not a load error, so that a team
    /// can test what it has retrieved.
    fn missing(&mut self, what: String, so: &str, name: &str, src: Src) {
        if name.contains("__") {
            self.notes.push(At::new(format!("{what} (a standard one): {so}"), src));
        } else {
            self.lints
                .push(At::new(format!("{what}: {so} (retrieve it to test it)"), src));
        }
    }

    /// Adds an action (once) and returns its name as a reference at `src`.
    fn add_action(&mut self, read: ReadAction, src: Src) -> Name {
        let name = read.spec.name.value.clone();
        match self.actions.iter_mut().find(|a| a.spec.name.value == name) {
            Some(existing) => existing.aliases.extend(read.aliases),
            None => self.actions.push(read),
        }
        Name::new(name, src)
    }

    /// Topics: referenced GenAiPlugin files (or their inline
    /// customisations), and local topics.
    fn topics_of(&mut self, xml: &Xml<'_>, root: Node<'_, '_>) {
        for p in children(root, "genAiPlugins") {
            let Some(pname) = text(p, "genAiPluginName") else {
                continue;
            };
            if let Some(custom) = child(p, "genAiCustomizedPlugin") {
                self.topic(xml, custom, pname, None);
            } else if let Some(path) = self.index.plugins.get(pname).cloned() {
                if let Err(d) = self.plugin_file(&path, pname) {
                    self.errs.push(d);
                }
            } else if pname == STANDARD_ESCALATION {
                self.escalation.get_or_insert(None);
                self.topic_aliases.insert(pname.to_string(), ESCALATION_TOPIC);
            } else {
                self.missing(
                    format!("topic '{pname}' has no GenAiPlugin file in the project"),
                    "not modelled",
                    pname,
                    xml.src(p),
                );
            }
        }
        let linked: Vec<&str> = children(root, "localTopicLinks")
            .filter_map(|l| text(l, "genAiPluginName"))
            .collect();
        for t in children(root, "localTopics") {
            let full = text(t, "fullName").unwrap_or_default();
            if !linked.is_empty() && !linked.contains(&full) {
                self.notes.push(At::new(
                    format!("local topic '{full}' is not linked from <localTopicLinks>: left out"),
                    xml.src(t),
                ));
                continue;
            }
            let schemas = self.bundle_dir.as_ref().map(|d| d.join("localActions").join(full));
            self.topic(xml, t, full, schemas);
        }
    }

    fn plugin_file(&mut self, path: &Path, pname: &str) -> Result<(), Diagnostic> {
        let file: Arc<Path> = Arc::from(path);
        let text = read_xml_text(path)?;
        let xml = Xml::parse(&file, &text)?;
        let root = xml.root("GenAiPlugin")?;
        self.topic(&xml, root, pname, None);
        self.unread.extend(xml.into_unread());
        Ok(())
    }

    /// One topic element (a GenAiPlugin, a customised standard topic or a
    /// local topic), known in the bundle as `key`.
    fn topic(&mut self, xml: &Xml<'_>, node: Node<'_, '_>, key: &str, local_actions: Option<PathBuf>) {
        xml.note_unread(node, "topic", TOPIC_ELEMENTS);
        let src = xml.src(node);
        let mut aliases: Vec<String> = ["fullName", "developerName", "name", "localDeveloperName"]
            .iter()
            .filter_map(|k| text(node, k).map(str::to_string))
            .collect();
        aliases.push(key.to_string());
        let name = text(node, "localDeveloperName")
            .or_else(|| text(node, "name"))
            .or_else(|| text(node, "developerName"))
            .map_or_else(|| strip_id(key), strip_id);
        let can_escalate = flag(node, "canEscalate", false);
        let has_actions = child(node, "genAiFunctions").is_some() || child(node, "localActions").is_some();
        let standard = text(node, "source") == Some(STANDARD_ESCALATION)
            || key == STANDARD_ESCALATION
            || (name == "Escalation" && can_escalate && !has_actions);
        if standard {
            self.escalation.get_or_insert(None);
            for a in aliases {
                self.topic_aliases.insert(a, ESCALATION_TOPIC);
            }
            if child(node, "genAiPluginInstructions").is_some() {
                self.notes.push(At::new(
                    "the standard Escalation topic is baton's built-in Escalation topic: it hands off at once, and its instructions are not modelled".to_string(),
                    src,
                ));
            }
            return;
        }
        let mut instructions = Vec::new();
        if let Some(scope) = child(node, "scope").filter(|s| s.text().is_some_and(|t| !t.trim().is_empty())) {
            instructions.push(At::new(clean(scope.text().unwrap_or_default()), xml.src(scope)));
        }
        let items: Vec<Node<'_, '_>> = children(node, "genAiPluginInstructions").collect();
        let mut ordered: Vec<(Option<i64>, usize, Node<'_, '_>)> = items
            .iter()
            .enumerate()
            .map(|(i, n)| (text(*n, "sortOrder").and_then(|s| s.parse().ok()), i, *n))
            .collect();
        // By sortOrder when every instruction has one; else as written.
        if ordered.iter().all(|o| o.0.is_some()) {
            ordered.sort_by_key(|o| (o.0, o.1));
        }
        for (_, _, n) in ordered {
            if let Some(d) = child(n, "description").and_then(|d| d.text()) {
                instructions.push(At::new(clean(d), xml.src(n)));
            }
        }
        let utterances = children(node, "aiPluginUtterances")
            .filter_map(|u| text(u, "utterance").map(clean))
            .collect();
        let mut actions = Vec::new();
        for f in children(node, "genAiFunctions") {
            if let Some(fname) = text(f, "functionName") {
                actions.push(self.function_ref(xml, f, fname));
            }
        }
        for a in children(node, "localActions") {
            let full = text(a, "fullName").unwrap_or_default().to_string();
            let schemas = local_actions.as_ref().map(|d| d.join(&full));
            let read = action::read(xml, a, None, schemas.as_deref(), &mut self.notes);
            actions.push(self.add_action(read, xml.src(a)));
        }
        let index = self.topics.len();
        for a in aliases {
            self.topic_aliases.entry(a).or_insert(index);
        }
        self.topics.push(TopicSpec {
            name: Name::new(name, src),
            description: text(node, "description").map(clean).unwrap_or_default(),
            utterances,
            can_escalate,
            catch_all: None,
            actions,
            instructions,
            reply: None,
            available_when: None,
            escalation_when: None,
            escalation_aliases: Vec::new(),
            runs: Vec::new(),
            procedures: Default::default(),
        });
    }

    /// Inputs: mapped from a variable (the caller is not asked), else a
    /// required input becomes a slot. Outputs mapped to a variable set it.
    fn bind_inputs_and_outputs(&mut self, mappings: &[Mapping]) {
        // Looked up by name: a hostile project has tens of thousands of
        // inputs, slots and mappings, and scanning lists took minutes.
        let mut by_action: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, m) in mappings.iter().enumerate() {
            by_action.entry(m.action.as_str()).or_default().push(i);
        }
        let mut slot_names: std::collections::HashSet<String> =
            self.slots.iter().map(|s| s.name.value.clone()).collect();
        for a in &mut self.actions {
            // This action's mappings (under any of its names), in file order.
            let mut mine: Vec<usize> = Vec::new();
            let mut aliases: Vec<&str> = a.aliases.iter().map(String::as_str).collect();
            aliases.sort_unstable();
            aliases.dedup();
            for alias in aliases {
                mine.extend(by_action.get(alias).into_iter().flatten());
            }
            mine.sort_unstable();
            let mine: Vec<&Mapping> = mine.into_iter().map(|i| &mappings[i]).collect();
            let mut input_mapping: HashMap<&str, &Mapping> = HashMap::new();
            for m in mine.iter().filter(|m| m.input) {
                input_mapping.entry(m.attribute.as_str()).or_insert(m);
            }
            let mapped = |attr: &str| input_mapping.get(attr).copied();
            for input in &a.inputs {
                if let Some(m) = mapped(&input.name) {
                    self.notes.push(At::new(
                        format!(
                            "input '{}' of '{}' is filled from variable '{}': the caller is not asked for it",
                            input.name, a.spec.name.value, m.variable.value
                        ),
                        m.variable.src.clone(),
                    ));
                    continue;
                }
                if !input.required {
                    continue;
                }
                if !slot_names.contains(&input.name) {
                    slot_names.insert(input.name.clone());
                    let slot = action::slot_for(input);
                    self.notes.push(At::new(
                        format!(
                            "slot '{}' (input of '{}'): {} (a default; an overlay can set it)",
                            input.name,
                            a.spec.name.value,
                            match slot.shape {
                                crate::agent::spec::SlotShape::Email =>
                                    "found as an email address in what the caller says",
                                crate::agent::spec::SlotShape::Phone =>
                                    "found as a phone number in what the caller says",
                                _ => "asked for, and filled by the caller's answer",
                            }
                        ),
                        input.src.clone(),
                    ));
                    self.slots.push(slot);
                }
                a.spec.inputs.push(Name::new(input.name.clone(), input.src.clone()));
            }
            let mut outputs: std::collections::HashSet<String> =
                a.spec.outputs.iter().map(|o| o.value.clone()).collect();
            for m in mine.iter().filter(|m| !m.input) {
                if outputs.insert(m.attribute.clone()) {
                    // A standard action's output, known only from the mapping.
                    let out = Name::new(m.attribute.clone(), m.variable.src.clone());
                    a.spec
                        .result
                        .push((out.clone(), action::default_value(&m.attribute, None)));
                    a.spec.outputs.push(out);
                }
                a.spec.sets.push((
                    Name::new(m.attribute.clone(), m.variable.src.clone()),
                    m.variable.clone(),
                ));
            }
            if !a.spec.result.is_empty() {
                let values: Vec<String> = a.spec.result.iter().map(|(k, v)| format!("{}={v}", k.value)).collect();
                self.notes.push(At::new(
                    format!(
                        "'{}' succeeds by default with {} (a default; an overlay can set results)",
                        a.spec.name.value,
                        values.join(", ")
                    ),
                    a.spec.name.src.clone(),
                ));
            }
        }
        // The handoff context holds slots and outputs by name: an output
        // named like a slot is qualified with its action.
        let slots = slot_names;
        for a in &mut self.actions {
            let qualify = |n: &mut Name, action: &str| {
                if slots.contains(&n.value) {
                    n.value = format!("{action}.{}", n.value);
                }
            };
            let action = a.spec.name.value.clone();
            for o in &mut a.spec.outputs {
                qualify(o, &action);
            }
            for (o, _) in &mut a.spec.result {
                qualify(o, &action);
            }
            for (o, _) in &mut a.spec.sets {
                qualify(o, &action);
            }
        }
    }

    /// Rule assignments: a rule on a topic gates it; on the standard
    /// Escalation topic, it gates the default escalation path.
    fn apply_conditions(
        &mut self,
        xml: &Xml<'_>,
        root: Node<'_, '_>,
        rules: &indexmap::IndexMap<String, ConditionSpec>,
    ) {
        for a in children(root, "ruleExpressionAssignments") {
            let (Some(rule), Some(target)) = (text(a, "ruleExpressionName"), text(a, "targetName")) else {
                continue;
            };
            let src = xml.src(a);
            let Some(cond) = rules.get(rule) else {
                self.errs
                    .push(src.error(format!("rule assignment names unknown rule expression '{rule}'")));
                continue;
            };
            if text(a, "targetType").is_some_and(|t| t != "Plugin") {
                self.notes.push(At::new(
                    format!("rule '{rule}' on action '{target}' is not modelled (only rules on topics are)"),
                    src,
                ));
                continue;
            }
            match self.topic_aliases.get(target).copied() {
                Some(ESCALATION_TOPIC) => {
                    let slot = self.escalation.get_or_insert(None);
                    *slot = Some(both(slot.take(), cond));
                }
                Some(i) => {
                    let t = &mut self.topics[i];
                    t.available_when = Some(both(t.available_when.take(), cond));
                }
                None => self.notes.push(At::new(
                    format!(
                        "rule '{rule}' is assigned to '{target}', which is not a topic of this agent: not modelled"
                    ),
                    src,
                )),
            }
        }
    }
}

/// `SvcCopilotTmpl__VerifyCustomer` -> `VerifyCustomer`: a standard
/// action's name without its namespace.
fn standard_name(name: &str) -> String {
    name.rsplit_once("__").map_or(name, |(_, n)| n).to_string()
}

/// Element text with its line wrapping folded (formatters wrap long text).
pub(super) fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
