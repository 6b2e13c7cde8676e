//! Every shipped scenario, run through the library with its own seed, concludes what its
//! `[expect]` says.

use std::path::Path;
use zab_sim::engine::Sim;
use zab_sim::report::{judge, summarize};
use zab_sim::trace::Trace;

fn check(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let scenario = zab_sim::scenario::load(&path).unwrap();
    let seed = scenario.seed;
    let sim: Sim = Sim::new(scenario.clone(), seed, Trace::new());
    let out = sim.run(|_| {});
    let (violations, checks) = judge(&scenario, &out.history);
    let summary = summarize(&scenario, seed, &out, violations, checks);
    assert!(summary.as_expected, "{}", summary.render());
}

#[test]
fn leader_crash_is_as_expected() {
    check("leader-crash.toml");
}

#[test]
fn power_off_leader_is_as_expected() {
    check("power-off-leader.toml");
}

#[test]
fn follower_partition_is_as_expected() {
    check("follower-partition.toml");
}

#[test]
fn one_way_partition_is_as_expected() {
    check("one-way-partition.toml");
}

#[test]
fn observer_is_as_expected() {
    check("observer.toml");
}

#[test]
fn disk_fault_is_as_expected() {
    check("disk-fault.toml");
}

#[test]
fn start_in_order_elects_server_3() {
    check("start-in-order.toml");
}

#[test]
fn ack_before_fsync_loses_an_acknowledged_write_and_the_checker_says_so() {
    check("ack-before-fsync.toml");
}

#[test]
fn ack_epoch_before_persist_breaks_primary_uniqueness_and_the_checker_says_so() {
    check("ack-epoch-before-persist.toml");
}

#[test]
fn client_partition_keeps_the_sessions_alive() {
    check("client-partition.toml");
}

#[test]
fn follower_expires_sessions_is_named_no_premature_expiry() {
    check("follower-expires-sessions.toml");
}

#[test]
fn nemesis_is_as_expected() {
    check("nemesis.toml");
}

#[test]
fn every_shipped_scenario_has_a_test_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let this = include_str!("scenarios.rs");
    for n in names {
        assert!(
            this.contains(&format!("check(\"{n}\")")),
            "no test runs scenarios/{n}"
        );
    }
}
