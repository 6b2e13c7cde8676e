//! The named bug switches that concern ZAB: each one changes what the ensemble does at the
//! exact place ZooKeeper once got it wrong, and these tests show the difference.

use super::harness::*;
use super::scenarios::{synced_method, three};
use crate::bugs::{Bug, BugSet};
use crate::ids::{Epoch, ServerId, Zxid};
use crate::peer::{Output, PeerMessage, PersistOp, ServerEvent, SyncMethod};
use crate::zab::packet::QuorumPacket;
use std::collections::BTreeSet;

#[test]
fn ack_before_fsync_bug_acks_early() {
    let mut net = Net::new(ids(1..=3), BTreeSet::new(), |c| {
        c.bugs = c.bugs.clone().with(crate::bugs::Bug::AckBeforeFsync)
    });
    net.elect(3);
    net.connect_client(3, 10).expect("session");
    net.hold_disk(1, true);
    net.request(3, 10, 1, create("/a", b"x"));
    let zxid = Zxid::new(Epoch(1), 2);
    assert!(net
        .sent(1)
        .iter()
        .any(|(_, p)| *p == QuorumPacket::Ack { zxid }));
}

/// Server 1 misses a commit, then rejoins by DIFF; returns the order of its durable steps
/// and acks around NEWLEADER.
fn newleader_order(bugs: crate::bugs::BugSet) -> Vec<&'static str> {
    let mut net = Net::new(ids(1..=3), BTreeSet::new(), |c| c.bugs = bugs.clone());
    net.elect(3);
    net.connect_client(3, 10).expect("session");
    net.partition(1, &[2, 3]);
    net.request(3, 10, 1, create("/a", b""));
    net.advance(2_000);
    net.take_abandon(1);
    net.heal();
    let mark = net.log.len();
    net.join(1, 3);
    net.settle();
    let mut order = Vec::new();
    for r in &net.log[mark..] {
        if r.server != ServerId(1) {
            continue;
        }
        match &r.output {
            Output::Persist {
                op: PersistOp::Fsync { .. },
                ..
            } => order.push("fsync"),
            Output::Persist {
                op: PersistOp::WriteCurrentEpoch(_),
                ..
            } => order.push("epoch"),
            Output::Send {
                msg: PeerMessage::Quorum(QuorumPacket::Ack { zxid }),
                ..
            } if zxid.counter() == 0 => order.push("ack"),
            _ => {}
        }
    }
    let first_ack = order.iter().position(|s| *s == "ack").expect("acked");
    order.truncate(first_ack + 1);
    order
}

#[test]
fn newleader_ack_waits_for_synced_log_then_current_epoch() {
    assert_eq!(
        newleader_order(BugSet::default()),
        ["fsync", "epoch", "ack"]
    );
}

#[test]
fn newleader_ack_before_sync_bug_acks_first() {
    let order = newleader_order(BugSet::default().with(Bug::NewLeaderAckBeforeSync));
    assert_eq!(order, ["fsync", "ack"], "acked before the fsync completed");
}

#[test]
fn epoch_before_txns_durable_bug_writes_epoch_first() {
    let order = newleader_order(BugSet::default().with(Bug::EpochBeforeTxnsDurable));
    assert_eq!(order, ["epoch", "fsync", "ack"]);
}

#[test]
fn ackepoch_waits_for_accepted_epoch_unless_the_bug_is_on() {
    for (bugs, early) in [
        (BugSet::default(), false),
        (BugSet::default().with(Bug::AckEpochBeforePersist), true),
    ] {
        let mut net = Net::new(ids(1..=3), BTreeSet::new(), |c| c.bugs = bugs.clone());
        net.hold_disk(1, true);
        net.elect(3);
        let acked = net
            .sent(1)
            .iter()
            .any(|(_, p)| matches!(p, QuorumPacket::AckEpoch { .. }));
        assert_eq!(acked, early, "bugs {bugs:?}");
        net.hold_disk(1, false);
        net.settle();
        assert!(net
            .events(1)
            .contains(&ServerEvent::AcceptedEpoch { epoch: Epoch(1) }));
    }
}

fn with_bug(bug: Bug) -> Net {
    let mut net = Net::new(ids(1..=3), BTreeSet::new(), |c| {
        c.bugs = BugSet::default().with(bug)
    });
    net.elect(3);
    net
}

