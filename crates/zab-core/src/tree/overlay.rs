//! The leader's view of writes prepared but not yet applied: ZooKeeper's `outstandingChanges`
//! (a queue of `ChangeRecord`s in zxid order) and `outstandingChangesForPath` (the latest record
//! per path). Preparing reads a path here first and falls back to the tree, so several
//! in-flight writes prepare against each other.

use super::node::PersistedStat;
use super::DataTree;
use crate::ids::{SessionId, Zxid};
use crate::request::Acl;
use crate::txn::NodeKind;
use std::collections::{BTreeMap, VecDeque};

/// A node as a prepared-but-unapplied change leaves it (`ChangeRecord` with a stat).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub data: Vec<u8>,
    pub acl: Vec<Acl>,
    pub kind: NodeKind,
    pub stat: PersistedStat,
    pub child_count: i32,
}

/// One queued change: enough to replay closeSession's scan of the queue.
#[derive(Clone, Debug)]
struct Change {
    zxid: Zxid,
    path: String,
    /// `None` = the change deletes the node; else the node's owner after it, if ephemeral.
    owner: Option<Option<SessionId>>,
}

/// The latest record for a path: `None` view = deleted.
#[derive(Clone, Debug)]
struct Latest {
    zxid: Zxid,
    view: Option<NodeView>,
}

/// The outstanding-changes overlay.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    queue: VecDeque<Change>,
    latest: BTreeMap<String, Latest>,
}

/// A saved overlay, to roll a failed multi back.
#[derive(Clone, Debug)]
pub struct Saved {
    queue_len: usize,
    latest: BTreeMap<String, Latest>,
}

impl Overlay {
    /// `getRecordForPath`: the node as the leader will see it once every prepared change is
    /// applied; `None` if it does not (or will not) exist.
    pub fn get(&self, tree: &DataTree, path: &str) -> Option<NodeView> {
        if let Some(latest) = self.latest.get(path) {
            return latest.view.clone();
        }
        tree.node(path).map(|n| NodeView {
            data: n.data.clone(),
            acl: n.acl.clone(),
            kind: n.kind,
            stat: n.stat,
            child_count: n.children.len() as i32,
        })
    }

    /// `addChangeRecord`.
    pub fn add(&mut self, zxid: Zxid, path: &str, view: Option<NodeView>) {
        debug_assert!(
            !matches!(self.queue.back(), Some(c) if c.zxid > zxid),
            "changes are queued in zxid order"
        );
        let owner = view.as_ref().map(|v| match v.kind {
            NodeKind::Ephemeral { owner } => Some(owner),
            _ => None,
        });
        self.queue.push_back(Change {
            zxid,
            path: path.to_string(),
            owner,
        });
        self.latest.insert(path.to_string(), Latest { zxid, view });
    }

    /// The ephemerals `session` will own once every prepared change is applied, as
    /// closeSession computes them: the tree's, then the queue replayed in order.
    pub fn ephemerals_after(
        &self,
        tree: &DataTree,
        session: SessionId,
    ) -> std::collections::BTreeSet<String> {
        let mut set: std::collections::BTreeSet<String> =
            tree.ephemerals(session).into_iter().collect();
        for c in &self.queue {
            match c.owner {
                None => {
                    set.remove(&c.path);
                }
                Some(Some(owner)) if owner == session => {
                    set.insert(c.path.clone());
                }
                Some(_) => {}
            }
        }
        set
    }

    /// Drop the records of changes at or below `zxid` (they are in the tree now), keeping a
    /// path's latest record if a later change wrote it.
    pub fn committed(&mut self, zxid: Zxid) {
        while self.queue.front().is_some_and(|c| c.zxid <= zxid) {
            let Some(c) = self.queue.pop_front() else {
                break;
            };
            if self.latest.get(&c.path).is_some_and(|l| l.zxid == c.zxid) {
                self.latest.remove(&c.path);
            }
        }
    }

    pub fn clear(&mut self) {
        self.queue.clear();
        self.latest.clear();
    }

    pub fn save(&self) -> Saved {
        Saved {
            queue_len: self.queue.len(),
            latest: self.latest.clone(),
        }
    }

    pub fn restore(&mut self, saved: Saved) {
        debug_assert!(
            self.queue.len() >= saved.queue_len,
            "restore only drops changes"
        );
        self.queue.truncate(saved.queue_len);
        self.latest = saved.latest;
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}
