//! Hand-made histories for `no-premature-expiry`: a session that expires a timeout after its
//! client's last contact passes; one expired right after its client was answered through the
//! leader is named; contact the leader need not have seen (reads, a follower's own answers)
//! and expiries no client ever learned of do not count.

use zab_check::history::{ClientOp, FaultRecord, HandshakeRecord, Outcome, ServerRecord};
use zab_check::{check_history, CheckOptions, History, Property, Report, Status};
use zab_core::error::ErrorCode;
use zab_core::ids::{Epoch, Millis, ServerId, SessionId, Zxid};
use zab_core::peer::{Role, ServerEvent};
use zab_core::request::{Acl, CreateMode, Request, Response, Stat};

const SESSION: SessionId = SessionId(0x100);
const TIMEOUT_MS: u64 = 3_000;

/// Client 1's session: created at server 2, a few creates answered through the leader
/// (server 3), the last at `last_write_ms`.
struct Run {
    history: History,
    zxid: u32,
}

impl Run {
    fn new(last_write_ms: u64) -> Run {
        let mut run = Run {
            history: History {
                version: zab_check::history::HISTORY_FORMAT_VERSION,
                ..History::default()
            },
            zxid: 0,
        };
        run.event(
            0,
            3,
            ServerEvent::RoleChanged {
                role: Role::Leading,
            },
        );
        run.event(0, 3, ServerEvent::LeaderEstablished { epoch: Epoch(1) });
        run.event(
            0,
            2,
            ServerEvent::RoleChanged {
                role: Role::Following,
            },
        );
        run.handshake(10, 2, TIMEOUT_MS);
        for at in [100, last_write_ms / 2, last_write_ms] {
            run.create(at, 2);
        }
        run
    }

    fn event(&mut self, at: u64, server: u64, event: ServerEvent) {
        self.history.server_events.push(ServerRecord {
            at: Millis(at),
            server: ServerId(server),
            event,
        });
    }

    fn handshake(&mut self, at: u64, server: u64, timeout_ms: u64) {
        self.history.handshakes.push(HandshakeRecord {
            at: Millis(at),
            client: 1,
            server: ServerId(server),
            session: SESSION,
            timeout_ms,
        });
    }

    fn op(&mut self, at: u64, server: u64, request: Request, outcome: Outcome) -> u64 {
        let id = self.history.ops.len() as u64;
        self.history.ops.push(ClientOp {
            id,
            client: 1,
            session: SESSION,
            server: Some(ServerId(server)),
            invoke: Millis(at - 2),
            complete: Some(Millis(at)),
            request,
            outcome,
            watch_events: Vec::new(),
        });
        id
    }

