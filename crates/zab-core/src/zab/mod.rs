//! ZooKeeper Atomic Broadcast: discovery, synchronisation, broadcast (`Leader`, `Learner`,
//! `LearnerHandler`, `Follower`, `Observer`), plus the client-facing serving that depends on the
//! role (forwarding writes, revalidating sessions).
//!
//! [`Zab`] is what the `Peer` owns next to its election: the peer tells it which role the
//! election settled on (`start_leading`, `start_following`, `start_observing`, `stop`) and hands
//! it every input that is not the election's; when ZAB gives up (a timeout, a lost quorum, a
//! stale leader) [`Zab::take_abandon`] says so and the peer goes back to LOOKING.

pub mod broadcast;
pub mod clients;
pub mod database;
pub mod discovery;
pub mod disk;
pub mod leader;
pub mod learner;
pub mod packet;
pub mod replica;
pub mod sync;

use self::broadcast::SyncWaiter;
use self::clients::{expired_response, session_password, PendingConnect};
use self::database::{Database, RecoveryError, RecoveryReport};
use self::disk::Pending;
use self::leader::Leader;
use self::learner::Learner;
use self::packet::ForwardedOp;
use self::replica::Replica;
use crate::bugs::Bug;
use crate::config::Config;
use crate::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use crate::peer::{Channel, ConnId, Input, Output, PeerMessage, Recovered, Role, ServerEvent};
use crate::request::{ConnectRequest, Id, Request, Response};
use std::collections::VecDeque;

/// The role ZAB is playing.
enum ZabRole {
    Looking,
    Leading(Box<Leader>),
    Learning(Box<Learner>),
}

/// One server's ZAB state and database.
pub struct Zab {
    replica: Replica,
    role: ZabRole,
    abandon: Option<String>,
    /// A disk request failed: ZooKeeper exits the process (its in-memory log no longer
    /// matches the disk), so this server stops for good; the driver may restart it from disk.
    halted: Option<String>,
    next_session: Option<i64>,
}

impl Zab {
    /// A server's state after reading its disk back.
    pub fn recover(
        config: Config,
        recovered: &Recovered,
    ) -> Result<(Zab, RecoveryReport), RecoveryError> {
        let (db, report) = Database::recover(&config, recovered)?;
        let mut zab = Zab::from_database(config, db);
        // The snapshot's transactions were committed before the crash and are not re-applied
        // one by one, so they are not reported again; only the log records replayed on top of
        // it are (once a leader's history is known to contain them). Without this, a log
        // record older than the snapshot (kept in an old log file) was reported as committed
        // after the newer ones, which the checker rightly saw as a gap in the commit order.
        zab.replica.reported = report.snapshot.unwrap_or(Zxid::ZERO);
        Ok((zab, report))
    }

    /// A server with an empty disk.
    pub fn empty(config: Config) -> Zab {
        let db = Database::empty(&config);
        Zab::from_database(config, db)
    }

    fn from_database(config: Config, db: Database) -> Zab {
        Zab {
            replica: Replica::new(config, db),
            role: ZabRole::Looking,
            abandon: None,
            halted: None,
            next_session: None,
        }
    }

    /// Seed ZAB's one random choice (the snapshot interval's jitter) from the peer's seed.
    pub fn seed(&mut self, seed: u64) {
        self.replica.seed(seed);
    }

    /// The zxid this server votes with (`getLastLoggedZxid`: the last transaction it has
    /// loaded, its whole log included).
    pub fn last_logged_zxid(&self) -> Zxid {
        self.replica
            .db
            .last_processed()
            .max(self.replica.db.last_logged)
    }

    /// `currentEpoch` (the election's `peerEpoch`).
    pub fn current_epoch(&self) -> Epoch {
        self.replica.db.current_epoch
    }

    pub fn accepted_epoch(&self) -> Epoch {
        self.replica.db.accepted_epoch
    }

    pub fn last_processed(&self) -> Zxid {
        self.replica.db.last_processed()
    }

    /// The tree digest (what replicas compare).
    pub fn digest(&self) -> u64 {
        self.replica.db.tree.digest()
    }

    pub fn role(&self) -> Role {
        match &self.role {
            ZabRole::Looking => Role::Looking,
            ZabRole::Leading(_) => Role::Leading,
            ZabRole::Learning(l) if l.is_observer() => Role::Observing,
            ZabRole::Learning(_) => Role::Following,
        }
    }

    /// Is this server answering clients (an established leader, or a learner after UPTODATE)?
    pub fn is_serving(&self) -> bool {
        match &self.role {
            ZabRole::Looking => false,
            ZabRole::Leading(l) => l.is_established(),
            ZabRole::Learning(l) => l.is_serving(),
        }
    }

