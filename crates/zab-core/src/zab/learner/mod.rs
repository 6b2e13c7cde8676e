//! A learner — follower or observer (`Learner`, `Follower`, `Observer`): connect to the
//! leader, discovery (`registerWithLeader`), synchronisation (`syncWithLeader`), then the
//! broadcast loop (`Follower.processPacket` / `Observer.processPacket`).
//!
//! The order of durable steps at NEWLEADER is the heart of several historical ZooKeeper bugs
//! (ZOOKEEPER-3911, -4643, -4646, -4785): snapshot if SNAP/TRUNC, then log + fsync the
//! transactions the leader already committed, THEN write currentEpoch, THEN ack. Each step
//! waits for the previous one's `PersistDone`. The bug switches reorder it on purpose.

mod sync_with_leader;

use super::discovery::{answer_leader_info, LeaderInfoAnswer};
use super::disk::Pending;
use super::packet::{ForwardedOp, QuorumPacket, SessionTouch, PROTOCOL_VERSION};
use super::replica::Replica;
use crate::bugs::Bug;
use crate::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use crate::peer::{Channel, Output, PersistOp, PersistToken, ServerEvent, SyncMethod, Timer};
use crate::request::{Id, Request};
use crate::session::SessionTracker;
use crate::tree::Applied;
use crate::txn::Txn;
use std::collections::{BTreeMap, VecDeque};

/// ZooKeeper's `connectToLeader` tries five times, a second apart.
const CONNECT_ATTEMPTS_MAX: u32 = 5;
const CONNECT_RETRY_MS: u64 = 1000;

/// The durable steps after NEWLEADER, each waiting for the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NewLeaderStep {
    /// Waiting for the snapshot / synced log; then write currentEpoch.
    ThenWriteEpoch(PersistToken),
    /// Waiting for currentEpoch; then ACK.
    ThenAck(PersistToken),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    AwaitLeaderInfo,
    PersistingAcceptedEpoch(PersistToken),
    /// ACKEPOCH sent; waiting for DIFF/TRUNC/SNAP.
    AwaitSyncMode,
    Syncing,
    NewLeaderPersisting(NewLeaderStep),
    AwaitUpToDate,
    Serving,
}

/// `syncWithLeader`'s local state.
#[derive(Clone, Debug, Default)]
struct SyncState {
    method: Option<SyncMethod>,
    leader_zxid: Zxid,
    snapshot_needed: bool,
    write_to_txn_log: bool,
    not_logged: VecDeque<Txn>,
    committed: VecDeque<Zxid>,
    uptodate_deferred: bool,
    ack_sent: bool,
}

/// A following or observing server.
pub struct Learner {
    leader: ServerId,
    observer: bool,
    phase: Phase,
    new_epoch: Epoch,
    /// What ACKEPOCH will carry once acceptedEpoch is durable.
    ack_epoch_value: Option<Epoch>,
    last_heard: Millis,
    connect_attempts: u32,
    retry_at: Option<Millis>,
    sync: SyncState,
    /// Proposals logged in broadcast, waiting for the fsync that covers them before ACK.
    unacked: VecDeque<Zxid>,
    /// `FollowerZooKeeperServer.pendingTxns`: logged proposals waiting for COMMIT.
    pending_txns: VecDeque<Txn>,
    /// Forwarded `sync`s waiting for the leader's SYNC, oldest first.
    pending_syncs: VecDeque<SessionId>,
    last_queued: Zxid,
    /// `read-uncommitted`: proposals applied before their COMMIT, with their results.
    applied_early: BTreeMap<Zxid, Applied>,
    /// `follower-expires-sessions`: the follower's own (wrong) expiry decisions.
    local_sessions: SessionTracker,
    /// `commit-out-of-order`: a committed write handed to its session's worker and not yet
    /// applied (see `dispatch_to_worker`).
    commit_worker: Option<Txn>,
}

type Step = Result<(), String>;

impl Learner {
    pub fn start(r: &mut Replica, leader: ServerId, observer: bool) -> Learner {
        r.db.fast_forward();
        let mut learner = Learner {
            leader,
            observer,
            phase: Phase::Connecting,
            new_epoch: Epoch::ZERO,
            ack_epoch_value: None,
            last_heard: r.now,
            connect_attempts: 0,
            retry_at: None,
            sync: SyncState::default(),
            unacked: VecDeque::new(),
            pending_txns: VecDeque::new(),
            pending_syncs: VecDeque::new(),
            last_queued: Zxid::ZERO,
            applied_early: BTreeMap::new(),
            local_sessions: SessionTracker::new(&r.config, r.now),
            commit_worker: None,
        };
        learner.connect(r);
        r.set_timer(Timer::Tick, r.now + (r.config.tick_ms / 2).max(1));
        learner
    }

