//! `zabsim check` gives the published verdict for every public history in
//! `crates/zab-check/testdata` (exit 0 = linearizable, 1 = not; 3 = unknown counts as a
//! disagreement), writes a timeline for each violation, and rejects bad input with exit 2.

use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../zab-check/testdata")
}

fn zabsim_check(args: &[&str], file: &Path, reports: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zabsim"))
        .arg("check")
        .args(args)
        .arg(file)
        .arg("--reports")
        .arg(reports)
        .output()
        .expect("zabsim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zabsim-check-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_jepsen_etcd_log_gets_its_published_verdict() {
    let dir = testdata().join("jepsen-etcd");
    let reports = scratch("etcd");
    let expected = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (file, verdict) = line.split_once('\t').expect("file\tverdict");
        let want = match verdict.trim() {
            "linearizable" => 0,
            "not-linearizable" => 1,
            other => panic!("unknown verdict {other}"),
        };
        let (code, output) = zabsim_check(
            &["--model", "register", "--format", "jepsen"],
            &dir.join(file),
            &reports,
        );
        if code != want {
            disagreements.push(format!("{file}: want exit {want}, got {code}\n{output}"));
        }
        if want == 1 {
            let stem = file.trim_end_matches(".log");
            assert!(
                reports.join(format!("{stem}.html")).exists(),
                "{file}: timeline written"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 50);
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn porcupine_kv_ok_files_pass_and_bad_files_fail() {
    let dir = testdata().join("porcupine-kv");
    let reports = scratch("kv");
    for (file, want) in [
        ("c01-ok.txt", 0),
        ("c01-bad.txt", 1),
        ("c10-ok.txt", 0),
        ("c10-bad.txt", 1),
    ] {
        let (code, output) = zabsim_check(
            &["--model", "kv", "--format", "edn"],
            &dir.join(file),
            &reports,
        );
        assert_eq!(code, want, "{file}:\n{output}");
        if want == 1 {
            assert!(output.contains("linearizable"), "{output}");
        }
    }
}

#[test]
fn tiny_budget_is_unknown_not_ok() {
    let file = testdata().join("jepsen-etcd/etcd_002.log");
    let (code, output) = zabsim_check(
        &[
            "--model", "register", "--format", "jepsen", "--budget", "10",
        ],
        &file,
        &scratch("budget"),
    );
    assert_eq!(code, 3, "{output}");
    assert!(output.contains("verdict: unknown"), "{output}");
}

#[test]
fn bad_input_is_exit_2_with_a_message() {
    let reports = scratch("bad");
    let file = testdata().join("porcupine-kv/c01-ok.txt");
    let (code, output) = zabsim_check(
        &["--model", "register", "--format", "jepsen"],
        &file,
        &reports,
    );
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("line"), "names the line: {output}");
    let (code, output) = zabsim_check(&["--model", "kv", "--format", "jepsen"], &file, &reports);
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("valid pairs"), "{output}");
    let missing = reports.join("does-not-exist.json");
    let (code, _) = zabsim_check(&[], &missing, &reports);
    assert_eq!(code, 2);
}

#[test]
fn our_history_json_is_checked_with_every_property() {
    let dir = scratch("json");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let history = zab_check::synth::tree_history(&zab_check::synth::SynthConfig {
        ops: 300,
        ..Default::default()
    });
    let file = dir.join("history.json");
    std::fs::write(&file, serde_json::to_string(&history).expect("json")).expect("write");
    let (code, output) = zabsim_check(&[], &file, &dir);
    assert_eq!(code, 0, "{output}");
    for property in ["linearizable-writes", "session-fifo", "no-acked-write-lost"] {
        assert!(output.contains(property), "{property} reported: {output}");
    }
}

#[test]
fn a_run_report_is_checked_through_its_history() {
    let dir = scratch("report");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let history = zab_check::synth::tree_history(&zab_check::synth::SynthConfig {
        ops: 200,
        ..Default::default()
    });
    let report = serde_json::json!({ "seed": 1, "history": history });
    let file = dir.join("run-report.json");
    std::fs::write(&file, report.to_string()).expect("write");
    let (code, output) = zabsim_check(&[], &file, &dir);
    assert_eq!(code, 0, "{output}");
    std::fs::write(&file, "{\"seed\": 1}").expect("write");
    let (code, output) = zabsim_check(&[], &file, &dir);
    assert_eq!(code, 2, "{output}");
}
