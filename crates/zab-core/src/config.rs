//! Static configuration of one peer: the ensemble, the timing limits and the bug switches.
//! The simulator builds it from a scenario file, the server from `zoo.cfg` + `myid`.

use crate::bugs::BugSet;
use crate::ids::{Millis, ServerId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Configuration of one peer. Defaults are ZooKeeper's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// This server's `myid`.
    pub me: ServerId,
    /// Voting members (participants), including `me` if it votes.
    pub voters: BTreeSet<ServerId>,
    /// Non-voting members.
    pub observers: BTreeSet<ServerId>,
    /// `tickTime`, the unit of every other limit.
    pub tick_ms: u64,
    /// `initLimit`, in ticks: how long discovery + synchronisation may take.
    pub init_limit: u64,
    /// `syncLimit`, in ticks: how long a learner may be silent once synced.
    pub sync_limit: u64,
    /// `zookeeper.cnxTimeout`: the election channel's connect timeout.
    pub cnx_timeout_ms: u64,
    /// FLE's initial/finalize wait (`finalizeWait`, 200 ms).
    pub finalize_wait_ms: u64,
    /// FLE's cap on the doubling notification timeout (`maxNotificationInterval`, 60 s).
    pub max_notification_interval_ms: u64,
    /// Size of the leader's in-memory committed log (`zookeeper.commitLogCount`, 500).
    pub commit_log_count: usize,
    /// Transactions between snapshots (`snapCount`, 100,000).
    pub snap_count: u64,
    /// Group commit: fsync at the latest after this many appends (1000).
    pub max_batch_size: usize,
    /// `minSessionTimeout` / `maxSessionTimeout`; `None` = 2 / 20 ticks.
    pub min_session_timeout_ms: Option<u64>,
    pub max_session_timeout_ms: Option<u64>,
    /// Deliberate protocol mistakes, all off by default.
    pub bugs: BugSet,
}

impl Config {
    /// ZooKeeper's defaults for a server `me` in an ensemble of `voters` and `observers`.
    pub fn new(me: ServerId, voters: BTreeSet<ServerId>, observers: BTreeSet<ServerId>) -> Config {
        debug_assert!(
            voters.is_disjoint(&observers),
            "a server is a voter or an observer"
        );
        Config {
            me,
            voters,
            observers,
            tick_ms: 2000,
            init_limit: 10,
            sync_limit: 5,
            cnx_timeout_ms: 5000,
            finalize_wait_ms: 200,
            max_notification_interval_ms: 60_000,
            commit_log_count: 500,
            snap_count: 100_000,
            max_batch_size: 1000,
            min_session_timeout_ms: None,
            max_session_timeout_ms: None,
            bugs: BugSet::default(),
        }
    }

    pub fn is_observer(&self) -> bool {
        self.observers.contains(&self.me)
    }

    /// Every other member of the ensemble, voters and observers, in id order.
    pub fn others(&self) -> impl Iterator<Item = ServerId> + '_ {
        let me = self.me;
        self.voters
            .iter()
            .chain(self.observers.iter())
            .copied()
            .filter(move |s| *s != me)
    }

    pub fn tick(&self) -> Millis {
        Millis(self.tick_ms)
    }

    pub fn min_session_timeout(&self) -> u64 {
        self.min_session_timeout_ms.unwrap_or(2 * self.tick_ms)
    }

    pub fn max_session_timeout(&self) -> u64 {
        self.max_session_timeout_ms.unwrap_or(20 * self.tick_ms)
    }
}
