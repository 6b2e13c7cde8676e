//! The election channel's connection manager (ZooKeeper's `QuorumCnxManager`), reduced to
//! the rules that change what and when the election hears.
//!
//! - Messages to ourselves never touch the network (`toSend`'s loopback).
//! - Each peer has a send queue of one slot (`SEND_CAPACITY = 1`): a newer notification
//!   replaces an unsent older one. When a connection comes up and the queue is empty, the
//!   last message sent to that peer is sent again, in case the previous connection lost it.
//! - Only a connection initiated by the higher server id survives. A lower id that connects
//!   to us is dropped (`Output::Disconnect`; we also forget any connection we had with it, as
//!   ZooKeeper finishes its existing sender) and we connect back. When we are
//!   the lower id and our connect succeeds, we wait for the other side to connect back.
//! - Connects carry the connect timeout (`zookeeper.cnxTimeout`). The driver must answer
//!   every `Connect` with `Connected` or `ConnectFailed`, at the latest after that timeout.
//! - Fixed behaviour (ZOOKEEPER-3756): connects run in parallel, at most one per peer.
//!   With [`Bug::BlockingConnect`](crate::bugs::Bug::BlockingConnect) (3.4.5's synchronized
//!   `connectOne`): the sending path does one thing at a time, so while a connect is
//!   outstanding nothing else is sent or connected — notifications to live peers wait behind
//!   it — and an election thread that called `connectAll` is stuck until all its connects
//!   have finished.

use super::Notification;
use crate::ids::{Millis, ServerId};
use crate::peer::Outbox;
use crate::peer::{Channel, Output, PeerMessage, Timer};
use std::collections::{BTreeMap, VecDeque};

/// The most send jobs the blocked sending path holds (ZooKeeper's `sendqueue` is unbounded;
/// FLE offers at most one notification per voter per vote change, so a full queue means the
/// path has been blocked for many rounds). At the limit the oldest job is dropped.
pub const SEND_JOBS_MAX: usize = 10_000;

/// What we know about the election connection with one peer.
#[derive(Clone, Debug, Default)]
struct Link {
    /// A connection we may send on is established.
    up: bool,
    /// A connect we issued has not been answered yet.
    connecting: bool,
    /// The peer has a send queue (`queueSendMap` has a key for it).
    has_queue: bool,
    /// The one-slot send queue.
    queued: Option<Notification>,
    /// `lastMessageSent`.
    last_sent: Option<Notification>,
}

/// Work on the sending path, in order.
#[derive(Clone, Debug)]
enum Job {
    /// `toSend`: queue a notification (or loop it back) and make sure a connection exists.
    Send(ServerId, Notification),
    /// `connectOne`, on behalf of the election thread (`connectAll`) or the listener.
    Connect { peer: ServerId, for_election: bool },
}

/// The connect the sending path is blocked on (blocking-connect bug only).
#[derive(Copy, Clone, Debug)]
struct Blocked {
    peer: ServerId,
    for_election: bool,
}

/// The election channel's connections, queues and (with the bug) blocked sending path.
#[derive(Debug)]
pub struct ConnectionManager {
    me: ServerId,
    connect_timeout: Millis,
    blocking: bool,
    links: BTreeMap<ServerId, Link>,
    jobs: VecDeque<Job>,
    blocked: Option<Blocked>,
    /// Connects the election thread asked for in `connectAll` that have not finished.
    election_connects_pending: usize,
    loopback: VecDeque<Notification>,
}

impl ConnectionManager {
    pub fn new(me: ServerId, connect_timeout: Millis, blocking: bool) -> ConnectionManager {
        ConnectionManager {
            me,
            connect_timeout,
            blocking,
            links: BTreeMap::new(),
            jobs: VecDeque::new(),
            blocked: None,
            election_connects_pending: 0,
            loopback: VecDeque::new(),
        }
    }

    /// `toSend`: deliver `notification` to `to` (ourselves included) as soon as the sending
    /// path and the connection allow.
    pub fn to_send(
        &mut self,
        now: Millis,
        to: ServerId,
        notification: Notification,
        out: &mut Outbox,
    ) {
        if self.jobs.len() >= SEND_JOBS_MAX {
            // Drop the oldest send; connect jobs are kept because the election may wait on them.
            if let Some(i) = self.jobs.iter().position(|j| matches!(j, Job::Send(..))) {
                self.jobs.remove(i);
            }
        }
        self.jobs.push_back(Job::Send(to, notification));
        self.pump(now, out);
    }

    /// Notifications we sent to ourselves, to be received as if from the network.
    pub fn take_loopback(&mut self) -> Option<Notification> {
        self.loopback.pop_front()
    }

    /// `haveDelivered`. Faithful to ZooKeeper's code, which returns as soon as it finds *one*
    /// empty queue (its comment says "all"): with a single reachable peer, FLE resends rather
    /// than reconnecting.
    pub fn have_delivered(&self) -> bool {
        self.links
            .values()
            .any(|l| l.has_queue && l.queued.is_none())
    }

    /// `connectAll`: connect to every peer we have a queue for.
    pub fn connect_all(&mut self, now: Millis, out: &mut Outbox) {
        let peers: Vec<ServerId> = self
            .links
            .iter()
            .filter(|(_, l)| l.has_queue)
            .map(|(p, _)| *p)
            .collect();
        for peer in peers {
            if self.blocking {
                self.election_connects_pending += 1;
            }
            self.jobs.push_back(Job::Connect {
                peer,
                for_election: self.blocking,
            });
        }
        self.pump(now, out);
    }

    /// Whether the election thread is stuck in `connectAll` (blocking-connect bug only).
    pub fn election_stalled(&self) -> bool {
        self.election_connects_pending > 0
    }

