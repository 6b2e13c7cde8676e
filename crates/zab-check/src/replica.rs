//! Replica invariants from the servers' events (ZooKeeper's TLA+ specifications name them:
//! SingleLeader per epoch, PrefixConsistency / Agreement, Integrity), and bounded liveness.
//!
//! A server's run of commits is "continuous" until something legitimately rewinds or jumps
//! it: a crash, power-off or restart of that server, a truncation, a role change (every new
//! leader or learner role starts with a synchronisation) or a synchronisation (a SNAP or a
//! DIFF brings txns with no `Committed` events). Inside a continuous run, zxids strictly
//! increase and no zxid committed elsewhere may be skipped.

use crate::history::{History, Outcome};
use crate::verdict::{Property, Violation};
use std::collections::{BTreeMap, BTreeSet};
use zab_core::ids::{Epoch, Millis, Zxid};
use zab_core::peer::{Role, ServerEvent};

/// At most this many violations per property are reported.
const REPORTED_MAX: usize = 10;

/// Does the history carry server events at all?
pub fn has_server_events(history: &History) -> bool {
    !history.server_events.is_empty()
}

/// `single-leader-per-epoch`: at most one server establishes each epoch (a NEWLEADER
/// quorum) and — ZAB's primary uniqueness, which the learners' durable acceptedEpoch
/// guarantees — at most one server gathers an ACKEPOCH quorum for it. A leader writes its
/// currentEpoch exactly when that quorum is in (`Leader.waitForEpochAck`), so two servers
/// writing one currentEpoch while leading is two quorums of promises for one epoch: some
/// learner promised it twice, which only a lost acceptedEpoch allows (a learner answers a
/// LEADERINFO for an epoch it already accepted without counting, and refuses older ones).
pub fn single_leader_per_epoch(history: &History) -> Vec<Violation> {
    let mut roles: BTreeMap<u64, Role> = BTreeMap::new();
    let mut established = OneServerPerEpoch::default();
    let mut quorums = OneServerPerEpoch::default();
    let mut violations = Vec::new();
    for (i, record) in history.server_events.iter().enumerate() {
        let server = record.server.0;
        match record.event {
            ServerEvent::RoleChanged { role } => {
                roles.insert(server, role);
            }
            ServerEvent::LeaderEstablished { epoch } => {
                if let Some((other, first)) = established.second(epoch, server, i) {
                    violations.push(
                        Violation::new(
                            Property::SingleLeaderPerEpoch,
                            format!("servers {other} and {server} both established leadership of epoch {epoch}"),
                        )
                        .with_events([first, i]),
                    );
                }
            }
            ServerEvent::CurrentEpoch { epoch } if roles.get(&server) == Some(&Role::Leading) => {
                if let Some((other, first)) = quorums.second(epoch, server, i) {
                    violations.push(
                        Violation::new(
                            Property::SingleLeaderPerEpoch,
                            format!(
                                "servers {other} and {server} both gathered an ACKEPOCH quorum for epoch {epoch} (each wrote it as its currentEpoch while leading): some learner promised the epoch to both"
                            ),
                        )
                        .with_events([first, i]),
                    );
                }
            }
            _ => {}
        }
    }
    violations.truncate(REPORTED_MAX);
    violations
}

/// The first server seen doing something for each epoch, with the event's index.
#[derive(Default)]
struct OneServerPerEpoch(BTreeMap<Epoch, (u64, usize)>);

impl OneServerPerEpoch {
    /// Record `server` for `epoch` at event `index`; if another server came first, that
    /// server and its event.
    fn second(&mut self, epoch: Epoch, server: u64, index: usize) -> Option<(u64, usize)> {
        let &mut (first_server, first_index) = self.0.entry(epoch).or_insert((server, index));
        (first_server != server).then_some((first_server, first_index))
    }
}

/// The times at which each server's commit run is legitimately reset.
fn resets(history: &History) -> BTreeMap<u64, Vec<Millis>> {
    let mut out: BTreeMap<u64, Vec<Millis>> = BTreeMap::new();
    for fault in &history.faults {
        if matches!(fault.action.as_str(), "crash" | "power_off" | "restart") {
            for target in &fault.targets {
                out.entry(target.0).or_default().push(fault.at);
            }
        }
    }
    out
}

/// One commit: (event index, zxid, txn hash).
type Commit = (usize, Zxid, u64);

/// Each server's commits, split into continuous runs.
fn commit_runs(history: &History) -> BTreeMap<u64, Vec<Vec<Commit>>> {
    let fault_resets = resets(history);
    let mut runs: BTreeMap<u64, Vec<Vec<Commit>>> = BTreeMap::new();
    let mut last_seen: BTreeMap<u64, Millis> = BTreeMap::new();
    for (i, record) in history.server_events.iter().enumerate() {
        let server = record.server.0;
        let server_runs = runs.entry(server).or_insert_with(|| vec![Vec::new()]);
        let previous = last_seen.insert(server, record.at).unwrap_or(Millis::ZERO);
        let faulted = fault_resets
            .get(&server)
            .is_some_and(|ts| ts.iter().any(|t| *t >= previous && *t <= record.at));
        let rewinds = matches!(
            record.event,
            ServerEvent::Truncated { .. }
                | ServerEvent::Synced { .. }
                | ServerEvent::RoleChanged { .. }
        );
        if (faulted || rewinds) && server_runs.last().is_some_and(|r| !r.is_empty()) {
            server_runs.push(Vec::new());
        }
        if let ServerEvent::Committed { zxid, txn_hash } = record.event {
            if let Some(run) = server_runs.last_mut() {
                run.push((i, zxid, txn_hash));
            }
        }
    }
    runs
}

