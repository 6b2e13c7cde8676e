//! Each ACL scheme through real requests.

use super::fixture::*;
use crate::error::ErrorCode;
use crate::request::{perms, Acl, Id, Request, Response};
use crate::tree::acl::{auth_ids, creator_all, digest_id};

fn only(perms: i32, id: Id) -> Vec<Acl> {
    vec![Acl { perms, id }]
}

#[test]
fn digest_scheme_grants_the_authenticated_user() {
    let mut f = Fixture::new();
    let bob = auth_ids("digest", b"bob:pw", None, None).unwrap();
    f.ok(&create_acl("/b", only(perms::ALL, bob[0].clone())));
    assert_eq!(f.read(C1, &get_data("/b", false)), Err(ErrorCode::NoAuth));
    f.auth = auth_ids("digest", b"bob:wrong", None, None).unwrap();
    assert_eq!(f.read(C1, &get_data("/b", false)), Err(ErrorCode::NoAuth));
    f.auth = bob;
    assert!(f.read(C1, &get_data("/b", false)).is_ok());
    f.ok(&set_data("/b", b"x", -1));
}

#[test]
fn auth_scheme_expands_to_the_creators_ids() {
    let mut f = Fixture::new();
    f.auth = auth_ids("digest", b"alice:pw", None, None).unwrap();
    f.ok(&create_acl("/mine", creator_all()));
    let acl = f.tree.node("/mine").unwrap().acl.clone();
    assert_eq!(
        acl,
        only(perms::ALL, Id::new("digest", &digest_id("alice:pw")))
    );
    f.auth = vec![];
    assert_eq!(f.err(&set_data("/mine", b"", -1)), ErrorCode::NoAuth);
}

#[test]
fn ip_scheme_matches_address_and_cidr() {
    let mut f = Fixture::new();
    f.ok(&create_acl(
        "/lan",
        only(perms::READ, Id::new("ip", "10.0.0.0/8")),
    ));
    f.auth = auth_ids("ip", b"", Some("10.20.30.40"), None).unwrap();
    assert!(f.read(C1, &get_data("/lan", false)).is_ok());
    f.auth = auth_ids("ip", b"", Some("192.168.0.1"), None).unwrap();
    assert_eq!(f.read(C1, &get_data("/lan", false)), Err(ErrorCode::NoAuth));
}

#[test]
fn world_anyone_and_super() {
    let mut f = Fixture::new();
    f.ok(&create_acl("/ro", Acl::read_unsafe()));
    assert!(f.read(C1, &get_data("/ro", false)).is_ok());
    assert_eq!(f.err(&set_data("/ro", b"", -1)), ErrorCode::NoAuth);
    f.auth = vec![Id::new("super", "")];
    f.ok(&set_data("/ro", b"", -1));
}

#[test]
fn get_acl_needs_read_or_admin_and_hides_digests_without_admin() {
    let mut f = Fixture::new();
    let bob = Id::new("digest", &digest_id("bob:pw"));
    let acl = vec![
        Acl {
            perms: perms::READ,
            id: Id::anyone(),
        },
        Acl {
            perms: perms::ADMIN,
            id: bob.clone(),
        },
    ];
    f.ok(&create_acl("/a", acl.clone()));
    let get = Request::GetAcl { path: "/a".into() };
    match f.read(C1, &get) {
        Ok(Response::GetAcl { acl: shown, .. }) => assert_eq!(shown[1].id.id, "bob:x"),
        other => panic!("{other:?}"),
    }
    f.auth = vec![bob];
    match f.read(C1, &get) {
        Ok(Response::GetAcl { acl: shown, .. }) => assert_eq!(shown, acl),
        other => panic!("{other:?}"),
    }
    // ADMIN alone is enough to read the ACL.
    f.auth = vec![Id::new("digest", &digest_id("bob:pw"))];
    f.ok(&create_acl("/adm", only(perms::ADMIN, f.auth[0].clone())));
    assert!(f
        .read(
            C1,
            &Request::GetAcl {
                path: "/adm".into()
            }
        )
        .is_ok());
}

#[test]
fn set_acl_needs_admin_and_outstanding_records_keep_the_old_acl() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    // Prepared but not applied: ZooKeeper's change record keeps the old ACL.
    let lock = f.prepare(&set_acl("/a", Acl::read_unsafe(), -1));
    let write = f.prepare(&set_data("/a", b"x", -1));
    assert!(matches!(write.body, crate::txn::TxnBody::SetData { .. }));
    f.commit(&lock);
    f.commit(&write);
    assert_eq!(f.err(&set_data("/a", b"y", -1)), ErrorCode::NoAuth);
}
