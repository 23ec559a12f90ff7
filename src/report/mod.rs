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

/// An id for one run of baton, written into every report of that run so
/// that a reader can tell which reports belong together: the UTC time, the
/// process id and random hex digits (against two runs in one second under
/// a reused pid, as in containers where every run is pid 1). Nothing that
/// affects a result depends on it.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    // std's hasher keys are random per process; no dependency needed.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = chrono::Utc::now();
    h.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    format!(
        "{}-{}-{:06x}",
        now.format("%Y%m%dT%H%M%SZ"),
        std::process::id(),
        h.finish() & 0xff_ffff
    )
}
