//! The whole `Peer` — election and ZAB together — on the in-test router: elections end in an
//! established leader, learners synchronise, and a crashed leader is replaced in a new epoch.

mod router;

use router::{Down, Router};
use zab_core::peer::{Role, ServerEvent};
use zab_core::{Epoch, ServerId};

fn established(r: &Router) -> Vec<(ServerId, Epoch)> {
    r.events
        .iter()
        .filter_map(|(_, s, e)| match e {
            ServerEvent::LeaderEstablished { epoch } => Some((*s, *epoch)),
            _ => None,
        })
        .collect()
}

fn synced(r: &Router, sid: u64) -> usize {
    r.events
        .iter()
        .filter(|(_, s, e)| s.0 == sid && matches!(e, ServerEvent::Synced { .. }))
        .count()
}

#[test]
fn a_fresh_ensemble_elects_then_establishes_epoch_one_and_stays_up() {
    let mut r = Router::new(&[1, 2, 3], &[]);
    for sid in 1..=3 {
        r.start(sid);
    }
    r.run_until(30_000);
    assert_eq!(established(&r), vec![(ServerId(3), Epoch(1))]);
    for sid in 1..=2 {
        assert_eq!(r.role(sid), Role::Following);
        assert_eq!(synced(&r, sid), 1, "server {sid} synced once");
        assert_eq!(r.peer(sid).current_epoch(), Epoch(1));
        assert_eq!(r.peer(sid).accepted_epoch(), Epoch(1));
    }
    assert_eq!(r.role(3), Role::Leading);
    assert_eq!(
        r.peer(3).current_vote().peer_epoch,
        Epoch(1),
        "ZOOKEEPER-1732"
    );
}

#[test]
fn a_crashed_leader_is_replaced_in_a_new_epoch_and_rejoins_as_a_follower() {
    let mut r = Router::new(&[1, 2, 3], &[]);
    for sid in 1..=3 {
        r.start(sid);
    }
    r.run_until(10_000);
    r.crash(3, Down::Crashed);
    r.run_until(40_000);
    assert_eq!(
        established(&r),
        vec![(ServerId(3), Epoch(1)), (ServerId(2), Epoch(2))]
    );
    r.start(3);
    r.run_until(70_000);
    assert_eq!(r.role(3), Role::Following);
    assert_eq!(r.leader_of(3), Some(ServerId(2)));
    assert_eq!(r.peer(3).current_epoch(), Epoch(2));
    assert_eq!(
        r.peer(1).zab().digest(),
        r.peer(3).zab().digest(),
        "replicas agree"
    );
}

#[test]
fn an_observer_learns_the_leader_and_follows_without_voting() {
    let mut r = Router::new(&[1, 2, 3], &[4]);
    for sid in 1..=4 {
        r.start(sid);
    }
    r.run_until(30_000);
    assert_eq!(r.role(4), Role::Observing);
    assert_eq!(synced(&r, 4), 1);
    assert_eq!(established(&r).len(), 1);
}
