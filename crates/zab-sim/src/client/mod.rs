//! A simulated ZooKeeper client (`ClientCnxn` + `StaticHostProvider` + an application), as a
//! state machine the engine drives: it reacts to packets and wake-ups and answers with
//! [`ClientAction`]s. It connects to one server at a time, pings when idle, declares the
//! connection lost after `readTimeout` (2/3 of the session timeout) of silence, reconnects to
//! the next server with the same session and its `lastZxidSeen`, and re-registers its watches
//! with `SetWatches`. One operation is in flight at a time, so its history reads like a Jepsen
//! process: invoke, then ok / fail / unknown.

mod workload;

pub use workload::Workload;

use crate::net::Packet;
use crate::prng::Prng;
use crate::scenario::WorkloadSpec;
use crate::time::{SimTime, Span};
use std::collections::BTreeSet;
use zab_check::history::{ClientOp, HandshakeRecord, Outcome, WatchRecord};
use zab_core::error::ErrorCode;
use zab_core::ids::{Millis, ServerId, SessionId, Zxid};
use zab_core::request::{ConnectRequest, EventType, Request, Response, WatchEvent};

/// `ClientCnxn`'s special xids.
pub const SET_WATCHES_XID: i32 = -8;
pub const PING_XID: i32 = -2;

/// What the client asks of the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientAction {
    /// Open a TCP connection to this server (the engine answers `on_tcp_open` / `on_closed`).
    Connect(ServerId),
    /// Send on the current connection.
    Send(Packet),
    /// Close the current connection.
    Close,
    /// Call `wake` at this time (replaces any earlier request).
    WakeAt(SimTime),
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Before the workload starts, or waiting before a reconnect.
    Waiting {
        until: SimTime,
    },
    Connecting {
        server: ServerId,
        since: SimTime,
    },
    Handshaking {
        server: ServerId,
        since: SimTime,
    },
    Connected {
        server: ServerId,
    },
}

#[derive(Clone, Debug)]
struct InFlight {
    op: usize,
    xid: i32,
    request: Request,
}

/// Counters for the run summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub connects: u64,
    pub connection_losses: u64,
    pub sessions_expired: u64,
}

/// One simulated client.
pub struct Client {
    pub id: u64,
    servers: Vec<ServerId>,
    next_server: usize,
    phase: Phase,
    first_connect: bool,
    session: SessionId,
    passwd: Vec<u8>,
    session_timeout_ms: u64,
    negotiated_ms: u64,
    last_zxid_seen: Zxid,
    data_watches: BTreeSet<String>,
    exist_watches: BTreeSet<String>,
    child_watches: BTreeSet<String>,
    in_flight: Option<InFlight>,
    /// An operation whose outcome is unknown, re-issued after the reconnect (as Curator's
    /// retry loop does for connection loss); the retry is a new operation in the history.
    retry: Option<Request>,
    last_op: Option<usize>,
    next_xid: i32,
    last_recv: SimTime,
    last_send: SimTime,
    next_op_at: SimTime,
    issuing: bool,
    workload: Workload,
    rate: f64,
    prng: Prng,
    pub stats: ClientStats,
    /// Handshake answers not yet handed to the history (see [`Client::take_handshakes`]).
    handshakes: Vec<HandshakeRecord>,
}

impl Client {
    /// A client that starts connecting at `start`, trying servers in an order drawn from its
    /// own stream (as `StaticHostProvider` shuffles its list).
    pub fn new(
        id: u64,
        servers: &[ServerId],
        spec: &WorkloadSpec,
        start: SimTime,
        prng: Prng,
    ) -> Client {
        let mut prng = prng;
        let mut order = servers.to_vec();
        for i in (1..order.len()).rev() {
            let j = prng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        Client {
            id,
            servers: order,
            next_server: 0,
            phase: Phase::Waiting { until: start },
            first_connect: true,
            session: SessionId(0),
            passwd: Vec::new(),
            session_timeout_ms: spec.session_timeout_ms.max(1),
            negotiated_ms: spec.session_timeout_ms.max(1),
            last_zxid_seen: Zxid::ZERO,
            data_watches: BTreeSet::new(),
            exist_watches: BTreeSet::new(),
            child_watches: BTreeSet::new(),
            in_flight: None,
            retry: None,
            last_op: None,
            next_xid: 1,
            last_recv: start,
            last_send: start,
            next_op_at: start,
            issuing: true,
            workload: Workload::new(id, spec),
            rate: spec.rate,
            prng,
            stats: ClientStats::default(),
            handshakes: Vec::new(),
        }
    }

    pub fn session(&self) -> SessionId {
        self.session
    }

    pub fn last_zxid_seen(&self) -> Zxid {
        self.last_zxid_seen
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected { .. })
    }

