//! A vote (ZooKeeper's `Vote`) and the two ways votes are compared: the total order that
//! decides which candidate is better (`FastLeaderElection.totalOrderPredicate`), and the
//! equality that decides whether two voters agree (`Vote.equals`).

use super::ServerState;
use crate::ids::{Epoch, ServerId, Zxid};
use crate::quorum::QuorumVerifier;
use serde::{Deserialize, Serialize};

/// A vote for `leader`. `election_epoch` is the round it was cast in; `state` the voter's
/// state when it was cast (LOOKING votes are compared in full, others by leader and epoch).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub leader: ServerId,
    pub zxid: Zxid,
    pub election_epoch: u64,
    pub peer_epoch: Epoch,
    pub state: ServerState,
}

impl Vote {
    /// The vote an observer starts with. ZooKeeper uses `Long.MIN_VALUE` for its id, zxid and
    /// epoch so that any voter's vote beats it; with our unsigned types the minimum is zero,
    /// and a voter with id 0, zxid 0 and epoch 0 would make the same proposal anyway.
    pub fn nobody(election_epoch: u64) -> Vote {
        Vote {
            leader: ServerId(0),
            zxid: Zxid::ZERO,
            election_epoch,
            peer_epoch: Epoch::ZERO,
            state: ServerState::Looking,
        }
    }

    /// `totalOrderPredicate`: whether a proposal for (`self.leader`, `self.zxid`,
    /// `self.peer_epoch`) is better than `current`: the candidate must carry weight, then the
    /// higher peerEpoch wins, then the higher zxid, then the higher server id.
    pub fn beats(&self, current: &Vote, verifier: &dyn QuorumVerifier) -> bool {
        if verifier.weight(self.leader) == 0 {
            return false;
        }
        (self.peer_epoch, self.zxid, self.leader)
            > (current.peer_epoch, current.zxid, current.leader)
    }

    /// `Vote.equals`: whether two voters agree. If either vote was cast while LOOKING, every
    /// field but the state must match; between servers outside the election only the leader
    /// and its epoch count, because their zxids and rounds legitimately drift apart
    /// (ZOOKEEPER-1805).
    pub fn agrees_with(&self, other: &Vote) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            self.leader == other.leader
                && self.zxid == other.zxid
                && self.election_epoch == other.election_epoch
                && self.peer_epoch == other.peer_epoch
        } else {
            self.leader == other.leader && self.peer_epoch == other.peer_epoch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::Majority;

    fn v(leader: u64, zxid: u64, epoch: u32) -> Vote {
        Vote {
            leader: ServerId(leader),
            zxid: Zxid(zxid),
            election_epoch: 1,
            peer_epoch: Epoch(epoch),
            state: ServerState::Looking,
        }
    }

    fn q() -> Majority {
        Majority::new([1, 2, 3].into_iter().map(ServerId).collect())
    }

    #[test]
    fn higher_epoch_beats_higher_zxid_and_id() {
        assert!(v(1, 0, 2).beats(&v(3, 100, 1), &q()));
        assert!(!v(3, 100, 1).beats(&v(1, 0, 2), &q()));
    }

    #[test]
    fn equal_epoch_higher_zxid_wins_then_higher_id() {
        assert!(v(1, 5, 1).beats(&v(3, 4, 1), &q()));
        assert!(v(3, 5, 1).beats(&v(2, 5, 1), &q()));
        assert!(
            !v(2, 5, 1).beats(&v(2, 5, 1), &q()),
            "a vote does not beat itself"
        );
    }

    #[test]
    fn a_non_voter_never_wins() {
        assert!(!v(9, 999, 9).beats(&v(1, 0, 0), &q()));
    }

    #[test]
    fn every_voter_beats_an_observers_initial_vote() {
        for sid in 1..=3 {
            assert!(v(sid, 0, 0).beats(&Vote::nobody(1), &q()));
        }
    }

    #[test]
    fn looking_votes_agree_only_on_every_field() {
        let a = v(3, 5, 1);
        let mut b = a;
        assert!(a.agrees_with(&b));
        b.election_epoch = 2;
        assert!(!a.agrees_with(&b));
    }

    #[test]
    fn votes_outside_the_election_agree_on_leader_and_epoch() {
        let mut a = v(3, 5, 1);
        a.state = ServerState::Following;
        let mut b = v(3, 9, 1);
        b.state = ServerState::Leading;
        b.election_epoch = 7;
        assert!(a.agrees_with(&b));
        b.peer_epoch = Epoch(2);
        assert!(!a.agrees_with(&b));
    }
}
