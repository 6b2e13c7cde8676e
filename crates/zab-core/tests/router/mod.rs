//! A tiny in-process network for hand-driven election tests, until the simulator replaces it:
//! it carries `Output::Send` between peers after a fixed latency, answers `Connect` with
//! `Connected` (or `ConnectFailed`: at once for a crashed process, after the timeout for a
//! powered-off host), and fires timers in time order on a virtual clock. Ties are broken by
//! scheduling order, so every run is the same.

#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use zab_core::bugs::BugSet;
use zab_core::peer::{Channel, Input, Output, PersistOp, Recovered, Role, ServerEvent, Timer};
use zab_core::{Config, Epoch, Millis, Peer, ServerId};

pub fn ids(v: &[u64]) -> BTreeSet<ServerId> {
    v.iter().copied().map(ServerId).collect()
}

#[derive(Debug)]
enum Event {
    /// `incarnation`: the target's incarnation when the event was caused; an event meant for
    /// a process that has since restarted is dropped (its connections died with it).
    Deliver {
        to: ServerId,
        input: Input,
        incarnation: u64,
    },
    Start {
        sid: ServerId,
    },
    Establish {
        initiator: ServerId,
        acceptor: ServerId,
        channel: Channel,
        timeout: Millis,
        incarnation: u64,
    },
    Handshaken {
        initiator: ServerId,
        acceptor: ServerId,
        channel: Channel,
        conn: u64,
        incarnation: u64,
    },
}

/// How a server is unreachable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Down {
    /// The process died; its host refuses connections at once.
    Crashed,
    /// The host is gone (powered off, blackholed): connects hang for the whole timeout.
    PoweredOff,
}

pub struct Router {
    pub now: Millis,
    pub latency_ms: u64,
    pub voters: BTreeSet<ServerId>,
    pub observers: BTreeSet<ServerId>,
    pub bugs: BugSet,
    pub epochs: BTreeMap<ServerId, Epoch>,
    peers: BTreeMap<ServerId, Peer>,
    incarnations: BTreeMap<ServerId, u64>,
    down: BTreeMap<ServerId, Down>,
    timers: BTreeMap<ServerId, BTreeMap<Timer, Millis>>,
    queue: BTreeMap<(Millis, u64), Event>,
    seq: u64,
    /// The current connection of each channel and unordered pair (channel, low, high), by
    /// id. A newer connection replaces an older one.
    conns: BTreeMap<(Channel, ServerId, ServerId), u64>,
    /// Each server's disk: durable log records, unsynced appends, snapshots, epoch files.
    disks: BTreeMap<ServerId, MemDisk>,
    next_conn: u64,
    /// Every event each server reported, with its time.
    pub events: Vec<(Millis, ServerId, ServerEvent)>,
    pub connects: u64,
    pub disconnects: u64,
    pub messages: u64,
    /// Extra delay per hop, drawn uniformly from `0..=jitter_ms` (0: none). Hops between one
    /// pair of servers stay in order; hops between different pairs reorder.
    pub jitter_ms: u64,
    /// Print every delivery (debugging).
    pub trace: bool,
    rng: ChaCha8Rng,
    /// The last scheduled arrival per (from, to), to keep each direction FIFO.
    last_hop: BTreeMap<(ServerId, ServerId), Millis>,
}

impl Router {
    pub fn new(voters: &[u64], observers: &[u64]) -> Router {
        Router {
            now: Millis::ZERO,
            latency_ms: 1,
            voters: ids(voters),
            observers: ids(observers),
            bugs: BugSet::default(),
            epochs: BTreeMap::new(),
            peers: BTreeMap::new(),
            incarnations: BTreeMap::new(),
            down: BTreeMap::new(),
            timers: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            conns: BTreeMap::new(),
            disks: BTreeMap::new(),
            next_conn: 0,
            events: Vec::new(),
            connects: 0,
            disconnects: 0,
            messages: 0,
            jitter_ms: 0,
            trace: false,
            rng: ChaCha8Rng::seed_from_u64(0),
            last_hop: BTreeMap::new(),
        }
    }

