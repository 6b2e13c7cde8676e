//! The client connections one server holds (`ServerCnxn`s and the per-session ordering of
//! `CommitProcessor`): which session each connection carries, its auth identities, and the
//! requests waiting for an answer.
//!
//! Ordering is ZooKeeper's: a session's requests are answered in the order they were sent. A
//! read is answered at once from the applied tree unless a write or `sync` of the same
//! session is still pending ahead of it; then it waits behind it.

use crate::error::ErrorCode;
use crate::ids::{SessionId, Zxid};
use crate::peer::{ConnId, Output};
use crate::request::{ConnectRequest, ConnectResponse, Id, Request, Response};
use crate::tree::DataTree;
use std::collections::{BTreeMap, VecDeque};

/// A request waiting for its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Queued {
    Write { xid: i32 },
    Sync { xid: i32, path: String },
    Read { xid: i32, request: Request },
}

#[derive(Clone, Debug)]
struct Conn {
    session: SessionId,
    auth: Vec<Id>,
    queue: VecDeque<Queued>,
}

/// A connect waiting for its createSession to commit, or for the leader's REVALIDATE answer.
#[derive(Clone, Debug)]
pub struct PendingConnect {
    pub conn: ConnId,
    pub request: ConnectRequest,
    pub timeout_ms: i32,
}

/// How many requests one connection may have waiting (ZooKeeper throttles at
/// `globalOutstandingLimit`, 1000); past it the connection is closed.
const QUEUED_PER_CONNECTION_MAX: usize = 1000;

/// All client connections of one server.
#[derive(Default)]
pub struct Clients {
    conns: BTreeMap<ConnId, Conn>,
    by_session: BTreeMap<SessionId, ConnId>,
    pending_connects: BTreeMap<SessionId, PendingConnect>,
    /// Sessions touched since the last PING reply (learners), with their timeouts.
    touched: BTreeMap<SessionId, i32>,
}

/// The password a server hands out for a session (ZooKeeper derives it from the session id
/// and a server secret; any deterministic function of the id does the same job here).
pub fn session_password(session: SessionId) -> Vec<u8> {
    let a = crate::persist::fnv1a(&session.0.to_le_bytes());
    let b = crate::persist::fnv1a(&a.to_le_bytes());
    [a.to_le_bytes(), b.to_le_bytes()].concat()
}

/// The answer that tells a client its session is gone.
pub fn expired_response() -> ConnectResponse {
    ConnectResponse {
        protocol_version: 0,
        timeout_ms: 0,
        session: SessionId(0),
        passwd: vec![],
        read_only: false,
    }
}

impl Clients {
    pub fn session_of(&self, conn: ConnId) -> Option<SessionId> {
        self.conns.get(&conn).map(|c| c.session)
    }

    pub fn auth_of(&self, conn: ConnId) -> Vec<Id> {
        self.conns
            .get(&conn)
            .map(|c| c.auth.clone())
            .unwrap_or_default()
    }

    pub fn conn_of(&self, session: SessionId) -> Option<ConnId> {
        self.by_session.get(&session).copied()
    }

    pub fn add_pending_connect(&mut self, session: SessionId, pending: PendingConnect) {
        self.pending_connects.insert(session, pending);
    }

    pub fn take_pending_connect(&mut self, session: SessionId) -> Option<PendingConnect> {
        self.pending_connects.remove(&session)
    }

    /// Attach a session to a connection and answer the connect. A connection that carried the
    /// same session before is closed (the client moved).
    pub fn establish(
        &mut self,
        conn: ConnId,
        session: SessionId,
        timeout_ms: i32,
        out: &mut VecDeque<Output>,
    ) {
        if let Some(old) = self.by_session.insert(session, conn) {
            if old != conn {
                self.conns.remove(&old);
                out.push_back(Output::ClientClose { conn: old });
            }
        }
        self.conns.insert(
            conn,
            Conn {
                session,
                auth: vec![],
                queue: VecDeque::new(),
            },
        );
        self.touched.insert(session, timeout_ms);
        out.push_back(Output::ClientConnected {
            conn,
            response: Some(ConnectResponse {
                protocol_version: 0,
                timeout_ms,
                session,
                passwd: session_password(session),
                read_only: false,
            }),
        });
    }

    /// A learner's record of a client sign of life, reported in the next PING reply.
    pub fn touch(&mut self, session: SessionId, timeout_ms: i32) {
        self.touched.insert(session, timeout_ms);
    }

    pub fn take_touches(&mut self) -> BTreeMap<SessionId, i32> {
        std::mem::take(&mut self.touched)
    }

    /// The connection closed; its session lives on until it expires or is closed.
    pub fn disconnect(&mut self, conn: ConnId, tree: &mut DataTree) {
        if let Some(c) = self.conns.remove(&conn) {
            if self.by_session.get(&c.session) == Some(&conn) {
                self.by_session.remove(&c.session);
            }
        }
        self.pending_connects.retain(|_, p| p.conn != conn);
        tree.remove_watcher(conn);
    }

