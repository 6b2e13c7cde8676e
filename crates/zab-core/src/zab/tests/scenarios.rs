//! Whole-ensemble behaviours, each driven by hand through the router.

use super::harness::*;
use crate::ids::{Epoch, ServerId, Zxid};
use crate::peer::{Output, PeerMessage, Role, ServerEvent, SyncMethod};
use crate::request::Request;
use crate::zab::packet::QuorumPacket;
use std::collections::BTreeSet;

pub(super) fn three() -> Net {
    let mut net = Net::new(ids(1..=3), BTreeSet::new(), |_| {});
    net.elect(3);
    net
}

pub(super) fn assert_digests_agree(net: &Net) {
    let digests = net.digests();
    let first = digests[0];
    for d in &digests {
        assert_eq!(
            (d.1, d.2),
            (first.1, first.2),
            "replicas differ: {digests:?}"
        );
    }
}

pub(super) fn synced_method(net: &Net, server: u64) -> Option<SyncMethod> {
    net.events(server).iter().rev().find_map(|e| match e {
        ServerEvent::Synced { method, .. } => Some(*method),
        _ => None,
    })
}

#[test]
fn three_servers_establish_and_commit_writes_with_equal_digests() {
    let mut net = three();
    assert_eq!(
        net.roles(),
        vec![Role::Following, Role::Following, Role::Leading]
    );
    assert!(net
        .events(3)
        .contains(&ServerEvent::LeaderEstablished { epoch: Epoch(1) }));
    assert_eq!(net.zab(1).current_epoch(), Epoch(1));
    let session = net
        .connect_client(1, 10)
        .expect("session created through the leader");
    assert_eq!(session.server(), ServerId(1));
    for i in 0..5 {
        let reply = net.request(1, 10, i + 1, create(&format!("/n{i}"), b"v"));
        assert!(
            matches!(reply, Some(Ok(_))),
            "write {i} answered: {reply:?}"
        );
    }
    assert_eq!(
        data_of(net.request(2, 10, 99, get("/n0"))),
        None,
        "conn 10 is on server 1 only"
    );
    assert_eq!(
        data_of(net.request(1, 10, 100, get("/n4"))),
        Some(b"v".to_vec())
    );
    assert_digests_agree(&net);
    assert_eq!(net.zab(3).last_processed(), Zxid::new(Epoch(1), 6));
    for id in 1..=3 {
        let committed: Vec<Zxid> = net
            .events(id)
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Committed { zxid, .. } => Some(*zxid),
                _ => None,
            })
            .collect();
        assert_eq!(
            committed,
            (1..=6).map(|c| Zxid::new(Epoch(1), c)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn follower_acks_only_after_its_fsync_completes_and_a_crash_before_it_loses_the_txn() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    net.hold_disk(1, true);
    net.request(3, 10, 1, create("/a", b"x"));
    let zxid = Zxid::new(Epoch(1), 2);
    let acked = |net: &Net| {
        net.sent(1)
            .iter()
            .any(|(_, p)| *p == QuorumPacket::Ack { zxid })
    };
    assert!(!acked(&net), "no ACK while the fsync is pending");
    // The write still commits with server 2's ack.
    assert_eq!(net.zab(3).last_processed(), zxid);
    net.crash(1);
    assert!(!net.nodes[&ServerId(1)].disk.durable_zxids().contains(&zxid));
    net.restart(1);
    assert!(
        net.zab(1).last_logged_zxid() < zxid,
        "the unsynced append is gone"
    );
}

#[test]
fn follower_reconnecting_after_missed_commits_catches_up_by_diff() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    net.partition(1, &[2, 3]);
    for i in 0..3 {
        assert!(net
            .request(3, 10, i + 1, create(&format!("/m{i}"), b""))
            .is_some());
    }
    // Server 1 notices the silence and gives up on the leader.
    net.advance(2_000);
    assert!(net.take_abandon(1).is_some());
    net.heal();
    net.join(1, 3);
    net.settle();
    assert_eq!(synced_method(&net, 1), Some(SyncMethod::Diff));
    assert_digests_agree(&net);
}

