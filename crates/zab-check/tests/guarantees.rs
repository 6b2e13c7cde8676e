//! Hand-made histories for the client-visible guarantees: linearizable ones pass, each kind
//! of violation is named correctly. (Replica invariants: `replica_invariants.rs`.)

mod common;

use common::*;
use zab_check::history::{FaultRecord, Outcome, WatchRecord};
use zab_check::lin::Budget;
use zab_check::{check_history, CheckOptions, Property, Status, Verdict};
use zab_core::error::ErrorCode;
use zab_core::ids::{Millis, SessionId, Zxid};
use zab_core::peer::ServerEvent;
use zab_core::request::{CreateMode, EventType, KeeperState, Request, Response, WatchEvent};

#[test]
fn correct_history_passes_every_property() {
    let report = correct_run().check();
    assert_eq!(report.verdict(), Verdict::Ok, "{:#?}", report.violations);
    assert_eq!(
        report.status(Property::LinearizableWrites),
        Some(&Status::Holds)
    );
    assert_eq!(
        report.status(Property::NoAckedWriteLost),
        Some(&Status::Holds)
    );
}

#[test]
fn stale_read_is_named_consistent_reads() {
    let mut b = correct_run();
    // Answered from zxid 3 (which includes "c"), but returns "b" as of zxid 2.
    b.op(4, 2, 30, 31, get("/k"), got("b", 1, z(1), z(2), z(3)));
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::ConsistentReads],
        "{:#?}",
        report.violations
    );
    assert_eq!(
        report.violations[0].ops,
        vec![2, 5],
        "the newer write and the stale read"
    );
}

#[test]
fn read_of_an_uncommitted_write_is_named_consistent_reads() {
    let mut b = correct_run();
    b.op(4, 2, 30, 31, get("/k"), got("zzz", 3, z(1), z(9), z(9)));
    let report = b.check();
    assert!(
        report.violated().contains(&Property::ConsistentReads),
        "{:#?}",
        report.violations
    );
}

#[test]
fn lost_write_is_named_no_acked_write_lost() {
    let mut b = correct_run();
    b.op(1, 1, 30, 35, set("/k", "d", -1), set_ok(3, z(1), z(4), 1));
    b.event(
        30,
        1,
        ServerEvent::Committed {
            zxid: z(4),
            txn_hash: 1,
        },
    );
    b.event(40, 1, ServerEvent::Truncated { to: z(3) });
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::NoAckedWriteLost],
        "{:#?}",
        report.violations
    );
    assert_eq!(report.violations[0].ops, vec![5]);
}

#[test]
fn acked_write_no_server_committed_is_lost() {
    let mut b = correct_run();
    b.op(1, 1, 30, 35, set("/k", "d", -1), set_ok(3, z(1), z(4), 1));
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::NoAckedWriteLost],
        "{:#?}",
        report.violations
    );
}

#[test]
fn reordered_session_writes_are_named_session_fifo() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/a", "", CreateMode::Persistent),
        created("/a", z(2)),
    );
    b.op(
        1,
        1,
        6,
        9,
        create("/b", "", CreateMode::Persistent),
        created("/b", z(1)),
    );
    b.healthy_servers(&[z(1), z(2)]);
    let report = b.check();
    assert!(
        report.violated().contains(&Property::SessionFifo),
        "{:#?}",
        report.violations
    );
    assert!(!report.violated().contains(&Property::MonotonicReads));
}

#[test]
fn time_travel_across_reconnect_is_named_monotonic_reads() {
    let mut b = correct_run();
    // Client 3 saw zxid 3 on server 3; it reconnects to server 2 which answers from zxid 1.
    b.op(3, 2, 30, 31, get("/k"), got("a", 0, z(1), z(1), z(1)));
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::MonotonicReads],
        "{:#?}",
        report.violations
    );
    assert!(report.violations[0].message.contains("reconnect"));
    assert_eq!(report.violations[0].ops, vec![4, 5]);
}

#[test]
fn read_after_sync_missing_a_write_is_named_sync_freshness() {
    let mut b = correct_run();
    // Client 4 syncs after the write at zxid 3 completed, then reads from zxid 2.
    b.op(
        4,
        1,
        30,
        31,
        Request::Sync { path: "/k".into() },
        Outcome::Ok {
            response: Response::Sync { path: "/k".into() },
            zxid: z(2),
        },
    );
    b.op(4, 1, 32, 33, get("/k"), got("b", 1, z(1), z(2), z(2)));
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::SyncFreshness],
        "{:#?}",
        report.violations
    );
    assert!(
        report.violations.iter().any(|v| v.ops == vec![2, 5, 6]),
        "write, sync and read: {:#?}",
        report.violations
    );
}

