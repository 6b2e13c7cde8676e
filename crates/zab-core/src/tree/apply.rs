//! Applying a transaction (`DataTree.processTxn`): deterministic, run by every replica, and
//! the only way the replicated state changes.

use super::{node, path, DataTree};
use crate::error::ErrorCode;
use crate::ids::{Millis, SessionId, Zxid};
use crate::peer::ConnId;
use crate::request::{Acl, EventType, OpResult, Response, Stat, WatchEvent};
use crate::txn::{NodeKind, Txn, TxnBody};
use std::collections::BTreeSet;

/// What applying one transaction did: the answer for the client that asked (if it is
/// connected here) and the watch notifications to deliver, in firing order.
///
/// A multi answers `Ok(Response::Multi(results))` whether or not it failed, as ZooKeeper's
/// reply header carries err 0 for a multi; the `OpResult::Err` among the results says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub result: Result<Response, ErrorCode>,
    pub watches: Vec<(ConnId, WatchEvent)>,
}

impl DataTree {
    /// Apply one committed transaction. Never panics: a transaction that does not fit the tree
    /// (which a correct leader never produces) yields the error ZooKeeper's `processTxn` would
    /// record, and the tree stays consistent.
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let mut watches = Vec::new();
        let h = &txn.header;
        let result = self.apply_body(h.session, h.zxid, h.time, &txn.body, &mut watches);
        // A multi counts as applied only once every sub-txn is in (ZOOKEEPER-3145).
        if h.zxid > self.last_applied {
            self.last_applied = h.zxid;
        }
        debug_assert!(
            self.nodes.contains_key(path::ROOT),
            "the root survives every txn"
        );
        Applied { result, watches }
    }

    fn apply_body(
        &mut self,
        session: SessionId,
        zxid: Zxid,
        time: Millis,
        body: &TxnBody,
        out: &mut Vec<(ConnId, WatchEvent)>,
    ) -> Result<Response, ErrorCode> {
        let time = time.0 as i64;
        match body {
            TxnBody::Create {
                path,
                data,
                acl,
                kind,
                parent_cversion,
                with_stat,
            } => {
                let created =
                    self.create_node(path, data, acl, *kind, *parent_cversion, zxid, time, out);
                match created {
                    Ok(stat) => Ok(Response::Create {
                        path: path.clone(),
                        stat: with_stat.then_some(stat),
                    }),
                    Err(ErrorCode::NodeExists) if !with_stat => {
                        // processTxn's replay repair for plain creates: a node that exists
                        // already still moves its parent's cversion/pzxid forward.
                        self.set_cversion_pzxid(path, *parent_cversion, zxid);
                        Err(ErrorCode::NodeExists)
                    }
                    Err(e) => Err(e),
                }
            }
            TxnBody::Delete { path } => {
                self.delete_node(path, zxid, out).map(|()| Response::Delete)
            }
            TxnBody::SetData {
                path,
                data,
                version,
            } => self
                .set_data(path, data, *version, zxid, time, out)
                .map(|stat| Response::SetData { stat }),
            TxnBody::SetAcl { path, acl, version } => {
                let stat = self.update_node(path, |n| {
                    n.stat.aversion = *version;
                    n.acl = acl.clone();
                    n.client_stat()
                });
                stat.map(|stat| Response::SetAcl { stat })
                    .ok_or(ErrorCode::NoNode)
            }
            TxnBody::Check { .. } => Ok(Response::Check),
            TxnBody::Multi(subs) => Ok(Response::Multi(
                self.apply_multi(session, zxid, time, subs, out),
            )),
            TxnBody::CreateSession { timeout_ms } => {
                self.sessions.insert(session, *timeout_ms);
                Ok(Response::Empty)
            }
            TxnBody::CloseSession { ephemerals } => {
                self.kill_session(session, ephemerals, zxid, out);
                Ok(Response::Empty)
            }
            TxnBody::Error { code } => Err(*code),
        }
    }

    /// A multi: if any sub-txn is an error the whole multi failed and nothing is applied; the
    /// ops before the first error report "rolled back" (ZooKeeper's `ErrorResult(0)`), the
    /// error its code, the ops after it RUNTIMEINCONSISTENCY.
    fn apply_multi(
        &mut self,
        session: SessionId,
        zxid: Zxid,
        time: i64,
        subs: &[TxnBody],
        out: &mut Vec<(ConnId, WatchEvent)>,
    ) -> Vec<OpResult> {
        let failed = subs.iter().any(|s| matches!(s, TxnBody::Error { .. }));
        let mut after_error = false;
        let mut results = Vec::with_capacity(subs.len());
        for sub in subs {
            if let TxnBody::Error { code } = sub {
                after_error = true;
                results.push(OpResult::Err(*code));
                continue;
            }
            if failed {
                results.push(if after_error {
                    OpResult::Err(ErrorCode::RuntimeInconsistency)
                } else {
                    OpResult::RolledBack
                });
                continue;
            }
            let allowed = matches!(
                sub,
                TxnBody::Create { .. }
                    | TxnBody::Delete { .. }
                    | TxnBody::SetData { .. }
                    | TxnBody::Check { .. }
            );
            let r = if allowed {
                self.apply_body(session, zxid, Millis(time as u64), sub, out)
            } else {
                // ZooKeeper refuses to decode any other sub-txn type.
                Err(ErrorCode::MarshallingError)
            };
            results.push(match r {
                Ok(resp) => OpResult::Ok(resp),
                Err(e) => OpResult::Err(e),
            });
        }
        debug_assert_eq!(results.len(), subs.len(), "one result per op");
        results
    }

    /// `DataTree.createNode`.
    #[allow(clippy::too_many_arguments)]
    fn create_node(
        &mut self,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        kind: NodeKind,
        parent_cversion: i32,
        zxid: Zxid,
        time: i64,
        out: &mut Vec<(ConnId, WatchEvent)>,
    ) -> Result<Stat, ErrorCode> {
        let parent = path::parent(path).ok_or(ErrorCode::NoNode)?.to_string();
        let name = path::name(path).to_string();
        if !self.nodes.contains_key(&parent) {
            return Err(ErrorCode::NoNode);
        }
        if self.nodes.contains_key(path) {
            // ZooKeeper overwrites the existing node's ACL here (a fuzzy-snapshot repair).
            self.update_node(path, |n| n.acl = acl.to_vec());
            return Err(ErrorCode::NodeExists);
        }
        let parent_acl = self.update_node(&parent, |p| {
            let mut cversion = parent_cversion;
            if cversion == -1 {
                cversion = p.stat.cversion.wrapping_add(1);
            }
            // Only forward: replaying a create must not move the counter back.
            if cversion > p.stat.cversion {
                p.stat.cversion = cversion;
                p.stat.pzxid = zxid;
            }
            p.children.insert(name);
            p.acl.clone()
        });
        let parent_acl = parent_acl.unwrap_or_default();
        let child = node::Node::new(
            data.to_vec(),
            acl.to_vec(),
            kind,
            node::PersistedStat::created(zxid, time),
        );
        let stat = child.client_stat();
        self.insert_node(path, child);
        let none = BTreeSet::new();
        self.fire(false, path, EventType::NodeCreated, zxid, acl, &none, out);
        self.fire(
            true,
            &parent,
            EventType::NodeChildrenChanged,
            zxid,
            &parent_acl,
            &none,
            out,
        );
        Ok(stat)
    }

    /// `DataTree.deleteNode`: the parent's pzxid moves forward even if the child is already
    /// gone; the persisted cversion does not change (the reported one rises by one because the
    /// child count drops).
    pub(super) fn delete_node(
        &mut self,
        path: &str,
        zxid: Zxid,
        out: &mut Vec<(ConnId, WatchEvent)>,
    ) -> Result<(), ErrorCode> {
        if path == path::ROOT {
            // Only a corrupt log could ask this; the tree keeps its root.
            return Err(ErrorCode::BadArguments);
        }
        if self.nodes.get(path).is_some_and(|n| !n.children.is_empty()) {
            // Prepare never lets this through; ZooKeeper would orphan the children, we refuse.
            return Err(ErrorCode::NotEmpty);
        }
        let parent = path::parent(path).ok_or(ErrorCode::NoNode)?.to_string();
        let name = path::name(path).to_string();
        let parent_acl = self
            .update_node(&parent, |p| {
                p.children.remove(&name);
                if zxid > p.stat.pzxid {
                    p.stat.pzxid = zxid;
                }
                p.acl.clone()
            })
            .ok_or(ErrorCode::NoNode)?;
        let node = self.remove_node(path).ok_or(ErrorCode::NoNode)?;
        let none = BTreeSet::new();
        let processed = self.fire(
            false,
            path,
            EventType::NodeDeleted,
            zxid,
            &node.acl,
            &none,
            out,
        );
        self.fire(
            true,
            path,
            EventType::NodeDeleted,
            zxid,
            &node.acl,
            &processed,
            out,
        );
        self.fire(
            true,
            &parent,
            EventType::NodeChildrenChanged,
            zxid,
            &parent_acl,
            &none,
            out,
        );
        Ok(())
    }

    /// `DataTree.setData`: the version comes from the txn.
    fn set_data(
        &mut self,
        path: &str,
        data: &[u8],
        version: i32,
        zxid: Zxid,
        time: i64,
        out: &mut Vec<(ConnId, WatchEvent)>,
    ) -> Result<Stat, ErrorCode> {
        let (stat, acl) = self
            .update_node(path, |n| {
                n.data = data.to_vec();
                n.stat.mtime = time;
                n.stat.mzxid = zxid;
                n.stat.version = version;
                (n.client_stat(), n.acl.clone())
            })
            .ok_or(ErrorCode::NoNode)?;
        self.fire(
            false,
            path,
            EventType::NodeDataChanged,
            zxid,
            &acl,
            &BTreeSet::new(),
            out,
        );
        Ok(stat)
    }

    /// `DataTree.setCversionPzxid`.
    fn set_cversion_pzxid(&mut self, child: &str, cversion: i32, zxid: Zxid) {
        let Some(parent) = path::parent(child).map(str::to_string) else {
            return;
        };
        self.update_node(&parent, |p| {
            let new = if cversion == -1 {
                p.stat.cversion.wrapping_add(1)
            } else {
                cversion
            };
            if new > p.stat.cversion {
                p.stat.cversion = new;
                p.stat.pzxid = zxid;
            }
        });
    }

    /// `DataTree.killSession`: delete the ephemerals the txn lists, then any the session still
    /// owns here (there should be none), and forget the session.
    fn kill_session(
        &mut self,
        session: SessionId,
        listed: &[String],
        zxid: Zxid,
        out: &mut Vec<(ConnId, WatchEvent)>,
    ) {
        let mut local = self.ephemerals.get(&session).cloned().unwrap_or_default();
        for p in listed {
            // A listed path that is already gone is only logged by ZooKeeper.
            let _ = self.delete_node(p, zxid, out);
            local.remove(p);
        }
        for p in local {
            let _ = self.delete_node(&p, zxid, out);
        }
        self.ephemerals.remove(&session);
        self.sessions.remove(&session);
    }
}