    /// Why ZAB gave up its role since the last call, if it did. The peer then goes LOOKING.
    pub fn take_abandon(&mut self) -> Option<String> {
        self.abandon.take()
    }

    /// Why this server stopped for good (a failed disk request), if it did.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// Move every queued output to the peer's outbox.
    pub fn drain_into(&mut self, out: &mut VecDeque<Output>) {
        out.extend(self.replica.out.drain(..));
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.replica.out.pop_front()
    }

    pub fn start_leading(&mut self, now: Millis) {
        self.stop(now);
        self.abandon = None;
        self.replica.now = now;
        let (leader, step) = Leader::start(&mut self.replica);
        self.role = ZabRole::Leading(Box::new(leader));
        self.finish(step);
    }

    pub fn start_following(&mut self, now: Millis, leader: ServerId) {
        self.start_learning(now, leader, false);
    }

    pub fn start_observing(&mut self, now: Millis, leader: ServerId) {
        self.start_learning(now, leader, true);
    }

    fn start_learning(&mut self, now: Millis, leader: ServerId, observer: bool) {
        self.stop(now);
        self.abandon = None;
        self.replica.now = now;
        let learner = Learner::start(&mut self.replica, leader, observer);
        self.role = ZabRole::Learning(Box::new(learner));
        self.finish(Ok(()));
    }

    /// Leave the current role (`shutdown`): close connections and clients, and fast-forward
    /// the database over the whole log (ZOOKEEPER-2845's fix).
    pub fn stop(&mut self, now: Millis) {
        self.replica.now = now;
        let r = &mut self.replica;
        match std::mem::replace(&mut self.role, ZabRole::Looking) {
            ZabRole::Looking => return,
            ZabRole::Leading(mut leader) => leader.stop(r),
            ZabRole::Learning(mut learner) => learner.stop(r),
        }
        r.cancel_timer(crate::peer::Timer::Tick);
        r.cancel_timer(crate::peer::Timer::PhaseDeadline);
        r.clients.close_all(&mut r.db.tree, &mut r.out);
        if self.halted.is_some() {
            return;
        }
        r.db.fast_forward();
        r.end_of_input();
    }

    fn finish(&mut self, step: Result<(), String>) {
        if let Err(reason) = step {
            self.abandon = Some(reason);
            let now = self.replica.now;
            self.stop(now);
        }
        if self.halted.is_none() {
            self.replica.end_of_input();
        }
    }

    /// Handle an input if it is ZAB's; returns `false` for election traffic and timers.
    pub fn handle(&mut self, now: Millis, input: Input) -> bool {
        self.replica.now = now;
        if self.halted.is_some() {
            return true;
        }
        let step = match input {
            Input::Message {
                from,
                msg: PeerMessage::Quorum(packet),
            } => self.on_packet(from, packet),
            Input::Message { .. } => return false,
            Input::Connected {
                peer,
                channel: Channel::Quorum,
                outbound,
            } => {
                match &mut self.role {
                    ZabRole::Learning(l) if outbound => l.on_connected(&mut self.replica, peer),
                    ZabRole::Leading(_) => {}
                    _ if !outbound => self.replica.out.push_back(Output::Disconnect {
                        peer,
                        channel: Channel::Quorum,
                    }),
                    _ => {}
                }
                Ok(())
            }
            Input::Disconnected {
                peer,
                channel: Channel::Quorum,
            }
            | Input::ConnectFailed {
                peer,
                channel: Channel::Quorum,
            } => match &mut self.role {
                ZabRole::Learning(l) => l.on_connection_lost(&mut self.replica, peer),
                ZabRole::Leading(l) => {
                    l.on_disconnected(&mut self.replica, peer);
                    Ok(())
                }
                ZabRole::Looking => Ok(()),
            },
            Input::Connected { .. } | Input::Disconnected { .. } | Input::ConnectFailed { .. } => {
                return false
            }
            Input::TimerFired(timer) => match timer {
                crate::peer::Timer::Tick
                | crate::peer::Timer::PhaseDeadline
                | crate::peer::Timer::SessionExpiry => match &mut self.role {
                    ZabRole::Leading(l) => l.on_timer(&mut self.replica, timer),
                    ZabRole::Learning(l) => l.on_timer(&mut self.replica, timer),
                    ZabRole::Looking => Ok(()),
                },
                _ => return false,
            },
            Input::PersistDone { token, result } => self.on_persist_done(token, result),
            Input::ClientConnect { conn, request } => self.client_connect(conn, request),
            Input::ClientRequest { conn, xid, request } => self.client_request(conn, xid, request),
            Input::ClientPing { conn } => {
                if let Some(session) = self.replica.clients.session_of(conn) {
                    self.touch(session);
                    let zxid = self.replica.db.last_processed();
                    self.replica.out.push_back(Output::ClientReply {
                        conn,
                        xid: -2,
                        zxid,
                        result: Ok(Response::Empty),
                    });
                }
                Ok(())
            }
            Input::ClientDisconnected { conn } => {
                let r = &mut self.replica;
                r.clients.disconnect(conn, &mut r.db.tree);
                Ok(())
            }
        };
        self.finish(step);
        true
    }