#[test]
fn watch_event_after_the_data_is_named_watch_before_data() {
    let mut b = correct_run();
    // Client 3 had a watch; it reads zxid 3's data at 22 but the event arrives at 25.
    b.history.ops[4].watch_events.push(WatchRecord {
        at: Millis(25),
        event: WatchEvent {
            event_type: EventType::NodeDataChanged,
            state: KeeperState::SyncConnected,
            path: "/k".into(),
            zxid: z(3),
        },
    });
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::WatchBeforeData],
        "{:#?}",
        report.violations
    );
    // The same event before the read is fine.
    b.history.ops[4].watch_events[0].at = Millis(21);
    b.history.ops[4].complete = Some(Millis(22));
    let fine = b.check();
    assert_eq!(fine.verdict(), Verdict::Ok, "{:#?}", fine.violations);
}

#[test]
fn double_create_is_named_linearizable_writes() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/lock", "", CreateMode::Persistent),
        created("/lock", z(1)),
    );
    b.op(
        2,
        2,
        10,
        15,
        create("/lock", "", CreateMode::Persistent),
        created("/lock", z(2)),
    );
    b.healthy_servers(&[z(1), z(2)]);
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::LinearizableWrites],
        "{:#?}",
        report.violations
    );
    assert_eq!(report.violations[0].ops, vec![0, 1]);
}

#[test]
fn conditional_sets_both_winning_is_named_linearizable_writes() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/r", "0", CreateMode::Persistent),
        created("/r", z(1)),
    );
    // Two concurrent setData with expected version 0 cannot both succeed.
    b.op(2, 1, 10, 20, set("/r", "x", 0), set_ok(1, z(1), z(2), 1));
    b.op(3, 2, 11, 21, set("/r", "y", 0), set_ok(1, z(1), z(3), 1));
    b.healthy_servers(&[z(1), z(2), z(3)]);
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::LinearizableWrites],
        "{:#?}",
        report.violations
    );
}

#[test]
fn concurrent_writes_with_unknown_outcomes_are_linearizable() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/q", "", CreateMode::Persistent),
        created("/q", z(1)),
    );
    // A sequential create that timed out may have taken the first name.
    b.op(
        2,
        1,
        10,
        30,
        create("/q/n-", "", CreateMode::PersistentSequential),
        Outcome::Unknown,
    );
    b.op(
        3,
        2,
        12,
        20,
        create("/q/n-", "", CreateMode::PersistentSequential),
        created("/q/n-0000000001", z(3)),
    );
    b.op(
        4,
        3,
        13,
        14,
        set("/q", "x", 0),
        Outcome::Failed {
            error: ErrorCode::BadVersion,
            zxid: z(2),
        },
    );
    b.healthy_servers(&[z(1), z(2), z(3)]);
    let report = b.check();
    // setData /q v0 can't fail BADVERSION: /q was never set. So the model must object…
    assert_eq!(
        report.violated(),
        vec![Property::LinearizableWrites],
        "{:#?}",
        report.violations
    );
    // …and without that op the history is fine (the unknown create took name 0).
    b.history.ops.pop();
    let fine = b.check();
    assert_eq!(fine.verdict(), Verdict::Ok, "{:#?}", fine.violations);
}

#[test]
fn vanished_ephemeral_is_named_ephemeral_lifetime() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/e", "", CreateMode::Ephemeral),
        created("/e", z(1)),
    );
    b.op(
        2,
        2,
        10,
        11,
        Request::Exists {
            path: "/e".into(),
            watch: false,
        },
        Outcome::Failed {
            error: ErrorCode::NoNode,
            zxid: z(1),
        },
    );
    b.healthy_servers(&[z(1)]);
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::EphemeralLifetime],
        "{:#?}",
        report.violations
    );
    // After the owner's session was expired by the leader, it may go.
    b.event(
        8,
        1,
        ServerEvent::RoleChanged {
            role: zab_core::peer::Role::Leading,
        },
    );
    b.event(
        9,
        1,
        ServerEvent::SessionExpired {
            session: SessionId(101),
        },
    );
    let fine = b.check();
    assert_eq!(fine.verdict(), Verdict::Ok, "{:#?}", fine.violations);
}

