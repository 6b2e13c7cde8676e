//! The leader (`Leader.lead` and one `LearnerHandler` per connected learner): discovery,
//! synchronisation of each learner, broadcast, pings and the quorum check, session expiry.

mod liveness;
mod propose;

use super::broadcast::{Proposals, SyncWaiter};
use super::discovery::{is_quorum, Discovery, StateSummary};
use super::disk::Pending;
use super::packet::{ForwardedOp, QuorumPacket, SessionTouch, PROTOCOL_VERSION};
use super::replica::Replica;
use super::sync::plan_sync;
use crate::bugs::Bug;
use crate::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use crate::peer::{Channel, Output, PersistToken, ServerEvent, Timer};
use crate::request::{Id, Request};
use crate::session::SessionTracker;
use crate::tree::Preparer;
use crate::txn::{Txn, TxnBody};
use std::collections::{BTreeMap, BTreeSet};

/// Where one learner is in its life with this leader (the phases of `LearnerHandler.run`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HandlerState {
    /// FOLLOWERINFO/OBSERVERINFO received; waiting for the epoch to be decided and durable.
    AwaitEpoch,
    /// LEADERINFO sent; waiting for ACKEPOCH.
    LeaderInfoSent,
    /// ACKEPOCH received; waiting for a quorum of them (`waitForEpochAck`).
    AwaitElection { last_zxid: Zxid },
    /// Sync packets and NEWLEADER queued; the next ACK must be NEWLEADER's.
    NewLeaderSent,
    /// NEWLEADER acked; waiting for the leader to be established.
    AwaitStartup,
    /// UPTODATE sent: broadcasting.
    Active,
}

#[derive(Clone, Debug)]
struct Handler {
    observer: bool,
    state: HandlerState,
    tick_of_next_ack_deadline: u64,
    /// Proposals sent and not yet acked, with when they were sent (`SyncLimitCheck`).
    unacked: BTreeMap<Zxid, Millis>,
}

impl Handler {
    fn forwarding(&self) -> bool {
        matches!(
            self.state,
            HandlerState::NewLeaderSent | HandlerState::AwaitStartup | HandlerState::Active
        )
    }
}

/// What the leader's own persistence requests are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Nothing,
    AcceptedEpoch(PersistToken),
    CurrentEpoch(PersistToken),
}

/// A leading server.
pub struct Leader {
    discovery: Discovery,
    learners: BTreeMap<ServerId, Handler>,
    proposals: Option<Proposals>,
    preparer: Preparer,
    sessions: SessionTracker,
    waiting: Waiting,
    established: bool,
    epoch: Option<Epoch>,
    /// The leader's own acks: its log is durable up to here.
    self_acked: Zxid,
    /// `self.tick`: advances every tickTime (every other half-tick).
    tick: u64,
    tick_skip: bool,
}

type Step = Result<(), String>;

impl Leader {
    /// `Leader.lead` up to waiting for learners: load (fast-forward) the database, take a
    /// clean snapshot, propose our own acceptedEpoch.
    pub fn start(r: &mut Replica) -> (Leader, Step) {
        r.db.fast_forward();
        r.take_snapshot();
        let summary = StateSummary {
            current_epoch: r.db.current_epoch,
            last_zxid: r.db.last_processed(),
        };
        let mut leader = Leader {
            discovery: Discovery::new(r.me(), r.config.voters.clone(), summary),
            learners: BTreeMap::new(),
            proposals: None,
            preparer: Preparer::new(),
            sessions: SessionTracker::new(&r.config, r.now),
            waiting: Waiting::Nothing,
            established: false,
            epoch: None,
            self_acked: Zxid::ZERO,
            tick: 0,
            tick_skip: true,
        };
        leader.reset_phase_deadline(r);
        r.set_timer(Timer::Tick, r.now + (r.config.tick_ms / 2).max(1));
        let accepted = r.db.accepted_epoch;
        let me = r.me();
        if let Some(epoch) = leader.discovery.epoch_to_propose(me, accepted) {
            leader.epoch_decided(r, epoch);
        }
        (leader, Ok(()))
    }

