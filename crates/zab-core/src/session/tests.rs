//! Session tracker behaviour.

use super::*;
use crate::ids::ServerId;
use std::collections::BTreeSet;

fn config() -> Config {
    Config::new(ServerId(1), BTreeSet::from([ServerId(1)]), BTreeSet::new())
}

#[test]
fn timeouts_are_clamped_to_two_and_twenty_ticks() {
    let t = SessionTracker::new(&config(), Millis(0));
    assert_eq!(t.negotiate_timeout(1), 4000);
    assert_eq!(t.negotiate_timeout(10_000), 10_000);
    assert_eq!(t.negotiate_timeout(1_000_000), 40_000);
    assert_eq!(t.negotiate_timeout(-5), 4000);
}

#[test]
fn configured_limits_replace_the_defaults() {
    let mut c = config();
    c.min_session_timeout_ms = Some(1000);
    c.max_session_timeout_ms = Some(5000);
    let t = SessionTracker::new(&c, Millis(0));
    assert_eq!(t.negotiate_timeout(10), 1000);
    assert_eq!(t.negotiate_timeout(9000), 5000);
}

#[test]
fn ids_start_from_server_and_time_then_increment() {
    let now = Millis(1_700_000_000_000);
    let mut t = SessionTracker::new(&config(), now);
    let a = t.create_session(4000, now);
    let b = t.create_session(4000, now);
    assert_eq!(a, SessionId::initial(ServerId(1), now));
    assert_eq!(b.0, a.0 + 1);
    assert_eq!(a.server(), ServerId(1));
}

#[test]
fn untouched_session_expires_at_the_first_tick_after_its_timeout() {
    let mut t = SessionTracker::new(&config(), Millis(0));
    let s = t.create_session(4000, Millis(100)); // 4100 -> bucket 6000
    assert_eq!(t.next_deadline(), Some(Millis(6000)));
    assert!(t.expire(Millis(5999)).is_empty());
    assert_eq!(t.expire(Millis(6000)), vec![s]);
    assert_eq!(t.check_session(s), Err(ErrorCode::SessionExpired));
    assert!(
        !t.touch(s, Millis(6001)),
        "a closing session cannot be revived"
    );
    t.remove(s);
    assert_eq!(t.check_session(s), Err(ErrorCode::UnknownSession));
}

#[test]
fn touch_pushes_expiry_out() {
    let mut t = SessionTracker::new(&config(), Millis(0));
    let s = t.create_session(4000, Millis(0)); // bucket 6000
    assert!(t.touch(s, Millis(3000))); // 7000 -> bucket 8000
    assert!(t.expire(Millis(6000)).is_empty());
    assert_eq!(t.next_deadline(), Some(Millis(8000)));
    assert_eq!(t.expire(Millis(8000)), vec![s]);
}

#[test]
fn unknown_sessions_are_reported_not_panicked_on() {
    let mut t = SessionTracker::new(&config(), Millis(0));
    assert!(!t.touch(SessionId(42), Millis(0)));
    assert_eq!(
        t.check_session(SessionId(42)),
        Err(ErrorCode::UnknownSession)
    );
    t.set_closing(SessionId(42));
    t.remove(SessionId(42));
    assert!(t.is_empty());
}

#[test]
fn late_wakeup_expires_every_due_session_in_id_order() {
    let mut t = SessionTracker::new(&config(), Millis(0));
    let a = t.create_session(10_000, Millis(0));
    let b = t.create_session(4000, Millis(0));
    let c = t.create_session(40_000, Millis(0));
    assert_eq!(t.expire(Millis(30_000)), vec![a, b]);
    assert_eq!(t.check_session(c), Ok(()));
    assert_eq!(t.len(), 3, "expired sessions stay (closing) until removed");
}

#[test]
fn tracking_a_known_session_restarts_its_clock() {
    let mut t = SessionTracker::new(&config(), Millis(0));
    assert!(t.track_session(SessionId(9), 4000, Millis(0)));
    assert!(!t.track_session(SessionId(9), 4000, Millis(10_000)));
    assert!(t.expire(Millis(12_000)).is_empty());
    assert_eq!(t.expire(Millis(16_000)), vec![SessionId(9)]);
    assert_eq!(t.timeout_of(SessionId(9)), Some(4000));
}

#[test]
fn new_ids_skip_sessions_already_tracked() {
    let now = Millis(5000);
    let mut t = SessionTracker::new(&config(), now);
    let first = SessionId::initial(ServerId(1), now);
    assert!(t.track_session(first, 4000, now));
    let fresh = t.create_session(4000, now);
    assert_eq!(fresh.0, first.0 + 1);
}
