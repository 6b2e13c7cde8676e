//! Named, deliberately wrong variants of the protocol. Compiled in, off by default; scenario
//! files and the CLI switch them on so that the checker can be shown to catch what each causes,
//! and so that historical ZooKeeper bugs can be reproduced.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One deliberate mistake. The serde/CLI name is the kebab-case form.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// ZooKeeper 3.4.5's synchronous `connectOne`: a connect to a host that drops SYNs blocks
    /// the election's sending path for the whole connect timeout (fixed by ZOOKEEPER-3756).
    BlockingConnect,
    /// A follower ACKs a proposal before the fsync covering it completed.
    AckBeforeFsync,
    /// The leader commits a proposal without waiting for a quorum of ACKs.
    CommitWithoutQuorum,
    /// A follower applies committed writes of different sessions out of zxid order: its
    /// commit processor hands each committed write to a worker chosen by session id without
    /// waiting for the previous write's worker to finish (ZooKeeper's `CommitProcessor`
    /// waits in `waitForEmptyPool`), so a later write of another session is applied first.
    ///
    /// It used to skip the leader's predecessor check in `tryToCommit` and accept a COMMIT
    /// that was not for the oldest pending proposal. That was unobservable: the leader and
    /// every follower ack in zxid order over FIFO connections, so a quorum for n+1 implies
    /// one for n, and COMMITs reach a follower in order.
    CommitOutOfOrder,
    /// A follower serves reads from proposals it has logged but not seen committed.
    ReadUncommitted,
    /// A new leader never sends TRUNC, leaving a learner's uncommitted tail in place.
    SkipTruncate,
    /// A learner answers LEADERINFO with ACKEPOCH before acceptedEpoch is on disk.
    AckEpochBeforePersist,
    /// A follower expires sessions with its own tracker instead of leaving it to the leader.
    FollowerExpiresSessions,
    /// currentEpoch is written before the synced transactions are durable (ZOOKEEPER-4643).
    EpochBeforeTxnsDurable,
    /// NEWLEADER is acked before the DIFF-synced transactions are fsynced (ZOOKEEPER-3911).
    #[serde(rename = "newleader-ack-before-sync")]
    NewLeaderAckBeforeSync,
    /// A reconnecting client's `SetWatches` re-arms its watches but ignores its last zxid,
    /// so a watched node that changed while the client was away never fires (ZooKeeper's
    /// `DataTree.setWatches` fires those at once).
    SetWatchesIgnoresZxid,
}

impl Bug {
    pub const ALL: [Bug; 11] = [
        Bug::BlockingConnect,
        Bug::AckBeforeFsync,
        Bug::CommitWithoutQuorum,
        Bug::CommitOutOfOrder,
        Bug::ReadUncommitted,
        Bug::SkipTruncate,
        Bug::AckEpochBeforePersist,
        Bug::FollowerExpiresSessions,
        Bug::EpochBeforeTxnsDurable,
        Bug::NewLeaderAckBeforeSync,
        Bug::SetWatchesIgnoresZxid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::BlockingConnect => "blocking-connect",
            Bug::AckBeforeFsync => "ack-before-fsync",
            Bug::CommitWithoutQuorum => "commit-without-quorum",
            Bug::CommitOutOfOrder => "commit-out-of-order",
            Bug::ReadUncommitted => "read-uncommitted",
            Bug::SkipTruncate => "skip-truncate",
            Bug::AckEpochBeforePersist => "ack-epoch-before-persist",
            Bug::FollowerExpiresSessions => "follower-expires-sessions",
            Bug::EpochBeforeTxnsDurable => "epoch-before-txns-durable",
            Bug::NewLeaderAckBeforeSync => "newleader-ack-before-sync",
            Bug::SetWatchesIgnoresZxid => "set-watches-ignores-zxid",
        }
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Bug {
    type Err = String;
    fn from_str(s: &str) -> Result<Bug, String> {
        Bug::ALL
            .iter()
            .copied()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                format!("unknown bug `{s}`; valid: {}", names.join(", "))
            })
    }
}

/// The set of bugs switched on for a peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BugSet(pub BTreeSet<Bug>);

impl BugSet {
    pub fn has(&self, bug: Bug) -> bool {
        self.0.contains(&bug)
    }

    pub fn with(mut self, bug: Bug) -> BugSet {
        self.0.insert(bug);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_files_and_the_cli_spell_every_bug_the_same_way() {
        for bug in Bug::ALL {
            let serde_name = serde_json::to_value(bug).expect("serialises");
            assert_eq!(serde_name, serde_json::Value::String(bug.name().into()));
            assert_eq!(bug.name().parse::<Bug>(), Ok(bug));
        }
    }
}
