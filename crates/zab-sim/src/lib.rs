//! The deterministic simulator: one thread, virtual time, one seeded ChaCha PRNG per run with
//! named sub-streams, network/disk/clock fault models, simulated clients and scenario files.
//!
//! Skeleton: lands with the simulator issue.
