//! The leader's prepare step (`PrepRequestProcessor.pRequest2Txn`): check a write against the
//! tree and the outstanding changes, and fix every decision in a transaction.
//!
//! Every write prepared gets a zxid, failed or not: a failure becomes `TxnBody::Error` and is
//! logged and committed like any txn (ZooKeeper sets the header before checking anything, then
//! turns a `KeeperException` into an `ErrorTxn`). The checks run in ZooKeeper's order, so the
//! same bad request gets the same code.

use super::node::{PersistedStat, TTL_MAX_MS};
use super::overlay::{NodeView, Overlay};
use super::{acl, path, DataTree, MAX_DATA_BYTES};
use crate::error::ErrorCode;
use crate::ids::{Millis, SessionId, Zxid};
use crate::request::{perms, CreateMode, Id, Request};
use crate::txn::{NodeKind, Txn, TxnBody, TxnHeader};
use std::collections::BTreeMap;

/// What the preparer knows of a session that the tree does not know yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionMark {
    /// createSession prepared, not yet applied.
    Opening,
    /// closeSession prepared: every later request of the session is SESSIONEXPIRED.
    Closing,
}

/// The leader's prepare step with its outstanding-changes overlay. The overlay holds one
/// record per node a prepared-but-unapplied write touches, so it is bounded by the leader's
/// limit on proposals in flight; `committed` drains it.
#[derive(Clone, Debug)]
pub struct Preparer {
    overlay: Overlay,
    sessions: BTreeMap<SessionId, (Zxid, SessionMark)>,
    /// `zookeeper.extendedTypesEnabled`: TTL nodes are refused (UNIMPLEMENTED) without it.
    extended_types: bool,
}

impl Default for Preparer {
    fn default() -> Self {
        Preparer::new()
    }
}

impl Preparer {
    /// A preparer with TTL nodes enabled.
    pub fn new() -> Preparer {
        Preparer {
            overlay: Overlay::default(),
            sessions: BTreeMap::new(),
            extended_types: true,
        }
    }

    /// ZooKeeper's default: `zookeeper.extendedTypesEnabled=false`, so createTTL is UNIMPLEMENTED.
    pub fn without_ttl() -> Preparer {
        Preparer {
            extended_types: false,
            ..Preparer::new()
        }
    }

