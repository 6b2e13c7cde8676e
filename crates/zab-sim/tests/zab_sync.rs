//! ZAB on the simulator, driven by hand: whole `Peer`s (FLE picks the leader, ZAB's own
//! timeouts notice a lost one), hand-driven clients, and the control API's faults. Each test
//! pins one of ZAB's choices — how a learner is synchronised (DIFF, TRUNC, SNAP), what commits
//! without a quorum (nothing), what a restart rebuilds, how sessions and observers behave.

mod common;

use common::hand::*;
use common::*;
use zab_core::peer::{Output, PeerMessage, PersistOp, Role, ServerEvent, SyncMethod};
use zab_core::request::{Request, Response};
use zab_core::zab::clients::session_password;
use zab_core::zab::packet::QuorumPacket;
use zab_core::{Epoch, Input, ServerId, Zxid};

#[test]
fn three_servers_establish_and_commit_writes_with_equal_digests() {
    let mut s = started::<Plain>("", 3, 0);
    let roles: Vec<Role> = (1..=3).map(|p| role(&s, p)).collect();
    assert_eq!(roles, [Role::Following, Role::Following, Role::Leading]);
    assert!(events(&s, 3).contains(&ServerEvent::LeaderEstablished { epoch: Epoch(1) }));
    assert_eq!(peer(&s, 1).current_epoch(), Epoch(1));
    let session = connect(&mut s, 1, 10).expect("session created through the leader");
    assert_eq!(session.server(), id(1));
    for i in 0..5 {
        let reply = request(&mut s, 1, 10, i + 1, create(&format!("/n{i}"), b"v"));
        assert!(
            matches!(reply, Some(Ok(_))),
            "write {i} answered: {reply:?}"
        );
    }
    assert_eq!(
        data_of(request(&mut s, 2, 10, 99, get("/n0"))),
        None,
        "conn 10 is on server 1 only"
    );
    assert_eq!(
        data_of(request(&mut s, 1, 10, 100, get("/n4"))),
        Some(b"v".to_vec())
    );
    run_until_agreed(&mut s, 1_000);
    assert_eq!(peer(&s, 3).zab().last_processed(), zxid(1, 6));
    for p in 1..=3 {
        assert_eq!(
            committed(&s, p),
            (1..=6).map(|c| zxid(1, c)).collect::<Vec<_>>(),
            "server {p}"
        );
    }
}

#[test]
fn follower_reconnecting_after_missed_commits_catches_up_by_diff() {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    s.partition_now(&[&[id(1)]]).unwrap();
    for i in 0..3 {
        assert!(request(&mut s, 3, 10, i + 1, create(&format!("/m{i}"), b"")).is_some());
    }
    // Server 1 notices the silence and gives up on the leader.
    run_until_true(&mut s, 10_000, |s| role(s, 1) == Role::Looking).expect("1 gives up");
    s.heal_now().unwrap();
    run_until_serving(&mut s, 30_000);
    assert_led_by(&s, 3);
    assert_eq!(synced_method(&s, 1), Some(SyncMethod::Diff));
    run_until_agreed(&mut s, 1_000);
}

#[test]
fn restarted_old_leader_with_uncommitted_tail_is_truncated() {
    let mut s = started::<Plain>("", 3, 0);
    let tail = lose_a_tail_and_crash(&mut s, 3, 10);
    assert_eq!(tail, zxid(1, 2));
    run_until_serving(&mut s, 30_000);
    assert_led_by(&s, 2);
    s.restart_now(id(3)).unwrap();
    run_until_serving(&mut s, 30_000);
    assert_led_by(&s, 2);
    assert_eq!(synced_method(&s, 3), Some(SyncMethod::Trunc));
    assert!(events(&s, 3).contains(&ServerEvent::Truncated { to: zxid(1, 1) }));
    assert!(!s.durable_log(id(3)).contains(&tail));
    run_until_agreed(&mut s, 1_000);
}

