//! Bad input is an error value, never a panic: arbitrary requests (any strings, versions, ACLs,
//! modes, TTLs, nested multis, reads and watch calls) through prepare/apply/read, and arbitrary
//! raw transactions through apply. The tree's invariants hold throughout.

use proptest::prelude::*;
use zab_core::ids::{Epoch, Millis, SessionId, Zxid};
use zab_core::peer::ConnId;
use zab_core::request::{Acl, AddWatchMode, CreateMode, Id, Request, WatcherType};
use zab_core::tree::{acl, DataTree, Preparer, MAX_DATA_BYTES};
use zab_core::txn::{NodeKind, Txn, TxnBody, TxnHeader};

fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["/", "/a", "/a/b", "/a/b/c", "/e", "/zookeeper", "/zookeeper/config", "/a/", ""]).prop_map(String::from),
        2 => "(/[a-c.]{0,2}){1,3}/?",
        1 => any::<String>(),
        1 => "/[\\x00-\\x20\\u{7f}-\\u{a0}\\u{d7ff}-\\u{e001}\\u{fff0}-\\u{ffff}\\u{10000}]{1,3}",
    ]
}

fn any_id() -> impl Strategy<Value = Id> {
    prop_oneof![
        Just(Id::anyone()),
        Just(Id::new("auth", "")),
        Just(Id::new("digest", &acl::digest_id("u:p"))),
        Just(Id::new("ip", "10.0.0.0/8")),
        Just(Id::new("ip", "::1")),
        (".{0,8}", ".{0,12}").prop_map(|(s, i)| Id::new(&s, &i)),
        ".{0,20}".prop_map(|i| Id::new("ip", &i)),
        ".{0,20}".prop_map(|i| Id::new("digest", &i)),
    ]
}

fn any_acl() -> impl Strategy<Value = Vec<Acl>> {
    prop_oneof![
        4 => Just(Acl::open_unsafe()),
        1 => prop::collection::vec((any::<i32>(), any_id()).prop_map(|(perms, id)| Acl { perms, id }), 0..3),
    ]
}

fn any_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => prop::collection::vec(any::<u8>(), 0..8),
        1 => Just(vec![0u8; MAX_DATA_BYTES + 1]),
    ]
}

fn any_mode() -> impl Strategy<Value = CreateMode> {
    (0..7i32).prop_map(|f| CreateMode::from_flag(f).unwrap())
}

fn any_version() -> impl Strategy<Value = i32> {
    prop_oneof![3 => -1..3i32, 1 => any::<i32>()]
}

fn leaf_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (
            any_path(),
            any_data(),
            any_acl(),
            any_mode(),
            prop::option::of(prop_oneof![-2..3i64, any::<i64>()]),
            any::<bool>()
        )
            .prop_map(|(path, data, acl, mode, ttl, with_stat)| Request::Create {
                path,
                data,
                acl,
                mode,
                ttl,
                with_stat
            }),
        (any_path(), any_version()).prop_map(|(path, version)| Request::Delete { path, version }),
        (any_path(), any_data(), any_version()).prop_map(|(path, data, version)| {
            Request::SetData {
                path,
                data,
                version,
            }
        }),
        (any_path(), any_acl(), any_version()).prop_map(|(path, acl, version)| Request::SetAcl {
            path,
            acl,
            version
        }),
        (any_path(), any_version()).prop_map(|(path, version)| Request::Check { path, version }),
        (any_path(), any::<bool>()).prop_map(|(path, watch)| Request::GetData { path, watch }),
        (any_path(), any::<bool>()).prop_map(|(path, watch)| Request::Exists { path, watch }),
        (any_path(), any::<bool>(), any::<bool>()).prop_map(|(path, watch, with_stat)| {
            Request::GetChildren {
                path,
                watch,
                with_stat,
            }
        }),
        any_path().prop_map(|path| Request::GetAcl { path }),
        any_path().prop_map(|path| Request::Sync { path }),
        any_path().prop_map(|prefix| Request::GetEphemerals { prefix }),
        any_path().prop_map(|path| Request::GetAllChildrenNumber { path }),
        (any_path(), any::<bool>()).prop_map(|(path, r)| Request::AddWatch {
            path,
            mode: if r {
                AddWatchMode::PersistentRecursive
            } else {
                AddWatchMode::Persistent
            }
        }),
        (any_path(), 0..5usize).prop_map(|(path, t)| Request::RemoveWatches {
            path,
            watcher_type: watcher_type(t)
        }),
        (any_path(), 0..5usize).prop_map(|(path, t)| Request::CheckWatches {
            path,
            watcher_type: watcher_type(t)
        }),
        (
            any::<u64>(),
            prop::collection::vec(any_path(), 0..3),
            prop::collection::vec(any_path(), 0..3)
        )
            .prop_map(|(z, data, child)| Request::SetWatches {
                relative_zxid: Zxid(z),
                exist: data.clone(),
                data,
                persistent: child.clone(),
                persistent_recursive: child.clone(),
                child,
            }),
        (".{0,6}", prop::collection::vec(any::<u8>(), 0..6))
            .prop_map(|(scheme, auth)| Request::AddAuth { scheme, auth }),
        Just(Request::CloseSession),
    ]
}

