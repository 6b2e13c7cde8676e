//! `zabsim check`: check a history file on its own — ours (JSON), a Jepsen register log, or a
//! Porcupine kv log — print each property's status, write an HTML timeline for violations.

use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zab_check::external::{check_text, ExternalFormat, ExternalModel};
use zab_check::lin::Budget;
use zab_check::report::{history_timeline, write_report, Timeline};
use zab_check::{CheckOptions, History, Report, Status, Verdict};
use zab_core::Millis;

/// The sequential specification to check against.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// The znode tree plus ZooKeeper's session guarantees and replica invariants.
    Tree,
    /// A nil-initialised read/write/cas register (Jepsen etcd logs).
    Register,
    /// Independent keys with get/put/append (Porcupine kv logs).
    Kv,
}

/// The history file's format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// zabsim's history JSON.
    Json,
    /// Jepsen's `jepsen.util` register log.
    Jepsen,
    /// One EDN map per line.
    Edn,
}

/// Arguments of `zabsim check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The history file.
    pub history: PathBuf,
    #[arg(long, value_enum, default_value = "tree")]
    pub model: ModelArg,
    #[arg(long, value_enum, default_value = "json")]
    pub format: FormatArg,
    /// Linearizability search budget in model steps per independent part; running out gives
    /// the verdict "unknown", never "ok".
    #[arg(long, default_value_t = Budget::default().steps)]
    pub budget: u64,
    /// Where violation timelines are written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Require every op invoked after the last fault to complete within this many ms.
    #[arg(long)]
    pub liveness_ms: Option<u64>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run the subcommand. Exit codes: 0 ok, 1 violation, 2 bad input, 3 unknown.
pub fn run(args: CheckArgs) -> ExitCode {
    match check(&args) {
        Ok(verdict) => match verdict {
            Verdict::Ok => ExitCode::SUCCESS,
            Verdict::Violation => ExitCode::from(1),
            Verdict::Unknown => ExitCode::from(3),
        },
        Err(message) => {
            eprintln!("zabsim check: {message}");
            ExitCode::from(2)
        }
    }
}

fn check(args: &CheckArgs) -> Result<Verdict, String> {
    let text = std::fs::read_to_string(&args.history)
        .map_err(|e| format!("{}: {e}", args.history.display()))?;
    let name = args
        .history
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history".into());
    let budget = Budget { steps: args.budget };
    let (report, timeline) = match (args.model, args.format) {
        (ModelArg::Tree, FormatArg::Json) => {
            let history = parse_history(&text)
                .map_err(|e| format!("{}: not a history: {e}", args.history.display()))?;
            let options = CheckOptions {
                budget,
                liveness_bound: args.liveness_ms.map(Millis),
                ..CheckOptions::default()
            };
            let report = zab_check::check_history(&history, &options)
                .map_err(|e| format!("{}: {e}", args.history.display()))?;
            let timeline = history_timeline(&name, &history, &report.violations);
            (report, timeline)
        }
        (ModelArg::Tree, format) => {
            return Err(format!(
                "the tree model reads zabsim's JSON histories, not {format:?}; use --model register --format jepsen or --model kv --format edn"
            ))
        }
        (model, FormatArg::Json) => {
            return Err(format!(
                "--model {model:?} needs --format jepsen (register) or edn (kv)"
            ))
        }
        (model, format) => {
            let model = match model {
                ModelArg::Register => ExternalModel::Register,
                _ => ExternalModel::Kv,
            };
            let format = match format {
                FormatArg::Jepsen => ExternalFormat::Jepsen,
                _ => ExternalFormat::Edn,
            };
            let checked = check_text(model, format, &name, &text, budget)
                .map_err(|e| format!("{}: {e}", args.history.display()))?;
            (checked.report, checked.timeline)
        }
    };
    print_report(args, &report)?;
    if !report.violations.is_empty() {
        write_timeline(&args.reports, &name, &timeline)?;
    }
    Ok(report.verdict())
}

/// A history file, or a `zabsim run` report (which carries the history under `history`).
fn parse_history(text: &str) -> Result<History, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    match value {
        serde_json::Value::Object(mut map)
            if !map.contains_key("ops") && map.contains_key("history") =>
        {
            serde_json::from_value(map.remove("history").unwrap_or_default())
        }
        other => serde_json::from_value(other),
    }
}

fn print_report(args: &CheckArgs, report: &Report) -> Result<(), String> {
    if args.json {
        let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        println!("{json}");
        return Ok(());
    }
    for result in &report.results {
        let status = match &result.status {
            Status::Holds => "holds".to_string(),
            Status::Violated => "VIOLATED".to_string(),
            Status::Unknown { reason } => format!("unknown ({reason})"),
            Status::Skipped { reason } => format!("skipped ({reason})"),
        };
        println!("{:<28} {status}", result.property.name());
    }
    for violation in &report.violations {
        println!("violation: {violation}");
    }
    println!("search steps: {}", report.search_steps);
    println!("verdict: {}", report.verdict());
    Ok(())
}

fn write_timeline(dir: &Path, name: &str, timeline: &Timeline) -> Result<(), String> {
    let path = write_report(dir, name, timeline)
        .map_err(|e| format!("cannot write report to {}: {e}", dir.display()))?;
    println!("report: {}", path.display());
    Ok(())
}
