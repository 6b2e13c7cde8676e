//! Checking one of our histories: every property, in one report.

use crate::history::{History, HISTORY_FORMAT_VERSION};
use crate::lin::Budget;
use crate::replica;
use crate::verdict::{Property, Report, Status};
use crate::zk::{ephemeral, expiry, ops::WriteLog, reads, session, watch, watch_delivery, writes};
use zab_core::ids::Millis;

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Linearizability search budget per independent part.
    pub budget: Budget,
    /// Answered writes take effect in zxid order (true for ZooKeeper; see
    /// `models::znode::ZnodeModel::zxid_order`).
    pub zxid_order: bool,
    /// Check liveness with this bound; `None` skips it (it only holds when the run ends with
    /// a quorum able to talk).
    pub liveness_bound: Option<Millis>,
    /// Violating parts larger than this are reported whole instead of minimised.
    pub minimize_ops_max: usize,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            budget: Budget::default(),
            zxid_order: true,
            liveness_bound: None,
            minimize_ops_max: 200,
        }
    }
}

/// A history the checker cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("history format version {found}, this checker reads version {expected}")]
    Version { found: u32, expected: u32 },
    #[error("op at index {index} has id {id}; ids must equal their index")]
    OpId { index: usize, id: u64 },
    #[error("op {id} completes at {complete} before it is invoked at {invoke}")]
    CompletesBeforeInvoke {
        id: u64,
        invoke: Millis,
        complete: Millis,
    },
}

fn validate(history: &History) -> Result<(), CheckError> {
    if history.version != HISTORY_FORMAT_VERSION {
        return Err(CheckError::Version {
            found: history.version,
            expected: HISTORY_FORMAT_VERSION,
        });
    }
    for (index, op) in history.ops.iter().enumerate() {
        if op.id != index as u64 {
            return Err(CheckError::OpId { index, id: op.id });
        }
        if let Some(complete) = op.complete {
            if complete < op.invoke {
                return Err(CheckError::CompletesBeforeInvoke {
                    id: op.id,
                    invoke: op.invoke,
                    complete,
                });
            }
        }
    }
    Ok(())
}

fn skipped(reason: &str) -> Status {
    Status::Skipped {
        reason: reason.to_string(),
    }
}

/// Check every property of `history`.
pub fn check_history(history: &History, options: &CheckOptions) -> Result<Report, CheckError> {
    validate(history)?;
    let mut report = Report::default();

    let (status, violations, steps) = writes::check(
        history,
        options.budget,
        options.zxid_order,
        options.minimize_ops_max,
    );
    report.search_steps = steps;
    report.results.push(crate::verdict::PropertyResult {
        property: Property::LinearizableWrites,
        status,
    });
    report.violations.extend(violations);

    let (fifo, monotonic) = session::check(history);
    report.record(Property::SessionFifo, fifo);
    report.record(Property::MonotonicReads, monotonic);

    let log = WriteLog::build(history);
    report.record(
        Property::ConsistentReads,
        reads::consistent_reads(history, &log),
    );

    let has_sync = history
        .ops
        .iter()
        .any(|op| matches!(op.request, zab_core::request::Request::Sync { .. }));
    if has_sync {
        report.record(Property::SyncFreshness, reads::sync_freshness(history));
    } else {
        report.record_status(Property::SyncFreshness, skipped("no sync in the history"));
    }

    if watch::has_watch_events(history) || watch_delivery::has_watches(history) {
        // Events late (they came after the data) and events lost (they never came).
        let mut violations = watch::check(history);
        violations.extend(watch_delivery::check(history, &log));
        report.record(Property::WatchBeforeData, violations);
    } else {
        report.record_status(Property::WatchBeforeData, skipped("no watch set"));
    }

    if ephemeral::has_ephemerals(history) {
        report.record(Property::EphemeralLifetime, ephemeral::check(history));
    } else {
        report.record_status(Property::EphemeralLifetime, skipped("no ephemeral created"));
    }

    if history.handshakes.is_empty() {
        report.record_status(
            Property::NoPrematureExpiry,
            skipped("no handshakes in the history"),
        );
    } else if expiry::has_expiries(history) {
        report.record(Property::NoPrematureExpiry, expiry::check(history));
    } else {
        report.record_status(Property::NoPrematureExpiry, skipped("no session expired"));
    }

    if replica::has_server_events(history) {
        report.record(
            Property::SingleLeaderPerEpoch,
            replica::single_leader_per_epoch(history),
        );
        report.record(
            Property::CommittedPrefixAgreement,
            replica::committed_prefix_agreement(history),
        );
        report.record(
            Property::NoAckedWriteLost,
            replica::no_acked_write_lost(history),
        );
        report.record(
            Property::LogZxidsIncrease,
            replica::log_zxids_increase(history),
        );
    } else {
        for property in [
            Property::SingleLeaderPerEpoch,
            Property::CommittedPrefixAgreement,
            Property::NoAckedWriteLost,
            Property::LogZxidsIncrease,
        ] {
            report.record_status(property, skipped("no server events in the history"));
        }
    }
    if history.final_states.is_empty() {
        report.record_status(Property::Convergence, skipped("no final server states"));
    } else {
        report.record(Property::Convergence, replica::convergence(history));
    }
    match options.liveness_bound {
        Some(bound) => report.record(Property::Liveness, replica::liveness(history, bound)),
        None => report.record_status(Property::Liveness, skipped("no bound given")),
    }
    Ok(report)
}
