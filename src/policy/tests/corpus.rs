//! The labelled corpus (`src/policy/corpus/instructions.tsv`): every entry
//! is compiled against one set of names and its reading compared with the
//! label, in the notation of [`notation`]. An entry may carry a fourth
//! column, baton's own reading where it knowingly differs from the label;
//! such a misread must never be dangerous (see [`dangerous`]).

use super::super::*;

const CORPUS: &str = include_str!("../corpus/instructions.tsv");

pub struct Universe {
    pub slots: Vec<String>,
    pub actions: Vec<String>,
    pub labels: Vec<String>,
    pub topics: Vec<String>,
    pub topic_actions: Vec<ActionId>,
    pub aliases: Vec<String>,
}

/// The names every entry is compiled against; the instruction belongs to
/// topic Card_Services.
pub fn universe() -> Universe {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let actions: Vec<(&str, &str)> = vec![
        ("createcase", ""),
        ("verify_account", ""),
        ("verify_identity", ""),
        ("issue_refund", ""),
        ("block_card", ""),
        ("lookup_statement", ""),
        ("lookup_order", ""),
        ("Get_Customer_Details", "Get Customer Details"),
        ("Get_Sessions", "Get Sessions"),
        ("Create_Booking", "Create Booking"),
        ("Get_Experience_Details", "Get Experience Details"),
        ("Generate_Personalized_Schedule", "Generate Personalized Schedule"),
        ("search_knowledge", ""),
        ("escalate_case", ""),
        ("collect_info", ""),
        ("reset_password", ""),
        ("cancel_order", ""),
        ("SendEmailVerificationCode", ""),
        ("send_sms_code", "Send SMS Verification"),
        ("Verify_SMS_Code", "Verify SMS Code MFA"),
        ("fetch_customer", ""),
        ("classify_issue", ""),
        ("record_issue", ""),
        ("note_human_request", ""),
        ("note_failed_attempt", ""),
        ("create_case", ""),
        ("set_record_id", ""),
        ("check_dependencies", ""),
        ("delete_record", ""),
    ];
    let names: Vec<String> = actions.iter().map(|a| a.0.to_string()).collect();
    let in_topic = [
        "createcase",
        "verify_identity",
        "issue_refund",
        "block_card",
        "lookup_statement",
        "lookup_order",
        "cancel_order",
        "reset_password",
        "search_knowledge",
        "collect_info",
    ];
    Universe {
        slots: s(&[
            "email",
            "phone",
            "account_number",
            "order_number",
            "membership_number",
            "verification_code",
            "card_number",
            "date",
            "username",
            "zip_code",
        ]),
        topic_actions: names
            .iter()
            .enumerate()
            .filter(|(_, n)| in_topic.contains(&n.as_str()))
            .map(|(i, _)| i as ActionId)
            .collect(),
        labels: actions.iter().map(|a| a.1.to_string()).collect(),
        actions: names,
        topics: s(&[
            "Case_Management",
            "Billing",
            "Card_Services",
            "Identity_Verification",
            "General_FAQ",
        ]),
        aliases: s(&["escalate_to_human"]),
    }
}

impl Universe {
    pub fn names(&self) -> Names<'_> {
        Names {
            slots: &self.slots,
            actions: &self.actions,
            action_labels: &self.labels,
            topics: &self.topics,
            this_topic: Some(2),
            topic_actions: &self.topic_actions,
            escalation_aliases: &self.aliases,
        }
    }
}

pub struct Entry<'c> {
    pub line: usize,
    pub text: &'c str,
    pub expected: &'c str,
    pub source: &'c str,
    /// baton's reading where it knowingly differs.
    pub known: Option<&'c str>,
}

pub fn entries() -> Vec<Entry<'static>> {
    CORPUS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1) // the header
        .map(|(i, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() >= 3, "corpus line {}: expected text, reading, source", i + 1);
            Entry {
                line: i + 1,
                text: cols[0],
                expected: cols[1].trim(),
                source: cols[2],
                known: cols.get(3).map(|k| k.trim()).filter(|k| !k.is_empty()),
            }
        })
        .collect()
}

/// baton's reading of an entry in the notation, or `error:KIND` for a name
/// that does not resolve.
pub fn reading(u: &Universe, text: &str) -> String {
    let names = u.names();
    match compile(text, &names) {
        Ok(c) => notation(&c, &names),
        Err(e) => format!("error:{}", e.kind),
    }
}

