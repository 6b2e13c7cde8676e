//! The replica's database (ZooKeeper's `ZKDatabase` + `FileTxnSnapLog`'s view of the disk):
//! the applied tree, the transaction log as this server has written it, the in-memory
//! committed-log window the leader syncs learners from, the session table, the two epochs and
//! the snapshots on disk.
//!
//! The log here is the server's own record of what it asked the disk to append; which part of
//! it is durable is `last_synced`. Rebuilding after a crash goes through [`Database::recover`]
//! from the bytes the driver read back, so a crash can only keep what was fsynced.

use crate::config::Config;
use crate::ids::{Epoch, SessionId, Zxid};
use crate::peer::Recovered;
use crate::persist::{self, LogTail, SnapshotImage};
use crate::tree::{Applied, DataTree};
use crate::txn::Txn;
use std::collections::{BTreeMap, VecDeque};
use thiserror::Error;

/// How many snapshots a server keeps (`autopurge.snapRetainCount` defaults to 3).
const SNAPSHOTS_RETAINED: usize = 3;

/// Why a server cannot start from its disk (ZooKeeper refuses to start in these cases).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RecoveryError {
    /// `QuorumPeer.loadDataBase`: the last zxid's epoch is newer than currentEpoch.
    #[error("the current epoch, {current}, is older than the last zxid, {last_zxid}")]
    CurrentEpochBehindLog { current: Epoch, last_zxid: Zxid },
    /// `QuorumPeer.loadDataBase`: acceptedEpoch < currentEpoch (ZOOKEEPER-1653's symptom).
    #[error("the accepted epoch, {accepted}, is less than the current epoch, {current}")]
    AcceptedBehindCurrent { accepted: Epoch, current: Epoch },
    /// Every snapshot present failed its checksum or did not parse, and the log does not start
    /// from an empty tree.
    #[error("no valid snapshot among {count} present")]
    NoValidSnapshot { count: usize },
    /// A log record failed its checksum: `FileTxnLog`'s "CRC check failed" aborts startup
    /// (only a short, torn, or zero-filled tail reads as the end of the log).
    #[error("log record at byte {offset} failed its checksum")]
    CorruptLog { offset: usize },
}

/// What recovery found, for the server's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    pub snapshot: Option<Zxid>,
    pub replayed: usize,
    pub log_tail: LogTail,
}

/// One server's database.
pub struct Database {
    pub tree: DataTree,
    /// Every transaction in this server's log, in order (the disk's log, including the
    /// unsynced tail this process appended).
    log: Vec<Txn>,
    /// The newest zxid appended to the log (or the snapshot's, when the log is older).
    pub last_logged: Zxid,
    /// The newest zxid the disk has made durable.
    pub last_synced: Zxid,
    /// The committed-log window (`ZKDatabase.committedLog`), at most `commit_log_count`.
    committed: VecDeque<Txn>,
    commit_log_count: usize,
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    /// Durable snapshots, oldest first, at most `SNAPSHOTS_RETAINED`.
    snapshots: Vec<(Zxid, Vec<u8>)>,
    /// Transactions logged since the last snapshot (for `snapCount`).
    pub txns_since_snapshot: u64,
}

impl Database {
    /// A fresh, empty database (a server's very first start).
    pub fn empty(config: &Config) -> Database {
        Database {
            tree: DataTree::new(),
            log: Vec::new(),
            last_logged: Zxid::ZERO,
            last_synced: Zxid::ZERO,
            committed: VecDeque::new(),
            commit_log_count: config.commit_log_count.max(1),
            accepted_epoch: Epoch::ZERO,
            current_epoch: Epoch::ZERO,
            snapshots: Vec::new(),
            txns_since_snapshot: 0,
        }
    }

