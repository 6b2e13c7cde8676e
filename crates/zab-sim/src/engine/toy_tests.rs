//! The engine's semantics, shown with a toy process instead of the real peer: every server
//! connects to every other on the quorum channel, pings them on a 100 ms tick with a counter,
//! appends a record to its log every tick and fsyncs every third. What each toy sees is logged
//! (per test thread) and asserted on.

use super::*;
use crate::scenario::parse;
use std::cell::RefCell;
use zab_core::ids::Zxid;
use zab_core::peer::{Channel, PeerMessage, PersistOp, PersistToken};
use zab_core::zab::packet::QuorumPacket;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Seen {
    Start { log_bytes: usize },
    Connected(u64, bool),
    Disconnected(u64),
    ConnectFailed(u64),
    Ping { from: u64, n: u64 },
    Tick,
    Persisted(u64),
}

thread_local! {
    /// When set, a toy panics on receiving ping number n.
    static PANIC_ON_PING: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    static LOG: RefCell<Vec<(u64, SimTimeMs, Seen)>> = const { RefCell::new(Vec::new()) };
}

/// (local ms of the toy's clock)
type SimTimeMs = u64;

fn log(me: ServerId, now: Millis, seen: Seen) {
    LOG.with(|l| l.borrow_mut().push((me.0, now.0, seen)));
}

fn take_log() -> Vec<(u64, u64, Seen)> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

struct Toy {
    config: Config,
    out: std::collections::VecDeque<Output>,
    n: u64,
    token: u64,
    start_ms: u64,
}

impl Process for Toy {
    fn start(config: Config, recovered: Recovered, now: Millis, _seed: u64) -> Toy {
        log(
            config.me,
            now,
            Seen::Start {
                log_bytes: recovered.log.len(),
            },
        );
        let mut toy = Toy {
            config,
            out: Default::default(),
            n: 0,
            token: 0,
            start_ms: now.0,
        };
        // Higher ids connect to lower ones, so each pair has one connection.
        let lower: Vec<ServerId> = toy.config.others().filter(|o| *o < toy.config.me).collect();
        for to in lower {
            toy.out.push_back(Output::Connect {
                to,
                channel: Channel::Quorum,
                timeout: Millis(1000),
            });
        }
        toy.out.push_back(Output::SetTimer {
            timer: Timer::Tick,
            at: now + 100,
        });
        toy
    }

