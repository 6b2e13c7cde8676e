//! Synchronisation, the learner's side (`Learner.syncWithLeader`): DIFF/TRUNC/SNAP, the
//! packets before and after NEWLEADER, the durable steps at NEWLEADER, and UPTODATE.

use super::*;

impl Learner {
    /// The first packet of synchronisation: DIFF, TRUNC or SNAP.
    pub(super) fn sync_mode(&mut self, r: &mut Replica, packet: QuorumPacket) -> Step {
        self.sync = SyncState::default();
        match packet {
            QuorumPacket::Diff { zxid } => {
                self.sync.method = Some(SyncMethod::Diff);
                self.sync.leader_zxid = zxid;
                self.sync.snapshot_needed = false;
                self.sync.write_to_txn_log = true;
            }
            QuorumPacket::Snap { zxid, snapshot } => {
                if r.db.last_logged > zxid {
                    r.truncate_log(zxid);
                }
                let installed =
                    r.db.install_snapshot(&snapshot)
                        .map_err(|e| format!("bad SNAP: {e}"))?;
                debug_assert_eq!(installed, zxid, "SNAP zxid matches its snapshot");
                r.reported = zxid;
                r.mark_tree_changed();
                self.sync.method = Some(SyncMethod::Snap);
                self.sync.leader_zxid = zxid;
                self.sync.snapshot_needed = true;
            }
            QuorumPacket::Trunc { zxid } => {
                r.truncate_log(zxid);
                self.sync.method = Some(SyncMethod::Trunc);
                self.sync.leader_zxid = zxid;
                self.sync.snapshot_needed = true;
            }
            other => {
                return Err(format!("unexpected packet in sync: {}", other.name()));
            }
        }
        self.last_queued = r.db.last_processed();
        self.phase = Phase::Syncing;
        Ok(())
    }

    /// `syncWithLeader`'s loop, from the mode packet to UPTODATE.
    pub(super) fn sync_packet(&mut self, r: &mut Replica, packet: QuorumPacket) -> Step {
        match packet {
            QuorumPacket::Proposal(txn) => {
                self.last_queued = txn.zxid();
                if self.sync.method == Some(SyncMethod::Trunc) {
                    self.sync.method = Some(SyncMethod::TruncDiff);
                }
                self.sync.not_logged.push_back(txn);
            }
            QuorumPacket::Commit { zxid } => {
                if !self.sync.write_to_txn_log {
                    if self
                        .sync
                        .not_logged
                        .front()
                        .is_some_and(|t| t.zxid() == zxid)
                    {
                        let txn = self.sync.not_logged.pop_front().expect("front");
                        r.commit(&txn);
                    }
                } else {
                    self.sync.committed.push_back(zxid);
                }
            }
            QuorumPacket::Inform(txn) => {
                self.last_queued = txn.zxid();
                if !self.sync.write_to_txn_log {
                    if txn.zxid() > r.db.last_processed() {
                        r.commit(&txn);
                    }
                } else {
                    self.sync.committed.push_back(txn.zxid());
                    self.sync.not_logged.push_back(txn);
                }
            }
            QuorumPacket::NewLeader { zxid } => return self.new_leader(r, zxid),
            QuorumPacket::UpToDate => {
                if matches!(self.phase, Phase::NewLeaderPersisting(_)) {
                    self.sync.uptodate_deferred = true;
                    return Ok(());
                }
                return self.up_to_date(r);
            }
            // `syncWithLeader` does not answer pings.
            _ => {}
        }
        Ok(())
    }

    /// NEWLEADER: the durable steps, in ZooKeeper's current (safe) order unless a bug says
    /// otherwise.
    pub(super) fn new_leader(&mut self, r: &mut Replica, zxid: Zxid) -> Step {
        if zxid != Zxid::new(self.new_epoch, 0) {
            return Err(format!(
                "NEWLEADER {zxid} is not for epoch {}",
                self.new_epoch
            ));
        }
        let epoch_first = r.config.bugs.has(Bug::EpochBeforeTxnsDurable);
        let mut epoch_token = None;
        if epoch_first {
            // ZOOKEEPER-4643: currentEpoch before the transactions are on disk.
            epoch_token = Some(r.write_current_epoch(self.new_epoch));
        }
        let mut last_token: Option<PersistToken> = None;
        if self.sync.snapshot_needed {
            last_token = Some(r.take_snapshot());
        }
        self.sync.write_to_txn_log = true;
        if !self.observer && !self.sync.committed.is_empty() {
            while let Some(zxid) = self.sync.committed.pop_front() {
                match self.sync.not_logged.front() {
                    Some(t) if t.zxid() == zxid => {}
                    _ => continue,
                }
                let txn = self.sync.not_logged.pop_front().expect("front");
                r.log_txn(&txn);
                if txn.zxid() > r.db.last_processed() {
                    r.commit(&txn);
                }
            }
            last_token = Some(r.persist(
                PersistOp::Fsync {
                    up_to: r.disk.last_appended(),
                },
                Pending::Fsync(r.disk.last_appended()),
            ));
        }
        if r.config.bugs.has(Bug::NewLeaderAckBeforeSync) {
            // ZOOKEEPER-3911: ack before the synced transactions are durable.
            self.send_newleader_ack(r);
        }
        let step = match (epoch_token, last_token) {
            (Some(epoch), last) => NewLeaderStep::ThenAck(last.unwrap_or(epoch)),
            (None, Some(token)) => NewLeaderStep::ThenWriteEpoch(token),
            (None, None) => NewLeaderStep::ThenAck(r.write_current_epoch(self.new_epoch)),
        };
        self.phase = Phase::NewLeaderPersisting(step);
        Ok(())
    }

    pub(super) fn send_newleader_ack(&mut self, r: &mut Replica) {
        if self.sync.ack_sent {
            return;
        }
        self.sync.ack_sent = true;
        r.send(
            self.leader,
            QuorumPacket::Ack {
                zxid: Zxid::new(self.new_epoch, 0),
            },
        );
    }

    /// UPTODATE: ack it, start serving, then log what arrived between NEWLEADER and now.
    pub(super) fn up_to_date(&mut self, r: &mut Replica) -> Step {
        r.send(
            self.leader,
            QuorumPacket::Ack {
                zxid: Zxid::new(self.new_epoch, 0),
            },
        );
        self.phase = Phase::Serving;
        r.event(ServerEvent::Synced {
            method: self.sync.method.unwrap_or(SyncMethod::Diff),
            leader_zxid: self.sync.leader_zxid,
        });
        r.report_backlog();
        let not_logged = std::mem::take(&mut self.sync.not_logged);
        let committed = std::mem::take(&mut self.sync.committed);
        if self.observer {
            let mut committed = committed;
            for txn in not_logged {
                if committed.front() != Some(&txn.zxid()) {
                    continue;
                }
                committed.pop_front();
                self.log_and_commit(r, &txn);
            }
            return Ok(());
        }
        for txn in not_logged {
            self.log_proposal(r, txn);
        }
        for zxid in committed {
            self.commit_zxid(r, zxid)?;
        }
        Ok(())
    }
}
