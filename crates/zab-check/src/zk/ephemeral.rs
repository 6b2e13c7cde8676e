//! `ephemeral-lifetime`: an ephemeral exists from its creation until its owner's session
//! closes or expires, and not after.
//!
//! Vanished early: a read answered NONODE for an ephemeral at a zxid at or after its
//! creation, though nothing could have removed it by then — no delete of it (answered below
//! the read's zxid, or unanswered and sent before the read completed), no close of its
//! session (same rule), no expiry of its session by the leader before the read completed.
//! Lingering: a read answered from a zxid after the owner's answered closeSession still
//! shows the node owned by that session.

use super::ops::{answered_zxid, leader_expiries, maybe_applied};
use crate::history::{History, Outcome};
use crate::verdict::{Property, Violation};
use std::collections::BTreeMap;
use zab_core::error::ErrorCode;
use zab_core::ids::{SessionId, Zxid};
use zab_core::request::{Request, Response};

/// At most this many violations are reported.
const REPORTED_MAX: usize = 10;

/// How something that can remove a node happened.
#[derive(Copy, Clone, Debug)]
enum Removal {
    /// Answered, at this zxid.
    At(Zxid),
    /// Unanswered (or an expiry): may have happened any time after this instant (ms).
    After(u64),
}

impl Removal {
    /// Could it have taken effect in a state read at `zxid`, answered at `done` (ms)?
    fn could_precede(self, zxid: Zxid, done: u64) -> bool {
        match self {
            Removal::At(z) => z <= zxid,
            Removal::After(t) => t <= done,
        }
    }
}

/// Ephemeral creations: path -> (owner, creating op, zxid).
type Creations = BTreeMap<String, Vec<(SessionId, u64, Zxid)>>;

pub fn has_ephemerals(history: &History) -> bool {
    !creations(history).is_empty()
}

fn creations(history: &History) -> Creations {
    let mut out: Creations = BTreeMap::new();
    for op in &history.ops {
        if let (
            Request::Create { mode, .. },
            Outcome::Ok {
                response: Response::Create { path, .. },
                zxid,
            },
        ) = (&op.request, &op.outcome)
        {
            if mode.is_ephemeral() {
                out.entry(path.clone())
                    .or_default()
                    .push((op.session, op.id, *zxid));
            }
        }
    }
    out
}

pub fn check(history: &History) -> Vec<Violation> {
    let created = creations(history);
    if created.is_empty() {
        return Vec::new();
    }
    let mut deletes: BTreeMap<String, Vec<Removal>> = BTreeMap::new();
    let mut session_ends: BTreeMap<SessionId, Vec<(Removal, u64)>> = BTreeMap::new();
    for op in &history.ops {
        let removal = match &op.outcome {
            Outcome::Ok { zxid, .. } => Some(Removal::At(*zxid)),
            _ if maybe_applied(op) => Some(Removal::After(op.invoke.0)),
            _ => None,
        };
        let Some(removal) = removal else { continue };
        match &op.request {
            Request::Delete { path, .. } => deletes.entry(path.clone()).or_default().push(removal),
            Request::Multi(requests) => {
                for r in requests {
                    if let Request::Delete { path, .. } = r {
                        deletes.entry(path.clone()).or_default().push(removal);
                    }
                }
            }
            Request::CloseSession => session_ends
                .entry(op.session)
                .or_default()
                .push((removal, op.id)),
            _ => {}
        }
    }
    let mut expiries: BTreeMap<SessionId, Vec<u64>> = BTreeMap::new();
    for (index, session) in leader_expiries(history) {
        expiries
            .entry(session)
            .or_default()
            .push(history.server_events[index].at.0);
    }

    let mut violations = Vec::new();
    for op in &history.ops {
        if violations.len() >= REPORTED_MAX {
            break;
        }
        let (Some(zxid), Some(done)) = (answered_zxid(op), op.complete) else {
            continue;
        };
        let path = match &op.request {
            Request::GetData { path, .. } | Request::Exists { path, .. } => path,
            _ => continue,
        };
        let Some(lives) = created.get(path) else {
            continue;
        };
        match &op.outcome {
            Outcome::Failed {
                error: ErrorCode::NoNode,
                ..
            } => {
                // The latest creation visible at this zxid.
                let Some(&(owner, creator, created_at)) =
                    lives.iter().filter(|l| l.2 <= zxid).max_by_key(|l| l.2)
                else {
                    continue;
                };
                let deleted = deletes
                    .get(path)
                    .into_iter()
                    .flatten()
                    .any(|r| r.could_precede(zxid, done.0));
                let closed = session_ends
                    .get(&owner)
                    .into_iter()
                    .flatten()
                    .any(|(r, _)| r.could_precede(zxid, done.0));
                let expired = expiries
                    .get(&owner)
                    .into_iter()
                    .flatten()
                    .any(|t| *t <= done.0);
                if !(deleted || closed || expired) {
                    violations.push(
                        Violation::new(
                            Property::EphemeralLifetime,
                            format!(
                                "ephemeral {path} (created by #{creator} at zxid {created_at}, session {owner}) was gone at zxid {zxid} (read #{}), though its session had not ended and nothing deleted it",
                                op.id
                            ),
                        )
                        .with_ops([creator, op.id]),
                    );
                }
            }
            Outcome::Ok { response, .. } => {
                let stat = match response {
                    Response::GetData { stat, .. } | Response::Exists { stat } => stat,
                    _ => continue,
                };
                let owner = SessionId(stat.ephemeral_owner);
                if owner == SessionId(0) || stat.czxid > zxid {
                    continue;
                }
                let closed_before = session_ends
                    .get(&owner)
                    .into_iter()
                    .flatten()
                    .filter_map(|(r, id)| match r {
                        Removal::At(z) if *z > stat.czxid && *z <= zxid => Some((*z, *id)),
                        _ => None,
                    })
                    .min();
                if let Some((closed_at, closer)) = closed_before {
                    violations.push(
                        Violation::new(
                            Property::EphemeralLifetime,
                            format!(
                                "ephemeral {path} of session {owner} was still there at zxid {zxid} (read #{}), after closeSession #{closer} at zxid {closed_at}",
                                op.id
                            ),
                        )
                        .with_ops([closer, op.id]),
                    );
                }
            }
            _ => {}
        }
    }
    violations
}
