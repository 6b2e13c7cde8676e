//! The whole `Peer` — election and ZAB together — on the simulator: elections end in an
//! established leader, learners synchronise, and a crashed leader is replaced in a new epoch
//! (the survivors notice by themselves: the leader's connections reset).

mod common;

use common::*;
use zab_core::peer::{Role, ServerEvent};
use zab_core::Epoch;
use zab_sim::Sim;

fn synced<P: HasPeer>(s: &Sim<P>, sid: u64) -> usize {
    s.server_events()
        .iter()
        .filter(|r| r.server == id(sid) && matches!(r.event, ServerEvent::Synced { .. }))
        .count()
}

#[test]
fn a_fresh_ensemble_elects_then_establishes_epoch_one_and_stays_up() {
    let mut s = sim(ensemble("", 3, 0, ""), 1);
    run_to_ms(&mut s, 30_000);
    assert_eq!(established(&s), vec![(id(3), Epoch(1))]);
    for sid in 1..=2 {
        assert_eq!(role(&s, sid), Role::Following);
        assert_eq!(synced(&s, sid), 1, "server {sid} synced once");
        assert_eq!(peer(&s, sid).current_epoch(), Epoch(1));
        assert_eq!(peer(&s, sid).accepted_epoch(), Epoch(1));
    }
    assert_eq!(role(&s, 3), Role::Leading);
    assert_eq!(
        peer(&s, 3).current_vote().peer_epoch,
        Epoch(1),
        "ZOOKEEPER-1732"
    );
}

#[test]
fn a_crashed_leader_is_replaced_in_a_new_epoch_and_rejoins_as_a_follower() {
    let mut s = sim(ensemble("", 3, 0, ""), 1);
    run_to_ms(&mut s, 10_000);
    s.crash_now(id(3)).unwrap();
    run_to_ms(&mut s, 40_000);
    assert_eq!(established(&s), vec![(id(3), Epoch(1)), (id(2), Epoch(2))]);
    s.restart_now(id(3)).unwrap();
    run_to_ms(&mut s, 70_000);
    assert_eq!(role(&s, 3), Role::Following);
    assert_eq!(leader_of(&s, 3), Some(id(2)));
    assert_eq!(peer(&s, 3).current_epoch(), Epoch(2));
    assert_eq!(
        peer(&s, 1).zab().digest(),
        peer(&s, 3).zab().digest(),
        "replicas agree"
    );
}

#[test]
fn an_observer_learns_the_leader_and_follows_without_voting() {
    let mut s = sim(ensemble("", 3, 1, ""), 1);
    run_to_ms(&mut s, 30_000);
    assert_eq!(role(&s, 4), Role::Observing);
    assert_eq!(synced(&s, 4), 1);
    assert_eq!(established(&s).len(), 1);
}
