//! Snapshot round trips and corruption.

use super::fixture::*;
use crate::request::{Acl, CreateMode, Id};
use crate::tree::{DataTree, SnapshotError};

fn busy_fixture() -> Fixture {
    let mut f = Fixture::new();
    f.ok(&create("/a", b"data"));
    f.ok(&create("/a/b", b""));
    f.ok(&create_mode("/a/e", b"x", CreateMode::Ephemeral));
    f.ok(&create_mode("/c", b"", CreateMode::Container));
    f.ok(&create_acl(
        "/acl",
        vec![Acl {
            perms: 3,
            id: Id::new("ip", "10.0.0.0/8"),
        }],
    ));
    f.ok(&set_data("/a", b"more", -1));
    f.ok(&delete("/a/b", -1));
    f
}

#[test]
fn restore_gives_back_the_same_tree() {
    let f = busy_fixture();
    let bytes = f.tree.snapshot();
    let back = DataTree::restore(&bytes).unwrap();
    assert_eq!(back.digest(), f.tree.digest());
    assert_eq!(back.last_applied(), f.tree.last_applied());
    assert_eq!(
        back.sessions().collect::<Vec<_>>(),
        f.tree.sessions().collect::<Vec<_>>()
    );
    assert_eq!(back.ephemerals(S1), vec!["/a/e".to_string()]);
    assert_eq!(back.containers().collect::<Vec<_>>(), vec!["/c"]);
    assert_eq!(back.snapshot(), bytes, "snapshots are deterministic");
    for p in ["/", "/a", "/a/e", "/zookeeper/config", "/acl"] {
        assert_eq!(back.node(p), f.tree.node(p), "{p}");
    }
}

#[test]
fn corrupt_snapshots_are_errors() {
    let f = busy_fixture();
    let bytes = f.tree.snapshot();
    let mut flipped = bytes.clone();
    flipped[20] ^= 1;
    assert!(matches!(
        DataTree::restore(&flipped),
        Err(SnapshotError::Checksum { .. })
    ));
    assert!(matches!(
        DataTree::restore(&bytes[..10]),
        Err(SnapshotError::TooShort(10))
    ));
    assert!(matches!(
        DataTree::restore(&bytes[..bytes.len() - 1]),
        Err(SnapshotError::Checksum { .. })
    ));
    assert!(DataTree::restore(&[]).is_err());
}

#[test]
fn a_well_checksummed_but_broken_body_is_an_error() {
    // Valid checksum over garbage: the parser must still refuse it.
    let mut body = b"ZABTREE1".to_vec();
    body.extend_from_slice(&0u64.to_be_bytes());
    body.extend_from_slice(&1000u32.to_be_bytes()); // claims 1000 nodes, has none
    body.extend_from_slice(&[0u8; 4]);
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        DataTree::restore(&body),
        Err(SnapshotError::Truncated(_))
    ));
    let mut bad_magic = b"NOTATREE".to_vec();
    bad_magic.extend_from_slice(&[0u8; 16]);
    let crc = crc32fast::hash(&bad_magic);
    bad_magic.extend_from_slice(&crc.to_be_bytes());
    assert_eq!(
        DataTree::restore(&bad_magic).unwrap_err(),
        SnapshotError::BadMagic
    );
}

#[test]
fn an_orphan_node_is_inconsistent() {
    let mut t = DataTree::new();
    let orphan = crate::tree::node::Node::new(
        vec![],
        Acl::open_unsafe(),
        crate::txn::NodeKind::Persistent,
        crate::tree::node::PersistedStat::default(),
    );
    t.insert_node("/x/y", orphan);
    let bytes = t.snapshot();
    assert!(matches!(
        DataTree::restore(&bytes),
        Err(SnapshotError::Inconsistent(_))
    ));
}