    fn on_packet(&mut self, from: ServerId, packet: packet::QuorumPacket) -> Result<(), String> {
        match &mut self.role {
            ZabRole::Leading(l) => l.on_packet(&mut self.replica, from, packet),
            ZabRole::Learning(l) => l.on_packet(&mut self.replica, from, packet),
            ZabRole::Looking => {
                // Not leading: a learner that reached us is told to go away and retries.
                if matches!(
                    packet,
                    packet::QuorumPacket::FollowerInfo { .. }
                        | packet::QuorumPacket::ObserverInfo { .. }
                ) {
                    self.replica.out.push_back(Output::Disconnect {
                        peer: from,
                        channel: Channel::Quorum,
                    });
                }
                Ok(())
            }
        }
    }

    fn on_persist_done(
        &mut self,
        token: crate::peer::PersistToken,
        result: Result<(), crate::peer::DiskError>,
    ) -> Result<(), String> {
        let Some(pending) = self.replica.disk.complete(token) else {
            return Ok(());
        };
        if let Err(error) = result {
            // ZooKeeper exits on a failed disk write: what it holds in memory no longer
            // matches the disk. Stop for good; a restart recovers from what the disk kept.
            let reason = format!("disk error {error:?} on {}", pending.name());
            self.halted = Some(reason.clone());
            self.replica.event(ServerEvent::Halted { reason });
            let now = self.replica.now;
            self.stop(now);
            return Ok(());
        }
        let r = &mut self.replica;
        match &pending {
            Pending::Append(_) => {}
            Pending::Fsync(up_to) => {
                r.db.last_synced = r.db.last_synced.max(*up_to).min(r.db.last_logged);
                r.event(ServerEvent::LogSynced { zxid: *up_to });
            }
            Pending::AcceptedEpoch(epoch) => r.event(ServerEvent::AcceptedEpoch { epoch: *epoch }),
            Pending::CurrentEpoch(epoch) => r.event(ServerEvent::CurrentEpoch { epoch: *epoch }),
            Pending::Snapshot(zxid, bytes) => {
                r.db.snapshot_written(*zxid, bytes.clone());
                r.event(ServerEvent::Snapshot { zxid: *zxid });
            }
            Pending::Truncate(to) => r.event(ServerEvent::Truncated { to: *to }),
        }
        match &mut self.role {
            ZabRole::Leading(l) => {
                if let Pending::Fsync(up_to) = pending {
                    l.on_synced(r, up_to)?;
                }
                l.on_persisted(r, token, &pending)
            }
            ZabRole::Learning(l) => {
                if let Pending::Fsync(up_to) = pending {
                    l.on_synced(r, up_to);
                }
                l.on_persisted(r, token, &pending)
            }
            ZabRole::Looking => Ok(()),
        }
    }

    fn touch(&mut self, session: SessionId) {
        match &mut self.role {
            ZabRole::Leading(l) => {
                l.touch(&self.replica, session);
            }
            ZabRole::Learning(l) => l.touch(&mut self.replica, session),
            ZabRole::Looking => {}
        }
    }

    /// `ZooKeeperServer.processConnectRequest`.
    fn client_connect(&mut self, conn: ConnId, request: ConnectRequest) -> Result<(), String> {
        let serving = self.is_serving();
        let r = &mut self.replica;
        if !serving || request.last_zxid_seen > r.db.last_processed() {
            // Not serving, or the client has seen a newer zxid than ours: refuse.
            r.out.push_back(Output::ClientConnected {
                conn,
                response: None,
            });
            return Ok(());
        }
        let min = r.config.min_session_timeout() as i32;
        let max = r.config.max_session_timeout() as i32;
        let timeout_ms = request.timeout_ms.clamp(min, max);
        if request.session == SessionId(0) {
            let session = self.new_session_id();
            let r = &mut self.replica;
            r.clients.add_pending_connect(
                session,
                PendingConnect {
                    conn,
                    request,
                    timeout_ms,
                },
            );
            return self.submit(
                session,
                0,
                ForwardedOp::CreateSession { timeout_ms },
                vec![],
            );
        }
        let session = request.session;
        if request.passwd != session_password(session) {
            self.reject_session(conn);
            return Ok(());
        }
        match &mut self.role {
            ZabRole::Leading(l) => {
                if l.touch(&self.replica, session) {
                    let r = &mut self.replica;
                    r.clients.establish(conn, session, timeout_ms, &mut r.out);
                } else {
                    self.reject_session(conn);
                }
            }
            ZabRole::Learning(l) => {
                let r = &mut self.replica;
                r.clients.add_pending_connect(
                    session,
                    PendingConnect {
                        conn,
                        request,
                        timeout_ms,
                    },
                );
                l.revalidate(r, session, timeout_ms);
            }
            ZabRole::Looking => {}
        }
        Ok(())
    }

