//! Hand-made sessions: a watch that should have fired and did not is named; every case
//! where ZooKeeper may stay silent is not.

use super::*;
use crate::history::WatchRecord;
use zab_core::ids::{Epoch, Millis, ServerId, SessionId};
use zab_core::request::{CreateMode, KeeperState, Stat, WatchEvent};

fn z(counter: u32) -> Zxid {
    Zxid::new(Epoch(1), counter)
}

#[derive(Default)]
struct Ops {
    history: History,
}

impl Ops {
    /// Client `client` (session 100 + client) on server 1.
    fn op(
        &mut self,
        client: u64,
        invoke: u64,
        complete: u64,
        request: Request,
        outcome: Outcome,
    ) -> usize {
        let id = self.history.ops.len();
        self.history.ops.push(ClientOp {
            id: id as u64,
            client,
            session: SessionId(100 + client as i64),
            server: Some(ServerId(1)),
            invoke: Millis(invoke),
            complete: Some(Millis(complete)),
            request,
            outcome,
            watch_events: Vec::new(),
        });
        id
    }

    fn event(&mut self, op: usize, at: u64, event_type: EventType, path: &str) {
        self.history.ops[op].watch_events.push(WatchRecord {
            at: Millis(at),
            event: WatchEvent {
                event_type,
                state: KeeperState::SyncConnected,
                path: path.into(),
                zxid: Zxid::from_i64(-1),
            },
        });
    }

    fn violations(&self) -> Vec<Violation> {
        check(&self.history, &WriteLog::build(&self.history))
    }
}

fn ok(response: Response, zxid: Zxid) -> Outcome {
    Outcome::Ok { response, zxid }
}

fn stat(mzxid: Zxid) -> Stat {
    Stat {
        czxid: z(1),
        mzxid,
        ..Stat::default()
    }
}

fn get(path: &str, watch: bool) -> Request {
    Request::GetData {
        path: path.into(),
        watch,
    }
}

fn got(mzxid: Zxid, at: Zxid) -> Outcome {
    ok(
        Response::GetData {
            data: b"x".to_vec(),
            stat: stat(mzxid),
        },
        at,
    )
}

fn set(path: &str) -> Request {
    Request::SetData {
        path: path.into(),
        data: b"y".to_vec(),
        version: -1,
    }
}

fn set_ok(zxid: Zxid) -> Outcome {
    ok(Response::SetData { stat: stat(zxid) }, zxid)
}

fn create(path: &str, acl: Vec<Acl>) -> Request {
    Request::Create {
        path: path.into(),
        data: Vec::new(),
        acl,
        mode: CreateMode::Persistent,
        ttl: None,
        with_stat: false,
    }
}

fn created(path: &str, zxid: Zxid) -> Outcome {
    ok(
        Response::Create {
            path: path.into(),
            stat: None,
        },
        zxid,
    )
}

/// Client 1 watches /k at zxid 1; client 2 sets it at zxid 2; client 1 reads at zxid 2.
fn data_watch_then_write() -> (Ops, usize) {
    let mut ops = Ops::default();
    ops.op(1, 0, 5, get("/k", true), got(z(1), z(1)));
    ops.op(2, 6, 10, set("/k"), set_ok(z(2)));
    let read = ops.op(1, 20, 25, get("/k", false), got(z(2), z(2)));
    (ops, read)
}

#[test]
fn a_data_watch_that_never_fired_is_named_watch_before_data() {
    let (ops, read) = data_watch_then_write();
    let violations = ops.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].property, Property::WatchBeforeData);
    assert_eq!(violations[0].ops, vec![0, 1, read as u64]);
}

#[test]
fn the_event_before_the_reply_or_in_its_millisecond_is_fine() {
    for at in [12, 25] {
        let (mut ops, read) = data_watch_then_write();
        ops.event(read, at, EventType::NodeDataChanged, "/k");
        assert!(ops.violations().is_empty(), "event at {at}");
    }
}

#[test]
fn the_event_after_the_reply_is_lost_here_too() {
    // (`watch.rs` names it late; this module sees that it had not come by the reply.)
    let (mut ops, read) = data_watch_then_write();
    ops.event(read, 26, EventType::NodeDataChanged, "/k");
    assert_eq!(ops.violations().len(), 1);
}

#[test]
fn a_reply_from_before_the_write_owes_no_event() {
    let mut ops = Ops::default();
    ops.op(1, 0, 5, get("/k", true), got(z(1), z(1)));
    ops.op(2, 6, 10, set("/k"), set_ok(z(2)));
    // A lagging server answers from zxid 1: it had not applied the write yet.
    ops.op(1, 20, 25, get("/k", false), got(z(1), z(1)));
    assert!(ops.violations().is_empty());
}

#[test]
fn a_reply_to_an_expired_session_owes_no_event() {
    let (mut ops, read) = data_watch_then_write();
    ops.history.ops[read].outcome = Outcome::Failed {
        error: ErrorCode::SessionExpired,
        zxid: z(2),
    };
    assert!(ops.violations().is_empty());
}

#[test]
fn a_child_watch_is_owed_an_event_for_a_new_child() {
    let mut ops = Ops::default();
    let children = Request::GetChildren {
        path: "/q".into(),
        watch: true,
        with_stat: false,
    };
    ops.op(
        1,
        0,
        5,
        children,
        ok(
            Response::GetChildren {
                children: Vec::new(),
                stat: None,
            },
            z(1),
        ),
    );
    ops.op(
        2,
        6,
        10,
        create("/q/a", Acl::open_unsafe()),
        created("/q/a", z(2)),
    );
    let read = ops.op(1, 20, 25, get("/q", false), got(z(1), z(2)));
    assert_eq!(ops.violations().len(), 1);
    ops.event(read, 21, EventType::NodeChildrenChanged, "/q");
    assert!(ops.violations().is_empty());
}

#[test]
fn an_exists_watch_is_owed_an_event_for_the_create_unless_the_node_went_again() {
    let mut ops = Ops::default();
    let exists = Request::Exists {
        path: "/e".into(),
        watch: true,
    };
    ops.op(
        1,
        0,
        5,
        exists,
        Outcome::Failed {
            error: ErrorCode::NoNode,
            zxid: z(1),
        },
    );
    ops.op(
        2,
        6,
        10,
        create("/e", Acl::open_unsafe()),
        created("/e", z(2)),
    );
    ops.op(1, 20, 25, get("/other", false), got(z(1), z(2)));
    assert_eq!(ops.violations().len(), 1);
    // Deleted again before the reply: a reconnect's setWatches would not have seen it.
    ops.history.ops.pop();
    ops.op(
        2,
        11,
        12,
        Request::Delete {
            path: "/e".into(),
            version: -1,
        },
        ok(Response::Empty, z(3)),
    );
    ops.op(1, 20, 25, get("/other", false), got(z(1), z(3)));
    assert!(ops.violations().is_empty());
}

#[test]
fn nodes_under_a_restrictive_acl_are_not_judged() {
    let (mut ops, _) = data_watch_then_write();
    ops.op(
        3,
        0,
        1,
        create("/k", Acl::read_unsafe()),
        created("/k", z(1)),
    );
    assert!(ops.violations().is_empty());
}
