//! The network: TCP connections between hosts, with TCP's guarantees and a few of its failures.
//!
//! Inside one connection each direction is a byte stream: packets carry a sequence number and
//! the receiver delivers them strictly in order, exactly once (a reorder buffer absorbs latency
//! jitter). Different connections are independent, so messages *across* connections reorder
//! freely. A packet that meets a partition or a powered-off host is not dropped but "lost" in
//! TCP's sense: it is retransmitted when the path heals or the host comes back — as a real
//! kernel keeps retransmitting until the application gives up and closes the socket.
//! Chaos mode (off unless a scenario asks) sends some packets outside the sequence: duplicated,
//! or delivered on arrival regardless of order.

use crate::prng::Prng;
use crate::scenario::NetworkSpec;
use crate::time::SimTime;
use std::collections::{BTreeMap, BTreeSet};
use zab_core::error::ErrorCode;
use zab_core::ids::{ServerId, Zxid};
use zab_core::peer::{Channel, PeerMessage};
use zab_core::request::{ConnectRequest, ConnectResponse, Request, Response, WatchEvent};

/// A machine on the network.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    Server(ServerId),
    Client(u64),
}

/// A connection's identity; for client connections it doubles as the peer's `ConnId`.
pub type LinkId = u64;

/// What a connection carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LinkKind {
    Peer(Channel),
    Client,
}

/// Which end of a connection: the one that called connect, or the one that accepted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Initiator = 0,
    Acceptor = 1,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Initiator => Side::Acceptor,
            Side::Acceptor => Side::Initiator,
        }
    }
}

/// One end's view of the connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EndState {
    /// Connect in progress (initiator) / SYN not yet seen (acceptor).
    Pending,
    Open,
    Closed,
}

/// What travels on a connection.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    Syn,
    SynAck,
    /// Connection refused or reset.
    Rst,
    /// Orderly close.
    Fin,
    Peer(PeerMessage),
    ClientConnect(ConnectRequest),
    ClientConnected(Option<ConnectResponse>),
    ClientRequest {
        xid: i32,
        request: Request,
    },
    ClientPing,
    ClientReply {
        xid: i32,
        zxid: Zxid,
        result: Result<Response, ErrorCode>,
    },
    ClientWatch(WatchEvent),
}

impl Packet {
    /// Short name for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Packet::Syn => "syn",
            Packet::SynAck => "syn-ack",
            Packet::Rst => "rst",
            Packet::Fin => "fin",
            Packet::Peer(_) => "peer",
            Packet::ClientConnect(_) => "client-connect",
            Packet::ClientConnected(_) => "client-connected",
            Packet::ClientRequest { .. } => "client-request",
            Packet::ClientPing => "client-ping",
            Packet::ClientReply { .. } => "client-reply",
            Packet::ClientWatch(_) => "client-watch",
        }
    }
}

/// One direction of a connection.
#[derive(Clone, Debug, Default)]
struct Direction {
    next_send: u64,
    next_deliver: u64,
    last_arrival: SimTime,
    /// Arrived out of order, waiting for a gap to fill.
    buffer: BTreeMap<u64, Packet>,
    /// Met a partition or a dead host; retransmitted when the path is usable again.
    lost: BTreeMap<u64, Packet>,
    /// Sequence numbers that died with a stopped sender ([`Network::discard_lost`]): the
    /// receiver steps over them, so what the sender's kernel said after (its RST) still
    /// arrives.
    skipped: BTreeSet<u64>,
}

/// One TCP connection.
#[derive(Clone, Debug)]
pub struct Link {
    pub id: LinkId,
    pub initiator: Host,
    pub acceptor: Host,
    pub kind: LinkKind,
    ends: [EndState; 2],
    /// Index 0: initiator → acceptor; 1: acceptor → initiator.
    dirs: [Direction; 2],
}

impl Link {
    pub fn host(&self, side: Side) -> Host {
        match side {
            Side::Initiator => self.initiator,
            Side::Acceptor => self.acceptor,
        }
    }

    pub fn end(&self, side: Side) -> EndState {
        self.ends[side as usize]
    }

    /// The side `host` is on.
    pub fn side_of(&self, host: Host) -> Option<Side> {
        if self.initiator == host {
            Some(Side::Initiator)
        } else if self.acceptor == host {
            Some(Side::Acceptor)
        } else {
            None
        }
    }
}

