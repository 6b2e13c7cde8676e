//! `watch-before-data`, second half: the watch event must come at all.
//!
//! `watch.rs` checks that an event which did arrive came before any reply showing the state
//! it announces. This module checks the events that never arrived: a watch a session set
//! (getData / exists / getChildren with `watch`, answered) stays armed until an event for
//! its path clears it; a later reply to that session carrying zxid R ≥ W, where W is an
//! answered write that fires the watch (W above the zxid the watch was set at), proves the
//! answering server had applied W, so ZooKeeper must have delivered the event first — on
//! the same connection because it is FIFO, and across a reconnect because the client's
//! `SetWatches` (sent before any new request, with its last zxid) re-arms the watch on the
//! new server or fires it at once when the node changed since (`DataTree.setWatches`).
//!
//! Where ZooKeeper itself may stay silent, nothing is judged: an exists watch whose node
//! was created and deleted again (a reconnect's `SetWatches` only sees that it is absent),
//! nodes an unanswered write or the server (session end, reaping) may have touched, nodes
//! whose ACL could hide events (the event filter needs READ), and replies that do not
//! come from a live session (SESSIONEXPIRED and the "no answer" errors).
//!
//! Events and replies are merged per session in time order; one op is in flight at a
//! time per client, so an event recorded with op k arrived after k was sent and before the
//! next op was. An event in the same millisecond as a reply is taken as having come both
//! before the reply (it may clear a watch the reply is judged against) and after it (it
//! may clear a watch the reply itself set) — the reading that reports the least.

use super::ops::{answered_zxid, by_session, Effect, PathWrite, WriteLog};
use crate::history::{ClientOp, History, Outcome};
use crate::models::znode::parent_of;
use crate::verdict::{Property, Violation};
use std::collections::{BTreeMap, BTreeSet};
use zab_core::error::ErrorCode;
use zab_core::ids::Zxid;
use zab_core::request::{Acl, EventType, OpResult, Request, Response};

/// At most this many violations are reported (the first ones).
const REPORTED_MAX: usize = 10;

/// The three one-shot watch tables a ZooKeeper client keeps (`ZKWatchManager`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// getData, or exists on a node that exists.
    Data,
    /// exists on a node that does not exist.
    Exist,
    /// getChildren.
    Child,
}

/// A watch the session holds: set by op `op` from a state at `zxid`.
#[derive(Copy, Clone, Debug)]
struct Armed {
    op: u64,
    zxid: Zxid,
}

/// Did any op set a watch? (Only then is there anything to judge.)
pub fn has_watches(history: &History) -> bool {
    history.ops.iter().any(|op| watch_set_by(op).is_some())
}

/// Watches that fired for a write the session's server had applied, yet never reached it.
pub fn check(history: &History, log: &WriteLog) -> Vec<Violation> {
    let restricted = restricted_paths(history);
    let invisible = invisibly_touched(log);
    let children = children_by_parent(log);
    let mut violations = Vec::new();
    for (session, ops) in by_session(history) {
        let mut armed: BTreeMap<(String, Kind), Armed> = BTreeMap::new();
        for op in ops {
            let done = op.complete;
            // Events that arrived strictly before the reply.
            for record in &op.watch_events {
                if done.is_some_and(|d| record.at < d) {
                    clear(&mut armed, record.event.event_type, &record.event.path);
                }
            }
            if let (Some(d), Some(reply)) = (done, live_reply_zxid(op)) {
                // Judge against what is armed, forgiving events of the same millisecond.
                let mut pending = armed.clone();
                for record in op.watch_events.iter().filter(|r| r.at == d) {
                    clear(&mut pending, record.event.event_type, &record.event.path);
                }
                for ((path, kind), watch) in &pending {
                    if restricted.contains(path.as_str())
                        || (*kind == Kind::Exist && invisible.contains(path.as_str()))
                    {
                        continue;
                    }
                    let Some(fired_by) = first_trigger(log, &children, path, *kind, watch, reply)
                    else {
                        continue;
                    };
                    violations.push(
                        Violation::new(
                            Property::WatchBeforeData,
                            format!(
                                "session {session}: the {kind:?} watch #{} set on {path} at zxid {} should have fired for write #{} at zxid {}, but #{} was answered at {d} from zxid {reply} and no event for {path} had come",
                                watch.op, watch.zxid, fired_by.op, fired_by.zxid, op.id
                            ),
                        )
                        .with_ops([watch.op, fired_by.op, op.id]),
                    );
                    armed.remove(&(path.clone(), *kind));
                    if violations.len() >= REPORTED_MAX {
                        return violations;
                    }
                }
            }
            if let (Some((path, kind)), Some(zxid)) = (watch_set_by(op), answered_zxid(op)) {
                // Setting a watch that is armed already adds nothing: the server holds one.
                armed
                    .entry((path, kind))
                    .or_insert(Armed { op: op.id, zxid });
            }
            if let Request::RemoveWatches { path, .. } = &op.request {
                // Whatever it removed, those watches are no longer owed an event.
                armed.retain(|(p, _), _| p != path);
            }
            // Events that arrived with or after the reply (or with no reply at all).
            for record in &op.watch_events {
                if !matches!(done, Some(d) if record.at < d) {
                    clear(&mut armed, record.event.event_type, &record.event.path);
                }
            }
        }
    }
    violations
}