    /// Turn a client write into a transaction with `zxid` and the leader's `time`. A request
    /// that is not a write (a read, AddAuth) is a caller mistake and yields APIERROR.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        &mut self,
        tree: &DataTree,
        session: SessionId,
        auth: &[Id],
        cxid: i32,
        request: &Request,
        zxid: Zxid,
        time: Millis,
    ) -> Txn {
        debug_assert!(
            zxid > tree.last_applied(),
            "a new txn's zxid is above everything applied"
        );
        let body = match request {
            Request::Multi(ops) => self.prepare_multi(tree, session, auth, ops, zxid, time),
            Request::CloseSession => self.prepare_close_session(tree, session, zxid),
            Request::Create { .. }
            | Request::Delete { .. }
            | Request::SetData { .. }
            | Request::SetAcl { .. }
            | Request::Check { .. } => {
                match self.prepare_op(tree, session, auth, request, zxid, time) {
                    Ok(body) => body,
                    Err(code) => TxnBody::Error { code },
                }
            }
            _ => TxnBody::Error {
                code: ErrorCode::ApiError,
            },
        };
        Txn {
            header: TxnHeader {
                session,
                cxid,
                zxid,
                time,
            },
            body,
        }
    }

    /// createSession: the session (id chosen by the server's tracker, timeout negotiated) is
    /// known to the preparer at once, to the tree once applied.
    pub fn prepare_create_session(
        &mut self,
        session: SessionId,
        timeout_ms: i32,
        zxid: Zxid,
        time: Millis,
    ) -> Txn {
        self.sessions.insert(session, (zxid, SessionMark::Opening));
        Txn {
            header: TxnHeader {
                session,
                cxid: 0,
                zxid,
                time,
            },
            body: TxnBody::CreateSession { timeout_ms },
        }
    }

    /// deleteContainer, as the leader's container manager posts it (session 0, no ACL or
    /// session check): NOTEMPTY if the node has children, BADVERSION if it is an ephemeral.
    /// A candidate list comes from [`DataTree::container_candidates`].
    pub fn prepare_delete_container(
        &mut self,
        tree: &DataTree,
        path: &str,
        zxid: Zxid,
        time: Millis,
    ) -> Txn {
        let body = match self.delete_container(tree, path, zxid) {
            Ok(body) => body,
            Err(code) => TxnBody::Error { code },
        };
        Txn {
            header: TxnHeader {
                session: SessionId(0),
                cxid: 0,
                zxid,
                time,
            },
            body,
        }
    }

    fn delete_container(
        &mut self,
        tree: &DataTree,
        p: &str,
        zxid: Zxid,
    ) -> Result<TxnBody, ErrorCode> {
        if p.contains('\0') || path::is_special(p) {
            return Err(ErrorCode::BadArguments);
        }
        let parent = path::parent(p).ok_or(ErrorCode::BadArguments)?;
        let node = self.record(tree, p)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        if matches!(node.kind, NodeKind::Ephemeral { .. }) {
            return Err(ErrorCode::BadVersion);
        }
        let mut parent_rec = self.record(tree, parent)?;
        parent_rec.child_count -= 1;
        parent_rec.stat.pzxid = zxid;
        self.overlay.add(zxid, parent, Some(parent_rec));
        self.overlay.add(zxid, p, None);
        Ok(TxnBody::Delete {
            path: p.to_string(),
        })
    }

    /// Forget the records of changes at or below `zxid`: the tree has them now.
    pub fn committed(&mut self, zxid: Zxid) {
        self.overlay.committed(zxid);
        self.sessions.retain(|_, (z, _)| *z > zxid);
    }

    /// Leadership lost: nothing prepared survives.
    pub fn clear(&mut self) {
        self.overlay.clear();
        self.sessions.clear();
    }

    /// How many changes are outstanding.
    pub fn outstanding(&self) -> usize {
        self.overlay.len()
    }

    /// `checkSession` (UNKNOWNSESSION, SESSIONEXPIRED once closing); an ephemeral create uses
    /// `checkGlobalSession`, which reports an unknown session as SESSIONEXPIRED.
    fn check_session(&self, tree: &DataTree, s: SessionId, global: bool) -> Result<(), ErrorCode> {
        match self.sessions.get(&s) {
            Some((_, SessionMark::Closing)) => Err(ErrorCode::SessionExpired),
            Some((_, SessionMark::Opening)) => Ok(()),
            None if tree.session_timeout(s).is_some() => Ok(()),
            None if global => Err(ErrorCode::SessionExpired),
            None => Err(ErrorCode::UnknownSession),
        }
    }

    fn record(&self, tree: &DataTree, p: &str) -> Result<NodeView, ErrorCode> {
        self.overlay.get(tree, p).ok_or(ErrorCode::NoNode)
    }

    /// One create/delete/setData/setACL/check, alone or inside a multi. On error nothing is
    /// added to the overlay.
    fn prepare_op(
        &mut self,
        tree: &DataTree,
        session: SessionId,
        auth: &[Id],
        request: &Request,
        zxid: Zxid,
        time: Millis,
    ) -> Result<TxnBody, ErrorCode> {
        let time_ms = time.0 as i64;
        match request {
            Request::Create {
                path,
                data,
                acl,
                mode,
                ttl,
                with_stat,
            } => {
                let ttl = ttl.unwrap_or(-1);
                if data.len() > MAX_DATA_BYTES {
                    return Err(ErrorCode::MarshallingError);
                }
                if mode.is_ttl() && !self.extended_types {
                    return Err(ErrorCode::Unimplemented);
                }
                let ttl_ok = if mode.is_ttl() {
                    (1..=TTL_MAX_MS).contains(&ttl)
                } else {
                    ttl < 0
                };
                if !ttl_ok {
                    return Err(ErrorCode::BadArguments);
                }
                self.check_session(tree, session, mode.is_ephemeral())?;
                if path.contains('\0') {
                    return Err(ErrorCode::BadArguments);
                }
                let parent = path::parent(path).ok_or(ErrorCode::BadArguments)?;
                let fixed = acl::fixup(acl, auth)?;
                let mut parent_rec = self.record(tree, parent)?;
                acl::check(&parent_rec.acl, perms::CREATE, auth)?;
                let cversion = parent_rec.stat.cversion;
                let final_path = if mode.is_sequential() {
                    format!("{path}{}", path::sequential_suffix(cversion))
                } else {
                    path.clone()
                };
                path::validate(&final_path).map_err(|_| ErrorCode::BadArguments)?;
                if self.overlay.get(tree, &final_path).is_some() {
                    return Err(ErrorCode::NodeExists);
                }
                if matches!(parent_rec.kind, NodeKind::Ephemeral { .. }) {
                    return Err(ErrorCode::NoChildrenForEphemerals);
                }
                let new_cversion = cversion.wrapping_add(1);
                let kind = match mode {
                    CreateMode::Container => NodeKind::Container,
                    m if m.is_ttl() => NodeKind::Ttl { ttl_ms: ttl },
                    m if m.is_ephemeral() => NodeKind::Ephemeral { owner: session },
                    _ => NodeKind::Persistent,
                };
                parent_rec.child_count += 1;
                parent_rec.stat.cversion = new_cversion;
                parent_rec.stat.pzxid = zxid;
                self.overlay.add(zxid, parent, Some(parent_rec));
                let node = NodeView {
                    data: data.clone(),
                    acl: fixed.clone(),
                    kind,
                    stat: PersistedStat::created(zxid, time_ms),
                    child_count: 0,
                };
                self.overlay.add(zxid, &final_path, Some(node));
                Ok(TxnBody::Create {
                    path: final_path,
                    data: data.clone(),
                    acl: fixed,
                    kind,
                    parent_cversion: new_cversion,
                    with_stat: *with_stat || *mode == CreateMode::Container || mode.is_ttl(),
                })
            }
            Request::Delete { path, version } => {
                self.check_session(tree, session, false)?;
                if path.contains('\0') || path::is_special(path) {
                    return Err(ErrorCode::BadArguments);
                }
                let parent = path::parent(path).ok_or(ErrorCode::BadArguments)?;
                let mut parent_rec = self.record(tree, parent)?;
                acl::check(&parent_rec.acl, perms::DELETE, auth)?;
                let node = self.record(tree, path)?;
                check_and_increment(node.stat.version, *version)?;
                if node.child_count > 0 {
                    return Err(ErrorCode::NotEmpty);
                }
                parent_rec.child_count -= 1;
                parent_rec.stat.pzxid = zxid;
                self.overlay.add(zxid, parent, Some(parent_rec));
                self.overlay.add(zxid, path, None);
                Ok(TxnBody::Delete { path: path.clone() })
            }
            Request::SetData {
                path,
                data,
                version,
            } => {
                if data.len() > MAX_DATA_BYTES {
                    return Err(ErrorCode::MarshallingError);
                }
                self.check_session(tree, session, false)?;
                path::validate(path).map_err(|_| ErrorCode::BadArguments)?;
                let mut node = self.record(tree, path)?;
                acl::check(&node.acl, perms::WRITE, auth)?;
                let new_version = check_and_increment(node.stat.version, *version)?;
                node.stat.version = new_version;
                node.stat.mtime = time_ms;
                node.stat.mzxid = zxid;
                node.data = data.clone();
                self.overlay.add(zxid, path, Some(node));
                Ok(TxnBody::SetData {
                    path: path.clone(),
                    data: data.clone(),
                    version: new_version,
                })
            }
            Request::SetAcl { path, acl, version } => {
                self.check_session(tree, session, false)?;
                path::validate(path).map_err(|_| ErrorCode::BadArguments)?;
                let fixed = acl::fixup(acl, auth)?;
                let mut node = self.record(tree, path)?;
                acl::check(&node.acl, perms::ADMIN, auth)?;
                let new_version = check_and_increment(node.stat.aversion, *version)?;
                // ZooKeeper's record keeps the old ACL until the txn is applied: requests
                // prepared meanwhile are checked against the ACL being replaced.
                node.stat.aversion = new_version;
                self.overlay.add(zxid, path, Some(node));
                Ok(TxnBody::SetAcl {
                    path: path.clone(),
                    acl: fixed,
                    version: new_version,
                })
            }
            Request::Check { path, version } => {
                self.check_session(tree, session, false)?;
                path::validate(path).map_err(|_| ErrorCode::BadArguments)?;
                let node = self.record(tree, path)?;
                acl::check(&node.acl, perms::READ, auth)?;
                let next = check_and_increment(node.stat.version, *version)?;
                Ok(TxnBody::Check {
                    path: path.clone(),
                    version: next,
                })
            }
            _ => Err(ErrorCode::MarshallingError),
        }
    }

    /// multi: all ops share the zxid and time. After the first failure the overlay is rolled
    /// back and the remaining ops are not looked at (RUNTIMEINCONSISTENCY). A multi holding an
    /// op ZooKeeper cannot put in a multi, or oversize data, fails to decode as a whole.
    fn prepare_multi(
        &mut self,
        tree: &DataTree,
        session: SessionId,
        auth: &[Id],
        ops: &[Request],
        zxid: Zxid,
        time: Millis,
    ) -> TxnBody {
        let decodable = ops.iter().all(|op| match op {
            Request::Create { data, .. } | Request::SetData { data, .. } => {
                data.len() <= MAX_DATA_BYTES
            }
            Request::Delete { .. } | Request::Check { .. } => true,
            _ => false,
        });
        if !decodable {
            return TxnBody::Error {
                code: ErrorCode::MarshallingError,
            };
        }
        let saved = self.overlay.save();
        let mut failed = false;
        let mut subs = Vec::with_capacity(ops.len());
        for op in ops {
            if failed {
                subs.push(TxnBody::Error {
                    code: ErrorCode::RuntimeInconsistency,
                });
                continue;
            }
            match self.prepare_op(tree, session, auth, op, zxid, time) {
                Ok(body) => subs.push(body),
                Err(code) => {
                    failed = true;
                    subs.push(TxnBody::Error { code });
                }
            }
        }
        if failed {
            self.overlay.restore(saved);
        }
        debug_assert_eq!(subs.len(), ops.len(), "one sub-txn per op");
        TxnBody::Multi(subs)
    }

    /// closeSession: list the ephemerals the session will own once everything prepared is
    /// applied, record their deletion, and mark the session closing. Like ZooKeeper, no session
    /// check (the expirer closes sessions it does not own). With digests on, ZooKeeper also
    /// moves each parent's pzxid in the overlay without lowering its child count; so do we.
    fn prepare_close_session(
        &mut self,
        tree: &DataTree,
        session: SessionId,
        zxid: Zxid,
    ) -> TxnBody {
        let doomed = self.overlay.ephemerals_after(tree, session);
        for p in &doomed {
            if let Some(parent) = path::parent(p) {
                if let Some(mut rec) = self.overlay.get(tree, parent) {
                    rec.stat.pzxid = zxid;
                    self.overlay.add(zxid, parent, Some(rec));
                }
            }
            self.overlay.add(zxid, p, None);
        }
        self.sessions.insert(session, (zxid, SessionMark::Closing));
        TxnBody::CloseSession {
            ephemerals: doomed.into_iter().collect(),
        }
    }
}

/// `checkAndIncVersion` as in 3.8: -1 matches any version; the next version wraps from
/// `i32::MAX` like Java's int, and may land on -1 (3.9 skips it, ZOOKEEPER-4743; 3.8 does not).
fn check_and_increment(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_check_matches_any_with_minus_one_and_wraps_like_java() {
        assert_eq!(check_and_increment(3, -1), Ok(4));
        assert_eq!(check_and_increment(3, 3), Ok(4));
        assert_eq!(check_and_increment(3, 2), Err(ErrorCode::BadVersion));
        assert_eq!(check_and_increment(i32::MAX, -1), Ok(i32::MIN));
        assert_eq!(check_and_increment(-2, -1), Ok(-1));
    }
}
