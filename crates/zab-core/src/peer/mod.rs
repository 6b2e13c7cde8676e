//! One ZooKeeper server's protocol state (`QuorumPeer` and the servers it runs), as a sans-IO
//! value: `handle(now, input)` in, `poll_output()` out, `next_deadline()` for the driver.
//!
//! The peer owns the election ([`FastLeaderElection`]), the election channel's connection
//! manager ([`ConnectionManager`]) and the role it is in ([`RoleState`]). The election ends in
//! one of the `become_*` hooks; anything that ends a role calls [`Peer::go_looking`]. ZAB's
//! discovery, synchronisation and broadcast plug into those hooks and into the quorum-channel
//! handlers at the bottom of this file.

mod io;
mod outbox;
mod rng;

pub use io::*;
pub(crate) use outbox::Outbox;
pub use rng::Prng;

use crate::bugs::Bug;
use crate::config::Config;
use crate::election::fle::ElectionTimings;
use crate::election::{
    ConnectionManager, ElectionAction, FastLeaderElection, Notification, ServerState, Vote,
};
use crate::ids::{Epoch, Millis, ServerId, Zxid};
use crate::quorum::{Majority, QuorumVerifier};
use crate::zab::packet::QuorumPacket;
use crate::zab::Zab;
use std::sync::Arc;

/// What only the current role has. The ZAB issue grows these variants (a leader's learner
/// handlers, a follower's sync state, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleState {
    /// Electing; the election itself is [`Peer::election`] because its logical clock
    /// outlives each round.
    Looking,
    Following {
        leader: ServerId,
    },
    Leading,
    Observing {
        leader: ServerId,
    },
}

impl RoleState {
    pub fn role(&self) -> Role {
        match self {
            RoleState::Looking => Role::Looking,
            RoleState::Following { .. } => Role::Following,
            RoleState::Leading => Role::Leading,
            RoleState::Observing { .. } => Role::Observing,
        }
    }

    /// The state this server reports in notifications.
    pub fn server_state(&self) -> ServerState {
        match self {
            RoleState::Looking => ServerState::Looking,
            RoleState::Following { .. } => ServerState::Following,
            RoleState::Leading => ServerState::Leading,
            RoleState::Observing { .. } => ServerState::Observing,
        }
    }
}

/// `zookeeper.observer.election.DelayMs`: an observer that lost its leader waits a random
/// 0..200 ms before electing, so that observers do not all descend on the voters at once.
pub const OBSERVER_ELECTION_DELAY_MS: u64 = 200;

/// How many loopback notifications one input may generate before we conclude the election
/// is livelocked with itself (it never is: each loopback is answered by at most one more).
const LOOPBACK_ROUNDS_MAX: usize = 10_000;

/// One server.
pub struct Peer {
    config: Config,
    verifier: Arc<dyn QuorumVerifier>,
    /// The peer's own randomness, derived from the driver's seed.
    rng: Prng,
    out: Outbox,
    election: FastLeaderElection,
    /// An observer that lost its leader waits a random while before electing
    /// (`Observer.waitForObserverElectionDelay`); `Timer::Election` ends the wait.
    election_delayed: bool,
    cnxn: ConnectionManager,
    role: RoleState,
    /// `QuorumPeer.currentVote`: our own vote at boot, then the last election's result. It is
    /// what we answer LOOKING servers with once we lead, follow or observe.
    current_vote: Vote,
    /// ZAB: the database (tree, log, epochs) and the role's discovery, synchronisation and
    /// broadcast state. It outlives roles; the `become_*` hooks and `go_looking` switch it.
    zab: Zab,
    /// Why this server refused to start (its disk could not be recovered, as ZooKeeper's
    /// `loadDataBase` refuses): it then does nothing at all.
    halted: Option<String>,
}

