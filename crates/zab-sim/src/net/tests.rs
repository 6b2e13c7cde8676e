use super::*;
use crate::dist::Dist;
use crate::time::Span;
use zab_core::zab::packet::QuorumPacket;

fn net(latency: Dist, duplicate: f64, reorder: f64) -> Network {
    Network::new(
        NetworkSpec {
            latency,
            duplicate,
            reorder,
        },
        Prng::root(9).fork("network"),
    )
}

fn ping(n: u64) -> Packet {
    Packet::Peer(PeerMessage::Quorum(QuorumPacket::Ping {
        zxid: Zxid(n),
        touches: vec![],
    }))
}

fn s(id: u64) -> Host {
    Host::Server(ServerId(id))
}

/// Deliver every arrival in time order (ties by scheduling order), like the engine does.
fn run(net: &mut Network, mut pending: Vec<(SimTime, Arrival)>) -> Vec<Packet> {
    let mut out = Vec::new();
    let mut order: Vec<(SimTime, usize, Arrival)> = pending
        .drain(..)
        .enumerate()
        .map(|(i, (t, a))| (t, i, a))
        .collect();
    order.sort_by_key(|(t, i, _)| (*t, *i));
    for (_, _, a) in order {
        if net.path_blocked(&a) {
            net.lose(a);
        } else {
            out.extend(net.arrive(a));
        }
    }
    out
}

#[test]
fn packets_in_one_connection_arrive_in_order_exactly_once_despite_jitter() {
    let mut n = net(
        Dist::Uniform {
            min: Span(1),
            max: Span(10_000),
        },
        0.0,
        0.0,
    );
    let (id, syn) = n.connect(SimTime(0), s(1), s(2), LinkKind::Peer(Channel::Quorum));
    let mut pending = syn;
    for i in 0..200 {
        pending.extend(n.send(SimTime(i * 10), id, Side::Initiator, ping(i)));
    }
    let got = run(&mut n, pending);
    assert_eq!(got[0], Packet::Syn);
    let expected: Vec<Packet> = (0..200).map(ping).collect();
    assert_eq!(&got[1..], &expected[..]);
}

#[test]
fn partitioned_packets_are_retransmitted_in_order_after_heal() {
    let mut n = net(Dist::Constant(Span(100)), 0.0, 0.0);
    let (id, syn) = n.connect(SimTime(0), s(1), s(2), LinkKind::Peer(Channel::Quorum));
    assert_eq!(run(&mut n, syn), vec![Packet::Syn]);
    let first = n.send(SimTime(1000), id, Side::Initiator, ping(1));
    n.partitions.split(&[vec![ServerId(1)], vec![ServerId(2)]]);
    let mut pending = first;
    pending.extend(n.send(SimTime(1001), id, Side::Initiator, ping(2)));
    assert!(
        run(&mut n, pending).is_empty(),
        "nothing crosses a partition"
    );
    // Still cut: no retransmission yet.
    assert!(n.retransmit(SimTime(2000), |_| true).is_empty());
    n.partitions.heal();
    let again = n.retransmit(SimTime(3000), |_| true);
    assert_eq!(run(&mut n, again), vec![ping(1), ping(2)]);
}

#[test]
fn one_way_partition_blocks_only_one_direction() {
    let mut p = Partitions::default();
    p.block_one_way(&[ServerId(1)], &[ServerId(2), ServerId(3)]);
    assert!(p.is_blocked(s(1), s(2)));
    assert!(!p.is_blocked(s(2), s(1)));
    assert!(!p.is_blocked(s(2), s(3)));
    assert!(
        !p.is_blocked(Host::Client(1), s(1)),
        "a partition between servers leaves clients alone"
    );
}

#[test]
fn client_cuts_block_the_named_direction_and_heal_apart_from_server_partitions() {
    let c = Host::Client;
    let mut p = Partitions::default();
    p.cut_clients(&[1], &[ServerId(2)], CutDirection::Requests);
    assert!(p.is_blocked(c(1), s(2)));
    assert!(!p.is_blocked(s(2), c(1)), "replies still get through");
    assert!(!p.is_blocked(c(1), s(1)) && !p.is_blocked(c(2), s(2)));
    p.cut_clients(&[2], &[ServerId(1), ServerId(3)], CutDirection::Both);
    assert!(p.is_blocked(c(2), s(3)) && p.is_blocked(s(1), c(2)));
    p.block_one_way(&[ServerId(1)], &[ServerId(2)]);
    assert!(!p.servers_whole() && !p.clients_whole());
    assert_eq!(
        p.describe(),
        "1->2 1->client:2 3->client:2 client:1->2 client:2->1 client:2->3"
    );
    p.heal_servers();
    assert!(p.servers_whole() && p.is_blocked(c(2), s(3)));
    p.heal_clients();
    assert!(p.is_empty());
}

