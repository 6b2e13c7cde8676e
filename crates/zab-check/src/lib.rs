//! The oracle: reads histories (what clients saw, what servers did) and proves every promise
//! ZooKeeper makes was kept, or names the broken one with the smallest evidence.

// The input: histories.
pub mod history;

pub use history::History;
