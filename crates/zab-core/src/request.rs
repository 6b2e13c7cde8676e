//! What a client can ask of a ZooKeeper server and what it gets back: the operation-level
//! vocabulary shared by the tree (which executes it), the peer (which routes it), the simulator's
//! clients (which issue it), the checker (which models it) and the wire codec (which frames it).
//!
//! Mirrors the records of ZooKeeper's `zookeeper.jute` and the op codes of `ZooDefs.OpCode`.

use crate::error::ErrorCode;
use crate::ids::{SessionId, Zxid};
use serde::{Deserialize, Serialize};

/// A znode's metadata, in jute field order. Times are milliseconds since the epoch of the
/// leader's clock (virtual in the simulator).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    pub ctime: i64,
    pub mtime: i64,
    /// Data version: +1 on each setData.
    pub version: i32,
    /// Children version: +1 on each child create/delete.
    pub cversion: i32,
    /// ACL version: +1 on each setACL.
    pub aversion: i32,
    /// Owning session for ephemerals, 0 otherwise (containers and TTL nodes use special
    /// markers inside ZooKeeper but report 0 to clients).
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    /// Zxid of the last change to the children list.
    pub pzxid: Zxid,
}

/// `CreateMode` with its wire flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    pub fn flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
            CreateMode::Container => 4,
            CreateMode::PersistentWithTtl => 5,
            CreateMode::PersistentSequentialWithTtl => 6,
        }
    }

    pub fn from_flag(flag: i32) -> Option<CreateMode> {
        Some(match flag {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            _ => return None,
        })
    }

    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

/// Permission bits (`ZooDefs.Perms`).
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// An authentication identity: `scheme:id`, e.g. `world:anyone`, `digest:bob:<hash>`,
/// `ip:10.0.0.0/8`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

impl Id {
    pub fn new(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.to_string(),
            id: id.to_string(),
        }
    }

    pub fn anyone() -> Id {
        Id::new("world", "anyone")
    }
}

/// One ACL entry: permissions granted to an identity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    pub perms: i32,
    pub id: Id,
}

impl Acl {
    /// `ZooDefs.Ids.OPEN_ACL_UNSAFE`: everything for everyone.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: Id::anyone(),
        }]
    }

    /// `ZooDefs.Ids.READ_ACL_UNSAFE`.
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: perms::READ,
            id: Id::anyone(),
        }]
    }
}

/// `Watcher.Event.EventType` with its wire number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventType {
    None,
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
    DataWatchRemoved,
    ChildWatchRemoved,
    PersistentWatchRemoved,
}

impl EventType {
    pub fn code(self) -> i32 {
        match self {
            EventType::None => -1,
            EventType::NodeCreated => 1,
            EventType::NodeDeleted => 2,
            EventType::NodeDataChanged => 3,
            EventType::NodeChildrenChanged => 4,
            EventType::DataWatchRemoved => 5,
            EventType::ChildWatchRemoved => 6,
            EventType::PersistentWatchRemoved => 7,
        }
    }

    pub fn from_code(code: i32) -> Option<EventType> {
        Some(match code {
            -1 => EventType::None,
            1 => EventType::NodeCreated,
            2 => EventType::NodeDeleted,
            3 => EventType::NodeDataChanged,
            4 => EventType::NodeChildrenChanged,
            5 => EventType::DataWatchRemoved,
            6 => EventType::ChildWatchRemoved,
            7 => EventType::PersistentWatchRemoved,
            _ => return None,
        })
    }
}

/// `Watcher.Event.KeeperState` with its wire number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeeperState {
    Disconnected,
    SyncConnected,
    AuthFailed,
    ConnectedReadOnly,
    SaslAuthenticated,
    Closed,
    Expired,
}

impl KeeperState {
    pub fn code(self) -> i32 {
        match self {
            KeeperState::Disconnected => 0,
            KeeperState::SyncConnected => 3,
            KeeperState::AuthFailed => 4,
            KeeperState::ConnectedReadOnly => 5,
            KeeperState::SaslAuthenticated => 6,
            KeeperState::Closed => 7,
            KeeperState::Expired => -112,
        }
    }
}

/// A watch notification as delivered to a client (`WatcherEvent`). `zxid` is the zxid of the
/// transaction that fired it (sent in the reply header of the -1 xid notification).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WatchEvent {
    pub event_type: EventType,
    pub state: KeeperState,
    pub path: String,
    pub zxid: Zxid,
}

/// `addWatch` modes (`AddWatchMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AddWatchMode {
    Persistent,
    PersistentRecursive,
}

impl AddWatchMode {
    pub fn code(self) -> i32 {
        match self {
            AddWatchMode::Persistent => 0,
            AddWatchMode::PersistentRecursive => 1,
        }
    }
}

/// `Watcher.WatcherType` for removeWatches / checkWatches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WatcherType {
    Children,
    Data,
    Any,
    Persistent,
    PersistentRecursive,
}

