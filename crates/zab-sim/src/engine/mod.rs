//! The engine: one thread, one event queue, one PRNG per run with named sub-streams.
//!
//! Driver contract with the peer (what the election and ZAB code can rely on):
//! - A node has at most one connection per (peer, channel). When a newer one is established
//!   (accepted, or our connect completed) the older is closed first: `Disconnected` is
//!   delivered, then `Connected` for the new one. One exception, ZooKeeper's election rule
//!   (the higher sid keeps the connection): a completed election-channel connect to a higher
//!   id is closed by the engine at once and never replaces anything; the peer still hears
//!   `Connected { outbound: true }` for it.
//! - `Send` goes on the current connection; with none it is dropped (the peer already got, or
//!   will get, `Disconnected` / `ConnectFailed`).
//! - `Connect` answers `Connected { outbound: true }` after a round trip, `ConnectFailed` at once
//!   when the target process is down but its machine is up (RST), or after `timeout` of the
//!   connector's own clock when the target machine is off or the path is cut.
//! - Timers fire by the node's own clock; `SetTimer` replaces a pending timer of that kind.
//! - Disk requests complete one at a time in issue order, each with one `PersistDone`.
//! - While a node is paused nothing is delivered to it; on resume everything that arrived is
//!   delivered in arrival order.

mod aimed;
mod client_faults;
mod clients;
mod control;
mod faults;
mod node;
mod outputs;
mod wire;

pub use control::ControlError;
pub use node::NodeState;

#[cfg(test)]
mod toy_tests;

#[cfg(test)]
mod election_race_tests;

#[cfg(test)]
mod aimed_tests;

#[cfg(test)]
mod zab_tests;

#[cfg(test)]
mod client_fault_tests;

use crate::client::Client;
use crate::clock::NodeClock;
use crate::disk::Disk;
use crate::hash::StableHasher;
use crate::net::{Arrival, LinkId, Network};
use crate::prng::Prng;
use crate::queue::EventQueue;
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::trace::Trace;
use node::Node;
use zab_check::history::{FinalState, History, HISTORY_FORMAT_VERSION};
use zab_core::ids::{Millis, ServerId, Zxid};
use zab_core::peer::{Input, Output, Peer, Recovered, Timer};
use zab_core::Config;

/// Bound on pending events: far above any healthy run (a few per in-flight message/timer).
const QUEUE_MAX: usize = 4_000_000;

/// Something that happens at an instant.
#[derive(Debug)]
pub(crate) enum Event {
    /// A server's process starts for the first time.
    Start(ServerId),
    Arrive(Arrival),
    ConnectTimeout {
        node: ServerId,
        incarnation: u32,
        link: LinkId,
    },
    Timer {
        node: ServerId,
        incarnation: u32,
        timer: Timer,
        generation: u64,
    },
    DiskDone {
        node: ServerId,
        incarnation: u32,
    },
    Resume {
        node: ServerId,
        incarnation: u32,
    },
    ClientWake {
        client: usize,
        generation: u64,
    },
    Fault(usize),
    /// Aimed fault `fault`, fired by a send from `sender` to `receiver`, after its delay.
    Aimed {
        fault: usize,
        sender: ServerId,
        receiver: ServerId,
    },
    Nemesis,
    Recover(faults::Recovery),
    /// `duration` reached: heal, recover, stop the workload.
    Quiet,
    End,
}

/// Progress for long runs, reported every few thousand events.
#[derive(Copy, Clone, Debug)]
pub struct Progress {
    pub now: SimTime,
    pub end: SimTime,
    pub events: u64,
}

/// Counters for the summary.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counters {
    pub packets_sent: u64,
    pub packets_delivered: u64,
    pub packets_lost: u64,
    pub sends_without_connection: u64,
    pub connections_reset: u64,
    pub disk_ops: u64,
    pub timers_fired: u64,
    pub inputs: u64,
    pub queue_overflows: u64,
    /// Processes that panicked (each one is also a `panic` fault in the history).
    pub process_panics: u64,
    /// Timer events that found their timer moved or cancelled.
    pub timers_stale: u64,
    pub queue_len_max: u64,
}

