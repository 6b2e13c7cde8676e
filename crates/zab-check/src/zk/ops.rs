//! Facts about a history's client ops that several checks share: which ops the server
//! answered and at which zxid, what each answered write did to which path.

use crate::history::{ClientOp, History, Outcome};
use crate::models::znode::is_indeterminate_error;
use std::collections::{BTreeMap, BTreeSet};
use zab_core::ids::{SessionId, Zxid};
use zab_core::peer::{Role, ServerEvent};
use zab_core::request::{CreateMode, OpResult, Request, Response};

/// The zxid of the reply when the server really answered (success or a definite error);
/// `None` for unknown outcomes and for errors that mean "no answer".
pub fn answered_zxid(op: &ClientOp) -> Option<Zxid> {
    match &op.outcome {
        Outcome::Ok { zxid, .. } => Some(*zxid),
        Outcome::Failed { error, zxid } if !is_indeterminate_error(*error) => Some(*zxid),
        _ => None,
    }
}

/// Could this write have taken effect without the client knowing?
pub fn maybe_applied(op: &ClientOp) -> bool {
    match &op.outcome {
        Outcome::Unknown => true,
        Outcome::Failed { error, .. } => is_indeterminate_error(*error),
        Outcome::Ok { .. } => false,
    }
}

/// Reads that return replicated state.
pub fn is_read(request: &Request) -> bool {
    matches!(
        request,
        Request::GetData { .. }
            | Request::Exists { .. }
            | Request::GetChildren { .. }
            | Request::GetAcl { .. }
            | Request::MultiRead(_)
            | Request::GetAllChildrenNumber { .. }
            | Request::GetEphemerals { .. }
    )
}

/// What an answered write did to one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Created {
        data: Vec<u8>,
        owner: Option<SessionId>,
    },
    Set {
        data: Vec<u8>,
        version: i32,
    },
    Deleted,
}

/// One answered write's effect on one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathWrite {
    pub op: u64,
    pub zxid: Zxid,
    pub effect: Effect,
}

/// Every answered write's effects, by path then zxid; plus the paths unanswered writes may
/// have touched (their effect and zxid are unknown).
#[derive(Clone, Debug, Default)]
pub struct WriteLog {
    pub by_path: BTreeMap<String, BTreeMap<Zxid, PathWrite>>,
    /// Paths an unknown-outcome write may have created, changed or deleted.
    pub maybe_touched: BTreeSet<String>,
    /// Prefixes of unknown sequential creates: any path starting with one may exist.
    pub maybe_sequential: BTreeSet<String>,
    /// Every path any op ever created as an ephemeral, container or TTL node: the server can
    /// remove these without a client's delete (session end, reaping, expiry), so reads of
    /// them are not judged on existence here (ephemerals have `ephemeral-lifetime`).
    pub ephemeral_paths: BTreeSet<String>,
}

impl WriteLog {
    pub fn build(history: &History) -> WriteLog {
        let mut log = WriteLog::default();
        for op in &history.ops {
            if !op.request.is_write() {
                continue;
            }
            mark_ephemerals(&op.request, op, &mut log.ephemeral_paths);
            match &op.outcome {
                Outcome::Ok { response, zxid } => {
                    log.record(op, &op.request, Some(response), *zxid);
                }
                _ if maybe_applied(op) => log.record_unknown(&op.request),
                _ => {}
            }
        }
        log
    }

    fn record(
        &mut self,
        op: &ClientOp,
        request: &Request,
        response: Option<&Response>,
        zxid: Zxid,
    ) {
        let effect = match (request, response) {
            (Request::Create { data, mode, .. }, Some(Response::Create { path, .. })) => Some((
                path.clone(),
                Effect::Created {
                    data: data.clone(),
                    owner: mode.is_ephemeral().then_some(op.session),
                },
            )),
            (Request::SetData { path, data, .. }, Some(Response::SetData { stat })) => Some((
                path.clone(),
                Effect::Set {
                    data: data.clone(),
                    version: stat.version,
                },
            )),
            (Request::Delete { path, .. }, _) => Some((path.clone(), Effect::Deleted)),
            (Request::Multi(requests), Some(Response::Multi(results))) => {
                for (sub, result) in requests.iter().zip(results) {
                    if let OpResult::Ok(r) = result {
                        self.record(op, sub, Some(r), zxid);
                    }
                }
                None
            }
            _ => None,
        };
        if let Some((path, effect)) = effect {
            self.by_path.entry(path).or_default().insert(
                zxid,
                PathWrite {
                    op: op.id,
                    zxid,
                    effect,
                },
            );
        }
    }

