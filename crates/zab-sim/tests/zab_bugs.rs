//! The named bug switches that concern ZAB, on the simulator: each one changes what the
//! ensemble does at the exact place ZooKeeper once got it wrong, and these tests show the
//! difference against the correct core (the mutation proof in `crates/zabsim/tests/mutation.rs`
//! shows which property catches each in a whole run).

mod common;

use common::hand::*;
use common::*;
use zab_core::peer::{Output, PeerMessage, PersistOp, Role, ServerEvent, SyncMethod};
use zab_core::zab::clients::session_password;
use zab_core::zab::packet::QuorumPacket;
use zab_core::{Epoch, Zxid};

fn bug(name: &str) -> String {
    format!("bugs = [\"{name}\"]")
}

#[test]
fn ack_before_fsync_bug_acks_early() {
    let mut s = started::<Plain>(&bug("ack-before-fsync"), 3, 0);
    connect(&mut s, 3, 10).expect("session");
    run_until_durable(&mut s, 1, zxid(1, 1));
    s.hold_disk(id(1)).unwrap();
    assert!(request(&mut s, 3, 10, 1, create("/a", b"x")).is_some());
    assert!(
        sent(&s, 1)
            .iter()
            .any(|(_, p)| *p == QuorumPacket::Ack { zxid: zxid(1, 2) }),
        "acked although its fsync never completed"
    );
    assert!(!s.durable_log(id(1)).contains(&zxid(1, 2)));
}

/// Server 1 misses a commit, then rejoins by DIFF; the order of its durable steps and acks
/// around NEWLEADER, up to its first NEWLEADER ack.
fn newleader_order(head: &str) -> Vec<&'static str> {
    let mut s = started::<Plain>(head, 3, 0);
    connect(&mut s, 3, 10).expect("session");
    s.partition_now(&[&[id(1)]]).unwrap();
    assert!(request(&mut s, 3, 10, 1, create("/a", b"")).is_some());
    run_until_true(&mut s, 10_000, |s| role(s, 1) == Role::Looking).expect("1 gives up");
    let mark = log(&s, 1).len();
    s.heal_now().unwrap();
    run_until_serving(&mut s, 30_000);
    assert_eq!(synced_method(&s, 1), Some(SyncMethod::Diff));
    let mut order = Vec::new();
    for e in &log(&s, 1)[mark..] {
        match e {
            Entry::Out(
                _,
                Output::Persist {
                    op: PersistOp::Fsync { .. },
                    ..
                },
            ) => order.push("fsync"),
            Entry::Out(
                _,
                Output::Persist {
                    op: PersistOp::WriteCurrentEpoch(_),
                    ..
                },
            ) => order.push("epoch"),
            Entry::Out(
                _,
                Output::Send {
                    msg: PeerMessage::Quorum(QuorumPacket::Ack { zxid }),
                    ..
                },
            ) if zxid.counter() == 0 => order.push("ack"),
            _ => {}
        }
    }
    let first_ack = order.iter().position(|s| *s == "ack").expect("acked");
    order.truncate(first_ack + 1);
    order
}

#[test]
fn newleader_ack_waits_for_synced_log_then_current_epoch() {
    assert_eq!(newleader_order(""), ["fsync", "epoch", "ack"]);
}

#[test]
fn newleader_ack_before_sync_bug_acks_first() {
    let order = newleader_order(&bug("newleader-ack-before-sync"));
    assert_eq!(order, ["fsync", "ack"], "acked before the fsync completed");
}

#[test]
fn epoch_before_txns_durable_bug_writes_epoch_first() {
    let order = newleader_order(&bug("epoch-before-txns-durable"));
    assert_eq!(order, ["epoch", "fsync", "ack"]);
}

#[test]
fn ackepoch_waits_for_accepted_epoch_unless_the_bug_is_on() {
    for (head, early) in [
        (String::new(), false),
        (bug("ack-epoch-before-persist"), true),
    ] {
        let mut s: Hand = hand(&head, 3, 0, 1);
        s.hold_disk(id(1)).unwrap();
        run_until_true(&mut s, 30_000, |s| {
            running(s).len() == 3 && role(s, 3) == Role::Leading && peer(s, 2).zab().is_serving()
        })
        .expect("3 establishes with 2");
        run_ms(&mut s, 100);
        assert_eq!(role(&s, 1), Role::Following);
        let acked = sent(&s, 1)
            .iter()
            .any(|(_, p)| matches!(p, QuorumPacket::AckEpoch { .. }));
        assert_eq!(acked, early, "{head:?}");
        assert!(!events(&s, 1).contains(&ServerEvent::AcceptedEpoch { epoch: Epoch(1) }));
        s.release_disk(id(1)).unwrap();
        run_until_true(&mut s, 1_000, |s| {
            events(s, 1).contains(&ServerEvent::AcceptedEpoch { epoch: Epoch(1) })
        })
        .expect("the write completes once the disk goes on");
    }
}

