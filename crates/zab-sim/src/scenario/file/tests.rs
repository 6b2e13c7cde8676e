use super::*;

const GOOD: &str = r#"
name = "t"
seed = 7
duration = "30s"
bugs = ["ack-before-fsync"]

[cluster]
voters = 3
observers = 1
tick_time = "200ms"

[network]
latency = { min = "1ms", max = "3ms" }

[workload]
clients = 2
mix = { read = 1, write = 1 }

[[fault]]
at = "10s"
action = "crash"
target = "leader"

[[fault]]
at = "12s"
action = "partition"
groups = [[1], [2, 3]]

[[fault]]
at = "13s"
action = "partition"
from = [1]
to = [2, 3]

[[fault]]
at = "14s"
action = "pause"
target = 2
for = "3s"

[[fault]]
at = "15s"
action = "drift"
target = [1, 2]
ppm = 50000
jump = "-2s"

[[fault]]
at = "16s"
action = "disk_fault"
target = "any"
kind = "torn_write"

[expect]
result = "pass"
"#;

fn err(text: &str) -> ScenarioError {
    parse("x.toml", "x", text).expect_err("must be rejected")
}

#[test]
fn a_complete_scenario_parses() {
    let s = parse("x.toml", "x", GOOD).unwrap();
    assert_eq!(s.name, "t");
    assert_eq!(s.seed, 7);
    assert_eq!(s.duration, Span::from_millis(30_000));
    assert_eq!(
        s.cluster.voters,
        vec![ServerId(1), ServerId(2), ServerId(3)]
    );
    assert_eq!(s.cluster.observers, vec![ServerId(4)]);
    assert_eq!(s.cluster.tick_ms, 200);
    assert!(s.cluster.bugs.has(Bug::AckBeforeFsync));
    assert_eq!(s.faults.len(), 6);
    assert_eq!(s.faults[0].action, FaultAction::Crash(vec![Target::Leader]));
    assert_eq!(
        s.faults[2].action,
        FaultAction::OneWay {
            from: vec![Target::Id(ServerId(1))],
            to: vec![Target::Id(ServerId(2)), Target::Id(ServerId(3))]
        }
    );
    assert_eq!(
        s.faults[4].action,
        FaultAction::Drift {
            targets: vec![Target::Id(ServerId(1)), Target::Id(ServerId(2))],
            ppm: 50_000,
            jump_ms: -2000
        }
    );
    assert_eq!(s.workload.mix.read, 1);
    assert_eq!(s.workload.mix.queue, 0);
    assert_eq!(s.expect, Expect::Pass);
}

#[test]
fn unknown_action_names_position_field_and_valid_actions() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n\n[[fault]]\nat = \"1s\"\naction = \"crsh\"\ntarget = 1\n";
    let e = err(text);
    assert_eq!((e.line, e.column), (7, 10), "{e}");
    assert_eq!(e.field, "fault[1].action");
    assert!(e.message.contains("crsh"), "{e}");
    assert!(
        e.message.contains("power_off") && e.message.contains("disk_fault"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("x.toml:7:10: field `fault[1].action`:"),
        "{e}"
    );
}

#[test]
fn bad_duration_names_position_field_and_units() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n\n[[fault]]\nat = \"1s\"\naction = \"crash\"\ntarget = 1\n[[fault]]\nat = \"12 parsecs\"\naction = \"heal\"\n";
    let e = err(text);
    assert_eq!((e.line, e.column), (10, 6), "{e}");
    assert_eq!(e.field, "fault[2].at");
    assert!(
        e.message.contains("ms") && e.message.contains("parsecs"),
        "{e}"
    );
}

#[test]
fn missing_node_names_position_field_and_valid_ids() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n[[fault]]\nat = \"1s\"\naction = \"crash\"\ntarget = 7\n";
    let e = err(text);
    assert_eq!((e.line, e.column), (7, 10), "{e}");
    assert_eq!(e.field, "fault[1].target");
    assert!(e.message.contains("no server 7"), "{e}");
    assert!(
        e.message.contains("1, 2, 3") && e.message.contains("leader"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_position_field_and_expected_type() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = \"three\"\n";
    let e = err(text);
    assert_eq!((e.line, e.column), (3, 10), "{e}");
    assert_eq!(e.field, "cluster.voters");
    assert!(e.message.contains("integer"), "{e}");
}

#[test]
fn unknown_field_lists_the_valid_fields() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\nvotrs = 3\n";
    let e = err(text);
    assert_eq!(e.line, 4, "{e}");
    assert_eq!(e.field, "cluster.votrs");
    assert!(e.message.contains("observers"), "{e}");
}

#[test]
fn inline_table_fields_are_named_with_their_parent() {
    let text =
        "duration = \"5s\"\n[cluster]\nvoters = 3\n[workload]\nmix = { read = 1, wrte = 2 }\n";
    let e = err(text);
    assert_eq!(e.line, 5, "{e}");
    assert_eq!(e.field, "workload.mix.wrte");
    assert!(e.message.contains("write"), "{e}");
}

#[test]
fn missing_required_field_is_named() {
    let e = err("[cluster]\nvoters = 3\n");
    assert_eq!(e.field, "duration", "{e}");
    let e = err("duration = \"1s\"\n[cluster]\nobservers = 1\n");
    assert_eq!(e.field, "cluster.voters", "{e}");
}

#[test]
fn action_specific_fields_are_required() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n[[fault]]\nat = \"1s\"\naction = \"pause\"\ntarget = 1\n";
    let e = err(text);
    assert_eq!(e.field, "fault[1].for", "{e}");
    assert!(e.line >= 4, "{e}");
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n[[fault]]\nat = \"1s\"\naction = \"disk_fault\"\ntarget = 1\nkind = \"melted\"\n";
    let e = err(text);
    assert_eq!(e.field, "fault[1].kind", "{e}");
    assert!(e.message.contains("torn_write"), "{e}");
}

#[test]
fn unknown_bug_lists_valid_bugs() {
    let e = err("duration = \"5s\"\nbugs = [\"nope\"]\n[cluster]\nvoters = 3\n");
    assert_eq!(e.line, 2, "{e}");
    assert_eq!(e.field, "bugs", "{e}");
    assert!(e.message.contains("ack-before-fsync"), "{e}");
}

#[test]
fn unknown_role_target_lists_roles() {
    let text = "duration = \"5s\"\n[cluster]\nvoters = 3\n[[fault]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"boss\"\n";
    let e = err(text);
    assert_eq!(e.field, "fault[1].target", "{e}");
    assert!(e.message.contains("followers"), "{e}");
}

#[test]
fn bad_expectation_is_rejected() {
    let e = err("duration = \"5s\"\n[cluster]\nvoters = 3\n[expect]\nresult = \"Maybe So\"\n");
    assert_eq!(e.field, "expect.result", "{e}");
    assert_eq!(e.line, 5);
}

#[test]
fn syntax_errors_have_a_position() {
    let e = err("duration = \"5s\n[cluster]\n");
    assert!(e.line >= 1 && e.column >= 1, "{e}");
}

#[test]
fn start_interval_staggers_servers_in_id_order() {
    let s = parse(
        "x.toml",
        "x",
        "duration = \"5s\"\n[cluster]\nvoters = 3\nstart_interval = \"1s\"\n",
    )
    .unwrap();
    assert_eq!(
        s.cluster.start_at,
        vec![
            (ServerId(1), Span::ZERO),
            (ServerId(2), Span::from_millis(1000)),
            (ServerId(3), Span::from_millis(2000))
        ]
    );
}
