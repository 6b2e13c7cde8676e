//! Every error code a write or read can end with, in ZooKeeper's order of checks.

use super::fixture::*;
use crate::error::ErrorCode;
use crate::ids::SessionId;
use crate::request::{perms, Acl, CreateMode, Id, Request};
use crate::tree::{Preparer, MAX_DATA_BYTES};
use crate::txn::TxnBody;

fn acl(perms: i32, scheme: &str, id: &str) -> Vec<Acl> {
    vec![Acl {
        perms,
        id: Id::new(scheme, id),
    }]
}

#[test]
fn failed_write_is_an_error_txn_that_consumes_a_zxid() {
    let mut f = Fixture::new();
    let digest = f.tree.digest();
    let txn = f.prepare(&delete("/missing", -1));
    assert_eq!(
        txn.body,
        TxnBody::Error {
            code: ErrorCode::NoNode
        }
    );
    assert_eq!(txn.zxid(), f.zxid);
    let applied = f.commit(&txn);
    assert_eq!(applied.result, Err(ErrorCode::NoNode));
    assert_eq!(f.tree.last_applied(), txn.zxid());
    assert_eq!(f.tree.digest(), digest);
}

#[test]
fn no_node_for_missing_parent_node_or_read_target() {
    let mut f = Fixture::new();
    assert_eq!(f.err(&create("/a/b", b"")), ErrorCode::NoNode);
    assert_eq!(f.err(&delete("/a", -1)), ErrorCode::NoNode);
    assert_eq!(f.err(&set_data("/a", b"", -1)), ErrorCode::NoNode);
    assert_eq!(
        f.err(&set_acl("/a", Acl::open_unsafe(), -1)),
        ErrorCode::NoNode
    );
    assert_eq!(f.err(&check("/a", -1)), ErrorCode::NoNode);
    for r in [
        get_data("/a", false),
        exists("/a", false),
        get_children("/a", false),
    ] {
        assert_eq!(f.read(C1, &r), Err(ErrorCode::NoNode));
    }
    assert_eq!(
        f.read(C1, &Request::GetAcl { path: "/a".into() }),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        f.read(C1, &Request::GetAllChildrenNumber { path: "/a".into() }),
        Err(ErrorCode::NoNode)
    );
}

#[test]
fn node_exists_for_duplicate_and_reserved_names() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    assert_eq!(f.err(&create("/a", b"")), ErrorCode::NodeExists);
    assert_eq!(f.err(&create("/zookeeper", b"")), ErrorCode::NodeExists);
}

#[test]
fn not_empty_when_deleting_a_parent() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    f.ok(&create("/a/b", b""));
    assert_eq!(f.err(&delete("/a", -1)), ErrorCode::NotEmpty);
}

#[test]
fn ephemerals_cannot_have_children() {
    let mut f = Fixture::new();
    f.ok(&create_mode("/e", b"", CreateMode::Ephemeral));
    assert_eq!(
        f.err(&create("/e/kid", b"")),
        ErrorCode::NoChildrenForEphemerals
    );
}

#[test]
fn bad_version_on_every_versioned_write() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    assert_eq!(f.err(&delete("/a", 3)), ErrorCode::BadVersion);
    assert_eq!(f.err(&set_data("/a", b"", 1)), ErrorCode::BadVersion);
    assert_eq!(
        f.err(&set_acl("/a", Acl::open_unsafe(), 1)),
        ErrorCode::BadVersion
    );
    assert_eq!(f.err(&check("/a", 1)), ErrorCode::BadVersion);
    f.ok(&delete("/a", 0));
}

#[test]
fn bad_arguments_for_invalid_paths_and_reserved_deletes() {
    let mut f = Fixture::new();
    for p in [
        "a",
        "//a",
        "/a\u{1}",
        "/😀",
        "",
        "/zookeeper/",
        "/zookeeper/.",
        "/zookeeper/..",
    ] {
        assert_eq!(
            f.err(&create(p, b"")),
            ErrorCode::BadArguments,
            "create {p:?}"
        );
    }
    // The parent is looked up before the full path is validated, as ZooKeeper does.
    assert_eq!(f.err(&create("/a/", b"")), ErrorCode::NoNode);
    assert_eq!(f.err(&create("/a/./b", b"")), ErrorCode::NoNode);
    assert_eq!(f.err(&create("/a\0b", b"")), ErrorCode::BadArguments);
    for p in [
        "/",
        "/zookeeper",
        "/zookeeper/quota",
        "/zookeeper/config",
        "nope",
        "/a\0",
    ] {
        assert_eq!(
            f.err(&delete(p, -1)),
            ErrorCode::BadArguments,
            "delete {p:?}"
        );
    }
    assert_eq!(f.err(&set_data("a", b"", -1)), ErrorCode::BadArguments);
    assert_eq!(
        f.err(&set_acl("/a/", Acl::open_unsafe(), -1)),
        ErrorCode::BadArguments
    );
    assert_eq!(f.err(&check("/a/..", -1)), ErrorCode::BadArguments);
    assert_eq!(
        f.read(C1, &exists("/a\0", false)),
        Err(ErrorCode::BadArguments)
    );
}