    fn reject_session(&mut self, conn: ConnId) {
        let r = &mut self.replica;
        r.out.push_back(Output::ClientConnected {
            conn,
            response: Some(expired_response()),
        });
        r.out.push_back(Output::ClientClose { conn });
    }

    /// `SessionTrackerImpl.initializeNextSessionId` then increments.
    fn new_session_id(&mut self) -> SessionId {
        let me = self.replica.me();
        let now = self.replica.now;
        let next = self
            .next_session
            .get_or_insert_with(|| SessionId::initial(me, now).0);
        let session = SessionId(*next);
        *next += 1;
        session
    }

    fn submit(
        &mut self,
        session: SessionId,
        cxid: i32,
        op: ForwardedOp,
        auth: Vec<Id>,
    ) -> Result<(), String> {
        match &mut self.role {
            ZabRole::Leading(l) => l.submit(&mut self.replica, session, cxid, op, &auth),
            ZabRole::Learning(l) => {
                l.submit(&mut self.replica, session, cxid, op, &auth);
                Ok(())
            }
            ZabRole::Looking => Ok(()),
        }
    }

    fn client_request(&mut self, conn: ConnId, xid: i32, request: Request) -> Result<(), String> {
        let Some(session) = self.replica.clients.session_of(conn) else {
            return Ok(());
        };
        if !self.is_serving() {
            self.replica.out.push_back(Output::ClientClose { conn });
            return Ok(());
        }
        self.touch(session);
        let r = &mut self.replica;
        match request {
            Request::AddAuth { scheme, auth } => {
                let zxid = r.db.last_processed();
                match crate::tree::acl::auth_ids(&scheme, &auth, None, None) {
                    Ok(ids) => {
                        for id in ids {
                            r.clients.add_auth(conn, id);
                        }
                        r.out.push_back(Output::ClientReply {
                            conn,
                            xid,
                            zxid,
                            result: Ok(Response::Empty),
                        });
                    }
                    Err(code) => {
                        // AUTHFAILED, then ZooKeeper closes the connection.
                        r.out.push_back(Output::ClientReply {
                            conn,
                            xid,
                            zxid,
                            result: Err(code),
                        });
                        r.out.push_back(Output::ClientClose { conn });
                        r.clients.disconnect(conn, &mut r.db.tree);
                    }
                }
                Ok(())
            }
            Request::Sync { path } => {
                if !r.clients.enqueue_sync(conn, xid, path.clone()) {
                    r.out.push_back(Output::ClientClose { conn });
                    return Ok(());
                }
                match &mut self.role {
                    ZabRole::Leading(l) => {
                        l.sync(&mut self.replica, SyncWaiter::Local(session));
                        Ok(())
                    }
                    _ => {
                        let auth = self.replica.clients.auth_of(conn);
                        self.submit(
                            session,
                            xid,
                            ForwardedOp::Client(Request::Sync { path }),
                            auth,
                        )
                    }
                }
            }
            request if request.is_write() => {
                if !r.clients.enqueue_write(conn, xid) {
                    r.out.push_back(Output::ClientClose { conn });
                    return Ok(());
                }
                let auth = r.clients.auth_of(conn);
                self.submit(session, xid, ForwardedOp::Client(request), auth)
            }
            request => {
                let request = match request {
                    Request::SetWatches {
                        data,
                        exist,
                        child,
                        persistent,
                        persistent_recursive,
                        ..
                    } if r.config.bugs.has(Bug::SetWatchesIgnoresZxid) => Request::SetWatches {
                        // Newer than any node: nothing looks changed, everything re-arms.
                        relative_zxid: Zxid::from_i64(i64::MAX),
                        data,
                        exist,
                        child,
                        persistent,
                        persistent_recursive,
                    },
                    request => request,
                };
                if !r
                    .clients
                    .read(conn, xid, request, &mut r.db.tree, &mut r.out)
                {
                    r.out.push_back(Output::ClientClose { conn });
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