#[test]
fn empty_server_joining_late_gets_a_snapshot() {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    s.crash_now(id(1)).unwrap();
    // A brand-new machine.
    s.wipe_disk(id(1)).unwrap();
    for i in 0..4 {
        assert!(request(&mut s, 3, 10, i + 1, create(&format!("/s{i}"), b"d")).is_some());
    }
    s.restart_now(id(1)).unwrap();
    run_until_serving(&mut s, 30_000);
    assert_led_by(&s, 3);
    assert_eq!(synced_method(&s, 1), Some(SyncMethod::Snap));
    run_until_agreed(&mut s, 1_000);
    // The SNAP state is made durable (a snapshot) before the NEWLEADER ack.
    assert!(!s.snapshots_on_disk(id(1)).is_empty());
    let steps: Vec<&str> = log(&s, 1)
        .iter()
        .filter_map(|e| match e {
            Entry::Out(
                _,
                Output::Persist {
                    op: PersistOp::Snapshot { .. },
                    ..
                },
            ) => Some("snapshot"),
            Entry::Out(
                _,
                Output::Send {
                    msg: PeerMessage::Quorum(QuorumPacket::Ack { zxid }),
                    ..
                },
            ) if zxid.counter() == 0 => Some("newleader-ack"),
            _ => None,
        })
        .collect();
    assert_eq!(steps.first(), Some(&"snapshot"), "{steps:?}");
    assert!(steps.contains(&"newleader-ack"), "{steps:?}");
}

#[test]
fn observer_follows_and_serves_reads_but_never_counts_toward_commit() {
    let mut s = started::<Plain>("", 2, 1);
    assert_eq!(role(&s, 3), Role::Observing);
    connect(&mut s, 3, 10).expect("session via observer");
    assert!(request(&mut s, 3, 10, 1, create("/o", b"1")).is_some());
    assert_eq!(
        data_of(request(&mut s, 3, 10, 2, get("/o"))),
        Some(b"1".to_vec())
    );
    assert!(!sent(&s, 3)
        .iter()
        .any(|(_, p)| matches!(p, QuorumPacket::Ack { zxid } if zxid.counter() > 0)));
    // Without server 1 the leader and the observer are no quorum: nothing commits.
    s.partition_now(&[&[id(1)]]).unwrap();
    let before = peer(&s, 2).zab().last_processed();
    assert_eq!(
        request_within(&mut s, 3, 10, 3, create("/p", b""), 300),
        None
    );
    assert_eq!(peer(&s, 2).zab().last_processed(), before);
}

#[test]
fn leader_that_loses_its_quorum_stops_committing_and_steps_down() {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    s.partition_now(&[&[id(3)]]).unwrap();
    let before = peer(&s, 3).zab().last_processed();
    assert_eq!(
        request_within(&mut s, 3, 10, 1, create("/q", b""), 300),
        None
    );
    assert_eq!(
        peer(&s, 3).zab().last_processed(),
        before,
        "no commit without a quorum"
    );
    run_ms(&mut s, 2_000);
    assert_eq!(role(&s, 3), Role::Looking);
    assert_eq!(
        events(&s, 3).last(),
        Some(&ServerEvent::RoleChanged {
            role: Role::Looking
        }),
        "it stepped down and, alone, stays LOOKING"
    );
}

#[test]
fn session_expiry_removes_ephemerals_on_every_replica() {
    let mut s = started::<Plain>("", 3, 0);
    let session = connect(&mut s, 1, 10).expect("session");
    assert!(request(&mut s, 1, 10, 1, ephemeral("/e")).is_some());
    run_until_true(&mut s, 1_000, |s| {
        (1..=3).all(|p| peer(s, p).zab().last_processed() == zxid(1, 2))
    })
    .expect("every replica applied the ephemeral");
    // The client keeps pinging for a while: the session stays.
    for _ in 0..10 {
        ping(&mut s, 1, 10);
        run_ms(&mut s, 1_000);
    }
    let expired = |s: &Hand| {
        events(s, 3)
            .iter()
            .any(|e| matches!(e, ServerEvent::SessionExpired { .. }))
    };
    assert!(!expired(&s));
    // Then it goes silent.
    disconnect(&mut s, 1, 10);
    run_ms(&mut s, 10_000);
    assert!(events(&s, 3).contains(&ServerEvent::SessionExpired { session }));
    connect(&mut s, 2, 20).expect("another session");
    assert_eq!(data_of(request(&mut s, 2, 20, 1, get("/e"))), None);
    run_until_agreed(&mut s, 1_000);
}

