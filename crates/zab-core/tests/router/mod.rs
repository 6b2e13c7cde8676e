//! A tiny in-process network for hand-driven election tests, until the simulator replaces it:
//! it carries `Output::Send` between peers after a fixed latency, answers `Connect` with
//! `Connected` (or `ConnectFailed`: at once for a crashed process, after the timeout for a
//! powered-off host), and fires timers in time order on a virtual clock. Ties are broken by
//! scheduling order, so every run is the same. Disk requests complete after one latency on an
//! in-memory disk that keeps unsynced appends apart (a crash loses them), so ZAB runs too.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use zab_core::bugs::BugSet;
use zab_core::peer::{Channel, Input, Output, PersistOp, Recovered, Role, ServerEvent, Timer};
use zab_core::{Config, Epoch, Millis, Peer, ServerId};

pub fn ids(v: &[u64]) -> BTreeSet<ServerId> {
    v.iter().copied().map(ServerId).collect()
}

#[derive(Debug)]
enum Event {
    Deliver { to: ServerId, input: Input },
    Start { sid: ServerId },
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
    down: BTreeMap<ServerId, Down>,
    timers: BTreeMap<ServerId, BTreeMap<Timer, Millis>>,
    queue: BTreeMap<(Millis, u64), Event>,
    seq: u64,
    /// Established connections, as (channel, low, high).
    conns: BTreeSet<(Channel, ServerId, ServerId)>,
    /// Each server's disk: durable log bytes, unsynced appends, snapshots, epoch files.
    disks: BTreeMap<ServerId, MemDisk>,
    /// Every event each server reported, with its time.
    pub events: Vec<(Millis, ServerId, ServerEvent)>,
    pub connects: u64,
    pub disconnects: u64,
    pub messages: u64,
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
            down: BTreeMap::new(),
            timers: BTreeMap::new(),
            queue: BTreeMap::new(),
            seq: 0,
            conns: BTreeSet::new(),
            disks: BTreeMap::new(),
            events: Vec::new(),
            connects: 0,
            disconnects: 0,
            messages: 0,
        }
    }

    fn config(&self, sid: ServerId) -> Config {
        let mut c = Config::new(sid, self.voters.clone(), self.observers.clone());
        c.bugs = self.bugs.clone();
        c
    }

    fn push(&mut self, at: Millis, event: Event) {
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
            disk.unsynced.clear();
        }
        let gone: Vec<(Channel, ServerId, ServerId)> = self
            .conns
            .iter()
            .filter(|(_, a, b)| *a == sid || *b == sid)
            .copied()
            .collect();
        for conn in gone {
            self.conns.remove(&conn);
            let (channel, low, high) = conn;
            let other = if low == sid { high } else { low };
            if how == Down::Crashed {
                // The kernel resets the connections of a dead process.
                let at = self.now + self.latency_ms;
                self.push(
                    at,
                    Event::Deliver {
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
                let conn = (msg.channel(), from.min(to), from.max(to));
                if self.conns.contains(&conn) && !self.down.contains_key(&to) {
                    self.messages += 1;
                    let at = self.now + lat;
                    self.push(
                        at,
                        Event::Deliver {
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
                                to: from,
                                input: Input::ConnectFailed { peer: to, channel },
                            },
                        );
                    }
                    None => {
                        // The handshake completes after one hop on both sides.
                        self.conns.insert((channel, from.min(to), from.max(to)));
                        let at = self.now + lat;
                        self.push(
                            at,
                            Event::Deliver {
                                to: from,
                                input: Input::Connected {
                                    peer: to,
                                    channel,
                                    outbound: true,
                                },
                            },
                        );
                        self.push(
                            at,
                            Event::Deliver {
                                to,
                                input: Input::Connected {
                                    peer: from,
                                    channel,
                                    outbound: false,
                                },
                            },
                        );
                    }
                }
            }
            Output::Disconnect { peer, channel } => {
                if channel == Channel::Election {
                    self.disconnects += 1;
                }
                let conn = (channel, from.min(peer), from.max(peer));
                if self.conns.remove(&conn) {
                    let at = self.now + lat;
                    self.push(
                        at,
                        Event::Deliver {
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
                self.disks.entry(from).or_default().execute(&op);
                let at = self.now + lat;
                self.push(
                    at,
                    Event::Deliver {
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
                Event::Deliver { to, input } => {
                    let now = self.now;
                    if let Some(peer) = self.peers.get_mut(&to) {
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

    /// Election connections.
    pub fn connections(&self) -> usize {
        self.conns
            .iter()
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
