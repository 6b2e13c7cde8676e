//! `linearizable-writes`: every update takes effect in one total order consistent with real
//! time and with the tree's semantics.
//!
//! Two checks. First, answered writes' zxids must agree with real time (if A was answered
//! before B was sent, A's zxid is smaller) and be unique — cheap, and catches reordering at
//! any scale. Second, the Wing–Gong/Lowe search over the znode model (see
//! `models::znode`): the observed outcomes — NODEEXISTS, BADVERSION, sequential names, new
//! versions — must be explainable by one real-time-consistent order, with unknown writes
//! free to have happened or not. Session expiries by the leader join as unknown-outcome
//! closeSessions.

use super::ops::{answered_zxid, leader_expiries};
use crate::history::{History, Outcome};
use crate::lin::{check_operations, minimize, Budget, Model, Operation, PartitionVerdict};
use crate::models::znode::{is_indeterminate_error, ZInput, ZOutput, ZnodeModel};
use crate::verdict::{Property, Status, Violation};
use std::collections::BTreeMap;
use zab_core::request::Request;

/// Ids of synthetic ops (leader session expiries) start here; the rest is the event index.
pub const EXPIRY_OP_BASE: u64 = 1 << 62;

type ZOp = Operation<ZInput, ZOutput>;

/// The write history as the model's ops.
pub fn write_ops(history: &History) -> Vec<ZOp> {
    let mut ops: Vec<ZOp> = history
        .ops
        .iter()
        .filter(|op| op.request.is_write())
        .map(|op| {
            let output = match &op.outcome {
                Outcome::Ok { response, zxid } => Some(ZOutput {
                    result: Ok(response.clone()),
                    zxid: Some(*zxid),
                }),
                Outcome::Failed { error, .. } if !is_indeterminate_error(*error) => Some(ZOutput {
                    result: Err(*error),
                    zxid: None,
                }),
                _ => None,
            };
            let ret = if output.is_some() {
                op.complete.map(|c| c.0)
            } else {
                None
            };
            Operation {
                id: op.id,
                client: op.client,
                input: ZInput {
                    session: op.session,
                    request: op.request.clone(),
                },
                output,
                call: op.invoke.0,
                ret,
            }
        })
        .collect();
    for (index, session) in leader_expiries(history) {
        ops.push(Operation {
            id: EXPIRY_OP_BASE + index as u64,
            client: u64::MAX,
            input: ZInput {
                session,
                request: Request::CloseSession,
            },
            output: None,
            call: history.server_events[index].at.0,
            ret: None,
        });
    }
    ops
}

fn creates_reapable(request: &Request) -> bool {
    match request {
        Request::Create { mode, .. } => {
            mode.is_ttl() || *mode == zab_core::request::CreateMode::Container
        }
        Request::Multi(ops) => ops.iter().any(creates_reapable),
        _ => false,
    }
}

/// Split evidence ids into client op ids and server event indices.
fn split_ids(ids: &[u64]) -> (Vec<u64>, Vec<usize>) {
    let ops = ids
        .iter()
        .copied()
        .filter(|id| *id < EXPIRY_OP_BASE)
        .collect();
    let events = ids
        .iter()
        .filter(|id| **id >= EXPIRY_OP_BASE)
        .map(|id| (id - EXPIRY_OP_BASE) as usize)
        .collect();
    (ops, events)
}