impl Peer {
    /// Build a peer from its configuration and what its disk returned, and start electing.
    /// Drain `poll_output` after this as after every `handle`.
    pub fn new(config: Config, recovered: Recovered, now: Millis, seed: u64) -> Peer {
        let verifier: Arc<dyn QuorumVerifier> = Arc::new(Majority::new(config.voters.clone()));
        let participant = config.voters.contains(&config.me);
        let timings = ElectionTimings {
            finalize_wait_ms: config.finalize_wait_ms,
            min_notification_interval_ms: config.finalize_wait_ms,
            max_notification_interval_ms: config.max_notification_interval_ms,
        };
        let election =
            FastLeaderElection::new(config.me, participant, Arc::clone(&verifier), timings);
        let cnxn = ConnectionManager::new(
            config.me,
            Millis(config.cnx_timeout_ms),
            config.bugs.has(Bug::BlockingConnect),
        );
        let rng = Prng::new(seed);
        let (zab, halted) = match Zab::recover(config.clone(), &recovered) {
            Ok((mut zab, _report)) => {
                zab.seed(rng.fork("zab").next_u64());
                (zab, None)
            }
            Err(error) => (Zab::empty(config.clone()), Some(error.to_string())),
        };
        let current_vote = Vote {
            leader: config.me,
            zxid: zab.last_logged_zxid(),
            election_epoch: 0,
            peer_epoch: zab.current_epoch(),
            state: ServerState::Looking,
        };
        let mut peer = Peer {
            rng,
            verifier,
            out: Outbox::default(),
            election,
            election_delayed: false,
            cnxn,
            role: RoleState::Looking,
            current_vote,
            zab,
            halted,
            config,
        };
        if let Some(reason) = peer.halted.clone() {
            peer.out.push(Output::Event(ServerEvent::Halted { reason }));
            return peer;
        }
        // Recovery may have disk repairs to make (a damaged last log record).
        peer.move_zab_outputs();
        peer.start_election(now);
        peer
    }

    /// Why this server refused to start, if it did.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// ZAB's state: the database, epochs, role.
    pub fn zab(&self) -> &Zab {
        &self.zab
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn me(&self) -> ServerId {
        self.config.me
    }

    pub fn role(&self) -> Role {
        self.role.role()
    }

    pub fn role_state(&self) -> &RoleState {
        &self.role
    }

    /// The leader we follow or observe, or ourselves when leading.
    pub fn leader(&self) -> Option<ServerId> {
        match self.role {
            RoleState::Looking => None,
            RoleState::Leading => Some(self.config.me),
            RoleState::Following { leader } | RoleState::Observing { leader } => Some(leader),
        }
    }

    /// `QuorumPeer.currentVote`.
    pub fn current_vote(&self) -> Vote {
        self.current_vote
    }

    /// Whether the election connection to `peer` is up as far as this peer knows.
    pub fn election_connected(&self, peer: ServerId) -> bool {
        self.cnxn.is_up(peer)
    }

    pub fn election(&self) -> &FastLeaderElection {
        &self.election
    }

    pub fn verifier(&self) -> &dyn QuorumVerifier {
        &*self.verifier
    }

    pub fn last_logged_zxid(&self) -> Zxid {
        self.zab.last_logged_zxid()
    }

    pub fn current_epoch(&self) -> Epoch {
        self.zab.current_epoch()
    }

    pub fn accepted_epoch(&self) -> Epoch {
        self.zab.accepted_epoch()
    }

    /// The peer's randomness (for ZAB and sessions).
    pub fn rng(&mut self) -> &mut Prng {
        &mut self.rng
    }

    /// Feed one input.
    pub fn handle(&mut self, now: Millis, input: Input) {
        if self.halted.is_some() {
            return;
        }
        match input {
            Input::Message {
                from,
                msg: PeerMessage::Election(n),
            } => self.receive_notification(now, from, n),
            Input::Message {
                from,
                msg: PeerMessage::Quorum(packet),
            } => self.on_quorum_packet(now, from, packet),
            Input::Connected {
                peer,
                channel: Channel::Election,
                outbound,
            } => self.cnxn.on_connected(now, peer, outbound, &mut self.out),
            Input::Disconnected {
                peer,
                channel: Channel::Election,
            } => self.cnxn.on_disconnected(peer),
            Input::ConnectFailed {
                peer,
                channel: Channel::Election,
            } => self.cnxn.on_connect_failed(now, peer, &mut self.out),
            Input::Connected {
                peer,
                channel: Channel::Quorum,
                outbound,
            } => self.on_quorum_connected(now, peer, outbound),
            Input::Disconnected {
                peer,
                channel: Channel::Quorum,
            } => self.on_quorum_disconnected(now, peer),
            Input::ConnectFailed {
                peer,
                channel: Channel::Quorum,
            } => self.on_quorum_connect_failed(now, peer),
            Input::TimerFired(timer) => {
                if self.out.take_due(timer, now) {
                    self.on_timer(now, timer);
                }
            }
            Input::PersistDone { token, result } => self.on_persist_done(now, token, result),
            Input::ClientConnect { .. }
            | Input::ClientRequest { .. }
            | Input::ClientPing { .. }
            | Input::ClientDisconnected { .. } => self.on_client(now, input),
        }
        self.settle(now);
        self.check_invariants();
    }

    /// The peer's own consistency, checked after every input in debug builds.
    fn check_invariants(&self) {
        debug_assert_eq!(
            self.role == RoleState::Looking,
            self.election.is_electing() || self.election_delayed,
            "the election runs (or an observer waits to start it) exactly while LOOKING"
        );
        debug_assert!(!(self.election_delayed && self.election.is_electing()));
        debug_assert!(
            self.role != RoleState::Leading || self.current_vote.leader == self.config.me,
            "a LEADING peer's vote names itself"
        );
        debug_assert!(
            !matches!(self.role, RoleState::Following { leader } | RoleState::Observing { leader }
                if leader != self.current_vote.leader),
            "a learner follows the leader its vote names"
        );
        debug_assert!(
            self.role != RoleState::Leading || self.config.voters.contains(&self.config.me),
            "only a voter leads"
        );
        debug_assert!(
            self.halted.is_some() || self.zab.role() == self.role.role(),
            "ZAB plays the role the election settled on"
        );
    }

    /// Drain one output; the driver calls this until `None` after every `handle`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    /// The earliest armed timer: the driver fires it (`Input::TimerFired`) at that time.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.out.next_deadline()
    }

