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

#[test]
fn load_tracks_the_trees_sessions_from_now() {
    let mut t = SessionTracker::new(&config(), Millis(0));
    t.load([(SessionId(5), 4000), (SessionId(6), 8000)], Millis(20_000));
    assert_eq!(t.len(), 2);
    assert_eq!(t.next_deadline(), Some(Millis(26_000)));
    assert_eq!(t.expire(Millis(26_000)), vec![SessionId(5)]);
}

mod model {
    //! The tracker against a naive one: a deadline per session, checked at every tick.
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Step {
        Create(i32),
        Touch(usize),
        Close(usize),
        Advance(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1000..20_000i32).prop_map(Step::Create),
            (0..8usize).prop_map(Step::Touch),
            (0..8usize).prop_map(Step::Close),
            (0..9000u64).prop_map(Step::Advance),
        ]
    }

    proptest! {
        #[test]
        fn expiry_matches_tick_by_tick_deadlines(steps in prop::collection::vec(step(), 1..60)) {
            let tick = 2000u64;
            let mut t = SessionTracker::new(&config(), Millis(0));
            let mut now = 0u64;
            // Naive model: session -> bucket time (first tick boundary after the deadline).
            let mut deadline: BTreeMap<SessionId, u64> = BTreeMap::new();
            let mut timeouts: BTreeMap<SessionId, i32> = BTreeMap::new();
            let mut ids: Vec<SessionId> = Vec::new();
            let mut last_tick = 0u64; // the model checks each boundary once
            for s in steps {
                match s {
                    Step::Create(ms) => {
                        let ms = t.negotiate_timeout(ms);
                        let id = t.create_session(ms, Millis(now));
                        ids.push(id);
                        timeouts.insert(id, ms);
                        deadline.insert(id, ((now + ms as u64) / tick + 1) * tick);
                    }
                    Step::Touch(i) => {
                        if let Some(id) = ids.get(i) {
                            let alive = deadline.contains_key(id);
                            prop_assert_eq!(t.touch(*id, Millis(now)), alive);
                            if alive {
                                deadline.insert(*id, ((now + timeouts[id] as u64) / tick + 1) * tick);
                            }
                        }
                    }
                    Step::Close(i) => {
                        if let Some(id) = ids.get(i) {
                            t.remove(*id);
                            deadline.remove(id);
                        }
                    }
                    Step::Advance(ms) => {
                        now += ms;
                        let mut want = Vec::new();
                        while last_tick + tick <= now {
                            last_tick += tick;
                            let due: Vec<SessionId> = deadline.iter().filter(|(_, d)| **d == last_tick).map(|(s, _)| *s).collect();
                            for s in due {
                                deadline.remove(&s);
                                want.push(s);
                            }
                        }
                        want.sort();
                        prop_assert_eq!(t.expire(Millis(now)), want);
                        if let Some(next) = t.next_deadline() {
                            prop_assert!(next.0 > now && next.0.is_multiple_of(tick));
                            prop_assert_eq!(Some(next.0), deadline.values().min().copied());
                        } else {
                            prop_assert!(deadline.is_empty());
                        }
                    }
                }
            }
        }
    }
}
