//! Quorum packets (`QuorumPacket` with the type codes of `Leader.java`).

use crate::ids::Zxid;
use serde::{Deserialize, Serialize};

/// A packet on the quorum channel. Skeleton: filled in by the ZAB issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuorumPacket {
    Ping { zxid: Zxid },
}

impl QuorumPacket {
    /// ZooKeeper's numeric packet type.
    pub fn code(&self) -> i32 {
        match self {
            QuorumPacket::Ping { .. } => 5,
        }
    }
}
