//! createSession / closeSession through the tree.

use super::fixture::*;
use crate::ids::SessionId;
use crate::request::{CreateMode, Request, Response};
use crate::txn::TxnBody;

#[test]
fn create_session_enters_the_session_table() {
    let mut f = Fixture::new();
    let s = SessionId(0x300);
    assert_eq!(f.tree.session_timeout(s), None);
    let applied = f.open_session(s, 12_000);
    assert_eq!(applied.result, Ok(Response::Empty));
    assert_eq!(f.tree.session_timeout(s), Some(12_000));
    let all: Vec<_> = f.tree.sessions().collect();
    assert_eq!(all, vec![(S1, 30_000), (S2, 30_000), (s, 12_000)]);
}

#[test]
fn close_session_removes_session_and_its_ephemerals_only() {
    let mut f = Fixture::new();
    f.ok(&create("/p", b""));
    f.ok(&create_mode("/p/e1", b"", CreateMode::Ephemeral));
    f.ok(&create_mode("/e2", b"", CreateMode::EphemeralSequential));
    f.session = S2;
    f.ok(&create_mode("/other", b"", CreateMode::Ephemeral));
    f.session = S1;
    let txn = f.prepare(&Request::CloseSession);
    assert_eq!(
        txn.body,
        TxnBody::CloseSession {
            ephemerals: vec!["/e20000000001".into(), "/p/e1".into()]
        }
    );
    assert_eq!(f.commit(&txn).result, Ok(Response::Empty));
    assert_eq!(f.tree.session_timeout(S1), None);
    assert!(f.tree.ephemerals(S1).is_empty());
    assert_eq!(f.children("/"), vec!["other", "p", "zookeeper"]);
    let p = f.stat("/p");
    assert_eq!((p.num_children, p.pzxid), (0, txn.zxid()));
}

#[test]
fn close_session_includes_in_flight_ephemerals_and_skips_in_flight_deletes() {
    let mut f = Fixture::new();
    f.ok(&create_mode("/old", b"", CreateMode::Ephemeral));
    let new = f.prepare(&create_mode("/new", b"", CreateMode::Ephemeral));
    let del = f.prepare(&delete("/old", -1));
    let close = f.prepare(&Request::CloseSession);
    assert_eq!(
        close.body,
        TxnBody::CloseSession {
            ephemerals: vec!["/new".into()]
        }
    );
    for t in [&new, &del, &close] {
        f.commit(t);
    }
    assert_eq!(f.children("/"), vec!["zookeeper"]);
}

#[test]
fn closing_an_unknown_session_is_harmless() {
    let mut f = Fixture::new();
    f.session = SessionId(0x999);
    let digest = f.tree.digest();
    assert_eq!(f.ok(&Request::CloseSession), Response::Empty);
    assert_eq!(f.tree.digest(), digest);
}

#[test]
fn parent_of_in_flight_closed_ephemerals_still_counts_them_as_children() {
    // ZooKeeper's closeSession moves the parents' pzxid in the outstanding records but leaves
    // their child counts: a delete of the parent prepared meanwhile is NOTEMPTY.
    let mut f = Fixture::new();
    f.ok(&create("/p", b""));
    f.ok(&create_mode("/p/e", b"", CreateMode::Ephemeral));
    let close = f.prepare(&Request::CloseSession);
    f.session = S2;
    let del = f.prepare(&delete("/p", -1));
    assert_eq!(
        del.body,
        TxnBody::Error {
            code: crate::error::ErrorCode::NotEmpty
        }
    );
    f.commit(&close);
    f.commit(&del);
    // Once applied, the parent is empty and can go.
    f.ok(&delete("/p", -1));
}