impl WatcherType {
    pub fn code(self) -> i32 {
        match self {
            WatcherType::Children => 1,
            WatcherType::Data => 2,
            WatcherType::Any => 3,
            WatcherType::Persistent => 4,
            WatcherType::PersistentRecursive => 5,
        }
    }
}

/// A client operation. One variant per ZooKeeper op (create/create2/createContainer/createTTL
/// share `Create`; getChildren/getChildren2 share `GetChildren`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Create {
        path: String,
        data: Vec<u8>,
        acl: Vec<Acl>,
        mode: CreateMode,
        /// Only for the TTL modes; milliseconds.
        ttl: Option<i64>,
        /// create2 / createContainer / createTTL return the new node's Stat.
        with_stat: bool,
    },
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
        /// getChildren2 also returns the parent's Stat.
        with_stat: bool,
    },
    GetAcl {
        path: String,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    Check {
        path: String,
        version: i32,
    },
    /// Create / Delete / SetData / Check only; all-or-nothing.
    Multi(Vec<Request>),
    /// GetData / GetChildren only; each answered on its own.
    MultiRead(Vec<Request>),
    Sync {
        path: String,
    },
    GetEphemerals {
        prefix: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    AddWatch {
        path: String,
        mode: AddWatchMode,
    },
    RemoveWatches {
        path: String,
        watcher_type: WatcherType,
    },
    CheckWatches {
        path: String,
        watcher_type: WatcherType,
    },
    /// `addauth scheme auth`.
    AddAuth {
        scheme: String,
        auth: Vec<u8>,
    },
    /// Re-register watches after a reconnect; any watch whose node changed after
    /// `relative_zxid` fires at once.
    SetWatches {
        relative_zxid: Zxid,
        data: Vec<String>,
        exist: Vec<String>,
        child: Vec<String>,
        persistent: Vec<String>,
        persistent_recursive: Vec<String>,
    },
    CloseSession,
}

impl Request {
    /// ZooKeeper's op code (`ZooDefs.OpCode`) for this request.
    pub fn op_code(&self) -> i32 {
        match self {
            Request::Create {
                mode, with_stat, ..
            } => match mode {
                CreateMode::Container => 19,
                m if m.is_ttl() => 21,
                _ if *with_stat => 15,
                _ => 1,
            },
            Request::Delete { .. } => 2,
            Request::Exists { .. } => 3,
            Request::GetData { .. } => 4,
            Request::SetData { .. } => 5,
            Request::GetAcl { .. } => 6,
            Request::SetAcl { .. } => 7,
            Request::GetChildren { with_stat, .. } => {
                if *with_stat {
                    12
                } else {
                    8
                }
            }
            Request::Sync { .. } => 9,
            Request::Check { .. } => 13,
            Request::Multi(_) => 14,
            Request::CheckWatches { .. } => 17,
            Request::RemoveWatches { .. } => 18,
            Request::MultiRead(_) => 22,
            Request::AddAuth { .. } => 100,
            Request::SetWatches { .. } => 105,
            Request::GetEphemerals { .. } => 103,
            Request::GetAllChildrenNumber { .. } => 104,
            Request::AddWatch { .. } => 106,
            Request::CloseSession => -11,
        }
    }

    /// Does this request change the replicated state (and so go through the leader as a
    /// transaction)? Reads are answered locally.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create { .. }
                | Request::Delete { .. }
                | Request::SetData { .. }
                | Request::SetAcl { .. }
                | Request::Check { .. }
                | Request::Multi(_)
                | Request::CloseSession
        )
    }
}

/// A successful answer. The error case is `ErrorCode` in `Result<Response, ErrorCode>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Create {
        path: String,
        stat: Option<Stat>,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    GetData {
        data: Vec<u8>,
        stat: Stat,
    },
    Exists {
        stat: Stat,
    },
    GetChildren {
        children: Vec<String>,
        stat: Option<Stat>,
    },
    GetAcl {
        acl: Vec<Acl>,
        stat: Stat,
    },
    SetAcl {
        stat: Stat,
    },
    Check,
    Multi(Vec<OpResult>),
    MultiRead(Vec<OpResult>),
    Sync {
        path: String,
    },
    GetEphemerals {
        paths: Vec<String>,
    },
    GetAllChildrenNumber {
        count: i32,
    },
    /// addWatch, removeWatches, checkWatches, setWatches, auth, closeSession.
    Empty,
}

/// One result inside a multi / multiRead reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    Ok(Response),
    Err(ErrorCode),
    /// An op of a failed multi that would have succeeded: ZooKeeper sends it as an
    /// `ErrorResult` with code 0 (OK), which `ErrorCode` cannot express.
    RolledBack,
}

/// What a client sends when it (re)connects: `ConnectRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: Zxid,
    pub timeout_ms: i32,
    /// `SessionId(0)` asks for a new session.
    pub session: SessionId,
    pub passwd: Vec<u8>,
    pub read_only: bool,
}

/// What the server answers: `ConnectResponse`. A negotiated timeout of 0 with session 0 means
/// the session is expired or invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub timeout_ms: i32,
    pub session: SessionId,
    pub passwd: Vec<u8>,
    pub read_only: bool,
}