    fn read_timeout(&self) -> Span {
        Span::from_millis((self.negotiated_ms * 2 / 3).max(1))
    }

    fn connect_timeout(&self) -> Span {
        Span::from_millis((self.session_timeout_ms / self.servers.len().max(1) as u64).max(1))
    }

    /// The handshake answers received since the last call, for the history.
    pub fn take_handshakes(&mut self) -> Vec<HandshakeRecord> {
        std::mem::take(&mut self.handshakes)
    }

    /// Stop issuing new operations (the run's quiet period); the one in flight may finish.
    pub fn stop_issuing(&mut self) {
        self.issuing = false;
    }

    /// Timer: connect, time out, ping or issue the next operation.
    pub fn wake(&mut self, now: SimTime, ops: &mut Vec<ClientOp>) -> Vec<ClientAction> {
        let mut out = Vec::new();
        match self.phase.clone() {
            Phase::Waiting { until } => {
                if now >= until && !self.servers.is_empty() {
                    let server = self.servers[self.next_server % self.servers.len()];
                    self.next_server += 1;
                    self.phase = Phase::Connecting { server, since: now };
                    self.stats.connects += 1;
                    out.push(ClientAction::Connect(server));
                }
            }
            Phase::Connecting { since, .. } | Phase::Handshaking { since, .. } => {
                if now >= since.plus(self.connect_timeout()) {
                    out.push(ClientAction::Close);
                    self.lost(now, ops, &mut out);
                }
            }
            Phase::Connected { server } => {
                if now >= self.last_recv.plus(self.read_timeout()) {
                    out.push(ClientAction::Close);
                    self.lost(now, ops, &mut out);
                } else {
                    if self.in_flight.is_none() && self.issuing && now >= self.next_op_at {
                        self.issue(now, server, ops, &mut out);
                    }
                    let ping_after = Span(self.read_timeout().0 / 2);
                    if now >= self.last_send.plus(ping_after) {
                        self.last_send = now;
                        out.push(ClientAction::Send(Packet::ClientPing));
                    }
                }
            }
        }
        out.push(ClientAction::WakeAt(self.next_wake(now)));
        out
    }

    fn next_wake(&self, now: SimTime) -> SimTime {
        let at = match &self.phase {
            Phase::Waiting { until } => *until,
            Phase::Connecting { since, .. } | Phase::Handshaking { since, .. } => {
                since.plus(self.connect_timeout())
            }
            Phase::Connected { .. } => {
                let mut at = self
                    .last_recv
                    .plus(self.read_timeout())
                    .min(self.last_send.plus(Span(self.read_timeout().0 / 2)));
                if self.in_flight.is_none() && self.issuing {
                    at = at.min(self.next_op_at);
                }
                at
            }
        };
        at.max(SimTime(now.0 + 1))
    }

    fn issue(
        &mut self,
        now: SimTime,
        server: ServerId,
        ops: &mut Vec<ClientOp>,
        out: &mut Vec<ClientAction>,
    ) {
        let request = match self.retry.take() {
            Some(r) => r,
            None => self.workload.next_request(&mut self.prng),
        };
        let xid = self.next_xid;
        self.next_xid += 1;
        let op = ops.len();
        ops.push(ClientOp {
            id: op as u64,
            client: self.id,
            session: self.session,
            server: Some(server),
            invoke: Millis(now.as_millis()),
            complete: None,
            request: request.clone(),
            outcome: Outcome::Unknown,
            watch_events: Vec::new(),
        });
        self.last_op = Some(op);
        self.in_flight = Some(InFlight {
            op,
            xid,
            request: request.clone(),
        });
        self.last_send = now;
        out.push(ClientAction::Send(Packet::ClientRequest { xid, request }));
    }

