//! Every operation's success and the Stat it leaves.

use super::fixture::*;
use crate::ids::Zxid;
use crate::request::{perms, Acl, CreateMode, Request, Response};
use crate::txn::{NodeKind, TxnBody};

#[test]
fn fresh_tree_is_zookeepers() {
    let mut f = Fixture::new();
    assert_eq!(f.children("/"), vec!["zookeeper"]);
    assert_eq!(f.children("/zookeeper"), vec!["config", "quota"]);
    let root = f.stat("/");
    // Children that were never "created" make the reported cversion negative, as in ZooKeeper.
    assert_eq!(
        (root.cversion, root.num_children, root.czxid),
        (-1, 1, Zxid(0))
    );
    assert_eq!(f.stat("/zookeeper").cversion, -2);
    let config = f.stat("/zookeeper/config");
    assert_eq!(config.aversion, -1);
    match f.read(
        C1,
        &Request::GetAcl {
            path: "/zookeeper/config".into(),
        },
    ) {
        Ok(Response::GetAcl { acl, .. }) => assert_eq!(acl, Acl::read_unsafe()),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.tree.node_count(), 4);
}

#[test]
fn create_sets_every_stat_field_and_moves_the_parent() {
    let mut f = Fixture::new();
    let r = f.ok(&create("/a", b"hello"));
    assert_eq!(
        r,
        Response::Create {
            path: "/a".into(),
            stat: None
        }
    );
    let z = f.zxid;
    let t = f.time.0 as i64;
    let s = f.stat("/a");
    assert_eq!((s.czxid, s.mzxid, s.pzxid), (z, z, z));
    assert_eq!((s.ctime, s.mtime), (t, t));
    assert_eq!((s.version, s.cversion, s.aversion), (0, 0, 0));
    assert_eq!(
        (s.ephemeral_owner, s.data_length, s.num_children),
        (0, 5, 0)
    );
    let root = f.stat("/");
    assert_eq!((root.cversion, root.pzxid, root.num_children), (0, z, 2));
    assert_eq!(root.mzxid, Zxid(0), "a child create is not a data change");
}

