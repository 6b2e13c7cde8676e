//! multi: all-or-nothing with per-op results, and the outstanding-changes overlay.

use super::fixture::*;
use crate::error::ErrorCode;
use crate::request::{CreateMode, OpResult, Request, Response};
use crate::txn::TxnBody;

#[test]
fn multi_applies_every_op_with_one_zxid() {
    let mut f = Fixture::new();
    f.ok(&create("/x", b"0"));
    let r = f.ok(&Request::Multi(vec![
        create("/a", b""),
        create2("/a/b", b"1"),
        set_data("/x", b"22", 0),
        check("/x", 1),
        delete("/x", 1),
    ]));
    let z = f.zxid;
    let Response::Multi(results) = r else {
        panic!("{r:?}")
    };
    assert_eq!(results.len(), 5);
    assert_eq!(
        results[0],
        OpResult::Ok(Response::Create {
            path: "/a".into(),
            stat: None
        })
    );
    let b = f.stat("/a/b");
    assert_eq!(
        results[1],
        OpResult::Ok(Response::Create {
            path: "/a/b".into(),
            stat: Some(b)
        })
    );
    assert!(
        matches!(&results[2], OpResult::Ok(Response::SetData { stat }) if stat.version == 1 && stat.mzxid == z)
    );
    assert_eq!(results[3], OpResult::Ok(Response::Check));
    assert_eq!(results[4], OpResult::Ok(Response::Delete));
    assert_eq!((f.stat("/a").czxid, b.czxid), (z, z));
    assert_eq!(f.read(C1, &exists("/x", false)), Err(ErrorCode::NoNode));
}

#[test]
fn failed_multi_changes_nothing_and_reports_each_op() {
    let mut f = Fixture::new();
    f.ok(&create("/x", b"0"));
    let digest = f.tree.digest();
    let stat_root = f.stat("/");
    let txn = f.prepare(&Request::Multi(vec![
        create("/a", b""),
        set_data("/x", b"1", 0),
        check("/x", 7),
        create("/b", b""),
    ]));
    // Logged as ZooKeeper logs it: real txns before the failure, then errors.
    let TxnBody::Multi(subs) = &txn.body else {
        panic!("{txn:?}")
    };
    assert!(matches!(subs[0], TxnBody::Create { .. }));
    assert!(matches!(subs[1], TxnBody::SetData { .. }));
    assert_eq!(
        subs[2],
        TxnBody::Error {
            code: ErrorCode::BadVersion
        }
    );
    assert_eq!(
        subs[3],
        TxnBody::Error {
            code: ErrorCode::RuntimeInconsistency
        }
    );
    let applied = f.commit(&txn);
    assert_eq!(
        applied.result,
        Ok(Response::Multi(vec![
            OpResult::RolledBack,
            OpResult::RolledBack,
            OpResult::Err(ErrorCode::BadVersion),
            OpResult::Err(ErrorCode::RuntimeInconsistency),
        ]))
    );
    assert!(applied.watches.is_empty());
    assert_eq!(f.tree.digest(), digest);
    assert_eq!(f.stat("/"), stat_root);
    assert_eq!(
        f.tree.last_applied(),
        txn.zxid(),
        "a failed multi still consumes its zxid"
    );
}

#[test]
fn ops_in_a_multi_see_each_other() {
    let mut f = Fixture::new();
    let r = f.ok(&Request::Multi(vec![
        create("/a", b""),
        create_mode("/a/s-", b"", CreateMode::PersistentSequential),
        create_mode("/a/s-", b"", CreateMode::PersistentSequential),
        set_data("/a", b"v", 0),
        set_data("/a", b"w", 1),
    ]));
    let Response::Multi(results) = r else {
        panic!()
    };
    assert!(
        matches!(&results[2], OpResult::Ok(Response::Create { path, .. }) if path == "/a/s-0000000001")
    );
    assert_eq!(f.stat("/a").version, 2);
    // Deleting a node created earlier in the same multi fails on its children.
    let bad = f.write(&Request::Multi(vec![
        create("/b", b""),
        create("/b/c", b""),
        delete("/b", -1),
    ]));
    let Ok(Response::Multi(results)) = bad.result else {
        panic!()
    };
    assert_eq!(results[2], OpResult::Err(ErrorCode::NotEmpty));
}

#[test]
fn empty_multi_succeeds_and_bad_ops_make_it_undecodable() {
    let mut f = Fixture::new();
    assert_eq!(f.ok(&Request::Multi(vec![])), Response::Multi(vec![]));
    assert_eq!(
        f.err(&Request::Multi(vec![get_data("/", false)])),
        ErrorCode::MarshallingError
    );
    assert_eq!(
        f.err(&Request::Multi(vec![set_acl(
            "/",
            crate::request::Acl::open_unsafe(),
            -1
        )])),
        ErrorCode::MarshallingError
    );
}

#[test]
fn in_flight_set_data_prepare_against_each_other() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    let first = f.prepare(&set_data("/a", b"1", 0));
    let second = f.prepare(&set_data("/a", b"2", 1));
    let stale = f.prepare(&set_data("/a", b"3", 0));
    assert!(matches!(first.body, TxnBody::SetData { version: 1, .. }));
    assert!(matches!(second.body, TxnBody::SetData { version: 2, .. }));
    assert_eq!(
        stale.body,
        TxnBody::Error {
            code: ErrorCode::BadVersion
        }
    );
    assert_eq!(f.prep.outstanding(), 2);
    for t in [&first, &second, &stale] {
        f.commit(t);
    }
    assert_eq!(f.prep.outstanding(), 0);
    assert_eq!(f.data("/a"), b"2");
}

#[test]
fn in_flight_create_then_create_child() {
    let mut f = Fixture::new();
    let parent = f.prepare(&create("/p", b""));
    let child = f.prepare(&create("/p/c", b""));
    let dup = f.prepare(&create("/p", b""));
    let gone = f.prepare(&delete("/p/c", -1));
    let del_parent = f.prepare(&delete("/p", -1));
    assert!(matches!(child.body, TxnBody::Create { .. }));
    assert_eq!(
        dup.body,
        TxnBody::Error {
            code: ErrorCode::NodeExists
        }
    );
    assert_eq!(
        gone.body,
        TxnBody::Delete {
            path: "/p/c".into()
        }
    );
    assert_eq!(del_parent.body, TxnBody::Delete { path: "/p".into() });
    for t in [&parent, &child, &dup, &gone, &del_parent] {
        f.commit(t);
    }
    assert_eq!(f.children("/"), vec!["zookeeper"]);
}

#[test]
fn failed_multi_rolls_back_the_sequential_counter() {
    let mut f = Fixture::new();
    f.ok(&create("/q", b""));
    let failed = f.prepare(&Request::Multi(vec![
        create_mode("/q/s-", b"", CreateMode::PersistentSequential),
        delete("/missing", -1),
    ]));
    let next = f.prepare(&create_mode("/q/s-", b"", CreateMode::PersistentSequential));
    assert!(matches!(next.body, TxnBody::Create { ref path, .. } if path == "/q/s-0000000000"));
    f.commit(&failed);
    f.commit(&next);
    assert_eq!(f.children("/q"), vec!["s-0000000000"]);
}

#[test]
fn clear_forgets_everything_prepared() {
    let mut f = Fixture::new();
    let _lost = f.prepare(&create("/a", b""));
    f.prep.clear();
    assert_eq!(f.prep.outstanding(), 0);
    // The lost create never happened: /a can be prepared again.
    assert!(matches!(
        f.prepare(&create("/a", b"")).body,
        TxnBody::Create { .. }
    ));
}