    /// Rebuild from what the disk returned (`FileTxnSnapLog.restore` + `QuorumPeer.loadDataBase`):
    /// the newest snapshot that passes its checksum, then every logged transaction after it up
    /// to the first torn or corrupt record; epochs from their files, defaulting to the last
    /// zxid's epoch as ZooKeeper does when a file is missing.
    pub fn recover(
        config: &Config,
        recovered: &Recovered,
    ) -> Result<(Database, RecoveryReport), RecoveryError> {
        let mut db = Database::empty(config);
        let mut chosen: Option<SnapshotImage> = None;
        for (zxid, bytes) in recovered.snapshots.iter().rev() {
            let Ok(image) = persist::decode_snapshot(bytes) else {
                continue;
            };
            if image.zxid != *zxid {
                continue;
            }
            if let Ok(tree) = DataTree::restore(&image.tree) {
                db.tree = tree;
                chosen = Some(image);
                break;
            }
        }
        if chosen.is_none() && !recovered.snapshots.is_empty() {
            return Err(RecoveryError::NoValidSnapshot {
                count: recovered.snapshots.len(),
            });
        }
        let snapshot_zxid = chosen.as_ref().map(|s| s.zxid).unwrap_or(Zxid::ZERO);
        for (zxid, bytes) in &recovered.snapshots {
            if persist::decode_snapshot(bytes).is_ok_and(|s| s.zxid == *zxid) {
                db.snapshots.push((*zxid, bytes.clone()));
            }
        }
        let scan = persist::decode_log(&recovered.log);
        if let LogTail::Corrupt { offset, .. } = scan.tail {
            return Err(RecoveryError::CorruptLog { offset });
        }
        let mut replayed = 0;
        for txn in &scan.txns {
            if txn.zxid() > snapshot_zxid {
                db.apply(txn);
                replayed += 1;
            }
        }
        db.log = scan.txns;
        db.last_logged = db
            .log
            .last()
            .map(|t| t.zxid())
            .unwrap_or(Zxid::ZERO)
            .max(snapshot_zxid);
        db.last_synced = db.last_logged;
        db.txns_since_snapshot = replayed as u64;

        let epoch_of_zxid = db.tree.last_applied().epoch();
        let current = recovered.current_epoch.unwrap_or(epoch_of_zxid);
        if epoch_of_zxid > current {
            return Err(RecoveryError::CurrentEpochBehindLog {
                current,
                last_zxid: db.tree.last_applied(),
            });
        }
        let accepted = recovered.accepted_epoch.unwrap_or(epoch_of_zxid);
        if accepted < current {
            return Err(RecoveryError::AcceptedBehindCurrent { accepted, current });
        }
        db.current_epoch = current;
        db.accepted_epoch = accepted;
        let report = RecoveryReport {
            snapshot: chosen.map(|s| s.zxid),
            replayed,
            log_tail: scan.tail,
        };
        Ok((db, report))
    }

    /// Session id → timeout, as the tree holds them (the table a new leader's session
    /// tracker starts from).
    pub fn sessions(&self) -> BTreeMap<SessionId, i32> {
        self.tree.sessions().collect()
    }

    /// The last transaction applied to the tree (`lastProcessedZxid`).
    pub fn last_processed(&self) -> Zxid {
        self.tree.last_applied()
    }

