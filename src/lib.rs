//! baton regression-tests how agentic call-center agents hand callers to
//! humans. It interprets Agentforce-style agent configs (topics,
//! instructions, actions, escalation settings) with a pure, deterministic
//! engine, plays scripted caller conversations against them, and reports
//! where a handoff happens before the required pre-work.
//!
//! Layout:
//! - [`agent`]: the agent model, its front ends (one per format) and the
//!   shared phases that compile it for the engine;
//! - [`files`]: safe reads and the project root a suite must stay inside;
//! - [`model`]: the YAML formats and their validation (file:line:col errors);
//! - [`policy`]: the instruction compiler (natural language to rules);
//! - [`nlu`]: tokenizer, topic classifier, request recogniser, slot extractors;
//! - [`engine`]: the interpreter, producing a [`engine::Trace`];
//! - [`transcript`]: the canonical text form of a trace;
//! - [`check`]: expectations against traces;
//! - [`runner`]: parallel, order-stable runs with golden transcripts;
//! - [`report`]: console, diff, JUnit and JSON reporters, and how their files are written;
//! - [`lint`]: warnings about an agent, shown by every command;
//! - [`explain`]: what an agent compiled to;
//! - [`testing_center`]: Salesforce Testing Center specs into suites and back;
//! - [`xml`]: Salesforce XML read with positions (metadata, Testing Center);
//! - [`cli`]: the `baton` command line.

pub mod agent;
pub mod check;
pub mod cli;
pub mod diag;
pub mod engine;
pub mod explain;
pub mod explore;
pub mod files;
pub mod lint;
pub mod model;
pub mod nlu;
pub mod policy;
pub mod report;
pub mod runner;
pub mod testing_center;
pub mod transcript;
pub mod xml;
