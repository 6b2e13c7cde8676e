//! The search itself. Ops become call and return entries in a doubly linked list sorted by
//! time; the search walks it, tries to linearise each call it meets (the model must accept
//! the op in the current state), lifts a linearised op's entries out of the list, and
//! backtracks when it meets the return of an op it has not linearised. A set of
//! (linearised ops, state) pairs already explored prunes revisits (Lowe's memoisation).
//!
//! Entries with equal times put calls first, so ops that touch at one instant count as
//! concurrent: the permissive reading, which can only hide a violation, never invent one.

use super::bitset::Bitset;
use super::{Budget, Model, Operation};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A small multiplicative hasher for the memo's bitset keys (Firefox's "Fx" scheme). The
/// memo is only probed, never iterated, and the hasher has no random key, so nothing about
/// it can leak nondeterminism; SipHash was most of the search's time.
#[derive(Default)]
struct WordHasher {
    hash: u64,
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The (linearised set, state) pairs already explored.
type Memo<S> = HashSet<(Bitset, S), BuildHasherDefault<WordHasher>>;

const NIL: usize = usize::MAX;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    Call,
    Return,
}

#[derive(Clone, Debug)]
struct Entry {
    kind: Kind,
    /// Index of the op in the part.
    op: usize,
    /// The call's return entry (for a call) or the return's call entry.
    matching: usize,
    prev: usize,
    next: usize,
}

/// The verdict on one independent part of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionVerdict {
    Linearizable,
    /// No order of the part's ops is both consistent with real time and accepted by the model.
    NotLinearizable,
    /// The step budget ran out first: nothing was proven either way.
    Unknown,
}

/// One part's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    /// The caller's ids of the ops in this part.
    pub ops: Vec<u64>,
    pub verdict: PartitionVerdict,
    /// Model steps the search took.
    pub steps: u64,
    /// The most ops the search ever had linearised at once (how far it got).
    pub max_linearized: usize,
}

/// The verdict on a whole history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinOutcome {
    pub partitions: Vec<PartitionResult>,
}

impl LinOutcome {
    /// Not linearizable if any part is not; otherwise unknown if any part is unknown.
    pub fn verdict(&self) -> PartitionVerdict {
        let verdicts = self.partitions.iter().map(|p| &p.verdict);
        if verdicts
            .clone()
            .any(|v| *v == PartitionVerdict::NotLinearizable)
        {
            PartitionVerdict::NotLinearizable
        } else if verdicts.clone().any(|v| *v == PartitionVerdict::Unknown) {
            PartitionVerdict::Unknown
        } else {
            PartitionVerdict::Linearizable
        }
    }

    pub fn steps(&self) -> u64 {
        self.partitions.iter().map(|p| p.steps).sum()
    }

    /// The parts that are not linearizable.
    pub fn violations(&self) -> impl Iterator<Item = &PartitionResult> {
        self.partitions
            .iter()
            .filter(|p| p.verdict == PartitionVerdict::NotLinearizable)
    }
}

/// Check a whole history: drop unknown read-only ops (they constrain nothing), split it with
/// the model's partition, search every part. `budget` applies to each part.
pub fn check_operations<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    budget: Budget,
) -> LinOutcome {
    let kept: Vec<Operation<M::Input, M::Output>> = ops
        .iter()
        .filter(|op| !(op.is_unknown() && model.is_read_only(&op.input)))
        .cloned()
        .collect();
    let parts = model.partition(&kept);
    debug_assert_eq!(
        parts.iter().map(Vec::len).sum::<usize>(),
        kept.len(),
        "a partition must place every op exactly once"
    );
    let partitions = parts
        .iter()
        .map(|indices| {
            let part: Vec<&Operation<M::Input, M::Output>> =
                indices.iter().map(|&i| &kept[i]).collect();
            check_partition(model, &part, budget)
        })
        .collect();
    LinOutcome { partitions }
}

/// Search one part.
pub fn check_partition<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    budget: Budget,
) -> PartitionResult {
    let mut search = Search::new(ops);
    let init = model.init_for(ops);
    let (verdict, steps) = search.run(model, ops, init, budget);
    PartitionResult {
        ops: ops.iter().map(|op| op.id).collect(),
        verdict,
        steps,
        max_linearized: search.max_depth,
    }
}

struct Search {
    entries: Vec<Entry>,
    head: usize,
    max_depth: usize,
}

