//! `cargo xtask bench`: simulator throughput on a 5-server scenario, reported next to a
//! baseline measured in the same process — the raw event queue pushing and popping events
//! with the same mix of delays — so the figure survives a change of machine as a ratio.

use std::time::Instant;
use zab_sim::prng::Prng;
use zab_sim::queue::EventQueue;
use zab_sim::scenario::parse;
use zab_sim::trace::{format_hash, Trace};
use zab_sim::SimTime;

const FIVE_SERVERS: &str = r#"
name = "bench-5"
duration = "120s"
quiet = "5s"
[cluster]
voters = 5
tick_time = "2s"
[workload]
clients = 10
rate = 50
keys = 8
[[fault]]
at = "40s"
action = "crash"
target = "leader"
[[fault]]
at = "60s"
action = "restart"
target = "down"
[[fault]]
at = "80s"
action = "partition"
target = "follower"
[[fault]]
at = "95s"
action = "heal"
"#;

/// Events per second of the bare queue: a steady population of `live` events, each pop
/// scheduling one more a random 0-2 ms later (what network deliveries look like).
fn raw_queue(events: u64, live: usize) -> f64 {
    let mut q: EventQueue<u64> = EventQueue::new(usize::MAX);
    let mut prng = Prng::root(1).fork("bench");
    for i in 0..live as u64 {
        q.schedule(SimTime(prng.below(2000)), i);
    }
    let started = Instant::now();
    let mut checksum = 0u64;
    for _ in 0..events {
        let (at, _, e) = q.pop().expect("steady population");
        checksum = checksum.wrapping_add(e);
        q.schedule(SimTime(at.0 + prng.below(2000)), e);
    }
    let secs = started.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    events as f64 / secs
}

fn main() {
    let scenario =
        parse("bench-5.toml", "bench-5", FIVE_SERVERS).expect("the bench scenario parses");
    // Warm up, then take the best of three (the machine is shared).
    let mut best = 0.0f64;
    let mut events = 0;
    let mut hash = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let out = zab_sim::run(scenario.clone(), 1, Trace::new());
        let secs = started.elapsed().as_secs_f64();
        events = out.events;
        hash = out.trace_hash;
        best = best.max(out.events as f64 / secs);
    }
    let mut baseline = 0.0f64;
    for _ in 0..3 {
        baseline = baseline.max(raw_queue(2_000_000, 4096));
    }
    println!(
        "bench-5 (5 voters, 10 clients at 50 ops/s, 125 s simulated): {events} events, trace {}",
        format_hash(hash)
    );
    println!("simulator: {best:.0} events/s");
    println!("baseline (raw event queue, 4096 live events): {baseline:.0} events/s");
    println!("ratio simulator/baseline: {:.3}", best / baseline);
    println!(
        "goal: >= 1000000 events/s: {}",
        if best >= 1_000_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
