//! Client partitions end to end with the elected peer: the cut clients notice the silence,
//! move to another server with their sessions, and those sessions live on — unless a
//! follower expires sessions itself (`follower-expires-sessions`), which the checker names.

use super::*;
use crate::report::judge;
use crate::scenario::parse;
use zab_check::Property;
use zab_core::ids::SessionId;

const CLUSTER: &str = r#"
duration = "14s"
quiet = "6s"
[cluster]
voters = 3
tick_time = "500ms"
[workload]
clients = 3
rate = 20
keys = 3
session_timeout = "3s"
"#;

fn simulate(text: &str, seed: u64) -> (Scenario, RunOutput) {
    let scenario = parse("clients.toml", "clients", text).unwrap();
    let out = run(scenario.clone(), seed, Trace::new());
    (scenario, out)
}

/// Sessions that were granted again after `after_ms`: resumed on a reconnect.
fn resumed_after(out: &RunOutput, after_ms: u64) -> Vec<SessionId> {
    let h = &out.history.handshakes;
    h.iter()
        .filter(|later| later.at.0 > after_ms && later.timeout_ms > 0)
        .filter(|later| {
            h.iter().any(|earlier| {
                earlier.at.0 <= after_ms
                    && earlier.session == later.session
                    && earlier.server != later.server
            })
        })
        .map(|later| later.session)
        .collect()
}

fn cut(clients: &str, servers: &str, direction: &str) -> String {
    format!(
        "{CLUSTER}[[fault]]\nat = \"4s\"\naction = \"partition\"\nclients = {clients}\nservers = {servers}\ndirection = \"{direction}\"\n[[fault]]\nat = \"10s\"\naction = \"heal\"\n"
    )
}

#[test]
fn cut_clients_move_to_another_server_and_keep_their_sessions() {
    // A longer timeout than CLUSTER's: a client notices the silence after two thirds of it
    // and waits up to a second before trying the next server, as `ClientCnxn` does.
    let text = |direction: &str| {
        cut("\"all\"", "\"follower\"", direction).replace("\"3s\"\n[[fault]]", "\"6s\"\n[[fault]]")
    };
    for direction in ["both", "requests", "replies"] {
        let mut moved = 0;
        for seed in 1..=3 {
            let (scenario, out) = simulate(&text(direction), seed);
            moved += resumed_after(&out, 4_000).len();
            assert_eq!(out.sessions_expired, 0, "{direction}, seed {seed}");
            let (violations, checks) = judge(&scenario, &out.history);
            assert!(
                violations.is_empty(),
                "{direction}, seed {seed}: {violations:#?}\n{checks:#?}"
            );
            let fault = &out.history.faults[0];
            assert_eq!(fault.action, "client_partition");
            assert_eq!(fault.targets.len(), 1, "one follower: {fault:?}");
        }
        assert!(moved > 0, "{direction}: some client moved with its session");
    }
}

#[test]
fn clients_of_a_server_are_those_connected_to_it_when_the_cut_fires() {
    let (_, out) = simulate(&cut("\"connected\"", "\"leader\"", "both"), 2);
    let fault = &out.history.faults[0];
    let leader = fault.targets[0];
    // Each client's server is the one that last accepted its handshake before the cut.
    let mut last_server = std::collections::BTreeMap::new();
    for h in out.history.handshakes.iter().filter(|h| h.at.0 < 4_000) {
        last_server.insert(h.client, h.server);
    }
    let connected: Vec<u64> = last_server
        .iter()
        .filter(|(_, s)| **s == leader)
        .map(|(c, _)| *c)
        .collect();
    assert!(
        !connected.is_empty(),
        "someone uses the leader: {last_server:?}"
    );
    assert!(
        fault.detail.contains(&format!("clients {connected:?} cut")),
        "{fault:?} {connected:?}"
    );
}

#[test]
fn a_follower_expiring_its_clients_sessions_is_no_premature_expiry() {
    let text = cut("\"all\"", "\"follower\"", "both").replacen(
        "duration",
        "bugs = [\"follower-expires-sessions\"]\nduration",
        1,
    );
    let caught = (1..=3).any(|seed| {
        let (scenario, out) = simulate(&text, seed);
        let (violations, _) = judge(&scenario, &out.history);
        violations
            .iter()
            .any(|v| v.name == Property::NoPrematureExpiry.name())
    });
    assert!(
        caught,
        "the bug expires a session whose client lives on elsewhere"
    );
}

#[test]
fn the_nemesis_cuts_clients_deterministically_and_the_correct_core_passes() {
    let text = format!("{CLUSTER}[nemesis]\nclient_partition = 20\ndown_for = \"3s\"\n");
    let (scenario, out) = simulate(&text, 3);
    let cuts = out
        .history
        .faults
        .iter()
        .filter(|f| f.action == "client_partition")
        .count();
    assert!(cuts >= 2, "{:#?}", out.history.faults);
    let (violations, _) = judge(&scenario, &out.history);
    assert!(violations.is_empty(), "{violations:#?}");
    let (_, again) = simulate(&text, 3);
    assert_eq!(out.trace_hash, again.trace_hash);
}
