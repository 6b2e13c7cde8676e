//! Quorum packets: ZooKeeper's `QuorumPacket { type, zxid, data, authinfo }` with the type codes
//! of `Leader.java`, one enum variant per type and a typed payload instead of a byte buffer.
//!
//! The wire zxid of every packet is available through [`QuorumPacket::zxid`], so traces read
//! like ZooKeeper's logs (`PROPOSAL 0x100000003`).

use crate::ids::{Epoch, ServerId, SessionId, Zxid};
use crate::request::{Id, Request};
use crate::txn::Txn;
use serde::{Deserialize, Serialize};

/// The ZAB protocol version a 3.4+ learner and leader announce (`0x10000`).
pub const PROTOCOL_VERSION: i32 = 0x10000;

/// `Leader.REQUEST` … `Leader.INFORMANDACTIVATE`.
pub mod code {
    pub const REQUEST: i32 = 1;
    pub const PROPOSAL: i32 = 2;
    pub const ACK: i32 = 3;
    pub const COMMIT: i32 = 4;
    pub const PING: i32 = 5;
    pub const REVALIDATE: i32 = 6;
    pub const SYNC: i32 = 7;
    pub const INFORM: i32 = 8;
    pub const COMMITANDACTIVATE: i32 = 9;
    pub const NEWLEADER: i32 = 10;
    pub const FOLLOWERINFO: i32 = 11;
    pub const UPTODATE: i32 = 12;
    pub const DIFF: i32 = 13;
    pub const TRUNC: i32 = 14;
    pub const SNAP: i32 = 15;
    pub const OBSERVERINFO: i32 = 16;
    pub const LEADERINFO: i32 = 17;
    pub const ACKEPOCH: i32 = 18;
    pub const INFORMANDACTIVATE: i32 = 19;
}

/// What a learner forwards to the leader in a REQUEST. ZooKeeper forwards the raw request
/// bytes with its op code; `createSession` (op -10) is not a client `Request`, so it has its own
/// variant here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForwardedOp {
    /// A new session asked for by a client connected to the learner.
    CreateSession { timeout_ms: i32 },
    /// A client write, `closeSession`, or `sync`.
    Client(Request),
}

/// One session touch carried by a learner's PING reply (`sessionId`, `timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionTouch {
    pub session: SessionId,
    pub timeout_ms: i32,
}

/// A packet on the quorum channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuorumPacket {
    /// 1: a client write (or sync / session op) forwarded by a learner.
    Request {
        session: SessionId,
        cxid: i32,
        op: ForwardedOp,
        auth: Vec<Id>,
    },
    /// 2: a transaction to log; the wire zxid is the transaction's.
    Proposal(Txn),
    /// 3: logged and synced up to `zxid`; also acks NEWLEADER (zxid = (newEpoch, 0)) and
    /// UPTODATE.
    Ack { zxid: Zxid },
    /// 4: commit `zxid`.
    Commit { zxid: Zxid },
    /// 5: from the leader, `zxid` is its last processed zxid and `touches` is empty; a learner
    /// echoes it with the sessions its clients touched since the last ping.
    Ping {
        zxid: Zxid,
        touches: Vec<SessionTouch>,
    },
    /// 6, learner → leader: is `session` still valid?
    Revalidate { session: SessionId, timeout_ms: i32 },
    /// 6, leader → learner: the answer.
    RevalidateReply { session: SessionId, valid: bool },
    /// 7: the `sync` this learner forwarded has been reached; `zxid` is the leader's last
    /// committed zxid at that moment.
    Sync { zxid: Zxid },
    /// 8: a committed transaction, for an observer (observers never see PROPOSAL).
    Inform(Txn),
    /// 9: commit of a reconfiguration (unused: we do not implement reconfig).
    CommitAndActivate {
        zxid: Zxid,
        designated_leader: ServerId,
    },
    /// 10: end of the synchronisation stream; zxid = (newEpoch, 0).
    NewLeader { zxid: Zxid },
    /// 11: a follower introduces itself; zxid = (acceptedEpoch, 0).
    FollowerInfo {
        sid: ServerId,
        accepted_epoch: Epoch,
        protocol_version: i32,
    },
    /// 12: start serving.
    UpToDate,
    /// 13: proposals + commits follow; zxid is the leader's last committed zxid.
    Diff { zxid: Zxid },
    /// 14: truncate your log so that `zxid` is its last entry.
    Trunc { zxid: Zxid },
    /// 15: a full snapshot (`persist::encode_snapshot` bytes) taken at `zxid`.
    Snap { zxid: Zxid, snapshot: Vec<u8> },
    /// 16: an observer introduces itself; zxid = (acceptedEpoch, 0).
    ObserverInfo {
        sid: ServerId,
        accepted_epoch: Epoch,
        protocol_version: i32,
    },
    /// 17: the epoch the leader proposes; zxid = (newEpoch, 0).
    LeaderInfo {
        new_epoch: Epoch,
        protocol_version: i32,
    },
    /// 18: zxid = the learner's last logged zxid; `current_epoch` is `None` (ZooKeeper's -1)
    /// when the learner had already accepted this epoch and so must not count as an ack.
    AckEpoch {
        last_zxid: Zxid,
        current_epoch: Option<Epoch>,
    },
    /// 19: inform-and-activate of a reconfiguration (unused).
    InformAndActivate {
        txn: Txn,
        designated_leader: ServerId,
    },
}

