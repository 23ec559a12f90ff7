//! Which of the escalation paths `explain` lists a caller can take, found
//! by verify's bounded exhaustive search over the same engine and caller
//! alphabet, with one internal property per path ([`PropertyKind::Avoids`]).
//! A path is reachable when the search breaks its property (breadth-first,
//! so with a shortest caller script), unreachable only when the search
//! closed (every reachable state seen) without doing so, and otherwise not
//! shown reachable within the turns searched.

use std::sync::Arc;

use crate::check::property::takes;
use crate::engine::{Engine, Trace};
use crate::explore::verify::{self, VerifyOptions};
use crate::explore::{Branching, Stats, caller_model, coverage_warnings};
use crate::files::Root;
use crate::model::property::{Origin, Property, PropertyKind, Route};
use crate::model::{Agent, Choice, Event, Suite};
use crate::nlu::Scratch;

/// How far `explain` searches.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Longest caller script, in turns.
    pub depth: u32,
    /// Most distinct states stored: past it the search stops.
    pub max_states: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            depth: 12,
            max_states: 100_000,
        }
    }
}

/// What the search found of one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// A shortest caller script that takes it: its turns, and the script in
    /// words (events, and the choices the engine made in brackets).
    Reachable { turns: usize, script: String },
    /// The search closed without taking it.
    Unreachable,
    /// The search stopped at its depth or state bound without taking it.
    NotShown,
}

/// The search over an agent's paths.
#[derive(Clone, Debug)]
pub struct Searched {
    /// Per path asked about, in order.
    pub reach: Vec<Reach>,
    pub stats: Stats,
    /// The bounds it ran with: the state limit lowered, when the caller
    /// model is large, to keep its transitions within [`MAX_TRANSITIONS`].
    pub opts: Options,
    /// The state limit asked for, when it was lowered.
    pub lowered_from: Option<u64>,
    /// What the caller model cannot do: an unreachable path is unreachable
    /// over this model.
    pub caller_gaps: Vec<String>,
    /// Why nothing was searched (the agent is too large, or the engine
    /// panicked): nothing is known.
    pub not_searched: Option<String>,
}

/// The most topics and slots together that `explain` builds a caller model
/// for: building it reads every representative line for every slot, so it
/// grows with their square (30,000 slots take minutes). Real agents have a
/// few dozen.
pub const MAX_TOPICS_AND_SLOTS: usize = 2_000;

/// The most transitions a search should take, roughly: the state limit is
/// lowered to this over the number of caller events.
pub const MAX_TRANSITIONS: u64 = 20_000_000;

