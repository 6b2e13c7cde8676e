//! The oracle: reads histories (what clients saw, what servers did) and proves every promise
//! ZooKeeper makes was kept, or names the broken one with the smallest evidence.
//!
//! The checker depends on histories only, never on the simulator: a history from the real
//! server, or another tool's log, goes through the same code.

// The input: histories, ours and other tools'.
pub mod formats;
pub mod history;

// Linearizability: a generic search engine and the sequential specifications it runs.
pub mod lin;
pub mod models;

// ZooKeeper's promises: client-visible guarantees and replica invariants.
pub mod replica;
pub mod zk;

// Conclusions and how they are shown.
pub mod report;
pub mod verdict;

// Entry points: our histories, other tools' histories.
mod check;
pub mod external;
pub mod synth;

pub use check::{check_history, CheckError, CheckOptions};
pub use history::History;
pub use verdict::{Property, Report, Status, Verdict, Violation};
