//! Randomised elections on the simulator: start times, per-packet latency jitter that reorders
//! messages across connections (each connection stays FIFO, as TCP is), and a crash-restart in
//! the middle.
//!
//! FLE alone does not promise agreement: a server that finishes its finalize wait just before
//! a better vote reaches it, or that counted a vote its sender has since changed, can lead or
//! follow on its own; ZAB then fails to establish that leader within initLimit and sends those
//! servers back to LOOKING, as in ZooKeeper. Here the whole `Peer` runs, so that failure
//! detection is the real ZAB, and the property is: the ensemble converges on one established
//! leader that every running server follows (or observes), and it stays that way.

mod common;

use common::*;
use proptest::prelude::*;
use zab_core::peer::{Role, ServerEvent};
use zab_core::{Peer, ServerId};
use zab_sim::{Scenario, Sim, Span};

/// initLimit × tickTime with the scenario defaults (10 × 2 s): how long ZAB gives a new
/// leader to gather its followers.
const INIT_LIMIT_MS: u64 = 20_000;

/// `voters` voters and `observers` observers started at 0, every packet taking 1 ms plus a
/// uniform 0..=`jitter_ms` (0: exactly 1 ms).
fn jittered(voters: u64, observers: u64, jitter_ms: u64) -> Scenario {
    let latency = if jitter_ms == 0 {
        "{ constant = \"1ms\" }".to_string()
    } else {
        format!("{{ min = \"1ms\", max = \"{}ms\" }}", 1 + jitter_ms)
    };
    ensemble(
        "",
        voters,
        observers,
        &format!("[network]\nlatency = {latency}"),
    )
}

/// Start server `i + 1` at `starts[i]` ms.
fn starting_at(mut scenario: Scenario, starts: &[(u64, u64)]) -> Scenario {
    scenario.cluster.start_at = starts
        .iter()
        .map(|(sid, at)| (id(*sid), Span::from_millis(*at)))
        .collect();
    scenario
}

/// The one leader every running server agrees on, if there is exactly one and all agree.
fn agreed_leader(s: &Sim<Peer>) -> Option<ServerId> {
    let up = running(s);
    let leaders: Vec<ServerId> = up
        .iter()
        .copied()
        .filter(|p| role(s, p.0) == Role::Leading)
        .collect();
    let [leader] = leaders[..] else {
        return None;
    };
    up.iter()
        .all(|p| role(s, p.0) != Role::Looking && leader_of(s, p.0) == Some(leader))
        .then_some(leader)
}

/// Exactly one leader, and every running server follows, observes or is it.
fn settled_leader(s: &Sim<Peer>) -> ServerId {
    let leaders: Vec<ServerId> = running(s)
        .into_iter()
        .filter(|p| role(s, p.0) == Role::Leading)
        .collect();
    assert_eq!(leaders.len(), 1, "exactly one leader: {leaders:?}");
    let leader = leaders[0];
    for p in running(s) {
        assert_eq!(leader_of(s, p.0), Some(leader), "server {p} agrees");
    }
    leader
}

/// Has `leader` established its current epoch (ZAB's `LeaderEstablished`)?
fn established_now(s: &Sim<Peer>, leader: ServerId) -> bool {
    let epoch = peer(s, leader.0).current_epoch();
    established(s).contains(&(leader, epoch))
}

/// Run until one leader is established and followed by every running server (at most 50
/// initLimits), then check it stays so for two more initLimits. The leader.
fn converge(s: &mut Sim<Peer>) -> ServerId {
    run_until_true(s, 50 * INIT_LIMIT_MS, |s| {
        agreed_leader(s).is_some_and(|l| established_now(s, l))
    })
    .expect("one established leader within 50 initLimits");
    let leader = settled_leader(s);
    run_ms(s, 2 * INIT_LIMIT_MS);
    assert_eq!(settled_leader(s), leader, "the leader stays");
    assert!(established_now(s, leader));
    leader
}

/// How many `Elected` results the servers reported so far.
fn elections(s: &Sim<Peer>) -> usize {
    s.server_events()
        .iter()
        .filter(|r| matches!(r.event, ServerEvent::Elected { .. }))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn simultaneous_starts_elect_the_highest_id_despite_reordering(
        five in any::<bool>(),
        jitter_ms in 0u64..50,
        seed in any::<u64>(),
    ) {
        let n = if five { 5 } else { 3 };
        let mut s = sim(jittered(n, 0, jitter_ms), seed);
        prop_assert!(run_until_settled(&mut s, 120_000).is_some(), "settles");
        prop_assert_eq!(settled_leader(&s), id(n));
    }

    #[test]
    fn staggered_starts_and_a_restart_converge_on_one_leader(
        starts in proptest::collection::vec(0u64..3_000, 5),
        jitter_ms in 0u64..300,
        seed in any::<u64>(),
        victim in 1u64..=5,
        crash_at in 0u64..3_000,
        down_for in 0u64..2_000,
    ) {
        let mut at: Vec<(u64, u64)> = (1..=5).zip(starts.iter().copied()).collect();
        at.push((6, 1_500));
        let scenario = starting_at(jittered(5, 1, jitter_ms), &at);
        let mut s = sim(scenario, seed);
        run_to_ms(&mut s, crash_at.max(starts[victim as usize - 1]) + 1);
        s.crash_now(id(victim)).unwrap();
        run_ms(&mut s, down_for);
        s.restart_now(id(victim)).unwrap();
        // Let every scheduled start happen before judging.
        let later = s.now().as_millis().max(3_000);
        run_to_ms(&mut s, later);
        converge(&mut s);
        prop_assert_eq!(role(&s, 6), Role::Observing);
    }
}

#[test]
#[ignore = "statistics for the README, not a check"]
fn split_decision_statistics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut splits = 0;
    let runs = 1000;
    for i in 0..runs {
        let at: Vec<(u64, u64)> = (1..=5).map(|p| (p, rng.gen_range(0..3_000))).collect();
        let scenario = starting_at(jittered(5, 0, 50), &at);
        let mut s = sim(scenario, i);
        converge(&mut s);
        // Five servers, one result each, unless somebody had to elect again.
        if elections(&s) > 5 {
            splits += 1;
        }
    }
    eprintln!(
        "5 voters, random starts in 0..3 s, 1-51 ms latency: {splits}/{runs} runs needed a re-election"
    );
}
