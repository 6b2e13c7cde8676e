//! Scenario files: what to simulate (cluster, network, disk, workload), which faults to inject
//! when, and what the run is expected to conclude. `file.rs` is the TOML syntax; this module is
//! the validated result the engine runs.

mod aimed;
mod error;
mod file;

pub use aimed::{packet_name, Endpoint, Trigger, PACKET_NAMES};
pub use error::ScenarioError;
pub use file::{load, parse};

use crate::dist::Dist;
pub use crate::net::CutDirection;
use crate::time::Span;
use serde::{Deserialize, Serialize};
use zab_core::ids::ServerId;
use zab_core::BugSet;

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Used when the command line gives none.
    pub seed: u64,
    /// How long faults and the workload run.
    pub duration: Span,
    /// After `duration`: faults are healed, down servers restarted (if `recover`), clients stop
    /// issuing; the run continues this long so servers can converge.
    pub quiet: Span,
    pub recover: bool,
    pub cluster: ClusterSpec,
    pub network: NetworkSpec,
    pub disk: DiskSpec,
    pub workload: WorkloadSpec,
    pub faults: Vec<FaultSpec>,
    pub nemesis: Option<NemesisSpec>,
    pub expect: Expect,
    /// `[expect] first_leader`: the first server to take the leading role.
    pub expect_first_leader: Option<ServerId>,
    /// `[expect] min_acked_writes`: the workload made at least this much progress.
    pub expect_min_acked_writes: u64,
}

/// `[cluster]`.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub voters: Vec<ServerId>,
    pub observers: Vec<ServerId>,
    pub tick_ms: u64,
    pub init_limit: u64,
    pub sync_limit: u64,
    pub bugs: BugSet,
    /// When each server's process first starts.
    pub start_at: Vec<(ServerId, Span)>,
    /// Largest initial clock offset between servers.
    pub clock_skew: Span,
}

impl ClusterSpec {
    pub fn servers(&self) -> Vec<ServerId> {
        let mut all: Vec<ServerId> = self.voters.iter().chain(&self.observers).copied().collect();
        all.sort();
        all
    }
}

/// `[network]`.
#[derive(Clone, Debug)]
pub struct NetworkSpec {
    pub latency: Dist,
    /// Chaos mode (breaks TCP on purpose): probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Chaos mode: probability that a packet ignores FIFO order inside its connection.
    pub reorder: f64,
}

/// `[disk]`.
#[derive(Clone, Debug)]
pub struct DiskSpec {
    pub append: Dist,
    pub fsync: Dist,
    /// Does a process crash (not a power-off) keep what was written but not fsynced? The OS page
    /// cache survives a process crash on a real machine, so true is the realistic default.
    pub page_cache_survives_crash: bool,
}

/// `[workload]`.
#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    pub clients: u32,
    /// Operations per second per client (think time is exponential with this rate).
    pub rate: f64,
    pub keys: u32,
    pub mix: Mix,
    /// Probability that a read leaves a watch.
    pub watch: f64,
    pub session_timeout_ms: u64,
    pub start: Span,
}

/// Relative weights of the workload's operation kinds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    /// getData (with a watch at the `watch` probability).
    pub read: u64,
    /// setData with version -1 (create when the key is missing).
    pub write: u64,
    /// setData with the last version seen (compare-and-set).
    pub cas: u64,
    /// Sequential creates and dequeues under `/queue`.
    pub queue: u64,
    /// Ephemeral-sequential lock recipe under `/locks`.
    pub lock: u64,
    /// multi of a check and two setData.
    pub multi: u64,
    /// exists with a watch.
    pub exists: u64,
    /// sync followed by nothing (a sync barrier).
    pub sync: u64,
}

impl Mix {
    pub fn standard() -> Mix {
        Mix {
            read: 4,
            write: 3,
            cas: 1,
            queue: 1,
            lock: 1,
            multi: 1,
            exists: 1,
            sync: 0,
        }
    }

    pub fn weights(&self) -> [u64; 8] {
        [
            self.read,
            self.write,
            self.cas,
            self.queue,
            self.lock,
            self.multi,
            self.exists,
            self.sync,
        ]
    }
}