    fn handle(&mut self, now: Millis, input: Input) {
        let me = self.config.me;
        match input {
            Input::Connected { peer, outbound, .. } => {
                log(me, now, Seen::Connected(peer.0, outbound))
            }
            Input::Disconnected { peer, .. } => log(me, now, Seen::Disconnected(peer.0)),
            Input::ConnectFailed { peer, .. } => log(me, now, Seen::ConnectFailed(peer.0)),
            Input::Message {
                from,
                msg: PeerMessage::Quorum(QuorumPacket::Ping { zxid, .. }),
            } => {
                if PANIC_ON_PING.with(|p| p.get()) == Some(zxid.0) && me == ServerId(1) {
                    panic!("toy bug on ping {}", zxid.0);
                }
                log(
                    me,
                    now,
                    Seen::Ping {
                        from: from.0,
                        n: zxid.0,
                    },
                )
            }
            Input::TimerFired(Timer::Tick) => {
                log(me, now, Seen::Tick);
                self.n += 1;
                let others: Vec<ServerId> = self.config.others().collect();
                for to in others {
                    self.out.push_back(Output::Send {
                        to,
                        msg: PeerMessage::Quorum(QuorumPacket::Ping {
                            zxid: Zxid(self.n),
                            touches: vec![],
                        }),
                    });
                }
                self.token += 1;
                self.out.push_back(Output::Persist {
                    token: PersistToken(self.token),
                    op: PersistOp::AppendLog {
                        zxid: Zxid(self.start_ms * 1000 + self.n),
                        record: vec![7; 10],
                    },
                });
                if self.n.is_multiple_of(3) {
                    self.token += 1;
                    self.out.push_back(Output::Persist {
                        token: PersistToken(self.token),
                        op: PersistOp::Fsync {
                            up_to: Zxid(self.n),
                        },
                    });
                }
                self.out.push_back(Output::SetTimer {
                    timer: Timer::Tick,
                    at: now + 100,
                });
            }
            Input::PersistDone { token, .. } => log(me, now, Seen::Persisted(token.0)),
            _ => {}
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }
}

pub(super) fn run_toy(text: &str, seed: u64) -> (RunOutput, Vec<(u64, u64, Seen)>) {
    take_log();
    let scenario = parse("toy.toml", "toy", text).unwrap();
    let out = Sim::<Toy>::new(scenario, seed, Trace::new()).run(|_| {});
    (out, take_log())
}

pub(super) const BASE: &str = r#"
duration = "5s"
quiet = "0s"
recover = false
[cluster]
voters = 3
clock_skew = "0ms"
[network]
latency = { min = "100us", max = "3ms" }
[workload]
clients = 0
"#;

/// Local times are offset by the clock base; make them relative to the run.
pub(super) fn rel(ms: u64) -> u64 {
    ms - 1_700_000_000_000
}

pub(super) fn pings(log: &[(u64, u64, Seen)], at: u64, from: u64) -> Vec<(u64, u64)> {
    log.iter()
        .filter_map(|(me, t, s)| match s {
            Seen::Ping { from: f, n } if *me == at && *f == from => Some((rel(*t), *n)),
            _ => None,
        })
        .collect()
}

#[test]
fn toy_runs_are_deterministic() {
    let (a, la) = run_toy(BASE, 4);
    let (b, lb) = run_toy(BASE, 4);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(la, lb);
    let (c, _) = run_toy(BASE, 5);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn each_connection_delivers_in_order_without_duplicates_despite_jitter() {
    let (_, log) = run_toy(BASE, 1);
    for at in 1..=3 {
        for from in (1..=3).filter(|f| *f != at) {
            let ns: Vec<u64> = pings(&log, at, from).into_iter().map(|(_, n)| n).collect();
            assert!(ns.len() > 40, "{at} heard {} pings from {from}", ns.len());
            assert!(
                ns.windows(2).all(|w| w[1] == w[0] + 1),
                "{at} from {from}: {ns:?}"
            );
        }
    }
}

#[test]
fn a_crashed_process_resets_its_connections_at_once() {
    let text = format!("{BASE}[[fault]]\nat = \"1s\"\naction = \"crash\"\ntarget = 3\n");
    let (_, log) = run_toy(&text, 1);
    let disconnected: Vec<u64> = log
        .iter()
        .filter(|(me, _, s)| *me == 1 && *s == Seen::Disconnected(3))
        .map(|(_, t, _)| rel(*t))
        .collect();
    assert_eq!(disconnected.len(), 1, "{disconnected:?}");
    assert!((1000..1010).contains(&disconnected[0]), "{disconnected:?}");
    assert!(pings(&log, 1, 3).iter().all(|(t, _)| *t < 1010));
}

#[test]
fn a_powered_off_host_goes_silent_and_its_restart_resets_stale_connections() {
    let text = format!(
        "{BASE}[[fault]]\nat = \"1s\"\naction = \"power_off\"\ntarget = 3\n[[fault]]\nat = \"3s\"\naction = \"restart\"\ntarget = 3\n"
    );
    let (_, log) = run_toy(&text, 1);
    let disconnected: Vec<u64> = log
        .iter()
        .filter(|(me, _, s)| *me == 1 && *s == Seen::Disconnected(3))
        .map(|(_, t, _)| rel(*t))
        .collect();
    // Nothing tells server 1 while 3 is off; the first retransmission after the restart meets
    // a fresh kernel and is reset.
    assert_eq!(disconnected.len(), 1, "{disconnected:?}");
    assert!((3000..3200).contains(&disconnected[0]), "{disconnected:?}");
    // Server 3 reconnects to 1 after its restart (it initiates to lower ids).
    assert!(log
        .iter()
        .any(|(me, t, s)| *me == 3 && rel(*t) >= 3000 && *s == Seen::Connected(1, true)));
}

#[test]
fn connects_to_a_powered_off_host_time_out_but_to_a_crashed_process_are_refused() {
    // Server 3 initiates to 1 and 2; take 1 down before anything starts.
    let crash = format!("{BASE}[[fault]]\nat = \"0s\"\naction = \"crash\"\ntarget = 1\n");
    let power = format!("{BASE}[[fault]]\nat = \"0s\"\naction = \"power_off\"\ntarget = 1\n");
    for (text, low, high) in [(crash, 0, 20), (power, 1000, 1001)] {
        let (_, log) = run_toy(&text, 1);
        let failed: Vec<u64> = log
            .iter()
            .filter(|(me, _, s)| *me == 3 && *s == Seen::ConnectFailed(1))
            .map(|(_, t, _)| rel(*t))
            .collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(
            (low..=high).contains(&failed[0]),
            "{failed:?} not in {low}..={high}"
        );
    }
}

#[test]
fn a_partition_holds_packets_and_the_heal_delivers_them_in_order() {
    let text = format!(
        "{BASE}[[fault]]\nat = \"1s\"\naction = \"partition\"\ngroups = [[1], [2, 3]]\n[[fault]]\nat = \"2s\"\naction = \"heal\"\n"
    );
    let (_, log) = run_toy(&text, 1);
    let got = pings(&log, 2, 1);
    let ns: Vec<u64> = got.iter().map(|(_, n)| *n).collect();
    assert!(
        ns.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap, no dup: {ns:?}"
    );
    assert!(
        got.iter().all(|(t, _)| *t < 1010 || *t >= 2000),
        "nothing crosses while cut: {got:?}"
    );
    assert!(
        got.iter().filter(|(t, _)| *t >= 2000 && *t < 2010).count() >= 9,
        "the backlog arrives at the heal"
    );
}

#[test]
fn a_one_way_partition_cuts_one_direction_only() {
    let text = format!("{BASE}[[fault]]\nat = \"1s\"\naction = \"partition\"\nfrom = 1\nto = 2\n");
    let (_, log) = run_toy(&text, 1);
    assert!(pings(&log, 2, 1).iter().all(|(t, _)| *t < 1010));
    assert!(pings(&log, 1, 2).iter().any(|(t, _)| *t > 4000));
    assert!(pings(&log, 3, 1).iter().any(|(t, _)| *t > 4000));
}

#[test]
fn a_paused_process_sees_nothing_then_everything_in_order() {
    let text =
        format!("{BASE}[[fault]]\nat = \"1s\"\naction = \"pause\"\ntarget = 2\nfor = \"1s\"\n");
    let (_, log) = run_toy(&text, 1);
    assert!(log
        .iter()
        .all(|(me, t, _)| *me != 2 || rel(*t) < 1000 || rel(*t) >= 2000));
    let ns: Vec<u64> = pings(&log, 2, 1).into_iter().map(|(_, n)| n).collect();
    assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "{ns:?}");
    assert!(pings(&log, 2, 1).iter().filter(|(t, _)| *t == 2000).count() >= 9);
}

#[test]
fn timers_fire_by_the_nodes_own_drifting_clock() {
    let text =
        format!("{BASE}[[fault]]\nat = \"0s\"\naction = \"drift\"\ntarget = 2\nppm = 100000\n");
    let (_, log) = run_toy(&text, 1);
    let ticks = |who: u64| {
        log.iter()
            .filter(|(me, _, s)| *me == who && *s == Seen::Tick)
            .count()
    };
    // 5 s of global time: 50 ticks at the true rate, 55 on a clock running 10% fast.
    assert!((49..=50).contains(&ticks(1)), "{}", ticks(1));
    assert!((54..=55).contains(&ticks(2)), "{}", ticks(2));
}

#[test]
fn a_power_off_loses_what_was_not_fsynced_and_restart_reads_the_durable_log() {
    let text = format!(
        "{BASE}[[fault]]\nat = \"1050ms\"\naction = \"power_off\"\ntarget = 1\n[[fault]]\nat = \"2s\"\naction = \"restart\"\ntarget = 1\n"
    );
    let (_, log) = run_toy(&text, 1);
    let starts: Vec<usize> = log
        .iter()
        .filter_map(|(me, _, s)| match s {
            Seen::Start { log_bytes } if *me == 1 => Some(*log_bytes),
            _ => None,
        })
        .collect();
    // 10 ticks before the power cut; fsync after every third: 9 records of 10 bytes survive.
    assert_eq!(starts, vec![0, 90]);
    // Persist completions come back in issue order.
    let tokens: Vec<u64> = log
        .iter()
        .filter_map(|(me, t, s)| match s {
            Seen::Persisted(tok) if *me == 2 && rel(*t) < 5000 => Some(*tok),
            _ => None,
        })
        .collect();
    assert!(tokens.windows(2).all(|w| w[1] == w[0] + 1), "{tokens:?}");
}

#[test]
fn a_panicking_process_is_reported_and_crashed_and_the_run_goes_on() {
    PANIC_ON_PING.with(|p| p.set(Some(7)));
    let (out, log) = run_toy(BASE, 1);
    PANIC_ON_PING.with(|p| p.set(None));
    let panics: Vec<_> = out
        .history
        .faults
        .iter()
        .filter(|f| f.action == "panic")
        .collect();
    assert_eq!(panics.len(), 1, "{:?}", out.history.faults);
    assert_eq!(panics[0].targets, vec![ServerId(1)]);
    assert!(
        panics[0].detail.contains("toy bug on ping 7"),
        "{}",
        panics[0].detail
    );
    assert_eq!(out.counters.process_panics, 1);
    // The others saw server 1 go away and kept running.
    assert!(log
        .iter()
        .any(|(me, _, s)| *me == 2 && *s == Seen::Disconnected(1)));
    assert!(log
        .iter()
        .any(|(me, t, s)| *me == 2 && rel(*t) > 4000 && *s == Seen::Tick));
    let scenario = parse("toy.toml", "toy", BASE).unwrap();
    let v = crate::verdict::expectations(&scenario, &out.history);
    assert_eq!(v[0].name, "process-panic");
}