/// `committed-prefix-agreement`: one transaction per zxid across all servers, no server
/// skips a zxid committed elsewhere inside a continuous run, and no server truncates away a
/// transaction it committed (every later leader's history contains what was committed, so a
/// TRUNC never reaches below it).
pub fn committed_prefix_agreement(history: &History) -> Vec<Violation> {
    let mut violations = committed_then_truncated(history);
    let mut by_zxid: BTreeMap<Zxid, (u64, u64, usize)> = BTreeMap::new();
    for (i, record) in history.server_events.iter().enumerate() {
        if let ServerEvent::Committed { zxid, txn_hash } = record.event {
            match by_zxid.get(&zxid) {
                Some(&(hash, server, first)) if hash != txn_hash => {
                    violations.push(
                        Violation::new(
                            Property::CommittedPrefixAgreement,
                            format!(
                                "servers {server} and {} committed different transactions at zxid {zxid}",
                                record.server
                            ),
                        )
                        .with_events([first, i]),
                    );
                }
                Some(_) => {}
                None => {
                    by_zxid.insert(zxid, (txn_hash, record.server.0, i));
                }
            }
        }
    }
    let all: BTreeSet<Zxid> = by_zxid.keys().copied().collect();
    for (server, runs) in commit_runs(history) {
        for run in runs {
            for pair in run.windows(2) {
                let ((_, a, _), (j, b, _)) = (pair[0], pair[1]);
                if b <= a {
                    continue; // log-zxids-increase reports it.
                }
                if let Some(skipped) = all
                    .range((std::ops::Bound::Excluded(a), std::ops::Bound::Excluded(b)))
                    .next()
                {
                    let other = by_zxid[skipped].2;
                    violations.push(
                        Violation::new(
                            Property::CommittedPrefixAgreement,
                            format!(
                                "server {server} committed {a} then {b}, skipping {skipped} that server {} committed",
                                history.server_events[other].server
                            ),
                        )
                        .with_events([pair[0].0, j, other]),
                    );
                }
            }
        }
    }
    violations.truncate(REPORTED_MAX);
    violations
}

/// Servers that truncated away a transaction they had committed. An acknowledged write is
/// left to `no-acked-write-lost`, which names the client's op.
fn committed_then_truncated(history: &History) -> Vec<Violation> {
    let acked: BTreeSet<Zxid> = history
        .ops
        .iter()
        .filter(|op| op.request.is_write())
        .filter_map(|op| match op.outcome {
            Outcome::Ok { zxid, .. } => Some(zxid),
            _ => None,
        })
        .collect();
    let mut committed: BTreeMap<u64, BTreeMap<Zxid, usize>> = BTreeMap::new();
    let mut violations = Vec::new();
    for (i, record) in history.server_events.iter().enumerate() {
        let server = record.server.0;
        match record.event {
            ServerEvent::Committed { zxid, .. } => {
                committed.entry(server).or_default().insert(zxid, i);
            }
            ServerEvent::Truncated { to } => {
                let log = committed.entry(server).or_default();
                let dropped = match to.0.checked_add(1) {
                    Some(above) => log.split_off(&Zxid(above)),
                    None => BTreeMap::new(),
                };
                for (zxid, commit_event) in dropped {
                    if acked.contains(&zxid) {
                        continue; // no-acked-write-lost reports it.
                    }
                    violations.push(
                        Violation::new(
                            Property::CommittedPrefixAgreement,
                            format!(
                                "server {server} committed {zxid}, then truncated its log to {to}"
                            ),
                        )
                        .with_events([commit_event, i]),
                    );
                }
            }
            _ => {}
        }
    }
    violations
}

/// `log-zxids-increase`: inside a continuous run a server's commits strictly increase, and a
/// leader's proposals strictly increase.
pub fn log_zxids_increase(history: &History) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (server, runs) in commit_runs(history) {
        for run in runs {
            for pair in run.windows(2) {
                let ((i, a, _), (j, b, _)) = (pair[0], pair[1]);
                if b <= a {
                    violations.push(
                        Violation::new(
                            Property::LogZxidsIncrease,
                            format!("server {server} committed {a} and then {b}"),
                        )
                        .with_events([i, j]),
                    );
                }
            }
        }
    }
    let mut last_proposed: BTreeMap<u64, (Zxid, usize)> = BTreeMap::new();
    for (i, record) in history.server_events.iter().enumerate() {
        if let ServerEvent::Proposed { zxid } = record.event {
            if let Some(&(previous, j)) = last_proposed.get(&record.server.0) {
                if zxid <= previous && zxid.epoch() == previous.epoch() {
                    violations.push(
                        Violation::new(
                            Property::LogZxidsIncrease,
                            format!(
                                "leader {} proposed {previous} and then {zxid}",
                                record.server
                            ),
                        )
                        .with_events([j, i]),
                    );
                }
            }
            last_proposed.insert(record.server.0, (zxid, i));
        }
    }
    violations.truncate(REPORTED_MAX);
    violations
}

