//! `cargo xtask ci` runs exactly what `.ci/run` runs; `cargo xtask bench` runs the benchmarks.

use std::process::{Command, ExitCode};

fn run(program: &str, args: &[&str]) -> bool {
    eprintln!("xtask: {program} {}", args.join(" "));
    Command::new(program)
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let ok = match task.as_str() {
        "ci" => run("bash", &[".ci/run"]),
        "bench" => {
            run(
                "cargo",
                &["bench", "--package", "zab-sim", "--bench", "throughput"],
            ) & run(
                "cargo",
                &["bench", "--package", "zab-check", "--bench", "check"],
            )
        }
        _ => {
            eprintln!("usage: cargo xtask <ci|bench>");
            false
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
