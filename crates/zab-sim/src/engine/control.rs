//! Driving a run by hand, for protocol tests: step it or run it to a virtual time, look at the
//! servers between events, and act "now" — crash, power off, restart, partition, heal — through
//! exactly the code paths the scenario's timeline and the nemesis use (`faults.rs`'s `apply`),
//! so that what a test does is recorded in the history and the trace like any fault. For ZAB's
//! tests it also feeds a process inputs the simulator has no source for (a hand-driven client:
//! [`Sim::input_now`]), holds a disk so that its fsyncs do not complete ([`Sim::hold_disk`]),
//! reads what a disk holds durably ([`Sim::durable_log`], [`Sim::snapshots_on_disk`]), damages
//! one chosen record ([`Sim::corrupt_log_record`]) and swaps in a new machine's empty disk
//! ([`Sim::wipe_disk`]).
//!
//! ```
//! use zab_sim::{scenario, Sim, SimTime};
//! use zab_core::ServerId;
//!
//! let text = "duration = \"60s\"\n[cluster]\nvoters = 3\n[workload]\nclients = 0\n";
//! let scenario = scenario::parse("<inline>", "doc", text).unwrap();
//! let mut sim: Sim = Sim::new(scenario, 1, zab_sim::trace::Trace::new());
//! sim.run_until(SimTime::from_millis(5_000));
//! let leader = sim.process(ServerId(3)).and_then(|p| p.leader());
//! assert_eq!(leader, Some(ServerId(3)));
//! sim.crash_now(ServerId(3)).unwrap();
//! sim.run_until(SimTime::from_millis(30_000));
//! assert_eq!(sim.process(ServerId(1)).and_then(|p| p.leader()), Some(ServerId(2)));
//! ```
//!
//! Reading a run never changes it: a run driven by [`Sim::run_until`] without actions makes
//! the same trace as [`Sim::run`].

use super::node::NodeState;
use super::{Event, Process, Sim};
use crate::scenario::{FaultAction, Target};
use crate::time::{SimTime, Span};
use zab_check::history::{History, ServerRecord};
use zab_core::ids::{Millis, ServerId, Zxid};
use zab_core::peer::{Channel, Input, PersistOp};

/// The origin every control action is recorded with (the timeline's faults say "timeline").
const ORIGIN: &str = "control";

/// Why a control action was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no server {0} in this cluster")]
    NoSuchServer(ServerId),
    #[error("server {id} is {state:?}: {what}")]
    WrongState {
        id: ServerId,
        state: NodeState,
        what: &'static str,
    },
    #[error("server {id}'s disk refused the preset: {error:?}")]
    Disk {
        id: ServerId,
        error: zab_core::peer::DiskError,
    },
    #[error("server {id}'s disk has no durable record for {zxid}")]
    NoSuchRecord { id: ServerId, zxid: Zxid },
    #[error("the run has ended")]
    Ended,
}

impl<P: Process> Sim<P> {
    /// Process the next event. Returns its time, or `None` once the run's end (`duration` +
    /// `quiet`) has been processed.
    pub fn step(&mut self) -> Option<SimTime> {
        if self.ended {
            return None;
        }
        let (at, _seq, event) = self.queue.pop()?;
        self.process_event(at, event);
        if self.ended {
            None
        } else {
            Some(at)
        }
    }

    /// Process every event at or before `until`, then stand at `until` (an action taken next
    /// happens at that instant). Stops at the run's end; returns false once the run has ended.
    pub fn run_until(&mut self, until: SimTime) -> bool {
        while !self.ended && self.queue.peek_time().is_some_and(|next| next <= until) {
            self.step();
        }
        if !self.ended {
            self.queue.advance_to(until);
        }
        !self.ended
    }

    /// [`Sim::run_until`] `span` from now.
    pub fn run_for(&mut self, span: Span) -> bool {
        self.run_until(self.now().plus(span))
    }

