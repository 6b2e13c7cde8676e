//! `zabsim run` and `zabsim replay`: run a scenario with a seed, print what happened, judge it
//! against `[expect]`, write a report that `replay` re-runs bit-for-bit.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use zab_sim::engine::Sim;
use zab_sim::report::{judge, summarize, Report, Summary};
use zab_sim::scenario::{self, Scenario};
use zab_sim::trace::{format_hash, Trace};
use zab_sim::RunOutput;

/// Exit code when the scenario file or a report cannot be used.
const EXIT_BAD_INPUT: u8 = 2;

/// Runs with at least this many simulated seconds show a progress bar (on a terminal).
const PROGRESS_MIN_SIM_SECS: u64 = 60;

fn execute(scenario: &Scenario, seed: u64, trace: Trace) -> (RunOutput, Summary) {
    let sim: Sim = Sim::new(scenario.clone(), seed, trace);
    let end_ms = (scenario.duration.0 + scenario.quiet.0) / 1000;
    let bar =
        (std::io::stderr().is_terminal() && end_ms >= PROGRESS_MIN_SIM_SECS * 1000).then(|| {
            let bar = ProgressBar::new(end_ms);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} simulated ms  {per_sec}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
    let started = Instant::now();
    let out = sim.run(|p| {
        if let Some(bar) = &bar {
            bar.set_position(p.now.as_millis());
        }
    });
    let wall = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (violations, checks) = judge(scenario, &out.history);
    let mut summary = summarize(scenario, seed, &out, violations, checks);
    summary.wall_ms = wall.as_millis() as u64;
    (out, summary)
}

fn report_path(scenario: &Scenario, seed: u64) -> PathBuf {
    Path::new("reports").join(format!("{}-{seed}.json", scenario.name))
}

/// `zabsim run FILE [--seed N] [--trace FILE.jsonl]`.
pub fn run(path: &Path, seed: Option<u64>, trace_path: Option<&Path>) -> ExitCode {
    let scenario = match scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let seed = seed.unwrap_or(scenario.seed);
    let trace = match trace_path {
        Some(p) => match Trace::to_file(p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot write the trace {}: {e}", p.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
        None => Trace::new(),
    };
    let (out, summary) = execute(&scenario, seed, trace);
    print!("{}", summary.render());
    if let Some(e) = &out.trace_error {
        eprintln!("warning: the trace file is incomplete: {e}");
    }
    let report = Report {
        scenario_path: path.display().to_string(),
        scenario_text: text,
        seed,
        trace_hash: summary.trace_hash.clone(),
        summary: summary.clone(),
        history: out.history,
    };
    let file = report_path(&scenario, seed);
    let written = std::fs::create_dir_all("reports")
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::to_vec(&report).map_err(|e| e.to_string()))
        .and_then(|bytes| std::fs::write(&file, bytes).map_err(|e| e.to_string()));
    match written {
        Ok(()) => println!("report: {}", file.display()),
        Err(e) => eprintln!("warning: cannot write the report {}: {e}", file.display()),
    }
    if summary.as_expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `zabsim replay REPORT.json`: run the recorded scenario text with the recorded seed and
/// compare trace hashes.
pub fn replay(report_file: &Path) -> ExitCode {
    let report: Report = match std::fs::read(report_file)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: not a zabsim report: {e}", report_file.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let name = Path::new(&report.scenario_path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let scenario = match scenario::parse(&report.scenario_path, &name, &report.scenario_text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: the report's scenario no longer parses: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let (out, summary) = execute(&scenario, report.seed, Trace::new());
    print!("{}", summary.render());
    let now = format_hash(out.trace_hash);
    if now == report.trace_hash {
        println!("replay: same trace hash {now} (seed {})", report.seed);
        ExitCode::SUCCESS
    } else {
        println!(
            "replay: DIFFERENT trace hash: recorded {}, now {now} (seed {})",
            report.trace_hash, report.seed
        );
        ExitCode::FAILURE
    }
}