#[test]
fn skip_truncate_bug_leaves_the_old_leaders_tail_and_replicas_diverge() {
    let mut net = with_bug(Bug::SkipTruncate);
    net.connect_client(3, 10).expect("session");
    net.partition(3, &[1, 2]);
    net.request(3, 10, 1, create("/lost", b""));
    net.crash(3);
    net.heal();
    net.elect(2);
    net.restart(3);
    net.join(3, 2);
    net.settle();
    assert_eq!(synced_method(&net, 3), Some(SyncMethod::Diff));
    assert!(!net
        .events(3)
        .iter()
        .any(|e| matches!(e, ServerEvent::Truncated { .. })));
    let digests = net.digests();
    assert_ne!(
        digests[1].2, digests[2].2,
        "the tail survives on server 3 only"
    );
}

#[test]
fn read_uncommitted_bug_shows_a_proposal_before_its_commit() {
    for (bug, visible) in [(None, false), (Some(Bug::ReadUncommitted), true)] {
        let mut net = match bug {
            Some(bug) => with_bug(bug),
            None => three(),
        };
        net.connect_client(1, 10).expect("session");
        net.connect_client(1, 11)
            .expect("a second session, for the read");
        // Only server 1 can make the proposal durable: no quorum, no commit.
        net.hold_disk(2, true);
        net.hold_disk(3, true);
        net.request(1, 10, 1, create("/u", b"x"));
        assert_eq!(
            net.zab(3).last_processed(),
            Zxid::new(Epoch(1), 2),
            "not committed"
        );
        let seen = data_of(net.request(1, 11, 1, get("/u")));
        assert_eq!(seen.is_some(), visible, "bug {bug:?}");
    }
}

#[test]
fn follower_expires_sessions_bug_kills_a_session_that_moved_away() {
    for (bug, expired) in [(None, false), (Some(Bug::FollowerExpiresSessions), true)] {
        let mut net = match bug {
            Some(bug) => with_bug(bug),
            None => three(),
        };
        let session = net.connect_client(1, 10).expect("session");
        net.client_input(
            1,
            crate::peer::Input::ClientPing {
                conn: crate::peer::ConnId(10),
            },
        );
        net.client_input(
            1,
            crate::peer::Input::ClientDisconnected {
                conn: crate::peer::ConnId(10),
            },
        );
        let passwd = crate::zab::clients::session_password(session);
        assert_eq!(
            net.connect_with(2, 11, session, passwd, Zxid::ZERO),
            Some(session)
        );
        for _ in 0..20 {
            net.client_input(
                2,
                crate::peer::Input::ClientPing {
                    conn: crate::peer::ConnId(11),
                },
            );
            net.advance(500);
        }
        let closed = net
            .events(3)
            .iter()
            .any(|e| matches!(e, ServerEvent::Committed { .. }))
            && net.zab(3).last_processed() > Zxid::new(Epoch(1), 1);
        assert_eq!(closed, expired, "bug {bug:?}");
    }
}

#[test]
fn commit_out_of_order_bug_applies_another_sessions_later_write_first() {
    for (bug, in_order) in [(None, true), (Some(Bug::CommitOutOfOrder), false)] {
        let mut net = match bug {
            Some(bug) => with_bug(bug),
            None => three(),
        };
        net.connect_client(3, 10).expect("session");
        net.connect_client(3, 11).expect("a second session");
        net.advance(1_000);
        let mark = net.log.len();
        net.request(3, 10, 1, create("/a", b"x"));
        net.request(3, 11, 1, create("/a/b", b"y"));
        net.advance(1_000);
        let commits: Vec<Zxid> = net.log[mark..]
            .iter()
            .filter(|r| r.server == ServerId(1))
            .filter_map(|r| match r.output {
                Output::Event(ServerEvent::Committed { zxid, .. }) => Some(zxid),
                _ => None,
            })
            .collect();
        assert_eq!(
            commits.len(),
            2,
            "bug {bug:?}: both writes applied on server 1"
        );
        assert_eq!(
            commits[0] < commits[1],
            in_order,
            "bug {bug:?}: {commits:?}"
        );
        let digests = net.digests();
        assert_eq!(
            digests[0].2 == digests[2].2,
            in_order,
            "bug {bug:?}: /a/b applied before /a fails on server 1 only"
        );
    }
}