    /// When the next event happens (`None` once the run has ended).
    pub fn next_event_at(&self) -> Option<SimTime> {
        if self.ended {
            None
        } else {
            self.queue.peek_time()
        }
    }

    /// Has the run's end been processed?
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// Every server's id, in order.
    pub fn servers(&self) -> Vec<ServerId> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// A server's running process (`None` while it is down or not started yet).
    pub fn process(&self, id: ServerId) -> Option<&P> {
        self.node(id).and_then(|n| n.peer.as_ref())
    }

    /// Whether a server is up, crashed, powered off or not started.
    pub fn state(&self, id: ServerId) -> Option<NodeState> {
        self.node(id).map(|n| n.state)
    }

    /// What a server's own clock reads now: the time its process sees in `handle` and sets
    /// its timers by (clocks are offset and may drift, so this is not [`Sim::now`]).
    pub fn local_now(&self, id: ServerId) -> Option<Millis> {
        let now = self.now();
        self.node(id).map(|n| n.local_now(now))
    }

    /// The peers a server currently has a connection with on `channel` (as its driver sees
    /// it: established, not yet closed), with the connection's id. Both ends of one TCP
    /// connection report the same id.
    pub fn connections(&self, id: ServerId, channel: Channel) -> Vec<(ServerId, u64)> {
        self.node(id).map_or_else(Vec::new, |n| {
            n.peers
                .iter()
                .filter(|((_, c), _)| *c == channel)
                .map(|((peer, _), link)| (*peer, *link))
                .collect()
        })
    }

    /// Every event the servers reported so far, in order.
    pub fn server_events(&self) -> &[ServerRecord] {
        &self.history.server_events
    }

    /// The history recorded so far (client operations, server events, faults).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Put `ops` on a server's disk before its process first starts, as if it had written and
    /// fsynced them in an earlier life (epoch files, log records, snapshots); the start then
    /// recovers them like anything else on the disk.
    pub fn preset_disk(
        &mut self,
        id: ServerId,
        ops: impl IntoIterator<Item = PersistOp>,
    ) -> Result<(), ControlError> {
        let node = self.node_mut(id).ok_or(ControlError::NoSuchServer(id))?;
        if node.state != NodeState::NotStarted {
            return Err(ControlError::WrongState {
                id,
                state: node.state,
                what: "a disk is preset before its server first starts",
            });
        }
        for op in ops {
            node.disk
                .preset(op)
                .map_err(|error| ControlError::Disk { id, error })?;
        }
        Ok(())
    }

    /// The zxids of the log records durable on a server's disk, in log order (what survives
    /// a power-off). Works whether the server is up or down.
    pub fn durable_log(&self, id: ServerId) -> Vec<Zxid> {
        self.node(id)
            .map_or_else(Vec::new, |n| n.disk.durable_zxids())
    }

    /// The zxids of the snapshots on a server's disk, oldest first.
    pub fn snapshots_on_disk(&self, id: ServerId) -> Vec<Zxid> {
        self.node(id)
            .map_or_else(Vec::new, |n| n.disk.snapshot_zxids())
    }

    /// Deliver `input` to a server's process now, as its driver would, and carry out what it
    /// asks. For inputs the simulator has no source of its own for: a hand-driven client's
    /// `ClientConnect` / `ClientRequest` / `ClientPing` / `ClientDisconnected` on a `ConnId`
    /// that belongs to no simulated connection (the replies then go nowhere; a test reads
    /// them from its process's own outputs). Recorded in the trace.
    pub fn input_now(&mut self, id: ServerId, input: Input) -> Result<(), ControlError> {
        self.usable()?;
        let state = self.state(id).ok_or(ControlError::NoSuchServer(id))?;
        if state != NodeState::Up {
            return Err(ControlError::WrongState {
                id,
                state,
                what: "only a running process takes inputs",
            });
        }
        let at = self.now();
        let detail = format!("{input:?}");
        self.trace.record(
            at,
            "control-input",
            id.0,
            |h| h.write_str(&detail),
            || detail.clone(),
        );
        self.feed(at, id, input);
        Ok(())
    }

