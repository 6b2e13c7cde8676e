//! One znode (`DataNode` + `StatPersisted`) and the client-visible `Stat` derived from it.
//!
//! ZooKeeper persists a node's `cversion` as the number of child *creates* and reports to
//! clients `cversion * 2 - numChildren` (creates + deletes, "v3 semantics", `DataNode.copyStat`).
//! That is why a fresh server's `/` reports cversion -1 and `/zookeeper` -2, why a child delete
//! raises the reported cversion by one without touching the persisted one, and why the
//! sequential suffix (taken from the persisted counter) counts creates only.

use crate::ids::{SessionId, Zxid};
use crate::request::{Acl, Stat};
use crate::txn::NodeKind;
use std::collections::BTreeSet;

/// The replicated part of a node's metadata (`StatPersisted`). `cversion` counts child creates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PersistedStat {
    pub czxid: Zxid,
    pub mzxid: Zxid,
    pub pzxid: Zxid,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
}

impl PersistedStat {
    /// A new node's stat (`DataTree.createStat`): every zxid is the creating txn's, both times
    /// are the leader's time, every version 0.
    pub fn created(zxid: Zxid, time: i64) -> PersistedStat {
        PersistedStat {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
        }
    }
}

/// ZooKeeper's special `ephemeralOwner` for containers (`EphemeralType.CONTAINER_EPHEMERAL_OWNER`).
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// The largest TTL ZooKeeper accepts: 40 bits of milliseconds (`EphemeralType.TTL.maxValue()`).
pub const TTL_MAX_MS: i64 = (1 << 40) - 1;

/// The raw `ephemeralOwner` ZooKeeper stores for a kind (what its digest and snapshots see).
pub fn raw_owner(kind: NodeKind) -> i64 {
    match kind {
        NodeKind::Persistent => 0,
        NodeKind::Ephemeral { owner } => owner.0,
        NodeKind::Container => CONTAINER_OWNER,
        NodeKind::Ttl { ttl_ms } => (0xffu64 << 56) as i64 | (ttl_ms & TTL_MAX_MS),
    }
}

/// The session owning an ephemeral kind.
pub fn owner_of(kind: NodeKind) -> Option<SessionId> {
    match kind {
        NodeKind::Ephemeral { owner } => Some(owner),
        _ => None,
    }
}

/// One znode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    pub kind: NodeKind,
    pub stat: PersistedStat,
    /// Child names (not paths), ordered so that getChildren is deterministic.
    pub children: BTreeSet<String>,
    /// Hash of `data`, kept so that the digest update on every child change of a node with
    /// large data does not rehash it. Changed only through [`Node::set_data`].
    data_hash: u64,
}

impl Node {
    pub fn new(data: Vec<u8>, acl: Vec<Acl>, kind: NodeKind, stat: PersistedStat) -> Node {
        let data_hash = super::digest::data_hash(&data);
        Node {
            data,
            acl,
            kind,
            stat,
            children: BTreeSet::new(),
            data_hash,
        }
    }

    /// Replace the data (keeping its hash current).
    pub(super) fn set_data(&mut self, data: Vec<u8>) {
        self.data_hash = super::digest::data_hash(&data);
        self.data = data;
    }

    /// Does the cached hash match the data? (For audits.)
    pub(super) fn data_hash_is_current(&self) -> bool {
        self.data_hash == super::digest::data_hash(&self.data)
    }

    pub(super) fn data_hash(&self) -> u64 {
        debug_assert_eq!(
            self.data_hash,
            super::digest::data_hash(&self.data),
            "data hash is current"
        );
        self.data_hash
    }

    /// The Stat a client sees (`DataNode.copyStat`).
    pub fn client_stat(&self) -> Stat {
        client_stat(&self.stat, self.kind, self.data.len(), self.children.len())
    }

    /// Ephemeral nodes cannot have children (NOCHILDRENFOREPHEMERALS).
    pub fn is_ephemeral(&self) -> bool {
        matches!(self.kind, NodeKind::Ephemeral { .. })
    }
}

/// The client-visible Stat for a persisted stat: cversion in creates+deletes, ephemeralOwner 0
/// for containers and TTL nodes (`DataNode.getClientEphemeralOwner`). Java int arithmetic wraps.
pub fn client_stat(stat: &PersistedStat, kind: NodeKind, data_len: usize, children: usize) -> Stat {
    let num_children = children as i32;
    Stat {
        czxid: stat.czxid,
        mzxid: stat.mzxid,
        ctime: stat.ctime,
        mtime: stat.mtime,
        version: stat.version,
        cversion: stat.cversion.wrapping_mul(2).wrapping_sub(num_children),
        aversion: stat.aversion,
        ephemeral_owner: owner_of(kind).map_or(0, |s| s.0),
        data_length: data_len as i32,
        num_children,
        pzxid: stat.pzxid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_cversion_counts_creates_and_deletes() {
        // Three creates, one delete: two children left, four changes.
        let mut stat = PersistedStat {
            cversion: 3,
            ..PersistedStat::default()
        };
        let s = client_stat(&stat, NodeKind::Persistent, 0, 2);
        assert_eq!(s.cversion, 4);
        assert_eq!(s.num_children, 2);
        // A node whose children were never "created" (the initial /zookeeper) goes negative.
        stat.cversion = 0;
        assert_eq!(client_stat(&stat, NodeKind::Persistent, 0, 1).cversion, -1);
    }

    #[test]
    fn containers_and_ttl_nodes_report_no_owner() {
        let stat = PersistedStat::default();
        assert_eq!(
            client_stat(&stat, NodeKind::Container, 0, 0).ephemeral_owner,
            0
        );
        let ttl = NodeKind::Ttl { ttl_ms: 5 };
        assert_eq!(client_stat(&stat, ttl, 0, 0).ephemeral_owner, 0);
        let eph = NodeKind::Ephemeral {
            owner: SessionId(77),
        };
        assert_eq!(client_stat(&stat, eph, 3, 0).ephemeral_owner, 77);
        assert_eq!(client_stat(&stat, eph, 3, 0).data_length, 3);
    }

    #[test]
    fn raw_owner_matches_zookeeper_markers() {
        assert_eq!(raw_owner(NodeKind::Container), i64::MIN);
        assert_eq!(
            raw_owner(NodeKind::Ttl { ttl_ms: 1 }) as u64,
            0xff00_0000_0000_0001
        );
        assert_eq!(raw_owner(NodeKind::Persistent), 0);
    }
}
