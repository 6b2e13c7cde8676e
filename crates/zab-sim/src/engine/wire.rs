//! Packets meeting hosts: what a kernel does with a SYN, an RST, a FIN or data, depending on
//! whether the machine is on, the process alive, the path cut, the connection still open.

use super::node::NodeState;
use super::{Process, Sim};
use crate::hash::hash_serialize;
use crate::net::{Arrival, EndState, Host, LinkId, LinkKind, Packet, Side};
use crate::time::SimTime;
use zab_core::ids::ServerId;
use zab_core::peer::{Channel, ConnId, Input};

impl<P: Process> Sim<P> {
    pub(crate) fn side_of(&self, link: LinkId, id: ServerId) -> Side {
        self.net
            .link(link)
            .and_then(|l| l.side_of(Host::Server(id)))
            .unwrap_or(Side::Initiator)
    }

    fn host_up(&self, host: Host) -> bool {
        match host {
            Host::Server(id) => self.node(id).is_some_and(|n| n.state.host_up()),
            Host::Client(_) => true,
        }
    }

    /// Send from `side` if that end is open; otherwise the bytes go nowhere.
    pub(crate) fn send_on(&mut self, at: SimTime, link: LinkId, side: Side, packet: Packet) {
        let open = self
            .net
            .link(link)
            .is_some_and(|l| l.end(side) == EndState::Open);
        if open {
            self.net_send(at, link, side, packet);
        } else {
            self.counters.sends_without_connection += 1;
        }
    }

    /// Close one end and tell the other (FIN for a close, RST for a reset or refusal).
    pub(crate) fn close_end(&mut self, at: SimTime, link: LinkId, side: Side, how: Packet) {
        let Some(state) = self.net.link(link).map(|l| l.end(side)) else {
            return;
        };
        if state == EndState::Open {
            let arrivals = self.net.send(at, link, side, how);
            self.schedule_arrivals(arrivals);
        }
        self.net.set_end(link, side, EndState::Closed);
    }

    /// Reply with an RST from a closed (or never opened) end, and close it.
    fn refuse(&mut self, at: SimTime, link: LinkId, side: Side) {
        let arrivals = self.net.send(at, link, side, Packet::Rst);
        self.schedule_arrivals(arrivals);
        self.net.set_end(link, side, EndState::Closed);
    }

    pub(crate) fn retransmit(&mut self, at: SimTime) {
        let up: Vec<bool> = self.nodes.iter().map(|n| n.state.host_up()).collect();
        let arrivals = self.net.retransmit(at, |h| match h {
            Host::Server(id) => up.get(id.0 as usize - 1).copied().unwrap_or(false),
            Host::Client(_) => true,
        });
        self.schedule_arrivals(arrivals);
    }

    pub(crate) fn on_arrival(&mut self, at: SimTime, arrival: Arrival) {
        let Some(link) = self.net.link(arrival.link) else {
            return;
        };
        let dest = link.host(arrival.to);
        if !self.host_up(dest) || self.net.path_blocked(&arrival) {
            self.counters.packets_lost += 1;
            let link_id = arrival.link;
            let from = arrival.to.other();
            if !self.net.lose(arrival) {
                // The sender's kernel gave up retransmitting: it resets the connection.
                self.counters.connections_reset += 1;
                self.end_closed(at, link_id, from, true);
                self.net.set_end(link_id, from, EndState::Closed);
            }
            return;
        }
        let (link_id, to) = (arrival.link, arrival.to);
        // For the trace: the receiving server (0 for a client) and both ends' names.
        let (node, ends) = match (link.host(to.other()), link.host(to)) {
            (from, Host::Server(id)) => (id.0, (from, Host::Server(id))),
            (from, dest) => (0, (from, dest)),
        };
        let mut ready = std::mem::take(&mut self.packets);
        self.net.arrive_into(arrival, &mut ready);
        for packet in ready.drain(..) {
            self.counters.packets_delivered += 1;
            self.trace.record(
                at,
                packet.kind(),
                node,
                |h| {
                    h.write_u64(link_id);
                    h.write_u64(to as u64);
                    hash_packet(h, &packet);
                },
                || {
                    format!(
                        "{} -> {} (link {link_id}): {packet:?}",
                        host_name(ends.0),
                        host_name(ends.1)
                    )
                },
            );
            self.on_packet(at, link_id, to, packet);
        }
        self.packets = ready;
    }

