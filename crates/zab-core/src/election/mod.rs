//! Fast Leader Election (ZooKeeper's `FastLeaderElection`, `Vote`, and the election half of
//! `QuorumCnxManager`).
//!
//! - [`Notification`] and [`ServerState`]: what travels on the election channel.
//! - [`vote`]: a vote, the order between votes (`totalOrderPredicate`) and the equality used
//!   to count them (`Vote.equals`).
//! - [`fle`]: the `lookForLeader` loop as a sans-IO state machine.
//! - [`cnxn`]: the connection manager's rules (one connection per pair, the higher id keeps
//!   it, one-slot send queues, and the 3.4.5 blocking connect as a bug switch).
//! - [`wire`]: a notification's bytes, for the real server.
//!
//! The receiver thread's replies (`WorkerReceiver`) live in the peer, because they depend on
//! the peer's role, not on the election's state.

pub mod cnxn;
pub mod fle;
pub mod vote;
pub mod wire;

#[cfg(test)]
mod tests;

pub use cnxn::ConnectionManager;
pub use fle::{ElectionAction, FastLeaderElection};
pub use vote::Vote;

use crate::ids::{Epoch, ServerId, Zxid};
use serde::{Deserialize, Serialize};

/// `QuorumPeer.ServerState`; the ordinal goes on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    Observing,
}

impl ServerState {
    /// The wire ordinal (`ServerState.ordinal()`).
    pub fn ordinal(self) -> i32 {
        match self {
            ServerState::Looking => 0,
            ServerState::Following => 1,
            ServerState::Leading => 2,
            ServerState::Observing => 3,
        }
    }

    /// Decode a wire ordinal; `None` for an unknown state (ZooKeeper drops such a message).
    pub fn from_ordinal(v: i32) -> Option<ServerState> {
        match v {
            0 => Some(ServerState::Looking),
            1 => Some(ServerState::Following),
            2 => Some(ServerState::Leading),
            3 => Some(ServerState::Observing),
            _ => None,
        }
    }
}

/// An election notification (the 3.5+ "version 2" format without the config bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Proposed leader.
    pub leader: ServerId,
    /// Proposed leader's last logged zxid.
    pub zxid: Zxid,
    /// The sender's logical clock (election round).
    pub election_epoch: u64,
    pub state: ServerState,
    /// The sender. The receiver trusts the connection, not this field (ZooKeeper takes the
    /// sid from the connection's handshake), so the peer overwrites it on receipt.
    pub sid: ServerId,
    /// The proposed leader's currentEpoch.
    pub peer_epoch: Epoch,
}

impl Notification {
    /// The vote this notification carries, as the receiver records it.
    pub fn vote(&self) -> Vote {
        Vote {
            leader: self.leader,
            zxid: self.zxid,
            election_epoch: self.election_epoch,
            peer_epoch: self.peer_epoch,
            state: self.state,
        }
    }
}
