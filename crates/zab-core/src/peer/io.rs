//! The peer's whole interface to the world: what a driver feeds in (`Input`) and what it
//! drains out (`Output`). The simulator and the real server are the two drivers; neither
//! reaches inside the peer.

use crate::election::Notification;
use crate::error::ErrorCode;
use crate::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use crate::request::{ConnectRequest, ConnectResponse, Request, Response, WatchEvent};
use crate::zab::packet::QuorumPacket;
use serde::{Deserialize, Serialize};

/// The two server-to-server channels ZooKeeper opens (election port, quorum port). Client
/// connections are identified by `ConnId` instead.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Channel {
    Election,
    Quorum,
}

/// A message between two servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    Election(Notification),
    Quorum(QuorumPacket),
}

impl PeerMessage {
    pub fn channel(&self) -> Channel {
        match self {
            PeerMessage::Election(_) => Channel::Election,
            PeerMessage::Quorum(_) => Channel::Quorum,
        }
    }
}

/// A client connection, named by the driver (a socket in the server, a simulated client's
/// connection in the simulator). Watches belong to a connection, as in ZooKeeper's `ServerCnxn`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnId(pub u64);

/// A timer the peer asked for. At most one of each kind is pending: setting it again moves it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// FLE's notification wait (doubling) and finalize wait.
    Election,
    /// A blocked connect (the `blocking-connect` bug) gives up.
    ConnectBlock,
    /// Leader/learner tick: pings, liveness checks (every tickTime/2).
    Tick,
    /// initLimit / syncLimit deadline for the current phase.
    PhaseDeadline,
    /// Session expiry bucket boundary (leader).
    SessionExpiry,
}

/// An opaque handle the peer uses to match a `PersistDone` with the request it made.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PersistToken(pub u64);

/// A request to the driver's disk. Requests are executed in the order they were issued; each
/// completes with one `Input::PersistDone` carrying its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersistOp {
    /// Append one encoded log record (see `persist::encode_record`). Not durable until a
    /// later `Fsync` completes.
    AppendLog { zxid: Zxid, record: Vec<u8> },
    /// Make every earlier append durable (`FileTxnLog.commit` with forceSync).
    Fsync { up_to: Zxid },
    /// Atomically replace the `acceptedEpoch` file (temp file, fsync, rename).
    WriteAcceptedEpoch(Epoch),
    /// Atomically replace the `currentEpoch` file.
    WriteCurrentEpoch(Epoch),
    /// Write a snapshot file `snapshot.<zxid>` (durable when done).
    Snapshot { zxid: Zxid, bytes: Vec<u8> },
    /// Drop every log record after `to` (durable when done); snapshots newer than `to` are
    /// deleted too.
    TruncateLog { to: Zxid },
}

/// Why the disk refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiskError {
    /// EIO.
    Io,
    /// ENOSPC.
    Full,
}

/// What a restarting server's disk holds, as the driver read it back. A restart builds a
/// `Peer` from this and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    /// The durable log records, concatenated in append order (possibly with a torn or corrupt
    /// tail, which recovery detects by checksum).
    pub log: Vec<u8>,
    /// Snapshot files, oldest first.
    pub snapshots: Vec<(Zxid, Vec<u8>)>,
    pub accepted_epoch: Option<Epoch>,
    pub current_epoch: Option<Epoch>,
}

/// Everything that can happen to a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A message arrived from another server on a channel.
    Message { from: ServerId, msg: PeerMessage },
    /// A connection to `peer` on `channel` is established. `outbound` says whether this side
    /// initiated it (the election channel's "higher id keeps it" rule needs to know).
    /// The acceptor hears of a connection before anything it sends on it can arrive, and the
    /// initiator's `Connected` is not overtaken by the acceptor's reaction to it (a
    /// `Disconnected` or a connect back). If the connection was closed or replaced before the
    /// initiator heard of it, the initiator gets `Connected` and then `Disconnected`.
    Connected {
        peer: ServerId,
        channel: Channel,
        outbound: bool,
    },
    /// The connection to `peer` on `channel` was closed or reset.
    Disconnected { peer: ServerId, channel: Channel },
    /// An outbound connect failed: refused at once, or timed out after the requested timeout.
    ConnectFailed { peer: ServerId, channel: Channel },
    /// A timer the peer set has fired (by this node's own clock).
    TimerFired(Timer),
    /// A persistence request completed.
    PersistDone {
        token: PersistToken,
        result: Result<(), DiskError>,
    },
    /// A client opened a connection and sent its `ConnectRequest`.
    ClientConnect {
        conn: ConnId,
        request: ConnectRequest,
    },
    /// A client request on an established connection.
    ClientRequest {
        conn: ConnId,
        xid: i32,
        request: Request,
    },
    /// A client ping (xid -2): touches the session.
    ClientPing { conn: ConnId },
    /// The client connection closed (the session lives on until it expires or is closed).
    ClientDisconnected { conn: ConnId },
}