fn watcher_type(t: usize) -> WatcherType {
    [
        WatcherType::Children,
        WatcherType::Data,
        WatcherType::Any,
        WatcherType::Persistent,
        WatcherType::PersistentRecursive,
    ][t]
}

fn any_request() -> impl Strategy<Value = Request> {
    leaf_request().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Request::Multi),
            prop::collection::vec(inner, 0..4).prop_map(Request::MultiRead),
        ]
    })
}

fn any_auth() -> impl Strategy<Value = Vec<Id>> {
    prop::collection::vec(any_id(), 0..3)
}

#[derive(Clone, Debug)]
struct Step {
    session: i64,
    conn: u64,
    auth: Vec<Id>,
    request: Request,
    open: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![Just(1i64), Just(2), any::<i64>()],
        0..3u64,
        any_auth(),
        any_request(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(session, conn, auth, request, open)| Step {
            session,
            conn,
            auth,
            request,
            open,
        })
}

fn any_kind() -> impl Strategy<Value = NodeKind> {
    prop_oneof![
        Just(NodeKind::Persistent),
        any::<i64>().prop_map(|o| NodeKind::Ephemeral {
            owner: SessionId(o)
        }),
        Just(NodeKind::Container),
        any::<i64>().prop_map(|ttl_ms| NodeKind::Ttl { ttl_ms }),
    ]
}

fn leaf_body() -> impl Strategy<Value = TxnBody> {
    prop_oneof![
        (
            any_path(),
            prop::collection::vec(any::<u8>(), 0..4),
            any_acl(),
            any_kind(),
            any::<i32>(),
            any::<bool>()
        )
            .prop_map(|(path, data, acl, kind, parent_cversion, with_stat)| {
                TxnBody::Create {
                    path,
                    data,
                    acl,
                    kind,
                    parent_cversion,
                    with_stat,
                }
            }),
        any_path().prop_map(|path| TxnBody::Delete { path }),
        (any_path(), any::<i32>()).prop_map(|(path, version)| TxnBody::SetData {
            path,
            data: vec![1],
            version
        }),
        (any_path(), any_acl(), any::<i32>()).prop_map(|(path, acl, version)| TxnBody::SetAcl {
            path,
            acl,
            version
        }),
        (any_path(), any::<i32>()).prop_map(|(path, version)| TxnBody::Check { path, version }),
        any::<i32>().prop_map(|timeout_ms| TxnBody::CreateSession { timeout_ms }),
        prop::collection::vec(any_path(), 0..3)
            .prop_map(|ephemerals| TxnBody::CloseSession { ephemerals }),
        prop::sample::select(zab_core::error::ErrorCode::ALL.to_vec())
            .prop_map(|code| TxnBody::Error { code }),
    ]
}

fn any_body() -> impl Strategy<Value = TxnBody> {
    leaf_body().prop_recursive(2, 10, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(TxnBody::Multi)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_panic_and_keep_the_tree_sound(steps in prop::collection::vec(step(), 1..30)) {
        let mut tree = DataTree::new();
        let mut prep = Preparer::new();
        let mut zxid = Zxid::new(Epoch(3), 0);
        for (i, s) in steps.iter().enumerate() {
            zxid = zxid.next_in_epoch().unwrap();
            let time = Millis(1000 + i as u64);
            let session = SessionId(s.session);
            if s.open {
                let txn = prep.prepare_create_session(session, 10_000, zxid, time);
                tree.apply(&txn);
                prep.committed(zxid);
                continue;
            }
            if matches!(s.request, Request::Create { .. } | Request::Delete { .. } | Request::SetData { .. } | Request::SetAcl { .. } | Request::Check { .. } | Request::Multi(_) | Request::CloseSession) {
                let txn = prep.prepare(&tree, session, &s.auth, i as i32, &s.request, zxid, time);
                prop_assert_eq!(txn.zxid(), zxid);
                let applied = tree.apply(&txn);
                prep.committed(zxid);
                prop_assert_eq!(tree.last_applied(), zxid);
                for (_, e) in &applied.watches {
                    prop_assert_eq!(e.zxid, zxid);
                }
            } else {
                let _ = tree.read_in_session(ConnId(s.conn), Some(session), &s.auth, &s.request);
                let _ = tree.take_watch_events();
            }
            tree.check_invariants().map_err(TestCaseError::fail)?;
        }
        let back = DataTree::restore(&tree.snapshot()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.digest(), tree.digest());
        back.check_invariants().map_err(TestCaseError::fail)?;
    }

    #[test]
    fn arbitrary_transactions_never_panic(bodies in prop::collection::vec((any::<i64>(), any_body()), 1..30)) {
        let mut tree = DataTree::new();
        let mut replica = DataTree::new();
        let mut zxid = Zxid::new(Epoch(1), 0);
        for (session, body) in bodies {
            zxid = zxid.next_in_epoch().unwrap();
            let txn = Txn { header: TxnHeader { session: SessionId(session), cxid: 0, zxid, time: Millis(5) }, body };
            let a = tree.apply(&txn);
            let b = replica.apply(&txn);
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(tree.digest(), replica.digest());
        let back = DataTree::restore(&tree.snapshot()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.digest(), tree.digest());
    }

    #[test]
    fn arbitrary_bytes_never_restore_into_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = DataTree::restore(&bytes);
    }
}