impl QuorumPacket {
    /// ZooKeeper's numeric packet type.
    pub fn code(&self) -> i32 {
        match self {
            QuorumPacket::Request { .. } => code::REQUEST,
            QuorumPacket::Proposal(_) => code::PROPOSAL,
            QuorumPacket::Ack { .. } => code::ACK,
            QuorumPacket::Commit { .. } => code::COMMIT,
            QuorumPacket::Ping { .. } => code::PING,
            QuorumPacket::Revalidate { .. } | QuorumPacket::RevalidateReply { .. } => {
                code::REVALIDATE
            }
            QuorumPacket::Sync { .. } => code::SYNC,
            QuorumPacket::Inform(_) => code::INFORM,
            QuorumPacket::CommitAndActivate { .. } => code::COMMITANDACTIVATE,
            QuorumPacket::NewLeader { .. } => code::NEWLEADER,
            QuorumPacket::FollowerInfo { .. } => code::FOLLOWERINFO,
            QuorumPacket::UpToDate => code::UPTODATE,
            QuorumPacket::Diff { .. } => code::DIFF,
            QuorumPacket::Trunc { .. } => code::TRUNC,
            QuorumPacket::Snap { .. } => code::SNAP,
            QuorumPacket::ObserverInfo { .. } => code::OBSERVERINFO,
            QuorumPacket::LeaderInfo { .. } => code::LEADERINFO,
            QuorumPacket::AckEpoch { .. } => code::ACKEPOCH,
            QuorumPacket::InformAndActivate { .. } => code::INFORMANDACTIVATE,
        }
    }

    /// ZooKeeper's name for the type (`LearnerHandler.packetToString`).
    pub fn name(&self) -> &'static str {
        code_name(self.code()).unwrap_or("UNKNOWN")
    }

    /// The `zxid` field as ZooKeeper would put it on the wire.
    pub fn zxid(&self) -> Zxid {
        match self {
            QuorumPacket::Proposal(txn) | QuorumPacket::Inform(txn) => txn.zxid(),
            QuorumPacket::InformAndActivate { txn, .. } => txn.zxid(),
            QuorumPacket::Ack { zxid }
            | QuorumPacket::Commit { zxid }
            | QuorumPacket::Ping { zxid, .. }
            | QuorumPacket::Sync { zxid }
            | QuorumPacket::CommitAndActivate { zxid, .. }
            | QuorumPacket::NewLeader { zxid }
            | QuorumPacket::Diff { zxid }
            | QuorumPacket::Trunc { zxid }
            | QuorumPacket::Snap { zxid, .. } => *zxid,
            QuorumPacket::FollowerInfo { accepted_epoch, .. }
            | QuorumPacket::ObserverInfo { accepted_epoch, .. } => Zxid::new(*accepted_epoch, 0),
            QuorumPacket::LeaderInfo { new_epoch, .. } => Zxid::new(*new_epoch, 0),
            QuorumPacket::AckEpoch { last_zxid, .. } => *last_zxid,
            // REQUEST, REVALIDATE and UPTODATE carry no meaningful zxid (ZooKeeper sends -1 or 0).
            QuorumPacket::Request { .. }
            | QuorumPacket::Revalidate { .. }
            | QuorumPacket::RevalidateReply { .. }
            | QuorumPacket::UpToDate => Zxid::ZERO,
        }
    }
}

