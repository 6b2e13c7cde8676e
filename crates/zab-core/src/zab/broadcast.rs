//! Broadcast, the leader's bookkeeping (`Leader.propose`, `processAck`, `tryToCommit`,
//! `processSync`): outstanding proposals, who acked them, and the commit point.
//!
//! A proposal commits when a quorum of voters acked it **and** its predecessor has committed —
//! commits are strictly in zxid order. `commit-without-quorum` breaks the first half here.
//! Nothing here breaks the second: every acker (this leader and each follower) acks in zxid
//! order over a FIFO connection, so a quorum for n+1 implies one for n, and skipping the
//! predecessor check would change nothing (ZooKeeper keeps it for reconfiguration, where
//! proposals wait for different quorums). `commit-out-of-order` lives in the follower's
//! commit path instead (`learner/`).

use super::discovery::is_quorum;
use crate::bugs::{Bug, BugSet};
use crate::ids::{ServerId, SessionId, Zxid};
use crate::txn::Txn;
use std::collections::{BTreeMap, BTreeSet};

/// Who is waiting for a `sync` to complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncWaiter {
    /// A client of the leader itself.
    Local(SessionId),
    /// A learner that forwarded its client's `sync`.
    Learner(ServerId),
}

#[derive(Clone, Debug)]
struct Proposal {
    txn: Txn,
    acks: BTreeSet<ServerId>,
}

/// The leader's outstanding proposals and commit point.
#[derive(Clone, Debug)]
pub struct Proposals {
    voters: BTreeSet<ServerId>,
    bugs: BugSet,
    outstanding: BTreeMap<Zxid, Proposal>,
    pub last_proposed: Zxid,
    pub last_committed: Zxid,
    pending_syncs: BTreeMap<Zxid, Vec<SyncWaiter>>,
}

/// How many proposals may be outstanding before we consider the pipeline stuck. ZooKeeper
/// bounds it by throttling clients; we assert, because the simulated clients are bounded.
const OUTSTANDING_MAX: usize = 1_000_000;

impl Proposals {
    /// Start an epoch whose NEWLEADER zxid is `base` (= (epoch, 0)).
    pub fn new(voters: BTreeSet<ServerId>, bugs: BugSet, base: Zxid) -> Proposals {
        Proposals {
            voters,
            bugs,
            outstanding: BTreeMap::new(),
            last_proposed: base,
            last_committed: base,
            pending_syncs: BTreeMap::new(),
        }
    }

    /// The zxid the next proposal gets; `None` when the counter is exhausted — ZooKeeper
    /// refuses to propose at counter 0xffffffff and forces a new election.
    pub fn next_zxid(&self) -> Option<Zxid> {
        self.last_proposed
            .next_in_epoch()
            .filter(|z| z.counter() < Zxid::MAX_COUNTER)
    }

    pub fn propose(&mut self, txn: Txn) {
        debug_assert_eq!(Some(txn.zxid()), self.next_zxid(), "zxids are consecutive");
        debug_assert!(
            self.outstanding.len() < OUTSTANDING_MAX,
            "proposal pipeline stuck"
        );
        self.last_proposed = txn.zxid();
        self.outstanding.insert(
            txn.zxid(),
            Proposal {
                txn,
                acks: BTreeSet::new(),
            },
        );
    }

    /// Outstanding proposals after `after`, in order (forwarded to a learner that just synced).
    pub fn outstanding_after(&self, after: Zxid) -> Vec<Txn> {
        self.outstanding
            .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
            .map(|(_, p)| p.txn.clone())
            .collect()
    }

    /// Outstanding zxids in `(after, up_to]`, in order.
    pub fn outstanding_zxids(&self, after: Zxid, up_to: Zxid) -> Vec<Zxid> {
        if up_to <= after {
            return Vec::new();
        }
        self.outstanding
            .range((
                std::ops::Bound::Excluded(after),
                std::ops::Bound::Included(up_to),
            ))
            .map(|(z, _)| *z)
            .collect()
    }

    pub fn outstanding_count(&self) -> usize {
        self.outstanding.len()
    }

    /// `processAck`: record `sid`'s ack of `zxid` and return what can now commit, in commit
    /// order.
    pub fn ack(&mut self, sid: ServerId, zxid: Zxid) -> Vec<Txn> {
        if zxid.counter() == 0 || self.outstanding.is_empty() || self.last_committed >= zxid {
            // NEWLEADER/UPTODATE acks, and acks of what already committed.
            return Vec::new();
        }
        let Some(proposal) = self.outstanding.get_mut(&zxid) else {
            return Vec::new();
        };
        if self.voters.contains(&sid) {
            proposal.acks.insert(sid);
        }
        let mut committed = Vec::new();
        let mut next = zxid;
        while self.try_to_commit(next, &mut committed) {
            match next.next_in_epoch() {
                Some(z) if self.outstanding.contains_key(&z) => next = z,
                _ => break,
            }
        }
        committed
    }