/// What a finished run hands back.
pub struct RunOutput {
    pub history: History,
    pub trace_hash: u64,
    pub events: u64,
    pub sim_time: SimTime,
    pub counters: Counters,
    pub client_connects: u64,
    pub client_connection_losses: u64,
    pub sessions_expired: u64,
    pub trace_error: Option<String>,
}

pub(crate) struct ClientSlot {
    pub client: Client,
    pub link: Option<LinkId>,
    pub wake_generation: u64,
}

/// What the engine runs on each server: `zab_core::Peer` in every real run; a toy actor in the
/// engine's own tests.
pub trait Process {
    /// Start from what the disk holds.
    fn start(config: Config, recovered: Recovered, now: Millis, seed: u64) -> Self;
    fn handle(&mut self, now: Millis, input: Input);
    fn poll_output(&mut self) -> Option<Output>;
    /// The last applied zxid and the tree digest there, for the run's final states. `None`
    /// makes the engine fall back to the last `Digest`/`Committed` events it saw.
    fn applied_state(&self) -> Option<(Zxid, u64)> {
        None
    }
}

impl Process for Peer {
    fn start(config: Config, recovered: Recovered, now: Millis, seed: u64) -> Peer {
        Peer::new(config, recovered, now, seed)
    }

    fn handle(&mut self, now: Millis, input: Input) {
        Peer::handle(self, now, input)
    }

    fn poll_output(&mut self) -> Option<Output> {
        Peer::poll_output(self)
    }

    fn applied_state(&self) -> Option<(Zxid, u64)> {
        Some((self.zab().last_processed(), self.zab().digest()))
    }
}

/// A simulation in progress.
pub struct Sim<P: Process = Peer> {
    pub(crate) scenario: Scenario,
    pub(crate) queue: EventQueue<Event>,
    pub(crate) nodes: Vec<Node<P>>,
    pub(crate) net: Network,
    pub(crate) clients: Vec<ClientSlot>,
    pub(crate) trace: Trace,
    pub(crate) history: History,
    pub(crate) nemesis: Prng,
    /// Random choices of client partitions (`client_faults.rs`).
    pub(crate) client_faults: Prng,
    pub(crate) counters: Counters,
    /// Per scenario fault: an aimed fault's trigger counts (empty when none is aimed).
    pub(crate) aimed: Vec<aimed::AimedCount>,
    pub(crate) quiet: bool,
    pub(crate) end: SimTime,
    /// The `End` event was processed: nothing more happens.
    pub(crate) ended: bool,
    scratch: Vec<Output>,
    arrivals: Vec<(SimTime, Arrival)>,
    pub(crate) packets: Vec<crate::net::Packet>,
}

