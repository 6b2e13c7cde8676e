//! Local reads (`FinalRequestProcessor` for the non-txn ops): answered from this replica's
//! tree, checking READ permission and registering watches for the asking connection.
//!
//! Like ZooKeeper, reads do not validate paths: a malformed path simply names no node
//! (NONODE). Only `exists` refuses a NUL (BADARGUMENTS).

use super::watch::mode;
use super::{acl, path, DataTree};
use crate::error::ErrorCode;
use crate::ids::{SessionId, Zxid};
use crate::peer::ConnId;
use crate::request::{
    perms, EventType, Id, KeeperState, OpResult, Request, Response, WatchEvent, WatcherType,
};

impl DataTree {
    /// Answer a read for connection `conn`, whose auth ids are `auth`. Writes and
    /// connection-level requests (AddAuth, CloseSession) are not reads: APIERROR.
    /// `GetEphemerals` needs the session: use [`DataTree::read_in_session`].
    pub fn read(
        &mut self,
        conn: ConnId,
        auth: &[Id],
        request: &Request,
    ) -> Result<Response, ErrorCode> {
        self.read_in_session(conn, None, auth, request)
    }

    /// [`DataTree::read`] for a connection bound to `session` (needed by getEphemerals only).
    pub fn read_in_session(
        &mut self,
        conn: ConnId,
        session: Option<SessionId>,
        auth: &[Id],
        request: &Request,
    ) -> Result<Response, ErrorCode> {
        self.set_conn_auth(conn, auth);
        match request {
            Request::GetData { path, watch } => self.get_data(conn, auth, path, *watch),
            Request::Exists { path, watch } => self.exists(conn, auth, path, *watch),
            Request::GetChildren {
                path,
                watch,
                with_stat,
            } => self.get_children(conn, auth, path, *watch, *with_stat),
            Request::GetAcl { path } => self.get_acl(auth, path),
            Request::GetAllChildrenNumber { path } => {
                let node = self.nodes.get(path.as_str()).ok_or(ErrorCode::NoNode)?;
                acl::check(&node.acl, perms::READ, auth)?;
                Ok(Response::GetAllChildrenNumber {
                    count: self.all_children_number(path),
                })
            }
            Request::GetEphemerals { prefix } => {
                let session = session.ok_or(ErrorCode::BadArguments)?;
                let all = self.ephemerals(session);
                let trimmed = prefix.trim();
                let paths = if trimmed.is_empty() || trimmed == path::ROOT {
                    all
                } else {
                    all.into_iter()
                        .filter(|p| p.starts_with(prefix.as_str()))
                        .collect()
                };
                Ok(Response::GetEphemerals { paths })
            }
            Request::MultiRead(ops) => self.multi_read(conn, auth, ops),
            Request::Sync { path } => Ok(Response::Sync { path: path.clone() }),
            Request::AddWatch { path, mode: m } => {
                let recursive = matches!(m, crate::request::AddWatchMode::PersistentRecursive);
                if recursive {
                    self.data_watches.add(path, conn, mode::RECURSIVE);
                } else {
                    self.data_watches.add(path, conn, mode::PERSISTENT);
                    self.child_watches.add(path, conn, mode::PERSISTENT);
                }
                Ok(Response::Empty)
            }
            Request::CheckWatches { path, watcher_type } => {
                if self.contains_watcher(path, *watcher_type, conn) {
                    Ok(Response::Empty)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            Request::RemoveWatches { path, watcher_type } => {
                if self.remove_watch(path, *watcher_type, conn) {
                    Ok(Response::Empty)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            Request::SetWatches {
                relative_zxid,
                data,
                exist,
                child,
                persistent,
                persistent_recursive,
            } => {
                self.set_watches(
                    conn,
                    *relative_zxid,
                    data,
                    exist,
                    child,
                    persistent,
                    persistent_recursive,
                );
                Ok(Response::Empty)
            }
            Request::Create { .. }
            | Request::Delete { .. }
            | Request::SetData { .. }
            | Request::SetAcl { .. }
            | Request::Check { .. }
            | Request::Multi(_)
            | Request::AddAuth { .. }
            | Request::CloseSession => Err(ErrorCode::ApiError),
        }
    }

    fn get_data(
        &mut self,
        conn: ConnId,
        auth: &[Id],
        path: &str,
        watch: bool,
    ) -> Result<Response, ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        acl::check(&node.acl, perms::READ, auth)?;
        let response = Response::GetData {
            data: node.data.clone(),
            stat: node.client_stat(),
        };
        if watch {
            self.data_watches.add(path, conn, mode::STANDARD);
        }
        Ok(response)
    }

    /// exists sets its watch before looking: a watch on a missing node is an exist watch that
    /// fires on creation. READ is checked only when the node exists.
    fn exists(
        &mut self,
        conn: ConnId,
        auth: &[Id],
        path: &str,
        watch: bool,
    ) -> Result<Response, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        if let Some(node) = self.nodes.get(path) {
            acl::check(&node.acl, perms::READ, auth)?;
        }
        if watch {
            self.data_watches.add(path, conn, mode::STANDARD);
        }
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        Ok(Response::Exists {
            stat: node.client_stat(),
        })
    }

    fn get_children(
        &mut self,
        conn: ConnId,
        auth: &[Id],
        path: &str,
        watch: bool,
        with_stat: bool,
    ) -> Result<Response, ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        acl::check(&node.acl, perms::READ, auth)?;
        let response = Response::GetChildren {
            children: node.children.iter().cloned().collect(),
            stat: with_stat.then(|| node.client_stat()),
        };
        if watch {
            self.child_watches.add(path, conn, mode::STANDARD);
        }
        Ok(response)
    }

    /// getACL needs READ or ADMIN; without ADMIN, digest hashes are hidden.
    fn get_acl(&self, auth: &[Id], path: &str) -> Result<Response, ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        acl::check(&node.acl, perms::READ | perms::ADMIN, auth)?;
        let shown = if acl::permits(&node.acl, perms::ADMIN, auth) {
            node.acl.clone()
        } else {
            acl::redact(&node.acl)
        };
        Ok(Response::GetAcl {
            acl: shown,
            stat: node.client_stat(),
        })
    }

