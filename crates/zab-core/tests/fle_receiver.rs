//! Fast Leader Election's receiving side (ZooKeeper's `WorkerReceiver`): which notifications a
//! peer answers, with what, and whose vote a notification counts as. One `Peer` is driven by
//! hand, without a network; the ensembles themselves run on the simulator
//! (`cargo test -p zab-sim --test fle`).

use zab_core::election::{Notification, ServerState};
use zab_core::peer::{Channel, Input, Output, PeerMessage, Recovered};
use zab_core::{Config, Epoch, Millis, Peer, ServerId, Zxid};

fn peer(me: u64, voters: &[u64], observers: &[u64]) -> Peer {
    let ids = |v: &[u64]| v.iter().copied().map(ServerId).collect();
    let config = Config::new(ServerId(me), ids(voters), ids(observers));
    let mut p = Peer::new(config, Recovered::default(), Millis(0), 1);
    drain(&mut p);
    // Connections from every higher id, so sends go out at once.
    for other in voters.iter().chain(observers) {
        if *other > me {
            p.handle(
                Millis(0),
                Input::Connected {
                    peer: ServerId(*other),
                    channel: Channel::Election,
                    outbound: false,
                },
            );
        }
    }
    drain(&mut p);
    p
}

fn drain(p: &mut Peer) -> Vec<Output> {
    std::iter::from_fn(|| p.poll_output()).collect()
}

fn from(p: &mut Peer, now: u64, sid: u64, n: Notification) -> Vec<Notification> {
    p.handle(
        Millis(now),
        Input::Message {
            from: ServerId(sid),
            msg: PeerMessage::Election(n),
        },
    );
    drain(p)
        .into_iter()
        .filter_map(|o| match o {
            Output::Send {
                to,
                msg: PeerMessage::Election(n),
            } if to == ServerId(sid) => Some(n),
            _ => None,
        })
        .collect()
}

fn note(leader: u64, round: u64, state: ServerState) -> Notification {
    Notification {
        leader: ServerId(leader),
        zxid: Zxid::ZERO,
        election_epoch: round,
        state,
        sid: ServerId(99),
        peer_epoch: Epoch::ZERO,
    }
}

#[test]
fn a_looking_peer_tells_a_sender_from_an_older_round_where_it_is() {
    let mut p = peer(1, &[1, 2, 3], &[]);
    from(&mut p, 1, 3, note(3, 5, ServerState::Looking));
    assert_eq!(p.election().logical_clock(), 5);
    let replies = from(&mut p, 2, 2, note(2, 4, ServerState::Looking));
    assert_eq!(replies.len(), 1, "exactly one answer to the lagging sender");
    assert_eq!(replies[0].election_epoch, 5);
    assert_eq!(replies[0].leader, ServerId(3));
    assert_eq!(replies[0].state, ServerState::Looking);
}

#[test]
fn an_observer_is_answered_at_once_and_never_counted() {
    let mut p = peer(3, &[1, 2, 3], &[4]);
    let replies = from(&mut p, 1, 4, note(4, 1, ServerState::Looking));
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].leader, ServerId(3), "our current vote");
    assert_eq!(replies[0].sid, ServerId(3));
}

#[test]
fn the_receiver_trusts_the_connection_not_the_sid_field() {
    let mut p = peer(3, &[1, 2, 3], &[]);
    // Claims to come from 99 (not a member); arrives from voter 2.
    from(&mut p, 1, 2, note(3, 1, ServerState::Looking));
    from(&mut p, 1, 3, note(3, 1, ServerState::Looking));
    assert!(
        p.election().is_finalizing(),
        "2 and 3 agree: the vote counted as 2's"
    );
}

#[test]
fn a_follower_answers_looking_servers_with_its_leader_and_ignores_the_rest() {
    let mut p = peer(1, &[1, 2, 3], &[]);
    from(&mut p, 1, 2, note(3, 1, ServerState::Following));
    from(&mut p, 1, 3, note(3, 1, ServerState::Leading));
    assert_eq!(p.role(), zab_core::peer::Role::Following);
    let replies = from(&mut p, 2, 2, note(2, 7, ServerState::Looking));
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].state, ServerState::Following);
    assert_eq!(replies[0].leader, ServerId(3));
    assert_eq!(replies[0].election_epoch, 1, "the round that elected 3");
    let replies = from(&mut p, 3, 3, note(3, 1, ServerState::Leading));
    assert!(
        replies.is_empty(),
        "servers outside the election get no answer"
    );
}