/// `no-acked-write-lost`: every write a client saw succeed was committed by some server, and
/// no server later truncated it away.
pub fn no_acked_write_lost(history: &History) -> Vec<Violation> {
    let mut committed: BTreeMap<Zxid, usize> = BTreeMap::new();
    // Per server: committed zxids (with event) so far, to find truncations of them.
    let mut per_server: BTreeMap<u64, BTreeMap<Zxid, usize>> = BTreeMap::new();
    let mut truncated: BTreeMap<Zxid, (usize, usize)> = BTreeMap::new();
    for (i, record) in history.server_events.iter().enumerate() {
        match record.event {
            ServerEvent::Committed { zxid, .. } => {
                committed.entry(zxid).or_insert(i);
                per_server
                    .entry(record.server.0)
                    .or_default()
                    .insert(zxid, i);
            }
            ServerEvent::Truncated { to } => {
                let log = per_server.entry(record.server.0).or_default();
                let dropped: Vec<(Zxid, usize)> = log
                    .range((std::ops::Bound::Excluded(to), std::ops::Bound::Unbounded))
                    .map(|(z, e)| (*z, *e))
                    .collect();
                for (zxid, commit_event) in dropped {
                    log.remove(&zxid);
                    truncated.entry(zxid).or_insert((commit_event, i));
                }
            }
            _ => {}
        }
    }
    let mut violations = Vec::new();
    for op in &history.ops {
        if violations.len() >= REPORTED_MAX {
            break;
        }
        let Outcome::Ok { zxid, .. } = op.outcome else {
            continue;
        };
        if !op.request.is_write() {
            continue;
        }
        if !committed.contains_key(&zxid) {
            violations.push(
                Violation::new(
                    Property::NoAckedWriteLost,
                    format!(
                        "write #{} was acknowledged with zxid {zxid}, but no server ever committed it",
                        op.id
                    ),
                )
                .with_ops([op.id]),
            );
        } else if let Some(&(commit_event, trunc_event)) = truncated.get(&zxid) {
            violations.push(
                Violation::new(
                    Property::NoAckedWriteLost,
                    format!(
                        "write #{} was acknowledged with zxid {zxid} and committed, then server {} truncated it away",
                        op.id, history.server_events[trunc_event].server
                    ),
                )
                .with_ops([op.id])
                .with_events([commit_event, trunc_event]),
            );
        }
    }
    violations
}

/// `convergence`: live servers end with the same tree digest. (Their last zxids may differ
/// when the last transactions change nothing in the tree — error txns, session txns — and the
/// digest is what the tree's state is.)
pub fn convergence(history: &History) -> Vec<Violation> {
    let alive: Vec<_> = history.final_states.iter().filter(|s| s.alive).collect();
    let Some(first) = alive.first() else {
        return Vec::new();
    };
    let differing: Vec<String> = alive
        .iter()
        .filter(|s| s.digest != first.digest)
        .map(|s| {
            format!(
                "server {} at {} digest {:#x}",
                s.server, s.last_applied, s.digest
            )
        })
        .collect();
    if differing.is_empty() {
        return Vec::new();
    }
    vec![Violation::new(
        Property::Convergence,
        format!(
            "live servers disagree after the quiet period: server {} at {} digest {:#x}; {}",
            first.server,
            first.last_applied,
            first.digest,
            differing.join("; ")
        ),
    )]
}

/// `liveness`: once the last fault is over, every op sent at least `bound` before the end
/// of the history completes within `bound`.
pub fn liveness(history: &History, bound: Millis) -> Vec<Violation> {
    let healed = history
        .faults
        .iter()
        .map(|f| f.at)
        .max()
        .unwrap_or(Millis::ZERO);
    let end = history
        .ops
        .iter()
        .flat_map(|op| [Some(op.invoke), op.complete])
        .flatten()
        .chain(history.server_events.iter().map(|e| e.at))
        .max()
        .unwrap_or(Millis::ZERO);
    let mut violations = Vec::new();
    for op in &history.ops {
        if op.invoke < healed || op.invoke + bound > end {
            continue;
        }
        let answered = !matches!(op.outcome, Outcome::Unknown);
        let within = op
            .complete
            .is_some_and(|c| c.saturating_sub(op.invoke) <= bound);
        if !(answered && within) {
            violations.push(
                Violation::new(
                    Property::Liveness,
                    format!(
                        "#{} was sent at {} (after the last fault at {healed}) and was not answered within {bound}",
                        op.id, op.invoke
                    ),
                )
                .with_ops([op.id]),
            );
            if violations.len() >= REPORTED_MAX {
                break;
            }
        }
    }
    violations
}
