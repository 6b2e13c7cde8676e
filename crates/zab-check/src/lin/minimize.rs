//! Shrinking a non-linearizable part to the smallest evidence.
//!
//! Two relaxations keep a linearizable history linearizable, so a violation that survives
//! them is still a violation of the original:
//! - *forgetting an outcome*: an op becomes unknown (it may or may not have taken effect,
//!   returning at +infinity) — any linearization of the original still works;
//! - *cutting at time T*: ops sent after T are dropped and ops still pending at T are
//!   forgotten — every op that completed by T was linearized before T, before anything sent
//!   later, so the original linearization restricted to what is left still works.
//!
//! Removing a completed op outright is *not* sound (a read of 5 without the write of 5 is a
//! new violation), so we never do that. The search first finds the earliest cut that still
//! fails (binary search: cuts are monotone), then forgets outcomes greedily. The ops whose
//! outcomes remain are the evidence.

use super::search::{check_partition, PartitionVerdict};
use super::{Budget, Model, Operation};

/// The ids of the ops whose outcomes are needed to show that `ops` is not linearizable.
/// Every trial runs within `budget`; a trial that runs out counts as "not shown", so the
/// evidence is always a proven violation. All trials together stop after `total` steps
/// (keeping what was shown so far). Parts larger than `max_ops` after the cut are returned
/// with every definite op.
pub fn minimize<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    budget: Budget,
    total: Budget,
    max_ops: usize,
) -> Vec<u64> {
    let spent = std::cell::Cell::new(0u64);
    let fails = |trial: &[Operation<M::Input, M::Output>]| -> bool {
        if spent.get() >= total.steps {
            return false;
        }
        let kept: Vec<&Operation<M::Input, M::Output>> = trial
            .iter()
            .filter(|op| !(op.is_unknown() && model.is_read_only(&op.input)))
            .collect();
        let result = check_partition(model, &kept, budget);
        spent.set(spent.get() + result.steps);
        result.verdict == PartitionVerdict::NotLinearizable
    };
    let owned: Vec<Operation<M::Input, M::Output>> = ops.iter().map(|op| (*op).clone()).collect();
    let mut current = earliest_failing_cut(&owned, &fails).unwrap_or(owned);
    if current.len() > max_ops {
        return definite_ids(&current);
    }
    // Forget outcomes, latest-returning first: the evidence tends to be the early ops.
    let mut order: Vec<usize> = (0..current.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(current[i].ret));
    for i in order {
        if current[i].is_unknown() || spent.get() >= total.steps {
            continue;
        }
        let saved = current[i].clone();
        current[i].output = None;
        current[i].ret = None;
        if !fails(&current) {
            current[i] = saved;
        }
    }
    definite_ids(&current)
}

fn definite_ids<I, O>(ops: &[Operation<I, O>]) -> Vec<u64> {
    let mut ids: Vec<u64> = ops
        .iter()
        .filter(|op| !op.is_unknown())
        .map(|op| op.id)
        .collect();
    ids.sort_unstable();
    ids
}

/// The part cut at `t`.
fn cut<I: Clone, O: Clone>(ops: &[Operation<I, O>], t: u64) -> Vec<Operation<I, O>> {
    ops.iter()
        .filter(|op| op.call <= t)
        .map(|op| {
            let mut op = op.clone();
            if op.ret.is_none_or(|r| r > t) {
                op.output = None;
                op.ret = None;
            }
            op
        })
        .collect()
}

/// The shortest cut (at a definite op's return) that still fails, if any does.
fn earliest_failing_cut<I: Clone, O: Clone, F>(
    ops: &[Operation<I, O>],
    fails: &F,
) -> Option<Vec<Operation<I, O>>>
where
    F: Fn(&[Operation<I, O>]) -> bool,
{
    let mut times: Vec<u64> = ops
        .iter()
        .filter(|op| !op.is_unknown())
        .filter_map(|op| op.ret)
        .collect();
    times.sort_unstable();
    times.dedup();
    let (mut lo, mut hi) = (0, times.len());
    // Invariant: cuts before `lo` pass; the cut at `hi` (or the whole part) fails.
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(&cut(ops, times[mid])) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    times.get(hi).map(|&t| cut(ops, t))
}