    /// Hold a server's disk: requests queued now or later do not complete (a stuck device,
    /// an fsync that never returns) until [`Sim::release_disk`], which completes them in
    /// order. A stop of the server ends the hold; its queued requests die with the process.
    pub fn hold_disk(&mut self, id: ServerId) -> Result<(), ControlError> {
        self.usable()?;
        let node = self.node_mut(id).ok_or(ControlError::NoSuchServer(id))?;
        node.disk_held = true;
        Ok(())
    }

    /// Let a held disk go on: what waited completes now, in issue order.
    pub fn release_disk(&mut self, id: ServerId) -> Result<(), ControlError> {
        self.usable()?;
        let at = self.now();
        let node = self.node_mut(id).ok_or(ControlError::NoSuchServer(id))?;
        node.disk_held = false;
        let waiting = std::mem::take(&mut node.held_completions);
        let incarnation = node.incarnation;
        for _ in 0..waiting {
            self.schedule(
                at,
                Event::DiskDone {
                    node: id,
                    incarnation,
                },
            );
        }
        Ok(())
    }

    /// Flip a byte in the middle of the durable log record for `zxid` on a server's disk (bit
    /// rot at rest, as `corrupt_entry` does to a random record): the next start reads it back
    /// and fails the record's checksum. Refused when no durable record has that zxid.
    pub fn corrupt_log_record(&mut self, id: ServerId, zxid: Zxid) -> Result<(), ControlError> {
        let node = self.node_mut(id).ok_or(ControlError::NoSuchServer(id))?;
        if node.disk.corrupt_record(zxid) {
            Ok(())
        } else {
            Err(ControlError::NoSuchRecord { id, zxid })
        }
    }

    /// Give a stopped server a new, empty disk (a brand-new machine with the same id).
    pub fn wipe_disk(&mut self, id: ServerId) -> Result<(), ControlError> {
        let node = self.node_mut(id).ok_or(ControlError::NoSuchServer(id))?;
        if node.state == NodeState::Up {
            return Err(ControlError::WrongState {
                id,
                state: node.state,
                what: "a disk is wiped while its server is down",
            });
        }
        node.disk.wipe();
        Ok(())
    }

    /// Start a server that has not started yet, now (as its `start_at` would). A stopped
    /// server comes back with [`Sim::restart_now`].
    pub fn start_now(&mut self, id: ServerId) -> Result<(), ControlError> {
        self.usable()?;
        let state = self.state(id).ok_or(ControlError::NoSuchServer(id))?;
        if state != NodeState::NotStarted {
            return Err(ControlError::WrongState {
                id,
                state,
                what: "only a server that never ran can be started; restart a stopped one",
            });
        }
        let at = self.now();
        self.trace
            .record(at, "start", id.0, |_| {}, || format!("server {id} starts"));
        self.start_process(id);
        Ok(())
    }

    /// Kill a server's process now; its kernel resets its connections.
    pub fn crash_now(&mut self, id: ServerId) -> Result<(), ControlError> {
        self.act_on(id, FaultAction::Crash)
    }

    /// Cut a server's power now: its connections die silently, connects to it hang, and what
    /// its disk had not fsynced is gone. On a server that has not started, the host is off from
    /// then on — but a start still scheduled by the scenario's `start_at` would boot it: leave
    /// such a server out of `start_at` to keep it off.
    pub fn power_off_now(&mut self, id: ServerId) -> Result<(), ControlError> {
        self.act_on(id, FaultAction::PowerOff)
    }

    /// Bring a crashed or powered-off server back now, from its disk.
    pub fn restart_now(&mut self, id: ServerId) -> Result<(), ControlError> {
        self.act_on(id, FaultAction::Restart)
    }

