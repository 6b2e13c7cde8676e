use crate::election::fle::ElectionTimings;
use crate::election::{ElectionAction, FastLeaderElection, Notification, ServerState, Vote};
use crate::ids::{Epoch, Millis, ServerId, Zxid};
use crate::quorum::Majority;
use std::sync::Arc;

const TIMINGS: ElectionTimings = ElectionTimings {
    finalize_wait_ms: 200,
    min_notification_interval_ms: 200,
    max_notification_interval_ms: 60_000,
};

fn fle(me: u64, voters: &[u64]) -> FastLeaderElection {
    let verifier = Arc::new(Majority::new(
        voters.iter().copied().map(ServerId).collect(),
    ));
    let participant = voters.contains(&me);
    FastLeaderElection::new(ServerId(me), participant, verifier, TIMINGS)
}

fn note(from: u64, leader: u64, round: u64, state: ServerState) -> Notification {
    Notification {
        leader: ServerId(leader),
        zxid: Zxid::ZERO,
        election_epoch: round,
        state,
        sid: ServerId(from),
        peer_epoch: Epoch::ZERO,
    }
}

fn looking(from: u64, leader: u64, round: u64) -> Notification {
    note(from, leader, round, ServerState::Looking)
}

/// Hand `n` to the loop at `now` and return what it asked for.
fn feed(e: &mut FastLeaderElection, now: u64, n: Notification) -> Vec<ElectionAction> {
    let mut out = Vec::new();
    e.enqueue(n);
    e.run(Millis(now), &mut out);
    out
}

fn sends(out: &[ElectionAction]) -> Vec<(u64, u64, u64)> {
    out.iter()
        .filter_map(|a| match a {
            ElectionAction::Send { to, notification } => {
                Some((to.0, notification.leader.0, notification.election_epoch))
            }
            _ => None,
        })
        .collect()
}

fn decided(out: &[ElectionAction]) -> Option<(Vote, ServerState)> {
    out.iter().find_map(|a| match a {
        ElectionAction::Decided { vote, state } => Some((*vote, *state)),
        _ => None,
    })
}

fn started(me: u64, voters: &[u64]) -> FastLeaderElection {
    let mut e = fle(me, voters);
    let mut out = Vec::new();
    e.start(Millis(0), Zxid::ZERO, Epoch::ZERO, &mut out);
    e
}

#[test]
fn a_new_election_votes_for_itself_and_notifies_every_voter() {
    let mut e = fle(2, &[1, 2, 3]);
    let mut out = Vec::new();
    e.start(Millis(0), Zxid(7), Epoch(1), &mut out);
    assert_eq!(e.logical_clock(), 1);
    assert_eq!(sends(&out), vec![(1, 2, 1), (2, 2, 1), (3, 2, 1)]);
    assert!(out.contains(&ElectionAction::SetTimer { at: Millis(200) }));
    assert_eq!(e.proposal().zxid, Zxid(7));
    assert_eq!(e.proposal().peer_epoch, Epoch(1));
}

#[test]
fn a_newer_round_is_adopted_with_the_better_of_its_vote_and_our_own() {
    let mut e = started(2, &[1, 2, 3]);
    let out = feed(&mut e, 5, looking(1, 1, 4));
    assert_eq!(e.logical_clock(), 4, "the clock jumps to the newer round");
    assert_eq!(e.proposal().leader, ServerId(2), "our own vote beats 1's");
    assert_eq!(sends(&out), vec![(1, 2, 4), (2, 2, 4), (3, 2, 4)]);
    let out = feed(&mut e, 6, looking(3, 3, 4));
    assert_eq!(e.proposal().leader, ServerId(3));
    assert_eq!(sends(&out), vec![(1, 3, 4), (2, 3, 4), (3, 3, 4)]);
}

#[test]
fn an_older_round_is_ignored() {
    let mut e = started(1, &[1, 2, 3]);
    feed(&mut e, 1, looking(2, 2, 3));
    assert_eq!(e.logical_clock(), 3);
    let out = feed(&mut e, 2, looking(3, 3, 2));
    assert!(sends(&out).is_empty(), "no change for an older round");
    assert_eq!(e.proposal().leader, ServerId(2));
}

#[test]
fn a_quorum_for_our_proposal_ends_after_the_finalize_wait() {
    let mut e = started(3, &[1, 2, 3]);
    feed(&mut e, 1, looking(3, 3, 1));
    assert!(!e.is_finalizing(), "one vote of three");
    let out = feed(&mut e, 2, looking(2, 3, 1));
    assert!(e.is_finalizing());
    assert!(out.contains(&ElectionAction::SetTimer { at: Millis(202) }));
    assert_eq!(decided(&out), None, "not before the finalize wait");
    // A vote that is not better restarts the wait and is dropped.
    let out = feed(&mut e, 100, looking(1, 1, 1));
    assert!(out.contains(&ElectionAction::SetTimer { at: Millis(300) }));
    let mut out = Vec::new();
    e.on_timeout(Millis(300), true, &mut out);
    let (vote, state) = decided(&out).expect("decided");
    assert_eq!(state, ServerState::Leading);
    assert_eq!(vote.leader, ServerId(3));
    assert_eq!(vote.election_epoch, 1);
    assert!(!e.is_electing());
}