/// A packet in flight, to be handed back to [`Network::arrive`] at its arrival time.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub link: LinkId,
    /// The receiving end.
    pub to: Side,
    /// `None` for chaos packets that bypass the sequence.
    pub seq: Option<u64>,
    pub packet: Packet,
}

/// Directed reachability: between servers, and between clients and servers. The two kinds are
/// kept apart so that healing one (the nemesis ends a server partition) leaves the other.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partitions {
    blocked: BTreeSet<(ServerId, ServerId)>,
    /// Cut paths with a client at one end (`from`, `to`), as a client's route to a server
    /// fails (a NAT or load balancer dropping its flows) while the servers still see each
    /// other.
    client_cuts: BTreeSet<(Host, Host)>,
}

impl Partitions {
    pub fn is_blocked(&self, from: Host, to: Host) -> bool {
        match (from, to) {
            (Host::Server(a), Host::Server(b)) => self.blocked.contains(&(a, b)),
            _ => self.client_cuts.contains(&(from, to)),
        }
    }

    /// Cut `from` → `to` for every pair.
    pub fn block_one_way(&mut self, from: &[ServerId], to: &[ServerId]) {
        for a in from {
            for b in to {
                if a != b {
                    self.blocked.insert((*a, *b));
                }
            }
        }
    }

    /// Cut every link between different groups, both ways.
    pub fn split(&mut self, groups: &[Vec<ServerId>]) {
        for (i, g) in groups.iter().enumerate() {
            for (j, h) in groups.iter().enumerate() {
                if i != j {
                    self.block_one_way(g, h);
                }
            }
        }
    }

    /// Cut the paths between these clients and these servers: requests (client → server),
    /// replies (server → client), or both.
    pub fn cut_clients(&mut self, clients: &[u64], servers: &[ServerId], direction: CutDirection) {
        for c in clients {
            for s in servers {
                let (client, server) = (Host::Client(*c), Host::Server(*s));
                if direction != CutDirection::Replies {
                    self.client_cuts.insert((client, server));
                }
                if direction != CutDirection::Requests {
                    self.client_cuts.insert((server, client));
                }
            }
        }
        debug_assert!(
            self.client_cuts
                .iter()
                .all(|(a, b)| matches!(a, Host::Client(_)) != matches!(b, Host::Client(_))),
            "a client cut has exactly one client end"
        );
    }

    /// Heal everything.
    pub fn heal(&mut self) {
        self.blocked.clear();
        self.client_cuts.clear();
    }

    /// Heal the paths between servers only.
    pub fn heal_servers(&mut self) {
        self.blocked.clear();
    }

    /// Heal the client paths only.
    pub fn heal_clients(&mut self) {
        self.client_cuts.clear();
    }

    /// Nothing is cut.
    pub fn is_empty(&self) -> bool {
        self.blocked.is_empty() && self.client_cuts.is_empty()
    }

    /// No path between two servers is cut (client paths may be).
    pub fn servers_whole(&self) -> bool {
        self.blocked.is_empty()
    }

    /// No client path is cut.
    pub fn clients_whole(&self) -> bool {
        self.client_cuts.is_empty()
    }

    /// Every cut path, servers' first: `1->2 client:3->1`.
    pub fn describe(&self) -> String {
        let mut text = self.describe_servers();
        let clients = self.describe_clients();
        if !text.is_empty() && !clients.is_empty() {
            text.push(' ');
        }
        text.push_str(&clients);
        text
    }

    /// The cut paths between servers only.
    pub fn describe_servers(&self) -> String {
        let pairs: Vec<String> = self
            .blocked
            .iter()
            .map(|(a, b)| format!("{a}->{b}"))
            .collect();
        pairs.join(" ")
    }

    /// The cut client paths only.
    pub fn describe_clients(&self) -> String {
        let pairs: Vec<String> = self
            .client_cuts
            .iter()
            .map(|(a, b)| format!("{}->{}", host_label(*a), host_label(*b)))
            .collect();
        pairs.join(" ")
    }
}

/// Which way a client cut blocks.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutDirection {
    /// Both ways.
    Both,
    /// Client → server only: the server hears nothing, the client's replies stop too.
    Requests,
    /// Server → client only: the server hears the client, the client hears nothing.
    Replies,
}

