//! Quota stats kept as ZooKeeper keeps them (what zkCli's setquota/listquota see).

use super::fixture::*;
use crate::tree::DataTree;

/// What `setquota -n 10 /app` does: the quota subtree, then limits, then stats.
fn set_quota(f: &mut Fixture, real: &str) {
    let mut p = String::from("/zookeeper/quota");
    for part in real.split('/').filter(|c| !c.is_empty()) {
        p.push('/');
        p.push_str(part);
        if f.tree.node(&p).is_none() {
            f.ok(&create(&p, b""));
        }
    }
    f.ok(&create(
        &format!("{p}/zookeeper_limits"),
        b"count=10,bytes=-1",
    ));
    f.ok(&create(&format!("{p}/zookeeper_stats"), b"count=0,bytes=0"));
}

#[test]
fn setting_a_quota_counts_the_subtree() {
    let mut f = Fixture::new();
    f.ok(&create("/app", b"12345"));
    f.ok(&create("/app/a", b"xy"));
    set_quota(&mut f, "/app");
    assert_eq!(f.tree.quota_paths().collect::<Vec<_>>(), vec!["/app"]);
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=2,bytes=7"
    );
}

#[test]
fn writes_under_a_quota_update_its_stats_without_touching_their_stat() {
    let mut f = Fixture::new();
    f.ok(&create("/app", b""));
    set_quota(&mut f, "/app");
    let stat_before = f.stat("/zookeeper/quota/app/zookeeper_stats");
    f.ok(&create("/app/a", b"abc"));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=2,bytes=3"
    );
    f.ok(&set_data("/app/a", b"abcdef", -1));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=2,bytes=6"
    );
    f.ok(&delete("/app/a", -1));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=1,bytes=0"
    );
    let stat_after = f.stat("/zookeeper/quota/app/zookeeper_stats");
    assert_eq!(
        (stat_after.mzxid, stat_after.version),
        (stat_before.mzxid, stat_before.version)
    );
    // Outside the quota nothing changes.
    f.ok(&create("/other", b"zz"));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=1,bytes=0"
    );
}

#[test]
fn only_the_deepest_quota_is_charged() {
    let mut f = Fixture::new();
    f.ok(&create("/a", b""));
    f.ok(&create("/a/b", b""));
    set_quota(&mut f, "/a");
    set_quota(&mut f, "/a/b");
    f.ok(&create("/a/b/c", b"1234"));
    assert_eq!(
        f.data("/zookeeper/quota/a/b/zookeeper_stats"),
        b"count=2,bytes=4"
    );
    assert_eq!(
        f.data("/zookeeper/quota/a/zookeeper_stats"),
        b"count=2,bytes=0"
    );
}

#[test]
fn deleting_the_limits_node_removes_the_quota() {
    let mut f = Fixture::new();
    f.ok(&create("/app", b""));
    set_quota(&mut f, "/app");
    f.ok(&delete("/zookeeper/quota/app/zookeeper_limits", -1));
    assert_eq!(f.tree.quota_paths().count(), 0);
    f.ok(&create("/app/x", b"1"));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=1,bytes=0"
    );
}

#[test]
fn restore_keeps_quotas_and_changes_nothing() {
    let mut f = Fixture::new();
    f.ok(&create("/app", b""));
    set_quota(&mut f, "/app");
    // A stats node carrying a limit key keeps ZooKeeper's odd format through updates.
    f.ok(&set_data(
        "/zookeeper/quota/app/zookeeper_stats",
        b"count=1,bytes=0;countHardLimit=5",
        -1,
    ));
    f.ok(&create("/app/x", b"1"));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=2,bytes=1=;countHardLimit=5"
    );
    let mut back = DataTree::restore(&f.tree.snapshot()).unwrap();
    assert_eq!(back.digest(), f.tree.digest());
    assert_eq!(back.quota_paths().collect::<Vec<_>>(), vec!["/app"]);
    std::mem::swap(&mut f.tree, &mut back);
    f.ok(&create("/app/y", b"22"));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=3,bytes=3=;countHardLimit=5"
    );
}

#[test]
fn unparsable_stats_are_left_alone() {
    let mut f = Fixture::new();
    f.ok(&create("/app", b""));
    set_quota(&mut f, "/app");
    f.ok(&set_data(
        "/zookeeper/quota/app/zookeeper_stats",
        b"count=lots",
        -1,
    ));
    f.ok(&create("/app/x", b"1"));
    assert_eq!(
        f.data("/zookeeper/quota/app/zookeeper_stats"),
        b"count=lots"
    );
    f.tree.check_invariants().unwrap();
}
