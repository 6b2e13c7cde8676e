use crate::election::{ConnectionManager, Notification, ServerState};
use crate::ids::{Epoch, Millis, ServerId, Zxid};
use crate::peer::{Channel, Outbox, Output, PeerMessage, Timer};

fn n(leader: u64) -> Notification {
    Notification {
        leader: ServerId(leader),
        zxid: Zxid::ZERO,
        election_epoch: 1,
        state: ServerState::Looking,
        sid: ServerId(0),
        peer_epoch: Epoch::ZERO,
    }
}

fn drain(out: &mut Outbox) -> Vec<Output> {
    std::iter::from_fn(|| out.pop()).collect()
}

fn connects(outs: &[Output]) -> Vec<u64> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Connect { to, .. } => Some(to.0),
            _ => None,
        })
        .collect()
}

fn sent(outs: &[Output]) -> Vec<(u64, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                msg: PeerMessage::Election(n),
            } => Some((to.0, n.leader.0)),
            _ => None,
        })
        .collect()
}

fn manager(me: u64, blocking: bool) -> (ConnectionManager, Outbox) {
    (
        ConnectionManager::new(ServerId(me), Millis(5_000), blocking),
        Outbox::default(),
    )
}

#[test]
fn messages_to_self_never_touch_the_network() {
    let (mut c, mut out) = manager(1, false);
    c.to_send(Millis(0), ServerId(1), n(1), &mut out);
    assert!(drain(&mut out).is_empty());
    assert_eq!(c.take_loopback(), Some(n(1)));
    assert_eq!(c.take_loopback(), None);
}

#[test]
fn a_send_without_a_connection_connects_once_with_the_timeout() {
    let (mut c, mut out) = manager(1, false);
    c.to_send(Millis(0), ServerId(2), n(1), &mut out);
    c.to_send(Millis(0), ServerId(2), n(2), &mut out);
    let outs = drain(&mut out);
    assert_eq!(
        outs,
        vec![Output::Connect {
            to: ServerId(2),
            channel: Channel::Election,
            timeout: Millis(5_000)
        }],
        "one connect per peer at a time"
    );
    assert!(!c.have_delivered(), "the queue for 2 holds a message");
}

#[test]
fn the_one_slot_queue_keeps_only_the_newest_notification() {
    let (mut c, mut out) = manager(3, false);
    c.to_send(Millis(0), ServerId(1), n(1), &mut out);
    c.to_send(Millis(0), ServerId(1), n(3), &mut out);
    drain(&mut out);
    c.on_connected(Millis(1), ServerId(1), true, &mut out);
    assert_eq!(sent(&drain(&mut out)), vec![(1, 3)]);
    assert!(c.have_delivered());
}

#[test]
fn a_new_connection_resends_the_last_message_when_nothing_newer_waits() {
    let (mut c, mut out) = manager(3, false);
    c.on_connected(Millis(0), ServerId(1), true, &mut out);
    c.to_send(Millis(0), ServerId(1), n(3), &mut out);
    assert_eq!(sent(&drain(&mut out)), vec![(1, 3)]);
    c.on_disconnected(ServerId(1));
    c.on_connected(Millis(5), ServerId(1), true, &mut out);
    assert_eq!(
        sent(&drain(&mut out)),
        vec![(1, 3)],
        "lastMessageSent goes again"
    );
}

#[test]
fn a_lower_id_that_connects_is_dropped_and_connected_back() {
    let (mut c, mut out) = manager(3, false);
    c.on_connected(Millis(0), ServerId(1), false, &mut out);
    let outs = drain(&mut out);
    assert_eq!(
        outs,
        vec![
            Output::Disconnect {
                peer: ServerId(1),
                channel: Channel::Election
            },
            Output::Connect {
                to: ServerId(1),
                channel: Channel::Election,
                timeout: Millis(5_000)
            }
        ]
    );
    assert!(!c.is_up(ServerId(1)));
}

#[test]
fn the_lower_id_waits_for_the_higher_to_connect_back() {
    let (mut c, mut out) = manager(1, false);
    c.to_send(Millis(0), ServerId(3), n(1), &mut out);
    drain(&mut out);
    c.on_connected(Millis(1), ServerId(3), true, &mut out);
    assert!(
        drain(&mut out).is_empty(),
        "lost the challenge: nothing is sent"
    );
    assert!(!c.is_up(ServerId(3)));
    c.on_connected(Millis(2), ServerId(3), false, &mut out);
    assert_eq!(sent(&drain(&mut out)), vec![(3, 1)]);
}

#[test]
fn fixed_connects_run_in_parallel() {
    let (mut c, mut out) = manager(1, false);
    for peer in 2..=5 {
        c.to_send(Millis(0), ServerId(peer), n(1), &mut out);
    }
    assert_eq!(connects(&drain(&mut out)), vec![2, 3, 4, 5]);
}

#[test]
fn a_blocking_connect_holds_back_every_later_send_and_connect() {
    let (mut c, mut out) = manager(5, true);
    c.on_connected(Millis(0), ServerId(4), true, &mut out);
    drain(&mut out);
    c.to_send(Millis(0), ServerId(1), n(5), &mut out);
    c.to_send(Millis(0), ServerId(2), n(5), &mut out);
    c.to_send(Millis(0), ServerId(4), n(5), &mut out);
    let outs = drain(&mut out);
    assert_eq!(
        connects(&outs),
        vec![1],
        "no second connect while one is outstanding"
    );
    assert!(sent(&outs).is_empty(), "even 4, which is connected, waits");
    assert!(out.is_armed(Timer::ConnectBlock));
    c.on_connect_failed(Millis(5_000), ServerId(1), &mut out);
    let outs = drain(&mut out);
    assert_eq!(connects(&outs), vec![2], "the next connect starts");
    assert!(sent(&outs).is_empty(), "4 is still behind 2");
    c.on_block_timeout(Millis(10_000), &mut out);
    let outs = drain(&mut out);
    assert_eq!(sent(&outs), vec![(4, 5)]);
}

#[test]
fn a_blocking_connect_all_stalls_the_election_until_every_connect_finished() {
    let (mut c, mut out) = manager(5, true);
    c.to_send(Millis(0), ServerId(1), n(5), &mut out);
    c.on_connect_failed(Millis(1), ServerId(1), &mut out);
    c.to_send(Millis(1), ServerId(2), n(5), &mut out);
    c.on_connect_failed(Millis(2), ServerId(2), &mut out);
    drain(&mut out);
    c.connect_all(Millis(2), &mut out);
    assert!(c.election_stalled());
    assert_eq!(connects(&drain(&mut out)), vec![1]);
    c.on_connect_failed(Millis(5_002), ServerId(1), &mut out);
    assert!(c.election_stalled(), "the connect to 2 is still to come");
    assert_eq!(connects(&drain(&mut out)), vec![2]);
    c.on_connect_failed(Millis(10_002), ServerId(2), &mut out);
    assert!(!c.election_stalled());
}

#[test]
fn fixed_connect_all_never_stalls_the_election() {
    let (mut c, mut out) = manager(5, false);
    c.to_send(Millis(0), ServerId(1), n(5), &mut out);
    c.on_connect_failed(Millis(1), ServerId(1), &mut out);
    drain(&mut out);
    c.connect_all(Millis(1), &mut out);
    assert!(!c.election_stalled());
    assert_eq!(connects(&drain(&mut out)), vec![1]);
}