    /// Cut every link between different groups, both ways; servers in no group form one more.
    pub fn partition_now(&mut self, groups: &[&[ServerId]]) -> Result<(), ControlError> {
        let mut targets = Vec::new();
        for group in groups {
            let mut g = Vec::new();
            for id in *group {
                self.node(*id).ok_or(ControlError::NoSuchServer(*id))?;
                g.push(Target::Id(*id));
            }
            targets.push(g);
        }
        self.apply_now(&FaultAction::Partition(targets))
    }

    /// Heal every partition now; what was held back is retransmitted.
    pub fn heal_now(&mut self) -> Result<(), ControlError> {
        self.apply_now(&FaultAction::Heal)
    }

    /// Carry out any fault action now, exactly as the scenario's timeline would.
    pub fn apply_now(&mut self, action: &FaultAction) -> Result<(), ControlError> {
        self.usable()?;
        let at = self.now();
        self.apply(at, action, ORIGIN);
        Ok(())
    }

    fn act_on(
        &mut self,
        id: ServerId,
        action: fn(Vec<Target>) -> FaultAction,
    ) -> Result<(), ControlError> {
        self.node(id).ok_or(ControlError::NoSuchServer(id))?;
        self.apply_now(&action(vec![Target::Id(id)]))
    }

    fn usable(&self) -> Result<(), ControlError> {
        if self.ended {
            Err(ControlError::Ended)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;
    use crate::trace::Trace;
    use zab_core::ids::Epoch;
    use zab_core::peer::Role;
    use zab_core::Peer;

    const THREE: &str = r#"
duration = "20s"
quiet = "2s"
[cluster]
voters = 3
[workload]
clients = 2
rate = 20
"#;

    fn sim(text: &str, seed: u64) -> Sim<Peer> {
        Sim::new(parse("t.toml", "t", text).unwrap(), seed, Trace::new())
    }

    #[test]
    fn stepping_and_running_until_make_the_same_run_as_run() {
        let whole = sim(THREE, 4).run(|_| {});
        let mut stepped = sim(THREE, 4);
        for ms in (0..30_000).step_by(777) {
            stepped.run_until(SimTime::from_millis(ms));
            let _ = stepped.process(ServerId(1)).map(|p| p.role());
        }
        assert!(stepped.has_ended());
        assert_eq!(stepped.step(), None, "nothing happens after the end");
        let stepped = stepped.finish();
        assert_eq!(stepped.trace_hash, whole.trace_hash);
        assert_eq!(stepped.events, whole.events);
    }

    #[test]
    fn run_until_stands_at_the_given_time_and_actions_happen_then() {
        let mut s = sim(THREE, 1);
        assert!(s.run_until(SimTime::from_millis(5_000)));
        assert_eq!(s.now(), SimTime::from_millis(5_000));
        assert_eq!(s.state(ServerId(2)), Some(NodeState::Up));
        s.crash_now(ServerId(2)).unwrap();
        assert_eq!(s.state(ServerId(2)), Some(NodeState::Crashed));
        assert!(s.process(ServerId(2)).is_none());
        let fault = s.history().faults.last().expect("the crash is recorded");
        assert_eq!((fault.at.0, fault.action.as_str()), (5_000, "crash"));
        assert_eq!(fault.targets, vec![ServerId(2)]);
        s.power_off_now(ServerId(2)).unwrap();
        assert_eq!(s.state(ServerId(2)), Some(NodeState::Off));
        s.restart_now(ServerId(2)).unwrap();
        assert_eq!(s.state(ServerId(2)), Some(NodeState::Up));
        assert_eq!(
            s.process(ServerId(2)).map(|p| p.role()),
            Some(Role::Looking),
            "a restarted server elects first"
        );
    }

    #[test]
    fn a_preset_disk_is_what_the_first_start_recovers() {
        let mut s = sim(THREE, 1);
        s.preset_disk(
            ServerId(1),
            [
                PersistOp::WriteAcceptedEpoch(Epoch(3)),
                PersistOp::WriteCurrentEpoch(Epoch(2)),
            ],
        )
        .unwrap();
        s.run_until(SimTime::from_millis(1));
        let p = s.process(ServerId(1)).expect("started at 0");
        assert_eq!(
            (p.accepted_epoch(), p.current_epoch()),
            (Epoch(3), Epoch(2))
        );
        assert_eq!(
            p.current_vote().peer_epoch,
            Epoch(2),
            "FLE votes currentEpoch"
        );
        let again = s.preset_disk(ServerId(1), [PersistOp::WriteCurrentEpoch(Epoch(9))]);
        assert!(
            matches!(again, Err(ControlError::WrongState { .. })),
            "{again:?}"
        );
    }

    #[test]
    fn a_held_disk_completes_nothing_until_released_then_everything_in_order() {
        let run = || {
            let mut s = sim(THREE, 2);
            s.run_until(SimTime::from_millis(5_000));
            s.hold_disk(ServerId(1)).unwrap();
            let held_at = s.durable_log(ServerId(1));
            let others_at = s.durable_log(ServerId(2)).len();
            s.run_until(SimTime::from_millis(7_000));
            assert_eq!(s.durable_log(ServerId(1)), held_at, "nothing completes");
            assert!(
                s.durable_log(ServerId(2)).len() > others_at,
                "the others go on"
            );
            s.release_disk(ServerId(1)).unwrap();
            s.run_until(SimTime::from_millis(7_500));
            let log = s.durable_log(ServerId(1));
            assert!(log.len() > held_at.len(), "what waited completed");
            assert!(log.windows(2).all(|w| w[0] < w[1]), "in order: {log:?}");
            s.run_until(SimTime::from_millis(60_000));
            s.finish().trace_hash
        };
        assert_eq!(run(), run(), "holding is deterministic");
    }

    #[test]
    fn disks_can_be_read_corrupted_and_wiped() {
        let mut s = sim(THREE, 3);
        s.run_until(SimTime::from_millis(5_000));
        let log = s.durable_log(ServerId(1));
        assert!(!log.is_empty(), "writes reached server 1's disk");
        assert!(matches!(
            s.wipe_disk(ServerId(1)),
            Err(ControlError::WrongState { .. })
        ));
        s.crash_now(ServerId(1)).unwrap();
        assert_eq!(
            s.input_now(
                ServerId(1),
                Input::ClientPing {
                    conn: zab_core::peer::ConnId(1)
                }
            ),
            Err(ControlError::WrongState {
                id: ServerId(1),
                state: NodeState::Crashed,
                what: "only a running process takes inputs",
            })
        );
        s.corrupt_log_record(ServerId(1), log[0]).unwrap();
        let missing = Zxid::new(Epoch(9), 9);
        assert_eq!(
            s.corrupt_log_record(ServerId(1), missing),
            Err(ControlError::NoSuchRecord {
                id: ServerId(1),
                zxid: missing
            })
        );
        s.wipe_disk(ServerId(1)).unwrap();
        assert!(s.durable_log(ServerId(1)).is_empty());
        assert!(s.snapshots_on_disk(ServerId(1)).is_empty());
        s.restart_now(ServerId(1)).unwrap();
        let p = s.process(ServerId(1)).expect("an empty disk starts");
        assert_eq!(p.last_logged_zxid(), Zxid::ZERO);
    }

    #[test]
    fn bad_requests_are_errors() {
        let mut s = sim(THREE, 1);
        assert_eq!(
            s.crash_now(ServerId(9)),
            Err(ControlError::NoSuchServer(ServerId(9)))
        );
        assert_eq!(
            s.partition_now(&[&[ServerId(1)], &[ServerId(7)]]),
            Err(ControlError::NoSuchServer(ServerId(7)))
        );
        s.run_until(SimTime::from_millis(1));
        assert!(matches!(
            s.start_now(ServerId(1)),
            Err(ControlError::WrongState { .. })
        ));
        s.run_until(SimTime::from_millis(60_000));
        assert!(s.has_ended());
        assert_eq!(s.heal_now(), Err(ControlError::Ended));
    }
}
