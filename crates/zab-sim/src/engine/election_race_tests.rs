//! The election channel's connection rule, shown with a toy that follows ZooKeeper 3.8's
//! `QuorumCnxManager`: every server dials every other at once when it starts, so each pair
//! races. The lower id's completed dial to a higher id is dropped by the lower side
//! (`startConnection`: "Have smaller server identifier"), and the higher id, accepting a
//! connection from a lower one, finishes its own and dials back (`handleConnection`). A
//! faithful network then leaves each pair with the one connection the higher id initiated;
//! the bug this pins down let the lower id's dial replace that connection in its table and
//! close it, which lost notifications and left a follower LOOKING after a heal
//! (`follower-partition` seed 18).

use super::*;
use crate::scenario::parse;
use std::cell::RefCell;
use std::collections::BTreeMap;
use zab_core::election::{Notification, ServerState};
use zab_core::ids::{Epoch, Zxid};
use zab_core::peer::{Channel, PeerMessage};

#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Dial(u64),
    Ping { from: u64, n: u64 },
}

thread_local! {
    static LOG: RefCell<Vec<(u64, Seen)>> = const { RefCell::new(Vec::new()) };
}

fn log(me: ServerId, seen: Seen) {
    LOG.with(|l| l.borrow_mut().push((me.0, seen)));
}

/// What the toy knows of its election connection with one peer (like `cnxn::Link`).
#[derive(Default)]
struct Link {
    up: bool,
    connecting: bool,
}

struct Dialer {
    config: Config,
    out: std::collections::VecDeque<Output>,
    links: BTreeMap<ServerId, Link>,
    n: u64,
}

impl Dialer {
    fn dial(&mut self, to: ServerId) {
        let link = self.links.entry(to).or_default();
        if link.up || link.connecting {
            return;
        }
        link.connecting = true;
        log(self.config.me, Seen::Dial(to.0));
        self.out.push_back(Output::Connect {
            to,
            channel: Channel::Election,
            timeout: Millis(1000),
        });
    }

    fn ping(&self, n: u64) -> PeerMessage {
        PeerMessage::Election(Notification {
            leader: self.config.me,
            zxid: Zxid::ZERO,
            election_epoch: n,
            state: ServerState::Looking,
            sid: self.config.me,
            peer_epoch: Epoch(0),
        })
    }
}

impl Process for Dialer {
    fn start(config: Config, _recovered: Recovered, now: Millis, _seed: u64) -> Dialer {
        let mut toy = Dialer {
            config,
            out: Default::default(),
            links: BTreeMap::new(),
            n: 0,
        };
        let others: Vec<ServerId> = toy.config.others().collect();
        for to in others {
            toy.dial(to);
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
                let link = self.links.entry(peer).or_default();
                if outbound {
                    link.connecting = false;
                }
                if outbound && peer > me {
                    // Lost the challenge: wait for the higher id to connect.
                } else if !outbound && peer < me {
                    link.up = false;
                    self.out.push_back(Output::Disconnect {
                        peer,
                        channel: Channel::Election,
                    });
                    self.dial(peer);
                } else {
                    link.up = true;
                }
            }
            Input::Disconnected { peer, .. } => self.links.entry(peer).or_default().up = false,
            Input::ConnectFailed { peer, .. } => {
                self.links.entry(peer).or_default().connecting = false
            }
            Input::Message {
                from,
                msg: PeerMessage::Election(n),
            } => log(
                me,
                Seen::Ping {
                    from: from.0,
                    n: n.election_epoch,
                },
            ),
            Input::TimerFired(Timer::Tick) => {
                self.n += 1;
                let others: Vec<ServerId> = self.config.others().collect();
                for to in others {
                    if self.links.get(&to).is_some_and(|l| l.up) {
                        let msg = self.ping(self.n);
                        self.out.push_back(Output::Send { to, msg });
                    } else {
                        // `toSend` with no connection: connect (one outstanding at a time).
                        self.dial(to);
                    }
                }
                self.out.push_back(Output::SetTimer {
                    timer: Timer::Tick,
                    at: now + 100,
                });
            }
            _ => {}
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }
}

const RACE: &str = r#"
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

fn run_race(seed: u64) -> Vec<(u64, Seen)> {
    LOG.with(|l| l.borrow_mut().clear());
    let scenario = parse("race.toml", "race", RACE).unwrap();
    Sim::<Dialer>::new(scenario, seed, Trace::new()).run(|_| {});
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

#[test]
fn simultaneous_election_dials_settle_on_the_higher_ids_connection() {
    for seed in 1..=40 {
        let log = run_race(seed);
        for me in 1..=3u64 {
            for other in (1..=3u64).filter(|o| *o != me) {
                // The races are over within a few milliseconds, long before the first tick
                // (100 ms): the lower id dials once, the higher at most once more (back, after
                // finishing its own connection), and nobody later finds itself without one.
                let dials = log
                    .iter()
                    .filter(|(m, s)| *m == me && *s == Seen::Dial(other))
                    .count();
                let most = if me < other { 1 } else { 2 };
                assert!(
                    (1..=most).contains(&dials),
                    "seed {seed}: {me} dialled {other} {dials} times"
                );
                // Every tick's ping from `other` reaches `me`, once, in order.
                let heard: Vec<u64> = log
                    .iter()
                    .filter_map(|(m, s)| match s {
                        Seen::Ping { from, n } if *m == me && *from == other => Some(*n),
                        _ => None,
                    })
                    .collect();
                assert_eq!(
                    heard,
                    (1..=heard.len() as u64).collect::<Vec<_>>(),
                    "seed {seed}: {me} from {other}"
                );
                assert!(
                    heard.len() >= 48,
                    "seed {seed}: {me} heard {} pings from {other}",
                    heard.len()
                );
            }
        }
    }
}