/// The peer's role, as `QuorumPeer.ServerState`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Looking,
    Following,
    Leading,
    Observing,
}

/// Protocol events for the history and the checker's replica invariants. They say what the
/// peer did, not what it intends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerEvent {
    RoleChanged {
        role: Role,
    },
    /// FLE finished: who this server settled on, in which round.
    Elected {
        leader: ServerId,
        election_epoch: u64,
    },
    /// acceptedEpoch became durable.
    AcceptedEpoch {
        epoch: Epoch,
    },
    /// currentEpoch became durable.
    CurrentEpoch {
        epoch: Epoch,
    },
    /// This server (as leader) was acked NEWLEADER by a quorum and starts broadcasting.
    LeaderEstablished {
        epoch: Epoch,
    },
    /// The leader proposed a transaction.
    Proposed {
        zxid: Zxid,
    },
    /// The log is durable up to `zxid`.
    LogSynced {
        zxid: Zxid,
    },
    /// This server committed (applied) a transaction; `txn_hash` identifies its content so the
    /// checker can tell two different transactions with one zxid apart.
    Committed {
        zxid: Zxid,
        txn_hash: u64,
    },
    /// The log was truncated to `to`.
    Truncated {
        to: Zxid,
    },
    /// The learner was synchronised by this method.
    Synced {
        method: SyncMethod,
        leader_zxid: Zxid,
    },
    /// A snapshot was written.
    Snapshot {
        zxid: Zxid,
    },
    /// The tree digest after applying everything up to `zxid` (emitted at quiet points).
    Digest {
        zxid: Zxid,
        digest: u64,
    },
    /// A session expired on the leader.
    SessionExpired {
        session: SessionId,
    },
    /// The server refused to start: its disk could not be recovered (ZooKeeper's
    /// `loadDataBase` throws, e.g. an acceptedEpoch behind currentEpoch, ZOOKEEPER-1653).
    Halted {
        reason: String,
    },
}

/// How a learner was brought up to date.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMethod {
    Diff,
    TruncDiff,
    Trunc,
    Snap,
}

/// Everything a peer can ask of its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Send {
        to: ServerId,
        msg: PeerMessage,
    },
    /// Open a connection; the driver answers `Connected` or `ConnectFailed` (after at most
    /// `timeout`, when the other host drops SYNs). Every `Connect` gets exactly one answer:
    /// the election's blocking-connect bug waits for it. On the election channel a new
    /// connection with a peer replaces any earlier one between the same two servers (the
    /// driver keeps one per pair and does not report the replaced one as `Disconnected`).
    Connect {
        to: ServerId,
        channel: Channel,
        timeout: Millis,
    },
    /// Close the established connection with `peer` on `channel` (a connect still in progress
    /// is not affected and is answered as usual); the driver delivers `Disconnected` to the
    /// other side. Events of one pair of servers must reach each side in the order
    /// they happened (a `Disconnected` never overtakes a later `Connected`).
    Disconnect {
        peer: ServerId,
        channel: Channel,
    },
    SetTimer {
        timer: Timer,
        at: Millis,
    },
    CancelTimer {
        timer: Timer,
    },
    Persist {
        token: PersistToken,
        op: PersistOp,
    },
    /// Answer a client's connect. `None` refuses it (the client's lastZxidSeen is ahead of
    /// this server, or the server is not serving): the driver closes the connection.
    ClientConnected {
        conn: ConnId,
        response: Option<ConnectResponse>,
    },
    ClientReply {
        conn: ConnId,
        xid: i32,
        zxid: Zxid,
        result: Result<Response, ErrorCode>,
    },
    ClientWatch {
        conn: ConnId,
        event: WatchEvent,
    },
    /// Close a client connection (session expired/closed, server stopped serving).
    ClientClose {
        conn: ConnId,
    },
    Event(ServerEvent),
}