#[test]
fn a_better_vote_during_the_finalize_wait_reopens_the_election() {
    let mut e = started(2, &[1, 2, 3]);
    feed(&mut e, 1, looking(2, 2, 1));
    feed(&mut e, 1, looking(1, 2, 1));
    assert!(e.is_finalizing());
    let out = feed(&mut e, 50, looking(3, 3, 1));
    assert!(!e.is_finalizing());
    assert_eq!(e.proposal().leader, ServerId(3));
    assert_eq!(
        sends(&out).len(),
        3,
        "the better vote is re-sent to everyone"
    );
    assert_eq!(decided(&out), None);
}

#[test]
fn followers_alone_do_not_elect_a_leader_that_never_said_it_leads() {
    let mut e = started(1, &[1, 2, 3, 4, 5]);
    for sid in 2..=4 {
        let out = feed(&mut e, 1, note(sid, 5, 1, ServerState::Following));
        assert_eq!(
            decided(&out),
            None,
            "checkLeader needs 5 to say it is LEADING"
        );
    }
    let out = feed(&mut e, 2, note(5, 5, 1, ServerState::Leading));
    let (vote, state) = decided(&out).expect("5 leads and a quorum follows it");
    assert_eq!((vote.leader, state), (ServerId(5), ServerState::Following));
}

#[test]
fn joining_an_established_ensemble_adopts_its_older_round() {
    let mut e = fle(1, &[1, 2, 3, 4, 5]);
    for _ in 0..3 {
        let mut out = Vec::new();
        e.start(Millis(0), Zxid::ZERO, Epoch::ZERO, &mut out);
        e.stop(&mut out);
    }
    let mut out = Vec::new();
    e.start(Millis(0), Zxid::ZERO, Epoch::ZERO, &mut out);
    assert_eq!(e.logical_clock(), 4);
    feed(&mut e, 1, note(2, 4, 1, ServerState::Following));
    feed(&mut e, 1, note(3, 4, 1, ServerState::Following));
    let out = feed(&mut e, 1, note(4, 4, 1, ServerState::Leading));
    let (vote, _) = decided(&out).expect("a quorum outside the election follows 4");
    assert_eq!(vote.election_epoch, 1);
    assert_eq!(
        e.logical_clock(),
        1,
        "the clock goes back to the ensemble's round"
    );
}

#[test]
fn the_notification_timeout_doubles_up_to_the_cap() {
    let mut e = started(1, &[1, 2, 3]);
    let mut now = 200;
    let mut waits = Vec::new();
    for _ in 0..12 {
        let mut out = Vec::new();
        e.on_timeout(Millis(now), true, &mut out);
        assert_eq!(sends(&out).len(), 3, "every empty wait resends");
        let at = out
            .iter()
            .find_map(|a| match a {
                ElectionAction::SetTimer { at } => Some(at.0),
                _ => None,
            })
            .expect("the next wait is armed");
        waits.push(at - now);
        now = at;
    }
    assert_eq!(
        waits,
        vec![400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000, 60000, 60000]
    );
}

#[test]
fn undelivered_messages_make_the_timeout_connect_instead_of_resending() {
    let mut e = started(1, &[1, 2, 3]);
    let mut out = Vec::new();
    e.on_timeout(Millis(200), false, &mut out);
    assert!(out.contains(&ElectionAction::ConnectAll));
    assert!(sends(&out).is_empty());
}

#[test]
fn an_observer_votes_for_nobody_and_adopts_a_voters_vote() {
    let mut e = fle(4, &[1, 2, 3]);
    let mut out = Vec::new();
    e.start(Millis(0), Zxid(9), Epoch(9), &mut out);
    assert_eq!(
        sends(&out),
        vec![(1, 0, 1), (2, 0, 1), (3, 0, 1)],
        "only voters hear it"
    );
    feed(&mut e, 1, looking(1, 1, 1));
    assert_eq!(e.proposal().leader, ServerId(1));
    feed(&mut e, 1, looking(3, 3, 1));
    feed(&mut e, 1, looking(2, 3, 1));
    assert!(
        e.is_finalizing(),
        "two voters of three agree with the observer's proposal"
    );
    let mut out = Vec::new();
    e.on_timeout(Millis(201), true, &mut out);
    assert_eq!(decided(&out).map(|d| d.1), Some(ServerState::Observing));
}

#[test]
fn notifications_from_or_for_non_voters_are_ignored() {
    let mut e = started(1, &[1, 2, 3]);
    let out = feed(&mut e, 1, looking(9, 3, 1));
    assert!(sends(&out).is_empty(), "9 is not a voter");
    let out = feed(&mut e, 1, looking(2, 9, 1));
    assert!(sends(&out).is_empty(), "9 cannot be proposed");
    assert_eq!(e.proposal().leader, ServerId(1));
}

#[test]
fn a_stalled_loop_queues_notifications_and_runs_them_when_released() {
    let mut e = started(1, &[1, 2, 3]);
    let mut out = Vec::new();
    e.set_stalled(Millis(1), true, &mut out);
    assert!(out.contains(&ElectionAction::CancelTimer));
    let out = feed(&mut e, 2, looking(3, 3, 1));
    assert!(out.is_empty(), "a stalled loop does nothing");
    assert!(e.has_queued());
    let mut out = Vec::new();
    e.on_timeout(Millis(5_000), true, &mut out);
    assert!(out.is_empty(), "no wait runs out while stalled");
    e.set_stalled(Millis(5_000), false, &mut out);
    assert_eq!(e.proposal().leader, ServerId(3));
    assert!(!e.has_queued());
}
