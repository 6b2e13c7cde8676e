//! The in-test router: servers running `Zab`, a FIFO network with partitions, an in-memory
//! disk per server, timers, and scripted roles instead of an election.

use crate::config::Config;
use crate::error::ErrorCode;
use crate::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use crate::peer::{
    Channel, ConnId, Input, Output, PeerMessage, PersistOp, PersistToken, Recovered, Role,
    ServerEvent, Timer,
};
use crate::request::{ConnectRequest, CreateMode, Request, Response};
use crate::zab::packet::QuorumPacket;
use crate::zab::Zab;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One server's disk: durable records, and appended-but-unsynced ones kept apart.
#[derive(Clone, Debug, Default)]
pub struct MemDisk {
    pub durable: Vec<(Zxid, Vec<u8>)>,
    pub unsynced: Vec<(Zxid, Vec<u8>)>,
    pub accepted: Option<Epoch>,
    pub current: Option<Epoch>,
    pub snapshots: Vec<(Zxid, Vec<u8>)>,
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

    /// What a restart reads back: only durable bytes.
    pub fn recovered(&self) -> Recovered {
        Recovered {
            log: self.durable.iter().flat_map(|(_, r)| r.clone()).collect(),
            snapshots: self.snapshots.clone(),
            accepted_epoch: self.accepted,
            current_epoch: self.current,
        }
    }

    pub fn durable_zxids(&self) -> Vec<Zxid> {
        self.durable.iter().map(|(z, _)| *z).collect()
    }
}

pub struct Node {
    pub zab: Option<Zab>,
    pub disk: MemDisk,
    pub config: Config,
    /// Persist requests not yet executed, in issue order.
    pub disk_queue: VecDeque<(PersistToken, PersistOp)>,
    /// When set, the disk does not complete requests (a slow or stuck fsync).
    pub disk_held: bool,
    pub timers: BTreeMap<Timer, Millis>,
}

/// A recorded output, for assertions.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub server: ServerId,
    pub output: Output,
}

pub struct Net {
    pub nodes: BTreeMap<ServerId, Node>,
    inbox: VecDeque<(ServerId, Input)>,
    pub now: Millis,
    cut: BTreeSet<(ServerId, ServerId)>,
    pub log: Vec<Recorded>,
}

pub fn ids(range: std::ops::RangeInclusive<u64>) -> BTreeSet<ServerId> {
    range.map(ServerId).collect()
}

impl Net {
    /// Servers `voters` and `observers`, each with `tweak` applied to its config, all empty.
    pub fn new(
        voters: BTreeSet<ServerId>,
        observers: BTreeSet<ServerId>,
        tweak: impl Fn(&mut Config),
    ) -> Net {
        let mut nodes = BTreeMap::new();
        for me in voters.iter().chain(observers.iter()) {
            let mut config = Config::new(*me, voters.clone(), observers.clone());
            config.tick_ms = 100;
            tweak(&mut config);
            let (zab, _) = Zab::recover(config.clone(), &Recovered::default()).expect("empty disk");
            nodes.insert(
                *me,
                Node {
                    zab: Some(zab),
                    disk: MemDisk::default(),
                    config,
                    disk_queue: VecDeque::new(),
                    disk_held: false,
                    timers: BTreeMap::new(),
                },
            );
        }
        Net {
            nodes,
            inbox: VecDeque::new(),
            now: Millis(1_000_000),
            cut: BTreeSet::new(),
            log: Vec::new(),
        }
    }

    pub fn zab(&self, id: u64) -> &Zab {
        self.nodes[&ServerId(id)]
            .zab
            .as_ref()
            .expect("server is up")
    }

    fn linked(&self, a: ServerId, b: ServerId) -> bool {
        !self.cut.contains(&(a, b))
            && !self.cut.contains(&(b, a))
            && self.nodes.get(&a).is_some_and(|n| n.zab.is_some())
            && self.nodes.get(&b).is_some_and(|n| n.zab.is_some())
    }