    fn on_packet(&mut self, at: SimTime, link_id: LinkId, side: Side, packet: Packet) {
        let Some(link) = self.net.link(link_id) else {
            return;
        };
        let (kind, me, other, end) = (
            link.kind,
            link.host(side),
            link.host(side.other()),
            link.end(side),
        );
        match me {
            Host::Client(c) => self.client_packet(at, c, link_id, side, end, packet),
            Host::Server(id) => {
                let process_up = self.node(id).is_some_and(|n| n.state == NodeState::Up);
                if !process_up {
                    if !matches!(packet, Packet::Rst | Packet::Fin) {
                        self.refuse(at, link_id, side);
                    } else {
                        self.net.set_end(link_id, side, EndState::Closed);
                    }
                    return;
                }
                self.server_packet(at, id, link_id, side, kind, other, end, packet);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn server_packet(
        &mut self,
        at: SimTime,
        id: ServerId,
        link: LinkId,
        side: Side,
        kind: LinkKind,
        other: Host,
        end: EndState,
        packet: Packet,
    ) {
        let peer_channel = match (kind, other) {
            (LinkKind::Peer(ch), Host::Server(p)) => Some((p, ch)),
            _ => None,
        };
        match (end, packet) {
            (EndState::Pending, Packet::Syn) => {
                self.net.set_end(link, side, EndState::Open);
                self.send_on(at, link, side, Packet::SynAck);
                if let Some((peer, channel)) = peer_channel {
                    self.establish(at, id, peer, channel, link, false);
                }
            }
            (EndState::Pending, Packet::SynAck) => {
                self.net.set_end(link, side, EndState::Open);
                if let Some((peer, channel)) = peer_channel {
                    self.establish(at, id, peer, channel, link, true);
                }
            }
            (EndState::Pending, Packet::Rst | Packet::Fin) => {
                self.net.set_end(link, side, EndState::Closed);
                if let Some((peer, channel)) = peer_channel {
                    self.feed(at, id, Input::ConnectFailed { peer, channel });
                }
            }
            (EndState::Open, Packet::Rst | Packet::Fin) => {
                self.end_closed(at, link, side, false);
                self.net.set_end(link, side, EndState::Closed);
            }
            (EndState::Closed, Packet::Rst | Packet::Fin) => {}
            (EndState::Closed, _) => self.refuse(at, link, side),
            (EndState::Open, Packet::Peer(msg)) => {
                if let Some((from, _)) = peer_channel {
                    self.feed(at, id, Input::Message { from, msg });
                }
            }
            (EndState::Open, Packet::ClientConnect(request)) => self.feed(
                at,
                id,
                Input::ClientConnect {
                    conn: ConnId(link),
                    request,
                },
            ),
            (EndState::Open, Packet::ClientRequest { xid, request }) => self.feed(
                at,
                id,
                Input::ClientRequest {
                    conn: ConnId(link),
                    xid,
                    request,
                },
            ),
            (EndState::Open, Packet::ClientPing) => {
                self.feed(at, id, Input::ClientPing { conn: ConnId(link) })
            }
            // Duplicated handshakes (chaos mode) and data before the handshake are ignored.
            _ => {}
        }
    }

    /// A node's end of `link` closed (FIN/RST arrived, or its kernel gave up): tell the
    /// process if it cares about this connection.
    pub(crate) fn end_closed(&mut self, at: SimTime, link: LinkId, side: Side, local_error: bool) {
        let Some(l) = self.net.link(link).cloned() else {
            // Fully closed and forgotten; recover the endpoints from the node tables.
            return self.end_closed_forgotten(at, link);
        };
        let _ = local_error;
        match (l.host(side), l.host(side.other()), l.kind) {
            (Host::Server(id), Host::Server(peer), LinkKind::Peer(channel)) => {
                let current = self
                    .node(id)
                    .and_then(|n| n.peers.get(&(peer, channel)).copied());
                if current == Some(link) {
                    if let Some(n) = self.node_mut(id) {
                        n.peers.remove(&(peer, channel));
                    }
                    self.feed(at, id, Input::Disconnected { peer, channel });
                }
            }
            (Host::Server(id), Host::Client(_), LinkKind::Client) => {
                self.feed(at, id, Input::ClientDisconnected { conn: ConnId(link) })
            }
            (Host::Client(c), _, _) => self.client_closed(at, c, link),
            _ => {}
        }
    }

    fn end_closed_forgotten(&mut self, at: SimTime, link: LinkId) {
        let mut hits = Vec::new();
        for n in &self.nodes {
            for ((peer, channel), l) in &n.peers {
                if *l == link {
                    hits.push((n.id, *peer, *channel));
                }
            }
        }
        for (id, peer, channel) in hits {
            if let Some(n) = self.node_mut(id) {
                n.peers.remove(&(peer, channel));
            }
            self.feed(at, id, Input::Disconnected { peer, channel });
        }
        let clients: Vec<u64> = self
            .clients
            .iter()
            .filter(|s| s.link == Some(link))
            .map(|s| s.client.id)
            .collect();
        for c in clients {
            self.client_closed(at, c, link);
        }
    }

    /// A connection to `peer` on `channel` is up at node `id`: it replaces any older one —
    /// except the election channel's dial to a higher id, which never becomes the node's
    /// connection (see [`Self::lost_election_challenge`]).
    fn establish(
        &mut self,
        at: SimTime,
        id: ServerId,
        peer: ServerId,
        channel: Channel,
        link: LinkId,
        outbound: bool,
    ) {
        if outbound && channel == Channel::Election && peer > id {
            return self.lost_election_challenge(at, id, peer, link);
        }
        let old = self
            .node_mut(id)
            .and_then(|n| n.peers.insert((peer, channel), link));
        if let Some(old) = old.filter(|o| *o != link) {
            let side = self.side_of(old, id);
            self.close_end(at, old, side, Packet::Fin);
            self.feed(at, id, Input::Disconnected { peer, channel });
        }
        if self
            .node(id)
            .is_some_and(|n| n.peers.get(&(peer, channel)) == Some(&link))
        {
            self.feed(
                at,
                id,
                Input::Connected {
                    peer,
                    channel,
                    outbound,
                },
            );
        }
    }

    /// Node `id`'s election dial to the higher id `peer` completed. ZooKeeper's
    /// `QuorumCnxManager.startConnection` sends its sid and, seeing the other's is higher,
    /// closes this socket ("Have smaller server identifier") and waits for `peer` to connect
    /// back (which `peer`'s `handleConnection` does). So this link must not replace the
    /// connection the node may already have from `peer` — that one is the keeper, and
    /// closing it in a race (both dial at once at a heal) loses notifications. The process
    /// still hears `Connected { outbound: true }` so it knows its connect finished.
    fn lost_election_challenge(&mut self, at: SimTime, id: ServerId, peer: ServerId, link: LinkId) {
        debug_assert!(peer > id, "only the lower id loses the challenge");
        let side = self.side_of(link, id);
        self.close_end(at, link, side, Packet::Fin);
        self.feed(
            at,
            id,
            Input::Connected {
                peer,
                channel: Channel::Election,
                outbound: true,
            },
        );
        debug_assert!(
            self.node(id)
                .is_none_or(|n| n.peers.get(&(peer, Channel::Election)) != Some(&link)),
            "a lost challenge never becomes the node's connection"
        );
    }

    pub(crate) fn on_connect_timeout(
        &mut self,
        at: SimTime,
        id: ServerId,
        incarnation: u32,
        link: LinkId,
    ) {
        if self.node(id).map(|n| n.incarnation) != Some(incarnation) {
            return;
        }
        let Some(l) = self.net.link(link) else {
            return;
        };
        if l.end(Side::Initiator) != EndState::Pending {
            return;
        }
        let LinkKind::Peer(channel) = l.kind else {
            return;
        };
        let Host::Server(peer) = l.acceptor else {
            return;
        };
        self.trace.record(
            at,
            "connect-timeout",
            id.0,
            |h| h.write_u64(peer.0),
            || format!("connect to {peer} on {channel:?} timed out"),
        );
        self.net.set_end(link, Side::Initiator, EndState::Closed);
        self.feed(at, id, Input::ConnectFailed { peer, channel });
    }
}

fn host_name(host: Host) -> String {
    match host {
        Host::Server(id) => format!("server {id}"),
        Host::Client(c) => format!("client {c}"),
    }
}

/// Fold a packet's identity and content into the trace hash.
fn hash_packet(h: &mut crate::hash::StableHasher, packet: &Packet) {
    match packet {
        Packet::Peer(m) => hash_serialize(h, m),
        Packet::ClientConnect(r) => hash_serialize(h, r),
        Packet::ClientConnected(r) => hash_serialize(h, r),
        Packet::ClientRequest { xid, request } => {
            h.write_u64(*xid as u64);
            hash_serialize(h, request);
        }
        Packet::ClientReply { xid, zxid, result } => {
            h.write_u64(*xid as u64);
            h.write_u64(zxid.0);
            hash_serialize(h, result);
        }
        Packet::ClientWatch(e) => hash_serialize(h, e),
        Packet::Syn | Packet::SynAck | Packet::Rst | Packet::Fin | Packet::ClientPing => {}
    }
}
