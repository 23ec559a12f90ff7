//! The input formats: agent configs and caller suites. [`raw`] holds the
//! YAML as written (with source positions); [`agent`] and [`suite`] hold the
//! validated, resolved forms the engine and runner use.

pub mod agent;
mod build;
mod name;
pub mod property;
pub mod raw;
mod refs;
pub mod suite;
pub mod yaml;

pub use agent::{Agent, Fixtures};
pub use property::{Property, PropertyKind};
pub use suite::{Check, Choice, Conversation, Event, Suite, load_suites};
