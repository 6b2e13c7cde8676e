//! The `lookForLeader` loop of ZooKeeper's `FastLeaderElection`, as a sans-IO state machine.
//!
//! ZooKeeper runs the loop on its own thread, blocking on a queue of received notifications
//! with a timeout. Here the loop is a value: the peer queues notifications
//! ([`FastLeaderElection::enqueue`]), lets the loop drain them ([`FastLeaderElection::run`]),
//! and fires `Timer::Election` when the queue stayed empty for the current wait
//! ([`FastLeaderElection::on_timeout`]). What ZooKeeper's thread would do to the world comes
//! out as [`ElectionAction`]s.
//!
//! Two waits exist, as in ZooKeeper: the notification timeout (starts at `finalizeWait`,
//! 200 ms, doubles on every empty wait up to `maxNotificationInterval`, 60 s) and, once a
//! quorum agrees with our proposal, the finalize wait (200 ms, restarted by every
//! notification that is not better) before the result is final.

use super::{Notification, ServerState, Vote};
use crate::ids::{Epoch, Millis, ServerId, Zxid};
use crate::quorum::QuorumVerifier;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// The most notifications the loop keeps queued while it is stalled (the 3.4.5 blocking
/// connect). ZooKeeper's queue is unbounded; ours drops the oldest, which a later
/// notification from the same sender supersedes anyway.
pub const RECV_QUEUE_MAX: usize = 1000;

/// What the election asks the peer to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionAction {
    /// Queue a notification for `to` (possibly ourselves) with the connection manager.
    Send {
        to: ServerId,
        notification: Notification,
    },
    /// Arm `Timer::Election` at `at`.
    SetTimer { at: Millis },
    /// Disarm `Timer::Election`.
    CancelTimer,
    /// The wait ran out with messages still undelivered: ask the connection manager to
    /// connect to every peer it has a queue for (`QuorumCnxManager.connectAll`).
    ConnectAll,
    /// The election is over: `vote` names the leader, in round `vote.election_epoch`; `state`
    /// is what this server becomes.
    Decided { vote: Vote, state: ServerState },
}

/// Where the loop is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Not electing (the peer leads, follows or observes).
    Idle,
    /// Waiting for notifications for up to the notification timeout.
    Waiting,
    /// A quorum agrees with the proposal; waiting out `finalizeWait` for a better vote.
    Finalizing,
}

/// The timings FLE uses, from `Config`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ElectionTimings {
    pub finalize_wait_ms: u64,
    /// `minNotificationInterval`, which defaults to `finalizeWait`.
    pub min_notification_interval_ms: u64,
    pub max_notification_interval_ms: u64,
}

/// One server's election state. It lives as long as the peer: the logical clock carries over
/// from one election to the next (and starts again at zero after a restart).
#[derive(Debug)]
pub struct FastLeaderElection {
    me: ServerId,
    /// A participant (voter); observers run the same loop but can never be proposed.
    participant: bool,
    verifier: Arc<dyn QuorumVerifier>,
    timings: ElectionTimings,
    logical_clock: u64,
    /// `proposedLeader`, `proposedZxid`, `proposedEpoch` (its `election_epoch` is unused: the
    /// round is always `logical_clock`).
    proposal: Vote,
    /// `getInitId`, `getInitLastLoggedZxid`, `getPeerEpoch` for the current election.
    initial: Vote,
    /// Votes of the current round (LOOKING senders, and FOLLOWING/LEADING ones of this round).
    recv_set: BTreeMap<ServerId, Vote>,
    /// Votes of servers outside the election (FOLLOWING/LEADING), any round.
    out_of_election: BTreeMap<ServerId, Vote>,
    notification_timeout_ms: u64,
    phase: Phase,
    queue: VecDeque<Notification>,
    /// The election thread is blocked in `connectAll` (only with the blocking-connect bug).
    stalled: bool,
}

impl FastLeaderElection {
    pub fn new(
        me: ServerId,
        participant: bool,
        verifier: Arc<dyn QuorumVerifier>,
        timings: ElectionTimings,
    ) -> FastLeaderElection {
        debug_assert_eq!(
            participant,
            verifier.voters().contains(&me),
            "a participant is exactly a voter"
        );
        FastLeaderElection {
            me,
            participant,
            verifier,
            timings,
            logical_clock: 0,
            proposal: Vote::nobody(0),
            initial: Vote::nobody(0),
            recv_set: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            notification_timeout_ms: timings.min_notification_interval_ms,
            phase: Phase::Idle,
            queue: VecDeque::new(),
            stalled: false,
        }
    }

    /// The round this server is in (`logicalclock`).
    pub fn logical_clock(&self) -> u64 {
        self.logical_clock
    }

    /// The current proposal (`getVote()`), stamped with the current round.
    pub fn proposal(&self) -> Vote {
        Vote {
            election_epoch: self.logical_clock,
            state: ServerState::Looking,
            ..self.proposal
        }
    }

