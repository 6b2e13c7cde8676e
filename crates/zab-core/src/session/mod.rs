//! The leader's session tracker (`SessionTrackerImpl`): ids, negotiated timeouts, expiry in
//! tickTime buckets on the clock the driver passes in, and the "closing" mark.
//!
//! The tracker decides *when* a session dies; the death itself is a closeSession transaction
//! the peer prepares and commits, so every replica removes the session and its ephemerals at
//! the same point in the log. The replicated session table lives in the tree.

mod expiry;

pub use expiry::ExpiryQueue;

use crate::config::Config;
use crate::error::ErrorCode;
use crate::ids::{Millis, SessionId};
use crate::tree::node::CONTAINER_OWNER;
use std::collections::BTreeMap;

/// One tracked session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tracked {
    timeout_ms: i32,
    /// Expired or closed: requests get SESSIONEXPIRED, touches are refused.
    closing: bool,
}

/// Live sessions and their expiry.
#[derive(Clone, Debug)]
pub struct SessionTracker {
    min_timeout_ms: i32,
    max_timeout_ms: i32,
    next_id: SessionId,
    sessions: BTreeMap<SessionId, Tracked>,
    queue: ExpiryQueue<SessionId>,
}

impl SessionTracker {
    /// A tracker for server `config.me` started at `now`: ids start at
    /// [`SessionId::initial`], buckets are `tickTime` wide, timeouts are clamped to
    /// [minSessionTimeout, maxSessionTimeout] (2 and 20 ticks unless configured).
    pub fn new(config: &Config, now: Millis) -> SessionTracker {
        let mut first = SessionId::initial(config.me, now);
        // ZooKeeper skips the one id that would read as the container marker.
        if first.0 == CONTAINER_OWNER {
            first = SessionId(first.0 + 1);
        }
        let min = config.min_session_timeout().min(i32::MAX as u64) as i32;
        let max = config.max_session_timeout().min(i32::MAX as u64) as i32;
        SessionTracker {
            min_timeout_ms: min,
            max_timeout_ms: max.max(min),
            next_id: first,
            sessions: BTreeMap::new(),
            queue: ExpiryQueue::new(config.tick_ms, now),
        }
    }

    /// The timeout a client asking for `requested_ms` gets (`processConnectRequest`).
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        requested_ms.clamp(self.min_timeout_ms, self.max_timeout_ms)
    }

    /// A new session with an already negotiated timeout: the next id, tracked from `now`.
    /// Ids still tracked (learned from the tree) are skipped rather than reused.
    pub fn create_session(&mut self, timeout_ms: i32, now: Millis) -> SessionId {
        let mut id = self.next_id;
        while self.sessions.contains_key(&id) || id.0 == CONTAINER_OWNER {
            id = SessionId(id.0.wrapping_add(1));
        }
        self.next_id = SessionId(id.0.wrapping_add(1));
        let added = self.track_session(id, timeout_ms, now);
        debug_assert!(added, "fresh session ids are unused");
        id
    }

    /// Track a session (a new one, one learned from the tree after an election or restore, or
    /// a revalidated one) and restart its expiry. Returns whether it was new.
    pub fn track_session(&mut self, id: SessionId, timeout_ms: i32, now: Millis) -> bool {
        let added = !self.sessions.contains_key(&id);
        let tracked = *self.sessions.entry(id).or_insert(Tracked {
            timeout_ms,
            closing: false,
        });
        self.queue.update(id, tracked.timeout_ms.max(0) as u64, now);
        added
    }

    /// Track every session of the replicated table, as a new leader does
    /// (`SessionTrackerImpl`'s constructor): each gets a full timeout from `now`.
    pub fn load(&mut self, sessions: impl IntoIterator<Item = (SessionId, i32)>, now: Millis) {
        for (id, timeout_ms) in sessions {
            self.track_session(id, timeout_ms, now);
        }
    }

    /// Activity on a session (any request or ping) pushes its expiry out. `false` if the
    /// session is unknown or closing: the caller must not serve it.
    pub fn touch(&mut self, id: SessionId, now: Millis) -> bool {
        match self.sessions.get(&id) {
            Some(t) if !t.closing => {
                self.queue.update(id, t.timeout_ms.max(0) as u64, now);
                true
            }
            _ => false,
        }
    }

    /// `checkSession`: UNKNOWNSESSION if never seen (or removed), SESSIONEXPIRED if closing.
    pub fn check_session(&self, id: SessionId) -> Result<(), ErrorCode> {
        match self.sessions.get(&id) {
            None => Err(ErrorCode::UnknownSession),
            Some(t) if t.closing => Err(ErrorCode::SessionExpired),
            Some(_) => Ok(()),
        }
    }

    /// Mark a session closing (closeSession prepared, or expired).
    pub fn set_closing(&mut self, id: SessionId) {
        if let Some(t) = self.sessions.get_mut(&id) {
            t.closing = true;
        }
    }

    /// Forget a session (its closeSession was applied).
    pub fn remove(&mut self, id: SessionId) {
        self.sessions.remove(&id);
        self.queue.remove(id);
    }

    /// The session's negotiated timeout.
    pub fn timeout_of(&self, id: SessionId) -> Option<i32> {
        self.sessions.get(&id).map(|t| t.timeout_ms)
    }

    /// When the next session can expire, if any: the driver's timer. Always a tick boundary.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.queue.next_due()
    }

    /// Every session whose bucket is due at `now`, in id order, now marked closing. The leader
    /// turns each into a closeSession transaction. Walks every bucket up to `now`, as
    /// ZooKeeper's expirer thread does when it wakes late.
    pub fn expire(&mut self, now: Millis) -> Vec<SessionId> {
        let mut expired = self.queue.poll_all(now);
        for id in &expired {
            self.set_closing(*id);
        }
        expired.sort();
        expired
    }

    /// Number of tracked sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests;