#[test]
fn restarted_old_leader_with_uncommitted_tail_is_truncated() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    // The leader logs a proposal nobody else sees, then crashes.
    net.partition(3, &[1, 2]);
    net.request(3, 10, 1, create("/lost", b""));
    let tail = Zxid::new(Epoch(1), 2);
    assert!(net.nodes[&ServerId(3)].disk.durable_zxids().contains(&tail));
    net.crash(3);
    net.heal();
    net.elect(2);
    net.restart(3);
    net.join(3, 2);
    net.settle();
    assert_eq!(synced_method(&net, 3), Some(SyncMethod::Trunc));
    assert!(net.events(3).contains(&ServerEvent::Truncated {
        to: Zxid::new(Epoch(1), 1)
    }));
    assert!(!net.nodes[&ServerId(3)].disk.durable_zxids().contains(&tail));
    assert_digests_agree(&net);
}

#[test]
fn empty_server_joining_late_gets_a_snapshot() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    net.crash(1);
    // Wipe server 1's disk: a brand-new machine.
    net.nodes.get_mut(&ServerId(1)).unwrap().disk = MemDisk::default();
    for i in 0..4 {
        net.request(3, 10, i + 1, create(&format!("/s{i}"), b"d"));
    }
    net.restart(1);
    net.join(1, 3);
    net.settle();
    assert_eq!(synced_method(&net, 1), Some(SyncMethod::Snap));
    assert_digests_agree(&net);
    // The SNAP state is made durable (a snapshot) before the NEWLEADER ack.
    assert!(!net.nodes[&ServerId(1)].disk.snapshots.is_empty());
}

#[test]
fn observer_follows_and_serves_reads_but_never_counts_toward_commit() {
    let mut net = Net::new(ids(1..=2), [ServerId(3)].into_iter().collect(), |_| {});
    net.elect(2);
    assert_eq!(net.zab(3).role(), Role::Observing);
    net.connect_client(3, 10).expect("session via observer");
    assert!(net.request(3, 10, 1, create("/o", b"1")).is_some());
    assert_eq!(
        data_of(net.request(3, 10, 2, get("/o"))),
        Some(b"1".to_vec())
    );
    assert!(!net
        .sent(3)
        .iter()
        .any(|(_, p)| matches!(p, QuorumPacket::Ack { zxid } if zxid.counter() > 0)));
    // Without server 1 the leader and the observer are no quorum: nothing commits.
    net.partition(1, &[2, 3]);
    let before = net.zab(2).last_processed();
    assert_eq!(net.request(3, 10, 3, create("/p", b"")), None);
    assert_eq!(net.zab(2).last_processed(), before);
}

#[test]
fn leader_that_loses_its_quorum_stops_committing_and_steps_down() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    net.partition(3, &[1, 2]);
    let before = net.zab(3).last_processed();
    assert_eq!(net.request(3, 10, 1, create("/q", b"")), None);
    assert_eq!(
        net.zab(3).last_processed(),
        before,
        "no commit without a quorum"
    );
    net.advance(2_000);
    assert!(net.take_abandon(3).is_some());
    assert_eq!(net.zab(3).role(), Role::Looking);
}

#[test]
fn session_expiry_removes_ephemerals_on_every_replica() {
    let mut net = three();
    let session = net.connect_client(1, 10).expect("session");
    assert!(net.request(1, 10, 1, ephemeral("/e")).is_some());
    for id in 1..=3 {
        assert_eq!(net.zab(id).last_processed(), Zxid::new(Epoch(1), 2));
    }
    // The client keeps pinging for a while: the session stays.
    for _ in 0..10 {
        net.client_input(
            1,
            crate::peer::Input::ClientPing {
                conn: crate::peer::ConnId(10),
            },
        );
        net.advance(1_000);
    }
    assert!(net
        .events(3)
        .iter()
        .all(|e| !matches!(e, ServerEvent::SessionExpired { .. })));
    // Then it goes silent.
    net.client_input(
        1,
        crate::peer::Input::ClientDisconnected {
            conn: crate::peer::ConnId(10),
        },
    );
    net.advance(10_000);
    assert!(net
        .events(3)
        .contains(&ServerEvent::SessionExpired { session }));
    net.connect_client(2, 20).expect("another session");
    assert_eq!(data_of(net.request(2, 20, 1, get("/e"))), None);
    assert_digests_agree(&net);
}