#[test]
fn create2_returns_the_new_nodes_stat() {
    let mut f = Fixture::new();
    match f.ok(&create2("/a", b"xy")) {
        Response::Create {
            path,
            stat: Some(stat),
        } => {
            assert_eq!(path, "/a");
            assert_eq!(stat, f.stat("/a"));
            assert_eq!(stat.data_length, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn delete_moves_parent_pzxid_and_reported_cversion_only() {
    let mut f = Fixture::new();
    f.ok(&create("/p", b""));
    f.ok(&create("/p/a", b""));
    f.ok(&create("/p/b", b""));
    assert_eq!(f.stat("/p").cversion, 2);
    f.ok(&delete("/p/a", -1));
    let z = f.zxid;
    let p = f.stat("/p");
    // Persisted cversion (creates) stays 2; reported = 2*2 - 1 child = 3.
    assert_eq!((p.cversion, p.num_children, p.pzxid), (3, 1, z));
    assert_eq!(f.tree.node("/p").unwrap().stat.cversion, 2);
    // The sequential counter counts creates only.
    match f.ok(&create_mode("/p/s-", b"", CreateMode::PersistentSequential)) {
        Response::Create { path, .. } => assert_eq!(path, "/p/s-0000000002"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sequential_names_come_from_the_parents_cversion() {
    let mut f = Fixture::new();
    f.ok(&create("/q", b""));
    let mut names = Vec::new();
    for _ in 0..3 {
        match f.ok(&create_mode("/q/n-", b"", CreateMode::PersistentSequential)) {
            Response::Create { path, .. } => names.push(path),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        names,
        ["/q/n-0000000000", "/q/n-0000000001", "/q/n-0000000002"]
    );
    // A path ending in '/' is fine when the suffix completes it.
    match f.ok(&create_mode("/q/", b"", CreateMode::EphemeralSequential)) {
        Response::Create { path, .. } => assert_eq!(path, "/q/0000000003"),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.stat("/q").cversion, 4);
}

#[test]
fn set_data_changes_mzxid_mtime_version_and_length() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b"1"));
    let created = f.stat("/a");
    let r = f.ok(&set_data("/a", b"four", 0));
    let s = f.stat("/a");
    assert_eq!(r, Response::SetData { stat: s });
    assert_eq!(
        (s.mzxid, s.mtime, s.version, s.data_length),
        (f.zxid, f.time.0 as i64, 1, 4)
    );
    assert_eq!(
        (s.czxid, s.ctime, s.pzxid, s.cversion),
        (created.czxid, created.ctime, created.pzxid, 0)
    );
    assert_eq!(f.data("/a"), b"four");
    f.ok(&set_data("/a", b"", -1));
    assert_eq!(f.stat("/a").version, 2);
}

#[test]
fn set_acl_bumps_aversion_only() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b"x"));
    let before = f.stat("/a");
    let r = f.ok(&set_acl("/a", Acl::read_unsafe(), 0));
    let s = f.stat("/a");
    assert_eq!(r, Response::SetAcl { stat: s });
    assert_eq!(s.aversion, 1);
    assert_eq!((s.mzxid, s.version, s.cversion), (before.mzxid, 0, 0));
    match f.read(C1, &Request::GetAcl { path: "/a".into() }) {
        Ok(Response::GetAcl { acl, stat }) => {
            assert_eq!(acl, Acl::read_unsafe());
            assert_eq!(stat.aversion, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn check_succeeds_and_changes_nothing() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b"x"));
    let digest = f.tree.digest();
    let txn = f.prepare(&check("/a", 0));
    assert_eq!(
        txn.body,
        TxnBody::Check {
            path: "/a".into(),
            version: 1
        }
    );
    assert_eq!(f.commit(&txn).result, Ok(Response::Check));
    assert_eq!(f.tree.digest(), digest);
    assert_eq!(f.tree.last_applied(), txn.zxid());
}

#[test]
fn ephemeral_nodes_belong_to_their_session() {
    let mut f = Fixture::new();
    f.ok(&create_mode("/e", b"", CreateMode::Ephemeral));
    assert_eq!(f.stat("/e").ephemeral_owner, S1.0);
    assert_eq!(f.tree.ephemerals(S1), vec!["/e".to_string()]);
    assert!(f.tree.ephemerals(S2).is_empty());
}

#[test]
fn container_and_ttl_nodes_report_stat_and_no_owner() {
    let mut f = Fixture::new();
    match f.ok(&create_mode("/c", b"", CreateMode::Container)) {
        Response::Create { stat: Some(s), .. } => assert_eq!(s.ephemeral_owner, 0),
        other => panic!("{other:?}"),
    }
    let ttl = Request::Create {
        path: "/t".into(),
        data: vec![],
        acl: Acl::open_unsafe(),
        mode: CreateMode::PersistentSequentialWithTtl,
        ttl: Some(5000),
        with_stat: false,
    };
    match f.ok(&ttl) {
        Response::Create {
            path,
            stat: Some(s),
        } => {
            assert_eq!(path, "/t0000000001");
            assert_eq!(s.ephemeral_owner, 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.tree.node("/t0000000001").unwrap().kind,
        NodeKind::Ttl { ttl_ms: 5000 }
    );
    assert_eq!(f.tree.containers().collect::<Vec<_>>(), vec!["/c"]);
    assert_eq!(f.tree.ttl_nodes().collect::<Vec<_>>(), vec!["/t0000000001"]);
    // Containers may have children.
    f.ok(&create("/c/kid", b""));
}

#[test]
fn reads_answer_children_stat_counts_and_ephemerals() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    f.ok(&create("/a/b", b""));
    f.ok(&create("/a/b/c", b""));
    f.ok(&create_mode("/a/e1", b"", CreateMode::Ephemeral));
    f.ok(&create_mode("/x", b"", CreateMode::Ephemeral));
    let r = f.read(
        C1,
        &Request::GetChildren {
            path: "/a".into(),
            watch: false,
            with_stat: true,
        },
    );
    let stat = f.stat("/a");
    assert_eq!(
        r,
        Ok(Response::GetChildren {
            children: vec!["b".into(), "e1".into()],
            stat: Some(stat)
        })
    );
    let n = f.read(C1, &Request::GetAllChildrenNumber { path: "/a".into() });
    assert_eq!(n, Ok(Response::GetAllChildrenNumber { count: 3 }));
    let all = f.read(C1, &Request::GetAllChildrenNumber { path: "/".into() });
    assert_eq!(all, Ok(Response::GetAllChildrenNumber { count: 3 + 5 }));
    let e = f.read(
        C1,
        &Request::GetEphemerals {
            prefix: "/a".into(),
        },
    );
    assert_eq!(
        e,
        Ok(Response::GetEphemerals {
            paths: vec!["/a/e1".into()]
        })
    );
    let e = f.read(C1, &Request::GetEphemerals { prefix: "/".into() });
    assert_eq!(
        e,
        Ok(Response::GetEphemerals {
            paths: vec!["/a/e1".into(), "/x".into()]
        })
    );
    let sync = f.read(C1, &Request::Sync { path: "/a".into() });
    assert_eq!(sync, Ok(Response::Sync { path: "/a".into() }));
}

#[test]
fn multi_read_answers_each_op_on_its_own() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b"d"));
    let r = f.read(
        C1,
        &Request::MultiRead(vec![
            get_data("/a", false),
            get_children("/a", false),
            get_data("/nope", false),
        ]),
    );
    let stat = f.stat("/a");
    assert_eq!(
        r,
        Ok(Response::MultiRead(vec![
            crate::request::OpResult::Ok(Response::GetData {
                data: b"d".to_vec(),
                stat
            }),
            crate::request::OpResult::Ok(Response::GetChildren {
                children: vec![],
                stat: None
            }),
            crate::request::OpResult::Err(crate::error::ErrorCode::NoNode),
        ]))
    );
}

#[test]
fn open_acl_perms_are_all_five() {
    assert_eq!(Acl::open_unsafe()[0].perms, perms::ALL);
    assert_eq!(perms::ALL, 31);
}