    fn on_timer(&mut self, now: Millis, timer: Timer) {
        match timer {
            Timer::Election if self.election_delayed => {
                self.election_delayed = false;
                self.start_election(now);
            }
            Timer::Election => {
                let mut actions = Vec::new();
                let delivered = self.cnxn.have_delivered();
                self.election.on_timeout(now, delivered, &mut actions);
                self.apply_election(now, actions);
            }
            Timer::ConnectBlock => self.cnxn.on_block_timeout(now, &mut self.out),
            Timer::Tick | Timer::PhaseDeadline | Timer::SessionExpiry => {
                self.on_zab_timer(now, timer)
            }
        }
    }

    // ----- election -----

    /// `FastLeaderElection.WorkerReceiver`: what happens to a notification on arrival,
    /// before (and whether) the election loop sees it.
    fn receive_notification(&mut self, now: Millis, from: ServerId, mut n: Notification) {
        // The sender is whoever the connection belongs to, not what the message claims.
        n.sid = from;
        let state = self.role.server_state();
        if !self.verifier.voters().contains(&from) {
            // A non-voter (an observer) never takes part: answer it right away with our
            // current vote, our round and our state.
            let reply = self.notification_of(self.current_vote, self.election.logical_clock());
            self.send_notification(now, from, reply);
            return;
        }
        if state == ServerState::Looking {
            let lagging =
                n.state == ServerState::Looking && n.election_epoch < self.election.logical_clock();
            self.election.enqueue(n);
            if lagging {
                // A LOOKING voter from an older round: tell it where we are.
                let proposal = self.election.proposal();
                let reply = self.notification_of(proposal, proposal.election_epoch);
                self.send_notification(now, from, reply);
            }
        } else if n.state == ServerState::Looking {
            // We lead, follow or observe: tell the LOOKING server whom, so it can join.
            let vote = self.current_vote;
            let reply = self.notification_of(vote, vote.election_epoch);
            self.send_notification(now, from, reply);
        }
    }

    fn notification_of(&self, vote: Vote, round: u64) -> Notification {
        Notification {
            leader: vote.leader,
            zxid: vote.zxid,
            election_epoch: round,
            state: self.role.server_state(),
            sid: self.config.me,
            peer_epoch: vote.peer_epoch,
        }
    }