#[test]
fn exhausted_search_budget_is_unknown_not_ok() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/r", "0", CreateMode::Persistent),
        created("/r", z(1)),
    );
    for i in 0..12u64 {
        b.op(10 + i, 1, 10, 10, set("/r", "x", -1), Outcome::Unknown);
    }
    let options = CheckOptions {
        budget: Budget { steps: 3 },
        ..CheckOptions::default()
    };
    let report = check_history(&b.history, &options).unwrap();
    assert!(matches!(
        report.status(Property::LinearizableWrites),
        Some(Status::Unknown { .. })
    ));
    assert_eq!(report.verdict(), Verdict::Unknown);
}

#[test]
fn malformed_history_is_an_error_not_a_panic() {
    let mut b = correct_run();
    b.history.ops[1].complete = Some(Millis(1));
    assert!(check_history(&b.history, &CheckOptions::default()).is_err());
    let mut b = correct_run();
    b.history.version = 99;
    assert!(check_history(&b.history, &CheckOptions::default()).is_err());
}

#[test]
fn children_list_missing_a_created_child_is_named_consistent_reads() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/q", "", CreateMode::Persistent),
        created("/q", z(1)),
    );
    b.op(
        1,
        1,
        6,
        9,
        create("/q/a", "", CreateMode::Persistent),
        created("/q/a", z(2)),
    );
    let list = |names: &[&str], at: Zxid| Outcome::Ok {
        response: Response::GetChildren {
            children: names.iter().map(|n| n.to_string()).collect(),
            stat: None,
        },
        zxid: at,
    };
    let children = Request::GetChildren {
        path: "/q".into(),
        watch: false,
        with_stat: false,
    };
    b.op(2, 2, 10, 11, children.clone(), list(&["a"], z(2)));
    b.op(3, 3, 10, 11, children.clone(), list(&[], z(1)));
    b.healthy_servers(&[z(1), z(2)]);
    assert_eq!(
        b.check().verdict(),
        Verdict::Ok,
        "both lists match their zxids"
    );
    b.op(3, 3, 12, 13, children, list(&[], z(2)));
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::ConsistentReads],
        "{:#?}",
        report.violations
    );
    assert_eq!(report.violations[0].ops, vec![1, 4]);
}

#[test]
fn container_nodes_make_the_write_check_unknown_not_ok() {
    let mut b = Builder::new();
    b.op(
        1,
        1,
        0,
        5,
        create("/c", "", CreateMode::Container),
        created("/c", z(1)),
    );
    b.op(
        1,
        1,
        10,
        15,
        create("/c", "", CreateMode::Container),
        created("/c", z(2)),
    );
    b.healthy_servers(&[z(1), z(2)]);
    let report = b.check();
    assert!(
        matches!(
            report.status(Property::LinearizableWrites),
            Some(Status::Unknown { .. })
        ),
        "{:#?}",
        report.results
    );
    assert_eq!(report.verdict(), Verdict::Unknown);
}

#[test]
fn an_op_unanswered_long_after_the_last_fault_is_named_liveness() {
    let mut b = correct_run();
    b.history.faults.push(FaultRecord {
        at: Millis(25),
        action: "heal".into(),
        targets: vec![],
        detail: String::new(),
    });
    let options = CheckOptions {
        liveness_bound: Some(Millis(10)),
        ..CheckOptions::default()
    };
    b.op(4, 1, 30, 32, get("/k"), got("c", 2, z(1), z(3), z(3)));
    let fine = check_history(&b.history, &options).unwrap();
    assert_eq!(fine.verdict(), Verdict::Ok, "{:#?}", fine.violations);
    b.op(4, 1, 40, 40, get("/k"), Outcome::Unknown);
    b.history.ops.last_mut().unwrap().complete = None;
    b.op(5, 1, 100, 101, get("/k"), got("c", 2, z(1), z(3), z(3)));
    let report = check_history(&b.history, &options).unwrap();
    assert_eq!(
        report.violated(),
        vec![Property::Liveness],
        "{:#?}",
        report.violations
    );
    assert_eq!(report.violations[0].ops, vec![6]);
    // Without a bound, liveness is not judged.
    assert_eq!(
        b.check().status(Property::Liveness),
        Some(&Status::Skipped {
            reason: "no bound given".into()
        })
    );
}