#[test]
fn packets_on_a_cut_client_path_are_retransmitted_after_the_heal() {
    let mut n = net(Dist::Constant(Span(100)), 0.0, 0.0);
    let (id, syn) = n.connect(SimTime(0), Host::Client(1), s(1), LinkKind::Client);
    assert_eq!(run(&mut n, syn), vec![Packet::Syn]);
    n.partitions
        .cut_clients(&[1], &[ServerId(1)], CutDirection::Replies);
    let request = n.send(SimTime(1000), id, Side::Initiator, Packet::ClientPing);
    assert_eq!(
        run(&mut n, request),
        vec![Packet::ClientPing],
        "requests pass"
    );
    let reply = n.send(SimTime(1001), id, Side::Acceptor, Packet::ClientPing);
    assert!(run(&mut n, reply).is_empty(), "replies are held back");
    assert!(n.retransmit(SimTime(2000), |_| true).is_empty());
    n.partitions.heal();
    let again = n.retransmit(SimTime(3000), |_| true);
    assert_eq!(run(&mut n, again), vec![Packet::ClientPing]);
}

#[test]
fn split_groups_block_across_groups_only() {
    let mut p = Partitions::default();
    p.split(&[vec![ServerId(1), ServerId(2)], vec![ServerId(3)]]);
    assert!(!p.is_blocked(s(1), s(2)));
    assert!(p.is_blocked(s(1), s(3)) && p.is_blocked(s(3), s(2)));
    p.heal();
    assert!(p.is_empty());
}

#[test]
fn packets_to_a_powered_off_host_wait_for_it() {
    let mut n = net(Dist::Constant(Span(100)), 0.0, 0.0);
    let (id, syn) = n.connect(SimTime(0), s(1), s(2), LinkKind::Peer(Channel::Election));
    run(&mut n, syn);
    let arrivals = n.send(SimTime(10), id, Side::Initiator, ping(7));
    for (_, a) in arrivals {
        assert!(n.lose(a)); // host 2 is off when it arrives
    }
    assert!(n.retransmit(SimTime(20), |h| h != s(2)).is_empty());
    let again = n.retransmit(SimTime(30), |_| true);
    assert_eq!(run(&mut n, again), vec![ping(7)]);
}

#[test]
fn chaos_mode_can_duplicate_and_reorder_within_a_connection() {
    let mut n = net(
        Dist::Uniform {
            min: Span(1),
            max: Span(1000),
        },
        0.3,
        0.3,
    );
    let (id, syn) = n.connect(SimTime(0), s(1), s(2), LinkKind::Peer(Channel::Quorum));
    let mut pending = syn;
    for i in 0..300 {
        pending.extend(n.send(SimTime(i), id, Side::Initiator, ping(i)));
    }
    let got = run(&mut n, pending);
    assert!(got.len() > 301, "some duplicates");
    let in_order: Vec<Packet> = std::iter::once(Packet::Syn)
        .chain((0..300).map(ping))
        .collect();
    assert_ne!(got, in_order, "some reordering");
}

#[test]
fn without_chaos_nothing_is_duplicated() {
    let mut n = net(
        Dist::Uniform {
            min: Span(1),
            max: Span(1000),
        },
        0.0,
        0.0,
    );
    let (id, syn) = n.connect(SimTime(0), s(1), s(2), LinkKind::Client);
    let mut pending = syn;
    for i in 0..300 {
        pending.extend(n.send(SimTime(i), id, Side::Initiator, ping(i)));
    }
    assert_eq!(run(&mut n, pending).len(), 301);
}

#[test]
fn closed_links_are_forgotten() {
    let mut n = net(Dist::Constant(Span(1)), 0.0, 0.0);
    let (id, syn) = n.connect(SimTime(0), s(1), s(2), LinkKind::Client);
    run(&mut n, syn);
    n.set_end(id, Side::Initiator, EndState::Closed);
    assert!(n.link(id).is_some());
    n.set_end(id, Side::Acceptor, EndState::Closed);
    assert!(n.link(id).is_none());
    assert!(n.send(SimTime(5), id, Side::Initiator, ping(1)).is_empty());
}
