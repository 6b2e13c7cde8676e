use super::*;
use crate::scenario::parse;
use crate::trace::Trace;

fn scenario(text: &str) -> Scenario {
    parse("t.toml", "t", text).unwrap()
}

const ONE_SERVER_TWO_CLIENTS: &str = r#"
duration = "20s"
quiet = "0s"
[cluster]
voters = 1
[workload]
clients = 2
session_timeout = "6s"
"#;

#[test]
fn same_seed_same_trace_hash_different_seed_different_hash() {
    let s = scenario(ONE_SERVER_TWO_CLIENTS);
    let a = run(s.clone(), 5, Trace::new());
    let b = run(s.clone(), 5, Trace::new());
    let c = run(s, 6, Trace::new());
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn connects_to_a_crashed_process_are_refused_at_once_but_hang_on_a_powered_off_host() {
    let crash = scenario(&format!(
        "{ONE_SERVER_TWO_CLIENTS}[[fault]]\nat = \"0s\"\naction = \"crash\"\ntarget = 1\n"
    ));
    let power = scenario(&format!(
        "{ONE_SERVER_TWO_CLIENTS}[[fault]]\nat = \"0s\"\naction = \"power_off\"\ntarget = 1\n"
    ));
    let refused = run(crash, 1, Trace::new());
    let hung = run(power, 1, Trace::new());
    // Refused connects retry after a 0-1 s backoff; hung ones wait out the 6 s connect timeout.
    assert!(
        refused.client_connects >= 2 * 10,
        "refused: {} connects",
        refused.client_connects
    );
    assert!(
        hung.client_connects <= 2 * 4,
        "hung: {} connects",
        hung.client_connects
    );
    assert!(
        hung.counters.packets_lost > 0,
        "SYNs to a dead host are lost"
    );
}

#[test]
fn adding_a_client_does_not_change_the_network_stream() {
    // The network stream is forked by name: its first draws are the same whatever else runs.
    let mut a = crate::prng::Prng::root(3).fork("network");
    let mut clients = crate::prng::Prng::root(3).fork("clients");
    clients.next_u64();
    let mut b = crate::prng::Prng::root(3).fork("network");
    assert_eq!(a.next_u64(), b.next_u64());
}

#[test]
fn faults_are_recorded_in_the_history_with_their_targets() {
    let s = scenario(&format!(
        "{ONE_SERVER_TWO_CLIENTS}[[fault]]\nat = \"1s\"\naction = \"power_off\"\ntarget = 1\n[[fault]]\nat = \"2s\"\naction = \"restart\"\ntarget = \"down\"\n[[fault]]\nat = \"3s\"\naction = \"drift\"\ntarget = 1\nppm = 1000\n"
    ));
    let out = run(s, 1, Trace::new());
    let actions: Vec<(&str, Vec<u64>)> = out
        .history
        .faults
        .iter()
        .map(|f| (f.action.as_str(), f.targets.iter().map(|t| t.0).collect()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("power_off", vec![1]),
            ("restart", vec![1]),
            ("drift", vec![1])
        ]
    );
    assert!(out.history.final_states[0].alive);
}

#[test]
fn the_end_of_run_restarts_what_is_down_when_recover_is_on() {
    let s = scenario(&format!(
        "{ONE_SERVER_TWO_CLIENTS}[[fault]]\nat = \"1s\"\naction = \"crash\"\ntarget = 1\n"
    ));
    let out = run(s.clone(), 1, Trace::new());
    assert!(out.history.final_states[0].alive);
    let mut no_recover = s;
    no_recover.recover = false;
    let out = run(no_recover, 1, Trace::new());
    assert!(!out.history.final_states[0].alive);
}

#[test]
fn nemesis_faults_are_reproducible() {
    let s = scenario(
        r#"
duration = "60s"
[cluster]
voters = 5
[workload]
clients = 1
[nemesis]
crash = 6
power_off = 6
partition = 6
pause = 6
disk_fault = 6
drift = 6
max_down = 2
"#,
    );
    let a = run(s.clone(), 11, Trace::new());
    let b = run(s, 11, Trace::new());
    assert!(
        a.history.faults.len() > 5,
        "{} faults",
        a.history.faults.len()
    );
    assert_eq!(a.history.faults, b.history.faults);
    assert_eq!(a.trace_hash, b.trace_hash);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn any_seed_replays_to_the_same_hash(seed in any::<u64>(), clients in 0u32..4, voters in 1u64..6) {
            let s = scenario(&format!(
                "duration = \"10s\"\n[cluster]\nvoters = {voters}\n[workload]\nclients = {clients}\n[nemesis]\ncrash = 10\npartition = 10\n"
            ));
            let a = run(s.clone(), seed, Trace::new());
            let b = run(s, seed, Trace::new());
            prop_assert_eq!(a.trace_hash, b.trace_hash);
        }
    }
}
