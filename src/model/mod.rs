//! The input formats: agent configs and caller suites. [`raw`] holds the
//! YAML as written (with source positions); [`agent`] and [`suite`] hold the
//! validated, resolved forms the engine and runner use.

/// The compiled agent, where the suite formats expect it.
pub use crate::agent::compiled as agent;
mod build;
pub(crate) mod name;
pub mod property;
pub mod raw;
mod refs;
pub mod suite;
pub mod yaml;

pub use agent::{Agent, Fixtures};
pub use property::{Property, PropertyKind};
pub use suite::{Check, Choice, Conversation, Event, Loaded, Suite, load_suites, load_suites_with};
