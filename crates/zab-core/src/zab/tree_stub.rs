//! A stand-in for `crate::tree` with the same signatures, used until the real tree lands so
//! ZAB can compile and be tested. Only what ZAB's tests need: flat create/delete/setData/
//! getData/exists/getChildren, ephemerals, session ops. Deleted once `crate::tree` exists.

use crate::error::ErrorCode;
use crate::ids::{Millis, SessionId, Zxid};
use crate::peer::ConnId;
use crate::request::WatchEvent;
use crate::request::{Id, Request, Response, Stat};
use crate::txn::{NodeKind, Txn, TxnBody, TxnHeader};
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct SnapshotError;

pub struct Applied {
    pub result: Result<Response, ErrorCode>,
    pub watches: Vec<(ConnId, WatchEvent)>,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct DataTree {
    nodes: BTreeMap<String, (Vec<u8>, i32, Option<SessionId>, Zxid)>,
    sessions: BTreeMap<SessionId, i32>,
    last: Zxid,
}

impl DataTree {
    pub fn new() -> DataTree {
        DataTree::default()
    }
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let result = self.apply_body(&txn.header, &txn.body);
        if txn.zxid() > self.last {
            self.last = txn.zxid();
        }
        Applied {
            result,
            watches: vec![],
        }
    }
    fn apply_body(&mut self, h: &TxnHeader, body: &TxnBody) -> Result<Response, ErrorCode> {
        match body {
            TxnBody::Create {
                path, data, kind, ..
            } => {
                let owner = match kind {
                    NodeKind::Ephemeral { owner } => Some(*owner),
                    _ => None,
                };
                self.nodes
                    .insert(path.clone(), (data.clone(), 0, owner, h.zxid));
                Ok(Response::Create {
                    path: path.clone(),
                    stat: None,
                })
            }
            TxnBody::Delete { path } => {
                self.nodes.remove(path);
                Ok(Response::Delete)
            }
            TxnBody::SetData {
                path,
                data,
                version,
            } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.0 = data.clone();
                    n.1 = *version;
                }
                Ok(Response::SetData {
                    stat: Stat::default(),
                })
            }
            TxnBody::CreateSession { timeout_ms } => {
                self.sessions.insert(h.session, *timeout_ms);
                Ok(Response::Empty)
            }
            TxnBody::CloseSession { ephemerals } => {
                for p in ephemerals {
                    self.nodes.remove(p);
                }
                self.sessions.remove(&h.session);
                Ok(Response::Empty)
            }
            TxnBody::Error { code } => Err(*code),
            _ => Err(ErrorCode::Unimplemented),
        }
    }
    pub fn read(
        &mut self,
        _conn: ConnId,
        _auth: &[Id],
        request: &Request,
    ) -> Result<Response, ErrorCode> {
        match request {
            Request::GetData { path, .. } => self
                .nodes
                .get(path)
                .map(|n| Response::GetData {
                    data: n.0.clone(),
                    stat: Stat {
                        version: n.1,
                        mzxid: n.3,
                        ..Stat::default()
                    },
                })
                .ok_or(ErrorCode::NoNode),
            Request::Exists { path, .. } => self
                .nodes
                .get(path)
                .map(|_| Response::Exists {
                    stat: Stat::default(),
                })
                .ok_or(ErrorCode::NoNode),
            _ => Err(ErrorCode::Unimplemented),
        }
    }
    pub fn remove_watcher(&mut self, _conn: ConnId) {}
    pub fn last_applied(&self) -> Zxid {
        self.last
    }
    pub fn digest(&self) -> u64 {
        crate::persist::fnv1a(&self.snapshot())
    }
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialises")
    }
    pub fn restore(bytes: &[u8]) -> Result<DataTree, SnapshotError> {
        serde_json::from_slice(bytes).map_err(|_| SnapshotError)
    }
    pub fn ephemerals(&self, s: SessionId) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.2 == Some(s))
            .map(|(p, _)| p.clone())
            .collect()
    }
    pub fn session_timeout(&self, s: SessionId) -> Option<i32> {
        self.sessions.get(&s).copied()
    }
}

#[derive(Default)]
pub struct Preparer {
    pending: BTreeMap<String, bool>,
}

impl Preparer {
    pub fn new() -> Preparer {
        Preparer::default()
    }
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        &mut self,
        tree: &DataTree,
        session: SessionId,
        _auth: &[Id],
        cxid: i32,
        request: &Request,
        zxid: Zxid,
        time: Millis,
    ) -> Txn {
        let exists = |p: &str, me: &Preparer| {
            me.pending
                .get(p)
                .copied()
                .unwrap_or_else(|| tree.nodes.contains_key(p))
        };
        let body = match request {
            Request::Create {
                path, data, mode, ..
            } => {
                if exists(path, self) {
                    TxnBody::Error {
                        code: ErrorCode::NodeExists,
                    }
                } else {
                    self.pending.insert(path.clone(), true);
                    TxnBody::Create {
                        path: path.clone(),
                        data: data.clone(),
                        acl: vec![],
                        kind: if mode.is_ephemeral() {
                            NodeKind::Ephemeral { owner: session }
                        } else {
                            NodeKind::Persistent
                        },
                        parent_cversion: 0,
                    }
                }
            }
            Request::Delete { path, .. } => {
                if exists(path, self) {
                    self.pending.insert(path.clone(), false);
                    TxnBody::Delete { path: path.clone() }
                } else {
                    TxnBody::Error {
                        code: ErrorCode::NoNode,
                    }
                }
            }
            Request::SetData { path, data, .. } => {
                if exists(path, self) {
                    TxnBody::SetData {
                        path: path.clone(),
                        data: data.clone(),
                        version: tree.nodes.get(path).map(|n| n.1 + 1).unwrap_or(1),
                    }
                } else {
                    TxnBody::Error {
                        code: ErrorCode::NoNode,
                    }
                }
            }
            Request::CloseSession => {
                let ephemerals = tree.ephemerals(session);
                for p in &ephemerals {
                    self.pending.insert(p.clone(), false);
                }
                TxnBody::CloseSession { ephemerals }
            }
            _ => TxnBody::Error {
                code: ErrorCode::Unimplemented,
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
    pub fn committed(&mut self, _zxid: Zxid) {
        self.pending.clear();
    }
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}