/// The watch an answered op set, as the client records it (`ClientCnxn`'s watch
/// registrations: getData only when the node exists, exists either way).
fn watch_set_by(op: &ClientOp) -> Option<(String, Kind)> {
    let ok = matches!(op.outcome, Outcome::Ok { .. });
    let no_node = matches!(
        op.outcome,
        Outcome::Failed {
            error: ErrorCode::NoNode,
            ..
        }
    );
    match &op.request {
        Request::GetData { path, watch: true } if ok => Some((path.clone(), Kind::Data)),
        Request::Exists { path, watch: true } if ok => Some((path.clone(), Kind::Data)),
        Request::Exists { path, watch: true } if no_node => Some((path.clone(), Kind::Exist)),
        Request::GetChildren {
            path, watch: true, ..
        } if ok => Some((path.clone(), Kind::Child)),
        _ => None,
    }
}

/// The reply zxid of an op a live session's server answered.
fn live_reply_zxid(op: &ClientOp) -> Option<Zxid> {
    match &op.outcome {
        Outcome::Failed {
            error: ErrorCode::SessionExpired | ErrorCode::SessionMoved,
            ..
        } => None,
        _ => answered_zxid(op),
    }
}

/// What an event clears from the client's tables (`ZKWatchManager.materialize`).
fn clear(armed: &mut BTreeMap<(String, Kind), Armed>, event: EventType, path: &str) {
    let kinds: &[Kind] = match event {
        EventType::NodeCreated | EventType::NodeDataChanged => &[Kind::Data, Kind::Exist],
        EventType::NodeDeleted => &[Kind::Data, Kind::Exist, Kind::Child],
        EventType::NodeChildrenChanged => &[Kind::Child],
        _ => &[],
    };
    for kind in kinds {
        armed.remove(&(path.to_string(), *kind));
    }
}

/// The first answered write above the watch's zxid and at or below `reply` that fires it.
fn first_trigger<'a>(
    log: &'a WriteLog,
    children: &BTreeMap<&str, Vec<&'a str>>,
    path: &str,
    kind: Kind,
    watch: &Armed,
    reply: Zxid,
) -> Option<&'a PathWrite> {
    let after = |p: &str| {
        log.by_path.get(p).into_iter().flat_map(move |writes| {
            writes
                .range(watch.zxid..=reply)
                .filter(move |(z, _)| **z > watch.zxid)
                .map(|(_, w)| w)
        })
    };
    match kind {
        Kind::Data => after(path).next(),
        Kind::Exist => {
            let first = after(path).next()?;
            // Created and gone again: a reconnect's setWatches cannot tell.
            let gone_again =
                after(path).any(|w| w.zxid > first.zxid && w.effect == Effect::Deleted);
            (!gone_again).then_some(first)
        }
        Kind::Child => {
            let own = after(path).find(|w| w.effect == Effect::Deleted);
            let of_children = children
                .get(path)
                .into_iter()
                .flatten()
                .flat_map(|child| after(child))
                .filter(|w| matches!(w.effect, Effect::Created { .. } | Effect::Deleted));
            own.into_iter().chain(of_children).min_by_key(|w| w.zxid)
        }
    }
}

fn children_by_parent(log: &WriteLog) -> BTreeMap<&str, Vec<&str>> {
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for path in log.by_path.keys() {
        if let Some(parent) = parent_of(path) {
            children.entry(parent).or_default().push(path.as_str());
        }
    }
    children
}

/// Paths an exists watch is not judged on: an unanswered write or the server itself (session
/// end, reaping) may have created or deleted them, so "created and gone again" cannot be
/// ruled out. (A data or child watch needs no such care: any write that fires it, seen or
/// not, makes an event that the history records.)
fn invisibly_touched(log: &WriteLog) -> BTreeSet<&str> {
    let mut paths: BTreeSet<&str> = log.maybe_touched.iter().map(String::as_str).collect();
    paths.extend(log.ephemeral_paths.iter().map(String::as_str));
    paths.extend(
        log.by_path
            .keys()
            .filter(|p| log.maybe_touched(p))
            .map(String::as_str),
    );
    paths
}

/// Paths whose events an ACL may hide (the event filter needs READ): any path given an ACL
/// other than world:anyone with every permission, by create (its actual name for a
/// sequential create) or setACL.
fn restricted_paths(history: &History) -> BTreeSet<&str> {
    let open = Acl::open_unsafe();
    let mut paths = BTreeSet::new();
    for op in &history.ops {
        // The response to each request (a multi's sub-requests in order).
        let responses: Vec<Option<&Response>> = match &op.outcome {
            Outcome::Ok {
                response: Response::Multi(results),
                ..
            } => results
                .iter()
                .map(|r| match r {
                    OpResult::Ok(response) => Some(response),
                    _ => None,
                })
                .collect(),
            Outcome::Ok { response, .. } => vec![Some(response)],
            _ => Vec::new(),
        };
        let requests: Vec<&Request> = match &op.request {
            Request::Multi(requests) => requests.iter().collect(),
            request => vec![request],
        };
        for (k, request) in requests.into_iter().enumerate() {
            match request {
                Request::SetAcl { path, .. } => {
                    paths.insert(path.as_str());
                }
                Request::Create { path, acl, .. } if acl.as_slice() != open.as_slice() => {
                    paths.insert(path.as_str());
                    if let Some(Some(Response::Create { path, .. })) = responses.get(k) {
                        paths.insert(path.as_str());
                    }
                }
                _ => {}
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests;