impl<P: Process> Sim<P> {
    /// Build the world for `scenario` with `seed`. Nothing runs until [`Sim::run`].
    pub fn new(scenario: Scenario, seed: u64, trace: Trace) -> Sim<P> {
        let root = Prng::root(seed);
        let mut queue = EventQueue::new(QUEUE_MAX);
        let voters = scenario.cluster.voters.iter().copied().collect();
        let observers = scenario.cluster.observers.iter().copied().collect();
        let mut nodes = Vec::new();
        let mut clock_prng = root.fork("clocks");
        for id in scenario.cluster.servers() {
            debug_assert_eq!(id.0 as usize, nodes.len() + 1, "ids are 1..=n");
            let mut config = Config::new(id, Clone::clone(&voters), Clone::clone(&observers));
            config.tick_ms = scenario.cluster.tick_ms;
            config.init_limit = scenario.cluster.init_limit;
            config.sync_limit = scenario.cluster.sync_limit;
            config.bugs = scenario.cluster.bugs.clone();
            // Realistic wall-clock readings, a little apart.
            let skew = clock_prng.below(scenario.cluster.clock_skew.0.max(1)) / 1000;
            let clock = NodeClock::new(1_700_000_000_000 + skew);
            let disk = Disk::new(scenario.disk.clone(), root.fork(&format!("disk/{id}")));
            nodes.push(Node::new(
                config,
                clock,
                disk,
                root.fork(&format!("node/{id}")),
            ));
        }
        for (id, at) in &scenario.cluster.start_at {
            queue.schedule(SimTime(at.0), Event::Start(*id));
        }
        let servers = scenario.cluster.servers();
        let mut clients = Vec::new();
        let client_root = root.fork("clients");
        for c in 0..scenario.workload.clients {
            let start = SimTime(scenario.workload.start.0);
            let client = Client::new(
                c as u64 + 1,
                &servers,
                &scenario.workload,
                start,
                client_root.fork(&format!("{}", c + 1)),
            );
            queue.schedule(
                start,
                Event::ClientWake {
                    client: c as usize,
                    generation: 0,
                },
            );
            clients.push(ClientSlot {
                client,
                link: None,
                wake_generation: 0,
            });
        }
        for (i, f) in scenario.faults.iter().enumerate() {
            if f.on.is_none() {
                queue.schedule(SimTime(f.at.0), Event::Fault(i));
            }
        }
        let aimed = if scenario.faults.iter().any(|f| f.on.is_some()) {
            vec![aimed::AimedCount::default(); scenario.faults.len()]
        } else {
            Vec::new()
        };
        let mut nemesis = root.fork("nemesis");
        if let Some(n) = &scenario.nemesis {
            if let Some(first) = faults::next_nemesis_delay(n, &mut nemesis) {
                queue.schedule(SimTime(n.start.0).plus(first), Event::Nemesis);
            }
        }
        let duration = SimTime(scenario.duration.0);
        let end = duration.plus(scenario.quiet);
        queue.schedule(duration, Event::Quiet);
        queue.schedule(end, Event::End);
        Sim {
            net: Network::new(scenario.network.clone(), root.fork("network")),
            scenario,
            queue,
            nodes,
            clients,
            trace,
            history: History {
                version: HISTORY_FORMAT_VERSION,
                ..History::default()
            },
            nemesis,
            client_faults: root.fork("client-faults"),
            counters: Counters::default(),
            aimed,
            quiet: false,
            end,
            ended: false,
            scratch: Vec::new(),
            arrivals: Vec::new(),
            packets: Vec::new(),
        }
    }

    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    pub(crate) fn node(&self, id: ServerId) -> Option<&Node<P>> {
        let i = (id.0 as usize).checked_sub(1)?;
        self.nodes.get(i)
    }

    pub(crate) fn node_mut(&mut self, id: ServerId) -> Option<&mut Node<P>> {
        let i = (id.0 as usize).checked_sub(1)?;
        self.nodes.get_mut(i)
    }

    pub(crate) fn schedule(&mut self, at: SimTime, event: Event) {
        if !self.queue.schedule(at, event) {
            self.counters.queue_overflows += 1;
        }
    }

    /// Send through the network and schedule what it puts on the wire.
    pub(crate) fn net_send(
        &mut self,
        at: SimTime,
        link: LinkId,
        side: crate::net::Side,
        packet: crate::net::Packet,
    ) {
        let mut buf = std::mem::take(&mut self.arrivals);
        self.net.send_into(at, link, side, packet, &mut buf);
        for (when, a) in buf.drain(..) {
            self.counters.packets_sent += 1;
            self.schedule(when, Event::Arrive(a));
        }
        self.arrivals = buf;
    }

    pub(crate) fn schedule_arrivals(&mut self, arrivals: Vec<(SimTime, Arrival)>) {
        for (at, a) in arrivals {
            self.counters.packets_sent += 1;
            self.schedule(at, Event::Arrive(a));
        }
    }

    /// Run to the end; `progress` is called every 65,536 events.
    pub fn run(mut self, mut progress: impl FnMut(Progress)) -> RunOutput {
        while let Some((at, _seq, event)) = self.queue.pop() {
            if self.trace.events() & 0xffff == 0 {
                progress(Progress {
                    now: at,
                    end: self.end,
                    events: self.trace.events(),
                });
            }
            if !self.process_event(at, event) {
                break;
            }
        }
        self.finish()
    }

