//! `no-premature-expiry`: a session does not expire while its client keeps in contact with the
//! ensemble within the session timeout.
//!
//! In ZooKeeper only the leader expires sessions (`SessionTrackerImpl`, buckets of one tick):
//! a session dies at the end of the bucket after `timeout` without a touch. Learners touch
//! locally and forward the touches in their PING replies; a reconnect at a learner is
//! revalidated with the leader, which touches the session.
//!
//! What counts as contact is chosen so that the correct protocol can never trip the check:
//! only answers the leader must have seen — an accepted handshake (createSession or a
//! revalidated reconnect) and a write answered Ok (it was committed through the leader, and
//! the learner that forwarded it relays the touch at its next ping). Pings and reads are not
//! contact: a follower cut from the leader answers them on its own until it notices (up to
//! syncLimit ticks), while its touches never reach the leader — an expiry then is ZooKeeper's
//! promise kept, not broken.
//!
//! An expiry is the last `SessionExpired` event (from any server) for the session before its
//! client learned the session was gone (a handshake answered "expired", or an op failed with
//! SESSIONEXPIRED), or that moment itself when no server recorded one. An expiry only counts
//! once the client learned of it: a deposed leader that has not noticed yet may expire a
//! session whose closeSession never commits.
//!
//! Premature: the expiry came less than a quarter of the negotiated timeout after a contact.
//! The slack (three quarters) covers the longest silence of an idle client before its next
//! message (a third of the timeout), the relay of a learner's touches (half a tick; the
//! timeout is at least two ticks, so at most a quarter of it) and a clock running up to 10%
//! fast on the expiring server. A clock changed by a fault (a `drift` fault on the expiring
//! server within a timeout before the expiry: a step forward or a rate beyond 10%) is not
//! covered, so such expiries are not judged; ZooKeeper measures session time with a
//! monotonic clock that a wall-clock step does not move.

use super::ops::by_session;
use crate::history::{History, Outcome};
use crate::verdict::{Property, Violation};
use std::collections::BTreeMap;
use zab_core::error::ErrorCode;
use zab_core::ids::{ServerId, SessionId};
use zab_core::peer::ServerEvent;
use zab_core::request::Request;

/// At most this many violations are reported.
const REPORTED_MAX: usize = 10;

/// An expiry is premature when it comes less than `timeout / PREMATURE_DIVISOR` after contact.
pub const PREMATURE_DIVISOR: u64 = 4;

/// Sign of life the leader must have seen.
#[derive(Copy, Clone, Debug)]
enum Contact {
    /// An accepted handshake (index into `History::handshakes`).
    Handshake(usize),
    /// A write answered Ok (op id).
    Write(u64),
}

pub fn has_expiries(history: &History) -> bool {
    history.handshakes.iter().any(|h| h.timeout_ms == 0) || history.ops.iter().any(told_expired)
}

/// The op's answer told the client its session had expired.
fn told_expired(op: &crate::history::ClientOp) -> bool {
    matches!(
        op.outcome,
        Outcome::Failed {
            error: ErrorCode::SessionExpired,
            ..
        }
    )
}

pub fn check(history: &History) -> Vec<Violation> {
    // Per session: the negotiated timeout, the contacts (time ms, what), the moments the
    // client learned it had expired.
    let mut timeouts: BTreeMap<SessionId, u64> = BTreeMap::new();
    let mut contacts: BTreeMap<SessionId, Vec<(u64, Contact)>> = BTreeMap::new();
    let mut told: BTreeMap<SessionId, Vec<u64>> = BTreeMap::new();
    for (i, h) in history.handshakes.iter().enumerate() {
        if h.timeout_ms > 0 {
            timeouts.insert(h.session, h.timeout_ms);
            contacts
                .entry(h.session)
                .or_default()
                .push((h.at.0, Contact::Handshake(i)));
        } else {
            told.entry(h.session).or_default().push(h.at.0);
        }
    }
    for (session, ops) in by_session(history) {
        for op in ops {
            let Some(done) = op.complete else { continue };
            if told_expired(op) {
                told.entry(session).or_default().push(done.0);
            } else if matches!(op.outcome, Outcome::Ok { .. })
                && op.request.is_write()
                && !matches!(op.request, Request::CloseSession)
            {
                contacts
                    .entry(session)
                    .or_default()
                    .push((done.0, Contact::Write(op.id)));
            }
        }
    }
    let mut expiry_events: BTreeMap<SessionId, Vec<(u64, usize)>> = BTreeMap::new();
    for (i, record) in history.server_events.iter().enumerate() {
        if let ServerEvent::SessionExpired { session } = record.event {
            expiry_events
                .entry(session)
                .or_default()
                .push((record.at.0, i));
        }
    }

    // Servers whose clock a fault changed, and when.
    let clock_faults: Vec<(u64, ServerId)> = history
        .faults
        .iter()
        .filter(|f| f.action == "drift")
        .flat_map(|f| f.targets.iter().map(move |t| (f.at.0, *t)))
        .collect();

    let mut violations = Vec::new();
    for (session, moments) in &told {
        let Some(&timeout_ms) = timeouts.get(session) else {
            continue; // no handshake recorded: the timeout is unknown
        };
        let Some(&learned) = moments.iter().min() else {
            continue;
        };
        let expired = expiry_events
            .get(session)
            .into_iter()
            .flatten()
            .filter(|(at, _)| *at <= learned)
            .max_by_key(|(at, _)| *at)
            .copied();
        let expired_at = expired.map_or(learned, |(at, _)| at);
        if let Some((_, i)) = expired {
            let expirer = history.server_events[i].server;
            let clock_changed = clock_faults.iter().any(|(at, server)| {
                *server == expirer && *at <= expired_at && expired_at - *at <= timeout_ms
            });
            if clock_changed {
                continue; // its clock no longer measures real time
            }
        }
        let last_contact = contacts
            .get(session)
            .into_iter()
            .flatten()
            .filter(|(at, _)| *at <= expired_at)
            .max_by_key(|(at, _)| *at)
            .copied();
        let Some((contact_at, contact)) = last_contact else {
            continue;
        };
        debug_assert!(
            contact_at <= expired_at,
            "contacts are taken before the expiry"
        );
        let gap_ms = expired_at - contact_at;
        if gap_ms * PREMATURE_DIVISOR >= timeout_ms {
            continue;
        }
        let (what, ops) = match contact {
            Contact::Write(op) => (format!("op {op} (a write answered Ok)"), vec![op]),
            Contact::Handshake(i) => (
                format!(
                    "a handshake accepted by server {}",
                    history.handshakes[i].server
                ),
                Vec::new(),
            ),
        };
        let by = match expired {
            Some((_, i)) => format!(
                "server {} expired it at {} ms",
                history.server_events[i].server, expired_at
            ),
            None => format!("its client was told it had expired at {expired_at} ms"),
        };
        let mut violation = Violation::new(
            Property::NoPrematureExpiry,
            format!(
                "session {session} (timeout {timeout_ms} ms) expired {gap_ms} ms after its client's last contact with the ensemble, {what} at {contact_at} ms: {by}, though a session lives at least its timeout after its last touch"
            ),
        )
        .with_ops(ops);
        if let Some((_, i)) = expired {
            violation = violation.with_events([i]);
        }
        violations.push(violation);
        if violations.len() >= REPORTED_MAX {
            break;
        }
    }
    violations
}
