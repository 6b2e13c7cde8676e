use super::super::parse;
use crate::scenario::{ClientTarget, CutDirection, FaultAction, ScenarioError, Target};
use zab_core::ids::ServerId;

const HEAD: &str = "duration = \"5s\"\n[cluster]\nvoters = 3\n[workload]\nclients = 4\n[[fault]]\nat = \"1s\"\naction = \"partition\"\n";

fn fault(lines: &str) -> Result<FaultAction, ScenarioError> {
    let text = format!("{HEAD}{lines}");
    parse("x.toml", "x", &text).map(|s| s.faults[0].action.clone())
}

#[test]
fn a_client_partition_names_clients_servers_and_direction() {
    let action =
        fault("clients = [1, \"client:3\"]\nservers = \"leader\"\ndirection = \"replies\"\n")
            .unwrap();
    assert_eq!(
        action,
        FaultAction::ClientPartition {
            clients: vec![ClientTarget::Id(1), ClientTarget::Id(3)],
            servers: vec![Target::Leader],
            direction: CutDirection::Replies,
        }
    );
}

#[test]
fn a_client_partition_defaults_to_every_server_both_ways() {
    let action = fault("clients = \"all\"\n").unwrap();
    assert_eq!(
        action,
        FaultAction::ClientPartition {
            clients: vec![ClientTarget::All],
            servers: vec![Target::All],
            direction: CutDirection::Both,
        }
    );
    let action = fault("clients = \"connected\"\nservers = [2, \"follower\"]\n").unwrap();
    assert_eq!(
        action,
        FaultAction::ClientPartition {
            clients: vec![ClientTarget::Connected],
            servers: vec![Target::Id(ServerId(2)), Target::Follower],
            direction: CutDirection::Both,
        }
    );
}

#[test]
fn a_missing_client_names_position_field_and_valid_ids() {
    let e = fault("clients = [1, 9]\n").unwrap_err();
    assert_eq!(
        (e.line, e.column, e.field.as_str()),
        (9, 11, "fault[1].clients"),
        "{e}"
    );
    assert!(
        e.message.contains("no client 9") && e.message.contains("1 to 4"),
        "{e}"
    );
}

#[test]
fn an_unknown_client_name_lists_the_valid_ones() {
    let e = fault("clients = \"everyone\"\n").unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (9, "fault[1].clients"), "{e}");
    assert!(
        e.message.contains("everyone") && e.message.contains("connected"),
        "{e}"
    );
}

#[test]
fn an_unknown_direction_lists_the_valid_ones() {
    let e = fault("clients = 1\ndirection = \"sideways\"\n").unwrap_err();
    assert_eq!(
        (e.line, e.column, e.field.as_str()),
        (10, 13, "fault[1].direction"),
        "{e}"
    );
    assert!(
        e.message.contains("requests") && e.message.contains("replies"),
        "{e}"
    );
}

#[test]
fn a_missing_server_names_the_servers_field() {
    let e = fault("clients = 1\nservers = 5\n").unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (10, "fault[1].servers"), "{e}");
    assert!(e.message.contains("no server 5"), "{e}");
}

#[test]
fn client_and_server_partition_fields_do_not_mix() {
    let e = fault("clients = 1\ngroups = [[1], [2, 3]]\n").unwrap_err();
    assert_eq!(e.field, "fault[1].clients", "{e}");
    assert!(e.message.contains("groups"), "{e}");
}

#[test]
fn client_fields_outside_a_partition_are_rejected() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n[[fault]]\nat = \"1s\"\naction = \"crash\"\ntarget = 1\ndirection = \"both\"\n";
    let e = parse("x.toml", "x", text).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (8, "fault[1].direction"), "{e}");
    assert!(e.message.contains("client partition"), "{e}");
}

#[test]
fn the_nemesis_takes_a_client_partition_rate() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n[nemesis]\nclient_partition = 4\n";
    let s = parse("x.toml", "x", text).unwrap();
    assert_eq!(s.nemesis.map(|n| n.client_partition), Some(4.0));
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n[nemesis]\nclient_partition = 4000\n";
    let e = parse("x.toml", "x", text).unwrap_err();
    assert_eq!(e.field, "nemesis.client_partition", "{e}");
}