    /// Carry out one popped event; false once it was the run's `End`. The one path every
    /// event takes, whether [`Sim::run`] or a test's [`Sim::step`] drives the run.
    pub(crate) fn process_event(&mut self, at: SimTime, event: Event) -> bool {
        if self.trace.events() & 0xfff == 0 {
            self.counters.queue_len_max = self.counters.queue_len_max.max(self.queue.len() as u64);
        }
        if let Event::End = event {
            self.trace.record(at, "end", 0, |_| {}, String::new);
            self.ended = true;
            return false;
        }
        self.dispatch(at, event);
        true
    }

    fn dispatch(&mut self, at: SimTime, event: Event) {
        match event {
            Event::Start(id) => {
                self.trace
                    .record(at, "start", id.0, |_| {}, || format!("server {id} starts"));
                self.start_process(id);
            }
            Event::Arrive(arrival) => self.on_arrival(at, arrival),
            Event::ConnectTimeout {
                node,
                incarnation,
                link,
            } => self.on_connect_timeout(at, node, incarnation, link),
            Event::Timer {
                node,
                incarnation,
                timer,
                generation,
            } => self.on_timer(at, node, incarnation, timer, generation),
            Event::DiskDone { node, incarnation } => self.on_disk_done(at, node, incarnation),
            Event::Resume { node, incarnation } => self.on_resume(at, node, incarnation),
            Event::ClientWake { client, generation } => self.on_client_wake(at, client, generation),
            Event::Fault(i) => self.on_fault(at, i),
            Event::Aimed {
                fault,
                sender,
                receiver,
            } => self.fire_aimed(at, fault, sender, receiver),
            Event::Nemesis => self.on_nemesis(at),
            Event::Recover(r) => self.on_recover(at, r),
            Event::Quiet => self.on_quiet(at),
            Event::End => {}
        }
    }

    fn on_quiet(&mut self, at: SimTime) {
        self.trace
            .record(at, "quiet", 0, |_| {}, || "duration reached".into());
        self.quiet = true;
        for slot in &mut self.clients {
            slot.client.stop_issuing();
        }
        if !self.net.partitions.is_empty() {
            self.heal(at, "end of run");
        }
        if self.scenario.recover {
            let down: Vec<ServerId> = self
                .nodes
                .iter()
                .filter(|n| n.state.is_down())
                .map(|n| n.id)
                .collect();
            for id in down {
                self.restart(at, id, "end of run");
            }
        }
    }

    /// End the run where it stands and hand back what it recorded (what [`Sim::run`] returns
    /// at the end): for a driver that stepped it with [`Sim::step`] or [`Sim::run_until`].
    pub fn finish(mut self) -> RunOutput {
        let at = self.now();
        self.history.final_states = self
            .nodes
            .iter()
            .map(|n| {
                let from_events = (
                    n.last_digest
                        .map_or(n.last_committed, |(z, _)| z.max(n.last_committed)),
                    n.last_digest.map_or(0, |(_, d)| d),
                );
                let (last_applied, digest) = n
                    .peer
                    .as_ref()
                    .and_then(|p| p.applied_state())
                    .unwrap_or(from_events);
                FinalState {
                    server: n.id,
                    alive: n.is_up(),
                    last_applied,
                    digest,
                }
            })
            .collect();
        let mut connects = 0;
        let mut losses = 0;
        let mut expired = 0;
        for slot in &self.clients {
            connects += slot.client.stats.connects;
            losses += slot.client.stats.connection_losses;
            expired += slot.client.stats.sessions_expired;
        }
        let trace_error = self.trace.finish().err();
        RunOutput {
            trace_hash: self.trace.hash(),
            events: self.trace.events(),
            sim_time: at,
            history: self.history,
            counters: self.counters,
            client_connects: connects,
            client_connection_losses: losses,
            sessions_expired: expired,
            trace_error,
        }
    }
}

/// Hash helper for trace content.
pub(crate) fn hash_u64s(h: &mut StableHasher, values: &[u64]) {
    for v in values {
        h.write_u64(*v);
    }
}

/// Run a scenario to the end without progress reporting.
pub fn run(scenario: Scenario, seed: u64, trace: Trace) -> RunOutput {
    Sim::<Peer>::new(scenario, seed, trace).run(|_| {})
}

#[cfg(test)]
mod tests;