    /// Every descendant, as `DataTree.getAllChildrenNumber` counts them.
    fn all_children_number(&self, path: &str) -> i32 {
        if path == path::ROOT {
            return (self.nodes.len() - 1) as i32;
        }
        let prefix = format!("{path}/");
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .count() as i32
    }

    /// multiRead accepts getData and getChildren (without stat) only; anything else makes the
    /// whole request undecodable (MARSHALLINGERROR). Each op fails on its own.
    fn multi_read(
        &mut self,
        conn: ConnId,
        auth: &[Id],
        ops: &[Request],
    ) -> Result<Response, ErrorCode> {
        let valid = ops.iter().all(|op| {
            matches!(
                op,
                Request::GetData { .. }
                    | Request::GetChildren {
                        with_stat: false,
                        ..
                    }
            )
        });
        if !valid {
            return Err(ErrorCode::MarshallingError);
        }
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let r = match op {
                Request::GetData { path, watch } => self.get_data(conn, auth, path, *watch),
                Request::GetChildren { path, watch, .. } => {
                    self.get_children(conn, auth, path, *watch, false)
                }
                _ => Err(ErrorCode::MarshallingError),
            };
            results.push(match r {
                Ok(resp) => OpResult::Ok(resp),
                Err(e) => OpResult::Err(e),
            });
        }
        Ok(Response::MultiRead(results))
    }

    /// `DataTree.containsWatcher` (3.9 semantics: Data/Children mean the one-shot watch).
    fn contains_watcher(&self, path: &str, t: WatcherType, conn: ConnId) -> bool {
        match t {
            WatcherType::Children => self
                .child_watches
                .contains(path, conn, Some(mode::STANDARD)),
            WatcherType::Data => self.data_watches.contains(path, conn, Some(mode::STANDARD)),
            WatcherType::Persistent => {
                self.data_watches
                    .contains(path, conn, Some(mode::PERSISTENT))
            }
            WatcherType::PersistentRecursive => {
                self.data_watches
                    .contains(path, conn, Some(mode::RECURSIVE))
            }
            WatcherType::Any => {
                self.child_watches.contains(path, conn, None)
                    || self.data_watches.contains(path, conn, None)
            }
        }
    }

    /// `DataTree.removeWatch`.
    fn remove_watch(&mut self, path: &str, t: WatcherType, conn: ConnId) -> bool {
        match t {
            WatcherType::Children => self.child_watches.remove(path, conn, Some(mode::STANDARD)),
            WatcherType::Data => self.data_watches.remove(path, conn, Some(mode::STANDARD)),
            WatcherType::Persistent => {
                let c = self
                    .child_watches
                    .remove(path, conn, Some(mode::PERSISTENT));
                let d = self.data_watches.remove(path, conn, Some(mode::PERSISTENT));
                c || d
            }
            WatcherType::PersistentRecursive => {
                self.data_watches.remove(path, conn, Some(mode::RECURSIVE))
            }
            WatcherType::Any => {
                let c = self.child_watches.remove(path, conn, None);
                let d = self.data_watches.remove(path, conn, None);
                c || d
            }
        }
    }

    /// `DataTree.setWatches`: re-register a reconnecting client's watches, firing at once those
    /// whose node changed after `relative_zxid` (data: mzxid, children: pzxid) or whose
    /// existence no longer matches. These events carry no zxid (-1) and skip the ACL filter.
    #[allow(clippy::too_many_arguments)]
    fn set_watches(
        &mut self,
        conn: ConnId,
        relative_zxid: Zxid,
        data: &[String],
        exist: &[String],
        child: &[String],
        persistent: &[String],
        persistent_recursive: &[String],
    ) {
        let fire = |out: &mut Vec<(ConnId, WatchEvent)>, t: EventType, p: &str| {
            out.push((
                conn,
                WatchEvent {
                    event_type: t,
                    state: KeeperState::SyncConnected,
                    path: p.to_string(),
                    zxid: Zxid::from_i64(-1),
                },
            ))
        };
        let mut out = std::mem::take(&mut self.pending_events);
        let rel = relative_zxid.as_i64();
        for p in data {
            match self.nodes.get(p.as_str()) {
                None => fire(&mut out, EventType::NodeDeleted, p),
                Some(n) if n.stat.mzxid.as_i64() > rel => {
                    fire(&mut out, EventType::NodeDataChanged, p)
                }
                Some(_) => {
                    self.data_watches.add(p, conn, mode::STANDARD);
                }
            }
        }
        for p in exist {
            if self.nodes.contains_key(p.as_str()) {
                fire(&mut out, EventType::NodeCreated, p);
            } else {
                self.data_watches.add(p, conn, mode::STANDARD);
            }
        }
        for p in child {
            match self.nodes.get(p.as_str()) {
                None => fire(&mut out, EventType::NodeDeleted, p),
                Some(n) if n.stat.pzxid.as_i64() > rel => {
                    fire(&mut out, EventType::NodeChildrenChanged, p)
                }
                Some(_) => {
                    self.child_watches.add(p, conn, mode::STANDARD);
                }
            }
        }
        for p in persistent {
            self.child_watches.add(p, conn, mode::PERSISTENT);
            self.data_watches.add(p, conn, mode::PERSISTENT);
        }
        for p in persistent_recursive {
            self.data_watches.add(p, conn, mode::RECURSIVE);
        }
        self.pending_events = out;
    }
}
