//! Parsing aimed faults (`[[fault]] on = { … }`) and their located errors.

use super::*;
use crate::scenario::{Endpoint, Trigger};

const HEAD: &str = "duration = \"10s\"\n[cluster]\nvoters = 3\n";

fn parse_ok(faults: &str) -> Scenario {
    parse("t.toml", "t", &format!("{HEAD}{faults}")).unwrap()
}

fn err(faults: &str) -> ScenarioError {
    parse("t.toml", "t", &format!("{HEAD}{faults}")).unwrap_err()
}

#[test]
fn an_aimed_fault_parses_with_defaults_and_every_field() {
    let s = parse_ok(
        "[[fault]]\non = { sent = \"ackepoch\", by = \"follower\" }\naction = \"power_off\"\ntarget = \"sender\"\n\
         [[fault]]\nat = \"2s\"\non = { sent = \"PROPOSAL\", by = \"leader\", to = 2, skip = 3, times = 2, delay = \"5ms\" }\naction = \"partition\"\ntarget = \"receiver\"\n",
    );
    assert_eq!(s.faults.len(), 2);
    assert_eq!(s.faults[0].at, Span::ZERO);
    assert_eq!(
        s.faults[0].action,
        FaultAction::PowerOff(vec![Target::Sender])
    );
    assert_eq!(
        s.faults[0].on,
        Some(Trigger {
            packet: "ACKEPOCH",
            by: Endpoint::Follower,
            to: Endpoint::Any,
            skip: 0,
            times: 1,
            delay: Span::ZERO,
        })
    );
    assert_eq!(s.faults[1].at, Span::from_millis(2_000));
    assert_eq!(
        s.faults[1].on,
        Some(Trigger {
            packet: "PROPOSAL",
            by: Endpoint::Leader,
            to: Endpoint::Id(ServerId(2)),
            skip: 3,
            times: 2,
            delay: Span::from_millis(5),
        })
    );
    assert_eq!(
        s.faults[1].action,
        FaultAction::Partition(vec![vec![Target::Receiver]])
    );
}

#[test]
fn an_unknown_packet_names_position_field_and_valid_packets() {
    let e =
        err("[[fault]]\non = { sent = \"ACKEPCH\" }\naction = \"crash\"\ntarget = \"sender\"\n");
    assert_eq!((e.line, e.column), (5, 15), "{e}");
    assert_eq!(e.field, "fault[1].on.sent", "{e}");
    assert!(e.message.contains("ACKEPCH"), "{e}");
    assert!(e.message.contains("NEWLEADER"), "{e}");
}

#[test]
fn an_unknown_sender_role_or_server_is_rejected_with_the_valid_ones() {
    let e = err(
        "[[fault]]\non = { sent = \"ACK\", by = \"folower\" }\naction = \"crash\"\ntarget = 1\n",
    );
    assert_eq!(e.field, "fault[1].on.by", "{e}");
    assert!(e.message.contains("learner"), "{e}");
    let e = err("[[fault]]\non = { sent = \"ACK\", to = 9 }\naction = \"crash\"\ntarget = 1\n");
    assert_eq!(e.field, "fault[1].on.to", "{e}");
    assert!(e.message.contains("no server 9"), "{e}");
}

#[test]
fn times_zero_and_unknown_trigger_fields_are_rejected() {
    let e = err("[[fault]]\non = { sent = \"ACK\", times = 0 }\naction = \"crash\"\ntarget = 1\n");
    assert_eq!(e.field, "fault[1].on.times", "{e}");
    let e = err("[[fault]]\non = { sent = \"ACK\", count = 1 }\naction = \"crash\"\ntarget = 1\n");
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("times"), "{e}");
}

#[test]
fn sender_and_receiver_need_an_aimed_fault() {
    let e = err("[[fault]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"sender\"\n");
    assert_eq!(e.field, "fault[1].target", "{e}");
    assert!(e.message.contains("on = "), "{e}");
}

#[test]
fn a_fault_needs_at_or_on() {
    let e = err("[[fault]]\naction = \"crash\"\ntarget = 1\n");
    assert_eq!(e.field, "fault[1].at", "{e}");
    assert_eq!(e.line, 4, "{e}");
}