#[test]
fn bad_arguments_for_ttl_mismatches_and_unimplemented_without_extended_types() {
    let mut f = Fixture::new();
    let ttl = |mode, ttl| Request::Create {
        path: "/t".into(),
        data: vec![],
        acl: Acl::open_unsafe(),
        mode,
        ttl,
        with_stat: false,
    };
    assert_eq!(
        f.err(&ttl(CreateMode::PersistentWithTtl, Some(0))),
        ErrorCode::BadArguments
    );
    assert_eq!(
        f.err(&ttl(CreateMode::PersistentWithTtl, None)),
        ErrorCode::BadArguments
    );
    assert_eq!(
        f.err(&ttl(CreateMode::PersistentWithTtl, Some(1 << 40))),
        ErrorCode::BadArguments
    );
    assert_eq!(
        f.err(&ttl(CreateMode::Persistent, Some(10))),
        ErrorCode::BadArguments
    );
    f.ok(&ttl(CreateMode::Persistent, Some(-1)));
    let mut plain = Fixture::with_preparer(Preparer::without_ttl());
    assert_eq!(
        plain.err(&ttl(CreateMode::PersistentWithTtl, Some(10))),
        ErrorCode::Unimplemented
    );
}

#[test]
fn oversize_data_is_refused_like_an_undecodable_request() {
    let mut f = Fixture::new();
    let big = vec![0u8; MAX_DATA_BYTES + 1];
    assert_eq!(f.err(&create("/a", &big)), ErrorCode::MarshallingError);
    f.ok(&create("/a", &big[1..]));
    assert_eq!(
        f.err(&set_data("/a", &big, -1)),
        ErrorCode::MarshallingError
    );
    assert_eq!(
        f.err(&Request::Multi(vec![set_data("/a", &big, -1)])),
        ErrorCode::MarshallingError
    );
    assert_eq!(f.stat("/a").data_length as usize, MAX_DATA_BYTES);
}

#[test]
fn invalid_acl_for_empty_malformed_or_unbacked_auth() {
    let mut f = Fixture::new();
    assert_eq!(f.err(&create_acl("/a", vec![])), ErrorCode::InvalidAcl);
    assert_eq!(
        f.err(&create_acl("/a", acl(perms::ALL, "digest", "nohash"))),
        ErrorCode::InvalidAcl
    );
    assert_eq!(
        f.err(&create_acl("/a", acl(perms::ALL, "auth", ""))),
        ErrorCode::InvalidAcl
    );
    f.ok(&create("/a", b""));
    assert_eq!(f.err(&set_acl("/a", vec![], -1)), ErrorCode::InvalidAcl);
    // setACL checks the ACL before the node: a bad ACL on a missing node is INVALIDACL.
    assert_eq!(
        f.err(&set_acl("/missing", vec![], -1)),
        ErrorCode::InvalidAcl
    );
}

#[test]
fn no_auth_on_the_node_or_parent_zookeeper_checks() {
    let mut f = Fixture::new();
    f.ok(&create_acl("/ro", Acl::read_unsafe()));
    f.ok(&create_acl(
        "/none",
        acl(perms::ADMIN, "digest", "bob:hash"),
    ));
    // Parent permission for create and delete.
    assert_eq!(f.err(&create("/ro/kid", b"")), ErrorCode::NoAuth);
    assert_eq!(f.err(&set_data("/ro", b"", -1)), ErrorCode::NoAuth);
    assert_eq!(
        f.err(&set_acl("/ro", Acl::open_unsafe(), -1)),
        ErrorCode::NoAuth
    );
    assert_eq!(f.err(&check("/none", -1)), ErrorCode::NoAuth);
    for r in [
        get_data("/none", false),
        exists("/none", false),
        get_children("/none", false),
    ] {
        assert_eq!(f.read(C1, &r), Err(ErrorCode::NoAuth), "{r:?}");
    }
    assert_eq!(
        f.read(
            C1,
            &Request::GetAcl {
                path: "/none".into()
            }
        ),
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        f.read(
            C1,
            &Request::GetAllChildrenNumber {
                path: "/none".into()
            }
        ),
        Err(ErrorCode::NoAuth)
    );
    // /zookeeper/config is read-only.
    assert_eq!(
        f.err(&set_data("/zookeeper/config", b"x", -1)),
        ErrorCode::NoAuth
    );
    // Delete needs DELETE on the parent, not on the node.
    f.ok(&create("/open", b""));
    f.ok(&create_acl(
        "/open/locked",
        acl(perms::READ, "world", "anyone"),
    ));
    f.ok(&delete("/open/locked", -1));
    f.ok(&create_acl(
        "/nodel",
        acl(perms::ALL & !perms::DELETE, "world", "anyone"),
    ));
    f.ok(&create("/nodel/kid", b""));
    assert_eq!(f.err(&delete("/nodel/kid", -1)), ErrorCode::NoAuth);
}