    pub fn is_established(&self) -> bool {
        self.established
    }

    pub fn epoch(&self) -> Option<Epoch> {
        self.epoch
    }

    fn reset_phase_deadline(&self, r: &mut Replica) {
        let at = r.now + r.config.init_limit * r.config.tick_ms;
        r.set_timer(Timer::PhaseDeadline, at);
    }

    fn epoch_decided(&mut self, r: &mut Replica, epoch: Epoch) {
        debug_assert!(
            epoch > r.db.accepted_epoch,
            "the new epoch exceeds every accepted one"
        );
        self.epoch = Some(epoch);
        let token = r.write_accepted_epoch(epoch);
        self.waiting = Waiting::AcceptedEpoch(token);
        self.reset_phase_deadline(r);
    }

    fn new_leader_zxid(&self) -> Zxid {
        Zxid::new(self.epoch.expect("epoch decided"), 0)
    }

    /// A disk request of ours completed.
    pub fn on_persisted(
        &mut self,
        r: &mut Replica,
        token: PersistToken,
        _pending: &Pending,
    ) -> Step {
        match self.waiting {
            Waiting::AcceptedEpoch(t) if t == token => {
                self.waiting = Waiting::Nothing;
                let epoch = self.epoch.expect("epoch decided");
                let waiting: Vec<ServerId> = self
                    .learners
                    .iter()
                    .filter(|(_, h)| h.state == HandlerState::AwaitEpoch)
                    .map(|(s, _)| *s)
                    .collect();
                for sid in waiting {
                    self.send_leader_info(r, sid, epoch);
                }
                let (current, last) = (r.db.current_epoch, r.db.last_processed());
                let me = r.me();
                self.epoch_ack(r, me, Some(current), last)
            }
            Waiting::CurrentEpoch(t) if t == token => {
                self.waiting = Waiting::Nothing;
                let me = r.me();
                let zxid = self.new_leader_zxid();
                if self.discovery.newleader_ack(me, zxid) {
                    self.establish(r)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn send_leader_info(&mut self, r: &mut Replica, sid: ServerId, epoch: Epoch) {
        if let Some(h) = self.learners.get_mut(&sid) {
            h.state = HandlerState::LeaderInfoSent;
        }
        r.send(
            sid,
            QuorumPacket::LeaderInfo {
                new_epoch: epoch,
                protocol_version: PROTOCOL_VERSION,
            },
        );
    }

    fn epoch_ack(
        &mut self,
        r: &mut Replica,
        sid: ServerId,
        current: Option<Epoch>,
        last: Zxid,
    ) -> Step {
        let was_finished = self.discovery.election_finished();
        let finished = self
            .discovery
            .epoch_ack(sid, current, last)
            .map_err(|e| format!("{e:?}: follower is ahead of the leader"))?;
        if finished && !was_finished {
            // The leader's own `setCurrentEpoch(epoch)`, then it waits for NEWLEADER acks.
            let epoch = self.epoch.expect("epoch decided");
            let token = r.write_current_epoch(epoch);
            self.waiting = Waiting::CurrentEpoch(token);
            self.proposals = Some(Proposals::new(
                r.config.voters.clone(),
                r.config.bugs.clone(),
                Zxid::new(epoch, 0),
            ));
            self.reset_phase_deadline(r);
            let ready: Vec<(ServerId, Zxid)> = self
                .learners
                .iter()
                .filter_map(|(s, h)| match h.state {
                    HandlerState::AwaitElection { last_zxid } => Some((*s, last_zxid)),
                    _ => None,
                })
                .collect();
            for (sid, last_zxid) in ready {
                self.sync_learner(r, sid, last_zxid);
            }
        }
        Ok(())
    }

    /// `syncFollower` + `startForwarding` + NEWLEADER for one learner.
    fn sync_learner(&mut self, r: &mut Replica, sid: ServerId, peer_last: Zxid) {
        let plan = plan_sync(&r.db, peer_last, r.config.bugs.has(Bug::SkipTruncate));
        let mut current = plan.current_zxid;
        if plan.need_snap {
            let (zxid, snapshot) = r.db.snapshot_bytes();
            current = zxid;
            r.send(sid, QuorumPacket::Snap { zxid, snapshot });
        } else {
            for packet in plan.packets {
                r.send(sid, packet);
            }
        }
        let observer = self.learners.get(&sid).is_some_and(|h| h.observer);
        let proposals = self
            .proposals
            .as_ref()
            .expect("synchronisation starts after discovery");
        if !observer {
            for txn in proposals.outstanding_after(current) {
                self.note_sent(r.now, sid, txn.zxid());
                r.send(sid, QuorumPacket::Proposal(txn));
            }
        }
        let zxid = self.new_leader_zxid();
        r.send(sid, QuorumPacket::NewLeader { zxid });
        if let Some(h) = self.learners.get_mut(&sid) {
            h.state = HandlerState::NewLeaderSent;
        }
    }

    fn note_sent(&mut self, now: Millis, sid: ServerId, zxid: Zxid) {
        if let Some(h) = self.learners.get_mut(&sid) {
            h.unacked.entry(zxid).or_insert(now);
        }
    }

    /// A quorum acked NEWLEADER: start serving (`startZkServer`) and release UPTODATE.
    fn establish(&mut self, r: &mut Replica) -> Step {
        if self.established {
            return Ok(());
        }
        let epoch = self.epoch.expect("epoch decided");
        debug_assert!(
            self.discovery.quorum_formed(),
            "established only with a quorum"
        );
        debug_assert_eq!(
            r.db.current_epoch, epoch,
            "a leader serves only an epoch it established"
        );
        self.established = true;
        r.event(ServerEvent::LeaderEstablished { epoch });
        r.report_backlog();
        for (session, timeout) in r.db.sessions() {
            self.sessions.track_session(session, timeout, r.now);
        }
        let ready: Vec<ServerId> = self
            .learners
            .iter()
            .filter(|(_, h)| h.state == HandlerState::AwaitStartup)
            .map(|(s, _)| *s)
            .collect();
        for sid in ready {
            self.send_up_to_date(r, sid);
        }
        Ok(())
    }

    fn send_up_to_date(&mut self, r: &mut Replica, sid: ServerId) {
        if let Some(h) = self.learners.get_mut(&sid) {
            h.state = HandlerState::Active;
        }
        r.send(sid, QuorumPacket::UpToDate);
    }

    pub fn on_disconnected(&mut self, r: &mut Replica, peer: ServerId) {
        let _ = r;
        self.learners.remove(&peer);
    }

    fn drop_learner(&mut self, r: &mut Replica, sid: ServerId) {
        self.learners.remove(&sid);
        r.out.push_back(Output::Disconnect {
            peer: sid,
            channel: Channel::Quorum,
        });
    }

    /// A packet from a learner.
    pub fn on_packet(&mut self, r: &mut Replica, from: ServerId, packet: QuorumPacket) -> Step {
        let deadline = self.tick + r.config.sync_limit;
        match packet {
            QuorumPacket::FollowerInfo { accepted_epoch, .. } => {
                self.learner_info(r, from, accepted_epoch, false)
            }
            QuorumPacket::ObserverInfo { accepted_epoch, .. } => {
                self.learner_info(r, from, accepted_epoch, true)
            }
            packet => {
                let Some(h) = self.learners.get_mut(&from) else {
                    return Ok(());
                };
                let state = h.state;
                if matches!(
                    state,
                    HandlerState::NewLeaderSent | HandlerState::AwaitStartup | HandlerState::Active
                ) {
                    h.tick_of_next_ack_deadline = deadline;
                }
                match (state, packet) {
                    (
                        HandlerState::LeaderInfoSent,
                        QuorumPacket::AckEpoch {
                            last_zxid,
                            current_epoch,
                        },
                    ) => {
                        if let Some(h) = self.learners.get_mut(&from) {
                            h.state = HandlerState::AwaitElection { last_zxid };
                        }
                        let finished_before = self.discovery.election_finished();
                        self.epoch_ack(r, from, current_epoch, last_zxid)?;
                        if finished_before {
                            self.sync_learner(r, from, last_zxid);
                        }
                        Ok(())
                    }
                    (HandlerState::LeaderInfoSent, _) => {
                        self.drop_learner(r, from);
                        Ok(())
                    }
                    (HandlerState::NewLeaderSent, QuorumPacket::Ack { zxid }) => {
                        self.newleader_ack(r, from, zxid)
                    }
                    (HandlerState::NewLeaderSent, _) => {
                        // `LearnerHandler`: the first packet after NEWLEADER must be its ACK.
                        self.drop_learner(r, from);
                        Ok(())
                    }
                    (HandlerState::AwaitStartup | HandlerState::Active, packet) => {
                        self.broadcast_packet(r, from, packet)
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    fn learner_info(
        &mut self,
        r: &mut Replica,
        from: ServerId,
        accepted: Epoch,
        observer: bool,
    ) -> Step {
        let initial = self.tick + r.config.init_limit + r.config.sync_limit;
        self.learners.insert(
            from,
            Handler {
                observer,
                state: HandlerState::AwaitEpoch,
                tick_of_next_ack_deadline: initial,
                unacked: BTreeMap::new(),
            },
        );
        match self.epoch {
            None => {
                if let Some(epoch) = self.discovery.epoch_to_propose(from, accepted) {
                    self.epoch_decided(r, epoch);
                }
            }
            Some(epoch) => {
                self.discovery.epoch_to_propose(from, accepted);
                // While our acceptedEpoch is being written, LEADERINFO waits for it.
                if !matches!(self.waiting, Waiting::AcceptedEpoch(_)) {
                    self.send_leader_info(r, from, epoch);
                }
            }
        }
        Ok(())
    }

    fn newleader_ack(&mut self, r: &mut Replica, from: ServerId, zxid: Zxid) -> Step {
        if let Some(h) = self.learners.get_mut(&from) {
            h.state = HandlerState::AwaitStartup;
        }
        if self.established {
            self.send_up_to_date(r, from);
            return Ok(());
        }
        if self.discovery.newleader_ack(from, zxid) {
            return self.establish(r);
        }
        Ok(())
    }

    /// Packets of a synced learner (`LearnerHandler.run`'s main loop).
    fn broadcast_packet(&mut self, r: &mut Replica, from: ServerId, packet: QuorumPacket) -> Step {
        match packet {
            QuorumPacket::Ack { zxid } => {
                if let Some(h) = self.learners.get_mut(&from) {
                    h.unacked.retain(|z, _| *z > zxid);
                    if h.observer {
                        return Ok(());
                    }
                }
                self.process_ack(r, from, zxid)
            }
            QuorumPacket::Ping { touches, .. } => {
                for SessionTouch { session, .. } in touches {
                    self.sessions.touch(session, r.now);
                }
                Ok(())
            }
            QuorumPacket::Revalidate { session, .. } => {
                let valid = self.sessions.touch(session, r.now);
                r.send(from, QuorumPacket::RevalidateReply { session, valid });
                Ok(())
            }
            QuorumPacket::Request {
                session,
                cxid,
                op,
                auth,
            } => match op {
                ForwardedOp::Client(Request::Sync { .. }) => {
                    self.sync(r, SyncWaiter::Learner(from));
                    Ok(())
                }
                op => self.submit(r, session, cxid, op, &auth),
            },
            _ => Ok(()),
        }
    }

    /// A session's sign of life from a local client.
    pub fn touch(&mut self, r: &Replica, session: SessionId) -> bool {
        self.sessions.touch(session, r.now)
    }

    /// Leave leadership: drop every learner connection.
    pub fn stop(&mut self, r: &mut Replica) {
        let sids: Vec<ServerId> = self.learners.keys().copied().collect();
        for sid in sids {
            self.drop_learner(r, sid);
        }
        self.preparer.clear();
    }

    pub fn is_valid_session(&self, session: SessionId) -> bool {
        self.sessions.check_session(session).is_ok()
    }
}