#[test]
fn a_restart_rebuilds_the_same_tree_from_snapshot_and_log() {
    let mut s = started::<SnapEvery3>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    for i in 0..7 {
        assert!(request(&mut s, 3, 10, i + 1, create(&format!("/r{i}"), b"x")).is_some());
    }
    run_until_agreed(&mut s, 1_000);
    for p in 1..=3 {
        assert!(
            !s.snapshots_on_disk(id(p)).is_empty(),
            "server {p} snapshotted"
        );
    }
    let before = digests(&s);
    for p in 1..=3 {
        s.crash_now(id(p)).unwrap();
        s.restart_now(id(p)).unwrap();
    }
    assert_eq!(digests(&s), before, "rebuilt from disk alone");
    run_until_serving(&mut s, 30_000);
    assert!(established(&s).contains(&(id(3), Epoch(2))));
    run_until_agreed(&mut s, 1_000);
}

#[test]
fn client_with_newer_zxid_than_server_is_refused() {
    let mut s = started::<Plain>("", 3, 0);
    let session = connect(&mut s, 3, 10).expect("session");
    let passwd = session_password(session);
    assert_eq!(
        connect_with(&mut s, 1, 11, session, passwd.clone(), zxid(9, 1)),
        None
    );
    assert_eq!(
        connect_with(&mut s, 1, 12, session, passwd, Zxid::ZERO),
        Some(session),
        "revalidated"
    );
}

#[test]
fn sync_on_a_follower_answers_after_the_leader_point() {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 1, 10).expect("session");
    assert!(request(&mut s, 1, 10, 1, create("/s", b"")).is_some());
    let reply = request(&mut s, 1, 10, 2, Request::Sync { path: "/s".into() });
    assert!(
        matches!(reply, Some(Ok(Response::Sync { .. }))),
        "{reply:?}"
    );
}

#[test]
fn follower_far_behind_the_committed_window_is_diffed_from_the_on_disk_log() {
    let mut s = started::<CommitLogOf2>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    s.partition_now(&[&[id(1)]]).unwrap();
    for i in 0..6 {
        assert!(request(&mut s, 3, 10, i + 1, create(&format!("/d{i}"), b"")).is_some());
    }
    run_until_true(&mut s, 10_000, |s| role(s, 1) == Role::Looking).expect("1 gives up");
    let mark = log(&s, 3).len();
    s.heal_now().unwrap();
    run_until_serving(&mut s, 30_000);
    assert_eq!(synced_method(&s, 1), Some(SyncMethod::Diff));
    let proposals = sent_since(&s, 3, mark)
        .iter()
        .filter(|(to, p)| *to == id(1) && matches!(p, QuorumPacket::Proposal(_)))
        .count();
    assert_eq!(proposals, 6, "every missed txn, more than the window holds");
    run_until_agreed(&mut s, 1_000);
}

/// Every server's `Committed` events, over all its lifetimes, must be views of one history:
/// the same zxid always carries the same transaction.
fn assert_one_history<T: Tweak>(s: &Hand<T>) {
    let mut seen: std::collections::BTreeMap<Zxid, u64> = Default::default();
    for r in s.server_events() {
        if let ServerEvent::Committed { zxid, txn_hash } = r.event {
            let first = *seen.entry(zxid).or_insert(txn_hash);
            assert_eq!(first, txn_hash, "two transactions committed as {zxid}");
        }
    }
}

fn the_leader<T: Tweak>(s: &Hand<T>) -> u64 {
    let leaders: Vec<ServerId> = running(s)
        .into_iter()
        .filter(|p| role(s, p.0) == Role::Leading)
        .collect();
    assert_eq!(leaders.len(), 1, "one leader: {leaders:?}");
    leaders[0].0
}