    /// Whether the sending path is blocked on a connect (blocking-connect bug only).
    pub fn is_blocked(&self) -> bool {
        self.blocked.is_some()
    }

    /// Whether a connection to `peer` we may send on is up.
    pub fn is_up(&self, peer: ServerId) -> bool {
        self.links.get(&peer).is_some_and(|l| l.up)
    }

    /// `Input::Connected` on the election channel.
    pub fn on_connected(&mut self, now: Millis, peer: ServerId, outbound: bool, out: &mut Outbox) {
        if peer == self.me {
            // ZooKeeper logs this as a configuration error or a bug and ignores it.
            return;
        }
        let me = self.me;
        let link = self.links.entry(peer).or_default();
        if outbound {
            link.connecting = false;
        }
        if outbound && peer > me {
            // We lost the challenge: ZooKeeper closes its side after the handshake and waits
            // for the higher id to connect back; the higher side's Disconnect closes it here.
        } else if !outbound && peer < me {
            // A lower id connected to us: drop every connection with it and connect back.
            link.up = false;
            out.push(Output::Disconnect {
                peer,
                channel: Channel::Election,
            });
            self.jobs.push_back(Job::Connect {
                peer,
                for_election: false,
            });
        } else {
            link.up = true;
            link.has_queue = true;
            Self::flush_on_connect(peer, link, out);
        }
        if outbound {
            self.release(peer, out);
        }
        self.pump(now, out);
    }

    /// `Input::Disconnected` on the election channel. The queue and last message stay: the
    /// next send or `connectAll` reconnects.
    pub fn on_disconnected(&mut self, peer: ServerId) {
        if let Some(link) = self.links.get_mut(&peer) {
            link.up = false;
        }
    }

    /// `Input::ConnectFailed` on the election channel.
    pub fn on_connect_failed(&mut self, now: Millis, peer: ServerId, out: &mut Outbox) {
        if let Some(link) = self.links.get_mut(&peer) {
            link.connecting = false;
        }
        self.release(peer, out);
        self.pump(now, out);
    }

    /// `Timer::ConnectBlock` fired: the blocked connect's socket timeout ran out. The attempt
    /// may still be answered later; until then a new connect to that peer waits for it.
    pub fn on_block_timeout(&mut self, now: Millis, out: &mut Outbox) {
        if let Some(b) = self.blocked {
            self.release(b.peer, out);
        }
        self.pump(now, out);
    }

    /// Run the sending path until it is empty or blocked.
    fn pump(&mut self, now: Millis, out: &mut Outbox) {
        let mut budget = self.jobs.len() + 1;
        while self.blocked.is_none() {
            let Some(job) = self.jobs.pop_front() else {
                break;
            };
            debug_assert!(budget > 0, "each job runs once");
            budget = budget.saturating_sub(1);
            match job {
                Job::Send(to, notification) if to == self.me => {
                    self.loopback.push_back(notification);
                }
                Job::Send(to, notification) => {
                    let link = self.links.entry(to).or_default();
                    link.has_queue = true;
                    // One slot: a newer notification replaces an unsent one.
                    link.queued = Some(notification);
                    if link.up {
                        Self::flush(to, link, out);
                    } else {
                        self.connect_one(now, to, false, out);
                    }
                }
                Job::Connect { peer, for_election } => {
                    self.connect_one(now, peer, for_election, out);
                }
            }
        }
        debug_assert!(
            self.blocked.is_some() || self.jobs.is_empty(),
            "an unblocked sending path has no backlog"
        );
        debug_assert!(self.blocking || self.blocked.is_none());
    }

    /// `connectOne`.
    fn connect_one(&mut self, now: Millis, peer: ServerId, for_election: bool, out: &mut Outbox) {
        let link = self.links.entry(peer).or_default();
        let must_wait = if link.up {
            false
        } else if link.connecting {
            // Asynchronous: already in progress. Blocking: a connect the watchdog gave up on
            // is still outstanding; wait on it rather than opening a second one.
            self.blocking
        } else {
            link.connecting = true;
            out.push(Output::Connect {
                to: peer,
                channel: Channel::Election,
                timeout: self.connect_timeout,
            });
            self.blocking
        };
        if must_wait {
            debug_assert!(self.blocked.is_none(), "one blocking connect at a time");
            self.blocked = Some(Blocked { peer, for_election });
            out.set_timer(Timer::ConnectBlock, now + self.connect_timeout);
        } else if for_election {
            self.finish_election_connect();
        }
    }

    /// The blocked connect to `peer` finished (or its socket timed out): unblock.
    fn release(&mut self, peer: ServerId, out: &mut Outbox) {
        match self.blocked {
            Some(b) if b.peer == peer => {
                self.blocked = None;
                out.cancel_timer(Timer::ConnectBlock);
                if b.for_election {
                    self.finish_election_connect();
                }
            }
            _ => {}
        }
    }

    fn finish_election_connect(&mut self) {
        debug_assert!(self.election_connects_pending > 0);
        self.election_connects_pending = self.election_connects_pending.saturating_sub(1);
    }

    /// A new connection's sender starts: resend the last message if nothing newer waits.
    fn flush_on_connect(peer: ServerId, link: &mut Link, out: &mut Outbox) {
        if link.queued.is_none() {
            if let Some(last) = link.last_sent.clone() {
                out.push(Output::Send {
                    to: peer,
                    msg: PeerMessage::Election(last),
                });
            }
        }
        Self::flush(peer, link, out);
    }

    fn flush(peer: ServerId, link: &mut Link, out: &mut Outbox) {
        debug_assert!(link.up, "only an established connection sends");
        if let Some(n) = link.queued.take() {
            link.last_sent = Some(n.clone());
            out.push(Output::Send {
                to: peer,
                msg: PeerMessage::Election(n),
            });
        }
    }
}
