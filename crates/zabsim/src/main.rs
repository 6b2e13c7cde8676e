//! zabsim's command line. Each subcommand is a thin layer over a library crate.

mod check;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod run;

#[derive(Parser)]
#[command(
    name = "zabsim",
    version,
    about = "Deterministic simulation testbed and server for ZooKeeper's protocols"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario file with a seed and check the run.
    Run {
        scenario: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Run a scenario over many seeds.
    Sweep { scenario: PathBuf },
    /// Re-run a report and confirm the same trace hash.
    Replay { report: PathBuf },
    /// Shrink a failing run to a smaller one that still fails.
    Shrink { report: PathBuf },
    /// Check a history file: ours (JSON), a Jepsen register log or a Porcupine kv log.
    Check(check::CheckArgs),
    /// Serve real ZooKeeper clients from a zoo.cfg.
    Serve { config: PathBuf },
}

fn not_yet(what: &str) -> ExitCode {
    eprintln!("zabsim {what}: not yet implemented");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            scenario,
            seed,
            trace,
        } => run::run(&scenario, seed, trace.as_deref()),
        Command::Sweep { .. } => not_yet("sweep"),
        Command::Replay { report } => run::replay(&report),
        Command::Shrink { .. } => not_yet("shrink"),
        Command::Check(args) => check::run(args),
        Command::Serve { .. } => not_yet("serve"),
    }
}