    fn record_unknown(&mut self, request: &Request) {
        match request {
            Request::Create { path, mode, .. } if mode.is_sequential() => {
                self.maybe_sequential.insert(path.clone());
            }
            Request::Create { path, .. }
            | Request::SetData { path, .. }
            | Request::Delete { path, .. } => {
                self.maybe_touched.insert(path.clone());
            }
            Request::Multi(requests) => requests.iter().for_each(|r| self.record_unknown(r)),
            _ => {}
        }
    }

    /// May an unanswered write have touched `path`?
    pub fn maybe_touched(&self, path: &str) -> bool {
        self.maybe_touched.contains(path)
            || self
                .maybe_sequential
                .iter()
                .any(|p| path.starts_with(p.as_str()))
    }
}

/// Can the server remove a node of this mode without a client's delete?
pub fn server_removable(mode: CreateMode) -> bool {
    mode.is_ephemeral() || mode.is_ttl() || mode == CreateMode::Container
}

fn mark_ephemerals(request: &Request, op: &ClientOp, out: &mut BTreeSet<String>) {
    match request {
        Request::Create { path, mode, .. } if server_removable(*mode) => {
            out.insert(path.clone());
            if let Outcome::Ok {
                response: Response::Create { path, .. },
                ..
            } = &op.outcome
            {
                out.insert(path.clone());
            }
        }
        Request::Multi(requests) => {
            for r in requests {
                mark_ephemerals(r, op, out);
            }
            if let Outcome::Ok {
                response: Response::Multi(results),
                ..
            } = &op.outcome
            {
                for (r, res) in requests.iter().zip(results) {
                    if let (
                        Request::Create { mode, .. },
                        OpResult::Ok(Response::Create { path, .. }),
                    ) = (r, res)
                    {
                        if server_removable(*mode) {
                            out.insert(path.clone());
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Ops grouped by session (session 0, "not connected", is left out), each in invocation
/// order.
pub fn by_session(history: &History) -> BTreeMap<SessionId, Vec<&ClientOp>> {
    let mut sessions: BTreeMap<SessionId, Vec<&ClientOp>> = BTreeMap::new();
    for op in &history.ops {
        if op.session != SessionId(0) {
            sessions.entry(op.session).or_default().push(op);
        }
    }
    sessions
}

/// Session expiries the leader performed, with the index of the event: a `SessionExpired`
/// event counts only from a server whose latest role was Leading (a follower expiring a
/// session on its own is itself a bug, not an expiry).
pub fn leader_expiries(history: &History) -> Vec<(usize, SessionId)> {
    let mut roles: BTreeMap<u64, Role> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, record) in history.server_events.iter().enumerate() {
        match record.event {
            ServerEvent::RoleChanged { role } => {
                roles.insert(record.server.0, role);
            }
            ServerEvent::SessionExpired { session }
                if roles.get(&record.server.0) == Some(&Role::Leading) =>
            {
                out.push((i, session));
            }
            _ => {}
        }
    }
    out
}

/// What the servers' events say was committed.
#[derive(Clone, Debug, Default)]
pub struct CommittedSet {
    /// Every zxid some server reported committing.
    pub zxids: BTreeSet<Zxid>,
    /// The highest `leader_zxid` any learner was synchronised to.
    synced_to: Option<Zxid>,
}

impl CommittedSet {
    pub fn is_empty(&self) -> bool {
        self.zxids.is_empty()
    }

    /// Was `zxid` committed, as far as the events show? Committed by some server, or
    /// implied: a later zxid of the same epoch was committed (commits go in order), or a
    /// learner was synchronised to a leader at or past it (a new leader commits what it
    /// carries over without a `Committed` event per txn).
    pub fn covers(&self, zxid: Zxid) -> bool {
        self.zxids.contains(&zxid)
            || self
                .zxids
                .range(zxid..)
                .next()
                .is_some_and(|later| later.epoch() == zxid.epoch())
            || self.synced_to.is_some_and(|s| s >= zxid)
    }
}

/// What the servers reported committing.
pub fn committed_anywhere(history: &History) -> CommittedSet {
    let mut set = CommittedSet::default();
    for record in &history.server_events {
        match record.event {
            ServerEvent::Committed { zxid, .. } => {
                set.zxids.insert(zxid);
            }
            ServerEvent::Synced { leader_zxid, .. } => {
                set.synced_to = set.synced_to.max(Some(leader_zxid));
            }
            _ => {}
        }
    }
    set
}