#[test]
fn a_restart_rebuilds_the_same_tree_from_snapshot_and_log() {
    let mut net = Net::new(ids(1..=3), BTreeSet::new(), |c| c.snap_count = 3);
    net.elect(3);
    net.connect_client(3, 10).expect("session");
    for i in 0..7 {
        net.request(3, 10, i + 1, create(&format!("/r{i}"), b"x"));
    }
    let before = net.digests();
    for id in 1..=3 {
        net.crash(id);
        net.restart(id);
    }
    assert_eq!(net.digests(), before);
    net.elect(2);
    assert!(net
        .events(2)
        .contains(&ServerEvent::LeaderEstablished { epoch: Epoch(2) }));
    assert_digests_agree(&net);
}

#[test]
fn client_with_newer_zxid_than_server_is_refused() {
    let mut net = three();
    let session = net.connect_client(3, 10).expect("session");
    let passwd = crate::zab::clients::session_password(session);
    assert_eq!(
        net.connect_with(1, 11, session, passwd.clone(), Zxid::new(Epoch(9), 1)),
        None
    );
    assert_eq!(
        net.connect_with(1, 12, session, passwd, Zxid::ZERO),
        Some(session),
        "revalidated"
    );
}

#[test]
fn sync_on_a_follower_answers_after_the_leader_point() {
    let mut net = three();
    net.connect_client(1, 10).expect("session");
    net.request(1, 10, 1, create("/s", b""));
    let reply = net.request(1, 10, 2, Request::Sync { path: "/s".into() });
    assert!(matches!(
        reply,
        Some(Ok(crate::request::Response::Sync { .. }))
    ));
}

#[test]
fn follower_far_behind_the_committed_window_is_diffed_from_the_on_disk_log() {
    let mut net = Net::new(ids(1..=3), BTreeSet::new(), |c| c.commit_log_count = 2);
    net.elect(3);
    net.connect_client(3, 10).expect("session");
    net.partition(1, &[2, 3]);
    for i in 0..6 {
        net.request(3, 10, i + 1, create(&format!("/d{i}"), b""));
    }
    net.advance(2_000);
    net.take_abandon(1);
    net.heal();
    let mark = net.log.len();
    net.join(1, 3);
    net.settle();
    assert_eq!(synced_method(&net, 1), Some(SyncMethod::Diff));
    let proposals = net.log[mark..]
        .iter()
        .filter(|r| r.server == ServerId(3))
        .filter(|r| matches!(&r.output, Output::Send { to, msg: PeerMessage::Quorum(QuorumPacket::Proposal(_)) } if *to == ServerId(1)))
        .count();
    assert_eq!(proposals, 6, "every missed txn, more than the window holds");
    assert_digests_agree(&net);
}

/// Every server's `Committed` events, per process lifetime, must be a prefix-consistent view of
/// one history: the same zxid always carries the same transaction.
fn assert_one_history(net: &Net) {
    let mut seen: std::collections::BTreeMap<Zxid, u64> = Default::default();
    for id in net.nodes.keys() {
        for event in net.events(id.0) {
            if let ServerEvent::Committed { zxid, txn_hash } = event {
                let first = *seen.entry(zxid).or_insert(txn_hash);
                assert_eq!(first, txn_hash, "two transactions committed as {zxid}");
            }
        }
    }
}

