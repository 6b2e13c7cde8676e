//! A generic linearizability checker: Wing & Gong's search with Lowe's memoisation, as
//! Porcupine runs it, over any sequential specification that implements [`Model`].
//!
//! The engine knows nothing about ZooKeeper. Models for a register, a key/value store and the
//! znode tree live in `crate::models`; each says how a history splits into independent parts
//! (P-compositionality: a history is linearizable iff every part is).

mod bitset;
mod minimize;
mod search;

pub use minimize::minimize;
pub use search::{check_operations, check_partition, LinOutcome, PartitionVerdict};

use std::fmt::Debug;
use std::hash::Hash;

/// One operation as the engine sees it: a call, a return (or none: the outcome is unknown),
/// the input and the observed output.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation<I, O> {
    /// The caller's identifier for the op (an index into its own history), carried through
    /// to verdicts so that reports can name the op.
    pub id: u64,
    /// The client (Jepsen's "process") that issued it; only for reports.
    pub client: u64,
    pub input: I,
    /// `None`: the op may or may not have taken effect, and if it did, any output is allowed.
    /// Such an op returns at +infinity.
    pub output: Option<O>,
    pub call: u64,
    /// `None` for an unknown outcome (the op completes at +infinity).
    pub ret: Option<u64>,
}

impl<I, O> Operation<I, O> {
    /// Is the outcome indeterminate?
    pub fn is_unknown(&self) -> bool {
        self.output.is_none()
    }
}

/// A sequential specification.
pub trait Model {
    /// The state the specification evolves. `Hash + Eq` because the search memoises
    /// (linearised set, state) pairs: two states that compare equal must behave identically
    /// for every later op.
    type State: Clone + Eq + Hash + Debug;
    type Input: Clone + Debug;
    type Output: Clone + Debug;

    /// The state before any op.
    fn init(&self) -> Self::State;

    /// Apply `input` to `state`: `Some(next)` when the op can produce `output` from `state`
    /// (`None` output: the outcome is unknown, so any output is allowed), `None` when it
    /// cannot.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Split the ops into independent parts (indices into `ops`). The default keeps them
    /// together. A model may only split where ops in different parts can never influence
    /// each other's outcome.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }

    /// The state a part starts from. Models that split by object may start a part with only
    /// its objects (and stable surroundings).
    fn init_for(&self, _ops: &[&Operation<Self::Input, Self::Output>]) -> Self::State {
        self.init()
    }

    /// Ops that never change the state. With an unknown outcome such an op constrains
    /// nothing, so the engine drops it before searching.
    fn is_read_only(&self, _input: &Self::Input) -> bool {
        false
    }

    /// A short human description of an op, for reports.
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(o) => format!("{input:?} -> {o:?}"),
            None => format!("{input:?} -> ?"),
        }
    }
}

/// How many model steps one part's search may take before it gives up. Running out is the
/// verdict "unknown", never "ok".
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub steps: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { steps: 50_000_000 }
    }
}
