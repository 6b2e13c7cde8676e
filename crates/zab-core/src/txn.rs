//! Transactions: what the leader's prepare step produces, what every replica logs and applies.
//!
//! Mirrors ZooKeeper's `TxnHeader` plus the txn records of `zookeeper.jute` (`CreateTxn`,
//! `DeleteTxn`, `SetDataTxn`, `SetACLTxn`, `CheckVersionTxn`, `MultiTxn`, `CreateSessionTxn`,
//! `CloseSessionTxn`, `ErrorTxn`, `CreateContainerTxn`, `CreateTTLTxn`). A transaction is fully
//! determined by the leader (zxid, time, sequential names, new versions), so applying it is a
//! pure function of the tree — replicas cannot diverge by applying the same sequence.

use crate::error::ErrorCode;
use crate::ids::{Millis, SessionId, Zxid};
use crate::request::Acl;
use serde::{Deserialize, Serialize};

/// `TxnHeader`: who asked, which request of theirs, the zxid and the leader's time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnHeader {
    pub session: SessionId,
    /// The client's xid for the request (`cxid`).
    pub cxid: i32,
    pub zxid: Zxid,
    pub time: Millis,
}

/// The kind of node a create makes (after prepare resolved the mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    Persistent,
    Ephemeral { owner: SessionId },
    Container,
    Ttl { ttl_ms: i64 },
}

/// The body of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnBody {
    /// `path` is final (sequential suffix already appended). `parent_cversion` is the parent's
    /// persisted cversion (its count of child creates) after this create, as ZooKeeper records
    /// it in `CreateTxn`. `with_stat` is create2/createContainer/createTTL (ZooKeeper tells them
    /// apart by the txn header's type): the reply then carries the new node's Stat.
    Create {
        path: String,
        data: Vec<u8>,
        acl: Vec<Acl>,
        kind: NodeKind,
        parent_cversion: i32,
        with_stat: bool,
    },
    Delete {
        path: String,
    },
    /// `version` is the node's data version after the change.
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
    /// `version` is the node's ACL version after the change.
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// Changes nothing; `version` is the checked version + 1, as `CheckVersionTxn` records it.
    Check {
        path: String,
        version: i32,
    },
    /// All-or-nothing. A failed multi is logged as ZooKeeper logs it: the ops prepared before
    /// the failure as their txns, the failing op as `Error` with its code, every later op as
    /// `Error { RUNTIMEINCONSISTENCY }`; applying it changes nothing (the earlier ops report
    /// `OpResult::RolledBack`).
    Multi(Vec<TxnBody>),
    CreateSession {
        timeout_ms: i32,
    },
    /// Closes the header's session; removes its ephemerals (listed, as `CloseSessionTxn`
    /// does in 3.6+, so replicas need no session table to apply it).
    CloseSession {
        ephemerals: Vec<String>,
    },
    Error {
        code: ErrorCode,
    },
}

/// A complete transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub header: TxnHeader,
    pub body: TxnBody,
}

impl Txn {
    pub fn zxid(&self) -> Zxid {
        self.header.zxid
    }
}
