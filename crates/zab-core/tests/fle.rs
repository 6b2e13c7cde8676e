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
