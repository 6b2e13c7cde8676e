//! The history format (serde JSON, versioned): what the clients saw and what the servers did.
//!
//! Producers: the simulator, the real server's recorder, converters from other tools. The
//! checker depends on nothing else, so any history file goes through the same code.

use serde::{Deserialize, Serialize};
use zab_core::error::ErrorCode;
use zab_core::ids::{Millis, ServerId, SessionId, Zxid};
use zab_core::peer::ServerEvent;
use zab_core::request::{Request, Response};

/// Bumped on every incompatible change to the format.
pub const HISTORY_FORMAT_VERSION: u32 = 1;

/// A whole run's history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub version: u32,
    /// Client operations, in invocation order.
    pub ops: Vec<ClientOp>,
    /// Server events, in the order they happened (virtual time, then sequence).
    pub server_events: Vec<ServerRecord>,
    /// Faults the run injected, for reports.
    pub faults: Vec<FaultRecord>,
    /// Final per-server state after the run's quiet period, for convergence checks.
    pub final_states: Vec<FinalState>,
    /// Session handshakes as the clients saw them (absent from older histories).
    #[serde(default)]
    pub handshakes: Vec<HandshakeRecord>,
}

/// How a client operation ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// The server answered. `zxid` is the reply header's zxid.
    Ok { response: Response, zxid: Zxid },
    /// The server answered with an error: the operation definitely did not take effect
    /// (for writes) — except errors below that mean "unknown".
    Failed { error: ErrorCode, zxid: Zxid },
    /// No answer (connection loss, timeout): the operation may or may not have taken effect.
    Unknown,
}

/// One client operation: invocation and completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientOp {
    /// Index in `History::ops`.
    pub id: u64,
    /// The simulated client (a "process" in Jepsen's terms).
    pub client: u64,
    /// The session the op ran in, if connected.
    pub session: SessionId,
    /// The server the client was connected to when it issued the op.
    pub server: Option<ServerId>,
    pub invoke: Millis,
    /// `None` when the op never completed before the run ended (outcome Unknown).
    pub complete: Option<Millis>,
    pub request: Request,
    pub outcome: Outcome,
    /// Watch events the client received (in order) between this op's invoke and the next op's
    /// invoke; lets the checker test "watch before data".
    #[serde(default)]
    pub watch_events: Vec<WatchRecord>,
}

/// A watch event a client received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchRecord {
    pub at: Millis,
    pub event: zab_core::request::WatchEvent,
}

/// One server event with where and when it happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerRecord {
    pub at: Millis,
    pub server: ServerId,
    pub event: ServerEvent,
}

/// A client's session handshake: the server's answer to its `ConnectRequest`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandshakeRecord {
    /// When the client got the answer.
    pub at: Millis,
    pub client: u64,
    pub server: ServerId,
    /// The session granted (new or resumed), or the one the server said had expired.
    pub session: SessionId,
    /// The negotiated session timeout; 0 when the answer was "session expired" (the wire's
    /// `ConnectResponse` with a non-positive timeout).
    pub timeout_ms: u64,
}

/// A fault the run injected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub at: Millis,
    /// `crash`, `power_off`, `restart`, `partition`, …
    pub action: String,
    pub targets: Vec<ServerId>,
    /// Human-readable detail.
    pub detail: String,
}

/// A server's state at the end of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinalState {
    pub server: ServerId,
    pub alive: bool,
    pub last_applied: Zxid,
    pub digest: u64,
}