    /// Close every connection (the server stopped serving: ZooKeeper closes them all).
    pub fn close_all(&mut self, tree: &mut DataTree, out: &mut VecDeque<Output>) {
        for conn in self.conns.keys() {
            tree.remove_watcher(*conn);
            out.push_back(Output::ClientClose { conn: *conn });
        }
        for pending in self.pending_connects.values() {
            out.push_back(Output::ClientClose { conn: pending.conn });
        }
        self.conns.clear();
        self.by_session.clear();
        self.pending_connects.clear();
        self.touched.clear();
    }

    pub fn add_auth(&mut self, conn: ConnId, id: Id) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if !c.auth.contains(&id) {
                c.auth.push(id);
            }
        }
    }

    /// Queue a write or sync; `false` when the connection is unknown or over its limit (the
    /// caller closes it).
    pub fn enqueue_write(&mut self, conn: ConnId, xid: i32) -> bool {
        self.enqueue(conn, Queued::Write { xid })
    }

    pub fn enqueue_sync(&mut self, conn: ConnId, xid: i32, path: String) -> bool {
        self.enqueue(conn, Queued::Sync { xid, path })
    }

    fn enqueue(&mut self, conn: ConnId, queued: Queued) -> bool {
        match self.conns.get_mut(&conn) {
            Some(c) if c.queue.len() < QUEUED_PER_CONNECTION_MAX => {
                c.queue.push_back(queued);
                true
            }
            _ => false,
        }
    }

    /// A read: answered now if nothing of its session is pending ahead of it.
    pub fn read(
        &mut self,
        conn: ConnId,
        xid: i32,
        request: Request,
        tree: &mut DataTree,
        out: &mut VecDeque<Output>,
    ) -> bool {
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        if c.queue.is_empty() {
            let session = c.session;
            let result = tree.read_in_session(conn, Some(session), &c.auth, &request);
            out.push_back(Output::ClientReply {
                conn,
                xid,
                zxid: tree.last_applied(),
                result,
            });
            emit_read_watches(tree, out);
            true
        } else {
            self.enqueue(conn, Queued::Read { xid, request })
        }
    }

    /// A transaction of `session` with `cxid` was applied: answer the write waiting for it,
    /// then every read queued behind it.
    pub fn write_applied(
        &mut self,
        session: SessionId,
        cxid: i32,
        zxid: Zxid,
        result: Result<Response, ErrorCode>,
        tree: &mut DataTree,
        out: &mut VecDeque<Output>,
    ) {
        let Some(conn) = self.by_session.get(&session).copied() else {
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.queue.front() != Some(&Queued::Write { xid: cxid }) {
            return;
        }
        c.queue.pop_front();
        out.push_back(Output::ClientReply {
            conn,
            xid: cxid,
            zxid,
            result,
        });
        self.drain_reads(conn, tree, out);
    }

    /// The `sync` at the head of `session`'s queue completed.
    pub fn sync_done(
        &mut self,
        session: SessionId,
        tree: &mut DataTree,
        out: &mut VecDeque<Output>,
    ) {
        let Some(conn) = self.by_session.get(&session).copied() else {
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(Queued::Sync { xid, path }) = c.queue.front().cloned() else {
            return;
        };
        c.queue.pop_front();
        out.push_back(Output::ClientReply {
            conn,
            xid,
            zxid: tree.last_applied(),
            result: Ok(Response::Sync { path }),
        });
        self.drain_reads(conn, tree, out);
    }

    fn drain_reads(&mut self, conn: ConnId, tree: &mut DataTree, out: &mut VecDeque<Output>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        while let Some(Queued::Read { xid, request }) = c.queue.front().cloned() {
            c.queue.pop_front();
            let result = tree.read_in_session(conn, Some(c.session), &c.auth, &request);
            out.push_back(Output::ClientReply {
                conn,
                xid,
                zxid: tree.last_applied(),
                result,
            });
            emit_read_watches(tree, out);
        }
    }

    /// The session was closed or expired: close its connection.
    pub fn session_closed(
        &mut self,
        session: SessionId,
        tree: &mut DataTree,
        out: &mut VecDeque<Output>,
    ) {
        if let Some(conn) = self.by_session.remove(&session) {
            self.conns.remove(&conn);
            tree.remove_watcher(conn);
            out.push_back(Output::ClientClose { conn });
        }
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }
}

/// Watches a read fired at once (`setWatches` for nodes that changed since the client's zxid).
/// ZooKeeper delivers them right after the setWatches reply.
fn emit_read_watches(tree: &mut DataTree, out: &mut VecDeque<Output>) {
    for (conn, event) in tree.take_watch_events() {
        out.push_back(Output::ClientWatch { conn, event });
    }
}