    /// The connection is gone (closed, reset, timed out, refused): the operation in flight has
    /// an unknown outcome; wait a random 0–1 s (as `ClientCnxn` does) and try the next server.
    fn lost(&mut self, now: SimTime, ops: &mut [ClientOp], out: &mut Vec<ClientAction>) {
        if matches!(self.phase, Phase::Connected { .. }) {
            self.stats.connection_losses += 1;
        }
        if let Some(f) = self.in_flight.take() {
            let op = &mut ops[f.op];
            op.complete = Some(Millis(now.as_millis()));
            op.outcome = Outcome::Unknown;
            self.workload.unknown(&f.request);
            if !matches!(f.request, Request::CloseSession) {
                self.retry = Some(f.request);
            }
        }
        let backoff = if self.first_connect {
            Span::from_millis(self.prng.below(50))
        } else {
            Span::from_millis(self.prng.below(1000))
        };
        self.phase = Phase::Waiting {
            until: now.plus(backoff),
        };
        self.next_op_at = now;
        let _ = out;
    }

    /// TCP is up: send the `ConnectRequest`.
    pub fn on_tcp_open(&mut self, now: SimTime) -> Vec<ClientAction> {
        let mut out = Vec::new();
        if let Phase::Connecting { server, since } = self.phase {
            self.phase = Phase::Handshaking { server, since };
            self.last_send = now;
            self.last_recv = now;
            out.push(ClientAction::Send(Packet::ClientConnect(ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: self.last_zxid_seen,
                timeout_ms: self.session_timeout_ms as i32,
                session: self.session,
                passwd: self.passwd.clone(),
                read_only: false,
            })));
        }
        out
    }

    /// The connection closed or could not be opened.
    pub fn on_closed(&mut self, now: SimTime, ops: &mut [ClientOp]) -> Vec<ClientAction> {
        let mut out = Vec::new();
        self.lost(now, ops, &mut out);
        out.push(ClientAction::WakeAt(self.next_wake(now)));
        out
    }

    /// A packet from the server.
    pub fn on_packet(
        &mut self,
        now: SimTime,
        packet: Packet,
        ops: &mut [ClientOp],
    ) -> Vec<ClientAction> {
        let mut out = Vec::new();
        self.last_recv = now;
        match packet {
            Packet::ClientConnected(response) => {
                self.on_connect_response(now, response, ops, &mut out)
            }
            Packet::ClientReply { xid, zxid, result } => self.on_reply(now, xid, zxid, result, ops),
            Packet::ClientWatch(event) => self.on_watch(now, event, ops),
            _ => {}
        }
        out.push(ClientAction::WakeAt(self.next_wake(now)));
        out
    }

    fn on_connect_response(
        &mut self,
        now: SimTime,
        response: Option<zab_core::request::ConnectResponse>,
        ops: &mut [ClientOp],
        out: &mut Vec<ClientAction>,
    ) {
        let Phase::Handshaking { server, .. } = self.phase else {
            return;
        };
        if let Some(r) = &response {
            let granted = r.timeout_ms > 0;
            self.handshakes.push(HandshakeRecord {
                at: Millis(now.as_millis()),
                client: self.id,
                server,
                session: if granted { r.session } else { self.session },
                timeout_ms: if granted { r.timeout_ms as u64 } else { 0 },
            });
        }
        match response {
            Some(r) if r.timeout_ms > 0 => {
                let reconnect = self.session != SessionId(0);
                self.session = r.session;
                self.passwd = r.passwd;
                self.negotiated_ms = r.timeout_ms as u64;
                self.phase = Phase::Connected { server };
                self.first_connect = false;
                self.next_op_at = self.next_op_at.max(now);
                let has_watches = !(self.data_watches.is_empty()
                    && self.exist_watches.is_empty()
                    && self.child_watches.is_empty());
                if reconnect && has_watches {
                    self.last_send = now;
                    out.push(ClientAction::Send(Packet::ClientRequest {
                        xid: SET_WATCHES_XID,
                        request: Request::SetWatches {
                            relative_zxid: self.last_zxid_seen,
                            data: self.data_watches.iter().cloned().collect(),
                            exist: self.exist_watches.iter().cloned().collect(),
                            child: self.child_watches.iter().cloned().collect(),
                            persistent: Vec::new(),
                            persistent_recursive: Vec::new(),
                        },
                    }));
                }
            }
            Some(_) => {
                // Session expired: the application starts over with a new handle, losing its
                // watches and ephemerals.
                self.stats.sessions_expired += 1;
                self.session = SessionId(0);
                self.passwd.clear();
                self.data_watches.clear();
                self.exist_watches.clear();
                self.child_watches.clear();
                self.workload.session_lost();
                // A retry would act for the old session (its ephemeral, its lock): drop it.
                self.retry = None;
                out.push(ClientAction::Close);
                self.lost(now, ops, out);
            }
            None => {
                out.push(ClientAction::Close);
                self.lost(now, ops, out);
            }
        }
    }

    fn on_reply(
        &mut self,
        now: SimTime,
        xid: i32,
        zxid: Zxid,
        result: Result<Response, ErrorCode>,
        ops: &mut [ClientOp],
    ) {
        if xid == PING_XID {
            // `ClientCnxn` returns before updating lastZxid for ping replies.
            return;
        }
        if zxid.0 > 0 && zxid.0 < u64::MAX / 2 {
            self.last_zxid_seen = self.last_zxid_seen.max(zxid);
        }
        let Some(f) = self.in_flight.as_ref() else {
            return;
        };
        if f.xid != xid {
            return;
        }
        let f = self.in_flight.take().expect("checked above");
        let unknown = matches!(
            result,
            Err(ErrorCode::ConnectionLoss
                | ErrorCode::OperationTimeout
                | ErrorCode::RequestTimeout)
        );
        if let Ok(response) = &result {
            self.register_watch(&f.request, Some(response));
        } else if result == Err(ErrorCode::NoNode) {
            self.register_watch(&f.request, None);
        }
        self.workload.completed(&f.request, &result);
        let op = &mut ops[f.op];
        op.complete = Some(Millis(now.as_millis()));
        op.outcome = match result {
            _ if unknown => Outcome::Unknown,
            Ok(response) => Outcome::Ok { response, zxid },
            Err(error) => Outcome::Failed { error, zxid },
        };
        let think_us = if self.rate > 0.0 {
            (-(1.0 - self.prng.unit()).ln() * 1_000_000.0 / self.rate) as u64
        } else {
            u64::MAX / 4
        };
        self.next_op_at = now.plus(Span(think_us));
    }

    fn register_watch(&mut self, request: &Request, response: Option<&Response>) {
        match (request, response) {
            (Request::GetData { path, watch: true }, Some(_)) => {
                self.data_watches.insert(path.clone());
            }
            (Request::Exists { path, watch: true }, Some(_)) => {
                self.data_watches.insert(path.clone());
            }
            (Request::Exists { path, watch: true }, None) => {
                self.exist_watches.insert(path.clone());
            }
            (
                Request::GetChildren {
                    path, watch: true, ..
                },
                Some(_),
            ) => {
                self.child_watches.insert(path.clone());
            }
            _ => {}
        }
    }

    fn on_watch(&mut self, now: SimTime, event: WatchEvent, ops: &mut [ClientOp]) {
        match event.event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                self.data_watches.remove(&event.path);
                self.exist_watches.remove(&event.path);
            }
            EventType::NodeDeleted => {
                self.data_watches.remove(&event.path);
                self.exist_watches.remove(&event.path);
                self.child_watches.remove(&event.path);
            }
            EventType::NodeChildrenChanged => {
                self.child_watches.remove(&event.path);
            }
            _ => {}
        }
        if let Some(op) = self.last_op {
            ops[op].watch_events.push(WatchRecord {
                at: Millis(now.as_millis()),
                event,
            });
        }
    }

    /// Number of watches the client believes it holds.
    pub fn watch_count(&self) -> usize {
        self.data_watches.len() + self.exist_watches.len() + self.child_watches.len()
    }
}

#[cfg(test)]
mod tests;
