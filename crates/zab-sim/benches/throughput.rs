//! `cargo xtask bench`: simulator throughput on a 5-server scenario, reported next to a
//! baseline measured in the same process — the raw event queue pushing and popping events
//! with the same mix of delays — so the figure survives a change of machine as a ratio.

use std::time::Instant;
use zab_core::Peer;
use zab_sim::engine::{Process, RunOutput, Sim};
use zab_sim::fixed_leader::FixedLeader;
use zab_sim::prng::Prng;
use zab_sim::queue::EventQueue;
use zab_sim::scenario::parse;
use zab_sim::scenario::Scenario;
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
target = 1
[[fault]]
at = "60s"
action = "restart"
target = "down"
[[fault]]
at = "80s"
action = "partition"
target = 2
[[fault]]
at = "95s"
action = "heal"
"#;

/// This process's CPU time (user + system), from `/proc/self/stat`; the machine is shared,
/// so CPU seconds say more about the simulator than wall seconds. Falls back to `None`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Seconds spent in `f`: CPU time when available, else wall time.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let cpu = cpu_seconds();
    let wall = Instant::now();
    let value = f();
    let wall = wall.elapsed().as_secs_f64();
    match (cpu, cpu_seconds()) {
        (Some(a), Some(b)) if b - a >= 0.2 => (value, b - a),
        _ => (value, wall),
    }
}

/// Best of three runs: (events/s, events, trace hash, acknowledged writes).
fn measure<P: Process>(scenario: &Scenario) -> (f64, u64, u64, usize) {
    let mut best = 0.0f64;
    let mut last: Option<RunOutput> = None;
    for _ in 0..3 {
        let (out, secs) = timed(|| Sim::<P>::new(scenario.clone(), 1, Trace::new()).run(|_| {}));
        best = best.max(out.events as f64 / secs);
        last = Some(out);
    }
    let out = last.expect("three runs");
    let acked = out
        .history
        .ops
        .iter()
        .filter(|o| {
            o.request.is_write() && matches!(o.outcome, zab_check::history::Outcome::Ok { .. })
        })
        .count();
    (best, out.events, out.trace_hash, acked)
}

/// Events per second of the bare queue: a steady population of `live` events, each pop
/// scheduling one more a random 0-2 ms later (what network deliveries look like).
fn raw_queue(events: u64, live: usize) -> f64 {
    let mut q: EventQueue<u64> = EventQueue::new(usize::MAX);
    let mut prng = Prng::root(1).fork("bench");
    for i in 0..live as u64 {
        q.schedule(SimTime(prng.below(2000)), i);
    }
    let (checksum, secs) = timed(|| {
        let mut checksum = 0u64;
        for _ in 0..events {
            let (at, _, e) = q.pop().expect("steady population");
            checksum = checksum.wrapping_add(e);
            q.schedule(SimTime(at.0 + prng.below(2000)), e);
        }
        checksum
    });
    std::hint::black_box(checksum);
    events as f64 / secs
}

fn main() {
    let scenario =
        parse("bench-5.toml", "bench-5", FIVE_SERVERS).expect("the bench scenario parses");
    // `ZABSIM_BENCH_PROFILE=1`: only the fixed-leader run, for `perf record`.
    if std::env::var_os("ZABSIM_BENCH_PROFILE").is_some() {
        let (rate, events, _, _) = measure::<FixedLeader>(&scenario);
        println!("fixed leader: {rate:.0} events/s ({events} events)");
        return;
    }
    let mut baseline = 0.0f64;
    for _ in 0..3 {
        baseline = baseline.max(raw_queue(4_000_000, 4096));
    }
    println!(
        "bench-5: 5 voters, 10 clients at 50 ops/s each, 125 s simulated, a crash and a partition"
    );
    println!("baseline (raw event queue, 4096 live events): {baseline:.0} events/s");
    for (name, (rate, events, hash, acked)) in [
        ("zab_core::Peer", measure::<Peer>(&scenario)),
        ("ZAB with a fixed leader", measure::<FixedLeader>(&scenario)),
    ] {
        println!(
            "{name}: {rate:.0} events/s ({events} events, {acked} acknowledged writes, trace {}), ratio to baseline {:.3}, goal >= 1000000 events/s {}",
            format_hash(hash),
            rate / baseline,
            if rate >= 1_000_000.0 { "met" } else { "NOT met" }
        );
    }
}
