//! Reporters (console, JUnit, JSON): consumers of [`RunResult`](crate::runner::RunResult)s. None of
//! them knows how a result was produced. Files are written through
//! [`atomic_write`] (see [`file`]), so that a crash never leaves a truncated
//! report behind.

pub mod console;
pub mod diff;
pub mod file;
pub mod json;
pub mod junit;
pub mod search;
pub mod xml;

pub use file::{atomic_write, refusal};