    /// Cut every link between `a` and the others in `from`; open connections reset.
    pub fn partition(&mut self, a: u64, from: &[u64]) {
        for b in from {
            let (a, b) = (ServerId(a), ServerId(*b));
            if self.linked(a, b) {
                self.inbox.push_back((
                    a,
                    Input::Disconnected {
                        peer: b,
                        channel: Channel::Quorum,
                    },
                ));
                self.inbox.push_back((
                    b,
                    Input::Disconnected {
                        peer: a,
                        channel: Channel::Quorum,
                    },
                ));
            }
            self.cut.insert((a, b));
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    fn drain(&mut self, id: ServerId) {
        loop {
            let Some(node) = self.nodes.get_mut(&id) else {
                return;
            };
            let Some(zab) = node.zab.as_mut() else { return };
            let Some(output) = zab.poll_output() else {
                return;
            };
            self.route(id, output);
        }
    }

    fn route(&mut self, from: ServerId, output: Output) {
        self.log.push(Recorded {
            server: from,
            output: output.clone(),
        });
        match output {
            Output::Send { to, msg } if self.linked(from, to) => {
                self.inbox.push_back((to, Input::Message { from, msg }));
            }
            Output::Connect { to, channel, .. } => {
                if self.linked(from, to) {
                    self.inbox.push_back((
                        from,
                        Input::Connected {
                            peer: to,
                            channel,
                            outbound: true,
                        },
                    ));
                    self.inbox.push_back((
                        to,
                        Input::Connected {
                            peer: from,
                            channel,
                            outbound: false,
                        },
                    ));
                } else {
                    self.inbox
                        .push_back((from, Input::ConnectFailed { peer: to, channel }));
                }
            }
            Output::Disconnect { peer, channel } if self.linked(from, peer) => {
                self.inbox.push_back((
                    peer,
                    Input::Disconnected {
                        peer: from,
                        channel,
                    },
                ));
            }
            Output::SetTimer { timer, at } => {
                self.nodes
                    .get_mut(&from)
                    .expect("node")
                    .timers
                    .insert(timer, at);
            }
            Output::CancelTimer { timer } => {
                self.nodes
                    .get_mut(&from)
                    .expect("node")
                    .timers
                    .remove(&timer);
            }
            Output::Persist { token, op } => {
                self.nodes
                    .get_mut(&from)
                    .expect("node")
                    .disk_queue
                    .push_back((token, op));
            }
            _ => {}
        }
    }

    fn deliver(&mut self, to: ServerId, input: Input) {
        let now = self.now;
        let Some(zab) = self.nodes.get_mut(&to).and_then(|n| n.zab.as_mut()) else {
            return;
        };
        zab.handle(now, input);
        self.drain(to);
    }

    /// Complete one disk request of `id`, if its disk is not held.
    fn step_disk(&mut self, id: ServerId) -> bool {
        let node = self.nodes.get_mut(&id).expect("node");
        if node.disk_held || node.zab.is_none() {
            return false;
        }
        let Some((token, op)) = node.disk_queue.pop_front() else {
            return false;
        };
        node.disk.execute(&op);
        self.deliver(
            id,
            Input::PersistDone {
                token,
                result: Ok(()),
            },
        );
        true
    }

    /// Deliver messages and complete disk requests until nothing is left to do.
    pub fn settle(&mut self) {
        for _ in 0..1_000_000 {
            if let Some((to, input)) = self.inbox.pop_front() {
                self.deliver(to, input);
                continue;
            }
            let ids: Vec<ServerId> = self.nodes.keys().copied().collect();
            if !ids.into_iter().any(|id| self.step_disk(id)) {
                return;
            }
        }
        panic!("the ensemble never settled");
    }

    /// Let `ms` of virtual time pass, firing timers in order and settling after each.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        loop {
            self.settle();
            let next = self
                .nodes
                .iter()
                .filter(|(_, n)| n.zab.is_some())
                .flat_map(|(id, n)| n.timers.iter().map(move |(t, at)| (*at, *id, *t)))
                .filter(|(at, _, _)| *at <= end)
                .min();
            let Some((at, id, timer)) = next else { break };
            self.now = self.now.max(at);
            self.nodes.get_mut(&id).expect("node").timers.remove(&timer);
            self.deliver(id, Input::TimerFired(timer));
        }
        self.now = end;
        self.settle();
    }

    /// Scripted election: `leader` leads, every other live server follows or observes it.
    pub fn elect(&mut self, leader: u64) {
        let ids: Vec<u64> = self.nodes.keys().map(|s| s.0).collect();
        self.elect_in_order(leader, &ids);
    }

    /// As `elect`, the others joining in the order given.
    pub fn elect_in_order(&mut self, leader: u64, order: &[u64]) {
        let now = self.now;
        let leader_id = ServerId(leader);
        let ids: Vec<ServerId> = order.iter().copied().map(ServerId).collect();
        if let Some(zab) = self.nodes.get_mut(&leader_id).and_then(|n| n.zab.as_mut()) {
            zab.start_leading(now);
        }
        self.drain(leader_id);
        for id in ids {
            if id == leader_id {
                continue;
            }
            self.join(id.0, leader);
        }
        self.settle();
    }

    /// `id` (after an election) follows or observes `leader`.
    pub fn join(&mut self, id: u64, leader: u64) {
        let now = self.now;
        let id = ServerId(id);
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let observer = node.config.is_observer();
        if let Some(zab) = node.zab.as_mut() {
            if observer {
                zab.start_observing(now, ServerId(leader));
            } else {
                zab.start_following(now, ServerId(leader));
            }
        }
        self.drain(id);
    }

    /// Stop the process: unsynced bytes and pending disk requests are lost.
    pub fn crash(&mut self, id: u64) {
        let others: Vec<ServerId> = self.nodes.keys().copied().filter(|s| s.0 != id).collect();
        for other in others {
            if self.linked(ServerId(id), other) {
                self.inbox.push_back((
                    other,
                    Input::Disconnected {
                        peer: ServerId(id),
                        channel: Channel::Quorum,
                    },
                ));
            }
        }
        let node = self.nodes.get_mut(&ServerId(id)).expect("node");
        node.zab = None;
        node.disk.unsynced.clear();
        node.disk_queue.clear();
        node.timers.clear();
        node.disk_held = false;
        self.inbox.retain(|(to, _)| to.0 != id);
    }

