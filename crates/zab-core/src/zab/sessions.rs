//! The leader's session tracker (`SessionTrackerImpl`): who is alive, and who has expired.
//!
//! Only the leader expires sessions; learners forward the touches their clients make in their
//! PING replies. Expiry times are rounded up to the next multiple of tickTime, as ZooKeeper's
//! expiry buckets do, so a session expires at a bucket boundary, never earlier than its timeout.

use crate::ids::{Millis, SessionId};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
struct Tracked {
    timeout_ms: i32,
    expires_at: Millis,
}

/// Live sessions and their expiry deadlines.
#[derive(Clone, Debug)]
pub struct SessionTracker {
    tick_ms: u64,
    sessions: BTreeMap<SessionId, Tracked>,
    /// Expired sessions whose closeSession is in flight: touches no longer revive them.
    closing: BTreeSet<SessionId>,
}

impl SessionTracker {
    pub fn new(tick_ms: u64) -> SessionTracker {
        SessionTracker {
            tick_ms: tick_ms.max(1),
            sessions: BTreeMap::new(),
            closing: BTreeSet::new(),
        }
    }

    /// `roundToNextInterval(now + timeout)`.
    fn deadline(&self, now: Millis, timeout_ms: i32) -> Millis {
        let raw = now.0 + timeout_ms.max(0) as u64;
        Millis(raw.div_ceil(self.tick_ms) * self.tick_ms)
    }

    /// Start tracking (a createSession was prepared, or a new leader loads its table).
    pub fn add(&mut self, session: SessionId, timeout_ms: i32, now: Millis) {
        let expires_at = self.deadline(now, timeout_ms);
        self.sessions.insert(
            session,
            Tracked {
                timeout_ms,
                expires_at,
            },
        );
        self.closing.remove(&session);
    }

    /// A sign of life. `false` when the session is unknown or already closing (then the
    /// client must be told its session expired).
    pub fn touch(&mut self, session: SessionId, now: Millis) -> bool {
        if self.closing.contains(&session) {
            return false;
        }
        let Some(timeout_ms) = self.sessions.get(&session).map(|t| t.timeout_ms) else {
            return false;
        };
        let expires_at = self.deadline(now, timeout_ms);
        let tracked = self.sessions.get_mut(&session).expect("present");
        tracked.expires_at = tracked.expires_at.max(expires_at);
        true
    }

    pub fn is_valid(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session) && !self.closing.contains(&session)
    }

    /// Mark a session closing (a client asked to close it): later touches do not revive it.
    pub fn set_closing(&mut self, session: SessionId) {
        if self.sessions.contains_key(&session) {
            self.closing.insert(session);
        }
    }

    /// The closeSession committed.
    pub fn remove(&mut self, session: SessionId) {
        self.sessions.remove(&session);
        self.closing.remove(&session);
    }

    /// Sessions whose deadline has passed and that are not already closing; they are marked
    /// closing so each expires once.
    pub fn expire(&mut self, now: Millis) -> Vec<SessionId> {
        let expired: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(s, t)| t.expires_at <= now && !self.closing.contains(s))
            .map(|(s, _)| *s)
            .collect();
        for session in &expired {
            self.closing.insert(*session);
        }
        expired
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_expires_at_the_bucket_after_its_timeout() {
        let mut tracker = SessionTracker::new(2000);
        tracker.add(SessionId(1), 5000, Millis(100));
        assert!(
            tracker.expire(Millis(5100)).is_empty(),
            "not before the bucket boundary"
        );
        assert!(tracker.expire(Millis(5999)).is_empty());
        assert_eq!(tracker.expire(Millis(6000)), vec![SessionId(1)]);
        assert!(tracker.expire(Millis(9000)).is_empty(), "expires once");
        assert!(
            !tracker.touch(SessionId(1), Millis(9000)),
            "closing sessions stay dead"
        );
    }

    #[test]
    fn touch_postpones_expiry() {
        let mut tracker = SessionTracker::new(2000);
        tracker.add(SessionId(1), 4000, Millis(0));
        assert!(tracker.touch(SessionId(1), Millis(3000)));
        assert!(tracker.expire(Millis(4000)).is_empty());
        assert_eq!(tracker.expire(Millis(8000)), vec![SessionId(1)]);
        assert!(!tracker.touch(SessionId(2), Millis(0)), "unknown session");
    }
}