    pub fn leader(&self) -> ServerId {
        self.leader
    }

    pub fn is_observer(&self) -> bool {
        self.observer
    }

    pub fn is_serving(&self) -> bool {
        self.phase == Phase::Serving
    }

    fn connect(&mut self, r: &mut Replica) {
        self.connect_attempts += 1;
        self.retry_at = None;
        self.phase = Phase::Connecting;
        r.out.push_back(Output::Connect {
            to: self.leader,
            channel: Channel::Quorum,
            timeout: Millis(r.config.tick_ms * r.config.init_limit),
        });
    }

    /// The quorum connection to the leader is up: introduce ourselves.
    pub fn on_connected(&mut self, r: &mut Replica, peer: ServerId) {
        if peer != self.leader || self.phase != Phase::Connecting {
            return;
        }
        self.last_heard = r.now;
        self.phase = Phase::AwaitLeaderInfo;
        let accepted_epoch = r.db.accepted_epoch;
        let sid = r.me();
        let info = if self.observer {
            QuorumPacket::ObserverInfo {
                sid,
                accepted_epoch,
                protocol_version: PROTOCOL_VERSION,
            }
        } else {
            QuorumPacket::FollowerInfo {
                sid,
                accepted_epoch,
                protocol_version: PROTOCOL_VERSION,
            }
        };
        r.send(self.leader, info);
    }

    /// The connection failed or closed.
    pub fn on_connection_lost(&mut self, r: &mut Replica, peer: ServerId) -> Step {
        if peer != self.leader {
            return Ok(());
        }
        match self.phase {
            Phase::Connecting | Phase::AwaitLeaderInfo => {
                if self.connect_attempts >= CONNECT_ATTEMPTS_MAX {
                    return Err("could not connect to the leader".into());
                }
                self.phase = Phase::Connecting;
                self.retry_at = Some(r.now + CONNECT_RETRY_MS);
                Ok(())
            }
            _ => Err("connection to the leader closed".into()),
        }
    }

    pub fn on_timer(&mut self, r: &mut Replica, timer: Timer) -> Step {
        if timer != Timer::Tick {
            return Ok(());
        }
        r.set_timer(Timer::Tick, r.now + (r.config.tick_ms / 2).max(1));
        self.finish_commit_worker(r);
        if let Some(at) = self.retry_at {
            if at <= r.now && self.phase == Phase::Connecting {
                self.connect(r);
            }
        }
        // The socket read timeout: initLimit ticks until NEWLEADER is acked, syncLimit after.
        let ticks = match self.phase {
            Phase::AwaitUpToDate | Phase::Serving => r.config.sync_limit,
            _ => r.config.init_limit,
        };
        if r.now.0 > self.last_heard.0 + ticks * r.config.tick_ms {
            return Err(format!("leader {} silent for {} ticks", self.leader, ticks));
        }
        if self.phase == Phase::Serving && r.config.bugs.has(Bug::FollowerExpiresSessions) {
            for session in self.local_sessions.expire(r.now) {
                r.event(ServerEvent::SessionExpired { session });
                self.submit(
                    r,
                    session,
                    0,
                    ForwardedOp::Client(Request::CloseSession),
                    &[],
                );
            }
        }
        Ok(())
    }

    /// Forward a client write / session op / sync to the leader (REQUEST).
    pub fn submit(
        &mut self,
        r: &mut Replica,
        session: SessionId,
        cxid: i32,
        op: ForwardedOp,
        auth: &[Id],
    ) {
        if matches!(op, ForwardedOp::Client(Request::Sync { .. })) {
            self.pending_syncs.push_back(session);
        }
        r.send(
            self.leader,
            QuorumPacket::Request {
                session,
                cxid,
                op,
                auth: auth.to_vec(),
            },
        );
    }

    /// A client connected here touched its session.
    pub fn touch(&mut self, r: &mut Replica, session: SessionId) {
        let timeout = r.db.tree.session_timeout(session).unwrap_or(0);
        r.clients.touch(session, timeout);
        if r.config.bugs.has(Bug::FollowerExpiresSessions)
            && !self.local_sessions.touch(session, r.now)
        {
            self.local_sessions.track_session(session, timeout, r.now);
        }
    }

