//! Fast Leader Election (ZooKeeper's `FastLeaderElection`, `Vote`).
//!
//! Skeleton: the notification type is fixed here because the peer's message type carries it;
//! the election state machine itself lands with the FLE issue.

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
    pub sid: ServerId,
    /// The proposed leader's currentEpoch.
    pub peer_epoch: Epoch,
}