fn items(r: &str) -> Vec<&str> {
    r.split(" ; ").map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// A guard item without its exceptions, and its exceptions.
fn guard_parts(item: &str) -> Option<(&str, Vec<&str>)> {
    if !(item.starts_with("require ") || item.starts_with("pre ")) {
        return None;
    }
    Some(match item.split_once(" unless ") {
        Some((base, unless)) => (base, unless.split('|').collect()),
        None => (item, Vec::new()),
    })
}

/// A guard's kind ("require", "pre A") and its requirements.
fn alternatives(base: &str) -> Option<(String, Vec<&str>)> {
    if let Some(rest) = base.strip_prefix("require any(") {
        return Some(("require".into(), rest.trim_end_matches(')').split('|').collect()));
    }
    if let Some(rest) = base.strip_prefix("require ") {
        return Some(("require".into(), vec![rest]));
    }
    let rest = base.strip_prefix("pre ")?;
    let (action, needs) = rest.split_once(" needs ")?;
    Some((format!("pre {action}"), needs.split('+').collect()))
}

/// Whether `got` reads a guard stronger than `expected` does: a guard (or
/// precondition) the text does not state ("or" read as "and", a negation
/// ignored), an exception dropped, or a clause that could open a way to a
/// human claimed away (the label has `partly!` and the reading binds the
/// guard with no assumption).
pub fn dangerous(expected: &str, got: &str) -> bool {
    let (e, g) = (items(expected), items(got));
    let e_guards: Vec<(&str, Vec<&str>)> = e.iter().filter_map(|i| guard_parts(i)).collect();
    let g_guards: Vec<(&str, Vec<&str>)> = g.iter().filter_map(|i| guard_parts(i)).collect();
    for (base, unless) in &g_guards {
        if let Some((_, want)) = e_guards.iter().find(|(b, _)| b == base) {
            if want.iter().any(|w| !unless.contains(w)) {
                return true;
            }
            continue;
        }
        // A guard the text does not state is stronger unless a stated one
        // entails it: `require X` entails `require any(X|Y)`, and a
        // precondition entails one that needs less.
        let entailed = e_guards.iter().any(|(b, want)| {
            want.is_empty()
                && match (alternatives(b), alternatives(base)) {
                    (Some((ek, es)), Some((gk, gs))) if ek == gk && ek.starts_with("require") => {
                        es.iter().all(|x| gs.contains(x))
                    }
                    (Some((ek, es)), Some((gk, gs))) if ek == gk => gs.iter().all(|x| es.contains(x)),
                    _ => false,
                }
        });
        if !entailed || !unless.is_empty() {
            return true;
        }
    }
    let opens = |v: &[&str]| v.iter().any(|i| i.starts_with("partly!") || *i == "unbound!");
    !g_guards.is_empty() && opens(&e) && !opens(&g)
}

/// Whether `got` misses a way to a human the text opens (an escalation on
/// an event, a count or a failure, or an unmodelled clause that opens one)
/// without saying so: verdicts on the topic's guards would then claim too much.
pub fn missed_escape(expected: &str, got: &str) -> bool {
    let (e, g) = (items(expected), items(got));
    let escape = |i: &&&str| i.starts_with("escalate when") || i.starts_with("escalate on fail");
    let opens = |v: &[&str]| v.iter().any(|i| i.starts_with("partly!") || *i == "unbound!");
    let missing = e.iter().filter(escape).any(|i| !g.contains(i));
    (missing && !opens(&g)) || (opens(&e) && !opens(&g) && !dangerous(expected, got))
}

#[test]
fn corpus_readings() {
    let u = universe();
    let entries = entries();
    assert!(
        entries.len() >= 150,
        "the corpus has {} entries; at least 150 expected",
        entries.len()
    );
    let (mut agree, mut known, mut bad) = (0, 0, Vec::new());
    for e in &entries {
        let got = reading(&u, e.text);
        if got == e.expected {
            agree += 1;
            continue;
        }
        match e.known {
            Some(k) if k == got && !dangerous(e.expected, k) && !missed_escape(e.expected, k) => known += 1,
            _ => bad.push(format!(
                "line {}: {:?}\n    expected: {}\n    got:      {}\n    ({})",
                e.line, e.text, e.expected, got, e.source
            )),
        }
    }
    eprintln!(
        "corpus: {} entries, {agree} read exactly as labelled, {known} known misreads (none dangerous)",
        entries.len()
    );
    assert!(
        bad.is_empty(),
        "{} entries read otherwise:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_danger_classifier() {
    assert!(dangerous("none", "require slot:email"));
    assert!(dangerous(
        "require any(slot:email|slot:phone)",
        "require slot:email ; require slot:phone"
    ));
    assert!(dangerous(
        "require action:createcase unless says(emergency)",
        "require action:createcase"
    ));
    assert!(dangerous(
        "require action:createcase ; partly! \"for premium customers\"",
        "require action:createcase"
    ));
    assert!(!dangerous(
        "require slot:email ; require slot:phone",
        "require any(slot:email|slot:phone)"
    ));
    assert!(!dangerous(
        "pre issue_refund needs action:verify_account",
        "run issue_refund"
    ));
    assert!(missed_escape("escalate when count(requests)>=3", "unbound"));
    assert!(!missed_escape("escalate when count(requests)>=3", "unbound!"));
}

/// Prints baton's reading of every entry, one a line, for the figures in
/// the report (`cargo test --lib print_corpus_readings -- --ignored --nocapture`).
#[test]
#[ignore]
fn print_corpus_readings() {
    let u = universe();
    for e in entries() {
        println!("READING\t{}", reading(&u, e.text));
    }
}
