//! Quorum verification (ZooKeeper's `QuorumVerifier`, `QuorumMaj`).
//!
//! The election and ZAB ask one question of the ensemble's configuration: "is this set of
//! servers enough?". Keeping it behind a trait lets weighted or hierarchical quorums
//! (`QuorumHierarchical`) come later without touching either protocol.

use crate::ids::ServerId;
use std::collections::BTreeSet;

/// Decides which sets of servers form a quorum.
pub trait QuorumVerifier: std::fmt::Debug + Send + Sync {
    /// Whether `acks` holds a quorum. Members that do not vote (observers, strangers) are
    /// ignored, as `QuorumMaj.containsQuorum` filters by the voting view.
    fn is_quorum(&self, acks: &BTreeSet<ServerId>) -> bool;
    /// The voting members.
    fn voters(&self) -> &BTreeSet<ServerId>;
    /// A server's weight; zero for a non-voter. FLE never lets a zero-weight server win.
    fn weight(&self, sid: ServerId) -> u64;
}

/// Simple majority of the voting members (`QuorumMaj`): more than half of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Majority {
    voters: BTreeSet<ServerId>,
}

impl Majority {
    pub fn new(voters: BTreeSet<ServerId>) -> Majority {
        Majority { voters }
    }

    /// How many voters make a quorum: `n / 2 + 1`.
    pub fn quorum_size(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

impl QuorumVerifier for Majority {
    fn is_quorum(&self, acks: &BTreeSet<ServerId>) -> bool {
        let voting = acks.iter().filter(|s| self.voters.contains(s)).count();
        let quorum = voting > self.voters.len() / 2;
        debug_assert!(
            !quorum || voting >= self.quorum_size(),
            "a quorum holds more than half of the voters"
        );
        quorum
    }

    fn voters(&self) -> &BTreeSet<ServerId> {
        &self.voters
    }

    fn weight(&self, sid: ServerId) -> u64 {
        u64::from(self.voters.contains(&sid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u64]) -> BTreeSet<ServerId> {
        v.iter().copied().map(ServerId).collect()
    }

    #[test]
    fn majority_needs_more_than_half_of_the_voters() {
        let q = Majority::new(ids(&[1, 2, 3, 4, 5]));
        assert!(!q.is_quorum(&ids(&[1, 2])));
        assert!(q.is_quorum(&ids(&[1, 2, 3])));
        let even = Majority::new(ids(&[1, 2, 3, 4]));
        assert!(
            !even.is_quorum(&ids(&[1, 2])),
            "half of four is not a quorum"
        );
        assert!(even.is_quorum(&ids(&[1, 2, 4])));
    }

    #[test]
    fn observers_and_strangers_never_count() {
        let q = Majority::new(ids(&[1, 2, 3]));
        assert!(!q.is_quorum(&ids(&[1, 7, 8, 9])), "7, 8, 9 do not vote");
        assert_eq!(q.weight(ServerId(7)), 0);
        assert_eq!(q.weight(ServerId(2)), 1);
    }

    #[test]
    fn empty_ensemble_has_no_quorum() {
        let q = Majority::new(BTreeSet::new());
        assert!(!q.is_quorum(&BTreeSet::new()));
    }
}