#[test]
fn five_servers_survive_a_sequence_of_leader_crashes_with_one_history() {
    let mut s = started::<Plain>("", 5, 0);
    let mut xid = 0;
    let mut last_epoch = Epoch(0);
    let mut acked = Vec::new();
    for round in 0..5u64 {
        run_until_serving(&mut s, 60_000);
        let leader = the_leader(&s);
        let epoch = peer(&s, leader).current_epoch();
        assert!(
            established(&s).contains(&(id(leader), epoch)),
            "round {round}: leader {leader} established {epoch:?}"
        );
        assert!(epoch > last_epoch, "round {round}: a new epoch");
        last_epoch = epoch;
        let client_server = if leader == 1 { 2 } else { 1 };
        let n = 100 + round;
        connect(&mut s, client_server, n).expect("session");
        for i in 0..3 {
            xid += 1;
            let path = format!("/r{round}-{i}");
            let reply = request(&mut s, client_server, n, xid, create(&path, b"v"));
            assert!(reply.is_some(), "round {round} write {i}");
            acked.push(path);
        }
        // The leader logs one more proposal nobody sees, then crashes and comes back.
        lose_a_tail_and_crash(&mut s, leader, n + 50);
        s.restart_now(id(leader)).unwrap();
    }
    run_until_serving(&mut s, 60_000);
    run_until_agreed(&mut s, 1_000);
    assert_one_history(&s);
    assert!(peer(&s, 1).current_epoch() > last_epoch);
    connect(&mut s, 1, 1).expect("a reader");
    for (i, path) in acked.iter().enumerate() {
        assert_eq!(
            data_of(request(&mut s, 1, 1, i as i32 + 1, get(path))),
            Some(b"v".to_vec()),
            "acknowledged {path} survived"
        );
    }
}

#[test]
fn leader_abandons_discovery_when_a_follower_is_ahead() {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    // Server 1's ACKEPOCH will wait for its acceptedEpoch write, so the next leader is still
    // in discovery when the old leader comes back.
    s.hold_disk(id(1)).unwrap();
    s.partition_now(&[&[id(3)]]).unwrap();
    assert_eq!(
        request_within(&mut s, 3, 10, 1, create("/tail", b""), 300),
        None
    );
    run_until_true(&mut s, 10_000, |s| {
        s.durable_log(id(3)).contains(&zxid(1, 2)) && role(s, 2) == Role::Leading
    })
    .expect("3's tail is durable and 2 leads the others");
    assert!(!peer(&s, 2).zab().is_serving(), "2 is still in discovery");
    s.crash_now(id(3)).unwrap();
    s.heal_now().unwrap();
    s.restart_now(id(3)).unwrap();
    run_until_true(&mut s, 5_000, |s| role(s, 2) == Role::Looking).expect("leader 2 gives up");
    // It gave up on reading 3's ACKEPOCH, which shows a newer history than its own.
    let log2 = log(&s, 2);
    let ackepoch = log2
        .iter()
        .rposition(|e| {
            matches!(e, Entry::In(_, Input::Message { from, msg: PeerMessage::Quorum(QuorumPacket::AckEpoch { last_zxid, .. }) })
                if *from == id(3) && *last_zxid == zxid(1, 2))
        })
        .expect("3's ACKEPOCH reached leader 2");
    let reaction: Vec<&Entry> = log2[ackepoch + 1..]
        .iter()
        .take_while(|e| matches!(e, Entry::Out(..)))
        .collect();
    assert!(
        reaction.iter().any(|e| matches!(
            e,
            Entry::Out(
                _,
                Output::Event(ServerEvent::RoleChanged {
                    role: Role::Looking
                })
            )
        )),
        "leader 2 went LOOKING on that ACKEPOCH: {reaction:?}"
    );
    assert!(!established(&s).iter().any(|(p, _)| *p == id(2)));
    s.release_disk(id(1)).unwrap();
}
