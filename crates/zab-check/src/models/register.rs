//! A single read/write/compare-and-set register that starts as nil: the model of the Jepsen
//! etcd histories (Knossos's `cas-register`).

use crate::lin::Model;

/// What a register op asked for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    Read,
    Write(i64),
    /// Set to `to` if the value is `from`.
    Cas {
        from: i64,
        to: i64,
    },
}

/// What it observed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// `None` is nil.
    Read(Option<i64>),
    Write,
    /// Did the compare succeed?
    Cas(bool),
}

/// The register model.
#[derive(Copy, Clone, Debug, Default)]
pub struct RegisterModel;

impl Model for RegisterModel {
    type State = Option<i64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Option<Option<i64>> {
        match (input, output) {
            (RegisterInput::Read, None) => Some(*state),
            (RegisterInput::Read, Some(RegisterOutput::Read(seen))) => {
                (seen == state).then_some(*state)
            }
            (RegisterInput::Write(v), None | Some(RegisterOutput::Write)) => Some(Some(*v)),
            (RegisterInput::Cas { from, to }, output) => {
                let matches = *state == Some(*from);
                let next = if matches { Some(*to) } else { *state };
                match output {
                    None => Some(next),
                    Some(RegisterOutput::Cas(ok)) if *ok == matches => Some(next),
                    _ => None,
                }
            }
            // An output of the wrong kind can never be produced.
            _ => None,
        }
    }

    fn is_read_only(&self, input: &RegisterInput) -> bool {
        matches!(input, RegisterInput::Read)
    }

    fn describe(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let out = match output {
            None => "?".to_string(),
            Some(RegisterOutput::Read(None)) => "nil".to_string(),
            Some(RegisterOutput::Read(Some(v))) => v.to_string(),
            Some(RegisterOutput::Write) => "ok".to_string(),
            Some(RegisterOutput::Cas(true)) => "ok".to_string(),
            Some(RegisterOutput::Cas(false)) => "fail".to_string(),
        };
        match input {
            RegisterInput::Read => format!("read -> {out}"),
            RegisterInput::Write(v) => format!("write({v}) -> {out}"),
            RegisterInput::Cas { from, to } => format!("cas({from}, {to}) -> {out}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lin::{check_operations, Budget, Operation, PartitionVerdict};

    fn op(
        id: u64,
        input: RegisterInput,
        output: Option<RegisterOutput>,
        call: u64,
        ret: Option<u64>,
    ) -> Operation<RegisterInput, RegisterOutput> {
        Operation {
            id,
            client: id,
            input,
            output,
            call,
            ret,
        }
    }

    fn verdict(ops: &[Operation<RegisterInput, RegisterOutput>]) -> PartitionVerdict {
        check_operations(&RegisterModel, ops, Budget::default()).verdict()
    }

    #[test]
    fn concurrent_write_and_read_of_new_value_is_linearizable() {
        let ops = [
            op(
                0,
                RegisterInput::Write(1),
                Some(RegisterOutput::Write),
                0,
                Some(10),
            ),
            op(
                1,
                RegisterInput::Read,
                Some(RegisterOutput::Read(Some(1))),
                5,
                Some(6),
            ),
            op(
                2,
                RegisterInput::Read,
                Some(RegisterOutput::Read(Some(1))),
                11,
                Some(12),
            ),
        ];
        assert_eq!(verdict(&ops), PartitionVerdict::Linearizable);
    }

    #[test]
    fn stale_read_after_completed_write_is_not_linearizable() {
        let ops = [
            op(
                0,
                RegisterInput::Write(1),
                Some(RegisterOutput::Write),
                0,
                Some(10),
            ),
            op(
                1,
                RegisterInput::Read,
                Some(RegisterOutput::Read(None)),
                11,
                Some(12),
            ),
        ];
        assert_eq!(verdict(&ops), PartitionVerdict::NotLinearizable);
    }

    #[test]
    fn unknown_write_may_take_effect_late_or_never() {
        // The write timed out: a read of nil and a later read of 1 are both explained.
        let ops = [
            op(0, RegisterInput::Write(1), None, 0, None),
            op(
                1,
                RegisterInput::Read,
                Some(RegisterOutput::Read(None)),
                5,
                Some(6),
            ),
            op(
                2,
                RegisterInput::Read,
                Some(RegisterOutput::Read(Some(1))),
                100,
                Some(101),
            ),
        ];
        assert_eq!(verdict(&ops), PartitionVerdict::Linearizable);
        // But it cannot be undone once seen.
        let mut flipped = ops.to_vec();
        flipped.push(op(
            3,
            RegisterInput::Read,
            Some(RegisterOutput::Read(None)),
            200,
            Some(201),
        ));
        assert_eq!(verdict(&flipped), PartitionVerdict::NotLinearizable);
    }

    #[test]
    fn failed_cas_is_evidence_that_the_value_differed() {
        let ops = [
            op(
                0,
                RegisterInput::Write(3),
                Some(RegisterOutput::Write),
                0,
                Some(1),
            ),
            op(
                1,
                RegisterInput::Cas { from: 3, to: 4 },
                Some(RegisterOutput::Cas(false)),
                2,
                Some(3),
            ),
        ];
        assert_eq!(verdict(&ops), PartitionVerdict::NotLinearizable);
    }

    #[test]
    fn exhausted_budget_is_unknown_never_ok() {
        let ops: Vec<_> = (0..12)
            .map(|i| op(i, RegisterInput::Write(i as i64), None, i, None))
            .chain([op(
                99,
                RegisterInput::Read,
                Some(RegisterOutput::Read(Some(-1))),
                50,
                Some(51),
            )])
            .collect();
        let outcome = check_operations(&RegisterModel, &ops, Budget { steps: 10 });
        assert_eq!(outcome.verdict(), PartitionVerdict::Unknown);
    }

    #[test]
    fn minimize_keeps_only_the_outcomes_that_show_the_violation() {
        let ops = [
            op(
                0,
                RegisterInput::Write(1),
                Some(RegisterOutput::Write),
                0,
                Some(10),
            ),
            op(
                1,
                RegisterInput::Write(7),
                Some(RegisterOutput::Write),
                0,
                Some(3),
            ),
            op(
                2,
                RegisterInput::Read,
                Some(RegisterOutput::Read(Some(1))),
                20,
                Some(21),
            ),
            op(
                3,
                RegisterInput::Read,
                Some(RegisterOutput::Read(Some(7))),
                30,
                Some(31),
            ),
        ];
        assert_eq!(verdict(&ops), PartitionVerdict::NotLinearizable);
        let refs: Vec<_> = ops.iter().collect();
        let core = crate::lin::minimize(
            &RegisterModel,
            &refs,
            Budget::default(),
            Budget::default(),
            100,
        );
        // Reading 1 then 7 is only impossible because write(7) had completed before read 1.
        assert_eq!(core, vec![1, 2, 3]);
    }
}