/// Searches `agent` with its default fixtures, as `verify` would with a
/// suite that overrides none and has no conversations. `paths`: each
/// route, and for a keypad shortcut the keys.
pub fn search(agent: &Arc<Agent>, paths: &[(Route, Option<&str>)], opts: &Options) -> Searched {
    let nothing = |why: String| Searched {
        reach: vec![Reach::NotShown; paths.len()],
        stats: Stats::default(),
        opts: *opts,
        lowered_from: None,
        caller_gaps: Vec::new(),
        not_searched: Some(why),
    };
    let size = agent.topics.len() + agent.slots.len();
    if size > MAX_TOPICS_AND_SLOTS {
        return nothing(format!(
            "the agent has {size} topics and slots, more than explain searches ({MAX_TOPICS_AND_SLOTS})"
        ));
    }
    let mut routes: Vec<Route> = Vec::new();
    for (r, _) in paths {
        if !routes.contains(r) {
            routes.push(*r);
        }
    }
    let properties = routes
        .iter()
        .map(|r| Property {
            name: format!("{r:?}"),
            kind: PropertyKind::Avoids(*r),
            origin: Origin::Declared { line: 0 },
            assumptions: Vec::new(),
        })
        .collect();
    let suite = Suite {
        name: format!("explain {}", agent.name),
        path: agent.path.clone(),
        root: Root::anywhere(),
        description: None,
        agent: Arc::clone(agent),
        tags: Vec::new(),
        fixtures: Arc::new(agent.fixtures.clone()),
        properties,
        conversations: Vec::new(),
        caller: Arc::default(),
    };
    let searched = crate::runner::quietly(|| {
        let alphabet = caller_model(&suite);
        let events = alphabet.events.len().max(1) as u64;
        let max_states = opts.max_states.min((MAX_TRANSITIONS / events).max(1));
        let vopts = VerifyOptions {
            depth: opts.depth,
            max_states,
            reduce: true,
            // The LLM obeys the instructions baton compiled, as in verify's verdicts.
            unbound: false,
            // States one by one: explain's --max-states counts states.
            symbolic: false,
        };
        let found = verify::search(&suite, &suite.properties, alphabet, &vopts, &|_| {});
        let reach: Vec<Reach> = paths
            .iter()
            .map(|(route, keys)| {
                let at = routes.iter().position(|r| r == route).unwrap_or(0);
                match &found.paths[at] {
                    Some((evs, bits)) => {
                        let mut events: Vec<Event> = evs.iter().map(|&e| alphabet.events[e].clone()).collect();
                        // The search plays one of the keys that read alike:
                        // the others are confirmed on the same script.
                        if let (Route::Keypad, Some(keys), Some(last)) = (route, keys, events.last_mut()) {
                            *last = Event::Dtmf((*keys).into());
                        }
                        match replay(&suite, &events, bits, *route) {
                            Some(choices) => Reach::Reachable {
                                turns: events.len(),
                                script: script(&suite.agent, &events, &choices),
                            },
                            None => Reach::NotShown,
                        }
                    }
                    None if found.stats.closed => Reach::Unreachable,
                    None => Reach::NotShown,
                }
            })
            .collect();
        (reach, found.stats, coverage_warnings(&suite), max_states)
    });
    match searched {
        Ok((reach, stats, caller_gaps, max_states)) => Searched {
            reach,
            stats,
            opts: Options { max_states, ..*opts },
            lowered_from: (max_states < opts.max_states).then_some(opts.max_states),
            caller_gaps,
            not_searched: None,
        },
        Err(msg) => nothing(format!("the search broke down (the engine panicked: {msg})")),
    }
}

/// Plays the script with the choice words; the choices made, when its last
/// turn takes the route.
fn replay(suite: &Suite, events: &[Event], bits: &[u32], route: Route) -> Option<Vec<(u32, Choice)>> {
    let engine = Engine::new(&suite.agent, &suite.fixtures);
    let mut chooser = Branching::per_turn(bits).recording();
    let mut state = engine.start();
    let mut trace = Trace::default();
    let mut scratch = Scratch::default();
    for ev in events {
        engine.step(&mut state, ev, &mut trace, &mut scratch, &mut chooser);
    }
    let last = trace.turns.last()?;
    takes(route, &trace, last).then(|| chooser.record.unwrap_or_default())
}

/// Longest caller line shown, in characters.
const BRIEF: usize = 60;

/// The script in one line: `"hello", (silence) ['createcase' fails]`.
fn script(agent: &Agent, events: &[Event], choices: &[(u32, Choice)]) -> String {
    let mut out = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let mut one = match ev {
            Event::Caller(t) => {
                if t.chars().count() > BRIEF {
                    let cut: String = t.chars().take(BRIEF - 3).collect();
                    format!("{:?}", cut + "...")
                } else {
                    format!("{t:?}")
                }
            }
            Event::Silence => "(silence)".to_string(),
            Event::Dtmf(d) => format!("(keypad {d})"),
            Event::Hangup => "(hangup)".to_string(),
        };
        if let Some((_, c)) = choices.iter().find(|(t, _)| *t as usize == i) {
            let mut what = Vec::new();
            match c.request {
                Some(true) => what.push("taken as a request for a human".to_string()),
                Some(false) => what.push("not taken as a request for a human".to_string()),
                None => {}
            }
            if let Some(t) = c.topic {
                what.push(format!("classified as {}", agent.topics[t as usize].name));
            }
            for &a in &c.fail {
                what.push(format!("'{}' fails", agent.actions[a as usize].name));
            }
            for &a in &c.succeed {
                what.push(format!("'{}' succeeds", agent.actions[a as usize].name));
            }
            for &a in &c.llm_calls {
                what.push(format!("the LLM calls '{}' unasked", agent.actions[a as usize].name));
            }
            if c.llm_escalates {
                what.push("the LLM hands off unasked".to_string());
            }
            if !what.is_empty() {
                one.push_str(&format!(" [{}]", what.join("; ")));
            }
        }
        out.push(one);
    }
    out.join(", ")
}