    pub fn on_packet(&mut self, r: &mut Replica, from: ServerId, packet: QuorumPacket) -> Step {
        if from != self.leader {
            return Ok(());
        }
        self.last_heard = r.now;
        match self.phase {
            Phase::Connecting => Ok(()),
            Phase::AwaitLeaderInfo => self.leader_info(r, packet),
            Phase::PersistingAcceptedEpoch(_) => Ok(()),
            Phase::AwaitSyncMode => self.sync_mode(r, packet),
            Phase::Syncing | Phase::NewLeaderPersisting(_) | Phase::AwaitUpToDate => {
                self.sync_packet(r, packet)
            }
            Phase::Serving => self.serving_packet(r, packet),
        }
    }

    fn leader_info(&mut self, r: &mut Replica, packet: QuorumPacket) -> Step {
        let QuorumPacket::LeaderInfo { new_epoch, .. } = packet else {
            return Err(format!(
                "first packet should have been LEADERINFO, got {}",
                packet.name()
            ));
        };
        self.new_epoch = new_epoch;
        match answer_leader_info(r.db.accepted_epoch, new_epoch)? {
            LeaderInfoAnswer::Accept => {
                self.ack_epoch_value = Some(r.db.current_epoch);
                let token = r.write_accepted_epoch(new_epoch);
                if r.config.bugs.has(Bug::AckEpochBeforePersist) {
                    self.send_ack_epoch(r);
                } else {
                    self.phase = Phase::PersistingAcceptedEpoch(token);
                }
            }
            LeaderInfoAnswer::AlreadyAccepted => {
                self.ack_epoch_value = None;
                self.send_ack_epoch(r);
            }
        }
        Ok(())
    }

    fn send_ack_epoch(&mut self, r: &mut Replica) {
        self.phase = Phase::AwaitSyncMode;
        let last_zxid = r.db.last_processed();
        r.send(
            self.leader,
            QuorumPacket::AckEpoch {
                last_zxid,
                current_epoch: self.ack_epoch_value,
            },
        );
    }