/// `3` for a server, `client:2` for a client (the scenario files' spelling).
fn host_label(host: Host) -> String {
    match host {
        Host::Server(id) => id.to_string(),
        Host::Client(c) => format!("client:{c}"),
    }
}

/// Every connection, the partitions, and the latency model.
pub struct Network {
    /// Indexed by id (ids are handed out in order; slot 0 is never used). A `Vec` rather than
    /// a map because every packet looks its connection up several times.
    links: Vec<Option<Link>>,
    next_link: LinkId,
    pub partitions: Partitions,
    spec: NetworkSpec,
    prng: Prng,
    /// Bound on packets held for retransmission per direction; past it the sender's kernel
    /// gives up and resets the connection (as TCP does after its retries).
    lost_max: usize,
}

impl Network {
    pub fn new(spec: NetworkSpec, prng: Prng) -> Network {
        Network {
            links: vec![None],
            next_link: 1,
            partitions: Partitions::default(),
            spec,
            prng,
            lost_max: 10_000,
        }
    }

    pub fn link(&self, id: LinkId) -> Option<&Link> {
        self.links.get(id as usize).and_then(|l| l.as_ref())
    }

    fn link_mut(&mut self, id: LinkId) -> Option<&mut Link> {
        self.links.get_mut(id as usize).and_then(|l| l.as_mut())
    }

    pub fn links(&self) -> impl Iterator<Item = &Link> {
        self.links.iter().flatten()
    }

    /// Start a connection: the initiator's end is pending, a SYN is on its way.
    pub fn connect(
        &mut self,
        now: SimTime,
        initiator: Host,
        acceptor: Host,
        kind: LinkKind,
    ) -> (LinkId, Vec<(SimTime, Arrival)>) {
        let id = self.next_link;
        self.next_link += 1;
        debug_assert_eq!(self.links.len() as u64, id, "link ids are slots");
        self.links.push(Some(Link {
            id,
            initiator,
            acceptor,
            kind,
            ends: [EndState::Pending, EndState::Pending],
            dirs: [Direction::default(), Direction::default()],
        }));
        let arrivals = self.send(now, id, Side::Initiator, Packet::Syn);
        (id, arrivals)
    }

    pub fn set_end(&mut self, id: LinkId, side: Side, state: EndState) {
        if let Some(link) = self.link_mut(id) {
            link.ends[side as usize] = state;
            if link.ends == [EndState::Closed, EndState::Closed]
                && link
                    .dirs
                    .iter()
                    .all(|d| d.lost.is_empty() && d.buffer.is_empty())
            {
                self.links[id as usize] = None;
            }
        }
    }

    /// Put `packet` on the wire from `from`'s end. Returns the arrivals to schedule.
    pub fn send(
        &mut self,
        now: SimTime,
        id: LinkId,
        from: Side,
        packet: Packet,
    ) -> Vec<(SimTime, Arrival)> {
        let mut out = Vec::with_capacity(1);
        self.send_into(now, id, from, packet, &mut out);
        out
    }

    /// [`Network::send`] into a caller's buffer (no allocation per packet).
    pub fn send_into(
        &mut self,
        now: SimTime,
        id: LinkId,
        from: Side,
        packet: Packet,
        out: &mut Vec<(SimTime, Arrival)>,
    ) {
        let Some(link) = self.links.get_mut(id as usize).and_then(|l| l.as_mut()) else {
            return;
        };
        let to = from.other();
        let dir = &mut link.dirs[from as usize];
        let latency = self.spec.latency.sample(&mut self.prng);
        let data = !matches!(
            packet,
            Packet::Syn | Packet::SynAck | Packet::Rst | Packet::Fin
        );
        if data && self.prng.chance(self.spec.reorder) {
            out.push((
                now.plus(latency),
                Arrival {
                    link: id,
                    to,
                    seq: None,
                    packet,
                },
            ));
            return;
        }
        if data && self.prng.chance(self.spec.duplicate) {
            let again = self.spec.latency.sample(&mut self.prng);
            out.push((
                now.plus(latency).plus(again),
                Arrival {
                    link: id,
                    to,
                    seq: None,
                    packet: packet.clone(),
                },
            ));
        }
        let seq = dir.next_send;
        dir.next_send += 1;
        let at = now.plus(latency).max(dir.last_arrival);
        dir.last_arrival = at;
        out.push((
            at,
            Arrival {
                link: id,
                to,
                seq: Some(seq),
                packet,
            },
        ));
    }

