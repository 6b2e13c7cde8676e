//! The replicated znode tree (`DataTree` + the session table of `ZKDatabase`), with watches
//! and ACLs, and the leader-side step that turns requests into transactions
//! (`PrepRequestProcessor`).
//!
//! The split is ZooKeeper's: the leader *prepares* a request against the tree plus the writes
//! it has prepared but not yet applied ([`Preparer`]), producing a [`Txn`] that fixes every
//! decision (sequential names, new versions, errors); every replica then *applies* the txn
//! ([`DataTree::apply`]), which is deterministic and needs nothing but the tree. Reads are
//! answered from the local tree ([`DataTree::read`]) and may register watches.

pub mod acl;
mod apply;
mod containers;
mod digest;
mod invariants;
pub mod node;
mod overlay;
pub mod path;
mod prepare;
mod read;
mod snapshot;
pub mod watch;

pub use apply::Applied;
pub use prepare::Preparer;
pub use snapshot::SnapshotError;

use crate::ids::{SessionId, Zxid};
use crate::peer::ConnId;
use crate::request::{Acl, EventType, Id, KeeperState, WatchEvent};
use crate::txn::NodeKind;
use node::{Node, PersistedStat};
use std::collections::{BTreeMap, BTreeSet};
use watch::WatchManager;

/// The largest data a node may hold: jute's default `jute.maxbuffer` (0xfffff bytes). ZooKeeper
/// refuses bigger requests while decoding them; we answer MARSHALLINGERROR.
pub const MAX_DATA_BYTES: usize = 0xfffff;

/// The replicated state of one server: the nodes, the session table (id -> negotiated
/// timeout) and the ephemerals by owner; plus this server's own watch registrations, which
/// are not replicated.
#[derive(Clone, Debug)]
pub struct DataTree {
    nodes: BTreeMap<String, Node>,
    sessions: BTreeMap<SessionId, i32>,
    ephemerals: BTreeMap<SessionId, BTreeSet<String>>,
    /// Container and TTL nodes, for the leader's container manager.
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    data_watches: WatchManager,
    child_watches: WatchManager,
    /// The auth ids each watching connection had at its latest read: notifications are
    /// filtered by READ permission as `ServerCnxn.process(event, acl)` does.
    conn_auth: BTreeMap<ConnId, Vec<Id>>,
    /// Events fired outside `apply` (setWatches), taken with [`DataTree::take_watch_events`].
    pending_events: Vec<(ConnId, WatchEvent)>,
    last_applied: Zxid,
    digest: u64,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// A fresh tree as ZooKeeper's `DataTree()` builds it: `/`, `/zookeeper`,
    /// `/zookeeper/quota` and `/zookeeper/config` (read-only for everyone, aversion -1 because
    /// ZooKeeper sets its ACL with version -1), all with zeroed stats.
    pub fn new() -> DataTree {
        let mut tree = DataTree::empty();
        let blank = || {
            Node::new(
                Vec::new(),
                Acl::open_unsafe(),
                NodeKind::Persistent,
                PersistedStat::default(),
            )
        };
        tree.insert_node(path::ROOT, blank());
        tree.insert_node(path::ZOOKEEPER, blank());
        tree.insert_node(path::QUOTA, blank());
        let mut config = blank();
        config.acl = Acl::read_unsafe();
        config.stat.aversion = -1;
        tree.insert_node(path::CONFIG, config);
        for p in [path::ZOOKEEPER, path::QUOTA, path::CONFIG] {
            tree.link_child(p);
        }
        tree
    }

    /// No nodes at all (for restore).
    fn empty() -> DataTree {
        DataTree {
            nodes: BTreeMap::new(),
            sessions: BTreeMap::new(),
            ephemerals: BTreeMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            data_watches: WatchManager::default(),
            child_watches: WatchManager::default(),
            conn_auth: BTreeMap::new(),
            pending_events: Vec::new(),
            last_applied: Zxid::ZERO,
            digest: 0,
        }
    }

    /// The highest zxid applied (`lastProcessedZxid`).
    pub fn last_applied(&self) -> Zxid {
        self.last_applied
    }

    /// The order-independent digest of every node (path, data, ACL, stat).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// A session's negotiated timeout, if the session exists.
    pub fn session_timeout(&self, s: SessionId) -> Option<i32> {
        self.sessions.get(&s).copied()
    }

