//! ZooKeeper's protocols as pure state machines: no sockets, files, threads, clocks or ambient
//! randomness. A driver (the simulator in `zab-sim`, the real server in `zab-server`) feeds a
//! [`Peer`] inputs — messages, timers, disk completions, client requests — and carries out the
//! outputs it asks for.

// Identities, time and configuration.
pub mod bugs;
pub mod config;
pub mod ids;

// The client-facing vocabulary: requests, responses, error codes.
pub mod error;
pub mod request;

// Replicated state: transactions, the znode tree, sessions.
pub mod session;
pub mod tree;
pub mod txn;

// Durable formats: log records and snapshots.
pub mod persist;

// The protocol.
pub mod election;
pub mod peer;
pub mod quorum;
pub mod zab;

pub use bugs::{Bug, BugSet};
pub use config::Config;
pub use error::ErrorCode;
pub use ids::{Epoch, Millis, ServerId, SessionId, Zxid};
pub use peer::{Input, Output, Peer};
