//! Hand-driven Fast Leader Election scenarios on a tiny in-test network (`router`).

mod router;

use router::{Down, Router};
use zab_core::bugs::{Bug, BugSet};
use zab_core::peer::Role;
use zab_core::{Epoch, ServerId};

fn assert_led_by(r: &Router, leader: u64) {
    for sid in r.running() {
        let expected = if sid.0 == leader {
            Role::Leading
        } else if r.observers.contains(&sid) {
            Role::Observing
        } else {
            Role::Following
        };
        assert_eq!(r.role(sid.0), expected, "role of server {sid}");
        assert_eq!(
            r.leader_of(sid.0),
            Some(ServerId(leader)),
            "leader seen by {sid}"
        );
    }
}

#[test]
fn fresh_three_server_ensemble_elects_server_three() {
    let mut r = Router::new(&[1, 2, 3], &[]);
    for sid in 1..=3 {
        r.start(sid);
    }
    let t = r.run_until_settled(10_000).expect("a leader is elected");
    assert_led_by(&r, 3);
    assert!(t.0 >= 200, "nobody decides before the finalize wait: {t}");
    assert!(t.0 < 1_000, "a calm fresh ensemble agrees quickly: {t}");
}

#[test]
fn fresh_five_server_ensemble_elects_server_five() {
    let mut r = Router::new(&[1, 2, 3, 4, 5], &[]);
    for sid in 1..=5 {
        r.start(sid);
    }
    r.run_until_settled(10_000).expect("a leader is elected");
    assert_led_by(&r, 5);
    for sid in 1..=5 {
        assert_eq!(
            r.elected(sid),
            vec![ServerId(5)],
            "one election, one result"
        );
    }
}

#[test]
fn five_servers_started_in_order_elect_server_three() {
    let mut r = Router::new(&[1, 2, 3, 4, 5], &[]);
    for sid in 1..=5u64 {
        r.start_at((sid - 1) * 2_000, sid);
    }
    r.run_until(4_000 - 1);
    assert_eq!(r.role(1), Role::Looking, "two of five are no quorum");
    r.run_until(4_000 + 1_500);
    assert_eq!(
        r.role(3),
        Role::Leading,
        "1, 2, 3 make a quorum and 3 is the best of them"
    );
    assert_eq!(r.role(1), Role::Following);
    assert_eq!(r.role(2), Role::Following);
    r.run_until(20_000);
    assert_led_by(&r, 3);
    assert_eq!(
        r.elected(4),
        vec![ServerId(3)],
        "4 joins the settled leader"
    );
    assert_eq!(
        r.elected(5),
        vec![ServerId(3)],
        "5 joins the settled leader"
    );
}

#[test]
fn after_the_leader_crashes_the_survivor_with_the_highest_epoch_wins() {
    let mut r = Router::new(&[1, 2, 3, 4, 5], &[]);
    for (sid, epoch) in [(1, 2), (2, 3), (3, 2), (4, 2), (5, 3)] {
        r.epochs.insert(ServerId(sid), Epoch(epoch));
        r.start(sid);
    }
    r.run_until_settled(10_000).expect("first leader");
    assert_led_by(&r, 5);
    r.crash(5, Down::Crashed);
    for sid in 1..=4 {
        r.go_looking(sid);
    }
    r.run_until_settled(60_000)
        .expect("a new leader among the survivors");
    assert_led_by(&r, 2);
}

#[test]
fn after_the_leader_crashes_the_highest_sid_wins_among_equals() {
    let mut r = Router::new(&[1, 2, 3], &[]);
    for sid in 1..=3 {
        r.start(sid);
    }
    r.run_until_settled(10_000).expect("first leader");
    r.crash(3, Down::Crashed);
    r.go_looking(1);
    r.go_looking(2);
    r.run_until_settled(60_000)
        .expect("two of three are a quorum");
    assert_led_by(&r, 2);
}

