//! A key/value store with get, put and append, keys independent: the model of Porcupine's kv
//! histories. A missing key reads as the empty string.

use crate::lin::{Model, Operation};
use std::collections::BTreeMap;

/// What a kv op does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    Get,
    Put,
    Append,
}

/// A kv op's input.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvInput {
    pub op: KvOp,
    pub key: String,
    /// The value written (put, append); empty for get.
    pub value: String,
}

/// A kv op's output: the value read (get), empty otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvOutput {
    pub value: String,
}

/// The kv model. Its state is the value of the one key in a part (parts are per key).
#[derive(Copy, Clone, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    type State = String;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match input.op {
            KvOp::Get => match output {
                None => Some(state.clone()),
                Some(out) => (out.value == *state).then(|| state.clone()),
            },
            KvOp::Put => Some(input.value.clone()),
            KvOp::Append => Some(format!("{state}{}", input.value)),
        }
    }

    /// One part per key, in order of first appearance.
    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&str, usize> = BTreeMap::new();
        let mut parts: Vec<Vec<usize>> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let part = *by_key.entry(op.input.key.as_str()).or_insert_with(|| {
                parts.push(Vec::new());
                parts.len() - 1
            });
            parts[part].push(i);
        }
        parts
    }

    fn is_read_only(&self, input: &KvInput) -> bool {
        input.op == KvOp::Get
    }

    fn describe(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        match (input.op, output) {
            (KvOp::Get, Some(out)) => format!("get({:?}) -> {:?}", input.key, out.value),
            (KvOp::Get, None) => format!("get({:?}) -> ?", input.key),
            (KvOp::Put, _) => format!("put({:?}, {:?})", input.key, input.value),
            (KvOp::Append, _) => format!("append({:?}, {:?})", input.key, input.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lin::{check_operations, Budget, PartitionVerdict};

    fn op(
        id: u64,
        op: KvOp,
        key: &str,
        value: &str,
        call: u64,
        ret: u64,
    ) -> Operation<KvInput, KvOutput> {
        let input = KvInput {
            op,
            key: key.into(),
            value: if op == KvOp::Get {
                String::new()
            } else {
                value.into()
            },
        };
        let output = KvOutput {
            value: if op == KvOp::Get {
                value.into()
            } else {
                String::new()
            },
        };
        Operation {
            id,
            client: id,
            input,
            output: Some(output),
            call,
            ret: Some(ret),
        }
    }

    #[test]
    fn appends_on_different_keys_are_checked_apart() {
        let ops = [
            op(0, KvOp::Append, "a", "x", 0, 5),
            op(1, KvOp::Append, "b", "y", 0, 5),
            op(2, KvOp::Get, "a", "x", 6, 7),
            op(3, KvOp::Get, "b", "y", 6, 7),
        ];
        let outcome = check_operations(&KvModel, &ops, Budget::default());
        assert_eq!(outcome.partitions.len(), 2);
        assert_eq!(outcome.verdict(), PartitionVerdict::Linearizable);
    }

    #[test]
    fn lost_append_is_not_linearizable() {
        let ops = [
            op(0, KvOp::Append, "a", "x", 0, 5),
            op(1, KvOp::Append, "a", "y", 6, 8),
            op(2, KvOp::Get, "a", "y", 9, 10),
        ];
        let outcome = check_operations(&KvModel, &ops, Budget::default());
        assert_eq!(outcome.verdict(), PartitionVerdict::NotLinearizable);
    }
}