#[test]
fn five_servers_survive_a_sequence_of_leader_crashes_with_one_history() {
    let mut net = Net::new(ids(1..=5), BTreeSet::new(), |_| {});
    let mut xid = 0;
    for (round, leader) in [5u64, 4, 3, 5, 2].into_iter().enumerate() {
        net.elect(leader);
        assert!(
            net.events(leader)
                .iter()
                .any(|e| matches!(e, ServerEvent::LeaderEstablished { epoch } if epoch.0 == round as u32 + 1)),
            "round {round}: leader {leader} established"
        );
        let client_server = if leader == 1 { 2 } else { 1 };
        let conn = 100 + round as u64;
        net.connect_client(client_server, conn).expect("session");
        for i in 0..3 {
            xid += 1;
            let reply = net.request(
                client_server,
                conn,
                xid,
                create(&format!("/r{round}-{i}"), b"v"),
            );
            assert!(reply.is_some(), "round {round} write {i}");
        }
        // The leader logs one more proposal nobody sees, then crashes and comes back.
        net.connect_client(leader, conn + 50)
            .expect("session on the leader");
        net.partition(leader, &[1, 2, 3, 4, 5]);
        net.request(leader, conn + 50, 1, create(&format!("/lost{round}"), b""));
        net.crash(leader);
        net.heal();
        net.restart(leader);
        for id in 1..=5 {
            if let Some(zab) = net
                .nodes
                .get_mut(&ServerId(id))
                .and_then(|n| n.zab.as_mut())
            {
                zab.stop(net.now);
            }
        }
        net.settle();
    }
    // Server 2 crashed last holding an uncommitted tail: it has the newest zxid, so FLE would
    // pick it; its tail becomes part of the history.
    net.elect(2);
    net.settle();
    assert_digests_agree(&net);
    assert_one_history(&net);
    assert_eq!(net.zab(1).last_processed(), Zxid::new(Epoch(5), 6));
}

#[test]
fn leader_abandons_discovery_when_a_follower_is_ahead() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    net.partition(3, &[1, 2]);
    net.request(3, 10, 1, create("/tail", b""));
    net.crash(3);
    net.heal();
    net.restart(3);
    // Server 3's ACKEPOCH arrives first (2's waits for its acceptedEpoch write) and shows a
    // newer history than leader 1's.
    net.hold_disk(2, true);
    net.elect_in_order(1, &[3, 2]);
    let reason = net.take_abandon(1).expect("leader 1 gave up");
    assert!(reason.contains("ahead"), "{reason}");
    assert_eq!(net.zab(1).role(), Role::Looking);
}

#[test]
fn a_damaged_last_log_record_stops_the_server_from_starting() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    net.request(3, 10, 1, create("/c", b"x"));
    net.crash(1);
    let node = net.nodes.get_mut(&ServerId(1)).unwrap();
    let record = &mut node.disk.durable.last_mut().unwrap().1;
    let middle = record.len() / 2;
    record[middle] ^= 0x5a;
    let result = crate::zab::Zab::recover(node.config.clone(), &node.disk.recovered());
    assert!(matches!(
        result,
        Err(crate::zab::database::RecoveryError::CorruptLog { .. })
    ));
}

#[test]
fn a_torn_last_write_ends_the_log() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    net.request(3, 10, 1, create("/c", b"x"));
    net.crash(1);
    let node = net.nodes.get_mut(&ServerId(1)).unwrap();
    let record = &mut node.disk.durable.last_mut().unwrap().1;
    let kept = record.len() / 2;
    record.truncate(kept);
    net.restart(1);
    assert_eq!(net.zab(1).last_logged_zxid(), Zxid::new(Epoch(1), 1));
    net.join(1, 3);
    net.settle();
    assert_digests_agree(&net);
}

#[test]
fn a_damaged_record_inside_the_log_stops_the_server_from_starting() {
    let mut net = three();
    net.connect_client(3, 10).expect("session");
    for i in 0..3 {
        net.request(3, 10, i + 1, create(&format!("/c{i}"), b"x"));
    }
    net.crash(1);
    let node = net.nodes.get_mut(&ServerId(1)).unwrap();
    let record = &mut node.disk.durable[1].1;
    let middle = record.len() / 2;
    record[middle] ^= 0x5a;
    let result = crate::zab::Zab::recover(node.config.clone(), &node.disk.recovered());
    assert!(matches!(
        result,
        Err(crate::zab::database::RecoveryError::CorruptLog { .. })
    ));
}