    pub fn is_electing(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// The current notification timeout (for tests and traces).
    pub fn notification_timeout_ms(&self) -> u64 {
        self.notification_timeout_ms
    }

    /// Start a new election (`lookForLeader`): a new round, a vote for ourselves (observers
    /// vote for nobody), notifications to every voter.
    pub fn start(
        &mut self,
        now: Millis,
        last_logged_zxid: Zxid,
        current_epoch: Epoch,
        out: &mut Vec<ElectionAction>,
    ) {
        debug_assert_eq!(self.phase, Phase::Idle, "one election at a time");
        let before = self.logical_clock;
        self.logical_clock += 1;
        debug_assert!(
            self.logical_clock > before,
            "the logical clock never decreases"
        );
        self.initial = if self.participant {
            Vote {
                leader: self.me,
                zxid: last_logged_zxid,
                election_epoch: self.logical_clock,
                peer_epoch: current_epoch,
                state: ServerState::Looking,
            }
        } else {
            Vote::nobody(self.logical_clock)
        };
        self.proposal = self.initial;
        self.recv_set.clear();
        self.out_of_election.clear();
        self.notification_timeout_ms = self.timings.min_notification_interval_ms;
        self.phase = Phase::Waiting;
        self.send_notifications(out);
        self.run(now, out);
    }

    /// A notification the receiver passed on (we are LOOKING). It waits in the queue until
    /// [`run`](Self::run) drains it.
    pub fn enqueue(&mut self, notification: Notification) {
        if self.queue.len() >= RECV_QUEUE_MAX {
            self.queue.pop_front();
        }
        self.queue.push_back(notification);
        debug_assert!(self.queue.len() <= RECV_QUEUE_MAX);
    }

    /// Block or unblock the loop (the blocking-connect bug's `connectAll`). While stalled,
    /// notifications queue up and no wait runs out.
    pub fn set_stalled(&mut self, now: Millis, stalled: bool, out: &mut Vec<ElectionAction>) {
        if self.stalled == stalled {
            return;
        }
        self.stalled = stalled;
        if stalled {
            out.push(ElectionAction::CancelTimer);
        } else {
            self.run(now, out);
        }
    }

    /// Whether notifications wait in the queue.
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// Process every queued notification, then arm the wait that applies.
    pub fn run(&mut self, now: Millis, out: &mut Vec<ElectionAction>) {
        if self.stalled || self.phase == Phase::Idle {
            return;
        }
        // Bounded: every iteration removes one queued notification; `process` re-queues at
        // most the one it is handed, and only when it leaves the finalize wait.
        let mut budget = 2 * RECV_QUEUE_MAX + 2;
        while let Some(n) = self.queue.pop_front() {
            budget -= 1;
            debug_assert!(budget > 0, "the election loop always makes progress");
            self.process(n, out);
            if self.phase == Phase::Idle {
                return;
            }
        }
        self.arm(now, out);
    }

    /// `Timer::Election` fired: the queue stayed empty for the whole wait.
    pub fn on_timeout(&mut self, now: Millis, have_delivered: bool, out: &mut Vec<ElectionAction>) {
        if self.stalled {
            return;
        }
        match self.phase {
            Phase::Idle => {}
            Phase::Finalizing => {
                let vote = self.proposal();
                self.decide(vote, out);
            }
            Phase::Waiting => {
                if have_delivered {
                    self.send_notifications(out);
                } else {
                    out.push(ElectionAction::ConnectAll);
                }
                let doubled = self.notification_timeout_ms.saturating_mul(2);
                self.notification_timeout_ms =
                    doubled.min(self.timings.max_notification_interval_ms);
                debug_assert!(
                    self.notification_timeout_ms <= self.timings.max_notification_interval_ms
                );
                self.run(now, out);
            }
        }
    }

    /// The election ended elsewhere (the peer was told to stop looking); forget the round.
    pub fn stop(&mut self, out: &mut Vec<ElectionAction>) {
        if self.phase != Phase::Idle {
            self.phase = Phase::Idle;
            self.queue.clear();
            out.push(ElectionAction::CancelTimer);
        }
    }

    fn arm(&mut self, now: Millis, out: &mut Vec<ElectionAction>) {
        let wait = match self.phase {
            Phase::Idle => return,
            Phase::Waiting => self.notification_timeout_ms,
            Phase::Finalizing => self.timings.finalize_wait_ms,
        };
        out.push(ElectionAction::SetTimer { at: now + wait });
    }

    fn send_notifications(&self, out: &mut Vec<ElectionAction>) {
        for &to in self.verifier.voters() {
            out.push(ElectionAction::Send {
                to,
                notification: Notification {
                    leader: self.proposal.leader,
                    zxid: self.proposal.zxid,
                    election_epoch: self.logical_clock,
                    state: ServerState::Looking,
                    sid: self.me,
                    peer_epoch: self.proposal.peer_epoch,
                },
            });
        }
    }

    fn valid_voter(&self, sid: ServerId) -> bool {
        self.verifier.voters().contains(&sid)
    }

    /// One notification taken off the queue.
    fn process(&mut self, n: Notification, out: &mut Vec<ElectionAction>) {
        if self.phase == Phase::Finalizing {
            // Inside the finalize wait only a better vote matters: it goes back on the queue
            // and the main loop handles it; anything else is dropped unrecorded.
            if n.vote().beats(&self.proposal, &*self.verifier) {
                self.phase = Phase::Waiting;
                self.queue.push_back(n);
            }
            return;
        }
        if !(self.valid_voter(n.sid) && self.valid_voter(n.leader)) {
            return;
        }
        match n.state {
            ServerState::Looking => self.looking_notification(n, out),
            ServerState::Observing => {}
            ServerState::Following | ServerState::Leading => {
                self.outside_notification(n, out);
            }
        }
    }

    fn looking_notification(&mut self, n: Notification, out: &mut Vec<ElectionAction>) {
        let theirs = n.vote();
        if n.election_epoch > self.logical_clock {
            self.logical_clock = n.election_epoch;
            self.recv_set.clear();
            self.proposal = if theirs.beats(&self.initial, &*self.verifier) {
                theirs
            } else {
                self.initial
            };
            self.send_notifications(out);
        } else if n.election_epoch < self.logical_clock {
            return;
        } else if theirs.beats(&self.proposal, &*self.verifier) {
            self.proposal = theirs;
            self.send_notifications(out);
        }
        debug_assert_eq!(n.election_epoch, self.logical_clock);
        self.recv_set.insert(
            n.sid,
            Vote {
                state: ServerState::Looking,
                ..theirs
            },
        );
        let mine = self.proposal();
        if self.has_quorum(&self.recv_set, &mine) {
            self.phase = Phase::Finalizing;
        }
    }

    /// `receivedFollowingNotification` / `receivedLeadingNotification` (without the oracle
    /// that only two-server ensembles configure).
    fn outside_notification(&mut self, n: Notification, out: &mut Vec<ElectionAction>) {
        let theirs = n.vote();
        let result = Vote {
            state: ServerState::Looking,
            ..theirs
        };
        if n.election_epoch == self.logical_clock {
            self.recv_set.insert(n.sid, theirs);
            if self.has_quorum(&self.recv_set, &theirs)
                && self.check_leader(&self.recv_set, n.leader, n.election_epoch)
            {
                self.decide(result, out);
                return;
            }
        }
        // A late joiner learns the established leader from the servers outside the election,
        // whatever round they elected it in (ZOOKEEPER-1732).
        self.out_of_election.insert(n.sid, theirs);
        if self.has_quorum(&self.out_of_election, &theirs)
            && self.check_leader(&self.out_of_election, n.leader, n.election_epoch)
        {
            // The one place the logical clock may go back: we adopt the established
            // ensemble's round, which can be older than the rounds we counted up alone.
            self.logical_clock = n.election_epoch;
            self.decide(result, out);
        }
    }

    /// `getVoteTracker(...).hasAllQuorums()`: do the voters agreeing with `vote` form a quorum?
    fn has_quorum(&self, votes: &BTreeMap<ServerId, Vote>, vote: &Vote) -> bool {
        let agreeing: BTreeSet<ServerId> = votes
            .iter()
            .filter(|(_, v)| vote.agrees_with(v))
            .map(|(sid, _)| *sid)
            .collect();
        self.verifier.is_quorum(&agreeing)
    }

    /// `checkLeader`: another server is only followed if it said itself that it is LEADING;
    /// we only lead if the round that elected us is our current round. This stops a quorum
    /// from electing over and over a leader that crashed.
    fn check_leader(&self, votes: &BTreeMap<ServerId, Vote>, leader: ServerId, round: u64) -> bool {
        if leader != self.me {
            votes
                .get(&leader)
                .is_some_and(|v| v.state == ServerState::Leading)
        } else {
            self.logical_clock == round
        }
    }

    /// `setPeerState` + `leaveInstance`.
    fn decide(&mut self, vote: Vote, out: &mut Vec<ElectionAction>) {
        let state = if vote.leader == self.me {
            ServerState::Leading
        } else if self.participant {
            ServerState::Following
        } else {
            ServerState::Observing
        };
        debug_assert!(
            state != ServerState::Leading || self.participant,
            "an observer never leads"
        );
        debug_assert!(
            self.verifier.weight(vote.leader) > 0,
            "only a voter can be elected"
        );
        self.phase = Phase::Idle;
        self.queue.clear();
        out.push(ElectionAction::CancelTimer);
        out.push(ElectionAction::Decided { vote, state });
    }
}