    fn send_notification(&mut self, now: Millis, to: ServerId, n: Notification) {
        self.cnxn.to_send(now, to, n, &mut self.out);
    }

    fn start_election(&mut self, now: Millis) {
        debug_assert_eq!(self.role, RoleState::Looking);
        let mut actions = Vec::new();
        self.election.start(
            now,
            self.zab.last_logged_zxid(),
            self.zab.current_epoch(),
            &mut actions,
        );
        self.apply_election(now, actions);
    }

    fn apply_election(&mut self, now: Millis, actions: Vec<ElectionAction>) {
        for action in actions {
            match action {
                ElectionAction::Send { to, notification } => {
                    self.send_notification(now, to, notification)
                }
                ElectionAction::SetTimer { at } => self.out.set_timer(Timer::Election, at),
                ElectionAction::CancelTimer => self.out.cancel_timer(Timer::Election),
                ElectionAction::ConnectAll => self.cnxn.connect_all(now, &mut self.out),
                ElectionAction::Decided { vote, state } => self.finish_election(now, vote, state),
            }
        }
    }

    /// Deliver loopback notifications and let the election run, until nothing is left to do
    /// for this instant.
    fn settle(&mut self, now: Millis) {
        for _ in 0..LOOPBACK_ROUNDS_MAX {
            let mut actions = Vec::new();
            let stalled = self.cnxn.election_stalled();
            if stalled != self.election.is_stalled() {
                self.election.set_stalled(now, stalled, &mut actions);
                self.apply_election(now, actions);
                continue;
            }
            if let Some(n) = self.cnxn.take_loopback() {
                let me = self.config.me;
                self.receive_notification(now, me, n);
                continue;
            }
            if self.role == RoleState::Looking
                && self.election.is_electing()
                && self.election.has_queued()
            {
                self.election.run(now, &mut actions);
                self.apply_election(now, actions);
                if !self.election.is_stalled() && self.election.has_queued() {
                    continue;
                }
            }
            return;
        }
        debug_assert!(false, "the peer settles within a bounded number of steps");
    }

    /// The election ended: record the vote and take up the role.
    fn finish_election(&mut self, now: Millis, vote: Vote, state: ServerState) {
        debug_assert_eq!(self.role, RoleState::Looking, "only a LOOKING peer elects");
        debug_assert!(
            (state == ServerState::Leading) == (vote.leader == self.config.me),
            "a LEADING vote names itself, and only then do we lead"
        );
        self.current_vote = Vote { state, ..vote };
        self.out.push(Output::Event(ServerEvent::Elected {
            leader: vote.leader,
            election_epoch: vote.election_epoch,
        }));
        match state {
            ServerState::Leading => self.become_leader(now, vote),
            ServerState::Following => self.become_follower(now, vote),
            ServerState::Observing => self.become_observer(now, vote),
            ServerState::Looking => debug_assert!(false, "an election never ends LOOKING"),
        }
    }

    fn set_role(&mut self, role: RoleState) {
        let changed = role.role() != self.role.role();
        self.role = role;
        if changed {
            self.out.push(Output::Event(ServerEvent::RoleChanged {
                role: self.role.role(),
            }));
        }
    }

    // ----- role hooks: ZAB fills these in -----

    /// FLE elected us: `Leader.lead()` (discovery as the leader).
    fn become_leader(&mut self, now: Millis, vote: Vote) {
        debug_assert_eq!(vote.leader, self.config.me);
        self.set_role(RoleState::Leading);
        self.zab.start_leading(now);
        self.pump_zab(now);
    }

    /// FLE elected `vote.leader`: connect to its quorum port, FOLLOWERINFO.
    fn become_follower(&mut self, now: Millis, vote: Vote) {
        debug_assert_ne!(vote.leader, self.config.me);
        self.set_role(RoleState::Following {
            leader: vote.leader,
        });
        self.zab.start_following(now, vote.leader);
        self.pump_zab(now);
    }

    /// An observer learned the leader: connect, OBSERVERINFO.
    fn become_observer(&mut self, now: Millis, vote: Vote) {
        debug_assert!(self.config.is_observer());
        self.set_role(RoleState::Observing {
            leader: vote.leader,
        });
        self.zab.start_observing(now, vote.leader);
        self.pump_zab(now);
    }