    /// Reseed the jitter.
    pub fn seed(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// When a hop from `from` to `to` sent now arrives.
    fn hop(&mut self, from: ServerId, to: ServerId) -> Millis {
        let extra = if self.jitter_ms == 0 {
            0
        } else {
            self.rng.gen_range(0..=self.jitter_ms)
        };
        let earliest = self.now + self.latency_ms + extra;
        let last = self
            .last_hop
            .get(&(from, to))
            .copied()
            .unwrap_or(Millis::ZERO);
        let at = earliest.max(last);
        self.last_hop.insert((from, to), at);
        at
    }

    fn config(&self, sid: ServerId) -> Config {
        let mut c = Config::new(sid, self.voters.clone(), self.observers.clone());
        c.bugs = self.bugs.clone();
        c
    }

    fn incarnation(&self, sid: ServerId) -> u64 {
        self.incarnations.get(&sid).copied().unwrap_or(0)
    }

    fn push(&mut self, at: Millis, mut event: Event) {
        match &mut event {
            Event::Deliver {
                to, incarnation, ..
            } => *incarnation = self.incarnation(*to),
            Event::Establish {
                initiator,
                incarnation,
                ..
            } => *incarnation = self.incarnation(*initiator),
            Event::Handshaken {
                initiator,
                incarnation,
                ..
            } => *incarnation = self.incarnation(*initiator),
            Event::Start { .. } => {}
        }
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    /// Start (or restart) `sid` now, from its recovered epochs.
    pub fn start(&mut self, sid: u64) {
        let sid = ServerId(sid);
        let mut recovered = self
            .disks
            .get(&sid)
            .map(MemDisk::recovered)
            .unwrap_or_default();
        if let Some(epoch) = self.epochs.get(&sid).copied() {
            recovered.current_epoch = Some(epoch);
            recovered.accepted_epoch = Some(epoch);
        }
        self.down.remove(&sid);
        *self.incarnations.entry(sid).or_default() += 1;
        let peer = Peer::new(self.config(sid), recovered, self.now, 7 + sid.0);
        self.peers.insert(sid, peer);
        self.timers.insert(sid, BTreeMap::new());
        self.drain(sid);
    }

    /// Start `sid` at a later virtual time.
    pub fn start_at(&mut self, at: u64, sid: u64) {
        self.push(Millis(at), Event::Start { sid: ServerId(sid) });
    }

    /// Kill `sid`'s process (or power off its host): its connections close.
    pub fn crash(&mut self, sid: u64, how: Down) {
        let sid = ServerId(sid);
        self.peers.remove(&sid);
        self.timers.remove(&sid);
        self.down.insert(sid, how);
        if let Some(disk) = self.disks.get_mut(&sid) {
            // What was never fsynced dies with the process.
            disk.unsynced.clear();
        }
        let gone: Vec<(Channel, ServerId, ServerId)> = self
            .conns
            .keys()
            .filter(|(_, a, b)| *a == sid || *b == sid)
            .copied()
            .collect();
        for key in gone {
            self.conns.remove(&key);
            let (channel, low, high) = key;
            let other = if low == sid { high } else { low };
            if how == Down::Crashed {
                // The kernel resets the connections of a dead process, behind whatever the
                // process had already sent on them.
                let at = self.hop(sid, other);
                self.push(
                    at,
                    Event::Deliver {
                        incarnation: 0,
                        to: other,
                        input: Input::Disconnected { peer: sid, channel },
                    },
                );
            }
        }
    }

    /// Mark a server that was never started as powered off.
    pub fn power_off(&mut self, sid: u64) {
        self.down.insert(ServerId(sid), Down::PoweredOff);
    }

    pub fn peer(&self, sid: u64) -> &Peer {
        &self.peers[&ServerId(sid)]
    }

    pub fn peer_mut(&mut self, sid: u64) -> &mut Peer {
        self.peers.get_mut(&ServerId(sid)).expect("peer is running")
    }

    /// Call `go_looking` on a running peer (what ZAB will do when it loses its leader).
    pub fn go_looking(&mut self, sid: u64) {
        let now = self.now;
        self.peer_mut(sid).go_looking(now);
        self.drain(ServerId(sid));
    }

    pub fn role(&self, sid: u64) -> Role {
        self.peer(sid).role()
    }

    pub fn leader_of(&self, sid: u64) -> Option<ServerId> {
        self.peer(sid).leader()
    }

    fn drain(&mut self, sid: ServerId) {
        while let Some(output) = self.peers.get_mut(&sid).and_then(|p| p.poll_output()) {
            self.carry(sid, output);
        }
    }

    fn carry(&mut self, from: ServerId, output: Output) {
        let lat = self.latency_ms;
        match output {
            Output::Send { to, msg } => {
                let key = (msg.channel(), from.min(to), from.max(to));
                if self.conns.contains_key(&key) && !self.down.contains_key(&to) {
                    self.messages += 1;
                    let at = self.hop(from, to);
                    self.push(
                        at,
                        Event::Deliver {
                            incarnation: 0,
                            to,
                            input: Input::Message { from, msg },
                        },
                    );
                }
            }
            Output::Connect {
                to,
                channel,
                timeout,
            } => {
                if channel == Channel::Election {
                    self.connects += 1;
                }
                match self.down.get(&to) {
                    Some(Down::PoweredOff) => {
                        let at = self.now + timeout;
                        self.push(
                            at,
                            Event::Deliver {
                                incarnation: 0,
                                to: from,
                                input: Input::ConnectFailed { peer: to, channel },
                            },
                        );
                    }
                    Some(Down::Crashed) => {
                        let at = self.now + lat;
                        self.push(
                            at,
                            Event::Deliver {
                                incarnation: 0,
                                to: from,
                                input: Input::ConnectFailed { peer: to, channel },
                            },
                        );
                    }
                    None if !self.peers.contains_key(&to) => {
                        // Not started yet: nobody listens on the port, the connect is refused.
                        let at = self.now + lat;
                        self.push(
                            at,
                            Event::Deliver {
                                incarnation: 0,
                                to: from,
                                input: Input::ConnectFailed { peer: to, channel },
                            },
                        );
                    }
                    None => {
                        // The SYN reaches the acceptor after one hop; the connection exists
                        // from then on, and the initiator hears of it one hop later.
                        let at = self.hop(from, to);
                        self.push(
                            at,
                            Event::Establish {
                                initiator: from,
                                acceptor: to,
                                channel,
                                timeout,
                                incarnation: 0,
                            },
                        );
                    }
                }
            }
            Output::Disconnect { peer, channel } => {
                if channel == Channel::Election {
                    self.disconnects += 1;
                }
                if self.trace {
                    eprintln!("{} {from}: disconnect {peer}", self.now);
                }
                let key = (channel, from.min(peer), from.max(peer));
                if self.conns.remove(&key).is_some() {
                    let at = self.hop(from, peer);
                    self.push(
                        at,
                        Event::Deliver {
                            incarnation: 0,
                            to: peer,
                            input: Input::Disconnected {
                                peer: from,
                                channel,
                            },
                        },
                    );
                }
            }
            Output::SetTimer { timer, at } => {
                self.timers.entry(from).or_default().insert(timer, at);
            }
            Output::CancelTimer { timer } => {
                self.timers.entry(from).or_default().remove(&timer);
            }
            Output::Event(e) => self.events.push((self.now, from, e)),
            Output::Persist { token, op } => {
                // The disk completes each request after one latency, in issue order.
                self.disks.entry(from).or_default().execute(&op);
                let at = self.now + lat;
                self.push(
                    at,
                    Event::Deliver {
                        incarnation: 0,
                        to: from,
                        input: Input::PersistDone {
                            token,
                            result: Ok(()),
                        },
                    },
                );
            }
            other => panic!("unexpected output from {from}: {other:?}"),
        }
    }

    /// A connect's SYN arrived at `acceptor`.
    fn establish(
        &mut self,
        initiator: ServerId,
        acceptor: ServerId,
        channel: Channel,
        timeout: Millis,
    ) {
        if !self.peers.contains_key(&acceptor) {
            // Died (or was powered off) while the SYN was on its way.
            let at = match self.down.get(&acceptor) {
                Some(Down::PoweredOff) => self.now + timeout,
                _ => self.hop(acceptor, initiator),
            };
            self.push(
                at,
                Event::Deliver {
                    incarnation: 0,
                    to: initiator,
                    input: Input::ConnectFailed {
                        peer: acceptor,
                        channel,
                    },
                },
            );
            return;
        }
        self.next_conn += 1;
        let conn = self.next_conn;
        if self.trace {
            eprintln!(
                "{} -> {acceptor}: accept conn {conn} from {initiator}",
                self.now
            );
        }
        self.conns.insert(
            (channel, initiator.min(acceptor), initiator.max(acceptor)),
            conn,
        );
        // The handshake's answer leaves before the acceptor's code reacts to the connection.
        let at = self.hop(acceptor, initiator);
        self.push(
            at,
            Event::Handshaken {
                initiator,
                acceptor,
                channel,
                conn,
                incarnation: 0,
            },
        );
        let now = self.now;
        self.peers.get_mut(&acceptor).unwrap().handle(
            now,
            Input::Connected {
                peer: initiator,
                channel,
                outbound: false,
            },
        );
        self.drain(acceptor);
    }

    /// The initiator learns its connect succeeded; if the connection was closed or replaced
    /// meanwhile, it learns that right after (connect returned, then the reset arrived).
    fn handshaken(&mut self, initiator: ServerId, acceptor: ServerId, channel: Channel, conn: u64) {
        let now = self.now;
        if self.trace {
            eprintln!("{now} -> {initiator}: handshaken conn {conn} with {acceptor}");
        }
        let current = self
            .conns
            .get(&(channel, initiator.min(acceptor), initiator.max(acceptor)))
            == Some(&conn);
        let Some(peer) = self.peers.get_mut(&initiator) else {
            return;
        };
        peer.handle(
            now,
            Input::Connected {
                peer: acceptor,
                channel,
                outbound: true,
            },
        );
        if !current {
            peer.handle(
                now,
                Input::Disconnected {
                    peer: acceptor,
                    channel,
                },
            );
        }
        self.drain(initiator);
    }

    /// The earliest armed timer of any running peer.
    fn next_timer(&self) -> Option<(Millis, ServerId, Timer)> {
        self.timers
            .iter()
            .flat_map(|(sid, ts)| ts.iter().map(move |(t, at)| (*at, *sid, *t)))
            .min()
    }

    /// Run one step; false when nothing is left to happen before `until`.
    fn step(&mut self, until: Millis) -> bool {
        let next_event = self.queue.keys().next().copied();
        let next_timer = self.next_timer();
        let timer_first = match (next_event, next_timer) {
            (None, None) => return false,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some((e, _)), Some((t, _, _))) => t < e,
        };
        if timer_first {
            let (at, sid, timer) = next_timer.unwrap();
            if at > until {
                return false;
            }
            self.now = self.now.max(at);
            self.timers.get_mut(&sid).unwrap().remove(&timer);
            let peer = self.peers.get_mut(&sid).unwrap();
            assert_eq!(
                peer.next_deadline().map(|d| d <= at),
                Some(true),
                "the peer agrees the timer is due"
            );
            peer.handle(at, Input::TimerFired(timer));
            self.drain(sid);
        } else {
            let key = next_event.unwrap();
            if key.0 > until {
                return false;
            }
            let event = self.queue.remove(&key).unwrap();
            self.now = self.now.max(key.0);
            match event {
                Event::Start { sid } => self.start(sid.0),
                Event::Establish {
                    initiator,
                    acceptor,
                    channel,
                    timeout,
                    incarnation,
                } => {
                    if incarnation == self.incarnation(initiator)
                        && self.peers.contains_key(&initiator)
                    {
                        self.establish(initiator, acceptor, channel, timeout);
                    }
                }
                Event::Handshaken {
                    initiator,
                    acceptor,
                    channel,
                    conn,
                    incarnation,
                } => {
                    if incarnation == self.incarnation(initiator) {
                        self.handshaken(initiator, acceptor, channel, conn);
                    }
                }
                Event::Deliver {
                    to,
                    input,
                    incarnation,
                } => {
                    let now = self.now;
                    let current = incarnation == self.incarnation(to);
                    if self.trace {
                        eprintln!("{now} -> {to}: {input:?}");
                    }
                    if let Some(peer) = self.peers.get_mut(&to).filter(|_| current) {
                        peer.handle(now, input);
                        self.drain(to);
                    }
                }
            }
        }
        true
    }

    /// Run until virtual time `until` (or until nothing is scheduled).
    pub fn run_until(&mut self, until: u64) {
        let until = Millis(until);
        let mut steps = 0u64;
        while self.step(until) {
            steps += 1;
            assert!(steps < 5_000_000, "the network runs away");
        }
        self.now = self.now.max(until);
    }

    /// Run until every running peer has left LOOKING, or `limit` ms pass; the time it took.
    pub fn run_until_settled(&mut self, limit: u64) -> Option<Millis> {
        let until = Millis(self.now.0 + limit);
        let mut steps = 0u64;
        loop {
            if !self.peers.is_empty() && self.peers.values().all(|p| p.role() != Role::Looking) {
                return Some(self.now);
            }
            if !self.step(until) {
                return None;
            }
            steps += 1;
            assert!(steps < 5_000_000, "the network runs away");
        }
    }

    pub fn running(&self) -> Vec<ServerId> {
        self.peers.keys().copied().collect()
    }

    /// `Elected` events reported by `sid`.
    pub fn elected(&self, sid: u64) -> Vec<ServerId> {
        self.events
            .iter()
            .filter(|(_, s, _)| *s == ServerId(sid))
            .filter_map(|(_, _, e)| match e {
                ServerEvent::Elected { leader, .. } => Some(*leader),
                _ => None,
            })
            .collect()
    }

    /// Is there an election connection between `a` and `b`?
    pub fn connected(&self, a: u64, b: u64) -> bool {
        self.conns
            .contains_key(&(Channel::Election, ServerId(a.min(b)), ServerId(a.max(b))))
    }

    /// Election connections.
    pub fn connections(&self) -> usize {
        self.conns
            .keys()
            .filter(|(c, _, _)| *c == Channel::Election)
            .count()
    }
}

/// One server's disk: durable records, and appended-but-unsynced ones kept apart.
#[derive(Clone, Debug, Default)]
pub struct MemDisk {
    pub durable: Vec<(zab_core::Zxid, Vec<u8>)>,
    pub unsynced: Vec<(zab_core::Zxid, Vec<u8>)>,
    pub accepted: Option<Epoch>,
    pub current: Option<Epoch>,
    pub snapshots: Vec<(zab_core::Zxid, Vec<u8>)>,
}

impl MemDisk {
    fn execute(&mut self, op: &PersistOp) {
        match op {
            PersistOp::AppendLog { zxid, record } => self.unsynced.push((*zxid, record.clone())),
            PersistOp::Fsync { .. } => self.durable.append(&mut self.unsynced),
            PersistOp::WriteAcceptedEpoch(e) => self.accepted = Some(*e),
            PersistOp::WriteCurrentEpoch(e) => self.current = Some(*e),
            PersistOp::Snapshot { zxid, bytes } => {
                self.snapshots.retain(|(z, _)| z != zxid);
                self.snapshots.push((*zxid, bytes.clone()));
                self.snapshots.sort_by_key(|(z, _)| *z);
            }
            PersistOp::TruncateLog { to } => {
                self.durable.retain(|(z, _)| z <= to);
                self.unsynced.retain(|(z, _)| z <= to);
                self.snapshots.retain(|(z, _)| z <= to);
            }
        }
    }

    fn recovered(&self) -> Recovered {
        Recovered {
            log: self.durable.iter().flat_map(|(_, r)| r.clone()).collect(),
            snapshots: self.snapshots.clone(),
            accepted_epoch: self.accepted,
            current_epoch: self.current,
        }
    }
}