#[test]
fn a_minority_never_elects_a_leader() {
    let mut r = Router::new(&[1, 2, 3, 4, 5], &[]);
    r.start(4);
    r.start(5);
    r.run_until(600_000);
    assert_eq!(r.role(4), Role::Looking);
    assert_eq!(r.role(5), Role::Looking);
    assert!(r
        .events
        .iter()
        .all(|(_, _, e)| !matches!(e, zab_core::peer::ServerEvent::Elected { .. })));
    assert_eq!(
        r.peer(4).election().notification_timeout_ms(),
        60_000,
        "the notification timeout doubles up to maxNotificationInterval"
    );
}

#[test]
fn an_observer_learns_the_leader() {
    let mut r = Router::new(&[1, 2, 3], &[4]);
    for sid in 1..=4 {
        r.start(sid);
    }
    r.run_until_settled(10_000)
        .expect("voters elect, the observer learns");
    assert_led_by(&r, 3);
    assert_eq!(r.role(4), Role::Observing);
}

#[test]
fn observers_never_count_in_a_quorum() {
    let mut r = Router::new(&[1, 2, 3], &[4, 5]);
    for sid in [1, 4, 5] {
        r.start(sid);
    }
    r.run_until(300_000);
    for sid in [1, 4, 5] {
        assert_eq!(
            r.role(sid),
            Role::Looking,
            "server {sid}: one voter is no quorum"
        );
    }
}

#[test]
fn an_observer_joining_late_finds_the_leader() {
    let mut r = Router::new(&[1, 2, 3], &[4]);
    for sid in 1..=3 {
        r.start(sid);
    }
    r.run_until_settled(10_000).expect("voters elect");
    r.start(4);
    r.run_until_settled(10_000)
        .expect("the observer learns the leader");
    assert_led_by(&r, 3);
}

#[test]
fn a_peer_restarting_mid_election_rejoins() {
    let mut r = Router::new(&[1, 2, 3], &[]);
    for sid in 1..=3 {
        r.start(sid);
    }
    r.run_until(50);
    assert!(
        r.running().iter().all(|s| r.role(s.0) == Role::Looking),
        "still electing"
    );
    r.crash(3, Down::Crashed);
    r.run_until(100);
    r.start(3);
    r.run_until_settled(60_000).expect("all three agree");
    assert_led_by(&r, 3);
}

#[test]
fn a_peer_restarting_after_the_election_follows_the_leader() {
    let mut r = Router::new(&[1, 2, 3], &[]);
    for sid in 1..=3 {
        r.start(sid);
    }
    r.run_until_settled(10_000).expect("first leader");
    r.crash(1, Down::Crashed);
    r.run_until(r.now.0 + 1_000);
    r.start(1);
    r.run_until_settled(10_000)
        .expect("the restarted server joins");
    assert_led_by(&r, 3);
    assert_eq!(r.elected(1), vec![ServerId(3), ServerId(3)]);
}

#[test]
fn a_server_restarting_after_a_new_epoch_joins_through_the_updated_votes() {
    // ZOOKEEPER-1732: once the ensemble established epoch 1, its members answer with votes
    // for epoch 1 although the election ran at epoch 0; a restarted server that synced
    // epoch 1 must still find the leader.
    let mut r = Router::new(&[1, 2, 3], &[]);
    for sid in 1..=3 {
        r.start(sid);
    }
    r.run_until_settled(10_000).expect("first leader");
    for sid in 1..=3 {
        r.peer_mut(sid).update_election_vote(Epoch(1));
    }
    r.crash(1, Down::Crashed);
    r.run_until(r.now.0 + 1_000);
    r.epochs.insert(ServerId(1), Epoch(1));
    r.start(1);
    r.run_until_settled(10_000)
        .expect("the restarted server joins");
    assert_led_by(&r, 3);
    assert_eq!(r.peer(1).current_vote().peer_epoch, Epoch(1));
}

#[test]
fn one_election_connection_survives_per_pair() {
    let mut r = Router::new(&[1, 2, 3, 4, 5], &[]);
    // Highest first, so that the lower ids' connects find their peers listening.
    for sid in (1..=5).rev() {
        r.start(sid);
    }
    r.run_until_settled(10_000).expect("a leader is elected");
    assert_eq!(
        r.connections(),
        10,
        "one connection per pair of five servers"
    );
    assert!(r.disconnects > 0, "lower-id initiators were dropped");
}