    /// Apply one transaction to the tree, and remember it in the
    /// committed-log window.
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let applied = self.tree.apply(txn);
        self.remember_committed(txn.clone());
        applied
    }

    fn remember_committed(&mut self, txn: Txn) {
        if self
            .committed
            .back()
            .is_some_and(|t| t.zxid() >= txn.zxid())
        {
            return;
        }
        self.committed.push_back(txn);
        while self.committed.len() > self.commit_log_count {
            self.committed.pop_front();
        }
    }

    /// `(minCommittedLog, maxCommittedLog)`; both `lastProcessedZxid` when the window is empty,
    /// as `LearnerHandler.syncFollower` treats it.
    pub fn committed_window(&self) -> (Zxid, Zxid) {
        match (self.committed.front(), self.committed.back()) {
            (Some(first), Some(last)) => (first.zxid(), last.zxid()),
            _ => (self.last_processed(), self.last_processed()),
        }
    }

    pub fn committed_log(&self) -> impl Iterator<Item = &Txn> {
        self.committed.iter()
    }

    pub fn committed_is_empty(&self) -> bool {
        self.committed.is_empty()
    }

    /// The on-disk log to sync a learner from, if it reaches back to `from`
    /// (`ZKDatabase.getProposalsFromTxnLog`: empty when the oldest logged transaction is newer
    /// than `from`). The caller skips what precedes `from`.
    pub fn log_from(&self, from: Zxid) -> &[Txn] {
        match self.log.first() {
            Some(first) if first.zxid() <= from => &self.log[..],
            _ => &[],
        }
    }

    /// Record an append (the disk op is issued by the caller).
    pub fn append(&mut self, txn: &Txn) {
        debug_assert!(
            txn.zxid() > self.last_logged,
            "log zxids strictly increase: {} after {}",
            txn.zxid(),
            self.last_logged
        );
        self.log.push(txn.clone());
        self.last_logged = txn.zxid();
        self.txns_since_snapshot += 1;
    }

    /// The logged transactions after `after`, in order (for fast-forward and replay).
    pub fn logged_after(&self, after: Zxid) -> Vec<Txn> {
        let start = self.log.partition_point(|t| t.zxid() <= after);
        self.log[start..].to_vec()
    }

    /// `ZKDatabase.fastForwardDataBase`: apply every logged transaction the tree has not seen.
    /// Returns what was applied.
    pub fn fast_forward(&mut self) -> Vec<Txn> {
        let pending = self.logged_after(self.last_processed());
        for txn in &pending {
            self.apply(txn);
        }
        pending
    }

    /// `ZKDatabase.truncateLog` + reload: keep the log up to `to`, drop snapshots newer than
    /// `to`, and rebuild the tree from the newest remaining snapshot plus the log after it.
    pub fn truncate_to(&mut self, to: Zxid) {
        let keep = self.log.partition_point(|t| t.zxid() <= to);
        self.log.truncate(keep);
        self.snapshots.retain(|(z, _)| *z <= to);
        self.rebuild_from_disk();
        self.last_logged = self.log.last().map(|t| t.zxid()).unwrap_or(Zxid::ZERO);
        if let Some((z, _)) = self.snapshots.last() {
            self.last_logged = self.last_logged.max(*z);
        }
        self.last_synced = self.last_synced.min(self.last_logged);
        debug_assert!(
            self.last_processed() <= to,
            "truncation leaves nothing past `to`"
        );
    }

    fn rebuild_from_disk(&mut self) {
        self.tree = DataTree::new();
        self.committed.clear();
        let mut base = Zxid::ZERO;
        if let Some((zxid, bytes)) = self.snapshots.last() {
            let image = persist::decode_snapshot(bytes).expect("retained snapshots are valid");
            self.tree = DataTree::restore(&image.tree).expect("retained snapshots restore");
            base = *zxid;
        }
        for txn in self.logged_after(base) {
            self.apply(&txn);
        }
    }

    /// Replace the database with a leader's snapshot (SNAP). The log this server holds is no
    /// longer a source of history for others: forget it (the files stay on disk, older than
    /// the snapshot, and recovery ignores them).
    pub fn install_snapshot(&mut self, bytes: &[u8]) -> Result<Zxid, String> {
        let image = persist::decode_snapshot(bytes).map_err(|e| e.to_string())?;
        let tree = DataTree::restore(&image.tree).map_err(|e| format!("{e:?}"))?;
        self.tree = tree;
        self.committed.clear();
        self.log.clear();
        self.last_logged = image.zxid;
        Ok(image.zxid)
    }

    /// The snapshot of the applied state, encoded as a snapshot file.
    pub fn snapshot_bytes(&self) -> (Zxid, Vec<u8>) {
        let image = SnapshotImage {
            zxid: self.last_processed(),
            sessions: self.sessions(),
            tree: self.tree.snapshot(),
        };
        (image.zxid, persist::encode_snapshot(&image))
    }

    /// A snapshot became durable.
    pub fn snapshot_written(&mut self, zxid: Zxid, bytes: Vec<u8>) {
        self.snapshots.retain(|(z, _)| *z != zxid);
        self.snapshots.push((zxid, bytes));
        self.snapshots.sort_by_key(|(z, _)| *z);
        while self.snapshots.len() > SNAPSHOTS_RETAINED {
            self.snapshots.remove(0);
        }
    }
}
