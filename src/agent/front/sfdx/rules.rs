//! Rule expressions: named conditions on variables (every condition must
//! hold), which gate the topics they are assigned to.

use indexmap::IndexMap;

use roxmltree::Node;

use crate::agent::spec::{At, CmpOp, ComparisonSpec, CondSpec, ConditionSpec, Name};
use crate::xml::{Xml, children, text};

/// The rule expressions, by name, in file order (variables they introduce
/// take that order).
pub(super) fn conditions(
    xml: &Xml<'_>,
    root: Node<'_, '_>,
    notes: &mut Vec<At<String>>,
) -> IndexMap<String, ConditionSpec> {
    let mut out = IndexMap::new();
    for r in children(root, "ruleExpressions") {
        let Some(name) = text(r, "expressionName") else {
            continue;
        };
        let src = xml.src(r);
        if let Some(e) = text(r, "expression").filter(|e| *e != name) {
            notes.push(At::new(
                format!("rule '{name}': custom logic '{e}' is not modelled; every condition is required"),
                src.clone(),
            ));
        }
        if text(r, "expressionType").is_some_and(|t| t != "sel") {
            notes.push(At::new(
                format!("rule '{name}': expression type is not modelled"),
                src.clone(),
            ));
        }
        let mut all = Vec::new();
        for c in children(r, "conditions") {
            let Some(left) = text(c, "leftOperand") else { continue };
            let op = match text(c, "operator") {
                Some("equal") => CmpOp::Eq,
                Some("notEqual") => CmpOp::Ne,
                Some("lessThan") => CmpOp::Lt,
                Some("lessThanOrEqual") => CmpOp::Le,
                Some("greaterThan") => CmpOp::Gt,
                Some("greaterThanOrEqual") => CmpOp::Ge,
                Some("isEmpty") => CmpOp::IsEmpty,
                Some("isNotEmpty") => CmpOp::IsNotEmpty,
                other => {
                    // Leaving a comparison out opens the topic more often:
                    // the search then explores more, never less.
                    notes.push(At::new(
                        format!(
                            "rule '{name}': operator '{}' is not modelled; the comparison is left out",
                            other.unwrap_or("")
                        ),
                        xml.src(c),
                    ));
                    continue;
                }
            };
            all.push(ComparisonSpec {
                variable: Name::new(left.to_string(), xml.src(c)),
                op,
                value: text(c, "rightOperandValue").map(str::to_string),
            });
        }
        out.insert(
            name.to_string(),
            ConditionSpec {
                name: Name::new(name.to_string(), src),
                expr: CondSpec::All(all.into_iter().map(CondSpec::Cmp).collect()),
            },
        );
    }
    out
}

/// Two rules on one target: both must hold.
pub(super) fn both(a: Option<ConditionSpec>, b: &ConditionSpec) -> ConditionSpec {
    match a {
        None => b.clone(),
        Some(a) => ConditionSpec {
            name: Name::new(format!("{} and {}", a.name.value, b.name.value), a.name.src.clone()),
            expr: CondSpec::All(vec![a.expr, b.expr.clone()]),
        },
    }
}
