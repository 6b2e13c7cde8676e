//! Hand-made histories for the replica invariants (single leader per epoch, committed
//! prefixes agree, log zxids increase, convergence): each violation is named correctly.

mod common;

use common::*;
use zab_check::history::{FaultRecord, ServerRecord};
use zab_check::{Property, Verdict};
use zab_core::ids::{Epoch, Millis, ServerId};
use zab_core::peer::ServerEvent;

#[test]
fn two_leaders_in_one_epoch_is_named_single_leader_per_epoch() {
    let mut b = correct_run();
    b.event(50, 2, ServerEvent::LeaderEstablished { epoch: Epoch(1) });
    let report = b.check();
    assert_eq!(report.violated(), vec![Property::SingleLeaderPerEpoch]);
}

#[test]
fn two_acked_epoch_quorums_for_one_epoch_are_named_single_leader_per_epoch() {
    use zab_core::peer::Role;
    let mut b = correct_run();
    // Server 3 gathers ACKEPOCH for epoch 2 and writes it, then loses the lead before
    // NEWLEADER; server 2 then gathers a quorum for the same epoch.
    b.event(
        40,
        3,
        ServerEvent::RoleChanged {
            role: Role::Leading,
        },
    );
    b.event(41, 3, ServerEvent::CurrentEpoch { epoch: Epoch(2) });
    b.event(
        45,
        3,
        ServerEvent::RoleChanged {
            role: Role::Looking,
        },
    );
    b.event(
        50,
        2,
        ServerEvent::RoleChanged {
            role: Role::Leading,
        },
    );
    b.event(51, 2, ServerEvent::CurrentEpoch { epoch: Epoch(2) });
    let report = b.check();
    assert_eq!(report.violated(), vec![Property::SingleLeaderPerEpoch]);
    // A follower writing the epoch at NEWLEADER is no quorum of its own.
    b.history
        .server_events
        .truncate(b.history.server_events.len() - 2);
    b.event(
        50,
        2,
        ServerEvent::RoleChanged {
            role: Role::Following,
        },
    );
    b.event(51, 2, ServerEvent::CurrentEpoch { epoch: Epoch(2) });
    let fine = b.check();
    assert_eq!(fine.verdict(), Verdict::Ok, "{:#?}", fine.violations);
}

#[test]
fn different_txns_at_one_zxid_is_named_committed_prefix_agreement() {
    let mut b = correct_run();
    b.event(
        50,
        2,
        ServerEvent::Committed {
            zxid: z(2),
            txn_hash: 999,
        },
    );
    let report = b.check();
    assert!(
        report
            .violated()
            .contains(&Property::CommittedPrefixAgreement),
        "{:#?}",
        report.violations
    );
}

#[test]
fn commits_out_of_order_are_named_log_zxids_increase() {
    let mut b = correct_run();
    b.event(
        50,
        2,
        ServerEvent::Committed {
            zxid: z(1),
            txn_hash: z(1).0 * 7,
        },
    );
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::LogZxidsIncrease],
        "{:#?}",
        report.violations
    );
    // After a crash of that server, replaying from the start is legitimate.
    b.history.faults.push(FaultRecord {
        at: Millis(45),
        action: "crash".into(),
        targets: vec![ServerId(2)],
        detail: String::new(),
    });
    let fine = b.check();
    assert_eq!(fine.verdict(), Verdict::Ok, "{:#?}", fine.violations);
}

#[test]
fn diverged_replicas_are_named_convergence() {
    let mut b = correct_run();
    b.history.final_states[2].digest = 43;
    let report = b.check();
    assert_eq!(report.violated(), vec![Property::Convergence]);
}

#[test]
fn a_server_skipping_a_committed_zxid_is_named_committed_prefix_agreement() {
    let mut b = Builder::new();
    b.event(0, 1, ServerEvent::LeaderEstablished { epoch: Epoch(1) });
    for (at, zxid) in [(1, 1), (2, 2), (3, 3)] {
        b.event(
            at,
            1,
            ServerEvent::Committed {
                zxid: z(zxid),
                txn_hash: zxid as u64,
            },
        );
    }
    b.event(
        1,
        2,
        ServerEvent::Committed {
            zxid: z(1),
            txn_hash: 1,
        },
    );
    b.event(
        3,
        2,
        ServerEvent::Committed {
            zxid: z(3),
            txn_hash: 3,
        },
    );
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::CommittedPrefixAgreement],
        "{:#?}",
        report.violations
    );
    // A role change in between means a resynchronisation, which brings z(2) silently.
    let mut b2 = Builder::new();
    b2.history.server_events = b.history.server_events.clone();
    b2.history.server_events.insert(
        5,
        ServerRecord {
            at: Millis(2),
            server: ServerId(2),
            event: ServerEvent::RoleChanged {
                role: zab_core::peer::Role::Following,
            },
        },
    );
    let fine = b2.check();
    assert_eq!(fine.verdict(), Verdict::Ok, "{:#?}", fine.violations);
}

#[test]
fn equal_digests_with_different_last_zxids_converge() {
    let mut b = correct_run();
    b.history.final_states[2].last_applied = z(2);
    assert_eq!(b.check().verdict(), Verdict::Ok);
}

#[test]
fn committed_txn_truncated_away_is_named_committed_prefix_agreement() {
    let mut b = correct_run();
    // z(4) committed by server 1 (a txn no client was answered for), then cut by a TRUNC.
    b.event(
        30,
        1,
        ServerEvent::Committed {
            zxid: z(4),
            txn_hash: 4,
        },
    );
    b.event(40, 1, ServerEvent::Truncated { to: z(3) });
    let report = b.check();
    assert_eq!(
        report.violated(),
        vec![Property::CommittedPrefixAgreement],
        "{:#?}",
        report.violations
    );
    // Truncating only what was never committed is what TRUNC is for.
    let mut fine = correct_run();
    fine.event(40, 1, ServerEvent::Truncated { to: z(3) });
    let report = fine.check();
    assert_eq!(report.verdict(), Verdict::Ok, "{:#?}", report.violations);
}