/// Answered writes' zxids against real time.
pub fn zxid_real_time(history: &History) -> Vec<Violation> {
    let mut writes: Vec<(u64, u64, zab_core::Zxid, u64)> = history
        .ops
        .iter()
        .filter(|op| op.request.is_write() && matches!(op.outcome, Outcome::Ok { .. }))
        .filter_map(|op| Some((op.invoke.0, op.complete?.0, answered_zxid(op)?, op.id)))
        .collect();
    let mut violations = Vec::new();
    let mut seen: BTreeMap<zab_core::Zxid, u64> = BTreeMap::new();
    for &(_, _, zxid, id) in &writes {
        if let Some(&other) = seen.get(&zxid) {
            violations.push(
                Violation::new(
                    Property::LinearizableWrites,
                    format!("writes #{other} and #{id} were both acknowledged with zxid {zxid}"),
                )
                .with_ops([other, id]),
            );
        }
        seen.insert(zxid, id);
    }
    let mut by_complete = writes.clone();
    by_complete.sort_by_key(|w| (w.1, w.3));
    writes.sort_by_key(|w| (w.0, w.3));
    let mut done = 0;
    let mut latest: Option<(zab_core::Zxid, u64)> = None;
    for &(invoke, _, zxid, id) in &writes {
        while done < by_complete.len() && by_complete[done].1 < invoke {
            let (_, _, z, i) = by_complete[done];
            if latest.is_none_or(|(lz, _)| z > lz) {
                latest = Some((z, i));
            }
            done += 1;
        }
        if let Some((earlier_zxid, earlier)) = latest {
            if earlier_zxid >= zxid && violations.len() < 20 {
                violations.push(
                    Violation::new(
                        Property::LinearizableWrites,
                        format!(
                            "write #{earlier} (zxid {earlier_zxid}) was acknowledged before write #{id} was sent, yet #{id} got the smaller zxid {zxid}"
                        ),
                    )
                    .with_ops([earlier, id]),
                );
            }
        }
    }
    violations
}

/// The whole property: its status, its violations and the search steps spent.
pub fn check(
    history: &History,
    budget: Budget,
    zxid_order: bool,
    minimize_ops_max: usize,
) -> (Status, Vec<Violation>, u64) {
    let mut violations = zxid_real_time(history);
    let ops = write_ops(history);
    if let Some(op) = ops.iter().find(|op| creates_reapable(&op.input.request)) {
        // The server may delete these on its own (container reaping, TTL expiry) at times no
        // client op records; the model cannot place those deletions.
        let status = if violations.is_empty() {
            Status::Unknown {
                reason: format!(
                    "container/TTL nodes (first: op #{}) may be reaped by the server, which the write model does not model",
                    op.id
                ),
            }
        } else {
            Status::Violated
        };
        return (status, violations, 0);
    }
    let model = ZnodeModel::for_history(&ops, zxid_order);
    let outcome = check_operations(&model, &ops, budget);
    let by_id: BTreeMap<u64, &ZOp> = ops.iter().map(|op| (op.id, op)).collect();
    for part in outcome.violations() {
        let part_ops: Vec<&ZOp> = part.ops.iter().map(|id| by_id[id]).collect();
        let core = minimize(
            &model,
            &part_ops,
            Budget {
                steps: budget.steps.min(200_000),
            },
            Budget {
                steps: budget.steps.min(2_000_000),
            },
            minimize_ops_max,
        );
        let described: Vec<String> = core
            .iter()
            .take(6)
            .map(|id| {
                let op = by_id[id];
                format!("#{id} {}", model.describe(&op.input, op.output.as_ref()))
            })
            .collect();
        let (op_ids, event_ids) = split_ids(&core);
        violations.push(
            Violation::new(
                Property::LinearizableWrites,
                format!(
                    "no order of these writes explains their outcomes ({} of a part of {}): {}{}",
                    core.len(),
                    part.ops.len(),
                    described.join("; "),
                    if core.len() > 6 { "; …" } else { "" }
                ),
            )
            .with_ops(op_ids)
            .with_events(event_ids),
        );
    }
    let status = if !violations.is_empty() {
        Status::Violated
    } else if outcome.verdict() == PartitionVerdict::Unknown {
        let unknown = outcome
            .partitions
            .iter()
            .filter(|p| p.verdict == PartitionVerdict::Unknown)
            .count();
        Status::Unknown {
            reason: format!(
                "{unknown} part(s) ran out of the {}-step search budget",
                budget.steps
            ),
        }
    } else {
        Status::Holds
    };
    (status, violations, outcome.steps())
}