    /// Leave the current role and elect again (a phase timed out, the leader went away, a
    /// quorum was lost). ZAB's role state is torn down first (connections, clients, and the
    /// database fast-forwarded over the whole log), so the new vote carries the last logged
    /// zxid.
    pub fn go_looking(&mut self, now: Millis) {
        if self.role == RoleState::Looking {
            return;
        }
        self.zab.stop(now);
        self.zab.take_abandon();
        self.move_zab_outputs();
        let was_observing = matches!(self.role, RoleState::Observing { .. });
        self.set_role(RoleState::Looking);
        let delay_ms = if was_observing {
            self.rng.below(OBSERVER_ELECTION_DELAY_MS)
        } else {
            0
        };
        if delay_ms > 0 {
            // Notifications that arrive meanwhile wait in the election's queue, as they wait
            // in ZooKeeper's `recvqueue` while the observer thread sleeps.
            self.election_delayed = true;
            self.out.set_timer(Timer::Election, now + delay_ms);
        } else {
            self.start_election(now);
        }
    }

    /// `QuorumPeer.updateElectionVote`: once a new epoch is established, answer LOOKING
    /// servers with it, so a late joiner's vote matches (ZOOKEEPER-1732).
    pub fn update_election_vote(&mut self, epoch: Epoch) {
        debug_assert!(self.role != RoleState::Looking);
        self.current_vote.peer_epoch = epoch;
    }

    // ----- ZAB: the quorum channel, its timers, the disk and the clients -----

    /// Hand an input to ZAB, then carry out what it asked for.
    fn feed_zab(&mut self, now: Millis, input: Input) {
        let handled = self.zab.handle(now, input);
        debug_assert!(handled, "only ZAB's inputs are routed to it");
        self.pump_zab(now);
    }

    /// Move ZAB's outputs to the outbox; if ZAB gave up its role, elect again; once it
    /// serves a new epoch, vote with it (the leader on establishing, a learner on UPTODATE).
    fn pump_zab(&mut self, now: Millis) {
        self.move_zab_outputs();
        if let Some(reason) = self.zab.halted() {
            // ZooKeeper's process exits on a disk error: nothing more happens here.
            self.halted = Some(reason.to_string());
            return;
        }
        if self.zab.take_abandon().is_some() {
            self.go_looking(now);
            return;
        }
        if self.role != RoleState::Looking
            && self.zab.is_serving()
            && self.current_vote.peer_epoch != self.zab.current_epoch()
        {
            self.update_election_vote(self.zab.current_epoch());
        }
    }

    fn move_zab_outputs(&mut self) {
        while let Some(output) = self.zab.poll_output() {
            match output {
                Output::SetTimer { timer, at } => self.out.set_timer(timer, at),
                Output::CancelTimer { timer } => self.out.cancel_timer(timer),
                other => self.out.push(other),
            }
        }
    }

    fn on_quorum_packet(&mut self, now: Millis, from: ServerId, packet: QuorumPacket) {
        let msg = PeerMessage::Quorum(packet);
        self.feed_zab(now, Input::Message { from, msg });
    }

    fn on_quorum_connected(&mut self, now: Millis, peer: ServerId, outbound: bool) {
        let channel = Channel::Quorum;
        self.feed_zab(
            now,
            Input::Connected {
                peer,
                channel,
                outbound,
            },
        );
    }

    fn on_quorum_disconnected(&mut self, now: Millis, peer: ServerId) {
        let channel = Channel::Quorum;
        self.feed_zab(now, Input::Disconnected { peer, channel });
    }

    fn on_quorum_connect_failed(&mut self, now: Millis, peer: ServerId) {
        let channel = Channel::Quorum;
        self.feed_zab(now, Input::ConnectFailed { peer, channel });
    }

    fn on_zab_timer(&mut self, now: Millis, timer: Timer) {
        self.feed_zab(now, Input::TimerFired(timer));
    }

    fn on_persist_done(&mut self, now: Millis, token: PersistToken, result: Result<(), DiskError>) {
        self.feed_zab(now, Input::PersistDone { token, result });
    }

    fn on_client(&mut self, now: Millis, input: Input) {
        self.feed_zab(now, input);
    }
}
