//! What every role shares: the configuration, the database, the disk queue, the client
//! connections and the outbox — and the few operations all roles perform the same way:
//! logging a transaction (group commit), applying a committed one (answering clients, firing
//! watches, reporting it to the checker), writing an epoch, taking a snapshot.

use super::clients::Clients;
use super::database::Database;
use super::disk::{Disk, Pending};
use super::packet::QuorumPacket;
use crate::config::Config;
use crate::ids::{Epoch, Millis, ServerId, Zxid};
use crate::peer::{Output, PeerMessage, PersistOp, PersistToken, ServerEvent, Timer};
use crate::persist;
use crate::tree::Applied;
use crate::txn::{Txn, TxnBody};
use std::collections::VecDeque;

/// State shared by every role of one server.
pub struct Replica {
    pub config: Config,
    pub db: Database,
    pub disk: Disk,
    pub clients: Clients,
    pub out: VecDeque<Output>,
    pub now: Millis,
    /// The highest zxid reported in a `Committed` event: transactions recovered from the log
    /// or fast-forwarded are only reported once a leader's history is known to contain them.
    pub reported: Zxid,
    applied_since_digest: bool,
    /// The random part of the snapshot interval.
    snap_roll: u64,
    rng: u64,
}

/// A tiny deterministic generator for the one random choice ZAB makes.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Replica {
    pub fn new(config: Config, db: Database) -> Replica {
        Replica {
            config,
            db,
            disk: Disk::default(),
            clients: Clients::default(),
            out: VecDeque::new(),
            now: Millis::ZERO,
            reported: Zxid::ZERO,
            applied_since_digest: false,
            snap_roll: 0,
            rng: 0,
        }
    }

    /// Seed the snapshot-interval randomisation (the peer's seed; deterministic per run).
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed;
        self.roll_snapshot_interval();
    }

    /// `SyncRequestProcessor`: the next snapshot comes after `snapCount/2 + randRoll` logged
    /// transactions, `randRoll` uniform in `[0, snapCount/2)`, so servers do not all snapshot
    /// at the same moment.
    fn roll_snapshot_interval(&mut self) {
        let half = (self.config.snap_count / 2).max(1);
        self.snap_roll = splitmix64(&mut self.rng) % half;
    }

    pub fn me(&self) -> ServerId {
        self.config.me
    }

    pub fn send(&mut self, to: ServerId, packet: QuorumPacket) {
        debug_assert!(
            to != self.config.me,
            "never send a quorum packet to oneself"
        );
        self.out.push_back(Output::Send {
            to,
            msg: PeerMessage::Quorum(packet),
        });
    }

    pub fn event(&mut self, event: ServerEvent) {
        self.out.push_back(Output::Event(event));
    }

    pub fn set_timer(&mut self, timer: Timer, at: Millis) {
        self.out.push_back(Output::SetTimer { timer, at });
    }

    pub fn cancel_timer(&mut self, timer: Timer) {
        self.out.push_back(Output::CancelTimer { timer });
    }

    pub fn persist(&mut self, op: PersistOp, pending: Pending) -> PersistToken {
        self.disk.issue(op, pending, &mut self.out)
    }

    /// Append a transaction to the log; it becomes durable with a later fsync (group commit).
    pub fn log_txn(&mut self, txn: &Txn) -> PersistToken {
        self.db.append(txn);
        let token = self.persist(
            PersistOp::AppendLog {
                zxid: txn.zxid(),
                record: persist::encode_record(txn),
            },
            Pending::Append(txn.zxid()),
        );
        if self.disk.unsynced_appends() >= self.config.max_batch_size.max(1) {
            self.flush();
        }
        self.maybe_snapshot();
        token
    }

    /// Issue an fsync covering every append so far, if any is unsynced.
    pub fn flush(&mut self) -> Option<PersistToken> {
        if self.disk.unsynced_appends() == 0 {
            return None;
        }
        let up_to = self.disk.last_appended();
        Some(self.persist(PersistOp::Fsync { up_to }, Pending::Fsync(up_to)))
    }

    /// The input has been handled: the request queue has drained, so start the batch's fsync
    /// unless one is already running (the next batch waits for it, as a single sync thread
    /// would); and report the tree digest if anything was applied.
    pub fn end_of_input(&mut self) {
        if !self.disk.fsync_in_flight() {
            self.flush();
        }
        if self.applied_since_digest {
            self.applied_since_digest = false;
            self.event(ServerEvent::Digest {
                zxid: self.db.last_processed(),
                digest: self.db.tree.digest(),
            });
        }
    }

    /// `snapCount`: roll to a new snapshot after that many logged transactions. The snapshot
    /// is of the applied tree, so it is "fuzzy" with respect to the log: recovery replays the
    /// log after its zxid.
    fn maybe_snapshot(&mut self) {
        let threshold = (self.config.snap_count / 2).max(1) + self.snap_roll;
        if self.db.txns_since_snapshot >= threshold {
            self.take_snapshot();
        }
    }

    pub fn take_snapshot(&mut self) -> PersistToken {
        self.db.txns_since_snapshot = 0;
        self.roll_snapshot_interval();
        let (zxid, bytes) = self.db.snapshot_bytes();
        self.persist(
            PersistOp::Snapshot {
                zxid,
                bytes: bytes.clone(),
            },
            Pending::Snapshot(zxid, bytes),
        )
    }

    pub fn write_accepted_epoch(&mut self, epoch: Epoch) -> PersistToken {
        debug_assert!(
            epoch >= self.db.accepted_epoch,
            "acceptedEpoch never goes back"
        );
        self.db.accepted_epoch = epoch;
        self.persist(
            PersistOp::WriteAcceptedEpoch(epoch),
            Pending::AcceptedEpoch(epoch),
        )
    }

    pub fn write_current_epoch(&mut self, epoch: Epoch) -> PersistToken {
        debug_assert!(
            epoch >= self.db.current_epoch,
            "currentEpoch never goes back"
        );
        self.db.current_epoch = epoch;
        self.persist(
            PersistOp::WriteCurrentEpoch(epoch),
            Pending::CurrentEpoch(epoch),
        )
    }

    pub fn truncate_log(&mut self, to: Zxid) -> PersistToken {
        self.db.truncate_to(to);
        self.applied_since_digest = true;
        self.reported = self.reported.min(to);
        self.persist(PersistOp::TruncateLog { to }, Pending::Truncate(to))
    }

    /// Apply a committed transaction: the tree, the checker's `Committed` event, watches
    /// (before any reply, so a client sees the event before the data), then the answer to the
    /// client that asked, if it is connected here.
    pub fn commit(&mut self, txn: &Txn) -> Applied {
        debug_assert!(
            txn.zxid() > self.db.last_processed(),
            "commits apply in zxid order: {} after {}",
            txn.zxid(),
            self.db.last_processed()
        );
        self.apply_committed(txn, false)
    }

    /// Apply a committed transaction after a later one was already applied (only the
    /// `commit-out-of-order` bug does this). It is reported even though the report goes
    /// backwards: the checker must see the order in which this server really applied.
    pub fn commit_late(&mut self, txn: &Txn) -> Applied {
        debug_assert!(
            self.config.bugs.has(crate::bugs::Bug::CommitOutOfOrder),
            "only the commit-out-of-order bug applies a commit late"
        );
        self.apply_committed(txn, true)
    }

    fn apply_committed(&mut self, txn: &Txn, late: bool) -> Applied {
        let applied = self.db.apply(txn);
        self.applied_since_digest = true;
        if txn.zxid() > self.reported || late {
            self.reported = self.reported.max(txn.zxid());
            self.event(ServerEvent::Committed {
                zxid: txn.zxid(),
                txn_hash: persist::txn_hash(txn),
            });
        }
        self.deliver(txn, &applied);
        applied
    }

    /// Commit a transaction that was already applied early (the `read-uncommitted` bug).
    pub fn report_early_applied(&mut self, txn: &Txn, applied: &Applied) {
        self.applied_since_digest = true;
        if txn.zxid() > self.reported {
            self.reported = txn.zxid();
            self.event(ServerEvent::Committed {
                zxid: txn.zxid(),
                txn_hash: persist::txn_hash(txn),
            });
        }
        self.deliver(txn, applied);
    }

    /// Watches and client answers for an applied transaction.
    pub fn deliver(&mut self, txn: &Txn, applied: &Applied) {
        for (conn, event) in &applied.watches {
            self.out.push_back(Output::ClientWatch {
                conn: *conn,
                event: event.clone(),
            });
        }
        let session = txn.header.session;
        match &txn.body {
            TxnBody::CreateSession { timeout_ms } => {
                if let Some(pending) = self.clients.take_pending_connect(session) {
                    self.clients
                        .establish(pending.conn, session, *timeout_ms, &mut self.out);
                }
            }
            TxnBody::CloseSession { .. } => {
                self.clients.write_applied(
                    session,
                    txn.header.cxid,
                    txn.zxid(),
                    applied.result.clone(),
                    &mut self.db.tree,
                    &mut self.out,
                );
                self.clients
                    .session_closed(session, &mut self.db.tree, &mut self.out);
            }
            _ => {
                self.clients.write_applied(
                    session,
                    txn.header.cxid,
                    txn.zxid(),
                    applied.result.clone(),
                    &mut self.db.tree,
                    &mut self.out,
                );
            }
        }
    }

    /// The tree changed other than by a commit (a SNAP, a TRUNC) or a new role starts
    /// serving: report the digest at the end of this input.
    pub fn mark_tree_changed(&mut self) {
        self.applied_since_digest = true;
    }

    /// Report the transactions this server applied from its own log (recovery,
    /// fast-forward) now that a leader's history is known to contain them.
    pub fn report_backlog(&mut self) {
        self.applied_since_digest = true;
        let last = self.db.last_processed();
        if self.reported >= last {
            return;
        }
        for txn in self.db.logged_after(self.reported) {
            if txn.zxid() > last {
                break;
            }
            self.event(ServerEvent::Committed {
                zxid: txn.zxid(),
                txn_hash: persist::txn_hash(&txn),
            });
        }
        self.reported = last;
        self.applied_since_digest = true;
    }
}
