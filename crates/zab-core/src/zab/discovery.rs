//! Discovery: agreeing on the new epoch (`Leader.getEpochToPropose`, `waitForEpochAck`,
//! `waitForNewLeaderAck`, and the learner's side of `Learner.registerWithLeader`).
//!
//! The leader collects the acceptedEpoch of every learner that connects; once a quorum
//! (itself included) is in, the new epoch is one more than the largest of them. A quorum must
//! then acknowledge it (ACKEPOCH) — and any learner whose history is newer than the leader's
//! makes the leader give up. After synchronisation a quorum must ack NEWLEADER.

use crate::ids::{Epoch, ServerId, Zxid};
use std::collections::BTreeSet;

/// Does `acks` contain a majority of `voters`?
pub fn is_quorum(acks: &BTreeSet<ServerId>, voters: &BTreeSet<ServerId>) -> bool {
    acks.intersection(voters).count() * 2 > voters.len()
}

/// `StateSummary`: a server's currentEpoch and last zxid, compared as a pair.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StateSummary {
    pub current_epoch: Epoch,
    pub last_zxid: Zxid,
}

impl StateSummary {
    pub fn is_more_recent_than(&self, other: &StateSummary) -> bool {
        self.current_epoch > other.current_epoch
            || (self.current_epoch == other.current_epoch && self.last_zxid > other.last_zxid)
    }
}

/// Why discovery failed; the leader goes back to LOOKING.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiscoveryError {
    FollowerAhead { sid: ServerId },
}

/// The leader's discovery state.
#[derive(Clone, Debug)]
pub struct Discovery {
    me: ServerId,
    voters: BTreeSet<ServerId>,
    epoch: Option<Epoch>,
    connecting: BTreeSet<ServerId>,
    waiting_for_new_epoch: bool,
    electing: BTreeSet<ServerId>,
    election_finished: bool,
    newleader_acks: BTreeSet<ServerId>,
    quorum_formed: bool,
    leader_summary: StateSummary,
}

impl Discovery {
    pub fn new(
        me: ServerId,
        voters: BTreeSet<ServerId>,
        leader_summary: StateSummary,
    ) -> Discovery {
        Discovery {
            me,
            voters,
            epoch: None,
            connecting: BTreeSet::new(),
            waiting_for_new_epoch: true,
            electing: BTreeSet::new(),
            election_finished: false,
            newleader_acks: BTreeSet::new(),
            quorum_formed: false,
            leader_summary,
        }
    }

    /// `getEpochToPropose`: record `sid`'s acceptedEpoch. Returns the new epoch once a quorum
    /// (including this leader) has reported, `None` while still waiting.
    pub fn epoch_to_propose(&mut self, sid: ServerId, accepted: Epoch) -> Option<Epoch> {
        if !self.waiting_for_new_epoch {
            return self.epoch;
        }
        if self.epoch.is_none_or(|e| accepted >= e) {
            self.epoch = Some(accepted.next());
        }
        if self.voters.contains(&sid) {
            self.connecting.insert(sid);
        }
        if self.connecting.contains(&self.me) && is_quorum(&self.connecting, &self.voters) {
            self.waiting_for_new_epoch = false;
            return self.epoch;
        }
        None
    }

    pub fn epoch(&self) -> Option<Epoch> {
        if self.waiting_for_new_epoch {
            None
        } else {
            self.epoch
        }
    }

    /// `waitForEpochAck`: `current_epoch` is `None` for a learner that had already accepted
    /// this epoch (its ACKEPOCH does not count). Returns whether a quorum has now acked.
    pub fn epoch_ack(
        &mut self,
        sid: ServerId,
        current_epoch: Option<Epoch>,
        last_zxid: Zxid,
    ) -> Result<bool, DiscoveryError> {
        if self.election_finished {
            return Ok(true);
        }
        if let Some(current_epoch) = current_epoch {
            let summary = StateSummary {
                current_epoch,
                last_zxid,
            };
            if summary.is_more_recent_than(&self.leader_summary) {
                return Err(DiscoveryError::FollowerAhead { sid });
            }
            if self.voters.contains(&sid) {
                self.electing.insert(sid);
            }
        }
        if self.electing.contains(&self.me) && is_quorum(&self.electing, &self.voters) {
            self.election_finished = true;
        }
        Ok(self.election_finished)
    }

    pub fn election_finished(&self) -> bool {
        self.election_finished
    }

    /// `waitForNewLeaderAck`: returns whether a quorum (this leader included) has now acked
    /// NEWLEADER. Acks for another epoch's NEWLEADER are ignored.
    pub fn newleader_ack(&mut self, sid: ServerId, zxid: Zxid) -> bool {
        if self.quorum_formed {
            return true;
        }
        let Some(epoch) = self.epoch() else {
            return false;
        };
        if zxid != Zxid::new(epoch, 0) {
            return false;
        }
        if self.voters.contains(&sid) {
            self.newleader_acks.insert(sid);
        }
        if self.newleader_acks.contains(&self.me) && is_quorum(&self.newleader_acks, &self.voters) {
            self.quorum_formed = true;
        }
        self.quorum_formed
    }

