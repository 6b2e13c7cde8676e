//! `consistent-reads` and `sync-freshness`.
//!
//! A read's reply zxid names the state it came from: the server had applied exactly the
//! writes up to that zxid. So a getData/exists answer must be the node as the last write at
//! or below that zxid left it: its mzxid no newer than the reply zxid, no known write to
//! the path between its mzxid and the reply zxid (a stale read), its data that of the write
//! its mzxid names, and that write a committed one (a read of an uncommitted proposal).
//! NONODE must not hide a node an answered write created at or below the reply zxid.
//! Paths an unanswered write may have touched, and ephemerals (checked by
//! `ephemeral-lifetime`), are not judged on existence.
//!
//! After a successful sync, a read must come from a state that includes every write answered
//! before the sync was sent.

use super::ops::{answered_zxid, by_session, committed_anywhere, is_read, Effect, WriteLog};
use crate::history::{ClientOp, History, Outcome};
use crate::verdict::{Property, Violation};
use std::collections::{BTreeMap, BTreeSet};
use zab_core::error::ErrorCode;
use zab_core::ids::Zxid;
use zab_core::request::{Request, Response, Stat};

/// At most this many `consistent-reads` violations are reported (the first ones).
const REPORTED_MAX: usize = 10;

/// `consistent-reads`.
pub fn consistent_reads(history: &History, log: &WriteLog) -> Vec<Violation> {
    let committed = committed_anywhere(history);
    let have_server_events = !committed.is_empty();
    let mut violations = children_reads(history, log);
    for op in &history.ops {
        if violations.len() >= REPORTED_MAX {
            break;
        }
        let Some(zxid) = answered_zxid(op) else {
            continue;
        };
        let (path, observed) = match (&op.request, &op.outcome) {
            (
                Request::GetData { path, .. },
                Outcome::Ok {
                    response: Response::GetData { data, stat },
                    ..
                },
            ) => (path, Some((Some(data), *stat))),
            (
                Request::Exists { path, .. },
                Outcome::Ok {
                    response: Response::Exists { stat },
                    ..
                },
            ) => (path, Some((None, *stat))),
            (
                Request::GetData { path, .. } | Request::Exists { path, .. },
                Outcome::Failed {
                    error: ErrorCode::NoNode,
                    ..
                },
            ) => (path, None),
            _ => continue,
        };
        let writes = log.by_path.get(path.as_str());
        match observed {
            Some((data, stat)) => {
                if let Some(v) = check_present(
                    op,
                    path,
                    zxid,
                    data,
                    &stat,
                    writes,
                    &committed,
                    have_server_events,
                ) {
                    violations.push(v);
                }
            }
            None => {
                if log.maybe_touched(path) || log.ephemeral_paths.contains(path.as_str()) {
                    continue;
                }
                let last = writes.and_then(|w| w.range(..=zxid).next_back());
                if let Some((_, write)) = last {
                    if !matches!(write.effect, Effect::Deleted) {
                        violations.push(
                            Violation::new(
                                Property::ConsistentReads,
                                format!(
                                    "#{} read {path} at zxid {zxid} and got NONODE, but write #{} created or changed it at zxid {} and nothing deleted it",
                                    op.id, write.op, write.zxid
                                ),
                            )
                            .with_ops([write.op, op.id]),
                        );
                    }
                }
            }
        }
    }
    violations
}

/// getChildren answered at zxid Z must list every child an answered write created at or
/// below Z and nothing deleted since, and must not list a child an answered write deleted at
/// or below Z (children an unanswered write may have touched, and ephemerals, are not judged).
fn children_reads(history: &History, log: &WriteLog) -> Vec<Violation> {
    let mut children_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for path in log.by_path.keys() {
        if let Some(parent) = crate::models::znode::parent_of(path) {
            children_of.entry(parent).or_default().push(path.as_str());
        }
    }
    let mut violations = Vec::new();
    for op in &history.ops {
        if violations.len() >= REPORTED_MAX {
            break;
        }
        let (
            Request::GetChildren { path, .. },
            Outcome::Ok {
                response: Response::GetChildren { children, .. },
                zxid,
            },
        ) = (&op.request, &op.outcome)
        else {
            continue;
        };
        let listed: BTreeSet<&str> = children.iter().map(String::as_str).collect();
        for child in children_of.get(path.as_str()).into_iter().flatten() {
            if log.maybe_touched(child) || log.ephemeral_paths.contains(*child) {
                continue;
            }
            let Some((_, last)) = log.by_path[*child].range(..=*zxid).next_back() else {
                continue;
            };
            let name = child.rsplit('/').next().unwrap_or(child);
            let present = !matches!(last.effect, Effect::Deleted);
            if present != listed.contains(name) {
                violations.push(
                    Violation::new(
                        Property::ConsistentReads,
                        format!(
                            "#{} listed the children of {path} at zxid {zxid} {} {name}, but write #{} {} it at zxid {}",
                            op.id,
                            if present { "without" } else { "with" },
                            last.op,
                            if present { "created or changed" } else { "deleted" },
                            last.zxid
                        ),
                    )
                    .with_ops([last.op, op.id]),
                );
                break;
            }
        }
    }
    violations
}