    /// A disk request completed.
    pub fn on_persisted(
        &mut self,
        r: &mut Replica,
        token: PersistToken,
        _pending: &Pending,
    ) -> Step {
        match self.phase {
            Phase::PersistingAcceptedEpoch(t) if t == token => {
                self.send_ack_epoch(r);
                Ok(())
            }
            Phase::NewLeaderPersisting(NewLeaderStep::ThenWriteEpoch(t)) if t == token => {
                let epoch_token = r.write_current_epoch(self.new_epoch);
                self.phase = Phase::NewLeaderPersisting(NewLeaderStep::ThenAck(epoch_token));
                Ok(())
            }
            Phase::NewLeaderPersisting(NewLeaderStep::ThenAck(t)) if t == token => {
                self.send_newleader_ack(r);
                self.phase = Phase::AwaitUpToDate;
                if self.sync.uptodate_deferred {
                    return self.up_to_date(r);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn log_and_commit(&mut self, r: &mut Replica, txn: &Txn) {
        if txn.zxid() <= r.db.last_processed() {
            return;
        }
        if txn.zxid() > r.db.last_logged {
            r.log_txn(txn);
        }
        r.commit(txn);
    }

    /// A follower logs a proposal; it acks after the fsync covering it.
    fn log_proposal(&mut self, r: &mut Replica, txn: Txn) {
        if txn.zxid() <= r.db.last_logged {
            return;
        }
        r.log_txn(&txn);
        if r.config.bugs.has(Bug::AckBeforeFsync) {
            r.send(self.leader, QuorumPacket::Ack { zxid: txn.zxid() });
        } else {
            self.unacked.push_back(txn.zxid());
        }
        if r.config.bugs.has(Bug::ReadUncommitted) && txn.zxid() > r.db.last_processed() {
            let applied = r.db.apply(&txn);
            self.applied_early.insert(txn.zxid(), applied);
        }
        self.pending_txns.push_back(txn);
    }

    /// `FollowerZooKeeperServer.commit`: the COMMIT must be for the oldest pending proposal.
    fn commit_zxid(&mut self, r: &mut Replica, zxid: Zxid) -> Step {
        let pending = self.pending_txns.iter().any(|t| t.zxid() == zxid);
        if !pending && zxid <= r.db.last_processed() {
            // A COMMIT for something already applied (a duplicated packet): nothing to do.
            return Ok(());
        }
        match self.pending_txns.front() {
            None => return Ok(()), // "Committing without seeing txn"
            Some(t) if t.zxid() == zxid => {}
            Some(t) => {
                return Err(format!(
                    "committing zxid {zxid} but next pending txn {}",
                    t.zxid()
                ))
            }
        }
        let txn = self.pending_txns.pop_front().expect("front");
        if let Some(applied) = self.applied_early.remove(&zxid) {
            r.report_early_applied(&txn, &applied);
        } else if r.config.bugs.has(Bug::CommitOutOfOrder) {
            self.dispatch_to_worker(r, txn);
        } else if txn.zxid() > r.db.last_processed() {
            r.commit(&txn);
        }
        Ok(())
    }

    /// The `commit-out-of-order` bug: ZooKeeper's `CommitProcessor` hands every committed
    /// write to a pool of worker threads chosen by session id, and keeps writes in zxid order
    /// only by waiting until the pool is empty before it hands over the next one
    /// (`waitForEmptyPool`; since ZOOKEEPER-3359 it applies writes on its own thread). Here
    /// that wait is missing: a committed write stays with its worker until the next COMMIT or
    /// tick; a write of the same session queues behind it on the same worker, but a write of
    /// another session runs on another worker and is applied first.
    fn dispatch_to_worker(&mut self, r: &mut Replica, txn: Txn) {
        match self.commit_worker.take() {
            None => self.commit_worker = Some(txn),
            Some(running) if running.header.session == txn.header.session => {
                Self::apply_from_worker(r, &running);
                self.commit_worker = Some(txn);
            }
            Some(running) => {
                debug_assert!(running.zxid() < txn.zxid(), "COMMITs arrive in zxid order");
                Self::apply_from_worker(r, &txn);
                Self::apply_from_worker(r, &running);
            }
        }
    }

    /// The worker holding a committed write finishes it (a tick passed, or the role ends and
    /// the pool is drained).
    fn finish_commit_worker(&mut self, r: &mut Replica) {
        if let Some(txn) = self.commit_worker.take() {
            Self::apply_from_worker(r, &txn);
        }
    }

    fn apply_from_worker(r: &mut Replica, txn: &Txn) {
        if txn.zxid() > r.db.last_processed() {
            r.commit(txn);
        } else {
            r.commit_late(txn);
        }
    }

    fn reply_ping(&mut self, r: &mut Replica, zxid: Zxid) {
        let touches = r
            .clients
            .take_touches()
            .into_iter()
            .map(|(session, timeout_ms)| SessionTouch {
                session,
                timeout_ms,
            })
            .collect();
        r.send(self.leader, QuorumPacket::Ping { zxid, touches });
    }

    /// `Follower.processPacket` / `Observer.processPacket`.
    fn serving_packet(&mut self, r: &mut Replica, packet: QuorumPacket) -> Step {
        match packet {
            QuorumPacket::Ping { zxid, .. } => self.reply_ping(r, zxid),
            QuorumPacket::Proposal(txn) if !self.observer => {
                if self.last_queued != Zxid::ZERO && txn.zxid().0 != self.last_queued.0 + 1 {
                    // ZooKeeper only warns ("Got zxid … expected …").
                }
                self.last_queued = txn.zxid();
                self.log_proposal(r, txn);
            }
            QuorumPacket::Commit { zxid } if !self.observer => self.commit_zxid(r, zxid)?,
            QuorumPacket::Inform(txn) if self.observer => {
                self.last_queued = txn.zxid();
                self.log_and_commit(r, &txn);
            }
            QuorumPacket::Sync { .. } => {
                if let Some(session) = self.pending_syncs.pop_front() {
                    r.clients.sync_done(session, &mut r.db.tree, &mut r.out);
                }
            }
            QuorumPacket::RevalidateReply { session, valid } => {
                if let Some(pending) = r.clients.take_pending_connect(session) {
                    if valid {
                        r.clients
                            .establish(pending.conn, session, pending.timeout_ms, &mut r.out);
                    } else {
                        r.out.push_back(Output::ClientConnected {
                            conn: pending.conn,
                            response: Some(super::clients::expired_response()),
                        });
                        r.out.push_back(Output::ClientClose { conn: pending.conn });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The log is durable up to `up_to`: ACK the proposals it covers, in order.
    pub fn on_synced(&mut self, r: &mut Replica, up_to: Zxid) {
        while let Some(zxid) = self.unacked.front().copied() {
            if zxid > up_to {
                break;
            }
            debug_assert!(
                zxid <= r.db.last_synced,
                "a follower never acks a zxid it has not synced"
            );
            self.unacked.pop_front();
            r.send(self.leader, QuorumPacket::Ack { zxid });
        }
    }

    /// Ask the leader whether a reconnecting client's session is still valid.
    pub fn revalidate(&mut self, r: &mut Replica, session: SessionId, timeout_ms: i32) {
        r.send(
            self.leader,
            QuorumPacket::Revalidate {
                session,
                timeout_ms,
            },
        );
    }

    pub fn stop(&mut self, r: &mut Replica) {
        self.finish_commit_worker(r);
        r.out.push_back(Output::Disconnect {
            peer: self.leader,
            channel: Channel::Quorum,
        });
    }
}