    /// Every live session and its timeout, in id order.
    pub fn sessions(&self) -> impl Iterator<Item = (SessionId, i32)> + '_ {
        self.sessions.iter().map(|(s, t)| (*s, *t))
    }

    /// The ephemeral nodes a session owns, sorted.
    pub fn ephemerals(&self, s: SessionId) -> Vec<String> {
        self.ephemerals
            .get(&s)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Container nodes (for the container manager), sorted.
    pub fn containers(&self) -> impl Iterator<Item = &str> {
        self.containers.iter().map(String::as_str)
    }

    /// TTL nodes, sorted.
    pub fn ttl_nodes(&self) -> impl Iterator<Item = &str> {
        self.ttls.iter().map(String::as_str)
    }

    /// A node, if it exists.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Number of nodes including the root (`zk_znode_count`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of watch registrations (`zk_watch_count`).
    pub fn watch_count(&self) -> usize {
        self.data_watches.len() + self.child_watches.len()
    }

    /// Number of ephemeral nodes (`zk_ephemerals_count`).
    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(|s| s.len()).sum()
    }

    /// `zk_approximate_data_size`: path length plus data length over every node, as
    /// `DataTree.approximateDataSize` counts (ZooKeeper counts the root under both of its
    /// names; we count it once).
    pub fn approximate_data_size(&self) -> u64 {
        self.nodes
            .iter()
            .map(|(p, n)| (p.len() + n.data.len()) as u64)
            .sum()
    }

    /// The paths a connection watches, data and child managers together, sorted (`wchc`).
    pub fn watched_paths(&self, conn: ConnId) -> Vec<String> {
        let mut paths = self.data_watches.paths_of(conn);
        paths.extend(self.child_watches.paths_of(conn));
        paths.sort();
        paths.dedup();
        paths
    }

    /// A client connection closed: drop its watches (`DataTree.removeCnxn`).
    pub fn remove_watcher(&mut self, conn: ConnId) {
        self.data_watches.remove_watcher(conn);
        self.child_watches.remove_watcher(conn);
        self.conn_auth.remove(&conn);
    }

    /// Record a connection's current auth ids (after `addauth`), used to filter its
    /// notifications. `read` records them too.
    pub fn set_conn_auth(&mut self, conn: ConnId, auth: &[Id]) {
        self.conn_auth.insert(conn, auth.to_vec());
    }

    /// Events fired by a `read` (setWatches fires at once for nodes that changed).
    pub fn take_watch_events(&mut self) -> Vec<(ConnId, WatchEvent)> {
        std::mem::take(&mut self.pending_events)
    }

    // --- node bookkeeping; every change goes through these so the digest stays exact ---

    fn insert_node(&mut self, path: &str, node: Node) {
        debug_assert!(
            !self.nodes.contains_key(path),
            "insert over an existing node"
        );
        self.digest = self.digest.wrapping_add(digest::node_digest(path, &node));
        match node.kind {
            NodeKind::Ephemeral { owner } => {
                self.ephemerals
                    .entry(owner)
                    .or_default()
                    .insert(path.to_string());
            }
            NodeKind::Container => {
                self.containers.insert(path.to_string());
            }
            NodeKind::Ttl { .. } => {
                self.ttls.insert(path.to_string());
            }
            NodeKind::Persistent => {}
        }
        self.nodes.insert(path.to_string(), node);
    }

    fn remove_node(&mut self, path: &str) -> Option<Node> {
        let node = self.nodes.remove(path)?;
        self.digest = self.digest.wrapping_sub(digest::node_digest(path, &node));
        match node.kind {
            NodeKind::Ephemeral { owner } => {
                if let Some(set) = self.ephemerals.get_mut(&owner) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&owner);
                    }
                }
            }
            NodeKind::Container => {
                self.containers.remove(path);
            }
            NodeKind::Ttl { .. } => {
                self.ttls.remove(path);
            }
            NodeKind::Persistent => {}
        }
        Some(node)
    }

    /// Change a node in place; the digest follows. `None` if the node does not exist.
    fn update_node<R>(&mut self, path: &str, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
        let node = self.nodes.get_mut(path)?;
        let before = digest::node_digest(path, node);
        let r = f(node);
        let after = digest::node_digest(path, node);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        Some(r)
    }

    /// Add `path` to its parent's children (used when building trees).
    fn link_child(&mut self, child: &str) {
        let parent = path::parent(child).expect("absolute path").to_string();
        let name = path::name(child).to_string();
        self.update_node(&parent, |p| p.children.insert(name));
    }

    /// Fire `event_type` on `path` through one of the two watch managers, delivering to
    /// watchers allowed to READ a node with `acl`. Returns every watcher triggered (delivered or
    /// not), for the delete path's suppression, as `WatchManager.triggerWatch` does.
    #[allow(clippy::too_many_arguments)]
    fn fire(
        &mut self,
        children: bool,
        path: &str,
        event_type: EventType,
        zxid: Zxid,
        acl: &[Acl],
        suppress: &BTreeSet<ConnId>,
        out: &mut Vec<(ConnId, WatchEvent)>,
    ) -> BTreeSet<ConnId> {
        let manager = if children {
            &mut self.child_watches
        } else {
            &mut self.data_watches
        };
        let fired = manager.trigger(path);
        for conn in fired.iter().filter(|c| !suppress.contains(c)) {
            let auth = self.conn_auth.get(conn).map(Vec::as_slice).unwrap_or(&[]);
            if acl::permits(acl, crate::request::perms::READ, auth) {
                out.push((
                    *conn,
                    WatchEvent {
                        event_type,
                        state: KeeperState::SyncConnected,
                        path: path.to_string(),
                        zxid,
                    },
                ));
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
use tests::fixture as tests_support;