    pub fn quorum_formed(&self) -> bool {
        self.quorum_formed
    }
}

/// A learner's answer to LEADERINFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderInfoAnswer {
    /// A newer epoch: persist it as acceptedEpoch, then ACKEPOCH with our currentEpoch.
    Accept,
    /// Already accepted: ACKEPOCH with -1 so it does not count as an ack.
    AlreadyAccepted,
}

/// `registerWithLeader`'s LEADERINFO rule; a leader whose epoch is older than what this learner
/// accepted is stale.
pub fn answer_leader_info(accepted: Epoch, new_epoch: Epoch) -> Result<LeaderInfoAnswer, String> {
    if new_epoch > accepted {
        Ok(LeaderInfoAnswer::Accept)
    } else if new_epoch == accepted {
        Ok(LeaderInfoAnswer::AlreadyAccepted)
    } else {
        Err(format!(
            "leader's epoch, {new_epoch}, is less than accepted epoch, {accepted}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voters(n: u64) -> BTreeSet<ServerId> {
        (1..=n).map(ServerId).collect()
    }

    fn summary(epoch: u32, counter: u32) -> StateSummary {
        StateSummary {
            current_epoch: Epoch(epoch),
            last_zxid: Zxid::new(Epoch(epoch), counter),
        }
    }

    #[test]
    fn new_epoch_is_max_accepted_plus_one_once_a_quorum_reported() {
        let mut d = Discovery::new(ServerId(3), voters(5), summary(2, 4));
        assert_eq!(d.epoch_to_propose(ServerId(3), Epoch(2)), None);
        assert_eq!(d.epoch_to_propose(ServerId(1), Epoch(5)), None);
        assert_eq!(d.epoch_to_propose(ServerId(2), Epoch(1)), Some(Epoch(6)));
        // Later learners get the decided epoch without changing it.
        assert_eq!(d.epoch_to_propose(ServerId(4), Epoch(9)), Some(Epoch(6)));
    }

    #[test]
    fn a_follower_ahead_of_the_leader_aborts_discovery() {
        let mut d = Discovery::new(ServerId(1), voters(3), summary(2, 4));
        d.epoch_to_propose(ServerId(1), Epoch(2));
        d.epoch_to_propose(ServerId(2), Epoch(2));
        assert_eq!(
            d.epoch_ack(ServerId(1), Some(Epoch(2)), Zxid::new(Epoch(2), 4)),
            Ok(false)
        );
        assert_eq!(
            d.epoch_ack(ServerId(2), Some(Epoch(2)), Zxid::new(Epoch(2), 5)),
            Err(DiscoveryError::FollowerAhead { sid: ServerId(2) })
        );
    }

    #[test]
    fn ackepoch_of_minus_one_does_not_count() {
        let mut d = Discovery::new(ServerId(1), voters(3), summary(1, 0));
        d.epoch_to_propose(ServerId(1), Epoch(1));
        d.epoch_to_propose(ServerId(2), Epoch(1));
        assert_eq!(
            d.epoch_ack(ServerId(1), Some(Epoch(1)), Zxid::ZERO),
            Ok(false)
        );
        assert_eq!(d.epoch_ack(ServerId(2), None, Zxid::ZERO), Ok(false));
        assert_eq!(
            d.epoch_ack(ServerId(3), Some(Epoch(0)), Zxid::ZERO),
            Ok(true)
        );
    }

    #[test]
    fn newleader_needs_quorum_including_leader_and_right_zxid() {
        let mut d = Discovery::new(ServerId(1), voters(3), summary(0, 0));
        d.epoch_to_propose(ServerId(1), Epoch(0));
        d.epoch_to_propose(ServerId(2), Epoch(0));
        let z = Zxid::new(Epoch(1), 0);
        assert!(!d.newleader_ack(ServerId(2), Zxid::new(Epoch(7), 0)));
        assert!(!d.newleader_ack(ServerId(2), z));
        assert!(d.newleader_ack(ServerId(1), z));
    }

    #[test]
    fn learner_rejects_stale_leader_epoch() {
        assert_eq!(
            answer_leader_info(Epoch(3), Epoch(4)),
            Ok(LeaderInfoAnswer::Accept)
        );
        assert_eq!(
            answer_leader_info(Epoch(3), Epoch(3)),
            Ok(LeaderInfoAnswer::AlreadyAccepted)
        );
        assert!(answer_leader_info(Epoch(3), Epoch(2)).is_err());
    }
}
