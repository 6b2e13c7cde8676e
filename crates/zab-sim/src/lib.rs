//! The deterministic simulator: one thread, virtual time, one seeded ChaCha PRNG per run with
//! named sub-streams, network/disk/clock fault models, simulated clients and scenario files.
//!
//! A run is a pure function of (scenario, seed, binary): every decision is drawn from a named
//! stream of [`prng::Prng`], every processed event is folded into [`trace::Trace`]'s stable
//! hash, and nothing reads a wall clock or iterates a hash map.

// Foundations: time, randomness, hashing, the trace.
pub mod clock;
pub mod dist;
pub mod hash;
pub mod prng;
pub mod queue;
pub mod time;
pub mod trace;

// What to simulate.
pub mod scenario;

// The world around the peers.
pub mod disk;
pub mod net;

// Who talks to the cluster.
pub mod client;

// Running it, and judging the run.
pub mod engine;
pub mod fixed_leader;
pub mod report;
pub mod verdict;

pub use engine::{run, ControlError, NodeState, Process, RunOutput, Sim};

/// Parse scenario text and run it with `seed` (hash-only trace): the one-call harness for
/// protocol tests that want a whole simulated ensemble.
pub fn run_text(text: &str, seed: u64) -> Result<RunOutput, ScenarioError> {
    let scenario = scenario::parse("<inline>", "inline", text)?;
    Ok(run(scenario, seed, trace::Trace::new()))
}
pub use scenario::{Scenario, ScenarioError};
pub use time::{SimTime, Span};