    /// Start again from what the disk kept.
    pub fn restart(&mut self, id: u64) {
        let node = self.nodes.get_mut(&ServerId(id)).expect("node");
        let (zab, _) =
            Zab::recover(node.config.clone(), &node.disk.recovered()).expect("recoverable");
        node.zab = Some(zab);
        self.drain(ServerId(id));
    }

    pub fn hold_disk(&mut self, id: u64, held: bool) {
        self.nodes.get_mut(&ServerId(id)).expect("node").disk_held = held;
    }

    /// Connect a new client to `server`; returns its session.
    pub fn connect_client(&mut self, server: u64, conn: u64) -> Option<SessionId> {
        self.connect_with(server, conn, SessionId(0), vec![], Zxid::ZERO)
    }

    pub fn connect_with(
        &mut self,
        server: u64,
        conn: u64,
        session: SessionId,
        passwd: Vec<u8>,
        last_zxid_seen: Zxid,
    ) -> Option<SessionId> {
        let mark = self.log.len();
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen,
            timeout_ms: 4000,
            session,
            passwd,
            read_only: false,
        };
        self.inbox.push_back((
            ServerId(server),
            Input::ClientConnect {
                conn: ConnId(conn),
                request,
            },
        ));
        self.settle();
        self.log[mark..].iter().find_map(|r| match &r.output {
            Output::ClientConnected { conn: c, response } if *c == ConnId(conn) => response
                .as_ref()
                .map(|resp| resp.session)
                .filter(|s| s.0 != 0),
            _ => None,
        })
    }

    /// Send a request; settle; return its reply if one came.
    pub fn request(
        &mut self,
        server: u64,
        conn: u64,
        xid: i32,
        request: Request,
    ) -> Option<Result<Response, ErrorCode>> {
        let mark = self.log.len();
        self.inbox.push_back((
            ServerId(server),
            Input::ClientRequest {
                conn: ConnId(conn),
                xid,
                request,
            },
        ));
        self.settle();
        self.reply_since(mark, conn, xid)
    }

    pub fn reply_since(
        &self,
        mark: usize,
        conn: u64,
        xid: i32,
    ) -> Option<Result<Response, ErrorCode>> {
        self.log[mark..].iter().find_map(|r| match &r.output {
            Output::ClientReply {
                conn: c,
                xid: x,
                result,
                ..
            } if *c == ConnId(conn) && *x == xid => Some(result.clone()),
            _ => None,
        })
    }

    pub fn client_input(&mut self, server: u64, input: Input) {
        self.inbox.push_back((ServerId(server), input));
        self.settle();
    }

    pub fn digests(&self) -> Vec<(ServerId, Zxid, u64)> {
        self.nodes
            .iter()
            .filter_map(|(id, n)| {
                n.zab
                    .as_ref()
                    .map(|z| (*id, z.last_processed(), z.digest()))
            })
            .collect()
    }

    pub fn roles(&self) -> Vec<Role> {
        self.nodes
            .values()
            .filter_map(|n| n.zab.as_ref().map(|z| z.role()))
            .collect()
    }

    pub fn events(&self, server: u64) -> Vec<ServerEvent> {
        self.log
            .iter()
            .filter(|r| r.server == ServerId(server))
            .filter_map(|r| match &r.output {
                Output::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    /// Quorum packets `from` sent, in order.
    pub fn sent(&self, from: u64) -> Vec<(ServerId, QuorumPacket)> {
        self.log
            .iter()
            .filter(|r| r.server == ServerId(from))
            .filter_map(|r| match &r.output {
                Output::Send {
                    to,
                    msg: PeerMessage::Quorum(p),
                } => Some((*to, p.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn take_abandon(&mut self, id: u64) -> Option<String> {
        self.nodes
            .get_mut(&ServerId(id))?
            .zab
            .as_mut()?
            .take_abandon()
    }
}

pub fn create(path: &str, data: &[u8]) -> Request {
    Request::Create {
        path: path.into(),
        data: data.to_vec(),
        acl: crate::request::Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl: None,
        with_stat: false,
    }
}

pub fn ephemeral(path: &str) -> Request {
    Request::Create {
        path: path.into(),
        data: vec![],
        acl: crate::request::Acl::open_unsafe(),
        mode: CreateMode::Ephemeral,
        ttl: None,
        with_stat: false,
    }
}

pub fn get(path: &str) -> Request {
    Request::GetData {
        path: path.into(),
        watch: false,
    }
}

pub fn data_of(reply: Option<Result<Response, ErrorCode>>) -> Option<Vec<u8>> {
    match reply {
        Some(Ok(Response::GetData { data, .. })) => Some(data),
        _ => None,
    }
}
