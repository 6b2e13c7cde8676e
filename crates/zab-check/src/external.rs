//! Checking other tools' histories (Jepsen register logs, Porcupine kv logs) with the same
//! engine, so verdicts and speed can be put beside Knossos's and Porcupine's.

use crate::formats::{edn, jepsen, FormatError};
use crate::lin::{check_operations, minimize, Budget, Model, Operation, PartitionVerdict};
use crate::models::kv::KvModel;
use crate::models::register::RegisterModel;
use crate::report::{operations_timeline, Timeline};
use crate::verdict::{Property, Report, Status, Violation};

/// Parts larger than this are reported whole instead of minimised (minimising runs one
/// search per op).
const MINIMIZE_OPS_MAX: usize = 400;
/// Each minimisation trial's budget; a trial that runs out keeps its op in the evidence.
const MINIMIZE_TRIAL_STEPS: u64 = 200_000;
/// All trials of one violation together: beyond this the evidence found so far is reported.
const MINIMIZE_TOTAL_STEPS: u64 = 1_000_000;

/// Which sequential specification.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExternalModel {
    Register,
    Kv,
}

/// Which file format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExternalFormat {
    Jepsen,
    Edn,
}

/// Why a file could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("model `{model}` cannot read format `{format}`; valid pairs: register+jepsen, kv+edn")]
    Unsupported {
        model: &'static str,
        format: &'static str,
    },
}

/// A checked file.
#[derive(Clone, Debug)]
pub struct ExternalCheck {
    pub report: Report,
    pub timeline: Timeline,
    pub ops: usize,
}

/// Parse and check one file's text.
pub fn check_text(
    model: ExternalModel,
    format: ExternalFormat,
    title: &str,
    text: &str,
    budget: Budget,
) -> Result<ExternalCheck, ExternalError> {
    match (model, format) {
        (ExternalModel::Register, ExternalFormat::Jepsen) => Ok(check_model(
            &RegisterModel,
            title,
            &jepsen::parse(text)?,
            budget,
        )),
        (ExternalModel::Kv, ExternalFormat::Edn) => {
            Ok(check_model(&KvModel, title, &edn::parse(text)?, budget))
        }
        (model, format) => Err(ExternalError::Unsupported {
            model: match model {
                ExternalModel::Register => "register",
                ExternalModel::Kv => "kv",
            },
            format: match format {
                ExternalFormat::Jepsen => "jepsen",
                ExternalFormat::Edn => "edn",
            },
        }),
    }
}

/// Check ops against any model; violations carry minimised evidence.
pub fn check_model<M: Model>(
    model: &M,
    title: &str,
    ops: &[Operation<M::Input, M::Output>],
    budget: Budget,
) -> ExternalCheck {
    let outcome = check_operations(model, ops, budget);
    let by_id: std::collections::BTreeMap<u64, &Operation<M::Input, M::Output>> =
        ops.iter().map(|op| (op.id, op)).collect();
    let mut violations = Vec::new();
    for part in outcome.violations() {
        let part_ops: Vec<&Operation<M::Input, M::Output>> =
            part.ops.iter().map(|id| by_id[id]).collect();
        let core = minimize(
            model,
            &part_ops,
            Budget {
                steps: MINIMIZE_TRIAL_STEPS,
            },
            Budget {
                steps: MINIMIZE_TOTAL_STEPS,
            },
            MINIMIZE_OPS_MAX,
        );
        let described: Vec<String> = core
            .iter()
            .take(8)
            .map(|id| {
                let op = by_id[id];
                format!("#{id} {}", model.describe(&op.input, op.output.as_ref()))
            })
            .collect();
        violations.push(
            Violation::new(
                Property::Linearizable,
                format!(
                    "no linearization of a part of {} ops; these {} outcomes cannot all hold: {}{}",
                    part.ops.len(),
                    core.len(),
                    described.join("; "),
                    if core.len() > 8 { "; …" } else { "" }
                ),
            )
            .with_ops(core),
        );
    }
    let mut report = Report {
        search_steps: outcome.steps(),
        ..Report::default()
    };
    match outcome.verdict() {
        PartitionVerdict::Unknown => report.record_status(
            Property::Linearizable,
            Status::Unknown {
                reason: format!("search budget of {} steps per part ran out", budget.steps),
            },
        ),
        _ => report.record(Property::Linearizable, violations),
    }
    let timeline = operations_timeline(
        title,
        ops,
        |op| model.describe(&op.input, op.output.as_ref()),
        &report.violations,
    );
    ExternalCheck {
        report,
        timeline,
        ops: ops.len(),
    }
}