#[test]
fn unknown_and_closing_sessions_are_refused() {
    let mut f = Fixture::new();
    f.session = SessionId(0xdead);
    assert_eq!(f.err(&create("/a", b"")), ErrorCode::UnknownSession);
    assert_eq!(
        f.err(&set_data("/zookeeper", b"", -1)),
        ErrorCode::UnknownSession
    );
    // Ephemeral creates use checkGlobalSession: an unknown session reads as expired.
    assert_eq!(
        f.err(&create_mode("/e", b"", CreateMode::Ephemeral)),
        ErrorCode::SessionExpired
    );
    f.session = S2;
    let close = f.prepare(&Request::CloseSession);
    assert!(matches!(close.body, TxnBody::CloseSession { .. }));
    // Prepared but not yet applied: the session is closing.
    assert_eq!(
        f.prepare(&create("/late", b"")).body,
        TxnBody::Error {
            code: ErrorCode::SessionExpired
        }
    );
}

#[test]
fn reads_refuse_writes_and_prepare_refuses_reads() {
    let mut f = Fixture::new();
    assert_eq!(f.read(C1, &create("/a", b"")), Err(ErrorCode::ApiError));
    assert_eq!(
        f.prepare(&get_data("/", false)).body,
        TxnBody::Error {
            code: ErrorCode::ApiError
        }
    );
    let got = f
        .tree
        .read(C1, &[], &Request::GetEphemerals { prefix: "/".into() });
    assert_eq!(
        got,
        Err(ErrorCode::BadArguments),
        "getEphemerals needs a session"
    );
}

#[test]
fn error_order_follows_zookeeper() {
    let mut f = Fixture::new();
    f.ok(&create_acl("/ro", Acl::read_unsafe()));
    // Create: ACL validity before parent existence, parent permission before existence.
    assert_eq!(
        f.err(&create_acl("/missing/a", vec![])),
        ErrorCode::InvalidAcl
    );
    f.ok(&create("/ro2", b""));
    assert_eq!(
        f.err(&create_acl("/ro/a", Acl::open_unsafe())),
        ErrorCode::NoAuth
    );
    // Delete: version before emptiness.
    f.ok(&create("/p", b""));
    f.ok(&create("/p/c", b""));
    assert_eq!(f.err(&delete("/p", 5)), ErrorCode::BadVersion);
    // Sequential names are validated after the suffix is appended.
    assert_eq!(
        f.err(&create_mode(
            "/p/\u{1}",
            b"",
            CreateMode::PersistentSequential
        )),
        ErrorCode::BadArguments
    );
}

#[test]
fn apply_refuses_to_orphan_children_or_drop_the_root() {
    use crate::txn::{Txn, TxnHeader};
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    f.ok(&create("/a/b", b""));
    let time = f.time;
    let raw = |zxid, path: &str| Txn {
        header: TxnHeader {
            session: S1,
            cxid: 0,
            zxid,
            time,
        },
        body: TxnBody::Delete { path: path.into() },
    };
    let z = f.next_zxid();
    assert_eq!(f.tree.apply(&raw(z, "/a")).result, Err(ErrorCode::NotEmpty));
    let z = f.next_zxid();
    assert_eq!(
        f.tree.apply(&raw(z, "/")).result,
        Err(ErrorCode::BadArguments)
    );
    f.tree.check_invariants().unwrap();
}

#[test]
fn invariants_catch_a_broken_tree() {
    let mut f = Fixture::new();
    f.ok(&create_mode("/e", b"", CreateMode::Ephemeral));
    f.tree.check_invariants().unwrap();
    // An ephemeral with a child can only come from a corrupt log; the audit names it.
    let txn = crate::txn::Txn {
        header: crate::txn::TxnHeader {
            session: S1,
            cxid: 0,
            zxid: f.next_zxid(),
            time: f.time,
        },
        body: TxnBody::Create {
            path: "/e/kid".into(),
            data: vec![],
            acl: Acl::open_unsafe(),
            kind: crate::txn::NodeKind::Persistent,
            parent_cversion: 1,
            with_stat: false,
        },
    };
    assert!(f.tree.apply(&txn).result.is_ok());
    assert_eq!(
        f.tree.check_invariants(),
        Err("ephemeral /e has children".to_string())
    );
}