    /// `tryToCommit`.
    fn try_to_commit(&mut self, zxid: Zxid, committed: &mut Vec<Txn>) -> bool {
        let predecessor = Zxid(zxid.0 - 1);
        if self.outstanding.contains_key(&predecessor) {
            return false;
        }
        let Some(proposal) = self.outstanding.get(&zxid) else {
            return false;
        };
        let has_quorum = is_quorum(&proposal.acks, &self.voters);
        let bug_commits = self.bugs.has(Bug::CommitWithoutQuorum) && !proposal.acks.is_empty();
        if !has_quorum && !bug_commits {
            return false;
        }
        debug_assert!(
            has_quorum || self.bugs.has(Bug::CommitWithoutQuorum),
            "commit only with a quorum"
        );
        debug_assert!(zxid > self.last_committed, "commits strictly increase");
        let proposal = self.outstanding.remove(&zxid).expect("present");
        self.last_committed = self.last_committed.max(zxid);
        committed.push(proposal.txn);
        true
    }

    /// `processSync`: answer now if nothing is outstanding, else when the newest proposal
    /// commits.
    pub fn sync(&mut self, waiter: SyncWaiter) -> Option<SyncWaiter> {
        if self.outstanding.is_empty() {
            return Some(waiter);
        }
        self.pending_syncs
            .entry(self.last_proposed)
            .or_default()
            .push(waiter);
        None
    }

    /// The syncs released by the commit of `zxid`.
    pub fn syncs_released_by(&mut self, zxid: Zxid) -> Vec<SyncWaiter> {
        let released: Vec<Zxid> = self.pending_syncs.range(..=zxid).map(|(z, _)| *z).collect();
        released
            .into_iter()
            .flat_map(|z| self.pending_syncs.remove(&z).unwrap_or_default())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Epoch, Millis};
    use crate::txn::{TxnBody, TxnHeader};

    fn txn(counter: u32) -> Txn {
        Txn {
            header: TxnHeader {
                session: SessionId(1),
                cxid: counter as i32,
                zxid: Zxid::new(Epoch(1), counter),
                time: Millis(0),
            },
            body: TxnBody::Delete { path: "/x".into() },
        }
    }

    fn three(bugs: BugSet) -> Proposals {
        let voters = [1, 2, 3].into_iter().map(ServerId).collect();
        let mut p = Proposals::new(voters, bugs, Zxid::new(Epoch(1), 0));
        p.propose(txn(1));
        p.propose(txn(2));
        p
    }

    fn zxids(txns: &[Txn]) -> Vec<u32> {
        txns.iter().map(|t| t.zxid().counter()).collect()
    }

    #[test]
    fn commits_need_a_quorum() {
        let mut p = three(BugSet::default());
        assert!(p.ack(ServerId(1), Zxid::new(Epoch(1), 1)).is_empty());
        assert_eq!(zxids(&p.ack(ServerId(2), Zxid::new(Epoch(1), 1))), vec![1]);
        assert!(
            p.ack(ServerId(3), Zxid::new(Epoch(1), 1)).is_empty(),
            "once"
        );
    }

    #[test]
    fn commits_wait_for_the_predecessor() {
        let mut p = three(BugSet::default());
        p.ack(ServerId(1), Zxid::new(Epoch(1), 2));
        assert!(p.ack(ServerId(2), Zxid::new(Epoch(1), 2)).is_empty());
        p.ack(ServerId(1), Zxid::new(Epoch(1), 1));
        assert_eq!(
            zxids(&p.ack(ServerId(2), Zxid::new(Epoch(1), 1))),
            vec![1, 2]
        );
    }

    #[test]
    fn commit_without_quorum_bug_commits_on_first_ack() {
        let mut p = three(BugSet::default().with(Bug::CommitWithoutQuorum));
        assert_eq!(zxids(&p.ack(ServerId(1), Zxid::new(Epoch(1), 1))), vec![1]);
    }

    #[test]
    fn observer_acks_do_not_count() {
        let mut p = three(BugSet::default());
        p.ack(ServerId(1), Zxid::new(Epoch(1), 1));
        assert!(p.ack(ServerId(9), Zxid::new(Epoch(1), 1)).is_empty());
    }

    #[test]
    fn counter_exhaustion_stops_proposals() {
        let voters = [ServerId(1)].into_iter().collect();
        let p = Proposals::new(voters, BugSet::default(), Zxid::new(Epoch(1), 0xffff_fffe));
        assert_eq!(p.next_zxid(), None);
    }

    #[test]
    fn sync_waits_for_outstanding_proposals() {
        let mut p = three(BugSet::default());
        assert_eq!(p.sync(SyncWaiter::Learner(ServerId(2))), None);
        p.ack(ServerId(1), Zxid::new(Epoch(1), 1));
        p.ack(ServerId(2), Zxid::new(Epoch(1), 1));
        assert!(p.syncs_released_by(Zxid::new(Epoch(1), 1)).is_empty());
        assert_eq!(
            p.syncs_released_by(Zxid::new(Epoch(1), 2)),
            vec![SyncWaiter::Learner(ServerId(2))]
        );
    }
}