#[test]
fn skip_truncate_bug_leaves_the_old_leaders_tail_and_replicas_diverge() {
    let mut s = started::<Plain>(&bug("skip-truncate"), 3, 0);
    let tail = lose_a_tail_and_crash(&mut s, 3, 10);
    run_until_serving(&mut s, 30_000);
    assert_led_by(&s, 2);
    s.restart_now(id(3)).unwrap();
    run_until_serving(&mut s, 30_000);
    assert_led_by(&s, 2);
    run_ms(&mut s, 500);
    assert_eq!(synced_method(&s, 3), Some(SyncMethod::Diff));
    assert!(!events(&s, 3)
        .iter()
        .any(|e| matches!(e, ServerEvent::Truncated { .. })));
    assert!(s.durable_log(id(3)).contains(&tail));
    assert_ne!(
        peer(&s, 2).zab().digest(),
        peer(&s, 3).zab().digest(),
        "the tail survives on server 3 only"
    );
}

#[test]
fn read_uncommitted_bug_shows_a_proposal_before_its_commit() {
    for (head, visible) in [(String::new(), false), (bug("read-uncommitted"), true)] {
        let mut s = started::<Plain>(&head, 3, 0);
        connect(&mut s, 1, 10).expect("session");
        connect(&mut s, 1, 11).expect("a second session, for the read");
        for n in 1..=3 {
            run_until_durable(&mut s, n, zxid(1, 2));
        }
        // Only server 1 can make the proposal durable: no quorum, no commit.
        s.hold_disk(id(2)).unwrap();
        s.hold_disk(id(3)).unwrap();
        assert_eq!(
            request_within(&mut s, 1, 10, 1, create("/u", b"x"), 300),
            None
        );
        assert_eq!(
            peer(&s, 3).zab().last_processed(),
            zxid(1, 2),
            "not committed"
        );
        let seen = data_of(request(&mut s, 1, 11, 1, get("/u")));
        assert_eq!(seen.is_some(), visible, "{head:?}");
    }
}

#[test]
fn follower_expires_sessions_bug_kills_a_session_that_moved_away() {
    for (head, expired) in [
        (String::new(), false),
        (bug("follower-expires-sessions"), true),
    ] {
        let mut s = started::<Plain>(&head, 3, 0);
        let session = connect(&mut s, 1, 10).expect("session");
        ping(&mut s, 1, 10);
        disconnect(&mut s, 1, 10);
        let passwd = session_password(session);
        assert_eq!(
            connect_with(&mut s, 2, 11, session, passwd, Zxid::ZERO),
            Some(session)
        );
        for _ in 0..20 {
            ping(&mut s, 2, 11);
            run_ms(&mut s, 500);
        }
        // Anything committed after the session's creation is its close.
        let closed = peer(&s, 3).zab().last_processed() > zxid(1, 1);
        assert_eq!(closed, expired, "{head:?}");
    }
}

#[test]
fn commit_out_of_order_bug_applies_another_sessions_later_write_first() {
    for (head, in_order) in [(String::new(), true), (bug("commit-out-of-order"), false)] {
        let mut s = started::<Plain>(&head, 3, 0);
        connect(&mut s, 3, 10).expect("session");
        connect(&mut s, 3, 11).expect("a second session");
        run_ms(&mut s, 1_000);
        let mark = log(&s, 1).len();
        assert!(request(&mut s, 3, 10, 1, create("/a", b"x")).is_some());
        assert!(request(&mut s, 3, 11, 1, create("/a/b", b"y")).is_some());
        run_ms(&mut s, 1_000);
        let commits: Vec<Zxid> = log(&s, 1)[mark..]
            .iter()
            .filter_map(|e| match e {
                Entry::Out(_, Output::Event(ServerEvent::Committed { zxid, .. })) => Some(*zxid),
                _ => None,
            })
            .collect();
        assert_eq!(
            commits.len(),
            2,
            "{head:?}: both writes applied on server 1"
        );
        assert_eq!(commits[0] < commits[1], in_order, "{head:?}: {commits:?}");
        assert_eq!(
            peer(&s, 1).zab().digest() == peer(&s, 3).zab().digest(),
            in_order,
            "{head:?}: /a/b applied before /a fails on server 1 only"
        );
    }
}