    /// Is the path for this arrival cut right now?
    pub fn path_blocked(&self, arrival: &Arrival) -> bool {
        match self.link(arrival.link) {
            Some(link) => self
                .partitions
                .is_blocked(link.host(arrival.to.other()), link.host(arrival.to)),
            None => false,
        }
    }

    /// The packet did not get through (partition, host off): keep it for retransmission.
    /// Returns false when the sender's retransmission queue is full (the caller resets the
    /// connection).
    pub fn lose(&mut self, arrival: Arrival) -> bool {
        let lost_max = self.lost_max;
        let Some(link) = self.link_mut(arrival.link) else {
            return true;
        };
        let Some(seq) = arrival.seq else {
            return true; // chaos packets are best-effort
        };
        let dir = &mut link.dirs[arrival.to.other() as usize];
        if dir.lost.len() >= lost_max {
            return false;
        }
        dir.lost.insert(seq, arrival.packet);
        true
    }

    /// The host on `from`'s side of `id` stopped (its process crashed, or it lost power): the
    /// packets its kernel was still retransmitting die with the socket (a crash aborts it, a
    /// power-off takes the kernel with it). A graceful close keeps retransmitting; this is
    /// not one.
    pub fn discard_lost(&mut self, id: LinkId, from: Side) {
        if let Some(link) = self.link_mut(id) {
            let dir = &mut link.dirs[from as usize];
            let dead = std::mem::take(&mut dir.lost);
            dir.skipped.extend(dead.into_keys());
        }
    }

    /// The packet reached its destination host: returns what the receiving end gets now, in
    /// stream order (possibly nothing while a gap is open, possibly several packets).
    pub fn arrive(&mut self, arrival: Arrival) -> Vec<Packet> {
        let mut ready = Vec::new();
        self.arrive_into(arrival, &mut ready);
        ready
    }

    /// [`Network::arrive`] into a caller's buffer.
    pub fn arrive_into(&mut self, arrival: Arrival, ready: &mut Vec<Packet>) {
        let Some(link) = self.link_mut(arrival.link) else {
            return;
        };
        let dir = &mut link.dirs[arrival.to.other() as usize];
        let Some(seq) = arrival.seq else {
            ready.push(arrival.packet);
            return;
        };
        if seq < dir.next_deliver {
            return; // a retransmission of something already delivered
        }
        if seq == dir.next_deliver && dir.buffer.is_empty() {
            // The common case: in order, nothing waiting.
            dir.next_deliver += 1;
            ready.push(arrival.packet);
            return;
        }
        dir.buffer.insert(seq, arrival.packet);
        loop {
            if let Some(p) = dir.buffer.remove(&dir.next_deliver) {
                ready.push(p);
            } else if !dir.skipped.remove(&dir.next_deliver) {
                break;
            }
            dir.next_deliver += 1;
        }
    }

    /// Retransmit what was lost on every path that is usable now. `host_up` says whether a
    /// host's machine is powered.
    pub fn retransmit(
        &mut self,
        now: SimTime,
        host_up: impl Fn(Host) -> bool,
    ) -> Vec<(SimTime, Arrival)> {
        let mut out = Vec::new();
        for link in self.links.iter_mut().flatten() {
            for from in [Side::Initiator, Side::Acceptor] {
                let to = from.other();
                let (src, dst) = (link.host(from), link.host(to));
                let dir = &mut link.dirs[from as usize];
                if dir.lost.is_empty() || self.partitions.is_blocked(src, dst) || !host_up(dst) {
                    continue;
                }
                for (seq, packet) in std::mem::take(&mut dir.lost) {
                    let latency = self.spec.latency.sample(&mut self.prng);
                    let at = now.plus(latency).max(dir.last_arrival);
                    dir.last_arrival = at;
                    out.push((
                        at,
                        Arrival {
                            link: link.id,
                            to,
                            seq: Some(seq),
                            packet,
                        },
                    ));
                }
            }
        }
        out
    }

    /// Ids of every connection touching `host`, in id order.
    pub fn links_of(&self, host: Host) -> Vec<LinkId> {
        self.links
            .iter()
            .flatten()
            .filter(|l| l.initiator == host || l.acceptor == host)
            .map(|l| l.id)
            .collect()
    }
}

#[cfg(test)]
mod tests;