    /// A create answered Ok at `at` (committed through the leader).
    fn create(&mut self, at: u64, server: u64) -> u64 {
        self.zxid += 1;
        let zxid = Zxid::new(Epoch(1), self.zxid);
        let path = format!("/n{}", self.zxid);
        for s in 1..=3 {
            self.event(
                at - 1,
                s,
                ServerEvent::Committed {
                    zxid,
                    txn_hash: zxid.0,
                },
            );
        }
        let request = Request::Create {
            path: path.clone(),
            data: Vec::new(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl: None,
            with_stat: false,
        };
        let outcome = Outcome::Ok {
            response: Response::Create { path, stat: None },
            zxid,
        };
        self.op(at, server, request, outcome)
    }

    /// A read of `/n1` answered by `server` at `at`.
    fn read(&mut self, at: u64, server: u64) {
        let first = Zxid::new(Epoch(1), 1);
        let outcome = Outcome::Ok {
            response: Response::GetData {
                data: Vec::new(),
                stat: Stat {
                    czxid: first,
                    mzxid: first,
                    ..Stat::default()
                },
            },
            zxid: Zxid::new(Epoch(1), self.zxid),
        };
        let request = Request::GetData {
            path: "/n1".into(),
            watch: false,
        };
        self.op(at, server, request, outcome);
    }

    /// The client's next op is told SESSIONEXPIRED.
    fn told_expired_by_op(&mut self, at: u64, server: u64) -> u64 {
        let request = Request::Exists {
            path: "/n1".into(),
            watch: false,
        };
        let outcome = Outcome::Failed {
            error: ErrorCode::SessionExpired,
            zxid: Zxid::new(Epoch(1), self.zxid),
        };
        self.op(at, server, request, outcome)
    }

    fn expire(&mut self, at: u64, server: u64) {
        self.event(at, server, ServerEvent::SessionExpired { session: SESSION });
    }

    fn check(&self) -> Report {
        check_history(&self.history, &CheckOptions::default()).expect("valid history")
    }
}

fn status(report: &Report) -> Status {
    report
        .status(Property::NoPrematureExpiry)
        .cloned()
        .expect("the property is reported")
}

#[test]
fn a_session_expired_a_timeout_after_its_last_contact_passes() {
    let mut run = Run::new(1_000);
    run.expire(4_500, 3);
    run.handshake(4_600, 1, 0); // the reconnect is told the session expired
    let report = run.check();
    assert_eq!(status(&report), Status::Holds, "{:#?}", report.violations);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

#[test]
fn a_session_expired_right_after_a_write_through_the_leader_is_named_no_premature_expiry() {
    // The client left server 2 for server 3 at 900 (a handshake revalidated with the leader)
    // and wrote through it at 1000; server 2, no longer hearing from it, expired the session
    // at 1100; the client's next op was told SESSIONEXPIRED.
    let mut run = Run::new(800);
    run.handshake(900, 3, TIMEOUT_MS);
    let write = run.create(1_000, 3);
    run.expire(1_100, 2);
    let expiry_event = run.history.server_events.len() - 1;
    run.told_expired_by_op(1_200, 3);
    let report = run.check();
    assert_eq!(status(&report), Status::Violated);
    assert_eq!(report.violated(), vec![Property::NoPrematureExpiry]);
    let v = &report.violations[0];
    assert_eq!(v.ops, vec![write], "{v}");
    assert_eq!(v.events, vec![expiry_event], "{v}");
    assert!(v.message.contains("100 ms after"), "{v}");
    assert!(v.message.contains("server 2 expired it"), "{v}");
}

#[test]
fn a_handshake_the_leader_revalidated_is_contact() {
    let mut run = Run::new(500);
    run.handshake(2_900, 1, TIMEOUT_MS);
    run.expire(3_000, 3);
    run.handshake(3_300, 1, 0);
    let report = run.check();
    assert_eq!(
        status(&report),
        Status::Violated,
        "{:#?}",
        report.violations
    );
    assert!(
        report.violations[0]
            .message
            .contains("handshake accepted by server 1"),
        "{}",
        report.violations[0]
    );
}

#[test]
fn reads_a_follower_answers_on_its_own_are_not_contact() {
    // Server 2 lost the leader at 1000 but answered reads until it noticed: its touches never
    // reached the leader, which rightly expired the session a timeout after the last write.
    let mut run = Run::new(1_000);
    run.read(3_900, 2);
    run.expire(4_000, 3);
    run.handshake(4_400, 1, 0);
    let report = run.check();
    assert_eq!(status(&report), Status::Holds, "{:#?}", report.violations);
}

#[test]
fn an_expiry_no_client_learned_of_does_not_count() {
    // A deposed leader that has not noticed yet expires the session; its closeSession never
    // commits and the client carries on.
    let mut run = Run::new(1_000);
    run.expire(1_050, 1);
    run.create(1_500, 3);
    let report = run.check();
    assert!(
        matches!(status(&report), Status::Skipped { .. }),
        "{:?}",
        status(&report)
    );
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

#[test]
fn the_client_being_told_is_the_expiry_when_no_server_recorded_one() {
    let mut run = Run::new(1_000);
    let told = run.told_expired_by_op(1_300, 2);
    let report = run.check();
    assert_eq!(status(&report), Status::Violated);
    assert!(
        report.violations[0].message.contains("its client was told"),
        "{}",
        report.violations[0]
    );
    assert!(!report.violations[0].ops.contains(&told));
}

#[test]
fn histories_without_handshakes_skip_the_property() {
    let mut run = Run::new(1_000);
    run.history.handshakes.clear();
    run.told_expired_by_op(1_100, 2);
    assert!(matches!(status(&run.check()), Status::Skipped { .. }));
}

#[test]
fn an_expiry_by_a_server_whose_clock_a_fault_stepped_is_not_judged() {
    // As in the violating case, but server 2's clock jumped forward just before: its expiry
    // times no longer say how much real time passed.
    let mut run = Run::new(800);
    run.handshake(900, 3, TIMEOUT_MS);
    run.create(1_000, 3);
    run.history.faults.push(FaultRecord {
        at: Millis(950),
        action: "drift".into(),
        targets: vec![ServerId(2)],
        detail: "drift 0 ppm, jump 2000 ms".into(),
    });
    run.expire(1_100, 2);
    run.told_expired_by_op(1_200, 3);
    let report = run.check();
    assert_eq!(status(&report), Status::Holds, "{:#?}", report.violations);
    // The same fault on another server changes nothing.
    run.history.faults[0].targets = vec![ServerId(1)];
    assert_eq!(status(&run.check()), Status::Violated);
}
