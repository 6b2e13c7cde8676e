//! Sequential specifications for the linearizability engine.

pub mod kv;
pub mod register;
pub mod znode;