/// The name of a packet type code, `None` for codes ZooKeeper does not define.
pub fn code_name(code: i32) -> Option<&'static str> {
    Some(match code {
        code::REQUEST => "REQUEST",
        code::PROPOSAL => "PROPOSAL",
        code::ACK => "ACK",
        code::COMMIT => "COMMIT",
        code::PING => "PING",
        code::REVALIDATE => "REVALIDATE",
        code::SYNC => "SYNC",
        code::INFORM => "INFORM",
        code::COMMITANDACTIVATE => "COMMITANDACTIVATE",
        code::NEWLEADER => "NEWLEADER",
        code::FOLLOWERINFO => "FOLLOWERINFO",
        code::UPTODATE => "UPTODATE",
        code::DIFF => "DIFF",
        code::TRUNC => "TRUNC",
        code::SNAP => "SNAP",
        code::OBSERVERINFO => "OBSERVERINFO",
        code::LEADERINFO => "LEADERINFO",
        code::ACKEPOCH => "ACKEPOCH",
        code::INFORMANDACTIVATE => "INFORMANDACTIVATE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Millis;
    use crate::txn::{TxnBody, TxnHeader};

    fn txn(zxid: Zxid) -> Txn {
        Txn {
            header: TxnHeader {
                session: SessionId(1),
                cxid: 1,
                zxid,
                time: Millis(0),
            },
            body: TxnBody::Delete { path: "/a".into() },
        }
    }

    #[test]
    fn codes_match_leader_java() {
        let z = Zxid::new(Epoch(2), 0);
        let cases: Vec<(QuorumPacket, i32)> = vec![
            (
                QuorumPacket::Request {
                    session: SessionId(1),
                    cxid: 0,
                    op: ForwardedOp::CreateSession { timeout_ms: 1 },
                    auth: vec![],
                },
                1,
            ),
            (QuorumPacket::Proposal(txn(z)), 2),
            (QuorumPacket::Ack { zxid: z }, 3),
            (QuorumPacket::Commit { zxid: z }, 4),
            (
                QuorumPacket::Ping {
                    zxid: z,
                    touches: vec![],
                },
                5,
            ),
            (
                QuorumPacket::Revalidate {
                    session: SessionId(1),
                    timeout_ms: 1,
                },
                6,
            ),
            (
                QuorumPacket::RevalidateReply {
                    session: SessionId(1),
                    valid: true,
                },
                6,
            ),
            (QuorumPacket::Sync { zxid: z }, 7),
            (QuorumPacket::Inform(txn(z)), 8),
            (
                QuorumPacket::CommitAndActivate {
                    zxid: z,
                    designated_leader: ServerId(1),
                },
                9,
            ),
            (QuorumPacket::NewLeader { zxid: z }, 10),
            (
                QuorumPacket::FollowerInfo {
                    sid: ServerId(1),
                    accepted_epoch: Epoch(1),
                    protocol_version: PROTOCOL_VERSION,
                },
                11,
            ),
            (QuorumPacket::UpToDate, 12),
            (QuorumPacket::Diff { zxid: z }, 13),
            (QuorumPacket::Trunc { zxid: z }, 14),
            (
                QuorumPacket::Snap {
                    zxid: z,
                    snapshot: vec![],
                },
                15,
            ),
            (
                QuorumPacket::ObserverInfo {
                    sid: ServerId(1),
                    accepted_epoch: Epoch(1),
                    protocol_version: PROTOCOL_VERSION,
                },
                16,
            ),
            (
                QuorumPacket::LeaderInfo {
                    new_epoch: Epoch(2),
                    protocol_version: PROTOCOL_VERSION,
                },
                17,
            ),
            (
                QuorumPacket::AckEpoch {
                    last_zxid: z,
                    current_epoch: None,
                },
                18,
            ),
            (
                QuorumPacket::InformAndActivate {
                    txn: txn(z),
                    designated_leader: ServerId(1),
                },
                19,
            ),
        ];
        for (packet, expected) in cases {
            assert_eq!(packet.code(), expected, "{}", packet.name());
            assert_ne!(packet.name(), "UNKNOWN");
        }
        assert_eq!(code_name(20), None);
    }

    #[test]
    fn info_and_leaderinfo_carry_epoch_in_zxid() {
        let info = QuorumPacket::FollowerInfo {
            sid: ServerId(3),
            accepted_epoch: Epoch(7),
            protocol_version: PROTOCOL_VERSION,
        };
        assert_eq!(info.zxid(), Zxid::new(Epoch(7), 0));
        let leader_info = QuorumPacket::LeaderInfo {
            new_epoch: Epoch(8),
            protocol_version: PROTOCOL_VERSION,
        };
        assert_eq!(leader_info.zxid(), Zxid::new(Epoch(8), 0));
        assert_eq!(
            QuorumPacket::Proposal(txn(Zxid(0x1_0000_0005))).zxid(),
            Zxid(0x1_0000_0005)
        );
    }
}
