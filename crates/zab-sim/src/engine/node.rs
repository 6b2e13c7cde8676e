//! One simulated server: its process (a `Peer` or another [`super::Process`], none while down), its machine (power, clock,
//! disk) and the bookkeeping the driver needs — pending timers in the node's own clock, inputs
//! deferred while paused, and its current connection per (peer, channel).

use crate::clock::NodeClock;
use crate::disk::Disk;
use crate::net::LinkId;
use crate::prng::Prng;
use crate::time::SimTime;
use std::collections::{BTreeMap, VecDeque};
use zab_core::ids::{Epoch, Millis, ServerId, Zxid};
use zab_core::peer::{Channel, Input, Role, Timer};
use zab_core::Config;

/// Process and machine state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Not started yet (staggered start).
    NotStarted,
    Up,
    /// The process died; the machine is on (connections are refused).
    Crashed,
    /// The machine is off (packets vanish, connects hang).
    Off,
}

impl NodeState {
    pub fn host_up(self) -> bool {
        !matches!(self, NodeState::Off)
    }

    pub fn is_down(self) -> bool {
        matches!(self, NodeState::Crashed | NodeState::Off)
    }
}

/// One server.
pub struct Node<P> {
    pub id: ServerId,
    pub config: Config,
    pub peer: Option<P>,
    pub state: NodeState,
    /// Bumped at every stop; events of an older incarnation are ignored.
    pub incarnation: u32,
    pub clock: NodeClock,
    /// Pending timers: local deadline and a generation that identifies the scheduled event.
    pub timers: BTreeMap<Timer, (Millis, u64)>,
    pub next_timer_generation: u64,
    pub paused_until: Option<SimTime>,
    pub deferred: VecDeque<Input>,
    /// The connection currently used for each (peer, channel).
    pub peers: BTreeMap<(ServerId, Channel), LinkId>,
    pub disk: Disk,
    /// A test holds the disk (see `Sim::hold_disk`): completions wait, counted here, until
    /// it is released. A stop of the process ends the hold.
    pub disk_held: bool,
    pub held_completions: u32,
    pub role: Role,
    pub prng: Prng,
    /// What the node's events said last (kept across restarts, for the final state).
    pub last_committed: Zxid,
    pub last_digest: Option<(Zxid, u64)>,
    pub established_epoch: Option<Epoch>,
}

impl<P> Node<P> {
    pub fn new(config: Config, clock: NodeClock, disk: Disk, prng: Prng) -> Node<P> {
        Node {
            id: config.me,
            config,
            peer: None,
            state: NodeState::NotStarted,
            incarnation: 0,
            clock,
            timers: BTreeMap::new(),
            next_timer_generation: 0,
            paused_until: None,
            deferred: VecDeque::new(),
            peers: BTreeMap::new(),
            disk,
            disk_held: false,
            held_completions: 0,
            role: Role::Looking,
            prng,
            last_committed: Zxid::ZERO,
            last_digest: None,
            established_epoch: None,
        }
    }

    pub fn is_up(&self) -> bool {
        self.state == NodeState::Up
    }

    pub fn local_now(&self, now: SimTime) -> Millis {
        self.clock.local_now(now)
    }

    /// Forget the process: its timers, deferred inputs and connection table.
    pub fn drop_process(&mut self, state: NodeState) {
        debug_assert!(state.is_down(), "drop_process only for stops");
        self.peer = None;
        self.state = state;
        self.incarnation += 1;
        self.timers.clear();
        self.paused_until = None;
        self.deferred.clear();
        self.peers.clear();
        self.disk_held = false;
        self.held_completions = 0;
        self.role = Role::Looking;
    }
}