/// Elect among servers 1..4 of five while server 5's host is powered off (connects to it hang
/// for the 5 s connect timeout); the time until all four agree.
fn election_time_with_a_dead_host(bugs: BugSet) -> u64 {
    let mut r = Router::new(&[1, 2, 3, 4, 5], &[]);
    r.bugs = bugs;
    r.power_off(5);
    for sid in 1..=4 {
        r.start(sid);
    }
    let t = r.run_until_settled(600_000).expect("four of five elect");
    assert_led_by(&r, 4);
    t.0
}

/// ZOOKEEPER-3756's outage: the leader's pod dies (its connections are reset) and its address
/// then drops SYNs, so every reconnect hangs for the connect timeout; the four survivors (told
/// by ZAB that the leader is gone) elect again. The time from the death until all four agree.
/// (A host that is merely powered off leaves the survivors' connections to it looking alive,
/// so nobody reconnects and nothing stalls.)
fn reelection_time_after_the_leaders_host_dies(bugs: BugSet) -> u64 {
    let mut r = Router::new(&[1, 2, 3, 4, 5], &[]);
    r.bugs = bugs;
    for sid in 1..=5 {
        r.start(sid);
    }
    r.run_until_settled(600_000).expect("first leader");
    assert_led_by(&r, 5);
    r.run_until(10_000);
    r.crash(5, Down::Crashed);
    r.power_off(5);
    for sid in 1..=4 {
        r.go_looking(sid);
    }
    let t = r.run_until_settled(600_000).expect("four of five elect");
    assert_led_by(&r, 4);
    t.0 - 10_000
}

#[test]
fn blocking_connect_stalls_the_reelection_after_the_leaders_host_dies() {
    let fixed = reelection_time_after_the_leaders_host_dies(BugSet::default());
    let blocking =
        reelection_time_after_the_leaders_host_dies(BugSet::default().with(Bug::BlockingConnect));
    eprintln!("re-election after the leader's host died: fixed {fixed} ms, blocking-connect {blocking} ms");
    assert!(fixed < 1_000, "asynchronous connects: {fixed} ms");
    assert!(
        blocking >= 10 * fixed,
        "3.4.5's blocking connect: {blocking} ms vs {fixed} ms"
    );
}

#[test]
fn blocking_connect_makes_election_at_least_ten_times_slower() {
    let fixed = election_time_with_a_dead_host(BugSet::default());
    let blocking = election_time_with_a_dead_host(BugSet::default().with(Bug::BlockingConnect));
    eprintln!("election with a powered-off host: fixed {fixed} ms, blocking-connect {blocking} ms");
    assert!(fixed < 1_000, "asynchronous connects: {fixed} ms");
    assert!(
        blocking >= 10 * fixed,
        "3.4.5's blocking connect: {blocking} ms vs {fixed} ms"
    );
}

// ----- the receiver's replies (WorkerReceiver), one peer driven by hand -----

mod receiver {
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
}

#[test]
fn an_observer_that_loses_its_leader_waits_before_electing_again() {
    let mut r = Router::new(&[1, 2, 3], &[4]);
    for sid in 1..=4 {
        r.start(sid);
    }
    r.run_until_settled(10_000)
        .expect("voters elect, the observer learns");
    let lost_at = r.now;
    r.go_looking(4);
    assert_eq!(r.role(4), Role::Looking);
    let deadline = r
        .peer(4)
        .next_deadline()
        .expect("the delayed start is armed");
    assert!(deadline.0 < lost_at.0 + 200, "the wait is below 200 ms");
    assert!(deadline > lost_at, "this seed draws a non-zero wait");
    assert!(
        !r.peer(4).election().is_electing(),
        "nothing is sent during the wait"
    );
    r.run_until_settled(10_000)
        .expect("the observer finds the leader again");
    assert_eq!(
        r.elected(4),
        vec![ServerId(3), ServerId(3)],
        "it did elect again"
    );
    assert_led_by(&r, 3);
}
