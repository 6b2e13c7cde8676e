//! Aimed faults (`[[fault]] on = { … }`) on the toy process of `toy_tests`: each toy pings
//! every other one per 100 ms tick (1, 2, 3 in id order), so a send is an exact, countable
//! protocol event.

use super::toy_tests::{pings, rel, run_toy, Seen, BASE};

#[test]
fn a_power_off_aimed_at_a_send_stops_the_sender_before_its_next_action() {
    // Server 2 pings 1 then 3 on every tick; power it off right after its 5th ping to 1.
    let text = format!(
        "{BASE}[[fault]]\non = {{ sent = \"PING\", by = 2, to = 1, skip = 4 }}\naction = \"power_off\"\ntarget = \"sender\"\n"
    );
    let (out, log) = run_toy(&text, 1);
    let to_1: Vec<u64> = pings(&log, 1, 2).into_iter().map(|(_, n)| n).collect();
    let to_3: Vec<u64> = pings(&log, 3, 2).into_iter().map(|(_, n)| n).collect();
    assert_eq!(to_1, vec![1, 2, 3, 4, 5], "the 5th ping was on the wire");
    assert_eq!(
        to_3,
        vec![1, 2, 3, 4],
        "the ping after it in the same step never went"
    );
    let faults: Vec<_> = out.history.faults.iter().collect();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0].action, "power_off");
    assert_eq!(faults[0].targets, vec![zab_core::ids::ServerId(2)]);
    assert!((500..510).contains(&faults[0].at.0), "{:?}", faults[0]);
    assert!(
        faults[0].detail.contains("aimed on PING"),
        "{}",
        faults[0].detail
    );
    // Server 2 saw nothing after the fault (it stays off: the scenario does not recover).
    assert!(log.iter().all(|(me, t, _)| *me != 2 || rel(*t) < 510));
    assert!(log
        .iter()
        .any(|(me, t, s)| *me == 1 && rel(*t) > 4000 && *s == Seen::Tick));
}

#[test]
fn an_aimed_fault_fires_at_most_times_and_only_once_armed() {
    // Crash the receiver 50 ms after server 3 pings it, from 2 s on, twice.
    let text = format!(
        "{BASE}[[fault]]\nat = \"2s\"\non = {{ sent = \"PING\", by = 3, to = \"any\", times = 2, delay = \"50ms\" }}\naction = \"crash\"\ntarget = \"receiver\"\n"
    );
    let (out, _) = run_toy(&text, 1);
    let crashes: Vec<_> = out
        .history
        .faults
        .iter()
        .filter(|f| f.action == "crash")
        .collect();
    assert_eq!(crashes.len(), 2, "{crashes:?}");
    // Server 3's first ping after 2 s goes to 1, then (same step) to 2; each crash comes 50 ms
    // after its ping.
    assert_eq!(crashes[0].targets, vec![zab_core::ids::ServerId(1)]);
    assert_eq!(crashes[1].targets, vec![zab_core::ids::ServerId(2)]);
    for c in &crashes {
        assert!((2050..2160).contains(&c.at.0), "{c:?}");
    }
}
