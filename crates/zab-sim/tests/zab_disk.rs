//! ZAB and the disk, on the simulator: an ACK waits for the fsync that covers it, a crash loses
//! what was never durable, and a restart reads back only what survived — refusing a log with a
//! damaged record, stopping at a torn last write.

mod common;

use common::hand::*;
use common::*;
use zab_core::peer::{Input, PeerMessage, ServerEvent};
use zab_core::zab::packet::QuorumPacket;
use zab_sim::scenario::{DiskFaultKind, FaultAction, Target};
use zab_sim::NodeState;

#[test]
fn follower_acks_only_after_its_fsync_completes_and_a_crash_before_it_loses_the_txn() {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    run_until_durable(&mut s, 1, zxid(1, 1));
    s.hold_disk(id(1)).unwrap();
    let mark = log(&s, 1).len();
    // The write still commits with server 2's ack.
    assert!(request(&mut s, 3, 10, 1, create("/a", b"x")).is_some());
    let z = zxid(1, 2);
    assert_eq!(peer(&s, 3).zab().last_processed(), z);
    let proposed = log(&s, 1)[mark..].iter().any(|e| {
        matches!(e, Entry::In(_, Input::Message { msg: PeerMessage::Quorum(QuorumPacket::Proposal(txn)), .. }) if txn.zxid() == z)
    });
    assert!(proposed, "server 1 got the proposal");
    assert!(
        !sent_since(&s, 1, mark)
            .iter()
            .any(|(_, p)| *p == QuorumPacket::Ack { zxid: z }),
        "no ACK while the fsync is pending"
    );
    s.crash_now(id(1)).unwrap();
    assert!(!s.durable_log(id(1)).contains(&z));
    s.restart_now(id(1)).unwrap();
    assert!(
        peer(&s, 1).last_logged_zxid() < z,
        "the unsynced append is gone"
    );
}

/// Three servers, a session and `writes` creates, all applied everywhere; then server 1 is
/// crashed.
fn writes_then_crash_one(writes: i32) -> Hand {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    for i in 0..writes {
        assert!(request(&mut s, 3, 10, i + 1, create(&format!("/c{i}"), b"x")).is_some());
    }
    run_until_agreed(&mut s, 1_000);
    run_until_durable(&mut s, 1, zxid(1, writes as u32 + 1));
    s.crash_now(id(1)).unwrap();
    s
}

/// Restart server 1 and expect it to refuse its disk: it halts on a failed record checksum.
fn assert_refuses_its_log(s: &mut Hand) {
    s.restart_now(id(1)).unwrap();
    assert_eq!(s.state(id(1)), Some(NodeState::Crashed), "it exited");
    let halted = events(s, 1).into_iter().rev().find_map(|e| match e {
        ServerEvent::Halted { reason } => Some(reason),
        _ => None,
    });
    let reason = halted.expect("a Halted event");
    assert!(reason.contains("failed its checksum"), "{reason}");
}

#[test]
fn a_damaged_last_log_record_stops_the_server_from_starting() {
    let mut s = writes_then_crash_one(1);
    assert_eq!(s.durable_log(id(1)), [zxid(1, 1), zxid(1, 2)]);
    s.corrupt_log_record(id(1), zxid(1, 2)).unwrap();
    assert_refuses_its_log(&mut s);
}

#[test]
fn a_damaged_record_inside_the_log_stops_the_server_from_starting() {
    let mut s = writes_then_crash_one(3);
    assert_eq!(s.durable_log(id(1)).len(), 4);
    s.corrupt_log_record(id(1), zxid(1, 2)).unwrap();
    assert_refuses_its_log(&mut s);
}

#[test]
fn a_torn_last_write_ends_the_log() {
    let mut s = started::<Plain>("", 3, 0);
    connect(&mut s, 3, 10).expect("session");
    run_until_durable(&mut s, 1, zxid(1, 1));
    for kind in [DiskFaultKind::LyingFsync, DiskFaultKind::TornWrite] {
        s.apply_now(&FaultAction::DiskFault {
            targets: vec![Target::Id(id(1))],
            kind,
            count: 1,
        })
        .unwrap();
    }
    assert!(request(&mut s, 3, 10, 1, create("/c", b"x")).is_some());
    run_until_true(&mut s, 1_000, |s| {
        peer(s, 1).zab().last_processed() == zxid(1, 2)
    })
    .expect("server 1 logged and applied the write");
    assert!(
        !s.durable_log(id(1)).contains(&zxid(1, 2)),
        "its fsync lied"
    );
    // The power goes: half of the unsynced record reaches the platter.
    s.power_off_now(id(1)).unwrap();
    s.restart_now(id(1)).unwrap();
    assert_eq!(peer(&s, 1).last_logged_zxid(), zxid(1, 1));
    run_until_serving(&mut s, 30_000);
    run_until_agreed(&mut s, 1_000);
}