/// Who a fault hits, resolved when it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Id(ServerId),
    /// The live server currently leading.
    Leader,
    /// One live follower, chosen by the nemesis stream.
    Follower,
    Followers,
    Observer,
    Observers,
    /// One live server, chosen by the nemesis stream.
    Any,
    All,
    /// Every server that is down (crashed or powered off).
    Down,
    /// An aimed fault's (`on = { … }`) sender of the packet that fired it.
    Sender,
    /// An aimed fault's receiver of the packet that fired it.
    Receiver,
}

impl Target {
    pub const NAMES: [&'static str; 8] = [
        "leader",
        "follower",
        "followers",
        "observer",
        "observers",
        "any",
        "all",
        "down",
    ];
}

/// Which clients a client partition cuts, resolved when it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientTarget {
    /// Client `n` of the workload (1-based).
    Id(u64),
    /// Every client.
    All,
    /// The clients whose connection (or connection attempt) is to one of the partition's
    /// servers when it fires: "the clients of server X".
    Connected,
}

/// Disk faults.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskFaultKind {
    /// The next `count` fsyncs report success without making anything durable.
    LyingFsync,
    /// At the next crash/power-off, half of the unsynced tail's first record reaches the disk.
    TornWrite,
    /// Flip a byte inside a durable log record (restart must catch it by checksum).
    CorruptEntry,
    /// The next `count` writes fail with EIO.
    Eio,
    /// The next `count` writes fail with ENOSPC.
    DiskFull,
}

/// What a timeline fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    Crash(Vec<Target>),
    PowerOff(Vec<Target>),
    Restart(Vec<Target>),
    /// Cut every link between different groups, both ways. Servers in no group form one more.
    Partition(Vec<Vec<Target>>),
    /// Cut links from `from` to `to` only.
    OneWay {
        from: Vec<Target>,
        to: Vec<Target>,
    },
    /// Cut clients from servers (both ways or one way); the servers still see each other.
    ClientPartition {
        clients: Vec<ClientTarget>,
        servers: Vec<Target>,
        direction: CutDirection,
    },
    Heal,
    Pause {
        targets: Vec<Target>,
        span: Span,
    },
    DiskFault {
        targets: Vec<Target>,
        kind: DiskFaultKind,
        count: u32,
    },
    Drift {
        targets: Vec<Target>,
        ppm: i64,
        jump_ms: i64,
    },
}

impl FaultAction {
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Crash(_) => "crash",
            FaultAction::PowerOff(_) => "power_off",
            FaultAction::Restart(_) => "restart",
            FaultAction::Partition(_) => "partition",
            FaultAction::OneWay { .. } => "partition",
            FaultAction::ClientPartition { .. } => "client_partition",
            FaultAction::Heal => "heal",
            FaultAction::Pause { .. } => "pause",
            FaultAction::DiskFault { .. } => "disk_fault",
            FaultAction::Drift { .. } => "drift",
        }
    }
}

/// One `[[fault]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// When it fires; for an aimed fault, from when it is armed.
    pub at: Span,
    pub action: FaultAction,
    /// An aimed fault fires on a protocol event instead of at `at` (see [`Trigger`]).
    pub on: Option<Trigger>,
}

/// `[nemesis]`: random faults, rates per minute of virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisSpec {
    pub crash: f64,
    pub power_off: f64,
    pub partition: f64,
    pub pause: f64,
    pub disk_fault: f64,
    pub drift: f64,
    /// Cut every client from one live server (both ways or one way) for about `down_for`.
    pub client_partition: f64,
    /// How long a crashed server stays down / a partition lasts / a pause lasts (mean).
    pub down_for: Span,
    /// Never take more than this many servers down at once (default: a minority of voters).
    pub max_down: usize,
    pub start: Span,
}

/// `[expect]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Pass,
    /// The run must find this named violation (e.g. `no-acked-write-lost`).
    Violation(String),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Pass => f.write_str("pass"),
            Expect::Violation(v) => write!(f, "violation `{v}`"),
        }
    }
}