#[allow(clippy::too_many_arguments)]
fn check_present(
    op: &ClientOp,
    path: &str,
    zxid: Zxid,
    data: Option<&Vec<u8>>,
    stat: &Stat,
    writes: Option<&BTreeMap<Zxid, super::ops::PathWrite>>,
    committed: &super::ops::CommittedSet,
    have_server_events: bool,
) -> Option<Violation> {
    let mzxid = stat.mzxid;
    if mzxid > zxid {
        return Some(
            Violation::new(
                Property::ConsistentReads,
                format!(
                    "#{} read {path} with mzxid {mzxid}, newer than the state it was answered from (zxid {zxid})",
                    op.id
                ),
            )
            .with_ops([op.id]),
        );
    }
    if have_server_events && mzxid != Zxid::ZERO && !committed.covers(mzxid) {
        return Some(
            Violation::new(
                Property::ConsistentReads,
                format!(
                    "#{} read {path} as written at zxid {mzxid}, which no server ever committed",
                    op.id
                ),
            )
            .with_ops([op.id]),
        );
    }
    let writes = writes?;
    if let Some(source) = writes.get(&mzxid) {
        let mismatch = match (&source.effect, data) {
            (Effect::Set { data: written, .. }, Some(read))
            | (Effect::Created { data: written, .. }, Some(read)) => written != read,
            (Effect::Deleted, _) => true,
            _ => false,
        };
        if mismatch {
            return Some(
                Violation::new(
                    Property::ConsistentReads,
                    format!(
                        "#{} read {path} with mzxid {mzxid}, but what it returned is not what write #{} did at that zxid",
                        op.id, source.op
                    ),
                )
                .with_ops([source.op, op.id]),
            );
        }
    }
    if let Some((_, newer)) = writes.range(..=zxid).find(|(z, _)| **z > mzxid) {
        return Some(
            Violation::new(
                Property::ConsistentReads,
                format!(
                    "stale read: #{} was answered from zxid {zxid}, which includes write #{} to {path} at zxid {}, yet it returned the node as of zxid {mzxid}",
                    op.id, newer.op, newer.zxid
                ),
            )
            .with_ops([newer.op, op.id]),
        );
    }
    None
}

/// `sync-freshness`.
pub fn sync_freshness(history: &History) -> Vec<Violation> {
    // Answered writes by completion time, with the highest zxid completed so far.
    let mut writes: Vec<(u64, Zxid, u64)> = history
        .ops
        .iter()
        .filter(|op| op.request.is_write() && matches!(op.outcome, Outcome::Ok { .. }))
        .filter_map(|op| Some((op.complete?.0, answered_zxid(op)?, op.id)))
        .collect();
    writes.sort();
    let mut prefix_max: Vec<(Zxid, u64)> = Vec::with_capacity(writes.len());
    for &(_, zxid, id) in &writes {
        let best = match prefix_max.last() {
            Some(&(z, i)) if z >= zxid => (z, i),
            _ => (zxid, id),
        };
        prefix_max.push(best);
    }
    // The highest write answered strictly before `t`.
    let required = |t: u64| -> Option<(Zxid, u64)> {
        let n = writes.partition_point(|w| w.0 < t);
        n.checked_sub(1).map(|i| prefix_max[i])
    };
    let mut violations = Vec::new();
    for (session, ops) in by_session(history) {
        let mut after_sync: Option<(&ClientOp, Zxid, u64)> = None;
        for op in ops {
            if let (Request::Sync { .. }, Outcome::Ok { zxid, .. }) = (&op.request, &op.outcome) {
                after_sync = required(op.invoke.0).map(|(w, wid)| (op, w, wid));
                if let Some((sync, needed, write)) = after_sync {
                    if *zxid < needed {
                        violations.push(
                            Violation::new(
                                Property::SyncFreshness,
                                format!(
                                    "session {session}: sync #{} was answered at zxid {zxid}, before write #{write} (zxid {needed}) that completed before the sync began",
                                    sync.id
                                ),
                            )
                            .with_ops([write, sync.id]),
                        );
                    }
                }
                continue;
            }
            let Some((sync, needed, write)) = after_sync else {
                continue;
            };
            if !is_read(&op.request) {
                continue;
            }
            let Some(zxid) = answered_zxid(op) else {
                continue;
            };
            if zxid < needed {
                violations.push(
                    Violation::new(
                        Property::SyncFreshness,
                        format!(
                            "session {session}: read #{} after sync #{} was answered from zxid {zxid}, missing write #{write} (zxid {needed}) that completed before the sync began",
                            op.id, sync.id
                        ),
                    )
                    .with_ops([write, sync.id, op.id]),
                );
                // One per sync is enough evidence.
                after_sync = None;
            }
        }
    }
    violations
}