impl Search {
    fn new<I, O>(ops: &[&Operation<I, O>]) -> Search {
        // (time, kind, op): calls sort before returns at equal times; unknown returns last.
        let mut keys: Vec<(u64, u8, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            let ret = match (op.ret, &op.output) {
                (Some(t), Some(_)) => t,
                _ => u64::MAX,
            };
            debug_assert!(ret >= op.call, "op {} returns before it is called", op.id);
            keys.push((op.call, 0, i));
            keys.push((ret, 1, i));
        }
        keys.sort_unstable();
        let n = keys.len();
        let mut call_at = vec![NIL; ops.len()];
        let mut ret_at = vec![NIL; ops.len()];
        let mut entries: Vec<Entry> = keys
            .iter()
            .enumerate()
            .map(|(pos, &(_, kind, op))| {
                let kind = if kind == 0 {
                    call_at[op] = pos;
                    Kind::Call
                } else {
                    ret_at[op] = pos;
                    Kind::Return
                };
                Entry {
                    kind,
                    op,
                    matching: NIL,
                    prev: if pos == 0 { n } else { pos - 1 },
                    next: if pos + 1 == n { NIL } else { pos + 1 },
                }
            })
            .collect();
        for entry in entries.iter_mut() {
            entry.matching = match entry.kind {
                Kind::Call => ret_at[entry.op],
                Kind::Return => call_at[entry.op],
            };
        }
        // The head sentinel.
        entries.push(Entry {
            kind: Kind::Call,
            op: NIL,
            matching: NIL,
            prev: NIL,
            next: if n == 0 { NIL } else { 0 },
        });
        Search {
            entries,
            head: n,
            max_depth: 0,
        }
    }

    /// Unlink a call entry and its return.
    fn lift(&mut self, call: usize) {
        let ret = self.entries[call].matching;
        let (p, n) = (self.entries[call].prev, self.entries[call].next);
        self.entries[p].next = n;
        if n != NIL {
            self.entries[n].prev = p;
        }
        let (p, n) = (self.entries[ret].prev, self.entries[ret].next);
        self.entries[p].next = n;
        if n != NIL {
            self.entries[n].prev = p;
        }
    }

    /// Undo `lift`; only valid in reverse order of lifting.
    fn unlift(&mut self, call: usize) {
        let ret = self.entries[call].matching;
        let (p, n) = (self.entries[ret].prev, self.entries[ret].next);
        self.entries[p].next = ret;
        if n != NIL {
            self.entries[n].prev = ret;
        }
        let (p, n) = (self.entries[call].prev, self.entries[call].next);
        self.entries[p].next = call;
        if n != NIL {
            self.entries[n].prev = call;
        }
    }

    fn run<M: Model>(
        &mut self,
        model: &M,
        ops: &[&Operation<M::Input, M::Output>],
        init: M::State,
        budget: Budget,
    ) -> (PartitionVerdict, u64) {
        let mut state = init;
        let mut linearized = Bitset::new(ops.len());
        let mut memo: Memo<M::State> = Memo::default();
        let mut calls: Vec<(usize, M::State)> = Vec::new();
        let mut steps: u64 = 0;
        let mut entry = self.entries[self.head].next;
        while self.entries[self.head].next != NIL {
            debug_assert!(entry != NIL, "the walk fell off the list before a return");
            let current = self.entries[entry].clone();
            match current.kind {
                Kind::Call => {
                    steps += 1;
                    if steps > budget.steps {
                        return (PartitionVerdict::Unknown, steps);
                    }
                    let op = ops[current.op];
                    let accepted = model.step(&state, &op.input, op.output.as_ref());
                    let mut advanced = false;
                    if let Some(next) = accepted {
                        let mut key = linearized.clone();
                        key.set(current.op);
                        if memo.insert((key, next.clone())) {
                            calls.push((entry, std::mem::replace(&mut state, next)));
                            linearized.set(current.op);
                            self.lift(entry);
                            self.max_depth = self.max_depth.max(calls.len());
                            entry = self.entries[self.head].next;
                            advanced = true;
                        }
                    }
                    if !advanced {
                        entry = current.next;
                    }
                }
                Kind::Return => {
                    // The op returning here was never linearised: some earlier choice was wrong.
                    let Some((call, previous)) = calls.pop() else {
                        return (PartitionVerdict::NotLinearizable, steps);
                    };
                    state = previous;
                    linearized.clear(self.entries[call].op);
                    self.unlift(call);
                    entry = self.entries[call].next;
                }
            }
        }
        debug_assert_eq!(linearized.count(), ops.len(), "every op linearised");
        (PartitionVerdict::Linearizable, steps)
    }
}
